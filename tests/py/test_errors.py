"""User errors of `strobe record` (issue 2, item 7): each prints one line
starting with 'strobe: ' on stderr, exits 2, writes no profile, and never
starts the program — the program would create a marker file at once."""

import glob
import os
import shutil
import stat
import unittest

import support
from support import StrobeTestCase, workload

PROG = workload("cli_program.py")


class UserErrorTest(StrobeTestCase):

    def attempt(self, opts, program=None, out_name="out.pprof"):
        """Run strobe record OPTS -- PROGRAM; return (Result, marker path)."""
        support.require_strobe()
        marker = self.path("started")
        if program is None:
            program = [support.PYTHON, PROG, "--marker", marker, "--burn", "0.1"]
        args = [support.STROBE_BIN, "record"]
        if out_name is not None:
            args += ["-o", self.path(out_name)]
        args += list(opts) + ["--"] + [str(p) for p in program]
        return support.run(args, timeout=30), marker

    def check(self, opts, program=None, out_name="out.pprof"):
        res, marker = self.attempt(opts, program, out_name)
        self.assert_user_error(res, marker)
        if out_name is not None:
            self.assertFalse(os.path.exists(self.path(out_name)), "a profile was written")
        left = [n for n in os.listdir(self.tmp) if n not in ("bin", "afile", "script.sh", "prog.py")]
        self.assertEqual(left, [], "files left behind: %r" % left)
        return res

    def test_unknown_option(self):
        self.check(["--frobnicate"])

    def test_unknown_short_option(self):
        self.check(["-Z"])

    def test_unknown_format(self):
        self.check(["-f", "svgz"])

    def test_rate_zero(self):
        self.check(["-r", "0"])

    def test_rate_negative(self):
        self.check(["-r", "-5"])

    def test_rate_too_high(self):
        self.check(["-r", "10001"])

    def test_rate_not_a_number(self):
        self.check(["-r", "fast"])

    def test_unknown_mode(self):
        self.check(["--mode", "gpu"])

    def test_bad_max_depth(self):
        self.check(["--max-depth", "many"])

    def test_negative_max_depth(self):
        self.check(["--max-depth", "-3"])

    def test_bad_duration(self):
        self.check(["-d", "soon"])

    def test_output_dir_missing(self):
        self.check([], out_name=os.path.join("no", "such", "dir", "out.pprof"))

    def test_output_under_a_file(self):
        with open(self.path("afile"), "w") as f:
            f.write("x")
        self.check([], out_name=os.path.join("afile", "out.pprof"))

    def test_output_is_a_directory(self):
        os.mkdir(self.path("bin"))
        res, marker = self.attempt([], out_name="bin")
        self.assert_user_error(res, marker)
        self.assertEqual(os.listdir(self.path("bin")), [], "something was written into the directory")

    @unittest.skipIf(os.geteuid() == 0, "root may write into a read-only directory")
    def test_output_dir_read_only(self):
        d = self.path("ro")
        os.mkdir(d)
        os.chmod(d, stat.S_IRUSR | stat.S_IXUSR)
        self.addCleanup(os.chmod, d, stat.S_IRWXU)
        res, marker = self.attempt([], out_name=os.path.join("ro", "out.pprof"))
        self.assert_user_error(res, marker)

    def test_missing_program(self):
        self.check([], program=[self.path("no-such-python3"), "-c", "pass"])

    def test_no_program(self):
        support.require_strobe()
        res = support.run([support.STROBE_BIN, "record", "-o", self.path("out.pprof"), "--"], timeout=30)
        self.assert_user_error(res)
        res = support.run([support.STROBE_BIN, "record"], timeout=30)
        self.assert_user_error(res)

    def test_unknown_command(self):
        support.require_strobe()
        res = support.run([support.STROBE_BIN, "frobnicate"], timeout=30)
        self.assert_user_error(res)

    def test_not_python_binary(self):
        touch = shutil.which("touch") or "/usr/bin/touch"
        if not os.access(touch, os.X_OK):
            self.skipTest("no touch binary")
        os.mkdir(self.path("bin"))
        fake = self.path("bin", "notpython")
        shutil.copy(touch, fake)
        self.check([], program=[fake, self.path("started")])

    def test_not_python_binary_named_python3(self):
        # A name is not a proof: this is `touch` under the name python3.
        touch = shutil.which("touch") or "/usr/bin/touch"
        if not os.access(touch, os.X_OK):
            self.skipTest("no touch binary")
        os.mkdir(self.path("bin"))
        fake = self.path("bin", "python3")
        shutil.copy(touch, fake)
        self.check([], program=[fake, self.path("started")])

    def test_not_python_script(self):
        script = self.path("script.sh")
        with open(script, "w") as f:
            f.write("#!/bin/sh\ntouch \"$1\"\n")
        os.chmod(script, 0o755)
        self.check([], program=[script, self.path("started")])

    def test_program_not_executable(self):
        prog = self.path("prog.py")
        shutil.copy(PROG, prog)
        os.chmod(prog, 0o644)
        self.check([], program=[prog, "--marker", self.path("started")])

    def test_unsupported_python_versions(self):
        # Interpreters strobe has no extension for (2.7, 3.6, 3.7 if present).
        root = os.environ.get("PYENV_ROOT") or os.path.join(os.path.expanduser("~"), ".pyenv")
        olds = []
        for minor in ("2.7", "3.6", "3.7"):
            found = sorted(glob.glob(os.path.join(root, "versions", minor + ".*", "bin", "python" + minor)))
            if found:
                olds.append(found[-1])
        if not olds:
            self.skipTest("no unsupported interpreter installed")
        support.require_strobe()
        for exe in olds:
            with self.subTest(python=exe):
                res = support.run([support.STROBE_BIN, "record", "-o", self.path("old.pprof"), "--",
                                   exe, "-c", "pass"], timeout=30)
                self.assertEqual(res.returncode, 2, res.describe())
                self.assertTrue(res.strobe_lines, "no 'strobe: ' line naming the problem:\n" + res.describe())
                self.assertFalse(os.path.exists(self.path("old.pprof")))


if __name__ == "__main__":
    unittest.main()
