package metrics

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"
)

// kind is a family's metric type.
type kind uint8

const (
	kindCounter kind = iota
	kindGauge
	kindHistogram
)

func (k kind) String() string {
	switch k {
	case kindCounter:
		return "counter"
	case kindGauge:
		return "gauge"
	}
	return "histogram"
}

// metric is one child's value: it renders its samples.
type metric interface {
	write(e *encoder, f *family, ch *child)
}

// family is one metric family: its name, help and type, its label names,
// and a child per label combination registered.
type family struct {
	kind   kind
	name   string // as registered: a counter's ends in _total
	base   string // OpenMetrics' family name: name without a counter's _total
	help   string
	unit   string   // "seconds", "bytes" or "", from the name
	labels []string // label names, fixed at registration
	bounds []float64
	leText []string // le label values per bucket, +Inf last, in each format
	leOM   []string

	mu       sync.Mutex        // guards children and index
	children []*child          // sorted by label values
	index    map[string]*child // by key(values)
}

// child is one label combination's series.
type child struct {
	values []string
	labels string // `a="x",b="y"`, escaped; "" for a family without labels
	m      metric
}

// namespaces are the prefixes a name may have: nave's own, and those of
// the Go runtime's and the process's figures, whose names the Prometheus
// client libraries fixed.
var namespaces = []string{"nave_", "go_", "process_"}

// units are the base units (Prometheus's conventions) a name may end in;
// nonBase are the suffixes of other units, refused with the base to use.
var (
	units   = []string{"seconds", "bytes"}
	nonBase = map[string]string{
		"milliseconds": "seconds", "microseconds": "seconds", "nanoseconds": "seconds",
		"minutes": "seconds", "hours": "seconds", "days": "seconds", "ms": "seconds",
		"kilobytes": "bytes", "megabytes": "bytes", "gigabytes": "bytes", "bits": "bytes",
	}
)

func newFamily(k kind, name, help string, bounds []float64, labels []string) *family {
	if !validName(name) {
		panic(fmt.Sprintf("metrics: invalid metric name %q", name))
	}
	if !slices.ContainsFunc(namespaces, func(ns string) bool { return strings.HasPrefix(name, ns) && len(name) > len(ns) }) {
		panic(fmt.Sprintf("metrics: %q must begin with one of %q", name, namespaces))
	}
	if help == "" || !utf8.ValidString(help) {
		panic(fmt.Sprintf("metrics: %q needs help text, in UTF-8", name))
	}
	base := name
	switch {
	case k == kindCounter && !strings.HasSuffix(name, "_total"):
		panic(fmt.Sprintf("metrics: counter %q must be named ..._total", name))
	case k == kindCounter:
		base = strings.TrimSuffix(name, "_total")
	case strings.HasSuffix(name, "_total"):
		panic(fmt.Sprintf("metrics: %s %q must not be named ..._total (counters only)", k, name))
	case k == kindHistogram && (strings.HasSuffix(name, "_bucket") || strings.HasSuffix(name, "_count") || strings.HasSuffix(name, "_sum")):
		panic(fmt.Sprintf("metrics: histogram %q must not end in _bucket, _count or _sum", name))
	}
	f := &family{kind: k, name: name, base: base, help: help, bounds: bounds, index: make(map[string]*child)}
	last := base[strings.LastIndexByte(base, '_')+1:]
	if slices.Contains(units, last) && last != base {
		f.unit = last
	} else if use, ok := nonBase[last]; ok {
		panic(fmt.Sprintf("metrics: %q: use the base unit, %s", name, use))
	}
	seen := make(map[string]bool, len(labels))
	for _, l := range labels {
		if !validName(l) || strings.HasPrefix(l, "__") || l == "le" || l == "quantile" || seen[l] {
			panic(fmt.Sprintf("metrics: %q: invalid or repeated label name %q", name, l))
		}
		seen[l] = true
	}
	f.labels = slices.Clone(labels)
	if k == kindHistogram {
		for _, b := range bounds {
			f.leText = append(f.leText, string(appendFloat(nil, b, FormatText)))
			f.leOM = append(f.leOM, string(appendFloat(nil, b, FormatOpenMetrics)))
		}
		f.leText = append(f.leText, "+Inf")
		f.leOM = append(f.leOM, "+Inf")
	}
	return f
}

// validName: a metric name is [a-zA-Z_][a-zA-Z0-9_]* (the colon is kept
// for recording rules); a label name the same.
func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// renderedNames are the names this family puts in either format, as a
// sample or a family: no two families may share one.
func (f *family) renderedNames() []string {
	switch f.kind {
	case kindCounter:
		return []string{f.name, f.base, f.base + "_created"}
	case kindHistogram:
		return []string{f.name, f.name + "_bucket", f.name + "_count", f.name + "_sum", f.name + "_created"}
	}
	return []string{f.name}
}

// le is the le label value of bucket i.
func (f *family) le(format Format, i int) string {
	if format == FormatOpenMetrics {
		return f.leOM[i]
	}
	return f.leText[i]
}

// key joins label values with 0xff, a byte valid UTF-8 never holds.
func key(values []string) string { return strings.Join(values, "\xff") }

// child returns the child for values, making it with mk if there is none
// (or replacing its metric, if replace).
func (f *family) child(values []string, mk func() metric, replace bool) metric {
	if len(values) != len(f.labels) {
		panic(fmt.Sprintf("metrics: %q has labels %q, got %d values", f.name, f.labels, len(values)))
	}
	for _, v := range values {
		if !utf8.ValidString(v) {
			panic(fmt.Sprintf("metrics: %q: label value %q is not UTF-8", f.name, v))
		}
	}
	k := key(values)
	f.mu.Lock()
	defer f.mu.Unlock()
	if ch := f.index[k]; ch != nil {
		if replace {
			ch.m = mk()
		}
		return ch.m
	}
	ch := &child{values: slices.Clone(values), m: mk()}
	var b []byte
	for i, l := range f.labels {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, l...)
		b = append(b, `="`...)
		b = appendEscaped(b, values[i], true)
		b = append(b, '"')
	}
	ch.labels = string(b)
	i, _ := slices.BinarySearchFunc(f.children, ch.values, func(c *child, v []string) int { return slices.Compare(c.values, v) })
	f.children = slices.Insert(f.children, i, ch)
	f.index[k] = ch
	return ch.m
}

// remove drops the child for values, reporting whether there was one.
func (f *family) remove(values []string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := key(values)
	ch := f.index[k]
	if ch == nil {
		return false
	}
	delete(f.index, k)
	f.children = slices.DeleteFunc(f.children, func(c *child) bool { return c == ch })
	return true
}

// CounterVec is a counter family with labels. Resolve each label
// combination once, with With, when its site, route or app is configured,
// and keep the Counter: the hot path never looks labels up.
type CounterVec struct{ f *family }

// With returns the counter for these label values, in the order of the
// label names, creating it at zero the first time. It takes a lock and may
// allocate: call it at configuration time, not per request.
func (v *CounterVec) With(values ...string) *Counter {
	return v.f.child(values, func() metric { return new(Counter) }, false).(*Counter)
}

// Delete drops the counter for these label values (a route a reload
// removed) from the exposition. A handle still held keeps counting,
// unseen; With makes a new one from zero.
func (v *CounterVec) Delete(values ...string) bool { return v.f.remove(values) }

// GaugeVec is a gauge family with labels; see CounterVec.
type GaugeVec struct{ f *family }

// With returns the gauge for these label values; see CounterVec.With.
func (v *GaugeVec) With(values ...string) *Gauge {
	return v.f.child(values, func() metric { return new(Gauge) }, false).(*Gauge)
}

// Delete drops the gauge for these label values; see CounterVec.Delete.
func (v *GaugeVec) Delete(values ...string) bool { return v.f.remove(values) }

// HistogramVec is a histogram family with labels, all with the family's
// buckets; see CounterVec.
type HistogramVec struct{ f *family }

// With returns the histogram for these label values; see CounterVec.With.
func (v *HistogramVec) With(values ...string) *Histogram {
	return v.f.child(values, func() metric { return newHistogram(v.f.bounds) }, false).(*Histogram)
}

// Delete drops the histogram for these label values; see CounterVec.Delete.
func (v *HistogramVec) Delete(values ...string) bool { return v.f.remove(values) }

// FuncVec is a family of CounterFuncs or GaugeFuncs with labels: a pool
// reports its workers by state as one function per state.
type FuncVec struct{ f *family }

// Set makes fn the function read at scrape time for these label values,
// replacing any set before.
func (v *FuncVec) Set(fn func() float64, values ...string) {
	if fn == nil {
		panic(fmt.Sprintf("metrics: %q: nil function", v.f.name))
	}
	v.f.child(values, func() metric { return funcValue{fn} }, true)
}

// Delete drops the function for these label values.
func (v *FuncVec) Delete(values ...string) bool { return v.f.remove(values) }
