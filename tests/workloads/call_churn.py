"""Calls and returns many times a millisecond, at every depth from 1 to 80
(so that the innermost frames sit on both sides of a page boundary of the
thread's frame memory at some depth).  The call graph is fixed:

    <module> -> level -> level ... -> leaf_a, mid -> leaf_b, Box.__init__ -> leaf_a

A stack with any other edge among these (leaf_a with a callee, mid calling
leaf_a, ...) mixes two instants: a frame that returned, seen where its
successor now is.

usage: call_churn.py SECONDS"""
import sys
import time


def leaf_a(x):
    return x + 1


def leaf_b(x):
    return x * 2


def mid(x):
    return leaf_b(x) + leaf_b(x)


class Box:
    def __init__(self, x):   # (3.12+ run it under a frame of their own that calls it)
        for _ in range(20):
            x = leaf_a(x)
        self.x = x


def level(d):
    if d:
        return level(d - 1)
    x = 0
    for i in range(300):
        x = leaf_a(x)
        x = mid(x) & 0xffff
        if i % 10 == 0:
            x = Box(x).x
    return x


end = time.monotonic() + float(sys.argv[1])
while time.monotonic() < end:
    for d in range(80):
        level(d)
