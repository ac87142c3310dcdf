package certs

import (
	"fmt"
	"os"
	"path/filepath"
)

// StateDir is where nave keeps state that must survive restarts, such as
// the local CA: $NAVE_STATE_DIR if set, else $XDG_STATE_HOME/nave (XDG Base
// Directory Specification; a relative value is ignored, as it requires),
// else $HOME/.local/state/nave. It does not create the directory: the
// caller that needs it does, with mode 0700.
func StateDir() (string, error) {
	if d := os.Getenv("NAVE_STATE_DIR"); d != "" {
		return d, nil
	}
	if d := os.Getenv("XDG_STATE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "nave"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("certs: no state directory (set NAVE_STATE_DIR): %w", err)
	}
	return filepath.Join(home, ".local", "state", "nave"), nil
}
