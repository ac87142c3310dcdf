package acme_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"nave/internal/acme"
	"nave/internal/acme/pebbletest"
)

// testDeadline bounds each test's wait for the CA; no assertion is made on
// how long anything takes.
const testDeadline = 60 * time.Second

// delivery is one OnCertificate call.
type delivery struct {
	names []string
	cert  *tls.Certificate
}

// deliveries collects OnCertificate calls.
type deliveries chan delivery

func (d deliveries) hook(names []string, cert *tls.Certificate) {
	select {
	case d <- delivery{slices.Clone(names), cert}:
	default:
	}
}

func (d deliveries) next(ctx context.Context, t *testing.T) delivery {
	t.Helper()
	select {
	case got := <-d:
		return got
	case <-ctx.Done():
		t.Fatalf("no certificate delivered: %v", ctx.Err())
	}
	return delivery{}
}

// harness is a Manager configured for a test Pebble.
type harness struct {
	p    *pebbletest.CA
	logs *logs
	got  deliveries
	cfg  acme.Config
}

func newHarness(t *testing.T, p *pebbletest.CA, names ...string) *harness {
	h := &harness{p: p, logs: newLogs(), got: make(deliveries, 64)}
	h.cfg = acme.Config{
		CA:            p.DirURL,
		Email:         "ops@example.com",
		Names:         names,
		Dir:           t.TempDir(),
		CARoots:       p.Roots,
		Logger:        slog.New(h.logs),
		OnCertificate: h.got.hook,
	}
	return h
}

func (h *harness) manager(t *testing.T) *acme.Manager {
	t.Helper()
	m, err := acme.New(h.cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// run runs m until the test ends, or until the returned ctx's deadline.
func run(t *testing.T, m *acme.Manager) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testDeadline)
	done := make(chan struct{})
	go func() {
		defer close(done)
		m.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return ctx
}

// verify checks that cert chains to Pebble's issuing root for name.
func verify(t *testing.T, p *pebbletest.CA, name string, cert *tls.Certificate) {
	t.Helper()
	if cert.Leaf == nil {
		t.Fatal("certificate delivered without Leaf")
	}
	inter := x509.NewCertPool()
	for _, der := range cert.Certificate[1:] {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		inter.AddCert(c)
	}
	_, err := cert.Leaf.Verify(x509.VerifyOptions{
		DNSName:       name,
		Roots:         p.IssuerRoots(t),
		Intermediates: inter,
	})
	if err != nil {
		t.Fatalf("certificate for %s: %v", name, err)
	}
}

func TestObtainHTTP01(t *testing.T) {
	t.Parallel()
	p := pebbletest.Start(t, pebbletest.Options{})
	h := newHarness(t, p, "www.example.com")
	h.cfg.Challenges = []string{acme.ChallengeHTTP01}
	m := h.manager(t)
	serveHTTP01(t, p.HTTPPort, challengeHandler(m))
	ctx := run(t, m)

	got := h.got.next(ctx, t)
	if !slices.Equal(got.names, []string{"www.example.com"}) {
		t.Fatalf("got names %q, want [www.example.com]", got.names)
	}
	verify(t, p, "www.example.com", got.cert)
	if !m.Ready() {
		t.Error("Ready() = false after issuance")
	}
	h.logs.wait(ctx, t, "acme: account registered", 1)
	r := h.logs.wait(ctx, t, "acme: certificate obtained", 1)
	if s := attr(r, "names").String(); !strings.Contains(s, "www.example.com") {
		t.Errorf("got names=%s, want www.example.com", s)
	}
	if s := attr(r, "ca").String(); s != p.DirURL {
		t.Errorf("got ca=%s, want %s", s, p.DirURL)
	}
}

func TestObtainTLSALPN01(t *testing.T) {
	t.Parallel()
	p := pebbletest.Start(t, pebbletest.Options{})
	names := []string{"a.example.com", "b.example.com"}
	h := newHarness(t, p, names...)
	h.cfg.Challenges = []string{acme.ChallengeTLSALPN01}
	m := h.manager(t)
	serveTLSALPN01(t, p.TLSPort, m)
	ctx := run(t, m)

	seen := map[string]bool{}
	for range names {
		got := h.got.next(ctx, t)
		if len(got.names) != 1 {
			t.Fatalf("got names %q, want one", got.names)
		}
		verify(t, p, got.names[0], got.cert)
		seen[got.names[0]] = true
	}
	for _, n := range names {
		if !seen[n] {
			t.Errorf("no certificate for %s", n)
		}
	}
	if !m.Ready() {
		t.Error("Ready() = false after issuance")
	}
	for _, s := range m.Status() {
		if s.NotAfter.IsZero() || s.LastError != nil || !s.RenewAt.Before(s.NotAfter) {
			t.Errorf("got status %+v, want a held certificate and no error", s)
		}
	}
}

// obtain gets a certificate for the harness's names from its Pebble over
// HTTP-01 and stops the Manager again.
func obtain(t *testing.T, h *harness) *tls.Certificate {
	t.Helper()
	h.cfg.Challenges = []string{acme.ChallengeHTTP01}
	m := h.manager(t)
	stopHTTP := serveHTTP01(t, h.p.HTTPPort, challengeHandler(m))
	ctx, cancel := context.WithTimeout(context.Background(), testDeadline)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		m.Run(ctx)
	}()
	got := h.got.next(ctx, t)
	cancel()
	<-done
	stopHTTP()
	return got.cert
}

// With both challenge types configured and only HTTP-01 reachable, the
// TLS-ALPN-01 attempt fails and the retry leads with HTTP-01.
func TestFallBackToHTTP01(t *testing.T) {
	t.Parallel()
	p := pebbletest.Start(t, pebbletest.Options{})
	h := newHarness(t, p, "www.example.com")
	m := h.manager(t)
	acme.SetRetry(m, time.Millisecond, 10*time.Millisecond)
	serveHTTP01(t, p.HTTPPort, challengeHandler(m))
	ctx := run(t, m)

	r := h.logs.wait(ctx, t, "acme: order failed", 1)
	if got := attr(r, "err").String(); !strings.Contains(got, "tls-alpn-01") {
		t.Errorf("got err=%q, want the tls-alpn-01 challenge first", got)
	}
	verify(t, p, "www.example.com", h.got.next(ctx, t).cert)
	if st := m.Status()[0]; st.LastError != nil || st.Failures != 0 {
		t.Errorf("got status %+v, want the failure cleared", st)
	}
}

func TestReloadFromStore(t *testing.T) {
	t.Parallel()
	p := pebbletest.Start(t, pebbletest.Options{})
	h := newHarness(t, p, "www.example.com")
	first := obtain(t, h)

	for _, f := range []string{"account.key", "certs/www.example.com.crt", "certs/www.example.com.key"} {
		matches, err := filepath.Glob(filepath.Join(h.cfg.Dir, "*", f))
		if err != nil || len(matches) != 1 {
			t.Fatalf("stored %s: got %q, %v", f, matches, err)
		}
		fi, err := os.Stat(matches[0])
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: got mode %v, want 0600", f, fi.Mode().Perm())
		}
	}

	p.Stop() // loading needs no CA
	m := h.manager(t)
	var got delivery
	select {
	case got = <-h.got:
	default:
		t.Fatal("New delivered no stored certificate")
	}
	if got.cert.Leaf.SerialNumber.Cmp(first.Leaf.SerialNumber) != 0 {
		t.Fatalf("got serial %v, want the stored %v", got.cert.Leaf.SerialNumber, first.Leaf.SerialNumber)
	}
	if !m.Ready() {
		t.Error("Ready() = false with a valid stored certificate")
	}
}

// A certificate of the short-lived profile is loaded, the clock is moved
// past its renewal point, and Run replaces it.
func TestRenew(t *testing.T) {
	t.Parallel()
	p := pebbletest.Start(t, pebbletest.Options{})
	h := newHarness(t, p, "www.example.com")
	h.cfg.Profile = pebbletest.ShortProfile
	first := obtain(t, h)
	life := first.Leaf.NotAfter.Sub(first.Leaf.NotBefore)
	if life > pebbletest.ShortValidity || life < pebbletest.ShortValidity-time.Minute {
		t.Fatalf("got lifetime %v, want the %s profile's %v", life, pebbletest.ShortProfile, pebbletest.ShortValidity)
	}

	m := h.manager(t)
	if loaded := <-h.got; loaded.cert.Leaf.SerialNumber.Cmp(first.Leaf.SerialNumber) != 0 {
		t.Fatalf("New delivered serial %v, want %v", loaded.cert.Leaf.SerialNumber, first.Leaf.SerialNumber)
	}
	// Three quarters through the lifetime: past the default renewal point
	// (two thirds), before expiry.
	skew := time.Until(first.Leaf.NotBefore.Add(life * 3 / 4))
	acme.SetClock(m, func() time.Time { return time.Now().Add(skew) })
	serveHTTP01(t, p.HTTPPort, challengeHandler(m))
	ctx := run(t, m)

	got := h.got.next(ctx, t)
	if got.cert.Leaf.SerialNumber.Cmp(first.Leaf.SerialNumber) == 0 {
		t.Fatal("renewal delivered the old certificate")
	}
	verify(t, p, "www.example.com", got.cert)
	h.logs.wait(ctx, t, "acme: certificate renewed", 1)
}

func TestChallengeFails(t *testing.T) {
	t.Parallel()
	p := pebbletest.Start(t, pebbletest.Options{})
	tests := []struct {
		name  string
		serve func(t *testing.T, m *acme.Manager)
	}{
		{"nothing_listening", func(*testing.T, *acme.Manager) {}},
		{"wrong_body", func(t *testing.T, m *acme.Manager) {
			serveHTTP01(t, p.HTTPPort, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, "not the key authorization")
			}))
		}},
		{"not_found", func(t *testing.T, m *acme.Manager) {
			serveHTTP01(t, p.HTTPPort, http.NotFoundHandler())
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, p, "fail.example.com")
			h.cfg.Challenges = []string{acme.ChallengeHTTP01}
			m := h.manager(t)
			acme.SetRetry(m, time.Millisecond, 10*time.Millisecond)
			tt.serve(t, m)
			ctx := run(t, m)

			first := h.logs.wait(ctx, t, "acme: order failed", 1)
			if got := attr(first, "name").String(); got != "fail.example.com" {
				t.Errorf("got name=%q, want fail.example.com", got)
			}
			if got := attr(first, "err").String(); !strings.Contains(got, "http-01") {
				t.Errorf("got err=%q, want it to name the http-01 challenge", got)
			}
			if got := attr(first, "retry_in").Duration(); got <= 0 {
				t.Errorf("got retry_in=%v, want a wait", got)
			}
			if first.Level != slog.LevelError {
				t.Errorf("got level %v, want ERROR", first.Level)
			}
			// The retry happens and fails the same way.
			h.logs.wait(ctx, t, "acme: order failed", 2)
			if m.Ready() {
				t.Error("Ready() = true with no certificate")
			}
			st := m.Status()[0]
			if st.LastError == nil || st.Failures < 2 || !st.NotAfter.IsZero() {
				t.Errorf("got status %+v, want two failures and no certificate", st)
			}
		})
	}
}

// The CA is down when Run starts; Run logs, retries, and gets the
// certificate once the CA comes up at that address.
func TestCADownAtStart(t *testing.T) {
	t.Parallel()
	listen := pebbletest.FreeAddr(t)
	httpPort := pebbletest.FreePort(t)
	api := pebbletest.NewAPICert(t)
	h := &harness{logs: newLogs(), got: make(deliveries, 64)}
	h.cfg = acme.Config{
		CA:            "https://" + listen + "/dir",
		Names:         []string{"late.example.com"},
		Dir:           t.TempDir(),
		CARoots:       api.Roots,
		Challenges:    []string{acme.ChallengeHTTP01},
		Logger:        slog.New(h.logs),
		OnCertificate: h.got.hook,
	}
	m := h.manager(t)
	acme.SetRetry(m, time.Millisecond, 50*time.Millisecond)
	serveHTTP01(t, httpPort, challengeHandler(m))
	ctx := run(t, m)

	r := h.logs.wait(ctx, t, "acme: order failed", 1)
	if got := attr(r, "name").String(); got != "late.example.com" {
		t.Errorf("got name=%q, want late.example.com", got)
	}
	if m.Ready() {
		t.Error("Ready() = true with the CA down")
	}

	p := pebbletest.Start(t, pebbletest.Options{Listen: listen, HTTPPort: httpPort, API: api})
	got := h.got.next(ctx, t)
	verify(t, p, "late.example.com", got.cert)
	if !m.Ready() {
		t.Error("Ready() = false after the CA came up")
	}
}

// The CA forgets the account (here: Pebble restarts) while a name is still
// failing: the Manager registers the key again and gets the certificate.
func TestAccountLostByCA(t *testing.T) {
	t.Parallel()
	o := pebbletest.Options{Listen: pebbletest.FreeAddr(t), HTTPPort: pebbletest.FreePort(t), API: pebbletest.NewAPICert(t)}
	p1 := pebbletest.Start(t, o)
	h := newHarness(t, p1, "a.example.com", "b.example.com")
	h.cfg.Challenges = []string{acme.ChallengeHTTP01}
	m := h.manager(t)
	acme.SetRetry(m, time.Millisecond, 10*time.Millisecond)
	var serveB atomic.Bool
	serveHTTP01(t, o.HTTPPort, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.Host, "b.") && !serveB.Load() {
			http.NotFound(w, r)
			return
		}
		challengeHandler(m).ServeHTTP(w, r)
	}))
	ctx := run(t, m)

	if got := h.got.next(ctx, t); got.names[0] != "a.example.com" {
		t.Fatalf("got a certificate for %q, want a.example.com", got.names)
	}
	h.logs.wait(ctx, t, "acme: order failed", 1)
	p1.Stop()
	p2 := pebbletest.Start(t, o)
	serveB.Store(true)

	h.logs.waitFor(ctx, t, "accountDoesNotExist failure", func(r slog.Record) bool {
		return r.Message == "acme: order failed" && strings.Contains(attr(r, "err").String(), "accountDoesNotExist")
	})
	got := h.got.next(ctx, t)
	if got.names[0] != "b.example.com" {
		t.Fatalf("got a certificate for %q, want b.example.com", got.names)
	}
	verify(t, p2, "b.example.com", got.cert)
	h.logs.wait(ctx, t, "acme: account registered", 2)
}

func TestNewRejects(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		cfg     acme.Config
		wantErr error
		wantIn  string
	}{
		{"no_names", acme.Config{Dir: dir}, acme.ErrNoNames, ""},
		{"bad_name", acme.Config{Dir: dir, Names: []string{"ok.example", "bad_name.example"}}, acme.ErrBadName, "bad_name.example"},
		{"wildcard", acme.Config{Dir: dir, Names: []string{"*.example.com"}}, acme.ErrBadName, "DNS-01"},
		{"duplicate", acme.Config{Dir: dir, Names: []string{"a.example", "A.example"}}, acme.ErrDuplicateName, "A.example"},
		{"challenge", acme.Config{Dir: dir, Names: []string{"a.example"}, Challenges: []string{"dns-01"}}, acme.ErrBadChallenge, "dns-01"},
		{"no_dir", acme.Config{Names: []string{"a.example"}}, acme.ErrNoDir, ""},
		{"ca_http", acme.Config{Dir: dir, Names: []string{"a.example"}, CA: "http://ca.example/dir"}, acme.ErrBadCA, "http://ca.example/dir"},
		{"email", acme.Config{Dir: dir, Names: []string{"a.example"}, Email: "ops"}, acme.ErrBadEmail, "ops"},
		{"renew_before", acme.Config{Dir: dir, Names: []string{"a.example"}, RenewBefore: -time.Hour}, acme.ErrRenewBefore, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := acme.New(tt.cfg)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("got %v, want %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantIn) {
				t.Errorf("got %q, want it to name %q", err, tt.wantIn)
			}
		})
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a rejected config wrote %d entries to Dir", len(entries))
	}
}
