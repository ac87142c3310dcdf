package static

import (
	"bytes"
	"compress/gzip"
	"io"
	"sync"

	"nave/internal/web"
)

// coding is a content coding (RFC 9110 §8.4.1). The order of the
// non-identity codings is the server's preference when a client rates
// several equally: the smallest output first.
type coding uint8

const (
	identity coding = iota
	br
	zstd
	gz
	numCodings
)

// codingNames are the tokens of Accept-Encoding and Content-Encoding;
// sidecarExts the suffixes of precompressed sidecar files.
var (
	codingNames = [numCodings]string{"identity", "br", "zstd", "gzip"}
	sidecarExts = [numCodings]string{"", ".br", ".zst", ".gz"}
)

// accepted is what an Accept-Encoding field allows: a quality from 0 to
// 1000 for each coding (identity is always acceptable and not tracked).
type accepted [numCodings]uint16

// any reports whether some coding other than identity is acceptable.
func (a *accepted) any() bool { return a[br]|a[zstd]|a[gz] != 0 }

// parseAcceptEncoding reads an Accept-Encoding field value (RFC 9110
// §12.5.3): codings with optional weights; "*" rates every coding not
// named; "x-gzip" is gzip. Malformed members are skipped.
func parseAcceptEncoding(v []byte) accepted {
	var a accepted
	var named [numCodings]bool
	star := -1
	for len(v) > 0 {
		var member []byte
		member, v = nextMember(v)
		tok, q, ok := splitWeight(member)
		if !ok {
			continue
		}
		c := numCodings
		switch {
		case asciiEqualFold(tok, "br"):
			c = br
		case asciiEqualFold(tok, "zstd"):
			c = zstd
		case asciiEqualFold(tok, "gzip"), asciiEqualFold(tok, "x-gzip"):
			c = gz
		case len(tok) == 1 && tok[0] == '*':
			star = int(q)
		}
		if c < numCodings {
			a[c], named[c] = q, true
		}
	}
	if star >= 0 {
		for c := br; c < numCodings; c++ {
			if !named[c] {
				a[c] = uint16(star)
			}
		}
	}
	return a
}

// nextMember splits the first member off a comma-separated list.
func nextMember(v []byte) (member, rest []byte) {
	if i := bytes.IndexByte(v, ','); i >= 0 {
		return web.TrimOWS(v[:i]), v[i+1:]
	}
	return web.TrimOWS(v), nil
}

// splitWeight splits "token;q=0.5" into the token and the weight in
// thousandths (RFC 9110 §12.4.2); no weight is 1000. ok is false for an
// empty token or a malformed weight.
func splitWeight(m []byte) (tok []byte, q uint16, ok bool) {
	q = 1000
	tok = m
	if i := bytes.IndexByte(m, ';'); i >= 0 {
		tok = web.TrimOWS(m[:i])
		params := m[i+1:]
		for len(params) > 0 {
			var p []byte
			if j := bytes.IndexByte(params, ';'); j >= 0 {
				p, params = web.TrimOWS(params[:j]), params[j+1:]
			} else {
				p, params = web.TrimOWS(params), nil
			}
			if len(p) >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=' {
				if q, ok = parseQValue(p[2:]); !ok {
					return nil, 0, false
				}
			}
		}
	}
	return tok, q, len(tok) > 0
}

// parseQValue parses a qvalue: "0", "1", "0.5", "1.000", up to three
// decimals.
func parseQValue(b []byte) (uint16, bool) {
	if len(b) == 0 || len(b) > 5 || b[0] != '0' && b[0] != '1' {
		return 0, false
	}
	q := uint16(b[0]-'0') * 1000
	if len(b) > 1 {
		if b[1] != '.' {
			return 0, false
		}
		scale := uint16(100)
		for _, c := range b[2:] {
			if c < '0' || c > '9' {
				return 0, false
			}
			q += uint16(c-'0') * scale
			scale /= 10
		}
	}
	if q > 1000 {
		return 0, false
	}
	return q, true
}

// asciiEqualFold reports whether b equals s, ignoring ASCII case.
func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		x, y := b[i], s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// gzipper compresses with pooled gzip writers: each holds about 800 KiB
// of compressor state, which would otherwise be allocated per compressed
// response (BenchmarkGzipStream).
type gzipper struct{ pool sync.Pool }

func (g *gzipper) get(w io.Writer) *gzip.Writer {
	if zw, ok := g.pool.Get().(*gzip.Writer); ok {
		zw.Reset(w)
		return zw
	}
	zw, _ := gzip.NewWriterLevel(w, gzip.DefaultCompression)
	return zw
}

// put returns zw to the pool, detached from its last destination.
func (g *gzipper) put(zw *gzip.Writer) {
	zw.Reset(io.Discard)
	g.pool.Put(zw)
}

// compress compresses b, for a small file's cached gzip variant. It
// returns nil when that saves less than an eighth.
func (g *gzipper) compress(b []byte) []byte {
	var out bytes.Buffer
	out.Grow(len(b) / 2)
	zw := g.get(&out)
	defer g.put(zw)
	zw.Write(b)
	if zw.Close() != nil || out.Len() > len(b)-len(b)/8 {
		return nil
	}
	return bytes.Clone(out.Bytes())
}

// stream compresses r into w as it is sent, for a large file under
// --gzip.
func (g *gzipper) stream(w io.Writer, r io.Reader) error {
	zw := g.get(w)
	defer g.put(zw)
	if _, err := io.Copy(zw, r); err != nil {
		return err
	}
	return zw.Close()
}
