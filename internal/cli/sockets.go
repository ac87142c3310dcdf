package cli

import (
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"

	"nave/internal/config"
	"nave/internal/systemd"
)

// passedSockets are the listening sockets passed to nave when it started:
// by systemd's socket activation (a socket unit's ListenStream= lines,
// named by FileDescriptorName=), or by the nave it replaces in a binary
// upgrade (named after the listeners they served). The first config takes
// them, each by its listener's name, else by its address. What is left of
// systemd's is an error, since a socket that serves nothing is a unit
// file's mistake; what is left of a hand-over is closed, since the config
// may have changed since the old nave read it.
type passedSockets struct {
	left []systemd.Listener // not yet taken
	// noBind: every listener must come from a passed socket; nave opens
	// none itself (--no-bind).
	noBind bool
	// handedOver: the sockets come from the nave this one replaces. A
	// listener takes the one of its name only where the socket is still
	// on its address (any port, for port 0): a config that moved the
	// listener gets a new socket.
	handedOver bool
}

// Names under which the endpoints' sockets are passed and handed over:
// the listeners' names are the config's.
const (
	metricsSocketName   = "metrics"
	statusSocketName    = "status"
	adminSocketName     = "admin"
	adminUnixSocketName = "admin-socket"
)

// take returns the passed socket for name, or the one listening on addr,
// or nil.
func (p *passedSockets) take(name, addr string) net.Listener {
	i := slices.IndexFunc(p.left, func(l systemd.Listener) bool {
		return l.Name == name && (!p.handedOver || sameAddress(l.Addr(), anyPortAs(addr, l.Addr())))
	})
	if i < 0 {
		i = slices.IndexFunc(p.left, func(l systemd.Listener) bool { return sameAddress(l.Addr(), addr) })
	}
	if i < 0 {
		return nil
	}
	ln := p.left[i].Listener
	p.left = slices.Delete(p.left, i, i+1)
	return ln
}

// sameAddress reports whether a socket listens on addr as configured:
// the same port, and the same IP or both any address (0.0.0.0 and [::]
// are one: Linux's dual-stack sockets). A port 0 names no socket. A Unix
// socket is matched by its path (a listener's "unix:PATH").
func sameAddress(a net.Addr, addr string) bool {
	if u, ok := a.(*net.UnixAddr); ok {
		p, ok := config.SocketPath(addr)
		return u.Name == addr || ok && u.Name == p
	}
	t, ok := a.(*net.TCPAddr)
	if !ok {
		return false
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port != strconv.Itoa(t.Port) || t.Port == 0 {
		return false
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		return t.IP.IsUnspecified()
	}
	if ip := net.ParseIP(host); ip != nil {
		return ip.Equal(t.IP)
	}
	ips, _ := net.LookupIP(host) // a name, as localhost: any of its addresses
	return slices.ContainsFunc(ips, t.IP.Equal)
}

// anyPortAs is addr with a port 0 made a's port: a listener on any port
// keeps the one its socket has.
func anyPortAs(addr string, a net.Addr) string {
	host, port, err := net.SplitHostPort(addr)
	t, ok := a.(*net.TCPAddr)
	if err != nil || port != "0" || !ok {
		return addr
	}
	return net.JoinHostPort(host, strconv.Itoa(t.Port))
}

// mustBind is the error for a listener that has no passed socket, under
// --no-bind; nil when nave may bind it itself.
func (p *passedSockets) mustBind(name, addr string) error {
	if !p.noBind {
		return nil
	}
	return fmt.Errorf("no socket was passed for %s (%s), and --no-bind forbids opening one: add ListenStream=%s to the socket unit", name, addr, addr)
}

// leftover is the error for the sockets no listener took, nil when every
// one was: each named, with its address, and what would take it.
func (p *passedSockets) leftover() error {
	if len(p.left) == 0 || p.handedOver {
		return nil
	}
	var each []string
	for _, l := range p.left {
		each = append(each, fmt.Sprintf("%q (%s %s)", l.Name, l.Addr().Network(), l.Addr()))
	}
	return fmt.Errorf("passed sockets match no listener: %s; give a listener each socket's address, or the socket unit's FileDescriptorName= as its name", strings.Join(each, ", "))
}

// closeLeft closes the sockets no listener took, saying which.
func (p *passedSockets) closeLeft(log *slog.Logger) {
	for _, l := range p.left {
		log.Info("a socket the old nave served is not in the config now; closed", "name", l.Name, "address", l.Addr().String())
		l.Close()
	}
	p.left = nil
}
