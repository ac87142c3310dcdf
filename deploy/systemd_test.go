package deploy

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// unit is a unit file's assignments, by section then key; repeated keys
// keep every value, joined continuation lines become one.
type unit map[string]map[string][]string

func readUnit(t *testing.T, path string) unit {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	u := unit{}
	section, pending := "", ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if pending != "" {
			line, pending = pending+" "+line, ""
		}
		if c, ok := strings.CutSuffix(line, `\`); ok {
			pending = c
			continue
		}
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[':
			section = strings.Trim(line, "[]")
			u[section] = map[string][]string{}
		default:
			k, v, _ := strings.Cut(line, "=")
			u[section][k] = append(u[section][k], v)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return u
}

// one returns the single value of section.key, failing when it is unset
// or repeated.
func (u unit) one(t *testing.T, section, key string) string {
	t.Helper()
	v := u[section][key]
	if len(v) != 1 {
		t.Fatalf("[%s] %s: got %q, want one value", section, key, v)
	}
	return v[0]
}

// TestSystemdUnits: systemd itself (systemd-analyze verify) accepts
// nave.service and nave.socket with nothing to say, and the service keeps
// the hardening and the stop timing docs/operations.md promises.
func TestSystemdUnits(t *testing.T) {
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Skip("systemd-analyze is not installed (Debian package systemd): the units are not verified here")
	}
	svc := readUnit(t, filepath.Join("systemd", "nave.service"))
	want := map[string]string{
		"Type": "notify", "NoNewPrivileges": "yes", "ProtectSystem": "strict",
		"ProtectHome": "yes", "PrivateTmp": "yes", "StateDirectory": "nave",
		"DynamicUser": "yes", "CapabilityBoundingSet": "", "AmbientCapabilities": "",
		"KillSignal": "SIGTERM", "ExecReload": "/bin/kill -HUP $MAINPID",
		"Environment": "NAVE_STATE_DIR=/var/lib/nave",
	}
	for k, v := range want {
		if got := svc.one(t, "Service", k); got != v {
			t.Errorf("[Service] %s: got %q, want %q", k, got, v)
		}
	}
	// systemd's SIGKILL must not cut a drain short.
	args := fields(svc.one(t, "Service", "ExecStart"))
	drain := durationFlag(t, args, "drain-delay") + durationFlag(t, args, "drain-timeout")
	stop, err := time.ParseDuration(svc.one(t, "Service", "TimeoutStopSec"))
	if err != nil {
		t.Fatal(err)
	}
	if stop <= drain {
		t.Errorf("TimeoutStopSec %v is not above --drain-delay + --drain-timeout (%v)", stop, drain)
	}
	sock := readUnit(t, filepath.Join("systemd", "nave.socket"))
	if got := sock.one(t, "Socket", "Service"); got != "nave.service" {
		t.Errorf("[Socket] Service: got %q, want nave.service", got)
	}

	bin := buildNave(t, t.TempDir())
	t.Run("verify", func(t *testing.T) {
		if out := verifyUnits(t, bin, nil); out != "" {
			t.Fatalf("systemd-analyze verify:\n%s", out)
		}
	})
	// The check can fail: a misspelt value is reported.
	t.Run("verify_catches_typo", func(t *testing.T) {
		out := verifyUnits(t, bin, strings.NewReplacer("ProtectSystem=strict", "ProtectSystem=strickt"))
		if !strings.Contains(out, "strickt") {
			t.Fatalf("systemd-analyze verify said nothing of a bad ProtectSystem value: %q", out)
		}
	})
}

// verifyUnits copies the units into a temporary folder, pointing ExecStart
// at bin (verify checks that the binary exists) and applying edit to the
// service, runs systemd-analyze verify on both, and returns what it said.
func verifyUnits(t *testing.T, bin string, edit *strings.Replacer) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"nave.service", "nave.socket"} {
		data, err := os.ReadFile(filepath.Join("systemd", name))
		if err != nil {
			t.Fatal(err)
		}
		s := strings.ReplaceAll(string(data), "/usr/local/bin/nave", bin)
		if edit != nil && name == "nave.service" {
			s = edit.Replace(s)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("systemd-analyze", "verify", "nave.socket", "nave.service")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	s := strings.TrimSpace(string(out))
	if err != nil && s == "" {
		t.Skipf("systemd-analyze verify cannot run here: %v", err)
	}
	return s
}
