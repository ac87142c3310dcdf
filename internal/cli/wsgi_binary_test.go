package cli

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"nave/internal/wiretest"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startWSGIBinary runs the nave binary's wsgi command and returns it with
// the address it printed. The process is killed when the test ends.
func startWSGIBinary(t *testing.T, args ...string) (*exec.Cmd, string, *syncBuffer) {
	t.Helper()
	needPython(t)
	bin := buildNave(t)
	args = append([]string{"wsgi", "--listen", "127.0.0.1:0", "--python", testPython, "--access-log", "off"}, args...)
	cmd := exec.Command(bin, args...)
	stdout, stderr := startCommand(t, cmd)
	return cmd, servingAddr(t, stdout, stderr, wsgiServingLine), stderr
}

// procKiB reads a "Name: N kB" line of /proc/PID/status.
func procKiB(t *testing.T, pid int, name string) int {
	t.Helper()
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, name+":"); ok {
			n, _ := strconv.Atoi(strings.Fields(rest)[0])
			return n
		}
	}
	t.Fatalf("no %s in /proc/%d/status", name, pid)
	return 0
}

// childPIDs lists a process's children, from every thread's list.
func childPIDs(t *testing.T, pid int) []int {
	t.Helper()
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	var pids []int
	for _, f := range tasks {
		data, _ := os.ReadFile(f)
		for field := range strings.FieldsSeq(string(data)) {
			n, _ := strconv.Atoi(field)
			pids = append(pids, n)
		}
	}
	return pids
}

// TestBinaryWSGIUploadMemory: a 50 MB upload to the Flask example goes
// through nave and its worker with memory bounded on both sides, and
// arrives whole (checked by hash).
func TestBinaryWSGIUploadMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	cmd, addr, _ := startWSGIBinary(t, "--workers", "1", "--chdir", "../../examples/flask", "app:app")
	kids := childPIDs(t, cmd.Process.Pid)
	if len(kids) != 1 {
		t.Fatalf("children %v, want one worker", kids)
	}
	naveBefore := procKiB(t, cmd.Process.Pid, "VmHWM")
	workerBefore := procKiB(t, kids[0], "VmHWM")

	const size = 50 << 20
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	h := sha256.New()
	go func() {
		fw, _ := mw.CreateFormFile("file", "big.bin")
		block := make([]byte, 1<<16)
		for i := 0; i < size; i += len(block) {
			for j := range block {
				block[j] = byte(i/len(block) + j)
			}
			h.Write(block)
			fw.Write(block)
		}
		mw.Close()
		pw.Close()
	}()
	req, _ := http.NewRequest("POST", "http://"+addr+"/checksum", pr)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	client := &http.Client{Timeout: 2 * time.Minute}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got struct {
		Size   int    `json:"size"`
		Sha256 string `json:"sha256"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil || resp.StatusCode != 200 {
		t.Fatalf("status %d, %v", resp.StatusCode, err)
	}
	if want := hex.EncodeToString(h.Sum(nil)); got.Size != size || got.Sha256 != want {
		t.Errorf("got %d bytes %s, want %d %s", got.Size, got.Sha256, size, want)
	}
	naveGrew := procKiB(t, cmd.Process.Pid, "VmHWM") - naveBefore
	workerGrew := procKiB(t, kids[0], "VmHWM") - workerBefore
	t.Logf("peak RSS growth for a %d MiB upload: nave %d KiB, worker %d KiB", size>>20, naveGrew, workerGrew)
	// The body is spooled to a file: well under the upload's size.
	if naveGrew > 16<<10 || workerGrew > 16<<10 {
		t.Errorf("peak RSS grew by %d KiB (nave) and %d KiB (worker) for a %d KiB upload", naveGrew, workerGrew, size>>10)
	}
}

// TestBinaryWSGISignals: SIGHUP reloads the code (new workers, the new
// code); with broken code the old workers stay; SIGTERM drains a request
// in flight and stops the workers.
func TestBinaryWSGISignals(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := writeApp(t, "app.py", pidApp)
	cmd, addr, stderr := startWSGIBinary(t, "--workers", "2", "--chdir", dir, "app:app")
	get := func(path string) string {
		t.Helper()
		got := exchange(t, addr, "GET "+path+" HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
		_, body, _ := strings.Cut(got, "\r\n\r\n")
		return body
	}

	writeVersion := func(src string) {
		name := filepath.Join(dir, "app.py")
		os.WriteFile(name, []byte(src), 0o644)
		future := time.Now().Add(time.Hour + time.Duration(len(src))*time.Second)
		os.Chtimes(name, future, future) // never a stale .pyc
	}
	writeVersion(strings.Replace(pidApp, `"%s %s %s"`, `"v2 %s %s %s"`, 1))
	cmd.Process.Signal(syscall.SIGHUP)
	deadline := time.Now().Add(20 * time.Second)
	for !strings.HasPrefix(get("/"), "v2 ") {
		if time.Now().After(deadline) {
			t.Fatalf("SIGHUP did not load the new code; got %q", get("/"))
		}
		time.Sleep(50 * time.Millisecond)
	}

	writeVersion("def app(:\n    syntax error on purpose\n")
	cmd.Process.Signal(syscall.SIGHUP)
	for !strings.Contains(stderr.String(), "reload failed; the old workers keep serving") {
		if time.Now().After(deadline) {
			t.Fatalf("no reload failure logged; stderr %q", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := get("/"); !strings.HasPrefix(got, "v2 ") {
		t.Errorf("after a failed reload: got %q", got)
	}

	// SIGTERM with a request in flight: it completes, then nave exits 0
	// and its workers are gone.
	workers := childPIDs(t, cmd.Process.Pid)
	c := wiretest.Dial(t, addr)
	c.Send("GET /sleep?0.5 HTTP/1.1\r\nHost: h\r\n\r\n")
	time.Sleep(150 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGTERM)
	got := c.ReadAll()
	if !bytes.HasPrefix(got, []byte("HTTP/1.1 200 OK\r\n")) || !bytes.Contains(got, []byte("Connection: close")) {
		t.Errorf("in flight at SIGTERM: got %q", got)
	}
	waitExit(t, cmd)
	for _, p := range workers {
		if syscall.Kill(p, 0) == nil {
			t.Errorf("worker %d still alive after nave exited", p)
		}
	}
}

// waitExit waits for nave, told to stop, to exit with status 0.
func waitExit(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("nave exited with %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("nave did not exit after SIGTERM")
	}
}

// startCommand starts cmd with its standard output piped to the caller,
// kills it when the test ends, and logs its standard error if the test
// failed.
func startCommand(t *testing.T, cmd *exec.Cmd) (io.Reader, *syncBuffer) {
	t.Helper()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := new(syncBuffer)
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("nave's stderr:\n%s", stderr.String())
		}
	})
	return stdout, stderr
}
