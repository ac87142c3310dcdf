package systemd

import (
	"fmt"
	"net"
	"os"
	"strconv"
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

// Reloading tells the service manager that a reload has begun
// (sd_notify(3): RELOADING=1, with the CLOCK_MONOTONIC time that
// Type=notify-reload services must send); Notify("READY=1") says it ended.
func Reloading() (bool, error) {
	state := "RELOADING=1"
	if usec, ok := monotonicUsec(); ok {
		state += "\nMONOTONIC_USEC=" + strconv.FormatInt(usec, 10)
	}
	return Notify(state)
}

// NotifyEnv names the variable by which a nave handing over in a binary
// upgrade passes on the service manager's NOTIFY_SOCKET ("" for none),
// while NOTIFY_SOCKET names its own socket for the new process's READY=1.
const NotifyEnv = "NAVE_NOTIFY_SOCKET"

// Ready says READY=1. After an upgrade's hand-over it then makes the
// service manager's socket (NotifyEnv) the one later notifications go to:
// the old process has told the manager that this one is the main process
// (MAINPID=), so RELOADING=1 and STOPPING=1 are this one's to send.
func Ready() (bool, error) {
	ok, err := Notify("READY=1")
	if v, set := os.LookupEnv(NotifyEnv); set {
		os.Unsetenv(NotifyEnv)
		if v == "" {
			os.Unsetenv("NOTIFY_SOCKET")
		} else {
			os.Setenv("NOTIFY_SOCKET", v)
		}
	}
	return ok, err
}
