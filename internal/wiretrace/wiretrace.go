// Package wiretrace writes what crossed the wire, for a person to read
// (nave's --trace): each HTTP/1 request and response head as its text,
// each HTTP/2 frame with its decoded fields, bodies as their lengths,
// every entry stamped with the time and the client's address. The
// protocol servers call it; a nil *Tracer is off and costs them a nil
// check.
//
// Entries are written whole, one at a time, synchronously: tracing is for
// watching a few requests, not for production traffic.
//
// It imports the standard library only.
package wiretrace

import (
	"bytes"
	"fmt"
	"io"
	"net/netip"
	"os"
	"sync"
	"time"
)

// Tracer writes trace entries to one destination. Its methods are safe for
// concurrent use.
type Tracer struct {
	prefix []byte // only requests whose path starts with it are traced

	mu     sync.Mutex
	w      io.Writer // guarded by mu
	closer io.Closer
	failed bool // guarded by mu: a write failed; later entries are dropped
}

// New returns a Tracer writing to w, tracing requests whose path starts
// with prefix ("" or "/": all).
func New(w io.Writer, prefix string) *Tracer {
	return &Tracer{w: w, prefix: []byte(prefix)}
}

// Open returns a Tracer for dest: "-" (or "") for standard error, else a
// file, opened for appending and created with mode 0644 if missing.
func Open(dest, prefix string) (*Tracer, error) {
	if dest == "" || dest == "-" {
		return New(os.Stderr, prefix), nil
	}
	f, err := os.OpenFile(dest, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("wiretrace: %w", err)
	}
	t := New(f, prefix)
	t.closer = f
	return t, nil
}

// Match reports whether a request for path is traced.
func (t *Tracer) Match(path []byte) bool { return bytes.HasPrefix(path, t.prefix) }

// Filtered reports whether only some paths are traced: then frames that
// belong to no traced request (HTTP/2's connection frames) are left out.
func (t *Tracer) Filtered() bool { return len(t.prefix) > 0 && string(t.prefix) != "/" }

// Write writes one entry whole. After a failed write, later entries are
// dropped: a trace is not worth failing requests for.
func (t *Tracer) Write(entry []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.failed {
		return
	}
	if _, err := t.w.Write(entry); err != nil {
		t.failed = true
	}
}

// Close closes the file Open opened.
func (t *Tracer) Close() error {
	if t == nil || t.closer == nil {
		return nil
	}
	return t.closer.Close()
}

// Directions, as an entry's arrow shows them.
const (
	In  = '>' // from the client
	Out = '<' // to the client
)

// AppendStamp starts an entry: the time (microseconds), the client's
// address and the direction, as "15:04:05.000001 192.0.2.7:5000 > ".
func AppendStamp(b []byte, at time.Time, client netip.AddrPort, dir byte) []byte {
	b = at.AppendFormat(b, "15:04:05.000000")
	b = append(b, ' ')
	if client.IsValid() {
		b = netip.AddrPortFrom(client.Addr().Unmap(), client.Port()).AppendTo(b)
	} else {
		b = append(b, '-')
	}
	return append(b, ' ', dir, ' ')
}

// AppendText appends a head's lines, each indented by two spaces, its
// CRLFs as newlines, and bytes a terminal would act on (control bytes
// other than tab, DEL, and bytes from 0x80) as \xHH; the blank line that
// ends a head is left out.
func AppendText(b, text []byte) []byte {
	for len(text) > 0 {
		line := text
		if i := bytes.IndexByte(text, '\n'); i >= 0 {
			line, text = text[:i], text[i+1:]
		} else {
			text = nil
		}
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if len(line) == 0 {
			continue
		}
		b = append(b, ' ', ' ')
		b = AppendSafe(b, line)
		b = append(b, '\n')
	}
	return b
}

// AppendSafe appends s with control bytes (but tab), DEL and bytes from
// 0x80 as \xHH, so that a client cannot drive the reader's terminal.
func AppendSafe(b, s []byte) []byte {
	const hex = "0123456789ABCDEF"
	for _, c := range s {
		if c == '\t' || 0x20 <= c && c < 0x7f {
			b = append(b, c)
			continue
		}
		b = append(b, '\\', 'x', hex[c>>4], hex[c&0xf])
	}
	return b
}

// AppendElapsed appends " (+1.234ms)": the time since the request began.
func AppendElapsed(b []byte, d time.Duration) []byte {
	b = append(b, " (+"...)
	us := max(d.Microseconds(), 0)
	b = fmt.Appendf(b, "%d.%03dms", us/1000, us%1000)
	return append(b, ')')
}
