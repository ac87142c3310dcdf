package deploy

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestContainerfile builds deploy/Containerfile with podman, from the
// context `make image` makes, and checks the image runs nave as a non-root
// user. Containers cannot run on the test machines, so the image is
// inspected, not started.
func TestContainerfile(t *testing.T) {
	if msg, ok := deps(t, "podman:podman"); !ok {
		t.Skipf("podman is not installed and could not be (%s)", msg)
	}
	tag := fmt.Sprintf("localhost/nave-deploy-test:%d", os.Getpid())
	ctx := t.TempDir()
	// A first build of an empty image tells a machine where podman cannot
	// build at all (no storage driver, no user namespaces) from a broken
	// Containerfile.
	if err := os.WriteFile(filepath.Join(ctx, "probe"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	probeTag := tag + "-probe"
	probe := exec.Command("podman", "build", "-q", "-t", probeTag, "-f", "-", ctx)
	probe.Stdin = strings.NewReader("FROM scratch\nCOPY probe /probe\n")
	if out, err := probe.CombinedOutput(); err != nil {
		t.Skipf("podman cannot build images here: %v\n%s", err, out)
	}
	rmi(t, probeTag)
	t.Cleanup(func() { rmi(t, tag) })

	imageContext(t, ctx)
	build := exec.Command("podman", "build", "-q", "-t", tag, "-f", "Containerfile", ctx)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("podman build: %v\n%s", err, out)
	}
	out, err := exec.Command("podman", "image", "inspect", "--format", "{{json .Config}}", tag).Output()
	if err != nil {
		t.Fatalf("podman image inspect: %v", err)
	}
	var cfg struct {
		User         string
		Entrypoint   []string
		Cmd          []string
		Env          []string
		ExposedPorts map[string]struct{}
		StopSignal   string
	}
	if err := json.Unmarshal(out, &cfg); err != nil {
		t.Fatalf("podman image inspect: %v\n%s", err, out)
	}
	if cfg.User != "65532:65532" {
		t.Errorf("User: got %q, want 65532:65532 (non-root)", cfg.User)
	}
	if want := []string{"/usr/local/bin/nave"}; !slices.Equal(cfg.Entrypoint, want) {
		t.Errorf("Entrypoint: got %q, want %q", cfg.Entrypoint, want)
	}
	if len(cfg.Cmd) == 0 || cfg.Cmd[0] != "serve" {
		t.Errorf("Cmd: got %q, want nave serve ...", cfg.Cmd)
	}
	if !slices.Contains(cfg.Env, "NAVE_STATE_DIR=/var/lib/nave") {
		t.Errorf("Env: got %q, want NAVE_STATE_DIR=/var/lib/nave", cfg.Env)
	}
	for _, p := range []string{"8000/tcp", "9100/tcp"} {
		if _, ok := cfg.ExposedPorts[p]; !ok {
			t.Errorf("ExposedPorts: got %v, want %s among them", cfg.ExposedPorts, p)
		}
	}
	if cfg.StopSignal != "SIGTERM" {
		t.Errorf("StopSignal: got %q, want SIGTERM", cfg.StopSignal)
	}
	// The image holds the one binary and what it needs, nothing more.
	size, err := exec.Command("podman", "image", "inspect", "--format", "{{.Size}}", tag).Output()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("image size: %s bytes", strings.TrimSpace(string(size)))
}

// imageContext fills dir as `make image` fills bin/image: the Containerfile,
// the static binary, the CA bundle and an empty state folder.
func imageContext(t *testing.T, dir string) {
	t.Helper()
	cmd := exec.Command("make", "--no-print-directory", "image-context", "IMAGE_CONTEXT="+dir)
	cmd.Dir = repoRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make image-context: %v\n%s", err, out)
	}
}
