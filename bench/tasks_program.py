"""N pending asyncio tasks, each parked 4 coroutines deep, for SECONDS, under
strobe.start(); prints the sampler's figures as JSON.  Run by bench/tasks.py.

usage: tasks_program.py N SECONDS RATE"""
import asyncio
import json
import sys
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


async def level3(stop):
    await stop


async def level2(stop):
    await level3(stop)


async def level1(stop):
    await level2(stop)


async def parked(stop):
    await level1(stop)


async def main():
    stop = asyncio.get_running_loop().create_future()
    tasks = [asyncio.create_task(parked(stop), name="parked-%d" % i) for i in range(N)]
    await asyncio.sleep(0.2)          # all parked
    start(RATE)
    t0 = time.monotonic()
    await asyncio.sleep(SECONDS)
    strobe.stop()
    st = strobe.stats()
    stop.set_result(None)
    await asyncio.gather(*tasks)
    print(json.dumps({"tasks": N, "seconds": time.monotonic() - t0, "stats": st}))


asyncio.run(main())
