package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
)

// Format is a config's syntax.
type Format int

// The formats.
const (
	TOML Format = iota
	JSON
)

// FormatOf is JSON for a file name ending in .json, else TOML.
func FormatOf(name string) Format {
	if strings.EqualFold(filepath.Ext(name), ".json") {
		return JSON
	}
	return TOML
}

// Load reads, parses, completes and validates the config file at path.
// Relative paths in it are taken from the file's folder. A file that
// cannot be read returns the *os.PathError; a config with problems, a List
// of all of them.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, err
	}
	return Parse(data, FormatOf(path), dir)
}

// Parse parses data, completes the config with defaults (relative paths
// taken from dir) and validates it. Every problem comes back at once, as
// a List.
func Parse(data []byte, f Format, dir string) (*Config, error) {
	var tree map[string]any
	var lines map[string]int
	var err error
	if f == JSON {
		tree, err = readJSON(data)
	} else {
		tree, lines, err = readTOML(data)
	}
	if err != nil {
		return nil, err
	}
	e := &errs{lines: lines}
	c := &Config{}
	decode(e, "", tree, reflect.ValueOf(c).Elem())
	c.Dir, c.lines = dir, lines
	c.Complete()
	c.validate(e)
	if err := e.err(); err != nil {
		return nil, err
	}
	return c, nil
}

// readJSON parses a JSON object into a generic tree, numbers as
// json.Number.
func readJSON(data []byte) (map[string]any, error) {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var v any
	err := d.Decode(&v)
	tree, isObject := v.(map[string]any)
	switch {
	case err != nil:
	case !isObject:
		err = errors.New("want an object ({...}) at the top")
	default:
		if _, extra := d.Token(); extra != io.EOF {
			err = errors.New("data after the top-level object")
		}
	}
	if err != nil {
		e := &Error{Msg: strings.TrimPrefix(err.Error(), "json: ")}
		var se *json.SyntaxError
		if errors.As(err, &se) {
			e.Line = lineAt(data, se.Offset)
		}
		return nil, List{e}
	}
	return tree, nil
}

func lineAt(data []byte, offset int64) int {
	return 1 + bytes.Count(data[:min(int(offset), len(data))], []byte{'\n'})
}
