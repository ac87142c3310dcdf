package server

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"

	"nave/internal/web"
)

// The PROXY protocol (HAProxy's proxy-protocol.txt): a load balancer in
// front opens each connection with a header naming the client, so that
// the client's address, not the balancer's, is the connection's remote
// address everywhere (logs, REMOTE_ADDR, the forwarding fields).

// maxProxyHeader bounds a header: v1's is at most 107 bytes; v2's TLVs
// could be longer, but nothing a server needs comes past this.
const maxProxyHeader = 16 + 1024

var proxyV2Sig = []byte("\r\n\r\n\x00\r\nQUIT\n")

// Errors reading a PROXY protocol header; the connection is closed.
var (
	errProxyHeader  = errors.New("server: malformed PROXY protocol header")
	errProxyMissing = errors.New("server: connection without a PROXY protocol header")
)

// parseProxyHeader parses the header b starts with. It returns the header's
// length, 0 (and no error) when b holds only its beginning, and the
// addresses it names; ok is false for a header that names none (v1
// UNKNOWN, v2 LOCAL or an unsupported family): the socket's addresses stand.
func parseProxyHeader(b []byte) (n int, src, dst netip.AddrPort, ok bool, err error) {
	switch {
	case len(b) >= len(proxyV2Sig) && bytes.Equal(b[:len(proxyV2Sig)], proxyV2Sig):
		return parseProxyV2(b)
	case len(b) < len(proxyV2Sig) && bytes.HasPrefix(proxyV2Sig, b):
		return 0, src, dst, false, nil
	case len(b) >= 6 && string(b[:6]) == "PROXY ":
		return parseProxyV1(b)
	case len(b) < 6 && bytes.HasPrefix([]byte("PROXY "), b):
		return 0, src, dst, false, nil
	}
	return 0, src, dst, false, errProxyMissing
}

// parseProxyV1: "PROXY TCP4 192.0.2.1 198.51.100.1 56324 443\r\n".
func parseProxyV1(b []byte) (n int, src, dst netip.AddrPort, ok bool, err error) {
	end := bytes.Index(b, []byte("\r\n"))
	if end < 0 {
		if len(b) >= 107 {
			return 0, src, dst, false, errProxyHeader
		}
		return 0, src, dst, false, nil
	}
	if end+2 > 107 {
		return 0, src, dst, false, errProxyHeader
	}
	f := bytes.Split(b[6:end], []byte{' '})
	if len(f) >= 1 && string(f[0]) == "UNKNOWN" {
		return end + 2, src, dst, false, nil
	}
	if len(f) != 5 || string(f[0]) != "TCP4" && string(f[0]) != "TCP6" {
		return 0, src, dst, false, errProxyHeader
	}
	sa, err1 := netip.ParseAddr(string(f[1]))
	da, err2 := netip.ParseAddr(string(f[2]))
	sp, ok1 := parsePort(f[3])
	dp, ok2 := parsePort(f[4])
	if err1 != nil || err2 != nil || !ok1 || !ok2 || sa.Is4() != (string(f[0]) == "TCP4") || da.Is4() != sa.Is4() {
		return 0, src, dst, false, errProxyHeader
	}
	return end + 2, netip.AddrPortFrom(sa, sp), netip.AddrPortFrom(da, dp), true, nil
}

func parsePort(b []byte) (uint16, bool) {
	if len(b) == 0 || len(b) > 5 || len(b) > 1 && b[0] == '0' {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return uint16(n), n <= 65535
}

// parseProxyV2: the binary form, with the 12-byte signature.
func parseProxyV2(b []byte) (n int, src, dst netip.AddrPort, ok bool, err error) {
	if len(b) < 16 {
		return 0, src, dst, false, nil
	}
	if b[12]>>4 != 2 || b[12]&0xf > 1 {
		return 0, src, dst, false, errProxyHeader
	}
	size := 16 + int(binary.BigEndian.Uint16(b[14:16]))
	if size > maxProxyHeader {
		return 0, src, dst, false, errProxyHeader
	}
	if len(b) < size {
		return 0, src, dst, false, nil
	}
	if b[12]&0xf == 0 { // LOCAL: the balancer's own connection (a health check)
		return size, src, dst, false, nil
	}
	a := b[16:size]
	switch b[13] {
	case 0x11: // TCP over IPv4
		if len(a) < 12 {
			return 0, src, dst, false, errProxyHeader
		}
		src = netip.AddrPortFrom(netip.AddrFrom4([4]byte(a[0:4])), binary.BigEndian.Uint16(a[8:10]))
		dst = netip.AddrPortFrom(netip.AddrFrom4([4]byte(a[4:8])), binary.BigEndian.Uint16(a[10:12]))
	case 0x21: // TCP over IPv6
		if len(a) < 36 {
			return 0, src, dst, false, errProxyHeader
		}
		src = netip.AddrPortFrom(netip.AddrFrom16([16]byte(a[0:16])), binary.BigEndian.Uint16(a[32:34]))
		dst = netip.AddrPortFrom(netip.AddrFrom16([16]byte(a[16:32])), binary.BigEndian.Uint16(a[34:36]))
	default: // UDP, Unix sockets, unspecified: nothing to take
		return size, src, dst, false, nil
	}
	return size, src, dst, true, nil
}

// readProxyHeader reads the connection's PROXY protocol header, within the
// head timeout, and takes the client's address from it when the sender is
// one of the trusted proxies (or none are named). It reads the header's
// bytes and no more, so that what follows (a TLS ClientHello, a request)
// is read as if the header had not been there.
func (c *conn) readProxyHeader() error {
	dl := time.Now().Add(c.s.cfg.headTimeout())
	c.nc.SetReadDeadline(dl)
	defer func() {
		c.nc.SetReadDeadline(time.Time{})
		c.readDeadline = time.Time{}
	}()
	buf := make([]byte, maxProxyHeader)
	size, err := c.proxyHeaderSize(buf)
	if err != nil {
		return err
	}
	if _, err := io.ReadFull(c.nc, buf[:size]); err != nil {
		return err
	}
	_, src, dst, ok, err := parseProxyHeader(buf[:size])
	if err != nil {
		return err
	}
	if ok && c.trustedProxy() {
		c.remote, c.local = src, dst
	}
	return nil
}

// proxyHeaderSize finds the header's length by looking at the bytes that
// arrived without taking them (MSG_PEEK), waiting for more while the
// header is incomplete: reading past it would take bytes that belong to
// the protocol after it. Without a file descriptor it reads byte by byte.
func (c *conn) proxyHeaderSize(buf []byte) (int, error) {
	if c.raw == nil {
		return c.proxyHeaderSizeSlow(buf)
	}
	var size int
	var perr error
	err := c.raw.Read(func(fd uintptr) bool {
		n, _, errno := syscall.Recvfrom(int(fd), buf, syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		switch {
		case errno == syscall.EAGAIN || errno == syscall.EINTR:
			return false
		case errno != nil:
			perr = os.NewSyscallError("recvfrom", errno)
			return true
		case n == 0:
			perr = io.ErrUnexpectedEOF
			return true
		}
		size, _, _, _, perr = parseProxyHeader(buf[:n])
		// Incomplete: wait for more bytes (their arrival wakes this up).
		return perr != nil || size > 0 || n == len(buf)
	})
	if err == nil {
		err = perr
	}
	if err == nil && size == 0 {
		err = errProxyHeader
	}
	return size, err
}

func (c *conn) proxyHeaderSizeSlow(buf []byte) (int, error) {
	for i := 0; i < len(buf); i++ {
		if _, err := io.ReadFull(c.nc, buf[i:i+1]); err != nil {
			return 0, err
		}
		if n, _, _, _, err := parseProxyHeader(buf[:i+1]); err != nil || n > 0 {
			// The bytes are read already: present them as not read. nc is
			// set under s.mu, which closeConns reads it under.
			pc := &prefixConn{Conn: c.nc, prefix: append([]byte(nil), buf[:i+1]...)}
			c.s.mu.Lock()
			c.nc = pc
			c.s.mu.Unlock()
			return n, err
		}
	}
	return 0, errProxyHeader
}

// trustedProxy reports whether the connection's peer may speak for its
// clients: one of Config.TrustedProxies, or anyone when none are named.
func (c *conn) trustedProxy() bool {
	return len(c.s.cfg.TrustedProxies) == 0 || c.s.listedProxy(c.remote.Addr())
}

// listedProxy reports whether a is one of Config.TrustedProxies: none
// named trusts no one's forwarding fields.
func (s *Server) listedProxy(a netip.Addr) bool {
	return web.Trusted(s.cfg.TrustedProxies, a)
}

// prefixConn reads prefix before the connection's bytes.
type prefixConn struct {
	net.Conn
	prefix []byte
}

func (p *prefixConn) Read(b []byte) (int, error) {
	if len(p.prefix) > 0 {
		n := copy(b, p.prefix)
		p.prefix = p.prefix[n:]
		return n, nil
	}
	return p.Conn.Read(b)
}
