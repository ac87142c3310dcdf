package proxy

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"nave/internal/web"
	"nave/internal/websocket"
	"nave/internal/wiretest"
)

// wsEcho is a WebSocket echo app on nave's own WebSocket package.
var wsEcho = web.HandlerFunc(func(w *web.ResponseWriter, r *web.Request) {
	hs, err := websocket.Parse(r)
	if err != nil {
		websocket.Refuse(w, err)
		return
	}
	c, err := hs.Accept(w, "", nil, websocket.Options{})
	if err != nil {
		return
	}
	buf := make([]byte, 64<<10)
	for {
		typ, msg, err := c.Read(buf)
		if err != nil {
			return
		}
		if err := c.Write(typ, msg); err != nil {
			return
		}
	}
})

// maskedText is a client's text frame (RFC 6455 §5.2), for short payloads.
func maskedText(p string) []byte {
	key := []byte{1, 2, 3, 4}
	b := []byte{0x81, 0x80 | byte(len(p))}
	b = append(b, key...)
	for i := range len(p) {
		b = append(b, p[i]^key[i%4])
	}
	return b
}

func TestWebSocketThroughProxy(t *testing.T) {
	up := serve(t, wsEcho)
	_, addr := newProxy(t, Config{Servers: servers(up)})
	c := wiretest.Dial(t, addr)
	defer c.Close()
	c.Send("GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	resp := c.ReadHead()
	if resp.Status != 101 || resp.Get("Sec-WebSocket-Accept") != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" ||
		!strings.EqualFold(resp.Get("Upgrade"), "websocket") {
		t.Fatalf("got head\n%s", resp.Head)
	}
	for _, msg := range []string{"hello", "through the proxy"} {
		c.Send(string(maskedText(msg)))
		want := append([]byte{0x81, byte(len(msg))}, msg...)
		got := make([]byte, len(want))
		if _, err := io.ReadFull(c.Reader(), got); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("echo of %q: got %q, %v", msg, got, err)
		}
	}
}

func TestUpgradeIdleTimeout(t *testing.T) {
	up := rawUpstream(t, func(c net.Conn, br *bufio.Reader) {
		readRequest(br)
		io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: raw\r\n\r\nhi")
		io.Copy(c, br)
	})
	_, addr := newProxy(t, Config{Servers: servers(up), TunnelIdle: 200 * time.Millisecond})
	c := wiretest.Dial(t, addr)
	defer c.Close()
	c.Send("GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: raw\r\n\r\n")
	if resp := c.ReadHead(); resp.Status != 101 {
		t.Fatalf("got %d", resp.Status)
	}
	got := make([]byte, 2)
	io.ReadFull(c.Reader(), got)
	if string(got) != "hi" {
		t.Fatalf("got %q, want the bytes the server sent with its 101", got)
	}
	c.Send("ping")
	io.ReadFull(c.Reader(), make([]byte, 4))
	start := time.Now()
	if _, err := c.Reader().ReadByte(); err == nil {
		t.Fatal("read a byte from an idle tunnel")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("idle tunnel closed after %v, want about 200ms", d)
	}
}

// TestH2WebSocketToH1 proxies an HTTP/2 extended CONNECT (RFC 8441) to
// an HTTP/1.1 WebSocket server.
func TestH2WebSocketToH1(t *testing.T) {
	up := serve(t, wsEcho)
	_, addr := newProxy(t, Config{Servers: servers(up)})
	c := wiretest.DialH2(t, addr, nil)
	defer c.Close()
	id := c.NextStream()
	c.WriteHeaders(id, false, append(c.RequestFields("CONNECT", "/ws"), ":protocol", "websocket",
		"sec-websocket-version", "13")...)
	f, err := c.ReadUntil(func(f http2.Frame) bool { _, ok := f.(*http2.MetaHeadersFrame); return ok })
	if err != nil {
		t.Fatal(err)
	}
	h := f.(*http2.MetaHeadersFrame)
	if h.PseudoValue("status") != "200" {
		t.Fatalf("got status %q, want 200", h.PseudoValue("status"))
	}
	for _, hf := range h.RegularFields() {
		if hf.Name == "sec-websocket-accept" || hf.Name == "connection" || hf.Name == "upgrade" {
			t.Errorf("HTTP/1.1 handshake field passed to HTTP/2: %s", hf.Name)
		}
	}
	c.Write(func(fr *http2.Framer) error { return fr.WriteData(id, false, maskedText("over h2")) })
	var echoed []byte
	for len(echoed) < 9 {
		f, err := c.ReadUntil(func(f http2.Frame) bool { _, ok := f.(*http2.DataFrame); return ok })
		if err != nil {
			t.Fatal(err)
		}
		echoed = append(echoed, f.(*http2.DataFrame).Data()...)
	}
	if want := "\x81\x07over h2"; string(echoed) != want {
		t.Errorf("got %q, want %q", echoed, want)
	}
}
