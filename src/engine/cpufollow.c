/* cpufollow.c — pin the sampling thread to the busiest thread's CPU (cpufollow.h). */
#include "cpufollow.h"

#include <dlfcn.h>
#include <sched.h>
#include <string.h>

static int allowed(const cpufollow *f, unsigned cpu)
{
    return cpu < CPUFOLLOW_MAX_CPUS && (f->allowed[cpu / 64] >> (cpu % 64) & 1);
}

static int set_mask(const cpufollow *f, int only)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    for (unsigned c = 0; c < CPUFOLLOW_MAX_CPUS && c < CPU_SETSIZE; c++)
        if (only >= 0 ? (int)c == only : allowed(f, c)) CPU_SET(c, &set);
    return sched_setaffinity(0, sizeof set, &set);
}

void cpufollow_init(cpufollow *f)
{
    memset(f, 0, sizeof *f);
    f->cpu_off = -1;
    f->pinned = -1;
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0) return;
    for (unsigned c = 0; c < CPUFOLLOW_MAX_CPUS && c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &set)) {
            f->allowed[c / 64] |= 1ULL << (c % 64);
            f->nallowed++;
        }
#if defined(__x86_64__)
    /* glibc 2.35+: the rseq area sits at __rseq_offset from the thread
     * pointer, which on x86-64 is the thread's pthread_t; __rseq_size is 0
     * when glibc did not register it.  Looked up, not linked, so that an
     * older glibc loads strobe (and simply has no following). */
    const int *off = dlsym(RTLD_DEFAULT, "__rseq_offset");
    const unsigned *size = dlsym(RTLD_DEFAULT, "__rseq_size");
    /* struct rseq: u32 cpu_id_start, u32 cpu_id, ... */
    if (off && size && *size >= 8) f->cpu_off = (int64_t)*off + 4;
#endif
}

static void let_go(cpufollow *f)
{
    if (f->pinned >= 0 && set_mask(f, -1) == 0) f->pinned = -1;
}

uint64_t cpufollow_where(const cpufollow *f, uint64_t busiest, double share, double busy_cpus, int64_t interval)
{
    if (f->cpu_off < 0 || f->nallowed < 2 || !busiest || interval < CPUFOLLOW_MIN_INTERVAL_NS) return 0;
    if (share < CPUFOLLOW_MIN_SHARE || busy_cpus > (double)f->nallowed - 0.5) return 0;
    return busiest + (uint64_t)f->cpu_off;
}

void cpufollow_step(cpufollow *f, int64_t cpu)
{
    /* (uint32_t)-1 / -2 there: not registered, registration failed */
    if (cpu < 0 || !allowed(f, (unsigned)cpu)) {
        let_go(f);
        return;
    }
    if ((int)cpu == f->pinned) return;
    if (set_mask(f, (int)cpu) == 0) {
        f->pinned = (int)cpu;
        f->moves++;
    }
}
