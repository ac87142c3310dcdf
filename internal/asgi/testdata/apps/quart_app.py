"""A Quart app (Debian's 0.18): a route, JSON both ways, a streamed
response whose parts wait for GET /release/NAME, and a WebSocket route
that echoes."""

import asyncio
import os

from quart import Quart, jsonify, request, websocket

app = Quart(__name__)
EVENTS = {}


def event(name):
    if name not in EVENTS:
        EVENTS[name] = asyncio.Event()
    return EVENTS[name]


@app.route("/")
async def home():
    return "Hello from Quart"


@app.route("/pid")
async def pid():
    return jsonify(pid=os.getpid())


@app.route("/json", methods=["POST"])
async def echo_json():
    data = await request.get_json()
    return jsonify(got=data, method=request.method, args=request.args.get("x")), 201


@app.route("/release/<name>")
async def release(name):
    event(name).set()
    return "released"


@app.route("/stream")
async def stream():
    name = request.args.get("name", "stream")

    async def parts():
        for i in range(3):
            if i:
                await asyncio.wait_for(event(name).wait(), 10)
                EVENTS.pop(name, None)
            yield b"part %d\n" % i
    return parts(), 200, {"Content-Type": "text/plain"}


@app.websocket("/ws")
async def ws():
    while True:
        msg = await websocket.receive()
        if msg == "close":
            await websocket.close(4002)
            return
        await websocket.send(msg)
