package cli

import (
	"crypto/tls"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestBinaryCertReloadUnderLoad: certificate files replaced by an atomic
// rename while clients keep making HTTPS requests (new connections and
// kept-alive ones), then SIGHUP: not one request fails, connections made
// after the reload get the new certificate, and a bad pair at the next
// reload is refused while the good one serves on.
func TestBinaryCertReloadUnderLoad(t *testing.T) {
	dir := t.TempDir()
	site := t.TempDir()
	os.WriteFile(filepath.Join(site, "index.html"), []byte("ok\n"), 0o644)
	crt, key := writePair(t, dir, "live", "old.example")
	addr, _, _, cmd := startTLSCommand(t, t.TempDir(), "serve", "--listen", "127.0.0.1:0", "--access-log", "off",
		"--tls-cert", crt, "--tls-key", key, site)

	served := func() string {
		t.Helper()
		conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, ServerName: "localhost"})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0].DNSNames[0]
	}
	if got := served(); got != "old.example" {
		t.Fatalf("before the reload: %s", got)
	}

	var ok, failed atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func(keepAlive bool) {
			defer wg.Done()
			client := newTLSClient(keepAlive)
			for n := 0; n < 5000; n++ {
				select {
				case <-stop:
					return
				default:
				}
				if err := client.get(addr); err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				ok.Add(1)
			}
		}(i%2 == 0)
	}
	waitFor := func(n int64) {
		for deadline := time.Now().Add(20 * time.Second); ok.Load() < n && time.Now().Before(deadline); {
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitFor(200)
	// A new pair, written beside the old and renamed over it, as certbot
	// and cert-manager do.
	newCrt, newKey := writePair(t, dir, "next", "new.example")
	os.Rename(newKey, key)
	os.Rename(newCrt, crt)
	cmd.Process.Signal(syscall.SIGHUP)
	base := ok.Load()
	waitFor(base + 400)
	// A bad pair: a certificate whose key is not beside it.
	badCrt, _ := writePair(t, dir, "bad", "bad.example")
	os.Rename(badCrt, crt)
	cmd.Process.Signal(syscall.SIGHUP)
	waitFor(ok.Load() + 200)
	close(stop)
	wg.Wait()
	if failed.Load() != 0 {
		t.Errorf("%d of %d requests failed across the reloads; first: %v", failed.Load(), failed.Load()+ok.Load(), firstErr.Load())
	}
	if got := served(); got != "new.example" {
		t.Errorf("after the reloads: served %s, want new.example (and the bad pair refused)", got)
	}
	t.Logf("%d requests, none failed", ok.Load())
}

// tlsClient makes GET / requests over TLS, on one kept-alive connection or
// a new connection each time.
type tlsClient struct {
	keepAlive bool
	conn      *tls.Conn
}

func newTLSClient(keepAlive bool) *tlsClient { return &tlsClient{keepAlive: keepAlive} }

func (c *tlsClient) get(addr string) error {
	if c.conn == nil {
		conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, ServerName: "localhost"})
		if err != nil {
			return err
		}
		c.conn = conn
	}
	req := "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"
	if !c.keepAlive {
		req = "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
	}
	c.conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c.conn, req); err != nil {
		return err
	}
	buf := make([]byte, 4096)
	var got strings.Builder
	for !strings.HasSuffix(got.String(), "\r\n\r\nok\n") {
		n, err := c.conn.Read(buf)
		got.Write(buf[:n])
		if err != nil {
			return err
		}
	}
	if !strings.HasPrefix(got.String(), "HTTP/1.1 200 ") {
		return io.ErrUnexpectedEOF
	}
	if !c.keepAlive {
		c.conn.Close()
		c.conn = nil
	}
	return nil
}
