package privdir

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMake(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "a", "b")
	if err := Make(dir, 0o077); err != nil {
		t.Fatalf("Make: %v", err)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("made %v, %v; want mode 0700", fi, err)
	}
	open := filepath.Join(base, "open")
	os.Mkdir(open, 0o755)
	os.Chmod(open, 0o755)
	if err := Make(open, 0o022); err != nil {
		t.Errorf("0755 with others 0o022: %v", err)
	}
	if err := Make(open, 0o077); err == nil || !strings.Contains(err.Error(), "open to other users") {
		t.Errorf("0755 with others 0o077: %v", err)
	}
	os.Chmod(open, 0o777)
	if err := Make(open, 0o022); err == nil || !strings.Contains(err.Error(), "open to other users") {
		t.Errorf("0777 with others 0o022: %v", err)
	}
	file := filepath.Join(base, "file")
	os.WriteFile(file, nil, 0o600)
	if err := Make(file, 0o077); err == nil || !strings.Contains(err.Error(), file) {
		t.Errorf("a file: %v", err)
	}
}
