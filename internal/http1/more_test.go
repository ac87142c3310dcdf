package http1

import (
	"bytes"
	"io"
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
