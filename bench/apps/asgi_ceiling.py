"""The in-process ceiling for an ASGI app: no server can beat it.

Awaits MODULE:APP in a loop on one event loop (uvloop when the interpreter
has it, as the servers use), each call with a fresh copy of the scope a
server would build for wrk's `GET / HTTP/1.1`, a receive() that returns the
empty request body and a send() that drops what it is given. No Task per
call and no I/O: only the app's own work. Runs WARMUP seconds, then SECONDS
more, and prints one JSON line: calls, seconds, calls_per_s, maxrss_kib
(ceiling.py's, the WSGI twin).

Usage: python3 asgi_ceiling.py MODULE:APP SECONDS WARMUP
"""

import asyncio
import importlib
import json
import resource
import sys
import time

SCOPE = {
    "type": "http",
    "asgi": {"version": "3.0", "spec_version": "2.4"},
    "http_version": "1.1",
    "server": ("127.0.0.1", 8000),
    "client": ("127.0.0.1", 50000),
    "scheme": "http",
    "method": "GET",
    "root_path": "",
    "path": "/",
    "raw_path": b"/",
    "query_string": b"",
    "headers": [(b"host", b"127.0.0.1:8000")],
}

REQUEST = {"type": "http.request", "body": b"", "more_body": False}


async def receive():
    return REQUEST


async def send(message):
    return None


async def run(app, seconds, batch=200):
    """Calls app in batches until seconds have passed; returns (calls, elapsed)."""
    calls = 0
    start = time.perf_counter()
    end = start + seconds
    now = start
    while now < end:
        for _ in range(batch):
            scope = SCOPE.copy()
            scope["state"] = {}
            await app(scope, receive, send)
        calls += batch
        now = time.perf_counter()
    return calls, now - start


async def main(app, seconds, warmup):
    await run(app, warmup)
    return await run(app, seconds)


def new_loop():
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    module, _, name = sys.argv[1].partition(":")
    app = getattr(importlib.import_module(module), name or "app")
    loop = new_loop()
    calls, elapsed = loop.run_until_complete(main(app, float(sys.argv[2]), float(sys.argv[3])))
    print(json.dumps({
        "calls": calls,
        "seconds": elapsed,
        "calls_per_s": calls / elapsed,
        "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }))
