package server

// The idle machinery: between requests a connection holds no buffer; it
// waits for readability, takes a pooled exchange when bytes arrive, and
// can be woken (by Shutdown, or the sweep that parks it).

import (
	"errors"
	"io"
	"os"
	"runtime"
	"syscall"
	"time"

	"nave/internal/http1"
	"nave/internal/rawio"
	"nave/internal/servermetrics"
)

// readBufferSize is the read buffer each exchange owns. Heads that do not
// fit grow a larger one for that request only.
const readBufferSize = http1.DefaultBufferSize

// errPark is await's answer when the sweep asked an idle connection to
// give up its goroutine.
var errPark = errors.New("server: park idle connection")

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
	yield := c.relayed && !now.IsZero() // a relayed answer just went out
	c.relayed = false
	if now.IsZero() {
		now = time.Now()
	}
	c.wrote = time.Time{}
	c.move(servermetrics.ConnIdle)
	c.idleSince.Store(c.extendReadAt(now, c.s.cfg.idleTimeout()).UnixNano())
	c.state.Store(stateIdle)
	if c.s.shutting.Load() {
		// Serve a request that had already arrived, then close.
		c.state.Store(stateActive)
		return c.keep(c.readNow())
	}
	ex, err := c.readIdle(yield)
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
		c.move(servermetrics.ConnReading)
		if err = c.handshake(); err != nil {
			return nil, err
		}
		// The first request's wait is an idle wait like any other, which
		// a drain wakes: a client that shook hands and sent nothing must
		// not hold a shutdown up until the drain timeout.
		return c.await()
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
// pooled exchange's buffer. yield says the connection has just written a
// relayed answer (web.ResponseWriter.Relayed).
func (c *conn) readIdle(yield bool) (*exchange, error) {
	if yield {
		// A client that waits for each response (nearly every one) has
		// not sent its next request yet: a read now finds nothing, and
		// costs a system call, a park, and the poller's wake-up later.
		// Under load the other connections' goroutines, woken together
		// by the worker's batch of answers, wait to run;
		// after them the next request is usually there, read at the
		// first try. With nothing else to run, the yield returns at
		// once. Not after an answer made inline (a file): connections
		// that always yield and find their next request keep the run
		// queue from ever emptying, the only time the scheduler polls
		// the network, and those waiting there starve (p99 2 -> 7 ms on
		// the 14 B file, 4 -> 8-13 ms through the reverse proxy).
		runtime.Gosched()
	}
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
		n, err := rawio.Read(int(fd), c.readEx.rbuf)
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

// readNow reads what has already arrived, without waiting for more: the
// next request of a connection that was idle when a drain began. Nothing
// there closes it (ErrServerClosed). A TLS connection whose handshake has
// not begun has sent no request yet (nave takes no early data): it closes.
func (c *conn) readNow() (*exchange, error) {
	if c.tlsState != nil {
		return c.readNowTLS()
	}
	if c.raw == nil || c.tlsConf != nil {
		return nil, ErrServerClosed
	}
	ex := c.s.getExchange()
	var n int
	var rerr error
	err := c.raw.Control(func(fd uintptr) {
		n, rerr = rawio.Read(int(fd), ex.rbuf)
	})
	if err == nil && rerr != nil {
		err = rerr
	}
	if err == nil && n <= 0 {
		err = ErrServerClosed
	}
	return c.attach(ex, n, err)
}

// readNowTLS is readNow through crypto/tls, where a request may have
// arrived in two places. crypto/tls may hold it already: the plaintext
// left of a record, or whole records read from the socket with the last
// one. A read with a deadline in the past returns those, and fails at
// once, without a system call, when it would have to read the socket.
// Or its records wait in the socket: then a peek finds bytes, and a read
// bounded by the head timeout takes them. A whole record there is read
// at once; one whose rest is still on its way takes what the rest of a
// plain request head would (and the drain timeout bounds both). The
// drain waits for nothing else.
//
// One case is left: a record cut halfway by the wake's deadline, its
// first part in crypto/tls (which says nothing of it) and the rest not
// yet in the socket. Its request closes unanswered, as one racing the
// close of an idle connection does; a request of a segment or less
// arrives whole, so only a head or body larger than that, arriving
// within a round trip of the drain's start, can meet it.
func (c *conn) readNowTLS() (*exchange, error) {
	ex := c.s.getExchange()
	past := time.Unix(1, 0)
	c.readDeadline = past
	c.nc.SetReadDeadline(past)
	n, err := c.nc.Read(ex.rbuf)
	if n > 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
		if err == nil && n <= 0 {
			err = ErrServerClosed
		}
		return c.attach(ex, n, err)
	}
	if !c.socketHasBytes() {
		c.s.putExchange(ex)
		return nil, ErrServerClosed
	}
	c.extendReadAt(time.Now(), c.s.cfg.headTimeout())
	n, err = c.nc.Read(ex.rbuf)
	return c.attach(ex, n, err)
}

// socketHasBytes reports whether the connection's socket holds bytes not
// yet read, without reading them.
func (c *conn) socketHasBytes() bool {
	if c.sock == nil {
		return false
	}
	rc, err := c.sock.SyscallConn()
	if err != nil {
		return false
	}
	n := 0
	rc.Control(func(fd uintptr) {
		var b [1]byte
		for {
			var err error
			n, _, err = syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
			if err != syscall.EINTR {
				return
			}
		}
	})
	return n > 0
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
	if c.h2 != nil {
		c.h2.Shutdown() // GOAWAY; streams in flight finish
		return
	}
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
