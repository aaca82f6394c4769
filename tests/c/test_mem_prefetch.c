/* test_mem_prefetch.c — mem_cache_next_pass(): a pass starts with the pages
 * the previous pass read from copied again in one batch; reads of them then
 * cost no system call and see the memory as it was at the pass start; a
 * page the previous pass did not read is not prefetched; a page that was
 * unmapped in between is left out without losing the pages after it in the
 * same batch; more pages than one batch holds are all prefetched; a mid-pass
 * mem_cache_drop does not lose the record of what the pass used. */
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
    mem_cache_next_pass(&m);
    for (int i = 0; i < 5; i++) CHECK(mem_read(&m, A(a + (size_t)i * pg + 100), 16, b) == 0 && b[0] == i + 1);
    CHECK(m.nused == 5);
    /* pass 2: one call copies them again, the reads are all hits */
    uint64_t r0 = m.reads, h0 = m.page_hits;
    CHECK(mem_cache_next_pass(&m) == 5);
    CHECK(m.reads == r0 + 1);
    for (int i = 0; i < 5; i++) CHECK(mem_read(&m, A(a + (size_t)i * pg + 8), 16, b) == 0 && b[0] == i + 1);
    CHECK(m.reads == r0 + 1 && m.page_hits == h0 + 5);
    /* the snapshot is the pass start's: a write after it is not seen */
    a[3 * pg + 8] = 0xEE;
    CHECK(mem_read(&m, A(a + 3 * pg + 8), 1, b) == 0 && b[0] == 4);
    /* pass 3 reads only two of them: pass 4 prefetches only those two */
    mem_cache_next_pass(&m);
    CHECK(mem_read(&m, A(a + 3 * pg + 8), 1, b) == 0 && b[0] == 0xEE);
    CHECK(mem_read(&m, A(a + 1 * pg), 1, b) == 0);
    CHECK(mem_cache_next_pass(&m) == 2);
    mem_close(&m);
    munmap(a, 8 * pg);
}

static void test_unmapped_page_is_skipped(void)
{
    mem_target m;
    uint8_t *a = area(6);
    CHECK(a && mem_open(&m, 0) == 0 && mem_cache_enable(&m, 64) == 0);
    uint8_t b[8];
    mem_cache_next_pass(&m);
    for (int i = 0; i < 6; i++) CHECK(mem_read(&m, A(a + (size_t)i * pg), 8, b) == 0);
    munmap(a + 2 * pg, pg);   /* the third page goes away between passes */
    uint64_t f0 = m.failures;
    CHECK(mem_cache_next_pass(&m) == 5);
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
    mem_cache_next_pass(&m);
    for (int i = 0; i < NPG / 2; i++) CHECK(mem_read(&m, A(a + (size_t)i * pg), 8, b) == 0);
    mem_cache_drop(&m);   /* a retry in the middle of the pass */
    for (int i = 0; i < NPG; i++) CHECK(mem_read(&m, A(a + (size_t)i * pg), 8, b) == 0);
    CHECK(m.nused == NPG);   /* each page once, drop or not */
    uint64_t r0 = m.reads;
    CHECK(mem_cache_next_pass(&m) == NPG);
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
    mem_cache_next_pass(&m);
    for (int i = 0; i < 40; i++) CHECK(mem_read(&m, A(a + (size_t)i * pg), 8, b) == 0);
    CHECK(m.nused == 16);   /* the record holds as many pages as the cache */
    CHECK(mem_cache_fit(&m, 256) == 0 && m.npages >= 32);
    CHECK(mem_cache_next_pass(&m) == 16);
    mem_close(&m);
    munmap(a, 40 * pg);
}

static void test_no_cache_no_prefetch(void)
{
    mem_target m;
    CHECK(mem_open(&m, 0) == 0);
    CHECK(mem_cache_next_pass(&m) == 0);
    mem_close(&m);
}

int main(void)
{
    pg = (size_t)sysconf(_SC_PAGESIZE);
    RUN(test_steady_pass_costs_one_call);
    RUN(test_unmapped_page_is_skipped);
    RUN(test_many_pages_and_drop);
    RUN(test_growing_cache_keeps_the_record);
    RUN(test_no_cache_no_prefetch);
    return CHECK_DONE();
}
