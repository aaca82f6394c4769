/* links.h — task links the interpreter's memory does not hold, reported by
 * the Python-side hooks (python/strobe/_aio.py):
 *
 *  - child links: "task C was created by task P" (weak: used only when
 *    nothing awaits C) or "C belongs to P" (strong: TaskGroup.create_task,
 *    as_completed over C);
 *  - awaitable links: "the future or coroutine K stands for children
 *    C1..Cn" (gather's future, shield's outer future, wait()'s coroutine):
 *    a task awaiting K, or running K in its chain, is the parent of each.
 *
 * Hooks call in from Python threads; the sampling thread looks links up
 * under the same mutex.  Every entry is checked against the tasks read in a
 * pass (the child's coroutine must still be the one recorded, and so must
 * the parent's), so a task address reused by a new task does not inherit
 * an old link, unless its coroutine, too, is where the old child's was, and
 * then only until the hook records its own (right after the task is made;
 * a pass that reads the task in between sees the old link).  Memory is
 * bounded: LINKS_MAX entries per table, the rest counted in `dropped`.
 */
#ifndef STROBE_LINKS_H
#define STROBE_LINKS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define LINKS_MAX (1u << 20)
#define LINKS_MAX_CHILDREN 65536

enum { LINK_WEAK = 1, LINK_STRONG = 2 };

typedef struct {
    uint64_t child, child_coro, parent, parent_coro;
    uint64_t seq;
    int kind;
} child_link;

typedef struct {
    uint64_t key;
    uint64_t *children;
    uint32_t n;
    int coro;                /* the key is a coroutine (else a future) */
} await_link;

#define LINKS_MAX_LOOPS 64

typedef struct {
    pthread_mutex_t lock;
    /* running loops as the hooks saw them set: loop -> kernel tid */
    struct { uint64_t loop; int64_t tid; int stepped; } loops[LINKS_MAX_LOOPS];
    int nloops;
    child_link *c;
    size_t c_cap, c_used;
    await_link *a;
    size_t a_cap, a_used;
    size_t a_coro;           /* how many keys are coroutines (found in chains) */
    uint64_t seq, dropped;
    uint64_t ver;            /* bumped by every change of the child or awaitable links */
} links;

int links_init(links *l);
void links_free(links *l);

/* From hooks (take the lock themselves). */
void links_child(links *l, uint64_t child, uint64_t child_coro, uint64_t parent,
                 uint64_t parent_coro, int kind);
/* children NULL or n == 0: forget key.  coro: the key is a coroutine. */
void links_awaitable(links *l, uint64_t key, const uint64_t *children, size_t n, int coro);

/* A thread (kernel tid) starts running `loop`, or (loop 0) stops.
 * stepped: the loop steps in Python (BaseEventLoop._run_once), so its
 * thread's stack shows the step while it runs; else (uvloop) it does not. */
void links_running_loop(links *l, uint64_t loop, int64_t tid, int stepped);

/* From the sampling thread, with l->lock held. */
int64_t links_loop_tid(const links *l, uint64_t loop, int *stepped);   /* 0 when unknown */
const child_link *links_find_child(const links *l, uint64_t child);
const await_link *links_find_awaitable(const links *l, uint64_t key);
/* Forget child links whose child is not `alive` and that were recorded
 * before sequence number `before`. */
void links_prune(links *l, uint64_t before, int (*alive)(void *, uint64_t), void *arg);

#endif
