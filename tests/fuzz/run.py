#!/usr/bin/env python3
"""tests/fuzz/run.py — build and run the libFuzzer targets (`make fuzz`).

    python3 tests/fuzz/run.py --build BUILD [--seconds 20] [--only fuzz_x]...
                              [--cc clang] [--cflags "..."] [--build-only]
                              [--replay DIR_OR_FILE]... [--coverage] [-v]

Build: every tests/fuzz/fuzz_*.c is linked with the engine sources it drives
(compiled once into BUILD/fuzz/obj with -fsanitize=fuzzer-no-link plus the
sanitizers of --cflags; rebuilt when a source or header is newer) into
BUILD/fuzz/fuzz_x.

Run: each target for --seconds (-max_total_time) on BUILD/fuzz/corpus/fuzz_x,
a fresh copy of tests/fuzz/corpus/fuzz_x plus the inputs that once crashed it
(tests/fuzz/crashes/fuzz_x/, as regressions; the repository is never
written), with its dictionary (tests/fuzz/mem.dict, pprof.dict).  Crash reproducers
go to BUILD/fuzz/crashes/fuzz_x/, the whole log to BUILD/fuzz/logs/fuzz_x.log.
One line per target:

    PASS fuzz_x: N runs, cov C, ft F, corpus K (+A new), X exec/s
    FAIL fuzz_x: <sanitizer summary> (reproducer: PATH)

then "N passed, N failed"; the exit status is 1 when any target failed.
--replay runs a target on saved inputs only (e.g. tests/fuzz/crashes/fuzz_x).
--coverage reports the engine's line coverage by each target's corpus.
Stdlib only.
"""

import argparse
import glob
import os
import re
import shlex
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

DEFAULT_CFLAGS = "-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -g -O1"
WARN = ["-std=c11", "-Wall", "-Wextra", "-Werror", "-Wno-unused-parameter", "-D_GNU_SOURCE"]
INCLUDES = ["-I" + os.path.join(ROOT, "src", "base"), "-I" + os.path.join(ROOT, "src", "engine"),
            "-I" + HERE, "-I" + os.path.join(ROOT, "tests", "c")]
# The engine sources the targets drive (and what those call).  Not the
# sampler or the asyncio pass: nothing here starts threads or reads /proc.
ENGINE = ["base/mem.c", "engine/linetable.c", "engine/pyobj.c", "engine/profile.c",
          "engine/codecache.c", "engine/unwind.c", "engine/aio.c", "engine/opflow.c",
          "engine/ccall.c", "engine/pprof_read.c"]
LIBS = ["-lz", "-lpthread"]
DICT = {"fuzz_pyobj": "mem.dict", "fuzz_frames": "mem.dict", "fuzz_tasks": "mem.dict",
        "fuzz_pprof": "pprof.dict"}
# Largest input per target (libFuzzer -max_len).
MAX_LEN = {"fuzz_linetable": 4096, "fuzz_opflow": 16384, "fuzz_pprof": 65536,
           "fuzz_pyobj": 8192, "fuzz_frames": 32768, "fuzz_tasks": 32768}


def targets():
    return sorted(os.path.basename(p)[:-2] for p in glob.glob(os.path.join(HERE, "fuzz_*.c")))


def headers():
    hs = glob.glob(os.path.join(ROOT, "src", "*", "*.h")) + glob.glob(os.path.join(HERE, "*.h")) + \
        glob.glob(os.path.join(ROOT, "tests", "c", "opflow_toy.h"))
    return max((os.path.getmtime(h) for h in hs), default=0)


def stale(out, srcs, hdr_time):
    if not os.path.exists(out):
        return True
    t = os.path.getmtime(out)
    return hdr_time > t or any(os.path.getmtime(s) > t for s in srcs)


def no_link(cflags):
    """-fsanitize=fuzzer,... -> -fsanitize=fuzzer-no-link,... (for objects)."""
    out = []
    for f in cflags:
        if f.startswith("-fsanitize="):
            parts = ["fuzzer-no-link" if p == "fuzzer" else p for p in f[len("-fsanitize="):].split(",")]
            f = "-fsanitize=" + ",".join(parts)
        out.append(f)
    return out


def sh(cmd, verbose):
    if verbose:
        print("  " + " ".join(shlex.quote(c) for c in cmd), flush=True)
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if r.returncode != 0:
        sys.stdout.write(r.stdout.decode(errors="replace"))
        raise SystemExit("fuzz: build failed: %s" % " ".join(cmd[:2] + ["..."]))


def build(args, names):
    cflags = shlex.split(args.cflags)
    out = os.path.join(args.build, "fuzz")
    objdir = os.path.join(out, "obj")
    os.makedirs(objdir, exist_ok=True)
    hdr = headers()
    objs = []
    for src in ENGINE:
        path = os.path.join(ROOT, "src", src)
        obj = os.path.join(objdir, src.replace("/", "_")[:-2] + ".o")
        if stale(obj, [path], hdr):
            sh([args.cc] + no_link(cflags) + WARN + INCLUDES + ["-c", path, "-o", obj], args.verbose)
        objs.append(obj)
    for t in names:
        src = os.path.join(HERE, t + ".c")
        exe = os.path.join(out, t)
        if stale(exe, [src] + objs, hdr):
            sh([args.cc] + cflags + WARN + INCLUDES + ["-o", exe, src] + objs + LIBS, args.verbose)
    return out


def last(pattern, text, default=None):
    m = re.findall(pattern, text)
    return m[-1] if m else default


def summarize_failure(log):
    for pat in (r"SUMMARY: (.*)", r"(runtime error: .*)", r"==\d+==\s*ERROR: (.*)", r"(ERROR: libFuzzer: .*)"):
        s = last(pat, log)
        if s:
            return s.strip()
    tail = [l for l in log.strip().splitlines() if l.strip()]
    return tail[-1] if tail else "no output"


def run_target(args, out, t, replay):
    exe = os.path.join(out, t)
    logdir = os.path.join(out, "logs")
    crashdir = os.path.join(out, "crashes", t)
    os.makedirs(logdir, exist_ok=True)
    os.makedirs(crashdir, exist_ok=True)
    opts = ["-artifact_prefix=%s/" % crashdir, "-print_final_stats=1", "-timeout=10",
            "-rss_limit_mb=2048", "-max_len=%d" % MAX_LEN.get(t, 4096)]
    if t in DICT:
        opts.append("-dict=" + os.path.join(HERE, DICT[t]))
    if replay:
        files = []
        for r in replay:
            files += sorted(glob.glob(os.path.join(r, "*"))) if os.path.isdir(r) else [r]
        cmd = [exe] + opts + files
    else:
        corpus = os.path.join(out, "corpus", t)
        shutil.rmtree(corpus, ignore_errors=True)
        src = os.path.join(HERE, "corpus", t)
        if os.path.isdir(src):
            shutil.copytree(src, corpus)
        else:
            os.makedirs(corpus)
        # inputs that once crashed: regressions, run first with the corpus
        for f in sorted(glob.glob(os.path.join(HERE, "crashes", t, "*"))):
            shutil.copy(f, os.path.join(corpus, "regression-" + os.path.basename(f)))
        cmd = [exe] + opts + ["-max_total_time=%d" % args.seconds, corpus]
    env = dict(os.environ)
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
    t0 = time.time()
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=out, env=env)
    log = r.stdout.decode(errors="replace")
    with open(os.path.join(logdir, t + ".log"), "w") as f:
        f.write(" ".join(shlex.quote(c) for c in cmd) + "\n" + log)
    secs = time.time() - t0
    if r.returncode != 0:
        repro = (last(r"Test unit written to (\S+)", log) or (replay and last(r"Running: (\S+)", log)) or
                 "none written (see %s)" % os.path.join(logdir, t + ".log"))
        return False, "FAIL %s: %s (reproducer: %s)" % (t, summarize_failure(log), repro)
    if replay:
        n = len(re.findall(r"Running: ", log))
        return True, "PASS %s: %d saved inputs replayed, no crash" % (t, n)
    runs = int(last(r"stat::number_of_executed_units:\s*(\d+)", log, "0"))
    rate = int(last(r"stat::average_exec_per_sec:\s*(\d+)", log, "0"))
    new = int(last(r"stat::new_units_added:\s*(\d+)", log, "0"))
    cov = last(r"cov: (\d+)", log, "?")
    ft = last(r"ft: (\d+)", log, "?")
    corp = last(r"corp: (\d+)", log, "?")
    return True, "PASS %s: %d runs, cov %s, ft %s, corpus %s (+%d new), %d exec/s, %.0f s" % (
        t, runs, cov, ft, corp, new, rate, secs)


# What each target is for: the engine files its coverage is reported on.
COVERS = {"fuzz_linetable": ["linetable.c"], "fuzz_pprof": ["pprof_read.c"],
          "fuzz_opflow": ["opflow.c"], "fuzz_pyobj": ["pyobj.c", "mem.c"],
          "fuzz_frames": ["unwind.c", "codecache.c", "ccall.c"], "fuzz_tasks": ["aio.c"]}


def coverage(args, names):
    """Line coverage of the engine by each target's corpus (BUILD/fuzz/corpus/x
    when a run left one there, else tests/fuzz/corpus/x): llvm-cov."""
    cov = shutil.which("llvm-cov") or shutil.which("llvm-cov-14")
    prof = shutil.which("llvm-profdata") or shutil.which("llvm-profdata-14") or \
        "/usr/lib/llvm-14/bin/llvm-profdata"
    if not cov or not os.path.exists(prof):
        raise SystemExit("fuzz: --coverage needs llvm-cov and llvm-profdata")
    out = os.path.join(args.build, "fuzz", "cov")
    os.makedirs(out, exist_ok=True)
    srcs = [os.path.join(ROOT, "src", e) for e in ENGINE]
    for t in names:
        exe = os.path.join(out, t)
        sh([args.cc, "-fsanitize=fuzzer", "-fprofile-instr-generate", "-fcoverage-mapping", "-O1", "-g"]
           + WARN + INCLUDES + ["-o", exe, os.path.join(HERE, t + ".c")] + srcs + LIBS, args.verbose)
        corpus = os.path.join(args.build, "fuzz", "corpus", t)
        if not os.path.isdir(corpus):
            corpus = os.path.join(HERE, "corpus", t)
        raw = os.path.join(out, t + ".profraw")
        data = os.path.join(out, t + ".profdata")
        env = dict(os.environ, LLVM_PROFILE_FILE=raw)
        subprocess.run([exe, "-runs=0", corpus], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        sh([prof, "merge", "-sparse", raw, "-o", data], args.verbose)
        files = [os.path.join(ROOT, "src", "base" if f == "mem.c" else "engine", f) for f in COVERS.get(t, [])]
        rep = subprocess.run([cov, "report", exe, "-instr-profile=" + data] + files,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT).stdout.decode()
        parts = []
        for line in rep.splitlines():
            cols = line.split()
            if cols and cols[0].endswith(".c"):
                # Filename Regions Missed Cover Functions Missed Executed Lines Missed Cover ...
                parts.append("%s lines %s, regions %s" % (os.path.basename(cols[0]), cols[9], cols[3]))
        n = len(os.listdir(corpus))
        print("COVERAGE %s (%d inputs of %s): %s" % (t, n, os.path.relpath(corpus, ROOT), "; ".join(parts)),
              flush=True)
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build")
    ap.add_argument("--seconds", type=int, default=20)
    ap.add_argument("--cc", default="clang")
    ap.add_argument("--cflags", default=DEFAULT_CFLAGS)
    ap.add_argument("--only", action="append", default=[])
    ap.add_argument("--build-only", action="store_true")
    ap.add_argument("--replay", action="append", default=[])
    ap.add_argument("--coverage", action="store_true",
                    help="report the engine's line coverage by each target's corpus (llvm-cov)")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    args.build = os.path.abspath(args.build)
    args.replay = [os.path.abspath(r) for r in args.replay]
    names = targets()
    if args.only:
        unknown = [t for t in args.only if t not in names]
        if unknown:
            raise SystemExit("fuzz: no such target: %s (have %s)" % (", ".join(unknown), ", ".join(names)))
        names = [t for t in names if t in args.only]
    if shutil.which(args.cc) is None:
        raise SystemExit("fuzz: %s not found (Debian: apt-get install clang)" % args.cc)
    if args.coverage:
        return coverage(args, names)
    out = build(args, names)
    if args.build_only:
        print("fuzz: built %s in %s" % (", ".join(names), out))
        return 0
    passed = failed = 0
    for t in names:
        ok, line = run_target(args, out, t, args.replay)
        print(line, flush=True)
        if ok:
            passed += 1
        else:
            failed += 1
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
