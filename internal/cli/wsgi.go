package cli

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"nave/internal/config"
	"nave/internal/wsgi"
)

const wsgiUsage = `Usage: nave wsgi [flags] MODULE:CALLABLE

Runs a Python WSGI application (PEP 3333): Flask, Django, Pyramid or any
other, unchanged. nave does all the HTTP; worker processes running a
small adapter call the app. MODULE is imported from the --chdir folder;
CALLABLE defaults to "application" and may be dotted, or "factory()".

  nave wsgi --chdir examples/flask app:app
  nave wsgi --chdir mysite --static /static/=collected mysite.wsgi

SIGHUP reloads the app's code (new workers first; if they fail to start,
the old ones stay). SIGINT or SIGTERM stops accepting, lets requests in
flight finish (up to --drain-timeout), then stops the workers. SIGUSR1
reopens the access log file (for logrotate). SIGUSR2 upgrades the binary
in place: the one at nave's path starts with the listening sockets and its
own workers, and this one drains once it is ready (docs/operations.md).

App:
  --python PATH          interpreter (default $VIRTUAL_ENV/bin/python if
                         VIRTUAL_ENV is set, else python3 on PATH); CPython 3.8+
  --chdir DIR            the workers' working folder, first on sys.path
                         (default the current one)
  --workers N            worker processes (default one per CPU nave may
                         use: its affinity, capped by a cgroup CPU quota)
  --mount PREFIX         serve the app under PREFIX (its SCRIPT_NAME);
                         other paths get 404 (default /)
  --static URL=DIR       serve the files in DIR under the URL prefix, before
                         the app (repeatable), e.g. --static /static/=collected
  --timeout S            seconds one request may run; past it 504, the
                         worker's stack is logged and the worker replaced;
                         0 for no limit (default 30; a duration like 2m also reads)
  --max-requests N       recycle a worker after about N requests (default 0, never)
  --backlog N            requests that may wait for a free worker; beyond it
                         503 with Retry-After (default 1024)
  --start-timeout D      for a worker to import the app (default 60s)
  --reload               for development: reload the app (as SIGHUP does) when a
                         .py file under --chdir changes
  --reload-dir DIR       watch DIR instead of --chdir (repeatable); implies
                         --reload

`

type wsgiOptions struct {
	server  serverFlags
	pool    wsgi.Config
	mount   string
	statics []staticRoute
	timeout string
	reload  bool     // --reload
	watch   []string // --reload-dir
}

type staticRoute struct{ prefix, dir string }

// staticFlag collects --static URL=DIR values.
type staticFlag struct{ routes *[]staticRoute }

func (f staticFlag) String() string { return "" }

func (f staticFlag) Set(s string) error {
	prefix, dir, ok := strings.Cut(s, "=")
	if !ok || !strings.HasPrefix(prefix, "/") || dir == "" {
		return fmt.Errorf("%q is not URLPREFIX=DIR (as /static/=collected)", s)
	}
	if strings.Trim(prefix, "/") == "" {
		return fmt.Errorf("%q would hide the app: give a prefix below /", s)
	}
	*f.routes = append(*f.routes, staticRoute{strings.TrimRight(prefix, "/"), dir})
	return nil
}

func parseWSGI(args []string) (*wsgiOptions, error) {
	o := &wsgiOptions{}
	fs := newFlagSet("wsgi")
	o.register(fs)
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return nil, &usageError{err}
	}
	if err := o.check(pos); err != nil {
		return nil, err
	}
	return o, nil
}

// register adds the flags nave wsgi and nave asgi share: the server's and
// the app's.
func (o *wsgiOptions) register(fs *flag.FlagSet) {
	o.server.register(fs)
	fs.StringVar(&o.pool.Python, "python", "", "")
	fs.StringVar(&o.pool.Dir, "chdir", "", "")
	fs.IntVar(&o.pool.Workers, "workers", 0, "")
	fs.StringVar(&o.mount, "mount", "", "")
	fs.Var(staticFlag{&o.statics}, "static", "")
	fs.StringVar(&o.timeout, "timeout", "30", "")
	fs.IntVar(&o.pool.MaxRequests, "max-requests", 0, "")
	fs.IntVar(&o.pool.Backlog, "backlog", wsgi.DefaultBacklog, "")
	fs.DurationVar(&o.pool.StartTimeout, "start-timeout", wsgi.DefaultStartTimeout, "")
	fs.BoolVar(&o.reload, "reload", false, "")
	fs.Func("reload-dir", "", func(dir string) error {
		o.watch = append(o.watch, dir)
		return nil
	})
}

// check checks the shared flags and takes the app from pos.
func (o *wsgiOptions) check(pos []string) error {
	if err := o.server.check(); err != nil {
		return err
	}
	switch {
	case len(pos) != 1:
		return usagef("want one MODULE:CALLABLE, got %d arguments", len(pos))
	case strings.HasPrefix(pos[0], ":") || strings.HasPrefix(pos[0], "-"):
		return usagef("%q is not MODULE:CALLABLE", pos[0])
	case o.pool.Workers < 0:
		return usagef("--workers must be positive, got %d", o.pool.Workers)
	case o.pool.MaxRequests < 0:
		return usagef("--max-requests must be 0 or more, got %d", o.pool.MaxRequests)
	case o.pool.Backlog <= 0:
		return usagef("--backlog must be positive, got %d", o.pool.Backlog)
	case o.pool.StartTimeout <= 0:
		return usagef("--start-timeout must be positive, got %v", o.pool.StartTimeout)
	case o.mount != "" && !strings.HasPrefix(o.mount, "/"):
		return usagef("--mount %q must start with /", o.mount)
	}
	o.pool.App = pos[0]
	var err error
	if o.pool.Timeout, err = parseSeconds(o.timeout); err != nil {
		return usagef("--timeout: %v", err)
	}
	return nil
}

// parseSeconds reads --timeout: whole seconds, or a duration; 0 means no
// limit (a negative Timeout for the pool).
func parseSeconds(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		n, nerr := strconv.ParseFloat(s, 64)
		if nerr != nil {
			return 0, fmt.Errorf("%q is not seconds or a duration", s)
		}
		d = time.Duration(n * float64(time.Second))
	}
	switch {
	case d < 0:
		return 0, fmt.Errorf("%q is negative", s)
	case d == 0:
		return -1, nil
	}
	return d, nil
}

// choosePython applies the interpreter rule: --python, else the active
// virtualenv's, else python3 on PATH.
func choosePython(flagValue string) (string, error) {
	if flagValue != "" {
		return exec.LookPath(flagValue)
	}
	if venv := os.Getenv("VIRTUAL_ENV"); venv != "" {
		p := filepath.Join(venv, "bin", "python")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return exec.LookPath("python3")
}

func runWSGI(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseWSGI(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, wsgiUsage+serverFlagsUsage)
		return nil
	}
	if err != nil {
		return err
	}
	return serveApp(ctx, o, o.config, "WSGI", stdout, stderr)
}

// serveApp runs nave wsgi or nave asgi once their flags are parsed:
// config makes the shorthand config once o is checked.
func serveApp(ctx context.Context, o *wsgiOptions, config func() *config.Config, kind string, stdout, stderr io.Writer) error {
	var err error
	if o.pool.Python, err = choosePython(o.pool.Python); err != nil {
		return usagef("no Python interpreter: %v", err)
	}
	if o.pool.Dir != "" {
		if info, err := os.Stat(o.pool.Dir); err != nil || !info.IsDir() {
			return usagef("--chdir %s: not a folder", o.pool.Dir)
		}
	}
	for _, dir := range o.watch {
		if info, err := os.Stat(dir); err != nil || !info.IsDir() {
			return usagef("--reload-dir %s: not a folder", dir)
		}
	}
	for _, st := range o.statics {
		if info, err := os.Stat(st.dir); err != nil || !info.IsDir() {
			return usagef("--static %s: not a folder", st.dir)
		}
		if st.prefix == strings.TrimRight(o.mount, "/") {
			return usagef("--mount %s and --static: %q is mounted twice", o.mount, o.mount)
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// SIGHUP must not kill nave (its default action) from here on, even
	// while the workers start: it is caught now and acted on once they run.
	hup, stopHup := catchHangup()
	defer stopHup()
	var watch *codeWatch
	if o.reload || len(o.watch) > 0 {
		dirs := o.watch
		if len(dirs) == 0 {
			dirs = []string{cmp.Or(o.pool.Dir, ".")}
		}
		watch = newCodeWatch(dirs) // before the workers import the code
	}
	s, err := build(ctx, config(), nil, o.server.noBind, stdout, stderr)
	if err != nil {
		return shorthandError(err)
	}
	defer s.close()
	ls, pool := s.shorthandListeners(), s.pool(appName)
	fmt.Fprintf(stdout, "Serving %s app %s (%s, Python %s at %s) on %s ...\n",
		kind, o.pool.App, workerCount(pool.Workers()), pool.Python(), o.pool.Python, ls.where())
	ls.announceOthers(stdout)
	defer onHangup(hup, s.reload)()
	if watch != nil {
		go watch.run(ctx, s.log, func(file string) {
			s.reloadApps("--reload: a file changed, reloading the app", "file", file)
		})
	}
	s.ready()
	return s.serve(ctx, stderr)
}

// catchHangup catches SIGHUP from now on, so that it no longer ends nave
// (its default action), until stop.
func catchHangup() (hup chan os.Signal, stop func()) {
	hup = make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	return hup, func() { signal.Stop(hup) }
}

// onHangup calls reload on each signal from hup until the returned
// function is called.
func onHangup(hup <-chan os.Signal, reload func()) (stop func()) {
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-hup:
				reload()
			case <-done:
				return
			}
		}
	}()
	return func() { close(done) }
}

func reloadPool(pool appPool, log *slog.Logger) {
	if err := pool.Reload(); err != nil {
		attrs := []any{"err", err}
		var se *wsgi.StartError
		if errors.As(err, &se) && se.Output != "" {
			attrs = append(attrs, "output", se.Output)
		}
		log.Error("reload failed; the old workers keep serving", attrs...)
		return
	}
	log.Info("reloaded: new workers serve")
}

// workerCount is "1 worker" or "N workers", for the lines nave prints as
// it starts.
func workerCount(n int) string {
	if n == 1 {
		return "1 worker"
	}
	return fmt.Sprintf("%d workers", n)
}
