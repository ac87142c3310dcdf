package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"nave/internal/acme"
	"nave/internal/certs"
	"nave/internal/server"
	"nave/internal/web"
)

// tlsFlags are the HTTPS flags every serving command shares.
type tlsFlags struct {
	certFiles, keyFiles listFlag
	domains             listFlag
	selfSigned          bool
	ticketKeyFile       string
	handshakeTimeout    time.Duration
	hsts                time.Duration
	redirectHTTP        string
	acmeEmail           string
	acmeCA              string
	acmeCARoot          string
	acmeChallenges      string
	http2               bool // offer h2 by ALPN (set from the HTTP/2 flags)
}

// listFlag collects the values of a repeatable flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

func (f *tlsFlags) register(fs *flag.FlagSet) {
	fs.Var(&f.certFiles, "tls-cert", "")
	fs.Var(&f.keyFiles, "tls-key", "")
	fs.Var(&f.domains, "domain", "")
	fs.BoolVar(&f.selfSigned, "tls-self-signed", false, "")
	fs.StringVar(&f.ticketKeyFile, "tls-ticket-keys", "", "")
	fs.DurationVar(&f.handshakeTimeout, "tls-handshake-timeout", server.DefaultHandshakeTimeout, "")
	fs.DurationVar(&f.hsts, "hsts", 0, "")
	fs.StringVar(&f.redirectHTTP, "redirect-http", "", "")
	fs.StringVar(&f.acmeEmail, "acme-email", "", "")
	fs.StringVar(&f.acmeCA, "acme-ca", "", "")
	fs.StringVar(&f.acmeCARoot, "acme-ca-root", "", "")
	fs.StringVar(&f.acmeChallenges, "acme-challenges", "", "")
}

func (f *tlsFlags) enabled() bool { return len(f.certFiles) > 0 || f.selfSigned || f.acme() }

// acme: --domain names with no other source of certificates get theirs
// from an ACME CA, as Caddy's automatic HTTPS does.
func (f *tlsFlags) acme() bool { return len(f.domains) > 0 && len(f.certFiles) == 0 && !f.selfSigned }

func (f *tlsFlags) check() error {
	switch {
	case len(f.certFiles) != len(f.keyFiles):
		return usagef("--tls-cert and --tls-key come in pairs: got %d certificates and %d keys", len(f.certFiles), len(f.keyFiles))
	case f.selfSigned && len(f.certFiles) > 0:
		return usagef("--tls-self-signed and --tls-cert exclude each other")
	case f.handshakeTimeout <= 0:
		return usagef("--tls-handshake-timeout must be positive, got %v", f.handshakeTimeout)
	case f.hsts < 0:
		return usagef("--hsts must not be negative, got %v", f.hsts)
	case !f.enabled() && (f.hsts > 0 || f.redirectHTTP != "" || f.ticketKeyFile != ""):
		return usagef("--hsts, --redirect-http and --tls-ticket-keys need HTTPS: give --tls-cert and --tls-key, --tls-self-signed, or --domain")
	case !f.acme() && (f.acmeEmail != "" || f.acmeCA != "" || f.acmeCARoot != "" || f.acmeChallenges != ""):
		return usagef("--acme-* flags need --domain, without --tls-cert or --tls-self-signed")
	}
	for _, c := range f.challenges() {
		switch {
		case c != acme.ChallengeHTTP01 && c != acme.ChallengeTLSALPN01:
			return usagef("--acme-challenges: %q is not http-01 or tls-alpn-01", c)
		case c == acme.ChallengeHTTP01 && f.redirectHTTP == "":
			return usagef("--acme-challenges http-01 needs --redirect-http: the CA asks on port 80 in the clear")
		}
	}
	for _, d := range f.domains {
		if d == "" || strings.ContainsAny(d, "/: \t") && net.ParseIP(d) == nil {
			return usagef("--domain %q is not a host name", d)
		}
	}
	return nil
}

// tlsSetup is what HTTPS needs at run time.
type tlsSetup struct {
	store  *certs.Store
	config *tls.Config
	acme   *acme.Manager // nil unless certificates come from an ACME CA
}

// setup loads the certificates (or makes the local CA and its
// certificate), and keeps them fresh until ctx ends: reloaded when their
// files change, the local certificate renewed.
func (f *tlsFlags) setup(ctx context.Context, log *slog.Logger, stdout io.Writer) (*tlsSetup, error) {
	store := certs.NewStore(log)
	if len(f.certFiles) > 0 {
		pairs := make([]certs.Pair, len(f.certFiles))
		for i := range pairs {
			pairs[i] = certs.Pair{CertFile: f.certFiles[i], KeyFile: f.keyFiles[i]}
		}
		if err := store.LoadFiles(pairs); err != nil {
			return nil, &usageError{err}
		}
		if err := store.CheckNames(f.domains); err != nil {
			return nil, &usageError{err}
		}
		go store.Watch(ctx, certs.DefaultWatchInterval)
	}
	if f.selfSigned {
		if err := f.localCA(ctx, store, log, stdout); err != nil {
			return nil, err
		}
	}
	protos := []string{"http/1.1"}
	if f.http2 {
		protos = []string{"h2", "http/1.1"}
	}
	tc, err := certs.ServerConfig(store, certs.Options{NextProtos: protos, TicketKeyFile: f.ticketKeyFile})
	if err != nil {
		return nil, &usageError{err}
	}
	ts := &tlsSetup{store: store, config: tc}
	if f.acme() {
		if ts.acme, err = f.acmeManager(store, log); err != nil {
			return nil, err
		}
		// TLS-ALPN-01 (RFC 8737): the CA's validator offers only
		// acme-tls/1 and gets the challenge certificate.
		tc.NextProtos = append(tc.NextProtos, acme.ALPNProto)
		tc.GetCertificate = func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			if cert, ok := ts.acme.TLSALPNCertificate(hello); ok {
				return cert, nil
			}
			return store.GetCertificate(hello)
		}
		go ts.acme.Run(ctx)
	}
	return ts, nil
}

// challenges are the ACME challenge types to answer, in order: those
// given, else TLS-ALPN-01 and, when a cleartext listener can answer it,
// HTTP-01.
func (f *tlsFlags) challenges() []string {
	switch {
	case f.acmeChallenges != "":
		return strings.Split(f.acmeChallenges, ",")
	case f.redirectHTTP != "":
		return []string{acme.ChallengeTLSALPN01, acme.ChallengeHTTP01}
	}
	return []string{acme.ChallengeTLSALPN01}
}

// acmeManager makes the ACME manager for the --domain names, keeping its
// account and certificates in the state folder and handing every
// certificate to store.
func (f *tlsFlags) acmeManager(store *certs.Store, log *slog.Logger) (*acme.Manager, error) {
	state, err := certs.StateDir()
	if err != nil {
		return nil, usagef("--domain: %v", err)
	}
	cfg := acme.Config{
		CA:         f.acmeCA,
		Email:      f.acmeEmail,
		Names:      f.domains,
		Dir:        filepath.Join(state, "acme"),
		Logger:     log,
		Challenges: f.challenges(),
		OnCertificate: func(names []string, cert *tls.Certificate) {
			if err := store.Put("acme:"+strings.Join(names, ","), cert); err != nil {
				log.Error("acme: certificate refused by the store", "names", names, "err", err)
			}
		},
	}
	if f.acmeCARoot != "" {
		pemBytes, err := os.ReadFile(f.acmeCARoot)
		if err != nil {
			return nil, usagef("--acme-ca-root: %v", err)
		}
		cfg.CARoots = x509.NewCertPool()
		if !cfg.CARoots.AppendCertsFromPEM(pemBytes) {
			return nil, usagef("--acme-ca-root %s: no PEM certificate in it", f.acmeCARoot)
		}
	}
	m, err := acme.New(cfg)
	if err != nil {
		return nil, &usageError{err}
	}
	return m, nil
}

// localCA opens (or creates, once) the local CA in the state folder and
// keeps a certificate from it for localhost and the --domain names.
func (f *tlsFlags) localCA(ctx context.Context, store *certs.Store, log *slog.Logger, stdout io.Writer) error {
	state, err := certs.StateDir()
	if err != nil {
		return usagef("--tls-self-signed: %v", err)
	}
	ca, created, err := certs.OpenLocalCA(filepath.Join(state, "ca"))
	if err != nil {
		return usagef("--tls-self-signed: %v", err)
	}
	if err := ca.Keep(ctx, store, f.domains, log); err != nil {
		return usagef("--tls-self-signed: %v", err)
	}
	if created {
		fmt.Fprintf(stdout, "Created a local certificate authority for development.\n%s\n", certs.TrustInstructions(ca.CertFile()))
	} else {
		fmt.Fprintf(stdout, "Certificates from the local CA %s (nave help tls: how to trust it)\n", ca.CertFile())
	}
	return nil
}

// wrap adds HSTS to the responses over TLS when asked.
func (f *tlsFlags) wrap(h web.Handler) web.Handler {
	if f.hsts <= 0 {
		return h
	}
	return &hstsHandler{next: h, value: "max-age=" + strconv.FormatInt(int64(f.hsts/time.Second), 10)}
}

// hstsHandler sets Strict-Transport-Security (RFC 6797) on responses sent
// over TLS; a browser ignores it over plain HTTP anyway (§8.1).
type hstsHandler struct {
	next  web.Handler
	value string
}

func (h *hstsHandler) Serve(w *web.ResponseWriter, r *web.Request) {
	if r.TLS != nil {
		w.Header().Set("Strict-Transport-Security", h.value)
	}
	h.next.Serve(w, r)
}

// redirectHandler answers every request with 308 to the same URL over
// https on the TLS listener's port, except an ACME CA's HTTP-01
// challenge requests (RFC 8555 §8.3), which it answers.
type redirectHandler struct {
	port string        // ":8443", or "" for 443
	acme *acme.Manager // nil without ACME
}

// challengePrefix is where HTTP-01 challenges are asked.
const challengePrefix = "/.well-known/acme-challenge/"

func (h *redirectHandler) Serve(w *web.ResponseWriter, r *web.Request) {
	if h.acme != nil && strings.HasPrefix(string(r.Path), challengePrefix) {
		body, ok := h.acme.HTTPChallenge(string(r.Path))
		if !ok {
			web.Error(w, 404, "no such challenge")
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.WriteString(body)
		return
	}
	host := web.Hostname(r.Authority)
	if len(host) == 0 {
		web.Error(w, 400, "a Host is needed to redirect to https")
		return
	}
	path := r.Path
	if len(path) == 0 || path[0] != '/' {
		path = []byte{'/'} // "*", or an authority-form target
	}
	loc := make([]byte, 0, 8+len(host)+len(h.port)+len(path)+1+len(r.Query))
	loc = append(append(append(append(loc, "https://"...), host...), h.port...), path...)
	if r.Query != nil {
		loc = append(append(loc, '?'), r.Query...)
	}
	w.Header().SetBytes("Location", loc)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(308)
	w.WriteString("308 Permanent Redirect: this site is served over https\n")
}

const tlsFlagsUsage = `HTTPS (then --listen defaults to 127.0.0.1:8443):
  --tls-cert FILE --tls-key FILE
                         a PEM certificate chain and its key; repeat the pair
                         for several certificates, chosen by SNI
  --tls-self-signed      certificates from a local CA nave creates once (for
                         development); it prints how to trust the CA
  --domain NAME          a name the site answers to (repeatable). Alone, it
                         turns on automatic certificates from an ACME CA;
                         with --tls-self-signed the local certificate covers
                         it; with --tls-cert, a certificate that matches none
                         of the names is refused
  --tls-ticket-keys FILE session ticket keys shared across restarts (one
                         64-hex-digit key a line, the first encrypts);
                         default: random keys, rotated daily
  --tls-handshake-timeout D
                         for a TLS handshake, from its first byte (default 10s)
  --hsts D               send Strict-Transport-Security: max-age=D on HTTPS
  --redirect-http ADDR   also listen on ADDR in the clear and redirect every
                         request to https with 308

Automatic certificates (ACME; with --domain and neither --tls-cert nor
--tls-self-signed):
  --acme-email ADDR      the account's contact address (optional)
  --acme-ca URL          the CA's directory (default Let's Encrypt:
                         https://acme-v02.api.letsencrypt.org/directory)
  --acme-ca-root FILE    PEM roots to trust for the CA's own HTTPS (a test CA)
  --acme-challenges LIST the challenges to answer, in order of preference:
                         tls-alpn-01 (on the HTTPS listener) and http-01
                         (needs --redirect-http on port 80); default
                         tls-alpn-01, then http-01 when it can be answered
`
