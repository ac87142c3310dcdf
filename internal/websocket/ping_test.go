package websocket

import (
	"testing"
	"time"
)

// TestIdlePing: a silent client is pinged after PingInterval; one that
// answers stays, one that does not is closed with 1011 after PingTimeout.
func TestIdlePing(t *testing.T) {
	addr := serve(t, echo(Options{PingInterval: 50 * time.Millisecond, PingTimeout: 200 * time.Millisecond}))
	c, _ := dial(t, addr, "")
	for i := 0; i < 3; i++ {
		b0, _, p := c.readFrame()
		if b0 != finBit|opPing {
			t.Fatalf("ping %d: got %#x %q", i, b0, p)
		}
		c.send(frame(finBit|opPong, p))
	}
	c.send(text("still here"))
	// A ping may have crossed the message.
	for {
		b0, _, p := c.readFrame()
		if b0 == finBit|opPing {
			continue
		}
		if b0 != finBit|opText || string(p) != "still here" {
			t.Fatalf("got %#x %q, want the echo", b0, p)
		}
		break
	}
	// Now silence: pings, unanswered, then the close.
	for {
		b0, _, p := c.readFrame()
		if b0 == finBit|opPing {
			continue
		}
		if b0 != finBit|opClose || len(p) < 2 || int(p[0])<<8|int(p[1]) != 1011 {
			t.Fatalf("got %#x %q, want close 1011", b0, p)
		}
		break
	}
	c.ExpectEOF()
}
