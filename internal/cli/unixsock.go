package cli

import (
	"fmt"
	"io/fs"
	"net"
	"os"
	"time"
)

// listenUnix listens on a Unix socket at path and gives its file mode: a
// socket left by a process that is gone is replaced; one that answers is
// in use, which inUse explains.
func listenUnix(path string, mode os.FileMode, inUse string) (*net.UnixListener, error) {
	if info, err := os.Lstat(path); err == nil {
		if info.Mode().Type() != fs.ModeSocket {
			return nil, fmt.Errorf("%s exists and is not a socket", path)
		}
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("%s is in use: %s", path, inUse)
		}
		os.Remove(path) // left by a process that is gone
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("cannot listen on %s: %v", path, listenReason(err))
	}
	if err := os.Chmod(path, mode); err != nil {
		ln.Close()
		return nil, err
	}
	return ln, nil
}

// listenHTTPUnix opens a listener's Unix socket. Anyone on the machine
// may connect (mode 0666, as uvicorn's --uds makes it): a proxy in front
// runs as another user; the folder's permissions restrict who reaches it.
// The file outlives the socket's closing: a live reconfiguration passes
// the socket from one server to the next, and an upgrade to the next
// nave; built.removeSocketFile takes it away when no one serves on it.
func listenHTTPUnix(path string) (net.Listener, error) {
	ln, err := listenUnix(path, 0o666, "another server listens there")
	if err != nil {
		return nil, usagef("%v", err)
	}
	ln.SetUnlinkOnClose(false)
	return ln, nil
}
