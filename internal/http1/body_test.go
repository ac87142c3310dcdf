package http1

import (
	"bytes"
	"errors"
	"io"
	"nave/internal/web"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

const chunkedHead = "POST /upload HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n"

func lengthHead(n int) string {
	return "POST /upload HTTP/1.1\r\nHost: example.com\r\nContent-Length: " + itoa(n) + "\r\n\r\n"
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

type bodyCase struct {
	name    string
	head    string
	body    string // the wire bytes after head
	lim     Limits
	want    string   // body bytes read, up to the error if any
	trailer []string // "Name: value"
	wantErr error
}

var bodyCases = []bodyCase{
	{name: "length", head: lengthHead(5), body: "hello", want: "hello"},
	{name: "length_zero", head: lengthHead(0), want: ""},
	{name: "no_framing", head: "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n", want: ""},
	{name: "length_large", head: lengthHead(10000), body: strings.Repeat("0123456789", 1000), want: strings.Repeat("0123456789", 1000)},
	{name: "length_truncated", head: lengthHead(10), body: "hello", want: "hello", wantErr: io.ErrUnexpectedEOF},
	{name: "length_truncated_empty", head: lengthHead(10), want: "", wantErr: io.ErrUnexpectedEOF},

	{name: "chunked", head: chunkedHead, body: "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", want: "hello world"},
	{name: "chunked_empty", head: chunkedHead, body: "0\r\n\r\n", want: ""},
	{name: "chunked_hex_upper", head: chunkedHead, body: "1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\n\r\n", want: "abcdefghijklmnopqrstuvwxyz"},
	{name: "chunked_hex_lower", head: chunkedHead, body: "1a\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\n\r\n", want: "abcdefghijklmnopqrstuvwxyz"},
	{name: "chunked_leading_zeros", head: chunkedHead, body: "0005\r\nhello\r\n000\r\n\r\n", want: "hello"},
	{name: "chunked_large", head: chunkedHead, body: "2710\r\n" + strings.Repeat("0123456789", 1000) + "\r\n0\r\n\r\n", want: strings.Repeat("0123456789", 1000)},
	{name: "chunked_ext", head: chunkedHead, body: "5;name=val\r\nhello\r\n0\r\n\r\n", want: "hello"},
	{name: "chunked_ext_flag", head: chunkedHead, body: "5;flag;other=x\r\nhello\r\n0\r\n\r\n", want: "hello"},
	{name: "chunked_ext_quoted", head: chunkedHead, body: "5;name=\"a \\\"quoted\\\" ;val\"\r\nhello\r\n0\r\n\r\n", want: "hello"},
	{name: "chunked_ext_bws", head: chunkedHead, body: "5 ; name = val\t;\tflag\r\nhello\r\n0\r\n\r\n", want: "hello"},
	{name: "chunked_ext_on_last_chunk", head: chunkedHead, body: "5\r\nhello\r\n0;sig=\"abc\"\r\n\r\n", want: "hello"},
	{
		name: "chunked_trailer", head: chunkedHead,
		body:    "5\r\nhello\r\n0\r\nExpires: never\r\nX-Checksum:  abc \r\nX-Checksum: def\r\n\r\n",
		want:    "hello",
		trailer: []string{"Expires: never", "X-Checksum: abc", "X-Checksum: def"},
	},
	{name: "chunked_at_body_limit", head: chunkedHead, body: "5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n", lim: Limits{MaxBodyBytes: 10}, want: "helloworld"},

	{name: "chunk_size_overflow", head: chunkedHead, body: "10000000000000000\r\nx\r\n0\r\n\r\n", wantErr: ErrBadChunk},
	{name: "chunk_size_overflow_sign", head: chunkedHead, body: "ffffffffffffffff\r\nx\r\n0\r\n\r\n", wantErr: ErrBadChunk},
	{name: "chunk_size_over_body_limit", head: chunkedHead, body: "7fffffff\r\nx\r\n0\r\n\r\n", wantErr: ErrBodyTooLarge},
	{name: "chunked_over_body_limit", head: chunkedHead, body: "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", lim: Limits{MaxBodyBytes: 10}, want: "hello", wantErr: ErrBodyTooLarge},
	{name: "chunk_size_not_hex", head: chunkedHead, body: "g\r\nx\r\n0\r\n\r\n", wantErr: ErrBadChunk},
	{name: "chunk_size_0x", head: chunkedHead, body: "0x5\r\nhello\r\n0\r\n\r\n", wantErr: ErrBadChunk},
	{name: "chunk_size_signed", head: chunkedHead, body: "+5\r\nhello\r\n0\r\n\r\n", wantErr: ErrBadChunk},
	{name: "chunk_size_missing", head: chunkedHead, body: "\r\nhello\r\n0\r\n\r\n", wantErr: ErrBadChunk},
	{name: "chunk_size_missing_ext", head: chunkedHead, body: ";a=b\r\nhello\r\n0\r\n\r\n", wantErr: ErrBadChunk},
	{name: "chunk_size_leading_space", head: chunkedHead, body: " 5\r\nhello\r\n0\r\n\r\n", wantErr: ErrBadChunk},
	{name: "chunk_size_two_numbers", head: chunkedHead, body: "5 5\r\nhello\r\n0\r\n\r\n", wantErr: ErrBadChunk},
	{name: "bare_lf_after_size", head: chunkedHead, body: "5\nhello\r\n0\r\n\r\n", wantErr: ErrBadChunk},
	{name: "bare_lf_after_data", head: chunkedHead, body: "5\r\nhello\n0\r\n\r\n", want: "hello", wantErr: ErrBadChunk},
	{name: "bare_lf_after_last_chunk", head: chunkedHead, body: "5\r\nhello\r\n0\n\r\n", want: "hello", wantErr: ErrBadChunk},
	{name: "bare_lf_ends_body", head: chunkedHead, body: "5\r\nhello\r\n0\r\n\n", want: "hello", wantErr: ErrBadChunk},
	{name: "bare_cr_after_data", head: chunkedHead, body: "5\r\nhello\r0\r\n\r\n", want: "hello", wantErr: ErrBadChunk},
	{name: "missing_crlf_after_data", head: chunkedHead, body: "5\r\nhello0\r\n\r\n", want: "hello", wantErr: ErrBadChunk},
	{name: "data_longer_than_size", head: chunkedHead, body: "3\r\nhello\r\n0\r\n\r\n", want: "hel", wantErr: ErrBadChunk},
	{name: "bad_ext_empty", head: chunkedHead, body: "5;\r\nhello\r\n0\r\n\r\n", wantErr: ErrBadChunk},
	{name: "bad_ext_no_name", head: chunkedHead, body: "5;=v\r\nhello\r\n0\r\n\r\n", wantErr: ErrBadChunk},
	{name: "bad_ext_no_value", head: chunkedHead, body: "5;a=\r\nhello\r\n0\r\n\r\n", wantErr: ErrBadChunk},
	{name: "bad_ext_open_quote", head: chunkedHead, body: "5;a=\"open\r\nhello\r\n0\r\n\r\n", wantErr: ErrBadChunk},
	{name: "bad_ext_junk", head: chunkedHead, body: "5 junk\r\nhello\r\n0\r\n\r\n", wantErr: ErrBadChunk},
	{name: "bad_ext_value_space", head: chunkedHead, body: "5;a=b c\r\nhello\r\n0\r\n\r\n", wantErr: ErrBadChunk},
	{name: "bad_ext_ctl", head: chunkedHead, body: "5;a=\"\x01\"\r\nhello\r\n0\r\n\r\n", wantErr: ErrBadChunk},
	{name: "chunk_line_too_long", head: chunkedHead, body: "5;a=" + strings.Repeat("x", maxChunkLine) + "\r\nhello\r\n0\r\n\r\n", wantErr: ErrBadChunk},
	{name: "chunk_line_too_long_unterminated", head: chunkedHead, body: "5;a=" + strings.Repeat("x", 2*maxChunkLine), wantErr: ErrBadChunk},
	{name: "truncated_in_data", head: chunkedHead, body: "5\r\nhel", want: "hel", wantErr: io.ErrUnexpectedEOF},
	{name: "truncated_after_data", head: chunkedHead, body: "5\r\nhello\r\n", want: "hello", wantErr: io.ErrUnexpectedEOF},
	{name: "truncated_in_size", head: chunkedHead, body: "5", wantErr: io.ErrUnexpectedEOF},
	{name: "truncated_no_chunks", head: chunkedHead, wantErr: io.ErrUnexpectedEOF},
	{name: "truncated_in_trailer", head: chunkedHead, body: "0\r\nX-A: b\r\n", wantErr: io.ErrUnexpectedEOF},
	{name: "trailer_obs_fold", head: chunkedHead, body: "0\r\nX-A: b\r\n c\r\n\r\n", wantErr: ErrObsFold},
	{name: "trailer_bad_field", head: chunkedHead, body: "0\r\nX-A b\r\n\r\n", wantErr: ErrBadHeader},
	{name: "trailer_bare_lf", head: chunkedHead, body: "0\r\nX-A: b\n\r\n", wantErr: ErrBadChunk},
	{name: "trailer_too_many", head: chunkedHead, body: "0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", lim: Limits{MaxHeaderCount: 2}, wantErr: ErrTooManyHeaders},
	{name: "trailer_too_large", head: chunkedHead, body: "0\r\nA: " + strings.Repeat("a", 40) + "\r\nB: " + strings.Repeat("b", 40) + "\r\n\r\n", lim: Limits{MaxHeaderBytes: 64}, wantErr: ErrHeaderTooLarge},
	{name: "trailer_line_too_large", head: chunkedHead, body: "0\r\nA: " + strings.Repeat("a", 80) + "\r\n\r\n", lim: Limits{MaxHeaderBytes: 64}, wantErr: ErrHeaderTooLarge},
	{name: "trailer_line_too_large_bare_lf", head: chunkedHead, body: "0\r\nA: " + strings.Repeat("a", 80) + "\n\r\n", lim: Limits{MaxHeaderBytes: 64}, wantErr: ErrHeaderTooLarge},
}

// bodyReads are the ways a body reaches a reader.
var bodyReads = []struct {
	name string
	src  func(string) io.Reader
	size int // bytes asked for per Read
}{
	{"whole", func(s string) io.Reader { return strings.NewReader(s) }, 64 << 10},
	{"byte_src", func(s string) io.Reader { return iotest.OneByteReader(strings.NewReader(s)) }, 64 << 10},
	{"byte_reads", func(s string) io.Reader { return iotest.OneByteReader(strings.NewReader(s)) }, 1},
	{"half_src", func(s string) io.Reader { return iotest.HalfReader(strings.NewReader(s)) }, 7},
	{"eof_with_data", func(s string) io.Reader { return &eofWithData{s: s} }, 64 << 10},
}

// eofWithData returns its last bytes together with io.EOF, as io.Reader allows.
type eofWithData struct{ s string }

func (r *eofWithData) Read(p []byte) (int, error) {
	n := copy(p, r.s)
	r.s = r.s[n:]
	if len(r.s) == 0 {
		return n, io.EOF
	}
	return n, nil
}

// readBody reads b to its end or first error, size bytes at a time.
func readBody(b *Body, size int) (string, error) {
	var out []byte
	p := make([]byte, size)
	for {
		n, err := b.Read(p)
		out = append(out, p[:n]...)
		if err == io.EOF {
			return string(out), nil
		}
		if err != nil {
			return string(out), err
		}
	}
}

func TestBody(t *testing.T) {
	for _, tc := range bodyCases {
		t.Run(tc.name, func(t *testing.T) {
			for _, mode := range bodyReads {
				t.Run(mode.name, func(t *testing.T) {
					in := &Input{Src: mode.src(tc.head + tc.body)}
					var r Request
					if err := ReadRequest(in, &r, &tc.lim); err != nil {
						t.Fatalf("ReadRequest: %v", err)
					}
					method, path, host := string(r.Method), string(r.Path), string(r.Header.Get("Host"))
					got, err := readBody(&r.Body, mode.size)
					if got != tc.want {
						t.Errorf("body: got %q, want %q", abbrev(got), abbrev(tc.want))
					}
					if err != tc.wantErr {
						t.Errorf("error: got %v, want %v", err, tc.wantErr)
					}
					if r.Body.Err() != tc.wantErr {
						t.Errorf("Err(): got %v, want %v", r.Body.Err(), tc.wantErr)
					}
					if r.Body.Done() != (tc.wantErr == nil) {
						t.Errorf("Done(): got %v, want %v", r.Body.Done(), tc.wantErr == nil)
					}
					if tc.wantErr != nil {
						if n, again := r.Body.Read(make([]byte, 8)); n != 0 || again != tc.wantErr {
							t.Errorf("Read after error: got %d, %v; want 0, %v (sticky)", n, again, tc.wantErr)
						}
						return
					}
					if trailer := renderFields(&r.Trailer); !slices.Equal(trailer, tc.trailer) {
						t.Errorf("trailer: got %q, want %q", trailer, tc.trailer)
					}
					if n, again := r.Body.Read(make([]byte, 8)); n != 0 || again != io.EOF {
						t.Errorf("Read after end: got %d, %v; want 0, EOF", n, again)
					}
					// Reading the body must not disturb the head it follows.
					if string(r.Method) != method || string(r.Path) != path || string(r.Header.Get("Host")) != host {
						t.Errorf("head after reading the body: got %q %q %q, want %q %q %q",
							r.Method, r.Path, r.Header.Get("Host"), method, path, host)
					}
					if in.Buffered() != 0 {
						t.Errorf("%d bytes left buffered after the body", in.Buffered())
					}
				})
			}
		})
	}
}

func abbrev(s string) string {
	if len(s) > 64 {
		return s[:30] + "..." + s[len(s)-30:]
	}
	return s
}

func TestBodyHeadStaysValid(t *testing.T) {
	// The Request's slices alias the read buffer; reading the body (which
	// refills that buffer) must leave them intact until the handler returns.
	raw := "POST /path?q=1 HTTP/1.1\r\nHost: example.com\r\nX-Token: secret\r\nContent-Length: 9000\r\n\r\n" +
		strings.Repeat("Z", 9000)
	for _, mode := range bodyReads {
		t.Run(mode.name, func(t *testing.T) {
			in := &Input{Src: mode.src(raw)}
			var r Request
			if err := ReadRequest(in, &r, &Limits{}); err != nil {
				t.Fatalf("ReadRequest: %v", err)
			}
			if _, err := readBody(&r.Body, mode.size); err != nil {
				t.Fatalf("reading body: %v", err)
			}
			checkHead(t, &r, head{method: "POST", target: "/path?q=1", path: "/path", query: "q=1", host: "example.com",
				minor: 1, length: 9000, fields: []string{"Host: example.com", "X-Token: secret", "Content-Length: 9000"}})
		})
	}
}

func TestBodyHeadStaysValidFullBuffer(t *testing.T) {
	// A head that fills its buffer exactly leaves no room after it for body
	// bytes: reading the body must still work and keep the head.
	buf := make([]byte, 256)
	headStart := "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nX-Pad: "
	pad := strings.Repeat("p", len(buf)-len(headStart)-4)
	raw := headStart + pad + "\r\n\r\n"
	in := &Input{Src: iotest.OneByteReader(strings.NewReader("abc"))}
	in.SetBuffer(buf, copy(buf, raw))
	var r Request
	if err := ReadRequest(in, &r, &Limits{}); err != nil {
		t.Fatalf("ReadRequest: %v", err)
	}
	got, err := readBody(&r.Body, 1)
	if got != "abc" || err != nil {
		t.Fatalf("body: got %q, %v; want %q, nil", got, err, "abc")
	}
	if got := r.Header.Get("X-Pad"); string(got) != pad {
		t.Errorf("X-Pad after reading the body: got %q, want %q", got, pad)
	}
}

func TestBodyPipelined(t *testing.T) {
	for _, tc := range []struct {
		name, first, wantBody string
	}{
		{"length", lengthHead(5) + "hello", "hello"},
		{"chunked", chunkedHead + "5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n", "hello"},
		{"no_body", "GET /first HTTP/1.1\r\nHost: h\r\n\r\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			second := "GET /second HTTP/1.1\r\nHost: h\r\n\r\n"
			for _, mode := range bodyReads {
				t.Run(mode.name, func(t *testing.T) {
					in := &Input{Src: mode.src(tc.first + second)}
					var r Request
					if err := ReadRequest(in, &r, &Limits{}); err != nil {
						t.Fatalf("first ReadRequest: %v", err)
					}
					if got, err := readBody(&r.Body, mode.size); got != tc.wantBody || err != nil {
						t.Fatalf("first body: got %q, %v; want %q, nil", got, err, tc.wantBody)
					}
					if err := ReadRequest(in, &r, &Limits{}); err != nil {
						t.Fatalf("second ReadRequest: %v", err)
					}
					if string(r.Path) != "/second" {
						t.Errorf("second Path: got %q, want %q", r.Path, "/second")
					}
					if got, err := readBody(&r.Body, mode.size); got != "" || err != nil {
						t.Errorf("second body: got %q, %v; want empty", got, err)
					}
					if err := ReadRequest(in, &r, &Limits{}); err != io.EOF {
						t.Errorf("third ReadRequest: got %v, want EOF", err)
					}
				})
			}
		})
	}
}

func TestBodyDiscard(t *testing.T) {
	second := "GET /second HTTP/1.1\r\nHost: h\r\n\r\n"
	for _, tc := range []struct {
		name    string
		raw     string
		read    int // body bytes read before Discard
		max     int64
		wantErr error
	}{
		{"length_unread", lengthHead(5) + "hello", 0, 5, nil},
		{"length_partly_read", lengthHead(5) + "hello", 2, 3, nil},
		{"length_over_max", lengthHead(5) + "hello", 0, 4, ErrBodyTooLarge},
		{"chunked_unread", chunkedHead + "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", 0, 11, nil},
		{"chunked_over_max", chunkedHead + "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", 0, 10, ErrBodyTooLarge},
		{"chunked_bad", chunkedHead + "5\r\nhelloXX", 0, 100, ErrBadChunk},
		{"empty", "GET / HTTP/1.1\r\nHost: h\r\n\r\n", 0, 0, nil},
		{"empty_negative_max", "GET / HTTP/1.1\r\nHost: h\r\n\r\n", 0, -1, nil},
		{"length_zero_max", lengthHead(5) + "hello", 0, 0, ErrBodyTooLarge},
		{"length_negative_max", lengthHead(5) + "hello", 0, -1, ErrBodyTooLarge},
		{"read_to_end", lengthHead(5) + "hello", 5, 0, nil},
		{"length_large", lengthHead(10000) + strings.Repeat("x", 10000), 0, 10000, nil},
		{"length_large_over_max", lengthHead(10000) + strings.Repeat("x", 10000), 0, 9999, ErrBodyTooLarge},
		{"length_large_huge_max", lengthHead(10000) + strings.Repeat("x", 10000), 100, 1<<63 - 1, nil},
		{"chunked_large", chunkedHead + "2710\r\n" + strings.Repeat("x", 10000) + "\r\n0\r\nX-T: 1\r\n\r\n", 0, 10000, nil},
		{"truncated", lengthHead(10) + "hello", 0, 100, io.ErrUnexpectedEOF},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, mode := range bodyReads {
				t.Run(mode.name, func(t *testing.T) {
					raw := tc.raw + second
					if tc.wantErr == io.ErrUnexpectedEOF {
						raw = tc.raw
					}
					in := &Input{Src: mode.src(raw)}
					var r Request
					if err := ReadRequest(in, &r, &Limits{}); err != nil {
						t.Fatalf("ReadRequest: %v", err)
					}
					if tc.read > 0 {
						if _, err := io.ReadFull(&r.Body, make([]byte, tc.read)); err != nil {
							t.Fatalf("reading %d body bytes: %v", tc.read, err)
						}
					}
					if err := r.Body.Discard(tc.max); err != tc.wantErr {
						t.Fatalf("Discard(%d): got %v, want %v", tc.max, err, tc.wantErr)
					}
					if tc.wantErr != nil {
						return
					}
					if !r.Body.Done() {
						t.Errorf("Done() after Discard: got false, want true")
					}
					if err := ReadRequest(in, &r, &Limits{}); err != nil || string(r.Path) != "/second" {
						t.Errorf("next request: got %q, %v; want %q, nil", r.Path, err, "/second")
					}
				})
			}
		})
	}
}

func TestBodyExpectContinue(t *testing.T) {
	raw := "PUT /f HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\nhello"
	now := time.Date(2024, 3, 9, 12, 30, 45, 0, time.UTC)
	for _, tc := range []struct {
		name        string
		handler     func(t *testing.T, w *web.ResponseWriter, r *Request, dst *bytes.Buffer)
		want        string
		wantClosing bool
	}{
		{
			name: "read_sends_continue",
			handler: func(t *testing.T, w *web.ResponseWriter, r *Request, dst *bytes.Buffer) {
				if got := dst.String(); got != "" {
					t.Errorf("before the first Read: got %q on the wire, want nothing", got)
				}
				p := make([]byte, 2)
				if n, err := r.Body.Read(p); n != 2 || err != nil {
					t.Fatalf("first Read: got %d, %v", n, err)
				}
				if got := dst.String(); got != "HTTP/1.1 100 Continue\r\n\r\n" {
					t.Errorf("after the first Read: got %q, want exactly the 100 response", got)
				}
				if rest, err := readBody(&r.Body, 64); rest != "llo" || err != nil {
					t.Errorf("rest of body: got %q, %v", rest, err)
				}
				w.WriteString("ok")
			},
			want: "HTTP/1.1 100 Continue\r\n\r\n" +
				"HTTP/1.1 200 OK\r\nDate: Sat, 09 Mar 2024 12:30:45 GMT\r\nServer: nave\r\nContent-Length: 2\r\n\r\nok",
		},
		{
			name: "final_status_first",
			handler: func(t *testing.T, w *web.ResponseWriter, r *Request, dst *bytes.Buffer) {
				w.WriteHeader(413)
				if _, err := readBody(&r.Body, 64); err != nil {
					t.Errorf("reading body: %v", err)
				}
			},
			want: "HTTP/1.1 413 Content Too Large\r\nDate: Sat, 09 Mar 2024 12:30:45 GMT\r\nServer: nave\r\nContent-Length: 0\r\n\r\n",
		},
		{
			// No 100 was sent, so the client may or may not send the body:
			// the connection cannot be reused, and the response says so.
			name:        "body_unread",
			handler:     func(t *testing.T, w *web.ResponseWriter, r *Request, dst *bytes.Buffer) {},
			want:        "HTTP/1.1 200 OK\r\nDate: Sat, 09 Mar 2024 12:30:45 GMT\r\nServer: nave\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
			wantClosing: true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var dst bytes.Buffer
			in := &Input{Src: strings.NewReader(raw)}
			var r Request
			if err := ReadRequest(in, &r, &Limits{}); err != nil {
				t.Fatalf("ReadRequest: %v", err)
			}
			var tr testResponse
			w := tr.Reset(&dst, &r, now)
			tc.handler(t, w, &r, &dst)
			if err := tr.Finish(); err != nil {
				t.Fatalf("Finish: %v", err)
			}
			if got := dst.String(); got != tc.want {
				t.Errorf("wire:\ngot  %q\nwant %q", got, tc.want)
			}
			if tr.s.Closing() != tc.wantClosing {
				t.Errorf("Closing(): got %v, want %v", tr.s.Closing(), tc.wantClosing)
			}
		})
	}
}

func TestBodyContinueWriteError(t *testing.T) {
	raw := "PUT /f HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\nhello"
	in := &Input{Src: strings.NewReader(raw)}
	var r Request
	if err := ReadRequest(in, &r, &Limits{}); err != nil {
		t.Fatalf("ReadRequest: %v", err)
	}
	var tr testResponse
	broken := errors.New("broken pipe")
	tr.Reset(failWriter{broken}, &r, time.Time{})
	if _, err := r.Body.Read(make([]byte, 5)); err != broken {
		t.Errorf("Read: got %v, want %v", err, broken)
	}
	if !tr.s.Closing() {
		t.Errorf("Closing() after a write error: got false, want true")
	}
}

type failWriter struct{ err error }

func (f failWriter) Write(p []byte) (int, error) { return 0, f.err }

func TestBodyNoAlloc(t *testing.T) {
	// Reading bodies, with trailers or after 100 Continue, allocates
	// nothing once the buffers are warm.
	for _, tc := range []struct{ name, raw string }{
		{"length", lengthHead(5) + "hello"},
		{"chunked_trailer", chunkedHead + "5;x=y\r\nhello\r\n0\r\nX-Sum: abc\r\n\r\n"},
		{"expect_continue", "PUT /f HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\nhello"},
		{"discard_unread", lengthHead(5) + "hello"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := &Input{Src: &replay{[]byte(tc.raw)}}
			var (
				r   Request
				tr  testResponse
				lim Limits
			)
			p := make([]byte, 64)
			serve := func() {
				if err := ReadRequest(in, &r, &lim); err != nil {
					t.Fatalf("ReadRequest: %v", err)
				}
				tr.Reset(io.Discard, &r, testNow)
				if tc.name != "discard_unread" {
					for {
						if _, err := r.Body.Read(p); err == io.EOF {
							break
						} else if err != nil {
							t.Fatalf("Read: %v", err)
						}
					}
				}
				if err := tr.Finish(); err != nil {
					t.Fatalf("Finish: %v", err)
				}
				if err := r.Body.Discard(1 << 20); err != nil {
					t.Fatalf("Discard: %v", err)
				}
			}
			serve()
			if allocs := testing.AllocsPerRun(100, serve); allocs != 0 {
				t.Errorf("allocations per request: got %v, want 0", allocs)
			}
		})
	}
}
