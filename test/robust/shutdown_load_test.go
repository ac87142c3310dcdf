package robust

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"nave/internal/wiretest"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Graceful shutdown under load: clients fetch files of several sizes, on
// kept-alive and new connections, and nave gets SIGTERM in the middle.
// Every request that got any byte of a response must have got all of it,
// correct. After the signal, a connect may be refused (or reset, when the
// listener closes during the handshake), or a connection closed before
// any byte of a response, which means nave never read the request (it
// serves what it has read): a client can retry it, as net/http does on a
// reused connection. Anything else is a failure.
const (
	loadClients  = 6                       // half keep-alive, half a new connection per request
	loadBefore   = 1500 * time.Millisecond // load before the signal
	loadDeadline = 10 * time.Second        // one exchange, 4 MiB included
	loadBound    = 30 * time.Second        // every client done, or the test fails
)

// loadPaths are fetched in turn by every client, each starting elsewhere.
var loadPaths = []string{"/small.txt", "/huge.bin", "/index.html", "/medium.bin", "/large.bin", "/small.txt"}

// loadCounts is what the clients saw, by outcome.
type loadCounts struct {
	mu            sync.Mutex
	ok            int      // complete and correct, before the signal
	okAfterSignal int      // complete and correct, sent or finished after it
	refused       int      // connect refused (or reset) after the signal
	unreadIdle    int      // kept-alive connection closed before any response byte, after the signal
	unreadFresh   int      // new connection closed before any response byte, after the signal
	failures      []string // anything else
}

func (lc *loadCounts) add(f func(*loadCounts)) {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	f(lc)
}

// countingConn counts the bytes read from a connection.
type countingConn struct {
	net.Conn
	n int64
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.n += int64(n)
	return n, err
}

// loadClient fetches loadPaths from addr until it is refused after the
// signal, or fails.
type loadClient struct {
	addr      string
	keepAlive bool
	first     int // index into loadPaths of its first request
	files     map[string][]byte
	signalled *atomic.Bool
	counts    *loadCounts
}

func (lc *loadClient) run() {
	var cc *countingConn
	var br *bufio.Reader
	defer func() {
		if cc != nil {
			cc.Close()
		}
	}()
	fail := func(format string, args ...any) {
		lc.counts.add(func(c *loadCounts) { c.failures = append(c.failures, fmt.Sprintf(format, args...)) })
	}
	for i := lc.first; ; {
		path := loadPaths[i%len(loadPaths)]
		fresh := cc == nil
		if fresh {
			nc, err := net.DialTimeout("tcp", lc.addr, clientTimeout)
			switch {
			case err != nil && lc.signalled.Load() && (errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET)):
				// Refused, or reset by a listener closing during the
				// handshake.
				lc.counts.add(func(c *loadCounts) { c.refused++ })
				return
			case err != nil:
				fail("connect: %v", err)
				return
			}
			cc = &countingConn{Conn: nc}
			br = bufio.NewReader(cc)
		}
		before := cc.n
		closeAfter := ""
		if !lc.keepAlive {
			closeAfter = "Connection: close\r\n"
		}
		cc.SetDeadline(time.Now().Add(loadDeadline))
		_, err := fmt.Fprintf(cc, "GET %s HTTP/1.1\r\nHost: x\r\n%s\r\n", path, closeAfter)
		r := &wiretest.Response{}
		if err == nil {
			r, err = readResponse(br, "GET")
		}
		after := lc.signalled.Load()
		switch {
		case err == nil && r.Status == 200 && bytes.Equal(r.Body, lc.files[path]):
			lc.counts.add(func(c *loadCounts) {
				if after {
					c.okAfterSignal++
				} else {
					c.ok++
				}
			})
			i++
		case err == nil:
			fail("%s: got %d with %d body bytes, want 200 with %d", path, r.Status, len(r.Body), len(lc.files[path]))
			return
		case cc.n == before && after && (err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) || isReset(err)):
			// Closed before any byte of a response: retry on a new
			// connection, which the listener, closed by now, refuses.
			lc.counts.add(func(c *loadCounts) {
				if fresh {
					c.unreadFresh++
				} else {
					c.unreadIdle++
				}
			})
		default:
			fail("%s after %d response bytes (fresh connection %v, signalled %v): %v", path, cc.n-before, fresh, after, err)
			return
		}
		if err != nil || r.Close || !lc.keepAlive {
			cc.Close()
			cc = nil
		}
	}
}

func TestShutdownUnderLoad(t *testing.T) {
	dir, files := docroot(t)
	p := startNave(t, naveConfig{args: []string{"--access-log", "off", dir}})
	var signalled atomic.Bool
	counts := &loadCounts{}
	done := make(chan struct{})
	var clients sync.WaitGroup
	for i := range loadClients {
		lc := &loadClient{addr: p.addr, keepAlive: i%2 == 0, first: i, files: files, signalled: &signalled, counts: counts}
		clients.Go(lc.run)
	}
	go func() {
		clients.Wait()
		close(done)
	}()

	time.Sleep(loadBefore)
	signalled.Store(true)
	if err := p.stop(t, syscall.SIGTERM); err != nil {
		t.Errorf("nave exited with %v after SIGTERM, want 0; stderr:\n%s", err, p.stderr)
	}
	if !strings.Contains(p.stderr.String(), "shutting down") {
		t.Errorf("stderr lacks the shutdown notice:\n%s", p.stderr)
	}
	select {
	case <-done:
	case <-time.After(loadBound):
		t.Fatalf("load clients still running %v after the signal", loadBound)
	}

	c := counts
	t.Logf("%d clients: %d responses complete before SIGTERM, %d after; %d refused at connect; "+
		"closed before any response byte: %d kept-alive, %d new connections; %d failed",
		loadClients, c.ok, c.okAfterSignal, c.refused, c.unreadIdle, c.unreadFresh, len(c.failures))
	for _, f := range c.failures {
		t.Errorf("failed: %s", f)
	}
	if c.ok == 0 {
		t.Error("no request was answered before the signal")
	}
	if c.refused != loadClients && len(c.failures) == 0 {
		t.Errorf("%d clients ended refused, want all %d", c.refused, loadClients)
	}
}
