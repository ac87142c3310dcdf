package cli

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"nave/internal/acme/pebbletest"
	"nave/internal/config"
)

// unixClient is an HTTP client whose every connection is to the Unix
// socket at path.
func unixClient(path string) *http.Client {
	return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", path)
	}}}
}

var unixServingLine = regexp.MustCompile(`on unix:(\S+) \(http through the socket`)

// TestBinaryListenUnix: nave serve --listen unix:PATH serves on a Unix
// socket anyone may connect to, replacing the file a process that is gone
// left there; a second nave on the same path, or a path that is another
// kind of file, is an error naming it; the file is gone once nave exits.
func TestBinaryListenUnix(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildNave(t)
	dir := shortTempDir(t)
	sock := filepath.Join(dir, "http.sock")
	stale, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	stale.SetUnlinkOnClose(false)
	stale.Close() // its file stays, with no one listening

	cmd := exec.Command(bin, "serve", "--listen", "unix:"+sock, "--access-log", "off")
	stdout, stderr := startCommand(t, cmd)
	if got := servingAddr(t, stdout, stderr, unixServingLine); got != sock {
		t.Fatalf("serving on %q, want %q", got, sock)
	}
	resp, err := unixClient(sock).Get("http://localhost/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "nave is running") {
		t.Errorf("GET / through the socket: %d %.80q", resp.StatusCode, body)
	}
	if info, err := os.Lstat(sock); err != nil || info.Mode().Type() != fs.ModeSocket || info.Mode().Perm() != 0o666 {
		t.Errorf("the socket file: %v %v, want a socket with mode 0666", info, err)
	}

	plain := filepath.Join(dir, "plain")
	os.WriteFile(plain, []byte("x"), 0o644)
	for _, tt := range []struct{ path, want string }{
		{sock, sock + " is in use: another server listens there"},
		{plain, plain + " exists and is not a socket"},
		{"relative.sock", `"unix:relative.sock": a Unix socket's path must be absolute`},
		{"", `"unix:": a Unix socket's path must be absolute`},
		{"/tmp/" + strings.Repeat("s", 110), "a Unix socket's is at most 107"},
	} {
		var stderr strings.Builder
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		c := exec.CommandContext(ctx, bin, "serve", "--listen", "unix:"+tt.path)
		c.Dir = dir
		c.Stderr = &stderr
		if err := c.Run(); exitCodeOf(err) != 2 || !strings.Contains(stderr.String(), tt.want) {
			t.Errorf("--listen unix:%s: %v, stderr %q; want exit 2 and %q", tt.path, err, stderr.String(), tt.want)
		}
	}

	cmd.Process.Signal(syscall.SIGTERM)
	waitExit(t, cmd)
	if _, err := os.Lstat(sock); !os.IsNotExist(err) {
		t.Errorf("the socket file after nave exited: %v, want it gone", err)
	}
}

// TestBinaryASGIBehindNginxUnix: nginx in front passes requests to nave
// asgi over a Unix socket (proxy_pass http://unix:PATH:); with
// --trusted-proxies unix, the Starlette app sees the client nginx names
// in X-Forwarded-For and the https nginx says in X-Forwarded-Proto.
func TestBinaryASGIBehindNginxUnix(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs Python workers and nginx")
	}
	nginx := lookTool(t, "nginx", "nginx")
	needPython(t)
	app := writeApp(t, "sapp.py", forwardedStarletteApp)
	dir := shortTempDir(t)
	sock := filepath.Join(dir, "app.sock")
	cmd := exec.Command(buildNave(t), "asgi", "--listen", "unix:"+sock, "--trusted-proxies", "unix", "--python", testPython,
		"--chdir", app, "--workers", "1", "--access-log", "off", "sapp:app")
	stdout, stderr := startCommand(t, cmd)
	servingAddr(t, stdout, stderr, unixServingLine)

	port := strconv.Itoa(pebbletest.FreePort(t))
	conf := filepath.Join(dir, "nginx.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf(`daemon off;
master_process off;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log;
events {}
http {
    access_log off;
    client_body_temp_path %[1]s/body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
    server {
        listen 127.0.0.1:%[2]s;
        location / {
            proxy_pass http://unix:%[3]s:;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto https;
        }
    }
}
`, dir, port, sock)), 0o644)
	ng := exec.Command(nginx, "-p", dir, "-c", conf)
	var ngErr strings.Builder
	ng.Stderr = &ngErr
	if err := ng.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ng.Process.Kill()
		ng.Wait()
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Logf("nginx: %s%s", ngErr.String(), log)
		}
	})
	var body string
	waitFor(t, "nginx answering", func() bool {
		c, err := net.Dial("tcp", "127.0.0.1:"+port)
		if err != nil {
			return false
		}
		c.Close()
		got := exchange(t, "127.0.0.1:"+port, "GET /who HTTP/1.1\r\nHost: site.example\r\nX-Forwarded-For: 192.0.2.7\r\nConnection: close\r\n\r\n")
		_, body, _ = strings.Cut(got, "\r\n\r\n")
		return strings.HasPrefix(got, "HTTP/1.1 200 ")
	})
	// nginx appended the address it took the request from, which is no
	// trusted proxy of nave's: the client is that one, not the one the
	// request claimed.
	if want := "127.0.0.1 - https://site.example/who"; body != want {
		t.Errorf("the app saw %q, want %q", body, want)
	}
}

// TestBinarySocketActivationUnix: nave serve --listen unix:PATH takes a
// Unix socket systemd passes (ListenStream=PATH) and leaves its file to
// systemd at exit; one a nave handed over in an upgrade is this nave's,
// and its file goes when it exits.
func TestBinarySocketActivationUnix(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	for _, parent := range []bool{false, true} {
		sock := filepath.Join(shortTempDir(t), "http.sock")
		l, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
		if err != nil {
			t.Fatal(err)
		}
		l.SetUnlinkOnClose(false)
		f, err := l.File()
		l.Close()
		if err != nil {
			t.Fatal(err)
		}
		name := "nave.socket"
		if parent {
			name = "main"
		}
		cmd := activate(t, parent, []passedSocket{{name: name, addr: sock, file: f}}, "serve", "--listen", "unix:"+sock, "--no-bind", "--access-log", "off")
		stdout, stderr := startCommand(t, cmd)
		f.Close()
		servingAddr(t, stdout, stderr, unixServingLine)
		if resp, err := unixClient(sock).Get("http://localhost/"); err != nil || resp.StatusCode != 200 {
			t.Fatalf("parent %v: GET through the passed socket: %v %v", parent, resp, err)
		} else {
			resp.Body.Close()
		}
		cmd.Process.Signal(syscall.SIGTERM)
		waitExit(t, cmd)
		_, err = os.Lstat(sock)
		if kept := err == nil; kept == parent {
			t.Errorf("parent %v: after nave exited the socket file is there: %v; want it there only when systemd passed it", parent, kept)
		}
	}
}

// TestApplyUnixListener: a live change to a listener on a Unix socket
// that starts a new server on it (its protocols) keeps the socket file,
// and the new server answers through it; a change that drops the
// listener removes the file.
func TestApplyUnixListener(t *testing.T) {
	dir := shortTempDir(t)
	sock := filepath.Join(dir, "a.sock")
	parse := func(listener, protocols, respond string) *config.Config {
		t.Helper()
		c, err := config.Parse([]byte(fmt.Sprintf(`
[listeners.%s]
address = %q
protocols = %s
[log]
access = "off"
[timeouts]
drain = "100ms"
[sites.main]
[[sites.main.routes]]
respond = %q
`, listener, map[string]string{"a": "unix:" + sock, "b": "127.0.0.1:0"}[listener], protocols, respond)), config.TOML, dir)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	get := func() string {
		t.Helper()
		resp, err := unixClient(sock).Get("http://localhost/")
		if err != nil {
			t.Fatalf("GET through %s: %v", sock, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return string(body)
	}
	b := startLive(t, parse("a", `["h1", "h2c"]`, "one"))
	if got := get(); got != "one" {
		t.Fatalf("got %q, want one", got)
	}
	first, _ := b.listeners.Running("a")
	if err := b.apply(parse("a", `["h1"]`, "two")); err != nil {
		t.Fatal(err)
	}
	if next, _ := b.listeners.Running("a"); next == first {
		t.Fatal("a change of the listener's protocols kept its server")
	}
	if got := get(); got != "two" {
		t.Errorf("after a change of the listener's protocols: got %q, want two from its new server", got)
	}
	if err := b.apply(parse("b", `["h1"]`, "three")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(sock); !os.IsNotExist(err) {
		t.Errorf("the listener is gone, its socket file: %v; want it removed", err)
	}
}
