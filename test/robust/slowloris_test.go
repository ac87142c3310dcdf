package robust

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"nave/internal/wiretest"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Slowloris: hundreds of clients trickle a request head a byte at a time,
// each under the head timeout's radar per byte but never finishing. nave
// must cut each one at the head deadline (408, or a close) while normal
// clients, on kept-alive and new connections, get every answer.
const (
	slowClients   = 300
	normalClients = 5
	slowHead      = time.Second            // nave's --head-timeout
	trickleEvery  = 100 * time.Millisecond // one byte per tick
	// slowBound makes a slow client that is never cut fail the test rather
	// than hang it; it is no timing claim.
	slowBound = 20 * time.Second
)

// slowOutcome is what one slow client saw.
type slowOutcome struct {
	how     string        // "408", "close" (EOF or reset without a response), or "" when not cut
	elapsed time.Duration // from its first byte to the cut
	err     error         // anything unexpected
}

// trickle sends a head that never ends, one byte per tick, until the server
// cuts the connection. started is called after the first byte is sent.
func trickle(addr string, started func()) slowOutcome {
	nc, err := net.DialTimeout("tcp", addr, clientTimeout)
	if err != nil {
		started()
		return slowOutcome{err: err}
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(slowBound))
	head := []byte("GET /small.txt HTTP/1.1\r\nHost: x\r\nX-Slow: ")
	start := time.Now()
	_, werr := nc.Write(head[:1])
	started()
	if werr != nil {
		return slowOutcome{err: werr}
	}
	cut := make(chan slowOutcome, 1)
	go func() {
		br := bufio.NewReader(nc)
		r, err := readResponse(br, "GET")
		elapsed := time.Since(start)
		switch {
		case err == nil && r.Status == 408 && r.Close:
			if rest, err := wiretest.ReadToEOF(br); err != nil || len(rest) > 0 {
				cut <- slowOutcome{err: fmt.Errorf("after the 408: %q, %v", rest, err)}
				return
			}
			cut <- slowOutcome{how: "408", elapsed: elapsed}
		case err == nil:
			cut <- slowOutcome{err: fmt.Errorf("got %d close=%v, want 408 and a close", r.Status, r.Close)}
		case err == io.EOF || isReset(err):
			cut <- slowOutcome{how: "close", elapsed: elapsed}
		default:
			cut <- slowOutcome{err: fmt.Errorf("after %v: %v", elapsed, err)}
		}
	}()
	tick := time.NewTicker(trickleEvery)
	defer tick.Stop()
	for i := 1; ; i++ {
		select {
		case o := <-cut:
			return o
		case <-tick.C:
		}
		b := byte('a')
		if i < len(head) {
			b = head[i]
		}
		if _, err := nc.Write([]byte{b}); err != nil {
			// Cut while writing: the reader reports how.
			return <-cut
		}
	}
}

// normalLoad makes requests for /small.txt until stop closes, alternating
// kept-alive and new connections, and returns how many were answered
// correctly and the failures.
func normalLoad(addr string, want []byte, stop <-chan struct{}) (int, []error) {
	ok := 0
	var errs []error
	var ka *bufio.Reader
	var kaConn net.Conn
	defer func() {
		if kaConn != nil {
			kaConn.Close()
		}
	}()
	for i := 0; ; i++ {
		select {
		case <-stop:
			return ok, errs
		default:
		}
		r := &wiretest.Response{}
		var err error
		if i%2 == 0 {
			r, err = get(addr, "/small.txt")
		} else {
			if kaConn == nil {
				if kaConn, err = net.DialTimeout("tcp", addr, clientTimeout); err != nil {
					errs = append(errs, err)
					kaConn = nil
					continue
				}
				ka = bufio.NewReader(kaConn)
			}
			kaConn.SetDeadline(time.Now().Add(clientTimeout))
			if _, err = io.WriteString(kaConn, "GET /small.txt HTTP/1.1\r\nHost: x\r\n\r\n"); err == nil {
				r, err = readResponse(ka, "GET")
			}
			if err != nil || r.Close {
				kaConn.Close()
				kaConn = nil
			}
		}
		switch {
		case err != nil:
			errs = append(errs, err)
		case r.Status != 200 || !bytes.Equal(r.Body, want):
			errs = append(errs, fmt.Errorf("got %d with %d body bytes, want 200 with /small.txt", r.Status, len(r.Body)))
		default:
			ok++
		}
	}
}

func TestSlowloris(t *testing.T) {
	dir, files := docroot(t)
	p := startNave(t, naveConfig{args: []string{"--head-timeout", slowHead.String(), "--access-log", "off", dir}})

	var started sync.WaitGroup
	started.Add(slowClients)
	outcomes := make(chan slowOutcome, slowClients)
	for range slowClients {
		go func() { outcomes <- trickle(p.addr, started.Done) }()
	}
	// Normal load starts once every slow client holds a connection.
	started.Wait()
	stop := make(chan struct{})
	var normalOK atomic.Int64
	var mu sync.Mutex
	var normalErrs []error
	var normal sync.WaitGroup
	for range normalClients {
		normal.Go(func() {
			n, errs := normalLoad(p.addr, files["/small.txt"], stop)
			normalOK.Add(int64(n))
			mu.Lock()
			normalErrs = append(normalErrs, errs...)
			mu.Unlock()
		})
	}

	var elapsed []time.Duration
	count := map[string]int{}
	for range slowClients {
		o := <-outcomes
		switch {
		case o.err != nil:
			t.Errorf("slow client: %v", o.err)
		case o.elapsed < slowHead:
			t.Errorf("slow client cut after %v, before the %v head timeout", o.elapsed, slowHead)
		}
		count[o.how]++
		elapsed = append(elapsed, o.elapsed)
	}
	close(stop)
	normal.Wait()

	for i, err := range normalErrs {
		if i == 5 {
			t.Errorf("... %d normal request failures in all", len(normalErrs))
			break
		}
		t.Errorf("normal request: %v", err)
	}
	if normalOK.Load() == 0 {
		t.Error("no normal request was answered")
	}
	if !p.running() {
		t.Fatalf("nave exited: %v; stderr:\n%s", p.err, p.stderr)
	}
	slices.Sort(elapsed)
	t.Logf("%d slow clients cut: %d with 408, %d closed; first byte to cut min %v, median %v, max %v",
		slowClients, count["408"], count["close"], elapsed[0].Round(time.Millisecond),
		elapsed[len(elapsed)/2].Round(time.Millisecond), elapsed[len(elapsed)-1].Round(time.Millisecond))
	t.Logf("%d normal clients: %d requests answered, %d failed", normalClients, normalOK.Load(), len(normalErrs))
}
