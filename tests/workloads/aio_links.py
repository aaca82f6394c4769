"""asyncio scenarios for the task-stack tests, run one after the other, each
in its own event loop whose main task is renamed to the scenario's name.
Every scenario waits in functions whose names appear nowhere else, so a test
can find its stacks by name.

usage: aio_links.py SECONDS SCENARIO...   (or "all")
"""
import asyncio
import contextlib
import sys
import threading
import time

HOLD = float(sys.argv[1]) if len(sys.argv) > 1 else 0.6


def burn(n):
    x = 0
    for i in range(n):
        x += i
    return x


# -- awaiting a task -----------------------------------------------------------
async def awaited_child():
    await asyncio.sleep(HOLD)


async def scen_await():
    t = asyncio.create_task(awaited_child(), name="await-child")
    await t


# -- gather --------------------------------------------------------------------
async def gathered_a():
    await asyncio.sleep(HOLD)


async def gathered_b():
    await asyncio.sleep(HOLD)


async def scen_gather_tasks():
    await asyncio.gather(asyncio.create_task(gathered_a(), name="gather-a"),
                         asyncio.create_task(gathered_b(), name="gather-b"))


async def gathered_coro_x():
    await asyncio.sleep(HOLD)


async def gathered_coro_y():
    await asyncio.sleep(HOLD)


async def scen_gather_coros():
    await asyncio.gather(gathered_coro_x(), gathered_coro_y())


async def nested_inner():
    await asyncio.sleep(HOLD)


async def scen_gather_nested():
    await asyncio.gather(asyncio.gather(nested_inner()), asyncio.sleep(HOLD))


# -- wait, as_completed, shield -------------------------------------------------
async def waited_one():
    await asyncio.sleep(HOLD)


async def scen_wait():
    t = asyncio.create_task(waited_one(), name="wait-child")
    await asyncio.wait([t])


async def completed_one(d):
    await asyncio.sleep(d)


async def scen_as_completed():
    ts = [asyncio.ensure_future(completed_one(HOLD)), asyncio.ensure_future(completed_one(HOLD / 2))]
    for f in asyncio.as_completed(ts):
        await f


async def shielded_one():
    await asyncio.sleep(HOLD)


async def scen_shield():
    t = asyncio.create_task(shielded_one(), name="shield-child")
    await asyncio.shield(t)


# -- TaskGroup (3.11+) -----------------------------------------------------------
async def grouped_one():
    await asyncio.sleep(HOLD)


async def scen_taskgroup():
    if not hasattr(asyncio, "TaskGroup"):
        return
    async with asyncio.TaskGroup() as tg:
        tg.create_task(grouped_one(), name="tg-child")


# -- timeouts ----------------------------------------------------------------------
async def timed_inner():
    await asyncio.sleep(HOLD)


async def scen_wait_for():
    await asyncio.wait_for(timed_inner(), 30)


async def timeout_inner():
    await asyncio.sleep(HOLD)


async def scen_timeout():
    if not hasattr(asyncio, "timeout"):
        return
    async with asyncio.timeout(30):
        await timeout_inner()


# -- async generators and context managers ------------------------------------------
async def agen_source():
    await asyncio.sleep(HOLD)
    yield 1


async def scen_agen():
    async for _ in agen_source():
        pass


class SlowContext(object):
    async def __aenter__(self):
        await asyncio.sleep(HOLD)
        return self

    async def __aexit__(self, *exc):
        return False


@contextlib.asynccontextmanager
async def managed_resource():
    await asyncio.sleep(HOLD)
    yield


async def scen_acm():
    async with SlowContext():
        pass
    async with managed_resource():
        pass


# -- creation links (weak) and a stronger await link ---------------------------------
async def orphan_work():
    await asyncio.sleep(HOLD)


async def orphan_loop_work():
    await asyncio.sleep(HOLD)


async def orphan_future_work():
    await asyncio.sleep(HOLD)


async def shared_work():
    await asyncio.sleep(HOLD)


async def awaiter_of_shared(t):
    await t


async def scen_creation():
    loop = asyncio.get_running_loop()
    keep = [asyncio.create_task(orphan_work(), name="orphan-create"),
            loop.create_task(orphan_loop_work(), name="orphan-loop"),
            asyncio.ensure_future(orphan_future_work())]
    shared = asyncio.create_task(shared_work(), name="shared")
    keep.append(asyncio.create_task(awaiter_of_shared(shared), name="awaiter"))
    await asyncio.sleep(HOLD)
    await asyncio.gather(*keep)


# -- eager tasks (3.12+) ----------------------------------------------------------------
async def eager_child():
    burn(3000000)                   # runs inside create_task, before its first await
    await asyncio.sleep(HOLD)


async def scen_eager():
    if not hasattr(asyncio, "eager_task_factory"):
        return
    asyncio.get_running_loop().set_task_factory(asyncio.eager_task_factory)
    t = asyncio.create_task(eager_child(), name="eager-child")
    await asyncio.sleep(HOLD)
    await t


# -- a deadlock: two tasks awaiting each other --------------------------------------------
# cycle-a waits for cycle-b (through asyncio.wait, so that the test can end
# the deadlock by completing `breaker`); cycle-b awaits cycle-a directly.
async def cycle_a(box):
    await asyncio.sleep(0)
    await asyncio.wait([box["b"], box["breaker"]], return_when=asyncio.FIRST_COMPLETED)


async def cycle_b(box):
    await asyncio.sleep(0)
    await box["a"]


async def scen_cycle():
    box = {"breaker": asyncio.get_running_loop().create_future()}
    box["a"] = asyncio.create_task(cycle_a(box), name="cycle-a")
    box["b"] = asyncio.create_task(cycle_b(box), name="cycle-b")
    await asyncio.sleep(HOLD * 2)
    box["breaker"].set_result(None)
    await asyncio.gather(box["a"], box["b"])


SCENARIOS = [name[5:] for name in list(globals()) if name.startswith("scen_")]


def run_scenario(name):
    async def main():
        asyncio.current_task().set_name(name)
        await globals()["scen_" + name]()
    asyncio.run(main())


if __name__ == "__main__":
    wanted = sys.argv[2:] or ["all"]
    if wanted == ["all"]:
        wanted = SCENARIOS
    for name in wanted:
        run_scenario(name)
