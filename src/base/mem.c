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
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#define MEM_MAX_IOV 64
#define PIPE_CHUNK 4096   /* below PIPE_BUF-ish capacity: never blocks */

static int readv_ranges(mem_target *t, const mem_iov *iov, int n)
{
    struct iovec local[MEM_MAX_IOV], remote[MEM_MAX_IOV];
    size_t want = 0;
    if (n <= 0 || n > MEM_MAX_IOV) return -1;
    for (int i = 0; i < n; i++) {
        local[i].iov_base = iov[i].buf;
        local[i].iov_len = iov[i].size;
        remote[i].iov_base = (void *)(uintptr_t)iov[i].addr;
        remote[i].iov_len = iov[i].size;
        want += iov[i].size;
    }
    ssize_t got = process_vm_readv(t->pid, local, (unsigned long)n, remote, (unsigned long)n, 0);
    return got == (ssize_t)want ? 0 : -1;
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
    for (int i = 0; i < 2; i++)
        if (t->pipefd[i] >= 0) { close(t->pipefd[i]); t->pipefd[i] = -1; }
}

int mem_read(mem_target *t, uint64_t addr, size_t size, void *buf)
{
    mem_iov v = { addr, buf, size };
    return mem_readv(t, &v, 1);
}

int mem_readv(mem_target *t, const mem_iov *iov, int n)
{
    int rc = 0;
    t->reads++;
    for (int i = 0; i < n; i++)
        if (iov[i].addr < 4096 || iov[i].size > ((size_t)1 << 30)) { rc = -1; goto out; }
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
