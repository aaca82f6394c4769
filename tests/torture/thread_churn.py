"""Torture case: waves of short-lived threads started and ended while the
sampler runs.

    python thread_churn.py [WAVES] [PER_WAVE]      (default 20 waves of 100)

Each thread (named waveWW-tTTT) does a little CPU work, sleeps 50 ms, does a
little more and records its result.  All threads of a wave run at once; the
next wave starts when the last one has been joined.  Exits 0 only when every
thread ran to the end with the right result, and prints one JSON line."""
import json
import sys
import threading
import time

WAVES = int(sys.argv[1]) if len(sys.argv) > 1 else 20
PER_WAVE = int(sys.argv[2]) if len(sys.argv) > 2 else 100

results = {}
lock = threading.Lock()


def crunch(n):
    s = 0
    for k in range(n):
        s = (s * 31 + k) % 1000003
    return s


def work(wave, i):
    a = crunch(3000 + i)
    time.sleep(0.05)
    b = crunch(2000)
    with lock:
        results[(wave, i)] = (a, b)


def main():
    t0 = time.monotonic()
    for wave in range(WAVES):
        threads = [threading.Thread(target=work, args=(wave, i), name="wave%02d-t%03d" % (wave, i))
                   for i in range(PER_WAVE)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    expect_b = crunch(2000)
    bad = [k for k, (a, b) in results.items() if a != crunch(3000 + k[1]) or b != expect_b]
    ok = len(results) == WAVES * PER_WAVE and not bad
    print(json.dumps({"threads_done": len(results), "expected": WAVES * PER_WAVE, "bad": len(bad),
                      "alive_at_end": threading.active_count(), "secs": round(time.monotonic() - t0, 2)}))
    sys.stdout.flush()
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
