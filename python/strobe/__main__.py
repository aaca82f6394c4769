"""python -m strobe record [options] SCRIPT [ARGS...]

Runs SCRIPT in this interpreter under the profiler, exactly as
`python SCRIPT ARGS...` would run it, and writes the profile when it ends.
The options are those of `strobe record` (parsed by the same C code)."""
import os
import runpy
import sys


def _usage_exit(msg=None):
    from . import _strobe
    if msg:
        sys.stderr.write("strobe: error: %s\n" % msg)
        sys.exit(2)
    sys.stdout.write(_strobe.usage)
    sys.exit(0)


def main(argv):
    from . import _strobe
    if not argv or argv[0] in ("-h", "--help", "help"):
        sys.stdout.write("usage: python -m strobe record [options] SCRIPT [ARGS...]\n"
                         "       (python -m strobe record --help for the options)\n")
        return 0 if argv else 2
    if argv[0] != "record":
        _usage_exit("unknown command '%s' (only 'record' runs through python -m strobe)" % argv[0])
    try:
        opts = _strobe.parse_record_args(list(argv[1:]), os.getpid())
    except ValueError as e:
        _usage_exit(str(e))
    if opts["help"]:
        _usage_exit()
    rest = argv[1 + opts["first_arg"]:]
    if not rest:
        _usage_exit("record needs a script: python -m strobe record [options] app.py [args]")
    script = rest[0]
    if not os.path.isfile(script):
        _usage_exit("no such script: %s" % script)
    from . import _session
    sys.argv = list(rest)
    sys.path[0] = os.path.dirname(os.path.abspath(script))
    _session.start(rate=opts["rate"], mode=opts["mode"], max_depth=opts["max_depth"],
                   duration=opts["duration"], output=opts["output"], format=opts["format"],
                   max_overhead=opts["max_overhead"], sampler_cpu=opts["sampler_cpu"])
    runpy.run_path(script, run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
