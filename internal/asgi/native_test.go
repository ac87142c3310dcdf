package asgi

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const testPython = "/usr/bin/python3"

func buildForTest(t *testing.T, cache string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("runs the C compiler")
	}
	dir, err := buildNative(&Config{Python: testPython, CacheDir: cache})
	if err != nil {
		t.Fatalf("buildNative: %v (scripts/deps.sh installs gcc and python3-dev)", err)
	}
	return dir
}

// TestNativeLikePython: native.c and adapter.py, given the same REQUEST
// frames and send() calls, build the same scopes, write the same frames
// and raise the same errors (testdata/native_diff.py has the cases).
func TestNativeLikePython(t *testing.T) {
	dir := buildForTest(t, t.TempDir())
	out, err := exec.Command(testPython, "testdata/native_diff.py", "adapter.py", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("native_diff.py: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "cases alike") {
		t.Fatalf("native_diff.py said:\n%s", out)
	}
}

// TestNativeBuiltOnce: a second build for the same interpreter and source
// takes the cached module, and the folder is the user's alone.
func TestNativeBuiltOnce(t *testing.T) {
	cache := t.TempDir()
	dir := buildForTest(t, cache)
	mods, _ := filepath.Glob(filepath.Join(dir, "_naveasgi*.so"))
	if len(mods) != 1 {
		t.Fatalf("modules in %s: %v", dir, mods)
	}
	before, err := os.Stat(mods[0])
	if err != nil {
		t.Fatal(err)
	}
	if again := buildForTest(t, cache); again != dir {
		t.Fatalf("second build in %s, first in %s", again, dir)
	}
	after, _ := os.Stat(mods[0])
	if !after.ModTime().Equal(before.ModTime()) {
		t.Errorf("the module was built again")
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Errorf("%s has mode %v, want 0700", dir, fi.Mode().Perm())
	}
	if leftovers, _ := filepath.Glob(filepath.Join(dir, ".build-*")); len(leftovers) > 0 {
		t.Errorf("build files left: %v", leftovers)
	}
}

// TestNativeRefusesOpenFolder: a cache folder others can write to is
// refused: a module planted there would run in the workers.
func TestNativeRefusesOpenFolder(t *testing.T) {
	cache := filepath.Join(t.TempDir(), "open")
	if err := os.Mkdir(cache, 0o777); err != nil {
		t.Fatal(err)
	}
	os.Chmod(cache, 0o777) // past the umask
	_, err := buildNative(&Config{Python: testPython, CacheDir: cache})
	if err == nil || !strings.Contains(err.Error(), "open to other users") {
		t.Fatalf("buildNative in a 0777 folder: %v", err)
	}
}

// TestNativeNeedsCPython: an interpreter that cannot be asked is a clear
// error naming it.
func TestNativeNeedsCPython(t *testing.T) {
	_, err := buildNative(&Config{Python: "/nonexistent/python3", CacheDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/python3") {
		t.Fatalf("buildNative with a missing interpreter: %v", err)
	}
}
