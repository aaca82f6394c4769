"""Threads (issue 2, items 3 and 10): names as threading knows them (set at
creation and renamed later), ids in pprof labels, threads starting and
ending while sampled, and --mode cpu dropping idle threads."""

import re
import unittest

import support
from support import StrobeTestCase, workload, describe_samples


def threads_of(samples):
    out = {}
    for s in samples:
        out[s.thread] = out.get(s.thread, 0) + s.count
    return out


def as_int(text):
    return int(text, 0) if isinstance(text, str) else int(text)


class ThreadNameTest(StrobeTestCase):

    def run_named(self, ext):
        truth_path = self.path("truth.json")
        out = self.path("threads." + ext)
        res, samples = self.record_ok([workload("threads_named.py"), truth_path, "1.0"], out, rate=200)
        self.assert_well_formed(samples)
        return samples, support.read_json(truth_path)

    def check_names(self, samples):
        seen = threads_of(samples)
        for name in ("MainThread", "worker-alpha", "renamed-gamma", "Zürich-線程-𐌰"):
            self.assertIn(name, seen, "thread %r missing; threads seen: %r" % (name, seen))
        allowed = {"MainThread", "worker-alpha", "initial-gamma", "renamed-gamma", "Zürich-線程-𐌰"}
        # A thread sampled in its first moments, before threading has told
        # strobe its name (the hook runs as the thread starts), is tid-N:
        # a sample or two at most.
        early = {n for n in seen if re.match(r"^tid-\d+$", n)}
        self.assertLessEqual(sum(seen[n] for n in early), 3, seen)
        self.assertEqual(set(seen) - allowed - early, set(), "unexpected thread names")
        # The renamed thread spends 0.2 s under its first name, 1 s under the new one.
        self.assertGreater(seen["renamed-gamma"], seen.get("initial-gamma", 0), seen)
        # Each worker's samples are its own code.
        for s in samples:
            if s.thread in ("worker-alpha", "Zürich-線程-𐌰"):
                self.assertFalse(s.has_function("renaming_worker"), s)
            if s.thread == "renamed-gamma":
                self.assertFalse(s.has_function("plain_worker"), s)

    def test_names_collapsed(self):
        samples, _truth = self.run_named("txt")
        self.check_names(samples)

    def test_names_and_labels_pprof(self):
        samples, truth = self.run_named("pprof")
        self.check_names(samples)
        for s in samples:
            for key in ("thread id", "thread native id", "thread name"):
                self.assertIn(key, s.labels, "label %r missing on %r (labels %r)" % (key, s, s.labels))
                self.assertIsInstance(s.labels[key], str, "label %r is not a string label" % key)
            self.assertEqual(s.labels["thread name"], s.thread)
            if s.thread in truth:
                t = truth[s.thread]
                self.assertEqual(as_int(s.labels["thread id"]), t["ident"], s.labels)
                self.assertEqual(as_int(s.labels["thread native id"]), t["native_id"], s.labels)
        if "initial-gamma" in threads_of(samples):
            # Same thread under both names: same ids.
            ids = set((s.labels["thread id"], s.labels["thread native id"]) for s in samples
                      if s.thread in ("initial-gamma", "renamed-gamma"))
            self.assertEqual(len(ids), 1, ids)


class ThreadChurnTest(StrobeTestCase):
    """Threads starting and ending while sampled at 1000 Hz: no error."""

    def check(self, ext):
        out = self.path("churn." + ext)
        res, samples = self.record_ok([workload("thread_churn.py"), "1.5"], out, rate=1000, timeout=120)
        self.assertEqual(len(res.strobe_lines), 1, "strobe reported more than its summary:\n" + res.describe())
        self.assertNotIn("Traceback", res.stderr, res.describe())
        started = int(res.stdout.strip().splitlines()[-1])
        self.assertGreater(started, 20, "the workload started only %d threads" % started)
        self.assert_well_formed(samples)
        own = ("churn_body", "spin", "main")
        for s in samples:
            named = s.thread in ("MainThread", "steady") or re.match(r"^churn-\d+$", s.thread)
            if any(s.has_function(f) for f in own):
                # Running the workload's code: threading knows the thread by now.
                self.assertTrue(named, "unexpected thread name %r for %r" % (s.thread, s))
            else:
                # In threading's start-up or shut-down the name may not be
                # known; a stand-in must still be printable text.
                self.assertRegex(s.thread, r"^[^\x00-\x1f;]+$", s)
        seen = threads_of(samples)
        self.assertIn("steady", seen, seen)
        self.assertIn("MainThread", seen, seen)
        for s in samples:
            if s.thread.startswith("churn-"):
                self.assertFalse(s.has_function("spin"), "churn thread running spin(): %r" % s)
            if s.thread == "steady":
                self.assertFalse(s.has_function("churn_body"), "steady thread running churn_body(): %r" % s)

    def test_each_thread_counted_once(self):
        """Threads started by the hundred at once: the summary counts each
        once, not again for the thread state made before its thread ran nor
        for the one left while it is removed."""
        res, _samples = self.record_ok([workload("thread_waves.py"), "20", "100"], self.path("w.pprof"),
                                       rate=200, timeout=120)
        started = int(res.stdout.strip().splitlines()[-1])
        counted = int(re.search(r"(\d+) threads", res.strobe_lines[-1]).group(1))
        self.assertEqual(started, 2000, res.describe())
        # the main thread, and a little slack: on a loaded machine a thread
        # list read while it changes now and then still counts one twice
        # (2,001-2,004 seen, with this session's builds and the last's
        # alike); counting the states made before their threads ran gave
        # 2,003-2,088
        self.assertLessEqual(counted, started + 5, res.strobe_lines[-1])
        self.assertGreaterEqual(counted, started // 2, res.strobe_lines[-1])

    def test_churn_collapsed(self):
        self.check("txt")

    def test_churn_pprof(self):
        self.check("pprof")


class ModeTest(StrobeTestCase):
    """--mode wall samples every thread; --mode cpu keeps samples with CPU time."""

    def run_mode(self, mode):
        out = self.path(mode + ".txt")
        res, samples = self.record_ok([workload("idle_threads.py"), "1.5"], out, rate=200, mode=mode)
        return threads_of(samples), samples

    def test_wall_mode_has_idle_threads(self):
        seen, samples = self.run_mode("wall")
        main = seen.get("MainThread", 0)
        self.assertGreater(main, 50, describe_samples(samples))
        for idle in ("sleeper", "waiter"):
            self.assertGreater(seen.get(idle, 0), main // 2,
                               "%s is idle but sampled in wall mode all the same: %r" % (idle, seen))

    def test_cpu_mode_drops_idle_threads(self):
        seen, samples = self.run_mode("cpu")
        main = seen.get("MainThread", 0)
        self.assertGreater(main, 50, describe_samples(samples))
        for idle in ("sleeper", "waiter"):
            self.assertLessEqual(seen.get(idle, 0), max(2, main // 20),
                                 "%s is idle but has samples in cpu mode: %r" % (idle, seen))

    def test_default_mode_is_wall(self):
        out = self.path("default.txt")
        res, samples = self.record_ok([workload("idle_threads.py"), "1.0"], out, rate=200)
        seen = threads_of(samples)
        self.assertGreater(seen.get("sleeper", 0), seen.get("MainThread", 0) // 2, seen)


if __name__ == "__main__":
    unittest.main()
