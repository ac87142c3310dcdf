package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"nave/internal/asgi"
	"nave/internal/config"
	"nave/internal/web"
	"nave/internal/workers"
	"nave/internal/wsgi"
)

const asgiUsage = `Usage: nave asgi [flags] MODULE:APP

Runs a Python ASGI application (ASGI 3, HTTP spec 2.4, lifespan):
FastAPI, Starlette, Django's ASGI handler, Quart, or any other,
unchanged. nave does all the HTTP (HTTP/1.1, HTTP/2, TLS); supervised
worker processes run the app, each on its own event loop with many
requests in flight. MODULE is imported from the --chdir folder; APP may
be dotted, or "factory()" to call an app factory.

  nave asgi --chdir examples/fastapi main:app
  nave asgi --workers 4 --static /static/=assets mysite.asgi:application

SIGHUP reloads the app's code (new workers first; if they fail to start,
the old ones stay). SIGINT or SIGTERM stops accepting, lets requests in
flight finish (up to --drain-timeout), then stops the workers, each
running the app's lifespan shutdown. SIGUSR1 reopens the access log file
(for logrotate). SIGUSR2 upgrades the binary in place: the one at nave's
path starts with the listening sockets and its own workers, and this one
drains once it is ready (docs/operations.md).

App:
  --python PATH          interpreter (default $VIRTUAL_ENV/bin/python if
                         VIRTUAL_ENV is set, else python3 on PATH); CPython 3.8+
  --chdir DIR            the workers' working folder, first on sys.path
                         (default the current one)
  --workers N            worker processes (default one per CPU nave may
                         use: its affinity, capped by a cgroup CPU quota)
  --mount PREFIX         serve the app under PREFIX (its root_path);
                         other paths get 404 (default /)
  --static URL=DIR       serve the files in DIR under the URL prefix, before
                         the app (repeatable), e.g. --static /static/=assets
  --timeout S            seconds a worker with requests in flight may send
                         nothing, not even its once-a-second heartbeat (its
                         event loop is blocked): its requests get 504, its
                         stack is logged and it is replaced; a request that
                         awaits for long is not stuck. Also bounds the wait
                         for a worker (503). 0 for no limit (default 30; a
                         duration like 2m also reads)
  --max-requests N       recycle a worker after about N requests (default 0, never)
  --backlog N            requests that may wait for a worker; beyond it 503
                         (default 1024)
  --start-timeout D      for a worker to import the app and run its lifespan
                         startup (default 60s)
  --reload               for development: reload the app (as SIGHUP does) when a
                         .py file under --chdir changes
  --reload-dir DIR       watch DIR instead of --chdir (repeatable); implies
                         --reload
  --lifespan MODE        auto, on or off (default auto: run the lifespan
                         protocol, and go on without it if the app does not
                         support it; on: its failure is an error)
  --loop LOOP            auto, asyncio or uvloop (default auto: uvloop when
                         the interpreter has it)
  --native MODE          auto, on or off (default auto: build the adapter's
                         native part for the interpreter when it has its
                         headers and a compiler; on: failing to is an error)
  --limit-concurrency N  requests in one worker's app at once; the rest wait
                         in nave (default 1000)
  --ws-max-message SIZE  the largest WebSocket message from a client (default
                         16m; a larger one closes the socket with 1009)
  --ws-ping-interval D   ping a WebSocket silent this long, close it with 1011
                         when nothing comes back (default off)

`

// asgiOptions are nave asgi's flags: nave wsgi's, and the ASGI ones.
type asgiOptions struct {
	wsgiOptions
	lifespan, loop   string
	native           string
	limitConcurrency int
	wsMaxMessage     sizeFlag
	wsPing           time.Duration
}

// sizeFlag reads a size as the config does: 1048576, 64k, 1m.
type sizeFlag struct{ n int64 }

func (f *sizeFlag) String() string { return "" }

func (f *sizeFlag) Set(s string) error {
	n, err := config.ParseSize(s)
	if err != nil || n < 0 {
		return fmt.Errorf("%q is not a size (1048576, 64k, 1m)", s)
	}
	f.n = n
	return nil
}

func parseASGI(args []string) (*asgiOptions, error) {
	o := &asgiOptions{}
	fs := newFlagSet("asgi")
	o.register(fs)
	fs.StringVar(&o.lifespan, "lifespan", config.DefaultLifespan, "")
	fs.StringVar(&o.loop, "loop", config.DefaultLoop, "")
	fs.StringVar(&o.native, "native", config.DefaultNative, "")
	fs.IntVar(&o.limitConcurrency, "limit-concurrency", asgi.DefaultLimitConcurrency, "")
	fs.Var(&o.wsMaxMessage, "ws-max-message", "")
	fs.DurationVar(&o.wsPing, "ws-ping-interval", 0, "")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return nil, &usageError{err}
	}
	if err := o.check(pos); err != nil {
		return nil, err
	}
	switch {
	case o.lifespan != "auto" && o.lifespan != "on" && o.lifespan != "off":
		return nil, usagef("--lifespan %q is not auto, on or off", o.lifespan)
	case o.loop != "auto" && o.loop != "asyncio" && o.loop != "uvloop":
		return nil, usagef("--loop %q is not auto, asyncio or uvloop", o.loop)
	case o.native != "auto" && o.native != "on" && o.native != "off":
		return nil, usagef("--native %q is not auto, on or off", o.native)
	case o.limitConcurrency <= 0:
		return nil, usagef("--limit-concurrency must be positive, got %d", o.limitConcurrency)
	case o.wsPing < 0:
		return nil, usagef("--ws-ping-interval must be positive, got %v", o.wsPing)
	}
	return o, nil
}

// config is nave asgi as a config: nave wsgi's, with an ASGI app.
func (o *asgiOptions) config() *config.Config {
	c := o.wsgiOptions.config()
	a := c.Apps[appName]
	a.Interface, a.Lifespan, a.Loop, a.LimitConcurrency = "asgi", o.lifespan, o.loop, o.limitConcurrency
	a.Native = o.native
	a.WSMaxMessage, a.WSPingInterval = config.Size(o.wsMaxMessage.n), config.Duration(o.wsPing)
	return c
}

func runASGI(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseASGI(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, asgiUsage+serverFlagsUsage)
		return nil
	}
	if err != nil {
		return err
	}
	return serveApp(ctx, &o.wsgiOptions, o.config, "ASGI", stdout, stderr)
}

// asgiConfig is an ASGI app of the config as the gateway's Config;
// timeout is negative for none.
func asgiConfig(a *config.App, python string, timeout time.Duration, log *slog.Logger) asgi.Config {
	return asgi.Config{
		App: a.Module, Python: python, Dir: a.Chdir, Env: appEnv(a), Workers: a.Workers,
		StartTimeout: a.StartTimeout.D(), Timeout: timeout, MaxRequests: a.MaxRequests, Backlog: a.Backlog,
		Lifespan: a.Lifespan, Loop: a.Loop, Native: a.Native, LimitConcurrency: a.LimitConcurrency,
		WSMaxMessage: int64(a.WSMaxMessage), WSPingInterval: a.WSPingInterval.D(),
		Logger: log,
	}
}

// appPool is an app's supervised workers as nave starts, reloads,
// announces and stops them: a *wsgi.Pool or an *asgi.Handler.
type appPool interface {
	Start() error
	Reload() error
	Stop(ctx context.Context) error
	Kill()
	Workers() int
	// InService is the number of workers taking requests (idle or
	// busy), for /readyz.
	InService() int
	Python() string
	// Stats is the pool's figures: its workers by state and each
	// worker, its queue, and its app's counts.
	Stats() workers.Stats
}

// newPool makes the pool and the handler for an app's spec (poolConfig's:
// a wsgi.Config or an asgi.Config), with log; Start starts it.
func newPool(spec any, log *slog.Logger, meter *workers.Meter) (appPool, web.Handler) {
	switch cfg := spec.(type) {
	case asgi.Config:
		cfg.Logger, cfg.Meter = log, meter
		h := asgi.New(cfg)
		return h, h
	case wsgi.Config:
		cfg.Logger, cfg.Meter = log, meter
		p := wsgi.New(cfg)
		return p, wsgi.NewHandler(p, wsgi.HandlerConfig{Logger: log})
	}
	panic(fmt.Sprintf("cli: an app spec of type %T", spec))
}
