package main

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"nave/bench/internal/tlsfiles"
)

// tlsServer serves 14 bytes over TLS with the given certificate, closing
// each connection after its answer.
func tlsServer(t *testing.T, conf *tls.Config) string {
	t.Helper()
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		w.Write([]byte("Hello, World!\n"))
	}))
	ts.TLS = conf
	ts.StartTLS()
	t.Cleanup(ts.Close)
	return ts.Listener.Addr().String()
}

func TestTLSCheckAndResumption(t *testing.T) {
	f, err := tlsfiles.Make(t.TempDir(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.LoadX509KeyPair(f.Cert, f.Key)
	if err != nil {
		t.Fatal(err)
	}
	w, _ := findWorkload("tls-close")
	if !w.tls() || !w.newConnEach() {
		t.Fatalf("tls-close: got tls %v, new connection each %v", w.tls(), w.newConnEach())
	}

	resuming := tlsServer(t, &tls.Config{Certificates: []tls.Certificate{pair}})
	if err := check(resuming, w, f.Client); err != nil {
		t.Fatalf("check against the run's certificate: %v", err)
	}
	if n, err := resumption(resuming, w, f.Client, 3); err != nil || n != 3 {
		t.Errorf("server with tickets: got %d resumed (%v), want 3", n, err)
	}

	noTickets := tlsServer(t, &tls.Config{Certificates: []tls.Certificate{pair}, SessionTicketsDisabled: true})
	if n, err := resumption(noTickets, w, f.Client, 3); err != nil || n != 0 {
		t.Errorf("server without tickets: got %d resumed (%v), want 0", n, err)
	}

	other := tlsServer(t, nil) // httptest's own certificate
	if err := check(other, w, f.Client); err == nil {
		t.Error("check against another certificate: got no error")
	}
}
