"""The in-process ceiling for an ASGI app: no server can beat it.

Awaits MODULE:APP in a loop on one event loop (uvloop when the interpreter
has it, as the servers use), each call with a fresh copy of the scope a
server would build for wrk's `GET PATH HTTP/1.1` (PATH: / unless given), a
receive() that returns the empty request body and a send() that drops what
it is given. No Task per call and no I/O: only the app's own work. Runs
WARMUP seconds, then SECONDS more, and prints one JSON line: calls,
seconds, calls_per_s, maxrss_kib (ceiling.py's, the WSGI twin).

With CONCURRENCY above 1, that many Tasks each await the app in a loop:
for apps that wait (on a timer, or on the threads Starlette's FileResponse
reads the file in), whose ceiling is how many calls can wait at once, as
a server's connections do.

Usage: python3 asgi_ceiling.py MODULE:APP SECONDS WARMUP [PATH [CONCURRENCY]]
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


async def run(app, scope, seconds, batch=200):
    """Calls app in batches until seconds have passed; returns (calls, elapsed)."""
    calls = 0
    start = time.perf_counter()
    end = start + seconds
    now = start
    while now < end:
        for _ in range(batch):
            s = scope.copy()
            s["state"] = {}
            await app(s, receive, send)
        calls += batch
        now = time.perf_counter()
    return calls, now - start


async def run_concurrently(app, scope, seconds, concurrency):
    """concurrency Tasks, each calling app until seconds have passed."""
    start = time.perf_counter()
    end = start + seconds

    async def one():
        calls = 0
        while time.perf_counter() < end:
            s = scope.copy()
            s["state"] = {}
            await app(s, receive, send)
            calls += 1
        return calls

    counts = await asyncio.gather(*(one() for _ in range(concurrency)))
    return sum(counts), time.perf_counter() - start


async def main(app, seconds, warmup, path="/", concurrency=1):
    scope = dict(SCOPE, path=path, raw_path=path.encode())
    if concurrency > 1:
        await run_concurrently(app, scope, warmup, concurrency)
        return await run_concurrently(app, scope, seconds, concurrency)
    await run(app, scope, warmup)
    return await run(app, scope, seconds)


def new_loop():
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


if __name__ == "__main__":
    if not 4 <= len(sys.argv) <= 6:
        sys.exit(__doc__)
    module, _, name = sys.argv[1].partition(":")
    app = getattr(importlib.import_module(module), name or "app")
    loop = new_loop()
    path = sys.argv[4] if len(sys.argv) > 4 else "/"
    concurrency = int(sys.argv[5]) if len(sys.argv) > 5 else 1
    calls, elapsed = loop.run_until_complete(main(app, float(sys.argv[2]), float(sys.argv[3]), path, concurrency))
    print(json.dumps({
        "calls": calls,
        "seconds": elapsed,
        "calls_per_s": calls / elapsed,
        "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }))
