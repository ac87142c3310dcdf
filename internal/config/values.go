package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Off is the value of a Size or Duration written "off": no cache, no limit.
const Off = -1

// Size is a byte count, written as a number or a string with a k, m or g
// suffix (binary multiples, as in nginx): 64k, 100m. "off" is Off where a
// field allows it.
type Size int64

// UnmarshalText reads "64k", "off".
func (s *Size) UnmarshalText(b []byte) error {
	if string(b) == "off" {
		*s = Off
		return nil
	}
	n, err := ParseSize(string(b))
	*s = Size(n)
	return err
}

// MarshalText writes the shortest exact form ("64k", "off").
func (s Size) MarshalText() ([]byte, error) {
	if s < 0 {
		return []byte("off"), nil
	}
	return []byte(FormatSize(int64(s))), nil
}

// Duration is a Go duration written as a string: "500ms", "30s", "2m".
// "off" is Off where a field allows it.
type Duration time.Duration

// UnmarshalText reads "30s", "off".
func (d *Duration) UnmarshalText(b []byte) error {
	if string(b) == "off" {
		*d = Off
		return nil
	}
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("%q is not a duration (as 500ms, 30s, 2m)", b)
	}
	*d = Duration(v)
	return nil
}

// MarshalText writes the duration as Go does ("1m30s"), or "off".
func (d Duration) MarshalText() ([]byte, error) {
	if d < 0 {
		return []byte("off"), nil
	}
	return []byte(time.Duration(d).String()), nil
}

// D is the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// ParseSize parses a positive byte count: a whole number with an optional
// k, m or g suffix (binary multiples; "KiB", "MB" and so on also read).
func ParseSize(s string) (int64, error) {
	num := strings.TrimRight(s, "kKmMgGiIbB")
	unit := strings.ToLower(s[len(num):])
	mult := int64(1)
	switch unit {
	case "", "b":
	case "k", "kb", "kib":
		mult = 1 << 10
	case "m", "mb", "mib":
		mult = 1 << 20
	case "g", "gb", "gib":
		mult = 1 << 30
	default:
		return 0, fmt.Errorf("%q is not a size (use a number with k, m or g)", s)
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, fmt.Errorf("%q is not a size (use a number with k, m or g)", s)
	}
	if err != nil || n <= 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("%q is not a positive size below 4 exabytes", s)
	}
	return n * mult, nil
}

// FormatSize writes n with the largest suffix that keeps it exact.
func FormatSize(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return strconv.FormatInt(n>>30, 10) + "g"
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + "m"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + "k"
	}
	return strconv.FormatInt(n, 10)
}
