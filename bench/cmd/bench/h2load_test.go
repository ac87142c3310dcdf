package main

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"nave/bench/internal/tlsfiles"
)

func TestParseH2load(t *testing.T) {
	out := "starting benchmark...\nspawning thread #0: 64 total client(s). Timing-based test with 0s of warm-up time and 8s of main duration for measurements.\n" +
		"Main benchmark duration is over for thread #0. Stopping all clients.\n\n" +
		"finished in 8.00s, 201234.50 req/s, 9.11MB/s\n" +
		"requests: 1609876 total, 1610516 started, 1609876 done, 1609870 succeeded, 6 failed, 2 errored, 1 timeout\n" +
		"status codes: 1609870 2xx, 0 3xx, 4 4xx, 0 5xx\n" +
		"traffic: 72.91MB (76455329) total, 18.44MB (19333760) headers (space savings 93.01%), 21.49MB (22538264) data\n" +
		"                     min         max         mean         sd        +/- sd\n" +
		"time for request:       39us     26.01ms      2.17ms      2.22ms    88.03%\n"
	r, err := parseH2load([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	want := h2loadReport{RPS: 201234.5, Done: 1609876, Succeeded: 1609870, Failed: 6, MeanUS: 2170}
	if r != want {
		t.Errorf("got %+v, want %+v", r, want)
	}
	for _, bad := range []string{
		"client could not connect to host\n",
		"finished in 8.00s, 201234.50 req/s, 9.11MB/s\n", // no request counts
		"finished in 8.00s, many req/s, 9.11MB/s\nrequests: 1 total, 1 started, 1 done, 1 succeeded, 0 failed, 0 errored, 0 timeout\n",
	} {
		if _, err := parseH2load([]byte(bad)); err == nil {
			t.Errorf("%q: got no error", bad)
		}
	}
}

func TestH2loadArgs(t *testing.T) {
	h := h2loadRun{CPU: 1, Conns: 64, Streams: 10, Duration: 8 * time.Second, URL: "https://127.0.0.1:9/x"}
	got := strings.Join(h.args(), " ")
	want := "-c 1 h2load -t1 -c64 -m10 -D8 --tls13-ciphers=TLS_AES_128_GCM_SHA256 " +
		"--ciphers=ECDHE-ECDSA-AES128-GCM-SHA256 https://127.0.0.1:9/x"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestH2Check checks a server that speaks h2 and one that does not, over
// TLS with the run's certificate.
func TestH2Check(t *testing.T) {
	f, err := tlsfiles.Make(t.TempDir(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.LoadX509KeyPair(f.Cert, f.Key)
	if err != nil {
		t.Fatal(err)
	}
	w, _ := findWorkload("h2-tiny")
	if !w.h2() || !w.tls() {
		t.Fatalf("h2-tiny: got h2 %v, tls %v", w.h2(), w.tls())
	}
	serve := func(h2 bool) string {
		ts := httptest.NewUnstartedServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			rw.Write([]byte("Hello, World!\n"))
		}))
		ts.EnableHTTP2 = h2
		ts.TLS = &tls.Config{Certificates: []tls.Certificate{pair}}
		ts.StartTLS()
		t.Cleanup(ts.Close)
		return ts.Listener.Addr().String()
	}
	if err := check(serve(true), w, f.Client); err != nil {
		t.Errorf("h2 server: %v", err)
	}
	if err := check(serve(false), w, f.Client); err == nil {
		t.Error("HTTP/1.1-only server: got no error")
	}
}

// TestH2CCheck checks a server in the clear that answers HTTP/2 with prior
// knowledge.
func TestH2CCheck(t *testing.T) {
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	srv := &http.Server{Protocols: &p, Handler: http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor != 2 {
			rw.WriteHeader(http.StatusHTTPVersionNotSupported)
			return
		}
		rw.Write([]byte("Hello, World!\n"))
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
	w, _ := findWorkload("h2c-tiny")
	if err := check(ln.Addr().String(), w, nil); err != nil {
		t.Error(err)
	}
}
