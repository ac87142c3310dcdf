package wsgi

import (
	_ "embed"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"nave/internal/workers"
)

// adapterSource is the worker's program, run with "python -".
//
//go:embed adapter.py
var adapterSource string

// Exit codes of adapter.py.
const (
	exitImport = 3 // the app failed to import
	exitUsage  = 4 // Python too old, or bad arguments
)

// progressSize is the shared page the worker writes the id of the request
// it runs into (see adapter.py and Pool.detach).
const progressSize = 4096

type workerState uint8

const (
	stateStarting workerState = iota // spawned, not READY yet
	stateActive                      // in a slot, takes batches
	stateRetiring                    // finishes its batch, then its socket is shut
	stateStuck                       // past the timeout: its replies are dropped, it will be killed
	stateDead                        // gone
)

// worker is one Python process running adapter.py, supervised as a
// workers.Process.
type worker struct {
	id     int
	slot   int
	gen    int
	p      *Pool
	proc   *workers.Process
	conn   *net.UnixConn
	pid    int
	python string // the version it reported

	progress *os.File // the progress page; read under p.mu
	progBuf  [4]byte  // guarded by p.mu

	ready    chan struct{} // closed when READY arrived
	dead     chan struct{} // closed when the pool let go of the worker
	wake     chan struct{} // cap 1: the writer has work
	deadOnce sync.Once

	// Guarded by p.mu.
	state     workerState
	batch     []*call // in flight, in order; the pool holds a reference to each
	sent      int     // batch[:sent] handed to the writer
	done      int     // batch[:done] answered
	nextID    uint32
	served    int
	limit     int // recycle after this many requests; 0 never
	cancels   []uint32
	shut      bool // the writer should shut the socket's write side
	recycling bool
	progID    uint32
	progAt    time.Time
}

// StartError is a worker that did not become ready. Import is set when the
// app failed to import (adapter.py exited with its dedicated code); Output
// is what the worker printed first, the traceback.
type StartError struct {
	App    string
	Import bool
	Reason string // one line: the exception, or why the start failed
	Output string
}

func (e *StartError) Error() string {
	if e.Import {
		return fmt.Sprintf("cannot import app '%s': %s", e.App, e.Reason)
	}
	return fmt.Sprintf("worker for app '%s' did not start: %s", e.App, e.Reason)
}

// spawn starts a worker and waits until it is ready.
func (p *Pool) spawn(slot, gen int) (*worker, error) {
	p.mu.Lock()
	p.nextWorker++
	id := p.nextWorker
	p.mu.Unlock()
	w := &worker{
		id: id, slot: slot, gen: gen, p: p,
		ready: make(chan struct{}),
		dead:  make(chan struct{}),
		wake:  make(chan struct{}, 1),
	}
	if err := w.start(); err != nil {
		return nil, &StartError{App: p.cfg.App, Reason: err.Error()}
	}
	timer := time.NewTimer(p.cfg.startTimeout())
	defer timer.Stop()
	select {
	case <-w.ready:
		w.proc.Ready()
		go w.writeLoop()
		return w, nil
	case <-w.proc.Exited():
	case <-w.dead:
	case <-timer.C:
		p.workerDied(w, fmt.Errorf("not ready within %v", p.cfg.startTimeout()))
		return nil, &StartError{App: p.cfg.App, Reason: fmt.Sprintf("not ready within %v", p.cfg.startTimeout()), Output: w.proc.EarlyOutput()}
	}
	w.kill()
	<-w.proc.Exited()
	return nil, w.startFailure()
}

// start runs the process: the socketpair end and the progress page become
// descriptors 3 and 4, stdout and stderr pipes nave logs.
func (w *worker) start() error {
	p := w.p
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("socketpair: %w", err)
	}
	mine := os.NewFile(uintptr(fds[0]), "wsgi-socket")
	theirs := os.NewFile(uintptr(fds[1]), "wsgi-socket")
	defer theirs.Close()
	fc, err := net.FileConn(mine)
	mine.Close()
	if err != nil {
		return err
	}
	w.conn = fc.(*net.UnixConn)
	if w.progress, err = openTemp(p.cfg.TempDir); err == nil {
		err = w.progress.Truncate(progressSize)
	}
	if err != nil {
		w.conn.Close()
		return fmt.Errorf("progress page: %w", err)
	}
	multi := "0"
	if p.cfg.workers() > 1 {
		multi = "1"
	}
	// The program comes on stdin ("python -"), which Python reads whole
	// before it runs it: ps shows "python3 - app:app 3 0", not 20 kB of
	// source as with -c.
	w.proc, err = workers.Start(workers.Spec{
		ID:         w.id,
		Path:       p.cfg.python(),
		Args:       []string{"-", p.cfg.App, strconv.Itoa(w.id), multi},
		Dir:        p.cfg.Dir,
		Stdin:      strings.NewReader(adapterSource),
		ExtraFiles: []*os.File{theirs, w.progress},
		Logger:     p.log,
	})
	if err != nil {
		w.conn.Close()
		w.progress.Close()
		return err
	}
	w.pid = w.proc.Pid()
	go func() {
		<-w.proc.Exited()
		p.workerDied(w, w.proc.Err())
	}()
	go w.readLoop()
	return nil
}

// startFailure describes a worker that exited before READY.
func (w *worker) startFailure() *StartError {
	out := w.proc.EarlyOutput()
	e := &StartError{App: w.p.cfg.App, Output: out}
	switch w.proc.ExitCode() {
	case exitImport:
		e.Import = true
		e.Reason = workers.LastLine(out)
	case exitUsage:
		e.Reason = workers.LastLine(out)
	default:
		e.Reason = w.proc.Status()
		if line := workers.LastLine(out); line != "" {
			e.Reason += ": " + line
		}
	}
	return e
}

// kill ends the process at once. It is safe to call any number of times,
// and before the process started.
func (w *worker) kill() {
	if w.proc != nil {
		w.proc.Kill()
	}
}

// readProgress returns the id of the request the worker last started.
// p.mu held.
func (w *worker) readProgress() uint32 {
	if _, err := w.progress.ReadAt(w.progBuf[:], 0); err != nil {
		return 0
	}
	return binary.LittleEndian.Uint32(w.progBuf[:])
}

// readLoop reads the worker's frames: READY, then replies, which it hands
// to the calls they answer.
func (w *worker) readLoop() {
	fr := newFrameReader(w.conn)
	defer fr.closeFDs()
	f, err := fr.next()
	if err == nil && f.typ != frameReady {
		err = protocolErrorf("first frame of type %d, want READY", f.typ)
	}
	if err != nil {
		w.p.workerDied(w, err)
		return
	}
	if pid, version, ok := strings.Cut(string(f.payload), "\x00"); ok && pid == strconv.Itoa(w.pid) {
		w.python = version
	}
	close(w.ready)
	started := false // a START arrived for the current call
	for {
		f, err := fr.next()
		if err == nil {
			err = w.handle(fr, f, &started)
		}
		if err != nil {
			w.p.workerDied(w, err)
			return
		}
	}
}

// handle applies one reply frame to the call it answers.
func (w *worker) handle(fr *frameReader, f frame, started *bool) error {
	c, err := w.p.current(w, f.id)
	if err != nil {
		return err
	}
	if c == nil { // the pool gave up on this worker: drop its replies
		if f.typ == frameFile {
			fd, err := fr.takeFD()
			if err == nil {
				syscall.Close(fd)
			}
			return err
		}
		return nil
	}
	defer c.release()
	if (f.typ == frameData || f.typ == frameFile || f.typ == frameEnd) != *started && f.typ != frameError {
		return protocolErrorf("frame type %d out of order", f.typ)
	}
	switch f.typ {
	case frameStart:
		*started = true
		c.deliverHead(w, f.payload)
	case frameData:
		if err := c.deliverData(w, f.payload); err != nil {
			w.p.log.Error("cannot buffer a response", "worker", w.id, "err", err)
			c.fail(outcomeLost, "cannot buffer the response")
		}
	case frameFile:
		fd, err := fr.takeFD()
		if err != nil {
			return err
		}
		off, n := fileRange(f.payload)
		c.deliverFile(w, os.NewFile(uintptr(fd), "wsgi-file"), off, n)
	case frameResponse:
		head, body, err := splitResponse(f.payload)
		if err != nil {
			return err
		}
		c.deliverResponse(w, head, body)
		w.p.completed(w, c)
	case frameEnd, frameError:
		*started = false
		if f.typ == frameEnd {
			c.finish(w, outcomeOK, "")
		} else {
			c.finish(w, outcomeAppError, string(f.payload))
		}
		w.p.completed(w, c)
	default:
		return protocolErrorf("unexpected frame type %d", f.typ)
	}
	return nil
}

// Batch bounds: how many requests, and how many bytes of environ and
// inline body, travel to a worker in one write.
const (
	maxBatch      = 64
	maxBatchBytes = 1 << 20
	// inlineCopy: bodies up to this size are copied into the batch buffer;
	// larger ones are written from where they lie (writev).
	inlineCopy = 64 << 10
)

// writeLoop writes batches and cancellations to the worker, and shuts the
// socket's write side when the pool retires it.
func (w *worker) writeLoop() {
	var (
		calls   []*call
		ids     []uint32
		cancels []uint32
		buf     []byte
		bufs    net.Buffers
		fds     []int
	)
	for {
		select {
		case <-w.wake:
		case <-w.dead:
			return
		}
		var shut bool
		calls, ids, cancels, shut = w.p.takeWrites(w, calls[:0], ids[:0], cancels[:0])
		var err error
		if len(calls) > 0 || len(cancels) > 0 {
			buf, bufs, fds = encodeBatch(buf[:0], bufs[:0], fds[:0], calls, ids, cancels)
			err = writeFrames(w.conn, bufs, fds)
		}
		for i, c := range calls {
			c.release()
			calls[i] = nil
		}
		if err == nil && shut {
			err = w.conn.CloseWrite()
		}
		if err != nil {
			w.p.workerDied(w, fmt.Errorf("writing to the worker: %w", err))
			return
		}
		if cap(buf) > 4*maxBatchBytes {
			buf = nil
		}
	}
}

// encodeBatch encodes REQUEST frames for calls, with the ids they had
// when taken, then CANCEL frames.
func encodeBatch(buf []byte, bufs net.Buffers, fds []int, calls []*call, ids, cancels []uint32) ([]byte, net.Buffers, []int) {
	mark := 0
	for i, c := range calls {
		switch {
		case c.bodyFile != nil:
			buf = appendRequestHead(buf, frameRequestFD, ids[i], c.env, 0)
			fds = append(fds, int(c.bodyFile.Fd()))
		case len(c.body) <= inlineCopy:
			buf = appendRequestHead(buf, frameRequest, ids[i], c.env, len(c.body))
			buf = append(buf, c.body...)
		default:
			buf = appendRequestHead(buf, frameRequest, ids[i], c.env, len(c.body))
			bufs = append(bufs, buf[mark:], c.body)
			mark = len(buf)
		}
	}
	for _, id := range cancels {
		buf = appendFrameHeader(buf, frameCancel, id, 0)
	}
	if mark < len(buf) {
		bufs = append(bufs, buf[mark:])
	}
	return buf, bufs, fds
}

// writeFrames writes bufs, passing fds (SCM_RIGHTS) with its first bytes,
// where the frames that claim them begin.
func writeFrames(conn *net.UnixConn, bufs net.Buffers, fds []int) error {
	if len(fds) > 0 {
		n, _, err := conn.WriteMsgUnix(bufs[0], syscall.UnixRights(fds...), nil)
		if err != nil {
			return err
		}
		bufs[0] = bufs[0][n:]
	}
	if len(bufs) == 1 {
		_, err := conn.Write(bufs[0])
		return err
	}
	return writeBuffers(conn, bufs)
}

// writeBuffers writes with writev. Apart from writeFrames because WriteTo
// makes its receiver escape: an allocation on every batch otherwise.
func writeBuffers(conn *net.UnixConn, bufs net.Buffers) error {
	_, err := bufs.WriteTo(conn)
	return err
}

// openTemp opens an unlinked temporary file in dir ("" for the system's).
func openTemp(dir string) (*os.File, error) {
	f, err := os.CreateTemp(dir, "nave-wsgi-*")
	if err != nil {
		return nil, err
	}
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}
