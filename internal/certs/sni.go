package certs

import (
	"crypto/tls"
	"net"
	"net/netip"
)

// GetCertificate picks the certificate for a handshake; it is the
// tls.Config.GetCertificate of ServerConfig. It takes no lock.
//
// Order: the exact SNI name (case-insensitive, trailing dot ignored); then a
// wildcard one label up ("*.example.com" for "www.example.com"); when the
// client sent no SNI or an IP literal (RFC 6066 §3 forbids IPs in SNI, so
// clients dialing an IP send none), a certificate whose IP SANs hold the
// address the client dialed; else the default, the first certificate
// loaded. An unknown name also gets the default, as nginx's default server
// does: the client then reports the name mismatch itself. When several
// certificates match (an ECDSA and an RSA one for the same name), the first
// whose key the client supports wins.
func (s *Store) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	n := s.snap.Load()
	name := normalizeName(hello.ServerName)
	addr, err := netip.ParseAddr(name)
	literal := err == nil
	if literal {
		if c := pick(n.ips[addr.Unmap()], hello); c != nil {
			return c, nil
		}
	} else if name != "" {
		if c := pick(n.exact[name], hello); c != nil {
			return c, nil
		}
		if p, ok := wildcardParent(name); ok {
			if c := pick(n.wild[p], hello); c != nil {
				return c, nil
			}
		}
	}
	if name == "" || literal {
		if addr, ok := localAddr(hello); ok {
			if c := pick(n.ips[addr], hello); c != nil {
				return c, nil
			}
		}
	}
	if n.def == nil {
		return nil, ErrNoCertificateForName
	}
	return n.def, nil
}

// pick returns the first candidate the client can use, else the first one;
// nil for none.
func pick(cands []*tls.Certificate, hello *tls.ClientHelloInfo) *tls.Certificate {
	switch len(cands) {
	case 0:
		return nil
	case 1:
		return cands[0]
	}
	for _, c := range cands {
		if hello.SupportsCertificate(c) == nil {
			return c
		}
	}
	return cands[0]
}

func localAddr(hello *tls.ClientHelloInfo) (netip.Addr, bool) {
	if hello.Conn == nil {
		return netip.Addr{}, false
	}
	a, ok := hello.Conn.LocalAddr().(*net.TCPAddr)
	if !ok {
		return netip.Addr{}, false
	}
	addr, ok := netip.AddrFromSlice(a.IP)
	return addr.Unmap(), ok
}
