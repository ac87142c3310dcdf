"""The in-process ceiling for an ASGI app: no server can beat it.

Calls MODULE:APP in a loop on one uvloop event loop, each call with a fresh
scope as a server would build it for wrk's `GET / HTTP/1.1`, awaiting the
coroutine directly (no task). Prints calls per second.

Usage: python3 ceiling.py MODULE:APP [SECONDS]
"""

import asyncio
import importlib
import sys
import time

import uvloop


async def main(app, seconds):
    msg = {"type": "http.request", "body": b"", "more_body": False}

    async def receive():
        return msg

    async def send(message):
        pass

    def scope():
        return {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"},
                "http_version": "1.1", "server": ("127.0.0.1", 8000),
                "client": ("127.0.0.1", 50000), "scheme": "http", "method": "GET",
                "root_path": "", "path": "/", "raw_path": b"/", "query_string": b"",
                "headers": [(b"host", b"127.0.0.1:8000")]}

    calls = 0
    start = time.perf_counter()
    end = start + seconds
    while True:
        for _ in range(200):
            await app(scope(), receive, send)
        calls += 200
        if time.perf_counter() >= end:
            break
    el = time.perf_counter() - start
    print("%s: %.0f calls/s (%.2f us/call)" % (sys.argv[1], calls / el, el / calls * 1e6))


if __name__ == "__main__":
    mod, _, name = sys.argv[1].partition(":")
    sys.path.insert(0, ".")
    app = getattr(importlib.import_module(mod), name)
    uvloop.install()
    asyncio.run(main(app, float(sys.argv[2]) if len(sys.argv) > 2 else 5))
