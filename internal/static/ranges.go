package static

import (
	"strconv"

	"nave/internal/web"
)

// maxRanges is the most ranges one request may ask for; a Range field
// with more is ignored and the whole representation sent (RFC 9110 §14.2
// lets a server ignore a range set that looks like an attack).
const maxRanges = 32

// byteRange is the byte span [start, start+length).
type byteRange struct{ start, length int64 }

// Outcomes of parseRange.
const (
	rangeIgnore        = iota // send 200 and the whole representation
	rangeOK                   // send 206 with the ranges
	rangeUnsatisfiable        // send 416
)

// parseRange reads a Range field value for a representation of size
// bytes (RFC 9110 §14.1.2), appending the satisfiable ranges to out. A
// unit other than "bytes", a syntax error, more than maxRanges ranges, or
// ranges adding up to more than size (overlaps, used to amplify a
// response) make it rangeIgnore; no satisfiable range at all makes it
// rangeUnsatisfiable. Ranges are kept in the order asked.
func parseRange(v []byte, size int64, out []byteRange) ([]byteRange, int) {
	v = web.TrimOWS(v)
	if len(v) < 6 || !asciiEqualFold(v[:6], "bytes=") {
		return out, rangeIgnore
	}
	v = v[6:]
	var total int64
	specs := 0
	for len(v) > 0 {
		var spec []byte
		spec, v = nextMember(v)
		if len(spec) == 0 {
			continue // empty list elements are allowed (RFC 9110 §5.6.1)
		}
		if specs++; specs > maxRanges {
			return out, rangeIgnore
		}
		r, satisfiable, ok := parseSpec(spec, size)
		if !ok {
			return out, rangeIgnore
		}
		if !satisfiable {
			continue
		}
		if total += r.length; total > size {
			return out, rangeIgnore
		}
		out = append(out, r)
	}
	switch {
	case specs == 0:
		return out, rangeIgnore
	case len(out) == 0:
		return out, rangeUnsatisfiable
	}
	return out, rangeOK
}

// parseSpec parses one range-spec: "first-last", "first-" or "-suffix".
// ok is false for a syntax error; satisfiable is false for a range that
// selects nothing of size bytes, or whose last precedes its first (RFC
// 9110 §14.1.1 calls it invalid; a set of only such ranges gets 416).
func parseSpec(spec []byte, size int64) (r byteRange, satisfiable, ok bool) {
	dash := -1
	for i, c := range spec {
		if c == '-' {
			dash = i
			break
		}
	}
	if dash < 0 {
		return r, false, false
	}
	first, last := web.TrimOWS(spec[:dash]), web.TrimOWS(spec[dash+1:])
	if len(first) == 0 {
		n, ok := web.ParseLength(last)
		if !ok {
			return r, false, false
		}
		if n == 0 || size == 0 {
			return r, false, true
		}
		n = min(n, size)
		return byteRange{size - n, n}, true, true
	}
	start, ok := web.ParseLength(first)
	if !ok {
		return r, false, false
	}
	end := size - 1
	if len(last) > 0 {
		e, ok := web.ParseLength(last)
		if !ok {
			return r, false, false
		}
		if e < start {
			return r, false, true
		}
		end = min(e, size-1)
	}
	if start >= size {
		return r, false, true
	}
	return byteRange{start, end - start + 1}, true, true
}

// appendContentRange appends "bytes first-last/size" (RFC 9110 §14.4).
func appendContentRange(b []byte, r byteRange, size int64) []byte {
	b = append(b, "bytes "...)
	b = strconv.AppendInt(b, r.start, 10)
	b = append(b, '-')
	b = strconv.AppendInt(b, r.start+r.length-1, 10)
	b = append(b, '/')
	return strconv.AppendInt(b, size, 10)
}

// appendPartHead appends the delimiter and header of one part of a
// multipart/byteranges body (RFC 9110 §14.6), laid out as Go's
// mime/multipart writes it: no CRLF before the first delimiter.
func appendPartHead(b []byte, first bool, boundary, ctype string, r byteRange, size int64) []byte {
	if !first {
		b = append(b, "\r\n"...)
	}
	b = append(b, "--"...)
	b = append(b, boundary...)
	b = append(b, "\r\nContent-Type: "...)
	b = append(b, ctype...)
	b = append(b, "\r\nContent-Range: "...)
	b = appendContentRange(b, r, size)
	return append(b, "\r\n\r\n"...)
}

// appendClosing appends the close-delimiter of a multipart body.
func appendClosing(b []byte, boundary string) []byte {
	b = append(b, "\r\n--"...)
	b = append(b, boundary...)
	return append(b, "--\r\n"...)
}

// multipartLength is the exact length of the multipart/byteranges body
// for ranges, so that it can be sent with a Content-Length.
func multipartLength(ranges []byteRange, boundary, ctype string, size int64) int64 {
	var scratch [256]byte
	var n int64
	for i, r := range ranges {
		n += int64(len(appendPartHead(scratch[:0], i == 0, boundary, ctype, r, size))) + r.length
	}
	return n + int64(len(appendClosing(scratch[:0], boundary)))
}
