/* fuzz_sandbox.h — the memory a memory fuzz target's decoders read: the
 * image of one input at FZ_BASE (fuzz_common.h), behind mem_restrict().
 *
 * fz_begin() maps FZ_MAP bytes at FZ_BASE once, copies the image there
 * (zeroing what a longer previous image left), and returns a mem_target
 * restricted to [FZ_BASE, FZ_BASE + image length): with the page cache on
 * (a new pass per input) or off.  Every read the decoders make goes through
 * mem, so a pointer outside the image fails like an unmapped address; ASan
 * watches the engine's own buffers.  An empty image is refused: an empty
 * window would turn the restriction off. */
#ifndef STROBE_FUZZ_SANDBOX_H
#define STROBE_FUZZ_SANDBOX_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "fuzz_common.h"
#include "mem.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

static mem_target fz_plain, fz_cached;
static size_t fz_prev_len;

static inline void fz_die(const char *what)
{
    fprintf(stderr, "fuzz: %s\n", what);
    abort();
}

static inline void fz_setup(void)
{
    static int done;
    if (done) return;
    void *p = mmap((void *)(uintptr_t)FZ_BASE, FZ_MAP, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (p != (void *)(uintptr_t)FZ_BASE) fz_die("cannot map the sandbox at FZ_BASE");
    if (mem_open(&fz_plain, 0) != 0 || mem_open(&fz_cached, 0) != 0) fz_die("mem_open");
    if (mem_cache_enable(&fz_cached, 64) != 0) fz_die("mem_cache_enable");
    done = 1;
}

/* The mem_target for this input, or NULL when the input has no image. */
static inline mem_target *fz_begin(const uint8_t *data, size_t size, int cached)
{
    fz_setup();
    if (size <= FZ_HDR) return NULL;
    size_t len = size - FZ_HDR;
    if (len > FZ_MAX_IMAGE) len = FZ_MAX_IMAGE;
    uint8_t *base = (uint8_t *)(uintptr_t)FZ_BASE;
    memcpy(base, data + FZ_HDR, len);
    if (fz_prev_len > len) memset(base + len, 0, fz_prev_len - len);
    fz_prev_len = len;
    mem_target *m = cached ? &fz_cached : &fz_plain;
    mem_restrict(m, FZ_BASE, FZ_BASE + len);
    if (cached) mem_cache_drop(m);
    return m;
}

/* Write into the image between two passes (the memory changing under the
 * sampler); only inside the window. */
static inline void fz_poke(size_t len, size_t off, uint8_t v)
{
    if (off < len) ((uint8_t *)(uintptr_t)FZ_BASE)[off] = v;
}

static inline uint64_t fz_root(size_t len, int i)
{
    uint64_t v = 0;
    if ((size_t)(i + 1) * 8 <= len) memcpy(&v, (const uint8_t *)(uintptr_t)FZ_BASE + 8 * i, 8);
    return v;
}

#endif
