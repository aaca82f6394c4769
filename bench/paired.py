"""bench/paired.py — what profiling costs a running program, measured inside
one process, phase against neighbouring phase.

    python3 bench/paired.py [--build DIR] [--python PY] [--phase S] [--phases N]
                            [--only NAME ...]

The slowdown section of bench/run.py runs a program alone and under
`strobe record`, minutes apart on a shared machine whose speed drifts by
tens of percent: ratios of 1-3 % drown in that.  Here one process runs a
workload that never ends (bench/paired_program.py) while a control thread
calls strobe.start() and strobe.stop() in every other phase (default 1 s
each, 24 phases, in the order on off off on off on on off ...), and each
profiled phase is compared with the unprofiled phases next to it, seconds
apart.  Per phase: the whole process's CPU time per unit of work done (a
call of the pure-Python chain; a step of one of the 2,000 asyncio clients).
Printed, as medians (and ranges) over the profiled phases:

  cpu x      CPU per unit, profiled over unprofiled: what the program pays
             in all (the sampling thread's CPU included)
  prog x     the same without the sampling thread's CPU: what the program's
             own threads pay (caches, the pass interrupting them)
  sampler %  the sampling thread's CPU over the rest of the process's
  Hz         the rate of passes in the profiled phases

Start-up and exit are not in these figures (strobe.start's first 0.2 s of
each phase are left out): bench/compare.py `-- -c pass` measures them.
Needs `make` first.
"""
import argparse

from _common import median, newest_python, run_program_json

CASES = [
    # name, mode, rate, max-overhead
    ("cpu-100", "cpu", 100, 0),
    ("cpu-1000", "cpu", 1000, 0),
    ("asyncio-100", "asyncio", 100, 0),
    ("asyncio-100-budget", "asyncio", 100, 1),
]


def figures(phases):
    rows = []
    for k, ph in enumerate(phases):
        if not ph["on"] or not ph["units"]:
            continue
        near = []
        for j in (k - 1, k + 1, k - 2, k + 2):
            if 0 <= j < len(phases) and not phases[j]["on"] and phases[j]["units"]:
                near.append(phases[j]["cpu"] / phases[j]["units"])
            if len(near) == 2:
                break
        if not near:
            continue
        off = sum(near) / len(near)
        prog = ph["cpu"] - ph["sampler_cpu"]
        rows.append({
            "cpu": ph["cpu"] / ph["units"] / off,
            "prog": prog / ph["units"] / off,
            "sampler": 100 * ph["sampler_cpu"] / prog if prog > 0 else 0.0,
            "hz": ph["ticks"] / ph["seconds"],
        })
    return rows


HEADER = "%-20s %6s %8s %16s %16s %16s %12s" % ("workload", "Hz", "budget", "cpu x", "prog x", "sampler %",
                                                 "Hz kept")


def measure(python, build, phase, nphases, only=None):
    """The table's rows, one per case (all, or those named in ONLY)."""
    lines = []
    for name, mode, rate, mo in CASES:
        if only and name not in only:
            continue
        r = run_program_json(python, "paired_program.py", mode, rate, mo, phase, nphases, build=build)
        rows = figures(r["phases"])
        if not rows:
            lines.append("%-20s no profiled phase did any work" % name)
            continue

        def col(key, fmt):
            xs = [row[key] for row in rows]
            return ("%s (%s-%s)" % (fmt, fmt, fmt)) % (median(xs), min(xs), max(xs))
        lines.append("%-20s %6g %8s %16s %16s %16s %12s" % (
            name, rate, "%g%%" % mo if mo else "off", col("cpu", "%.3f"), col("prog", "%.3f"),
            col("sampler", "%.2f"), "%.0f" % median([row["hz"] for row in rows])))
    return lines


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--python", default=newest_python())
    ap.add_argument("--phase", type=float, default=1.0)
    ap.add_argument("--phases", type=int, default=24)
    ap.add_argument("--only", action="append", choices=[c[0] for c in CASES])
    a = ap.parse_args()
    print("python: %s   build: %s   %d phases of %g s, every other one profiled (strobe.start)" % (
        a.python, a.build, a.phases, a.phase))
    print(HEADER)
    for line in measure(a.python, a.build, a.phase, a.phases, a.only):
        print(line, flush=True)


if __name__ == "__main__":
    main()
