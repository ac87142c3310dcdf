package acme

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io/fs"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	xacme "golang.org/x/crypto/acme"
)

// Manager holds a certificate for each configured name and keeps it
// renewed. Build it with New; its methods are safe for concurrent use.
type Manager struct {
	ca             string
	names          []string
	challengeTypes []string
	profile        string
	email          string
	renewBefore    time.Duration
	log            *slog.Logger
	onCert         func([]string, *tls.Certificate)
	store          store
	caRoots        *x509.CertPool
	chal           *challenges

	// Set by New; tests change them (export_test.go) before Run.
	now                func() time.Time
	retryMin, retryMax time.Duration

	running atomic.Bool

	acctMu     sync.Mutex
	client     *xacme.Client // the protocol client; guarded by acctMu
	registered bool          // whether client's key is registered; guarded by acctMu

	cbMu sync.Mutex // serializes onCert calls

	mu    sync.Mutex
	state map[string]*nameState // per name; the map is fixed by New, the values guarded by mu
}

// nameState is what a Manager knows of one name.
type nameState struct {
	cert     *tls.Certificate // the newest valid certificate held; nil: none
	failures int              // failed attempts since the last success
	lastErr  error            // the last failure; nil after a success
	retryAt  time.Time        // when the next attempt after a failure is due
}

// Status is one name's state, for health and status pages.
type Status struct {
	Name      string
	NotAfter  time.Time // the held certificate's expiry; zero when none is held
	RenewAt   time.Time // when renewal is due; zero when none is held
	Failures  int       // failed attempts since the last success
	LastError error     // the last failure; nil after a success
	RetryAt   time.Time // the next attempt after a failure; zero when none failed
}

// New checks cfg, loads or makes the account key under cfg.Dir, and loads
// the stored certificates, passing each one still valid for its name to
// OnCertificate. It does not contact the CA. Registering later agrees to
// the CA's terms of service on the operator's behalf.
func New(cfg Config) (*Manager, error) {
	names, err := normalizeNames(cfg.Names)
	if err != nil {
		return nil, err
	}
	types, err := cfg.challenges()
	if err != nil {
		return nil, err
	}
	if err := checkEmail(cfg.Email); err != nil {
		return nil, err
	}
	if cfg.Dir == "" {
		return nil, ErrNoDir
	}
	if cfg.RenewBefore < 0 {
		return nil, ErrRenewBefore
	}
	ca := cfg.caURL()
	sub, err := caDirName(ca)
	if err != nil {
		return nil, err
	}
	st := store{dir: filepath.Join(cfg.Dir, sub)}
	key, err := st.sharedAccountKey()
	if err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &Manager{
		ca:             ca,
		names:          names,
		challengeTypes: types,
		profile:        cfg.Profile,
		email:          cfg.Email,
		renewBefore:    cfg.RenewBefore,
		log:            log,
		onCert:         cfg.OnCertificate,
		store:          st,
		caRoots:        cfg.CARoots,
		client:         newClient(ca, key, cfg.CARoots),
		chal:           newChallenges(),
		now:            time.Now,
		retryMin:       DefaultRetryMin,
		retryMax:       DefaultRetryMax,
		state:          make(map[string]*nameState, len(names)),
	}
	for _, name := range names {
		m.state[name] = &nameState{}
		m.loadStored(name)
	}
	return m, nil
}

// loadStored takes the stored certificate for name when it is still valid.
// A missing, damaged or expired one is left for Run to replace.
func (m *Manager) loadStored(name string) {
	cert, err := m.store.loadCert(name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return
	case err != nil:
		m.log.Warn("acme: stored certificate unusable", "name", name, "err", err)
		return
	}
	if err := cert.Leaf.VerifyHostname(name); err != nil {
		m.log.Warn("acme: stored certificate unusable", "name", name, "err", err)
		return
	}
	if !m.now().Before(cert.Leaf.NotAfter) {
		m.log.Info("acme: stored certificate expired", "name", name, "not_after", cert.Leaf.NotAfter)
		return
	}
	m.state[name].cert = cert
	m.log.Info("acme: certificate loaded", "names", []string{name}, "not_after", cert.Leaf.NotAfter, "ca", m.ca)
	m.deliver(name, cert)
}

// Run obtains the certificates that are missing or due, then renews each
// ahead of expiry, until ctx ends; it returns when all its work has
// stopped. A failed attempt is logged with the name and reason and retried
// after a capped exponential back-off; a CA that is down only delays
// certificates, it never stops Run. Run must not be called again before it
// returns.
func (m *Manager) Run(ctx context.Context) {
	if !m.running.CompareAndSwap(false, true) {
		panic("acme: Manager.Run called while running")
	}
	defer m.running.Store(false)
	var wg sync.WaitGroup
	for _, name := range m.names {
		wg.Go(func() { m.keep(ctx, name) })
	}
	wg.Go(func() { m.watch(ctx) })
	wg.Wait()
}

// keep holds a valid certificate for name until ctx ends.
func (m *Manager) keep(ctx context.Context, name string) {
	for m.sleepUntil(ctx, m.dueAt(name)) {
		m.attempt(ctx, name)
	}
}

// dueAt is when name next needs an attempt; the zero time is now.
func (m *Manager) dueAt(name string) time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.state[name]
	switch {
	case !st.retryAt.IsZero():
		return st.retryAt
	case st.cert == nil:
		return time.Time{}
	}
	return m.renewAt(st.cert)
}

// attempt runs one order for name and records the outcome.
func (m *Manager) attempt(ctx context.Context, name string) {
	m.mu.Lock()
	st := m.state[name]
	failures, renewal := st.failures, st.cert != nil
	m.mu.Unlock()

	cert, fromPeer, err := m.fetch(ctx, name, failures)
	if err != nil {
		if ctx.Err() != nil {
			return // shutting down; not the CA's fault
		}
		m.mu.Lock()
		st.failures++
		st.lastErr = err
		wait := backoff(st.failures, m.retryMin, m.retryMax)
		st.retryAt = m.now().Add(wait)
		m.mu.Unlock()
		m.log.Error("acme: order failed", "name", name, "err", err, "retry_in", wait, "ca", m.ca)
		return
	}
	m.mu.Lock()
	st.cert, st.failures, st.lastErr, st.retryAt = cert, 0, nil, time.Time{}
	m.mu.Unlock()
	msg := "acme: certificate obtained"
	switch {
	case fromPeer:
		msg = "acme: certificate taken from the shared folder"
	case renewal:
		msg = "acme: certificate renewed"
	}
	m.log.Info(msg, "names", []string{name}, "not_after", cert.Leaf.NotAfter, "ca", m.ca)
	m.deliver(name, cert)
}

// deliver passes a certificate to OnCertificate, one call at a time.
func (m *Manager) deliver(name string, cert *tls.Certificate) {
	if m.onCert == nil {
		return
	}
	m.cbMu.Lock()
	defer m.cbMu.Unlock()
	m.onCert([]string{name}, cert)
}

// Ready reports whether a certificate valid now is held for every name.
func (m *Manager) Ready() bool {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, st := range m.state {
		if st.cert == nil || !now.Before(st.cert.Leaf.NotAfter) {
			return false
		}
	}
	return true
}

// Status returns each name's state, in the configured order.
func (m *Manager) Status() []Status {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Status, 0, len(m.names))
	for _, name := range m.names {
		st := m.state[name]
		s := Status{Name: name, Failures: st.failures, LastError: st.lastErr, RetryAt: st.retryAt}
		if st.cert != nil {
			s.NotAfter = st.cert.Leaf.NotAfter
			s.RenewAt = m.renewAt(st.cert)
		}
		out = append(out, s)
	}
	return out
}
