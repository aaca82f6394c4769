/* tasks.c — asyncio task stacks, one pass per tick (see
 * docs/ARCHITECTURE.md, "asyncio").
 *
 * Inputs: every thread's frames (read first, by sampler.c) and every
 * pending task of the registries (read here, after; with a stride k > 1,
 * a task is read every k-th pass and again before it is used: read_tasks,
 * refresh_task).
 *
 *  1. Running tasks come from the thread stacks: a frame owned by a
 *     coroutine that is some task's coroutine starts that task's segment.
 *     The frames from there to the next such frame (or the leaf) are the
 *     task's; nested segments (3.12+ eager tasks starting inside another
 *     task's step) make the outer task the parent.  A loop-step frame
 *     (BaseEventLoop._run_once) gives the thread's loop (its `self`) and the
 *     base every task of that loop stands on: the thread's frames from the
 *     root up to that step.
 *  2. A task whose coroutine is executing but is on no thread's stack means
 *     the stacks and the tasks were read at different instants: the tasks of
 *     that loop's thread are skipped this pass and counted, never guessed.
 *  3. Suspended tasks: the coroutine chain (aio_read_chain), read once, and
 *     each of its coroutines confirmed to run that code still (check_chains).
 *  4. Links: physical nesting, then "A awaits B" (A's fut_waiter is B).
 *  5. Cycles (real deadlocks, or torn reads) are found by colouring the
 *     parent graph: O(tasks), no allocation per task.
 *  6. Every leaf task (and the running task, and every task on a cycle)
 *     gives one stack: its frames, its marker, its parent's frames and
 *     marker..., then the base of the thread running the root's loop.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hash.h"
#include "pyobj.h"
#include "sampler_impl.h"

#define TASKS_MAX (1u << 20)
#define STRIDE_MAX TASKS_STRIDE_MAX

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
#define NAME_SNAP 160
#define NAME_FIRST 64    /* name_snapshot's first read: the header and short names */
#define NAME_BATCH 512

enum {
    TF_RUNNING = 1,     /* its coroutine is on a thread's stack */
    TF_INNERMOST = 2,   /* ... and it is the innermost: it has the CPU */
    TF_HAS_CHILD = 4,
    TF_CYCLE = 8,
    TF_BAD = 16,        /* torn: no stack from or through it this pass */
    TF_VISITING = 32,
    TF_DONE = 64,
    TF_CHAIN = 128,     /* its chain was read this pass (lazily, when needed) */
    TF_STALE = 256,     /* taken from an earlier pass's read: read again before use */
    TF_CHECKED = 512,   /* its chain's frames were checked against the memory now */
    TF_CHECK_ROOT = 1024, /* its coroutine's page copy is older than the task's (check_chains) */
    TF_PREP = 2048,     /* taken into the batch being prepared */
    TF_SEL = 4096,      /* gives a stack of its own this pass */
};

/* What made a task's parent its parent (checked when the parent was read
 * again: refresh_task, emit_task). */
enum {
    PK_NONE,
    PK_AWAIT,      /* the parent's waiter is the task */
    PK_AWAITABLE,  /* the parent's waiter is an awaitable (gather...) standing for it */
    PK_CHAIN,      /* an awaitable coroutine in the parent's chain stands for it (wait()) */
    PK_CHILD,      /* the hooks: the parent made it, or owns it */
    PK_RUN,        /* it runs nested in the parent's step (this pass's stack) */
};

struct task_info {
    uint64_t addr;          /* 0 = empty */
    uint64_t snap_hash;     /* of the name object's header and characters */
    uint64_t name;          /* the name object they were read from */
    uint64_t coro;          /* its coroutine, and that coroutine's code (0: not seen yet): */
    uint64_t code0;         /* a task read from an older copy of its memory shows otherwise */
    uint64_t tick;          /* the pass it was last checked in */
    uint32_t thread_labels; /* the thread label set the labels below extend */
    uint32_t marker;        /* location of "task:NAME" */
    uint32_t labels;
    uint32_t var_key;       /* labels + task state (+ off cpu cause): for this key, */
    uint32_t var_labels;    /* this set */
    uint32_t stack_len;     /* the last stack it gave: its length, hash and id */
    uint64_t stack_hash;
    uint32_t stack;
};

void tasks_free(taskpass *tp)
{
    free(tp->t);
    free(tp->by_addr);
    free(tp->by_coro);
    free(tp->parent);
    free(tp->thread);
    free(tp->seg_lo);
    free(tp->seg_hi);
    free(tp->path);
    free(tp->flags);
    free(tp->src);
    free(tp->parent0);
    free(tp->gflags);
    free(tp->pkind0);
    free(tp->pkind);
    free(tp->gwait);
    free(tp->plist);
    free(tp->scratch);
    free(tp->codes);
    for (int r = 0; r < TASKS_MAX_REG; r++) {
        free(tp->slots[r]);
        free(tp->tab[r]);
        free(tp->tab_prev[r]);
    }
    free(tp->fr_start);
    free(tp->fr_n);
    free(tp->fr_omitted);
    raw_vec_free(&tp->frames);
    free(tp->info);
    free(tp->info_key);
    free(tp->tmp);
    memset(tp, 0, sizeof *tp);
}

static int grow(taskpass *tp, size_t cap)
{
#define GROW(field)                                          \
    do {                                                     \
        void *p_ = realloc(tp->field, cap * sizeof *tp->field); \
        if (!p_) return -1;                                  \
        tp->field = p_;                                      \
    } while (0)
    GROW(t);
    GROW(parent);
    GROW(thread);
    GROW(seg_lo);
    GROW(seg_hi);
    GROW(path);
    GROW(flags);
    GROW(src);
    GROW(parent0);
    GROW(gflags);
    GROW(pkind0);
    GROW(pkind);
    GROW(gwait);
    GROW(plist);
    GROW(scratch);
    GROW(fr_start);
    GROW(fr_n);
    GROW(fr_omitted);
#undef GROW
    size_t mc = 16;
    while (mc < 2 * cap) mc <<= 1;
    uint32_t *a = calloc(mc, sizeof *a), *b = calloc(mc, sizeof *b);
    if (!a || !b) { free(a); free(b); return -1; }
    free(tp->by_addr);
    free(tp->by_coro);
    tp->by_addr = a;
    tp->by_coro = b;
    tp->map_cap = mc;
    tp->cap = cap;
    return 0;
}

static void map_put(uint32_t *map, size_t cap, uint64_t key, uint32_t idx)
{
    size_t i = strobe_mix64(key) & (cap - 1);
    while (map[i]) i = (i + 1) & (cap - 1);
    map[i] = idx + 1;
}

static int32_t find_addr(const taskpass *tp, uint64_t addr)
{
    if (!addr || !tp->map_cap) return -1;
    for (size_t i = strobe_mix64(addr) & (tp->map_cap - 1); tp->by_addr[i]; i = (i + 1) & (tp->map_cap - 1))
        if (tp->t[tp->by_addr[i] - 1].addr == addr) return (int32_t)(tp->by_addr[i] - 1);
    return -1;
}

static int32_t find_coro(const taskpass *tp, uint64_t coro)
{
    if (!coro || !tp->map_cap) return -1;
    for (size_t i = strobe_mix64(coro) & (tp->map_cap - 1); tp->by_coro[i]; i = (i + 1) & (tp->map_cap - 1))
        if (tp->t[tp->by_coro[i] - 1].coro == coro) return (int32_t)(tp->by_coro[i] - 1);
    return -1;
}

static int name_snapshot(sampler *s, uint64_t name, uint8_t *out);

/* A task's waiter changed from `was` to `now`: the kept graph stands on
 * waiters that are tasks or awaitables the hooks reported; a change from
 * or to one of those means building it again. */
static void note_waiter(sampler *s, uint64_t was, uint64_t now)
{
    taskpass *tp = &s->tp;
    if (was == now || tp->graph_dirty || !tp->graph_ok) return;
    if (!tp->list_ok || find_addr(tp, was) >= 0 || find_addr(tp, now) >= 0) {
        tp->graph_dirty = 1;
        return;
    }
    links *l = &s->links;
    pthread_mutex_lock(&l->lock);
    if (l->a_used && (links_find_awaitable(l, was) || links_find_awaitable(l, now))) tp->graph_dirty = 1;
    pthread_mutex_unlock(&l->lock);
}

/* Read the keys dst[0..nk) of a registry into their slots: the tasks
 * (aio_read_keys), then their names' pages in one sweep and each name's
 * snapshot (a task that dies later in the pass may leave its name's memory
 * to another task's name).  A slot still holding the task it held (address
 * and coroutine) updates that task in the pass's list in place; 1 when some
 * slot holds another task, or none where there was one, or one where there
 * was none: the list must be built again. */
static int read_slots(sampler *s, int weak, const uint64_t *keys, reg_slot **dst, int nk)
{
    taskpass *tp = &s->tp;
    aio_task got[AIO_KEY_BATCH];
    uint8_t st[AIO_KEY_BATCH];
    uint64_t names[AIO_KEY_BATCH];
    aio_read_keys(&s->mem, &s->L, &s->aio, weak, keys, nk, got, st);
    int nn = 0, changed = 0;
    for (int j = 0; j < nk; j++)
        if (st[j] == AIO_KEY_PENDING) names[nn++] = got[j].name;
    mem_cache_fill(&s->mem, names, (size_t)nn, NAME_FIRST);
    for (int j = 0; j < nk; j++) {
        reg_slot *sl = dst[j];
        uint8_t was = sl->state;
        sl->state = st[j];
        sl->read_gen = tp->gen;
        if (st[j] != AIO_KEY_PENDING) {
            changed |= was == AIO_KEY_PENDING || was == 0;
            continue;
        }
        uint8_t snap[NAME_SNAP];
        int len = name_snapshot(s, got[j].name, snap);
        got[j].name_hash = len < 0 ? 0 : strobe_hash_bytes(snap, (size_t)len);
        if (was != AIO_KEY_PENDING || sl->t.addr != got[j].addr || sl->t.coro != got[j].coro) {
            changed = 1;
        } else {
            note_waiter(s, sl->t.waiter, got[j].waiter);
            if (tp->list_ok && sl->idx < tp->n && tp->src[sl->idx] == sl) {
                tp->t[sl->idx] = got[j];
                tp->flags[sl->idx] = 0;
            }
        }
        sl->t = got[j];
    }
    return changed;
}

/* The registries' headers, from the pages copied at the pass's start (the
 * sets are where every pointer the task pass follows starts from: what it
 * reads after is newer).  Every registry read, or heads_ok stays 0. */
static void read_heads(sampler *s)
{
    taskpass *tp = &s->tp;
    strobe_aio *A = &s->aio;
    int nr = 0;
    tp->heads_ok = 0;
    for (int weak = 1; weak >= 0; weak--) {
        int nreg = weak ? A->nreg_weak : A->nreg_strong;
        for (int r = 0; r < nreg && nr < TASKS_MAX_REG; r++)
            if (aio_registry_head(&s->mem, &s->L, weak ? A->reg_weak[r] : A->reg_strong[r], &tp->head_now[nr++]) != 0)
                return;
    }
    tp->heads_ok = 1;
}

#define TURN_READ_MAX 128   /* slots whose turn it is, read entry by entry rather than the whole table */
#define TURN_GROUP 8        /* passes whose turns are read together */

/* The passes that read turns, and how many passes' turns each reads: with
 * a stride k, a slot is read every k-th pass, on its turn ((slot + pass) %
 * k == 0); the turns of up to TURN_GROUP passes in a row are read together,
 * in the first of them (one set of system calls instead of several). */
static uint64_t turn_group(uint64_t kread)
{
    return kread < TURN_GROUP ? kread : TURN_GROUP;
}

static int on_turn(uint64_t i, uint64_t ticks, uint64_t kread)
{
    uint64_t g = turn_group(kread);
    return ticks % g == 0 && (i + ticks) % kread < g;
}

/* The slots of a table of `size` whose turn it is (in idx[], at most max;
 * returns how many there are, max + 1 when more). */
static size_t turn_slots(uint64_t size, uint64_t ticks, uint64_t kread, uint64_t *idx, size_t max)
{
    uint64_t g = turn_group(kread);
    size_t n = 0;
    if (ticks % g) return 0;
    for (uint64_t r = 0; r < g; r++)
        for (uint64_t i = (r + kread - ticks % kread) % kread; i < size; i += kread) {
            if (n == max) return max + 1;
            idx[n++] = i;
        }
    return n;
}

/* The entries of slots idx[0..n) of a registry's table (at `remote`), read
 * now into their places in `table`: one system call. */
static int read_turn_entries(sampler *s, uint64_t remote, uint8_t *table, const uint64_t *idx, size_t n)
{
    mem_iov v[TURN_READ_MAX];
    size_t esz = (size_t)s->L.setentry_size;
    for (size_t j = 0; j < n; j++) {
        v[j].addr = remote + idx[j] * esz;
        v[j].buf = table + idx[j] * esz;
        v[j].size = esz;
    }
    return n ? mem_readv_fresh(&s->mem, v, (int)n) : 0;
}

/* This pass's tasks, in the registries' order: every slot of every
 * registry whose key is a pending task.  A slot holding the same key and
 * hash as when it was read is read again only every kread-th pass (its
 * turn: (slot + pass) % kread == 0); in between its task is taken as read
 * then and marked TF_STALE (read again before it is used for a stack).  A
 * table that did not change since the last read (one memcmp) is not gone
 * through at all: only the slots whose turn it is are read.  The list
 * (tp->t, its maps) is built again only when some slot's task changed;
 * else the tasks read now are updated in place.  Dedupes (a 3.12 eager
 * task can be in two sets), a task read now winning over one from before. */
static int read_tasks(sampler *s, uint64_t kread)
{
    taskpass *tp = &s->tp;
    const strobe_layout *L = &s->L;
    strobe_aio *A = &s->aio;
    uint64_t keys[AIO_KEY_BATCH];
    reg_slot *dst[AIO_KEY_BATCH];
    int nr = 0, rc = 0, nk = 0;
    int changed = !tp->list_ok, rescan = tp->rescan;
    tp->rescan = 0;
    tp->gen++;
    if (tp->list_ok)
        for (size_t k = 0; k < tp->n; k++) tp->flags[k] = TF_STALE;
    uint64_t turns[TURN_READ_MAX];
    size_t esz = (size_t)L->setentry_size;
    for (int weak = 1; weak >= 0 && rc == 0; weak--) {
        int nreg = weak ? A->nreg_weak : A->nreg_strong;
        for (int r = 0; r < nreg && nr < TASKS_MAX_REG; r++) {
            int ri = nr++;
            aio_set_head h = tp->head_now[ri];
            if (!tp->heads_ok && aio_registry_head(&s->mem, L, weak ? A->reg_weak[r] : A->reg_strong[r], &h) != 0) {
                rc = -1;
                break;
            }
            int64_t size = h.size;
            if (tp->nslots[ri] != (size_t)size) {   /* new, or the set was resized: read every slot */
                free(tp->slots[ri]);
                tp->slots[ri] = calloc((size_t)size, sizeof **tp->slots);
                tp->nslots[ri] = tp->slots[ri] ? (size_t)size : 0;
                tp->tab_prev_n[ri] = -1;
                changed = 1;
                if (!tp->slots[ri]) {
                    rc = -1;
                    break;
                }
                for (int64_t i = 0; i < size; i++) tp->slots[ri][i].idx = TASK_NONE;
            }
            /* The same header as last time, with few slots to read: only
             * their entries are read (entries changed unseen, see
             * aio_registry_head, are found on their turn or on use); else
             * the whole table, compared with the last. */
            size_t nturn = kread > 1 ? turn_slots((uint64_t)size, s->ticks, kread, turns, TURN_READ_MAX) : (size_t)-1;
            int partial = !rescan && kread > 1 && tp->tab_prev_n[ri] == size && nturn <= TURN_READ_MAX &&
                          !memcmp(&h, &tp->head[ri], sizeof h) &&
                          read_turn_entries(s, h.table, tp->tab_prev[ri], turns, nturn) == 0;
            tp->head[ri] = h;
            int same = 0;
            if (!partial) {
                if (aio_registry_table(&s->mem, L, &h, &tp->tab[ri], &tp->tab_cap[ri]) != 0) {
                    rc = -1;
                    break;
                }
                same = !rescan && kread > 1 && tp->tab_prev_n[ri] == size &&
                       memcmp(tp->tab[ri], tp->tab_prev[ri], (size_t)size * esz) == 0;
            }
            /* partial: the entries read are in tab_prev, which stays the table to
             * compare the next with */
            const uint8_t *table = partial ? tp->tab_prev[ri] : tp->tab[ri];
#define QUEUE(sl_, key_)                              \
    do {                                              \
        keys[nk] = (key_);                            \
        dst[nk++] = (sl_);                            \
        if (nk == AIO_KEY_BATCH) {                    \
            changed |= read_slots(s, weak, keys, dst, nk); \
            nk = 0;                                   \
        }                                             \
    } while (0)
            if (same) {   /* only the turns, listed or (more than fit the list) looked for */
                int listed = nturn <= TURN_READ_MAX;
                for (uint64_t j = 0; j < (listed ? nturn : (uint64_t)size); j++) {
                    uint64_t i = listed ? turns[j] : j;
                    if (!listed && !on_turn(i, s->ticks, kread)) continue;
                    uint64_t key = AIO_SET_KEY(L, table, i);
                    if (key) QUEUE(&tp->slots[ri][i], key);
                }
            } else {
                /* every slot, or (partial) those whose turn it is */
                for (size_t j = 0; j < (partial ? nturn : (size_t)size); j++) {
                    int64_t i = partial ? (int64_t)turns[j] : (int64_t)j;
                    reg_slot *sl = &tp->slots[ri][i];
                    uint64_t key = AIO_SET_KEY(L, table, i), hash = AIO_SET_HASH(L, table, i);
                    if (!key) {
                        changed |= sl->state == AIO_KEY_PENDING;
                        sl->state = 0;
                        continue;
                    }
                    if (sl->key != key || sl->hash != hash) {
                        changed |= sl->state == AIO_KEY_PENDING;
                        sl->state = 0;
                    } else if (sl->state && kread > 1 && !on_turn((uint64_t)i, s->ticks, kread)) {
                        continue;   /* as read before */
                    }
                    sl->key = key;
                    sl->hash = hash;
                    QUEUE(sl, key);
                }
            }
#undef QUEUE
            if (nk) changed |= read_slots(s, weak, keys, dst, nk);
            nk = 0;
            if (partial) continue;
            /* this table is the one to compare the next with */
            uint8_t *tb = tp->tab_prev[ri];
            size_t tc = tp->tab_prev_cap[ri];
            tp->tab_prev[ri] = tp->tab[ri];
            tp->tab_prev_cap[ri] = tp->tab_cap[ri];
            tp->tab[ri] = tb;
            tp->tab_cap[ri] = tc;
            tp->tab_prev_n[ri] = size;
        }
    }
    if (rc != 0) {
        tp->n = 0;
        tp->list_ok = 0;
        for (int ri = 0; ri < TASKS_MAX_REG; ri++) tp->tab_prev_n[ri] = -1;
        return -1;
    }
    if (nr != tp->nreg_last) changed = 1;
    tp->nreg_last = nr;
    if (!changed) {   /* the same tasks: those read now are up to date in place */
        for (size_t k = 0; k < tp->n; k++) tp->tasks_reused += tp->flags[k] == TF_STALE;
        tp->tasks_seen += tp->n;
        return 0;
    }
    /* build the list again: every pending slot, in order */
    tp->lists_built++;
    tp->graph_dirty = 1;
    tp->list_ok = 0;
    size_t want = 0;
    for (int ri = 0; ri < nr; ri++)
        for (size_t i = 0; i < tp->nslots[ri]; i++) {
            tp->slots[ri][i].idx = TASK_NONE;
            want += tp->slots[ri][i].state == AIO_KEY_PENDING;
        }
    tp->n = 0;
    if (want > TASKS_MAX) want = TASKS_MAX;
    if (want > tp->cap || !tp->cap) {
        size_t cap = tp->cap ? tp->cap : 256;
        while (cap < want) cap *= 2;
        if (grow(tp, cap) != 0) return -1;
    }
    size_t n = 0;
    for (int ri = 0; ri < nr; ri++)
        for (size_t i = 0; i < tp->nslots[ri] && n < want; i++) {
            reg_slot *sl = &tp->slots[ri][i];
            if (sl->state != AIO_KEY_PENDING) continue;
            tp->t[n] = sl->t;
            tp->src[n] = sl;
            tp->flags[n] = sl->read_gen == tp->gen ? 0 : TF_STALE;
            n++;
        }
    memset(tp->by_addr, 0, tp->map_cap * sizeof *tp->by_addr);
    memset(tp->by_coro, 0, tp->map_cap * sizeof *tp->by_coro);
    size_t m = n;
    if (nr > 1) {
        /* dedupe (only sets apart can hold one task twice), those read now
         * first; then the map is made again over the compacted list */
        uint8_t *drop = (uint8_t *)tp->path;   /* scratch: n bytes, path is n int32 */
        for (int stale = 0; stale < 2; stale++)
            for (size_t k = 0; k < n; k++) {
                if (!(tp->flags[k] & TF_STALE) != !stale) continue;
                drop[k] = find_addr(tp, tp->t[k].addr) >= 0;
                if (!drop[k]) map_put(tp->by_addr, tp->map_cap, tp->t[k].addr, (uint32_t)k);
            }
        m = 0;
        for (size_t k = 0; k < n; k++) {
            if (drop[k]) continue;
            tp->t[m] = tp->t[k];
            tp->src[m] = tp->src[k];
            tp->flags[m] = tp->flags[k];
            m++;
        }
        memset(tp->by_addr, 0, tp->map_cap * sizeof *tp->by_addr);
    }
    tp->n = m;
    for (int stale = 0; stale < 2; stale++)
        for (size_t k = 0; k < m; k++) {
            if (!(tp->flags[k] & TF_STALE) != !stale) continue;
            map_put(tp->by_addr, tp->map_cap, tp->t[k].addr, (uint32_t)k);
            if (find_coro(tp, tp->t[k].coro) < 0) map_put(tp->by_coro, tp->map_cap, tp->t[k].coro, (uint32_t)k);
            tp->src[k]->idx = (uint32_t)k;
            if (stale) tp->tasks_reused++;
        }
    tp->tasks_seen += m;
    tp->list_ok = 1;
    return 0;
}

/* A task this pass took from an earlier read (TF_STALE), about to give a
 * stack or to have one stand on it: read it again now.  0 when it is still
 * the pending task read then (coroutine and loop; a leaf must not await a
 * task now; for a task others stand on, emit_task checks that the link
 * still holds): its entry is brought up to date.  Else -1: it gives no stack
 * this pass (TF_BAD), and its slot is read again in the next. */
static int refresh_task(sampler *s, int32_t k, int stood_on)
{
    taskpass *tp = &s->tp;
    aio_task *t = &tp->t[k];
    aio_task now;
    tp->flags[k] &= (uint16_t)~TF_STALE;
    int same = aio_read_task(&s->mem, &s->L, &s->aio, t->addr, &now) == 0 && now.coro == t->coro &&
               now.loop == t->loop && (stood_on || find_addr(tp, now.waiter) < 0);
    if (same) {
        /* the name read again too: a task, its coroutine and its name can
         * all be new objects at the old ones' addresses */
        uint8_t snap[NAME_SNAP];
        int len = name_snapshot(s, now.name, snap);
        now.name_hash = len < 0 ? 0 : strobe_hash_bytes(snap, (size_t)len);
        note_waiter(s, t->waiter, now.waiter);   /* the graph is built again next pass if it matters */
        *t = now;
        tp->src[k]->t = now;
        return 0;
    }
    tp->tasks_changed++;
    tp->flags[k] |= TF_BAD;
    tp->src[k]->state = 0;
    tp->rescan = 1;   /* its slot is read again in the next pass */
    return -1;
}

/* ---- loops and threads ---------------------------------------------------- */

static loop_entry *find_loop(taskpass *tp, uint64_t loop)
{
    for (int i = 0; i < tp->nloops; i++)
        if (tp->loops[i].loop == loop) return &tp->loops[i];
    return NULL;
}

static loop_entry *remember_loop(taskpass *tp, uint64_t loop, uint64_t key, uint64_t tick, int from_step)
{
    loop_entry *e = find_loop(tp, loop);
    if (!e) {
        int slot = 0;
        if (tp->nloops < (int)(sizeof tp->loops / sizeof tp->loops[0])) {
            slot = tp->nloops++;
        } else {
            for (int i = 1; i < tp->nloops; i++)
                if (tp->loops[i].tick < tp->loops[slot].tick) slot = i;
        }
        e = &tp->loops[slot];
        memset(e, 0, sizeof *e);
        e->loop = loop;
    }
    e->key = key;
    e->tick = tick;
    e->from_step |= from_step;
    return e;
}

/* Keep the base of a loop thread read whole this pass (as locations). */
static void keep_base(sampler *s, loop_entry *e, tick_thread *tt)
{
    if (tt->base_idx < 0 || (size_t)tt->base_idx >= tt->raw_n) return;
    raw_frame *f = s->raw.f + tt->raw_start;
    uint32_t n = 0;
    for (size_t i = (size_t)tt->base_idx; i < tt->raw_n; i++) {
        int64_t loc = unwind_frame_loc(&s->uw, &f[i]);
        if (loc < 0) return;
        if (loc == UNWIND_NO_LOC) continue;
        if (n == LOOP_BASE_MAX) return;   /* too deep to keep: used from the stack directly */
        e->base[n++] = (uint32_t)loc;
    }
    e->nbase = n;
    e->base_truncated = tt->truncated;
    e->base_tick = s->ticks;
}

/* Did this thread run a loop whose step has a Python frame? */
static int runs_stepped_loop(const taskpass *tp, uint64_t key)
{
    for (int i = 0; i < tp->nloops; i++)
        if (tp->loops[i].key == key && tp->loops[i].from_step) return 1;
    return 0;
}

enum { FOUND_STEP = 1, FOUND_HOOK, FOUND_HOOK_NATIVE, FOUND_REMEMBERED };

/* The thread (index into s->tt) running `loop` in this pass, or -1, and how
 * we know: its stack shows the loop stepping (or one of its tasks running),
 * the hooks saw the thread set it as its running loop, or we saw it there
 * before (a loop whose step has no Python frame: uvloop). */
static int32_t loop_thread(sampler *s, size_t nth, uint64_t loop, int *how)
{
    *how = 0;
    if (!loop) return -1;
    for (size_t i = 0; i < nth; i++)
        if (s->tt[i].ok && !s->tt[i].torn && s->tt[i].loop == loop) {
            *how = FOUND_STEP;
            return (int32_t)i;
        }
    taskpass *tp = &s->tp;
    int stepped;
    pthread_mutex_lock(&s->links.lock);
    int64_t tid = links_loop_tid(&s->links, loop, &stepped);
    pthread_mutex_unlock(&s->links.lock);
    if (tid > 0)
        for (size_t i = 0; i < nth; i++)
            if ((s->tt[i].ok || s->tt[i].torn) && s->tt[i].te->native_id == tid &&
                (!s->tt[i].loop || s->tt[i].loop == loop)) {
                *how = stepped ? FOUND_HOOK : FOUND_HOOK_NATIVE;
                return (int32_t)i;
            }
    loop_entry *le = find_loop(tp, loop);
    if (le)
        for (size_t i = 0; i < nth; i++)
            if ((s->tt[i].ok || s->tt[i].torn) && s->tt[i].te->key == le->key && !s->tt[i].loop) {
                *how = FOUND_REMEMBERED;
                return (int32_t)i;
            }
    return -1;
}

/* Do the hooks know this loop as one that steps in Python? */
static int loop_is_stepped(sampler *s, uint64_t loop)
{
    int stepped;
    pthread_mutex_lock(&s->links.lock);
    int64_t tid = links_loop_tid(&s->links, loop, &stepped);
    pthread_mutex_unlock(&s->links.lock);
    return tid > 0 && stepped;
}

static int unclaimed_coroutine(sampler *s, const raw_frame *f, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (f[i].gen && pyobj_type(&s->mem, &s->L, f[i].gen) == s->L.coro_type) return 1;
    return 0;
}

/* Segments of running tasks on each thread, the thread's loop and base. */
static void find_running(sampler *s, size_t nth)
{
    taskpass *tp = &s->tp;
    for (size_t i = 0; i < nth; i++) {
        tick_thread *tt = &s->tt[i];
        if (!tt->ok) continue;
        raw_frame *f = s->raw.f + tt->raw_start;
        int32_t outer = -1, outermost = -1;
        for (size_t k = tt->raw_n; k-- > 0;) {
            if (f[k].self) {
                tt->step_idx = (int)k;
                tt->loop = f[k].self;
            }
            int32_t ti = f[k].gen ? find_coro(tp, f[k].gen) : -1;
            if (ti < 0 || (tp->flags[ti] & TF_RUNNING)) continue;
            /* The frame was read before the task: its coroutine must still
             * run the same code (else the address now holds another task's
             * coroutine, and the stack mixes two instants). */
            aio_gen g;
            if (aio_read_gen(&s->mem, &s->L, f[k].gen, &g) != 0 || g.raw.code != f[k].code) {
                tt->torn = 1;
                tp->flags[ti] |= TF_BAD;
                continue;
            }
            tp->flags[ti] |= TF_RUNNING;
            tp->thread[ti] = (int32_t)i;
            tp->seg_hi[ti] = (int32_t)k;
            tp->seg_lo[ti] = 0;
            if (outer >= 0) {
                tp->seg_lo[outer] = (int32_t)k + 1;
                tp->parent[ti] = outer;
                tp->pkind[ti] = PK_RUN;
            } else {
                outermost = ti;
            }
            outer = ti;
        }
        if (outer >= 0) tp->flags[outer] |= TF_INNERMOST;
        /* A coroutine running above the loop's step that no task we read
         * claims: the task list and the stack disagree (or the registry
         * could not be read).  Its frames are no one's to show. */
        if (outer < 0 && tt->step_idx > 0 && unclaimed_coroutine(s, f, (size_t)tt->step_idx)) {
            tt->torn = 1;
            tp->unclaimed++;
        }
        if (outermost >= 0) {
            if (!tt->loop) tt->loop = tp->t[outermost].loop;
            tt->base_idx = tp->seg_hi[outermost] + 1;
            if (tt->step_idx > tp->seg_hi[outermost]) tt->base_idx = tt->step_idx;
        } else {
            tt->base_idx = tt->step_idx >= 0 ? tt->step_idx : 0;
        }
        /* A thread running a task whose loop steps in Python, yet no step
         * frame on its stack: the stack was cut while we read it. */
        if (outermost >= 0 && tt->step_idx < 0 &&
            (runs_stepped_loop(tp, tt->te->key) || loop_is_stepped(s, tp->t[outermost].loop))) {
            tt->torn = 1;
            for (int32_t t = outer; t >= 0; t = tp->parent[t]) tp->flags[t] |= TF_BAD;
        }
        if (tt->loop && !tt->torn) remember_loop(tp, tt->loop, tt->te->key, s->ticks, tt->step_idx >= 0);
    }
}

/* Each loop thread read whole this pass keeps its base (once the codes of
 * its frames are checked: check_codes). */
static void keep_bases(sampler *s, size_t nth)
{
    taskpass *tp = &s->tp;
    for (size_t i = 0; i < nth; i++) {
        tick_thread *tt = &s->tt[i];
        if (!tt->ok || !tt->loop || tt->torn) continue;
        loop_entry *e = find_loop(tp, tt->loop);
        if (e && e->tick == s->ticks && e->key == tt->te->key) keep_base(s, e, tt);
    }
}

/* ---- suspended tasks ---------------------------------------------------------- */

/* Read task k's coroutine chain, once per pass and only when a stack or a
 * link needs it.  0, or -1 when the task gives no stack this pass. */
static struct task_info *info_slot(taskpass *tp, uint64_t addr);

/* Is a page of generator `gen` (its header and frame) copied in this pass
 * already, and before `seq` (the copy a pointer to it was read from; 0: a
 * direct read)?  Its copy may then be older than the pointer: the object
 * there then may be gone, its memory another coroutine now.  A page not
 * copied yet will be copied after. */
static int copied_before(sampler *s, uint64_t gen, uint64_t seq)
{
    uint64_t end = gen + (uint64_t)s->L.gen_size - 1;
    uint64_t a = mem_cache_seq(&s->mem, gen), b = mem_cache_seq(&s->mem, end);
    return (a && (!seq || a < seq)) || (b && (!seq || b < seq));
}

static int ensure_chain(sampler *s, int32_t k)
{
    taskpass *tp = &s->tp;
    if (tp->flags[k] & TF_BAD) return -1;
    if (tp->flags[k] & (TF_RUNNING | TF_CHAIN)) return 0;
    tp->flags[k] |= TF_CHAIN;
    int max = s->cfg.max_depth, n;
    uint64_t leaf;
    tp->fr_n[k] = 0;
    tp->fr_omitted[k] = 0;
    if (copied_before(s, tp->t[k].coro, tp->t[k].seq)) tp->flags[k] |= TF_CHECK_ROOT;
    int st = aio_read_chain(&s->mem, &s->L, &s->aio, tp->t[k].coro, tp->tmp, max, &n,
                            &tp->fr_omitted[k], &leaf);
    if (st == CHAIN_RUNNING) {
        /* Executing, yet on no stack we read: the thread moved on to it
         * after we read the thread.  Its frames are nowhere we can trust;
         * it gives no stack this pass (nor do tasks under it). */
        tp->moved++;
        tp->flags[k] |= TF_BAD;
        return -1;
    }
    if (n > 0 && (st == CHAIN_SUSPENDED || st == CHAIN_NOT_STARTED)) {
        /* This pass's copy of a page may be older than what the chain was
         * read from: a task read from such a copy (since gone, its memory
         * and its coroutine's reused) would stand on another task's
         * coroutine.  A task's coroutine runs one code all its life: the
         * same task (address, coroutine and name as before) running other
         * code is skipped once; if that lasts, it is a new task with all
         * three the same, and its code is taken from then on. */
        struct task_info *e = tp->info_cap ? info_slot(tp, tp->t[k].addr) : NULL;
        if (e && e->addr == tp->t[k].addr && e->coro == tp->t[k].coro &&
            e->snap_hash == tp->t[k].name_hash && e->code0 != tp->tmp[0].code) {
            if (e->code0) st = CHAIN_TORN;
            e->code0 = tp->tmp[0].code;
        }
    }
    /* (a coroutine not started yet was checked by aio_read_chain; the
     * others by check_chains) */
    if (st == CHAIN_NOT_STARTED) tp->flags[k] |= TF_CHECKED;
    if (st == CHAIN_TORN) {
        tp->chains_torn++;
        tp->flags[k] |= TF_BAD;
        return -1;
    }
    tp->fr_start[k] = tp->frames.n;
    for (int i = n; i-- > 0;) {   /* stored leaf first */
        if (raw_vec_push(&tp->frames, &tp->tmp[i]) != 0) {
            tp->flags[k] |= TF_BAD;
            return -1;
        }
        tp->fr_n[k]++;
    }
    return 0;
}

/* ---- links and cycles ----------------------------------------------------------- */

/* "A awaits B" (A's fut_waiter is B): B's parent is A, the first such A.
 * flags: skip the tasks marked TF_BAD (NULL: none). */
static void link_awaits(taskpass *tp, int32_t *par, uint8_t *kind, const uint16_t *flags)
{
    for (size_t k = 0; k < tp->n; k++) {
        if (flags && (flags[k] & TF_BAD)) continue;
        int32_t w = find_addr(tp, tp->t[k].waiter);
        if (w >= 0 && w != (int32_t)k && par[w] < 0) {
            par[w] = (int32_t)k;
            kind[w] = PK_AWAIT;
        }
    }
}

/* The children an awaitable stands for become children of task k; a child
 * that is itself such an awaitable (gather of gathers) is expanded. */
static void expand_awaitable(taskpass *tp, int32_t *par, uint8_t *kind, uint8_t how, const links *l,
                             const await_link *e, int32_t k, int depth)
{
    for (uint32_t i = 0; i < e->n; i++) {
        int32_t c = find_addr(tp, e->children[i]);
        if (c >= 0) {
            if (c != k && par[c] < 0) {
                par[c] = k;
                kind[c] = how;
            }
            continue;
        }
        const await_link *sub = depth < 8 ? links_find_awaitable(l, e->children[i]) : NULL;
        if (sub && sub != e) expand_awaitable(tp, par, kind, how, l, sub, k, depth + 1);
    }
}

static int task_alive(void *arg, uint64_t addr)
{
    return find_addr(arg, addr) >= 0;
}

/* Links from the hooks: awaitables in a task's wait (gather, shield, wait),
 * then strong and weak child links, each only where nothing stronger set a
 * parent.  Every link is checked against this pass's tasks.  per_pass: the
 * graph of this pass alone (running and torn tasks skipped; wait()'s
 * coroutine keys found in chains, read now); else the graph kept across
 * passes, from the tasks' entries only.  Returns the links' version it
 * was built from. */
static uint64_t link_hooks(sampler *s, uint64_t seq_before, int32_t *par, uint8_t *kind, int per_pass)
{
    taskpass *tp = &s->tp;
    links *l = &s->links;
    pthread_mutex_lock(&l->lock);
    if (l->a_used) {
        for (size_t k = 0; k < tp->n; k++) {
            if (per_pass && (tp->flags[k] & (TF_BAD | TF_RUNNING))) continue;
            const await_link *e = links_find_awaitable(l, tp->t[k].waiter);
            if (e) expand_awaitable(tp, par, kind, PK_AWAITABLE, l, e, (int32_t)k, 0);
            /* keys that are coroutines (wait()) sit in the chain: read it
             * only while there are such keys */
            if (!per_pass || !l->a_coro || find_addr(tp, tp->t[k].waiter) >= 0 || ensure_chain(s, (int32_t)k) != 0)
                continue;
            const raw_frame *f = tp->frames.f + tp->fr_start[k];
            for (uint32_t i = 0; i < tp->fr_n[k]; i++)
                if ((e = links_find_awaitable(l, f[i].gen))) expand_awaitable(tp, par, kind, PK_CHAIN, l, e, (int32_t)k, 0);
        }
    }
    if (l->c_used) {
        for (int lk = LINK_STRONG; lk >= LINK_WEAK; lk--) {
            for (size_t k = 0; k < tp->n; k++) {
                if (par[k] >= 0) continue;
                const child_link *e = links_find_child(l, tp->t[k].addr);
                if (!e || e->kind != lk || e->child_coro != tp->t[k].coro) continue;
                int32_t p = find_addr(tp, e->parent);
                if (p >= 0 && p != (int32_t)k && tp->t[p].coro == e->parent_coro) {
                    par[k] = p;
                    kind[k] = PK_CHILD;
                }
            }
        }
        if (l->c_used > 2 * tp->n + 1024) links_prune(l, seq_before, task_alive, tp);
    }
    uint64_t ver = l->ver;
    pthread_mutex_unlock(&l->lock);
    return ver;
}

/* Marks the tasks on a cycle of `par` (TF_CYCLE) and those with a child
 * (TF_HAS_CHILD) in `flags`. */
static void find_cycles(size_t n, const int32_t *par, uint16_t *flags, int32_t *path)
{
    for (size_t k = 0; k < n; k++) {
        if (flags[k] & TF_DONE) continue;
        size_t np = 0;
        int32_t cur = (int32_t)k;
        while (cur >= 0 && !(flags[cur] & TF_DONE)) {
            if (flags[cur] & TF_VISITING) {   /* closed a loop: mark it */
                int32_t c = cur;
                do {
                    flags[c] |= TF_CYCLE;
                    c = par[c];
                } while (c != cur);
                break;
            }
            flags[cur] |= TF_VISITING;
            path[np++] = cur;
            cur = par[cur];
        }
        for (size_t i = 0; i < np; i++) flags[path[i]] = (uint16_t)((flags[path[i]] & ~TF_VISITING) | TF_DONE);
    }
    for (size_t k = 0; k < n; k++)
        if (par[k] >= 0) flags[par[k]] |= TF_HAS_CHILD;
}

/* ---- markers and labels --------------------------------------------------------- */

/* The bytes that identify a name object's value, and only those, so that
 * snapshots taken passes apart agree while the object lives: for an int,
 * its header (the count zeroed) and digit; for a str, its type, length,
 * kind and characters -- not its count, cached hash, interning state, or
 * the UTF-8 and wide copies CPython caches in the header on demand.
 * snapshot_of takes it from hdr, the name's first `have` bytes (its header
 * at least), the rest of a long name read through the page copies, or
 * (fresh) directly. */
static int snapshot_of(sampler *s, uint64_t name, const uint8_t *hdr, size_t have, uint8_t *out, int fresh)
{
    const strobe_layout *L = &s->L;
    uint64_t type = mem_u64(hdr, L->ob_type);
    if (type == L->long_type) {
        size_t n = (size_t)L->long_digit + 8;
        memcpy(out, hdr, n);
        memset(out + L->ob_refcnt, 0, 8);   /* the count changes; the value does not */
        return (int)n;
    }
    if (type != L->unicode_type) return -1;
    uint32_t state;
    memcpy(&state, hdr + L->u_state, 4);
    unsigned kind = (state >> L->u_kind_shift) & 7u, ascii = (state >> L->u_ascii_shift) & 1u;
    uint32_t bits = kind | ascii << 3 | ((state >> L->u_compact_shift) & 1u) << 4;
    uint64_t length = mem_u64(hdr, L->u_length);
    size_t n = 0;
    memcpy(out + n, &type, 8), n += 8;
    memcpy(out + n, &length, 8), n += 8;
    memcpy(out + n, &bits, 4), n += 4;
    uint64_t len = length * kind;
    uint64_t off = (uint64_t)(ascii ? L->u_ascii_data : L->u_compact_data);
    if (len > NAME_SNAP - n) len = NAME_SNAP - n;
    mem_iov rest = { name + off, out + n, (size_t)len };
    if (off + len <= (uint64_t)have) {
        memcpy(out + n, hdr + off, (size_t)len);
    } else if (len && (fresh ? mem_readv_fresh(&s->mem, &rest, 1) : mem_read(&s->mem, name + off, (size_t)len, out + n)) != 0) {
        return -1;
    }
    return (int)(n + len);
}

static int name_snapshot(sampler *s, uint64_t name, uint8_t *out)
{
    const strobe_layout *L = &s->L;
    uint8_t hdr[NAME_FIRST];
    size_t have = NAME_FIRST;
    /* one read covers the header (and short names) nearly always */
    if (!name || L->u_ascii_data > NAME_FIRST || L->long_digit + 8 > NAME_FIRST) return -1;
    if (mem_read(&s->mem, name, NAME_FIRST, hdr) != 0) {
        uint64_t t = pyobj_type(&s->mem, L, name);   /* near the end of a mapping */
        have = (size_t)(t == L->long_type ? L->long_digit + 8 : L->u_ascii_data);
        if (!t || mem_read(&s->mem, name, have, hdr) != 0) return -1;
    }
    return snapshot_of(s, name, hdr, have, out, 0);
}

/* The entry of task `addr`, or the empty slot for it, or NULL when the
 * table is full (never, given info_reserve; but a probe is bounded). */
static struct task_info *info_slot(taskpass *tp, uint64_t addr)
{
    size_t mask = tp->info_cap - 1;
    size_t i = strobe_mix64(addr) & mask;
    for (size_t probes = 0; probes < tp->info_cap; probes++, i = (i + 1) & mask)
        if (!tp->info_key[i] || tp->info_key[i] == addr) return &tp->info[i];
    return NULL;
}

/* Room for every task of this pass: at most half full after it, or start
 * over (the entries are a cache, refilled as tasks are seen). */
static int info_reserve(taskpass *tp, size_t ntasks)
{
    if (tp->info && 2 * (tp->info_used + ntasks) <= tp->info_cap) return 0;
    size_t want = 64;
    while (want < 4 * ntasks) want <<= 1;
    free(tp->info);
    free(tp->info_key);
    tp->info = calloc(want, sizeof *tp->info);
    tp->info_key = calloc(want, sizeof *tp->info_key);
    if (!tp->info || !tp->info_key) {
        free(tp->info);
        free(tp->info_key);
        tp->info = NULL;
        tp->info_key = NULL;
    }
    tp->info_cap = tp->info ? want : 0;
    tp->info_used = 0;
    return tp->info ? 0 : -1;
}

static struct task_info *task_labels(sampler *s, const aio_task *t, thread_entry *te)
{
    taskpass *tp = &s->tp;
    struct task_info *e = info_slot(tp, t->addr);
    if (!e) return NULL;
    if (e->addr == t->addr && e->tick == s->ticks && e->thread_labels == te->labels && e->coro == t->coro)
        return e;   /* checked already in this pass */
    uint64_t sh = t->name_hash;
    if (!sh) return NULL;
    if (e->addr == t->addr && e->snap_hash == sh && e->name == t->name && e->thread_labels == te->labels &&
        e->coro == t->coro) {
        e->tick = s->ticks;
        return e;
    }
    /* decode the name, and check it is still the one read with the task */
    char name[PYOBJ_MAX_STR * 4 + 8] = "task:";
    uint8_t snap[NAME_SNAP];
    int nl = aio_task_name(&s->mem, &s->L, t->name, name + 5, sizeof name - 5);
    if (nl < 0) return NULL;
    /* ... that the task still has that name object (asyncio.create_task on
     * 3.8-3.10 names a task after making it, and the default name freed
     * then may already hold another task's name) and coroutine, and that the
     * name object holds those characters now (the page copy they were read
     * from may be older than the task: the string there then was another,
     * since freed), all read directly in one call */
    uint64_t now_name, now_coro;
    uint8_t hdr[NAME_FIRST];
    mem_iov v[3] = { { t->addr + (uint64_t)s->aio.task_name, &now_name, 8 },
                     { t->addr + (uint64_t)s->aio.task_coro, &now_coro, 8 },
                     { t->name, hdr, NAME_FIRST } };
    size_t have = NAME_FIRST;
    if (mem_readv_fresh(&s->mem, v, 3) != 0) {   /* a name near the end of a mapping: its header */
        have = v[2].size = (size_t)(s->L.u_ascii_data > s->L.long_digit + 8 ? s->L.u_ascii_data : s->L.long_digit + 8);
        if (mem_readv_fresh(&s->mem, v, 3) != 0) return NULL;
    }
    if (now_name != t->name || now_coro != t->coro) return NULL;
    int sl = snapshot_of(s, t->name, hdr, have, snap, 1);
    if (sl < 0 || strobe_hash_bytes(snap, (size_t)sl) != sh) return NULL;
    profile *p = &s->prof;
    uint32_t loc, lset;
    if (profile_intern_synthetic(p, name, (size_t)nl + 5, &loc) != PROF_OK) return NULL;
    size_t nlab;
    const prof_label *tl = profile_labels(p, te->labels, &nlab);
    prof_label lab[PROF_MAX_LABELS];
    if (nlab + 2 > PROF_MAX_LABELS) return NULL;
    memcpy(lab, tl, nlab * sizeof *lab);
    char idbuf[32];
    int il = snprintf(idbuf, sizeof idbuf, "%" PRIu64, t->addr);
    lab[nlab].key = s->k_task_name;
    lab[nlab + 1].key = s->k_task_id;
    if (profile_intern_string(p, name + 5, (size_t)nl, &lab[nlab].str) != PROF_OK ||
        profile_intern_string(p, idbuf, (size_t)il, &lab[nlab + 1].str) != PROF_OK ||
        profile_intern_labels(p, lab, nlab + 2, &lset) != PROF_OK)
        return NULL;
    if (e->addr != t->addr) tp->info_used++;
    memset(e, 0, sizeof *e);
    e->addr = t->addr;
    tp->info_key[e - tp->info] = t->addr;
    e->snap_hash = sh;
    e->name = t->name;
    e->coro = t->coro;
    e->thread_labels = te->labels;
    e->marker = loc;
    e->labels = lset;
    e->tick = s->ticks;
    return e;
}

/* A task whose parent is running stands on the parent's frames as the
 * thread's stack showed them, read before the tasks.  A task made in
 * between (by the parent: create_task, gather) did not exist at that
 * instant; such a stack would show the parent before it made the child.
 * Only a task this sampler saw before this pass (the same address,
 * coroutine and name: its entry from an earlier pass) surely existed when
 * the stacks were read; any other child of a running task gives no stack
 * this pass (counted) and is noted as seen (its labels made now), so it
 * gives its stack from the next pass on.  (Neither the hooks' links nor
 * the registries tell when a task was made: a task and its coroutine are
 * often made where a finished child's were, and its link is recorded only
 * after it is registered.)  1 when task k (not TF_BAD) is skipped so. */
static int new_under_running(sampler *s, size_t k)
{
    taskpass *tp = &s->tp;
    int32_t p = tp->parent[k];
    if (p < 0 || !(tp->flags[p] & TF_RUNNING) || (tp->flags[k] & TF_RUNNING) || tp->thread[p] < 0) return 0;
    const aio_task *t = &tp->t[k];
    struct task_info *e = info_slot(tp, t->addr);
    if (e && e->addr == t->addr && e->coro == t->coro && e->snap_hash == t->name_hash && e->tick < s->ticks)
        return 0;
    tp->flags[k] |= TF_BAD;
    tp->new_under_running++;
    task_labels(s, t, s->tt[tp->thread[p]].te);
    return 1;
}

/* What a suspended task waits for, from the innermost frame of its own
 * chain (location `loc`): asyncio's sleep, locks and queues, streams and
 * sockets; anything else (a bare future, a frame of the program's) is
 * "other".  Decided once per function. */
static int await_cause(sampler *s, uint32_t loc)
{
    profile *p = &s->prof;
    if (loc >= p->nloc) return CAUSE_OTHER;
    uint32_t fid = p->loc[loc].function;
    if (fid >= s->fn_cause_cap) {
        size_t cap = s->fn_cause_cap ? s->fn_cause_cap : 1024;
        while (cap <= fid) cap *= 2;
        uint8_t *n = realloc(s->fn_cause, cap);
        if (!n) return CAUSE_OTHER;
        memset(n + s->fn_cause_cap, 0, cap - s->fn_cause_cap);
        s->fn_cause = n;
        s->fn_cause_cap = cap;
    }
    if (!s->fn_cause[fid]) {
        const prof_function *fn = &p->fn[fid];
        int c = offcpu_asyncio_cause(p->str[fn->file], p->str[fn->name]);
        s->fn_cause[fid] = (uint8_t)(c == CAUSE_NONE ? CAUSE_OTHER : c);
    }
    return s->fn_cause[fid];
}

/* The labels of a task's sample: its own, its state, and the cause when it
 * has off-CPU time. */
static int task_sample_labels(sampler *s, struct task_info *ti, int running, int cause,
                              uint32_t *out)
{
    uint32_t key = 1 + (uint32_t)running * NCAUSES + (uint32_t)cause;
    if (ti->var_key != key) {
        prof_label l[2] = { { s->k_task_state, running ? s->v_running : s->v_suspended },
                            { s->k_cause, cause > CAUSE_NONE ? s->v_cause[cause] : 0 } };
        if (sampler_labels_plus(s, ti->labels, l, cause > CAUSE_NONE ? 2 : 1, &ti->var_labels) != 0)
            return -1;
        ti->var_key = key;
    }
    *out = ti->var_labels;
    return 0;
}

/* ---- stacks --------------------------------------------------------------------- */

static void note_cycle(sampler *s, int32_t k)
{
    taskpass *tp = &s->tp;
    if (tp->cycle_report[0]) return;
    size_t len = 0;
    int32_t cur = k;
    for (size_t step = 0; step <= tp->n && len + 8 < sizeof tp->cycle_report; step++) {
        char name[128];
        if (aio_task_name(&s->mem, &s->L, tp->t[cur].name, name, sizeof name) < 0) snprintf(name, sizeof name, "?");
        len += (size_t)snprintf(tp->cycle_report + len, sizeof tp->cycle_report - len, "%s%s",
                                step ? " awaits " : "", name);
        if (step && cur == k) break;
        cur = tp->parent[cur];
    }
}

static void emit_task(sampler *s, size_t nth, int32_t k, double weight)
{
    taskpass *tp = &s->tp;
    stack_builder b = { s, 0, 0, 0 };
    int32_t cur = k, root = k;
    int cycle = (tp->flags[k] & TF_CYCLE) != 0;
    int64_t leaf_loc = -1;   /* innermost frame of a suspended leaf task */
    int32_t child = -1;
    for (size_t steps = 0; cur >= 0 && steps <= tp->n; steps++) {
        root = cur;
        if ((tp->flags[cur] & TF_STALE) && refresh_task(s, cur, cur != k && !(tp->flags[cur] & TF_RUNNING)) != 0)
            return;
        if (tp->flags[cur] & TF_BAD) return;
        /* the link from the task below still holds, the parent as read now:
         * awaiting it, or the awaitable standing for it (a link the hooks
         * made needs neither) */
        uint8_t pk = child >= 0 ? tp->pkind[child] : PK_NONE;
        if ((pk == PK_AWAIT && tp->t[cur].waiter != tp->t[child].addr) ||
            ((pk == PK_AWAITABLE || pk == PK_CHAIN) && tp->t[cur].waiter != tp->gwait[cur])) {
            tp->tasks_changed++;
            return;
        }
        if (tp->flags[cur] & TF_RUNNING) {
            tick_thread *tt = &s->tt[tp->thread[cur]];
            raw_frame *f = s->raw.f + tt->raw_start;
            int32_t lo = tp->seg_lo[cur];
            /* under another task, a running task stands on its Python
             * frames: the builtin it is in is its own leaf, not theirs */
            if (cur != k && lo <= tp->seg_hi[cur] && raw_is_builtin(&f[lo])) lo++;
            sampler_put_frames(&b, f + lo, (size_t)(tp->seg_hi[cur] - lo + 1));
        } else {
            if (ensure_chain(s, cur) != 0) return;
            sampler_put_frames(&b, tp->frames.f + tp->fr_start[cur], tp->fr_n[cur]);
            if (cur == k && b.n) leaf_loc = s->stackbuf[0];
            b.omitted += tp->fr_omitted[cur];
        }
        int how;
        int32_t th = tp->flags[cur] & TF_RUNNING ? tp->thread[cur] : loop_thread(s, nth, tp->t[cur].loop, &how);
        if (th < 0) {   /* its loop runs on no thread we read (stopped, or that thread torn) */
            tp->no_loop++;
            return;
        }
        struct task_info *ti = task_labels(s, &tp->t[cur], s->tt[th].te);
        if (!ti || b.failed) {
            b.failed = 1;
            break;
        }
        sampler_put(&b, ti->marker);
        int32_t p = tp->parent[cur];
        child = cur;
        if (cycle && p == k) {
            uint32_t loc;
            if (profile_intern_synthetic(&s->prof, "<await cycle>", 13, &loc) == PROF_OK) sampler_put(&b, loc);
            note_cycle(s, k);
            break;
        }
        cur = p;
    }
    if (b.failed) {
        s->uw.errors++;
        return;
    }
    int how = FOUND_STEP;
    int32_t th = tp->flags[root] & TF_RUNNING ? tp->thread[root] : loop_thread(s, nth, tp->t[root].loop, &how);
    if (th < 0) {
        tp->no_loop++;
        return;
    }
    tick_thread *tt = &s->tt[th];
    int innermost = (tp->flags[k] & TF_INNERMOST) != 0;
    if (s->cfg.mode == SAMPLER_CPU && (!innermost || tt->cpu == 0)) return;
    /* The base the root task stands on.  From this pass's stack when it
     * shows the loop stepping; else the loop's base as last read, if the
     * loop still runs (the hooks say so, or its thread could not be read
     * whole: the frames under a running loop's step do not change while it
     * runs); for a loop whose step is native (uvloop), the thread's stack. */
    loop_entry *le = find_loop(tp, tp->t[root].loop);
    int truncated = tt->truncated;
    int readable = tt->ok && !tt->torn;
    int recent = le && le->base_tick && le->base_tick + 100 >= s->ticks;
    if (how == FOUND_STEP && readable) {
        raw_frame *f = s->raw.f + tt->raw_start;
        size_t from = tt->base_idx > 0 ? (size_t)tt->base_idx : 0;
        sampler_put_frames(&b, f + from, tt->raw_n - from);
    } else if (recent && (le->from_step || !readable) && (how == FOUND_HOOK || !readable)) {
        for (uint32_t i = 0; i < le->nbase; i++) sampler_put(&b, le->base[i]);
        truncated = le->base_truncated;
    } else if (readable && (how == FOUND_HOOK_NATIVE || (how == FOUND_REMEMBERED && le && !le->from_step))) {
        /* a loop whose step is native code (uvloop): the thread's stack,
         * but for the builtin it is in (the loop's run_forever) */
        raw_frame *f = s->raw.f + tt->raw_start;
        size_t from = tt->raw_n && raw_is_builtin(&f[0]) ? 1 : 0;
        sampler_put_frames(&b, f + from, tt->raw_n - from);
    } else {
        tp->no_loop++;   /* its loop is not running now */
        return;
    }
    if (b.failed) {
        s->uw.errors++;
        return;
    }
    struct task_info *leaf = NULL;
    int32_t lth = tp->flags[k] & TF_RUNNING ? tp->thread[k] : th;
    leaf = task_labels(s, &tp->t[k], s->tt[lth].te);
    if (!leaf) return;
    /* the running task has its thread's time; a suspended one is off CPU
     * for the whole interval, waiting for what its innermost frame awaits */
    tick_thread *ltt = &s->tt[lth];
    /* a thinned leaf stands for `weight` leaves (not a whole number in
     * general): its wall time is scaled, its count rounded */
    int64_t wall = weight == 1.0 ? tt->wall : (int64_t)(weight * (double)tt->wall + 0.5);
    int64_t count = weight == 1.0 ? 1 : (int64_t)(weight + 0.5);
    int64_t off = innermost ? ltt->off : wall;
    int cause = innermost ? ltt->cause
                          : off ? (leaf_loc >= 0 ? await_cause(s, (uint32_t)leaf_loc) : CAUSE_OTHER)
                                : CAUSE_NONE;
    int64_t v[NVALUES] = { count, wall, innermost ? ltt->cpu : 0, off };
    uint32_t labels;
    if (task_sample_labels(s, leaf, innermost, cause, &labels) != 0) return;
    /* a parked task gives the same stack pass after pass: its id is kept */
    uint64_t h = strobe_hash_bytes((const uint8_t *)s->stackbuf, b.n * sizeof *s->stackbuf) ^
                 strobe_mix64(b.omitted * 2 + (uint64_t)truncated);
    if (leaf->stack_len == b.n + 1 && leaf->stack_hash == h && !b.omitted && !truncated &&
        sampler_same_stack(s, leaf->stack, s->stackbuf, b.n)) {
        sampler_add(s, leaf->stack, labels, v);
        return;
    }
    uint32_t stack;
    if (sampler_intern(s, s->stackbuf, b.n, b.omitted, truncated, &stack) != 0) return;
    leaf->stack = stack;
    leaf->stack_len = (uint32_t)b.n + 1;
    leaf->stack_hash = h;
    sampler_add(s, stack, labels, v);
}

static int codes_reserve(taskpass *tp, size_t n)
{
    if (n <= tp->codes_cap) return 0;
    uint64_t *c = realloc(tp->codes, n * sizeof *c);
    if (!c) return -1;
    tp->codes = c;
    tp->codes_cap = n;
    return 0;
}

/* Before the lookups of this pass's codes: those of the threads' frames
 * (threads: the first call in a pass) and of the chain frames read since
 * the last call, confirmed by one read of the code counter (3.12+), else
 * validated in batched reads (codecache_check_many). */
static void check_codes(sampler *s, size_t nth, int threads)
{
    taskpass *tp = &s->tp;
    size_t want = tp->frames.n - tp->frames_checked;
    if (threads)
        for (size_t i = 0; i < nth; i++)
            if (s->tt[i].ok) want += s->tt[i].raw_n;
    if (!want || codes_reserve(tp, want) != 0) return;   /* (else each validated at its lookup) */
    size_t n = 0;
    for (size_t i = tp->frames_checked; i < tp->frames.n; i++) tp->codes[n++] = tp->frames.f[i].code;
    if (threads)
        for (size_t i = 0; i < nth; i++)
            if (s->tt[i].ok)
                for (size_t k = 0; k < s->tt[i].raw_n; k++) tp->codes[n++] = s->raw.f[s->tt[i].raw_start + k].code;
    codecache_check_many(&s->cc, tp->codes, n, sampler_counter_same(s));
    tp->frames_checked = tp->frames.n;
}

/* Must frame j of task k's chain (stored leaf first) be checked?  Its
 * coroutine's page copy may be older than the pointer that led to it: the
 * task's own coroutine (TF_CHECK_ROOT, decided before its chain was read);
 * a coroutine awaited by the one before it whose page was copied earlier
 * than that one's (3.11+: the awaiting pointer is in its frame's stack,
 * inside it: on its first page or on the page of its first stack slots,
 * 256 bytes past its locals' start, whichever was copied later; a page no
 * longer held is not known); 3.8-3.10 (the pointer is in a frame object of
 * its own): always. */
static int check_frame(sampler *s, int32_t k, uint32_t j)
{
    taskpass *tp = &s->tp;
    const raw_frame *f = tp->frames.f + tp->fr_start[k];
    if (j + 1 == tp->fr_n[k]) return (tp->flags[k] & TF_CHECK_ROOT) != 0;
    if (s->L.gen_iframe < 0) return 1;
    uint64_t by = f[j + 1].gen, end = by + (uint64_t)s->L.gen_size + 255;
    uint64_t a = mem_cache_seq(&s->mem, by), b = mem_cache_seq(&s->mem, end);
    if (!a || !b) return s->mem.pages != NULL;   /* (cache off: all read directly) */
    return copied_before(s, f[j].gen, a > b ? a : b);
}

/* The chains of tasks ks[0..n) read in this pass, checked against the
 * memory as it is now where a page copy may be older than the pointer that
 * led into it (check_frame): the frame's coroutine must still run the code
 * the copy showed (one system call for them all).  Such a page can hold an
 * object since freed, its memory now another coroutine: a new task's
 * coroutine in the page of one read earlier, or an awaited coroutine
 * replaced.  That chain would pair the task with another task's frames; it
 * gives no stack this pass (chains_torn).  A frame whose coroutine still
 * runs the same code is the task's (a new coroutine of the same function at
 * the old address shows the same function). */
static void check_chains(sampler *s, const int32_t *ks, size_t n)
{
    taskpass *tp = &s->tp;
    const uint16_t want = TF_CHAIN | TF_BAD | TF_CHECKED | TF_RUNNING;
    size_t nf = 0;
    for (size_t i = 0; i < n; i++)
        if ((tp->flags[ks[i]] & want) == TF_CHAIN) nf += tp->fr_n[ks[i]];
    if (!nf || codes_reserve(tp, 3 * nf) != 0) return;   /* (nothing checked: no memory) */
    /* the frames to check: their coroutines, their codes read now, and
     * which task and frame each is (task << 32 | frame index) */
    uint64_t *gens = tp->codes, *now = tp->codes + nf, *at = tp->codes + 2 * nf;
    nf = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t k = ks[i];
        if ((tp->flags[k] & want) != TF_CHAIN) continue;
        tp->flags[k] |= TF_CHECKED;
        for (uint32_t j = 0; j < tp->fr_n[k]; j++)
            if (check_frame(s, k, j)) {
                gens[nf] = tp->frames.f[tp->fr_start[k] + j].gen;
                at[nf++] = (uint64_t)(uint32_t)k << 32 | (tp->fr_start[k] + j);
            }
    }
    if (!nf) return;
    aio_gen_code_now_many(&s->mem, &s->L, gens, now, (int)nf);
    tp->frames_rechecked += nf;
    for (size_t i = 0; i < nf; i++) {
        int32_t k = (int32_t)(at[i] >> 32);
        if (!gens[i] || now[i] == tp->frames.f[(uint32_t)at[i]].code || (tp->flags[k] & TF_BAD)) continue;
        tp->chains_torn++;
        tp->flags[k] |= TF_BAD;
    }
}

/* Everything the stacks of tasks sel[0..nsel) read, read together: the
 * tasks they use (each, and the tasks it stands on), those taken from an
 * earlier pass read again (refresh_task; their objects' and names' pages in
 * two sweeps), their coroutine chains (the pages level by level,
 * aio_fill_chains), then the code each chain frame's coroutine runs now
 * (check_chains, one call).  emit_task then reads nothing more for them. */
static void prepare_stacks(sampler *s, const int32_t *sel, size_t nsel)
{
    taskpass *tp = &s->tp;
    const strobe_layout *L = &s->L;
    size_t np = 0;
    for (size_t j = 0; j < nsel; j++) tp->flags[sel[j]] |= TF_SEL;
    for (size_t j = 0; j < nsel; j++)
        for (int32_t cur = sel[j], steps = 0; cur >= 0 && (size_t)steps <= tp->n && !(tp->flags[cur] & TF_PREP);
             steps++) {
            tp->flags[cur] |= TF_PREP;
            tp->plist[np++] = cur;
            cur = tp->parent[cur];
        }
    /* One sweep for the stale tasks' objects and then their names; read
     * again. */
    size_t ns = 0, sz = (size_t)s->aio.task_size > NAME_FIRST ? (size_t)s->aio.task_size : NAME_FIRST;
    for (size_t i = 0; i < np; i++)
        if (tp->flags[tp->plist[i]] & TF_STALE) tp->scratch[ns++] = tp->t[tp->plist[i]].addr;
    if (ns) {
        for (size_t i = 0; i < np; i++)
            if (tp->flags[tp->plist[i]] & TF_STALE) tp->scratch[ns++] = tp->t[tp->plist[i]].name;
        mem_cache_fill(&s->mem, tp->scratch, ns, sz);
        for (size_t i = 0; i < np; i++) {
            int32_t k = tp->plist[i];
            if (tp->flags[k] & TF_STALE) refresh_task(s, k, !(tp->flags[k] & (TF_SEL | TF_RUNNING)));
        }
    }
    /* the chains */
    size_t nc = 0;
    for (size_t i = 0; i < np; i++) {
        int32_t k = tp->plist[i];
        if (!(tp->flags[k] & (TF_RUNNING | TF_BAD | TF_CHAIN))) tp->scratch[nc++] = tp->t[k].coro;
    }
    for (size_t c0 = 0; c0 < nc; c0 += AIO_FILL_BATCH)
        aio_fill_chains(&s->mem, L, &s->aio, tp->scratch + c0, (int)(nc - c0 < AIO_FILL_BATCH ? nc - c0 : AIO_FILL_BATCH));
    for (size_t i = 0; i < np; i++) {
        int32_t k = tp->plist[i];
        if (!(tp->flags[k] & (TF_RUNNING | TF_BAD))) ensure_chain(s, k);
    }
    check_chains(s, tp->plist, np);
}

/* The stride for the next pass, from the cost per task stack so far (a
 * guess of 2 us before any was measured): the task stacks of a pass should
 * take at most half the interval, and under an overhead budget, until
 * budget_step in sampler.c has measured (stride_floor), at most twice the
 * budget's share of the interval (a program on up to two cores). */
#define NS_PER_STACK_GUESS 2000.0
static void set_stride(sampler *s, taskpass *tp, uint64_t emitted, int64_t ns)
{
    if (emitted >= 16) {
        double per = (double)ns / (double)emitted;
        tp->ns_per_stack = tp->ns_per_stack > 0 ? 0.8 * tp->ns_per_stack + 0.2 * per : per;
    }
    double budget = 0.5e9 / s->cfg.rate_hz;
    if (s->cfg.max_overhead > 0 && 2e7 * s->cfg.max_overhead / s->cfg.rate_hz < budget)
        budget = 2e7 * s->cfg.max_overhead / s->cfg.rate_hz;
    double per = tp->ns_per_stack > 0 ? tp->ns_per_stack : NS_PER_STACK_GUESS;
    double want = per * (double)tp->n / budget;
    uint64_t k = want <= 1 ? 1 : (uint64_t)want + 1;
    if (k < tp->stride_floor) k = tp->stride_floor;   /* the overhead budget asks for fewer */
    tp->stride = k > STRIDE_MAX ? STRIDE_MAX : k;
    if (tp->stride > tp->max_stride) tp->max_stride = tp->stride;
}

static void pass(sampler *s, size_t nth)
{
    taskpass *tp = &s->tp;
    /* Tasks are read in the order the checks below rely on (a task, then
     * its coroutine, then what that awaits: each copied when first met, so
     * never older than what pointed to it), not from the pass start's
     * prefetched copies, which are older than all of them. */
    read_heads(s);
    mem_cache_on_demand(&s->mem);
    pthread_mutex_lock(&s->links.lock);
    uint64_t seq_before = s->links.seq + 1;   /* links recorded from now on may be of tasks not read */
    pthread_mutex_unlock(&s->links.lock);
    /* With a stride k, a task is read every k-th pass only (read_tasks) and
     * again when it is used.  A coroutine running on a thread that no task
     * claims may then be a new task in an old one's slot: read them all. */
    uint64_t kread = tp->stride > 1 ? tp->stride : 1;
    struct { uint64_t loop; int step_idx, base_idx, torn; } keep[64];
    size_t nkeep = nth < 64 ? nth : 64;
    for (size_t i = 0; i < nkeep; i++)
        keep[i].loop = s->tt[i].loop, keep[i].step_idx = s->tt[i].step_idx,
        keep[i].base_idx = s->tt[i].base_idx, keep[i].torn = s->tt[i].torn;
    for (int attempt = 0;; attempt++) {
        if (read_tasks(s, kread) != 0) tp->n = 0;   /* no tasks this pass; threads are still checked */
        int stale = 0;
        for (size_t k = 0; k < tp->n; k++) {
            tp->parent[k] = -1;
            tp->pkind[k] = PK_NONE;
            tp->thread[k] = -1;
            tp->flags[k] &= TF_STALE;
            stale |= tp->flags[k] != 0;
        }
        uint64_t unclaimed = tp->unclaimed;
        find_running(s, nth);
        if (!stale || tp->unclaimed == unclaimed || attempt || nth > nkeep) break;
        tp->unclaimed = unclaimed;
        for (size_t i = 0; i < nkeep; i++)
            s->tt[i].loop = keep[i].loop, s->tt[i].step_idx = keep[i].step_idx,
            s->tt[i].base_idx = keep[i].base_idx, s->tt[i].torn = keep[i].torn;
        tp->full_rereads++;
        tp->heads_ok = 0;
        kread = 1;
    }
    tp->frames.n = 0;
    tp->frames_checked = 0;
    if (!tp->tmp && !(tp->tmp = malloc((size_t)s->cfg.max_depth * sizeof *tp->tmp))) return;
    /* The graph.  Built from the tasks' entries and the hooks' links alone,
     * it is kept from pass to pass while neither changed in a way it
     * depends on: the list of tasks (read_tasks), a waiter that is a task or
     * an awaitable (note_waiter), the links (their version).  This pass's
     * own links, running tasks nested in others' steps (find_running), go
     * on top.  While wait()'s coroutine keys exist, which are found in the
     * tasks' chains, the graph is this pass's alone. */
    pthread_mutex_lock(&s->links.lock);
    uint64_t links_ver = s->links.ver;
    size_t a_coro = s->links.a_coro;
    pthread_mutex_unlock(&s->links.lock);
    if (a_coro) {
        for (size_t k = 0; k < tp->n; k++) tp->gwait[k] = tp->t[k].waiter;
        link_awaits(tp, tp->parent, tp->pkind, tp->flags);
        link_hooks(s, seq_before, tp->parent, tp->pkind, 1);
        find_cycles(tp->n, tp->parent, tp->flags, tp->path);
        tp->graph_ok = 0;
    } else {
        if (!tp->graph_ok || tp->graph_dirty || tp->graph_links_ver != links_ver) {
            for (size_t k = 0; k < tp->n; k++) {
                tp->parent0[k] = -1;
                tp->gflags[k] = 0;
                tp->pkind0[k] = PK_NONE;
                tp->gwait[k] = tp->t[k].waiter;
            }
            link_awaits(tp, tp->parent0, tp->pkind0, NULL);
            tp->graph_links_ver = link_hooks(s, seq_before, tp->parent0, tp->pkind0, 0);
            find_cycles(tp->n, tp->parent0, tp->gflags, tp->path);
            tp->graph_ok = 1;
            tp->graph_dirty = 0;
            tp->graphs_built++;
        }
        int nested = 0;
        for (size_t k = 0; k < tp->n; k++) {
            if (tp->parent[k] >= 0) {
                nested = 1;
            } else {
                tp->parent[k] = tp->parent0[k];
                tp->pkind[k] = tp->pkind0[k];
            }
        }
        if (nested) {
            find_cycles(tp->n, tp->parent, tp->flags, tp->path);
        } else {
            for (size_t k = 0; k < tp->n; k++) tp->flags[k] |= tp->gflags[k] & (TF_HAS_CHILD | TF_CYCLE);
        }
    }
    if (info_reserve(tp, tp->n) != 0) return;
    /* Budget: when stacks for every task would take more than half the
     * interval, each pass gives stacks for every k-th of the leaf tasks
     * only: those at positions j of the registry order (among the leaves)
     * with (j + pass) % k == 0, so that a task is seen every k passes while
     * the order holds.  Each counts nleaves / nselected: exactly the number
     * of leaves in all, every pass (with k a divisor or not), so the totals
     * hold pass by pass, not only on average.  The running task is always
     * sampled (counted once). */
    int64_t t0 = mono_ns();
    if (!tp->stride) set_stride(s, tp, 0, 0);   /* the first pass: from the guess */
    uint64_t k = tp->stride ? tp->stride : 1, emitted = 0;
    int cycles = 0;
    size_t nleaves = 0;
    for (size_t i = 0; i < tp->n; i++) {
        uint16_t fl = tp->flags[i];
        if ((fl & TF_BAD) || new_under_running(s, i)) continue;
        if (fl & TF_CYCLE) cycles = 1;
        if (!(fl & TF_INNERMOST) && (!(fl & TF_HAS_CHILD) || (fl & TF_CYCLE))) nleaves++;
    }
    if (k > nleaves) k = nleaves ? nleaves : 1;
    /* the tasks that give a stack this pass, in tp->path (free after find_cycles) */
    size_t nsel = 0, j = 0;
    for (size_t i = 0; i < tp->n; i++) {
        uint16_t fl = tp->flags[i];
        if (fl & TF_BAD) continue;
        if (fl & TF_INNERMOST) {
            tp->path[nsel++] = (int32_t)i;
        } else if (!(fl & TF_HAS_CHILD) || (fl & TF_CYCLE)) {
            if ((j + s->ticks) % k == 0) {
                tp->path[nsel++] = (int32_t)i;
                emitted++;
            }
            j++;
        }
    }
    double weight = emitted ? (double)nleaves / (double)emitted : 1.0;
    /* a batch at a time: what their stacks read, read together
     * (prepare_stacks), their codes checked, then the stacks */
    for (size_t b0 = 0; b0 < nsel; b0 += AIO_FILL_BATCH) {
        size_t b1 = nsel - b0 < AIO_FILL_BATCH ? nsel : b0 + AIO_FILL_BATCH;
        prepare_stacks(s, tp->path + b0, b1 - b0);
        check_codes(s, nth, b0 == 0);
        for (size_t j = b0; j < b1; j++) {
            int32_t i = tp->path[j];
            emit_task(s, nth, i, tp->flags[i] & TF_INNERMOST ? 1.0 : weight);
        }
    }
    if (!nsel) check_codes(s, nth, 1);
    keep_bases(s, nth);
    int64_t spent = mono_ns() - t0;
    tp->emit_ns += spent;
    set_stride(s, tp, emitted, spent);
    if (cycles) tp->cycles_seen++;
    /* A thread whose running task went out with it, or whose tasks
     * disagreed with its stack, gives no stack of its own this pass. */
    for (size_t k = 0; k < tp->n; k++)
        if ((tp->flags[k] & TF_INNERMOST) && tp->thread[k] >= 0) s->tt[tp->thread[k]].covered = 1;
    for (size_t i = 0; i < nth; i++)
        if (s->tt[i].torn) {
            s->tt[i].covered = 1;
            s->torn_threads++;
        }
}

void tasks_pass(sampler *s, size_t nth)
{
    /* Every system call of the pass also reads the code counter, last:
     * check_codes then needs no call of its own when one was made after the
     * frames it checks were read (as one always is when a task's chain was
     * read). */
    if (s->L.code_counter_addr) mem_rider(&s->mem, s->L.code_counter_addr, &s->counter_rider, sizeof s->counter_rider);
    pass(s, nth);
    mem_rider(&s->mem, 0, NULL, 0);
}
