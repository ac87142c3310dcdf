package asgi

import (
	"encoding/binary"
	"errors"
	"sync"
	"time"
	"unicode/utf8"

	"nave/internal/web"
	"nave/internal/websocket"
)

// WebSocket frames, nave → worker (types 6–15 are the WebSockets').
const (
	// frameWSConnect opens a WebSocket: the u32 lengths of three
	// segments, as a REQUEST's (path decoded, raw_path, query_string;
	// the connection's; the headers), the segments, then the offered
	// subprotocols, NUL-separated. The app's first receive() says
	// websocket.connect.
	frameWSConnect frameType = 6
	// frameWSText and frameWSBytes are a whole message from the client
	// (text already checked as UTF-8). nave sends them within the
	// socket's receive window (wsWindow), which WS_TAKEN replenishes.
	frameWSText  frameType = 7
	frameWSBytes frameType = 8
	// frameWSDisconnect: u16 code, then the reason: the client closed
	// (its code, 1005 for none), nave failed the socket (1002, 1007,
	// 1009, 1011), or it was lost (1006). receive() says
	// websocket.disconnect; send() raises an OSError.
	frameWSDisconnect frameType = 9
	// frameWSSent: u32 n: nave has written n more of the app's message
	// bytes to the client (the adapter's send window, as SENT for HTTP).
	frameWSSent frameType = 10
)

// WebSocket frames, worker → nave (types 27–40 are the WebSockets').
// Before websocket.accept an app may instead deny the socket with an
// HTTP response (websocket.http.response): START, DATA, END and RESPONSE
// as for an HTTP request, END or RESPONSE terminal.
const (
	// frameWSAccept: the subprotocol ("" for none), then
	// "\x00name\x00value..." for the headers the app adds.
	frameWSAccept frameType = 27
	// frameWSPart is a piece of the app's next message, more to come:
	// a message larger than maxDataBytes travels in pieces.
	frameWSPart frameType = 28
	// frameWSSendText and frameWSSendBytes end a message from the app.
	frameWSSendText  frameType = 29
	frameWSSendBytes frameType = 30
	// frameWSClose: u16 code, then the reason: websocket.close. Before
	// accept, a denial: the client gets 403.
	frameWSClose frameType = 31
	// frameWSTaken: u32 n: the app took messages worth n of the receive
	// window (each message costs its length plus wsMessageCost).
	frameWSTaken frameType = 32
	// frameWSEnd: the app returned. Terminal (as ERROR is, when it
	// raised).
	frameWSEnd frameType = 33
)

// wsWindow bounds what nave has sent to the app that the app has not
// received: the receive window. Past it the reader stops reading the
// client's socket, so that a client faster than its app is held back by
// TCP (HTTP/2: by the stream's flow control). One message is always let
// through, so the most in flight is wsWindow plus one message.
// wsMessageCost is what each message counts beyond its bytes, so that
// many small messages are bounded too.
const (
	wsWindow      = 256 << 10
	wsMessageCost = 64
	// maxAppMessage bounds a message the app sends, gathered from its
	// pieces; a larger one closes the socket with 1009.
	maxAppMessage = 64 << 20
)

func isWSFrame(t frameType) bool { return t >= 27 && t <= 40 }

// wsState is a WebSocket's side of its call.
type wsState struct {
	subprotocols []string // set before submit; read-only after

	// Guarded by the call's mu.
	accepted  bool
	acceptNew bool   // WS_ACCEPT came and the handler has not taken it
	accept    []byte // its payload
	closeNew  bool   // WS_CLOSE came and the handler has not taken it
	closeCode int
	closeWhy  string
	part      []byte // pieces of the app's next message
	tooBig    bool   // the app sent a message past maxAppMessage
	// c.data holds the app's whole messages, each [u8 type][u32 n][n bytes].

	mu       sync.Mutex
	inflight int64 // guarded by mu: receive window in use
	credit   chan struct{}
}

// appendWSConnect appends a WS_CONNECT frame for r.
func appendWSConnect(b []byte, id uint32, r *web.Request, path, root []byte, subprotocols []string) []byte {
	start := len(b)
	b = appendFrameHeader(b, frameWSConnect, id, 0)
	lengths := len(b)
	b = append(b, make([]byte, 12)...)
	seg := len(b)
	b = append(b, path...)
	b = append(b, 0)
	b = append(b, r.Path...)
	b = append(b, 0)
	b = append(b, r.Query...)
	binary.LittleEndian.PutUint32(b[lengths:], uint32(len(b)-seg))
	seg = len(b)
	b = appendConnection(b, r, root)
	binary.LittleEndian.PutUint32(b[lengths+4:], uint32(len(b)-seg))
	seg = len(b)
	b = appendHeaders(b, r)
	binary.LittleEndian.PutUint32(b[lengths+8:], uint32(len(b)-seg))
	for i, p := range subprotocols {
		if i > 0 {
			b = append(b, 0)
		}
		b = append(b, p...)
	}
	binary.LittleEndian.PutUint32(b[start:], uint32(len(b)-start-frameHeaderSize))
	return b
}

// isUpgrade is the cheap test before websocket.Parse, which allocates:
// an Upgrade field (HTTP/1.1) or a :protocol (HTTP/2's extended CONNECT).
func isUpgrade(r *web.Request) bool {
	if r.Proto == web.HTTP2 {
		return len(r.Protocol) > 0
	}
	return r.Header.Has("Upgrade")
}

// handleWS applies a WebSocket frame from the worker to c.
func (w *worker) handleWS(c *call, f frame) error {
	ws := c.ws
	switch f.typ {
	case frameWSTaken:
		if len(f.payload) != 4 {
			return protocolErrorf("WS_TAKEN of %d bytes", len(f.payload))
		}
		ws.mu.Lock()
		ws.inflight -= int64(binary.LittleEndian.Uint32(f.payload))
		ws.mu.Unlock()
		select {
		case ws.credit <- struct{}{}:
		default:
		}
		return nil
	case frameWSClose:
		if len(f.payload) < 2 {
			return protocolErrorf("WS_CLOSE of %d bytes", len(f.payload))
		}
	}
	c.mu.Lock()
	if !c.abandoned {
		switch f.typ {
		case frameWSAccept:
			ws.accepted, ws.acceptNew, ws.accept = true, true, append(ws.accept[:0], f.payload...)
		case frameWSPart:
			ws.part = appendCapped(ws, ws.part, f.payload)
		case frameWSSendText, frameWSSendBytes:
			ws.part = appendCapped(ws, ws.part, f.payload)
			if !ws.tooBig {
				c.data = append(c.data, byte(websocket.Binary))
				if f.typ == frameWSSendText {
					c.data[len(c.data)-1] = byte(websocket.Text)
				}
				c.data = binary.LittleEndian.AppendUint32(c.data, uint32(len(ws.part)))
				c.data = append(c.data, ws.part...)
			}
			ws.part = ws.part[:0]
		case frameWSClose:
			ws.closeNew = true
			ws.closeCode = int(binary.LittleEndian.Uint16(f.payload))
			ws.closeWhy = closeReason(f.payload[2:])
		}
	}
	if f.typ == frameWSEnd {
		c.ended = true
	}
	c.mu.Unlock()
	c.wake()
	return nil
}

func appendCapped(ws *wsState, b, p []byte) []byte {
	if ws.tooBig || len(b)+len(p) > maxAppMessage {
		ws.tooBig = true
		return b[:0]
	}
	return append(b, p...)
}

// closeReason is a close frame's reason from the app's: at most 123
// bytes (RFC 6455 §5.5), cut at a character's start, valid UTF-8.
func closeReason(p []byte) string {
	if len(p) > 123 {
		p = p[:123]
		for i := 0; i < utf8.UTFMax-1 && !utf8.Valid(p); i++ {
			p = p[:len(p)-1] // a character cut in two
		}
	}
	if !utf8.Valid(p) {
		return ""
	}
	return string(p)
}

// wsSend sends c a frame of type t with the payload head + p, if c is
// still in flight.
func (c *call) wsSend(t frameType, head, p []byte) {
	w := c.worker()
	if w == nil {
		return // not assigned yet: the app has not heard of it
	}
	w.mu.Lock()
	if w.err == nil && c.id != 0 {
		w.out = appendFrameHeader(w.out, t, c.id, len(head)+len(p))
		w.out = append(w.out, head...)
		w.out = append(w.out, p...)
	}
	w.mu.Unlock()
	w.signal()
}

// wsDisconnect tells the app its client is gone, with the close code.
func (c *call) wsDisconnect(code int, reason string) {
	var head [2]byte
	binary.LittleEndian.PutUint16(head[:], uint16(code))
	c.wsSend(frameWSDisconnect, head[:], []byte(reason))
}

// serveWS runs a WebSocket opening handshake through the app: the app
// accepts (nave completes the handshake, then relays messages both ways),
// closes (403), denies with its own response, or fails (500).
func (h *Handler) serveWS(w *web.ResponseWriter, r *web.Request, hs *websocket.Handshake, err error) {
	if err != nil {
		websocket.Refuse(w, err)
		return
	}
	c := getCall()
	defer c.release()
	c.ws = &wsState{subprotocols: hs.Subprotocols, credit: make(chan struct{}, 1)}
	prefix := r.Prefix()
	c.path = web.AppendUnescaped(c.path[:0], prefix)
	c.root = len(c.path)
	c.path = web.AppendUnescaped(c.path, r.Path[len(prefix):])
	c.req, c.more, c.arrival = r, false, r.Start
	w.Detach()
	c.retain() // the Pool's
	if err := h.sup.Submit(c); err != nil {
		c.release()
		web.Error(w, 503, "the app is not available")
		return
	}
	accept, ok := h.awaitAccept(w, r, c)
	if !ok {
		return
	}
	sub, fields, _ := cut(accept)
	var extra web.Header
	if err := addFields(&extra, fields); err != nil {
		h.log.Error("invalid websocket.accept from the app", "target", string(r.Target), "err", err)
		h.refuseWS(w, c, 500)
		return
	}
	opts := websocket.Options{
		MaxMessage:   h.cfg.WSMaxMessage,
		Compression:  true,
		PingInterval: h.cfg.WSPingInterval,
		PingTimeout:  h.cfg.WSPingInterval,
	}
	conn, err := hs.Accept(w, string(sub), &extra, opts)
	if err != nil {
		h.log.Error("websocket accept", "target", string(r.Target), "err", err)
		if errors.Is(err, websocket.ErrSubprotocol) {
			h.refuseWS(w, c, 500)
			return
		}
		c.abandon()
		c.wsDisconnect(1006, "")
		return
	}
	s := &wsSession{h: h, c: c, conn: conn, readDone: make(chan struct{}), stop: make(chan struct{}),
		draining: w.Draining()}
	if r.Proto == web.HTTP2 {
		s.gone = w.Gone() // cheap on HTTP/2; on HTTP/1 it would read the upgraded connection
	}
	go s.read()
	s.write()
}

// awaitAccept waits for the app's answer to websocket.connect: accept
// (ok, with WS_ACCEPT's payload), or anything else, which it answers.
func (h *Handler) awaitAccept(w *web.ResponseWriter, r *web.Request, c *call) (accept []byte, ok bool) {
	for {
		c.mu.Lock()
		ws := c.ws
		switch {
		case ws.acceptNew:
			ws.acceptNew = false
			accept = append([]byte(nil), ws.accept...)
			c.mu.Unlock()
			return accept, true
		case ws.closeNew:
			c.mu.Unlock()
			h.refuseWS(w, c, 403) // the ASGI spec: close before accept is a 403
			return nil, false
		case c.headNew:
			c.mu.Unlock()
			// websocket.http.response: the denial is an HTTP response,
			// relayed as one.
			rl := relay{h: h, w: w, r: r, c: c, ours: w.Header().Len(), bodyDone: true}
			rep, _ := c.take(nil)
			if rl.apply(&rep) {
				rl.run()
			}
			return nil, false
		case c.failed:
			reason := c.reason
			c.mu.Unlock()
			h.log.Error("app error", "method", "websocket", "target", string(r.Target), "err", reason)
			web.Error(w, 500, "internal server error")
			return nil, false
		case c.ended:
			c.mu.Unlock()
			web.Error(w, 403, "forbidden") // returned without accepting
			return nil, false
		}
		c.watchNow = false
		c.mu.Unlock()
		<-c.notify
	}
}

// refuseWS answers a handshake the app did not accept with status, and
// tells the app the socket is gone.
func (h *Handler) refuseWS(w *web.ResponseWriter, c *call, status int) {
	c.abandon()
	c.wsDisconnect(1006, "")
	web.Error(w, status, web.StatusText(status))
}

// wsSession is an accepted WebSocket: read carries the client's messages
// to the app, write the app's to the client.
type wsSession struct {
	h        *Handler
	c        *call
	conn     *websocket.Conn
	readDone chan struct{}   // closed when read returns
	stop     chan struct{}   // closed when write is done: read stops waiting for credit
	gone     <-chan struct{} // HTTP/2: closed when the stream or connection ends; nil on HTTP/1
	draining <-chan struct{} // closed when the server begins a graceful stop
}

// aliveCheck is how often read, waiting for the app to take messages
// (and so not reading), checks that the connection was not closed
// beneath it, as the server's Close does.
const aliveCheck = time.Second

// read reads the client's messages and sends them to the app within the
// receive window; when the socket's read side ends it tells the app.
func (s *wsSession) read() {
	defer close(s.readDone)
	var buf []byte
	for {
		t, msg, err := s.conn.Read(buf)
		if err != nil {
			code, reason := 1006, ""
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				code, reason = ce.Code, ce.Reason
			}
			s.c.wsDisconnect(code, reason)
			return
		}
		buf = msg
		if cap(buf) > maxPooled {
			buf = nil // a large message's memory is not kept for the next
		}
		if !s.awaitCredit(int64(len(msg)) + wsMessageCost) {
			return
		}
		typ := frameWSBytes
		if t == websocket.Text {
			typ = frameWSText
		}
		s.c.wsSend(typ, nil, msg)
	}
}

// awaitCredit waits until the receive window has room for a message of
// cost, and takes it; false when the session ends first, or the
// connection was closed beneath it (then the app hears 1006).
func (s *wsSession) awaitCredit(cost int64) bool {
	ws := s.c.ws
	var tick *time.Ticker
	for {
		ws.mu.Lock()
		room := ws.inflight == 0 || ws.inflight+cost <= wsWindow
		if room {
			ws.inflight += cost
		}
		ws.mu.Unlock()
		if room {
			if tick != nil {
				tick.Stop()
			}
			return true
		}
		if tick == nil {
			tick = time.NewTicker(aliveCheck)
			defer tick.Stop()
		}
		select {
		case <-ws.credit:
		case <-s.stop:
			return false
		case <-s.gone:
			s.c.wsDisconnect(1006, "")
			return false
		case <-tick.C:
			if !s.conn.Alive() {
				s.c.wsDisconnect(1006, "")
				return false
			}
		}
	}
}

// write writes the app's messages to the client, crediting each to the
// app's send window once written, until the app closes the socket,
// returns or fails, or the client is gone.
func (s *wsSession) write() {
	c, ws := s.c, s.c.ws
	for {
		c.mu.Lock()
		c.spare, c.data = c.data, c.spare[:0]
		msgs := c.spare
		closeNew, code, reason := ws.closeNew, ws.closeCode, ws.closeWhy
		ws.closeNew = false
		ended, failed, why, tooBig := c.ended, c.failed, c.reason, ws.tooBig
		c.watchNow = false
		c.mu.Unlock()
		n := 0
		for len(msgs) >= 5 {
			t := websocket.MessageType(msgs[0])
			size := int(binary.LittleEndian.Uint32(msgs[1:]))
			if err := s.conn.Write(t, msgs[5:5+size]); err != nil {
				s.leave(1011, "")
				return
			}
			n += size
			msgs = msgs[5+size:]
		}
		if n > 0 {
			c.wsSend(frameWSSent, binary.LittleEndian.AppendUint32(nil, uint32(n)), nil)
		}
		switch {
		case tooBig:
			s.h.log.Error("websocket message from the app too large", "limit", maxAppMessage)
			s.leave(1009, "")
			return
		case failed:
			s.h.log.Error("app error", "method", "websocket", "err", why)
			s.leave(1011, "")
			return
		case closeNew:
			if s.conn.Close(code, reason) != nil {
				s.conn.Close(1011, "") // an invalid code from the app
			}
			s.finish()
			return
		case ended:
			s.leave(1000, "") // returned without closing
			return
		}
		select {
		case <-c.notify:
		case <-s.readDone:
			// The client is gone; read told the app. What the app
			// still sends is dropped.
			c.abandon()
			return
		case <-s.draining:
			// The server is stopping: 1001 Going Away (RFC 6455 §7.4.1),
			// and the app hears the client's answer as its disconnect,
			// rather than both being cut at the stop's deadline.
			s.leave(1001, "")
			return
		}
	}
}

// leave closes the socket with code, then waits for the read side.
func (s *wsSession) leave(code int, reason string) {
	s.conn.Close(code, reason)
	s.finish()
}

// finish stops read's wait for credit, waits for read to end (Close bounds it) and drops the rest of
// what the app sends.
func (s *wsSession) finish() {
	close(s.stop)
	<-s.readDone
	s.c.abandon()
}
