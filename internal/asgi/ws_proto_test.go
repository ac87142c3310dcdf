package asgi

import (
	"encoding/binary"
	"strings"
	"testing"

	"nave/internal/web"
)

func TestAppendWSConnect(t *testing.T) {
	r := testRequest()
	path := web.AppendUnescaped(nil, r.Path)
	b := appendWSConnect(nil, 9, r, path, nil, []string{"chat", "v2"})
	f, n, err := parseFrameAny(b)
	if err != nil || f.typ != frameWSConnect || f.id != 9 || n != len(b) {
		t.Fatalf("frame: %+v %v, %d of %d bytes", f, err, n, len(b))
	}
	p := f.payload
	segs := p[12:]
	want := []string{"/a b\x00/a%20b\x00x=1", "http\x001.1\x00\x00127.0.0.1:5000\x00[::1]:8000", "host\x00example\x00x-two\x00a"}
	for i := range 3 {
		l := binary.LittleEndian.Uint32(p[4*i:])
		if got := string(segs[:l]); got != want[i] {
			t.Errorf("segment %d: got %q, want %q", i, got, want[i])
		}
		segs = segs[l:]
	}
	if string(segs) != "chat\x00v2" {
		t.Errorf("subprotocols: got %q, want %q", segs, "chat\x00v2")
	}
}

// TestWSFrameLimits: the worker's WebSocket frames are bounded from their
// header, as the HTTP ones are.
func TestWSFrameLimits(t *testing.T) {
	for _, tc := range []struct {
		name string
		typ  frameType
		size int
		ok   bool
	}{
		{"accept", frameWSAccept, maxHeadBytes, true},
		{"accept_too_big", frameWSAccept, maxHeadBytes + 1, false},
		{"part", frameWSPart, maxDataBytes, true},
		{"send_too_big", frameWSSendBytes, maxDataBytes + 1, false},
		{"close", frameWSClose, 125, true},
		{"taken", frameWSTaken, 4, true},
		{"taken_long", frameWSTaken, 5, false},
		{"end_with_payload", frameWSEnd, 1, false},
		{"unused_type", 34, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := appendFrameHeader(nil, tc.typ, 1, tc.size)
			_, _, err := parseFrame(b)
			if (err == nil) != tc.ok {
				t.Errorf("got %v, want ok %v", err, tc.ok)
			}
		})
	}
}

func TestCloseReason(t *testing.T) {
	long := strings.Repeat("é", 100) // 200 bytes
	for _, tc := range []struct{ in, want string }{
		{"bye", "bye"},
		{"\xff", ""},
		{long, strings.Repeat("é", 61)}, // 122 bytes: 123 would cut a character
		{strings.Repeat("a", 200), strings.Repeat("a", 123)},
	} {
		if got := closeReason([]byte(tc.in)); got != tc.want {
			t.Errorf("closeReason(%q): got %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestIsUpgradeNoAlloc: the test every HTTP request passes through on its
// way to the app allocates nothing.
func TestIsUpgradeNoAlloc(t *testing.T) {
	r := testRequest()
	if n := testing.AllocsPerRun(100, func() { isUpgrade(r) }); n != 0 || isUpgrade(r) {
		t.Errorf("isUpgrade: %v allocations, upgrade %v; want 0, false", n, isUpgrade(r))
	}
}
