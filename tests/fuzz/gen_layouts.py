#!/usr/bin/env python3
"""tests/fuzz/gen_layouts.py — what the fuzz targets know of real interpreters.

    python3 tests/fuzz/gen_layouts.py [--strobe-build build-fuzz] [--no-corpus]

For every pyenv CPython 3.8-3.13 (found as the Makefile finds them):

  1. builds tests/fuzz/gen/dumpmod.c as a throwaway extension, together with
     the module's own fills (src/module/layout_fill.c, opflow_fill.c) against
     that interpreter's headers, and asks it for strobe_layout (every field
     listed in src/base/layout.h) and opflow_tables;
  2. asks strobe's own asyncio probe (strobe._aio.probe(), from the built
     module under --strobe-build/python) for the offsets in task objects;
  3. dumps real line tables, bytecode, exception tables and (3.11+)
     specialised bytecode of a sample program.

It writes tests/fuzz/layouts.h (addresses of type objects are left out: the
harness puts them where the fuzz input can name them) and, unless
--no-corpus, the seed corpora: fuzz_linetable and fuzz_opflow from the dumps,
fuzz_pyobj / fuzz_frames / fuzz_tasks / fuzz_pprof from tests/fuzz/mkseeds.c
(synthetic memory images laid out with the header just written), and one
pprof file recorded by strobe itself (--strobe-build/bin/strobe).
Stdlib only.  Needs a C compiler (cc) and the built strobe (make BUILD=...
modules python cli) for steps 2 and the recorded profile.
"""

import argparse
import glob
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import sysconfig
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PYENV = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
MINORS = (8, 9, 10, 11, 12, 13)

# Fields of strobe_layout that are addresses in the interpreter's process
# (every uint64_t but a flag): meaningless elsewhere; the harness sets them.
NOT_ADDRESSES = ("tpflags_heaptype",)
AIO_OFFSETS = ("fut_loop", "fut_state", "task_coro", "task_fut_waiter", "task_name", "task_size",
               "fut_state_pending", "futiter_future", "asend_gen", "athrow_gen", "cw_coro")

# Compiled by each interpreter: its code objects give the line tables and
# bytecode of the corpora (loops, handlers, with, generators, coroutines,
# calls of every shape, lines far apart and going backwards).
SAMPLE = r'''
import time

def simple(a, b=2):
    c = a + b
    return c * 2

def loops(n):
    total = 0
    for i in range(n):
        if i % 3 == 0:
            total += i
        elif i % 5:
            total -= 1
        else:
            continue
    while total > 100:
        total //= 2
    return total

def handlers(path):
    try:
        f = open(path)
    except (OSError, ValueError) as e:
        return str(e)
    else:
        with f:
            data = f.read()
    finally:
        time.sleep(0)
    return data

def calls(obj, *args, **kw):
    obj.method(1, 2)
    print(*args, sep="", **kw)
    time.sleep(
        0,
    )
    return sorted(args, key=lambda x: -x,
                  reverse=True)

def gen(n):
    for i in range(n):
        x = yield i
        if x:
            yield from range(x)

async def coro(lock, q):
    async with lock:
        item = await q.get()
    async for x in q:
        await x
    return [y async for y in q]

class Klass:
    def method(self, *a):
        return super().__init__()

def comprehension(xs):
    return {k: [v for v in xs if v != k] for k in xs}
''' + "\n" * 300 + r'''
def far_away(x):
    y = x
''' + "\n" * 1000 + r'''
    return y
'''

DUMP = r'''
import json, sys, types
import _fuzzdump
sys.path.insert(0, STROBE_PY)
out = {"version": list(sys.version_info[:3]), "layout": _fuzzdump.layout(),
       "opflow": _fuzzdump.opflow().hex(), "sizes": list(_fuzzdump.sizes())}
try:
    from strobe import _aio
    facts = _aio.probe()
    out["aio"] = {k: v for k, v in facts.items() if not k.startswith("_")} if isinstance(facts, dict) else facts
except Exception as e:
    out["aio"] = "no strobe module: %s" % e
ns = {}
top = compile(SAMPLE, "/fuzz/sample.py", "exec")
exec(top, ns)
codes = []
def walk(c):
    codes.append(c)
    for k in c.co_consts:
        if isinstance(k, types.CodeType):
            walk(k)
walk(top)
out["codes"] = []
for c in codes:
    lt = c.co_lnotab if sys.version_info < (3, 10) else c.co_linetable
    out["codes"].append({"name": c.co_name, "first": c.co_firstlineno, "linetable": lt.hex(),
                         "code": c.co_code.hex(),
                         "exctab": getattr(c, "co_exceptiontable", b"").hex()})
# specialised bytes (3.11+): run the functions a few thousand times
if sys.version_info >= (3, 11):
    for i in range(3000):
        ns["simple"](i)
        ns["loops"](20)
        ns["comprehension"]([1, 2])
    for name in ("simple", "loops", "comprehension"):
        c = ns[name].__code__
        out["codes"].append({"name": name + "+adaptive", "first": c.co_firstlineno,
                             "linetable": c.co_linetable.hex(),
                             "code": c._co_code_adaptive.hex(),
                             "exctab": c.co_exceptiontable.hex()})
# what mkseeds.c needs to build frames and coroutines that look real
import dis
def units_of_first(c, name):
    for ins in dis.get_instructions(c):
        if ins.opname == name:
            return ins.offset // 2
    return 0
def material(c, mark):
    first_resume = units_of_first(c, "RESUME") if sys.version_info >= (3, 11) else 0
    return {"name": c.co_name, "qualname": getattr(c, "co_qualname", c.co_name),
            "file": c.co_filename, "first": c.co_firstlineno,
            "argcount": c.co_argcount, "flags": c.co_flags, "stacksize": c.co_stacksize,
            "nlocalsplus": c.co_nlocals + len(c.co_cellvars) + len(c.co_freevars),
            "firsttraceable": first_resume, "code": c.co_code.hex(),
            "linetable": (c.co_lnotab if sys.version_info < (3, 10) else c.co_linetable).hex(),
            "exctab": getattr(c, "co_exceptiontable", b"").hex(), "mark": mark}
byname = {c.co_name: c for c in codes}
def call_after(c, name):
    """Byte offset of the first call instruction after the load of `name`."""
    ins = list(dis.get_instructions(c))
    for i, x in enumerate(ins):
        if x.argval == name:
            for y in ins[i + 1:]:
                if y.opname in ("CALL_FUNCTION", "CALL_METHOD", "PRECALL", "CALL"):
                    return y.offset
    return 0
calls_at = call_after(byname["calls"], "sleep")
method_at = call_after(byname["calls"], "method")
with_at = [x.offset for x in dis.get_instructions(byname["handlers"])
           if x.opname in ("SETUP_WITH", "BEFORE_WITH")][0]
# coro: where a coroutine suspended in its first await is, as the engine's
# byte offset: 3.8-3.10 the instruction before YIELD_FROM; 3.11/3.12 the unit
# before the RESUME (arg >= 2) that follows the await; 3.13 that RESUME
cins = list(dis.get_instructions(byname["coro"]))
coro_at = 0
for x in cins:
    if sys.version_info < (3, 11) and x.opname == "YIELD_FROM":
        coro_at = x.offset - 2
        break
    if sys.version_info >= (3, 11) and x.opname == "RESUME" and x.arg >= 2:
        coro_at = x.offset - 2 if sys.version_info < (3, 13) else x.offset
        break
out["materials"] = {"calls": material(byname["calls"], calls_at),
                    "method": material(byname["calls"], method_at),
                    "with": material(byname["handlers"], with_at),
                    "simple": material(byname["simple"], 0),
                    "coro": material(byname["coro"], coro_at)}
print(json.dumps(out))
'''


def pythons():
    found = []
    for m in MINORS:
        hits = sorted(glob.glob(os.path.join(PYENV, "versions", "3.%d.*" % m, "bin", "python3.%d" % m)))
        if hits:
            found.append((m, hits[-1]))
    return found


def layout_fields():
    text = open(os.path.join(ROOT, "src", "base", "layout.h")).read()
    body = re.search(r"typedef struct strobe_layout \{(.*?)\} strobe_layout;", text, re.S).group(1)
    body = re.sub(r"/\*.*?\*/", "", body, flags=re.S)
    names = []
    for stmt in body.split(";"):
        stmt = " ".join(stmt.split())
        if not stmt:
            continue
        m = re.match(r"(u?int(?:32|64)_t|int)\s+(.*)$", stmt)
        if not m:
            raise SystemExit("gen_layouts: can't read layout.h declaration: %r" % stmt)
        names += [(n.strip(), m.group(1)) for n in m.group(2).split(",")]
    return names


def run(cmd, **kw):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)
    if r.returncode != 0:
        raise SystemExit("gen_layouts: %s failed:\n%s%s" % (" ".join(cmd), r.stdout.decode(),
                                                         r.stderr.decode()))
    return r.stdout.decode()


def dump_one(minor, py, tmp, strobe_py):
    inc = run([py, "-c", "import sysconfig;print(sysconfig.get_paths()['include'])"]).strip()
    ext = run([py, "-c", "import sysconfig;print(sysconfig.get_config_var('EXT_SUFFIX'))"]).strip()
    d = os.path.join(tmp, "3%d" % minor)
    os.makedirs(d, exist_ok=True)
    so = os.path.join(d, "_fuzzdump" + ext)
    run(["cc", "-O1", "-std=c11", "-D_GNU_SOURCE", "-fPIC", "-shared", "-w",
         "-I" + tmp, "-I" + os.path.join(ROOT, "src/base"), "-I" + os.path.join(ROOT, "src/engine"),
         "-I" + os.path.join(ROOT, "src/module"), "-I" + inc,
         "-o", so, os.path.join(HERE, "gen", "dumpmod.c"),
         os.path.join(ROOT, "src/module/layout_fill.c"), os.path.join(ROOT, "src/module/opflow_fill.c"),
         os.path.join(ROOT, "src/engine/opflow.c")])
    env = dict(os.environ, PYTHONPATH=d, PYTHONDONTWRITEBYTECODE="1")
    script = "STROBE_PY = %r\nSAMPLE = %r\n%s" % (strobe_py, SAMPLE, DUMP)
    return json.loads(run([py, "-c", script], env=env))


# ---- the header --------------------------------------------------------------

FX = struct.Struct("<BbbBI")
CALL = struct.Struct("<BbBB")


def opflow_c(name, blob):
    """opflow_tables as a C initializer (the struct's layout is fixed: see opflow.h)."""
    version, flags = struct.unpack_from("<II", blob, 0)
    deopt = blob[8:264]
    caches = blob[264:520]
    opflags = struct.unpack_from("<256H", blob, 520)
    fx = [FX.unpack_from(blob, 1032 + 8 * i) for i in range(256)]
    jfx = [FX.unpack_from(blob, 3080 + 8 * i) for i in range(256)]
    call = [CALL.unpack_from(blob, 5128 + 4 * i) for i in range(256)]
    assert len(blob) == 5128 + 4 * 256, len(blob)

    def arr(vals, per=16):
        rows = []
        for i in range(0, len(vals), per):
            rows.append("        " + ", ".join(str(v) for v in vals[i:i + per]) + ",")
        return "\n".join(rows)

    def sparse(entries, fmt):
        return "\n".join("        [%d] = %s," % (i, fmt(e)) for i, e in enumerate(entries) if any(e))

    fxf = lambda e: "{%d, %d, %d, 0, %uu}" % (e[0], e[1], e[2], e[4])
    return "\n".join([
        "static const opflow_tables %s = {" % name,
        "    .version_hex = 0x%08X," % version,
        "    .flags = 0x%X," % flags,
        "    .deopt = {", arr(list(deopt)), "    },",
        "    .caches = {", arr(list(caches)), "    },",
        "    .opflags = {", arr(["0x%X" % v for v in opflags], 12), "    },",
        "    .fx = {", sparse(fx, fxf), "    },",
        "    .jfx = {", sparse(jfx, fxf), "    },",
        "    .call = {", sparse(call, lambda e: "{%d, %d, %d, 0x%X}" % e), "    },",
        "};", ""])


def write_header(path, dumps, fields):
    out = ["/* layouts.h — generated by tests/fuzz/gen_layouts.py from the installed",
           " * interpreters; do not edit, regenerate.  Per version: strobe_layout as",
           " * src/module/layout_fill.c fills it (type and object addresses left 0: the",
           " * fuzz harness sets them), opflow_tables as src/module/opflow_fill.c fills",
           " * it, and the offsets in asyncio's C task objects as strobe's probe",
           " * (python/strobe/_aio.py) measures them. */",
           "#ifndef STROBE_FUZZ_LAYOUTS_H", "#define STROBE_FUZZ_LAYOUTS_H",
           "#include \"aio.h\"", "#include \"layout.h\"", "#include \"opflow.h\"", ""]
    table = []
    for minor, d in dumps:
        v = "%d.%d.%d" % tuple(d["version"])
        tag = "3%d" % minor
        L = d["layout"]
        missing = [f for f, _ in fields if f not in L]
        if missing:
            raise SystemExit("gen_layouts: fields not dumped: %s" % missing)
        out.append("/* CPython %s */" % v)
        out.append("static const strobe_layout fuzz_layout_%s = {" % tag)
        for f, ctype in fields:
            if ctype == "uint64_t" and f not in NOT_ADDRESSES:
                continue
            if f in ("version_hex", "tpflags_heaptype"):
                out.append("    .%s = 0x%X," % (f, L[f]))
            else:
                out.append("    .%s = %d," % (f, L[f]))
        out.append("};")
        aio = d["aio"]
        if not isinstance(aio, dict):
            raise SystemExit("gen_layouts: asyncio probe on %s: %s" % (v, aio))
        out.append("static const strobe_aio fuzz_aio_%s = {" % tag)
        for f in AIO_OFFSETS:
            out.append("    .%s = %d," % (f, aio[f]))
        out.append("    .nreg_weak = %d," % len(aio["reg_weak"]))
        out.append("    .nreg_strong = %d," % len(aio["reg_strong"]))
        out.append("};")
        out.append(opflow_c("fuzz_opflow_%s" % tag, bytes.fromhex(d["opflow"])))
        table.append('    { %d, "%s", &fuzz_layout_%s, &fuzz_aio_%s, &fuzz_opflow_%s },'
                     % (minor, v, tag, tag, tag))
    out += ["typedef struct {", "    int minor;", "    const char *version;",
            "    const strobe_layout *L;", "    const strobe_aio *aio;",
            "    const opflow_tables *opflow;", "} fuzz_version;", "",
            "static const fuzz_version fuzz_versions[] = {"] + table + ["};",
            "#define FUZZ_NVERSIONS ((int)(sizeof fuzz_versions / sizeof fuzz_versions[0]))",
            "", "#endif", ""]
    with open(path, "w") as f:
        f.write("\n".join(out))


# ---- corpora -----------------------------------------------------------------

def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def real_corpora(corpus, dumps):
    lt_dir = os.path.join(corpus, "fuzz_linetable")
    op_dir = os.path.join(corpus, "fuzz_opflow")
    for d in (lt_dir, op_dir):
        shutil.rmtree(d, ignore_errors=True)
    keep = {"simple", "loops", "handlers", "calls", "gen", "coro", "far_away",
            "simple+adaptive", "loops+adaptive"}
    for idx, (minor, d) in enumerate(dumps):
        fmt = 0 if minor < 10 else 1 if minor == 10 else 2   # the target's selector: fmt - 1
        for c in d["codes"]:
            if c["name"] not in keep:
                continue
            name = c["name"].replace("+", "_")
            lt = bytes.fromhex(c["linetable"])
            if "adaptive" not in name:
                write(os.path.join(lt_dir, "3%d_%s" % (minor, name)),
                      bytes([fmt]) + struct.pack("<i", c["first"]) + lt)
            code = bytes.fromhex(c["code"])
            exc = bytes.fromhex(c["exctab"])
            if len(code) > 0xFFFF:
                continue
            # selector (version index), flags, code length, code, exception table
            write(os.path.join(op_dir, "3%d_%s" % (minor, name)),
                  bytes([idx, 0]) + struct.pack("<H", len(code)) + code + exc)


def write_materials(path, dumps):
    """Real code objects of each version for mkseeds.c, in fuzz_versions order."""
    out = ["/* generated by gen_layouts.py: real code objects per version */",
           "typedef struct {", "    const char *name, *qualname, *file;",
           "    int first, argcount, flags, stacksize, nlocalsplus, firsttraceable, mark;",
           "    const unsigned char *code, *linetable, *exctab;",
           "    size_t code_len, linetable_len, exctab_len;", "} mat_code;", ""]

    def blob(hexs):
        b = bytes.fromhex(hexs)
        return '(const unsigned char *)"%s"' % "".join("\\x%02x" % x for x in b), len(b)

    for which in ("calls", "method", "with", "simple", "coro"):
        out.append("static const mat_code mat_%s[] = {" % which)
        for minor, d in dumps:
            m = d["materials"][which]
            code, ncode = blob(m["code"])
            lt, nlt = blob(m["linetable"])
            exc, nexc = blob(m["exctab"])
            out.append('    { "%s", "%s", "%s", %d, %d, %d, %d, %d, %d, %d,\n      %s,\n      %s,\n'
                       '      %s,\n      %d, %d, %d },' % (
                           m["name"], m["qualname"], m["file"], m["first"], m["argcount"], m["flags"],
                           m["stacksize"], m["nlocalsplus"], m["firsttraceable"], m["mark"],
                           code, lt, exc, ncode, nlt, nexc))
        out.append("};")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def mkseeds(corpus, tmp):
    exe = os.path.join(tmp, "mkseeds")
    src = [os.path.join(HERE, "mkseeds.c")] + [os.path.join(ROOT, "src", p) for p in (
        "engine/opflow.c", "engine/profile.c", "engine/export_pprof.c", "engine/pb.c")]
    run(["cc", "-O1", "-g", "-std=c11", "-Wall", "-Wextra", "-Werror", "-Wno-unused-parameter",
         "-D_GNU_SOURCE", "-I" + tmp, "-I" + HERE, "-I" + os.path.join(ROOT, "src/base"),
         "-I" + os.path.join(ROOT, "src/engine"), "-o", exe] + src + ["-lz"])
    for t in ("fuzz_pyobj", "fuzz_frames", "fuzz_tasks", "fuzz_pprof"):
        shutil.rmtree(os.path.join(corpus, t), ignore_errors=True)
    print(run([exe, corpus]), end="")


def recorded_pprof(corpus, strobe_build, py, tmp):
    strobe = os.path.join(strobe_build, "bin", "strobe")
    if not os.path.exists(strobe):
        raise SystemExit("gen_layouts: no %s (make BUILD=%s modules python cli)" % (strobe, strobe_build))
    prog = os.path.join(tmp, "work.py")
    with open(prog, "w") as f:
        f.write("import asyncio, threading, time\n"
                "def spin(t):\n    end = time.time() + t\n    while time.time() < end: pass\n"
                "async def job(i):\n    await asyncio.sleep(0.05)\n    spin(0.02)\n"
                "async def main():\n    await asyncio.gather(*(job(i) for i in range(3)))\n"
                "th = threading.Thread(target=time.sleep, args=(0.15,), name='sleeper')\n"
                "th.start(); spin(0.1); asyncio.run(main()); th.join()\n")
    out = os.path.join(tmp, "real.pb.gz")
    run([strobe, "record", "-r", "500", "-o", out, "--", py, prog])
    data = open(out, "rb").read()
    write(os.path.join(corpus, "fuzz_pprof", "strobe_record.pb.gz"), data)
    import gzip
    write(os.path.join(corpus, "fuzz_pprof", "strobe_record.pb"), gzip.decompress(data))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--strobe-build", default=os.path.join(ROOT, "build-fuzz"))
    ap.add_argument("--no-corpus", action="store_true")
    args = ap.parse_args()
    strobe_build = os.path.abspath(args.strobe_build)
    fields = layout_fields()
    found = pythons()
    if not found:
        raise SystemExit("gen_layouts: no CPython 3.8-3.13 under %s/versions" % PYENV)
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "fields.inc"), "w") as f:
            f.write("".join("F(%s)\n" % n for n, _ in fields))
        dumps = []
        for minor, py in found:
            d = dump_one(minor, py, tmp, os.path.join(strobe_build, "python"))
            print("gen_layouts: CPython %d.%d.%d: layout %d bytes, opflow %d bytes"
                  % (tuple(d["version"]) + tuple(d["sizes"])))
            dumps.append((minor, d))
        write_header(os.path.join(HERE, "layouts.h"), dumps, fields)
        print("gen_layouts: wrote tests/fuzz/layouts.h (%d versions)" % len(dumps))
        if args.no_corpus:
            return
        corpus = os.path.join(HERE, "corpus")
        real_corpora(corpus, dumps)
        write_materials(os.path.join(tmp, "materials.h"), dumps)
        mkseeds(corpus, tmp)
        recorded_pprof(corpus, strobe_build, found[-1][1], tmp)
        total = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(corpus) for f in fs)
        print("gen_layouts: corpus %d files, %d bytes" %
              (sum(len(fs) for _, _, fs in os.walk(corpus)), total))


if __name__ == "__main__":
    main()
