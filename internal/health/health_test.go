package health

import (
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"nave/internal/web"
	"nave/internal/web/webtest"
)

// probe asks h for target ("/readyz?verbose") and returns the status and
// body, or handled false.
func probe(t *testing.T, h *Health, method, target string) (int, string, bool) {
	t.Helper()
	path, query, hasQuery := strings.Cut(target, "?")
	r := &web.Request{Method: []byte(method), Path: []byte(path), Target: []byte(target)}
	if hasQuery {
		r.Query = []byte(query)
	}
	rec := new(webtest.Recorder)
	handled := h.Handle(rec.Begin(r), r)
	if err := rec.End(); err != nil {
		t.Fatalf("End: %v", err)
	}
	return rec.Status, rec.Body.String(), handled
}

// TestReadiness walks a process's life: not ready before Start, ready
// once started with its checks passing, not ready while a check fails,
// and not ready for good once a drain begins; alive throughout.
func TestReadiness(t *testing.T) {
	var certErr atomic.Pointer[error]
	h := New(Check{Name: "certificates", Err: func() error {
		if p := certErr.Load(); p != nil {
			return *p
		}
		return nil
	}})
	steps := []struct {
		name       string
		do         func()
		target     string
		wantStatus int
		wantBody   string
	}{
		{"before_start", func() {}, "/readyz", 503, "[-]started failed: not serving yet\nreadyz check failed\n"},
		{"alive_before_start", func() {}, "/livez", 200, "ok\n"},
		{"started", h.Start, "/readyz", 200, "ok\n"},
		{"verbose", func() {}, "/readyz?verbose", 200, "[+]started ok\n[+]draining ok\n[+]certificates ok\nreadyz check passed\n"},
		{"verbose_value", func() {}, "/livez?a=b&verbose=1", 200, "[+]ping ok\nlivez check passed\n"},
		{"check_fails", func() { e := errors.New("listener main has none"); certErr.Store(&e) }, "/readyz", 503,
			"[-]certificates failed: listener main has none\nreadyz check failed\n"},
		{"check_passes", func() { certErr.Store(nil) }, "/readyz", 200, "ok\n"},
		{"drain", func() { h.Drain("shutting down"); h.Drain("later reason") }, "/readyz?verbose", 503,
			"[+]started ok\n[-]draining failed: shutting down\n[+]certificates ok\nreadyz check failed\n"},
		{"alive_while_draining", func() {}, "/livez", 200, "ok\n"},
	}
	for _, st := range steps {
		st.do()
		status, body, handled := probe(t, h, "GET", st.target)
		if !handled || status != st.wantStatus || body != st.wantBody {
			t.Errorf("%s: %s gave %d %q (handled %v), want %d %q", st.name, st.target, status, body, handled, st.wantStatus, st.wantBody)
		}
	}
	if h.Ready() {
		t.Error("Ready() after a drain")
	}
}

// TestHandleOthers: other paths are left to the caller; other methods
// get 405.
func TestHandleOthers(t *testing.T) {
	h := New()
	if _, _, handled := probe(t, h, "GET", "/metrics"); handled {
		t.Error("/metrics was handled")
	}
	if _, _, handled := probe(t, h, "GET", "/readyz/"); handled {
		t.Error("/readyz/ was handled")
	}
	if status, _, handled := probe(t, h, "POST", "/livez"); !handled || status != 405 {
		t.Errorf("POST /livez: %d (handled %v), want 405", status, handled)
	}
}
