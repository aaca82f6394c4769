"""thread_waves.py — WAVES waves of N threads started together, each doing a
little work, a short sleep and a little more; a wave is joined before the
next starts.  Prints the number of threads started on stdout.

    thread_waves.py [WAVES [N]]
"""
import sys
import threading
import time

WAVES = int(sys.argv[1]) if len(sys.argv) > 1 else 10
N = int(sys.argv[2]) if len(sys.argv) > 2 else 100


def body():
    x = 0
    for k in range(3000):
        x += k * k
    time.sleep(0.02)
    for k in range(3000):
        x += k
    return x


def main():
    started = 0
    for w in range(WAVES):
        ts = [threading.Thread(target=body, name="wave%d-%d" % (w, i)) for i in range(N)]
        for t in ts:
            t.start()
        started += len(ts)
        for t in ts:
            t.join()
    print(started)


main()
