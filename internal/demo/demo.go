// Package demo holds the small site nave serves when it is given no
// folder: a welcome page that says what nave is and how to point it at one.
// It imports nothing of nave's.
package demo

import (
	"embed"
	"io/fs"
)

//go:embed site
var site embed.FS

// FS returns the demo site, rooted at its index.html.
func FS() fs.FS {
	sub, err := fs.Sub(site, "site")
	if err != nil {
		panic("demo: embedded site missing: " + err.Error()) // the build embeds it
	}
	return sub
}
