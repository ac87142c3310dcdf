package systemd

import (
	"fmt"
	"net"
	"os"
)

// Notify sends state (as "READY=1", "RELOADING=1\nMONOTONIC_USEC=…",
// "STOPPING=1", "STATUS=…") to the service manager. It reports false when
// there is none to tell (NOTIFY_SOCKET unset), which is not an error.
func Notify(state string) (bool, error) {
	addr := os.Getenv("NOTIFY_SOCKET")
	if addr == "" {
		return false, nil
	}
	if addr[0] == '@' {
		addr = "\x00" + addr[1:] // an abstract socket
	} else if addr[0] != '/' {
		return false, fmt.Errorf("systemd: NOTIFY_SOCKET=%q is neither a path nor an abstract socket", addr)
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		return false, fmt.Errorf("systemd: notify: %w", err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(state)); err != nil {
		return false, fmt.Errorf("systemd: notify: %w", err)
	}
	return true, nil
}
