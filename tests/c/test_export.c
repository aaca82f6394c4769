/* test_export.c — the pprof encoder (read back with zlib and a small protobuf
 * reader), collapsed output, atomic writes, writability checks, and, when Go
 * is installed, `go tool pprof` reading what we write. */
#include "check.h"
#include "export.h"
#include "pb.h"
#include "profile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

/* ---- a profile with non-ASCII names, a synthetic frame and odd bytes ---- */

#define CAFE "caf\xc3\xa9"                      /* latin-1 range */
#define KANJI "\xe6\xbc\xa2\xe5\xad\x97"        /* CJK, BMP */
#define SNAKE "\xf0\x9f\x90\x8d" "snake"        /* outside the BMP */
#define WORKER "w\xc3\xb6rker;1\n"              /* needs sanitising */
#define WEIRD "a;b\nc\rd"

static uint32_t S(profile *p, const char *s)
{
    uint32_t id = 0;
    CHECK(profile_intern_string(p, s, strlen(s), &id) == PROF_OK);
    return id;
}

static uint32_t L(profile *p, const char *name, const char *file, int64_t start, int64_t line)
{
    uint32_t fn = 0, loc = 0;
    CHECK(profile_intern_function(p, S(p, name), file ? S(p, file) : 0, start, &fn) == PROF_OK);
    CHECK(profile_intern_location(p, fn, line, &loc) == PROF_OK);
    return loc;
}

static uint32_t LS(profile *p, const char *tid, const char *native, const char *name)
{
    prof_label lb[3];
    size_t n = 0;
    lb[n++] = (prof_label){S(p, "thread id"), S(p, tid)};
    if (native)
        lb[n++] = (prof_label){S(p, "thread native id"), S(p, native)};
    if (name)
        lb[n++] = (prof_label){S(p, "thread name"), S(p, name)};
    uint32_t id = 0;
    CHECK(profile_intern_labels(p, lb, n, &id) == PROF_OK);
    return id;
}

static void add(profile *p, uint32_t st, uint32_t ls, int64_t a, int64_t b, int64_t c)
{
    int64_t v[3] = {a, b, c};
    CHECK(profile_add(p, st, ls, v) == PROF_OK);
}

static void make_profile(profile *p)
{
    CHECK(profile_init(p, NULL) == PROF_OK);
    CHECK(profile_add_value_type(p, "samples", "count") == 0);
    CHECK(profile_add_value_type(p, "wall-time", "nanoseconds") == 1);
    CHECK(profile_add_value_type(p, "cpu-time", "nanoseconds") == 2);
    p->default_value = 1;
    profile_set_period(p, "wall-time", "nanoseconds", 10000000);
    p->time_nanos = 1700000000123456789LL;
    p->duration_nanos = 2500000000LL;
    CHECK(profile_add_comment(p, "strobe test " SNAKE) == PROF_OK);

    uint32_t main5 = L(p, "main", "/app/main.py", 1, 5);
    uint32_t cafe11 = L(p, CAFE, "/app/\xc3\xa9.py", 10, 11);
    uint32_t cafe12 = L(p, CAFE, "/app/\xc3\xa9.py", 10, 12);
    uint32_t kanji22 = L(p, KANJI, "/app/\xe6\xbc\xa2.py", 20, 22);
    uint32_t snake31 = L(p, SNAKE, "/app/\xf0\x9f\x90\x8d.py", 30, 31);
    uint32_t omit = L(p, "<12 frames omitted>", NULL, 0, 0);
    uint32_t weird7 = L(p, WEIRD, "x;y.py", 0, 7);

    uint32_t a[] = {snake31, kanji22, cafe11, main5}; /* leaf first */
    uint32_t b[] = {weird7, cafe12, omit};
    uint32_t c[] = {main5};
    uint32_t sa, sb, sc;
    CHECK(profile_intern_stack(p, a, 4, &sa) == PROF_OK);
    CHECK(profile_intern_stack(p, b, 3, &sb) == PROF_OK);
    CHECK(profile_intern_stack(p, c, 1, &sc) == PROF_OK);

    uint32_t ls1 = LS(p, "140001", "4001", "MainThread");
    uint32_t ls2 = LS(p, "140002", "4002", WORKER);
    uint32_t ls3 = LS(p, "140003", "4003", "MainThread");
    uint32_t ls4 = LS(p, "140004", NULL, NULL);

    add(p, sa, ls1, 3, 30000000, 20000000);
    add(p, sb, ls2, 2, 20000000, 0);
    add(p, sc, ls1, 0, 0, 0);                /* all zero: not written */
    add(p, sa, ls3, 1, 10000000, 10000000);  /* merges with ls1 in collapsed */
    add(p, sc, ls4, 5, 50000000, 50000000);  /* no thread name */
}

/* ---- a protobuf reader just big enough for profile.proto ---- */

typedef struct {
    const uint8_t *p, *end;
    int bad;
} rd;

static uint64_t rd_varint(rd *r)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end) {
            r->bad = 1;
            return 0;
        }
        uint8_t c = *r->p++;
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80))
            return v;
    }
    r->bad = 1;
    return 0;
}

/* Next field: 1 with its number, wire type, and either its varint value or
 * its length-delimited body in *sub; 0 at the end; -1 when malformed. */
static int rd_next(rd *r, uint32_t *field, int *wt, uint64_t *v, rd *sub)
{
    if (r->bad)
        return -1;
    if (r->p == r->end)
        return 0;
    uint64_t key = rd_varint(r);
    *field = (uint32_t)(key >> 3);
    *wt = (int)(key & 7);
    if (*wt == PB_VARINT) {
        *v = rd_varint(r);
    } else if (*wt == PB_LEN) {
        uint64_t n = rd_varint(r);
        if (r->bad || n > (uint64_t)(r->end - r->p))
            return r->bad = 1, -1;
        sub->p = r->p;
        sub->end = r->p + n;
        sub->bad = 0;
        r->p += n;
    } else {
        r->bad = 1;
    }
    return r->bad ? -1 : 1;
}

enum { MAXN = 64 };

typedef struct {
    char *str[MAXN];
    size_t str_len[MAXN];
    int nstr;
    uint64_t st_type[8], st_unit[8];
    int nst;
    struct {
        uint64_t loc[16];
        int nloc;
        int64_t val[8];
        int nval;
        uint64_t lkey[8], lstr[8];
        int nlab;
    } s[MAXN];
    int ns;
    struct {
        uint64_t id, mapping, fn;
        int64_t line;
        int nline;
    } loc[MAXN];
    int nloc;
    struct {
        uint64_t id, name, sys, file;
        int64_t start;
    } fn[MAXN];
    int nfn;
    int64_t time, dur, period, default_st, comment[8];
    uint64_t pt_type, pt_unit;
    int ncomment, nmapping;
} dprof;

/* Repeated integers arrive packed (one LEN field) or one by one. */
static void rd_ints(int wt, uint64_t v, rd *sub, uint64_t *dst, int *n, int max)
{
    if (wt == PB_VARINT) {
        if (*n < max)
            dst[(*n)++] = v;
        return;
    }
    while (sub->p < sub->end && !sub->bad) {
        uint64_t x = rd_varint(sub);
        if (*n < max)
            dst[(*n)++] = x;
    }
}

static int decode(const uint8_t *buf, size_t len, dprof *d)
{
    memset(d, 0, sizeof *d);
    rd r = {buf, buf + len, 0}, m, x, y;
    uint32_t f, f2, f3;
    int wt, wt2, wt3, rc;
    uint64_t v, v2, v3;
    while ((rc = rd_next(&r, &f, &wt, &v, &m)) == 1) {
        switch (f) {
        case 1:
            if (d->nst >= 8)
                return -1;
            while (rd_next(&m, &f2, &wt2, &v2, &x) == 1) {
                if (f2 == 1) d->st_type[d->nst] = v2;
                if (f2 == 2) d->st_unit[d->nst] = v2;
            }
            d->nst++;
            break;
        case 2: {
            if (d->ns >= MAXN)
                return -1;
            int i = d->ns++;
            while (rd_next(&m, &f2, &wt2, &v2, &x) == 1) {
                if (f2 == 1)
                    rd_ints(wt2, v2, &x, d->s[i].loc, &d->s[i].nloc, 16);
                if (f2 == 2)
                    rd_ints(wt2, v2, &x, (uint64_t *)d->s[i].val, &d->s[i].nval, 8);
                if (f2 == 3 && d->s[i].nlab < 8) {
                    int k = d->s[i].nlab++;
                    while (rd_next(&x, &f3, &wt3, &v3, &y) == 1) {
                        if (f3 == 1) d->s[i].lkey[k] = v3;
                        if (f3 == 2) d->s[i].lstr[k] = v3;
                    }
                }
            }
            break;
        }
        case 3:
            d->nmapping++;
            break;
        case 4: {
            if (d->nloc >= MAXN)
                return -1;
            int i = d->nloc++;
            while (rd_next(&m, &f2, &wt2, &v2, &x) == 1) {
                if (f2 == 1) d->loc[i].id = v2;
                if (f2 == 2) d->loc[i].mapping = v2;
                if (f2 == 4) {
                    d->loc[i].nline++;
                    while (rd_next(&x, &f3, &wt3, &v3, &y) == 1) {
                        if (f3 == 1) d->loc[i].fn = v3;
                        if (f3 == 2) d->loc[i].line = (int64_t)v3;
                    }
                }
            }
            break;
        }
        case 5: {
            if (d->nfn >= MAXN)
                return -1;
            int i = d->nfn++;
            while (rd_next(&m, &f2, &wt2, &v2, &x) == 1) {
                if (f2 == 1) d->fn[i].id = v2;
                if (f2 == 2) d->fn[i].name = v2;
                if (f2 == 3) d->fn[i].sys = v2;
                if (f2 == 4) d->fn[i].file = v2;
                if (f2 == 5) d->fn[i].start = (int64_t)v2;
            }
            break;
        }
        case 6:
            if (d->nstr >= MAXN || wt != PB_LEN)
                return -1;
            d->str_len[d->nstr] = (size_t)(m.end - m.p);
            d->str[d->nstr] = malloc(d->str_len[d->nstr] + 1);
            memcpy(d->str[d->nstr], m.p, d->str_len[d->nstr]);
            d->str[d->nstr][d->str_len[d->nstr]] = '\0';
            d->nstr++;
            break;
        case 9: d->time = (int64_t)v; break;
        case 10: d->dur = (int64_t)v; break;
        case 11:
            while (rd_next(&m, &f2, &wt2, &v2, &x) == 1) {
                if (f2 == 1) d->pt_type = v2;
                if (f2 == 2) d->pt_unit = v2;
            }
            break;
        case 12: d->period = (int64_t)v; break;
        case 13:
            if (d->ncomment < 8)
                d->comment[d->ncomment++] = (int64_t)v;
            break;
        case 14: d->default_st = (int64_t)v; break;
        default:
            return -1;
        }
    }
    return rc;
}

static void dprof_free(dprof *d)
{
    for (int i = 0; i < d->nstr; i++)
        free(d->str[i]);
}

/* Is string id `id` of the decoded table exactly `s`? */
static int dstr(const dprof *d, uint64_t id, const char *s)
{
    return id < (uint64_t)d->nstr && d->str_len[id] == strlen(s) && memcmp(d->str[id], s, d->str_len[id]) == 0;
}

static int gunzip(const unsigned char *in, size_t inlen, unsigned char **out, size_t *outlen)
{
    z_stream zs = {0};
    if (inflateInit2(&zs, 15 + 16) != Z_OK)
        return -1;
    size_t cap = 4096, len = 0;
    unsigned char *buf = malloc(cap);
    zs.next_in = (Bytef *)in;
    zs.avail_in = (uInt)inlen;
    int rc;
    do {
        if (len == cap)
            buf = realloc(buf, cap *= 2);
        zs.next_out = buf + len;
        zs.avail_out = (uInt)(cap - len);
        rc = inflate(&zs, Z_NO_FLUSH);
        len = cap - zs.avail_out;
    } while (rc == Z_OK);
    int trailing = zs.avail_in != 0;
    inflateEnd(&zs);
    if (rc != Z_STREAM_END || trailing) {
        free(buf);
        return -1;
    }
    *out = buf;
    *outlen = len;
    return 0;
}

/* ---- pb.h ---- */

static void test_pb_writer(void)
{
    pb_buf b;
    pb_init(&b);
    pb_varint(&b, 0);
    pb_varint(&b, 1);
    pb_varint(&b, 300);
    pb_int64(&b, 1, -1);
    CHECK(!b.failed && b.len == 1 + 1 + 2 + 1 + 10);
    CHECK(b.data[2] == 0xac && b.data[3] == 0x02);
    CHECK(b.data[4] == 0x08 && b.data[5] == 0xff && b.data[14] == 0x01);
    pb_free(&b);

    /* A nested body of 200 bytes needs a two-byte length: the body moves. */
    pb_init(&b);
    size_t m = pb_begin(&b, 2);
    unsigned char body[200];
    for (int i = 0; i < 200; i++)
        body[i] = (unsigned char)i;
    pb_raw(&b, body, 200);
    pb_end(&b, m);
    CHECK(!b.failed && b.len == 1 + 2 + 200);
    CHECK(b.data[0] == 0x12 && b.data[1] == 0xc8 && b.data[2] == 0x01);
    CHECK(memcmp(b.data + 3, body, 200) == 0);
    pb_free(&b);

    /* Nested brackets and packed runs. */
    pb_init(&b);
    m = pb_begin(&b, 1);
    uint64_t u[] = {1, 150, 3};
    int64_t s[] = {-2};
    pb_packed_uint64(&b, 4, u, 3);
    pb_packed_int64(&b, 5, s, 1);
    pb_packed_uint64(&b, 6, u, 0);
    pb_end(&b, m);
    static const unsigned char want[] = {0x0a, 18, 0x22, 4, 1, 0x96, 0x01, 3,
                                         0x2a, 10, 0xfe, 0xff, 0xff, 0xff, 0xff,
                                         0xff, 0xff, 0xff, 0xff, 0x01};
    CHECK(b.len == sizeof want && memcmp(b.data, want, sizeof want) == 0);
    size_t n;
    unsigned char *taken = pb_take(&b, &n);
    CHECK(n == sizeof want && b.data == NULL && b.len == 0);
    free(taken);
}

/* ---- pprof ---- */

static void test_pprof_round_trip(void)
{
    profile p;
    make_profile(&p);
    unsigned char *gz = NULL, *raw = NULL;
    size_t gzlen = 0, rawlen = 0;
    char err[256] = "";
    CHECK(export_pprof(&p, &gz, &gzlen, err, sizeof err) == 0);
    CHECK(gzlen > 18 && gz[0] == 0x1f && gz[1] == 0x8b);
    CHECK(gunzip(gz, gzlen, &raw, &rawlen) == 0);
    dprof d;
    CHECK(decode(raw, rawlen, &d) == 0);

    /* String table: the profile's own, "" first, bytes exact. */
    CHECK(d.nstr == (int)p.nstr);
    CHECK(d.nstr > 0 && d.str_len[0] == 0);
    for (int i = 0; i < d.nstr && i < (int)p.nstr; i++)
        CHECK(d.str_len[i] == p.str_len[i] && memcmp(d.str[i], p.str[i], d.str_len[i]) == 0);

    CHECK(d.nst == 3);
    CHECK(dstr(&d, d.st_type[0], "samples") && dstr(&d, d.st_unit[0], "count"));
    CHECK(dstr(&d, d.st_type[1], "wall-time") && dstr(&d, d.st_unit[1], "nanoseconds"));
    CHECK(dstr(&d, d.st_type[2], "cpu-time") && dstr(&d, d.st_unit[2], "nanoseconds"));
    CHECK(dstr(&d, (uint64_t)d.default_st, "wall-time"));
    CHECK(dstr(&d, d.pt_type, "wall-time") && dstr(&d, d.pt_unit, "nanoseconds"));
    CHECK(d.period == 10000000);
    CHECK(d.time == 1700000000123456789LL && d.dur == 2500000000LL);
    CHECK(d.ncomment == 1 && dstr(&d, (uint64_t)d.comment[0], "strobe test " SNAKE));
    CHECK(d.nmapping == 0);

    /* Functions and locations: ids are index + 1 and agree with the profile. */
    CHECK(d.nfn == (int)p.nfn && d.nloc == (int)p.nloc);
    for (int i = 0; i < d.nfn; i++) {
        CHECK(d.fn[i].id == (uint64_t)i + 1);
        CHECK(d.fn[i].name == p.fn[i].name && d.fn[i].sys == 0);
        CHECK(d.fn[i].file == p.fn[i].file && d.fn[i].start == p.fn[i].start_line);
    }
    for (int i = 0; i < d.nloc; i++) {
        CHECK(d.loc[i].id == (uint64_t)i + 1 && d.loc[i].nline == 1);
        CHECK(d.loc[i].fn == (uint64_t)p.loc[i].function + 1 && d.loc[i].line == p.loc[i].line);
        CHECK(d.loc[i].mapping == 0);
    }

    /* Samples: the all-zero one is gone, the others keep order and values. */
    CHECK(d.ns == 4);
    static const int64_t want[4][3] = {{3, 30000000, 20000000}, {2, 20000000, 0},
                                       {1, 10000000, 10000000}, {5, 50000000, 50000000}};
    static const char *const tname[4] = {"MainThread", WORKER, "MainThread", NULL};
    static const char *const leaf[4] = {SNAKE, WEIRD, SNAKE, "main"};
    static const int depth[4] = {4, 3, 4, 1};
    for (int i = 0; i < d.ns && i < 4; i++) {
        CHECK(d.s[i].nval == 3);
        for (int k = 0; k < 3; k++)
            CHECK(d.s[i].val[k] == want[i][k]);
        CHECK(d.s[i].nloc == depth[i]);
        uint64_t l = d.s[i].loc[0];
        CHECK(l >= 1 && l <= (uint64_t)d.nloc);
        if (l >= 1 && l <= (uint64_t)d.nloc) {
            uint64_t f = d.loc[l - 1].fn;
            CHECK(f >= 1 && f <= (uint64_t)d.nfn && dstr(&d, d.fn[f - 1].name, leaf[i]));
        }
        int found_name = 0;
        CHECK(d.s[i].nlab == (tname[i] ? 3 : 1));
        CHECK(dstr(&d, d.s[i].lkey[0], "thread id"));
        for (int k = 0; k < d.s[i].nlab; k++)
            if (dstr(&d, d.s[i].lkey[k], "thread name"))
                found_name = tname[i] && dstr(&d, d.s[i].lstr[k], tname[i]);
        CHECK(found_name == (tname[i] != NULL));
    }
    /* The root of sample 1 is the synthetic frame: a function with no file. */
    if (d.ns > 1 && d.s[1].nloc == 3) {
        uint64_t f = d.loc[d.s[1].loc[2] - 1].fn;
        CHECK(dstr(&d, d.fn[f - 1].name, "<12 frames omitted>") && d.fn[f - 1].file == 0);
    }

    /* Same profile, same bytes. */
    unsigned char *gz2 = NULL;
    size_t gzlen2 = 0;
    CHECK(export_pprof(&p, &gz2, &gzlen2, err, sizeof err) == 0);
    CHECK(gzlen2 == gzlen && memcmp(gz, gz2, gzlen) == 0);

    free(gz2);
    dprof_free(&d);
    free(raw);
    free(gz);
    profile_free(&p);
}

static void test_pprof_empty(void)
{
    profile p;
    CHECK(profile_init(&p, NULL) == PROF_OK);
    unsigned char *gz = NULL, *raw = NULL;
    size_t gzlen = 0, rawlen = 0;
    char err[256];
    CHECK(export_pprof(&p, &gz, &gzlen, err, sizeof err) == 0);
    CHECK(gunzip(gz, gzlen, &raw, &rawlen) == 0);
    dprof d;
    CHECK(decode(raw, rawlen, &d) == 0);
    CHECK(d.nstr == 1 && d.str_len[0] == 0 && d.ns == 0 && d.nst == 0);
    CHECK(rawlen == 2); /* just the empty string_table[0] */
    dprof_free(&d);
    free(raw);
    free(gz);
    profile_free(&p);
}

/* A large profile: long packed runs and big strings exercise multi-byte
 * lengths and the compressor's loop. */
static void test_pprof_large(void)
{
    profile p;
    CHECK(profile_init(&p, NULL) == PROF_OK);
    CHECK(profile_add_value_type(&p, "samples", "count") == 0);
    char big[5000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    uint32_t locs[300], st, ls;
    for (int i = 0; i < 300; i++) {
        char name[64];
        snprintf(name, sizeof name, "fn_%d", i);
        locs[i] = L(&p, i == 7 ? big : name, "/big.py", i, i + 1);
    }
    CHECK(profile_intern_labels(&p, NULL, 0, &ls) == PROF_OK);
    for (int n = 1; n <= 300; n++) {
        CHECK(profile_intern_stack(&p, locs, (size_t)n, &st) == PROF_OK);
        int64_t v = n;
        CHECK(profile_add(&p, st, ls, &v) == PROF_OK);
    }
    unsigned char *gz = NULL, *raw = NULL;
    size_t gzlen = 0, rawlen = 0;
    char err[256];
    CHECK(export_pprof(&p, &gz, &gzlen, err, sizeof err) == 0);
    CHECK(gunzip(gz, gzlen, &raw, &rawlen) == 0);
    /* Walk the top level: every field parses and ends exactly at the end. */
    rd r = {raw, raw + rawlen, 0}, m;
    uint32_t f;
    int wt, rc, nsamples = 0, nstr = 0, bigseen = 0;
    uint64_t v;
    while ((rc = rd_next(&r, &f, &wt, &v, &m)) == 1) {
        if (f == 2) {
            rd x;
            uint32_t f2;
            int wt2, nloc = 0;
            uint64_t v2, ids[300];
            while (rd_next(&m, &f2, &wt2, &v2, &x) == 1)
                if (f2 == 1)
                    rd_ints(wt2, v2, &x, ids, &nloc, 300);
            nsamples++;
            CHECK(nloc == nsamples && ids[0] == 1);
        }
        if (f == 6) {
            nstr++;
            bigseen |= (size_t)(m.end - m.p) == sizeof big - 1;
        }
    }
    CHECK(rc == 0 && nsamples == 300 && nstr == (int)p.nstr && bigseen);
    free(raw);
    free(gz);
    profile_free(&p);
}

/* ---- collapsed ---- */

static const char COLLAPSED[] =
    "thread:?;main (/app/main.py:5) 5\n"
    "thread:MainThread;main (/app/main.py:5);" CAFE " (/app/\xc3\xa9.py:11);"
    KANJI " (/app/\xe6\xbc\xa2.py:22);" SNAKE " (/app/\xf0\x9f\x90\x8d.py:31) 4\n"
    "thread:w\xc3\xb6rker:1 ;<12 frames omitted>;" CAFE " (/app/\xc3\xa9.py:12);"
    "a:b c d (x:y.py:7) 2\n";

static void test_collapsed_text(void)
{
    profile p;
    make_profile(&p);
    unsigned char *out = NULL;
    size_t len = 0;
    char err[256];
    CHECK(export_collapsed(&p, &out, &len, err, sizeof err) == 0);
    CHECK(len == strlen(COLLAPSED));
    CHECK(out && len == strlen(COLLAPSED) && memcmp(out, COLLAPSED, len) == 0);
    if (out && (len != strlen(COLLAPSED) || memcmp(out, COLLAPSED, len) != 0))
        printf("  got:\n%.*s", (int)len, (const char *)out);
    CHECK(memchr(out, '\0', len) == NULL);
    free(out);
    profile_free(&p);
}

static void test_collapsed_empty(void)
{
    profile p;
    CHECK(profile_init(&p, NULL) == PROF_OK);
    unsigned char *out = NULL;
    size_t len = 1;
    char err[256];
    CHECK(export_collapsed(&p, &out, &len, err, sizeof err) == 0);
    CHECK(out != NULL && len == 0);
    free(out);
    profile_free(&p);
}

/* ---- formats ---- */

static void test_formats(void)
{
    CHECK(export_format_from_path("out.pprof") == EXPORT_PPROF);
    CHECK(export_format_from_path("/a/b/out.pb.gz") == EXPORT_PPROF);
    CHECK(export_format_from_path("out.pb") == EXPORT_PPROF);
    CHECK(export_format_from_path("OUT.PPROF") == EXPORT_PPROF);
    CHECK(export_format_from_path("out.txt") == EXPORT_COLLAPSED);
    CHECK(export_format_from_path("dir/x.collapsed") == EXPORT_COLLAPSED);
    CHECK(export_format_from_path("x.folded") == EXPORT_COLLAPSED);
    CHECK(export_format_from_path("x.gz") == EXPORT_NONE);
    CHECK(export_format_from_path("x.json") == EXPORT_NONE);
    CHECK(export_format_from_path("x") == EXPORT_NONE);
    CHECK(export_format_from_path("x.pprof/out") == EXPORT_NONE);
    CHECK(export_format_from_path(".txt") == EXPORT_NONE);
    CHECK(export_format_from_path("") == EXPORT_NONE);
    CHECK(export_format_from_name("pprof") == EXPORT_PPROF);
    CHECK(export_format_from_name("collapsed") == EXPORT_COLLAPSED);
    CHECK(export_format_from_name("json") == EXPORT_NONE);
    CHECK(export_format_from_name(NULL) == EXPORT_NONE);
    CHECK(strcmp(export_format_name(EXPORT_PPROF), "pprof") == 0);
    CHECK(strcmp(export_format_name(EXPORT_COLLAPSED), "collapsed") == 0);
}

/* ---- files ---- */

static char tmpdir[64];

static void make_tmpdir(void)
{
    strcpy(tmpdir, "/tmp/strobe-test-export-XXXXXX");
    CHECK(mkdtemp(tmpdir) != NULL);
}

static void rm_rf(const char *path)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    CHECK(system(cmd) == 0);
}

/* Number of entries of `dir` whose names start with '.' other than . and .. */
static int hidden_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] == '.' && strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16;
    char *buf = malloc(cap);
    *len = fread(buf, 1, cap, f);
    fclose(f);
    return buf;
}

static void test_write_atomic_success(void)
{
    make_tmpdir();
    profile p;
    make_profile(&p);
    char path[128], err[512] = "";
    snprintf(path, sizeof path, "%s/out.txt", tmpdir);
    FILE *f = fopen(path, "w");
    fputs("old contents\n", f);
    fclose(f);
    mode_t old = umask(022);
    CHECK(export_write(&p, EXPORT_COLLAPSED, path, err, sizeof err) == 0);
    size_t len = 0;
    char *got = slurp(path, &len);
    CHECK(got && len == strlen(COLLAPSED) && memcmp(got, COLLAPSED, len) == 0);
    free(got);
    struct stat st;
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0644);
    CHECK(hidden_entries(tmpdir) == 0);

    /* A fresh pprof file, with a stricter umask. */
    umask(077);
    snprintf(path, sizeof path, "%s/new.pprof", tmpdir);
    CHECK(export_write(&p, EXPORT_PPROF, path, err, sizeof err) == 0);
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
    got = slurp(path, &len);
    CHECK(got && len > 2 && (unsigned char)got[0] == 0x1f && (unsigned char)got[1] == 0x8b);
    free(got);
    umask(old);

    /* A relative path (no directory part) works too. */
    char cwd[512];
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    CHECK(chdir(tmpdir) == 0);
    CHECK(export_write(&p, EXPORT_COLLAPSED, "rel.collapsed", err, sizeof err) == 0);
    CHECK(access("rel.collapsed", R_OK) == 0);
    CHECK(chdir(cwd) == 0);
    CHECK(hidden_entries(tmpdir) == 0);

    profile_free(&p);
    rm_rf(tmpdir);
}

static void test_write_failures(void)
{
    make_tmpdir();
    profile p;
    make_profile(&p);
    char path[256], err[512] = "";

    /* The target is a non-empty directory: rename fails after the temporary
     * file was written; it must be gone and the directory untouched. */
    snprintf(path, sizeof path, "%s/sub", tmpdir);
    CHECK(mkdir(path, 0755) == 0);
    char inner[300];
    snprintf(inner, sizeof inner, "%s/keep", path);
    fclose(fopen(inner, "w"));
    CHECK(export_write(&p, EXPORT_PPROF, path, err, sizeof err) == -1);
    CHECK(strstr(err, path) != NULL && strchr(err, '\n') == NULL);
    CHECK(hidden_entries(tmpdir) == 0);
    CHECK(access(inner, F_OK) == 0);

    /* No such directory. */
    err[0] = '\0';
    snprintf(path, sizeof path, "%s/missing/out.pprof", tmpdir);
    CHECK(export_write(&p, EXPORT_PPROF, path, err, sizeof err) == -1);
    CHECK(strstr(err, path) != NULL && strstr(err, strerror(ENOENT)) != NULL);

    /* A directory part that is a file. */
    snprintf(path, sizeof path, "%s/sub/keep/out.pprof", tmpdir);
    CHECK(export_write(&p, EXPORT_PPROF, path, err, sizeof err) == -1);
    CHECK(strstr(err, strerror(ENOTDIR)) != NULL);

    /* A file system that takes no new files, even from root. */
    CHECK(export_write(&p, EXPORT_PPROF, "/proc/strobe-test.pprof", err, sizeof err) == -1);
    CHECK(strstr(err, "/proc/strobe-test.pprof") != NULL);

    /* Unknown format. */
    snprintf(path, sizeof path, "%s/x.pprof", tmpdir);
    CHECK(export_write(&p, EXPORT_NONE, path, err, sizeof err) == -1);
    CHECK(access(path, F_OK) == -1);
    CHECK(hidden_entries(tmpdir) == 0);

    profile_free(&p);
    rm_rf(tmpdir);
}

/* Run fn in a child as an unprivileged user (root ignores permission bits);
 * returns the child's exit status, or -1 when that is impossible. */
static int as_nobody(int (*fn)(const char *), const char *arg)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
            _exit(100);
        _exit(fn(arg));
    }
    int status;
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}

/* In a read-only directory: writing fails, leaves nothing, and the check
 * refuses beforehand. */
static int unwritable_dir_child(const char *dir)
{
    profile p;
    make_profile(&p);
    char path[256], err[512] = "";
    snprintf(path, sizeof path, "%s/out.pprof", dir);
    int bad = 0;
    bad |= export_write(&p, EXPORT_PPROF, path, err, sizeof err) != -1;
    bad |= strstr(err, path) == NULL || strstr(err, strerror(EACCES)) == NULL;
    bad |= hidden_entries(dir) != 0 || access(path, F_OK) == 0;
    bad |= export_check_writable(path, err, sizeof err) != -1;
    profile_free(&p);
    return bad;
}

static int readonly_file_child(const char *path)
{
    char err[512] = "";
    return export_check_writable(path, err, sizeof err) != -1 || strstr(err, path) == NULL;
}

static void test_unwritable_as_user(void)
{
    make_tmpdir();
    CHECK(chmod(tmpdir, 0755) == 0);
    char ro[128], file[160];
    snprintf(ro, sizeof ro, "%s/ro", tmpdir);
    CHECK(mkdir(ro, 0555) == 0);
    CHECK(chmod(ro, 0555) == 0);
    snprintf(file, sizeof file, "%s/readonly.pprof", tmpdir);
    fclose(fopen(file, "w"));
    CHECK(chmod(file, 0444) == 0);
    int rc = as_nobody(unwritable_dir_child, ro);
    if (rc == 100) {
        printf("SKIP test_unwritable_as_user: cannot drop privileges\n");
    } else {
        CHECK(rc == 0);
        CHECK(as_nobody(readonly_file_child, file) == 0);
    }
    rm_rf(tmpdir);
}

static void test_check_writable(void)
{
    make_tmpdir();
    char path[256], err[512];
    snprintf(path, sizeof path, "%s/new.pprof", tmpdir);
    CHECK(export_check_writable(path, err, sizeof err) == 0);
    CHECK(access(path, F_OK) == -1);
    CHECK(hidden_entries(tmpdir) == 0);

    fclose(fopen(path, "w")); /* an existing writable file */
    CHECK(export_check_writable(path, err, sizeof err) == 0);
    CHECK(hidden_entries(tmpdir) == 0);

    CHECK(export_check_writable(tmpdir, err, sizeof err) == -1);
    CHECK(strstr(err, tmpdir) != NULL && strstr(err, strerror(EISDIR)) != NULL);

    snprintf(path, sizeof path, "%s/nodir/new.pprof", tmpdir);
    CHECK(export_check_writable(path, err, sizeof err) == -1);
    CHECK(strstr(err, path) != NULL && strstr(err, strerror(ENOENT)) != NULL);

    snprintf(path, sizeof path, "%s/new.pprof/x.pprof", tmpdir);
    CHECK(export_check_writable(path, err, sizeof err) == -1);
    CHECK(strstr(err, strerror(ENOTDIR)) != NULL);

    snprintf(path, sizeof path, "%s/", tmpdir);
    CHECK(export_check_writable(path, err, sizeof err) == -1);
    CHECK(export_check_writable("", err, sizeof err) == -1);
    CHECK(export_check_writable("/proc/strobe-x.pprof", err, sizeof err) == -1);
    CHECK(strchr(err, '\n') == NULL);

    char cwd[512];
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    CHECK(chdir(tmpdir) == 0);
    CHECK(export_check_writable("plain.pprof", err, sizeof err) == 0);
    CHECK(hidden_entries(".") == 0);
    CHECK(chdir(cwd) == 0);
    rm_rf(tmpdir);
}

/* ---- go tool pprof reads what we write ---- */

static int have_go(void)
{
    FILE *f = popen("command -v go >/dev/null 2>&1 && echo yes", "r");
    if (!f)
        return 0;
    char buf[8] = "";
    int yes = fgets(buf, sizeof buf, f) && strncmp(buf, "yes", 3) == 0;
    pclose(f);
    return yes;
}

/* Run cmd, capture up to cap-1 bytes of stdout+stderr; returns exit status. */
static int run(const char *cmd, char *out, size_t cap)
{
    fflush(stdout);
    FILE *f = popen(cmd, "r");
    if (!f)
        return -1;
    size_t len = 0, n;
    char chunk[4096];
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        size_t k = n < cap - 1 - len ? n : cap - 1 - len;
        memcpy(out + len, chunk, k);
        len += k;
    }
    out[len] = '\0';
    int status = pclose(f);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_go_tool_pprof(void)
{
    if (!have_go()) {
        printf("SKIP test_go_tool_pprof: go not installed\n");
        return;
    }
    make_tmpdir();
    profile p;
    make_profile(&p);
    char path[128], err[512], cmd[512];
    snprintf(path, sizeof path, "%s/go.pprof", tmpdir);
    CHECK(export_write(&p, EXPORT_PPROF, path, err, sizeof err) == 0);
    size_t cap = 1 << 16;
    char *out = malloc(cap);

    snprintf(cmd, sizeof cmd, "go tool pprof -raw '%s' 2>&1", path);
    int rc = run(cmd, out, cap);
    CHECK(rc == 0);
    CHECK(strstr(out, "main") && strstr(out, CAFE) && strstr(out, KANJI) && strstr(out, SNAKE));
    CHECK(strstr(out, "<12 frames omitted>") != NULL);
    CHECK(strstr(out, "MainThread") != NULL);
    CHECK(strstr(out, "/app/\xe6\xbc\xa2.py") != NULL);
    CHECK(strstr(out, "samples/count") && strstr(out, "wall-time/nanoseconds"));
    if (rc != 0)
        printf("  go tool pprof -raw said:\n%s\n", out);

    snprintf(cmd, sizeof cmd, "go tool pprof -top '%s' 2>&1", path);
    rc = run(cmd, out, cap);
    CHECK(rc == 0);
    CHECK(strstr(out, "main") && strstr(out, CAFE) && strstr(out, KANJI) && strstr(out, SNAKE));
    CHECK(strstr(out, "Type: wall-time") != NULL);
    CHECK(strstr(out, "<12 frames omitted>") != NULL && strstr(out, "<unknown>") == NULL);
    if (rc != 0 || !strstr(out, SNAKE))
        printf("  go tool pprof -top said:\n%s\n", out);

    snprintf(cmd, sizeof cmd, "go tool pprof -top -sample_index=samples '%s' 2>&1", path);
    CHECK(run(cmd, out, cap) == 0);
    CHECK(strstr(out, "Type: samples") != NULL);

    free(out);
    profile_free(&p);
    rm_rf(tmpdir);
}

int main(void)
{
    RUN(test_pb_writer);
    RUN(test_pprof_round_trip);
    RUN(test_pprof_empty);
    RUN(test_pprof_large);
    RUN(test_collapsed_text);
    RUN(test_collapsed_empty);
    RUN(test_formats);
    RUN(test_write_atomic_success);
    RUN(test_write_failures);
    RUN(test_unwritable_as_user);
    RUN(test_check_writable);
    RUN(test_go_tool_pprof);
    return CHECK_DONE();
}
