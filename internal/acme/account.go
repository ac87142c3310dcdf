package acme

import (
	"context"
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	xacme "golang.org/x/crypto/acme"
)

// Timeouts of the protocol client's HTTP requests to the CA. A whole
// attempt is bounded by attemptTimeout in order.go.
const (
	dialTimeout    = 30 * time.Second
	requestTimeout = 60 * time.Second
)

// userAgent goes with every request to the CA; x/crypto/acme appends its
// own token.
const userAgent = "nave"

// newClient returns the protocol client for the account key, talking to
// dirURL and trusting roots for the CA's HTTPS (nil: the system roots).
func newClient(dirURL string, key *ecdsa.PrivateKey, roots *x509.CertPool) *xacme.Client {
	transport := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: dialTimeout}).DialContext,
		TLSClientConfig:     &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout: dialTimeout,
		ForceAttemptHTTP2:   true,
		MaxIdleConns:        4,
		IdleConnTimeout:     90 * time.Second,
	}
	return &xacme.Client{
		Key:          key,
		DirectoryURL: dirURL,
		HTTPClient:   &http.Client{Transport: transport, Timeout: requestTimeout},
		UserAgent:    userAgent,
	}
}

// ensureAccount registers the account key with the CA once per Manager.
// A key the CA already knows (a restart) is no error: RFC 8555 §7.3.1 has
// the CA answer with the existing account, and the client then uses it.
func (m *Manager) ensureAccount(ctx context.Context) error {
	m.acctMu.Lock()
	defer m.acctMu.Unlock()
	if m.registered {
		return nil
	}
	acct := &xacme.Account{}
	if m.email != "" {
		acct.Contact = []string{"mailto:" + m.email}
	}
	_, err := m.client.Register(ctx, acct, xacme.AcceptTOS)
	switch {
	case errors.Is(err, xacme.ErrAccountAlreadyExists):
		m.log.Debug("acme: account found", "ca", m.ca)
	case err != nil:
		return fmt.Errorf("acme: register account: %w", err)
	default:
		m.log.Info("acme: account registered", "ca", m.ca, "contact", acct.Contact)
	}
	m.registered = true
	return nil
}
