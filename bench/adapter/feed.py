"""Measures nave's WSGI adapter alone: the worker's CPU per request.

Starts adapter.py (nave's, or another version of it) as nave does, on a
socketpair as descriptor 3 and a progress page as descriptor 4, pinned to
CPU 0, and feeds it batches of REQUEST frames for `GET /` as nave would
send them, reading the replies; it runs on whatever CPU it is started on
(taskset -c 1 for the other). Warms up with WARMUP requests, then measures
COUNT more and prints one line: the worker's CPU time per request (user and
system, from /proc) and requests per second of wall time.

Usage (from the repository root):

    taskset -c 1 /usr/bin/python3 bench/adapter/feed.py [--adapter PATH]
        [--batch N] [--count N] [--warmup N] MODULE:CALLABLE

Comparing two adapters: run both, alternating, a few times each.
"""

import argparse
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time

HDR = struct.Struct("<IBI")
REQUEST = 1
REPLY_END = (19, 20, 22)  # END, RESPONSE, ERROR: a request's reply is complete

ENVIRON = (
    "REQUEST_METHOD\0GET\0SCRIPT_NAME\0\0PATH_INFO\0/\0QUERY_STRING\0\0REQUEST_URI\0/\0"
    "SERVER_PROTOCOL\0HTTP/1.1\0SERVER_NAME\0127.0.0.1\0SERVER_PORT\08000\0"
    "REMOTE_ADDR\0127.0.0.1\0REMOTE_PORT\040000\0HTTP_HOST\0127.0.0.1:8000"
).encode("latin-1")

HERE = os.path.dirname(os.path.abspath(__file__))
ADAPTER = os.path.join(HERE, "..", "..", "internal", "wsgi", "adapter.py")
APPS = os.path.join(HERE, "..", "apps")


class Feeder:
    def __init__(self, adapter, app, chdir):
        self.sock, theirs = socket.socketpair()
        page = tempfile.TemporaryFile()
        page.write(b"\0" * 4096)
        page.flush()

        def descriptors():
            os.dup2(theirs.fileno(), 3)
            os.dup2(page.fileno(), 4)

        with open(adapter, "rb") as f:
            source = f.read()
        self.proc = subprocess.Popen(
            ["taskset", "-c", "0", sys.executable, "-", app, "1", "0"],
            stdin=subprocess.PIPE, cwd=chdir, preexec_fn=descriptors, pass_fds=(3, 4))
        self.proc.stdin.write(source)
        self.proc.stdin.close()
        theirs.close()
        page.close()
        self.buf = b""
        self.rid = 0
        kind = self.frame()
        if kind != 16:  # READY
            sys.exit("feed: the worker did not say READY")

    def frame(self):
        """Reads one frame and returns its type."""
        while len(self.buf) < HDR.size:
            self.recv()
        n, kind, _ = HDR.unpack_from(self.buf)
        while len(self.buf) < HDR.size + n:
            self.recv()
        self.buf = self.buf[HDR.size + n:]
        return kind

    def recv(self):
        data = self.sock.recv(1 << 20)
        if not data:
            sys.exit("feed: the worker closed its socket")
        self.buf += data

    def run(self, count, batch):
        payload = struct.pack("<I", len(ENVIRON)) + ENVIRON
        done = 0
        while done < count:
            frames = []
            for _ in range(batch):
                self.rid += 1
                frames.append(HDR.pack(len(payload), REQUEST, self.rid) + payload)
            self.sock.sendall(b"".join(frames))
            answered = 0
            while answered < batch:
                if self.frame() in REPLY_END:
                    answered += 1
            done += batch

    def cpu(self):
        """The worker's user and system time, in seconds."""
        with open("/proc/%d/stat" % self.proc.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def close(self):
        self.sock.close()
        self.proc.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("app", help="MODULE:CALLABLE, importable from --chdir")
    ap.add_argument("--adapter", default=ADAPTER, help="the adapter.py to run (default: nave's)")
    ap.add_argument("--chdir", default=APPS, help="the app's folder (default: bench/apps)")
    ap.add_argument("--batch", type=int, default=32, help="requests per write, as nave batches them (default 32)")
    ap.add_argument("--count", type=int, default=100000, help="requests measured (default 100000)")
    ap.add_argument("--warmup", type=int, default=20000, help="requests before measuring (default 20000)")
    args = ap.parse_args()
    if args.batch < 1 or args.count < args.batch or args.warmup < 0:
        ap.error("--batch must be at least 1, --count at least --batch, --warmup not negative")
    feeder = Feeder(args.adapter, args.app, args.chdir)
    try:
        feeder.run(args.warmup, args.batch)
        cpu, start = feeder.cpu(), time.perf_counter()
        feeder.run(args.count, args.batch)
        cpu, wall = feeder.cpu() - cpu, time.perf_counter() - start
    finally:
        feeder.close()
    print("%s, batches of %d: %.2f us of worker CPU a request, %.0f requests/s" % (
        args.app, args.batch, cpu / args.count * 1e6, args.count / wall))


if __name__ == "__main__":
    main()
