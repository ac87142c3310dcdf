package cli

import (
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"nave/internal/acme/pebbletest"
)

// TestBinaryACMEFleet: three nave processes sharing one state folder ask a
// real ACME CA (Pebble) for the same name at once. Exactly one order
// reaches the CA, and all three serve the one certificate it issued. The
// CA's validation connections are sent, as a load balancer might, to an
// instance that is not the one ordering: it answers from the challenge the
// orderer shared in the folder.
func TestBinaryACMEFleet(t *testing.T) {
	const name = "www.fleet.test"
	lb := listenLoopback(t)
	ca := pebbletest.Start(t, pebbletest.Options{TLSPort: lb.Addr().(*net.TCPAddr).Port})
	shared := t.TempDir()

	// The test holds the name's lock while the three start, so that all
	// three wait for it and race when it is let go.
	caDir := strings.NewReplacer(":", "-", "/", "-").Replace(strings.TrimPrefix(ca.DirURL, "https://"))
	lockPath := filepath.Join(shared, "acme", caDir, "locks", "certs", name+".lock")
	release := holdLock(t, lockPath)

	addrs := map[int]string{} // pid → HTTPS address
	var pids []int
	for range 3 {
		addr, _, _, cmd := startTLSCommand(t, shared, "serve", "--access-log", "off", "--listen", "127.0.0.1:0",
			"--domain", name, "--acme-ca", ca.DirURL, "--acme-ca-root", ca.RootsFile,
			"--acme-challenges", "tls-alpn-01")
		addrs[cmd.Process.Pid] = addr
		pids = append(pids, cmd.Process.Pid)
	}
	routed := forwardToNonHolder(t, lb, lockPath, pids, addrs)
	release()

	roots := ca.IssuerRoots(t)
	var serial string
	for _, pid := range pids {
		leaf := waitForCert(t, addrs[pid], name, roots)
		if serial == "" {
			serial = leaf.SerialNumber.String()
		} else if got := leaf.SerialNumber.String(); got != serial {
			t.Errorf("nave pid %d serves serial %s, another serves %s: the fleet got two certificates", pid, got, serial)
		}
	}
	if got := ca.Orders(t); got != 1 {
		t.Errorf("the CA got %d orders for %s, want 1 for the fleet", got, name)
	}
	if r := routed(); len(r) == 0 {
		t.Error("no validation connection reached the fleet")
	} else {
		t.Logf("validations answered by non-ordering instances: %v", r)
	}
}

// listenLoopback listens on a free loopback port until the test ends.
func listenLoopback(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// holdLock takes the flock(2) nave's ACME storage uses on path and
// returns the func that lets it go.
func holdLock(t *testing.T, path string) func() {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	release := sync.OnceFunc(func() { f.Close() })
	t.Cleanup(release)
	return release
}

// forwardToNonHolder accepts the CA's validation connections on lb and
// relays each to an instance other than the one whose pid is in the lock
// file (the one ordering). It returns a func listing the pids that got one.
func forwardToNonHolder(t *testing.T, lb net.Listener, lockPath string, pids []int, addrs map[int]string) func() []int {
	var mu sync.Mutex
	var routed []int
	go func() {
		for {
			c, err := lb.Accept()
			if err != nil {
				return
			}
			data, _ := os.ReadFile(lockPath)
			holder, _ := strconv.Atoi(strings.TrimSpace(string(data)))
			to := pids[0]
			for _, pid := range pids {
				if pid != holder {
					to = pid
					break
				}
			}
			mu.Lock()
			routed = append(routed, to)
			mu.Unlock()
			go relay(c, addrs[to])
		}
	}()
	return func() []int {
		mu.Lock()
		defer mu.Unlock()
		return append([]int(nil), routed...)
	}
}

// relay copies between c and a new connection to addr until either side
// closes, for at most ten seconds.
func relay(c net.Conn, addr string) {
	defer c.Close()
	up, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return
	}
	defer up.Close()
	deadline := time.Now().Add(10 * time.Second)
	c.SetDeadline(deadline)
	up.SetDeadline(deadline)
	go func() { io.Copy(up, c); up.(*net.TCPConn).CloseWrite() }()
	io.Copy(c, up)
}
