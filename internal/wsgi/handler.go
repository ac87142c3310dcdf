package wsgi

import (
	"errors"
	"io"
	"log/slog"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"nave/internal/web"
)

// HandlerConfig configures a Handler. Its zero value works. The app's
// SCRIPT_NAME is where a router mounted the Handler (web.Request.Prefix).
type HandlerConfig struct {
	// BodyBuffer is the largest request body kept in memory; 0 means
	// DefaultBodyBuffer.
	BodyBuffer int64
	TempDir    string // spooled bodies and replies; "" means os.TempDir()
	Logger     *slog.Logger
}

// Handler is the web.Handler that runs requests through a Pool.
type Handler struct {
	pool       *Pool
	bodyBuffer int64
	tempDir    string
	log        *slog.Logger
	lastFull   atomic.Int64 // when "backlog full" was last logged, Unix ns
}

// NewHandler returns a Handler for p.
func NewHandler(p *Pool, cfg HandlerConfig) *Handler {
	h := &Handler{pool: p, bodyBuffer: cfg.BodyBuffer, tempDir: cfg.TempDir, log: cfg.Logger}
	if h.bodyBuffer <= 0 {
		h.bodyBuffer = DefaultBodyBuffer
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	return h
}

// Serve reads the request body, hands the request to a worker and relays
// its reply.
func (h *Handler) Serve(w *web.ResponseWriter, r *web.Request) {
	w.Relayed() // the app's answer, from its worker
	c := getCall()
	defer c.release()
	c.spoolDir = h.tempDir
	var script int
	c.path, script = scriptAndPath(c.path[:0], r)
	if hasNUL(c.path) {
		web.Error(w, 400, "NUL in the path")
		return
	}
	n, err := readBody(c, r, h.bodyBuffer)
	if err != nil {
		h.bodyFailed(w, err)
		return
	}
	e := envRequest{scriptName: c.path[:script], pathInfo: c.path[script:], bodyLen: n}
	c.env = appendEnviron(c.env[:0], r, &e)
	c.safe, c.arrival = safeMethod(r.Method), r.Start
	w.Detach() // the wait for a worker begins
	switch err := h.pool.submit(c); err {
	case nil:
	case ErrBacklogFull:
		if now := time.Now().UnixNano(); now-h.lastFull.Load() > int64(time.Second) {
			h.lastFull.Store(now) // at most one line a second, however many are refused
			h.log.Warn("backlog full; refusing requests with 503")
		}
		w.Header().Set("Retry-After", "1")
		web.Error(w, 503, "busy, try again")
		return
	default:
		w.SetClose()
		web.Error(w, 503, "shutting down")
		return
	}
	h.relay(w, r, c)
	r.Note.Dispatched = c.takenAt()
}

// watchQueued, for a call that has waited long for a worker (the pool's
// WaitedLong), takes it out of the queue if its client leaves first, so
// that no worker runs a request nobody will read (in an overload, clients
// give up and retry, and their abandoned requests would hold the workers
// longer still). It returns the function that stops watching. Only a call
// that waited long costs the watch, a goroutine here and on HTTP/1 the
// server's watch of the connection (which the whole body, read before,
// makes possible): queueing a moment is the usual path of a busy pool.
func (h *Handler) watchQueued(w *web.ResponseWriter, c *call) (stop func()) {
	gone := w.Gone()
	if gone == nil {
		return func() {}
	}
	done, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		select {
		case <-gone:
			h.pool.withdraw(c)
		case <-done:
		}
	}()
	// Waits for the watch to end: c goes back to the calls' pool after
	// the handler, and must not be withdrawn as another request's.
	return func() { close(done); <-exited }
}

func hasNUL(b []byte) bool {
	for _, c := range b {
		if c == 0 {
			return true
		}
	}
	return false
}

// safeMethod: RFC 9110 §9.2.1; the adapter never holds back the reply of
// any other method, so only these can be run again after a worker died.
func safeMethod(m []byte) bool {
	switch string(m) {
	case "GET", "HEAD", "OPTIONS", "TRACE":
		return true
	}
	return false
}

func (h *Handler) bodyFailed(w *web.ResponseWriter, err error) {
	var se *spoolError
	if errors.As(err, &se) {
		h.log.Error("cannot buffer a request body", "err", err)
		w.SetClose()
		web.Error(w, 500, "cannot buffer the request body")
		return
	}
	if !web.Refuse(w, err) {
		w.SetClose() // the client went away
	}
}

// relay writes the worker's reply as it arrives. The head is applied on
// the first body bytes or at the end, so that a failure in between still
// gets a clean 500.
func (h *Handler) relay(w *web.ResponseWriter, r *web.Request, c *call) {
	status := 0              // the app's, once its head came
	written := false         // WriteHeader was called
	ours := w.Header().Len() // fields set before the app's (HSTS, say)
	isHead := string(r.Method) == "HEAD"
	var stopWatch func()
	defer func() {
		if stopWatch != nil {
			stopWatch()
		}
	}()
	for {
		ev, seg := c.next(false)
		if ev == evNone && written {
			// A streamed response: send what came before waiting, as it
			// is then chunked. A HEAD sends no body, so it is answered
			// here, with the head GET would have had (no length unless
			// the app gave one), and the app is stopped rather than
			// iterated to an end that may never come.
			w.Flush()
			if isHead {
				h.giveUp(c)
				return
			}
		}
		if ev == evNone {
			ev, seg = c.next(true)
		}
		switch ev {
		case evWaitedLong:
			if stopWatch == nil {
				stopWatch = h.watchQueued(w, c)
			}
		case evHead:
			if err := parseHead(c.head, &c.hd); err != nil {
				h.log.Error("invalid response from the app", "method", string(r.Method), "target", string(r.Target), "err", err)
				h.giveUp(c)
				web.Error(w, 500, "internal server error")
				return
			}
			status = c.hd.status
			if reason := c.hd.reason; string(reason) != web.StatusText(status) {
				w.SetReason(string(reason)) // as gunicorn and uWSGI relay it
			}
			hdr := w.Header()
			for i := 0; i < len(c.hd.fields); i += 2 {
				hdr.AddBytes(fieldName(c.hd.fields[i]), c.hd.fields[i+1])
			}
		case evBody:
			if !written {
				if seg.data != nil && len(seg.data) > 4096 && c.complete() && !w.Header().Has("Content-Length") {
					w.Header().SetBytes("Content-Length", strconv.AppendInt(nil, int64(len(seg.data)), 10))
				}
				w.WriteHeader(status)
				written = true
			}
			if err := h.relaySegment(w, c, seg, isHead); err != nil {
				h.log.Debug("client gone mid-response", "remote", r.RemoteAddr.String(), "err", err)
				h.giveUp(c)
				return
			}
		case evEnd:
			h.end(w, r, c, status, written, ours)
			return
		}
	}
}

// commonNames interns the response header names apps send most, so that
// relaying them costs no allocation. Read-only.
var commonNames = func() map[string]string {
	m := map[string]string{}
	for _, n := range []string{
		"Content-Type", "Content-Length", "Set-Cookie", "Location", "Cache-Control", "Expires",
		"Last-Modified", "ETag", "Vary", "Content-Encoding", "Content-Disposition", "Content-Language",
		"X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy", "Cross-Origin-Opener-Policy",
		"Access-Control-Allow-Origin", "Strict-Transport-Security", "Content-Security-Policy", "Allow",
		"Date", "Server", "Accept-Ranges", "Pragma", "WWW-Authenticate", "Retry-After",
	} {
		m[n] = n
	}
	return m
}()

// fieldName returns name as a string, without allocating for the common
// names (the map lookup with a converted key does not allocate).
func fieldName(name []byte) string {
	if s, ok := commonNames[string(name)]; ok {
		return s
	}
	return string(name)
}

// end finishes the response as the call ended. An error reply keeps the
// first ours fields, those set before the app's.
func (h *Handler) end(w *web.ResponseWriter, r *web.Request, c *call, status int, written bool, ours int) {
	if c.outcome == outcomeOK {
		if !written {
			w.WriteHeader(status)
		}
		return
	}
	code, reason := 500, "internal server error"
	switch c.outcome {
	case outcomeAppError:
		h.log.Error("app error", "method", string(r.Method), "target", string(r.Target), "err", c.reason)
	case outcomeLost:
		code, reason = 502, "the app's worker died"
		h.log.Error("request lost", "method", string(r.Method), "target", string(r.Target), "reason", c.reason)
	case outcomeTimeout:
		code, reason = 504, "the app took too long"
		h.log.Error("request timed out", "method", string(r.Method), "target", string(r.Target))
	case outcomeWaited:
		code, reason = 503, "busy, try again"
		w.Header().Truncate(ours)
		w.Header().Set("Retry-After", "1")
	case outcomeStopped:
		code, reason = 503, "shutting down"
		w.SetClose()
	case outcomeGone:
		// nginx's 499 in the log; the client is not there to read it.
		h.log.Debug("client left while its request waited for a worker", "method", string(r.Method), "target", string(r.Target))
		code, reason = 499, "client closed request"
		w.SetClose()
	}
	if written {
		// PEP 3333: the head is out; all that is left is to close the
		// connection so that the client sees the body is incomplete.
		w.Flush()
		w.Abort()
		return
	}
	if c.outcome != outcomeWaited {
		w.Header().Truncate(ours)
	}
	web.Error(w, code, reason)
}

// giveUp stops relaying: the rest of the reply is dropped, and the worker
// told to stop streaming it.
func (h *Handler) giveUp(c *call) {
	if c.abandon() {
		h.pool.cancel(c)
	}
}

// relaySegment writes one run of body bytes. It returns an error only when
// the client cannot be written to.
func (h *Handler) relaySegment(w *web.ResponseWriter, c *call, s segment, isHead bool) error {
	var err error
	switch {
	case isHead && s.f != nil:
		// Nothing of it is sent: do not read it.
		if s.owned {
			s.f.Close()
		} else {
			c.spoolRead(s.n)
		}
	case s.data != nil:
		_, err = w.Write(s.data)
	case s.owned:
		// wsgi.file_wrapper: sendfile from the worker's own file. The
		// adapter declared the length, which http1 limits the copy to.
		defer s.f.Close()
		if _, err := s.f.Seek(s.off, io.SeekStart); err != nil {
			return nil
		}
		var src io.Reader = s.f
		if !w.Header().Has("Content-Length") && s.n >= 0 {
			src = io.LimitReader(s.f, s.n)
		}
		_, err = w.ReadFrom(src)
		if errors.Is(err, os.ErrClosed) || isReadError(err) {
			err = nil
		}
	default:
		_, err = w.ReadFrom(io.NewSectionReader(s.f, s.off, s.n))
		c.spoolRead(s.n)
	}
	if err == nil || err == web.ErrContentLengthExceeded || err == web.ErrBodyNotAllowed {
		return nil
	}
	return err
}

// isReadError reports a failure reading the app's file rather than
// writing to the client; the short body then closes the connection.
func isReadError(err error) bool {
	var pe *os.PathError
	return errors.As(err, &pe) && pe.Op == "read"
}
