package admin

import (
	"errors"
	"strings"

	"nave/internal/web"
)

// ErrNoApp is Restart's error for an app the running config does not
// have (404).
var ErrNoApp = errors.New("admin: no such app")

// RestartError is an app restart that failed, the old workers serving on
// (422): Output is what the new workers wrote (an import's traceback).
type RestartError struct {
	Err    error
	Output string
}

func (e *RestartError) Error() string { return e.Err.Error() }
func (e *RestartError) Unwrap() error { return e.Err }

// restartReply is the answer to a restart.
type restartReply struct {
	Status string `json:"status,omitempty"`
	Error  string `json:"error,omitempty"`
	Output string `json:"output,omitempty"`
}

// appPath is the app a restart path names: "/apps/NAME/restart", or
// Unit's "/control/applications/NAME/restart"; ok is false for any other
// path under those prefixes.
func appPath(path string) (name string, ok bool) {
	rest, cut := strings.CutPrefix(path, "/apps/")
	if !cut {
		rest, _ = strings.CutPrefix(path, "/control/applications/")
	}
	name, cut = strings.CutSuffix(rest, "/restart")
	return name, cut && name != "" && !strings.Contains(name, "/")
}

// restart is POST /apps/NAME/restart: the app's workers started again
// with its code read anew, new ones first, the old ones kept serving if
// the new ones do not start. Unit's GET /control/applications/NAME/restart
// is taken too, so that scripts written for Unit go on working.
func (h *Handler) restart(w *web.ResponseWriter, r *web.Request, path string) {
	name, ok := appPath(path)
	if !ok {
		writeJSON(w, 404, reply{Error: "no such endpoint: restart an app with POST /apps/NAME/restart"})
		return
	}
	methods := []string{"POST"}
	if strings.HasPrefix(path, "/control/") {
		methods = append(methods, "GET")
	}
	if !allow(w, string(r.Method), methods...) {
		return
	}
	if h.cfg.Restart == nil {
		writeJSON(w, 404, reply{Error: "this server restarts no apps"})
		return
	}
	err := h.cfg.Restart(name)
	var re *RestartError
	switch {
	case err == nil:
		h.log.Info("admin API: app restarted", "app", name)
		writeJSON(w, 200, restartReply{Status: "restarted"})
	case errors.Is(err, ErrNoApp):
		writeJSON(w, 404, restartReply{Error: "no app " + name + " in the running config"})
	case errors.As(err, &re):
		h.log.Warn("admin API: app restart failed; the old workers serve on", "app", name, "err", err)
		writeJSON(w, 422, restartReply{Error: "the new workers did not start; the old ones serve on: " + err.Error(), Output: re.Output})
	default:
		writeJSON(w, 500, restartReply{Error: err.Error()})
	}
}
