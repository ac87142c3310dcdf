package http1

import (
	"bytes"
	"fmt"
	"io"
	"nave/internal/web"
	"strings"
	"testing"
	"testing/iotest"
)

// fuzzLimits are applied to every fuzz input: the defaults, and limits
// small enough for the fuzzer to reach their edges.
var fuzzLimits = []Limits{
	{},
	{MaxRequestLine: 48, MaxHeaderBytes: 96, MaxHeaderCount: 4, MaxBodyBytes: 64},
}

// parsed is everything ReadRequest produced, in comparable form.
type parsed struct {
	err      error
	head     string
	consumed int // bytes of the input the head took
}

func parseForFuzz(src io.Reader, lim *Limits) (parsed, *Request) {
	cr := &countingReader{r: src}
	in := &Input{Src: cr}
	r := new(Request)
	if err := ReadRequest(in, r, lim); err != nil {
		// The fields read before the error stay readable, since the
		// server logs the refused request with them: describe reads them.
		describe(r)
		return parsed{err: err}, nil
	}
	return parsed{head: describe(r), consumed: cr.n - in.Buffered()}, r
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func describe(r *Request) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%q %q %q %q(nil %v) host=%q minor=%d len=%d chunked=%v close=%v expect=%v\n",
		r.Method, r.Target, r.Path, r.Query, r.Query == nil, r.Authority, r.ProtoMinor, r.ContentLength, r.Chunked, r.Close, r.ExpectContinue)
	for name, value := range r.Header.All() {
		fmt.Fprintf(&b, "%q: %q\n", name, value)
	}
	return b.String()
}

func FuzzReadRequest(f *testing.F) {
	for _, tc := range validRequests {
		f.Add([]byte(tc.raw))
	}
	for _, tc := range badRequests {
		f.Add([]byte(tc.raw))
	}
	for _, tc := range bodyCases {
		f.Add([]byte(tc.head + tc.body))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, lim := range fuzzLimits {
			whole, r := parseForFuzz(bytes.NewReader(data), &lim)
			byByte, _ := parseForFuzz(iotest.OneByteReader(bytes.NewReader(data)), &lim)
			if whole != byByte {
				t.Fatalf("limits %+v: whole and byte by byte differ:\nwhole:        %v %q (%d bytes)\nbyte by byte: %v %q (%d bytes)",
					lim, whole.err, whole.head, whole.consumed, byByte.err, byByte.head, byByte.consumed)
			}

			var direct Request
			n, err := direct.ParseHead(data, &lim)
			switch {
			case whole.err == nil:
				if n != whole.consumed || err != nil {
					t.Fatalf("ParseHead: got %d, %v; ReadRequest took %d bytes", n, err, whole.consumed)
				}
			case whole.err == io.EOF || whole.err == io.ErrUnexpectedEOF:
				if n != 0 || err != nil {
					t.Fatalf("ParseHead on a partial head: got %d, %v; want 0, nil", n, err)
				}
			default:
				if err != whole.err {
					t.Fatalf("ParseHead error: got %v, ReadRequest's %v", err, whole.err)
				}
			}
			if whole.err != nil {
				if _, ok := whole.err.(*web.ProtocolError); !ok && whole.err != io.EOF && whole.err != io.ErrUnexpectedEOF {
					t.Fatalf("error %v is neither a *web.ProtocolError nor EOF", whole.err)
				}
				continue
			}
			checkInvariants(t, r, whole.consumed, len(data), &lim)
		}
	})
}

// checkInvariants holds for every accepted head.
func checkInvariants(t *testing.T, r *Request, consumed, size int, lim *Limits) {
	t.Helper()
	if consumed <= 0 || consumed > size {
		t.Fatalf("head length %d outside 1..%d", consumed, size)
	}
	if !isToken(r.Method) {
		t.Fatalf("Method %q is not a token", r.Method)
	}
	if r.ProtoMinor != 0 && r.ProtoMinor != 1 {
		t.Fatalf("ProtoMinor %d", r.ProtoMinor)
	}
	if r.Chunked != (r.ContentLength == -1) || r.ContentLength < -1 || r.ContentLength > lim.bodyBytes() {
		t.Fatalf("Chunked %v with ContentLength %d", r.Chunked, r.ContentLength)
	}
	if r.Header.Has("Transfer-Encoding") && r.Header.Has("Content-Length") {
		t.Fatalf("accepted both Transfer-Encoding and Content-Length")
	}
	if r.Chunked && r.ProtoMinor == 0 {
		t.Fatalf("accepted chunked on HTTP/1.0")
	}
	if !validHost(r.Authority) {
		t.Fatalf("Host %q has invalid bytes", r.Authority)
	}
	hosts := 0
	for name, value := range r.Header.All() {
		if !isToken(name) || !web.ValidFieldValue(value) {
			t.Fatalf("field %q: %q accepted", name, value)
		}
		if len(value) > 0 && (isOWS(value[0]) || isOWS(value[len(value)-1])) {
			t.Fatalf("field %q: value %q not trimmed", name, value)
		}
		if equalFold(name, "Host") {
			hosts++
		}
	}
	if hosts > 1 || r.ProtoMinor == 1 && hosts != 1 {
		t.Fatalf("%d Host fields accepted on HTTP/1.%d", hosts, r.ProtoMinor)
	}
	if r.Header.Len() > lim.headerCount() {
		t.Fatalf("%d fields accepted, limit %d", r.Header.Len(), lim.headerCount())
	}
	for _, c := range r.Target {
		if byteClass[c]&classTarget == 0 {
			t.Fatalf("Target %q has byte %q", r.Target, c)
		}
	}
	switch {
	case string(r.Method) == "CONNECT" && len(r.Path) == 0:
	case string(r.Path) == "*":
		if string(r.Method) != "OPTIONS" {
			t.Fatalf("asterisk-form with %q", r.Method)
		}
	case len(r.Path) == 0 || r.Path[0] != '/':
		t.Fatalf("Path %q does not start with /", r.Path)
	}
}

// chunkedRead is everything reading a chunked body produced.
type chunkedRead struct {
	body     string
	err      error
	trailer  string
	consumed int
}

func readChunkedForFuzz(t *testing.T, src io.Reader, size int, lim *Limits) chunkedRead {
	cr := &countingReader{r: src}
	in := &Input{Src: cr}
	var r Request
	if err := ReadRequest(in, &r, lim); err != nil {
		t.Fatalf("ReadRequest: %v", err)
	}
	before := describe(&r)
	body, err := readBody(&r.Body, size)
	if after := describe(&r); after != before {
		t.Fatalf("head changed by reading the body:\ngot  %q\nwant %q", after, before)
	}
	if err != nil {
		// How far the reader got past a bad body depends on the reads.
		return chunkedRead{body: body, err: err}
	}
	if !r.Body.Done() {
		t.Fatalf("Read returned EOF but Done() is false")
	}
	return chunkedRead{body: body, trailer: strings.Join(renderFields(&r.Trailer), "\n"), consumed: cr.n - in.Buffered()}
}

func FuzzChunkedBody(f *testing.F) {
	for _, tc := range bodyCases {
		if tc.head == chunkedHead {
			f.Add([]byte(tc.body))
		}
	}
	lim := Limits{MaxHeaderBytes: 128, MaxHeaderCount: 4, MaxBodyBytes: 256}
	f.Fuzz(func(t *testing.T, body []byte) {
		raw := chunkedHead + string(body)
		whole := readChunkedForFuzz(t, strings.NewReader(raw), 64<<10, &lim)
		byByte := readChunkedForFuzz(t, iotest.OneByteReader(strings.NewReader(raw)), 1, &lim)
		if whole != byByte {
			t.Fatalf("whole and byte by byte differ:\nwhole:        %q %v %q %d\nbyte by byte: %q %v %q %d",
				whole.body, whole.err, whole.trailer, whole.consumed, byByte.body, byByte.err, byByte.trailer, byByte.consumed)
		}
		if withEOF := readChunkedForFuzz(t, &eofWithData{s: raw}, 64<<10, &lim); withEOF != whole {
			t.Fatalf("EOF with the last bytes changes the result:\ngot  %q %v %q %d\nwant %q %v %q %d",
				withEOF.body, withEOF.err, withEOF.trailer, withEOF.consumed, whole.body, whole.err, whole.trailer, whole.consumed)
		}
		if len(whole.body) > len(body) || int64(len(whole.body)) > lim.bodyBytes() {
			t.Fatalf("read %d body bytes from %d wire bytes, limit %d", len(whole.body), len(body), lim.bodyBytes())
		}
		if whole.err != nil {
			if _, ok := whole.err.(*web.ProtocolError); !ok && whole.err != io.ErrUnexpectedEOF {
				t.Fatalf("error %v is neither a *web.ProtocolError nor io.ErrUnexpectedEOF", whole.err)
			}
			return
		}
		if whole.consumed < len(chunkedHead)+5 || whole.consumed > len(raw) {
			t.Fatalf("body took %d bytes of %d", whole.consumed-len(chunkedHead), len(body))
		}
		// What follows the body is the next request: it starts right
		// after the last chunk and trailer, which end in CRLF CRLF or
		// "0" CRLF CRLF.
		if !strings.HasSuffix(raw[:whole.consumed], "\r\n\r\n") {
			t.Fatalf("body ends in %q", raw[max(0, whole.consumed-8):whole.consumed])
		}
	})
}
