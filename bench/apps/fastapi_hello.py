"""The FastAPI apps of the benchmark: the hello (a plain-text response) and
a FileResponse of asgi_file.py's 50 KiB file."""

from fastapi import FastAPI
from fastapi.responses import FileResponse, PlainTextResponse

import asgi_file

app = FastAPI()


@app.get("/", response_class=PlainTextResponse)
async def hello():
    return "Hello, World!"


@app.get("/file")
async def file():
    """The 50 KiB file of asgi_file.py, as a FastAPI FileResponse."""
    return FileResponse(asgi_file.PATH, media_type="application/octet-stream")
