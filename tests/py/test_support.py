"""Self-tests of the readers in support.py, so that a failure elsewhere is
strobe's and not the test suite's: a tiny profile.proto encoder writes a known
profile, the decoder reads it back, and `go tool pprof` (when installed)
agrees that the encoding is what it expects."""

import gzip
import os
import unittest

import support
from support import StrobeTestCase


def varint(v):
    if v < 0:
        v += 1 << 64
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field_varint(num, v):
    return varint(num << 3) + varint(v)


def field_bytes(num, b):
    return varint((num << 3) | 2) + varint(len(b)) + b


def packed(num, values):
    return field_bytes(num, b"".join(varint(v) for v in values))


class Encoder(object):
    def __init__(self):
        self.strings = [""]
        self.index = {"": 0}

    def s(self, text):
        if text not in self.index:
            self.index[text] = len(self.strings)
            self.strings.append(text)
        return self.index[text]

    def profile(self, stacks, packed_ids=True):
        """stacks: [(thread, [(name, file, line, start_line)] leaf first, [n, wall, cpu])]."""
        body = b""
        for t, u in (("samples", "count"), ("wall-time", "nanoseconds"), ("cpu-time", "nanoseconds")):
            body += field_bytes(1, field_varint(1, self.s(t)) + field_varint(2, self.s(u)))
        funcs, locs = {}, {}
        fbody, lbody, sbody = b"", b"", b""
        for thread, frames, values in stacks:
            ids = []
            for name, fname, line, start in frames:
                fk = (name, fname, start)
                if fk not in funcs:
                    funcs[fk] = len(funcs) + 1
                    fbody += field_bytes(5, field_varint(1, funcs[fk]) + field_varint(2, self.s(name))
                                         + field_varint(3, self.s(name)) + field_varint(4, self.s(fname))
                                         + field_varint(5, start))
                lk = (fk, line)
                if lk not in locs:
                    locs[lk] = len(locs) + 1
                    lbody += field_bytes(4, field_varint(1, locs[lk]) + field_bytes(
                        4, field_varint(1, funcs[fk]) + field_varint(2, line)))
                ids.append(locs[lk])
            sample = packed(1, ids) if packed_ids else b"".join(field_varint(1, i) for i in ids)
            sample += packed(2, values)
            for k, v in (("thread id", "140000000000001"), ("thread native id", "4242"), ("thread name", thread)):
                sample += field_bytes(3, field_varint(1, self.s(k)) + field_varint(2, self.s(v)))
            sbody += field_bytes(2, sample)
        body += sbody + lbody + fbody
        tail = field_varint(9, 1700000000000000000) + field_varint(10, 2000000000)
        tail += field_bytes(11, field_varint(1, self.s("wall-time")) + field_varint(2, self.s("nanoseconds")))
        tail += field_varint(12, 10000000)
        # every string is interned by now: write the table
        table = b"".join(field_bytes(6, s.encode("utf-8")) for s in self.strings)
        return gzip.compress(body + table + tail)


STACKS = [
    ("MainThread", [("spin", "/w/a.py", 12, 10), ("main", "/w/a.py", 20, 18), ("<module>", "/w/a.py", 30, 1)],
     [3, 30000000, 29000000]),
    ("Zürich-線程-𐌰", [("𐌰𐌱𐌲", "/w/ü.py", 5, 4), ("<7 frames omitted>", "", 0, 0)],
     [1, 10000000, 0]),
]


class DecoderTest(StrobeTestCase):

    def write(self, packed_ids=True):
        path = self.path("p.pprof")
        with open(path, "wb") as f:
            f.write(Encoder().profile(STACKS, packed_ids))
        return path

    def test_round_trip(self):
        for packed_ids in (True, False):
            with self.subTest(packed=packed_ids):
                prof = support.read_pprof(self.write(packed_ids))
                self.assertEqual(prof.sample_types, [("samples", "count"), ("wall-time", "nanoseconds"),
                                                     ("cpu-time", "nanoseconds")])
                self.assertEqual(prof.period, 10000000)
                self.assertEqual(prof.period_type, ("wall-time", "nanoseconds"))
                self.assertEqual(prof.duration_nanos, 2000000000)
                samples = prof.to_samples()
                self.assertEqual(len(samples), 2)
                a, b = samples
                self.assertEqual(a.thread, "MainThread")
                self.assertEqual([str(f) for f in a.frames],
                                 ["<module> (/w/a.py:30)", "main (/w/a.py:20)", "spin (/w/a.py:12)"])
                self.assertEqual(a.values, {"samples": 3, "wall-time": 30000000, "cpu-time": 29000000})
                self.assertEqual(a.labels["thread native id"], "4242")
                self.assertEqual(b.thread, "Zürich-線程-𐌰")
                self.assertTrue(b.frames[0].synthetic)
                self.assertEqual(b.frames[1], support.Frame("𐌰𐌱𐌲", "/w/ü.py", 5))
                fn = [f for f in prof.functions.values() if f["name"] == "spin"][0]
                self.assertEqual(fn["start_line"], 10)

    def test_rejects_garbage(self):
        path = self.path("bad.pprof")
        good = gzip.decompress(Encoder().profile(STACKS))
        for bad in (good[:-3], good + b"\x0f", b"\xff" * 20):
            with open(path, "wb") as f:
                f.write(gzip.compress(bad))
            with self.assertRaises(ValueError):
                support.read_pprof(path)
        with open(path, "wb") as f:
            f.write(gzip.compress(good)[:-4])  # truncated gzip
        with self.assertRaises(Exception):
            support.read_pprof(path)

    def test_go_accepts_encoder(self):
        if support.go_binary() is None:
            self.skipTest("go is not installed")
        path = self.write()
        res = support.go_pprof(["-raw", path], self.tmp)
        self.assertEqual(res.returncode, 0, res.describe())
        self.assertIn("spin", res.stdout)
        self.assertIn("wall-time/nanoseconds", res.stdout)
        res = support.go_pprof(["-tags", path], self.tmp)
        self.assertEqual(res.returncode, 0, res.describe())
        self.assertIn("Zürich-線程-𐌰", res.stdout)
        self.assertIn("thread name", res.stdout)
        res = support.go_pprof(["-top", "-sample_index=cpu-time", path], self.tmp)
        self.assertEqual(res.returncode, 0, res.describe())
        self.assertIn("spin", res.stdout)


class CollapsedParserTest(unittest.TestCase):

    def test_parse(self):
        text = ("thread:MainThread;<module> (/a b/x.py:3);Klass.meth (/a b/x.py:10) 7\n"
                "thread:w-1;<12 frames omitted>;f (<gen-3>:2) 1\n"
                "thread:Zürich;𐌰𐌱𐌲 (/ü.py:5) 2\n")
        s = support.parse_collapsed(text)
        self.assertEqual(len(s), 3)
        self.assertEqual(s[0].frames[1], support.Frame("Klass.meth", "/a b/x.py", 10))
        self.assertEqual(s[0].count, 7)
        self.assertTrue(s[1].frames[0].synthetic)
        self.assertEqual(s[1].frames[1].file, "<gen-3>")
        self.assertEqual(s[2].thread, "Zürich")

    def test_malformed(self):
        for bad in ("MainThread;f (a.py:1) 3", "thread:M;f (a.py:1)", "thread:M;f (a.py:x) 3",
                    "thread:M;f (a.py:1) 0", "thread:M;f (a.py:1 3"):
            with self.subTest(line=bad):
                with self.assertRaises(ValueError):
                    support.parse_collapsed(bad + "\n")

    def test_marked_lines(self):
        lines = support.marked_lines(support.workload("loop_lines.py"), "LOOP")
        self.assertEqual(len(lines), 2)
        self.assertEqual(lines[1], lines[0] + 1)


if __name__ == "__main__":
    unittest.main()
