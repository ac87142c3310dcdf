package servers

import (
	"fmt"
	"os/exec"
	"strings"

	"nave/bench/internal/proc"
)

// The ASGI servers: each runs one worker process with its fastest
// settings, without access logs, listening on addr.

func checkNaveASGI(e *Env) error {
	_, err := naveHelp(e, "asgi")
	return err
}

// naveASGI runs nave asgi with one worker (the event loop is uvloop when
// the interpreter has it, as uvicorn's below).
func naveASGI(e *Env, addr, app string) (proc.Spec, error) {
	if err := checkNaveASGI(e); err != nil {
		return proc.Spec{}, err
	}
	s := spec(e, "nave-asgi", e.Nave, "asgi", "--listen", addr, "--workers", "1", "--python", e.Python,
		"--chdir", e.AppDir, "--access-log", "off", app)
	s.Env = []string{goMaxProcs}
	return s, nil
}

// pythonModule reports whether e.Python can import each module.
func pythonModule(modules ...string) func(e *Env) error {
	return func(e *Env) error {
		cmd := exec.Command(e.Python, "-c", "import "+strings.Join(modules, ", "))
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%s cannot import %s (make bench-deps): %s", e.Python, strings.Join(modules, ", "), lastLine(out))
		}
		return nil
	}
}

func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}

// uvicorn runs one process with its fastest stack: httptools and uvloop.
func uvicorn(e *Env, addr, app string) (proc.Spec, error) {
	host, port, _ := strings.Cut(addr, ":")
	return spec(e, "uvicorn", e.Python, "-m", "uvicorn", "--host", host, "--port", port,
		"--http", "httptools", "--loop", "uvloop", "--no-access-log", "--log-level", "warning",
		"--backlog", "1024", "--app-dir", e.AppDir, app), nil
}

// daphne runs Django Channels' server, one process.
func daphne(e *Env, addr, app string) (proc.Spec, error) {
	host, port, _ := strings.Cut(addr, ":")
	s := spec(e, "daphne", e.Python, "-m", "daphne", "-b", host, "-p", port, "-v", "0", app)
	s.Dir = e.AppDir
	return s, nil
}

// hypercorn runs one worker (asyncio), without access log.
func hypercorn(e *Env, addr, app string) (proc.Spec, error) {
	s := spec(e, "hypercorn", e.Python, "-m", "hypercorn", "--bind", addr, "--workers", "1",
		"--backlog", "1024", "--log-level", "warning", app)
	s.Dir = e.AppDir
	return s, nil
}
