package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// TOML writes c as a TOML file that Parse reads back to the same config:
// the fields in the model's order, zero values left out, one [table] per
// named thing, [[...routes]] for routes, and short tables of plain values
// (a route's match, a certificate pair) inline. Tools that make configs
// (nave import-unit) write through it; a file people wrote is never
// rewritten by nave.
func (c *Config) TOML() ([]byte, error) {
	var js bytes.Buffer
	enc := json.NewEncoder(&js)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(c); err != nil {
		return nil, err
	}
	d := json.NewDecoder(&js)
	d.UseNumber()
	root, err := readOrdered(d)
	if err != nil {
		return nil, err
	}
	obj, ok := root.(*object)
	if !ok {
		return nil, fmt.Errorf("config: encoded as %T, not an object", root)
	}
	var out bytes.Buffer
	writeTable(&out, "", 0, obj, true)
	return bytes.TrimLeft(out.Bytes(), "\n"), nil
}

// object is a JSON object with its keys in the order written, which for
// a struct is its fields' order and for a map the sorted keys.
type object struct {
	keys []string
	vals map[string]any
}

// readOrdered reads one JSON value: *object, []any, string, json.Number,
// bool or nil.
func readOrdered(d *json.Decoder) (any, error) {
	tok, err := d.Token()
	if err != nil {
		return nil, err
	}
	switch tok {
	case json.Delim('{'):
		o := &object{vals: map[string]any{}}
		for d.More() {
			k, err := d.Token()
			if err != nil {
				return nil, err
			}
			v, err := readOrdered(d)
			if err != nil {
				return nil, err
			}
			key := k.(string)
			o.keys = append(o.keys, key)
			o.vals[key] = v
		}
		_, err = d.Token()
		return o, err
	case json.Delim('['):
		var a []any
		for d.More() {
			v, err := readOrdered(d)
			if err != nil {
				return nil, err
			}
			a = append(a, v)
		}
		_, err = d.Token()
		return a, err
	}
	return tok, nil
}

// empty reports whether v writes nothing: an object or array with nothing
// in it (an empty string is a value: respond = "").
func empty(v any) bool {
	switch v := v.(type) {
	case *object:
		for _, k := range v.keys {
			if !empty(v.vals[k]) {
				return false
			}
		}
		return true
	case []any:
		return len(v) == 0
	case nil:
		return true
	}
	return false
}

// maxInline is the longest table written inline ("match = { ... }").
const maxInline = 72

// writeTable writes the keys of o under the table path: values first (a
// TOML table's keys must come before its sub-tables), then sub-tables,
// then arrays of tables. Named things (depth < 2: [apps.NAME]) get
// tables of their own, never inline ones. The [path] header is written before the first
// value, unless wrote says it is written already.
func writeTable(w *bytes.Buffer, path string, depth int, o *object, wrote bool) {
	var tables, arrays []string
	for _, k := range o.keys {
		v := o.vals[k]
		switch {
		case empty(v):
		case isTableArray(v, depth):
			arrays = append(arrays, k)
		case isObject(v) && (depth < 2 || len(inline(v)) > maxInline):
			tables = append(tables, k)
		default:
			if !wrote {
				fmt.Fprintf(w, "\n[%s]\n", path)
				wrote = true
			}
			fmt.Fprintf(w, "%s = %s\n", tomlKey(k), inline(v))
		}
	}
	for _, k := range tables {
		writeTable(w, joinKey(path, k), depth+1, o.vals[k].(*object), false)
	}
	for _, k := range arrays {
		p := joinKey(path, k)
		for _, el := range o.vals[k].([]any) {
			fmt.Fprintf(w, "\n[[%s]]\n", p)
			writeTable(w, p, depth+1, el.(*object), true)
		}
	}
}

func isObject(v any) bool { _, ok := v.(*object); return ok }

// isTableArray: an array of objects becomes [[...]] tables where it is a
// named thing's (a site's routes), or where one is too long to write
// inline.
func isTableArray(v any, depth int) bool {
	a, ok := v.([]any)
	if !ok || len(a) == 0 {
		return false
	}
	long := depth < 3
	for _, el := range a {
		if !isObject(el) {
			return false
		}
		long = long || len(inline(el)) > maxInline || hasArrayOfObjects(el.(*object))
	}
	return long
}

func hasArrayOfObjects(o *object) bool {
	for _, k := range o.keys {
		if a, ok := o.vals[k].([]any); ok && len(a) > 0 && isObject(a[0]) {
			return true
		}
	}
	return false
}

// inline writes v as one TOML value.
func inline(v any) string {
	var b strings.Builder
	writeInline(&b, v)
	return b.String()
}

func writeInline(w *strings.Builder, v any) {
	switch v := v.(type) {
	case *object:
		w.WriteString("{")
		n := 0
		for _, k := range v.keys {
			if empty(v.vals[k]) {
				continue
			}
			if n > 0 {
				w.WriteString(",")
			}
			n++
			w.WriteString(" " + tomlKey(k) + " = ")
			writeInline(w, v.vals[k])
		}
		w.WriteString(" }")
	case []any:
		w.WriteString("[")
		for i, el := range v {
			if i > 0 {
				w.WriteString(", ")
			}
			writeInline(w, el)
		}
		w.WriteString("]")
	case string:
		w.WriteString(tomlString(v))
	case json.Number:
		w.WriteString(v.String())
	case bool:
		fmt.Fprint(w, v)
	}
}

// tomlString quotes s as a TOML basic string: JSON's escapes (\", \\, \n,
// \uXXXX) are TOML's too.
func tomlString(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(s) // a string always encodes
	return strings.TrimSuffix(b.String(), "\n")
}

// tomlKey writes k bare where TOML allows (letters, digits, - and _),
// else quoted.
func tomlKey(k string) string {
	if k == "" {
		return `""`
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return tomlString(k)
		}
	}
	return k
}

func joinKey(path, k string) string {
	if path == "" {
		return tomlKey(k)
	}
	return path + "." + tomlKey(k)
}
