package cli

import (
	"errors"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"nave/internal/systemd"
	"nave/internal/upgrade"
)

// upgrader replaces the running nave with the binary at its path on
// SIGUSR2, as nginx does: the new process gets the listening sockets and
// the same arguments, and once it says it is ready this one drains and
// exits; if it does not, it is killed and this one serves on.
type upgrader struct {
	path string   // the binary, as nave was started: an absolute path
	args []string // nave's arguments, without the program's name
	busy atomic.Bool
	done chan struct{}
	stop sync.Once
}

// binaryPath is the absolute path nave was started from: argv[0], looked
// up in PATH when it has no slash, made absolute against the folder nave
// started in. SIGUSR2 starts whatever is at that path then, so replacing
// the file (or pointing the symlink elsewhere) and signalling upgrades,
// as with nginx. Without argv[0] it is the running binary's own path.
func binaryPath() string {
	p := ""
	if len(os.Args) > 0 {
		p = os.Args[0]
	}
	if p != "" && !strings.Contains(p, "/") {
		p, _ = exec.LookPath(p) // "" when it is not found
	}
	if abs, err := filepath.Abs(p); p != "" && err == nil {
		return abs
	}
	exe, _ := os.Executable()
	return exe
}

// enableUpgrade makes SIGUSR2 (caught since newBuilt, so that it never
// ends nave) upgrade the binary, from now on until serve begins to shut
// down.
func (b *built) enableUpgrade() {
	u := &upgrader{path: binaryPath(), args: os.Args[1:], done: make(chan struct{})}
	b.upgrader = u
	go func() {
		for {
			select {
			case <-b.usr2:
				if u.busy.CompareAndSwap(false, true) {
					go b.upgradeBinary(u)
				} else {
					b.log.Warn("SIGUSR2: an upgrade is under way already; ignored")
				}
			case <-u.done:
				return
			}
		}
	}()
}

// ready says that nave serves: to the service manager, or to the nave
// that started this one in an upgrade, and SIGUSR2 upgrades from now on.
func (b *built) ready() {
	b.enableUpgrade()
	systemd.Ready()
}

// stopUpgrades stops acting on SIGUSR2 (which stays caught).
func (b *built) stopUpgrades() {
	if u := b.upgrader; u != nil {
		u.stop.Do(func() { close(u.done) })
	}
}

// upgradeBinary starts the new binary with the sockets and waits for it
// to be ready; then it tells serve to hand over, and the service manager
// that the new process is the service's main one. A failure is logged
// and changes nothing.
func (b *built) upgradeBinary(u *upgrader) {
	b.mu.Lock()
	shut, socks, timeout := b.shut, b.handoverSockets(), b.upgradeTimeout
	b.mu.Unlock()
	if shut {
		b.log.Warn("SIGUSR2: nave is shutting down; no upgrade")
		return
	}
	b.log.Info("SIGUSR2: starting the new binary with the listening sockets", "path", u.path, "sockets", len(socks))
	child, err := upgrade.Start(upgrade.Spec{
		Path: u.path, Args: u.args, Listeners: socks, Timeout: timeout, Stdout: b.stdout, Stderr: b.stderr,
	})
	if err != nil {
		attrs := []any{"err", err}
		var ue *upgrade.Error
		if errors.As(err, &ue) {
			attrs = []any{"why", "the new process " + ue.Reason}
			if ue.Output != "" {
				attrs = append(attrs, "output", ue.Output)
			}
		}
		b.log.Error("upgrade failed; this nave serves on", attrs...)
		u.busy.Store(false)
		return
	}
	b.log.Info("upgrade: the new nave is ready; this one drains and exits", "pid", child.Pid)
	systemd.Notify("MAINPID=" + strconv.Itoa(child.Pid))
	select {
	case b.handedOver <- child.Pid:
	default:
	}
}

// handoverSockets are the listening sockets of the config served, named
// as passedSockets takes them back: listeners by their names, then the
// endpoints. b.mu is held.
func (b *built) handoverSockets() []systemd.Listener {
	var out []systemd.Listener
	ls := b.listeners.All()
	for _, name := range slices.Sorted(maps.Keys(ls)) {
		out = append(out, systemd.Listener{Name: name, Listener: ls[name].ln})
	}
	es := b.endpoints.All()
	for _, key := range slices.Sorted(maps.Keys(es)) {
		name := adminSocketName
		switch {
		case isMetrics(key): // the status page may share it
			name = metricsSocketName
		case isStatus(key):
			name = statusSocketName
		case strings.HasPrefix(key, "unix "):
			name = adminUnixSocketName
		}
		out = append(out, systemd.Listener{Name: name, Listener: es[key].ln})
	}
	return out
}

// keepSocketFiles stops this nave's Unix sockets from removing their
// files when they close: the new nave serves on them.
func (b *built) keepSocketFiles() {
	b.ownFiles = nil // the listeners' (listenHTTPUnix): the new nave's now
	for _, e := range b.endpoints.All() {
		if u, ok := e.ln.(*net.UnixListener); ok {
			u.SetUnlinkOnClose(false)
		}
	}
}
