"""Apps whose lifespan fails, one way each."""


async def failed(scope, receive, send):
    """Says lifespan.startup.failed with a message."""
    assert scope["type"] == "lifespan"
    await receive()
    await send({"type": "lifespan.startup.failed", "message": "the database is not there"})


async def raising(scope, receive, send):
    """Raises on the lifespan scope, as an app without lifespan support
    does: auto goes on without it, on fails."""
    if scope["type"] != "http":
        raise RuntimeError("lifespan not supported here")
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"served without lifespan"})
