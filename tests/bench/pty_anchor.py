#!/usr/bin/env python3
"""Raw PTY anchors for tests/bench/console.mjs (no zlh in the path).
  pty_anchor.py throughput 'CMD'  -> prints {"bytes", "seconds"} for reading CMD's PTY to its end
  pty_anchor.py echo N [GAP_MS] [WARMUP_S]
                                  -> prints {"p50_ms", "p99_ms"} of N one-byte round trips through
                                     `stty raw -echo; cat` on a PTY, GAP_MS apart (default 0),
                                     after WARMUP_S seconds of unmeasured ones (default 0)
"""
import json, os, pty, sys, time

def spawn(cmd):
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp("sh", ["sh", "-c", cmd])
    return pid, fd

if sys.argv[1] == "throughput":
    pid, fd = spawn(sys.argv[2])
    t0, n = time.perf_counter(), 0
    while True:
        try:
            b = os.read(fd, 65536)
        except OSError:
            break
        if not b:
            break
        n += len(b)
    print(json.dumps({"bytes": n, "seconds": time.perf_counter() - t0}))
else:
    count = int(sys.argv[2])
    gap = float(sys.argv[3]) / 1000 if len(sys.argv) > 3 else 0
    pid, fd = spawn("stty raw -echo; echo READY; exec cat")
    buf = b""
    while b"READY" not in buf:
        buf += os.read(fd, 4096)
    warmup = float(sys.argv[4]) if len(sys.argv) > 4 else 0

    def echo():
        t0 = time.perf_counter()
        os.write(fd, b"x")
        got = b""
        while b"x" not in got:
            got += os.read(fd, 4096)
        return (time.perf_counter() - t0) * 1000

    end = time.perf_counter() + warmup
    while time.perf_counter() < end:
        echo()
    samples = []
    for _ in range(count):
        samples.append(echo())
        if gap:
            time.sleep(gap)
    os.kill(pid, 9)
    samples.sort()
    print(json.dumps({"p50_ms": samples[len(samples) // 2], "p99_ms": samples[int(len(samples) * 0.99)]}))
