// Package systemd speaks the two small protocols by which systemd (and
// anything that imitates it) starts nave: socket activation, where the
// listening sockets are opened by the service manager and handed over as
// descriptors from 3 on (sd_listen_fds(3): LISTEN_PID, LISTEN_FDS,
// LISTEN_FDNAMES), and readiness notification, where nave says READY=1,
// RELOADING=1 or STOPPING=1 on the datagram socket named by NOTIFY_SOCKET
// (sd_notify(3)). nave's own binary upgrade hands its listeners to the new
// process the same way, so one code path takes sockets from either.
//
// It imports the standard library only.
package systemd
