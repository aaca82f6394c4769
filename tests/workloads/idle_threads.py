"""idle_threads.py — one busy thread and two idle ones, for --mode cpu.

    idle_threads.py [SECS]

  * 'sleeper' calls time.sleep for the whole run (one long sleep);
  * 'waiter' blocks on a threading.Event that is set at the end;
  * the main thread spins in busy() for SECS.
"""
import sys
import threading
import time


def busy(secs):
    end = time.perf_counter() + secs
    n = 0
    while time.perf_counter() < end:
        n += 1
    return n


def sleeper(secs):
    time.sleep(secs)


def waiter(ev):
    ev.wait()


def main():
    secs = float(sys.argv[1]) if len(sys.argv) > 1 else 1.5
    ev = threading.Event()
    ts = [threading.Thread(target=sleeper, args=(secs + 0.3,), name="sleeper"),
          threading.Thread(target=waiter, args=(ev,), name="waiter")]
    for t in ts:
        t.start()
    time.sleep(0.1)
    busy(secs)
    ev.set()
    for t in ts:
        t.join()


if __name__ == "__main__":
    main()
