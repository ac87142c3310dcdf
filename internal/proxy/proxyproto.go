package proxy

import (
	"encoding/binary"
	"net/netip"
	"strconv"
)

// appendProxyHeader appends a PROXY protocol header (HAProxy's
// proxy-protocol.txt) of version 1 (text) or 2 (binary) saying that the
// connection comes from client to local.
func appendProxyHeader(b []byte, version int, client, local netip.AddrPort) []byte {
	src, dst := client.Addr().Unmap(), local.Addr().Unmap()
	v4 := src.Is4() && dst.Is4()
	if version == 1 {
		switch {
		case !src.IsValid() || !dst.IsValid() || src.Is4() != dst.Is4():
			return append(b, "PROXY UNKNOWN\r\n"...)
		case v4:
			b = append(b, "PROXY TCP4 "...)
		default:
			b = append(b, "PROXY TCP6 "...)
		}
		b = src.AppendTo(b)
		b = append(b, ' ')
		b = dst.AppendTo(b)
		b = append(b, ' ')
		b = strconv.AppendUint(b, uint64(client.Port()), 10)
		b = append(b, ' ')
		b = strconv.AppendUint(b, uint64(local.Port()), 10)
		return append(b, '\r', '\n')
	}
	b = append(b, "\r\n\r\n\x00\r\nQUIT\n"...)
	switch {
	case !src.IsValid() || !dst.IsValid() || src.Is4() != dst.Is4():
		return append(b, 0x20, 0x00, 0, 0) // LOCAL, no address
	case v4:
		b = append(b, 0x21, 0x11, 0, 12) // PROXY, TCP over IPv4
		s, d := src.As4(), dst.As4()
		b = append(b, s[:]...)
		b = append(b, d[:]...)
	default:
		b = append(b, 0x21, 0x21, 0, 36) // PROXY, TCP over IPv6
		s, d := src.As16(), dst.As16()
		b = append(b, s[:]...)
		b = append(b, d[:]...)
	}
	b = binary.BigEndian.AppendUint16(b, client.Port())
	return binary.BigEndian.AppendUint16(b, local.Port())
}
