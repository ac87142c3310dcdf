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

// WebSocketEchoPy is a WebSocket echo server on Python's websockets
// library (Debian's python3-websockets), to run with python3 -c: it
// prints its address, which WebSocketEchoAddr finds.
const WebSocketEchoPy = `
import asyncio, websockets
async def echo(ws, path=None):
    async for m in ws:
        await ws.send(m)
async def main():
    async with websockets.serve(echo, "127.0.0.1", 0) as s:
        print("ws on %s:%d" % s.sockets[0].getsockname()[:2], flush=True)
        await asyncio.Future()
asyncio.run(main())
`

// WebSocketEchoAddr finds WebSocketEchoPy's address in what it prints.
var WebSocketEchoAddr = regexp.MustCompile(`ws on (127\.0\.0\.1:\d+)`)
