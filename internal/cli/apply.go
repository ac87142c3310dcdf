package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"nave/internal/accesslog"
	"nave/internal/config"
	"nave/internal/health"
	"nave/internal/live"
	"nave/internal/proxy"
	"nave/internal/reqid"
	"nave/internal/server"
	"nave/internal/servermetrics"
	"nave/internal/static"
	"nave/internal/status"
	"nave/internal/systemd"
	"nave/internal/web"
	"nave/internal/wiretrace"
	"nave/internal/wsgi"
)

// built is nave running a config: its listeners with their servers, its
// apps' worker pools, its folders' handlers and its access log, each kept
// in a live.Set so that apply can carry over what a new config leaves
// unchanged and retire only the rest.
type built struct {
	log    *slog.Logger
	level  *slog.LevelVar
	stdout io.Writer
	stderr io.Writer
	// demo, when set, is served for a route whose Root is demoRoot: the
	// built-in site of nave serve without DIR.
	demo fs.FS
	ctx  context.Context // nave's lifetime: the TLS setups run until it ends
	// closing is closed by close, so that retirements stop waiting.
	closing  chan struct{}
	retiring sync.WaitGroup
	stopped  chan error // a server that stopped on its own
	// signals gets SIGINT and SIGTERM from the start, before any server
	// serves, so that a signal is never met with its default action while
	// nave serves; serve stops it at the first.
	signals chan os.Signal
	// reopen gets SIGUSR1, logrotate's "reopen your logs", from the start
	// until close.
	reopen chan os.Signal

	alog atomic.Pointer[accesslog.Logger] // the access log in use

	mu        sync.Mutex // one apply at a time; guards what follows
	cfg       *config.Config
	listeners live.Set[*listener]
	apps      live.Set[*app]
	statics   live.Set[*static.Handler]
	proxies   live.Set[*proxy.Handler] // by upstream name
	logs      live.Set[*accesslog.Logger]
	traces    live.Set[*wiretrace.Tracer] // --trace's destination, when on
	endpoints live.Set[*endpoint]         // the admin API's sockets
	drain     time.Duration
	shut      bool // serve is shutting down: no more applies
	// ownFiles: the listeners' Unix socket files nave made or was handed,
	// by address, which it removes when no one serves on them; not those
	// systemd passed, nor any once an upgrade hands them over.
	ownFiles map[string]bool
	applied  int // configs applied, the first included
	// admin, when set, is served on the sockets the config's admin
	// section names (nave run); nil serves none (the shorthands).
	admin *adminSetup
	// expo is what /metrics exposes: the apps' figures and the reloads
	// from the start; metrics, the server's per-request set, from the
	// first config that has metrics served (nil until then).
	expo    *exposition
	metrics *servermetrics.Set
	// routeMetrics counts each route's requests, made with metrics;
	// metered are the labels of the routes the config in force meters.
	routeMetrics *servermetrics.Routes
	metered      map[[2]string]bool
	// sampler reads the figures the status page charts, from the first
	// config that serves the page (admin API, admin.status) until nave
	// ends; nil until then.
	sampler *status.Sampler
	started time.Time // when nave started, for the status's uptime
	// passed are the sockets nave was started with, until the first
	// config takes them.
	passed passedSockets
	// drainDelay is how long a shutdown serves on, not ready, before it
	// closes connections (timeouts.drain_delay).
	drainDelay time.Duration

	// upgradeTimeout bounds the wait for an upgrade's new process to be
	// ready (timeouts.upgrade).
	upgradeTimeout time.Duration
	// usr2 gets SIGUSR2 from the start; upgrader acts on it once the
	// command enables upgrades, and handedOver then gets the new
	// process's pid once it is ready, for serve to drain and exit.
	usr2       chan os.Signal
	upgrader   *upgrader
	handedOver chan int

	// health is nave's readiness; live is its view of what the config
	// in force runs.
	health *health.Health
	live   atomic.Pointer[inForce]
}

// listener is one config listener, open, with its server. Its server
// serves h, which apply swaps; the server itself is replaced only when
// the listener's own settings change.
type listener struct {
	name    string
	addr    string // as configured
	ln      net.Listener
	tls     *tlsSetup // nil in the clear
	stopTLS context.CancelFunc
	srv     *server.Server
	h       live.Handler
	serving bool
	// retiring is set before the listener's socket is closed to retire
	// it, so that run does not take the accept error for a failure;
	// served is closed when its accept loop has ended.
	retiring atomic.Bool
	served   chan struct{}
}

// app is an app's worker pool and the guard its routes go through.
type app struct {
	name  string
	pool  appPool
	guard *live.Guard
}

// applyError is a valid config that could not be applied, at a field: an
// app whose workers do not start.
type applyError struct {
	Path string
	Err  error
}

func (e *applyError) Error() string { return e.Err.Error() }
func (e *applyError) Unwrap() error { return e.Err }

// errShuttingDown refuses an apply once nave is shutting down.
var errShuttingDown = errors.New("nave is shutting down")

// build starts what c names: the logs, the apps, the handlers, the
// certificates and the listeners, each listener with its server, serving.
// On an error nothing is left open. Problems that belong to a field come
// back as a config.List.
func build(ctx context.Context, c *config.Config, demo fs.FS, noBind bool, stdout, stderr io.Writer) (*built, error) {
	b := newBuilt(ctx, demo, stdout, stderr)
	if err := b.inherit(noBind); err != nil {
		b.close()
		return nil, err
	}
	if err := b.apply(c); err != nil {
		b.close()
		return nil, err
	}
	return b, nil
}

// newBuilt is nave running nothing yet: apply starts a config.
func newBuilt(ctx context.Context, demo fs.FS, stdout, stderr io.Writer) *built {
	level := &slog.LevelVar{}
	b := &built{
		log:   slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})),
		level: level, stdout: stdout, stderr: stderr, demo: demo, ctx: ctx,
		closing: make(chan struct{}), stopped: make(chan error, 1), signals: make(chan os.Signal, 1),
		expo:    newExposition(),
		reopen:  make(chan os.Signal, 1),
		started: time.Now(),
		usr2:    make(chan os.Signal, 1), handedOver: make(chan int, 1),
	}
	b.health = b.newHealth()
	signal.Notify(b.signals, os.Interrupt, syscall.SIGTERM)
	signal.Notify(b.reopen, syscall.SIGUSR1)
	signal.Notify(b.usr2, syscall.SIGUSR2)
	go b.reopenOnSignal()
	return b
}

// reopenOnSignal reopens the access log files on each SIGUSR1, until
// close: logrotate renames a file, then signals, and nave goes on in a
// new file of the old name.
func (b *built) reopenOnSignal() {
	for {
		select {
		case <-b.reopen:
		case <-b.closing:
			return
		}
		b.mu.Lock()
		logs := b.logs.All()
		b.mu.Unlock()
		for _, l := range logs {
			if err := l.Reopen(); err != nil {
				b.log.Error("SIGUSR1: cannot reopen the access log; writing on to the old file", "err", err)
			}
		}
		b.log.Info("SIGUSR1: reopened the log files")
	}
}

// config is the config being served.
func (b *built) config() *config.Config {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.cfg
}

// apply makes c the config served: it builds what c needs beside what
// runs, reusing every listener, app, folder handler and log whose config
// is unchanged; swaps each listener's handler; and retires what c no
// longer uses, in the background, once its requests have finished. If a
// part cannot be built, nothing of c stays and the running config serves
// on.
func (b *built) apply(c *config.Config) error {
	return b.update(func(*config.Config) (*config.Config, error) { return c, nil })
}

// update applies the config change makes from the one being served, with
// no other apply in between. An error from change is returned as it is.
func (b *built) update(change func(cur *config.Config) (*config.Config, error)) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.shut {
		return errShuttingDown
	}
	if b.admin != nil {
		b.admin.nextFile = ""
	}
	reload := b.applied > 0
	c, err := change(b.cfg)
	if err == nil {
		err = b.applyLocked(c)
	}
	b.expo.applied(reload, err)
	if err != nil {
		return err
	}
	if b.admin != nil && b.admin.nextFile != "" {
		b.admin.file = b.admin.nextFile // a file read for this config: SIGHUP reads it from now on
	}
	return nil
}

// applyLocked is apply, with b.mu held.
func (b *built) applyLocked(c *config.Config) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.Log.Level)); err != nil {
		return config.List{c.At("log.level", "%q is not debug, info, warn or error", c.Log.Level)}
	}
	g := &gen{b: b, c: c, endpoints: b.endpoints.Begin(),
		listeners: b.listeners.Begin(), apps: b.apps.Begin(), statics: b.statics.Begin(), proxies: b.proxies.Begin(), logs: b.logs.Begin(), traces: b.traces.Begin(),
		appHandlers: map[string]web.Handler{}, sites: map[string]web.Handler{}, handlers: map[*listener]web.Handler{},
	}
	if err := g.build(); err != nil {
		g.abort()
		return err
	}
	if err := b.passed.leftover(); err != nil {
		g.abort()
		return config.List{c.At("listeners", "%v", err)}
	}
	b.level.Set(level)
	g.commit()
	b.passed.closeLeft(b.log)
	return nil
}

// inherit takes the sockets passed to nave (by systemd, or by the nave
// it replaces) for the first config; noBind forbids opening others.
func (b *built) inherit(noBind bool) error {
	handedOver := os.Getenv(systemd.ParentEnv) != "" // Listeners unsets it
	ls, err := systemd.Listeners()
	if err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.passed = passedSockets{left: ls, noBind: noBind, handedOver: handedOver && len(ls) > 0}
	return nil
}

// gen is one apply: the next generation, being built.
type gen struct {
	b           *built
	c           *config.Config
	listeners   *live.Tx[*listener]
	apps        *live.Tx[*app]
	statics     *live.Tx[*static.Handler]
	proxies     *live.Tx[*proxy.Handler]
	logs        *live.Tx[*accesslog.Logger]
	traces      *live.Tx[*wiretrace.Tracer]
	endpoints   *live.Tx[*endpoint]
	alog        *accesslog.Logger
	trace       *wiretrace.Tracer         // nil: off
	appHandlers map[string]web.Handler    // by app name
	sites       map[string]web.Handler    // by site name, shared by its listeners
	handlers    map[*listener]web.Handler // what each listener serves once swapped
	metered     map[[2]string]bool        // the (site, route) labels of the routes it meters
}

func (g *gen) build() error {
	c := g.c
	format, err := accesslog.ParseFormat(c.Log.Format)
	if err != nil {
		return config.List{c.At("log.format", "%v", err)}
	}
	g.alog, _, err = g.logs.Use("access", c.Log.Access+" "+c.Log.Format, func() (*accesslog.Logger, error) {
		l, err := accesslog.Open(c.Log.Access, format, g.b.log)
		if err != nil {
			return nil, config.List{c.At("log.access", "%v", err)}
		}
		return l, nil
	})
	if err != nil {
		return err
	}
	if err := g.openTrace(); err != nil {
		return err
	}
	if err := g.startApps(); err != nil {
		return err
	}
	names := slices.Sorted(maps.Keys(c.Listeners))
	for _, name := range names {
		if _, err := g.listener(name); err != nil {
			return err
		}
	}
	for _, name := range names {
		l, _ := g.listeners.Get(name)
		h, err := g.handler(l)
		if err != nil {
			return err
		}
		trusted := prefixes(c.Listeners[name].TrustedProxies)
		if id := c.Log.RequestID; id != "off" {
			h = reqid.New(id, h)
		}
		if len(trusted) > 0 {
			h = trusting{trusted, h}
		}
		g.handlers[l] = h
	}
	if err := g.adminEndpoints(); err != nil {
		return err
	}
	if err := g.metricsEndpoint(); err != nil {
		return err
	}
	return g.statusEndpoint()
}

// startApps starts a pool for each app a route runs whose config changed
// (new workers first: the running ones serve until the swap), and reuses
// the running pool of each app whose config did not.
func (g *gen) startApps() error {
	c := g.c
	for _, name := range slices.Sorted(maps.Keys(c.Apps)) {
		if !usedApp(c, name) {
			g.b.log.Warn("no route runs this app; it is not started", "app", name)
			continue
		}
		spec, err := poolConfig(c, name)
		if err != nil {
			return err
		}
		a, _, err := g.apps.Use(name, spec, func() (*app, error) { return g.b.startApp(name, spec) })
		if err != nil {
			return err
		}
		g.appHandlers[name] = a.guard
	}
	return nil
}

// poolConfig is an app's wsgi.Config or asgi.Config, without its logger:
// the spec that tells whether the app changed.
func poolConfig(c *config.Config, name string) (any, error) {
	a := c.Apps[name]
	python := a.Python
	if a.Virtualenv != "" {
		python = filepath.Join(a.Virtualenv, "bin", "python")
	}
	python, err := choosePython(python)
	if err != nil {
		return nil, config.List{c.At("apps."+name+".python", "no Python interpreter: %v", err)}
	}
	timeout := a.Timeout.D()
	if a.Timeout == config.Off {
		timeout = -1
	}
	if a.Interface == "asgi" {
		return asgiConfig(a, python, timeout, nil), nil
	}
	return wsgi.Config{App: a.Module, Python: python, Dir: a.Chdir, Workers: a.Workers,
		StartTimeout: a.StartTimeout.D(), Timeout: timeout, MaxRequests: a.MaxRequests, Backlog: a.Backlog,
		Env: appEnv(a)}, nil
}

// startApp starts an app's workers and returns when all are ready. A
// worker that fails prints its output (the traceback) on stderr.
func (b *built) startApp(name string, spec any) (*app, error) {
	pool, h := newPool(spec, b.log.With("app", name), b.meter(name))
	if err := pool.Start(); err != nil {
		var se *wsgi.StartError
		if errors.As(err, &se) && se.Output != "" {
			fmt.Fprintln(b.stderr, strings.TrimRight(se.Output, "\n"))
		}
		return nil, &applyError{Path: "apps." + name + ".module", Err: err}
	}
	return &app{name: name, pool: pool, guard: live.NewGuard(h)}, nil
}

func usedApp(c *config.Config, name string) bool {
	for _, st := range c.Sites {
		for _, r := range st.Routes {
			if r.App == name {
				return true
			}
		}
	}
	return false
}

// listenerSpec is what a listener's socket, certificates and server are
// made from; a listener whose spec is unchanged is kept as it is.
type listenerSpec struct {
	Address string
	TLS     *tlsFlags // nil in the clear
	Server  server.Config
}

// listener is the named listener of the next generation: the running one
// when its spec is unchanged, else a new one (not yet serving).
func (g *gen) listener(name string) (*listener, error) {
	c, cl := g.c, g.c.Listeners[name]
	spec := listenerSpec{Address: cl.Address, Server: serverConfig(c, cl)}
	// Turning metrics or the trace on or off replaces the listener's server.
	spec.Server.Metrics = g.b.metricsFor(c)
	spec.Server.Trace = g.trace
	if cl.TLS != nil {
		spec.TLS = tlsFlagsOf(c, name)
	}
	l, _, err := g.listeners.Use(name, spec, func() (*listener, error) { return g.b.openListener(c, name, spec) })
	return l, err
}

// openListener opens a listener's certificates and socket and makes its
// server. The socket is the running one of the same address when there
// is one (a copy of its descriptor, so that both servers can accept on it
// while the old one drains), else a new one.
func (b *built) openListener(c *config.Config, name string, spec listenerSpec) (*listener, error) {
	l := &listener{name: name, addr: spec.Address, served: make(chan struct{})}
	if spec.TLS != nil {
		ctx, cancel := context.WithCancel(b.ctx)
		ts, err := spec.TLS.setup(ctx, b.log, b.stdout)
		if err != nil {
			cancel()
			return nil, config.List{c.At("listeners."+name+".tls", "%v", err)}
		}
		l.tls, l.stopTLS = ts, cancel
	}
	ln, err := b.socket(name, spec.Address)
	if err != nil {
		l.close()
		return nil, config.List{c.At("listeners."+name+".address", "%v", err)}
	}
	l.ln = ln
	sc := spec.Server
	sc.Handler, sc.Logger, sc.AccessLog = &l.h, b.log, b.logAccess
	l.srv = server.New(sc)
	return l, nil
}

// socket is a listening socket for addr: a copy of the running one on the
// same address (of the same listener, for port 0), or a new one.
func (b *built) socket(name, addr string) (net.Listener, error) {
	anyPort := strings.HasSuffix(addr, ":0")
	for _, l := range b.listeners.All() {
		if l.addr == addr && (!anyPort || l.name == name) {
			return dupListener(l.ln)
		}
	}
	return b.bind(name, addr)
}

// bind is a socket for what a config names: the passed one of that name
// or address, else a new one (unless --no-bind). b.mu is held. An error
// says what is wrong with the address, for the caller to name the field.
func (b *built) bind(name, addr string) (net.Listener, error) {
	if ln := b.passed.take(name, addr); ln != nil {
		// A Unix socket systemd made is systemd's to remove; one a nave
		// made and handed over is this one's now.
		b.ownFile(addr, b.passed.handedOver)
		return ln, nil
	}
	if err := b.passed.mustBind(name, addr); err != nil {
		return nil, err
	}
	ln, err := listen(addr)
	var ue *usageError
	if errors.As(err, &ue) {
		err = ue.err // the caller names the field
	}
	if err == nil {
		b.ownFile(addr, true)
	}
	return ln, err
}

// ownFile records whether the Unix socket file of a listener on addr is
// nave's to remove when no one serves on it (removeSocketFile); a TCP
// address is ignored.
func (b *built) ownFile(addr string, own bool) {
	if _, ok := config.SocketPath(addr); !ok {
		return
	}
	if b.ownFiles == nil {
		b.ownFiles = map[string]bool{}
	}
	b.ownFiles[addr] = own
}

// removeSocketFile removes the socket file of a listener on a Unix socket
// that no one serves on any more, when nave made it.
func (b *built) removeSocketFile(addr string) {
	if p, ok := config.SocketPath(addr); ok && b.ownFiles[addr] {
		os.Remove(p)
		delete(b.ownFiles, addr)
	}
}

// dupListener is a second listener on ln's socket.
func dupListener(ln net.Listener) (net.Listener, error) {
	fl, ok := ln.(interface{ File() (*os.File, error) })
	if !ok {
		return nil, fmt.Errorf("cannot share a %T", ln)
	}
	f, err := fl.File()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return net.FileListener(f)
}

// openTrace opens log.trace's destination, or keeps the running one.
func (g *gen) openTrace() error {
	c := g.c
	if c.Log.Trace == "" {
		return nil
	}
	var err error
	g.trace, _, err = g.traces.Use("trace", c.Log.Trace+" "+c.Log.TracePath, func() (*wiretrace.Tracer, error) {
		if c.Log.Trace == "-" {
			return wiretrace.New(g.b.stderr, c.Log.TracePath), nil
		}
		t, err := wiretrace.Open(c.Log.Trace, c.Log.TracePath)
		if err != nil {
			return nil, config.List{c.At("log.trace", "%v", err)}
		}
		return t, nil
	})
	return err
}

// closeTraces closes retired trace files.
func closeTraces(ts []*wiretrace.Tracer) {
	for _, t := range ts {
		t.Close()
	}
}

// logAccess is every server's access log hook: the log in use now.
func (b *built) logAccess(r *web.Request, w *web.ResponseWriter) {
	b.alog.Load().Log(r, w)
}

// abort closes what the generation built; the running one is untouched.
func (g *gen) abort() {
	for _, a := range g.apps.Abort() {
		a.pool.Kill()
	}
	g.b.dropMeters()
	g.b.dropRoutes()
	closeAll(g.listeners.Abort(), g.statics.Abort(), g.logs.Abort(), g.endpoints.Abort())
	closeProxies(g.proxies.Abort())
	closeTraces(g.traces.Abort())
}

// closeAll closes listeners' sockets, folder handlers, logs and admin
// sockets.
func closeAll(ls []*listener, hs []*static.Handler, logs []*accesslog.Logger, es []*endpoint) {
	for _, l := range ls {
		l.close()
	}
	for _, h := range hs {
		h.Close()
	}
	for _, l := range logs {
		l.Close()
	}
	for _, e := range es {
		e.ln.Close()
	}
}

// commit swaps the generation in: every listener serves its new handler
// (a new listener starts accepting), and what the running generation had
// that this one does not is retired.
func (g *gen) commit() {
	b := g.b
	b.alog.Store(g.alog)
	for l, h := range g.handlers {
		l.h.Store(h)
	}
	var r retired
	r.listeners = g.listeners.Commit()
	r.apps = g.apps.Commit()
	r.statics = g.statics.Commit()
	r.proxies = g.proxies.Commit()
	r.logs = g.logs.Commit()
	r.traces = g.traces.Commit()
	r.endpoints = g.endpoints.Commit()
	for _, l := range b.listeners.All() {
		if !l.serving {
			l.serving = true
			go b.run(l)
		}
	}
	for _, e := range b.endpoints.All() {
		if !e.serving {
			e.serving = true
			go e.srv.Serve(e.ln)
		}
	}
	for _, old := range r.listeners {
		// Its kept-alive connections take their next requests from the
		// new generation until the drain closes them.
		if l, ok := b.listeners.Running(old.name); ok {
			old.h.Store(g.handlers[l])
		}
	}
	r.successors = g.appHandlers
	b.dropMeters()
	b.metered = g.metered
	b.dropRoutes()
	b.exposeUpstreams()
	b.cfg, b.drain, b.drainDelay = g.c, g.c.Timeouts.Drain.D(), g.c.Timeouts.DrainDelay.D()
	b.upgradeTimeout = g.c.Timeouts.Upgrade.D()
	b.publishServing()
	b.health.Start()
	b.applied++
	if b.applied > 1 {
		b.log.Info("config applied", "listeners_replaced", len(r.listeners), "apps_replaced", len(r.apps),
			"folders_replaced", len(r.statics))
	}
	b.retire(r)
}

// run serves a listener until its server shuts down; a server that stops
// on its own stops nave.
func (b *built) run(l *listener) {
	defer close(l.served)
	var err error
	if l.tls != nil {
		err = l.srv.ServeTLS(l.ln, l.tls.config)
	} else {
		err = l.srv.Serve(l.ln)
	}
	if !errors.Is(err, server.ErrServerClosed) && !l.retiring.Load() {
		select {
		case b.stopped <- fmt.Errorf("listener %s: %w", l.name, err):
		default:
		}
	}
}

// retired is what a generation no longer uses.
type retired struct {
	listeners  []*listener
	apps       []*app
	statics    []*static.Handler
	proxies    []*proxy.Handler
	logs       []*accesslog.Logger
	traces     []*wiretrace.Tracer
	endpoints  []*endpoint
	successors map[string]web.Handler // the new generation's apps, by name
}

// retire drains what r holds, in the background: a retired listener's
// server stops accepting and lets its requests finish (up to the drain
// timeout); a retired app sends later requests to its successor, lets the
// ones inside finish and stops its workers. Folder handlers and logs are
// closed once the drain timeout has passed, or nave stops: a request that
// took one just before the swap has had that long to open its file.
func (b *built) retire(r retired) {
	if len(r.listeners)+len(r.apps)+len(r.statics)+len(r.proxies)+len(r.logs)+len(r.traces)+len(r.endpoints) == 0 {
		return
	}
	for _, l := range r.listeners {
		l.stopAccepting() // before the change is reported applied: new connections are the new config's
		if !b.listensOn(l.addr) {
			b.removeSocketFile(l.addr)
		}
	}
	b.retiring.Add(1)
	drain := b.drain
	go func() {
		defer b.retiring.Done()
		ctx, cancel := context.WithTimeout(context.Background(), drain)
		defer cancel()
		var wg sync.WaitGroup
		for _, l := range r.listeners {
			wg.Go(func() { l.retire(ctx) })
		}
		for _, e := range r.endpoints {
			wg.Go(func() { e.srv.Shutdown(ctx) })
		}
		for _, a := range r.apps {
			wg.Go(func() {
				a.guard.Retire(ctx, r.successors[a.name])
				a.pool.Stop(ctx)
			})
		}
		wg.Wait()
		select {
		case <-ctx.Done():
		case <-b.closing:
		}
		closeAll(nil, r.statics, r.logs, nil)
		closeProxies(r.proxies)
		closeTraces(r.traces)
	}()
}

// stopAccepting ends the accept loop of a listener that a new
// generation replaced or removed: its socket is closed (when a new server
// shares it, the socket goes on accepting, for that one) and the loop let
// end, so that every connection it accepted is its server's before
// Shutdown: one accepted as Shutdown began would be closed unanswered.
func (l *listener) stopAccepting() {
	l.retiring.Store(true)
	l.ln.Close()
	<-l.served
}

// listensOn reports whether a current listener serves on addr.
func (b *built) listensOn(addr string) bool {
	for _, l := range b.listeners.All() {
		if l.addr == addr {
			return true
		}
	}
	return false
}

// retire drains a listener whose accept loop has ended.
func (l *listener) retire(ctx context.Context) {
	l.srv.Shutdown(ctx)
	l.close()
}

// close stops the listener's certificate upkeep and closes its socket.
func (l *listener) close() {
	if l.ln != nil {
		l.ln.Close()
	}
	if l.stopTLS != nil {
		l.stopTLS()
	}
}

// Why a drain began, as /readyz says it.
const (
	drainShutdown = "shutting down"
	drainHandover = "upgrade hand-over"
)

// serve waits until ctx ends, a signal arrives, a server stops on its own
// or an upgrade's new process is ready, then shuts every server down
// gracefully, waiting up to the drain timeout for requests in flight.
func (b *built) serve(ctx context.Context, stderr io.Writer) error {
	var failed error
	reason, successor := drainShutdown, 0
	select {
	case err := <-b.stopped:
		failed = fmt.Errorf("serving stopped: %w", err)
	case <-b.signals:
	case <-ctx.Done():
	case successor = <-b.handedOver:
		reason = drainHandover
	}
	signal.Stop(b.signals) // from here a second signal ends the process at once
	b.leaveService(reason, failed == nil, stderr)
	b.mu.Lock()
	b.shut = true
	if successor != 0 {
		b.keepSocketFiles()
	}
	drain := b.drain
	var all []*server.Server
	ls := values(b.listeners.All())
	for _, l := range ls {
		all = append(all, l.srv)
	}
	for _, e := range b.endpoints.All() {
		all = append(all, e.srv)
	}
	b.mu.Unlock()
	// Every connection accepted is its server's before Shutdown, which
	// would close one accepted as it began unanswered: after a hand-over
	// the socket lives on, and its next connection is the successor's.
	for _, l := range ls {
		l.stopAccepting()
	}
	switch {
	case successor != 0:
		fmt.Fprintf(stderr, "nave: handed over to the new nave (pid %d); waiting up to %v for requests in flight\n", successor, drain)
	case failed == nil:
		fmt.Fprintf(stderr, "nave: shutting down; waiting up to %v for requests in flight (signal again to stop now)\n", drain)
	}
	sctx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	var late atomic.Bool
	var wg sync.WaitGroup
	for _, srv := range all {
		wg.Go(func() {
			if srv.Shutdown(sctx) != nil {
				late.Store(true)
			}
		})
	}
	wg.Wait()
	if late.Load() && failed == nil {
		fmt.Fprintf(stderr, "nave: drain timeout passed; closed the remaining connections\n")
	}
	return failed
}

// leaveService begins a drain: no more upgrades, /readyz fails for
// reason, and, when nave stops rather than hands over, systemd is told and
// the drain delay is served out (when delay is true) before connections
// close.
func (b *built) leaveService(reason string, delay bool, stderr io.Writer) {
	b.stopUpgrades()
	b.health.Drain(reason)
	if reason == drainHandover {
		return // the successor is the service now, and serves on the sockets
	}
	systemd.Notify("STOPPING=1")
	b.mu.Lock()
	d := b.drainDelay
	b.mu.Unlock()
	if delay && d > 0 {
		// Kubernetes' endpoint-removal race: the load balancer goes on
		// sending until its probes see /readyz fail; refusing connections
		// before then would fail requests.
		fmt.Fprintf(stderr, "nave: not ready from now on; serving on for --drain-delay %v before closing connections\n", d)
		time.Sleep(d)
	}
}

// reload reloads every listener's certificates and every app's code, as
// SIGHUP asks of nave serve and nave wsgi.
func (b *built) reload() {
	b.reloadCertificates()
	b.reloadApps("SIGHUP: reloading the app")
}

// reloadApps starts every app's code anew (new workers first), logging
// why (with attrs) for each.
func (b *built) reloadApps(why string, attrs ...any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	apps := b.apps.All()
	for _, name := range slices.Sorted(maps.Keys(apps)) {
		log := b.log.With("app", name)
		log.Info(why, attrs...)
		reloadPool(apps[name].pool, log)
	}
}

// reloadCertificates reads every listener's certificate files again, as
// SIGHUP asks (they are also watched, and read when they change).
func (b *built) reloadCertificates() {
	b.mu.Lock()
	defer b.mu.Unlock()
	ls := b.listeners.All()
	for _, name := range slices.Sorted(maps.Keys(ls)) {
		if l := ls[name]; l.tls != nil {
			b.log.Info("SIGHUP: reloading the certificates", "listener", l.name)
			l.tls.store.Reload()
		}
	}
}

// close stops the apps and closes the listeners, handlers and logs, once
// the retirements under way have ended.
func (b *built) close() {
	signal.Stop(b.signals)
	signal.Stop(b.reopen)
	b.stopUpgrades()
	close(b.closing)
	b.retiring.Wait()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.shut = true
	sctx, cancel := context.WithTimeout(context.Background(), b.drain)
	defer cancel()
	var wg sync.WaitGroup
	for _, a := range b.apps.All() {
		wg.Go(func() { a.pool.Stop(sctx) })
	}
	wg.Wait()
	closeAll(values(b.listeners.All()), values(b.statics.All()), values(b.logs.All()), values(b.endpoints.All()))
	for _, l := range b.listeners.All() {
		b.removeSocketFile(l.addr)
	}
	closeProxies(values(b.proxies.All()))
	closeTraces(values(b.traces.All()))
}

func values[V any](m map[string]V) []V { return slices.Collect(maps.Values(m)) }

// shorthandListeners are a shorthand config's listeners as nave serve
// and nave wsgi print and reload them.
func (b *built) shorthandListeners() *listeners {
	ls := &listeners{}
	all := b.listeners.All()
	if l, ok := all[mainName]; ok {
		ls.main, ls.tls = l.ln, l.tls
	}
	if l, ok := all[redirectName]; ok {
		ls.redirect = l.ln
	}
	for key, e := range b.endpoints.All() {
		if isMetrics(key) {
			ls.metrics = e.ln
		}
		if isStatus(key) {
			ls.status = e.ln
		}
	}
	return ls
}

// pool is the named app's worker pool, nil when it has none.
func (b *built) pool(name string) appPool {
	if a, ok := b.apps.All()[name]; ok {
		return a.pool
	}
	return nil
}

// announce says where each listener serves, one line each, and which
// apps run.
func (b *built) announce(w io.Writer) {
	ls := b.listeners.All()
	for _, name := range slices.Sorted(maps.Keys(ls)) {
		l := ls[name]
		fmt.Fprintf(w, "Listening as %s on %s\n", l.name, listenerWhere(l.ln, l.tls != nil))
	}
	apps := b.apps.All()
	for _, name := range slices.Sorted(maps.Keys(apps)) {
		p := apps[name].pool
		fmt.Fprintf(w, "Running app %s: %s, Python %s\n", name, workerCount(p.Workers()), p.Python())
	}
	es := b.endpoints.All()
	for _, key := range slices.Sorted(maps.Keys(es)) {
		if isMetrics(key) {
			fmt.Fprintf(w, "Metrics at http://%s/metrics\n", es[key].ln.Addr())
		}
		if isStatus(key) {
			fmt.Fprintf(w, "Status page at http://%s/\n", es[key].ln.Addr())
		}
		if isMetrics(key) || isStatus(key) {
			continue
		}
		fmt.Fprintf(w, "Admin API on %s:%s\n", es[key].ln.Addr().Network(), es[key].ln.Addr())
	}
}
