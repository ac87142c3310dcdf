package config

import (
	"errors"
	"strings"

	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"
)

// readTOML parses a TOML document into a generic tree, and the line of
// every key, table header and array element into lines, by field path.
func readTOML(data []byte) (map[string]any, map[string]int, error) {
	var tree map[string]any
	if err := toml.Unmarshal(data, &tree); err != nil {
		var de *toml.DecodeError
		if errors.As(err, &de) {
			line, _ := de.Position()
			return nil, nil, List{{Line: line, Msg: strings.TrimPrefix(de.Error(), "toml: ")}}
		}
		return nil, nil, List{{Msg: err.Error()}}
	}
	lines, err := tomlLines(data)
	if err != nil { // toml.Unmarshal accepted it: not expected
		return nil, nil, List{{Msg: err.Error()}}
	}
	return tree, lines, nil
}

// tomlIndex walks a TOML document's expressions and records where each
// field path is written. Array-of-tables headers ([[sites.a.routes]]) are
// counted so that their keys get their index: "sites.a.routes[2].root".
type tomlIndex struct {
	p      *unstable.Parser
	lines  map[string]int
	arrays map[string]int // array-of-tables path → elements so far
	table  string         // the current table's path
}

func tomlLines(data []byte) (map[string]int, error) {
	x := &tomlIndex{p: &unstable.Parser{}, lines: map[string]int{}, arrays: map[string]int{}}
	x.p.Reset(data)
	for x.p.NextExpression() {
		n := x.p.Expression()
		switch n.Kind {
		case unstable.Table:
			x.table = x.resolve("", n.Key(), false, n)
		case unstable.ArrayTable:
			x.table = x.resolve("", n.Key(), true, n)
		case unstable.KeyValue:
			x.keyValue(x.table, n)
		}
	}
	return x.lines, x.p.Error()
}

// resolve turns a dotted key into a path under base, stepping into the
// last element of each array of tables on the way; with newElem the key
// names an array of tables and gets its next element. Each path on the
// way that has no line yet gets n's ("app" of "app.name = 1").
func (x *tomlIndex) resolve(base string, key unstable.Iterator, newElem bool, n *unstable.Node) string {
	path := base
	for key.Next() {
		path = join(path, string(key.Node().Data))
		count, isArray := x.arrays[path]
		switch {
		case key.IsLast() && newElem:
			x.arrays[path] = count + 1
			path = index(path, count)
		case isArray:
			path = index(path, count-1)
		}
		x.mark(path, n)
	}
	return path
}

func (x *tomlIndex) keyValue(table string, n *unstable.Node) {
	path := x.resolve(table, n.Key(), false, n)
	x.value(path, n.Value())
}

// value records the elements of arrays and the keys of inline tables.
func (x *tomlIndex) value(path string, v *unstable.Node) {
	switch v.Kind {
	case unstable.InlineTable:
		it := v.Children()
		for it.Next() {
			x.keyValue(path, it.Node())
		}
	case unstable.Array:
		it := v.Children()
		for i := 0; it.Next(); i++ {
			el := index(path, i)
			x.mark(el, it.Node())
			x.value(el, it.Node())
		}
	}
}

// mark records the line n starts on, for the first node seen at path.
func (x *tomlIndex) mark(path string, n *unstable.Node) {
	if _, seen := x.lines[path]; seen {
		return
	}
	r := n.Raw
	if r.Length == 0 { // containers carry no range of their own; their key does
		if k := firstKey(n); k != nil {
			r = k.Raw
		}
	}
	x.lines[path] = x.p.Shape(r).Start.Line
}

func firstKey(n *unstable.Node) *unstable.Node {
	switch n.Kind {
	case unstable.KeyValue, unstable.Table, unstable.ArrayTable:
		it := n.Key()
		if it.Next() {
			return it.Node()
		}
	}
	return nil
}
