/* fuzz_pprof.c — the pprof reader (src/engine/pprof_read.c) on any bytes.
 *
 * The input is a file as `strobe report` would get it:
 *  - pprof_read_mem() on it (gzip'd or raw, told apart by the magic), and
 *    pprof_parse() on it as raw protobuf;
 *  - gzip'd inputs are also gunzipped and parsed step by step;
 *  - raw inputs (up to 64 KiB) are also gzip'd here, as two members split at
 *    a point the input chooses, and read through pprof_read_mem(): the
 *    result must be the same profile as the raw parse (or the same refusal);
 *  - a raw input that parsed is gzip'd again with a third member holding an
 *    unknown field of up to 256 KiB (the profile must not change; the
 *    decompressor grows its buffer) and read back through
 *    pprof_read_file() (a memfd's /proc path) as well.
 *
 * Beyond "no crash", a success must keep the header's promises: string 0 is
 * "", every string is NUL-terminated where str_off says, every string id
 * (sample types, label keys and values, comments, period type, default
 * sample type) is in the table, label values are never string 0, label
 * offsets are monotonic and end at the label count; every value and label
 * is read (ASan checks the arrays' sizes).  An "internal:" error (the two
 * passes disagreeing) is a bug. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

#include "pprof_read.h"

#define CHECK(x) do { if (!(x)) abort(); } while (0)

static void no_internal(const char *err)
{
    CHECK(strstr(err, "internal") == NULL);
}

static uint64_t check_profile(const pprof_profile *p)
{
    uint64_t h = 1469598103934665603ull;
    CHECK(p->nstr >= 1);
    CHECK(p->str_off[0] == 0);
    size_t len;
    const char *s0 = pprof_str(p, 0, &len);
    CHECK(len == 0 && s0[0] == 0);
    for (size_t i = 0; i < p->nstr; i++) {
        CHECK(p->str_off[i + 1] > p->str_off[i]);
        CHECK(p->str_data[p->str_off[i + 1] - 1] == 0);
        const char *s = pprof_str(p, (uint32_t)i, &len);
        for (size_t k = 0; k < len; k++) h = (h ^ (uint8_t)s[k]) * 1099511628211ull;
    }
    for (size_t i = 0; i < p->nsample_type; i++)
        CHECK(p->sample_type[i].type < p->nstr && p->sample_type[i].unit < p->nstr);
    CHECK(p->period_type.type < p->nstr && p->period_type.unit < p->nstr);
    CHECK(p->default_sample_type < p->nstr);
    for (size_t i = 0; i < p->ncomments; i++) CHECK(p->comments[i] < p->nstr);
    CHECK(p->label_off[0] == 0);
    for (size_t i = 0; i < p->nsamples; i++) {
        const int64_t *v = pprof_sample_values(p, i);
        for (size_t k = 0; k < p->nsample_type; k++) h = (h ^ (uint64_t)v[k]) * 1099511628211ull;
        CHECK(p->label_off[i + 1] >= p->label_off[i]);
        size_t nl;
        const pprof_label *lb = pprof_sample_labels(p, i, &nl);
        for (size_t k = 0; k < nl; k++) {
            CHECK(lb[k].key < p->nstr && lb[k].str < p->nstr && lb[k].str != 0);
            h = (h ^ lb[k].key ^ ((uint64_t)lb[k].str << 32)) * 1099511628211ull;
        }
    }
    /* the lookups `strobe report` makes */
    (void)pprof_sample_type_index(p, "wall-time");
    (void)pprof_sample_type_index(p, "");
    (void)pprof_str_is(p, p->default_sample_type, "samples");
    (void)pprof_str(p, (uint32_t)p->nstr, &len);   /* out of range: "" */
    CHECK(len == 0);
    h ^= p->nsamples * 31 + p->nsample_type * 7 + p->ncomments + (uint64_t)p->period +
         (uint64_t)p->time_nanos + (uint64_t)p->duration_nanos + p->nlocations + p->nfunctions +
         p->nmappings + p->nlocation_refs + p->nnum_labels;
    return h;
}

/* data gzip'd as two members split at `at` (deflate level 1), and a third
 * of `pad` bytes when pad is not NULL. */
static unsigned char *gzip2(const uint8_t *data, size_t size, size_t at, const uint8_t *pad,
                            size_t padlen, size_t *outlen)
{
    size_t cap = 2 * (size + 64) + 64, len = 0;
    unsigned char *out = malloc(cap);
    if (!out) return NULL;
    const uint8_t *part[3] = { data, data + at, pad };
    size_t plen[3] = { at, size - at, padlen };
    for (int m = 0; m < (pad ? 3 : 2); m++) {
        z_stream zs;
        memset(&zs, 0, sizeof zs);
        if (deflateInit2(&zs, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
            free(out);
            return NULL;
        }
        size_t bound = deflateBound(&zs, (uLong)plen[m]) + 32;
        if (len + bound > cap) {
            unsigned char *n = realloc(out, len + bound);
            if (!n) { deflateEnd(&zs); free(out); return NULL; }
            out = n;
            cap = len + bound;
        }
        zs.next_in = (Bytef *)part[m];
        zs.avail_in = (uInt)plen[m];
        zs.next_out = out + len;
        zs.avail_out = (uInt)(cap - len);
        int rc = deflate(&zs, Z_FINISH);
        len = cap - zs.avail_out;
        deflateEnd(&zs);
        if (rc != Z_STREAM_END) { free(out); return NULL; }
    }
    *outlen = len;
    return out;
}

/* pprof_read_file() on the bytes (a memfd, by its /proc path): the profile
 * whose check_profile() hash is h. */
static void read_as_file(const unsigned char *d, size_t n, uint64_t h)
{
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create("fuzz_pprof", 0);
        if (fd < 0) return;
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) != 0 || pwrite(fd, d, n, 0) != (ssize_t)n) return;
    pprof_profile p;
    char err[512] = "";
    CHECK(pprof_read_file(path, &p, err, sizeof err) == 0 && check_profile(&p) == h);
    pprof_free(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pprof_profile p;
    char err[512] = "";
    int gz = size >= 2 && data[0] == 0x1f && data[1] == 0x8b;

    int rc_mem = pprof_read_mem(data, size, &p, err, sizeof err);
    uint64_t h_mem = 0;
    if (rc_mem == 0) h_mem = check_profile(&p);
    else no_internal(err);
    pprof_free(&p);
    pprof_free(&p);   /* harmless twice */

    err[0] = 0;
    int rc_raw = pprof_parse(data, size, &p, err, sizeof err);
    uint64_t h_raw = 0;
    if (rc_raw == 0) h_raw = check_profile(&p);
    else no_internal(err);
    pprof_free(&p);
    if (!gz) {
        CHECK(rc_mem == rc_raw && h_mem == h_raw);
    } else {
        unsigned char *raw = NULL;
        size_t rawlen = 0;
        err[0] = 0;
        if (pprof_gunzip(data, size, &raw, &rawlen, err, sizeof err) == 0) {
            int rc = pprof_parse(raw, rawlen, &p, err, sizeof err);
            CHECK((rc == 0) == (rc_mem == 0));
            if (rc == 0) CHECK(check_profile(&p) == h_mem);
            else no_internal(err);
            pprof_free(&p);
            free(raw);
        } else {
            CHECK(raw == NULL && rc_mem != 0);
        }
    }

    /* the same bytes gzip'd: the same profile */
    if (!gz && size <= 65536) {
        size_t at = size ? (data[size - 1] * 257u + (size > 1 ? data[size - 2] : 0)) % (size + 1) : 0;
        size_t zlen = 0;
        unsigned char *z = gzip2(data, size, at, NULL, 0, &zlen);
        if (z) {
            err[0] = 0;
            int rc = pprof_read_mem(z, zlen, &p, err, sizeof err);
            CHECK((rc == 0) == (rc_raw == 0));
            if (rc == 0) CHECK(p.gzipped && check_profile(&p) == h_raw);
            else no_internal(err);
            pprof_free(&p);
            free(z);
        }
    }
    /* A profile that parsed, followed by an unknown field of up to 256 KiB
     * in a third gzip member (the decompressor's buffer grows past its
     * first guess): the same profile.  Read from a file, too. */
    if (!gz && rc_raw == 0 && size >= 2 && size <= 65536) {
        size_t padlen = 5 + ((size_t)data[0] << 10);   /* 5 .. 261 KiB */
        uint8_t *pad = calloc(1, padlen);
        size_t zlen = 0;
        if (pad) {
            size_t body = padlen - 5;   /* field 100, wire type 2, a 4-byte length */
            pad[0] = 0xa2;
            pad[1] = 0x06;
            pad[2] = (uint8_t)(0x80 | (body & 0x7f));
            pad[3] = (uint8_t)(0x80 | ((body >> 7) & 0x7f));
            pad[4] = (uint8_t)(body >> 14);
            unsigned char *z = gzip2(data, size, size / 2, pad, padlen, &zlen);
            if (z) {
                err[0] = 0;
                CHECK(pprof_read_mem(z, zlen, &p, err, sizeof err) == 0 && check_profile(&p) == h_raw);
                pprof_free(&p);
                read_as_file(z, zlen, h_raw);
                free(z);
            }
            free(pad);
        }
    }
    return 0;
}
