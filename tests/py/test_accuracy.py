"""What the samples say is true (issue 2, items 3, 8 and 10): a 3:1 ground
truth, exact loop lines, deep stacks truncated as documented, non-ASCII
names, and names of short-lived code objects that never leak."""

import os
import re
import shutil
import unittest

import support
from support import StrobeTestCase, workload, count_with, describe_samples

OMITTED = re.compile(r"^<(\d+) frames omitted>$")


def qualname_ok(reported, name, qualname):
    """co_qualname on 3.11+; co_name, or the qualified name, before."""
    if support.PY_VERSION >= (3, 11):
        return reported == qualname
    return reported in (name, qualname)


class RatioTest(StrobeTestCase):
    """heavy() runs 3x as long as light(): the samples say 3:1 within 10%."""

    def check(self, ext):
        out = self.path("ratio." + ext)
        res, samples = self.record_ok([workload("ratio.py"), "5", "0.1"], out, rate=200)
        heavy = count_with(samples, "heavy")
        light = count_with(samples, "light")
        both = [s for s in samples if s.has_function("heavy") and s.has_function("light")]
        self.assertEqual(both, [], "a stack holds both functions")
        self.assertGreater(light, 0, describe_samples(samples))
        ratio = heavy / float(light)
        self.assertTrue(2.7 <= ratio <= 3.3,
                        "heavy:light = %d:%d = %.2f, expected 3 +/- 10%%\n%s"
                        % (heavy, light, ratio, describe_samples(samples)))
        return samples

    def test_ratio_collapsed(self):
        self.check("txt")

    def test_ratio_pprof(self):
        samples = self.check("pprof")
        # The time values agree with the counts.
        wall_h = count_with(samples, "heavy", "wall-time")
        wall_l = count_with(samples, "light", "wall-time")
        self.assertGreater(wall_l, 0)
        self.assertTrue(2.7 <= wall_h / float(wall_l) <= 3.3,
                        "wall-time heavy:light = %d:%d" % (wall_h, wall_l))
        cpu_h = count_with(samples, "heavy", "cpu-time")
        cpu_l = count_with(samples, "light", "cpu-time")
        self.assertGreater(cpu_l, 0, "no CPU time in light()")
        # CPU shares depend on the machine's load; only a loose check.
        self.assertTrue(2.0 <= cpu_h / float(cpu_l) <= 4.5,
                        "cpu-time heavy:light = %d:%d" % (cpu_h, cpu_l))


class LoopLineTest(StrobeTestCase):
    """A spinning while loop's samples land on the loop's own lines only."""

    def check(self, ext):
        path = workload("loop_lines.py")
        loop_lines = set(support.marked_lines(path, "LOOP"))
        call_lines = set(support.marked_lines(path, "CALL"))
        out = self.path("loop." + ext)
        res, samples = self.record_ok([path, "1.0"], out, rate=200)
        spins = [s for s in samples if s.leaf is not None and s.leaf.name == "spin"]
        self.assertGreater(sum(s.count for s in spins), 50, describe_samples(samples))
        for s in spins:
            self.assertEqual(s.leaf.file, path, "wrong file: %r" % s)
            self.assertIn(s.leaf.line, loop_lines,
                          "a sample of spin() is on line %d, not on the loop's lines %s: %r"
                          % (s.leaf.line, sorted(loop_lines), s))
            caller = s.frames[-2]
            self.assertEqual(caller.name, "main", "spin's caller: %r" % s)
            self.assertIn(caller.line, call_lines, "main() is not on the call line: %r" % s)
            self.assertEqual(s.thread, "MainThread")

    def test_loop_lines_collapsed(self):
        self.check("txt")

    def test_loop_lines_pprof(self):
        self.check("pprof")


class DeepStackTest(StrobeTestCase):
    """3000-deep recursion: sampled without error, kept to the frames
    nearest the leaf plus one '<N frames omitted>' element at the root."""

    DEPTH = 3000

    def check(self, ext, max_depth):
        path = workload("deep.py")
        truth = self.path("truth.json")
        out = self.path("deep." + ext)
        res, samples = self.record_ok([path, str(self.DEPTH), "1.0", truth], out, rate=200,
                                      max_depth=max_depth, timeout=120)
        self.assertNotIn("Traceback", res.stderr, res.describe())
        total_depth = support.read_json(truth)["depth"]
        limit = max_depth or support.DEFAULT_MAX_DEPTH
        recurse_lines = set(support.marked_lines(path, "RECURSE"))
        bottom_lines = set(support.marked_lines(path, "BOTTOM"))
        at_bottom = [s for s in samples if s.leaf is not None and s.leaf.name == "bottom"]
        self.assertGreater(sum(s.count for s in at_bottom), 20, describe_samples(samples))
        for s in at_bottom:
            self.assertEqual(len(s.frames), limit + 1,
                             "expected %d frames + the omitted element, got %d: %r"
                             % (limit, len(s.frames), s.frames[:3]))
            m = OMITTED.match(s.frames[0].name)
            self.assertTrue(m and s.frames[0].synthetic,
                            "the root element is not '<N frames omitted>': %r" % (s.frames[0],))
            n = int(m.group(1))
            expected = total_depth - limit
            self.assertTrue(abs(n - expected) <= 2,
                            "%d frames omitted; the stack had %d frames, %d kept: expected %d"
                            % (n, total_depth, limit, expected))
            self.assertIn(s.leaf.line, bottom_lines, "bottom() line: %r" % (s.leaf,))
            for f in s.frames[1:-1]:
                self.assertEqual(f.name, "recurse", "frames near the leaf are recursion: %r" % (f,))
                self.assertIn(f.line, recurse_lines, "recurse() line: %r" % (f,))
            for f in s.frames[1:]:
                self.assertFalse(OMITTED.match(f.name), "a second omitted element: %r" % (f,))

    def test_default_limit_collapsed(self):
        self.check("txt", None)

    def test_max_depth_50_collapsed(self):
        self.check("txt", 50)

    def test_default_limit_pprof(self):
        self.check("pprof", None)

    def test_max_depth_50_pprof(self):
        self.check("pprof", 50)


class UnicodeNamesTest(StrobeTestCase):
    """latin-1, UCS-2 and non-BMP identifiers come out as spelled, in a file
    whose path is not ASCII either."""

    def check(self, ext):
        d = self.path("dössier-関-𐌰")
        os.mkdir(d)
        path = os.path.join(d, "ünï_код.py")
        shutil.copy(workload("unicode_names.py"), path)
        truth_path = self.path("truth.json")
        out = self.path("names." + ext)
        res, samples = self.record_ok([path, truth_path, "0.25"], out, rate=200)
        self.assert_well_formed(samples)
        truth = support.read_json(truth_path)
        self.assertEqual(len(truth), 6)
        for t in truth:
            with self.subTest(function=t["qualname"]):
                frames = [f for s in samples for f in s.frames if f.file == path
                          and f.name in (t["name"], t["qualname"])]
                self.assertTrue(frames, "%s not found; names seen in %s: %r" % (
                    t["qualname"], path,
                    sorted(set(f.name for s in samples for f in s.frames if f.file == path))))
                for f in frames:
                    self.assertTrue(qualname_ok(f.name, t["name"], t["qualname"]), f)
                    self.assertTrue(t["firstlineno"] <= f.line <= t["firstlineno"] + 6, f)
        return samples

    def test_unicode_collapsed(self):
        out_samples = self.check("txt")
        with open(self.path("names.txt"), "rb") as fh:
            raw = fh.read()
        self.assertNotIn(b"\x00", raw)
        raw.decode("utf-8")  # strict

    def test_unicode_pprof(self):
        self.check("pprof")
        prof = support.read_pprof(self.path("names.pprof"))
        names = set(f["name"] for f in prof.functions.values())
        self.assertIn("функция", names)
        self.assertIn("𐌰𐌱𐌲", names)
        for fn in prof.functions.values():
            if fn["name"] in ("café", "関数", "𠮷野家"):
                self.assertTrue(fn["filename"].endswith("ünï_код.py"), fn)


class CodeReuseTest(StrobeTestCase):
    """Short-lived code objects (compiled, run, freed; their memory reused):
    no sample carries a function name with another function's file or lines."""

    COUNT = 800
    SECS = 0.002

    def check(self, ext):
        truth_path = self.path("truth.json")
        out = self.path("gen." + ext)
        res, samples = self.record_ok([workload("codegen.py"), str(self.COUNT), str(self.SECS),
                                       truth_path], out, rate=1000, timeout=120)
        self.assert_well_formed(samples)
        truth = support.read_json(truth_path)
        self.assertEqual(len(truth), self.COUNT)
        by_file = dict((v[0], v) for v in truth.values())
        per_name = {}
        for s in samples:
            for f in s.frames:
                if f.name in truth:
                    fname, first, last = truth[f.name]
                    self.assertEqual(f.file, fname, "name %r shown with file %r (line %s)"
                                     % (f.name, f.file, f.line))
                    self.assertTrue(first <= f.line <= last, "name %r shown with line %s, its lines are %d-%d"
                                    % (f.name, f.line, first, last))
                    per_name[f.name] = per_name.get(f.name, 0) + s.count
                elif f.file in by_file:
                    # The module code that defines the function (exec).
                    self.assertEqual(f.name, "<module>", "frame %r in a generated file has a name "
                                     "that is no generated function's" % (f,))
                    self.assertTrue(1 <= f.line <= by_file[f.file][2], f)
                elif f.name.startswith("fn_") or (f.file or "").startswith("<gen-"):
                    self.fail("unknown generated name or file %r" % (f,))
        total = sum(per_name.values())
        self.assertGreater(total, 100, "too few samples in generated code:\n" + describe_samples(samples))
        self.assertGreater(len(per_name), 50, "generated functions seen: %d" % len(per_name))
        # Each function ran for ~2 ms of ~1.6 s: one that collects a large
        # share has been credited with its successors' samples.
        top = max(per_name.items(), key=lambda kv: kv[1])
        self.assertLess(top[1], total * 0.05, "%r got %d of %d samples of generated code" % (top[0], top[1], total))

    def test_code_reuse_collapsed(self):
        self.check("txt")

    def test_code_reuse_pprof(self):
        self.check("pprof")


class CallChurnTest(StrobeTestCase):
    """A thread that calls and returns all the time, at every depth: each
    stack is one instant's (call_churn.py's call graph is fixed, and a frame
    seen under one that returned before it was called would add an edge).
    The walks found mixed and walked again are counted."""

    EDGES = {("<module>", "level"), ("level", "level"), ("level", "leaf_a"), ("level", "mid"),
             ("mid", "leaf_b"), ("level", "__init__"), ("__init__", "leaf_a")}
    OWN = {"<module>", "level", "leaf_a", "mid", "leaf_b", "__init__"}

    def test_no_stack_mixes_two_instants(self):
        out = self.path("churn.pprof")
        res, samples = self.record_ok([workload("call_churn.py"), "3"], out, rate=1000)
        self.assert_well_formed(samples)
        bad = []
        for s in samples:
            # (the program's own frames: imports at start nest other modules' <module>)
            names = [f.name.split(".")[-1] for f in s.frames if (f.file or "").endswith("call_churn.py")]
            names = [n for n in names if n in self.OWN]
            if any((a, b) not in self.EDGES for a, b in zip(names, names[1:])):
                bad.append(s)
        total = support.total(samples)
        # each part of the program keeps its share (no walk through one
        # kind of frame is always taken for a mixed one)
        for fn in ("mid", "__init__"):
            n = support.total([s for s in samples if any(x.split(".")[-1] == fn for x in s.names())])
            self.assertGreater(n, 0.03 * total, "%s: %d of %d samples\n%s" % (fn, n, total, describe_samples(samples)))
        self.assertEqual(support.total(bad), 0, "stacks with an edge the program never has:\n%s"
                         % describe_samples(bad))
        if support.PY_VERSION >= (3, 11):
            comments = support.pprof_comments(out)
            found = [re.search(r"walks-mixed=(\d+)", c) for c in comments]
            self.assertTrue(any(found), comments)


if __name__ == "__main__":
    unittest.main()
