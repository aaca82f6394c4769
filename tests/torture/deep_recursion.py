"""Torture case: a function recursing DEPTH deep (default 10,000) that spins
at the bottom for SECS seconds (default 2).

    python deep_recursion.py [DEPTH] [SECS]

Prints one JSON line: the frame count at the bottom (every Python frame of
the main thread, <module> included, counted through f_back) and how many
spin iterations were made.  The runner expects the profile's stacks at the
bottom to end at the root side in one '<N frames omitted>' element with
N = frames - max_depth (512 by default)."""
import json
import sys
import time

DEPTH = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
SECS = float(sys.argv[2]) if len(sys.argv) > 2 else 2.0

sys.setrecursionlimit(DEPTH + 1000)


def spin_at_bottom(secs):
    frames = 0
    f = sys._getframe()
    while f is not None:
        frames += 1
        f = f.f_back
    end = time.monotonic() + secs
    n = 0
    while time.monotonic() < end:
        for _ in range(1000):
            n += 1
    return frames, n


def recurse(level, secs):
    if level >= DEPTH:
        return spin_at_bottom(secs)
    r = recurse(level + 1, secs)
    return r


def main():
    frames, spins = recurse(1, SECS)
    print(json.dumps({"depth": DEPTH, "frames_at_bottom": frames, "spins": spins}))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
