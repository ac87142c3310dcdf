package config

import (
	"strings"
	"testing"
)

// TestTOMLRoundTrip: a completed config written as TOML reads back as the
// same config, with routes as [[...routes]] tables and matches inline.
func TestTOMLRoundTrip(t *testing.T) {
	dir := fixture(t)
	c, err := Parse([]byte(full), TOML, dir)
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.TOML()
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse(out, TOML, dir)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if a, b := mustJSON(t, c), mustJSON(t, back); a != b {
		t.Errorf("round trip differs:\n%s\n%s\nTOML:\n%s", a, b, out)
	}
	for _, want := range []string{"\n[[sites.main.routes]]\n", "\nmatch = { ", "\n[apps.api]\n"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("TOML lacks %q:\n%s", want, out)
		}
	}
}

func TestTOMLKeysAndStrings(t *testing.T) {
	for k, want := range map[string]string{"plain_key-1": "plain_key-1", "127.0.0.1:80": `"127.0.0.1:80"`, "": `""`} {
		if got := tomlKey(k); got != want {
			t.Errorf("tomlKey(%q): got %s, want %s", k, got, want)
		}
	}
	if got := tomlString("a\"b\\c\n<&>\x01"); got != `"a\"b\\c\n<&>\u0001"` {
		t.Errorf("tomlString: got %s", got)
	}
}
