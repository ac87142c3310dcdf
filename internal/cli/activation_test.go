package cli

import (
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// passedSocket is a listening socket the test opens for nave, as a
// socket unit's ListenStream= line, named as its FileDescriptorName=.
type passedSocket struct {
	name string
	addr string
	file *os.File
}

// openSocket listens on a free loopback port and keeps the socket's
// descriptor for nave; the test's own listener is closed, so that only
// nave accepts.
func openSocket(t *testing.T, name string) passedSocket {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f, err := l.(*net.TCPListener).File()
	l.Close()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return passedSocket{name: name, addr: l.Addr().String(), file: f}
}

// activate starts nave with args as systemd's socket activation does:
// the sockets as descriptors 3 on, LISTEN_FDS and LISTEN_FDNAMES, and
// LISTEN_PID set to nave's own pid (by a shell that execs it, so that
// the pid is known before nave runs), or, with parent, NAVE_LISTEN_PARENT
// set to this test's pid, as a nave handing over in an upgrade does.
func activate(t *testing.T, parent bool, socks []passedSocket, args ...string) *exec.Cmd {
	t.Helper()
	var names []string
	var files []*os.File
	for _, s := range socks {
		names, files = append(names, s.name), append(files, s.file)
	}
	bin := buildNave(t)
	cmd := exec.Command("/bin/sh", append([]string{"-c", `LISTEN_PID=$$ exec "$0" "$@"`, bin}, args...)...)
	env := []string{"LISTEN_FDS=" + strconv.Itoa(len(socks)), "LISTEN_FDNAMES=" + strings.Join(names, ":")}
	if parent {
		cmd = exec.Command(bin, args...)
		env = append(env, "NAVE_LISTEN_PARENT="+strconv.Itoa(os.Getpid()))
	}
	cmd.Env = append(os.Environ(), env...)
	cmd.ExtraFiles = files
	return cmd
}

// waitGet GETs url until it answers, for up to 20 seconds.
func waitGet(t *testing.T, url string) (int, string) {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := client.Get(url)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return resp.StatusCode, string(body)
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %v", url, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

const activatedConfig = `
[listeners.web]
address = "127.0.0.1:1"

[admin]
metrics = "127.0.0.1:2"
listen = "127.0.0.1:3"

[log]
access = "off"

[[sites.main.routes]]
respond = "activated\n"
`

// activatedConfigFile writes activatedConfig to a file for nave run.
func activatedConfigFile(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	file := filepath.Join(t.TempDir(), "nave.toml")
	if err := os.WriteFile(file, []byte(activatedConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// TestBinarySocketActivation: nave run serves on the sockets passed to it,
// each config listener (and the metrics and admin endpoints, which
// answer the probes) taking the socket of
// its name whatever address the file gives; nave serve takes an unnamed
// socket (systemd names it after the unit) by --listen's address, and a
// named one from a parent nave (NAVE_LISTEN_PARENT, an upgrade).
func TestBinarySocketActivation(t *testing.T) {
	file := activatedConfigFile(t)
	{
		web, metrics, admin := openSocket(t, "web"), openSocket(t, "metrics"), openSocket(t, "admin")
		cmd := activate(t, false, []passedSocket{metrics, web, admin}, "run", "--config", file, "--state-dir", shortTempDir(t), "--no-bind")
		startCommand(t, cmd)
		if status, body := waitGet(t, "http://"+web.addr+"/"); status != 200 || body != "activated\n" {
			t.Errorf("web socket answered %d %q", status, body)
		}
		if status, body := waitGet(t, "http://"+metrics.addr+"/metrics"); status != 200 || !strings.Contains(body, "nave_") {
			t.Errorf("metrics socket answered %d %q", status, body)
		}
		for _, probe := range []string{metrics.addr + "/readyz", admin.addr + "/readyz", admin.addr + "/livez"} {
			if status, body := waitGet(t, "http://"+probe); status != 200 || body != "ok\n" {
				t.Errorf("%s answered %d %q", probe, status, body)
			}
		}
	}
	site := t.TempDir()
	os.WriteFile(filepath.Join(site, "index.html"), []byte("files\n"), 0o644)
	for _, parent := range []bool{false, true} {
		name := "nave.socket"
		if parent {
			name = "main" // as a nave hands its sockets over
		}
		unit := openSocket(t, name)
		startCommand(t, activate(t, parent, []passedSocket{unit}, "serve", "--listen", unit.addr, "--no-bind", "--access-log", "off", site))
		if status, body := waitGet(t, "http://"+unit.addr+"/"); status != 200 || body != "files\n" {
			t.Errorf("parent %v: nave serve on socket %s answered %d %q", parent, name, status, body)
		}
	}
}

// TestBinarySocketActivationErrors: a passed socket that no listener takes,
// a listener with no socket under --no-bind, and a passed descriptor that
// is not a listening socket each stop nave at start with a message naming
// them.
func TestBinarySocketActivationErrors(t *testing.T) {
	file := activatedConfigFile(t)
	notSocket, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer notSocket.Close()
	for _, tc := range []struct {
		name  string
		socks []passedSocket
		args  []string
		code  int
		want  []string
	}{
		{"unmatched", []passedSocket{openSocket(t, "web"), openSocket(t, "metrics"), openSocket(t, "admin"), openSocket(t, "extra")},
			[]string{"run", "--config", file}, 2, []string{`passed sockets match no listener: "extra" (tcp 127.0.0.1:`, "FileDescriptorName="}},
		{"no_socket", []passedSocket{openSocket(t, "web")},
			[]string{"run", "--config", file, "--no-bind"}, 2, []string{"admin.listen: no socket was passed for admin (127.0.0.1:3), and --no-bind forbids opening one: add ListenStream=127.0.0.1:3 to the socket unit"}},
		{"shorthand_unmatched", []passedSocket{openSocket(t, "nave.socket")},
			[]string{"serve", "--listen", "127.0.0.1:0"}, 2, []string{`nave serve: passed sockets match no listener: "nave.socket"`}},
		{"shorthand_no_socket", nil,
			[]string{"serve", "--no-bind"}, 2, []string{"nave serve: no socket was passed for main (127.0.0.1:8000)"}},
		{"not_a_socket", []passedSocket{{name: "web", file: notSocket}},
			[]string{"run", "--config", file}, 1, []string{"descriptor 3 (web) is not a socket"}},
	} {
		cmd := activate(t, false, tc.socks, append(tc.args, "--state-dir", shortTempDir(t))...)
		if tc.args[0] != "run" {
			cmd = activate(t, false, tc.socks, tc.args...)
		}
		out, err := cmd.CombinedOutput()
		code := -1
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		for _, w := range tc.want {
			if !strings.Contains(string(out), w) {
				t.Errorf("%s: output %q, want %q", tc.name, out, w)
			}
		}
		if code != tc.code {
			t.Errorf("%s: exit code %d, want %d; output %q", tc.name, code, tc.code, out)
		}
	}
}
