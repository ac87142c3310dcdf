package cli

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"nave/internal/config"
)

func writeConfig(t *testing.T, text string) (dir, file string) {
	t.Helper()
	dir = t.TempDir()
	os.Mkdir(filepath.Join(dir, "www"), 0o755)
	file = filepath.Join(dir, "nave.toml")
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, file
}

func TestValidate(t *testing.T) {
	_, good := writeConfig(t, "[sites.s]\n[[sites.s.routes]]\nroot = \"www\"\n")
	_, bad := writeConfig(t, "[sites.s]\n[[sites.s.routes]]\nroot = \"nope\"\nbrowze = true\nmatch = { path = \"/s/\" }\n[[sites.s.routes]]\napp = \"x\"\n")
	_, asgi := writeConfig(t, "[apps.a]\nmodule = \"m:app\"\ninterface = \"asgi\"\nloop = \"trio\"\n[sites.s]\n[[sites.s.routes]]\napp = \"a\"\n")
	tests := []struct {
		name           string
		args           []string
		code           int
		stdout, stderr string
	}{
		{"ok", []string{"validate", good}, 0, good + ": ok\n", ""},
		{"every error", []string{"validate", bad}, 2, "",
			bad + ":3: sites.s.routes[0].root: folder does not exist\n" +
				bad + ":4: sites.s.routes[0].browze: unknown key (did you mean \"browse\"?)\n" +
				bad + ":7: sites.s.routes[1].app: no app \"x\"\n"},
		{"asgi keys", []string{"validate", asgi}, 2, "",
			asgi + ":4: apps.a.loop: \"trio\" is not auto, asyncio or uvloop\n"},
		{"unreadable", []string{"validate", "/no/such/nave.toml"}, 1, "",
			"nave validate: open /no/such/nave.toml: no such file or directory\n"},
		{"no file", []string{"validate"}, 2, "", "nave validate: want one FILE, got 0 arguments\n"},
		{"run refuses", []string{"run", "--config", bad}, 2, "",
			bad + ":3: sites.s.routes[0].root: folder does not exist\n" +
				bad + ":4: sites.s.routes[0].browze: unknown key (did you mean \"browse\"?)\n" +
				bad + ":7: sites.s.routes[1].app: no app \"x\"\n"},
		{"run without a file", []string{"run", "--config", "/no/such/nave.toml"}, 1, "",
			"nave run: open /no/such/nave.toml: no such file or directory\n"},
		{"run with an argument", []string{"run", "nave.toml"}, 2, "",
			`nave run: takes no arguments (give the file with --config), got "nave.toml"` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runMain(tt.args...)
			if code != tt.code || stdout != tt.stdout || stderr != tt.stderr {
				t.Errorf("got %d, stdout %q, stderr %q\nwant %d, stdout %q, stderr %q", code, stdout, stderr, tt.code, tt.stdout, tt.stderr)
			}
		})
	}
}

// TestRunListenError: a listener that cannot listen is named by its field
// and line, and nothing is left running.
func TestRunListenError(t *testing.T) {
	_, file := writeConfig(t, "[listeners.main]\naddress = \"192.0.2.1:80\"\n[sites.s]\n[[sites.s.routes]]\nroot = \"www\"\n")
	code, _, stderr := runMain("run", "--config", file)
	if code != 2 || !strings.HasPrefix(stderr, file+":2: listeners.main.address: cannot listen on 192.0.2.1:80: ") {
		t.Errorf("got %d, stderr %q", code, stderr)
	}
}

func TestRunHelp(t *testing.T) {
	for _, args := range [][]string{{"run", "--help"}, {"help", "run"}, {"validate", "--help"}, {"help", "validate"}} {
		code, out, _ := runMain(args...)
		if code != 0 || !strings.HasPrefix(out, "Usage: nave "+args[len(args)-1]) && !strings.HasPrefix(out, "Usage: nave "+args[0]) {
			t.Errorf("%v: got %d %q", args, code, out)
		}
	}
}

// TestValidateCertificates: nave validate loads certificate files as nave
// run would: a key that is not the certificate's is a problem.
func TestValidateCertificates(t *testing.T) {
	dir, file := writeConfig(t, "[listeners.s]\naddress = \"127.0.0.1:0\"\ntls = { certificates = [{ cert = \"a.crt\", key = \"b.key\" }] }\n[sites.s]\n[[sites.s.routes]]\nroot = \"www\"\n")
	writePair(t, dir, "a", "a.test")
	writePair(t, dir, "b", "b.test")
	code, stdout, stderr := runMain("validate", file)
	if code != 2 || stdout != "" || !strings.HasPrefix(stderr, file+":3: listeners.s.tls.certificates: ") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("got %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	writePair(t, dir, "b", "a.test")
	os.Rename(filepath.Join(dir, "b.crt"), filepath.Join(dir, "a.crt"))
	if code, stdout, stderr := runMain("validate", file); code != 0 || stdout != file+": ok\n" {
		t.Errorf("a matching pair: got %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

// TestAppEnv: an app's environment goes to its workers in key order, after
// what activating its virtualenv would set.
func TestAppEnv(t *testing.T) {
	t.Setenv("PATH", "/usr/bin")
	got := appEnv(&config.App{Virtualenv: "/srv/venv", Environment: map[string]string{"B": "2", "A": "1=one"}})
	want := []string{"VIRTUAL_ENV=/srv/venv", "PATH=/srv/venv/bin:/usr/bin", "A=1=one", "B=2"}
	if !slices.Equal(got, want) {
		t.Errorf("appEnv = %q, want %q", got, want)
	}
	if got := appEnv(&config.App{}); got != nil {
		t.Errorf("no environment: %q, want nil (nave's own)", got)
	}
}
