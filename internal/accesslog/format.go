package accesslog

import (
	"crypto/tls"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"nave/internal/web"
)

// Format is the layout of a record, compiled once: Combined, JSON, or a
// format string of $variables (Template). The zero value is Combined.
type Format struct {
	kind kind
	ops  []op   // a template's pieces
	src  string // a template's source
}

type kind uint8

const (
	kindCombined kind = iota
	kindJSON
	kindTemplate
)

var (
	// Combined is the Combined Log Format of Apache's mod_log_config, as
	// nginx also writes it:
	//
	//	%h - - [%d/%b/%Y:%H:%M:%S %z] "%r" %>s %b "%{Referer}i" "%{User-agent}i"
	Combined = Format{}
	// JSON is one JSON object (RFC 8259) per line.
	JSON = Format{kind: kindJSON}
)

// ParseFormat returns the Format s names: "combined", "json", or a format
// string holding at least one $variable, as nginx's log_format
// ("$remote_addr $status $request_time"), which it compiles.
func ParseFormat(s string) (Format, error) {
	switch s {
	case "combined":
		return Combined, nil
	case "json":
		return JSON, nil
	}
	if strings.IndexByte(s, '$') < 0 {
		return Format{}, fmt.Errorf("%w %q (want \"combined\", \"json\" or a format string with $variables)", ErrUnknownFormat, s)
	}
	return compile(s)
}

// String returns what ParseFormat accepts for f.
func (f Format) String() string {
	switch f.kind {
	case kindCombined:
		return "combined"
	case kindJSON:
		return "json"
	}
	return f.src
}

// appendRecord appends one record, with its newline, for a request that
// began at t and took d.
func (f Format) appendRecord(b []byte, r *web.Request, w *web.ResponseWriter, t time.Time, d time.Duration) []byte {
	switch f.kind {
	case kindJSON:
		return appendJSON(b, r, w, t, d)
	case kindTemplate:
		return f.appendTemplate(b, r, w, t, d)
	}
	return appendCombined(b, r, w, t)
}

// Layouts of the time field.
const (
	clfTime  = "02/Jan/2006:15:04:05 -0700"
	jsonTime = "2006-01-02T15:04:05.000Z07:00" // RFC 3339, milliseconds
)

// appendCombined appends a Combined Log Format line. A request without a
// method (one refused before its request line parsed) logs "%r" as "-";
// %b, Referer and User-Agent are "-" when zero, absent or empty.
func appendCombined(b []byte, r *web.Request, w *web.ResponseWriter, t time.Time) []byte {
	b = appendAddr(b, r.RemoteAddr, "-")
	b = append(b, " - - ["...)
	b = t.AppendFormat(b, clfTime)
	b = append(b, "] \""...)
	if len(r.Method) == 0 {
		b = append(b, '-')
	} else {
		b = appendEscaped(b, r.Method)
		b = append(b, ' ')
		b = appendEscaped(b, r.Target)
		b = append(b, ' ')
		b = append(b, r.Proto.String()...)
	}
	b = append(b, "\" "...)
	b = strconv.AppendInt(b, int64(w.Status()), 10)
	b = append(b, ' ')
	if n := w.BodyBytes(); n > 0 {
		b = strconv.AppendInt(b, n, 10)
	} else {
		b = append(b, '-')
	}
	b = append(b, " \""...)
	b = appendEscapedOrDash(b, r.Header.Get("Referer"))
	b = append(b, "\" \""...)
	b = appendEscapedOrDash(b, r.Header.Get("User-Agent"))
	return append(b, "\"\n"...)
}

// appendAddr appends the IP of ap, without its port, or none when ap holds
// no address. IPv4-mapped IPv6 addresses (a dual-stack listener's IPv4
// clients) are written as IPv4.
func appendAddr(b []byte, ap netip.AddrPort, none string) []byte {
	a := ap.Addr()
	if !a.IsValid() {
		return append(b, none...)
	}
	return a.Unmap().AppendTo(b)
}

// clean marks the bytes both formats copy as they are: printable ASCII
// other than '"' and '\\'. It is read-only after package initialisation.
var clean = func() (t [256]bool) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func appendEscapedOrDash(b, s []byte) []byte {
	if len(s) == 0 {
		return append(b, '-')
	}
	return appendEscaped(b, s)
}

// appendEscaped appends client bytes for a Combined line as nginx escapes
// them (ngx_http_log_escape): '"', '\\', control bytes and bytes from 0x7f
// up become \xHH, so a record is one line and its quoted fields cannot be
// closed early by the client.
func appendEscaped[T string | []byte](b []byte, s T) []byte {
	const hex = "0123456789ABCDEF"
	done := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if clean[c] {
			continue
		}
		b = append(b, s[done:i]...)
		b = append(b, '\\', 'x', hex[c>>4], hex[c&0xf])
		done = i + 1
	}
	return append(b, s[done:]...)
}

// appendJSON appends a JSON record. Absent strings are "", never null, so
// every record has the same keys and types.
func appendJSON(b []byte, r *web.Request, w *web.ResponseWriter, t time.Time, d time.Duration) []byte {
	b = append(b, `{"time":"`...)
	b = t.AppendFormat(b, jsonTime)
	b = append(b, `","remote":"`...)
	b = appendAddr(b, r.RemoteAddr, "")
	b = append(b, `","method":"`...)
	b = appendJSONString(b, r.Method)
	b = append(b, `","target":"`...)
	b = appendJSONString(b, r.Target)
	b = append(b, `","proto":"`...)
	b = append(b, r.Proto.String()...)
	b = append(b, `","status":`...)
	b = strconv.AppendInt(b, int64(w.Status()), 10)
	b = append(b, `,"bytes":`...)
	b = strconv.AppendInt(b, w.BodyBytes(), 10)
	b = append(b, `,"duration_ms":`...)
	b = appendMillis(b, d)
	b = append(b, `,"referer":"`...)
	b = appendJSONString(b, r.Header.Get("Referer"))
	b = append(b, `","user_agent":"`...)
	b = appendJSONString(b, r.Header.Get("User-Agent"))
	b = append(b, `","host":"`...)
	b = appendJSONString(b, r.Authority)
	b = append(b, `","tls":"`...)
	b = append(b, tlsVersion(r)...)
	b = append(b, `","request_id":"`...)
	b = appendJSONString(b, r.ID())
	b = append(b, `","queue_ms":`...)
	b = appendMillis(b, r.QueueWait())
	b = append(b, `,"upstream_addr":"`...)
	b = appendJSONConfig(b, r.Note.Upstream)
	b = append(b, `","upstream_ms":`...)
	b = appendMillis(b, r.Note.UpstreamTime)
	return append(b, "}\n"...)
}

// appendMillis appends d in milliseconds with three decimals (microsecond
// resolution), computed in integers so the digits are exact. A negative d
// (a wall clock stepped back) is written as 0.
func appendMillis(b []byte, d time.Duration) []byte {
	us := max(d.Microseconds(), 0)
	b = strconv.AppendInt(b, us/1000, 10)
	frac := us % 1000
	return append(b, '.', byte('0'+frac/100), byte('0'+frac/10%10), byte('0'+frac%10))
}

// appendJSONString appends s as the inside of a JSON string (RFC 8259 §7).
// Client bytes are arbitrary, so: each byte that is not part of valid UTF-8
// becomes \ufffd, as encoding/json does (a reader never mistakes a stray
// byte for the character it would be in Latin-1); control bytes and DEL
// become \n, \r, \t or \u00XX; U+2028 and U+2029 are escaped for readers
// that parse the line as JavaScript.
func appendJSONString(b, s []byte) []byte {
	const hex = "0123456789abcdef"
	done := 0
	for i := 0; i < len(s); {
		c := s[i]
		if clean[c] {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[done:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			done = i
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[done:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[done:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		done = i
	}
	return append(b, s[done:]...)
}

// appendJSONConfig appends a string nave's config gave (valid UTF-8,
// from a TOML or JSON file) as the inside of a JSON string: only '"',
// '\\' and control bytes need escaping.
func appendJSONConfig(b []byte, s string) []byte {
	for i := range len(s) {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20 || c == 0x7f:
			b = append(b, '\\', 'u', '0', '0', "0123456789abcdef"[c>>4], "0123456789abcdef"[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return b
}

// tlsVersion names the TLS version of r's connection as OpenSSL and
// nginx's $ssl_protocol do, or "" on cleartext.
func tlsVersion(r *web.Request) string {
	if r.TLS == nil {
		return ""
	}
	switch r.TLS.Version {
	case tls.VersionTLS13:
		return "TLSv1.3"
	case tls.VersionTLS12:
		return "TLSv1.2"
	case tls.VersionTLS11:
		return "TLSv1.1"
	case tls.VersionTLS10:
		return "TLSv1"
	}
	return "unknown"
}
