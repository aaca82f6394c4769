"""`strobe record` as a command: output formats and names, exit status,
stdio and environment pass-through, signals, the summary line, and short
programs (issue 2, items 2 and 9)."""

import gzip
import os
import re
import signal
import subprocess
import time
import unittest

import support
from support import StrobeTestCase, record, workload

PROG = workload("cli_program.py")


def is_gzip(path):
    with open(path, "rb") as f:
        return f.read(2) == b"\x1f\x8b"


class FormatTest(StrobeTestCase):
    """The format follows -f, else the extension of -o."""

    def check(self, name, fmt_flag, expect):
        out = self.path(name)
        res = record([PROG, "--burn", "0.3"], out=out, fmt=fmt_flag, rate=200)
        self.assertEqual(res.returncode, 0, res.describe())
        self.assertTrue(os.path.isfile(out), "no profile at %s\n%s" % (out, res.describe()))
        if expect == "pprof":
            self.assertTrue(is_gzip(out), "%s should be gzipped pprof" % name)
            prof = support.read_pprof(out)
            samples = prof.to_samples()
        else:
            self.assertFalse(is_gzip(out), "%s should be collapsed text" % name)
            with open(out, "rb") as f:
                samples = support.parse_collapsed(f.read().decode("utf-8"))
        self.assertGreater(support.count_with(samples, "burn"), 0,
                           "no sample in burn():\n" + support.describe_samples(samples))
        # Nothing but the profile was left in the directory (temp file renamed).
        self.assertEqual(sorted(os.listdir(self.tmp)), [name])
        return res

    def test_pprof_extension(self):
        self.check("out.pprof", None, "pprof")

    def test_pb_gz_extension(self):
        self.check("out.pb.gz", None, "pprof")

    def test_txt_extension(self):
        self.check("out.txt", None, "collapsed")

    def test_collapsed_extension(self):
        self.check("out.collapsed", None, "collapsed")

    def test_flag_overrides_extension_collapsed(self):
        self.check("out.pprof", "collapsed", "collapsed")

    def test_flag_overrides_extension_pprof(self):
        self.check("out.txt", "pprof", "pprof")

    def test_default_name_in_cwd(self):
        res = record([PROG, "--pid-file", self.path("pid"), "--burn", "0.2"], rate=200, cwd=self.tmp)
        self.assertEqual(res.returncode, 0, res.describe())
        made = [n for n in os.listdir(self.tmp) if n != "pid"]
        self.assertEqual(len(made), 1, "expected one profile in the cwd, found %r" % made)
        self.assertRegex(made[0], r"^strobe-\d+\.pprof$")
        self.assertTrue(is_gzip(self.path(made[0])))
        support.read_pprof(self.path(made[0]))
        self.assert_summary(res, made[0])


class ExitStatusTest(StrobeTestCase):
    """The program's exit status is strobe's, and the profile is written anyway."""

    def run_prog(self, actions, fmt_ext="txt"):
        out = self.path("out." + fmt_ext)
        res = record([PROG, "--burn", "0.3"] + actions, out=out, rate=200)
        return res, out

    def test_normal_exit(self):
        res, out = self.run_prog([])
        self.assertEqual(res.returncode, 0, res.describe())
        self.assertGreater(support.count_with(self.load(out, res), "burn"), 0)
        self.assert_summary(res, out)

    def test_sys_exit_3(self):
        res, out = self.run_prog(["--exit", "3"])
        self.assertEqual(res.returncode, 3, res.describe())
        self.assertGreater(support.count_with(self.load(out, res), "burn"), 0)
        self.assert_summary(res, out)

    def test_uncaught_exception(self):
        res, out = self.run_prog(["--raise"], "pprof")
        self.assertEqual(res.returncode, 1, res.describe())
        self.assertIn("Traceback (most recent call last)", res.stderr)
        self.assertIn("RuntimeError: boom from cli_program", res.stderr)
        self.assertGreater(support.count_with(self.load(out, res), "burn"), 0)
        self.assert_summary(res, out)

    def test_os_exit_status(self):
        # os._exit skips every cleanup; only the status is promised.
        res, out = self.run_prog(["--os-exit", "5"])
        self.assertEqual(res.returncode, 5, res.describe())

    def test_c_sys_exit(self):
        out = self.path("out.txt")
        res = record(["-c", "import sys; sys.exit(7)"], out=out)
        self.assertEqual(res.returncode, 7, res.describe())
        self.assertTrue(os.path.isfile(out), res.describe())
        self.load(out, res)  # parses (may hold no samples)

    def test_python_c_pass_twenty_times(self):
        # Each run must finish; the anchor hung at exit 3 times in 5.
        for i in range(20):
            out = self.path("pass-%d.pprof" % i)
            res = record(["-c", "pass"], out=out, timeout=30)
            self.assertEqual(res.returncode, 0, "run %d:\n%s" % (i, res.describe()))
            self.assertTrue(os.path.isfile(out), "run %d wrote no profile:\n%s" % (i, res.describe()))
            support.read_pprof(out)


class PassThroughTest(StrobeTestCase):
    """stdin, stdout, stderr, argv and the environment belong to the program."""

    def test_stdio_argv_env(self):
        moddir = self.path("mods")
        os.mkdir(moddir)
        with open(os.path.join(moddir, "strobe_user_mod.py"), "w") as f:
            f.write("VALUE = 'from-user-pythonpath'\n")
        env = support.base_env({"STROBE_TEST_VAR": "value with spaces", "PYTHONPATH": moddir})
        out = self.path("out.txt")
        tricky = ["-o", "--", "-r", "x y", "ünï"]
        res = record([PROG, "--argv-json", "--echo-stdin", "--stderr", "to-stderr-42",
                      "--env", "STROBE_TEST_VAR", "--import", "strobe_user_mod"]
                     + ["--exit", "0"] + tricky,
                     out=out, rate=200, env=env, input="hello stdin\n")
        self.assertEqual(res.returncode, 0, res.describe())
        lines = res.stdout.splitlines()
        self.assertIn("got:HELLO STDIN", lines, res.describe())
        self.assertIn("env:STROBE_TEST_VAR=value with spaces", lines, res.describe())
        self.assertIn("imported:from-user-pythonpath", lines, res.describe())
        import json
        argv = json.loads(lines[0])
        self.assertEqual(argv[-len(tricky):], tricky, "argv was altered: %r" % argv)
        self.assertIn("to-stderr-42", res.stderr.splitlines(), res.describe())
        # Nothing of strobe's on stdout.
        self.assertFalse([l for l in lines if l.startswith("strobe")], res.describe())
        self.assert_summary(res, out)

    def test_one_summary_line(self):
        out = self.path("out.pprof")
        res = record([PROG, "--burn", "0.3"], out=out, rate=200)
        self.assertEqual(res.returncode, 0, res.describe())
        self.assertEqual(len(res.strobe_lines), 1, "expected one summary line:\n" + res.describe())
        self.assert_summary(res, out)
        m = re.search(r"(\d+)\s+samples?", res.strobe_lines[0])
        self.assertGreater(int(m.group(1)), 0, res.strobe_lines[0])

    def test_duration_flag(self):
        # -d 0.3 on a 1 s program: a valid profile with the samples of the
        # first 0.3 s.  Whether the program then runs on (status 4) or is
        # stopped by a signal is not specified; both are accepted.
        out = self.path("out.txt")
        res = record([PROG, "--burn", "1.0", "--exit", "4"], out=out, rate=200, duration=0.3)
        self.assertIn(res.returncode, (4, -signal.SIGTERM, 128 + signal.SIGTERM,
                                       -signal.SIGINT, 128 + signal.SIGINT), res.describe())
        samples = self.load(out, res)
        self.assertGreater(support.count_with(samples, "burn"), 0, res.describe())
        self.assert_summary(res, out)


class StartTest(StrobeTestCase):
    """What loading strobe does to the program: nothing it can see but
    strobe's own modules, and its own sitecustomize still runs."""

    MODULES = ("import json, sys\n"
               "print(json.dumps(sorted(sys.modules)))\n"
               "print(json.dumps(sorted(sys.builtin_module_names)))\n")

    def test_imports_nothing_of_the_programs(self):
        # threading and asyncio are hooked when the program imports them,
        # never imported by strobe (each would cost the program milliseconds
        # at start and change what it sees).  Built-in modules (atexit) have
        # no code to load.
        prog = self.path("mods.py")
        with open(prog, "w") as f:
            f.write(self.MODULES)
        import json
        plain = support.run([support.PYTHON, prog], env=support.base_env())
        self.assertEqual(plain.returncode, 0, plain.describe())
        res = record([prog], out=self.path("out.pprof"), rate=100)
        self.assertEqual(res.returncode, 0, res.describe())
        without = set(json.loads(plain.stdout.splitlines()[0]))
        under = set(json.loads(res.stdout.splitlines()[0]))
        builtin = set(json.loads(res.stdout.splitlines()[1]))
        added = sorted(m for m in under - without - builtin
                       if m != "sitecustomize" and m != "strobe" and not m.startswith("strobe."))
        self.assertEqual(added, [], "strobe imported modules of its own into the program")

    def test_thread_names_when_threading_comes_later(self):
        prog = self.path("late.py")
        with open(prog, "w") as f:
            f.write("import sys, time\n"
                    "assert 'threading' not in sys.modules or sys.version_info[:2] == (3, 11)\n"
                    "import threading\n"
                    "def spin():\n"
                    "    end = time.time() + 0.4\n"
                    "    while time.time() < end: pass\n"
                    "t = threading.Thread(target=spin, name='late-worker')\n"
                    "t.start(); t.join()\n")
        out = self.path("out.pprof")
        res = record([prog], out=out, rate=200)
        self.assertEqual(res.returncode, 0, res.describe())
        samples = self.load(out, res)
        self.assertGreater(sum(s.count for s in samples if s.thread == "late-worker"), 0,
                           support.describe_samples(samples))

    def test_users_sitecustomize_runs(self):
        moddir = self.path("site")
        os.mkdir(moddir)
        with open(os.path.join(moddir, "sitecustomize.py"), "w") as f:
            f.write("import builtins\nbuiltins.USER_SITE_RAN = 'yes'\n")
        prog = self.path("site_prog.py")
        with open(prog, "w") as f:
            f.write("print('user-site:', getattr(__builtins__, 'USER_SITE_RAN', 'no'))\n")
        env = support.base_env({"PYTHONPATH": moddir})
        res = record([prog], out=self.path("out.pprof"), rate=100, env=env)
        self.assertEqual(res.returncode, 0, res.describe())
        self.assertIn("user-site: yes", res.stdout.splitlines(), res.describe())
        self.assert_summary(res, self.path("out.pprof"))


class SignalTest(StrobeTestCase):
    """SIGINT (Ctrl-C) and SIGTERM mid-run: the program gets them and the
    profile holds the samples taken so far."""

    def run_until_ready(self, fmt_ext):
        out = self.path("out." + fmt_ext)
        ready = self.path("ready")
        pidf = self.path("pid")
        support.require_strobe()
        args = support.record_args([PROG, "--pid-file", pidf, "--burn", "0.2", "--spin-forever", ready],
                                   out=out, rate=200)
        proc = support.spawn(args)
        support.wait_for_file(ready, proc)
        with open(pidf) as f:
            prog_pid = int(f.read())
        return proc, args, out, prog_pid

    def check_after(self, proc, args, out, statuses):
        res = support.finish(proc, args, timeout=60)
        self.assertIn(res.returncode, statuses, "unexpected exit status:\n" + res.describe())
        samples = self.load(out, res)
        self.assertGreater(support.count_with(samples, "burn"), 0,
                           "the samples before the signal are missing:\n" + support.describe_samples(samples))
        self.assertGreater(support.count_with(samples, "spin_forever"), 0,
                           "the samples up to the signal are missing:\n" + support.describe_samples(samples))
        self.assert_summary(res, out)
        self.assertEqual(sorted(os.listdir(self.tmp)), sorted(["pid", "ready", os.path.basename(out)]),
                         "temporary files left behind")
        return res

    def test_ctrl_c_to_process_group(self):
        proc, args, out, _ = self.run_until_ready("pprof")
        os.killpg(proc.pid, signal.SIGINT)   # what a terminal does on Ctrl-C
        res = self.check_after(proc, args, out, (-signal.SIGINT, 128 + signal.SIGINT))
        self.assertIn("KeyboardInterrupt", res.stderr, "the program did not get SIGINT")

    def test_sigint_to_program(self):
        proc, args, out, pid = self.run_until_ready("txt")
        os.kill(pid, signal.SIGINT)
        res = self.check_after(proc, args, out, (-signal.SIGINT, 128 + signal.SIGINT))
        self.assertIn("KeyboardInterrupt", res.stderr, "the program did not get SIGINT")

    def test_sigterm_to_strobe(self):
        proc, args, out, _ = self.run_until_ready("pprof")
        os.kill(proc.pid, signal.SIGTERM)    # `kill PID` of the command the user ran
        self.check_after(proc, args, out, (-signal.SIGTERM, 128 + signal.SIGTERM))

    def test_sigterm_to_program(self):
        proc, args, out, pid = self.run_until_ready("txt")
        os.kill(pid, signal.SIGTERM)
        self.check_after(proc, args, out, (-signal.SIGTERM, 128 + signal.SIGTERM))


if __name__ == "__main__":
    unittest.main()
