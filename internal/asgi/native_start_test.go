package asgi_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"nave/internal/asgi"
)

// TestNativeModes: auto and on run the workers with native.c, off with
// adapter.py alone, and each answers; the worker says which in READY.
func TestNativeModes(t *testing.T) {
	for _, tc := range []struct{ mode, want string }{{asgi.NativeAuto, "native"}, {asgi.NativeOn, "native"}, {asgi.NativeOff, "python"}} {
		t.Run(tc.mode, func(t *testing.T) {
			srv, h, log := serveApp(t, asgi.Config{App: "hello:app", Native: tc.mode, CacheDir: t.TempDir()})
			if got := h.Adapter(); got != tc.want {
				t.Errorf("adapter %q, want %q", got, tc.want)
			}
			if r := get(t, srv, "/"); r.Status != 200 || string(r.Body) != "Hello, World!" {
				t.Errorf("got %d %q", r.Status, r.Body)
			}
			if !strings.Contains(log.String(), "adapter="+tc.want) {
				t.Errorf("the ready line does not say adapter=%s:\n%s", tc.want, log)
			}
		})
	}
}

// TestNativeBuildFails: where the module cannot be built (here its cache
// folder is a file), auto says why and runs adapter.py alone; on refuses
// to start, naming the problem.
func TestNativeBuildFails(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	srv, h, log := serveApp(t, asgi.Config{App: "hello:app", Native: asgi.NativeAuto, CacheDir: file})
	if got := h.Adapter(); got != "python" {
		t.Errorf("adapter %q, want python", got)
	}
	if r := get(t, srv, "/"); r.Status != 200 {
		t.Errorf("got %d", r.Status)
	}
	if !strings.Contains(log.String(), "native adapter could not be built") || !strings.Contains(log.String(), file) {
		t.Errorf("no warning naming %s:\n%s", file, log)
	}

	h = asgi.New(asgi.Config{App: "hello:app", Python: python, Dir: "testdata/apps", Native: asgi.NativeOn, CacheDir: file})
	err := h.Start()
	if err == nil {
		h.Kill()
		t.Fatal("Start with native on and no way to build it succeeded")
	}
	if !strings.Contains(err.Error(), file) {
		t.Errorf("error %q does not name %s", err, file)
	}
}
