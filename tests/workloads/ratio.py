"""ratio.py — ground truth: heavy() runs three times as long as light().

    ratio.py [CYCLES] [UNIT_SECS]

Each cycle spins in heavy() for 3*UNIT then in light() for UNIT seconds of
wall time (defaults: 5 cycles of 0.1 s units: 2 s).  The chunks are long
compared with the sampling period, so the number of samples each function
receives is set by the clock and not by chance: only the chunk boundaries
(±1 sample each) blur it.  Both functions run the same loop; neither calls
the other or any Python function.
"""
import sys
import time


def heavy(secs):
    end = time.perf_counter() + secs
    n = 0
    while time.perf_counter() < end:
        n += 1
    return n


def light(secs):
    end = time.perf_counter() + secs
    n = 0
    while time.perf_counter() < end:
        n += 1
    return n


def main():
    cycles = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    unit = float(sys.argv[2]) if len(sys.argv) > 2 else 0.1
    for _ in range(cycles):
        heavy(3 * unit)
        light(unit)


if __name__ == "__main__":
    main()
