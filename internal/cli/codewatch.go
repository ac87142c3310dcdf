package cli

import (
	"context"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// --reload: nave wsgi and nave asgi watch the app's Python files and
// reload the app (as SIGHUP does: new workers first, the old ones kept if
// the new code fails to start) when one changes, as uvicorn's and
// gunicorn's --reload do for development. The watch polls, as uvicorn's
// StatReload does without watchfiles: a walk of the folder every
// reloadPoll, comparing each file's modification time and size.

// reloadPoll is how often the folder is walked.
const reloadPoll = 500 * time.Millisecond

// maxWatched bounds the files one walk looks at: a folder holding far
// more is watched in part, and nave says so once.
const maxWatched = 20000

// stamp is what a walk remembers of a file.
type stamp struct {
	mod  time.Time
	size int64
}

// codeSnapshot is a walk's result: the Python files under a folder.
type codeSnapshot struct {
	files     map[string]stamp
	truncated bool // the walk stopped at maxWatched files
}

// snapshotCode walks dirs for *.py files, leaving out what is not the
// app's code: hidden folders (.git, .venv), __pycache__, node_modules and
// virtual environments (a folder with a pyvenv.cfg, or site-packages).
func snapshotCode(dirs ...string) codeSnapshot {
	s := codeSnapshot{files: map[string]stamp{}}
	for _, dir := range dirs {
		if s.truncated {
			break
		}
		s.walk(dir)
	}
	return s
}

// walk adds dir's files to s.
func (s *codeSnapshot) walk(dir string) {
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // a folder that went away or cannot be read: skipped
		}
		name := d.Name()
		if d.IsDir() {
			if path != dir && skipFolder(path, name) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".py") || !d.Type().IsRegular() {
			return nil
		}
		if len(s.files) == maxWatched {
			s.truncated = true
			return filepath.SkipAll
		}
		if info, err := d.Info(); err == nil {
			s.files[path] = stamp{info.ModTime(), info.Size()}
		}
		return nil
	})
}

func skipFolder(path, name string) bool {
	switch {
	case strings.HasPrefix(name, "."), name == "__pycache__", name == "node_modules", name == "site-packages":
		return true
	}
	_, err := os.Stat(filepath.Join(path, "pyvenv.cfg"))
	return err == nil
}

// changedFile names a file that differs between two snapshots (changed,
// added or removed), or "" when none does.
func changedFile(old, cur codeSnapshot) string {
	for path, st := range cur.files {
		if o, ok := old.files[path]; !ok || !o.mod.Equal(st.mod) || o.size != st.size {
			return path
		}
	}
	for path := range old.files {
		if _, ok := cur.files[path]; !ok {
			return path
		}
	}
	return ""
}

// codeWatch is --reload's watch of some folders.
type codeWatch struct {
	dirs []string
	last codeSnapshot
}

// newCodeWatch takes the first walk of dirs: nave takes it before the
// workers import the app, so that a change made while they start is seen.
func newCodeWatch(dirs []string) *codeWatch {
	return &codeWatch{dirs: dirs, last: snapshotCode(dirs...)}
}

// run walks the folders every reloadPoll until ctx ends, and calls reload
// with the file after a walk that finds a Python file changed since the
// walk before.
func (w *codeWatch) run(ctx context.Context, log *slog.Logger, reload func(file string)) {
	if w.last.truncated {
		log.Warn("--reload watches only the first files of its folders", "folders", w.dirs, "files", maxWatched)
	}
	t := time.NewTicker(reloadPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cur := snapshotCode(w.dirs...)
		if f := changedFile(w.last, cur); f != "" {
			reload(f)
		}
		w.last = cur
	}
}
