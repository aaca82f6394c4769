"""Two tasks taking turns on the CPU: each runs a CPU-heavy function of its
own, then yields with asyncio.sleep(0).  A stack mixing the two (one task's
marker over the other's function) would be a sampler bug.

usage: aio_mix.py SECONDS"""
import asyncio
import sys
import time

SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 1.5


def crunch_alpha(n):
    x = 0
    for i in range(n):
        x += i * 3
    return x


def crunch_beta(n):
    y = 0
    for i in range(n):
        y ^= i
    return y


async def alpha(deadline):
    while time.monotonic() < deadline:
        crunch_alpha(20000)
        await asyncio.sleep(0)


async def beta(deadline):
    while time.monotonic() < deadline:
        crunch_beta(20000)
        await asyncio.sleep(0)


async def main():
    deadline = time.monotonic() + SECONDS
    await asyncio.gather(asyncio.create_task(alpha(deadline), name="alpha"),
                         asyncio.create_task(beta(deadline), name="beta"))


asyncio.run(main())
