"""Torture case: the interpreter shuts down while the sampler runs and the
program is in the middle of heavy activity.

    python shutdown.py VARIANT

Variants (and the exit status each must end with):
  daemon-threads    daemon threads spinning, sleeping, blocked on a lock and
                    allocating when main calls sys.exit(3)                 -> 3
  asyncio-pending   a loop left (not closed) with 2,000 pending tasks, some
                    busy, when main calls sys.exit(4)                      -> 4
  asyncio-run-exit  SystemExit(5) raised inside asyncio.run() while 500 tasks
                    are pending (asyncio.run cancels them on the way out)  -> 5
  main-exits        main calls sys.exit(6) at once while non-daemon threads
                    still spin for 1.5 s (Python waits for them at exit);
                    one worker leaves through sys.exit() of its own        -> 6
  exception         an uncaught exception in main while daemon threads run -> 1
  os-exit           os._exit(7) from main while threads spin: no atexit,
                    no profile                                             -> 7
  os-exit-thread    os._exit(8) from a non-main thread while main and
                    other threads spin: no profile                         -> 8
Every variant prints 'ready' on stdout first, flushed."""
import asyncio
import os
import sys
import threading
import time


def crunch(n):
    s = 0
    for k in range(n):
        s = (s * 31 + k) % 1000003
    return s


def spinner():
    while True:
        crunch(5000)


def sleeper():
    while True:
        time.sleep(0.001)


def blocked(lock):
    lock.acquire()      # held by main forever: blocks until exit


def allocator():
    while True:
        junk = [dict(a=i, b=[i] * 8) for i in range(2000)]
        del junk


def start_daemons():
    lock = threading.Lock()
    lock.acquire()
    ts = [threading.Thread(target=spinner, name="d-spin1", daemon=True),
          threading.Thread(target=spinner, name="d-spin2", daemon=True),
          threading.Thread(target=sleeper, name="d-sleep", daemon=True),
          threading.Thread(target=blocked, args=(lock,), name="d-blocked", daemon=True),
          threading.Thread(target=allocator, name="d-alloc", daemon=True)]
    for t in ts:
        t.start()
    return ts, lock


def ready():
    sys.stdout.write("ready\n")
    sys.stdout.flush()


def daemon_threads():
    keep = start_daemons()
    ready()
    time.sleep(1.0)
    sys.exit(3)


async def forever_busy(i):
    while True:
        crunch(300)
        await asyncio.sleep(0)


async def forever_sleeping(i):
    while True:
        await asyncio.sleep(0.01 + (i % 7) * 0.001)


def asyncio_pending():
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    tasks = [loop.create_task(forever_busy(i)) for i in range(20)]
    tasks += [loop.create_task(forever_sleeping(i)) for i in range(1980)]
    ready()
    loop.run_until_complete(asyncio.sleep(1.5))
    sys.exit(4)     # the loop is neither stopped nor closed; its tasks pend


def asyncio_run_exit():
    async def main():
        tasks = [asyncio.ensure_future(forever_busy(i)) for i in range(10)]
        tasks += [asyncio.ensure_future(forever_sleeping(i)) for i in range(490)]
        ready()
        await asyncio.sleep(1.5)
        raise SystemExit(5)
    asyncio.run(main())


def main_exits():
    def worker(secs):
        end = time.monotonic() + secs
        while time.monotonic() < end:
            crunch(5000)

    def quitter():
        crunch(100000)
        sys.exit()      # ends this thread only

    ts = [threading.Thread(target=worker, args=(1.5,), name="w-spin%d" % i) for i in range(3)]
    ts.append(threading.Thread(target=quitter, name="w-quitter"))
    for t in ts:
        t.start()
    ready()
    sys.exit(6)


def exception():
    keep = start_daemons()
    ready()
    time.sleep(1.0)
    raise RuntimeError("torture: uncaught on purpose")


def os_exit():
    keep = start_daemons()
    ready()
    time.sleep(1.0)
    os._exit(7)


def os_exit_thread():
    keep = start_daemons()

    def killer():
        time.sleep(1.0)
        os._exit(8)
    threading.Thread(target=killer, name="killer").start()
    ready()
    spinner()


VARIANTS = {
    "daemon-threads": daemon_threads,
    "asyncio-pending": asyncio_pending,
    "asyncio-run-exit": asyncio_run_exit,
    "main-exits": main_exits,
    "exception": exception,
    "os-exit": os_exit,
    "os-exit-thread": os_exit_thread,
}

if __name__ == "__main__":
    VARIANTS[sys.argv[1]]()
