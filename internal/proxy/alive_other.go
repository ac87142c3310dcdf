//go:build !linux

package proxy

// alive cannot peek without Linux's MSG_DONTWAIT; a connection the server
// closed is found when a request fails on it, and retried where safe.
func (c *conn) alive() bool { return true }

func (c *conn) peek(fd uintptr) bool { return true }
