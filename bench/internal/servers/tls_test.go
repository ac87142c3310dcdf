package servers

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"nave/bench/internal/proc"
)

func testEnv(t *testing.T) *Env {
	t.Helper()
	return &Env{Tmp: t.TempDir(), CPU: -1, NginxConnections: 1024,
		TLSCert: "/certs/cert.pem", TLSKey: "/certs/key.pem"}
}

func readConf(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The plain nginx configuration must not change with the HTTPS one added:
// the plain figures stay comparable with earlier runs.
func TestNginxConf(t *testing.T) {
	e := testEnv(t)
	plain, err := nginx(e, "127.0.0.1:8080", "/srv/www")
	if err != nil {
		t.Fatal(err)
	}
	conf := readConf(t, plain.Args[len(plain.Args)-1])
	want := "    server {\n        listen 127.0.0.1:8080 backlog=4096 deferred;\n        root /srv/www;\n" +
		"        index index.html;\n    }\n}\n"
	if !strings.HasSuffix(conf, want) || strings.Contains(conf, "ssl") {
		t.Errorf("plain server block: got\n%s\nwant it to end with\n%s", conf, want)
	}
	s, err := nginxTLS(e, "127.0.0.1:8443", "/srv/www")
	if err != nil {
		t.Fatal(err)
	}
	conf = readConf(t, s.Args[len(s.Args)-1])
	for _, line := range []string{
		"listen 127.0.0.1:8443 ssl backlog=4096 deferred;",
		"ssl_certificate /certs/cert.pem;",
		"ssl_certificate_key /certs/key.pem;",
		"ssl_protocols TLSv1.2 TLSv1.3;",
		"ssl_session_cache shared:SSL:10m;",
		"ssl_session_tickets on;",
		"ssl_prefer_server_ciphers on;",
		"sendfile on;",
	} {
		if !strings.Contains(conf, "\n        "+line+"\n") && !strings.Contains(conf, "\n    "+line+"\n") {
			t.Errorf("TLS conf lacks %q:\n%s", line, conf)
		}
	}
}

// The HTTP/2 listeners are the plain and TLS ones with "http2" added, in
// nginx 1.22's syntax.
func TestNginxH2Conf(t *testing.T) {
	e := testEnv(t)
	for _, c := range []struct {
		name string
		spec func(*Env, string, string) (proc.Spec, error)
		want string
	}{
		{"h2", nginxH2, "listen 127.0.0.1:8443 ssl http2 backlog=4096 deferred;"},
		{"h2c", nginxH2C, "listen 127.0.0.1:8443 http2 backlog=4096 deferred;"},
	} {
		s, err := c.spec(e, "127.0.0.1:8443", "/srv/www")
		if err != nil {
			t.Fatal(err)
		}
		conf := readConf(t, s.Args[len(s.Args)-1])
		if !strings.Contains(conf, "\n        "+c.want+"\n") {
			t.Errorf("%s: conf lacks %q:\n%s", c.name, c.want, conf)
		}
		if tls := strings.Contains(conf, "ssl_certificate "); tls != (c.name == "h2") {
			t.Errorf("%s: got a certificate %v:\n%s", c.name, tls, conf)
		}
	}
}

func TestH2OClearConf(t *testing.T) {
	s, err := h2oClear(testEnv(t), "127.0.0.1:8080", "/srv/www")
	if err != nil {
		t.Fatal(err)
	}
	conf := readConf(t, s.Args[3])
	if want := "listen:\n  host: 127.0.0.1\n  port: 8080\nhosts:\n"; !strings.Contains(conf, want) || strings.Contains(conf, "ssl") {
		t.Errorf("h2o.conf in the clear: got\n%s\nwant a listen block without ssl", conf)
	}
}

func TestH2OConf(t *testing.T) {
	e := testEnv(t)
	s, err := h2o(e, "127.0.0.1:8443", "/srv/www")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(s.Args[:3], " "), "-m worker -c"; got != want {
		t.Errorf("args: got %q, want %q", got, want)
	}
	conf := readConf(t, s.Args[3])
	for _, line := range []string{
		"num-threads: 1\n",
		"  host: 127.0.0.1\n  port: 8443\n",
		"    certificate-file: /certs/cert.pem\n    key-file: /certs/key.pem\n",
		"        file.dir: /srv/www\n",
	} {
		if !strings.Contains(conf, line) {
			t.Errorf("h2o.conf lacks %q:\n%s", line, conf)
		}
	}
	if strings.Contains(conf, "access-log") {
		t.Errorf("h2o.conf has an access log:\n%s", conf)
	}
}

func TestNaveTLSArgs(t *testing.T) {
	e := testEnv(t)
	e.Nave = "/bin/nave"
	s, err := naveTLS(naveServeStrict)(e, "127.0.0.1:8443", "/srv/www")
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(s.Args, " ")
	want := "serve --listen 127.0.0.1:8443 --access-log off --tls-cert /certs/cert.pem --tls-key /certs/key.pem /srv/www"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	plain, _ := naveServeStrict(e, "127.0.0.1:8080", "/srv/www")
	if slices.Contains(plain.Args, "--tls-cert") {
		t.Errorf("plain nave got TLS flags: %q", plain.Args)
	}
}

// TestConfsAccepted has each installed server check the configuration the
// harness writes for it, with a real certificate.
func TestConfsAccepted(t *testing.T) {
	dir := t.TempDir()
	e := testEnv(t)
	e.TLSCert, e.TLSKey = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeTestCert(t, e.TLSCert, e.TLSKey)
	for _, c := range []struct {
		name string
		spec func(*Env, string, string) (proc.Spec, error)
		test []string // flags that make it check its configuration and exit
	}{
		{"nginx", nginxTLS, []string{"-t"}},
		{"h2o", h2o, []string{"-m", "test"}},
		{"nginx", nginxH2, []string{"-t"}},
		{"nginx", nginxH2C, []string{"-t"}},
		{"h2o", h2oClear, []string{"-m", "test"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := exec.LookPath(c.name); err != nil {
				t.Skipf("%s not installed", c.name)
			}
			s, err := c.spec(e, "127.0.0.1:8443", dir)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			out, err := exec.CommandContext(ctx, s.Path, append(s.Args, c.test...)...).CombinedOutput()
			if err != nil {
				t.Errorf("%s rejects its configuration: %v\n%s", c.name, err, out)
			}
		})
	}
}

// writeTestCert writes a self-signed ECDSA P-256 certificate for localhost
// and its key.
func writeTestCert(t *testing.T, certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{"localhost"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
}
