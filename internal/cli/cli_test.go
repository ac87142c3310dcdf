package cli

import (
	"bytes"
	"context"
	"io"
	"nave/internal/wiretest"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe to write from the command and read
// from the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func runMain(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = Main(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestVersionAndHelp(t *testing.T) {
	code, out, _ := runMain("version")
	if code != 0 || !strings.HasPrefix(out, "nave "+Version+" (go") {
		t.Errorf("version: code %d, stdout %q", code, out)
	}
	for _, args := range [][]string{{"help"}, {"--help"}, {"help", "serve"}, {"serve", "--help"}, {"serve", "site", "-h"}, {"version", "--help"}, {"help", "version"}, {"wsgi", "--help"}} {
		code, out, errOut := runMain(args...)
		if code != 0 || !strings.Contains(out, "Usage") || errOut != "" {
			t.Errorf("%v: code %d, stdout %q, stderr %q", args, code, out, errOut)
		}
	}
}

// TestUsageErrors: each bad invocation prints one line naming the problem
// on stderr and exits 2, having started nothing.
func TestUsageErrors(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	file := filepath.Join(t.TempDir(), "file.txt")
	os.WriteFile(file, []byte("x"), 0o644)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no command", nil, "Usage"},
		{"unknown command", []string{"frobnicate"}, `unknown command "frobnicate"`},
		{"version with an argument", []string{"version", "now"}, `nave version: takes no arguments, got "now"`},
		{"unknown flag", []string{"serve", "--nope"}, "flag provided but not defined: -nope"},
		{"bad size", []string{"serve", "--max-body", "lots"}, `"lots" is not a size`},
		{"bad duration", []string{"serve", "--idle-timeout", "forever"}, "idle-timeout"},
		{"negative timeout", []string{"serve", "--head-timeout", "-1s"}, "--head-timeout must be positive"},
		{"missing dir", []string{"serve", "/no/such/dir"}, "/no/such/dir: no such directory"},
		{"file as dir", []string{"serve", file}, "is not a directory"},
		{"two dirs", []string{"serve", "a", "b"}, "one DIR at most"},
		{"bad log format", []string{"serve", "--log-format", "xml"}, "xml"},
		{"bad log level", []string{"serve", "--log-level", "loud"}, `--log-level "loud"`},
		{"address in use", []string{"serve", "--listen", busy.Addr().String()}, "cannot listen on " + busy.Addr().String() + ": address already in use"},
		{"bad address", []string{"serve", "--listen", "nonsense"}, "cannot listen on nonsense"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runMain(tt.args...)
			if code != 2 {
				t.Errorf("exit code %d, want 2 (stderr %q)", code, errOut)
			}
			if !strings.Contains(errOut, tt.want) {
				t.Errorf("stderr %q does not contain %q", errOut, tt.want)
			}
			if tt.args != nil && strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
				t.Errorf("stderr has more than one line: %q", errOut)
			}
			if strings.Contains(out, "Serving") {
				t.Errorf("the server started: stdout %q", out)
			}
		})
	}
}

var servingLine = regexp.MustCompile(`http://(127\.0\.0\.1:\d+)/`)

// startServe runs Main("serve", args...) until the test ends and returns
// the address it printed.
func startServe(t *testing.T, args ...string) (addr string, stderr *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	stderr = new(syncBuffer)
	done := make(chan int)
	go func() { done <- Main(ctx, append([]string{"serve", "--listen", "127.0.0.1:0"}, args...), &out, stderr) }()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("serve exited %d, stderr %q", code, stderr.String())
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if m := servingLine.FindStringSubmatch(out.String()); m != nil {
			return m[1], stderr
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no serving line; stdout %q stderr %q", out.String(), stderr.String())
	return "", nil
}

// exchange sends raw bytes and returns everything the server sends until
// it closes the connection.
func exchange(t *testing.T, addr, raw string) string {
	t.Helper()
	c := wiretest.Dial(t, addr)
	defer c.Close()
	c.Send(raw)
	return string(c.ReadAll())
}

// TestTelnetDemoSite is the classic first lesson: a person types a request
// with bare LF line endings and gets the welcome page.
func TestTelnetDemoSite(t *testing.T) {
	addr, _ := startServe(t, "--access-log", "off")
	got := exchange(t, addr, "GET / HTTP/1.0\n\n")
	if !strings.HasPrefix(got, "HTTP/1.1 200 OK\r\n") || !strings.Contains(got, "<h1>nave is running</h1>") {
		t.Errorf("got %q", got)
	}
	got = exchange(t, addr, "GET /style.css HTTP/1.1\nHost: x\nConnection: close\n\n")
	if !strings.Contains(got, "Content-Type: text/css; charset=utf-8\r\n") {
		t.Errorf("style.css: got %q", got)
	}
	got = exchange(t, addr, "GET /missing HTTP/1.0\r\n\r\n")
	if !strings.HasPrefix(got, "HTTP/1.1 404 Not Found\r\n") {
		t.Errorf("missing: got %q", got)
	}
}

func TestServeDirAndAccessLog(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "index.html"), []byte("hello from htdocs\n"), 0o644)
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	logPath := filepath.Join(t.TempDir(), "access.log")
	addr, _ := startServe(t, dir, "--access-log", logPath)

	got := exchange(t, addr, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	if !strings.HasSuffix(got, "\r\n\r\nhello from htdocs\n") {
		t.Errorf("index: got %q", got)
	}
	got = exchange(t, addr, "GET /sub HTTP/1.0\r\n\r\n")
	if !strings.HasPrefix(got, "HTTP/1.1 301 ") || !strings.Contains(got, "\r\nLocation: /sub/\r\n") {
		t.Errorf("redirect: got %q", got)
	}
	got = exchange(t, addr, "GET /../../etc/passwd HTTP/1.0\r\n\r\n")
	if strings.Contains(got, "root:") || !strings.HasPrefix(got, "HTTP/1.1 404 ") {
		t.Errorf("traversal: got %q", got)
	}
	// The log is flushed within about a second, or at exit.
	deadline := time.Now().Add(5 * time.Second)
	var log []byte
	for time.Now().Before(deadline) {
		log, _ = os.ReadFile(logPath)
		if bytes.Count(log, []byte("\n")) >= 3 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	lines := strings.Split(strings.TrimSpace(string(log)), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], `"GET / HTTP/1.1" 200 18 "-" "-"`) {
		t.Errorf("access log %q", log)
	}
}

// TestBinarySignals builds the real binary: SIGTERM with a download in
// flight lets it finish and exits 0.
func TestBinarySignals(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildNave(t)
	dir := t.TempDir()
	big := filepath.Join(dir, "big.bin")
	const size = 32 << 20
	if err := os.WriteFile(big, bytes.Repeat([]byte("nave"), size/4), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd, addr := startBinary(t, bin, dir)

	c := wiretest.Dial(t, addr)
	c.Send("GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
	head := c.ReadHead().Head
	br := c.Reader()
	if !strings.Contains(head, "Content-Length: 33554432\r\n") {
		t.Fatalf("head %q", head)
	}
	// Read a little, signal, then read the rest slowly enough that the
	// signal lands while the body is in flight.
	first := make([]byte, 1<<20)
	if _, err := io.ReadFull(br, first); err != nil {
		t.Fatal(err)
	}
	cmd.Process.Signal(os.Interrupt)
	n, err := io.Copy(io.Discard, br)
	if err != nil || n+int64(len(first)) != size {
		t.Errorf("body after signal: read %d more, err %v; want %d in all", n, err, size)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("nave exited with %v after a single signal, want 0", err)
	}
}

// TestListenDeferAccept: nave's listeners ask the kernel to hand over a
// connection once its first bytes arrived (TCP_DEFER_ACCEPT, as nginx's
// "deferred"), and a connection still works.
func TestListenDeferAccept(t *testing.T) {
	ln, err := listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if runtime.GOOS == "linux" {
		rc, err := ln.(*net.TCPListener).SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		var v int
		var gerr error
		rc.Control(func(fd uintptr) {
			v, gerr = syscall.GetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_DEFER_ACCEPT)
		})
		if gerr != nil || v <= 0 {
			t.Errorf("TCP_DEFER_ACCEPT: got %d, %v; want it set", v, gerr)
		}
	}
	go func() {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err == nil {
			c.Write([]byte("x"))
			c.Close()
		}
	}()
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
}
