"""unicode_names.py — functions whose names go beyond ASCII, each spinning a
while, called from the main thread:

    café (latin-1), функция (UCS-2, Cyrillic), 関数 (UCS-2, CJK),
    𐌰𐌱𐌲 (outside the BMP, Gothic), 𠮷野家 (outside the BMP and CJK mixed),
    Ünïcødé.método (a method: latin-1 class and method names).

Note: identifiers are NFKC-normalised by the parser, so names such as
𝔣𝔲𝔫𝔠 become plain 'func'; the ones above are stable under NFKC.

    unicode_names.py TRUTH_JSON [SECS_EACH]

TRUTH_JSON gets a list of {"name", "qualname", "file", "firstlineno"} (the
code objects' own values) for each of the functions.
"""
import json
import sys
import time


def café(secs):
    end = time.perf_counter() + secs
    n = 0
    while time.perf_counter() < end:
        n += 1
    return n


def функция(secs):
    end = time.perf_counter() + secs
    n = 0
    while time.perf_counter() < end:
        n += 1
    return n


def 関数(secs):
    end = time.perf_counter() + secs
    n = 0
    while time.perf_counter() < end:
        n += 1
    return n


def 𐌰𐌱𐌲(secs):
    end = time.perf_counter() + secs
    n = 0
    while time.perf_counter() < end:
        n += 1
    return n


def 𠮷野家(secs):
    end = time.perf_counter() + secs
    n = 0
    while time.perf_counter() < end:
        n += 1
    return n


class Ünïcødé(object):
    def método(self, secs):
        end = time.perf_counter() + secs
        n = 0
        while time.perf_counter() < end:
            n += 1
        return n


def main():
    path = sys.argv[1]
    secs = float(sys.argv[2]) if len(sys.argv) > 2 else 0.25
    funcs = [café, функция, 関数, 𐌰𐌱𐌲, 𠮷野家, Ünïcødé().método]
    truth = []
    for f in funcs:
        code = f.__code__
        truth.append({"name": code.co_name, "qualname": f.__qualname__,
                      "file": code.co_filename, "firstlineno": code.co_firstlineno})
    for f in funcs:
        f(secs)
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(truth, fh, ensure_ascii=False)


if __name__ == "__main__":
    main()
