"""An ASGI app that awaits 10 ms of simulated I/O before it answers: the
benchmark's asgi-io row, where many requests wait at once on each worker."""

import asyncio


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await asyncio.sleep(0.010)
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain"), (b"content-length", b"13")]})
    await send({"type": "http.response.body", "body": b"Hello, World!"})
