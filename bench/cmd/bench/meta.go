package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"nave/bench/internal/servers"
)

// meta says what produced a table.
type meta struct {
	Date        string            `json:"date"`
	Command     string            `json:"command"`
	Kernel      string            `json:"kernel"`
	CPUModel    string            `json:"cpu_model"`
	Git         string            `json:"git"` // the work tree the harness ran in
	LoadAvg     string            `json:"loadavg_at_start"`
	Versions    map[string]string `json:"versions"`
	Duration    string            `json:"duration"`
	Warmup      string            `json:"warmup"`
	Connections int               `json:"connections"`
	Runs        int               `json:"runs"`
	ServerCPU   int               `json:"server_cpu"`
	LoadCPU     int               `json:"load_cpu"`
}

func collectMeta(e *servers.Env, cfg config, args []string) meta {
	m := meta{
		Date:        time.Now().UTC().Format(time.RFC3339),
		Command:     strings.TrimSpace("bin/bench/bench " + strings.Join(args, " ")),
		Kernel:      readTrim("/proc/sys/kernel/osrelease"),
		CPUModel:    cpuModel(),
		LoadAvg:     readTrim("/proc/loadavg"),
		Git:         gitState(),
		Duration:    cfg.duration.String(),
		Warmup:      cfg.warmup.String(),
		Connections: cfg.conns,
		Runs:        cfg.runs,
		ServerCPU:   serverCPU,
		LoadCPU:     loadCPU,
		Versions:    map[string]string{"go (harness)": runtime.Version()},
	}
	probes := map[string][]string{
		"nave":     {e.Nave, "version"},
		"nginx":    {"nginx", "-v"},
		"caddy":    {"caddy", "version"},
		"h2o":      {"h2o", "--version"},
		"openssl":  {"openssl", "version"}, // the library nginx, h2o and wrk use
		"fasthttp": {e.Fasthttp, "-version"},
		"uwsgi":    {"uwsgi", "--version"},
		"gunicorn": {"gunicorn", "--version"},
		"wrk":      {"wrk", "-v"},
		"h2load":   {"h2load", "--version"},
		"python":   {e.Python, "-c", "import sys, flask; print(sys.version.split()[0], 'flask', flask.__version__)"},
	}
	if e.NaveBase != "" {
		probes["nave-base"] = []string{e.NaveBase, "version"}
	}
	for name, argv := range probes {
		v, _, _ := strings.Cut(firstLine(argv), " Copyright")
		m.Versions[name] = v
	}
	return m
}

// gitState is the commit checked out, and whether tracked files differ from
// it: the nave measured is built from the work tree.
func gitState() string {
	head := firstLine([]string{"git", "rev-parse", "--short", "HEAD"})
	if head == "" || strings.Contains(head, "fatal") {
		return "unknown"
	}
	if firstLine([]string{"git", "status", "--porcelain", "--untracked-files=no"}) != "" {
		return head + " with uncommitted changes"
	}
	return head
}

// firstLine runs argv (at most 5 s) and returns the first line it printed,
// or "" (some print their version to stderr, some exit non-zero after it).
func firstLine(argv []string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = &out, &out
	_ = cmd.Run() // the output says enough; wrk -v exits 1
	line, _, _ := strings.Cut(strings.TrimSpace(out.String()), "\n")
	return strings.TrimSpace(line)
}

func readTrim(path string) string {
	b, _ := os.ReadFile(path)
	return strings.TrimSpace(string(b))
}

func cpuModel() string {
	for _, line := range strings.Split(readTrim("/proc/cpuinfo"), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
