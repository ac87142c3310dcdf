package http1

import "nave/internal/web"

// Limits bound what a client may send. The zero value of each field means
// its Default constant.
type Limits struct {
	MaxRequestLine int   // bytes in the request line; past it, 414
	MaxHeaderBytes int   // bytes in the header section (or trailer section); past it, 431
	MaxHeaderCount int   // header fields (or trailer fields); past it, 431
	MaxBodyBytes   int64 // request body bytes; past it, 413
}

// Defaults for Limits. They follow nginx and Apache: an 8 KiB request line
// and 100 fields, with room for large cookies in the header bytes.
const (
	DefaultMaxRequestLine = 8 << 10
	DefaultMaxHeaderBytes = 64 << 10
	DefaultMaxHeaderCount = 100
	DefaultMaxBodyBytes   = 100 << 20
)

func (l *Limits) requestLine() int { return orDefault(l.MaxRequestLine, DefaultMaxRequestLine) }
func (l *Limits) headerBytes() int { return orDefault(l.MaxHeaderBytes, DefaultMaxHeaderBytes) }
func (l *Limits) headerCount() int { return orDefault(l.MaxHeaderCount, DefaultMaxHeaderCount) }
func (l *Limits) bodyBytes() int64 { return orDefault(l.MaxBodyBytes, DefaultMaxBodyBytes) }

func orDefault[T int | int64](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}

// Request is one parsed request: the protocol-neutral web.Request a
// Handler sees, and the HTTP/1 facts of its framing. Its byte slices alias
// the connection's read buffer: they are valid only until the Handler
// returns.
type Request struct {
	web.Request
	ProtoMinor int  // 0 for HTTP/1.0, 1 for HTTP/1.1 (and later 1.x)
	Chunked    bool // the body is chunked; ContentLength is -1
	// Close is set when the client asked to close after this exchange
	// (Connection: close, or HTTP/1.0 without keep-alive).
	Close          bool
	ExpectContinue bool // "Expect: 100-continue" on HTTP/1.1
	// Body reads the body; web.Request.Body is this Body once ReadRequest
	// returns.
	Body Body

	ps parseState
}

// Reset clears r for the next request, keeping the capacity of its headers.
func (r *Request) Reset() {
	r.Request.Reset()
	r.ProtoMinor, r.Chunked, r.Close, r.ExpectContinue = 0, false, false, false
	r.Body, r.ps = Body{}, parseState{}
}
