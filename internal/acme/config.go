package acme

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Defaults for a zero Config.
const (
	// LetsEncrypt is Let's Encrypt's production directory, used when
	// Config.CA is empty.
	LetsEncrypt = "https://acme-v02.api.letsencrypt.org/directory"

	// ChallengeHTTP01 and ChallengeTLSALPN01 name the challenge types a
	// Manager can answer, as the CA spells them.
	ChallengeHTTP01    = "http-01"
	ChallengeTLSALPN01 = "tls-alpn-01"

	// ALPNProto is the protocol a TLS-ALPN-01 validation offers (RFC 8737
	// §6.2); a listener's NextProtos must include it for TLS-ALPN-01.
	ALPNProto = "acme-tls/1"

	// DefaultRetryMin and DefaultRetryMax bound the back-off between failed
	// attempts for one name: the first retry waits about DefaultRetryMin,
	// each further one twice as long, up to DefaultRetryMax.
	DefaultRetryMin = time.Minute
	DefaultRetryMax = time.Hour
)

// defaultChallenges is the preference order when Config.Challenges is nil:
// TLS-ALPN-01 first, as it needs only the TLS port the certificate is for;
// HTTP-01 next, tried after a TLS-ALPN-01 failure.
var defaultChallenges = []string{ChallengeTLSALPN01, ChallengeHTTP01}

// Config says where to get certificates and for which names. Its zero
// value, given Names and Dir, gets them from Let's Encrypt. New copies what
// it needs; the caller's Config is never written.
type Config struct {
	// CA is the ACME directory URL; "" is LetsEncrypt.
	CA string
	// Email is the account contact; "" registers without one.
	Email string
	// Names are the DNS names to hold certificates for. Each name gets its
	// own certificate, so a name the CA refuses (DNS not pointed here yet,
	// a typo, a rate limit) holds back no other. Names are matched
	// case-insensitively and a trailing dot is dropped; wildcards are
	// refused, as they need DNS-01.
	Names []string
	// Dir is the storage folder. A Manager keeps its files under
	// Dir/<CA host and path>/, so certificates of a staging CA never serve
	// for a production one. Folders are made 0700, files 0600. Instances
	// may share Dir (a folder every machine mounts, with working flock(2)
	// locks): the fleet orders each certificate once.
	Dir string
	// CARoots verifies the CA's own HTTPS; nil is the system roots.
	CARoots *x509.CertPool
	// Profile asks the CA for an issuance profile by name (Let's Encrypt:
	// "classic", "tlsserver", "shortlived"); "" is the CA's default.
	Profile string
	// RenewBefore is how much validity is left when renewal starts. Zero,
	// or a value not shorter than a certificate's lifetime, is one third of
	// that lifetime, as Let's Encrypt recommends; so short-lived
	// certificates renew too and are never renewed in a loop.
	RenewBefore time.Duration
	// Challenges lists the challenge types to answer, in order of
	// preference: ChallengeHTTP01, ChallengeTLSALPN01. nil or empty is
	// both, TLS-ALPN-01 first. A failed attempt makes the next one start
	// from the following type.
	Challenges []string
	// Logger gets one record per event; nil discards them.
	Logger *slog.Logger
	// OnCertificate is called with every certificate loaded by New or
	// obtained by Run (first issuance and renewals), so the TLS store can
	// serve it. Calls are never concurrent. The certificate is not changed
	// afterwards; its Leaf is set. nil is allowed.
	OnCertificate func(names []string, cert *tls.Certificate)
}

// caURL returns the directory URL to use.
func (c *Config) caURL() string {
	if c.CA == "" {
		return LetsEncrypt
	}
	return c.CA
}

// challenges returns the challenge types in order of preference.
func (c *Config) challenges() ([]string, error) {
	if len(c.Challenges) == 0 {
		return defaultChallenges, nil
	}
	var out []string
	for _, ch := range c.Challenges {
		if ch != ChallengeHTTP01 && ch != ChallengeTLSALPN01 {
			return nil, fmt.Errorf("%w %q", ErrBadChallenge, ch)
		}
		if !slices.Contains(out, ch) {
			out = append(out, ch)
		}
	}
	return out, nil
}

// caDirName is the storage subfolder for a directory URL: host, port and
// path with every character outside [a-z0-9.-] turned into "-", e.g.
// "acme-v02.api.letsencrypt.org-directory".
func caDirName(dirURL string) (string, error) {
	u, err := url.Parse(dirURL)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrBadCA, err)
	}
	if u.Scheme != "https" || u.Host == "" {
		return "", fmt.Errorf("%w %q: want https://host/...", ErrBadCA, dirURL)
	}
	raw := strings.ToLower(u.Host + u.Path)
	b := []byte(strings.TrimRight(raw, "/"))
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			b[i] = '-'
		}
	}
	return string(b), nil
}

// checkEmail accepts an empty address or one that makes a valid mailto:
// contact (RFC 8555 §7.3): one "@", no spaces, no URL or list syntax.
func checkEmail(email string) error {
	if email == "" {
		return nil
	}
	at := strings.IndexByte(email, '@')
	if at <= 0 || at == len(email)-1 || strings.Count(email, "@") != 1 ||
		strings.ContainsAny(email, " \t\r\n,;:<>?&/") {
		return fmt.Errorf("%w %q", ErrBadEmail, email)
	}
	return nil
}

// normalizeNames validates names and returns them lower-cased without a
// trailing dot, in the given order.
func normalizeNames(names []string) ([]string, error) {
	if len(names) == 0 {
		return nil, ErrNoNames
	}
	out := make([]string, 0, len(names))
	for _, raw := range names {
		name := strings.TrimSuffix(strings.ToLower(raw), ".")
		if err := checkName(name); err != nil {
			return nil, fmt.Errorf("%w %q: %s", ErrBadName, raw, err)
		}
		if slices.Contains(out, name) {
			return nil, fmt.Errorf("%w %q", ErrDuplicateName, raw)
		}
		out = append(out, name)
	}
	return out, nil
}

// nameError says why a name is refused.
type nameError string

func (e nameError) Error() string { return string(e) }

// checkName validates a lower-case DNS name as an ACME "dns" identifier
// (RFC 8555 §7.1.4): LDH labels of 1 to 63 bytes, 253 bytes in all. IP
// addresses and wildcards are refused: the first are a different
// identifier type, the second need DNS-01, which a Manager cannot answer.
func checkName(name string) error {
	switch {
	case name == "":
		return nameError("empty")
	case len(name) > 253:
		return nameError("longer than 253 bytes")
	case strings.HasPrefix(name, "*."):
		return nameError("wildcards need DNS-01, which is not supported")
	case net.ParseIP(name) != nil:
		return nameError("an IP address, not a DNS name")
	}
	for label := range strings.SplitSeq(name, ".") {
		if err := checkLabel(label); err != nil {
			return err
		}
	}
	return nil
}

func checkLabel(label string) error {
	switch {
	case label == "":
		return nameError("empty label")
	case len(label) > 63:
		return nameError("label longer than 63 bytes")
	case label[0] == '-' || label[len(label)-1] == '-':
		return nameError("label starts or ends with '-'")
	}
	for i := 0; i < len(label); i++ {
		c := label[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return nameError(fmt.Sprintf("character %q not allowed", c))
		}
	}
	return nil
}
