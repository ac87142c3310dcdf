package web

import (
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestHeaderLookup(t *testing.T) {
	var h Header
	h.Add("Content-Type", "text/html")
	h.Add("Set-Cookie", "a=1")
	h.AddBytes("set-cookie", []byte("b=2"))
	h.Add("X-Empty", "")

	for _, tc := range []struct {
		name string
		want string
		has  bool
	}{
		{"Content-Type", "text/html", true},
		{"content-type", "text/html", true},
		{"CONTENT-TYPE", "text/html", true},
		{"Set-Cookie", "a=1", true},
		{"X-Empty", "", true},
		{"X-Missing", "", false},
		{"Content-Typ", "", false},
	} {
		got := h.Get(tc.name)
		if string(got) != tc.want || (got != nil) != tc.has {
			t.Errorf("Get(%q): got %q (nil %v), want %q (nil %v)", tc.name, got, got == nil, tc.want, !tc.has)
		}
		if h.Has(tc.name) != tc.has {
			t.Errorf("Has(%q): got %v, want %v", tc.name, h.Has(tc.name), tc.has)
		}
	}

	var cookies []string
	for v := range h.Values("SET-COOKIE") {
		cookies = append(cookies, string(v))
	}
	if want := []string{"a=1", "b=2"}; !slices.Equal(cookies, want) {
		t.Errorf("Values: got %q, want %q", cookies, want)
	}
	if got, want := renderFields(&h), []string{"Content-Type: text/html", "Set-Cookie: a=1", "set-cookie: b=2", "X-Empty: "}; !slices.Equal(got, want) {
		t.Errorf("All: got %q, want %q", got, want)
	}
	if name, value := h.At(2); string(name) != "set-cookie" || string(value) != "b=2" {
		t.Errorf("At(2): got %q, %q; want %q, %q", name, value, "set-cookie", "b=2")
	}
}

func TestHeaderSetDel(t *testing.T) {
	var h Header
	h.Add("A", "1")
	h.Add("B", "2")
	h.Add("a", "3")
	h.Set("A", "4")
	if got, want := renderFields(&h), []string{"B: 2", "A: 4"}; !slices.Equal(got, want) {
		t.Errorf("after Set: got %q, want %q", got, want)
	}
	h.SetBytes("b", []byte("5"))
	if got, want := renderFields(&h), []string{"A: 4", "b: 5"}; !slices.Equal(got, want) {
		t.Errorf("after SetBytes: got %q, want %q", got, want)
	}
	h.Del("A")
	h.Del("missing")
	if got, want := renderFields(&h), []string{"b: 5"}; !slices.Equal(got, want) {
		t.Errorf("after Del: got %q, want %q", got, want)
	}
	h.Reset()
	if h.Len() != 0 || h.Has("b") {
		t.Errorf("after Reset: Len %d, Has(b) %v; want 0, false", h.Len(), h.Has("b"))
	}
}

func TestHeaderValuesStop(t *testing.T) {
	var h Header
	h.Add("V", "1")
	h.Add("V", "2")
	var got []string
	for v := range h.Values("v") {
		got = append(got, string(v))
		break
	}
	if !slices.Equal(got, []string{"1"}) {
		t.Errorf("Values with break: got %q, want %q", got, []string{"1"})
	}
	n := 0
	for range h.All() {
		n++
		break
	}
	if n != 1 {
		t.Errorf("All with break: got %d iterations, want 1", n)
	}
}

func TestHeaderAddInvalidPanics(t *testing.T) {
	for _, tc := range []struct {
		name string
		add  func(h *Header)
	}{
		{"crlf_in_value", func(h *Header) { h.Add("X-A", "a\r\nSet-Cookie: evil=1") }},
		{"lf_in_value", func(h *Header) { h.Add("X-A", "a\nb") }},
		{"cr_in_value", func(h *Header) { h.Add("X-A", "a\rb") }},
		{"nul_in_value", func(h *Header) { h.Set("X-A", "a\x00b") }},
		{"del_in_value", func(h *Header) { h.Add("X-A", "a\x7f") }},
		{"crlf_in_bytes_value", func(h *Header) { h.AddBytes("X-A", []byte("a\r\n")) }},
		{"crlf_in_set_bytes", func(h *Header) { h.SetBytes("X-A", []byte("\r\n\r\n<html>")) }},
		{"crlf_in_name", func(h *Header) { h.Add("X-A\r\nX-B", "v") }},
		{"space_in_name", func(h *Header) { h.Add("X A", "v") }},
		{"colon_in_name", func(h *Header) { h.Add("X-A:", "v") }},
		{"empty_name", func(h *Header) { h.Add("", "v") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var h Header
			defer func() {
				if recover() == nil {
					t.Errorf("no panic")
				}
				if h.Len() != 0 {
					t.Errorf("Len after a refused Add: got %d, want 0", h.Len())
				}
			}()
			tc.add(&h)
		})
	}
}

func TestHeaderAddValid(t *testing.T) {
	// HTAB, SP and obs-text are field content, and so is an empty value.
	var h Header
	h.Add("X-A", "a\tb c\xff")
	h.Add("X-B", "")
	h.Add("!#$%&'*+-.^_`|~09azAZ", "v")
	if got, want := renderFields(&h), []string{"X-A: a\tb c\xff", "X-B: ", "!#$%&'*+-.^_`|~09azAZ: v"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestHeaderNoAllocAfterReset(t *testing.T) {
	// A handler formats values into a stack buffer; adding them must not
	// make that buffer escape.
	var h Header
	fill := func() {
		var scratch [32]byte
		h.Reset()
		h.Set("Content-Type", "text/plain")
		h.Add("Cache-Control", "no-store")
		h.AddBytes("Content-Length", strconv.AppendInt(scratch[:0], 12345, 10))
		h.SetBytes("ETag", append(append(append(scratch[:0], '"'), "abc"...), '"'))
		_ = h.Get("etag")
	}
	fill()
	if allocs := testing.AllocsPerRun(100, fill); allocs != 0 {
		t.Errorf("allocations per reuse: got %v, want 0", allocs)
	}
}

func renderFields(h *Header) []string {
	var out []string
	for name, value := range h.All() {
		out = append(out, string(name)+": "+string(value))
	}
	return out
}

func TestHeaderTruncate(t *testing.T) {
	var h Header
	h.Add("Strict-Transport-Security", "max-age=60")
	n := h.Len()
	h.Add("X-App", "1")
	h.Add("Content-Type", "text/plain")
	h.Truncate(n)
	if got := renderFields(&h); !slices.Equal(got, []string{"Strict-Transport-Security: max-age=60"}) {
		t.Errorf("after Truncate(%d): %q", n, got)
	}
	h.Truncate(5) // past the end: nothing changes
	if h.Len() != 1 {
		t.Errorf("Truncate past the end: %d fields", h.Len())
	}
}

func TestHeaderAddAll(t *testing.T) {
	var tmpl, h Header
	tmpl.Add("Content-Type", "text/plain")
	tmpl.Add("ETag", `"x"`)
	h.Add("Date", "now")
	h.AddAll(&tmpl)
	h.AddAll(&tmpl)
	h.Add("Content-Length", "3")
	var got []string
	for name, value := range h.All() {
		got = append(got, string(name)+": "+string(value))
	}
	want := []string{"Date: now", "Content-Type: text/plain", `ETag: "x"`, "Content-Type: text/plain", `ETag: "x"`, "Content-Length: 3"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("got %q, want %q", got, want)
	}
	if tmpl.Len() != 2 {
		t.Fatalf("the source changed: %d fields", tmpl.Len())
	}
}
