"""What a sampling pass reads (issue 5), counted, not timed: a steady thread
costs one memory-read system call a pass (its pages prefetched together),
and on 3.12+ its code objects are confirmed without reading them while the
program makes no code; while it does make code, they are validated again.
Where the sampling thread runs (src/engine/cpufollow.h): at 100 Hz on the
busiest thread's CPU, read with the pass's first copies."""

import ctypes
import json
import os
import platform
import unittest

import support
from support import StrobeTestCase

STEADY = r"""
import json, sys, time
import strobe

def leaf(n):
    t = 0
    for i in range(n):
        t += i & 3
    return t

def mid(d):
    if d:
        return mid(d - 1)
    end = time.perf_counter() + SPIN
    while time.perf_counter() < end:
        leaf(300)

strobe.start(rate=RATE, max_overhead=0)
time.sleep(0.05)
mid(20)
st = strobe.stats()
strobe.stop()
print(json.dumps(st))
"""

MAKING = r"""
import json, time
import strobe

strobe.start(rate=500, max_overhead=0)
end = time.perf_counter() + 0.8
n = 0
while time.perf_counter() < end:
    ns = {}
    exec(compile("def f%d(k):\n    t = 0\n    for i in range(k):\n        t += i\n    return t\n" % n,
                 "<gen-%d>" % n, "exec"), ns)
    ns["f%d" % n](2000)
    n += 1
st = strobe.stats()
strobe.stop()
print(json.dumps(st))
"""


FOLLOW = r"""
import json, os, sys, time
import strobe

def spin(s):
    end = time.monotonic() + s
    while time.monotonic() < end:
        pass

def pinned_to(cpu):
    # the threads of this process the kernel lets run on `cpu` alone
    n = 0
    for tid in os.listdir("/proc/self/task"):
        with open("/proc/self/task/%s/status" % tid) as f:
            for line in f:
                if line.startswith("Cpus_allowed_list:"):
                    n += line.split(":")[1].strip() == str(cpu)
    return n

a, b = sorted(os.sched_getaffinity(0))[:2]
out = {}
strobe.start(rate=100, max_overhead=0)
for cpu in (a, b, a):
    os.sched_setaffinity(0, {cpu})   # this thread only
    spin(0.5)
    st = strobe.stats()
    out.setdefault("followed", []).append([cpu, st["follow_cpu"], pinned_to(cpu)])
os.sched_setaffinity(0, {a, b})
time.sleep(0.4)
out["idle"] = strobe.stats()["follow_cpu"]
out["moves"] = strobe.stats()["follow_moves"]
strobe.stop()
strobe.start(rate=1000, max_overhead=0)
os.sched_setaffinity(0, {a})
spin(0.4)
st = strobe.stats()
out["fast"] = [st["follow_cpu"], st["follow_moves"]]
strobe.stop()
strobe.start(rate=100, max_overhead=0, sampler_cpu="any")
spin(0.4)
st = strobe.stats()
out["any"] = [st["follow_cpu"], st["follow_moves"]]
strobe.stop()
try:
    strobe.start(sampler_cpu="idle")
except ValueError as e:
    out["bad"] = str(e)
print(json.dumps(out))
"""


def rseq_registered():
    """glibc registers each thread's rseq area (2.35+), on x86-64: what
    the sampling thread needs to know where the program runs."""
    if platform.machine() != "x86_64":
        return False
    try:
        return ctypes.c_uint.in_dll(ctypes.CDLL(None), "__rseq_size").value >= 8
    except (ValueError, OSError):
        return False


class PassCost(StrobeTestCase):

    def stats(self, code, rate=500, spin=0.8):
        code = "RATE, SPIN = %r, %r\n" % (rate, spin) + code
        res = support.run_python(["-c", code], timeout=120)
        self.assertEqual(res.returncode, 0, res.describe())
        return json.loads(res.stdout.strip().splitlines()[-1])

    def test_steady_thread_one_read_per_pass(self):
        self.check_steady(self.stats(STEADY))

    def test_steady_thread_at_100hz(self):
        # at 100 Hz the sampling thread follows the busy thread's CPU
        # (cpufollow.h): read with the prefetch, not in a call of its own
        self.check_steady(self.stats(STEADY, rate=100, spin=1.6))

    def test_follows_the_busiest_thread(self):
        if len(os.sched_getaffinity(0)) < 2:
            self.skipTest("one CPU allowed: nowhere else to run")
        if not rseq_registered():
            self.skipTest("no rseq area (glibc before 2.35, or not x86-64): the sampler is not placed")
        res = support.run_python(["-c", FOLLOW], timeout=120)
        self.assertEqual(res.returncode, 0, res.describe())
        out = json.loads(res.stdout.strip().splitlines()[-1])
        for cpu, follow, pinned in out["followed"]:
            self.assertEqual(follow, cpu, out)
            # the spinning thread and the sampling thread, as the kernel sees them
            self.assertEqual(pinned, 2, out)
        self.assertGreaterEqual(out["moves"], 3, out)
        self.assertEqual(out["idle"], -1, out)         # nothing busy: let go
        self.assertEqual(out["fast"], [-1, 0], out)    # 1 kHz: left to the scheduler
        self.assertEqual(out["any"], [-1, 0], out)     # sampler_cpu="any": never pinned
        self.assertIn("idle", out.get("bad", ""), out)

    def test_record_sampler_cpu(self):
        # `strobe record` follows by default; --sampler-cpu any reaches the
        # sampler and it is never pinned
        res = support.record(["-c", "pass"], out=self.path("b.pprof"), extra=["--sampler-cpu", "idle"])
        self.assert_user_error(res)
        if len(os.sched_getaffinity(0)) < 2:
            self.skipTest("one CPU allowed: nowhere else to run")
        if not rseq_registered():
            self.skipTest("no rseq area (glibc before 2.35, or not x86-64): the sampler is not placed")
        code = ("import json, time, strobe\n"
                "end = time.monotonic() + 0.6\n"
                "while time.monotonic() < end:\n    pass\n"
                "print(json.dumps(strobe.stats()))\n")
        got = {}
        for where in ("follow", "any"):
            extra = ["--sampler-cpu", where] if where == "any" else []
            res = support.record(["-c", code], out=self.path(where + ".pprof"), rate=100, extra=extra)
            self.assertEqual(res.returncode, 0, res.describe())
            st = json.loads(res.stdout.strip().splitlines()[-1])
            got[where] = (st["follow_cpu"], st["follow_moves"])
        self.assertGreaterEqual(got["follow"][0], 0, got)
        self.assertGreaterEqual(got["follow"][1], 1, got)
        self.assertEqual(got["any"], (-1, 0), got)

    def check_steady(self, st):
        ticks = st["ticks"]
        self.assertGreater(ticks, 100, st)
        self.assertGreater(st["page_prefetched"], ticks, st)
        # the stack is <module>, mid x 21, leaf (or perf_counter): 3 code
        # objects, looked up ~22 times a pass
        if support.PY_VERSION >= (3, 12):
            # one process_vm_readv a pass (the prefetch, with the code
            # counter), give or take the passes that meet a page for the
            # first time; no code object is made, so after the first passes
            # the 3 code entries are confirmed without a read
            self.assertLess(st["reads"] / ticks, 1.5, st)
            self.assertGreater(st["code_unchanged"], 2 * ticks, st)
            self.assertEqual(st["code_batched"], 0, st)
        else:
            # the prefetch, and one batched validation of the 3 entries; on
            # 3.8-3.10 the frames are heap objects, and a call's new frame
            # may land on a page not read before (read on demand): fewer
            # than 4 a pass, for a stack 22 frames deep
            self.assertLess(st["reads"] / ticks, 2.5 if support.PY_VERSION >= (3, 11) else 4.0, st)
            self.assertEqual(st["code_unchanged"], 0, st)
            self.assertGreater(st["code_batched"], 2 * ticks, st)

    def test_making_code_validates_again(self):
        st = self.stats(MAKING)
        # exec makes code objects between passes: the counter moves, and
        # entries are validated by reading them (the test of the names
        # themselves is test_accuracy.CodeReuseTest)
        self.assertGreater(st["ticks"], 100, st)
        self.assertLess(st["code_unchanged"], 0.2 * st["ticks"], st)


if __name__ == "__main__":
    unittest.main()
