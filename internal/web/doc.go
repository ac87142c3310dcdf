// Package web is the exchange every protocol serves and every handler
// sees (RFC 9110's semantics, without any one protocol's framing): the
// Handler, the Request, the ResponseWriter, the Header, and the Stream a
// protocol implements beneath the ResponseWriter.
//
// A protocol server (HTTP/1.1 today, HTTP/2 next) parses a request into a
// Request, gives an Exchange its Stream, calls the Handler with the
// Exchange's ResponseWriter, and ends the Exchange. Handlers (static files,
// WSGI, routing) import this package and nothing of the protocols.
//
// Lifetime: a Request and the ResponseWriter handed to a Handler, and
// every byte slice they return, are valid only until the Handler returns.
// Their bytes alias the protocol's buffers, which are reused; copy
// anything that must outlive the call.
//
// It imports only the standard library and must not import any other nave
// package.
package web
