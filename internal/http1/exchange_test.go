package http1

import (
	"io"
	"time"

	"nave/internal/web"
)

// testResponse pairs a web.Exchange with a Writer, as the server does for
// each request.
type testResponse struct {
	x web.Exchange
	s Writer
}

// Reset begins a response to r over dst, with now as its arrival, and
// returns the writer a handler gets.
func (tr *testResponse) Reset(dst io.Writer, r *Request, now time.Time) *web.ResponseWriter {
	r.Start = now
	tr.s.Reset(dst, r, &tr.x.W, nil)
	tr.x.Begin(&tr.s, &r.Request)
	return &tr.x.W
}

// Finish ends the response as the server does after the handler returns.
func (tr *testResponse) Finish() error { return tr.x.End() }
