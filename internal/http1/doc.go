// Package http1 is nave's HTTP/1.1 wire layer (RFC 9110, RFC 9112): the
// request-head parser, request bodies (Content-Length and chunked), and the
// response writer that frames what a Handler produces.
//
// It reads from and writes to plain io.Reader/io.Writer values supplied by
// the caller, starts no goroutines, and imports only the standard library.
// It must not import net/http or any other nave package.
//
// Lifetime: a Request and the ResponseWriter handed to a Handler, and every
// byte slice they return, are valid only until the Handler returns. Their
// bytes alias the connection's buffers, which are reused for the next
// request; copy anything that must outlive the call.
package http1
