// Command fasthttp-fs serves a document root with fasthttp.FS: the fasthttp
// peer in nave's benchmark. It is its own module so that nave's main module
// stays standard-library only.
//
// Usage: fasthttp-fs -listen 127.0.0.1:PORT -root DIR
package main

import (
	"flag"
	"fmt"
	"log"
	"runtime/debug"

	"github.com/valyala/fasthttp"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:8080", "address to listen on")
	root := flag.String("root", ".", "document root")
	version := flag.Bool("version", false, "print fasthttp's version and exit")
	flag.Parse()
	if *version {
		fmt.Println("fasthttp", fasthttpVersion())
		return
	}

	// fasthttp's own file server, in the configuration its docs suggest for
	// static files: no compression (nave, nginx and caddy do none here
	// either), index.html for directories, file handles cached.
	fs := &fasthttp.FS{
		Root:               *root,
		IndexNames:         []string{"index.html"},
		GenerateIndexPages: false,
		AcceptByteRange:    true,
	}
	srv := &fasthttp.Server{
		Handler: fs.NewRequestHandler(),
		Name:    "fasthttp",
		// Nothing logs per request; errors only.
		Logger: log.Default(),
	}
	if err := srv.ListenAndServe(*listen); err != nil {
		log.Fatal(err)
	}
}

// fasthttpVersion is the fasthttp module version this binary was built with.
func fasthttpVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, m := range bi.Deps {
			if m.Path == "github.com/valyala/fasthttp" {
				return m.Version
			}
		}
	}
	return "unknown"
}
