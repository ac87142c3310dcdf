package asgi_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestChromiumChat: headless Chromium loads examples/fastapi-chat's page
// from nave; the page opens a WebSocket, sends a message, and shows the
// echo, which the DOM Chromium dumps must hold.
func TestChromiumChat(t *testing.T) {
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("needs Debian's chromium")
	}
	addr := serveChat(t)
	home := t.TempDir()
	// The echo arrives after the load event, and Chromium's virtual time
	// does not wait for WebSocket traffic: the DOM may be dumped before
	// the echo is in it. So Chromium loads the page up to three times;
	// each load is the whole check, and a broken WebSocket path fails
	// all three.
	want := `<li class="message">echo: hello from chromium</li>`
	var out []byte
	for try := 0; try < 3; try++ {
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
			"--disable-background-networking", "--disable-component-update", "--disable-sync",
			"--user-data-dir="+filepath.Join(home, "profile"), "--virtual-time-budget=5000",
			"--dump-dom", "http://"+addr+"/?say=hello+from+chromium")
		cmd.Env = append(os.Environ(), "HOME="+home)
		out, err = cmd.Output()
		cancel()
		if err != nil {
			t.Fatalf("chromium: %v\n%s", err, out)
		}
		if strings.Contains(string(out), want) {
			return
		}
	}
	t.Fatalf("the page does not show the echo %q after three loads:\n%.3000s", want, out)
}
