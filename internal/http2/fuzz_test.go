package http2

import (
	"io"
	"net"
	"testing"
	"time"

	"nave/internal/web"
)

// feedConn is a net.Conn that reads from a fixed input, step bytes at a
// time (0: all at once), and discards what is written.
type feedConn struct {
	in   []byte
	step int
}

func (f *feedConn) Read(p []byte) (int, error) {
	if len(f.in) == 0 {
		return 0, io.EOF
	}
	n := len(p)
	if f.step > 0 {
		n = min(n, f.step)
	}
	n = copy(p[:n], f.in)
	f.in = f.in[n:]
	return n, nil
}

func (f *feedConn) Write(p []byte) (int, error)      { return len(p), nil }
func (f *feedConn) Close() error                     { return nil }
func (f *feedConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (f *feedConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (f *feedConn) SetDeadline(time.Time) error      { return nil }
func (f *feedConn) SetReadDeadline(time.Time) error  { return nil }
func (f *feedConn) SetWriteDeadline(time.Time) error { return nil }

var _ net.Conn = (*feedConn)(nil)

// fuzzHandler reads the body and answers, with a trailer, so that input
// reaches every path of a stream.
var fuzzHandler = web.HandlerFunc(func(w *web.ResponseWriter, r *web.Request) {
	n, _ := io.Copy(io.Discard, r.Body)
	w.Trailer().Set("X-N", "1")
	w.Write(make([]byte, n%5000))
})

// serveInput runs a connection over input, fed step bytes at a time, to
// its end. It must neither panic nor hang.
func serveInput(t *testing.T, input []byte, step int) {
	cfg := &Config{Handler: fuzzHandler, BodyTimeout: 50 * time.Millisecond, WriteTimeout: 50 * time.Millisecond}
	done := make(chan struct{})
	var c *Conn
	c = NewConn(cfg, &feedConn{in: input, step: step}, Info{Ended: func() { close(done) }})
	go c.Serve(nil)
	select {
	case <-done:
		c.Release()
	case <-time.After(5 * time.Second):
		t.Fatalf("the connection did not end on input %q", input)
	}
}

// fuzzSeeds are whole connections: the preface, SETTINGS, then requests,
// some well-formed and some not.
func fuzzSeeds() [][]byte {
	var e Encoder
	e.Init()
	hello := clientHello()
	get := getBlock(&e)
	var seeds [][]byte
	add := func(frames ...[]byte) {
		b := append([]byte(nil), hello...)
		for _, f := range frames {
			b = append(b, f...)
		}
		seeds = append(seeds, b)
	}
	frame := func(typ, flags uint8, id uint32, p []byte) []byte {
		return append(appendFrameHeader(nil, len(p), typ, flags, id), p...)
	}
	add(frame(frameHeaders, flagEndHeaders|flagEndStream, 1, get))
	add(frame(frameHeaders, flagEndHeaders, 1, get), frame(frameData, 0, 1, []byte("abc")),
		frame(frameData, flagEndStream, 1, []byte("def")))
	add(frame(frameHeaders, 0, 1, get[:3]), frame(frameContinuation, flagEndHeaders, 1, get[3:]),
		frame(framePing, 0, 0, make([]byte, 8)), frame(frameWindowUpdate, 0, 0, []byte{0, 0, 1, 0}))
	add(frame(frameHeaders, flagEndHeaders, 1, get), frame(frameRSTStream, 0, 1, []byte{0, 0, 0, 8}),
		frame(frameData, flagEndStream|flagPadded, 1, []byte{2, 'x', 0, 0}))
	add(frame(frameHeaders, flagEndHeaders, 3, get), frame(frameHeaders, flagEndHeaders|flagEndStream, 3, e.BeginBlock(nil)),
		frame(frameSettings, 0, 0, appendSetting(nil, settingInitialWindowSize, 1)), frame(frameGoAway, 0, 0, make([]byte, 8)))
	return seeds
}

func FuzzConn(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, input []byte) {
		serveInput(t, input, 0)
		serveInput(t, input, 1)
	})
}

// TestConnSeeds runs the seeds whole and byte by byte, in every test run.
func TestConnSeeds(t *testing.T) {
	for _, s := range fuzzSeeds() {
		serveInput(t, s, 0)
		serveInput(t, s, 1)
		serveInput(t, s, 7)
	}
}
