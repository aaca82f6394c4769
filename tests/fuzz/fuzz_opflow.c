/* fuzz_opflow.c — the bytecode analysis (src/engine/opflow.c) on any bytes.
 *
 * Input: byte 0 picks the tables (b % 8: 0-5 the real ones of 3.8 ... 3.13
 * from layouts.h, 6 and 7 the two toy instruction sets of
 * tests/c/test_opflow.c: 3.11-like units with caches, opaque opcodes and an
 * exception table, and 3.8-like bytes with finally blocks); byte 1 flags
 * (bit 0: odd code length allowed through); bytes 2-3 the code length
 * (little-endian, clamped to what follows); then the code, then the
 * exception table (the rest).  Code and table are analysed from exact-size
 * heap copies so that ASan sees any read past either.
 *
 * Run: opflow_depths(); on success, for every code unit opflow_decode()
 * and, for the instruction found, opflow_callee() at its depth;
 * opflow_finally_nesting(); opflow_effect() on a few (opcode, oparg)
 * pairs taken from the input.  Checked: depths are -1 or in
 * [0, OPFLOW_MAX_DEPTH]; a decoded instruction starts at or before the unit
 * asked and has a depth; with the real tables a callee's slots lie below
 * the depth; errors are OPFLOW_E* codes with a message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "layouts.h"
#include "opflow.h"

#define CHECK(x) do { if (!(x)) abort(); } while (0)

/* ---- the toy tables of tests/c/test_opflow.c ---------------------------- */

enum {
    O_CACHE = 0, O_NOP = 1, O_PUSH = 2, O_POP = 3, O_BUILD = 4, O_JIF = 5, O_JB = 6, O_RET = 7,
    O_EXT = 8, O_LOADC = 9, O_LOADC_S = 10, O_OPAQUE = 11, O_CALL = 12, O_JABS = 13, O_UNPACK = 14,
    O_FOR = 15, O_MAKEF = 16, O_SLICE = 17, O_UNPACK_EX = 18, O_GEN = 19, O_CELL = 20,
    O_BEGIN_FIN = 21, O_END_FIN = 22, O_CALL_FIN = 23, O_SETUP_FIN = 24, O_EX = 25, O_KW = 26,
    O_WITH = 27, O_CALL_S = 28, O_EX13 = 29, O_PLAIN13 = 30,
};

static void fx(opflow_fx *f, int kind, int c, int k, uint32_t m)
{
    memset(f, 0, sizeof *f);
    f->kind = (uint8_t)kind;
    f->c = (int8_t)c;
    f->k = (int8_t)k;
    f->m = m;
}

static void op(opflow_tables *T, int o, uint16_t flags, int kind, int c, int k, uint32_t m)
{
    T->opflags[o] |= (uint16_t)(flags | OPFLOW_OPF_VALID);
    fx(&T->fx[o], kind, c, k, m);
    T->jfx[o] = T->fx[o];
}

static void call(opflow_tables *T, int o, int kind, int base, int mul, int flags)
{
    T->call[o].kind = (uint8_t)kind;
    T->call[o].base = (int8_t)base;
    T->call[o].mul = (uint8_t)mul;
    T->call[o].flags = (uint8_t)flags;
}

static void common(opflow_tables *T)
{
    memset(T, 0, sizeof *T);
    for (int i = 0; i < OPFLOW_NOPS; i++) T->deopt[i] = (uint8_t)i;
    op(T, O_NOP, 0, OPFLOW_FX_CONST, 0, 0, 0);
    op(T, O_PUSH, 0, OPFLOW_FX_CONST, 1, 0, 0);
    op(T, O_POP, 0, OPFLOW_FX_CONST, -1, 0, 0);
    op(T, O_BUILD, 0, OPFLOW_FX_LINEAR, 1, -1, 0);
    op(T, O_JIF, OPFLOW_OPF_JUMP, OPFLOW_FX_CONST, -1, 0, 0);
    op(T, O_RET, OPFLOW_OPF_TERM, OPFLOW_FX_CONST, -1, 0, 0);
    op(T, O_EXT, OPFLOW_OPF_EXTARG, OPFLOW_FX_CONST, 0, 0, 0);
    op(T, O_CALL, 0, OPFLOW_FX_LINEAR, -1, -1, 0);
    op(T, O_JABS, OPFLOW_OPF_JUMP | OPFLOW_OPF_JABS | OPFLOW_OPF_TERM, OPFLOW_FX_CONST, 0, 0, 0);
    op(T, O_UNPACK, 0, OPFLOW_FX_LINEAR, -1, 1, 0);
    op(T, O_FOR, OPFLOW_OPF_JUMP, OPFLOW_FX_CONST, 1, 0, 0);
    fx(&T->jfx[O_FOR], OPFLOW_FX_CONST, -1, 0, 0);
    op(T, O_MAKEF, 0, OPFLOW_FX_BITS, -1, -1, 0xF);
    op(T, O_SLICE, 0, OPFLOW_FX_EQ, -1, -1, 3);
    op(T, O_UNPACK_EX, 0, OPFLOW_FX_UNPACK_EX, 0, 1, 0);
    op(T, O_EX, 0, OPFLOW_FX_BITS, -2, -1, 1);
    op(T, O_KW, 0, OPFLOW_FX_LINEAR, -2, -1, 0);
    op(T, O_WITH, 0, OPFLOW_FX_CONST, 1, 0, 0);
    op(T, O_EX13, 0, OPFLOW_FX_BITS, -3, -1, 1);
    op(T, O_PLAIN13, 0, OPFLOW_FX_LINEAR, -2, -1, 0);
    T->deopt[O_CALL_S] = O_CALL;
    call(T, O_CALL, OPFLOW_CALL_METHOD, -2, 1, OPFLOW_CD_KWASIDE);
    call(T, O_EX, OPFLOW_CALL_EX, -2, 0, OPFLOW_CD_EXBIT | OPFLOW_CD_NULLSLOT);
    call(T, O_EX13, OPFLOW_CALL_EX, -3, 0, OPFLOW_CD_EXBIT | OPFLOW_CD_NULLSLOT | OPFLOW_CD_SELF);
    call(T, O_KW, OPFLOW_CALL_KW, -2, 1, OPFLOW_CD_KWTOP);
    call(T, O_PLAIN13, OPFLOW_CALL_PLAIN, -2, 1, OPFLOW_CD_SELF);
    call(T, O_WITH, OPFLOW_CALL_ENTER, -1, 0, OPFLOW_CD_EXITBOUND);
}

static void units_table(opflow_tables *T)
{
    common(T);
    T->version_hex = 0x030C0000;
    T->flags = OPFLOW_T_EXCTABLE | OPFLOW_T_GEN_DEPTH1;
    op(T, O_JB, OPFLOW_OPF_JUMP | OPFLOW_OPF_JBACK | OPFLOW_OPF_TERM, OPFLOW_FX_CONST, 0, 0, 0);
    op(T, O_LOADC, 0, OPFLOW_FX_CONST, 1, 0, 0);
    T->caches[O_LOADC] = 2;
    T->deopt[O_LOADC_S] = O_LOADC;
    T->opflags[O_OPAQUE] = OPFLOW_OPF_OPAQUE;
    op(T, O_GEN, OPFLOW_OPF_GENSTART, OPFLOW_FX_CONST, 0, 0, 0);
    op(T, O_CELL, OPFLOW_OPF_PREFIX, OPFLOW_FX_CONST, 0, 0, 0);
    T->deopt[O_CACHE] = O_CACHE;
}

static void bytes_table(opflow_tables *T)
{
    common(T);
    T->version_hex = 0x03080000;
    T->flags = OPFLOW_T_JUMP_BYTES;
    op(T, O_BEGIN_FIN, OPFLOW_OPF_BEGIN_FIN, OPFLOW_FX_CONST, 6, 0, 0);
    op(T, O_END_FIN, OPFLOW_OPF_END_FIN, OPFLOW_FX_CONST, -6, 0, 0);
    op(T, O_CALL_FIN, OPFLOW_OPF_JUMP | OPFLOW_OPF_NOFOLLOW, OPFLOW_FX_CONST, 0, 0, 0);
    fx(&T->jfx[O_CALL_FIN], OPFLOW_FX_CONST, 1, 0, 0);
    op(T, O_SETUP_FIN, OPFLOW_OPF_JUMP, OPFLOW_FX_CONST, 0, 0, 0);
    fx(&T->jfx[O_SETUP_FIN], OPFLOW_FX_CONST, 6, 0, 0);
}

/* ------------------------------------------------------------------------- */

static int known_error(int r)
{
    return r <= OPFLOW_EARG && r >= OPFLOW_EBUDGET && opflow_strerror(r) && *opflow_strerror(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static opflow_tables toy[2];
    static int init;
    if (!init) {
        units_table(&toy[0]);
        bytes_table(&toy[1]);
        init = 1;
    }
    if (size < 4) return 0;
    int sel = data[0] % 8;
    int real = sel < FUZZ_NVERSIONS;
    const opflow_tables *T = real ? fuzz_versions[sel].opflow : &toy[sel == 6 ? 0 : 1];
    size_t code_len = (size_t)data[2] | (size_t)data[3] << 8;
    if (code_len > size - 4) code_len = size - 4;
    if ((code_len & 1) && !(data[1] & 1)) code_len--;
    size_t exc_len = size - 4 - code_len;
    if (code_len == 0) return 0;

    uint8_t *code = malloc(code_len);
    uint8_t *exc = exc_len ? malloc(exc_len) : NULL;
    size_t nu = code_len / 2;
    int16_t *depth = malloc((nu ? nu : 1) * sizeof *depth);
    uint8_t *nest = malloc(nu ? nu : 1);
    if (!code || (exc_len && !exc) || !depth || !nest) abort();
    memcpy(code, data + 4, code_len);
    if (exc_len) memcpy(exc, data + 4 + code_len, exc_len);

    int r = opflow_depths(T, code, code_len, exc, exc_len, depth, nu);
    if (code_len & 1) CHECK(r == OPFLOW_EARG);
    if (r != 0) {
        CHECK(known_error(r));
    } else {
        for (size_t u = 0; u < nu; u++) CHECK(depth[u] >= -1 && depth[u] <= OPFLOW_MAX_DEPTH);
        for (size_t u = 0; u < nu; u++) {
            int opc;
            uint32_t arg;
            size_t at = (size_t)-1;
            int d = opflow_decode(T, code, code_len, depth, nu, u, &opc, &arg, &at);
            if (d != 0) {
                CHECK(known_error(d));
                continue;
            }
            CHECK(opc >= 0 && opc < OPFLOW_NOPS && at < nu && at + OPFLOW_MAX_EXTARGS >= u);
            CHECK(depth[at] >= 0);
            if (arg > INT32_MAX) continue;
            opflow_call c;
            if (opflow_callee(T, opc, (int)arg, depth[at], &c) == 0) {
                CHECK(c.slot >= 0);
                if (real) {
                    CHECK(c.slot < depth[at]);
                    CHECK(c.self_slot < depth[at]);
                }
            }
        }
        int f = opflow_finally_nesting(T, code, code_len, depth, nest, nu);
        CHECK(f == 0 || known_error(f));
    }
    for (size_t i = 0; i + 4 <= code_len && i < 64; i += 4) {
        int e;
        uint32_t arg = (uint32_t)code[i + 1] << 16 | (uint32_t)code[i + 2] << 8 | code[i + 3];
        (void)opflow_effect(T, code[i], arg, 0, &e);
        (void)opflow_effect(T, code[i], arg, 1, &e);
        opflow_call c;
        (void)opflow_callee(T, code[i], (int)(arg & 0x7FFFFFFF), code[i + 3] * 64, &c);
    }
    free(code);
    free(exc);
    free(depth);
    free(nest);
    return 0;
}
