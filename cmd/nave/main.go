// Command nave is a web server: its own HTTP/1.1, static files, and Python
// WSGI apps. See 'nave help'.
package main

import (
	"context"
	"os"

	"nave/internal/cli"
)

func main() {
	os.Exit(cli.Main(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}
