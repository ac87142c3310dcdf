// Package acme keeps certificates for nave's TLS listeners from an ACME CA
// (RFC 8555), Let's Encrypt by default: it registers an account, orders one
// certificate per configured name, answers the CA's HTTP-01 (RFC 8555 §8.3)
// and TLS-ALPN-01 (RFC 8737) challenges through hooks the listeners call,
// stores keys and certificates on disk, and renews them ahead of expiry.
//
// A Manager is built with New, which loads what is stored, and kept up to
// date by Run. The HTTP and TLS sides are wired by the caller:
// HTTPChallenge answers /.well-known/acme-challenge/ requests,
// TLSALPNCertificate answers "acme-tls/1" handshakes, and OnCertificate
// hands every certificate to the TLS store.
//
// Several instances (a fleet behind a load balancer) may share one storage
// folder: they take turns per name through flock(2) locks in it, so the
// fleet sends one order per name and every instance serves the certificate
// stored, and each instance can answer a validation a peer started
// (shared.go, lock.go).
//
// It builds on golang.org/x/crypto/acme for the protocol and imports only
// the standard library besides; it must not import any nave package, nor
// net/http beyond the *http.Client the protocol client needs.
package acme
