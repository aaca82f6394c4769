"""bench/workload_asyncio.py (or another workload) under strobe.start() with
strobe's defaults but the rate, and strobe.stats() taken at two instants of
the run: prints, as JSON, both and the program's own CPU time between them.
Run by bench/steady.py.

usage: steady_program.py RATE MAX_OVERHEAD T1 T2 WORKLOAD [ARGS...]"""
import json
import runpy
import sys
import threading
import time

import strobe

RATE, MAX_OVERHEAD, T1, T2 = float(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
WORKLOAD = sys.argv[5]

snaps = []


def snap(t0):
    for t in (T1, T2):
        left = t - (time.monotonic() - t0)
        if left > 0:
            time.sleep(left)
        snaps.append({"t": time.monotonic(), "cpu": time.process_time(), "stats": strobe.stats()})


strobe.start(rate=RATE, max_overhead=MAX_OVERHEAD)
t0 = time.monotonic()
threading.Thread(target=snap, args=(t0,), daemon=True).start()
sys.argv = [WORKLOAD] + sys.argv[6:]
runpy.run_path(WORKLOAD, run_name="__main__")
strobe.stop()
print(json.dumps({"seconds": time.monotonic() - t0, "snaps": snaps}))
