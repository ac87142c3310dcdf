package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"
)

func TestMakeTLSFiles(t *testing.T) {
	now := time.Now()
	f, err := makeTLSFiles(t.TempDir(), now)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.LoadX509KeyPair(f.Cert, f.Key)
	if err != nil {
		t.Fatalf("the key does not go with the certificate: %v", err)
	}
	key, ok := pair.PrivateKey.(*ecdsa.PrivateKey)
	if !ok || key.Curve != elliptic.P256() {
		t.Errorf("key: got %T, want an ECDSA P-256 key", pair.PrivateKey)
	}
	leaf := pair.Leaf
	for _, host := range []string{"localhost", "127.0.0.1", "::1"} {
		if err := leaf.VerifyHostname(host); err != nil {
			t.Errorf("certificate does not cover %s: %v", host, err)
		}
	}
	if !leaf.NotAfter.After(now.Add(24 * time.Hour)) {
		t.Errorf("certificate expires %v, before a long run could end", leaf.NotAfter)
	}
	if st, err := os.Stat(f.Key); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("key file: got %v (%v), want mode 0600", st.Mode().Perm(), err)
	}
	conf, err := os.ReadFile(f.WrkConf)
	if err != nil || !strings.Contains(string(conf), "\nCiphersuites = TLS_AES_128_GCM_SHA256\n") {
		t.Errorf("wrk's OpenSSL configuration: got %q (%v)", conf, err)
	}
}

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
	f, err := makeTLSFiles(t.TempDir(), time.Now())
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
