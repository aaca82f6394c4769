"""Tasks created per second: batches of BATCH tasks of a trivial coroutine
made with asyncio.create_task and then awaited one by one ("await") or
through one asyncio.gather ("gather"), for SECONDS after a short warm-up,
in 0.1 s chunks alternating the two; the median chunk's rate is kept.
MODE "off": without strobe; "strobe": under strobe.start() with its
defaults (100 Hz; it installs the asyncio hooks on create_task and gather);
"hooks": under strobe.start(rate=1), the hooks with next to no sampling.
Prints the rates as JSON.  Run by bench/run.py (hooks section).

usage: hooks_program.py MODE SECONDS [BATCH]"""
import asyncio
import json
import sys
import time

MODE, SECONDS = sys.argv[1], float(sys.argv[2])
BATCH = int(sys.argv[3]) if len(sys.argv) > 3 else 1000


async def trivial(i):
    return i


async def batch_await():
    tasks = [asyncio.create_task(trivial(i)) for i in range(BATCH)]
    for t in tasks:
        await t


async def batch_gather():
    await asyncio.gather(*[asyncio.create_task(trivial(i)) for i in range(BATCH)])


async def rate(fn, seconds):
    """Tasks per second of FN over one chunk of about SECONDS."""
    n = 0
    t0 = time.perf_counter()
    end = t0 + seconds
    while True:
        await fn()
        n += BATCH
        t = time.perf_counter()
        if t >= end:
            return n / (t - t0)


async def main():
    await rate(batch_await, 0.2)                   # warm-up
    await rate(batch_gather, 0.2)
    got = {"await": [], "gather": []}
    chunks = max(1, int(SECONDS / 0.2))            # 0.1 s chunks, kinds alternating
    for _ in range(chunks):
        got["await"].append(await rate(batch_await, 0.1))
        got["gather"].append(await rate(batch_gather, 0.1))
    # the median chunk: a burst of load from elsewhere on the machine moves it little
    out = {"mode": MODE}
    for kind, rates in got.items():
        out[kind] = sorted(rates)[len(rates) // 2]
    return out


if MODE in ("strobe", "hooks"):
    import strobe
    if MODE == "strobe":
        strobe.start()
    else:
        strobe.start(rate=1)
elif MODE != "off":
    sys.exit("MODE is off, strobe or hooks")
result = asyncio.run(main())
if MODE != "off":
    strobe.stop()
    result["stats"] = strobe.stats()
print(json.dumps(result))
