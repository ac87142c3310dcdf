package http2

import (
	"encoding/binary"

	"nave/internal/web"
)

// headMemo remembers a connection's last response header block whose
// encoding left the HPACK encoder as it was (every field already in a
// table), with what it was encoded from. A connection that carries the
// same response again (a proxy or CDN in front asking for a popular asset
// for its clients, or a load test) then sends the same bytes without
// encoding them again: valid while the encoder's gen has not moved, since
// the same fields against the same tables encode the same way.
//
// The key is the status, the content length, the date and the handler's
// fields, each name and value with its length. A response that differs
// is found out at its first difference, without copying anything; a key
// is written only for a block worth remembering.
type headMemo struct {
	ok    bool
	gen   uint64 // the encoder's gen when block was encoded
	key   []byte
	block []byte
}

// appendKey appends the key of a response head with hd's first n fields.
func appendKey(k []byte, status int, length int64, date []byte, hd *web.Header, n int) []byte {
	k = binary.LittleEndian.AppendUint16(k, uint16(status))
	k = binary.LittleEndian.AppendUint64(k, uint64(length))
	k = appendChunk(k, date)
	for i := range n {
		name, value := hd.At(i)
		k = appendChunk(appendChunk(k, name), value)
	}
	return k
}

func appendChunk(k, p []byte) []byte {
	return append(binary.LittleEndian.AppendUint32(k, uint32(len(p))), p...)
}

// lookup returns the remembered block if the head (status, length, date,
// hd's first n fields) is the one it was encoded from and the encoder at
// gen still encodes it so; nil otherwise.
func (m *headMemo) lookup(gen uint64, status int, length int64, date []byte, hd *web.Header, n int) []byte {
	if !m.ok || m.gen != gen {
		return nil
	}
	k := m.key
	if len(k) < 10 || binary.LittleEndian.Uint16(k) != uint16(status) || binary.LittleEndian.Uint64(k[2:]) != uint64(length) {
		return nil
	}
	k, ok := matchChunk(k[10:], date)
	for i := 0; ok && i < n; i++ {
		name, value := hd.At(i)
		if k, ok = matchChunk(k, name); ok {
			k, ok = matchChunk(k, value)
		}
	}
	if !ok || len(k) != 0 {
		return nil
	}
	return m.block
}

// matchChunk reports whether k starts with p's chunk, and returns the rest.
func matchChunk(k, p []byte) ([]byte, bool) {
	if len(k) < 4+len(p) || binary.LittleEndian.Uint32(k) != uint32(len(p)) || string(k[4:4+len(p)]) != string(p) {
		return nil, false
	}
	return k[4+len(p):], true
}

// remember keeps block, encoded at gen from the head given (hd's first n
// fields).
func (m *headMemo) remember(gen uint64, status int, length int64, date []byte, hd *web.Header, n int, block []byte) {
	m.ok, m.gen = true, gen
	m.key = appendKey(m.key[:0], status, length, date, hd, n)
	m.block = append(m.block[:0], block...)
}
