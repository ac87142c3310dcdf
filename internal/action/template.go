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

// Static reports whether t has no placeholder.
func (t *Template) Static() bool { return len(t.parts) == 0 }

// Append appends t, filled from r, to b.
func (t *Template) Append(b []byte, r *web.Request) []byte {
	if len(t.parts) == 0 {
		return append(b, t.literal...)
	}
	for _, p := range t.parts {
		switch p.name {
		case "":
			b = append(b, p.lit...)
		case "request_uri":
			b = append(b, r.Path...)
			if r.Query != nil {
				b = append(append(b, '?'), r.Query...)
			}
		case "uri":
			b = append(b, r.Path...)
		case "args":
			b = append(b, r.Query...)
		case "host":
			b = append(b, web.Hostname(r.Authority)...)
		case "scheme":
			b = append(b, scheme(r)...)
		case "method":
			b = append(b, r.Method...)
		}
	}
	return b
}

func scheme(r *web.Request) string {
	switch {
	case r.Scheme != "":
		return r.Scheme
	case r.TLS != nil:
		return "https"
	}
	return "http"
}
