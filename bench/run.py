"""bench/run.py — what strobe costs, as figures, in one run (`make bench`).

    python3 bench/run.py [--build DIR] [--python PY] [--runs N] [--memory-seconds S]
                         [--only SECTION ...] [--quick]

Sections (each prints one line saying what it measures, then a table):
  slowdown  fixed workloads (pure-Python CPU, 2,000 asyncio tasks, 8 threads)
            under `strobe record` at 100 Hz and 1 kHz against no profiler:
            median of N paired runs of the wall-time and whole-process
            CPU-time ratios, and the rate achieved in each run
  paired    the same costs inside one running program, profiled phases
            against the unprofiled ones next to them (bench/paired.py):
            ratios of 1-3 % that the machine's drift hides above
  depth     sampler cost per pass against the stack depth of one thread
            (10, 30, 100, 1,000 frames), from strobe.stats()
  tasks     sampler cost per pass against the number of asyncio tasks
            (10, 1,000, 10,000), from strobe.stats() (bench/tasks.py)
  hooks     asyncio tasks created per second without strobe and under
            strobe.start() (which hooks create_task and gather), paired runs
  memory    peak RSS of a busy program (bench/workload_busy.py) for S seconds,
            with and without `strobe record`, run side by side
  offcpu    what reading why threads are off CPU costs (bench/offcpu.py)

Needs a build (`make BUILD=DIR all`).  A failing program is reported and
the other measurements go on; the exit status is then 1.  docs/PERFORMANCE.md
says what each figure means and what this machine gave.
"""
import argparse
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback

import offcpu
import overhead
import paired
import tasks
from _common import (BENCH, ROOT, BenchError, build_dir, check_build, describe_status,
                     has_max_overhead, median, newest_python, python_version, record_cmd,
                     read_cost_probe, run_program_json, wake_cost_probe, strobe_bin, tail)

SECTIONS = ["slowdown", "paired", "depth", "tasks", "hooks", "memory", "offcpu"]
RATES = [100.0, 1000.0]
DEPTHS = [10, 30, 100, 1000]


def say(*lines):
    for line in lines:
        print(line)
    sys.stdout.flush()


def title(name, what):
    say("", "== %s ==" % name, what)


# --- sections ---------------------------------------------------------------

def section_slowdown(a, failures):
    title("slowdown", "Slowdown of fixed workloads under `strobe record -r HZ%s` against no profiler: "
          "median (and range) over %d paired runs of the ratios profiled/unprofiled of the program's "
          "wall time and of its whole-process CPU time (user+sys, wait4), base = unprofiled median "
          "in seconds, and the rate achieved in each profiled run.  Targets: CPU x <= 1.01 at 100 Hz "
          "and <= 1.03 at 1 kHz (pure-Python CPU); <= 1.02 at 100 Hz (asyncio 2,000 tasks).  "
          "'100 Hz budget': the asyncio workload again with strobe's default --max-overhead (1%%), "
          "which thins the tasks sampled per pass and then lowers the rate."
          % (" --max-overhead 0" if has_max_overhead(a.build) else "", a.runs))
    say(overhead.HEADER)
    out = tempfile.mkdtemp(prefix="strobe-bench-")
    try:
        for w in ["cpu", "asyncio", "threads"]:
            # one unmeasured profiled run first: warm caches and the page cache
            overhead.measure(a.python, w, [RATES[-1]], 1, a.build, out)
            conds = RATES + (["budget:100"] if w == "asyncio" and has_max_overhead(a.build) else [])
            res = overhead.measure(a.python, w, conds, a.runs, a.build, out)
            say(*overhead.rows(w, res, conds))
            for e in res["errors"]:
                failures.append("slowdown: " + e)
                say("FAILED: " + e)
    finally:
        shutil.rmtree(out, ignore_errors=True)


def section_paired(a, failures):
    nphases = 8 if a.quick else 24
    title("paired", "The same costs measured inside one running program (bench/paired.py): the "
          "workload never ends, strobe.start()/stop() profile every other 1 s phase, and each "
          "profiled phase is compared with the unprofiled ones next to it (the machine's drift, "
          "which the slowdown runs minutes apart suffer, cancels out).  Whole-process CPU per unit "
          "of work, profiled/unprofiled (cpu x; prog x: without the sampling thread's own CPU), "
          "the sampling thread's CPU as a share of the rest, the rate kept; median (range) over "
          "%d profiled phases.  Start-up and exit are not included." % (nphases // 2))
    say(paired.HEADER)
    try:
        say(*paired.measure(a.python, a.build, 1.0, nphases))
    except BenchError as e:
        failures.append("paired: %s" % e)
        say("FAILED: %s" % e)


def section_depth(a, failures):
    seconds = 0.5 if a.quick else 1.5
    repeats = 1 if a.quick else 3
    title("depth", "Sampler cost per pass against stack depth: one thread D Python frames deep "
          "spinning at its leaf under strobe.start(rate=HZ) (default max_depth 512), %g s per rate, "
          "median of %d run(s): wall time of one pass (pass_ns/ticks), the sampling thread's CPU "
          "per pass (sampler_cpu_ns/ticks, includes its wake-ups), memory-read syscalls and pages copied per pass (read on demand or prefetched).  "
          "Target: <= 5 us per sample for a 30-frame thread stack." % (seconds, repeats))
    say("%8s %8s %10s %10s %12s %12s %12s" % ("frames", "rate", "Hz achvd", "pass us", "cpu us/pass",
                                              "reads/pass", "pages/pass"))
    for d in DEPTHS:
        runs = []
        for _ in range(repeats):
            try:
                runs.append(run_program_json(a.python, "depth_program.py", d, seconds,
                                             *["%g" % r for r in RATES], build=a.build))
            except BenchError as e:
                failures.append("depth %d: %s" % (d, e))
                say("FAILED: depth %d: %s" % (d, e))
        if not runs:
            continue
        for r in RATES:
            sts = [run["stats"]["%g" % r] for run in runs]
            per = [s["pass_ns"] / max(s["ticks"], 1) / 1e3 for s in sts]
            say("%8d %8s %10.1f %10.2f %12.2f %12.1f %12.1f" % (
                runs[0]["leaf_depth"], "%g Hz" % r, median([s["rate"] for s in sts]), median(per),
                median([s["sampler_cpu_ns"] / max(s["ticks"], 1) / 1e3 for s in sts]),
                median([s["reads"] / max(s["ticks"], 1) for s in sts]),
                median([(s["page_misses"] + s.get("page_prefetched", 0) + s.get("page_filled", 0) + s.get("page_refreshed", 0)) / max(s["ticks"], 1) for s in sts])))


def section_tasks(a, failures):
    seconds = 1.0 if a.quick else 3.0
    title("tasks", "Sampler cost against asyncio task count: N tasks parked 4 coroutines deep "
          "under strobe.start(rate=100), %g s each (bench/tasks.py): rate achieved, wall time and "
          "sampling-thread CPU of one pass, per task, pages read per pass, largest stride "
          "(every k-th task sampled, weighted k)." % seconds)
    say(tasks.HEADER)
    for n in tasks.COUNTS:
        try:
            say(tasks.row(n, tasks.measure(a.python, n, seconds, 100.0, a.build)))
        except BenchError as e:
            failures.append("tasks %d: %s" % (n, e))
            say("FAILED: tasks %d: %s" % (n, e))


def section_hooks(a, failures):
    seconds = 1.0 if a.quick else 2.0
    title("hooks", "Hook cost on task creation: asyncio tasks created per second (batches of 1,000 "
          "create_task of a trivial coroutine, then awaited one by one, or gathered; median 0.1 s chunk "
          "of each run) without strobe, "
          "under strobe.start() with its defaults (100 Hz; it hooks create_task and gather) and under "
          "strobe.start(rate=1) (the hooks, next to no sampling): median of %d paired runs of %g s "
          "each, and the median of the per-run ratios to the run without strobe." % (a.runs, seconds))
    say("%-22s %12s %12s %8s %15s %12s %8s %15s" % (
        "batch", "off tasks/s", "strobe", "ratio", "(min-max)", "hooks only", "ratio", "(min-max)"))
    modes = ["off", "strobe", "hooks"]
    rounds = []
    for i in range(a.runs):
        k = i % len(modes)
        got = {}
        for m in modes[k:] + modes[:k]:
            try:
                got[m] = run_program_json(a.python, "hooks_program.py", m, seconds, build=a.build)
            except BenchError as e:
                failures.append("hooks %s run %d: %s" % (m, i + 1, e))
                say("FAILED: hooks %s run %d: %s" % (m, i + 1, e))
        rounds.append(got)
    for kind in ("await", "gather"):
        cells = ["create_task + " + kind]
        base = [r["off"][kind] for r in rounds if "off" in r]
        cells.append("%12.0f" % median(base) if base else "%12s" % "-")
        for m in ("strobe", "hooks"):
            both = [r for r in rounds if "off" in r and m in r]
            ratios = [r[m][kind] / r["off"][kind] for r in both]
            if ratios:
                cells += ["%12.0f" % median([r[m][kind] for r in both]), "%8.3f" % median(ratios),
                          "%15s" % ("(%.3f-%.3f)" % (min(ratios), max(ratios)))]
            else:
                cells += ["%12s" % "-", "%8s" % "-", "%15s" % "-"]
        say("%-22s " % cells[0] + " ".join(cells[1:]))


def proc_status(pid):
    """VmRSS and VmHWM of PID in KiB (None when gone)."""
    out = {}
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    out[line.split(":")[0]] = int(line.split()[1])
    except OSError:
        return None
    return out if "VmRSS" in out else None


def section_memory(a, failures):
    s = a.memory_seconds
    title("memory", "Peak memory of a long profile: bench/workload_busy.py (generated functions, "
          "threads, asyncio tasks with changing names) for %g s, alone and under `strobe record "
          "-r 100%s`, both at once (side by side); peak RSS = ru_maxrss from wait4 (covers writing "
          "the profile at exit), RSS polled from /proc/PID/status every second; MiB."
          % (s, " --max-overhead 0" if has_max_overhead(a.build) else ""))
    out = tempfile.mkdtemp(prefix="strobe-bench-")
    prof = os.path.join(out, "busy.pprof")
    argv = [a.python, os.path.join(BENCH, "workload_busy.py"), "%g" % s]
    runs = {}
    try:
        for name, cmd in (("without strobe", argv), ("with strobe", record_cmd(a.build, 100, prof, argv))):
            p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            runs[name] = {"proc": p, "rss": [], "hwm": 0, "t0": time.monotonic(), "done": None}
        deadline = time.monotonic() + s * 1.5 + 60
        while any(r["done"] is None for r in runs.values()):
            for r in runs.values():
                if r["done"] is not None:
                    continue
                st = proc_status(r["proc"].pid)
                if st:
                    r["rss"].append((time.monotonic() - r["t0"], st["VmRSS"]))
                    r["hwm"] = max(r["hwm"], st.get("VmHWM", 0))
                pid, status, ru = os.wait4(r["proc"].pid, os.WNOHANG)
                if pid:
                    r["proc"].returncode = 0
                    r["done"] = (status, ru.ru_maxrss)
            if time.monotonic() > deadline:
                for r in runs.values():
                    if r["done"] is None:
                        r["proc"].kill()
            time.sleep(1.0)
        for name, r in runs.items():
            r["stdout"] = r["proc"].stdout.read().decode("utf-8", "replace")
            r["stderr"] = r["proc"].stderr.read().decode("utf-8", "replace")
            status = r["done"][0]
            if status != 0:
                failures.append("memory, %s: %s: %s" % (name, describe_status(status), tail(r["stderr"])))
                say("FAILED: memory, %s: %s: %s" % (name, describe_status(status), tail(r["stderr"])))
        say("%-16s %10s %10s %8s %8s %8s %8s %14s" % ("", "peak RSS", "VmHWM", "RSS 25%", "50%", "75%",
                                                     "end", "MiB/min 2nd half"))
        mib = lambda kb: kb / 1024.0
        line = {}
        for name, r in runs.items():
            rss = r["rss"] or [(0, 0)]

            def at(frac):
                t = frac * s
                return min(rss, key=lambda x: abs(x[0] - t))[1]
            half = [x for x in rss if x[0] >= s / 2]
            growth = ((half[-1][1] - half[0][1]) / max(half[-1][0] - half[0][0], 1e-9) * 60
                      if len(half) >= 2 else 0.0)
            line[name] = [mib(r["done"][1]), mib(r["hwm"]), mib(at(.25)), mib(at(.5)), mib(at(.75)),
                          mib(rss[-1][1]), mib(growth)]
            say("%-16s %10.1f %10.1f %8.1f %8.1f %8.1f %8.1f %14.2f" % tuple([name] + line[name]))
        diff = [w - o for w, o in zip(line["with strobe"], line["without strobe"])]
        say("%-16s %+10.1f %+10.1f %+8.1f %+8.1f %+8.1f %+8.1f %+14.2f" % tuple(["difference"] + diff))
        for name, r in runs.items():
            try:
                work = json.loads(r["stdout"].strip().splitlines()[-1])
                say("%s: did %s" % (name, ", ".join("%s %s" % (v, k) for k, v in work.items())))
            except (ValueError, IndexError):
                pass
        summary = [l for l in runs["with strobe"]["stderr"].splitlines() if l.startswith("strobe:")]
        if summary:
            say("with strobe, its summary line: " + summary[-1])
        if os.path.exists(prof):
            say("with strobe: profile %.0f KiB on disk" % (os.path.getsize(prof) / 1024.0))
    finally:
        for r in runs.values():
            if r["done"] is None:
                r["proc"].kill()
                r["proc"].wait()
        shutil.rmtree(out, ignore_errors=True)


def section_offcpu(a, failures):
    seconds = 1.0 if a.quick else 3.0
    title("offcpu", "Cost of asking the kernel why threads are off CPU: N blocked threads and one "
          "spinning under strobe.start(rate=100), %g s each (bench/offcpu.py; docs/offcpu.md)." % seconds)
    say(offcpu.HEADER)
    for n in offcpu.COUNTS:
        try:
            say(offcpu.row(n, offcpu.measure(a.python, n, seconds, 100.0, a.build)))
        except BenchError as e:
            failures.append("offcpu %d: %s" % (n, e))
            say("FAILED: offcpu %d: %s" % (n, e))


# --- driver -----------------------------------------------------------------

def git_describe():
    try:
        r = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, universal_newlines=True)
        return r.stdout.strip() or "?"
    except OSError:
        return "?"


def load():
    return "%.2f %.2f %.2f" % os.getloadavg()


def main():
    ap = argparse.ArgumentParser(description="What strobe costs, printed as figures.")
    ap.add_argument("--build", default="build", help="build directory (default build)")
    ap.add_argument("--python", default=None, help="interpreter to profile (default: newest pyenv 3.10-3.13)")
    ap.add_argument("--runs", type=int, default=None, help="paired runs per figure (default 5; --quick 2)")
    ap.add_argument("--memory-seconds", type=float, default=None,
                    help="length of the memory run (default 60; --quick 15; the issue's run is 600)")
    ap.add_argument("--only", action="append", choices=SECTIONS, help="run only this section (repeatable)")
    ap.add_argument("--quick", action="store_true", help="fewer runs, shorter runs: a smoke check")
    a = ap.parse_args()
    a.python = a.python or newest_python()
    a.runs = a.runs or (2 if a.quick else 5)
    a.memory_seconds = a.memory_seconds or (15.0 if a.quick else 60.0)
    a.build = build_dir(a.build)
    t0 = time.monotonic()
    problem = check_build(a.python, a.build)
    if problem:
        print("bench/run.py: " + problem, file=sys.stderr)
        return 2
    say("strobe bench  %s  on %s (%d CPUs)" % (
        datetime.datetime.now().strftime("%Y-%m-%d %H:%M"), os.uname().nodename, os.cpu_count() or 0),
        "python: %s (CPython %s)" % (a.python, python_version(a.python)),
        "strobe: %s (source %s); record --max-overhead: %s" % (
            strobe_bin(a.build), git_describe(),
            "passed as 0" if has_max_overhead(a.build) else "not available, omitted"),
        "runs: %d paired%s   memory run: %g s" % (a.runs, "   (--quick)" if a.quick else "",
                                                   a.memory_seconds),
        "load average at start: %s" % load())
    probe = read_cost_probe()
    say("machine: one process_vm_readv of 8 pages costs %s" % (
        "%.1f us back to back, %.1f us right after a 10 ms sleep (medians of 200; the cold figure "
        "moves several-fold with the host's load)" % probe if probe else "? (unavailable)"),
        "machine: one 1 ms sleep and wake-up costs %.1f us of the thread's CPU (a sampler pays it every "
        "pass)" % wake_cost_probe())
    failures = []
    for name in SECTIONS:
        if a.only and name not in a.only:
            continue
        try:
            globals()["section_" + name](a, failures)
        except Exception as e:       # a broken section must not hide the others
            failures.append("%s: %s: %s" % (name, type(e).__name__, e))
            say("FAILED: section %s: %s" % (name, e))
            traceback.print_exc()
    probe = read_cost_probe()
    say("", "machine at end: 8-page process_vm_readv %s" % (
        "%.1f us hot, %.1f us after a 10 ms sleep" % probe if probe else "?"),
        "load average at end: %s" % load(),
        "total time: %.0f s" % (time.monotonic() - t0))
    if failures:
        say("%d failure(s):" % len(failures), *["  " + f for f in failures])
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
