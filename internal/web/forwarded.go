package web

import (
	"bytes"
	"net/netip"
	"slices"
	"strings"
	"unsafe"
)

// TrustProxies marks r as come through a trusted proxy (FromProxy) when
// its client, RemoteAddr, is one of trusted, and then reads what the
// proxies say of the client the request started from: ClientAddr and
// ClientScheme, without allocating. A request from anyone else is left as
// it is.
func (r *Request) TrustProxies(trusted []netip.Prefix) {
	if !Trusted(trusted, r.RemoteAddr.Addr()) {
		return
	}
	r.FromProxy = true
	r.forwardedFor = forwardedFor(&r.Header, trusted)
	r.forwardedProto = forwardedProto(&r.Header)
}

// ClientAddr is the address of the client the request started from: the
// first address of X-Forwarded-For, counted from its end, that is not a
// trusted proxy, for a request through one (TrustProxies); RemoteAddr
// otherwise, or when the field names no address that can be believed. The
// port is 0 where the field gives none.
func (r *Request) ClientAddr() netip.AddrPort {
	if r.forwardedFor.IsValid() {
		return r.forwardedFor
	}
	return r.RemoteAddr
}

// ClientScheme is the scheme the client used: "https" or "http" as the
// last X-Forwarded-Proto says, for a request through a trusted proxy;
// otherwise the request's own (https on TLS).
func (r *Request) ClientScheme() string {
	switch {
	case r.forwardedProto != "":
		return r.forwardedProto
	case r.Scheme != "":
		return r.Scheme
	case r.TLS != nil:
		return "https"
	}
	return "http"
}

// Trusted reports whether a peer at a is one of list's: an address in
// one of its prefixes, or, for a peer with no address (a Unix socket's),
// a list holding the zero Prefix, which stands for every such peer (the
// entry "unix" of a listener's trusted_proxies).
func Trusted(list []netip.Prefix, a netip.Addr) bool {
	if !a.IsValid() {
		return slices.Contains(list, netip.Prefix{})
	}
	a = a.Unmap()
	for _, p := range list {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// forwardedFor reads the X-Forwarded-For fields as nginx's realip module
// does with real_ip_recursive: from the end, each proxy appended the
// address it took the request from, so the client is the last address
// that is not a trusted proxy; where every one is, the first. An entry
// that is not an address ends the belief there: only what the trusted
// proxies to its right appended counts. The fields' entries are walked
// once from the start, keeping the answer for what has been read so far.
func forwardedFor(h *Header, trusted []netip.Prefix) netip.AddrPort {
	var client netip.AddrPort
	for v := range h.Values("X-Forwarded-For") {
		for len(v) > 0 {
			var entry []byte
			entry, v, _ = bytes.Cut(v, comma)
			a, ok := parseHop(bytes.TrimSpace(entry))
			switch {
			case !ok:
				client = netip.AddrPort{} // nothing to its left is believed
			case !Trusted(trusted, a.Addr()):
				client = a // the last untrusted so far
			case !client.IsValid():
				client = a // the first of a run of trusted proxies
			}
		}
	}
	return client
}

var comma = []byte{','}

// parseHop parses one X-Forwarded-For entry: an IPv4 or IPv6 address, the
// latter maybe in brackets, either maybe with a port.
func parseHop(b []byte) (netip.AddrPort, bool) {
	if len(b) == 0 || len(b) > 64 {
		return netip.AddrPort{}, false
	}
	// A view of the header's bytes, not a copy: every request through a
	// proxy reads the field. netip keeps no part of what it parses but a
	// zone, which unique.Make copies, and which is refused here anyway.
	s := unsafe.String(&b[0], len(b))
	// Each form to its own parser: a failed parse allocates its error.
	var ap netip.AddrPort
	var err error
	switch {
	case s[0] == '[' && s[len(s)-1] == ']': // [IPv6]
		var a netip.Addr
		if a, err = netip.ParseAddr(s[1 : len(s)-1]); err == nil && !a.Is6() {
			return netip.AddrPort{}, false
		}
		ap = netip.AddrPortFrom(a, 0)
	case s[0] == '[' || strings.Count(s, ":") == 1: // [IPv6]:port, IPv4:port
		ap, err = netip.ParseAddrPort(s)
	default: // IPv4, IPv6
		var a netip.Addr
		a, err = netip.ParseAddr(s)
		ap = netip.AddrPortFrom(a, 0)
	}
	if err != nil || ap.Addr().Zone() != "" {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), true
}

// forwardedProto is the last X-Forwarded-Proto value, when it is http or
// https (any case): what the nearest proxy says the client used.
func forwardedProto(h *Header) string {
	var last []byte
	for v := range h.Values("X-Forwarded-Proto") {
		last = v
	}
	if i := bytes.LastIndexByte(last, ','); i >= 0 {
		last = last[i+1:]
	}
	switch last = bytes.TrimSpace(last); {
	case EqualFold(last, "https"):
		return "https"
	case EqualFold(last, "http"):
		return "http"
	}
	return ""
}
