package cli

// HTTP/2 conformance and interop: h2spec and real clients (curl, nghttp,
// h2load, Go's net/http, headless Chromium) against the real binary, over
// TLS (h2 by ALPN) and in the clear (h2c with prior knowledge).

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/xml"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptrace"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// toolTimeout bounds every client run: a server that stops answering
// fails the test instead of hanging it.
const toolTimeout = 30 * time.Second

// h2Server is a nave started for the HTTP/2 tests.
type h2Server struct {
	addr   string // 127.0.0.1:port
	base   string // https://localhost:port or http://127.0.0.1:port
	tls    bool
	caFile string // the local CA, over TLS
}

// h2Site is the folder the HTTP/2 tests serve: a small file, a 1 MiB
// one, a folder to list (--browse), an index page long enough for h2spec
// (its 6.9.2 #2 skips on a body under 5 bytes), and a page that writes
// the protocol its browser used, for itself and for a listing in a frame.
type h2Site struct {
	dir        string
	small, big []byte
}

func newH2Site(t *testing.T) *h2Site {
	t.Helper()
	s := &h2Site{dir: t.TempDir(), small: []byte("small file over HTTP/2\n"), big: make([]byte, 1<<20)}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range s.big {
		s.big[i] = byte(rng.Uint32())
	}
	files := map[string][]byte{
		"small.txt":      s.small,
		"big.bin":        s.big,
		"index.html":     []byte("<!doctype html>\n<title>nave h2</title>\n<p>index for h2spec</p>\n"),
		"sub/inside.txt": []byte("listed\n"),
		"h2.html":        []byte(protocolPage),
	}
	for name, data := range files {
		p := filepath.Join(s.dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// protocolPage writes, into the DOM that Chromium dumps, the protocol of
// its own navigation and of a folder listing's in a frame (the page's
// load event waits for the frame's).
const protocolPage = `<!doctype html>
<title>protocol</title>
<p id="page"></p>
<p id="listing"></p>
<iframe id="frame" src="/sub/"></iframe>
<script>
document.getElementById("page").textContent = "page:" + performance.getEntriesByType("navigation")[0].nextHopProtocol;
addEventListener("load", function () {
  var w = document.getElementById("frame").contentWindow;
  var listed = w.document.body.textContent.indexOf("inside.txt") >= 0;
  document.getElementById("listing").textContent = "listing:" +
    w.performance.getEntriesByType("navigation")[0].nextHopProtocol + (listed ? " names inside.txt" : " without inside.txt");
});
</script>
`

var servingURL = regexp.MustCompile(`^Serving .*\((https?)://(127\.0\.0\.1:\d+)/\)`)

// startH2 runs the nave binary with args and a state folder of its own
// (for --tls-self-signed's CA), and returns the server its serving line
// names. The process is killed when the test ends.
func startH2(t *testing.T, args ...string) *h2Server {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	state := t.TempDir()
	cmd := exec.Command(buildNave(t), args...)
	cmd.Env = append(os.Environ(), "NAVE_STATE_DIR="+state, "PYTHONDONTWRITEBYTECODE=1")
	stdout, stderr := startCommand(t, cmd)
	found := make(chan []string, 1)
	go func() {
		br := bufio.NewReader(stdout)
		for {
			line, err := br.ReadString('\n')
			if m := servingURL.FindStringSubmatch(line); m != nil {
				found <- m
				break
			}
			if err != nil {
				close(found)
				return
			}
		}
		io.Copy(io.Discard, br) // nave never blocks on a full pipe
	}()
	select {
	case m, ok := <-found:
		if !ok {
			t.Fatalf("nave exited before serving; stderr %q", stderr.String())
		}
		s := &h2Server{addr: m[2], base: m[1] + "://" + m[2], tls: m[1] == "https"}
		if s.tls {
			s.base = "https://localhost:" + port(s.addr)
			s.caFile = filepath.Join(state, "ca", "ca.crt")
		}
		return s
	case <-time.After(toolTimeout):
		t.Fatalf("no serving line; stderr %q", stderr.String())
	}
	return nil
}

// startH2Pair serves site with nave serve --browse twice: over TLS with
// the local CA, and in the clear (h2c is on by default).
func startH2Pair(t *testing.T, site *h2Site) (overTLS, clear *h2Server) {
	t.Helper()
	common := []string{"serve", "--listen", "127.0.0.1:0", "--access-log", "off", "--browse"}
	overTLS = startH2(t, append(common, "--tls-self-signed", site.dir)...)
	clear = startH2(t, append(common, site.dir)...)
	return overTLS, clear
}

// runTool runs a client under toolTimeout and returns its standard
// output; a failure to run or a non-zero exit fails the test.
func runTool(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := tryTool(t, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

func tryTool(t *testing.T, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), toolTimeout)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out) + stderr.String(), err
	}
	return string(out), nil
}

// h2specBin finds h2spec where scripts/h2-tools.sh installs it (GOBIN, or
// GOPATH's bin), then on PATH. Missing, it skips, or fails under CI.
func h2specBin(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOBIN", "GOPATH").Output()
	if err == nil {
		dirs := strings.Split(strings.TrimSpace(string(out)), "\n")
		if len(dirs) == 2 && dirs[0] == "" {
			dirs[0] = filepath.Join(dirs[1], "bin")
		}
		if p := filepath.Join(dirs[0], "h2spec"); fileExists(p) {
			return p
		}
	}
	if p, err := exec.LookPath("h2spec"); err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("h2spec is not installed (scripts/h2-tools.sh installs it); CI=true, so this fails instead of skipping")
	}
	t.Skip("h2spec is not installed: run scripts/h2-tools.sh")
	return ""
}

func fileExists(p string) bool {
	info, err := os.Stat(p)
	return err == nil && !info.IsDir()
}

// h2specReport is the part of h2spec's JUnit report (-j) the test reads.
type h2specReport struct {
	Suites []struct {
		Name    string `xml:"name,attr"`
		Package string `xml:"package,attr"`
		Cases   []struct {
			Name    string    `xml:"classname,attr"`
			Error   *struct{} `xml:"error"`
			Failure *struct{} `xml:"failure"`
			Skipped *struct{} `xml:"skipped"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

// h2specCases is the number of cases in h2spec v2.2.1, the version
// scripts/h2-tools.sh pins: fewer in a report means h2spec did not run
// them all.
const h2specCases = 145

// invalidPrefaceCase is the one h2spec case nave fails in the clear, on
// purpose. RFC 9113 §3.4 says a bad client preface is a connection error;
// but a cleartext port serves HTTP/1.1 and h2c with prior knowledge
// (§3.3) together, and "INVALID CONNECTION PREFACE\r\n\r\n" is no HTTP/2
// preface at all: nave reads it as an HTTP/1.1 request, answers 400 and
// closes, where h2spec waits for a GOAWAY frame. Over TLS, where ALPN
// chose h2, nave passes it.
const invalidPrefaceCase = "http2/3.5 #2 Sends invalid connection preface"

// runH2Spec runs every h2spec case against s and returns the cases that
// did not pass, as "package #n name: outcome", and h2spec's output.
func runH2Spec(t *testing.T, bin string, s *h2Server) (bad []string, out string) {
	t.Helper()
	report := filepath.Join(t.TempDir(), "h2spec.xml")
	args := []string{"-h", "127.0.0.1", "-p", port(s.addr), "-o", "5", "-j", report}
	if s.tls {
		args = append(args, "-t", "-k")
	}
	out, err := tryTool(t, bin, args...) // exits 1 when a case fails: the report says which
	data, rerr := os.ReadFile(report)
	if rerr != nil {
		t.Fatalf("h2spec wrote no report (%v): %v\n%s", rerr, err, out)
	}
	var r h2specReport
	if err := xml.Unmarshal(data, &r); err != nil {
		t.Fatalf("h2spec's report: %v\n%s", err, data)
	}
	total := 0
	for _, suite := range r.Suites {
		for i, c := range suite.Cases {
			total++
			name := fmt.Sprintf("%s #%d %s", suite.Package, i+1, c.Name)
			switch {
			case c.Error != nil || c.Failure != nil:
				bad = append(bad, name+": failed")
			case c.Skipped != nil:
				bad = append(bad, name+": skipped")
			}
		}
	}
	if total < h2specCases {
		t.Errorf("h2spec ran %d cases, want %d (v2.2.1's):\n%s", total, h2specCases, out)
	}
	return bad, out
}

// TestBinaryH2Spec: every h2spec case passes over TLS; in the clear,
// every case but invalidPrefaceCase.
func TestBinaryH2Spec(t *testing.T) {
	bin := h2specBin(t)
	overTLS, clear := startH2Pair(t, newH2Site(t))
	if bad, out := runH2Spec(t, bin, overTLS); len(bad) > 0 {
		t.Errorf("over TLS, h2spec cases that did not pass:\n%s\n\nh2spec's output:\n%s", strings.Join(bad, "\n"), out)
	}
	bad, out := runH2Spec(t, bin, clear)
	if len(bad) != 1 || bad[0] != invalidPrefaceCase+": failed" {
		t.Errorf("h2c: h2spec cases that did not pass:\n%s\nwant only %q: RFC 9113 §3.3, a cleartext port shared with HTTP/1.1 "+
			"answers a preface that is not HTTP/2's as HTTP/1.1 (400, close)\n\nh2spec's output:\n%s",
			strings.Join(bad, "\n"), invalidPrefaceCase, out)
	}
}

// curlGet fetches url with curl and extra args, and returns the status
// line curl reports (HTTP version, status, ETag) and the body.
func curlGet(t *testing.T, s *h2Server, path string, args ...string) (got string, body []byte) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "body")
	args = append([]string{"-sS", "--max-time", "20", "-o", file, "-w", "%{http_version} %{http_code} %header{etag}"}, args...)
	if s.tls {
		args = append(args, "--http2", "--cacert", s.caFile)
	} else {
		args = append(args, "--http2-prior-knowledge")
	}
	got = runTool(t, "curl", append(args, s.base+path)...)
	body, err := os.ReadFile(file)
	if err != nil && !os.IsNotExist(err) { // curl writes no file for an empty body
		t.Fatal(err)
	}
	return got, body
}

// TestBinaryH2Curl: curl over h2 (TLS, ALPN) and h2c (prior knowledge)
// gets the files whole, a range, a 304 for its ETag, and the listing.
func TestBinaryH2Curl(t *testing.T) {
	lookTool(t, "curl", "curl")
	site := newH2Site(t)
	overTLS, clear := startH2Pair(t, site)
	for _, s := range []*h2Server{overTLS, clear} {
		t.Run(s.base[:strings.Index(s.base, ":")], func(t *testing.T) {
			got, body := curlGet(t, s, "/big.bin")
			etag := strings.TrimPrefix(got, "2 200 ")
			if !strings.HasPrefix(got, "2 200 \"") || !bytes.Equal(body, site.big) {
				t.Errorf("big.bin: got %q and %d bytes, want HTTP/2 200 with an ETag and %d bytes", got, len(body), len(site.big))
			}
			got, body = curlGet(t, s, "/big.bin", "-H", "Range: bytes=1000-1999")
			if want := "2 206 " + etag; got != want || !bytes.Equal(body, site.big[1000:2000]) {
				t.Errorf("range: got %q and %d bytes, want %q and bytes 1000-1999", got, len(body), want)
			}
			got, body = curlGet(t, s, "/big.bin", "-H", "If-None-Match: "+etag)
			if want := "2 304 " + etag; got != want || len(body) != 0 {
				t.Errorf("If-None-Match: got %q and %d bytes, want %q and none", got, len(body), want)
			}
			got, body = curlGet(t, s, "/small.txt")
			if !strings.HasPrefix(got, "2 200 ") || !bytes.Equal(body, site.small) {
				t.Errorf("small.txt: got %q %q", got, body)
			}
			got, body = curlGet(t, s, "/sub/")
			if got != "2 200 " || !bytes.Contains(body, []byte(`href="./inside.txt"`)) {
				t.Errorf("listing: got %q %.300q, want 200 naming inside.txt", got, body)
			}
		})
	}
}

// echoApp answers with the request body's length, SERVER_PROTOCOL and
// wsgi.url_scheme.
const echoApp = `def app(environ, start_response):
    body = environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [("%d %s %s" % (len(body), environ["SERVER_PROTOCOL"], environ["wsgi.url_scheme"])).encode()]
`

// TestBinaryH2WSGI: a 300 KiB POST, more than a stream's window, reaches
// a WSGI app whole over h2 and h2c, and the app sees SERVER_PROTOCOL
// HTTP/2.0 (web.HTTP2's name, as nginx's $server_protocol and Go's
// Request.Proto spell it).
func TestBinaryH2WSGI(t *testing.T) {
	lookTool(t, "curl", "curl")
	needPython(t)
	app := writeApp(t, "app.py", echoApp)
	common := []string{"wsgi", "--python", testPython, "--chdir", app, "--workers", "1", "--listen", "127.0.0.1:0", "--access-log", "off"}
	overTLS := startH2(t, append(common, "--tls-self-signed", "app:app")...)
	clear := startH2(t, append(common, "app:app")...)
	post := filepath.Join(t.TempDir(), "post.bin")
	if err := os.WriteFile(post, bytes.Repeat([]byte("0123456789abcdef"), 300<<10/16), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		s    *h2Server
		want string
	}{
		{overTLS, "307200 HTTP/2.0 https"},
		{clear, "307200 HTTP/2.0 http"},
	} {
		got, body := curlGet(t, tt.s, "/", "--data-binary", "@"+post)
		if got != "2 200 " || string(body) != tt.want {
			t.Errorf("%s: got %q %q, want HTTP/2 200 %q", tt.s.base, got, body, tt.want)
		}
	}
}

// TestBinaryH2Nghttp: nghttp, nghttp2's client, gets a response over h2c
// and over TLS.
func TestBinaryH2Nghttp(t *testing.T) {
	bin := lookTool(t, "nghttp", "nghttp2-client")
	site := newH2Site(t)
	overTLS, clear := startH2Pair(t, site)
	for _, url := range []string{clear.base + "/small.txt", "https://" + overTLS.addr + "/small.txt"} {
		out := runTool(t, bin, "-nv", url)
		for _, want := range []string{
			"recv (stream_id=13) :status: 200",
			fmt.Sprintf("recv (stream_id=13) content-length: %d", len(site.small)),
			fmt.Sprintf("recv DATA frame <length=%d, flags=0x01, stream_id=13>", len(site.small)),
		} {
			if !strings.Contains(out, want) {
				t.Errorf("%s: nghttp's output lacks %q:\n%s", url, want, out)
			}
		}
	}
}

// TestBinaryH2Load: h2load's 2000 requests, 10 at a time on each of 4
// connections, all succeed over h2c and TLS. Not a benchmark: no timing.
func TestBinaryH2Load(t *testing.T) {
	bin := lookTool(t, "h2load", "nghttp2-client")
	overTLS, clear := startH2Pair(t, newH2Site(t))
	for _, tt := range []struct{ url, proto string }{
		{clear.base + "/small.txt", "h2c"},
		{"https://" + overTLS.addr + "/small.txt", "h2"},
	} {
		out := runTool(t, bin, "-n", "2000", "-c", "4", "-m", "10", "-T", "20", tt.url)
		for _, want := range []string{
			"requests: 2000 total, 2000 started, 2000 done, 2000 succeeded, 0 failed, 0 errored, 0 timeout",
			"status codes: 2000 2xx, 0 3xx, 0 4xx, 0 5xx",
			"Application protocol: " + tt.proto + "\n",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("%s: h2load's output lacks %q:\n%s", tt.url, want, out)
			}
		}
	}
}

// TestBinaryH2GoClient: Go's client, over TLS (ALPN) and h2c (prior
// knowledge), sends 50 requests at once on one connection and gets every
// body whole, over HTTP/2.
func TestBinaryH2GoClient(t *testing.T) {
	site := newH2Site(t)
	overTLS, clear := startH2Pair(t, site)
	pemBytes, err := os.ReadFile(overTLS.caFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pemBytes)
	var h2c http.Protocols
	h2c.SetUnencryptedHTTP2(true)
	for _, tt := range []struct {
		s  *h2Server
		tr *http.Transport
	}{
		{overTLS, &http.Transport{ForceAttemptHTTP2: true, TLSClientConfig: &tls.Config{RootCAs: roots}}},
		{clear, &http.Transport{Protocols: &h2c}},
	} {
		t.Run(tt.s.base[:strings.Index(tt.s.base, ":")], func(t *testing.T) {
			defer tt.tr.CloseIdleConnections()
			goClient50(t, &http.Client{Transport: tt.tr, Timeout: toolTimeout}, tt.s.base, site)
		})
	}
}

func goClient50(t *testing.T, c *http.Client, base string, site *h2Site) {
	var mu sync.Mutex
	conns := map[string]bool{} // local addresses of the connections used
	trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
		mu.Lock()
		conns[info.Conn.LocalAddr().String()] = true
		mu.Unlock()
	}}
	get := func(path string, want []byte) error {
		req, err := http.NewRequestWithContext(httptrace.WithClientTrace(t.Context(), trace), "GET", base+path, nil)
		if err != nil {
			return err
		}
		resp, err := c.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		switch {
		case err != nil:
			return fmt.Errorf("%s: %w", path, err)
		case resp.Proto != "HTTP/2.0" || resp.StatusCode != 200 || !bytes.Equal(body, want):
			return fmt.Errorf("%s: got %s %d and %d bytes, want HTTP/2.0 200 and %d", path, resp.Proto, resp.StatusCode, len(body), len(want))
		}
		return nil
	}
	// One request first, so that the 50 find its connection open.
	if err := get("/small.txt", site.small); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 50)
	for i := range 50 {
		path, want := "/small.txt", site.small
		if i%5 == 0 {
			path, want = "/big.bin", site.big
		}
		go func() { errs <- get(path, want) }()
	}
	for range 50 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if len(conns) != 1 {
		t.Errorf("requests went over %d connections, want one: %v", len(conns), conns)
	}
}

// TestBinaryH2Chromium: headless Chromium, trusting the local CA, loads a
// page and a folder listing from nave over HTTPS, and says (from
// PerformanceNavigationTiming.nextHopProtocol) that both came over h2.
func TestBinaryH2Chromium(t *testing.T) {
	overTLS := startH2(t, "serve", "--listen", "127.0.0.1:0", "--access-log", "off", "--browse", "--tls-self-signed", newH2Site(t).dir)
	dom := chromiumDOM(t, overTLS.base+"/h2.html", overTLS.caFile)
	for _, want := range []string{`<p id="page">page:h2</p>`, `<p id="listing">listing:h2 names inside.txt</p>`} {
		if !strings.Contains(dom, want) {
			t.Errorf("Chromium's DOM lacks %q:\n%.3000s", want, dom)
		}
	}
}
