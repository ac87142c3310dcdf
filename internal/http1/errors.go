package http1

import (
	"errors"
	"io"
	"os"
)

// ProtocolError is a request the server must refuse with a specific status.
// Reason is a short fixed phrase safe to send to the client: it never
// contains request bytes.
type ProtocolError struct {
	Status int
	Reason string
}

func (e *ProtocolError) Error() string { return "http1: " + e.Reason }

// The errors the parser and body readers return. Each maps to one status
// through StatusOf.
var (
	ErrBadRequestLine    = &ProtocolError{400, "malformed request line"}
	ErrBadTarget         = &ProtocolError{400, "malformed request target"}
	ErrBadVersion        = &ProtocolError{400, "malformed HTTP version"}
	ErrVersion           = &ProtocolError{505, "HTTP version not supported"}
	ErrBadHeader         = &ProtocolError{400, "malformed header field"}
	ErrObsFold           = &ProtocolError{400, "obsolete line folding"}
	ErrBareCR            = &ProtocolError{400, "bare CR"}
	ErrHost              = &ProtocolError{400, "missing, repeated or invalid Host"}
	ErrContentLength     = &ProtocolError{400, "invalid Content-Length"}
	ErrTransferEncoding  = &ProtocolError{400, "invalid Transfer-Encoding"}
	ErrAmbiguousLength   = &ProtocolError{400, "both Transfer-Encoding and Content-Length"}
	ErrUnsupportedCoding = &ProtocolError{501, "unsupported transfer coding"}
	ErrBadChunk          = &ProtocolError{400, "malformed chunked body"}
	ErrExpectation       = &ProtocolError{417, "unsupported expectation"}
	ErrURITooLong        = &ProtocolError{414, "request line too long"}
	ErrHeaderTooLarge    = &ProtocolError{431, "header section too large"}
	ErrTooManyHeaders    = &ProtocolError{431, "too many header fields"}
	ErrBodyTooLarge      = &ProtocolError{413, "request body too large"}
	ErrRequestTimeout    = &ProtocolError{408, "request timed out"}
	ErrTruncated         = &ProtocolError{400, "request body ended early"}
)

// Errors a Handler can get from the ResponseWriter.
var (
	// ErrBodyNotAllowed: the status or method forbids a response body.
	ErrBodyNotAllowed = errors.New("http1: response body not allowed")
	// ErrContentLengthExceeded: more bytes written than the declared Content-Length.
	ErrContentLengthExceeded = errors.New("http1: wrote more than the declared Content-Length")
	// ErrAborted: the handler gave up on the response with Abort.
	ErrAborted = errors.New("http1: response aborted")
)

// StatusOf maps an error from reading a request to the status the client
// should get, and whether the exchange is boring (the client went away or
// stalled; nothing to answer or log loudly). Any error not listed maps to 400.
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
