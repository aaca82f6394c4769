/* test_pprof_read.c — the pprof reader: profiles built with the engine's API
 * (the off-CPU value type and labels included) and exported, then read back
 * field by field, from a file and from memory, gzip'd and raw; hand-encoded
 * messages with packed and unpacked scalars, unknown fields of every wire
 * type, numeric labels and several gzip members; corrupt messages, each
 * with its error; every truncation; random byte flips. */
#include "check.h"
#include "export.h"
#include "pb.h"
#include "pprof_read.h"
#include "profile.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define KANJI "\xe6\xbc\xa2\xe5\xad\x97"

static uint32_t S(profile *p, const char *s)
{
    uint32_t id = 0;
    CHECK(profile_intern_string(p, s, strlen(s), &id) == PROF_OK);
    return id;
}

static uint32_t L(profile *p, const char *name, const char *file, int64_t line)
{
    uint32_t fn = 0, loc = 0;
    CHECK(profile_intern_function(p, S(p, name), file ? S(p, file) : 0, 1, &fn) == PROF_OK);
    CHECK(profile_intern_location(p, fn, line, &loc) == PROF_OK);
    return loc;
}

/* A label set from NULL-terminated key/value pairs. */
static uint32_t LS(profile *p, const char *const *kv)
{
    prof_label lb[PROF_MAX_LABELS];
    size_t n = 0;
    for (; kv[0] && n < PROF_MAX_LABELS; kv += 2)
        lb[n++] = (prof_label){S(p, kv[0]), S(p, kv[1])};
    uint32_t id = 0;
    CHECK(profile_intern_labels(p, lb, n, &id) == PROF_OK);
    return id;
}

#define THREAD(tid, nid, name) "thread id", tid, "thread native id", nid, "thread name", name

static void add(profile *p, uint32_t st, uint32_t ls, int64_t n, int64_t wall, int64_t cpu)
{
    int64_t v[4] = {n, wall, cpu, wall > cpu ? wall - cpu : 0};
    CHECK(profile_add(p, st, ls, v) == PROF_OK);
}

/* samples, wall, cpu and off-cpu time; threads with off-CPU causes; a
 * running and a suspended asyncio task; a sample with no labels; a label
 * whose value is "" (pprof drops it); an all-zero sample (not written). */
static void make_profile(profile *p)
{
    CHECK(profile_init(p, NULL) == PROF_OK);
    CHECK(profile_add_value_type(p, "samples", "count") == 0);
    CHECK(profile_add_value_type(p, "wall-time", "nanoseconds") == 1);
    CHECK(profile_add_value_type(p, "cpu-time", "nanoseconds") == 2);
    CHECK(profile_add_value_type(p, "off-cpu-time", "nanoseconds") == 3);
    p->default_value = 1;
    profile_set_period(p, "wall-time", "nanoseconds", 10000000);
    p->time_nanos = 1700000000123456789LL;
    p->duration_nanos = 2500000000LL;
    CHECK(profile_add_comment(p, "strobe test") == PROF_OK);
    CHECK(profile_add_comment(p, "missed-ticks=3") == PROF_OK);

    uint32_t a[] = {L(p, "sleep_here", "/app/a.py", 5), L(p, "main", "/app/a.py", 1)};
    uint32_t b[] = {L(p, KANJI, "/app/b.py", 7)};
    uint32_t c[] = {L(p, "<3 frames omitted>", NULL, 0)};
    uint32_t sa, sb, sc;
    CHECK(profile_intern_stack(p, a, 2, &sa) == PROF_OK);
    CHECK(profile_intern_stack(p, b, 1, &sb) == PROF_OK);
    CHECK(profile_intern_stack(p, c, 1, &sc) == PROF_OK);

    static const char *const main_sleep[] = {THREAD("1401", "4001", "MainThread"), "off cpu cause", "sleep", NULL};
    static const char *const worker_lock[] = {THREAD("1402", "4002", "w" KANJI), "off cpu cause", "lock", NULL};
    static const char *const worker_cpu[] = {THREAD("1402", "4002", "w" KANJI), NULL};
    static const char *const task_run[] = {THREAD("1401", "4001", "MainThread"), "task name", "Task-1",
                                           "task id", "77", "task state", "running", NULL};
    static const char *const task_susp[] = {THREAD("1401", "4001", "MainThread"), "task name", "Task-2",
                                            "task id", "78", "task state", "suspended",
                                            "off cpu cause", "io", NULL};
    static const char *const empty_value[] = {"thread id", "1403", "thread name", "", NULL};
    uint32_t l1 = LS(p, main_sleep), l2 = LS(p, worker_lock), l3 = LS(p, worker_cpu);
    uint32_t l4 = LS(p, task_run), l5 = LS(p, task_susp), l6 = LS(p, empty_value), l7;
    CHECK(profile_intern_labels(p, NULL, 0, &l7) == PROF_OK);

    add(p, sa, l1, 10, 100000000, 1000000);
    add(p, sb, l2, 3, 30000000, 5000000);
    add(p, sb, l3, 4, 40000000, 40000000);
    add(p, sc, l4, 2, 20000000, 20000000);
    add(p, sa, l5, 5, 50000000, 0);
    add(p, sc, l6, 1, 10000000, 10000000);
    add(p, sa, l3, 0, 0, 0);            /* all zero: not written */
    add(p, sc, l7, 6, 60000000, 30000000);
    int64_t huge[4] = {1, INT64_MAX, -5, INT64_MIN};
    CHECK(profile_add(p, sb, l7, huge) == PROF_OK);
}

static int str_eq(const pprof_profile *r, uint32_t id, const char *s)
{
    return pprof_str_is(r, id, s);
}

/* Every invariant pprof_read.h promises, and every byte touched (for ASan). */
static int consistent(const pprof_profile *r)
{
    int ok = r->nstr >= 1 && r->str_off[0] == 0 && r->str_off[1] == 1 && r->str_data[0] == 0;
    for (size_t i = 0; ok && i < r->nstr; i++) {
        ok = r->str_off[i + 1] > r->str_off[i] && r->str_data[r->str_off[i + 1] - 1] == 0;
        size_t len;
        const char *s = pprof_str(r, (uint32_t)i, &len);
        volatile char sink = 0;
        for (size_t k = 0; k < len; k++)
            sink ^= s[k];
        (void)sink;
    }
    for (size_t i = 0; ok && i < r->nsample_type; i++)
        ok = r->sample_type[i].type < r->nstr && r->sample_type[i].unit < r->nstr;
    ok = ok && r->label_off[0] == 0;
    volatile uint64_t vsum = 0;
    for (size_t i = 0; ok && i < r->nsamples; i++) {
        ok = r->label_off[i + 1] >= r->label_off[i];
        size_t n;
        const pprof_label *lb = pprof_sample_labels(r, i, &n);
        for (size_t k = 0; ok && k < n; k++)
            ok = lb[k].key < r->nstr && lb[k].str < r->nstr && lb[k].str != 0;
        const int64_t *v = pprof_sample_values(r, i);
        for (size_t k = 0; k < r->nsample_type; k++)
            vsum += (uint64_t)v[k];
    }
    (void)vsum;
    for (size_t i = 0; ok && i < r->ncomments; i++)
        ok = r->comments[i] < r->nstr;
    ok = ok && r->default_sample_type < r->nstr && r->period_type.type < r->nstr &&
         r->period_type.unit < r->nstr;
    return ok;
}

/* The reading of an exported profile `p` matches it field by field. */
static void check_matches(const profile *p, const pprof_profile *r)
{
    CHECK(consistent(r));
    CHECK(r->nstr == p->nstr);
    for (size_t i = 0; i < r->nstr && i < p->nstr; i++) {
        size_t len;
        const char *s = pprof_str(r, (uint32_t)i, &len);
        CHECK(len == p->str_len[i] && memcmp(s, p->str[i], len) == 0 && s[len] == 0);
    }
    CHECK(r->nsample_type == (size_t)p->nvalues);
    for (int i = 0; i < p->nvalues && (size_t)i < r->nsample_type; i++)
        CHECK(r->sample_type[i].type == p->vtypes[i].type && r->sample_type[i].unit == p->vtypes[i].unit);
    CHECK(pprof_sample_type_index(r, "off-cpu-time") == 3);
    CHECK(pprof_sample_type_index(r, "wall-time") == 1);
    CHECK(pprof_sample_type_index(r, "cpu") == -1);
    CHECK(str_eq(r, r->default_sample_type, "wall-time"));
    CHECK(str_eq(r, r->period_type.type, "wall-time") && str_eq(r, r->period_type.unit, "nanoseconds"));
    CHECK(r->period == p->period && r->period == 10000000);
    CHECK(r->time_nanos == p->time_nanos && r->duration_nanos == p->duration_nanos);
    CHECK(r->ncomments == (size_t)p->ncomments);
    for (int i = 0; i < p->ncomments && (size_t)i < r->ncomments; i++)
        CHECK(r->comments[i] == p->comments[i]);
    CHECK(r->nmappings == 0 && r->nlocations == p->nloc && r->nfunctions == p->nfn);

    /* Samples: the profile's own, all-zero ones left out, order kept. */
    size_t k = 0, refs = 0;
    for (uint32_t i = 0; i < p->nsamples; i++) {
        const prof_sample *s = &p->samples[i];
        int nonzero = 0;
        for (int v = 0; v < p->nvalues; v++)
            nonzero |= s->values[v] != 0;
        if (!nonzero)
            continue;
        if (k >= r->nsamples) {
            k++;
            continue;
        }
        size_t n;
        profile_stack(p, s->stack, &n);
        refs += n;
        const int64_t *v = pprof_sample_values(r, k);
        for (int x = 0; x < p->nvalues; x++)
            CHECK(v[x] == s->values[x]);
        const prof_label *want = profile_labels(p, s->labels, &n);
        size_t got_n, w = 0;
        const pprof_label *got = pprof_sample_labels(r, k, &got_n);
        for (size_t x = 0; x < n; x++) {
            if (want[x].str == 0)
                continue;   /* "" values are dropped, as pprof does */
            CHECK(w < got_n && got[w].key == want[x].key && got[w].str == want[x].str);
            w++;
        }
        CHECK(w == got_n);
        k++;
    }
    CHECK(k == r->nsamples);
    CHECK(r->nlocation_refs == refs);
    CHECK(r->nnum_labels == 0);
}

static char tmpdir[64];

static void make_tmpdir(void)
{
    strcpy(tmpdir, "/tmp/strobe-test-pprof-read-XXXXXX");
    CHECK(mkdtemp(tmpdir) != NULL);
}

static void rm_rf(const char *path)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    CHECK(system(cmd) == 0);
}

static int gunzip(const unsigned char *in, size_t inlen, unsigned char **out, size_t *outlen)
{
    char err[256];
    return pprof_gunzip(in, inlen, out, outlen, err, sizeof err);
}

/* One gzip member of data. */
static unsigned char *gz(const void *data, size_t len, size_t *outlen)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return NULL;
    size_t cap = deflateBound(&zs, (uLong)len) + 64;
    unsigned char *out = malloc(cap);
    zs.next_in = (Bytef *)data;
    zs.avail_in = (uInt)len;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    int rc = deflate(&zs, Z_FINISH);
    *outlen = cap - zs.avail_out;
    deflateEnd(&zs);
    if (rc != Z_STREAM_END) {
        free(out);
        return NULL;
    }
    return out;
}

/* ---- round trips ------------------------------------------------------------ */

static void test_round_trip_file(void)
{
    make_tmpdir();
    profile p;
    make_profile(&p);
    char path[128], err[256] = "";
    snprintf(path, sizeof path, "%s/out.pprof", tmpdir);
    CHECK(export_write(&p, EXPORT_PPROF, path, err, sizeof err) == 0);
    pprof_profile r;
    CHECK(pprof_read_file(path, &r, err, sizeof err) == 0);
    if (r.nstr) {
        CHECK(r.gzipped == 1);
        check_matches(&p, &r);
        /* the suspended task's labels and values, by name */
        CHECK(r.nsamples == 8);
        size_t n;
        const pprof_label *lb = pprof_sample_labels(&r, 4, &n);
        CHECK(n == 7);
        if (n == 7) {
            CHECK(str_eq(&r, lb[2].key, "thread name") && str_eq(&r, lb[2].str, "MainThread"));
            CHECK(str_eq(&r, lb[5].key, "task state") && str_eq(&r, lb[5].str, "suspended"));
            CHECK(str_eq(&r, lb[6].key, "off cpu cause") && str_eq(&r, lb[6].str, "io"));
        }
        const int64_t *v = pprof_sample_values(&r, 4);
        CHECK(v[0] == 5 && v[1] == 50000000 && v[2] == 0 && v[3] == 50000000);
        v = pprof_sample_values(&r, 7);
        CHECK(v[1] == INT64_MAX && v[2] == -5 && v[3] == INT64_MIN);
        /* the sample whose only named label had an empty value */
        lb = pprof_sample_labels(&r, 5, &n);
        CHECK(n == 1 && str_eq(&r, lb[0].key, "thread id"));
    }
    pprof_free(&r);
    pprof_free(&r);     /* harmless twice */

    /* Errors name what is wrong. */
    snprintf(path, sizeof path, "%s/missing.pprof", tmpdir);
    CHECK(pprof_read_file(path, &r, err, sizeof err) == -1 && strstr(err, "No such file"));
    CHECK(r.nstr == 0 && r.str_data == NULL);
    CHECK(pprof_read_file(tmpdir, &r, err, sizeof err) == -1 && strstr(err, "directory"));
    snprintf(path, sizeof path, "%s/empty", tmpdir);
    FILE *f = fopen(path, "w");
    fclose(f);
    CHECK(pprof_read_file(path, &r, err, sizeof err) == -1 && strstr(err, "empty"));
    snprintf(path, sizeof path, "%s/text", tmpdir);
    f = fopen(path, "w");
    fputs("thread:MainThread;main (a.py:1) 12\n", f);
    fclose(f);
    CHECK(pprof_read_file(path, &r, err, sizeof err) == -1 && strstr(err, "not a pprof profile") &&
          strstr(err, "text"));
    profile_free(&p);
    rm_rf(tmpdir);
}

static void test_round_trip_raw(void)
{
    profile p;
    make_profile(&p);
    unsigned char *z = NULL, *raw = NULL;
    size_t zlen = 0, rawlen = 0;
    char err[256] = "";
    CHECK(export_pprof(&p, &z, &zlen, err, sizeof err) == 0);
    CHECK(gunzip(z, zlen, &raw, &rawlen) == 0);
    pprof_profile r;
    CHECK(pprof_read_mem(raw, rawlen, &r, err, sizeof err) == 0);
    CHECK(r.gzipped == 0);
    if (r.nstr)
        check_matches(&p, &r);
    pprof_free(&r);
    CHECK(pprof_read_mem(z, zlen, &r, err, sizeof err) == 0);
    CHECK(r.gzipped == 1);
    if (r.nstr)
        check_matches(&p, &r);
    pprof_free(&r);

    /* Two gzip members are one stream; trailing garbage is not. */
    size_t half = rawlen / 2, l1, l2;
    unsigned char *g1 = gz(raw, half, &l1), *g2 = gz(raw + half, rawlen - half, &l2);
    unsigned char *two = malloc(l1 + l2 + 4);
    memcpy(two, g1, l1);
    memcpy(two + l1, g2, l2);
    CHECK(pprof_read_mem(two, l1 + l2, &r, err, sizeof err) == 0);
    if (r.nstr)
        check_matches(&p, &r);
    pprof_free(&r);
    memcpy(two + l1 + l2, "junk", 4);
    CHECK(pprof_read_mem(two, l1 + l2 + 4, &r, err, sizeof err) == -1 && strstr(err, "trailing"));
    free(two);
    free(g1);
    free(g2);

    /* An empty profile: just string_table[0]. */
    profile e;
    CHECK(profile_init(&e, NULL) == PROF_OK);
    unsigned char *ez = NULL;
    size_t ezlen = 0;
    CHECK(export_pprof(&e, &ez, &ezlen, err, sizeof err) == 0);
    CHECK(pprof_read_mem(ez, ezlen, &r, err, sizeof err) == 0);
    CHECK(r.nstr == 1 && r.nsamples == 0 && r.nsample_type == 0 && consistent(&r));
    pprof_free(&r);
    free(ez);
    profile_free(&e);
    free(raw);
    free(z);
    profile_free(&p);
}

/* Many samples: flat arrays, exact sizes. */
static void test_many_samples(void)
{
    profile p;
    profile_limits lim = {0};
    lim.max_samples = 300000;
    CHECK(profile_init(&p, &lim) == PROF_OK);
    CHECK(profile_add_value_type(&p, "samples", "count") == 0);
    CHECK(profile_add_value_type(&p, "wall-time", "nanoseconds") == 1);
    uint32_t loc = L(&p, "f", "/f.py", 1), st;
    CHECK(profile_intern_stack(&p, &loc, 1, &st) == PROF_OK);
    enum { N = 200000 };
    for (int i = 0; i < N; i++) {
        char nid[32];
        snprintf(nid, sizeof nid, "%d", i);
        const char *kv[] = {"thread native id", nid, NULL};
        uint32_t ls = LS(&p, kv);
        int64_t v[2] = {1, i + 1};
        CHECK(profile_add(&p, st, ls, v) == PROF_OK);
        if (check_cur_failed)
            break;
    }
    unsigned char *z = NULL;
    size_t zlen = 0;
    char err[256];
    CHECK(export_pprof(&p, &z, &zlen, err, sizeof err) == 0);
    pprof_profile r;
    CHECK(pprof_read_mem(z, zlen, &r, err, sizeof err) == 0);
    CHECK(r.nsamples == N && r.label_off[N] == N && r.nlocation_refs == N && consistent(&r));
    int ok = 1;
    for (size_t i = 0; i < r.nsamples && ok; i++) {
        size_t n;
        const pprof_label *lb = pprof_sample_labels(&r, i, &n);
        char nid[32];
        snprintf(nid, sizeof nid, "%zu", i);
        ok = n == 1 && str_eq(&r, lb[0].str, nid) && pprof_sample_values(&r, i)[1] == (int64_t)i + 1;
    }
    CHECK(ok);
    pprof_free(&r);
    free(z);
    profile_free(&p);
}

/* ---- hand-encoded messages ---------------------------------------------------- */

static void vt(pb_buf *b, uint32_t field, uint64_t type, uint64_t unit)
{
    size_t m = pb_begin(b, field);
    pb_uint64(b, 1, type);
    pb_uint64(b, 2, unit);
    pb_end(b, m);
}

/* Unknown fields of every wire type, a group with a group inside. */
static void junk(pb_buf *b)
{
    pb_uint64(b, 1000, 12345);
    pb_tag(b, 1001, PB_I64);
    pb_raw(b, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
    pb_bytes(b, 1002, "\x08\x01zzz", 5);
    pb_tag(b, 1003, PB_I32);
    pb_raw(b, "\xff\xff\xff\xff", 4);
    pb_tag(b, 1004, 3);         /* start group */
    pb_uint64(b, 1, 1);
    pb_tag(b, 7, 3);
    pb_bytes(b, 2, "x", 1);
    pb_tag(b, 7, 4);
    pb_tag(b, 1004, 4);         /* end group */
}

enum { ST_EMPTY, ST_SAMPLES, ST_COUNT, ST_WALL, ST_NS, ST_KEY, ST_VAL, ST_BYTES, ST_N };
static const char *const strs[ST_N] = {"", "samples", "count", "wall-time", "nanoseconds", "thread name",
                                       "main", "bytes"};

static void strings(pb_buf *b)
{
    for (int i = 0; i < ST_N; i++)
        pb_bytes(b, 6, strs[i], strlen(strs[i]));
}

static void test_hand_encoded(void)
{
    pb_buf b;
    pb_init(&b);
    junk(&b);
    /* sample 0: values unpacked, a string label, a numeric label, a label
     * with neither (dropped), location ids packed and unpacked */
    size_t m = pb_begin(&b, 2);
    junk(&b);
    pb_uint64(&b, 2, 7);
    pb_uint64(&b, 1, 3);
    pb_int64(&b, 2, -70);
    uint64_t locs[] = {1, 2};
    pb_packed_uint64(&b, 1, locs, 2);
    size_t ml = pb_begin(&b, 3);
    junk(&b);
    pb_uint64(&b, 1, ST_KEY);
    pb_uint64(&b, 2, ST_VAL);
    pb_end(&b, ml);
    ml = pb_begin(&b, 3);
    pb_uint64(&b, 1, ST_KEY);
    pb_uint64(&b, 3, 4096);
    pb_uint64(&b, 4, ST_BYTES);
    pb_end(&b, ml);
    ml = pb_begin(&b, 3);
    pb_uint64(&b, 1, ST_KEY);
    pb_end(&b, ml);
    pb_end(&b, m);
    /* sample 1: values in two packed runs; no labels */
    m = pb_begin(&b, 2);
    int64_t v1[] = {1};
    int64_t v2[] = {INT64_MIN};
    pb_packed_int64(&b, 2, v1, 1);
    pb_packed_int64(&b, 2, v2, 1);
    pb_end(&b, m);
    /* sample types after the samples, the string table last */
    vt(&b, 1, ST_SAMPLES, ST_COUNT);
    vt(&b, 1, ST_WALL, ST_NS);
    size_t mm = pb_begin(&b, 4);    /* a location and a function, skipped */
    pb_uint64(&b, 1, 1);
    pb_end(&b, mm);
    mm = pb_begin(&b, 5);
    pb_uint64(&b, 1, 1);
    pb_end(&b, mm);
    mm = pb_begin(&b, 3);           /* a mapping */
    pb_uint64(&b, 1, 1);
    pb_end(&b, mm);
    pb_uint64(&b, 13, ST_VAL);      /* comments: one unpacked, two packed */
    uint64_t cm[] = {ST_KEY, ST_BYTES};
    pb_packed_uint64(&b, 13, cm, 2);
    vt(&b, 11, ST_WALL, ST_NS);
    pb_uint64(&b, 12, 1000);
    pb_uint64(&b, 12, 2000);        /* the last one counts */
    pb_int64(&b, 9, -1);
    pb_uint64(&b, 10, 42);
    pb_uint64(&b, 14, ST_WALL);
    pb_uint64(&b, 7, ST_VAL);       /* drop_frames / keep_frames */
    pb_uint64(&b, 8, 0);
    junk(&b);
    strings(&b);
    CHECK(!b.failed);

    pprof_profile r;
    char err[256] = "";
    CHECK(pprof_parse(b.data, b.len, &r, err, sizeof err) == 0);
    if (err[0])
        printf("  error: %s\n", err);
    CHECK(consistent(&r));
    CHECK(r.nstr == ST_N && r.nsample_type == 2 && r.nsamples == 2);
    if (r.nsamples == 2 && r.nsample_type == 2) {
        CHECK(str_eq(&r, r.sample_type[1].type, "wall-time") && str_eq(&r, r.sample_type[0].unit, "count"));
        const int64_t *v = pprof_sample_values(&r, 0);
        CHECK(v[0] == 7 && v[1] == -70);
        v = pprof_sample_values(&r, 1);
        CHECK(v[0] == 1 && v[1] == INT64_MIN);
        size_t n;
        const pprof_label *lb = pprof_sample_labels(&r, 0, &n);
        CHECK(n == 1 && lb[0].key == ST_KEY && lb[0].str == ST_VAL);
        pprof_sample_labels(&r, 1, &n);
        CHECK(n == 0);
    }
    CHECK(r.nnum_labels == 1 && r.nlocation_refs == 3);
    CHECK(r.nlocations == 1 && r.nfunctions == 1 && r.nmappings == 1);
    CHECK(r.ncomments == 3 && r.comments[0] == ST_VAL && r.comments[1] == ST_KEY && r.comments[2] == ST_BYTES);
    CHECK(r.period == 2000 && r.period_type.type == ST_WALL && r.period_type.unit == ST_NS);
    CHECK(r.time_nanos == -1 && r.duration_nanos == 42 && r.default_sample_type == ST_WALL);
    pprof_free(&r);
    pb_free(&b);
}

/* ---- errors --------------------------------------------------------------------- */

/* Parse `len` raw bytes; expect failure with `needle` in the message. */
static int fails_with(const void *data, size_t len, const char *needle)
{
    pprof_profile r;
    char err[256] = "";
    int rc = pprof_parse(data, len, &r, err, sizeof err);
    int ok = rc == -1 && r.str_data == NULL && r.nsamples == 0 && strstr(err, needle) != NULL;
    if (!ok)
        printf("  expected an error with \"%s\", got rc=%d \"%s\"\n", needle, rc, err);
    pprof_free(&r);
    return ok;
}

/* A message: the string table, then `extra` raw bytes. */
static int fails_after_strings(const void *extra, size_t n, const char *needle)
{
    pb_buf b;
    pb_init(&b);
    strings(&b);
    pb_raw(&b, extra, n);
    int ok = fails_with(b.data, b.len, needle);
    pb_free(&b);
    return ok;
}

static void test_errors(void)
{
    /* no string table; string 0 not empty */
    CHECK(fails_with("", 0, "no string table"));
    CHECK(fails_with("\x48\x05", 2, "no string table"));
    CHECK(fails_with("\x32\x01x", 3, "does not start"));
    /* wire-level damage */
    CHECK(fails_after_strings("\x00\x01", 2, "field number 0"));
    CHECK(fails_after_strings("\x4e", 1, "invalid wire type"));
    CHECK(fails_after_strings("\x48", 1, "truncated"));
    CHECK(fails_after_strings("\x48\x80\x80", 3, "truncated"));
    CHECK(fails_after_strings("\x48\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 12, "overlong"));
    CHECK(fails_after_strings("\x48\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02", 11, "overlong"));
    CHECK(fails_after_strings("\x12\x05\x10\x01", 4, "only 2 remain"));
    CHECK(fails_after_strings("\x12\xff\xff\xff\xff\x0f", 6, "4294967295 bytes long, only 0 remain"));
    CHECK(fails_after_strings("\x21\x01\x02", 3, "truncated 8-byte"));
    CHECK(fails_after_strings("\x25\x01", 2, "truncated 4-byte"));
    CHECK(fails_after_strings("\x83\x3e\x08\x01", 4, "not closed"));          /* group 1000 */
    CHECK(fails_after_strings("\x83\x3e\x8c\x3e", 4, "closed as"));           /* 1000 closed as 1001 */
    CHECK(fails_after_strings("\x84\x3e", 2, "never opened"));
    unsigned char deep[2 * 40];
    for (int i = 0; i < 40; i++)
        deep[2 * i] = 0x83, deep[2 * i + 1] = 0x3e;
    CHECK(fails_after_strings(deep, sizeof deep, "too deep"));
    CHECK(fails_after_strings("\xf8\xff\xff\xff\xff\x01", 6, "out of range"));
    /* known fields with the wrong wire type */
    CHECK(fails_after_strings("\x08\x01", 2, "sample_type has wire type varint"));
    CHECK(fails_after_strings("\x10\x01", 2, "sample has wire type"));
    CHECK(fails_after_strings("\x30\x01", 2, "string_table has wire type"));
    CHECK(fails_after_strings("\x4a\x00", 2, "time_nanos"));
    CHECK(fails_after_strings("\x12\x02\x15\x00", 4, "truncated 4-byte"));
    CHECK(fails_after_strings("\x12\x05\x11\x00\x00\x00\x00", 7, "truncated 8-byte field 2"));
    CHECK(fails_after_strings("\x12\x02\x1d\x00", 4, "truncated"));
    CHECK(fails_after_strings("\x12\x02\x11\x01", 4, "truncated 8-byte"));
    CHECK(fails_after_strings("\x12\x05\x15\x00\x00\x00\x00", 7, "not varint or packed"));
    CHECK(fails_after_strings("\x12\x02\x18\x01", 4, "label has wire type"));
    CHECK(fails_after_strings("\x12\x04\x1a\x02\x09\x01", 6, "truncated 8-byte"));
    CHECK(fails_after_strings("\x12\x03\x12\x01\x80", 5, "packed"));
    /* string indices out of range */
    CHECK(fails_after_strings("\x0a\x02\x08\x08", 4, "refers to string 8"));
    CHECK(fails_after_strings("\x0a\x02\x10\x09", 4, "refers to string 9"));
    CHECK(fails_after_strings("\x12\x04\x1a\x02\x08\x08", 6, "label's key"));
    CHECK(fails_after_strings("\x12\x04\x1a\x02\x10\x7f", 6, "label's value"));
    CHECK(fails_after_strings("\x12\x04\x1a\x02\x20\x08", 6, "label's unit"));
    CHECK(fails_after_strings("\x68\x08", 2, "comment"));
    CHECK(fails_after_strings("\x6a\x02\x01\x08", 4, "comment"));
    CHECK(fails_after_strings("\x70\x08", 2, "default_sample_type"));
    CHECK(fails_after_strings("\x5a\x02\x10\x08", 4, "period_type"));
    CHECK(fails_after_strings("\x38\x08", 2, "drop_frames"));
    CHECK(fails_after_strings("\x0a\x0b\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 13, "refers to string"));
    /* values vs sample types */
    CHECK(fails_after_strings("\x0a\x00\x12\x00", 4, "sample 0 has 0 values for 1"));
    CHECK(fails_after_strings("\x12\x02\x10\x01", 4, "sample 0 has 1 values for 0"));
    CHECK(fails_after_strings("\x0a\x00\x12\x02\x10\x01\x12\x04\x10\x01\x10\x02", 12,
                              "sample 1 has 2 values for 1"));
    /* ...and the same bytes, well formed, parse */
    pb_buf b;
    pb_init(&b);
    strings(&b);
    pb_raw(&b, "\x0a\x00\x12\x02\x10\x01\x12\x03\x12\x01\x02", 11);
    pprof_profile r;
    char err[256] = "";
    CHECK(pprof_parse(b.data, b.len, &r, err, sizeof err) == 0);
    CHECK(r.nsamples == 2 && r.nsample_type == 1 && consistent(&r));
    if (r.nsamples == 2)
        CHECK(pprof_sample_values(&r, 0)[0] == 1 && pprof_sample_values(&r, 1)[0] == 2);
    pprof_free(&r);

    /* gzip damage */
    size_t zl;
    unsigned char *z = gz(b.data, b.len, &zl);
    CHECK(z != NULL);
    z[zl - 5] ^= 0x55;  /* the CRC */
    CHECK(pprof_read_mem(z, zl, &r, err, sizeof err) == -1 && strstr(err, "corrupt gzip"));
    CHECK(pprof_read_mem(z, 2, &r, err, sizeof err) == -1 && strstr(err, "truncated gzip"));
    free(z);
    z = gz("\x32\x01x", 3, &zl);
    CHECK(pprof_read_mem(z, zl, &r, err, sizeof err) == -1 && strstr(err, "corrupt profile") &&
          strstr(err, "does not start"));
    free(z);
    CHECK(pprof_read_mem((const unsigned char *)"\x07\x07\x07", 3, &r, err, sizeof err) == -1 &&
          strstr(err, "not a pprof profile"));
    pb_free(&b);
}

/* ---- truncation and flips ----------------------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* A parse that succeeds must be consistent; one that fails must leave *r empty. */
static int sane(const unsigned char *d, size_t len)
{
    pprof_profile r;
    char err[256] = "";
    int rc = pprof_read_mem(d, len, &r, err, sizeof err);
    int ok = rc == 0 ? consistent(&r) : (r.str_data == NULL && err[0] != 0);
    pprof_free(&r);
    return ok;
}

static void test_truncated(void)
{
    profile p;
    make_profile(&p);
    unsigned char *z = NULL, *raw = NULL;
    size_t zlen = 0, rawlen = 0;
    char err[256];
    CHECK(export_pprof(&p, &z, &zlen, err, sizeof err) == 0);
    CHECK(gunzip(z, zlen, &raw, &rawlen) == 0);
    /* gzip: every cut is an error (the trailer holds the CRC and length);
     * each cut is copied to a buffer of its own size, so ASan sees overreads */
    int all_fail = 1, all_sane = 1;
    for (size_t n = 0; n < zlen; n++) {
        unsigned char *cut = malloc(n ? n : 1);
        memcpy(cut, z, n);
        pprof_profile r;
        all_fail &= pprof_read_mem(cut, n, &r, err, sizeof err) == -1 && r.str_data == NULL;
        pprof_free(&r);
        free(cut);
    }
    CHECK(all_fail);
    /* raw: a cut at a field boundary may be a valid (smaller) message; every
     * result is either an error or consistent, and a cut inside the string
     * table, which every label refers to, is always an error */
    size_t errors = 0;
    for (size_t n = 0; n < rawlen; n++) {
        unsigned char *cut = malloc(n ? n : 1);
        memcpy(cut, raw, n);
        all_sane &= sane(cut, n);
        pprof_profile r;
        errors += pprof_parse(cut, n, &r, err, sizeof err) != 0;
        pprof_free(&r);
        free(cut);
    }
    CHECK(all_sane);
    CHECK(errors > rawlen * 9 / 10);
    free(raw);
    free(z);
    profile_free(&p);
}

static void test_flips(void)
{
    profile p;
    make_profile(&p);
    unsigned char *z = NULL, *raw = NULL;
    size_t zlen = 0, rawlen = 0;
    char err[256];
    CHECK(export_pprof(&p, &z, &zlen, err, sizeof err) == 0);
    CHECK(gunzip(z, zlen, &raw, &rawlen) == 0);
    int all_sane = 1;
    size_t parsed = 0;
    unsigned char *buf = malloc(rawlen + 16);
    for (int iter = 0; iter < 30000; iter++) {
        const unsigned char *src = iter % 4 == 3 ? z : raw;
        size_t len = iter % 4 == 3 ? zlen : rawlen;
        memcpy(buf, src, len);
        int flips = 1 + (int)(rnd() % 4);
        for (int k = 0; k < flips; k++) {
            size_t at = rnd() % len;
            switch (rnd() % 3) {
            case 0: buf[at] ^= (unsigned char)(1u << (rnd() % 8)); break;
            case 1: buf[at] = (unsigned char)rnd(); break;
            default: buf[at] = (unsigned char)(rnd() % 2 ? 0xff : 0x00); break;
            }
        }
        if (rnd() % 8 == 0)
            len -= rnd() % (len / 4 + 1);
        /* a buffer of exactly `len` bytes: ASan catches any overread */
        unsigned char *exact = malloc(len ? len : 1);
        memcpy(exact, buf, len);
        all_sane &= sane(exact, len);
        pprof_profile r;
        if (pprof_read_mem(exact, len, &r, err, sizeof err) == 0)
            parsed++;
        pprof_free(&r);
        free(exact);
    }
    CHECK(all_sane);
    CHECK(parsed > 0);  /* some flips hit values and still parse */
    free(buf);
    free(raw);
    free(z);
    profile_free(&p);
}

int main(void)
{
    RUN(test_round_trip_file);
    RUN(test_round_trip_raw);
    RUN(test_many_samples);
    RUN(test_hand_encoded);
    RUN(test_errors);
    RUN(test_truncated);
    RUN(test_flips);
    return CHECK_DONE();
}
