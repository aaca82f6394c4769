"""A task that makes children again and again, each time after a stretch
of work in its own frame: a stack of the parent read just before it makes
them (its frame alone) and a read of the tasks just after (the children
there) are two instants the profile must not join.

usage: aio_spawn.py SECONDS"""
import asyncio
import sys
import time

SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0


async def spawned_x():
    await asyncio.sleep(0.0005)


async def spawned_y():
    await asyncio.sleep(0.0005)


async def spawn_round():
    await asyncio.gather(spawned_x(), spawned_y())


async def main():
    asyncio.current_task().set_name("spawner")
    deadline = time.monotonic() + SECONDS
    while time.monotonic() < deadline:
        sum(range(3000))          # work in main's own frame (no Python call)
        await spawn_round()


asyncio.run(main())
