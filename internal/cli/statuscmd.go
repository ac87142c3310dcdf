package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"nave/internal/status"
)

const statusUsage = `Usage: nave status [--state-dir DIR | --socket PATH | --addr HOST:PORT] [--json]

Prints what the running nave is doing: requests per second, latency
percentiles and the status mix over the last seconds, connections by state,
each listener, each app's workers (pid, state, requests served, memory,
age) and queue, and each upstream's servers and health.

It asks nave run's admin API over its Unix socket, DIR/admin.sock (DIR as
nave run's --state-dir; default $XDG_RUNTIME_DIR/nave, /run/nave for
root), or the socket admin.socket names; or, with --addr, the address of
admin.listen or of nave serve, wsgi or asgi's --status. Exit code 0 when
nave answered, 1 when it could not be reached.

The same figures are at /status as JSON and drawn as live charts at /
(docs/observability.md).

Flags:
  --state-dir DIR        nave run's --state-dir
  --socket PATH          the admin socket's path (admin.socket)
  --addr HOST:PORT       a TCP address serving /status (admin.listen, --status)
  --json                 print the JSON as nave sent it
`

// statusTimeout bounds the wait for nave's answer.
const statusTimeout = 10 * time.Second

func statusCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("status")
	stateDir := fs.String("state-dir", defaultStateDir(), "")
	socket := fs.String("socket", "", "")
	addr := fs.String("addr", "", "")
	raw := fs.Bool("json", false, "")
	if help, err := parseFlagsOnly(fs, args, statusUsage, stdout, ""); help || err != nil {
		return err
	}
	if *socket != "" && *addr != "" {
		return usagef("give --socket or --addr, not both")
	}
	where, data, err := fetchStatus(ctx, *stateDir, *socket, *addr)
	var ue *usageError
	if errors.As(err, &ue) {
		return err
	}
	if err != nil {
		return fmt.Errorf("cannot get the status from %s: %v (is nave running there?)", where, err)
	}
	if *raw {
		_, err := stdout.Write(data)
		return err
	}
	var st statusReport
	if err := json.Unmarshal(data, &st); err != nil {
		return fmt.Errorf("%s answered with something that is not nave's status: %v", where, err)
	}
	printStatus(stdout, &st)
	return nil
}

// fetchStatus GETs /status from the admin socket, or from addr, and
// returns where it asked and the body.
func fetchStatus(ctx context.Context, stateDir, socket, addr string) (string, []byte, error) {
	tr := &http.Transport{}
	base := "http://nave"
	where := "the admin socket " + socket
	switch {
	case addr != "":
		addr = strings.TrimSuffix(strings.TrimPrefix(addr, "http://"), "/")
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return "", nil, &usageError{fmt.Errorf("--addr %q is not HOST:PORT", addr)}
		}
		base, where = "http://"+addr, addr
	default:
		if socket == "" {
			socket = filepath.Join(stateDir, AdminSocketName)
			where = "the admin socket " + socket
		}
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		}
	}
	client := &http.Client{Timeout: statusTimeout, Transport: tr}
	req, err := http.NewRequestWithContext(ctx, "GET", base+"/status", nil)
	if err != nil {
		return where, nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return where, nil, listenReason(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err == nil && resp.StatusCode != 200 {
		err = fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return where, data, err
}

// printStatus writes the status as a person reads it in a terminal.
func printStatus(w io.Writer, st *statusReport) {
	fmt.Fprintf(w, "nave %s, pid %d, up %s", st.Version, st.PID, age(st.Uptime))
	if st.Config.File != "" {
		fmt.Fprintf(w, ", config %s", st.Config.File)
	}
	fmt.Fprintln(w)
	if t := st.Traffic; t != nil {
		fmt.Fprintf(w, "\nTraffic (rates over the last %s)\n", seconds(float64(t.WindowSeconds)))
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "  requests\t%s/s\t%d total", num(t.RequestsPerSecond), t.Requests)
		for _, c := range []string{"2xx", "3xx", "4xx", "5xx"} {
			fmt.Fprintf(tw, "\t%s %s/s", c, num(t.Status[c].PerSecond))
		}
		fmt.Fprintf(tw, "\n  latency\tp50 %s\tp90 %s\tp99 %s\t(%d requests)\n",
			dur(t.Latency.P50), dur(t.Latency.P90), dur(t.Latency.P99), t.Latency.Count)
		var open int64
		for _, n := range t.Connections {
			open += n
		}
		fmt.Fprintf(tw, "  connections\t%d open\t%d handling\t%d reading\t%d idle\t%d parked\n", open,
			t.Connections["handling"], t.Connections["reading"], t.Connections["idle"], t.Connections["parked"])
		tw.Flush()
	} else {
		fmt.Fprintf(w, "\n%d requests, %d connections open (no traffic figures: metrics are off)\n", st.Requests, st.Connections)
	}

	fmt.Fprintln(w, "\nListeners")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "  NAME\tADDRESS\tCONNECTIONS\tREQUESTS\t")
	for _, name := range slices.Sorted(maps.Keys(st.Listeners)) {
		l := st.Listeners[name]
		fmt.Fprintf(tw, "  %s\t%s\t%d\t%d\t\n", name, l.Address, l.Connections, l.Requests)
	}
	tw.Flush()

	for _, name := range slices.Sorted(maps.Keys(st.Apps)) {
		a := st.Apps[name]
		fmt.Fprintf(w, "\nApp %s (%s, %s", name, a.Module, a.Interface)
		if a.Python != "" {
			fmt.Fprintf(w, ", Python %s", a.Python)
		}
		fmt.Fprintf(w, "): %s, %d busy, %d idle, %d queued", plural(a.Workers, "worker"), a.Busy, a.Idle, a.Queued)
		if q := a.QueueWait; q != nil {
			fmt.Fprintf(w, ", queue wait p50 %s p99 %s", dur(q.P50), dur(q.P99))
		}
		fmt.Fprintln(w)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "  PID\tSTATE\tIN FLIGHT\tSERVED\tRSS\tAGE\t")
		for _, p := range a.Processes {
			fmt.Fprintf(tw, "  %d\t%s\t%d\t%d\t%s\t%s\t\n", p.PID, p.State, p.InFlight, p.Served, bytesText(p.RSS), age(p.Age))
		}
		tw.Flush()
	}

	if len(st.Upstreams) > 0 {
		fmt.Fprintln(w, "\nUpstreams")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  UPSTREAM\tSERVER\tHEALTH\tIN FLIGHT\tTTFB P50\tTTFB P99\tFAILURES")
		for _, name := range slices.Sorted(maps.Keys(st.Upstreams)) {
			for _, s := range st.Upstreams[name].Servers {
				health := "down"
				if s.Up {
					health = "up"
				}
				var failed uint64
				for _, n := range s.Failures {
					failed += n
				}
				fmt.Fprintf(tw, "  %s\t%s\t%s\t%d\t%s\t%s\t%d\n", name, s.Address, health, s.InFlight, dur(s.TTFB.P50), dur(s.TTFB.P99), failed)
			}
		}
		tw.Flush()
	}
}

// num is a rate with one decimal, "-" for none.
func num(n status.Num) string {
	f := float64(n)
	if math.IsNaN(f) {
		return "-"
	}
	return fmt.Sprintf("%.1f", f)
}

// dur is seconds as a short duration, "-" for none.
func dur(n status.Num) string {
	f := float64(n)
	switch {
	case math.IsNaN(f):
		return "-"
	case f < 1e-3:
		return fmt.Sprintf("%.0fµs", f*1e6)
	case f < 1:
		return fmt.Sprintf("%.1fms", f*1e3)
	}
	return fmt.Sprintf("%.2fs", f)
}

func seconds(f float64) string {
	if math.IsNaN(f) {
		return "moment"
	}
	return fmt.Sprintf("%.0f s", f)
}

// age is a span of seconds as "3d 4h", "5m 2s".
func age(s float64) string {
	d := time.Duration(s) * time.Second
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm %ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh %dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd %dh", int(d.Hours())/24, int(d.Hours())%24)
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func bytesText(n int64) string {
	if n <= 0 {
		return "-"
	}
	f, units := float64(n), []string{"B", "KiB", "MiB", "GiB", "TiB"}
	i := 0
	for f >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%d B", n)
	}
	return fmt.Sprintf("%.1f %s", f, units[i])
}
