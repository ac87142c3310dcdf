"""A FastAPI app (Debian's 0.92 on Starlette 0.26) with what real apps
use: JSON bodies, typed path and query parameters, forms and multipart
uploads, streamed responses and server-sent events, files, background
tasks, errors, and a WebSocket. State the client cannot see on the wire (background
tasks' work) is kept in the worker's memory and read back with GET
/tasks; GET /pid names the worker.

Streams wait, between their parts, for GET /release/NAME: so a client
that reads a part before it releases the next proves that each part
reached it before the next was made."""

import asyncio
import hashlib
import os
from typing import List, Optional

from fastapi import BackgroundTasks, FastAPI, File, Form, HTTPException, UploadFile, WebSocket, WebSocketDisconnect
from fastapi.responses import FileResponse, PlainTextResponse, StreamingResponse
from pydantic import BaseModel

FILES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "files")

app = FastAPI()
EVENTS = {}
TASKS = []


def event(name):
    if name not in EVENTS:
        EVENTS[name] = asyncio.Event()
    return EVENTS[name]


async def gate(name):
    """Waits for GET /release/NAME, then re-arms it."""
    await asyncio.wait_for(event(name).wait(), 10)
    EVENTS.pop(name, None)


class Item(BaseModel):
    name: str
    price: float
    tags: List[str] = []


@app.get("/pid")
async def pid():
    return {"pid": os.getpid()}


@app.get("/items/{item_id}")
async def read_item(item_id: int, q: Optional[str] = None, limit: int = 10):
    return {"item_id": item_id, "q": q, "limit": limit}


@app.post("/items", status_code=201)
async def create_item(item: Item):
    return {"name": item.name, "total": item.price * 2, "tags": item.tags}


@app.post("/form")
async def form(name: str = Form(...), count: int = Form(...)):
    return {"name": name, "count": count}


@app.post("/upload")
async def upload(files: List[UploadFile] = File(...), note: str = Form("")):
    out = []
    for f in files:
        h = hashlib.sha256()
        n = 0
        while True:
            chunk = await f.read(1 << 16)
            if not chunk:
                break
            h.update(chunk)
            n += len(chunk)
        out.append({"filename": f.filename, "size": n, "sha256": h.hexdigest(),
                    "content_type": f.content_type})
    return {"note": note, "files": out}


@app.get("/release/{name}")
async def release(name: str):
    event(name).set()
    return {"released": name}


@app.get("/stream")
async def stream(name: str = "stream"):
    async def parts():
        for i in range(3):
            if i:
                await gate(name)
            yield "part %d\n" % i
    return StreamingResponse(parts(), media_type="text/plain")


@app.get("/events")
async def events(name: str = "events"):
    """Server-sent events (FastAPI 0.92 has no EventSourceResponse: a
    StreamingResponse of text/event-stream is what apps write)."""
    async def feed():
        for i in range(3):
            if i:
                await gate(name)
            yield "id: %d\nevent: tick\ndata: {\"n\": %d}\n\n" % (i, i)
    return StreamingResponse(feed(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@app.api_route("/file", methods=["GET", "HEAD"])
async def file():
    return FileResponse(os.path.join(FILES, "hello.txt"), media_type="text/plain", filename="greeting.txt")


async def record(name: str):
    await gate("task-" + name)  # the response went before this ran on
    TASKS.append(name)


@app.post("/tasks/{name}", status_code=202)
async def add_task(name: str, background: BackgroundTasks):
    background.add_task(record, name)
    return {"queued": name}


@app.get("/tasks")
async def tasks():
    return {"done": TASKS}


@app.get("/boom")
async def boom():
    raise RuntimeError("the endpoint failed on purpose")


@app.get("/teapot")
async def teapot():
    raise HTTPException(status_code=418, detail="short and stout")


@app.websocket("/ws")
async def ws(websocket: WebSocket):
    """Echoes text; closes with 4100 on "bye"."""
    await websocket.accept()
    try:
        while True:
            text = await websocket.receive_text()
            if text == "bye":
                await websocket.close(code=4100)
                return
            await websocket.send_text("echo: " + text)
    except WebSocketDisconnect:
        pass


@app.get("/", response_class=PlainTextResponse)
async def home():
    return "Hello from FastAPI"
