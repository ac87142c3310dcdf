// Package cli is nave's command line: the subcommands, their flags, and the
// wiring of server, handlers and logs. It is the only package that knows
// all the others.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
)

// Version is nave's release.
const Version = "0.1.0"

const mainUsage = `nave is a web server: its own HTTP/1.1 and HTTP/2, HTTPS, static files, and Python WSGI and ASGI apps.

Usage:
  nave serve [flags] [DIR]   serve DIR (without DIR, a built-in demo site)
  nave wsgi [flags] MODULE:CALLABLE
                             run a Python WSGI app (Flask, Django, Pyramid...)
  nave asgi [flags] MODULE:APP
                             run a Python ASGI app (FastAPI, Starlette, Django async...)
  nave run [--config FILE]   serve what a config file describes (default nave.toml):
                             sites, routes, folders, apps, redirects
  nave validate FILE         check a config file, as nginx -t
  nave import-unit [-o FILE] UNIT.json
                             convert an NGINX Unit configuration into a config file
  nave reload [--config FILE]
                             have the running nave run read its config again
  nave status                what the running nave is doing: traffic, workers,
                             upstreams (a live page is on the admin API at /)
  nave version               print the version
  nave help [COMMAND]        show help for nave or a command

Run 'nave COMMAND --help' for a command's flags.
`

// Main runs the command line args (without the program name) and returns
// the process exit code: 0 success, 1 failure at run time, 2 bad usage,
// 3 a conversion (import-unit) that left something out.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, mainUsage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	var err error
	switch cmd {
	case "serve":
		err = serve(ctx, rest, stdout, stderr)
	case "wsgi":
		err = runWSGI(ctx, rest, stdout, stderr)
	case "asgi":
		err = runASGI(ctx, rest, stdout, stderr)
	case "run":
		err = runConfig(ctx, rest, stdout, stderr)
	case "validate":
		err = validate(rest, stdout, stderr)
	case "reload":
		err = reload(ctx, rest, stdout, stderr)
	case "import-unit":
		err = importUnit(rest, stdout, stderr)
	case "status":
		err = statusCmd(ctx, rest, stdout, stderr)
	case "version", "--version":
		err = version(rest, stdout)
	case "help", "-h", "-help", "--help":
		err = help(rest, stdout, stderr)
	default:
		fmt.Fprintf(stderr, "nave: unknown command %q (run 'nave help')\n", cmd)
		return 2
	}
	if err != nil && !errors.Is(err, errUsage) && !errors.Is(err, errReported) && !errors.Is(err, errLost) {
		fmt.Fprintf(stderr, "nave %s: %v\n", cmd, err)
	}
	return exitCode(err)
}

func help(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stdout, mainUsage)
		return nil
	}
	switch args[0] {
	case "serve":
		fmt.Fprint(stdout, serveUsage)
	case "wsgi":
		fmt.Fprint(stdout, wsgiUsage+serverFlagsUsage)
	case "asgi":
		fmt.Fprint(stdout, asgiUsage+serverFlagsUsage)
	case "run":
		fmt.Fprint(stdout, runUsage)
	case "validate":
		fmt.Fprint(stdout, validateUsage)
	case "reload":
		fmt.Fprint(stdout, reloadUsage)
	case "import-unit":
		fmt.Fprint(stdout, importUnitUsage)
	case "status":
		fmt.Fprint(stdout, statusUsage)
	case "version":
		fmt.Fprint(stdout, versionUsage)
	default:
		fmt.Fprintf(stderr, "nave help: unknown command %q\n", args[0])
		return errUsage
	}
	return nil
}

const versionUsage = `Usage: nave version

Prints nave's version, and the Go toolchain and platform it was built for.
`

func version(args []string, stdout io.Writer) error {
	if len(args) > 0 {
		if args[0] == "-h" || args[0] == "-help" || args[0] == "--help" {
			fmt.Fprint(stdout, versionUsage)
			return nil
		}
		return usagef("takes no arguments, got %q", args[0])
	}
	fmt.Fprintf(stdout, "nave %s (%s %s/%s)\n", Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return nil
}

// usageError is bad input on the command line (a flag, an argument, an
// address that cannot be used): printed as one line, exit 2.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Errorf(format, args...)}
}

func exitCode(err error) int {
	var ue *usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errLost):
		return 3
	case errors.Is(err, errUsage), errors.As(err, &ue):
		return 2
	}
	return 1
}
