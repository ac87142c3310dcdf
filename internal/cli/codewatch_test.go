package cli

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSnapshotCode: --reload's walk sees the app's .py files, in nested
// packages too, and notices one changed, added or removed; it leaves out
// other files, hidden folders, __pycache__ and virtual environments.
func TestSnapshotCode(t *testing.T) {
	dir := t.TempDir()
	put := func(rel, text string) {
		t.Helper()
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	put("app.py", "one")
	put("pkg/views.py", "views")
	put("notes.txt", "x")
	put(".git/hook.py", "x")
	put("pkg/__pycache__/views.cpython-311.py", "x")
	put("venv/pyvenv.cfg", "home = /usr/bin")
	put("venv/lib/mod.py", "x")
	put("lib/site-packages/dep.py", "x")
	s := snapshotCode(dir)
	var got []string
	for p := range s.files {
		rel, _ := filepath.Rel(dir, p)
		got = append(got, rel)
	}
	if len(got) != 2 || s.files[filepath.Join(dir, "app.py")] == (stamp{}) || s.files[filepath.Join(dir, "pkg/views.py")] == (stamp{}) {
		t.Fatalf("watched %v, want app.py and pkg/views.py", got)
	}
	if f := changedFile(s, snapshotCode(dir)); f != "" {
		t.Errorf("nothing changed, but %s did", f)
	}
	for _, tt := range []struct {
		name   string
		change func()
		want   string // the file named; "" for none
	}{
		{"a file beside the code", func() { put("notes.txt", "changed") }, ""},
		{"a hidden folder", func() { put(".git/hook.py", "changed") }, ""},
		{"a virtual environment", func() { put("venv/lib/mod.py", "changed") }, ""},
		{"the app, longer", func() { put("app.py", "one two") }, "app.py"},
		{"a package's module, same size, later", func() {
			put("pkg/views.py", "VIEWS")
			later := time.Now().Add(2 * time.Second)
			os.Chtimes(filepath.Join(dir, "pkg/views.py"), later, later)
		}, "pkg/views.py"},
		{"a new module", func() { put("pkg/models.py", "m") }, "pkg/models.py"},
		{"a module removed", func() { os.Remove(filepath.Join(dir, "pkg/models.py")) }, "pkg/models.py"},
	} {
		before := snapshotCode(dir)
		tt.change()
		got := changedFile(before, snapshotCode(dir))
		if want := filepath.Join(dir, tt.want); (tt.want == "" && got != "") || (tt.want != "" && got != want) {
			t.Errorf("%s: changed %q, want %q", tt.name, got, tt.want)
		}
	}
}

const reloadASGIApp = `WORD = "one"


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": WORD.encode()})
`

const reloadWSGIApp = `WORD = "one"


def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [WORD.encode()]
`

// TestBinaryReloadOnChange: with --reload, nave wsgi and nave asgi serve
// an app's new code soon after its file changes; a change that breaks the
// import is logged and the old workers keep serving, and the fix after it
// is served in turn.
func TestBinaryReloadOnChange(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs Python workers")
	}
	needPython(t)
	bin := buildNave(t)
	for _, tt := range []struct {
		kind, source string
	}{
		{"wsgi", reloadWSGIApp},
		{"asgi", reloadASGIApp},
	} {
		t.Run(tt.kind, func(t *testing.T) {
			dir := writeApp(t, "app.py", tt.source)
			file := filepath.Join(dir, "app.py")
			cmd := exec.Command(bin, tt.kind, "--listen", "127.0.0.1:0", "--python", testPython, "--chdir", dir,
				"--workers", "1", "--access-log", "off", "--reload", "app:app")
			stdout, stderr := startCommand(t, cmd)
			serving := wsgiServingLine
			if tt.kind == "asgi" {
				serving = asgiServingLine
			}
			addr := servingAddr(t, stdout, stderr, serving)
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("nave's stderr:\n%s", stderr.String())
				}
			})
			get := func() string {
				got := exchange(t, addr, "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
				_, body, _ := strings.Cut(got, "\r\n\r\n")
				return body
			}
			if got := get(); got != "one" {
				t.Fatalf("before any change: %q, want one", got)
			}
			write := func(text string) {
				t.Helper()
				if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			write(strings.Replace(tt.source, `"one"`, `"second"`, 1))
			waitFor(t, "the new code served", func() bool { return get() == "second" })
			write(tt.source + "\nthis is not Python\n")
			waitFor(t, "the failed reload logged", func() bool {
				return strings.Contains(stderr.String(), "reload failed; the old workers keep serving")
			})
			if got := get(); got != "second" {
				t.Errorf("after a broken change: %q, want the old workers' second", got)
			}
			if !strings.Contains(stderr.String(), "--reload: a file changed, reloading the app") {
				t.Errorf("no line says why the app reloaded: %s", stderr.String())
			}
			write(strings.Replace(tt.source, `"one"`, `"three"`, 1))
			waitFor(t, "the fixed code served", func() bool { return get() == "three" })
		})
	}
}

// TestSnapshotCodeDirs: the walk takes several folders (--reload-dir).
func TestSnapshotCodeDirs(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(a, "one.py"), []byte("1"), 0o644)
	os.WriteFile(filepath.Join(b, "two.py"), []byte("2"), 0o644)
	s := snapshotCode(a, b)
	if len(s.files) != 2 || s.files[filepath.Join(a, "one.py")] == (stamp{}) || s.files[filepath.Join(b, "two.py")] == (stamp{}) {
		t.Errorf("watched %v, want one.py and two.py", s.files)
	}
}

const reloadDirApp = `from lib.words import WORD


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": WORD.encode()})
`

// TestBinaryReloadDir: --reload-dir watches the folder it names (and
// implies --reload): a change to a module there is served.
func TestBinaryReloadDir(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs a Python worker")
	}
	needPython(t)
	dir := writeApp(t, "app.py", reloadDirApp)
	lib := filepath.Join(dir, "lib")
	os.Mkdir(lib, 0o755)
	os.WriteFile(filepath.Join(lib, "__init__.py"), nil, 0o644)
	words := filepath.Join(lib, "words.py")
	os.WriteFile(words, []byte(`WORD = "one"`+"\n"), 0o644)
	cmd := exec.Command(buildNave(t), "asgi", "--listen", "127.0.0.1:0", "--python", testPython, "--chdir", dir,
		"--workers", "1", "--access-log", "off", "--reload-dir", lib, "app:app")
	stdout, stderr := startCommand(t, cmd)
	addr := servingAddr(t, stdout, stderr, asgiServingLine)
	get := func() string {
		_, body, _ := strings.Cut(exchange(t, addr, "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"), "\r\n\r\n")
		return body
	}
	if got := get(); got != "one" {
		t.Fatalf("before any change: %q, want one", got)
	}
	os.WriteFile(words, []byte(`WORD = "second"`+"\n"), 0o644)
	waitFor(t, "the changed module served", func() bool { return get() == "second" })

	// A folder that is not one is a usage error.
	var errOut strings.Builder
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	bad := exec.CommandContext(ctx, buildNave(t), "asgi", "--listen", "127.0.0.1:0", "--python", testPython, "--chdir", dir,
		"--reload-dir", filepath.Join(dir, "nowhere"), "app:app")
	bad.Stderr = &errOut
	if err := bad.Run(); exitCodeOf(err) != 2 || !strings.Contains(errOut.String(), "--reload-dir "+filepath.Join(dir, "nowhere")+": not a folder") {
		t.Errorf("--reload-dir nowhere: %v, %q", err, errOut.String())
	}
}
