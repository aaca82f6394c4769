# strobe's bootstrap, loaded by `strobe record` through PYTHONPATH.  Kept to
# syntax every Python can parse, so that an unsupported one gets a clear
# message instead of a traceback.
import os
import sys


def _strobe_boot():
    env = os.environ
    if env.get("STROBE_RECORD") != "1":
        return
    if not ((3, 8) <= sys.version_info[:2] <= (3, 13)):
        sys.stderr.write("strobe: error: Python %d.%d is not supported (strobe supports 3.8 to 3.13)\n"
                         % sys.version_info[:2])
        sys.stderr.flush()
        os._exit(2)
    here = os.path.dirname(os.path.abspath(__file__))
    pkgroot = os.path.dirname(os.path.dirname(here))
    cfg = {}
    for key in ("RECORD", "OUTPUT", "FORMAT", "RATE", "DURATION", "MAX_DEPTH", "MAX_OVERHEAD", "MODE",
                "SAMPLER_CPU"):
        cfg[key] = env.pop("STROBE_" + key, None)
    # Children of the program are not profiled: give them the environment
    # the program was started with.
    orig = env.pop("STROBE_ORIG_PYTHONPATH", None)
    if orig is None:
        env.pop("PYTHONPATH", None)
    else:
        env["PYTHONPATH"] = orig
    try:
        from strobe import _session
    except ImportError as e:
        sys.stderr.write("strobe: error: cannot load strobe into Python %d.%d (%s): %s\n"
                         % (sys.version_info[0], sys.version_info[1], sys.executable, e))
        sys.stderr.flush()
        os._exit(2)
    finally:
        for d in (here, pkgroot):
            while d in sys.path:
                sys.path.remove(d)
    try:
        _session.start(rate=float(cfg["RATE"]), mode=cfg["MODE"], max_depth=int(float(cfg["MAX_DEPTH"])),
                       duration=float(cfg["DURATION"]), output=cfg["OUTPUT"], format=cfg["FORMAT"],
                       max_overhead=float(cfg["MAX_OVERHEAD"] or 1.0),
                       sampler_cpu=cfg["SAMPLER_CPU"] or "follow")
    except Exception as e:
        sys.stderr.write("strobe: error: %s\n" % (e,))
        sys.stderr.flush()
        os._exit(2)


def _chain():
    # Run the sitecustomize this one shadows, if the interpreter has one
    # (__import__, not importlib: one module less to load at every start).
    me = sys.modules.get("sitecustomize")
    del sys.modules["sitecustomize"]
    try:
        __import__("sitecustomize")
    except ImportError:
        sys.modules["sitecustomize"] = me


_strobe_boot()
_chain()
