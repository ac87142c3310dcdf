// Package asgi runs Python ASGI applications behind nave: the ASGI 3.0
// HTTP protocol (spec 2.4), the lifespan protocol (2.0), and the
// http.response.pathsend, http.response.early_hint and
// http.response.trailers extensions. nave does all of HTTP (HTTP/1.x and
// HTTP/2, TLS); a Python worker, over a unix socketpair, only runs the
// app, many requests in flight on its event loop.
//
// Files: proto.go (the framing, both directions, bounded), worker.go (one
// process, its socket, its calls in flight, its end: a workers.Worker),
// pool.go (the Handler over a workers.Pool: start, reload, stop, stuck
// workers), call.go (one request's trip and its reply: the Pool's job),
// relay.go (the handler's side while the app runs: body, reply, flow
// control, disconnect), handler.go (Serve and the Config), adapter.py
// (the worker's side). WebSockets keep frame types free (6–15, 27–40).
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
// lifespan", after the lifespan startup) or FATAL (a one-line reason: the
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
// response is complete also says http.disconnect, as uvicorn's does.
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
// It imports internal/web, internal/workers and the standard library only;
// it must not import internal/server or any other handler package.
package asgi
