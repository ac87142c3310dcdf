package servers

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"nave/bench/internal/proc"
)

// uwsgiPlugin is the file Debian's uwsgi-plugin-python3 installs.
const uwsgiPlugin = "/usr/lib/uwsgi/plugins/python3_plugin.so"

// naveHelp runs `nave COMMAND --help`: it fails while the subcommand does
// not exist, and its text says which flags it takes (an older build, as
// with --baseline, may lack some).
func naveHelp(e *Env, command string) (string, error) {
	if err := checkNave(e); err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, e.Nave, command, "--help")
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil || strings.Contains(out.String(), "unknown command") {
		return "", fmt.Errorf("nave %s: %w", command, ErrNotBuilt)
	}
	return out.String(), nil
}

func naveWSGIHelp(e *Env) (string, error) { return naveHelp(e, "wsgi") }

func checkNaveWSGI(e *Env) error {
	_, err := naveWSGIHelp(e)
	return err
}

func naveWSGI(e *Env, addr, app string) (proc.Spec, error) {
	help, err := naveWSGIHelp(e)
	if err != nil {
		return proc.Spec{}, err
	}
	args := []string{"wsgi", "--listen", addr, "--workers", "1", "--python", e.Python, "--chdir", e.AppDir}
	if strings.Contains(help, "--access-log") {
		args = append(args, "--access-log", "off")
	}
	s := spec(e, "nave-wsgi", e.Nave, append(args, app)...)
	s.Env = []string{goMaxProcs}
	return s, nil
}

func checkUWSGI(e *Env) error {
	if err := need("uwsgi")(e); err != nil {
		return err
	}
	if _, err := os.Stat(uwsgiPlugin); err != nil {
		return fmt.Errorf("uwsgi-plugin-python3 not installed (make bench-deps)")
	}
	return nil
}

// uwsgi runs one worker under a master (--master: uWSGI's recommended setup;
// the master is idle while serving and pinned to the same CPU). --http-socket
// closes each connection after its response, without saying so; the added
// "Connection: close" says so (RFC 9112 §9.6), or else wrk sends its next
// request into the closed connection and counts a read error for each
// response. (--http11-socket keeps connections open, but one process then
// serves one connection at a time and starves the others.) --die-on-term
// makes SIGTERM stop it rather than reload it; --need-app fails the start if
// the app does not import; --listen raises the backlog from 100.
func uwsgi(e *Env, addr, app string) (proc.Spec, error) {
	return spec(e, "uwsgi", "uwsgi",
		"--plugin", "python3",
		"--http-socket", addr,
		"--chdir", e.AppDir,
		"--module", app,
		"--master", "--processes", "1",
		"--disable-logging",
		"--add-header", "Connection: close",
		"--die-on-term", "--need-app",
		"--listen", "1024",
	), nil
}

// gunicorn runs one worker of the given class (sync: one connection at a
// time, closed after each response; gthread: 4 threads, keep-alive). No
// --access-logfile means no access log.
func gunicorn(class string) func(e *Env, addr, app string) (proc.Spec, error) {
	return func(e *Env, addr, app string) (proc.Spec, error) {
		args := []string{"--bind", addr, "--workers", "1", "--worker-class", class,
			"--chdir", e.AppDir, "--log-level", "warning", "--backlog", "1024"}
		if class == "gthread" {
			args = append(args, "--threads", "4")
		}
		return spec(e, "gunicorn-"+class, "gunicorn", append(args, app)...), nil
	}
}
