package certs

import (
	"path/filepath"
	"testing"
)

func TestStateDir(t *testing.T) {
	tests := []struct {
		name                  string
		nave, xdg, home, want string
	}{
		{"nave_state_dir_wins", "/srv/nave", "/x/state", "/home/u", "/srv/nave"},
		{"xdg_state_home", "", "/x/state", "/home/u", "/x/state/nave"},
		{"relative_xdg_ignored", "", "rel/state", "/home/u", "/home/u/.local/state/nave"},
		{"home", "", "", "/home/u", filepath.Join("/home/u", ".local", "state", "nave")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("NAVE_STATE_DIR", tt.nave)
			t.Setenv("XDG_STATE_HOME", tt.xdg)
			t.Setenv("HOME", tt.home)
			got, err := StateDir()
			if err != nil || got != tt.want {
				t.Errorf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	t.Run("nothing_set", func(t *testing.T) {
		t.Setenv("NAVE_STATE_DIR", "")
		t.Setenv("XDG_STATE_HOME", "")
		t.Setenv("HOME", "")
		if got, err := StateDir(); err == nil {
			t.Errorf("got %q, want an error", got)
		}
	})
}
