"""Threads each off CPU for one known reason, named after it (test_offcpu).

    python offcpu_causes.py SECONDS

Blocked threads wake at most once a second (a wake-up waits for the GIL a
moment, which is rightly "gil"); two CPU-bound threads take turns at the GIL.
"""
import os
import queue
import select
import socket
import subprocess
import sys
import threading
import time

SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0
stop = threading.Event()


def sleep_thread():
    while not stop.is_set():
        time.sleep(1.0)


def lock_thread(lock):
    while not stop.is_set():
        lock.acquire(timeout=1.0)


def event_thread(ev):
    while not stop.is_set():
        ev.wait(1.0)


def queue_thread(q):
    while not stop.is_set():
        try:
            q.get(timeout=1.0)
        except queue.Empty:
            pass


def cond_thread(cond):
    with cond:
        while not stop.is_set():
            cond.wait(1.0)


def recv_thread(sock):
    while sock.recv(16) not in (b"", b"q"):
        pass


def pipe_thread(fd):
    while os.read(fd, 16) not in (b"", b"q"):
        pass


def select_thread(sock):
    while not stop.is_set():
        select.select([sock], [], [], 1.0)


def wait_child_thread():
    # waiting for a child process is neither sleep, lock nor io
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(%f)" % (SECONDS + 0.5)])
    child.wait()


def gil_thread():
    n = 0
    while not stop.is_set():
        for i in range(5000):
            n += i
    return n


def main():
    never = threading.Lock()
    never.acquire()
    a, b = socket.socketpair()
    c, d = socket.socketpair()
    rfd, wfd = os.pipe()
    threads = [
        ("sleep-thread", sleep_thread, ()),
        ("lock-thread", lock_thread, (never,)),
        ("event-thread", event_thread, (threading.Event(),)),
        ("queue-thread", queue_thread, (queue.Queue(),)),
        ("cond-thread", cond_thread, (threading.Condition(),)),
        ("recv-thread", recv_thread, (a,)),
        ("pipe-thread", pipe_thread, (rfd,)),
        ("select-thread", select_thread, (c,)),
        ("child-thread", wait_child_thread, ()),
        ("gil-thread-1", gil_thread, ()),
        ("gil-thread-2", gil_thread, ()),
    ]
    ts = [threading.Thread(target=f, args=args, name=name) for name, f, args in threads]
    for t in ts:
        t.start()
    time.sleep(SECONDS)
    stop.set()
    b.send(b"q")
    os.write(wfd, b"q")
    for t in ts:
        t.join()
    print("done")


if __name__ == "__main__":
    main()
