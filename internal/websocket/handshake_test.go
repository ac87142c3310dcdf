package websocket

import (
	"encoding/binary"
	"testing"

	"golang.org/x/net/http2"

	"nave/internal/web"
	"nave/internal/wiretest"
)

// TestHandshakeRefused: requests that are no valid opening handshake get
// a precise status (RFC 6455 §4.2.1, §4.4).
func TestHandshakeRefused(t *testing.T) {
	addr := serve(t, echo(Options{}))
	const (
		upgrade = "Upgrade: websocket\r\nConnection: Upgrade\r\n"
		key     = "Sec-WebSocket-Key: " + testKey + "\r\n"
		v13     = "Sec-WebSocket-Version: 13\r\n"
	)
	for _, tc := range []struct {
		name, raw string
		status    int
		version   bool // Sec-WebSocket-Version: 13 in the refusal
	}{
		{"no_upgrade", "GET / HTTP/1.1\r\nHost: x\r\n" + key + v13 + "\r\n", 426, false},
		{"other_upgrade", "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n" + key + v13 + "\r\n", 426, false},
		{"not_get", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n" + upgrade + key + v13 + "\r\n", 400, false},
		{"http10", "GET / HTTP/1.0\r\nHost: x\r\n" + upgrade + key + v13 + "\r\n", 400, false},
		{"no_connection_upgrade", "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: keep-alive\r\n" + key + v13 + "\r\n", 400, false},
		{"missing_key", "GET / HTTP/1.1\r\nHost: x\r\n" + upgrade + v13 + "\r\n", 400, false},
		{"short_key", "GET / HTTP/1.1\r\nHost: x\r\n" + upgrade + "Sec-WebSocket-Key: dGhlIHNhbXBsZQ==\r\n" + v13 + "\r\n", 400, false},
		{"key_not_base64", "GET / HTTP/1.1\r\nHost: x\r\n" + upgrade + "Sec-WebSocket-Key: !!!!!!!!!!!!!!!!!!!!!!==\r\n" + v13 + "\r\n", 400, false},
		{"two_keys", "GET / HTTP/1.1\r\nHost: x\r\n" + upgrade + key + key + v13 + "\r\n", 400, false},
		{"version_8", "GET / HTTP/1.1\r\nHost: x\r\n" + upgrade + key + "Sec-WebSocket-Version: 8\r\n\r\n", 426, true},
		{"no_version", "GET / HTTP/1.1\r\nHost: x\r\n" + upgrade + key + "\r\n", 426, true},
		{"bad_subprotocol", "GET / HTTP/1.1\r\nHost: x\r\n" + upgrade + key + v13 + "Sec-WebSocket-Protocol: a b\r\n\r\n", 400, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := wiretest.Dial(t, addr)
			c.Send(tc.raw)
			method := "GET"
			if tc.name == "not_get" {
				method = "POST"
			}
			r := c.Read(method)
			if r.Status != tc.status {
				t.Fatalf("got %d, want %d: %q", r.Status, tc.status, r.Head)
			}
			if got := r.Get("Sec-WebSocket-Version") == "13"; got != tc.version {
				t.Errorf("Sec-WebSocket-Version: 13 present %v, want %v", got, tc.version)
			}
			if r.Has("Sec-WebSocket-Accept") {
				t.Errorf("a refusal with Sec-WebSocket-Accept: %q", r.Head)
			}
		})
	}
}

// TestHandshakeNegotiation: the subprotocol the handler chose, fields it
// added (less those the handshake owns), and extension offers.
func TestHandshakeNegotiation(t *testing.T) {
	plain := serve(t, echo(Options{}))
	deflating := serve(t, echo(Options{Compression: true}))
	for _, tc := range []struct {
		name, addr, extra, protocol, extensions string
	}{
		{"chat_offered", plain, "Sec-WebSocket-Protocol: foo, chat\r\n", "chat", ""},
		{"chat_in_second_field", plain, "Sec-WebSocket-Protocol: foo\r\nSec-WebSocket-Protocol: bar, chat\r\n", "chat", ""},
		{"none_chosen", plain, "Sec-WebSocket-Protocol: foo\r\n", "", ""},
		{"deflate_not_allowed", plain, "Sec-WebSocket-Extensions: permessage-deflate\r\n", "", ""},
		{"deflate", deflating, "Sec-WebSocket-Extensions: permessage-deflate\r\n", "", "permessage-deflate; server_no_context_takeover"},
		{"deflate_client_bits", deflating, "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n", "", "permessage-deflate; server_no_context_takeover"},
		{"deflate_client_no_context", deflating, "Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover; client_max_window_bits=10\r\n", "", "permessage-deflate; server_no_context_takeover; client_no_context_takeover"},
		{"deflate_server_bits", deflating, "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=\"10\"\r\n", "", "permessage-deflate; server_no_context_takeover; server_max_window_bits=10"},
		{"deflate_first_valid", deflating, "Sec-WebSocket-Extensions: x-webkit-deflate-frame, permessage-deflate; server_max_window_bits=7, permessage-deflate; server_no_context_takeover\r\n", "", "permessage-deflate; server_no_context_takeover"},
		{"deflate_unknown_param", deflating, "Sec-WebSocket-Extensions: permessage-deflate; foo=1\r\n", "", ""},
		{"deflate_repeated_param", deflating, "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits; client_max_window_bits\r\n", "", ""},
		{"deflate_bad_bits", deflating, "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=16\r\n", "", ""},
		{"deflate_server_bits_no_value", deflating, "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits\r\n", "", ""},
		{"deflate_valued_no_context", deflating, "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover=1\r\n", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, r := dial(t, tc.addr, tc.extra)
			if got := r.Get("Sec-WebSocket-Protocol"); got != tc.protocol {
				t.Errorf("Sec-WebSocket-Protocol %q, want %q", got, tc.protocol)
			}
			if got := r.Get("Sec-WebSocket-Extensions"); got != tc.extensions {
				t.Errorf("Sec-WebSocket-Extensions %q, want %q", got, tc.extensions)
			}
			if r.Get("X-Echo") != "yes" || len(r.Header.Values("Sec-WebSocket-Accept")) != 1 {
				t.Errorf("extra fields: %q", r.Head)
			}
		})
	}
}

// TestParseHTTP2: an extended CONNECT is a handshake (RFC 8441 §5)
// without a key; a plain CONNECT or another :protocol is not.
func TestParseHTTP2(t *testing.T) {
	req := func(method, protocol, version string) *web.Request {
		r := &web.Request{Method: []byte(method), Proto: web.HTTP2}
		if protocol != "" {
			r.Protocol = []byte(protocol)
		}
		if version != "" {
			r.Header.Add("Sec-WebSocket-Version", version)
		}
		r.Header.Add("Sec-WebSocket-Protocol", "chat, superchat")
		return r
	}
	hs, err := Parse(req("CONNECT", "websocket", "13"))
	if err != nil || !hs.h2 || len(hs.Subprotocols) != 2 || hs.Subprotocols[1] != "superchat" {
		t.Fatalf("extended CONNECT: %+v, %v", hs, err)
	}
	if _, err := Parse(req("CONNECT", "", "13")); err != ErrNotWebSocket {
		t.Errorf("plain CONNECT: %v, want ErrNotWebSocket", err)
	}
	if _, err := Parse(req("CONNECT", "webtransport", "13")); err != ErrNotWebSocket {
		t.Errorf("other protocol: %v, want ErrNotWebSocket", err)
	}
	if _, err := Parse(req("GET", "", "13")); err != ErrNotWebSocket {
		t.Errorf("GET over HTTP/2: %v, want ErrNotWebSocket", err)
	}
	_, err = Parse(req("CONNECT", "websocket", "8"))
	if he, ok := err.(*HandshakeError); !ok || he.Status != 426 {
		t.Errorf("version 8: %v, want 426", err)
	}
}

// TestAcceptHTTP2 runs the handshake over a real HTTP/2 stream, an
// extended CONNECT (RFC 8441): 200 with the subprotocol and no
// Sec-WebSocket-Accept, then WebSocket frames inside DATA both ways, and
// the closing handshake ending the stream.
func TestAcceptHTTP2(t *testing.T) {
	addr := serve(t, echo(Options{}))
	c := wiretest.DialH2(t, addr, nil)
	if c.Settings[http2.SettingEnableConnectProtocol] != 1 {
		t.Fatal("the server does not announce extended CONNECT")
	}
	id := c.NextStream()
	c.WriteHeaders(id, false, ":method", "CONNECT", ":protocol", "websocket", ":scheme", "http",
		":path", "/chat", ":authority", addr, "sec-websocket-version", "13", "sec-websocket-protocol", "chat")
	f, err := c.ReadUntil(func(f http2.Frame) bool { _, ok := f.(*http2.MetaHeadersFrame); return ok })
	if err != nil {
		t.Fatal(err)
	}
	h := f.(*http2.MetaHeadersFrame)
	fields := map[string]string{}
	for _, hf := range h.Fields {
		fields[hf.Name] = hf.Value
	}
	if fields[":status"] != "200" || h.StreamEnded() || fields["sec-websocket-protocol"] != "chat" ||
		fields["x-echo"] != "yes" || fields["sec-websocket-accept"] != "" || fields["upgrade"] != "" {
		t.Fatalf("head %v (END_STREAM %v): want 200, chat, X-Echo, no Sec-WebSocket-Accept or Upgrade", fields, h.StreamEnded())
	}
	var in []byte
	next := func() (byte, []byte) {
		t.Helper()
		for {
			if len(in) >= 2 && in[1]&0x7f < 126 && len(in) >= 2+int(in[1]&0x7f) {
				n := int(in[1] & 0x7f)
				b0, p := in[0], append([]byte(nil), in[2:2+n]...)
				in = in[2+n:]
				return b0, p
			}
			f, err := c.ReadUntil(func(f http2.Frame) bool { _, ok := f.(*http2.DataFrame); return ok })
			if err != nil {
				t.Fatalf("reading DATA: %v", err)
			}
			in = append(in, f.(*http2.DataFrame).Data()...)
		}
	}
	c.Write(func(fr *http2.Framer) error { return fr.WriteData(id, false, text("hello over h2")) })
	if b0, p := next(); b0 != finBit|opText || string(p) != "hello over h2" {
		t.Fatalf("echo: %#x %q", b0, p)
	}
	c.Write(func(fr *http2.Framer) error { return fr.WriteData(id, false, closeFrame(1000, "done")) })
	if b0, p := next(); b0 != finBit|opClose || len(p) < 2 || binary.BigEndian.Uint16(p) != 1000 {
		t.Fatalf("close: %#x %q, want a close 1000", b0, p)
	}
	c.Write(func(fr *http2.Framer) error { return fr.WriteData(id, true, nil) })
	if _, err := c.ReadUntil(func(f http2.Frame) bool {
		d, ok := f.(*http2.DataFrame)
		return ok && d.StreamEnded()
	}); err != nil {
		t.Fatalf("the server did not end the stream: %v", err)
	}
}
