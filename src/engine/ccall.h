/* ccall.h — the builtin a Python frame is calling: the leaf element of a
 * stack when a thread is inside time.sleep, lock.acquire, sock.recv...
 *
 * CPython does not record the value-stack depth of a running frame, so the
 * depth at the frame's current instruction comes from a static analysis of
 * its bytecode (opflow.c), done once per call site.  The callable sits at a
 * known slot below the arguments (opflow_callee); if it is a builtin
 * function, a method descriptor, a slot wrapper, a C type or an instance of
 * one with tp_call, it is named "module.function" or "module.Type.method"
 * (time.sleep, _thread.lock.acquire, _socket.socket.recv).  `with x:`
 * entering x's C __enter__ is named "Type.__enter__".
 *
 * What is read can change under us (the thread moves on): the frame's
 * instruction pointer is read again after the slots, and the callable must
 * be of a C-callable type; anything else gives no element (counted).
 *
 * No Python.h; see docs/offcpu.md ("C-call leaf frames"). */
#ifndef STROBE_CCALL_H
#define STROBE_CCALL_H

#include <stdint.h>

#include "opflow.h"
#include "unwind.h"

#define CCALL_SITES 4096   /* memo: call site -> callee slots */
#define CCALL_NAMES 1024   /* memo: callable identity -> location */

typedef struct {
    uint64_t code;
    int64_t addr;
    uint32_t build_id;
    int8_t kind;           /* OPFLOW_CALL_* kind, or -1: not a call site we name */
    uint8_t exitbound;     /* with entry: the slot holds the bound __exit__ */
    int32_t a, b;          /* value-stack slots (see opflow_callee) */
    int32_t nlocalsplus;   /* 3.11+: the value stack starts after this many slots */
} ccall_site;

typedef struct {
    uint64_t k1, k2, k3;   /* what identifies the callable's name */
    uint32_t loc;          /* UINT32_MAX: not C code */
    int used;
} ccall_name;

typedef struct {
    opflow_tables T;
    int enabled;           /* the tables were filled for this interpreter */
    ccall_site *sites;
    ccall_name *names;
    uint8_t *code;         /* scratch: one code object's bytes */
    size_t code_cap;
    int16_t *depth;        /* scratch: depth per code unit */
    size_t depth_cap;
    uint64_t found, not_c, torn, unanalysable;
    uint64_t reused;       /* counted by the sampler: a blocked thread's builtin kept */
} ccall_cache;

int ccall_init(ccall_cache *c, const opflow_tables *T);   /* T NULL: disabled */
void ccall_free(ccall_cache *c);

/* The location of the builtin frame f (the innermost Python frame of a
 * thread, read from frame address f->frame) is calling: 1 with *loc set,
 * 0 when it calls none (or cannot be told), negative on a profile error. */
int ccall_leaf(unwinder *u, ccall_cache *c, const raw_frame *f, uint32_t *loc);

#endif
