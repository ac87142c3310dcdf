"""nave's ASGI worker (prototype: HTTP only, no lifespan, no WebSockets).

nave starts it as

    python - MODULE:CALLABLE

with this source on stdin and a unix stream socket to nave on descriptor
3. It runs the app on one event loop (uvloop when the interpreter has it),
many requests in flight, each request's frames carrying its id (see
proto.go for the framing).

Switches, for the prototype's measurements (environment variables):
NAVE_ASGI_LOOP=asyncio (no uvloop), NAVE_ASGI_READ=buffered|stream (how
frames are read; default a Protocol's data_received), NAVE_ASGI_RUN=task
(every request in a Task; default: step the coroutine at once and make a
Task only if it suspends), NAVE_ASGI_FLUSH=each (a write per frame;
default one write per loop iteration), NAVE_ASGI_PROFILE=FILE (cProfile
to FILE at exit).
"""

import sys

EXIT_IMPORT = 3
EXIT_USAGE = 4

if sys.version_info < (3, 8):
    sys.stderr.write("Python 3.8 or later is needed, this is %s\n" % sys.version.split()[0])
    sys.exit(EXIT_USAGE)

import asyncio
import importlib
import itertools
import os
import socket
import struct
import traceback

HDR = struct.Struct("<IBI")
FLAGS_LEN = struct.Struct("<BI")
U32 = struct.Struct("<I")
START_HDR = struct.Struct("<IBIH")  # a START frame's header and its status
RESPONSE_HDR = struct.Struct("<IBIHI")  # a RESPONSE frame's header, status, headers' length

REQUEST, BODY, BODY_END, DISCONNECT = 1, 2, 3, 4
READY, START, DATA, END, RESPONSE, ERROR = 16, 17, 18, 19, 20, 22

MAX_DATA = 1 << 20
FLAG_MORE_BODY = 1

ASGI = {"version": "3.0", "spec_version": "2.3"}
METHODS = {m.encode(): m for m in ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS")}
VERSIONS = {b"1.1": "1.1", b"1.0": "1.0", b"2": "2", b"3": "3"}
SCHEMES = {b"http": "http", b"https": "https"}
DISCONNECTED = {"type": "http.disconnect"}
chain = itertools.chain.from_iterable

# Request states.
NEW, STARTED, DONE = 0, 1, 2


def address(field, cache={}):
    """("host", port) from b"host:port" or b"[v6]:port"; None for b"".
    Cached: a client's address repeats on every request of its
    connection, the server's on every request."""
    a = cache.get(field)
    if a is None:
        if not field:
            return None
        host, _, port = field.rpartition(b":")
        a = (host.strip(b"[]").decode("latin-1"), int(port))
        if len(cache) > 4096:
            cache.clear()
        cache[field] = a
    return a


class Request:
    """One request's receive and send, and its reply's state."""

    __slots__ = ("conn", "rid", "body", "more", "chunks", "waiter", "state", "status", "head",
                 "disconnected", "__weakref__")

    def __init__(self, conn, rid, body, more):
        self.conn = conn
        self.rid = rid
        self.body = body  # the first chunk, until receive() takes it
        self.more = more  # BODY frames follow
        self.chunks = None  # further chunks receive() has not taken
        self.waiter = None  # the future receive() waits on
        self.state = NEW
        self.status = 0
        self.head = None  # START's headers, held until the first body
        self.disconnected = False

    async def receive(self):
        body = self.body
        if body is not None:
            self.body = None
            return {"type": "http.request", "body": body, "more_body": self.more}
        while True:
            if self.chunks:
                body, self.more = self.chunks.pop(0)
                return {"type": "http.request", "body": body, "more_body": self.more}
            if self.disconnected or (self.state == DONE and not self.more):
                return DISCONNECTED
            self.waiter = self.conn.loop.create_future()
            try:
                await self.waiter
            finally:
                self.waiter = None

    def wakeup(self):
        w = self.waiter
        if w is not None and not w.done():
            w.set_result(None)

    async def send(self, message):
        kind = message["type"]
        if kind == "http.response.body":
            if self.state != STARTED:
                raise RuntimeError("http.response.body before http.response.start, or after the end")
            if self.disconnected:
                return
            body = message.get("body", b"")
            more = message.get("more_body", False)
            conn = self.conn
            head = self.head
            if head is not None:
                self.head = None
                if not more and len(body) <= MAX_DATA:
                    self.state = DONE
                    conn.emit3(RESPONSE_HDR.pack(6 + len(head) + len(body), RESPONSE, self.rid, self.status, len(head)), head, body)
                    return
                conn.emit2(START_HDR.pack(2 + len(head), START, self.rid, self.status), head)
            while len(body) > MAX_DATA:
                conn.emit2(HDR.pack(MAX_DATA, DATA, self.rid), body[:MAX_DATA])
                body = body[MAX_DATA:]
            if more:
                conn.emit2(HDR.pack(len(body), DATA, self.rid), body)
            else:
                self.state = DONE
                conn.emit2(HDR.pack(len(body), END, self.rid), body)
                self.wakeup()
        elif kind == "http.response.start":
            if self.state != NEW:
                raise RuntimeError("http.response.start sent twice")
            status = message["status"]
            headers = message.get("headers", ())
            if type(headers) is not list:
                headers = list(headers)
            head = b"\0".join(chain(headers))
            if headers and head.count(b"\0") != 2 * len(headers) - 1:
                raise ValueError("a header name or value holds NUL")
            self.status = status
            self.head = head
            self.state = STARTED
        else:
            raise ValueError("unknown message type %r" % (kind,))

    def finished(self, exc):
        """The app returned (exc None) or raised: the terminal frame."""
        conn = self.conn
        if conn.requests.get(self.rid) is self:
            # After END, nave may reuse the id for a new request while
            # this app runs on (background tasks): only its own entry goes.
            del conn.requests[self.rid]
        if exc is not None:
            if self.state == DONE:
                return  # the reply went whole; the error is logged only
            self.state = DONE
            reason = ("%s: %s" % (type(exc).__name__, exc)).encode("utf-8", "replace")[:4096]
            conn.emit2(HDR.pack(len(reason), ERROR, self.rid), reason)
            return
        if self.state != DONE:
            reason = b"the app returned without completing the response"
            self.state = DONE
            conn.emit2(HDR.pack(len(reason), ERROR, self.rid), reason)


class Conn:
    """The socket to nave: frames in, requests run, replies batched out."""

    def __init__(self, app, loop, step, flush_each):
        self.app = app
        self.loop = loop
        self.step = step
        self.flush_each = flush_each
        self.transport = None
        self.out = []  # reply pieces not yet written
        self.scheduled = False  # a flush is scheduled
        self.requests = {}  # in flight, by id
        self.pending = bytearray()  # a partial frame
        self.need = 0  # bytes pending must hold before it is parsed again
        self.closed = loop.create_future()
        self.tasks = set()

    # -- output ------------------------------------------------------------

    def emit2(self, a, b):
        if self.flush_each:
            self.transport.write(a + b)
            return
        out = self.out
        if not out and not self.scheduled:
            self.scheduled = True
            self.loop.call_soon(self.flush)
        out.append(a)
        out.append(b)

    def emit3(self, a, b, c):
        if self.flush_each:
            self.transport.write(a + b + c)
            return
        out = self.out
        if not out and not self.scheduled:
            self.scheduled = True
            self.loop.call_soon(self.flush)
        out.append(a)
        out.append(b)
        out.append(c)

    def flush(self):
        self.scheduled = False
        if self.out:
            data = b"".join(self.out)
            self.out.clear()
            self.transport.write(data)

    # -- input -------------------------------------------------------------

    def feed(self, data):
        pending = self.pending
        if pending:
            pending += data
            if len(pending) < self.need:
                return
            data = bytes(pending)
            pending.clear()
        n = len(data)
        p = 0
        self.need = 9
        unpack = HDR.unpack_from
        while n - p >= 9:
            size, kind, rid = unpack(data, p)
            end = p + 9 + size
            if end > n:
                self.need = end - p
                break
            if kind == REQUEST:
                self.request(rid, data, p + 9, end)
            elif kind == BODY or kind == BODY_END:
                req = self.requests.get(rid)
                if req is not None:
                    if req.chunks is None:
                        req.chunks = []
                    req.chunks.append((data[p + 9:end], kind == BODY))
                    req.wakeup()
            elif kind == DISCONNECT:
                req = self.requests.get(rid)
                if req is not None:
                    req.disconnected = True
                    req.wakeup()
            p = end
        if p < n:
            pending += memoryview(data)[p:]

    def request(self, rid, data, p, end):
        flags, flen = FLAGS_LEN.unpack_from(data, p)
        a = p + 5
        b = a + flen
        method, scheme, version, path, raw_path, query, root, client, server = data[a:b].split(b"\0")
        (hlen,) = U32.unpack_from(data, b)
        b += 4
        c = b + hlen
        if hlen:
            it = iter(data[b:c].split(b"\0"))
            headers = list(zip(it, it))
        else:
            headers = []
        req = Request(self, rid, data[c:end], flags & FLAG_MORE_BODY == FLAG_MORE_BODY)
        self.requests[rid] = req
        scope = {
            "type": "http",
            "asgi": ASGI,
            "http_version": VERSIONS.get(version) or version.decode("latin-1"),
            "server": address(server),
            "client": address(client),
            "scheme": SCHEMES.get(scheme) or scheme.decode("latin-1"),
            "method": METHODS.get(method) or method.decode("latin-1"),
            "root_path": root.decode("utf-8", "replace") if root else "",
            "path": path.decode("utf-8", "replace"),
            "raw_path": raw_path,
            "query_string": query,
            "headers": headers,
        }
        coro = self.run(req, scope)
        if not self.step:
            task = self.loop.create_task(coro)
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
            return
        # Run the app at once, until it first suspends: most requests end
        # here, without a Task. One that suspends continues in a Task.
        try:
            yielded = coro.send(None)
        except StopIteration:
            return
        task = self.loop.create_task(resume(coro, yielded))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def run(self, req, scope):
        try:
            await self.app(scope, req.receive, req.send)
        except BaseException as exc:
            sys.stderr.write("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
            req.finished(exc)
            if not isinstance(exc, Exception):
                raise
        else:
            req.finished(None)

    def lost(self):
        for req in list(self.requests.values()):
            req.disconnected = True
            req.wakeup()


async def resume(coro, yielded):
    """Continues, inside a Task, a coroutine stepped once outside of one,
    which yielded what it waits on (an asyncio future, or None for a bare
    yield such as sleep(0)). Cancelling the Task cancels the coroutine."""
    while True:
        try:
            if yielded is not None:
                await asyncio.wait((yielded,))
            else:
                await asyncio.sleep(0)
        except asyncio.CancelledError as exc:
            try:
                yielded = coro.throw(exc)
            except StopIteration:
                return
            continue
        try:
            yielded = coro.send(None)
        except StopIteration:
            return


class StreamProto(asyncio.Protocol):
    """Frames read with data_received: the bytes arrive in a callback."""

    def __init__(self, conn):
        self.conn = conn

    def connection_made(self, transport):
        self.conn.transport = transport

    def data_received(self, data):
        self.conn.feed(data)

    def eof_received(self):
        # nave is done sending: the requests in flight finish, their
        # replies go out (the write side stays open), and serve() returns.
        if not self.conn.closed.done():
            self.conn.closed.set_result(None)
        return True

    def connection_lost(self, exc):
        self.conn.lost()  # nave is gone: receive() says http.disconnect
        if not self.conn.closed.done():
            self.conn.closed.set_result(None)


class BufferedProto(asyncio.BufferedProtocol, StreamProto):
    """Frames read into a persistent buffer (get_buffer/buffer_updated)."""

    def __init__(self, conn):
        super().__init__(conn)
        self.buf = bytearray(256 << 10)
        self.view = memoryview(self.buf)

    def get_buffer(self, sizehint):
        return self.view

    def buffer_updated(self, nbytes):
        self.conn.feed(bytes(self.view[:nbytes]))


def load(spec):
    module, _, name = spec.partition(":")
    if not module or not name:
        sys.stderr.write("usage: python - MODULE:CALLABLE\n")
        sys.exit(EXIT_USAGE)
    sys.path.insert(0, os.getcwd())
    obj = importlib.import_module(module)
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


async def serve(app, sock):
    loop = asyncio.get_running_loop()
    env = os.environ.get
    conn = Conn(app, loop, env("NAVE_ASGI_RUN") != "task", env("NAVE_ASGI_FLUSH") == "each")
    mode = env("NAVE_ASGI_READ", "")
    if mode == "stream":
        reader, writer = await asyncio.open_unix_connection(sock=sock, limit=1 << 20)
        conn.transport = writer.transport
    else:
        proto = BufferedProto(conn) if mode == "buffered" else StreamProto(conn)
        await loop.create_unix_connection(lambda: proto, sock=sock)
    ready = ("%d\0%s\0%s" % (os.getpid(), sys.version.split()[0], type(loop).__module__.split(".")[0])).encode()
    conn.transport.write(HDR.pack(len(ready), READY, 0) + ready)
    if mode == "stream":
        while True:
            data = await reader.read(256 << 10)
            if not data:
                break
            conn.feed(data)
        conn.lost()
    else:
        await conn.closed
    while conn.tasks:
        await asyncio.wait(list(conn.tasks))
    conn.flush()


def main():
    if len(sys.argv) != 2:
        sys.stderr.write("usage: python - MODULE:CALLABLE\n")
        sys.exit(EXIT_USAGE)
    sys.stdout.reconfigure(line_buffering=True)
    sys.stderr.reconfigure(line_buffering=True)
    sock = socket.socket(fileno=3)
    os.set_inheritable(3, False)
    try:
        app = load(sys.argv[1])
    except BaseException:
        traceback.print_exc()
        sys.exit(EXIT_IMPORT)
    if os.environ.get("NAVE_ASGI_LOOP") != "asyncio":
        try:
            import uvloop
            uvloop.install()
        except ImportError:
            pass
    profile = os.environ.get("NAVE_ASGI_PROFILE")
    if profile:
        import cProfile
        prof = cProfile.Profile()
        prof.enable()
    try:
        asyncio.run(serve(app, sock))
    except (BrokenPipeError, ConnectionResetError):
        pass
    finally:
        if profile:
            prof.disable()
            prof.dump_stats(profile)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
