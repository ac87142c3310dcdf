"""ASGI apps for the gateway's tests: each route asserts one part of the
HTTP protocol (spec 2.4) or an extension. Results that the client cannot
see on the wire (what send() raised, how far an app got) are kept in
RESULTS and read back with GET /result?KEY."""

import asyncio
import json
import os

RESULTS = {}
EVENTS = {}
FILES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "files")


def event(key):
    if key not in EVENTS:
        EVENTS[key] = asyncio.Event()
    return EVENTS[key]


async def text(send, body, status=200, headers=()):
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain")] + list(headers)})
    await send({"type": "http.response.body", "body": body})


def plain(value):
    if isinstance(value, bytes):
        return value.decode("latin-1")
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


async def scope_json(scope, receive, send):
    """The scope, as JSON (bytes as latin-1 strings, tuples as lists)."""
    s = dict(scope)
    s["types"] = {"raw_path": type(scope["raw_path"]).__name__,
                  "query_string": type(scope["query_string"]).__name__,
                  "client": [type(v).__name__ for v in scope["client"]],
                  "server": [type(v).__name__ for v in scope["server"]],
                  "header": [type(v).__name__ for v in scope["headers"][0]] if scope["headers"] else []}
    body = json.dumps(plain(s)).encode()
    scope["state"]["mutated"] = True  # a copy: the next request must not see it
    await text(send, body, headers=[(b"content-type", b"application/json")])


async def upload(scope, receive, send):
    """Reads the first chunk, then waits for /release?upload before
    reading the rest: the body waits in the client meanwhile. Answers
    the byte count, the chunk count and the largest chunk."""
    total, chunks, largest = 0, 0, 0
    first = True
    while True:
        msg = await receive()
        assert msg["type"] == "http.request", msg
        total += len(msg["body"])
        chunks += 1
        largest = max(largest, len(msg["body"]))
        if first:
            first = False
            RESULTS["upload"] = "waiting"
            await asyncio.wait_for(event("upload").wait(), 20)
        if not msg.get("more_body"):
            break
    await text(send, b"%d %d %d" % (total, chunks, largest))


async def release(scope, receive, send):
    event(scope["query_string"].decode()).set()
    await text(send, b"released")


async def result(scope, receive, send):
    await text(send, str(RESULTS.get(scope["query_string"].decode(), "")).encode())


async def firehose(scope, receive, send):
    """Streams 64 KiB chunks, up to 256 MiB, counting what send() took,
    until send() raises (the client left)."""
    key = scope["query_string"].decode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/octet-stream")]})
    chunk = b"x" * (64 << 10)
    sent = 0
    RESULTS[key] = 0
    try:
        while sent < 256 << 20:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
            sent += len(chunk)
            RESULTS[key] = sent
        await send({"type": "http.response.body", "body": b""})
    except OSError as exc:
        RESULTS[key] = "%d %s" % (sent, type(exc).__name__)


async def wait_disconnect(scope, receive, send):
    """Waits in receive() for http.disconnect, then tries to send."""
    key = scope["query_string"].decode()
    msg = await receive()
    assert msg["type"] == "http.request"
    RESULTS[key] = "waiting"
    msg = await receive()
    got = msg["type"]
    try:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"late"})
        RESULTS[key] = got + " sent"
    except OSError as exc:
        RESULTS[key] = "%s %s %s" % (got, type(exc).__name__, isinstance(exc, OSError))


async def stream(scope, receive, send):
    """Chunks as the app sends them, each when /release?stream<i> says."""
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain")]})
    for i in range(3):
        await send({"type": "http.response.body", "body": b"chunk %d\n" % i, "more_body": True})
        await asyncio.wait_for(event("stream%d" % i).wait(), 20)
    await send({"type": "http.response.body", "body": b""})


async def pathsend(scope, receive, send):
    assert "http.response.pathsend" in scope["extensions"]
    path = os.path.abspath(os.path.join(FILES, scope["query_string"].decode()))
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.pathsend", "path": path})


async def early_hint(scope, receive, send):
    assert "http.response.early_hint" in scope["extensions"]
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain"), (b"content-length", b"2")]})
    await send({"type": "http.response.early_hint",
                "links": [b"</style.css>; rel=preload; as=style", b"</app.js>; rel=preload; as=script"]})
    await send({"type": "http.response.body", "body": b"ok"})


async def trailers(scope, receive, send):
    assert "http.response.trailers" in scope["extensions"]
    await send({"type": "http.response.start", "status": 200, "trailers": True,
                "headers": [(b"content-type", b"text/plain"), (b"trailer", b"x-checksum, x-count")]})
    await send({"type": "http.response.body", "body": b"part one,", "more_body": True})
    await send({"type": "http.response.body", "body": b" part two"})
    await send({"type": "http.response.trailers", "headers": [(b"x-checksum", b"abc")], "more_trailers": True})
    await send({"type": "http.response.trailers", "headers": [(b"x-count", b"2")]})


async def length(scope, receive, send):
    """Content-Length 10, and a body of the query's length."""
    n = int(scope["query_string"] or b"10")
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain"), (b"content-length", b"10")]})
    try:
        await send({"type": "http.response.body", "body": b"x" * n})
    except OSError:
        pass


async def big(scope, receive, send):
    """One send of 3 MiB: past the window, it goes as nave takes it."""
    await text(send, b"y" * (3 << 20))


async def after_end(scope, receive, send):
    """A whole response, then a body and a start: what each raised, and
    whether it is an OSError (the connection scope is closed)."""
    key = scope["query_string"].decode()
    await text(send, b"done")
    got = []
    for message in ({"type": "http.response.body", "body": b"late"},
                    {"type": "http.response.start", "status": 200, "headers": []}):
        try:
            await send(message)
            got.append("returned")
        except Exception as exc:
            got.append("%s %s" % (type(exc).__name__, isinstance(exc, OSError)))
    RESULTS[key] = ", ".join(got)


async def raise_before(scope, receive, send):
    raise RuntimeError("boom before the response")


async def raise_after(scope, receive, send):
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"partial", "more_body": True})
    await asyncio.sleep(0.01)
    raise RuntimeError("boom after the response began")


_running = 0
_peak = 0


async def concurrent(scope, receive, send):
    """Sleeps a while and answers the most requests seen in the app at once."""
    global _running, _peak
    _running += 1
    _peak = max(_peak, _running)
    await asyncio.sleep(0.1)
    _running -= 1
    await text(send, b"%d" % _peak)


async def loop(scope, receive, send):
    await text(send, type(asyncio.get_running_loop()).__module__.split(".")[0].encode())


async def exit_now(scope, receive, send):
    """The worker dies mid-request."""
    await send({"type": "http.response.start", "status": 200, "headers": []})
    os._exit(7)


async def hello(scope, receive, send):
    await text(send, b"Hello, World!", headers=[(b"content-length", b"13")])


MARKS = []  # /mark?NAME's names, in order: the requests the app ran


async def mark(scope, receive, send):
    MARKS.append(scope["query_string"].decode())
    await text(send, b"marked")


async def marks(scope, receive, send):
    await text(send, " ".join(MARKS).encode())


async def sleep(scope, receive, send):
    await asyncio.sleep(float(scope["query_string"] or b"0.5"))
    await text(send, b"slept")


ROUTES = {"/": hello, "/upload": upload, "/release": release, "/result": result,
          "/firehose": firehose, "/wait-disconnect": wait_disconnect, "/stream": stream,
          "/pathsend": pathsend, "/early-hint": early_hint, "/trailers": trailers,
          "/length": length, "/big": big, "/after-end": after_end, "/raise-before": raise_before,
          "/raise-after": raise_after, "/concurrent": concurrent, "/loop": loop,
          "/exit": exit_now, "/mark": mark, "/marks": marks, "/sleep": sleep}


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        # A lifespan that fills the state the requests get a copy of.
        while True:
            msg = await receive()
            if msg["type"] == "lifespan.startup":
                scope["state"]["greeting"] = "hello from startup"
                await send({"type": "lifespan.startup.complete"})
            elif msg["type"] == "lifespan.shutdown":
                marker = os.environ.get("NAVE_TEST_SHUTDOWN_MARKER")
                if marker:
                    with open(marker, "w") as f:
                        f.write("shut down")
                await send({"type": "lifespan.shutdown.complete"})
                return
    path = scope["path"][len(scope["root_path"]):]
    if path.startswith("/scope"):
        return await scope_json(scope, receive, send)
    return await ROUTES[path](scope, receive, send)


def make_app():
    """An app factory, for "gateway:make_app()"."""
    return app
