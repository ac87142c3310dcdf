"""A Starlette app (Debian's 0.26, whose FileResponse predates pathsend
and streams the file through http.response.body)."""

import asyncio
import contextlib
import os

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, StreamingResponse
from starlette.routing import Route, WebSocketRoute

from ws_starlette import Echo

FILES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "files")


@contextlib.asynccontextmanager
async def lifespan(app):
    yield {"started": "yes"}  # the lifespan state, Starlette 0.26's way


async def home(request: Request):
    return PlainTextResponse("Hello from Starlette")


async def state(request: Request):
    return JSONResponse({"started": request.state.started, "root_path": request.scope["root_path"],
                         "url": str(request.url)})


async def upload(request: Request):
    n = 0
    async for chunk in request.stream():
        n += len(chunk)
    return PlainTextResponse(str(n))


async def stream(request: Request):
    async def parts():
        for i in range(3):
            yield "part %d\n" % i
    return StreamingResponse(parts(), media_type="text/plain")


async def hold(request: Request):
    """A first part, then nothing for ten seconds: a client that leaves
    is heard as http.disconnect, which ends the response."""
    async def parts():
        yield "part 0\n"
        await asyncio.sleep(10)
    return StreamingResponse(parts(), media_type="text/plain")


async def file(request: Request):
    return FileResponse(os.path.join(FILES, "hello.txt"), media_type="text/plain")


app = Starlette(routes=[Route("/", home), Route("/state", state), Route("/upload", upload, methods=["POST"]),
                        Route("/stream", stream), Route("/hold", hold), Route("/file", file),
                        WebSocketRoute("/ws", Echo)], lifespan=lifespan)
