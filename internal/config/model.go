package config

// Config is a whole nave configuration. The JSON field names are the TOML
// keys as well. Maps are keyed by names the user chose; those names are
// the stable identities a reload compares.
type Config struct {
	Listeners map[string]*Listener `json:"listeners,omitempty"`
	Sites     map[string]*Site     `json:"sites,omitempty"`
	Apps      map[string]*App      `json:"apps,omitempty"`
	Upstreams map[string]*Upstream `json:"upstreams,omitempty"`
	Limits    Limits               `json:"limits"`
	Timeouts  Timeouts             `json:"timeouts"`
	HTTP2     HTTP2                `json:"http2"`
	Log       Log                  `json:"log"`
	Admin     Admin                `json:"admin"`

	// Dir is the folder relative paths in the file are resolved against:
	// the config file's own folder. It is not part of the file.
	Dir string `json:"-"`

	lines map[string]int // path → line in the TOML file, for At
}

// At is an error about the field at path, with its line in the file the
// config came from (a listener that cannot listen, a feature nave cannot
// run yet), formatted as Validate's.
func (c *Config) At(path, format string, args ...any) *Error {
	e := &errs{lines: c.lines}
	e.add(path, format, args...)
	return e.list[0]
}

// Listener is an address nave accepts connections on.
type Listener struct {
	Address string `json:"address"`
	// Protocols are the protocols served: "h1" (always), "h2" (by ALPN
	// over TLS), "h2c" (HTTP/2 in the clear with prior knowledge).
	Protocols []string `json:"protocols,omitempty"`
	TLS       *TLS     `json:"tls,omitempty"`
	// TrustedProxies are the addresses (CIDRs) whose forwarding headers
	// and PROXY protocol headers are believed.
	TrustedProxies []string `json:"trusted_proxies,omitempty"`
	// ProxyProtocol: connections open with a PROXY protocol v1/v2 header.
	ProxyProtocol bool `json:"proxy_protocol,omitempty"`
	// RedirectHTTPS names a TLS listener: this listener answers every
	// request with 308 to the same URL on it (and answers ACME HTTP-01
	// challenges), as nave serve's --redirect-http.
	RedirectHTTPS string `json:"redirect_https,omitempty"`
}

// TLS is a listener's HTTPS: certificate files, a local development CA, or
// certificates from an ACME CA for Names.
type TLS struct {
	Certificates []CertFiles `json:"certificates,omitempty"`
	SelfSigned   bool        `json:"self_signed,omitempty"`
	// Names the listener answers to: the ACME certificate's names, added
	// to the self-signed certificate, or checked against the files'.
	Names            []string `json:"names,omitempty"`
	ACME             *ACME    `json:"acme,omitempty"`
	TicketKeys       string   `json:"ticket_keys,omitempty"`
	HandshakeTimeout Duration `json:"handshake_timeout,omitempty"`
	// HSTS sends Strict-Transport-Security: max-age=HSTS; 0 does not.
	HSTS Duration `json:"hsts,omitempty"`
}

// CertFiles is a PEM certificate chain and its key.
type CertFiles struct {
	Cert string `json:"cert"`
	Key  string `json:"key"`
}

// ACME gets certificates for TLS.Names from an ACME CA (RFC 8555).
type ACME struct {
	Email      string   `json:"email,omitempty"`
	CA         string   `json:"ca,omitempty"`      // directory URL; "" is Let's Encrypt
	CARoot     string   `json:"ca_root,omitempty"` // PEM roots for the CA's own HTTPS
	Challenges []string `json:"challenges,omitempty"`
}

// Site is a set of host names and the routes that answer them.
type Site struct {
	// Hosts are exact names ("example.com") and wildcards of one label
	// ("*.example.com"); none, or "*", makes the site the default of its
	// listeners: it answers every host no other site names.
	Hosts []string `json:"hosts,omitempty"`
	// Listeners the site is served on; empty means all.
	Listeners []string `json:"listeners,omitempty"`
	HeaderOps
	Routes []*Route `json:"routes"`
}

// HeaderOps change response header fields, whatever the action wrote.
type HeaderOps struct {
	SetHeaders    map[string]string `json:"set_headers,omitempty"`
	RemoveHeaders []string          `json:"remove_headers,omitempty"`
}

// Route is a match and one action. A site's routes are tried in order;
// the first that matches answers.
type Route struct {
	// Name is optional: a stable identity for a route that a reload or
	// the admin API can refer to.
	Name  string `json:"name,omitempty"`
	Match Match  `json:"match"`

	// The actions: exactly one of Root, App, Proxy, Redirect, Respond.
	Root     string  `json:"root,omitempty"`     // serve this folder
	App      string  `json:"app,omitempty"`      // run this app
	Proxy    string  `json:"proxy,omitempty"`    // pass to this upstream
	Redirect string  `json:"redirect,omitempty"` // a Location, with placeholders
	Respond  *string `json:"respond,omitempty"`  // a body, with placeholders
	// Status is the redirect's (default 308) or the response's (default 200).
	Status      int    `json:"status,omitempty"`
	ContentType string `json:"content_type,omitempty"` // Respond's; default text/plain

	Files
	HeaderOps
}

// Match is what a request must have for its route to answer. Every field
// set must match; an empty Match matches everything.
type Match struct {
	// Path is a path prefix of whole segments ("/static/" holds
	// "/static/app.css", not "/staticfiles"), compared with the decoded
	// path; the route's handler is mounted there (SCRIPT_NAME, or the
	// folder's root).
	Path string `json:"path,omitempty"`
	// Glob is a pattern on the whole decoded path in which "*" stands for
	// any run of bytes, "/" included ("*.php", "/user/*/avatar").
	Glob    string            `json:"glob,omitempty"`
	Methods []string          `json:"methods,omitempty"`
	Hosts   []string          `json:"hosts,omitempty"`   // as Site.Hosts, without a default
	Headers map[string]string `json:"headers,omitempty"` // field → glob on its value ("*": present)
	Query   map[string]string `json:"query,omitempty"`   // argument → glob on its raw value
}

// Files are the options of a Root route: every nave serve flag.
type Files struct {
	Index          []string          `json:"index,omitempty"`
	Browse         bool              `json:"browse,omitempty"`
	ShowHidden     bool              `json:"show_hidden,omitempty"`
	FollowSymlinks bool              `json:"follow_symlinks,omitempty"`
	ErrorPages     map[string]string `json:"error_pages,omitempty"` // "404" → "/404.html"
	CacheControl   string            `json:"cache_control,omitempty"`
	Gzip           bool              `json:"gzip,omitempty"`
	FileCache      Size              `json:"file_cache,omitempty"` // "off" (-1) turns it off
	FileCacheValid Duration          `json:"file_cache_valid,omitempty"`
}

// App is a Python application run by worker processes.
type App struct {
	Interface   string            `json:"interface,omitempty"` // "wsgi" (default) or "asgi"
	Module      string            `json:"module"`              // MODULE:CALLABLE
	Python      string            `json:"python,omitempty"`
	Virtualenv  string            `json:"virtualenv,omitempty"`
	Chdir       string            `json:"chdir,omitempty"`
	Workers     int               `json:"workers,omitempty"` // 0: one per CPU
	Environment map[string]string `json:"environment,omitempty"`
	// Timeout bounds one request; "off" (-1) for none.
	Timeout      Duration `json:"timeout,omitempty"`
	StartTimeout Duration `json:"start_timeout,omitempty"`
	MaxRequests  int      `json:"max_requests,omitempty"` // recycle a worker after about this many; 0 never
	Backlog      int      `json:"backlog,omitempty"`
	// ASGI only (interface "asgi"; docs/asgi.md).
	Lifespan         string   `json:"lifespan,omitempty"`          // auto (default), on, off
	Loop             string   `json:"loop,omitempty"`              // auto (default), asyncio, uvloop
	Native           string   `json:"native,omitempty"`            // auto (default), on, off: the adapter's native part
	LimitConcurrency int      `json:"limit_concurrency,omitempty"` // requests in one worker's app at once
	WSMaxMessage     Size     `json:"ws_max_message,omitempty"`    // a WebSocket message's bound; 0: the gateway's default
	WSPingInterval   Duration `json:"ws_ping_interval,omitempty"`  // idle WebSocket pings; 0: the gateway's default
}

// Upstream is a set of servers a route proxies to (docs/proxy.md). Zero
// fields mean the proxy's defaults (proxy.Default...).
type Upstream struct {
	Servers []string       `json:"servers"`
	Weights map[string]int `json:"weights,omitempty"` // by server; 1 for one not named
	Balance string         `json:"balance,omitempty"` // round_robin (default), least_conn, random2, hash
	// HashKey is what balance hash hashes: "client" (the default), "header:NAME", "cookie:NAME".
	HashKey string `json:"hash_key,omitempty"`
	// Host is the Host sent upstream; empty passes the client's.
	Host        string `json:"host,omitempty"`
	StripPrefix bool   `json:"strip_prefix,omitempty"`
	// ProxyProtocol is 1 or 2 to open upstream connections with a PROXY
	// protocol header of that version; 0 for none.
	ProxyProtocol int `json:"proxy_protocol,omitempty"`
	// H2C: the servers speak HTTP/2 with prior knowledge; requests are
	// multiplexed on few connections (docs/proxy.md).
	H2C bool `json:"h2c,omitempty"`

	ConnectTimeout Duration `json:"connect_timeout,omitempty"`
	HeaderTimeout  Duration `json:"header_timeout,omitempty"`
	ReadTimeout    Duration `json:"read_timeout,omitempty"`
	WriteTimeout   Duration `json:"write_timeout,omitempty"`
	TunnelIdle     Duration `json:"tunnel_idle,omitempty"`
	IdleTimeout    Duration `json:"idle_timeout,omitempty"`
	// KeepAlive is how many idle connections are kept per server; 0 none.
	KeepAlive *int `json:"keepalive,omitempty"`

	Retries      *int     `json:"retries,omitempty"` // further tries where safe; 0 none
	RetryTimeout Duration `json:"retry_timeout,omitempty"`
	MaxFails     *int     `json:"max_fails,omitempty"` // 0: passive checks off
	FailTimeout  Duration `json:"fail_timeout,omitempty"`
	SlowStart    Duration `json:"slow_start,omitempty"` // "off" for none

	Health *HealthCheck `json:"health,omitempty"`
}

// HealthCheck is an upstream's active check.
type HealthCheck struct {
	Path     string   `json:"path"`
	Interval Duration `json:"interval,omitempty"`
	Timeout  Duration `json:"timeout,omitempty"`
	Status   int      `json:"status,omitempty"` // 0: any 2xx or 3xx
	Rise     int      `json:"rise,omitempty"`
	Fall     int      `json:"fall,omitempty"`
}

// Limits bound a request.
type Limits struct {
	MaxRequestLine Size `json:"max_request_line,omitempty"`
	MaxHeaderBytes Size `json:"max_header_bytes,omitempty"`
	MaxHeaders     int  `json:"max_headers,omitempty"`
	MaxBody        Size `json:"max_body,omitempty"`
}

// Timeouts bound each phase of a connection, and the shutdown.
type Timeouts struct {
	Head  Duration `json:"head,omitempty"`
	Body  Duration `json:"body,omitempty"`
	Write Duration `json:"write,omitempty"`
	Idle  Duration `json:"idle,omitempty"`
	Drain Duration `json:"drain,omitempty"`
	// DrainDelay is how long a shutdown serves on, with /readyz failing,
	// before it stops accepting and closes connections: the time a load
	// balancer takes to notice. 0 (the default) closes at once.
	DrainDelay Duration `json:"drain_delay,omitempty"`
	// Upgrade bounds the wait for a binary upgrade's new process (SIGUSR2)
	// to say it is ready, its apps' workers started; past it the new
	// process is killed and the running one serves on.
	Upgrade Duration `json:"upgrade,omitempty"`
}

// HTTP2 are HTTP/2's limits (docs/http2.md).
type HTTP2 struct {
	MaxStreams      int64    `json:"max_streams,omitempty"`
	MaxHeaderList   Size     `json:"max_header_list,omitempty"`
	MaxFrame        Size     `json:"max_frame,omitempty"`
	StreamWindow    Size     `json:"stream_window,omitempty"`
	ConnWindow      Size     `json:"conn_window,omitempty"`
	FloodRate       int64    `json:"flood_rate,omitempty"`
	SettingsTimeout Duration `json:"settings_timeout,omitempty"`
}

// Log is where nave's logs go (docs/observability.md).
type Log struct {
	Access string `json:"access,omitempty"` // a file, "-" for stdout, or "off"
	// Format is combined, json, or a format string of $variables, as
	// nginx's log_format.
	Format string `json:"format,omitempty"`
	Level  string `json:"level,omitempty"` // debug, info, warn, error
	// RequestID is the header field request ids travel in (taken from
	// trusted proxies, else generated; sent back, passed to apps and
	// upstreams, logged), or "off".
	RequestID string `json:"request_id,omitempty"`
	// Trace is where --trace writes what crosses the wire: "" off, "-"
	// standard error, or a file. TracePath traces only the requests
	// whose path starts with it.
	Trace     string `json:"trace,omitempty"`
	TracePath string `json:"trace_path,omitempty"`
}

// Admin is where nave run serves its admin API (docs/config.md): a Unix
// socket, and optionally a loopback TCP address.
type Admin struct {
	// Socket is the Unix socket's path; "" is admin.sock in nave run's
	// state directory (--state-dir), "off" serves no socket.
	Socket string `json:"socket,omitempty"`
	// Listen is a loopback HOST:PORT to serve the API on as well; "" none.
	// Anyone who can connect to it can reconfigure nave.
	Listen string `json:"listen,omitempty"`
	// Metrics is a HOST:PORT to serve Prometheus metrics on, at /metrics
	// and nothing else (docs/observability.md); "" counts nothing. Not
	// the admin API: a scraper cannot reconfigure nave through it. The
	// figures are not secret, but say much of the traffic.
	Metrics string `json:"metrics,omitempty"`
	// Status is a HOST:PORT to serve the status page on, at / with its
	// JSON at /status (docs/observability.md), read only; "" none. The
	// admin API's sockets serve the page too. The same address as Metrics
	// serves both on one listener.
	Status string `json:"status,omitempty"`
}
