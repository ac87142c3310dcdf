"""A Starlette WebSocketEndpoint: echoes JSON back with a count, closes
with 4100 on "bye"."""

from starlette.applications import Starlette
from starlette.endpoints import WebSocketEndpoint
from starlette.routing import WebSocketRoute


class Echo(WebSocketEndpoint):
    encoding = "json"

    async def on_connect(self, websocket):
        self.count = 0
        await websocket.accept(subprotocol="json.v1" if "json.v1" in websocket.scope["subprotocols"] else None)

    async def on_receive(self, websocket, data):
        if data.get("say") == "bye":
            await websocket.close(code=4100)
            return
        self.count += 1
        await websocket.send_json({"echo": data, "count": self.count})


app = Starlette(routes=[WebSocketRoute("/ws", Echo)])
