"""Torture case: a busy program to be killed by a signal mid-run.

    python busy.py READY_FILE [MAX_SECS]

Threads (two spinning on the CPU, one sleeping in short naps, one waiting on
a Condition) and an asyncio loop in the main thread with 300 tasks (some
computing, most sleeping, some waiting on a Queue fed by a producer).  Once
everything runs it creates READY_FILE.  It does not handle SIGTERM itself.
If nobody kills it, it exits 0 after MAX_SECS (default 120) so nothing can
be left behind forever."""
import asyncio
import os
import sys
import threading
import time

READY = sys.argv[1]
MAX_SECS = float(sys.argv[2]) if len(sys.argv) > 2 else 120.0
deadline = time.monotonic() + MAX_SECS


def crunch(n):
    s = 0
    for k in range(n):
        s = (s * 31 + k) % 1000003
    return s


def spinner():
    while time.monotonic() < deadline:
        crunch(5000)


def napper():
    while time.monotonic() < deadline:
        time.sleep(0.002)


def waiter(cond):
    with cond:
        while time.monotonic() < deadline:
            cond.wait(0.5)


async def computing(i):
    while True:
        crunch(500)
        await asyncio.sleep(0)


async def sleeping(i):
    while True:
        await asyncio.sleep(0.005 * (1 + i % 10))


async def consumer(q):
    while True:
        item = await q.get()
        crunch(200 + item % 100)


async def producer(q):
    n = 0
    while True:
        for _ in range(20):
            q.put_nowait(n)
            n += 1
        await asyncio.sleep(0.01)


async def main():
    q = asyncio.Queue()
    tasks = [asyncio.ensure_future(computing(i)) for i in range(10)]
    tasks += [asyncio.ensure_future(sleeping(i)) for i in range(250)]
    tasks += [asyncio.ensure_future(consumer(q)) for i in range(39)]
    tasks.append(asyncio.ensure_future(producer(q)))
    await asyncio.sleep(0.2)
    with open(READY + ".tmp", "w") as f:
        f.write(str(os.getpid()))
    os.rename(READY + ".tmp", READY)
    while time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    for t in tasks:
        t.cancel()


if __name__ == "__main__":
    cond = threading.Condition()
    for target, name, args in ((spinner, "spin-a", ()), (spinner, "spin-b", ()), (napper, "napper", ()),
                               (waiter, "cond-waiter", (cond,))):
        threading.Thread(target=target, name=name, args=args, daemon=True).start()
    asyncio.run(main())
