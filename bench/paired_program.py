"""Run by bench/paired.py: one workload that never ends, in one process, and
a control thread that profiles it in every other phase (strobe.start /
strobe.stop), counting in each phase the work done and the CPU the whole
process used.  Prints the phases as JSON.

usage: paired_program.py cpu|asyncio RATE MAX_OVERHEAD PHASE_S NPHASES

cpu: the chain of bench/workload_cpu.py (28 calls deep), a unit of work one
call of it.  asyncio: bench/workload_asyncio.py's 2,000 clients and 16
servers, looping for ever, a unit one client step."""
import asyncio
import json
import os
import sys
import threading
import time

import strobe

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
ARGV, sys.argv = sys.argv, sys.argv[:1]   # workload_asyncio reads its own at import: its defaults
import workload_asyncio  # noqa: E402
import workload_cpu  # noqa: E402
sys.argv = ARGV

MODE, RATE, MAX_OVERHEAD = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
PHASE_S, NPHASES = float(sys.argv[4]), int(sys.argv[5])
SETTLE_S = 0.2   # after strobe.start(): its first passes fill caches and cost more

units = 0
done = threading.Event()


def cpu_work():
    global units
    while not done.is_set():
        workload_cpu.chain(28, 4000)
        units += 1


def one_more():
    """A client's next step, counted, until the control thread is done."""
    global units
    if done.is_set():
        return False
    units += 1
    return True


async def asyncio_main():
    queues = [asyncio.Queue(maxsize=64) for _ in range(workload_asyncio.SERVERS)]
    servers = [asyncio.create_task(workload_asyncio.server(q)) for q in queues]
    clients = [asyncio.create_task(workload_asyncio.client(i, queues, one_more))
               for i in range(workload_asyncio.CLIENTS)]
    await asyncio.gather(*clients)
    for q in queues:
        await q.put(None)
    await asyncio.gather(*servers)


def point():
    return {"t": time.monotonic(), "cpu": time.process_time(), "units": units}


def control(phases):
    time.sleep(0.5)   # the workload's own start
    # on/off in the order ABBA BAAB ...: a drift of the machine's speed
    # within a few phases weighs on both sides alike
    pattern = [1, 0, 0, 1, 0, 1, 1, 0]
    for k in range(NPHASES):
        on = pattern[k % len(pattern)]
        if on:
            strobe.start(rate=RATE, max_overhead=MAX_OVERHEAD)
        time.sleep(SETTLE_S)
        a = point()
        s0 = strobe.stats() if on else None
        time.sleep(PHASE_S)
        b = point()
        s1 = strobe.stats() if on else None
        if on:
            strobe.stop()
        ph = {"on": on, "seconds": b["t"] - a["t"], "cpu": b["cpu"] - a["cpu"], "units": b["units"] - a["units"]}
        if on:
            ph["sampler_cpu"] = (s1["sampler_cpu_ns"] - s0["sampler_cpu_ns"]) / 1e9
            ph["ticks"] = s1["ticks"] - s0["ticks"]
        phases.append(ph)
    done.set()


def main():
    phases = []
    ctl = threading.Thread(target=control, args=(phases,), daemon=True)
    ctl.start()
    if MODE == "cpu":
        cpu_work()
    else:
        asyncio.run(asyncio_main())
    ctl.join()
    print(json.dumps({"phases": phases}))


if __name__ == "__main__":
    main()
