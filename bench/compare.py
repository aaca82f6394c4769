"""bench/compare.py — two builds of strobe against each other, same minutes.

    python3 bench/compare.py OLD_BUILD NEW_BUILD [--python PY] [--rate HZ]
        [--max-overhead PCT] [--rounds N] -- PROGRAM [ARGS...]

This machine is shared: the same program alone varies by tens of percent
from one minute to the next, so figures from two `make bench` runs made at
different times can't be compared.  This runs, in each round and in a
rotating order, PROGRAM alone, under OLD_BUILD's `strobe record` and under
NEW_BUILD's, and prints the medians (and ranges) of the per-round ratios of
whole-process CPU time (wait4: the program and strobe's thread) to the run
alone, of NEW to OLD, and the rate each profiled run achieved.  A build is
a directory `make BUILD=DIR all` made (e.g. from a `git worktree` of the
older commit).  PROGRAM is run as `PY PROGRAM ARGS`; `-c pass` measures
what strobe costs a program at start and exit.

Examples (docs/PERFORMANCE.md):
    python3 bench/compare.py /tmp/old build -- -c pass
    python3 bench/compare.py /tmp/old build --max-overhead 1 -- bench/workload_asyncio.py
"""
import argparse
import os
import re
import sys

from _common import median, newest_python, run_measured, strobe_bin


def profiled(build, python, rate, max_overhead, argv, out):
    cmd = [strobe_bin(build), "record", "-r", "%g" % rate, "-o", out]
    if max_overhead is not None:
        cmd += ["--max-overhead", "%g" % max_overhead]
    return cmd + ["--", python] + argv


def rate_of(stderr):
    """The rate the summary line reports: "(N Hz ..." or, when the rate asked
    was kept, the samples over the seconds."""
    m = re.search(r"\((\d+) Hz", stderr)
    if m:
        return m.group(1)
    m = re.search(r"(\d+) samples?, \d+ threads?, ([0-9.]+) s", stderr)
    return "%.0f" % (int(m.group(1)) / float(m.group(2))) if m and float(m.group(2)) > 0 else "-"


def main():
    argv = sys.argv[1:]
    program = []
    if "--" in argv:
        i = argv.index("--")
        argv, program = argv[:i], argv[i + 1:]
    ap = argparse.ArgumentParser(usage=__doc__.split("\n\n")[1].strip())
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--python", default=newest_python())
    ap.add_argument("--rate", type=float, default=100)
    ap.add_argument("--max-overhead", type=float, default=None,
                    help="passed to both (default: strobe's own default)")
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args(argv)
    if not program:
        ap.error("no PROGRAM given (after --)")
    for b in (args.old, args.new):
        if not os.access(strobe_bin(b), os.X_OK):
            ap.error("no strobe binary in %s (make BUILD=%s all)" % (b, b))
    out = "/tmp/strobe-compare-%d.pprof" % os.getpid()
    conds = [None, args.old, args.new]
    cpu = {c: [] for c in conds}
    hz = {c: [] for c in conds}
    print("%s %s, %d rounds, %g Hz, --max-overhead %s" % (
        args.python, " ".join(program), args.rounds, args.rate,
        "default" if args.max_overhead is None else "%g" % args.max_overhead))
    for r in range(args.rounds):
        for c in conds[r % 3:] + conds[:r % 3]:
            cmd = [args.python] + program if c is None else profiled(
                c, args.python, args.rate, args.max_overhead, program, out)
            res = run_measured(cmd)
            if res["status"] != 0:
                sys.exit("FAILED: %s: %s\n%s" % (" ".join(cmd), res["status"], res["stderr"][-2000:]))
            cpu[c].append(res["cpu"])
            if c is not None:
                hz[c].append(rate_of(res["stderr"]))
        sys.stderr.write("round %d/%d\n" % (r + 1, args.rounds))
    if os.path.exists(out):
        os.unlink(out)
    print("alone: median CPU %.3f s" % median(cpu[None]))
    for name, c in (("old", args.old), ("new", args.new)):
        ratios = [a / b for a, b in zip(cpu[c], cpu[None])]
        print("%-4s %-24s CPU x %.3f (%.3f-%.3f)  median %.3f s  Hz per run: %s" % (
            name, c, median(ratios), min(ratios), max(ratios), median(cpu[c]), " ".join(hz[c])))
    rel = [a / b for a, b in zip(cpu[args.new], cpu[args.old])]
    print("new/old CPU %.3f (%.3f-%.3f)" % (median(rel), min(rel), max(rel)))


if __name__ == "__main__":
    main()
