/* cpufollow.h — where the sampling thread runs.
 *
 * Between passes the sampling thread sleeps.  Left to the scheduler, it
 * wakes on an idle CPU (the program's busy thread has the other), and on a
 * virtual machine leaving an idle vCPU is what a wake-up costs most: on
 * this project's VMs 33-55 us of CPU per wake-up after a 10 ms sleep on an
 * idle vCPU, 11 us on one shared with a busy thread (docs/PERFORMANCE.md).
 * A pass on that cold CPU is slower too, and the program runs on while it
 * is read, so more of its reads tear.
 *
 * So at sampling intervals of CPUFOLLOW_MIN_INTERVAL_NS and more, after
 * each pass, the sampling thread is pinned to the CPU the busiest Python
 * thread of the pass before was on at this pass's start (its rseq area's
 * cpu_id, which the kernel keeps current for every thread glibc 2.35+
 * registered: 4 bytes read with the pass's first copies, no system call
 * of its own), within the CPUs it was allowed when it started.  Its next pass then
 * interrupts that thread for as long as the pass takes.  At shorter
 * intervals the wake-ups are cheap anyway and the interruptions would cost
 * the program more than they save.  A thread that did not run most of the
 * interval is not followed: threads taking turns at the GIL hop from CPU
 * to CPU, and a sampler chasing them moved nearly every pass while its
 * pass, preempted by the threads woken beside it, took 600 us instead of
 * 200 (bench/workload_threads.py).  Nor when the program keeps every CPU
 * busy: there is no idle one to spare.  The thread is then left to the
 * scheduler.
 * With no thread busy, one CPU allowed, no rseq (older glibc, or a glibc
 * told not to register it) or not x86-64, nothing is pinned. */
#ifndef STROBE_CPUFOLLOW_H
#define STROBE_CPUFOLLOW_H

#include <stdint.h>

#include "mem.h"

#define CPUFOLLOW_MIN_INTERVAL_NS 8000000   /* 125 Hz and below */
#define CPUFOLLOW_MIN_SHARE 0.7             /* of the interval the thread ran */
#define CPUFOLLOW_MAX_CPUS 1024

typedef struct {
    int64_t cpu_off;        /* pthread_t to its rseq cpu_id; -1: not known (off) */
    uint64_t allowed[CPUFOLLOW_MAX_CPUS / 64];   /* CPUs allowed when it started */
    int nallowed;
    int pinned;             /* the CPU it is pinned to; -1: the ones allowed */
    uint64_t moves;         /* times pinned to another CPU */
} cpufollow;

/* Before the sampling thread starts, on the thread that starts it (whose
 * CPUs it inherits). */
void cpufollow_init(cpufollow *f);
/* At a pass's start: where to read (4 bytes) the CPU of the thread whose
 * pthread_t (Python's thread id) is `busiest` (the one that used the most
 * CPU in the pass before; 0: none), or 0 when there is nothing to follow
 * at this interval: that thread did not keep its CPU busy (`share`, its
 * CPU time over the interval, under CPUFOLLOW_MIN_SHARE), or no CPU is
 * left idle (`busy_cpus`, all the program's threads' CPU time over the
 * interval, within half a CPU of all those allowed). */
uint64_t cpufollow_where(const cpufollow *f, uint64_t busiest, double share, double busy_cpus, int64_t interval);
/* After the pass: `cpu` is what was read there, -1 when nothing was.
 * Pins the calling thread to that CPU, or lets it go (see above). */
void cpufollow_step(cpufollow *f, int64_t cpu);

#endif
