// Package workers supervises the child processes nave's gateways run
// (WSGI today, ASGI next): it starts a process with the descriptors the
// gateway hands it, logs its output line by line with its id once it is
// ready and keeps what it printed before (the traceback of an app that
// failed to import), reaps it, kills it at most once, and paces restarts
// with a capped back-off.
//
// What the processes speak, how requests reach them, and when to recycle
// or replace them is the gateway's: this package knows nothing of HTTP,
// WSGI or ASGI. It imports only the standard library.
package workers
