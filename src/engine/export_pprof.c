/* export_pprof.c — the profile as a gzipped perftools.profiles.Profile
 * (the public profile.proto).
 *
 * Ids: pprof reserves 0, so function i is written as id i + 1 and location i
 * as id i + 1.  The string table is the profile's own, in order, so string ids
 * pass through unchanged and string_table[0] is "".  Samples whose values are
 * all zero are left out.  No mapping is written: locations carry no address
 * and mapping_id 0 means "none" (go tool pprof adds a placeholder itself).
 * Function.system_name is left empty on purpose: when it equals the name,
 * pprof runs it through its C++/Rust demangler, which mangles Python names
 * such as "<12 frames omitted>" (shown as "<unknown>"). */
#include "export.h"
#include "pb.h"

#include <stdio.h>
#include <stdlib.h>
#include <zlib.h>

/* profile.proto field numbers */
enum {
    PROFILE_SAMPLE_TYPE = 1, PROFILE_SAMPLE = 2, PROFILE_LOCATION = 4,
    PROFILE_FUNCTION = 5, PROFILE_STRING_TABLE = 6, PROFILE_TIME_NANOS = 9,
    PROFILE_DURATION_NANOS = 10, PROFILE_PERIOD_TYPE = 11, PROFILE_PERIOD = 12,
    PROFILE_COMMENT = 13, PROFILE_DEFAULT_SAMPLE_TYPE = 14,
    VALUETYPE_TYPE = 1, VALUETYPE_UNIT = 2,
    SAMPLE_LOCATION_ID = 1, SAMPLE_VALUE = 2, SAMPLE_LABEL = 3,
    LABEL_KEY = 1, LABEL_STR = 2,
    LOCATION_ID = 1, LOCATION_LINE = 4,
    LINE_FUNCTION_ID = 1, LINE_LINE = 2,
    FUNCTION_ID = 1, FUNCTION_NAME = 2, FUNCTION_FILENAME = 4, FUNCTION_START_LINE = 5,
};

static void set_err(char *err, size_t errlen, const char *msg)
{
    if (err && errlen)
        snprintf(err, errlen, "%s", msg);
}

static void value_type(pb_buf *b, uint32_t field, prof_value_type vt)
{
    size_t m = pb_begin(b, field);
    if (vt.type)
        pb_uint64(b, VALUETYPE_TYPE, vt.type);
    if (vt.unit)
        pb_uint64(b, VALUETYPE_UNIT, vt.unit);
    pb_end(b, m);
}

static void encode(const profile *p, pb_buf *b)
{
    for (int i = 0; i < p->nvalues; i++)
        value_type(b, PROFILE_SAMPLE_TYPE, p->vtypes[i]);

    for (uint32_t i = 0; i < p->nsamples; i++) {
        const prof_sample *s = &p->samples[i];
        int nonzero = 0;
        for (int v = 0; v < p->nvalues; v++)
            nonzero |= s->values[v] != 0;
        if (!nonzero)
            continue;
        size_t m = pb_begin(b, PROFILE_SAMPLE);
        size_t n;
        const uint32_t *locs = profile_stack(p, s->stack, &n);
        if (n) {
            size_t mm = pb_begin(b, SAMPLE_LOCATION_ID);
            for (size_t k = 0; k < n; k++)
                pb_varint(b, (uint64_t)locs[k] + 1);
            pb_end(b, mm);
        }
        pb_packed_int64(b, SAMPLE_VALUE, s->values, (size_t)p->nvalues);
        const prof_label *lb = profile_labels(p, s->labels, &n);
        for (size_t k = 0; k < n; k++) {
            size_t ml = pb_begin(b, SAMPLE_LABEL);
            pb_uint64(b, LABEL_KEY, lb[k].key);
            pb_uint64(b, LABEL_STR, lb[k].str);
            pb_end(b, ml);
        }
        pb_end(b, m);
    }

    for (uint32_t i = 0; i < p->nloc; i++) {
        size_t m = pb_begin(b, PROFILE_LOCATION);
        pb_uint64(b, LOCATION_ID, (uint64_t)i + 1);
        size_t ml = pb_begin(b, LOCATION_LINE);
        pb_uint64(b, LINE_FUNCTION_ID, (uint64_t)p->loc[i].function + 1);
        if (p->loc[i].line)
            pb_int64(b, LINE_LINE, p->loc[i].line);
        pb_end(b, ml);
        pb_end(b, m);
    }

    for (uint32_t i = 0; i < p->nfn; i++) {
        const prof_function *f = &p->fn[i];
        size_t m = pb_begin(b, PROFILE_FUNCTION);
        pb_uint64(b, FUNCTION_ID, (uint64_t)i + 1);
        if (f->name)
            pb_uint64(b, FUNCTION_NAME, f->name);
        if (f->file)
            pb_uint64(b, FUNCTION_FILENAME, f->file);
        if (f->start_line)
            pb_int64(b, FUNCTION_START_LINE, f->start_line);
        pb_end(b, m);
    }

    /* Every entry is written, the empty ones included: position is the id. */
    for (uint32_t i = 0; i < p->nstr; i++)
        pb_bytes(b, PROFILE_STRING_TABLE, p->str[i], p->str_len[i]);

    if (p->time_nanos)
        pb_int64(b, PROFILE_TIME_NANOS, p->time_nanos);
    if (p->duration_nanos)
        pb_int64(b, PROFILE_DURATION_NANOS, p->duration_nanos);
    if (p->period_type.type || p->period_type.unit)
        value_type(b, PROFILE_PERIOD_TYPE, p->period_type);
    if (p->period)
        pb_int64(b, PROFILE_PERIOD, p->period);
    for (int i = 0; i < p->ncomments; i++)
        pb_uint64(b, PROFILE_COMMENT, p->comments[i]);
    if (p->nvalues > 0 && p->default_value >= 0 && p->default_value < p->nvalues &&
        p->vtypes[p->default_value].type)
        pb_uint64(b, PROFILE_DEFAULT_SAMPLE_TYPE, p->vtypes[p->default_value].type);
}

/* gzip (RFC 1952) of in[0..inlen) into a malloc'd buffer.  The header's
 * mtime is 0, so equal profiles give equal files. */
static int gzip(const unsigned char *in, size_t inlen, unsigned char **out, size_t *outlen,
                char *err, size_t errlen)
{
    z_stream zs = {0};
    if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
                     Z_DEFAULT_STRATEGY) != Z_OK) {
        set_err(err, errlen, "zlib: cannot initialise the compressor");
        return -1;
    }
    size_t cap = deflateBound(&zs, (uLong)inlen) + 64;
    unsigned char *buf = malloc(cap);
    if (!buf) {
        deflateEnd(&zs);
        set_err(err, errlen, "out of memory while compressing the profile");
        return -1;
    }
    /* avail_in/avail_out are uInt: feed and drain in chunks. */
    const size_t chunk = (size_t)1 << 30;
    size_t in_left = inlen, out_len = 0;
    zs.next_in = (Bytef *)in;
    int rc;
    do {
        if (zs.avail_in == 0 && in_left) {
            zs.avail_in = (uInt)(in_left < chunk ? in_left : chunk);
            in_left -= zs.avail_in;
        }
        if (cap - out_len < 64) {
            unsigned char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                deflateEnd(&zs);
                set_err(err, errlen, "out of memory while compressing the profile");
                return -1;
            }
            buf = nb;
            cap *= 2;
        }
        size_t room = cap - out_len < chunk ? cap - out_len : chunk;
        zs.next_out = buf + out_len;
        zs.avail_out = (uInt)room;
        rc = deflate(&zs, in_left || zs.avail_in ? Z_NO_FLUSH : Z_FINISH);
        out_len += room - zs.avail_out;
        if (rc == Z_STREAM_ERROR) {
            free(buf);
            deflateEnd(&zs);
            set_err(err, errlen, "zlib: compression failed");
            return -1;
        }
    } while (rc != Z_STREAM_END);
    deflateEnd(&zs);
    *out = buf;
    *outlen = out_len;
    return 0;
}

int export_pprof(const profile *p, unsigned char **out, size_t *outlen, char *err, size_t errlen)
{
    pb_buf b;
    pb_init(&b);
    encode(p, &b);
    if (b.failed) {
        pb_free(&b);
        set_err(err, errlen, "out of memory while encoding the profile");
        return -1;
    }
    int rc = gzip(b.data, b.len, out, outlen, err, errlen);
    pb_free(&b);
    return rc;
}
