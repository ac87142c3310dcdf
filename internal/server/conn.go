package server

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"nave/internal/http1"
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
	ex.x.Begin(&ex.out, &ex.req.Request)
}

// readBufferSize is the read buffer each exchange owns. Heads that do not
// fit grow a larger one for that request only.
const readBufferSize = http1.DefaultBufferSize

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
)

// conn is one client connection, served by one goroutine. Fields are owned
// by that goroutine, except state (atomic) and nc's deadline and Close
// methods, which Shutdown calls.
type conn struct {
	s   *Server
	nc  net.Conn // a *tls.Conn once a TLS handshake is done
	tcp *net.TCPConn
	// tlsConf is the listener's TLS configuration: non-nil until the
	// handshake is done on a TLS connection (see tls.go).
	tlsConf  *tls.Config
	tlsState tls.ConnectionState // valid when isTLS
	isTLS    bool
	raw      syscall.RawConn // nil when nc has no file descriptor
	remote   netip.AddrPort
	local    netip.AddrPort
	fd       int // the socket, for the parker; -1 when unknown
	state    atomic.Int32
	wakeMu   sync.Mutex
	// idleSince is when the connection last went idle (unix nanoseconds).
	idleSince atomic.Int64
	ex        *exchange // non-nil while a request is in progress or pipelined bytes wait

	phase         phase
	linger        bool      // input may still be arriving when the connection closes
	headDeadline  time.Time // when the current head must be complete
	readDeadline  time.Time // the read deadline last set on nc
	writeDeadline time.Time // the write deadline last set on nc
	wrote         time.Time // when a response was last written; zero once the idle wait took it

	// The idle read callback and what it leaves behind; readFn is bound
	// once so that waiting allocates nothing.
	readFn  func(fd uintptr) bool
	readEx  *exchange
	readN   int
	readErr error

	// WriteMore's callback and its state, bound once like readFn.
	moreFn  func(fd uintptr) bool
	moreBuf []byte
	moreN   int
	moreErr error
}

func (s *Server) newConn(nc net.Conn, tc *tls.Config) *conn {
	c := &conn{s: s, nc: nc, fd: -1, tlsConf: tc}
	c.tcp, _ = nc.(*net.TCPConn)
	// Not idle until await says so: the zero state is stateIdle, and the
	// zero idleSince is long ago, so the sweep would wake the connection
	// before its goroutine's first wait, whose fresh deadline the wake
	// could then overwrite, closing it before its first request.
	c.state.Store(stateActive)
	if a, ok := nc.RemoteAddr().(*net.TCPAddr); ok {
		c.remote = a.AddrPort()
	}
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
			c.moreFn = c.sendMore
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
	return c
}

// serve runs the connection until it closes or is parked; a parked
// connection is served again by a new goroutine when it becomes readable.
func (c *conn) serve() {
	defer c.recoverConn()
	for {
		ex, err := c.await()
		if err == errPark {
			if c.s.park(c) {
				return // the parker owns c now; touch nothing
			}
			continue
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

// errPark is await's answer when the sweep asked an idle connection to
// give up its goroutine.
var errPark = errors.New("server: park idle connection")

func (c *conn) finish() {
	if c.ex != nil {
		c.release(c.ex)
	}
	if c.linger {
		c.lingerClose()
	}
	c.nc.Close()
	c.s.mu.Lock()
	delete(c.s.active, c)
	c.s.mu.Unlock()
	c.s.conns.Done()
}

// await waits for the first bytes of the next request and returns the
// exchange holding them. It holds no buffer while it waits.
func (c *conn) await() (*exchange, error) {
	if c.ex != nil { // a pipelined request is already buffered
		return c.ex, nil
	}
	c.phase = phaseIdle
	// The idle wait starts now; the clock read at the response's last
	// write, microseconds ago, is as good (the sweep and the drift check
	// work in fractions of a second) and saves reading it again.
	now := c.wrote
	if now.IsZero() {
		now = time.Now()
	}
	c.wrote = time.Time{}
	c.idleSince.Store(c.extendReadAt(now, c.s.cfg.idleTimeout()).UnixNano())
	c.state.Store(stateIdle)
	if c.s.shutting.Load() {
		// Serve a request that had already arrived, then close.
		c.state.Store(stateActive)
		return c.keep(c.readNow())
	}
	ex, err := c.readIdle()
	if !c.state.CompareAndSwap(stateIdle, stateActive) {
		// A waker moved the read deadline; wait for it to be done, and
		// forget the deadline we thought was set.
		c.wakeMu.Lock()
		c.wakeMu.Unlock()
		c.state.Store(stateActive)
		c.readDeadline = time.Time{}
		if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
			if !c.s.shutting.Load() {
				return nil, errPark
			}
			return c.keep(c.readNow())
		}
	}
	if err == errHelloReady {
		// Out of the idle state by now, so that a waker's deadline cannot
		// cut the handshake short.
		ex, err = c.handshake()
	}
	return c.keep(ex, err)
}

func (c *conn) keep(ex *exchange, err error) (*exchange, error) {
	if err != nil {
		return nil, err
	}
	c.ex = ex
	return ex, nil
}

// readIdle blocks until the connection is readable, then reads into a
// pooled exchange's buffer.
func (c *conn) readIdle() (*exchange, error) {
	if c.raw == nil {
		ex := c.s.getExchange()
		n, err := c.nc.Read(ex.rbuf)
		return c.attach(ex, n, err)
	}
	c.readEx, c.readN, c.readErr = nil, 0, nil
	err := c.raw.Read(c.readFn)
	ex, n := c.readEx, c.readN
	c.readEx = nil
	if err == nil {
		err = c.readErr
	}
	return c.attach(ex, n, err)
}

// readReady is the RawConn read callback: it takes an exchange only when
// the read finds bytes, and hands it back when the socket has none yet.
func (c *conn) readReady(fd uintptr) bool {
	if c.readEx == nil {
		c.readEx = c.s.getExchange()
	}
	for {
		n, err := syscall.Read(int(fd), c.readEx.rbuf)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			c.s.putExchange(c.readEx)
			c.readEx = nil
			return false
		case err != nil:
			c.readErr = os.NewSyscallError("read", err)
		case n == 0:
			c.readErr = io.EOF
		}
		c.readN = max(n, 0)
		return true
	}
}

// readNow reads what has already arrived, without waiting.
func (c *conn) readNow() (*exchange, error) {
	if c.raw == nil || c.tlsConf != nil {
		return nil, ErrServerClosed
	}
	ex := c.s.getExchange()
	var n int
	var rerr error
	err := c.raw.Control(func(fd uintptr) {
		n, rerr = syscall.Read(int(fd), ex.rbuf)
	})
	if err == nil && rerr != nil {
		err = rerr
	}
	if err == nil && n <= 0 {
		err = ErrServerClosed
	}
	return c.attach(ex, n, err)
}

func (c *conn) attach(ex *exchange, n int, err error) (*exchange, error) {
	if err != nil || n <= 0 {
		if ex != nil {
			c.s.putExchange(ex)
		}
		if err == nil {
			err = io.EOF
		}
		return nil, err
	}
	ex.in.SetBuffer(ex.rbuf, n)
	return ex, nil
}

// wake makes an idle connection's wait return at once. Called by
// Shutdown and the sweep, from other goroutines.
func (c *conn) wake() {
	c.wakeMu.Lock()
	defer c.wakeMu.Unlock()
	if c.state.CompareAndSwap(stateIdle, stateWoken) {
		c.nc.SetReadDeadline(time.Now())
	}
}

func (s *Server) getExchange() *exchange {
	ex := s.pool.Get().(*exchange)
	if ex.rbuf == nil {
		ex.rbuf = make([]byte, readBufferSize)
	}
	ex.in.Src = nil
	return ex
}

func (s *Server) putExchange(ex *exchange) {
	ex.in.TakeBuffer()
	ex.in.Src = nil
	s.pool.Put(ex)
}

// release returns the connection's exchange to the pool.
func (c *conn) release(ex *exchange) {
	c.ex = nil
	c.s.putExchange(ex)
}

// serveOne reads one request from ex and answers it. It reports whether
// the connection may carry another request.
func (c *conn) serveOne(ex *exchange) bool {
	start := time.Now()
	c.phase, c.headDeadline = phaseHead, start.Add(c.s.cfg.headTimeout())
	ex.in.Src = c
	req := &ex.req
	err := http1.ReadRequest(&ex.in, req, &c.s.cfg.Limits)
	c.describe(req, start)
	if err != nil {
		c.refuse(ex, err)
		return false
	}
	c.phase = phaseBody
	ex.begin(c)
	if !c.runHandler(ex) {
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
	if c.s.cfg.AccessLog != nil {
		c.s.cfg.AccessLog(&req.Request, &ex.x.W)
	}
	return keep && !c.s.shutting.Load()
}

// describe fills in what the connection knows of a request: its
// addresses, scheme and arrival.
func (c *conn) describe(req *http1.Request, start time.Time) {
	req.RemoteAddr, req.LocalAddr, req.Start = c.remote, c.local, start
	req.Scheme = "http"
	if c.isTLS {
		req.Scheme, req.TLS = "https", &c.tlsState
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
		if c.s.cfg.AccessLog != nil {
			c.s.cfg.AccessLog(&ex.req.Request, &ex.x.W)
		}
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
	tc := c.tcp
	if c.isTLS {
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
	if c.s.cfg.AccessLog != nil {
		c.s.cfg.AccessLog(&ex.req.Request, &ex.x.W)
	}
}

// Read is the request source for http1: it applies the head deadline
// (from the request's first byte) or the body deadline (between reads).
func (c *conn) Read(p []byte) (int, error) {
	switch c.phase {
	case phaseHead:
		if !c.readDeadline.Equal(c.headDeadline) {
			c.readDeadline = c.headDeadline
			c.nc.SetReadDeadline(c.headDeadline)
		}
	case phaseBody:
		c.extendReadAt(time.Now(), c.s.cfg.bodyTimeout())
	}
	return c.nc.Read(p)
}

// Write is the response destination for http1, under the write deadline.
func (c *conn) Write(p []byte) (int, error) {
	c.extendWrite()
	return c.nc.Write(p)
}

// WriteMore is Write with MSG_MORE: the kernel holds p back until the
// next write (the file that follows, by sendfile) so that a response head
// shares the body's first packet, as nginx's tcp_nopush does.
func (c *conn) WriteMore(p []byte) (int, error) {
	if c.raw == nil {
		return c.Write(p)
	}
	c.extendWrite()
	c.moreBuf, c.moreN, c.moreErr = p, 0, nil
	err := c.raw.Write(c.moreFn)
	n := c.moreN
	c.moreBuf = nil
	if err == nil {
		err = c.moreErr
	}
	return n, err
}

// sendMore is WriteMore's RawConn callback: it sends until done, and
// reports false (wait for writability) when the socket buffer is full.
func (c *conn) sendMore(fd uintptr) bool {
	for c.moreN < len(c.moreBuf) {
		n, err := syscall.SendmsgN(int(fd), c.moreBuf[c.moreN:], nil, nil, syscall.MSG_MORE)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			return false
		case err != nil:
			c.moreErr = os.NewSyscallError("sendmsg", err)
			return true
		}
		c.moreN += n
	}
	return true
}

// sendfileChunk bounds one sendfile call, so the write deadline applies
// between chunks rather than to the whole file.
const sendfileChunk = 4 << 20

// ReadFrom lets http1 send files with sendfile(2) through *net.TCPConn.
// The write deadline is renewed for each chunk.
func (c *conn) ReadFrom(r io.Reader) (int64, error) {
	rf, ok := c.nc.(io.ReaderFrom)
	lr, limited := r.(*io.LimitedReader)
	if !ok || !limited {
		// TLS, or a reader of unknown size: copy through a pooled buffer
		// (io.Copy would allocate one per response).
		c.extendWrite()
		bp := copyBuffers.Get().(*[]byte)
		defer copyBuffers.Put(bp)
		return io.CopyBuffer(writerOnly{c}, r, *bp)
	}
	left := lr.N
	defer func() { lr.N = left }()
	var total int64
	for left > 0 {
		c.extendWrite()
		chunk := min(left, sendfileChunk)
		lr.N = chunk
		n, err := rf.ReadFrom(lr)
		total += n
		left -= n
		if err != nil || n < chunk {
			return total, err
		}
	}
	return total, nil
}

type writerOnly struct{ io.Writer }

// copyBuffers hold the buffers of copies that cannot use sendfile: a
// TLS record's worth, so that each write makes one full record.
var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 16<<10); return &b }}

// extendReadAt sets the read deadline to now+d, unless the one already
// set is within an eighth of that: deadlines cost a timer update, and
// under keep-alive load most requests then set none. It returns now.
func (c *conn) extendReadAt(now time.Time, d time.Duration) time.Time {
	if dl := now.Add(d); dl.Sub(c.readDeadline) > d/8 || c.readDeadline.After(dl) {
		c.readDeadline = dl
		c.nc.SetReadDeadline(dl)
	}
	return now
}

func (c *conn) extendWrite() {
	d := c.s.cfg.writeTimeout()
	now := time.Now()
	c.wrote = now
	if dl := now.Add(d); dl.Sub(c.writeDeadline) > d/8 {
		c.writeDeadline = dl
		c.nc.SetWriteDeadline(dl)
	}
}
