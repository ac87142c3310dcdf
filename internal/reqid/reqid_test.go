package reqid

import (
	"net/netip"
	"regexp"
	"strings"
	"testing"

	"nave/internal/web"
	"nave/internal/web/webtest"
)

var proxyNet = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}

var (
	proxyAddr  = netip.MustParseAddrPort("10.1.2.3:5000")
	clientAddr = netip.MustParseAddrPort("192.0.2.7:5000")
)

var generated = regexp.MustCompile(`^[0-9a-f]{32}$`)

// seen records what the next handler saw of the request.
type seen struct {
	id     string
	field  string
	header []string // the request's X-Request-ID fields left in Header
}

func (s *seen) Serve(w *web.ResponseWriter, r *web.Request) {
	s.id, s.field = string(r.ID()), r.IDField
	s.header = nil
	for v := range r.Header.Values(DefaultField) {
		s.header = append(s.header, string(v))
	}
	w.WriteString("ok")
}

func TestAssign(t *testing.T) {
	tests := []struct {
		name     string
		from     netip.AddrPort
		sent     string // "" sends no field
		wantKept bool
	}{
		{"trusted proxy's id kept", proxyAddr, "abc-123", true},
		{"untrusted client's id replaced", clientAddr, "abc-123", false},
		{"no id: generated", proxyAddr, "", false},
		{"control byte refused", proxyAddr, "abc\x01def", false},
		{"space refused", proxyAddr, "abc def", false},
		{"non-ASCII refused", proxyAddr, "abc\xc3\xa9", false},
		{"longest kept", proxyAddr, strings.Repeat("a", web.MaxIDLen), true},
		{"too long refused", proxyAddr, strings.Repeat("a", web.MaxIDLen+1), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &seen{}
			h := New(DefaultField, s)
			r := &web.Request{Method: []byte("GET"), Path: []byte("/"), RemoteAddr: tt.from}
			if tt.sent != "" {
				r.Header.AddTrusted([]byte("x-request-id"), []byte(tt.sent))
			}
			r.TrustProxies(proxyNet) // as the listener's handler does
			var rc webtest.Recorder
			h.Serve(rc.Begin(r), r)
			if err := rc.End(); err != nil {
				t.Fatal(err)
			}
			if tt.wantKept && s.id != tt.sent {
				t.Errorf("id: got %q, want the client's %q", s.id, tt.sent)
			}
			if !tt.wantKept && !generated.MatchString(s.id) {
				t.Errorf("id: got %q, want a generated one", s.id)
			}
			if s.field != DefaultField {
				t.Errorf("IDField: got %q, want %q", s.field, DefaultField)
			}
			if len(s.header) != 0 {
				t.Errorf("the client's field stayed in the request header: %q", s.header)
			}
			if got := string(rc.Header.Get(DefaultField)); got != s.id {
				t.Errorf("response %s: got %q, want %q", DefaultField, got, s.id)
			}
		})
	}
}

func TestGeneratedUnique(t *testing.T) {
	h := New(DefaultField, &seen{})
	h2 := New(DefaultField, &seen{})
	ids := map[string]bool{}
	for range 1000 {
		var id [idLen]byte
		h.generate(&id)
		if ids[string(id[:])] {
			t.Fatalf("id %s generated twice", id)
		}
		ids[string(id[:])] = true
	}
	var other [idLen]byte
	h2.generate(&other)
	if string(other[:len(h.prefix)]) == string(h.prefix[:]) {
		t.Errorf("two handlers share the prefix %s", h.prefix)
	}
}

// An app that sets the field itself keeps its value; none is added.
func TestAppsOwnIDWins(t *testing.T) {
	h := New(DefaultField, web.HandlerFunc(func(w *web.ResponseWriter, r *web.Request) {
		w.Header().Set("X-Request-Id", "mine")
	}))
	r := &web.Request{Method: []byte("GET"), Path: []byte("/"), RemoteAddr: clientAddr}
	var rc webtest.Recorder
	h.Serve(rc.Begin(r), r)
	rc.End()
	var got []string
	for v := range rc.Header.Values(DefaultField) {
		got = append(got, string(v))
	}
	if len(got) != 1 || got[0] != "mine" {
		t.Errorf("response ids: got %q, want [mine]", got)
	}
}

func TestAssignAllocs(t *testing.T) {
	h := New(DefaultField, web.HandlerFunc(func(*web.ResponseWriter, *web.Request) {}))
	r := &web.Request{RemoteAddr: clientAddr}
	r.Header.AddTrusted([]byte("X-Request-ID"), []byte("from-client"))
	if n := testing.AllocsPerRun(100, func() { h.Assign(r) }); n != 0 {
		t.Errorf("Assign: %v allocations, want 0", n)
	}
}
