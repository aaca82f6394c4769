/* fuzz_frames.c — thread lists, frame chains, code objects and builtin leaf
 * frames (src/engine/unwind.c, codecache.c, ccall.c, with linetable.c,
 * pyobj.c, opflow.c and profile.c under them) read from fuzz bytes through a
 * sandboxed mem_target (fuzz_sandbox.h), for both frame models: PyFrameObject
 * chains (3.8-3.10) and _PyInterpreterFrame chains (3.11+), with each
 * version's real layout and bytecode tables.
 *
 * Input (fuzz_common.h):
 *   byte 0   version (3.8 ... 3.13)
 *   byte 1   flags: 0x01 page cache, 0x02 the (code, instruction) memo,
 *            0x04 builtin leaf frames (ccall) with the version's opflow
 *            tables, 0x08 tiny profile caps, 0x10 a code cache of 2 entries
 *            (emptied and refilled), 0x20 read the kernel tid from "struct
 *            pthread" at 4 * byte 2, 0x40 change one image byte between
 *            the two passes (value byte 3 at offset byte 4 | byte 5 << 8),
 *            0x80 a code cache table of 4 slots (grown as it fills;
 *            removals inside clusters)
 *   byte 6   most threads read (1 + b % 64)
 *   byte 7   frames kept per stack (--max-depth: 1 + b % 64; the rest are
 *            one "<N frames omitted>" element)
 *   image    word 0: the PyInterpreterState; word 1: a frame walked on its
 *            own (unwind_raw); words 2-3: the loop's step codes (their
 *            frames get their first local read)
 *
 * A pass does what the sampler's tick does with them: the thread list, per
 * thread the current frame read again, the chain walked, the builtin the
 * leaf calls, every frame resolved through the code cache (name, file,
 * line table) into a profile location, the stack interned, "<N frames
 * omitted>" when cut.  Two passes (a new mem pass between them) so that
 * the second validates the code cache entries the first built, against
 * memory that may have changed (flag 0x40): rebuilds and removals.
 *
 * Checked: statuses are the documented ones, counts and ids in range.
 * Built with -DFUZZ_DEBUG it prints what each input gave (profile sizes,
 * code cache and builtin counters, the strings interned). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ccall.h"
#include "codecache.h"
#include "fuzz_sandbox.h"
#include "profile.h"
#include "unwind.h"

#define CHECK(x) do { if (!(x)) abort(); } while (0)
#define MAX_THREADS 64

static int status_ok(int64_t rc)
{
    return rc == UNWIND_EREAD || rc == UNWIND_ECYCLE || rc == UNWIND_EPROFILE ||
           rc == UNWIND_ESTALE || rc == UNWIND_ETORN || rc == UNWIND_EMISS;
}

/* Resolve and intern one walked stack, as the sampler's emit_thread does. */
static size_t max_depth;

static void emit(unwinder *u, ccall_cache *calls, raw_vec *raw, size_t start, int truncated)
{
    size_t n = raw->n - start;
    if (!n) return;
    uint32_t locs[64 + 2];
    size_t k = 0;
    uint64_t omitted = 0;
    uint32_t loc;
    int r = ccall_leaf(u, calls, &raw->f[start], &loc);
    CHECK(r == 0 || r == 1 || r < 0);
    if (r == 1) {
        CHECK(loc < u->prof->nloc);
        locs[k++] = loc;
    }
    for (size_t i = 0; i < n; i++) {
        int64_t l = unwind_frame_loc(u, &raw->f[start + i]);
        if (l < 0) {
            CHECK(status_ok(l));
            return;   /* the stack is dropped */
        }
        if (l == UNWIND_NO_LOC) continue;
        CHECK(l < u->prof->nloc);
        if (k < max_depth) locs[k++] = (uint32_t)l;
        else omitted++;
    }
    if (omitted || truncated) {
        if (unwind_omitted_location(u, omitted, truncated, &locs[k]) != UNWIND_OK) return;
        k++;
    }
    uint32_t stack;
    if (k && profile_intern_stack(u->prof, locs, k, &stack) == PROF_OK) CHECK(stack < u->prof->nstack);
}

static int walk(unwinder *u, ccall_cache *calls, raw_vec *raw, uint64_t frame)
{
    size_t start = raw->n;
    int truncated = -1;
    int got = unwind_raw(u, frame, raw, &truncated);
    CHECK(truncated == 0 || truncated == 1);
    if (got < 0) {
        CHECK(status_ok(got) && raw->n == start);
        return got;
    }
    CHECK((size_t)got == raw->n - start && got <= UNWIND_MAX_WALK);
    emit(u, calls, raw, start, truncated);
    return got;
}

static void pass(unwinder *u, ccall_cache *calls, raw_vec *raw, uint64_t interp, uint64_t lone,
                 int max_threads)
{
    unwind_thread th[MAX_THREADS];
    raw->n = 0;
    int n = unwind_threads(u, interp, th, max_threads);
    if (n < 0) CHECK(status_ok(n));
    CHECK(n <= max_threads);
    for (int i = 0; i < n; i++) {
        /* as the sampler does: a walk from the pass's copies only, then, if
         * it fails, one from a fresh copy of what it read */
        uint64_t frame = th[i].frame, now;
        mem_walk_begin(u->mem, 1);
        int got = frame ? walk(u, calls, raw, frame) : UNWIND_EREAD;
        if (got < 0) {
            uint64_t at[2];
            size_t nat = unwind_start_addrs(u, &th[i], at);
            CHECK(nat >= 1 && nat <= 2);
            mem_walk_refresh(u->mem, at, nat);
            CHECK(u->mem->nwalk == 0 && u->mem->walk_missed == 0 && !u->mem->no_fetch);
            if (unwind_current_frame(u, &th[i], &now) == 0) frame = now;
            if (frame) CHECK(walk(u, calls, raw, frame) != UNWIND_EMISS);
        }
        mem_walk_end(u->mem);
    }
    if (lone) walk(u, calls, raw, lone);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < FZ_HDR) return 0;
    int v = data[0] % FUZZ_NVERSIONS;
    int flags = data[1];
    mem_target *m = fz_begin(data, size, flags & 0x01);
    if (!m) return 0;
    size_t len = size - FZ_HDR;
    strobe_layout L = fz_layout(v);

    profile prof;
    profile_limits lim;
    memset(&lim, 0, sizeof lim);
    if (flags & 0x08)
        lim.max_strings = lim.max_functions = lim.max_locations = lim.max_stacks = 4;
    if (profile_init(&prof, &lim) != PROF_OK) abort();
    codecache cc;
    if (codecache_init(&cc, m, &L, &prof) != 0) abort();
    if (flags & 0x10) cc.max_entries = 2;
    if (flags & 0x80) {   /* a small table: grown as it fills */
        code_info *small = calloc(4, sizeof *small);
        if (!small) abort();
        free(cc.slots);
        cc.slots = small;
        cc.cap = 4;
    }
    ccall_cache calls;
    if (ccall_init(&calls, (flags & 0x04) ? fuzz_versions[v].opflow : NULL) != 0) abort();
    loc_memo *memo = (flags & 0x02) ? calloc(UNWIND_MEMO, sizeof *memo) : NULL;
    uint64_t steps[2] = { fz_root(len, 2), fz_root(len, 3) };

    unwinder u;
    memset(&u, 0, sizeof u);
    u.mem = m;
    u.L = &L;
    u.cc = &cc;
    u.memo = memo;
    u.prof = &prof;
    u.pthread_tid_off = (flags & 0x20) ? 4 * (int32_t)data[2] : -1;
    u.step_codes = steps;
    u.nstep_codes = 2;

    raw_vec raw = { NULL, 0, 0 };
    int max_threads = 1 + data[6] % MAX_THREADS;
    max_depth = 1 + data[7] % 64;
    uint64_t interp = fz_root(len, 0), lone = fz_root(len, 1);
    pass(&u, &calls, &raw, interp, lone, max_threads);
    if (flags & 0x40) fz_poke(len, (size_t)data[4] | (size_t)data[5] << 8, data[3]);
    mem_cache_drop(m);   /* a new pass: entries are validated again */
    pass(&u, &calls, &raw, interp, lone, max_threads);

    /* every cached entry answers line queries within its table */
    for (uint32_t i = 0; i < cc.cap; i++) {
        const code_info *ci = &cc.slots[i];
        if (!ci->code) continue;
        (void)codecache_line(&cc, ci, -1);
        (void)codecache_line(&cc, ci, 0);
        (void)codecache_line(&cc, ci, (int64_t)ci->linetable_len * 8);
        (void)codecache_line(&cc, ci, (int64_t)UINT32_MAX + 2);
    }
    CHECK(cc.used <= cc.cap);
#ifdef FUZZ_DEBUG
    fprintf(stderr, "frames %s: functions %u locations %u stacks %u; code cache builds %u "
            "invalidations %llu failures %llu; builtins found %llu not-c %llu torn %llu "
            "unanalysable %llu; frames read %llu errors %llu\n",
            fuzz_versions[v].version, prof.nfn, prof.nloc, prof.nstack, cc.builds,
            (unsigned long long)cc.invalidations, (unsigned long long)cc.failures,
            (unsigned long long)calls.found, (unsigned long long)calls.not_c,
            (unsigned long long)calls.torn, (unsigned long long)calls.unanalysable,
            (unsigned long long)u.frames_read, (unsigned long long)u.errors);
    for (uint32_t i = 1; i < prof.nstr; i++) fprintf(stderr, "  str %u: %s\n", i, prof.str[i]);
#endif

    raw_vec_free(&raw);
    free(memo);
    ccall_free(&calls);
    codecache_free(&cc);
    profile_free(&prof);
    return 0;
}
