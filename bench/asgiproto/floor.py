"""The floor of an ASGI worker: the least Python that runs an ASGI app per
request in a Task, as nave's adapter must. Frames are read for their ids
only, every request gets the same scope, send() returns a done future and
the reply is one constant RESPONSE frame (the raw hello's: it serves that
app alone); the app still runs in a Task through a wrapper coroutine, and
replies leave in one write per loop turn, as adapter.py's do.

In-process, in place of adapter.py:

    python3 bench/asgiproto/feed.py bench/asgiproto/floor.py bench/apps asgi_hello:app 32 5

End to end: a nave built with this file as internal/asgi/adapter.py (in a
scratch worktree) serves the raw hello at the floor's cost, which bounds
what any adapter can reach (docs/asgi.md, "Measured").
"""

import asyncio
import os
import socket
import struct
import sys

sys.path.insert(0, os.getcwd())
HDR = struct.Struct("<IBI")
RESPONSE_HDR = struct.Struct("<IBIHI")
module, _, name = sys.argv[1].partition(":")
app = getattr(__import__(module), name)
SCOPE = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "path": "/",
         "raw_path": b"/", "query_string": b"", "headers": [], "scheme": "http", "root_path": "",
         "server": None, "client": None, "state": {}, "extensions": {}}
HEAD = b"content-type\0text/plain\0content-length\x0013"
BODY = b"Hello, World!"


class Floor(asyncio.Protocol):
    def __init__(self, loop):
        self.loop = loop
        self.out = []
        self.scheduled = False
        self.done = loop.create_future()
        self.done.set_result(None)

    def connection_made(self, transport):
        self.transport = transport

    def send(self, message):
        return self.done

    async def receive(self):
        return {"type": "http.request", "body": b"", "more_body": False}

    async def run(self, rid, coro):
        await coro
        self.out.append(RESPONSE_HDR.pack(6 + len(HEAD) + len(BODY), 20, rid, 200, len(HEAD)) + HEAD + BODY)
        if not self.scheduled:
            self.scheduled = True
            self.loop.call_soon(self.flush)

    def flush(self):
        self.scheduled = False
        self.transport.write(b"".join(self.out))
        self.out.clear()

    def data_received(self, data):
        n, p = len(data), 0
        while p < n:
            size, kind, rid = HDR.unpack_from(data, p)
            p += 9 + size
            if kind == 1:  # REQUEST
                self.loop.create_task(self.run(rid, app(SCOPE.copy(), self.receive, self.send)))


async def main():
    loop = asyncio.get_running_loop()
    floor = Floor(loop)
    await loop.create_unix_connection(lambda: floor, sock=socket.socket(fileno=3))
    ready = ("%d\0%s\0uvloop\0off\0python" % (os.getpid(), sys.version.split()[0])).encode()
    floor.transport.write(HDR.pack(len(ready), 16, 0) + ready)
    await asyncio.Future()


if __name__ == "__main__":
    import uvloop
    uvloop.install()
    asyncio.run(main())
