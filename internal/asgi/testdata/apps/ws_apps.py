"""Raw ASGI WebSocket apps for ws_test.go. Results the client cannot see
on the wire (the disconnect an app heard, how far a sender got) are kept
in RESULTS and read back over HTTP with GET /result?KEY."""

import asyncio
import json

RESULTS = {}


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            m = await receive()
            await send({"type": m["type"] + ".complete"})
            if m["type"] == "lifespan.shutdown":
                return
    if scope["type"] == "http":
        value = json.dumps(RESULTS.get(scope["query_string"].decode()))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": value.encode()})
        return
    path = scope["path"]
    if path.startswith("/mnt"):
        path = path[len("/mnt"):]
    await ROUTES[path](scope, receive, send)


async def echo(scope, receive, send):
    """Echoes; "close CODE REASON" closes with them, "send after close"
    closes with 4003 and sends, "raise" raises,
    "scope" sends the scope as JSON. The disconnect it hears is kept
    under the query string's key."""
    assert (await receive())["type"] == "websocket.connect"
    sub = scope["subprotocols"][0] if scope["subprotocols"] else None
    await send({"type": "websocket.accept", "subprotocol": sub, "headers": [(b"x-ws", b"yes")]})
    key = scope["query_string"].decode() or "echo"
    while True:
        m = await receive()
        if m["type"] == "websocket.disconnect":
            RESULTS[key] = {"code": m["code"], "reason": m.get("reason", "")}
            try:
                await send({"type": "websocket.send", "text": "after"})
            except OSError as exc:
                RESULTS[key]["send"] = type(exc).__name__
            return
        text = m.get("text")
        if text is not None and text.startswith("close "):
            _, code, reason = text.split(" ", 2)
            await send({"type": "websocket.close", "code": int(code), "reason": reason})
            continue
        if text == "send after close":
            await send({"type": "websocket.close", "code": 4003})
            try:
                await send({"type": "websocket.send", "text": "late"})
                RESULTS[key + "_after"] = "returned"
            except Exception as exc:
                RESULTS[key + "_after"] = "%s %s" % (type(exc).__name__, isinstance(exc, OSError))
            continue
        if text == "raise":
            raise RuntimeError("the app failed on purpose")
        if text == "scope":
            s = {k: v for k, v in scope.items() if k not in ("state",)}
            s["raw_path"] = s["raw_path"].decode("latin-1")
            s["query_string"] = s["query_string"].decode("latin-1")
            s["headers"] = [[n.decode("latin-1"), v.decode("latin-1")] for n, v in s["headers"]]
            await send({"type": "websocket.send", "text": json.dumps(s)})
            continue
        if text is not None:
            await send({"type": "websocket.send", "text": text})
        else:
            await send({"type": "websocket.send", "bytes": m["bytes"]})


async def deny(scope, receive, send):
    await receive()
    await send({"type": "websocket.http.response.start", "status": 401,
                "headers": [(b"content-type", b"text/plain"), (b"x-denied", b"yes")]})
    await send({"type": "websocket.http.response.body", "body": b"no ", "more_body": True})
    await send({"type": "websocket.http.response.body", "body": b"entry"})


async def refuse(scope, receive, send):
    await receive()
    await send({"type": "websocket.close"})


async def flood(scope, receive, send):
    """Sends 64 KiB messages to a client that never reads, counting the
    sends that completed."""
    await receive()
    await send({"type": "websocket.accept"})
    RESULTS["flood"] = 0
    chunk = b"x" * (64 << 10)
    try:
        while True:
            await send({"type": "websocket.send", "bytes": chunk})
            RESULTS["flood"] += 1
    except OSError:
        RESULTS["flood_end"] = "OSError"


async def slow(scope, receive, send):
    """Accepts, then receives nothing until told over HTTP... it never
    receives: the client's messages must wait in nave and in TCP."""
    await receive()
    await send({"type": "websocket.accept"})
    RESULTS["slow"] = "accepted"
    await asyncio.sleep(3600)


ROUTES = {"/echo": echo, "/deny": deny, "/refuse": refuse, "/flood": flood, "/slow": slow}
