package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// exchangeTimeout bounds one request and its response, 1 MiB included.
const exchangeTimeout = 10 * time.Second

// maxErrorsShown is how many error messages the report keeps.
const maxErrorsShown = 20

// request is one request a client makes, with the check of its answer.
type request struct {
	method, path string
	header       string // extra field lines, each ending in CRLF
	body         []byte
	check        func(r *response) error
}

// kind makes requests of one sort; weight is its share of the mix.
type kind struct {
	name   string
	weight int
	make   func(rng *rand.Rand) request
}

// response is a response read off the wire.
type response struct {
	status int
	header http.Header
	body   []byte
	close  bool
}

// tally is what all the clients of a run counted. Safe for concurrent use.
type tally struct {
	total  atomic.Int64
	errors atomic.Int64
	mu     sync.Mutex
	kinds  map[string]int64 // guarded by mu
	shown  []string         // guarded by mu: the first maxErrorsShown errors
}

func newTally() *tally { return &tally{kinds: make(map[string]int64)} }

func (t *tally) fail(format string, args ...any) {
	t.errors.Add(1)
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.shown) < maxErrorsShown {
		t.shown = append(t.shown, time.Now().Format("15:04:05 ")+fmt.Sprintf(format, args...))
	}
}

func (t *tally) merge(counts map[string]int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for k, n := range counts {
		t.kinds[k] += n
	}
}

// client makes requests to one server until its context ends: on one
// kept-alive connection, or on a new connection for each request.
type client struct {
	addr      string
	keepAlive bool
	mix       []*kind // each kind repeated by its weight
	rng       *rand.Rand
	tally     *tally
	counts    map[string]int64
	nc        *countingConn
	br        *bufio.Reader
}

// countingConn counts the bytes read, so that an error can say whether any
// of the response had come.
type countingConn struct {
	net.Conn
	n int64
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.n += int64(n)
	return n, err
}

func newClient(addr string, keepAlive bool, kinds []*kind, seed uint64, t *tally) *client {
	c := &client{addr: addr, keepAlive: keepAlive, rng: rand.New(rand.NewPCG(seed, 6)), tally: t, counts: make(map[string]int64)}
	for _, k := range kinds {
		for range k.weight {
			c.mix = append(c.mix, k)
		}
	}
	return c
}

func (c *client) run(ctx context.Context) {
	defer c.closeConn()
	defer c.tally.merge(c.counts)
	for ctx.Err() == nil {
		k := c.mix[c.rng.IntN(len(c.mix))]
		rq := k.make(c.rng)
		r, err := c.roundTrip(&rq)
		if err == nil {
			err = rq.check(r)
		}
		if err != nil {
			if ctx.Err() != nil {
				return // cut short by the end of the phase, not by nave
			}
			c.tally.fail("%s %s %s (keep-alive %v): %v", c.addr, rq.method, rq.path, c.keepAlive, err)
			c.closeConn()
			continue
		}
		c.counts[k.name]++
		c.tally.total.Add(1)
	}
}

func (c *client) roundTrip(rq *request) (*response, error) {
	if c.nc == nil {
		nc, err := net.DialTimeout("tcp", c.addr, exchangeTimeout)
		if err != nil {
			return nil, err
		}
		c.nc = &countingConn{Conn: nc}
		c.br = bufio.NewReader(c.nc)
	}
	before := c.nc.n
	c.nc.SetDeadline(time.Now().Add(exchangeTimeout))
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: soak\r\n%s", rq.method, rq.path, rq.header)
	if rq.body != nil {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(rq.body))
	}
	if !c.keepAlive {
		b.WriteString("Connection: close\r\n")
	}
	b.WriteString("\r\n")
	b.Write(rq.body)
	if _, err := c.nc.Write(b.Bytes()); err != nil {
		return nil, err
	}
	r, err := readResponse(c.br, rq.method)
	if err != nil {
		return nil, fmt.Errorf("after %d response bytes: %w", c.nc.n-before, err)
	}
	if r.close || !c.keepAlive {
		if rest, err := io.ReadAll(c.br); len(rest) > 0 || err != nil {
			return nil, fmt.Errorf("after a response with Connection: close: %d more bytes, %v", len(rest), err)
		}
		c.closeConn()
	}
	return r, nil
}

func (c *client) closeConn() {
	if c.nc != nil {
		c.nc.Close()
		c.nc, c.br = nil, nil
	}
}

func readResponse(br *bufio.Reader, method string) (*response, error) {
	resp, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("body cut after %d bytes: %w", len(body), err)
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: body, close: resp.Close}, nil
}

// expect checks a status and a whole body.
func expect(status int, body []byte) func(*response) error {
	return func(r *response) error {
		if r.status != status || !bytes.Equal(r.body, body) {
			return fmt.Errorf("got %d with %d body bytes, want %d with %d", r.status, len(r.body), status, len(body))
		}
		return nil
	}
}

// staticKinds is the mix of requests for the file server.
func staticKinds(s *site, etag string) []*kind {
	large := s.files[s.large]
	return []*kind{
		{name: "small", weight: 8, make: func(rng *rand.Rand) request {
			p := s.small[rng.IntN(len(s.small))]
			return request{method: "GET", path: p, check: expect(200, s.files[p])}
		}},
		{name: "large", weight: 1, make: func(*rand.Rand) request {
			return request{method: "GET", path: s.large, check: expect(200, large)}
		}},
		{name: "404", weight: 2, make: func(rng *rand.Rand) request {
			return request{method: "GET", path: "/missing-" + strconv.Itoa(rng.IntN(1000)), check: func(r *response) error {
				if r.status != 404 {
					return fmt.Errorf("got %d, want 404", r.status)
				}
				return nil
			}}
		}},
		{name: "head", weight: 2, make: func(rng *rand.Rand) request {
			p := s.small[rng.IntN(len(s.small))]
			return request{method: "HEAD", path: p, check: func(r *response) error {
				if want := strconv.Itoa(len(s.files[p])); r.status != 200 || r.header.Get("Content-Length") != want || len(r.body) > 0 {
					return fmt.Errorf("got %d, Content-Length %q, %d body bytes; want 200, %s, none", r.status, r.header.Get("Content-Length"), len(r.body), want)
				}
				return nil
			}}
		}},
		{name: "range", weight: 2, make: func(rng *rand.Rand) request {
			first := rng.IntN(len(large) - 1)
			last := min(first+rng.IntN(64<<10), len(large)-1)
			return request{method: "GET", path: s.large, header: fmt.Sprintf("Range: bytes=%d-%d\r\n", first, last),
				check: func(r *response) error {
					want := fmt.Sprintf("bytes %d-%d/%d", first, last, len(large))
					if r.header.Get("Content-Range") != want {
						return fmt.Errorf("got Content-Range %q, want %q", r.header.Get("Content-Range"), want)
					}
					return expect(206, large[first:last+1])(r)
				}}
		}},
		{name: "304", weight: 2, make: func(*rand.Rand) request {
			return request{method: "GET", path: "/index.html", header: "If-None-Match: " + etag + "\r\n", check: expect(304, nil)}
		}},
	}
}

// wsgiKinds is the mix of requests for the WSGI app.
func wsgiKinds() []*kind {
	return []*kind{
		{name: "wsgi-get", weight: 3, make: func(rng *rand.Rand) request {
			p := "/hello/" + strconv.Itoa(rng.IntN(1000))
			return request{method: "GET", path: p, check: expect(200, []byte("GET "+p+" 0\n"))}
		}},
		{name: "wsgi-post", weight: 1, make: func(rng *rand.Rand) request {
			body := bytes.Repeat([]byte{'x'}, 1+rng.IntN(8<<10))
			return request{method: "POST", path: "/echo", body: body,
				check: expect(200, []byte("POST /echo "+strconv.Itoa(len(body))+"\n"))}
		}},
	}
}
