"""bench/tasks.py — what one sampling pass costs with many asyncio tasks.

    python3 bench/tasks.py [--build DIR] [--python PY] [--tasks N ...] [--rate HZ] [--seconds S]

For each task count (default 10, 1,000 and 10,000) runs bench/tasks_program.py:
N tasks parked 4 coroutines deep under strobe.start(rate=HZ) for S seconds,
and prints the sampler's own figures from strobe.stats(): the rate achieved,
the mean time of one pass (a sample of every thread and task), the sampling
thread's CPU per pass, the cost per task stack, the page reads per pass, and
the largest stride used (every k-th task per pass, weighted k, when stacks
for all would take more than half the interval).  Needs `make` first.
Also a section of bench/run.py (`make bench`).
"""
import argparse

from _common import newest_python, run_program

COUNTS = [10, 1000, 10000]
HEADER = "%8s %10s %10s %12s %12s %12s %8s" % ("tasks", "rate Hz", "pass us", "cpu us/pass",
                                               "us/task", "pages/pass", "stride")


def row(n, st):
    t = max(st["ticks"], 1)
    per_pass = st["pass_ns"] / t / 1e3
    return "%8d %10.1f %10.1f %12.1f %12.3f %12.0f %8d" % (
        n, st["rate"], per_pass, st["sampler_cpu_ns"] / t / 1e3, per_pass / max(n, 1),
        (st["page_misses"] + st.get("page_prefetched", 0) + st.get("page_filled", 0) + st.get("page_refreshed", 0)) / t, st["task_stride"])


def measure(python, n, seconds, rate, build="build"):
    """strobe.stats() of tasks_program.py with N tasks."""
    return run_program(python, "tasks_program.py", n, seconds, rate, build=build)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--python", default=newest_python())
    ap.add_argument("--tasks", type=int, action="append")
    ap.add_argument("--rate", type=float, default=100.0)
    ap.add_argument("--seconds", type=float, default=5.0)
    a = ap.parse_args()
    print("python: %s   rate asked: %.0f Hz   %.0f s per run" % (a.python, a.rate, a.seconds))
    print(HEADER)
    for n in a.tasks or COUNTS:
        print(row(n, measure(a.python, n, a.seconds, a.rate, a.build)))


if __name__ == "__main__":
    main()
