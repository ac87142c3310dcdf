package config

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Error is one problem in a config: where it is and what is wrong.
type Error struct {
	// Path is the field path, as "sites.api.routes[2].root"; "" for the
	// file as a whole (a syntax error).
	Path string
	// Line is the line in a TOML file (or a JSON syntax error), 0 when
	// not known.
	Line int
	Msg  string
}

// Error is "PATH: MSG", or "line N: MSG" where only the line is known.
// The file name and line are for the caller to put in front.
func (e *Error) Error() string {
	switch {
	case e.Path != "":
		return e.Path + ": " + e.Msg
	case e.Line > 0:
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	}
	return e.Msg
}

// List is every problem found in a config, in the order of the file
// (by line, then path). It is the error Parse, Load and Validate return.
type List []*Error

func (l List) Error() string {
	var b strings.Builder
	for i, e := range l {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Format writes each error on a line of its own, as a compiler does:
// "nave.toml:12: sites.api.routes[2].root: folder does not exist".
func (l List) Format(file string) string {
	var b strings.Builder
	for _, e := range l {
		b.WriteString(file)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
		}
		b.WriteString(": ")
		if e.Path != "" {
			b.WriteString(e.Path + ": ")
		}
		b.WriteString(e.Msg)
		b.WriteByte('\n')
	}
	return b.String()
}

// sort orders l by line, then path; errors without a line come last.
func (l List) sort() {
	slices.SortStableFunc(l, func(a, b *Error) int {
		la, lb := a.Line, b.Line
		if la == 0 {
			la = 1 << 30
		}
		if lb == 0 {
			lb = 1 << 30
		}
		return cmp.Or(cmp.Compare(la, lb), cmp.Compare(a.Path, b.Path))
	})
}

// errs collects errors as a config is decoded or checked.
type errs struct {
	list  List
	lines map[string]int // path → line, from a TOML file; nil for JSON
}

// add records a problem at path.
func (c *errs) add(path, format string, args ...any) {
	c.list = append(c.list, &Error{Path: path, Line: c.line(path), Msg: fmt.Sprintf(format, args...)})
}

// line is where path, or its nearest ancestor that the file wrote, is.
func (c *errs) line(path string) int {
	for p := path; p != "" && c.lines != nil; p = parent(p) {
		if n, ok := c.lines[p]; ok {
			return n
		}
	}
	return 0
}

// err returns the list, sorted, or nil.
func (c *errs) err() error {
	if len(c.list) == 0 {
		return nil
	}
	c.list.sort()
	return c.list
}

// parent drops a path's last element: "a.b[2]" → "a.b", "a.b" → "a".
func parent(p string) string {
	i := strings.LastIndexAny(p, ".[")
	if i < 0 {
		return ""
	}
	return p[:i]
}

// join appends a key to a path.
func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// index appends an array index to a path.
func index(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }
