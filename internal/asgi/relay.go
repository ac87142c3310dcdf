package asgi

import (
	"errors"
	"io"
	"os"
	"strconv"

	"nave/internal/web"
)

// relay is one request's side of the handler while the app runs: it
// applies what the worker sends to the ResponseWriter, reads the request
// body as the app asks for it, credits the app's window as the client
// takes its bytes, and tells the app when the client is gone. It lives on
// the handler's goroutine, for one request.
type relay struct {
	h    *Handler
	w    *web.ResponseWriter
	r    *web.Request
	c    *call
	wk   *worker // the call's worker, once asked for
	ours int     // response fields set before the app's: kept by an error reply

	status   int   // the app's status, written with the first of its body
	bodyDone bool  // the request body was read to its end (or there is none)
	bodyRead int64 // request body bytes sent to the app
	// gone is closed when the client goes away. It is asked for
	// (web.ResponseWriter.Gone) only once the body is read to its end, as
	// HTTP/1 wants, and the app has run for a while (the worker's sweep
	// nudges the call): watching costs HTTP/1 a goroutine and two deadline
	// changes, ~5 µs, which most requests, answered sooner, need not pay.
	gone     <-chan struct{}
	long     bool // nudged: the app has run long
	watching bool
}

func (rl *relay) run() {
	for {
		if rl.long && rl.bodyDone && !rl.watching {
			rl.watching, rl.gone = true, rl.w.Gone()
		}
		rep, ev := rl.c.take(rl.gone)
		if ev == evLong {
			rl.long = true
			continue
		}
		if ev == evGone {
			if rl.giveUp() {
				// No worker ever had it: nginx's 499 in the log, to a
				// client that is not there to read it.
				rl.h.log.Debug("client left while its request waited for a worker", "method", string(rl.r.Method), "target", string(rl.r.Target))
				rl.w.SetClose()
				web.Error(rl.w, 499, "client closed request")
				return
			}
			// The app hears http.disconnect; whatever the app sends
			// from now on is dropped, and the exchange is given up.
			rl.h.log.Debug("client gone while the app ran", "method", string(rl.r.Method), "target", string(rl.r.Target))
			rl.w.Abort()
			return
		}
		if !rl.apply(&rep) {
			return
		}
	}
}

// apply applies one take of the reply; false: the exchange is over for
// the handler.
func (rl *relay) apply(rep *reply) bool {
	w := rl.w
	if rep.hints != nil {
		rl.earlyHints(rep.hints)
	}
	if rep.head != nil {
		if err := addHead(w.Header(), rep.status, rep.head); err != nil {
			rl.h.log.Error("invalid response from the app", "method", string(rl.r.Method), "target", string(rl.r.Target), "err", err)
			w.Header().Truncate(rl.ours)
			rl.giveUp()
			web.Error(w, 500, "internal server error")
			return false
		}
		rl.status = rep.status
	}
	if rep.failed {
		rl.h.log.Error("app error", "method", string(rl.r.Method), "target", string(rl.r.Target), "err", rep.reason)
		if w.Status() == 0 {
			w.Header().Truncate(rl.ours)
			failReply(w, rep.failStatus)
			return false
		}
		// The head is the app's: the client can only tell the response
		// failed by the connection closing (HTTP/2: the stream reset).
		w.Abort()
		return false
	}
	if rep.wantBody && !rep.ended && !rl.readChunk() {
		return false
	}
	if rep.file != nil && !rl.sendFile(rep.file) {
		return false
	}
	if len(rep.data) > 0 || rep.ended {
		rl.writeHeader()
	}
	if len(rep.data) > 0 {
		if _, err := w.Write(rep.data); err != nil {
			// The client is gone, or the app wrote past its
			// Content-Length (the body is complete at that length).
			rl.giveUp()
			return false
		}
	}
	if rep.ended {
		if rep.hasTrailer {
			rl.trailers(rep.trailer)
		}
		return false
	}
	if len(rep.data) > 0 {
		if err := w.Flush(); err != nil {
			rl.giveUp()
			return false
		}
		if wk := rl.worker(); wk != nil {
			wk.sent(rl.c, len(rep.data))
		}
	}
	return true
}

// writeHeader writes the app's status once its body begins: until then
// an error can still replace it.
func (rl *relay) writeHeader() {
	if rl.w.Status() == 0 && rl.status != 0 {
		rl.w.WriteHeader(rl.status)
	}
}

// readChunk reads the next chunk of the request body and sends it to the
// app: at most bodyChunk bytes, what one read returns.
func (rl *relay) readChunk() bool {
	c, r := rl.c, rl.r
	if cap(c.body) < bodyChunk {
		c.body = make([]byte, bodyChunk)
	}
	buf := c.body[:bodyChunk]
	var n int
	var err error
	for n == 0 && err == nil {
		n, err = r.Body.Read(buf)
	}
	rl.bodyRead += int64(n)
	end := err == io.EOF || r.ContentLength >= 0 && rl.bodyRead >= r.ContentLength
	if limit := rl.h.cfg.MaxBody; limit > 0 && rl.bodyRead > limit {
		err, end = errTooLarge, false
	}
	if err != nil && err != io.EOF {
		rl.giveUp()
		if rl.w.Status() != 0 {
			rl.w.Abort()
		} else if err == errTooLarge {
			rl.w.SetClose()
			web.Error(rl.w, 413, "request body too large")
		} else if !web.Refuse(rl.w, err) {
			rl.w.Abort()
		}
		return false
	}
	if wk := rl.worker(); wk != nil {
		wk.sendBody(c, buf[:n], end)
	}
	rl.bodyDone = end
	return true
}

// sendFile sends a pathsend's file as the body: with its length, where
// the app did not give one, so that the stream can use sendfile.
func (rl *relay) sendFile(path []byte) bool {
	w := rl.w
	f, err := os.Open(string(path))
	if err == nil {
		defer f.Close()
		var fi os.FileInfo
		if fi, err = f.Stat(); err == nil && fi.IsDir() {
			err = errors.New("is a directory")
		}
		if err == nil && w.Status() == 0 && fi.Mode().IsRegular() && !w.Header().Has("Content-Length") {
			w.Header().Set("Content-Length", strconv.FormatInt(fi.Size(), 10))
		}
	}
	if err != nil {
		rl.h.log.Error("pathsend", "method", string(rl.r.Method), "target", string(rl.r.Target), "err", err)
		rl.giveUp()
		if w.Status() == 0 {
			w.Header().Truncate(rl.ours)
			web.Error(w, 500, "internal server error")
		} else {
			w.Abort()
		}
		return false
	}
	rl.writeHeader()
	if string(rl.r.Method) == "HEAD" {
		return true
	}
	if _, err := w.ReadFrom(f); err != nil {
		rl.giveUp()
		return false
	}
	return true
}

// earlyHints sends a 103 with the links as Link fields (RFC 8297), if the
// final head has not gone.
func (rl *relay) earlyHints(links []byte) {
	w := rl.w
	if w.Status() != 0 || w.Committed() {
		return
	}
	h := w.Header()
	n := h.Len()
	for len(links) > 0 {
		link, rest, _ := cut(links)
		links = rest
		if len(link) > 0 && web.ValidFieldValue(link) {
			h.AddBytes("Link", web.TrimOWS(link))
		}
	}
	if h.Len() > n {
		w.WriteHeader(103)
	}
	h.Truncate(n)
}

// trailers sets the app's trailer fields, which the client gets if it
// said it takes them (TE: trailers, as the extension asks). On HTTP/1.1
// they need a chunked body: the head goes now, without a length.
func (rl *relay) trailers(fields []byte) {
	if !web.HasToken(rl.r.Header.Get("TE"), "trailers") {
		return
	}
	w := rl.w
	if !w.Committed() {
		w.Flush()
	}
	if err := addFields(w.Trailer(), fields); err != nil {
		rl.h.log.Error("invalid trailers from the app", "method", string(rl.r.Method), "target", string(rl.r.Target), "err", err)
		w.Trailer().Reset()
	}
}

// giveUp stops relaying; the app hears http.disconnect.
//
// A call still waiting for a worker is taken out of the queue instead, so
// that no worker runs a request nobody will read; withdrawn reports that.
func (rl *relay) giveUp() (withdrawn bool) {
	rl.c.abandon()
	if wk := rl.worker(); wk != nil {
		wk.disconnect(rl.c)
		return false
	}
	if rl.h.sup.Withdraw(rl.c) {
		rl.c.release() // the Pool's reference: no worker will have it
		return true
	}
	if wk := rl.worker(); wk != nil { // taken in between
		wk.disconnect(rl.c)
	}
	return false
}

// worker is the worker the call was assigned to; nil if none was (the
// relay's frames to the app go nowhere then).
func (rl *relay) worker() *worker {
	if rl.wk == nil {
		rl.wk = rl.c.worker()
	}
	return rl.wk
}

// failReply answers a request whose call failed before its response
// began: 503 when no worker took it, 504 when its worker was stuck, 500
// otherwise (the app failed, or its worker died).
func failReply(w *web.ResponseWriter, status int) {
	switch status {
	case 503:
		w.SetClose()
		web.Error(w, 503, "the app is not available")
	case 504:
		web.Error(w, 504, "the app did not answer in time")
	default:
		web.Error(w, 500, "internal server error")
	}
}
