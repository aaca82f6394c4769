/* test_mem_restrict.c — mem_restrict(): with a window set, every read whose
 * range is not wholly inside [lo, hi) fails like a read of an unmapped
 * address, on every path (mem_read/mem_readv, the page cache, large reads,
 * mem_readv_fresh), while the memory outside is perfectly readable; reads
 * inside are unchanged; the window can be moved and turned off.  A decoder
 * (pyobj) pointed at the window sees a length running past it as a failed
 * read.  The fuzz targets (tests/fuzz/) depend on all of this. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check.h"
#include "layout.h"
#include "mem.h"
#include "pyobj.h"

static uint64_t A(const void *p) { return (uint64_t)(uintptr_t)p; }

/* 4 pages, filled with a pattern; the window is [lo, hi) inside them. */
static uint8_t *area(size_t *psz)
{
    *psz = (size_t)sysconf(_SC_PAGESIZE);
    uint8_t *a = mmap(NULL, 4 * *psz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (a == MAP_FAILED) return NULL;
    for (size_t i = 0; i < 4 * *psz; i++) a[i] = (uint8_t)(i * 13 + 1);
    return a;
}

static void test_off_by_default(void)
{
    mem_target m;
    CHECK(mem_open(&m, 0) == 0);
    CHECK(m.restrict_span == 0);
    static const char s[] = "outside any window";
    char got[sizeof s];
    CHECK(mem_read(&m, A(s), sizeof s, got) == 0 && !memcmp(got, s, sizeof s));
    mem_close(&m);
}

static void test_window_uncached(void)
{
    size_t psz;
    uint8_t *a = area(&psz);
    CHECK(a != NULL);
    if (!a) return;
    mem_target m;
    CHECK(mem_open(&m, 0) == 0);
    uint64_t lo = A(a) + 100, hi = A(a) + 100 + 1000;
    mem_restrict(&m, lo, hi);
    uint8_t got[64];
    /* inside, and touching either end */
    CHECK(mem_read(&m, lo, 8, got) == 0 && !memcmp(got, a + 100, 8));
    CHECK(mem_read(&m, hi - 8, 8, got) == 0 && !memcmp(got, a + 1092, 8));
    CHECK(mem_read(&m, lo + 500, 64, got) == 0 && !memcmp(got, a + 600, 64));
    /* readable memory outside, straddling either end, far away */
    uint64_t f0 = m.failures;
    CHECK(mem_read(&m, lo - 8, 8, got) == -1);
    CHECK(mem_read(&m, lo - 1, 8, got) == -1);
    CHECK(mem_read(&m, hi - 7, 8, got) == -1);
    CHECK(mem_read(&m, hi, 1, got) == -1);
    CHECK(mem_read(&m, A(got), 8, got) == -1);
    CHECK(m.failures == f0 + 5);   /* counted as failed reads */
    /* sizes and addresses that would wrap around */
    CHECK(mem_read(&m, lo + 8, (size_t)-1 / 2, got) == -1);
    CHECK(mem_read(&m, UINT64_MAX - 3, 8, got) == -1);
    /* one range outside fails the whole batch */
    uint8_t b2[8];
    mem_iov v[2] = { { lo, got, 8 }, { hi - 4, b2, 8 } };
    CHECK(mem_readv(&m, v, 2) == -1);
    v[1].addr = hi - 8;
    CHECK(mem_readv(&m, v, 2) == 0 && !memcmp(b2, a + 1092, 8));
    /* the fresh path too */
    CHECK(mem_readv_fresh(&m, v, 2) == 0);
    v[1].addr = hi - 1;
    CHECK(mem_readv_fresh(&m, v, 2) == -1);
    /* moved, then off */
    mem_restrict(&m, A(a) + 2 * psz, A(a) + 3 * psz);
    CHECK(mem_read(&m, lo, 8, got) == -1);
    CHECK(mem_read(&m, A(a) + 2 * psz, 8, got) == 0 && !memcmp(got, a + 2 * psz, 8));
    mem_restrict(&m, 0, 0);
    CHECK(mem_read(&m, lo - 8, 8, got) == 0 && !memcmp(got, a + 92, 8));
    mem_restrict(&m, hi, lo);   /* hi <= lo: off as well */
    CHECK(m.restrict_span == 0 && mem_read(&m, hi, 8, got) == 0);
    mem_close(&m);
    munmap(a, 4 * psz);
}

/* With the page cache on, a page copied for a read inside the window does
 * not make the rest of the page readable, on a miss or on a hit; reads
 * larger than two pages (which bypass the cache) are bounded too. */
static void test_window_cached(void)
{
    size_t psz;
    uint8_t *a = area(&psz);
    CHECK(a != NULL);
    if (!a) return;
    mem_target m;
    CHECK(mem_open(&m, 0) == 0);
    CHECK(mem_cache_enable(&m, 16) == 0);
    uint64_t lo = A(a) + 200, hi = A(a) + 3 * psz + 300;   /* not page-aligned */
    mem_restrict(&m, lo, hi);
    uint8_t got[64];
    uint64_t miss0 = m.page_misses;
    CHECK(mem_read(&m, lo, 16, got) == 0 && !memcmp(got, a + 200, 16));          /* miss */
    CHECK(m.page_misses == miss0 + 1);
    CHECK(mem_read(&m, lo + 16, 16, got) == 0 && !memcmp(got, a + 216, 16));     /* hit */
    CHECK(mem_read(&m, lo - 16, 16, got) == -1);   /* same (cached) page, outside */
    CHECK(mem_read(&m, lo - 1, 16, got) == -1);
    CHECK(mem_read(&m, hi - 16, 16, got) == 0 && !memcmp(got, a + 3 * psz + 284, 16));
    CHECK(mem_read(&m, hi - 15, 16, got) == -1);   /* its page is cached now */
    /* across a page boundary inside the window */
    CHECK(mem_read(&m, A(a) + psz - 8, 16, got) == 0 && !memcmp(got, a + psz - 8, 16));
    /* large reads */
    uint8_t *big = malloc(3 * psz);
    CHECK(mem_read(&m, lo, 3 * psz, big) == 0 && !memcmp(big, a + 200, 3 * psz));
    CHECK(mem_read(&m, lo - 8, 3 * psz, big) == -1);
    CHECK(mem_read(&m, lo + 200, 3 * psz, big) == -1);
    free(big);
    /* a new pass keeps the window */
    mem_cache_drop(&m);
    CHECK(mem_read(&m, lo - 16, 16, got) == -1);
    CHECK(mem_read(&m, lo, 16, got) == 0);
    mem_close(&m);
    munmap(a, 4 * psz);
}

/* A bytes object inside the window whose size runs past it: the decoder's
 * read of its contents fails; shrunk to fit, it reads. */
static void test_decoder_sees_failures(void)
{
    strobe_layout L;
    memset(&L, 0, sizeof L);
    L.bytes_size = 16;
    L.bytes_data = 32;
    uint8_t *obj = calloc(1, 256);
    int64_t size = 100;
    memcpy(obj + L.bytes_size, &size, 8);
    memset(obj + L.bytes_data, 'x', 200);
    mem_target m;
    CHECK(mem_open(&m, 0) == 0);
    mem_restrict(&m, A(obj), A(obj) + 64);
    uint8_t *out = NULL;
    size_t n = 0;
    CHECK(pyobj_read_bytes(&m, &L, A(obj), &out, &n) == -1);
    size = 32;
    memcpy(obj + L.bytes_size, &size, 8);
    CHECK(pyobj_read_bytes(&m, &L, A(obj), &out, &n) == 0 && n == 32 && out[31] == 'x');
    free(out);
    mem_close(&m);
    free(obj);
}

int main(void)
{
    RUN(test_off_by_default);
    RUN(test_window_uncached);
    RUN(test_window_cached);
    RUN(test_decoder_sees_failures);
    return CHECK_DONE();
}
