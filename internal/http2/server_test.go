package http2_test

// Behaviour tests through Go's own HTTP/2 client (net/http, h2c with prior
// knowledge) against a real server on loopback.

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"nave/internal/http2"
	"nave/internal/server"
	"nave/internal/web"
)

// serve runs a server for h on loopback and returns its base URL and the
// server.
func serveFunc(t *testing.T, h web.HandlerFunc, h2 http2.Config) (string, *server.Server) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := server.New(server.Config{Handler: h, HTTP2: h2})
	done := make(chan struct{})
	go func() { s.Serve(ln); close(done) }()
	t.Cleanup(func() { s.Close(); <-done })
	return "http://" + ln.Addr().String(), s
}

// h2c is an HTTP/2-only client in the clear.
func h2c(t *testing.T) *http.Client {
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	tr := &http.Transport{Protocols: &p, ExpectContinueTimeout: 5 * time.Second,
		TLSClientConfig: &tls.Config{}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

func TestTrailersBothWays(t *testing.T) {
	url, _ := serveFunc(t, func(w *web.ResponseWriter, r *web.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		w.Trailer().SetBytes("X-Echo", r.Trailer.Get("x-check"))
		w.Trailer().Set("X-Length", strings.Repeat("n", int(n%7)))
		w.WriteString("body")
		w.Flush()
	}, http2.Config{})
	pr, pw := io.Pipe()
	req, _ := http.NewRequest("POST", url+"/", pr)
	req.Trailer = http.Header{"X-Check": nil}
	go func() {
		pw.Write(bytes.Repeat([]byte("x"), 10))
		req.Trailer.Set("X-Check", "sum-42")
		pw.Close()
	}()
	resp, err := h2c(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Proto != "HTTP/2.0" || string(body) != "body" {
		t.Fatalf("got %s %q", resp.Proto, body)
	}
	if got := resp.Trailer.Get("X-Echo"); got != "sum-42" {
		t.Errorf("request trailer echoed as %q, want sum-42", got)
	}
	if got := resp.Trailer.Get("X-Length"); got != "nnn" {
		t.Errorf("X-Length trailer %q, want nnn (10 %% 7 bytes)", got)
	}
}

func TestInterimResponses(t *testing.T) {
	url, _ := serveFunc(t, func(w *web.ResponseWriter, r *web.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(103)
		w.Header().Del("Link")
		b, _ := io.ReadAll(r.Body) // 100 Continue goes out here
		w.Write(b)
	}, http2.Config{})
	var interims []int
	var links []string
	trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
		interims = append(interims, code)
		links = append(links, h.Get("Link"))
		return nil
	}}
	req, _ := http.NewRequest("PUT", url+"/", strings.NewReader("payload"))
	req.Header.Set("Expect", "100-continue")
	req = req.WithContext(httptrace.WithClientTrace(context.Background(), trace))
	resp, err := h2c(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "payload" || resp.StatusCode != 200 {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
	// The 103 first, with its Link, then the 100 the body read asked for.
	if len(interims) != 2 || interims[0] != 103 || links[0] != "</style.css>; rel=preload" || interims[1] != 100 {
		t.Errorf("interim responses %v with Link %q, want 103 with the preload, then 100", interims, links)
	}
	if resp.Header.Get("Link") != "" {
		t.Errorf("the final response kept Link %q", resp.Header.Get("Link"))
	}
}

func TestExpectContinueSent(t *testing.T) {
	url, _ := serveFunc(t, func(w *web.ResponseWriter, r *web.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Write(b)
	}, http2.Config{})
	var got100 atomic.Bool
	trace := &httptrace.ClientTrace{Got100Continue: func() { got100.Store(true) }}
	req, _ := http.NewRequest("PUT", url+"/", strings.NewReader("payload"))
	req.Header.Set("Expect", "100-continue")
	req = req.WithContext(httptrace.WithClientTrace(context.Background(), trace))
	resp, err := h2c(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "payload" || !got100.Load() {
		t.Fatalf("body %q, 100 Continue seen: %v", body, got100.Load())
	}
}

func TestCookieCrumbsAndHost(t *testing.T) {
	url, _ := serveFunc(t, func(w *web.ResponseWriter, r *web.Request) {
		w.Write(r.Header.Get("Cookie"))
		w.WriteString("|")
		w.Write(r.Header.Get("Host"))
		w.WriteString("|")
		w.Write(r.Authority)
		w.WriteString("|" + r.Proto.String())
	}, http2.Config{})
	req, _ := http.NewRequest("GET", url+"/", nil)
	req.Header.Set("Cookie", "a=1; b=2; c=3") // Go's client splits it into crumbs (RFC 9113 §8.2.3)
	resp, err := h2c(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	host := strings.TrimPrefix(url, "http://")
	if want := "a=1; b=2; c=3|" + host + "|" + host + "|HTTP/2.0"; string(body) != want {
		t.Errorf("got %q, want %q", body, want)
	}
}

// TestArrived: a request's Arrived is set, no earlier than its Start and
// no earlier than the client began sending it, and no later than the
// handler runs.
func TestArrived(t *testing.T) {
	var got, start atomic.Pointer[time.Time]
	var ran atomic.Int64
	url, _ := serveFunc(t, func(w *web.ResponseWriter, r *web.Request) {
		ran.Store(time.Now().UnixNano())
		a, st := r.Arrived, r.Start // r is the stream's, reused after
		got.Store(&a)
		start.Store(&st)
	}, http2.Config{})
	sent := time.Now()
	resp, err := h2c(t).Get(url + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	a := *got.Load()
	switch {
	case a.IsZero():
		t.Fatal("Arrived not set")
	case a.Before(*start.Load()) || a.Before(sent):
		t.Errorf("Arrived %v is before Start %v or the send %v", a, *start.Load(), sent)
	case a.UnixNano() > ran.Load():
		t.Errorf("Arrived %v is after the handler ran", a)
	}
}

// TestRepeatedHeads: responses that repeat on a connection, between
// others that change the HPACK table, arrive each with its own fields (a
// remembered block is reused only while the table is as it was).
func TestRepeatedHeads(t *testing.T) {
	url, _ := serveFunc(t, func(w *web.ResponseWriter, r *web.Request) {
		name := strings.TrimPrefix(string(r.Path), "/")
		w.Header().Add("X-"+name, "value of "+name)
		w.Header().Add("Content-Type", "text/"+name)
		w.WriteString(name)
	}, http2.Config{})
	c := h2c(t)
	for i, name := range strings.Fields("a a a b a a b b c a c a a b") {
		resp, err := c.Get(url + "/" + name)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got := resp.Header.Get("X-"+name) + "|" + resp.Header.Get("Content-Type") + "|" + string(body)
		if want := "value of " + name + "|text/" + name + "|" + name; got != want || len(resp.Header) != 5 {
			t.Errorf("response %d (/%s): %q, want %q; header %v", i, name, got, want, resp.Header)
		}
	}
}

func TestBodylessResponses(t *testing.T) {
	url, _ := serveFunc(t, func(w *web.ResponseWriter, r *web.Request) {
		switch r.Path[1] {
		case 'n':
			w.WriteHeader(204)
		case 'm':
			w.Header().Set("ETag", `"x"`)
			w.WriteHeader(304)
		}
		w.WriteString("a body that must not be sent")
	}, http2.Config{})
	client := h2c(t)
	for _, tc := range []struct {
		method, path string
		status       int
		length       string // the content-length field sent
	}{
		{"HEAD", "/x", 200, "28"}, {"GET", "/no", 204, ""}, {"GET", "/mod", 304, ""},
	} {
		req, _ := http.NewRequest(tc.method, url+tc.path, nil)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		cl := resp.Header.Get("Content-Length")
		if err != nil || resp.StatusCode != tc.status || len(body) != 0 || cl != tc.length {
			t.Errorf("%s %s: %d, content-length %q, body %q, %v; want %d, content-length %q, no body",
				tc.method, tc.path, resp.StatusCode, cl, body, err, tc.status, tc.length)
		}
	}
}

func TestHandlerPanic(t *testing.T) {
	url, _ := serveFunc(t, func(w *web.ResponseWriter, r *web.Request) {
		if r.Path[1] == 'l' {
			w.WriteString("partial")
			w.Flush()
		}
		panic("boom")
	}, http2.Config{})
	client := h2c(t)
	resp, err := client.Get(url + "/early")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 500 {
		t.Errorf("a panic before the head: %d, want 500", resp.StatusCode)
	}
	resp, err = client.Get(url + "/late")
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	if err == nil || !strings.Contains(err.Error(), "INTERNAL_ERROR") {
		t.Errorf("a panic after the head: body read gave %v, want the stream reset (INTERNAL_ERROR)", err)
	}
	// The connection carries on.
	if resp, err := client.Get(url + "/early"); err != nil || resp.StatusCode != 500 {
		t.Errorf("after the reset: %v", err)
	}
}

func TestShutdownFinishesStreams(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	url, s := serveFunc(t, func(w *web.ResponseWriter, r *web.Request) {
		started <- struct{}{}
		<-release
		w.WriteString("finished")
	}, http2.Config{})
	client := h2c(t)
	type result struct {
		body string
		err  error
	}
	got := make(chan result, 1)
	go func() {
		resp, err := client.Get(url + "/")
		if err != nil {
			got <- result{err: err}
			return
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		got <- result{string(b), err}
	}()
	<-started
	shut := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		shut <- s.Shutdown(ctx)
	}()
	time.Sleep(50 * time.Millisecond) // the GOAWAY goes out while the stream runs
	close(release)
	if r := <-got; r.err != nil || r.body != "finished" {
		t.Errorf("the stream in flight got %q, %v; want it finished", r.body, r.err)
	}
	if err := <-shut; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

func TestBodyBackPressure(t *testing.T) {
	const window = 64 << 10
	gate := make(chan struct{})
	url, _ := serveFunc(t, func(w *web.ResponseWriter, r *web.Request) {
		<-gate
		n, err := io.Copy(io.Discard, r.Body)
		if err != nil {
			t.Errorf("reading the body: %v", err)
		}
		w.WriteString(strings.Repeat("x", int(n%10)))
	}, http2.Config{StreamWindow: window, ConnWindow: window})
	const size = 16 << 20
	var sent atomic.Int64
	body := &countingReader{n: size, sent: &sent}
	done := make(chan error, 1)
	go func() {
		req, _ := http.NewRequest("POST", url+"/", body)
		resp, err := h2c(t).Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		done <- err
	}()
	time.Sleep(300 * time.Millisecond)
	// Before the handler reads, the client can have sent no more than the
	// window; what Go's client has read ahead of that is its own buffer.
	if n := sent.Load(); n > 4<<20 {
		t.Errorf("the client had sent %d bytes before the handler read any; the window is %d", n, window)
	}
	close(gate)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := sent.Load(); n != size {
		t.Errorf("sent %d of %d bytes", n, size)
	}
}

type countingReader struct {
	n    int64
	sent *atomic.Int64
}

func (r *countingReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, io.EOF
	}
	k := min(int64(len(p)), r.n)
	clear(p[:k])
	r.n -= k
	r.sent.Add(k)
	return int(k), nil
}
