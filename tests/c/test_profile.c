/* test_profile.c — interning, accumulation, growth, caps, reset and
 * allocation failure of the in-memory profile. */
#include "check.h"
#include "profile.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

static uint32_t S(profile *p, const char *s)
{
    uint32_t id = UINT32_MAX;
    int rc = profile_intern_string(p, s, strlen(s), &id);
    CHECK(rc == PROF_OK);
    return id;
}

static int str_is(const profile *p, uint32_t id, const char *s)
{
    size_t len;
    const char *v = profile_str(p, id, &len);
    return len == strlen(s) && memcmp(v, s, len) == 0 && v[len] == '\0';
}

static void test_init_empty_string(void)
{
    profile p;
    CHECK(profile_init(&p, NULL) == PROF_OK);
    CHECK(p.nstr == 1);
    CHECK(str_is(&p, 0, ""));
    CHECK(S(&p, "") == 0);
    CHECK(p.limits.max_strings == (size_t)1 << 20);
    CHECK(p.limits.max_samples == (size_t)4 << 20);
    profile_free(&p);
}

static void test_string_dedup(void)
{
    profile p;
    CHECK(profile_init(&p, NULL) == PROF_OK);
    uint32_t a = S(&p, "alpha"), b = S(&p, "beta");
    CHECK(a != b && a != 0 && b != 0);
    CHECK(S(&p, "alpha") == a);
    CHECK(S(&p, "beta") == b);
    /* Interning uses the length, not a terminator. */
    uint32_t c, d;
    CHECK(profile_intern_string(&p, "alphabet", 5, &c) == PROF_OK);
    CHECK(c == a);
    CHECK(profile_intern_string(&p, "a\0b", 3, &d) == PROF_OK);
    CHECK(d != a && d != S(&p, "a"));
    size_t len;
    CHECK(profile_str(&p, d, &len)[2] == 'b' && len == 3);
    /* Non-ASCII bytes are kept as they are. */
    uint32_t e = S(&p, "caf\xc3\xa9 \xe6\xbc\xa2 \xf0\x9f\x90\x8d");
    CHECK(str_is(&p, e, "caf\xc3\xa9 \xe6\xbc\xa2 \xf0\x9f\x90\x8d"));
    CHECK(p.nstr == 5 + 1);
    profile_free(&p);
}

static void test_function_location_dedup(void)
{
    profile p;
    CHECK(profile_init(&p, NULL) == PROF_OK);
    uint32_t name = S(&p, "f"), file = S(&p, "a.py"), f1, f2, f3, l1, l2, l3;
    CHECK(profile_intern_function(&p, name, file, 10, &f1) == PROF_OK);
    CHECK(profile_intern_function(&p, name, file, 10, &f2) == PROF_OK);
    CHECK(profile_intern_function(&p, name, file, 11, &f3) == PROF_OK);
    CHECK(f1 == f2 && f1 != f3 && p.nfn == 2);
    CHECK(p.fn[f3].start_line == 11 && p.fn[f1].name == name && p.fn[f1].file == file);
    CHECK(profile_intern_location(&p, f1, 12, &l1) == PROF_OK);
    CHECK(profile_intern_location(&p, f1, 12, &l2) == PROF_OK);
    CHECK(profile_intern_location(&p, f3, 12, &l3) == PROF_OK);
    CHECK(l1 == l2 && l1 != l3 && p.nloc == 2);
    CHECK(p.loc[l3].function == f3 && p.loc[l3].line == 12);
    profile_free(&p);
}

/* n functions f0..f(n-1) in a.py, one location each at line i+1. */
static void make_locs(profile *p, uint32_t *locs, int n)
{
    uint32_t file = S(p, "a.py");
    for (int i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof name, "f%d", i);
        uint32_t fn;
        CHECK(profile_intern_function(p, S(p, name), file, i + 1, &fn) == PROF_OK);
        CHECK(profile_intern_location(p, fn, i + 1, &locs[i]) == PROF_OK);
    }
}

static void test_stack_dedup(void)
{
    profile p;
    CHECK(profile_init(&p, NULL) == PROF_OK);
    uint32_t l[3], s1, s2, s3, s4, s5;
    make_locs(&p, l, 3);
    uint32_t a[] = {l[0], l[1], l[2]}, b[] = {l[2], l[1], l[0]};
    CHECK(profile_intern_stack(&p, a, 3, &s1) == PROF_OK);
    CHECK(profile_intern_stack(&p, b, 3, &s2) == PROF_OK);
    CHECK(profile_intern_stack(&p, a, 3, &s3) == PROF_OK);
    CHECK(profile_intern_stack(&p, a, 2, &s4) == PROF_OK);
    CHECK(profile_intern_stack(&p, a, 0, &s5) == PROF_OK);
    CHECK(s1 == s3 && s1 != s2 && s4 != s1 && s5 != s4 && p.nstack == 4);
    size_t n;
    const uint32_t *got = profile_stack(&p, s2, &n);
    CHECK(n == 3 && got[0] == l[2] && got[2] == l[0]);
    got = profile_stack(&p, s5, &n);
    CHECK(n == 0);
    uint32_t again;
    CHECK(profile_intern_stack(&p, NULL, 0, &again) == PROF_OK && again == s5);
    profile_free(&p);
}

static void test_labels_and_samples(void)
{
    profile p;
    CHECK(profile_init(&p, NULL) == PROF_OK);
    CHECK(profile_add_value_type(&p, "samples", "count") == 0);
    CHECK(profile_add_value_type(&p, "wall-time", "nanoseconds") == 1);
    uint32_t l[2], st, ls1, ls2, ls3, ls0;
    make_locs(&p, l, 2);
    CHECK(profile_intern_stack(&p, l, 2, &st) == PROF_OK);
    prof_label a[] = {{S(&p, "thread name"), S(&p, "main")}, {S(&p, "thread id"), S(&p, "1")}};
    prof_label b[] = {{S(&p, "thread name"), S(&p, "worker")}, {S(&p, "thread id"), S(&p, "2")}};
    CHECK(profile_intern_labels(&p, a, 2, &ls1) == PROF_OK);
    CHECK(profile_intern_labels(&p, b, 2, &ls2) == PROF_OK);
    CHECK(profile_intern_labels(&p, a, 2, &ls3) == PROF_OK);
    CHECK(profile_intern_labels(&p, NULL, 0, &ls0) == PROF_OK);
    CHECK(ls1 == ls3 && ls1 != ls2 && ls0 != ls1 && p.nls == 3);
    size_t n;
    const prof_label *got = profile_labels(&p, ls2, &n);
    CHECK(n == 2 && got[0].str == b[0].str && got[1].key == b[1].key);

    int64_t v1[] = {1, 100}, v2[] = {1, 250};
    CHECK(profile_add(&p, st, ls1, v1) == PROF_OK);
    CHECK(profile_add(&p, st, ls1, v2) == PROF_OK);
    CHECK(profile_add(&p, st, ls2, v1) == PROF_OK);
    CHECK(p.nsamples == 2);
    CHECK(p.samples[0].stack == st && p.samples[0].labels == ls1);
    CHECK(p.samples[0].values[0] == 2 && p.samples[0].values[1] == 350);
    CHECK(p.samples[0].values[2] == 0);
    CHECK(p.samples[1].values[0] == 1 && p.samples[1].values[1] == 100);
    profile_free(&p);
}

static void test_invalid_ids(void)
{
    profile p;
    CHECK(profile_init(&p, NULL) == PROF_OK);
    uint32_t id, l;
    CHECK(profile_intern_function(&p, 7, 0, 0, &id) == PROF_EINVAL);
    CHECK(profile_intern_location(&p, 0, 1, &id) == PROF_EINVAL);
    make_locs(&p, &l, 1);
    uint32_t bad[] = {l, l + 5};
    CHECK(profile_intern_stack(&p, bad, 2, &id) == PROF_EINVAL);
    prof_label lb[PROF_MAX_LABELS + 1] = {{0, 0}};
    CHECK(profile_intern_labels(&p, lb, PROF_MAX_LABELS + 1, &id) == PROF_EINVAL);
    lb[0].key = 999;
    CHECK(profile_intern_labels(&p, lb, 1, &id) == PROF_EINVAL);
    int64_t v[PROF_MAX_VALUES] = {0};
    CHECK(profile_add(&p, 0, 0, v) == PROF_EINVAL);
    CHECK(p.nstack == 0 && p.nls == 0 && p.nsamples == 0);
    profile_free(&p);
}

static void test_growth(void)
{
    enum { N = 200000, NS = 100000 };
    profile p;
    CHECK(profile_init(&p, NULL) == PROF_OK);
    CHECK(profile_add_value_type(&p, "samples", "count") == 0);
    uint32_t *ids = malloc(N * sizeof *ids);
    char buf[64];
    for (int i = 0; i < N; i++) {
        snprintf(buf, sizeof buf, "string-%d", i);
        ids[i] = S(&p, buf);
    }
    CHECK(p.nstr == N + 3); /* "", samples, count */
    int ok = 1;
    for (int i = 0; i < N; i++) {
        snprintf(buf, sizeof buf, "string-%d", i);
        ok &= S(&p, buf) == ids[i] && str_is(&p, ids[i], buf);
    }
    CHECK(ok);
    CHECK(p.nstr == N + 3); /* "", samples, count */

    /* Many stacks over a few locations: every prefix of a walk. */
    static uint32_t st[NS / 64][64];
    uint32_t l[64], lbl;
    make_locs(&p, l, 64);
    CHECK(profile_intern_labels(&p, NULL, 0, &lbl) == PROF_OK);
    uint32_t walk[64];
    for (int r = 0; r < NS / 64; r++) {
        for (int k = 0; k < 64; k++)
            walk[k] = l[(r * 7 + k * (r % 13 + 1)) % 64];
        walk[0] = l[r % 64];
        walk[1] = l[(r / 64) % 64];
        walk[2] = l[(r / 4096) % 64];
        for (int k = 0; k < 64; k++)
            CHECK(profile_intern_stack(&p, walk, (size_t)k + 1, &st[r][k]) == PROF_OK);
    }
    uint32_t nstack = p.nstack;
    CHECK(nstack > NS / 2);
    ok = 1;
    for (int r = 0; r < NS / 64; r++) {
        for (int k = 0; k < 64; k++)
            walk[k] = l[(r * 7 + k * (r % 13 + 1)) % 64];
        walk[0] = l[r % 64];
        walk[1] = l[(r / 64) % 64];
        walk[2] = l[(r / 4096) % 64];
        for (int k = 0; k < 64; k++) {
            uint32_t again;
            size_t n;
            ok &= profile_intern_stack(&p, walk, (size_t)k + 1, &again) == PROF_OK;
            ok &= again == st[r][k];
            const uint32_t *got = profile_stack(&p, again, &n);
            ok &= n == (size_t)k + 1 && memcmp(got, walk, n * sizeof *got) == 0;
            int64_t one = 1;
            ok &= profile_add(&p, again, lbl, &one) == PROF_OK;
        }
    }
    CHECK(ok);
    CHECK(p.nstack == nstack);
    CHECK(p.nsamples == nstack);
    int64_t total = 0;
    for (uint32_t i = 0; i < p.nsamples; i++)
        total += p.samples[i].values[0];
    CHECK(total == (NS / 64) * 64);
    free(ids);
    profile_free(&p);
}

static void test_limits(void)
{
    profile_limits lim = {.max_strings = 10, .max_functions = 3, .max_locations = 3,
                          .max_stacks = 2, .max_samples = 2, .max_label_sets = 2};
    profile p;
    CHECK(profile_init(&p, &lim) == PROF_OK);
    CHECK(profile_add_value_type(&p, "samples", "count") == 0);   /* strings 1, 2 */
    uint32_t id, f[3], l[3], st[2], ls[2];
    char buf[8];
    for (int i = 0; i < 7; i++) {
        snprintf(buf, sizeof buf, "s%d", i);
        CHECK(profile_intern_string(&p, buf, strlen(buf), &id) == PROF_OK);
    }
    CHECK(p.nstr == 10);
    CHECK(profile_intern_string(&p, "more", 4, &id) == PROF_EFULL);
    CHECK(profile_intern_string(&p, "more2", 5, &id) == PROF_EFULL);
    CHECK(p.dropped_strings == 2 && p.nstr == 10);
    CHECK(profile_intern_string(&p, "s3", 2, &id) == PROF_OK && id == 6);

    for (int i = 0; i < 3; i++)
        CHECK(profile_intern_function(&p, 3 + i, 0, 0, &f[i]) == PROF_OK);
    CHECK(profile_intern_function(&p, 8, 0, 0, &id) == PROF_EFULL);
    CHECK(p.dropped_functions == 1);
    CHECK(profile_intern_function(&p, 4, 0, 0, &id) == PROF_OK && id == f[1]);
    for (int i = 0; i < 3; i++)
        CHECK(profile_intern_location(&p, f[i], 1, &l[i]) == PROF_OK);
    CHECK(profile_intern_location(&p, f[0], 2, &id) == PROF_EFULL);
    CHECK(p.dropped_locations == 1);

    CHECK(profile_intern_stack(&p, l, 1, &st[0]) == PROF_OK);
    CHECK(profile_intern_stack(&p, l, 2, &st[1]) == PROF_OK);
    CHECK(profile_intern_stack(&p, l, 3, &id) == PROF_EFULL);
    CHECK(p.dropped_stacks == 1);
    CHECK(profile_intern_stack(&p, l, 2, &id) == PROF_OK && id == st[1]);

    prof_label a = {3, 4}, b = {3, 5}, c = {3, 6};
    CHECK(profile_intern_labels(&p, &a, 1, &ls[0]) == PROF_OK);
    CHECK(profile_intern_labels(&p, &b, 1, &ls[1]) == PROF_OK);
    CHECK(profile_intern_labels(&p, &c, 1, &id) == PROF_EFULL);
    CHECK(p.dropped_label_sets == 1);

    int64_t one = 1;
    CHECK(profile_add(&p, st[0], ls[0], &one) == PROF_OK);
    CHECK(profile_add(&p, st[1], ls[0], &one) == PROF_OK);
    CHECK(profile_add(&p, st[1], ls[1], &one) == PROF_EFULL);
    CHECK(profile_add(&p, st[0], ls[1], &one) == PROF_EFULL);
    CHECK(p.dropped_samples == 2);
    CHECK(profile_add(&p, st[0], ls[0], &one) == PROF_OK);
    CHECK(p.nsamples == 2 && p.samples[0].values[0] == 2);

    /* After a reset the caps count again from nothing. */
    profile_reset(&p);
    CHECK(p.dropped_strings == 0 && p.dropped_samples == 0 && p.dropped_stacks == 0);
    for (int i = 0; i < 7; i++) {
        snprintf(buf, sizeof buf, "t%d", i);
        CHECK(profile_intern_string(&p, buf, strlen(buf), &id) == PROF_OK);
    }
    CHECK(profile_intern_string(&p, "more", 4, &id) == PROF_EFULL);
    profile_free(&p);
}

static void test_reset(void)
{
    profile p;
    CHECK(profile_init(&p, NULL) == PROF_OK);
    uint32_t junk = S(&p, "junk-before");
    CHECK(profile_add_value_type(&p, "samples", "count") == 0);
    S(&p, "junk-between");
    CHECK(profile_add_value_type(&p, "wall-time", "nanoseconds") == 1);
    profile_set_period(&p, "wall-time", "nanoseconds", 10000000);
    CHECK(profile_add_comment(&p, "strobe \xc3\xa9t\xc3\xa9") == PROF_OK);
    p.default_value = 1;
    p.time_nanos = 123;
    p.duration_nanos = 456;
    uint32_t l[4], st, ls;
    make_locs(&p, l, 4);
    CHECK(profile_intern_stack(&p, l, 4, &st) == PROF_OK);
    prof_label lb = {S(&p, "thread name"), S(&p, "main")};
    CHECK(profile_intern_labels(&p, &lb, 1, &ls) == PROF_OK);
    int64_t v[] = {1, 10};
    CHECK(profile_add(&p, st, ls, v) == PROF_OK);
    CHECK(junk == 1);

    profile_reset(&p);
    CHECK(p.nsamples == 0 && p.nstack == 0 && p.nls == 0 && p.nfn == 0 && p.nloc == 0);
    CHECK(p.nstr == 6); /* "", samples, count, wall-time, nanoseconds, comment */
    CHECK(str_is(&p, 0, ""));
    CHECK(p.nvalues == 2 && p.default_value == 1);
    CHECK(str_is(&p, p.vtypes[0].type, "samples") && str_is(&p, p.vtypes[0].unit, "count"));
    CHECK(str_is(&p, p.vtypes[1].type, "wall-time"));
    CHECK(str_is(&p, p.vtypes[1].unit, "nanoseconds"));
    CHECK(str_is(&p, p.period_type.type, "wall-time") && p.period == 10000000);
    CHECK(p.period_type.unit == p.vtypes[1].unit);
    CHECK(p.ncomments == 1 && str_is(&p, p.comments[0], "strobe \xc3\xa9t\xc3\xa9"));
    CHECK(p.time_nanos == 123 && p.duration_nanos == 456);
    /* The index agrees with the renumbered table. */
    CHECK(S(&p, "") == 0);
    CHECK(S(&p, "samples") == p.vtypes[0].type);
    CHECK(S(&p, "nanoseconds") == p.vtypes[1].unit);
    CHECK(p.nstr == 6);
    CHECK(S(&p, "junk-before") == 6);

    /* And the profile works as new. */
    make_locs(&p, l, 4);
    CHECK(profile_intern_stack(&p, l, 3, &st) == PROF_OK && st == 0);
    CHECK(profile_intern_labels(&p, NULL, 0, &ls) == PROF_OK && ls == 0);
    CHECK(profile_add(&p, st, ls, v) == PROF_OK && p.nsamples == 1);
    CHECK(p.samples[0].values[1] == 10);
    profile_reset(&p);
    profile_reset(&p);
    CHECK(p.nstr == 6 && S(&p, "count") == p.vtypes[0].unit);
    profile_free(&p);
}

static void test_metadata_caps(void)
{
    profile p;
    CHECK(profile_init(&p, NULL) == PROF_OK);
    for (int i = 0; i < PROF_MAX_VALUES; i++)
        CHECK(profile_add_value_type(&p, "t", "u") == i);
    CHECK(profile_add_value_type(&p, "t", "u") == PROF_EFULL);
    for (int i = 0; i < PROF_MAX_COMMENTS; i++)
        CHECK(profile_add_comment(&p, "c") == PROF_OK);
    CHECK(profile_add_comment(&p, "c") == PROF_EFULL);
    profile_free(&p);
}

#ifndef UNDER_ASAN
/* Fill a profile under a small address-space limit until allocation fails,
 * then check that everything interned before is intact and reachable. */
static int fill_until_enomem(size_t headroom)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_AS, &rl))
        return 10;
    profile p;
    if (profile_init(&p, NULL) != PROF_OK)
        return 11;
    uint32_t loc = 0, fn = 0, file, st, ls;
    if (profile_intern_string(&p, "f.py", 4, &file) ||
        profile_intern_function(&p, file, file, 1, &fn) ||
        profile_intern_location(&p, fn, 1, &loc) ||
        profile_intern_labels(&p, NULL, 0, &ls) ||
        profile_add_value_type(&p, "samples", "count") != 0)
        return 12;
    /* The current size plus headroom. */
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long pages = 0;
    if (!f || fscanf(f, "%lu", &pages) != 1)
        return 13;
    fclose(f);
    rl.rlim_cur = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + headroom;
    if (setrlimit(RLIMIT_AS, &rl))
        return 14;
    char buf[64];
    uint32_t n = 0, stacks[4096];
    int rc = PROF_OK;
    uint32_t walk[256];
    for (int i = 0; i < 256; i++)
        walk[i] = loc;
    for (n = 0; rc == PROF_OK; n++) {
        snprintf(buf, sizeof buf, "a rather long string to fill memory %u", n);
        uint32_t id;
        rc = profile_intern_string(&p, buf, strlen(buf), &id);
        if (rc != PROF_OK)
            break;
        if (id != n + 4)   /* "", f.py, samples, count, then one per loop */
            return 15;
        if (n % 16 == 0) {
            uint32_t k = n / 16;
            uint32_t locid;
            rc = profile_intern_function(&p, id, file, n, &fn);
            if (rc == PROF_OK)
                rc = profile_intern_location(&p, fn, n, &locid);
            if (rc == PROF_OK) {
                walk[k % 256] = locid;
                rc = profile_intern_stack(&p, walk, 256, &st);
            }
            if (rc == PROF_OK) {
                int64_t one = 1;
                rc = profile_add(&p, st, ls, &one);
            }
            if (rc == PROF_OK && k < 4096)
                stacks[k] = st;
        }
    }
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_AS, &rl);
    if (rc != PROF_ENOMEM)
        return 16;
    /* Every string that made it is there, once, and found again. */
    for (uint32_t i = 0; i + 4 < p.nstr; i++) {
        snprintf(buf, sizeof buf, "a rather long string to fill memory %u", i);
        uint32_t id;
        if (profile_intern_string(&p, buf, strlen(buf), &id) || id != i + 4)
            return 17;
    }
    /* Every complete sample's stack is intact. */
    if (p.nsamples != p.nstack && p.nsamples + 1 != p.nstack)
        return 18;
    for (uint32_t i = 0; i < p.nsamples && i < 4096; i++)
        if (p.samples[i].stack != stacks[i] || p.samples[i].values[0] != 1)
            return 19;
    for (uint32_t i = 0; i < p.nstack; i++) {
        size_t len;
        const uint32_t *s = profile_stack(&p, i, &len);
        uint32_t again;
        if (len != 256 || profile_intern_stack(&p, s, len, &again) || again != i)
            return 20;
    }
    profile_free(&p);
    return 0;
}
#endif

static void test_enomem_consistent(void)
{
#ifdef UNDER_ASAN
    printf("SKIP test_enomem_consistent: address-space limit under AddressSanitizer\n");
    return;
#else
    const char *pre = getenv("LD_PRELOAD");
    if (pre && strstr(pre, "vgpreload")) {
        printf("SKIP test_enomem_consistent: address-space limit under valgrind\n");
        return;
    }
    static const size_t headroom[] = {1 << 20, 3 << 20, 5 << 20, 9 << 20, 17 << 20};
    for (size_t i = 0; i < sizeof headroom / sizeof headroom[0]; i++) {
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0)
            _exit(fill_until_enomem(headroom[i]));
        int status = 0;
        CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
        CHECK(WIFEXITED(status));
        if (WEXITSTATUS(status))
            printf("  headroom %zu: child returned %d\n", headroom[i], WEXITSTATUS(status));
        CHECK(WEXITSTATUS(status) == 0);
    }
#endif
}

int main(void)
{
    RUN(test_init_empty_string);
    RUN(test_string_dedup);
    RUN(test_function_location_dedup);
    RUN(test_stack_dedup);
    RUN(test_labels_and_samples);
    RUN(test_invalid_ids);
    RUN(test_growth);
    RUN(test_limits);
    RUN(test_reset);
    RUN(test_metadata_caps);
    RUN(test_enomem_consistent);
    return CHECK_DONE();
}
