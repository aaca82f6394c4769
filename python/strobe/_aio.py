"""asyncio facts the engine needs and no header has.

The C Task and Future structs are private to CPython's _asynciomodule.c and
change from version to version.  Instead of hard-coding them, strobe
measures them on live objects when the profiler starts: it makes a Task on a
stand-in loop, steps it by hand until it awaits a Future, and finds where
the loop, the coroutine, the awaited future and the name sit inside the task
(each must appear at exactly one offset).  The engine then reads tasks with
those offsets.  No event loop runs and nothing is left behind: the probe
task is finished and dropped before start() returns.

probe() returns a dict for _strobe.start(aio=...), or a string saying why
task stacks are not available (then strobe profiles threads only).
"""
import sys

from ._hooks import ImportWatch

_cached = None


class _StandInLoop(object):
    """Just enough of a loop for Task() and one manual step."""

    def __init__(self):
        self.calls = []

    def get_debug(self):
        return False

    def call_soon(self, callback, *args, **kwargs):
        self.calls.append((callback, args))

    def is_running(self):
        return False


def _probe():
    import asyncio
    import weakref
    from asyncio import tasks as _tasks
    from asyncio import base_events
    from . import _strobe

    try:
        import _asyncio
    except ImportError:
        return "the C accelerator _asyncio is not available"
    if asyncio.Task is not _asyncio.Task or asyncio.Future is not _asyncio.Future:
        return "asyncio.Task is not the C task (_asyncio.Task)"

    loop = _StandInLoop()
    fut = _asyncio.Future(loop=loop)
    probe_name = "strobe-probe-%d" % id(loop)

    async def _strobe_probe():
        await fut

    coro = _strobe_probe()
    task = _asyncio.Task(coro, loop=loop, name=probe_name)
    try:
        task._log_destroy_pending = False
        if not loop.calls:
            return "could not step a probe task"
        callback, args = loop.calls.pop(0)
        callback(*args)   # one step: the coroutine now awaits fut
        if task._fut_waiter is not fut:
            return "a probe task did not wait where expected"
        size = type(task).__basicsize__
        name_obj = task.get_name()
        off = {
            "fut_loop": _strobe.find_offset(task, loop, size),
            "task_coro": _strobe.find_offset(task, coro, size),
            "task_fut_waiter": _strobe.find_offset(task, fut, size),
            "task_name": _strobe.find_offset(task, name_obj, size),
        }
        # the state: pending, finished and cancelled futures differ there
        done = _asyncio.Future(loop=loop)
        done.set_result(None)
        cancelled = _asyncio.Future(loop=loop)
        cancelled.cancel()
        pending = _asyncio.Future(loop=loop)
        off["fut_state"] = _strobe.find_int_offset(
            [pending, done, cancelled], [0, 2, 1], type(fut).__basicsize__)
        it = fut.__await__()
        off["futiter_future"] = _strobe.find_offset(it, fut, type(it).__basicsize__)
        futureiter_type = type(it)
        del it

        async def _agen():
            yield 1
        ag = _agen()
        asend = ag.asend(None)
        athrow = ag.athrow(GeneratorExit)
        off["asend_gen"] = _strobe.find_offset(asend, ag, type(asend).__basicsize__)
        off["athrow_gen"] = _strobe.find_offset(athrow, ag, type(athrow).__basicsize__)
        asend_type, athrow_type = type(asend), type(athrow)
        asend.close()
        athrow.close()
        del asend, athrow
        ag.aclose().close()

        async def _plain():
            pass
        c2 = _plain()
        w = c2.__await__()
        off["cw_coro"] = _strobe.find_offset(w, c2, type(w).__basicsize__)
        corowrapper_type = type(w)
        del w
        c2.close()
    finally:
        if not task.done():
            task.cancel()
            # deliver the cancellation so the coroutine ends normally
            while loop.calls:
                callback, args = loop.calls.pop(0)
                try:
                    callback(*args)
                except BaseException:
                    pass
        coro.close()

    bad = [k for k, v in off.items() if v < 0]
    if bad:
        return "could not locate %s in this interpreter's task objects" % ", ".join(sorted(bad))

    regs_weak, regs_strong = [], []
    if hasattr(_tasks, "_scheduled_tasks"):           # 3.12+
        regs_weak.append(_tasks._scheduled_tasks)
        regs_strong.append(_tasks._eager_tasks)
    else:
        regs_weak.append(_tasks._all_tasks)
    for ws in regs_weak:
        if not isinstance(ws, weakref.WeakSet):
            return "asyncio's task registry is not a WeakSet"
    step_codes = [base_events.BaseEventLoop._run_once.__code__]
    return dict(
        off,
        task_size=type(task).__basicsize__,
        fut_state_pending=0,
        task_types=[id(asyncio.Task)],
        futureiter_type=id(futureiter_type),
        asend_type=id(asend_type),
        athrow_type=id(athrow_type),
        corowrapper_type=id(corowrapper_type),
        weakref_type=id(weakref.ref),
        reg_weak=[id(ws.data) for ws in regs_weak],
        reg_strong=[id(s) for s in regs_strong],
        step_codes=[id(c) for c in step_codes],
        # keep what the addresses above point to alive
        _keep=(futureiter_type, asend_type, athrow_type, corowrapper_type, regs_weak,
               regs_strong, step_codes),
    )


def probe():
    """The asyncio facts for the engine (cached), or a reason string."""
    global _cached
    if _cached is None:
        try:
            _cached = _probe()
        except Exception as e:   # never let the probe break the program
            _cached = "asyncio probe failed: %s: %s" % (type(e).__name__, e)
    return _cached


_watch = None
reason = None   # why task stacks are off, when they are
_patched = []   # (owner, name, original, hook) installed by install_hooks


def _patch(ext, owner, name, kind):
    orig = owner.__dict__.get(name) if isinstance(owner, type) else getattr(owner, name, None)
    if orig is None:
        return
    hook = ext.hook(orig, kind)
    setattr(owner, name, hook)
    _patched.append((owner, name, orig, hook))


def install_hooks(ext):
    """Wrap what creates tasks and what groups them, so the engine learns
    links the interpreter's memory does not hold.  Each wrapper is a C
    callable that calls the original with the same arguments and returns or
    raises exactly what it does; uninstall_hooks() puts the originals back."""
    import asyncio
    from asyncio import base_events, tasks
    if _patched:
        return
    ext.hook_env(asyncio.Task, asyncio.Future, asyncio.current_task, base_events.BaseEventLoop)
    _patch(ext, base_events.BaseEventLoop, "create_task", "create_task")
    for name in ("gather", "shield", "wait", "as_completed"):
        orig = getattr(tasks, name, None)
        _patch(ext, tasks, name, name)
        if orig is not None and getattr(asyncio, name, None) is orig:
            setattr(asyncio, name, getattr(tasks, name))
            _patched.append((asyncio, name, orig, getattr(tasks, name)))
    # which thread runs which loop (uvloop's step has no Python frame)
    from asyncio import events
    orig = events._set_running_loop
    _patch(ext, events, "_set_running_loop", "set_running_loop")
    if getattr(asyncio, "_set_running_loop", None) is orig:
        asyncio._set_running_loop = events._set_running_loop
        _patched.append((asyncio, "_set_running_loop", orig, events._set_running_loop))
    tg = sys.modules.get("asyncio.taskgroups")
    if tg is not None and hasattr(tg, "TaskGroup"):
        _patch(ext, tg.TaskGroup, "create_task", "taskgroup_create_task")


def uninstall_hooks():
    while _patched:
        owner, name, orig, hook = _patched.pop()
        cur = owner.__dict__.get(name) if isinstance(owner, type) else getattr(owner, name, None)
        if cur is hook:   # only undo what is still ours
            setattr(owner, name, orig)


def attach(ext):
    """Give the running profiler the asyncio facts now if asyncio is loaded,
    else as soon as the program imports it."""
    global _watch

    def enable():
        global reason
        facts = probe()
        if isinstance(facts, dict):
            ext.set_aio(facts)
            reason = None
            try:
                install_hooks(ext)
            except Exception as e:
                uninstall_hooks()
                reason = "asyncio hooks not installed: %s" % e
        else:
            reason = facts

    detach()
    if "asyncio.base_events" in sys.modules and "asyncio.tasks" in sys.modules:
        enable()
    else:
        _watch = ImportWatch("asyncio", enable)


def detach():
    global _watch
    uninstall_hooks()
    if _watch is not None:
        _watch.remove()
        _watch = None
