package cli

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"time"

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
}

func (f *tlsFlags) enabled() bool { return len(f.certFiles) > 0 || f.selfSigned }

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
		return usagef("--hsts, --redirect-http and --tls-ticket-keys need HTTPS: give --tls-cert and --tls-key, or --tls-self-signed")
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
	tc, err := certs.ServerConfig(store, certs.Options{NextProtos: []string{"http/1.1"}, TicketKeyFile: f.ticketKeyFile})
	if err != nil {
		return nil, &usageError{err}
	}
	return &tlsSetup{store: store, config: tc}, nil
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
// https on the TLS listener's port.
type redirectHandler struct {
	port string // ":8443", or "" for 443
}

func (h *redirectHandler) Serve(w *web.ResponseWriter, r *web.Request) {
	host := hostOnly(r.Authority)
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

// hostOnly drops the port from an authority; an IP-literal keeps its
// brackets.
func hostOnly(a []byte) []byte {
	if i := strings.LastIndexByte(string(a), ':'); i >= 0 && !strings.Contains(string(a[i:]), "]") {
		return a[:i]
	}
	return a
}

const tlsFlagsUsage = `HTTPS (with any of these, --listen defaults to 127.0.0.1:8443):
  --tls-cert FILE --tls-key FILE
                         a PEM certificate chain and its key; repeat the pair
                         for several certificates, chosen by SNI
  --tls-self-signed      certificates from a local CA nave creates once (for
                         development); it prints how to trust the CA
  --domain NAME          a name the site answers to (repeatable): the local
                         CA's certificate covers it, and a --tls-cert that
                         matches none of them is refused
  --tls-ticket-keys FILE session ticket keys shared across restarts (one
                         64-hex-digit key a line, the first encrypts);
                         default: random keys, rotated daily
  --tls-handshake-timeout D
                         for a TLS handshake, from its first byte (default 10s)
  --hsts D               send Strict-Transport-Security: max-age=D on HTTPS
  --redirect-http ADDR   also listen on ADDR in the clear and redirect every
                         request to https with 308
`
