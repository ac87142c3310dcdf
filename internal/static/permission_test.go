package static_test

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"nave/internal/static"
)

// asNobody is set in the environment of the test binary re-run as an
// unprivileged user.
const asNobody = "NAVE_STATIC_TEST_AS_NOBODY"

// TestUnreadable: a file or folder the server may not read is 403, a
// listing of one too. Root reads everything, so as root the test re-runs
// itself as nobody (uid 65534) from a copy of the test binary nobody can
// execute.
func TestUnreadable(t *testing.T) {
	if os.Getuid() == 0 && os.Getenv(asNobody) == "" {
		rerunAsNobody(t, "TestUnreadable")
		return
	}
	dir := t.TempDir()
	const content = "UNREADABLE-CONTENT"
	writeFiles(t, dir, map[string]string{"secret.txt": content, "locked/inner.txt": content, "open.txt": "yes"})
	os.Chmod(filepath.Join(dir, "secret.txt"), 0)
	os.Chmod(filepath.Join(dir, "locked"), 0)
	t.Cleanup(func() { os.Chmod(filepath.Join(dir, "locked"), 0o755) })
	srv, _ := serve(t, static.Config{Dir: dir, Browse: true}, true)
	t.Logf("running as uid %d", os.Getuid())
	expect(t, get(t, srv, "/open.txt"), 200, "yes")
	for _, target := range []string{"/secret.txt", "/locked/inner.txt", "/locked/"} {
		if r := get(t, srv, target); r.Status != 403 || strings.Contains(string(r.Body), content) {
			t.Errorf("%s: %d, want 403:\n%s", target, r.Status, r.Head)
		}
	}
}

func rerunAsNobody(t *testing.T, name string) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "nave-static-nobody")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	bin := filepath.Join(dir, "static.test")
	if err := copyFile(self, bin); err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	os.Chmod(bin, 0o755)
	cmd := exec.Command(bin, "-test.run=^"+name+"$", "-test.count=1", "-test.v")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), asNobody+"=1", "TMPDIR="+os.TempDir(), "GOCOVERDIR=")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: "+name) {
		t.Fatalf("as nobody: %v\n%s", err, out)
	}
	t.Logf("re-run as nobody:\n%s", out)
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
