/* mem.c — safe reads of process memory.
 *
 * MEM_VM_READV: process_vm_readv(2), one syscall for up to IOV_MAX ranges;
 *   works on our own pid without any privilege.
 * MEM_PIPE: for kernels or sandboxes that refuse process_vm_readv (seccomp):
 *   write(2) from the address into a pipe fails with EFAULT instead of
 *   faulting, and the bytes are read back.  Self only.
 */
#include "mem.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#define PAGE 4096u

/* The tags are kept apart from the data: a lookup touches one small,
 * dense array (cache- and TLB-friendly), the data only on a hit. */
struct mem_page {
    uint64_t page;     /* address of the page */
    uint64_t gen;      /* valid when == mem_target.gen; ok when the read succeeded */
    uint64_t ok;       /* 0: the read failed; else the copy's order (mem_target.copy_seq) */
    uint64_t used;     /* the pass it was last read from in (for the used list) */
};
#define PREFETCH_BATCH 128
#define FILL_CHUNK 1024          /* pages mem_cache_fill hands copy_pages at once */
#define GEN_PENDING UINT64_MAX   /* a slot in a batch being copied (gen never gets there) */
#define PIPE_CHUNK 4096   /* below PIPE_BUF-ish capacity: never blocks */

/* Append the rider (if any) to a call's ranges at [n]: 1 when it was. */
static inline int add_rider(const mem_target *t, struct iovec *local, struct iovec *remote, int n)
{
    if (!t->rider_size) return 0;
    local[n].iov_base = t->rider_buf;
    local[n].iov_len = t->rider_size;
    remote[n].iov_base = (void *)(uintptr_t)t->rider_addr;
    remote[n].iov_len = t->rider_size;
    return 1;
}

/* After a call of `want` bytes (the rider's not counted) that got `got`:
 * was the rider, the last range, read whole? */
static inline void note_rider(mem_target *t, int rode, size_t want, ssize_t got)
{
    if (rode && got >= 0 && (size_t)got == want + t->rider_size) t->rider_reads = t->reads;
}

static int readv_ranges(mem_target *t, const mem_iov *iov, int n)
{
    struct iovec local[MEM_MAX_IOV + 1], remote[MEM_MAX_IOV + 1];
    size_t want = 0;
    if (n <= 0 || n > MEM_MAX_IOV) return -1;
    for (int i = 0; i < n; i++) {
        local[i].iov_base = iov[i].buf;
        local[i].iov_len = iov[i].size;
        remote[i].iov_base = (void *)(uintptr_t)iov[i].addr;
        remote[i].iov_len = iov[i].size;
        want += iov[i].size;
    }
    int rode = add_rider(t, local, remote, n);
    ssize_t got = process_vm_readv(t->pid, local, (unsigned long)(n + rode), remote, (unsigned long)(n + rode), 0);
    note_rider(t, rode, want, got);
    return got >= (ssize_t)want ? 0 : -1;
}

static int pipe_read1(mem_target *t, uint64_t addr, size_t size, void *buf)
{
    char *out = buf;
    while (size > 0) {
        size_t chunk = size < PIPE_CHUNK ? size : PIPE_CHUNK;
        ssize_t w = write(t->pipefd[1], (const void *)(uintptr_t)addr, chunk);
        if (w <= 0) return -1;
        size_t done = 0;
        while (done < (size_t)w) {
            ssize_t r = read(t->pipefd[0], out + done, (size_t)w - done);
            if (r <= 0) return -1;
            done += (size_t)r;
        }
        out += w; addr += (uint64_t)w; size -= (size_t)w;
    }
    return 0;
}

int mem_open(mem_target *t, pid_t pid)
{
    memset(t, 0, sizeof *t);
    t->pipefd[0] = t->pipefd[1] = -1;
    t->pid = pid ? pid : getpid();
    /* Probe the syscall on a variable of ours (self) or the target's first
     * page we can't know; for another pid a failure is reported by reads. */
    static const char probe = 42;
    char got = 0;
    mem_iov v = { (uint64_t)(uintptr_t)&probe, &got, 1 };
    t->backend = MEM_VM_READV;
    if (pid == 0 || pid == getpid()) {
        if (readv_ranges(t, &v, 1) == 0 && got == 42) return 0;
        if (pipe2(t->pipefd, O_CLOEXEC | O_NONBLOCK) != 0) return -1;
        t->backend = MEM_PIPE;
        got = 0;
        if (pipe_read1(t, v.addr, 1, &got) == 0 && got == 42) return 0;
        mem_close(t);
        errno = EFAULT;
        return -1;
    }
    return 0;
}

void mem_close(mem_target *t)
{
    free(t->pages);
    free(t->page_data);
    free(t->used);
    free(t->used_prev);
    t->pages = NULL;
    t->page_data = NULL;
    t->used = t->used_prev = NULL;
    t->nused = t->nused_prev = t->used_cap = 0;
    t->npages = 0;
    for (int i = 0; i < 2; i++)
        if (t->pipefd[i] >= 0) { close(t->pipefd[i]); t->pipefd[i] = -1; }
}

int mem_read(mem_target *t, uint64_t addr, size_t size, void *buf)
{
    mem_iov v = { addr, buf, size };
    return mem_readv(t, &v, 1);
}

/* Outside the mem_restrict window?  A single compare while there is none. */
static inline int outside(const mem_target *t, uint64_t addr, size_t size)
{
    if (__builtin_expect(t->restrict_span == 0, 1)) return 0;
    uint64_t rel = addr - t->restrict_lo;   /* wraps below lo: huge, outside */
    return rel > t->restrict_span || size > t->restrict_span - rel;
}

void mem_rider(mem_target *t, uint64_t addr, void *buf, size_t size)
{
    int on = size && size <= 64 && buf && addr >= 4096 && t->backend == MEM_VM_READV && !outside(t, addr, size);
    t->rider_addr = on ? addr : 0;
    t->rider_buf = on ? buf : NULL;
    t->rider_size = on ? size : 0;
    t->rider_reads = 0;
}

void mem_restrict(mem_target *t, uint64_t lo, uint64_t hi)
{
    t->restrict_lo = hi > lo ? lo : 0;
    t->restrict_span = hi > lo ? hi - lo : 0;
}

/* Read now.  `whole_page`: the page cache filling a page for a read already
 * checked against the window (the page itself may run past it). */
static int read_now(mem_target *t, const mem_iov *iov, int n, int whole_page)
{
    int rc = 0;
    t->reads++;
    for (int i = 0; i < n; i++)
        if (iov[i].addr < 4096 || iov[i].size > ((size_t)1 << 30) ||
            (!whole_page && outside(t, iov[i].addr, iov[i].size))) { rc = -1; goto out; }
    if (t->backend == MEM_VM_READV) {
        rc = readv_ranges(t, iov, n);
    } else {
        for (int i = 0; i < n && rc == 0; i++)
            rc = pipe_read1(t, iov[i].addr, iov[i].size, iov[i].buf);
    }
out:
    if (rc) t->failures++;
    return rc;
}

int mem_readv_fresh(mem_target *t, const mem_iov *iov, int n)
{
    return read_now(t, iov, n, 0);
}

int mem_cache_enable(mem_target *t, uint32_t npages)
{
    uint32_t n = 1;
    while (n < npages) n <<= 1;
    mem_page *p = calloc(n, sizeof *p);
    uint8_t *d = malloc((size_t)n * PAGE);
    uint64_t *u = malloc((size_t)n * sizeof *u), *up = malloc((size_t)n * sizeof *up);
    if (!p || !d || !u || !up) {
        free(p);
        free(d);
        free(u);
        free(up);
        return -1;
    }
    /* the pages used so far are kept (as many as fit) */
    uint32_t nu = t->nused < n ? t->nused : n, nup = t->nused_prev < n ? t->nused_prev : n;
    if (nu) memcpy(u, t->used, nu * sizeof *u);
    if (nup) memcpy(up, t->used_prev, nup * sizeof *up);
    free(t->pages);
    free(t->page_data);
    free(t->used);
    free(t->used_prev);
    t->pages = p;
    t->page_data = d;
    t->npages = n;
    t->used = u;
    t->used_prev = up;
    t->nused = nu;
    t->nused_prev = nup;
    t->used_cap = n;
    t->gen++;          /* a new pass: the new (zeroed) slots hold nothing */
    return 0;
}

int mem_cache_fit(mem_target *t, uint32_t max)
{
    uint64_t used = t->nused > t->pass_misses ? t->nused : t->pass_misses;
    if (!t->pages || used * 2 <= t->npages || t->npages >= max) return 0;
    uint32_t want = t->npages;
    while (want < max && (uint64_t)want < used * 2) want <<= 1;
    return mem_cache_enable(t, want);
}

void mem_cache_on_demand(mem_target *t)
{
    mem_cache_drop(t);
    t->unrecorded = 1;
}

void mem_cache_drop(mem_target *t)
{
    t->pass_misses = 0;
    t->gen++;
}

static inline size_t slot_of(const mem_target *t, uint64_t page)
{
    uint64_t h = (page >> 12) * 0x9E3779B97F4A7C15ull;
    return (size_t)((h >> 32) & (t->npages - 1));
}

/* Remember that this pass read from page p (once per pass). */
static inline void note_used(mem_target *t, mem_page *p)
{
    if (p->used == t->pass || t->unrecorded) return;
    p->used = t->pass;
    if (t->nused < t->used_cap) t->used[t->nused++] = p->page;
}

static void walk_note(mem_target *t, uint64_t page)
{
    for (uint32_t i = t->nwalk; i-- > 0;)
        if (t->walk[i] == page) return;
    if (t->nwalk < MEM_WALK_PAGES) t->walk[t->nwalk++] = page;
}

/* The cached copy of `page`, or NULL when it cannot be read. */
static const uint8_t *page_get(mem_target *t, uint64_t page)
{
    size_t slot = slot_of(t, page);
    mem_page *p = &t->pages[slot];
    uint8_t *data = t->page_data + slot * PAGE;
    int held = p->gen == t->gen && p->page == page;
    if (t->walking) {
        if (held && p->ok < t->walk_fresh_from) held = 0;   /* older than the walk's copy */
        if (t->no_fetch && !held) {
            t->walk_missed = page;
            return NULL;
        }
        walk_note(t, page);
    }
    if (held) {
        t->page_hits++;
        if (!p->ok) return NULL;
        note_used(t, p);
        return data;
    }
    t->page_misses++;
    t->pass_misses++;
    mem_iov v = { page, data, PAGE };
    p->page = page;
    p->gen = t->gen;
    p->ok = read_now(t, &v, 1, 1) == 0 ? ++t->copy_seq : 0;
    if (!p->ok) return NULL;
    note_used(t, p);
    return data;
}

/* Copy the pages pages[0..n) not cached in this pass into the cache, in as
 * few system calls as there are batches of PREFETCH_BATCH, in the order
 * given; then the ntail ranges of `tail`, after every page, in the same
 * call as the last batch (tail_ok[i] set for each read whole).  A page the
 * kernel cannot read is left out (its reads go to the target as without
 * this).  Returns the pages copied. */
static uint32_t copy_pages(mem_target *t, const uint64_t *pages, uint32_t npg, const mem_iov *tail,
                           int ntail, int *tail_ok)
{
    struct iovec local[PREFETCH_BATCH + MEM_MAX_TAIL + 1], remote[PREFETCH_BATCH + MEM_MAX_TAIL + 1];
    int want_tail = ntail > 0;
    mem_page *tag[PREFETCH_BATCH];
    uint32_t from[PREFETCH_BATCH];
    uint32_t copied = 0, i = 0;
    while (i < npg || want_tail) {
        int n = 0;
        for (; i < npg && n < PREFETCH_BATCH; i++) {
            uint64_t page = pages[i];
            size_t slot = slot_of(t, page);
            mem_page *p = &t->pages[slot];
            /* cached already, or already in this batch */
            if (page < 4096 || (p->page == page && (p->gen == t->gen || p->gen == GEN_PENDING))) continue;
            p->page = page;
            p->gen = GEN_PENDING;   /* nothing until the read says so */
            local[n].iov_base = t->page_data + slot * PAGE;
            local[n].iov_len = PAGE;
            remote[n].iov_base = (void *)(uintptr_t)page;
            remote[n].iov_len = PAGE;
            tag[n] = p;
            from[n] = i;
            n++;
        }
        int with_tail = want_tail && i >= npg ? ntail : 0;   /* the last batch */
        for (int k = 0; k < with_tail; k++) {
            local[n + k].iov_base = tail[k].buf;
            local[n + k].iov_len = tail[k].size;
            remote[n + k].iov_base = (void *)(uintptr_t)tail[k].addr;
            remote[n + k].iov_len = tail[k].size;
        }
        if (!n && !with_tail) break;
        t->reads++;
        size_t want = (size_t)n * PAGE;
        for (int k = 0; k < with_tail; k++) want += tail[k].size;
        int rode = add_rider(t, local, remote, n + with_tail);
        ssize_t got = process_vm_readv(t->pid, local, (unsigned long)(n + with_tail + rode), remote,
                                       (unsigned long)(n + with_tail + rode), 0);
        note_rider(t, rode, want, got);
        int full = got > 0 ? (int)((size_t)got / PAGE) : 0;
        if (full > n) full = n;
        for (int k = 0; k < full; k++) {
            tag[k]->gen = t->gen;
            tag[k]->ok = ++t->copy_seq;   /* the kernel copies in iov order */
        }
        copied += (uint32_t)full;
        if (with_tail && full == n) {
            /* the kernel copies in order and stops at the first range it
             * cannot read: the ranges the count covers were read whole */
            size_t left = (size_t)got - (size_t)n * PAGE;
            int k = 0;
            for (; k < with_tail && left >= tail[k].size; k++) {
                left -= tail[k].size;
                if (tail_ok) tail_ok[k] = 1;
            }
            if (k == with_tail) want_tail = 0;
        }
        if (full < n) {
            /* the kernel stops at the first page it cannot read: go on
             * after that one (the tail goes with the batch that ends) */
            t->failures++;
            for (int k = full; k < n; k++) tag[k]->gen = 0;
            i = from[full] + 1;
        } else if (with_tail && want_tail) {
            t->failures++;   /* every page read, the tail not */
            want_tail = 0;
        }
    }
    return copied;
}

uint32_t mem_cache_next_pass(mem_target *t, const mem_iov *tail, int ntail, int *tail_ok)
{
    uint64_t *tmp = t->used_prev;
    t->used_prev = t->used;
    t->used = tmp;
    t->nused_prev = t->nused;
    t->nused = 0;
    t->pass++;
    t->unrecorded = 0;
    mem_cache_drop(t);
    if (!tail || ntail < 0) ntail = 0;
    if (ntail > MEM_MAX_TAIL) ntail = MEM_MAX_TAIL;
    for (int k = 0; k < ntail; k++) {
        if (tail_ok) tail_ok[k] = 0;
        if (!tail[k].size || tail[k].size >= PAGE) ntail = k;   /* (the ones before still go) */
    }
    if (!t->pages || t->backend != MEM_VM_READV) {
        for (int k = 0; k < ntail; k++) {
            int ok = mem_readv_fresh(t, &tail[k], 1) == 0;
            if (tail_ok) tail_ok[k] = ok;
            if (!ok) break;
        }
        return 0;
    }
    /* a range that would fail ends the tail there, as the kernel would */
    for (int k = 0; k < ntail; k++)
        if (tail[k].addr < 4096 || outside(t, tail[k].addr, tail[k].size)) {
            ntail = k;
            t->failures++;
        }
    uint32_t copied = copy_pages(t, t->used_prev, t->nused_prev, tail, ntail, tail_ok);
    t->page_prefetched += copied;
    return copied;
}

uint32_t mem_cache_fill(mem_target *t, const uint64_t *addr, size_t n, size_t size)
{
    if (!t->pages || t->backend != MEM_VM_READV || !size || size > PAGE) return 0;
    uint64_t pages[FILL_CHUNK];
    uint32_t npg = 0, copied = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || npg + 2 > FILL_CHUNK) {
            copied += copy_pages(t, pages, npg, NULL, 0, NULL);
            npg = 0;
            if (i == n) break;
        }
        uint64_t a = addr[i];
        if (a < 4096 || a > UINT64_MAX - size || outside(t, a, size)) continue;
        uint64_t first = a & ~(uint64_t)(PAGE - 1), last = (a + size - 1) & ~(uint64_t)(PAGE - 1);
        if (!npg || pages[npg - 1] != first) pages[npg++] = first;
        if (last != first) pages[npg++] = last;
    }
    t->page_filled += copied;
    t->pass_misses += copied;   /* pages this pass needed: mem_cache_fit grows the cache to hold them */
    return copied;
}

void mem_walk_begin(mem_target *t, int no_fetch)
{
    t->walking = 1;
    t->no_fetch = no_fetch && t->pages && t->backend == MEM_VM_READV;
    t->nwalk = 0;
    t->walk_missed = 0;
    t->walk_fresh_from = 0;
}

void mem_walk_end(mem_target *t)
{
    t->walking = t->no_fetch = 0;
    t->nwalk = 0;
    t->walk_missed = 0;
    t->walk_fresh_from = 0;
}

uint32_t mem_walk_refresh(mem_target *t, const uint64_t *extra, size_t nextra)
{
    uint64_t pages[2 * MEM_WALK_EXTRA + MEM_WALK_PAGES + 1];
    uint32_t n = 0;
    for (size_t i = 0; i < nextra && i < MEM_WALK_EXTRA; i++) {
        if (extra[i] < 4096 || extra[i] > UINT64_MAX - 8 || outside(t, extra[i], 8)) continue;
        pages[n++] = extra[i] & ~(uint64_t)(PAGE - 1);
        pages[n++] = (extra[i] + 7) & ~(uint64_t)(PAGE - 1);
    }
    for (uint32_t i = 0; i < t->nwalk; i++) pages[n++] = t->walk[i];
    if (t->walk_missed) pages[n++] = t->walk_missed;
    mem_walk_begin(t, 0);
    t->walk_fresh_from = t->copy_seq + 1;
    if (!t->pages) return 0;
    /* held copies are older than the memory now: not held any more */
    for (uint32_t i = 0; i < n; i++) {
        mem_page *p = &t->pages[slot_of(t, pages[i])];
        if (p->page == pages[i] && p->gen == t->gen) p->gen = 0;
    }
    if (t->backend != MEM_VM_READV) return 0;   /* read again when met */
    uint32_t copied = copy_pages(t, pages, n, NULL, 0, NULL);
    t->page_refreshed += copied;
    t->pass_misses += copied;
    return copied;
}

uint64_t mem_cache_seq(const mem_target *t, uint64_t addr)
{
    if (!t->pages || addr < 4096) return 0;
    uint64_t page = addr & ~(uint64_t)(PAGE - 1);
    const mem_page *p = &t->pages[slot_of(t, page)];
    return p->page == page && p->gen == t->gen ? p->ok : 0;
}

static int cached_read(mem_target *t, uint64_t addr, size_t size, void *buf)
{
    char *out = buf;
    while (size > 0) {
        uint64_t page = addr & ~(uint64_t)(PAGE - 1);
        size_t off = (size_t)(addr - page);
        size_t chunk = PAGE - off < size ? PAGE - off : size;
        const uint8_t *d = page_get(t, page);
        if (!d) return -1;
        memcpy(out, d + off, chunk);
        out += chunk; addr += chunk; size -= chunk;
    }
    return 0;
}

int mem_readv(mem_target *t, const mem_iov *iov, int n)
{
    if (!t->pages) return mem_readv_fresh(t, iov, n);
    for (int i = 0; i < n; i++) {
        uint64_t a = iov[i].addr;
        size_t sz = iov[i].size;
        int rc;
        if (a < 4096 || sz > ((size_t)1 << 30) || outside(t, a, sz)) return -1;
        if (sz > 2 * PAGE) {
            rc = mem_readv_fresh(t, &iov[i], 1);
        } else {
            rc = cached_read(t, a, sz, iov[i].buf);
        }
        if (rc) return -1;
    }
    return 0;
}
