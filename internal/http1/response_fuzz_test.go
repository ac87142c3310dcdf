package http1

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"nave/internal/web"
)

// readWhole reads a response and its body from src, describing both.
func readWhole(src io.Reader, head bool, lim *Limits) string {
	in := &Input{Src: src}
	var p Response
	if err := ReadResponse(in, &p, head, lim); err != nil {
		return "error: " + err.Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d %q minor=%d len=%d chunked=%v close=%v\n", p.Status, p.Reason, p.ProtoMinor, p.ContentLength, p.Chunked, p.Close)
	for name, value := range p.Header.All() {
		fmt.Fprintf(&b, "%q: %q\n", name, value)
	}
	body, err := io.ReadAll(io.LimitReader(&p.Body, 1<<20))
	fmt.Fprintf(&b, "body %q err %v\n", body, err)
	for name, value := range p.Trailer.All() {
		fmt.Fprintf(&b, "trailer %q: %q\n", name, value)
	}
	return b.String()
}

// FuzzReadResponse: whatever a server sends, reading its response ends,
// reads it the same whole or byte by byte, and a head taken as good has
// a status and one framing.
func FuzzReadResponse(f *testing.F) {
	for _, seed := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX: 1\r\n\r\n",
		"HTTP/1.0 200 OK\r\n\r\nto the end",
		"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
		"HTTP/1.1 200 OK\nContent-Length: 2\n\nok",
	} {
		f.Add(seed, false)
	}
	f.Fuzz(func(t *testing.T, raw string, head bool) {
		for _, lim := range fuzzLimits {
			whole := readWhole(strings.NewReader(raw), head, &lim)
			bytewise := readWhole(iotest.OneByteReader(strings.NewReader(raw)), head, &lim)
			if whole != bytewise {
				t.Fatalf("whole:\n%s\nbyte by byte:\n%s", whole, bytewise)
			}
			in := &Input{Src: strings.NewReader(raw)}
			var p Response
			err := ReadResponse(in, &p, head, &lim)
			switch {
			case err == nil:
				if p.Status < 100 || p.Status > 999 || p.Chunked && p.ContentLength >= 0 {
					t.Fatalf("accepted status %d, chunked %v with length %d", p.Status, p.Chunked, p.ContentLength)
				}
			case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			default:
				var pe *web.ProtocolError
				if !errors.As(err, &pe) || pe.Status != 502 {
					t.Fatalf("error %v is not a 502 protocol error", err)
				}
			}
		}
	})
}
