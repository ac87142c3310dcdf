"""The supervision tests' app: it says its pid and its code's version;
/block blocks the loop (a sync sleep in an async view: a stuck worker);
/poll awaits for 2.5 s (a long poll: not stuck); lifespan shutdown
writes NAVE_TEST_SHUTDOWN_MARKER."""

import asyncio
import os
import time

VERSION = "v1"


async def text(send, body, status=200):
    body = body.encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            msg = await receive()
            if msg["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            else:
                marker = os.environ.get("NAVE_TEST_SHUTDOWN_MARKER")
                if marker:
                    with open(marker, "a") as f:
                        f.write("shut down %d\n" % os.getpid())
                await send({"type": "lifespan.shutdown.complete"})
                return
    path = scope["path"]
    if path == "/block":
        time.sleep(30)
    elif path == "/poll":
        await asyncio.sleep(2.5)
    await text(send, "%d %s" % (os.getpid(), VERSION))
