#!/usr/bin/env python3
"""Generate line-table fixtures for tests/c/test_linetable.c.

Run with any CPython 3.8-3.13 (stdlib only):

    python3.X tools/gen_linetable_fixtures.py [OUTDIR]

writes OUTDIR/linetable_3X.h (default OUTDIR: tests/c/fixtures).  The file
holds, for every code object compiled from the samples below (walked
recursively through co_consts): the raw table (co_lnotab on 3.8/3.9,
co_linetable on 3.10+), co_firstlineno, the size of co_code, and the expected
line of every even byte offset 0 .. len(co_code)-2 (-1 = no line), computed
with the interpreter's own API:

  3.8, 3.9   dis.findlinestarts(): the line of an offset is that of the last
             line start <= offset;
  3.10+      co_lines() ranges (None -> -1);
  3.11+      also cross-checked against co_positions() (one entry per code
             unit, CACHE units included: co_code is the unadapted bytecode
             with its caches, and offsets count them);
  all        cross-checked against the C function PyCode_Addr2Line through
             ctypes when ctypes is available.

The generator fails loudly when two sources of truth disagree.
"""
import dis
import os
import sys
import types

VER = sys.version_info[:2]
TAG = "%d%d" % VER
FMT = "LT_LNOTAB" if VER < (3, 10) else ("LT_LINETABLE" if VER < (3, 11) else "LT_LOCATIONS")
SIZE_LIMIT = 290 * 1024

# ---------------------------------------------------------------- samples


def _long_function():
    # Blank gaps of >127 and >255 lines, a backwards jump of >127 lines, lines
    # whose code is >255 bytes long, and a line table entry for each.
    names = ", ".join("a%d" % i for i in range(160))
    out = ["def long_function(a, b):"]
    out.append("    x = a")
    out += [""] * 130
    out.append("    y = b  # after a 130-line gap")
    out += ["    # comment"] * 300
    out.append("    z = x + y  # after a 300-line gap")
    out.append("    big = [%s] if a else None  # >255 bytes on one line" % names)
    out.append("    big2 = {%s}" % ", ".join("'k%d': a%d" % (i, i) for i in range(100)))
    # A call whose argument list spans 200 lines: the CALL is attributed back
    # to the first line on some versions (a backwards jump of ~200 lines).
    out.append("    r = max(")
    out += ["        a,"] * 200
    out.append("        b)")
    out.append("    return x, y, z, big, big2, r")
    header = "\n".join("a%d = %d" % (i, i) for i in range(160))
    return header + "\n" + "\n".join(out) + "\n"


SAMPLES = [
    ("line1", "def at_line_1(x):\n    return x + 1\n"),
    ("empty", ""),
    ("docstring_only", '"""just a docstring"""\n'),
    ("loops", '''
def loops(n):
    total = 0
    for i in range(n):
        if i % 2:
            continue
        total += i
        while total > 100:
            total -= 7
            if total == 3:
                break
        else:
            total += 1
    i = 0
    while i < n: i += 1
    for a, b in zip(range(n),
                    range(n, 0, -1)):
        total += a * b
    return total
'''),
    ("backwards", '''
def backwards(a, b, c):
    x = (
        a
        if b else
        c
    )
    y = foo(
        a,
        b,
    ).bar(
        c
    ).baz()
    d = {
        a:
            b,
        c: (a +
            b)
    }
    z = [a,
         b,
         c][
        0]
    return (x,
            y,
            d,
            z)
'''),
    ("nested", '''
import functools

def outer(a):
    def middle(b):
        def inner(c):
            return a + b + c
        return inner
    lam = lambda q: (q,
                     a)
    class Local:
        attr = a
        def method(self):
            return self.attr
        @staticmethod
        def smethod(x=lambda: 1):
            return x
    return middle, lam, Local

@functools.lru_cache(maxsize=None)
def decorated(
        x,
        y=2):
    return x * y
'''),
    ("comprehensions", '''
def comps(xs):
    a = [x * 2 for x in xs if x]
    b = {x: y
         for x in xs
         for y in range(x)
         if y}
    c = {x for x in xs}
    d = (x
         for x in xs)
    e = [[y for y in range(x)] for x in xs]
    return a, b, c, list(d), e
'''),
    ("exceptions", '''
def exc(f):
    try:
        f()
    except ValueError as e:
        print(e)
    except (TypeError,
            KeyError):
        pass
    else:
        return 1
    finally:
        f = None
    with open("x") as fh, \\
            open("y") as gh:
        fh.read()
    try:
        try:
            raise RuntimeError("boom")
        finally:
            pass
    except Exception:
        raise
    return 2
'''),
    ("generators", '''
import asyncio

def gen(n):
    for i in range(n):
        yield i
    x = yield from gen(n - 1)
    return x

async def coro(lock, it):
    async with lock:
        await asyncio.sleep(0)
    async for x in it:
        await asyncio.sleep(x)
    return [y async for y in it]
'''),
    ("long_expr", "values = (\n" + "".join("    %d +\n" % i for i in range(400)) + "    0)\n"
     "def call_spanning():\n    return print(\n" + "".join("        %d,\n" % i for i in range(300)) + "    )\n"),
    ("columns", "def columns(aaaaaaaaaa, bbbbbbbbbb):\n"
     "    x = (" + " " * 150 + "aaaaaaaaaa + bbbbbbbbbb)  # column > 127\n"
     "    y = (aaaaaaaaaa, bbbbbbbbbb, aaaaaaaaaa, bbbbbbbbbb, aaaaaaaaaa, bbbbbbbbbb, aaaaaaaaaa, bbbbbbbbbb, aaaaaaaaaa(bbbbbbbbbb))\n"
     "    return [x,\n            y][0]\n"),
    ("misc", '''
import sys as _s
GLOBAL = 1

def dead(x):
    if 0:
        x = 1
    if __debug__:
        pass
    return
    x = 2

def only_pass():
    pass

class Base:
    """doc"""
    a = 1
    def __init__(self):
        super().__init__()

def star(*args, **kw):
    global GLOBAL
    GLOBAL += 1
    del kw
    assert args, "msg"
    return f"{args!r:>10} and {GLOBAL}"
'''),
    ("line100000", "\n" * 99999 + "def at_line_100000(x):\n    y = x\n\n\n    return y\n"),
    ("long_function", _long_function()),
]

if VER >= (3, 10):
    SAMPLES.append(("match", '''
def matcher(p):
    match p:
        case {"x": x, "y": y}:
            return x + y
        case [a, b, *rest] if a:
            return rest
        case Point(x=0) | None:
            return 0
        case _:
            return -1
'''))
if VER >= (3, 11):
    SAMPLES.append(("taskgroup", '''
async def tg(asyncio):
    try:
        async with asyncio.TaskGroup() as g:
            g.create_task(asyncio.sleep(0))
    except* ValueError:
        pass
'''))

# A real module for breadth; its size differs by version, so it is bounded.
STDLIB_MODULES = ["textwrap.py", "json/decoder.py", "asyncio/locks.py"]

# ---------------------------------------------------------------- truth


def walk(code):
    yield code
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            yield from walk(c)


def expected_lines(code):
    n = len(code.co_code)
    lines = [None] * (n // 2)
    if VER < (3, 10):
        starts = list(dis.findlinestarts(code))
        assert starts and starts[0][0] == 0, starts
        for k, (off, line) in enumerate(starts):
            stop = starts[k + 1][0] if k + 1 < len(starts) else n
            for o in range(off, min(stop, n), 2):
                lines[o // 2] = line
    else:
        for start, end, line in code.co_lines():
            for o in range(start, end, 2):
                assert lines[o // 2] is None, (code, o)
                lines[o // 2] = -1 if line is None else line
    assert None not in lines, (code, lines)
    if VER >= (3, 11):
        pos = list(code.co_positions())
        assert len(pos) == n // 2, (code, len(pos), n)
        for k, p in enumerate(pos):
            pl = -1 if p[0] is None else p[0]
            assert pl == lines[k], (code, 2 * k, pl, lines[k])
    if A2L is not None:
        for k in range(n // 2):
            got = A2L(code, 2 * k)
            assert got == lines[k], (code, 2 * k, got, lines[k])
    return lines


try:
    import ctypes
    A2L = ctypes.pythonapi.PyCode_Addr2Line
    A2L.argtypes = [ctypes.py_object, ctypes.c_int]
    A2L.restype = ctypes.c_int
except Exception:  # no ctypes: the other checks still run
    A2L = None

# ---------------------------------------------------------------- output


def c_bytes(b):
    items = ["0x%02x" % x for x in b] or ["0"]
    return wrap(items)


def wrap(items, width=100):
    out, line = [], ""
    for it in items:
        if len(line) + len(it) + 1 > width:
            out.append(line)
            line = ""
        line += it + ","
    out.append(line)
    return "\n".join(out)


def c_str(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def collect():
    sources = list(SAMPLES)
    libdir = os.path.dirname(os.__file__)
    for m in STDLIB_MODULES:
        with open(os.path.join(libdir, m), encoding="utf-8") as f:
            sources.append(("stdlib_" + m, f.read()))
    out = []
    for label, src in sources:
        top = compile(src, "<%s>" % label, "exec")
        for code in walk(top):
            table = code.co_lnotab if VER < (3, 10) else code.co_linetable
            name = getattr(code, "co_qualname", code.co_name)
            out.append(("%s:%s" % (label, name), code.co_firstlineno,
                        len(code.co_code), bytes(table), expected_lines(code)))
    return out


def render(entries):
    v = "%d.%d.%d" % sys.version_info[:3]
    parts = [
        "/* linetable_%s.h — generated by tools/gen_linetable_fixtures.py with"
        " CPython %s.\n * Do not edit; regenerate instead. */" % (TAG, v),
        "#ifndef STROBE_LT_FIXTURE_DEFINED",
        "#define STROBE_LT_FIXTURE_DEFINED",
        "#include <stddef.h>",
        "#include <stdint.h>",
        "#include \"linetable.h\"",
        "/* One code object.  lines[k] is the line of byte offset 2k (-1: none). */",
        "struct lt_fixture {",
        "    const char *name;",
        "    int version;            /* 38 .. 313 */",
        "    enum linetable_format fmt;",
        "    int firstlineno;",
        "    size_t code_len;        /* len(co_code) in bytes */",
        "    const uint8_t *table;",
        "    size_t table_len;",
        "    const int32_t *lines;   /* code_len / 2 entries */",
        "};",
        "#endif",
        "#define LT_FIXTURES_%s_VERSION \"%s\"" % (TAG, v),
    ]
    rows = []
    for i, (name, first, n, table, lines) in enumerate(entries):
        parts.append("static const uint8_t lt%s_t%d[] = {\n%s\n};" % (TAG, i, c_bytes(table)))
        parts.append("static const int32_t lt%s_l%d[] = {\n%s\n};" % (TAG, i, wrap([str(x) for x in lines])))
        rows.append("    {%s, %s, %s, %d, %d, lt%s_t%d, %d, lt%s_l%d}," % (
            c_str(name), TAG, FMT, first, n, TAG, i, len(table), TAG, i))
    parts.append("static const struct lt_fixture lt%s_fixtures[] = {\n%s\n};" % (TAG, "\n".join(rows)))
    parts.append("#define LT%s_NFIXTURES (sizeof lt%s_fixtures / sizeof lt%s_fixtures[0])" % (TAG, TAG, TAG))
    return "\n".join(parts) + "\n"


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.normpath(os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "tests", "c", "fixtures"))
    entries = collect()
    text = render(entries)
    if len(text) > SIZE_LIMIT:
        sys.exit("fixture too large: %d bytes" % len(text))
    os.makedirs(outdir, exist_ok=True)
    path = os.path.join(outdir, "linetable_%s.h" % TAG)
    with open(path, "w") as f:
        f.write(text)
    print("%s: %d code objects, %d offsets, %d bytes" % (
        path, len(entries), sum(len(e[4]) for e in entries), len(text)))


if __name__ == "__main__":
    main()
