package config

import (
	"errors"
	"testing"
)

// FuzzParse: no TOML or JSON input makes Parse panic, and every failure
// is a List of errors that each say something.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{minimal, full,
		"[sites.s]\nroutes = [1, {root = 3}]\n",
		"sites = 3\nlisteners = []\napps.a = { module = 1 }\n",
		"[[sites.s.routes]]\nmatch = { headers = [1], query = \"x\" }\nrespond = 1\n",
		"[listeners.l]\ntls = { acme = 1, certificates = [{cert = 1}] }\n",
		`{"sites": {"s": {"routes": [null, {"status": 1.5}]}}}`,
	} {
		f.Add([]byte(seed))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, format := range []Format{TOML, JSON} {
			_, err := Parse(data, format, dir)
			if err == nil {
				continue
			}
			var list List
			if !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("error %v is not a List", err)
			}
			for _, e := range list {
				if e.Msg == "" {
					t.Fatalf("an error without a message at %q", e.Path)
				}
			}
		}
	})
}
