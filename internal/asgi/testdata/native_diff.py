"""native.c against adapter.py: the same REQUEST frames and the same send()
calls through the adapter with its native module and without it must give
the same scopes, the same frames to nave and the same exceptions.

Usage: python3 native_diff.py ADAPTER.py NATIVE_FOLDER
Prints "N cases alike" and exits 0, or prints each difference and exits 1.
"""

import asyncio
import importlib.util
import os
import struct
import sys

HDR = struct.Struct("<IBI")


def load(path, native_dir):
    if native_dir:
        os.environ["NAVE_ASGI_NATIVE"] = native_dir
    else:
        os.environ.pop("NAVE_ASGI_NATIVE", None)
    name = "adapter_native" if native_dir else "adapter_python"
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    if bool(native_dir) != (mod.native is not None):
        raise SystemExit("%s: native module %s" % (name, "missing" if native_dir else "loaded"))
    return mod


def request_frame(rid, method=b"GET", path=b"/", raw=b"/", query=b"", conn=None, headers=(), body=b"", more=False):
    req = b"\0".join([method, path, raw, query])
    conn = conn if conn is not None else b"\0".join([b"http", b"1.1", b"", b"127.0.0.1:50001", b"127.0.0.1:8000"])
    head = b"\0".join(x for pair in headers for x in pair)
    payload = struct.pack("<BIII", 1 if more else 0, len(req), len(conn), len(head)) + req + conn + head + body
    return HDR.pack(len(payload), 1, rid) + payload


class Transport:
    def __init__(self):
        self.out = []

    def write(self, data):
        self.out.append(bytes(data))

    def is_closing(self):
        return False


def describe(exc):
    return None if exc is None else "%s: %s" % (type(exc).__name__, exc)


def run(mod, loop, frame, messages, split=0, cancel=False):
    """Feeds frame (in two parts, the first split bytes long, if split);
    the app records its scope and what receive() gives until the body
    ends, then sends messages, recording each send's outcome. Returns what
    it saw, the frames written to nave, and the requests the adapter still
    counts (none, once the apps returned)."""
    seen = {}

    async def app(scope, receive, send):
        seen["scope"] = {k: v for k, v in scope.items()}
        seen["receive"] = [await receive()]
        while seen["receive"][-1].get("more_body"):
            seen["receive"].append(await receive())
        outcomes = []
        for m in messages:
            if m == "yield":
                await asyncio.sleep(0)
                continue
            if m == "raise":
                seen["sends"] = outcomes
                raise RuntimeError("the app failed")
            if m == "wait":
                seen["sends"] = outcomes
                await loop.create_future()  # until cancelled
            try:
                r = send(m)
                await r
                outcomes.append(None)
            except Exception as exc:
                outcomes.append(describe(exc))
        seen["sends"] = outcomes

    conn = mod.Conn(app, loop, "task", False, {"shared": 1})
    conn.transport = Transport()
    if split:
        conn.feed(frame[:split])
        loop.run_until_complete(asyncio.sleep(0))
        frame = frame[split:]
    conn.feed(frame)
    for _ in range(5):
        loop.run_until_complete(asyncio.sleep(0))
    if cancel:
        conn.cancel_all()
        for _ in range(5):
            loop.run_until_complete(asyncio.sleep(0))
    conn.flush()
    return seen, b"".join(conn.transport.out), conn.running, sorted(conn.requests)


class Mapping(dict):
    """A dict subclass: native.c hands messages other than plain dicts to
    adapter.py."""


START = {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]}
BODY = {"type": "http.response.body", "body": b"Hello"}

FRAMES = [
    request_frame(1),
    request_frame(2, b"POST", b"/caf\xc3\xa9", b"/caf%C3%A9", b"a=1&b=2",
                  headers=[(b"host", b"x"), (b"cookie", b"a"), (b"cookie", b"b")], body=b"abc"),
    request_frame(3, b"BREW", b"/\xff\xfe", b"/%FF%FE", b"", headers=[(b"x", b"")]),
    request_frame(4, conn=b"\0".join([b"https", b"2", b"/mount", b"[::1]:443", b""])),
    request_frame(5, headers=[(b"a", b"1"), (b"b", b"2"), (b"c", b"3")], body=b"x" * 5000),
]

SENDS = [
    [START, BODY],
    [START, {"type": "http.response.body"}],
    [{"type": "http.response.start", "status": 404}, BODY],
    [{"type": "http.response.start", "status": 200, "headers": []}, BODY],
    [{"type": "http.response.start", "status": 200, "headers": [[b"a", b"b"]]}, BODY],
    [{"type": "http.response.start", "status": 200, "headers": ((b"a", b"b"),)}, BODY],
    [{"type": "http.response.start", "status": 200, "headers": [(b"a", bytearray(b"b"))]}, BODY],
    [{"type": "http.response.start", "status": 200, "headers": [(b"a\0", b"b")]}, BODY],
    [{"type": "http.response.start", "status": 200, "headers": [(b"a", b"b", b"c")]}, BODY],
    [{"type": "http.response.start", "status": 200, "headers": [("a", "b")]}, BODY],
    [{"type": "http.response.start", "headers": []}, BODY],
    [{"type": "http.response.start", "status": "200"}, BODY],
    [{"type": "http.response.start", "status": 70000}, BODY],
    [{"type": "http.response.start", "status": -1}, BODY],
    [{"type": "http.response.start", "status": True}, BODY],
    [START, {"type": "http.response.body", "body": b"a", "more_body": True}, BODY],
    [START, {"type": "http.response.body", "body": b"a", "more_body": 0}],
    [START, {"type": "http.response.body", "body": bytearray(b"ab")}],
    [START, {"type": "http.response.body", "body": memoryview(b"abc")}],
    [START, {"type": "http.response.body", "body": None}],
    [START, {"type": "http.response.body", "body": "text"}],
    [START, {"type": "http.response.body", "body": b"x" * (256 << 10)}],
    [START, BODY, BODY],
    [BODY],
    [START, START],
    [Mapping(START), Mapping(BODY)],
    [{"type": "http.response.start", "status": 200, "trailers": True}, BODY,
     {"type": "http.response.trailers", "headers": [(b"x", b"1")]}],
    [{"type": "http.response.start", "status": 200, "trailers": False}, BODY],
    [{"type": "http.response.start", "status": 200, "trailers": 1}, BODY],
    [START, {"type": "http.response.pathsend", "path": "/etc/hostname"}],
    [{"type": "http.response.early_hint", "links": [b"</a.css>; rel=preload"]}, START, BODY],
    [{"type": "unknown"}],
    [{"status": 200}],
    [{"type": b"http.response.start", "status": 200}],
    [START, {"type": "http.response.body", "body": b"x", "more_body": False}],
    ["yield", START, "yield", BODY, "yield"],
    ["raise"],
    [START, "raise"],
    [START, BODY, "raise"],
    ["yield", START, "yield", "raise"],
]


def main():
    adapter, native_dir = sys.argv[1:3]
    mods = [load(adapter, ""), load(adapter, native_dir)]
    loop = asyncio.new_event_loop()
    for mod in mods:
        mod.SENT = loop.create_future()
        mod.SENT.set_result(None)
    # A REQUEST, then one whose body ends in a BODY_END frame.
    two = FRAMES[0] + request_frame(2, b"PUT", body=b"head", more=True) + HDR.pack(4, 3, 2) + b"tail"
    cases = [(f, [START, BODY], 0) for f in FRAMES] + [(FRAMES[0], s, 0) for s in SENDS]
    cases += [(two, [START, BODY], 0)] + [(two, [START, BODY], k) for k in (5, 9, len(FRAMES[0]) + 3, len(two) - 2)]
    bad = 0
    python_hello = run(mods[0], loop, FRAMES[0], [START, BODY])
    # A request cancelled at shutdown (Conn.cancel_all), before and after
    # its response began.
    for messages in (["wait"], [START, "wait"]):
        python, native = (run(mod, loop, FRAMES[0], messages, cancel=True) for mod in mods)
        if python != native:
            bad += 1
            print("cancelled %r differs:\n  adapter.py: %r\n  native.c:   %r" % (messages, python, native))
    for i, (frame, messages, split) in enumerate(cases):
        python, native = (run(mod, loop, frame, messages, split) for mod in mods)
        if python != native:
            bad += 1
            print("case %d differs:\n  adapter.py: %r\n  native.c:   %r" % (i, python, native))
        elif "sends" not in python[0]:
            bad += 1
            print("case %d: the app did not run: %r" % (i, python))
    # A task factory set on the loop (as NAVE_ASGI_RUN=eager does, or an
    # app's tracing) makes each request's Task.
    made = []

    def factory(loop, coro, **kw):
        if getattr(coro, "__qualname__", "") == "Conn.run":
            made.append(coro)
        return asyncio.Task(coro, loop=loop, **kw)

    loop.set_task_factory(factory)
    for mod in mods:
        made.clear()
        got = run(mod, loop, FRAMES[0], [START, BODY])
        if len(made) != 1 or got[1] != python_hello[1]:
            bad += 1
            print("%s with a task factory: %d tasks made, wrote %r" % (mod.__name__, len(made), got[1]))
    loop.set_task_factory(None)
    if bad:
        sys.exit(1)
    print("%d cases alike" % len(cases))


if __name__ == "__main__":
    main()
