"""strobe: a sampling profiler for CPython.

In-process API::

    import strobe
    strobe.start(rate=100, mode="wall")
    ...
    strobe.stop()
    strobe.write("out.pprof")          # or "out.txt" for collapsed stacks

    with strobe.profile("out.pprof"):
        ...

The sampler is a native thread that never takes the GIL; start() and stop()
cost a few microseconds.  One profiler runs per process at a time.
"""
import os

from . import _aio
from . import _hooks
from . import _strobe

__all__ = ["start", "stop", "write", "profile", "stats"]
__version__ = "0.1.0"

DEFAULT_RATE = 100
DEFAULT_MAX_DEPTH = _strobe.DEFAULT_MAX_DEPTH
DEFAULT_MAX_OVERHEAD = 1.0   # percent


def start(rate=DEFAULT_RATE, mode="wall", max_depth=DEFAULT_MAX_DEPTH, max_overhead=DEFAULT_MAX_OVERHEAD,
          sampler_cpu="follow"):
    """Start sampling every thread of this interpreter `rate` times a second.

    mode "wall" samples every thread each tick; "cpu" keeps only samples of
    threads that used CPU since their previous sample.  max_overhead: keep
    the sampler's own CPU time within this percentage of the program's,
    first by sampling fewer asyncio tasks per sample (each weighted so
    totals are kept), then by sampling less often (down to once a second);
    0 turns it off.  sampler_cpu: "follow" (at 125 Hz and below the sampling
    thread runs on the CPU of the thread that keeps one busy: cheaper
    wake-ups, and that thread waits for each sample) or "any" (the scheduler
    places it).
    Raises RuntimeError when a profiler is already running and ValueError
    for a bad argument.  A profile left by an earlier stop() is replaced.
    """
    _strobe.start(rate=float(rate), mode=mode, max_depth=int(max_depth), max_overhead=float(max_overhead),
                  sampler_cpu=sampler_cpu)
    _hooks.install(_strobe.set_thread_name)
    _aio.attach(_strobe)


def stop():
    """Stop sampling; the profile stays for write().  Harmless when not started."""
    _aio.detach()
    _hooks.uninstall()
    _strobe.stop()
    _hooks.qualify(_strobe)


def write(path, format=None):
    """Write the profile (so far, or of the last run) to `path`, atomically.

    format: "pprof" or "collapsed"; by default from the extension
    (.pprof/.pb.gz -> pprof, .txt/.collapsed -> collapsed; none -> pprof).
    """
    _hooks.qualify(_strobe)
    _strobe.write(os.fspath(path), format)


def stats():
    """Counters of the current profiler (samples, ticks, rate...), or None."""
    return _strobe.stats()


class profile(object):
    """Context manager: profile the block and write `path` when it ends."""

    def __init__(self, path, rate=DEFAULT_RATE, mode="wall", max_depth=DEFAULT_MAX_DEPTH, format=None,
                 max_overhead=DEFAULT_MAX_OVERHEAD, sampler_cpu="follow"):
        self.path = path
        self.format = format
        self._args = (rate, mode, max_depth, max_overhead, sampler_cpu)

    def __enter__(self):
        start(*self._args)
        return self

    def __exit__(self, *exc):
        stop()
        write(self.path, self.format)
        return False
