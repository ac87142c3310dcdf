package admin

import (
	"errors"
	"strings"
	"testing"
)

// TestRestart: the restart paths, nave's and Unit's, their methods, and
// how Restart's outcomes are answered.
func TestRestart(t *testing.T) {
	var asked []string
	h := New(Config{Restart: func(app string) error {
		asked = append(asked, app)
		switch app {
		case "shop":
			return nil
		case "broken":
			return &RestartError{Err: errors.New("cannot import app"), Output: "Traceback...\nSyntaxError\n"}
		}
		return ErrNoApp
	}})
	tests := []struct {
		method, path string
		status       int
		body         string
	}{
		{"POST", "/apps/shop/restart", 200, `"status": "restarted"`},
		{"GET", "/control/applications/shop/restart", 200, `"status": "restarted"`},
		{"POST", "/control/applications/shop/restart", 200, `"status": "restarted"`},
		{"GET", "/apps/shop/restart", 405, "GET is not allowed here"},
		{"POST", "/apps/broken/restart", 422, `"output": "Traceback...\nSyntaxError\n"`},
		{"POST", "/apps/nope/restart", 404, "no app nope in the running config"},
		{"POST", "/apps/shop", 404, "POST /apps/NAME/restart"},
		{"POST", "/apps/a/b/restart", 404, "POST /apps/NAME/restart"},
		{"POST", "/apps//restart", 404, "POST /apps/NAME/restart"},
	}
	for _, tt := range tests {
		r := do(t, h, tt.method, tt.path, "")
		if r.status != tt.status || !strings.Contains(r.body, tt.body) {
			t.Errorf("%s %s: got %d %s, want %d with %q", tt.method, tt.path, r.status, r.body, tt.status, tt.body)
		}
	}
	if want := "shop shop shop broken nope"; strings.Join(asked, " ") != want {
		t.Errorf("restarted %q, want %q", asked, want)
	}
}
