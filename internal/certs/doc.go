// Package certs supplies the certificates and the TLS policy for nave's
// listeners: a Store that picks a certificate per handshake by SNI (RFC 6066
// §3) from PEM files given by the user and from certificates added at run
// time (ACME, the local CA), reloading the files without a restart; a
// hardened tls.Config (TLS 1.2 and 1.3 only, ECDHE with AEAD ciphers, shared
// session ticket keys); and a local development CA, like Caddy's
// "tls internal", whose root the user trusts once.
//
// It imports only the standard library. It must not import net/http or any
// other nave package: the server and the ACME manager depend on it, never the
// other way round.
package certs
