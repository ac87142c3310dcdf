package acme

import (
	"context"
	"crypto"
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
func newClient(dirURL string, key crypto.Signer, roots *x509.CertPool) *xacme.Client {
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

// account returns the protocol client, first registering the account key
// with the CA if this Manager has not yet. A key the CA already knows (a
// restart) is no error: RFC 8555 §7.3.1 has the CA answer with the
// existing account, and the client then uses it.
func (m *Manager) account(ctx context.Context) (*xacme.Client, error) {
	m.acctMu.Lock()
	defer m.acctMu.Unlock()
	if m.registered {
		return m.client, nil
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
		return nil, fmt.Errorf("acme: register account: %w", err)
	default:
		m.log.Info("acme: account registered", "ca", m.ca, "contact", acct.Contact)
	}
	m.registered = true
	return m.client, nil
}

// accountGone reports whether err is the CA saying the account does not
// exist (RFC 8555 §6.7 accountDoesNotExist): it was deactivated, or the CA
// lost it (a test CA restarted).
func accountGone(err error) bool {
	var e *xacme.Error
	return errors.As(err, &e) && e.ProblemType == "urn:ietf:params:acme:error:accountDoesNotExist"
}

// forgetAccount makes the next attempt register the key again, with a new
// client, as x/crypto/acme keeps the old account URL. c is the client that
// got the error; if another attempt has replaced it already, nothing is
// done.
func (m *Manager) forgetAccount(c *xacme.Client) {
	m.acctMu.Lock()
	defer m.acctMu.Unlock()
	if m.client != c {
		return
	}
	m.client = newClient(m.ca, c.Key, m.caRoots)
	m.registered = false
}
