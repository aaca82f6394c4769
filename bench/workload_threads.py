"""A fixed threaded workload (~1.5-2 s): 8 threads, each doing a fixed number
of steps of pure-Python CPU work, some of it under one of two shared locks
(lock waits), with a short sleep every few steps.  Run by bench/run.py
(slowdown section).

usage: workload_threads.py [THREADS [STEPS]]"""
import sys
import threading
import time

THREADS = int(sys.argv[1]) if len(sys.argv) > 1 else 8
STEPS = int(sys.argv[2]) if len(sys.argv) > 2 else 600
locks = [threading.Lock(), threading.Lock()]


def work(n):
    d = {}
    total = 0
    for i in range(n):
        d[i & 127] = i
        total += d.get((i * 5) & 127, 0)
    return total


def worker(k):
    total = 0
    for step in range(STEPS):
        total += work(3000)
        with locks[(k + step) % 2]:
            total += work(1000)
        if step % 4 == 0:
            time.sleep(0.002)
    return total


if __name__ == "__main__":
    threads = [threading.Thread(target=worker, args=(k,), name="worker-%d" % k) for k in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
