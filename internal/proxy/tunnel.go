package proxy

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"nave/internal/web"
)

var errUnaskedUpgrade = errors.New("proxy: 101 to a request that asked for no upgrade")

// isUpgrade reports whether r asks to switch protocols: an HTTP/1.1
// Upgrade (RFC 9110 §7.8), or an HTTP/2 extended CONNECT (RFC 8441).
func isUpgrade(r *web.Request) bool {
	if r.Protocol != nil {
		return true
	}
	if r.Proto != web.HTTP11 || !r.Header.Has("Upgrade") {
		return false
	}
	for v := range r.Header.Values("Connection") {
		if web.HasToken(v, "upgrade") {
			return true
		}
	}
	return false
}

// idempotent reports whether a request with this method may be sent
// twice (RFC 9110 §9.2.2).
func idempotent(m []byte) bool {
	switch string(m) {
	case "GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE":
		return true
	}
	return false
}

// deadliner is a byte stream whose reads can be bounded.
type deadliner interface {
	SetReadDeadline(time.Time) error
}

// tunnel answers the client with the server's 101 and copies bytes both
// ways until either side ends or neither sends a byte for TunnelIdle.
func (h *Handler) tunnel(c *conn, w *web.ResponseWriter, r *web.Request) attempt {
	hd := w.Header()
	copyFields(hd, &c.resp.Header)
	if r.Protocol != nil {
		// RFC 8441 §5: the client gets 200 and no handshake fields.
		hd.Del("Sec-WebSocket-Accept")
	} else {
		hd.Set("Connection", "Upgrade")
		hd.SetBytes("Upgrade", c.resp.Header.Get("Upgrade"))
	}
	client, err := w.Upgrade()
	if err != nil {
		c.close()
		return attempt{}
	}
	c.private = true // never pooled again
	t := &tunnelState{idle: h.set.tunnel}
	t.touch()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		// Bytes the server sent right after its 101 come first.
		if n := c.in.Buffered(); n > 0 {
			if _, err := client.Write(c.in.Take()); err != nil {
				t.stop(client, c.nc)
				return
			}
		}
		t.copy(client, c.nc, c.nc)
		t.stop(client, c.nc)
	}()
	t.copy(c.nc, client, client)
	if cw, ok := c.nc.(interface{ CloseWrite() error }); ok && !t.stopped.Load() {
		cw.CloseWrite() // the client is done sending; let the server finish
	} else {
		t.stop(client, c.nc)
	}
	wg.Wait()
	c.nc.Close()
	return attempt{}
}

type tunnelState struct {
	idle    time.Duration
	last    atomic.Int64 // unix nanoseconds of the last byte either way
	stopped atomic.Bool
}

func (t *tunnelState) touch() { t.last.Store(time.Now().UnixNano()) }

// stop ends both directions: reads on both sides fail at once.
func (t *tunnelState) stop(client io.ReadWriteCloser, up net.Conn) {
	t.stopped.Store(true)
	if d, ok := client.(deadliner); ok {
		d.SetReadDeadline(time.Unix(1, 0))
	}
	up.SetReadDeadline(time.Unix(1, 0))
}

// copy moves bytes from src to dst until src ends or fails, or the tunnel
// has been idle (both ways) for t.idle.
func (t *tunnelState) copy(dst io.Writer, src io.Reader, deadlines any) {
	buf := make([]byte, 16<<10)
	d, _ := deadlines.(deadliner)
	for !t.stopped.Load() {
		if d != nil && t.idle > 0 {
			d.SetReadDeadline(time.Unix(0, t.last.Load()).Add(t.idle))
		}
		n, err := src.Read(buf)
		if n > 0 {
			t.touch()
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() && !t.stopped.Load() &&
				time.Since(time.Unix(0, t.last.Load())) < t.idle {
				continue // the other way was busy
			}
			return
		}
	}
}
