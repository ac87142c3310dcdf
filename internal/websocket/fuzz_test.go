package websocket

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
	"unicode/utf8"
)

// memStream is a Conn's stream in memory: reads from r, writes kept.
type memStream struct {
	r   io.Reader
	out bytes.Buffer
}

func (m *memStream) Read(p []byte) (int, error)  { return m.r.Read(p) }
func (m *memStream) Write(p []byte) (int, error) { return m.out.Write(p) }
func (m *memStream) Close() error                { return nil }

// readAll reads messages from in until the read side ends, returning
// them and the final CloseError as one transcript.
func readAll(t *testing.T, in io.Reader, compressed bool) string {
	var d *deflate
	if compressed {
		d = newDeflate(offer{})
	}
	const limit = 1 << 16
	c := newConn(&memStream{r: in}, Options{MaxMessage: limit}, d)
	var log bytes.Buffer
	var buf []byte
	for {
		typ, msg, err := c.Read(buf)
		if err != nil {
			var ce *CloseError
			if !errors.As(err, &ce) {
				t.Fatalf("Read returned %T %v, want a *CloseError", err, err)
			}
			log.WriteString("end " + closeText(ce.Code, ce.Reason))
			return log.String()
		}
		if len(msg) > limit {
			t.Fatalf("a message of %d bytes past the %d limit", len(msg), limit)
		}
		if typ == Text && !utf8.Valid(msg) {
			t.Fatalf("invalid UTF-8 text message %q", msg)
		}
		log.WriteString(closeText(int(typ), string(msg)) + "\n")
		buf = msg
	}
}

// FuzzRead feeds the frame reader whole and byte by byte: it must not
// panic, must keep its limits and UTF-8, and must read the same messages
// both ways.
func FuzzRead(f *testing.F) {
	seeds := [][]byte{
		text("hello"),
		bytes.Join(frames(frame(opText, []byte("frag")), frame(finBit|opPing, []byte("p")), frame(finBit|opContinuation, []byte("ment"))), nil),
		bytes.Join(fragmentEach("κόσμε"), nil),
		text("\xed\xa0\x80"),
		closeFrame(1000, "bye"),
		frame(finBit|opClose, []byte{3}),
		rawFrame(finBit|opBinary, true, 1<<62, nil),
		rawFrame(finBit|opText, false, 2, []byte("hi")),
		frame(finBit|rsv1|opText, []byte{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}), // "Hello" deflated
		frame(finBit|rsv1|opBinary, []byte{0xff, 0xff}),
		frame(finBit|opBinary, bytes.Repeat([]byte{1}, 70000)),
	}
	for _, s := range seeds {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, in []byte, compressed bool) {
		whole := readAll(t, bytes.NewReader(in), compressed)
		bytewise := readAll(t, iotest.OneByteReader(bytes.NewReader(in)), compressed)
		if whole != bytewise {
			t.Fatalf("whole:\n%s\nbyte by byte:\n%s", whole, bytewise)
		}
	})
}

// TestUTF8Check agrees with unicode/utf8 on every split of some inputs.
func TestUTF8Check(t *testing.T) {
	for _, s := range []string{"", "abc", "κόσμε", "\U0010FFFF", "\xf4\x90\x80\x80", "\xed\xa0\x80", "a\xc0\xafb", "12345678901234567890\xe2\x82", "\xe2\x82\xac€€€€ascii ascii ascii ascii"} {
		want := utf8.ValidString(s)
		for i := 0; i <= len(s); i++ {
			var u utf8Check
			got := u.valid([]byte(s[:i])) && u.valid([]byte(s[i:])) && u.complete()
			if got != want {
				t.Errorf("%q split at %d: got %v, want %v", s, i, got, want)
			}
		}
	}
}
