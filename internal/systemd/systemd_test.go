package systemd

import (
	"bufio"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestMain doubles as the activated process: with NAVE_SYSTEMD_CHILD set
// it takes its sockets as nave would and answers each first connection
// with the socket's name.
func TestMain(m *testing.M) {
	if os.Getenv("NAVE_SYSTEMD_CHILD") == "" {
		os.Exit(m.Run())
	}
	ls, err := Listeners()
	if err != nil {
		os.Stdout.WriteString("error: " + err.Error() + "\n")
		os.Exit(0)
	}
	var names []string
	for _, l := range ls {
		names = append(names, l.Name)
	}
	os.Stdout.WriteString(strings.Join(names, ",") + "|" + os.Getenv("LISTEN_FDS") + os.Getenv("LISTEN_PID") + "\n")
	for _, l := range ls {
		c, err := l.Accept()
		if err != nil {
			os.Exit(1)
		}
		c.Write([]byte(l.Name))
		c.Close()
	}
	os.Exit(0)
}

// activate starts this test binary as systemd would, with files as
// descriptors 3 on, and returns the first line it prints.
func activate(t *testing.T, names string, files ...*os.File) (string, *exec.Cmd) {
	t.Helper()
	// LISTEN_PID must be the activated process's own: the shell's $$
	// survives its exec.
	cmd := exec.Command("/bin/sh", "-c", `LISTEN_PID=$$ exec "$0"`, os.Args[0])
	cmd.Env = append(os.Environ(), "NAVE_SYSTEMD_CHILD=1", "LISTEN_FDS="+strconv.Itoa(len(files)), "LISTEN_FDNAMES="+names)
	cmd.ExtraFiles = files
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("the activated process printed nothing: %v", err)
	}
	return strings.TrimSpace(line), cmd
}

func tcpListener(t *testing.T) (*net.TCPListener, *os.File) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	f, err := l.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return l.(*net.TCPListener), f
}

// TestListeners: the passed sockets come back in order with their names,
// serve connections in the activated process, and the variables are gone
// from its environment.
func TestListeners(t *testing.T) {
	web, webF := tcpListener(t)
	admin, adminF := tcpListener(t)
	line, _ := activate(t, "web:admin", webF, adminF)
	if line != "web,admin|" {
		t.Fatalf("activated process: %q, want the names web,admin and no LISTEN_ variables left", line)
	}
	for _, tc := range []struct {
		l    net.Listener
		name string
	}{{web, "web"}, {admin, "admin"}} {
		c, err := net.DialTimeout("tcp", tc.l.Addr().String(), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		got, _ := io.ReadAll(c)
		c.Close()
		if string(got) != tc.name {
			t.Errorf("%s socket answered %q", tc.name, got)
		}
	}
}

// TestListenersRefuseDatagram: a passed socket nave cannot serve on is an
// error that names it.
func TestListenersRefuseDatagram(t *testing.T) {
	_, webF := tcpListener(t)
	u, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	uf, err := u.(*net.UDPConn).File()
	if err != nil {
		t.Fatal(err)
	}
	defer uf.Close()
	line, _ := activate(t, "web:dns", webF, uf)
	if !strings.HasPrefix(line, "error: ") || !strings.Contains(line, "descriptor 4 (dns)") || !strings.Contains(line, "not a listening stream socket") {
		t.Errorf("activated process: %q, want an error naming descriptor 4 (dns)", line)
	}
}

// TestListenersForAnother: variables meant for another process (a parent
// that did not unset them) are ignored, and unset.
func TestListenersForAnother(t *testing.T) {
	t.Setenv("LISTEN_PID", "1")
	t.Setenv("LISTEN_FDS", "2")
	ls, err := Listeners()
	if err != nil || ls != nil {
		t.Fatalf("Listeners() = %v, %v; want none", ls, err)
	}
	if _, ok := os.LookupEnv("LISTEN_FDS"); ok {
		t.Error("LISTEN_FDS left set")
	}
	t.Setenv("LISTEN_PID", strconv.Itoa(os.Getpid()))
	t.Setenv("LISTEN_FDS", "two")
	if _, err := Listeners(); err == nil || !strings.Contains(err.Error(), `LISTEN_FDS="two"`) {
		t.Errorf("LISTEN_FDS=two: %v, want an error naming it", err)
	}
}

// TestNotify: the state reaches the socket NOTIFY_SOCKET names, path or
// abstract; without one there is no one to tell.
func TestNotify(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	if ok, err := Notify("READY=1"); ok || err != nil {
		t.Fatalf("without NOTIFY_SOCKET: %v, %v", ok, err)
	}
	for _, addr := range []string{filepath.Join(t.TempDir(), "notify"), "@nave-test-notify-" + strconv.Itoa(os.Getpid())} {
		name := addr
		if addr[0] == '@' {
			name = "\x00" + addr[1:]
		}
		c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
		if err != nil {
			t.Fatal(err)
		}
		t.Setenv("NOTIFY_SOCKET", addr)
		if ok, err := Notify("READY=1\nSTATUS=serving"); !ok || err != nil {
			t.Fatalf("%s: %v, %v", addr, ok, err)
		}
		buf := make([]byte, 100)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := c.Read(buf)
		c.Close()
		if err != nil || string(buf[:n]) != "READY=1\nSTATUS=serving" {
			t.Errorf("%s got %q, %v", addr, buf[:n], err)
		}
	}
	t.Setenv("NOTIFY_SOCKET", "relative")
	if _, err := Notify("READY=1"); err == nil {
		t.Error("a relative NOTIFY_SOCKET was accepted")
	}
}

// TestReloading: RELOADING=1 carries the monotonic clock, which counts
// from boot as /proc/uptime does (without the time suspended).
func TestReloading(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "notify")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	t.Setenv("NOTIFY_SOCKET", sock)
	if ok, err := Reloading(); !ok || err != nil {
		t.Fatalf("%v, %v", ok, err)
	}
	buf := make([]byte, 100)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, _ := c.Read(buf)
	state, usec, _ := strings.Cut(string(buf[:n]), "\nMONOTONIC_USEC=")
	got, err := strconv.ParseInt(usec, 10, 64)
	if state != "RELOADING=1" || err != nil || got <= 0 {
		t.Fatalf("got %q", buf[:n])
	}
	if up, err := os.ReadFile("/proc/uptime"); err == nil {
		secs, _, _ := strings.Cut(string(up), ".")
		if n, _ := strconv.ParseInt(secs, 10, 64); got/1e6 > n+5 {
			t.Errorf("MONOTONIC_USEC %d is past the uptime, %ds", got, n)
		}
	}
}

// TestReadyAfterHandover: a process started by an upgrade says READY=1 on
// the old process's socket, and from then on notifies the service
// manager's, which NAVE_NOTIFY_SOCKET named.
func TestReadyAfterHandover(t *testing.T) {
	dir := t.TempDir()
	listen := func(name string) *net.UnixConn {
		c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: filepath.Join(dir, name), Net: "unixgram"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	old, manager := listen("old"), listen("manager")
	read := func(c *net.UnixConn) string {
		buf := make([]byte, 100)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, _ := c.Read(buf)
		return string(buf[:n])
	}
	t.Setenv("NOTIFY_SOCKET", filepath.Join(dir, "old"))
	t.Setenv(NotifyEnv, filepath.Join(dir, "manager"))
	if ok, err := Ready(); !ok || err != nil {
		t.Fatalf("Ready: %v, %v", ok, err)
	}
	if got := read(old); got != "READY=1" {
		t.Errorf("the old process got %q", got)
	}
	Notify("STOPPING=1")
	if got := read(manager); got != "STOPPING=1" {
		t.Errorf("the service manager got %q", got)
	}
	if _, set := os.LookupEnv(NotifyEnv); set {
		t.Errorf("%s left set", NotifyEnv)
	}
	t.Setenv(NotifyEnv, "") // no service manager: nothing to tell later
	Ready()
	if ok, _ := Notify("STOPPING=1"); ok {
		t.Error("a notification went out with no service manager")
	}
}
