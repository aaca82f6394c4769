"""Event loops made and run in different ways, each waiting in a function of
its own name.

usage: aio_loops.py SECONDS CASE   (CASE: thread, two, manual, runner, running)"""
import asyncio
import os
import sys
import threading

HOLD = float(sys.argv[1]) if len(sys.argv) > 1 else 0.6
CASE = sys.argv[2] if len(sys.argv) > 2 else "thread"


async def in_thread_loop():
    await asyncio.sleep(HOLD)


async def loop_one_wait():
    await asyncio.sleep(HOLD)


async def loop_two_wait():
    await asyncio.sleep(HOLD)


async def manual_wait():
    await asyncio.sleep(HOLD)


async def runner_wait():
    await asyncio.sleep(HOLD)


async def named(name, coro):
    asyncio.current_task().set_name(name)
    await coro


def run_in_thread(name, coro):
    t = threading.Thread(target=asyncio.run, args=(named(name, coro),), name=name + "-thread")
    t.start()
    return t


if CASE == "thread":
    run_in_thread("threadloop", in_thread_loop()).join()
elif CASE == "two":
    a = run_in_thread("loop-one", loop_one_wait())
    b = run_in_thread("loop-two", loop_two_wait())
    a.join()
    b.join()
elif CASE == "manual":
    loop = asyncio.new_event_loop()          # never set as the current loop
    try:
        loop.run_until_complete(named("manual", manual_wait()))
    finally:
        loop.close()
elif CASE == "runner":
    with asyncio.Runner() as runner:
        runner.run(named("runner", runner_wait()))
elif CASE == "running":
    # strobe starts while the loop is already running
    sys.path.insert(0, os.environ["STROBE_PYTHONPATH"])
    import strobe

    async def already_running_wait():
        await asyncio.sleep(HOLD)

    async def main():
        asyncio.current_task().set_name("running")
        strobe.start(rate=200)
        await asyncio.create_task(already_running_wait(), name="started-after")
        strobe.stop()
        strobe.write(sys.argv[3])
    asyncio.run(main())
