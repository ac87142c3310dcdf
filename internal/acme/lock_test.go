package acme

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestLockFile: a held lock makes a second taker wait until its context
// ends; once let go, the next taker gets it and writes its pid.
func TestLockFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "locks", "certs", "a.test.lock")
	unlock, err := lockFile(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	if got, want := strings.TrimSpace(string(data)), strconv.Itoa(os.Getpid()); got != want {
		t.Errorf("lock file holds %q, want the pid %s", got, want)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*lockPoll)
	defer cancel()
	if _, err := lockFile(ctx, path); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second lock while held: got %v, want a deadline error", err)
	}
	unlock()
	ctx2, cancel2 := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel2()
	unlock2, err := lockFile(ctx2, path)
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	unlock2()
}

// TestSharedHTTPChallenge: a key authorization a peer wrote to the folder
// is answered; a token that is not base64url never becomes a path.
func TestSharedHTTPChallenge(t *testing.T) {
	m, err := New(Config{Names: []string{"a.test"}, Dir: t.TempDir(), CA: "https://ca.test/dir"})
	if err != nil {
		t.Fatal(err)
	}
	token := strings.Repeat("Ab0_-", 8)
	unshare := m.shareChallenge(m.store.httpChallengePath(token), []byte("keyauth"))
	if body, ok := m.HTTPChallenge(httpChallengePrefix + token); !ok || body != "keyauth" {
		t.Errorf("HTTPChallenge of a shared token: got %q, %v; want keyauth, true", body, ok)
	}
	unshare()
	if _, ok := m.HTTPChallenge(httpChallengePrefix + token); ok {
		t.Error("HTTPChallenge answered a token whose file was removed")
	}
	for _, bad := range []string{"..", "short", strings.Repeat("a", 30) + ".", strings.Repeat("a", 300)} {
		if validToken(bad) {
			t.Errorf("validToken(%q) = true", bad)
		}
	}
}

// TestRescanTakesPeerCertificate: a certificate a peer stores in the
// shared folder is taken when it expires later than the one held, and
// handed to OnCertificate; an older one, or the same file again, is not.
func TestRescanTakesPeerCertificate(t *testing.T) {
	dir := t.TempDir()
	var got []*x509.Certificate
	m, err := New(Config{Names: []string{"a.test"}, Dir: dir, CA: "https://ca.test/dir",
		OnCertificate: func(_ []string, c *tls.Certificate) { got = append(got, c.Leaf) }})
	if err != nil {
		t.Fatal(err)
	}
	peer := store{dir: m.store.dir} // another instance's view of the folder
	seen := map[string]time.Time{}
	for i, c := range []struct {
		notAfter time.Duration
		taken    bool
	}{{time.Hour, true}, {2 * time.Hour, true}, {30 * time.Minute, false}} {
		der, key := certFor(t, "a.test", c.notAfter, int64(i+1))
		if err := peer.saveCert("a.test", [][]byte{der}, key); err != nil {
			t.Fatal(err)
		}
		// A distinct mtime even on a coarse clock.
		mt := time.Now().Add(time.Duration(i) * time.Second)
		os.Chtimes(peer.chainPath("a.test"), mt, mt)
		n := len(got)
		m.rescan(seen)
		if taken := len(got) > n; taken != c.taken {
			t.Errorf("certificate %d (expires in %v): taken %v, want %v", i+1, c.notAfter, taken, c.taken)
		}
		m.rescan(seen)
		if len(got) > n+1 {
			t.Errorf("certificate %d taken twice from one file", i+1)
		}
	}
	if !m.Ready() {
		t.Error("not Ready after taking a peer's certificate")
	}
}

// certFor returns a DER certificate for name, expiring after d, with serial.
func certFor(t *testing.T, name string, d time.Duration, serial int64) ([]byte, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		DNSNames:     []string{name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(d),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return der, key
}
