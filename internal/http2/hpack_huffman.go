package http2

import "slices"

// The Huffman code of RFC 7541 §5.2 and Appendix B. It is canonical: sorted
// by length and then by symbol, each code is the previous one plus one,
// shifted left by the growth in length. So the lengths alone define it, and
// the code for each symbol and the decoding tables are derived from them
// when the package is initialised (huffmanTables is immutable from then on).

// huffmanCodeLen is the code length in bits of each byte (RFC 7541
// Appendix B); EOS, symbol 256, has 30 bits, all ones.
var huffmanCodeLen = [256]uint8{
	13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28,
	28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
	6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6,
	5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
	13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
	7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
	15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5,
	6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
	20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23,
	24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
	22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23,
	21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
	26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25,
	19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
	20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23,
	26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
}

const (
	huffmanEOS       = 256
	huffmanEOSLen    = 30
	huffmanMaxLen    = 30
	huffmanShortBits = 8 // codes this long or shorter decode with one lookup
)

type huffmanTables struct {
	code [256]uint32 // right-aligned code of each byte

	// short[b] is the symbol whose code of at most 8 bits is a prefix of
	// the byte b, with its length; len 0 when b starts a longer code.
	short [256]struct{ sym, len uint8 }

	// For codes longer than 8 bits (canonical decoding): the L-bit codes
	// are first[L], first[L]+1, ..., first[L]+count[L]-1, and stand for
	// symbols sorted[offset[L]], sorted[offset[L]+1], ...
	first  [huffmanMaxLen + 1]uint32
	count  [huffmanMaxLen + 1]uint32
	offset [huffmanMaxLen + 1]uint32
	sorted [257]uint16
}

var huffman = newHuffmanTables()

func newHuffmanTables() *huffmanTables {
	h := new(huffmanTables)
	length := func(sym int) int {
		if sym == huffmanEOS {
			return huffmanEOSLen
		}
		return int(huffmanCodeLen[sym])
	}
	var n int
	for l := 1; l <= huffmanMaxLen; l++ {
		for sym := 0; sym <= huffmanEOS; sym++ {
			if length(sym) == l {
				h.sorted[n] = uint16(sym)
				n++
			}
		}
	}
	code, prev := uint32(0), length(int(h.sorted[0]))
	for i, s := range h.sorted {
		l := length(int(s))
		code <<= l - prev
		prev = l
		if h.count[l] == 0 {
			h.first[l], h.offset[l] = code, uint32(i)
		}
		h.count[l]++
		if s != huffmanEOS {
			h.code[s] = code
		}
		if l <= huffmanShortBits {
			shift := huffmanShortBits - l
			for b := code << shift; b < (code+1)<<shift; b++ {
				h.short[b].sym, h.short[b].len = uint8(s), uint8(l)
			}
		}
		code++
	}
	return h
}

// huffmanDecode appends the decoding of src to dst (RFC 7541 §5.2). A string
// holding EOS, or ending in more than 7 bits of padding or in padding that is
// not all ones, is an error.
func huffmanDecode(dst, src []byte) ([]byte, error) {
	dst = slices.Grow(dst, len(src)*8/5+1) // the shortest code has 5 bits
	var acc uint64                         // low n bits are the undecoded input
	var n uint
	i := 0
	for {
		for n <= 56 && i < len(src) {
			acc = acc<<8 | uint64(src[i])
			n += 8
			i++
		}
		if n == 0 {
			return dst, nil
		}
		var peek uint64
		if n >= huffmanShortBits {
			peek = acc >> (n - huffmanShortBits) & 0xff
		} else {
			peek = (acc<<(huffmanShortBits-n) | 0xff>>n) & 0xff
		}
		if s := huffman.short[peek]; s.len != 0 {
			if uint(s.len) > n {
				break
			}
			dst = append(dst, s.sym)
			n -= uint(s.len)
			continue
		}
		sym, l := huffman.decodeLong(acc, n)
		if l == 0 {
			break
		}
		if sym == huffmanEOS {
			return dst, errHuffmanEOS
		}
		dst = append(dst, byte(sym))
		n -= l
	}
	if mask := uint64(1)<<n - 1; n > 7 || acc&mask != mask {
		return dst, errHuffman
	}
	return dst, nil
}

// decodeLong decodes the code longer than 8 bits at the top of the low n
// bits of acc. It returns l == 0 when n bits hold no whole code.
func (h *huffmanTables) decodeLong(acc uint64, n uint) (sym uint16, l uint) {
	for l = huffmanShortBits + 1; l <= huffmanMaxLen && l <= n; l++ {
		c := uint32(acc>>(n-l)) & (1<<l - 1)
		if k := c - h.first[l]; k < h.count[l] {
			return h.sorted[h.offset[l]+k], l
		}
	}
	return 0, 0
}

// huffmanLen is the length of the Huffman encoding of s.
func huffmanLen(s []byte) int {
	bits := 0
	for _, c := range s {
		bits += int(huffmanCodeLen[c])
	}
	return (bits + 7) / 8
}

// appendHuffman appends the Huffman encoding of s, padded with the most
// significant bits of EOS (all ones).
func appendHuffman(dst, s []byte) []byte {
	var acc uint64 // low n bits are pending output, n < 8 between bytes
	var n uint
	for _, c := range s {
		l := uint(huffmanCodeLen[c])
		acc = acc<<l | uint64(huffman.code[c])
		n += l
		for n >= 8 {
			n -= 8
			dst = append(dst, byte(acc>>n))
		}
	}
	if n > 0 {
		dst = append(dst, byte(acc<<(8-n))|0xff>>n)
	}
	return dst
}
