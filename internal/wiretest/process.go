package wiretest

import (
	"bufio"
	"io"
	"os/exec"
	"regexp"
	"testing"
	"time"
)

// StartProcess starts cmd, a server under test (a Python upstream, say),
// and returns the first group of re's first match in what it prints on
// stdout or stderr: its address. The test fails if nothing matches
// within 20 seconds; the process is killed when the test ends.
func StartProcess(t testing.TB, cmd *exec.Cmd, re *regexp.Regexp) string {
	t.Helper()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
				break
			}
		}
		io.Copy(io.Discard, out)
	}()
	select {
	case addr := <-found:
		return addr
	case <-time.After(20 * time.Second):
		t.Fatalf("%v printed nothing that %v matches", cmd.Args, re)
	}
	return ""
}
