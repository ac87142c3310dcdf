// Package asgi runs Python ASGI applications (the ASGI 3.0 HTTP protocol,
// spec 2.3) behind nave: a prototype of the hot path. nave does all of
// HTTP; one Python worker, over a unix socketpair, only runs the app, many
// requests in flight on its event loop.
//
// Files: proto.go (the framing, both directions, bounded), worker.go (the
// process, its writer and reader goroutines), call.go (one request's trip
// and its reply), handler.go (the web.Handler), adapter.py (the worker's
// side). No supervision beyond start and stop; no lifespan, no WebSockets.
//
// It imports internal/web, internal/workers and the standard library only;
// it must not import internal/server or any other handler package.
package asgi
