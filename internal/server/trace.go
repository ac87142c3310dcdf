package server

// --trace for HTTP/1: the request head as received (its request line and
// fields, in order), each response head as rendered, and a closing line
// with the bodies' lengths.

import (
	"strconv"
	"time"

	"nave/internal/wiretrace"
)

// traceRequest writes the request's head, when its path is traced, and
// arms the response writer to trace the heads it renders. ok: the head
// parsed (a refused request is not traced).
func (c *conn) traceRequest(ex *exchange, ok bool) {
	t := c.s.cfg.Trace
	req := &ex.req
	c.traced = ok && t.Match(req.Path)
	if !c.traced {
		ex.out.SetTrace(nil)
		return
	}
	if c.traceFn == nil {
		c.traceFn = c.traceHead
	}
	ex.out.SetTrace(c.traceFn)
	b := wiretrace.AppendStamp(c.traceBuf[:0], time.Now(), c.remote, wiretrace.In)
	b = append(b, req.Proto.String()...)
	b = append(b, " request\n  "...)
	b = wiretrace.AppendSafe(b, req.Method)
	b = append(b, ' ')
	b = wiretrace.AppendSafe(b, req.Target)
	b = append(b, ' ')
	b = append(b, req.Proto.String()...)
	b = append(b, '\n')
	for name, value := range req.Header.All() {
		b = append(b, ' ', ' ')
		b = wiretrace.AppendSafe(b, name)
		b = append(b, ':', ' ')
		b = wiretrace.AppendSafe(b, value)
		b = append(b, '\n')
	}
	c.traceBuf = b
	t.Write(b)
}

// traceHead writes a response head (a 1xx or the final one) as rendered.
func (c *conn) traceHead(head []byte) {
	b := wiretrace.AppendStamp(c.traceBuf[:0], time.Now(), c.remote, wiretrace.Out)
	b = append(b, "response"...)
	b = wiretrace.AppendElapsed(b, time.Since(c.ex.req.Start))
	b = append(b, '\n')
	b = wiretrace.AppendText(b, head)
	c.traceBuf = b
	c.s.cfg.Trace.Write(b)
}

// traceDone writes the exchange's end: the bodies' lengths, and the time
// it took.
func (c *conn) traceDone(ex *exchange) {
	c.traced = false
	b := wiretrace.AppendStamp(c.traceBuf[:0], time.Now(), c.remote, wiretrace.Out)
	b = append(b, "done: request body "...)
	b = strconv.AppendInt(b, ex.req.Body.Total(), 10)
	b = append(b, " bytes, response body "...)
	b = strconv.AppendInt(b, ex.x.W.BodyBytes(), 10)
	b = append(b, " bytes, status "...)
	b = strconv.AppendInt(b, int64(ex.x.W.Status()), 10)
	b = wiretrace.AppendElapsed(b, time.Since(ex.req.Start))
	b = append(b, '\n')
	c.traceBuf = b
	c.s.cfg.Trace.Write(b)
}
