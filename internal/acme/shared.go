package acme

import (
	"context"
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// accountLockWait bounds how long New waits for a peer making the account
// key; making one takes milliseconds.
const accountLockWait = time.Minute

// sharedAccountKey is accountKey under the account lock, so instances
// starting together on an empty shared folder make one account key, not
// one each with all but the last overwritten.
func (s store) sharedAccountKey() (*ecdsa.PrivateKey, error) {
	ctx, cancel := context.WithTimeout(context.Background(), accountLockWait)
	defer cancel()
	unlock, err := lockFile(ctx, s.accountLockPath())
	if err != nil {
		return nil, err
	}
	defer unlock()
	return s.accountKey()
}

// fetch gets a certificate for name under the name's lock: the one a peer
// sharing the folder stored, when it is valid and not yet due (fromPeer),
// else a new one from the CA.
func (m *Manager) fetch(ctx context.Context, name string, failures int) (cert *tls.Certificate, fromPeer bool, err error) {
	unlock, err := lockFile(ctx, m.store.nameLockPath(name))
	if err != nil {
		return nil, false, err
	}
	defer unlock()
	if cert := m.peerCert(name); cert != nil {
		return cert, true, nil
	}
	cert, err = m.obtain(ctx, name, failures)
	return cert, false, err
}

// peerCert returns the stored certificate for name when it is valid for
// name and not yet due for renewal: one a peer stored since this Manager
// last looked. Anything else is nil, and the caller orders.
func (m *Manager) peerCert(name string) *tls.Certificate {
	cert, err := m.store.loadCert(name)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			m.log.Warn("acme: stored certificate unusable", "name", name, "err", err)
		}
		return nil
	}
	if cert.Leaf.VerifyHostname(name) != nil || !m.now().Before(m.renewAt(cert)) {
		return nil
	}
	return cert
}

// rescanInterval is how often a Manager looks in its folder for
// certificates that peers stored: a stat(2) per name.
const rescanInterval = time.Minute

// watch rescans the folder every rescanInterval until ctx ends, so that a
// certificate a peer obtained outside the shared schedule (a peer with
// another RenewBefore, an operator's forced renewal) reaches every
// instance within a minute, not only at this instance's renewal.
func (m *Manager) watch(ctx context.Context) {
	seen := make(map[string]time.Time, len(m.names))
	t := time.NewTicker(rescanInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			m.rescan(seen)
		}
	}
}

// rescan takes, for each name whose stored chain changed since seen says
// (its mtime), the stored certificate when it is valid for the name and
// expires later than the one held. seen is updated; it belongs to the
// caller.
func (m *Manager) rescan(seen map[string]time.Time) {
	for _, name := range m.names {
		info, err := os.Stat(m.store.chainPath(name))
		if err != nil || info.ModTime().Equal(seen[name]) {
			continue
		}
		seen[name] = info.ModTime()
		cert, err := m.store.loadCert(name)
		if err != nil || cert.Leaf.VerifyHostname(name) != nil || !m.now().Before(cert.Leaf.NotAfter) {
			continue
		}
		m.mu.Lock()
		st := m.state[name]
		newer := st.cert == nil || cert.Leaf.NotAfter.After(st.cert.Leaf.NotAfter)
		if newer {
			st.cert, st.failures, st.lastErr, st.retryAt = cert, 0, nil, time.Time{}
		}
		m.mu.Unlock()
		if newer {
			m.log.Info("acme: certificate taken from the shared folder", "names", []string{name}, "not_after", cert.Leaf.NotAfter, "ca", m.ca)
			m.deliver(name, cert)
		}
	}
}

// Challenge responses are written to the shared folder too, so that any
// instance can answer the CA's validation, wherever the load balancer
// sends it:
//
//	<dir>/challenges/http-01/<token>        the key authorization
//	<dir>/challenges/tls-alpn-01/<name>.pem the RFC 8737 certificate and key
//
// An instance answers from memory first and reads the folder only for a
// validation it has no answer for.

func (s store) httpChallengePath(token string) string {
	return filepath.Join(s.dir, "challenges", ChallengeHTTP01, token)
}

func (s store) alpnChallengePath(name string) string {
	return filepath.Join(s.dir, "challenges", ChallengeTLSALPN01, name+".pem")
}

// maxChallengeFile bounds what is read of a challenge file: a key
// authorization is under 100 bytes, a challenge certificate and key under
// 2 KiB.
const maxChallengeFile = 16 << 10

// shareChallenge writes a challenge's response to the folder and returns
// the func that removes it. A failure is logged: this instance can still
// answer itself.
func (m *Manager) shareChallenge(path string, data []byte) func() {
	if err := writeAtomic(path, data); err != nil {
		m.log.Warn("acme: challenge not shared with peers", "err", err)
		return func() {}
	}
	return func() {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			m.log.Warn("acme: remove shared challenge", "err", err)
		}
	}
}

// encodeALPNCert renders a challenge certificate and its key as PEM.
func encodeALPNCert(cert *tls.Certificate) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		return nil, fmt.Errorf("acme: encode challenge key: %w", err)
	}
	var out []byte
	for _, c := range cert.Certificate {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c})...)
	}
	return append(out, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})...), nil
}

// readShared reads a challenge file of at most maxChallengeFile bytes.
func readShared(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, maxChallengeFile))
}

// sharedHTTP returns a peer's key authorization for token.
func (m *Manager) sharedHTTP(token string) (string, bool) {
	if !validToken(token) {
		return "", false
	}
	data, err := readShared(m.store.httpChallengePath(token))
	if err != nil {
		return "", false
	}
	return string(data), true
}

// sharedALPN returns a peer's challenge certificate for name, which must
// be one of the configured names (it becomes a file name).
func (m *Manager) sharedALPN(name string) (*tls.Certificate, bool) {
	if _, ok := m.state[name]; !ok {
		return nil, false
	}
	data, err := readShared(m.store.alpnChallengePath(name))
	if err != nil {
		return nil, false
	}
	cert, err := tls.X509KeyPair(data, data)
	if err != nil {
		m.log.Warn("acme: shared challenge unusable", "name", name, "err", err)
		return nil, false
	}
	return &cert, true
}

// validToken reports whether token is an ACME token (RFC 8555 §8.1:
// base64url, at least 128 bits): safe as a file name.
func validToken(token string) bool {
	if len(token) < 22 || len(token) > 256 {
		return false
	}
	for _, c := range []byte(token) {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
		if !ok {
			return false
		}
	}
	return true
}
