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
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	// The echo arrives after the load event: Chromium dumps the DOM
	// once the page's virtual time budget is spent, which waits for the
	// page's network activity, the WebSocket's included.
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+filepath.Join(home, "profile"), "--virtual-time-budget=5000",
		"--dump-dom", "http://"+addr+"/?say=hello+from+chromium")
	cmd.Env = append(os.Environ(), "HOME="+home)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, out)
	}
	if want := `<li class="message">echo: hello from chromium</li>`; !strings.Contains(string(out), want) {
		t.Fatalf("the page does not show the echo %q:\n%.3000s", want, out)
	}
}
