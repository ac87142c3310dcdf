package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"nave/internal/config"
)

// errUsage marks an error whose message was already printed; the command
// exits 2.
var errUsage = errors.New("usage")

// errReported is a failure whose message was already printed: exit 1.
var errReported = errors.New("reported")

// newFlagSet returns a flag set that reports nothing itself: Main prints
// one line per error and the usage only on --help.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parseInterleaved parses flags that may come before or after the
// positional arguments (nave serve DIR --listen :8080), like most CLIs.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// sizeValue is a byte count flag: a whole number with an optional k, m or
// g suffix (binary multiples, as in nginx; "KiB", "MB" and so on also read).
type sizeValue struct{ n *int64 }

func (v sizeValue) String() string {
	if v.n == nil {
		return ""
	}
	return formatSize(*v.n)
}

func (v sizeValue) Set(s string) error {
	n, err := parseSize(s)
	if err != nil {
		return err
	}
	*v.n = n
	return nil
}

// parseSize and formatSize are config's, so that a size reads the same in
// a flag and in a config file.
func parseSize(s string) (int64, error) { return config.ParseSize(s) }

func formatSize(n int64) string { return config.FormatSize(n) }

// parseFlagsOnly parses args for a command that takes flags and no
// arguments: --help prints usage to stdout (help is true), and an
// argument is a usage error, with hint saying where its value goes.
func parseFlagsOnly(fs *flag.FlagSet, args []string, usage string, stdout io.Writer, hint string) (help bool, err error) {
	pos, err := parseInterleaved(fs, args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stdout, usage)
		return true, nil
	case err != nil:
		return false, &usageError{err}
	case len(pos) > 0:
		return false, usagef("takes no arguments%s, got %q", hint, pos[0])
	}
	return false, nil
}
