// Command soak runs nave under mixed load for a long time (make soak: ten
// minutes) and checks that nothing wears out: zero errors, resident memory
// flat after warm-up, and no descriptor leak.
//
// It builds a document root, starts the nave binary on it, and runs
// clients on kept-alive connections and on a new connection per request,
// asking for small files, a 1 MiB file, ranges, HEAD, conditional requests
// and missing files, checking every byte of every answer. When the binary
// has the wsgi command, a second nave runs a hello-world WSGI app with the
// system Python and gets clients of its own.
//
// Measured from /proc, after warm-up and at the end, both with the load
// paused and the clients' connections closed: VmRSS, open descriptors and
// threads. Goroutines are not visible from outside and nave exposes no
// count; every connection goroutine holds a socket, so a goroutine leak
// of connections shows as a descriptor leak. Threads are reported, not
// judged: the Go runtime keeps threads it once needed.
//
// Exit status: 0 when every check passed, 1 when one failed, 2 for bad
// usage. Standard library only, as the rest of nave.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"time"
)

// Defaults, and the bounds the checks apply.
const (
	defaultDuration = 10 * time.Minute
	// maxRSSGrowth is how much VmRSS may grow from after warm-up to the end.
	maxRSSGrowth = 0.20
	// rssSlack is absolute growth always allowed: on a small heap, 20% is
	// less than one garbage collection cycle's swing.
	rssSlack = 4 << 20
	// settle is how long the servers get to close connections after the
	// clients stop, before descriptors are counted.
	settle = 2 * time.Second
	// fdBound is how long descriptors may take to fall back to their count
	// after warm-up before it is called a leak.
	fdBound = 10 * time.Second
)

type options struct {
	nave     string
	python   string
	duration time.Duration
	warmup   time.Duration
	clients  int
	wsgi     string // "auto", "on" or "off"
	sample   time.Duration
}

func main() {
	os.Exit(run())
}

func run() int {
	o, err := parseFlags()
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		return 2
	}
	ctx := context.Background()
	r, err := soak(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		return 1
	}
	r.print(os.Stdout)
	if len(r.failures) > 0 {
		return 1
	}
	return 0
}

func parseFlags() (*options, error) {
	o := &options{}
	duration := defaultDuration
	if env := os.Getenv("SOAK_DURATION"); env != "" {
		d, err := time.ParseDuration(env)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("SOAK_DURATION=%q is not a positive duration", env)
		}
		duration = d
	}
	fs := flag.NewFlagSet("soak", flag.ContinueOnError)
	fs.StringVar(&o.nave, "nave", "bin/nave", "the nave binary")
	fs.StringVar(&o.python, "python", "/usr/bin/python3", "the interpreter for the WSGI app")
	fs.DurationVar(&o.duration, "duration", duration, "load after warm-up (default $SOAK_DURATION, else 10m)")
	fs.DurationVar(&o.warmup, "warmup", 0, "load before the first measurement (default a tenth of the duration, 5s to 60s)")
	fs.IntVar(&o.clients, "clients", 8, "static clients, half of them on kept-alive connections")
	fs.StringVar(&o.wsgi, "wsgi", "auto", "WSGI load: on, off, or auto (on when the binary has the wsgi command)")
	fs.DurationVar(&o.sample, "sample", 0, "how often to print progress (default a twentieth of the duration, 1s to 30s)")
	if err := fs.Parse(os.Args[1:]); err != nil {
		return nil, err
	}
	switch {
	case fs.NArg() > 0:
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	case o.duration <= 0 || o.clients < 2:
		return nil, fmt.Errorf("--duration must be positive and --clients at least 2")
	case o.wsgi != "auto" && o.wsgi != "on" && o.wsgi != "off":
		return nil, fmt.Errorf("--wsgi %q: want auto, on or off", o.wsgi)
	}
	if o.warmup <= 0 {
		o.warmup = min(max(o.duration/10, 5*time.Second), time.Minute)
	}
	if o.sample <= 0 {
		o.sample = min(max(o.duration/20, time.Second), 30*time.Second)
	}
	if _, err := os.Stat(o.nave); err != nil {
		return nil, fmt.Errorf("--nave: %w (run make build first)", err)
	}
	return o, nil
}

// hasWSGI reports whether the binary has the wsgi command.
func hasWSGI(nave string) bool {
	return exec.Command(nave, "wsgi", "--help").Run() == nil
}
