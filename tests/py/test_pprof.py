"""The pprof file (issue 2, item 4), read by the pure-Python decoder in
support.py and by `go tool pprof` where go is installed; and the collapsed
format's shape (item 5)."""

import os
import re
import time
import unittest

import support
from support import StrobeTestCase, workload, describe_samples

LOOP = workload("loop_lines.py")


class PprofStructureTest(StrobeTestCase):
    """One recording of loop_lines.py, shared by the tests of this class."""

    _rec = support.RecordingCache()

    @classmethod
    def tearDownClass(cls):
        cls._rec.cleanup()

    def record_loop(self):
        res, out = self._rec.get("loop.pprof", [LOOP, "0.8"], rate=200)
        return support.read_pprof(out), out, res.t0, res.t1

    def test_header(self):
        prof, out, t0, t1 = self.record_loop()
        self.assertEqual(prof.sample_types[:3],
                         [("samples", "count"), ("wall-time", "nanoseconds"), ("cpu-time", "nanoseconds")])
        self.assertTrue(prof.samples, "no samples")
        self.assertIsNotNone(prof.period_type, "period_type not set")
        self.assertGreater(prof.period, 0, "period not set")
        self.assertGreater(prof.duration_nanos, 0, "duration_nanos not set")
        # time_nanos: when the profile started, within the run (1 s slack each side).
        self.assertTrue(int((t0 - 1) * 1e9) <= prof.time_nanos <= int((t1 + 1) * 1e9),
                        "time_nanos %d is not within the run [%d, %d]" % (prof.time_nanos, t0 * 1e9, t1 * 1e9))

    def test_values(self):
        prof, out, _t0, _t1 = self.record_loop()
        i_n, i_w, i_c = (prof.value_index(t) for t in ("samples", "wall-time", "cpu-time"))
        for loc_ids, values, labels in prof.samples:
            self.assertGreater(values[i_n], 0, "a sample with count 0")
            self.assertGreaterEqual(values[i_w], 0)
            self.assertGreaterEqual(values[i_c], 0)
            self.assertTrue(loc_ids, "a sample without locations")
        total_wall = sum(v[i_w] for _l, v, _lab in prof.samples)
        total_cpu = sum(v[i_c] for _l, v, _lab in prof.samples)
        self.assertGreater(total_wall, 0)
        self.assertGreater(total_cpu, 0, "a spinning program has no CPU time")

    def test_functions_and_locations(self):
        prof, out, _t0, _t1 = self.record_loop()
        by_name = {}
        for fn in prof.functions.values():
            by_name.setdefault(fn["name"], []).append(fn)
        for name, first in (("spin", self.def_line("spin")), ("main", self.def_line("main"))):
            self.assertIn(name, by_name, "function %s missing; functions: %r" % (name, sorted(by_name)))
            fns = [f for f in by_name[name] if f["filename"] == LOOP]
            self.assertTrue(fns, "%s with file %s missing: %r" % (name, LOOP, by_name[name]))
            for f in fns:
                self.assertEqual(f["start_line"], first, "start line of %s" % name)
        loop_lines = set(support.marked_lines(LOOP, "LOOP"))
        spin_ids = set(fid for fid, fn in prof.functions.items() if fn["name"] == "spin")
        lines = set()
        for loc in prof.locations.values():
            self.assertTrue(loc["lines"], "a location without a line")
            for fid, line in loc["lines"]:
                if fid in spin_ids:
                    lines.add(line)
        self.assertTrue(lines and lines <= loop_lines, "spin's locations are on lines %r, the loop is on %r"
                        % (sorted(lines), sorted(loop_lines)))

    def def_line(self, name):
        with open(LOOP, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if line.startswith("def %s(" % name):
                    return n
        raise AssertionError("no def %s in %s" % (name, LOOP))

    def test_thread_labels(self):
        prof, out, _t0, _t1 = self.record_loop()
        for _loc, _v, labels in prof.samples:
            keys = dict((k, (s, n)) for k, s, n, _u in labels)
            for key in ("thread id", "thread native id", "thread name"):
                self.assertIn(key, keys, "label %r missing: %r" % (key, labels))
                self.assertIsNotNone(keys[key][0], "label %r has no string value" % key)
        names = set(dict((k, s) for k, s, _n, _u in labels)["thread name"] for _l, _v, labels in prof.samples)
        self.assertIn("MainThread", names)

    def test_strings_are_clean(self):
        prof, out, _t0, _t1 = self.record_loop()
        for s in prof.string_table:
            self.assertNotIn("\x00", s)


class GoPprofTest(StrobeTestCase):
    """`go tool pprof` reads the file: -raw, -top, -tags, and each sample type."""

    def setUp(self):
        super(GoPprofTest, self).setUp()
        if support.go_binary() is None:
            self.skipTest("go is not installed")

    _rec = support.RecordingCache()

    @classmethod
    def tearDownClass(cls):
        cls._rec.cleanup()

    def make(self):
        res, out = self._rec.get("threads.pprof", [workload("threads_named.py"),
                                                   self._rec.path("truth.json"), "0.6"], rate=200)
        return out

    def go(self, *args):
        res = support.go_pprof(list(args), self.tmp)
        self.assertEqual(res.returncode, 0, "go tool pprof rejected the profile:\n" + res.describe())
        return res.stdout

    def test_raw(self):
        out = self.make()
        raw = self.go("-raw", out)
        self.assertIn("samples/count", raw)
        self.assertIn("wall-time/nanoseconds", raw)
        self.assertIn("cpu-time/nanoseconds", raw)
        self.assertIn("plain_worker", raw)
        self.assertIn("thread name", raw)

    def test_top(self):
        out = self.make()
        top = self.go("-top", out)
        self.assertIn("spin", top)
        for index in ("samples", "wall-time", "cpu-time"):
            with self.subTest(sample_index=index):
                text = self.go("-top", "-sample_index=" + index, out)
                self.assertIn("spin", text)

    def test_tags(self):
        out = self.make()
        tags = self.go("-tags", "-sample_index=samples", out)
        for needle in ("thread name", "thread id", "thread native id", "worker-alpha", "renamed-gamma",
                       "Zürich-線程-𐌰"):
            self.assertIn(needle, tags)

    def test_tagfocus_by_thread(self):
        out = self.make()
        top = self.go("-top", "-sample_index=samples", "-tagfocus=thread name=worker-alpha", out)
        self.assertIn("plain_worker", top)
        self.assertNotIn("renaming_worker", top)


class CollapsedShapeTest(StrobeTestCase):
    """One line per distinct stack; thread first, root first, count last."""

    def test_shape(self):
        out = self.path("loop.txt")
        res = support.record([LOOP, "0.8"], out=out, rate=200)
        self.assertEqual(res.returncode, 0, res.describe())
        with open(out, "rb") as f:
            text = f.read().decode("utf-8")
        lines = [l for l in text.splitlines() if l]
        stacks = [l.rsplit(" ", 1)[0] for l in lines]
        self.assertEqual(len(stacks), len(set(stacks)), "a stack appears on two lines")
        for l in lines:
            self.assertRegex(l, r"^thread:[^;]+;.+ \d+$")
        samples = support.parse_collapsed(text)
        spins = [s for s in samples if s.leaf and s.leaf.name == "spin"]
        self.assertTrue(spins, describe_samples(samples))
        for s in spins:
            self.assertEqual(s.frames[0].name, "<module>", "root first: %r" % s)
            self.assertEqual([f.name for f in s.frames[-2:]], ["main", "spin"], "leaf last: %r" % s)


if __name__ == "__main__":
    unittest.main()
