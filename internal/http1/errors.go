package http1

import "nave/internal/web"

// The errors the parser and body readers return, each a
// *web.ProtocolError that maps to one status through web.StatusOf.
var (
	ErrBadRequestLine    = &web.ProtocolError{Status: 400, Reason: "malformed request line"}
	ErrBadTarget         = &web.ProtocolError{Status: 400, Reason: "malformed request target"}
	ErrBadVersion        = &web.ProtocolError{Status: 400, Reason: "malformed HTTP version"}
	ErrVersion           = &web.ProtocolError{Status: 505, Reason: "HTTP version not supported"}
	ErrBadHeader         = &web.ProtocolError{Status: 400, Reason: "malformed header field"}
	ErrObsFold           = &web.ProtocolError{Status: 400, Reason: "obsolete line folding"}
	ErrBareCR            = &web.ProtocolError{Status: 400, Reason: "bare CR"}
	ErrHost              = &web.ProtocolError{Status: 400, Reason: "missing, repeated or invalid Host"}
	ErrContentLength     = &web.ProtocolError{Status: 400, Reason: "invalid Content-Length"}
	ErrTransferEncoding  = &web.ProtocolError{Status: 400, Reason: "invalid Transfer-Encoding"}
	ErrAmbiguousLength   = &web.ProtocolError{Status: 400, Reason: "both Transfer-Encoding and Content-Length"}
	ErrUnsupportedCoding = &web.ProtocolError{Status: 501, Reason: "unsupported transfer coding"}
	ErrBadChunk          = &web.ProtocolError{Status: 400, Reason: "malformed chunked body"}
	ErrExpectation       = &web.ProtocolError{Status: 417, Reason: "unsupported expectation"}
	ErrURITooLong        = &web.ProtocolError{Status: 414, Reason: "request line too long"}
	ErrHeaderTooLarge    = &web.ProtocolError{Status: 431, Reason: "header section too large"}
	ErrTooManyHeaders    = &web.ProtocolError{Status: 431, Reason: "too many header fields"}
	ErrBodyTooLarge      = &web.ProtocolError{Status: 413, Reason: "request body too large"}
	ErrRequestTimeout    = &web.ProtocolError{Status: 408, Reason: "request timed out"}
	ErrTruncated         = &web.ProtocolError{Status: 400, Reason: "request body ended early"}
)
