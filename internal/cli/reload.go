package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"nave/internal/config"
)

const reloadUsage = `Usage: nave reload [--config FILE] [--state-dir DIR]
       nave reload --app NAME [--config FILE] [--state-dir DIR]

Tells the nave run serving from DIR to read its config file again and apply
what changed, as SIGHUP does, and waits for the outcome: "applied", or
every problem, one a line, with the running config left serving. With
--config, nave reads FILE instead, and SIGHUP reads FILE from then on.

nave reload speaks to nave run's admin API over its Unix socket: the
admin.socket FILE names, else DIR/admin.sock (DIR as nave run's
--state-dir; default $XDG_RUNTIME_DIR/nave, /run/nave for root). Exit code
0 when the config applied, 2 when it has problems, 1 when it could not be
applied or nave could not be reached.

With --app, nave reads no config: it restarts the app NAME's workers so
that they run its code anew, as kill -HUP does to gunicorn (and Unit's
/control/applications/NAME/restart): new workers start first and take
over once all have imported the app; if they do not start (an import
error), the old ones serve on and the traceback is printed. Exit code 0
when the new workers serve, 1 when they did not start, 2 when the running
config has no app NAME. --config then only says where the admin socket is.

Flags:
  --config FILE          the config file nave is to read (default: the one
                         it serves)
  --app NAME             restart the app NAME's workers with its code read
                         anew, instead of reading the config
  --state-dir DIR        nave run's --state-dir
`

// reloadTimeout bounds the wait for nave's answer: a reload that starts
// apps waits for their workers to import.
const reloadTimeout = 5 * time.Minute

func reload(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("reload")
	file := fs.String("config", "", "")
	stateDir := fs.String("state-dir", defaultStateDir(), "")
	app := fs.String("app", "", "")
	if help, err := parseFlagsOnly(fs, args, reloadUsage, stdout, " (give the file with --config)"); help || err != nil {
		return err
	}
	socket := filepath.Join(*stateDir, AdminSocketName)
	var body struct {
		Config string `json:"config,omitempty"`
	}
	if *file != "" {
		var err error
		if body.Config, err = filepath.Abs(*file); err != nil {
			return err
		}
		if c, err := config.Load(*file); err == nil && c.Admin.Socket != "" && c.Admin.Socket != "off" {
			socket = c.Admin.Socket
		}
	}
	endpoint := "/reload"
	data, _ := json.Marshal(body)
	if *app != "" {
		endpoint, data = "/apps/"+url.PathEscape(*app)+"/restart", nil
	}
	reply, status, err := adminPost(ctx, socket, endpoint, data)
	if err != nil {
		return fmt.Errorf("cannot reach nave at %s: %v (is nave run serving, with this --state-dir?)", socket, listenReason(err))
	}
	if *app != "" {
		return reportRestart(reply, status, *app, stdout, stderr)
	}
	return reportReload(reply, status, *file, stdout, stderr)
}

// reportRestart prints the outcome of an app's restart: the traceback of
// new workers that did not start.
func reportRestart(r *adminReply, status int, app string, stdout, stderr io.Writer) error {
	switch status {
	case http.StatusOK:
		fmt.Fprintf(stdout, "nave reload: app %s restarted: new workers serve\n", app)
		return nil
	case http.StatusNotFound:
		return usagef("%s", r.Error)
	}
	fmt.Fprintf(stderr, "nave reload: app %s: %s\n", app, r.Error)
	if r.Output != "" {
		fmt.Fprintln(stderr, strings.TrimRight(r.Output, "\n"))
	}
	return errReported
}

// adminReply is the admin API's answer to a change.
type adminReply struct {
	Status   string `json:"status"`
	Error    string `json:"error"`
	Output   string `json:"output"` // a restart's new workers' output
	Problems []struct {
		Path    string `json:"path"`
		Line    int    `json:"line"`
		Message string `json:"message"`
	} `json:"problems"`
}

// adminPost posts body to the admin API on the Unix socket at socket.
func adminPost(ctx context.Context, socket, path string, body []byte) (*adminReply, int, error) {
	client := &http.Client{Timeout: reloadTimeout, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
	}}
	req, err := http.NewRequestWithContext(ctx, "POST", "http://nave"+path, strings.NewReader(string(body)))
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	var r adminReply
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&r); err != nil {
		return nil, resp.StatusCode, fmt.Errorf("an answer that is not the admin API's: %v", err)
	}
	return &r, resp.StatusCode, nil
}

// reportReload prints the outcome as nave validate prints problems.
func reportReload(r *adminReply, status int, file string, stdout, stderr io.Writer) error {
	if status == http.StatusOK {
		fmt.Fprintln(stdout, "nave reload: applied")
		return nil
	}
	if file == "" {
		file = "config"
	}
	var l config.List
	for _, p := range r.Problems {
		l = append(l, &config.Error{Path: p.Path, Line: p.Line, Msg: p.Message})
	}
	fmt.Fprintf(stderr, "nave reload: %s\n", r.Error)
	fmt.Fprint(stderr, l.Format(file))
	if status == http.StatusBadRequest {
		return errUsage
	}
	return errReported
}
