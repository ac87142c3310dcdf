package wsgi

import (
	_ "embed"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"nave/internal/rawio"
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
// it runs into (see adapter.py and worker.Detach).
const progressSize = 4096

// worker is one Python process running adapter.py, supervised as a
// workers.Process by the pool's workers.Pool. Its reader goroutine reads
// READY and replies, its writer goroutine writes batches.
type worker struct {
	id   int
	p    *Pool
	proc *workers.Process
	conn *rawio.Conn // the socket, read and written by raw system calls
	pid  int

	ready chan struct{} // closed when READY arrived
	wake  chan struct{} // cap 1: the writer has work

	mu sync.Mutex
	// Guarded by mu.
	batch    []*call // in flight, in order; the pool holds a reference to each
	sent     int     // batch[:sent] handed to the writer
	done     int     // batch[:done] answered
	nextID   uint32
	cancels  []uint32
	shut     bool     // the writer should shut the socket's write side
	detached bool     // the supervisor took the batch back: drop what comes
	progress *os.File // the progress page; nil once the worker exited
	lastProg uint32   // what the page said when the worker exited
	progBuf  [4]byte
}

// startWorker starts a worker's process; the supervisor waits for its
// READY. The socketpair end and the progress page become descriptors 3
// and 4, stdout and stderr pipes nave logs.
func (p *Pool) startWorker(id int) (*worker, error) {
	w := &worker{id: id, p: p, ready: make(chan struct{}), wake: make(chan struct{}, 1)}
	conn, theirs, err := workers.SocketPair("wsgi-socket")
	if err != nil {
		return nil, err
	}
	defer theirs.Close()
	if w.conn, err = rawio.New(conn); err != nil {
		conn.Close()
		return nil, err
	}
	if w.progress, err = openTemp(p.cfg.TempDir); err == nil {
		err = w.progress.Truncate(progressSize)
	}
	if err != nil {
		w.conn.Close()
		return nil, fmt.Errorf("progress page: %w", err)
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
		Env:        p.cfg.env(),
		Stdin:      strings.NewReader(adapterSource),
		ExtraFiles: []*os.File{theirs, w.progress},
		Logger:     p.log,
	})
	if err != nil {
		w.conn.Close()
		w.progress.Close()
		return nil, err
	}
	w.pid = w.proc.Pid()
	go func() {
		// A forked grandchild may hold the worker's end of the socket:
		// the reader ends when the worker does.
		<-w.proc.Exited()
		w.conn.Close()
		w.mu.Lock()
		w.lastProg = w.readProgress()
		w.progress.Close()
		w.progress = nil
		w.mu.Unlock()
	}()
	go w.readLoop()
	return w, nil
}

// Process, Ready: workers.Worker.
func (w *worker) Process() *workers.Process { return w.proc }
func (w *worker) Ready() <-chan struct{}    { return w.ready }

// broken ends a worker that broke the protocol or could not be written
// to; the supervisor detaches its batch once it exited. The end of its
// socket is how a worker that exits looks from here: no news.
func (w *worker) broken(err error) {
	var pe *ProtocolError
	if errors.As(err, &pe) {
		w.p.log.Error("worker broke the protocol", "worker", w.id, "pid", w.pid, "err", err)
	} else {
		w.p.log.Debug("worker connection ended", "worker", w.id, "pid", w.pid, "err", err)
	}
	w.proc.Kill()
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
		w.broken(err)
		return
	}
	if pid, version, ok := strings.Cut(string(f.payload), "\x00"); ok && pid == strconv.Itoa(w.pid) {
		w.p.setPython(version)
	}
	go w.writeLoop()
	close(w.ready)
	started := false // a START arrived for the current call
	for {
		f, err := fr.next()
		if err == nil {
			err = w.handle(fr, f, &started)
		}
		if err != nil {
			w.broken(err)
			return
		}
	}
}

// handle applies one reply frame to the call it answers.
func (w *worker) handle(fr *frameReader, f frame, started *bool) error {
	c, err := w.current(f.id)
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
		w.completed(c)
	case frameEnd, frameError:
		*started = false
		if f.typ == frameEnd {
			c.finish(w, outcomeOK, "")
		} else {
			c.finish(w, outcomeAppError, string(f.payload))
		}
		w.completed(c)
	default:
		return protocolErrorf("unexpected frame type %d", f.typ)
	}
	return nil
}

// inlineCopy: bodies up to this size are copied into the batch buffer;
// larger ones are written from where they lie (writev).
const inlineCopy = 64 << 10

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
		case <-w.proc.Exited():
			return
		}
		var shut bool
		calls, ids, cancels, shut = w.takeWrites(calls[:0], ids[:0], cancels[:0])
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
			w.broken(fmt.Errorf("writing to the worker: %w", err))
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
func writeFrames(conn *rawio.Conn, bufs net.Buffers, fds []int) error {
	if len(fds) > 0 {
		// The descriptors go with the first buffer's first bytes.
		if _, err := conn.WriteMsg(bufs[0], syscall.UnixRights(fds...)); err != nil {
			return err
		}
		bufs = bufs[1:]
	}
	switch len(bufs) {
	case 0:
		return nil
	case 1:
		_, err := conn.Write(bufs[0])
		return err
	}
	_, err := conn.WriteBuffers(bufs)
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
