"""codegen.py — many short-lived code objects: each is compiled, run for a
few milliseconds and freed, so the next one is likely to reuse its memory.

    codegen.py COUNT SECS_EACH TRUTH_JSON

Function i is named fn_<i>_<suffix> (suffixes cycle through ASCII, latin-1,
UCS-2 and non-BMP text), lives in the file '<gen-<i>>', and starts after a
varying number of blank lines, so each has its own line range.  TRUTH_JSON
gets {name: [file, first line, last line]} for every function.
"""
import json
import sys
import time

SUFFIXES = ["a", "é", "関", "𐌰"]

TEMPLATE = (
    "def {name}():\n"
    "    end = _pc() + {secs!r}\n"
    "    n = 0\n"
    "    while _pc() < end:\n"
    "        n += 1\n"
    "    return n\n"
)


def run_one(name, filename, pad, secs):
    src = "\n" * pad + TEMPLATE.format(name=name, secs=secs)
    code = compile(src, filename, "exec")
    ns = {"_pc": time.perf_counter}
    exec(code, ns)
    ns[name]()
    ns.clear()


def main():
    count, secs, path = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
    truth = {}
    for i in range(count):
        name = "fn_%d_%s" % (i, SUFFIXES[i % len(SUFFIXES)])
        filename = "<gen-%d>" % i
        pad = (i * 7) % 41
        run_one(name, filename, pad, secs)
        truth[name] = [filename, pad + 1, pad + 6]
    with open(path, "w", encoding="utf-8") as f:
        json.dump(truth, f, ensure_ascii=False)


if __name__ == "__main__":
    main()
