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

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define FRAME_BUF 256
#define TSTATE_BUF 4096

typedef struct {
    uint64_t tortoise;
    uint64_t power, lam;
} brent;

/* 1 when `p` closes a loop of the chain seen so far. */
static int brent_step(brent *b, uint64_t p)
{
    if (p == b->tortoise) return 1;
    if (++b->lam == b->power) {
        b->tortoise = p;
        b->power <<= 1;
        b->lam = 0;
    }
    return 0;
}

int unwind_threads(unwinder *u, uint64_t interp, unwind_thread *out, int max)
{
    const strobe_layout *L = u->L;
    uint64_t ts;
    uint8_t buf[TSTATE_BUF];
    if (L->ts_size > TSTATE_BUF) return UNWIND_EREAD;
    if (mem_read(u->mem, interp + (uint64_t)L->interp_tstate_head, 8, &ts) != 0) return UNWIND_EREAD;
    brent b = { 0, 1, 0 };
    int n = 0;
    while (ts && n < max && n < UNWIND_MAX_THREADS) {
        if (brent_step(&b, ts)) return UNWIND_ECYCLE;
        if (mem_read(u->mem, ts, (size_t)L->ts_size, buf) != 0) return UNWIND_EREAD;
        unwind_thread *t = &out[n];
        t->tstate = ts;
        t->thread_id = mem_u64(buf, L->ts_thread_id);
        t->native_id = -1;
        if (L->ts_native_thread_id >= 0) {
            t->native_id = (int64_t)mem_u64(buf, L->ts_native_thread_id);
        } else if (u->pthread_tid_off >= 0 && t->thread_id) {
            int32_t tid;
            if (mem_read(u->mem, t->thread_id + (uint64_t)u->pthread_tid_off, 4, &tid) == 0 && tid > 0)
                t->native_id = tid;
        }
        if (L->ts_frame >= 0) {
            t->frame = mem_u64(buf, L->ts_frame);
        } else {
            uint64_t cframe = mem_u64(buf, L->ts_cframe);
            t->frame = 0;
            if (cframe && mem_read(u->mem, cframe + (uint64_t)L->cframe_current_frame, 8, &t->frame) != 0)
                return UNWIND_EREAD;
        }
        n++;
        ts = mem_u64(buf, L->ts_next);
    }
    return n;
}

static int omitted_location(unwinder *u, uint64_t omitted, int truncated, uint32_t *loc)
{
    char name[64];
    uint32_t sid, fid;
    int len = snprintf(name, sizeof name, "<%llu%s frames omitted>",
                       (unsigned long long)omitted, truncated ? "+" : "");
    if (profile_intern_string(u->prof, name, (size_t)len, &sid) != PROF_OK ||
        profile_intern_function(u->prof, sid, 0, 0, &fid) != PROF_OK ||
        profile_intern_location(u->prof, fid, 0, loc) != PROF_OK)
        return UNWIND_EPROFILE;
    return UNWIND_OK;
}

int unwind_stack(unwinder *u, uint64_t frame, uint32_t *out, int max_depth)
{
    const strobe_layout *L = u->L;
    const int iframe = L->frame_model == FRAME_MODEL_IFRAME;
    const size_t fsize = (size_t)(iframe ? L->if_size : L->f_size);
    uint8_t buf[FRAME_BUF];
    brent b = { 0, 1, 0 };
    uint64_t walked = 0, omitted = 0;
    int n = 0;

    if (fsize > FRAME_BUF) return UNWIND_EREAD;
    for (; frame && walked < UNWIND_MAX_WALK; walked++) {
        if (brent_step(&b, frame)) { u->errors++; return UNWIND_ECYCLE; }
        if (mem_read(u->mem, frame, fsize, buf) != 0) { u->errors++; return UNWIND_EREAD; }
        u->frames_read++;
        uint64_t code, next;
        int64_t addr;
        int owner = -1;
        if (iframe) {
            next = mem_u64(buf, L->if_previous);
            owner = (signed char)buf[L->if_owner];
            code = mem_u64(buf, L->if_code);
            addr = -1;   /* computed from the code address below */
            if (owner == L->owner_cstack) { frame = next; continue; }
        } else {
            /* A frame that died under us (freed, or parked as a code's
             * zombie frame with no references) is stale: abandon the stack
             * rather than follow its fields. */
            if (mem_u64(buf, L->ob_type) != L->frame_type || !mem_refcnt_live(buf, L->ob_refcnt)) {
                u->errors++;
                return UNWIND_ESTALE;
            }
            next = mem_u64(buf, L->f_back);
            code = mem_u64(buf, L->f_code);
            int32_t lasti = mem_i32(buf, L->f_lasti);
            addr = lasti < 0 ? -1 : (L->lasti_is_units ? 2 * (int64_t)lasti : lasti);
        }
        if (n >= max_depth) {
            omitted++;
            frame = next;
            continue;
        }
        const code_info *ci = codecache_lookup(u->cc, code);
        if (!ci) { u->errors++; return UNWIND_EREAD; }
        if (iframe) {
            uint64_t instr = mem_u64(buf, L->if_instr);
            uint64_t first = code + (uint64_t)L->co_code_adaptive;
            addr = (int64_t)(instr - first);
            if (owner != L->owner_generator && addr < 2 * (int64_t)ci->firsttraceable) {
                frame = next;   /* incomplete: still being set up */
                continue;
            }
        }
        int line = addr < 0 ? ci->firstlineno : codecache_line(u->cc, ci, addr);
        if (profile_intern_location(u->prof, ci->function, line, &out[n]) != PROF_OK)
            return UNWIND_EPROFILE;
        n++;
        frame = next;
    }
    if (omitted || frame) {
        int rc = omitted_location(u, omitted, frame != 0, &out[n]);
        if (rc) return rc;
        n++;
    }
    return n;
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
