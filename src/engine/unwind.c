/* unwind.c — see unwind.h.
 *
 * Frame models:
 *  - PYFRAME (3.8–3.10): tstate->frame is the innermost PyFrameObject; f_back
 *    links outwards; f_lasti is the last instruction's byte offset (3.8/3.9)
 *    or code-unit index (3.10, so the byte offset is twice it; -1 = not
 *    started yet).
 *  - IFRAME (3.11+): the innermost _PyInterpreterFrame hangs off the thread
 *    (tstate->cframe->current_frame on 3.11/3.12, tstate->current_frame on
 *    3.13); `previous` links outwards.  Frames owned by the C stack (3.12+
 *    entry shims) are not Python code and are skipped; a frame whose
 *    instruction pointer is still before _co_firsttraceable is "incomplete"
 *    (being set up) and is skipped, as CPython itself does.  The byte offset
 *    of the instruction is instr - (code + co_code_adaptive).
 *
 * Chains are cycle-checked with Brent's algorithm: O(1) memory, and a loop
 * is found within twice its length plus its distance from the start.
 */
#include "unwind.h"

#include "cycle.h"
#include "hash.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define FRAME_BUF 256
#define TSTATE_BUF 4096


int unwind_current_frame(unwinder *u, unwind_thread *t, uint64_t *frame)
{
    const strobe_layout *L = u->L;
    if (L->ts_frame >= 0) return mem_read(u->mem, t->tstate + (uint64_t)L->ts_frame, 8, frame);
    uint64_t cframe;
    if (mem_read(u->mem, t->tstate + (uint64_t)L->ts_cframe, 8, &cframe) != 0 || !cframe) return -1;
    t->cframe = cframe;
    return mem_read(u->mem, cframe + (uint64_t)L->cframe_current_frame, 8, frame);
}

size_t unwind_start_addrs(const unwinder *u, const unwind_thread *t, uint64_t out[2])
{
    const strobe_layout *L = u->L;
    if (L->ts_frame >= 0) {
        out[0] = t->tstate + (uint64_t)L->ts_frame;
        return 1;
    }
    out[0] = t->tstate + (uint64_t)L->ts_cframe;
    if (!t->cframe) return 1;
    out[1] = t->cframe + (uint64_t)L->cframe_current_frame;
    return 2;
}

int unwind_threads(unwinder *u, uint64_t interp, unwind_thread *out, int max)
{
    const strobe_layout *L = u->L;
    uint64_t ts;
    uint8_t buf[TSTATE_BUF];
    if (L->ts_size > TSTATE_BUF) return UNWIND_EREAD;
    if (mem_read(u->mem, interp + (uint64_t)L->interp_tstate_head, 8, &ts) != 0) return UNWIND_EREAD;
    brent b = BRENT_INIT;
    int n = 0;
    while (ts && n < max && n < UNWIND_MAX_THREADS) {
        if (brent_step(&b, ts)) return UNWIND_ECYCLE;
        if (mem_read(u->mem, ts, (size_t)L->ts_size, buf) != 0) return UNWIND_EREAD;
        unwind_thread *t = &out[n];
        t->tstate = ts;
        t->thread_id = mem_u64(buf, L->ts_thread_id);
        t->native_id = -1;
        t->exited = 0;
        if (L->ts_native_thread_id >= 0) {
            t->native_id = (int64_t)mem_u64(buf, L->ts_native_thread_id);
        } else if (u->pthread_tid_off >= 0 && t->thread_id) {
            int32_t tid;
            if (mem_read(u->mem, t->thread_id + (uint64_t)u->pthread_tid_off, 4, &tid) == 0) {
                if (tid > 0) t->native_id = tid;
                else if (tid == 0) t->exited = 1;   /* cleared by the kernel at its exit */
            }
        }
        t->cframe = 0;
        if (L->ts_frame >= 0) {
            t->frame = mem_u64(buf, L->ts_frame);
        } else {
            uint64_t cframe = mem_u64(buf, L->ts_cframe);
            t->cframe = cframe;
            t->frame = 0;
            if (cframe && mem_read(u->mem, cframe + (uint64_t)L->cframe_current_frame, 8, &t->frame) != 0)
                return UNWIND_EREAD;
        }
        n++;
        ts = mem_u64(buf, L->ts_next);
    }
    return n;
}

int raw_vec_push(raw_vec *v, const raw_frame *f)
{
    if (v->n == v->cap) {
        size_t ncap = v->cap ? v->cap * 2 : 256;
        raw_frame *a = realloc(v->f, ncap * sizeof *a);
        if (!a) return -1;
        v->f = a;
        v->cap = ncap;
    }
    v->f[v->n++] = *f;
    return 0;
}

void raw_vec_free(raw_vec *v)
{
    free(v->f);
    v->f = NULL;
    v->n = v->cap = 0;
}

int unwind_omitted_location(unwinder *u, uint64_t omitted, int truncated, uint32_t *loc)
{
    char name[64];
    int len = snprintf(name, sizeof name, "<%llu%s frames omitted>",
                       (unsigned long long)omitted, truncated ? "+" : "");
    if (profile_intern_synthetic(u->prof, name, (size_t)len, loc) != PROF_OK) return UNWIND_EPROFILE;
    return UNWIND_OK;
}

static int is_step_code(const unwinder *u, uint64_t code)
{
    for (int i = 0; i < u->nstep_codes; i++)
        if (u->step_codes[i] == code) return 1;
    return 0;
}

/* The code cache's entry for frame f's code: with no read when it is known
 * valid this pass, else by its lookup (which the frame's location needs
 * anyway), made outside the walk (the code object is no part of the
 * thread's stack).  NULL when the code cannot be read. */
static const code_info *caller_code(unwinder *u, const raw_frame *f)
{
    const code_info *ci = codecache_peek(u->cc, f->code);
    if (!ci) {
        int w = mem_walk_pause(u->mem);
        ci = codecache_lookup(u->cc, f->code);
        mem_walk_resume(u->mem, w);
    }
    return ci;
}

/* 3.11+: is a walk's frames f[0..n) (leaf first) one instant's?  Pages of
 * the thread's frame memory copied at two instants (before and after the
 * thread returned from a call and made another where it was) show frames
 * that never were together.  Two rules catch what the links alone do not:
 *
 *  - a frame pushed on the thread's data stack starts right where its
 *    caller's ends (the caller's address + its code's frame size: locals,
 *    value stack and the frame's own fields), unless it starts a new chunk
 *    (at the chunk's data, just past the chunk's three-word header, at a
 *    page start: chunks are whole pages, the first one's first word
 *    skipped) or lies far from it (another chunk);
 *  - a frame that has a callee has started: one whose instruction is still
 *    before its code's first (3.11 and 3.12 set it so when they push a
 *    frame; unwind_location leaves such a frame out of a stack) is a copy
 *    from before it ran.  (Not "before the first traceable instruction":
 *    3.13's frame that finishes an __init__ call sits there while it
 *    calls.)
 *
 * Only frames owned by the thread are checked (a generator's frame lives in
 * the generator).  0, or -1 when torn. */
#define DATASTACK_NEAR (64 * 1024)

/* Is `frame` a chunk's first (at its data, past the header: previous chunk,
 * size, top)?  Its page's header must hold a chunk's size (whole pages).  The
 * page is the one the frame was read from: no read. */
static int chunk_start(unwinder *u, uint64_t frame)
{
    uint64_t in_page = frame & 4095, size;
    if (in_page != 24 && in_page != 32) return 0;
    if (mem_read(u->mem, frame - in_page + 8, 8, &size) != 0) return 1;   /* (not known: not checked) */
    return size >= 4096 && size % 4096 == 0 && size < ((uint64_t)1 << 30);
}

static int walk_consistent(unwinder *u, const raw_frame *f, size_t n)
{
    for (size_t k = 0; k + 1 < n; k++) {
        const raw_frame *caller = &f[k + 1];
        if (!caller->check_incomplete) continue;
        if (caller->addr < 0) return -1;
        const code_info *ci = caller_code(u, caller);
        if (!ci) continue;
        if (f[k].gen || ci->framesize <= 0) continue;
        uint64_t callee = f[k].frame;
        if (callee <= caller->frame || callee - caller->frame > DATASTACK_NEAR) continue;
        if (callee == caller->frame + 8 * (uint64_t)ci->framesize || chunk_start(u, callee)) continue;
        return -1;
    }
    return 0;
}

int unwind_raw(unwinder *u, uint64_t frame, raw_vec *v, int *truncated)
{
    const strobe_layout *L = u->L;
    const int iframe = L->frame_model == FRAME_MODEL_IFRAME;
    const size_t fsize = (size_t)(iframe ? L->if_size : L->f_size);
    uint8_t buf[FRAME_BUF];
    brent b = BRENT_INIT;
    size_t start = v->n;
    uint64_t walked = 0;

    *truncated = 0;
    if (fsize > FRAME_BUF) return UNWIND_EREAD;
    for (; frame && walked < UNWIND_MAX_WALK; walked++) {
        int rc = UNWIND_OK;
        if (brent_step(&b, frame)) rc = UNWIND_ECYCLE;
        else if (mem_read(u->mem, frame, fsize, buf) != 0) rc = UNWIND_EREAD;
        if (rc) {
            v->n = start;
            if (rc == UNWIND_EREAD && u->mem->walk_missed) return UNWIND_EMISS;
            u->errors++;
            return rc;
        }
        u->frames_read++;
        raw_frame f;
        memset(&f, 0, sizeof f);
        uint64_t next;
        if (iframe) {
            next = mem_u64(buf, L->if_previous);
            int owner = (signed char)buf[L->if_owner];
            if (owner == L->owner_cstack) { frame = next; continue; }
            f.code = mem_u64(buf, L->if_code);
            f.addr = (int64_t)(mem_u64(buf, L->if_instr) - (f.code + (uint64_t)L->co_code_adaptive));
            if (owner == L->owner_generator) f.gen = frame - (uint64_t)L->gen_iframe;
            else f.check_incomplete = 1;
        } else {
            /* A frame that died under us (freed, or parked as a code's
             * zombie frame with no references) is stale: abandon the stack
             * rather than follow its fields. */
            if (mem_u64(buf, L->ob_type) != L->frame_type || !mem_refcnt_live(buf, L->ob_refcnt)) {
                u->errors++;
                v->n = start;
                return UNWIND_ESTALE;
            }
            next = mem_u64(buf, L->f_back);
            f.code = mem_u64(buf, L->f_code);
            f.gen = mem_u64(buf, L->f_gen);
            int32_t lasti = mem_i32(buf, L->f_lasti);
            f.addr = lasti < 0 ? -1 : (L->lasti_is_units ? 2 * (int64_t)lasti : lasti);
        }
        if (u->nstep_codes && is_step_code(u, f.code)) {
            int32_t off = iframe ? L->if_localsplus : L->f_localsplus;
            if (mem_read(u->mem, frame + (uint64_t)off, 8, &f.self) != 0) f.self = 0;
        }
        f.frame = frame;
        f.loc = UNWIND_UNRESOLVED;
        if (raw_vec_push(v, &f) != 0) {
            v->n = start;
            return UNWIND_EPROFILE;
        }
        frame = next;
    }
    if (u->mem->walk_missed) {   /* some read of the walk found a page not copied yet */
        v->n = start;
        return UNWIND_EMISS;
    }
    *truncated = frame != 0;
    if (iframe && v->n > start && walk_consistent(u, v->f + start, v->n - start) != 0) {
        u->errors++;
        u->mixed++;
        v->n = start;
        return UNWIND_ETORN;
    }
    /* A thread's outermost frame is never a generator's (something called
     * it): a chain that ends in one was cut by a coroutine suspending while
     * we read (its frame's link back is cleared on suspension).  Torn. */
    if (!*truncated && v->n > start && v->f[v->n - 1].gen) {
        u->errors++;
        v->n = start;
        return UNWIND_ETORN;
    }
    return (int)(v->n - start);
}

int64_t unwind_location(unwinder *u, const raw_frame *f)
{
    const code_info *ci = codecache_lookup(u->cc, f->code);
    if (!ci) {
        u->errors++;
        return UNWIND_EREAD;
    }
    int64_t addr = f->addr;
    if (f->check_incomplete && addr < 2 * (int64_t)ci->firsttraceable)
        return UNWIND_NO_LOC;   /* incomplete: still being set up */
    loc_memo *m = NULL;
    if (u->memo) {
        m = &u->memo[strobe_mix64(f->code ^ ((uint64_t)addr << 40)) & (UNWIND_MEMO - 1)];
        if (m->code == f->code && m->addr == addr && m->build_id == ci->build_id) return m->loc;
    }
    int line = addr < 0 ? ci->firstlineno : codecache_line(u->cc, ci, addr);
    uint32_t loc;
    if (profile_intern_location(u->prof, ci->function, line, &loc) != PROF_OK) return UNWIND_EPROFILE;
    if (m) {
        m->code = f->code;
        m->addr = addr;
        m->build_id = ci->build_id;
        m->loc = loc;
    }
    return loc;
}

int unwind_probe_tid_offsets(mem_target *m, int32_t *cand, int max)
{
    uint8_t buf[2048];
    int32_t tid = (int32_t)syscall(SYS_gettid);
    uint64_t self = (uint64_t)pthread_self();   /* glibc: address of struct pthread */
    int n = 0;
    if (mem_read(m, self, sizeof buf, buf) != 0) return 0;
    for (int off = 0; off + 4 <= (int)sizeof buf && n < max; off += 4)
        if (mem_i32(buf, off) == tid) cand[n++] = off;
    return n;
}
