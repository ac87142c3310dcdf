"""A WSGI app that exercises one PEP 3333 point per path, for nave's tests.
Standard library only."""

import hashlib
import json
import os
import sys
import time

STATE = {"closed": 0}


def environ_json(environ):
    out = {}
    for k, v in environ.items():
        if isinstance(v, str):
            out[k] = v
        elif isinstance(v, (bool, int)) or v is None:
            out[k] = v
        elif isinstance(v, tuple):
            out[k] = list(v)
        else:
            out[k] = "<%s>" % type(v).__name__
    out["wsgi.input.has"] = sorted(
        m for m in ("read", "readline", "readlines", "__iter__") if hasattr(environ["wsgi.input"], m))
    out["wsgi.errors.has"] = sorted(
        m for m in ("write", "writelines", "flush") if hasattr(environ["wsgi.errors"], m))
    out["pid"] = os.getpid()
    return out


class Closing:
    """An iterable with close(), to check that nave's worker calls it."""

    def __init__(self, blocks):
        self.blocks = blocks

    def __iter__(self):
        return iter(self.blocks)

    def close(self):
        STATE["closed"] += 1


MARKS = []  # /mark?NAME's names, in order: the requests the app ran


def app(environ, start_response):
    path = environ["PATH_INFO"]
    qs = environ["QUERY_STRING"]
    text = [("Content-Type", "text/plain")]
    inp = environ["wsgi.input"]

    if path == "/environ" or environ.get("HTTP_X_PROBE") == "environ":
        body = json.dumps(environ_json(environ), sort_keys=True).encode()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body]
    if path == "/hello":
        start_response("200 OK", text)
        return [b"Hello, world!\n"]
    if path == "/echo":
        data = inp.read()
        start_response("200 OK", [("Content-Type", "application/octet-stream"),
                                  ("X-Sha256", hashlib.sha256(data).hexdigest())])
        return [data]
    if path == "/hash":
        h = hashlib.sha256()
        n = 0
        while True:
            block = inp.read(65536)
            if not block:
                break
            h.update(block)
            n += len(block)
        start_response("200 OK", text)
        return [("%d %s" % (n, h.hexdigest())).encode()]
    if path == "/input":
        out = []
        if qs == "read":
            out.append(inp.read())
            out.append(inp.read())  # EOF: b''
        elif qs == "readn":
            while True:
                b = inp.read(3)
                out.append(b)
                if not b:
                    break
        elif qs == "readline":
            while True:
                line = inp.readline()
                out.append(line)
                if not line:
                    break
        elif qs == "readline-size":
            out.append(inp.readline(2))
            out.append(inp.readline())
        elif qs == "readlines":
            out.extend(inp.readlines())
            out.append(inp.read())
        elif qs == "iter":
            out.extend(list(inp))
        start_response("200 OK", text)
        return [repr(out).encode()]
    if path == "/stream":
        n = int(qs or "3")
        start_response("200 OK", text)

        def gen():
            for i in range(n):
                yield ("block %d\n" % i).encode()
                time.sleep(0.05)
        return gen()
    if path == "/stream-forever":
        start_response("200 OK", text)

        def forever():
            try:
                while True:
                    yield b"x" * 1024
                    time.sleep(0.01)
            finally:
                sys.stderr.write("stream-forever closed\n")
        return forever()
    if path == "/big-stream":
        n = int(qs or "20")
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return (bytes([i % 256]) * (1 << 20) for i in range(n))
    if path == "/big":
        n = int(qs or str(3 << 20))
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return [b"b" * n]
    if path == "/generator-cl":
        start_response("200 OK", text + [("Content-Length", "5")])

        def gen():
            yield b"hel"
            yield b"lo"
        return gen()
    if path == "/generator-cl-whole":
        start_response("200 OK", text + [("Content-Length", "5")])
        return (b for b in [b"hello"])
    if path == "/generator-cl-extra":
        start_response("200 OK", text + [("Content-Length", "3")])
        return (b for b in [b"abc", b"def"])
    if path == "/short-cl":
        start_response("200 OK", text + [("Content-Length", "100")])
        return [b"only this"]
    if path == "/long-cl":
        start_response("200 OK", text + [("Content-Length", "3")])
        return [b"too long"]
    if path == "/write":
        write = start_response("200 OK", text)
        write(b"written ")
        write(b"twice ")
        return [b"then returned\n"]
    if path == "/empty-blocks":
        start_response("200 OK", text)
        return [b"", b"a", b"", b"b"]
    if path == "/close":
        start_response("200 OK", text)
        return Closing([b"closed so far: ", str(STATE["closed"]).encode()])
    if path == "/close-count":
        start_response("200 OK", text)
        return [str(STATE["closed"]).encode()]
    if path == "/raise-before":
        raise RuntimeError("boom before start_response")
    if path == "/raise-after-start":
        start_response("200 OK", text)
        raise RuntimeError("boom after start_response")
    if path == "/raise-in-iter":
        start_response("200 OK", text)

        def gen():
            yield b"first block\n"
            time.sleep(0.05)
            raise RuntimeError("boom mid-body")
        return gen()
    if path == "/exc-info":
        start_response("200 OK", text)
        try:
            raise ValueError("handled")
        except ValueError:
            start_response("500 Internal Server Error", text, sys.exc_info())
        return [b"error page\n"]
    if path == "/exc-info-late":
        write = start_response("200 OK", text)
        write(b"sent\n")
        try:
            raise ValueError("too late")
        except ValueError:
            start_response("500 Internal Server Error", text, sys.exc_info())
        return [b"never\n"]
    if path == "/no-start":
        return [b"no start_response"]
    if path == "/twice":
        start_response("200 OK", text)
        start_response("200 OK", text)
        return [b"x"]
    if path == "/str-body":
        start_response("200 OK", text)
        return ["not bytes"]
    if path == "/bad-latin1":
        start_response("200 OK", [("X-Name", "\u20ac")])
        return [b"x"]
    if path == "/bad-crlf":
        start_response("200 OK", [("X-Split", "a\r\nSet-Cookie: evil=1")])
        return [b"x"]
    if path == "/bad-nul":
        start_response("200 OK", [("X-Nul", "a\0Set-Cookie\0evil")])
        return [b"x"]
    if path == "/bad-name":
        start_response("200 OK", [("Bad Name", "x")])
        return [b"x"]
    if path == "/bad-status":
        start_response("2000 Nope", text)
        return [b"x"]
    if path == "/status":
        status = qs.replace("+", " ").replace("%20", " ")
        if status[:3] in ("204", "304"):
            start_response(status, [])
            return []
        start_response(status, text)
        return [b"status body"]
    if path == "/cookies":
        start_response("200 OK", text + [("Set-Cookie", "a=1; Path=/"), ("Set-Cookie", "b=2; HttpOnly")])
        return [b"cookies"]
    if path == "/file":
        f = open(qs, "rb")
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return environ["wsgi.file_wrapper"](f, 8192)
    if path == "/file-offset":
        name, _, off = qs.partition(",")
        f = open(name, "rb")
        f.seek(int(off))
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return environ["wsgi.file_wrapper"](f)
    if path == "/file-like":
        import io
        start_response("200 OK", text)
        return environ["wsgi.file_wrapper"](io.BytesIO(b"from a BytesIO\n"), 4)
    if path == "/print":
        print("hello from print", flush=False)
        sys.stdout.write("\x00\x00\x00\x10garbage that looks like a frame\n")
        os.write(1, b"straight to fd 1\n")
        os.write(2, b"straight to fd 2\n")
        environ["wsgi.errors"].write("to wsgi.errors\n")
        start_response("200 OK", text)
        return [b"printed"]
    if path == "/exit":
        os._exit(7)
    if path == "/sys-exit":
        sys.exit(3)
    if path == "/mark":
        MARKS.append(qs)
        start_response("200 OK", text)
        return [b"marked"]
    if path == "/marks":
        start_response("200 OK", text)
        return [" ".join(MARKS).encode()]
    if path == "/sleep":
        time.sleep(float(qs or "1"))
        start_response("200 OK", text)
        return [b"slept"]
    if path == "/fork":
        pid = os.fork()
        if pid == 0:
            # The child comes back into the worker's loop: it must not answer.
            time.sleep(0.2)
            start_response("200 OK", text)
            return [b"child"]
        os.waitpid(pid, 0)
        start_response("200 OK", text)
        return [b"parent %d" % os.getpid()]
    if path == "/fork-daemon":
        pid = os.fork()
        if pid == 0:
            time.sleep(0.5)
            os._exit(0)
        start_response("200 OK", text)
        return [b"forked %d" % pid]
    if path == "/pid":
        start_response("200 OK", text)
        return [str(os.getpid()).encode()]
    if path == "/huge-head":
        start_response("200 OK", text + [("X-Big", "x" * (300 << 10))])
        return [b"x"]
    if path == "/method":
        start_response("200 OK", text)
        return [environ["REQUEST_METHOD"].encode()]
    start_response("404 Not Found", text)
    return [b"not found\n"]


application = app
