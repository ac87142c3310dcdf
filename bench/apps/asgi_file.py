"""A 50 KiB file sent by an ASGI app, for the benchmark's asgi-file row.

Where the server offers the http.response.pathsend extension (nave does)
the app hands it the path; elsewhere it answers with Starlette's
FileResponse, as an app on Debian's Starlette 0.26 (which predates
pathsend) does: the file read in 64 KiB chunks on a thread and sent as
body messages. The file is made once, the same bytes for every server.
"""

import os
import tempfile

from starlette.responses import FileResponse

SIZE = 50 * 1024
PATH = os.path.join(tempfile.gettempdir(), "nave-bench-50k.bin")


def _make():
    data = bytes((i * 7 + (i >> 8)) & 0xFF for i in range(SIZE))
    try:
        with open(PATH, "rb") as f:
            if f.read() == data:
                return
    except OSError:
        pass
    tmp = "%s.%d" % (PATH, os.getpid())
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, PATH)


_make()
_STAT = os.stat(PATH)
_HEADERS = [(b"content-type", b"application/octet-stream"),
            (b"content-length", str(_STAT.st_size).encode())]


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    if "http.response.pathsend" in scope.get("extensions", {}):
        await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
        await send({"type": "http.response.pathsend", "path": PATH})
        return
    await FileResponse(PATH, stat_result=_STAT)(scope, receive, send)
