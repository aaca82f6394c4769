"""Many tasks switching fast, and many short-lived ones.

usage: aio_many.py SECONDS NTASKS [churn]
  phase 1 (SECONDS): NTASKS tasks, each sleeping ~100 us between small steps;
  phase 2 (SECONDS): short-lived tasks created in a loop, named
  short-alpha-N (running func_alpha) and short-beta-N (running func_beta), so
  that task and coroutine addresses are reused all the time.
  With "churn": phase 2 only, for SECONDS, while NTASKS tasks named
  parked-N wait in parked_wait (many parked tasks are thinned: most passes
  take them from earlier reads)."""
import asyncio
import sys
import time

SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
NTASKS = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
CHURN = len(sys.argv) > 3 and sys.argv[3] == "churn"


def step_work():
    return sum(range(50))


async def switcher(deadline):
    while time.monotonic() < deadline:
        step_work()
        await asyncio.sleep(0.0001)


def spin_alpha():
    return sum(range(2000))


def spin_beta():
    return sum(range(2000))


async def func_alpha():
    spin_alpha()
    await asyncio.sleep(0)
    spin_alpha()


async def func_beta():
    spin_beta()
    await asyncio.sleep(0)
    spin_beta()


async def parked_wait(stop):
    await stop


async def main():
    stop = asyncio.get_running_loop().create_future()
    if CHURN:
        parked = [asyncio.create_task(parked_wait(stop), name="parked-%d" % i) for i in range(NTASKS)]
    else:
        deadline = time.monotonic() + SECONDS
        await asyncio.gather(*[asyncio.create_task(switcher(deadline), name="switch-%d" % i)
                               for i in range(NTASKS)])
    deadline = time.monotonic() + SECONDS
    n = 0
    while time.monotonic() < deadline:
        batch = []
        for _ in range(20):
            n += 1
            batch.append(asyncio.create_task(func_alpha(), name="short-alpha-%d" % n))
            batch.append(asyncio.create_task(func_beta(), name="short-beta-%d" % n))
        await asyncio.gather(*batch)
    stop.set_result(None)
    if CHURN:
        await asyncio.gather(*parked)


asyncio.run(main())
