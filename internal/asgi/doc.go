// Package asgi runs Python ASGI applications behind nave: the ASGI 3.0
// HTTP and WebSocket protocols (spec 2.4), the lifespan protocol (2.0),
// and the http.response.pathsend, http.response.early_hint,
// http.response.trailers and websocket.http.response extensions. nave does all of HTTP (HTTP/1.x and
// HTTP/2, TLS); a Python worker, over a unix socketpair, only runs the
// app, many requests in flight on its event loop.
//
// Files: proto.go (the framing, both directions, bounded), worker.go (one
// process, its socket, its calls in flight, its end: a workers.Worker),
// pool.go (the Handler over a workers.Pool: start, reload, stop, stuck
// workers), call.go (one request's trip and its reply: the Pool's job),
// relay.go (the handler's side while the app runs: body, reply, flow
// control, disconnect), handler.go (Serve and the Config), adapter.py
// (the worker's side), ws.go (the WebSockets' side, below; of the frame
// types kept for them, 6–10 and 27–33 are used, 11–15 and 34–40 still
// free; 41 is the HEARTBEAT).
//
// # Supervision
//
// internal/workers' Pool runs the workers, as it runs WSGI's: Config.Workers
// of them (default one per CPU), each with many requests in flight (the
// Pool's Concurrency is Config.LimitConcurrency); a request goes to the
// least loaded worker below it, or waits in the backlog (Config.Backlog,
// Config.Timeout; then 503). A worker that dies is restarted with capped
// back-off; its requests in flight fail (500, or the exchange aborted),
// and those assigned to it after its death run elsewhere. MaxRequests
// recycles a worker (plus jitter), its replacement ready first. Reload
// starts a new generation first and keeps the old one when the new code
// does not import. Stop drains: requests finish, then each worker is
// retired (nave shuts its socket) and runs the lifespan shutdown.
//
// A stuck worker is gunicorn's heartbeat model on the worker's loop:
// Progress counts the frames a worker sends, and the adapter sends a
// HEARTBEAT a second while it has requests in flight, from its loop. So a
// long poll, awaiting I/O, keeps it moving; a loop blocked (time.sleep in
// an async view, a CPU-bound handler) sends nothing, and past
// Config.Timeout its requests get 504, its stack goes to the log
// (SIGUSR1: faulthandler) and the worker is replaced. A blocked loop
// blocks all its requests, which cannot be retried (the app has them).
//
// # The protocol
//
// Frames both ways are [u32 length][u8 type][u32 request id][payload],
// little-endian. The worker starts with READY ("pid\x00python\x00loop\x00
// lifespan\x00adapter", after the lifespan startup; adapter is "native" or
// "python") or FATAL (a one-line reason: the
// startup failed; Start returns a StartError with it). Then, per request:
//
//	nave → worker                        worker → nave
//	REQUEST  scope + first body chunk    START     status, headers
//	BODY     a chunk, more to come       DATA      body bytes, more to come
//	BODY_END the last chunk              END       the last body bytes       (terminal)
//	SENT     u32: response bytes written RESPONSE  START + END in one        (terminal)
//	DISCONNECT the client is gone        RECEIVE   the app waits for a chunk
//	                                     ERROR     the app failed: a reason  (terminal)
//	                                     EARLY_HINT Link values of a 103
//	                                     PATHSEND  a file to send as the body
//	                                     TRAILERS  trailer fields            (terminal)
//
// REQUEST carries three NUL-separated segments: the request's (method,
// path decoded, raw_path, query_string), the connection's (scheme,
// http_version, root_path decoded, client, server: the same on every
// request of a connection, so the adapter decodes them once and caches
// them by their bytes) and the headers (names lower-cased, repeats in
// order; on HTTP/2 :authority first, as host); then the first body chunk,
// which is the whole body when it is small (a known length up to 64 KiB,
// and no Expect). Otherwise flag more_body is set and nave reads the body
// only as the app asks: each receive() that finds nothing buffered sends
// one RECEIVE, and nave answers with one read of at most 64 KiB (BODY, or
// BODY_END at the end). So an app that reads slowly holds the client back
// through TCP or HTTP/2 flow control, and nave holds at most 64 KiB of
// body per request; the first read sends 100 Continue where the client
// waits for one (the web layer does), so an app that answers without
// reading the body never invites it.
//
// Each request gets exactly one terminal frame back, even after
// DISCONNECT; only then does nave reuse its id. Frames for an id that
// crossed its end are dropped by the adapter.
//
// Responses: the adapter holds START until the first body message, so a
// response sent whole goes as one RESPONSE frame (most do). A streamed
// one goes as START, DATA..., END; nave writes each take of DATA to the
// client and flushes it (chunked on HTTP/1.1, DATA frames on HTTP/2),
// then credits the bytes back with SENT. The adapter lets a request have
// at most 256 KiB unacknowledged (WINDOW): within it send() returns a done
// future, past it send() waits for SENT, a large body goes out as nave
// takes it. So a slow client slows the app, and nave buffers at most the
// window per request. nave writes the app's status with the first of its
// body, so an ERROR before then still becomes a 500.
//
// The scope: asgi {version 3.0, spec_version 2.4}, http_version "1.0",
// "1.1" or "2", scheme "https" over TLS, path decoded as UTF-8 (bad bytes
// replaced) and including root_path, raw_path and query_string as
// received, root_path the handler's mount (web.Request.Prefix), client
// and server as (host, port), state a shallow copy of the lifespan's
// state, and extensions naming the three supported.
//
// Extensions: early hints become a 103 with Link fields before the final
// head (after it they are dropped, as the spec allows); pathsend opens the
// file in nave, adds its Content-Length if the app gave none, and sends it
// with ResponseWriter.ReadFrom (sendfile on HTTP/1.1 in the clear);
// trailers (start's trailers: true, then http.response.trailers, gathered
// until more_trailers is false) go out only if the client sent TE:
// trailers, as the extension says; on HTTP/1.1 the body is then chunked.
//
// Disconnects: when the client goes away (HTTP/1.1 close, HTTP/2
// RST_STREAM or the connection's end, the server closing connections at
// shutdown) or a write to it fails, nave sends DISCONNECT: receive()
// returns http.disconnect, and send() raises ClientDisconnected, an
// OSError (spec 2.4), which the adapter does not log when the app lets it
// propagate. nave learns of the leaving from web.ResponseWriter.Gone,
// asked once the body is read and the app has run 50–100 ms (the worker's
// sweep says when; watching costs HTTP/1 ~5 µs a request, which most
// requests need not pay). Like
// uvicorn, nave does not cancel an app when its client leaves: the app
// runs to its end, its sends failing, its id held. receive() after the
// response is complete also says http.disconnect, as uvicorn's does, and
// send() then raises ConnectionClosed, an OSError too: the connection
// scope is closed (uvicorn raises RuntimeError; a message out of order
// before the end is a RuntimeError here as well). So does a WebSocket's
// send() after the app's websocket.close or its denial's end.
//
// Errors: an app that raises before its response began gets the client a
// 500 (the traceback goes to the worker's stderr, logged by nave); after,
// the exchange is aborted (HTTP/1.1: the connection closes; HTTP/2: the
// stream is reset). The worker goes on. An invalid head (status outside
// 200–999, a header name not a token, CR/LF in a value) is a 500.
//
// Lifespan (Config.Lifespan, as uvicorn's --lifespan): startup runs before
// READY; "auto" goes on without lifespan when the app raises before
// startup completes, "on" makes that a start error, "off" skips it;
// lifespan.startup.failed is a start error in both (the worker exits
// with exitLifespan and its reason as the last line: one line, no restart
// at Start). Retiring closes nave's side of the socket: the worker lets
// its running apps finish, runs the lifespan shutdown and exits. When Stop's context ends first, nave sends
// SIGTERM, and the worker cancels the apps still running (as uvicorn does
// when its graceful shutdown times out) so that the shutdown still runs;
// three seconds later it is killed.
//
// Concurrency: Config.LimitConcurrency bounds the requests in a worker's
// app at once (the Pool's Concurrency); the rest wait in nave's backlog,
// and a request gives its place back with its terminal frame. Config.Loop picks uvloop or asyncio (auto: uvloop
// when importable); "module:factory()" calls factory for the app.
//
// # WebSockets
//
// nave speaks RFC 6455 and RFC 7692 with internal/websocket (handshake,
// framing, masking, fragmentation, ping and pong, the close handshake,
// UTF-8, Config.WSMaxMessage, permessage-deflate), over HTTP/1.1's
// Upgrade and HTTP/2's extended CONNECT (RFC 8441); the worker sees whole
// messages as ASGI events. The frames (ws.go):
//
//	nave → worker                        worker → nave
//	WS_CONNECT  scope, subprotocols      WS_ACCEPT  subprotocol, headers
//	WS_TEXT     a client's message       WS_PART    a piece of a message
//	WS_BYTES    a client's message       WS_SEND_TEXT, WS_SEND_BYTES its end
//	WS_DISCONNECT u16 code, reason       WS_CLOSE   u16 code, reason
//	WS_SENT     u32: app bytes written   WS_TAKEN   u32: window given back
//	DISCONNECT  (before accept)          WS_END     the app returned (terminal)
//	                                     START, DATA, END, RESPONSE: a denial
//	                                     ERROR      the app raised (terminal)
//
// A WebSocket is a call, as a request is: an id and, with
// LimitConcurrency, a slot, both held until the app returns (uvicorn
// counts a WebSocket against --limit-concurrency too). The app's first
// receive() is websocket.connect; websocket.accept completes the
// handshake (101, or 200 on HTTP/2); websocket.close before it is a 403;
// websocket.http.response.start and .body are relayed as any HTTP
// response; an app that raises before accepting gets the client a 500,
// one that returns without accepting a 403.
//
// Once accepted, a reader goroutine reads the client's messages and sends
// them to the worker within a receive window of 256 KiB (each message
// counts its bytes plus 64), which the adapter gives back with WS_TAKEN
// as the app receives: past it nave stops reading the socket, so a client
// faster than its app is held by TCP (HTTP/2: the stream's flow control),
// and nave holds at most one message. The handler's goroutine writes the
// app's messages, crediting them with WS_SENT once written; the adapter's
// send() waits past its WINDOW (256 KiB), so a client that does not read
// stops the app's send(). When the client closes, nave answers its close
// and sends WS_DISCONNECT with its code (1005 without one); a lost
// connection is 1006, a message past WSMaxMessage 1009, bad UTF-8 1007.
// After that receive() says websocket.disconnect and send() raises
// ClientDisconnected, an OSError. The app's websocket.close closes with
// its code and reason (an invalid code: 1011); an app that returns
// without closing is closed with 1000, one that raises with 1011.
// Config.WSPingInterval pings a peer silent that long and closes it with
// 1011 when nothing comes back within as long again (uvicorn's
// ws_ping_interval and ws_ping_timeout). nave answers the client's pings
// itself, while the reader reads: not while it waits for the app to make
// room in the window.
//
// # Speed
//
// The prototype's measurements (one worker; nave and worker on CPU 0,
// GOMAXPROCS=1; wrk -t1 -c64 on CPU 1; Debian 12, Python 3.11, uvloop
// 0.17; uvicorn 0.17.6 with httptools and uvloop; each figure the median
// of 6–8 rounds, ratios medians of per-round ratios):
//
//	                        req/s    CPU µs/req   vs uvicorn
//	raw hello   uvicorn     46.7k    21.4
//	            nave        50.4k    19.8         1.08×
//	            nave, step  54.9k    18.1         1.14×
//	FastAPI     uvicorn     23.8k    42.0
//	            nave        25.0k    39.8         1.05×
//	            nave, step  25.7k    38.8         1.10×
//
// The complete gateway, against the prototype on the same setup (raw
// hello, 16 rounds of 3 s, the three servers in turn; the VM was shared,
// load average 5–6, so req/s swung 2× between rounds and only CPU per
// request and per-round ratios mean much; medians):
//
//	                 CPU µs/req (Go + Python)   complete/prototype, per round
//	prototype        22.6 (14.4 + 8.2)
//	complete         22.5 (14.2 + 8.2)          CPU/req 1.00
//	uvicorn          26.6                       (uvicorn/complete CPU/req 1.19)
//
// Three earlier runs gave CPU/req ratios of 0.98, 1.00 and 1.01;
// FastAPI's hello 1.07 (noisier; its adapter alone, fed over a socket
// without HTTP by bench/asgiproto/feed.py, 1.02).
// The complete gateway keeps the prototype's hot path: a small request
// is one REQUEST frame and its reply one RESPONSE frame; the per-request
// additions are a copy of the (usually empty) state dict, the
// extensions and a Task reference in the adapter (+0.2 µs of glue,
// glue.py), a few branches in nave, and nothing on the wire: no timer per
// request (one sweep per worker nudges the calls that ran long), and no
// watch of the client for a request answered within the sweep.
//
// What the prototype found each idea bought (raw hello, against the
// default): the writer's one write per wake (without: −18% req/s), its
// runtime.Gosched before taking the batch, which lets the other runnable
// handlers join it (without: −24%), replies flushed once per loop turn
// (+5%), uvloop (+10%), reporting a request's end from a wrapper
// coroutine rather than done callbacks (−0.9 µs), caching the
// connection's scope facts (−0.35 µs). Stepping the coroutine without a
// Task (NAVE_ASGI_RUN=step) is faster still but breaks sniffio and anyio
// (FastAPI's plain def endpoints), so it is opt-in; Python 3.12's eager
// task factory is used there. Most of the remaining gap to a faster
// gateway is nave's front (a goroutine per connection, ~8–9 µs a request
// before any ASGI work), the server's work rather than the gateway's.
//
// It imports internal/web, internal/websocket, internal/workers and the
// standard library only;
// it must not import internal/server or any other handler package.
package asgi
