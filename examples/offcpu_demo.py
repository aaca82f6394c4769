"""offcpu_demo.py — threads that are off CPU for different reasons.

    strobe record -o offcpu.pprof -- python3 examples/offcpu_demo.py [SECONDS]
    strobe report offcpu.pprof

Each thread is named after what it does, and spends its time in one way:

    sleeper        time.sleep
    lock-waiter    threading.Lock.acquire on a lock nobody releases
    event-waiter   threading.Event.wait
    queue-waiter   queue.Queue.get on an empty queue
    socket-reader  socket.recv on a socket that gets a byte now and then
    spinner        a pure-Python busy-wait on a flag
    cruncher-1/2   two CPU-bound threads computing

The three CPU-bound threads take turns at the GIL: each waits for it most
of the time it is off CPU.  The blocked threads wake once a second or so,
and then wait for the GIL briefly too.

The main thread waits for them all (a lock wait, in Thread.join).  A profile
of this program shows each thread's wall, CPU and off-CPU time, and the
off-CPU time by cause: sleep, lock, io, gil, other.
"""

import queue
import socket
import sys
import threading
import time


def sleeper(stop):
    while not stop.is_set():
        time.sleep(0.5)


def lock_waiter(stop, lock):
    while not stop.is_set():
        lock.acquire(timeout=1.0)


def event_waiter(stop, event):
    while not stop.is_set():
        event.wait(1.0)


def queue_waiter(stop, q):
    while not stop.is_set():
        try:
            q.get(timeout=1.0)
        except queue.Empty:
            pass


def socket_reader(stop, sock):
    sock.settimeout(None)
    while True:
        data = sock.recv(16)
        if not data or stop.is_set():
            return


def socket_writer(stop, sock):
    # One byte every 500 ms keeps the reader mostly waiting in recv.
    while not stop.wait(0.5):
        sock.send(b"x")
    sock.send(b"x")


def spinner(stop):
    # busy-waits for the stop flag: CPU-bound, so it queues for the GIL
    # behind the crunchers
    n = 0
    while not stop.is_set():
        n += 1
    return n


def cruncher(stop):
    n = 0
    while not stop.is_set():
        for i in range(10000):
            n += i * i
    return n


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 5.0
    stop = threading.Event()
    never = threading.Lock()
    never.acquire()
    a, b = socket.socketpair()
    threads = [
        threading.Thread(target=sleeper, args=(stop,), name="sleeper"),
        threading.Thread(target=lock_waiter, args=(stop, never), name="lock-waiter"),
        threading.Thread(target=event_waiter, args=(stop, threading.Event()), name="event-waiter"),
        threading.Thread(target=queue_waiter, args=(stop, queue.Queue()), name="queue-waiter"),
        threading.Thread(target=socket_reader, args=(stop, a), name="socket-reader"),
        threading.Thread(target=socket_writer, args=(stop, b), name="socket-writer"),
        threading.Thread(target=spinner, args=(stop,), name="spinner"),
        threading.Thread(target=cruncher, args=(stop,), name="cruncher-1"),
        threading.Thread(target=cruncher, args=(stop,), name="cruncher-2"),
    ]
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    a.close()
    b.close()
    print("offcpu_demo: %d threads ran for %.1f s" % (len(threads), seconds))


if __name__ == "__main__":
    main()
