// Package http1 is nave's HTTP/1.1 codec (RFC 9110, RFC 9112): the
// request-head parser, request bodies (Content-Length and chunked), and the
// Writer that frames a response beneath a web.ResponseWriter (it is the
// web.Stream of an HTTP/1 exchange).
//
// It reads from and writes to plain io.Reader/io.Writer values supplied by
// the caller and starts no goroutines. It imports internal/web and the
// standard library only; it must not import net/http or any other nave
// package.
//
// Lifetime: a Request, and every byte slice it holds, is valid only until
// the Handler returns. Its bytes alias the connection's buffers, which are
// reused for the next request; copy anything that must outlive the call.
package http1
