/* test_pyobj.c — str and bytes objects read through mem, on hand-made
 * objects laid out by a fake layout (the module's real layout is checked
 * against live objects at import). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check.h"
#include "layout.h"
#include "mem.h"
#include "pyobj.h"

/* A layout like CPython 3.12's for str/bytes. */
static strobe_layout fake(void)
{
    strobe_layout L;
    memset(&L, 0, sizeof L);
    L.u_length = 16;
    L.u_hash = 24;
    L.u_state = 32;
    L.u_ascii_data = 40;
    L.u_compact_data = 56;
    L.u_kind_shift = 2;
    L.u_compact_shift = 5;
    L.u_ascii_shift = 6;
    L.bytes_size = 16;
    L.bytes_data = 32;
    return L;
}

static void *make_str(const strobe_layout *L, const void *chars, int64_t n, int kind, int ascii)
{
    size_t data = (size_t)(ascii ? L->u_ascii_data : L->u_compact_data);
    uint8_t *o = calloc(1, data + (size_t)n * (size_t)kind + 4);
    memcpy(o + L->u_length, &n, 8);
    uint32_t state = (uint32_t)kind << L->u_kind_shift | 1u << L->u_compact_shift |
                     (uint32_t)ascii << L->u_ascii_shift;
    memcpy(o + L->u_state, &state, 4);
    memcpy(o + data, chars, (size_t)n * (size_t)kind);
    return o;
}

static void test_utf8_encode(void)
{
    char b[4];
    CHECK(pyobj_utf8_encode('A', b) == 1 && b[0] == 'A');
    CHECK(pyobj_utf8_encode(0xE9, b) == 2 && !memcmp(b, "\xc3\xa9", 2));
    CHECK(pyobj_utf8_encode(0x95A2, b) == 3 && !memcmp(b, "\xe9\x96\xa2", 3));
    CHECK(pyobj_utf8_encode(0x20000, b) == 4 && !memcmp(b, "\xf0\xa0\x80\x80", 4));
    CHECK(pyobj_utf8_encode(0xD800, b) == 3 && !memcmp(b, "\xef\xbf\xbd", 3));   /* U+FFFD */
    CHECK(pyobj_utf8_encode(0x110000, b) == 3);
}

static void test_kinds(void)
{
    strobe_layout L = fake();
    mem_target m;
    CHECK(mem_open(&m, 0) == 0);
    char out[64];

    void *a = make_str(&L, "hello", 5, 1, 1);
    CHECK(pyobj_read_str(&m, &L, (uint64_t)(uintptr_t)a, out, sizeof out) == 5 && !strcmp(out, "hello"));
    const uint8_t latin[] = { 'c', 'a', 'f', 0xE9 };
    void *b = make_str(&L, latin, 4, 1, 0);
    CHECK(pyobj_read_str(&m, &L, (uint64_t)(uintptr_t)b, out, sizeof out) == 5 && !strcmp(out, "caf\xc3\xa9"));
    const uint16_t ucs2[] = { 0x95A2, 0x6570 };
    void *c = make_str(&L, ucs2, 2, 2, 0);
    CHECK(pyobj_read_str(&m, &L, (uint64_t)(uintptr_t)c, out, sizeof out) == 6 &&
          !strcmp(out, "\xe9\x96\xa2\xe6\x95\xb0"));
    const uint32_t ucs4[] = { 0x20000, 'x', 0 };
    void *d = make_str(&L, ucs4, 3, 4, 0);
    CHECK(pyobj_read_str(&m, &L, (uint64_t)(uintptr_t)d, out, sizeof out) == 8 &&
          !memcmp(out, "\xf0\xa0\x80\x80x\xef\xbf\xbd", 8));   /* NUL -> U+FFFD, never a NUL byte */
    /* Cut at a character boundary when the buffer is small. */
    CHECK(pyobj_read_str(&m, &L, (uint64_t)(uintptr_t)d, out, 5) == 4 && strlen(out) == 4);
    free(a); free(b); free(c); free(d);
    mem_close(&m);
}

static void test_garbage(void)
{
    strobe_layout L = fake();
    mem_target m;
    CHECK(mem_open(&m, 0) == 0);
    char out[64];
    uint8_t junk[128];
    memset(junk, 0xAB, sizeof junk);   /* kind 2 bits garbage, negative length */
    CHECK(pyobj_read_str(&m, &L, (uint64_t)(uintptr_t)junk, out, sizeof out) == -1);
    CHECK(pyobj_read_str(&m, &L, 0, out, sizeof out) == -1);
    CHECK(pyobj_read_str(&m, &L, 8, out, sizeof out) == -1);              /* unmapped */
    CHECK(pyobj_read_str(&m, &L, (uint64_t)1 << 46, out, sizeof out) == -1);
    uint8_t *bytes = NULL;
    size_t n = 0;
    int64_t huge = (int64_t)1 << 40;
    memcpy(junk + L.bytes_size, &huge, 8);
    CHECK(pyobj_read_bytes(&m, &L, (uint64_t)(uintptr_t)junk, &bytes, &n) == -1);
    int64_t three = 3;
    memcpy(junk + L.bytes_size, &three, 8);
    memcpy(junk + L.bytes_data, "xyz", 3);
    CHECK(pyobj_read_bytes(&m, &L, (uint64_t)(uintptr_t)junk, &bytes, &n) == 0 && n == 3 &&
          !memcmp(bytes, "xyz", 3));
    free(bytes);
    mem_close(&m);
}

static void test_mem_reads(void)
{
    mem_target m;
    CHECK(mem_open(&m, 0) == 0);
    uint64_t src[4] = { 1, 2, 3, 4 }, dst[4] = { 0 };
    mem_iov v[2] = { { (uint64_t)(uintptr_t)&src[0], &dst[0], 16 },
                     { (uint64_t)(uintptr_t)&src[2], &dst[2], 16 } };
    CHECK(mem_readv(&m, v, 2) == 0 && !memcmp(src, dst, sizeof src));
    v[1].addr = 16;   /* one bad range fails the whole batch */
    CHECK(mem_readv(&m, v, 2) == -1);
    CHECK(m.failures >= 1);
    mem_close(&m);
}

/* The page cache: a pass sees each page as it was at its first read, a
 * drop makes the next read see memory as it is, fresh reads bypass it, reads
 * across a page boundary and large reads come out whole, an unmapped page
 * fails (and keeps failing within the pass without faulting). */
static void test_mem_cache(void)
{
    mem_target m;
    CHECK(mem_open(&m, 0) == 0);
    CHECK(mem_cache_enable(&m, 3) == 0 && m.npages == 4);
    size_t psz = (size_t)sysconf(_SC_PAGESIZE);
    uint8_t *area = mmap(NULL, 8 * psz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(area != MAP_FAILED);
    if (area == MAP_FAILED) return;
    for (size_t i = 0; i < 8 * psz; i++) area[i] = (uint8_t)(i * 7);
    uint64_t a = (uint64_t)(uintptr_t)area;
    uint8_t got[64];
    CHECK(mem_read(&m, a + 100, 8, got) == 0 && !memcmp(got, area + 100, 8));
    area[104] = 0xEE;
    CHECK(mem_read(&m, a + 100, 8, got) == 0 && got[4] == (uint8_t)(104 * 7));   /* snapshot */
    mem_iov v = { a + 100, got, 8 };
    CHECK(mem_readv_fresh(&m, &v, 1) == 0 && got[4] == 0xEE);
    mem_cache_drop(&m);
    CHECK(mem_read(&m, a + 100, 8, got) == 0 && got[4] == 0xEE);
    CHECK(m.page_hits >= 1 && m.page_misses >= 2);
    /* across a page boundary */
    CHECK(mem_read(&m, a + psz - 10, 20, got) == 0 && !memcmp(got, area + psz - 10, 20));
    /* large reads bypass the cache and come out whole */
    uint8_t *big = malloc(5 * psz);
    CHECK(mem_read(&m, a + 3, 5 * psz, big) == 0 && !memcmp(big, area + 3, 5 * psz));
    free(big);
    /* an unmapped page fails, twice, with no fault */
    munmap(area + 6 * psz, psz);
    CHECK(mem_read(&m, a + 6 * psz + 8, 8, got) == -1);
    CHECK(mem_read(&m, a + 6 * psz + 16, 8, got) == -1);
    CHECK(mem_read(&m, a + 6 * psz - 4, 8, got) == -1);   /* straddles into it */
    munmap(area, 6 * psz);
    munmap(area + 7 * psz, psz);
    mem_close(&m);
    CHECK(m.pages == NULL);
}

int main(void)
{
    RUN(test_utf8_encode);
    RUN(test_kinds);
    RUN(test_garbage);
    RUN(test_mem_reads);
    RUN(test_mem_cache);
    return CHECK_DONE();
}
