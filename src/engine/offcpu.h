/* offcpu.h — why a thread (or an asyncio task) is off CPU.
 *
 * The causes, and how each is decided, are in docs/offcpu.md.  For a thread
 * the kernel says what it is blocked in: /proc/self/task/TID/syscall gives
 * the system call and its arguments ("running" when it is on a CPU or
 * runnable), and /proc/self/task/TID/stat its state.  A futex whose address
 * lies inside the interpreter's GIL structure is a wait for the GIL.  For a
 * suspended asyncio task the innermost asyncio frame of its coroutine chain
 * says what it awaits.
 *
 * No Python.h; the same code serves attach mode (another pid's /proc). */
#ifndef STROBE_OFFCPU_H
#define STROBE_OFFCPU_H

#include <stddef.h>
#include <stdint.h>

enum {
    CAUSE_NONE = 0,     /* no off-CPU time, or the thread is running */
    CAUSE_SLEEP,
    CAUSE_LOCK,
    CAUSE_IO,
    CAUSE_GIL,
    CAUSE_OTHER,
    NCAUSES
};

/* "sleep", "lock", "io", "gil", "other"; NULL for CAUSE_NONE. */
const char *offcpu_cause_name(int cause);

/* The cause behind one line of /proc/TID/syscall ("running", "-1 sp pc", or
 * "NR a0 a1 a2 a3 a4 a5 sp pc" in hex) given the thread's state letter from
 * its stat file ('S', 'D', ...; 0 when not read) and the GIL's address
 * range [gil_lo, gil_hi) (0, 0 when unknown).  CAUSE_NONE for "running". */
int offcpu_classify(const char *line, char state, uint64_t gil_lo, uint64_t gil_hi);

/* What a suspended task waits for, from the innermost frame of its
 * coroutine chain that belongs to asyncio (file path and function name;
 * the name may be qualified, "Lock.acquire").  CAUSE_NONE when the file is
 * not one of asyncio's. */
int offcpu_asyncio_cause(const char *file, const char *func);

/* Reading a thread's kernel state.  Open files are kept for at most
 * OFFCPU_MAX_FDS threads (a program with thousands of threads must not run
 * out of descriptors because of the profiler); others are opened per read. */
#define OFFCPU_MAX_FDS 64

typedef struct {
    int pid;             /* 0: this process ("self") */
    int nopen;           /* descriptors held */
    uint64_t reads, read_ns, failures;
} offcpu_reader;

/* The cause for thread `tid` now, reading its syscall file through *fd
 * (opened on first use when there is room; -1 when not held).  CAUSE_NONE
 * when it is running; -1 when the files cannot be read (thread gone). */
int offcpu_read(offcpu_reader *r, int *fd, int64_t tid, uint64_t gil_lo, uint64_t gil_hi);

/* Forget a thread's descriptor. */
void offcpu_close(offcpu_reader *r, int *fd);

#endif
