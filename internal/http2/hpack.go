// Package http2 is nave's HTTP/2 codec and server connection (RFC 9113,
// RFC 7541).
//
// A Conn serves one connection below the neutral exchange: each stream is
// a web.Request and a web.Stream, pooled whole, and the handler sees only
// web. Handlers run on the goroutine that reads the connection, so that a
// batch of requests is answered by one write; one about to wait hands the
// reading to a new goroutine first (conn.go). Frames are read and written
// by its own small codec (frame.go), which allocates nothing. It imports
// internal/web and the standard library, nothing of the server or the
// handlers.
//
// A ClientConn (client.go) is the other side, for the reverse proxy's
// upstreams that speak h2c: requests multiplexed on one connection with
// prior knowledge, flow-controlled both ways, on the same frames and
// HPACK codec. It allocates per request; the proxy's HTTP/1.1 path is
// the one kept allocation-free.
//
// The HPACK codec (hpack*.go) decodes a header block straight into the
// caller's storage and encodes one from it without allocating per field or
// per block once its buffers have grown: names and values stay byte slices,
// and the dynamic tables keep their entries in arenas they reuse. It uses the
// standard library only.
package http2

import (
	"errors"
	"fmt"
)

// ErrCompression reports a header block that is malformed or breaks the
// dynamic table rules (RFC 7541 §2.3.3, §4.2, §5, §6). Its detail errors wrap
// it; test with errors.Is. The connection answers with a connection error of
// type COMPRESSION_ERROR (RFC 9113 §4.3), since the two tables can no longer
// be trusted to agree.
var ErrCompression = errors.New("http2: compression error")

// Details of ErrCompression, each wrapping it.
var (
	errIndexZero         = fmt.Errorf("%w: index 0", ErrCompression)
	errIndexRange        = fmt.Errorf("%w: index past the tables", ErrCompression)
	errTruncated         = fmt.Errorf("%w: truncated field", ErrCompression)
	errIntegerTooLong    = fmt.Errorf("%w: integer too long", ErrCompression)
	errStringPastEnd     = fmt.Errorf("%w: string past the end of the block", ErrCompression)
	errHuffman           = fmt.Errorf("%w: invalid Huffman code", ErrCompression)
	errHuffmanEOS        = fmt.Errorf("%w: Huffman EOS in a string", ErrCompression)
	errSizeUpdateLate    = fmt.Errorf("%w: table size update after a field", ErrCompression)
	errSizeUpdateTooHigh = fmt.Errorf("%w: table size update above the advertised maximum", ErrCompression)
)

// DefaultTableSize is the dynamic table size both ends start with: the
// initial value of SETTINGS_HEADER_TABLE_SIZE (RFC 9113 §6.5.2).
const DefaultTableSize = 4096

// entryOverhead is added to the name and value lengths to make an entry's
// size (RFC 7541 §4.1).
const entryOverhead = 32

// staticTable is RFC 7541 Appendix A; HPACK index i is staticTable[i-1].
var staticTable = [...]struct{ name, value string }{
	{":authority", ""},
	{":method", "GET"},
	{":method", "POST"},
	{":path", "/"},
	{":path", "/index.html"},
	{":scheme", "http"},
	{":scheme", "https"},
	{":status", "200"},
	{":status", "204"},
	{":status", "206"},
	{":status", "304"},
	{":status", "400"},
	{":status", "404"},
	{":status", "500"},
	{"accept-charset", ""},
	{"accept-encoding", "gzip, deflate"},
	{"accept-language", ""},
	{"accept-ranges", ""},
	{"accept", ""},
	{"access-control-allow-origin", ""},
	{"age", ""},
	{"allow", ""},
	{"authorization", ""},
	{"cache-control", ""},
	{"content-disposition", ""},
	{"content-encoding", ""},
	{"content-language", ""},
	{"content-length", ""},
	{"content-location", ""},
	{"content-range", ""},
	{"content-type", ""},
	{"cookie", ""},
	{"date", ""},
	{"etag", ""},
	{"expect", ""},
	{"expires", ""},
	{"from", ""},
	{"host", ""},
	{"if-match", ""},
	{"if-modified-since", ""},
	{"if-none-match", ""},
	{"if-range", ""},
	{"if-unmodified-since", ""},
	{"last-modified", ""},
	{"link", ""},
	{"location", ""},
	{"max-forwards", ""},
	{"proxy-authenticate", ""},
	{"proxy-authorization", ""},
	{"range", ""},
	{"referer", ""},
	{"refresh", ""},
	{"retry-after", ""},
	{"server", ""},
	{"set-cookie", ""},
	{"strict-transport-security", ""},
	{"transfer-encoding", ""},
	{"user-agent", ""},
	{"vary", ""},
	{"via", ""},
	{"www-authenticate", ""},
}

// staticLen is len(staticTable), untyped for comparing with decoded indexes.
const staticLen = 61

// dynamicTable is one end's HPACK dynamic table (RFC 7541 §2.3.2, §4).
// Entry bytes live in one arena, oldest first, each entry's name followed by
// its value; evicting an entry only moves the start of the live region, and
// the live region is moved to the front of the arena (or to a larger one)
// when an entry does not fit after it. Once the arena and the entry slice
// have grown to about twice the table's maximum, adding costs no allocation,
// and copying stays amortised O(1) per byte added.
//
// The zero value is a table of maximum size 0.
type dynamicTable struct {
	buf   []byte  // arena; live entries are buf[ents[first].off:]
	ents  []entry // ents[first:] are the live entries, oldest first
	first int
	size  uint32 // RFC 7541 §4.1 size of the live entries
	max   uint32 // the maximum size; size <= max always holds
}

type entry struct{ off, nlen, vlen uint32 }

// reset empties t and sets its maximum, keeping its memory.
func (t *dynamicTable) reset(maxSize uint32) {
	t.buf, t.ents, t.first, t.size, t.max = t.buf[:0], t.ents[:0], 0, 0, maxSize
}

// len is the number of entries.
func (t *dynamicTable) len() int { return len(t.ents) - t.first }

// at returns entry i, 1 being the newest (RFC 7541 §2.3.3: dynamic index i is
// HPACK index staticLen+i). The slices alias the arena: they are valid until
// the next add and must not be written to.
func (t *dynamicTable) at(i int) (name, value []byte) {
	e := t.ents[len(t.ents)-i]
	n1, v1 := e.off+e.nlen, e.off+e.nlen+e.vlen
	return t.buf[e.off:n1:n1], t.buf[n1:v1:v1]
}

// setMax changes the maximum size, evicting the oldest entries to fit
// (RFC 7541 §4.3).
func (t *dynamicTable) setMax(maxSize uint32) {
	t.max = maxSize
	t.evict(0)
}

// evict drops the oldest entries until need more bytes fit (RFC 7541 §4.4).
func (t *dynamicTable) evict(need uint64) {
	for t.first < len(t.ents) && uint64(t.size)+need > uint64(t.max) {
		e := t.ents[t.first]
		t.size -= e.nlen + e.vlen + entryOverhead
		t.first++
	}
	if t.first == len(t.ents) {
		t.buf, t.ents, t.first = t.buf[:0], t.ents[:0], 0
	}
}

// add inserts a new entry (RFC 7541 §4.4); one larger than the maximum
// empties the table. name and value must not alias t's arena: a caller
// adding a name taken from this table copies it first, because the entry it
// came from may be evicted and its bytes moved.
func (t *dynamicTable) add(name, value []byte) {
	need := uint64(len(name)) + uint64(len(value)) + entryOverhead
	t.evict(need)
	if need > uint64(t.max) {
		return
	}
	n := len(name) + len(value)
	if len(t.buf)+n > cap(t.buf) || len(t.ents) == cap(t.ents) {
		t.compact(n)
	}
	off := len(t.buf)
	t.buf = append(t.buf, name...)
	t.buf = append(t.buf, value...)
	t.ents = append(t.ents, entry{uint32(off), uint32(len(name)), uint32(len(value))})
	t.size += uint32(need)
}

// compact moves the live entries to the front of the arena and of the entry
// slice, first growing either to twice what it must hold when the live part
// would fill more than half of it, so that n more bytes and one more entry
// fit without another move soon.
func (t *dynamicTable) compact(n int) {
	live := t.ents[t.first:]
	start := len(t.buf)
	if len(live) > 0 {
		start = int(live[0].off)
	}
	liveBytes := len(t.buf) - start
	buf := t.buf
	if 2*(liveBytes+n) > cap(buf) {
		buf = make([]byte, 0, 2*(liveBytes+n))
	}
	t.buf = buf[:copy(buf[:liveBytes], t.buf[start:])]

	ents := t.ents
	if 2*(len(live)+1) > cap(ents) {
		ents = make([]entry, 0, max(16, 2*(len(live)+1)))
	}
	ents = ents[:copy(ents[:len(live)], live)]
	for i := range ents {
		ents[i].off -= uint32(start)
	}
	t.ents, t.first = ents, 0
}
