package static_test

import (
	"bytes"
	"crypto/tls"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"nave/internal/static"
	"nave/internal/wiretest"
)

// TestDifferentialNetHTTP sends the same conditional and range requests
// to nave and to net/http's ServeContent (the same bytes, ETag and
// Last-Modified) and compares status, Content-Range and the bytes of each
// range. Where they differ on purpose, the case says why.
func TestDifferentialNetHTTP(t *testing.T) {
	dir := t.TempDir()
	content := bigContent(10000)
	p := filepath.Join(dir, "file.bin")
	os.WriteFile(p, content, 0o644)
	mtime := time.Date(2024, 3, 9, 12, 30, 45, 0, time.UTC)
	os.Chtimes(p, mtime, mtime)
	naveSrv, _ := serve(t, static.Config{Dir: dir}, true)
	r := get(t, naveSrv, "/file.bin")
	etag, lastMod := r.Get("ETag"), r.Get("Last-Modified")

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ref := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("ETag", etag)
		w.Header().Set("Content-Type", "application/octet-stream")
		http.ServeContent(w, req, "file.bin", mtime, bytes.NewReader(content))
	})}
	// The reference speaks the same mode as nave, so that both see the
	// same requests through the same client.
	refSrv := &wiretest.Server{Addr: ln.Addr().String(), H2: wiretest.H2Mode()}
	if refSrv.H2 {
		ref.Protocols = new(http.Protocols)
		ref.Protocols.SetHTTP2(true)
		ref.Protocols.SetUnencryptedHTTP2(true)
	}
	if wiretest.TLSMode() {
		var cfg *tls.Config
		cfg, refSrv.Client = wiretest.TLSConfigs(t)
		ln = tls.NewListener(ln, cfg)
	}
	go ref.Serve(ln)
	t.Cleanup(func() { ref.Close() })

	earlier := mtime.Add(-time.Hour).Format(http.TimeFormat)
	later := mtime.Add(time.Hour).Format(http.TimeFormat)
	tests := []struct {
		name   string
		fields []string
		// differs says why nave answers otherwise, with the status it gives.
		differs    string
		naveStatus int
	}{
		{"plain", nil, "", 0},
		{"range_first", []string{"Range: bytes=0-99"}, "", 0},
		{"range_suffix", []string{"Range: bytes=-100"}, "", 0},
		{"range_open", []string{"Range: bytes=9000-"}, "", 0},
		{"range_past_end", []string{"Range: bytes=9990-20000"}, "", 0},
		{"range_whole", []string{"Range: bytes=0-"}, "", 0},
		{"range_multi", []string{"Range: bytes=0-9,100-199,-5"}, "", 0},
		{"range_unsatisfiable", []string{"Range: bytes=10000-"}, "", 0},
		{"range_suffix_zero", []string{"Range: bytes=-0"},
			"RFC 9110 §14.1.3: a suffix-range is satisfiable only with a non-zero suffix-length; net/http sends 206", 416},
		{"range_overlap_too_big", []string{"Range: bytes=0-9999,0-9999"}, "", 0},
		{"range_some_unsatisfiable", []string{"Range: bytes=0-9,20000-"}, "", 0},
		{"range_last_before_first", []string{"Range: bytes=500-400"}, "", 0},
		{"range_ows", []string{"Range: bytes= 0-9 , 20-29"}, "", 0},
		{"range_other_unit", []string{"Range: items=0-9"},
			"RFC 9110 §14.2: a server MUST ignore a Range with a unit it does not understand; net/http answers 416", 200},
		{"range_garbage", []string{"Range: bytes=abc"},
			"RFC 9110 §14.2 lets a server ignore an invalid Range; nave does (as nginx), net/http answers 416", 200},
		{"if_range_etag", []string{"Range: bytes=0-9", "If-Range: " + etag}, "", 0},
		{"if_range_stale_etag", []string{"Range: bytes=0-9", `If-Range: "old"`}, "", 0},
		{"if_range_date", []string{"Range: bytes=0-9", "If-Range: " + lastMod}, "", 0},
		{"if_range_old_date", []string{"Range: bytes=0-9", "If-Range: " + earlier}, "", 0},
		{"if_none_match", []string{"If-None-Match: " + etag}, "", 0},
		{"if_none_match_weak", []string{"If-None-Match: W/" + etag}, "", 0},
		{"if_none_match_star", []string{"If-None-Match: *"}, "", 0},
		{"if_none_match_other", []string{`If-None-Match: "x"`}, "", 0},
		{"if_modified_since", []string{"If-Modified-Since: " + lastMod}, "", 0},
		{"if_modified_since_later", []string{"If-Modified-Since: " + later}, "", 0},
		{"if_modified_since_earlier", []string{"If-Modified-Since: " + earlier}, "", 0},
		{"if_match", []string{"If-Match: " + etag}, "", 0},
		{"if_match_other", []string{`If-Match: "x"`}, "", 0},
		{"if_match_star", []string{"If-Match: *"}, "", 0},
		{"if_unmodified_since", []string{"If-Unmodified-Since: " + lastMod}, "", 0},
		{"if_unmodified_since_earlier", []string{"If-Unmodified-Since: " + earlier}, "", 0},
		{"inm_and_ims", []string{`If-None-Match: "x"`, "If-Modified-Since: " + later}, "", 0},
		{"if_match_and_range", []string{"If-Match: " + etag, "Range: bytes=5-9"}, "", 0},
		{"ims_and_range", []string{"If-Modified-Since: " + earlier, "Range: bytes=5-9"}, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := get(t, naveSrv, "/file.bin", tt.fields...)
			want := get(t, refSrv, "/file.bin", tt.fields...)
			if tt.differs != "" {
				if n.Status != tt.naveStatus {
					t.Errorf("nave %d, want %d (%s)", n.Status, tt.naveStatus, tt.differs)
				}
				if want.Status == n.Status {
					t.Logf("net/http now agrees (%d): the note %q is stale", want.Status, tt.differs)
				}
				return
			}
			if n.Status != want.Status {
				t.Fatalf("nave %d, net/http %d", n.Status, want.Status)
			}
			if n.Status == 416 {
				// RFC 9110 §15.5.17: a 416 SHOULD say the length; net/http
				// leaves it out for an invalid (rather than unsatisfiable) range.
				if got := n.Get("Content-Range"); got != "bytes */10000" {
					t.Errorf("416 Content-Range %q", got)
				}
				return
			}
			if n.Get("Content-Range") != want.Get("Content-Range") {
				t.Errorf("Content-Range: nave %q, net/http %q", n.Get("Content-Range"), want.Get("Content-Range"))
			}
			if strings.HasPrefix(want.Get("Content-Type"), "multipart/") {
				if got, exp := parts(t, n), parts(t, want); strings.Join(got, "|") != strings.Join(exp, "|") {
					t.Errorf("parts differ: nave %d, net/http %d", len(got), len(exp))
				}
				return
			}
			if n.Status >= 300 {
				return // error pages are each server's own
			}
			if !bytes.Equal(n.Body, want.Body) {
				t.Errorf("body: nave %d bytes, net/http %d", len(n.Body), len(want.Body))
			}
		})
	}
}

// parts returns each part of a multipart/byteranges response as its
// Content-Range and bytes.
func parts(t *testing.T, r *wiretest.Response) []string {
	t.Helper()
	_, params, err := mime.ParseMediaType(r.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	mr := multipart.NewReader(bytes.NewReader(r.Body), params["boundary"])
	var out []string
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p)
		out = append(out, p.Header.Get("Content-Range")+":"+string(b))
	}
}
