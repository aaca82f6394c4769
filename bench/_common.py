"""Shared by the bench/ scripts: the interpreter to use, and running one
program under strobe.start() that prints its figures as JSON."""
import glob
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def newest_python():
    """The newest pyenv CPython 3.10-3.13 (no PATH needed), else this one."""
    root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    found = sorted(glob.glob(os.path.join(root, "versions", "3.1[0-3].*", "bin", "python3.1[0-3]")))
    return found[-1] if found else sys.executable


def run_program(python, program, *args):
    """Run bench/PROGRAM with build/python on the path; its last stdout line
    is JSON with the sampler's figures: return its "stats"."""
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "build", "python"))
    out = subprocess.run([python, os.path.join(ROOT, "bench", program)] + [str(a) for a in args],
                         env=env, stdout=subprocess.PIPE, universal_newlines=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])["stats"]
