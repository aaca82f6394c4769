"""Python-side hooks: tell the engine what `threading` calls each thread.

Installed on start, removed on stop.  The wrapped functions return and raise
exactly as before; a failure inside a hook is swallowed, never the caller's.
"""
import sys
import threading
import types

_installed = None


def _notify(set_name, thread):
    try:
        nid = getattr(thread, "native_id", None)
        if nid:
            set_name(nid, thread.name)
    except Exception:
        pass


def install(set_name):
    """Report every thread's name (now and as threads start or are renamed)."""
    global _installed
    if _installed is not None:
        return
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
    global _installed
    if _installed is None:
        return
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
