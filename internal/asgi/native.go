package asgi

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"nave/internal/privdir"
)

// native/native.c, the adapter's hot path in C, is built for the worker's
// interpreter with the compiler that interpreter was built with, once per
// interpreter and source, into a cache folder, and loaded by adapter.py
// (NAVE_ASGI_NATIVE). Without a compiler or the interpreter's headers the
// workers run adapter.py alone, which does the same, slower.
//
//go:embed native/native.c
var nativeSource []byte

// Config.Native's values.
const (
	NativeAuto = "auto" // built and used where it can be; adapter.py alone otherwise
	NativeOn   = "on"   // a build that fails stops the start
	NativeOff  = "off"  // never built: adapter.py alone
)

// buildNative runs before the workers start: it builds the module for
// them, or says why not (an error only for NativeOn).
func (h *Handler) buildNative() error {
	mode := h.cfg.native()
	if mode == NativeOff {
		return nil
	}
	dir, err := buildNative(&h.cfg)
	if err != nil {
		if mode == NativeOn {
			return fmt.Errorf("asgi: building the native adapter: %w", err)
		}
		h.log.Warn("asgi: the native adapter could not be built; the workers run adapter.py alone",
			"module", h.cfg.App, "reason", err.Error())
		return nil
	}
	h.nativeDir = dir
	return nil
}

// nativeBuildTimeout bounds the interpreter's answer and the compiler.
const nativeBuildTimeout = 2 * time.Minute

// pythonFacts asks the interpreter what a build for it needs, one fact a
// line: implementation, version, compiler, include folder, extension suffix.
const pythonFacts = `import sys, sysconfig
print(sys.implementation.name)
print("%d.%d" % sys.version_info[:2])
print(sysconfig.get_config_var("CC") or "cc")
print(sysconfig.get_paths()["include"])
print(sysconfig.get_config_var("EXT_SUFFIX") or "")
`

// buildNative builds native.c for cfg's interpreter unless the cache has
// it, and returns the folder holding the module.
func buildNative(cfg *Config) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), nativeBuildTimeout)
	defer cancel()
	py := exec.CommandContext(ctx, cfg.python(), "-c", pythonFacts)
	py.Dir, py.Env = cfg.Dir, workerEnv(cfg)
	out, err := py.Output()
	if err != nil {
		return "", fmt.Errorf("asking %s for its build settings: %w%s", cfg.python(), err, stderrOf(err))
	}
	facts := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(facts) != 5 {
		return "", fmt.Errorf("%s answered %q for its build settings", cfg.python(), out)
	}
	impl, version, cc, include, suffix := facts[0], facts[1], strings.Fields(facts[2]), facts[3], facts[4]
	var major, minor int
	fmt.Sscanf(version, "%d.%d", &major, &minor)
	switch {
	case impl != "cpython":
		return "", fmt.Errorf("%s is %s, not CPython", cfg.python(), impl)
	case major < 3 || major == 3 && minor < 9:
		return "", fmt.Errorf("%s is Python %s; the native adapter needs 3.9 or later", cfg.python(), version)
	case suffix == "" || len(cc) == 0:
		return "", fmt.Errorf("%s gave no extension suffix or compiler", cfg.python())
	}
	if _, err := os.Stat(filepath.Join(include, "Python.h")); err != nil {
		return "", fmt.Errorf("no Python.h in %s: install the interpreter's development headers (Debian: python3-dev)", include)
	}
	if _, err := exec.LookPath(cc[0]); err != nil {
		return "", fmt.Errorf("no C compiler %s: install one (Debian: gcc)", cc[0])
	}
	root, err := nativeCacheRoot(cfg.CacheDir)
	if err != nil {
		return "", err
	}
	sum := sha256.New()
	sum.Write(nativeSource)
	sum.Write(out)
	dir := filepath.Join(root, "asgi-native-"+hex.EncodeToString(sum.Sum(nil))[:16])
	module := filepath.Join(dir, "_naveasgi"+suffix)
	if _, err := os.Stat(module); err == nil {
		return dir, nil
	}
	if err := privdir.Make(dir, 0o022); err != nil {
		return "", err
	}
	// Built under a name of its own and renamed into place: instances
	// building at once each finish with a whole module.
	tmp := filepath.Join(dir, ".build-"+rand.Text())
	src := tmp + ".c"
	if err := os.WriteFile(src, nativeSource, 0o600); err != nil {
		return "", err
	}
	defer os.Remove(src)
	args := append(cc[1:], "-O2", "-shared", "-fPIC", "-I", include, "-o", tmp+".so", src)
	comp := exec.CommandContext(ctx, cc[0], args...)
	var msgs bytes.Buffer
	comp.Stdout, comp.Stderr = &msgs, &msgs
	if err := comp.Run(); err != nil {
		os.Remove(tmp + ".so")
		return "", fmt.Errorf("%s failed (%w): %s", cc[0], err, lastLines(msgs.String(), 5))
	}
	if err := os.Rename(tmp+".so", module); err != nil {
		os.Remove(tmp + ".so")
		return "", err
	}
	return dir, nil
}

// nativeCacheRoot is the folder the builds go in: cacheDir if set, else
// the user's cache folder ($XDG_CACHE_HOME, ~/.cache) or, for a service
// without a home, /var/cache/nave (root) or one in the temporary folder.
func nativeCacheRoot(cacheDir string) (string, error) {
	root := cacheDir
	if root == "" {
		if d, err := os.UserCacheDir(); err == nil {
			root = filepath.Join(d, "nave")
		} else if os.Geteuid() == 0 {
			root = "/var/cache/nave"
		} else {
			root = filepath.Join(os.TempDir(), fmt.Sprintf("nave-cache-%d", os.Geteuid()))
		}
	}
	// Others may read the modules, not write them: a module put there
	// would run in the workers.
	return root, privdir.Make(root, 0o022)
}

// workerEnv is the environment a worker of cfg runs with, extra added;
// nil is nave's.
func workerEnv(cfg *Config, extra ...string) []string {
	if len(cfg.Env) == 0 && len(extra) == 0 {
		return nil
	}
	return append(append(os.Environ(), cfg.Env...), extra...)
}

func stderrOf(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) && len(ee.Stderr) > 0 {
		return ": " + lastLines(string(ee.Stderr), 3)
	}
	return ""
}

// lastLines is s's last n lines, joined by " | ".
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
