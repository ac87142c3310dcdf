package certs

import (
	"crypto/x509"
	"net/netip"
	"strings"
)

// certNames returns the names a leaf answers for, normalized: DNS names
// (wildcards kept as "*.example.com") and IP addresses from its SANs; the
// subject CN only when it has no SANs at all (RFC 6125 §6.4.4 keeps the CN
// as a fallback for such legacy certificates).
func certNames(leaf *x509.Certificate) (dns []string, ips []netip.Addr) {
	for _, n := range leaf.DNSNames {
		if n = normalizeName(n); n != "" {
			dns = append(dns, n)
		}
	}
	for _, ip := range leaf.IPAddresses {
		if a, ok := netip.AddrFromSlice(ip); ok {
			ips = append(ips, a.Unmap())
		}
	}
	if len(leaf.DNSNames) == 0 && len(leaf.IPAddresses) == 0 && leaf.Subject.CommonName != "" {
		if a, err := netip.ParseAddr(leaf.Subject.CommonName); err == nil {
			ips = append(ips, a.Unmap())
		} else if n := normalizeName(leaf.Subject.CommonName); n != "" {
			dns = append(dns, n)
		}
	}
	return dns, ips
}

// normalizeName lower-cases a host name and drops one trailing dot, so
// "Example.COM." and "example.com" are the same key.
func normalizeName(n string) string {
	n = strings.TrimSuffix(n, ".")
	for i := 0; i < len(n); i++ {
		if c := n[i]; 'A' <= c && c <= 'Z' {
			return strings.ToLower(n)
		}
	}
	return n
}

// wildcardParent returns the part after the first label: "a.example.com"
// gives "example.com", the key under which "*.example.com" is filed. A
// wildcard covers exactly one label (RFC 6125 §6.4.3).
func wildcardParent(n string) (string, bool) {
	i := strings.IndexByte(n, '.')
	if i <= 0 || i == len(n)-1 {
		return "", false
	}
	return n[i+1:], true
}

// namesOverlap reports whether two normalized names, either of which may be
// a wildcard, can both match some host: equal, or one is "*.D" and the other
// is one label followed by ".D".
func namesOverlap(a, b string) bool {
	if a == b {
		return true
	}
	return coversOneLabel(a, b) || coversOneLabel(b, a)
}

func coversOneLabel(wild, n string) bool {
	d, ok := strings.CutPrefix(wild, "*.")
	if !ok {
		return false
	}
	p, ok := wildcardParent(n)
	return ok && p == d
}
