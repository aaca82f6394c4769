/* offcpu.c: the kernel's syscall lines and asyncio frames -> causes, and the
 * reader on this process's own threads (a thread asleep in nanosleep, one
 * blocked on a futex inside a "GIL" range, one running). */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "offcpu.h"

#define GIL_LO 0x7f0000001000ULL
#define GIL_HI 0x7f0000001100ULL

static char line[256];

static const char *sc(long nr, unsigned long long a0, unsigned long long a1)
{
    snprintf(line, sizeof line, "%ld 0x%llx 0x%llx 0x0 0x0 0x0 0x0 0x7ffd1000 0x7f2a00\n", nr, a0, a1);
    return line;
}

static void test_classify(void)
{
    CHECK(offcpu_classify("running\n", 0, GIL_LO, GIL_HI) == CAUSE_NONE);
    CHECK(offcpu_classify(sc(SYS_clock_nanosleep, 1, 0), 0, GIL_LO, GIL_HI) == CAUSE_SLEEP);
    CHECK(offcpu_classify(sc(SYS_nanosleep, 0x7ffd, 0), 0, GIL_LO, GIL_HI) == CAUSE_SLEEP);
    CHECK(offcpu_classify(sc(SYS_futex, 0x55550000, 0x189), 0, GIL_LO, GIL_HI) == CAUSE_LOCK);
    CHECK(offcpu_classify(sc(SYS_futex, GIL_LO + 0x30, 0x189), 0, GIL_LO, GIL_HI) == CAUSE_GIL);
    CHECK(offcpu_classify(sc(SYS_futex, GIL_HI, 0x189), 0, GIL_LO, GIL_HI) == CAUSE_LOCK);
    CHECK(offcpu_classify(sc(SYS_futex, GIL_LO + 0x30, 0x189), 0, 0, 0) == CAUSE_LOCK);
    CHECK(offcpu_classify(sc(SYS_recvfrom, 3, 0x7f00), 0, GIL_LO, GIL_HI) == CAUSE_IO);
    CHECK(offcpu_classify(sc(SYS_read, 3, 0x7f00), 0, GIL_LO, GIL_HI) == CAUSE_IO);
    CHECK(offcpu_classify(sc(SYS_epoll_wait, 5, 0x7f00), 0, GIL_LO, GIL_HI) == CAUSE_IO);
    CHECK(offcpu_classify(sc(SYS_accept4, 5, 0), 0, GIL_LO, GIL_HI) == CAUSE_IO);
    /* select / poll without descriptors: time.sleep on 3.8-3.10 */
    CHECK(offcpu_classify(sc(SYS_select, 0, 0), 0, GIL_LO, GIL_HI) == CAUSE_SLEEP);
    CHECK(offcpu_classify(sc(SYS_select, 4, 0x7f00), 0, GIL_LO, GIL_HI) == CAUSE_IO);
    CHECK(offcpu_classify(sc(SYS_pselect6, 0, 0), 0, GIL_LO, GIL_HI) == CAUSE_SLEEP);
    CHECK(offcpu_classify(sc(SYS_poll, 0x7f00, 0), 0, GIL_LO, GIL_HI) == CAUSE_SLEEP);
    CHECK(offcpu_classify(sc(SYS_poll, 0x7f00, 1), 0, GIL_LO, GIL_HI) == CAUSE_IO);
    CHECK(offcpu_classify(sc(SYS_wait4, 1234, 0), 0, GIL_LO, GIL_HI) == CAUSE_OTHER);
    /* blocked outside a system call, or in an unknown one */
    CHECK(offcpu_classify("-1 0x7ffd1000 0x7f2a00\n", 0, GIL_LO, GIL_HI) == CAUSE_OTHER);
    CHECK(offcpu_classify("-1 0x7ffd1000 0x7f2a00\n", 'D', GIL_LO, GIL_HI) == CAUSE_IO);
    CHECK(offcpu_classify("", 0, GIL_LO, GIL_HI) == CAUSE_OTHER);
    CHECK(offcpu_classify("garbage", 0, GIL_LO, GIL_HI) == CAUSE_OTHER);
    CHECK(offcpu_classify("202", 0, GIL_LO, GIL_HI) == CAUSE_LOCK);   /* cut short */
    CHECK(!strcmp(offcpu_cause_name(CAUSE_GIL), "gil") && offcpu_cause_name(CAUSE_NONE) == NULL &&
          offcpu_cause_name(NCAUSES) == NULL);
}

static void test_asyncio(void)
{
    const char *d = "/usr/lib/python3.12/asyncio/";
    char f[128];
#define AT(file) (snprintf(f, sizeof f, "%s%s", d, file), f)
    CHECK(offcpu_asyncio_cause(AT("tasks.py"), "sleep") == CAUSE_SLEEP);
    CHECK(offcpu_asyncio_cause(AT("tasks.py"), "__sleep0") == CAUSE_SLEEP);
    CHECK(offcpu_asyncio_cause(AT("tasks.py"), "wait_for") == CAUSE_OTHER);
    CHECK(offcpu_asyncio_cause(AT("locks.py"), "Lock.acquire") == CAUSE_LOCK);
    CHECK(offcpu_asyncio_cause(AT("locks.py"), "wait") == CAUSE_LOCK);
    CHECK(offcpu_asyncio_cause(AT("queues.py"), "Queue.get") == CAUSE_LOCK);
    CHECK(offcpu_asyncio_cause(AT("streams.py"), "StreamReader._wait_for_data") == CAUSE_IO);
    CHECK(offcpu_asyncio_cause(AT("selector_events.py"), "sock_recv") == CAUSE_IO);
    CHECK(offcpu_asyncio_cause(AT("base_events.py"), "BaseEventLoop.sock_connect") == CAUSE_IO);
    CHECK(offcpu_asyncio_cause(AT("base_events.py"), "BaseEventLoop.run_forever") == CAUSE_OTHER);
    CHECK(offcpu_asyncio_cause(AT("subprocess.py"), "Process.communicate") == CAUSE_IO);
    CHECK(offcpu_asyncio_cause("/srv/app/handlers.py", "handle") == CAUSE_NONE);
    CHECK(offcpu_asyncio_cause("/srv/app/not_asyncio/locks.py", "acquire") == CAUSE_NONE);
    CHECK(offcpu_asyncio_cause("/srv/myasyncio/locks.py", "acquire") == CAUSE_NONE);
#undef AT
}

static atomic_int tid_sleep, tid_futex, go;
static uint32_t fake_gil[64];

static void *sleeper(void *arg)
{
    (void)arg;
    atomic_store(&tid_sleep, (int)syscall(SYS_gettid));
    while (!atomic_load(&go)) {
        struct timespec ts = { 0, 20 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    return NULL;
}

static void *futex_waiter(void *arg)
{
    (void)arg;
    atomic_store(&tid_futex, (int)syscall(SYS_gettid));
    struct timespec ts = { 0, 50 * 1000 * 1000 };
    while (!atomic_load(&go)) syscall(SYS_futex, &fake_gil[8], 0 /* FUTEX_WAIT */, 0, &ts, NULL, 0);
    return NULL;
}

static atomic_int tid_spin;

static void *spinner(void *arg)
{
    (void)arg;
    atomic_store(&tid_spin, (int)syscall(SYS_gettid));
    while (!atomic_load(&go)) {
    }
    return NULL;
}

static void test_reader(void)
{
    pthread_t a, b, c;
    CHECK(pthread_create(&a, NULL, sleeper, NULL) == 0);
    CHECK(pthread_create(&b, NULL, futex_waiter, NULL) == 0);
    CHECK(pthread_create(&c, NULL, spinner, NULL) == 0);
    while (!atomic_load(&tid_sleep) || !atomic_load(&tid_futex) || !atomic_load(&tid_spin)) usleep(1000);
    usleep(30000);
    offcpu_reader r = { 0 };
    int fd1 = -1, fd2 = -1, fd3 = -1;
    uint64_t lo = (uint64_t)(uintptr_t)fake_gil, hi = lo + sizeof fake_gil;
    int c1 = -1, c2 = -1;
    for (int i = 0; i < 20 && (c1 != CAUSE_SLEEP || c2 != CAUSE_GIL); i++) {
        c1 = offcpu_read(&r, &fd1, tid_sleep, lo, hi);
        c2 = offcpu_read(&r, &fd2, tid_futex, lo, hi);
        usleep(2000);
    }
    CHECK(c1 == CAUSE_SLEEP);
    CHECK(c2 == CAUSE_GIL);
    CHECK(offcpu_read(&r, &fd2, tid_futex, 0, 0) == CAUSE_LOCK);
    /* a thread on a CPU (or runnable) is "running" */
    CHECK(offcpu_read(&r, &fd3, tid_spin, lo, hi) == CAUSE_NONE);
    CHECK(fd1 >= 0 && fd2 >= 0 && r.nopen == 3 && r.reads >= 4);
    atomic_store(&go, 1);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    pthread_join(c, NULL);
    /* the threads are gone: a read fails and gives its descriptor back */
    CHECK(offcpu_read(&r, &fd1, tid_sleep, lo, hi) == -1 && fd1 == -1);
    CHECK(offcpu_read(&r, &fd1, 0, lo, hi) == -1);
    offcpu_close(&r, &fd2);
    offcpu_close(&r, &fd3);
    CHECK(r.nopen == 0 && fd2 == -1);
}

int main(void)
{
    RUN(test_classify);
    RUN(test_asyncio);
    RUN(test_reader);
    return CHECK_DONE();
}
