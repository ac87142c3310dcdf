// Package asgi runs Python ASGI applications (the ASGI 3.0 HTTP protocol,
// spec 2.3) behind nave: a measured prototype of the hot path. nave does
// all of HTTP; one Python worker, over a unix socketpair, only runs the
// app, many requests in flight on its event loop.
//
// Files: proto.go (the framing, both directions, bounded), worker.go (the
// process, its writer and reader goroutines), call.go (one request's trip
// and its reply), handler.go (the web.Handler), adapter.py (the worker's
// side). No supervision beyond start and stop; no lifespan, WebSockets,
// extensions, request-body streaming (bodies are read whole, up to
// Config.MaxBody, then sent in 256 KiB frames), client-disconnect watching
// while the app runs, or flow control on streamed replies.
//
// # Design
//
// Frames both ways are [u32 length][u8 type][u32 request id][payload].
// nave sends REQUEST (flags, then three NUL-separated segments: the
// request's method, path, raw_path, query_string; the connection's scheme,
// http_version, root_path, client, server, which the adapter decodes once
// and caches by their bytes; the lower-cased headers), BODY, BODY_END and
// DISCONNECT. The worker sends START, DATA, END, RESPONSE (START and END in
// one: what most replies are) and ERROR; each request gets exactly one
// terminal frame, and only then is its id reused. Handlers append their
// frames to the worker's buffer under a mutex (no allocation in steady
// state) and wake the writer goroutine, which yields once so that the
// other runnable handlers join the batch, then sends it in one write. The
// reader hands each reply frame to its call. The adapter reads with an
// asyncio Protocol's data_received, builds the scope as one dict display,
// runs each request's coroutine in a Task whose wrapper reports the end
// (no done callbacks), and gathers replies into one write per loop turn.
//
// # Measured (one worker; nave and worker on CPU 0, GOMAXPROCS=1; wrk -t1
// -c64 on CPU 1; Debian 12, Python 3.11, uvloop 0.17; uvicorn 0.17.6 with
// httptools and uvloop; this VM's speed drifts ±20% within minutes, so each
// figure is the median of 6–8 rounds of 4 s, all servers kept up and run in
// turn, and ratios are medians of per-round ratios)
//
//	                        req/s    CPU µs/req   vs uvicorn
//	raw hello   uvicorn     46.7k    21.4
//	            nave        50.4k    19.8         1.08×
//	            nave, step  54.9k    18.1         1.14×
//	FastAPI     uvicorn     23.8k    42.0
//	            nave        25.0k    39.8         1.05×
//	            nave, step  25.7k    38.8         1.10×
//	Go alone (a Go handler, no worker): 8–9 µs/req, ~115k req/s
//	in-process ceiling: raw 0.8 µs/call, FastAPI 19.5 µs/call (51k/s)
//
// So the targets (1.3× raw, 1.1× FastAPI) are not met by this design on
// Python 3.11; FastAPI reaches 1.1× only with the opt-in step mode.
//
// Where a raw request's ~18 µs go: the Go side 11–12 µs (its HTTP floor is
// 8–9: kernel TCP ~6.5, Go user ~1.6; the gateway adds ~1.3 µs of Go user
// time: encode, lock, park/wake, header relay; and ~1–2 µs of kernel time:
// IPC, 0.17 process switches per request), the worker 5–6 µs (glue 3.1,
// the app 0.8, socket and loop ~1). Per request nave makes 2 reads (one
// returns EAGAIN) and 1 write on the client socket; the worker makes one
// read, one write and one epoll_wait per batch of ~35 requests. Go's pprof:
// 74% in syscalls (54% the response write), the gateway's code 10%.
// cProfile of FastAPI: the adapter is ~16%, FastAPI and Starlette the rest.
//
// What each idea bought (raw hello, median of per-round ratios, CPU per
// request against the default):
//
//   - Go-side batching (the writer's one write per wake): without it, a
//     write per request, −18% req/s, +3.6 µs.
//   - The writer's runtime.Gosched before taking the batch: without it the
//     woken writer runs next (runnext) and sends one request at a time,
//     −24% req/s, +5.3 µs, process switches 0.16 → 0.29 per request.
//   - Replies flushed once per loop turn, not per frame: +5% req/s, −1 µs.
//   - uvloop over asyncio's loop: +10% req/s, −2.1 µs.
//   - Reporting a request's end from a wrapper coroutine rather than
//     two Task done callbacks: −0.9 µs of glue (glue.py, in-process).
//   - Caching the connection's scope facts: −0.35 µs; send as a plain
//     function returning a done future, not a coroutine: −0.05 µs.
//   - Stepping the coroutine at once without a Task (NAVE_ASGI_RUN=step):
//     −0.9 µs more of glue, +5% req/s; but asyncio.current_task() is then
//     None in the app's first step, and sniffio, anyio, so FastAPI's plain
//     def endpoints, fail: opt-in only. Python 3.12's eager task factory
//     keeps a real Task and is used there ("eager"), but measured no
//     cheaper than a Task on pyenv's 3.12 and 3.13 builds.
//   - No gain: a BufferedProtocol (read into a persistent buffer, then a
//     bytes copy anyway), StreamReader (+5% CPU), renicing either process
//     (fewer switches, 0.19 → 0.12, no steady throughput change).
//
// # Recommendation for the full gateway
//
// Keep this framing, the id-per-request multiplexing with one terminal
// frame, the writer that yields before it batches, RESPONSE frames, the
// adapter's Protocol reader with one flush per loop turn, uvloop when
// present, and Tasks with an end-reporting wrapper (eager tasks on 3.12+).
// The remaining gap to 1.3× (about 15 µs a request, from ~18) is mostly on
// the Go side: nave's goroutine-per-connection front costs 8–9 µs a
// request before any ASGI work, and the hand-off adds ~3 µs more there
// (uvicorn's whole kernel share is ~6.7 µs). Closing it takes the front the
// WSGI prototype measured as design D (an event loop that does not wake
// for each arriving request while a batch is out: 7.4 µs a request
// all-in, Go 0.4 of it) or fewer syscalls per request (no EAGAIN read):
// the server's work, not the gateway's. Still to build: supervision
// (internal/workers), lifespan, WebSockets, streamed request bodies with
// flow control both ways, disconnect detection while the app runs.
//
// It imports internal/web, internal/workers and the standard library only;
// it must not import internal/server or any other handler package.
package asgi
