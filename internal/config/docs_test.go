package config

import (
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestDocsExamples: every TOML example in docs/config.md and the README
// parses and validates, but for the folders, files and interpreters it
// names, which this machine does not have.
func TestDocsExamples(t *testing.T) {
	var blocks [][][]byte
	for _, file := range []string{"../../docs/config.md", "../../docs/proxy.md", "../../README.md"} {
		doc, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		blocks = append(blocks, regexp.MustCompile("(?s)```toml\n(.*?)```").FindAllSubmatch(doc, -1)...)
	}
	if len(blocks) < 7 {
		t.Fatalf("found %d TOML examples, want at least 7", len(blocks))
	}
	elsewhere := regexp.MustCompile(`does not exist|is not an executable|has no bin/python|cannot be read`)
	for i, b := range blocks {
		_, err := Parse(b[1], TOML, t.TempDir())
		var list List
		if err != nil && !errors.As(err, &list) {
			t.Errorf("example %d: %v", i, err)
			continue
		}
		for _, e := range list {
			if !elsewhere.MatchString(e.Msg) {
				t.Errorf("example %d (%s...): %v", i, strings.SplitN(string(b[1]), "\n", 2)[0], e)
			}
		}
	}
}
