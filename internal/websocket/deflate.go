package websocket

import (
	"compress/flate"
	"errors"
	"io"
	"math"
	"sync"
)

// windowSize is DEFLATE's largest window, which compress/flate always
// uses (RFC 7692 §7.1.2: 2^15 bytes).
const windowSize = 32 << 10

// minCompress is the smallest message nave compresses: below it, the
// deflate block costs about what it saves.
const minCompress = 64

// keepScratch bounds the compression buffers a Conn keeps between
// messages; larger ones are dropped after use, so that one large message
// does not make an idle connection heavy.
const keepScratch = 64 << 10

// deflateTail ends every compressed message before decompression: RFC
// 7692 §7.2.2's 0x00 0x00 0xff 0xff, which the sender removed, then an
// empty final stored block, so that the decompressor ends with io.EOF
// rather than waiting for more.
var deflateTail = [...]byte{0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff}

var errInflate = errors.New("websocket: invalid compressed data")

// compressors and decompressors are shared by every connection: a
// compress/flate Writer holds some 650 KiB of tables and a Reader some
// 40 KiB, which a connection needs only while it writes or reads a
// compressed message (nave keeps no compression context; the client's
// context is kept as a 32 KiB dictionary, see deflate.window).
var (
	compressors = sync.Pool{New: func() any {
		w, _ := flate.NewWriter(nil, flate.BestSpeed)
		return w
	}}
	decompressors = sync.Pool{New: func() any { return flate.NewReader(nil) }}
)

// deflate is one connection's permessage-deflate state (RFC 7692).
type deflate struct {
	// keepWindow: the client compresses with context takeover, so each
	// message may refer to the last 32 KiB of those before it: window
	// holds them.
	keepWindow bool
	window     []byte
	// maxCompress is the largest message nave compresses:
	// 2^server_max_window_bits, so that no back-reference reaches past
	// the window the client asked for (see the package comment).
	maxCompress int
	src         source
	out         sliceWriter
}

func newDeflate(o offer) *deflate {
	d := &deflate{keepWindow: !o.clientNoContext, maxCompress: math.MaxInt}
	if o.serverBits != 0 {
		d.maxCompress = 1 << o.serverBits
	}
	return d
}

// inflate appends the decompressed message z to dst, stopping with
// errTooBig once it passes limit: dst never grows past limit+1 bytes,
// whatever z claims.
func (d *deflate) inflate(dst, z []byte, limit int64) ([]byte, error) {
	fr := decompressors.Get().(io.ReadCloser)
	defer decompressors.Put(fr)
	d.src = source{data: z}
	var dict []byte
	if d.keepWindow {
		dict = d.window
	}
	if err := fr.(flate.Resetter).Reset(&d.src, dict); err != nil {
		return dst, errInflate
	}
	start := len(dst)
	for {
		if len(dst) == cap(dst) {
			if int64(len(dst)-start) > limit {
				return dst, errTooBig
			}
			dst = grow(dst, limit+1-int64(len(dst)-start))
		}
		n, err := fr.Read(dst[len(dst):cap(dst)])
		dst = dst[:len(dst)+n]
		if int64(len(dst)-start) > limit {
			return dst, errTooBig
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return dst, errInflate
		}
	}
	if d.keepWindow {
		d.remember(dst[start:])
	}
	return dst, nil
}

// remember keeps the last windowSize bytes of the stream received so far.
func (d *deflate) remember(msg []byte) {
	if d.window == nil {
		d.window = make([]byte, 0, windowSize)
	}
	if len(msg) >= windowSize {
		d.window = append(d.window[:0], msg[len(msg)-windowSize:]...)
		return
	}
	if over := len(d.window) + len(msg) - windowSize; over > 0 {
		d.window = d.window[:copy(d.window, d.window[over:])]
	}
	d.window = append(d.window, msg...)
}

// deflate compresses p, a whole message, without context (nave always
// answers server_no_context_takeover), into a reused buffer, with RFC
// 7692 §7.2.1's tail removed. The result is valid until the next call.
func (d *deflate) deflate(p []byte) []byte {
	fw := compressors.Get().(*flate.Writer)
	d.out.b = d.out.b[:0]
	fw.Reset(&d.out)
	fw.Write(p) // sliceWriter does not fail
	fw.Flush()
	compressors.Put(fw)
	b := d.out.b
	if n := len(b); n >= 4 && b[n-4] == 0 && b[n-3] == 0 && b[n-2] == 0xff && b[n-1] == 0xff {
		b = b[:n-4]
	}
	return b
}

// release drops a large output buffer after a message went out.
func (d *deflate) release() {
	if cap(d.out.b) > keepScratch {
		d.out.b = nil
	}
}

// source is a compressed message and then deflateTail, as an
// io.ByteReader, so that compress/flate reads it without a bufio.Reader
// of its own.
type source struct {
	data []byte
	tail int // bytes of deflateTail consumed
}

func (s *source) Read(p []byte) (int, error) {
	if len(s.data) > 0 {
		n := copy(p, s.data)
		s.data = s.data[n:]
		return n, nil
	}
	if s.tail == len(deflateTail) {
		return 0, io.EOF
	}
	n := copy(p, deflateTail[s.tail:])
	s.tail += n
	return n, nil
}

func (s *source) ReadByte() (byte, error) {
	if len(s.data) > 0 {
		c := s.data[0]
		s.data = s.data[1:]
		return c, nil
	}
	if s.tail == len(deflateTail) {
		return 0, io.EOF
	}
	c := deflateTail[s.tail]
	s.tail++
	return c, nil
}

// sliceWriter appends to b.
type sliceWriter struct{ b []byte }

func (w *sliceWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}
