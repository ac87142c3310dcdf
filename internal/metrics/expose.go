package metrics

import (
	"math"
	"slices"
	"strconv"
)

// Format is an exposition format.
type Format uint8

const (
	// FormatText is Prometheus's text format, version 0.0.4.
	FormatText Format = iota
	// FormatOpenMetrics is OpenMetrics 1.0.0's text format: counters' family
	// names without _total, UNIT lines, floats with a ".0", and "# EOF".
	FormatOpenMetrics
)

// ContentType is the media type a response in this format is sent with.
func (f Format) ContentType() string {
	if f == FormatOpenMetrics {
		return "application/openmetrics-text; version=1.0.0; charset=utf-8"
	}
	return "text/plain; version=0.0.4; charset=utf-8"
}

// AppendText appends every family's current values to dst in format f,
// families sorted by name and each family's series by label values, and
// returns the extended slice. Families with no series yet are left out.
// Scrapes are serialized; updates go on while one renders.
func (r *Registry) AppendText(dst []byte, f Format) []byte {
	r.scrape.Lock()
	defer r.scrape.Unlock()
	r.mu.Lock()
	hooks := slices.Clone(r.hooks)
	families := slices.Clone(r.families)
	r.mu.Unlock()
	for _, h := range hooks {
		h()
	}
	e := &encoder{b: dst, format: f}
	for _, fam := range families {
		e.family(fam)
	}
	if f == FormatOpenMetrics {
		e.b = append(e.b, "# EOF\n"...)
	}
	return e.b
}

// encoder appends the exposition of families to b.
type encoder struct {
	b      []byte
	format Format
}

// family writes f's metadata and every child's samples, if it has any.
func (e *encoder) family(f *family) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.children) == 0 {
		return
	}
	name := f.name
	if e.format == FormatOpenMetrics {
		name = f.base // OpenMetrics §4.1: a counter's family is named without _total
	}
	e.b = append(e.b, "# HELP "...)
	e.b = append(e.b, name...)
	e.b = append(e.b, ' ')
	e.b = appendEscaped(e.b, f.help, e.format == FormatOpenMetrics)
	e.b = append(e.b, "\n# TYPE "...)
	e.b = append(e.b, name...)
	e.b = append(e.b, ' ')
	e.b = append(e.b, f.kind.String()...)
	e.b = append(e.b, '\n')
	if e.format == FormatOpenMetrics && f.unit != "" {
		e.b = append(e.b, "# UNIT "...)
		e.b = append(e.b, name...)
		e.b = append(e.b, ' ')
		e.b = append(e.b, f.unit...)
		e.b = append(e.b, '\n')
	}
	for _, ch := range f.children {
		ch.m.write(e, f, ch)
	}
}

// histogram writes a histogram child's samples from its n per-bucket
// counts (not cumulative, +Inf last): cumulative _bucket series, _sum, and
// _count as the +Inf bucket's count. sum is read after the buckets.
func (e *encoder) histogram(f *family, ch *child, n int, count func(i int) uint64, sum func() float64) {
	var cum uint64
	for i := range n {
		cum += count(i)
		e.uintSample(f.name, "_bucket", ch.labels, f.le(e.format, i), cum)
	}
	e.floatSample(f.name, "_sum", ch.labels, "", sum())
	e.uintSample(f.name, "_count", ch.labels, "", cum)
}

// head writes a sample's name and labels, up to the space before its
// value. le, if not "", is added as the last label.
func (e *encoder) head(name, suffix, labels, le string) {
	e.b = append(e.b, name...)
	e.b = append(e.b, suffix...)
	if labels != "" || le != "" {
		e.b = append(e.b, '{')
		e.b = append(e.b, labels...)
		if le != "" {
			if labels != "" {
				e.b = append(e.b, ',')
			}
			e.b = append(e.b, `le="`...)
			e.b = append(e.b, le...)
			e.b = append(e.b, '"')
		}
		e.b = append(e.b, '}')
	}
	e.b = append(e.b, ' ')
}

func (e *encoder) uintSample(name, suffix, labels, le string, v uint64) {
	e.head(name, suffix, labels, le)
	e.b = strconv.AppendUint(e.b, v, 10)
	e.b = append(e.b, '\n')
}

func (e *encoder) intSample(name, suffix, labels, le string, v int64) {
	e.head(name, suffix, labels, le)
	e.b = strconv.AppendInt(e.b, v, 10)
	e.b = append(e.b, '\n')
}

func (e *encoder) floatSample(name, suffix, labels, le string, v float64) {
	e.head(name, suffix, labels, le)
	e.b = appendFloat(e.b, v, e.format)
	e.b = append(e.b, '\n')
}

// appendFloat writes v as both formats read it: Go's shortest 'g' form,
// and +Inf, -Inf, NaN. OpenMetrics wants a float that is a whole number
// written with ".0" (its canonical form, which le values must have).
func appendFloat(b []byte, v float64, f Format) []byte {
	switch {
	case math.IsNaN(v):
		return append(b, "NaN"...)
	case math.IsInf(v, 1):
		return append(b, "+Inf"...)
	case math.IsInf(v, -1):
		return append(b, "-Inf"...)
	}
	n := len(b)
	b = strconv.AppendFloat(b, v, 'g', -1, 64)
	if f == FormatOpenMetrics && !slices.ContainsFunc(b[n:], func(c byte) bool { return c == '.' || c == 'e' }) {
		b = append(b, ".0"...)
	}
	return b
}

// appendEscaped escapes backslash and newline, and double quote if quote:
// label values and OpenMetrics HELP escape all three, the text format's
// HELP only the first two.
func appendEscaped(b []byte, s string, quote bool) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			b = append(b, `\\`...)
		case '\n':
			b = append(b, `\n`...)
		case '"':
			if quote {
				b = append(b, `\"`...)
			} else {
				b = append(b, c)
			}
		default:
			b = append(b, c)
		}
	}
	return b
}
