package websocket

import (
	"testing"
)

// loopReader returns the bytes of one frame over and over, as a client
// sending the same message forever would.
type loopReader struct {
	f   []byte
	off int
}

func (l *loopReader) Read(p []byte) (int, error) {
	n := copy(p, l.f[l.off:])
	l.off = (l.off + n) % len(l.f)
	return n, nil
}

type discard struct{ loopReader }

func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) Close() error                { return nil }

func echoConn(size int) *Conn {
	p := make([]byte, size)
	for i := range p {
		p[i] = 'a' + byte(i%26)
	}
	return newConn(&discard{loopReader{f: frame(finBit|opText, p)}}, Options{}, nil)
}

// TestEchoAllocs: reading and writing an uncompressed message allocates
// nothing once the caller's buffer has grown.
func TestEchoAllocs(t *testing.T) {
	for _, size := range []int{10, 1000, 64 << 10, 1 << 20} {
		c := echoConn(size)
		var buf []byte
		allocs := testing.AllocsPerRun(100, func() {
			t, msg, err := c.Read(buf)
			if err != nil {
				panic(err)
			}
			buf = msg
			c.Write(t, msg)
		})
		if allocs != 0 {
			t.Errorf("%d-byte echo: %v allocations per message, want 0", size, allocs)
		}
	}
}

func BenchmarkEcho(b *testing.B) {
	for _, size := range []int{16, 4 << 10, 1 << 20} {
		b.Run(closeText(size, ""), func(b *testing.B) {
			c := echoConn(size)
			var buf []byte
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				t, msg, _ := c.Read(buf)
				buf = msg
				c.Write(t, msg)
			}
		})
	}
}
