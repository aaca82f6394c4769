"""api_program.py — exercises the in-process API (import strobe).

    api_program.py MODE OUTDIR

Prints one JSON object on the last line of stdout describing what happened.
Modes:
  basic   start(rate=200); api_burn 0.6 s; stop(); write OUTDIR/basic.pprof,
          OUTDIR/basic.txt (format from the name), OUTDIR/basic.data
          (format="collapsed") and OUTDIR/basic2.data (format="pprof").
  cm      with strobe.profile(OUTDIR/cm.pprof, rate=200): cm_burn 0.6 s.
  cm_txt  with strobe.profile(OUTDIR/cm.txt, rate=200, mode="cpu"): cm_burn 0.6 s.
  errors  stop() before any start, start() twice, stop() twice, start again.
  bad     start() with bad arguments, write() with an unknown format.
  cpu     start(rate=200, mode="cpu", max_overhead=0) with a sleeping thread;
          write OUTDIR/cpu.txt.
  wall    the same in mode="wall"; write OUTDIR/wall.txt.
  depth   start(rate=200, max_depth=20); 100-deep recursion; write OUTDIR/depth.txt.
"""
import json
import os
import sys
import threading
import time

import strobe


def spin(secs):
    end = time.perf_counter() + secs
    n = 0
    while time.perf_counter() < end:
        n += 1
    return n


def api_burn(secs):
    return spin(secs)


def cm_burn(secs):
    return spin(secs)


def busy(secs):
    return spin(secs)


def sleeper(secs):
    time.sleep(secs)


def down(n, secs):
    if n == 0:
        return spin(secs)
    return down(n - 1, secs)


def exc_name(fn):
    try:
        fn()
    except Exception as e:  # report which exception and its message
        return [type(e).__name__, str(e)]
    return None


def main():
    mode, out = sys.argv[1], sys.argv[2]
    report = {"mode": mode}
    if mode == "basic":
        strobe.start(rate=200)
        api_burn(0.6)
        strobe.stop()
        strobe.write(os.path.join(out, "basic.pprof"))
        strobe.write(os.path.join(out, "basic.txt"))
        strobe.write(os.path.join(out, "basic.data"), format="collapsed")
        strobe.write(os.path.join(out, "basic2.data"), format="pprof")
    elif mode in ("cm", "cm_txt"):
        if mode == "cm":
            path = os.path.join(out, "cm.pprof")
            with strobe.profile(path, rate=200):
                cm_burn(0.6)
        else:
            path = os.path.join(out, "cm.txt")
            with strobe.profile(path, rate=200, mode="cpu"):
                cm_burn(0.6)
        report["exists_after_with"] = os.path.exists(path)
    elif mode == "errors":
        report["stop_before_start"] = exc_name(strobe.stop)
        strobe.start(rate=100)
        report["second_start"] = exc_name(lambda: strobe.start(rate=100))
        spin(0.1)
        report["first_stop"] = exc_name(strobe.stop)
        report["second_stop"] = exc_name(strobe.stop)
        report["restart"] = exc_name(lambda: strobe.start(rate=100))
        api_burn(0.3)
        report["restop"] = exc_name(strobe.stop)
        report["write_after_restart"] = exc_name(
            lambda: strobe.write(os.path.join(out, "restart.txt")))
    elif mode == "bad":
        report["rate_zero"] = exc_name(lambda: strobe.start(rate=0))
        strobe.stop()
        report["rate_negative"] = exc_name(lambda: strobe.start(rate=-5))
        strobe.stop()
        report["rate_huge"] = exc_name(lambda: strobe.start(rate=1000000))
        strobe.stop()
        report["mode_bogus"] = exc_name(lambda: strobe.start(mode="bogus"))
        strobe.stop()
        strobe.start(rate=100)
        spin(0.05)
        strobe.stop()
        report["format_bogus"] = exc_name(
            lambda: strobe.write(os.path.join(out, "x.pprof"), format="svgz"))
        report["bogus_written"] = os.path.exists(os.path.join(out, "x.pprof"))
        report["unwritable"] = exc_name(
            lambda: strobe.write(os.path.join(out, "no", "such", "dir", "x.pprof")))
    elif mode in ("cpu", "wall"):
        t = threading.Thread(target=sleeper, args=(1.5,), name="sleeper")
        t.start()
        time.sleep(0.1)
        strobe.start(rate=200, mode=mode, max_overhead=0)   # counted: the rate asked
        busy(1.0)
        strobe.stop()
        t.join()
        strobe.write(os.path.join(out, mode + ".txt"))
    elif mode == "depth":
        strobe.start(rate=200, max_depth=20)
        down(100, 0.6)
        strobe.stop()
        strobe.write(os.path.join(out, "depth.txt"))
    else:
        raise SystemExit("api_program: unknown mode %r" % mode)
    print(json.dumps(report, ensure_ascii=False))


if __name__ == "__main__":
    main()
