"""The in-process Python API (issue 2, item 6) and `python -m strobe record`
(item 2), with PYTHONPATH=build/python."""

import json
import os
import unittest

import support
from support import StrobeTestCase, workload, count_with, describe_samples

API = workload("api_program.py")
PROG = workload("cli_program.py")


class ApiTest(StrobeTestCase):

    def api(self, mode):
        res = support.run_python([API, mode, self.tmp])
        self.assertEqual(res.returncode, 0, res.describe())
        lines = res.stdout.strip().splitlines()
        self.assertTrue(lines, res.describe())
        return json.loads(lines[-1]), res

    def test_start_stop_write(self):
        self.api("basic")
        for name, fmt in (("basic.pprof", "pprof"), ("basic.txt", "collapsed"),
                          ("basic.data", "collapsed"), ("basic2.data", "pprof")):
            with self.subTest(file=name):
                path = self.path(name)
                self.assertTrue(os.path.isfile(path), "%s not written" % name)
                got, samples = support.load_profile(path)
                self.assertEqual(got, fmt, name)
                self.assertGreater(count_with(samples, "api_burn"), 0, describe_samples(samples))

    def test_profile_context_manager(self):
        report, _res = self.api("cm")
        self.assertTrue(report["exists_after_with"], "the file is not there when the with block ends")
        samples = self.load(self.path("cm.pprof"))
        self.assertGreater(count_with(samples, "cm_burn"), 0, describe_samples(samples))

    def test_profile_context_manager_collapsed_cpu(self):
        report, _res = self.api("cm_txt")
        self.assertTrue(report["exists_after_with"])
        with open(self.path("cm.txt"), "rb") as f:
            self.assertNotEqual(f.read(2), b"\x1f\x8b", "cm.txt should be collapsed")
        samples = self.load(self.path("cm.txt"))
        self.assertGreater(count_with(samples, "cm_burn"), 0, describe_samples(samples))

    def test_start_twice_and_stop_without_start(self):
        report, _res = self.api("errors")
        self.assertIsNone(report["stop_before_start"], "stop() without start() raised %r"
                          % (report["stop_before_start"],))
        second = report["second_start"]
        self.assertIsNotNone(second, "a second start() did not raise")
        self.assertEqual(second[0], "RuntimeError", second)
        self.assertTrue(len(second[1]) > 10, "the message says nothing: %r" % (second,))
        self.assertIsNone(report["first_stop"], report)
        self.assertIsNone(report["second_stop"], "stop() after stop() raised %r" % (report["second_stop"],))
        self.assertIsNone(report["restart"], "start() after stop() raised %r" % (report["restart"],))
        self.assertIsNone(report["restop"], report)
        self.assertIsNone(report["write_after_restart"], report)
        samples = self.load(self.path("restart.txt"))
        self.assertGreater(count_with(samples, "api_burn"), 0, describe_samples(samples))

    def test_bad_arguments(self):
        report, _res = self.api("bad")
        for key in ("rate_zero", "rate_negative", "rate_huge", "mode_bogus", "format_bogus", "unwritable"):
            with self.subTest(case=key):
                self.assertIsNotNone(report[key], "%s did not raise" % key)
                self.assertIn(report[key][0], ("ValueError", "TypeError", "OSError", "RuntimeError",
                                               "FileNotFoundError", "NotADirectoryError", "PermissionError"),
                              report[key])
        self.assertFalse(report["bogus_written"], "write() with an unknown format wrote a file")

    def test_mode_cpu_and_wall(self):
        self.api("cpu")
        self.api("wall")
        by_mode = {}
        for mode in ("cpu", "wall"):
            samples = self.load(self.path(mode + ".txt"))
            seen = {}
            for s in samples:
                seen[s.thread] = seen.get(s.thread, 0) + s.count
            by_mode[mode] = seen
            self.assertGreater(seen.get("MainThread", 0), 50, (mode, seen))
        wall, cpu = by_mode["wall"], by_mode["cpu"]
        self.assertGreater(wall.get("sleeper", 0), wall["MainThread"] // 2, wall)
        self.assertLessEqual(cpu.get("sleeper", 0), max(2, cpu["MainThread"] // 20), cpu)

    def test_max_depth(self):
        self.api("depth")
        samples = self.load(self.path("depth.txt"))
        deep = [s for s in samples if s.leaf is not None and s.leaf.name == "spin"
                and s.has_function("down")]
        self.assertTrue(deep, describe_samples(samples))
        for s in deep:
            self.assertEqual(len(s.frames), 21, "20 frames + the omitted element: %r" % s)
            self.assertRegex(s.frames[0].name, r"^<\d+ frames omitted>$")


class ModuleCommandTest(StrobeTestCase):
    """python -m strobe record [options] script.py [ARGS...]"""

    def test_record_script(self):
        out = self.path("m.txt")
        res = support.run_python(["-m", "strobe", "record", "-o", out, "-r", "200", PROG,
                                  "--argv-json", "--burn", "0.5", "--exit", "3", "x y", "-o"])
        self.assertEqual(res.returncode, 3, res.describe())
        argv = json.loads(res.stdout.splitlines()[0])
        self.assertEqual(argv, ["--argv-json", "--burn", "0.5", "--exit", "3", "x y", "-o"], res.describe())
        samples = self.load(out, res)
        burns = [s for s in samples if s.has_function("burn")]
        self.assertTrue(burns, describe_samples(samples))
        for s in burns:
            # The script runs as __main__: its main() is under its <module>.
            idx = [i for i, f in enumerate(s.frames) if f.name == "main" and f.file == PROG]
            self.assertTrue(idx, "the script's main() is not in %r" % s)
            i = idx[-1]
            self.assertEqual(s.frames[i - 1].name, "<module>", s)
            self.assertEqual(s.frames[i - 1].file, PROG, s)
        self.assertTrue(res.strobe_lines, "no summary line:\n" + res.describe())
        self.assertIn("m.txt", res.strobe_lines[-1])

    def test_record_default_pprof(self):
        out = self.path("m.pprof")
        res = support.run_python(["-m", "strobe", "record", "-o", out, PROG, "--burn", "0.3"])
        self.assertEqual(res.returncode, 0, res.describe())
        prof = support.read_pprof(out)
        self.assertGreater(count_with(prof.to_samples(), "burn"), 0)

    def test_record_uncaught_exception(self):
        out = self.path("m.txt")
        res = support.run_python(["-m", "strobe", "record", "-o", out, "-r", "200", PROG,
                                  "--burn", "0.3", "--raise"])
        self.assertEqual(res.returncode, 1, res.describe())
        self.assertIn("RuntimeError: boom from cli_program", res.stderr)
        self.assertGreater(count_with(self.load(out, res), "burn"), 0)

    def test_user_error(self):
        marker = self.path("started")
        res = support.run_python(["-m", "strobe", "record", "-r", "0", "-o", self.path("m.txt"),
                                  PROG, "--marker", marker])
        self.assert_user_error(res, marker)
        self.assertFalse(os.path.exists(self.path("m.txt")))

    def test_unwritable_output(self):
        marker = self.path("started")
        res = support.run_python(["-m", "strobe", "record", "-o", self.path("nodir", "m.txt"),
                                  PROG, "--marker", marker])
        self.assert_user_error(res, marker)


if __name__ == "__main__":
    unittest.main()
