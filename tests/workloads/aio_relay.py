"""Many parked tasks (thinned) among a few whose links keep changing.

usage: aio_relay.py SECONDS NPARKED RELAYS PERIOD
  NPARKED tasks parked-N wait in parked_wait.  When relay-I (one of
  RELAYS tasks) asks, a task "spawner" makes it a child child-I-N that waits
  2 * PERIOD in child_wait.  relay-I sleeps PERIOD in relay_sleep, then
  awaits that child in relay_await until it ends, and asks again: each child
  stands under spawner (it made the child; nothing awaits it) for its first
  PERIOD, then under relay-I (which awaits it).  Never under relay_sleep."""
import asyncio
import sys
import time

SECONDS = float(sys.argv[1])
NPARKED = int(sys.argv[2])
RELAYS = int(sys.argv[3])
PERIOD = float(sys.argv[4])


async def parked_wait(stop):
    await stop


async def child_wait():
    await asyncio.sleep(2 * PERIOD)


async def relay_sleep():
    await asyncio.sleep(PERIOD)


async def relay_await(child):
    await child


async def relay(i, asks, inbox, deadline):
    while time.monotonic() < deadline:
        asks.put_nowait(i)
        child = await inbox.get()
        await relay_sleep()
        await relay_await(child)
    asks.put_nowait(None)


async def spawner_loop(asks, inboxes):
    n, left = 0, len(inboxes)
    while left:
        i = await asks.get()
        if i is None:
            left -= 1
            continue
        inboxes[i].put_nowait(asyncio.create_task(child_wait(), name="child-%d-%d" % (i, n)))
        n += 1


async def main():
    stop = asyncio.get_running_loop().create_future()
    parked = [asyncio.create_task(parked_wait(stop), name="parked-%d" % i) for i in range(NPARKED)]
    deadline = time.monotonic() + SECONDS
    asks = asyncio.Queue()
    inboxes = [asyncio.Queue() for _ in range(RELAYS)]
    spawner = asyncio.create_task(spawner_loop(asks, inboxes), name="spawner")
    relays = [asyncio.create_task(relay(i, asks, q, deadline), name="relay-%d" % i) for i, q in enumerate(inboxes)]
    await asyncio.gather(*relays)
    await spawner
    stop.set_result(None)
    await asyncio.gather(*parked)


asyncio.run(main())
