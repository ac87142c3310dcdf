package wsgi_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"nave/internal/wsgi"
)

// The same site written in Flask, Django and Pyramid (testdata/sites),
// run unchanged through nave over real sockets.
var sites = []struct {
	name, app, file string
	skip            string // a subtest the site cannot pass, and why
}{
	{"flask", "flasksite:app", "flasksite.py", ""},
	// Werkzeug's get_json calls wsgi.input.read() without a size, which
	// wsgiref.validate (strict PEP 333) refuses: the app's breach, not nave's.
	{"flask_validated", "flaskvalidated:app", "flasksite.py", "json"},
	{"django", "djangosite.wsgi:application", "djangosite/views.py", ""},
	{"pyramid", "pyramidsite:app", "pyramidsite.py", ""},
}

func TestSites(t *testing.T) {
	for _, site := range sites {
		t.Run(site.name, func(t *testing.T) {
			dir, err := filepath.Abs("testdata/sites")
			if err != nil {
				t.Fatal(err)
			}
			g := startGateway(t, wsgi.Config{App: site.app, Dir: dir, Workers: 2}, wsgi.HandlerConfig{})
			testSite(t, g, filepath.Join(dir, site.file), site.skip)
			if strings.Contains(g.log.String(), "AssertionError") {
				t.Errorf("wsgiref.validate found a breach:\n%s", g.log.String())
			}
		})
	}
}

func testSite(t *testing.T, g *gateway, sourceFile, skip string) {
	base := g.URL("")
	client := g.HTTPClient(t) // over TLS in TLS mode
	client.Timeout = clientTimeout
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	do := func(req *http.Request) (*http.Response, []byte) {
		t.Helper()
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("%s %s: reading body: %v", req.Method, req.URL.Path, err)
		}
		return resp, body
	}
	newReq := func(method, path, ctype string, body []byte) *http.Request {
		req, err := http.NewRequest(method, base+path, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		return req
	}
	wantJSON := func(what string, body []byte, want any) {
		t.Helper()
		var got any
		if err := json.Unmarshal(body, &got); err != nil {
			t.Errorf("%s: %v: %s", what, err, body)
			return
		}
		w, _ := json.Marshal(want)
		var wantAny any
		json.Unmarshal(w, &wantAny)
		if !reflect.DeepEqual(got, wantAny) {
			t.Errorf("%s: got %s, want %s", what, body, w)
		}
	}

	t.Run("template", func(t *testing.T) {
		resp, body := do(newReq("GET", "/?name=nave+%3Cb%3E", "", nil))
		if resp.StatusCode != 200 || string(body) != "<h1>Hello nave &lt;b&gt;</h1>" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Errorf("got %d %q %q", resp.StatusCode, body, resp.Header.Get("Content-Type"))
		}
	})
	t.Run("form", func(t *testing.T) {
		resp, body := do(newReq("POST", "/form", "application/x-www-form-urlencoded", []byte("a=1&b=2&b=3&c=caf%C3%A9")))
		if resp.StatusCode != 200 {
			t.Fatalf("got %d %s", resp.StatusCode, body)
		}
		wantJSON("form", body, map[string][]string{"a": {"1"}, "b": {"2", "3"}, "c": {"café"}})
	})
	t.Run("multipart", func(t *testing.T) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		one := bytes.Repeat([]byte("nave\x00\xff"), 50000) // binary, 300 kB
		two := bytes.Repeat([]byte("0123456789"), 400000)  // 4 MB: spooled by nave and the framework
		for name, data := range map[string][]byte{"one": one, "two": two} {
			fw, _ := mw.CreateFormFile(name, name+".bin")
			fw.Write(data)
		}
		mw.WriteField("note", "hello")
		mw.Close()
		resp, body := do(newReq("POST", "/upload", mw.FormDataContentType(), buf.Bytes()))
		if resp.StatusCode != 200 {
			t.Fatalf("got %d %s", resp.StatusCode, body)
		}
		type file struct {
			Filename string `json:"filename"`
			Size     int    `json:"size"`
			Sha256   string `json:"sha256"`
		}
		sum := func(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }
		wantJSON("upload", body, map[string]any{
			"files": map[string]file{
				"one": {"one.bin", len(one), sum(one)},
				"two": {"two.bin", len(two), sum(two)},
			},
			"fields": map[string][]string{"note": {"hello"}},
		})
	})
	t.Run("json", func(t *testing.T) {
		if skip == "json" {
			t.Skip("werkzeug reads wsgi.input without a size; wsgiref.validate refuses that")
		}
		resp, body := do(newReq("POST", "/json", "application/json", []byte(`{"x": [1, 2.5, "ü"], "y": null}`)))
		if resp.StatusCode != 200 {
			t.Fatalf("got %d %s", resp.StatusCode, body)
		}
		wantJSON("json", body, map[string]any{"got": map[string]any{"x": []any{1, 2.5, "ü"}, "y": nil}})
	})
	t.Run("cookies", func(t *testing.T) {
		resp, body := do(newReq("GET", "/cookies", "", nil))
		got := resp.Header.Values("Set-Cookie")
		if resp.StatusCode != 200 || string(body) != "cookies set" || len(got) != 2 ||
			!strings.HasPrefix(got[0], "a=1") || !strings.HasPrefix(got[1], "b=2") || !strings.Contains(strings.ToLower(got[1]), "httponly") {
			t.Errorf("got %d %q, Set-Cookie %q", resp.StatusCode, body, got)
		}
		req := newReq("GET", "/read-cookies", "", nil)
		req.Header.Add("Cookie", "a=1")
		req.Header.Add("Cookie", "b=2") // two fields: nave joins them with "; "
		_, body = do(req)
		wantJSON("read cookies", body, map[string]string{"a": "1", "b": "2"})
	})
	t.Run("redirect", func(t *testing.T) {
		resp, _ := do(newReq("GET", "/redirect", "", nil))
		if resp.StatusCode != 302 || !strings.HasSuffix(resp.Header.Get("Location"), "/target?x=1") {
			t.Errorf("got %d Location %q", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
	t.Run("stream", func(t *testing.T) {
		resp, body := do(newReq("GET", "/stream", "", nil))
		if resp.StatusCode != 200 || string(body) != "part 0\npart 1\npart 2\n" {
			t.Errorf("got %d %q", resp.StatusCode, body)
		}
	})
	t.Run("not_found", func(t *testing.T) {
		if resp, _ := do(newReq("GET", "/no/such/page", "", nil)); resp.StatusCode != 404 {
			t.Errorf("got %d", resp.StatusCode)
		}
	})
	t.Run("error", func(t *testing.T) {
		if resp, _ := do(newReq("GET", "/error", "", nil)); resp.StatusCode != 500 {
			t.Errorf("got %d", resp.StatusCode)
		}
		g.log.waitFor(t, "boom")
		if resp, _ := do(newReq("GET", "/", "", nil)); resp.StatusCode != 200 {
			t.Errorf("after the error: got %d", resp.StatusCode)
		}
	})
	t.Run("file", func(t *testing.T) {
		want, err := os.ReadFile(sourceFile)
		if err != nil {
			t.Fatal(err)
		}
		resp, body := do(newReq("GET", "/file", "", nil))
		if resp.StatusCode != 200 || !bytes.Equal(body, want) || resp.ContentLength != int64(len(want)) {
			t.Errorf("got %d, %d bytes, Content-Length %d; want %d bytes", resp.StatusCode, len(body), resp.ContentLength, len(want))
		}
	})
	t.Run("hash", func(t *testing.T) {
		data := bytes.Repeat([]byte("abcdefgh"), 3<<17) // 3 MB
		sum := sha256.Sum256(data)
		resp, body := do(newReq("POST", "/hash", "application/octet-stream", data))
		if want := fmt.Sprintf("%d %x", len(data), sum); resp.StatusCode != 200 || string(body) != want {
			t.Errorf("got %d %q, want %q", resp.StatusCode, body, want)
		}
		req := newReq("POST", "/hash", "application/octet-stream", nil)
		req.Body = io.NopCloser(bytes.NewReader(data)) // no length: sent chunked
		req.ContentLength = -1
		resp, body = do(req)
		if want := fmt.Sprintf("%d %x", len(data), sum); resp.StatusCode != 200 || string(body) != want {
			t.Errorf("chunked: got %d %q, want %q", resp.StatusCode, body, want)
		}
	})
}
