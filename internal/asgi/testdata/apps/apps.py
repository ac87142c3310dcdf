"""ASGI apps for nave's asgi tests: the echo, the concurrency barrier,
the hello; gateway.py has the rest."""

import asyncio


async def echo(scope, receive, send):
    """The request body back, with the chunk count and the scope's facts."""
    body = bytearray()
    chunks = 0
    while True:
        msg = await receive()
        assert msg["type"] == "http.request", msg
        body += msg["body"]
        chunks += 1
        if not msg.get("more_body"):
            break
    facts = "%s %s %r %r %s %s %r" % (scope["method"], scope["path"], scope["raw_path"],
                                     scope["query_string"], scope["http_version"],
                                     scope["scheme"], scope["root_path"])
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/octet-stream"),
                            (b"x-chunks", str(chunks).encode()),
                            (b"x-scope", facts.encode()),
                            (b"x-headers", repr(scope["headers"]).encode()),
                            (b"x-client", repr((type(scope["client"][0]).__name__, type(scope["client"][1]).__name__)).encode())]})
    await send({"type": "http.response.body", "body": bytes(body)})


_waiting = 0
_all_in = None


async def sleep(scope, receive, send):
    """Answers once BARRIER requests are in flight at once in this worker
    ("slept"), or after 10 s without that ("alone"): only a worker that runs
    them concurrently can answer them all "slept"."""
    global _waiting, _all_in
    if _all_in is None:
        _all_in = asyncio.Event()
    _waiting += 1
    if _waiting >= BARRIER:
        _all_in.set()
    try:
        await asyncio.wait_for(_all_in.wait(), 10)
        body = b"slept"
    except asyncio.TimeoutError:
        body = b"alone"
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain"), (b"content-length", b"5")]})
    await send({"type": "http.response.body", "body": body})


BARRIER = 100


async def hello(scope, receive, send):
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain"), (b"content-length", b"13")]})
    await send({"type": "http.response.body", "body": b"Hello, World!"})


ROUTES = {"/": hello, "/sleep": sleep}


async def app(scope, receive, send):
    """Routes by path: /echo... to echo, the rest by ROUTES."""
    if scope["path"].startswith("/echo"):
        return await echo(scope, receive, send)
    return await ROUTES[scope["path"]](scope, receive, send)
