package upgrade

import (
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"nave/internal/systemd"
)

// TestMain doubles as the new binary: NAVE_UPGRADE_CHILD says how it
// behaves.
func TestMain(m *testing.M) {
	switch os.Getenv("NAVE_UPGRADE_CHILD") {
	case "":
		os.Exit(m.Run())
	case "ready":
		ls, err := systemd.Listeners()
		if err != nil || len(ls) == 0 {
			os.Stderr.WriteString("no sockets\n")
			os.Exit(2)
		}
		if ok, err := systemd.Notify("STATUS=starting\nREADY=1"); !ok || err != nil {
			os.Exit(2)
		}
		for _, l := range ls {
			c, err := l.Accept()
			if err != nil {
				os.Exit(1)
			}
			c.Write([]byte("new " + l.Name))
			c.Close()
		}
		os.Exit(0)
	case "exit":
		os.Stderr.WriteString("nave: config.toml:3: listeners[0].address: missing port\n")
		os.Exit(2)
	case "hang":
		systemd.Listeners()
		time.Sleep(time.Minute)
		os.Exit(1)
	}
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func spec(mode string, ls ...systemd.Listener) Spec {
	return Spec{Path: os.Args[0], Env: append(os.Environ(), "NAVE_UPGRADE_CHILD="+mode),
		Listeners: ls, Timeout: 10 * time.Second, Stderr: io.Discard}
}

// TestHandOver: the new process gets the sockets under their names, Start
// returns once it said READY=1, and connections made to the old addresses
// reach it.
func TestHandOver(t *testing.T) {
	web, admin := listen(t), listen(t)
	p, err := Start(spec("ready", systemd.Listener{Name: "web", Listener: web}, systemd.Listener{Name: "admin", Listener: admin}))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Kill()
	// The old process stops accepting, as it does once the new one is ready.
	web.Close()
	admin.Close()
	for _, tc := range []struct{ addr, name string }{{web.Addr().String(), "web"}, {admin.Addr().String(), "admin"}} {
		c, err := net.DialTimeout("tcp", tc.addr, 5*time.Second)
		if err != nil {
			t.Fatalf("%s after the hand-over: %v", tc.name, err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		got, _ := io.ReadAll(c)
		c.Close()
		if string(got) != "new "+tc.name {
			t.Errorf("%s: %q, want the new process's answer", tc.name, got)
		}
	}
	select {
	case <-p.Exited():
		if p.Err() != nil {
			t.Errorf("new process: %v", p.Err())
		}
	case <-time.After(10 * time.Second):
		t.Error("the new process did not exit after serving")
	}
}

// TestFailedUpgrade: a new process that exits, or is not ready in time, is
// an error that says why with what it printed, and is gone; the old
// listener is untouched.
func TestFailedUpgrade(t *testing.T) {
	l := listen(t)
	ls := systemd.Listener{Name: "web", Listener: l}
	_, err := Start(spec("exit", ls))
	var ue *Error
	if !errors.As(err, &ue) || !strings.Contains(ue.Reason, "exited before it was ready") || !strings.Contains(ue.Output, "missing port") {
		t.Fatalf("exiting child: %v", err)
	}
	s := spec("hang", ls)
	s.Timeout = 300 * time.Millisecond
	start := time.Now()
	_, err = Start(s)
	if !errors.As(err, &ue) || ue.Reason != "was not ready in time" {
		t.Fatalf("hanging child: %v", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("Start took %v past a 300ms timeout", time.Since(start))
	}
	go func() {
		if c, err := net.Dial("tcp", l.Addr().String()); err == nil {
			c.Close()
		}
	}()
	l.(*net.TCPListener).SetDeadline(time.Now().Add(5 * time.Second))
	c, err := l.Accept()
	if err != nil {
		t.Fatalf("the old listener after a failed upgrade: %v", err)
	}
	c.Close()
}

// TestNotAListener: a listener without a descriptor is refused before
// anything starts.
func TestNotAListener(t *testing.T) {
	_, err := Start(spec("ready", systemd.Listener{Name: "odd", Listener: fakeListener{}}))
	if err == nil || !strings.Contains(err.Error(), `listener "odd"`) {
		t.Errorf("got %v", err)
	}
}

type fakeListener struct{ net.Listener }
