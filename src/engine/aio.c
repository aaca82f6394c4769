/* aio.c — see aio.h.
 *
 * What a suspended coroutine awaits ("yield from" target), version by
 * version, as CPython's own _PyGen_yf decides it:
 *  - 3.8/3.9: the frame is suspended (f_stacktop set) and the instruction
 *    after f_lasti is YIELD_FROM: the target is the top of the value stack,
 *    f_stacktop[-1].
 *  - 3.10: the same test at code unit f_lasti + 1; the top of the stack is
 *    f_valuestack[f_stackdepth - 1].
 *  - 3.11/3.12: the code unit after prev_instr is RESUME (or, 3.12,
 *    INSTRUMENTED_RESUME) with an argument of 2 or more (resumed after a
 *    yield from / await): the target is localsplus[stacktop - 1].
 *  - 3.13: the generator's state is FRAME_SUSPENDED_YIELD_FROM.
 * The target is then a coroutine or generator (followed into its own
 * frame), an async generator's asend/athrow awaitable or a coroutine
 * wrapper (followed into the generator they drive), or the iterator of a
 * C Future's __await__ (the end: the future is what the task waits for).
 */
#include "aio.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cycle.h"
#include "pyobj.h"

#define GEN_BUF 512
#define TASK_BUF 512
#define MAX_REG_ENTRIES (1u << 22)

int aio_is_task_type(const strobe_aio *A, uint64_t type)
{
    for (int i = 0; i < A->ntask_types; i++)
        if (A->task_types[i] == type) return 1;
    return 0;
}

/* Read a set's table: returns the entry count (mask + 1) and a malloc'd copy. */
int aio_registry_head(mem_target *m, const strobe_layout *L, uint64_t set, aio_set_head *h)
{
    uint8_t hdr[128];
    int32_t need = L->set_table + 8;
    if (L->set_mask + 8 > need) need = L->set_mask + 8;
    if (L->set_used + 8 > need) need = L->set_used + 8;
    if (L->set_fill + 8 > need) need = L->set_fill + 8;
    if (need > (int32_t)sizeof hdr || mem_read(m, set, (size_t)need, hdr) != 0) return -1;
    int64_t mask = (int64_t)mem_u64(hdr, L->set_mask);
    uint64_t tab = mem_u64(hdr, L->set_table);
    if (mask < 0 || (uint64_t)mask + 1 > MAX_REG_ENTRIES || ((uint64_t)mask & ((uint64_t)mask + 1)) || !tab)
        return -1;
    h->size = mask + 1;
    h->table = tab;
    h->used = mem_u64(hdr, L->set_used);
    h->fill = L->set_fill > 0 ? mem_u64(hdr, L->set_fill) : 0;
    return 0;
}

int aio_registry_table(mem_target *m, const strobe_layout *L, const aio_set_head *h, uint8_t **buf, size_t *cap)
{
    size_t bytes = (size_t)h->size * (size_t)L->setentry_size;
    if (*cap < bytes) {
        uint8_t *n = realloc(*buf, bytes);
        if (!n) return -1;
        *buf = n;
        *cap = bytes;
    }
    return mem_read(m, h->table, bytes, *buf);
}

static int64_t read_set(mem_target *m, const strobe_layout *L, uint64_t set, uint8_t **buf, size_t *cap)
{
    aio_set_head h;
    if (aio_registry_head(m, L, set, &h) != 0 || aio_registry_table(m, L, &h, buf, cap) != 0) return -1;
    return h.size;
}

/* A subclass of a task type (a program's own Task class, made before the
 * hooks could report it)?  Learnt once, by following tp_base. */
static int learn_task_type(mem_target *m, const strobe_layout *L, strobe_aio *A, uint64_t type)
{
    uint64_t t = type;
    if (L->tp_base < 0 || A->ntask_types >= AIO_MAX_TASK_TYPES) return 0;
    for (int depth = 0; depth < 8 && t; depth++) {
        if (mem_read(m, t + (uint64_t)L->tp_base, 8, &t) != 0) return 0;
        if (aio_is_task_type(A, t)) {
            A->task_types[A->ntask_types++] = type;
            return 1;
        }
    }
    return 0;
}

static int read_task(mem_target *m, const strobe_layout *L, strobe_aio *A, uint64_t addr,
                     aio_task *t)
{
    uint8_t buf[TASK_BUF];
    if (A->task_size > TASK_BUF || mem_read(m, addr, (size_t)A->task_size, buf) != 0) return -1;
    if (!mem_refcnt_live(buf, L->ob_refcnt)) return -1;
    t->type = mem_u64(buf, L->ob_type);
    if (!aio_is_task_type(A, t->type) && !learn_task_type(m, L, A, t->type)) return -1;
    if (mem_i32(buf, A->fut_state) != A->fut_state_pending) return 1;   /* done */
    t->addr = addr;
    t->loop = mem_u64(buf, A->fut_loop);
    t->coro = mem_u64(buf, A->task_coro);
    t->seq = mem_cache_seq(m, addr + (uint64_t)A->task_coro);
    t->waiter = mem_u64(buf, A->task_fut_waiter);
    t->name = mem_u64(buf, A->task_name);
    return 0;
}

int aio_read_task(mem_target *m, const strobe_layout *L, strobe_aio *A, uint64_t addr, aio_task *t)
{
    return read_task(m, L, A, addr, t);
}

void aio_read_keys(mem_target *m, const strobe_layout *L, strobe_aio *A, int weak, const uint64_t *keys,
                   int nk, aio_task *out, uint8_t *status)
{
    uint64_t addr[AIO_KEY_BATCH];
    int idx[AIO_KEY_BATCH];
    int nt = 0;
    if (nk > AIO_KEY_BATCH) nk = AIO_KEY_BATCH;
    for (int i = 0; i < nk; i++) status[i] = AIO_KEY_NONE;
    if (weak) {
        if (L->wr_object + 8 > 64) return;
        mem_cache_fill(m, keys, (size_t)nk, (size_t)L->wr_object + 8);
        for (int i = 0; i < nk; i++) {
            uint8_t wr[64];
            if (mem_read(m, keys[i], (size_t)L->wr_object + 8, wr) != 0 ||
                mem_u64(wr, L->ob_type) != A->weakref_type)
                continue;   /* the set's dummy, or torn */
            uint64_t task = mem_u64(wr, L->wr_object);
            if (!task || task == L->none_addr) continue;   /* dead */
            idx[nt] = i;
            addr[nt++] = task;
        }
    } else {
        for (int i = 0; i < nk; i++) {
            idx[nt] = i;
            addr[nt++] = keys[i];
        }
    }
    if (nt) mem_cache_fill(m, addr, (size_t)nt, (size_t)A->task_size);
    for (int j = 0; j < nt; j++) {
        int rc = read_task(m, L, A, addr[j], &out[idx[j]]);
        status[idx[j]] = rc == 0 ? AIO_KEY_PENDING : rc == 1 ? AIO_KEY_DONE : AIO_KEY_NONE;
    }
}

int aio_read_tasks(mem_target *m, const strobe_layout *L, strobe_aio *A,
                   aio_task *out, int max, uint64_t *seen)
{
    int n = 0;
    uint64_t keys[AIO_KEY_BATCH];
    aio_task got[AIO_KEY_BATCH];
    uint8_t st[AIO_KEY_BATCH];
    uint8_t *table = NULL;
    size_t cap = 0;
    for (int weak = 1; weak >= 0; weak--) {
        int nreg = weak ? A->nreg_weak : A->nreg_strong;
        for (int r = 0; r < nreg; r++) {
            int64_t size = read_set(m, L, weak ? A->reg_weak[r] : A->reg_strong[r], &table, &cap);
            if (size < 0) {
                free(table);
                return -1;
            }
            int nk = 0;
            for (int64_t i = 0; i <= size; i++) {
                if (nk == AIO_KEY_BATCH || (i == size && nk)) {
                    aio_read_keys(m, L, A, weak, keys, nk, got, st);
                    for (int j = 0; j < nk && n < max; j++)
                        if (st[j] == AIO_KEY_PENDING) out[n++] = got[j];
                    nk = 0;
                }
                if (i == size) break;
                uint64_t key = mem_u64(table, (int32_t)(i * L->setentry_size));
                if (!key) continue;
                (*seen)++;
                if (n + nk >= max) continue;   /* only counted: the caller grows and asks again */
                keys[nk++] = key;
            }
        }
    }
    free(table);
    return n;
}

static int gen_type_ok(const strobe_layout *L, uint64_t type)
{
    return type == L->coro_type || type == L->gen_type || type == L->asyncgen_type;
}

/* 3.8–3.10: PyFrameObject-based generators. */
static int read_gen_pyframe(mem_target *m, const strobe_layout *L, uint64_t gen,
                            const uint8_t *gbuf, aio_gen *out)
{
    uint8_t f[256];
    uint64_t frame = mem_u64(gbuf, L->gen_frame);
    out->frame = frame;
    if (!frame) {
        out->state = GEN_DONE;
        return 0;
    }
    if (L->f_size > (int32_t)sizeof f || mem_read(m, frame, (size_t)L->f_size, f) != 0) return -1;
    if (mem_u64(f, L->ob_type) != L->frame_type || !mem_refcnt_live(f, L->ob_refcnt)) return -1;
    if (mem_u64(f, L->f_gen) != gen) return -1;
    int32_t lasti = mem_i32(f, L->f_lasti);
    int64_t addr = lasti < 0 ? -1 : (L->lasti_is_units ? 2 * (int64_t)lasti : lasti);
    out->raw.code = mem_u64(f, L->f_code);
    out->raw.addr = addr;
    uint64_t tos_at = 0;
    if (L->f_state >= 0) {   /* 3.10 */
        int st = (signed char)f[L->f_state];
        if (st == L->fs_executing) out->state = GEN_EXECUTING;
        else if (st == L->fs_created) out->state = GEN_CREATED;
        else if (st == L->fs_suspended) out->state = GEN_SUSPENDED;
        else out->state = GEN_DONE;
        int32_t depth = mem_i32(f, L->f_stackdepth);
        if (out->state == GEN_SUSPENDED && depth > 0)
            tos_at = mem_u64(f, L->f_valuestack) + 8 * (uint64_t)(depth - 1);
    } else {                 /* 3.8/3.9 */
        uint64_t top = mem_u64(f, L->f_stacktop);
        if (gbuf[L->gen_running]) out->state = GEN_EXECUTING;
        else if (lasti < 0) out->state = GEN_CREATED;
        else if (top) out->state = GEN_SUSPENDED;
        else return -1;
        if (out->state == GEN_SUSPENDED) tos_at = top - 8;
    }
    if (out->state != GEN_SUSPENDED || !tos_at || addr < 0) return 0;
    /* suspended in YIELD_FROM? (the instruction after the last one) */
    uint64_t co_code;
    uint8_t op;
    if (mem_read(m, out->raw.code + (uint64_t)L->co_code, 8, &co_code) != 0) return -1;
    if (mem_read(m, co_code + (uint64_t)L->bytes_data + (uint64_t)addr + 2, 1, &op) != 0) return -1;
    if (op == L->op_yield_from && mem_read(m, tos_at, 8, &out->awaiting) != 0) return -1;
    out->awaiting_at = tos_at;
    return 0;
}

/* 3.11+: the frame is embedded in the generator. */
static int read_gen_iframe(mem_target *m, const strobe_layout *L, uint64_t gen,
                           const uint8_t *gbuf, aio_gen *out)
{
    int st = (int8_t)gbuf[L->gen_frame_state];
    const uint8_t *fr = gbuf + L->gen_iframe;
    out->frame = gen + (uint64_t)L->gen_iframe;
    out->raw.code = mem_u64(fr, L->if_code);
    uint64_t instr = mem_u64(fr, L->if_instr);
    out->raw.addr = (int64_t)(instr - (out->raw.code + (uint64_t)L->co_code_adaptive));
    if (st == L->fs_executing) out->state = GEN_EXECUTING;
    else if (st == L->fs_created) out->state = GEN_CREATED;
    else if (st == L->fs_suspended || st == L->fs_suspended_yf) out->state = GEN_SUSPENDED;
    else out->state = GEN_DONE;
    if (out->state == GEN_CREATED) out->raw.addr = -1;
    if (out->state != GEN_SUSPENDED) return 0;
    int at_await;
    if (L->op_resume < 0) {   /* 3.13+: the state says it */
        at_await = st == L->fs_suspended_yf;
    } else {
        uint8_t unit[2];
        if (mem_read(m, instr + 2, 2, unit) != 0) return -1;
        at_await = (unit[0] == L->op_resume || unit[0] == L->op_instrumented_resume) && unit[1] >= 2;
    }
    if (!at_await) return 0;
    int32_t top = mem_i32(fr, L->if_stacktop);
    if (top < 1 || top > (1 << 20)) return -1;
    out->awaiting_at = out->frame + (uint64_t)L->if_localsplus + 8 * (uint64_t)(top - 1);
    return mem_read(m, out->awaiting_at, 8, &out->awaiting);
}

int aio_read_gen(mem_target *m, const strobe_layout *L, uint64_t gen, aio_gen *out)
{
    uint8_t buf[GEN_BUF];
    memset(out, 0, sizeof *out);
    out->raw.loc = UNWIND_UNRESOLVED;
    out->raw.gen = gen;
    if (!gen || L->gen_size > GEN_BUF || mem_read(m, gen, (size_t)L->gen_size, buf) != 0) return -1;
    out->type = mem_u64(buf, L->ob_type);
    if (!gen_type_ok(L, out->type) || !mem_refcnt_live(buf, L->ob_refcnt)) return -1;
    if (L->gen_iframe >= 0) return read_gen_iframe(m, L, gen, buf, out);
    return read_gen_pyframe(m, L, gen, buf, out);
}


/* Where in a generator the code it runs is: its embedded frame's (3.11+),
 * or gi_code (3.8-3.10); -1 when the layout has neither. */
static int32_t gen_code_at(const strobe_layout *L)
{
    return L->gen_iframe >= 0 ? L->gen_iframe + L->if_code : L->gen_code;
}

/* The code a generator runs, read now (not from this pass's page copies). */
int aio_gen_code_now(mem_target *m, const strobe_layout *L, uint64_t gen, uint64_t *code)
{
    mem_iov v = { gen + (uint64_t)gen_code_at(L), code, 8 };
    return gen_code_at(L) < 0 ? -1 : mem_readv_fresh(m, &v, 1);
}

void aio_gen_code_now_many(mem_target *m, const strobe_layout *L, const uint64_t *gens, uint64_t *codes, int n)
{
    mem_iov v[MEM_MAX_IOV];
    for (int b = 0; b < n; b += MEM_MAX_IOV) {
        int k = n - b < MEM_MAX_IOV ? n - b : MEM_MAX_IOV;
        for (int i = 0; i < k; i++) {
            codes[b + i] = 0;
            v[i].addr = gens[b + i] + (uint64_t)gen_code_at(L);
            v[i].buf = &codes[b + i];
            v[i].size = 8;
        }
        /* one call for all; when one of them fails, each alone */
        if (gen_code_at(L) < 0 || mem_readv_fresh(m, v, k) == 0) continue;
        for (int i = 0; i < k; i++)
            if (aio_gen_code_now(m, L, gens[b + i], &codes[b + i]) != 0) codes[b + i] = 0;
    }
}

int aio_read_chain(mem_target *m, const strobe_layout *L, const strobe_aio *A, uint64_t coro,
                   raw_frame *out, int max, int *n, uint64_t *omitted, uint64_t *leaf_future)
{
    brent b = BRENT_INIT;
    uint64_t g = coro;
    *n = 0;
    *omitted = 0;
    *leaf_future = 0;
    for (int depth = 0; depth < AIO_MAX_CHAIN; depth++) {
        aio_gen gi;
        if (brent_step(&b, g) || aio_read_gen(m, L, g, &gi) != 0) return CHAIN_TORN;
        if (depth == 0 && gi.state == GEN_EXECUTING) return CHAIN_RUNNING;
        if (gi.state == GEN_CREATED && depth == 0) {
            /* A coroutine not started yet is young: its memory may have
             * held another one when this pass copied the page.  Its code,
             * read again now, must agree. */
            uint64_t code;
            if (aio_gen_code_now(m, L, g, &code) != 0 || code != gi.raw.code) return CHAIN_TORN;
            if (max > 0) out[(*n)++] = gi.raw;
            return CHAIN_NOT_STARTED;
        }
        if (gi.state != GEN_SUSPENDED) return CHAIN_TORN;
        if (*n < max) out[(*n)++] = gi.raw;
        else (*omitted)++;
        uint64_t obj = gi.awaiting;
        /* 3.8-3.10: a native coroutine suspends only in an await (its
         * YIELD_FROM, the awaitable on its stack): one suspended awaiting
         * nothing was read at two instants (its frame's stack and last
         * instruction from copies of different moments).  A generator-based
         * one (asyncio.sleep(0)'s bare yield) may. */
        if (!obj) return L->gen_iframe < 0 && gi.type == L->coro_type ? CHAIN_TORN : CHAIN_SUSPENDED;
        uint64_t type = pyobj_type(m, L, obj);
        uint64_t next = 0;
        int32_t off = -1;
        if (gen_type_ok(L, type)) {
            g = obj;
            continue;
        }
        if (type == A->futureiter_type && A->futiter_future >= 0) {
            if (mem_read(m, obj + (uint64_t)A->futiter_future, 8, leaf_future) != 0) return CHAIN_TORN;
            return CHAIN_SUSPENDED;
        }
        if (type == A->asend_type) off = A->asend_gen;
        else if (type == A->athrow_type) off = A->athrow_gen;
        else if (type == A->corowrapper_type) off = A->cw_coro;
        if (off < 0) {
            /* Some other awaitable: its frames end here.  Or an awaitable
             * that finished and whose memory is now another object, the
             * frame awaiting it having moved on since this pass copied its
             * page: both, read again now, must still say the same. */
            uint64_t now_obj = 0, now_type = 0;
            mem_iov v[2] = { { gi.awaiting_at, &now_obj, 8 }, { obj + (uint64_t)L->ob_type, &now_type, 8 } };
            if (!gi.awaiting_at || mem_readv_fresh(m, v, 2) != 0 || now_obj != obj || now_type != type)
                return CHAIN_TORN;
            return CHAIN_SUSPENDED;
        }
        if (mem_read(m, obj + (uint64_t)off, 8, &next) != 0 || !next) return CHAIN_TORN;
        g = next;
    }
    return CHAIN_TORN;
}

void aio_fill_chains(mem_target *m, const strobe_layout *L, const strobe_aio *A, uint64_t *objs, int n)
{
    uint64_t frames[AIO_FILL_BATCH];
    for (int depth = 0; depth < AIO_FILL_DEPTH && n > 0; depth++) {
        if (n > AIO_FILL_BATCH) n = AIO_FILL_BATCH;
        mem_cache_fill(m, objs, (size_t)n, (size_t)L->gen_size);
        if (L->gen_iframe < 0) {   /* 3.8-3.10: each generator's frame is an object of its own */
            int nf = 0;
            for (int i = 0; i < n; i++)
                if (mem_read(m, objs[i] + (uint64_t)L->gen_frame, 8, &frames[nf]) == 0 && frames[nf]) nf++;
            mem_cache_fill(m, frames, (size_t)nf, (size_t)L->f_size);
        }
        int k = 0;
        for (int i = 0; i < n; i++) {
            uint64_t type = pyobj_type(m, L, objs[i]), next = 0;
            int32_t off = -1;
            if (gen_type_ok(L, type)) {
                aio_gen g;
                if (aio_read_gen(m, L, objs[i], &g) == 0 && g.state == GEN_SUSPENDED) next = g.awaiting;
            } else if (type == A->asend_type) {
                off = A->asend_gen;
            } else if (type == A->athrow_type) {
                off = A->athrow_gen;
            } else if (type == A->corowrapper_type) {
                off = A->cw_coro;
            }
            if (off >= 0 && mem_read(m, objs[i] + (uint64_t)off, 8, &next) != 0) next = 0;
            if (next) objs[k++] = next;
        }
        n = k;
    }
}

int aio_task_name(mem_target *m, const strobe_layout *L, uint64_t name, char *out, size_t cap)
{
    uint64_t type = pyobj_type(m, L, name);
    if (type == L->unicode_type) return pyobj_read_str(m, L, name, out, cap);
    uint64_t v;
    if (type == L->long_type && pyobj_read_small_int(m, L, name, &v) == 0)
        return snprintf(out, cap, "Task-%llu", (unsigned long long)v);
    return -1;
}
