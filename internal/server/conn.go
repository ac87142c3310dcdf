package server

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/netip"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"nave/internal/http1"
	"nave/internal/http2"
	"nave/internal/rawio"
	"nave/internal/servermetrics"
	"nave/internal/web"
)

// exchange is the per-request state: buffers, the parsed request and the
// response writer. A connection holds one only while a request is in
// progress or bytes of the next one are buffered; idle connections give it
// back to the pool, so an idle connection costs no buffer.
type exchange struct {
	in   http1.Input
	req  http1.Request
	x    web.Exchange // the handler's ResponseWriter
	out  http1.Writer // x's stream: HTTP/1 framing onto the connection
	rbuf []byte       // the read buffer, attached to in while in use
}

// begin prepares the response to the request just read.
func (ex *exchange) begin(c *conn) {
	ex.out.Reset(c, &ex.req, &ex.x.W, &c.s.shutting)
	ex.out.SetWatch(c.watchFn)
	ex.out.SetDraining(c.s.done)
	ex.x.Begin(&ex.out, &ex.req.Request)
}

// Connection states. A waker (Shutdown, or the sweep that parks idle
// connections) moves stateIdle to stateWoken and sets a read deadline in
// the past; the connection leaving idle on its own moves stateIdle to
// stateActive. wakeMu orders the two so that a deadline meant to wake an
// idle wait never lands on a request being read.
const (
	stateIdle   int32 = iota // between requests, no bytes of the next one read
	stateActive              // a request is being read or answered
	stateWoken               // a waker cut the idle wait short
	stateParked              // idle in the parker's epoll set, with no goroutine
)

// phase says which deadline a read from the connection runs under.
type phase uint8

const (
	phaseIdle phase = iota
	phaseHead
	phaseBody
	phaseUpgraded // the handler owns the connection (http1.Writer.Upgrade)
)

// conn is one client connection, served by one goroutine. Fields are owned
// by that goroutine, except state (atomic) and nc's deadline and Close
// methods, which Shutdown calls.
type conn struct {
	s  *Server
	nc net.Conn // a *tls.Conn once the TLS handshake is done, set under s.mu (closeConns reads it)
	// sock is nc's socket, a TCP or a Unix stream one, read and written
	// by raw system calls (rw), watched and parked through its descriptor;
	// nil for another kind of connection.
	sock sock
	// tlsConf is the listener's TLS configuration: non-nil until the
	// handshake is done on a TLS connection (see tls.go).
	tlsConf *tls.Config
	// tlsState is the handshake's outcome, nil in the clear: a pointer,
	// so that a plain connection does not carry its 192 bytes.
	tlsState *tls.ConnectionState
	batch    *recordBatch    // beneath crypto/tls, once it is in use; nil in the clear
	raw      syscall.RawConn // nil when nc has no file descriptor
	// rw reads and writes the TCP socket by raw system calls (see
	// rawio); nil for a connection that is not TCP. A TLS connection
	// reads and writes it through crypto/tls.
	rw     *rawio.Conn
	remote netip.AddrPort
	local  netip.AddrPort
	fd     int // the socket, for the parker; -1 when unknown
	state  atomic.Int32
	wakeMu sync.Mutex
	// idleSince is when the connection last went idle (unix nanoseconds).
	idleSince atomic.Int64
	ex        *exchange   // non-nil while a request is in progress or pipelined bytes wait
	mayH2C    bool        // a cleartext connection whose first bytes are still to be checked for h2c
	h2        *http2.Conn // the HTTP/2 connection it became; guarded by wakeMu

	phase         phase
	linger        bool      // input may still be arriving when the connection closes
	headDeadline  time.Time // when the current head must be complete
	readDeadline  time.Time // the read deadline last set on nc
	writeDeadline time.Time // the write deadline last set on nc
	wrote         time.Time // when a response was last written; zero once the idle wait took it
	// firstWrite is when the current request's response began (its first
	// write, an interim 100 Continue included), for time to first byte.
	firstWrite time.Time
	// mstate is the state the server's metrics count the connection in.
	mstate servermetrics.ConnState
	// trustedPeer: the socket's peer (before any PROXY protocol header)
	// is one of the listener's trusted proxies, so the load balancer's
	// X-Request-Start is believed; set only when metrics are on.
	trustedPeer bool
	// traced: the current request is traced (Config.Trace); traceFn is
	// traceHead, bound once per connection, and traceBuf its scratch.
	traced   bool
	traceFn  func(head []byte)
	traceBuf []byte
	// ownWriteDeadline: the handler of an upgraded connection set its own
	// write deadline, which the server's write timeout must not move.
	ownWriteDeadline bool

	// The idle read callback and what it leaves behind; readFn is bound
	// once so that waiting allocates nothing.
	readFn  func(fd uintptr) bool
	readEx  *exchange
	readN   int
	readErr error
	// relayed: the last response was another process's answer
	// (web.ResponseWriter.Relayed), after which the idle read yields.
	relayed bool

	// The watcher of a handler that asked web.ResponseWriter.Gone (see
	// watch.go): watching is closed when its goroutine is done; nil when
	// none runs. watchFn is c.watch, bound once.
	gone       chan struct{}
	watching   chan struct{}
	unwatching atomic.Bool
	watchFn    func() <-chan struct{}
}

// sock is what the server needs of a socket: *net.TCPConn and
// *net.UnixConn have it.
type sock interface {
	net.Conn
	syscall.Conn
	CloseWrite() error
}

func (s *Server) newConn(nc net.Conn, tc *tls.Config) *conn {
	c := &conn{s: s, nc: nc, fd: -1, tlsConf: tc, mstate: servermetrics.ConnNone}
	c.sock, _ = nc.(sock)
	if c.sock != nil {
		c.watchFn = c.watch
		c.rw, _ = rawio.New(c.sock)
	}
	c.mayH2C = tc == nil && !s.cfg.DisableH2C
	// Not idle until await says so: the zero state is stateIdle, and the
	// zero idleSince is long ago, so the sweep would wake the connection
	// before its goroutine's first wait, whose fresh deadline the wake
	// could then overwrite, closing it before its first request.
	c.state.Store(stateActive)
	if a, ok := nc.RemoteAddr().(*net.TCPAddr); ok {
		c.remote = a.AddrPort()
	}
	c.trustedPeer = s.m != nil && s.listedProxy(c.remote.Addr()) // a Unix socket's peer has none
	if a, ok := nc.LocalAddr().(*net.TCPAddr); ok {
		c.local = a.AddrPort()
	}
	if sc, ok := nc.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			c.raw = raw
			c.readFn = c.readReady
			if tc != nil {
				c.readFn = c.helloReady
			}
			raw.Control(func(fd uintptr) { c.fd = int(fd) })
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shutting.Load() {
		return nil
	}
	s.active[c] = struct{}{}
	s.conns.Add(1)
	c.move(servermetrics.ConnIdle)
	return c
}

// move moves the connection to state st in the server's metrics.
func (c *conn) move(st servermetrics.ConnState) {
	if m := c.s.m; m != nil {
		m.Move(c.mstate, st)
		c.mstate = st
	}
}

// serve runs the connection until it closes or is parked; a parked
// connection is served again by a new goroutine when it becomes readable.
func (c *conn) serve() {
	defer c.recoverConn()
	if c.s.cfg.ProxyProtocol {
		if err := c.readProxyHeader(); err != nil {
			c.s.log.Debug("PROXY protocol header refused", "remote", c.remote.String(), "err", err)
			c.finish()
			return
		}
	}
	for {
		ex, err := c.await()
		if err == errPark {
			c.move(servermetrics.ConnParked)
			if c.s.park(c) {
				return // the parker owns c now; touch nothing
			}
			continue
		}
		if err == errH2 || err == nil && c.mayH2C && c.isH2C(ex) {
			c.move(servermetrics.ConnNone) // HTTP/2 counts it from here
			var buffered []byte
			if ex != nil {
				buffered = ex.in.Take()
			}
			c.serveH2(buffered) // finishes c when the connection ends
			return
		}
		if err != nil || !c.serveOne(ex) {
			c.finish()
			return
		}
		if ex.in.Buffered() == 0 {
			c.release(ex)
		}
	}
}

// recoverConn is the last line of defence: a panic outside a handler (an
// access-log hook, say, or a bug of the server's own) closes this
// connection and is logged, and the server goes on.
func (c *conn) recoverConn() {
	v := recover()
	if v == nil {
		return
	}
	c.s.log.Error("connection panic", "remote", c.remote.String(), "panic", v, "stack", string(debug.Stack()))
	c.linger = false
	c.finish()
}

func (c *conn) finish() {
	if c.ex != nil {
		c.release(c.ex)
	}
	if c.linger {
		c.lingerClose()
	}
	c.nc.Close()
	c.move(servermetrics.ConnNone)
	c.s.mu.Lock()
	delete(c.s.active, c)
	c.s.mu.Unlock()
	c.s.conns.Done()
}

// serveOne reads one request from ex and answers it. It reports whether
// the connection may carry another request.
func (c *conn) serveOne(ex *exchange) bool {
	start := time.Now()
	c.phase, c.headDeadline = phaseHead, start.Add(c.s.cfg.headTimeout())
	c.firstWrite = time.Time{}
	ex.in.Src = c
	req := &ex.req
	err := http1.ReadRequest(&ex.in, req, &c.s.cfg.Limits)
	c.describe(req, start)
	if c.s.cfg.Trace != nil {
		c.traceRequest(ex, err == nil)
	}
	if err != nil {
		c.refuse(ex, err)
		return false
	}
	c.phase = phaseBody
	// A head that came whole with the first read went from idle to
	// handling directly; one that needed more reads was reading (Read).
	c.move(servermetrics.ConnHandling)
	ex.begin(c)
	ok := c.runHandler(ex)
	c.relayed = ex.x.Relayed()
	c.unwatch()
	if !ok {
		c.linger = true
		return false
	}
	if !ex.out.Committed() && !c.drainBody(req) {
		// The rest of the body is too large to read past, or its framing
		// is lost: say so in the response, since the connection closes.
		ex.out.SetClose()
	}
	if err := ex.x.End(); err != nil {
		c.s.log.Debug("response incomplete", "remote", c.remote.String(), "err", err)
	}
	keep := !ex.out.Closing() && c.drainBody(req)
	c.linger = !req.Body.Done() || ex.in.Buffered() > 0
	c.phase = phaseIdle
	c.done(ex)
	// A drain that began after this response's head went out, which then
	// did not say Connection: close, leaves the connection kept: await
	// answers a next request that has already arrived, then closes.
	return keep
}

// describe fills in what the connection knows of a request: its
// addresses, scheme and arrival.
func (c *conn) describe(req *http1.Request, start time.Time) {
	req.RemoteAddr, req.LocalAddr, req.Start = c.remote, c.local, start
	req.Scheme = "http"
	if c.tlsState != nil {
		req.Scheme, req.TLS = "https", c.tlsState
	}
}

// runHandler calls the handler, recovering a panic: the client gets a 500
// if nothing was sent yet, the stack is logged, and the connection closes.
func (c *conn) runHandler(ex *exchange) (ok bool) {
	defer func() {
		if ok {
			return
		}
		v := recover()
		c.s.log.Error("handler panic", "remote", c.remote.String(), "method", string(ex.req.Method),
			"target", string(ex.req.Target), "panic", v, "stack", string(debug.Stack()))
		if !ex.out.Committed() {
			ex.begin(c)
			ex.out.SetClose()
			web.Error(&ex.x.W, 500, "internal error")
			ex.x.End()
		}
		c.done(ex)
	}()
	c.s.handler.Serve(&ex.x.W, &ex.req.Request)
	return true
}

// lingerTimeout bounds a lingering close, as nginx's lingering_timeout.
const lingerTimeout = 5 * time.Second

// lingerClose shuts the write side and reads and drops what the client is
// still sending, until it closes or lingerTimeout passes. Closing a socket
// with unread input makes the kernel send a reset, and a reset can destroy
// the response the client has not read yet (RFC 9112 §9.6).
func (c *conn) lingerClose() {
	tc := c.sock
	if c.tlsState != nil {
		// close_notify first (RFC 8446 §6.1), so the client knows the
		// response is complete; it is one small write.
		c.nc.(*tls.Conn).CloseWrite()
	}
	if tc == nil || tc.CloseWrite() != nil {
		return
	}
	tc.SetReadDeadline(time.Now().Add(lingerTimeout))
	scratch := make([]byte, 16<<10)
	for {
		if _, err := tc.Read(scratch); err != nil {
			return
		}
	}
}

// drainBody reads what the handler left of the request body, so that the
// connection can carry the next request. It reports whether that worked.
func (c *conn) drainBody(req *http1.Request) bool {
	if req.Body.Done() {
		return true
	}
	if req.Body.Err() != nil || req.ExpectContinue {
		// A broken body leaves framing unknown; a client still waiting
		// for 100 Continue may or may not send its body.
		return false
	}
	return req.Body.Discard(maxDrain) == nil
}

// refuse answers a request that could not be read, then the connection
// closes. A client that went away gets nothing; one that stalled mid-head
// gets 408; a malformed request gets its precise 4xx/5xx.
func (c *conn) refuse(ex *exchange, err error) {
	if errors.Is(err, io.EOF) {
		return
	}
	ex.begin(c)
	if !web.Refuse(&ex.x.W, err) {
		return
	}
	c.s.log.Debug("request refused", "remote", c.remote.String(), "status", ex.x.W.Status(), "err", err)
	c.linger = true
	ex.x.End()
	c.done(ex)
}

// done reports a finished exchange to the metrics, then (so that its
// duration does not include the logging) the access log.
func (c *conn) done(ex *exchange) {
	if m := c.s.m; m != nil {
		w := &ex.x.W
		m.Requests.Done(&servermetrics.Exchange{
			Method: ex.req.Method, Status: w.Status(),
			Start: ex.req.Start, Head: c.firstWrite, Duration: time.Since(ex.req.Start),
			BodyIn: ex.req.Body.Total(), BodyOut: w.BodyBytes(),
			Header: &ex.req.Header, TrustedPeer: c.trustedPeer,
		})
	}
	if c.traced {
		c.traceDone(ex)
	}
	if c.s.cfg.AccessLog != nil {
		c.s.cfg.AccessLog(&ex.req.Request, &ex.x.W)
	}
}
