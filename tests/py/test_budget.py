"""The overhead budget (--max-overhead, issue 5): the sampler's own CPU time
is kept within a share of the program's by sampling less often."""

import re
import unittest

import support
from support import StrobeTestCase, workload

TASKS = workload("budget_tasks.py")
RATE_RE = re.compile(r"rate-achieved=([0-9.]+)Hz")


def achieved(prof_comments):
    for c in prof_comments:
        m = RATE_RE.search(c)
        if m:
            return float(m.group(1))
    raise AssertionError("no rate-achieved in the comments: %r" % (prof_comments,))


class Budget(StrobeTestCase):

    def comments(self, path):
        return support.pprof_comments(path)

    def test_bad_values_are_user_errors(self):
        for bad in ("-1", "abc", "101", "nan", ""):
            res = support.record([TASKS, "0.1", "1"], out=self.path("x.pprof"), max_overhead=None,
                                 extra=["--max-overhead", bad])
            self.assert_user_error(res)

    def test_default_is_one_percent(self):
        out = self.path("d.pprof")
        res = support.record([TASKS, "0.3", "10"], out=out, max_overhead=None)
        self.assertEqual(res.returncode, 0, res.describe())
        self.assertTrue(any("max-overhead=1%" in c for c in self.comments(out)), self.comments(out))

    def test_expensive_samples_slow_down(self):
        """Thousands of tasks at 1 kHz cost far more than 1% of the program:
        the rate drops and the summary says why; with the budget off the
        same program is sampled much faster (ratios within one run)."""
        on, off = self.path("on.pprof"), self.path("off.pprof")
        r_on = support.record([TASKS, "2.0", "3000"], out=on, rate=1000, max_overhead=1, timeout=120)
        r_off = support.record([TASKS, "2.0", "3000"], out=off, rate=1000, max_overhead=0, timeout=120)
        self.assertEqual(r_on.returncode, 0, r_on.describe())
        self.assertEqual(r_off.returncode, 0, r_off.describe())
        a_on, a_off = achieved(self.comments(on)), achieved(self.comments(off))
        self.assertLess(a_on, 0.5 * a_off, "budget on: %.1f Hz, off: %.1f Hz" % (a_on, a_off))
        self.assertIn("to keep within --max-overhead 1%", r_on.strobe_lines[-1], r_on.describe())
        self.assertNotIn("max-overhead", r_off.strobe_lines[-1], r_off.describe())

    def test_many_tasks_thinned_with_honest_weights(self):
        """Under the budget, thousands of parked tasks are sampled a few per
        pass (the stride), standing for all of them: the parked tasks' wall time
        still adds up to the time they were parked, task by task, as with
        every task sampled every pass."""
        out = self.path("w.pprof")
        ntasks, secs = 3000, 2.0
        res = support.record([TASKS, str(secs), str(ntasks)], out=out, rate=100, max_overhead=1, timeout=120)
        self.assertEqual(res.returncode, 0, res.describe())
        comments = self.comments(out)
        stride = [int(m.group(1)) for c in comments for m in [re.search(r"task-stride-max=(\d+)", c)] if m]
        self.assertTrue(stride, comments)
        self.assertGreater(stride[0], 1, comments)
        samples = support.read_pprof(out).to_samples()
        parked_s = support.count_with(samples, "parked", "wall-time") / 1e9
        # every task is parked for the SECONDS the program computes (and the
        # moment it takes to gather them): ntasks x SECONDS in all
        per_task = parked_s / ntasks
        self.assertGreater(per_task, 0.8 * secs, "%.2f s of parked wall time per task" % per_task)
        self.assertLess(per_task, 1.25 * secs, "%.2f s of parked wall time per task" % per_task)

    def test_api(self):
        code = ("import strobe, time\n"
                "try:\n    strobe.start(max_overhead=-1)\nexcept ValueError:\n    print('bad-ok')\n"
                "strobe.start(rate=100, max_overhead=0)\n"
                "time.sleep(0.3)\nst = strobe.stats()\nstrobe.stop()\n"
                "print('rate_now', st['rate_now'])\n")
        res = support.run_python(["-c", code])
        self.assertEqual(res.returncode, 0, res.describe())
        self.assertIn("bad-ok", res.stdout)
        self.assertIn("rate_now 100.0", res.stdout)


if __name__ == "__main__":
    unittest.main()
