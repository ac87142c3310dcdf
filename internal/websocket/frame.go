package websocket

import "encoding/binary"

// Opcodes (RFC 6455 §5.2, §11.8).
const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xA
)

// The first byte's flags, and the mask bit of the second.
const (
	finBit  = 0x80
	rsv1    = 0x40 // RFC 7692 §6: "Per-Message Compressed", on a message's first frame
	rsv2    = 0x20
	rsv3    = 0x10
	maskBit = 0x80
)

// maxControl is the largest control frame payload (RFC 6455 §5.5).
const maxControl = 125

// maxHeader is the longest frame header: 2 bytes, 8 of length, 4 of key.
const maxHeader = 14

// header is a frame header as received.
type header struct {
	fin    bool
	rsv    byte // rsv1|rsv2|rsv3 as in the first byte
	op     byte
	masked bool
	length int64
	key    [4]byte
}

// headerSize is the size of the header that begins with b0, b1.
func headerSize(b1 byte) int {
	n := 2
	switch b1 & 0x7f {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	if b1&maskBit != 0 {
		n += 4
	}
	return n
}

// parseHeader reads a header from b, which holds headerSize(b[1]) bytes.
// It reports false for a 64-bit length with the most significant bit set
// (RFC 6455 §5.2).
func parseHeader(b []byte) (header, bool) {
	h := header{fin: b[0]&finBit != 0, rsv: b[0] & (rsv1 | rsv2 | rsv3), op: b[0] & 0x0f, masked: b[1]&maskBit != 0}
	n := 2
	switch l := b[1] & 0x7f; l {
	case 126:
		h.length = int64(binary.BigEndian.Uint16(b[2:]))
		n += 2
	case 127:
		u := binary.BigEndian.Uint64(b[2:])
		if u>>63 != 0 {
			return h, false
		}
		h.length = int64(u)
		n += 8
	default:
		h.length = int64(l)
	}
	if h.masked {
		copy(h.key[:], b[n:n+4])
	}
	return h, true
}

// appendHeader appends an unmasked frame header (a server's, RFC 6455
// §5.1) with first byte b0 and the shortest length form (§5.2).
func appendHeader(b []byte, b0 byte, n int) []byte {
	switch {
	case n <= 125:
		return append(b, b0, byte(n))
	case n <= 0xffff:
		return append(b, b0, 126, byte(n>>8), byte(n))
	}
	b = append(b, b0, 127)
	return binary.BigEndian.AppendUint64(b, uint64(n))
}

// mask XORs b with key (RFC 6455 §5.3), b's first byte being at offset
// pos of the payload, and returns the offset after b.
func mask(key [4]byte, pos int, b []byte) int {
	end := pos + len(b)
	if len(b) >= 16 {
		var k [4]byte
		for i := range k {
			k[i] = key[(pos+i)&3]
		}
		k32 := uint64(binary.LittleEndian.Uint32(k[:]))
		k64 := k32 | k32<<32
		for len(b) >= 8 {
			binary.LittleEndian.PutUint64(b, binary.LittleEndian.Uint64(b)^k64)
			b = b[8:]
			pos += 8
		}
	}
	for i := range b {
		b[i] ^= key[(pos+i)&3]
	}
	return end
}

// grow makes room for more bytes after len(b): at least one, at most
// limit more in all, doubling the capacity as it goes, so that a frame
// that claims a large length costs memory only as its bytes arrive.
func grow(b []byte, limit int64) []byte {
	if cap(b) > len(b) {
		return b
	}
	n := int64(max(cap(b), 4<<10))
	if n > limit {
		n = limit
	}
	nb := make([]byte, len(b), len(b)+int(n))
	copy(nb, b)
	return nb
}

// utf8Check validates UTF-8 incrementally (RFC 3629 §4, as
// unicode/utf8.Valid), so that a text message split across frames, or a
// frame still arriving, fails at its first invalid byte (RFC 6455 §8.1).
type utf8Check struct {
	need   uint8 // continuation bytes still expected
	lo, hi byte  // the range of the next continuation byte
}

// valid feeds b and reports whether it continues a valid sequence.
func (u *utf8Check) valid(b []byte) bool {
	for i := 0; i < len(b); {
		c := b[i]
		i++
		if u.need > 0 {
			if c < u.lo || c > u.hi {
				return false
			}
			u.need--
			u.lo, u.hi = 0x80, 0xbf
			continue
		}
		if c < 0x80 {
			for i+8 <= len(b) && binary.LittleEndian.Uint64(b[i:])&0x8080808080808080 == 0 {
				i += 8
			}
			continue
		}
		u.lo, u.hi = 0x80, 0xbf
		switch {
		case c >= 0xc2 && c <= 0xdf:
			u.need = 1
		case c == 0xe0:
			u.need, u.lo = 2, 0xa0 // no overlong forms
		case c == 0xed:
			u.need, u.hi = 2, 0x9f // no surrogates
		case c >= 0xe1 && c <= 0xef:
			u.need = 2
		case c == 0xf0:
			u.need, u.lo = 3, 0x90
		case c >= 0xf1 && c <= 0xf3:
			u.need = 3
		case c == 0xf4:
			u.need, u.hi = 3, 0x8f // nothing past U+10FFFF
		default:
			return false
		}
	}
	return true
}

// complete reports whether no sequence is cut short.
func (u *utf8Check) complete() bool { return u.need == 0 }
