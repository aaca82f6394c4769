"""One thread whose stack is DEPTH Python frames deep, spinning at its leaf,
sampled by strobe.start(rate=RATE) for SECONDS at each rate given; prints
strobe.stats() per rate as JSON.  Run by bench/run.py (depth section).

usage: depth_program.py DEPTH SECONDS RATE [RATE...]"""
import json
import sys
import time

import strobe

DEPTH, SECONDS = int(sys.argv[1]), float(sys.argv[2])
RATES = [float(r) for r in sys.argv[3:]]
LEAF_DEPTH = 0
sys.setrecursionlimit(max(1000, DEPTH + 100))


def start(rate):
    """strobe.start at exactly RATE: no adaptation to an overhead budget
    (max_overhead=0) where start() has that option."""
    try:
        strobe.start(rate=rate, max_overhead=0)
    except TypeError:
        strobe.start(rate=rate)


def frames():
    n, f = 0, sys._getframe()
    while f is not None:
        n, f = n + 1, f.f_back
    return n


def spin(seconds):
    global LEAF_DEPTH
    LEAF_DEPTH = frames() - 1
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end:
        for i in range(200):
            n += i & 7
    return n


def measure():
    # the stack while spinning: <module>, main, descend x N, measure, spin
    out = {}
    for rate in RATES:
        start(rate)
        spin(SECONDS)
        strobe.stop()
        out["%g" % rate] = strobe.stats()
    return out


def descend(remaining):
    if remaining > 1:
        return descend(remaining - 1)
    return measure()


def main():
    above = frames() - 1            # main and what runs it, without frames() itself
    need = DEPTH - above - 2        # measure() and spin() are the last two
    if need < 1:
        sys.exit("depth %d is too shallow (the program itself is %d frames)" % (DEPTH, above + 3))
    stats = descend(need)
    print(json.dumps({"depth": DEPTH, "leaf_depth": LEAF_DEPTH, "stats": stats}))


if __name__ == "__main__":
    main()
