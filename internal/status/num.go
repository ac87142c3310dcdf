package status

import (
	"math"
	"strconv"
)

// Num is a figure in the JSON: a number, or null where there is none (a
// percentile of no requests, an app not yet running at that time).
type Num float64

// None is a Num that is null.
var None = Num(math.NaN())

// MarshalJSON writes n with six significant digits, or null.
func (n Num) MarshalJSON() ([]byte, error) {
	f := float64(n)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, f, 'g', 6, 64), nil
}

// UnmarshalJSON reads a number or null (None).
func (n *Num) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*n = None
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	*n = Num(f)
	return err
}
