"""demo_app.py — a small service-like program to profile with strobe.

It runs for about five seconds with a few named threads doing different
kinds of work, so a profile of it has something to show:

  * "ingest"            parses a synthetic access log (regular expressions)
                        and aggregates it, CPU-bound;
  * "report-builder"    serialises and re-parses JSON documents, CPU-bound;
  * "request-handler_N" a pool of four threads serving "requests": some
                        compute (checksums, sorting), some wait on a slow
                        "database" (sleep);
  * "heartbeat"         wakes up every 100 ms, otherwise sleeps;
  * "event-loop"        an asyncio API service: a task per request
                        (request-N), each fanning out to a cache, an
                        upstream service and a user lookup with gather,
                        rendering JSON, plus a metrics-flusher task;
  * MainThread          submits requests and waits for the workers.

    python examples/demo_app.py [SECONDS]
"""

import asyncio
import concurrent.futures
import hashlib
import json
import random
import re
import sys
import threading
import time

LOG_LINE = re.compile(
    r'^(?P<ip>\d+\.\d+\.\d+\.\d+) - - \[(?P<ts>[^\]]+)\] "(?P<method>[A-Z]+) (?P<path>\S+) '
    r'HTTP/1\.[01]" (?P<status>\d{3}) (?P<size>\d+)$')

PATHS = ["/", "/login", "/api/items", "/api/items/42", "/static/app.js", "/api/search?q=strobe"]


def make_log(rng, n):
    lines = []
    for i in range(n):
        lines.append('10.0.%d.%d - - [21/Nov/2024:20:%02d:%02d +0000] "%s %s HTTP/1.1" %d %d' % (
            rng.randrange(256), rng.randrange(256), (i // 60) % 60, i % 60,
            rng.choice(["GET", "GET", "GET", "POST"]), rng.choice(PATHS),
            rng.choice([200, 200, 200, 304, 404, 500]), rng.randrange(100, 50000)))
    return lines


def parse_line(line):
    m = LOG_LINE.match(line)
    if m is None:
        return None
    return m.group("path"), int(m.group("status")), int(m.group("size"))


def aggregate(records):
    by_path = {}
    for path, status, size in records:
        entry = by_path.setdefault(path, {"hits": 0, "bytes": 0, "errors": 0})
        entry["hits"] += 1
        entry["bytes"] += size
        if status >= 500:
            entry["errors"] += 1
    return by_path


def ingest(stop, stats):
    rng = random.Random(1)
    log = make_log(rng, 2000)
    while not stop.is_set():
        records = [r for r in (parse_line(l) for l in log) if r is not None]
        summary = aggregate(records)
        stats["ingested"] += len(records)
        stats["paths"] = len(summary)


def build_document(rng, n):
    return {"report": "daily", "items": [
        {"id": i, "name": "item-%d" % i, "price": round(rng.uniform(1, 100), 2),
         "tags": [rng.choice(["red", "green", "blue"]) for _ in range(3)]} for i in range(n)]}


def roundtrip(doc):
    text = json.dumps(doc, sort_keys=True, indent=1)
    back = json.loads(text)
    return len(text), sum(item["price"] for item in back["items"])


def report_builder(stop, stats):
    rng = random.Random(2)
    while not stop.is_set():
        doc = build_document(rng, 300)
        size, _total = roundtrip(doc)
        stats["report_bytes"] += size


def checksum(payload):
    h = hashlib.sha256()
    for _ in range(200):
        h.update(payload)
    return h.hexdigest()


def slow_database_query(key):
    time.sleep(0.02)  # the "database" is far away
    return {"key": key, "rows": key % 17}


def rank_results(rng, n):
    items = [(rng.random(), "r%d" % i) for i in range(n)]
    return sorted(items, reverse=True)[:10]


def handle_request(i):
    rng = random.Random(i)
    kind = i % 3
    if kind == 0:
        return checksum(b"x" * 4096 + str(i).encode())
    if kind == 1:
        return slow_database_query(i)
    return rank_results(rng, 5000)


# -- the asyncio service ------------------------------------------------------

async def cache_get(key):
    await asyncio.sleep(0.002)          # a round trip to the cache
    return None if key % 4 == 0 else {"key": key}


async def call_upstream(key):
    await asyncio.sleep(0.03)           # the slow upstream service
    return [{"id": key * 10 + i, "score": (key * 7 + i) % 13} for i in range(50)]


async def lookup_user(key):
    await asyncio.sleep(0.01)
    return {"user": "u%d" % (key % 100)}


def render(payload):
    text = json.dumps(payload, sort_keys=True)
    return len(json.loads(text)["items"])


async def handle_api_request(key, stats):
    cached = await cache_get(key)
    if cached is None:
        items, user = await asyncio.gather(call_upstream(key), lookup_user(key))
    else:
        items, user = [cached], {"user": "cached"}
    render({"items": items * 20, "user": user})
    stats["api_requests"] += 1


async def flush_metrics(stop, stats):
    while not stop.is_set():
        await asyncio.sleep(0.05)
        stats["flushes"] += 1


async def api_service(stop, stats):
    flusher = asyncio.create_task(flush_metrics(stop, stats), name="metrics-flusher")
    key = 0
    while not stop.is_set():
        batch = [asyncio.create_task(handle_api_request(key + k, stats), name="request-%d" % (key + k))
                 for k in range(20)]
        key += len(batch)
        await asyncio.wait(batch)
    await flusher


def event_loop(stop, stats):
    asyncio.run(api_service(stop, stats))


def heartbeat(stop, stats):
    while not stop.wait(0.1):
        stats["beats"] += 1


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 5.0
    stop = threading.Event()
    stats = {"ingested": 0, "paths": 0, "report_bytes": 0, "beats": 0, "requests": 0,
             "api_requests": 0, "flushes": 0}
    threads = [
        threading.Thread(target=ingest, args=(stop, stats), name="ingest"),
        threading.Thread(target=report_builder, args=(stop, stats), name="report-builder"),
        threading.Thread(target=heartbeat, args=(stop, stats), name="heartbeat"),
        threading.Thread(target=event_loop, args=(stop, stats), name="event-loop"),
    ]
    for t in threads:
        t.start()
    deadline = time.monotonic() + seconds
    with concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="request-handler") as pool:
        i = 0
        while time.monotonic() < deadline:
            batch = [pool.submit(handle_request, i + k) for k in range(8)]
            for f in batch:
                f.result()
            i += len(batch)
        stats["requests"] = i
    stop.set()
    for t in threads:
        t.join()
    print("demo_app: %(requests)d requests, %(api_requests)d asyncio requests, %(ingested)d log lines, "
          "%(report_bytes)d report bytes, %(beats)d heartbeats" % stats)


if __name__ == "__main__":
    main()
