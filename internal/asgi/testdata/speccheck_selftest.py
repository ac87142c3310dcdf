"""The spec checker checked: a fake server that breaks the spec in known
ways must have each breach recorded, and one that keeps it none. Prints
"ok" or the difference; spec_test.go runs it."""

import asyncio
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "apps"))
import speccheck  # noqa: E402


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        await receive()
        await send({"type": "lifespan.startup.complete"})
        return
    if scope["type"] == "websocket":
        await receive()
        await send({"type": "websocket.accept"})
        await receive()
        await receive()
        return
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})
    for _ in range(3):
        if (await receive())["type"] == "http.disconnect":
            return


def scope(**changes):
    s = {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.4"}, "http_version": "1.1",
         "method": "GET", "scheme": "http", "path": "/caf\u00e9", "raw_path": b"/caf%C3%A9",
         "query_string": b"", "root_path": "", "headers": [(b"host", b"x"), (b"content-length", b"2")],
         "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 80), "extensions": {}, "state": {}}
    s.update(changes)
    return s


class Server:
    """A server whose send() on a closed connection raises closed_raises
    (None: returns)."""

    def __init__(self, kind, messages, closed_raises):
        self.kind = kind
        self.messages = list(messages)
        self.closed_raises = closed_raises
        self.closed = False

    async def receive(self):
        gone = {"type": "websocket.disconnect", "code": 1005} if self.kind == "websocket" else {"type": "http.disconnect"}
        msg = self.messages.pop(0) if self.messages else gone
        if msg["type"].endswith(".disconnect"):
            self.closed = True
        return msg

    async def send(self, message):
        if self.closed and self.closed_raises is not None:
            raise self.closed_raises("closed")
        if message["type"] == "http.response.body" and not message.get("more_body"):
            self.closed = True


async def run(check, s, messages, closed_raises=OSError):
    srv = Server(s["type"], messages, closed_raises)
    await check(s, srv.receive, srv.send)


async def main():
    good = speccheck.SpecCheck(app)
    await run(good, {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": {}},
              [{"type": "lifespan.startup"}])
    body = [{"type": "http.request", "body": b"o", "more_body": True}, {"type": "http.request", "body": b"k"}]
    await run(good, scope(state={speccheck.MARKER: True}), body)
    await run(good, scope(state={speccheck.MARKER: True}), body)
    ws = scope(type="websocket", scheme="ws", subprotocols=[], state={speccheck.MARKER: True})
    del ws["method"]
    await run(good, ws, [{"type": "websocket.connect"}, {"type": "websocket.receive", "text": "hi"},
                         {"type": "websocket.disconnect", "code": 1000}])
    problems = ["kept the spec, yet: %s" % b for b in good.breaches]

    bad = speccheck.SpecCheck(app)
    bad.expect = {"scheme": "https", "http_version": "2"}
    lifespan_state = {}
    await run(bad, {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": lifespan_state},
              [{"type": "lifespan.startup"}])
    await run(bad, scope(method="get", path="/x", raw_path="/x", query_string="", root_path="/mnt",
                         headers=[(b"Host", b"x"), (b":authority", b"x"), ("a", b"b"), (b"content-length", b"2")],
                         client=["127.0.0.1", "5000"], asgi={"version": "2.0"}, state=lifespan_state),
              [{"type": "http.request", "body": "ok", "more_body": 1, "extra": True},
               {"type": "http.request", "body": b""}, {"type": "http.request", "body": b""},
               {"type": "http.disconnect", "code": 1}],
              closed_raises=RuntimeError)
    await run(bad, scope(state=dict(lifespan_state)), body, closed_raises=None)
    ws = scope(type="websocket", scheme="http", http_version="1.0", state={speccheck.MARKER: True})
    await run(bad, ws, [{"type": "websocket.receive", "text": "hi", "bytes": b"hi"},
                        {"type": "websocket.disconnect", "code": "1000"}], closed_raises=None)
    wants = ["scheme 'http', want 'https'", "http_version '1.1', want '2'", "method 'get'",
             "does not include root_path", "raw_path '/x'", "query_string ''", "header name b'Host'",
             "header name b':authority'", "header ['a', b'b']", "client ['127.0.0.1', '5000']",
             "asgi.version '2.0'", "asgi.spec_version None", "body <class 'str'>", "more_body 1",
             "beyond the spec's", "http.request after the last one", "http.disconnect has keys",
             "after http.disconnect raised RuntimeError", "after the response completed returned",
             "state is the lifespan's own dict", "an earlier request put in its copy",
             "the lifespan's state holds what a request put", "after websocket.disconnect returned",
             "the first event is 'websocket.receive'", "websocket.receive with bytes b'hi' and text 'hi'",
             "websocket.disconnect code '1000'", "scheme 'http'", "http_version '1.0'",
             "scope lacks ['subprotocols']", "Content-Length says 2"]
    for w in wants:
        if not any(w in b for b in bad.breaches):
            problems.append("missed: %s" % w)
    if problems:
        print("\n".join(problems + ["recorded:"] + bad.breaches))
    else:
        print("ok")


asyncio.run(main())
