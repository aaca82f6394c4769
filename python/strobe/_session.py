"""A recording session: what `strobe record` and `python -m strobe record`
set up around the program — the sampler, the hooks, and the guarantee that
the profile is written however the program ends (normal exit, sys.exit, an
uncaught exception, Ctrl-C; SIGTERM is handled in C by the engine)."""
import atexit
import os
import sys

from . import _aio
from . import _hooks
from . import _strobe

_active = False


def _finish():
    global _active
    if not _active:
        return
    _active = False
    _aio.detach()
    _hooks.uninstall()
    _hooks.qualify(_strobe)
    if _aio.reason and "asyncio" in sys.modules:
        sys.stderr.write("strobe: note: no asyncio task stacks: %s\n" % _aio.reason)
    _strobe.finish()


def _after_fork_in_child():
    # The engine already forgot the parent's profile; nothing to write here.
    global _active
    _active = False
    _aio.detach()
    _hooks.uninstall()


def start(rate, mode, max_depth, duration, output, format, max_overhead=1.0, sampler_cpu="follow"):
    global _active
    _strobe.start(rate=rate, mode=mode, max_depth=max_depth, duration=duration,
                  output=output, format=format, summary=True, handle_sigterm=True,
                  max_overhead=max_overhead, sampler_cpu=sampler_cpu)
    _hooks.install(_strobe.set_thread_name)
    _aio.attach(_strobe)
    _active = True
    atexit.register(_finish)
    if hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=_after_fork_in_child)
