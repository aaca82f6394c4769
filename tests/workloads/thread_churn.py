"""thread_churn.py — threads starting and ending as fast as possible while
the main thread and a steady thread keep running.

    thread_churn.py [SECS]

Churning threads are named 'churn-N' and each does a tiny bit of work in
churn_body(); a steady thread 'steady' spins the whole time.  Prints the
number of threads started on stdout.
"""
import sys
import threading
import time


def spin(secs):
    end = time.perf_counter() + secs
    n = 0
    while time.perf_counter() < end:
        n += 1
    return n


def churn_body(i):
    x = 0
    for k in range(200 + (i % 7) * 50):
        x += k * k
    return x


def main():
    secs = float(sys.argv[1]) if len(sys.argv) > 1 else 1.5
    steady = threading.Thread(target=spin, args=(secs + 0.2,), name="steady")
    steady.start()
    end = time.perf_counter() + secs
    started = 0
    while time.perf_counter() < end:
        batch = []
        for _ in range(8):
            t = threading.Thread(target=churn_body, args=(started,), name="churn-%d" % started)
            t.start()
            batch.append(t)
            started += 1
        for t in batch:
            t.join()
    steady.join()
    print(started)


if __name__ == "__main__":
    main()
