"""A FastAPI chat over a WebSocket, served by nave's ASGI gateway: GET /
is a page that opens ws(s)://HOST/ws, and every message one browser sends
reaches every browser connected to the same worker."""

from fastapi import FastAPI, WebSocket, WebSocketDisconnect
from fastapi.responses import HTMLResponse

app = FastAPI()
clients = set()

PAGE = """<!doctype html>
<html>
<head><meta charset="utf-8"><title>nave chat</title></head>
<body>
<h1>nave chat</h1>
<form id="form"><input id="text" autocomplete="off" autofocus><button>Send</button></form>
<ul id="messages"></ul>
<script>
const scheme = location.protocol === "https:" ? "wss://" : "ws://";
const ws = new WebSocket(scheme + location.host + "/ws");
const list = document.getElementById("messages");
const first = new URLSearchParams(location.search).get("say");
ws.onopen = () => { if (first) ws.send(first); };
ws.onmessage = (event) => {
  const li = document.createElement("li");
  li.className = "message";
  li.textContent = event.data;
  list.appendChild(li);
};
document.getElementById("form").onsubmit = (event) => {
  event.preventDefault();
  const input = document.getElementById("text");
  if (input.value) ws.send(input.value);
  input.value = "";
};
</script>
</body>
</html>
"""


@app.get("/")
async def page():
    return HTMLResponse(PAGE)


@app.websocket("/ws")
async def chat(websocket: WebSocket):
    await websocket.accept()
    clients.add(websocket)
    try:
        while True:
            text = await websocket.receive_text()
            for client in list(clients):
                try:
                    await client.send_text("echo: " + text)
                except (RuntimeError, OSError):
                    clients.discard(client)
    except WebSocketDisconnect:
        pass
    finally:
        clients.discard(websocket)
