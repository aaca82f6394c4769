"""support.py — helpers shared by the integration tests in tests/py.

Runs under every supported interpreter (3.8+ syntax only, stdlib only).

What is here:
  * where things are: STROBE_BIN, STROBE_PYTHONPATH, ROOT, workload(name),
    PYTHON (the interpreter running the tests: the one profiled);
  * run(...) / record(...): subprocesses in their own session, always with a
    timeout; on timeout the whole process group is killed and the test fails;
  * readers for both output formats into one model (Sample with thread name,
    frames root -> leaf, count, values, labels):
      parse_collapsed(text), read_pprof(path) (gzip + protobuf wire format,
      pure Python, validating references), load_profile(path);
  * go_pprof(...): `go tool pprof` when go is installed;
  * StrobeTestCase: a TestCase with a fresh temporary directory and the
    assertions most tests need.
"""

import atexit
import collections
import gzip
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.environ.get("STROBE_ROOT") or os.path.dirname(os.path.dirname(HERE))
STROBE_BIN = os.environ.get("STROBE_BIN") or os.path.join(ROOT, "build", "bin", "strobe")
STROBE_PYTHONPATH = os.environ.get("STROBE_PYTHONPATH") or os.path.join(ROOT, "build", "python")
WORKLOADS = os.path.join(ROOT, "tests", "workloads")
PYTHON = sys.executable
PY_VERSION = sys.version_info[:2]

DEFAULT_TIMEOUT = 60  # seconds, for any one subprocess
DEFAULT_MAX_DEPTH = 512

_OMITTED_RE = re.compile(r"^<(\d+) frames omitted>$")


def workload(name):
    return os.path.join(WORKLOADS, name)


# ---------------------------------------------------------------------------
# Subprocesses.  Each child runs in a session of its own, so the test can send
# signals to "the terminal's foreground group" and so that a timeout kills
# the strobe process together with the program it started.  Children still
# alive when this process exits or is told to stop are killed too.

_live = set()


def _kill_group(proc, sig=signal.SIGKILL):
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.kill()
    except OSError:
        pass


def _kill_all_live(*_args):
    for p in list(_live):
        _kill_group(p)
    _live.clear()


atexit.register(_kill_all_live)


def install_sigterm_cleanup():
    """Called by the runner: on SIGTERM kill our children's groups, then exit."""
    def handler(signum, frame):
        _kill_all_live()
        os._exit(128 + signum)
    signal.signal(signal.SIGTERM, handler)


class Result(object):
    def __init__(self, args, returncode, stdout, stderr):
        self.args = args
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr

    @property
    def strobe_lines(self):
        """stderr lines that start with 'strobe: '."""
        return [l for l in self.stderr.splitlines() if l.startswith("strobe: ")]

    def describe(self):
        return ("command: %s\nexit status: %s\n--- stdout ---\n%s\n--- stderr ---\n%s"
                % (" ".join(self.args), self.returncode,
                   _tail(self.stdout), _tail(self.stderr)))


def _tail(text, n=4000):
    return text if len(text) <= n else "...[%d chars cut]...\n%s" % (len(text) - n, text[-n:])


def _decode(b):
    return b.decode("utf-8", "replace") if b is not None else ""


def base_env(extra=None):
    """The environment for children: ours minus Python variables that would
    change what the profiled interpreter does."""
    env = dict(os.environ)
    for k in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONINSPECT",
              "PYTHONWARNINGS", "PYTHONDEVMODE", "PYTHONEXECUTABLE", "__PYVENV_LAUNCHER__"):
        env.pop(k, None)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PYTHONIOENCODING"] = "utf-8"
    env.setdefault("LC_ALL", "C.UTF-8")
    if extra:
        env.update(extra)
    return env


def spawn(args, cwd=None, env=None, stdin=subprocess.DEVNULL):
    """Start a child in its own session with pipes for stdout/stderr."""
    proc = subprocess.Popen(list(args), cwd=cwd, env=env if env is not None else base_env(),
                            stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    _live.add(proc)
    return proc


def finish(proc, args, timeout=DEFAULT_TIMEOUT, input=None):
    """Wait for a spawned child; on timeout kill its group and fail."""
    try:
        out, err = proc.communicate(input=input, timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        try:
            out, err = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            out, err = b"", b""
        _live.discard(proc)
        raise AssertionError("timed out after %ss (killed):\n%s"
                             % (timeout, Result(args, None, _decode(out), _decode(err)).describe()))
    _live.discard(proc)
    # Reap anything the child left in its group (e.g. a program strobe forked).
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    return Result(list(args), proc.returncode, _decode(out), _decode(err))


def run(args, cwd=None, env=None, input=None, timeout=DEFAULT_TIMEOUT):
    """Run a command to completion (or kill it at `timeout` and fail)."""
    args = [str(a) for a in args]
    if input is not None and isinstance(input, str):
        input = input.encode("utf-8")
    proc = spawn(args, cwd=cwd, env=env,
                 stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL)
    return finish(proc, args, timeout=timeout, input=input)


def require_strobe():
    if not (os.path.isfile(STROBE_BIN) and os.access(STROBE_BIN, os.X_OK)):
        raise AssertionError("strobe binary not found or not executable: %s (run `make`)" % STROBE_BIN)


def record_args(program, out=None, fmt=None, rate=None, duration=None, mode=None,
                max_depth=None, extra=(), python=None, max_overhead=0):
    """The argv of `strobe record [options] -- PYTHON program...`.  The
    overhead budget is off unless asked (max_overhead=None: strobe's
    default): tests check what is sampled at the rate they ask for."""
    args = [STROBE_BIN, "record"]
    if max_overhead is not None:
        args += ["--max-overhead", str(max_overhead)]
    if out is not None:
        args += ["-o", str(out)]
    if fmt is not None:
        args += ["-f", fmt]
    if rate is not None:
        args += ["-r", str(rate)]
    if duration is not None:
        args += ["-d", str(duration)]
    if mode is not None:
        args += ["--mode", mode]
    if max_depth is not None:
        args += ["--max-depth", str(max_depth)]
    args += list(extra)
    args += ["--", python or PYTHON]
    args += [str(a) for a in program]
    return args


def record(program, cwd=None, env=None, input=None, timeout=DEFAULT_TIMEOUT, **opts):
    """Run `strobe record [opts] -- PYTHON *program` to completion."""
    require_strobe()
    return run(record_args(program, **opts), cwd=cwd, env=env, input=input, timeout=timeout)


def python_env(extra=None):
    """Environment for running PYTHON with the strobe package importable."""
    env = base_env(extra)
    env["PYTHONPATH"] = STROBE_PYTHONPATH
    return env


def run_python(args, cwd=None, env=None, input=None, timeout=DEFAULT_TIMEOUT):
    """Run PYTHON *args with PYTHONPATH=build/python."""
    return run([PYTHON] + [str(a) for a in args], cwd=cwd,
               env=env if env is not None else python_env(), input=input, timeout=timeout)


def wait_for_file(path, proc, timeout=DEFAULT_TIMEOUT):
    """Wait until `path` exists (the workload says it is ready) or fail."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(path):
            return
        if proc.poll() is not None:
            out, err = proc.communicate()
            _live.discard(proc)
            raise AssertionError("process ended (status %s) before %s appeared:\n--- stdout ---\n%s\n"
                                 "--- stderr ---\n%s" % (proc.returncode, path, _tail(_decode(out)),
                                                         _tail(_decode(err))))
        time.sleep(0.02)
    _kill_group(proc)
    out, err = proc.communicate()
    _live.discard(proc)
    raise AssertionError("%s did not appear within %ss (killed):\n--- stderr ---\n%s"
                         % (path, timeout, _tail(_decode(err))))


# ---------------------------------------------------------------------------
# The profile model shared by both formats.

class Frame(collections.namedtuple("Frame", "name file line")):
    """One stack element.  Elements without a file have file and line None:
    synthetic ones ('<12 frames omitted>', 'task:NAME') and builtins being
    called ('time.sleep', '_thread.lock.acquire': only ever the leaf)."""

    @property
    def synthetic(self):
        return self.file is None

    @property
    def builtin(self):
        return self.file is None and not self.name.startswith("<") and not self.name.startswith("task:")

    def __str__(self):
        if self.file is None:
            return self.name
        return "%s (%s:%s)" % (self.name, self.file, self.line)


class Sample(object):
    """A stack with its thread and values.  frames: root first, leaf last.
    values: {'samples': n, 'wall-time': ns, 'cpu-time': ns} (collapsed has only
    'samples').  labels: {key: value} (pprof only)."""

    def __init__(self, thread, frames, count, values=None, labels=None):
        self.thread = thread
        self.frames = frames
        self.count = count
        self.values = values if values is not None else {"samples": count}
        self.labels = labels or {}

    @property
    def leaf(self):
        return self.frames[-1] if self.frames else None

    def names(self):
        return [f.name for f in self.frames]

    def has_function(self, name):
        return any(f.name == name for f in self.frames)

    # -- asyncio task stacks: [base frames] task:A [A's frames] task:B [B's frames]...
    def tasks(self):
        """Names of the tasks on this stack, root first."""
        return [f.name[5:] for f in self.frames if f.synthetic and f.name.startswith("task:")]

    @property
    def task(self):
        """The leaf task's name, or None for a thread's own stack."""
        t = self.tasks()
        return t[-1] if t else None

    def base(self):
        """The frames below the first task marker (all of them without one)."""
        out = []
        for f in self.frames:
            if f.synthetic and f.name.startswith("task:"):
                break
            out.append(f.name)
        return out

    def frames_of(self, task):
        """Function names between task's marker and the next marker."""
        out, inside = [], False
        for f in self.frames:
            if f.synthetic and f.name.startswith("task:"):
                if inside:
                    break
                inside = f.name[5:] == task
                continue
            if inside:
                out.append(f.name)
        return out

    def __repr__(self):
        return "Sample(%r, %s, %d)" % (self.thread, ";".join(str(f) for f in self.frames), self.count)


# ---- collapsed -------------------------------------------------------------

_FRAME_RE = re.compile(r"^(?P<name>.*?) \((?P<file>.*):(?P<line>\d+)\)$")


def parse_frame(text):
    if text.startswith("task:"):
        return Frame(text, None, None)   # a task's marker: its name may hold anything
    m = _FRAME_RE.match(text)
    if m:
        return Frame(m.group("name"), m.group("file"), int(m.group("line")))
    if "(" in text or ")" in text or text == "":
        raise ValueError("malformed frame %r" % text)
    return Frame(text, None, None)


def parse_collapsed(text):
    """Parse collapsed stacks: 'thread:NAME;root;...;leaf COUNT' per line.
    Raises ValueError naming the line on any malformed input."""
    samples = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            stack, count = line.rsplit(" ", 1)
            count = int(count)
            if count <= 0:
                raise ValueError("count %d <= 0" % count)
            parts = stack.split(";")
            if not parts[0].startswith("thread:"):
                raise ValueError("first element %r is not thread:NAME" % parts[0])
            thread = parts[0][len("thread:"):]
            frames = [parse_frame(p) for p in parts[1:]]
        except ValueError as e:
            raise ValueError("collapsed line %d %r: %s" % (n, line[:300], e))
        samples.append(Sample(thread, frames, count))
    return samples


# ---- pprof (profile.proto) -------------------------------------------------

class ProtoError(ValueError):
    pass


def _varint(buf, pos):
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise ProtoError("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ProtoError("varint too long")


def _signed(v):
    return v - (1 << 64) if v >= (1 << 63) else v


def proto_fields(buf):
    """Yield (field number, wire type, value) for one message.  value is an
    int for varint/fixed wire types and bytes for length-delimited ones."""
    pos = 0
    n = len(buf)
    while pos < n:
        key, pos = _varint(buf, pos)
        field, wt = key >> 3, key & 7
        if field == 0:
            raise ProtoError("field number 0")
        if wt == 0:
            v, pos = _varint(buf, pos)
        elif wt == 1:
            if pos + 8 > n:
                raise ProtoError("truncated fixed64")
            v = int.from_bytes(buf[pos:pos + 8], "little")
            pos += 8
        elif wt == 2:
            ln, pos = _varint(buf, pos)
            if pos + ln > n:
                raise ProtoError("truncated length-delimited field %d" % field)
            v = bytes(buf[pos:pos + ln])
            pos += ln
        elif wt == 5:
            if pos + 4 > n:
                raise ProtoError("truncated fixed32")
            v = int.from_bytes(buf[pos:pos + 4], "little")
            pos += 4
        else:
            raise ProtoError("unsupported wire type %d (field %d)" % (wt, field))
        yield field, wt, v


def _ints(wt, v):
    """A repeated integer field value, packed (wt 2) or not (wt 0)."""
    if wt == 0:
        return [_signed(v)]
    if wt == 2:
        out, pos = [], 0
        while pos < len(v):
            x, pos = _varint(v, pos)
            out.append(_signed(x))
        return out
    raise ProtoError("integer field with wire type %d" % wt)


def _int(wt, v):
    if wt != 0:
        raise ProtoError("expected varint, got wire type %d" % wt)
    return _signed(v)


class Pprof(object):
    """A decoded profile.proto.  Raw fields:
      string_table [str], sample_types [(type, unit)], period_type (type, unit)
      or None, period, time_nanos, duration_nanos, default_sample_type,
      samples [(location_ids leaf first, values, labels [(key, str|None, num|None, unit|None)])],
      locations {id: {'mapping_id', 'address', 'lines': [(function_id, line)]}},
      functions {id: {'name', 'system_name', 'filename', 'start_line'}},
      mappings {id: {...}}."""

    def __init__(self):
        self.string_table = []
        self.sample_types = []
        self.period_type = None
        self.period = 0
        self.time_nanos = 0
        self.duration_nanos = 0
        self.default_sample_type = 0
        self.samples = []
        self.locations = {}
        self.functions = {}
        self.mappings = {}
        self.comments = []

    def value_index(self, type_name):
        for i, (t, _u) in enumerate(self.sample_types):
            if t == type_name:
                return i
        raise KeyError("no sample type %r in %r" % (type_name, self.sample_types))

    def to_samples(self):
        """The samples in the shared model (frames root first)."""
        out = []
        for loc_ids, values, labels in self.samples:
            frames = []
            for lid in loc_ids:  # leaf first; a location's lines are leaf first too
                for fid, line in self.locations[lid]["lines"]:
                    fn = self.functions[fid]
                    if _OMITTED_RE.match(fn["name"]) or fn["filename"] == "":
                        frames.append(Frame(fn["name"], None, None))
                    else:
                        frames.append(Frame(fn["name"], fn["filename"], line))
            frames.reverse()
            lab = {}
            for key, s, num, _unit in labels:
                lab[key] = s if s is not None else num
            vals = {}
            for (t, _u), v in zip(self.sample_types, values):
                vals[t] = v
            count = vals.get("samples", values[0] if values else 0)
            thread = lab.get("thread name")
            out.append(Sample(thread if isinstance(thread, str) else None, frames, count, vals, lab))
        return out


def _s(prof, idx, what):
    if not 0 <= idx < len(prof.string_table):
        raise ProtoError("%s: string index %d out of range (%d strings)"
                         % (what, idx, len(prof.string_table)))
    return prof.string_table[idx]


def decode_pprof(raw):
    """Decode an uncompressed profile.proto message; validates that every
    reference (strings, locations, functions) resolves."""
    prof = Pprof()
    st_raw, samples_raw, locs_raw, funcs_raw, maps_raw = [], [], [], [], []
    period_type_raw = None
    for field, wt, v in proto_fields(raw):
        if field == 1:
            st_raw.append(v)
        elif field == 2:
            samples_raw.append(v)
        elif field == 3:
            maps_raw.append(v)
        elif field == 4:
            locs_raw.append(v)
        elif field == 5:
            funcs_raw.append(v)
        elif field == 6:
            if wt != 2:
                raise ProtoError("string_table entry with wire type %d" % wt)
            try:
                prof.string_table.append(v.decode("utf-8"))
            except UnicodeDecodeError as e:
                raise ProtoError("string_table entry %d is not UTF-8: %r (%s)"
                                 % (len(prof.string_table), v[:80], e))
        elif field == 9:
            prof.time_nanos = _int(wt, v)
        elif field == 10:
            prof.duration_nanos = _int(wt, v)
        elif field == 11:
            period_type_raw = v
        elif field == 12:
            prof.period = _int(wt, v)
        elif field == 13:
            prof.comments.extend(_ints(wt, v))
        elif field == 14:
            prof.default_sample_type = _int(wt, v)
        # 7, 8 (drop/keep frames) and unknown fields are ignored.
    if not prof.string_table or prof.string_table[0] != "":
        raise ProtoError("string_table[0] must be the empty string")

    def value_type(buf, what):
        t = u = 0
        for f, w, x in proto_fields(buf):
            if f == 1:
                t = _int(w, x)
            elif f == 2:
                u = _int(w, x)
        return (_s(prof, t, what + ".type"), _s(prof, u, what + ".unit"))

    prof.sample_types = [value_type(b, "sample_type") for b in st_raw]
    if period_type_raw is not None:
        prof.period_type = value_type(period_type_raw, "period_type")

    for b in maps_raw:
        m = {"id": 0}
        for f, w, x in proto_fields(b):
            if f == 1:
                m["id"] = _int(w, x)
        prof.mappings[m["id"]] = m

    for b in funcs_raw:
        fid = name = sysname = filename = start = 0
        for f, w, x in proto_fields(b):
            if f == 1:
                fid = _int(w, x)
            elif f == 2:
                name = _int(w, x)
            elif f == 3:
                sysname = _int(w, x)
            elif f == 4:
                filename = _int(w, x)
            elif f == 5:
                start = _int(w, x)
        if fid == 0:
            raise ProtoError("function with id 0")
        if fid in prof.functions:
            raise ProtoError("duplicate function id %d" % fid)
        prof.functions[fid] = {"name": _s(prof, name, "function.name"),
                               "system_name": _s(prof, sysname, "function.system_name"),
                               "filename": _s(prof, filename, "function.filename"),
                               "start_line": start}

    for b in locs_raw:
        lid, mid, addr, lines = 0, 0, 0, []
        for f, w, x in proto_fields(b):
            if f == 1:
                lid = _int(w, x)
            elif f == 2:
                mid = _int(w, x)
            elif f == 3:
                addr = _int(w, x)
            elif f == 4:
                fn_id = ln = 0
                for f2, w2, x2 in proto_fields(x):
                    if f2 == 1:
                        fn_id = _int(w2, x2)
                    elif f2 == 2:
                        ln = _int(w2, x2)
                if fn_id not in prof.functions:
                    raise ProtoError("location %d: line refers to unknown function %d" % (lid, fn_id))
                lines.append((fn_id, ln))
        if lid == 0:
            raise ProtoError("location with id 0")
        if lid in prof.locations:
            raise ProtoError("duplicate location id %d" % lid)
        if mid and mid not in prof.mappings:
            raise ProtoError("location %d: unknown mapping %d" % (lid, mid))
        prof.locations[lid] = {"mapping_id": mid, "address": addr, "lines": lines}

    for b in samples_raw:
        loc_ids, values, labels = [], [], []
        for f, w, x in proto_fields(b):
            if f == 1:
                loc_ids.extend(_ints(w, x))
            elif f == 2:
                values.extend(_ints(w, x))
            elif f == 3:
                key = s = num = unit = None
                for f2, w2, x2 in proto_fields(x):
                    if f2 == 1:
                        key = _s(prof, _int(w2, x2), "label.key")
                    elif f2 == 2:
                        s = _s(prof, _int(w2, x2), "label.str")
                    elif f2 == 3:
                        num = _int(w2, x2)
                    elif f2 == 4:
                        unit = _s(prof, _int(w2, x2), "label.num_unit")
                if s == "":
                    s = None
                labels.append((key, s, num, unit))
        for lid in loc_ids:
            if lid not in prof.locations:
                raise ProtoError("sample refers to unknown location %d" % lid)
        if len(values) != len(prof.sample_types):
            raise ProtoError("sample has %d values for %d sample types"
                             % (len(values), len(prof.sample_types)))
        prof.samples.append((loc_ids, values, labels))
    return prof


def read_pprof(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] != b"\x1f\x8b":
        raise ProtoError("%s is not gzip-compressed (starts with %r)" % (path, data[:8]))
    return decode_pprof(gzip.decompress(data))


def pprof_comments(path):
    """The comments of a pprof file, as strings ("strobe: ticks=..." and
    the like)."""
    prof = read_pprof(path)
    return [c if isinstance(c, str) else prof.string_table[c] for c in prof.comments]


def load_profile(path):
    """(format, [Sample]) for a profile in either format, detected by content."""
    with open(path, "rb") as f:
        head = f.read(2)
    if head == b"\x1f\x8b":
        return "pprof", read_pprof(path).to_samples()
    with open(path, "rb") as f:
        data = f.read()
    if b"\x00" in data:
        raise ValueError("collapsed file %s contains a NUL byte" % path)
    return "collapsed", parse_collapsed(data.decode("utf-8"))


# ---- analysis helpers -------------------------------------------------------

def total(samples, pred=None, value="samples"):
    return sum(s.values.get(value, 0) for s in samples if pred is None or pred(s))


def count_with(samples, name, value="samples"):
    """Sum of `value` over samples whose stack contains a frame named `name`."""
    return total(samples, lambda s: s.has_function(name), value)


def describe_samples(samples, limit=25):
    ss = sorted(samples, key=lambda s: -s.count)
    lines = ["%d stacks, %d samples; largest:" % (len(samples), total(samples))]
    for s in ss[:limit]:
        frames = s.frames if len(s.frames) <= 12 else s.frames[:3] + [Frame("...", None, None)] + s.frames[-8:]
        lines.append("  %5d thread:%s;%s" % (s.count, s.thread, ";".join(str(f) for f in frames)))
    return "\n".join(lines)


def marked_lines(path, tag):
    """Line numbers (1-based) of lines in `path` carrying the comment '# MARK: tag'."""
    out = []
    pat = re.compile(r"#\s*MARK:\s*%s\b" % re.escape(tag))
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if pat.search(line):
                out.append(n)
    if not out:
        raise AssertionError("no line marked %r in %s" % (tag, path))
    return out


# ---- go tool pprof -----------------------------------------------------------

def go_binary():
    return shutil.which("go") or ("/usr/bin/go" if os.access("/usr/bin/go", os.X_OK) else None)


def go_pprof(args, tmpdir, timeout=120):
    go = go_binary()
    if go is None:
        raise unittest.SkipTest("go is not installed")
    env = base_env({"PPROF_TMPDIR": tmpdir, "HOME": os.environ.get("HOME") or tmpdir,
                    "GOCACHE": os.path.join(tmpdir, "gocache"), "GOFLAGS": "-mod=mod",
                    "GOTOOLCHAIN": "local", "GO111MODULE": "off"})
    return run([go, "tool", "pprof"] + list(args), cwd=tmpdir, env=env, timeout=timeout)


# ---- TestCase ------------------------------------------------------------------

class StrobeTestCase(unittest.TestCase):
    maxDiff = 4000

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="strobe-test-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def path(self, *names):
        return os.path.join(self.tmp, *names)

    # -- running -----------------------------------------------------------
    def record_ok(self, program, out, **opts):
        """Record a workload that must exit 0; return (Result, samples)."""
        res = record(program, out=out, **opts)
        self.assertEqual(res.returncode, 0, "strobe record failed:\n" + res.describe())
        return res, self.load(out, res)

    def load(self, path, res=None):
        ctx = ("\n" + res.describe()) if res is not None else ""
        self.assertTrue(os.path.isfile(path), "profile %s was not written%s" % (path, ctx))
        try:
            fmt, samples = load_profile(path)
        except ValueError as e:
            self.fail("profile %s does not parse: %s%s" % (path, e, ctx))
        return samples

    # -- assertions ----------------------------------------------------------
    def assert_summary(self, res, out_path):
        """The last strobe line on stderr is the summary: samples, threads, file."""
        lines = res.strobe_lines
        self.assertTrue(lines, "no 'strobe: ' summary line on stderr:\n" + res.describe())
        last = lines[-1]
        self.assertRegex(last, r"\d+\s+samples?\b", "summary does not count samples: %r" % last)
        self.assertRegex(last, r"\d+\s+threads?\b", "summary does not count threads: %r" % last)
        self.assertIn(os.path.basename(out_path), last, "summary does not name the file: %r" % last)

    def assert_user_error(self, res, marker=None):
        """Exit 2, exactly one stderr line 'strobe: ...', program never started."""
        self.assertEqual(res.returncode, 2, "expected exit status 2:\n" + res.describe())
        lines = [l for l in res.stderr.splitlines() if l.strip()]
        self.assertEqual(len(lines), 1, "expected exactly one line on stderr:\n" + res.describe())
        self.assertTrue(lines[0].startswith("strobe: "),
                        "error line does not start with 'strobe: ':\n" + res.describe())
        self.assertGreater(len(lines[0]), len("strobe: ") + 5, "error line says nothing")
        self.assertEqual(res.stdout, "", "nothing should reach stdout:\n" + res.describe())
        if marker is not None:
            self.assertFalse(os.path.exists(marker),
                             "the program was started despite the error:\n" + res.describe())

    def assert_well_formed(self, samples, allow_threads=None):
        """Every frame has a name; no NUL or replacement characters anywhere."""
        self.assertTrue(samples, "profile has no samples")
        for s in samples:
            self.assertTrue(s.thread is not None, "sample without thread name: %r" % s)
            for text in [s.thread] + [f.name for f in s.frames] + [f.file or "" for f in s.frames]:
                self.assertNotIn("\x00", text, "NUL in %r" % s)
                self.assertNotIn("\ufffd", text, "replacement character in %r" % s)
            for f in s.frames:
                self.assertTrue(f.name, "empty frame name in %r" % s)
                if f.synthetic:
                    self.assertRegex(f.name, r"^(<.*>|task:.+|[A-Za-z_][\w.\-]*)$",
                                     "synthetic element %r in %r" % (f.name, s))
                    if f.builtin:
                        self.assertIs(f, s.frames[-1], "a builtin that is not the leaf: %r" % (s,))
                else:
                    self.assertGreaterEqual(f.line, 0, "negative line in %r" % s)
            if allow_threads is not None:
                self.assertTrue(allow_threads(s.thread), "unexpected thread name %r" % s.thread)


class RecordingCache(object):
    """One recording shared by several tests of a class (saves run time):
        _rec = RecordingCache()              # class attribute
        res, out = self._rec.get("loop.pprof", [prog, ...], rate=200)
        tearDownClass: cls._rec.cleanup()
    A failed recording is not cached, so every test reports it."""

    def __init__(self):
        self.dir = None
        self.items = {}

    def get(self, filename, program, **opts):
        if filename not in self.items:
            if self.dir is None:
                self.dir = tempfile.mkdtemp(prefix="strobe-shared-")
            out = os.path.join(self.dir, filename)
            t0 = time.time()
            res = record(program, out=out, **opts)
            res.t0, res.t1 = t0, time.time()
            if res.returncode != 0 or not os.path.isfile(out):
                raise AssertionError("recording failed:\n" + res.describe())
            self.items[filename] = (res, out)
        return self.items[filename]

    def path(self, name):
        if self.dir is None:
            self.dir = tempfile.mkdtemp(prefix="strobe-shared-")
        return os.path.join(self.dir, name)

    def cleanup(self):
        if self.dir is not None:
            shutil.rmtree(self.dir, True)
        self.dir = None
        self.items = {}


def read_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)
