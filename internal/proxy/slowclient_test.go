package proxy

import (
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"nave/internal/web"
)

// blockedStream is a client that takes nothing until released: every
// Flush waits.
type blockedStream struct {
	buf     []byte
	release chan struct{}
	got     strings.Builder
}

func (s *blockedStream) Buffer() []byte { return s.buf }
func (s *blockedStream) Flush(h *web.Head, n int, tail []byte, end bool) error {
	<-s.release
	s.got.Write(s.buf[:n])
	s.got.Write(tail)
	return nil
}
func (s *blockedStream) ReadFrom(h *web.Head, n int, r io.Reader, size int64) (int64, error) {
	<-s.release
	return io.Copy(&s.got, io.LimitReader(r, size))
}
func (s *blockedStream) Interim(int, *web.Header) error                { return nil }
func (s *blockedStream) Abort()                                        {}
func (s *blockedStream) Upgrade(*web.Head) (io.ReadWriteCloser, error) { return nil, web.ErrUpgrade }
func (s *blockedStream) Detach()                                       {}
func (s *blockedStream) Draining() <-chan struct{}                     { return nil }

// TestSlowClientFreesUpstream: a response that fits the body buffer is
// read whole and its upstream connection pooled before a client that
// does not read gets it; a larger one keeps its connection while the
// client holds it back.
func TestSlowClientFreesUpstream(t *testing.T) {
	up := serve(t, sized)
	p, err := New(Config{Servers: servers(up)})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for _, tt := range []struct {
		size   int
		pooled int // idle upstream connections while the client is stuck
	}{{20 << 10, 1}, {300 << 10, 0}} {
		st := &blockedStream{buf: make([]byte, 4<<10), release: make(chan struct{})}
		r := &web.Request{Method: []byte("GET"), Path: []byte("/" + strconv.Itoa(tt.size)), Authority: []byte("a"), Start: time.Now()}
		var x web.Exchange
		x.Begin(st, r)
		done := make(chan struct{})
		go func() {
			p.Serve(&x.W, r)
			x.End()
			close(done)
		}()
		time.Sleep(100 * time.Millisecond) // the answer has come from upstream by now
		p.servers[0].mu.Lock()
		n := len(p.servers[0].idle)
		p.servers[0].mu.Unlock()
		close(st.release)
		<-done
		if n != tt.pooled {
			t.Errorf("%d bytes: %d idle upstream connections while the client was stuck, want %d", tt.size, n, tt.pooled)
		}
		if st.got.Len() != tt.size {
			t.Errorf("%d bytes: the client got %d", tt.size, st.got.Len())
		}
		p.servers[0].closeIdle()
	}
}
func (s *blockedStream) Gone() <-chan struct{} { return nil }
