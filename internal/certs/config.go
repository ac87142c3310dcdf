package certs

import (
	"crypto/tls"
	"maps"
	"slices"
)

// Options are the per-listener parts of ServerConfig. The zero value works.
type Options struct {
	// NextProtos lists the ALPN protocols offered (RFC 7301), in preference
	// order, e.g. []string{"http/1.1"}. Empty: no ALPN.
	NextProtos []string
	// TicketKeyFile names a file of session ticket keys shared across
	// restarts and instances, as nginx's ssl_session_ticket_key. It is
	// text: one key per line, 64 hex digits (32 bytes) each, as written by
	// "openssl rand -hex 32"; blank lines and lines starting with '#' are
	// ignored; at most 16 keys. The first key encrypts new tickets and all
	// decrypt, so a key is rotated by adding the new one on top and dropping
	// the last. Re-read by Store.Reload, watched by Store.Watch. The file
	// is a secret: whoever reads it can decrypt recorded TLS 1.2 sessions.
	// Empty: crypto/tls's own keys, random and rotated daily.
	TicketKeyFile string
}

// tls12Suites are the only TLS 1.2 cipher suites offered: ECDHE key
// exchange (forward secrecy) with an AEAD cipher. No CBC (Lucky13 and
// padding oracles), no static RSA key exchange (no forward secrecy, ROBOT),
// no 3DES or RC4. TLS 1.3 suites are all AEAD and not configurable.
var tls12Suites = [...]uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// curves are the key exchanges offered. X25519MLKEM768 (the post-quantum
// hybrid, draft-ietf-tls-ecdhe-mlkem) is in this Go's crypto/tls and kept
// so that clients that offer it (current browsers) get it; X25519 and P-256
// are the classical ones every client has. crypto/tls ignores the order of
// this list and applies its own preference, which puts the hybrid first.
var curves = [...]tls.CurveID{tls.X25519MLKEM768, tls.X25519, tls.CurveP256}

// ServerConfig returns the TLS configuration for a listener that serves the
// certificates of s. Build it once per listener and share it across every
// connection; do not modify it afterwards.
//
// Policy: TLS 1.2 and 1.3 only (RFC 8996 deprecates 1.0 and 1.1); for 1.2
// only tls12Suites; key exchange over curves. The server chooses the cipher
// suite: crypto/tls always applies its own order (AES-GCM first when the CPU
// has AES instructions, else ChaCha20-Poly1305), which is why
// PreferServerCipherSuites is not set. Session tickets are on (RFC 5077,
// RFC 8446 §4.6.1); with o.TicketKeyFile their keys come from that file.
// No client certificates, no renegotiation (crypto/tls's default).
//
// The only error is from reading o.TicketKeyFile; a config with a ticket
// key file stays registered with s for Reload as long as s lives.
func ServerConfig(s *Store, o Options) (*tls.Config, error) {
	cfg := &tls.Config{
		MinVersion:       tls.VersionTLS12,
		MaxVersion:       tls.VersionTLS13,
		CipherSuites:     slices.Clone(tls12Suites[:]),
		CurvePreferences: slices.Clone(curves[:]),
		GetCertificate:   s.GetCertificate,
		NextProtos:       slices.Clone(o.NextProtos),
	}
	if o.TicketKeyFile == "" {
		return cfg, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	stamps := statAll([]string{o.TicketKeyFile})
	keys, err := readTicketKeys(o.TicketKeyFile)
	if err != nil {
		return nil, err
	}
	cfg.SetSessionTicketKeys(keys)
	s.tickets = append(s.tickets, &ticketTarget{file: o.TicketKeyFile, cfg: cfg})
	maps.Copy(s.stamps, stamps)
	return cfg, nil
}
