"""`strobe report FILE` (issue 4): per thread, wall, CPU and off-CPU time and
its causes; suspended asyncio tasks' waiting time; text and JSON; errors.

End to end: `strobe record` of a program with a sleeping and a spinning
thread, then `strobe report` on its profile.  The rest uses profiles written
here with a small protobuf encoder, so every sum can be checked exactly:
causes, tasks, missing sample types, duplicate strings, odd names, 200
threads, a reader that goes away."""

import gzip
import json
import os
import signal
import subprocess
import unicodedata
import unittest

import support
from support import RecordingCache, StrobeTestCase, run

NS = 1000000000

TWO_THREADS = r'''
import sys, threading, time
DUR = float(sys.argv[1])

def sleeper():
    time.sleep(DUR)

def spinner():
    end = time.perf_counter() + DUR
    n = 0
    while time.perf_counter() < end:
        n += 1

threads = [threading.Thread(target=sleeper, name="sleeper"),
           threading.Thread(target=spinner, name="spinner")]
for t in threads:
    t.start()
for t in threads:
    t.join()
'''

DUR = 1.0


def report(*args, **kw):
    support.require_strobe()
    return run([support.STROBE_BIN, "report"] + [str(a) for a in args], **kw)


def display_width(text):
    w = 0
    for ch in text:
        if unicodedata.combining(ch):
            continue
        w += 2 if unicodedata.east_asian_width(ch) in "WF" else 1
    return w


# ---- a pprof writer (profile.proto), just enough for these tests -------------

def _varint(n):
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _vfield(num, v):
    return _varint(num << 3) + _varint(v)


def _lfield(num, data):
    return _varint(num << 3 | 2) + _varint(len(data)) + data


STROBE_TYPES = (("samples", "count"), ("wall-time", "nanoseconds"),
                ("cpu-time", "nanoseconds"), ("off-cpu-time", "nanoseconds"))


class Pprof(object):
    """Samples are (values, [(key, value)...]); a value may be bytes."""

    def __init__(self, types=STROBE_TYPES, period=10000000, duration_ns=2 * NS):
        self.strings = [b""]
        self.index = {b"": 0}
        self.types = types
        self.period = period
        self.duration_ns = duration_ns
        self.samples = []

    def s(self, text, fresh=False):
        b = text if isinstance(text, bytes) else text.encode("utf-8")
        if fresh or b not in self.index:
            self.index.setdefault(b, len(self.strings))
            self.strings.append(b)
            return len(self.strings) - 1
        return self.index[b]

    def add(self, values, labels=()):
        self.samples.append((list(values), list(labels)))

    def thread(self, name, nid, wall, cpu, count=1, cause=None, extra=()):
        """A strobe-like thread sample (off = wall - cpu)."""
        labels = [("thread id", "1%s" % nid), ("thread native id", str(nid)), ("thread name", name)]
        if cause is not None:
            labels.append(("off cpu cause", cause))
        self.add([count, wall, cpu, max(0, wall - cpu)], labels + list(extra))

    def encode(self, gz=True):
        out = bytearray()
        for t, u in self.types:
            out += _lfield(1, _vfield(1, self.s(t)) + _vfield(2, self.s(u)))
        for values, labels in self.samples:
            body = _lfield(2, b"".join(_varint(v) for v in values))
            for k, v in labels:
                key = self.s(k) if not isinstance(k, int) else k
                val = self.s(v) if not isinstance(v, int) else v
                body += _lfield(3, _vfield(1, key) + _vfield(2, val))
            out += _lfield(2, body)
        if self.period:
            out += _lfield(11, _vfield(1, self.s("wall-time")) + _vfield(2, self.s("nanoseconds")))
            out += _vfield(12, self.period)
        out += _vfield(10, self.duration_ns)
        for b in self.strings:
            out += _lfield(6, b)
        return gzip.compress(bytes(out)) if gz else bytes(out)

    def write(self, path, gz=True):
        with open(path, "wb") as f:
            f.write(self.encode(gz))
        return path


def thread_table(text):
    """The lines of the per-thread table: header, rows, (separator, total)."""
    lines = text.splitlines()
    start = next(i for i, l in enumerate(lines) if l.startswith("thread "))
    end = start
    while end < len(lines) and lines[end].strip():
        end += 1
    return lines[start:end]


# ---- end to end ------------------------------------------------------------------

class RecordedTest(StrobeTestCase):
    """A sleeping and a spinning thread, recorded by strobe, then reported."""

    _rec = RecordingCache()

    @classmethod
    def tearDownClass(cls):
        cls._rec.cleanup()

    def recorded(self):
        prog = self._rec.path("two_threads.py")
        if not os.path.exists(prog):
            with open(prog, "w") as f:
                f.write(TWO_THREADS)
        res, out = self._rec.get("two.pprof", [prog, DUR], rate=100)
        return res, out

    def json_report(self, out):
        r = report("--format", "json", out)
        self.assertEqual(r.returncode, 0, r.describe())
        self.assertEqual(r.stderr, "", r.describe())
        try:
            return json.loads(r.stdout)
        except ValueError as e:
            self.fail("the JSON report does not parse: %s\n%s" % (e, r.describe()))

    def thread(self, doc, name):
        rows = [t for t in doc["threads"] if t["name"] == name]
        self.assertEqual(len(rows), 1, "expected one row for %r:\n%s" % (name, json.dumps(doc, indent=1)))
        return rows[0]

    def test_text_names_both_threads(self):
        _, out = self.recorded()
        r = report(out)
        self.assertEqual(r.returncode, 0, r.describe())
        self.assertEqual(r.stderr, "", r.describe())
        self.assertIn(os.path.basename(out), r.stdout.splitlines()[0])
        self.assertRegex(r.stdout, r"\b100 Hz\b")
        table = thread_table(r.stdout)
        names = [l.split()[0] for l in table[1:]]
        self.assertIn("sleeper", names, r.stdout)
        self.assertIn("spinner", names, r.stdout)
        self.assertIn("total", names, r.stdout)

    def test_json_times(self):
        res, out = self.recorded()
        doc = self.json_report(out)
        self.assertEqual(doc["file"], out)
        self.assertGreater(doc["samples"], 0)
        self.assertAlmostEqual(doc["rate_hz"], 100, delta=0.01)
        sleeper, spinner = self.thread(doc, "sleeper"), self.thread(doc, "spinner")
        ran = res.t1 - res.t0
        for t in (sleeper, spinner):
            self.assertIsInstance(t["native_id"], int)
            # wall per thread ~ the run: the threads live DUR seconds
            self.assertGreater(t["wall_s"], 0.6 * DUR, json.dumps(t))
            self.assertLess(t["wall_s"], ran + 0.5, json.dumps(t))
            self.assertLessEqual(t["cpu_s"], t["wall_s"] * 1.1 + 0.05, json.dumps(t))
        self.assertGreater(spinner["cpu_s"], 0.5 * spinner["wall_s"],
                           "the spinning thread should be on the CPU: %s" % json.dumps(spinner))
        self.assertLess(sleeper["cpu_s"], 0.2 * sleeper["wall_s"], json.dumps(sleeper))
        self.assertNotIn("off-cpu-time", doc["missing"], json.dumps(doc["missing"]))
        self.assertGreaterEqual(sleeper["off_cpu_s"], 0.8 * sleeper["wall_s"], json.dumps(sleeper))
        self.assertGreaterEqual(sleeper["off_cpu_pct"], 80, json.dumps(sleeper))
        causes = sleeper["off_cpu_by_cause"]
        self.assertAlmostEqual(sum(causes.values()), sleeper["off_cpu_s"], places=6)
        named = sum(v for k, v in causes.items() if k != "unknown")
        if named > 0:
            # with cause labels, time.sleep is "sleep"
            self.assertGreaterEqual(causes["sleep"], 0.8 * sleeper["off_cpu_s"], json.dumps(sleeper))

    def test_stdin_and_raw(self):
        _, out = self.recorded()
        with open(out, "rb") as f:
            data = f.read()
        a = report("--format=json", "-", input=data)
        self.assertEqual(a.returncode, 0, a.describe())
        raw = self.path("raw.pb")
        with open(raw, "wb") as f:
            f.write(gzip.decompress(data))
        b = report("--format", "json", raw)
        self.assertEqual(b.returncode, 0, b.describe())
        da, db = json.loads(a.stdout), json.loads(b.stdout)
        self.assertEqual(da["threads"], db["threads"])
        self.assertEqual(da["file"], "-")

    def test_truncated_gzip(self):
        _, out = self.recorded()
        with open(out, "rb") as f:
            data = f.read()
        cut = self.path("cut.pprof")
        with open(cut, "wb") as f:
            f.write(data[:len(data) // 2])
        r = report(cut)
        self.assert_input_error(r, cut, "truncated")

    def assert_input_error(self, r, path, what):
        self.assertEqual(r.returncode, 1, r.describe())
        self.assertEqual(r.stdout, "", r.describe())
        lines = r.stderr.splitlines()
        self.assertEqual(len(lines), 1, r.describe())
        self.assertTrue(lines[0].startswith("strobe: error: %s: " % path), r.describe())
        self.assertIn(what, lines[0])


# ---- errors and usage ----------------------------------------------------------------

class ErrorTest(StrobeTestCase):

    def assert_input_error(self, r, path, what):
        RecordedTest.assert_input_error(self, r, path, what)

    def test_missing_file(self):
        p = self.path("nope.pprof")
        self.assert_input_error(report(p), p, "No such file")

    def test_garbage_file(self):
        p = self.path("garbage.pprof")
        with open(p, "wb") as f:
            f.write(bytes(range(7, 256)) * 3)
        self.assert_input_error(report(p), p, "not a pprof profile")

    def test_text_file(self):
        p = self.path("stacks.txt")
        with open(p, "w") as f:
            f.write("thread:MainThread;main (a.py:1) 3\n")
        self.assert_input_error(report(p), p, "text")

    def test_empty_file_and_directory(self):
        p = self.path("empty.pprof")
        open(p, "wb").close()
        self.assert_input_error(report(p), p, "empty")
        self.assert_input_error(report(self.tmp), self.tmp, "directory")

    def test_corrupt_gzip(self):
        data = bytearray(Pprof().encode())
        data[-6] ^= 0xFF  # the CRC
        p = self.path("crc.pprof")
        with open(p, "wb") as f:
            f.write(bytes(data))
        self.assert_input_error(report(p), p, "corrupt")

    def test_not_a_strobe_profile(self):
        prof = Pprof(types=(("alloc_space", "bytes"),))
        prof.add([100], [("thread name", "x")])
        p = prof.write(self.path("heap.pprof"))
        r = report(p)
        self.assert_input_error(r, p, "alloc_space/bytes")

    def test_usage_errors(self):
        p = Pprof().write(self.path("ok.pprof"))
        for args in ([], ["--format", "xml", p], ["--format"], ["-x", p], [p, p], ["--bogus"]):
            r = report(*args)
            self.assert_user_error(r)
        self.assertEqual(report(p).returncode, 0)

    def test_help(self):
        for flag in ("-h", "--help"):
            r = report(flag)
            self.assertEqual(r.returncode, 0, r.describe())
            self.assertIn("usage: strobe report", r.stdout)
            self.assertIn("--format", r.stdout)
            self.assertEqual(r.stderr, "")
        r = run([support.STROBE_BIN, "--help"])
        self.assertIn("report", r.stdout)

    def test_reader_goes_away(self):
        prof = Pprof()
        for i in range(6000):
            prof.thread("t%d" % i, 10000 + i, wall=(i + 1) * 1000, cpu=i * 500, cause="io")
        p = prof.write(self.path("big.pprof"))
        for fmt in ("text", "json"):
            for trap in ("", "trap '' PIPE; "):
                script = "%sexec '%s' report --format %s '%s' | head -c 100 >/dev/null" % (
                    trap, support.STROBE_BIN, fmt, p)
                r = run(["sh", "-c", script])
                self.assertEqual(r.returncode, 0, r.describe())
                self.assertEqual(r.stderr, "", "a closed pipe must not be noisy:\n" + r.describe())


# ---- exact sums on written profiles --------------------------------------------------------

class SumsTest(StrobeTestCase):

    def profile(self):
        p = Pprof(duration_ns=3 * NS)
        ms = 1000000
        p.thread("loop", 101, 900 * ms, 100 * ms, count=90, cause="io")
        p.thread("loop", 101, 100 * ms, 100 * ms, count=10)                  # on CPU: no cause
        p.thread("pool", 102, 500 * ms, 0, count=50, cause="lock")
        p.thread("pool", 102, 300 * ms, 0, count=30, cause="gil")
        p.thread("pool", 102, 200 * ms, 0, count=20)                          # off, no cause: unknown
        p.thread("sleepy", 103, 400 * ms, 0, count=40, cause="sleep")
        p.thread("sleepy", 103, 100 * ms, 0, count=10, cause="other")
        # a running task's sample is its thread's time
        p.thread("loop", 101, 200 * ms, 200 * ms, count=20,
                 extra=[("task name", "Task-1"), ("task id", "1"), ("task state", "running")])
        # suspended tasks: apart, per loop thread; three distinct tasks
        for tid, n in (("1", 10), ("2", 20), ("3", 30), ("2", 5)):
            p.add([n, n * 10 * ms, 0, n * 10 * ms],
                  [("thread native id", "101"), ("thread name", "loop"), ("task name", "Task-" + tid),
                   ("task id", tid), ("task state", "suspended"), ("off cpu cause", "io")])
        p.add([5, 50 * ms, 0, 50 * ms],
              [("thread native id", "101"), ("thread name", "loop"), ("task id", "3"),
               ("task state", "suspended")])
        # no thread labels at all
        p.add([7, 70 * ms, 70 * ms, 0], [])
        # an unknown task state: left out, and said so
        p.add([1, 10 * ms, 0, 10 * ms], [("thread native id", "101"), ("thread name", "loop"),
                                        ("task state", "sleeping")])
        return p

    def test_json_sums(self):
        path = self.profile().write(self.path("p.pprof"))
        r = report("--format", "json", path)
        self.assertEqual(r.returncode, 0, r.describe())
        doc = json.loads(r.stdout)
        self.assertEqual(doc["duration_s"], 3)
        self.assertEqual(doc["rate_hz"], 100)
        self.assertEqual(doc["missing"], [])
        self.assertEqual(doc["samples"], 90 + 10 + 50 + 30 + 20 + 40 + 10 + 20 + 65 + 5 + 7 + 1)
        self.assertEqual(len(doc["notes"]), 1, doc["notes"])
        self.assertIn("unknown task state", doc["notes"][0])
        names = [t["name"] for t in doc["threads"]]
        self.assertEqual(names, ["loop", "pool", "sleepy", None])   # by wall, descending
        loop, pool, sleepy, nolabel = doc["threads"]
        self.assertEqual(loop["native_id"], 101)
        self.assertEqual(loop["samples"], 120)
        self.assertAlmostEqual(loop["wall_s"], 1.2, places=9)
        self.assertAlmostEqual(loop["cpu_s"], 0.4, places=9)
        self.assertAlmostEqual(loop["off_cpu_s"], 0.8, places=9)
        self.assertAlmostEqual(loop["off_cpu_pct"], 66.67, places=2)
        self.assertEqual(loop["off_cpu_by_cause"], {"sleep": 0, "lock": 0, "io": 0.8, "gil": 0, "other": 0})
        self.assertEqual(pool["off_cpu_by_cause"],
                         {"sleep": 0, "lock": 0.5, "io": 0, "gil": 0.3, "other": 0, "unknown": 0.2})
        self.assertEqual(pool["off_cpu_pct"], 100)
        self.assertEqual(sleepy["off_cpu_by_cause"], {"sleep": 0.4, "lock": 0, "io": 0, "gil": 0, "other": 0.1})
        self.assertIsNone(nolabel["native_id"])
        self.assertAlmostEqual(nolabel["wall_s"], 0.07, places=9)
        self.assertEqual(nolabel["off_cpu_s"], 0)
        self.assertEqual(len(doc["tasks"]), 1)
        t = doc["tasks"][0]
        self.assertEqual((t["native_id"], t["thread"], t["tasks"], t["samples"]), (101, "loop", 3, 70))
        self.assertAlmostEqual(t["wait_s"], 0.7, places=9)
        self.assertEqual(t["wait_by_cause"], {"sleep": 0, "lock": 0, "io": 0.65, "gil": 0, "other": 0,
                                              "unknown": 0.05})

    def test_text(self):
        path = self.profile().write(self.path("p.pprof"))
        r = report(path)
        self.assertEqual(r.returncode, 0, r.describe())
        out = r.stdout
        self.assertIn("3.00 s", out)
        self.assertIn("100 Hz", out)
        self.assertIn("unknown task state", out)
        table = thread_table(out)
        head = table[0].split()
        self.assertEqual(head, ["thread", "tid", "wall", "cpu", "off-cpu", "off%", "sleep", "lock", "io",
                                "gil", "other", "unknown"])
        rows = {l.split()[0]: l.split() for l in table[1:] if not l.startswith("-")}
        self.assertEqual(rows["loop"][1:6], ["101", "1.200", "0.400", "0.800", "66.7%"])
        self.assertEqual(rows["pool"][5:], ["100.0%", "-", "0.500", "-", "0.300", "-", "0.200"])
        self.assertIn("(no thread label)", out)
        self.assertEqual(rows["total"][1:4], ["2.770", "0.470", "2.300"])
        self.assertEqual(len({display_width(l) for l in table}), 1, "\n".join(table))
        # the asyncio section
        self.assertIn("asyncio: 3 suspended tasks", out)
        tasks = out[out.index("asyncio:"):].splitlines()
        self.assertEqual(tasks[1].split(), ["thread", "tid", "tasks", "wait", "sleep", "lock", "io", "gil",
                                            "other", "unknown"])
        self.assertEqual(tasks[2].split(), ["loop", "101", "3", "0.700", "-", "-", "0.650", "-", "-", "0.050"])

    def test_no_tasks_no_unknown(self):
        p = Pprof()
        p.thread("a", 1, 100, 40, cause="sleep")
        r = report(p.write(self.path("p.pprof")))
        self.assertEqual(r.returncode, 0, r.describe())
        self.assertNotIn("asyncio", r.stdout)
        self.assertNotIn("unknown", r.stdout)
        self.assertNotIn("total", r.stdout)    # one thread: no total row
        doc = json.loads(report("--format", "json", self.path("p.pprof")).stdout)
        self.assertEqual(doc["tasks"], [])
        self.assertNotIn("unknown", doc["threads"][0]["off_cpu_by_cause"])

    def test_without_off_cpu(self):
        p = Pprof(types=STROBE_TYPES[:3])
        p.add([10, 100 * NS // 1000, 50 * NS // 1000], [("thread native id", "5"), ("thread name", "main")])
        path = p.write(self.path("old.pprof"))
        r = report(path)
        self.assertEqual(r.returncode, 0, r.describe())
        self.assertIn("off-CPU time is not in this profile", r.stdout)
        self.assertEqual(thread_table(r.stdout)[0].split(), ["thread", "tid", "wall", "cpu"])
        doc = json.loads(report("--format", "json", path).stdout)
        self.assertEqual(doc["missing"], ["off-cpu-time"])
        t = doc["threads"][0]
        self.assertAlmostEqual(t["wall_s"], 0.1)
        self.assertAlmostEqual(t["cpu_s"], 0.05)
        self.assertIsNone(t["off_cpu_s"])
        self.assertIsNone(t["off_cpu_by_cause"])

    def test_without_wall(self):
        p = Pprof(types=(("samples", "count"), ("cpu-time", "microseconds")))
        p.add([1, 2500], [("thread name", "w")])
        path = p.write(self.path("cpu.pprof"))
        r = report(path)
        self.assertEqual(r.returncode, 0, r.describe())
        self.assertIn("no wall-time", r.stdout)
        self.assertIn("missing: wall-time, off-cpu-time", r.stdout)
        doc = json.loads(report("--format", "json", path).stdout)
        self.assertEqual(doc["missing"], ["wall-time", "off-cpu-time"])
        self.assertAlmostEqual(doc["threads"][0]["cpu_s"], 0.0025)
        self.assertIsNone(doc["threads"][0]["wall_s"])

    def test_stateless_task_samples(self):
        # Profiles from before `task state`: task samples count as thread time, with a note.
        p = Pprof()
        p.thread("loop", 1, 100, 100)
        p.thread("loop", 1, 100, 0, extra=[("task name", "T"), ("task id", "9")])
        r = report(p.write(self.path("p.pprof")))
        self.assertIn("no task state", r.stdout)
        doc = json.loads(report("--format", "json", self.path("p.pprof")).stdout)
        self.assertEqual(doc["threads"][0]["wall_s"], 2e-7)
        self.assertEqual(doc["tasks"], [])

    def test_duplicate_strings_group(self):
        # A string table may repeat a string: threads compare by content.
        p = Pprof()
        p.thread("same", 7, 100, 0, cause="io")
        p.add([1, 200, 0, 200], [(p.s("thread native id", fresh=True), p.s("7", fresh=True)),
                                 (p.s("thread name", fresh=True), p.s("same", fresh=True)),
                                 (p.s("off cpu cause", fresh=True), p.s("io", fresh=True))])
        doc = json.loads(report("--format", "json", p.write(self.path("p.pprof"))).stdout)
        self.assertEqual(len(doc["threads"]), 1, doc)
        self.assertEqual(doc["threads"][0]["off_cpu_by_cause"]["io"], 3e-7)

    def test_names_in_json_and_text(self):
        p = Pprof()
        odd = ['quote"back\\slash', "new\nline\ttab", "snake \U0001F40D", "\u6f22\u5b57 wide",
               "x" * 80, "nul\x00byte", "\u2028sep"]
        for i, name in enumerate(odd):
            p.thread(name, 200 + i, (i + 1) * 1000, 0)
        p.thread(b"bad \xff\xfe utf8", 300, 50, 0)
        path = p.write(self.path("p.pprof"))
        r = report("--format", "json", path)
        self.assertEqual(r.returncode, 0, r.describe())
        doc = json.loads(r.stdout)
        got = {t["native_id"]: t["name"] for t in doc["threads"]}
        for i, name in enumerate(odd):
            self.assertEqual(got[200 + i], name)
        self.assertEqual(got[300], "bad \ufffd\ufffd utf8")
        t = report(path)
        self.assertEqual(t.returncode, 0, t.describe())
        table = thread_table(t.stdout)
        self.assertEqual(len(table), 1 + len(odd) + 1 + 2, t.stdout)
        self.assertEqual(len({display_width(l) for l in table}), 1, "\n".join(table))
        text = "\n".join(table)
        self.assertIn("x" * 31 + "\u2026", text)          # cut at 32 columns
        self.assertNotIn("x" * 33, text)
        self.assertIn("new?line?tab", text)
        self.assertIn("nul?byte", text)
        self.assertIn("\u6f22\u5b57 wide", text)

    def test_two_hundred_threads(self):
        p = Pprof()
        for i in range(200):
            p.thread("worker-%03d" % i, 5000 + i, wall=(i + 1) * 10000000, cpu=(i % 7) * 1000000,
                     cause=("sleep", "lock", "io", "gil", "other")[i % 5])
        p.thread("a-thread-with-a-very-long-name-that-goes-on-and-on", 9999, 1, 0)
        r = report(p.write(self.path("p.pprof")))
        self.assertEqual(r.returncode, 0, r.describe())
        table = thread_table(r.stdout)
        self.assertEqual(len(table), 1 + 201 + 2)
        self.assertEqual(len({display_width(l) for l in table}), 1, "\n".join(table[:5]))
        self.assertTrue(table[1].startswith("worker-199 "), table[1])
        self.assertTrue(table[200].startswith("worker-000 "), table[200])
        self.assertIn("a-thread-with-a-very-long-name-\u2026", table[201])
        self.assertIn("201 threads", r.stdout)


if __name__ == "__main__":
    unittest.main()
