package http2_test

import (
	"bytes"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	nave "nave/internal/http2"
	"nave/internal/server"
	"nave/internal/web"
	"nave/internal/wiretest"
)

// TestExtendedConnect runs RFC 8441's extended CONNECT: SETTINGS announce
// it, the handler's Upgrade answers 200 on an open stream, and DATA flow
// both ways through the byte stream it returns until each side ends.
func TestExtendedConnect(t *testing.T) {
	gotProtocol := make(chan string, 1)
	addr := startH2(t, web.HandlerFunc(func(w *web.ResponseWriter, r *web.Request) {
		gotProtocol <- string(r.Protocol)
		if r.Protocol == nil {
			web.Error(w, 405, "not a tunnel")
			return
		}
		w.Header().Set("Sec-WebSocket-Protocol", "chat")
		w.Header().Set("Connection", "upgrade") // connection-specific: not sent on HTTP/2
		rw, err := w.Upgrade()
		if err != nil {
			t.Errorf("Upgrade: %v", err)
			return
		}
		io.Copy(rw, rw) // echo until the client ends its side
		rw.Close()
	}), nave.Config{BodyTimeout: 50 * time.Millisecond}) // a tunnel's reads must not time out

	c := wiretest.DialH2(t, addr, nil)
	if v := c.Settings[http2.SettingEnableConnectProtocol]; v != 1 {
		t.Fatalf("SETTINGS_ENABLE_CONNECT_PROTOCOL = %d, want 1", v)
	}
	id := c.NextStream()
	c.WriteHeaders(id, false, append(c.RequestFields("CONNECT", "/chat"), ":protocol", "websocket",
		"sec-websocket-version", "13")...)
	f, err := c.ReadUntil(func(f http2.Frame) bool { _, ok := f.(*http2.MetaHeadersFrame); return ok })
	if err != nil {
		t.Fatal(err)
	}
	h := f.(*http2.MetaHeadersFrame)
	if h.PseudoValue("status") != "200" || h.StreamEnded() {
		t.Fatalf("head: status %q, END_STREAM %v; want 200 on an open stream", h.PseudoValue("status"), h.StreamEnded())
	}
	for _, hf := range h.RegularFields() {
		if hf.Name == "connection" || hf.Name == "upgrade" {
			t.Errorf("connection-specific field sent: %s", hf.Name)
		}
	}
	if got := <-gotProtocol; got != "websocket" {
		t.Errorf("r.Protocol = %q, want websocket", got)
	}
	var echoed bytes.Buffer
	for i, msg := range []string{"hello", "through", "the tunnel"} {
		if i == 1 {
			// Quiet for longer than the body timeout: a tunnel has none.
			time.Sleep(150 * time.Millisecond)
		}
		c.Write(func(fr *http2.Framer) error { return fr.WriteData(id, false, []byte(msg)) })
		for echoed.Len() < len(msg) {
			f, err := c.ReadUntil(func(f http2.Frame) bool { _, ok := f.(*http2.DataFrame); return ok })
			if err != nil {
				t.Fatal(err)
			}
			echoed.Write(f.(*http2.DataFrame).Data())
		}
		if echoed.String() != msg {
			t.Fatalf("echoed %q, want %q", echoed.String(), msg)
		}
		echoed.Reset()
	}
	c.Write(func(fr *http2.Framer) error { return fr.WriteData(id, true, nil) })
	f, err = c.ReadUntil(func(f http2.Frame) bool {
		d, ok := f.(*http2.DataFrame)
		return ok && d.StreamEnded()
	})
	if err != nil {
		t.Fatalf("the handler did not end its side: %v", err)
	}

	// A CONNECT without :protocol is a plain CONNECT: the handler answers.
	id = c.NextStream()
	c.WriteHeaders(id, true, ":method", "CONNECT", ":authority", "example.com:443")
	if got := <-gotProtocol; got != "" {
		t.Errorf("plain CONNECT: r.Protocol = %q", got)
	}
	// :protocol on another method is malformed (RFC 8441 §4).
	id = c.NextStream()
	c.WriteHeaders(id, true, append(c.RequestFields("GET", "/"), ":protocol", "websocket")...)
	c.ExpectRST(id, http2.ErrCodeProtocol)
}

// TestSettingsAckTimeout: a client that never acknowledges nave's SETTINGS
// gets GOAWAY SETTINGS_TIMEOUT (RFC 9113 §6.5.3) once the timeout passes.
func TestSettingsAckTimeout(t *testing.T) {
	addr := startServer(t, server.Config{HTTP2: nave.Config{SettingsTimeout: 200 * time.Millisecond}})
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(nc, http2.ClientPreface)
	fr := http2.NewFramer(nc, nc)
	fr.WriteSettings()
	start := time.Now()
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("no GOAWAY: %v", err)
		}
		if g, ok := f.(*http2.GoAwayFrame); ok {
			if g.ErrCode != http2.ErrCodeSettingsTimeout {
				t.Fatalf("GOAWAY %v, want SETTINGS_TIMEOUT", g.ErrCode)
			}
			if waited := time.Since(start); waited < 150*time.Millisecond {
				t.Fatalf("GOAWAY after %v, before the timeout", waited)
			}
			return
		}
		// Everything else (its SETTINGS, the ack of ours) is ignored: ours
		// is never acknowledged.
	}
}

// TestPanicOffTheServerGoroutine: a panic outside a handler (here the
// access-log hook) on a goroutine the connection handed its reading to —
// not the server's connection goroutine, with its own recovery — closes
// that connection and the server goes on.
func TestPanicOffTheServerGoroutine(t *testing.T) {
	var logged atomic.Int32
	addr := startServer(t, server.Config{
		Handler: web.HandlerFunc(func(w *web.ResponseWriter, r *web.Request) {
			io.Copy(io.Discard, r.Body) // waits for the body: the reading moves on
			w.WriteString("ok")
		}),
		AccessLog: func(*web.Request, *web.ResponseWriter) {
			if logged.Add(1) == 1 {
				panic("access log")
			}
		},
	})

	c := wiretest.DialH2(t, addr, nil)
	id := c.NextStream()
	c.WriteHeaders(id, false, c.RequestFields("POST", "/")...)
	time.Sleep(20 * time.Millisecond) // the handler waits: its goroutine is no longer the server's
	c.Write(func(fr *http2.Framer) error { return fr.WriteData(id, true, []byte("body")) })
	c.ExpectClosed()

	c2 := wiretest.DialH2(t, addr, nil)
	resp, err := c2.Do("POST", "/", []byte("again"))
	if err != nil || resp.Status != 200 {
		t.Fatalf("after the panic: %v, %v", resp, err)
	}
}

// answerEarly answers without reading the body: streams whose uploads go
// on are left half-closed, draining.
var answerEarly = web.HandlerFunc(func(w *web.ResponseWriter, _ *web.Request) { w.WriteString("early") })

func startH2(t *testing.T, h web.Handler, cfg nave.Config) string {
	return startServer(t, server.Config{Handler: h, HTTP2: cfg})
}

// startServer runs a server for cfg on loopback and returns its address.
func startServer(t *testing.T, cfg server.Config) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := server.New(cfg)
	done := make(chan struct{})
	go func() { s.Serve(ln); close(done) }()
	t.Cleanup(func() { s.Close(); <-done })
	return ln.Addr().String()
}

// TestDrainingStreamsIdle: a client that leaves an upload unfinished after
// its answer, and goes quiet, is idle: the connection ends at the idle
// timeout instead of being held open by the half-closed stream.
func TestDrainingStreamsIdle(t *testing.T) {
	addr := startH2(t, answerEarly, nave.Config{IdleTimeout: 300 * time.Millisecond})
	c := wiretest.DialH2(t, addr, nil)
	id := c.NextStream()
	c.WriteHeaders(id, false, c.RequestFields("POST", "/")...)
	c.Write(func(fr *http2.Framer) error { return fr.WriteData(id, false, []byte("part of a body")) })
	if _, err := c.ReadUntil(func(f http2.Frame) bool {
		d, ok := f.(*http2.DataFrame)
		return ok && d.StreamEnded()
	}); err != nil {
		t.Fatal(err)
	}
	c.ExpectGoAway(http2.ErrCodeNo)
	c.ExpectClosed()
}

// TestDrainingStreamsBounded: streams left draining take at most half the
// stream limit; past it they are refused with NO_ERROR (RFC 9113 §8.1), so
// that new requests still find room.
func TestDrainingStreamsBounded(t *testing.T) {
	addr := startH2(t, answerEarly, nave.Config{MaxConcurrentStreams: 4})
	c := wiretest.DialH2(t, addr, nil)
	var reset []uint32
	for range 4 {
		id := c.NextStream()
		c.WriteHeaders(id, false, c.RequestFields("POST", "/")...)
		for {
			f, err := c.ReadFrame()
			if err != nil {
				t.Fatal(err)
			}
			if r, ok := f.(*http2.RSTStreamFrame); ok && r.StreamID == id && r.ErrCode == http2.ErrCodeNo {
				reset = append(reset, id)
				break
			}
			if d, ok := f.(*http2.DataFrame); ok && d.StreamID == id && d.StreamEnded() {
				// Answered; draining unless a reset follows at once.
				c.Write(func(fr *http2.Framer) error { return fr.WritePing(false, [8]byte{byte(id)}) })
				for {
					f, err := c.ReadFrame()
					if err != nil {
						t.Fatal(err)
					}
					if r, ok := f.(*http2.RSTStreamFrame); ok && r.StreamID == id {
						reset = append(reset, id)
					}
					if _, ok := f.(*http2.PingFrame); ok {
						break
					}
				}
				break
			}
		}
	}
	if len(reset) != 2 {
		t.Fatalf("streams refused with NO_ERROR: %v; want the 3rd and 4th of 4 (limit 4, half may drain)", reset)
	}
	if resp, err := c.Do("GET", "/", nil); err != nil || resp.Status != 200 {
		t.Fatalf("a new request after them: %v, %v", resp, err)
	}
}

// TestWindowBeforeAck: until the client acknowledges nave's SETTINGS, a
// stream window smaller than the protocol's default is not held against
// it: DATA within 65,535 bytes is accepted (RFC 9113 §6.5.3).
func TestWindowBeforeAck(t *testing.T) {
	got := make(chan int, 1)
	addr := startH2(t, web.HandlerFunc(func(w *web.ResponseWriter, r *web.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- len(b)
	}), nave.Config{StreamWindow: 1024})
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(nc, http2.ClientPreface)
	fr := http2.NewFramer(nc, nc)
	fr.WriteSettings()
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	for _, f := range [][2]string{{":method", "POST"}, {":scheme", "http"}, {":authority", "x"}, {":path", "/"}} {
		enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: hb.Bytes(), EndHeaders: true})
	fr.WriteData(1, true, make([]byte, 4000)) // past 1024, within the default window
	select {
	case n := <-got:
		if n != 4000 {
			t.Fatalf("the handler read %d bytes, want 4000", n)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the stream was refused: its DATA counted against a window the client had not acknowledged")
	}
}

// TestValuesTrimmed: whitespace around a response field's value, which
// HTTP/1.1 ignores and HTTP/2 forbids (RFC 9113 §8.2.1), is trimmed on
// HTTP/2, in the head and in trailers alike.
func TestValuesTrimmed(t *testing.T) {
	addr := startH2(t, web.HandlerFunc(func(w *web.ResponseWriter, _ *web.Request) {
		w.Header().Add("Set-Cookie", " a=1; Path=/")
		w.Header().Add("X-Padded", "\tv ")
		w.Trailer().Add("X-Sum", " 42 ")
		w.WriteString("body")
		w.Flush()
	}), nave.Config{})
	c := wiretest.DialH2(t, addr, nil)
	resp, err := c.Do("GET", "/", nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Header.Get("set-cookie") != "a=1; Path=/" || resp.Header.Get("x-padded") != "v" || resp.Trailer.Get("x-sum") != "42" {
		t.Fatalf("head %v, trailers %v: values not trimmed", resp.Header, resp.Trailer)
	}
}
