// Command fleet runs three nave instances, each in a network namespace of
// its own, behind a real HAProxy with health checks, and changes them one
// at a time under steady load (make fleet; docs/operations.md, "Fleet
// test"):
//
//  1. upgrade: nave 1 is upgraded in place (SIGUSR2), when the binary can;
//  2. restart: nave 2 is stopped with SIGTERM (a drain) and started again;
//  3. kill: nave 3 is killed with SIGKILL, then started again.
//
// A load client sends requests through HAProxy all along and checks every
// answer. Requests may fail only while nave 3 dies (those in flight on it);
// they are counted and reported. After each step, HAProxy's view of each
// server (its stats socket) must agree with what nave's /readyz says,
// within the time HAProxy's checks take to notice.
//
// It needs root (ip netns), iproute2 and HAProxy. Exit status: 0 when every
// check passed, 1 when one failed, 2 for bad usage or a missing tool.
// Standard library only, as the rest of nave.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// Timing of the run; the load runs through every phase.
const (
	phase      = 3 * time.Second  // load before and after each step
	agreeBound = 15 * time.Second // for HAProxy and /readyz to agree
	drainDelay = 2 * time.Second  // nave's --drain-delay, when it has one
	checkInter = 500 * time.Millisecond
)

type options struct {
	nave    string
	report  string
	commit  string
	clients int
}

func main() { os.Exit(run()) }

func run() int {
	var o options
	flag.StringVar(&o.nave, "nave", "bin/nave", "the nave binary")
	flag.StringVar(&o.report, "report", "", "write the result into this Markdown file, between its fleet-result markers")
	flag.StringVar(&o.commit, "commit", "", "the commit the binary was built from, for the report")
	flag.IntVar(&o.clients, "clients", 8, "concurrent load clients")
	flag.Parse()
	for _, tool := range []string{"ip", "haproxy", o.nave} {
		if _, err := exec.LookPath(tool); err != nil {
			fmt.Fprintf(os.Stderr, "fleet: %s not found: %v\n", tool, err)
			return 2
		}
	}
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "fleet: needs root to make network namespaces (ip netns)")
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	r, err := runFleet(ctx, o)
	if err != nil {
		fmt.Fprintf(os.Stderr, "fleet: %v\n", err)
	}
	if r != nil {
		fmt.Print(r.markdown())
		if o.report != "" {
			if werr := writeReport(o.report, r.markdown()); werr != nil {
				fmt.Fprintf(os.Stderr, "fleet: %v\n", werr)
				return 1
			}
		}
	}
	if err != nil || r == nil || !r.passed() {
		return 1
	}
	return 0
}

// writeReport replaces what lies between the fleet-result markers of path
// with text.
func writeReport(path, text string) error {
	const begin, end = "<!-- fleet-result -->\n", "<!-- /fleet-result -->"
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	s := string(data)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		return fmt.Errorf("%s has no %q ... %q markers", path, strings.TrimSpace(begin), end)
	}
	return os.WriteFile(path, []byte(s[:i+len(begin)]+text+s[j:]), 0o644)
}
