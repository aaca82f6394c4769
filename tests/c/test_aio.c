/* aio.c on synthetic memory: objects laid out by a made-up layout in this
 * process's own memory (read through mem like a real interpreter's).
 *  - a coroutine chain ending in a future's __await__ iterator;
 *  - a chain that loops (two coroutines awaiting each other, as a torn read
 *    or a real cycle can make it) ends at once, as torn;
 *  - a chain through an async generator's asend awaitable;
 *  - 3.8-3.10 frames: a native coroutine suspended awaiting nothing (not
 *    in its YIELD_FROM) is a torn read; a generator-based one may be;
 *  - a task whose coroutine executes is reported running, a created one as
 *    not started;
 *  - the registries: weak references to tasks in a set, dead references,
 *    the set's dummy entries, done tasks and other objects are skipped;
 *    lazily named tasks (an int) are named Task-N. */
#include <stdlib.h>
#include <string.h>

#include "aio.h"
#include "check.h"

/* fake type objects: only their addresses matter */
static char coro_t[8], gen_t[8], agen_t[8], iter_t[8], asend_t[8], task_t[8], wr_t[8], long_t[8], str_t[8],
    none_obj[8];

#define GEN_IFRAME 64
#define IF_LOCALS 40
#define CODE_FIRST 200

static strobe_layout L;
static strobe_aio A;

static void setup(void)
{
    memset(&L, 0, sizeof L);
    L.frame_model = FRAME_MODEL_IFRAME;
    L.ob_refcnt = 0;
    L.ob_type = 8;
    L.tp_base = -1;
    L.if_code = 0;
    L.if_previous = 8;
    L.if_instr = 16;
    L.if_owner = 24;
    L.if_stacktop = 28;
    L.if_localsplus = IF_LOCALS;
    L.if_size = 32;
    L.gen_iframe = GEN_IFRAME;
    L.gen_frame_state = 56;
    L.gen_size = GEN_IFRAME + IF_LOCALS;
    L.gen_frame = L.gen_running = L.gen_code = -1;
    L.co_code_adaptive = CODE_FIRST;
    L.fs_created = -3;
    L.fs_suspended = -2;
    L.fs_suspended_yf = -1;
    L.fs_executing = 0;
    L.op_resume = L.op_instrumented_resume = -1;   /* 3.13-like: the state says it */
    L.coro_type = (uint64_t)(uintptr_t)coro_t;
    L.gen_type = (uint64_t)(uintptr_t)gen_t;
    L.asyncgen_type = (uint64_t)(uintptr_t)agen_t;
    L.long_type = (uint64_t)(uintptr_t)long_t;
    L.unicode_type = (uint64_t)(uintptr_t)str_t;
    L.long_size = 16;
    L.long_digit = 24;
    L.long_lv_tag = 1;
    L.set_mask = 16;
    L.set_table = 24;
    L.set_used = 32;
    L.setentry_size = 16;
    L.wr_object = 16;
    L.none_addr = (uint64_t)(uintptr_t)none_obj;

    memset(&A, 0, sizeof A);
    A.enabled = 1;
    A.task_types[0] = (uint64_t)(uintptr_t)task_t;
    A.ntask_types = 1;
    A.futureiter_type = (uint64_t)(uintptr_t)iter_t;
    A.asend_type = (uint64_t)(uintptr_t)asend_t;
    A.athrow_type = A.corowrapper_type = 1;   /* none in these tests */
    A.weakref_type = (uint64_t)(uintptr_t)wr_t;
    A.fut_loop = 16;
    A.fut_state = 24;
    A.task_coro = 32;
    A.task_fut_waiter = 40;
    A.task_name = 48;
    A.task_size = 64;
    A.fut_state_pending = 0;
    A.futiter_future = 16;
    A.asend_gen = 16;
    A.athrow_gen = A.cw_coro = 16;
}

static void put64(void *obj, int off, uint64_t v) { memcpy((char *)obj + off, &v, 8); }
static uint64_t addr(const void *p) { return (uint64_t)(uintptr_t)p; }

/* a generator object suspended awaiting `awaiting` (0: not awaiting) */
static void *make_gen(void *type, int state, uint64_t code, uint64_t instr_off, uint64_t awaiting)
{
    uint8_t *g = calloc(1, 256);
    put64(g, L.ob_refcnt, 1);
    put64(g, L.ob_type, addr(type));
    g[L.gen_frame_state] = (uint8_t)(int8_t)state;
    put64(g, GEN_IFRAME + L.if_code, code);
    put64(g, GEN_IFRAME + L.if_instr, code + CODE_FIRST + instr_off);
    int32_t top = awaiting ? 1 : 0;
    memcpy(g + GEN_IFRAME + L.if_stacktop, &top, 4);
    put64(g, GEN_IFRAME + IF_LOCALS, awaiting);
    return g;
}

static void *make_obj(void *type, int off, uint64_t v)
{
    uint8_t *o = calloc(1, 64);
    put64(o, L.ob_refcnt, 1);
    put64(o, L.ob_type, addr(type));
    if (off >= 0) put64(o, off, v);
    return o;
}

static void test_chain_to_future(void)
{
    setup();
    mem_target m;
    CHECK(mem_open(&m, 0) == 0);
    uint64_t fut = 0xF00D000;
    void *it = make_obj(iter_t, A.futiter_future, fut);
    void *c3 = make_gen(coro_t, L.fs_suspended_yf, 0x3000, 30, addr(it));
    void *c2 = make_gen(coro_t, L.fs_suspended_yf, 0x2000, 20, addr(c3));
    void *c1 = make_gen(coro_t, L.fs_suspended_yf, 0x1000, 10, addr(c2));
    raw_frame f[8];
    int n;
    uint64_t omitted, leaf;
    CHECK(aio_read_chain(&m, &L, &A, addr(c1), f, 8, &n, &omitted, &leaf) == CHAIN_SUSPENDED);
    CHECK(n == 3 && omitted == 0 && leaf == fut);
    CHECK(f[0].code == 0x1000 && f[0].addr == 10 && f[0].gen == addr(c1));
    CHECK(f[2].code == 0x3000 && f[2].addr == 30 && f[2].gen == addr(c3));
    /* bounded by max: the rest counted */
    CHECK(aio_read_chain(&m, &L, &A, addr(c1), f, 2, &n, &omitted, &leaf) == CHAIN_SUSPENDED);
    CHECK(n == 2 && omitted == 1);
    /* a suspended generator not awaiting: the chain ends there */
    void *lone = make_gen(gen_t, L.fs_suspended, 0x4000, 4, 0);
    CHECK(aio_read_chain(&m, &L, &A, addr(lone), f, 8, &n, &omitted, &leaf) == CHAIN_SUSPENDED);
    CHECK(n == 1 && leaf == 0);
    free(it); free(c1); free(c2); free(c3); free(lone);
    mem_close(&m);
}

static void test_chain_cycle_and_states(void)
{
    setup();
    mem_target m;
    CHECK(mem_open(&m, 0) == 0);
    uint8_t *a = make_gen(coro_t, L.fs_suspended_yf, 0x1000, 1, 0);
    uint8_t *b = make_gen(coro_t, L.fs_suspended_yf, 0x2000, 2, addr(a));
    put64(a, GEN_IFRAME + IF_LOCALS, addr(b));   /* a awaits b awaits a */
    raw_frame f[4];
    int n;
    uint64_t omitted, leaf;
    CHECK(aio_read_chain(&m, &L, &A, addr(a), f, 4, &n, &omitted, &leaf) == CHAIN_TORN);
    /* running and not started */
    void *run = make_gen(coro_t, L.fs_executing, 0x5000, 8, 0);
    void *fresh = make_gen(coro_t, L.fs_created, 0x6000, 0, 0);
    CHECK(aio_read_chain(&m, &L, &A, addr(run), f, 4, &n, &omitted, &leaf) == CHAIN_RUNNING);
    CHECK(aio_read_chain(&m, &L, &A, addr(fresh), f, 4, &n, &omitted, &leaf) == CHAIN_NOT_STARTED);
    CHECK(n == 1 && f[0].code == 0x6000 && f[0].addr == -1);
    /* an inner coroutine that is not suspended: the chain changed under us */
    void *inner = make_gen(coro_t, L.fs_executing, 0x7000, 8, 0);
    void *outer = make_gen(coro_t, L.fs_suspended_yf, 0x8000, 8, addr(inner));
    CHECK(aio_read_chain(&m, &L, &A, addr(outer), f, 4, &n, &omitted, &leaf) == CHAIN_TORN);
    /* freed memory (refcount 0) is not a generator */
    put64(fresh, L.ob_refcnt, 0);
    CHECK(aio_read_chain(&m, &L, &A, addr(fresh), f, 4, &n, &omitted, &leaf) == CHAIN_TORN);
    free(a); free(b); free(run); free(fresh); free(inner); free(outer);
    mem_close(&m);
}

static void test_chain_through_async_generator(void)
{
    setup();
    mem_target m;
    CHECK(mem_open(&m, 0) == 0);
    void *sleeper = make_gen(coro_t, L.fs_suspended, 0x3000, 3, 0);
    void *agen = make_gen(agen_t, L.fs_suspended_yf, 0x2000, 2, addr(sleeper));
    void *asend = make_obj(asend_t, A.asend_gen, addr(agen));
    void *top = make_gen(coro_t, L.fs_suspended_yf, 0x1000, 1, addr(asend));
    raw_frame f[8];
    int n;
    uint64_t omitted, leaf;
    CHECK(aio_read_chain(&m, &L, &A, addr(top), f, 8, &n, &omitted, &leaf) == CHAIN_SUSPENDED);
    CHECK(n == 3 && f[1].code == 0x2000 && f[2].code == 0x3000);
    free(sleeper); free(agen); free(asend); free(top);
    mem_close(&m);
}

static uint8_t *make_task(uint64_t loop, int state, uint64_t coro, uint64_t waiter, uint64_t name)
{
    uint8_t *t = calloc(1, 128);
    put64(t, L.ob_refcnt, 1);
    put64(t, L.ob_type, addr(task_t));
    put64(t, A.fut_loop, loop);
    int32_t st = state;
    memcpy(t + A.fut_state, &st, 4);
    put64(t, A.task_coro, coro);
    put64(t, A.task_fut_waiter, waiter);
    put64(t, A.task_name, name);
    return t;
}

/* 3.10's layout: each generator's frame an object of its own, its state
 * and stack depth in the frame, the awaitable on its stack when its next
 * instruction is YIELD_FROM. */
enum { OP_YF = 72, OP_OTHER = 1, F_CODE = 16, F_LASTI = 24, F_STATE = 28, F_DEPTH = 32,
       F_STACK = 40, F_GEN = 48, CO_CODE = 16, B_DATA = 32 };
static char frame_t[8];

static void setup_pyframe(void)
{
    setup();
    L.frame_model = FRAME_MODEL_PYFRAME;
    L.gen_iframe = -1;
    L.gen_frame = 16;
    L.gen_running = 24;
    L.gen_code = 32;
    L.gen_size = 40;
    L.frame_type = (uint64_t)(uintptr_t)frame_t;
    L.f_size = 56;
    L.f_code = F_CODE;
    L.f_lasti = F_LASTI;
    L.lasti_is_units = 1;
    L.f_state = F_STATE;
    L.f_stackdepth = F_DEPTH;
    L.f_valuestack = F_STACK;
    L.f_gen = F_GEN;
    L.fs_created = -1;
    L.fs_suspended = 1;
    L.fs_executing = 2;
    L.co_code = CO_CODE;
    L.bytes_data = B_DATA;
    L.op_yield_from = OP_YF;
}

/* a generator of `type` suspended at code unit 4, the next instruction
 * `op`, with `awaiting` on its stack (0: an empty stack) */
static void *make_pygen(void *type, int op, uint64_t awaiting, void **keep)
{
    uint8_t *bytes = calloc(1, 64), *code = calloc(1, 64), *fr = calloc(1, 64), *g = calloc(1, 64);
    uint64_t *stack = calloc(2, 8);
    bytes[B_DATA + 8 + 2] = (uint8_t)op;   /* lasti 4 units: byte 8; the next instruction at 10 */
    put64(code, CO_CODE, addr(bytes));
    put64(fr, L.ob_refcnt, 1);
    put64(fr, L.ob_type, addr(frame_t));
    put64(fr, F_CODE, addr(code));
    int32_t lasti = 4, depth = awaiting ? 1 : 0;
    memcpy(fr + F_LASTI, &lasti, 4);
    fr[F_STATE] = (uint8_t)L.fs_suspended;
    memcpy(fr + F_DEPTH, &depth, 4);
    stack[0] = awaiting;
    put64(fr, F_STACK, addr(stack));
    put64(fr, F_GEN, addr(g));
    put64(g, L.ob_refcnt, 1);
    put64(g, L.ob_type, addr(type));
    put64(g, L.gen_frame, addr(fr));
    keep[0] = bytes; keep[1] = code; keep[2] = fr; keep[3] = stack; keep[4] = g;
    return g;
}

static void test_pyframe_coroutine_awaiting_nothing(void)
{
    setup_pyframe();
    mem_target m;
    CHECK(mem_open(&m, 0) == 0);
    void *k[5][5];
    raw_frame f[8];
    int n;
    uint64_t omitted, leaf;
    /* a coroutine awaiting asyncio.sleep(0)'s generator, suspended at its
     * bare yield: a chain of two */
    void *sleep0 = make_pygen(gen_t, OP_OTHER, 0, k[0]);
    void *outer = make_pygen(coro_t, OP_YF, addr(sleep0), k[1]);
    CHECK(aio_read_chain(&m, &L, &A, addr(outer), f, 8, &n, &omitted, &leaf) == CHAIN_SUSPENDED);
    CHECK(n == 2 && f[0].gen == addr(outer) && f[1].gen == addr(sleep0) && f[0].addr == 8);
    /* a coroutine whose next instruction is not YIELD_FROM, or whose stack
     * is empty: read at two instants */
    void *torn = make_pygen(coro_t, OP_OTHER, addr(sleep0), k[2]);
    CHECK(aio_read_chain(&m, &L, &A, addr(torn), f, 8, &n, &omitted, &leaf) == CHAIN_TORN);
    void *empty = make_pygen(coro_t, OP_YF, 0, k[3]);
    CHECK(aio_read_chain(&m, &L, &A, addr(empty), f, 8, &n, &omitted, &leaf) == CHAIN_TORN);
    /* under an outer coroutine, too */
    void *top = make_pygen(coro_t, OP_YF, addr(empty), k[4]);
    CHECK(aio_read_chain(&m, &L, &A, addr(top), f, 8, &n, &omitted, &leaf) == CHAIN_TORN);
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 5; j++) free(k[i][j]);
    mem_close(&m);
}

static void test_registries(void)
{
    setup();
    mem_target m;
    CHECK(mem_open(&m, 0) == 0);
    void *t1 = make_task(0x10, 0, 0xC1, 0, 0);
    void *t2 = make_task(0x10, 0, 0xC2, addr(t1), 0);
    void *done = make_task(0x10, 2, 0xC3, 0, 0);
    void *other = make_obj(gen_t, -1, 0);                 /* not a task */
    void *w1 = make_obj(wr_t, L.wr_object, addr(t1));
    void *w2 = make_obj(wr_t, L.wr_object, addr(t2));
    void *wdone = make_obj(wr_t, L.wr_object, addr(done));
    void *wdead = make_obj(wr_t, L.wr_object, addr(none_obj));
    void *wother = make_obj(wr_t, L.wr_object, addr(other));
    void *dummy = make_obj(long_t, -1, 0);                /* the set's dummy: not a weakref */
    uint64_t table[16] = { 0 };
    table[0] = addr(w1); table[4] = addr(w2); table[6] = addr(wdone);
    table[8] = addr(wdead); table[10] = addr(dummy); table[14] = addr(wother);
    uint8_t *set = calloc(1, 64);
    put64(set, L.set_mask, 7);
    put64(set, L.set_table, addr(table));
    /* strong set (3.12+ eager tasks): t2 again (deduped by the pass), and t3 */
    void *t3 = make_task(0x20, 0, 0xC4, 0, 0);
    uint64_t table2[8] = { addr(t2), 0, addr(t3), 0, 0, 0, 0, 0 };
    uint8_t *set2 = calloc(1, 64);
    put64(set2, L.set_mask, 3);
    put64(set2, L.set_table, addr(table2));
    A.reg_weak[0] = addr(set);
    A.nreg_weak = 1;
    A.reg_strong[0] = addr(set2);
    A.nreg_strong = 1;
    aio_task out[8];
    uint64_t seen = 0;
    int n = aio_read_tasks(&m, &L, &A, out, 8, &seen);
    CHECK(n == 4);   /* t1, t2 (weak), t2, t3 (strong) */
    CHECK(seen == 8);
    int has1 = 0, has3 = 0;
    for (int i = 0; i < n; i++) {
        if (out[i].addr == addr(t1)) has1 = out[i].coro == 0xC1 && out[i].loop == 0x10;
        if (out[i].addr == addr(t3)) has3 = out[i].loop == 0x20;
        CHECK(out[i].addr != addr(done));
        if (out[i].addr == addr(t2)) CHECK(out[i].waiter == addr(t1));
    }
    CHECK(has1 && has3);
    /* a full output still counts every entry (so the caller can grow) */
    seen = 0;
    CHECK(aio_read_tasks(&m, &L, &A, out, 1, &seen) == 1 && seen == 8);
    /* a set whose header is garbage is an error, not a crash */
    put64(set, L.set_mask, 6);
    seen = 0;
    CHECK(aio_read_tasks(&m, &L, &A, out, 8, &seen) == -1);
    free(t1); free(t2); free(t3); free(done); free(other); free(w1); free(w2); free(wdone);
    free(wdead); free(wother); free(dummy); free(set); free(set2);
    mem_close(&m);
}

/* A program's own Task subclass, made before the hooks could report it, is
 * recognised by its base type and remembered. */
static void test_task_subclass(void)
{
    setup();
    mem_target m;
    CHECK(mem_open(&m, 0) == 0);
    L.tp_base = 32;
    uint8_t *sub = calloc(1, 64), *subsub = calloc(1, 64), *alien = calloc(1, 64);
    put64(sub, L.tp_base, addr(task_t));
    put64(subsub, L.tp_base, addr(sub));
    put64(alien, L.tp_base, 0);
    uint8_t *t1 = make_task(0x10, 0, 0xC1, 0, 0), *t2 = make_task(0x10, 0, 0xC2, 0, 0);
    uint8_t *t3 = make_task(0x10, 0, 0xC3, 0, 0);
    put64(t1, L.ob_type, addr(subsub));
    put64(t3, L.ob_type, addr(alien));
    uint64_t table[8] = { addr(t1), 0, addr(t2), 0, addr(t3), 0, 0, 0 };   /* (key, hash) entries */
    uint8_t *set = calloc(1, 64);
    put64(set, L.set_mask, 3);
    put64(set, L.set_table, addr(table));
    A.reg_strong[0] = addr(set);
    A.nreg_strong = 1;
    aio_task out[4];
    uint64_t seen = 0;
    CHECK(aio_read_tasks(&m, &L, &A, out, 4, &seen) == 2);
    CHECK(aio_is_task_type(&A, addr(subsub)) && !aio_is_task_type(&A, addr(alien)));
    free(sub); free(subsub); free(alien); free(t1); free(t2); free(t3); free(set);
    mem_close(&m);
}

static void test_lazy_task_name(void)
{
    setup();
    mem_target m;
    CHECK(mem_open(&m, 0) == 0);
    uint8_t *num = calloc(1, 64);
    put64(num, L.ob_refcnt, 1);
    put64(num, L.ob_type, addr(long_t));
    put64(num, L.long_size, 1u << 3);   /* one digit, positive */
    uint32_t d = 42;
    memcpy(num + L.long_digit, &d, 4);
    char name[32];
    CHECK(aio_task_name(&m, &L, addr(num), name, sizeof name) == 7 && !strcmp(name, "Task-42"));
    put64(num, L.ob_type, addr(gen_t));
    CHECK(aio_task_name(&m, &L, addr(num), name, sizeof name) == -1);
    free(num);
    mem_close(&m);
}

int main(void)
{
    RUN(test_chain_to_future);
    RUN(test_chain_cycle_and_states);
    RUN(test_chain_through_async_generator);
    RUN(test_pyframe_coroutine_awaiting_nothing);
    RUN(test_registries);
    RUN(test_task_subclass);
    RUN(test_lazy_task_name);
    return CHECK_DONE();
}
