package http1

import (
	"bytes"
	"errors"
	"io"
	"nave/internal/web"
	"strconv"
	"strings"
	"testing"
	"time"
)

var testNow = time.Date(2024, 3, 9, 12, 30, 45, 0, time.UTC)

const (
	testDate = "Date: Sat, 09 Mar 2024 12:30:45 GMT\r\n"
	ok200    = "HTTP/1.1 200 OK\r\n" + testDate + "Server: nave\r\n"

	get11          = "GET / HTTP/1.1\r\nHost: h\r\n\r\n"
	get11Close     = "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
	get10          = "GET / HTTP/1.0\r\n\r\n"
	get10KeepAlive = "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
	head11         = "HEAD / HTTP/1.1\r\nHost: h\r\n\r\n"
)

// bulk is a body larger than the response buffer.
var bulk = strings.Repeat("0123456789abcdef", 1250) // 20000 bytes

// chunk frames data as one chunk.
func chunk(data string) string {
	return strconv.FormatInt(int64(len(data)), 16) + "\r\n" + data + "\r\n"
}

// bufferCapacity is how many body bytes one flush of the buffer carries.
const bufferCapacity = responseBufferSize - headroom - tailroom

type responseCase struct {
	name        string
	req         string
	plainDst    bool // hide the destination's io.ReaderFrom
	handler     func(t *testing.T, w *web.ResponseWriter, dst *bytes.Buffer)
	want        string
	wantClosing bool
	wantErr     error // from Finish
}

var responseCases = []responseCase{
	{
		name: "small_body_content_length",
		req:  get11,
		handler: func(t *testing.T, w *web.ResponseWriter, dst *bytes.Buffer) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			mustWrite(t, w, "hello, world\n")
		},
		want: ok200 + "Content-Type: text/plain; charset=utf-8\r\nContent-Length: 13\r\n\r\nhello, world\n",
	},
	{
		name: "small_body_several_writes",
		req:  get11,
		handler: func(t *testing.T, w *web.ResponseWriter, dst *bytes.Buffer) {
			mustWrite(t, w, "hello")
			if n, err := w.Write([]byte(", world")); n != 7 || err != nil {
				t.Errorf("Write: got %d, %v; want 7, nil", n, err)
			}
		},
		want: ok200 + "Content-Length: 12\r\n\r\nhello, world",
	},
	{
		name:    "empty_body",
		req:     get11,
		handler: func(t *testing.T, w *web.ResponseWriter, dst *bytes.Buffer) {},
		want:    ok200 + "Content-Length: 0\r\n\r\n",
	},
	{
		name: "status_only",
		req:  get11,
		handler: func(t *testing.T, w *web.ResponseWriter, dst *bytes.Buffer) {
			w.WriteHeader(404)
		},
		want: "HTTP/1.1 404 Not Found\r\n" + testDate + "Server: nave\r\nContent-Length: 0\r\n\r\n",
	},
	{
		name: "flush_makes_chunked",
		req:  get11,
		handler: func(t *testing.T, w *web.ResponseWriter, dst *bytes.Buffer) {
			mustWrite(t, w, "hello")
			if err := w.Flush(); err != nil {
				t.Fatalf("Flush: %v", err)
			}
			wantSoFar := ok200 + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"
			if got := dst.String(); got != wantSoFar {
				t.Errorf("after Flush:\ngot  %q\nwant %q", got, wantSoFar)
			}
			if !w.Committed() {
				t.Errorf("Committed() after Flush: got false, want true")
			}
			mustWrite(t, w, " world")
		},
		want: ok200 + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
	},
	{
		name: "trailers_after_a_chunked_body",
		req:  get11,
		handler: func(t *testing.T, w *web.ResponseWriter, dst *bytes.Buffer) {
			mustWrite(t, w, "hello")
			w.Flush()
			w.Trailer().Set("X-Sum", "5")
			w.Trailer().Set("Content-Length", "5") // framing: never sent
		},
		want: ok200 + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-Sum: 5\r\n\r\n",
	},
	{
		name: "trailers_after_a_large_chunk",
		req:  get11,
		handler: func(t *testing.T, w *web.ResponseWriter, dst *bytes.Buffer) {
			w.Flush()
			w.Trailer().Set("X-Sum", "big")
			mustWrite(t, w, strings.Repeat("b", 9000))
		},
		want: ok200 + "Transfer-Encoding: chunked\r\n\r\n1bf9\r\n" + strings.Repeat("b", 0x1bf9) +
			"\r\n72f\r\n" + strings.Repeat("b", 9000-0x1bf9) + "\r\n0\r\nX-Sum: big\r\n\r\n",
	},
	{
		name: "trailers_dropped_with_a_length",
		req:  get11,
		handler: func(t *testing.T, w *web.ResponseWriter, dst *bytes.Buffer) {
			w.Trailer().Set("X-Sum", "2")
			mustWrite(t, w, "hi")
		},
		want: ok200 + "Content-Length: 2\r\n\r\nhi",
	},
	{
		name: "flush_nothing_then_finish",
		req:  get11,
		handler: func(t *testing.T, w *web.ResponseWriter, dst *bytes.Buffer) {
			if err := w.Flush(); err != nil {
				t.Fatalf("Flush: %v", err)
			}
		},
		want: ok200 + "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
	},
	{
		name: "flush_twice_empty",
		req:  get11,
		handler: func(t *testing.T, w *web.ResponseWriter, dst *bytes.Buffer) {
			mustWrite(t, w, "a")
			w.Flush()
			w.Flush()
			mustWrite(t, w, "b")
		},
		want: ok200 + "Transfer-Encoding: chunked\r\n\r\n1\r\na\r\n1\r\nb\r\n0\r\n\r\n",
	},
	{
		name: "large_body_unknown_length_11",
		req:  get11,
		handler: func(t *testing.T, w *web.ResponseWriter, dst *bytes.Buffer) {
			mustWrite(t, w, bulk)
		},
		want: ok200 + "Transfer-Encoding: chunked\r\n\r\n" +
			chunk(bulk[:bufferCapacity]) + chunk(bulk[bufferCapacity:2*bufferCapacity]) + chunk(bulk[2*bufferCapacity:]) + "0\r\n\r\n",
	},
	{
		name: "http10_unknown_length_closes",
		req:  get10KeepAlive,
		handler: func(t *testing.T, w *web.ResponseWriter, dst *bytes.Buffer) {
			mustWrite(t, w, "hello")
			w.Flush()
			mustWrite(t, w, " world")
		},
		want:        ok200 + "Connection: close\r\n\r\nhello world",
		wantClosing: true,
	},
	{
		name: "http10_large_body_closes",
		req:  get10,
		handler: func(t *testing.T, w *web.ResponseWriter, dst *bytes.Buffer) {
			mustWrite(t, w, bulk)
		},
		want:        ok200 + "Connection: close\r\n\r\n" + bulk,
		wantClosing: true,
	},
	{
		name: "http10_small_body",
		req:  get10,
		handler: func(t *testing.T, w *web.ResponseWriter, dst *bytes.Buffer) {
			mustWrite(t, w, "hello")
		},
		want:        ok200 + "Content-Length: 5\r\nConnection: close\r\n\r\nhello",
		wantClosing: true,
	},
	{
		name: "http10_keep_alive",
		req:  get10KeepAlive,
		handler: func(t *testing.T, w *web.ResponseWriter, dst *bytes.Buffer) {
			mustWrite(t, w, "hello")
		},
		want: ok200 + "Content-Length: 5\r\nConnection: keep-alive\r\n\r\nhello",
	},
	{
		name: "http10_keep_alive_declared_length",
		req:  get10KeepAlive,
		handler: func(t *testing.T, w *web.ResponseWriter, dst *bytes.Buffer) {
			w.Header().Set("Content-Length", "20000")
			mustWrite(t, w, bulk)
		},
		want: ok200 + "Content-Length: 20000\r\nConnection: keep-alive\r\n\r\n" + bulk,
	},
	{
		name: "head_content_length_of_body",
		req:  head11,
		handler: func(t *testing.T, w *web.ResponseWriter, dst *bytes.Buffer) {
			w.Header().Set("Content-Type", "text/html")
			mustWrite(t, w, "<p>hello</p>")
		},
		want: ok200 + "Content-Type: text/html\r\nContent-Length: 12\r\n\r\n",
	},
	{
		name: "head_large_body",
		req:  head11,
		handler: func(t *testing.T, w *web.ResponseWriter, dst *bytes.Buffer) {
			mustWrite(t, w, bulk)
		},
		want: ok200 + "Content-Length: 20000\r\n\r\n",
	},
	{
		name: "head_declared_length",
		req:  head11,
		handler: func(t *testing.T, w *web.ResponseWriter, dst *bytes.Buffer) {
			w.Header().Set("Content-Length", "1000")
		},
		want: ok200 + "Content-Length: 1000\r\n\r\n",
	},
	{
		name:    "head_nothing_written",
		req:     head11,
		handler: func(t *testing.T, w *web.ResponseWriter, dst *bytes.Buffer) {},
		want:    ok200 + "\r\n",
	},
	{
		name: "status_204",
		req:  get11,
		handler: func(t *testing.T, w *web.ResponseWriter, dst *bytes.Buffer) {
			w.Header().Set("Content-Length", "0")
			w.WriteHeader(204)
			if n, err := w.Write([]byte("x")); n != 0 || err != web.ErrBodyNotAllowed {
				t.Errorf("Write: got %d, %v; want 0, %v", n, err, web.ErrBodyNotAllowed)
			}
			if n, err := w.WriteString("x"); n != 0 || err != web.ErrBodyNotAllowed {
				t.Errorf("WriteString: got %d, %v; want 0, %v", n, err, web.ErrBodyNotAllowed)
			}
		},
		want: "HTTP/1.1 204 No Content\r\n" + testDate + "Server: nave\r\n\r\n",
	},
	{
		name: "status_304",
		req:  get11,
		handler: func(t *testing.T, w *web.ResponseWriter, dst *bytes.Buffer) {
			w.Header().Set("ETag", `"v1"`)
			w.WriteHeader(304)
			if n, err := w.Write([]byte("x")); n != 0 || err != web.ErrBodyNotAllowed {
				t.Errorf("Write: got %d, %v; want 0, %v", n, err, web.ErrBodyNotAllowed)
			}
		},
		want: "HTTP/1.1 304 Not Modified\r\n" + testDate + "Server: nave\r\nETag: \"v1\"\r\n\r\n",
	},
	{
		// RFC 9110 §8.6: a 304 may carry the length the 200 would have had.
		name: "status_304_declared_length",
		req:  get11,
		handler: func(t *testing.T, w *web.ResponseWriter, dst *bytes.Buffer) {
			w.Header().Set("Content-Length", "1234")
			w.WriteHeader(304)
		},
		want: "HTTP/1.1 304 Not Modified\r\n" + testDate + "Server: nave\r\nContent-Length: 1234\r\n\r\n",
	},
	{
		name: "status_304_readfrom",
		req:  get11,
		handler: func(t *testing.T, w *web.ResponseWriter, dst *bytes.Buffer) {
			w.WriteHeader(304)
			if _, err := w.ReadFrom(strings.NewReader("body")); err != web.ErrBodyNotAllowed {
				t.Errorf("ReadFrom: got %v, want %v", err, web.ErrBodyNotAllowed)
			}
		},
		want: "HTTP/1.1 304 Not Modified\r\n" + testDate + "Server: nave\r\n\r\n",
	},
	{
		name: "declared_length_large_write",
		req:  get11,
		handler: func(t *testing.T, w *web.ResponseWriter, dst *bytes.Buffer) {
			w.Header().Set("Content-Length", "20000")
			mustWrite(t, w, bulk)
		},
		want: ok200 + "Content-Length: 20000\r\n\r\n" + bulk,
	},
	{
		name: "declared_length_pieces",
		req:  get11,
		handler: func(t *testing.T, w *web.ResponseWriter, dst *bytes.Buffer) {
			w.Header().Set("Content-Length", "20000")
			mustWrite(t, w, bulk[:3000])
			mustWrite(t, w, bulk[3000:10000])
			w.Flush()
			mustWrite(t, w, bulk[10000:])
		},
		want: ok200 + "Content-Length: 20000\r\n\r\n" + bulk,
	},
	{
		name: "declared_length_exceeded",
		req:  get11,
		handler: func(t *testing.T, w *web.ResponseWriter, dst *bytes.Buffer) {
			w.Header().Set("Content-Length", "5")
			if n, err := w.Write([]byte("hello world")); n != 5 || err != web.ErrContentLengthExceeded {
				t.Errorf("Write: got %d, %v; want 5, %v", n, err, web.ErrContentLengthExceeded)
			}
			if n, err := w.WriteString("!"); n != 0 || err != web.ErrContentLengthExceeded {
				t.Errorf("WriteString: got %d, %v; want 0, %v", n, err, web.ErrContentLengthExceeded)
			}
		},
		want: ok200 + "Content-Length: 5\r\n\r\nhello",
	},
	{
		name: "declared_length_short",
		req:  get11,
		handler: func(t *testing.T, w *web.ResponseWriter, dst *bytes.Buffer) {
			w.Header().Set("Content-Length", "10")
			mustWrite(t, w, "hello")
		},
		want:        ok200 + "Content-Length: 10\r\n\r\nhello",
		wantClosing: true,
		wantErr:     web.ErrShortBody,
	},
	{
		name: "declared_length_invalid_ignored",
		req:  get11,
		handler: func(t *testing.T, w *web.ResponseWriter, dst *bytes.Buffer) {
			w.Header().Set("Content-Length", "lots")
			mustWrite(t, w, "hello")
		},
		want: ok200 + "Content-Length: 5\r\n\r\nhello",
	},
	{
		name: "handler_connection_close",
		req:  get11,
		handler: func(t *testing.T, w *web.ResponseWriter, dst *bytes.Buffer) {
			w.Header().Set("Connection", "close")
			mustWrite(t, w, "bye")
		},
		want:        ok200 + "Content-Length: 3\r\nConnection: close\r\n\r\nbye",
		wantClosing: true,
	},
	{
		name: "handler_connection_close_in_list",
		req:  get11,
		handler: func(t *testing.T, w *web.ResponseWriter, dst *bytes.Buffer) {
			w.Header().Set("Connection", "X-Foo, Close")
		},
		want:        ok200 + "Content-Length: 0\r\nConnection: close\r\n\r\n",
		wantClosing: true,
	},
	{
		name: "handler_keep_alive_cannot_undo_close",
		req:  get11Close,
		handler: func(t *testing.T, w *web.ResponseWriter, dst *bytes.Buffer) {
			w.Header().Set("Connection", "keep-alive")
		},
		want:        ok200 + "Content-Length: 0\r\nConnection: close\r\n\r\n",
		wantClosing: true,
	},
	{
		name: "request_connection_close",
		req:  get11Close,
		handler: func(t *testing.T, w *web.ResponseWriter, dst *bytes.Buffer) {
			mustWrite(t, w, "x")
		},
		want:        ok200 + "Content-Length: 1\r\nConnection: close\r\n\r\nx",
		wantClosing: true,
	},
	{
		name: "set_close",
		req:  get11,
		handler: func(t *testing.T, w *web.ResponseWriter, dst *bytes.Buffer) {
			w.SetClose()
		},
		want:        ok200 + "Content-Length: 0\r\nConnection: close\r\n\r\n",
		wantClosing: true,
	},
	{
		name: "handler_transfer_encoding_ignored",
		req:  get11,
		handler: func(t *testing.T, w *web.ResponseWriter, dst *bytes.Buffer) {
			w.Header().Set("Transfer-Encoding", "gzip, chunked")
			mustWrite(t, w, "hello")
		},
		want: ok200 + "Content-Length: 5\r\n\r\nhello",
	},
	{
		name: "handler_date_and_server",
		req:  get11,
		handler: func(t *testing.T, w *web.ResponseWriter, dst *bytes.Buffer) {
			w.Header().Set("Server", "other")
			w.Header().Set("date", "Thu, 01 Jan 1970 00:00:00 GMT")
		},
		want: "HTTP/1.1 200 OK\r\nServer: other\r\ndate: Thu, 01 Jan 1970 00:00:00 GMT\r\nContent-Length: 0\r\n\r\n",
	},
	{
		name: "header_fields_in_order",
		req:  get11,
		handler: func(t *testing.T, w *web.ResponseWriter, dst *bytes.Buffer) {
			h := w.Header()
			h.Add("Set-Cookie", "a=1")
			h.Add("Vary", "Accept")
			h.Add("Set-Cookie", "b=2")
		},
		want: ok200 + "Set-Cookie: a=1\r\nVary: Accept\r\nSet-Cookie: b=2\r\nContent-Length: 0\r\n\r\n",
	},
	{
		name: "early_hints_11",
		req:  get11,
		handler: func(t *testing.T, w *web.ResponseWriter, dst *bytes.Buffer) {
			w.Header().Add("Link", "</style.css>; rel=preload")
			w.WriteHeader(103)
			interim := "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
			if got := dst.String(); got != interim {
				t.Errorf("after WriteHeader(103):\ngot  %q\nwant %q", got, interim)
			}
			if w.Status() != 0 || w.Committed() {
				t.Errorf("after WriteHeader(103): Status, Committed got %d, %v; want 0, false", w.Status(), w.Committed())
			}
			w.Header().Set("Content-Type", "text/html")
			mustWrite(t, w, "<p>")
		},
		want: "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n" +
			ok200 + "Link: </style.css>; rel=preload\r\nContent-Type: text/html\r\nContent-Length: 3\r\n\r\n<p>",
	},
	{
		name: "early_hints_10_not_sent",
		req:  get10KeepAlive,
		handler: func(t *testing.T, w *web.ResponseWriter, dst *bytes.Buffer) {
			w.Header().Add("Link", "</style.css>; rel=preload")
			w.WriteHeader(103)
			if got := dst.String(); got != "" {
				t.Errorf("after WriteHeader(103) on HTTP/1.0: got %q, want nothing", got)
			}
			mustWrite(t, w, "<p>")
		},
		want: ok200 + "Link: </style.css>; rel=preload\r\nContent-Length: 3\r\nConnection: keep-alive\r\n\r\n<p>",
	},
	{
		name: "second_write_header_ignored",
		req:  get11,
		handler: func(t *testing.T, w *web.ResponseWriter, dst *bytes.Buffer) {
			w.WriteHeader(404)
			w.WriteHeader(500)
			w.WriteHeader(103)
			if w.Status() != 404 {
				t.Errorf("Status: got %d, want 404", w.Status())
			}
			mustWrite(t, w, "gone")
		},
		want: "HTTP/1.1 404 Not Found\r\n" + testDate + "Server: nave\r\nContent-Length: 4\r\n\r\ngone",
	},
	{
		name: "unknown_status",
		req:  get11,
		handler: func(t *testing.T, w *web.ResponseWriter, dst *bytes.Buffer) {
			w.WriteHeader(599)
		},
		want: "HTTP/1.1 599 \r\n" + testDate + "Server: nave\r\nContent-Length: 0\r\n\r\n",
	},
	{
		name: "readfrom_declared_readerfrom",
		req:  get11,
		handler: func(t *testing.T, w *web.ResponseWriter, dst *bytes.Buffer) {
			w.Header().Set("Content-Length", "20000")
			mustReadFrom(t, w, bulk+"trailing junk", 20000)
		},
		want: ok200 + "Content-Length: 20000\r\n\r\n" + bulk,
	},
	{
		name:     "readfrom_declared_plain_writer",
		req:      get11,
		plainDst: true,
		handler: func(t *testing.T, w *web.ResponseWriter, dst *bytes.Buffer) {
			w.Header().Set("Content-Length", "20000")
			mustReadFrom(t, w, bulk, 20000)
		},
		want: ok200 + "Content-Length: 20000\r\n\r\n" + bulk,
	},
	{
		name:     "readfrom_declared_plain_writer_longer_source",
		req:      get11,
		plainDst: true,
		handler: func(t *testing.T, w *web.ResponseWriter, dst *bytes.Buffer) {
			w.Header().Set("Content-Length", "20000")
			// As through an io.ReaderFrom: the copy stops at the length due.
			n, err := w.ReadFrom(strings.NewReader(bulk + "trailing junk"))
			if n != 20000 || err != nil {
				t.Errorf("ReadFrom: got %d, %v; want 20000, nil", n, err)
			}
		},
		want: ok200 + "Content-Length: 20000\r\n\r\n" + bulk,
	},
	{
		name: "readfrom_after_write",
		req:  get11,
		handler: func(t *testing.T, w *web.ResponseWriter, dst *bytes.Buffer) {
			w.Header().Set("Content-Length", "20000")
			mustWrite(t, w, bulk[:100])
			mustReadFrom(t, w, bulk[100:], 19900)
		},
		want: ok200 + "Content-Length: 20000\r\n\r\n" + bulk,
	},
	{
		name: "readfrom_unknown_length_chunked",
		req:  get11,
		handler: func(t *testing.T, w *web.ResponseWriter, dst *bytes.Buffer) {
			mustReadFrom(t, w, bulk, 20000)
		},
		want: ok200 + "Transfer-Encoding: chunked\r\n\r\n" +
			chunk(bulk[:bufferCapacity]) + chunk(bulk[bufferCapacity:2*bufferCapacity]) + chunk(bulk[2*bufferCapacity:]) + "0\r\n\r\n",
	},
	{
		name: "readfrom_small_unknown_length",
		req:  get11,
		handler: func(t *testing.T, w *web.ResponseWriter, dst *bytes.Buffer) {
			mustReadFrom(t, w, "hello", 5)
		},
		want: ok200 + "Content-Length: 5\r\n\r\nhello",
	},
	{
		name: "readfrom_head",
		req:  head11,
		handler: func(t *testing.T, w *web.ResponseWriter, dst *bytes.Buffer) {
			mustReadFrom(t, w, bulk, 20000)
		},
		want: ok200 + "Content-Length: 20000\r\n\r\n",
	},
}

func mustWrite(t *testing.T, w *web.ResponseWriter, s string) {
	t.Helper()
	if n, err := w.WriteString(s); n != len(s) || err != nil {
		t.Fatalf("WriteString(%d bytes): got %d, %v", len(s), n, err)
	}
}

func mustReadFrom(t *testing.T, w *web.ResponseWriter, s string, want int64) {
	t.Helper()
	if n, err := w.ReadFrom(strings.NewReader(s)); n != want || err != nil {
		t.Fatalf("ReadFrom: got %d, %v; want %d, nil", n, err, want)
	}
}

// plainWriter hides bytes.Buffer's ReadFrom.
type plainWriter struct{ b *bytes.Buffer }

func (p plainWriter) Write(b []byte) (int, error) { return p.b.Write(b) }

func parseTestRequest(t *testing.T, raw string) *Request {
	t.Helper()
	var r Request
	if err := ReadRequest(&Input{Src: strings.NewReader(raw)}, &r, &Limits{}); err != nil {
		t.Fatalf("ReadRequest(%q): %v", raw, err)
	}
	return &r
}

func TestResponseWriter(t *testing.T) {
	for _, tc := range responseCases {
		t.Run(tc.name, func(t *testing.T) {
			r := parseTestRequest(t, tc.req)
			var buf bytes.Buffer
			var tr testResponse
			var dst io.Writer = &buf
			if tc.plainDst {
				dst = plainWriter{&buf}
			}
			w := tr.Reset(dst, r, testNow)
			tc.handler(t, w, &buf)
			if err := tr.Finish(); err != tc.wantErr {
				t.Errorf("Finish: got %v, want %v", err, tc.wantErr)
			}
			if got := buf.String(); got != tc.want {
				t.Errorf("wire:\ngot  %q\nwant %q", abbrev(got), abbrev(tc.want))
				if len(got) == len(tc.want) {
					t.Errorf("first difference at byte %d", firstDiff(got, tc.want))
				}
			}
			if tr.s.Closing() != tc.wantClosing {
				t.Errorf("Closing(): got %v, want %v", tr.s.Closing(), tc.wantClosing)
			}
			if body := wireBody(t, tc.want, string(r.Method)); w.BodyBytes() != int64(len(body)) {
				t.Errorf("BodyBytes(): got %d, want %d", w.BodyBytes(), len(body))
			}
		})
	}
}

func firstDiff(a, b string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// wireBody returns the payload of the final response in wire, decoding a
// chunked body strictly.
func wireBody(t *testing.T, wire, method string) string {
	t.Helper()
	for {
		head, body, ok := strings.Cut(wire, "\r\n\r\n")
		if !ok {
			t.Fatalf("no end of head in %q", abbrev(wire))
		}
		if strings.HasPrefix(head, "HTTP/1.1 1") {
			wire = body
			continue
		}
		if method == "HEAD" {
			return ""
		}
		if !strings.Contains(head, "\r\nTransfer-Encoding: chunked") {
			return body
		}
		decoded, err := dechunk(body)
		if err != nil {
			t.Fatalf("chunked body %q: %v", abbrev(body), err)
		}
		return decoded
	}
}

func dechunk(s string) (string, error) {
	var out strings.Builder
	for {
		line, rest, ok := strings.Cut(s, "\r\n")
		if !ok {
			return "", errors.New("no chunk-size line")
		}
		n, err := strconv.ParseInt(line, 16, 32)
		if err != nil {
			return "", err
		}
		if n == 0 {
			// Trailer fields, each a line, then the empty line.
			for rest != "\r\n" {
				field, more, ok := strings.Cut(rest, "\r\n")
				if !ok || !strings.Contains(field, ": ") {
					return "", errors.New("bytes after the last chunk")
				}
				rest = more
			}
			return out.String(), nil
		}
		if int64(len(rest)) < n+2 || rest[n:n+2] != "\r\n" {
			return "", errors.New("chunk data not followed by CRLF")
		}
		out.WriteString(rest[:n])
		s = rest[n+2:]
	}
}

func TestResponseWriterInvalidStatus(t *testing.T) {
	for _, code := range []int{0, 99, 101, 1000, -200} {
		t.Run(strconv.Itoa(code), func(t *testing.T) {
			var tr testResponse
			w := tr.Reset(io.Discard, parseTestRequest(t, get11), testNow)
			defer func() {
				if recover() == nil {
					t.Errorf("WriteHeader(%d) did not panic", code)
				}
			}()
			w.WriteHeader(code)
		})
	}
}

func TestResponseWriterWriteError(t *testing.T) {
	broken := errors.New("broken pipe")
	var tr testResponse
	w := tr.Reset(failWriter{broken}, parseTestRequest(t, get11), testNow)
	w.Header().Set("Content-Length", "20000")
	if _, err := w.Write([]byte(bulk)); err != broken {
		t.Errorf("Write: got %v, want %v", err, broken)
	}
	if _, err := w.Write([]byte("more")); err != broken {
		t.Errorf("Write after error: got %v, want %v", err, broken)
	}
	if err := tr.Finish(); err != broken {
		t.Errorf("Finish: got %v, want %v", err, broken)
	}
	if !tr.s.Closing() {
		t.Errorf("Closing() after a write error: got false, want true")
	}
	if n := w.BodyBytes(); n != 0 {
		t.Errorf("BodyBytes() after every write failed: got %d, want 0", n)
	}
}

func TestResponseWriterReuse(t *testing.T) {
	// One ResponseWriter answers several requests: nothing of the first
	// response (header, status, framing, date) leaks into the next.
	var tr testResponse
	var buf bytes.Buffer
	w := tr.Reset(&buf, parseTestRequest(t, get11), testNow)
	w.Header().Set("X-First", "1")
	w.WriteHeader(404)
	mustWrite(t, w, "hello")
	w.Flush()
	if err := tr.Finish(); err != nil {
		t.Fatalf("first Finish: %v", err)
	}

	buf.Reset()
	w = tr.Reset(&buf, parseTestRequest(t, get11), testNow.Add(61*time.Second))
	mustWrite(t, w, "second")
	if err := tr.Finish(); err != nil {
		t.Fatalf("second Finish: %v", err)
	}
	want := "HTTP/1.1 200 OK\r\nDate: Sat, 09 Mar 2024 12:31:46 GMT\r\nServer: nave\r\nContent-Length: 6\r\n\r\nsecond"
	if got := buf.String(); got != want {
		t.Errorf("second response:\ngot  %q\nwant %q", got, want)
	}
}

func TestResponseWriterLargeHead(t *testing.T) {
	// A head larger than the buffer's headroom goes out in its own write.
	var tr testResponse
	var buf bytes.Buffer
	w := tr.Reset(&buf, parseTestRequest(t, get11), testNow)
	big := strings.Repeat("v", 2*headroom)
	w.Header().Set("X-Big", big)
	mustWrite(t, w, "a")
	w.Flush()
	mustWrite(t, w, "b")
	if err := tr.Finish(); err != nil {
		t.Fatalf("Finish: %v", err)
	}
	want := ok200 + "X-Big: " + big + "\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n1\r\nb\r\n0\r\n\r\n"
	if got := buf.String(); got != want {
		t.Errorf("wire:\ngot  %q\nwant %q", abbrev(got), abbrev(want))
	}
}

func TestResponseWriterNoAlloc(t *testing.T) {
	// The common handler shapes allocate nothing once the writer is warm.
	r := parseTestRequest(t, get11)
	var tr testResponse
	var w *web.ResponseWriter
	body := []byte("Hello, world!\n")
	for _, tc := range []struct {
		name    string
		handler func()
	}{
		{"write", func() { w.Write(body) }},
		{"write_string", func() { w.WriteString("Hello, world!\n") }},
		{"write_header_write_string", func() { w.WriteHeader(201); w.WriteString("Hello, world!\n") }},
		{"flush_chunked", func() { w.WriteString("Hello, "); w.Flush(); w.WriteString("world!\n") }},
		{"declared_length", func() { w.Header().Set("Content-Length", "14"); w.WriteString("Hello, world!\n") }},
		{"connection_close", func() { w.Header().Set("Connection", "close"); w.WriteString("bye\n") }},
		{"early_hints", func() { w.Header().Set("Link", "</a.css>; rel=preload"); w.WriteHeader(103); w.WriteString("x") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			serve := func() {
				w = tr.Reset(io.Discard, r, testNow)
				w.Header().Set("Content-Type", "text/plain; charset=utf-8")
				tc.handler()
				if err := tr.Finish(); err != nil {
					t.Fatalf("Finish: %v", err)
				}
			}
			serve()
			if allocs := testing.AllocsPerRun(100, serve); allocs != 0 {
				t.Errorf("allocations per response: got %v, want 0", allocs)
			}
		})
	}
}

// TestResponseWriterAbort: a response given up on after its head went out
// ends without the last chunk, and the connection closes, so the client
// can tell it is incomplete.
func TestResponseWriterAbort(t *testing.T) {
	r := parseTestRequest(t, get11)
	var buf bytes.Buffer
	var tr testResponse
	w := tr.Reset(&buf, r, testNow)
	mustWrite(t, w, "partial")
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	w.Abort()
	if _, err := w.Write([]byte("more")); err != web.ErrAborted {
		t.Errorf("Write after Abort: got %v, want web.ErrAborted", err)
	}
	if err := tr.Finish(); err != web.ErrAborted {
		t.Errorf("Finish: got %v, want web.ErrAborted", err)
	}
	want := ok200 + "Transfer-Encoding: chunked\r\n\r\n" + chunk("partial")
	if got := buf.String(); got != want {
		t.Errorf("wire:\ngot  %q\nwant %q", got, want)
	}
	if !tr.s.Closing() {
		t.Error("Closing(): got false, want true")
	}
}
