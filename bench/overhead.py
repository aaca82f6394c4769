"""bench/overhead.py — what profiling costs a program, as ratios in one run.

    python3 bench/overhead.py [--build DIR] [--python PY] [--rate HZ ...] [--runs N]
                              [--workload cpu|asyncio|threads ...]

Runs a fixed workload (default the pure-Python CPU-bound bench/workload_cpu.py;
also the 2,000-task bench/workload_asyncio.py and the 8-thread
bench/workload_threads.py) N times without strobe and N times under
`strobe record -r HZ --max-overhead 0` for each rate, interleaved (each round
runs every condition once, in a rotating order: paired runs on a noisy
machine), and prints the median of the per-round wall-time ratios and of the
whole-process CPU-time ratios (user + system of the child, from wait4: the
sampler runs on another core, so wall time alone hides its cost), with their
range, and the rate achieved in each profiled run (ticks / duration, from the
profile's comments).  Needs `make` first.  Also a section of bench/run.py.
"""
import argparse
import os
import shutil
import tempfile

from _common import (BENCH, achieved_rate, describe_status, median, newest_python,
                     record_cmd, run_measured, tail)

WORKLOADS = {
    "cpu": ("pure-Python CPU", "workload_cpu.py"),
    "asyncio": ("asyncio 2,000 tasks", "workload_asyncio.py"),
    "threads": ("8 threads", "workload_threads.py"),
}
HEADER = "%-20s %14s %9s %8s %13s %8s %8s %13s  %s" % (
    "workload", "rate", "base wall", "wall x", "(min-max)", "base cpu", "cpu x", "(min-max)",
    "Hz achieved per run")


def cond_rate(c):
    """(rate, budget) of a condition: a number is that rate with
    --max-overhead 0; "budget:HZ" is HZ with strobe's default budget."""
    if isinstance(c, str) and c.startswith("budget:"):
        return float(c.split(":", 1)[1]), True
    return float(c), False


def cond_label(c):
    rate, budget = cond_rate(c)
    return "%g Hz%s" % (rate, " budget" if budget else "")


def measure(python, workload, rates, runs, build="build", outdir=None):
    """Paired runs of WORKLOAD: {"base": [run], rate: [run], "errors": [str]},
    a run being run_measured()'s dict (None when that run failed) plus
    "rate" (achieved) for profiled runs."""
    argv = [python, os.path.join(BENCH, WORKLOADS[workload][1])]
    own = outdir is None
    outdir = outdir or tempfile.mkdtemp(prefix="strobe-bench-")
    conds = ["base"] + list(rates)
    res = {c: [] for c in conds}
    res["errors"] = []
    try:
        for i in range(runs):
            k = i % len(conds)
            for c in conds[k:] + conds[:k]:
                if c == "base":
                    cmd, out = argv, None
                else:
                    rate, budget = cond_rate(c)
                    out = os.path.join(outdir, "%s-%s.pprof" % (workload, c))
                    if os.path.exists(out):
                        os.unlink(out)
                    cmd = record_cmd(build, rate, out, argv, budget=budget)
                r = run_measured(cmd)
                if r["status"] != 0:
                    res["errors"].append("%s %s run %d: %s: %s" % (
                        workload, "without strobe" if c == "base" else "at " + cond_label(c), i + 1,
                        describe_status(r["status"]), tail(r["stderr"])))
                    r = None
                elif out is not None:
                    r["rate"] = achieved_rate(out)
                res[c].append(r)
    finally:
        if own:
            shutil.rmtree(outdir, ignore_errors=True)
    return res


def rows(workload, res, rates):
    """Table lines for one workload's measure() result."""
    lines = []
    base = res["base"]
    for rate in rates:
        pairs = [(b, r) for b, r in zip(base, res[rate]) if b and r]
        wr = [r["wall"] / b["wall"] for b, r in pairs]
        cr = [r["cpu"] / b["cpu"] for b, r in pairs]
        hz = " ".join("-" if not r else ("?" if r.get("rate") is None else "%.0f" % r["rate"])
                      for r in res[rate])
        if not pairs:
            lines.append("%-20s %14s %s" % (WORKLOADS[workload][0], cond_label(rate), "no complete pair"))
            continue
        lines.append("%-20s %14s %9.3f %8.3f %13s %8.3f %8.3f %13s  %s" % (
            WORKLOADS[workload][0], cond_label(rate), median([b["wall"] for b, _ in pairs]), median(wr),
            "(%.3f-%.3f)" % (min(wr), max(wr)), median([b["cpu"] for b, _ in pairs]), median(cr),
            "(%.3f-%.3f)" % (min(cr), max(cr)), hz))
    return lines


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--python", default=newest_python())
    ap.add_argument("--rate", type=float, action="append")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--workload", action="append", choices=sorted(WORKLOADS))
    a = ap.parse_args()
    rates = a.rate or [100.0, 1000.0]
    print("python: %s   runs: %d (paired)" % (a.python, a.runs))
    print(HEADER)
    failed = False
    for w in a.workload or ["cpu"]:
        res = measure(a.python, w, rates, a.runs, a.build)
        for line in rows(w, res, rates):
            print(line)
        for e in res["errors"]:
            print("FAILED: " + e)
            failed = True
    if failed:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
