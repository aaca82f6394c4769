"""Torture case: os.fork() and multiprocessing's 'fork' start method in a
profiled program.

    python fork_children.py OUTDIR [ITEMS]

The parent computes a little itself, then:
  1. plain os.fork(): a child computes a known value, sends it back through a
     pipe and leaves with os._exit(7);
  2. plain os.fork(): the same, but the child leaves through sys.exit(9), so
     atexit handlers inherited from the parent (strobe's among them) run in it;
  3. plain os.fork(): a child that starts its own profile with the in-process
     API (strobe.start / stop / write OUTDIR/child-own.pprof) around its work,
     then sys.exit(0);
  4. multiprocessing, 'fork' context: a Pool(2) maps the work over ITEMS
     inputs (default 40) and a Process leaves with exitcode 5.
The parent checks every status and value and prints one JSON line with the
children's pids; it exits 0 only when all of it was right.  The runner then
looks at OUTDIR: only the parent's profile (and child-own.pprof) may be
there, and no strobe-PID.pprof may appear in the working directory."""
import json
import multiprocessing
import os
import sys
import threading

OUTDIR = sys.argv[1]
ITEMS = int(sys.argv[2]) if len(sys.argv) > 2 else 40


def crunch(n):
    s = 0
    for k in range(n):
        s = (s * 31 + k) % 1000003
    return s


def pool_work(i):
    return (i, crunch(20000 + i), os.getpid())


def leave_with(code):
    crunch(50000)
    sys.exit(code)


def read_all(fd):
    chunks = []
    while True:
        b = os.read(fd, 65536)
        if not b:
            break
        chunks.append(b)
    os.close(fd)
    return b"".join(chunks).decode()


def fork_child(how, n):
    """Fork; the child computes crunch(n), writes it to a pipe and leaves
    `how`.  Returns (child pid, exit status or -signal, value read)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            if how == "own-profile":
                import strobe
                strobe.start(rate=200, max_overhead=0)
                value = crunch(n)
                strobe.stop()
                strobe.write(os.path.join(OUTDIR, "child-own.pprof"))
            else:
                value = crunch(n)
            os.write(w, str(value).encode())
            os.close(w)
        except BaseException as e:  # never let the child run the parent's code
            try:
                os.write(2, ("child (%s) failed: %r\n" % (how, e)).encode())
            finally:
                os._exit(70)
        if how == "os._exit":
            os._exit(7)
        elif how == "sys.exit":
            sys.exit(9)
        else:
            sys.exit(0)
    os.close(w)
    value = read_all(r)
    _, status = os.waitpid(pid, 0)
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else -os.WTERMSIG(status)
    return pid, code, int(value) if value else None


def main():
    # A background thread keeps running across the forks (a realistic
    # program; the sampler must cope with a forked child that has only the
    # forking thread).
    stop = threading.Event()
    bg = threading.Thread(target=lambda: [crunch(2000) for _ in iter(stop.is_set, True)], name="bg-spinner",
                          daemon=True)
    bg.start()
    parent_value = crunch(200000)
    problems = []
    report = {"parent_pid": os.getpid(), "children": {}}
    n = 300000
    want = crunch(n)
    for how, status in (("os._exit", 7), ("sys.exit", 9), ("own-profile", 0)):
        pid, code, value = fork_child(how, n)
        report["children"][how] = {"pid": pid, "status": code}
        if code != status:
            problems.append("fork child (%s) exited %s, expected %s" % (how, code, status))
        if value != want:
            problems.append("fork child (%s) computed %r, expected %r" % (how, value, want))

    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(2) as pool:
        got = pool.map(pool_work, range(ITEMS))
    worker_pids = sorted(set(p for _, _, p in got))
    report["children"]["pool"] = {"pids": worker_pids, "items": len(got)}
    for i, value, _ in got:
        if value != crunch(20000 + i):
            problems.append("pool item %d: %r" % (i, value))
    if len(got) != ITEMS:
        problems.append("pool returned %d items of %d" % (len(got), ITEMS))
    proc = ctx.Process(target=leave_with, args=(5,), name="leaver")
    proc.start()
    proc.join(120)
    report["children"]["process"] = {"pid": proc.pid, "status": proc.exitcode}
    if proc.exitcode != 5:
        problems.append("multiprocessing.Process exitcode %r, expected 5" % (proc.exitcode,))

    stop.set()
    bg.join()
    report["parent_value_ok"] = parent_value == crunch(200000)
    report["problems"] = problems
    print(json.dumps(report))
    sys.stdout.flush()
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
