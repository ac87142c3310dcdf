package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"nave/internal/config"
)

// TestShorthandConfigs: the config that nave serve's and nave wsgi's flags
// make is one that nave run would accept, and says what the flags say.
func TestShorthandConfigs(t *testing.T) {
	dir := t.TempDir()
	site, static := filepath.Join(dir, "site"), filepath.Join(dir, "static")
	os.Mkdir(site, 0o755)
	os.Mkdir(static, 0o755)
	os.WriteFile(filepath.Join(site, "404.html"), []byte("gone"), 0o644)
	crt, key := writePair(t, dir, "pair", "a.test")
	tests := []struct {
		name  string
		build func() (*config.Config, error)
		want  []string // fragments of the config's JSON
	}{
		{"serve", func() (*config.Config, error) {
			o, err := parseServe([]string{"--listen", "127.0.0.1:9", "--browse", "--error-page", "404=/404.html",
				"--file-cache", "off", "--max-body", "1m", "--http2=false", site})
			if err != nil {
				return nil, err
			}
			return o.config(), nil
		}, []string{`"address":"127.0.0.1:9","protocols":["h1"]`, `"root":"` + site + `"`, `"browse":true`,
			`"error_pages":{"404":"/404.html"}`, `"file_cache":"off"`, `"max_body":"1m"`}},
		{"serve with tls", func() (*config.Config, error) {
			o, err := parseServe([]string{"--tls-cert", crt, "--tls-key", key, "--domain", "a.test", "--hsts", "1h",
				"--redirect-http", "127.0.0.1:0", "--h2c=false", site})
			if err != nil {
				return nil, err
			}
			return o.config(), nil
		}, []string{`"address":"127.0.0.1:8443","protocols":["h1","h2"],"tls":{"certificates":[{"cert":"` + crt,
			`"names":["a.test"]`, `"hsts":"1h0m0s"`, `"http":{"address":"127.0.0.1:0","protocols":["h1","h2"],"redirect_https":"main"}`}},
		{"wsgi", func() (*config.Config, error) {
			o, err := parseWSGI([]string{"--python", testPython, "--chdir", dir, "--mount", "/app", "--static", "/s/=" + static,
				"--static", "/s/img=" + static, "--timeout", "0", "--workers", "2", "--metrics", "127.0.0.1:9100", "app:app"})
			if err != nil {
				return nil, err
			}
			return o.config(), nil
		}, []string{`"app":{"interface":"wsgi","module":"app:app","python":"` + testPython + `","chdir":"` + dir + `","workers":2,"timeout":"off"`,
			`"routes":[{"match":{"path":"/s/img"},"root":"` + static + `"`, `{"match":{"path":"/s"},"root":"` + static + `"`,
			`{"match":{"path":"/app"},"app":"app"}`, `"admin":{"metrics":"127.0.0.1:9100"}`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := tt.build()
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Validate(); err != nil {
				t.Errorf("nave run would refuse it:\n%v", err)
			}
			b, _ := json.Marshal(c)
			for _, w := range tt.want {
				if !strings.Contains(string(b), w) {
					t.Errorf("no %s in\n%s", w, b)
				}
			}
		})
	}
}
