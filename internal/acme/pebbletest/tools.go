package pebbletest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// installTools installs Pebble at most once per test binary, however many
// tests start a CA, and returns the folder holding the binaries.
var installTools = sync.OnceValues(install)

// tools returns the folder holding pebble and pebble-challtestsrv, or fails
// the test if they cannot be installed.
func tools(t testing.TB) string {
	t.Helper()
	bin, err := installTools()
	if err != nil {
		t.Fatalf("pebbletest: installing Pebble: %v", err)
	}
	return bin
}

// install runs scripts/acme-tools.sh, which puts the pinned Pebble in
// $(go env GOPATH)/bin, and returns that folder.
func install() (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	script := filepath.Join(root, "scripts", "acme-tools.sh")
	cmd := exec.Command("bash", script)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("%s: %w\n%s", script, err, out)
	}
	out, err := exec.Command("go", "env", "GOPATH").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOPATH: %w", err)
	}
	// go install writes to the first entry of GOPATH.
	gopath := filepath.SplitList(strings.TrimSpace(string(out)))
	if len(gopath) == 0 || gopath[0] == "" {
		return "", errors.New("go env GOPATH: empty")
	}
	return filepath.Join(gopath[0], "bin"), nil
}

// moduleRoot returns the nearest folder at or above the working directory
// that holds go.mod: go test runs each package's tests in its own folder.
func moduleRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("finding go.mod: %w", err)
	}
	for dir := wd; ; {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod in %s or above", wd)
		}
		dir = parent
	}
}
