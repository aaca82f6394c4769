"""Torture case (fork, part 2): many forks while the sampler runs fast.

    python fork_storm.py N OUTDIR

Two threads keep computing while the main thread forks N children one after
another (run under `strobe record -r 2000`, so forks land at any point of a
sampling pass).  Every even child starts its own profiler with the in-process
API at 1000 Hz, computes, stops it and writes OUTDIR/cI.pprof; odd children
just compute.  Children leave through sys.exit(0) (atexit handlers run) or
os._exit(0), alternately.  Exits 0 when every child exited 0; prints one JSON
line."""
import json
import os
import sys
import threading

N = int(sys.argv[1])
OUTDIR = sys.argv[2]


def crunch(n):
    s = 0
    for k in range(n):
        s = (s * 31 + k) % 1000003
    return s


def main():
    stop = threading.Event()

    def bg():
        while not stop.is_set():
            crunch(3000)
    ts = [threading.Thread(target=bg, name="storm-bg%d" % i, daemon=True) for i in range(2)]
    for t in ts:
        t.start()
    bad = []
    for i in range(N):
        pid = os.fork()
        if pid == 0:
            try:
                if i % 2 == 0:
                    import strobe
                    strobe.start(rate=1000, max_overhead=0)
                    crunch(20000)
                    strobe.stop()
                    strobe.write(os.path.join(OUTDIR, "c%d.pprof" % i))
                else:
                    crunch(2000)
            except BaseException as e:
                try:
                    os.write(2, ("child %d failed: %r\n" % (i, e)).encode())
                finally:
                    os._exit(70)
            if i % 4 < 2:
                sys.exit(0)
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        if status != 0:
            bad.append((i, status))
    stop.set()
    for t in ts:
        t.join()
    print(json.dumps({"forks": N, "bad": bad}))
    sys.stdout.flush()
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
