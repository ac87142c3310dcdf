package certs

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Store chooses the certificate for each handshake by SNI. It holds the
// certificates loaded from files (LoadFiles, Reload) and those added at run
// time under a source key (Put). Safe for concurrent use: GetCertificate
// takes no lock, it reads an immutable snapshot that every change replaces
// whole.
type Store struct {
	log  *slog.Logger
	snap atomic.Pointer[snapshot]
	now  func() time.Time

	mu      sync.Mutex // serializes changes; guards the fields below
	pairs   []Pair
	files   []*tls.Certificate // loaded from pairs, same order
	puts    []keyed            // in order of first Put
	tickets []*ticketTarget    // configs whose ticket keys come from a file
	stamps  map[string]stamp   // last seen identity of every watched file
}

type keyed struct {
	key  string
	cert *tls.Certificate
}

// snapshot is what GetCertificate reads. It is never modified once
// published. Lists are in load order: file pairs first, then Puts.
type snapshot struct {
	exact map[string][]*tls.Certificate     // "www.example.com"
	wild  map[string][]*tls.Certificate     // "example.com" for "*.example.com"
	ips   map[netip.Addr][]*tls.Certificate // IP SANs
	def   *tls.Certificate                  // first loaded; nil when empty
}

// NewStore returns an empty store that logs to log (nil discards).
func NewStore(log *slog.Logger) *Store {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Store{log: log, now: time.Now, stamps: map[string]stamp{}}
	s.snap.Store(&snapshot{})
	return s
}

// LoadFiles loads every pair and makes them the store's file certificates,
// replacing any loaded before; the first pair's certificate becomes the
// default. All or nothing: on error nothing changes, and the error joins one
// *FileError per problem found.
func (s *Store) LoadFiles(pairs []Pair) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	stamps := statAll(pairFiles(pairs))
	certs, err := s.loadAll(pairs)
	if err != nil {
		return err
	}
	s.pairs = slices.Clone(pairs)
	s.files = certs
	maps.Copy(s.stamps, stamps)
	s.publish()
	return nil
}

// Reload re-reads the files given to LoadFiles and the session ticket key
// files of every config built by ServerConfig. A bad pair is refused, logged
// at error level and returned; all the old certificates then stay in use.
// Each certificate loaded is logged at info level with its names and expiry.
func (s *Store) Reload() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reloadLocked()
}

func (s *Store) reloadLocked() error {
	maps.Copy(s.stamps, statAll(s.watched()))
	certs, err := s.loadAll(s.pairs)
	if err != nil {
		s.log.Error("certs: reload refused, keeping the certificates in use", "err", err)
	} else {
		s.files = certs
		s.publish()
	}
	return errors.Join(err, s.reloadTicketsLocked())
}

// loadAll loads every pair or none, logging each one loaded.
func (s *Store) loadAll(pairs []Pair) ([]*tls.Certificate, error) {
	now := s.now()
	certs := make([]*tls.Certificate, 0, len(pairs))
	var errs []error
	for _, p := range pairs {
		c, err := loadPair(p, now)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		certs = append(certs, c)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	for i, c := range certs {
		s.log.Info("certs: loaded certificate", "file", pairs[i].CertFile,
			"names", strings.Join(leafNames(c.Leaf), ","), "not_after", c.Leaf.NotAfter.UTC())
	}
	return certs, nil
}

// Put adds or replaces the certificate filed under key, a source name such
// as "acme:example.com" or "local". Its names come from cert.Leaf, which is
// parsed from cert.Certificate[0] when nil. The certificate must not be
// modified afterwards. It becomes the default only if the store had none.
func (s *Store) Put(key string, cert *tls.Certificate) error {
	if cert == nil || len(cert.Certificate) == 0 {
		return fmt.Errorf("certs: put %q: %w", key, ErrNoCertificate)
	}
	if cert.Leaf == nil {
		leaf, err := x509.ParseCertificate(cert.Certificate[0])
		if err != nil {
			return fmt.Errorf("certs: put %q: %w: %v", key, ErrBadCertificate, err)
		}
		c := *cert
		c.Leaf = leaf
		cert = &c
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	i := slices.IndexFunc(s.puts, func(k keyed) bool { return k.key == key })
	if i < 0 {
		s.puts = append(s.puts, keyed{key, cert})
	} else {
		s.puts[i].cert = cert
	}
	s.publish()
	return nil
}

// Delete removes the certificate filed under key by Put, if any.
func (s *Store) Delete(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.puts = slices.DeleteFunc(s.puts, func(k keyed) bool { return k.key == key })
	s.publish()
}

// Names lists, sorted, every name the store answers for: DNS names
// (wildcards as "*.example.com") and IP addresses.
func (s *Store) Names() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var names []string
	for _, c := range s.all() {
		names = append(names, leafNames(c.Leaf)...)
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// all lists every certificate in selection order. Guarded by mu.
func (s *Store) all() []*tls.Certificate {
	all := slices.Clone(s.files)
	for _, k := range s.puts {
		all = append(all, k.cert)
	}
	return all
}

// publish builds a new snapshot from the current certificates and makes it
// the one GetCertificate reads. Guarded by mu.
func (s *Store) publish() {
	n := &snapshot{
		exact: map[string][]*tls.Certificate{},
		wild:  map[string][]*tls.Certificate{},
		ips:   map[netip.Addr][]*tls.Certificate{},
	}
	for _, c := range s.all() {
		if n.def == nil {
			n.def = c
		}
		dns, ips := certNames(c.Leaf)
		for _, d := range dns {
			if p, ok := strings.CutPrefix(d, "*."); ok {
				n.wild[p] = append(n.wild[p], c)
			} else {
				n.exact[d] = append(n.exact[d], c)
			}
		}
		for _, a := range ips {
			n.ips[a] = append(n.ips[a], c)
		}
	}
	s.snap.Store(n)
}

func leafNames(leaf *x509.Certificate) []string {
	dns, ips := certNames(leaf)
	for _, a := range ips {
		dns = append(dns, a.String())
	}
	return dns
}

func pairFiles(pairs []Pair) []string {
	var files []string
	for _, p := range pairs {
		files = append(files, p.CertFile, p.KeyFile)
	}
	return files
}
