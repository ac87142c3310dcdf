package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

const adminSite = `
[listeners.main]
address = "127.0.0.1:0"

[log]
access = "off"

[sites.s]
[[sites.s.routes]]
match = { path = "/gen" }
respond = "%s"
[[sites.s.routes]]
root = "www"
`

// adminClient speaks to the admin API on its Unix socket.
type adminClient struct {
	t    *testing.T
	http *http.Client
}

func newAdminClient(t *testing.T, socket string) *adminClient {
	return &adminClient{t: t, http: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
	}}}
}

// do sends a request and returns the status, the ETag and the body.
func (a *adminClient) do(method, path, body string, header ...string) (int, string, string) {
	a.t.Helper()
	req, _ := http.NewRequest(method, "http://nave"+path, strings.NewReader(body))
	for i := 0; i < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := a.http.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" && !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		a.t.Errorf("%s %s: Content-Type %q", method, path, ct)
	}
	return resp.StatusCode, resp.Header.Get("ETag"), string(data)
}

// notifications listens as systemd's notify socket would.
func notifications(t *testing.T, dir string) (string, <-chan string) {
	sock := filepath.Join(dir, "notify")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	states := make(chan string, 100)
	go func() {
		buf := make([]byte, 1024)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			states <- string(buf[:n])
		}
	}()
	return sock, states
}

func expectState(t *testing.T, states <-chan string, prefix string) {
	t.Helper()
	select {
	case s := <-states:
		if !strings.HasPrefix(s, prefix) {
			t.Errorf("systemd was told %q, want %q", s, prefix)
		}
	case <-time.After(10 * time.Second):
		t.Errorf("systemd was not told %q", prefix)
	}
}

// TestBinaryAdmin: nave run serves the admin API on a socket only its user
// can use; GET, PUT, PATCH, DELETE and POST /load change what the data
// listener serves, with ETags and If-Match; a change with problems is 400
// with every field path and changes nothing; SIGHUP and nave reload read
// the file again (telling systemd), and a bad file leaves the running
// config serving.
func TestBinaryAdmin(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "www"), 0o755)
	os.WriteFile(filepath.Join(dir, "www", "index.html"), []byte("ok\n"), 0o644)
	file := filepath.Join(dir, "nave.toml")
	write := func(name, respond string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(strings.Replace(adminSite, "%s", respond, 1)), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("nave.toml", "from the file")
	state := filepath.Join(shortTempDir(t), "state")
	notify, states := notifications(t, dir)
	bin := buildNave(t)
	cmd := exec.Command(bin, "run", "--config", file, "--state-dir", state)
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+notify)
	stdout, stderr := startCommand(t, cmd)
	br := bufio.NewReader(stdout)
	line, _ := br.ReadString('\n')
	m := listeningLine.FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("first line %q; stderr %q", line, stderr.String())
	}
	addr := m[1]
	socket := filepath.Join(state, AdminSocketName)
	if line, _ := br.ReadString('\n'); line != "Admin API on unix:"+socket+"\n" {
		t.Errorf("second line %q", line)
	}
	go io.Copy(io.Discard, br)
	expectState(t, states, "READY=1")

	info, err := os.Stat(socket)
	if err != nil || info.Mode().Type() != fs.ModeSocket || info.Mode().Perm() != 0o600 {
		t.Fatalf("the admin socket: %v, %v; want a socket with mode 0600", info.Mode(), err)
	}
	if info, _ := os.Stat(state); info.Mode().Perm() != 0o700 {
		t.Errorf("the state directory's mode: %v, want 0700", info.Mode().Perm())
	}
	api := newAdminClient(t, socket)
	served := func() string { return mustGet(t, addr, "/gen") }

	status, etag, body := api.do("GET", "/config/sites/s/routes/0/respond", "")
	if status != 200 || body != "\"from the file\"\n" || !regexp.MustCompile(`^"[0-9a-f]{24}"$`).MatchString(etag) {
		t.Fatalf("GET: %d %q %q", status, etag, body)
	}
	status, etag2, body := api.do("PUT", "/config/sites/s/routes/0/respond", `"from PUT"`, "If-Match", etag)
	if status != 200 || etag2 == etag || served() != "from PUT" {
		t.Fatalf("PUT: %d %q %q; serves %q", status, etag2, body, served())
	}
	if status, _, body := api.do("PATCH", "/config/sites/s/routes/0", `{"respond": "stale"}`, "If-Match", etag); status != 412 || served() != "from PUT" {
		t.Errorf("PATCH with the old ETag: %d %s; serves %q", status, body, served())
	}
	status, _, body = api.do("PATCH", "/config", `{"sites": {"s": {"routes": [{"root": "nope", "match": {"path": "/x/"}}, {"respond": 5}]}}, "limits": {"max_body": -1}}`)
	var problems struct {
		Problems []struct{ Path string }
	}
	json.Unmarshal([]byte(body), &problems)
	var paths []string
	for _, p := range problems.Problems {
		paths = append(paths, p.Path)
	}
	if want := "limits.max_body sites.s.routes[0].root sites.s.routes[1].respond"; status != 400 || strings.Join(paths, " ") != want {
		t.Errorf("an invalid PATCH: %d, problems at %q, want 400 and %q\n%s", status, paths, want, body)
	}
	if status, _, _ := api.do("PATCH", "/config/sites/s/routes/0", `{"respond": "from PATCH"}`, "If-Match", etag2); status != 200 || served() != "from PATCH" {
		t.Errorf("PATCH: %d; serves %q", status, served())
	}
	if status, _, _ := api.do("DELETE", "/config/sites/s/routes/0", ""); status != 200 || mustGet(t, addr, "/index.html") != "ok\n" {
		t.Errorf("DELETE: %d", status)
	}
	if status, _, body := api.do("POST", "/load", strings.Replace(adminSite, "%s", "from load", 1), "Content-Type", "application/toml"); status != 200 || served() != "from load" {
		t.Errorf("POST /load: %d %s; serves %q", status, body, served())
	}
	var st struct {
		Config    statusConfig
		Listeners map[string]listenerStatus
	}
	status, _, body = api.do("GET", "/status", "")
	if json.Unmarshal([]byte(body), &st); status != 200 || st.Listeners["main"].Requests < 5 || st.Config.File != file || st.Config.Applied != 5 {
		t.Errorf("GET /status: %d %s", status, body)
	}

	// SIGHUP reads the file: the API's changes give way to it.
	write("nave.toml", "from SIGHUP")
	cmd.Process.Signal(syscall.SIGHUP)
	expectState(t, states, "RELOADING=1\nMONOTONIC_USEC=")
	expectState(t, states, "READY=1")
	if got := served(); got != "from SIGHUP" {
		t.Errorf("after SIGHUP: %q", got)
	}
	os.WriteFile(file, []byte("[sites.s]\n[[sites.s.routes]]\nroot = \"nope\"\n"), 0o644)
	cmd.Process.Signal(syscall.SIGHUP)
	expectState(t, states, "RELOADING=1")
	expectState(t, states, "READY=1")
	if got := served(); got != "from SIGHUP" || !strings.Contains(stderr.String(), "reload refused; the running config serves on") {
		t.Errorf("after a bad file and SIGHUP: %q", got)
	}

	// nave reload, with a file of its own, and with problems.
	other := write("other.toml", "from nave reload")
	code, out, errOut := runCommand(bin, "reload", "--config", other, "--state-dir", state)
	if code != 0 || out != "nave reload: applied\n" || served() != "from nave reload" {
		t.Errorf("nave reload: %d %q %q; serves %q", code, out, errOut, served())
	}
	os.WriteFile(other, []byte("[sites.s]\n[[sites.s.routes]]\nroot = \"nope\"\n"), 0o644)
	code, _, errOut = runCommand(bin, "reload", "--state-dir", state)
	if want := "config:3: sites.s.routes[0].root: folder does not exist\n"; code != 2 || !strings.HasSuffix(errOut, want) {
		t.Errorf("nave reload of a bad file: %d %q", code, errOut)
	}
	if code, _, errOut := runCommand(bin, "reload", "--state-dir", t.TempDir()); code != 1 || !strings.Contains(errOut, "cannot reach nave at ") {
		t.Errorf("nave reload with no nave: %d %q", code, errOut)
	}
	if got := served(); got != "from nave reload" {
		t.Errorf("at the end: %q", got)
	}

	// The admin socket serves /metrics too: every change above counted,
	// by result (the 412, the invalid PATCH and the two bad files failed).
	status, _, body = api.do("GET", "/metrics", "")
	for _, want := range []string{`nave_config_reloads_total{result="success"} 6`, `nave_config_reloads_total{result="failure"} 4`, `nave_http_requests_total{method="GET",code="2xx"} `} {
		if status != 200 || !strings.Contains(body, "\n"+want) {
			t.Errorf("GET /metrics on the admin socket: %d, no %q in\n%s", status, want, body)
		}
	}
}

// runCommand runs the binary and returns its exit code and output.
func runCommand(bin string, args ...string) (int, string, string) {
	cmd := exec.Command(bin, args...)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	cmd.Run()
	return cmd.ProcessState.ExitCode(), out.String(), errOut.String()
}

// TestPrivateStateDir: the admin socket's folder must be the user's own
// and closed to others; a socket of a nave that is gone is replaced, one
// that answers is refused.
func TestPrivateStateDir(t *testing.T) {
	dir := shortTempDir(t)
	open := filepath.Join(dir, "open")
	os.Mkdir(open, 0o755)
	if _, err := listenAdminSocket(filepath.Join(open, "a.sock"), true); err == nil || !strings.Contains(err.Error(), "open to other users") {
		t.Errorf("a folder others can read: %v", err)
	}
	state := filepath.Join(dir, "state")
	ln, err := listenAdminSocket(filepath.Join(state, "a.sock"), true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := listenAdminSocket(filepath.Join(state, "a.sock"), true); err == nil || !strings.Contains(err.Error(), "another nave") {
		t.Errorf("a socket in use: %v", err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close() // a nave that died: its socket stays behind
	ln, err = listenAdminSocket(filepath.Join(state, "a.sock"), true)
	if err != nil {
		t.Fatalf("a socket left behind: %v", err)
	}
	ln.Close()
	os.WriteFile(filepath.Join(state, "f"), nil, 0o600)
	if _, err := listenAdminSocket(filepath.Join(state, "f"), true); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Errorf("a file in the way: %v", err)
	}
}
