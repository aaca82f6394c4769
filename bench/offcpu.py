"""bench/offcpu.py — what asking the kernel why threads are off CPU costs.

    python3 bench/offcpu.py [--build DIR] [--python PY] [--threads N ...] [--rate HZ] [--seconds S]

For each thread count (default 10, 60 and 200) runs bench/offcpu_program.py:
N blocked threads (sleeping, waiting on a lock) and one CPU-bound thread
under strobe.start(rate=HZ) for S seconds.  Prints, from strobe.stats():
the kernel reads per pass (one per thread off CPU), the mean time of one read
of /proc/self/task/TID/syscall, the kernel time per pass and its share of the
whole pass; the builtin leaf frames per pass (time.sleep, lock.acquire) and
the share kept from the previous pass without reading (the thread used no
CPU since).  Above 64 threads the files are opened per read (the profiler
keeps at most 64 open), which the per-read time shows.  Needs `make` first.
Also a section of bench/run.py (`make bench`).
"""
import argparse

from _common import newest_python, run_program

COUNTS = [10, 60, 200]
HEADER = "%8s %10s %12s %12s %14s %12s %10s %14s %10s" % (
    "threads", "rate Hz", "reads/pass", "us/read", "kernel us/pass", "pass us", "kernel %",
    "builtins/pass", "kept %")


def row(n, st):
    t = max(st["ticks"], 1)
    reads = max(st["kernel_reads"], 1)
    return "%8d %10.1f %12.1f %12.2f %14.1f %12.1f %10.1f %14.1f %10.1f" % (
        n, st["rate"], st["kernel_reads"] / t, st["kernel_read_ns"] / reads / 1e3,
        st["kernel_read_ns"] / t / 1e3, st["pass_ns"] / t / 1e3,
        100.0 * st["kernel_read_ns"] / max(st["pass_ns"], 1), st["builtin_frames"] / t,
        100.0 * st["builtin_kept"] / max(st["builtin_frames"], 1))


def measure(python, n, seconds, rate, build="build"):
    """strobe.stats() of offcpu_program.py with N blocked threads."""
    return run_program(python, "offcpu_program.py", n, seconds, rate, build=build)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--python", default=newest_python())
    ap.add_argument("--threads", type=int, action="append")
    ap.add_argument("--rate", type=float, default=100.0)
    ap.add_argument("--seconds", type=float, default=3.0)
    a = ap.parse_args()
    print("python: %s   rate asked: %.0f Hz   %.0f s per run" % (a.python, a.rate, a.seconds))
    print(HEADER)
    for n in a.threads or COUNTS:
        print(row(n, measure(a.python, n, a.seconds, a.rate, a.build)))


if __name__ == "__main__":
    main()
