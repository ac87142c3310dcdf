// Package proxy is nave's reverse proxy: a web.Handler that passes each
// request to one server of an upstream over HTTP/1.1 (RFC 9110 §7.6,
// RFC 9112) and relays the answer, streaming both ways.
//
// It keeps a pool of keep-alive connections per server, chooses servers by
// round robin, least connections, random with two choices or consistent
// hashing (all weighted), checks them actively and passively, eases a
// server that comes back in, retries only where that is safe, sets the
// forwarding fields (X-Forwarded-*, Forwarded per RFC 7239, Via), passes
// upgrades (WebSockets, RFC 6455; RFC 8441's extended CONNECT on HTTP/2 as
// an HTTP/1.1 Upgrade) as a byte tunnel, and can open upstream connections
// with a PROXY protocol header. An upstream marked H2C is spoken to over
// HTTP/2 with prior knowledge instead (http2.ClientConn), its requests
// multiplexed on few connections.
//
// Each server's figures (up, requests in flight, time to first byte,
// failures by kind) are kept as it serves, with atomic adds and a
// lock-free histogram; Handler.Stats reads them, and an Exposition
// exposes them for Prometheus (stats.go).
//
// It imports internal/web, internal/http1 and internal/http2 (the codecs
// it speaks to upstreams with), internal/metrics and the standard library
// only; it must not import server, cli or any other handler.
package proxy
