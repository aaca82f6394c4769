"""Threads each inside one builtin called from Python, named after it
(test_offcpu's builtin leaf frames).

    python ccalls.py SECONDS
"""
import functools
import hashlib
import json
import select
import socket
import sys
import threading
import time

SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0
stop = threading.Event()
never = threading.Lock()
never.acquire()
a, b = socket.socketpair()
nap = time.sleep   # called through another name: still time.sleep


def t_sleep():
    while not stop.is_set():
        time.sleep(0.5)


def t_alias():
    while not stop.is_set():
        nap(0.5)


def t_partial():
    while not stop.is_set():
        functools.partial(time.sleep, 0.5)()


def t_acquire():
    while not stop.is_set():
        never.acquire(True, 0.5)


def t_with():
    lock = threading.Lock()
    holder_ready = threading.Event()

    def holder():
        with lock:
            holder_ready.set()
            stop.wait()
    threading.Thread(target=holder, name="holder", daemon=True).start()
    holder_ready.wait()
    with lock:
        pass


def t_recv():
    while a.recv(16) != b"q":
        pass


def t_poll():
    ep = select.epoll()
    ep.register(a.fileno() if False else b.fileno(), select.EPOLLIN)
    while not stop.is_set():
        ep.poll(0.5)


def t_sha():
    data = b"x" * (8 << 20)
    while not stop.is_set():
        hashlib.sha256(data).digest()


def t_sorted():
    data = [(i * 7919) % 100003 for i in range(300000)]
    while not stop.is_set():
        sorted(data)


def t_json():
    doc = {"k%d" % i: [i, str(i), {"x": i}] for i in range(50000)}
    while not stop.is_set():
        json.dumps(doc)


def main():
    fns = [t_sleep, t_alias, t_partial, t_acquire, t_with, t_recv, t_poll, t_sha, t_sorted, t_json]
    ts = [threading.Thread(target=f, name=f.__name__[2:]) for f in fns]
    for t in ts:
        t.start()
    time.sleep(SECONDS)
    stop.set()
    b.send(b"q")
    for t in ts:
        t.join()
    print("done")


if __name__ == "__main__":
    main()
