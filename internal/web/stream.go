package web

import "io"

// ServerName is the Server field nave sends unless a handler sets one.
const ServerName = "nave"

// Head is a response head as the ResponseWriter hands it to a Stream.
type Head struct {
	Status int
	Reason string  // the reason phrase; "" means StatusText(Status)
	Header *Header // the handler's fields; framing fields in it are the Stream's to drop
	// Trailer is the handler's trailer fields, read when the body ends;
	// a Stream that can send them does. Nil on 1xx and 101 heads.
	Trailer *Header
	// Length is the body's length, or -1 when it is not known yet: the
	// Stream then frames the body as it comes (chunked on HTTP/1.1).
	Length int64
	// Bodiless: no body follows whatever Length says (HEAD, 1xx, 204,
	// 304), so the Stream frames none.
	Bodiless bool
	// Close: the handler asked for the connection to close after this
	// exchange (Connection: close on HTTP/1.1; nothing on HTTP/2).
	Close bool
}

// Stream is one exchange's protocol side, beneath a ResponseWriter. It is
// called a few times per response, never per byte; the ResponseWriter has
// applied the rules every protocol shares (status, HEAD, declared length)
// before any call.
type Stream interface {
	// Buffer is where body bytes gather before a Flush. The Stream keeps
	// room around it for its framing, so that a small response leaves in
	// one write. It is the same slice for the whole exchange.
	Buffer() []byte
	// Flush sends head (only with the first call; nil after), then the
	// first n bytes of Buffer, then tail; end says the body is complete.
	Flush(head *Head, n int, tail []byte, end bool) error
	// ReadFrom sends head (nil if already sent) and the first n bytes of
	// Buffer, then size bytes read from r, without a copy where the
	// platform allows (sendfile). The body's length is known; r may end
	// sooner (one part of a multipart body, a file that shrank), which is
	// no error: the count returned is short of size.
	ReadFrom(head *Head, n int, r io.Reader, size int64) (int64, error)
	// Interim sends a 1xx response with h's fields, where the protocol
	// and peer allow one; otherwise it does nothing.
	Interim(status int, h *Header) error
	// Abort ends the exchange without completing the response: HTTP/1.1
	// closes the connection, HTTP/2 resets the stream.
	Abort()
	// Upgrade sends head (101 Switching Protocols, with the handler's
	// Upgrade and Connection fields, on HTTP/1.1) and hands the connection
	// over as a byte stream, for WebSockets (RFC 6455 §4; RFC 8441's
	// extended CONNECT on HTTP/2). Bytes the client sent after the request
	// come first. The exchange ends with the stream, and the connection
	// carries no other request.
	Upgrade(head *Head) (io.ReadWriteCloser, error)
	// Detach is told that the handler is about to wait on something
	// other than this exchange. HTTP/2 runs handlers on the connection's
	// reading goroutine and moves the reading elsewhere first; HTTP/1
	// does nothing.
	Detach()
	// Gone returns a channel closed when the client is known to be gone
	// from this exchange (HTTP/2: the stream reset or the connection
	// ended; HTTP/1: the connection closed), or nil where the protocol
	// cannot tell now. HTTP/1 watches only once the request body has been
	// read to its end (until then a read of the body tells), and until
	// the handler returns.
	Gone() <-chan struct{}
	// Draining returns a channel closed when the server begins a graceful
	// stop: a handler that holds its exchange open for long (a WebSocket,
	// an event stream) ends it then, as the exchanges that end by
	// themselves do, rather than wait to be cut at the stop's deadline.
	// Nil where no stop can be told.
	Draining() <-chan struct{}
}
