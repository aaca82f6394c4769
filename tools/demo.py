#!/usr/bin/env python3
"""tools/demo.py — what `make demo` runs: profile examples/demo_app.py with
build/bin/strobe under the newest supported pyenv CPython, in both formats,
then say where the profiles are and how to open them.

    python3 tools/demo.py [--build build] [--seconds 5]
"""

import argparse
import glob
import os
import re
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SUPPORTED = [(3, 8), (3, 9), (3, 10), (3, 11), (3, 12), (3, 13)]


def newest_python(build):
    """The newest pyenv CPython 3.8-3.13 whose extension is built (no PATH)."""
    pyenv_root = os.environ.get("PYENV_ROOT") or os.path.join(os.path.expanduser("~"), ".pyenv")
    best = None
    for d in glob.glob(os.path.join(pyenv_root, "versions", "*")):
        m = re.match(r"^(\d+)\.(\d+)\.(\d+)$", os.path.basename(d))
        if not m:
            continue
        ver = tuple(int(x) for x in m.groups())
        exe = os.path.join(d, "bin", "python%d.%d" % ver[:2])
        if ver[:2] not in SUPPORTED or not os.access(exe, os.X_OK):
            continue
        if not glob.glob(os.path.join(build, "python", "strobe", "_strobe.cpython-%d%d-*.so" % ver[:2])):
            continue
        if best is None or ver > best[0]:
            best = (ver, exe)
    return best


def go_binary():
    return shutil.which("go") or ("/usr/bin/go" if os.access("/usr/bin/go", os.X_OK) else None)


def rel(path):
    r = os.path.relpath(path, os.getcwd())
    return path if r.startswith("..") else r


def record(strobe, python, app, out, seconds):
    args = [strobe, "record", "-o", out, "--", python, app, str(seconds)]
    print("$ " + " ".join(rel(a) if os.path.isabs(a) else a for a in args), flush=True)
    try:
        return subprocess.run(args, cwd=ROOT, timeout=seconds * 10 + 60).returncode
    except subprocess.TimeoutExpired:
        print("demo: strobe did not finish within %d s" % (seconds * 10 + 60), file=sys.stderr)
        return 1


def main(argv):
    try:
        sys.stdout.reconfigure(line_buffering=True)  # keep our lines in order with strobe's
    except AttributeError:
        pass
    ap = argparse.ArgumentParser(description="profile the bundled demo program")
    ap.add_argument("--build", default="build")
    ap.add_argument("--seconds", type=float, default=5.0)
    args = ap.parse_args(argv)
    build = os.path.normpath(args.build if os.path.isabs(args.build) else os.path.join(ROOT, args.build))
    strobe = os.path.join(build, "bin", "strobe")
    if not os.access(strobe, os.X_OK):
        print("demo: %s is missing; run `make` first" % strobe, file=sys.stderr)
        return 1
    found = newest_python(build)
    if found is None:
        print("demo: no pyenv CPython 3.8-3.13 with a built extension in %s/python/strobe"
              % build, file=sys.stderr)
        return 1
    ver, python = found
    app = os.path.join(ROOT, "examples", "demo_app.py")
    outdir = os.path.join(build, "demo")
    os.makedirs(outdir, exist_ok=True)
    pprof = os.path.join(outdir, "demo.pprof")
    collapsed = os.path.join(outdir, "demo.collapsed")
    print("demo: profiling examples/demo_app.py (%g s) under CPython %s" % (args.seconds, ".".join(map(str, ver))))
    for out in (pprof, collapsed):
        rc = record(strobe, python, app, out, args.seconds)
        if rc != 0 or not os.path.isfile(out):
            print("demo: strobe record failed (exit status %s)" % rc, file=sys.stderr)
            return 1

    p, c = rel(pprof), rel(collapsed)
    print()
    print("Profiles written:")
    print("  %-28s pprof (gzipped protobuf)" % p)
    print("  %-28s collapsed stacks (one line per stack)" % c)
    print()
    print("Open them with:")
    print("  go tool pprof -http=localhost:8080 %s     # web UI: flame graph, top, source" % p)
    print("  go tool pprof -top -sample_index=cpu-time %s   # where the CPU went" % p)
    print("  go tool pprof -top -sample_index=wall-time %s  # where the time went (idle threads too)" % p)
    print("  go tool pprof -tags %s                    # per-thread breakdown" % p)
    print("  %s report %s           # per thread: wall, CPU, off-CPU and why" % (rel(strobe), p))
    print("  https://www.speedscope.app  (drop %s or %s on the page)" % (c, p))
    print("  flamegraph.pl %s > demo.svg" % c)
    print()
    print("$ %s report %s" % (rel(strobe), p))
    try:
        res = subprocess.run([strobe, "report", pprof], cwd=ROOT, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, timeout=120)
    except subprocess.TimeoutExpired:
        print("strobe report did not finish", file=sys.stderr)
        return 1
    print(res.stdout.decode("utf-8", "replace").rstrip() if res.returncode == 0 else
          "strobe report failed:\n" + res.stderr.decode("utf-8", "replace"))
    if res.returncode != 0:
        return 1
    go = go_binary()
    if go:
        print()
        print("$ go tool pprof -top -sample_index=cpu-time -nodecount=15 %s" % p)
        try:
            res = subprocess.run([go, "tool", "pprof", "-top", "-sample_index=cpu-time", "-nodecount=15",
                                  pprof], cwd=ROOT,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
            out = res.stdout.decode("utf-8", "replace")
            print(out.rstrip() if res.returncode == 0 else
                  "go tool pprof failed:\n" + res.stderr.decode("utf-8", "replace"))
            if res.returncode != 0:
                return 1
        except subprocess.TimeoutExpired:
            print("go tool pprof did not finish", file=sys.stderr)
            return 1
    else:
        print("\n(go is not installed: `apt-get install golang-go` gives `go tool pprof`)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
