package http2

import (
	"bytes"
	"slices"
)

// Encoder encodes the header blocks of one connection (RFC 7541 §3) against
// its dynamic table. The zero value must be Init'ed before use.
//
// Encoding policy:
//   - :status 200, 204, 206, 304, 400, 404 and 500 are indexed from the
//     static table (1 byte); other codes go as any other field.
//   - A field whose name and value are in the dynamic table is sent
//     indexed (1-2 bytes).
//   - Otherwise a literal, naming the field by index when the name is in
//     the static table, else when it is in the dynamic table:
//   - never indexed (RFC 7541 §6.2.3, §7.1.3) for set-cookie, cookie,
//     authorization and proxy-authorization, so that no intermediary
//     stores credentials in a table, where a guessing attack (CRIME) could
//     probe them;
//   - without indexing for fields whose values rarely repeat on one
//     connection (content-length, content-range, location, x-request-id,
//     and a request id under any name, which the caller sends with
//     AppendUnindexed), for values longer than maxIndexedValue, and for
//     entries larger than the whole table: indexing them would only evict
//     entries that do repeat;
//   - with incremental indexing for the rest, such as content-type, server,
//     cache-control, date (which repeats within a second), and etag and
//     last-modified (a file asked for again on the connection, as a page's
//     assets are on every navigation, costs a byte for each).
//   - Each string is Huffman coded when that is shorter.
//
// The dynamic table is searched linearly, newest first, comparing lengths
// before bytes. Measured (BenchmarkEncodeResponse/nave_full_table): 60 more
// entries cost about 12 ns per field, less than hashing a typical name and
// value would, so a hash index would not pay for itself at these sizes (at
// most DefaultTableSize/32 = 128 entries).
type Encoder struct {
	table dynamicTable

	// pending is set when the next block must start with size updates: to
	// minSize, the smallest size set since the last block, if that is
	// below table.max, and then to table.max (RFC 7541 §4.2).
	pending bool
	minSize uint32

	lower []byte // the lowercased name of the field being encoded

	// gen counts the changes to what the encoder would write for a given
	// field list: table insertions and size changes. A block encoded
	// without changing it encodes to the same bytes while it stays.
	gen uint64
}

// maxIndexedValue is the longest value the encoder adds to the table.
const maxIndexedValue = 256

// Representations of a literal field (RFC 7541 §6.2): the first byte's
// pattern and the length of the name index prefix.
const (
	litIndexed      = 0x40 // §6.2.1, 6-bit prefix
	litNotIndexed   = 0x00 // §6.2.2, 4-bit prefix
	litNeverIndexed = 0x10 // §6.2.3, 4-bit prefix
)

// Init (re)sets the encoder for a new connection, with the default 4096-byte
// table the peer starts with.
func (e *Encoder) Init() {
	e.table.reset(DefaultTableSize)
	e.pending, e.minSize = false, 0
	e.lower = e.lower[:0]
}

// SetMaxTableSize applies the peer's SETTINGS_HEADER_TABLE_SIZE. The encoder
// uses min(n, 4096) and emits the dynamic table size update the next block
// must start with (RFC 7541 §4.2) if its size changed.
func (e *Encoder) SetMaxTableSize(n uint32) {
	n = min(n, DefaultTableSize)
	if n == e.table.max {
		return
	}
	if !e.pending || n < e.minSize {
		e.minSize = n
	}
	e.pending = true
	e.table.setMax(n)
	e.gen++
}

// AppendStatus begins a header block: it appends any pending table size update
// and then :status. code is 100..999; any other code panics.
func (e *Encoder) AppendStatus(dst []byte, code int) []byte {
	if code < 100 || code > 999 {
		panic("http2: status code out of range")
	}
	dst = e.BeginBlock(dst)
	switch code {
	case 200:
		return append(dst, 0x80|8)
	case 204:
		return append(dst, 0x80|9)
	case 206:
		return append(dst, 0x80|10)
	case 304:
		return append(dst, 0x80|11)
	case 400:
		return append(dst, 0x80|12)
	case 404:
		return append(dst, 0x80|13)
	case 500:
		return append(dst, 0x80|14)
	}
	v := [3]byte{byte('0' + code/100), byte('0' + code/10%10), byte('0' + code%10)}
	e.lower = append(e.lower[:0], ":status"...)
	return e.appendField(dst, e.lower, v[:])
}

// BeginBlock appends any pending table size update, for a block that does not
// start with :status (trailers).
func (e *Encoder) BeginBlock(dst []byte) []byte {
	if !e.pending {
		return dst
	}
	if e.minSize < e.table.max {
		dst = appendInt(dst, 0x20, 5, uint64(e.minSize))
	}
	e.pending = false
	e.gen++
	return appendInt(dst, 0x20, 5, uint64(e.table.max))
}

// AppendField appends one field. name is in any case; HTTP/2 requires
// lowercase, so the encoder lowercases it as it writes (web.Header keeps the
// case a handler set, like "Content-Type"). The caller has validated both.
func (e *Encoder) AppendField(dst []byte, name, value []byte) []byte {
	e.lower = appendLower(e.lower[:0], name)
	return e.appendField(dst, e.lower, value)
}

// AppendUnindexed appends one field as AppendField does, but never adds
// it to the dynamic table (a credential's name still goes never-indexed):
// for a value that differs on every block whatever its name, such as a
// request id under a name of the operator's choosing, which indexed
// would only evict entries that repeat.
func (e *Encoder) AppendUnindexed(dst []byte, name, value []byte) []byte {
	e.lower = appendLower(e.lower[:0], name)
	nameIdx, class := staticName(e.lower)
	rep := byte(litNotIndexed)
	if class == classNever {
		rep = litNeverIndexed
	}
	return e.appendAs(dst, nameIdx, e.lower, value, rep)
}

// appendField appends a field whose name is lowercase and does not alias
// the dynamic table.
func (e *Encoder) appendField(dst, name, value []byte) []byte {
	nameIdx, class := staticName(name)
	return e.appendAs(dst, nameIdx, name, value, e.representation(class, name, value))
}

// appendAs appends a field, nameIdx its name's static index (0: none), as
// the literal rep unless a table holds the whole field and rep allows
// naming it by index.
func (e *Encoder) appendAs(dst []byte, nameIdx int, name, value []byte, rep byte) []byte {
	if rep != litNeverIndexed {
		// A never-indexed field is sent as such even when its value is
		// in a table, so that the peer knows to keep it out of its own.
		if full := staticFull(nameIdx, name, value); full != 0 {
			return appendInt(dst, 0x80, 7, uint64(full))
		}
	}
	dynFull, dynName := e.table.search(name, value)
	if dynFull != 0 && rep != litNeverIndexed {
		return appendInt(dst, 0x80, 7, uint64(staticLen+dynFull))
	}
	if nameIdx == 0 && dynName != 0 {
		nameIdx = staticLen + dynName
	}
	prefix := uint8(4)
	if rep == litIndexed {
		prefix = 6
	}
	dst = appendInt(dst, rep, prefix, uint64(nameIdx))
	if nameIdx == 0 {
		dst = appendString(dst, name)
	}
	dst = appendString(dst, value)
	if rep == litIndexed {
		e.table.add(name, value)
		e.gen++
	}
	return dst
}

// Classes of field names for the encoding policy documented on Encoder.
const (
	classIndexed    = iota // added to the table unless too large
	classNotIndexed        // values that rarely repeat on a connection
	classNever             // credentials
)

// representation chooses the literal representation of a field of class
// class by the policy documented on Encoder.
func (e *Encoder) representation(class int, name, value []byte) byte {
	switch class {
	case classNever:
		return litNeverIndexed
	case classNotIndexed:
		return litNotIndexed
	}
	if len(value) > maxIndexedValue || len(name)+len(value)+entryOverhead > int(e.table.max) {
		return litNotIndexed
	}
	return litIndexed
}

// search returns the index of the newest entry holding name and value, and
// of the newest holding name; 0 for none.
func (t *dynamicTable) search(name, value []byte) (full, nameOnly int) {
	for i := len(t.ents) - 1; i >= t.first; i-- {
		en := t.ents[i]
		if int(en.nlen) != len(name) || !bytes.Equal(t.buf[en.off:en.off+en.nlen], name) {
			continue
		}
		idx := len(t.ents) - i
		v0 := en.off + en.nlen
		if int(en.vlen) == len(value) && bytes.Equal(t.buf[v0:v0+en.vlen], value) {
			return idx, idx
		}
		if nameOnly == 0 {
			nameOnly = idx
		}
	}
	return 0, nameOnly
}

// staticFull returns the static index of the entry holding name and
// value, given idx, the first entry named name (0: none); 0 if none does.
func staticFull(idx int, name, value []byte) int {
	if idx == 0 {
		return 0
	}
	for i := idx; i <= staticLen && staticTable[i-1].name == string(name); i++ {
		if staticTable[i-1].value == string(value) {
			return i
		}
	}
	return 0
}

// staticIndex is the static index of the first entry named name, or 0.
func staticIndex(name []byte) int {
	idx, _ := staticName(name)
	return idx
}

// staticName is the static index of the first entry named name (0 if
// none), and the name's class in the encoding policy: one switch for both.
func staticName(name []byte) (idx, class int) {
	switch string(name) {
	case ":authority":
		return 1, classIndexed
	case ":method":
		return 2, classIndexed
	case ":path":
		return 4, classIndexed
	case ":scheme":
		return 6, classIndexed
	case ":status":
		return 8, classIndexed
	case "accept-charset":
		return 15, classIndexed
	case "accept-encoding":
		return 16, classIndexed
	case "accept-language":
		return 17, classIndexed
	case "accept-ranges":
		return 18, classIndexed
	case "accept":
		return 19, classIndexed
	case "access-control-allow-origin":
		return 20, classIndexed
	case "age":
		return 21, classIndexed
	case "allow":
		return 22, classIndexed
	case "authorization":
		return 23, classNever
	case "cache-control":
		return 24, classIndexed
	case "content-disposition":
		return 25, classIndexed
	case "content-encoding":
		return 26, classIndexed
	case "content-language":
		return 27, classIndexed
	case "content-length":
		return 28, classNotIndexed
	case "content-location":
		return 29, classIndexed
	case "content-range":
		return 30, classNotIndexed
	case "content-type":
		return 31, classIndexed
	case "cookie":
		return 32, classNever
	case "date":
		return 33, classIndexed
	case "etag":
		return 34, classIndexed
	case "expect":
		return 35, classIndexed
	case "expires":
		return 36, classIndexed
	case "from":
		return 37, classIndexed
	case "host":
		return 38, classIndexed
	case "if-match":
		return 39, classIndexed
	case "if-modified-since":
		return 40, classIndexed
	case "if-none-match":
		return 41, classIndexed
	case "if-range":
		return 42, classIndexed
	case "if-unmodified-since":
		return 43, classIndexed
	case "last-modified":
		return 44, classIndexed
	case "link":
		return 45, classIndexed
	case "location":
		return 46, classNotIndexed
	case "max-forwards":
		return 47, classIndexed
	case "proxy-authenticate":
		return 48, classIndexed
	case "proxy-authorization":
		return 49, classNever
	case "range":
		return 50, classIndexed
	case "referer":
		return 51, classIndexed
	case "refresh":
		return 52, classIndexed
	case "retry-after":
		return 53, classIndexed
	case "server":
		return 54, classIndexed
	case "set-cookie":
		return 55, classNever
	case "strict-transport-security":
		return 56, classIndexed
	case "transfer-encoding":
		return 57, classIndexed
	case "user-agent":
		return 58, classIndexed
	case "vary":
		return 59, classIndexed
	case "via":
		return 60, classIndexed
	case "www-authenticate":
		return 61, classIndexed
	case "x-request-id":
		// A new value on every response: indexed, each would evict an
		// entry that repeats and churn the table.
		return 0, classNotIndexed
	}
	return 0, classIndexed
}

// appendInt appends the integer v with an n-bit prefix (RFC 7541 §5.1);
// flags fills the first byte's bits above the prefix.
func appendInt(dst []byte, flags byte, n uint8, v uint64) []byte {
	limit := uint64(1)<<n - 1
	if v < limit {
		return append(dst, flags|byte(v))
	}
	dst = append(dst, flags|byte(limit))
	for v -= limit; v >= 0x80; v >>= 7 {
		dst = append(dst, byte(v)|0x80)
	}
	return append(dst, byte(v))
}

// appendString appends a string literal (RFC 7541 §5.2), Huffman coded when
// that is shorter.
func appendString(dst, s []byte) []byte {
	if n := huffmanLen(s); n < len(s) {
		dst = appendInt(dst, 0x80, 7, uint64(n))
		return appendHuffman(dst, s)
	}
	dst = appendInt(dst, 0, 7, uint64(len(s)))
	return append(dst, s...)
}

// appendLower appends s with ASCII letters lowercased.
func appendLower(dst, s []byte) []byte {
	n := len(dst)
	dst = slices.Grow(dst, len(s))[:n+len(s)]
	for i, c := range s {
		if c-'A' < 26 {
			c += 'a' - 'A'
		}
		dst[n+i] = c
	}
	return dst
}
