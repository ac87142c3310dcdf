package accesslog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"nave/internal/web"
	"nave/internal/web/webtest"
)

// recorder is a slog.Handler that keeps "LEVEL message key=value..." lines.
type recorder struct {
	mu    sync.Mutex
	lines []string
}

func (h *recorder) Enabled(context.Context, slog.Level) bool { return true }
func (h *recorder) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *recorder) WithGroup(string) slog.Handler            { return h }

func (h *recorder) Handle(_ context.Context, r slog.Record) error {
	s := r.Level.String() + " " + r.Message
	r.Attrs(func(a slog.Attr) bool {
		s += " " + a.String()
		return true
	})
	h.mu.Lock()
	h.lines = append(h.lines, s)
	h.mu.Unlock()
	return nil
}

func (h *recorder) get() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.lines)
}

// syncBuffer is a destination the test reads while the Logger writes. It
// notes whether every write ended at the end of a record.
type syncBuffer struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	writes int
	split  bool // a write did not end in '\n'
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.writes++
	if len(p) == 0 || p[len(p)-1] != '\n' {
		b.split = true
	}
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// failWriter fails while fail is set; partial is how many bytes of a
// failing write it keeps, as a full disk might.
type failWriter struct {
	mu      sync.Mutex
	fail    bool
	partial int
	buf     bytes.Buffer
}

var errTestWrite = errors.New("test: write failed")

func (w *failWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fail {
		n := min(w.partial, len(p))
		w.buf.Write(p[:n])
		return n, errTestWrite
	}
	return w.buf.Write(p)
}

func (w *failWriter) setFail(fail bool) {
	w.mu.Lock()
	w.fail = fail
	w.mu.Unlock()
}

func (w *failWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// newTestLogger returns a Logger with the test clock and zone, reporting to
// a recorder.
func newTestLogger(w io.Writer, f Format) (*Logger, *recorder) {
	rec := new(recorder)
	l := New(w, f, slog.New(rec))
	fixLogger(l)
	return l, rec
}

func fixLogger(l *Logger) {
	l.loc = testStart.Location()
	l.now = func() time.Time { return testStart.Add(testDuration) }
}

// request builds the exchange for GET target, and its Combined line.
func request(t testing.TB, target string) (*web.Request, *web.ResponseWriter, string) {
	r, w := exchange{
		method: "GET", target: target, minor: 1, host: "example.com", remote: "192.0.2.7:51234",
		header: []string{"User-Agent", "test"}, body: "ok",
	}.build(t)
	line := `192.0.2.7 - - [02/Jan/2026:15:04:05 +0100] "GET ` + target + ` HTTP/1.1" 200 2 "-" "test"` + "\n"
	return r, w, line
}

func TestCloseFlushes(t *testing.T) {
	for _, tt := range formatTests {
		t.Run(tt.name, func(t *testing.T) {
			for _, c := range []struct {
				f    Format
				want string
			}{{Combined, tt.combined}, {JSON, tt.jsonValue}} {
				var buf syncBuffer
				l, rec := newTestLogger(&buf, c.f)
				r, w := tt.ex.build(t)
				l.Log(r, w)
				if err := l.Close(); err != nil {
					t.Fatal(err)
				}
				if got, want := buf.String(), c.want+"\n"; got != want {
					t.Errorf("%v:\ngot  %q\nwant %q", c.f, got, want)
				}
				if got := rec.get(); len(got) != 0 {
					t.Errorf("errLog: got %q, want nothing", got)
				}
			}
		})
	}
}

func TestLogAfterClose(t *testing.T) {
	var buf syncBuffer
	l, _ := newTestLogger(&buf, Combined)
	r, w, line := request(t, "/first")
	l.Log(r, w)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l.Log(r, w)
	if err := l.Close(); err != nil {
		t.Errorf("second Close: got %v, want nil", err)
	}
	if got := buf.String(); got != line {
		t.Errorf("got %q, want %q", got, line)
	}
}

func TestNilLogger(t *testing.T) {
	l, err := Open("off", Combined, nil)
	if l != nil || err != nil {
		t.Fatalf("Open(off): got %v, %v, want nil, nil", l, err)
	}
	r, w, _ := request(t, "/")
	l.Log(r, w)
	if err := l.Close(); err != nil {
		t.Errorf("Close: got %v, want nil", err)
	}
}

func TestOpenFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "access.log")
	if err := os.WriteFile(path, []byte("old\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	want := "old\n"
	for _, target := range []string{"/one", "/two"} {
		l, err := Open(path, Combined, nil)
		if err != nil {
			t.Fatal(err)
		}
		fixLogger(l)
		r, w, line := request(t, target)
		l.Log(r, w)
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		want += line
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestReopen: after the file is renamed, Reopen sends later records to a
// new file of the old name; the buffered ones are not lost.
func TestReopen(t *testing.T) {
	dir := t.TempDir()
	path, rotated := filepath.Join(dir, "access.log"), filepath.Join(dir, "access.log.1")
	l, err := Open(path, Combined, nil)
	if err != nil {
		t.Fatal(err)
	}
	fixLogger(l)
	r1, w1, line1 := request(t, "/before")
	l.Log(r1, w1)
	if err := os.Rename(path, rotated); err != nil {
		t.Fatal(err)
	}
	if err := l.Reopen(); err != nil {
		t.Fatal(err)
	}
	r2, w2, line2 := request(t, "/after")
	l.Log(r2, w2)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	old, _ := os.ReadFile(rotated)
	cur, _ := os.ReadFile(path)
	// The record buffered at the rename may go to either file; none is
	// lost, none written twice, and the later one is in the new file.
	if got := string(old) + string(cur); got != line1+line2 {
		t.Errorf("both files: got %q, want %q", got, line1+line2)
	}
	if !strings.HasSuffix(string(cur), line2) {
		t.Errorf("new file: got %q, want it to end with %q", cur, line2)
	}
	if err := l.Reopen(); err != nil {
		t.Errorf("Reopen after Close: %v, want nil", err)
	}
}

// TestReopenFails: when the file cannot be opened again, the old one
// stays in use.
func TestReopenFails(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "logs")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "access.log")
	l, err := Open(path, Combined, nil)
	if err != nil {
		t.Fatal(err)
	}
	fixLogger(l)
	moved := dir + ".old"
	if err := os.Rename(dir, moved); err != nil {
		t.Fatal(err)
	}
	if err := l.Reopen(); err == nil {
		t.Error("Reopen into a missing folder: got nil, want an error")
	}
	r, w, line := request(t, "/still")
	l.Log(r, w)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(moved, "access.log")); string(got) != line {
		t.Errorf("old file: got %q, want %q", got, line)
	}
}

func TestOpenCreates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new.log")
	l, err := Open(path, JSON, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	// 0644 as far as the umask lets it.
	if perm := fi.Mode().Perm(); perm&^0o644 != 0 || perm&0o600 != 0o600 {
		t.Errorf("mode: got %v, want -rw-r--r-- less the umask", perm)
	}
}

func TestOpenStdout(t *testing.T) {
	l, err := Open("-", Combined, nil)
	if err != nil {
		t.Fatal(err)
	}
	if l.w != os.Stdout {
		t.Errorf("Open(-) writes to %v, want os.Stdout", l.w)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stdout.Stat(); err != nil {
		t.Errorf("stdout after Close: %v", err)
	}
}

func TestOpenErrors(t *testing.T) {
	if _, err := Open("", Combined, nil); !errors.Is(err, ErrNoDestination) {
		t.Errorf("Open(\"\"): got %v, want ErrNoDestination", err)
	}
	missing := filepath.Join(t.TempDir(), "no", "such", "dir.log")
	if _, err := Open(missing, Combined, nil); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open(%q): got %v, want ErrNotExist", missing, err)
	}
}

// waitFor polls cond until it holds or 3 s have passed.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(3 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("no %s after 3s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestFlushTimer(t *testing.T) {
	t.Parallel()
	var buf syncBuffer
	l, _ := newTestLogger(&buf, Combined)
	t.Cleanup(func() { l.Close() })
	r, w, line := request(t, "/timer")
	l.Log(r, w)
	waitFor(t, "record", func() bool { return buf.String() == line })

	// The timer is re-armed for the next record.
	r, w, line2 := request(t, "/again")
	l.Log(r, w)
	waitFor(t, "second record", func() bool { return buf.String() == line+line2 })
}

func TestFlushWhenFull(t *testing.T) {
	var buf syncBuffer
	l, _ := newTestLogger(&buf, Combined)
	t.Cleanup(func() { l.Close() })
	r, w, line := request(t, "/full")
	n := flushSize/len(line) + 1
	for range n {
		l.Log(r, w)
	}
	l.mu.Lock()
	kicked := l.kicked || l.writing || len(l.buf) < flushSize
	l.mu.Unlock()
	if !kicked {
		t.Error("a full buffer did not start a write")
	}
	want := strings.Repeat(line, n)
	waitFor(t, "records", func() bool { return buf.String() == want })
}

func TestConcurrentLog(t *testing.T) {
	const goroutines, perGoroutine = 32, 300
	var buf syncBuffer
	l, _ := newTestLogger(&buf, Combined)
	want := make(map[string]bool)
	var wg sync.WaitGroup
	for g := range goroutines {
		lines := make([]string, perGoroutine)
		for i := range lines {
			target := fmt.Sprintf("/g%d/r%d", g, i)
			_, _, lines[i] = request(t, target)
			want[lines[i]] = true
		}
		wg.Go(func() {
			for i := range perGoroutine {
				r, w, _ := request(t, fmt.Sprintf("/g%d/r%d", g, i))
				l.Log(r, w)
			}
		})
	}
	wg.Wait()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	got := strings.SplitAfter(out, "\n")
	if last := got[len(got)-1]; last != "" {
		t.Fatalf("output ends in a partial line %q", last)
	}
	got = got[:len(got)-1]
	if len(got) != goroutines*perGoroutine {
		t.Errorf("got %d lines, want %d", len(got), goroutines*perGoroutine)
	}
	for _, line := range got {
		if !want[line] {
			t.Fatalf("unexpected or repeated line %q", line)
		}
		delete(want, line)
	}
	if buf.split {
		t.Error("a write ended inside a record")
	}
	if buf.writes < 2 {
		t.Errorf("got %d writes of %d bytes, want the buffer flushed along the way", buf.writes, len(out))
	}
}

func TestWriteErrorReportedOnce(t *testing.T) {
	fw := new(failWriter)
	l, rec := newTestLogger(fw, Combined)
	t.Cleanup(func() { l.Close() })
	logFlush := func(target string) string {
		r, w, line := request(t, target)
		l.Log(r, w)
		l.flushPending()
		return line
	}

	fw.setFail(true)
	for _, target := range []string{"/lost1", "/lost2", "/lost3"} {
		logFlush(target)
	}
	wantLog := []string{
		`ERROR accesslog: write failed; dropping records until it recovers dest=*accesslog.failWriter err=test: write failed`,
	}
	if got := rec.get(); !slices.Equal(got, wantLog) {
		t.Errorf("errLog while failing:\ngot  %q\nwant %q", got, wantLog)
	}

	fw.setFail(false)
	want := logFlush("/back")
	want += logFlush("/still")
	if got := fw.String(); got != want {
		t.Errorf("written:\ngot  %q\nwant %q", got, want)
	}
	wantLog = append(wantLog, `INFO accesslog: writing again dest=*accesslog.failWriter dropped=3`)
	if got := rec.get(); !slices.Equal(got, wantLog) {
		t.Errorf("errLog after recovery:\ngot  %q\nwant %q", got, wantLog)
	}

	// A new failure is reported again.
	fw.setFail(true)
	logFlush("/lost4")
	if got := rec.get(); len(got) != 3 || !strings.HasPrefix(got[2], "ERROR ") {
		t.Errorf("errLog after a second failure: got %q, want a third line, an ERROR", got)
	}
}

func TestTornWrite(t *testing.T) {
	fw := &failWriter{partial: 10}
	l, _ := newTestLogger(fw, Combined)
	r, w, line := request(t, "/torn")
	fw.setFail(true)
	l.Log(r, w)
	l.flushPending()
	fw.setFail(false)
	r, w, line2 := request(t, "/whole")
	l.Log(r, w)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if got, want := fw.String(), line[:10]+"\n"+line2; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestDevFull(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full:", err)
	}
	rec := new(recorder)
	l, err := Open("/dev/full", Combined, slog.New(rec))
	if err != nil {
		t.Fatal(err)
	}
	r, w, _ := request(t, "/full")
	for range 3 {
		l.Log(r, w)
		l.flushPending()
	}
	l.Log(r, w)
	err = l.Close()
	if !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("Close: got %v, want ENOSPC", err)
	}
	got := rec.get()
	if len(got) != 1 || !strings.HasPrefix(got[0], "ERROR accesslog: write failed") ||
		!strings.Contains(got[0], "dest=/dev/full") || !strings.Contains(got[0], "no space left on device") {
		t.Errorf("errLog: got %q, want one ERROR naming /dev/full and ENOSPC", got)
	}
}

// gateWriter holds each write until the test lets it through.
type gateWriter struct {
	syncBuffer
	entered chan struct{} // a value per write begun
	gate    chan struct{} // a write proceeds on a receive; closed, all do
}

func newGateWriter() *gateWriter {
	return &gateWriter{entered: make(chan struct{}, 16), gate: make(chan struct{})}
}

func (g *gateWriter) Write(p []byte) (int, error) {
	select {
	case g.entered <- struct{}{}:
	default:
	}
	<-g.gate
	return g.syncBuffer.Write(p)
}

func TestStalledWriteDropsRecords(t *testing.T) {
	gw := newGateWriter()
	l, rec := newTestLogger(gw, Combined)
	r, w, line := request(t, "/stall")
	l.Log(r, w)
	var wg sync.WaitGroup
	wg.Go(l.flushPending)
	<-gw.entered

	// With the writer stuck, Log must neither block nor buffer without bound.
	logged := 1
	for range 2 * maxPending / len(line) {
		l.Log(r, w)
		logged++
	}
	l.mu.Lock()
	pending, lost := len(l.buf), l.lost
	l.mu.Unlock()
	if pending > maxPending+len(line) || lost == 0 {
		t.Errorf("behind a stuck write: %d bytes pending, %d records dropped; want at most %d pending and some dropped",
			pending, lost, maxPending+len(line))
	}
	wantWarn := "WARN accesslog: writes are not keeping up; dropping records dest=*accesslog.gateWriter"
	if got := rec.get(); !slices.Equal(got, []string{wantWarn}) {
		t.Errorf("errLog while stuck: got %q, want %q", got, wantWarn)
	}

	// The stuck write ends, but records were dropped behind it: not yet
	// recovered. (The next write, if the timer started one, waits at the gate.)
	gw.gate <- struct{}{}
	wg.Wait()
	if got := rec.get(); !slices.Equal(got, []string{wantWarn}) {
		t.Errorf("errLog after the stuck write: got %q, want %q", got, wantWarn)
	}

	close(gw.gate)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	out := gw.String()
	written := strings.Count(out, "\n")
	if out != strings.Repeat(line, written) {
		t.Error("output is not whole records")
	}
	wantLog := []string{wantWarn, fmt.Sprintf("INFO accesslog: writing again dest=*accesslog.gateWriter dropped=%d", logged-written)}
	if got := rec.get(); !slices.Equal(got, wantLog) {
		t.Errorf("errLog after release:\ngot  %q\nwant %q", got, wantLog)
	}
}

// A record logged while a write is under way is written by a later one,
// without Close.
func TestRecordDuringWrite(t *testing.T) {
	t.Parallel()
	gw := newGateWriter()
	l, _ := newTestLogger(gw, Combined)
	t.Cleanup(func() { l.Close() })
	r, w, line := request(t, "/first")
	l.Log(r, w)
	select {
	case <-gw.entered:
	case <-time.After(3 * time.Second):
		t.Fatal("no write after 3s")
	}
	r, w, line2 := request(t, "/during")
	l.Log(r, w)
	close(gw.gate)
	waitFor(t, "records", func() bool { return gw.String() == line+line2 })
}

func BenchmarkLogCombined(b *testing.B) {
	benchmarkLog(b, Combined)
}

func BenchmarkLogJSON(b *testing.B) {
	benchmarkLog(b, JSON)
}

func BenchmarkLogTemplate(b *testing.B) {
	f, err := ParseFormat(`$remote_addr [$time_local] "$request" $status $body_bytes_sent $request_time $request_id`)
	if err != nil {
		b.Fatal(err)
	}
	benchmarkLog(b, f)
}

func benchmarkLog(b *testing.B, f Format) {
	var req web.Request
	req.Method = []byte("GET")
	req.Target = []byte("/static/css/site.css?v=20260102")
	req.Authority = []byte("www.example.com")
	req.Start = time.Now()
	req.RemoteAddr = netip.MustParseAddrPort("203.0.113.45:52814")
	req.Header.Add("Host", "www.example.com")
	req.Header.Add("User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0")
	req.Header.Add("Referer", "https://www.example.com/blog/2026/01/hello-world")
	req.Header.Add("Accept", "text/css,*/*;q=0.1")
	var rec webtest.Recorder
	w := rec.Begin(&req)
	w.WriteHeader(200)
	w.Write(make([]byte, 4321))
	rec.End()

	l := New(io.Discard, f, nil)
	defer l.Close()
	b.ReportAllocs()
	for b.Loop() {
		l.Log(&req, w)
	}
	reportDropped(b, l)
}

// reportDropped reports the records dropped because the writer fell behind.
func reportDropped(b *testing.B, l *Logger) {
	l.mu.Lock()
	lost := l.lost
	l.mu.Unlock()
	b.ReportMetric(float64(lost)/float64(b.N), "dropped/op")
}

func BenchmarkLogCombinedParallel(b *testing.B) {
	l := New(io.Discard, Combined, nil)
	defer l.Close()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		r, w, _ := request(b, "/static/css/site.css?v=20260102")
		for pb.Next() {
			l.Log(r, w)
		}
	})
	reportDropped(b, l)
}
