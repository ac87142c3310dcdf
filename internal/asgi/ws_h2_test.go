package asgi_test

import (
	"encoding/binary"
	"strings"
	"testing"

	"golang.org/x/net/http2"
	"nave/internal/asgi"
	"nave/internal/wiretest"
)

// wsOverH2 opens two WebSockets on one HTTP/2 connection with extended
// CONNECT (RFC 8441), checks the server announced it, and has each
// echoed, then closed by the client with its own code.
func wsOverH2(t *testing.T, addr string) {
	c := wiretest.DialH2(t, addr, nil)
	if c.Settings[http2.SettingEnableConnectProtocol] != 1 {
		t.Fatal("the server does not announce SETTINGS_ENABLE_CONNECT_PROTOCOL")
	}
	ids := []uint32{c.NextStream(), c.NextStream()}
	for i, id := range ids {
		c.WriteHeaders(id, false, ":method", "CONNECT", ":protocol", "websocket", ":scheme", "http",
			":path", "/echo?h2_"+string(rune('a'+i)), ":authority", addr, "sec-websocket-version", "13",
			"sec-websocket-protocol", "chat")
	}
	in := h2WSReader{c: c, in: map[uint32][]byte{}}
	next := func(id uint32) (byte, []byte) { t.Helper(); return in.next(t, id) }
	for i, id := range ids {
		msg := "hello over h2 " + string(rune('a'+i))
		c.Write(func(fr *http2.Framer) error { return fr.WriteData(id, false, wsFrame(0x81, []byte(msg))) })
		if b0, p := next(id); b0 != 0x81 || string(p) != msg {
			t.Fatalf("stream %d echo: %#x %q", id, b0, p)
		}
	}
	for _, id := range ids {
		c.Write(func(fr *http2.Framer) error { return fr.WriteData(id, false, wsFrame(0x88, []byte{0x0f, 0xa1})) })
		if b0, p := next(id); b0 != 0x88 || len(p) < 2 || binary.BigEndian.Uint16(p) != 4001 {
			t.Fatalf("stream %d close: %#x %q, want a close 4001", id, b0, p)
		}
	}
	if in.heads != 2 {
		t.Fatalf("got %d response heads, want 2", in.heads)
	}
	result(t, addr, "h2_a", equals(`{"code": 4001, "reason": "", "send": "ClientDisconnected"}`))
	result(t, addr, "h2_b", equals(`{"code": 4001, "reason": "", "send": "ClientDisconnected"}`))
}

// TestWSDeniedOverHTTP2: websocket.http.response on an extended CONNECT
// stream is an HTTP/2 response, status, fields and body whole.
func TestWSDeniedOverHTTP2(t *testing.T) {
	addr, _ := serveWS(t, asgi.Config{App: "ws_apps:app"})
	c := wiretest.DialH2(t, addr, nil)
	resp, err := c.Do("CONNECT", "/deny", nil, ":protocol", "websocket", "sec-websocket-version", "13")
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != 401 || string(resp.Body) != "no entry" || resp.Header.Get("X-Denied") != "yes" {
		t.Fatalf("got %d %v %q, want 401 \"no entry\" with X-Denied", resp.Status, resp.Header, resp.Body)
	}
	// The connection goes on: a refusal on it is a 403.
	resp, err = c.Do("CONNECT", "/refuse", nil, ":protocol", "websocket", "sec-websocket-version", "13")
	if err != nil || resp.Status != 403 {
		t.Fatalf("a close before accept: %v, status %d, want 403", err, resp.Status)
	}
}

// TestWSOverTLS: wss, as browsers open it on an https page: an
// HTTP/1.1 upgrade over TLS (scheme "wss" in the scope), and extended
// CONNECT on an h2 connection negotiated by ALPN, with the denial
// extension on it.
func TestWSOverTLS(t *testing.T) {
	mount, h, _, logger := startApp(t, asgi.Config{App: "ws_apps:app"})
	stopAfter(t, h)
	serverConf, clientConf := wiretest.TLSConfigs(t)
	serverConf.NextProtos = []string{"h2", "http/1.1"}
	_, addr := listenFor(t, mount, logger, serverConf)

	h1 := clientConf.Clone()
	h1.NextProtos = []string{"http/1.1"}
	c := wiretest.DialTLS(t, addr, h1)
	c.Send(wsHandshake("/echo?tls"))
	if r := c.ReadHead(); r.Status != 101 {
		t.Fatalf("handshake over TLS: %q", r.Head)
	}
	c.Send(string(wsFrame(0x81, []byte("scope"))))
	_, p := readWSFrame(t, c.Reader())
	if !strings.Contains(string(p), `"scheme": "wss"`) {
		t.Fatalf("the scope over TLS: %s, want scheme wss", p)
	}
	c.Send(string(wsFrame(0x88, []byte{0x03, 0xe8})))
	if b0, _ := readWSFrame(t, c.Reader()); b0 != 0x88 {
		t.Fatalf("got frame %#x, want the close answered", b0)
	}

	h2 := clientConf.Clone()
	h2.NextProtos = []string{"h2"}
	hc := wiretest.DialH2(t, addr, h2)
	if hc.Settings[http2.SettingEnableConnectProtocol] != 1 {
		t.Fatal("h2 over TLS does not announce SETTINGS_ENABLE_CONNECT_PROTOCOL")
	}
	resp, err := hc.Do("CONNECT", "/deny", nil, ":protocol", "websocket", "sec-websocket-version", "13")
	if err != nil || resp.Status != 401 || string(resp.Body) != "no entry" {
		t.Fatalf("denial over h2 and TLS: %v, %d %q", err, resp.Status, resp.Body)
	}
}
