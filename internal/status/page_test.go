package status

import (
	"regexp"
	"strings"
	"testing"

	"nave/internal/web"
	"nave/internal/web/webtest"
)

// TestServePage: the page comes with a policy that lets it load nothing
// from elsewhere, and it names nothing elsewhere.
func TestServePage(t *testing.T) {
	var rec webtest.Recorder
	r := &web.Request{Method: []byte("GET"), Path: []byte("/")}
	ServePage(rec.Begin(r), r)
	if err := rec.End(); err != nil {
		t.Fatal(err)
	}
	if rec.Status != 200 || string(rec.Header.Get("Content-Type")) != "text/html; charset=utf-8" {
		t.Fatalf("got %d %q", rec.Status, rec.Header.Get("Content-Type"))
	}
	csp := string(rec.Header.Get("Content-Security-Policy"))
	for _, want := range []string{"default-src 'none'", "connect-src 'self'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy %q has no %q", csp, want)
		}
	}
	body := rec.Body.String()
	if m := regexp.MustCompile(`(?i)(src|href)\s*=\s*["']?(https?:)?//`).FindString(body); m != "" {
		t.Errorf("the page loads something from elsewhere: %q", m)
	}
	if !strings.Contains(body, `fetch("status"`) {
		t.Error("the page does not poll the JSON beside it")
	}
}
