package server

import (
	"context"
	"encoding/binary"
	"io"
	"testing"
	"time"

	"nave/internal/http2"
	"nave/internal/wiretest"
)

// h2Frame is a frame as the tests read it.
type h2Frame struct {
	typ, flags byte
	stream     uint32
	payload    []byte
}

// readH2Frame reads one frame; io.EOF when the server closed.
func readH2Frame(t *testing.T, c *wiretest.Conn) (h2Frame, error) {
	t.Helper()
	var h [9]byte
	if _, err := io.ReadFull(c.Reader(), h[:]); err != nil {
		return h2Frame{}, err
	}
	f := h2Frame{typ: h[3], flags: h[4], stream: binary.BigEndian.Uint32(h[5:]) & (1<<31 - 1)}
	f.payload = make([]byte, int(h[0])<<16|int(h[1])<<8|int(h[2]))
	if _, err := io.ReadFull(c.Reader(), f.payload); err != nil {
		t.Fatalf("frame cut short: %v", err)
	}
	return f, nil
}

// dialH2C opens an h2c connection and completes the SETTINGS exchange.
func dialH2C(t *testing.T, addr string) *wiretest.Conn {
	t.Helper()
	c := wiretest.Dial(t, addr)
	c.Send(http2.ClientPreface + "\x00\x00\x00\x04\x00\x00\x00\x00\x00") // an empty SETTINGS
	for acked, sent := false, false; !acked || !sent; {
		f, err := readH2Frame(t, c)
		if err != nil {
			t.Fatalf("during the SETTINGS exchange: %v", err)
		}
		if f.typ == 0x4 && f.flags&0x1 != 0 {
			acked = true
		} else if f.typ == 0x4 {
			c.Send("\x00\x00\x00\x04\x01\x00\x00\x00\x00")
			sent = true
		}
	}
	return c
}

// expectGoAwayThenEOF reads frames until the server closes, within
// clientTimeout, and checks that a GOAWAY with NO_ERROR came first, the
// graceful one with the largest stream id. It acknowledges the shutdown's
// PING, and returns the other frames.
func expectGoAwayThenEOF(t *testing.T, c *wiretest.Conn) []h2Frame {
	t.Helper()
	var frames []h2Frame
	goAway := false
	for {
		f, err := readH2Frame(t, c)
		if err != nil {
			if !goAway {
				t.Errorf("closed (%v) without GOAWAY", err)
			}
			if err != io.EOF {
				t.Errorf("got %v, want EOF after GOAWAY", err)
			}
			return frames
		}
		if f.typ == 0x7 {
			if code := binary.BigEndian.Uint32(f.payload[4:8]); code != 0 {
				t.Errorf("GOAWAY with error %d, want NO_ERROR", code)
			}
			last := binary.BigEndian.Uint32(f.payload[:4])
			if !goAway && last != 1<<31-1 {
				t.Errorf("first GOAWAY with last stream %d, want %d (RFC 9113 §6.8)", last, 1<<31-1)
			}
			goAway = true
			continue
		}
		if f.typ == 0x6 && f.flags&0x1 == 0 { // the shutdown's PING: acknowledge it
			c.Send("\x00\x00\x08\x06\x01\x00\x00\x00\x00" + string(f.payload))
			continue
		}
		frames = append(frames, f)
	}
}

// TestShutdownClosesIdleH2: an HTTP/2 connection with no stream open gets
// GOAWAY and is closed by Shutdown at once, as an idle HTTP/1.1 one is;
// one with a stream in flight is closed once that stream's response is
// out. Neither waits for Shutdown's deadline.
func TestShutdownClosesIdleH2(t *testing.T) {
	g := newGate()
	s, addr := startGated(t, g)
	idle := dialH2C(t, addr)
	busy := dialH2C(t, addr)
	// HEADERS, END_STREAM|END_HEADERS, stream 1: GET http / (static table).
	busy.Send("\x00\x00\x03\x01\x05\x00\x00\x00\x01\x82\x86\x84")
	g.waitArrivals(t, 1)

	ctx, cancel := context.WithTimeout(context.Background(), 2*clientTimeout)
	defer cancel()
	shut := make(chan error, 1)
	start := time.Now()
	go func() { shut <- s.Shutdown(ctx) }()
	expectGoAwayThenEOF(t, idle)
	if d := time.Since(start); d > clientTimeout {
		t.Errorf("the idle connection closed after %v", d)
	}
	g.open()
	frames := expectGoAwayThenEOF(t, busy)
	if n := len(frames); n == 0 || frames[n-1].stream != 1 || frames[n-1].flags&0x1 == 0 {
		t.Errorf("busy connection: frames %+v, want stream 1's response ended", frames)
	}
	if err := <-shut; err != nil {
		t.Errorf("Shutdown returned %v after %v, want nil", err, time.Since(start))
	}
}
