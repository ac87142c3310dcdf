package acme

import (
	"context"
	"errors"
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
