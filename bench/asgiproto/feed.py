"""The ASGI adapter alone: feeds it batches of REQUEST frames over a
socketpair as nave does, and prints its CPU per request, so that two
versions or settings of adapter.py compare without HTTP, Go or wrk in the
way (and with less noise than wrk's runs).

Usage: python3 feed.py ADAPTER.py APPDIR MODULE:APP BATCH ROUNDS VARIANT...
(see main). Run it pinned to CPU 1: the adapters pin themselves to CPU 0.
"""

import os
import socket
import struct
import subprocess
import sys
import time

HDR = struct.Struct("<IBI")


def request_frame(rid):
    req = b"\0".join([b"GET", b"/", b"/", b""])
    conn = b"\0".join([b"http", b"1.1", b"", b"127.0.0.1:%d" % (50000 + rid % 64), b"127.0.0.1:8000"])
    headers = b"\0".join([b"host", b"127.0.0.1:8000", b"user-agent", b"wrk", b"accept", b"*/*"])
    payload = struct.pack("<BIII", 0, len(req), len(conn), len(headers)) + req + conn + headers
    return HDR.pack(len(payload), 1, rid) + payload


def cpu(pid):
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


class Adapter:
    """One adapter process with its variant's environment, and its socket."""

    def __init__(self, adapter, appdir, app, variant):
        self.variant = variant or "default"
        env = dict(os.environ)
        for kv in filter(None, variant.split(",")):
            k, _, v = kv.partition("=")
            env["NAVE_ASGI_" + k] = v
        self.sock, theirs = socket.socketpair()
        self.proc = subprocess.Popen(
            [sys.executable, "-", app], stdin=subprocess.PIPE, cwd=appdir, env=env, close_fds=False,
            preexec_fn=lambda: (os.dup2(theirs.fileno(), 3), os.sched_setaffinity(0, {0})))
        self.proc.stdin.write(open(adapter, "rb").read())
        self.proc.stdin.close()
        theirs.close()
        self.buf = bytearray(1 << 20)
        self.view = memoryview(self.buf)
        self.sock.recv(4096)  # READY
        self.samples = []

    def read_frames(self, want):
        """Reads until want terminal frames came."""
        buf, view, got, have, p = self.buf, self.view, 0, 0, 0
        while got < want:
            n = self.sock.recv_into(view[have:])
            if n == 0:
                raise SystemExit("adapter closed")
            have += n
            while have - p >= 9:
                size, kind, rid = HDR.unpack_from(buf, p)
                if have - p < 9 + size:
                    break
                p += 9 + size
                if kind in (19, 20, 22):
                    got += 1
            if p == have:
                p = have = 0

    def run(self, frames, batch, seconds):
        c0, t0, n = cpu(self.proc.pid), time.monotonic(), 0
        while time.monotonic() < t0 + seconds:
            self.sock.sendall(frames)
            self.read_frames(batch)
            n += batch
        self.samples.append((cpu(self.proc.pid) - c0) / n * 1e6)


def main():
    """Usage: feed.py ADAPTER APPDIR MODULE:APP BATCH ROUNDS VARIANT...
    where a VARIANT is "" (the default) or "RUN=task,FLUSH=each". Each round
    runs every variant for one second, so that all see the same noise;
    prints each variant's median CPU per request."""
    adapter, appdir, app = sys.argv[1:4]
    batch, rounds = int(sys.argv[4]), int(sys.argv[5])
    adapters = [Adapter(adapter, appdir, app, v) for v in sys.argv[6:] or [""]]
    frames = b"".join(request_frame(i + 1) for i in range(batch))
    for a in adapters:
        a.run(frames, batch, 1)  # warm-up
        a.samples.clear()
    for _ in range(rounds):
        for a in adapters:
            a.run(frames, batch, 1)
    for a in adapters:
        s = sorted(a.samples)
        print("%-28s batch %3d: median %.2f us CPU per request (min %.2f, max %.2f)" % (
            a.variant, batch, s[len(s) // 2], s[0], s[-1]))
        a.sock.close()
        a.proc.wait()


if __name__ == "__main__":
    main()
