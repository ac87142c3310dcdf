//go:build !linux

package cli

import "syscall"

// deferAccept does nothing where TCP_DEFER_ACCEPT does not exist.
func deferAccept(network, address string, c syscall.RawConn) error { return nil }
