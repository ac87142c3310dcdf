package http2

import (
	"encoding/binary"
	"testing"
	"time"

	"nave/internal/web"
)

// expectFirstGoAway reads a graceful shutdown's first GOAWAY, with the
// largest stream id, and its PING, and returns the PING's payload.
func (rc *rawConn) expectFirstGoAway() []byte {
	rc.t.Helper()
	f := rc.expect("GOAWAY", func(f rawFrame) bool { return f.h.typ == frameGoAway })
	if id := binary.BigEndian.Uint32(f.p); id != 1<<31-1 {
		rc.t.Fatalf("first GOAWAY: last stream %d, want %d", id, 1<<31-1)
	}
	return rc.expect("PING", func(f rawFrame) bool { return f.h.typ == framePing }).p
}

// expectFinalGoAway reads frames until the final GOAWAY, checks its last
// stream id, and waits for the connection to end.
func (rc *rawConn) expectFinalGoAway(last uint32) {
	rc.t.Helper()
	f := rc.expect("GOAWAY", func(f rawFrame) bool { return f.h.typ == frameGoAway })
	if id := binary.BigEndian.Uint32(f.p); id != last {
		rc.t.Fatalf("final GOAWAY: last stream %d, want %d", id, last)
	}
	select {
	case <-rc.done:
	case <-time.After(5 * time.Second):
		rc.t.Fatal("the connection did not end after the final GOAWAY")
	}
}

var answerOK = web.HandlerFunc(func(w *web.ResponseWriter, r *web.Request) { w.WriteString("ok") })

// TestGracefulGoAwayTakesLateStreams: a stream the client opened before it
// read the first GOAWAY (here, sent after it) is still served, and the
// final GOAWAY, sent once the PING comes back, names it as the last.
func TestGracefulGoAwayTakesLateStreams(t *testing.T) {
	rc := serveRaw(t, &Config{Handler: answerOK}, nil)
	rc.request(1, "GET", "/", true)
	rc.expect("stream 1's answer", func(f rawFrame) bool { return f.h.stream == 1 && f.h.has(flagEndStream) })
	rc.c.Shutdown()
	ping := rc.expectFirstGoAway()
	rc.request(3, "GET", "/", true)
	rc.expect("stream 3's answer", func(f rawFrame) bool { return f.h.stream == 3 && f.h.has(flagEndStream) })
	rc.write(append(appendFrameHeader(nil, 8, framePing, flagAck, 0), ping...))
	rc.expectFinalGoAway(3)
}

// TestGracefulGoAwayWithoutAck: a client that never acknowledges the PING
// gets the final GOAWAY anyway, after goAwayWait, and the connection ends.
func TestGracefulGoAwayWithoutAck(t *testing.T) {
	rc := serveRaw(t, &Config{Handler: answerOK}, nil)
	rc.request(1, "GET", "/", true)
	rc.expect("stream 1's answer", func(f rawFrame) bool { return f.h.stream == 1 && f.h.has(flagEndStream) })
	rc.c.Shutdown()
	rc.expectFirstGoAway()
	rc.expectFinalGoAway(1)
}
