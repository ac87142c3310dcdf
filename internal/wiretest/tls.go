package wiretest

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"nave/internal/certs"
)

// TLSEnv is the environment variable that, set to 1, runs the handler
// tests over TLS.
const TLSEnv = "NAVE_TEST_TLS"

// TLSMode reports whether this run serves the handler tests over TLS.
func TLSMode() bool { return os.Getenv(TLSEnv) == "1" }

// TLSConfigs returns a server configuration with a certificate for
// localhost from a local CA made for the test, and a client configuration
// that trusts that CA and expects that name. Both speak http/1.1 by ALPN;
// in HTTP/2 mode the server offers h2 first and the client h2 alone.
func TLSConfigs(t testing.TB) (server, client *tls.Config) {
	t.Helper()
	serverProtos, clientProtos := []string{"http/1.1"}, []string{"http/1.1"}
	if H2Mode() {
		serverProtos, clientProtos = []string{"h2", "http/1.1"}, []string{"h2"}
	}
	ca, _, err := certs.OpenLocalCA(filepath.Join(t.TempDir(), "ca"))
	if err != nil {
		t.Fatal(err)
	}
	store := certs.NewStore(nil)
	leaf, err := ca.Issue(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Put(certs.LocalKey, leaf); err != nil {
		t.Fatal(err)
	}
	if server, err = certs.ServerConfig(store, certs.Options{NextProtos: serverProtos}); err != nil {
		t.Fatal(err)
	}
	pemBytes, err := os.ReadFile(ca.CertFile())
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pemBytes) {
		t.Fatalf("no certificate in %s", ca.CertFile())
	}
	return server, &tls.Config{RootCAs: roots, ServerName: "localhost", NextProtos: clientProtos}
}

// Servable is what Serve runs: a *server.Server. It is an interface only
// because internal/server's own tests import this package, so this
// package cannot import internal/server.
type Servable interface {
	Serve(ln net.Listener) error
	ServeTLS(ln net.Listener, cfg *tls.Config) error
	Close() error
}

// Server is a server under test on a loopback port.
type Server struct {
	Addr   string
	Client *tls.Config // trusts the server's certificate; nil in the clear
	H2     bool        // Dial speaks HTTP/2 (h2 over TLS, h2c in the clear)
}

// Serve runs s on a fresh loopback port until the test ends, over TLS when
// TLSMode says so, dialled over HTTP/2 when H2Mode says so. Cleanups registered before Serve run after the server
// has closed.
func Serve(t testing.TB, s Servable) *Server {
	t.Helper()
	return ServeMode(t, s, TLSMode())
}

// ServeMode is Serve with TLS or not as the caller chooses; HTTP/2 is
// still as H2Mode says.
func ServeMode(t testing.TB, s Servable, useTLS bool) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return serveOn(t, s, ln, useTLS)
}

func serveOn(t testing.TB, s Servable, ln net.Listener, useTLS bool) *Server {
	t.Helper()
	srv := &Server{Addr: ln.Addr().String(), H2: H2Mode()}
	served := make(chan error, 1)
	if useTLS {
		var cfg *tls.Config
		cfg, srv.Client = TLSConfigs(t)
		go func() { served <- s.ServeTLS(ln, cfg) }()
	} else {
		go func() { served <- s.Serve(ln) }()
	}
	t.Cleanup(func() {
		s.Close()
		<-served
	})
	return srv
}

// Dial connects to the server in its mode.
func (s *Server) Dial(t testing.TB) *Conn {
	t.Helper()
	var c *Conn
	if s.Client != nil {
		c = DialTLS(t, s.Addr, s.Client)
	} else {
		c = Dial(t, s.Addr)
	}
	if s.H2 {
		c.StartH2()
	}
	return c
}

// URL is the server's address as an absolute URL for path.
func (s *Server) URL(path string) string {
	if s.Client != nil {
		return "https://" + s.Addr + path
	}
	return "http://" + s.Addr + path
}

// HTTPClient is a net/http client for the server in its mode, with
// Timeout on each request; its idle connections close when the test ends.
func (s *Server) HTTPClient(t testing.TB) *http.Client {
	tr := &http.Transport{TLSClientConfig: s.Client}
	if s.H2 {
		tr.Protocols = new(http.Protocols)
		tr.Protocols.SetHTTP2(s.Client != nil)
		tr.Protocols.SetUnencryptedHTTP2(s.Client == nil)
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Timeout: Timeout, Transport: tr}
}
