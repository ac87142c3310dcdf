package action

import (
	"fmt"
	"strings"

	"nave/internal/web"
)

// Placeholders are the names a Template may use, as nginx's variables:
//
//	$request_uri  the path and query as sent: "/a%20b?x=1"
//	$uri          the path, still percent-encoded
//	$args         the query, without "?" ("" when none)
//	$host         the host the request named, without its port
//	$scheme       "http" or "https"
//	$method       the request method
//
// "${name}" is the same as "$name", for a name followed by letters;
// "$$" is a "$".
var Placeholders = []string{"request_uri", "uri", "args", "host", "scheme", "method"}

// Template is a string with placeholders, parsed once.
type Template struct {
	parts   []part
	literal string // the whole template when it has no placeholder
}

// part is a literal, or a placeholder when name is set.
type part struct{ lit, name string }

// ParseTemplate parses s. The error names an unknown placeholder or a
// "${" left open.
func ParseTemplate(s string) (Template, error) {
	var t Template
	var lit strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' {
			lit.WriteByte(s[i])
			continue
		}
		name, n, err := placeholderAt(s[i+1:])
		if err != nil {
			return Template{}, err
		}
		i += n
		if name == "$" {
			lit.WriteByte('$')
			continue
		}
		if lit.Len() > 0 {
			t.parts = append(t.parts, part{lit: lit.String()})
			lit.Reset()
		}
		t.parts = append(t.parts, part{name: name})
	}
	if len(t.parts) == 0 {
		t.literal = lit.String()
		return t, nil
	}
	if lit.Len() > 0 {
		t.parts = append(t.parts, part{lit: lit.String()})
	}
	return t, nil
}

// placeholderAt reads the name after a "$": "$" for "$$"; n is the bytes
// it took.
func placeholderAt(s string) (name string, n int, err error) {
	switch {
	case strings.HasPrefix(s, "$"):
		return "$", 1, nil
	case strings.HasPrefix(s, "{"):
		end := strings.IndexByte(s, '}')
		if end < 0 {
			return "", 0, fmt.Errorf("%q has no closing }", "$"+s)
		}
		name, n = s[1:end], end+1
	default:
		for n < len(s) && (s[n] == '_' || s[n] >= 'a' && s[n] <= 'z' || s[n] >= 'A' && s[n] <= 'Z') {
			n++
		}
		name = s[:n]
	}
	for _, p := range Placeholders {
		if p == name {
			return name, n, nil
		}
	}
	return "", 0, fmt.Errorf("unknown placeholder $%s (known: $%s)", name, strings.Join(Placeholders, ", $"))
}

// Append appends t, filled from r, to b.
func (t *Template) Append(b []byte, r *web.Request) []byte {
	if len(t.parts) == 0 {
		return append(b, t.literal...)
	}
	for _, p := range t.parts {
		if p.name == "" {
			b = append(b, p.lit...)
			continue
		}
		x, sep, y := fill(p.name, r)
		b = append(append(append(b, x...), sep...), y...)
	}
	return b
}

// WriteTo writes t, filled from r, to w as a body, without building it
// in a buffer first.
func (t *Template) WriteTo(w *web.ResponseWriter, r *web.Request) {
	if len(t.parts) == 0 {
		w.WriteString(t.literal)
		return
	}
	for _, p := range t.parts {
		if p.name == "" {
			w.WriteString(p.lit)
			continue
		}
		x, sep, y := fill(p.name, r)
		for _, piece := range [3][]byte{x, sep, y} {
			if len(piece) > 0 {
				w.Write(piece)
			}
		}
	}
}

var (
	question  = []byte{'?'}
	httpName  = []byte("http")
	httpsName = []byte("https")
)

// fill is a placeholder's value for r, in up to three pieces (the path,
// "?" and the query, for $request_uri), all aliases of r or constants.
func fill(name string, r *web.Request) (x, sep, y []byte) {
	switch name {
	case "request_uri":
		if r.Query != nil {
			return r.Path, question, r.Query
		}
		return r.Path, nil, nil
	case "uri":
		return r.Path, nil, nil
	case "args":
		return r.Query, nil, nil
	case "host":
		return web.Hostname(r.Authority), nil, nil
	case "scheme":
		if r.Scheme == "https" || r.Scheme == "" && r.TLS != nil {
			return httpsName, nil, nil
		}
		return httpName, nil, nil
	case "method":
		return r.Method, nil, nil
	}
	return nil, nil, nil
}
