"""nave's ASGI worker (prototype: HTTP only, no lifespan, no WebSockets).

nave starts it as

    python - MODULE:CALLABLE

with this source on stdin and a unix stream socket to nave on descriptor
3. It runs the app on one event loop (uvloop when the interpreter has it),
many requests in flight, each request's frames carrying its id (see
proto.go for the framing).

Switches, for the prototype's measurements (environment variables):
NAVE_ASGI_LOOP=asyncio (no uvloop), NAVE_ASGI_READ=buffered|stream (how
frames are read; default a Protocol's data_received), NAVE_ASGI_RUN=task|
eager|step (how a request's coroutine runs; see Conn.request),
NAVE_ASGI_FLUSH=each (a write per frame;
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
REQUEST_PREFIX = struct.Struct("<BIII")  # flags and the lengths of the three segments
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
SENT = None  # send()'s awaitable: a future of the loop, done (serve sets it)
chain = itertools.chain.from_iterable

# Request states.
NEW, STARTED, ENDED = 0, 1, 2


def address(field):
    """("host", port) from b"host:port" or b"[v6]:port"; None for b""."""
    if not field:
        return None
    host, _, port = field.rpartition(b":")
    return (host.strip(b"[]").decode("latin-1"), int(port))


def connection(segment, cache={}):
    """The connection's scope facts, decoded from a REQUEST's second
    segment: (scheme, http_version, root_path, client, server). Cached by
    the segment's bytes, which repeat on every request of a connection
    (the client's port tells connections apart)."""
    facts = cache.get(segment)
    if facts is None:
        scheme, version, root, client, server = segment.split(b"\0")
        facts = (SCHEMES.get(scheme) or scheme.decode("latin-1"),
                 VERSIONS.get(version) or version.decode("latin-1"),
                 root.decode("utf-8", "replace"), address(client), address(server))
        if len(cache) >= 4096:
            cache.clear()
        cache[segment] = facts
    return facts


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
            if self.disconnected or (self.state == ENDED and not self.more):
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

    def send(self, message):
        """ASGI's send, as a plain function that returns an awaitable done
        at once (SENT): cheaper than a coroutine, and the same to an app
        that awaits it."""
        kind = message["type"]
        if kind == "http.response.body":
            if self.state != STARTED:
                raise RuntimeError("http.response.body before http.response.start, or after the end")
            if self.disconnected:
                return SENT
            body = message.get("body", b"")
            more = message.get("more_body", False)
            conn = self.conn
            head = self.head
            if head is not None:
                self.head = None
                if not more and len(body) <= MAX_DATA:
                    self.state = ENDED
                    conn.emit3(RESPONSE_HDR.pack(6 + len(head) + len(body), RESPONSE, self.rid, self.status, len(head)), head, body)
                    return SENT
                conn.emit2(START_HDR.pack(2 + len(head), START, self.rid, self.status), head)
            while len(body) > MAX_DATA:
                conn.emit2(HDR.pack(MAX_DATA, DATA, self.rid), body[:MAX_DATA])
                body = body[MAX_DATA:]
            if more:
                conn.emit2(HDR.pack(len(body), DATA, self.rid), body)
            else:
                self.state = ENDED
                conn.emit2(HDR.pack(len(body), END, self.rid), body)
                self.wakeup()
            return SENT
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
            return SENT
        else:
            raise ValueError("unknown message type %r" % (kind,))

    def failed(self, exc):
        sys.stderr.write("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
        self.finished(exc)
        if not isinstance(exc, Exception):
            raise exc

    def finished(self, exc):
        """The app returned (exc None) or raised: the terminal frame."""
        conn = self.conn
        conn.running -= 1
        if conn.running == 0 and conn.idle is not None and not conn.idle.done():
            conn.idle.set_result(None)
        if conn.requests.get(self.rid) is self:
            # After END, nave may reuse the id for a new request while
            # this app runs on (background tasks): only its own entry goes.
            del conn.requests[self.rid]
        if exc is not None:
            if self.state == ENDED:
                return  # the reply went whole; the error is logged only
            self.state = ENDED
            reason = ("%s: %s" % (type(exc).__name__, exc)).encode("utf-8", "replace")[:4096]
            conn.emit2(HDR.pack(len(reason), ERROR, self.rid), reason)
            return
        if self.state != ENDED:
            reason = b"the app returned without completing the response"
            self.state = ENDED
            conn.emit2(HDR.pack(len(reason), ERROR, self.rid), reason)


class Conn:
    """The socket to nave: frames in, requests run, replies batched out."""

    def __init__(self, app, loop, run, flush_each):
        self.app = app
        self.loop = loop
        self.step = run == "step"
        if run == "eager":
            loop.set_task_factory(asyncio.eager_task_factory)
        self.flush_each = flush_each
        self.transport = None
        self.out = []  # reply pieces not yet written
        self.scheduled = False  # a flush is scheduled
        self.requests = {}  # in flight, by id
        self.pending = bytearray()  # a partial frame
        self.need = 0  # bytes pending must hold before it is parsed again
        self.closed = loop.create_future()
        self.running = 0  # apps that have not returned
        self.idle = None  # a future set when running falls to 0, once wanted

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
        flags, rlen, clen, hlen = REQUEST_PREFIX.unpack_from(data, p)
        a = p + 13
        b = a + rlen
        c = b + clen
        d = c + hlen
        method, path, raw_path, query = data[a:b].split(b"\0")
        scheme, version, root, client, server = connection(data[b:c])
        if hlen:
            it = iter(data[c:d].split(b"\0"))
            headers = list(zip(it, it))
        else:
            headers = []
        req = Request(self, rid, data[d:end], flags & FLAG_MORE_BODY == FLAG_MORE_BODY)
        self.requests[rid] = req
        self.running += 1
        scope = {
            "type": "http",
            "asgi": ASGI,
            "http_version": version,
            "server": server,
            "client": client,
            "scheme": scheme,
            "method": METHODS.get(method) or method.decode("latin-1"),
            "root_path": root,
            "path": path.decode("utf-8", "replace"),
            "raw_path": raw_path,
            "query_string": query,
            "headers": headers,
        }
        coro = self.app(scope, req.receive, req.send)
        # "task": the coroutine runs in a Task, from the loop's next turn.
        # "eager" (Python 3.12 and later): in a Task, but at once, until it
        # first suspends. "step": at once and without a Task, which goes
        # on in one if it suspends: the fastest, but wrong for apps that
        # ask for the current task in their first step, as anyio and
        # sniffio do (FastAPI's plain-def endpoints fail), so only opt-in.
        if self.step:
            try:
                yielded = coro.send(None)
            except StopIteration:
                req.finished(None)
                return
            except BaseException as exc:
                req.failed(exc)
                return
            coro = resume(coro, yielded)
        # run() reports the end itself: cheaper than done callbacks, which
        # each cost a turn of the loop. The loop holds the Task while it
        # runs (scheduled, or in the callbacks of what it awaits).
        self.loop.create_task(self.run(req, coro))

    async def run(self, req, coro):
        try:
            await coro
        except BaseException as exc:
            req.failed(exc)
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
    global SENT
    loop = asyncio.get_running_loop()
    SENT = loop.create_future()
    SENT.set_result(None)
    env = os.environ.get
    run = env("NAVE_ASGI_RUN") or ("eager" if sys.version_info >= (3, 12) else "task")
    conn = Conn(app, loop, run, env("NAVE_ASGI_FLUSH") == "each")
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
    if conn.running:
        conn.idle = loop.create_future()
        await conn.idle
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
