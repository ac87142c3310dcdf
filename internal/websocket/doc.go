// Package websocket is the WebSocket protocol (RFC 6455) with per-message
// deflate (RFC 7692), over HTTP/1.1's Upgrade and HTTP/2's extended
// CONNECT (RFC 8441), as nave's gateways use it: nave speaks the protocol
// (handshake, framing, masking, fragmentation, ping and pong, the close
// handshake, UTF-8 validation, size limits, compression) and the
// application sees whole messages.
//
// Acceptance is decided late, as ASGI does it, in two steps:
//
//	hs, err := websocket.Parse(r)      // is this a valid opening handshake?
//	if err != nil {
//		websocket.Refuse(w, err)      // 400, or 426 for a wrong version
//		return
//	}
//	// ... ask the application ...
//	c, err := hs.Accept(w, "chat", nil, opts) // 101 (HTTP/1.1) or 200 (HTTP/2)
//	// or deny with any HTTP response written to w instead.
//	for {
//		t, msg, err := c.Read(buf)    // one whole message; pings answered
//		...
//	}
//
// A Conn is driven by Read: pings are answered, the idle ping is sent and
// its timeout enforced, and the peer's close is answered while a Read is
// in progress, so a gateway keeps one Read going (its receive loop). Write
// and Close may be called from other goroutines meanwhile.
//
// Timeouts (the idle ping, Options.WriteTimeout, the bound on Close's wait
// for the peer) need a stream with SetReadDeadline and SetWriteDeadline,
// as nave's HTTP/1.1 connections have once upgraded. On a stream without
// them no ping is sent, and Close waits only for a close it reads itself.
//
// Per-message deflate, when Options.Compression allows it: nave always
// answers with server_no_context_takeover (RFC 7692 §7.1.1.1 allows it
// unasked), so that a compressor (Go's costs some 650 KiB) is only held
// while a message is written, and is shared among connections through a
// pool. Go's compress/flate always uses a 32 KiB window; when a client
// asks for server_max_window_bits=N below 15 the offer is accepted, and
// only messages of at most 2^N bytes are compressed (without context
// takeover no back-reference can then reach past the window); larger ones
// go uncompressed, which the extension allows message by message. The
// client may keep its context (nave then keeps the last 32 KiB it
// received as the next message's dictionary) and may use any window size
// (decompressing with a 32 KiB window reads them all), so nave never asks
// for client_no_context_takeover or client_max_window_bits. Decompression
// stops at Options.MaxMessage: a small message that inflates past it
// fails with 1009, having allocated no more than the limit.
//
// It imports only the standard library and nave/internal/web; it knows
// nothing of the protocols beneath the web.ResponseWriter.
package websocket
