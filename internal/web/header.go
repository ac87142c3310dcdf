package web

import (
	"fmt"
	"iter"
)

// Header is an ordered list of header fields. Names keep the case they were
// received or set with; lookups ignore ASCII case; repeated fields are kept
// in order. Field bytes live in one arena, so a Header costs no allocation
// per field once its backing arrays have grown.
//
// The zero value is an empty Header ready to use. Slices returned by its
// methods are valid until the Header is next modified or Reset.
type Header struct {
	arena  []byte
	fields []field
}

// field holds offsets into Header.arena: name arena[n0:n1], value arena[v0:v1].
type field struct{ n0, n1, v0, v1 int32 }

// Reset empties h, keeping its capacity.
func (h *Header) Reset() {
	h.arena = h.arena[:0]
	h.fields = h.fields[:0]
}

// Truncate drops every field from the n-th on, keeping the first n (those
// set before some point, as a gateway drops its app's fields to answer
// with an error of its own).
func (h *Header) Truncate(n int) {
	if n < len(h.fields) {
		h.fields = h.fields[:n]
	}
}

// Len is the number of fields.
func (h *Header) Len() int { return len(h.fields) }

// At returns field i, in the order received or added.
func (h *Header) At(i int) (name, value []byte) {
	f := h.fields[i]
	return h.arena[f.n0:f.n1:f.n1], h.arena[f.v0:f.v1:f.v1]
}

// All yields every field in order.
func (h *Header) All() iter.Seq2[[]byte, []byte] {
	return func(yield func([]byte, []byte) bool) {
		for i := range h.fields {
			if !yield(h.At(i)) {
				return
			}
		}
	}
}

// Get returns the value of the first field named name, or nil.
func (h *Header) Get(name string) []byte {
	if i := h.index(name, 0); i >= 0 {
		_, v := h.At(i)
		return v
	}
	return nil
}

// Has reports whether a field named name is present.
func (h *Header) Has(name string) bool { return h.index(name, 0) >= 0 }

// Values yields the value of every field named name, in order.
func (h *Header) Values(name string) iter.Seq[[]byte] {
	return func(yield func([]byte) bool) {
		for i := h.index(name, 0); i >= 0; i = h.index(name, i+1) {
			_, v := h.At(i)
			if !yield(v) {
				return
			}
		}
	}
}

func (h *Header) index(name string, from int) int {
	for i := from; i < len(h.fields); i++ {
		f := h.fields[i]
		if EqualFold(h.arena[f.n0:f.n1], name) {
			return i
		}
	}
	return -1
}

// AddAll appends every field of src, in order: fields prepared once, and
// checked then, that many responses carry (a file's Content-Type, ETag
// and Last-Modified), without checking them again each time.
func (h *Header) AddAll(src *Header) {
	base := int32(len(h.arena))
	h.arena = append(h.arena, src.arena...)
	for _, f := range src.fields {
		h.fields = append(h.fields, field{f.n0 + base, f.n1 + base, f.v0 + base, f.v1 + base})
	}
}

// Add appends a field. It panics if name is not a token or value holds a
// control byte: a handler that lets CR or LF into a header is a programming
// error that would otherwise split the response.
func (h *Header) Add(name, value string) { addField(h, name, value) }

// AddBytes is Add with a byte-slice value.
func (h *Header) AddBytes(name string, value []byte) { addField(h, name, value) }

// Set replaces every field named name with one field.
func (h *Header) Set(name, value string) {
	h.Del(name)
	addField(h, name, value)
}

// SetBytes is Set with a byte-slice value.
func (h *Header) SetBytes(name string, value []byte) {
	h.Del(name)
	addField(h, name, value)
}

// Del removes every field named name. Their bytes stay in the arena until Reset.
func (h *Header) Del(name string) {
	j := 0
	for i, f := range h.fields {
		if !EqualFold(h.arena[f.n0:f.n1], name) {
			h.fields[j] = h.fields[i]
			j++
		}
	}
	h.fields = h.fields[:j]
}

func addField[T string | []byte](h *Header, name string, value T) {
	if !ValidFieldName(name) || !ValidFieldValue(value) {
		// string(value) copies: formatting value itself would make every
		// caller's value escape to the heap, even on the valid path.
		panic(fmt.Sprintf("web: invalid header field %q: %q", name, string(value)))
	}
	addRaw(h, name, value)
}

// addRaw appends a field already known to be valid.
func addRaw[N, V string | []byte](h *Header, name N, value V) {
	n0 := int32(len(h.arena))
	h.arena = append(h.arena, name...)
	n1 := int32(len(h.arena))
	h.arena = append(h.arena, value...)
	h.fields = append(h.fields, field{n0, n1, n1, int32(len(h.arena))})
}

// The methods below are for protocol codecs, which fill a Header in place
// from the bytes they received, without copying them.

// SetArena makes b the bytes that fields added with AddSpan index. Fields
// already added must index the same bytes in b (b may be a longer view of
// them, as a head parsed as it arrives).
func (h *Header) SetArena(b []byte) { h.arena = b }

// AddSpan appends a field whose name is arena[n0:n1] and value
// arena[v0:v1]. The codec has validated both.
func (h *Header) AddSpan(n0, n1, v0, v1 int) {
	h.fields = append(h.fields, field{int32(n0), int32(n1), int32(v0), int32(v1)})
}

// AddTrusted appends a copy of a field the codec has validated.
func (h *Header) AddTrusted(name, value []byte) { addRaw(h, name, value) }
