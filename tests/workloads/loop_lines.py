"""loop_lines.py — a known spinning loop whose samples must land on the
loop's own lines (marked LOOP) and whose caller's frame must be on the call
line (marked CALL).  Lines are found by the tests from the MARK comments, so
edit freely but keep the marks.

    loop_lines.py [SECS]
"""
import sys
import time


def spin(secs):
    x = 0
    deadline = time.perf_counter() + secs
    while time.perf_counter() < deadline:  # MARK: LOOP
        x += 1  # MARK: LOOP
    return x


def main():
    secs = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
    total = 0
    total += spin(secs)  # MARK: CALL
    return total


if __name__ == "__main__":
    main()
