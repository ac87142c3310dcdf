package certs

import (
	"crypto/tls"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"
)

const (
	keyA = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
	keyB = "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"
)

func TestReadTicketKeys(t *testing.T) {
	tests := []struct {
		name     string
		file     string
		wantKeys int
		wantErr  string
	}{
		{"one", keyA + "\n", 1, ""},
		{"two_comments_blank_lines", "# rotated weekly\n\n" + keyB + "\n" + strings.ToUpper(keyA) + "\n", 2, ""},
		{"no_final_newline", keyA, 1, ""},
		{"short", keyA[:62] + "\n", 0, "line 1: want 64 hex digits"},
		{"not_hex", "# c\n" + strings.Repeat("zz", 32) + "\n", 0, "line 2: not hex"},
		{"empty", "", 0, "no keys"},
		{"too_many", strings.Repeat(keyA+"\n", maxTicketKeys+1), 0, "more than 16 keys"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "tickets")
			writeFile(t, path, []byte(tt.file))
			keys, err := readTicketKeys(path)
			if tt.wantErr == "" {
				if err != nil || len(keys) != tt.wantKeys {
					t.Fatalf("got %d keys, %v; want %d keys", len(keys), err, tt.wantKeys)
				}
				return
			}
			if !errors.Is(err, ErrTicketKeys) || !strings.Contains(err.Error(), tt.wantErr) ||
				!strings.Contains(err.Error(), path) {
				t.Errorf("got %v, want %v naming %s and saying %q", err, ErrTicketKeys, path, tt.wantErr)
			}
		})
	}
	if _, err := ServerConfig(NewStore(nil), Options{TicketKeyFile: "/nonexistent/tickets"}); err == nil {
		t.Error("ServerConfig accepted a missing ticket key file")
	}
}

// ticketServer is one nave instance: a store loaded from pair and a
// listener with ServerConfig(o).
func ticketServer(t *testing.T, pair Pair, o Options) (*Store, *tlsServer) {
	t.Helper()
	s := NewStore(nil)
	if err := s.LoadFiles([]Pair{pair}); err != nil {
		t.Fatal(err)
	}
	cfg, err := ServerConfig(s, o)
	if err != nil {
		t.Fatal(err)
	}
	return s, startTLS(t, cfg)
}

// resumed makes one connection with client and reports whether it resumed
// a session. It exchanges a byte so the client reads the server's
// NewSessionTicket (TLS 1.3 sends it after the handshake, RFC 8446 §4.6.1).
func resumed(t *testing.T, srv *tlsServer, client *tls.Config) bool {
	t.Helper()
	c, cerr, serr := srv.dial(t, client)
	if cerr != nil || serr != nil {
		t.Fatalf("handshake failed: client %v, server %v", cerr, serr)
	}
	if _, err := c.Write([]byte{'x'}); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(c, make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	return c.ConnectionState().DidResume
}

type ticketFixture struct {
	pair   Pair
	client func(version uint16) *tls.Config // a fresh session cache each call
}

func newTicketFixture(t *testing.T) ticketFixture {
	t.Helper()
	root := newTestRoot(t)
	pair := writePair(t, t.TempDir(), "site", root.leaf(t, leafSpec{names: []string{"localhost"}}))
	return ticketFixture{pair, func(v uint16) *tls.Config {
		return &tls.Config{ServerName: "localhost", RootCAs: root.pool(), MinVersion: v, MaxVersion: v,
			ClientSessionCache: tls.NewLRUClientSessionCache(4)}
	}}
}

func TestSessionResumption(t *testing.T) {
	f := newTicketFixture(t)
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		t.Run(tls.VersionName(v), func(t *testing.T) {
			_, srv := ticketServer(t, f.pair, Options{})
			client := f.client(v)
			if resumed(t, srv, client) {
				t.Fatal("the first connection resumed")
			}
			if !resumed(t, srv, client) {
				t.Error("the second connection did not resume")
			}
		})
	}
}

// Two instances (or one before and after a restart) that read the same
// ticket key file resume each other's sessions; one with its own keys does
// not.
func TestTicketKeyFileSharedAcrossInstances(t *testing.T) {
	f := newTicketFixture(t)
	keys := filepath.Join(t.TempDir(), "tickets")
	writeFile(t, keys, []byte(keyA+"\n"))
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		t.Run(tls.VersionName(v), func(t *testing.T) {
			_, first := ticketServer(t, f.pair, Options{TicketKeyFile: keys})
			_, second := ticketServer(t, f.pair, Options{TicketKeyFile: keys})
			_, own := ticketServer(t, f.pair, Options{})
			client := f.client(v)
			resumed(t, first, client)
			if !resumed(t, second, client) {
				t.Error("the second instance did not resume the first one's session")
			}
			if resumed(t, own, client) {
				t.Error("an instance with its own keys resumed a session")
			}
		})
	}
}

// Reload re-reads the ticket key file: after a rotation to a key list
// without the old key, old tickets no longer resume; a bad file is refused
// and the keys in use stay.
func TestTicketKeyFileReload(t *testing.T) {
	f := newTicketFixture(t)
	keys := filepath.Join(t.TempDir(), "tickets")
	writeFile(t, keys, []byte(keyA+"\n"))
	s, srv := ticketServer(t, f.pair, Options{TicketKeyFile: keys})
	client := f.client(tls.VersionTLS13)
	resumed(t, srv, client) // a ticket under keyA

	writeFile(t, keys, []byte("not a key\n"))
	if err := s.Reload(); !errors.Is(err, ErrTicketKeys) {
		t.Fatalf("got %v, want %v", err, ErrTicketKeys)
	}
	if !resumed(t, srv, client) {
		t.Fatal("a refused ticket key file changed the keys")
	}

	writeFile(t, keys, []byte(keyB+"\n"+keyA+"\n")) // rotate: B encrypts, A still decrypts
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	if !resumed(t, srv, client) { // the keyA ticket; the server issues a keyB one
		t.Fatal("a ticket under a key still in the file did not resume")
	}
	writeFile(t, keys, []byte(keyB+"\n"))
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	if !resumed(t, srv, client) {
		t.Error("a ticket under the new key did not resume")
	}
	writeFile(t, keys, []byte(keyA+"\n")) // the client holds a keyB ticket
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	if resumed(t, srv, client) {
		t.Error("a ticket under a key dropped from the file resumed")
	}
}
