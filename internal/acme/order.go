package acme

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"time"

	xacme "golang.org/x/crypto/acme"
)

// attemptTimeout bounds one attempt at a certificate, from the order to the
// download; a CA that hangs costs one retry, not the name.
const attemptTimeout = 10 * time.Minute

// obtain runs one order for name (RFC 8555 §7.4): authorize it with a
// challenge, finalize with a fresh ECDSA P-256 key, download the chain and
// store it. attempt counts the failures before this one; it picks which
// challenge type to try first.
func (m *Manager) obtain(ctx context.Context, name string, attempt int) (*tls.Certificate, error) {
	ctx, cancel := context.WithTimeout(ctx, attemptTimeout)
	defer cancel()
	c, err := m.account(ctx)
	if err != nil {
		return nil, err
	}
	cert, err := m.order(ctx, c, name, attempt)
	if accountGone(err) {
		m.forgetAccount(c)
	}
	return cert, err
}

// order is obtain's work with the registered client c.
func (m *Manager) order(ctx context.Context, c *xacme.Client, name string, attempt int) (*tls.Certificate, error) {
	var opts []xacme.OrderOption
	if m.profile != "" {
		opts = append(opts, xacme.WithOrderIssuanceProfile(xacme.ProfileName(m.profile)))
	}
	order, err := c.AuthorizeOrder(ctx, xacme.DomainIDs(name), opts...)
	if err != nil {
		return nil, fmt.Errorf("acme: new order: %w", err)
	}
	for _, u := range order.AuthzURLs {
		if err := m.authorize(ctx, c, u, attempt); err != nil {
			return nil, err
		}
	}
	order, err = c.WaitOrder(ctx, order.URI)
	if err != nil {
		return nil, fmt.Errorf("acme: wait for order: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("acme: generate certificate key: %w", err)
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{DNSNames: []string{name}}, key)
	if err != nil {
		return nil, fmt.Errorf("acme: create CSR: %w", err)
	}
	chain, _, err := c.CreateCertFromOrder(ctx, order, csr, true)
	if err != nil {
		return nil, fmt.Errorf("acme: finalize order: %w", err)
	}
	cert, err := checkChain(name, chain, key)
	if err != nil {
		return nil, err
	}
	if err := m.store.saveCert(name, chain, key); err != nil {
		// The certificate is good; serve it and let the next renewal try
		// the disk again rather than spend the CA's rate limit now.
		m.log.Error("acme: store certificate failed", "name", name, "err", err)
	}
	return cert, nil
}

// authorize satisfies one authorization (RFC 8555 §7.5): it answers the
// preferred challenge the CA offers, asks the CA to validate, and waits for
// the verdict. An authorization already valid (reused by the CA) is done.
func (m *Manager) authorize(ctx context.Context, c *xacme.Client, authzURL string, attempt int) error {
	authz, err := c.GetAuthorization(ctx, authzURL)
	if err != nil {
		return fmt.Errorf("acme: get authorization: %w", err)
	}
	switch authz.Status {
	case xacme.StatusValid:
		return nil
	case xacme.StatusPending:
	default:
		return fmt.Errorf("acme: authorization for %s is %s", authz.Identifier.Value, authz.Status)
	}
	chal := m.pickChallenge(authz.Challenges, attempt)
	if chal == nil {
		return fmt.Errorf("%w (%s)", ErrNoChallenge, authz.Identifier.Value)
	}
	cleanup, err := m.provision(c, chal, authz.Identifier.Value)
	if err != nil {
		return err
	}
	defer cleanup()
	if _, err := c.Accept(ctx, chal); err != nil {
		return fmt.Errorf("acme: accept %s challenge: %w", chal.Type, err)
	}
	if _, err := c.WaitAuthorization(ctx, authz.URI); err != nil {
		return fmt.Errorf("acme: %s challenge: %w", chal.Type, err)
	}
	return nil
}

// pickChallenge returns the challenge to answer: the configured types are
// tried in order, starting attempt places further along, so after a
// failure the next attempt leads with the next type.
func (m *Manager) pickChallenge(offered []*xacme.Challenge, attempt int) *xacme.Challenge {
	n := len(m.challengeTypes)
	for i := range n {
		want := m.challengeTypes[(attempt+i)%n]
		if j := slices.IndexFunc(offered, func(c *xacme.Challenge) bool { return c.Type == want }); j >= 0 {
			return offered[j]
		}
	}
	return nil
}

// provision makes the listeners answer chal for name and returns the func
// that stops it.
func (m *Manager) provision(c *xacme.Client, chal *xacme.Challenge, name string) (func(), error) {
	switch chal.Type {
	case ChallengeHTTP01:
		body, err := c.HTTP01ChallengeResponse(chal.Token)
		if err != nil {
			return nil, fmt.Errorf("acme: http-01 response: %w", err)
		}
		m.chal.putHTTP(chal.Token, body)
		unshare := m.shareChallenge(m.store.httpChallengePath(chal.Token), []byte(body))
		return func() { m.chal.deleteHTTP(chal.Token); unshare() }, nil
	case ChallengeTLSALPN01:
		cert, err := c.TLSALPN01ChallengeCert(chal.Token, name)
		if err != nil {
			return nil, fmt.Errorf("acme: tls-alpn-01 certificate: %w", err)
		}
		m.chal.putALPN(name, &cert)
		unshare := func() {}
		if pemCert, err := encodeALPNCert(&cert); err != nil {
			m.log.Warn("acme: challenge not shared with peers", "err", err)
		} else {
			unshare = m.shareChallenge(m.store.alpnChallengePath(name), pemCert)
		}
		return func() { m.chal.deleteALPN(name); unshare() }, nil
	}
	return nil, fmt.Errorf("%w %q", ErrBadChallenge, chal.Type)
}

// checkChain builds the certificate to serve from the CA's chain and
// checks that its leaf is for name and for key: a CA's answer is input too.
func checkChain(name string, chain [][]byte, key *ecdsa.PrivateKey) (*tls.Certificate, error) {
	if len(chain) == 0 {
		return nil, errors.New("acme: CA sent an empty certificate chain")
	}
	leaf, err := x509.ParseCertificate(chain[0])
	if err != nil {
		return nil, fmt.Errorf("acme: parse issued certificate: %w", err)
	}
	if err := leaf.VerifyHostname(name); err != nil {
		return nil, fmt.Errorf("acme: issued certificate: %w", err)
	}
	if !key.PublicKey.Equal(leaf.PublicKey) {
		return nil, errors.New("acme: issued certificate is not for the requested key")
	}
	return &tls.Certificate{Certificate: chain, PrivateKey: key, Leaf: leaf}, nil
}
