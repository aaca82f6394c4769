"""A fixed asyncio workload (~1.5-2 s): 2,000 client tasks that mostly wait
(short sleeps, and requests answered through a queue by 16 server tasks),
with a little pure-Python CPU work per step.  The amount of work is fixed,
so wall time is meaningful.  Run by bench/run.py (slowdown section).

usage: workload_asyncio.py [CLIENTS [STEPS]]"""
import asyncio
import sys

CLIENTS = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
STEPS = int(sys.argv[2]) if len(sys.argv) > 2 else 20
SERVERS = 16


def work(n):
    total = 0
    for i in range(n):
        total += (i * i) & 1023
    return total


async def server(queue):
    while True:
        item = await queue.get()
        if item is None:
            return
        n, fut = item
        fut.set_result(work(n))


async def client(i, queues, more=None):
    """STEPS steps; or, given more(), as long as it says so (bench/paired_program.py)."""
    loop = asyncio.get_running_loop()
    total = 0
    step = 0
    while (step < STEPS) if more is None else more():
        total += work(400 + (i % 7) * 50)
        if step % 2:
            await asyncio.sleep(0.001 * (1 + (i + step) % 5))
        else:
            fut = loop.create_future()
            await queues[(i + step) % SERVERS].put((200, fut))
            total += await fut
        step += 1
    return total


async def main():
    queues = [asyncio.Queue(maxsize=64) for _ in range(SERVERS)]
    servers = [asyncio.create_task(server(q), name="server-%d" % k) for k, q in enumerate(queues)]
    clients = [asyncio.create_task(client(i, queues), name="client-%d" % i) for i in range(CLIENTS)]
    await asyncio.gather(*clients)
    for q in queues:
        await q.put(None)
    await asyncio.gather(*servers)


if __name__ == "__main__":
    asyncio.run(main())
