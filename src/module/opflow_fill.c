/* opflow_fill.c — fills opflow_tables (src/engine/opflow.h) for the
 * interpreter this module is compiled against.
 *
 * Where each fact comes from:
 *   effects   PyCompile_OpcodeStackEffectWithJump(), the function the
 *             compiler's stackdepth() uses (public since 3.8), captured per
 *             base opcode as a formula of oparg (constant, linear, a bit
 *             count, UNPACK_EX's two bytes, oparg == m) that must reproduce
 *             it at every oparg 0..263 and at ~70 larger ones up to 2^24; an
 *             opcode that fits none stays unknown and makes the analysis
 *             fail on it (never a guess).
 *   deopt,    3.11/3.12: _PyOpcode_Deopt and _PyOpcode_Caches from
 *   caches    internal/pycore_opcode.h (NEED_OPCODE_TABLES); 3.13: the same
 *             tables in internal/pycore_opcode_metadata.h
 *             (NEED_OPCODE_METADATA).  Instrumented opcodes (3.12+) map to
 *             themselves there; their base is the opcode named without the
 *             INSTRUMENTED_ prefix (CPython's own de-instrumentation table
 *             is static in Python/instrumentation.c), from opcode.h's names.
 *   jumps     3.8/3.9: no header has them; the hasjrel/hasjabs lists of that
 *             version's Lib/opcode.py, written here by name.  3.10:
 *             _PyOpcode_Jump/_PyOpcode_RelativeJump (opcode.h,
 *             NEED_OPCODE_JUMP_TABLES).  3.11: the same two tables in
 *             pycore_opcode.h.  3.12: _PyOpcode_Jump (all relative).  3.13:
 *             HAS_JUMP_FLAG in _PyOpcode_opcode_metadata.  Backward jumps
 *             are the ones named *JUMP_BACKWARD* (as dis decides).
 *   block     the opcodes stackdepth() of each version stops a block at,
 *   ends      by name.
 * Everything is compile-time except the effect probing (~100k calls of a
 * switch): well under a millisecond (mode 2 of _opflow_depths measures). */
#define PY_SSIZE_T_CLEAN
#define Py_BUILD_CORE 1
#if PY_VERSION_HEX < 0x030B0000
#define NEED_OPCODE_JUMP_TABLES 1
#endif
#include <Python.h>

#include <limits.h>
#include <string.h>
#include <time.h>

#include "opcode.h"

#if PY_VERSION_HEX >= 0x030D0000
/* Private copies of the generated tables, under our own names. */
#define NEED_OPCODE_METADATA 1
#define _PyOpcode_num_popped strobe_opflow_num_popped_
#define _PyOpcode_num_pushed strobe_opflow_num_pushed_
#define _PyOpcode_opcode_metadata strobe_opflow_metadata_
#define _PyOpcode_macro_expansion strobe_opflow_macro_expansion_
#define _PyOpcode_OpName strobe_opflow_opname_
#define _PyOpcode_Caches strobe_opflow_caches_
#define _PyOpcode_Deopt strobe_opflow_deopt_
#define _PyOpcode_PseudoTargets strobe_opflow_pseudo_targets_
#include "internal/pycore_opcode_metadata.h"
#elif PY_VERSION_HEX >= 0x030B0000
#define NEED_OPCODE_TABLES 1
#define _PyOpcode_Caches strobe_opflow_caches_
#define _PyOpcode_Deopt strobe_opflow_deopt_
#define _PyOpcode_Jump strobe_opflow_jump_
#define _PyOpcode_RelativeJump strobe_opflow_reljump_
#include "internal/pycore_opcode.h"
#endif

#include "opflow.h"
#include "opflow_fill.h"

#ifndef PY_INVALID_STACK_EFFECT
#define PY_INVALID_STACK_EFFECT INT_MAX
#endif

/* ---------------------------------------------------------------------- */
/* Effects as formulas of oparg */

#define NSMALL 264

static const int probe_large[] = {
    300, 383, 384, 511, 512, 513, 767, 768, 1000, 1023, 1024, 1025, 2047, 2048, 4095, 4096,
    4097, 0x1234, 0x1FFF, 0x2000, 0x3FFF, 0x4000, 0x7FFF, 0x8000, 0x8001, 0xABCD, 0xFFFF,
    0x10000, 0x10001, 0x10100, 0x12345, 0x1FFFF, 0x20000, 0x3FFFF, 0x40000, 0x7FFFF, 0x80000,
    0xFFFFF, 0x100000, 0x100003, 0x1FFFFF, 0x200000, 0x3FFFFF, 0x400000, 0x7FFFFF, 0x800000,
    0xABCDEF, 0xFFFFFF, 0x1000000, 0x0F0F0F, 0xF0F0F0, 0x00FF00, 0x0100FF, 0x0203,
    0x0300, 0x0301, 0x0303, 0x0403, 0x0F03, 0x1003, 0xFF03, 0xFFFE, 0x10003, 0x5555, 0xAAAA,
    0x555555, 0xAAAAAA, 0x7F7F7F, 0x808080,
};
#define NLARGE ((int)(sizeof probe_large / sizeof probe_large[0]))

static int eff(int op, int oparg, int jump)
{
    return PyCompile_OpcodeStackEffectWithJump(op, oparg, jump);
}

static int64_t fx_value(const opflow_fx *f, uint32_t a)
{
    int64_t c = f->c, k = f->k;
    switch (f->kind) {
    case OPFLOW_FX_CONST: return c;
    case OPFLOW_FX_LINEAR: return c + k * (int64_t)a;
    case OPFLOW_FX_BITS: {
        uint32_t x = a & f->m;
        int n = 0;
        while (x) { x &= x - 1; n++; }
        return c + k * n;
    }
    case OPFLOW_FX_UNPACK_EX: return c + k * (int64_t)((a & 0xFFu) + (a >> 8));
    case OPFLOW_FX_EQ: return c + k * (int64_t)(a == f->m);
    default: return INT64_MIN;
    }
}

static int fits(const opflow_fx *f, const int *small, const int *large)
{
    for (int i = 0; i < NSMALL; i++)
        if (fx_value(f, (uint32_t)i) != small[i]) return 0;
    for (int i = 0; i < NLARGE; i++)
        if (fx_value(f, (uint32_t)probe_large[i]) != large[i]) return 0;
    return 1;
}

static int set_ck(opflow_fx *f, int kind, int c, int k, uint32_t m)
{
    if (c < -128 || c > 127 || k < -128 || k > 127) return 0;
    memset(f, 0, sizeof *f);
    f->kind = (uint8_t)kind;
    f->c = (int8_t)c;
    f->k = (int8_t)k;
    f->m = m;
    return 1;
}

/* 0 with *out set, or -1 when the effect is invalid or fits no formula. */
static int fit(int op, int jump, opflow_fx *out)
{
    int small[NSMALL], large[NLARGE];
    for (int i = 0; i < NSMALL; i++) {
        small[i] = eff(op, i, jump);
        if (small[i] == PY_INVALID_STACK_EFFECT) return -1;
    }
    for (int i = 0; i < NLARGE; i++) {
        large[i] = eff(op, probe_large[i], jump);
        if (large[i] == PY_INVALID_STACK_EFFECT) return -1;
    }
    int v0 = small[0];
    opflow_fx f;
    if (set_ck(&f, OPFLOW_FX_CONST, v0, 0, 0) && fits(&f, small, large)) goto ok;
    if (set_ck(&f, OPFLOW_FX_LINEAR, v0, small[1] - v0, 0) && fits(&f, small, large)) goto ok;
    {
        uint32_t m = 0;
        for (int b = 0; b < 24; b++) {
            int v = (1 << b) < NSMALL ? small[1 << b] : eff(op, 1 << b, jump);
            if (v != v0) m |= 1u << b;
        }
        if (m) {
            uint32_t low = m & (~m + 1);
            int vl = low < NSMALL ? small[low] : eff(op, (int)low, jump);
            if (set_ck(&f, OPFLOW_FX_BITS, v0, vl - v0, m) && fits(&f, small, large)) goto ok;
        }
    }
    if (set_ck(&f, OPFLOW_FX_UNPACK_EX, v0, small[1] - v0, 0) && fits(&f, small, large)) goto ok;
    for (int x = 1; x < NSMALL; x++) {
        if (small[x] != v0) {
            if (set_ck(&f, OPFLOW_FX_EQ, v0, small[x] - v0, (uint32_t)x) && fits(&f, small, large))
                goto ok;
            break;
        }
    }
    return -1;
ok:
    *out = f;
    return 0;
}

/* ---------------------------------------------------------------------- */

#define FLAG(name, bits) T->opflags[name] |= (uint16_t)(bits)
#define SETCALL(name, kind_, base_, mul_, flags_)                                    \
    do {                                                                             \
        T->call[name].kind = (kind_);                                                \
        T->call[name].base = (base_);                                                \
        T->call[name].mul = (mul_);                                                  \
        T->call[name].flags = (flags_);                                              \
    } while (0)

#if PY_VERSION_HEX >= 0x030A0000 && PY_VERSION_HEX < 0x030D0000
static int in_bits(const uint32_t *bits, int op) { return (bits[op >> 5] >> (op & 31)) & 1; }
#endif

static void fill_deopt(opflow_tables *T)
{
    for (int op = 0; op < OPFLOW_NOPS; op++) T->deopt[op] = (uint8_t)op;
#if PY_VERSION_HEX >= 0x030B0000
    for (int op = 0; op < OPFLOW_NOPS; op++) {
        T->deopt[op] = _PyOpcode_Deopt[op];   /* 0 (CACHE) for non-opcodes */
        T->caches[op] = _PyOpcode_Caches[op];
    }
#endif
#if PY_VERSION_HEX >= 0x030C0000
#define DEINSTR(name) T->deopt[INSTRUMENTED_##name] = name
    DEINSTR(RESUME);
    DEINSTR(END_FOR);
    DEINSTR(END_SEND);
    DEINSTR(RETURN_VALUE);
    DEINSTR(RETURN_CONST);
    DEINSTR(YIELD_VALUE);
    DEINSTR(LOAD_SUPER_ATTR);
    DEINSTR(FOR_ITER);
    DEINSTR(CALL);
    DEINSTR(CALL_FUNCTION_EX);
    DEINSTR(JUMP_FORWARD);
    DEINSTR(JUMP_BACKWARD);
    DEINSTR(POP_JUMP_IF_FALSE);
    DEINSTR(POP_JUMP_IF_TRUE);
    DEINSTR(POP_JUMP_IF_NONE);
    DEINSTR(POP_JUMP_IF_NOT_NONE);
#if PY_VERSION_HEX >= 0x030D0000
    DEINSTR(CALL_KW);
#endif
#undef DEINSTR
    FLAG(INSTRUMENTED_LINE, OPFLOW_OPF_OPAQUE);
    FLAG(INSTRUMENTED_INSTRUCTION, OPFLOW_OPF_OPAQUE);
#endif
#if PY_VERSION_HEX >= 0x030D0000
    FLAG(ENTER_EXECUTOR, OPFLOW_OPF_OPAQUE);
#endif
}

static void fill_jumps(opflow_tables *T)
{
#if PY_VERSION_HEX < 0x030A0000
    /* Lib/opcode.py: jrel_op / jabs_op of 3.8 and 3.9 */
    FLAG(FOR_ITER, OPFLOW_OPF_JUMP);
    FLAG(JUMP_FORWARD, OPFLOW_OPF_JUMP);
    FLAG(SETUP_FINALLY, OPFLOW_OPF_JUMP);
    FLAG(SETUP_WITH, OPFLOW_OPF_JUMP);
    FLAG(SETUP_ASYNC_WITH, OPFLOW_OPF_JUMP);
#if PY_VERSION_HEX < 0x03090000
    FLAG(CALL_FINALLY, OPFLOW_OPF_JUMP | OPFLOW_OPF_NOFOLLOW);
#else
    FLAG(JUMP_IF_NOT_EXC_MATCH, OPFLOW_OPF_JUMP | OPFLOW_OPF_JABS);
#endif
    FLAG(JUMP_IF_FALSE_OR_POP, OPFLOW_OPF_JUMP | OPFLOW_OPF_JABS);
    FLAG(JUMP_IF_TRUE_OR_POP, OPFLOW_OPF_JUMP | OPFLOW_OPF_JABS);
    FLAG(JUMP_ABSOLUTE, OPFLOW_OPF_JUMP | OPFLOW_OPF_JABS);
    FLAG(POP_JUMP_IF_FALSE, OPFLOW_OPF_JUMP | OPFLOW_OPF_JABS);
    FLAG(POP_JUMP_IF_TRUE, OPFLOW_OPF_JUMP | OPFLOW_OPF_JABS);
#elif PY_VERSION_HEX < 0x030C0000
    for (int op = 0; op < OPFLOW_NOPS; op++) {
        if (!in_bits(_PyOpcode_Jump, op)) continue;
        FLAG(op, OPFLOW_OPF_JUMP);
        if (!in_bits(_PyOpcode_RelativeJump, op)) FLAG(op, OPFLOW_OPF_JABS);
    }
#elif PY_VERSION_HEX < 0x030D0000
    for (int op = 0; op < OPFLOW_NOPS; op++)
        if (in_bits(_PyOpcode_Jump, op)) FLAG(op, OPFLOW_OPF_JUMP);
#else
    for (int op = 0; op < OPFLOW_NOPS; op++)
        if (_PyOpcode_opcode_metadata[op].valid_entry &&
            (_PyOpcode_opcode_metadata[op].flags & HAS_JUMP_FLAG))
            FLAG(op, OPFLOW_OPF_JUMP);
#endif
#ifdef JUMP_BACKWARD
    FLAG(JUMP_BACKWARD, OPFLOW_OPF_JBACK);
#endif
#ifdef JUMP_BACKWARD_NO_INTERRUPT
    FLAG(JUMP_BACKWARD_NO_INTERRUPT, OPFLOW_OPF_JBACK);
#endif
#if PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030C0000
    FLAG(POP_JUMP_BACKWARD_IF_FALSE, OPFLOW_OPF_JBACK);
    FLAG(POP_JUMP_BACKWARD_IF_TRUE, OPFLOW_OPF_JBACK);
    FLAG(POP_JUMP_BACKWARD_IF_NONE, OPFLOW_OPF_JBACK);
    FLAG(POP_JUMP_BACKWARD_IF_NOT_NONE, OPFLOW_OPF_JBACK);
#endif

    /* Where stackdepth() ends a block (3.8: jumps, return, raise; 3.9+
     * RERAISE; 3.12+ RETURN_CONST). */
#ifdef JUMP_ABSOLUTE
    FLAG(JUMP_ABSOLUTE, OPFLOW_OPF_TERM);
#endif
    FLAG(JUMP_FORWARD, OPFLOW_OPF_TERM);
#ifdef JUMP_BACKWARD
    FLAG(JUMP_BACKWARD, OPFLOW_OPF_TERM);
#endif
#ifdef JUMP_BACKWARD_NO_INTERRUPT
    FLAG(JUMP_BACKWARD_NO_INTERRUPT, OPFLOW_OPF_TERM);
#endif
    FLAG(RETURN_VALUE, OPFLOW_OPF_TERM);
#ifdef RETURN_CONST
    FLAG(RETURN_CONST, OPFLOW_OPF_TERM);
#endif
    FLAG(RAISE_VARARGS, OPFLOW_OPF_TERM);
#ifdef RERAISE
    FLAG(RERAISE, OPFLOW_OPF_TERM);
#endif

#if PY_VERSION_HEX < 0x03090000
    FLAG(BEGIN_FINALLY, OPFLOW_OPF_BEGIN_FIN);
    FLAG(END_FINALLY, OPFLOW_OPF_END_FIN);
#endif
#if PY_VERSION_HEX >= 0x030A0000 && PY_VERSION_HEX < 0x030B0000
    FLAG(GEN_START, OPFLOW_OPF_GENSTART);
#elif PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030D0000
    FLAG(RETURN_GENERATOR, OPFLOW_OPF_GENSTART);
    FLAG(MAKE_CELL, OPFLOW_OPF_PREFIX);
    FLAG(COPY_FREE_VARS, OPFLOW_OPF_PREFIX);
#endif
}

static void fill_calls(opflow_tables *T)
{
#if PY_VERSION_HEX < 0x030B0000
    SETCALL(CALL_FUNCTION, OPFLOW_CALL_PLAIN, -1, 1, 0);
    SETCALL(CALL_METHOD, OPFLOW_CALL_METHOD, -2, 1, 0);
    SETCALL(CALL_FUNCTION_KW, OPFLOW_CALL_KW, -2, 1, OPFLOW_CD_KWTOP);
    SETCALL(CALL_FUNCTION_EX, OPFLOW_CALL_EX, -2, 0, OPFLOW_CD_EXBIT);
    SETCALL(SETUP_WITH, OPFLOW_CALL_ENTER, -1, 0, OPFLOW_CD_EXITBOUND);
    SETCALL(BEFORE_ASYNC_WITH, OPFLOW_CALL_AENTER, -1, 0, OPFLOW_CD_EXITBOUND);
#elif PY_VERSION_HEX < 0x030C0000
    SETCALL(PRECALL, OPFLOW_CALL_METHOD, -2, 1, OPFLOW_CD_KWASIDE);
    SETCALL(CALL, OPFLOW_CALL_METHOD, -2, 0, OPFLOW_CD_KWASIDE);   /* D is oparg short */
    SETCALL(CALL_FUNCTION_EX, OPFLOW_CALL_EX, -2, 0, OPFLOW_CD_EXBIT | OPFLOW_CD_NULLSLOT);
    SETCALL(BEFORE_WITH, OPFLOW_CALL_ENTER, -1, 0, OPFLOW_CD_EXITBOUND);
    SETCALL(BEFORE_ASYNC_WITH, OPFLOW_CALL_AENTER, -1, 0, OPFLOW_CD_EXITBOUND);
#elif PY_VERSION_HEX < 0x030D0000
    SETCALL(CALL, OPFLOW_CALL_METHOD, -2, 1, OPFLOW_CD_KWASIDE);
    SETCALL(CALL_FUNCTION_EX, OPFLOW_CALL_EX, -2, 0, OPFLOW_CD_EXBIT | OPFLOW_CD_NULLSLOT);
    SETCALL(BEFORE_WITH, OPFLOW_CALL_ENTER, -1, 0, 0);
    SETCALL(BEFORE_ASYNC_WITH, OPFLOW_CALL_AENTER, -1, 0, 0);
#else
    SETCALL(CALL, OPFLOW_CALL_PLAIN, -2, 1, OPFLOW_CD_SELF);
    SETCALL(CALL_KW, OPFLOW_CALL_KW, -3, 1, OPFLOW_CD_SELF | OPFLOW_CD_KWTOP);
    SETCALL(CALL_FUNCTION_EX, OPFLOW_CALL_EX, -3, 0,
            OPFLOW_CD_EXBIT | OPFLOW_CD_SELF | OPFLOW_CD_NULLSLOT);
    SETCALL(BEFORE_WITH, OPFLOW_CALL_ENTER, -1, 0, 0);
    SETCALL(BEFORE_ASYNC_WITH, OPFLOW_CALL_AENTER, -1, 0, 0);
#endif
}

void strobe_opflow_fill(opflow_tables *T)
{
    memset(T, 0, sizeof *T);
    T->version_hex = PY_VERSION_HEX;
#if PY_VERSION_HEX < 0x030A0000
    T->flags |= OPFLOW_T_JUMP_BYTES;
#endif
#if PY_VERSION_HEX >= 0x030B0000
    T->flags |= OPFLOW_T_EXCTABLE;
#endif
#if PY_VERSION_HEX >= 0x030A0000 && PY_VERSION_HEX < 0x030D0000
    T->flags |= OPFLOW_T_GEN_DEPTH1;
#endif
    fill_deopt(T);
    fill_jumps(T);

    for (int op = 0; op < OPFLOW_NOPS; op++) {
        if (T->deopt[op] != op || (T->opflags[op] & OPFLOW_OPF_OPAQUE)) continue;
#if PY_VERSION_HEX >= 0x030B0000
        if (op == CACHE) continue;   /* inline cache entries are never executed */
#endif
#ifdef RESERVED
        if (op == RESERVED) continue;
#endif
        if (op == EXTENDED_ARG) {
            T->opflags[op] |= OPFLOW_OPF_VALID | OPFLOW_OPF_EXTARG;
            T->fx[op].kind = OPFLOW_FX_CONST;
            T->jfx[op].kind = OPFLOW_FX_CONST;
            continue;
        }
        if (fit(op, 0, &T->fx[op]) != 0) continue;
        if (T->opflags[op] & OPFLOW_OPF_JUMP) {
            if (fit(op, 1, &T->jfx[op]) != 0) continue;
        } else
            T->jfx[op] = T->fx[op];
        T->opflags[op] |= OPFLOW_OPF_VALID;
    }
    /* Opcodes that are not base opcodes take their base's validity through
     * deopt[]; flags stay on the base. */
    fill_calls(T);
}

/* ---------------------------------------------------------------------- */
/* Test-only entry points */

static opflow_tables g_tables;
static int g_tables_ready;

static const opflow_tables *tables(void)
{
    if (!g_tables_ready) {
        strobe_opflow_fill(&g_tables);
        g_tables_ready = 1;
    }
    return &g_tables;
}

static PyObject *int16_list(const int16_t *v, size_t n)
{
    PyObject *l = PyList_New((Py_ssize_t)n);
    if (!l) return NULL;
    for (size_t i = 0; i < n; i++) {
        PyObject *x = PyLong_FromLong(v[i]);
        if (!x) { Py_DECREF(l); return NULL; }
        PyList_SET_ITEM(l, (Py_ssize_t)i, x);
    }
    return l;
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

PyObject *strobe_py_opflow_depths(PyObject *self, PyObject *args)
{
    (void)self;
    Py_buffer code, exc;
    int mode = 0;
    if (!PyArg_ParseTuple(args, "y*y*|i", &code, &exc, &mode)) return NULL;
    PyObject *res = NULL;
    if (mode == 2) {
        int64_t best = INT64_MAX;
        for (int i = 0; i < 5; i++) {
            opflow_tables *t = PyMem_Malloc(sizeof *t);
            if (!t) { PyErr_NoMemory(); goto out; }
            int64_t t0 = now_ns();
            strobe_opflow_fill(t);
            int64_t dt = now_ns() - t0;
            PyMem_Free(t);
            if (dt < best) best = dt;
        }
        res = PyLong_FromLongLong(best);
        goto out;
    }
    size_t n = (size_t)code.len / 2 + 1;
    int16_t *d = PyMem_Malloc(n * sizeof *d);
    uint8_t *nest = mode == 1 ? PyMem_Malloc(n) : NULL;
    if (!d || (mode == 1 && !nest)) {
        PyMem_Free(d);
        PyMem_Free(nest);
        PyErr_NoMemory();
        goto out;
    }
    const opflow_tables *T = tables();
    int r = opflow_depths(T, code.buf, (size_t)code.len, exc.buf, (size_t)exc.len, d, n);
    if (r == 0 && mode == 1)
        r = opflow_finally_nesting(T, code.buf, (size_t)code.len, d, nest, n);
    if (r != 0) {
        PyObject *e = Py_BuildValue("(is)", r, opflow_strerror(r));
        if (e) {
            PyErr_SetObject(PyExc_ValueError, e);
            Py_DECREF(e);
        }
    } else {
        res = int16_list(d, (size_t)code.len / 2);
        if (res && mode == 1) {
            int16_t *n16 = PyMem_Malloc(n * sizeof *n16);
            PyObject *nl = NULL, *t = NULL;
            if (n16) {
                for (size_t i = 0; i < n; i++) n16[i] = nest[i];
                nl = int16_list(n16, (size_t)code.len / 2);
                PyMem_Free(n16);
            } else
                PyErr_NoMemory();
            if (nl) t = PyTuple_Pack(2, res, nl);
            Py_XDECREF(nl);
            Py_DECREF(res);
            res = t;
        }
    }
    PyMem_Free(d);
    PyMem_Free(nest);
out:
    PyBuffer_Release(&code);
    PyBuffer_Release(&exc);
    return res;
}

PyObject *strobe_py_opflow_callee(PyObject *self, PyObject *args)
{
    (void)self;
    int opcode, oparg, depth;
    if (!PyArg_ParseTuple(args, "iii", &opcode, &oparg, &depth)) return NULL;
    opflow_call c;
    if (opflow_callee(tables(), opcode, oparg, depth, &c) != 0) Py_RETURN_NONE;
    return Py_BuildValue("(iiiiiiiii)", c.kind, c.slot, c.self_slot, c.args_slot, c.nargs,
                         c.kwnames_slot, c.kwargs_slot, c.null_slot, c.flags);
}
