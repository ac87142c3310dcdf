"""An ASGI middleware that holds the server to the ASGI spec (asgiref
specs/asgi.rst, www.rst 2.4, lifespan.rst 2.0): it wraps an app and
checks every scope and every message the server gives the app, and that
send() on a closed connection raises an OSError subclass. Breaches are
recorded, not raised, so the app runs on as it would; the test reads them
at the end.

    GET <root>/__speccheck/expect?scheme=S&http_version=V
        expect these in the scopes to come (WebSockets: S mapped to ws or
        wss), and start the counts afresh
    GET <root>/__speccheck
        {"breaches": [...], "counts": {...}}: what was checked, and
        what broke the spec

Each breach also goes to stderr, which nave logs, and so does the
lifespan's shutdown event: a test can check what came after its last
report. The factories at the end wrap the test apps: speccheck:fastapi()
and so on. One worker: the record is the worker's."""

import collections
import json
import re
import sys
import urllib.parse

HEADER_NAME = re.compile(rb"^[!#$%&'*+\-.^_`|~0-9a-z]+$")  # a token, lower-cased
METHOD = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Z]+$")  # a token, upper-cased
SPEC_VERSION = re.compile(r"^2\.\d+$")
WS_SCHEMES = {"http": "ws", "https": "wss"}
MARKER = "speccheck.marker"  # put in the lifespan state: every request's copy has it
LEAK = "speccheck.leak"  # put in each request's state: no later copy may have it
NEW, STARTED, ENDED = 0, 1, 2


class SpecCheck:
    def __init__(self, app):
        self.app = app
        self.breaches = []
        self.counts = collections.Counter()
        self.expect = {}
        self.lifespan_state = None  # the lifespan scope's state, once seen

    def breach(self, where, text):
        self.counts["breaches"] += 1
        sys.stderr.write("speccheck: breach: %s: %s\n" % (where, text))  # nave logs it: seen after the last report too
        if len(self.breaches) < 100:
            self.breaches.append("%s: %s" % (where, text))

    async def __call__(self, scope, receive, send):
        kind = scope.get("type") if isinstance(scope, dict) else None
        self.counts["scope " + str(kind)] += 1
        if kind == "lifespan":
            call = Lifespan(self, scope)
        elif kind == "http":
            call = HTTP(self, scope)
        elif kind == "websocket":
            call = WebSocket(self, scope)
        else:
            self.breach("scope", "type %r, want http, websocket or lifespan" % (kind,))
            return await self.app(scope, receive, send)
        if kind == "http" and str(scope.get("path")).endswith("/__speccheck/expect"):
            q = urllib.parse.parse_qs(scope["query_string"].decode())
            self.expect = {k: v[0] for k, v in q.items()}  # this request's scope included
            self.counts = collections.Counter({k: v for k, v in self.counts.items() if k == "breaches"})
        try:
            call.check_scope(scope)
        except Exception as exc:  # a scope so wrong that checking it failed
            call.breach("the scope broke the check: %s: %s" % (type(exc).__name__, exc))
        if kind == "http" and call.tail.startswith("/__speccheck"):
            return await self.answer(call, scope, send)
        return await self.app(scope, call.wrap_receive(receive), call.wrap_send(send))

    async def answer(self, call, scope, send):
        if call.tail == "/__speccheck/expect":
            body = b"expecting"
        else:
            body = json.dumps({"breaches": self.breaches, "counts": self.counts}).encode()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"cache-control", b"no-store")]})
        await send({"type": "http.response.body", "body": body})


class Call:
    """One scope's checks."""

    def __init__(self, check, scope):
        self.check = check
        self.scope_type = scope.get("type")
        self.where = "%s %s" % (self.scope_type, scope.get("path", ""))
        self.tail = ""

    def breach(self, text):
        self.check.breach(self.where, text)

    def want(self, ok, text):
        if not ok:
            self.breach(text)
        return ok

    def keys(self, msg, allowed):
        extra = set(msg) - set(allowed)
        self.want(not extra, "%s has keys %s beyond the spec's" % (msg.get("type"), sorted(extra)))

    def check_asgi(self, scope, spec):
        a = scope.get("asgi")
        if self.want(isinstance(a, dict), "asgi is %r, want a dict" % (a,)):
            self.want(a.get("version") == "3.0", "asgi.version %r, want \"3.0\"" % (a.get("version"),))
            v = a.get("spec_version")
            self.want(isinstance(v, str) and spec.match(v), "asgi.spec_version %r" % (v,))

    def check_state(self, scope):
        ls = self.check.lifespan_state
        if ls is None:
            return  # no lifespan ran: state is optional
        st = scope.get("state")
        if not self.want(isinstance(st, dict), "state is %r, want a dict (the lifespan had one)" % (st,)):
            return
        self.want(st is not ls, "state is the lifespan's own dict, want a shallow copy")
        self.want(st.get(MARKER) is True, "state lacks what the lifespan put in it")
        self.want(LEAK not in st, "state holds what an earlier request put in its copy")
        self.want(LEAK not in ls, "the lifespan's state holds what a request put in its copy")
        st[LEAK] = True

    async def probe(self, send, message, why):
        """send(message) on a closed connection: an OSError subclass."""
        self.check.counts["probes"] += 1
        try:
            await send(message)
        except OSError:
            return
        except Exception as exc:
            self.breach("send() %s raised %s: %s, want an OSError subclass" % (why, type(exc).__name__, exc))
            return
        self.breach("send() %s returned, want an OSError subclass" % why)


class Connection(Call):
    """What HTTP and WebSocket scopes share."""

    def check_scope(self, scope):
        ws = scope["type"] == "websocket"
        required = {"type", "asgi", "http_version", "scheme", "path", "raw_path", "query_string",
                    "root_path", "headers", "client", "server", "extensions"}
        required |= {"subprotocols"} if ws else {"method"}
        self.want(not required - set(scope), "scope lacks %s" % sorted(required - set(scope)))
        self.check_asgi(scope, SPEC_VERSION)
        exp = self.check.expect
        v = scope.get("http_version")
        self.want(v in (("1.1", "2") if ws else ("1.0", "1.1", "2")), "http_version %r" % (v,))
        if "http_version" in exp:
            self.want(v == exp["http_version"], "http_version %r, want %r" % (v, exp["http_version"]))
        s = scope.get("scheme")
        self.want(s in (("ws", "wss") if ws else ("http", "https")), "scheme %r" % (s,))
        if "scheme" in exp:
            want = WS_SCHEMES[exp["scheme"]] if ws else exp["scheme"]
            self.want(s == want, "scheme %r, want %r" % (s, want))
        if not ws:
            m = scope.get("method")
            self.want(isinstance(m, str) and METHOD.match(m), "method %r, want an upper-case token" % (m,))
        self.check_path(scope)
        self.check_headers(scope.get("headers"), v == "2")
        c, sv = scope.get("client"), scope.get("server")
        self.want(c is None or (len(c) == 2 and isinstance(c[0], str) and type(c[1]) is int),
                  "client %r, want None or (host, port)" % (c,))
        self.want(sv is None or (len(sv) == 2 and isinstance(sv[0], str) and (sv[1] is None or type(sv[1]) is int)),
                  "server %r, want None or (host, port or None)" % (sv,))
        ext = scope.get("extensions")
        self.want(isinstance(ext, dict) and all(isinstance(e, dict) for e in ext.values()),
                  "extensions %r, want a dict of dicts" % (ext,))
        if ws:
            sub = scope.get("subprotocols")
            self.want(sub is None or not isinstance(sub, (str, bytes)) and all(isinstance(p, str) for p in sub),
                      "subprotocols %r, want strings" % (sub,))
        self.check_state(scope)

    def wrap_send(self, send):
        """send, checked: after a disconnect the app heard it must raise
        an OSError subclass; after_send follows what went."""
        self.send = send
        gone = self.scope_type + ".disconnect"

        async def checked_send(msg):
            self.check.counts["sent"] += 1
            t = msg.get("type")
            try:
                await send(msg)
            except OSError:
                raise
            except Exception as exc:
                if self.disconnected:
                    self.breach("send(%s) after %s raised %s, want an OSError subclass" % (t, gone, type(exc).__name__))
                raise
            self.want(not self.disconnected or t == "websocket.close",
                      "send(%s) after %s returned, want an OSError subclass" % (t, gone))
            await self.after_send(send, msg)
        return checked_send

    def wrap_receive(self, receive):
        async def checked_receive():
            msg = await receive()
            self.check.counts["received"] += 1
            if self.want(isinstance(msg, dict) and isinstance(msg.get("type"), str), "receive() gave %r" % (msg,)):
                await self.received(msg)
            return msg
        return checked_receive

    def check_path(self, scope):
        path, raw, root, q = scope.get("path"), scope.get("raw_path"), scope.get("root_path"), scope.get("query_string")
        self.want(isinstance(path, str) and path.startswith("/"), "path %r" % (path,))
        self.want(isinstance(raw, bytes) and b"?" not in raw, "raw_path %r, want bytes without the query" % (raw,))
        self.want(isinstance(q, bytes), "query_string %r, want bytes" % (q,))
        self.want(isinstance(root, str), "root_path %r, want a str" % (root,))
        if isinstance(path, str) and isinstance(root, str):
            self.want(path.startswith(root), "path %r does not include root_path %r" % (path, root))
            self.tail = path[len(root):]
        if isinstance(path, str) and isinstance(raw, bytes):
            decoded = urllib.parse.unquote_to_bytes(raw).decode("utf-8", "replace")
            self.want(path == decoded, "path %r, want raw_path %r decoded" % (path, raw))

    def check_headers(self, headers, h2):
        if not self.want(headers is not None and not isinstance(headers, (bytes, str, dict)),
                         "headers %r, want an iterable of pairs" % (headers,)):
            return
        names = []
        for pair in headers:
            pair = list(pair)
            if not self.want(len(pair) == 2 and all(type(x) is bytes for x in pair),
                             "header %r, want [bytes, bytes]" % (pair,)):
                continue
            name, value = pair
            names.append(name)
            self.want(HEADER_NAME.match(name), "header name %r, want a lower-case token (no pseudo-header)" % name)
            self.want(not any(c in value for c in b"\r\n\0"), "header %r's value %r holds CR, LF or NUL" % (name, value))
        if h2 and b"host" in names:
            # www.rst: :authority goes first as host, replacing any host.
            self.want(names[0] == b"host" and names.count(b"host") == 1,
                      "over HTTP/2, host is not first and alone: %r" % names)


class HTTP(Connection):
    def __init__(self, check, scope):
        super().__init__(check, scope)
        self.body_done = False
        self.body_len = 0
        self.disconnected = False  # the app heard http.disconnect
        self.response = NEW
        self.trailers = False
        self.length = None
        for name, value in scope.get("headers") or ():
            if name == b"content-length":
                self.length = int(value)

    async def received(self, msg):
        t = msg["type"]
        if t == "http.request":
            self.keys(msg, ("type", "body", "more_body"))
            body, more = msg.get("body", b""), msg.get("more_body", False)
            self.want(type(body) is bytes, "http.request body %r, want bytes" % type(body))
            self.want(type(more) is bool, "http.request more_body %r, want a bool" % (more,))
            self.want(not self.body_done, "http.request after the last one")
            self.want(not self.disconnected, "http.request after http.disconnect")
            self.body_len += len(body) if type(body) is bytes else 0
            if not more:
                self.body_done = True
                if self.length is not None:
                    self.want(self.body_len == self.length,
                              "the body has %d bytes, Content-Length says %d" % (self.body_len, self.length))
        elif t == "http.disconnect":
            self.keys(msg, ("type",))
            self.check.counts["http.disconnect"] += 1
            if not self.disconnected:
                self.disconnected = True
                await self.probe(self.send, self.probe_message(), "after http.disconnect")
        else:
            self.breach("receive() gave type %r" % t)

    def probe_message(self):
        if self.response == NEW:
            return {"type": "http.response.start", "status": 500, "headers": []}
        return {"type": "http.response.body", "body": b"", "more_body": self.response == STARTED}

    async def after_send(self, send, msg):
        if self.sent(msg):
            await self.probe(send, self.probe_message(), "after the response completed")

    def sent(self, msg):
        """Follows the response; True when msg completed it."""
        t = msg.get("type")
        if t == "http.response.start":
            self.response = STARTED
            self.trailers = bool(msg.get("trailers"))
        elif t == "http.response.body" and not msg.get("more_body", False) and not self.trailers:
            self.response = ENDED
        elif t == "http.response.pathsend" and not self.trailers:
            self.response = ENDED
        elif t == "http.response.trailers" and not msg.get("more_trailers", False):
            self.response = ENDED
        else:
            return False
        return self.response == ENDED


class WebSocket(Connection):
    def __init__(self, check, scope):
        super().__init__(check, scope)
        self.connected = False
        self.disconnected = False
        self.accepted = False
        self.closed = False  # the app accepted, then sent websocket.close

    async def received(self, msg):
        t = msg["type"]
        first = not self.connected
        self.connected = True
        if first:
            self.want(t == "websocket.connect", "the first event is %r, want websocket.connect" % t)
        if t == "websocket.connect":
            self.keys(msg, ("type",))
            self.want(first, "websocket.connect again")
        elif t == "websocket.receive":
            self.keys(msg, ("type", "bytes", "text"))
            b, s = msg.get("bytes"), msg.get("text")
            self.want((b is None) != (s is None), "websocket.receive with bytes %r and text %r, want one" % (b, s))
            self.want(b is None or type(b) is bytes, "websocket.receive bytes of type %s" % type(b).__name__)
            self.want(s is None or type(s) is str, "websocket.receive text of type %s" % type(s).__name__)
            self.want(not self.disconnected, "websocket.receive after websocket.disconnect")
        elif t == "websocket.disconnect":
            self.keys(msg, ("type", "code", "reason"))
            code, reason = msg.get("code"), msg.get("reason", "")
            self.want(type(code) is int and 1000 <= code <= 4999, "websocket.disconnect code %r" % (code,))
            self.want(reason is None or isinstance(reason, str), "websocket.disconnect reason %r" % (reason,))
            self.check.counts["websocket.disconnect"] += 1
            if not self.disconnected:
                self.disconnected = True
                await self.probe(self.send, {"type": "websocket.send", "text": "late"}, "after websocket.disconnect")
        else:
            self.breach("receive() gave type %r" % t)

    async def after_send(self, send, msg):
        t = msg.get("type")
        self.accepted = self.accepted or t == "websocket.accept"
        if t == "websocket.close" and self.accepted and not self.closed and not self.disconnected:
            self.closed = True
            await self.probe(send, {"type": "websocket.send", "text": "late"}, "after websocket.close")


class Lifespan(Call):
    def __init__(self, check, scope):
        super().__init__(check, scope)
        self.events = []

    def check_scope(self, scope):
        self.check_asgi(scope, re.compile(r"^\d+\.\d+$"))
        st = scope.get("state")
        if self.want(isinstance(st, dict), "lifespan state %r, want a dict" % (st,)):
            st[MARKER] = True
            self.check.lifespan_state = st

    def wrap_receive(self, receive):
        async def checked_receive():
            msg = await receive()
            t = msg.get("type") if isinstance(msg, dict) else None
            want = ("lifespan.startup", "lifespan.shutdown")[min(len(self.events), 1)]
            self.want(t == want and len(self.events) < 2, "lifespan event %r after %r, want %s" % (t, self.events, want))
            self.events.append(t)
            if t == "lifespan.shutdown":
                sys.stderr.write("speccheck: lifespan.shutdown received\n")
            return msg
        return checked_receive

    def wrap_send(self, send):
        return send


def fastapi():
    import fastapi_app
    return SpecCheck(fastapi_app.app)


def starlette():
    import starlette_app
    return SpecCheck(starlette_app.app)


def quart():
    import quart_app
    return SpecCheck(quart_app.app)


def django():
    import django_app
    return SpecCheck(django_app.app)


def gateway():
    import gateway
    return SpecCheck(gateway.app)
