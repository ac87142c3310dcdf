package http2

import (
	"bytes"
	"crypto/sha256"
	"io"
	"nave/internal/web"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	xhttp2 "golang.org/x/net/http2"
	"golang.org/x/net/http2/h2c"
)

// h2cServer serves handler over h2c (Go's x/net server, a reference
// implementation) and counts the connections it accepts.
func h2cServer(t *testing.T, handler http.HandlerFunc) (string, *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns atomic.Int64
	srv := &http.Server{Handler: h2c.NewHandler(handler, &xhttp2.Server{}),
		ConnState: func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				conns.Add(1)
			}
		}}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String(), &conns
}

func dialClient(t *testing.T, addr string, cfg ClientConfig) *ClientConn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	cc, err := NewClientConn(nc, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

// do sends one request and reads the whole response.
func do(t *testing.T, cc *ClientConn, req *ClientRequest) (int, *web.Header, []byte, *web.Header) {
	t.Helper()
	if !cc.Reserve() {
		t.Fatal("no stream slot")
	}
	s, err := cc.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	status, header, err := s.Head(time.Now().Add(10 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	buf := make([]byte, 7000)
	for {
		n, err := s.ReadBody(buf, time.Now().Add(10*time.Second))
		body.Write(buf[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("body after %d bytes: %v", body.Len(), err)
		}
	}
	// The stream's fields are valid until Close: copies.
	return status, cloneFields(header), body.Bytes(), cloneFields(s.Trailer())
}

func cloneFields(h *web.Header) *web.Header {
	c := new(web.Header)
	for i := range h.Len() {
		name, value := h.At(i)
		c.AddTrusted(name, value)
	}
	return c
}

func get(fields *web.Header, name string) string { return string(fields.Get(name)) }

// TestClientExchange: a request with fields and a body of 4 MiB (past
// every initial window, so both sides' flow control must work) reaches
// Go's h2c server whole, and its answer comes back with fields, a body
// of 3 MiB and trailers.
func TestClientExchange(t *testing.T) {
	addr, _ := h2cServer(t, func(w http.ResponseWriter, r *http.Request) {
		data, err := io.ReadAll(r.Body)
		if err != nil || r.ProtoMajor != 2 {
			http.Error(w, "bad", 400)
			return
		}
		sum := sha256.Sum256(data)
		w.Header().Set("Trailer", "X-Sum")
		w.Header().Set("X-Got", r.Method+" "+r.Host+" "+r.URL.RequestURI()+" "+r.Header.Get("X-Test")+" "+strconv.Itoa(len(data)))
		w.WriteHeader(201)
		w.Write(bytes.Repeat([]byte("0123456789abcdef"), 3<<20/16))
		w.Header().Set("X-Sum", string(strconv.AppendInt(nil, int64(sum[0]), 10)))
	})
	cc := dialClient(t, addr, ClientConfig{StreamWindow: 64 << 10, ConnWindow: 128 << 10})
	body := bytes.Repeat([]byte("x"), 4<<20)
	body[100] = 'y'
	var hd web.Header
	hd.Add("X-Test", "yes")
	status, header, got, trailer := do(t, cc, &ClientRequest{Method: []byte("POST"), Scheme: []byte("http"), Authority: []byte("up.test"),
		Path: []byte("/a?b=c"), Header: &hd, Body: bytes.NewReader(body), ContentLength: int64(len(body))})
	sum := sha256.Sum256(body)
	if status != 201 || get(header, "x-got") != "POST up.test /a?b=c yes 4194304" {
		t.Errorf("got %d %v", status, header)
	}
	if len(got) != 3<<20 || !bytes.Equal(got[:16], []byte("0123456789abcdef")) {
		t.Errorf("body: %d bytes", len(got))
	}
	if get(trailer, "x-sum") != strconv.Itoa(int(sum[0])) {
		t.Errorf("trailer %v", trailer)
	}
}

// TestClientMultiplexes: requests at once share one connection, each
// stream answered with its own response.
func TestClientMultiplexes(t *testing.T) {
	addr, conns := h2cServer(t, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(20 * time.Millisecond)
		io.WriteString(w, "answer to "+r.URL.Path)
	})
	cc := dialClient(t, addr, ClientConfig{})
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			path := "/" + strconv.Itoa(i)
			_, _, body, _ := do(t, cc, &ClientRequest{Method: []byte("GET"), Scheme: []byte("http"), Authority: []byte("a"), Path: []byte(path)})
			if string(body) != "answer to "+path {
				t.Errorf("%s: got %q", path, body)
			}
		})
	}
	wg.Wait()
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections, want 1", n)
	}
}

// TestClientServerGoesAway: a server that closes the connection fails
// the streams in flight, and the connection takes no more requests.
func TestClientServerGoesAway(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		io.ReadFull(c, make([]byte, len(clientPrefaceText)))
		c.Write(appendFrameHeader(nil, 0, frameSettings, 0, 0))
		time.Sleep(100 * time.Millisecond)
		c.Close()
	}()
	cc := dialClient(t, ln.Addr().String(), ClientConfig{})
	if !cc.Reserve() {
		t.Fatal("no slot")
	}
	s, err := cc.RoundTrip(&ClientRequest{Method: []byte("GET"), Scheme: []byte("http"), Authority: []byte("a"), Path: []byte("/")})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Head(time.Now().Add(5 * time.Second)); err == nil {
		t.Error("a head from a server that closed")
	}
	s.Close()
	if cc.Reserve() || !cc.Dead() {
		t.Error("a dead connection takes requests")
	}
}
