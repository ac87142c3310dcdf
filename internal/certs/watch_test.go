package certs

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"
)

// replaceFunc puts new contents at path the way an editor or a deploy tool
// would.
type replaceFunc func(t *testing.T, path string, data []byte)

// atomicReplace writes a temporary file and renames it over path: a new
// inode, as certbot, Kubernetes secrets and most deploy tools do.
func atomicReplace(t *testing.T, path string, data []byte) {
	t.Helper()
	tmp := path + ".tmp"
	writeFile(t, tmp, data)
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// inPlaceWrite truncates and rewrites path: the same inode. The new
// modification time is set an hour ahead because a rewrite within the same
// filesystem clock tick, with a same-size certificate, would otherwise look
// unchanged; a real edit comes well after the first write.
func inPlaceWrite(t *testing.T, path string, data []byte) {
	t.Helper()
	writeFile(t, path, data)
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(path, later, later); err != nil {
		t.Fatal(err)
	}
}

// reloadFixture is a store serving old.cert from pair, behind a real
// listener.
type reloadFixture struct {
	store *Store
	srv   *tlsServer
	pair  Pair
	root  *testCA
	old   testLeaf
	log   *bytes.Buffer
}

func newReloadFixture(t *testing.T) reloadFixture {
	t.Helper()
	root := newTestRoot(t)
	old := root.leaf(t, leafSpec{names: []string{"site.test"}})
	pair := writePair(t, t.TempDir(), "site", old)
	var log bytes.Buffer
	s := NewStore(slog.New(slog.NewTextHandler(&log, nil)))
	if err := s.LoadFiles([]Pair{pair}); err != nil {
		t.Fatal(err)
	}
	cfg, err := ServerConfig(s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return reloadFixture{s, startTLS(t, cfg), pair, root, old, &log}
}

func (f reloadFixture) serves(t *testing.T, want *x509.Certificate) {
	t.Helper()
	if got := f.srv.served(t, insecure("site.test")); !got.Equal(want) {
		t.Errorf("got %s, want %s", describe(got), describe(want))
	}
}

func TestCheckOnceReloadsChangedFiles(t *testing.T) {
	for _, tt := range []struct {
		name    string
		replace replaceFunc
	}{{"atomic_rename", atomicReplace}, {"in_place_write", inPlaceWrite}} {
		t.Run(tt.name, func(t *testing.T) {
			f := newReloadFixture(t)
			if tried, err := f.store.checkOnce(); tried || err != nil {
				t.Fatalf("nothing changed, got tried=%v err=%v", tried, err)
			}
			// A connection made before the reload; it must outlive it.
			before, cerr, serr := f.srv.dial(t, insecure("site.test"))
			if cerr != nil || serr != nil {
				t.Fatalf("handshake failed: client %v, server %v", cerr, serr)
			}

			next := f.root.leaf(t, leafSpec{names: []string{"site.test"}})
			tt.replace(t, f.pair.CertFile, certPEM(next.cert))
			tt.replace(t, f.pair.KeyFile, keyPEM(t, next.key))
			f.log.Reset()
			if tried, err := f.store.checkOnce(); !tried || err != nil {
				t.Fatalf("files changed, got tried=%v err=%v", tried, err)
			}
			f.serves(t, next.cert)
			if !strings.Contains(f.log.String(), "level=INFO") || !strings.Contains(f.log.String(), "names=site.test") {
				t.Errorf("log %q lacks the info line for the reloaded certificate", f.log)
			}
			if tried, _ := f.store.checkOnce(); tried {
				t.Error("reloaded again with nothing changed")
			}

			echo(t, before)
		})
	}
}

// A new pair whose key does not match is refused: the old certificate is
// still served and the error is returned and logged. Once the key follows,
// the next poll loads the pair.
func TestCheckOnceRefusesBadPair(t *testing.T) {
	f := newReloadFixture(t)
	next := f.root.leaf(t, leafSpec{names: []string{"site.test"}})
	atomicReplace(t, f.pair.CertFile, certPEM(next.cert))
	tried, err := f.store.checkOnce()
	if !tried || !errors.Is(err, ErrKeyMismatch) {
		t.Fatalf("got tried=%v err=%v, want %v", tried, err, ErrKeyMismatch)
	}
	if !strings.Contains(f.log.String(), "level=ERROR") || !strings.Contains(f.log.String(), f.pair.KeyFile) {
		t.Errorf("log %q lacks an error naming %s", f.log, f.pair.KeyFile)
	}
	f.serves(t, f.old.cert)

	atomicReplace(t, f.pair.KeyFile, keyPEM(t, next.key))
	if tried, err := f.store.checkOnce(); !tried || err != nil {
		t.Fatalf("got tried=%v err=%v, want a reload", tried, err)
	}
	f.serves(t, next.cert)
}

// A file that disappears (a deploy between delete and write) is a failed
// reload, and its return is a change.
func TestCheckOnceMissingFile(t *testing.T) {
	f := newReloadFixture(t)
	data, err := os.ReadFile(f.pair.CertFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(f.pair.CertFile); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.checkOnce(); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("got %v, want %v", err, os.ErrNotExist)
	}
	f.serves(t, f.old.cert)
	writeFile(t, f.pair.CertFile, data)
	if tried, err := f.store.checkOnce(); !tried || err != nil {
		t.Fatalf("got tried=%v err=%v, want a reload", tried, err)
	}
}

func TestWatchStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		NewStore(nil).Watch(ctx, time.Hour)
		close(done)
	}()
	cancel()
	select {
	case <-done:
	case <-time.After(safety):
		t.Fatal("Watch did not return after its context ended")
	}
}

// echo checks that c still carries data both ways.
func echo(t *testing.T, c interface {
	io.Reader
	io.Writer
}) {
	t.Helper()
	msg := []byte("still here")
	if _, err := c.Write(msg); err != nil {
		t.Fatalf("write on an existing connection: %v", err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("got %q, %v; want %q", got, err, msg)
	}
}
