package websocket

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// out is a frame the server must send: its first byte and payload.
type out struct {
	b0      byte
	payload []byte
}

func echoed(op byte, s string) out { return out{finBit | op, []byte(s)} }

// wireCase is one exchange of raw frames with the echo server, as an
// Autobahn case: what the client sends, the frames it must get back, and
// the close code the server must end with (0: none, the test closes with
// 1000 and wants 1000 back; -1: an empty close).
type wireCase struct {
	name  string
	send  [][]byte
	want  []out
	close int
}

func runWire(t *testing.T, addr, extra string, cases []wireCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := dial(t, addr, extra)
			c.send(tc.send...)
			for _, w := range tc.want {
				c.expect(w.b0, w.payload)
			}
			if tc.close == 0 {
				c.send(closeFrame(1000, ""))
				c.expectClose(1000)
				return
			}
			c.expectClose(tc.close)
		})
	}
}

func frames(f ...[]byte) [][]byte { return f }

// TestFraming: Autobahn 1, text and binary of every length form, echoed
// in the shortest form (RFC 6455 §5.2).
func TestFraming(t *testing.T) {
	addr := serve(t, echo(Options{}))
	for _, n := range []int{0, 1, 125, 126, 127, 65535, 65536, 200000} {
		for _, op := range []byte{opText, opBinary} {
			p := bytes.Repeat([]byte{'*'}, n)
			c, _ := dial(t, addr, "")
			c.send(frame(finBit|op, p))
			b0, b1, got := c.readFrame()
			if b0 != finBit|op || !bytes.Equal(got, p) {
				t.Fatalf("len %d op %d: got %#x and %d bytes", n, op, b0, len(got))
			}
			wantLen := byte(n)
			switch {
			case n > 65535:
				wantLen = 127
			case n > 125:
				wantLen = 126
			}
			if b1 != wantLen {
				t.Errorf("len %d: second byte %#x, want %#x", n, b1, wantLen)
			}
			c.send(closeFrame(1000, ""))
			c.expectClose(1000)
		}
	}
	// The 16- and 64-bit forms for lengths that would fit a shorter one
	// are read as well (RFC 6455 asks for the minimal form, Autobahn does
	// not test a server's leniency, nave is lenient).
	c, _ := dial(t, addr, "")
	long := []byte{finBit | opBinary, maskBit | 127, 0, 0, 0, 0, 0, 0, 0, 3}
	long = append(append(long, testMask[:]...), 'a'^testMask[0], 'b'^testMask[1], 'c'^testMask[2])
	c.send(long)
	c.expect(finBit|opBinary, []byte("abc"))
}

// TestPingPong: Autobahn 2.
func TestPingPong(t *testing.T) {
	addr := serve(t, echo(Options{}))
	p125 := strings.Repeat("p", 125)
	runWire(t, addr, "", []wireCase{
		{name: "empty_ping", send: frames(frame(finBit|opPing, nil)), want: []out{echoed(opPong, "")}},
		{name: "ping_payload", send: frames(frame(finBit|opPing, []byte("Hello, world!"))), want: []out{echoed(opPong, "Hello, world!")}},
		{name: "binary_ping", send: frames(frame(finBit|opPing, []byte{0, 0xff, 0xfe, 0x80})), want: []out{{finBit | opPong, []byte{0, 0xff, 0xfe, 0x80}}}},
		{name: "ping_125", send: frames(frame(finBit|opPing, []byte(p125))), want: []out{echoed(opPong, p125)}},
		{name: "ping_126", send: frames(frame(finBit|opPing, []byte(p125+"p"))), close: 1002},
		{name: "unsolicited_pong", send: frames(frame(finBit|opPong, []byte("x")), text("after")), want: []out{echoed(opText, "after")}},
		{name: "unsolicited_pong_then_ping", send: frames(frame(finBit|opPong, nil), frame(finBit|opPing, []byte("p"))), want: []out{echoed(opPong, "p")}},
		{name: "ten_pings", send: frames(bytes.Repeat(frame(finBit|opPing, []byte("x")), 10)), want: repeat(echoed(opPong, "x"), 10)},
		{name: "ping_byte_by_byte", send: split(frame(finBit|opPing, []byte("slow"))), want: []out{echoed(opPong, "slow")}},
	})
}

func repeat(o out, n int) []out {
	s := make([]out, n)
	for i := range s {
		s[i] = o
	}
	return s
}

// split is a frame as one send per byte (the server may read them in
// any grouping).
func split(f []byte) [][]byte {
	var s [][]byte
	for i := range f {
		s = append(s, f[i:i+1])
	}
	return s
}

// TestReservedBits: Autobahn 3, RSV bits without an extension → 1002,
// after what came before was answered.
func TestReservedBits(t *testing.T) {
	addr := serve(t, echo(Options{}))
	runWire(t, addr, "", []wireCase{
		{name: "rsv1_text", send: frames(frame(finBit|rsv1|opText, []byte("x"))), close: 1002},
		{name: "rsv2_text_after_echo", send: frames(text("ok"), frame(finBit|rsv2|opText, []byte("x")), frame(finBit|opPing, nil)), want: []out{echoed(opText, "ok")}, close: 1002},
		{name: "rsv3_binary", send: frames(frame(finBit|rsv3|opBinary, []byte("x"))), close: 1002},
		{name: "rsv_all_ping", send: frames(frame(finBit|rsv1|rsv2|rsv3|opPing, nil)), close: 1002},
		{name: "rsv1_close", send: frames(frame(finBit|rsv1|opClose, nil)), close: 1002},
	})
}

// TestOpcodes: Autobahn 4, reserved data (3–7) and control (11–15)
// opcodes → 1002.
func TestOpcodes(t *testing.T) {
	addr := serve(t, echo(Options{}))
	var cases []wireCase
	for _, op := range []byte{3, 4, 5, 6, 7, 11, 12, 13, 14, 15} {
		cases = append(cases, wireCase{
			name:  "op" + string(rune('0'+op/10)) + string(rune('0'+op%10)),
			send:  frames(text("before"), frame(finBit|op, []byte("x")), text("after")),
			want:  []out{echoed(opText, "before")},
			close: 1002,
		})
	}
	runWire(t, addr, "", cases)
}

// TestFragmentation: Autobahn 5.
func TestFragmentation(t *testing.T) {
	addr := serve(t, echo(Options{}))
	runWire(t, addr, "", []wireCase{
		{name: "text_two", send: frames(frame(opText, []byte("frag")), frame(finBit|opContinuation, []byte("ment"))), want: []out{echoed(opText, "fragment")}},
		{name: "binary_three", send: frames(frame(opBinary, []byte("a")), frame(opContinuation, []byte("b")), frame(finBit|opContinuation, []byte("c"))), want: []out{echoed(opBinary, "abc")}},
		{name: "empty_fragments", send: frames(frame(opText, nil), frame(opContinuation, nil), frame(finBit|opContinuation, nil)), want: []out{echoed(opText, "")}},
		{name: "ping_inside", send: frames(frame(opText, []byte("frag1")), frame(finBit|opPing, []byte("p")), frame(finBit|opContinuation, []byte("frag2"))), want: []out{echoed(opPong, "p"), echoed(opText, "frag1frag2")}},
		{name: "pong_inside", send: frames(frame(opText, []byte("a")), frame(finBit|opPong, nil), frame(finBit|opContinuation, []byte("b"))), want: []out{echoed(opText, "ab")}},
		{name: "fragmented_ping", send: frames(frame(opPing, []byte("a")), frame(finBit|opContinuation, []byte("b"))), close: 1002},
		{name: "fragmented_pong", send: frames(frame(opPong, []byte("a")), frame(finBit|opContinuation, []byte("b"))), close: 1002},
		{name: "continuation_without_start", send: frames(frame(finBit|opContinuation, []byte("x"))), close: 1002},
		{name: "continuation_unfinished_without_start", send: frames(frame(opContinuation, []byte("x")), frame(finBit|opContinuation, []byte("y"))), close: 1002},
		{name: "text_inside_text", send: frames(frame(opText, []byte("a")), frame(finBit|opText, []byte("b"))), close: 1002},
		{name: "binary_inside_text", send: frames(frame(opText, []byte("a")), frame(opBinary, []byte("b"))), close: 1002},
		{name: "byte_by_byte", send: split(bytes.Join(frames(frame(opText, []byte("slow ")), frame(finBit|opContinuation, []byte("frames"))), nil)), want: []out{echoed(opText, "slow frames")}},
		{name: "after_message", send: frames(frame(opText, []byte("a")), frame(finBit|opContinuation, []byte("b")), frame(finBit|opContinuation, []byte("c"))), want: []out{echoed(opText, "ab")}, close: 1002},
	})
}

// fragmentEach splits a text message into one frame per byte.
func fragmentEach(s string) [][]byte {
	var f [][]byte
	for i := 0; i < len(s); i++ {
		b0 := byte(opContinuation)
		if i == 0 {
			b0 = opText
		}
		if i == len(s)-1 {
			b0 |= finBit
		}
		f = append(f, frame(b0, []byte{s[i]}))
	}
	return f
}

// TestUTF8: Autobahn 6, text messages must be UTF-8 (RFC 6455 §8.1),
// checked across fragments, failing with 1007.
func TestUTF8(t *testing.T) {
	addr := serve(t, echo(Options{}))
	const greek = "κόσμε"
	const mixed = "Hello-µ@ßöäüàá-UTF-8!!"
	cases := []wireCase{
		{name: "valid", send: frames(text(mixed)), want: []out{echoed(opText, mixed)}},
		{name: "valid_split_per_byte", send: fragmentEach(greek), want: []out{echoed(opText, greek)}},
		{name: "valid_4byte", send: frames(text("\U0001F600\U0010FFFF")), want: []out{echoed(opText, "\U0001F600\U0010FFFF")}},
		{name: "valid_edges", send: frames(text("\u007f\u0080\u07ff\u0800\ud7ff\ue000\ufffd\U00010000")), want: []out{echoed(opText, "\u007f\u0080\u07ff\u0800\ud7ff\ue000\ufffd\U00010000")}},
		{name: "binary_not_checked", send: frames(binary_("\xff\xfe")), want: []out{echoed(opBinary, "\xff\xfe")}},
	}
	for _, bad := range []struct{ name, s string }{
		{"lone_continuation", "\x80"},
		{"overlong_slash_2", "\xc0\xaf"},
		{"overlong_slash_3", "\xe0\x80\xaf"},
		{"overlong_slash_4", "\xf0\x80\x80\xaf"},
		{"overlong_max_2", "\xc1\xbf"},
		{"surrogate_high", "\xed\xa0\x80"},
		{"surrogate_low", "\xed\xbf\xbf"},
		{"past_10ffff", "\xf4\x90\x80\x80"},
		{"five_bytes", "\xf8\x88\x80\x80\x80"},
		{"fe", "\xfe"},
		{"truncated_at_end", greek + "\xce"},
		{"truncated_4byte", "ab\xf0\x9f\x98"},
		{"bad_in_middle", "κό\xedσμε"},
	} {
		cases = append(cases,
			wireCase{name: bad.name, send: frames(text(bad.s)), close: 1007},
			wireCase{name: bad.name + "_fragmented", send: fragmentEach(bad.s), close: 1007})
	}
	runWire(t, addr, "", cases)

	// Fail fast: the server closes at the first invalid byte, without
	// waiting for the rest of the frame or of the message.
	t.Run("fail_fast_in_frame", func(t *testing.T) {
		c, _ := dial(t, addr, "")
		f := rawFrame(finBit|opText, true, 100, []byte("ok\xc0\xaf"))
		c.send(f)
		c.expectClose(1007)
	})
	t.Run("fail_fast_in_fragment", func(t *testing.T) {
		c, _ := dial(t, addr, "")
		c.send(frame(opText, []byte(greek)), frame(opContinuation, []byte("\xed\xa0\x80")))
		c.expectClose(1007)
	})
}

// TestClose: Autobahn 7, the close handshake and its codes.
func TestClose(t *testing.T) {
	addr := serve(t, echo(Options{CloseTimeout: 300 * time.Millisecond}))
	cases := []wireCase{
		{name: "empty", send: frames(frame(finBit|opClose, nil)), close: -1},
		{name: "reason", send: frames(closeFrame(1000, "bye")), close: 1000},
		{name: "reason_123", send: frames(closeFrame(1000, strings.Repeat("r", 123))), close: 1000},
		{name: "one_byte", send: frames(frame(finBit|opClose, []byte{0x03})), close: 1002},
		{name: "reason_not_utf8", send: frames(closeFrame(1000, "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80")), close: 1007},
		{name: "then_data_ignored", send: frames(closeFrame(1000, ""), text("ignored"), frame(finBit|opPing, nil)), close: 1000},
		{name: "after_text", send: frames(text("x"), closeFrame(1001, "")), want: []out{echoed(opText, "x")}, close: 1001},
		{name: "in_fragmented_message", send: frames(frame(opText, []byte("a")), closeFrame(1000, "")), close: 1000},
	}
	for _, code := range []int{1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999} {
		cases = append(cases, wireCase{name: "valid_" + itoa(code), send: frames(closeFrame(code, "")), close: code})
	}
	for _, code := range []int{0, 999, 1004, 1005, 1006, 1012, 1013, 1014, 1015, 1016, 1100, 2000, 2999, 5000, 65535} {
		cases = append(cases, wireCase{name: "invalid_" + itoa(code), send: frames(closeFrame(code, "")), close: 1002})
	}
	runWire(t, addr, "", cases)

	// The server's own close: Close from another goroutine while Read
	// runs, and Close on the reading goroutine; the client answers.
	for _, word := range []string{"close-me", "close-now"} {
		t.Run("server_"+word, func(t *testing.T) {
			c, _ := dial(t, addr, "")
			c.send(text(word))
			c.expect(finBit|opClose, closePayload(nil, 4001, "bye now"))
			c.send(closeFrame(4001, ""))
			c.ExpectEOF()
		})
	}
	// A client that never answers the server's close is closed after
	// the close timeout.
	t.Run("server_close_unanswered", func(t *testing.T) {
		c, _ := dial(t, addr, "")
		c.send(text("close-me"))
		c.expect(finBit|opClose, closePayload(nil, 4001, "bye now"))
		c.ExpectEOF()
	})
	t.Run("server_close_then_data", func(t *testing.T) {
		c, _ := dial(t, addr, "")
		c.send(text("close-now"))
		c.expect(finBit|opClose, closePayload(nil, 4001, "bye now"))
		c.send(text("dropped"), closeFrame(1000, ""))
		c.ExpectEOF()
	})
}

func itoa(n int) string { return closeText(n, "") }

// TestLimits: Autobahn 9's point, a message past MaxMessage → 1009,
// whole or fragmented, before its bytes are read.
func TestLimits(t *testing.T) {
	addr := serve(t, echo(Options{MaxMessage: 1000}))
	at := strings.Repeat("m", 1000)
	runWire(t, addr, "", []wireCase{
		{name: "at_limit", send: frames(text(at)), want: []out{echoed(opText, at)}},
		{name: "over_limit", send: frames(text(at + "m")), close: 1009},
		{name: "fragmented_at_limit", send: frames(frame(opBinary, []byte(at[:600])), frame(finBit|opContinuation, []byte(at[600:]))), want: []out{echoed(opBinary, at)}},
		{name: "fragmented_over_limit", send: frames(frame(opBinary, []byte(at[:600])), frame(finBit|opContinuation, []byte(at[:401]))), close: 1009},
		{name: "claims_huge", send: frames(rawFrame(finBit|opBinary, true, 1<<62, nil)), close: 1009},
		{name: "length_msb_set", send: frames(rawFrame(finBit|opBinary, true, -1<<63, nil)), close: 1002},
		{name: "unmasked", send: frames(rawFrame(finBit|opText, false, 2, []byte("hi"))), close: 1002},
	})
}
