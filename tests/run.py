#!/usr/bin/env python3
"""tests/run.py — the test driver behind `make test` and `make sanitize`.

    python3 tests/run.py --build build [--c-only | --no-c] [-k PATTERN]... [--python 3.11]... [-v]

1. C unit tests: every executable BUILD/tests/test_* is run; its stdout lines
   `PASS name`, `FAIL name: ...`, `SKIP name: ...` are counted.  A binary that
   crashes, times out, or exits non-zero without a FAIL line counts as one
   failure under its own name.
2. Python integration tests (unless --c-only): interpreters are found without
   PATH, as ${PYENV_ROOT:-~/.pyenv}/versions/X.Y.Z/bin/pythonX.Y.  For each
   supported minor version 3.8..3.13 the newest patch release is used; the
   others are named as skipped or ignored with the reason.  An interpreter
   whose extension BUILD/python/strobe/_strobe.cpython-3XY-*.so is missing is
   skipped by name.  Each interpreter runs tests/py/_runner.py (unittest
   discovery of tests/py/test_*.py, one protocol line per event) with
   STROBE_BIN, STROBE_PYTHONPATH and STROBE_ROOT set.  Interpreters run one
   after another (some tests compare CPU shares).  A test that makes no
   progress for --test-timeout seconds is killed and failed, and the runner
   is restarted on the tests that remain; an interpreter that exceeds
   --budget seconds has its remaining tests failed as not run.

The last line of output is always `N passed, N failed` (plus `, N skipped`
when something was skipped); the exit status is 1 if anything failed.
"""

import argparse
import glob
import json
import os
import queue
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SUPPORTED = [(3, 8), (3, 9), (3, 10), (3, 11), (3, 12), (3, 13)]
PREFIX = "@@strobe "


def say(msg=""):
    sys.stdout.write(msg + "\n")
    sys.stdout.flush()


def tail(text, n=3000):
    text = text.rstrip("\n")
    return text if len(text) <= n else "...[%d chars cut]...\n%s" % (len(text) - n, text[-n:])


def matches(name, patterns):
    if not patterns:
        return True
    for p in patterns:
        if any(c in p for c in "*?["):
            import fnmatch
            if fnmatch.fnmatchcase(name, p if p.startswith("*") else "*" + p + "*"):
                return True
        elif p in name:
            return True
    return False


class Tally(object):
    """Counts for one section (C tests, or one interpreter)."""

    def __init__(self, label):
        self.label = label
        self.passed = self.failed = self.skipped = 0
        self.failures = []  # (test name, detail)
        self.secs = 0.0

    def add(self, status, name, detail="", verbose=False, secs=None):
        if status == "pass":
            self.passed += 1
            mark = "."
        elif status == "skip":
            self.skipped += 1
            mark = "s"
        else:
            self.failed += 1
            self.failures.append((name, detail))
            mark = "F"
        if verbose:
            reason = ""
            if status == "skip" and detail:
                reason = " (%s)" % detail.strip().splitlines()[0]
            took = " (%.1f s)" % secs if secs is not None else ""
            say("  %-4s %s%s%s" % (status.upper(), name, reason, took))
        else:
            sys.stdout.write(mark)
            sys.stdout.flush()

    def line(self):
        s = "%s: %d passed, %d failed" % (self.label, self.passed, self.failed)
        if self.skipped:
            s += ", %d skipped" % self.skipped
        return s + " (%.0f s)" % self.secs


# ---------------------------------------------------------------------------
# C unit tests

C_LINE = re.compile(r"^(PASS|FAIL|SKIP) ([^\s:]+)(?::\s*(.*))?$")


def run_c_tests(build, patterns, timeout, verbose):
    tally = Tally("C unit tests")
    t0 = time.monotonic()
    bins = sorted(p for p in glob.glob(os.path.join(build, "tests", "test_*"))
                  if os.path.isfile(p) and os.access(p, os.X_OK))
    say("== C unit tests: %d binaries in %s" % (len(bins), os.path.join(build, "tests")))
    for path in bins:
        binname = os.path.basename(path)
        try:
            proc = subprocess.Popen([path], cwd=ROOT, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    start_new_session=True)
        except OSError as e:
            if matches(binname, patterns):
                tally.add("fail", binname, "could not run: %s" % e, verbose)
            continue
        timed_out = False
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            kill_group(proc)
            out, err = proc.communicate()
        out = out.decode("utf-8", "replace")
        err = err.decode("utf-8", "replace")
        seen_fail = False
        any_match = matches(binname, patterns)
        fails = {}
        order = []
        for line in out.splitlines():
            m = C_LINE.match(line.strip())
            if not m:
                continue
            kind, name, rest = m.group(1), m.group(2), m.group(3) or ""
            full = "%s.%s" % (binname, name)
            if kind == "FAIL":
                seen_fail = True
            if not (matches(full, patterns)):
                continue
            any_match = True
            if kind == "PASS":
                tally.add("pass", full, verbose=verbose)
            elif kind == "SKIP":
                tally.add("skip", full, rest, verbose)
            else:
                if full not in fails:
                    fails[full] = []
                    order.append(full)
                fails[full].append(line.strip())
        for full in order:
            detail = "\n".join(fails[full])
            if err.strip():
                detail += "\n--- stderr of %s ---\n%s" % (binname, tail(err))
            tally.add("fail", full, detail, verbose)
        problem = None
        if timed_out:
            problem = "timed out after %d s (killed)" % timeout
        elif proc.returncode < 0:
            try:
                signame = signal.Signals(-proc.returncode).name
            except ValueError:
                signame = "signal %d" % -proc.returncode
            problem = "crashed (%s)" % signame
        elif proc.returncode != 0 and not seen_fail:
            problem = "exited with status %d without a FAIL line" % proc.returncode
        if problem and any_match:
            detail = "%s\n--- stdout ---\n%s\n--- stderr ---\n%s" % (problem, tail(out), tail(err))
            tally.add("fail", binname, detail, verbose)
    if not verbose and bins:
        say()
    tally.secs = time.monotonic() - t0
    return tally, len(bins)


def kill_group(proc, grace=5.0):
    """SIGTERM the process group, then SIGKILL what is left after `grace`."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            proc.wait(timeout=wait)
            if sig == signal.SIGTERM:
                try:  # children of the runner that outlived it
                    os.killpg(proc.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            return
        except subprocess.TimeoutExpired:
            continue


# ---------------------------------------------------------------------------
# Interpreters

RELEASE = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")


def find_interpreters(build):
    """Return (chosen [(ver_tuple, name, exe)], notes [str]) where notes name
    every interpreter found but not used, and every supported minor missing."""
    pyenv_root = os.environ.get("PYENV_ROOT") or os.path.join(os.path.expanduser("~"), ".pyenv")
    versions_dir = os.path.join(pyenv_root, "versions")
    found = {}
    notes = []
    for d in sorted(glob.glob(os.path.join(versions_dir, "*"))):
        name = os.path.basename(d)
        m = RELEASE.match(name)
        if not m:
            notes.append("ignored %s: not a CPython release directory" % name)
            continue
        ver = tuple(int(x) for x in m.groups())
        exe = os.path.join(d, "bin", "python%d.%d" % ver[:2])
        if not os.access(exe, os.X_OK):
            notes.append("ignored %s: no executable bin/python%d.%d" % ((name,) + ver[:2]))
            continue
        if ver[:2] not in SUPPORTED:
            notes.append("ignored %s: unsupported version" % name)
            continue
        found.setdefault(ver[:2], []).append((ver, name, exe))
    chosen = []
    for minor in SUPPORTED:
        tag = "%d.%d" % minor
        cands = sorted(found.get(minor, []))
        if not cands:
            notes.append("skipped %s: not installed (looked in %s)" % (tag, versions_dir))
            continue
        for ver, name, _exe in cands[:-1]:
            notes.append("ignored %s: an older patch release than %s" % (name, cands[-1][1]))
        ver, name, exe = cands[-1]
        ext = glob.glob(os.path.join(build, "python", "strobe", "_strobe.cpython-%d%d-*.so" % minor))
        if not ext:
            notes.append("skipped %s (%s): extension %s missing"
                         % (tag, name, os.path.join(build, "python", "strobe",
                                                    "_strobe.cpython-%d%d-*.so" % minor)))
            continue
        chosen.append((ver, name, exe))
    return chosen, notes


def child_env(build):
    env = dict(os.environ)
    for k in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONINSPECT", "PYTHONWARNINGS",
              "PYTHONDEVMODE", "PYTHONEXECUTABLE", "__PYVENV_LAUNCHER__"):
        env.pop(k, None)
    env["STROBE_BIN"] = os.path.join(build, "bin", "strobe")
    env["STROBE_PYTHONPATH"] = os.path.join(build, "python")
    env["STROBE_ROOT"] = ROOT
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PYTHONIOENCODING"] = "utf-8"
    # make sanitize: load the sanitizer runtime into the interpreters (their
    # extension is instrumented), and only into them.
    preload = os.environ.get("STROBE_TEST_PRELOAD")
    if preload:
        env["LD_PRELOAD"] = preload
        env["PYTHONMALLOC"] = "malloc"
        env.setdefault("ASAN_OPTIONS", "detect_leaks=0")
    return env


RUNNER = os.path.join(ROOT, "tests", "py", "_runner.py")


def reader(stream, q):
    for raw in iter(stream.readline, b""):
        q.put(raw.decode("utf-8", "replace"))
    q.put(None)


def parse_event(line):
    i = line.find(PREFIX)
    if i < 0:
        return None
    try:
        return json.loads(line[i + len(PREFIX):])
    except ValueError:
        return None


def list_tests(exe, env, patterns):
    args = [exe, RUNNER, "--list"]
    for p in patterns:
        args += ["-k", p]
    try:
        r = subprocess.run(args, cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    except subprocess.TimeoutExpired:
        return None, "listing the tests timed out"
    for line in r.stdout.decode("utf-8", "replace").splitlines():
        ev = parse_event(line)
        if ev and ev.get("event") == "plan":
            return ev["ids"], None
    return None, "listing the tests failed (status %s):\n%s" % (
        r.returncode, tail(r.stderr.decode("utf-8", "replace")))


def run_interpreter(label, exe, env, patterns, test_timeout, budget, verbose):
    tally = Tally(label)
    t0 = time.monotonic()
    deadline = t0 + budget
    ids, problem = list_tests(exe, env, patterns)
    if ids is None:
        tally.add("fail", "%s: test discovery" % label, problem, verbose)
        tally.secs = time.monotonic() - t0
        return tally
    if not ids:
        say("  (no test matches)")
    remaining = list(ids)
    recorded = set()
    with tempfile.TemporaryDirectory(prefix="strobe-run-") as tmp:
        ids_file = os.path.join(tmp, "ids")
        while remaining:
            if time.monotonic() >= deadline:
                for tid in remaining:
                    tally.add("fail", tid, "not run: the %d s budget of %s was exhausted"
                              % (budget, label), verbose)
                remaining = []
                break
            with open(ids_file, "w", encoding="utf-8") as f:
                f.write("\n".join(remaining) + "\n")
            errf = open(os.path.join(tmp, "stderr"), "w+b")
            proc = subprocess.Popen([exe, RUNNER, "--ids-file", ids_file], cwd=ROOT, env=env,
                                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=errf, start_new_session=True)
            q = queue.Queue()
            th = threading.Thread(target=reader, args=(proc.stdout, q), daemon=True)
            th.start()
            current, started = None, time.monotonic()
            progressed = False
            killed_reason = None
            done = False
            try:
                while True:
                    now = time.monotonic()
                    wait = min(started + test_timeout - now, deadline - now)
                    if wait <= 0:
                        if deadline - now <= 0:
                            killed_reason = "the %d s budget of %s was exhausted" % (budget, label)
                        else:
                            killed_reason = "no progress for %d s" % test_timeout
                        break
                    try:
                        line = q.get(timeout=wait)
                    except queue.Empty:
                        continue
                    if line is None:
                        break
                    ev = parse_event(line)
                    if not ev:
                        continue
                    kind = ev.get("event")
                    if kind == "start":
                        current, started = ev["id"], time.monotonic()
                    elif kind == "result":
                        tid = ev["id"]
                        if tid in recorded:
                            continue  # never count a test twice
                        recorded.add(tid)
                        tally.add(ev["status"], tid, ev.get("detail", ""), verbose, ev.get("secs"))
                        if tid in remaining:
                            remaining.remove(tid)
                        progressed = True
                        current, started = None, time.monotonic()
                    elif kind == "done":
                        done = True
            except KeyboardInterrupt:
                kill_group(proc, grace=1.0)
                raise
            if killed_reason:
                kill_group(proc)
            else:
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    kill_group(proc)
            th.join(timeout=10)
            errf.seek(0)
            err = errf.read().decode("utf-8", "replace")
            errf.close()
            if current is not None and current in remaining:
                why = killed_reason or ("the test runner died (status %s)" % proc.returncode)
                tally.add("fail", current, "%s while running this test (killed)\n--- runner stderr ---\n%s"
                          % (why, tail(err)), verbose)
                recorded.add(current)
                remaining.remove(current)
                progressed = True
            if done and remaining:
                for tid in remaining:
                    tally.add("fail", tid, "the runner finished without running this test", verbose)
                remaining = []
            if remaining and not progressed:
                why = killed_reason or "the test runner exited with status %s" % proc.returncode
                for tid in remaining:
                    tally.add("fail", tid, "not run: %s\n--- runner stderr ---\n%s"
                              % (why, tail(err)), verbose)
                remaining = []
    if not verbose:
        say()
    tally.secs = time.monotonic() - t0
    return tally


# ---------------------------------------------------------------------------

def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default="build", help="build directory (default: build)")
    ap.add_argument("--c-only", action="store_true", help="run only the C unit tests")
    ap.add_argument("--no-c", action="store_true", help="skip the C unit tests")
    ap.add_argument("-k", dest="patterns", action="append", default=[],
                    help="only tests whose name contains PATTERN (glob if it has *?[); repeatable")
    ap.add_argument("--python", dest="pythons", action="append", default=[],
                    help="only these minor versions, e.g. --python 3.11 (repeatable or comma-separated)")
    ap.add_argument("--test-timeout", type=int, default=240,
                    help="kill a test that makes no progress for this long (s, default 240)")
    ap.add_argument("--budget", type=int, default=900,
                    help="time budget per interpreter (s, default 900)")
    ap.add_argument("--c-timeout", type=int, default=300,
                    help="time limit per C test binary (s, default 300)")
    ap.add_argument("-v", "--verbose", action="store_true", help="one line per test")
    args = ap.parse_args(argv)

    build = args.build if os.path.isabs(args.build) else os.path.join(ROOT, args.build)
    build = os.path.normpath(build)
    tallies = []
    notes = []
    ran = []
    any_failure_outside = []

    if not args.no_c:
        ctally, nbins = run_c_tests(build, args.patterns, args.c_timeout, args.verbose)
        if nbins == 0:
            if args.c_only:
                ctally.add("fail", "C unit tests", "no test binaries found in %s"
                           % os.path.join(build, "tests"), args.verbose)
                say()
            else:
                notes.append("no C test binaries found in %s" % os.path.join(build, "tests"))
        tallies.append(ctally)

    if not args.c_only:
        wanted = set()
        for p in args.pythons:
            for v in p.split(","):
                v = v.strip()
                if v:
                    wanted.add(v)
        chosen, found_notes = find_interpreters(build)
        notes.extend(found_notes)
        if wanted:
            keep = []
            for ver, name, exe in chosen:
                tag = "%d.%d" % ver[:2]
                if tag in wanted or name in wanted:
                    keep.append((ver, name, exe))
                else:
                    notes.append("skipped %s (%s): not selected by --python" % (tag, name))
            chosen = keep
        strobe_bin = os.path.join(build, "bin", "strobe")
        if chosen and not os.access(strobe_bin, os.X_OK):
            notes.append("warning: %s does not exist; the CLI tests will fail" % strobe_bin)
        for line in notes:
            say(line)
        env = child_env(build)
        for ver, name, exe in chosen:
            label = "CPython %s" % name
            say("== %s (%s)" % (label, exe))
            t = run_interpreter(label, exe, env, args.patterns, args.test_timeout,
                                args.budget, args.verbose)
            tallies.append(t)
            ran.append(name)
        if not chosen:
            any_failure_outside.append("no supported interpreter ran (see the skipped lines above)")
    else:
        for line in notes:
            say(line)

    failures = [(t.label, n, d) for t in tallies for n, d in t.failures]
    if failures or any_failure_outside:
        say()
        say("=" * 70)
        say("FAILURES")
        for label, name, detail in failures:
            say("-" * 70)
            say("[%s] %s" % (label, name))
            say(detail.rstrip())
        for msg in any_failure_outside:
            say("-" * 70)
            say(msg)
        say("=" * 70)
    say()
    for t in tallies:
        say(t.line())
    if not args.c_only:
        skipped_names = [n for n in notes if n.startswith("skipped")]
        say("interpreters run: %s" % (", ".join(ran) if ran else "none"))
        if skipped_names:
            say("interpreters skipped: %s" % "; ".join(n[len("skipped "):] for n in skipped_names))
    passed = sum(t.passed for t in tallies)
    failed = sum(t.failed for t in tallies) + len(any_failure_outside)
    skipped = sum(t.skipped for t in tallies)
    final = "%d passed, %d failed" % (passed, failed)
    if skipped:
        final += ", %d skipped" % skipped
    say(final)
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        sys.stdout.write("\ninterrupted\n")
        sys.exit(130)
