"""_runner.py — runs the tests in tests/py under the interpreter executing it
and reports one machine-readable line per event on its stdout.

    PYTHON tests/py/_runner.py [--list] [-k PATTERN]... [--ids-file FILE]

Protocol (one line each, JSON after the prefix):
    @@strobe {"event": "plan", "ids": [...]}
    @@strobe {"event": "start", "id": ID}
    @@strobe {"event": "result", "id": ID, "status": "pass|fail|skip", "detail": TEXT, "secs": F}
    @@strobe {"event": "done"}
Everything the tests themselves print goes to stderr, so stdout carries only
the protocol.  --list prints the plan and exits.  -k works like unittest's:
a pattern with * is a glob on the test id, otherwise a substring.
Used by tests/run.py; also handy by hand:
    STROBE_BIN=build/bin/strobe python3.12 tests/py/_runner.py -k test_cli
"""

import fnmatch
import json
import os
import sys
import time
import traceback
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
PREFIX = "@@strobe "

# The protocol channel is a private copy of the original stdout; fd 1 then
# points at stderr so stray prints cannot corrupt the protocol.
_chan = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
os.dup2(2, 1)
sys.stdout = sys.stderr


def emit(**event):
    _chan.write(PREFIX + json.dumps(event) + "\n")
    _chan.flush()


def iter_tests(suite):
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            for x in iter_tests(t):
                yield x
        else:
            yield t


def matches(test_id, patterns):
    if not patterns:
        return True
    for p in patterns:
        if "*" in p or "?" in p or "[" in p:
            if fnmatch.fnmatchcase(test_id, p if p.startswith("*") else "*" + p + "*"):
                return True
        elif p in test_id:
            return True
    return False


class Result(unittest.TestResult):
    """Emits start/result events; subtest failures fail their test."""

    def __init__(self):
        super(Result, self).__init__()
        self._t0 = {}
        self._problems = {}
        self._skips = {}
        self._reported = set()

    def _key(self, test):
        return test.id()

    def startTest(self, test):
        super(Result, self).startTest(test)
        self._t0[self._key(test)] = time.monotonic()
        self._problems[self._key(test)] = []
        emit(event="start", id=self._key(test))

    def _fmt(self, test, err):
        return self._exc_info_to_string(err, test)

    def addError(self, test, err):
        super(Result, self).addError(test, err)
        self._note(test, "ERROR", err)

    def addFailure(self, test, err):
        super(Result, self).addFailure(test, err)
        self._note(test, "FAIL", err)

    def _note(self, test, kind, err):
        key = self._key(test)
        text = "%s: %s" % (kind, self._fmt(test, err))
        if key not in self._problems:
            # setUpClass/module errors arrive without startTest: report directly.
            emit(event="result", id=key, status="fail", detail=text, secs=0.0)
            return
        self._problems[key].append(text)

    def addSubTest(self, test, subtest, err):
        super(Result, self).addSubTest(test, subtest, err)
        if err is not None:
            key = self._key(test)
            kind = "FAIL" if issubclass(err[0], test.failureException) else "ERROR"
            self._problems.setdefault(key, []).append(
                "%s in %s: %s" % (kind, subtest.id(), self._exc_info_to_string(err, test)))

    def addSkip(self, test, reason):
        super(Result, self).addSkip(test, reason)
        key = self._key(test)
        if key not in self._problems:
            # Skipped without startTest (3.12+ for skip decorators, or a
            # skipped class fixture): report now, and only once.
            emit(event="result", id=key, status="skip", detail=reason, secs=0.0)
            self._reported.add(key)
            return
        self._skips[key] = reason

    def addUnexpectedSuccess(self, test):
        super(Result, self).addUnexpectedSuccess(test)
        self._problems.setdefault(self._key(test), []).append("unexpected success")

    def stopTest(self, test):
        super(Result, self).stopTest(test)
        key = self._key(test)
        secs = time.monotonic() - self._t0.pop(key, time.monotonic())
        problems = self._problems.pop(key, [])
        if key in self._reported and not problems:
            self._reported.discard(key)
            return
        if problems:
            emit(event="result", id=key, status="fail", detail="\n".join(problems), secs=secs)
        elif key in self._skips:
            emit(event="result", id=key, status="skip", detail=self._skips.pop(key), secs=secs)
        else:
            emit(event="result", id=key, status="pass", detail="", secs=secs)


def main(argv):
    patterns, ids_file, list_only = [], None, False
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "-k":
            patterns.append(argv[i + 1])
            i += 2
        elif a == "--ids-file":
            ids_file = argv[i + 1]
            i += 2
        elif a == "--list":
            list_only = True
            i += 1
        else:
            sys.stderr.write("_runner.py: unknown argument %r\n" % a)
            return 2

    sys.path.insert(0, HERE)
    import support  # noqa: E402  (after sys.path)
    support.install_sigterm_cleanup()

    loader = unittest.TestLoader()
    suite = loader.discover(start_dir=HERE, pattern="test_*.py", top_level_dir=HERE)
    tests = [t for t in iter_tests(suite) if matches(t.id(), patterns)]
    if ids_file is not None:
        with open(ids_file, encoding="utf-8") as f:
            wanted = set(l.strip() for l in f if l.strip())
        tests = [t for t in tests if t.id() in wanted]
    emit(event="plan", ids=[t.id() for t in tests])
    if list_only:
        emit(event="done")
        return 0
    result = Result()
    try:
        unittest.TestSuite(tests).run(result)
    except BaseException:
        sys.stderr.write(traceback.format_exc())
        return 1
    emit(event="done")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
