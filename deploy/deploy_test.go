// Package deploy holds no Go code: its tests check the deployment files
// beside them (systemd units, the Containerfile, Kubernetes manifests, the
// HAProxy example) with the real tools that read them, and check that
// their numbers agree with each other and with nave's flags.
package deploy

import (
	"bytes"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// repoRoot is the folder holding go.mod, one up from this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("no go.mod above deploy/: %v", err)
	}
	return root
}

// buildNave builds the nave binary into dir with CGO_ENABLED=0, as the
// image has it, and returns its path.
func buildNave(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "nave")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/nave")
	cmd.Dir = repoRoot(t)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// deps installs Debian packages through scripts/deps.sh ("pkg:probe"
// arguments) and reports whether it could.
func deps(t *testing.T, entries ...string) (string, bool) {
	t.Helper()
	cmd := exec.Command(filepath.Join(repoRoot(t), "scripts", "deps.sh"), entries...)
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err == nil
}

// durationFlag finds --name=D or --name D in args and parses D.
func durationFlag(t *testing.T, args []string, name string) time.Duration {
	t.Helper()
	for i, a := range args {
		v, ok := strings.CutPrefix(a, "--"+name+"=")
		if !ok && a == "--"+name && i+1 < len(args) {
			v, ok = args[i+1], true
		}
		if ok {
			d, err := time.ParseDuration(v)
			if err != nil {
				t.Fatalf("--%s %q: %v", name, v, err)
			}
			return d
		}
	}
	t.Fatalf("no --%s in %q", name, args)
	return 0
}

// TestBinaryIsStatic: the binary the image holds needs no libc, so it runs
// on an empty (scratch) base.
func TestBinaryIsStatic(t *testing.T) {
	bin := buildNave(t, t.TempDir())
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Fatalf("%s has a program interpreter: it is dynamically linked", bin)
		}
	}
}

var nonSpace = regexp.MustCompile(`\S+`)

// fields splits a command line as systemd would for these simple lines
// (no quotes in them).
func fields(s string) []string { return nonSpace.FindAllString(s, -1) }

// rmi removes a test image; a failure is only logged.
func rmi(t *testing.T, tag string) {
	if out, err := exec.Command("podman", "rmi", "-f", tag).CombinedOutput(); err != nil {
		t.Logf("podman rmi %s: %v\n%s", tag, err, bytes.TrimSpace(out))
	}
}
