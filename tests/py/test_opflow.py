"""The bytecode stack-depth analysis (src/engine/opflow.c) against a pure-Python
reference built only on `dis`, under the interpreter running the tests.

  * the reference: the compiler's stackdepth() on dis.get_instructions(), with
    dis.stack_effect() for both edges and co_exceptiontable parsed as in
    Objects/exception_handling_notes.txt; its maximum must not exceed
    co_stacksize (and equals it almost always), so it is the compiler's model;
  * every code object (co_consts, recursively) of a large part of the standard
    library: all of asyncio/, json/, threading.py, socket.py and every other
    second file; the C depths must equal the reference at every code unit;
  * 3.11+: the adaptive bytes (_co_code_adaptive) of functions run thousands
    of times (specialised calls, attribute loads, binary ops, loops, with)
    give the same depths as the plain bytes;
  * _opflow_callee on hand-written calls: the slots it names hold what the
    instruction that loaded the callable pushed (a small symbolic run of the
    straight-line code, checked against the reference depth at each step);
  * 3.8 `finally:` nesting, errors, and the time the fill takes.
"""

import dis
import inspect
import opcode
import os
import sys
import sysconfig
import time
import unittest
import warnings

import support

sys.path.insert(0, support.STROBE_PYTHONPATH)
from strobe import _strobe  # noqa: E402

V = sys.version_info[:2]
GEN_FLAGS = inspect.CO_GENERATOR | inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR
JUMPS = {op for op in set(opcode.hasjrel) | set(opcode.hasjabs) if op < 256}
TERMINATORS = {opcode.opmap[n] for n in (
    "JUMP_ABSOLUTE", "JUMP_FORWARD", "JUMP_BACKWARD", "JUMP_BACKWARD_NO_INTERRUPT",
    "RETURN_VALUE", "RETURN_CONST", "RAISE_VARARGS", "RERAISE") if n in opcode.opmap}
KIND_PLAIN, KIND_METHOD, KIND_KW, KIND_EX, KIND_ENTER, KIND_AENTER = range(1, 7)
CD_KWASIDE, CD_EXITBOUND = 0x08, 0x10


# ---------------------------------------------------------------------------
# The reference

def parse_exception_table(code):
    """[(start, end, target, depth, lasti)] in bytes, per exception_handling_notes.txt:
    varints of 6-bit chunks, most significant first, 0x40 = more to come."""
    data = getattr(code, "co_exceptiontable", b"")
    entries = []
    pos = [0]

    def varint():
        b = data[pos[0]]
        pos[0] += 1
        val = b & 63
        while b & 64:
            b = data[pos[0]]
            pos[0] += 1
            val = (val << 6) | (b & 63)
        return val

    while pos[0] < len(data):
        start = varint() * 2
        length = varint() * 2
        target = varint() * 2
        dl = varint()
        entries.append((start, start + length, target, dl >> 1, dl & 1))
    return entries


def effect(ins, jump):
    arg = ins.arg if ins.opcode >= opcode.HAVE_ARGUMENT else None
    return dis.stack_effect(ins.opcode, arg, jump=jump)


def reference(code):
    """({offset: depth before the instruction}, max depth), as stackdepth() models it."""
    ins = list(dis.get_instructions(code))
    index = {i.offset: k for k, i in enumerate(ins)}
    depth = {}
    work = []
    top = [0]

    def start_block(offset, d):
        assert offset in index, "jump to %d: not an instruction" % offset
        assert d >= 0, "negative depth at %d" % offset
        if offset in depth:
            assert depth[offset] == d, "merge at %d: %d vs %d" % (offset, depth[offset], d)
        else:
            depth[offset] = d
            work.append(offset)

    # 3.10-3.12 analyse generators from depth 1 (GEN_START / RETURN_GENERATOR + POP_TOP)
    start_block(ins[0].offset, 1 if (3, 10) <= V < (3, 13) and code.co_flags & GEN_FLAGS else 0)
    for _start, _end, target, d, lasti in parse_exception_table(code):
        start_block(target, d + 1 + lasti)
    while work:
        k = index[work.pop()]
        d = depth[ins[k].offset]
        while True:
            i = ins[k]
            e = effect(i, False)
            top[0] = max(top[0], d + e)
            if i.opcode in JUMPS:
                je = effect(i, True)
                top[0] = max(top[0], d + je)
                if i.opname != "CALL_FINALLY":   # 3.8: the compiler does not follow it
                    start_block(i.argval, d + je)
            d += e
            assert d >= 0, "negative depth after %d %s" % (i.offset, i.opname)
            if i.opcode in TERMINATORS:
                break
            k += 1
            assert k < len(ins), "falls off the end"
            off = ins[k].offset
            if off in depth:
                assert depth[off] == d, "merge at %d: %d vs %d" % (off, depth[off], d)
                break
            depth[off] = d
    return depth, top[0]


def all_codes(code):
    yield code
    for c in code.co_consts:
        if hasattr(c, "co_code"):
            for x in all_codes(c):
                yield x


def c_depths(code, raw=None, mode=0):
    return _strobe._opflow_depths(raw if raw is not None else code.co_code,
                                  getattr(code, "co_exceptiontable", b""), mode)


def expected_units(code, ref):
    exp = [-1] * (len(code.co_code) // 2)
    for off, d in ref.items():
        exp[off // 2] = d
    return exp


def stdlib_files():
    root = sysconfig.get_paths()["stdlib"]
    files = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in ("site-packages", "__pycache__"))
        for f in sorted(filenames):
            if f.endswith(".py"):
                files.append(os.path.join(dirpath, f))
    must = [f for f in files
            if os.path.relpath(f, root).split(os.sep)[0] in ("asyncio", "json")
            or os.path.relpath(f, root) in ("threading.py", "socket.py")]
    others = [f for f in files if f not in must]
    return root, must, others[::2]


def compile_file(path):
    try:
        with open(path, "rb") as fh:
            src = fh.read()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return compile(src, path, "exec", dont_inherit=True)
    except (SyntaxError, ValueError, UnicodeDecodeError, OSError, RecursionError, MemoryError):
        return None


class ReferenceTest(unittest.TestCase):

    def test_stdlib_matches_reference(self):
        t0 = time.monotonic()
        root, must, others = stdlib_files()
        files = codes = at_stacksize = 0
        failures = []
        required_seen = set()
        for path in must + others:
            top = compile_file(path)
            if top is None:
                continue
            files += 1
            if path in must:
                required_seen.add(path)
            for code in all_codes(top):
                codes += 1
                where = "%s:%s:%d" % (os.path.relpath(path, root), code.co_name, code.co_firstlineno)
                try:
                    ref, top_depth = reference(code)
                except AssertionError as e:
                    failures.append("%s: reference: %s" % (where, e))
                    continue
                self.assertLessEqual(top_depth, code.co_stacksize, where)
                at_stacksize += top_depth == code.co_stacksize
                try:
                    got, nest = c_depths(code, mode=1)
                except ValueError as e:
                    failures.append("%s: C: %s" % (where, e))
                    continue
                exp = expected_units(code, ref)
                if got != exp:
                    diff = [(u * 2, exp[u], got[u]) for u in range(len(exp)) if exp[u] != got[u]]
                    failures.append("%s: (offset, ref, C) %s" % (where, diff[:5]))
                if V != (3, 8) and any(nest):
                    failures.append("%s: finally nesting outside 3.8" % where)
                if len(failures) > 20:
                    break
        secs = time.monotonic() - t0
        sys.stderr.write("opflow: %d files, %d code objects, %.0f%% at co_stacksize, %.1f s\n"
                         % (files, codes, 100.0 * at_stacksize / max(codes, 1), secs))
        self.assertEqual(failures, [], "\n".join(failures[:20]))
        self.assertEqual(len(required_seen), len(must), "some required files did not compile")
        self.assertGreater(files, 400)
        self.assertGreater(at_stacksize, 0.9 * codes)

    def test_exception_table_parser(self):
        parse = getattr(dis, "_parse_exception_table", None)
        if parse is None:
            self.skipTest("no exception table before 3.11")
        import asyncio.base_events as m
        n = 0
        for code in all_codes(compile_file(m.__file__)):
            want = [(e.start, e.end, e.target, e.depth, e.lasti) for e in parse(code)]
            self.assertEqual(parse_exception_table(code), want)
            n += len(want)
        self.assertGreater(n, 20)


# ---------------------------------------------------------------------------
# Adaptive bytes (3.11+)

class _Ctx(object):
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


class _Obj(object):
    def __init__(self):
        self.x = 1

    def meth(self, a):
        return a + self.x


def _warm_loop(n):
    lst = []
    d = {"a": 1}
    o = _Obj()
    s = "abc"
    t = 0
    for i in range(n):
        t += len(lst)
        lst.append(i)
        lst.pop()
        t += o.x + o.meth(i)
        t += d["a"]
        t = t * 2 - i
        t = t // 3 + (i < 5)
        if isinstance(s, str) and s.upper():
            t += len(str(i))
        with _Ctx():
            t += 1
        try:
            t += abs(-i)
        except ValueError:
            t -= 1
        t += max(i, 2) + sum((i, 1))
        t += sum(x for x in (1, 2))
    return t


class AdaptiveTest(unittest.TestCase):

    def setUp(self):
        if V < (3, 11):
            self.skipTest("no adaptive interpreter before 3.11")

    def _codes_of(self, objs):
        seen = {}
        for obj in objs:
            for v in list(vars(obj).values()) + [obj]:
                for f in ([v] + list(vars(v).values()) if isinstance(v, type) else [v]):
                    f = getattr(f, "__func__", f)
                    code = getattr(f, "__code__", None)
                    if code is not None:
                        for c in all_codes(code):
                            seen[id(c)] = c
        return list(seen.values())

    def test_specialised_code(self):
        import ipaddress
        import json
        import json.decoder
        import json.encoder
        import shlex
        import textwrap
        data = {"a": [1, 2.5, "x", None, True, {"b": [3, 4]}], "c": "d" * 10}
        for _ in range(3000):
            json.loads(json.dumps(data))
        for _ in range(300):
            textwrap.fill("lorem ipsum dolor sit amet " * 10, 30)
            shlex.split("a b 'c d' \"e f\" g\\ h")
        for i in range(2000):
            ipaddress.ip_address("10.0.%d.%d" % (i // 256, i % 256)).is_private
            ipaddress.ip_network("10.%d.0.0/16" % (i % 256)).prefixlen
        _warm_loop(5000)
        codes = self._codes_of([json, json.decoder, json.encoder, textwrap, shlex, ipaddress,
                                sys.modules[__name__]])
        specialised = compared = opaque = 0
        for code in codes:
            adaptive = code._co_code_adaptive
            if adaptive == code.co_code:
                continue
            plain = c_depths(code)
            if any(adaptive[2 * u] != code.co_code[2 * u] for u, d in enumerate(plain) if d >= 0):
                specialised += 1   # an opcode changed, not only cache contents
            try:
                got = c_depths(code, raw=adaptive)
            except ValueError as e:
                if e.args[0] == -3:   # instrumented / executor opcode: not analysable
                    opaque += 1
                    continue
                raise AssertionError("%s:%d: %s" % (code.co_name, code.co_firstlineno, e))
            self.assertEqual(got, plain, "%s:%d" % (code.co_name, code.co_firstlineno))
            compared += 1
        sys.stderr.write("opflow: %d code objects, %d specialised, %d compared, %d opaque\n"
                         % (len(codes), specialised, compared, opaque))
        self.assertIn(_warm_loop.__code__, codes)
        self.assertNotEqual(_warm_loop.__code__._co_code_adaptive, _warm_loop.__code__.co_code)
        self.assertGreater(compared, 20, "specialised %d, opaque %d" % (specialised, opaque))
        self.assertGreater(specialised, 10)

    def test_instrumented_code(self):
        """3.12+: sys.monitoring rewrites opcodes into INSTRUMENTED_* forms, which
        map to their base; INSTRUMENTED_LINE keeps the real opcode elsewhere."""
        if V < (3, 12):
            self.skipTest("no sys.monitoring before 3.12")
        mon = sys.monitoring
        free = [t for t in (3, 4) if mon.get_tool(t) is None]
        if not free:
            self.skipTest("no free sys.monitoring tool id")
        tool = free[0]
        E = mon.events
        code = _warm_loop.__code__
        events = E.CALL | E.PY_RETURN | E.JUMP | E.BRANCH | E.PY_START
        mon.use_tool_id(tool, "strobe-opflow-test")
        try:
            for ev in (E.CALL, E.PY_RETURN, E.JUMP, E.BRANCH, E.PY_START, E.LINE):
                mon.register_callback(tool, ev, lambda *a: None)
            mon.set_local_events(tool, code, events)
            _warm_loop(3)
            adaptive = code._co_code_adaptive
            plain = c_depths(code)
            ops = {adaptive[2 * u] for u, d in enumerate(plain) if d >= 0}
            instrumented = {opcode.opmap[n] for n in ("INSTRUMENTED_CALL", "INSTRUMENTED_JUMP_BACKWARD",
                                                        "INSTRUMENTED_FOR_ITER", "INSTRUMENTED_RETURN_VALUE",
                                                        "INSTRUMENTED_RESUME")}
            self.assertTrue(ops & instrumented, sorted(ops))
            self.assertEqual(c_depths(code, raw=adaptive), plain)
            mon.set_local_events(tool, code, events | E.LINE)
            _warm_loop(1)
            with self.assertRaises(ValueError) as cm:
                c_depths(code, raw=code._co_code_adaptive)
            self.assertEqual(cm.exception.args[0], -3)
        finally:
            mon.set_local_events(tool, code, 0)
            for ev in (E.CALL, E.PY_RETURN, E.JUMP, E.BRANCH, E.PY_START, E.LINE):
                mon.register_callback(tool, ev, None)
            mon.free_tool_id(tool)


# ---------------------------------------------------------------------------
# Call sites

def call_sleep(time, x):
    time.sleep(x)


def call_acquire(lock):
    lock.acquire()


def call_ex(f, a, k):
    f(*a, **k)


def call_ex_pos(f, a):
    f(*a)


def call_kw(f, a):
    f(a, b=1)


def call_with(lock):
    with lock:
        pass


async def call_async_with(m):
    async with m:
        pass


def call_nested(f, g, x):
    f(x, g(x, x), x)


def call_global():
    len(_GLOBAL_LIST)


def call_method_kw(o):
    o.meth(1, k=2)


def call_deep(f, x):
    return [x, x, (x, f(x))]


def call_gen(f):
    yield f(1)


async def call_coro(f):
    await f(1)


def call_bound():
    _GLOBAL_LIST.append(1)


_GLOBAL_LIST = []
_ns = {}
# a callable in local 300 (EXTENDED_ARG before its load), and 300 arguments
# (CALL_FUNCTION 300 on 3.8-3.10; a built tuple and CALL_FUNCTION_EX after)
exec("def call_far(%s, f):\n    f(a0)\n" % ", ".join("a%d" % i for i in range(300)), _ns)
exec("def call_wide(f, a):\n    f(%s)\n" % ", ".join(["a"] * 300), _ns)
call_far = _ns["call_far"]
call_wide = _ns["call_wide"]

# function, names whose load puts the callable (or the manager) on the stack,
# keyword names, whether a kwargs dict is passed
CALL_CASES = [
    (call_sleep, ("sleep",), None, False),
    (call_acquire, ("acquire",), None, False),
    (call_ex, ("f",), None, True),
    (call_ex_pos, ("f",), None, False),
    (call_kw, ("f",), ("b",), False),
    (call_with, ("lock",), None, False),
    (call_async_with, ("m",), None, False),
    (call_nested, ("f", "g"), None, False),
    (call_global, ("len",), None, False),
    (call_method_kw, ("meth",), ("k",), False),
    (call_deep, ("f",), None, False),
    (call_gen, ("f",), None, False),
    (call_coro, ("f",), None, False),
    (call_bound, ("append",), None, False),
    (call_far, ("f",), None, False),
    (call_wide, ("f",), None, False),
]

LOADERS = {"LOAD_FAST", "LOAD_FAST_CHECK", "LOAD_GLOBAL", "LOAD_NAME", "LOAD_DEREF",
           "LOAD_ATTR", "LOAD_METHOD", "LOAD_FAST_LOAD_FAST"}
# how many values these take off the stack (the rest: what their effect removes)
POPS = {"LOAD_ATTR": 1, "LOAD_METHOD": 1, "GEN_START": 1}


def value_index(ins, name):
    """Which of the values `ins` pushes is the object named `name`."""
    if ins.opname == "LOAD_FAST_LOAD_FAST":
        return list(ins.argval).index(name)
    if ins.opname == "LOAD_GLOBAL" and (3, 11) <= V < (3, 13) and ins.arg & 1:
        return 1   # NULL, global
    return 0


def names_loaded(ins):
    if ins.opname == "LOAD_FAST_LOAD_FAST":
        return list(ins.argval)
    return [ins.argval]


def symbolic_call_sites(code, names):
    """Run the straight-line code from the start, labelling each stack slot with
    (instruction, index of the value it pushed).  Yields, for every call site
    (an instruction _opflow_callee knows), (instruction, callee tuple, labels,
    loader, its value index, instructions so far)."""
    ref, _ = reference(code)
    stack = [("entry", 0)] * (ref[0])
    loaders = []
    seen = []
    for ins in dis.get_instructions(code):
        if ins.opname in ("EXTENDED_ARG", "CACHE"):
            continue
        assert ref.get(ins.offset) == len(stack), (ins.offset, ins.opname, ref.get(ins.offset), stack)
        seen.append(ins)
        callee = _strobe._opflow_callee(ins.opcode, ins.arg or 0, len(stack))
        if callee is not None and loaders:   # (not: the call of a with's __exit__)
            loader = loaders[-1]
            yield ins, callee, list(stack), loader[0], loader[1], list(seen)
            if ins.opname != "PRECALL":   # 3.11: CALL follows with the same callable
                loaders.pop()
        e = effect(ins, False)
        pops = POPS.get(ins.opname, max(0, -e))
        del stack[len(stack) - pops:]
        stack.extend((ins, k) for k in range(pops + e))
        if ins.opname in LOADERS:
            for name in names_loaded(ins):
                if name in names:
                    loaders.append((ins, value_index(ins, name)))
        if ins.opcode in TERMINATORS or ins.opcode in JUMPS:
            break


class CalleeTest(unittest.TestCase):

    def check_case(self, func, names, kwnames, kwargs):
        code = func.__code__
        sites = list(symbolic_call_sites(code, names))
        called = set()
        for s in sites:
            called.update(n for n in names_loaded(s[3]) if n in names)
        self.assertEqual(called, set(names), [s[0].opname for s in sites])
        for ins, callee, stack, loader, vi, seen in sites:
            kind, slot, self_slot, args_slot, nargs, kwn, kwa, null, flags = callee
            where = "%s %s %s: %s" % (func.__name__, ins.opname, callee, stack)
            label = lambda s: stack[s] if 0 <= s < len(stack) else None  # noqa: E731
            npush = sum(1 for x in stack if x[0] is loader)
            if kind in (KIND_PLAIN, KIND_KW, KIND_EX):
                self.assertEqual(label(slot), (loader, vi), where)
            elif kind == KIND_METHOD:
                # meth|NULL, self|callable: both from LOAD_METHOD / LOAD_ATTR (method
                # form) / LOAD_GLOBAL (NULL form), or a PUSH_NULL below the callable
                self.assertEqual(label(self_slot), (loader, npush - 1), where)
                if npush == 2:
                    self.assertEqual(label(slot), (loader, 0), where)
                else:
                    self.assertEqual(label(slot)[0].opname, "PUSH_NULL", where)
            elif kind in (KIND_ENTER, KIND_AENTER):
                self.assertEqual(label(slot), (loader, 0), where)
                self.assertEqual(slot, len(stack) - 1, where)
                self.assertEqual(kind == KIND_AENTER, func is call_async_with, where)
                self.assertEqual(bool(flags & CD_EXITBOUND), V < (3, 12), where)
                continue
            else:
                self.fail("unknown kind: " + where)
            # what is above the callable
            if V == (3, 11) and ins.opname == "CALL":
                # the compiler charges PRECALL with the arguments: none left in the model
                self.assertEqual(args_slot, len(stack), where)
            elif kind == KIND_EX:
                self.assertEqual(args_slot + 1 + bool(kwargs), len(stack), where)
                self.assertEqual(kwa, len(stack) - 1 if kwargs else -1, where)
                if V >= (3, 11):
                    lab = label(null)
                    self.assertTrue(lab[0].opname == "PUSH_NULL" or
                                    (lab[0] is loader and lab[1] != vi), where)
                else:
                    self.assertEqual(null, -1, where)
            else:
                self.assertEqual(args_slot + nargs + (kwn >= 0), len(stack), where)
                self.assertEqual(nargs, ins.arg, where)
            if kwnames is not None:
                if flags & CD_KWASIDE:
                    self.assertEqual(kwn, -1, where)
                    kw = [i for i in seen if i.opname == "KW_NAMES"]
                    self.assertTrue(kw, where)
                    self.assertEqual(code.co_consts[kw[-1].arg], kwnames, where)
                else:
                    self.assertEqual(kwn, len(stack) - 1, where)
                    self.assertEqual(label(kwn)[0].opname, "LOAD_CONST", where)
                    self.assertEqual(tuple(label(kwn)[0].argval), kwnames, where)
            elif kind != KIND_EX:
                self.assertEqual(kwn, -1, where)

    def test_call_sites(self):
        for func, names, kwnames, kwargs in CALL_CASES:
            with self.subTest(func=func.__name__):
                self.check_case(func, names, kwnames, kwargs)

    def test_not_calls(self):
        for name in ("LOAD_CONST", "POP_TOP", "RETURN_VALUE", "BINARY_SUBSCR"):
            if name in opcode.opmap:
                self.assertIsNone(_strobe._opflow_callee(opcode.opmap[name], 0, 5), name)
        call = opcode.opmap.get("CALL", opcode.opmap.get("CALL_FUNCTION"))
        self.assertIsNone(_strobe._opflow_callee(call, 3, 1))   # below the stack
        self.assertIsNone(_strobe._opflow_callee(-1, 0, 2))
        self.assertIsNone(_strobe._opflow_callee(256, 0, 2))


# ---------------------------------------------------------------------------

def fin_cases(f, lock):
    try:
        f(1)
    finally:
        f(2)
        try:
            pass
        finally:
            f(3)
    with lock:
        f(4)
    try:
        f(5)
    except Exception:
        f(6)


class MiscTest(unittest.TestCase):

    def test_finally_nesting(self):
        """3.8: calls in `finally:` bodies are reached with 5 fewer values on
        the stack than the compiler counts when the body is entered normally."""
        code = fin_cases.__code__
        depths, nest = c_depths(code, mode=1)
        if V != (3, 8):
            self.assertEqual(set(nest), {0})
            return
        calls = [i for i in dis.get_instructions(code) if i.opname == "CALL_FUNCTION"]
        self.assertEqual(len(calls), 6)
        self.assertEqual([nest[i.offset // 2] for i in calls], [0, 1, 2, 0, 0, 0])
        # the with statement's cleanup is such a body too; its block is not
        cleanup = [i for i in dis.get_instructions(code) if i.opname == "WITH_CLEANUP_START"]
        self.assertEqual([nest[i.offset // 2] for i in cleanup], [1])

    def test_errors(self):
        nop = bytes([opcode.opmap["NOP"], 0])
        ret = bytes([opcode.opmap["RETURN_VALUE"], 0])
        load = bytes([opcode.opmap["LOAD_CONST"], 0])
        fwd = bytes([opcode.opmap["JUMP_FORWARD"], 200])

        def err(code, exc=b""):
            with self.assertRaises(ValueError) as cm:
                _strobe._opflow_depths(code, exc)
            return cm.exception.args[0]

        self.assertEqual(_strobe._opflow_depths(load + ret, b""), [0, 1])
        self.assertEqual(err(b""), -1)
        self.assertEqual(err(load + ret[:1]), -1)
        self.assertEqual(err(nop), -4)            # falls off the end
        self.assertEqual(err(ret), -8)            # pops from an empty stack
        self.assertEqual(err(fwd + load + ret), -5)
        self.assertEqual(err(bytes([opcode.EXTENDED_ARG, 1])), -4)
        if V >= (3, 11):
            # a handler outside the code, a truncated entry
            self.assertEqual(err(load + ret, bytes([0x80, 1, 9, 0])), -10)
            self.assertEqual(err(load + ret, bytes([0x80, 1])), -10)
            self.assertEqual(_strobe._opflow_depths(load + ret + load + ret, bytes([0x80, 2, 2, 0])),
                             [0, 1, 1, 2])
        else:
            self.assertEqual(err(load + ret, bytes([0x80, 1, 1, 0])), -10)
        if V >= (3, 12):
            self.assertEqual(err(bytes([opcode.opmap["INSTRUMENTED_LINE"], 0]) + ret), -3)

    def test_fill_time(self):
        ns = _strobe._opflow_depths(b"", b"", 2)
        sys.stderr.write("opflow: fill takes %.3f ms\n" % (ns / 1e6))
        self.assertLess(ns, 5e6)


if __name__ == "__main__":
    unittest.main()
