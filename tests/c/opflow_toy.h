/* opflow_toy.h — two toy instruction sets for the bytecode analysis
 * (src/engine/opflow.c), shared by tests/c/test_opflow.c and
 * tests/fuzz/fuzz_opflow.c: 3.11-like code units with caches, opaque
 * opcodes and an exception table (toy_units_table), and 3.8-like bytes with
 * finally blocks (toy_bytes_table). */
#ifndef STROBE_OPFLOW_TOY_H
#define STROBE_OPFLOW_TOY_H

#include <stdint.h>
#include <string.h>

#include "opflow.h"

/* toy opcodes */
enum {
    O_CACHE = 0,  /* invalid as an instruction */
    O_NOP = 1,
    O_PUSH = 2,
    O_POP = 3,
    O_BUILD = 4,    /* 1 - oparg */
    O_JIF = 5,      /* relative forward, pops 1 on both edges */
    O_JB = 6,       /* relative backward, unconditional */
    O_RET = 7,      /* -1, ends the block */
    O_EXT = 8,
    O_LOADC = 9,    /* +1, 2 inline caches */
    O_LOADC_S = 10, /* specialised O_LOADC */
    O_OPAQUE = 11,
    O_CALL = 12,    /* -1 - oparg, METHOD call site */
    O_JABS = 13,    /* absolute, unconditional */
    O_UNPACK = 14,  /* oparg - 1 */
    O_FOR = 15,     /* relative forward: +1, jump -1 */
    O_MAKEF = 16,   /* -1 - popcount(oparg & 0xF) */
    O_SLICE = 17,   /* -1 - (oparg == 3) */
    O_UNPACK_EX = 18,
    O_GEN = 19,     /* generator start */
    O_CELL = 20,    /* prefix */
    O_BEGIN_FIN = 21,
    O_END_FIN = 22,
    O_CALL_FIN = 23,
    O_SETUP_FIN = 24,
    O_EX = 25,      /* CALL_FUNCTION_EX */
    O_KW = 26,
    O_WITH = 27,
    O_CALL_S = 28,  /* specialised O_CALL */
    O_EX13 = 29,
    O_PLAIN13 = 30,
    O_UNKNOWN = 200,
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

/* Like 3.11+: code units, caches, an exception table, opaque opcodes. */
static void toy_units_table(opflow_tables *T)
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
    T->deopt[O_CACHE] = O_CACHE;   /* not VALID */
}

/* Like 3.8: byte offsets, finally blocks. */
static void toy_bytes_table(opflow_tables *T)
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

#endif
