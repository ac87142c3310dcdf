package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"nave/internal/config"
)

// A config's JSON is handled as a generic tree (map[string]any, []any,
// json.Number, string, bool, nil): a change edits the tree, and the tree
// is parsed back into a config, so that it is checked as a file is.

// errNotFound is a path that names nothing in the config.
var errNotFound = errors.New("admin: no such path in the config")

// toTree is c as a JSON tree.
func toTree(c *config.Config) (any, error) {
	data, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	return decodeJSON(data)
}

// decodeJSON reads one JSON value, numbers as json.Number.
func decodeJSON(data []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if d.More() {
		return nil, errors.New("data after the JSON value")
	}
	return v, nil
}

// splitPath turns "sites/api/routes/2" into its unescaped segments.
func splitPath(p string) ([]string, error) {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil, nil
	}
	segs := strings.Split(p, "/")
	for i, s := range segs {
		u, err := url.PathUnescape(s)
		if err != nil || u == "" {
			return nil, fmt.Errorf("%q is not a path segment", s)
		}
		segs[i] = u
	}
	return segs, nil
}

// get is the value at segs.
func get(node any, segs []string) (any, error) {
	for _, s := range segs {
		switch n := node.(type) {
		case map[string]any:
			v, ok := n[s]
			if !ok {
				return nil, errNotFound
			}
			node = v
		case []any:
			i, ok := listIndex(s, len(n))
			if !ok {
				return nil, errNotFound
			}
			node = n[i]
		default:
			return nil, errNotFound
		}
	}
	return node, nil
}

// put sets the value at segs to v and returns the changed node. Objects
// on the way that do not exist are made; in a list, the index one past
// the end appends.
func put(node any, segs []string, v any) (any, error) {
	if len(segs) == 0 {
		return v, nil
	}
	s, rest := segs[0], segs[1:]
	switch n := node.(type) {
	case nil:
		return put(map[string]any{}, segs, v)
	case map[string]any:
		child, err := put(n[s], rest, v)
		if err != nil {
			return nil, err
		}
		n[s] = child
		return n, nil
	case []any:
		i, ok := listIndex(s, len(n)+1)
		if !ok {
			return nil, errNotFound
		}
		if i == len(n) {
			n = append(n, nil)
		}
		child, err := put(n[i], rest, v)
		if err != nil {
			return nil, err
		}
		n[i] = child
		return n, nil
	}
	return nil, errNotFound
}

// remove deletes the value at segs (a list closes up) and returns the
// changed node.
func remove(node any, segs []string) (any, error) {
	if len(segs) == 0 {
		return nil, errors.New("admin: the whole config cannot be deleted; PUT or POST /load another")
	}
	s, rest := segs[0], segs[1:]
	switch n := node.(type) {
	case map[string]any:
		child, ok := n[s]
		if !ok {
			return nil, errNotFound
		}
		if len(rest) == 0 {
			delete(n, s)
			return n, nil
		}
		child, err := remove(child, rest)
		if err != nil {
			return nil, err
		}
		n[s] = child
		return n, nil
	case []any:
		i, ok := listIndex(s, len(n))
		if !ok {
			return nil, errNotFound
		}
		if len(rest) == 0 {
			return append(n[:i], n[i+1:]...), nil
		}
		child, err := remove(n[i], rest)
		if err != nil {
			return nil, err
		}
		n[i] = child
		return n, nil
	}
	return nil, errNotFound
}

// listIndex reads a decimal index below n.
func listIndex(s string, n int) (int, bool) {
	i, err := strconv.Atoi(s)
	if err != nil || i < 0 || i >= n || s != strconv.Itoa(i) {
		return 0, false
	}
	return i, true
}

// mergePatch applies patch to target as RFC 7396 §2 says: an object
// patch merges key by key, a null removes its key, anything else
// replaces the target.
func mergePatch(target, patch any) any {
	p, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	t, ok := target.(map[string]any)
	if !ok {
		t = map[string]any{}
	}
	for k, v := range p {
		if v == nil {
			delete(t, k)
			continue
		}
		t[k] = mergePatch(t[k], v)
	}
	return t
}
