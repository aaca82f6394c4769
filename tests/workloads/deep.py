"""deep.py — recursion DEPTH deep, then spin at the bottom.

    deep.py DEPTH SECS TRUTH_JSON

At the bottom it counts its stack (walking f_back from bottom()'s frame to
the outermost frame) and writes {"depth": total frames} to
TRUTH_JSON, so the tests know exactly how many frames a sample there has.
"""
import json
import sys
import time


def write_truth(truth, frame):
    depth = 0
    while frame is not None:
        depth += 1
        frame = frame.f_back
    with open(truth, "w") as fh:
        json.dump({"depth": depth}, fh)


def bottom(secs, truth):
    write_truth(truth, sys._getframe())  # MARK: BOTTOM
    end = time.perf_counter() + secs
    n = 0
    while time.perf_counter() < end:  # MARK: BOTTOM
        n += 1  # MARK: BOTTOM
    return n  # MARK: BOTTOM (a sample may land on the return)


def recurse(n, secs, truth):
    if n == 0:
        return bottom(secs, truth)  # MARK: RECURSE
    return recurse(n - 1, secs, truth)  # MARK: RECURSE


def main():
    depth, secs, truth = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
    sys.setrecursionlimit(depth + 1000)
    recurse(depth, secs, truth)


if __name__ == "__main__":
    main()
