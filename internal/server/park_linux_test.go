package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"nave/internal/web"
	"nave/internal/wiretest"
)

// startParking serves echo with a short park delay, so that idle
// connections are parked within the test's time.
func startParking(t *testing.T, cfg Config) (*Server, string) {
	t.Helper()
	return startParkingEvery(t, cfg, 20*time.Millisecond)
}

// startParkingEvery is startParking with the sweep's period.
func startParkingEvery(t *testing.T, cfg Config, parkAfter time.Duration) (*Server, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Handler == nil {
		cfg.Handler = web.HandlerFunc(echo)
	}
	s := New(cfg)
	s.parkAfter = parkAfter
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	t.Cleanup(func() {
		s.Close()
		if err := <-served; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
	})
	return s, ln.Addr().String()
}

// waitParked polls until n connections are parked.
func waitParked(t *testing.T, s *Server, n int) {
	t.Helper()
	for deadline := time.Now().Add(clientTimeout); ; {
		s.mu.Lock()
		p := s.parker
		s.mu.Unlock()
		if p != nil && p.count() == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("parked connections never reached %d", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func activeConns(s *Server) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.active)
}

// TestParkedConnectionServedAgain: an idle connection gives up its
// goroutine, and its next requests (one, then two pipelined) are served.
func TestParkedConnectionServedAgain(t *testing.T) {
	s, addr := startParking(t, Config{})
	c := wiretest.Dial(t, addr)
	c.Send("GET /first HTTP/1.1\r\nHost: x\r\n\r\n")
	if r := c.ReadWhole("GET"); r.Status != 200 {
		t.Fatalf("first: status %d", r.Status)
	}
	waitParked(t, s, 1)
	c.Send("GET /second HTTP/1.1\r\nHost: x\r\n\r\nGET /third HTTP/1.1\r\nHost: x\r\n\r\n")
	for _, want := range []string{"/second", "/third"} {
		r := c.ReadWhole("GET")
		if r.Status != 200 || string(r.Body) != echoLine("GET", want, "") {
			t.Fatalf("after parking: status %d body %q, want %q", r.Status, r.Body, echoLine("GET", want, ""))
		}
	}
	waitParked(t, s, 1) // and it parks again
}

// TestParkedConnectionIdleTimeout: the idle timeout still closes a parked
// connection.
func TestParkedConnectionIdleTimeout(t *testing.T) {
	s, addr := startParking(t, Config{IdleTimeout: 200 * time.Millisecond})
	c := wiretest.Dial(t, addr)
	c.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	c.ReadWhole("GET")
	waitParked(t, s, 1)
	c.ExpectEOF()
	waitParked(t, s, 0)
	for deadline := time.Now().Add(clientTimeout); activeConns(s) != 0; {
		if time.Now().After(deadline) {
			t.Fatal("the timed-out connection is still tracked")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestParkedClientCloses: a client that hangs up while parked is noticed
// and its connection released.
func TestParkedClientCloses(t *testing.T) {
	s, addr := startParking(t, Config{})
	c := wiretest.Dial(t, addr)
	c.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	c.ReadWhole("GET")
	waitParked(t, s, 1)
	c.NetConn().Close()
	for deadline := time.Now().Add(clientTimeout); activeConns(s) != 0; {
		if time.Now().After(deadline) {
			t.Fatal("a parked connection whose client closed is still tracked")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestShutdownClosesParked: Shutdown returns promptly with parked
// connections, and closes them.
func TestShutdownClosesParked(t *testing.T) {
	s, addr := startParking(t, Config{})
	var cs []*wiretest.Conn
	for range 5 {
		c := wiretest.Dial(t, addr)
		c.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		c.ReadWhole("GET")
		cs = append(cs, c)
	}
	waitParked(t, s, 5)
	ctx, cancel := context.WithTimeout(context.Background(), clientTimeout)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	for _, c := range cs {
		c.ExpectEOF()
	}
}

// TestSweepSparesNewConnections: the sweep, ticking as fast as it can,
// never closes a connection that was just accepted. A new connection was
// once taken for idle since 1970 (its zero state and idle time), so a
// sweep could wake it between its goroutine's first deadline and its
// idle wait: the wait then timed out at once and closed the connection
// before its first request.
func TestSweepSparesNewConnections(t *testing.T) {
	_, addr := startParkingEvery(t, Config{}, time.Millisecond)
	const clients, each = 8, 250
	errs := make(chan error, clients)
	for i := range clients {
		go func() {
			for j := range each {
				nc, err := net.Dial("tcp", addr)
				if err != nil {
					errs <- err
					return
				}
				nc.SetDeadline(time.Now().Add(clientTimeout))
				// Sometimes after the server's goroutine is already waiting.
				time.Sleep(time.Duration((i*each+j)%4) * 100 * time.Microsecond)
				_, err = nc.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
				var b []byte
				if err == nil {
					b, err = io.ReadAll(nc)
				}
				nc.Close()
				if err == nil && !strings.HasPrefix(string(b), "HTTP/1.1 200 ") {
					err = fmt.Errorf("connection %d: got %q, want a 200", j, b)
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range clients {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
