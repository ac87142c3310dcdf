package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"

	"nave/internal/certs"
	"nave/internal/config"
)

// DefaultConfigFile is the file nave run reads without --config.
const DefaultConfigFile = "nave.toml"

const runUsage = `Usage: nave run [--config FILE] [--state-dir DIR] [--no-bind]

Serves what the config file describes: listeners, sites and their routes
(folders, WSGI apps, redirects, fixed responses, header rules), apps.
FILE is TOML, or JSON if its name ends in .json (default nave.toml in the
current folder). Relative paths in it are taken from the file's folder.
docs/config.md describes the file.

A config with problems is refused, every problem listed, with exit code 2;
'nave validate FILE' checks a file without serving it.

SIGHUP (or 'nave reload') reads the file again and applies what changed,
dropping nothing: unchanged listeners keep their sockets and connections,
unchanged apps their workers; a changed app's new workers start before the
old ones stop; a file with problems, or a change that cannot be applied,
leaves the running config serving. The admin API (docs/config.md) changes
the config live over a Unix socket, DIR/admin.sock unless admin.socket
says otherwise, and serves Prometheus metrics at /metrics (as admin.metrics
does on an address of its own), a live status page at / and its figures as
JSON at /status, which 'nave status' prints (docs/observability.md). SIGINT
or SIGTERM stops accepting, lets requests in flight finish (up to
timeouts.drain), then stops the apps. SIGUSR1 reopens the access log file
(for logrotate). SIGUSR2 starts the binary at nave's path again with the
same arguments, hands it the listening sockets, and drains and exits once
it is ready; if it is not ready within timeouts.upgrade, it is killed and
this nave serves on (docs/operations.md).

Flags:
  --config FILE          the config file (default nave.toml)
  --state-dir DIR        where the admin socket is (default
                         $XDG_RUNTIME_DIR/nave; /run/nave for root)
  --no-bind              take every listener's socket from systemd (a
                         socket unit: FileDescriptorName= names the
                         listener); open none (docs/operations.md)
`

const validateUsage = `Usage: nave validate FILE

Checks a config file as nave run would, without serving it, as nginx -t:
prints "FILE: ok", or every problem, one a line, as
"FILE:LINE: FIELD.PATH: what is wrong". Exit code 0 when it is good, 2
when it has problems, 1 when it cannot be read.
`

func runConfig(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("run")
	file := fs.String("config", DefaultConfigFile, "")
	stateDir := fs.String("state-dir", defaultStateDir(), "")
	noBind := fs.Bool("no-bind", false, "")
	if help, err := parseFlagsOnly(fs, args, runUsage, stdout, " (give the file with --config)"); help || err != nil {
		return err
	}
	c, err := loadConfig(*file, stderr)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// SIGHUP must not kill nave (its default action) from here on, even
	// while the workers start: it is caught now and acted on once they run.
	hup, stopHup := catchHangup()
	defer stopHup()
	abs, err := filepath.Abs(*file)
	if err != nil {
		return err
	}
	s := newBuilt(ctx, nil, stdout, stderr)
	s.enableAdmin(*stateDir, abs)
	if err := s.inherit(*noBind); err != nil {
		s.close()
		return err
	}
	if err := s.apply(c); err != nil {
		s.close()
		return reportConfig(*file, err, stderr)
	}
	defer s.close()
	s.announce(stdout)
	defer onHangup(hup, s.reloadFile)()
	s.ready()
	return s.serve(ctx, stderr)
}

// loadConfig loads and validates file, and checks that nave run can do
// all it asks; problems are printed, one a line.
func loadConfig(file string, stderr io.Writer) (*config.Config, error) {
	c, err := config.Load(file)
	if err != nil {
		return nil, reportConfig(file, err, stderr)
	}
	return c, nil
}

// reportConfig prints a config's problems and returns errUsage (exit 2);
// any other error is returned as it is (exit 1).
func reportConfig(file string, err error, stderr io.Writer) error {
	var l config.List
	var ae *applyError
	switch {
	case errors.As(err, &ae):
		return fmt.Errorf("%s: %w", ae.Path, ae.Err)
	case !errors.As(err, &l):
		return err
	}
	fmt.Fprint(stderr, l.Format(file))
	return errUsage
}

func validate(args []string, stdout, stderr io.Writer) error {
	if len(args) == 1 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
		fmt.Fprint(stdout, validateUsage)
		return nil
	}
	if len(args) != 1 {
		return usagef("want one FILE, got %d arguments", len(args))
	}
	c, err := loadConfig(args[0], stderr)
	if err != nil {
		return err
	}
	if l := checkCertificates(c); len(l) > 0 {
		return reportConfig(args[0], l, stderr)
	}
	fmt.Fprintf(stdout, "%s: ok\n", args[0])
	return nil
}

// checkCertificates loads each listener's certificate files, as nave run
// will, into a store that serves nothing: a key that does not match its
// certificate, or names that no certificate covers, are found without
// starting anything.
func checkCertificates(c *config.Config) config.List {
	var l config.List
	for _, name := range slices.Sorted(maps.Keys(c.Listeners)) {
		t := c.Listeners[name].TLS
		if t == nil || len(t.Certificates) == 0 {
			continue
		}
		pairs := make([]certs.Pair, len(t.Certificates))
		for i, cf := range t.Certificates {
			pairs[i] = certs.Pair{CertFile: cf.Cert, KeyFile: cf.Key}
		}
		store := certs.NewStore(nil)
		err := store.LoadFiles(pairs)
		if err == nil {
			err = store.CheckNames(t.Names)
		}
		if err != nil {
			l = append(l, c.At("listeners."+name+".tls.certificates", "%v", err))
		}
	}
	return l
}
