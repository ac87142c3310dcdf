"""The adapter's per-request glue, in-process: decodes a batch of REQUEST
frames, runs the app for each and encodes the replies, with a transport
that drops what it is given. No I/O, so its figure moves with the code, not
with the machine's noise: min of repeats, microseconds per request.

Usage: python3 glue.py ADAPTER.py APPDIR MODULE:APP [BATCH]
"""

import asyncio
import importlib.util
import os
import sys
import timeit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from feed import request_frame  # noqa: E402


class NullTransport:
    def write(self, data):
        pass


def main():
    adapter_path, appdir, spec = sys.argv[1:4]
    batch = int(sys.argv[4]) if len(sys.argv) > 4 else 32
    s = importlib.util.spec_from_file_location("adapter", adapter_path)
    adapter = importlib.util.module_from_spec(s)
    s.loader.exec_module(adapter)
    sys.path.insert(0, appdir)
    module, _, name = spec.partition(":")
    app = getattr(importlib.import_module(module), name)
    try:
        import uvloop
        loop = uvloop.new_event_loop()
    except ImportError:
        loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    adapter.SENT = loop.create_future()
    adapter.SENT.set_result(None)
    frames = b"".join(request_frame(i + 1) for i in range(batch))
    modes = ["step", "task"] + (["eager"] if sys.version_info >= (3, 12) else [])
    for mode in modes:
        conn = adapter.Conn(app, loop, mode, False, {})
        conn.transport = NullTransport()

        def once():
            conn.feed(frames)
            loop.run_until_complete(asyncio.sleep(0))  # the tasks, if any, and the flush
            conn.flush()

        def idle():
            loop.run_until_complete(asyncio.sleep(0))
            conn.flush()

        n = 300
        best = min(timeit.repeat(once, number=n, repeat=7))
        base = min(timeit.repeat(idle, number=n, repeat=7))
        print("%s %s %s run=%s: %.3f us per request (%.1f us per batch for running the loop, not counted)" % (
            sys.version.split()[0], type(loop).__module__.split(".")[0], spec, mode, (best - base) / n / batch * 1e6, base / n * 1e6))


if __name__ == "__main__":
    main()
