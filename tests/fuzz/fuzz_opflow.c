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

/* the toy tables of tests/c/test_opflow.c */
#include "opflow_toy.h"

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
        toy_units_table(&toy[0]);
        toy_bytes_table(&toy[1]);
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
