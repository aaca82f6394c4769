/* test_mem_prefetch.c — mem_cache_next_pass(): a pass starts with the pages
 * the previous pass read from copied again in one batch; reads of them then
 * cost no system call and see the memory as it was at the pass start; a
 * page the previous pass did not read is not prefetched; a page that was
 * unmapped in between is left out without losing the pages after it in the
 * same batch; more pages than one batch holds are all prefetched; a mid-pass
 * mem_cache_drop does not lose the record of what the pass used; a tail
 * range is read after the pages, in the same call.
 * mem_cache_fill(): the pages under many scattered objects are copied in
 * one call each batch, once each (objects sharing a page, or an object on
 * two pages), in the order given; pages already cached are not copied
 * again; an unmapped one is left out and fails on demand as before.
 * mem_rider(): a small range read last in every system call (fills,
 * misses, fresh reads), never failing the read it rides on;
 * mem_rider_now() says whether the latest call read it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check.h"
#include "mem.h"

#define NPG 300

static size_t pg;
static uint64_t A(const void *p) { return (uint64_t)(uintptr_t)p; }

static uint8_t *area(int npages)
{
    uint8_t *a = mmap(NULL, (size_t)npages * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (a == MAP_FAILED) return NULL;
    for (int i = 0; i < npages; i++) memset(a + (size_t)i * pg, i + 1, pg);
    return a;
}

static void test_steady_pass_costs_one_call(void)
{
    mem_target m;
    uint8_t *a = area(8);
    CHECK(a && mem_open(&m, 0) == 0 && mem_cache_enable(&m, 64) == 0);
    uint8_t b[16];
    /* pass 1: five pages read on demand */
    mem_cache_next_pass(&m, NULL, 0, NULL);
    for (int i = 0; i < 5; i++) CHECK(mem_read(&m, A(a + (size_t)i * pg + 100), 16, b) == 0 && b[0] == i + 1);
    CHECK(m.nused == 5);
    /* pass 2: one call copies them again, the reads are all hits */
    uint64_t r0 = m.reads, h0 = m.page_hits;
    CHECK(mem_cache_next_pass(&m, NULL, 0, NULL) == 5);
    CHECK(m.reads == r0 + 1);
    for (int i = 0; i < 5; i++) CHECK(mem_read(&m, A(a + (size_t)i * pg + 8), 16, b) == 0 && b[0] == i + 1);
    CHECK(m.reads == r0 + 1 && m.page_hits == h0 + 5);
    /* the snapshot is the pass start's: a write after it is not seen */
    a[3 * pg + 8] = 0xEE;
    CHECK(mem_read(&m, A(a + 3 * pg + 8), 1, b) == 0 && b[0] == 4);
    /* pass 3 reads only two of them: pass 4 prefetches only those two */
    mem_cache_next_pass(&m, NULL, 0, NULL);
    CHECK(mem_read(&m, A(a + 3 * pg + 8), 1, b) == 0 && b[0] == 0xEE);
    CHECK(mem_read(&m, A(a + 1 * pg), 1, b) == 0);
    CHECK(mem_cache_next_pass(&m, NULL, 0, NULL) == 2);
    mem_close(&m);
    munmap(a, 8 * pg);
}

static void test_unmapped_page_is_skipped(void)
{
    mem_target m;
    uint8_t *a = area(6);
    CHECK(a && mem_open(&m, 0) == 0 && mem_cache_enable(&m, 64) == 0);
    uint8_t b[8];
    mem_cache_next_pass(&m, NULL, 0, NULL);
    for (int i = 0; i < 6; i++) CHECK(mem_read(&m, A(a + (size_t)i * pg), 8, b) == 0);
    munmap(a + 2 * pg, pg);   /* the third page goes away between passes */
    uint64_t f0 = m.failures;
    CHECK(mem_cache_next_pass(&m, NULL, 0, NULL) == 5);
    CHECK(m.failures > f0);
    uint64_t r0 = m.reads;
    for (int i = 0; i < 6; i++) {
        int rc = mem_read(&m, A(a + (size_t)i * pg), 8, b);
        if (i == 2) CHECK(rc != 0);
        else CHECK(rc == 0 && b[0] == i + 1);
    }
    CHECK(m.reads == r0 + 1);   /* only the unmapped page was tried again */
    mem_close(&m);
    munmap(a, 2 * pg);
    munmap(a + 3 * pg, 3 * pg);
}

static void test_many_pages_and_drop(void)
{
    mem_target m;
    uint8_t *a = area(NPG);
    CHECK(a && mem_open(&m, 0) == 0 && mem_cache_enable(&m, 4096) == 0);
    uint8_t b[8];
    mem_cache_next_pass(&m, NULL, 0, NULL);
    for (int i = 0; i < NPG / 2; i++) CHECK(mem_read(&m, A(a + (size_t)i * pg), 8, b) == 0);
    mem_cache_drop(&m);   /* a retry in the middle of the pass */
    for (int i = 0; i < NPG; i++) CHECK(mem_read(&m, A(a + (size_t)i * pg), 8, b) == 0);
    CHECK(m.nused == NPG);   /* each page once, drop or not */
    uint64_t r0 = m.reads;
    CHECK(mem_cache_next_pass(&m, NULL, 0, NULL) == NPG);
    CHECK(m.reads - r0 == (NPG + 127) / 128);
    /* pages whose slots collide push each other out; the others are hits */
    uint64_t r1 = m.reads;
    for (int i = 0; i < NPG; i++) CHECK(mem_read(&m, A(a + (size_t)i * pg), 8, b) == 0 && b[0] == (uint8_t)(i + 1));
    CHECK(m.reads - r1 < NPG / 8);
    mem_close(&m);
    munmap(a, NPG * pg);
}

static void test_growing_cache_keeps_the_record(void)
{
    mem_target m;
    uint8_t *a = area(40);
    CHECK(a && mem_open(&m, 0) == 0 && mem_cache_enable(&m, 16) == 0);
    uint8_t b[8];
    mem_cache_next_pass(&m, NULL, 0, NULL);
    for (int i = 0; i < 40; i++) CHECK(mem_read(&m, A(a + (size_t)i * pg), 8, b) == 0);
    CHECK(m.nused == 16);   /* the record holds as many pages as the cache */
    CHECK(mem_cache_fit(&m, 256) == 0 && m.npages >= 32);
    CHECK(mem_cache_next_pass(&m, NULL, 0, NULL) == 16);
    mem_close(&m);
    munmap(a, 40 * pg);
}

/* Pages copied by fills (unrecorded, after mem_cache_on_demand) count
 * towards growing the cache: a pass whose fills need more pages than half
 * the slots evicts its own copies before it reads them. */
static void test_fills_grow_the_cache(void)
{
    mem_target m;
    uint8_t *a = area(100);
    CHECK(a && mem_open(&m, 0) == 0 && mem_cache_enable(&m, 64) == 0);
    mem_cache_next_pass(&m, NULL, 0, NULL);
    mem_cache_on_demand(&m);
    uint64_t addr[100];
    for (int i = 0; i < 100; i++) addr[i] = A(a + (size_t)i * pg);
    CHECK(mem_cache_fill(&m, addr, 100, 8) > 0);
    CHECK(m.nused == 0);   /* on demand: not recorded */
    CHECK(mem_cache_fit(&m, 1024) == 0 && m.npages >= 200);
    mem_close(&m);
    munmap(a, 100 * pg);
}

/* The tail is read after the pages, in the same call when it fits, and
 * says whether it was read; an unreadable tail fails alone.  Of several
 * ranges, one that fails loses the ones after it only. */
static void test_tail(void)
{
    mem_target m;
    uint8_t *a = area(4);
    CHECK(a && mem_open(&m, 0) == 0 && mem_cache_enable(&m, 64) == 0);
    uint8_t b[8];
    static uint32_t counter = 1234;
    uint32_t got = 0;
    mem_iov tail = { A(&counter), &got, 4 };
    int ok = -1;
    /* no pages yet: the tail alone */
    CHECK(mem_cache_next_pass(&m, &tail, 1, &ok) == 0 && ok == 1 && got == 1234);
    for (int i = 0; i < 4; i++) CHECK(mem_read(&m, A(a + (size_t)i * pg), 8, b) == 0);
    counter = 99;
    uint64_t r0 = m.reads;
    ok = -1;
    CHECK(mem_cache_next_pass(&m, &tail, 1, &ok) == 4 && ok == 1 && got == 99);
    CHECK(m.reads == r0 + 1);   /* pages and tail in one call */
    /* a page gone: the rest and the tail still come */
    for (int i = 0; i < 4; i++) mem_read(&m, A(a + (size_t)i * pg), 8, b);
    munmap(a + pg, pg);
    counter = 7;
    ok = -1;
    CHECK(mem_cache_next_pass(&m, &tail, 1, &ok) == 3 && ok == 1 && got == 7);
    /* an unreadable tail: the pages come, ok says no */
    mem_iov bad = { 4096 * 3, &got, 4 };
    for (int i = 0; i < 4; i++) mem_read(&m, A(a + (size_t)i * pg), 8, b);
    ok = -1;
    CHECK(mem_cache_next_pass(&m, &bad, 1, &ok) == 3 && ok == 0);
    /* several ranges, in order, in the same call as the pages */
    static uint32_t other = 55;
    uint32_t got2 = 0;
    mem_iov two[2] = { { A(&counter), &got, 4 }, { A(&other), &got2, 4 } };
    int oks[2] = { -1, -1 };
    for (int i = 0; i < 4; i++) mem_read(&m, A(a + (size_t)i * pg), 8, b);
    counter = 8;
    r0 = m.reads;
    CHECK(mem_cache_next_pass(&m, two, 2, oks) == 3 && oks[0] == 1 && oks[1] == 1 && got == 8 && got2 == 55);
    CHECK(m.reads == r0 + 1);
    /* one that fails loses the ones after it, not those before */
    mem_iov good_bad[2] = { { A(&counter), &got, 4 }, bad };
    for (int i = 0; i < 4; i++) mem_read(&m, A(a + (size_t)i * pg), 8, b);
    counter = 9;
    oks[0] = oks[1] = -1;
    CHECK(mem_cache_next_pass(&m, good_bad, 2, oks) == 3 && oks[0] == 1 && oks[1] == 0 && got == 9);
    mem_iov bad_good[2] = { bad, { A(&other), &got2, 4 } };
    for (int i = 0; i < 4; i++) mem_read(&m, A(a + (size_t)i * pg), 8, b);
    oks[0] = oks[1] = -1;
    CHECK(mem_cache_next_pass(&m, bad_good, 2, oks) == 3 && oks[0] == 0 && oks[1] == 0);
    mem_close(&m);
    /* without a cache: read one by one, stopping at the first that fails */
    CHECK(mem_open(&m, 0) == 0);
    counter = 10;
    other = 56;
    oks[0] = oks[1] = -1;
    CHECK(mem_cache_next_pass(&m, two, 2, oks) == 0 && oks[0] == 1 && oks[1] == 1 && got == 10 && got2 == 56);
    oks[0] = oks[1] = -1;
    CHECK(mem_cache_next_pass(&m, bad_good, 2, oks) == 0 && oks[0] == 0 && oks[1] == 0);
    mem_close(&m);
    munmap(a, pg);
    munmap(a + 2 * pg, 2 * pg);
}

static void test_no_cache_no_prefetch(void)
{
    mem_target m;
    CHECK(mem_open(&m, 0) == 0);
    CHECK(mem_cache_next_pass(&m, NULL, 0, NULL) == 0);
    mem_close(&m);
}

static void test_fill(void)
{
    mem_target m;
    uint8_t *a = area(NPG);
    /* slots are picked by a hash of the page: room enough that two of
     * these pages seldom share one (a shared slot costs a read on demand) */
    CHECK(a && mem_open(&m, 0) == 0 && mem_cache_enable(&m, 16384) == 0);
    mem_cache_on_demand(&m);
    uint8_t b[128];
    /* page 7 is read (cached) before the fill: not copied again */
    CHECK(mem_read(&m, A(a + 7 * pg), 8, b) == 0 && b[0] == 8);
    /* objects of 96 bytes, scattered over pages 0..199 in a shuffled order,
     * three per page, and one across the boundary of pages 250 and 251 */
    uint64_t addr[601];
    size_t n = 0;
    for (int k = 0; k < 3; k++)
        for (int i = 0; i < 200; i++) addr[n++] = A(a + (size_t)((i * 37) % 200) * pg + (size_t)k * 1000);
    addr[n++] = A(a + 251 * pg - 40);
    uint64_t r0 = m.reads;
    CHECK(mem_cache_fill(&m, addr, n, 96) == 201);   /* 200 - page 7 + 2 */
    CHECK(m.reads - r0 <= 3);   /* 201 pages: two batches of 128 */
    CHECK(m.page_filled == 201);
    /* every read of them is now a hit: no system call */
    a[5 * pg + 1000] = 0xEE;   /* after the fill: not seen */
    for (size_t i = 0; i < n; i++) CHECK(mem_read(&m, addr[i], 96, b) == 0);
    CHECK(mem_read(&m, A(a + 5 * pg + 1000), 1, b) == 0 && b[0] == 6);
    CHECK(m.reads - r0 <= 3 + 10);   /* without the fill: 201 */
    /* filled again in the same pass: nothing to copy */
    CHECK(mem_cache_fill(&m, addr, n, 96) == 0);
    /* an unmapped page among them: left out, the others copied; its read fails */
    mem_cache_drop(&m);
    munmap(a + 100 * pg, pg);
    uint64_t two[3] = { A(a + 99 * pg), A(a + 100 * pg), A(a + 101 * pg) };
    CHECK(mem_cache_fill(&m, two, 3, 8) == 2);
    CHECK(mem_read(&m, two[0], 8, b) == 0 && b[0] == 100);
    CHECK(mem_read(&m, two[2], 8, b) == 0 && b[0] == 102);
    CHECK(mem_read(&m, two[1], 8, b) != 0);
    /* no cache: nothing to do, reads work as before */
    mem_target m2;
    CHECK(mem_open(&m2, 0) == 0);
    CHECK(mem_cache_fill(&m2, two, 1, 8) == 0 && mem_read(&m2, two[0], 8, b) == 0);
    mem_close(&m2);
    mem_close(&m);
    munmap(a, 100 * pg);
    munmap(a + 101 * pg, (NPG - 101) * pg);
}

/* mem_cache_seq orders the copies of a pass: a page read on demand after
 * another has a larger order; a fill's pages follow the order given; a page
 * not held (or the cache off) is 0; a new pass forgets them all. */
static void test_copy_order(void)
{
    mem_target m;
    uint8_t *a = area(8);
    uint8_t b[8];
    CHECK(a && mem_open(&m, 0) == 0 && mem_cache_enable(&m, 1024) == 0);
    mem_cache_on_demand(&m);
    CHECK(mem_cache_seq(&m, A(a)) == 0);
    CHECK(mem_read(&m, A(a + 3 * pg + 8), 8, b) == 0);
    uint64_t s3 = mem_cache_seq(&m, A(a + 3 * pg));
    CHECK(s3 != 0 && mem_cache_seq(&m, A(a + 3 * pg + pg - 1)) == s3);
    uint64_t two[2] = { A(a + 5 * pg), A(a + 1 * pg) };
    CHECK(mem_cache_fill(&m, two, 2, 8) == 2);
    uint64_t s5 = mem_cache_seq(&m, two[0]), s1 = mem_cache_seq(&m, two[1]);
    CHECK(s3 < s5 && s5 < s1);   /* in the order given, all after page 3 */
    CHECK(mem_read(&m, A(a), 8, b) == 0 && mem_cache_seq(&m, A(a)) > s1);
    CHECK(mem_cache_seq(&m, A(a + 7 * pg)) == 0);   /* not read */
    mem_cache_drop(&m);
    CHECK(mem_cache_seq(&m, A(a + 3 * pg)) == 0);
    mem_target m2;
    CHECK(mem_open(&m2, 0) == 0 && mem_read(&m2, A(a), 8, b) == 0 && mem_cache_seq(&m2, A(a)) == 0);
    mem_close(&m2);
    mem_close(&m);
    munmap(a, 8 * pg);
}

/* Walk mode: a no_fetch read of a page not held fails without a system
 * call and names the page; the pages read are listed; a refresh copies the
 * start, the listed pages and the missed one again in one call (their new
 * contents seen), and the walk after it reads no copy made before: a page
 * held from earlier is copied again when met.  After the walk, held copies
 * serve reads as before. */
static void test_walk_refresh(void)
{
    mem_target m;
    uint8_t *a = area(8);
    uint8_t b[8];
    CHECK(a && mem_open(&m, 0) == 0 && mem_cache_enable(&m, 1024) == 0);
    for (int i = 0; i < 5; i++) CHECK(mem_read(&m, A(a + (size_t)i * pg), 8, b) == 0);
    mem_walk_begin(&m, 1);
    uint64_t r0 = m.reads;
    CHECK(mem_read(&m, A(a + 1 * pg + 16), 8, b) == 0 && b[0] == 2);
    CHECK(mem_read(&m, A(a + 2 * pg + 16), 8, b) == 0 && b[0] == 3);
    CHECK(mem_read(&m, A(a + 6 * pg + 16), 8, b) != 0);   /* not held */
    CHECK(m.reads == r0 && m.walk_missed == A(a + 6 * pg) && m.nwalk == 2);
    CHECK(m.failures == 0);
    a[0] = 0x10, a[1 * pg] = 0x11, a[2 * pg] = 0x12, a[3 * pg] = 0x13, a[4 * pg] = 0x14, a[6 * pg] = 0x16;
    uint64_t start = A(a + 8);
    uint64_t seq4 = mem_cache_seq(&m, A(a + 4 * pg));
    CHECK(mem_walk_refresh(&m, &start, 1) == 4);   /* pages 0, 1, 2, 6 */
    CHECK(m.reads == r0 + 1 && m.nwalk == 0 && m.walk_missed == 0 && m.page_refreshed == 4);
    CHECK(m.walking && !m.no_fetch);
    CHECK(mem_read(&m, A(a), 1, b) == 0 && b[0] == 0x10);
    CHECK(mem_read(&m, A(a + 1 * pg), 1, b) == 0 && b[0] == 0x11);
    CHECK(mem_read(&m, A(a + 6 * pg), 1, b) == 0 && b[0] == 0x16);
    CHECK(m.reads == r0 + 1);
    /* held from before the refresh: copied again, now */
    CHECK(mem_read(&m, A(a + 3 * pg), 1, b) == 0 && b[0] == 0x13 && m.reads == r0 + 2);
    CHECK(mem_read(&m, A(a + 7 * pg), 1, b) == 0 && b[0] == 8 && m.reads == r0 + 3);
    mem_walk_end(&m);
    CHECK(m.nwalk == 0 && !m.walking);
    /* out of the walk, an older held copy serves as it did */
    CHECK(mem_read(&m, A(a + 4 * pg), 1, b) == 0 && b[0] == 5 && mem_cache_seq(&m, A(a + 4 * pg)) == seq4);
    CHECK(m.reads == r0 + 3);
    mem_close(&m);
    /* without a cache, no_fetch is off: every read is made */
    CHECK(mem_open(&m, 0) == 0);
    mem_walk_begin(&m, 1);
    CHECK(mem_read(&m, A(a + 5 * pg), 1, b) == 0 && b[0] == 6 && m.walk_missed == 0);
    CHECK(mem_walk_refresh(&m, &start, 1) == 0);
    mem_walk_end(&m);
    mem_close(&m);
    munmap(a, 8 * pg);
}

static void test_rider(void)
{
    mem_target m;
    uint8_t *a = area(8);
    CHECK(a && mem_open(&m, 0) == 0 && mem_cache_enable(&m, 64) == 0);
    static volatile uint32_t counter = 7;
    uint32_t got = 0;
    uint8_t b[8];
    mem_cache_next_pass(&m, NULL, 0, NULL);
    CHECK(!mem_rider_now(&m));
    mem_rider(&m, A((const void *)&counter), &got, sizeof got);
    CHECK(!mem_rider_now(&m));   /* no call made since */
    /* a page read on demand carries it */
    CHECK(mem_read(&m, A(a), 8, b) == 0 && b[0] == 1);
    CHECK(mem_rider_now(&m) && got == 7);
    /* a hit makes no call: still the latest */
    counter = 8;
    CHECK(mem_read(&m, A(a + 8), 8, b) == 0 && mem_rider_now(&m) && got == 7);
    /* a fresh read, a fill, a prefetch */
    mem_iov v = { A(a + pg), b, 8 };
    CHECK(mem_readv_fresh(&m, &v, 1) == 0 && b[0] == 2 && mem_rider_now(&m) && got == 8);
    counter = 9;
    uint64_t addr[2] = { A(a + 2 * pg), A(a + 3 * pg) };
    CHECK(mem_cache_fill(&m, addr, 2, 8) == 2 && mem_rider_now(&m) && got == 9);
    counter = 10;
    static uint32_t tailv = 55;
    uint32_t tgot = 0;
    int ok = 0;
    mem_iov tail = { A(&tailv), &tgot, 4 };
    CHECK(mem_cache_next_pass(&m, &tail, 1, &ok) > 0);
    CHECK(ok && tgot == 55);
    CHECK(mem_rider_now(&m) && got == 10);
    /* a read that fails: not read by the latest call */
    CHECK(mem_read(&m, 4096 * 3, 8, b) != 0 && !mem_rider_now(&m));
    uint8_t *hole = area(1);
    CHECK(hole && munmap(hole, pg) == 0);
    v.addr = A(hole);
    CHECK(mem_readv_fresh(&m, &v, 1) != 0 && !mem_rider_now(&m));
    /* an unreadable rider never fails the read it rides on */
    mem_rider(&m, A(hole), &got, sizeof got);
    v.addr = A(a + 4 * pg);
    CHECK(mem_readv_fresh(&m, &v, 1) == 0 && b[0] == 5 && !mem_rider_now(&m));
    CHECK(mem_read(&m, A(a + 5 * pg), 8, b) == 0 && b[0] == 6 && !mem_rider_now(&m));
    uint64_t one = A(a + 6 * pg);
    CHECK(mem_cache_fill(&m, &one, 1, 8) == 1 && mem_cache_seq(&m, one));
    /* off, and too large to ride */
    mem_rider(&m, A((const void *)&counter), &got, 0);
    CHECK(m.rider_size == 0);
    uint8_t big[65];
    mem_rider(&m, A(a), big, sizeof big);
    CHECK(m.rider_size == 0);
    mem_close(&m);
    munmap(a, 8 * pg);
}

int main(void)
{
    pg = (size_t)sysconf(_SC_PAGESIZE);
    RUN(test_steady_pass_costs_one_call);
    RUN(test_unmapped_page_is_skipped);
    RUN(test_many_pages_and_drop);
    RUN(test_growing_cache_keeps_the_record);
    RUN(test_tail);
    RUN(test_no_cache_no_prefetch);
    RUN(test_fill);
    RUN(test_fills_grow_the_cache);
    RUN(test_copy_order);
    RUN(test_walk_refresh);
    RUN(test_rider);
    return CHECK_DONE();
}
