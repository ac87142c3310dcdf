package http2_test

// Attacks on the HTTP/2 server, each against a real server.Server on
// loopback, through the raw client in internal/wiretest. Every test
// checks three things where they apply: the offender is cut off (GOAWAY,
// a closed connection, or the stream-level answer RFC 9113 names), a
// second client is still served, and what the attack would make the
// server hold stays bounded. Each names, in a comment, the lines of
// internal/http2 that defend against it.

import (
	"io"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"

	nave "nave/internal/http2"
	"nave/internal/server"
	"nave/internal/web"
	"nave/internal/wiretest"
)

// bigSize is what /big tries to send.
const bigSize = 64 << 20

// target is a server under attack and what its handler saw.
type target struct {
	addr string

	running, maxRunning atomic.Int64  // /block handlers running, and the most at once
	started             chan struct{} // a /block handler began
	release             chan struct{} // closed: /block handlers return
	releaseOnce         sync.Once

	bigSent atomic.Int64 // body bytes /big's Writes accepted
	bigDone chan error   // /big's last write error, once it returned
}

// serve runs a server with cfg's HTTP/2 limits and a handler with four
// paths: /block waits (detached) until released, /read reads the whole
// request body, /big writes bigSize bytes, and anything else answers "ok".
// /block handlers are released before the server closes.
func serve(t *testing.T, cfg nave.Config) *target {
	t.Helper()
	tg := &target{started: make(chan struct{}, 1024), release: make(chan struct{}), bigDone: make(chan error, 16)}
	s := server.New(server.Config{Handler: web.HandlerFunc(tg.serveHTTP), HTTP2: cfg})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tg.addr = ln.Addr().String()
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	t.Cleanup(func() {
		tg.releaseAll()
		s.Close()
		<-served
	})
	return tg
}

func (tg *target) releaseAll() { tg.releaseOnce.Do(func() { close(tg.release) }) }

func (tg *target) serveHTTP(w *web.ResponseWriter, r *web.Request) {
	switch string(r.Path) {
	case "/block":
		n := tg.running.Add(1)
		for m := tg.maxRunning.Load(); n > m && !tg.maxRunning.CompareAndSwap(m, n); m = tg.maxRunning.Load() {
		}
		select {
		case tg.started <- struct{}{}:
		default: // no one counts this many
		}
		w.Detach()
		select {
		case <-tg.release:
		case <-time.After(2 * wiretest.Timeout): // never outlive the test for long
		}
		tg.running.Add(-1)
	case "/read":
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			return
		}
	case "/big":
		chunk := make([]byte, 32<<10)
		var err error
		for sent := 0; sent < bigSize && err == nil; sent += len(chunk) {
			var n int
			n, err = w.Write(chunk)
			tg.bigSent.Add(int64(n))
		}
		tg.bigDone <- err
		return
	}
	w.WriteString("ok")
}

// dial opens an HTTP/2 connection to the target, in the clear.
func (tg *target) dial(t *testing.T, settings ...http2.Setting) *wiretest.H2Conn {
	t.Helper()
	return wiretest.DialH2(t, tg.addr, nil, settings...)
}

// expectServed checks that a new client, on a connection of its own, is
// answered normally.
func (tg *target) expectServed(t *testing.T) {
	t.Helper()
	c := tg.dial(t)
	r, err := c.Do("GET", "/", nil)
	if err != nil {
		t.Fatalf("another client: %v", err)
	}
	if r.Status != 200 || string(r.Body) != "ok" {
		t.Fatalf("another client: got %d %q, want 200 %q", r.Status, r.Body, "ok")
	}
	c.Close()
}

// heapInuse is the heap in use after a collection.
func heapInuse() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapInuse)
}

// expectHeapBounded fails the test if the heap grew by limit or more
// since before.
func expectHeapBounded(t *testing.T, before, limit int64) {
	t.Helper()
	if grew := heapInuse() - before; grew >= limit {
		t.Errorf("heap in use grew by %d MiB, want less than %d MiB", grew>>20, limit>>20)
	}
}

// get is a GET request's header fields for path.
func get(c *wiretest.H2Conn, path string) []string { return c.RequestFields("GET", path) }

// headersFrame is a HEADERS frame opening stream id with block.
func headersFrame(fr *http2.Framer, id uint32, block []byte, endStream bool) error {
	return fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: block, EndStream: endStream, EndHeaders: true})
}

// Rapid Reset (CVE-2023-44487): streams opened and reset at once, so that
// handlers start faster than the concurrency limit would allow if reset
// streams stopped counting. Defences: onRSTStream's spend(1), and
// onBlock's refusal at c.running+c.draining >= maxStreams, where running
// counts a reset stream until its handler returns (finishStream).
func TestAttackRapidReset(t *testing.T) {
	tests := []struct {
		name, path string
		blocks     bool
	}{
		// Handlers that block: the concurrency limit is what counts.
		{name: "blocking_handler", path: "/block", blocks: true},
		// Handlers that answer at once: only the flood budget stops it.
		{name: "quick_handler", path: "/"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tg := serve(t, nave.Config{})
			before := heapInuse()
			c := tg.dial(t)
			flood := c.Flood(20000, func(fr *http2.Framer, i int) error {
				id := uint32(i/2*2 + 1)
				if i%2 == 0 {
					return headersFrame(fr, id, c.EncodeHeaders(get(c, tc.path)...), true)
				}
				return fr.WriteRSTStream(id, http2.ErrCodeCancel)
			})
			c.ExpectGoAway(http2.ErrCodeEnhanceYourCalm)
			c.ExpectClosed()
			<-flood
			// The first streams, up to the limit, cost less than the
			// budget: exactly that many handlers block.
			if limit := int64(c.Settings[http2.SettingMaxConcurrentStreams]); tc.blocks && tg.maxRunning.Load() != limit {
				t.Errorf("handlers running at once: got %d, want the advertised %d", tg.maxRunning.Load(), limit)
			}
			tg.expectServed(t)
			tg.releaseAll()
			expectHeapBounded(t, before, 64<<20)
		})
	}
}

// MadeYouReset (CVE-2025-8671): frames that are each a stream error, so
// that nave resets the stream itself, repeated; the handler work each
// stream began would otherwise go on unbounded. Defences: resetLocked's
// spend(1) (window_update_zero also pays onWindowUpdate's tiny-increment
// spend), and onBlock's spend(1) for a refused malformed request.
func TestAttackMadeYouReset(t *testing.T) {
	tests := []struct {
		name string
		cfg  nave.Config
		// frame writes the offending frame on stream id, opened by a POST
		// without END_STREAM unless it writes its own HEADERS.
		frame func(c *wiretest.H2Conn, fr *http2.Framer, id uint32) error
	}{
		{
			name: "window_update_zero", // §6.9: a stream error PROTOCOL_ERROR
			frame: func(c *wiretest.H2Conn, fr *http2.Framer, id uint32) error {
				if err := headersFrame(fr, id, c.EncodeHeaders(c.RequestFields("POST", "/")...), false); err != nil {
					return err
				}
				return fr.WriteWindowUpdate(id, 0)
			},
		},
		{
			name: "data_beyond_window", // §6.9.1: a stream error FLOW_CONTROL_ERROR
			cfg:  nave.Config{StreamWindow: 1024},
			frame: func(c *wiretest.H2Conn, fr *http2.Framer, id uint32) error {
				if err := headersFrame(fr, id, c.EncodeHeaders(c.RequestFields("POST", "/")...), false); err != nil {
					return err
				}
				return fr.WriteData(id, false, make([]byte, 2048))
			},
		},
		{
			name: "uppercase_field_name", // §8.2.1: malformed, PROTOCOL_ERROR
			frame: func(c *wiretest.H2Conn, fr *http2.Framer, id uint32) error {
				return headersFrame(fr, id, c.EncodeHeaders(append(get(c, "/"), "X-Upper", "1")...), true)
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tg := serve(t, tc.cfg)
			c := tg.dial(t)
			flood := c.Flood(10000, func(fr *http2.Framer, i int) error {
				return tc.frame(c, fr, uint32(2*i+1))
			})
			c.ExpectGoAway(http2.ErrCodeEnhanceYourCalm)
			c.ExpectClosed()
			<-flood
			tg.expectServed(t)
		})
	}
}

// CONTINUATION floods (CVE-2024-27316 and its family): a header block
// that never ends, grown by endless CONTINUATION frames, large or empty.
// Defences: onContinuation's bound on the block (maxHeaderList+1024) and
// its spend(1) for a frame under 256 bytes.
func TestAttackContinuationFlood(t *testing.T) {
	tests := []struct {
		name  string
		size  int // each CONTINUATION's payload
		count int
	}{
		{name: "large_frames", size: 16 << 10, count: 16 << 10}, // 256 MiB if all were kept
		{name: "tiny_frames", size: 1, count: 60000},            // within the block bound: only the budget stops them
		{name: "empty_frames", size: 0, count: 200000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tg := serve(t, nave.Config{})
			before := heapInuse()
			c := tg.dial(t)
			payload := make([]byte, tc.size)
			flood := c.Flood(tc.count+1, func(fr *http2.Framer, i int) error {
				if i == 0 {
					return fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: c.EncodeHeaders(get(c, "/")...)})
				}
				return fr.WriteContinuation(1, false, payload)
			})
			c.ExpectGoAway(http2.ErrCodeEnhanceYourCalm)
			c.ExpectClosed()
			<-flood
			tg.expectServed(t)
			expectHeapBounded(t, before, 64<<20)
		})
	}
}

// headers_never_end: HEADERS without END_HEADERS, then silence, holding
// the connection's reader in the block. Defence: setReadDeadline's
// deadline for an active block (c.block.started + HeadTimeout), and
// timedOut's PROTOCOL_ERROR.
func TestAttackHeadersNeverEnd(t *testing.T) {
	tg := serve(t, nave.Config{HeadTimeout: 300 * time.Millisecond})
	c := tg.dial(t)
	if err := c.Framer().WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: c.EncodeHeaders(get(c, "/")...)}); err != nil {
		t.Fatal(err)
	}
	tg.expectServed(t) // while the block hangs
	c.ExpectGoAway(http2.ErrCodeProtocol)
	c.ExpectClosed()
}

// HPACK bomb: a field of 4,000 bytes enters the dynamic table once, and
// each later reference to it, one byte on the wire, decodes to 4 KB: a
// 1 KB header block that decodes to 4 MB, sent on stream after stream.
// Defence: requestSink.Field's running size against maxHeaderList
// (errHeaderLarge, answered 431 by headerTooLarge), after which nothing
// of the block is kept.
func TestAttackHPACKBomb(t *testing.T) {
	tg := serve(t, nave.Config{})
	before := heapInuse()
	c := tg.dial(t)
	value := strings.Repeat("a", 4000) // with name and 32, within the 4,096-byte table
	var fields []string
	for range 1000 {
		fields = append(fields, "x-bomb", value)
	}
	for i := range 200 { // 800 MB decoded, were it kept
		r, err := c.Do("GET", "/", nil, fields...)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if r.Status != 431 {
			t.Fatalf("request %d: got %d, want 431", i, r.Status)
		}
	}
	tg.expectServed(t)
	expectHeapBounded(t, before, 64<<20)
	// The connection itself is still good.
	if r, err := c.Do("GET", "/", nil); err != nil || r.Status != 200 {
		t.Fatalf("after the bombs: got %v, %v, want 200", r, err)
	}
}

// Control-frame floods (RFC 9113 §10.5; CVE-2019-9512, -9515, -9518 and
// kin): frames that each cost the server work, or an answer, and do
// nothing useful. Defences: the spend calls in onPing, onSettings,
// onData (empty DATA without END_STREAM), onWindowUpdate (increments
// under 1024) and onPriority (0.1 each), against the budget in spend.
func TestAttackControlFlood(t *testing.T) {
	pingData := [8]byte{'n', 'a', 'v', 'e'}
	tests := []struct {
		name  string
		count int
		// open, when set, prepares the connection and returns the stream
		// the flood uses.
		open  func(t *testing.T, c *wiretest.H2Conn) uint32
		frame func(fr *http2.Framer, id uint32, i int) error
	}{
		{
			name: "ping_flood", count: 20000,
			frame: func(fr *http2.Framer, _ uint32, _ int) error { return fr.WritePing(false, pingData) },
		},
		{
			name: "settings_flood", count: 20000,
			frame: func(fr *http2.Framer, _ uint32, _ int) error { return fr.WriteSettings() },
		},
		{
			name: "empty_data_flood", count: 20000,
			open:  openUpload,
			frame: func(fr *http2.Framer, id uint32, _ int) error { return fr.WriteData(id, false, nil) },
		},
		{
			// Empty DATA on a stream nave has just reset (a malformed
			// request), whose late frames it ignores (§5.1).
			name: "empty_data_flood_reset_stream", count: 20000,
			open:  openRefused,
			frame: func(fr *http2.Framer, id uint32, _ int) error { return fr.WriteData(id, false, nil) },
		},
		{
			// Trailers on a stream nave has just reset: decoded to keep
			// HPACK in step, then ignored.
			name: "headers_flood_reset_stream", count: 20000,
			open: openRefused,
			frame: func(fr *http2.Framer, id uint32, _ int) error {
				return headersFrame(fr, id, []byte{0x40, 1, 'x', 1, 'y'}, true) // x: y, literal, indexed
			},
		},
		{
			// SETTINGS frames of 2,700 entries each: every entry is work,
			// so a few such frames spend the budget a frame at a time
			// would not.
			name: "settings_many_entries", count: 8,
			frame: func(fr *http2.Framer, _ uint32, _ int) error {
				entries := make([]http2.Setting, 2700)
				for i := range entries {
					entries[i] = http2.Setting{ID: http2.SettingHeaderTableSize, Val: 4096}
				}
				return fr.WriteSettings(entries...)
			},
		},
		{
			// WINDOW_UPDATE on closed streams, with increments too large
			// to count as tiny.
			name: "window_update_closed_streams", count: 200000,
			open: func(t *testing.T, c *wiretest.H2Conn) uint32 {
				id := c.NextStream()
				c.WriteHeaders(id, true, get(c, "/")...)
				c.ReadUntil(func(f http2.Frame) bool {
					return f.Header().StreamID == id && f.Header().Flags.Has(http2.FlagDataEndStream)
				})
				return id
			},
			frame: func(fr *http2.Framer, id uint32, _ int) error { return fr.WriteWindowUpdate(id, 1<<16) },
		},
		{
			name: "window_update_flood", count: 20000,
			frame: func(fr *http2.Framer, _ uint32, _ int) error { return fr.WriteWindowUpdate(0, 1) },
		},
		{
			name: "window_update_flood_stream", count: 20000,
			open:  openUpload,
			frame: func(fr *http2.Framer, id uint32, _ int) error { return fr.WriteWindowUpdate(id, 1) },
		},
		{
			name: "priority_flood", count: 200000,
			frame: func(fr *http2.Framer, _ uint32, i int) error {
				return fr.WritePriority(uint32(2*i+1), http2.PriorityParam{Weight: 15})
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tg := serve(t, nave.Config{})
			c := tg.dial(t)
			var id uint32
			if tc.open != nil {
				id = tc.open(t, c)
			}
			flood := c.Flood(tc.count, func(fr *http2.Framer, i int) error { return tc.frame(fr, id, i) })
			c.ExpectGoAway(http2.ErrCodeEnhanceYourCalm)
			c.ExpectClosed()
			<-flood
			tg.expectServed(t)
		})
	}
}

// openUpload opens a POST to /read whose handler waits for the body.
func openUpload(t *testing.T, c *wiretest.H2Conn) uint32 {
	t.Helper()
	id := c.NextStream()
	c.WriteHeaders(id, false, c.RequestFields("POST", "/read")...)
	return id
}

// openRefused sends a malformed request, an uppercase field name
// (§8.2.1), and returns its stream once nave has reset it.
func openRefused(t *testing.T, c *wiretest.H2Conn) uint32 {
	t.Helper()
	id := c.NextStream()
	c.WriteHeaders(id, false, append(c.RequestFields("POST", "/read"), "X-Upper", "1")...)
	c.ExpectRST(id, http2.ErrCodeProtocol)
	return id
}

// The legitimate side of the flood budget: a client that pings now and
// then (100 PINGs at once, far within the burst) is answered, not cut off.
func TestPingsWithinBudget(t *testing.T) {
	tg := serve(t, nave.Config{})
	c := tg.dial(t)
	for i := range 100 {
		if err := c.Framer().WritePing(false, [8]byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 100 {
		f, err := c.ReadUntil(func(f http2.Frame) bool {
			p, ok := f.(*http2.PingFrame)
			_, away := f.(*http2.GoAwayFrame)
			return ok && p.IsAck() || away
		})
		if err != nil {
			t.Fatalf("PING ACK %d: %v", i, err)
		}
		if p, ok := f.(*http2.PingFrame); !ok || p.Data[0] != byte(i) {
			t.Fatalf("got %v, want PING ACK %d", f, i)
		}
	}
	if r, err := c.Do("GET", "/", nil); err != nil || r.Status != 200 {
		t.Fatalf("after 100 PINGs: got %v, %v, want 200", r, err)
	}
}

// stream_exhaustion: more streams at once than SETTINGS_MAX_CONCURRENT_
// STREAMS allows. §5.1.2: the extra ones are refused, REFUSED_STREAM, so
// that the client may retry them. Defence: onBlock's refusal at
// c.running+c.draining >= maxStreams.
func TestAttackStreamExhaustion(t *testing.T) {
	const limit, opened = 4, 10
	tg := serve(t, nave.Config{MaxConcurrentStreams: limit})
	c := tg.dial(t)
	if got := c.Settings[http2.SettingMaxConcurrentStreams]; got != limit {
		t.Fatalf("SETTINGS_MAX_CONCURRENT_STREAMS: got %d, want %d", got, limit)
	}
	var ids []uint32
	for range opened {
		id := c.NextStream()
		c.WriteHeaders(id, true, get(c, "/block")...)
		ids = append(ids, id)
	}
	for _, id := range ids[limit:] {
		c.ExpectRST(id, http2.ErrCodeRefusedStream)
	}
	for range limit {
		select {
		case <-tg.started:
		case <-time.After(wiretest.Timeout):
			t.Fatalf("%d handlers started, want %d", tg.running.Load(), limit)
		}
	}
	tg.expectServed(t)
	tg.releaseAll()
	answered := map[uint32]bool{}
	for len(answered) < limit {
		f, err := c.ReadFrame()
		if err != nil {
			t.Fatalf("answers so far %v: %v", answered, err)
		}
		switch f := f.(type) {
		case *http2.DataFrame:
			if f.StreamEnded() {
				answered[f.StreamID] = true
			}
		case *http2.RSTStreamFrame, *http2.GoAwayFrame:
			t.Fatalf("got %v, want the running streams answered", f)
		}
	}
	for _, id := range ids[:limit] {
		if !answered[id] {
			t.Errorf("stream %d not answered; answered %v", id, answered)
		}
	}
	if got := tg.maxRunning.Load(); got != limit {
		t.Errorf("handlers running at once: got %d, want %d", got, limit)
	}
}

// Slow readers: a client that asks for a large response and never lets it
// through, by flow control or by not reading the socket, to pin the
// handler and whatever it buffers. Defences: windowLocked's wait under
// the write timeout and its reset FLOW_CONTROL_ERROR (window_zero); the
// write deadline in flushLocked, and outCap, which bounds the output a
// stream may queue (never_reads); the idle timeout once no stream is left.
func TestAttackSlowReader(t *testing.T) {
	cfg := nave.Config{WriteTimeout: 300 * time.Millisecond, IdleTimeout: 600 * time.Millisecond}
	t.Run("window_zero", func(t *testing.T) {
		tg := serve(t, cfg)
		before := heapInuse()
		c := tg.dial(t, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0})
		id := c.NextStream()
		c.WriteHeaders(id, true, get(c, "/big")...)
		tg.expectServed(t) // while the stream is stuck
		c.ExpectRST(id, http2.ErrCodeFlowControl)
		expectBigGaveUp(t, tg)
		expectHeapBounded(t, before, 64<<20)
		c.ExpectGoAway(http2.ErrCodeNo) // idle
		c.ExpectClosed()
	})
	t.Run("never_reads", func(t *testing.T) {
		tg := serve(t, cfg)
		before := heapInuse()
		c := tg.dial(t, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1<<31 - 1})
		if err := c.Framer().WriteWindowUpdate(0, 1<<31-1-65535); err != nil {
			t.Fatal(err)
		}
		c.WriteHeaders(c.NextStream(), true, get(c, "/big")...)
		tg.expectServed(t)
		expectBigGaveUp(t, tg)
		expectHeapBounded(t, before, 64<<20)
		c.ExpectClosed()
	})
}

// A slow reader that pings: the window stays shut, and a PING comes more
// often than the write timeout. Its answer is a write, and every write
// wakes the streams waiting on the connection; the wait must go on
// counting from when it began, or the pings keep the handler, and what it
// holds, for good. Defence: the deadline dataLocked keeps across
// windowLocked's wake-ups until a frame goes out.
func TestAttackSlowReaderPings(t *testing.T) {
	const write = 300 * time.Millisecond
	tg := serve(t, nave.Config{WriteTimeout: write})
	c := tg.dial(t, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0})
	id := c.NextStream()
	c.WriteHeaders(id, true, get(c, "/big")...)
	var pinging atomic.Bool
	pinging.Store(true)
	stop, pinged := make(chan struct{}), make(chan error, 1)
	go func() {
		defer pinging.Store(false)
		for i := range 40 { // 10 write timeouts
			select {
			case <-stop:
				pinged <- nil
				return
			case <-time.After(write / 4):
			}
			if err := c.Write(func(fr *http2.Framer) error { return fr.WritePing(false, [8]byte{byte(i)}) }); err != nil {
				pinged <- err
				return
			}
		}
		pinged <- nil
	}()
	c.ExpectRST(id, http2.ErrCodeFlowControl)
	stillPinging := pinging.Load() // before stop, which ends the pinging itself
	close(stop)
	if !stillPinging {
		t.Errorf("stream reset only once the PINGs stopped, %v after the write timeout", 9*write)
	}
	expectBigGaveUp(t, tg)
	if err := <-pinged; err != nil {
		t.Fatal(err)
	}
}

// A slow upload that sends nothing but empty DATA frames, more often than
// the body timeout: each wakes the handler waiting for the body, and the
// wait must go on counting from when it began, or the frames keep the
// handler for good without a byte. Defence: the deadline Read keeps
// across its wake-ups.
func TestAttackEmptyDataHoldsBody(t *testing.T) {
	const body = 300 * time.Millisecond
	tg := serve(t, nave.Config{BodyTimeout: body})
	c := tg.dial(t)
	id := openUpload(t, c)
	var sending atomic.Bool
	sending.Store(true)
	stop, sent := make(chan struct{}), make(chan error, 1)
	go func() {
		defer sending.Store(false)
		for range 200 { // 50 body timeouts: a loaded machine's lag is no defence failing
			select {
			case <-stop:
				sent <- nil
				return
			case <-time.After(body / 4):
			}
			if err := c.Write(func(fr *http2.Framer) error { return fr.WriteData(id, false, nil) }); err != nil {
				sent <- err
				return
			}
		}
		sent <- nil
	}()
	_, err := c.ReadUntil(func(f http2.Frame) bool {
		_, ok := f.(*http2.MetaHeadersFrame)
		_, rst := f.(*http2.RSTStreamFrame)
		return (ok || rst) && f.Header().StreamID == id
	})
	stillSending := sending.Load() // before stop, which ends the sending itself
	close(stop)
	if err != nil {
		t.Fatal(err)
	}
	if !stillSending {
		t.Errorf("the handler gave up on the body only once the empty DATA stopped, %v after the body timeout", 49*body)
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
}

// expectBigGaveUp waits for /big's handler to return and checks that it
// did with an error, having sent a small part of its body.
func expectBigGaveUp(t *testing.T, tg *target) {
	t.Helper()
	select {
	case err := <-tg.bigDone:
		if err == nil {
			t.Fatalf("/big wrote all %d bytes, want its writes to fail", bigSize)
		}
	case <-time.After(wiretest.Timeout):
		t.Fatalf("/big still writing after %v, %d bytes accepted", wiretest.Timeout, tg.bigSent.Load())
	}
	if sent := tg.bigSent.Load(); sent > 32<<20 {
		t.Errorf("/big's writes accepted %d MiB, want far less than its %d MiB", sent>>20, bigSize>>20)
	}
}

// Window overflow: WINDOW_UPDATE that takes a window past 2^31-1
// (§6.9.1): a connection error FLOW_CONTROL_ERROR on stream 0, a stream
// error on a stream. Defences: the maxWindow checks in onWindowUpdate.
func TestAttackWindowOverflow(t *testing.T) {
	t.Run("connection", func(t *testing.T) {
		tg := serve(t, nave.Config{})
		c := tg.dial(t)
		if err := c.Framer().WriteWindowUpdate(0, 1<<31-1); err != nil {
			t.Fatal(err)
		}
		c.ExpectGoAway(http2.ErrCodeFlowControl)
		c.ExpectClosed()
		tg.expectServed(t)
	})
	t.Run("stream", func(t *testing.T) {
		tg := serve(t, nave.Config{})
		c := tg.dial(t)
		id := c.NextStream()
		c.WriteHeaders(id, true, get(c, "/block")...)
		if err := c.Framer().WriteWindowUpdate(id, 1<<31-1); err != nil {
			t.Fatal(err)
		}
		c.ExpectRST(id, http2.ErrCodeFlowControl)
		if r, err := c.Do("GET", "/", nil); err != nil || r.Status != 200 {
			t.Fatalf("the same connection after: got %v, %v, want 200", r, err)
		}
	})
}

// DATA beyond the window nave advertised (§6.9.1): on a stream, a stream
// error FLOW_CONTROL_ERROR; on the connection, a connection error. The
// handler does not read, so nothing is credited back. Defences: onData's
// checks against c.recvWindow and st.recvWindow.
func TestAttackDataBeyondWindow(t *testing.T) {
	chunk := make([]byte, 16384)
	t.Run("stream", func(t *testing.T) {
		tg := serve(t, nave.Config{StreamWindow: 16384})
		c := tg.dial(t)
		id := c.NextStream()
		c.WriteHeaders(id, false, c.RequestFields("POST", "/block")...)
		if err := c.Write(func(fr *http2.Framer) error {
			if err := fr.WriteData(id, false, chunk); err != nil {
				return err
			}
			return fr.WriteData(id, false, chunk[:1])
		}); err != nil {
			t.Fatal(err)
		}
		c.ExpectRST(id, http2.ErrCodeFlowControl)
		if r, err := c.Do("GET", "/", nil); err != nil || r.Status != 200 {
			t.Fatalf("the same connection after: got %v, %v, want 200", r, err)
		}
	})
	t.Run("connection", func(t *testing.T) {
		tg := serve(t, nave.Config{StreamWindow: 65535, ConnWindow: 65535})
		c := tg.dial(t)
		a, b := c.NextStream(), c.NextStream()
		c.WriteHeaders(a, false, c.RequestFields("POST", "/block")...)
		c.WriteHeaders(b, false, c.RequestFields("POST", "/block")...)
		if err := c.Write(func(fr *http2.Framer) error {
			for _, id := range []uint32{a, a, a, b, b} { // 80 KiB in all, 48 and 32 per stream
				if err := fr.WriteData(id, false, chunk); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		c.ExpectGoAway(http2.ErrCodeFlowControl)
		c.ExpectClosed()
		tg.expectServed(t)
	})
}
