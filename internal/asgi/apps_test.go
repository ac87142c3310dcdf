package asgi_test

// Real apps, real tests: FastAPI and Quart as their users write them,
// through nave in whatever mode the environment asks (HTTP/1.1 or
// HTTP/2, TLS or not: see wiretest).

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http/httputil"
	"net/textproto"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"nave/internal/asgi"
	"nave/internal/server"
	"nave/internal/wiretest"
)

// needPackage skips, or in CI fails, a test whose Debian package is
// missing.
func needPackage(t *testing.T, pkg, path string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing: run scripts/deps.sh", pkg)
		}
		t.Skipf("%s is missing: run scripts/deps.sh", pkg)
	}
}

// getJSON GETs target and decodes its JSON body into v, failing unless
// the status is want.
func getJSON(t *testing.T, srv *wiretest.Server, target string, want int, v any) *wiretest.Response {
	t.Helper()
	r := get(t, srv, target)
	if r.Status != want {
		t.Fatalf("GET %s: got %d %q, want %d", target, r.Status, r.Body, want)
	}
	if v != nil {
		if err := json.Unmarshal(r.Body, v); err != nil {
			t.Fatalf("GET %s: %v in %q", target, err, r.Body)
		}
	}
	return r
}

// post sends a POST with body and content type ct.
func post(t *testing.T, srv *wiretest.Server, target, ct string, body []byte) *wiretest.Response {
	t.Helper()
	c := srv.Dial(t)
	defer c.Close()
	c.Send(fmt.Sprintf("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s",
		target, ct, len(body), body))
	return c.ReadWhole("POST")
}

// streamOf opens target and returns its response head and a reader of
// its body as it arrives, chunk framing removed on HTTP/1.1.
func streamOf(t *testing.T, srv *wiretest.Server, target string) (*wiretest.Response, *bufio.Reader) {
	t.Helper()
	c := srv.Dial(t)
	t.Cleanup(c.Close)
	c.Send("GET " + target + " HTTP/1.1\r\nHost: x\r\n\r\n")
	r := c.ReadHead()
	if c.H2() {
		return r, c.Reader()
	}
	if r.Get("Transfer-Encoding") != "chunked" {
		t.Fatalf("GET %s: got %q, want a chunked stream", target, r.Head)
	}
	return r, bufio.NewReader(httputil.NewChunkedReader(c.Reader()))
}

// readUntil reads from br through the first delim, failing on an error
// (the read deadline included: the stream stalled).
func readUntil(t *testing.T, br *bufio.Reader, delim string) string {
	t.Helper()
	var b []byte
	for !bytes.HasSuffix(b, []byte(delim)) {
		c, err := br.ReadByte()
		if err != nil {
			t.Fatalf("reading the stream after %q: %v", b, err)
		}
		b = append(b, c)
	}
	return string(b)
}

// readReleased reads the three parts of a stream named name from body,
// each before it lets the app make the next with GET /release/NAME.
func readReleased(t *testing.T, srv *wiretest.Server, body *bufio.Reader, name string) {
	t.Helper()
	for i := range 3 {
		if i > 0 {
			get(t, srv, "/release/"+name)
		}
		if got, want := readUntil(t, body, "\n"), fmt.Sprintf("part %d\n", i); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
}

// poll GETs target until match holds for its body, for a few seconds.
func poll(t *testing.T, srv *wiretest.Server, target string, match func(string) bool) string {
	t.Helper()
	deadline := time.Now().Add(wiretest.Timeout)
	for {
		got := string(get(t, srv, target).Body)
		if match(got) {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: got %q, still not what the test waits for", target, got)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestFastAPIApp(t *testing.T) {
	needPackage(t, "python3-fastapi", "/usr/lib/python3/dist-packages/fastapi")
	needPackage(t, "python3-multipart", "/usr/lib/python3/dist-packages/multipart")
	srv, _, log := serveApp(t, asgi.Config{App: "fastapi_app:app"})
	fastAPIChecks(t, srv)
	if !strings.Contains(log.String(), "the endpoint failed on purpose") {
		t.Errorf("the raising endpoint's traceback is not in the log")
	}
}

// fastAPIChecks runs fastapi_app's routes through srv; the spec-checked
// runs call it too.
func fastAPIChecks(t *testing.T, srv *wiretest.Server) {
	t.Run("params", func(t *testing.T) { fastAPIParams(t, srv) })
	t.Run("json", func(t *testing.T) { fastAPIJSON(t, srv) })
	t.Run("form", func(t *testing.T) { fastAPIForm(t, srv) })
	t.Run("upload", func(t *testing.T) { fastAPIUpload(t, srv) })
	t.Run("stream", func(t *testing.T) { fastAPIStream(t, srv) })
	t.Run("sse", func(t *testing.T) { fastAPIEvents(t, srv) })
	t.Run("file", func(t *testing.T) { fastAPIFile(t, srv) })
	t.Run("background", func(t *testing.T) { fastAPIBackground(t, srv) })
	t.Run("errors", func(t *testing.T) { fastAPIErrors(t, srv) })
}

func fastAPIParams(t *testing.T, srv *wiretest.Server) {
	var item struct {
		ItemID int     `json:"item_id"`
		Q      *string `json:"q"`
		Limit  int     `json:"limit"`
	}
	getJSON(t, srv, "/items/42?q=%C3%A9t%C3%A9&limit=3", 200, &item)
	if item.ItemID != 42 || item.Q == nil || *item.Q != "été" || item.Limit != 3 {
		t.Errorf("typed parameters: got %+v", item)
	}
	item.Q = nil
	getJSON(t, srv, "/items/7", 200, &item)
	if item.ItemID != 7 || item.Q != nil || item.Limit != 10 {
		t.Errorf("defaults: got %+v, want q null and limit 10", item)
	}
	for _, target := range []string{"/items/abc", "/items/7?limit=many"} {
		var bad struct {
			Detail []struct {
				Loc  []any  `json:"loc"`
				Type string `json:"type"`
			} `json:"detail"`
		}
		getJSON(t, srv, target, 422, &bad)
		if len(bad.Detail) != 1 || bad.Detail[0].Type != "type_error.integer" {
			t.Errorf("GET %s: got %+v, want one type_error.integer", target, bad)
		}
	}
}

func fastAPIJSON(t *testing.T, srv *wiretest.Server) {
	r := post(t, srv, "/items", "application/json", []byte(`{"name": "lamp", "price": 2.25, "tags": ["a", "b"]}`))
	if r.Status != 201 || string(r.Body) != `{"name":"lamp","total":4.5,"tags":["a","b"]}` {
		t.Errorf("POST /items: got %d %q", r.Status, r.Body)
	}
	if !strings.HasPrefix(r.Get("Content-Type"), "application/json") {
		t.Errorf("POST /items: Content-Type %q", r.Get("Content-Type"))
	}
	r = post(t, srv, "/items", "application/json", []byte(`{"name": "lamp"}`))
	if r.Status != 422 || !strings.Contains(string(r.Body), `"price"`) {
		t.Errorf("a body without price: got %d %q, want 422 naming price", r.Status, r.Body)
	}
	r = post(t, srv, "/items", "application/json", []byte(`{"name": `))
	if r.Status != 422 {
		t.Errorf("broken JSON: got %d %q, want 422", r.Status, r.Body)
	}
}

func fastAPIForm(t *testing.T, srv *wiretest.Server) {
	r := post(t, srv, "/form", "application/x-www-form-urlencoded", []byte("name=J%C3%BCrgen+M&count=3"))
	if r.Status != 200 || string(r.Body) != `{"name":"Jürgen M","count":3}` {
		t.Errorf("POST /form: got %d %q", r.Status, r.Body)
	}
	r = post(t, srv, "/form", "application/x-www-form-urlencoded", []byte("name=x&count=three"))
	if r.Status != 422 {
		t.Errorf("a form with a bad count: got %d %q, want 422", r.Status, r.Body)
	}
}

// fastAPIUpload sends two files of several MiB in one multipart body;
// the app hashes what it received, the test what it sent.
func fastAPIUpload(t *testing.T, srv *wiretest.Server) {
	files := map[string][]byte{"a.bin": make([]byte, 3<<20+17), "b.txt": bytes.Repeat([]byte("line\r\n--\r\n"), 20<<10)}
	for i := range files["a.bin"] {
		files["a.bin"][i] = byte(i*7 + i>>8)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("note", "two files")
	for _, name := range []string{"a.bin", "b.txt"} {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="files"; filename=%q`, name))
		h.Set("Content-Type", "application/octet-stream")
		w, _ := mw.CreatePart(h)
		w.Write(files[name])
	}
	mw.Close()
	r := post(t, srv, "/upload", mw.FormDataContentType(), body.Bytes())
	var got struct {
		Note  string `json:"note"`
		Files []struct {
			Filename string `json:"filename"`
			Size     int    `json:"size"`
			SHA256   string `json:"sha256"`
		} `json:"files"`
	}
	if r.Status != 200 || json.Unmarshal(r.Body, &got) != nil {
		t.Fatalf("POST /upload: got %d %q", r.Status, r.Body)
	}
	if got.Note != "two files" || len(got.Files) != 2 {
		t.Fatalf("POST /upload: got %+v", got)
	}
	for i, name := range []string{"a.bin", "b.txt"} {
		sum := sha256.Sum256(files[name])
		f := got.Files[i]
		if f.Filename != name || f.Size != len(files[name]) || f.SHA256 != hex.EncodeToString(sum[:]) {
			t.Errorf("file %s: the app got %+v, want %d bytes with SHA-256 %x", name, f, len(files[name]), sum)
		}
	}
}

// fastAPIStream reads each part of a StreamingResponse before it lets
// the app make the next: a gateway that held the body back would stall.
func fastAPIStream(t *testing.T, srv *wiretest.Server) {
	r, body := streamOf(t, srv, "/stream?name=st")
	if r.Status != 200 || !strings.HasPrefix(r.Get("Content-Type"), "text/plain") {
		t.Fatalf("GET /stream: got %q", r.Head)
	}
	readReleased(t, srv, body, "st")
	if rest, err := io.ReadAll(body); err != nil || len(rest) > 0 {
		t.Errorf("after the last part: got %q, %v, want the end", rest, err)
	}
}

// fastAPIEvents reads server-sent events one at a time, each before the
// app produces the next.
func fastAPIEvents(t *testing.T, srv *wiretest.Server) {
	r, body := streamOf(t, srv, "/events?name=sse")
	if r.Status != 200 || !strings.HasPrefix(r.Get("Content-Type"), "text/event-stream") || r.Get("Cache-Control") != "no-cache" {
		t.Fatalf("GET /events: got %q", r.Head)
	}
	for i := range 3 {
		if i > 0 {
			get(t, srv, "/release/sse")
		}
		want := fmt.Sprintf("id: %d\nevent: tick\ndata: {\"n\": %d}\n\n", i, i)
		if got := readUntil(t, body, "\n\n"); got != want {
			t.Fatalf("event %d: got %q, want %q", i, got, want)
		}
	}
}

func fastAPIFile(t *testing.T, srv *wiretest.Server) {
	const content = "a file sent by path\n"
	r := get(t, srv, "/file")
	if r.Status != 200 || string(r.Body) != content {
		t.Fatalf("GET /file: got %d %q", r.Status, r.Body)
	}
	want := map[string]string{
		"Content-Type":        "text/plain; charset=utf-8",
		"Content-Length":      "20",
		"Content-Disposition": `attachment; filename="greeting.txt"`,
	}
	for k, v := range want {
		if got := r.Get(k); got != v {
			t.Errorf("GET /file %s: got %q, want %q", k, got, v)
		}
	}
	for _, k := range []string{"Etag", "Last-Modified"} {
		if r.Get(k) == "" {
			t.Errorf("GET /file: no %s in %q", k, r.Head)
		}
	}
	h := roundTrip(t, srv, "HEAD /file HTTP/1.1\r\nHost: x\r\n\r\n")
	if h.Status != 200 || len(h.Body) != 0 || h.Get("Content-Length") != "20" || h.Get("Etag") != r.Get("Etag") {
		t.Errorf("HEAD /file: got %q %q, want GET's head and no body", h.Head, h.Body)
	}
}

// fastAPIBackground: the 202 arrives while the background task still
// waits to be released, so it ran after the response; its work shows
// once released.
func fastAPIBackground(t *testing.T, srv *wiretest.Server) {
	name := strings.ReplaceAll(t.Name(), "/", "-") // a task of its own in each run on the worker
	r := post(t, srv, "/tasks/"+name, "application/json", nil)
	if r.Status != 202 || string(r.Body) != `{"queued":"`+name+`"}` {
		t.Fatalf("POST /tasks/%s: got %d %q", name, r.Status, r.Body)
	}
	var done struct{ Done []string }
	getJSON(t, srv, "/tasks", 200, &done)
	if slices.Contains(done.Done, name) {
		t.Fatalf("the task ran before it was released: %v", done.Done)
	}
	get(t, srv, "/release/task-"+name)
	poll(t, srv, "/tasks", func(s string) bool { return strings.Contains(s, `"`+name+`"`) })
}

// fastAPIErrors: a 404, an HTTPException, and a 500 from an endpoint that
// raises, after which the same worker still serves.
func fastAPIErrors(t *testing.T, srv *wiretest.Server) {
	var before, after struct{ Pid int }
	getJSON(t, srv, "/pid", 200, &before)
	if r := get(t, srv, "/nowhere"); r.Status != 404 || string(r.Body) != `{"detail":"Not Found"}` {
		t.Errorf("GET /nowhere: got %d %q", r.Status, r.Body)
	}
	if r := get(t, srv, "/teapot"); r.Status != 418 || string(r.Body) != `{"detail":"short and stout"}` {
		t.Errorf("GET /teapot: got %d %q", r.Status, r.Body)
	}
	if r := get(t, srv, "/boom"); r.Status != 500 || string(r.Body) != "Internal Server Error" {
		t.Errorf("GET /boom: got %d %q, want 500", r.Status, r.Body)
	}
	getJSON(t, srv, "/pid", 200, &after)
	if after.Pid != before.Pid || before.Pid == 0 {
		t.Errorf("after the 500: worker %d, want the same %d still serving", after.Pid, before.Pid)
	}
	if r := get(t, srv, "/"); r.Status != 200 || string(r.Body) != "Hello from FastAPI" {
		t.Errorf("GET / after the 500: got %d %q", r.Status, r.Body)
	}
}

// serveAppAndWS is serveApp, plus a listener in the clear (HTTP/1.1 and
// h2c) for the WebSocket clients, which pick their protocol themselves.
func serveAppAndWS(t *testing.T, cfg asgi.Config) (*wiretest.Server, string, *syncLog) {
	t.Helper()
	mount, h, log, logger := startApp(t, cfg)
	stopAfter(t, h)
	srv := wiretest.Serve(t, server.New(server.Config{Handler: mount, Logger: logger}))
	_, addr := listenFor(t, mount, logger, nil)
	return srv, addr, log
}

func TestQuart(t *testing.T) {
	needPackage(t, "python3-quart", "/usr/lib/python3/dist-packages/quart")
	srv, addr, _ := serveAppAndWS(t, asgi.Config{App: "quart_app:app"})
	quartChecks(t, srv)
	runClient(t, addr, "quart", "str 5 True", "bytes 2 True", "str 100000 True", "closed 4002")
}

// quartChecks runs quart_app's routes through srv; the spec-checked runs
// call it too.
func quartChecks(t *testing.T, srv *wiretest.Server) {
	if r := get(t, srv, "/"); r.Status != 200 || string(r.Body) != "Hello from Quart" {
		t.Errorf("GET /: got %d %q", r.Status, r.Body)
	}
	r := post(t, srv, "/json?x=%C3%A9", "application/json", []byte(`{"a": [1, 2], "b": "ü"}`))
	var got struct {
		Got    map[string]any
		Method string
		Args   string
	}
	if r.Status != 201 || json.Unmarshal(r.Body, &got) != nil || got.Method != "POST" || got.Args != "é" ||
		got.Got["b"] != "ü" || len(got.Got["a"].([]any)) != 2 {
		t.Errorf("POST /json: got %d %q", r.Status, r.Body)
	}
	if r := get(t, srv, "/missing"); r.Status != 404 {
		t.Errorf("GET /missing: got %d, want 404", r.Status)
	}
	head, body := streamOf(t, srv, "/stream?name=q")
	if head.Status != 200 {
		t.Fatalf("GET /stream: got %q", head.Head)
	}
	readReleased(t, srv, body, "q")
}
