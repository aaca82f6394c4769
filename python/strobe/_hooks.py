"""Python-side hooks: tell the engine what `threading` calls each thread.

Installed on start, removed on stop.  The wrapped functions return and raise
exactly as before; a failure inside a hook is swallowed, never the caller's.
A program that has not imported `threading` yet gets the hooks when it does:
strobe imports neither it nor asyncio itself (each costs the program a few
milliseconds at start, and changes nothing it does).
"""
import sys

_installed = None
_watch = None


class ImportWatch(object):
    """A meta-path finder that finds nothing itself: when module `name` is
    imported, it lets the real finder find it and runs `then` once the
    module has executed.  It puts itself first on sys.meta_path, and removes
    itself (and its wrapper) after, or on remove()."""

    def __init__(self, name, then):
        self.name = name
        self.then = then
        sys.meta_path.insert(0, self)

    def find_spec(self, name, path=None, target=None):
        if name != self.name:
            return None
        spec = None
        for finder in list(sys.meta_path):
            if finder is self:
                continue
            find = getattr(finder, "find_spec", None)
            if find is None:
                continue
            spec = find(name, path, target)
            if spec is not None:
                break
        loader = getattr(spec, "loader", None)
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        orig = loader.exec_module
        watch = self

        def exec_module(module):
            try:
                orig(module)
            finally:
                try:
                    del loader.exec_module
                except AttributeError:
                    pass
                watch.remove()
            watch.then()

        loader.exec_module = exec_module
        return spec

    def remove(self):
        try:
            sys.meta_path.remove(self)
        except ValueError:
            pass


def _notify(set_name, thread):
    try:
        nid, name = getattr(thread, "native_id", None), thread.name
    except Exception:
        return
    _notify_name(set_name, nid, name)


def _notify_name(set_name, nid, name):
    try:
        if nid and name is not None:
            set_name(nid, name)
    except Exception:
        pass


def install(set_name):
    """Report every thread's name (now and as threads start or are renamed;
    when `threading` is not imported yet, from when it is)."""
    global _watch
    if _installed is not None or _watch is not None:
        return
    if "threading" in sys.modules:
        _install(set_name)
    else:
        # threading names the thread that imports it MainThread; until the
        # program does, so does strobe (the one thread there is, nearly
        # always: the one starting the profiler)
        import _thread
        if hasattr(_thread, "get_native_id"):
            _notify_name(set_name, _thread.get_native_id(), "MainThread")
        _watch = ImportWatch("threading", lambda: _install(set_name))


def _install(set_name):
    global _installed, _watch
    _watch = None
    if _installed is not None:
        return
    import threading
    Thread = threading.Thread
    # _set_native_id runs in the new thread as it starts (and for the main
    # and dummy threads), before the target: wrapping it keeps the hook off
    # every thread's stack.
    orig_native = Thread._set_native_id
    orig_name = Thread.__dict__["name"]

    def _set_native_id(self):
        orig_native(self)
        _notify(set_name, self)

    def _set_name(self, value):
        orig_name.fset(self, value)
        _notify(set_name, self)

    Thread._set_native_id = _set_native_id
    Thread.name = property(orig_name.fget, _set_name, orig_name.fdel, orig_name.__doc__)
    _installed = (orig_native, orig_name)
    for t in threading.enumerate():
        _notify(set_name, t)


def uninstall():
    global _installed, _watch
    if _watch is not None:
        _watch.remove()
        _watch = None
    if _installed is None:
        return
    import threading
    orig_native, orig_name = _installed
    threading.Thread._set_native_id = orig_native
    threading.Thread.name = orig_name
    _installed = None


def qualify(strobe_ext):
    """3.8–3.10 code objects have no co_qualname: ask the live function
    objects of the codes the profile saw for their __qualname__ (the engine
    checks each answer against what it recorded).  Codes whose functions are
    gone keep their short name."""
    if sys.version_info >= (3, 11):
        return 0
    try:
        import gc
        import types
        wanted = set(strobe_ext.unqualified())
        if not wanted:
            return 0
        facts = []
        FunctionType = types.FunctionType
        for obj in gc.get_objects():
            if type(obj) is FunctionType:
                code = obj.__code__
                if id(code) in wanted:
                    facts.append((id(code), obj.__qualname__, code.co_name, code.co_filename,
                                  code.co_firstlineno))
        return strobe_ext.qualify(facts)
    except Exception:
        return 0
