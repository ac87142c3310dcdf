package web

import (
	"errors"
	"io"
	"os"
)

// ProtocolError is a request a protocol must refuse with a specific
// status. Reason is a short fixed phrase safe to send to the client: it
// never contains request bytes.
type ProtocolError struct {
	Status int
	Reason string
}

func (e *ProtocolError) Error() string { return "http: " + e.Reason }

// Errors a Handler can get from the ResponseWriter.
var (
	// ErrBodyNotAllowed: the status or method forbids a response body.
	ErrBodyNotAllowed = errors.New("web: response body not allowed")
	// ErrContentLengthExceeded: more bytes written than the declared Content-Length.
	ErrContentLengthExceeded = errors.New("web: wrote more than the declared Content-Length")
	// ErrAborted: the handler gave up on the response with Abort.
	ErrAborted = errors.New("web: response aborted")
	// ErrUpgrade: Upgrade after the response began, or where the
	// protocol or the client cannot switch (HTTP/1.0).
	ErrUpgrade = errors.New("web: cannot upgrade this exchange")
)

// StatusOf maps an error from reading a request (its head or its body) to
// the status the client should get, and whether the exchange is boring
// (the client went away or stalled: nothing to answer, or log loudly,
// except a 408 for the stall). Any error not listed maps to 400.
func StatusOf(err error) (status int, boring bool) {
	var pe *ProtocolError
	switch {
	case errors.As(err, &pe):
		return pe.Status, false
	case errors.Is(err, os.ErrDeadlineExceeded):
		return 408, true
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return 400, true
	}
	return 400, true
}
