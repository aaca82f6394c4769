"""Shared by the bench/ scripts: the interpreter and build to use, running a
program under strobe.start() that prints its figures as JSON, running a
command and measuring its wall and whole-process CPU time, the `strobe
record` command line, and the few facts read back from a pprof file."""
import glob
import gzip
import json
import os
import re
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")


class BenchError(Exception):
    """A benchmark program failed: the message says which and how."""


def newest_python():
    """The newest pyenv CPython 3.10-3.13 (no PATH needed), else this one."""
    root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    found = glob.glob(os.path.join(root, "versions", "3.1[0-3].*", "bin", "python3.1[0-3]"))

    def version(path):
        m = re.search(r"versions/3\.(\d+)\.(\d+)", path)
        return (int(m.group(1)), int(m.group(2))) if m else (0, 0)
    found.sort(key=version)
    return found[-1] if found else sys.executable


def build_dir(build="build"):
    """BUILD as an absolute path: as given when it exists from the current
    directory, else relative to the repository."""
    if os.path.isabs(build) or os.path.isdir(build):
        return os.path.abspath(build)
    return os.path.join(ROOT, build)


def strobe_bin(build="build"):
    return os.path.join(build_dir(build), "bin", "strobe")


def python_env(build="build"):
    """The environment for a program that imports strobe from BUILD."""
    return dict(os.environ, PYTHONPATH=os.path.join(build_dir(build), "python"))


def python_version(python):
    out = subprocess.run([python, "-c", "import sys; print(sys.version.split()[0])"],
                         stdout=subprocess.PIPE, universal_newlines=True, check=True).stdout
    return out.strip()


def check_build(python, build="build"):
    """None when BUILD has the strobe command and a module for PYTHON, else why not."""
    if not os.access(strobe_bin(build), os.X_OK):
        return "%s not found: run `make BUILD=%s all` first" % (strobe_bin(build), build)
    r = subprocess.run([python, "-c", "import strobe._strobe"], env=python_env(build),
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, universal_newlines=True)
    if r.returncode != 0:
        last = (r.stderr.strip().splitlines() or ["?"])[-1]
        return "%s cannot import strobe from %s/python: %s" % (python, build_dir(build), last)
    return None


def run_program(python, program, *args, build="build"):
    """Run bench/PROGRAM with BUILD/python on the path; its last stdout line
    is JSON with the sampler's figures: return its "stats"."""
    return run_program_json(python, program, *args, build=build)["stats"]


def run_program_json(python, program, *args, build="build"):
    """Run bench/PROGRAM ARGS with BUILD/python on the path and return the
    JSON object on its last stdout line; BenchError when it fails."""
    cmd = [python, os.path.join(BENCH, program)] + [str(a) for a in args]
    r = subprocess.run(cmd, env=python_env(build), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True)
    if r.returncode != 0:
        raise BenchError("%s exited with status %d: %s" % (
            " ".join([os.path.basename(python), program] + [str(a) for a in args]),
            r.returncode, tail(r.stderr)))
    try:
        return json.loads(r.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise BenchError("%s printed no JSON figures: %s" % (program, tail(r.stdout)))


def tail(text, n=3):
    """The last N lines of TEXT on one line (for an error message)."""
    lines = [l for l in (text or "").strip().splitlines() if l.strip()]
    return " | ".join(lines[-n:]) if lines else "(no output)"


def run_measured(cmd, env=None):
    """Run CMD (stdout discarded, stderr kept) and return a dict: wall (s,
    from start to exit), cpu (the process's user + system CPU seconds, all
    threads, from wait4), maxrss (KiB), status (wait4's), stderr."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    err = proc.stderr.read()
    proc.stderr.close()
    _, status, ru = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = 0   # reaped by wait4; keep Popen from waiting again
    return {"wall": wall, "cpu": ru.ru_utime + ru.ru_stime, "maxrss": ru.ru_maxrss,
            "status": status, "stderr": err.decode("utf-8", "replace")}


def describe_status(status):
    if os.WIFSIGNALED(status):
        return "killed by signal %d" % os.WTERMSIG(status)
    return "exit status %d" % os.WEXITSTATUS(status)


_MAX_OVERHEAD = {}


def has_max_overhead(build="build"):
    """Whether `strobe record` takes --max-overhead (asked once per build)."""
    b = build_dir(build)
    if b not in _MAX_OVERHEAD:
        r = subprocess.run([strobe_bin(build), "record", "--help"], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, universal_newlines=True)
        _MAX_OVERHEAD[b] = "--max-overhead" in r.stdout
    return _MAX_OVERHEAD[b]


def record_cmd(build, rate, output, argv, budget=False):
    """`strobe record -r RATE -o OUTPUT [--max-overhead 0] -- ARGV`: the rate
    asked is the rate sampled (no adaptation) when the option exists; with
    budget=True the option is left out (strobe's default budget applies)."""
    cmd = [strobe_bin(build), "record", "-r", "%g" % rate, "-o", output]
    if has_max_overhead(build) and not budget:
        cmd += ["--max-overhead", "0"]
    return cmd + ["--"] + list(argv)


# --- pprof: just the comments and the duration -----------------------------

def _varint(buf, i):
    shift = result = 0
    while True:
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, i
        shift += 7


def read_pprof_facts(path):
    """{"duration_s", "comments": [str]} of a pprof file (gzip'd or not),
    read with a minimal protobuf walk of the top-level Profile message."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    strings, comment_ids, duration = [], [], 0
    i, n = 0, len(data)
    while i < n:
        key, i = _varint(data, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            v, i = _varint(data, i)
            if field == 10:
                duration = v
            elif field == 13:
                comment_ids.append(v)
        elif wire == 2:
            ln, i = _varint(data, i)
            chunk = data[i:i + ln]
            i += ln
            if field == 6:
                strings.append(chunk.decode("utf-8", "replace"))
            elif field == 13:                    # packed comment ids
                j = 0
                while j < len(chunk):
                    v, j = _varint(chunk, j)
                    comment_ids.append(v)
        elif wire == 1:
            i += 8
        elif wire == 5:
            i += 4
        else:
            raise ValueError("%s: unexpected protobuf wire type %d" % (path, wire))
    comments = [strings[c] for c in comment_ids if c < len(strings)]
    return {"duration_s": duration / 1e9, "comments": comments}


def achieved_rate(path):
    """Ticks per second of the profile at PATH (its `ticks=` comment over its
    duration), or None when it can't be read."""
    try:
        facts = read_pprof_facts(path)
    except (OSError, ValueError, IndexError, EOFError):
        return None
    for c in facts["comments"]:
        m = re.search(r"\bticks=(\d+)", c)
        if m and facts["duration_s"] > 0:
            return int(m.group(1)) / facts["duration_s"]
    return None


def median(xs):
    return statistics.median(xs) if xs else float("nan")


# --- the machine's state ----------------------------------------------------

def read_cost_probe(rounds=200):
    """(hot_us, cold_us): what one process_vm_readv of 8 pages of our own
    memory costs back to back, and right after a 10 ms sleep (as a sampler
    at 100 Hz wakes).  Through ctypes (about a microsecond of it is the
    call itself).  On a shared VM the cold figure moves several-fold with
    the host's load: it says how to read the other figures of one run.
    None when process_vm_readv is unavailable."""
    import ctypes
    import ctypes.util
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        fn = libc.process_vm_readv
    except (OSError, AttributeError):
        return None

    class IOVec(ctypes.Structure):
        _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]

    page, n = 4096, 8
    src = ctypes.create_string_buffer(page * 3 * n)
    dst = ctypes.create_string_buffer(page * n)
    local = (IOVec * n)(*[IOVec(ctypes.addressof(dst) + i * page, page) for i in range(n)])
    remote = (IOVec * n)(*[IOVec(ctypes.addressof(src) + i * 3 * page, page) for i in range(n)])
    fn.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_ulong, ctypes.c_void_p, ctypes.c_ulong,
                   ctypes.c_ulong]
    fn.restype = ctypes.c_ssize_t
    pid = os.getpid()
    if fn(pid, local, n, remote, n, 0) != page * n:
        return None
    hot, cold = [], []
    for _ in range(rounds):
        time.sleep(0.01)
        t0 = time.perf_counter_ns()
        fn(pid, local, n, remote, n, 0)
        t1 = time.perf_counter_ns()
        fn(pid, local, n, remote, n, 0)
        t2 = time.perf_counter_ns()
        cold.append((t1 - t0) / 1e3)
        hot.append((t2 - t1) / 1e3)
    return median(hot), median(cold)


def wake_cost_probe(rounds=500):
    """CPU microseconds one sleep-and-wake costs this thread (1 ms sleeps,
    as a sampler at 1 kHz wakes; a few of them are Python's own)."""
    t0 = time.thread_time_ns()
    for _ in range(rounds):
        time.sleep(0.001)
    return (time.thread_time_ns() - t0) / rounds / 1e3
