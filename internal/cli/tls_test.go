package cli

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"nave/internal/wiretest"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// writePair writes a self-signed certificate for names and its key as PEM
// files into dir, and returns their paths.
func writePair(t *testing.T, dir, base string, names ...string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: names[0]},
		DNSNames:     names,
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, base+".crt"), filepath.Join(dir, base+".key")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600)
	return certFile, keyFile
}

// TestTLSUsageErrors: bad HTTPS flags and files are refused at start, with
// one line naming the problem (and the file) and exit 2.
func TestTLSUsageErrors(t *testing.T) {
	dir := t.TempDir()
	crt, key := writePair(t, dir, "a", "a.example")
	_, otherKey := writePair(t, dir, "b", "b.example")
	garbage := filepath.Join(dir, "garbage.pem")
	os.WriteFile(garbage, []byte("not a certificate\n"), 0o644)
	missing := filepath.Join(dir, "missing.crt")
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"cert without key", []string{"serve", "--tls-cert", crt}, "--tls-cert and --tls-key come in pairs"},
		{"missing file", []string{"serve", "--tls-cert", missing, "--tls-key", key}, missing},
		{"garbage cert", []string{"serve", "--tls-cert", garbage, "--tls-key", key}, garbage},
		{"mismatched key", []string{"serve", "--tls-cert", crt, "--tls-key", otherKey}, otherKey},
		{"no name matches", []string{"serve", "--tls-cert", crt, "--tls-key", key, "--domain", "c.example"}, crt},
		{"hsts without tls", []string{"serve", "--hsts", "1h"}, "need HTTPS"},
		{"redirect without tls", []string{"wsgi", "--redirect-http", "127.0.0.1:0", "app:app"}, "need HTTPS"},
		{"both cert kinds", []string{"serve", "--tls-self-signed", "--tls-cert", crt, "--tls-key", key}, "exclude each other"},
		{"bad handshake timeout", []string{"serve", "--tls-self-signed", "--tls-handshake-timeout", "0s"}, "--tls-handshake-timeout must be positive"},
		{"bad domain", []string{"serve", "--tls-self-signed", "--domain", "a b"}, `--domain "a b"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runMain(tt.args...)
			if code != 2 || !strings.Contains(errOut, tt.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, errOut, tt.want)
			}
			var problems []string
			for _, line := range strings.Split(strings.TrimSpace(errOut), "\n") {
				if !strings.Contains(line, "level=INFO") { // a certificate that did load
					problems = append(problems, line)
				}
			}
			if len(problems) != 1 {
				t.Errorf("want one line naming the problem, got %q", problems)
			}
			if strings.Contains(out, "Serving") {
				t.Errorf("the server started: %q", out)
			}
		})
	}
}

var (
	httpsLine    = regexp.MustCompile(`https://(127\.0\.0\.1:\d+)/`)
	redirectLine = regexp.MustCompile(`Redirecting http://(127\.0\.0\.1:\d+)/`)
)

// startTLSBinary runs the nave binary with args and a state folder of its
// own, and returns the HTTPS address and everything it printed up to the
// serving lines.
func startTLSBinary(t *testing.T, state string, args ...string) (addr, printed string, out *bufio.Reader) {
	t.Helper()
	addr, printed, out, _ = startTLSCommand(t, state, args...)
	return addr, printed, out
}

// startTLSCommand is startTLSBinary that also returns the process.
func startTLSCommand(t *testing.T, state string, args ...string) (addr, printed string, out *bufio.Reader, cmd *exec.Cmd) {
	t.Helper()
	cmd = exec.Command(buildNave(t), args...)
	cmd.Env = append(os.Environ(), "NAVE_STATE_DIR="+state)
	stdout, _ := startCommand(t, cmd)
	br := bufio.NewReader(stdout)
	var all strings.Builder
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		line, err := br.ReadString('\n')
		all.WriteString(line)
		if m := httpsLine.FindStringSubmatch(line); m != nil && strings.HasPrefix(line, "Serving") {
			addr = m[1]
			if strings.Contains(strings.Join(args, " "), "--redirect-http") {
				line, _ = br.ReadString('\n')
				all.WriteString(line)
			}
			return addr, all.String(), br, cmd
		}
		if err != nil {
			t.Fatalf("nave exited before serving: %q", all.String())
		}
	}
	t.Fatalf("no serving line in %q", all.String())
	return "", "", nil, nil
}

// TestBinarySelfSigned: --tls-self-signed creates the local CA once, says
// how to trust it, and a client that trusts only that file verifies
// nave's certificate for localhost, 127.0.0.1 and ::1. --hsts and
// --redirect-http do what they say.
func TestBinarySelfSigned(t *testing.T) {
	state := t.TempDir()
	site := t.TempDir()
	os.WriteFile(filepath.Join(site, "index.html"), []byte("hello over tls\n"), 0o644)
	addr, printed, _ := startTLSBinary(t, state, "serve", "--tls-self-signed", "--listen", "127.0.0.1:0",
		"--hsts", "24h", "--redirect-http", "127.0.0.1:0", "--access-log", "off", site)
	caFile := filepath.Join(state, "ca", "ca.crt")
	if !strings.Contains(printed, "Created a local certificate authority") || !strings.Contains(printed, "curl --cacert "+caFile) {
		t.Errorf("printed no trust instructions naming %s:\n%s", caFile, printed)
	}
	for _, f := range []string{caFile, filepath.Join(state, "ca", "ca.key")} {
		if info, err := os.Stat(f); err != nil || info.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, mode %v; want 0600", f, err, info.Mode().Perm())
		}
	}

	// curl, trusting only the CA file.
	out, err := exec.Command("curl", "-sS", "-i", "--cacert", caFile, "https://localhost:"+port(addr)+"/").CombinedOutput()
	if err != nil {
		t.Fatalf("curl: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "hello over tls") || !strings.Contains(strings.ToLower(string(out)), "strict-transport-security: max-age=86400") {
		t.Errorf("curl got:\n%s", out)
	}

	// Go's client, trusting only the CA file, by name and by address.
	pemBytes, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pemBytes)
	for _, host := range []string{"localhost", "127.0.0.1"} {
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
		resp, err := c.Get("https://" + net.JoinHostPort(host, port(addr)) + "/")
		if err != nil {
			t.Fatalf("%s: %v", host, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != "hello over tls\n" || resp.TLS.Version != tls.VersionTLS13 {
			t.Errorf("%s: got %d %q over %x", host, resp.StatusCode, body, resp.TLS.Version)
		}
	}

	// The cleartext listener redirects, keeping path and query.
	m := redirectLine.FindStringSubmatch(printed)
	if m == nil {
		t.Fatalf("no redirect line in %q", printed)
	}
	nc := wiretest.Dial(t, m[1])
	nc.Send("GET /a/b?x=1 HTTP/1.1\r\nHost: example.test:80\r\nConnection: close\r\n\r\n")
	resp := nc.ReadAll()
	want := "Location: https://example.test:" + port(addr) + "/a/b?x=1\r\n"
	if !strings.HasPrefix(string(resp), "HTTP/1.1 308 Permanent Redirect\r\n") || !strings.Contains(string(resp), want) {
		t.Errorf("redirect: got %q, want a 308 with %q", resp, want)
	}
	if strings.Contains(strings.ToLower(string(resp)), "strict-transport-security") {
		t.Errorf("HSTS sent in the clear: %q", resp)
	}

	// A second start reuses the CA.
	_, printed2, _ := startTLSBinary(t, state, "serve", "--tls-self-signed", "--listen", "127.0.0.1:0", "--access-log", "off", site)
	if strings.Contains(printed2, "Created a local certificate authority") {
		t.Errorf("a second start made a new CA:\n%s", printed2)
	}
	if again, _ := os.ReadFile(caFile); string(again) != string(pemBytes) {
		t.Error("the CA certificate changed on a second start")
	}
}

// TestBinaryCertFiles: certificates from files, chosen by SNI; an unknown
// name gets the first. (Reloading is internal/certs' test.)
func TestBinaryCertFiles(t *testing.T) {
	dir := t.TempDir()
	crtA, keyA := writePair(t, dir, "a", "a.example")
	crtB, keyB := writePair(t, dir, "b", "b.example")
	addr, _, _ := startTLSBinary(t, t.TempDir(), "serve", "--listen", "127.0.0.1:0", "--access-log", "off",
		"--tls-cert", crtA, "--tls-key", keyA, "--tls-cert", crtB, "--tls-key", keyB)
	served := func(name string) string {
		t.Helper()
		conn, err := tls.Dial("tcp", addr, &tls.Config{ServerName: name, InsecureSkipVerify: true})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0].DNSNames[0]
	}
	if got := served("a.example"); got != "a.example" {
		t.Errorf("SNI a.example: served %s", got)
	}
	if got := served("b.example"); got != "b.example" {
		t.Errorf("SNI b.example: served %s", got)
	}
	if got := served("other.example"); got != "a.example" {
		t.Errorf("unknown SNI: served %s, want the first certificate", got)
	}
}

func port(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}

// TestBinaryWSGIOverTLS: nave wsgi takes the same HTTPS flags, and the app
// sees the truth: wsgi.url_scheme https and HTTPS=on. The 500 nave sends
// for an app that raised keeps the Strict-Transport-Security of --hsts.
func TestBinaryWSGIOverTLS(t *testing.T) {
	needPython(t)
	state, app := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(app, "app.py"), []byte(`def app(environ, start_response):
    if environ["PATH_INFO"] == "/boom":
        start_response("200 OK", [("X-App", "1")])
        raise RuntimeError("boom")
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [("%s %s" % (environ["wsgi.url_scheme"], environ.get("HTTPS"))).encode()]
`), 0o644)
	addr, _, _ := startTLSBinary(t, state, "wsgi", "--python", testPython, "--chdir", app, "--workers", "1",
		"--tls-self-signed", "--hsts", "1h", "--listen", "127.0.0.1:0", "--access-log", "off", "app:app")
	ca := filepath.Join(state, "ca", "ca.crt")
	out, err := exec.Command("curl", "-sS", "--cacert", ca, "https://localhost:"+port(addr)+"/").CombinedOutput()
	if err != nil || string(out) != "https on" {
		t.Errorf("curl: %q, %v; want %q", out, err, "https on")
	}
	out, err = exec.Command("curl", "-sS", "-i", "--cacert", ca, "https://localhost:"+port(addr)+"/boom").CombinedOutput()
	head := strings.ToLower(string(out))
	if err != nil || !strings.HasPrefix(head, "http/2 500") || !strings.Contains(head, "strict-transport-security: max-age=3600") || strings.Contains(head, "x-app") {
		t.Errorf("the app raised: got %q, %v; want a 500 with HSTS and without the app's fields", out, err)
	}
}
