"""Off-CPU time and its cause (issue 4): the `off-cpu-time` value and the
`off cpu cause` label, for threads (from what the kernel says each is blocked
in) and for suspended asyncio tasks (from what each awaits)."""

import collections
import json
import os
import unittest

import support
from support import RecordingCache, StrobeTestCase, describe_samples, workload

CAUSES = ("sleep", "lock", "io", "gil", "other")
THREADS = workload("offcpu_causes.py")
CCALLS = workload("ccalls.py")
TASKS = workload("aio_causes.py")


def off_by_cause(samples):
    out = collections.Counter()
    for s in samples:
        off = s.values.get("off-cpu-time", 0)
        if off:
            out[s.labels.get("off cpu cause")] += off
    return out


def describe_causes(by):
    total = sum(by.values()) or 1
    return ", ".join("%s %.0f ms (%.0f%%)" % (c, v / 1e6, 100.0 * v / total) for c, v in by.most_common())


class OffCpuCase(StrobeTestCase):

    def assert_cause(self, samples, who, want, min_share):
        by = off_by_cause(samples)
        total = sum(by.values())
        self.assertGreater(total, 0.3e9, "%s: little off-CPU time: %s\n%s"
                           % (who, describe_causes(by), describe_samples(samples)))
        self.assertGreaterEqual(by[want], min_share * total, "%s: expected %d%% %s; got %s"
                                % (who, 100 * min_share, want, describe_causes(by)))


class ThreadCauses(OffCpuCase):
    """One thread per cause; each thread's off-CPU time is mostly its cause."""
    _rec = RecordingCache()

    @classmethod
    def tearDownClass(cls):
        cls._rec.cleanup()

    def profile(self):
        res, out = self._rec.get("threads.pprof", [THREADS, "2.0"], rate=100)
        return self.load(out, res)

    def of(self, samples, thread):
        mine = [s for s in samples if s.thread == thread]
        self.assertTrue(mine, "no samples of %s:\n%s" % (thread, describe_samples(samples)))
        return mine

    def test_values(self):
        """off = max(0, wall - cpu) on every thread sample; the cause label is
        there exactly when off > 0, and is one of the five."""
        samples = self.profile()
        for s in samples:
            wall, cpu, off = s.values["wall-time"], s.values["cpu-time"], s.values["off-cpu-time"]
            self.assertEqual(off, max(0, wall - cpu), "off-cpu-time of %r: %r" % (s, s.values))
            cause = s.labels.get("off cpu cause")
            if off:
                self.assertIn(cause, CAUSES, "cause of %r: %r" % (s, s.labels))
            else:
                self.assertIsNone(cause, "a cause without off-CPU time: %r %r" % (s, s.labels))

    def test_sleep(self):
        self.assert_cause(self.of(self.profile(), "sleep-thread"), "time.sleep", "sleep", 0.9)

    def test_lock(self):
        samples = self.profile()
        for thread in ("lock-thread", "event-thread", "queue-thread", "cond-thread"):
            self.assert_cause(self.of(samples, thread), thread, "lock", 0.9)

    def test_io(self):
        samples = self.profile()
        for thread in ("recv-thread", "pipe-thread", "select-thread"):
            self.assert_cause(self.of(samples, thread), thread, "io", 0.9)

    def test_other(self):
        self.assert_cause(self.of(self.profile(), "child-thread"), "waiting for a child", "other", 0.9)

    def test_gil(self):
        """Two CPU-bound threads take turns: the time each is off CPU is a
        wait for the GIL, also while it is found running at the sample."""
        samples = self.profile()
        for thread in ("gil-thread-1", "gil-thread-2"):
            mine = self.of(samples, thread)
            wall = sum(s.values["wall-time"] for s in mine)
            off = sum(s.values["off-cpu-time"] for s in mine)
            self.assertGreater(off, 0.25 * wall, "%s is off CPU only %.0f%% of the time"
                               % (thread, 100.0 * off / wall))
            self.assert_cause(mine, thread, "gil", 0.8)


class TaskCauses(OffCpuCase):
    """Suspended asyncio tasks: off-CPU time is their wall time, the cause
    is what they await."""
    _rec = RecordingCache()

    @classmethod
    def tearDownClass(cls):
        cls._rec.cleanup()

    def profile(self):
        res, out = self._rec.get("tasks.pprof", [TASKS, "2.0"], rate=100)
        return self.load(out, res)

    def of(self, samples, task):
        mine = [s for s in samples if s.labels.get("task name") == task]
        self.assertTrue(mine, "no samples of task %s:\n%s" % (task, describe_samples(samples)))
        return mine

    def test_values(self):
        for s in self.profile():
            state = s.labels.get("task state")
            if "task name" not in s.labels:
                self.assertIsNone(state, "a thread sample with a task state: %r" % (s.labels,))
                continue
            self.assertIn(state, ("running", "suspended"), "task state of %r" % (s.labels,))
            if state == "suspended":
                self.assertEqual(s.values["cpu-time"], 0, "%r" % (s.values,))
                self.assertEqual(s.values["off-cpu-time"], s.values["wall-time"], "%r" % (s.values,))
                self.assertIn(s.labels.get("off cpu cause"), CAUSES, "%r" % (s.labels,))

    def check(self, task, cause):
        mine = [s for s in self.of(self.profile(), task) if s.labels.get("task state") == "suspended"]
        self.assert_cause(mine, "task " + task, cause, 0.9)

    def test_sleep(self):
        self.check("sleeper", "sleep")

    def test_lock(self):
        for task in ("locker", "eventer", "queuer", "semaphorer"):
            self.check(task, "lock")

    def test_io(self):
        for task in ("streamer", "sock-receiver"):
            self.check(task, "io")

    def test_other(self):
        self.check("futurer", "other")


class BuiltinLeaf(StrobeTestCase):
    """A thread inside a builtin called from Python has a leaf element
    naming the builtin, right above the Python frame that called it."""
    _rec = RecordingCache()

    # thread -> (leaf name, or a predicate on it; share of its samples;
    #            the function that called it)
    WANT = {
        "sleep": ("time.sleep", 0.9, "t_sleep"),
        "alias": ("time.sleep", 0.9, "t_alias"),
        "partial": ("functools.partial", 0.9, "t_partial"),
        "acquire": ("_thread.lock.acquire", 0.9, "t_acquire"),
        "with": ("_thread.lock.__enter__", 0.9, "t_with"),
        "recv": ("_socket.socket.recv", 0.9, "t_recv"),
        "poll": ("select.epoll.poll", 0.9, "t_poll"),
        "sha": (lambda n: n.endswith("sha256"), 0.6, "t_sha"),
        "holder": ("_thread.lock.acquire", 0.9, "Condition.wait"),
    }

    @classmethod
    def tearDownClass(cls):
        cls._rec.cleanup()

    def test_leaves(self):
        res, out = self._rec.get("ccalls.pprof", [CCALLS, "1.5"], rate=100)
        samples = self.load(out, res)
        for thread, (want, share, caller) in sorted(self.WANT.items()):
            mine = [s for s in samples if s.thread == thread]
            self.assertTrue(mine, "no samples of %s:\n%s" % (thread, describe_samples(samples)))
            match = want if callable(want) else (lambda n, w=want: n == w)
            good = [s for s in mine if match(s.leaf.name)]
            n_good, n_all = support.total(good), support.total(mine)
            self.assertGreaterEqual(n_good, share * n_all, "%s: %d of %d samples end in %s:\n%s"
                                    % (thread, n_good, n_all, want, describe_samples(mine)))
            for s in good:
                leaf, below = s.frames[-1], s.frames[-2]
                self.assertEqual((leaf.file, leaf.line), (None, None),
                                 "a builtin has no file or line: %r" % (s,))
                self.assertTrue(below.name == caller or below.name.endswith("." + caller),
                                "%s: the builtin's caller is %r, not %s" % (thread, below, caller))

    def test_python_callees_have_no_builtin_leaf(self):
        """Threads running Python code end in Python frames."""
        res, out = self._rec.get("ccalls.pprof", [CCALLS, "1.5"], rate=100)
        samples = self.load(out, res)
        self.assert_well_formed(samples)   # builtins only ever as the leaf
        for s in samples:
            if s.thread in ("sorted", "json") and not s.leaf.builtin:
                self.assertTrue(s.leaf.file, "%r" % (s,))


class DemoReport(StrobeTestCase):
    """examples/offcpu_demo.py through `strobe report`: each blocked thread
    has at most 10% of its off-CPU time in a wrong cause and most of it in
    its true one; each CPU-bound thread's off-CPU time is at least 80% gil.

    A blocked thread that wakes must take the GIL from three CPU-bound
    threads, and how long that takes is the scheduler's (on 3.8 under load,
    a sleeper woken six times waited 0.42 s of its 3.4 s for it): its gil
    time is true, not a wrong cause."""

    WANT = {"sleeper": "sleep", "lock-waiter": "lock", "event-waiter": "lock",
            "queue-waiter": "lock", "socket-reader": "io"}
    CPU_BOUND = ("spinner", "cruncher-1", "cruncher-2")

    def test_demo(self):
        demo = os.path.join(support.ROOT, "examples", "offcpu_demo.py")
        out = self.path("demo.pprof")
        res = support.record([demo, "3"], out=out, rate=100, timeout=120)
        self.assertEqual(res.returncode, 0, res.describe())
        rep = support.run([support.STROBE_BIN, "report", "--format", "json", out])
        self.assertEqual(rep.returncode, 0, rep.describe())
        doc = json.loads(rep.stdout)
        rows = {t["name"]: t for t in doc["threads"]}
        for name, cause in sorted(self.WANT.items()) + [(n, "gil") for n in self.CPU_BOUND]:
            self.assertIn(name, rows, rep.stdout)
            row = rows[name]
            by = row["off_cpu_by_cause"]
            off = max(row["off_cpu_s"], 1e-9)
            share = by.get(cause, 0) / off
            self.assertGreater(row["off_cpu_s"], 0.5, "%s: %s" % (name, json.dumps(row)))
            what = "%s: %.0f%% %s: %s" % (name, 100 * share, cause, json.dumps(row))
            if cause == "gil":
                self.assertGreaterEqual(share, 0.8, what)
                continue
            wrong = sum(v for c, v in by.items() if c not in (cause, "gil")) / off
            self.assertLessEqual(wrong, 0.1, what)
            self.assertGreaterEqual(share, 0.6, what)


if __name__ == "__main__":
    unittest.main()
