package server

import (
	"errors"
	"os"
	"time"
)

// watch starts watching the connection for the client's close while a
// handler runs (web.ResponseWriter.Gone), once the request body has been
// read to its end: the connection's reads are then idle until the handler
// returns, and the watcher only waits for readiness and polls, consuming
// nothing, so that a pipelined request's bytes stay for the next read. It
// returns the channel the watcher closes when the client is gone: its
// side shut (FIN, RST) or the connection closed under it (Shutdown's
// deadline). serveOne stops it when the handler returns.
func (c *conn) watch() <-chan struct{} {
	if c.watching != nil {
		return c.gone
	}
	if c.sock == nil || c.phase != phaseBody || c.ex == nil || !c.ex.req.Body.Done() {
		return nil
	}
	rc, err := c.sock.SyscallConn()
	if err != nil {
		// Closed under the handler already (Shutdown's deadline).
		gone := make(chan struct{})
		close(gone)
		return gone
	}
	// The watcher waits without a deadline: the body's would cut it short
	// while the app runs, and unwatch's own may still be set.
	c.readDeadline = time.Time{}
	c.sock.SetReadDeadline(time.Time{})
	gone, done := make(chan struct{}), make(chan struct{})
	c.gone, c.watching = gone, done
	c.unwatching.Store(false)
	go func() {
		defer close(done)
		closed := false
		err := rc.Read(func(fd uintptr) bool {
			closed = peerClosed(fd)
			return closed
		})
		if closed || err != nil && !errors.Is(err, os.ErrDeadlineExceeded) && !c.unwatching.Load() {
			close(gone)
		}
	}()
	return gone
}

// unwatch stops the watcher, if one runs: a read deadline in the past ends
// its wait, and the deadline the connection's reads set next replaces it.
func (c *conn) unwatch() {
	if c.watching == nil {
		return
	}
	c.unwatching.Store(true)
	past := time.Unix(1, 0)
	c.sock.SetReadDeadline(past)
	<-c.watching
	c.readDeadline = past
	c.gone, c.watching = nil, nil
}
