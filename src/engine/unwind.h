/* unwind.h — interpreter memory -> threads and stacks of profile locations.
 *
 * Every walk is bounded (UNWIND_MAX_THREADS threads, UNWIND_MAX_WALK frames)
 * and cycle-checked; a failed read abandons that one stack (a status), never
 * the process.  Nothing here takes the GIL or calls the C API.
 */
#ifndef STROBE_UNWIND_H
#define STROBE_UNWIND_H

#include <stdint.h>
#include "codecache.h"
#include "layout.h"
#include "mem.h"
#include "profile.h"

#define UNWIND_MAX_THREADS 4096
#define UNWIND_MAX_WALK 100000   /* frames walked (kept or counted) per stack */

typedef struct {
    uint64_t tstate;
    uint64_t thread_id;      /* pthread ident (threading.get_ident()) */
    int64_t native_id;       /* kernel tid, -1 when unknown */
    uint64_t frame;          /* innermost frame (PyFrameObject* or _PyInterpreterFrame*) */
    uint64_t cframe;         /* 3.11-3.12: the _PyCFrame that frame was read from, else 0 */
    int exited;              /* its OS thread is gone (the kernel cleared pthread's tid) */
} unwind_thread;

/* One frame as read, before its code is looked up. */
typedef struct {
    uint64_t code;           /* 0: a builtin being called (ccall.c), loc set */
    uint64_t frame;          /* where the frame was read (0 for a chain read from a coroutine) */
    uint64_t gen;            /* the generator/coroutine that owns the frame, or 0 */
    uint64_t self;           /* first local, read only for the unwinder's step codes */
    int64_t addr;            /* byte offset of the current instruction; -1: not started */
    uint32_t loc;            /* location id once resolved (UNWIND_UNRESOLVED, UNWIND_NO_LOC) */
    uint8_t check_incomplete;/* 3.11+ frame still being set up is left out */
} raw_frame;

#define UNWIND_NO_LOC UINT32_MAX             /* left out of stacks */
#define UNWIND_UNRESOLVED (UINT32_MAX - 1)  /* not looked up yet */

/* A builtin's element (ccall.c) put at the leaf of a thread's frames. */
static inline int raw_is_builtin(const raw_frame *f)
{
    return f->code == 0;
}

/* A growable array of raw frames, reused from pass to pass. */
typedef struct {
    raw_frame *f;
    size_t n, cap;
} raw_vec;

int raw_vec_push(raw_vec *v, const raw_frame *f);   /* 0 or -1 (no memory) */
void raw_vec_free(raw_vec *v);

enum unwind_status {
    UNWIND_OK = 0,
    UNWIND_EREAD = -1,       /* a read failed (memory changed or freed) */
    UNWIND_ECYCLE = -2,      /* the chain loops (torn read) */
    UNWIND_EPROFILE = -3,    /* the profile refused (memory cap) */
    UNWIND_ESTALE = -4,      /* a frame or code object died while we read it */
    UNWIND_ETORN = -5,       /* the chain changed while we read it */
    UNWIND_EMISS = -6,       /* a page not copied yet (mem walk mode, no_fetch): not an error */
};

/* (code, instruction) -> location, for code entries still as built. */
#define UNWIND_MEMO 4096
typedef struct {
    uint64_t code;
    int64_t addr;
    uint32_t build_id, loc;
} loc_memo;

typedef struct {
    mem_target *mem;
    const strobe_layout *L;
    codecache *cc;
    loc_memo *memo;           /* UNWIND_MEMO entries, or NULL */
    profile *prof;
    int32_t pthread_tid_off;  /* offset of the kernel tid in glibc's struct pthread, or -1 */
    const uint64_t *step_codes;   /* codes whose frames get raw_frame.self read */
    int nstep_codes;
    uint64_t frames_read, errors;
    uint64_t mixed;   /* walks found to mix two instants (3.11+: walk_consistent), walked again */
} unwinder;

/* Every thread of the interpreter at `interp` (up to max).  Returns the count
 * or a negative status. */
int unwind_threads(unwinder *u, uint64_t interp, unwind_thread *out, int max);

/* The innermost frame of thread t, read through the page cache (after
 * mem_walk_refresh has copied again the addresses unwind_start_addrs
 * gives); t->cframe is updated. */
int unwind_current_frame(unwinder *u, unwind_thread *t, uint64_t *frame);
/* Where the innermost frame of t is read from (1 or 2 addresses, in out). */
size_t unwind_start_addrs(const unwinder *u, const unwind_thread *t, uint64_t out[2]);

/* Append the frames of the chain from `frame` outwards (innermost first) to
 * v; *truncated is set when the walk bound (UNWIND_MAX_WALK) stopped it.
 * Returns the number appended or a negative status (v keeps what it had). */
int unwind_raw(unwinder *u, uint64_t frame, raw_vec *v, int *truncated);

/* The synthetic "<N frames omitted>" location ("N+" when truncated). */
int unwind_omitted_location(unwinder *u, uint64_t omitted, int truncated, uint32_t *loc);

/* Resolve a frame (done only when a stack needs it): its location id,
 * UNWIND_NO_LOC for a frame left out, or a negative status (the stack must be
 * dropped). */
int64_t unwind_location(unwinder *u, const raw_frame *f);

/* The same, kept in f->loc so that a frame shared by many stacks of a pass
 * is looked up once. */
static inline int64_t unwind_frame_loc(unwinder *u, raw_frame *f)
{
    if (f->loc == UNWIND_UNRESOLVED) {
        int64_t loc = unwind_location(u, f);
        if (loc < 0) return loc;
        f->loc = (uint32_t)loc;
    }
    return f->loc;
}


/* Find where glibc keeps the kernel tid in struct pthread, by looking for
 * gettid() in this thread's own descriptor.  Call from two different threads
 * and intersect (see sampler.c).  Fills up to max candidate offsets. */
int unwind_probe_tid_offsets(mem_target *m, int32_t *cand, int max);

#endif
