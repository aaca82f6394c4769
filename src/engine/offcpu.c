/* offcpu.c — see offcpu.h; the rules are written out in docs/offcpu.md. */
#include "offcpu.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static const char *const names[NCAUSES] = { NULL, "sleep", "lock", "io", "gil", "other" };

const char *offcpu_cause_name(int cause)
{
    return cause > CAUSE_NONE && cause < NCAUSES ? names[cause] : NULL;
}

/* ---- the kernel's view ------------------------------------------------------ */

enum { K_OTHER, K_SLEEP, K_FUTEX, K_IO, K_SELECT0, K_POLL1 };

/* What a system call is, by number.  Only calls a Python thread blocks in
 * matter; everything else is "other".  SYS_* differ per architecture, so
 * each is used only where it exists. */
static int kind_of(long nr)
{
    switch (nr) {
#ifdef SYS_nanosleep
    case SYS_nanosleep:
#endif
#ifdef SYS_clock_nanosleep
    case SYS_clock_nanosleep:
#endif
        return K_SLEEP;
#ifdef SYS_futex
    case SYS_futex:
#endif
#ifdef SYS_futex_waitv
    case SYS_futex_waitv:
#endif
        return K_FUTEX;
    /* select(nfds, ...) and pselect6: no descriptors is a sleep (how
     * time.sleep waits on 3.8-3.10) */
#ifdef SYS_select
    case SYS_select:
#endif
#ifdef SYS_pselect6
    case SYS_pselect6:
#endif
        return K_SELECT0;
    /* poll(fds, nfds, ...) and ppoll: nfds is the second argument */
#ifdef SYS_poll
    case SYS_poll:
#endif
#ifdef SYS_ppoll
    case SYS_ppoll:
#endif
        return K_POLL1;
#ifdef SYS_read
    case SYS_read:
#endif
#ifdef SYS_readv
    case SYS_readv:
#endif
#ifdef SYS_pread64
    case SYS_pread64:
#endif
#ifdef SYS_preadv
    case SYS_preadv:
#endif
#ifdef SYS_preadv2
    case SYS_preadv2:
#endif
#ifdef SYS_write
    case SYS_write:
#endif
#ifdef SYS_writev
    case SYS_writev:
#endif
#ifdef SYS_pwrite64
    case SYS_pwrite64:
#endif
#ifdef SYS_pwritev
    case SYS_pwritev:
#endif
#ifdef SYS_pwritev2
    case SYS_pwritev2:
#endif
#ifdef SYS_recvfrom
    case SYS_recvfrom:
#endif
#ifdef SYS_recvmsg
    case SYS_recvmsg:
#endif
#ifdef SYS_recvmmsg
    case SYS_recvmmsg:
#endif
#ifdef SYS_sendto
    case SYS_sendto:
#endif
#ifdef SYS_sendmsg
    case SYS_sendmsg:
#endif
#ifdef SYS_sendmmsg
    case SYS_sendmmsg:
#endif
#ifdef SYS_sendfile
    case SYS_sendfile:
#endif
#ifdef SYS_splice
    case SYS_splice:
#endif
#ifdef SYS_epoll_wait
    case SYS_epoll_wait:
#endif
#ifdef SYS_epoll_pwait
    case SYS_epoll_pwait:
#endif
#ifdef SYS_epoll_pwait2
    case SYS_epoll_pwait2:
#endif
#ifdef SYS_accept
    case SYS_accept:
#endif
#ifdef SYS_accept4
    case SYS_accept4:
#endif
#ifdef SYS_connect
    case SYS_connect:
#endif
#ifdef SYS_open
    case SYS_open:
#endif
#ifdef SYS_openat
    case SYS_openat:
#endif
#ifdef SYS_fsync
    case SYS_fsync:
#endif
#ifdef SYS_fdatasync
    case SYS_fdatasync:
#endif
#ifdef SYS_io_getevents
    case SYS_io_getevents:
#endif
#ifdef SYS_io_uring_enter
    case SYS_io_uring_enter:
#endif
        return K_IO;
    default:
        return K_OTHER;
    }
}

int offcpu_classify(const char *line, char state, uint64_t gil_lo, uint64_t gil_hi)
{
    while (*line == ' ') line++;
    if (!strncmp(line, "running", 7)) return CAUSE_NONE;
    char *end;
    long nr = strtol(line, &end, 10);
    if (end == line) return CAUSE_OTHER;
    uint64_t a[6] = { 0 };
    const char *p = end;
    for (int i = 0; i < 6 && nr >= 0; i++) {
        a[i] = strtoull(p, &end, 16);
        if (end == p) break;
        p = end;
    }
    int kind = nr < 0 ? K_OTHER : kind_of(nr);
    switch (kind) {
    case K_SLEEP:
        return CAUSE_SLEEP;
    case K_FUTEX:
        return gil_lo < gil_hi && a[0] >= gil_lo && a[0] < gil_hi ? CAUSE_GIL : CAUSE_LOCK;
    case K_SELECT0:
        return a[0] == 0 ? CAUSE_SLEEP : CAUSE_IO;
    case K_POLL1:
        return a[1] == 0 ? CAUSE_SLEEP : CAUSE_IO;
    case K_IO:
        return CAUSE_IO;
    default:
        /* blocked outside a known call: waiting on the disk ('D') is I/O */
        return state == 'D' ? CAUSE_IO : CAUSE_OTHER;
    }
}

/* ---- asyncio: what a suspended task awaits ------------------------------------ */

/* Does `path` end in "/asyncio/<base>"? */
static int asyncio_file(const char *path, const char *base)
{
    size_t lp = strlen(path), lb = strlen(base);
    static const char dir[] = "/asyncio/";
    size_t ld = sizeof dir - 1;
    return lp >= ld + lb && !strcmp(path + lp - lb, base) && !memcmp(path + lp - lb - ld, dir, ld);
}

/* The last component of a possibly qualified name. */
static const char *last_name(const char *q)
{
    const char *dot = strrchr(q, '.');
    return dot ? dot + 1 : q;
}

int offcpu_asyncio_cause(const char *file, const char *func)
{
    if (!strstr(file, "/asyncio/")) return CAUSE_NONE;
    const char *fn = last_name(func);
    if (asyncio_file(file, "locks.py") || asyncio_file(file, "queues.py")) return CAUSE_LOCK;
    if (asyncio_file(file, "streams.py") || asyncio_file(file, "selector_events.py") ||
        asyncio_file(file, "proactor_events.py") || asyncio_file(file, "unix_events.py") ||
        asyncio_file(file, "subprocess.py") || asyncio_file(file, "base_subprocess.py") ||
        asyncio_file(file, "sslproto.py"))
        return CAUSE_IO;
    if (asyncio_file(file, "tasks.py") && (!strcmp(fn, "sleep") || !strcmp(fn, "__sleep0")))
        return CAUSE_SLEEP;
    if (asyncio_file(file, "base_events.py") &&
        (!strncmp(fn, "sock_", 5) || !strcmp(fn, "create_connection") ||
         !strcmp(fn, "create_datagram_endpoint") || !strcmp(fn, "getaddrinfo") ||
         !strcmp(fn, "getnameinfo") || !strcmp(fn, "sendfile") || !strcmp(fn, "start_tls") ||
         !strcmp(fn, "connect_read_pipe") || !strcmp(fn, "connect_write_pipe") ||
         !strcmp(fn, "subprocess_exec") || !strcmp(fn, "subprocess_shell") ||
         !strcmp(fn, "_sock_sendfile_native") || !strcmp(fn, "_sendfile_native")))
        return CAUSE_IO;
    return CAUSE_OTHER;
}

/* ---- reading /proc ---------------------------------------------------------------- */

static int open_file(const offcpu_reader *r, int64_t tid, const char *what)
{
    char path[96];
    if (r->pid > 0)
        snprintf(path, sizeof path, "/proc/%d/task/%" PRId64 "/%s", r->pid, tid, what);
    else
        snprintf(path, sizeof path, "/proc/self/task/%" PRId64 "/%s", tid, what);
    return open(path, O_RDONLY | O_CLOEXEC);
}

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The state letter of thread `tid` ('R', 'S', 'D', ...), 0 when unknown.
 * The stat line is "pid (comm) S ..."; comm may hold ')' itself. */
static char read_state(const offcpu_reader *r, int64_t tid)
{
    char buf[512];
    int fd = open_file(r, tid, "stat");
    if (fd < 0) return 0;
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    close(fd);
    if (n <= 0) return 0;
    buf[n] = 0;
    char *close_paren = strrchr(buf, ')');
    return close_paren && close_paren[1] == ' ' ? close_paren[2] : 0;
}

int offcpu_read(offcpu_reader *r, int *fd, int64_t tid, uint64_t gil_lo, uint64_t gil_hi)
{
    if (tid <= 0) return -1;
    int64_t t0 = mono_ns();
    int own = *fd;
    if (own < 0) {
        own = open_file(r, tid, "syscall");
        if (own < 0) {
            r->failures++;
            return -1;
        }
        if (r->nopen < OFFCPU_MAX_FDS) {
            *fd = own;
            r->nopen++;
        }
    }
    char buf[256];
    ssize_t n = pread(own, buf, sizeof buf - 1, 0);
    if (own != *fd) close(own);
    if (n <= 0) {
        r->failures++;
        if (*fd >= 0) offcpu_close(r, fd);
        return -1;
    }
    buf[n] = 0;
    int cause = offcpu_classify(buf, 0, gil_lo, gil_hi);
    if (cause == CAUSE_OTHER) {
        /* only then does the state matter: blocked on the disk? */
        char st = read_state(r, tid);
        if (st == 'D') cause = CAUSE_IO;
    }
    r->reads++;
    r->read_ns += (uint64_t)(mono_ns() - t0);
    return cause;
}

void offcpu_close(offcpu_reader *r, int *fd)
{
    if (*fd < 0) return;
    close(*fd);
    *fd = -1;
    if (r->nopen > 0) r->nopen--;
}
