/* test_opflow.c — the stack-depth analysis and call-site slots on two toy
 * instruction sets filled by hand (the C tests link only the engine): one
 * laid out like 3.11+ (code units, inline caches, specialised and opaque
 * opcodes, an exception table), one like 3.8 (byte offsets, absolute jumps,
 * BEGIN_FINALLY/CALL_FINALLY).  Then hostile input: truncations, EXTENDED_ARG
 * chains, jumps out of range or into caches, bad exception tables, random
 * and mutated bytes, each analysed from an exact-size heap copy so that
 * AddressSanitizer sees any read past the end.  The real tables are checked
 * against `dis` on the standard library by tests/py/test_opflow.py. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "opflow.h"

#include "opflow_toy.h"

static opflow_tables units_table(void)
{
    opflow_tables T;
    toy_units_table(&T);
    return T;
}

static opflow_tables bytes_table(void)
{
    opflow_tables T;
    toy_bytes_table(&T);
    return T;
}

#define MAXU 4096
static int16_t D[MAXU];

/* Analyse from exact-size heap copies. */
static int run(const opflow_tables *T, const uint8_t *code, size_t len, const uint8_t *exc,
               size_t elen)
{
    uint8_t *c = malloc(len ? len : 1);
    uint8_t *e = malloc(elen ? elen : 1);
    if (len) memcpy(c, code, len);
    if (elen) memcpy(e, exc, elen);
    size_t n = len / 2;
    int16_t *d = malloc((n ? n : 1) * sizeof *d);
    int r = opflow_depths(T, c, len, elen ? e : NULL, elen, d, n);
    if (r == 0) memcpy(D, d, n * sizeof *d);
    free(c);
    free(e);
    free(d);
    return r;
}

#define CODE(...) ((const uint8_t[]){__VA_ARGS__}), sizeof((const uint8_t[]){__VA_ARGS__})
#define NOEXC NULL, 0

static int depths_are(const int16_t *want, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (D[i] != want[i]) {
            printf("  unit %zu: got %d want %d\n", i, D[i], want[i]);
            return 0;
        }
    return 1;
}
#define DEPTHS(...) depths_are((const int16_t[]){__VA_ARGS__}, \
                               sizeof((const int16_t[]){__VA_ARGS__}) / sizeof(int16_t))

static void test_straight_line(void)
{
    opflow_tables T = units_table();
    CHECK(run(&T, CODE(O_PUSH, 0, O_PUSH, 0, O_BUILD, 2, O_RET, 0), NOEXC) == 0);
    CHECK(DEPTHS(0, 1, 2, 1));
    /* unreachable code after a block end: -1 */
    CHECK(run(&T, CODE(O_PUSH, 0, O_RET, 0, O_PUSH, 0, O_RET, 0), NOEXC) == 0);
    CHECK(DEPTHS(0, 1, -1, -1));
    /* falling off the end */
    CHECK(run(&T, CODE(O_PUSH, 0), NOEXC) == OPFLOW_ETRUNC);
    CHECK(run(&T, CODE(O_POP, 0, O_RET, 0), NOEXC) == OPFLOW_ENEG);
    /* opargs in effects: BUILD 0 pushes one */
    CHECK(run(&T, CODE(O_BUILD, 0, O_RET, 0), NOEXC) == 0);
    CHECK(DEPTHS(0, 1));
}

static void test_effect_kinds(void)
{
    opflow_tables T = units_table();
    int e = 99;
    CHECK(opflow_effect(&T, O_MAKEF, 0, 0, &e) == 0 && e == -1);
    CHECK(opflow_effect(&T, O_MAKEF, 0xF, 0, &e) == 0 && e == -5);
    CHECK(opflow_effect(&T, O_MAKEF, 0x15, 0, &e) == 0 && e == -3);
    CHECK(opflow_effect(&T, O_SLICE, 2, 0, &e) == 0 && e == -1);
    CHECK(opflow_effect(&T, O_SLICE, 3, 0, &e) == 0 && e == -2);
    CHECK(opflow_effect(&T, O_SLICE, 0x103, 0, &e) == 0 && e == -1);
    CHECK(opflow_effect(&T, O_UNPACK_EX, 0x0302, 0, &e) == 0 && e == 5);
    CHECK(opflow_effect(&T, O_UNPACK, 300, 0, &e) == 0 && e == 299);
    CHECK(opflow_effect(&T, O_FOR, 0, 0, &e) == 0 && e == 1);
    CHECK(opflow_effect(&T, O_FOR, 0, 1, &e) == 0 && e == -1);
    CHECK(opflow_effect(&T, O_EX, 1, 0, &e) == 0 && e == -3);
    CHECK(opflow_effect(&T, O_UNKNOWN, 0, 0, &e) == -1);
    CHECK(opflow_effect(&T, -1, 0, 0, &e) == -1);
    CHECK(opflow_effect(&T, 256, 0, 0, &e) == -1);
    CHECK(opflow_effect(NULL, O_NOP, 0, 0, &e) == -1);
    /* a VALID opcode whose formula is unknown refuses, never guesses */
    T.opflags[O_UNKNOWN] = OPFLOW_OPF_VALID;
    CHECK(opflow_effect(&T, O_UNKNOWN, 0, 0, &e) == -1);
    CHECK(run(&T, CODE(O_UNKNOWN, 0, O_RET, 0), NOEXC) == OPFLOW_EOPCODE);
}

static void test_caches_and_deopt(void)
{
    opflow_tables T = units_table();
    /* cache units hold arbitrary data: never decoded */
    CHECK(run(&T, CODE(O_LOADC, 0, O_JB, 0xFF, O_OPAQUE, O_EXT, O_LOADC_S, 1, 0xFF, 0xFF, 0xEE, 0xEE,
                       O_BUILD, 2, O_RET, 0),
              NOEXC) == 0);
    CHECK(DEPTHS(0, -1, -1, 1, -1, -1, 2, 1));
    /* caches running past the end */
    CHECK(run(&T, CODE(O_PUSH, 0, O_LOADC, 0, 0, 0), NOEXC) == OPFLOW_ETRUNC);
    /* a specialised call deopts to its base and its call layout */
    opflow_call c;
    CHECK(opflow_callee(&T, O_CALL_S, 1, 4, &c) == 0 && c.kind == OPFLOW_CALL_METHOD && c.slot == 1);
    /* opaque and unknown opcodes */
    CHECK(run(&T, CODE(O_NOP, 0, O_OPAQUE, 0, O_RET, 0), NOEXC) == OPFLOW_EOPAQUE);
    CHECK(run(&T, CODE(O_NOP, 0, O_UNKNOWN, 0, O_RET, 0), NOEXC) == OPFLOW_EOPCODE);
    CHECK(run(&T, CODE(O_CACHE, 0, O_RET, 0), NOEXC) == OPFLOW_EOPCODE);
}

static void test_jumps(void)
{
    opflow_tables T = units_table();
    /* u0 PUSH; u1 JIF +2 -> u4 (pops 1); u2 PUSH; u3 POP; u4 NOP; u5 JB 6 -> u0; u6 NOP */
    CHECK(run(&T, CODE(O_PUSH, 0, O_JIF, 2, O_PUSH, 0, O_POP, 0, O_NOP, 0, O_JB, 6, O_NOP, 0),
              NOEXC) == 0);
    CHECK(DEPTHS(0, 1, 0, 1, 0, 0, -1));
    /* back to u1 from depth 1: consistent; back to u0 from depth 1: not */
    CHECK(run(&T, CODE(O_PUSH, 0, O_JIF, 2, O_PUSH, 0, O_POP, 0, O_PUSH, 0, O_JB, 5, O_NOP, 0),
              NOEXC) == 0);
    CHECK(DEPTHS(0, 1, 0, 1, 0, 1, -1));
    CHECK(run(&T, CODE(O_PUSH, 0, O_JIF, 2, O_PUSH, 0, O_POP, 0, O_PUSH, 0, O_JB, 6, O_NOP, 0),
              NOEXC) == OPFLOW_EMERGE);
    /* out of range, backwards before 0, into a cache, after EXTENDED_ARG */
    CHECK(run(&T, CODE(O_PUSH, 0, O_JIF, 9, O_RET, 0), NOEXC) == OPFLOW_EJUMP);
    CHECK(run(&T, CODE(O_NOP, 0, O_JB, 3, O_RET, 0), NOEXC) == OPFLOW_EJUMP);
    CHECK(run(&T, CODE(O_PUSH, 0, O_JIF, 1, O_LOADC, 0, 0, 0, 0, 0, O_RET, 0), NOEXC) == OPFLOW_EJUMP);
    CHECK(run(&T, CODE(O_PUSH, 0, O_JIF, 1, O_EXT, 0, O_NOP, 0, O_RET, 0), NOEXC) == OPFLOW_EJUMP);
    /* relative jumps count from after the caches */
    opflow_tables T2 = T;
    T2.caches[O_JIF] = 1;
    CHECK(run(&T2, CODE(O_PUSH, 0, O_PUSH, 0, O_JIF, 1, 0xAB, 0xCD, O_RET, 0, O_PUSH, 0, O_RET, 0),
              NOEXC) == 0);
    CHECK(DEPTHS(0, 1, 2, -1, 1, 1, 2));
    /* absolute */
    CHECK(run(&T, CODE(O_PUSH, 0, O_JABS, 3, O_PUSH, 0, O_RET, 0), NOEXC) == 0);
    CHECK(DEPTHS(0, 1, -1, 1));
    CHECK(run(&T, CODE(O_PUSH, 0, O_JABS, 4, O_PUSH, 0, O_RET, 0), NOEXC) == OPFLOW_EJUMP);
    /* a jump edge with its own effect: u0 PUSH; u1 FOR +2 (body +1, exit -1);
     * u2 POP; u3 JB 3 -> u1; u4 PUSH; u5 RET */
    CHECK(run(&T, CODE(O_PUSH, 0, O_FOR, 2, O_POP, 0, O_JB, 3, O_PUSH, 0, O_RET, 0), NOEXC) == 0);
    CHECK(DEPTHS(0, 1, 2, 1, 0, 1));
    /* merge mismatch: fall-through at 1, jump at 0 */
    CHECK(run(&T, CODE(O_PUSH, 0, O_PUSH, 0, O_JIF, 1, O_PUSH, 0, O_NOP, 0, O_RET, 0), NOEXC) ==
          OPFLOW_EMERGE);
}

static void test_extended_arg(void)
{
    opflow_tables T = units_table();
    /* oparg 0x0102 = 258: UNPACK pushes 257 */
    CHECK(run(&T, CODE(O_PUSH, 0, O_EXT, 1, O_UNPACK, 2, O_RET, 0), NOEXC) == 0);
    CHECK(DEPTHS(0, 1, 1, 258));
    /* three prefixes are fine, four are refused */
    CHECK(run(&T, CODE(O_PUSH, 0, O_EXT, 0, O_EXT, 0, O_EXT, 0, O_UNPACK, 2, O_RET, 0), NOEXC) == 0);
    CHECK(DEPTHS(0, 1, 1, 1, 1, 2));
    CHECK(run(&T, CODE(O_PUSH, 0, O_EXT, 0, O_EXT, 0, O_EXT, 0, O_EXT, 0, O_UNPACK, 2, O_RET, 0),
              NOEXC) == OPFLOW_EEXTARG);
    /* ends with EXTENDED_ARG */
    CHECK(run(&T, CODE(O_PUSH, 0, O_RET, 0, O_EXT, 1), NOEXC) == OPFLOW_ETRUNC);
    /* too deep / negative through a large oparg */
    CHECK(run(&T, CODE(O_PUSH, 0, O_EXT, 0x7F, O_UNPACK, 0xFF, O_RET, 0), NOEXC) == OPFLOW_EDEEP);
    CHECK(run(&T, CODE(O_PUSH, 0, O_EXT, 0xFF, O_EXT, 0xFF, O_EXT, 0xFF, O_UNPACK, 0xFF, O_RET, 0),
              NOEXC) == OPFLOW_EDEEP);
    CHECK(run(&T, CODE(O_PUSH, 0, O_EXT, 1, O_BUILD, 0, O_RET, 0), NOEXC) == OPFLOW_ENEG);
    /* an extended jump: 0x0100 + 2 units forward */
    static uint8_t big[2 * 300];
    for (int i = 0; i < 300; i++) {
        big[2 * i] = O_NOP;
        big[2 * i + 1] = 0;
    }
    big[0] = O_PUSH;
    big[2] = O_EXT;
    big[3] = 1;
    big[4] = O_JIF;
    big[5] = 2;   /* target = 3 + 258 = 261 */
    big[2 * 299] = O_RET;
    big[2 * 260] = O_RET;   /* fall-through path ends before the target */
    big[2 * 259] = O_PUSH;
    big[2 * 261] = O_PUSH;
    CHECK(run(&T, big, sizeof big, NOEXC) == 0);
    CHECK(D[1] == 1 && D[2] == 1 && D[3] == 0 && D[259] == 0 && D[260] == 1 && D[261] == 0 &&
          D[262] == 1 && D[299] == 1);
    /* decode: from any unit of the prefix, and from the instruction */
    uint8_t code[] = {O_PUSH, 0, O_PUSH, 0, O_PUSH, 0, O_PUSH, 0, O_EXT, 1, O_EXT, 2, O_CALL, 3, O_RET, 0};
    size_t n = sizeof code / 2;
    int16_t d[8];
    CHECK(opflow_depths(&T, code, sizeof code, NULL, 0, d, n) == OPFLOW_ENEG);   /* -1-0x10203 */
    code[9] = 0;
    code[11] = 0;
    code[13] = 1;
    CHECK(opflow_depths(&T, code, sizeof code, NULL, 0, d, n) == 0);
    code[9] = 1;
    code[11] = 2;
    code[13] = 3;   /* bytes changed after the analysis: decode reads them as they are */
    for (size_t u = 4; u <= 6; u++) {
        int o = -1;
        uint32_t a = 0;
        size_t iu = 0;
        CHECK(opflow_decode(&T, code, sizeof code, d, n, u, &o, &a, &iu) == 0);
        CHECK(o == O_CALL && a == 0x010203 && iu == 6);
    }
    int o;
    uint32_t a;
    CHECK(opflow_decode(&T, code, sizeof code, d, n, 8, &o, &a, NULL) == OPFLOW_EARG);
    CHECK(opflow_decode(NULL, code, sizeof code, d, n, 0, &o, &a, NULL) == OPFLOW_EARG);
    uint8_t cc[] = {O_LOADC, 0, 1, 1, 1, 1, O_RET, 0};
    int16_t d2[4];
    CHECK(opflow_depths(&T, cc, sizeof cc, NULL, 0, d2, 4) == 0);
    CHECK(opflow_decode(&T, cc, sizeof cc, d2, 4, 1, &o, &a, NULL) == OPFLOW_EJUMP);   /* a cache */
    CHECK(opflow_decode(&T, cc, sizeof cc, d2, 4, 3, &o, &a, NULL) == 0 && o == O_RET);
}

/* exception table entry, all fields < 64 */
#define ENTRY(s, l, t, d, lasti) (uint8_t)(0x80 | (s)), (l), (t), (uint8_t)((d) << 1 | (lasti))

static void test_exception_table(void)
{
    opflow_tables T = units_table();
    /* u0 NOP, u1 PUSH, u2 RET | handler u3: POP, u4 POP, u5 PUSH, u6 RET */
    const uint8_t code[] = {O_NOP, 0, O_PUSH, 0, O_RET, 0, O_POP, 0, O_POP, 0, O_PUSH, 0, O_RET, 0};
    const uint8_t exc[] = {ENTRY(0, 3, 3, 0, 1)};
    CHECK(run(&T, code, sizeof code, exc, sizeof exc) == 0);
    CHECK(DEPTHS(0, 0, 1, 2, 1, 0, 1));
    const uint8_t exc0[] = {ENTRY(0, 3, 3, 0, 0)};
    CHECK(run(&T, code, sizeof code, exc0, sizeof exc0) == OPFLOW_ENEG);   /* 1 - 2 pops */
    const uint8_t exc_d1[] = {ENTRY(0, 3, 3, 1, 0)};
    CHECK(run(&T, code, sizeof code, exc_d1, sizeof exc_d1) == 0);
    CHECK(D[3] == 2);
    /* two entries for one handler must agree */
    const uint8_t exc2[] = {ENTRY(0, 1, 3, 0, 1), ENTRY(1, 2, 3, 1, 0)};
    CHECK(run(&T, code, sizeof code, exc2, sizeof exc2) == 0);
    const uint8_t exc3[] = {ENTRY(0, 1, 3, 0, 1), ENTRY(1, 2, 3, 1, 1)};
    CHECK(run(&T, code, sizeof code, exc3, sizeof exc3) == OPFLOW_EMERGE);
    /* pointing outside the code */
    const uint8_t out1[] = {ENTRY(0, 3, 7, 0, 1)};
    CHECK(run(&T, code, sizeof code, out1, sizeof out1) == OPFLOW_EEXCTAB);
    const uint8_t out2[] = {ENTRY(5, 3, 3, 0, 1)};
    CHECK(run(&T, code, sizeof code, out2, sizeof out2) == OPFLOW_EEXCTAB);
    const uint8_t far[] = {0x80, 1, 0x7F, 0x7F, 0x7F, 0x7F, 0x7F, 0x3F, 0};   /* 6 chunks */
    CHECK(run(&T, code, sizeof code, far, sizeof far) == OPFLOW_EEXCTAB);
    const uint8_t far2[] = {0x80, 1, 0x41, 0x00, 0};   /* target 64 */
    CHECK(run(&T, code, sizeof code, far2, sizeof far2) == OPFLOW_EEXCTAB);
    /* truncated entry */
    CHECK(run(&T, code, sizeof code, exc, 3) == OPFLOW_EEXCTAB);
    const uint8_t trunc[] = {0x80, 1, 3, 0x41};
    CHECK(run(&T, code, sizeof code, trunc, sizeof trunc) == OPFLOW_EEXCTAB);
    /* handler in a cache unit */
    const uint8_t ccode[] = {O_NOP, 0, O_LOADC, 0, 0, 0, 0, 0, O_RET, 0};
    const uint8_t inc[] = {ENTRY(0, 1, 2, 0, 0)};
    CHECK(run(&T, ccode, sizeof ccode, inc, sizeof inc) == OPFLOW_EJUMP);
    /* a handler depth that conflicts with the normal flow into it */
    const uint8_t flow[] = {O_PUSH, 0, O_POP, 0, O_NOP, 0, O_RET, 0};
    const uint8_t hx[] = {ENTRY(0, 1, 2, 0, 0)};
    CHECK(run(&T, flow, sizeof flow, hx, sizeof hx) == OPFLOW_EMERGE);
    /* multi-byte varints: a handler at unit 70 */
    static uint8_t big[2 * 80];
    for (int i = 0; i < 80; i++) {
        big[2 * i] = O_NOP;
        big[2 * i + 1] = 0;
    }
    big[2 * 1] = O_PUSH;
    big[2 * 2] = O_RET;
    big[2 * 75] = O_RET;
    const uint8_t mb[] = {0x80, 2, 0x41, 0x06, 0x42, 0x00};   /* target 70, depth 64 */
    CHECK(run(&T, big, sizeof big, mb, sizeof mb) == 0);
    CHECK(D[70] == 65 && D[75] == 65 && D[3] == -1);
    /* an exception table where the version has none */
    opflow_tables B = bytes_table();
    CHECK(run(&B, code, sizeof code, exc, sizeof exc) == OPFLOW_EEXCTAB);
}

static void test_generator_start(void)
{
    opflow_tables T = units_table();
    /* CELL, GEN, POP: the compiler analyses generators from depth 1 */
    CHECK(run(&T, CODE(O_CELL, 0, O_EXT, 0, O_CELL, 1, O_GEN, 0, O_POP, 0, O_PUSH, 0, O_RET, 0),
              NOEXC) == 0);
    CHECK(DEPTHS(1, 1, 1, 1, 1, 0, 1));
    CHECK(run(&T, CODE(O_NOP, 0, O_GEN, 0, O_POP, 0, O_PUSH, 0, O_RET, 0), NOEXC) == OPFLOW_ENEG);
    T.flags &= ~OPFLOW_T_GEN_DEPTH1;
    CHECK(run(&T, CODE(O_GEN, 0, O_POP, 0, O_PUSH, 0, O_RET, 0), NOEXC) == OPFLOW_ENEG);
}

static void test_bytes_and_finally(void)
{
    opflow_tables T = bytes_table();
    /* u0 SETUP_FIN +6 bytes -> u4; u1 PUSH; u2 POP; u3 BEGIN_FIN;
     * u4 PUSH (finally body); u5 POP; u6 END_FIN; u7 PUSH; u8 RET */
    const uint8_t code[] = {O_SETUP_FIN, 6, O_PUSH, 0, O_POP, 0, O_BEGIN_FIN, 0, O_PUSH, 0,
                            O_POP, 0, O_END_FIN, 0, O_PUSH, 0, O_RET, 0};
    CHECK(run(&T, code, sizeof code, NOEXC) == 0);
    CHECK(DEPTHS(0, 0, 1, 0, 6, 7, 6, 0, 1));
    uint8_t nest[9];
    CHECK(opflow_finally_nesting(&T, code, sizeof code, D, nest, 9) == 0);
    const uint8_t want[] = {0, 0, 0, 0, 1, 1, 1, 0, 0};
    CHECK(memcmp(nest, want, 9) == 0);
    /* odd byte offsets land inside a unit */
    const uint8_t odd[] = {O_SETUP_FIN, 5, O_PUSH, 0, O_POP, 0, O_BEGIN_FIN, 0, O_PUSH, 0,
                           O_POP, 0, O_END_FIN, 0, O_PUSH, 0, O_RET, 0};
    CHECK(run(&T, odd, sizeof odd, NOEXC) == OPFLOW_EJUMP);
    /* CALL_FINALLY: its edge is not followed, the SETUP_FINALLY edge gives the
     * depth.  u0 SETUP_FIN +8 bytes -> u5; u1 PUSH; u2 CALL_FIN +4 bytes -> u5;
     * u3 POP; u4 BEGIN_FIN; u5 END_FIN; u6 PUSH; u7 RET */
    const uint8_t cf[] = {O_SETUP_FIN, 8, O_PUSH, 0, O_CALL_FIN, 4, O_POP, 0, O_BEGIN_FIN, 0,
                          O_END_FIN, 0, O_PUSH, 0, O_RET, 0};
    CHECK(run(&T, cf, sizeof cf, NOEXC) == 0);
    CHECK(DEPTHS(0, 0, 1, 1, 0, 6, 0, 1));
    CHECK(opflow_finally_nesting(&T, cf, sizeof cf, D, nest, 8) == 0);
    const uint8_t want2[] = {0, 0, 0, 0, 0, 1, 0, 0};
    CHECK(memcmp(nest, want2, 8) == 0);
    /* not 3.8: nothing is nested */
    opflow_tables U = units_table();
    CHECK(run(&U, CODE(O_PUSH, 0, O_RET, 0), NOEXC) == 0);
    CHECK(opflow_finally_nesting(&U, (const uint8_t[]){O_PUSH, 0, O_RET, 0}, 4, D, nest, 2) == 0);
    CHECK(nest[0] == 0 && nest[1] == 0);
}

static void test_callee(void)
{
    opflow_tables T = units_table();
    opflow_call c;
    /* METHOD n=2 at depth 5: meth|NULL 1, self|callable 2, args 3..4 */
    CHECK(opflow_callee(&T, O_CALL, 2, 5, &c) == 0);
    CHECK(c.kind == OPFLOW_CALL_METHOD && c.slot == 1 && c.self_slot == 2 && c.args_slot == 3 &&
          c.nargs == 2 && c.kwnames_slot == -1 && c.flags == OPFLOW_CD_KWASIDE);
    CHECK(opflow_callee(&T, O_CALL, 4, 5, &c) == -1);   /* would be below the stack */
    /* EX with kwargs: NULL 0, callable 1, tuple 2, dict 3 */
    CHECK(opflow_callee(&T, O_EX, 1, 4, &c) == 0);
    CHECK(c.kind == OPFLOW_CALL_EX && c.null_slot == 0 && c.slot == 1 && c.args_slot == 2 &&
          c.kwargs_slot == 3);
    CHECK(opflow_callee(&T, O_EX, 0, 3, &c) == 0 && c.slot == 1 && c.kwargs_slot == -1);
    /* 3.13 order: callable 0, NULL 1, tuple 2 */
    CHECK(opflow_callee(&T, O_EX13, 0, 3, &c) == 0);
    CHECK(c.slot == 0 && c.null_slot == 1 && c.args_slot == 2 && c.kwargs_slot == -1);
    CHECK(opflow_callee(&T, O_PLAIN13, 1, 4, &c) == 0);
    CHECK(c.kind == OPFLOW_CALL_PLAIN && c.slot == 1 && c.self_slot == 2 && c.args_slot == 3);
    /* KW: callable 1, args 2..3, kwnames 4 */
    CHECK(opflow_callee(&T, O_KW, 2, 5, &c) == 0);
    CHECK(c.kind == OPFLOW_CALL_KW && c.slot == 1 && c.args_slot == 2 && c.nargs == 2 &&
          c.kwnames_slot == 4 && c.self_slot == -1);
    CHECK(opflow_callee(&T, O_WITH, 0, 3, &c) == 0);
    CHECK(c.kind == OPFLOW_CALL_ENTER && c.slot == 2 && c.flags == OPFLOW_CD_EXITBOUND);
    CHECK(opflow_callee(&T, O_WITH, 0, 0, &c) == -1);
    CHECK(opflow_callee(&T, O_NOP, 0, 3, &c) == -1);
    CHECK(opflow_callee(&T, 256, 0, 3, &c) == -1);
    CHECK(opflow_callee(&T, O_CALL, -1, 3, &c) == -1);
    CHECK(opflow_callee(&T, O_CALL, 0, -1, &c) == -1);
    CHECK(opflow_callee(NULL, O_CALL, 0, 3, &c) == -1);
    CHECK(opflow_callee(&T, O_CALL, 0, 3, NULL) == -1);
}

static void test_bad_arguments(void)
{
    opflow_tables T = units_table();
    uint8_t code[] = {O_PUSH, 0, O_RET, 0};
    int16_t d[4];
    CHECK(opflow_depths(NULL, code, 4, NULL, 0, d, 2) == OPFLOW_EARG);
    CHECK(opflow_depths(&T, NULL, 4, NULL, 0, d, 2) == OPFLOW_EARG);
    CHECK(opflow_depths(&T, code, 4, NULL, 0, NULL, 2) == OPFLOW_EARG);
    CHECK(opflow_depths(&T, code, 0, NULL, 0, d, 2) == OPFLOW_EARG);
    CHECK(opflow_depths(&T, code, 3, NULL, 0, d, 2) == OPFLOW_EARG);
    CHECK(opflow_depths(&T, code, 4, NULL, 0, d, 1) == OPFLOW_EARG);
    CHECK(opflow_depths(&T, code, 4, NULL, 3, d, 2) == OPFLOW_EARG);
    d[2] = d[3] = 77;
    CHECK(opflow_depths(&T, code, 4, NULL, 0, d, 4) == 0);
    CHECK(d[0] == 0 && d[1] == 1 && d[2] == -1 && d[3] == -1);
    uint8_t nest[2];
    CHECK(opflow_finally_nesting(&T, code, 4, d, nest, 1) == OPFLOW_EARG);
    CHECK(opflow_finally_nesting(&T, code, 4, NULL, nest, 2) == OPFLOW_EARG);
    for (int e = 0; e >= -12; e--) CHECK(opflow_strerror(e) != NULL);
}

/* Many pending block starts at once: more than the work list holds. */
static void test_many_targets(void)
{
    opflow_tables T = units_table();
    enum { N = 1500 };
    /* u0 PUSH; N x [PUSH, EXT hi, JIF lo -> tail + i]; tail: N x NOP; RET */
    size_t tail = 1 + 3 * N, nu = tail + N + 1;
    uint8_t *code = malloc(2 * nu);
    code[0] = O_PUSH;
    code[1] = 0;
    for (size_t i = 0; i < N; i++) {
        size_t u = 1 + 3 * i, off = tail + i - (u + 3);
        code[2 * u] = O_PUSH;
        code[2 * u + 1] = 0;
        code[2 * u + 2] = O_EXT;
        code[2 * u + 3] = (uint8_t)(off >> 8);
        code[2 * u + 4] = O_JIF;
        code[2 * u + 5] = (uint8_t)off;
    }
    for (size_t u = tail; u < nu; u++) {
        code[2 * u] = u + 1 == nu ? O_RET : O_NOP;
        code[2 * u + 1] = 0;
    }
    int16_t *d = malloc(nu * sizeof *d);
    CHECK(opflow_depths(&T, code, 2 * nu, NULL, 0, d, nu) == 0);
    int ok = d[0] == 0;
    for (size_t i = 0; i < N; i++)
        ok &= d[1 + 3 * i] == 1 && d[2 + 3 * i] == 2 && d[3 + 3 * i] == 2;
    for (size_t u = tail; u < nu; u++) ok &= d[u] == 1;
    CHECK(ok);

    /* the same with many exception handlers into the tail */
    size_t nh = 3000;
    uint8_t *exc = malloc(nh * 6);
    size_t p = 0;
    for (size_t i = 0; i < nh; i++) {
        size_t t = tail + (i % N);
        exc[p++] = 0x80;
        exc[p++] = 1;
        exc[p++] = (uint8_t)(0x40 | ((t >> 12) & 63));
        exc[p++] = (uint8_t)(0x40 | ((t >> 6) & 63));
        exc[p++] = (uint8_t)(t & 63);
        exc[p++] = 0;   /* depth 0, no lasti: the handler starts at 1 */
    }
    CHECK(opflow_depths(&T, code, 2 * nu, exc, p, d, nu) == 0);
    ok = 1;
    for (size_t u = tail; u < nu; u++) ok &= d[u] == 1;
    CHECK(ok);
    /* a handler depth the normal flow contradicts */
    exc[p - 1] = 2;
    CHECK(opflow_depths(&T, code, 2 * nu, exc, p, d, nu) == OPFLOW_EMERGE);
    free(exc);
    free(code);
    free(d);
}

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

static void check_result(const opflow_tables *T, const uint8_t *code, size_t len, int r)
{
    if (r > 0 || r < -11) {
        CHECK(!"return value out of range");
        return;
    }
    if (r != 0) return;
    size_t n = len / 2;
    for (size_t i = 0; i < n; i++)
        if (D[i] < -1 || D[i] > OPFLOW_MAX_DEPTH) {
            CHECK(!"depth out of range");
            return;
        }
    /* every reached unit decodes; call sites give slots inside the stack */
    for (size_t i = 0; i < n; i++) {
        if (D[i] < 0) continue;
        int o;
        uint32_t a;
        size_t iu;
        if (opflow_decode(T, code, len, D, n, i, &o, &a, &iu) != 0) {
            CHECK(!"decode failed on a reached unit");
            return;
        }
        opflow_call c;
        if (opflow_callee(T, o, (int)a, D[i], &c) == 0 && (c.slot < 0 || c.slot >= D[i])) {
            CHECK(!"callee slot outside the stack");
            return;
        }
    }
    uint8_t *nest = malloc(n);
    CHECK(opflow_finally_nesting(T, code, len, D, nest, n) == 0);
    free(nest);
}

/* small_ops: opcodes the table knows (pushes weighted up, so that more random
 * programs get deep into the analysis), small opargs; else any bytes. */
static void fuzz(const opflow_tables *T, int iters, int small_ops)
{
    uint8_t ops[2 * OPFLOW_NOPS];
    size_t nops = 0;
    for (int o = 0; o < OPFLOW_NOPS; o++)
        if (T->opflags[T->deopt[o]] & OPFLOW_OPF_VALID) {
            ops[nops++] = (uint8_t)o;
            if (o == O_PUSH || o == O_NOP) ops[nops++] = (uint8_t)o;
        }
    for (int it = 0; it < iters; it++) {
        size_t len = 2 * (1 + rnd() % 300);
        if (rnd() % 8 == 0) len -= 1;   /* odd */
        uint8_t *code = malloc(len);
        for (size_t i = 0; i < len; i++) {
            uint32_t x = rnd();
            if (small_ops && !(i & 1))
                code[i] = rnd() % 256 ? ops[x % nops] : (uint8_t)x;
            else if (small_ops)
                code[i] = (uint8_t)(x % 8 ? x % 6 : x);
            else
                code[i] = (uint8_t)((i & 1) && x % 4 ? x % 8 : x);
        }
        if (len >= 2 && !(len & 1) && rnd() % 2) code[len - 2] = O_RET;
        size_t elen = (T->flags & OPFLOW_T_EXCTABLE) && rnd() % 3 == 0 ? rnd() % 24 : 0;
        uint8_t *exc = malloc(elen ? elen : 1);
        for (size_t i = 0; i < elen; i++) exc[i] = (uint8_t)(rnd() % 4 ? rnd() % 16 : rnd());
        size_t n = len / 2;
        int16_t *d = malloc((n ? n : 1) * sizeof *d);
        int r = opflow_depths(T, code, len, elen ? exc : NULL, elen, d, n);
        if (r == 0) memcpy(D, d, n * sizeof *d);
        check_result(T, code, len, r);
        free(d);
        free(exc);
        free(code);
        if (check_cur_failed) return;
    }
}

static void test_random_bytes(void)
{
    opflow_tables U = units_table(), B = bytes_table();
    fuzz(&U, 30000, 0);
    fuzz(&U, 60000, 1);
    fuzz(&B, 30000, 0);
    fuzz(&B, 60000, 1);
}

/* Valid programs with one or a few bytes changed, and every truncation. */
static void test_mutations(void)
{
    opflow_tables U = units_table(), B = bytes_table();
    const uint8_t prog[] = {O_PUSH, 0, O_JIF, 2, O_PUSH, 0, O_POP, 0, O_PUSH, 0, O_LOADC, 0,
                            9, 9, 9, 9, O_EXT, 0, O_BUILD, 3, O_CALL, 0, O_JB, 10, O_RET, 0};
    const uint8_t exc[] = {ENTRY(0, 4, 12, 0, 1)};
    const uint8_t fin[] = {O_SETUP_FIN, 6, O_PUSH, 0, O_POP, 0, O_BEGIN_FIN, 0, O_PUSH, 0,
                           O_POP, 0, O_END_FIN, 0, O_PUSH, 0, O_RET, 0};
    for (int it = 0; it < 40000; it++) {
        const opflow_tables *T = it & 1 ? &B : &U;
        const uint8_t *src = it & 1 ? fin : prog;
        size_t len = it & 1 ? sizeof fin : sizeof prog;
        uint8_t code[64], e[8];
        memcpy(code, src, len);
        memcpy(e, exc, sizeof exc);
        int nm = 1 + (int)(rnd() % 3);
        for (int k = 0; k < nm; k++) code[rnd() % len] = (uint8_t)(rnd() % 4 ? rnd() % 32 : rnd());
        if (rnd() % 3 == 0) e[rnd() % sizeof exc] = (uint8_t)rnd();
        size_t cut = rnd() % 4 == 0 ? rnd() % (len + 1) : len;
        size_t elen = T == &U ? (rnd() % 4 == 0 ? rnd() % (sizeof exc + 1) : sizeof exc) : 0;
        int r = cut ? run(T, code, cut, e, elen) : OPFLOW_EARG;
        check_result(T, code, cut, r);
        if (check_cur_failed) return;
    }
}

int main(void)
{
    RUN(test_straight_line);
    RUN(test_effect_kinds);
    RUN(test_caches_and_deopt);
    RUN(test_jumps);
    RUN(test_extended_arg);
    RUN(test_exception_table);
    RUN(test_generator_start);
    RUN(test_bytes_and_finally);
    RUN(test_callee);
    RUN(test_bad_arguments);
    RUN(test_many_targets);
    RUN(test_random_bytes);
    RUN(test_mutations);
    return CHECK_DONE();
}
