package acme

import (
	"crypto/tls"
	"strings"
	"sync"
)

// httpChallengePrefix is where an HTTP-01 validation asks (RFC 8555 §8.3).
const httpChallengePrefix = "/.well-known/acme-challenge/"

// challenges holds the responses for challenges being validated; the
// listeners read them through HTTPChallenge and TLSALPNCertificate while an
// order adds and removes them.
type challenges struct {
	mu   sync.RWMutex
	http map[string]string           // token → key authorization; guarded by mu
	alpn map[string]*tls.Certificate // name → RFC 8737 certificate; guarded by mu
}

func newChallenges() *challenges {
	return &challenges{http: map[string]string{}, alpn: map[string]*tls.Certificate{}}
}

func (c *challenges) putHTTP(token, keyAuth string) {
	c.mu.Lock()
	c.http[token] = keyAuth
	c.mu.Unlock()
}

func (c *challenges) deleteHTTP(token string) {
	c.mu.Lock()
	delete(c.http, token)
	c.mu.Unlock()
}

func (c *challenges) putALPN(name string, cert *tls.Certificate) {
	c.mu.Lock()
	c.alpn[name] = cert
	c.mu.Unlock()
}

func (c *challenges) deleteALPN(name string) {
	c.mu.Lock()
	delete(c.alpn, name)
	c.mu.Unlock()
}

// HTTPChallenge answers an HTTP-01 validation: for the request path
// "/.well-known/acme-challenge/TOKEN" it returns the key authorization to
// send as the body (200, any Content-Type; RFC 8555 §8.3) and true while a
// challenge with that token is pending. Otherwise it returns "", false and
// the caller goes on as for any other request (a 404, or a redirect to
// HTTPS: RFC 8555 §8.3 lets the CA follow it, but serving here is surer).
// A challenge a peer sharing the storage folder has pending is answered
// too, from its file there (shared.go). It is safe for concurrent use.
func (m *Manager) HTTPChallenge(path string) (body string, ok bool) {
	token, found := strings.CutPrefix(path, httpChallengePrefix)
	if !found || token == "" || strings.ContainsRune(token, '/') {
		return "", false
	}
	m.chal.mu.RLock()
	body, ok = m.chal.http[token]
	m.chal.mu.RUnlock()
	if ok {
		return body, true
	}
	return m.sharedHTTP(token)
}

// TLSALPNCertificate answers a TLS-ALPN-01 validation: when hello offers
// exactly the ALPNProto protocol (RFC 8737 §3: the CA offers no other) and
// a challenge for hello.ServerName is pending, it returns the challenge
// certificate, with the acmeIdentifier extension, and true. Otherwise it
// returns nil, false and the listener picks its usual certificate. The
// listener must then negotiate ALPNProto, which crypto/tls does when its
// NextProtos includes it. As with HTTPChallenge, a peer's pending
// challenge for a configured name is answered from the shared folder. It
// is safe for concurrent use.
func (m *Manager) TLSALPNCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, bool) {
	if len(hello.SupportedProtos) != 1 || hello.SupportedProtos[0] != ALPNProto {
		return nil, false
	}
	name := strings.TrimSuffix(strings.ToLower(hello.ServerName), ".")
	m.chal.mu.RLock()
	cert, ok := m.chal.alpn[name]
	m.chal.mu.RUnlock()
	if ok {
		return cert, true
	}
	return m.sharedALPN(name)
}
