"""cli_program.py — a small program whose behaviour the tests choose on the
command line; actions run in the order given.

    --marker PATH      create PATH at once (proves the program started)
    --pid-file PATH    write os.getpid() to PATH
    --argv-json        print json.dumps(sys.argv[1:]) on stdout
    --echo-stdin       read all of stdin, print 'got:' + its upper-case form
    --stderr TEXT      write TEXT and a newline to stderr
    --env NAME         print 'env:NAME=' + the variable's value (or <unset>)
    --import MODULE    import MODULE and print 'imported:' + MODULE.VALUE
    --burn SECS        spin in burn() for SECS seconds of wall time
    --spin-forever PATH  spin in spin_forever() for up to 120 s; after its
                       first 0.3 s, create PATH (the program is ready for a signal)
    --exit N           sys.exit(N)
    --os-exit N        os._exit(N) (no cleanup at all)
    --raise            raise RuntimeError('boom from cli_program')
"""
import json
import os
import sys
import time


def burn(secs):
    end = time.perf_counter() + secs
    n = 0
    while time.perf_counter() < end:
        n += 1
    return n


def spin_forever(ready):
    start = time.perf_counter()
    end = start + 120
    n = 0
    while time.perf_counter() < start + 0.3:
        n += 1
    with open(ready + ".tmp", "w") as f:
        f.write("ready\n")
    os.rename(ready + ".tmp", ready)
    while time.perf_counter() < end:
        n += 1
    return n


def main(argv):
    i = 0
    while i < len(argv):
        a = argv[i]
        arg = argv[i + 1] if i + 1 < len(argv) else None
        i += 1
        if a == "--marker":
            with open(arg, "w") as f:
                f.write("started\n")
            i += 1
        elif a == "--pid-file":
            with open(arg + ".tmp", "w") as f:
                f.write(str(os.getpid()))
            os.rename(arg + ".tmp", arg)
            i += 1
        elif a == "--argv-json":
            print(json.dumps(argv))
            sys.stdout.flush()
        elif a == "--echo-stdin":
            data = sys.stdin.read()
            print("got:" + data.upper())
            sys.stdout.flush()
        elif a == "--stderr":
            sys.stderr.write(arg + "\n")
            sys.stderr.flush()
            i += 1
        elif a == "--env":
            print("env:%s=%s" % (arg, os.environ.get(arg, "<unset>")))
            sys.stdout.flush()
            i += 1
        elif a == "--import":
            mod = __import__(arg)
            print("imported:%s" % mod.VALUE)
            sys.stdout.flush()
            i += 1
        elif a == "--burn":
            burn(float(arg))
            i += 1
        elif a == "--spin-forever":
            spin_forever(arg)
            i += 1
        elif a == "--exit":
            sys.exit(int(arg))
        elif a == "--os-exit":
            sys.stdout.flush()
            os._exit(int(arg))
        elif a == "--raise":
            raise RuntimeError("boom from cli_program")
        else:
            sys.stderr.write("cli_program: unknown action %r\n" % a)
            sys.exit(99)


if __name__ == "__main__":
    main(sys.argv[1:])
