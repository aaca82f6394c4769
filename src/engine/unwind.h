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
} unwind_thread;

enum unwind_status {
    UNWIND_OK = 0,
    UNWIND_EREAD = -1,       /* a read failed (memory changed or freed) */
    UNWIND_ECYCLE = -2,      /* the chain loops (torn read) */
    UNWIND_EPROFILE = -3,    /* the profile refused (memory cap) */
    UNWIND_ESTALE = -4,      /* a frame or code object died while we read it */
};

typedef struct {
    mem_target *mem;
    const strobe_layout *L;
    codecache *cc;
    profile *prof;
    int32_t pthread_tid_off;  /* offset of the kernel tid in glibc's struct pthread, or -1 */
    uint64_t frames_read, errors;
} unwinder;

/* Every thread of the interpreter at `interp` (up to max).  Returns the count
 * or a negative status. */
int unwind_threads(unwinder *u, uint64_t interp, unwind_thread *out, int max);

/* The stack of one thread as location ids, leaf first, at most max_depth of
 * them; when frames were left out, the last element is a synthetic
 * "<N frames omitted>" location (so out needs max_depth + 1 room).
 * Returns the number of ids or a negative status. */
int unwind_stack(unwinder *u, uint64_t frame, uint32_t *out, int max_depth);

/* Find where glibc keeps the kernel tid in struct pthread, by looking for
 * gettid() in this thread's own descriptor.  Call from two different threads
 * and intersect (see sampler.c).  Fills up to max candidate offsets. */
int unwind_probe_tid_offsets(mem_target *m, int32_t *cand, int max);

#endif
