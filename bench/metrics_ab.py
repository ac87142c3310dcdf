#!/usr/bin/env python3
"""What --metrics costs nave serve, measured on a busy machine.

Usage: bench/metrics_ab.py NAVE_BINARY [ROUNDS [SECONDS]]   (defaults 60, 3)

nave serve without and with --metrics, both pinned to CPU 0 (GOMAXPROCS=1),
each loaded by its own wrk (both on CPU 1) at the same time, so that
whatever else runs on the machine disturbs both alike; one server at a time
(make bench) cannot resolve 2% while other jobs run. Per round: the CPU
microseconds per request of each, from /proc/PID/stat, and their ratio; at
the end the median ratio with a bootstrap 95% interval. The 14 B file of
make bench's tiny workload. Linux, two CPUs, wrk and taskset.
"""
import os, re, subprocess, sys, time, statistics, socket, random, tempfile
NAVE = sys.argv[1]
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 60
DUR = (sys.argv[3] if len(sys.argv) > 3 else "3") + "s"
root = tempfile.mkdtemp(prefix="nave-metrics-ab-")
with open(os.path.join(root, "hello.txt"), "w") as f:
    f.write("hello, world!\n")
tick = os.sysconf("SC_CLK_TCK")
def start(port, extra):
    return subprocess.Popen(["taskset", "-c", "0", NAVE, "serve", "--listen", f"127.0.0.1:{port}", "--access-log", "off",
        "--file-cache-valid", "60s"] + extra + [root], env=dict(os.environ, GOMAXPROCS="1"),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
def cpu(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / tick
def wait(port):
    for _ in range(100):
        try: socket.create_connection(("127.0.0.1", port), 1).close(); return
        except OSError: time.sleep(0.1)
    raise SystemExit(f"port {port} never opened")
def wrk(port):
    return subprocess.Popen(["taskset", "-c", "1", "wrk", "-t1", "-c32", "-d" + DUR, f"http://127.0.0.1:{port}/hello.txt"],
                            stdout=subprocess.PIPE, text=True)
def count(p):
    out = p.communicate()[0]
    m = re.search(r"(\d+) requests in ([\d.]+)s", out)
    if not m or "Non-2xx" in out or "Socket errors" in out: raise SystemExit("wrk: " + out)
    return int(m.group(1)), float(m.group(2))
srv = {"off": start(18011, []), "on": start(18012, ["--metrics", "127.0.0.1:18013"])}
port = {"off": 18011, "on": 18012}
rows = []
try:
    for k in srv: wait(port[k])
    for k in srv: count(wrk(port[k]))
    for r in range(ROUNDS):
        c0 = {k: cpu(srv[k].pid) for k in srv}
        ps = {k: wrk(port[k]) for k in srv}
        n = {k: count(ps[k]) for k in srv}
        c1 = {k: cpu(srv[k].pid) for k in srv}
        us = {k: (c1[k] - c0[k]) / n[k][0] * 1e6 for k in srv}
        rows.append((us["off"], us["on"], n["off"][0] / n["off"][1], n["on"][0] / n["on"][1]))
        print(f"round {r+1:2d}  off {us['off']:6.2f} µs/req {rows[-1][2]:8.0f} req/s   on {us['on']:6.2f} µs/req {rows[-1][3]:8.0f} req/s   on/off {us['on']/us['off']:.4f}", flush=True)
finally:
    for p in srv.values(): p.kill()
    import shutil; shutil.rmtree(root, ignore_errors=True)
ratios = [b / a for a, b, _, _ in rows]
random.seed(1)
boot = sorted(statistics.median(random.choices(ratios, k=len(ratios))) for _ in range(2000))
print(f"CPU µs/req median: off {statistics.median(r[0] for r in rows):.3f}, on {statistics.median(r[1] for r in rows):.3f}")
print(f"on/off CPU per request, per round: median {statistics.median(ratios):.4f}, mean {statistics.mean(ratios):.4f}, bootstrap 95% interval of the median {boot[50]:.4f} .. {boot[1949]:.4f}")
print(f"on/off req/s (total of rounds): {sum(r[3] for r in rows) / sum(r[2] for r in rows):.4f}")
