/* sampler.c — see sampler.h.
 *
 * Threads and locks:
 *  - The sampling thread runs tick() under s->lock, which guards the profile,
 *    the code cache and the thread table.  sampler_write() takes the same
 *    lock, so an export never sees a half-added sample.
 *  - Thread names arrive from Python threads under s->names_lock; the
 *    sampling thread only looks a name up when names_version moved since it
 *    last labelled that thread.
 *  - Wake-ups (stop, SIGTERM) go through an eventfd the sampling thread
 *    waits on with ppoll(), so stop is immediate at any rate, and the
 *    SIGTERM handler does nothing but an async-signal-safe write().
 *
 * Time: per thread, wall delta = now − the thread's previous sample time
 * (for a thread first seen, the previous tick); CPU delta from the thread's
 * CPU clock (clock_gettime on the kernel's per-thread clock id; a thread
 * first seen is charged min(its CPU clock, its wall delta)).
 */
#include "sampler.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "codecache.h"
#include "export.h"
#include "mem.h"
#include "profile.h"
#include "sampler_impl.h"
#include "unwind.h"

static atomic_int g_term_fd = -1;
static _Thread_local int tl_sampling_thread;   /* set on the sampling thread */
static atomic_int g_term_req;
static struct sigaction g_old_term;
static int g_term_installed;

static int64_t now_ns(clockid_t clk)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The kernel's clock id for thread `tid`'s CPU time: the encoding behind
 * pthread_getcpuclockid (posix-cpu-timers: ~tid << 3 | per-thread | sched). */
static int64_t thread_cpu_ns(int64_t tid)
{
    struct timespec ts;
    clockid_t cid = (clockid_t)((~(unsigned)tid << 3) | 6u);
    if (tid <= 0 || clock_gettime(cid, &ts) != 0) return -1;
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

const char *sampler_mode_name(int mode)
{
    return mode == SAMPLER_CPU ? "cpu" : "wall";
}

int sampler_mode_from_name(const char *name)
{
    if (!strcmp(name, "wall")) return SAMPLER_WALL;
    if (!strcmp(name, "cpu")) return SAMPLER_CPU;
    return -1;
}

static int intern(profile *p, const char *s, uint32_t *id)
{
    return profile_intern_string(p, s, strlen(s), id);
}

/* Value types, period and the label keys: what every (re)set profile has. */
static int setup_profile(sampler *s)
{
    profile *p = &s->prof;
    if (profile_add_value_type(p, "samples", "count") != V_COUNT ||
        profile_add_value_type(p, "wall-time", "nanoseconds") != V_WALL ||
        profile_add_value_type(p, "cpu-time", "nanoseconds") != V_CPU ||
        profile_add_value_type(p, "off-cpu-time", "nanoseconds") != V_OFF)
        return -1;
    p->default_value = s->cfg.mode == SAMPLER_CPU ? V_CPU : V_WALL;
    profile_set_period(p, "wall-time", "nanoseconds", (int64_t)(1e9 / s->cfg.rate_hz));
    if (intern(p, "thread id", &s->k_thread_id) || intern(p, "thread native id", &s->k_native_id) ||
        intern(p, "thread name", &s->k_thread_name) || intern(p, "task name", &s->k_task_name) ||
        intern(p, "task id", &s->k_task_id) || intern(p, "off cpu cause", &s->k_cause) ||
        intern(p, "task state", &s->k_task_state) || intern(p, "running", &s->v_running) ||
        intern(p, "suspended", &s->v_suspended))
        return -1;
    for (int c = CAUSE_NONE + 1; c < NCAUSES; c++)
        if (intern(p, offcpu_cause_name(c), &s->v_cause[c])) return -1;
    return 0;
}

int sampler_create(sampler **out, const strobe_layout *L, uint64_t interp,
                   const sampler_config *cfg, char *err, size_t errlen)
{
    *out = NULL;
    if (!(cfg->rate_hz > 0 && cfg->rate_hz <= SAMPLER_MAX_RATE)) {
        snprintf(err, errlen, "rate must be above 0 and at most %.0f Hz", SAMPLER_MAX_RATE);
        return -1;
    }
    if (cfg->max_depth < 1 || cfg->max_depth > SAMPLER_MAX_DEPTH) {
        snprintf(err, errlen, "max depth must be between 1 and %d", SAMPLER_MAX_DEPTH);
        return -1;
    }
    sampler *s = calloc(1, sizeof *s);
    if (!s) { snprintf(err, errlen, "out of memory"); return -1; }
    s->cfg = *cfg;
    s->L = *L;
    s->interp = interp;
    s->evfd = -1;
    if (cfg->output && !(s->output = strdup(cfg->output))) goto nomem;
    s->cfg.output = s->output;
    if (cfg->aio && cfg->aio->enabled) s->aio = *cfg->aio;
    s->test_stuck = getenv("STROBE_TEST_STUCK_PASS") != NULL;
    s->cfg.aio = NULL;
    if (ccall_init(&s->calls, cfg->opflow) != 0) goto nomem;
    s->cfg.opflow = NULL;
    if (mem_open(&s->mem, 0) != 0) {
        snprintf(err, errlen, "cannot read this process's memory: %s", strerror(errno));
        goto fail;
    }
    if (profile_init(&s->prof, NULL) != PROF_OK || setup_profile(s) != 0) goto nomem;
    if (codecache_init(&s->cc, &s->mem, &s->L, &s->prof) != 0) goto nomem;
    s->uw.mem = &s->mem;
    s->uw.L = &s->L;
    s->uw.cc = &s->cc;
    s->uw.prof = &s->prof;
    s->uw.pthread_tid_off = -1;
    s->follow.pinned = s->follow.cpu_off = -1;   /* (sampler_start sets it up) */
    if (L->gil_addr && L->gil_size > 0) {
        s->gil_lo = L->gil_addr;
        s->gil_hi = L->gil_addr + (uint64_t)L->gil_size;
    }
    s->uw.step_codes = s->aio.step_codes;
    s->uw.nstep_codes = s->aio.nstep_codes;
    s->snap = calloc(UNWIND_MAX_THREADS, sizeof *s->snap);
    s->uw.memo = calloc(UNWIND_MEMO, sizeof *s->uw.memo);
    if (!s->uw.memo) goto nomem;
    s->stackbuf = calloc((size_t)cfg->max_depth + 1, sizeof *s->stackbuf);
    if (!s->snap || !s->stackbuf) goto nomem;
    s->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (s->evfd < 0) { snprintf(err, errlen, "eventfd: %s", strerror(errno)); goto fail; }
    pthread_mutex_init(&s->lock, NULL);
    pthread_mutex_init(&s->names_lock, NULL);
    if (links_init(&s->links) != 0) goto nomem;
    /* Candidates for glibc's tid offset, seen from this thread; the sampling
     * thread keeps those that also hold for itself. */
    s->ntid_cand = unwind_probe_tid_offsets(&s->mem, s->tid_cand, 16);
    if (mem_cache_enable(&s->mem, SAMPLER_CACHE_PAGES) != 0) goto nomem;
    *out = s;
    return 0;
nomem:
    snprintf(err, errlen, "out of memory");
fail:
    sampler_destroy(s);
    return -1;
}

/* ---- thread names ------------------------------------------------------ */

static name_entry *name_find(sampler *s, int64_t tid)
{
    for (size_t i = 0; i < s->nnames; i++)
        if (s->names[i].tid == tid) return &s->names[i];
    return NULL;
}

static void name_drop(sampler *s, name_entry *e)
{
    free(e->name);
    *e = s->names[--s->nnames];
}

/* Bound the table: forget names of kernel tids that no longer exist. */
static void names_prune(sampler *s)
{
    for (size_t i = 0; i < s->nnames;) {
        char path[64];
        struct stat st;
        snprintf(path, sizeof path, "/proc/self/task/%" PRId64, s->names[i].tid);
        if (stat(path, &st) != 0) name_drop(s, &s->names[i]);
        else i++;
    }
}

void sampler_set_thread_name(sampler *s, int64_t native_id, const char *name, size_t len)
{
    pthread_mutex_lock(&s->names_lock);
    name_entry *e = name_find(s, native_id);
    if (!name) {
        if (e) name_drop(s, e);
    } else {
        char *copy = malloc(len + 1);
        if (copy) {
            memcpy(copy, name, len);
            copy[len] = 0;
            if (!e) {
                if (s->nnames >= 1024) names_prune(s);
                if (s->nnames == s->names_cap) {
                    size_t ncap = s->names_cap ? s->names_cap * 2 : 64;
                    name_entry *n = realloc(s->names, ncap * sizeof *n);
                    if (!n) { free(copy); goto out; }
                    s->names = n;
                    s->names_cap = ncap;
                }
                e = &s->names[s->nnames++];
                e->tid = native_id;
                e->name = NULL;
            }
            free(e->name);
            e->name = copy;
        }
    }
out:
    atomic_fetch_add(&s->names_version, 1);
    pthread_mutex_unlock(&s->names_lock);
}

/* Label set of a thread, recomputed when names changed. */
int sampler_thread_labels(sampler *s, thread_entry *t, uint64_t version)
{
    char idbuf[32], nidbuf[32], namebuf[256];
    prof_label lab[3];
    snprintf(idbuf, sizeof idbuf, "%" PRIu64, t->thread_id);
    snprintf(nidbuf, sizeof nidbuf, "%" PRId64, t->native_id);
    pthread_mutex_lock(&s->names_lock);
    name_entry *e = t->native_id > 0 ? name_find(s, t->native_id) : NULL;
    if (e) snprintf(namebuf, sizeof namebuf, "%s", e->name);
    else snprintf(namebuf, sizeof namebuf, "tid-%" PRId64, t->native_id);
    pthread_mutex_unlock(&s->names_lock);
    lab[0].key = s->k_thread_id;
    lab[1].key = s->k_native_id;
    lab[2].key = s->k_thread_name;
    if (intern(&s->prof, idbuf, &lab[0].str) || intern(&s->prof, nidbuf, &lab[1].str) ||
        intern(&s->prof, namebuf, &lab[2].str) ||
        profile_intern_labels(&s->prof, lab, 3, &t->labels) != PROF_OK)
        return -1;
    t->names_version = version;
    t->cause_ok = 0;
    return 0;
}

int sampler_labels_plus(sampler *s, uint32_t base, const prof_label *extra, size_t n, uint32_t *out)
{
    size_t nlab;
    const prof_label *have = profile_labels(&s->prof, base, &nlab);
    prof_label lab[PROF_MAX_LABELS];
    if (nlab + n > PROF_MAX_LABELS) return -1;
    memcpy(lab, have, nlab * sizeof *lab);
    memcpy(lab + nlab, extra, n * sizeof *lab);
    return profile_intern_labels(&s->prof, lab, nlab + n, out) == PROF_OK ? 0 : -1;
}

int sampler_cause_labels(sampler *s, thread_entry *te, int cause, uint32_t *out)
{
    if (cause <= CAUSE_NONE || cause >= NCAUSES) {
        *out = te->labels;
        return 0;
    }
    if (!(te->cause_ok & (1u << cause))) {
        prof_label l = { s->k_cause, s->v_cause[cause] };
        if (sampler_labels_plus(s, te->labels, &l, 1, &te->cause_labels[cause]) != 0) return -1;
        te->cause_ok |= (uint8_t)(1u << cause);
    }
    *out = te->cause_labels[cause];
    return 0;
}

/* ---- one tick ------------------------------------------------------------ */

/* A thread's key in the table: its kernel tid, or its pthread ident with the
 * top bit set when the tid is unknown. */
static uint64_t key_of(const unwind_thread *t)
{
    return t->native_id > 0 ? (uint64_t)t->native_id : (t->thread_id | (1ULL << 63));
}

static int cmp_key(const void *a, const void *b)
{
    uint64_t x = key_of(a), y = key_of(b);
    return x < y ? -1 : x > y;
}

static int ensure_te_cap(sampler *s, size_t n)
{
    if (n <= s->te_cap) return 0;
    size_t ncap = s->te_cap ? s->te_cap : 64;
    while (ncap < n) ncap *= 2;
    thread_entry *a = realloc(s->te, ncap * sizeof *a);
    if (!a) return -1;
    s->te = a;
    thread_entry *b = realloc(s->te_next, ncap * sizeof *b);
    if (!b) return -1;
    s->te_next = b;
    tick_thread *c = realloc(s->tt, ncap * sizeof *c);
    if (!c) return -1;
    s->tt = c;
    s->te_cap = ncap;
    return 0;
}

/* The names of threads that ended are forgotten with them. */
static int has_key(const thread_entry *te, size_t n, uint64_t key)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (te[mid].key < key) lo = mid + 1;
        else hi = mid;
    }
    return lo < n && te[lo].key == key;
}

/* A remembered thread leaves the ring for good: its name goes too, unless
 * a thread of that id runs now. */
static void gone_evict(sampler *s, unsigned i, const thread_entry *cur, size_t ncur)
{
    thread_entry *g = &s->gone[i];
    if (s->gone_tick[i] && g->native_id > 0 && !has_key(cur, ncur, g->key))
        sampler_set_thread_name(s, g->native_id, NULL, 0);
    s->gone_tick[i] = 0;
}

static void forget_ended(sampler *s, thread_entry *old, size_t nold,
                         const thread_entry *cur, size_t ncur)
{
    size_t j = 0;
    for (unsigned i = 0; i < SAMPLER_GONE_MAX; i++)
        if (s->gone_tick[i] && s->gone_tick[i] + SAMPLER_GONE_TICKS < s->ticks) gone_evict(s, i, cur, ncur);
    for (size_t i = 0; i < nold; i++) {
        while (j < ncur && cur[j].key < old[i].key) j++;
        if (j < ncur && cur[j].key == old[i].key && cur[j].thread_id == old[i].thread_id) continue;
        if (old[i].kfd >= 0) offcpu_close(&s->kr, &old[i].kfd);
        unsigned slot = s->gone_next++ % SAMPLER_GONE_MAX;
        gone_evict(s, slot, cur, ncur);
        s->gone[slot] = old[i];
        s->gone_tick[slot] = s->ticks;
    }
}

/* The entry of a thread that left the list lately and is back, or NULL. */
static thread_entry *gone_find(sampler *s, uint64_t key, uint64_t thread_id)
{
    for (unsigned i = 0; i < SAMPLER_GONE_MAX; i++)
        if (s->gone_tick[i] && s->gone[i].key == key && s->gone[i].thread_id == thread_id) {
            s->gone_tick[i] = 0;
            return &s->gone[i];
        }
    return NULL;
}

int sampler_intern(sampler *s, const uint32_t *locs, size_t n, uint64_t omitted, int truncated,
                   uint32_t *stack)
{
    const uint32_t *ids = locs;
    if (omitted || truncated) {
        if (locs != s->stackbuf) memmove(s->stackbuf, locs, n * sizeof *locs);
        if (unwind_omitted_location(&s->uw, omitted, truncated, &s->stackbuf[n]) != UNWIND_OK)
            return -1;
        ids = s->stackbuf;
        n++;
    }
    if (n == 0) return -1;
    return profile_intern_stack(&s->prof, ids, n, stack) == PROF_OK ? 0 : -1;
}

int sampler_add(sampler *s, uint32_t stack, uint32_t labels, const int64_t *values)
{
    if (profile_add(&s->prof, stack, labels, values) != PROF_OK) return -1;
    s->samples++;
    return 0;
}

int sampler_same_stack(sampler *s, uint32_t stack, const uint32_t *locs, size_t n)
{
    size_t len;
    if (stack >= s->prof.nstack) return 0;
    const uint32_t *have = profile_stack(&s->prof, stack, &len);
    return len == n && !memcmp(have, locs, n * sizeof *locs);
}

int sampler_emit(sampler *s, const uint32_t *locs, size_t n, uint64_t omitted, int truncated,
                 uint32_t labels, const int64_t *values)
{
    uint32_t stack;
    if (sampler_intern(s, locs, n, omitted, truncated, &stack) != 0) return -1;
    return sampler_add(s, stack, labels, values);
}

void sampler_put(stack_builder *b, uint32_t loc)
{
    if (b->n < (size_t)b->s->cfg.max_depth) b->s->stackbuf[b->n++] = loc;
    else b->omitted++;
}

void sampler_put_frames(stack_builder *b, raw_frame *f, size_t n)
{
    for (size_t i = 0; i < n && !b->failed; i++) {
        if (b->n >= (size_t)b->s->cfg.max_depth) {
            b->omitted += n - i;
            return;
        }
        int64_t loc = unwind_frame_loc(&b->s->uw, &f[i]);
        if (loc < 0) b->failed = 1;
        else if (loc != UNWIND_NO_LOC) sampler_put(b, (uint32_t)loc);
    }
}

/* A thread's own stack: its frames, the max_depth nearest the leaf. */
static void emit_thread(sampler *s, tick_thread *tt)
{
    stack_builder b = { s, 0, 0, 0 };
    sampler_put_frames(&b, s->raw.f + tt->raw_start, tt->raw_n);
    if (b.failed || b.n == 0) return;   /* stale: dropped (counted) */
    int64_t v[NVALUES] = { 1, tt->wall, tt->cpu, tt->off };
    uint32_t labels;
    if (sampler_cause_labels(s, tt->te, tt->cause, &labels) != 0) return;
    sampler_emit(s, s->stackbuf, b.n, b.omitted, tt->truncated, labels, v);
}

/* A thread's outermost frame is the same for its whole life (its
 * bootstrap, or the main module), so a walk ending elsewhere was cut short
 * by the thread moving under it.  A new root seen twice in a row is
 * accepted (the main module ended and atexit handlers run). */
static int same_root(thread_entry *te, uint64_t code)
{
    if (!te->root_code || te->root_code == code) {
        te->root_code = code;
        return 1;
    }
    if (te->root_pending == code) {
        te->root_code = code;
        te->root_pending = 0;
        return 1;
    }
    te->root_pending = code;
    return 0;
}

/* Off-CPU time of this pass and why.  The kernel is asked only when the
 * thread spent a real share of the interval off CPU (an eighth) and ran at
 * all since its last sample: a thread that used no CPU cannot have left the
 * call it was seen blocked in.  A thread found running again, or off CPU
 * only a little, is given the cause it was last seen blocked in (two
 * threads taking turns at the GIL are each running half the time and
 * waiting for it the other half). */
static void thread_cause(sampler *s, tick_thread *tt)
{
    thread_entry *te = tt->te;
    tt->off = tt->wall > tt->cpu ? tt->wall - tt->cpu : 0;
    tt->cause = CAUSE_NONE;
    if (!tt->off) return;
    int c = CAUSE_NONE;
    if (tt->off * 8 >= tt->wall && (tt->cpu > 0 || !te->last_cause)) {
        c = offcpu_read(&s->kr, &te->kfd, te->native_id, s->gil_lo, s->gil_hi);
        if (c > CAUSE_NONE) te->last_cause = (uint8_t)c;
    }
    if (c <= CAUSE_NONE) c = te->last_cause ? te->last_cause : CAUSE_OTHER;
    tt->cause = c;
}

/* A thread inside a builtin called from Python: the builtin becomes its
 * innermost element (a raw frame with no code and its location set), so
 * the thread's stack and its running task's both end in it. */
static void builtin_leaf(sampler *s, tick_thread *tt)
{
    uint32_t loc;
    thread_entry *te = tt->te;
    const raw_frame *leaf = &s->raw.f[tt->raw_start];
    if (!s->calls.enabled) return;
    /* A thread that used no CPU since its last sample is where it was:
     * the builtin it was in is read again only when it ran. */
    if (tt->cpu == 0 && te->leaf_frame && te->leaf_frame == leaf->frame && te->leaf_code == leaf->code &&
        te->leaf_addr == leaf->addr) {
        loc = te->leaf_builtin;
        s->calls.reused++;
    } else {
        if (ccall_leaf(&s->uw, &s->calls, leaf, &loc) != 1) loc = UINT32_MAX;
        te->leaf_frame = leaf->frame;
        te->leaf_code = leaf->code;
        te->leaf_addr = leaf->addr;
        te->leaf_builtin = loc;
    }
    if (loc == UINT32_MAX) return;
    raw_frame c;
    memset(&c, 0, sizeof c);
    if (raw_vec_push(&s->raw, &c) != 0) return;
    raw_frame *f = s->raw.f + tt->raw_start;
    memmove(f + 1, f, tt->raw_n * sizeof *f);
    f[0].code = f[0].frame = f[0].gen = f[0].self = 0;
    f[0].addr = -1;
    f[0].check_incomplete = 0;
    f[0].loc = loc;
    tt->raw_n++;
}

int sampler_counter_same(sampler *s)
{
    if (!s->L.code_counter_addr || !s->cc.epoch_ok) return 0;
    if (mem_rider_now(&s->mem)) return s->counter_rider == s->cc.epoch;   /* read by the last call */
    uint32_t v = 0;
    mem_iov io = { s->L.code_counter_addr, &v, sizeof v };
    return mem_readv_fresh(&s->mem, &io, 1) == 0 && v == s->cc.epoch;
}

/* The pages a whole walk read that are the thread's own (its state, frame
 * chunk, the C stack's entry frames; not coroutines', which change with the
 * task running): a torn walk of the next pass copies them again with the
 * pages it read, so that the walk after that finds them in one copy. */
static void keep_walk_pages(thread_entry *te, const mem_target *m, const raw_frame *f, size_t n)
{
    uint64_t gen_pages[16];
    uint32_t ng = 0;
    for (size_t k = 0; k < n && ng < 16; k++) {
        if (!f[k].gen) continue;
        uint64_t page = f[k].frame & ~(uint64_t)4095;
        if (!ng || gen_pages[ng - 1] != page) gen_pages[ng++] = page;
    }
    te->nwalk_pages = 0;
    for (uint32_t i = 0; i < m->nwalk && te->nwalk_pages < WALK_KEEP_PAGES; i++) {
        uint32_t g = 0;
        while (g < ng && gen_pages[g] != m->walk[i]) g++;
        if (g == ng) te->walk_pages[te->nwalk_pages++] = m->walk[i];
    }
}

/* Walks of one thread's stack in a pass at most (see tick). */
#define WALK_TRIES 3

static void tick(sampler *s, int64_t now)
{
    if (s->test_stuck && s->ticks == 3)
        for (;;) sleep(1);   /* STROBE_TEST_STUCK_PASS: the bug the watchdog is for */
    mem_cache_fit(&s->mem, SAMPLER_CACHE_MAX_PAGES);
    /* This pass sees memory as it is from now on: the pages and code
     * objects the last pass used are read again first, in a few batched
     * system calls (all at nearly one instant), the rest as they are met. */
    uint32_t counter = 0;
    uint32_t cpu = 0;
    int ok[2] = { 0, 0 }, ntail = 0, counter_at = -1, cpu_at = -1;
    mem_iov tail[2];
    /* the code counter first (it must come after every page; the CPU read
     * after it can fail, a thread gone, without losing it) */
    if (s->L.code_counter_addr) {
        tail[ntail] = (mem_iov){ s->L.code_counter_addr, &counter, sizeof counter };
        counter_at = ntail++;
    }
    uint64_t where = cpufollow_where(&s->follow, s->busiest, s->busiest_share, s->busy_cpus,
                                     atomic_load(&s->interval_ns));
    if (where) {
        tail[ntail] = (mem_iov){ where, &cpu, sizeof cpu };
        cpu_at = ntail++;
    }
    mem_cache_next_pass(&s->mem, tail, ntail, ok);
    int counter_ok = counter_at >= 0 && ok[counter_at];
    s->busiest_cpu = cpu_at >= 0 && ok[cpu_at] ? (int64_t)cpu : -1;
    codecache_next_pass(&s->cc);
    codecache_set_epoch(&s->cc, counter, counter_ok);
    /* while no read is made after the counter's, every frame read came from
     * page copies taken before it (codecache_confirm) */
    const uint64_t epoch_reads = s->mem.reads, epoch_gen = s->mem.gen;
    int n = unwind_threads(&s->uw, s->interp, s->snap, UNWIND_MAX_THREADS);
    s->ticks++;
    if (n < 0) {
        s->uw.errors++;
        return;
    }
    qsort(s->snap, (size_t)n, sizeof *s->snap, cmp_key);
    if (ensure_te_cap(s, (size_t)n) != 0) return;
    uint64_t version = atomic_load(&s->names_version);
    size_t j = 0, m = 0;
    s->raw.n = 0;
    for (int i = 0; i < n; i++) {
        unwind_thread *t = &s->snap[i];
        /* A thread state made for a thread not started yet (the starting
         * thread makes it; the new one fills in its ids when it runs) runs
         * nothing: it is not a thread yet, nor counted as one. */
        if (!t->thread_id) continue;
        /* Nor is one whose thread has ended and whose state is being
         * removed (3.8-3.10, where its kernel id is read from pthread's). */
        if (t->exited) continue;
        uint64_t key = key_of(t);
        if (m && s->te_next[m - 1].key == key) continue;   /* duplicate: torn list */
        while (j < s->nte && s->te[j].key < key) j++;
        thread_entry e, *back;
        int64_t cpu = thread_cpu_ns(t->native_id);
        if (j < s->nte && s->te[j].key == key && s->te[j].thread_id == t->thread_id) {
            e = s->te[j];
        } else if ((back = gone_find(s, key, t->thread_id)) != NULL) {
            e = *back;   /* it dropped off the list for a pass or two: the same thread */
            e.kfd = -1;
        } else {
            if (j < s->nte && s->te[j].key == key) offcpu_close(&s->kr, &s->te[j].kfd);
            memset(&e, 0, sizeof e);
            e.key = key;
            e.thread_id = t->thread_id;
            e.native_id = t->native_id;
            e.last_wall = s->last_tick;
            e.last_cpu = cpu < 0 ? -1 : cpu - (cpu < now - s->last_tick ? cpu : now - s->last_tick);
            e.names_version = UINT64_MAX;
            e.kfd = -1;
            s->threads_seen++;
        }
        tick_thread *tt = &s->tt[m];
        memset(tt, 0, sizeof *tt);
        tt->wall = now - e.last_wall;
        tt->cpu = (cpu >= 0 && e.last_cpu >= 0 && cpu > e.last_cpu) ? cpu - e.last_cpu : 0;
        tt->step_idx = tt->base_idx = -1;
        e.last_wall = now;
        if (cpu >= 0) e.last_cpu = cpu;
        s->te_next[m] = e;
        tt->te = &s->te_next[m];
        m++;
        if (!t->frame) continue;   /* no Python code running on it */
        tt->raw_start = s->raw.n;
        /* The first walk reads the copies the pass started with, and stops
         * at a page they do not hold (EMISS): a page copied later would show
         * the thread at another instant, and a thread that runs many short
         * coroutine steps is at another by then.  That walk, or one that
         * fails because the thread moved under it (torn, cycle, read error),
         * is tried again from one fresh copy of the thread's state and of
         * every page it read (mem_walk_refresh: one system call), the
         * innermost frame read again from that copy; a page it still lacks,
         * or holds only from before, is read when met, right after.  Other
         * threads keep their copies. */
        uint64_t frame = t->frame;
        int got = UNWIND_EREAD;
        for (int attempt = 0; attempt < WALK_TRIES && got < 0 && got != UNWIND_EPROFILE; attempt++) {
            if (attempt) {
                /* copied in this order: the thread's pages the torn walk
                 * did not reach, its state, the pages it read: what moves
                 * the most last, nearest the reads that follow */
                uint64_t at[2 + WALK_KEEP_PAGES], now_frame;
                size_t nat = 0;
                for (uint32_t q = 0; q < tt->te->nwalk_pages; q++) {
                    uint32_t w = 0;
                    while (w < s->mem.nwalk && s->mem.walk[w] != tt->te->walk_pages[q]) w++;
                    if (w == s->mem.nwalk) at[nat++] = tt->te->walk_pages[q];
                }
                nat += unwind_start_addrs(&s->uw, t, at + nat);
                mem_walk_refresh(&s->mem, at, nat);
                if (unwind_current_frame(&s->uw, t, &now_frame) == 0) frame = now_frame;
            } else {
                mem_walk_begin(&s->mem, 1);
            }
            if (!frame) break;
            got = unwind_raw(&s->uw, frame, &s->raw, &tt->truncated);
            if (got > 0 && !tt->truncated && !same_root(tt->te, s->raw.f[s->raw.n - 1].code)) {
                s->raw.n = tt->raw_start;   /* cut somewhere: not the thread's own root */
                s->uw.errors++;
                got = UNWIND_ETORN;
            }
        }
        if (got > 0) keep_walk_pages(tt->te, &s->mem, s->raw.f + tt->raw_start, (size_t)got);
        mem_walk_end(&s->mem);
        if (got < 0) tt->torn = 1;
        /* Labels after the stack: a thread seen running its target has told
         * threading (and so us) its name by then. */
        if (tt->te->names_version != version && sampler_thread_labels(s, tt->te, version) != 0) {
            tt->torn = 0;   /* no labels: the thread gives nothing this pass, tasks included */
            continue;
        }
        if (got <= 0) continue;
        tt->raw_n = (size_t)got;
        tt->ok = 1;
        if (s->mem.reads == epoch_reads && s->mem.gen == epoch_gen)
            for (size_t k = 0; k < tt->raw_n; k++) codecache_confirm(&s->cc, s->raw.f[tt->raw_start + k].code);
        builtin_leaf(s, tt);
        thread_cause(s, tt);
    }
    if (s->aio.enabled) tasks_pass(s, m);
    int64_t most = 0, all = 0;
    s->busiest = 0;
    for (size_t i = 0; i < m; i++) {
        all += s->tt[i].cpu;
        if (s->tt[i].cpu > most) {
            most = s->tt[i].cpu;
            s->busiest = s->tt[i].te->thread_id;
        }
    }
    double span = now > s->last_tick && s->last_tick ? (double)(now - s->last_tick) : 0;
    s->busy_cpus = span > 0 ? (double)all / span : 0;
    s->busiest_share = span > 0 ? (double)most / span : 0;
    for (size_t i = 0; i < m; i++) {
        tick_thread *tt = &s->tt[i];
        if (!tt->ok || tt->covered) continue;
        if (s->cfg.mode == SAMPLER_CPU && tt->cpu == 0) continue;
        emit_thread(s, tt);
    }
    forget_ended(s, s->te, s->nte, s->te_next, m);
    thread_entry *tmp = s->te;
    s->te = s->te_next;
    s->te_next = tmp;
    s->nte = m;
    s->last_tick = now;
    cpufollow_step(&s->follow, s->busiest_cpu);   /* (under the lock: stats() reads it) */
}

/* ---- the sampling thread -------------------------------------------------- */

static void on_sigterm(int sig)
{
    (void)sig;
    int fd = atomic_load(&g_term_fd);
    if (atomic_exchange(&g_term_req, 1)) {
        /* a second SIGTERM before the profile was written (the sampling
         * thread is stuck, or writing takes too long): die now */
        struct sigaction dfl;
        memset(&dfl, 0, sizeof dfl);
        dfl.sa_handler = SIG_DFL;
        sigaction(SIGTERM, &dfl, NULL);
        raise(SIGTERM);   /* delivered when this handler returns */
        return;
    }
    if (fd >= 0) {
        uint64_t one = 1;
        ssize_t r = write(fd, &one, sizeof one);
        (void)r;
    }
}

static void install_sigterm(sampler *s)
{
    struct sigaction sa, old;
    if (sigaction(SIGTERM, NULL, &old) != 0 || old.sa_handler != SIG_DFL ||
        (old.sa_flags & SA_SIGINFO))
        return;   /* the program has its own plan for SIGTERM */
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigterm;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    atomic_store(&g_term_fd, s->evfd);
    if (sigaction(SIGTERM, &sa, &g_old_term) == 0) g_term_installed = 1;
}

static void uninstall_sigterm(void)
{
    struct sigaction cur;
    if (!g_term_installed) return;
    g_term_installed = 0;
    /* Only put back what we replaced if nobody replaced us since. */
    if (sigaction(SIGTERM, NULL, &cur) == 0 && cur.sa_handler == on_sigterm)
        sigaction(SIGTERM, &g_old_term, NULL);
    atomic_store(&g_term_fd, -1);
}

void sampler_forget_after_fork(void)
{
    uninstall_sigterm();
    atomic_store(&g_term_req, 0);
}

static void pick_tid_offset(sampler *s)
{
    int32_t mine[16];
    mem_cache_drop(&s->mem);
    int n = unwind_probe_tid_offsets(&s->mem, mine, 16);
    for (int i = 0; i < s->ntid_cand; i++)
        for (int k = 0; k < n; k++)
            if (s->tid_cand[i] == mine[k]) {
                s->uw.pthread_tid_off = mine[k];
                return;
            }
}

static void wait_until(sampler *s, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - now_ns(CLOCK_MONOTONIC);
        if (left <= 0 || atomic_load(&s->stop_req) || atomic_load(&g_term_req)) return;
        struct timespec ts = { (time_t)(left / 1000000000), (long)(left % 1000000000) };
        struct pollfd pfd = { s->evfd, POLLIN, 0 };
        int r = ppoll(&pfd, 1, &ts, NULL);
        if (r > 0) {
            uint64_t v;
            ssize_t rr = read(s->evfd, &v, sizeof v);
            (void)rr;
        }
    }
}

static int finish_locked_write(sampler *s, char *err, size_t errlen);

/* The overhead budget (--max-overhead): every 200 ms (50 ms for the first
 * four windows, after 20 ms of warm-up), the sampling thread's CPU time over
 * the rest of the process's in that window.  A
 * program using less than a tenth of a core counts as using a tenth (so an
 * idle program, whose budget would be nothing, is still sampled).
 *
 * Over the budget, the first lever is the asyncio task stride: the cost
 * fewer task stacks cannot save (the threads' stacks, the task list, waking
 * up) is taken as fixed, and the task stacks get what the budget leaves
 * (fewer tasks per pass, each standing for all the leaves, so totals hold
 * pass by pass), keeping the rate asked.  When the fixed part alone is over
 * the budget, or there are no task stacks to thin, the interval grows (by
 * the excess, at most 16x a step).  Under BUDGET_RAISE_BELOW of the budget,
 * the interval comes back first (toward BUDGET_AIM of it), then the stride.
 * The interval stays between the one asked and SAMPLER_MAX_INTERVAL_NS. */
#define BUDGET_RAISE_BELOW 0.85
#define BUDGET_AIM 0.95
static int64_t budget_step(sampler *s, int64_t now, int64_t interval, int64_t base)
{
    if (s->cfg.max_overhead <= 0) return interval;
    if (!s->budget_at) {
        /* the first window starts after a warm-up: the first passes fill
         * the caches and cost more than the ones after */
        s->budget_at = now + 20000000;
        s->budget_self = -1;
        return interval;
    }
    if (s->budget_self < 0) {
        if (now < s->budget_at) return interval;
        s->budget_at = now;
        s->budget_self = now_ns(CLOCK_THREAD_CPUTIME_ID);
        s->budget_proc = now_ns(CLOCK_PROCESS_CPUTIME_ID);
        s->budget_emit = s->tp.emit_ns;
        return interval;
    }
    int64_t window = now - s->budget_at;
    /* short windows at first, so that a costly start is answered quickly */
    if (window < (s->budget_windows < 4 ? 50000000 : 200000000)) return interval;
    s->budget_windows++;
    int64_t self = now_ns(CLOCK_THREAD_CPUTIME_ID), proc = now_ns(CLOCK_PROCESS_CPUTIME_ID);
    double mine = (double)(self - s->budget_self);
    double prog = (double)(proc - s->budget_proc) - mine;
    double emit = (double)(s->tp.emit_ns - s->budget_emit);
    s->budget_at = now;
    s->budget_self = self;
    s->budget_proc = proc;
    s->budget_emit = s->tp.emit_ns;
    double target = s->cfg.max_overhead / 100.0;
    double floor = 0.1 * (double)window;
    double share = mine / (prog > floor ? prog : floor);
    double r = share / target, next = (double)interval;
    uint64_t stride = s->tp.stride ? s->tp.stride : 1;
    double allowed = mine / r;   /* the sampler CPU the budget gives this window */
    if (r > 1) {
        /* What fewer task stacks a pass cannot save (threads, the task
         * list, waking up) must fit first; then the stacks take what is
         * left, the stride rising to match.  When even the rest does not
         * fit, the interval grows too. */
        double fixed = mine - emit;
        if (emit > 0 && stride < TASKS_STRIDE_MAX) {
            double left = 0.9 * allowed - fixed;
            double f = left > emit / 16 ? emit / left : 16;
            double k = (double)stride * (f < 16 ? f : 16) * 1.1;
            s->tp.stride_floor = k > TASKS_STRIDE_MAX ? TASKS_STRIDE_MAX : (uint64_t)k + 1;
        }
        if (emit <= 0 || stride >= TASKS_STRIDE_MAX || fixed >= 0.9 * allowed) {
            double f = emit > 0 && stride < TASKS_STRIDE_MAX ? fixed / (0.9 * allowed) : r;
            next *= f < 16 ? f : 16;
        }
    } else if (r < BUDGET_RAISE_BELOW) {
        /* toward BUDGET_AIM of the budget, as if a pass cost the same at
         * any rate: it costs less at a higher one (the sampler's caches are
         * warmer, less has changed since the pass before), so this step
         * never overshoots, and the next one goes on up */
        double f = r > 0.25 * BUDGET_AIM ? r / BUDGET_AIM : 0.25;
        if (interval > base) next *= f;
        else if (s->tp.stride_floor > 1) s->tp.stride_floor = (uint64_t)((double)s->tp.stride_floor * f);
    }
    double lo = (double)base, hi = (double)(base > SAMPLER_MAX_INTERVAL_NS ? base : SAMPLER_MAX_INTERVAL_NS);
    if (next < lo) next = lo;
    if (next > hi) next = hi;
    if (next > (double)base * 1.01) s->budget_slowed = 1;
    return (int64_t)next;
}

static void *run(void *arg)
{
    sampler *s = arg;
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);   /* signals are the program's */
    tl_sampling_thread = 1;
    if (s->L.ts_native_thread_id < 0) pick_tid_offset(s);
    if (pthread_getcpuclockid(pthread_self(), &s->self_clock) == 0) atomic_store(&s->self_clock_ok, 1);

    const int64_t base = (int64_t)(1e9 / s->cfg.rate_hz);
    int64_t interval = base;
    atomic_store(&s->interval_ns, interval);
    const int64_t stop_at = s->cfg.duration_s > 0
                                ? s->start_mono + (int64_t)(s->cfg.duration_s * 1e9)
                                : INT64_MAX;
    int64_t next = s->start_mono + interval;
    int timed_out = 0;
    for (;;) {
        wait_until(s, next < stop_at ? next : stop_at);
        if (atomic_load(&s->stop_req) || atomic_load(&g_term_req)) break;
        int64_t now = now_ns(CLOCK_MONOTONIC);
        if (now >= stop_at) { timed_out = 1; break; }
        pthread_mutex_lock(&s->lock);
        tick(s, now);
        s->tick_ns += now_ns(CLOCK_MONOTONIC) - now;
        pthread_mutex_unlock(&s->lock);
        interval = budget_step(s, now, interval, base);
        atomic_store(&s->interval_ns, interval);
        next += interval;
        int64_t after = now_ns(CLOCK_MONOTONIC);
        if (next <= after) {   /* fell behind: skip the ticks we cannot make */
            int64_t behind = (after - next) / interval + 1;
            s->missed += (uint64_t)behind;
            next += behind * interval;
        }
    }
    s->end_mono = now_ns(CLOCK_MONOTONIC);
    pthread_mutex_lock(&s->lock);
    s->sampler_cpu_ns = now_ns(CLOCK_THREAD_CPUTIME_ID);
    atomic_store(&s->self_clock_ok, 0);
    pthread_mutex_unlock(&s->lock);
    atomic_store(&s->running, 0);
    if (timed_out || atomic_load(&g_term_req)) {
        char err[256];
        int first = 0;
        if (atomic_compare_exchange_strong(&s->finished, &first, 1)) {
            s->finish_status = finish_locked_write(s, err, sizeof err);
            snprintf(s->finish_err, sizeof s->finish_err, "%s", err);
        }
        if (atomic_load(&g_term_req)) {
            /* Die of SIGTERM as the program would have without us. */
            uninstall_sigterm();
            signal(SIGTERM, SIG_DFL);
            kill(getpid(), SIGTERM);
        }
    }
    return NULL;
}

int sampler_start(sampler *s, char *err, size_t errlen)
{
    if (s->thread_started) {
        snprintf(err, errlen, "the sampler was already started");
        return -1;
    }
    s->start_mono = now_ns(CLOCK_MONOTONIC);
    s->start_real = now_ns(CLOCK_REALTIME);
    s->last_tick = s->start_mono;
    s->prof.time_nanos = s->start_real;
    atomic_store(&s->running, 1);
    if (s->cfg.handle_sigterm) install_sigterm(s);
    if (!s->cfg.sampler_cpu_any) cpufollow_init(&s->follow);   /* this thread's CPUs, which it inherits */
    int rc = pthread_create(&s->thread, NULL, run, s);
    if (rc != 0) {
        atomic_store(&s->running, 0);
        uninstall_sigterm();
        snprintf(err, errlen, "cannot start the sampling thread: %s", strerror(rc));
        return -1;
    }
    s->thread_started = 1;
    return 0;
}

/* s->lock from a thread other than the sampling thread: given up (and the
 * sampler marked stuck) after SAMPLER_STOP_WAIT_S, so that a pass that
 * never ends cannot hang the program's calls. */
static int lock_profile(sampler *s)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += atomic_load(&s->stuck) ? 0 : SAMPLER_STOP_WAIT_S;
    if (pthread_mutex_timedlock(&s->lock, &ts) == 0) return 0;
    atomic_store(&s->stuck, 1);
    return -1;
}

void sampler_stop(sampler *s)
{
    if (!s->thread_started) return;
    atomic_store(&s->stop_req, 1);
    uint64_t one = 1;
    ssize_t r = write(s->evfd, &one, sizeof one);
    (void)r;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += SAMPLER_STOP_WAIT_S;
    if (pthread_timedjoin_np(s->thread, NULL, &ts) != 0) {
        atomic_store(&s->stuck, 1);
        pthread_detach(s->thread);
        fprintf(stderr, "strobe: warning: the sampling thread did not stop within %d s (a bug in "
                "strobe; please report it); it is left behind and its profile may be lost\n",
                SAMPLER_STOP_WAIT_S);
        fflush(stderr);
    }
    s->thread_started = 0;
    if (!s->end_mono) s->end_mono = now_ns(CLOCK_MONOTONIC);
    uninstall_sigterm();
}

/* Comments and duration that describe the run so far; under s->lock. */
static void describe(sampler *s)
{
    char buf[1024];
    profile *p = &s->prof;
    int64_t end = atomic_load(&s->running) ? now_ns(CLOCK_MONOTONIC) : s->end_mono;
    p->duration_nanos = end - s->start_mono;
    p->ncomments = 0;
    double secs = (double)p->duration_nanos / 1e9;
    snprintf(buf, sizeof buf, "strobe: mode=%s rate=%.0fHz max-depth=%d max-overhead=%g%% rate-achieved=%.1fHz",
             sampler_mode_name(s->cfg.mode), s->cfg.rate_hz, s->cfg.max_depth, s->cfg.max_overhead,
             secs > 0 ? (double)s->ticks / secs : 0.0);
    profile_add_comment(p, buf);
    snprintf(buf, sizeof buf,
             "strobe: ticks=%" PRIu64 " missed-ticks=%" PRIu64 " samples=%" PRIu64
             " threads=%" PRIu64 " stacks-lost=%" PRIu64 " walks-mixed=%" PRIu64,
             s->ticks, s->missed, s->samples, s->threads_seen, s->uw.errors, s->uw.mixed);
    profile_add_comment(p, buf);
    if (s->aio.enabled) {
        snprintf(buf, sizeof buf,
                 "strobe: asyncio: tasks-read=%" PRIu64 " loop-threads-skipped-torn=%" PRIu64
                 " tasks-skipped-moved=%" PRIu64 " coroutines-unclaimed=%" PRIu64
                 " chains-torn=%" PRIu64 " tasks-of-stopped-loops=%" PRIu64 " task-stride-max=%" PRIu64
                 " tasks-from-earlier-reads=%" PRIu64 " tasks-changed-since-read=%" PRIu64
                 " passes-reading-all-again=%" PRIu64 " task-lists-built=%" PRIu64
                 " task-graphs-built=%" PRIu64 " chain-frames-checked=%" PRIu64
                 " tasks-new-under-running-parent=%" PRIu64,
                 s->tp.tasks_seen, s->torn_threads, s->tp.moved, s->tp.unclaimed, s->tp.chains_torn,
                 s->tp.no_loop, s->tp.max_stride ? s->tp.max_stride : 1, s->tp.tasks_reused,
                 s->tp.tasks_changed, s->tp.full_rereads, s->tp.lists_built, s->tp.graphs_built,
                 s->tp.frames_rechecked, s->tp.new_under_running);
        profile_add_comment(p, buf);
    }
    /* what the memory caps refused (profile.h, links.h) */
    pthread_mutex_lock(&s->links.lock);
    uint64_t links_dropped = s->links.dropped;
    pthread_mutex_unlock(&s->links.lock);
    snprintf(buf, sizeof buf,
             "strobe: dropped (caps reached): strings=%" PRIu64 " functions=%" PRIu64
             " locations=%" PRIu64 " stacks=%" PRIu64 " label-sets=%" PRIu64 " samples=%" PRIu64
             " links=%" PRIu64,
             p->dropped_strings, p->dropped_functions, p->dropped_locations, p->dropped_stacks,
             p->dropped_label_sets, p->dropped_samples, links_dropped);
    profile_add_comment(p, buf);
    if (s->tp.cycles_seen >= 2 && s->tp.cycle_report[0]) {
        snprintf(buf, sizeof buf, "strobe: await cycle (deadlock) in %" PRIu64 " samples: %s",
                 s->tp.cycles_seen, s->tp.cycle_report);
        profile_add_comment(p, buf);
    }
}

int sampler_write(sampler *s, const char *path, int format, char *err, size_t errlen)
{
    if (tl_sampling_thread) {
        pthread_mutex_lock(&s->lock);   /* the sampling thread itself, between passes */
    } else if (lock_profile(s) != 0) {
        snprintf(err, errlen, "the sampling thread is stuck; no profile can be written");
        return -1;
    }
    describe(s);
    int rc = export_write(&s->prof, (enum export_format)format, path, err, errlen);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

static int finish_locked_write(sampler *s, char *err, size_t errlen)
{
    int rc = 0;
    err[0] = 0;
    if (s->cfg.output) rc = sampler_write(s, s->cfg.output, s->cfg.format, err, errlen);
    if (s->cfg.summary) {
        double secs = (double)(s->end_mono - s->start_mono) / 1e9;
        double rate = secs > 0 ? (double)s->ticks / secs : 0;
        char ratebuf[160] = "";
        if (s->budget_slowed && rate < 0.99 * s->cfg.rate_hz)
            snprintf(ratebuf, sizeof ratebuf, " (%.0f Hz achieved of %.0f asked, to keep within --max-overhead %g%%)",
                     rate, s->cfg.rate_hz, s->cfg.max_overhead);
        else if (rate < 0.9 * s->cfg.rate_hz && secs >= 1)
            snprintf(ratebuf, sizeof ratebuf, " (%.0f Hz achieved of %.0f asked)", rate, s->cfg.rate_hz);
        else if (s->tp.max_stride > 1)
            snprintf(ratebuf, sizeof ratebuf, " (%.0f Hz; asyncio tasks sampled 1 in up to %" PRIu64
                     " per sample, each weighted so totals are kept)", rate, s->tp.max_stride);
        if (rc == 0 && s->cfg.output)
            fprintf(stderr, "strobe: %" PRIu64 " samples, %" PRIu64 " threads, %.1f s%s; wrote %s (%s)\n",
                    s->samples, s->threads_seen, secs, ratebuf, s->cfg.output,
                    export_format_name((enum export_format)s->cfg.format));
        else if (rc == 0)
            fprintf(stderr, "strobe: %" PRIu64 " samples, %" PRIu64 " threads, %.1f s%s\n",
                    s->samples, s->threads_seen, secs, ratebuf);
        else
            fprintf(stderr, "strobe: error: %s\n", err);
        if (s->tp.cycles_seen >= 2 && s->tp.cycle_report[0])
            fprintf(stderr, "strobe: warning: tasks await each other (a deadlock), seen in %" PRIu64
                    " samples: %s\n", s->tp.cycles_seen, s->tp.cycle_report);
        fflush(stderr);
    }
    return rc;
}

int sampler_finish(sampler *s, char *err, size_t errlen)
{
    int first = 0;
    if (!atomic_compare_exchange_strong(&s->finished, &first, 1)) {
        sampler_stop(s);
        snprintf(err, errlen, "%s", s->finish_err);
        return s->finish_status;
    }
    sampler_stop(s);
    s->finish_status = finish_locked_write(s, err, errlen);
    snprintf(s->finish_err, sizeof s->finish_err, "%s", err);
    return s->finish_status;
}

void sampler_get_stats(sampler *s, sampler_stats *st)
{
    memset(st, 0, sizeof *st);
    if (lock_profile(s) != 0) {
        st->stuck = 1;
        st->running = atomic_load(&s->running);
        return;
    }
    st->stuck = atomic_load(&s->stuck);
    st->ticks = s->ticks;
    st->samples = s->samples;
    st->threads_seen = s->threads_seen;
    st->missed_ticks = s->missed;
    st->stack_errors = s->uw.errors;
    st->reads = s->mem.reads;
    st->read_failures = s->mem.failures;
    st->code_hits = s->cc.hits;
    st->code_misses = s->cc.misses;
    st->code_invalidations = s->cc.invalidations;
    st->tasks_seen = s->tp.tasks_seen;
    st->tick_ns = s->tick_ns;
    st->page_hits = s->mem.page_hits;
    st->page_misses = s->mem.page_misses;
    st->cache_pages = s->mem.npages;
    st->task_stride = s->tp.max_stride;
    st->kernel_reads = s->kr.reads;
    st->kernel_read_ns = s->kr.read_ns;
    st->kernel_read_failures = s->kr.failures;
    st->builtin_frames = s->calls.found + s->calls.reused;
    st->builtin_kept = s->calls.reused;
    st->builtin_torn = s->calls.torn;
    st->builtin_not_c = s->calls.not_c;
    st->builtin_unanalysable = s->calls.unanalysable;
    st->sampler_cpu_ns = s->sampler_cpu_ns;
    if (atomic_load(&s->self_clock_ok)) {
        /* still running: its clock now (it cannot end while we hold the lock) */
        struct timespec ts;
        if (clock_gettime(s->self_clock, &ts) == 0) {
            int64_t c = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
            if (c > st->sampler_cpu_ns) st->sampler_cpu_ns = c;
        }
    }
    st->page_prefetched = s->mem.page_prefetched;
    st->page_filled = s->mem.page_filled;
    st->page_refreshed = s->mem.page_refreshed;
    st->follow_cpu = s->follow.pinned;
    st->follow_moves = s->follow.moves;
    st->tasks_reused = s->tp.tasks_reused;
    st->tasks_changed = s->tp.tasks_changed;
    st->full_rereads = s->tp.full_rereads;
    st->task_lists_built = s->tp.lists_built;
    st->task_graphs_built = s->tp.graphs_built;
    st->chain_frames_checked = s->tp.frames_rechecked;
    st->code_batched = s->cc.batched;
    st->code_unchanged = s->cc.unchanged;
    st->torn_threads = s->torn_threads;
    st->chains_torn = s->tp.chains_torn;
    st->cycles_seen = s->tp.cycles_seen;
    st->running = atomic_load(&s->running);
    st->finished = atomic_load(&s->finished);
    int64_t end = st->running ? now_ns(CLOCK_MONOTONIC) : s->end_mono;
    st->elapsed_s = s->start_mono ? (double)(end - s->start_mono) / 1e9 : 0;
    st->rate_achieved = st->elapsed_s > 0 ? (double)s->ticks / st->elapsed_s : 0;
    int64_t iv = atomic_load(&s->interval_ns);
    st->rate_now = iv > 0 ? 1e9 / (double)iv : s->cfg.rate_hz;
    pthread_mutex_unlock(&s->lock);
}

void sampler_destroy(sampler *s)
{
    if (!s) return;
    sampler_stop(s);
    if (atomic_load(&s->stuck)) return;   /* still in use by the thread left behind */
    for (size_t i = 0; i < s->nte; i++) offcpu_close(&s->kr, &s->te[i].kfd);
    free(s->fn_cause);
    ccall_free(&s->calls);
    codecache_free(&s->cc);
    if (s->prof.str) profile_free(&s->prof);
    mem_close(&s->mem);
    if (s->evfd >= 0) close(s->evfd);
    for (size_t i = 0; i < s->nnames; i++) free(s->names[i].name);
    free(s->names);
    free(s->te);
    free(s->te_next);
    free(s->snap);
    free(s->stackbuf);
    free(s->tt);
    free(s->uw.memo);
    raw_vec_free(&s->raw);
    tasks_free(&s->tp);
    if (s->links.c || s->links.a || s->links.seq) links_free(&s->links);
    free(s->output);
    free(s->inflight_code);
    free(s->inflight_fid);
    free(s);
}

int sampler_take_unqualified(sampler *s, uint64_t **codes, size_t *n)
{
    *codes = NULL;
    *n = 0;
    if (lock_profile(s) != 0) return -1;
    codecache *c = &s->cc;
    free(s->inflight_code);
    free(s->inflight_fid);
    s->inflight_code = c->pend_code;
    s->inflight_fid = c->pend_fid;
    s->ninflight = c->npend;
    c->pend_code = NULL;
    c->pend_fid = NULL;
    c->npend = c->pend_cap = 0;
    *n = s->ninflight;
    *codes = malloc((s->ninflight ? s->ninflight : 1) * sizeof **codes);
    int rc = *codes ? 0 : -1;
    if (*codes && s->ninflight) memcpy(*codes, s->inflight_code, s->ninflight * sizeof **codes);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

static int cmp_fact(const void *a, const void *b)
{
    uint64_t x = ((const qual_fact *)a)->code, y = ((const qual_fact *)b)->code;
    return x < y ? -1 : x > y;
}

/* Does `q` end in ".name" (or equal it)? */
static int ends_in_name(const char *q, const char *name)
{
    size_t lq = strlen(q), ln = strlen(name);
    return lq >= ln && !strcmp(q + lq - ln, name) && (lq == ln || q[lq - ln - 1] == '.');
}

int sampler_qualify(sampler *s, const qual_fact *facts, size_t n)
{
    qual_fact *sorted = malloc((n ? n : 1) * sizeof *sorted);
    if (!sorted) return -1;
    if (n) memcpy(sorted, facts, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, cmp_fact);
    if (lock_profile(s) != 0) {
        free(sorted);
        return -1;
    }
    profile *p = &s->prof;
    uint32_t *fids = malloc((s->ninflight ? s->ninflight : 1) * sizeof *fids);
    uint32_t *names = malloc((s->ninflight ? s->ninflight : 1) * sizeof *names);
    size_t nren = 0;
    for (size_t i = 0; fids && names && i < s->ninflight; i++) {
        qual_fact key = { s->inflight_code[i], NULL, NULL, NULL, 0 };
        const qual_fact *f = bsearch(&key, sorted, n, sizeof *sorted, cmp_fact);
        uint32_t fid = s->inflight_fid[i];
        if (!f || fid >= p->nfn) continue;
        const prof_function *fn = &p->fn[fid];
        if (strcmp(p->str[fn->name], f->name) || strcmp(p->str[fn->file], f->file) ||
            fn->start_line != f->firstlineno || !ends_in_name(f->qualname, f->name) ||
            !strcmp(f->qualname, f->name))
            continue;
        uint32_t sid;
        if (profile_intern_string(p, f->qualname, strlen(f->qualname), &sid) != PROF_OK) continue;
        fids[nren] = fid;
        names[nren++] = sid;
    }
    if (nren) profile_rename_functions(p, fids, names, nren);
    free(s->inflight_code);
    free(s->inflight_fid);
    s->inflight_code = NULL;
    s->inflight_fid = NULL;
    s->ninflight = 0;
    pthread_mutex_unlock(&s->lock);
    free(fids);
    free(names);
    free(sorted);
    return (int)nren;
}

void sampler_set_aio(sampler *s, const strobe_aio *A)
{
    if (lock_profile(s) != 0) return;
    s->aio = *A;
    s->uw.step_codes = s->aio.step_codes;
    s->uw.nstep_codes = s->aio.nstep_codes;
    pthread_mutex_unlock(&s->lock);
}

int sampler_add_task_type(sampler *s, uint64_t type)
{
    int rc = 0;
    if (lock_profile(s) != 0) return -1;
    if (!aio_is_task_type(&s->aio, type)) {
        if (s->aio.ntask_types < AIO_MAX_TASK_TYPES) s->aio.task_types[s->aio.ntask_types++] = type;
        else rc = -1;
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

void sampler_link_child(sampler *s, uint64_t child, uint64_t child_coro, uint64_t parent,
                        uint64_t parent_coro, int kind)
{
    links_child(&s->links, child, child_coro, parent, parent_coro, kind);
}

void sampler_link_awaitable(sampler *s, uint64_t key, const uint64_t *children, size_t n, int coro)
{
    links_awaitable(&s->links, key, children, n, coro);
}

void sampler_running_loop(sampler *s, uint64_t loop, int64_t tid, int stepped)
{
    links_running_loop(&s->links, loop, tid, stepped);
}
