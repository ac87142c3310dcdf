package http2

import (
	"bufio"
	"encoding/binary"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"nave/internal/web"
)

// Interleavings of the reader and a detached handler that goroutine
// scheduling makes rare. The reader holds no lock while it spends from
// the flood budget; a test that holds floodMu meanwhile stops it there,
// lets a handler run, and then lets the reader go on.

// rawConn is a Conn served on loopback for a test that drives it frame by
// frame and reaches into it.
type rawConn struct {
	t      *testing.T
	c      *Conn
	nc     net.Conn // the client's end
	enc    Encoder
	frames chan rawFrame // what the server sent, until it closes
	done   chan struct{} // Serve returned
}

type rawFrame struct {
	h frameHeader
	p []byte
}

// serveRaw serves cfg on a Conn over loopback, wrapped by wrap unless it
// is nil, and sends the client preface, SETTINGS and an acknowledgement.
func serveRaw(t *testing.T, cfg *Config, wrap func(net.Conn) net.Conn) *rawConn {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	if wrap != nil {
		server = wrap(server)
	}
	rc := &rawConn{t: t, nc: client, frames: make(chan rawFrame, 1024), done: make(chan struct{})}
	rc.c = NewConn(cfg, server, Info{Ended: func() { close(rc.done) }})
	rc.enc.Init()
	go rc.c.Serve(nil)
	go func() {
		defer close(rc.frames)
		fr := &frameReader{br: bufio.NewReader(client)}
		for {
			h, p, err := fr.next()
			if err != nil {
				return
			}
			rc.frames <- rawFrame{h, append([]byte(nil), p...)}
		}
	}()
	t.Cleanup(func() {
		client.Close()
		select {
		case <-rc.done:
			rc.c.Release()
		case <-time.After(5 * time.Second):
			t.Error("the connection did not end")
		}
	})
	rc.write(append(clientHello(), appendFrameHeader(nil, 0, frameSettings, flagAck, 0)...))
	return rc
}

func (rc *rawConn) write(b []byte) {
	rc.t.Helper()
	if _, err := rc.nc.Write(b); err != nil {
		rc.t.Fatal(err)
	}
}

// request opens stream id with a request for path.
func (rc *rawConn) request(id uint32, method, path string, endStream bool) {
	rc.t.Helper()
	b := rc.enc.BeginBlock(nil)
	for _, f := range [][2]string{{":method", method}, {":scheme", "http"}, {":path", path}, {":authority", "x"}} {
		b = rc.enc.AppendField(b, []byte(f[0]), []byte(f[1]))
	}
	flags := flagEndHeaders
	if endStream {
		flags |= flagEndStream
	}
	rc.write(append(appendFrameHeader(nil, len(b), frameHeaders, flags, id), b...))
}

// expect reads frames until one that match accepts, and fails the test if
// the connection closes or 5 seconds pass first.
func (rc *rawConn) expect(what string, match func(rawFrame) bool) rawFrame {
	rc.t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case f, ok := <-rc.frames:
			if !ok {
				rc.t.Fatalf("connection closed, want %s", what)
			}
			if match(f) {
				return f
			}
		case <-timeout:
			rc.t.Fatalf("no %s", what)
		}
	}
}

// expectGracefulGoAway reads a graceful shutdown's frames (RFC 9113
// §6.8): a GOAWAY with the largest stream id, a PING, which it
// acknowledges, then the final GOAWAY with last, all NO_ERROR.
func (rc *rawConn) expectGracefulGoAway(last uint32) {
	rc.t.Helper()
	goAway := func(f rawFrame) bool { return f.h.typ == frameGoAway }
	first := rc.expect("GOAWAY", goAway)
	if id, code := binary.BigEndian.Uint32(first.p), ErrCode(binary.BigEndian.Uint32(first.p[4:])); id != 1<<31-1 || code != ErrCodeNo {
		rc.t.Fatalf("first GOAWAY: last stream %d, %v; want %d, NO_ERROR", id, code, 1<<31-1)
	}
	ping := rc.expect("PING", func(f rawFrame) bool { return f.h.typ == framePing })
	if ping.h.has(flagAck) || string(ping.p) != shutdownPing {
		rc.t.Fatalf("PING flags %#x, payload %q", ping.h.flags, ping.p)
	}
	rc.write(append(appendFrameHeader(nil, 8, framePing, flagAck, 0), ping.p...))
	final := rc.expect("GOAWAY", goAway)
	if id, code := binary.BigEndian.Uint32(final.p), ErrCode(binary.BigEndian.Uint32(final.p[4:])); id != last || code != ErrCodeNo {
		rc.t.Fatalf("final GOAWAY: last stream %d, %v; want %d, NO_ERROR", id, code, last)
	}
}

func (rc *rawConn) expectRST(id uint32, code ErrCode) {
	rc.t.Helper()
	f := rc.expect("RST_STREAM", func(f rawFrame) bool {
		return f.h.typ == frameRSTStream && f.h.stream == id || f.h.typ == frameGoAway
	})
	if f.h.typ == frameGoAway {
		rc.t.Fatalf("got GOAWAY %v, want RST_STREAM %v on stream %d", ErrCode(binary.BigEndian.Uint32(f.p[4:])), code, id)
	}
	if got := ErrCode(binary.BigEndian.Uint32(f.p)); got != code {
		rc.t.Fatalf("stream %d: got RST_STREAM %v, want %v", id, got, code)
	}
}

// waitGoroutine waits until some goroutine's stack holds each of funcs,
// outermost first: a goroutine blocked where a test means to hold it.
func waitGoroutine(t *testing.T, funcs ...string) {
	t.Helper()
	buf := make([]byte, 1<<20)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
			// A stack lists the innermost call first.
			rest, found := g, true
			for i := len(funcs) - 1; i >= 0 && found; i-- {
				_, rest, found = strings.Cut(rest, funcs[i])
			}
			if found {
				return
			}
		}
	}
	t.Fatalf("no goroutine in %v", funcs)
}

// waitHandlersDone waits until no handler runs; it gives up after a second,
// in case the reader holds mu meanwhile.
func (rc *rawConn) waitHandlersDone() {
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if rc.c.mu.TryLock() {
			running := rc.c.running
			rc.c.mu.Unlock()
			if running == 0 {
				return
			}
		}
	}
}

// waitHandler is a handler that detaches, signals started, and answers
// once release is closed.
func waitHandler(started, release chan struct{}, answer func(w *web.ResponseWriter)) web.HandlerFunc {
	return func(w *web.ResponseWriter, r *web.Request) {
		if string(r.Path) != "/wait" {
			w.WriteString("ok")
			return
		}
		w.Detach()
		started <- struct{}{}
		<-release
		answer(w)
	}
}

// A DATA frame the reader took a stream for, while a detached handler
// ends and its stream goes back to the pool (here the connection is
// going away, so the stream is closed at once, RST_STREAM NO_ERROR). The
// reader looked the stream up, let mu go to spend from the flood budget,
// and went on with the stream it had: freed, its connection nil. A padded
// DATA frame then "overflows" the freed stream's zero window, and the
// reset of a stream with no connection panicked, killing the server.
func TestDataWhileHandlerEnds(t *testing.T) {
	started, release := make(chan struct{}, 1), make(chan struct{})
	rc := serveRaw(t, &Config{Handler: waitHandler(started, release, func(w *web.ResponseWriter) {
		w.WriteString("ok")
	})}, nil)
	rc.request(1, "POST", "/wait", false)
	<-started
	rc.c.Shutdown()
	rc.expectGracefulGoAway(1)

	rc.c.floodMu.Lock()
	unlock := sync.OnceFunc(rc.c.floodMu.Unlock)
	defer unlock()
	// Empty DATA, padded: it costs from the budget, and its 5 bytes count
	// against the windows.
	rc.write(append(appendFrameHeader(nil, 5, frameData, flagPadded, 1), 4, 0, 0, 0, 0))
	waitGoroutine(t, "(*Conn).onData", "(*Conn).spend")
	close(release)
	rc.waitHandlersDone()
	unlock()

	rc.expectRST(1, ErrCodeNo)
	select {
	case <-rc.done:
	case <-time.After(5 * time.Second):
		t.Fatal("the connection did not drain")
	}
}

// The streams nave reset lately are noted by the reader, and by handlers
// too (resetLocked: an Abort, a write timeout, finishStream). Here a
// handler resets its stream while the reader, without mu, notes a reset
// of its own (DATA on a closed stream). The notes must be under one lock;
// run with -race, which reports the two unordered writes.
func TestResetNotedWhileHandlerResets(t *testing.T) {
	started, release := make(chan struct{}, 1), make(chan struct{})
	rc := serveRaw(t, &Config{Handler: waitHandler(started, release, func(w *web.ResponseWriter) {
		w.Abort()
	})}, nil)
	rc.request(1, "GET", "/", true)
	rc.expect("the answer to stream 1", func(f rawFrame) bool {
		return f.h.typ == frameData && f.h.stream == 1 && f.h.has(flagEndStream)
	})
	rc.request(3, "POST", "/wait", false)
	<-started

	rc.c.floodMu.Lock()
	unlock := sync.OnceFunc(rc.c.floodMu.Unlock)
	defer unlock()
	rc.write(append(appendFrameHeader(nil, 1, frameData, 0, 1), 'x')) // stream 1 is closed
	waitGoroutine(t, "(*Conn).onData", "(*Conn).spend")
	close(release)
	// The handler waits in Abort: for floodMu in resetLocked's spend, once
	// it noted its reset, or for mu, while the reader holds it.
	waitGoroutine(t, "(*stream).Abort", "(*Mutex).lockSlow")
	unlock()

	rc.expectRST(1, ErrCodeStreamClosed)
	rc.expectRST(3, ErrCodeInternal)
}
