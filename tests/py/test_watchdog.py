"""The watchdog (issue 5): a sampler bug — here a pass that never ends,
made on purpose with STROBE_TEST_STUCK_PASS — must not hang the program:
stop() gives up on the sampling thread after a few seconds, the program
exits with its own status, and SIGTERM twice ends it at once."""

import os
import signal
import time
import unittest

import support
from support import StrobeTestCase

STUCK_ENV = {"STROBE_TEST_STUCK_PASS": "1"}
WAIT = 5   # SAMPLER_STOP_WAIT_S


class Watchdog(StrobeTestCase):

    def test_record_exits_with_the_program_status(self):
        out = self.path("stuck.pprof")
        t0 = time.monotonic()
        res = support.record(["-c", "import sys, time; time.sleep(0.5); print('done'); sys.exit(3)"],
                             out=out, env=support.base_env(STUCK_ENV), timeout=60)
        took = time.monotonic() - t0
        self.assertEqual(res.returncode, 3, res.describe())
        self.assertIn("done", res.stdout)
        self.assertIn("did not stop within", res.stderr, res.describe())
        self.assertIn("no profile can be written", res.stderr, res.describe())
        self.assertFalse(os.path.exists(out), "a profile from a stuck sampler")
        self.assertLess(took, 6 * WAIT, "the program was held %.1f s" % took)

    def test_api_calls_fail_instead_of_hanging(self):
        code = ("import strobe, time\n"
                "strobe.start(rate=100, max_overhead=0)\n"
                "time.sleep(0.3)\n"
                "strobe.stop()\n"
                "st = strobe.stats()\n"
                "print('stuck', st['stuck'])\n"
                "try:\n    strobe.write('x.pprof')\nexcept OSError as e:\n    print('write failed:', e)\n")
        res = support.run_python(["-c", code], cwd=self.tmp, env=support.python_env(STUCK_ENV), timeout=60)
        self.assertEqual(res.returncode, 0, res.describe())
        self.assertIn("stuck 1", res.stdout, res.describe())
        self.assertIn("write failed: strobe: the sampling thread is stuck", res.stdout, res.describe())

    def test_second_sigterm_ends_it(self):
        out = self.path("term.pprof")
        args = support.record_args(["-c", "import time; print('up', flush=True); time.sleep(60)"], out=out)
        proc = support.spawn(args, env=support.base_env(STUCK_ENV))
        try:
            time.sleep(1.5)
            proc.send_signal(signal.SIGTERM)   # the stuck sampler cannot serve it
            time.sleep(0.5)
            self.assertIsNone(proc.poll(), "died at the first SIGTERM although the sampler is stuck?")
            proc.send_signal(signal.SIGTERM)
            rc = proc.wait(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        self.assertEqual(rc, -signal.SIGTERM)


if __name__ == "__main__":
    unittest.main()
