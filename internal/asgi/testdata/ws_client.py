"""Python's websockets client against nave's ASGI gateway: each scenario
prints what it saw, and ws_test.go compares the lines."""

import asyncio
import json
import sys

import websockets


async def basic(base):
    async with websockets.connect(base + "/mnt/echo?basic", subprotocols=["chat", "other"], max_size=None) as ws:
        print("subprotocol", ws.subprotocol)
        print("x-ws", ws.response_headers.get("x-ws"))
        print("extensions", ",".join(e.name for e in ws.extensions))
        await ws.send("héllo")
        print("text", await ws.recv())
        await ws.send(b"\x00\xff")
        print("bytes", (await ws.recv()).hex())
        big = bytes(range(256)) * (12 << 10)  # 3 MiB: travels in pieces both ways
        await ws.send(big)
        print("3MiB", await ws.recv() == big)
        await ws.send("scope")
        s = json.loads(await ws.recv())
        print("scope", s["type"], s["scheme"], s["http_version"], s["path"], s["root_path"],
              s["query_string"], s["subprotocols"], sorted(s["extensions"]), s["asgi"]["version"])
        await ws.close(code=4000, reason="bye")
        print("closed", ws.close_code)


async def app_close(base):
    async with websockets.connect(base + "/echo?appclose") as ws:
        await ws.send("close 4321 app says bye")
        try:
            await ws.recv()
        except websockets.ConnectionClosed as exc:
            print("closed", exc.rcvd.code, exc.rcvd.reason)


async def too_big(base):
    async with websockets.connect(base + "/echo?toobig", max_size=None, compression=None) as ws:
        try:
            await ws.send(b"x" * (20 << 20))
            await ws.recv()
        except websockets.ConnectionClosed as exc:
            print("closed", exc.rcvd.code)


async def app_raises(base):
    async with websockets.connect(base + "/echo?raises") as ws:
        await ws.send("raise")
        try:
            await ws.recv()
        except websockets.ConnectionClosed as exc:
            print("closed", exc.rcvd.code)


async def denied(base):
    for path in ("/deny", "/refuse"):
        try:
            async with websockets.connect(base + path):
                print("accepted?")
        except websockets.InvalidStatusCode as exc:
            print("status", exc.status_code, exc.headers.get("x-denied"))


async def many(base):
    n = 200
    socks = [await websockets.connect(base + "/echo?many%d" % i) for i in range(n)]
    await asyncio.gather(*(ws.send("m%d" % i) for i, ws in enumerate(socks)))
    got = await asyncio.gather(*(ws.recv() for ws in socks))
    print("many", got == ["m%d" % i for i in range(n)])
    await asyncio.gather(*(ws.close() for ws in socks))


async def chat(base):
    """The FastAPI example: what one client says reaches both."""
    async with websockets.connect(base + "/ws") as a, websockets.connect(base + "/ws") as b:
        await a.send("hi all")
        print("a", await a.recv())
        print("b", await b.recv())


async def starlette(base):
    async with websockets.connect(base + "/ws", subprotocols=["json.v1"]) as ws:
        print("subprotocol", ws.subprotocol)
        for i in range(2):
            await ws.send(json.dumps({"n": i}))
            print(await ws.recv())
        await ws.send(json.dumps({"say": "bye"}))
        try:
            await ws.recv()
        except websockets.ConnectionClosed as exc:
            print("closed", exc.rcvd.code)


async def quart(base):
    async with websockets.connect(base + "/ws") as ws:
        for msg in ("héllo", b"\x00\x01", "x" * 100000):
            await ws.send(msg)
            got = await ws.recv()
            print(type(got).__name__, len(got), got == msg)
        await ws.send("close")
        try:
            await ws.recv()
        except websockets.ConnectionClosed as exc:
            print("closed", exc.rcvd.code)


asyncio.run(globals()[sys.argv[1]](sys.argv[2]))
