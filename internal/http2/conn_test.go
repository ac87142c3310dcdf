package http2

import (
	"bufio"
	"encoding/binary"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"nave/internal/metrics"
	"nave/internal/servermetrics"
	"nave/internal/web"
)

// pipeConn runs a Conn for handler on one end of a loopback TCP
// connection and returns the other end, the preface and SETTINGS sent.
func pipeConn(tb testing.TB, cfg *Config) (client net.Conn, done <-chan struct{}) {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		tb.Fatal(err)
	}
	server, err := ln.Accept()
	if err != nil {
		tb.Fatal(err)
	}
	ch := make(chan struct{})
	go func() {
		var c *Conn
		c = NewConn(cfg, server, Info{Ended: func() { c.Release(); close(ch) }})
		c.Serve(nil)
	}()
	tb.Cleanup(func() {
		client.Close()
		<-ch
	})
	return client, ch
}

// clientHello is a client's preface, its SETTINGS (a large initial
// window) and a connection WINDOW_UPDATE to the largest window.
func clientHello() []byte {
	b := []byte(ClientPreface)
	b = appendFrameHeader(b, 6, frameSettings, 0, 0)
	b = appendSetting(b, settingInitialWindowSize, maxWindow)
	b = appendWindowUpdate(b, 0, maxWindow-defaultWindow)
	return b
}

// frameReader reads frames from the server.
type frameReader struct {
	br  *bufio.Reader
	hb  [frameHeaderLen]byte
	buf []byte
}

func (fr *frameReader) next() (frameHeader, []byte, error) {
	if _, err := io.ReadFull(fr.br, fr.hb[:]); err != nil {
		return frameHeader{}, nil, err
	}
	h := parseFrameHeader(fr.hb[:])
	if cap(fr.buf) < int(h.length) {
		fr.buf = make([]byte, h.length)
	}
	p := fr.buf[:h.length]
	_, err := io.ReadFull(fr.br, p)
	return h, p, err
}

// getBlock is a request header block for GET /hello on authority x:
// :method GET (static 2), :scheme http (6), :path / as a literal with
// indexing the first time, then indexed from the dynamic table.
func getBlock(e *Encoder) []byte {
	b := e.BeginBlock(nil)
	b = e.AppendField(b, []byte(":method"), []byte("GET"))
	b = e.AppendField(b, []byte(":scheme"), []byte("http"))
	b = e.AppendField(b, []byte(":path"), []byte("/hello"))
	b = e.AppendField(b, []byte(":authority"), []byte("x"))
	b = e.AppendField(b, []byte("user-agent"), []byte("bench"))
	return b
}

var hello = web.HandlerFunc(func(w *web.ResponseWriter, _ *web.Request) {
	w.Header().Set("Content-Type", "text/plain")
	w.WriteString("hello, world!\n")
})

// BenchmarkStreams measures whole streams, ten in flight as h2load -m 10
// keeps them: GET, a 14-byte response, through a real socket. Steady
// state allocates nothing per stream.
func BenchmarkStreams(b *testing.B) { benchStreams(b, &Config{Handler: hello}) }

// BenchmarkStreamsMetrics is BenchmarkStreams with the server's metrics
// on: requests, durations, connection states.
func BenchmarkStreamsMetrics(b *testing.B) {
	benchStreams(b, &Config{Handler: hello, Metrics: servermetrics.New(metrics.NewRegistry())})
}

func benchStreams(b *testing.B, cfg *Config) {
	client, _ := pipeConn(b, cfg)
	var enc Encoder
	enc.Init()
	batch := 10
	// One batch of ten requests, written at once.
	var reqs []byte
	for i := range batch {
		blk := getBlock(&enc)
		reqs = appendFrameHeader(reqs, len(blk), frameHeaders, flagEndHeaders|flagEndStream, uint32(2*i+1))
		reqs = append(reqs, blk...)
	}
	if _, err := client.Write(clientHello()); err != nil {
		b.Fatal(err)
	}
	fr := &frameReader{br: bufio.NewReaderSize(client, 64<<10)}
	var wg sync.WaitGroup
	ended := make(chan int, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		n := 0
		for {
			h, _, err := fr.next()
			if err != nil {
				return
			}
			if h.typ == frameSettings && h.flags&flagAck == 0 {
				client.Write(appendFrameHeader(nil, 0, frameSettings, flagAck, 0))
			}
			if h.typ == frameData && h.has(flagEndStream) {
				n++
				if n%batch == 0 {
					ended <- n
				}
			}
		}
	}()
	id := uint32(1)
	timer := time.NewTimer(time.Hour)
	send := func() {
		// Stream ids move on with each batch.
		for i := 0; i < len(reqs); {
			h := parseFrameHeader(reqs[i:])
			binary.BigEndian.PutUint32(reqs[i+5:], id)
			id += 2
			i += frameHeaderLen + int(h.length)
		}
		if _, err := client.Write(reqs); err != nil {
			b.Fatal(err)
		}
		timer.Reset(5 * time.Second)
		select {
		case <-ended:
		case <-timer.C:
			b.Fatal("no responses")
		}
	}
	for range 100 {
		send() // warm the pools and the tables
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += batch {
		send()
	}
	b.StopTimer()
	client.Close()
	wg.Wait()
}

func TestStreamsAllocateNothing(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("a benchmark run, and allocation counts mean nothing under -race")
	}
	for name, bench := range map[string]func(*testing.B){"off": BenchmarkStreams, "metrics": BenchmarkStreamsMetrics} {
		r := testing.Benchmark(bench)
		if a := r.AllocsPerOp(); a > 0 {
			t.Errorf("%s: %d allocations per stream (%d B), want 0", name, a, r.AllocedBytesPerOp())
		}
	}
}

// hookConn runs hook, once, when a read deadline is cleared, before
// clearing it.
type hookConn struct {
	net.Conn
	mu   sync.Mutex
	hook func()
}

func (hc *hookConn) SetReadDeadline(t time.Time) error {
	hc.mu.Lock()
	hook := hc.hook
	if t.IsZero() {
		hc.hook = nil
	}
	hc.mu.Unlock()
	if hook != nil && t.IsZero() {
		hook()
	}
	return hc.Conn.SetReadDeadline(t)
}

// Shutdown wakes the reader with a read deadline in the past. A reader
// that checked for Shutdown just before, and then set the deadline its
// state calls for (none, with a stream open), undid the wake-up: no
// GOAWAY went out, and the connection stayed until the client went quiet
// for the idle timeout. hookConn calls Shutdown between the two.
func TestShutdownWhileReaderSetsDeadline(t *testing.T) {
	var hc *hookConn
	started, release := make(chan struct{}, 1), make(chan struct{})
	defer close(release)
	rc := serveRaw(t, &Config{Handler: waitHandler(started, release, func(w *web.ResponseWriter) {
		w.WriteString("ok")
	})}, func(nc net.Conn) net.Conn {
		hc = &hookConn{Conn: nc}
		return hc
	})
	fired := make(chan struct{})
	hc.mu.Lock()
	hc.hook = func() { rc.c.Shutdown(); close(fired) }
	hc.mu.Unlock()
	rc.request(1, "POST", "/wait", false) // its handler detaches: the new reader reads with no deadline
	<-started
	select {
	case <-fired:
	case <-time.After(5 * time.Second):
		t.Fatal("the reader never cleared its read deadline")
	}
	rc.expect("GOAWAY", func(f rawFrame) bool { return f.h.typ == frameGoAway })
}
