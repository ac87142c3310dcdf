package robust

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"nave/internal/wiretest"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// Out of file descriptors: nave runs with RLIMIT_NOFILE 64 and gets more
// connections than it can hold. Accept fails (EMFILE); nave must log it,
// keep running and keep serving the connections it has, and answer new
// clients once connections close.
const (
	fdLimit     = 64
	fdClients   = 120                     // well past fdLimit
	fdWaitReply = 1500 * time.Millisecond // how long a client waits before counting itself unanswered
)

func TestOutOfFileDescriptors(t *testing.T) {
	dir, files := docroot(t)
	p := startNave(t, naveConfig{nofile: fdLimit, args: []string{"--access-log", "off", "--idle-timeout", "60s", dir}})
	want := files["/small.txt"]
	if r, err := get(p.addr, "/small.txt"); err != nil || r.Status != 200 {
		t.Fatalf("first request: %d, %v", r.Status, err)
	}

	conns := make([]net.Conn, 0, fdClients)
	defer func() {
		for _, nc := range conns {
			nc.Close()
		}
	}()
	for range fdClients {
		nc, err := net.DialTimeout("tcp", p.addr, clientTimeout)
		if err != nil {
			break // the backlog is full too: refused, as expected
		}
		conns = append(conns, nc)
	}
	// Every connection asks at once; those nave could accept are answered
	// and kept alive, holding their descriptors.
	var mu sync.Mutex
	// failed counts 500s: with no descriptor left, the file server cannot
	// open the file, and says so, as nginx does. (It caches no file changed
	// in the last two seconds, as these were, so it opens it each time.)
	var answered, failed, unanswered int
	var wg sync.WaitGroup
	for _, nc := range conns {
		wg.Go(func() {
			nc.SetDeadline(time.Now().Add(fdWaitReply))
			r := &wiretest.Response{}
			_, err := io.WriteString(nc, "GET /small.txt HTTP/1.1\r\nHost: x\r\n\r\n")
			if err == nil {
				r, err = readResponse(bufio.NewReader(nc), "GET")
			}
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil && r.Status == 200 && bytes.Equal(r.Body, want):
				answered++
			case err == nil && r.Status == 500:
				failed++
			case err == nil:
				t.Errorf("answered with %d and %d body bytes, want 200 with /small.txt", r.Status, len(r.Body))
			case errors.Is(err, os.ErrDeadlineExceeded) || err == io.EOF || isReset(err):
				unanswered++
			default:
				t.Errorf("client: %v", err)
			}
		})
	}
	wg.Wait()
	t.Logf("RLIMIT_NOFILE %d: of %d connections, %d answered 200 and %d 500 (file not opened), %d unanswered, %d refused at connect",
		fdLimit, fdClients, answered, failed, unanswered, fdClients-len(conns))
	if n := answered + failed; n == 0 || n >= fdLimit || unanswered+fdClients-len(conns) == 0 {
		t.Fatalf("answered %d of %d with %d descriptors: want some, and not all", n, fdClients, fdLimit)
	}

	waitFor(t, clientTimeout, "nave logs the accept error", func() bool {
		return strings.Contains(p.stderr.String(), "too many open files")
	})
	if !p.running() {
		t.Fatalf("nave exited: %v; stderr:\n%s", p.err, p.stderr)
	}
	// Retries back off: the log is not flooded while descriptors lack.
	if n := strings.Count(p.stderr.String(), "accept failed"); n > 50 {
		t.Errorf("logged %d accept failures in a few seconds, want a back-off", n)
	}

	for _, nc := range conns {
		nc.Close()
	}
	conns = conns[:0]
	// One fresh client, no retry: it must be answered.
	nc, err := net.DialTimeout("tcp", p.addr, clientTimeout)
	if err != nil {
		t.Fatalf("fresh client: %v", err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(2 * clientTimeout))
	io.WriteString(nc, "GET /small.txt HTTP/1.1\r\nHost: x\r\n\r\n")
	if r, err := readResponse(bufio.NewReader(nc), "GET"); err != nil || r.Status != 200 || !bytes.Equal(r.Body, want) {
		t.Fatalf("fresh client after the connections closed: %d, %v; want 200 with /small.txt", r.Status, err)
	}
	t.Logf("accept failures logged: %d", strings.Count(p.stderr.String(), "accept failed"))
}
