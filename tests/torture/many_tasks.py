"""Torture case: many pending asyncio tasks.

    python many_tasks.py [N] [BUSY_SECS]          (default 50,000 tasks, 3 s)

Creates N tasks parked on one asyncio.Event, keeps the loop busy for
BUSY_SECS (a coroutine that computes and yields with sleep(0)), then sets the
event, gathers every task and checks their results.  Exits 0 when all N
returned what they should, and prints one JSON line."""
import asyncio
import json
import sys
import time

N = int(sys.argv[1]) if len(sys.argv) > 1 else 50000
BUSY = float(sys.argv[2]) if len(sys.argv) > 2 else 3.0


async def parked(event, i):
    await event.wait()
    return i


async def keep_busy(secs):
    end = time.monotonic() + secs
    rounds = 0
    while time.monotonic() < end:
        s = 0
        for k in range(2000):
            s += k * k
        rounds += 1
        await asyncio.sleep(0)
    return rounds


async def main():
    event = asyncio.Event()
    t0 = time.monotonic()
    tasks = [asyncio.ensure_future(parked(event, i)) for i in range(N)]
    await asyncio.sleep(0)          # every task runs up to event.wait()
    created = time.monotonic() - t0
    pending = sum(1 for t in tasks if not t.done())
    rounds = await keep_busy(BUSY)
    event.set()
    results = await asyncio.gather(*tasks)
    ok = len(results) == N and sum(results) == N * (N - 1) // 2
    print(json.dumps({"tasks": N, "pending_while_busy": pending, "busy_rounds": rounds,
                      "create_secs": round(created, 2), "ok": ok}))
    sys.stdout.flush()
    return ok


if __name__ == "__main__":
    sys.exit(0 if asyncio.run(main()) else 1)
