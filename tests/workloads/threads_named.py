"""threads_named.py — threads whose names are set through threading.

    threads_named.py TRUTH_JSON [SECS]

  * 'worker-alpha': named by Thread(name=...), spins for SECS;
  * 'initial-gamma' -> 'renamed-gamma': spins 0.2 s under its first name,
    renames itself through threading.current_thread().name, spins SECS more;
  * 'Zürich-線程-𐌰': a non-ASCII thread name, spins SECS;
  * the main thread ('MainThread') waits for the others.
TRUTH_JSON gets {final name: {"ident": threading.get_ident(),
"native_id": threading.get_native_id()}} for all four threads.
"""
import json
import sys
import threading
import time

truth = {}
lock = threading.Lock()


def spin(secs):
    end = time.perf_counter() + secs
    n = 0
    while time.perf_counter() < end:
        n += 1
    return n


def note():
    t = threading.current_thread()
    with lock:
        truth[t.name] = {"ident": threading.get_ident(), "native_id": threading.get_native_id()}


def plain_worker(secs):
    note()
    spin(secs)


def renaming_worker(secs):
    spin(0.2)
    threading.current_thread().name = "renamed-gamma"
    note()
    spin(secs)


def main():
    path = sys.argv[1]
    secs = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0
    note()
    threads = [
        threading.Thread(target=plain_worker, args=(secs,), name="worker-alpha"),
        threading.Thread(target=renaming_worker, args=(secs,), name="initial-gamma"),
        threading.Thread(target=plain_worker, args=(secs,), name="Zürich-線程-𐌰"),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with open(path, "w", encoding="utf-8") as f:
        json.dump(truth, f, ensure_ascii=False)


if __name__ == "__main__":
    main()
