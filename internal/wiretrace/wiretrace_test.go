package wiretrace

import (
	"bytes"
	"errors"
	"net/netip"
	"testing"
	"time"
)

func TestAppendText(t *testing.T) {
	head := []byte("HTTP/1.1 200 OK\r\nX-Evil: a\x1b[2Jb\xff\tc\r\n\r\n")
	got := string(AppendText(nil, head))
	if want := "  HTTP/1.1 200 OK\n  X-Evil: a\\x1B[2Jb\\xFF\tc\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestAppendStamp(t *testing.T) {
	at := time.Date(2026, 1, 2, 15, 4, 5, 123456789, time.UTC)
	for _, tt := range []struct {
		client netip.AddrPort
		want   string
	}{
		{netip.MustParseAddrPort("[::ffff:192.0.2.7]:5000"), "15:04:05.123456 192.0.2.7:5000 > "},
		{netip.AddrPort{}, "15:04:05.123456 - > "},
	} {
		if got := string(AppendStamp(nil, at, tt.client, In)); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
}

func TestMatch(t *testing.T) {
	for _, tt := range []struct {
		prefix, path string
		match        bool
		filtered     bool
	}{
		{"", "/x", true, false},
		{"/", "/x", true, false},
		{"/api", "/api/v1", true, true},
		{"/api", "/", false, true},
	} {
		tr := New(nil, tt.prefix)
		if tr.Match([]byte(tt.path)) != tt.match || tr.Filtered() != tt.filtered {
			t.Errorf("%q on %q: got %v, %v, want %v, %v", tt.prefix, tt.path, tr.Match([]byte(tt.path)), tr.Filtered(), tt.match, tt.filtered)
		}
	}
}

type failWriter struct{ n int }

func (f *failWriter) Write(p []byte) (int, error) {
	f.n++
	return 0, errors.New("full")
}

// TestWriteStopsAfterFailure: a failed write drops later entries instead
// of retrying on every request.
func TestWriteStopsAfterFailure(t *testing.T) {
	fw := &failWriter{}
	tr := New(fw, "")
	tr.Write([]byte("a\n"))
	tr.Write([]byte("b\n"))
	if fw.n != 1 {
		t.Errorf("writes: got %d, want 1", fw.n)
	}
	var buf bytes.Buffer
	New(&buf, "").Write([]byte("entry\n"))
	if buf.String() != "entry\n" {
		t.Errorf("got %q", buf.String())
	}
}
