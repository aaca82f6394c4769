/* mkseeds.c — writes the synthetic seed corpora of the memory fuzz targets
 * (and a few pprof seeds): memory images laid out, for every version, with
 * the real layouts of layouts.h, the way the C unit tests build objects
 * (tests/c/test_aio.c), plus the real code objects gen_layouts.py dumped
 * (materials.h: bytecode, line tables, exception tables, where a call and
 * an await sit).  Built and run by gen_layouts.py:  mkseeds CORPUS_DIR.
 *
 * Images follow fuzz_common.h: an 8-byte header, then bytes that land at
 * FZ_BASE, whose first words are the target's roots. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "export.h"
#include "fuzz_common.h"
#include "materials.h"
#include "opflow.h"
#include "profile.h"

/* ---- images ------------------------------------------------------------- */

#define IMG_CAP 65536
typedef struct {
    uint8_t hdr[FZ_HDR];
    uint8_t b[IMG_CAP];
    size_t len;
} img;

static void img_init(img *m, int v, uint8_t flags)
{
    memset(m, 0, sizeof *m);
    m->hdr[0] = (uint8_t)v;
    m->hdr[1] = flags;
    m->len = 64;   /* 8 root words */
}

static uint64_t alloc(img *m, size_t n)
{
    size_t off = (m->len + 15) & ~(size_t)15;
    if (off + n > IMG_CAP) {
        fprintf(stderr, "mkseeds: image full\n");
        exit(1);
    }
    memset(m->b + off, 0, n);
    m->len = off + n;
    return FZ_BASE + off;
}

static uint8_t *at(img *m, uint64_t addr, int32_t off)
{
    return m->b + (addr - FZ_BASE) + off;
}
static void w64(img *m, uint64_t a, int32_t off, uint64_t v) { if (off >= 0) memcpy(at(m, a, off), &v, 8); }
static void w32(img *m, uint64_t a, int32_t off, uint32_t v) { if (off >= 0) memcpy(at(m, a, off), &v, 4); }
static void w8(img *m, uint64_t a, int32_t off, uint8_t v) { if (off >= 0) *at(m, a, off) = v; }
static void root(img *m, int i, uint64_t v) { memcpy(m->b + 8 * i, &v, 8); }

static const char *corpus;

static void save(const char *target, const char *name, const void *a, size_t alen, const void *b,
                 size_t blen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", corpus, target);
    if (mkdir(path, 0777) != 0 && errno != EEXIST) {
        perror(path);
        exit(1);
    }
    snprintf(path, sizeof path, "%s/%s/%s", corpus, target, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(a, 1, alen, f) != alen || (blen && fwrite(b, 1, blen, f) != blen) || fclose(f)) {
        perror(path);
        exit(1);
    }
}

static void save_img(const char *target, const char *name, const img *m)
{
    save(target, name, m->hdr, FZ_HDR, m->b, m->len);
}

/* ---- objects ------------------------------------------------------------- */

static uint64_t obj(img *m, const strobe_layout *L, size_t size, int type)
{
    uint64_t a = alloc(m, size < 64 ? 64 : size);
    w64(m, a, L->ob_refcnt, 1);
    w64(m, a, L->ob_type, FZ_TYPE(type));
    return a;
}

/* A compact str of n code points of `kind` bytes each (ascii: kind 1, all < 0x80). */
static uint64_t str_kind(img *m, const strobe_layout *L, const uint32_t *cp, size_t n, int kind, int ascii)
{
    int32_t data = ascii ? L->u_ascii_data : L->u_compact_data;
    uint64_t a = obj(m, L, (size_t)data + (n + 1) * (size_t)kind + 8, FT_UNICODE);
    w64(m, a, L->u_length, n);
    w64(m, a, L->u_hash, UINT64_MAX);
    w32(m, a, L->u_state, (uint32_t)kind << L->u_kind_shift | 1u << L->u_compact_shift |
                              (uint32_t)ascii << L->u_ascii_shift);
    for (size_t i = 0; i < n; i++) {
        uint8_t *p = at(m, a, data + (int32_t)(i * (size_t)kind));
        if (kind == 1) *p = (uint8_t)cp[i];
        else if (kind == 2) { uint16_t c = (uint16_t)cp[i]; memcpy(p, &c, 2); }
        else memcpy(p, &cp[i], 4);
    }
    return a;
}

static uint64_t str(img *m, const strobe_layout *L, const char *s)
{
    uint32_t cp[2048];
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i++) cp[i] = (unsigned char)s[i];
    return str_kind(m, L, cp, n, 1, 1);
}

static uint64_t bytes(img *m, const strobe_layout *L, const void *d, size_t n)
{
    uint64_t a = obj(m, L, (size_t)L->bytes_data + n + 1, FT_BYTES);
    w64(m, a, L->bytes_size, n);
    if (n) memcpy(at(m, a, L->bytes_data), d, n);
    return a;
}

static uint64_t int_obj(img *m, const strobe_layout *L, uint64_t v)
{
    uint64_t a = obj(m, L, (size_t)L->long_digit + 8, FT_LONG);
    uint64_t nd = v == 0 ? 0 : v < (1u << 30) ? 1 : 2;
    w64(m, a, L->long_size, L->long_lv_tag ? (nd << 3 | (v == 0 ? 1u : 0u)) : nd);
    w32(m, a, L->long_digit, (uint32_t)(v & ((1u << 30) - 1)));
    w32(m, a, L->long_digit + 4, (uint32_t)(v >> 30));
    return a;
}

static int iframe(const strobe_layout *L) { return L->frame_model == FRAME_MODEL_IFRAME; }

/* A code object from a real one of this version. */
static uint64_t code_obj(img *m, const strobe_layout *L, const mat_code *c)
{
    size_t size = (size_t)L->co_size + 64;
    if (L->co_code_adaptive >= 0) size = (size_t)L->co_code_adaptive + c->code_len + 8;
    if (size < (size_t)L->co_size) size = (size_t)L->co_size;
    uint64_t a = obj(m, L, size, FT_CODE);
    w64(m, a, L->co_name, str(m, L, c->name));
    if (L->co_qualname >= 0) w64(m, a, L->co_qualname, str(m, L, c->qualname));
    w64(m, a, L->co_filename, str(m, L, c->file));
    w32(m, a, L->co_firstlineno, (uint32_t)c->first);
    w64(m, a, L->co_linetable, bytes(m, L, c->linetable, c->linetable_len));
    w32(m, a, L->co_argcount, (uint32_t)c->argcount);
    w32(m, a, L->co_flags, (uint32_t)c->flags);
    w32(m, a, L->co_stacksize, (uint32_t)c->stacksize);
    if (L->co_code_adaptive >= 0) {
        w32(m, a, L->co_firsttraceable, (uint32_t)c->firsttraceable);
        w64(m, a, L->var_size, c->code_len / 2);
        w32(m, a, L->co_nlocalsplus, (uint32_t)c->nlocalsplus);
        w64(m, a, L->co_exceptiontable, bytes(m, L, c->exctab, c->exctab_len));
        memcpy(at(m, a, L->co_code_adaptive), c->code, c->code_len);
    } else {
        w64(m, a, L->co_code, bytes(m, L, c->code, c->code_len));
    }
    return a;
}

/* A frame of `code` at engine byte offset `addr` (-1: not started), linked
 * to `back`.  nslots value-stack slots follow; *stack gets their address. */
static uint64_t frame(img *m, const strobe_layout *L, const mat_code *c, uint64_t code, uint64_t back,
                      int64_t addr, int owner, uint64_t *stack)
{
    size_t nslots = (size_t)c->nlocalsplus + (size_t)c->stacksize + 4;
    if (iframe(L)) {
        uint64_t f = alloc(m, (size_t)L->if_localsplus + 8 * nslots);
        w64(m, f, L->if_code, code);
        w64(m, f, L->if_previous, back);
        w64(m, f, L->if_instr, code + (uint64_t)L->co_code_adaptive + (uint64_t)(addr < 0 ? 0 : addr));
        w8(m, f, L->if_owner, (uint8_t)owner);
        w32(m, f, L->if_stacktop, (uint32_t)c->nlocalsplus);
        if (stack) *stack = f + (uint64_t)L->if_localsplus + 8 * (uint64_t)c->nlocalsplus;
        return f;
    }
    /* the header only; the value stack apart (f_valuestack points to it) */
    uint64_t f = obj(m, L, (size_t)L->f_size + 8, FT_FRAME);
    w64(m, f, L->f_back, back);
    w64(m, f, L->f_code, code);
    int32_t lasti = addr < 0 ? -1 : (int32_t)(L->lasti_is_units ? addr / 2 : addr);
    w32(m, f, L->f_lasti, (uint32_t)lasti);
    uint64_t vs = alloc(m, 8 * ((size_t)c->stacksize + 2));
    w64(m, f, L->f_valuestack, vs);
    if (stack) *stack = vs;
    return f;
}

static uint64_t tstate(img *m, const strobe_layout *L, uint64_t next, uint64_t frm, uint64_t tid,
                       int64_t ntid)
{
    uint64_t t = alloc(m, (size_t)L->ts_size + 8);
    w64(m, t, L->ts_next, next);
    w64(m, t, L->ts_thread_id, tid);
    w64(m, t, L->ts_native_thread_id, (uint64_t)ntid);
    if (L->ts_frame >= 0) {
        w64(m, t, L->ts_frame, frm);
    } else {
        uint64_t cf = alloc(m, (size_t)L->cframe_current_frame + 16);
        w64(m, cf, L->cframe_current_frame, frm);
        w64(m, t, L->ts_cframe, cf);
    }
    return t;
}

/* The interpreter state: only its thread-list head is read, so only that
 * word is in the image (the state may begin before FZ_BASE: 3.13's head is
 * 7 KB into it). */
static uint64_t interp_obj(img *m, const strobe_layout *L, uint64_t head)
{
    uint64_t w = alloc(m, 8);
    w64(m, w, 0, head);
    return w - (uint64_t)L->interp_tstate_head;
}

/* The builtin time.sleep, as a PyCFunctionObject of module "time". */
static uint64_t cfunction(img *m, const strobe_layout *L)
{
    uint64_t name = alloc(m, 8);
    memcpy(at(m, name, 0), "sleep", 6);
    uint64_t def = alloc(m, 32);
    w64(m, def, L->ml_name, name);
    uint64_t f = obj(m, L, 64, FT_CFUNCTION);
    w64(m, f, L->cf_ml, def);
    w64(m, f, L->cf_self, obj(m, L, 64, FT_OTHER));
    w64(m, f, L->cf_module, str(m, L, "time"));
    return f;
}

static uint64_t cstr(img *m, const char *s)
{
    uint64_t a = alloc(m, strlen(s) + 1);
    memcpy(at(m, a, 0), s, strlen(s) + 1);
    return a;
}

/* A type object named `name` (tp_name), with tp_flags and tp_call. */
static uint64_t type_obj(img *m, const strobe_layout *L, const char *name, uint64_t flags, uint64_t call)
{
    uint64_t t = obj(m, L, (size_t)L->tp_flags + 16, FT_TYPE);
    w64(m, t, L->tp_name, cstr(m, name));
    w64(m, t, L->tp_flags, flags);
    w64(m, t, L->tp_call, call);
    return t;
}

/* A C method definition named `name` (PyMethodDef). */
static uint64_t methoddef(img *m, const strobe_layout *L, const char *name)
{
    uint64_t d = alloc(m, 32);
    w64(m, d, L->ml_name, cstr(m, name));
    return d;
}

/* The value-stack slots of the call at c->mark, as ccall.c computes them. */
static int call_slots_flags(int v, const mat_code *c, int *a, int *b, int *flags)
{
    const opflow_tables *T = fuzz_versions[v].opflow;
    size_t nu = c->code_len / 2;
    int16_t *d = malloc(nu * sizeof *d);
    int ok = 0, op;
    uint32_t arg;
    size_t where;
    opflow_call call;
    if (d && opflow_depths(T, c->code, c->code_len, c->exctab, c->exctab_len, d, nu) == 0 &&
        opflow_decode(T, c->code, c->code_len, d, nu, (size_t)c->mark / 2, &op, &arg, &where) == 0 &&
        opflow_callee(T, op, (int)arg, d[where], &call) == 0) {
        *a = call.slot;
        *b = call.self_slot;
        *flags = call.flags;
        ok = 1;
    }
    free(d);
    return ok;
}

static int call_slots(int v, const mat_code *c, int *a, int *b)
{
    int flags;
    return call_slots_flags(v, c, a, b, &flags);
}

/* ---- fuzz_frames ------------------------------------------------------------ */

static void frames_seeds(int v)
{
    const fuzz_version *fv = &fuzz_versions[v];
    strobe_layout L = fz_layout(v);
    const mat_code *mc = &mat_calls[v], *ms = &mat_simple[v];
    char name[64];
    img *m = malloc(sizeof *m);

    /* Two threads: one in `calls` at time.sleep(0) called from `simple`
     * (3.12+: through a C-stack entry frame), one with no Python frame;
     * a lone chain; `simple` is a step code.  Memo and builtins on. */
    img_init(m, v, 0x02 | 0x04);
    m->hdr[6] = 7;
    uint64_t c_calls = code_obj(m, &L, mc), c_simple = code_obj(m, &L, ms);
    uint64_t outer = frame(m, &L, ms, c_simple, 0, 4, 0, NULL);
    uint64_t mid = outer;
    if (iframe(&L) && L.owner_cstack >= 0) mid = frame(m, &L, ms, c_simple, outer, 0, L.owner_cstack, NULL);
    uint64_t stack;
    uint64_t leaf = frame(m, &L, mc, c_calls, mid, mc->mark, 0, &stack);
    int a = -1, b = -1;
    if (call_slots(v, mc, &a, &b) && a >= 0) {
        w64(m, stack, 8 * a, cfunction(m, &L));
    } else {
        fprintf(stderr, "mkseeds: %s: no call site at %d\n", fv->version, mc->mark);
        exit(1);
    }
    uint64_t t2 = tstate(m, &L, 0, 0, 0x7f0000002000, 1002);
    uint64_t t1 = tstate(m, &L, t2, leaf, 0x7f0000001000, 1001);
    root(m, 0, interp_obj(m, &L, t1));
    root(m, 1, frame(m, &L, ms, c_simple, frame(m, &L, mc, c_calls, 0, -1, 0, NULL), 2, 0, NULL));
    root(m, 2, c_simple);
    snprintf(name, sizeof name, "3%d_threads", fv->minor);
    save_img("fuzz_frames", name, m);

    /* A cycle (a -> b -> a) on a thread, page cache on, tiny profile caps;
     * 3.8-3.10 read the tid from "struct pthread". */
    img_init(m, v, 0x01 | 0x08 | (iframe(&L) ? 0 : 0x20));
    m->hdr[2] = 6;   /* 4 * 6: the tid's offset in the fake pthread below */
    m->hdr[6] = 3;
    c_simple = code_obj(m, &L, ms);
    uint64_t fa = frame(m, &L, ms, c_simple, 0, 0, 0, NULL);
    uint64_t fb = frame(m, &L, ms, c_simple, fa, 2, 0, NULL);
    w64(m, fa, iframe(&L) ? L.if_previous : L.f_back, fb);
    uint64_t pth = alloc(m, 32);
    w32(m, pth, 24, 4242);
    t1 = tstate(m, &L, 0, fb, pth, 4242);
    root(m, 0, interp_obj(m, &L, t1));
    root(m, 1, fa);
    snprintf(name, sizeof name, "3%d_cycle", fv->minor);
    save_img("fuzz_frames", name, m);

    /* Deep chain of one code, a code cache of 2 entries, and the code's name
     * changed between the passes (the entry is rebuilt). */
    img_init(m, v, 0x10 | 0x40 | 0x02);
    m->hdr[6] = 1;
    c_simple = code_obj(m, &L, ms);
    c_calls = code_obj(m, &L, mc);
    uint64_t f = 0;
    for (int i = 0; i < 12; i++) f = frame(m, &L, i & 1 ? ms : mc, i & 1 ? c_simple : c_calls, f, 2 * (i % 5), 0, NULL);
    t1 = tstate(m, &L, 0, f, 1, 77);
    root(m, 0, interp_obj(m, &L, t1));
    uint64_t nm;
    memcpy(&nm, at(m, c_simple, L.co_name), 8);
    size_t poke = (size_t)(nm - FZ_BASE) + (size_t)L.u_ascii_data;   /* first character */
    m->hdr[3] = 'X';
    m->hdr[4] = (uint8_t)poke;
    m->hdr[5] = (uint8_t)(poke >> 8);
    snprintf(name, sizeof name, "3%d_rebuild", fv->minor);
    save_img("fuzz_frames", name, m);

    /* The same, but the code object dies between the passes (its reference
     * count's low byte zeroed): the entry is removed from a small table
     * (flag 0x80) where it shares a cluster. */
    poke = (size_t)(c_simple - FZ_BASE) + (size_t)L.ob_refcnt;
    m->hdr[1] = 0x40 | 0x80 | 0x02;
    m->hdr[3] = 0;
    m->hdr[4] = (uint8_t)poke;
    m->hdr[5] = (uint8_t)(poke >> 8);
    snprintf(name, sizeof name, "3%d_remove", fv->minor);
    save_img("fuzz_frames", name, m);

    /* One thread per kind of callable, each stopped at `obj.method(1, 2)`
     * in `calls` (the builtin named from its descriptor, type or module),
     * and one entering `with f:` in `handlers`; at most 16 threads, a
     * max depth of 1 (the rest omitted). */
    img_init(m, v, 0x04);
    m->hdr[6] = 15;
    m->hdr[7] = 0;
    const mat_code *mm = &mat_method[v], *mw = &mat_with[v];
    c_calls = code_obj(m, &L, mc);
    c_simple = code_obj(m, &L, ms);
    uint64_t c_handlers = code_obj(m, &L, mw);
    if (!call_slots(v, mm, &a, &b) || a < 0) {
        fprintf(stderr, "mkseeds: %s: no method call at %d\n", fv->version, mm->mark);
        exit(1);
    }
    uint64_t heap = L.tpflags_heaptype;
    uint64_t t_list = type_obj(m, &L, "list", 0, 0), t_int = type_obj(m, &L, "int", 0, 0);
    uint64_t t_io = type_obj(m, &L, "_io.TextIOWrapper", 0, 0);
    uint64_t callables[9];
    int nc = 0;
    uint64_t md = obj(m, &L, 64, FT_METHODDESCR);   /* list.append */
    w64(m, md, L.md_method, methoddef(m, &L, "append"));
    w64(m, md, L.descr_type, t_list);
    callables[nc++] = md;
    uint64_t cmd = obj(m, &L, 64, FT_CLASSMETHODDESCR);   /* int.from_bytes */
    w64(m, cmd, L.md_method, methoddef(m, &L, "from_bytes"));
    w64(m, cmd, L.descr_type, t_int);
    callables[nc++] = cmd;
    uint64_t wb = alloc(m, 64);
    w64(m, wb, L.wb_name, cstr(m, "__add__"));
    uint64_t wd = obj(m, &L, 64, FT_WRAPPERDESCR);   /* int.__add__ */
    w64(m, wd, L.wd_base, wb);
    w64(m, wd, L.descr_type, t_int);
    callables[nc++] = wd;
    uint64_t mwr = obj(m, &L, 64, FT_METHODWRAPPER);   /* (1).__add__ */
    w64(m, mwr, L.mw_descr, wd);
    callables[nc++] = mwr;
    uint64_t bound = obj(m, &L, 64, fv->minor >= 9 ? FT_CMETHOD : FT_CFUNCTION);   /* f.read */
    w64(m, bound, L.cf_ml, methoddef(m, &L, "read"));
    uint64_t self = obj(m, &L, 64, FT_OTHER);
    w64(m, self, L.ob_type, t_io);
    w64(m, bound, L.cf_self, self);
    callables[nc++] = bound;
    uint64_t cls = obj(m, &L, (size_t)L.tp_flags + 16, FT_TYPE);   /* collections.deque() */
    w64(m, cls, L.tp_name, cstr(m, "collections.deque"));
    callables[nc++] = cls;
    uint64_t inst = obj(m, &L, 64, FT_OTHER);   /* a functools.partial instance called */
    w64(m, inst, L.ob_type, type_obj(m, &L, "functools.partial", heap, 0x1234));
    callables[nc++] = inst;
    callables[nc++] = obj(m, &L, 64, FT_FUNCTION);   /* Python code: not a builtin */
    uint64_t pyclass = obj(m, &L, (size_t)L.tp_flags + 16, FT_TYPE);   /* class Foo: heap, no module */
    w64(m, pyclass, L.tp_name, cstr(m, "Foo"));
    w64(m, pyclass, L.tp_flags, heap);
    callables[nc++] = pyclass;
    uint64_t ts = 0;
    uint64_t back = frame(m, &L, ms, c_simple, 0, 4, 0, NULL);   /* shared by every thread */
    for (int i = 0; i < nc; i++) {
        uint64_t lf = frame(m, &L, mm, c_calls, back, mm->mark, 0, &stack);
        w64(m, stack, 8 * a, callables[i]);
        if (b >= 0) w64(m, stack, 8 * b, self);
        ts = tstate(m, &L, ts, lf, 0x7f0000010000 + 0x1000 * (uint64_t)i, 2000 + i);
    }
    int wflags = 0;
    if (!call_slots_flags(v, mw, &a, &b, &wflags) || a < 0) {
        fprintf(stderr, "mkseeds: %s: no with entry at %d\n", fv->version, mw->mark);
        exit(1);
    }
    uint64_t lf = frame(m, &L, mw, c_handlers, back, mw->mark, 0, &stack);
    uint64_t exitm = obj(m, &L, 64, FT_CFUNCTION);   /* the manager's bound __exit__ */
    w64(m, exitm, L.cf_ml, methoddef(m, &L, "__exit__"));
    w64(m, exitm, L.cf_self, self);
    w64(m, stack, 8 * a, (wflags & OPFLOW_CD_EXITBOUND) ? exitm : self);
    ts = tstate(m, &L, ts, lf, 0x7f0000020000, 3000);
    root(m, 0, interp_obj(m, &L, ts));
    snprintf(name, sizeof name, "3%d_callables", fv->minor);
    save_img("fuzz_frames", name, m);
    free(m);
}

/* ---- fuzz_tasks ----------------------------------------------------------- */

/* A coroutine (or generator of `type`) of code `code` (material c),
 * suspended awaiting `awaiting` (0: suspended not awaiting), or in
 * `state`: 'c' created, 'r' running, 's' suspended. */
static uint64_t gen_obj(img *m, const strobe_layout *L, int type, const mat_code *c, uint64_t code,
                        char state, uint64_t awaiting)
{
    int64_t addr = state == 'c' ? -1 : c->mark;
    if (iframe(L)) {
        size_t nslots = (size_t)c->nlocalsplus + (size_t)c->stacksize + 2;
        uint64_t g = obj(m, L, (size_t)L->gen_iframe + (size_t)L->if_localsplus + 8 * nslots, type);
        int st = state == 'c' ? L->fs_created : state == 'r' ? L->fs_executing
                 : awaiting ? L->fs_suspended_yf : L->fs_suspended;
        w8(m, g, L->gen_frame_state, (uint8_t)(int8_t)st);
        uint64_t f = g + (uint64_t)L->gen_iframe;   /* the embedded frame */
        w64(m, f, L->if_code, code);
        w64(m, f, L->if_instr, code + (uint64_t)L->co_code_adaptive + (uint64_t)(addr < 0 ? 0 : addr));
        w8(m, f, L->if_owner, (uint8_t)L->owner_generator);
        int32_t top = c->nlocalsplus + (awaiting ? 1 : 0);
        w32(m, f, L->if_stacktop, (uint32_t)top);
        if (awaiting) w64(m, f, L->if_localsplus + 8 * (top - 1), awaiting);
        return g;
    }
    uint64_t g = obj(m, L, (size_t)L->gen_size + 16, type);
    uint64_t stack;
    uint64_t f = frame(m, L, c, code, 0, addr, 0, &stack);
    w64(m, g, L->gen_frame, f);
    if (L->gen_code >= 0) w64(m, g, L->gen_code, code);
    w64(m, f, L->f_gen, g);
    if (L->f_state >= 0) {   /* 3.10 */
        int st = state == 'c' ? L->fs_created : state == 'r' ? L->fs_executing : L->fs_suspended;
        w8(m, f, L->f_state, (uint8_t)(int8_t)st);
        w32(m, f, L->f_stackdepth, awaiting ? 1 : 0);
    } else {                 /* 3.8/3.9 */
        w8(m, g, L->gen_running, state == 'r');
        if (state == 's') w64(m, f, L->f_stacktop, stack + (awaiting ? 8 : 0));
    }
    if (awaiting) w64(m, stack, 0, awaiting);
    return g;
}

static uint64_t task_obj(img *m, const strobe_layout *L, const strobe_aio *A, int type_addr_is_sub,
                         uint64_t subtype, int state, uint64_t coro, uint64_t waiter, uint64_t name)
{
    uint64_t t = obj(m, L, (size_t)A->task_size, FT_TASK);
    if (type_addr_is_sub) w64(m, t, L->ob_type, subtype);
    w64(m, t, A->fut_loop, FZ_TYPE(FT_OTHER));
    w32(m, t, A->fut_state, (uint32_t)state);
    w64(m, t, A->task_coro, coro);
    w64(m, t, A->task_fut_waiter, waiter);
    w64(m, t, A->task_name, name);
    return t;
}

static uint64_t set_obj(img *m, const strobe_layout *L, const uint64_t *keys, int n)
{
    uint64_t mask = 7;
    while ((uint64_t)n * 2 > mask + 1) mask = mask * 2 + 1;
    uint64_t table = alloc(m, (size_t)(mask + 1) * (size_t)L->setentry_size);
    for (int i = 0; i < n; i++) w64(m, table, (int32_t)((uint64_t)(2 * i) * (uint64_t)L->setentry_size), keys[i]);
    uint64_t s = obj(m, L, (size_t)L->set_table + 16, FT_OTHER);
    w64(m, s, L->set_mask, mask);
    w64(m, s, L->set_table, table);
    w64(m, s, L->set_used, (uint64_t)n);
    return s;
}

static uint64_t wref(img *m, const strobe_layout *L, uint64_t o)
{
    uint64_t w = obj(m, L, (size_t)L->wr_object + 16, FT_WEAKREF);
    w64(m, w, L->wr_object, o);
    return w;
}

static void tasks_seeds(int v)
{
    const fuzz_version *fv = &fuzz_versions[v];
    strobe_layout L = fz_layout(v);
    strobe_aio A = fz_aio(v);
    const mat_code *mco = &mat_coro[v], *ms = &mat_simple[v];
    char name[64];
    img *m = malloc(sizeof *m);

    /* Weak registry: task 1 (a chain of three coroutines ending in a
     * future's __await__ iterator, named by a str), task 2 done, a dead
     * reference, the set's dummy, a non-task; strong registry: task 3 (a
     * Task subclass, not started, named by an int), task 4 (running, whose
     * chain goes through an async generator's asend). */
    img_init(m, v, 0x04);
    m->hdr[2] = 16;
    m->hdr[3] = 8;
    m->hdr[4] = 63;
    uint64_t cco = code_obj(m, &L, mco);
    uint64_t fut = obj(m, &L, 64, FT_OTHER);
    uint64_t it = obj(m, &L, 64, FT_FUTUREITER);
    w64(m, it, A.futiter_future, fut);
    uint64_t c3 = gen_obj(m, &L, FT_CORO, mco, cco, 's', it);
    uint64_t c2 = gen_obj(m, &L, FT_CORO, mco, cco, 's', c3);
    uint64_t c1 = gen_obj(m, &L, FT_CORO, mco, cco, 's', c2);
    uint64_t t1 = task_obj(m, &L, &A, 0, 0, A.fut_state_pending, c1, fut, str(m, &L, "Task-1"));
    uint64_t t2 = task_obj(m, &L, &A, 0, 0, 2, c2, 0, str(m, &L, "done"));
    uint64_t sub = alloc(m, (size_t)L.tp_base + 8);
    w64(m, sub, L.tp_base, FZ_TYPE(FT_TASK));
    uint64_t c4 = gen_obj(m, &L, FT_CORO, mco, cco, 'c', 0);
    uint64_t t3 = task_obj(m, &L, &A, 1, sub, A.fut_state_pending, c4, 0, int_obj(m, &L, 7));
    uint64_t sleeper = gen_obj(m, &L, FT_CORO, mco, cco, 's', 0);
    uint64_t agen = gen_obj(m, &L, FT_ASYNCGEN, mco, cco, 's', sleeper);
    uint64_t asend = obj(m, &L, 64, FT_ASEND);
    w64(m, asend, A.asend_gen, agen);
    uint64_t top = gen_obj(m, &L, FT_CORO, mco, cco, 's', asend);
    uint64_t running = gen_obj(m, &L, FT_CORO, mco, cco, 'r', 0);
    uint64_t t4 = task_obj(m, &L, &A, 0, 0, A.fut_state_pending, running, 0, int_obj(m, &L, (1ull << 31) + 5));
    uint64_t weak[] = { wref(m, &L, t1), wref(m, &L, t2), wref(m, &L, FZ_TYPE(FT_NONE)),
                        obj(m, &L, 64, FT_OTHER), wref(m, &L, obj(m, &L, 64, FT_OTHER)) };
    uint64_t strong[] = { t3, t4 };
    root(m, 0, set_obj(m, &L, weak, 5));
    root(m, 2, set_obj(m, &L, strong, 2));
    root(m, 4, top);
    root(m, 5, agen);
    root(m, 6, str(m, &L, "named"));
    snprintf(name, sizeof name, "3%d_registries", fv->minor);
    save_img("fuzz_tasks", name, m);

    /* Two coroutines awaiting each other (a cycle), page cache on, no
     * frames resolved; a generator-based chain through a coroutine wrapper. */
    img_init(m, v, 0x01);
    m->hdr[2] = 4;
    m->hdr[3] = 2;
    m->hdr[4] = 3;
    cco = code_obj(m, &L, mco);
    uint64_t csimple = code_obj(m, &L, ms);
    const uint64_t later = 0x1122334455667788ull;   /* replaced below */
    uint64_t ga = gen_obj(m, &L, FT_CORO, mco, cco, 's', later);
    uint64_t gb = gen_obj(m, &L, FT_CORO, mco, cco, 's', ga);
    for (size_t off = 0; off + 8 <= m->len; off += 8)   /* ga awaits gb */
        if (!memcmp(m->b + off, &later, 8)) memcpy(m->b + off, &gb, 8);
    uint64_t inner = gen_obj(m, &L, FT_GEN, ms, csimple, 's', 0);
    uint64_t cw = obj(m, &L, 64, FT_COROWRAPPER);
    w64(m, cw, A.cw_coro, inner);
    uint64_t outer = gen_obj(m, &L, FT_CORO, mco, cco, 's', cw);
    uint64_t t = task_obj(m, &L, &A, 0, 0, A.fut_state_pending, ga, 0, str(m, &L, "cycle"));
    uint64_t ws[] = { wref(m, &L, t) };
    root(m, 0, set_obj(m, &L, ws, 1));
    root(m, 4, outer);
    root(m, 5, gb);
    root(m, 6, int_obj(m, &L, 0));
    snprintf(name, sizeof name, "3%d_cycle", fv->minor);
    save_img("fuzz_tasks", name, m);
    free(m);
}

/* ---- fuzz_pyobj ------------------------------------------------------------ */

static void pyobj_seeds(int v)
{
    strobe_layout L = fz_layout(v);
    char name[64];
    img *m = malloc(sizeof *m);
    img_init(m, v, 0);
    m->hdr[2] = 5;   /* a 6-byte buffer for the cut reads */
    uint32_t cp = 0x1F600;
    memcpy(m->hdr + 4, &cp, 4);
    root(m, 0, str(m, &L, "hello"));
    const uint32_t latin[] = { 'c', 'a', 'f', 0xE9 };
    root(m, 1, str_kind(m, &L, latin, 4, 1, 0));
    const uint32_t ucs2[] = { 0x95A2, 0x6570, 0xD800 };
    root(m, 2, str_kind(m, &L, ucs2, 3, 2, 0));
    const uint32_t ucs4[] = { 0x20000, 'x', 0, 0x10FFFF, 0x110000 };
    root(m, 3, str_kind(m, &L, ucs4, 5, 4, 0));
    root(m, 4, bytes(m, &L, "xyz\0w", 5));
    root(m, 5, int_obj(m, &L, 42));
    root(m, 6, int_obj(m, &L, (1ull << 40) + 3));
    char longs[1100];
    memset(longs, 'a', sizeof longs - 1);
    longs[sizeof longs - 1] = 0;
    root(m, 7, str(m, &L, longs));
    snprintf(name, sizeof name, "3%d_objects", fuzz_versions[v].minor);
    save_img("fuzz_pyobj", name, m);
    free(m);
}

/* ---- fuzz_pprof --------------------------------------------------------------- */

static void pprof_seeds(void)
{
    profile p;
    if (profile_init(&p, NULL) != PROF_OK) exit(1);
    profile_add_value_type(&p, "samples", "count");
    profile_add_value_type(&p, "wall-time", "nanoseconds");
    p.default_value = 1;
    profile_set_period(&p, "wall-time", "nanoseconds", 10000000);
    p.time_nanos = 1700000000123456789LL;
    p.duration_nanos = 2500000000LL;
    profile_add_comment(&p, "strobe fuzz seed");
    uint32_t s[4], fn, loc[2], st, ls;
    profile_intern_string(&p, "main", 4, &s[0]);
    profile_intern_string(&p, "/app/a.py", 9, &s[1]);
    profile_intern_string(&p, "thread name", 11, &s[2]);
    profile_intern_string(&p, "MainThread", 10, &s[3]);
    profile_intern_function(&p, s[0], s[1], 1, &fn);
    profile_intern_location(&p, fn, 5, &loc[0]);
    profile_intern_location(&p, fn, 1, &loc[1]);
    profile_intern_stack(&p, loc, 2, &st);
    prof_label lb = { s[2], s[3] };
    profile_intern_labels(&p, &lb, 1, &ls);
    int64_t vals[2] = { 3, 30000000 };
    profile_add(&p, st, ls, vals);
    unsigned char *out;
    size_t n;
    char err[256];
    if (export_pprof(&p, &out, &n, err, sizeof err) != 0) {
        fprintf(stderr, "mkseeds: %s\n", err);
        exit(1);
    }
    save("fuzz_pprof", "exported.pb.gz", out, n, NULL, 0);
    free(out);
    profile_free(&p);
    /* hand-encoded: "" and "x" strings, a sample type, a sample with packed
     * and unpacked values, a string and a numeric label, unknown fields of
     * every wire type (a group included) */
    static const unsigned char hand[] = {
        0x32, 0x00,                         /* string_table "" */
        0x32, 0x01, 'x',                    /* string_table "x" */
        0x0a, 0x04, 0x08, 0x01, 0x10, 0x01, /* sample_type {type 1, unit 1} */
        0x0a, 0x04, 0x08, 0x01, 0x10, 0x00,
        0x12, 0x10,                         /* sample */
        0x08, 0x01,                         /*   location_id 1 */
        0x12, 0x02, 0x05, 0x06,             /*   value [5, 6] packed */
        0x1a, 0x04, 0x08, 0x01, 0x10, 0x01, /*   label {key 1, str 1} */
        0x1a, 0x02, 0x18, 0x07,             /*   label {num 7} */
        0x9b, 0x01, 0x08, 0x01, 0x9c, 0x01, /* group field 19 { varint } */
        0xa1, 0x01, 1, 2, 3, 4, 5, 6, 7, 8, /* field 20, i64 */
        0xad, 0x01, 1, 2, 3, 4,             /* field 21, i32 */
        0x48, 0x80, 0x01,                   /* time_nanos 128 */
        0x60, 0x0a,                         /* period 10 */
        0x68, 0x01,                         /* comment 1 */
        0x70, 0x01,                         /* default_sample_type 1 */
    };
    save("fuzz_pprof", "hand.pb", hand, sizeof hand, NULL, 0);
}

/* ---- fuzz_opflow: the toy instruction sets (selectors 6 and 7) ------------- */

static void opflow_seed(const char *name, int sel, const uint8_t *code, size_t n, const uint8_t *exc,
                        size_t en)
{
    uint8_t hdr[4] = { (uint8_t)sel, 0, (uint8_t)n, (uint8_t)(n >> 8) };
    uint8_t *b = malloc(n + en);
    memcpy(b, code, n);
    if (en) memcpy(b + n, exc, en);
    save("fuzz_opflow", name, hdr, 4, b, n + en);
    free(b);
}

static void opflow_seeds(void)
{
    enum { NOP = 1, PUSH = 2, POP = 3, RET = 7, CALL = 12, LOADC = 9, SETUP_FIN = 24, BEGIN_FIN = 21,
           END_FIN = 22, CALL_FIN = 23, WITH = 27 };
    /* 3.8-like finally blocks (tests/c/test_opflow.c) */
    const uint8_t fin[] = { SETUP_FIN, 6, PUSH, 0, POP, 0, BEGIN_FIN, 0, PUSH, 0, POP, 0, END_FIN, 0,
                            PUSH, 0, RET, 0 };
    opflow_seed("toy38_finally", 7, fin, sizeof fin, NULL, 0);
    const uint8_t cf[] = { SETUP_FIN, 8, PUSH, 0, CALL_FIN, 4, POP, 0, BEGIN_FIN, 0, END_FIN, 0,
                           PUSH, 0, RET, 0 };
    opflow_seed("toy38_call_finally", 7, cf, sizeof cf, NULL, 0);
    /* 3.11-like: calls, caches, with */
    const uint8_t calls[] = { PUSH, 0, PUSH, 0, PUSH, 0, CALL, 1, LOADC, 0, 0, 0, 0, 0, WITH, 0,
                              POP, 0, POP, 0, RET, 0 };
    opflow_seed("toy311_calls", 6, calls, sizeof calls, NULL, 0);
    /* 600 exception handlers: more block starts pending at once than the
     * analysis's work list holds (it rescans) */
    enum { NH = 600 };
    static uint8_t code[2 * (NH + 2)], exc[5 * NH];
    code[0] = PUSH;
    for (int i = 1; i <= NH; i++) code[2 * i] = NOP;
    code[2 * (NH + 1)] = RET;
    for (int i = 0; i < NH; i++) {
        int t = 1 + i;   /* start 0, length 1, target t, depth 0 (+1 for the exception) */
        uint8_t e[5] = { 0, 1, (uint8_t)(0x40 | (t >> 6)), (uint8_t)(t & 63), 0 };
        memcpy(exc + 5 * i, e, 5);
    }
    opflow_seed("toy311_many_handlers", 6, code, sizeof code, exc, sizeof exc);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: mkseeds CORPUS_DIR\n");
        return 2;
    }
    corpus = argv[1];
    for (int v = 0; v < FUZZ_NVERSIONS; v++) {
        frames_seeds(v);
        tasks_seeds(v);
        pyobj_seeds(v);
    }
    pprof_seeds();
    opflow_seeds();
    printf("mkseeds: fuzz_frames, fuzz_tasks, fuzz_pyobj seeds for %d versions, fuzz_pprof seeds\n",
           FUZZ_NVERSIONS);
    return 0;
}
