/* aio.h — reading asyncio's state from interpreter memory: the task
 * registries, task objects, and the chain of coroutines a suspended task is
 * parked in.  Like unwind.c it never takes the GIL and every walk is bounded
 * and cycle-checked.
 *
 * Facts that live in no header (the C Task/Future structs are private to
 * Modules/_asynciomodule.c) are measured at start by the module on live
 * objects (python/strobe/_aio.py) and handed over in struct strobe_aio.
 */
#ifndef STROBE_AIO_H
#define STROBE_AIO_H

#include <stdint.h>
#include "layout.h"
#include "mem.h"
#include "unwind.h"

#define AIO_MAX_TASK_TYPES 16
#define AIO_MAX_STEP_CODES 4
#define AIO_MAX_CHAIN 1024      /* coroutines followed down one task's await chain */

typedef struct strobe_aio {
    int enabled;
    /* types (addresses of the type objects) */
    uint64_t task_types[AIO_MAX_TASK_TYPES];   /* asyncio.Task and subclasses seen */
    int ntask_types;
    uint64_t futureiter_type;  /* what Future.__await__ returns */
    uint64_t asend_type, athrow_type;   /* async generator awaitables */
    uint64_t corowrapper_type; /* coroutine.__await__() */
    uint64_t weakref_type;     /* weakref.ref */
    /* offsets in C Future/Task objects */
    int32_t fut_loop, fut_state, task_coro, task_fut_waiter, task_name, task_size;
    int32_t fut_state_pending;
    int32_t futiter_future, asend_gen, athrow_gen, cw_coro;
    /* registries: sets whose entries are weak references to tasks, and sets
     * of tasks held strongly (3.12+ eager tasks while they run eagerly) */
    uint64_t reg_weak[2], reg_strong[2];
    int nreg_weak, nreg_strong;
    /* code objects of the loop's step (BaseEventLoop._run_once...): a
     * thread stack is cut there for the tasks of its loop, and the frame's
     * first local is the loop */
    uint64_t step_codes[AIO_MAX_STEP_CODES];
    int nstep_codes;
} strobe_aio;

typedef struct {
    uint64_t addr;        /* the Task object */
    uint64_t type;
    uint64_t loop;
    uint64_t coro;
    uint64_t waiter;      /* fut_waiter: the future it awaits, or 0 */
    uint64_t name;        /* str (or, 3.12+, an int n meaning "Task-n") */
    uint64_t name_hash;   /* of the name's bytes, read right after the task (tasks.c) */
    uint64_t seq;         /* the order of the page copy its coroutine pointer was read
                           * from (mem_cache_seq; 0: read directly) */
} aio_task;

/* One task object: 0 (a pending task, *t filled), 1 (a task, done), -1
 * (not a task, or unreadable). */
int aio_read_task(mem_target *m, const strobe_layout *L, strobe_aio *A, uint64_t addr, aio_task *t);

/* A registry (a set): its header (slot count, table, and its counts of
 * entries: active, and active or dummy), then a copy of its table's entries
 * (AIO_SET_KEY/AIO_SET_HASH of entry i) into *buf, a malloc'd buffer of
 * *cap bytes kept by the caller and grown as needed.  0, or -1 when
 * unreadable.  A set whose header shows the same table and counts as
 * before had no entry added (fill grows) or removed (used falls) in
 * between, unless both, into a dummy slot: a reader that only looks at some
 * slots then must check them on use. */
typedef struct {
    int64_t size;
    uint64_t table, used, fill;
} aio_set_head;
int aio_registry_head(mem_target *m, const strobe_layout *L, uint64_t set, aio_set_head *h);
int aio_registry_table(mem_target *m, const strobe_layout *L, const aio_set_head *h, uint8_t **buf, size_t *cap);
#define AIO_SET_KEY(L, table, i) mem_u64((table), (int32_t)((i) * (L)->setentry_size))
#define AIO_SET_HASH(L, table, i) mem_u64((table), (int32_t)((i) * (L)->setentry_size + 8))

/* The tasks behind up to AIO_KEY_BATCH registry keys (weak: references to
 * tasks), key by key: status[i] says what key i is (enum below), out[i] the
 * task when AIO_KEY_PENDING.  The references' pages are copied in one sweep
 * (mem_cache_fill), then the tasks' pages, then each is read. */
#define AIO_KEY_BATCH 512
enum { AIO_KEY_PENDING = 1, AIO_KEY_DONE = 2, AIO_KEY_NONE = 3 /* no live task (a dummy, a dead
                                                                  reference, unreadable) */ };
void aio_read_keys(mem_target *m, const strobe_layout *L, strobe_aio *A, int weak, const uint64_t *keys,
                   int nk, aio_task *out, uint8_t *status);

/* Every pending task of the registries, at most max.  *seen counts every
 * registry entry looked at (done tasks, dead references included).  A
 * subclass of a task type met there is added to A's task types.
 * Returns the count, or -1 when a registry itself cannot be read. */
int aio_read_tasks(mem_target *m, const strobe_layout *L, strobe_aio *A,
                   aio_task *out, int max, uint64_t *seen);

enum gen_state { GEN_CREATED = 1, GEN_SUSPENDED = 2, GEN_EXECUTING = 3, GEN_DONE = 4 };

typedef struct {
    int state;            /* enum gen_state */
    uint64_t frame;       /* its frame (PyFrameObject *, or the embedded frame) */
    raw_frame raw;        /* the frame as unwind_location() takes it */
    uint64_t awaiting;    /* the object it is suspended awaiting (yield from), or 0 */
    uint64_t awaiting_at; /* where that was read (its frame's stack top) */
    uint64_t type;        /* its type: the coroutine, generator or async generator type */
} aio_gen;

/* The code a generator runs, read now, bypassing the page copies.  0 or -1. */
int aio_gen_code_now(mem_target *m, const strobe_layout *L, uint64_t gen, uint64_t *code);
/* The same for gens[0..n), in one system call (3.11+: the frame's code, inside
 * the generator; 3.8-3.10: gi_code), each alone when that fails; codes[i] = 0
 * where it failed. */
void aio_gen_code_now_many(mem_target *m, const strobe_layout *L, const uint64_t *gens, uint64_t *codes, int n);

/* Read one generator, coroutine or async generator. 0 or -1. */
int aio_read_gen(mem_target *m, const strobe_layout *L, uint64_t gen, aio_gen *out);

enum chain_status {
    CHAIN_SUSPENDED = 0,  /* frames of a parked task */
    CHAIN_RUNNING = 1,    /* the task's coroutine is executing (its frames are
                             on a thread's stack) */
    CHAIN_NOT_STARTED = 2,/* created, not stepped yet: its one frame is its first line */
    CHAIN_TORN = -1,      /* memory changed under the walk (or a cycle) */
};

/* The frames of the coroutine chain from `coro` down to the innermost
 * awaited coroutine, outermost first, into out (at most max; more are
 * counted in *omitted).  *leaf_future is the future the innermost
 * coroutine awaits through Future.__await__ (0 when none).  Returns an
 * enum chain_status and sets *n. */
int aio_read_chain(mem_target *m, const strobe_layout *L, const strobe_aio *A, uint64_t coro,
                   raw_frame *out, int max, int *n, uint64_t *omitted, uint64_t *leaf_future);

/* Copy the pages the chains of these coroutines will be read from, level
 * by level (the coroutines, then what each awaits, ...: AIO_FILL_DEPTH
 * levels), each level in one sweep of the page cache (mem_cache_fill).
 * Reads nothing aio_read_chain would not, in the same order (an object's
 * page is copied after the pointer to it was read), so that the chains read
 * after it cost no system call.  objs[] (at most AIO_FILL_BATCH used) is
 * overwritten. */
#define AIO_FILL_DEPTH 4
#define AIO_FILL_BATCH 512
void aio_fill_chains(mem_target *m, const strobe_layout *L, const strobe_aio *A, uint64_t *objs, int n);

/* The task's name as text ("Task-7" for a lazily named task). -1 when the
 * name object is neither a str nor a small int. */
int aio_task_name(mem_target *m, const strobe_layout *L, uint64_t name, char *out, size_t cap);

/* Is `type` one of the task types? */
int aio_is_task_type(const strobe_aio *A, uint64_t type);

#endif
