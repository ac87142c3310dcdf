package wiretest

// The raw HTTP/2 client (RFC 9113): frames written exactly as a test asks,
// including ones a real client never sends, and frames read back one by
// one. It is built on x/net's Framer and HPACK codec, which only tests
// import: the product's own HTTP/2 code stays off x/net.

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// H2Conn is one HTTP/2 client connection to a server under test.
//
// Like Conn, its methods that do not return an error fail the test, so
// they belong to the test's goroutine. Reads (ReadFrame and the helpers
// built on it) and writes (Framer, WriteHeaders, Flood) may run on two
// goroutines at once, as a flood does, but not two of either kind.
//
// ReadFrame keeps the connection's bookkeeping whoever calls it: the
// server's SETTINGS are recorded and acknowledged, its WINDOW_UPDATEs
// counted, and header blocks decoded (the HPACK state is the
// connection's, so every block must be read through it). The connection
// closes when the test ends.
type H2Conn struct {
	t      testing.TB
	nc     net.Conn
	fr     *http2.Framer
	scheme string
	host   string

	wmu  sync.Mutex // serializes writes, and guards enc and hbuf
	enc  *hpack.Encoder
	hbuf bytes.Buffer
	last atomic.Uint32 // the last stream id NextStream handed out

	// Guarded by the reading role:
	// Settings holds the server's SETTINGS, as last received.
	Settings   map[http2.SettingID]uint32
	sendWindow int64            // the server's connection window for our DATA
	streamWin  map[uint32]int64 // WINDOW_UPDATE increments per stream
}

// DialH2 connects to addr and opens an HTTP/2 connection: over TLS with
// ALPN "h2" when tlsConf is non-nil (it is cloned; its NextProtos are
// replaced), else in the clear with prior knowledge (h2c, RFC 9113 §3.3).
// It sends the client preface with a SETTINGS frame holding settings
// (none: the protocol's defaults), reads the server's SETTINGS and
// acknowledges them. The server's acknowledgement of ours, and anything
// else it sent after its SETTINGS, is left to be read.
func DialH2(t testing.TB, addr string, tlsConf *tls.Config, settings ...http2.Setting) *H2Conn {
	t.Helper()
	raw, err := net.DialTimeout("tcp", addr, Timeout)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { raw.Close() })
	nc, scheme := raw, "http"
	if tlsConf != nil {
		cfg := tlsConf.Clone()
		cfg.NextProtos = []string{"h2"}
		tc := tls.Client(raw, cfg)
		tc.SetDeadline(time.Now().Add(Timeout))
		if err := tc.Handshake(); err != nil {
			t.Fatalf("TLS handshake with %s: %v", addr, err)
		}
		tc.SetDeadline(time.Time{})
		if p := tc.ConnectionState().NegotiatedProtocol; p != "h2" {
			t.Fatalf("ALPN agreed on %q, want h2", p)
		}
		nc, scheme = tc, "https"
	}
	c := &H2Conn{
		t: t, nc: nc, scheme: scheme, host: addr,
		Settings:   map[http2.SettingID]uint32{},
		sendWindow: 65535,
		streamWin:  map[uint32]int64{},
	}
	c.enc = hpack.NewEncoder(&c.hbuf)
	c.fr = http2.NewFramer(&deadlineWriter{nc}, bufio.NewReaderSize(&deadlineConn{Conn: nc}, 64<<10))
	c.fr.AllowIllegalWrites = true
	c.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	c.fr.MaxHeaderListSize = 1 << 20
	c.writeOrFatal("the preface", func(fr *http2.Framer) error {
		if _, err := io.WriteString(nc, http2.ClientPreface); err != nil {
			return err
		}
		return fr.WriteSettings(settings...)
	})
	if _, err := c.ReadUntil(func(f http2.Frame) bool {
		s, ok := f.(*http2.SettingsFrame)
		return ok && !s.IsAck()
	}); err != nil {
		t.Fatalf("waiting for the server's SETTINGS: %v", err)
	}
	return c
}

// deadlineWriter bounds each Write by Timeout from the call.
type deadlineWriter struct{ nc net.Conn }

func (d *deadlineWriter) Write(p []byte) (int, error) {
	d.nc.SetWriteDeadline(time.Now().Add(Timeout))
	return d.nc.Write(p)
}

// NetConn is the connection beneath: a *net.TCPConn or a *tls.Conn.
func (c *H2Conn) NetConn() net.Conn { return c.nc }

// Close closes the connection now, rather than when the test ends.
func (c *H2Conn) Close() { c.nc.Close() }

// Framer is the connection's Framer, for writing any frame, well-formed or
// not (AllowIllegalWrites is set). Each frame is one write to the socket,
// bounded by Timeout. Reading must go through ReadFrame instead.
func (c *H2Conn) Framer() *http2.Framer { return c.fr }

// Write runs write with the Framer, holding the write lock that ReadFrame's
// acknowledgements take too.
func (c *H2Conn) Write(write func(fr *http2.Framer) error) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return write(c.fr)
}

func (c *H2Conn) writeOrFatal(what string, write func(fr *http2.Framer) error) {
	c.t.Helper()
	if err := c.Write(write); err != nil {
		c.t.Fatalf("writing %s: %v", what, err)
	}
}

// NextStream returns a new client stream id, above every one handed out
// before.
func (c *H2Conn) NextStream() uint32 {
	return c.last.Add(2) - 1
}

// EncodeHeaders encodes fields, given as name, value pairs, into a header
// block with the connection's HPACK encoder: a field already in its
// dynamic table becomes a one-byte reference. Names are sent as given,
// uppercase included. Blocks must reach the server in the order they were
// encoded.
func (c *H2Conn) EncodeHeaders(fields ...string) []byte {
	if len(fields)%2 != 0 {
		panic("wiretest: EncodeHeaders needs name, value pairs")
	}
	c.hbuf.Reset()
	for i := 0; i < len(fields); i += 2 {
		c.enc.WriteField(hpack.HeaderField{Name: fields[i], Value: fields[i+1]})
	}
	return bytes.Clone(c.hbuf.Bytes())
}

// WriteHeaders sends a request's (or trailers') header block on stream id
// in one HEADERS frame with END_HEADERS; fields are name, value pairs.
func (c *H2Conn) WriteHeaders(id uint32, endStream bool, fields ...string) {
	c.t.Helper()
	c.writeOrFatal("HEADERS", func(fr *http2.Framer) error {
		return fr.WriteHeaders(http2.HeadersFrameParam{
			StreamID: id, BlockFragment: c.EncodeHeaders(fields...), EndStream: endStream, EndHeaders: true,
		})
	})
}

// RequestFields are the pseudo-header fields of a request for path.
func (c *H2Conn) RequestFields(method, path string) []string {
	return []string{":method", method, ":scheme", c.scheme, ":authority", c.host, ":path", path}
}

// Flood writes frame(fr, i) for i from 0 to n-1 on a goroutine of its own,
// batched into large socket writes, so that a test can read the server's
// answer meanwhile. It stops at the first error; the channel then yields
// it, or nil once all n frames went out. frame must not fail the test;
// it may call EncodeHeaders and NextStream. The flood holds the write
// lock throughout: meanwhile the test may read, but a write (Do's window
// updates, the acknowledgement of a new SETTINGS) waits for its end.
func (c *H2Conn) Flood(n int, frame func(fr *http2.Framer, i int) error) <-chan error {
	done := make(chan error, 1)
	go func() {
		c.wmu.Lock()
		defer c.wmu.Unlock()
		bw := bufio.NewWriterSize(&deadlineWriter{c.nc}, 64<<10)
		fr := http2.NewFramer(bw, nil)
		fr.AllowIllegalWrites = true
		var err error
		for i := 0; i < n && err == nil; i++ {
			err = frame(fr, i)
		}
		if err == nil {
			err = bw.Flush()
		}
		done <- err
	}()
	return done
}

// ReadFrame reads the next frame, waiting at most Timeout. The frame is
// valid until the next read. Header blocks come as *http2.MetaHeadersFrame,
// decoded. The server's SETTINGS are recorded in Settings and acknowledged,
// and its WINDOW_UPDATEs counted for Do, before the frame is returned.
func (c *H2Conn) ReadFrame() (http2.Frame, error) {
	f, err := c.fr.ReadFrame()
	if err != nil {
		return f, err
	}
	switch f := f.(type) {
	case *http2.SettingsFrame:
		if f.IsAck() {
			break
		}
		f.ForeachSetting(func(s http2.Setting) error {
			c.Settings[s.ID] = s.Val
			return nil
		})
		if err := c.Write(func(fr *http2.Framer) error { return fr.WriteSettingsAck() }); err != nil {
			return f, fmt.Errorf("acknowledging SETTINGS: %w", err)
		}
	case *http2.WindowUpdateFrame:
		if f.StreamID == 0 {
			c.sendWindow += int64(f.Increment)
		} else {
			c.streamWin[f.StreamID] += int64(f.Increment)
		}
	}
	return f, nil
}

// ReadUntil reads frames until match returns true for one, and returns that
// one; it fails with the read error (io.EOF, a reset, a timeout) if none
// does first.
func (c *H2Conn) ReadUntil(match func(http2.Frame) bool) (http2.Frame, error) {
	for {
		f, err := c.ReadFrame()
		if err != nil {
			return nil, err
		}
		if match(f) {
			return f, nil
		}
	}
}

// ExpectGoAway reads until a GOAWAY and fails the test unless its error
// code is code, or if the connection ends or stalls without one. It
// returns the GOAWAY.
func (c *H2Conn) ExpectGoAway(code http2.ErrCode) *http2.GoAwayFrame {
	c.t.Helper()
	f, err := c.ReadUntil(func(f http2.Frame) bool { _, ok := f.(*http2.GoAwayFrame); return ok })
	if err != nil {
		c.t.Fatalf("got %v, want GOAWAY %v", err, code)
	}
	g := f.(*http2.GoAwayFrame)
	if g.ErrCode != code {
		c.t.Fatalf("got GOAWAY %v (%q), want %v", g.ErrCode, g.DebugData(), code)
	}
	return g
}

// ExpectRST reads until a RST_STREAM on stream id and fails the test
// unless its code is code, or if the connection ends first (with a GOAWAY
// or without).
func (c *H2Conn) ExpectRST(id uint32, code http2.ErrCode) {
	c.t.Helper()
	f, err := c.ReadUntil(func(f http2.Frame) bool {
		switch f := f.(type) {
		case *http2.RSTStreamFrame:
			return f.StreamID == id
		case *http2.GoAwayFrame:
			return true
		}
		return false
	})
	switch f := f.(type) {
	case nil:
		c.t.Fatalf("got %v, want RST_STREAM %v on stream %d", err, code, id)
	case *http2.GoAwayFrame:
		c.t.Fatalf("got GOAWAY %v (%q), want RST_STREAM %v on stream %d", f.ErrCode, f.DebugData(), code, id)
	case *http2.RSTStreamFrame:
		if f.ErrCode != code {
			c.t.Fatalf("stream %d: got RST_STREAM %v, want %v", id, f.ErrCode, code)
		}
	}
}

// ExpectClosed reads (and drops) frames until the server closes the
// connection, and fails the test if it has not within Timeout of the last
// frame. A reset counts as the close.
func (c *H2Conn) ExpectClosed() {
	c.t.Helper()
	_, err := c.ReadUntil(func(http2.Frame) bool { return false })
	if !isClose(err) {
		c.t.Fatalf("got %v, want the connection closed", err)
	}
}

// H2Response is a response read by Do.
type H2Response struct {
	Status  int
	Interim []int               // 1xx statuses before the final one
	Fields  []hpack.HeaderField // the final head's fields as sent, pseudo-headers first
	Header  http.Header         // its regular fields; keys canonical
	Body    []byte
	Trailer http.Header // nil when none
}

// Do sends a request on a new stream, with the regular fields given as
// name, value pairs after the pseudo-headers, and reads its whole
// response. A non-nil body goes in DATA frames within the server's flow-control
// windows, with a content-length; the response's DATA is credited back at
// once, so bodies of any size arrive. Frames of other streams are read and
// dropped. The error is an http2.StreamError when the stream is reset, an
// http2.GoAwayError when the connection goes away without it, or a read
// error.
func (c *H2Conn) Do(method, path string, body []byte, fields ...string) (*H2Response, error) {
	id := c.NextStream()
	fields = append(c.RequestFields(method, path), fields...)
	if body != nil {
		fields = append(fields, "content-length", strconv.Itoa(len(body)))
	}
	if err := c.Write(func(fr *http2.Framer) error {
		return fr.WriteHeaders(http2.HeadersFrameParam{
			StreamID: id, BlockFragment: c.EncodeHeaders(fields...), EndStream: len(body) == 0, EndHeaders: true,
		})
	}); err != nil {
		return nil, err
	}
	d := &doState{c: c, id: id, body: body, resp: &H2Response{Header: http.Header{}}}
	for !d.done {
		if err := d.sendBody(); err != nil {
			return d.resp, err
		}
		f, err := c.ReadFrame()
		if err != nil {
			return d.resp, err
		}
		if err := d.onFrame(f); err != nil {
			return d.resp, err
		}
	}
	return d.resp, nil
}

// doState is one Do's request and response in progress.
type doState struct {
	c    *H2Conn
	id   uint32
	body []byte // the request body not yet sent
	resp *H2Response
	head bool // the final head arrived
	done bool
}

// sendBody sends what the windows allow of the request body.
func (d *doState) sendBody() error {
	c := d.c
	for len(d.body) > 0 {
		win := int64(65535)
		if v, ok := c.Settings[http2.SettingInitialWindowSize]; ok {
			win = int64(v)
		}
		frame := int64(16384)
		if v, ok := c.Settings[http2.SettingMaxFrameSize]; ok {
			frame = int64(v)
		}
		n := min(int64(len(d.body)), c.sendWindow, win+c.streamWin[d.id], frame)
		if n <= 0 {
			return nil
		}
		p := d.body[:n]
		d.body = d.body[n:]
		if err := c.Write(func(fr *http2.Framer) error { return fr.WriteData(d.id, len(d.body) == 0, p) }); err != nil {
			return err
		}
		c.sendWindow -= n
		c.streamWin[d.id] -= n
	}
	return nil
}

func (d *doState) onFrame(f http2.Frame) error {
	if g, ok := f.(*http2.GoAwayFrame); ok && g.LastStreamID < d.id {
		return http2.GoAwayError{LastStreamID: g.LastStreamID, ErrCode: g.ErrCode, DebugData: string(g.DebugData())}
	}
	if f.Header().StreamID != d.id {
		return nil
	}
	switch f := f.(type) {
	case *http2.RSTStreamFrame:
		return http2.StreamError{StreamID: d.id, Code: f.ErrCode}
	case *http2.MetaHeadersFrame:
		d.onHeaders(f)
	case *http2.DataFrame:
		d.resp.Body = append(d.resp.Body, f.Data()...)
		if n := f.Length; n > 0 {
			// The whole frame, padding included, counts against the windows.
			if err := d.c.Write(func(fr *http2.Framer) error {
				if err := fr.WriteWindowUpdate(0, n); err != nil {
					return err
				}
				if f.StreamEnded() {
					return nil
				}
				return fr.WriteWindowUpdate(d.id, n)
			}); err != nil {
				return err
			}
		}
	}
	if f.Header().Flags.Has(http2.FlagDataEndStream) {
		if !d.head {
			return errors.New("wiretest: stream ended without a final response head")
		}
		d.done = true
	}
	return nil
}

func (d *doState) onHeaders(f *http2.MetaHeadersFrame) {
	r := d.resp
	if d.head {
		r.Trailer = http.Header{}
		for _, hf := range f.RegularFields() {
			r.Trailer.Add(hf.Name, hf.Value)
		}
		return
	}
	status, _ := strconv.Atoi(f.PseudoValue("status"))
	if status < 200 {
		r.Interim = append(r.Interim, status)
		return
	}
	d.head = true
	r.Status = status
	r.Fields = append([]hpack.HeaderField(nil), f.Fields...)
	for _, hf := range f.RegularFields() {
		r.Header.Add(hf.Name, hf.Value)
	}
}
