"""Many parked asyncio tasks (an expensive sample) and a CPU-bound loop, for
SECONDS (test_budget).

    python budget_tasks.py SECONDS NTASKS
"""
import asyncio
import sys
import time

SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0
NTASKS = int(sys.argv[2]) if len(sys.argv) > 2 else 3000


async def parked(ev):
    await ev.wait()


async def main():
    ev = asyncio.Event()
    tasks = [asyncio.ensure_future(parked(ev)) for _ in range(NTASKS)]
    end = time.monotonic() + SECONDS
    n = 0
    while time.monotonic() < end:
        for i in range(20000):
            n += i
        await asyncio.sleep(0)
    ev.set()
    await asyncio.gather(*tasks)
    print("done")


asyncio.run(main()) if hasattr(asyncio, "run") else asyncio.get_event_loop().run_until_complete(main())
