package metrics

import (
	"strings"
	"testing"
	"unicode/utf8"

	"nave/internal/web"
)

// FuzzNegotiate: any Accept value picks one of the two formats without
// panicking.
func FuzzNegotiate(f *testing.F) {
	for _, s := range []string{
		"application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
		"application/openmetrics-text; q=0, text/plain",
		`application/openmetrics-text; version="1.0.0"; q=1e3`,
		";;,,=;q=;version",
		"*/*",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, accept string) {
		var h web.Header
		if !web.ValidFieldValue(accept) {
			return
		}
		h.Add("Accept", accept)
		h.Add("Accept-Encoding", accept)
		if got := Negotiate(&h); got != FormatText && got != FormatOpenMetrics {
			t.Fatalf("format %d", got)
		}
		acceptsGzip(&h)
	})
}

// FuzzLabelValue: any UTF-8 label value renders on one line, between
// quotes it cannot close, and reads back as itself.
func FuzzLabelValue(f *testing.F) {
	for _, s := range []string{`back\slash`, "new\nline", `"quoted"`, `\"`, `\n`, "plain ✓", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if !utf8.ValidString(v) {
			return
		}
		r := NewRegistry()
		r.GaugeVec("nave_x", "h", "v").With(v).Set(1)
		for _, format := range []Format{FormatText, FormatOpenMetrics} {
			out := string(r.AppendText(nil, format))
			line := strings.Split(out, "\n")[2] // after HELP and TYPE
			quoted, ok := strings.CutPrefix(line, `nave_x{v="`)
			quoted, ok2 := strings.CutSuffix(quoted, `"} 1`)
			if !ok || !ok2 {
				t.Fatalf("sample line %q", line)
			}
			if got, ok := unescape(quoted); !ok || got != v {
				t.Fatalf("value %q rendered as %q, which reads back as %q (ok %v)", v, quoted, got, ok)
			}
		}
	})
}

// unescape reads a rendered label value back, as Prometheus's parsers
// do; false if it holds an unescaped quote or a bad escape.
func unescape(s string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			return "", false
		case c == '\\' && i+1 < len(s):
			i++
			switch s[i] {
			case '\\':
				b.WriteByte('\\')
			case '"':
				b.WriteByte('"')
			case 'n':
				b.WriteByte('\n')
			default:
				return "", false
			}
		case c == '\\':
			return "", false
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), true
}
