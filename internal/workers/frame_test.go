package workers

import (
	"bytes"
	"errors"
	"runtime"
	"testing"
	"time"
)

// limits for the tests: type 1 up to 100 bytes, type 2 empty, others unknown.
func testLimit(t uint8) int {
	switch t {
	case 1:
		return 100
	case 2:
		return 0
	}
	return -1
}

func TestParseFrame(t *testing.T) {
	whole := append(AppendFrameHeader(nil, 1, 7, 3), "abc"...)
	for n := range len(whole) {
		if _, used, err := ParseFrame(whole[:n], testLimit); used != 0 || err != nil {
			t.Fatalf("%d of %d bytes: used %d, err %v; want an incomplete frame", n, len(whole), used, err)
		}
	}
	f, used, err := ParseFrame(append(whole, "next"...), testLimit)
	if err != nil || used != len(whole) || f.Type != 1 || f.ID != 7 || string(f.Payload) != "abc" {
		t.Fatalf("got %+v, %d, %v", f, used, err)
	}
	// Limits are checked from the header alone, before the payload.
	var fe *FrameError
	if _, _, err := ParseFrame(AppendFrameHeader(nil, 1, 1, 101), testLimit); !errors.As(err, &fe) {
		t.Fatalf("payload over the limit: %v, want a FrameError", err)
	}
	if _, _, err := ParseFrame(AppendFrameHeader(nil, 9, 1, 0), testLimit); !errors.As(err, &fe) {
		t.Fatalf("unknown type: %v, want a FrameError", err)
	}
}

// TestFrameBuffer feeds frames a few bytes at a time through a buffer
// smaller than the largest: every frame comes out whole and in order, the
// buffer grows to the largest frame and no further.
func TestFrameBuffer(t *testing.T) {
	var wire []byte
	var want []string
	for i := range 40 {
		p := bytes.Repeat([]byte{byte('a' + i%26)}, i*5%101)
		wire = append(AppendFrameHeader(wire, 1, uint32(i), len(p)), p...)
		want = append(want, string(p))
		if i%7 == 0 {
			wire = AppendFrameHeader(wire, 2, uint32(i), 0)
			want = append(want, "")
		}
	}
	b := NewFrameBuffer(16, 100, testLimit)
	var got []string
	for chunk := 1; len(wire) > 0 || b.Buffered(); chunk = chunk%13 + 1 {
		f, ok, err := b.Next()
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			got = append(got, string(f.Payload))
			continue
		}
		space := b.Space()
		if len(space) == 0 {
			t.Fatalf("no room with %d bytes to go", len(wire))
		}
		n := copy(space, wire[:min(chunk, len(wire))])
		b.Filled(n)
		wire = wire[n:]
	}
	if len(got) != len(want) {
		t.Fatalf("got %d frames, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("frame %d: %q, want %q", i, got[i], want[i])
		}
	}
	if len(b.buf) > FrameHeaderSize+100 {
		t.Fatalf("buffer grew to %d, past the largest frame (%d)", len(b.buf), FrameHeaderSize+100)
	}
}

func TestGatewayDefaults(t *testing.T) {
	if n := WorkerCount(3); n != 3 {
		t.Errorf("WorkerCount(3) = %d", n)
	}
	if _, limited := cpuQuota(); !limited {
		if n := WorkerCount(0); n != runtime.NumCPU() {
			t.Errorf("WorkerCount(0) = %d, want one per CPU (%d)", n, runtime.NumCPU())
		}
	}
	for _, tc := range []struct{ t, want time.Duration }{{0, 30 * time.Second}, {-1, 0}, {time.Minute, time.Minute}} {
		if got := RequestTimeout(tc.t, 30*time.Second); got != tc.want {
			t.Errorf("RequestTimeout(%v) = %v, want %v", tc.t, got, tc.want)
		}
	}
}
