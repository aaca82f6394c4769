"""A busy program with many distinct stacks, for SECONDS (bench/run.py's
memory section runs it with and without `strobe record` and compares peak
memory).  At a fixed pace, whatever the CPU it gets:
  - 20 new functions a second, generated with exec (distinct names; the
    newest 2,000 are kept, older ones are dropped and their code objects die),
  - call chains 1-8 deep through randomly chosen generated functions, so
    nearly every sample is a new stack,
  - 3 long-lived threads and a short-lived thread named job-N every 0.5 s,
  - an asyncio loop in the main thread that starts 50 tasks a second named
    req-N (each renamed once while it runs), ~100 alive at a time.
Prints what it did as JSON at the end.

usage: workload_busy.py SECONDS"""
import asyncio
import json
import random
import sys
import threading
import time

SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 60.0
FUNCS_PER_S, KEEP = 20, 2000
TASKS_PER_S = 50
START = time.monotonic()
END = START + SECONDS

POOL = []
pool_lock = threading.Lock()
counts = {"functions": 0, "chains": 0, "tasks": 0, "threads": 0}

TEMPLATE = '''
def {name}(depth, rnd):
    x = 0
    for i in range({loop}):
        x += i ^ depth
    if depth > 0:
        return POOL[rnd.randrange(len(POOL))](depth - 1, rnd) + x
    return x
'''
NS = {"POOL": POOL}


def generate(upto):
    """Make generated functions until there are UPTO of them in all."""
    while counts["functions"] < upto:
        k = counts["functions"]
        name = "gen_%d_%s" % (k, "abcdefgh"[k % 8] * (1 + k % 5))
        exec(TEMPLATE.format(name=name, loop=20 + k % 40), NS)
        with pool_lock:
            POOL.append(NS.pop(name))
            if len(POOL) > KEEP:
                del POOL[0]
        counts["functions"] += 1


def chain(rnd):
    counts["chains"] += 1
    with pool_lock:
        f = POOL[rnd.randrange(len(POOL))]
    return f(rnd.randrange(8), rnd)


def due(per_second):
    return int((time.monotonic() - START) * per_second)


def worker(seed, until):
    rnd = random.Random(seed)
    while time.monotonic() < until:
        chain(rnd)
        if rnd.random() < 0.01:
            time.sleep(0.001)


def spawner():
    n = 0
    while time.monotonic() < END:
        time.sleep(0.5)
        t = threading.Thread(target=worker, args=(1000 + n, time.monotonic() + 0.3), name="job-%d" % n)
        t.start()
        counts["threads"] += 1
        n += 1
        t.join()


async def request(n, rnd):
    for step in range(4):
        chain(rnd)
        await asyncio.sleep(0.01 + rnd.random() * 0.03)
        if step == 1:
            asyncio.current_task().set_name("req-%d-renamed" % n)


async def main():
    rnd = random.Random(1)
    alive = set()
    started = 0
    while time.monotonic() < END:
        generate(1 + due(FUNCS_PER_S))
        while started < due(TASKS_PER_S):
            t = asyncio.create_task(request(started, random.Random(started)), name="req-%d" % started)
            alive.add(t)
            t.add_done_callback(alive.discard)
            started += 1
        chain(rnd)
        await asyncio.sleep(0.005)
    counts["tasks"] = started
    await asyncio.gather(*list(alive))


generate(50)
threads = [threading.Thread(target=worker, args=(k, END), name="worker-%d" % k) for k in range(3)]
threads.append(threading.Thread(target=spawner, name="spawner"))
for t in threads:
    t.start()
asyncio.run(main())
for t in threads:
    t.join()
counts["seconds"] = round(time.monotonic() - START, 2)
print(json.dumps(counts))
