package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"nave/internal/unit"
)

const importUnitUsage = `Usage: nave import-unit [-o FILE] UNIT.json

Converts an NGINX Unit configuration (what Unit's control API serves at
/config, or the whole of /) into a nave config file (TOML), written to
FILE or to standard output: listeners, routes and their matches, shares,
python applications, proxies, upstreams, returns and the http settings.

Each part nave cannot carry over is named on standard error, one a line,
as "UNIT.json: JSON.PATH: what became of it", and listed again in a
comment at the top of the file. A route step whose match nave cannot
express is left out whole, never widened. docs/config.md ("Coming from
NGINX Unit") describes the mapping.

Exit code 0 when everything was converted, 3 when the file was written
but something named was not, 2 when UNIT.json is not a Unit
configuration, 1 when a file cannot be read or written. Run
'nave validate FILE' on the machine that is to serve it: the folders and
virtualenvs are Unit's.

Flags:
  -o FILE                write the config to FILE (default: standard output)
`

// errLost is a conversion that wrote its file but left something out:
// exit code 3.
var errLost = errors.New("not everything converted")

func importUnit(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("import-unit")
	out := fs.String("o", "", "")
	fs.StringVar(out, "output", "", "")
	pos, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, importUnitUsage)
		return nil
	}
	if err != nil {
		return &usageError{err}
	}
	if len(pos) != 1 {
		return usagef("want one UNIT.json, got %d arguments", len(pos))
	}
	src := pos[0]
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	c, lost, err := unit.Convert(data)
	if err != nil {
		return usagef("%s: %v", src, strings.TrimPrefix(err.Error(), "unit: "))
	}
	body, err := c.TOML()
	if err != nil {
		return err
	}
	var head strings.Builder
	fmt.Fprintf(&head, "# Converted from %s by nave import-unit (docs/config.md, \"Coming from NGINX Unit\").\n", src)
	if len(lost) > 0 {
		head.WriteString("#\n# Not converted, or converted with a difference:\n")
		for _, l := range lost {
			fmt.Fprintf(&head, "#   %s\n", strings.ReplaceAll(l.String(), "\n", " "))
		}
	}
	head.WriteString("\n")
	file := append([]byte(head.String()), body...)
	if *out == "" {
		_, err = stdout.Write(file)
	} else {
		err = os.WriteFile(*out, file, 0o644)
	}
	if err != nil {
		return err
	}
	for _, l := range lost {
		fmt.Fprintf(stderr, "%s: %s\n", src, l)
	}
	if len(lost) > 0 {
		return errLost
	}
	return nil
}
