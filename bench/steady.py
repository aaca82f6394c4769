"""bench/steady.py — what a sampling pass costs once a program is in its
steady state (start-up excluded), under strobe's overhead budget.

    python3 bench/steady.py [--build DIR] [--python PY] [--rate HZ]
        [--max-overhead PCT] [--from S] [--to S] [--runs N] [-- WORKLOAD ARGS...]

Runs WORKLOAD (default: bench/workload_asyncio.py 2000 80, 2,000 tasks for
~6 s) under strobe.start(rate=HZ, max_overhead=PCT) (defaults 100 and 1, as
`strobe record`), takes strobe.stats() at --from and --to seconds (default
2 and 5), and prints per run, from the differences: the rate the budget
kept, the mean pass (wall), the sampling thread's CPU per pass (waking up
included), memory-read system calls and pages copied per pass, the largest
task stride, and the sampler's CPU as a share of the program's.  Needs
`make` first.
"""
import argparse
import os

from _common import BENCH, median, newest_python, run_program_json


def figures(r):
    a, b = r["snaps"][0], r["snaps"][1]
    sa, sb = a["stats"], b["stats"]
    d = lambda k: sb.get(k, 0) - sa.get(k, 0)
    ticks = max(d("ticks"), 1)
    cpu = d("sampler_cpu_ns") / 1e9
    prog = (b["cpu"] - a["cpu"]) - cpu
    return {
        "rate": ticks / (b["t"] - a["t"]),
        "pass": d("pass_ns") / ticks / 1e3,
        "cpu": d("sampler_cpu_ns") / ticks / 1e3,
        "reads": d("reads") / ticks,
        "pages": (d("page_misses") + d("page_prefetched") + d("page_filled") + d("page_refreshed")) / ticks,
        "stride": sb["task_stride"],
        "share": 100 * cpu / prog if prog > 0 else 0.0,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--python", default=newest_python())
    ap.add_argument("--rate", type=float, default=100)
    ap.add_argument("--max-overhead", type=float, default=1)
    ap.add_argument("--from", dest="t1", type=float, default=2.0)
    ap.add_argument("--to", dest="t2", type=float, default=5.0)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("workload", nargs="*")
    a = ap.parse_args()
    work = a.workload or [os.path.join(BENCH, "workload_asyncio.py"), "2000", "80"]
    print("python: %s   build: %s   rate asked: %g Hz   max-overhead: %g%%   stats from %g s to %g s" % (
        a.python, a.build, a.rate, a.max_overhead, a.t1, a.t2))
    print("%8s %10s %10s %12s %11s %11s %8s %9s" % ("run", "rate Hz", "pass us", "cpu us/pass", "reads/pass",
                                                      "pages/pass", "stride", "share %"))
    rows = []
    for i in range(a.runs):
        r = run_program_json(a.python, "steady_program.py", a.rate, a.max_overhead, a.t1, a.t2, *work,
                             build=a.build)
        if len(r["snaps"]) < 2:
            raise SystemExit("the workload ended before %g s: give a longer one, or an earlier --to" % a.t2)
        f = figures(r)
        rows.append(f)
        print("%8d %10.1f %10.1f %12.1f %11.1f %11.1f %8d %9.2f" % (
            i + 1, f["rate"], f["pass"], f["cpu"], f["reads"], f["pages"], f["stride"], f["share"]))
    m = {k: median([r[k] for r in rows]) for k in rows[0]}
    print("%8s %10.1f %10.1f %12.1f %11.1f %11.1f %8d %9.2f" % (
        "median", m["rate"], m["pass"], m["cpu"], m["reads"], m["pages"], m["stride"], m["share"]))


if __name__ == "__main__":
    main()
