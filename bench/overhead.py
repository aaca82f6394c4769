"""bench/overhead.py — what profiling costs a program, as ratios in one run.

    python3 bench/overhead.py [--python PY] [--rate HZ ...] [--runs N]

Runs a pure-Python CPU-bound workload (bench/workload_cpu.py) N times
without strobe and N times under `strobe record -r HZ`, interleaved (paired
runs on a noisy machine), and prints the median wall-time ratio and the
median whole-process CPU-time ratio (the sampler runs on another core, so
wall time alone hides its cost).  Needs `make` first.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

from _common import newest_python

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STROBE = os.path.join(ROOT, "build", "bin", "strobe")
WORKLOAD = os.path.join(ROOT, "bench", "workload_cpu.py")


def run(cmd):
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, ru = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if status != 0:
        sys.exit("benchmark run failed: %s" % " ".join(cmd))
    return wall, ru.ru_utime + ru.ru_stime


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--python", default=newest_python())
    ap.add_argument("--rate", type=float, action="append")
    ap.add_argument("--runs", type=int, default=7)
    a = ap.parse_args()
    rates = a.rate or [100.0, 1000.0]
    out = tempfile.mkdtemp(prefix="strobe-bench-")
    print("python: %s   workload: %s   runs: %d (paired)" % (a.python, os.path.basename(WORKLOAD), a.runs))
    print("%-8s %12s %12s %14s %14s" % ("rate", "wall base s", "wall ratio", "cpu base s", "cpu ratio"))
    for rate in rates:
        wr, cr, wb, cb = [], [], [], []
        for i in range(a.runs):
            w0, c0 = run([a.python, WORKLOAD])
            w1, c1 = run([STROBE, "record", "-r", str(rate), "-o", os.path.join(out, "p.pprof"), "--",
                          a.python, WORKLOAD])
            wr.append(w1 / w0); cr.append(c1 / c0); wb.append(w0); cb.append(c0)
        print("%-8s %12.3f %12.3f %14.3f %14.3f" % ("%g Hz" % rate, statistics.median(wb),
              statistics.median(wr), statistics.median(cb), statistics.median(cr)))


if __name__ == "__main__":
    main()
