package cli

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"nave/internal/admin"
	"nave/internal/config"
	"nave/internal/privdir"
	"nave/internal/server"
	"nave/internal/status"
	"nave/internal/systemd"
	"nave/internal/wsgi"
)

// adminSetup is what nave run's admin API needs beside the config: its
// handler, the state directory its default socket is in, and the config
// file SIGHUP and POST /reload read.
type adminSetup struct {
	handler  *admin.Handler
	stateDir string
	file     string // guarded by built.mu
	nextFile string // guarded by built.mu: the file of the config being applied
}

// endpoint is a socket the admin API is served on.
type endpoint struct {
	ln      net.Listener
	srv     *server.Server
	serving bool
}

// AdminSocketName is the admin socket's name in the state directory.
const AdminSocketName = "admin.sock"

// defaultStateDir is where nave run keeps its runtime state (the admin
// socket) without --state-dir: $XDG_RUNTIME_DIR/nave, the per-user
// runtime directory systemd makes; /run/nave for root; else a folder of
// the user's own in the temporary directory.
func defaultStateDir() string {
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "nave")
	}
	if os.Geteuid() == 0 {
		return "/run/nave"
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("nave-%d", os.Geteuid()))
}

// enableAdmin makes b serve the admin API as the config's admin section
// says, with its default socket in stateDir, and makes file the config
// SIGHUP and POST /reload read.
func (b *built) enableAdmin(stateDir, file string) {
	a := &adminSetup{stateDir: stateDir, file: file}
	a.handler = admin.New(admin.Config{
		Current: b.config,
		Update: func(change func(*config.Config) (*config.Config, error)) error {
			return b.update(change)
		},
		Load:    b.loadFile,
		Status:  func() any { return b.status() },
		Metrics: b.expo.handler,
		Restart: b.restartApp,
		Page:    status.ServePage,
		Logger:  b.log,
	})
	b.admin = a
}

// adminSocket is the path of the admin API's Unix socket, "" for none.
func (b *built) adminSocket(c *config.Config) string {
	switch s := c.Admin.Socket; {
	case b.admin == nil || s == "off":
		return ""
	case s != "":
		return s
	}
	return filepath.Join(b.admin.stateDir, AdminSocketName)
}

// adminEndpoints opens the admin API's sockets that the running
// generation does not have already.
func (g *gen) adminEndpoints() error {
	b, c := g.b, g.c
	if b.admin == nil {
		return nil
	}
	if path := b.adminSocket(c); path != "" {
		_, _, err := g.endpoints.Use("unix "+path, path, func() (*endpoint, error) {
			if ln := b.passed.take(adminUnixSocketName, path); ln != nil {
				return b.newEndpoint(ln), nil
			}
			ln, err := listenAdminSocket(path, path == filepath.Join(b.admin.stateDir, AdminSocketName))
			if err != nil {
				return nil, config.List{c.At("admin.socket", "%v", err)}
			}
			return b.newEndpoint(ln), nil
		})
		if err != nil {
			return err
		}
	}
	if addr := c.Admin.Listen; addr != "" {
		_, _, err := g.endpoints.Use("tcp "+addr, addr, func() (*endpoint, error) {
			ln, err := b.listenFor(c, "admin.listen", adminSocketName, addr)
			if err != nil {
				return nil, err
			}
			return b.newEndpoint(ln), nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func (b *built) newEndpoint(ln net.Listener) *endpoint {
	return &endpoint{ln: ln, srv: server.New(server.Config{Handler: probes{b.health, b.admin.handler}, Logger: b.log})}
}

// listenAdminSocket listens on a Unix socket at path that only this user
// can connect to (mode 0600). The state directory (inState) is made with
// mode 0700 and must belong to this user, so that the socket is private
// from the moment it is bound; a socket left by a nave that is gone is
// replaced, one that answers is another nave's.
func listenAdminSocket(path string, inState bool) (net.Listener, error) {
	dir := filepath.Dir(path)
	if inState {
		if err := privdir.Make(dir, 0o077); err != nil {
			return nil, fmt.Errorf("the state directory: %w", err)
		}
	}
	ln, err := listenUnix(path, 0o600, "another nave serves its admin API there (give another --state-dir or admin.socket)")
	if err != nil {
		return nil, err
	}
	return ln, nil
}

// loadFile reads and validates a config file, file "" being the one nave
// serves, and checks that nave run can do all it asks. It runs inside
// update: the file becomes the one SIGHUP reads once its config applies.
func (b *built) loadFile(file string) (*config.Config, error) {
	if file == "" {
		file = b.admin.file
	}
	c, err := config.Load(file)
	if err != nil {
		return nil, err
	}
	b.admin.nextFile = file
	return c, nil
}

// reloadFile re-reads the config file and applies it, and reads the
// certificate files again, as SIGHUP asks, telling systemd the reload's
// start and end.
func (b *built) reloadFile() {
	systemd.Reloading()
	defer systemd.Notify("READY=1")
	b.log.Info("SIGHUP: reading the config file again")
	err := b.update(func(*config.Config) (*config.Config, error) { return b.loadFile("") })
	b.reloadCertificates() // those of the listeners the file left as they were
	var l config.List
	switch {
	case err == nil:
		b.log.Info("reloaded: the config file's changes serve")
	case errors.As(err, &l):
		b.log.Error("reload refused; the running config serves on", "problems", l.Error())
	default:
		b.log.Error("reload failed; the running config serves on", "err", err)
	}
}

// restartApp starts the named app's workers again, reading its code
// anew, as SIGHUP does for nave wsgi: new workers first; if they do not
// start, the old ones serve on. The config does not change. A config
// change that replaces the app meanwhile makes the restart fail
// (ErrStopped) with the new app serving.
func (b *built) restartApp(name string) error {
	b.mu.Lock()
	a, ok := b.apps.All()[name]
	b.mu.Unlock()
	if !ok {
		return admin.ErrNoApp
	}
	log := b.log.With("app", name)
	log.Info("restarting the app's workers with its code read anew")
	if err := a.pool.Reload(); err != nil {
		re := &admin.RestartError{Err: err}
		var se *wsgi.StartError
		if errors.As(err, &se) {
			re.Output = se.Output
		}
		log.Error("restart failed; the old workers serve on", "err", err)
		return re
	}
	log.Info("restarted: new workers serve")
	return nil
}
