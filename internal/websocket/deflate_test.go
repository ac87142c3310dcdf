package websocket

import (
	"bytes"
	"compress/flate"
	"strings"
	"testing"
)

// TestCompression: Autobahn 12 and 13, compressed echo both ways, with
// the client keeping its context or not, fragmented, and under a small
// server window.
func TestCompression(t *testing.T) {
	addr := serve(t, echo(Options{Compression: true, MaxMessage: 1 << 20}))
	msgs := []string{
		strings.Repeat("Hello, compressed world! ", 40),
		strings.Repeat("Hello, compressed world! ", 41), // refers back to the first
		"short", // sent back uncompressed
		strings.Repeat("κόσμε ", 500),
		"",
	}
	for _, mode := range []struct {
		name, offer string
		keep        bool // the client keeps its context between messages
	}{
		{"context_takeover", "permessage-deflate; client_max_window_bits", true},
		{"no_context_takeover", "permessage-deflate; client_no_context_takeover", false},
	} {
		t.Run(mode.name, func(t *testing.T) {
			c, _ := dial(t, addr, "Sec-WebSocket-Extensions: "+mode.offer+"\r\n")
			var out bytes.Buffer
			fw, _ := flate.NewWriter(&out, flate.BestCompression)
			for i, m := range msgs {
				if !mode.keep {
					fw.Reset(&out)
				}
				z := compress(t, fw, &out, []byte(m))
				if i == 1 && mode.keep && len(z) > 20 {
					t.Fatalf("the second message did not refer to the first: %d bytes", len(z))
				}
				c.send(frame(finBit|rsv1|opText, z))
				b0, _, p := c.readFrame()
				got := string(p)
				if b0&rsv1 != 0 {
					got = string(decompress(t, p))
				}
				if b0&^rsv1 != finBit|opText || got != m {
					t.Fatalf("message %d: got %#x %q", i, b0, trunc([]byte(got)))
				}
				if wantZ := len(m) >= minCompress; b0&rsv1 != 0 != wantZ {
					t.Errorf("message %d of %d bytes: compressed %v, want %v", i, len(m), !wantZ, wantZ)
				}
			}
			// Uncompressed messages are still read as they are.
			c.send(binary_("plain"))
			c.expect(finBit|opBinary, []byte("plain"))
			// A compressed message in fragments: RSV1 on the first only.
			z := compress(t, fw, &out, []byte(msgs[0]))
			c.send(frame(rsv1|opBinary, z[:5]), frame(finBit|opContinuation, z[5:]))
			b0, _, p := c.readFrame()
			if b0 != finBit|rsv1|opBinary || string(decompress(t, p)) != msgs[0] {
				t.Fatalf("fragmented: got %#x", b0)
			}
			c.send(frame(rsv1|opBinary, z[:5]), frame(finBit|rsv1|opContinuation, z[5:]))
			c.expectClose(1002)
		})
	}

	t.Run("server_window_bits", func(t *testing.T) {
		c, _ := dial(t, addr, "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=8\r\n")
		small, large := strings.Repeat("ab", 100), strings.Repeat("ab", 1000)
		c.send(text(small), text(large))
		b0, _, p := c.readFrame()
		if b0 != finBit|rsv1|opText || string(decompress(t, p)) != small {
			t.Fatalf("%d bytes within the 256-byte window: got %#x", len(small), b0)
		}
		c.expect(finBit|opText, []byte(large)) // past the window: uncompressed
	})

	t.Run("invalid_data", func(t *testing.T) {
		c, _ := dial(t, addr, "Sec-WebSocket-Extensions: permessage-deflate\r\n")
		c.send(frame(finBit|rsv1|opText, []byte{0xff, 0xff, 0xff}))
		c.expectClose(1007)
	})
	t.Run("invalid_utf8_inside", func(t *testing.T) {
		c, _ := dial(t, addr, "Sec-WebSocket-Extensions: permessage-deflate\r\n")
		var out bytes.Buffer
		fw, _ := flate.NewWriter(&out, flate.BestSpeed)
		c.send(frame(finBit|rsv1|opText, compress(t, fw, &out, []byte("ok \xed\xa0\x80"))))
		c.expectClose(1007)
	})
	t.Run("bomb", func(t *testing.T) {
		c, _ := dial(t, addr, "Sec-WebSocket-Extensions: permessage-deflate\r\n")
		var out bytes.Buffer
		fw, _ := flate.NewWriter(&out, flate.BestCompression)
		z := compress(t, fw, &out, make([]byte, 64<<20))
		c.send(frame(finBit|rsv1|opBinary, z))
		c.expectClose(1009)
	})
}

// TestInflateBound: a bomb allocates no more than the limit, however far
// it would inflate.
func TestInflateBound(t *testing.T) {
	var out bytes.Buffer
	fw, _ := flate.NewWriter(&out, flate.BestCompression)
	z := compress(t, fw, &out, make([]byte, 64<<20))
	d := newDeflate(offer{})
	const limit = 100000
	dst, err := d.inflate(nil, z, limit)
	if err != errTooBig || cap(dst) > limit+1 {
		t.Fatalf("got %v with a buffer of %d bytes, want errTooBig within %d", err, cap(dst), limit+1)
	}
	fw.Reset(&out)
	dst, err = d.inflate(nil, compress(t, fw, &out, make([]byte, limit)), limit)
	if err != nil || len(dst) != limit {
		t.Fatalf("at the limit: %v, %d bytes", err, len(dst))
	}
}
