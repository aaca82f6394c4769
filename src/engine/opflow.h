/* opflow.h — value-stack depth of every instruction of a code object,
 * computed from its bytecode the way CPython's compiler models it
 * (stackdepth() in Python/compile.c, Python/flowgraph.c from 3.12), and
 * where the callable of a call-like instruction sits on that stack.
 *
 * The sampler sees a leaf frame stopped at a CALL-family instruction while
 * a builtin runs; CPython does not store the stack depth of a running frame,
 * so the depth before that instruction is computed here, from the bytes
 * alone, and opflow_callee() turns (opcode, oparg, depth) into slots.
 *
 * Everything version-specific is in opflow_tables, a plain value (no
 * pointers, about 6 KB) filled by the module for the interpreter it is built
 * against (src/module/opflow_fill.c) or by hand in tests.  Nothing here
 * allocates, recurses or reads outside the buffers it is given. */
#ifndef STROBE_OPFLOW_H
#define STROBE_OPFLOW_H
#include <stddef.h>
#include <stdint.h>

#define OPFLOW_NOPS 256
/* The largest depth reported (depths live in int16_t; the encoding used
 * while the analysis runs needs a little room below -1). */
#define OPFLOW_MAX_DEPTH 32000
/* The compiler never writes more than 3 EXTENDED_ARG before an instruction
 * (opargs are 32-bit); more is refused. */
#define OPFLOW_MAX_EXTARGS 3

/* How the stack effect depends on oparg.  The fill derives one of these from
 * the interpreter's own function and checks it at every probed oparg; an
 * opcode that fits none has kind NONE and makes the analysis fail. */
enum {
    OPFLOW_FX_NONE = 0,   /* unknown: never guessed */
    OPFLOW_FX_CONST,      /* c */
    OPFLOW_FX_LINEAR,     /* c + k*oparg */
    OPFLOW_FX_BITS,       /* c + k*popcount(oparg & m) */
    OPFLOW_FX_UNPACK_EX,  /* c + k*((oparg & 0xFF) + (oparg >> 8)) */
    OPFLOW_FX_EQ,         /* c + k*(oparg == m) */
};

typedef struct opflow_fx {
    uint8_t kind;
    int8_t c;
    int8_t k;
    uint8_t pad;
    uint32_t m;
} opflow_fx;

/* opflags[] bits, indexed by opcode (base opcodes unless said otherwise). */
#define OPFLOW_OPF_VALID     0x0001u  /* a base opcode with known effects */
#define OPFLOW_OPF_JUMP      0x0002u  /* has a jump target (oparg) */
#define OPFLOW_OPF_JABS      0x0004u  /* target is absolute (else relative) */
#define OPFLOW_OPF_JBACK     0x0008u  /* relative target counted backwards */
#define OPFLOW_OPF_TERM      0x0010u  /* no fall-through (return, raise, reraise, unconditional jump) */
#define OPFLOW_OPF_NOFOLLOW  0x0020u  /* the compiler does not follow the jump edge (3.8 CALL_FINALLY) */
#define OPFLOW_OPF_EXTARG    0x0040u  /* EXTENDED_ARG */
#define OPFLOW_OPF_OPAQUE    0x0080u  /* raw opcode whose real instruction is stored elsewhere:
                                         INSTRUMENTED_LINE/INSTRUMENTED_INSTRUCTION (3.12+),
                                         ENTER_EXECUTOR (3.13) */
#define OPFLOW_OPF_GENSTART  0x0100u  /* GEN_START (3.10), RETURN_GENERATOR (3.11, 3.12) */
#define OPFLOW_OPF_PREFIX    0x0200u  /* MAKE_CELL, COPY_FREE_VARS: may precede RETURN_GENERATOR */
#define OPFLOW_OPF_BEGIN_FIN 0x0400u  /* 3.8 BEGIN_FINALLY */
#define OPFLOW_OPF_END_FIN   0x0800u  /* 3.8 END_FINALLY */

/* tables.flags */
#define OPFLOW_T_JUMP_BYTES  0x1u  /* jump opargs count bytes (3.8, 3.9), else code units */
#define OPFLOW_T_EXCTABLE    0x2u  /* handlers come from co_exceptiontable (3.11+) */
#define OPFLOW_T_GEN_DEPTH1  0x4u  /* generators start at depth 1 (3.10-3.12), recognised by a
                                      GENSTART opcode at the start of the code */

/* Where a call-like opcode keeps its callable (see the table in opflow.c).
 * Slot a = depth + base - mul*oparg - (EXBIT ? oparg & 1 : 0). */
typedef struct opflow_calldesc {
    uint8_t kind;    /* OPFLOW_CALL_*, 0 = not a call site */
    int8_t base;
    uint8_t mul;
    uint8_t flags;   /* OPFLOW_CD_* */
} opflow_calldesc;

#define OPFLOW_CD_EXBIT     0x01  /* CALL_FUNCTION_EX: a kwargs dict is on top when oparg & 1 */
#define OPFLOW_CD_SELF      0x02  /* slot a+1 is self-or-NULL (3.13 CALL/CALL_KW) */
#define OPFLOW_CD_KWTOP     0x04  /* the kwnames tuple is on the stack, on top */
#define OPFLOW_CD_KWASIDE   0x08  /* 3.11/3.12: keyword names are not on the stack; a KW_NAMES
                                     right before the call (PRECALL in 3.11) names co_consts[arg] */
#define OPFLOW_CD_EXITBOUND 0x10  /* with entry 3.8-3.11: while __enter__ runs the slot already
                                     holds the manager's bound __exit__ (its __self__ is the
                                     manager); 3.12+: the slot holds the manager itself */
#define OPFLOW_CD_NULLSLOT  0x20  /* CALL_FUNCTION_EX: a NULL pushed for the call sits next to the
                                     callable (below it in 3.11/3.12, above it in 3.13) */

typedef struct opflow_tables {
    uint32_t version_hex;   /* PY_VERSION_HEX of the interpreter described */
    uint32_t flags;         /* OPFLOW_T_* */
    uint8_t deopt[OPFLOW_NOPS];    /* raw opcode -> base opcode (specialised 3.11+, instrumented 3.12+) */
    uint8_t caches[OPFLOW_NOPS];   /* inline cache units after a base opcode (3.11+) */
    uint16_t opflags[OPFLOW_NOPS]; /* OPFLOW_OPF_* */
    opflow_fx fx[OPFLOW_NOPS];     /* effect when not jumping, by base opcode */
    opflow_fx jfx[OPFLOW_NOPS];    /* effect when jumping (jump opcodes) */
    opflow_calldesc call[OPFLOW_NOPS];
} opflow_tables;

/* Errors (negative). */
#define OPFLOW_EARG     (-1)   /* bad arguments (NULL, empty or odd-length code, n_units too small) */
#define OPFLOW_EOPCODE  (-2)   /* an opcode this version does not have (or with no known effect) */
#define OPFLOW_EOPAQUE  (-3)   /* INSTRUMENTED_LINE, INSTRUMENTED_INSTRUCTION, ENTER_EXECUTOR */
#define OPFLOW_ETRUNC   (-4)   /* code ends inside an instruction or falls off its end */
#define OPFLOW_EJUMP    (-5)   /* jump target outside the code or not an instruction start */
#define OPFLOW_EEXTARG  (-6)   /* more than OPFLOW_MAX_EXTARGS EXTENDED_ARG in a row */
#define OPFLOW_EMERGE   (-7)   /* two paths reach an instruction with different depths */
#define OPFLOW_ENEG     (-8)   /* depth below zero */
#define OPFLOW_EDEEP    (-9)   /* depth above OPFLOW_MAX_DEPTH */
#define OPFLOW_EEXCTAB  (-10)  /* malformed exception table (or one given before 3.11) */
#define OPFLOW_EBUDGET  (-11)  /* work budget exceeded */

const char *opflow_strerror(int err);

/* Effect of base opcode op with oparg (jump: along the jump edge).  0 and
 * *out set, or -1 when unknown. */
int opflow_effect(const opflow_tables *T, int op, uint32_t oparg, int jump, int *out);

/* The depth before each instruction.
 *   code, code_len: 3.8-3.10 co_code; 3.11+ the adaptive bytes
 *     (co_code_adaptive: specialised and instrumented opcodes are mapped to
 *     their base, inline cache units are skipped, never decoded);
 *   exctab, exc_len: 3.11+ co_exceptiontable (may be empty); must be empty
 *     before 3.11;
 *   depth_out[n_units], n_units >= code_len / 2: one entry per 2-byte code
 *     unit: the depth before the instruction starting there, or -1 for units
 *     that start no instruction (caches) or that no path reaches.
 *     EXTENDED_ARG units get the depth of the instruction they extend.
 * Returns 0, or a negative OPFLOW_E* (depth_out is then unspecified). Work
 * is linear in code_len + exc_len (bounded even on hostile bytes).
 * Code under sys.settrace/line or instruction monitoring (3.12+) or with
 * tier-2 executors (3.13) holds opcodes whose real instruction is stored
 * elsewhere (OPFLOW_EOPAQUE); a caller may put the real opcode back in its
 * copy first: _co_monitoring->lines[i].original_opcode,
 * ->per_instruction_opcodes[i], co_executors->executors[oparg]->vm_data. */
int opflow_depths(const opflow_tables *T, const uint8_t *code, size_t code_len,
                  const uint8_t *exctab, size_t exc_len, int16_t *depth_out, size_t n_units);

/* The instruction at a unit as the interpreter executes it: follows and
 * accumulates EXTENDED_ARG (forwards when `unit` is one, as 3.8-3.10's
 * f_lasti may point there; backwards over the prefix otherwise).  depths
 * (from opflow_depths) tells instruction starts from cache units.  Sets the
 * base opcode, the full oparg and the unit of the instruction proper.
 * Returns 0 or a negative OPFLOW_E*. */
int opflow_decode(const opflow_tables *T, const uint8_t *code, size_t code_len,
                  const int16_t *depths, size_t n_units, size_t unit,
                  int *opcode, uint32_t *oparg, size_t *instr_unit);

/* Kinds of call sites. */
enum {
    OPFLOW_CALL_PLAIN = 1,  /* callable at slot */
    OPFLOW_CALL_METHOD,     /* slot holds the method or NULL; when NULL the callable is at
                               self_slot, else the method is the callable and self_slot
                               holds self (3.8-3.10 CALL_METHOD, 3.11 PRECALL/CALL,
                               3.12 CALL) */
    OPFLOW_CALL_KW,         /* callable at slot, keyword names tuple at kwnames_slot
                               (3.8-3.10 CALL_FUNCTION_KW, 3.13 CALL_KW) */
    OPFLOW_CALL_EX,         /* callable at slot, positional tuple at args_slot, kwargs dict
                               at kwargs_slot when oparg & 1 (CALL_FUNCTION_EX) */
    OPFLOW_CALL_ENTER,      /* `with`: the manager (or its bound __exit__, see EXITBOUND)
                               at slot; the callee is type(manager).__enter__ */
    OPFLOW_CALL_AENTER,     /* `async with`: likewise with __aenter__ */
};

typedef struct opflow_call {
    int kind;          /* OPFLOW_CALL_* */
    int slot;          /* slot a (0 = bottom of the value stack) */
    int self_slot;     /* slot b: METHOD: callable-or-self; 3.13 CALL/CALL_KW: self-or-NULL; else -1 */
    int args_slot;     /* first argument (EX: the positional tuple), -1 for with entry */
    int nargs;         /* argument slots from args_slot (positional + keyword values; EX: 1) */
    int kwnames_slot;  /* the kwnames tuple on the stack, or -1 */
    int kwargs_slot;   /* EX with oparg & 1: the kwargs dict, or -1 */
    int null_slot;     /* EX 3.11+: the NULL pushed for the call, or -1 */
    int flags;         /* OPFLOW_CD_KWASIDE, OPFLOW_CD_EXITBOUND as in the table */
} opflow_call;

/* For a (base) opcode with its full oparg and the depth before it (from
 * opflow_depths), which slots hold what.  0 with *out filled, or -1 when the
 * opcode is not a call site of this version (or the numbers don't fit). */
int opflow_callee(const opflow_tables *T, int opcode, int oparg, int depth, opflow_call *out);

/* 3.8 only (0 everywhere on other versions).  The compiler counts 6 slots
 * for the entry into a `finally:` body (or a with statement's cleanup),
 * which is exact when it is entered by an exception; entered normally
 * (BEGIN_FINALLY, or CALL_FINALLY for return/break/continue) the interpreter
 * pushes 1.  nest_out[u] = how many such bodies enclose unit u: the runtime
 * depth there is depths[u] - 5*j for some 0 <= j <= nest_out[u], depending
 * on how each was entered.  depths must come from opflow_depths on the same
 * code.  Returns 0 or a negative OPFLOW_E*. */
int opflow_finally_nesting(const opflow_tables *T, const uint8_t *code, size_t code_len,
                           const int16_t *depths, uint8_t *nest_out, size_t n_units);

#endif
