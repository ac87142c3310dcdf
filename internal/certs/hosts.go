package certs

import (
	"errors"
	"fmt"
	"strings"
)

// CheckNames reports, for each certificate loaded from files, an error
// naming its certificate file when it covers none of hosts, the host names
// nave serves; such a certificate is likely a mistake. Wildcards on either
// side count when they can match a common host ("*.example.com" and
// "www.example.com"). With no hosts every certificate is accepted.
// Certificates added by Put are not checked: their source chose the names.
func (s *Store) CheckNames(hosts []string) error {
	if len(hosts) == 0 {
		return nil
	}
	want := make([]string, len(hosts))
	for i, h := range hosts {
		want[i] = normalizeName(h)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for i, c := range s.files {
		names := leafNames(c.Leaf)
		if !anyOverlap(names, want) {
			errs = append(errs, &FileError{Path: s.pairs[i].CertFile,
				Err: fmt.Errorf("%w (it is for %s)", ErrNoHostMatch, strings.Join(names, ", "))})
		}
	}
	return errors.Join(errs...)
}

func anyOverlap(names, hosts []string) bool {
	for _, n := range names {
		for _, h := range hosts {
			if namesOverlap(n, h) {
				return true
			}
		}
	}
	return false
}
