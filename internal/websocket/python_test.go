package websocket

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// pythonClient talks to the echo server with the websockets library
// (Debian's python3-websockets, see scripts/deps.sh), which offers
// permessage-deflate by default, and prints what it saw.
const pythonClient = `
import asyncio, sys, websockets

async def main(url):
    async with websockets.connect(url, subprotocols=["chat"], max_size=2**22) as ws:
        print("subprotocol", ws.subprotocol)
        print("extensions", ",".join(e.name for e in ws.extensions))
        await ws.send("héllo")
        print("text", await ws.recv())
        await ws.send(b"\x00\x01\xfe\xff")
        print("binary", (await ws.recv()).hex())
        big = bytes(range(256)) * 4096
        await ws.send(big)
        print("1MiB", await ws.recv() == big)
        big_text = "ab" * (1 << 19)
        await ws.send(big_text)
        print("1MiB text", await ws.recv() == big_text)
        await (await ws.ping(b"are you there"))
        print("pong")
        await ws.close(code=4000, reason="done")
        print("closed", ws.close_code)

asyncio.run(main(sys.argv[1]))
`

// TestPythonClient: a real client, Python's websockets, against nave.
func TestPythonClient(t *testing.T) {
	const python = "/usr/bin/python3"
	if err := exec.Command(python, "-c", "import websockets").Run(); err != nil {
		t.Skip("needs Debian's python3-websockets (scripts/deps.sh installs it)")
	}
	addr := serve(t, echo(Options{Compression: true, PingInterval: time.Minute}))
	script := t.TempDir() + "/client.py"
	if err := os.WriteFile(script, []byte(pythonClient), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(python, script, "ws://"+addr+"/ws")
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("client failed: %v\n%s", err, out)
	}
	want := strings.Join([]string{
		"subprotocol chat",
		"extensions permessage-deflate",
		"text héllo",
		"binary 0001feff",
		"1MiB True",
		"1MiB text True",
		"pong",
		"closed 4000",
	}, "\n") + "\n"
	if string(out) != want {
		t.Fatalf("the client printed\n%s\nwant\n%s", out, want)
	}
}
