"""N blocked threads (half asleep in time.sleep, half waiting on a lock) and
one CPU-bound thread, under strobe.start() for SECONDS; prints the sampler's
figures as JSON.  Run by bench/offcpu.py.

usage: offcpu_program.py N SECONDS RATE"""
import json
import sys
import threading
import time

import strobe

N, SECONDS, RATE = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])


def start(rate):
    """strobe.start at exactly RATE: no adaptation to an overhead budget
    (max_overhead=0) where start() has that option."""
    try:
        strobe.start(rate=rate, max_overhead=0)
    except TypeError:
        strobe.start(rate=rate)


stop = threading.Event()
never = threading.Lock()
never.acquire()


def sleeper():
    while not stop.is_set():
        time.sleep(0.5)


def waiter():
    while not stop.is_set():
        never.acquire(timeout=0.5)


def spin():
    n = 0
    while not stop.is_set():
        n += 1


threads = [threading.Thread(target=sleeper if i % 2 else waiter) for i in range(N)]
threads.append(threading.Thread(target=spin))
for t in threads:
    t.start()
time.sleep(0.2)
start(RATE)
t0 = time.monotonic()
time.sleep(SECONDS)
strobe.stop()
st = strobe.stats()
stop.set()
for t in threads:
    t.join()
print(json.dumps({"threads": N, "seconds": time.monotonic() - t0, "stats": st}))
