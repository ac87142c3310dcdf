package cli

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// versionApp answers "VERSION PID" on every path.
const versionApp = `import os
VERSION = %q
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [("%%s %%d" %% (VERSION, os.getpid())).encode()]
`

const restartSite = `
[listeners.main]
address = "127.0.0.1:0"

[log]
access = "off"

[apps.a]
module = "app:app"
python = %q
chdir = "a"
workers = 2

[apps.b]
module = "app:app"
python = %q
chdir = "b"
workers = 2

[sites.s]
[[sites.s.routes]]
match = { path = "/a/" }
app = "a"
[[sites.s.routes]]
match = { path = "/b/" }
app = "b"
`

// answers are the distinct bodies of n requests to path, sorted.
func answers(t *testing.T, addr, path string, n int) []string {
	t.Helper()
	var out []string
	for range n {
		if body := mustGet(t, addr, path); !slices.Contains(out, body) {
			out = append(out, body)
		}
	}
	slices.Sort(out)
	return out
}

// workersIn are the pids of pid's children whose working folder is dir:
// an app's workers, by its chdir.
func workersIn(t *testing.T, pid int, dir string) []string {
	t.Helper()
	entries, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range entries {
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(fields) < 2 || fields[1] != strconv.Itoa(pid) || fields[0] == "Z" {
			continue
		}
		if cwd, _ := os.Readlink("/proc/" + e.Name() + "/cwd"); cwd == dir {
			out = append(out, e.Name())
		}
	}
	slices.Sort(out)
	return out
}

// TestBinaryRestartApp: nave reload --app restarts one app's workers with
// its changed code file, as kill -HUP does to gunicorn: new pids, new
// code, the other app's workers untouched; a code file that does not
// import leaves the old workers serving and prints the traceback; Unit's
// restart path is answered too.
func TestBinaryRestartApp(t *testing.T) {
	needPython(t)
	dir := t.TempDir()
	writeVersion := func(app, version string) {
		os.MkdirAll(filepath.Join(dir, app), 0o755)
		if err := os.WriteFile(filepath.Join(dir, app, "app.py"), []byte(fmt.Sprintf(versionApp, version)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeVersion("a", "one")
	writeVersion("b", "bee")
	file := filepath.Join(dir, "nave.toml")
	os.WriteFile(file, []byte(fmt.Sprintf(restartSite, testPython, testPython)), 0o644)
	state := shortTempDir(t)
	bin := buildNave(t)
	cmd := exec.Command(bin, "run", "--config", file, "--state-dir", state)
	stdout, stderr := startCommand(t, cmd)
	addr := servingAddr(t, stdout, stderr, listeningLine)
	dirA, dirB := filepath.Join(dir, "a"), filepath.Join(dir, "b")

	before := answers(t, addr, "/a/", 20)
	pidsA, pidsB := workersIn(t, cmd.Process.Pid, dirA), workersIn(t, cmd.Process.Pid, dirB)
	if len(pidsA) != 2 || len(pidsB) != 2 {
		t.Fatalf("workers: a %v, b %v; want two each", pidsA, pidsB)
	}
	for _, a := range before {
		if !strings.HasPrefix(a, "one ") {
			t.Fatalf("app a before: %v", before)
		}
	}

	writeVersion("a", "two")
	code, out, errOut := runCommand(bin, "reload", "--app", "a", "--state-dir", state)
	if code != 0 || out != "nave reload: app a restarted: new workers serve\n" {
		t.Fatalf("nave reload --app a: %d %q %q", code, out, errOut)
	}
	after := answers(t, addr, "/a/", 20)
	for _, a := range after {
		if !strings.HasPrefix(a, "two ") {
			t.Errorf("app a after the restart: %v, want version two from new workers", after)
		}
	}
	waitFor(t, "app a's old workers exit", func() bool { return !slices.ContainsFunc(pidsA, alive) })
	newA := workersIn(t, cmd.Process.Pid, dirA)
	if len(newA) != 2 || slices.ContainsFunc(newA, func(p string) bool { return slices.Contains(pidsA, p) }) {
		t.Errorf("app a's workers after the restart: %v, were %v; want two new ones", newA, pidsA)
	}
	if got := workersIn(t, cmd.Process.Pid, dirB); !slices.Equal(got, pidsB) {
		t.Errorf("app b's workers: %v, were %v: restarting a touched b", got, pidsB)
	}

	// Code that does not import: the old workers serve on.
	os.WriteFile(filepath.Join(dir, "a", "app.py"), []byte("import no_such_module_anywhere\n"), 0o644)
	code, _, errOut = runCommand(bin, "reload", "--app", "a", "--state-dir", state)
	if code != 1 || !strings.Contains(errOut, "the new workers did not start; the old ones serve on") ||
		!strings.Contains(errOut, "ModuleNotFoundError: No module named 'no_such_module_anywhere'") {
		t.Errorf("a restart that cannot import: %d %q", code, errOut)
	}
	if got := workersIn(t, cmd.Process.Pid, dirA); !slices.Equal(got, newA) {
		t.Errorf("app a's workers after a failed restart: %v, want %v serving on", got, newA)
	}
	if got := answers(t, addr, "/a/", 5); !strings.HasPrefix(got[0], "two ") {
		t.Errorf("app a after a failed restart: %v", got)
	}

	code, _, errOut = runCommand(bin, "reload", "--app", "nope", "--state-dir", state)
	if code != 2 || !strings.Contains(errOut, "no app nope in the running config") {
		t.Errorf("nave reload --app nope: %d %q", code, errOut)
	}

	// Unit's path, for scripts written for Unit; a GET elsewhere is 405.
	writeVersion("a", "three")
	api := newAdminClient(t, filepath.Join(state, AdminSocketName))
	if status, _, body := api.do("GET", "/control/applications/a/restart", ""); status != 200 || !strings.Contains(body, `"restarted"`) {
		t.Errorf("GET /control/applications/a/restart: %d %s", status, body)
	}
	if got := answers(t, addr, "/a/", 10); !strings.HasPrefix(got[0], "three ") {
		t.Errorf("after Unit's restart: %v", got)
	}
	if status, _, _ := api.do("GET", "/apps/a/restart", ""); status != 405 {
		t.Errorf("GET /apps/a/restart: %d, want 405 (POST restarts)", status)
	}
}
