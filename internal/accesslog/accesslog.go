// Package accesslog writes one record per request: in the Combined Log
// Format of Apache's mod_log_config, with client bytes escaped as nginx
// escapes them; as one JSON object (RFC 8259) per line; or laid out by a
// format string of $variables in the style of nginx's log_format,
// compiled once. Every format appends a record without allocating.
//
// Reopen opens the log file again by its name, so that logrotate can
// rename it and signal nave (SIGUSR1) to start a new one.
//
// Records are buffered in memory and written by a short-lived timer
// goroutine, never by the goroutine serving a request, so a slow, full or
// failing destination costs log records, never requests. A write error is
// reported once through the injected *slog.Logger, and again once the
// destination recovers.
//
// It imports web and the standard library only; it must not import server,
// cli or any handler package.
package accesslog

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"nave/internal/web"
)

// Errors from ParseFormat and Open.
var (
	ErrUnknownFormat = errors.New("accesslog: unknown format")
	ErrNoDestination = errors.New("accesslog: empty destination")
)

// Buffer geometry.
const (
	// flushSize: a buffer holding this much is written out at once.
	flushSize = 32 << 10
	// flushDelay: otherwise it is written this long after its first record.
	flushDelay = time.Second
	// bufSize is a buffer's capacity: flushSize and room for the record
	// that crosses it, so steady-state appends do not reallocate.
	bufSize = 64 << 10
	// maxPending bounds the records waiting behind a slow write; past it,
	// records are dropped rather than memory grown or Log blocked.
	maxPending = 1 << 20
	// maxKeep: a buffer grows past bufSize while its write is pending (the
	// writer goroutine can take a while to be scheduled) and is kept at
	// that size, so the steady state does not allocate; one that grew past
	// maxKeep, for a huge record, is freed after its write instead.
	maxKeep = 2 * maxPending
)

// Logger writes access records to one destination. Its methods are safe
// for concurrent use. A nil *Logger is valid and logs nothing, so a caller
// can hold one whether or not logging is on.
//
// Writing is done by one goroutine at a time, the writer: the timer
// goroutine or Close. Whoever sets writing under mu is the writer until it
// clears it.
type Logger struct {
	format Format
	dest   string // the destination's name, for errLog
	w      io.Writer
	closer io.Closer // closed by Close; nil when the caller owns w
	path   string    // the file Open opened, which Reopen opens again; "" for none
	errLog *slog.Logger
	loc    *time.Location   // zone of the time field: time.Local
	now    func() time.Time // time.Now; tests fix it

	mu        sync.Mutex
	idle      sync.Cond   // broadcast when writing ends; L is &mu
	buf       []byte      // guarded by mu: whole records not yet written
	records   int         // guarded by mu: records in buf
	spare     []byte      // guarded by mu: an empty buffer for take; nil while out for writing
	writing   bool        // guarded by mu: a writer holds the role
	timer     *time.Timer // guarded by mu: runs flushPending; nil until first armed
	armed     bool        // guarded by mu: timer will fire
	kicked    bool        // guarded by mu: timer was reset to fire now
	closed    bool        // guarded by mu
	lost      int64       // guarded by mu: records dropped since the last good write
	takenLost int64       // guarded by mu: lost when the writer took its buffer
	failing   bool        // guarded by mu: a write failed and errLog was told
	stalled   bool        // guarded by mu: records were dropped behind a slow write and errLog was told

	torn bool // owned by the writer: a failed write ended inside a record
}

// New returns a Logger writing format records to w. Close flushes it but
// does not close w. errLog receives the Logger's own failures; nil discards
// them.
func New(w io.Writer, format Format, errLog *slog.Logger) *Logger {
	if errLog == nil {
		errLog = slog.New(slog.DiscardHandler)
	}
	l := &Logger{
		format: format,
		dest:   destName(w),
		w:      w,
		errLog: errLog,
		loc:    time.Local,
		now:    time.Now,
		buf:    make([]byte, 0, bufSize),
	}
	l.idle.L = &l.mu
	return l
}

func destName(w io.Writer) string {
	if n, ok := w.(interface{ Name() string }); ok {
		return n.Name()
	}
	return fmt.Sprintf("%T", w)
}

// Open returns a Logger for dest: a file path, opened for appending and
// created with mode 0644 if missing; "-" for standard output, which Close
// leaves open; or "off", for which it returns a nil *Logger and no error.
func Open(dest string, format Format, errLog *slog.Logger) (*Logger, error) {
	switch dest {
	case "off":
		return nil, nil
	case "-":
		return New(os.Stdout, format, errLog), nil
	case "":
		return nil, fmt.Errorf("%w (want a file path, \"-\" or \"off\")", ErrNoDestination)
	}
	f, err := openFile(dest)
	if err != nil {
		return nil, fmt.Errorf("accesslog: %w", err)
	}
	l := New(f, format, errLog)
	l.closer, l.path = f, dest
	return l, nil
}

func openFile(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
}

// Reopen opens the Logger's file again by its path, as logrotate expects
// on SIGUSR1: after the file was renamed, records go to a new file of the
// old name. Records buffered or being written are not lost: they go to
// whichever file is open when they are written. It waits for a write in
// progress. If the file cannot be opened, the old one stays in use and
// the error is returned. A Logger writing to standard output or a caller's
// writer, a closed one, and a nil one, have nothing to reopen.
func (l *Logger) Reopen() error {
	if l == nil || l.path == "" {
		return nil
	}
	l.mu.Lock()
	for l.writing {
		l.idle.Wait()
	}
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.writing = true // the writer role: w and closer are the writer's
	l.mu.Unlock()
	f, err := openFile(l.path)
	if err == nil {
		old := l.closer
		l.w, l.closer, l.torn = f, f, false
		if cerr := old.Close(); cerr != nil {
			l.errLog.Warn("accesslog: closing the old file", "dest", l.dest, "err", cerr)
		}
	}
	l.mu.Lock()
	l.writing = false
	l.idle.Broadcast()
	l.schedule()
	l.mu.Unlock()
	if err != nil {
		return fmt.Errorf("accesslog: reopen: %w", err)
	}
	return nil
}

// Log records the exchange of r and w; the duration runs from r.Start to
// now. The server calls it after each response. It does
// not retain r, w or their bytes, does no I/O, and does not allocate in
// steady state. When records cannot be written out fast enough, or the
// destination fails, records are dropped. Log after Close does nothing.
func (l *Logger) Log(r *web.Request, w *web.ResponseWriter) {
	start := r.Start
	if l == nil {
		return
	}
	d := l.now().Sub(start)
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	if len(l.buf) >= maxPending {
		l.lost++
		warn := !l.stalled && !l.failing
		l.stalled = true
		l.mu.Unlock()
		if warn {
			l.errLog.Warn("accesslog: writes are not keeping up; dropping records", "dest", l.dest)
		}
		return
	}
	l.buf = l.format.appendRecord(l.buf, r, w, start.In(l.loc), d)
	l.records++
	l.schedule()
	l.mu.Unlock()
}

// schedule makes sure a write will come for the buffered records: at once
// when the buffer is full, else within flushDelay. While a writer holds the
// role it does nothing: the writer calls it again when done. mu must be held.
func (l *Logger) schedule() {
	switch {
	case l.writing || l.closed || len(l.buf) == 0:
	case len(l.buf) >= flushSize:
		if !l.kicked {
			l.kicked = true
			l.arm(0)
		}
	case !l.armed:
		l.arm(flushDelay)
	}
}

// arm makes the timer fire after d. mu must be held.
func (l *Logger) arm(d time.Duration) {
	l.armed = true
	if l.timer == nil {
		l.timer = time.AfterFunc(d, l.flushPending)
		return
	}
	l.timer.Reset(d)
}

// flushPending is the timer's function: it takes the writer role, if free,
// and writes out the buffer.
func (l *Logger) flushPending() {
	l.mu.Lock()
	l.armed, l.kicked = false, false
	if l.writing || l.closed || len(l.buf) == 0 {
		l.mu.Unlock()
		return
	}
	out, n := l.take()
	l.mu.Unlock()
	l.flush(out, n) // a failure is reported to errLog
}

// take swaps the buffer for the spare, takes the writer role, and returns
// the records to write. mu must be held and the role free.
func (l *Logger) take() (out []byte, records int) {
	out, records = l.buf, l.records
	l.buf, l.spare, l.records = l.spare, nil, 0
	if l.buf == nil {
		l.buf = make([]byte, 0, bufSize)
	}
	l.writing = true
	l.takenLost = l.lost
	return out, records
}

// flush writes out, which holds n records, tells errLog when the
// destination fails or recovers, and gives up the writer role. The caller
// holds the role.
func (l *Logger) flush(out []byte, n int) error {
	err := l.write(out)
	var failed, recovered bool
	var dropped int64
	l.mu.Lock()
	switch {
	case err != nil:
		l.lost += int64(n)
		failed = !l.failing
		l.failing = true
	case (l.failing || l.stalled) && l.lost == l.takenLost:
		// Healthy again only once a write finishes with no record dropped
		// behind it; otherwise a slow destination would flap.
		recovered, dropped = true, l.lost
		l.failing, l.stalled, l.lost = false, false, 0
	}
	l.mu.Unlock()
	// Reported while still the writer, so reports keep their order.
	if failed {
		l.errLog.Error("accesslog: write failed; dropping records until it recovers", "dest", l.dest, "err", err)
	}
	if recovered {
		l.errLog.Info("accesslog: writing again", "dest", l.dest, "dropped", dropped)
	}
	l.mu.Lock()
	if cap(out) <= maxKeep {
		l.spare = out[:0]
	}
	l.writing = false
	l.idle.Broadcast()
	l.schedule()
	l.mu.Unlock()
	return err
}

// write writes out to the destination. After a failed write that stopped
// inside a record, it first ends that torn line, so the next record starts
// a line of its own. The caller holds the writer role.
func (l *Logger) write(out []byte) error {
	if l.torn {
		if _, err := io.WriteString(l.w, "\n"); err != nil {
			return err
		}
		l.torn = false
	}
	n, err := l.w.Write(out)
	if err == nil && n < len(out) {
		err = io.ErrShortWrite
	}
	if err != nil && 0 < n && n < len(out) && out[n-1] != '\n' {
		l.torn = true
	}
	return err
}

// Close writes out the buffered records and closes the file Open opened.
// It waits for a write in progress. It returns an error if the last records
// could not be written or the file not closed; later calls return nil.
func (l *Logger) Close() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	if l.timer != nil {
		l.timer.Stop()
	}
	for l.writing {
		l.idle.Wait()
	}
	var err error
	if len(l.buf) > 0 {
		out, n := l.take()
		l.mu.Unlock()
		if werr := l.flush(out, n); werr != nil {
			err = fmt.Errorf("accesslog: final flush: %w", werr)
		}
	} else {
		l.mu.Unlock()
	}
	if l.closer != nil {
		if cerr := l.closer.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("accesslog: %w", cerr)
		}
	}
	return err
}
