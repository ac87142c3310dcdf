"""The FastAPI hello of the benchmark: one route, a plain-text response."""

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse

app = FastAPI()


@app.get("/", response_class=PlainTextResponse)
async def hello():
    return "Hello, World!"


@app.get("/json")
async def hello_json():
    return {"message": "Hello, World!"}


@app.post("/echo")
async def echo(body: dict):
    return body


@app.get("/sync")
def hello_sync():
    """A plain def: FastAPI runs it in anyio's thread pool, which wants
    asyncio.current_task()."""
    return {"sync": True}
