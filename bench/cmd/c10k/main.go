// Command c10k opens 10,000 keep-alive connections to nave (and to nginx
// with one worker, for comparison, and to another nave build with
// --baseline), has each served once, measures the
// server's resident memory with all of them idle, then has every one send a
// second request at once and checks that every one gets its 200. It does so
// in HTTP/1.1 in the clear and over TLS, and in HTTP/2 in the clear (h2c,
// prior knowledge) and over TLS (h2), each HTTP/2 connection then live past
// its preface, SETTINGS exchange and first stream; HTTP/1.1 over TLS tells
// the TLS layer's share of h2's figure from HTTP/2's. It exits
// non-zero if any connection was refused or dropped, or any answer was
// wrong. The server runs pinned to CPU 0 (GOMAXPROCS=1 for nave).
//
// Run it from the repository root through make c10k, or bin/bench/c10k
// --help.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"nave/bench/internal/servers"
	"nave/bench/internal/tlsfiles"
)

type config struct {
	conns    int
	nave     string
	baseline string
	servers  []string
	protos   []string // protocolNames
	settle   time.Duration
	timeout  time.Duration
	results  string
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	var srvs, protos string
	fs := flag.NewFlagSet("c10k", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&c.conns, "conns", 10000, "keep-alive connections to open")
	fs.StringVar(&c.nave, "nave", "bin/bench/nave", "the nave binary")
	fs.StringVar(&c.baseline, "baseline", "", "another nave binary (say, the build before a change), measured as nave-base")
	fs.StringVar(&srvs, "servers", "", "servers to measure, comma-separated: nave, nave-base, nginx\n(default nave, nginx, and nave-base with --baseline)")
	fs.StringVar(&protos, "protocols", "http1,https1,h2c,h2", "protocols to measure each server in, comma-separated: http1, https1\n(HTTP/1.1 over TLS), h2c (HTTP/2 in the clear, prior knowledge), h2 (HTTP/2 over TLS)")
	fs.DurationVar(&c.settle, "settle", 5*time.Second, "idle time before the memory is read")
	fs.DurationVar(&c.timeout, "timeout", time.Minute, "limit for each phase (opening, second round)")
	fs.StringVar(&c.results, "results", "bench/results", "directory for c10k.json and c10k.md")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if c.conns < 1 || c.conns > 60000 {
		return c, fmt.Errorf("--conns %d: from 1 to 60000", c.conns)
	}
	var err error
	if c.protos, err = parseProtocols(protos); err != nil {
		return c, err
	}
	if srvs == "" {
		srvs = "nave,nginx"
		if c.baseline != "" {
			srvs = "nave,nave-base,nginx"
		}
	}
	for _, s := range strings.Split(srvs, ",") {
		if s = strings.TrimSpace(s); s != "" {
			if s != "nave" && s != servers.BaseName && s != "nginx" {
				return c, fmt.Errorf("unknown server %q (have nave, nave-base, nginx)", s)
			}
			c.servers = append(c.servers, s)
		}
	}
	return c, nil
}

func run(args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if err == flag.ErrHelp {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "c10k:", err)
		return 2
	}
	if err := raiseFileLimit(uint64(cfg.conns + 1024)); err != nil {
		fmt.Fprintln(stderr, "c10k:", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	tmp, err := os.MkdirTemp("", "nave-c10k-")
	if err != nil {
		fmt.Fprintln(stderr, "c10k:", err)
		return 1
	}
	defer os.RemoveAll(tmp)
	if err := setupDocroot(tmp); err != nil {
		fmt.Fprintln(stderr, "c10k:", err)
		return 1
	}
	env := servers.Env{Tmp: tmp, CPU: 0, Nave: absPath(cfg.nave), NaveBase: absPath(cfg.baseline),
		NginxConnections: cfg.conns + 1024}
	tf, err := tlsfiles.Make(filepath.Join(tmp, "tls"), time.Now())
	if err != nil {
		fmt.Fprintln(stderr, "c10k:", err)
		return 1
	}
	env.TLSCert, env.TLSKey = tf.Cert, tf.Key
	var reports []report
	for _, name := range cfg.servers {
		for _, pn := range cfg.protos {
			if ctx.Err() != nil {
				break
			}
			kind, _ := protocolKind(pn)
			p := protocol{Name: pn, Kind: kind}
			if kind.TLS() {
				p.TLS = tf.Client
			}
			reports = append(reports, measure(ctx, cfg, &env, name, p, stderr))
		}
	}
	printReports(stdout, reports)
	if ctx.Err() != nil {
		fmt.Fprintln(stderr, "c10k: interrupted; no files written")
		return 130
	}
	if err := writeReports(cfg.results, cfg, reports); err != nil {
		fmt.Fprintln(stderr, "c10k:", err)
		return 1
	}
	for _, r := range reports {
		if !r.clean() {
			return 1
		}
	}
	return 0
}

// absPath is p made absolute; "" stays "".
func absPath(p string) string {
	if p == "" {
		return ""
	}
	a, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return a
}

// raiseFileLimit makes RLIMIT_NOFILE at least n for this process and the
// servers it starts (they inherit it; each holds one end of every
// connection), raising the hard limit if it may (CAP_SYS_RESOURCE).
func raiseFileLimit(n uint64) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return err
	}
	if lim.Cur >= n {
		return nil
	}
	want := syscall.Rlimit{Cur: n, Max: max(lim.Max, n)}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err != nil {
		want = syscall.Rlimit{Cur: lim.Max, Max: lim.Max}
		if lim.Max < n || syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want) != nil {
			return fmt.Errorf("open-file limit is %d, need %d (raise the hard limit: ulimit -Hn as root)", lim.Max, n)
		}
	}
	return nil
}

// setupDocroot writes the one file the connections ask for; nginx's worker
// (nobody, when started as root) must be able to read it.
func setupDocroot(tmp string) error {
	root := filepath.Join(tmp, "docroot")
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	if err := os.Mkdir(root, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(root, "hello.txt"), []byte("Hello, World!\n"), 0o644)
}

func writeReports(dir string, cfg config, rs []report) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	date := time.Now().UTC().Format(time.RFC3339)
	command := strings.TrimSpace("bin/bench/c10k " + strings.Join(os.Args[1:], " "))
	js, err := json.MarshalIndent(struct {
		Date    string   `json:"date"`
		Command string   `json:"command"`
		Settle  string   `json:"settle"`
		Reports []report `json:"reports"`
	}{date, command, cfg.settle.String(), rs}, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "c10k.json"), append(js, '\n'), 0o644); err != nil {
		return err
	}
	var md strings.Builder
	fmt.Fprintf(&md, "Measured %s with `%s`: the server pinned to CPU 0, each connection served once, "+
		"then idle for %v before its RSS was read; then a second request on every connection at once. "+
		"https1 is HTTP/1.1 over TLS, h2c HTTP/2 in the clear with prior knowledge, h2 HTTP/2 over TLS "+
		"(ECDSA P-256, a full handshake each); an HTTP/2 connection is counted served once its first stream is answered.\n\n",
		date, command, cfg.settle)
	markdown(&md, rs)
	return os.WriteFile(filepath.Join(dir, "c10k.md"), []byte(md.String()), 0o644)
}
