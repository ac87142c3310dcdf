package http1

import (
	"bytes"
	"io"
	"strconv"
	"strings"
	"testing"
)

// moreDst records how a response reached it: which bytes through Write,
// WriteMore and ReadFrom, in order.
type moreDst struct {
	calls []string
	out   bytes.Buffer
}

func (d *moreDst) Write(p []byte) (int, error) {
	d.calls = append(d.calls, "Write")
	return d.out.Write(p)
}

func (d *moreDst) WriteMore(p []byte) (int, error) {
	d.calls = append(d.calls, "WriteMore")
	return d.out.Write(p)
}

func (d *moreDst) ReadFrom(r io.Reader) (int64, error) {
	d.calls = append(d.calls, "ReadFrom")
	return d.out.ReadFrom(r)
}

// TestReadFromWriteMore: before a body handed to the destination's
// ReadFrom, the head goes through WriteMore; with no body to follow, and
// for every other write, through Write.
func TestReadFromWriteMore(t *testing.T) {
	tests := []struct {
		name, req, body string
		declared        string
		want            string
	}{
		{"body_follows", get11, "file body", "9", "WriteMore ReadFrom"},
		{"empty_body", get11, "", "0", "Write ReadFrom"},
		{"head_request", head11, "file body", "9", "Write"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &moreDst{}
			r := parseTestRequest(t, tt.req)
			var tr testResponse
			w := tr.Reset(d, r, testNow)
			w.Header().Set("Content-Length", tt.declared)
			if _, err := w.ReadFrom(strings.NewReader(tt.body)); err != nil {
				t.Fatal(err)
			}
			if err := tr.Finish(); err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(d.calls, " "); got != tt.want {
				t.Errorf("calls %q, want %q", got, tt.want)
			}
			if r.ProtoMinor == 1 && tt.req == get11 && !strings.HasSuffix(d.out.String(), "\r\n\r\n"+tt.body) {
				t.Errorf("output %q", d.out.String())
			}
		})
	}
	// Plain writes never use WriteMore.
	d := &moreDst{}
	var tr testResponse
	w := tr.Reset(d, parseTestRequest(t, get11), testNow)
	w.Write([]byte("hello"))
	tr.Finish()
	if got := strings.Join(d.calls, " "); got != "Write" {
		t.Errorf("Write then Finish: calls %q", got)
	}
}

// TestLastWriteBeforeClose: a response after which the connection closes
// sends its last bytes through WriteMore (the close's FIN takes them
// along); on a kept connection, and before the last flush of a streamed
// response, writes go through Write, so that nothing is held back.
func TestLastWriteBeforeClose(t *testing.T) {
	closing := "GET /f HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
	for _, tt := range []struct {
		name, req string
		stream    bool
		want      string
	}{
		{"close", closing, false, "WriteMore"},
		{"close_streamed", closing, true, "Write WriteMore"},
		{"keep_alive", get11, false, "Write"},
		{"keep_alive_streamed", get11, true, "Write Write"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := &moreDst{}
			var tr testResponse
			w := tr.Reset(d, parseTestRequest(t, tt.req), testNow)
			w.Write([]byte("hello"))
			if tt.stream {
				if err := w.Flush(); err != nil {
					t.Fatal(err)
				}
				w.Write([]byte(" world"))
			}
			if err := tr.Finish(); err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(d.calls, " "); got != tt.want {
				t.Errorf("calls %q, want %q", got, tt.want)
			}
			body := "hello"
			if tt.stream {
				body = "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
			}
			if !strings.HasSuffix(d.out.String(), body) {
				t.Errorf("output %q, want it to end with %q", d.out.String(), body)
			}
		})
	}
}

// gatherDst is a moreDst that also gathers writes (BuffersWriter).
type gatherDst struct{ moreDst }

func (d *gatherDst) WriteBuffers(bufs [][]byte) (int64, error) {
	d.calls = append(d.calls, "WriteBuffers")
	var n int64
	for _, b := range bufs {
		m, _ := d.out.Write(b)
		n += int64(m)
	}
	return n, nil
}

// TestLargeBodyGathered: a body of known length too large for the
// response buffer leaves with its head in one gathered write where the
// destination offers one (on a connection that closes after it too), in
// two writes where it does not; a chunked body goes as the buffer fills,
// never gathered.
func TestLargeBodyGathered(t *testing.T) {
	large := strings.Repeat("x", 50<<10)
	closing := "GET /f HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
	for _, tt := range []struct {
		name, req string
		gather    bool
		declared  bool
		want      string
	}{
		{"gathered", get11, true, true, "WriteBuffers"},
		{"no_gathering", get11, false, true, "Write Write"},
		{"chunked", get11, true, false, ""},
		{"closing", closing, true, true, "WriteBuffers"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var dst io.Writer
			var calls *[]string
			var out *bytes.Buffer
			if tt.gather {
				d := &gatherDst{}
				dst, calls, out = d, &d.calls, &d.out
			} else {
				d := &moreDst{}
				dst, calls, out = d, &d.calls, &d.out
			}
			var tr testResponse
			w := tr.Reset(dst, parseTestRequest(t, tt.req), testNow)
			if tt.declared {
				w.Header().Set("Content-Length", strconv.Itoa(len(large)))
			}
			if _, err := w.Write([]byte(large)); err != nil {
				t.Fatal(err)
			}
			if err := tr.Finish(); err != nil {
				t.Fatal(err)
			}
			got := strings.Join(*calls, " ")
			if tt.want == "" && (strings.Contains(got, "WriteBuffers") || len(*calls) < 2) {
				t.Errorf("calls %q, want writes as the buffer fills", got)
			} else if tt.want != "" && got != tt.want {
				t.Errorf("calls %q, want %q", got, tt.want)
			}
			head, body, ok := strings.Cut(out.String(), "\r\n\r\n")
			if !ok || !strings.HasPrefix(head, "HTTP/1.1 200 OK\r\n") {
				t.Fatalf("output begins %.80q", out.String())
			}
			if tt.declared && body != large {
				t.Errorf("body of %d bytes, want the %d written", len(body), len(large))
			}
			if !tt.declared && (!strings.HasSuffix(body, "x\r\n0\r\n\r\n") || strings.Count(body, "x") != len(large)) {
				t.Errorf("chunked body of %d bytes, ends %q", len(body), body[max(0, len(body)-20):])
			}
		})
	}
}
