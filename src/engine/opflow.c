/* opflow.c — stack depths from bytecode and call-site slots (see opflow.h).
 *
 * The analysis is the compiler's own stackdepth() run on the final
 * instruction stream instead of the compiler's basic blocks: the depth at
 * the first instruction (0, or 1 for generators on 3.10-3.12, whose prefix
 * the compiler analyses starting at 1), the depth at every 3.11+ exception
 * handler (the table's depth, +1 for the exception, +1 more with lasti, as
 * the assembler wrote it), then each instruction's effect along its
 * fall-through and its jump edge, with the compiler's rules: no fall-through
 * after return/raise/reraise/unconditional jumps, and 3.8's CALL_FINALLY
 * edge not followed (the compiler asserts its target already has a depth).
 * Every merge must agree.  The interpreter's own effect function is the
 * source of the effects (PyCompile_OpcodeStackEffectWithJump, the function
 * stackdepth() calls), captured per opcode by the fill as a formula of
 * oparg.  Checked against a pure-`dis` reference on the standard library of
 * every version (tests/py/test_opflow.py): equal at every code unit, and the
 * reference's maximum is co_stacksize for 95-100% of the code objects (never
 * above it; below only where the compiler optimised code away after
 * counting).
 *
 * Where the model and the running interpreter differ:
 *   - 3.8 `finally:` bodies entered without an exception: see
 *     opflow_finally_nesting();
 *   - 3.11 CALL: the compiler charges PRECALL with -oparg although PRECALL
 *     pops nothing at run time, so the depth before CALL is oparg less than
 *     the real one (the call table below accounts for it);
 *   - 3.11/3.12 RETURN_GENERATOR (depth 1 in the model, 0 when it runs) and
 *     3.12+ END_FOR reached by FOR_ITER's jump (the interpreter skips it):
 *     neither is ever a call site.
 * Everything else is the running interpreter's depth: the call table below
 * was also checked inside each interpreter by a throwaway extension whose
 * C functions read their caller's value stack at the slots given here
 * (plain, method-descriptor, bound, keyword, *args and **kwargs, with, async
 * with, generator and coroutine calls, unspecialised and after 3000 runs).
 *
 * Call sites, per version (slots from the bottom; D = depth before the
 * instruction as computed here; "a" is opflow_call.slot):
 *
 *   version    opcode               stack (bottom .. top)                        a
 *   3.8-3.10   CALL_FUNCTION n      callable, args[n]                            D-1-n
 *              CALL_METHOD n        meth|NULL, self|callable, args[n]            D-2-n   METHOD
 *              CALL_FUNCTION_KW n   callable, args[n], kwnames                   D-2-n   KW
 *              CALL_FUNCTION_EX f   callable, tuple, [dict if f&1]               D-2-(f&1)
 *              SETUP_WITH           mgr (bound __exit__ while __enter__ runs)    D-1     ENTER
 *              BEFORE_ASYNC_WITH    mgr (bound __aexit__ while __aenter__ runs)  D-1     AENTER
 *   3.11       PRECALL n            meth|NULL, self|callable, args[n]            D-2-n   METHOD
 *              CALL n               same stack, but D is n short (see above)     D-2     METHOD
 *                                   (keyword names: KW_NAMES before PRECALL keeps them aside)
 *              CALL_FUNCTION_EX f   NULL, callable, tuple, [dict]                D-2-(f&1)
 *              BEFORE_WITH          mgr (bound __exit__ while __enter__ runs)    D-1     ENTER
 *              BEFORE_ASYNC_WITH    mgr (bound __aexit__ ...)                    D-1     AENTER
 *   3.12       CALL n               meth|NULL, self|callable, args[n]            D-2-n   METHOD
 *                                   (keyword names: KW_NAMES before CALL keeps them aside)
 *              CALL_FUNCTION_EX f   NULL, callable, tuple, [dict]                D-2-(f&1)
 *              BEFORE_WITH          mgr (exit, res written only after the call)  D-1     ENTER
 *              BEFORE_ASYNC_WITH    mgr                                          D-1     AENTER
 *   3.13       CALL n               callable, self|NULL, args[n]                 D-2-n   PLAIN
 *              CALL_KW n            callable, self|NULL, args[n], kwnames        D-3-n   KW
 *              CALL_FUNCTION_EX f   callable, NULL, tuple, [dict]                D-3-(f&1)
 *              BEFORE_WITH          mgr                                          D-1     ENTER
 *              BEFORE_ASYNC_WITH    mgr                                          D-1     AENTER
 *
 * METHOD: when slot a is not NULL it holds the function and slot a+1 self
 * (LOAD_METHOD/LOAD_ATTR found a method, or the call unpacked a bound
 * method); when NULL the callable is at a+1.  The 3.11 PRECALL
 * specialisations (PRECALL_BUILTIN_FAST, PRECALL_NO_KW_METHOD_DESCRIPTOR_O,
 * ...) call the C function from PRECALL itself and skip CALL, so both are
 * call sites.  Specialised forms keep their base opcode's stack layout.
 * 3.13 PLAIN: slot a is always the callable (a bound method with NULL
 * beside it is unpacked in place into function, self). */
#include "opflow.h"

#include <string.h>

/* depth_out encoding while the analysis runs */
#define ST_NONSTART (-1)
#define ST_START (-2)
#define PENDING(d) ((int16_t)(-(d) - 3))
#define IS_PENDING(v) ((v) <= -3)
#define PENDING_DEPTH(v) (-(int)(v) - 3)

#define WORK_CAP 512

const char *opflow_strerror(int err)
{
    switch (err) {
    case 0: return "ok";
    case OPFLOW_EARG: return "bad arguments";
    case OPFLOW_EOPCODE: return "unknown opcode";
    case OPFLOW_EOPAQUE: return "instrumented or executor opcode (real instruction stored elsewhere)";
    case OPFLOW_ETRUNC: return "code ends inside an instruction";
    case OPFLOW_EJUMP: return "jump target outside the code or not an instruction start";
    case OPFLOW_EEXTARG: return "too many EXTENDED_ARG";
    case OPFLOW_EMERGE: return "inconsistent depths where paths merge";
    case OPFLOW_ENEG: return "negative stack depth";
    case OPFLOW_EDEEP: return "stack depth too large";
    case OPFLOW_EEXCTAB: return "malformed exception table";
    case OPFLOW_EBUDGET: return "work budget exceeded";
    default: return "unknown error";
    }
}

static int popcount32(uint32_t x)
{
    int n = 0;
    while (x) {
        x &= x - 1;
        n++;
    }
    return n;
}

static int fx_eval(const opflow_fx *f, uint32_t oparg, int64_t *out)
{
    int64_t c = f->c, k = f->k;
    switch (f->kind) {
    case OPFLOW_FX_CONST: *out = c; return 0;
    case OPFLOW_FX_LINEAR: *out = c + k * (int64_t)oparg; return 0;
    case OPFLOW_FX_BITS: *out = c + k * popcount32(oparg & f->m); return 0;
    case OPFLOW_FX_UNPACK_EX: *out = c + k * (int64_t)((oparg & 0xFFu) + (oparg >> 8)); return 0;
    case OPFLOW_FX_EQ: *out = c + k * (int64_t)(oparg == f->m); return 0;
    default: return -1;
    }
}

int opflow_effect(const opflow_tables *T, int op, uint32_t oparg, int jump, int *out)
{
    if (!T || !out || op < 0 || op >= OPFLOW_NOPS || !(T->opflags[op] & OPFLOW_OPF_VALID))
        return -1;
    int64_t v;
    if (fx_eval(jump ? &T->jfx[op] : &T->fx[op], oparg, &v) != 0) return -1;
    if (v < -1073741824 || v > 1073741824) return -1;
    *out = (int)v;
    return 0;
}

static inline int base_of(const opflow_tables *T, uint8_t raw) { return T->deopt[raw]; }

/* Jump target of the instruction at unit i (base opcode op, full oparg), in
 * units; -1 when it is not a unit inside [0, nu). */
static int64_t jump_target(const opflow_tables *T, int op, uint32_t oparg, size_t i, size_t nu)
{
    uint16_t f = T->opflags[op];
    int64_t arg = oparg;
    if (T->flags & OPFLOW_T_JUMP_BYTES) {
        if (arg & 1) return -1;   /* into the middle of a code unit */
        arg >>= 1;
    }
    int64_t t;
    if (f & OPFLOW_OPF_JABS)
        t = arg;
    else {
        int64_t next = (int64_t)i + 1 + T->caches[op];
        t = (f & OPFLOW_OPF_JBACK) ? next - arg : next + arg;
    }
    if (t < 0 || t >= (int64_t)nu) return -1;
    return t;
}

typedef struct flow {
    const opflow_tables *T;
    const uint8_t *code;
    size_t nu;
    int16_t *D;
    uint32_t work[WORK_CAP];
    size_t nwork;
    int overflow;
    uint64_t budget;
} flow;

static int is_extarg_start(const flow *F, size_t u)
{
    return F->D[u] != ST_NONSTART &&
           (F->T->opflags[base_of(F->T, F->code[2 * u])] & OPFLOW_OPF_EXTARG);
}

/* A block starts at u with depth d (the first instruction, a jump target or
 * an exception handler). */
static int seed(flow *F, int64_t u, int64_t d)
{
    if (u < 0 || u >= (int64_t)F->nu) return OPFLOW_EJUMP;
    if (d < 0) return OPFLOW_ENEG;
    if (d > OPFLOW_MAX_DEPTH) return OPFLOW_EDEEP;
    int16_t v = F->D[u];
    if (v == ST_NONSTART) return OPFLOW_EJUMP;
    if (v >= 0) return v == d ? 0 : OPFLOW_EMERGE;
    if (IS_PENDING(v)) return PENDING_DEPTH(v) == d ? 0 : OPFLOW_EMERGE;
    /* A block never starts between EXTENDED_ARG and its instruction: the
     * oparg there would not be the one decoded. */
    if (u > 0 && is_extarg_start(F, (size_t)u - 1)) return OPFLOW_EJUMP;
    F->D[u] = PENDING(d);
    if (F->nwork < WORK_CAP)
        F->work[F->nwork++] = (uint32_t)u;
    else
        F->overflow = 1;   /* found again by a rescan */
    return 0;
}

/* Follow the straight line from the pending block start u until an
 * instruction without fall-through or one that already has a depth. */
static int walk(flow *F, size_t u)
{
    const opflow_tables *T = F->T;
    int16_t v = F->D[u];
    if (!IS_PENDING(v)) return 0;   /* done already (a rescan found it twice) */
    int64_t d = PENDING_DEPTH(v);
    F->D[u] = (int16_t)d;
    size_t i = u;
    uint32_t ext = 0;
    int next = 0;
    for (;;) {
        if (F->budget-- == 0) return OPFLOW_EBUDGET;
        uint8_t raw = F->code[2 * i], arg = F->code[2 * i + 1];
        int op = base_of(T, raw);
        uint16_t f = T->opflags[op];
        int64_t nd = d;
        size_t ni;
        if (f & OPFLOW_OPF_EXTARG) {
            if (++next > OPFLOW_MAX_EXTARGS) return OPFLOW_EEXTARG;
            ext = (ext | arg) << 8;
            ni = i + 1 + T->caches[op];
        } else {
            uint32_t oparg = ext | arg;
            ext = 0;
            next = 0;
            int64_t e;
            if (fx_eval(&T->fx[op], oparg, &e) != 0) return OPFLOW_EOPCODE;
            if ((f & OPFLOW_OPF_JUMP) && !(f & OPFLOW_OPF_NOFOLLOW)) {
                int64_t je;
                if (fx_eval(&T->jfx[op], oparg, &je) != 0) return OPFLOW_EOPCODE;
                int64_t t = jump_target(T, op, oparg, i, F->nu);
                if (t < 0) return OPFLOW_EJUMP;
                int r = seed(F, t, d + je);
                if (r) return r;
            } else if (f & OPFLOW_OPF_JUMP) {
                /* not followed, but still a jump inside the code */
                if (jump_target(T, op, oparg, i, F->nu) < 0) return OPFLOW_EJUMP;
            }
            nd = d + e;
            if (nd < 0) return OPFLOW_ENEG;
            if (nd > OPFLOW_MAX_DEPTH) return OPFLOW_EDEEP;
            if (f & OPFLOW_OPF_TERM) return 0;
            ni = i + 1 + T->caches[op];
        }
        if (ni >= F->nu) return OPFLOW_ETRUNC;   /* falls off the end */
        int16_t w = F->D[ni];
        if (w == ST_NONSTART) return OPFLOW_ETRUNC;   /* cannot happen: pass 1 */
        if (w != ST_START) {
            if (next) return OPFLOW_EJUMP;   /* cannot happen: seed() refuses */
            int64_t have = w >= 0 ? w : PENDING_DEPTH(w);
            return have == nd ? 0 : OPFLOW_EMERGE;
        }
        F->D[ni] = (int16_t)nd;
        i = ni;
        d = nd;
    }
}

/* One varint of the exception table: 6 bits a byte, big-endian, 0x40 = more. */
static int varint(const uint8_t *p, size_t n, size_t *pos, uint32_t *out)
{
    uint32_t v = 0;
    for (int k = 0; k < 5; k++) {
        if (*pos >= n) return -1;
        uint8_t b = p[(*pos)++];
        v = (v << 6) | (b & 63u);
        if (!(b & 64)) {
            *out = v;
            return 0;
        }
    }
    return -1;   /* longer than 30 bits */
}

int opflow_depths(const opflow_tables *T, const uint8_t *code, size_t code_len,
                  const uint8_t *exctab, size_t exc_len, int16_t *depth_out, size_t n_units)
{
    if (!T || !code || !depth_out || code_len == 0 || (code_len & 1) || (exc_len && !exctab))
        return OPFLOW_EARG;
    size_t nu = code_len / 2;
    if (n_units < nu || nu > ((size_t)1 << 31)) return OPFLOW_EARG;
    if (exc_len && !(T->flags & OPFLOW_T_EXCTABLE)) return OPFLOW_EEXCTAB;
    for (size_t i = nu; i < n_units; i++) depth_out[i] = ST_NONSTART;

    /* Pass 1: instruction starts, opcodes, cache units. */
    int run = 0;
    for (size_t i = 0; i < nu;) {
        uint8_t raw = code[2 * i];
        if (T->opflags[raw] & OPFLOW_OPF_OPAQUE) return OPFLOW_EOPAQUE;
        int op = base_of(T, raw);
        if (!(T->opflags[op] & OPFLOW_OPF_VALID)) return OPFLOW_EOPCODE;
        if (T->opflags[op] & OPFLOW_OPF_EXTARG) {
            if (++run > OPFLOW_MAX_EXTARGS) return OPFLOW_EEXTARG;
        } else
            run = 0;
        size_t len = 1 + (size_t)T->caches[op];
        if (len > nu - i) return OPFLOW_ETRUNC;
        depth_out[i] = ST_START;
        for (size_t j = 1; j < len; j++) depth_out[i + j] = ST_NONSTART;
        i += len;
    }
    if (run) return OPFLOW_ETRUNC;   /* ends with EXTENDED_ARG */

    flow F;
    F.T = T;
    F.code = code;
    F.nu = nu;
    F.D = depth_out;
    F.nwork = 0;
    F.overflow = 0;
    F.budget = 64 * (uint64_t)nu + 4 * (uint64_t)exc_len + 65536;

    /* The entry: 3.10-3.12 analyse generators from depth 1 (GEN_START pops
     * the sent value; RETURN_GENERATOR's POP_TOP pops it), recognised by
     * the generator opcode right after the cell/free-variable prefix. */
    int64_t d0 = 0;
    if (T->flags & OPFLOW_T_GEN_DEPTH1) {
        size_t i = 0;
        while (i < nu && (T->opflags[base_of(T, code[2 * i])] & (OPFLOW_OPF_PREFIX | OPFLOW_OPF_EXTARG)))
            i += 1 + T->caches[base_of(T, code[2 * i])];
        if (i < nu && (T->opflags[base_of(T, code[2 * i])] & OPFLOW_OPF_GENSTART)) d0 = 1;
    }
    int r = seed(&F, 0, d0);
    if (r) return r;

    /* 3.11+ handlers: (start, length, target, depth << 1 | lasti), in units. */
    for (size_t p = 0; p < exc_len;) {
        uint32_t start, len, target, dl;
        if (varint(exctab, exc_len, &p, &start) || varint(exctab, exc_len, &p, &len) ||
            varint(exctab, exc_len, &p, &target) || varint(exctab, exc_len, &p, &dl))
            return OPFLOW_EEXCTAB;
        if ((uint64_t)start + len > nu || target >= nu) return OPFLOW_EEXCTAB;
        r = seed(&F, target, (int64_t)(dl >> 1) + 1 + (dl & 1));
        if (r) return r;
        if (F.budget-- == 0) return OPFLOW_EBUDGET;
    }

    for (;;) {
        while (F.nwork) {
            r = walk(&F, F.work[--F.nwork]);
            if (r) return r;
        }
        if (!F.overflow) break;
        /* More block starts were found than the work list holds: collect
         * the pending ones again. */
        F.overflow = 0;
        for (size_t i = 0; i < nu; i++) {
            if (F.budget-- == 0) return OPFLOW_EBUDGET;
            if (IS_PENDING(depth_out[i])) {
                if (F.nwork < WORK_CAP)
                    F.work[F.nwork++] = (uint32_t)i;
                else {
                    F.overflow = 1;
                    break;
                }
            }
        }
    }
    for (size_t i = 0; i < nu; i++)
        if (depth_out[i] < 0) depth_out[i] = ST_NONSTART;   /* unreached starts */
    return 0;
}

int opflow_decode(const opflow_tables *T, const uint8_t *code, size_t code_len,
                  const int16_t *depths, size_t n_units, size_t unit,
                  int *opcode, uint32_t *oparg, size_t *instr_unit)
{
    if (!T || !code || !depths || !opcode || !oparg || (code_len & 1)) return OPFLOW_EARG;
    size_t nu = code_len / 2;
    if (n_units < nu || unit >= nu) return OPFLOW_EARG;
    if (depths[unit] < 0) return OPFLOW_EJUMP;   /* not a (reached) instruction start */
    size_t j = unit;
    for (int k = 0; k < OPFLOW_MAX_EXTARGS && j > 0 && depths[j - 1] >= 0 &&
                    (T->opflags[base_of(T, code[2 * (j - 1)])] & OPFLOW_OPF_EXTARG);
         k++)
        j--;
    uint32_t ext = 0;
    for (int k = 0;; k++) {
        if (j >= nu) return OPFLOW_ETRUNC;
        if (T->opflags[code[2 * j]] & OPFLOW_OPF_OPAQUE) return OPFLOW_EOPAQUE;
        int op = base_of(T, code[2 * j]);
        if (!(T->opflags[op] & OPFLOW_OPF_VALID)) return OPFLOW_EOPCODE;
        if (!(T->opflags[op] & OPFLOW_OPF_EXTARG)) {
            *opcode = op;
            *oparg = ext | code[2 * j + 1];
            if (instr_unit) *instr_unit = j;
            return 0;
        }
        if (k >= OPFLOW_MAX_EXTARGS) return OPFLOW_EEXTARG;
        ext = (ext | code[2 * j + 1]) << 8;
        j++;
    }
}

int opflow_callee(const opflow_tables *T, int opcode, int oparg, int depth, opflow_call *out)
{
    if (!T || !out || opcode < 0 || opcode >= OPFLOW_NOPS || depth < 0 || depth > OPFLOW_MAX_DEPTH)
        return -1;
    int op = T->deopt[opcode];
    const opflow_calldesc *cd = &T->call[op];
    if (!cd->kind) return -1;
    uint32_t a = (uint32_t)oparg;
    int64_t s = (int64_t)depth + cd->base - (int64_t)cd->mul * a -
                ((cd->flags & OPFLOW_CD_EXBIT) ? (int64_t)(a & 1) : 0);
    int64_t n = a;
    if (s < 0 || n > OPFLOW_MAX_DEPTH) return -1;
    int self = (cd->flags & OPFLOW_CD_SELF) != 0;
    out->kind = cd->kind;
    out->slot = (int)s;
    out->self_slot = -1;
    out->args_slot = -1;
    out->nargs = 0;
    out->kwnames_slot = -1;
    out->kwargs_slot = -1;
    out->null_slot = -1;
    out->flags = cd->flags & (OPFLOW_CD_KWASIDE | OPFLOW_CD_EXITBOUND);
    switch (cd->kind) {
    case OPFLOW_CALL_PLAIN:
    case OPFLOW_CALL_KW:
        if (self) out->self_slot = (int)s + 1;
        out->args_slot = (int)s + 1 + self;
        out->nargs = (int)n;
        if (cd->kind == OPFLOW_CALL_KW && (cd->flags & OPFLOW_CD_KWTOP))
            out->kwnames_slot = out->args_slot + (int)n;
        break;
    case OPFLOW_CALL_METHOD:
        out->self_slot = (int)s + 1;
        out->args_slot = (int)s + 2;
        out->nargs = (int)n;
        break;
    case OPFLOW_CALL_EX:
        if (cd->flags & OPFLOW_CD_NULLSLOT) {
            if (self)
                out->null_slot = (int)s + 1;
            else if (s >= 1)
                out->null_slot = (int)s - 1;
            else
                return -1;
        }
        out->args_slot = (int)s + 1 + self;
        out->nargs = 1;
        if (a & 1) out->kwargs_slot = out->args_slot + 1;
        break;
    case OPFLOW_CALL_ENTER:
    case OPFLOW_CALL_AENTER:
        break;
    default:
        return -1;
    }
    return 0;
}

int opflow_finally_nesting(const opflow_tables *T, const uint8_t *code, size_t code_len,
                           const int16_t *depths, uint8_t *nest_out, size_t n_units)
{
    if (!T || !code || !depths || !nest_out || (code_len & 1)) return OPFLOW_EARG;
    size_t nu = code_len / 2;
    if (n_units < nu) return OPFLOW_EARG;
    memset(nest_out, 0, n_units);
    uint64_t budget = 64 * (uint64_t)nu + 65536;
    /* Pass 1: mark the heads of bodies that can be entered normally: the
     * instruction after a BEGIN_FINALLY, the target of a CALL_FINALLY. */
    uint32_t ext = 0;
    int any = 0;
    for (size_t u = 0; u < nu; u++) {
        if (depths[u] < 0) {
            ext = 0;
            continue;
        }
        int op = base_of(T, code[2 * u]);
        uint16_t f = T->opflags[op];
        if (f & OPFLOW_OPF_EXTARG) {
            ext = (ext | code[2 * u + 1]) << 8;
            continue;
        }
        uint32_t oparg = ext | code[2 * u + 1];
        ext = 0;
        int64_t h = -1;
        if (f & OPFLOW_OPF_BEGIN_FIN)
            h = (int64_t)u + 1 + T->caches[op];
        else if ((f & OPFLOW_OPF_JUMP) && (f & OPFLOW_OPF_NOFOLLOW))
            h = jump_target(T, op, oparg, u, nu);
        if (h >= 0 && h < (int64_t)nu && depths[h] >= 0) {
            nest_out[h] |= 0x80;
            any = 1;
        }
    }
    if (!any) return 0;
    /* Pass 2: each body runs from its head to the first reached END_FINALLY
     * whose depth is not above the head's (nested constructs close deeper;
     * a with statement's cleanup closes one lower, its __exit__ consumed).
     * With no such END_FINALLY (the body always leaves), to the end. */
    for (size_t h = 0; h < nu; h++) {
        if (!(nest_out[h] & 0x80)) continue;
        nest_out[h] &= 0x7F;
        int hd = depths[h];
        for (size_t v = h; v < nu; v++) {
            if (budget-- == 0) return OPFLOW_EBUDGET;
            if ((nest_out[v] & 0x7F) < 0x7F) nest_out[v]++;
            if (depths[v] >= 0 && depths[v] <= hd &&
                (T->opflags[base_of(T, code[2 * v])] & OPFLOW_OPF_END_FIN))
                break;
        }
    }
    for (size_t u = 0; u < nu; u++)
        if (depths[u] < 0) nest_out[u] = 0;
    return 0;
}
