/* mem.h — the one door to interpreter memory.  Every read of a target's
 * memory (this process or another) goes through mem_read / mem_readv, which
 * fail instead of faulting: a freed frame or an unmapped page is an error
 * value, never a crash.  Reads are not atomic: the caller validates. */
#ifndef STROBE_MEM_H
#define STROBE_MEM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum mem_backend { MEM_VM_READV = 1, MEM_PIPE = 2 };

/* A snapshot cache of whole pages (see mem_cache_enable). */
#define MEM_WALK_PAGES 32
#define MEM_WALK_EXTRA 16   /* extra addresses mem_walk_refresh takes */
typedef struct mem_page mem_page;

typedef struct mem_target {
    pid_t pid;
    int backend;          /* enum mem_backend */
    int pipefd[2];        /* MEM_PIPE only: write(addr) then read back */
    uint64_t reads, failures;   /* counters, for stats (reads = system calls) */
    mem_page *pages;      /* the tags; NULL: no cache */
    uint8_t *page_data;   /* npages pages */
    uint32_t npages;      /* power of two */
    uint64_t gen;         /* the pass: entries of older ones are invalid (never wraps) */
    uint64_t copy_seq;    /* pages copied so far: each copy's order (mem_cache_seq) */
    uint64_t page_hits, page_misses;
    uint64_t pass_misses;       /* misses and filled pages since the last mem_cache_drop */
    uint64_t page_prefetched;   /* pages copied by mem_cache_next_pass */
    uint64_t page_filled;       /* pages copied by mem_cache_fill */
    /* Pages used (read from) in this pass and in the one before, for
     * mem_cache_next_pass: addresses, in first-use order, at most npages. */
    uint64_t *used, *used_prev;
    uint32_t nused, nused_prev, used_cap;
    uint64_t pass;              /* mem_cache_next_pass calls (a drop is not a new pass) */
    int unrecorded;             /* mem_cache_on_demand: pages used are not recorded */
    uint64_t restrict_lo, restrict_span;   /* mem_restrict: [lo, lo + span); span 0 = off */
    /* walk mode (mem_walk_begin): the pages read since, and the one a
     * no_fetch read did not find */
    uint64_t walk[MEM_WALK_PAGES];
    uint32_t nwalk;
    int walking, no_fetch;
    uint64_t walk_missed;
    uint64_t walk_fresh_from;   /* a walk after a refresh reads copies this recent only */
    uint64_t page_refreshed;    /* pages copied by mem_walk_refresh */
    /* mem_rider: a small range read last in every system call, and the
     * value of `reads` after the last call that read it whole (0: none) */
    uint64_t rider_addr;
    void *rider_buf;
    size_t rider_size;
    uint64_t rider_reads;
} mem_target;

/* The most ranges one mem_readv / mem_readv_fresh call takes. */
#define MEM_MAX_IOV 256

typedef struct {
    uint64_t addr;
    void *buf;
    size_t size;
} mem_iov;

/* Open a target (pid 0 = this process).  Picks process_vm_readv when the
 * kernel allows it, else the pipe fallback (self only).  0 or -1 (errno). */
int mem_open(mem_target *t, pid_t pid);
void mem_close(mem_target *t);

/* The page cache.  A sampler reads the same few pages (a thread's frame
 * chunk, code objects, task and coroutine objects allocated side by side)
 * many times in one pass, and the kernel's cost per read is the same for 64
 * bytes as for a page.  With the cache on, a read is served from a copy of
 * its whole page taken at the first read of that page since the last
 * mem_cache_drop(): one pass sees each page as it was at one instant, which
 * makes objects on one page mutually consistent.  Reads spanning more than
 * two pages go straight to the target.  mem_readv_fresh() always bypasses
 * the cache (for re-checks that must see the memory as it is now). */
int mem_cache_enable(mem_target *t, uint32_t npages /* rounded up to a power of two */);
void mem_cache_drop(mem_target *t);   /* forget every cached page (O(1)) */
/* Start a pass: forget every cached page, then copy again, in as few system
 * calls as there are batches of 128 pages, every page the previous pass
 * used (read from, whether filled by a read or by this prefetch).  A program
 * in a steady state reads the same pages pass after pass (its thread states,
 * frame chunks, task and coroutine objects): they are taken in one sweep
 * instead of one system call each, and all at nearly the same instant.  A
 * page that fails is left out (its reads fail or retry as without the
 * prefetch); a page prefetched but not read this pass is not prefetched in
 * the next.  The ntail ranges of `tail` (may be NULL; at most MEM_MAX_TAIL,
 * each under a page) are read last, in order, after every page, in the same
 * system call as the last of them: tail_ok[i] (may be NULL) says whether
 * range i was read.  As in any one call, a range that fails leaves the ones
 * after it unread: put first what matters most.  Returns the number of
 * pages copied. */
#define MEM_MAX_TAIL 4
uint32_t mem_cache_next_pass(mem_target *t, const mem_iov *tail, int ntail, int *tail_ok);
/* Copy now, in as few system calls as there are batches of 128 pages and
 * in the order given, the pages under [addr[i], addr[i] + size) for every i
 * that are not cached in this pass yet (size at most a page).  For a step
 * that knows many object addresses at once (every task of a registry): one
 * sweep instead of one system call per page.  Pages are copied in the order
 * of the addresses, after everything read before the call, so reads that
 * rely on a page read later never being older than the pointer that led to
 * it (mem_cache_on_demand) stay right when the pointers were read before.
 * A page that fails is left out (its reads go to the target as without).
 * Returns the pages copied.  The cache should have room for them: a fill
 * larger than it evicts its own first pages. */
uint32_t mem_cache_fill(mem_target *t, const uint64_t *addr, size_t n, size_t size);
/* The order in which the copy of addr's page held in this pass was made
 * (larger: later; within one system call, in the order of its pages), or 0
 * when none is held (or the cache is off: every read is then made now). */
uint64_t mem_cache_seq(const mem_target *t, uint64_t addr);
/* For the rest of the pass: forget every cached page, read pages as they
 * are met (each copied when first read, so a page read later is never older
 * than one read before it), and do not prefetch them in the next pass.  For
 * reads that rely on that order (asyncio tasks: a pointer read, then the
 * object it points to). */
void mem_cache_on_demand(mem_target *t);
/* Walk mode, for reading one thread's stack from one copy.  A walk that
 * meets a page copied after the others (or finds its chain torn: the thread
 * moved on while the pages were copied one by one) is better tried again
 * from a single fresh copy of every page it read than page by page: one
 * system call, all pages at nearly one instant.  Between mem_walk_begin and
 * the next begin, refresh or mem_walk_end, the pages read are listed (the
 * first MEM_WALK_PAGES), and with no_fetch (page cache on, process_vm_readv)
 * a read of a page the cache does not hold fails without a system call,
 * setting walk_missed to that page.  mem_walk_refresh copies again, in one
 * call and whether held or not, the pages under extra[i] (8 bytes each, at
 * most MEM_WALK_EXTRA: where the walk starts from, pages it is likely to
 * need), the pages listed and the missed one, then
 * begins a walk (fetching) that reads only copies made from then on: a page
 * held from before is copied again when met, never mixed in.  It returns
 * the pages copied.  mem_walk_end: every held copy serves reads again. */
void mem_walk_begin(mem_target *t, int no_fetch);
/* Reads between mem_walk_pause and mem_walk_resume (its return value) are
 * not the walk's: neither listed nor refused (what the walk needs to know
 * that is not the thread's stack: a code object). */
static inline int mem_walk_pause(mem_target *t)
{
    int w = t->walking;
    t->walking = 0;
    return w;
}
static inline void mem_walk_resume(mem_target *t, int walking)
{
    t->walking = walking;
}
void mem_walk_end(mem_target *t);
uint32_t mem_walk_refresh(mem_target *t, const uint64_t *extra, size_t nextra);
/* Grow the cache (up to max pages) when the last pass missed more pages
 * than half its slots; call between passes.  0, or -1 (kept as it was). */
int mem_cache_fit(mem_target *t, uint32_t max);

/* A rider: while set (size > 0, at most 64 bytes, process_vm_readv only),
 * every system call a read of this target makes (cache fills, misses,
 * fresh reads) also reads [addr, addr + size) into buf, after everything
 * else it reads.  mem_rider_now() is then 1 when the latest system call
 * read it whole: buf holds the value as of the end of the last read made,
 * as a fresh read of it now would, without a call of its own.  A rider
 * that cannot be read never fails the read it rides on.  size 0: off. */
void mem_rider(mem_target *t, uint64_t addr, void *buf, size_t size);
static inline int mem_rider_now(const mem_target *t)
{
    return t->rider_size && t->rider_reads && t->rider_reads == t->reads;
}

/* Read exactly `size` bytes at `addr`.  0 on success, -1 on any failure. */
int mem_read(mem_target *t, uint64_t addr, size_t size, void *buf);
/* Read several ranges in one call; 0 only when every range was read whole. */
int mem_readv(mem_target *t, const mem_iov *iov, int n);
int mem_readv_fresh(mem_target *t, const mem_iov *iov, int n);

/* Sandbox the target (for fuzzing and tests): once set with hi > lo, every
 * read whose range is not wholly inside [lo, hi) fails exactly as a read of
 * an unmapped address does (-1, counted like one, no system call), on every
 * path: mem_read/mem_readv, the page cache and mem_readv_fresh.  A decoder
 * pointed at a buffer of untrusted bytes thus sees every pointer leaving the
 * buffer as a failed read, deterministically, whatever is mapped there.
 * The page cache still copies whole pages: a read inside [lo, hi) whose page
 * runs past the bounds is served from that page (only the bytes asked for
 * are copied out), so the bytes around the window must be mapped when the
 * cache is on (a page-aligned window is always safe).  hi <= lo turns the
 * check off (the default: one compare per range on the read path). */
void mem_restrict(mem_target *t, uint64_t lo, uint64_t hi);

static inline uint64_t mem_u64(const void *base, int32_t off)
{
    uint64_t v;
    __builtin_memcpy(&v, (const char *)base + off, sizeof v);
    return v;
}
static inline int32_t mem_i32(const void *base, int32_t off)
{
    int32_t v;
    __builtin_memcpy(&v, (const char *)base + off, sizeof v);
    return v;
}

/* A live object's reference count: at least 1 and far below an address.
 * Freed memory fails this: allocators write a free-list pointer (or zero)
 * over the first word.  (Immortal counts of 3.12+ are below 2^32.) */
static inline int mem_refcnt_live(const void *obj, int32_t off)
{
    uint64_t rc = mem_u64(obj, off);
    return rc >= 1 && rc < ((uint64_t)1 << 40);
}

#endif
