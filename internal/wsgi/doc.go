// Package wsgi runs Python WSGI applications (PEP 3333) behind nave.
//
// nave does every bit of HTTP; Python only calls the app. A Pool supervises
// worker processes, each running a small adapter written in Python
// (adapter.py, embedded in the binary) that talks to nave over a private
// unix socketpair passed as file descriptor 3, never over its stdout. The
// Handler turns a web.Request into a pre-built environ, reads the
// request body before a worker is involved, hands the request to the pool,
// and streams the reply into the web.ResponseWriter, so that a slow
// client never holds a worker.
//
// Files: proto.go (the framing, both directions, bounded), environ.go
// (request → environ, PEP 3333 and RFC 3875 rules), pool.go (the Pool:
// its configuration, and a thin layer over a workers.Pool, which owns
// slots, start, restart with back-off, recycling, reload, the backlog,
// timeouts and stop), worker.go (one Python process over a
// workers.Process, and its framing loops), batch.go (a worker's batch of
// requests, and what becomes of them when it dies or is stuck), call.go
// (one request's trip through a worker and its buffered reply), body.go
// (request bodies, spooled to an unlinked temporary file when large),
// handler.go (the web.Handler), adapter.py (the worker's side).
// docs/wsgi.md is the user's reference.
//
// It imports internal/web, internal/workers and the standard library only; it must not
// import internal/server or any other handler package.
package wsgi
