"""nave's ASGI worker: ASGI 3.0, HTTP spec 2.4, lifespan, and the
http.response.pathsend, early_hint and trailers extensions.

nave starts it as

    python - MODULE:CALLABLE [lifespan=auto|on|off] [loop=auto|asyncio|uvloop]

with this source on stdin and a unix stream socket to nave on descriptor
3. MODULE:FACTORY() calls FACTORY for the app. It runs the app on one
event loop, many requests in flight, each frame naming its request (see
proto.go for the framing and doc.go for the protocol).

NAVE_ASGI_NATIVE=FOLDER names where nave built native.c for this
interpreter: its _naveasgi module then builds the scopes and takes send()'s
common cases, this file the rest (and all of it when the variable is unset
or the module does not load).

Switches, for measurements (environment variables): NAVE_ASGI_RUN=task|
eager|step (how a request's coroutine runs; see Conn.request),
NAVE_ASGI_FLUSH=each (a write per frame; default one write per loop
iteration), NAVE_ASGI_PROFILE=FILE (cProfile to FILE at exit).
"""

import sys

EXIT_IMPORT = 3
EXIT_USAGE = 4
EXIT_LIFESPAN = 5

if sys.version_info < (3, 8):
    sys.stderr.write("Python 3.8 or later is needed, this is %s\n" % sys.version.split()[0])
    sys.exit(EXIT_USAGE)

import asyncio
import collections
import faulthandler
import importlib
import itertools
import os
import signal
import socket
import struct
import traceback


def load_native():
    """native.c's module, as nave built it for this interpreter, or None."""
    folder = os.environ.get("NAVE_ASGI_NATIVE")
    if not folder:
        return None
    sys.path.insert(0, folder)
    try:
        import _naveasgi
        return _naveasgi
    except ImportError as exc:
        sys.stderr.write("the native adapter did not load, running without it: %s\n" % exc)
        return None
    finally:
        sys.path.remove(folder)


native = load_native()

HDR = struct.Struct("<IBI")
U32 = struct.Struct("<I")
REQUEST_PREFIX = struct.Struct("<BIII")  # flags and the lengths of the three segments
START_HDR = struct.Struct("<IBIH")  # a START frame's header and its status
RESPONSE_HDR = struct.Struct("<IBIHI")  # a RESPONSE frame's header, status, headers' length

# nave to worker.
REQUEST, BODY, BODY_END, DISCONNECT, SENT_BYTES = 1, 2, 3, 4, 5
# Worker to nave.
READY, START, DATA, END, RESPONSE, RECEIVE, ERROR, FATAL = 16, 17, 18, 19, 20, 21, 22, 23
EARLY_HINT, PATHSEND, TRAILERS = 24, 25, 26
# WebSockets (ws.go): nave to worker, then worker to nave.
WS_CONNECT, WS_TEXT, WS_BYTES, WS_DISCONNECT, WS_SENT = 6, 7, 8, 9, 10
WS_ACCEPT, WS_PART, WS_SEND_TEXT, WS_SEND_BYTES, WS_CLOSE, WS_TAKEN, WS_END = 27, 28, 29, 30, 31, 32, 33
WS_MESSAGE_COST = 64  # what a message counts in nave's receive window beyond its bytes
U16 = struct.Struct("<H")
HEARTBEAT = 41  # id 0: the loop is alive (27-40 are kept for WebSockets)
HEARTBEAT_FRAME = HDR.pack(0, HEARTBEAT, 0)

MAX_DATA = 1 << 20  # the largest DATA frame nave takes
# WINDOW bounds a request's response bytes that nave has not yet written
# to its client (it says so with SENT frames): past it, send() waits, so
# that a slow client slows the app instead of filling memory.
WINDOW = 256 << 10
FLAG_MORE_BODY = 1

ASGI = {"version": "3.0", "spec_version": "2.4"}
# Shared by every request's scope: apps read it, none is known to write it.
EXTENSIONS = {"http.response.pathsend": {}, "http.response.early_hint": {},
              "http.response.trailers": {}}
WS_EXTENSIONS = {"websocket.http.response": {}}
WS_SCHEMES = {"http": "ws", "https": "wss"}
METHODS = {m.encode(): m for m in ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS")}
VERSIONS = {b"1.1": "1.1", b"1.0": "1.0", b"2": "2", b"3": "3"}
SCHEMES = {b"http": "http", b"https": "https"}
DISCONNECTED = {"type": "http.disconnect"}
TASK_NAME = "asgi request"  # every request's Task's (native.c's too)
SENT = None  # send()'s awaitable: a future of the loop, done (serve sets it)
chain = itertools.chain.from_iterable

# Request states: the response's progress.
NEW, STARTED, TRAILING, ENDED = 0, 1, 2, 3


class ClientDisconnected(OSError):
    """send() after the client went away (ASGI HTTP spec 2.4)."""


class ConnectionClosed(OSError):
    """send() after the response completed, or after the app's
    websocket.close: the connection scope is closed, and spec 2.4 has
    send() on a closed connection raise an OSError subclass (uvicorn
    raises RuntimeError here). Unlike ClientDisconnected, it is logged
    when the app lets it propagate: the app sent past its own end."""


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


def fields(headers, what):
    """b"name\\0value\\0..." from an ASGI header list."""
    if type(headers) is not list:
        headers = list(headers)
    head = b"\0".join(chain(headers))
    if headers and head.count(b"\0") != 2 * len(headers) - 1:
        raise ValueError("a %s name or value holds NUL" % what)
    return head


class Fields:
    """Request's fields, where native.c's Request does not hold them."""

    __slots__ = ("conn", "rid", "body", "more", "chunks", "waiter", "state", "status", "head",
                 "disconnected", "asked", "unacked", "credit", "trailers", "trailer",
                 "task", "__weakref__")

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
        self.asked = False  # a RECEIVE is out, its chunk not yet here
        self.credit = None  # the future send() waits on for SENT_BYTES
        self.task = None  # the Task running the app
        # Set when first needed, off the path of a response sent whole:
        # unacked (response bytes sent that nave has not written yet: set
        # with START), trailers (the app will send trailers: set by
        # http.response.start) and trailer (trailer fields gathered).


class Request(Fields if native is None else native.Request):
    """One request's receive and send, and its response's state."""

    __slots__ = ()

    async def receive(self):
        body = self.body
        if body is not None:
            self.body = None
            return {"type": "http.request", "body": body, "more_body": self.more}
        while True:
            if self.chunks:
                body, self.more = self.chunks.pop(0)
                return {"type": "http.request", "body": body, "more_body": self.more}
            if self.disconnected or self.state == ENDED:
                # After the response nave sends no more of the body.
                return DISCONNECTED
            if self.more and not self.asked:
                # nave reads the next chunk from the client only now: the
                # app's pace is the upload's.
                self.asked = True
                self.conn.emit1(HDR.pack(0, RECEIVE, self.rid))
            self.waiter = self.conn.loop.create_future()
            try:
                await self.waiter
            finally:
                self.waiter = None

    def wakeup(self):
        w = self.waiter
        if w is not None and not w.done():
            w.set_result(None)
        c = self.credit
        if c is not None and not c.done():
            c.set_result(None)

    def send_py(self, message):
        """ASGI's send, as a plain function that returns an awaitable,
        done at once (SENT) while the response is within its window:
        cheaper than a coroutine, and the same to an app that awaits it."""
        kind = message["type"]
        if kind == "http.response.body":
            if self.state != STARTED:
                raise self.misplaced("http.response.body before http.response.start, or after the last")
            if self.disconnected:
                raise ClientDisconnected("the client went away")
            body = message.get("body", b"")
            if type(body) is not bytes and not isinstance(body, (bytes, bytearray, memoryview)):
                # Taken, it would break the batch's write, every request's.
                raise TypeError("http.response.body's body is %s, not bytes" % type(body).__name__)
            more = message.get("more_body", False)
            head = self.head
            if head is not None and not more and not self.trailers and len(body) <= WINDOW:
                self.head = None
                self.state = ENDED
                self.conn.emit3(RESPONSE_HDR.pack(6 + len(head) + len(body), RESPONSE, self.rid,
                                                  self.status, len(head)), head, body)
                if self.waiter is not None:
                    self.wakeup()  # a receive() waiting hears http.disconnect
                return SENT
            self.flush_head()
            if self.unacked + len(body) <= WINDOW:
                self.emit_body(body, more)
                return SENT
            return self.send_slowly(body, more)
        elif kind == "http.response.start":
            if self.state != NEW:
                raise self.misplaced("http.response.start sent twice")
            if self.disconnected:
                raise ClientDisconnected("the client went away")
            self.head = fields(message.get("headers", ()), "header")
            self.status = message["status"]
            self.trailers = trailers = bool(message.get("trailers", False))
            if trailers:
                self.trailer = b""
            self.state = STARTED
            return SENT
        return self.send_other(kind, message)

    if native is None:
        send = send_py

    def send_other(self, kind, message):
        """The extensions' messages."""
        if kind == "http.response.trailers":
            if self.state != TRAILING:
                raise self.misplaced("http.response.trailers without trailers announced, or before the last body")
            if self.disconnected:
                raise ClientDisconnected("the client went away")
            head = fields(message.get("headers", ()), "trailer")
            if head:
                self.trailer = self.trailer + b"\0" + head if self.trailer else head
            if not message.get("more_trailers", False):
                self.state = ENDED
                self.conn.emit2(HDR.pack(len(self.trailer), TRAILERS, self.rid), self.trailer)
                self.wakeup()
            return SENT
        if kind == "http.response.pathsend":
            if self.state != STARTED:
                raise self.misplaced("http.response.pathsend before http.response.start, or after the last body")
            if self.disconnected:
                raise ClientDisconnected("the client went away")
            path = os.fsencode(message["path"])
            if b"\0" in path:
                raise ValueError("a path holds NUL")
            self.flush_head()
            self.conn.emit2(HDR.pack(len(path), PATHSEND, self.rid), path)
            self.emit_body(b"", False)
            return SENT
        if kind == "http.response.early_hint":
            if self.disconnected:
                raise ClientDisconnected("the client went away")
            if self.state == ENDED or (self.state == STARTED and self.head is None):
                return SENT  # the final head went: too late for a 103, ignored as the spec allows
            links = b"\0".join(message.get("links", ()))
            self.conn.emit2(HDR.pack(len(links), EARLY_HINT, self.rid), links)
            return SENT
        raise ValueError("unknown message type %r" % (kind,))

    def misplaced(self, what):
        """The error for a message the response's state does not allow:
        an OSError once the connection is closed, a RuntimeError (an app
        bug) before."""
        if self.disconnected:
            return ClientDisconnected("the client went away")
        if self.state == ENDED:
            return ConnectionClosed("%s: the response completed" % what)
        return RuntimeError(what)

    def flush_head(self):
        head = self.head
        if head is not None:
            self.head = None
            self.unacked = 0
            self.conn.emit2(START_HDR.pack(2 + len(head), START, self.rid, self.status), head)

    def emit_body(self, body, more):
        """body as frames of at most MAX_DATA; more=False ends the body:
        with END, or (trailers due) with DATA, TRAILERS to follow."""
        conn = self.conn
        while len(body) > MAX_DATA:
            conn.emit2(HDR.pack(MAX_DATA, DATA, self.rid), body[:MAX_DATA])
            self.unacked += MAX_DATA
            body = body[MAX_DATA:]
        if more or self.trailers:
            if body or not more:
                conn.emit2(HDR.pack(len(body), DATA, self.rid), body)
                self.unacked += len(body)
            if not more:
                self.state = TRAILING
        else:
            self.state = ENDED
            conn.emit2(HDR.pack(len(body), END, self.rid), body)
            self.wakeup()

    async def send_slowly(self, body, more):
        """A body past the window goes out as nave takes it."""
        view = memoryview(body)
        while True:
            if self.disconnected:
                raise ClientDisconnected("the client went away")
            room = WINDOW - self.unacked
            if room <= 0:
                self.credit = self.conn.loop.create_future()
                try:
                    await self.credit
                finally:
                    self.credit = None
                continue
            if room >= len(view):
                self.emit_body(bytes(view), more)
                return
            self.emit_body(bytes(view[:room]), True)
            view = view[room:]

    def acked(self, n):
        self.unacked -= n
        c = self.credit
        if c is not None and not c.done():
            c.set_result(None)

    def failed(self, exc):
        if not (self.disconnected and isinstance(exc, (ClientDisconnected, asyncio.CancelledError))):
            # The spec: a server does not log the OSError it raised itself.
            sys.stderr.write("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
        self.finished(exc)
        if not isinstance(exc, Exception) and not isinstance(exc, asyncio.CancelledError):
            raise exc

    def finished_py(self, exc):
        """The app returned (exc None) or raised: the terminal frame."""
        conn = self.conn
        conn.returned(self)
        if self.state == ENDED:
            return  # the response went whole; an error is logged only
        self.state = ENDED
        if exc is not None:
            reason = ("%s: %s" % (type(exc).__name__, exc)).encode("utf-8", "replace")[:4096]
        else:
            reason = b"the app returned without completing the response"
        conn.emit2(HDR.pack(len(reason), ERROR, self.rid), reason)

    if native is None:
        finished = finished_py


class Conn(asyncio.Protocol):
    """The socket to nave: frames in, requests run, replies batched out."""

    def __init__(self, app, loop, run, flush_each, state):
        self.app = app
        self.loop = loop
        self.step = run == "step"
        if run == "eager":
            loop.set_task_factory(asyncio.eager_task_factory)
        self.flush_each = flush_each
        self.state = state  # the lifespan's state, copied into each scope
        if native is not None:
            native.setup(ASGI, EXTENSIONS, METHODS, connection.__defaults__[0], connection, SENT, Request,
                         asyncio.Task, TASK_NAME)
        self.transport = None
        self.out = []  # reply pieces not yet written
        self.scheduled = False  # a flush is scheduled
        self.requests = {}  # in flight, by id
        self.pending = bytearray()  # a partial frame
        self.need = 0  # bytes pending must hold before it is parsed again
        self.closed = loop.create_future()
        self.running = 0  # apps that have not returned
        self.idle = None  # a future set when running falls to 0, once wanted

    def returned(self, req):
        """The app of req returned or raised."""
        self.running -= 1
        if self.running == 0 and self.idle is not None and not self.idle.done():
            self.idle.set_result(None)
        if self.requests.get(req.rid) is req:
            # After the terminal frame, nave may reuse the id for a new
            # request while this app runs on (background tasks): only its
            # own entry goes.
            del self.requests[req.rid]

    # -- asyncio.Protocol --------------------------------------------------

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.feed(data)

    def eof_received(self):
        # nave is done sending: the requests in flight finish, their
        # replies go out (the write side stays open), and serve() returns.
        if not self.closed.done():
            self.closed.set_result(None)
        return True

    def connection_lost(self, exc):
        self.lost()  # nave is gone: receive() says http.disconnect
        if not self.closed.done():
            self.closed.set_result(None)

    # -- output ------------------------------------------------------------

    def emit1(self, a):
        if self.flush_each:
            self.transport.write(a)
            return
        out = self.out
        if not out and not self.scheduled:
            self.scheduled = True
            self.loop.call_soon(self.flush)
        out.append(a)

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

    def heartbeat(self):
        """Once a second while requests are in flight: nave takes a
        worker that sends nothing past its timeout for a blocked loop, and
        a request that awaits I/O for long is not that."""
        if self.requests:
            self.emit1(HEARTBEAT_FRAME)
        if not self.transport.is_closing():
            self.loop.call_later(1.0, self.heartbeat)

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
        if native is not None and type(data) is bytes:
            p = native.feed(self, data)
        else:
            p = 0
            unpack = HDR.unpack_from
            while n - p >= 9:
                size, kind, rid = unpack(data, p)
                end = p + 9 + size
                if end > n:
                    break
                if kind == REQUEST:
                    self.request(rid, data, p + 9, end)
                else:
                    self.frame(kind, rid, data, p + 9, end)
                p = end
        if p < n:
            # A frame's start: the bytes it needs, once its header is in.
            self.need = 9 + U32.unpack_from(data, p)[0] if n - p >= 9 else 9
            pending += memoryview(data)[p:]

    def frame(self, kind, rid, data, p, end):
        """A frame other than REQUEST, its payload data[p:end]."""
        if kind == WS_CONNECT:
            self.websocket(rid, data, p, end)
            return
        req = self.requests.get(rid)
        if req is None:
            pass  # the app ended; nave's frame crossed its end
        elif kind == BODY or kind == BODY_END:
            if req.chunks is None:
                req.chunks = []
            req.chunks.append((data[p:end], kind == BODY))
            req.asked = False
            req.wakeup()
        elif kind == SENT_BYTES:
            req.acked(U32.unpack_from(data, p)[0])
        elif kind == DISCONNECT:
            req.disconnected = True
            req.wakeup()
        else:
            req.frame(kind, data[p:end])

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
            "state": self.state.copy(),
            "extensions": EXTENSIONS,
        }
        self.start(Request(self, rid, data[d:end], flags & FLAG_MORE_BODY == FLAG_MORE_BODY), scope)

    def start(self, req, scope):
        """Runs the app for req."""
        self.requests[req.rid] = req
        self.running += 1
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
        # runs (scheduled, or in the callbacks of what it awaits). The
        # Task is loop.create_task's, named: on Python 3.11 a Task without
        # a name formats "Task-N" for itself, about a fifth of its cost.
        if self.loop.get_task_factory() is None:
            req.task = asyncio.Task(self.run(req, coro), loop=self.loop, name=TASK_NAME)
        else:
            req.task = self.loop.create_task(self.run(req, coro))

    def websocket(self, rid, data, p, end):
        alen, blen, hlen = struct.unpack_from("<III", data, p)
        a = p + 12
        b = a + alen
        c = b + blen
        d = c + hlen
        path, raw_path, query = data[a:b].split(b"\0")
        scheme, version, root, client, server = connection(data[b:c])
        if hlen:
            it = iter(data[c:d].split(b"\0"))
            headers = list(zip(it, it))
        else:
            headers = []
        subprotocols = [s.decode("latin-1") for s in data[d:end].split(b"\0")] if end > d else []
        ws = WebSocket(self, rid)
        self.requests[rid] = ws
        self.running += 1
        scope = {
            "type": "websocket",
            "asgi": ASGI,
            "http_version": version,
            "server": server,
            "client": client,
            "scheme": WS_SCHEMES.get(scheme, scheme),
            "root_path": root,
            "path": path.decode("utf-8", "replace"),
            "raw_path": raw_path,
            "query_string": query,
            "headers": headers,
            "subprotocols": subprotocols,
            "state": self.state.copy(),
            "extensions": WS_EXTENSIONS,
        }
        ws.task = self.loop.create_task(self.run(ws, self.app(scope, ws.receive, ws.send)))

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

    def cancel_all(self):
        """SIGTERM: nave's stop ran out of time. As uvicorn does once its
        graceful shutdown times out, the apps still running are cancelled
        (each hears of it as a disconnect first), so that the lifespan
        shutdown can run before the worker exits."""
        running = [req for req in self.requests.values() if req.task is not None]
        if running:
            sys.stderr.write("cancelling %d request(s) still running at shutdown\n" % len(running))
        for req in running:
            req.disconnected = True
            req.wakeup()
            req.task.cancel()


# WebSocket states.
WS_CONNECTING, WS_OPEN, WS_CLOSED, WS_RESPONSE, WS_DENIED = 0, 1, 2, 3, 4


class WebSocket:
    """One WebSocket's receive and send (ASGI websocket spec, and the
    websocket.http.response extension). nave speaks the protocol; this
    sees whole messages. Messages come within nave's receive window,
    which WS_TAKEN frames give back as the app receives; messages sent
    count against WINDOW until nave says it wrote them (WS_SENT), past
    which send() waits: a client that does not read slows the app."""

    __slots__ = ("conn", "rid", "state", "connected", "queue", "waiter", "credit", "unacked",
                 "disconnected", "gone", "head", "status", "ended", "task", "__weakref__")

    def __init__(self, conn, rid):
        self.conn = conn
        self.rid = rid
        self.state = WS_CONNECTING
        self.connected = False  # receive() has said websocket.connect
        self.queue = collections.deque()  # (kind, bytes) not received yet
        self.waiter = None  # the future receive() waits on
        self.credit = None  # the future send() waits on for WS_SENT
        self.unacked = 0
        self.disconnected = False
        self.gone = None  # the websocket.disconnect event, once nave sent it
        self.head = None  # a denial's headers, until its first body
        self.status = 0
        self.ended = False  # the terminal frame went
        self.task = None

    def frame(self, kind, payload):
        if kind == WS_TEXT or kind == WS_BYTES:
            self.queue.append((kind, payload))
        elif kind == WS_SENT:
            self.unacked -= U32.unpack_from(payload)[0]
        elif kind == WS_DISCONNECT:
            self.disconnected = True
            self.gone = {"type": "websocket.disconnect", "code": U16.unpack_from(payload)[0],
                         "reason": payload[2:].decode("utf-8", "replace")}
        self.wakeup()

    def wakeup(self):
        for f in (self.waiter, self.credit):
            if f is not None and not f.done():
                f.set_result(None)

    async def receive(self):
        if not self.connected:
            self.connected = True
            return {"type": "websocket.connect"}
        while True:
            if self.queue:
                kind, data = self.queue.popleft()
                self.conn.emit2(HDR.pack(4, WS_TAKEN, self.rid), U32.pack(len(data) + WS_MESSAGE_COST))
                if kind == WS_TEXT:
                    return {"type": "websocket.receive", "text": data.decode("utf-8")}
                return {"type": "websocket.receive", "bytes": data}
            if self.disconnected:
                return self.gone or {"type": "websocket.disconnect", "code": 1006, "reason": ""}
            self.waiter = self.conn.loop.create_future()
            try:
                await self.waiter
            finally:
                self.waiter = None

    async def send(self, message):
        kind = message["type"]
        if kind == "websocket.send":
            if self.disconnected:
                raise ClientDisconnected("the client went away")
            if self.state != WS_OPEN:
                raise self.misplaced("websocket.send before websocket.accept, or after websocket.close")
            data = message.get("bytes")
            final = WS_SEND_BYTES
            if data is None:
                data = message["text"].encode("utf-8")
                final = WS_SEND_TEXT
            while self.unacked > 0 and self.unacked + len(data) > WINDOW:
                self.credit = self.conn.loop.create_future()
                try:
                    await self.credit
                finally:
                    self.credit = None
                if self.disconnected:
                    raise ClientDisconnected("the client went away")
            self.unacked += len(data)
            conn, rid = self.conn, self.rid
            view = memoryview(data)
            while len(view) > MAX_DATA:
                conn.emit2(HDR.pack(MAX_DATA, WS_PART, rid), bytes(view[:MAX_DATA]))
                view = view[MAX_DATA:]
            conn.emit2(HDR.pack(len(view), final, rid), bytes(view))
        elif kind == "websocket.accept":
            if self.disconnected:
                raise ClientDisconnected("the client went away")
            if self.state != WS_CONNECTING:
                raise self.misplaced("websocket.accept twice, or after websocket.close")
            sub = (message.get("subprotocol") or "").encode("utf-8")
            head = fields(message.get("headers", ()), "header")
            payload = sub + b"\0" + head if head else sub
            self.state = WS_OPEN
            self.conn.emit2(HDR.pack(len(payload), WS_ACCEPT, self.rid), payload)
        elif kind == "websocket.close":
            if self.state not in (WS_CONNECTING, WS_OPEN):
                return
            if self.disconnected and self.state == WS_OPEN:
                raise ClientDisconnected("the client went away")
            code = message.get("code")
            reason = (message.get("reason") or "").encode("utf-8")
            payload = U16.pack(1000 if code is None else code) + reason
            self.state = WS_CLOSED
            self.conn.emit2(HDR.pack(len(payload), WS_CLOSE, self.rid), payload)
        elif kind == "websocket.http.response.start":
            if self.state != WS_CONNECTING:
                raise self.misplaced("websocket.http.response.start after websocket.accept or close")
            self.head = fields(message.get("headers", ()), "header")
            self.status = message["status"]
            self.state = WS_RESPONSE
        elif kind == "websocket.http.response.body":
            if self.state != WS_RESPONSE:
                raise RuntimeError("websocket.http.response.body without its start")
            self.deny(message.get("body", b""), message.get("more_body", False))
        else:
            raise ValueError("unknown message type %r" % (kind,))

    def misplaced(self, what):
        """As Request.misplaced: after the app's close or its denial's
        end, the connection is closed."""
        if self.state == WS_CLOSED or self.state == WS_DENIED:
            return ConnectionClosed("%s: the app closed the connection" % what)
        return RuntimeError(what)

    def deny(self, body, more):
        """A denial's body: RESPONSE when whole, else START, DATA..., END."""
        conn, rid = self.conn, self.rid
        head = self.head
        if head is not None:
            self.head = None
            if not more and len(body) <= MAX_DATA:
                self.ended = True
                self.state = WS_DENIED
                conn.emit3(RESPONSE_HDR.pack(6 + len(head) + len(body), RESPONSE, rid, self.status,
                                             len(head)), head, body)
                return
            conn.emit2(START_HDR.pack(2 + len(head), START, rid, self.status), head)
        while len(body) > MAX_DATA:
            conn.emit2(HDR.pack(MAX_DATA, DATA, rid), body[:MAX_DATA])
            body = body[MAX_DATA:]
        if more:
            if body:
                conn.emit2(HDR.pack(len(body), DATA, rid), body)
            return
        self.ended = True
        self.state = WS_DENIED
        conn.emit2(HDR.pack(len(body), END, rid), body)

    failed = Request.failed  # logs the traceback unless nave caused it, then finished

    def finished(self, exc):
        """The app returned (exc None) or raised: the terminal frame,
        unless a denial's end was one."""
        self.conn.returned(self)
        if self.ended:
            return
        self.ended = True
        if exc is None or isinstance(exc, ClientDisconnected) and self.disconnected:
            self.conn.emit1(HDR.pack(0, WS_END, self.rid))
            return
        reason = ("%s: %s" % (type(exc).__name__, exc)).encode("utf-8", "replace")[:4096]
        self.conn.emit2(HDR.pack(len(reason), ERROR, self.rid), reason)


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


class LifespanFailed(Exception):
    """Startup failed: the message goes to nave as a FATAL frame."""


class Lifespan:
    """The lifespan protocol (ASGI lifespan spec 2.0) as uvicorn runs it:
    mode "on" requires it, "auto" goes on without it when the app raises
    before startup completes, "off" never calls the app with it."""

    def __init__(self, app, mode, state):
        self.app = app
        self.mode = mode
        self.state = state
        self.events = asyncio.Queue()
        self.startup = None  # future: None when done, or the failure message
        self.shutdown = None
        self.task = None
        self.unsupported = False

    async def start(self):
        loop = asyncio.get_running_loop()
        self.startup = loop.create_future()
        self.shutdown = loop.create_future()
        self.task = loop.create_task(self.main())
        self.events.put_nowait({"type": "lifespan.startup"})
        failure = await self.startup
        if failure is not None:
            raise LifespanFailed(failure)

    async def main(self):
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"},
                 "state": self.state}
        try:
            await self.app(scope, self.events.get, self.send)
        except BaseException as exc:
            if not self.startup.done() and self.mode == "auto":
                self.unsupported = True
                sys.stderr.write("ASGI 'lifespan' protocol appears unsupported (%s: %s)\n"
                                 % (type(exc).__name__, exc))
            else:
                sys.stderr.write("Exception in 'lifespan' protocol\n")
                sys.stderr.write("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
                if not self.startup.done():
                    self.startup.set_result("%s: %s" % (type(exc).__name__, exc))
        finally:
            if not self.startup.done():
                self.startup.set_result(None)
            if not self.shutdown.done():
                self.shutdown.set_result(None)

    async def send(self, message):
        kind = message["type"]
        if kind == "lifespan.startup.complete":
            if not self.startup.done():
                self.startup.set_result(None)
        elif kind == "lifespan.startup.failed":
            if not self.startup.done():
                self.startup.set_result(message.get("message", "") or "lifespan.startup.failed")
        elif kind == "lifespan.shutdown.complete":
            if not self.shutdown.done():
                self.shutdown.set_result(None)
        elif kind == "lifespan.shutdown.failed":
            sys.stderr.write("lifespan shutdown failed: %s\n" % message.get("message", ""))
            if not self.shutdown.done():
                self.shutdown.set_result(None)
        else:
            raise ValueError("unknown lifespan message type %r" % (kind,))

    async def stop(self):
        if self.task is None or self.task.done():
            return
        self.events.put_nowait({"type": "lifespan.shutdown"})
        await self.shutdown


def parse_args(argv):
    if not argv or argv[0].startswith("-"):
        usage()
    opts = {"lifespan": "auto", "loop": "auto"}
    for arg in argv[1:]:
        key, eq, value = arg.partition("=")
        if not eq or key not in opts:
            usage()
        opts[key] = value
    if opts["lifespan"] not in ("auto", "on", "off") or opts["loop"] not in ("auto", "asyncio", "uvloop"):
        usage()
    return argv[0], opts


def usage():
    sys.stderr.write("usage: python - MODULE:CALLABLE [lifespan=auto|on|off] [loop=auto|asyncio|uvloop]\n")
    sys.exit(EXIT_USAGE)


def load(spec):
    module, _, name = spec.partition(":")
    if not module or not name:
        usage()
    factory = name.endswith("()")
    if factory:
        name = name[:-2]
    sys.path.insert(0, os.getcwd())
    obj = importlib.import_module(module)
    for part in name.split("."):
        obj = getattr(obj, part)
    if factory:
        obj = obj()
    return obj


def install_loop(choice):
    """uvloop when asked, or when importable and the choice is auto."""
    if choice == "asyncio":
        return
    try:
        import uvloop
    except ImportError:
        if choice == "uvloop":
            sys.stderr.write("loop=uvloop: uvloop is not installed\n")
            sys.exit(EXIT_USAGE)
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def fatal(sock, message):
    data = message.encode("utf-8", "replace")[:4096]
    try:
        sock.sendall(HDR.pack(len(data), FATAL, 0) + data)
    except OSError:
        pass


async def serve(app, sock, opts):
    global SENT
    loop = asyncio.get_running_loop()
    SENT = loop.create_future()
    SENT.set_result(None)
    state = {}
    lifespan = None
    if opts["lifespan"] != "off":
        lifespan = Lifespan(app, opts["lifespan"], state)
        try:
            await lifespan.start()
        except LifespanFailed as exc:
            sys.stderr.write("lifespan startup failed: %s\n" % exc)
            fatal(sock, "lifespan startup failed: %s" % exc)
            return EXIT_LIFESPAN
    env = os.environ.get
    run = env("NAVE_ASGI_RUN") or ("eager" if sys.version_info >= (3, 12) else "task")
    conn = Conn(app, loop, run, env("NAVE_ASGI_FLUSH") == "each", state)
    await loop.create_unix_connection(lambda: conn, sock=sock)
    lifespan_mode = "off" if lifespan is None else "unsupported" if lifespan.unsupported else "on"
    ready = ("%d\0%s\0%s\0%s\0%s" % (os.getpid(), sys.version.split()[0], type(loop).__module__.split(".")[0],
                                     lifespan_mode, "python" if native is None else "native")).encode()
    conn.transport.write(HDR.pack(len(ready), READY, 0) + ready)
    loop.add_signal_handler(signal.SIGTERM, conn.cancel_all)
    loop.call_later(1.0, conn.heartbeat)
    await conn.closed
    if conn.running:
        conn.idle = loop.create_future()
        await conn.idle
    conn.flush()
    if lifespan is not None:
        await lifespan.stop()
    return 0


def main():
    app_spec, opts = parse_args(sys.argv[1:])
    sys.stdout.reconfigure(line_buffering=True)
    sys.stderr.reconfigure(line_buffering=True)
    sock = socket.socket(fileno=3)
    os.set_inheritable(3, False)
    # SIGUSR1: every thread's stack to stderr, which nave logs: sent by a
    # stuck worker's supervisor, and works while the loop blocks.
    faulthandler.register(signal.SIGUSR1, file=sys.stderr, all_threads=True)
    try:
        app = load(app_spec)
    except BaseException:
        traceback.print_exc()
        sys.exit(EXIT_IMPORT)
    install_loop(opts["loop"])
    profile = os.environ.get("NAVE_ASGI_PROFILE")
    if profile:
        import cProfile
        prof = cProfile.Profile()
        prof.enable()
    code = 0
    try:
        code = asyncio.run(serve(app, sock, opts))
    except (BrokenPipeError, ConnectionResetError):
        pass
    finally:
        if profile:
            prof.disable()
            prof.dump_stats(profile)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
