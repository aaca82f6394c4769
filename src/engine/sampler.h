/* sampler.h — the sampling thread: a native thread that, on an absolute
 * schedule, reads every thread of one interpreter, attributes the wall and
 * CPU time since its previous sample to its current stack, and accumulates
 * that in a profile.  It never holds the GIL and never calls the Python C
 * API; all reads go through mem.  One sampler per process is the rule the
 * module enforces; the engine itself has no global state except the
 * SIGTERM hand-off (see sampler_config.handle_sigterm).
 */
#ifndef STROBE_SAMPLER_H
#define STROBE_SAMPLER_H

#include <stddef.h>
#include <stdint.h>
#include "layout.h"

struct strobe_aio;   /* aio.h */

#define SAMPLER_DEFAULT_RATE 100.0
#define SAMPLER_MAX_RATE 10000.0
#define SAMPLER_DEFAULT_DEPTH 512
#define SAMPLER_DEFAULT_OVERHEAD 1.0   /* percent */
#define SAMPLER_MAX_INTERVAL_NS 1000000000LL   /* the budget samples once a second at least */
#define SAMPLER_MAX_DEPTH 65536

enum sampler_mode { SAMPLER_WALL = 0, SAMPLER_CPU = 1 };

typedef struct {
    double rate_hz;          /* (0, SAMPLER_MAX_RATE] */
    int mode;                /* enum sampler_mode */
    int max_depth;           /* frames kept per stack, nearest the leaf */
    double max_overhead;     /* percent: the sampler's CPU over the program's; 0 = off */
    int sampler_cpu_any;     /* never pin the sampling thread to the busy thread's CPU (cpufollow.h) */
    double duration_s;       /* stop (and finish) after this long; 0 = never */
    const char *output;      /* file written by sampler_finish; NULL = none */
    int format;              /* enum export_format for output */
    int summary;             /* print the one-line summary on finish */
    int handle_sigterm;      /* on SIGTERM: finish, then die of SIGTERM */
    const struct strobe_aio *aio;  /* asyncio facts (copied); NULL: no task stacks */
    const struct opflow_tables *opflow;  /* bytecode facts (copied); NULL: no builtin leaf frames */
} sampler_config;

typedef struct {
    uint64_t ticks, samples, threads_seen, missed_ticks;
    uint64_t stack_errors, reads, read_failures;
    uint64_t code_hits, code_misses, code_invalidations;
    uint64_t tasks_seen, torn_threads, chains_torn, cycles_seen;
    int64_t tick_ns, sampler_cpu_ns;   /* time in passes; the sampling thread's CPU */
    uint64_t page_hits, page_misses, cache_pages;
    uint64_t page_prefetched;  /* pages copied at pass starts (mem_cache_next_pass) */
    uint64_t page_filled;      /* pages copied in sweeps for asyncio tasks and chains (mem_cache_fill) */
    uint64_t page_refreshed;   /* pages copied again together for a thread's stack walked again (mem_walk_refresh) */
    uint64_t code_batched;     /* code objects validated in batches at pass starts */
    uint64_t code_unchanged;   /* code objects confirmed with no read (no code made since) */
    uint64_t task_stride;      /* the largest "every k-th task" a pass used */
    uint64_t tasks_reused;     /* task-passes taken from an earlier pass's read (stride > 1) */
    uint64_t tasks_changed;    /* ... found changed when read again before use */
    uint64_t full_rereads;     /* passes that read every task again (an unclaimed coroutine) */
    uint64_t task_lists_built; /* passes that built the task list again (a registry slot changed) */
    uint64_t task_graphs_built;   /* passes that built the task graph again (tasks.c, tasks_pass) */
    uint64_t chain_frames_checked;   /* chain frames read again from a page copy older than their pointer's */
    uint64_t kernel_reads, kernel_read_ns, kernel_read_failures;   /* off-CPU causes */
    uint64_t builtin_frames, builtin_kept, builtin_torn, builtin_not_c, builtin_unanalysable;  /* ccall.c */
    double elapsed_s, rate_achieved;
    double rate_now;           /* the rate the overhead budget has set (the rate asked when off) */
    int running, finished;
    int stuck;                 /* the sampling thread did not stop (see sampler_stop) */
    int follow_cpu;            /* the CPU the sampling thread is pinned to, -1: none (cpufollow.h) */
    uint64_t follow_moves;     /* times it was pinned to another CPU */
} sampler_stats;

typedef struct sampler sampler;

/* Create (not start).  L is copied.  interp: address of the
 * PyInterpreterState to sample.  Returns 0, or -1 with a reason in err. */
int sampler_create(sampler **out, const strobe_layout *L, uint64_t interp,
                   const sampler_config *cfg, char *err, size_t errlen);
int sampler_start(sampler *s, char *err, size_t errlen);
/* Stop the sampling thread; the profile stays for writing.  Idempotent.
 * Watchdog: a sampling thread that has not stopped after SAMPLER_STOP_WAIT_S
 * (a bug: a pass that never ends) is left behind, with a warning on stderr;
 * calls that need the profile then fail instead of waiting for it, and
 * sampler_destroy leaves its memory to it. */
#define SAMPLER_STOP_WAIT_S 5
void sampler_stop(sampler *s);
/* Write the profile as it is now (while running or after stop). */
int sampler_write(sampler *s, const char *path, int format, char *err, size_t errlen);
/* Once only: stop, write cfg.output (if any), print the summary (if asked).
 * Later calls do nothing and return the first call's status. */
int sampler_finish(sampler *s, char *err, size_t errlen);
void sampler_destroy(sampler *s);

/* Tell the sampler what threading calls the thread with this kernel tid
 * (name NULL forgets it).  Called from Python threads, any time. */
void sampler_set_thread_name(sampler *s, int64_t native_id, const char *name, size_t len);

/* In a forked child: the sampling thread is gone; give SIGTERM back to
 * its default so the child is not left with a handler nobody serves. */
void sampler_forget_after_fork(void);

/* Qualified names on versions without co_qualname (3.8–3.10).  The module
 * takes the codes whose functions are known only by co_name, finds the live
 * function objects of those codes, and hands back what it found; a name is
 * accepted only when the code still is what the profile saw (same name,
 * file and first line) and the qualified name ends in that name. */
typedef struct {
    uint64_t code;
    const char *qualname, *name, *file;
    int64_t firstlineno;
} qual_fact;
/* Moves the waiting codes out (into *codes, malloc'd; caller frees). */
int sampler_take_unqualified(sampler *s, uint64_t **codes, size_t *n);
/* Applies facts to the codes last taken; returns how many were renamed. */
int sampler_qualify(sampler *s, const qual_fact *facts, size_t n);

void sampler_get_stats(sampler *s, sampler_stats *st);

/* Turn on asyncio task stacks (e.g. once the program imports asyncio);
 * A is copied.  Also adds task types learnt later (Task subclasses). */
void sampler_set_aio(sampler *s, const struct strobe_aio *A);
int sampler_add_task_type(sampler *s, uint64_t type);

/* Links reported by the hooks (see links.h): task `child` created by, or
 * belonging to, `parent` (kind 1 weak, 2 strong); the future or coroutine
 * `key` standing for `children` (n == 0 forgets key).  Any thread, any time. */
void sampler_link_child(sampler *s, uint64_t child, uint64_t child_coro, uint64_t parent,
                        uint64_t parent_coro, int kind);
void sampler_link_awaitable(sampler *s, uint64_t key, const uint64_t *children, size_t n, int coro);
/* The calling thread (kernel tid) starts running `loop` (0: stops);
 * stepped: the loop's step is Python code (see links.h). */
void sampler_running_loop(sampler *s, uint64_t loop, int64_t tid, int stepped);

/* Validation of user-facing values shared by the CLI and the module. */
const char *sampler_mode_name(int mode);
int sampler_mode_from_name(const char *name);   /* -1 when unknown */

#endif
