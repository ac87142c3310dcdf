// Package admin is nave run's admin API: the running config as JSON,
// read and changed by path, whole configs loaded, and a status report.
//
//	GET    /config[/PATH]   the config, or the part at PATH ("sites/api/routes/2")
//	PUT    /config[/PATH]   replace (or create) the part at PATH with the body
//	PATCH  /config[/PATH]   merge the body into the part at PATH (JSON merge patch, RFC 7396)
//	DELETE /config/PATH     remove the part at PATH
//	POST   /load            apply a whole config, JSON or TOML
//	POST   /reload          re-read the config file, or the file named in the body
//	GET    /status          listeners, connections, requests, apps and workers,
//	                        traffic and its history (docs/observability.md)
//	GET    /                the status page, when Config.Page is set
//	GET    /metrics         the Prometheus exposition (Config.Metrics), as on admin.metrics
//	POST   /apps/NAME/restart   the app's workers started again with new code, new ones
//	                            first (and Unit's GET /control/applications/NAME/restart)
//
// Every change is validated whole before anything applies (400 with every
// problem and its field path) and applied atomically by the caller's
// Update; a config that validates but cannot be applied (an address in
// use, an app that does not import) is 422, and the running config serves
// on. The config has an ETag (RFC 9110 §8.8.3), sent on every GET and
// after every change; a change with If-Match that does not name it is 412
// (§13.1.1), so that two editors do not overwrite each other. Responses
// are JSON.
//
// It serves web.Handler and imports config, web and the standard library.
package admin
