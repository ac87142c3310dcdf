package config

import (
	"encoding"
	"encoding/json"
	"math"
	"reflect"
	"strconv"
	"strings"
)

// decode fills dst (a pointer) from a generic tree, as TOML and JSON
// decoders produce (map[string]any, []any, string, bool, int64, float64,
// json.Number), by the json tags of dst's types. It records every problem
// (an unknown key, with the nearest known one; a value of the wrong kind)
// in e, and goes on with the rest.
func decode(e *errs, path string, src any, dst reflect.Value) {
	if u, ok := dst.Addr().Interface().(encoding.TextUnmarshaler); ok {
		decodeText(e, path, src, dst, u)
		return
	}
	switch dst.Kind() {
	case reflect.Pointer:
		if dst.IsNil() {
			dst.Set(reflect.New(dst.Type().Elem()))
		}
		decode(e, path, src, dst.Elem())
	case reflect.Struct:
		decodeStruct(e, path, src, dst)
	case reflect.Map:
		decodeMap(e, path, src, dst)
	case reflect.Slice:
		decodeSlice(e, path, src, dst)
	case reflect.String:
		if s, ok := src.(string); ok {
			dst.SetString(s)
			return
		}
		e.add(path, "want a string, got %s", kindOf(src))
	case reflect.Bool:
		if b, ok := src.(bool); ok {
			dst.SetBool(b)
			return
		}
		e.add(path, "want true or false, got %s", kindOf(src))
	case reflect.Int, reflect.Int64:
		if n, ok := integer(src); ok {
			dst.SetInt(n)
			return
		}
		e.add(path, "want a whole number, got %s", kindOf(src))
	default:
		panic("config: no decoder for " + dst.Type().String())
	}
}

// decodeText fills a Size or Duration: from a string, or (a Size) from a
// whole number.
func decodeText(e *errs, path string, src any, dst reflect.Value, u encoding.TextUnmarshaler) {
	if n, ok := integer(src); ok && dst.Kind() == reflect.Int64 && dst.Type() == reflect.TypeFor[Size]() {
		if n <= 0 {
			e.add(path, "want a positive size, got %d", n)
			return
		}
		dst.SetInt(n)
		return
	}
	s, ok := src.(string)
	if !ok {
		if dst.Type() == reflect.TypeFor[Duration]() {
			e.add(path, "want a duration as a string (as \"30s\"), got %s", kindOf(src))
		} else {
			e.add(path, "want a size (as 64k), got %s", kindOf(src))
		}
		return
	}
	if err := u.UnmarshalText([]byte(s)); err != nil {
		e.add(path, "%v", err)
	}
}

func decodeStruct(e *errs, path string, src any, dst reflect.Value) {
	m, ok := src.(map[string]any)
	if !ok {
		e.add(path, "want a table, got %s", kindOf(src))
		return
	}
	fields := fieldsOf(dst.Type())
	for _, k := range sortedNames(m) {
		f, ok := fields[k]
		if !ok {
			e.add(join(path, k), "unknown key%s", suggest(k, fields))
			continue
		}
		decode(e, join(path, k), m[k], dst.FieldByIndex(f))
	}
}

func decodeMap(e *errs, path string, src any, dst reflect.Value) {
	m, ok := src.(map[string]any)
	if !ok {
		e.add(path, "want a table, got %s", kindOf(src))
		return
	}
	if dst.IsNil() {
		dst.Set(reflect.MakeMap(dst.Type()))
	}
	for _, k := range sortedNames(m) {
		v := reflect.New(dst.Type().Elem()).Elem()
		decode(e, join(path, k), m[k], v)
		dst.SetMapIndex(reflect.ValueOf(k), v)
	}
}

func decodeSlice(e *errs, path string, src any, dst reflect.Value) {
	a, ok := src.([]any)
	if !ok {
		// A single string where a list of strings is wanted is a list of one.
		if s, isStr := src.(string); isStr && dst.Type().Elem().Kind() == reflect.String {
			dst.Set(reflect.ValueOf([]string{s}))
			return
		}
		hint := ""
		if _, isTable := src.(map[string]any); isTable && dst.Type().Elem().Kind() == reflect.Pointer {
			hint = " (write [[" + path + "]] before each element)"
		}
		e.add(path, "want a list, got %s%s", kindOf(src), hint)
		return
	}
	out := reflect.MakeSlice(dst.Type(), len(a), len(a))
	for i, v := range a {
		decode(e, index(path, i), v, out.Index(i))
	}
	dst.Set(out)
}

// fieldsOf maps a struct's keys to its fields, embedded structs' included.
func fieldsOf(t reflect.Type) map[string][]int {
	out := map[string][]int{}
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous {
			for k, idx := range fieldsOf(f.Type) {
				out[k] = append([]int{i}, idx...)
			}
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name != "" && name != "-" {
			out[name] = []int{i}
		}
	}
	return out
}

// integer reads a whole number from TOML (int64) or JSON (json.Number).
func integer(src any) (int64, bool) {
	switch v := src.(type) {
	case int64:
		return v, true
	case json.Number:
		n, err := strconv.ParseInt(string(v), 10, 64)
		return n, err == nil
	case float64: // a JSON number decoded without UseNumber
		return int64(v), v == math.Trunc(v) && math.Abs(v) < 1<<53
	}
	return 0, false
}

// kindOf names a generic value's kind for an error message, without
// echoing it.
func kindOf(v any) string {
	switch v := v.(type) {
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case int64:
		return "a number"
	case json.Number:
		if strings.ContainsAny(string(v), ".eE") {
			return "a fraction"
		}
		return "a number"
	case float64:
		return "a fraction"
	case []any:
		return "a list"
	case map[string]any:
		return "a table"
	case nil:
		return "null"
	}
	return "a date or time"
}

// suggest names the known key nearest to k, if one is near enough to be
// a typo: " (did you mean \"browse\"?)".
func suggest(k string, known map[string][]int) string {
	best, bestD := "", 3
	if len(k) <= 4 {
		bestD = 2
	}
	for name := range known {
		if d := distance(k, name); d < bestD || d == bestD && best != "" && name < best {
			best, bestD = name, d
		}
	}
	if best == "" {
		return ""
	}
	return " (did you mean \"" + best + "\"?)"
}

// distance is the Levenshtein distance between a and b, in bytes, with a
// swap of two neighbours counted once (as in "brwose").
func distance(a, b string) int {
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
