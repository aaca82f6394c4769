/* sampler_impl.h — the sampler's private state, shared by sampler.c (the
 * thread, the schedule, threads and labels) and tasks.c (asyncio task
 * stacks).  Not part of the engine's interface. */
#ifndef STROBE_SAMPLER_IMPL_H
#define STROBE_SAMPLER_IMPL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "aio.h"
#include "ccall.h"
#include "codecache.h"
#include "links.h"
#include "mem.h"
#include "offcpu.h"
#include "profile.h"
#include "sampler.h"
#include "cpufollow.h"
#include "unwind.h"

enum { V_COUNT, V_WALL, V_CPU, V_OFF, NVALUES };

/* Pages of the target kept per pass (4 KiB each; see mem_cache_enable):
 * 4 MiB to start with, grown to at most 32 MiB when a pass reads more
 * (thousands of tasks). */
#define SAMPLER_CACHE_PAGES 1024
#define SAMPLER_CACHE_MAX_PAGES 8192

#define SAMPLER_GONE_MAX 64      /* threads gone lately, remembered */
#define SAMPLER_GONE_TICKS 50    /* ... for this many passes */

#define WALK_KEEP_PAGES 6   /* thread_entry.walk_pages */

typedef struct {
    uint64_t key;            /* native tid, or pthread ident | 1<<63 when unknown */
    uint64_t thread_id;
    int64_t native_id;
    int64_t last_wall, last_cpu;
    uint64_t names_version;  /* labels below computed at this version */
    uint32_t labels;
    uint64_t root_code;      /* code of its outermost frame (it does not change) */
    uint64_t root_pending;   /* a different one seen once: accepted if seen again */
    uint64_t walk_pages[WALK_KEEP_PAGES];   /* pages of its last whole walk's own frames */
    uint32_t nwalk_pages;    /* (not coroutines'): copied again with a torn walk's */
    int kfd;                 /* its /proc syscall file, or -1 (see offcpu.h) */
    uint8_t last_cause;      /* the cause it was last seen blocked in */
    uint8_t cause_ok;        /* bit c: cause_labels[c] is valid for `labels` */
    uint32_t cause_labels[NCAUSES];   /* labels + "off cpu cause" */
    uint64_t leaf_code, leaf_frame;   /* its innermost frame when last sampled, */
    int64_t leaf_addr;
    uint32_t leaf_builtin;   /* and the builtin it was calling (UINT32_MAX: none) */
} thread_entry;

typedef struct {
    int64_t tid;
    char *name;
} name_entry;

/* One thread in the current pass. */
typedef struct {
    thread_entry *te;        /* its entry in the new thread table */
    size_t raw_start, raw_n; /* its frames in sampler.raw, innermost first */
    int truncated;           /* the walk bound cut its stack */
    int ok;                  /* the stack was read */
    int64_t wall, cpu;       /* deltas of this pass */
    int64_t off;             /* max(0, wall - cpu) */
    int cause;               /* why it was off CPU (CAUSE_NONE when off == 0) */
    uint64_t loop;           /* the event loop it runs (0: none seen) */
    int step_idx;            /* index of the innermost loop-step frame, or -1 */
    int base_idx;            /* its frames from base_idx outwards stand under tasks */
    int covered;             /* its stack went out as its running task's */
    int torn;                /* stack and tasks disagreed: no task stacks from it */
} tick_thread;

typedef struct task_info task_info;

#define LOOP_BASE_MAX 256

/* An event loop seen running on a thread.  Remembered across passes: for
 * loops whose step has no Python frame (uvloop) the thread that ran it, and
 * for every loop the base its tasks stand on (the thread's frames from the
 * root to the loop's step, as locations), so that a pass that could not
 * read the loop thread's stack (it changed too fast) still places the
 * suspended tasks on the right frames. */
typedef struct {
    uint64_t loop, key, tick;
    int from_step;
    uint32_t nbase;
    int base_truncated;
    uint64_t base_tick;       /* 0: no base yet */
    uint32_t base[LOOP_BASE_MAX];
} loop_entry;

#define TASKS_STRIDE_MAX 4096

/* What a registry slot held when it was last read (tasks.c). */
typedef struct {
    uint64_t key, hash;      /* the set entry then */
    aio_task t;              /* the task, when state is AIO_KEY_PENDING */
    uint64_t read_gen;       /* the read_tasks call that read it (taskpass.gen) */
    uint32_t idx;            /* its task's index in taskpass.t, or TASK_NONE */
    uint8_t state;           /* AIO_KEY_*, 0: to be read */
} reg_slot;
#define TASKS_MAX_REG 4
#define TASK_NONE UINT32_MAX

/* Persistent and per-pass state of the asyncio pass (tasks.c). */
typedef struct {
    aio_task *t;             /* this pass's pending tasks */
    size_t n, cap;
    reg_slot *slots[TASKS_MAX_REG];   /* per registry, by slot of its set table */
    size_t nslots[TASKS_MAX_REG];
    /* each registry's table as read in this pass and in the one before
     * (swapped after each read): a table that did not change needs only
     * the slots whose turn it is */
    uint8_t *tab[TASKS_MAX_REG], *tab_prev[TASKS_MAX_REG];
    size_t tab_cap[TASKS_MAX_REG], tab_prev_cap[TASKS_MAX_REG];
    int64_t tab_prev_n[TASKS_MAX_REG];   /* slots in tab_prev; -1: none */
    aio_set_head head[TASKS_MAX_REG];    /* each registry's header when last read */
    aio_set_head head_now[TASKS_MAX_REG];   /* ... as read at this pass's start (heads_ok) */
    int heads_ok;
    int nreg_last;           /* registries read last time */
    uint64_t gen;            /* read_tasks calls */
    int list_ok;             /* t, src, by_addr, by_coro still hold the last read's list */
    int rescan;              /* a slot was found changed on use: look at every slot next read */
    /* the task graph of awaits and hooks' links, kept while nothing it was
     * built from changed (see tasks_pass) */
    int32_t *parent0;
    uint16_t *gflags;
    uint8_t *pkind0, *pkind;   /* per task: the kind of link to its parent (tasks.c, PK_*) */
    uint64_t *gwait;         /* per task: its waiter when the graph was built */
    int graph_ok, graph_dirty;
    uint64_t graph_links_ver;
    uint64_t lists_built, graphs_built;   /* stats */
    uint64_t frames_rechecked;            /* chain frames whose code check_chains read again */
    /* preparing a batch of stacks (prepare_stacks) */
    int32_t *plist;          /* the tasks the batch uses */
    uint64_t *scratch;       /* addresses, then codes read now, per plist entry */
    uint64_t *code_now;      /* per task: its coroutine's code read now (TF_CODE_NOW) */
    uint64_t *codes;         /* codes to check before their lookups */
    size_t codes_cap;
    size_t frames_checked;   /* chain frames (in `frames`) whose codes were checked */
    reg_slot **src;          /* per task this pass: the slot it came from */
    uint32_t *by_addr, *by_coro;   /* open addressing: index + 1, 0 = empty */
    size_t map_cap;
    /* per task, this pass */
    int32_t *parent, *thread, *seg_lo, *seg_hi, *path;
    uint16_t *flags;
    size_t *fr_start;        /* frames of a suspended task in `frames`, leaf first */
    uint32_t *fr_n;
    uint64_t *fr_omitted;
    raw_vec frames;
    /* loops seen running on a thread, remembered for loops whose step has
     * no Python frame (uvloop) */
    loop_entry loops[16];
    int nloops;
    /* marker locations and label sets, by task address (validated) */
    task_info *info;
    uint64_t *info_key;      /* the entries' addresses, apart: probes touch only these */
    size_t info_cap, info_used;
    uint64_t tasks_seen, chains_torn, no_loop, cycles_seen, moved, unclaimed;
    uint64_t tasks_reused;   /* task-passes served from an earlier pass's read (stride > 1) */
    uint64_t tasks_changed;  /* ... found changed when read again to be used */
    uint64_t full_rereads;   /* passes that read every task again (a coroutine no task claimed) */
    uint64_t new_under_running;   /* tasks skipped: first seen under a running parent */
    raw_frame *tmp;          /* max_depth frames: one chain being read */
    uint64_t stride, max_stride;   /* every k-th task per pass (1: all) */
    uint64_t stride_floor;   /* the overhead budget's least stride (0, 1: none) */
    int64_t emit_ns;         /* time spent giving task stacks, all passes */
    double ns_per_stack;     /* moving average cost of one task stack */
    char cycle_report[512];
} taskpass;

struct sampler {
    sampler_config cfg;
    char *output;
    strobe_layout L;
    uint64_t interp;

    mem_target mem;
    profile prof;
    codecache cc;
    unwinder uw;

    pthread_mutex_t lock;
    pthread_t thread;
    int thread_started;
    int evfd;
    atomic_int stop_req;
    atomic_int running;
    atomic_int finished;
    atomic_int stuck;             /* the watchdog gave up on the sampling thread */
    int test_stuck;               /* STROBE_TEST_STUCK_PASS: a pass that never ends (tests) */
    int finish_status;
    char finish_err[256];

    /* thread table, sorted by key; swapped with scratch each tick */
    thread_entry *te, *te_next;
    size_t nte, te_cap;
    /* Threads that left the list lately, kept a while: a thread that drops
     * off it for a pass or two (a list read while it changed) comes back as
     * itself, not as a new thread.  A ring; gone_tick 0 = empty. */
    thread_entry gone[SAMPLER_GONE_MAX];
    uint64_t gone_tick[SAMPLER_GONE_MAX];
    unsigned gone_next;
    unwind_thread *snap;
    tick_thread *tt;              /* per pass, parallel to the threads read */
    raw_vec raw;                  /* every thread's frames, this pass */
    uint32_t *stackbuf;           /* a stack being assembled (max_depth + 1) */

    /* asyncio (tasks.c) */
    strobe_aio aio;
    taskpass tp;
    links links;                  /* from the hooks, under links.lock */

    pthread_mutex_t names_lock;
    name_entry *names;
    size_t nnames, names_cap;
    atomic_uint_fast64_t names_version;

    uint64_t *inflight_code;      /* codes handed out by take_unqualified */
    uint32_t *inflight_fid;
    size_t ninflight;

    int32_t tid_cand[16];
    int ntid_cand;

    int64_t start_mono, start_real, last_tick, end_mono;
    uint64_t ticks, samples, threads_seen, missed;
    uint64_t torn_threads;        /* thread passes skipped: stack and tasks disagreed */
    int64_t tick_ns;              /* time spent in passes */
    cpufollow follow;             /* where the sampling thread runs (cpufollow.h) */
    uint32_t counter_rider;       /* the code counter, as read by the task pass's last system call (mem_rider) */
    uint64_t busiest;             /* thread id of the last pass's busiest thread, or 0 */
    int64_t busiest_cpu;          /* ... the CPU it was on at this pass's start, or -1 */
    double busy_cpus;             /* the CPUs the Python threads kept busy in the last pass */
    double busiest_share;         /* ... and the busiest of them alone (CPU time over wall) */
    _Atomic int64_t interval_ns;  /* between ticks now (the overhead budget moves it) */
    int64_t budget_at, budget_self, budget_proc;   /* the budget's last window: start, CPU */
    int64_t budget_emit;     /* ... and tp.emit_ns at its start */
    int budget_slowed;            /* the budget ever lowered the rate */
    int budget_windows;           /* windows judged so far */
    int64_t sampler_cpu_ns;       /* the sampling thread's CPU time, when it ended */
    clockid_t self_clock;         /* the sampling thread's CPU clock (readable from any thread) */
    _Atomic int self_clock_ok;
    uint32_t k_thread_id, k_native_id, k_thread_name, k_task_name, k_task_id;
    uint32_t k_cause, k_task_state, v_cause[NCAUSES], v_running, v_suspended;

    ccall_cache calls;            /* builtin leaf frames (ccall.h) */

    /* off-CPU causes (offcpu.h) */
    offcpu_reader kr;
    uint64_t gil_lo, gil_hi;      /* the GIL's structure: futex waits inside it are "gil" */
    uint8_t *fn_cause;            /* per function id: what an asyncio leaf awaits (0: not yet) */
    size_t fn_cause_cap;
};

int sampler_thread_labels(sampler *s, thread_entry *t, uint64_t version);
/* Label set `base` extended by n more labels (appended in order). */
int sampler_labels_plus(sampler *s, uint32_t base, const prof_label *extra, size_t n, uint32_t *out);
/* The labels of thread `te` for a sample with off-CPU cause `cause`. */
int sampler_cause_labels(sampler *s, thread_entry *te, int cause, uint32_t *out);

/* A stack being assembled in s->stackbuf, leaf first: at most max_depth
 * elements, the rest counted in `omitted`; `failed` once a frame could not
 * be resolved (the stack is dropped). */
typedef struct {
    sampler *s;
    size_t n;
    uint64_t omitted;
    int failed;
} stack_builder;

void sampler_put(stack_builder *b, uint32_t loc);
void sampler_put_frames(stack_builder *b, raw_frame *f, size_t n);
/* Add one stack (location ids, leaf first, n of them, then an element for
 * `omitted` frames left out, "N+" when `truncated`) with these values. */
int sampler_emit(sampler *s, const uint32_t *locs, size_t n, uint64_t omitted, int truncated,
                 uint32_t labels, const int64_t *values);
/* The two halves of sampler_emit, for callers that keep stack ids. */
int sampler_intern(sampler *s, const uint32_t *locs, size_t n, uint64_t omitted, int truncated,
                   uint32_t *stack);
int sampler_add(sampler *s, uint32_t stack, uint32_t labels, const int64_t *values);
/* Is stack id `stack` exactly locs[0..n)? */
int sampler_same_stack(sampler *s, uint32_t stack, const uint32_t *locs, size_t n);

/* tasks.c */
void tasks_pass(sampler *s, size_t nthreads);
void tasks_free(taskpass *tp);

/* The code counter (3.12+), read now, still has the value read at this
 * pass's start: no code object was made since.  0 when it moved, could not
 * be read, or there is none (before 3.12). */
int sampler_counter_same(sampler *s);

#endif
