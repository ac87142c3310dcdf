package websocket

import (
	"bufio"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"testing"

	"nave/internal/server"
	"nave/internal/web"
	"nave/internal/wiretest"
)

// serve runs a nave server with h on loopback and returns its address.
func serve(t *testing.T, h web.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := server.New(server.Config{Handler: h})
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		s.Close()
		if err := <-done; !errors.Is(err, server.ErrServerClosed) {
			t.Errorf("Serve returned %v", err)
		}
	})
	return ln.Addr().String()
}

// echo is the handler the tests talk to: it parses, accepts (choosing
// "chat" when offered, adding X-Echo), and echoes every message. The text
// "close-me" makes it Close(4001, "bye now") from another goroutine while
// its Read goes on; "close-now" makes it Close on the reading goroutine.
func echo(opts Options) web.Handler {
	return web.HandlerFunc(func(w *web.ResponseWriter, r *web.Request) {
		hs, err := Parse(r)
		if err != nil {
			Refuse(w, err)
			return
		}
		sub := ""
		if offered(hs.Subprotocols, "chat") {
			sub = "chat"
		}
		var extra web.Header
		extra.Set("X-Echo", "yes")
		extra.Set("Sec-WebSocket-Accept", "forged")
		c, err := hs.Accept(w, sub, &extra, opts)
		if err != nil {
			return
		}
		var wg sync.WaitGroup
		defer wg.Wait()
		var buf []byte
		for {
			t, msg, err := c.Read(buf)
			if err != nil {
				return
			}
			buf = msg
			switch string(msg) {
			case "close-me":
				wg.Add(1)
				go func() { defer wg.Done(); c.Close(4001, "bye now") }()
				continue
			case "close-now":
				c.Close(4001, "bye now")
				return
			}
			if c.Write(t, msg) != nil {
				return
			}
		}
	})
}

// client is a raw WebSocket client over wiretest.
type client struct {
	*wiretest.Conn
	t  *testing.T
	br *bufio.Reader
}

const (
	testKey    = "dGhlIHNhbXBsZSBub25jZQ=="     // RFC 6455 §1.3's example
	testAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" // and its answer
)

// dial opens a WebSocket to addr with the handshake plus extra field
// lines ("Name: value\r\n"), failing the test unless it gets 101.
func dial(t *testing.T, addr, extra string) (*client, *wiretest.Response) {
	t.Helper()
	c := wiretest.Dial(t, addr)
	c.Send("GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + testKey + "\r\nSec-WebSocket-Version: 13\r\n" + extra + "\r\n")
	r := c.ReadHead()
	if r.Status != 101 || r.Get("Sec-WebSocket-Accept") != testAccept ||
		r.Get("Upgrade") != "websocket" || r.Get("Connection") != "Upgrade" {
		t.Fatalf("handshake: got %q", r.Head)
	}
	return &client{Conn: c, t: t, br: c.Reader()}, r
}

// testMask is the key every test frame is masked with.
var testMask = [4]byte{0x37, 0xfa, 0x21, 0x3d}

// frame builds a masked client frame with first byte b0.
func frame(b0 byte, payload []byte) []byte {
	return rawFrame(b0, true, int64(len(payload)), payload)
}

// rawFrame builds a frame that claims length n, masked or not, with what
// of payload is given.
func rawFrame(b0 byte, masked bool, n int64, payload []byte) []byte {
	var mb byte
	if masked {
		mb = maskBit
	}
	b := []byte{b0}
	switch {
	case n >= 0 && n <= 125:
		b = append(b, mb|byte(n))
	case n >= 0 && n <= 0xffff:
		b = append(b, mb|126, byte(n>>8), byte(n))
	default:
		b = append(b, mb|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	p := bytes.Clone(payload)
	if masked {
		b = append(b, testMask[:]...)
		mask(testMask, 0, p)
	}
	return append(b, p...)
}

func text(s string) []byte    { return frame(finBit|opText, []byte(s)) }
func binary_(s string) []byte { return frame(finBit|opBinary, []byte(s)) }

func (c *client) send(frames ...[]byte) {
	c.t.Helper()
	c.Send(string(bytes.Join(frames, nil)))
}

// readFrame reads one server frame, which must not be masked.
func (c *client) readFrame() (b0 byte, b1 byte, payload []byte) {
	c.t.Helper()
	var h [2]byte
	if _, err := io.ReadFull(c.br, h[:]); err != nil {
		c.t.Fatalf("reading a frame: %v", err)
	}
	if h[1]&maskBit != 0 {
		c.t.Fatalf("server frame is masked")
	}
	n := int64(h[1] & 0x7f)
	switch n {
	case 126:
		var l [2]byte
		io.ReadFull(c.br, l[:])
		n = int64(binary.BigEndian.Uint16(l[:]))
	case 127:
		var l [8]byte
		io.ReadFull(c.br, l[:])
		n = int64(binary.BigEndian.Uint64(l[:]))
	}
	payload = make([]byte, n)
	if _, err := io.ReadFull(c.br, payload); err != nil {
		c.t.Fatalf("reading a %d-byte payload: %v", n, err)
	}
	return h[0], h[1], payload
}

// expect reads one frame and checks its first byte and payload.
func (c *client) expect(b0 byte, payload []byte) {
	c.t.Helper()
	got0, _, got := c.readFrame()
	if got0 != b0 || !bytes.Equal(got, payload) {
		c.t.Fatalf("got frame %#x %q, want %#x %q", got0, trunc(got), b0, trunc(payload))
	}
}

// expectClose reads a close frame with code (-1: an empty one) and then
// the end of the connection.
func (c *client) expectClose(code int) {
	c.t.Helper()
	b0, _, p := c.readFrame()
	if b0 != finBit|opClose {
		c.t.Fatalf("got frame %#x %q, want a close %d", b0, trunc(p), code)
	}
	got := -1
	if len(p) >= 2 {
		got = int(binary.BigEndian.Uint16(p))
	}
	if got != code {
		c.t.Fatalf("got close %d %q, want %d", got, p, code)
	}
	c.ExpectEOF()
}

func closeFrame(code int, reason string) []byte {
	return frame(finBit|opClose, closePayload(nil, code, reason))
}

func trunc(b []byte) []byte {
	if len(b) > 40 {
		return b[:40]
	}
	return b
}

// compress deflates a message as a client would (RFC 7692 §7.2.1): with
// fw's context, tail removed.
func compress(t *testing.T, fw *flate.Writer, out *bytes.Buffer, p []byte) []byte {
	t.Helper()
	out.Reset()
	fw.Write(p)
	if err := fw.Flush(); err != nil {
		t.Fatal(err)
	}
	b := bytes.Clone(out.Bytes())
	if !bytes.HasSuffix(b, []byte{0, 0, 0xff, 0xff}) {
		t.Fatalf("no sync tail in %x", b)
	}
	return b[:len(b)-4]
}

// decompress inflates a server message compressed without context.
func decompress(t *testing.T, z []byte) []byte {
	t.Helper()
	b, err := io.ReadAll(flate.NewReader(io.MultiReader(bytes.NewReader(z), bytes.NewReader(deflateTail[:]))))
	if err != nil {
		t.Fatalf("inflating the server's message: %v", err)
	}
	return b
}
