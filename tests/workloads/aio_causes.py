"""asyncio tasks each suspended for one known reason, named after it
(test_offcpu).

    python aio_causes.py SECONDS
"""
import asyncio
import socket
import sys

SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0


async def sleeper():
    await asyncio.sleep(3600)


async def locker(lock):
    await lock.acquire()


async def eventer(ev):
    await ev.wait()


async def queuer(q):
    await q.get()


async def semaphorer(sem):
    await sem.acquire()


async def streamer(sock):
    reader, writer = await asyncio.open_connection(sock=sock)
    await reader.read(100)


async def sock_receiver(sock):
    loop = asyncio.get_running_loop()
    await loop.sock_recv(sock, 100)


async def futurer(fut):
    await fut


async def main():
    loop = asyncio.get_running_loop()
    lock = asyncio.Lock()
    await lock.acquire()
    sem = asyncio.Semaphore(0)
    a, b = socket.socketpair()
    c, d = socket.socketpair()
    c.setblocking(False)
    fut = loop.create_future()
    tasks = [
        asyncio.ensure_future(sleeper()),
        asyncio.ensure_future(locker(lock)),
        asyncio.ensure_future(eventer(asyncio.Event())),
        asyncio.ensure_future(queuer(asyncio.Queue())),
        asyncio.ensure_future(semaphorer(sem)),
        asyncio.ensure_future(streamer(a)),
        asyncio.ensure_future(sock_receiver(c)),
        asyncio.ensure_future(futurer(fut)),
    ]
    names = ["sleeper", "locker", "eventer", "queuer", "semaphorer", "streamer", "sock-receiver",
             "futurer"]
    for t, name in zip(tasks, names):
        if hasattr(t, "set_name"):
            t.set_name(name)
    await asyncio.sleep(SECONDS)
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for s in (a, b, c, d):
        s.close()
    print("done")


asyncio.run(main()) if hasattr(asyncio, "run") else asyncio.get_event_loop().run_until_complete(main())
