#!/usr/bin/env python3
"""tests/torture/run.py — resilience runs of code nobody here wrote (`make torture`).

    python3 tests/torture/run.py [--build DIR] [--python 3.12]... [-k CASE]... [--quick] [--keep] [-v]

Runs every case on every pyenv CPython 3.8–3.13 found (newest patch release
per minor version, found without PATH as tests/run.py does; a missing one is
named as skipped) and prints one line per (case, interpreter):

    PASS|FAIL|SKIP  CASE  VERSION  SECONDS  what was seen / why

then the seconds per case and interpreter, and last the summary line
`N passed, N failed` (`, N skipped`).  Exit status 1 if anything failed.

Cases (docs/TORTURE.md says what each checks and why):
  regrtest-asyncio    CPython's own test_asyncio, without and with strobe
  regrtest-threading  CPython's own test_threading, without and with strobe
  deep-recursion      10,000-deep recursion spinning at the bottom
  thread-churn        2,000 short-lived threads in waves
  many-tasks          50,000 pending asyncio tasks
  fork                os.fork() and multiprocessing 'fork' in a profiled program
  shutdown            the interpreter exits amid heavy activity (7 ways)
  signals             SIGTERM, SIGINT and SIGKILL mid-run

Everything a case runs is a subprocess in its own session, with a timeout;
on timeout the whole group is killed and the case fails as a hang.
Standard library only; the pprof decoder is tests/py/support.py's.
"""

import argparse
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.dont_write_bytecode = True   # leave no __pycache__ in tests/py or here
sys.path.insert(0, os.path.join(ROOT, "tests", "py"))
import support  # noqa: E402  (tests/py/support.py: read_pprof)

SUPPORTED = [(3, 8), (3, 9), (3, 10), (3, 11), (3, 12), (3, 13)]
RATE = 200
MAX_DEPTH = 512
SUMMARY_RE = re.compile(r"^strobe: (\d+) samples?, (\d+) threads?, .*wrote (.+) \((pprof|collapsed)\)$")


def say(msg=""):
    sys.stdout.write(msg + "\n")
    sys.stdout.flush()


def tail(text, n=2500):
    text = text.rstrip("\n")
    return text if len(text) <= n else "...[%d chars cut]...\n%s" % (len(text) - n, text[-n:])


class CaseFail(Exception):
    """The case failed; the message says why (first line goes on the result line)."""


class CaseSkip(Exception):
    pass


# ---------------------------------------------------------------------------
# Processes

# Children in sessions of their own, killed as whole groups on a timeout, on
# SIGTERM and at exit: tests/py/support.py's set and helpers.
_live = support._live
kill_group = support._kill_group
_kill_all = support._kill_all_live


class Result(object):
    def __init__(self, args, rc, out, err, secs, timed_out):
        self.args, self.rc, self.out, self.err = args, rc, out, err
        self.secs, self.timed_out = secs, timed_out

    @property
    def strobe_lines(self):
        return [l for l in self.err.splitlines() if l.startswith("strobe: ")]

    def describe(self):
        return ("command: %s\nexit status: %s%s (%.1f s)\n--- stdout ---\n%s\n--- stderr ---\n%s"
                % (" ".join(self.args), self.rc, " (TIMED OUT, killed)" if self.timed_out else "",
                   self.secs, tail(self.out), tail(self.err)))


def child_env(extra=None):
    env = dict(os.environ)
    for k in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONINSPECT", "PYTHONWARNINGS",
              "PYTHONDEVMODE", "PYTHONEXECUTABLE", "PYTHONMALLOC", "__PYVENV_LAUNCHER__"):
        env.pop(k, None)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PYTHONIOENCODING"] = "utf-8"
    if extra:
        env.update(extra)
    return env


def spawn(args, cwd=None, env=None, stdout=subprocess.PIPE, stderr=subprocess.PIPE):
    proc = subprocess.Popen([str(a) for a in args], cwd=cwd, env=env or child_env(),
                            stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr,
                            start_new_session=True)
    _live.add(proc)
    return proc


def finish(proc, args, t0, timeout):
    timed_out = False
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        kill_group(proc)
        try:
            out, err = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            out, err = b"", b""
    secs = time.monotonic() - t0
    _live.discard(proc)
    try:  # anything the program left in its group
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    dec = lambda b: (b or b"").decode("utf-8", "replace")  # noqa: E731
    return Result([str(a) for a in args], proc.returncode, dec(out), dec(err), secs, timed_out)


def run(args, timeout, cwd=None, env=None):
    t0 = time.monotonic()
    return finish(spawn(args, cwd=cwd, env=env), args, t0, timeout)


# ---------------------------------------------------------------------------
# Interpreters (as tests/run.py finds them)

RELEASE = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")


def find_interpreters(build, wanted):
    """[(tag '3.12', name '3.12.1', exe or None, skip reason or None)] for
    every supported minor version (filtered by --python)."""
    pyenv_root = os.environ.get("PYENV_ROOT") or os.path.join(os.path.expanduser("~"), ".pyenv")
    versions_dir = os.path.join(pyenv_root, "versions")
    found = {}
    for d in glob.glob(os.path.join(versions_dir, "*")):
        m = RELEASE.match(os.path.basename(d))
        if not m:
            continue
        ver = tuple(int(x) for x in m.groups())
        exe = os.path.join(d, "bin", "python%d.%d" % ver[:2])
        if ver[:2] in SUPPORTED and os.access(exe, os.X_OK):
            found.setdefault(ver[:2], []).append((ver, os.path.basename(d), exe))
    out = []
    for w in wanted:
        if w not in ["%d.%d" % m for m in SUPPORTED]:
            out.append((w, w, None, "not a supported version (3.8 to 3.13)"))
    for minor in SUPPORTED:
        tag = "%d.%d" % minor
        if wanted and tag not in wanted:
            continue
        cands = sorted(found.get(minor, []))
        if not cands:
            out.append((tag, tag, None, "not installed (looked in %s)" % versions_dir))
            continue
        ver, name, exe = cands[-1]
        ext = glob.glob(os.path.join(build, "python", "strobe", "_strobe.cpython-%d%d-*.so" % minor))
        if not ext:
            out.append((tag, name, None, "extension _strobe.cpython-%d%d-*.so missing in %s"
                        % (minor[0], minor[1], os.path.join(build, "python", "strobe"))))
            continue
        out.append((tag, name, exe, None))
    return out


# ---------------------------------------------------------------------------
# Profiles

class Ctx(object):
    """What one (case, interpreter) run needs."""

    def __init__(self, args, tag, name, exe, tmp):
        self.strobe = os.path.join(os.path.abspath(args.build), "bin", "strobe")
        self.quick = args.quick
        self.verbose = args.verbose
        self.tag, self.name, self.py = tag, name, exe
        self.minor = tuple(int(x) for x in tag.split("."))
        self.tmp = tmp
        self.notes = []      # extra lines printed under the result line with -v, or on failure
        self.gotmp = args.gotmp

    def path(self, *names):
        return os.path.join(self.tmp, *names)

    def record_args(self, out, program, rate=RATE, extra=()):
        return ([self.strobe, "record", "-r", str(rate), "-o", out, "--max-overhead", "0"] + list(extra)
                + ["--", self.py] + [str(a) for a in program])

    def record(self, out, program, timeout, cwd=None, **kw):
        return run(self.record_args(out, program, **kw), timeout, cwd=cwd or self.tmp)

    def note(self, msg, always=False):
        """A line printed under the result: with -v, on failure, or always."""
        self.notes.append((msg, always))


def summary_line(res, out):
    """The summary line naming `out`, or CaseFail."""
    for line in res.strobe_lines:
        m = SUMMARY_RE.match(line)
        if m and os.path.abspath(m.group(3)) == os.path.abspath(out):
            return int(m.group(1)), int(m.group(2)), line
    raise CaseFail("no strobe summary line naming %s on stderr\n%s" % (out, res.describe()))


def go_raw(ctx, path):
    """`go tool pprof -raw PATH` must succeed and print samples; None if no go."""
    go = shutil.which("go") or ("/usr/bin/go" if os.access("/usr/bin/go", os.X_OK) else None)
    if go is None:
        return None
    env = child_env({"PPROF_TMPDIR": ctx.gotmp, "HOME": os.environ.get("HOME") or ctx.gotmp,
                     "GOCACHE": os.path.join(ctx.gotmp, "gocache"), "GOTOOLCHAIN": "local",
                     "GO111MODULE": "off", "GOFLAGS": "-mod=mod"})
    res = run([go, "tool", "pprof", "-raw", path], 300, cwd=ctx.gotmp, env=env)
    if res.rc != 0 or "Samples:" not in res.out:
        raise CaseFail("go tool pprof -raw %s failed\n%s" % (path, res.describe()))
    return res.out


def load_profile(ctx, path, res, need_samples=True):
    """Check the profile exists and parses (Python decoder and go tool pprof);
    return (samples, comments)."""
    if not os.path.isfile(path):
        raise CaseFail("profile %s was not written\n%s" % (path, res.describe() if res else ""))
    try:
        prof = support.read_pprof(path)
        samples = prof.to_samples()
    except Exception as e:
        raise CaseFail("profile %s does not parse: %s" % (path, e))
    comments = [prof.string_table[i] for i in prof.comments]
    if go_raw(ctx, path) is None and not any(n.startswith("go not found") for n, _a in ctx.notes):
        ctx.note("go not found: profile checked with the Python decoder only")
    if need_samples and not samples:
        raise CaseFail("profile %s has no samples\n%s" % (path, res.describe() if res else ""))
    return samples, comments


def leftovers(directory, keep=()):
    """Temporary profile files (.NAME.XXXXXX.tmp) and anything not in `keep`."""
    return sorted(f for f in os.listdir(directory) if f not in keep)


def last_json(text):
    for line in reversed(text.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                pass
    return None


def torture(name):
    return os.path.join(HERE, name)


# ---------------------------------------------------------------------------
# Case 1: CPython's own regression tests

FAILED_LINE = re.compile(r"^(FAIL|ERROR): (\S+) \(([^)]*)\)(?: \((.*)\))?\s*$")
MODULE_LIST = re.compile(r"^(\d+|All \d+) tests? (OK|failed|altered the execution environment|skipped|"
                         r"run no tests|omitted|crashed|timed out|interrupted|passed)")


def regrtest_capabilities(ctx):
    res = run([ctx.py, "-c", "import os, test, test.libregrtest; print(os.path.dirname(test.__file__))"], 120)
    if res.rc != 0:
        raise CaseSkip("no CPython test suite for %s (import test.libregrtest failed)" % ctx.name)
    testdir = res.out.strip().splitlines()[-1]
    res = run([ctx.py, "-m", "test", "--help"], 120)
    return testdir, "--timeout" in res.out, "--junit-xml" in res.out


def parse_regrtest(res, xml_path):
    """{test id: outcome} (pass, skip, fail, error, xfail, xpass), the module
    lists by category, the 'Tests result' word, and whether the XML was there."""
    tests = {}
    have_xml = False
    if xml_path and os.path.isfile(xml_path):
        try:
            root = ET.parse(xml_path).getroot()
            have_xml = True
        except ET.ParseError:
            root = None
        for tc in (root.iter("testcase") if root is not None else ()):
            name = tc.get("name")
            if not name:
                continue
            tags = set(ch.tag for ch in tc)
            if "error" in tags:
                o = "error"
            elif "failure" in tags:
                o = "fail"
            elif "skipped" in tags:
                o = "skip"
            elif "output" in tags:
                o = "xfail"
            elif tc.get("outcome") == "UNEXPECTED_SUCCESS":
                o = "xpass"
            else:
                o = "pass"
            tests[name] = o
    # unittest's "FAIL: test_x (module.Class)" lines: the XML misses failed subtests
    for line in (res.out + "\n" + res.err).splitlines():
        m = FAILED_LINE.match(line)
        if not m:
            continue
        kind, meth, desc = m.group(1), m.group(2), m.group(3)
        tid = desc if desc.endswith("." + meth) else desc + "." + meth
        tests[tid] = "error" if kind == "ERROR" else "fail"
    modules = {}
    lines = res.out.splitlines()
    for i, line in enumerate(lines):
        m = MODULE_LIST.match(line.strip())
        if not m or line.startswith(" "):
            continue
        cat = m.group(2)
        names = []
        for nxt in lines[i + 1:]:
            if not nxt.startswith("    "):
                break
            names.extend(nxt.split())
        if cat == "OK" and not names:
            continue
        modules.setdefault(cat, set()).update(names)
    result = None
    for line in lines:
        m = re.match(r"^(?:Tests )?[Rr]esult: (.+?)\s*$", line.strip())
        if m:
            result = m.group(1)
    return tests, modules, result, have_xml


def regrtest_cmd(ctx, tests, xml, has_timeout, has_junit, match=None):
    cmd = ["-m", "test"] + list(tests)
    if match:
        cmd += ["-m", match]
    if has_timeout:
        cmd += ["--timeout", "600"]
    if has_junit and xml:
        cmd += ["--junit-xml", xml]
    return cmd


def regrtest_once(ctx, label, tests, has_timeout, has_junit, strobe, timeout, match=None):
    d = ctx.path(label)
    os.makedirs(os.path.join(d, "tmp"), exist_ok=True)
    xml = os.path.join(d, "results.xml")
    if os.path.exists(xml):
        os.unlink(xml)
    prog = regrtest_cmd(ctx, tests, xml, has_timeout, has_junit, match)
    env = child_env({"TMPDIR": os.path.join(d, "tmp")})
    out = os.path.join(d, "regrtest.pprof")
    if strobe:
        args = ctx.record_args(out, prog)
    else:
        args = [ctx.py] + prog
    res = run(args, timeout, cwd=d, env=env)
    tests_, modules, result, have_xml = parse_regrtest(res, xml if has_junit else None)
    return res, tests_, modules, result, have_xml, out


def rerun_outcome(ctx, label, suite, tid, caps, strobe):
    res, tests, _m, result, _x, _o = regrtest_once(ctx, label, [suite], caps[1], caps[2], strobe, 900,
                                                   match=tid)
    o = tests.get(tid)
    if o is not None:
        return o
    if res.timed_out or (res.rc is not None and res.rc < 0):
        return "crash"
    if result and "SUCCESS" in result:
        return "pass"
    if result and "FAILURE" in result:
        return "fail"      # e.g. a failed subtest: the XML has no name for it
    return "unknown(%s)" % (result or "exit %s" % res.rc)


def case_regrtest(ctx, suite):
    testdir, has_timeout, has_junit = regrtest_capabilities(ctx)
    where = os.path.join(testdir, suite) if suite == "test_asyncio" else os.path.join(testdir, suite + ".py")
    if not os.path.exists(where):
        raise CaseSkip("%s is not in this interpreter's test suite (%s missing)" % (suite, where))
    if ctx.quick:
        tests = (["test_asyncio.test_locks", "test_asyncio.test_queues", "test_asyncio.test_tasks"]
                 if suite == "test_asyncio" else ["test_threading"])
        match = None if suite == "test_asyncio" else "ThreadTests"
    else:
        tests, match = [suite], None
    timeout = 600 if ctx.quick else 3600
    caps = (testdir, has_timeout, has_junit)
    base = regrtest_once(ctx, "without", tests, has_timeout, has_junit, False, timeout, match)
    withs = regrtest_once(ctx, "with", tests, has_timeout, has_junit, True, timeout, match)
    bres, btests, bmods, bresult, bxml, _ = base
    sres, stests, smods, sresult, sxml, sout = withs
    ratio = sres.secs / bres.secs if bres.secs > 0 else 0.0
    timing = "%.0f s without, %.0f s with strobe (x%.2f)" % (bres.secs, sres.secs, ratio)
    if bres.timed_out:
        raise CaseFail("the run WITHOUT strobe timed out after %.0f s: the machine is too slow or the "
                       "suite hangs by itself\n%s" % (bres.secs, bres.describe()))
    if sres.timed_out:
        raise CaseFail("HANG: the run with strobe timed out after %.0f s (without: %.0f s)\n%s"
                       % (sres.secs, bres.secs, sres.describe()))
    if sres.rc is not None and sres.rc < 0:
        raise CaseFail("the run with strobe died of signal %d (without: exit %s)\n%s"
                       % (-sres.rc, bres.rc, sres.describe()))
    if not btests:
        raise CaseFail("no per-test results from the run without strobe (exit %s)\n%s"
                       % (bres.rc, bres.describe()))
    problems = []
    # the profile of the run with strobe
    try:
        nsamples, nthreads, _line = summary_line(sres, sout)
        samples, _c = load_profile(ctx, sout, sres)
    except CaseFail as e:
        problems.append(str(e))
        nsamples = nthreads = 0
    # per-test comparison.  A test whose subtests fail has no name in the
    # XML (regrtest's result class does not record subtests), so it shows as
    # missing: missing tests are re-run like failed ones.
    bad = ("fail", "error")
    diffs = sorted(t for t, o in btests.items() if o in ("pass", "xfail") and stests.get(t) in bad)
    missing = sorted(t for t, o in btests.items() if o in ("pass", "xfail") and t not in stests)
    both = sorted(t for t, o in btests.items() if o in bad)
    counts = {}
    for o in btests.values():
        counts[o] = counts.get(o, 0) + 1
    confirmed, flaky = [], []
    suspects = diffs + missing
    if len(missing) > 10:
        problems.append("%d tests that passed without strobe did not report with it (a crash?): %s ..."
                        % (len(missing), ", ".join(missing[:10])))
        suspects = diffs
    for tid in suspects[:10]:
        # Re-run the one test, 3 times with and 3 times without strobe: a
        # loaded 2-core machine makes some timing-based tests flaky by themselves.
        suite0 = tests[0].split(".")[0]
        w = [rerun_outcome(ctx, "rerun-with-%d" % i, suite0, tid, caps, True) for i in range(3)]
        wo = [rerun_outcome(ctx, "rerun-without-%d" % i, suite0, tid, caps, False) for i in range(3)]
        nw = sum(1 for o in w if o in bad + ("crash",))
        nwo = sum(1 for o in wo if o in bad + ("crash",))
        desc = ("%s [%s with strobe] (re-run alone: failed %d/3 with strobe %s, %d/3 without %s)"
                % (tid, stests.get(tid, "missing"), nw, "/".join(w), nwo, "/".join(wo)))
        if nw and not nwo:
            confirmed.append(desc)
        else:
            flaky.append(desc)
    confirmed += ["%s (not re-run: more than 10 differences)" % t for t in suspects[10:]]
    if confirmed:
        problems.append("passed without strobe, failed with it: " + "; ".join(confirmed))
    for cat in ("failed", "altered the execution environment", "crashed", "timed out", "interrupted"):
        only = smods.get(cat, set()) - bmods.get(cat, set())
        if only and not suspects:
            problems.append("regrtest says %s %s with strobe only" % (", ".join(sorted(only)), cat))
    if bresult and not sresult:
        problems.append("no 'Tests result' line in the run with strobe (exit %s)" % sres.rc)
    if sres.rc != bres.rc and not suspects and not problems:
        problems.append("exit status %s with strobe, %s without" % (sres.rc, bres.rc))
    for f in flaky:
        ctx.note("flaky, not counted: " + f, always=True)
    if both:
        ctx.note("failed without strobe too (not strobe's): " + ", ".join(both[:20])
                 + (" ..." if len(both) > 20 else ""), always=True)
    smry = ("%d tests (%s); %s; profile %d samples, %d threads"
            % (len(btests), ", ".join("%d %s" % (n, o) for o, n in sorted(counts.items())), timing,
               nsamples, nthreads))
    if flaky:
        smry += "; %d flaky (see notes)" % len(flaky)
    ctx.note("without: %s; with: %s" % (bresult, sresult))
    if problems:
        raise CaseFail("%s\n%s\n--- run with strobe ---\n%s" % ("; ".join(problems), smry, sres.describe()))
    return smry


def case_regrtest_asyncio(ctx):
    return case_regrtest(ctx, "test_asyncio")


def case_regrtest_threading(ctx):
    return case_regrtest(ctx, "test_threading")


# ---------------------------------------------------------------------------
# Case 2: 10,000-deep recursion

OMITTED = re.compile(r"^<(\d+)(\+?) frames omitted>$")


def case_deep_recursion(ctx):
    depth = 10000
    secs = 0.5 if ctx.quick else 2.0
    out = ctx.path("deep.pprof")
    res = ctx.record(out, [torture("deep_recursion.py"), depth, secs], timeout=180)
    if res.timed_out or res.rc != 0:
        raise CaseFail("exit status %s%s\n%s" % (res.rc, " (timed out)" if res.timed_out else "", res.describe()))
    info = last_json(res.out)
    if not info:
        raise CaseFail("the program printed no result\n" + res.describe())
    frames = info["frames_at_bottom"]
    summary_line(res, out)
    samples, comments = load_profile(ctx, out, res)
    want = frames - MAX_DEPTH
    bottom = [s for s in samples if any(f.name == "spin_at_bottom" for f in s.frames)]
    if not bottom:
        raise CaseFail("no sample at the bottom (in spin_at_bottom)\n" + support.describe_samples(samples))
    ns = {}
    for s in bottom:
        om = [f for f in s.frames if OMITTED.match(f.name)]
        if len(om) != 1 or s.frames[0] is not om[0]:
            raise CaseFail("a stack at the bottom does not start with exactly one '<N frames omitted>' "
                           "element: %d such elements, first frame %r" % (len(om), s.frames[0].name))
        n = int(OMITTED.match(om[0].name).group(1))
        ns[n] = ns.get(n, 0) + s.count
        kept = [f for f in s.frames[1:] if not f.synthetic]
        others = set(f.name for f in kept) - {"recurse", "spin_at_bottom"}
        if others:
            raise CaseFail("kept frames at the bottom include %s" % sorted(others))
        if not MAX_DEPTH - 2 <= len(s.frames) - 1 <= MAX_DEPTH + 1:
            raise CaseFail("a bottom stack keeps %d frames (max-depth %d)" % (len(s.frames) - 1, MAX_DEPTH))
    far = [n for n in ns if abs(n - want) > 2]
    if far:
        raise CaseFail("'<N frames omitted>' with N=%s; expected %d (%d frames at the bottom - %d)"
                       % (sorted(ns), want, frames, MAX_DEPTH))
    rate = [c for c in comments if "rate-achieved" in c]
    return ("%d frames deep; %d samples at the bottom, each '<%s frames omitted>' + %d frames; %s"
            % (frames, sum(ns.values()), "/".join(str(n) for n in sorted(ns)), MAX_DEPTH,
               rate[0].split()[-1] if rate else ""))


# ---------------------------------------------------------------------------
# Case 3: 2,000 threads started and ended while sampled

def case_thread_churn(ctx):
    waves, per = (5, 100) if ctx.quick else (20, 100)
    out = ctx.path("threads.pprof")
    res = ctx.record(out, [torture("thread_churn.py"), waves, per], timeout=600)
    if res.timed_out or res.rc != 0:
        raise CaseFail("exit status %s%s\n%s" % (res.rc, " (timed out)" if res.timed_out else "", res.describe()))
    info = last_json(res.out) or {}
    if info.get("threads_done") != waves * per:
        raise CaseFail("only %s of %d threads finished\n%s" % (info.get("threads_done"), waves * per, res.describe()))
    nsamples, nthreads, _ = summary_line(res, out)
    samples, comments = load_profile(ctx, out, res)
    names = set(s.thread for s in samples)
    workers = set(n for n in names if re.match(r"^wave\d\d-t\d\d\d$", n or ""))
    unnamed = sum(s.count for s in samples if (s.thread or "").startswith("tid-"))
    waves_seen = set(n[:6] for n in workers)
    need = (waves * per) // 4
    if len(workers) < need:
        raise CaseFail("samples from only %d distinct worker threads of %d started (want >= %d)"
                       % (len(workers), waves * per, need))
    if len(waves_seen) < waves:
        raise CaseFail("samples from %d of %d waves" % (len(waves_seen), waves))
    c = [x for x in comments if "ticks=" in x]
    if c:
        ctx.note(c[0])
    return ("%d threads in %d waves ran; samples from %d distinct worker names, %d samples under tid-N; "
            "summary says %d threads" % (waves * per, waves, len(workers), unnamed, nthreads))


# ---------------------------------------------------------------------------
# Case 4: 50,000 pending asyncio tasks

def case_many_tasks(ctx):
    n, busy = (10000, 1.0) if ctx.quick else (50000, 3.0)
    out = ctx.path("tasks.pprof")
    res = ctx.record(out, [torture("many_tasks.py"), n, busy], timeout=600)
    if res.timed_out or res.rc != 0:
        raise CaseFail("exit status %s%s\n%s" % (res.rc, " (timed out)" if res.timed_out else "", res.describe()))
    info = last_json(res.out) or {}
    if not info.get("ok") or info.get("pending_while_busy") != n:
        raise CaseFail("the program's own check failed: %s\n%s" % (info, res.describe()))
    _ns, _nt, line = summary_line(res, out)
    samples, comments = load_profile(ctx, out, res)
    aio = [c for c in comments if c.startswith("strobe: asyncio:")]
    m = re.search(r"tasks-read=(\d+)", aio[0]) if aio else None
    if not m:
        raise CaseFail("no 'strobe: asyncio: tasks-read=' comment in the profile: %s" % comments)
    read = int(m.group(1))
    if read <= 0:
        raise CaseFail("tasks-read=0: no task was read (%s)" % aio[0])
    susp = sum(s.count for s in samples if s.labels.get("task state") == "suspended")
    ctx.note(aio[0])
    rate = re.search(r"\(([\d.]+ Hz achieved[^)]*)\)", line)
    return ("%d tasks; tasks-read=%d; %d suspended-task samples; %s"
            % (n, read, susp, rate.group(1) if rate else "rate as asked"))


# ---------------------------------------------------------------------------
# Case 5: os.fork() in a profiled program

FORK_PROBE = "import os\npid = os.fork()\nif pid == 0:\n    os._exit(0)\nos.waitpid(pid, 0)\n"


def case_fork(ctx):
    outdir = ctx.path("out")
    cwd = ctx.path("cwd")
    os.makedirs(outdir)
    os.makedirs(cwd)
    out = os.path.join(outdir, "parent.pprof")
    items = 10 if ctx.quick else 40
    res = ctx.record(out, [torture("fork_children.py"), outdir, items], timeout=600, cwd=cwd)
    if res.timed_out or res.rc != 0:
        raise CaseFail("exit status %s%s\n%s" % (res.rc, " (timed out)" if res.timed_out else "", res.describe()))
    info = last_json(res.out) or {}
    if info.get("problems") != [] or not info.get("parent_value_ok"):
        raise CaseFail("children did not do their work: %s\n%s" % (info.get("problems"), res.describe()))
    summary_line(res, out)
    summaries = [l for l in res.strobe_lines if SUMMARY_RE.match(l)]
    if len(summaries) != 1:
        raise CaseFail("%d summary lines on stderr (children must not write one):\n%s"
                       % (len(summaries), "\n".join(summaries)))
    samples, _c = load_profile(ctx, out, res)
    names = set(s.thread for s in samples)
    if "bg-spinner" not in names or "MainThread" not in names:
        raise CaseFail("parent profile lacks MainThread or bg-spinner: %s" % sorted(names))
    extra = leftovers(outdir, keep=("parent.pprof", "child-own.pprof"))
    if extra:
        raise CaseFail("unexpected files beside the profile (a child's profile or a temp file?): %s" % extra)
    if os.listdir(cwd):
        raise CaseFail("files appeared in the working directory (a child wrote a default profile?): %s"
                       % os.listdir(cwd))
    own = os.path.join(outdir, "child-own.pprof")
    csamples, _cc = load_profile(ctx, own, None)
    cfuncs = set(f.name for s in csamples for f in s.frames)
    if "crunch" not in cfuncs:
        raise CaseFail("the child's own profile has no 'crunch' frame: %s" % sorted(cfuncs)[:20])
    if "pool_work" in cfuncs or "bg-spinner" in set(s.thread for s in csamples):
        raise CaseFail("the child's own profile holds the parent's samples")
    # What strobe changes for a forking program: 3.12+ warn when fork() sees
    # other threads in /proc/self/stat, and strobe's sampler is one.
    probe = ctx.path("fork_probe.py")
    with open(probe, "w") as f:
        f.write(FORK_PROBE)
    p0 = run([ctx.py, probe], 60, cwd=ctx.tmp)
    p1 = ctx.record(ctx.path("probe.pprof"), [probe], timeout=60)
    w0 = "multi-threaded" in p0.err
    w1 = "multi-threaded" in p1.err
    warn = ""
    if w1 and not w0:
        warn = "; a single-threaded fork() warns 'DeprecationWarning: This process is multi-threaded' under strobe only"
    if p1.rc != 0 or p0.rc != 0:
        raise CaseFail("fork probe: exit %s without, %s with strobe\n%s" % (p0.rc, p1.rc, p1.describe()))
    kids = info.get("children", {})
    first = ("children exited 7/9/0, pool %d items, Process exitcode 5; parent profile %d samples from %d threads; "
             "no child profile, one summary line; child's own strobe.start() profile: %d samples"
             % (kids.get("pool", {}).get("items", 0), sum(s.count for s in samples), len(names),
                sum(s.count for s in csamples)))
    # Part 2: a fork storm at 2000 Hz, half the children profiling themselves.
    nforks = 60 if ctx.quick else 300
    sdir = ctx.path("storm")
    os.makedirs(sdir)
    sout = ctx.path("storm.pprof")
    res = ctx.record(sout, ["-W", "ignore::DeprecationWarning", torture("fork_storm.py"), nforks, sdir],
                     timeout=600, rate=2000)
    if res.timed_out or res.rc != 0:
        raise CaseFail("fork storm: exit status %s%s\n%s"
                       % (res.rc, " (timed out: a child or the parent hung)" if res.timed_out else "",
                          res.describe()))
    summary_line(res, sout)
    load_profile(ctx, sout, res)
    want = ["c%d.pprof" % i for i in range(0, nforks, 2)]
    have = sorted(os.listdir(sdir))
    if sorted(want) != have:
        raise CaseFail("fork storm: children's own profiles: %d expected, found %d (%s)"
                       % (len(want), len(have), sorted(set(have) ^ set(want))[:10]))
    for f in have:
        try:
            support.read_pprof(os.path.join(sdir, f))
        except Exception as e:
            raise CaseFail("fork storm: child profile %s does not parse: %s" % (f, e))
    return ("%s; fork storm: %d forks at 2000 Hz in %.1f s, %d child profiles parse%s"
            % (first, nforks, res.secs, len(have), warn))


# ---------------------------------------------------------------------------
# Case 6: interpreter shutdown while the sampler runs

SHUTDOWN_VARIANTS = [
    # variant, exit status, profile expected
    ("daemon-threads", 3, True),
    ("asyncio-pending", 4, True),
    ("asyncio-run-exit", 5, True),
    ("main-exits", 6, True),
    ("exception", 1, True),
    ("os-exit", 7, False),
    ("os-exit-thread", 8, False),
]


def case_shutdown(ctx):
    done, problems = [], []
    for variant, status, want_profile in SHUTDOWN_VARIANTS:
        d = ctx.path(variant)
        os.makedirs(d)
        out = os.path.join(d, "out.pprof")
        res = ctx.record(out, [torture("shutdown.py"), variant], timeout=60, cwd=d)
        what = "%s %.1fs" % (variant, res.secs)
        try:
            if res.timed_out:
                raise CaseFail("%s: HANG, killed after 60 s\n%s" % (variant, res.describe()))
            if "ready" not in res.out:
                raise CaseFail("%s: the program did not start\n%s" % (variant, res.describe()))
            if res.rc != status:
                raise CaseFail("%s: exit status %s, expected %d\n%s" % (variant, res.rc, status, res.describe()))
            if want_profile:
                summary_line(res, out)
                load_profile(ctx, out, res)
                extra = leftovers(d, keep=("out.pprof",))
            else:
                if os.path.exists(out):
                    raise CaseFail("%s: a profile was written after os._exit()" % variant)
                if any(SUMMARY_RE.match(l) for l in res.strobe_lines):
                    raise CaseFail("%s: a summary line after os._exit()\n%s" % (variant, res.describe()))
                extra = leftovers(d)
            if extra:
                raise CaseFail("%s: files left beside the output: %s" % (variant, extra))
            done.append(what)
        except CaseFail as e:
            problems.append(str(e))
    if problems:
        raise CaseFail("; ".join(p.splitlines()[0] for p in problems) + "\n" + "\n".join(problems))
    return "all %d exited with their own status: %s" % (len(done), ", ".join(done))


# ---------------------------------------------------------------------------
# Case 7: SIGTERM, SIGINT and SIGKILL mid-run

def signal_run(ctx, label, sig, wait=1.5):
    d = ctx.path(label)
    os.makedirs(d)
    out = os.path.join(d, "out.pprof")
    ready = os.path.join(d, "ready")
    args = ctx.record_args(out, [torture("busy.py"), ready, 120])
    t0 = time.monotonic()
    proc = spawn(args, cwd=d)
    deadline = time.monotonic() + 120
    while not os.path.exists(ready):
        if proc.poll() is not None or time.monotonic() > deadline:
            res = finish(proc, args, t0, 10)
            raise CaseFail("%s: the program did not get ready\n%s" % (label, res.describe()))
        time.sleep(0.05)
    time.sleep(wait)
    ts = time.monotonic()
    os.kill(proc.pid, sig)
    res = finish(proc, args, t0, 60)
    died = time.monotonic() - ts
    if res.timed_out:
        raise CaseFail("%s: HANG: still alive 60 s after %s (killed)\n%s"
                       % (label, signal.Signals(sig).name, res.describe()))
    return res, out, d, died


def case_signals(ctx):
    parts = []
    # SIGTERM: dies of SIGTERM, the profile is complete
    res, out, d, died = signal_run(ctx, "sigterm", signal.SIGTERM)
    if res.rc != -signal.SIGTERM:
        raise CaseFail("SIGTERM: exit status %s, expected -15\n%s" % (res.rc, res.describe()))
    summary_line(res, out)
    samples, _c = load_profile(ctx, out, res)
    names = set(s.thread for s in samples)
    tasks = sum(s.count for s in samples if s.labels.get("task name"))
    if not {"spin-a", "spin-b", "MainThread"} <= names:
        raise CaseFail("SIGTERM: the profile lacks threads: %s" % sorted(names))
    if tasks == 0:
        raise CaseFail("SIGTERM: the profile has no asyncio task samples")
    extra = leftovers(d, keep=("out.pprof", "ready"))
    if extra:
        raise CaseFail("SIGTERM: files left beside the output: %s" % extra)
    parts.append("SIGTERM: -15 after %.2f s, %d samples, %d threads, %d task samples"
                 % (died, sum(s.count for s in samples), len(names), tasks))
    # SIGINT (Ctrl-C): KeyboardInterrupt, the profile is written through atexit
    res, out, d, died = signal_run(ctx, "sigint", signal.SIGINT)
    if res.rc != -signal.SIGINT:   # an uncaught KeyboardInterrupt re-kills itself with SIGINT (3.8+)
        raise CaseFail("SIGINT: exit status %s, expected -2\n%s" % (res.rc, res.describe()))
    summary_line(res, out)
    samples, _c = load_profile(ctx, out, res)
    extra = leftovers(d, keep=("out.pprof", "ready"))
    if extra:
        raise CaseFail("SIGINT: files left beside the output: %s" % extra)
    parts.append("SIGINT: %s after %.2f s, %d samples" % (res.rc, died, sum(s.count for s in samples)))
    # SIGKILL: dies at once, nothing left behind
    res, out, d, died = signal_run(ctx, "sigkill", signal.SIGKILL)
    if res.rc != -signal.SIGKILL:
        raise CaseFail("SIGKILL: exit status %s, expected -9\n%s" % (res.rc, res.describe()))
    extra = leftovers(d, keep=("ready",))
    if extra:
        raise CaseFail("SIGKILL: files left beside the output: %s" % extra)
    parts.append("SIGKILL: -9 after %.2f s, no profile and no temporary file" % died)
    return "; ".join(parts)


# ---------------------------------------------------------------------------

CASES = [
    ("regrtest-asyncio", case_regrtest_asyncio),
    ("regrtest-threading", case_regrtest_threading),
    ("deep-recursion", case_deep_recursion),
    ("thread-churn", case_thread_churn),
    ("many-tasks", case_many_tasks),
    ("fork", case_fork),
    ("shutdown", case_shutdown),
    ("signals", case_signals),
]


def main():
    ap = argparse.ArgumentParser(description="strobe torture runs (docs/TORTURE.md)")
    ap.add_argument("--build", default="build", help="build directory (default: build)")
    ap.add_argument("--python", action="append", default=[], metavar="3.X",
                    help="only this interpreter version (repeatable)")
    ap.add_argument("-k", action="append", default=[], metavar="CASE",
                    help="only cases whose name contains CASE (repeatable)")
    ap.add_argument("--quick", action="store_true", help="a shorter variant of each case (smoke run)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directories")
    ap.add_argument("-v", "--verbose", action="store_true", help="print each case's notes")
    args = ap.parse_args()
    args.build = os.path.abspath(args.build)

    support.install_sigterm_cleanup()
    cases = [(n, f) for n, f in CASES if not args.k or any(k in n for k in args.k)]
    if not cases:
        say("no case matches %s; cases: %s" % (args.k, ", ".join(n for n, _ in CASES)))
        say("0 passed, 0 failed")
        return 1
    interps = find_interpreters(args.build, args.python)
    strobe = os.path.join(args.build, "bin", "strobe")
    if not os.access(strobe, os.X_OK):
        say("FAIL  %s is missing: build first (make BUILD=%s all)" % (strobe, os.path.basename(args.build)))
        say("0 passed, 1 failed")
        return 1
    top = tempfile.mkdtemp(prefix="strobe-torture-")
    args.gotmp = os.path.join(top, "go")
    os.makedirs(args.gotmp)
    say("== strobe torture%s: %s, %d cases x %d interpreters (%s), temp %s"
        % (" (quick)" if args.quick else "", strobe, len(cases), len(interps),
           ", ".join(n if e else n + " skipped" for _t, n, e, _s in interps), top))
    passed = failed = skipped = 0
    times = {}
    failures = []
    t_all = time.monotonic()
    try:
        for cname, func in cases:
            for tag, name, exe, why in interps:
                if exe is None:
                    skipped += 1
                    say("SKIP  %-18s %-7s %7s    %s" % (cname, tag, "-", why))
                    continue
                tmp = os.path.join(top, "%s-%s" % (cname, tag))
                os.makedirs(tmp)
                ctx = Ctx(args, tag, name, exe, tmp)
                t0 = time.monotonic()
                status, detail = "PASS", ""
                try:
                    detail = func(ctx)
                except CaseSkip as e:
                    status, detail = "SKIP", str(e)
                except CaseFail as e:
                    status, detail = "FAIL", str(e)
                except Exception as e:  # a bug in this runner: say so, keep going
                    import traceback
                    status, detail = "FAIL", "runner error: %r\n%s" % (e, traceback.format_exc())
                secs = time.monotonic() - t0
                times[(cname, tag)] = secs
                first, _, rest = detail.partition("\n")
                say("%s  %-18s %-7s %7.1f s  %s" % (status, cname, name, secs, first))
                if status == "PASS":
                    passed += 1
                elif status == "SKIP":
                    skipped += 1
                else:
                    failed += 1
                    failures.append((cname, name))
                if (status == "FAIL" and rest.strip()) or (args.verbose and rest.strip()):
                    for line in rest.rstrip().splitlines():
                        say("      | " + line)
                for n, always in ctx.notes:
                    if always or args.verbose or status != "PASS":
                        say("      note: " + n)
                if not args.keep:
                    shutil.rmtree(tmp, True)
    finally:
        _kill_all()
        if not args.keep:
            shutil.rmtree(top, True)
    tags = [t for t, _n, e, _w in interps if e]
    if times:
        say("")
        say("seconds per case and interpreter (total %.0f s):" % (time.monotonic() - t_all))
        say("%-18s" % "case" + "".join("%8s" % t for t in tags) + "%9s" % "total")
        for cname, _f in cases:
            row = [times.get((cname, t)) for t in tags]
            say("%-18s" % cname + "".join("%8s" % ("%.0f" % x if x is not None else "-") for x in row)
                + "%9.0f" % sum(x for x in row if x is not None))
        say("")
    if failures:
        say("failed: " + ", ".join("%s on %s" % f for f in failures))
    if args.keep:
        say("kept %s" % top)
    line = "%d passed, %d failed" % (passed, failed)
    if skipped:
        line += ", %d skipped" % skipped
    say(line)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
