// Package config is nave's configuration model: one typed tree of
// listeners, sites and their ordered routes, apps, upstreams, and the
// server-wide limits, timeouts and logs; parsed from TOML (the file people
// write) or JSON (the same model, for the admin API to come), completed
// with defaults in one place (Complete), and validated in full (Validate):
// every problem at once, each with its field path
// ("sites.api.routes[2].root") and, from TOML, its line.
//
// Every named thing (a listener, a site, an app, an upstream; a route by
// its optional name) is keyed by a name the user chose, so that two
// configs can be compared part by part: the reload to come keeps what did
// not change.
//
// It imports the packages whose defaults it fills in (http1, http2,
// server, static, wsgi) for their constants only, and builds nothing:
// internal/cli turns a Config into listeners, route tables and handlers.
package config
