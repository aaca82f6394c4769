/* fuzz_tasks.c — asyncio's task registries, task objects, coroutine and
 * generator chains (src/engine/aio.c, with pyobj.c, codecache.c and
 * unwind_location under them) read from fuzz bytes through a sandboxed
 * mem_target (fuzz_sandbox.h), with each version's real layout and the
 * task offsets strobe's probe measures (layouts.h).
 *
 * Input (fuzz_common.h):
 *   byte 0   version (3.8 ... 3.13)
 *   byte 1   flags: 0x01 page cache, 0x02 no tp_base (subclasses of Task
 *            not learnt), 0x04 resolve the chains' frames to locations
 *   byte 2   most tasks read (b % 48; 0 = count only)
 *   byte 3   most frames kept per chain (b % 24)
 *   byte 4   output capacity of task names (1 + b)
 *   image    words 0-1: weak registries (sets of weak references to tasks),
 *            words 2-3: strong registries (sets of tasks), 0 = none;
 *            word 4: a coroutine whose chain is read on its own;
 *            word 5: an object read as a generator; word 6: a task name
 *
 * A pass reads the registries (aio_read_tasks), then for every task its
 * coroutine chain (aio_read_chain), its name (aio_task_name) and the type
 * of what it waits for, as tasks.c does; chain frames are resolved through
 * a code cache into a profile when flag 0x04 is set.
 *
 * Checked: counts within the bounds asked, statuses the documented ones,
 * generator states, names NUL-terminated within their buffer, learnt task
 * types at most AIO_MAX_TASK_TYPES.  Built with -DFUZZ_DEBUG it prints
 * each task's name and chain. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aio.h"
#include "codecache.h"
#include "fuzz_sandbox.h"
#include "profile.h"
#include "pyobj.h"
#include "unwind.h"

#define CHECK(x) do { if (!(x)) abort(); } while (0)
#define MAX_TASKS 48
#define MAX_CHAIN 24

static void chain(mem_target *m, const strobe_layout *L, const strobe_aio *A, unwinder *u,
                  uint64_t coro, int max)
{
    raw_frame f[MAX_CHAIN];
    int n = -1;
    uint64_t omitted = 7, leaf = 7;
    int st = aio_read_chain(m, L, A, coro, f, max, &n, &omitted, &leaf);
    CHECK(st == CHAIN_SUSPENDED || st == CHAIN_RUNNING || st == CHAIN_NOT_STARTED || st == CHAIN_TORN);
    CHECK(n >= 0 && n <= max);
    CHECK(omitted <= AIO_MAX_CHAIN);
    if (st == CHAIN_NOT_STARTED) CHECK(n <= 1);
    if (!u) return;
    for (int i = 0; i < n; i++) {
        CHECK(f[i].loc == UNWIND_UNRESOLVED);
        int64_t loc = unwind_frame_loc(u, &f[i]);
        if (loc >= 0 && loc != UNWIND_NO_LOC) CHECK(loc < u->prof->nloc);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < FZ_HDR) return 0;
    int v = data[0] % FUZZ_NVERSIONS;
    int flags = data[1];
    mem_target *m = fz_begin(data, size, flags & 0x01);
    if (!m) return 0;
    size_t len = size - FZ_HDR;
    strobe_layout L = fz_layout(v);
    if (flags & 0x02) L.tp_base = -1;
    strobe_aio A = fz_aio(v);
    A.nreg_weak = A.nreg_strong = 0;
    for (int i = 0; i < 2; i++) {
        uint64_t w = fz_root(len, i), s = fz_root(len, 2 + i);
        if (w) A.reg_weak[A.nreg_weak++] = w;
        if (s) A.reg_strong[A.nreg_strong++] = s;
    }
    int max_tasks = data[2] % MAX_TASKS;
    int max_chain = data[3] % MAX_CHAIN;
    size_t name_cap = 1 + (size_t)data[4];

    profile prof;
    codecache cc;
    unwinder uw, *u = NULL;
    if (flags & 0x04) {
        if (profile_init(&prof, NULL) != PROF_OK || codecache_init(&cc, m, &L, &prof) != 0) abort();
        memset(&uw, 0, sizeof uw);
        uw.mem = m;
        uw.L = &L;
        uw.cc = &cc;
        uw.prof = &prof;
        uw.pthread_tid_off = -1;
        u = &uw;
    }

    aio_task tasks[MAX_TASKS];
    uint64_t seen = 0;
    int n = aio_read_tasks(m, &L, &A, tasks, max_tasks, &seen);
    CHECK(n >= -1 && n <= max_tasks);
    CHECK(A.ntask_types >= 1 && A.ntask_types <= AIO_MAX_TASK_TYPES);
    if (n >= 0) CHECK(seen >= (uint64_t)n);
    char name[257];
    for (int i = 0; i < n; i++) {
        CHECK(aio_is_task_type(&A, tasks[i].type));
        chain(m, &L, &A, u, tasks[i].coro, max_chain);
        memset(name, 0x55, sizeof name);
        int r = aio_task_name(m, &L, tasks[i].name, name, name_cap);
        if (r >= 0) CHECK(memchr(name, 0, name_cap) != NULL);
        (void)pyobj_type(m, &L, tasks[i].waiter);
    }
    chain(m, &L, &A, u, fz_root(len, 4), max_chain);
    aio_gen g;
    if (aio_read_gen(m, &L, fz_root(len, 5), &g) == 0)
        CHECK(g.state >= GEN_CREATED && g.state <= GEN_DONE && g.raw.loc == UNWIND_UNRESOLVED);
    memset(name, 0x55, sizeof name);
    if (aio_task_name(m, &L, fz_root(len, 6), name, name_cap) >= 0) CHECK(memchr(name, 0, name_cap) != NULL);

#ifdef FUZZ_DEBUG
    fprintf(stderr, "tasks %s: %d tasks (%llu seen), %d task types\n", fuzz_versions[v].version, n,
            (unsigned long long)seen, A.ntask_types);
    for (int i = 0; i < n; i++) {
        raw_frame f[MAX_CHAIN];
        int k;
        uint64_t om, leaf;
        int st = aio_read_chain(m, &L, &A, tasks[i].coro, f, max_chain, &k, &om, &leaf);
        int r = aio_task_name(m, &L, tasks[i].name, name, sizeof name);
        fprintf(stderr, "  task %d: %s chain status %d frames %d omitted %llu leaf future %s\n", i,
                r >= 0 ? name : "?", st, k, (unsigned long long)om, leaf ? "yes" : "no");
    }
    {
        raw_frame f[MAX_CHAIN];
        int k;
        uint64_t om, leaf;
        int st = aio_read_chain(m, &L, &A, fz_root(len, 4), f, max_chain, &k, &om, &leaf);
        fprintf(stderr, "  lone chain: status %d frames %d\n", st, k);
    }
    if (u) fprintf(stderr, "  profile: %u functions %u locations\n", prof.nfn, prof.nloc);
#endif
    if (u) {
        codecache_free(&cc);
        profile_free(&prof);
    }
    return 0;
}
