// Package robust proves nave's robustness promises with tests
// that run in CI: a request-smuggling and conformance corpus against the
// live server (RFC 9112 §6.3, §7.1, §11), slowloris clients, running out
// of file descriptors, graceful shutdown under load, and an access log on
// a full or read-only file system. docs/robustness.md lists each
// guarantee with the test that proves it.
//
// The package holds tests only. They drive the real nave binary, built
// once per run, over loopback sockets with raw bytes, and internal/server
// in process where a test must see what reached the handler. The longer
// soak run is test/soak (make soak); fuzz targets live next to the code
// they fuzz (make fuzz).
//
// Hooks for the WSGI half of the issue (worker crashes, SIGHUP reload under
// load, WSGI framing) go here when the gateway lands: startNave takes any
// subcommand's arguments, and the load clients in shutdown_load_test.go
// take any URL set.
package robust
