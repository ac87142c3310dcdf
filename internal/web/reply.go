package web

import (
	"errors"
	"strconv"
)

// Error writes a short plain-text error response: "404 Not Found: reason".
// reason is a fixed phrase, never request bytes. It is the one place nave
// renders an error reply of its own.
func Error(w *ResponseWriter, status int, reason string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	var b [128]byte
	line := strconv.AppendInt(b[:0], int64(status), 10)
	line = append(line, ' ')
	line = append(line, StatusText(status)...)
	line = append(line, ": "...)
	line = append(line, reason...)
	line = append(line, '\n')
	w.Write(line)
}

// Refuse answers a request whose head or body could not be read, with the
// status StatusOf gives err, and asks for the connection to close, since
// its framing is lost. It reports false, writing nothing, for a client
// that went away; a stalled one gets 408.
func Refuse(w *ResponseWriter, err error) bool {
	status, boring := StatusOf(err)
	if boring && status != 408 {
		return false
	}
	w.SetClose()
	reason := "request timed out"
	var pe *ProtocolError
	if errors.As(err, &pe) {
		reason = pe.Reason
	}
	Error(w, status, reason)
	return true
}
