// Package wiretest is the raw HTTP/1.1 client that nave's tests share: it
// dials a server under test (in the clear or over TLS), sends bytes exactly
// as written, and reads responses with their raw head and framing
// (RFC 9112 §4 status line, §5 fields, §6.3 body length, §7.1 chunked
// coding with trailers), so that a test can assert on what went over the
// wire rather than on what a forgiving client made of it.
//
// H2Conn is its HTTP/2 counterpart (RFC 9113): DialH2 opens a connection
// over TLS (ALPN h2) or in the clear (h2c, prior knowledge), and the test
// writes any frame, valid or not, and reads frames back one by one, or a
// whole response with Do.
//
// It also runs a server under test in the mode the environment asks for:
// NAVE_TEST_TLS=1 puts the handler tests behind TLS with a certificate from
// a local CA made for the test (TLSMode, TLSConfigs, Serve), and
// NAVE_TEST_H2=1 puts them over HTTP/2 (H2Mode, Conn.StartH2): the tests
// still write HTTP/1.1 requests and read Responses, and the Conn carries
// each request as an HTTP/2 stream (RFC 9113), h2 by ALPN over TLS, h2c
// with prior knowledge in the clear.
//
// StartProcess starts a server under test that prints its address (a
// Python upstream: WebSocketEchoPy is one).
//
// Only tests import it. It imports internal/certs, golang.org/x/net's
// http2 Framer and HPACK codec (so x/net stays out of the product's
// imports) and the standard library, and not internal/server, whose own
// tests use it too.
package wiretest
