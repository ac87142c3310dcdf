// Package webtest holds what tests of web.Handlers share: a Recorder that
// stands in for a protocol beneath a ResponseWriter, so that a handler's
// unit tests and benchmarks run without a connection. Tests of the wire
// itself talk to a real server instead.
//
// It imports web and the standard library only.
package webtest

import (
	"bytes"
	"io"

	"nave/internal/web"
)

// Recorder is a web.Stream that keeps the response in memory. Its zero
// value is ready; Begin starts each exchange and End finishes it, as a
// protocol server does.
type Recorder struct {
	Status   int        // the final status, 0 until the head was flushed
	Length   int64      // the head's Length: -1 unknown
	Header   web.Header // a copy of the head's fields
	Interims []int      // 1xx statuses sent, in order
	Body     bytes.Buffer
	Discard  bool // count body bytes without keeping them (benchmarks)
	Ended    bool // the body was completed
	Aborted  bool
	Detached int // calls to Detach

	x   web.Exchange
	buf []byte
}

// Begin starts a response to r and returns the writer a handler gets.
func (rc *Recorder) Begin(r *web.Request) *web.ResponseWriter {
	if rc.buf == nil {
		rc.buf = make([]byte, 4<<10)
	}
	rc.Status, rc.Length, rc.Interims, rc.Ended, rc.Aborted, rc.Detached = 0, -1, rc.Interims[:0], false, false, 0
	rc.Header.Reset()
	rc.Body.Reset()
	rc.x.Begin(rc, r)
	return &rc.x.W
}

// End finishes the response after the handler returned.
func (rc *Recorder) End() error { return rc.x.End() }

// Relayed reports whether the handler said it relayed another process's
// answer (web.ResponseWriter.Relayed).
func (rc *Recorder) Relayed() bool { return rc.x.Relayed() }

// W is the writer of the current exchange.
func (rc *Recorder) W() *web.ResponseWriter { return &rc.x.W }

// Buffer implements web.Stream.
func (rc *Recorder) Buffer() []byte { return rc.buf }

// Flush implements web.Stream.
func (rc *Recorder) Flush(h *web.Head, n int, tail []byte, end bool) error {
	if h != nil {
		rc.head(h)
	}
	if !rc.Discard {
		rc.Body.Write(rc.buf[:n])
		rc.Body.Write(tail)
	}
	rc.Ended = rc.Ended || end
	return nil
}

// ReadFrom implements web.Stream.
func (rc *Recorder) ReadFrom(h *web.Head, n int, r io.Reader, size int64) (int64, error) {
	if err := rc.Flush(h, n, nil, false); err != nil {
		return 0, err
	}
	var dst io.Writer = &rc.Body
	if rc.Discard {
		dst = io.Discard
	}
	return io.Copy(dst, io.LimitReader(r, size))
}

// Interim implements web.Stream.
func (rc *Recorder) Interim(status int, _ *web.Header) error {
	rc.Interims = append(rc.Interims, status)
	return nil
}

// Abort implements web.Stream.
func (rc *Recorder) Abort() { rc.Aborted = true }

// Gone implements web.Stream: a recorder's client never leaves.
func (rc *Recorder) Gone() <-chan struct{} { return nil }

// Draining implements web.Stream: a recorder never stops.
func (rc *Recorder) Draining() <-chan struct{} { return nil }

// Detach implements web.Stream; it counts the calls.
func (rc *Recorder) Detach() { rc.Detached++ }

func (rc *Recorder) head(h *web.Head) {
	rc.Status, rc.Length = h.Status, h.Length
	for name, value := range h.Header.All() {
		rc.Header.AddTrusted(name, value)
	}
}

// Upgrade implements web.Stream: the recorder refuses, as HTTP/1.0 would.
func (rc *Recorder) Upgrade(h *web.Head) (io.ReadWriteCloser, error) {
	return nil, web.ErrUpgrade
}
