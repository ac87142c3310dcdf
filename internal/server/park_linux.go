package server

import (
	"os"
	"sync"
	"syscall"
)

// parker holds idle connections without a goroutine each: their sockets
// wait in an epoll set of its own, and a connection that becomes readable
// is handed a new goroutine. A goroutine blocked on an idle socket costs
// its stack (at least 4 KiB once a handler has grown it); a parked
// connection costs its conn struct. The epoll descriptor is itself
// registered with Go's poller, so no thread blocks in epoll_wait.
type parker struct {
	epfd   int
	file   *os.File // owns epfd
	raw    syscall.RawConn
	events [128]syscall.EpollEvent // used by run only
	ready  []syscall.EpollEvent    // the events the last wait returned; run only

	mu     sync.Mutex
	parked map[int]*conn // by socket descriptor; guarded by mu
	closed bool          // guarded by mu
}

func newParker() (*parker, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	if err := syscall.SetNonblock(epfd, true); err != nil {
		syscall.Close(epfd)
		return nil, os.NewSyscallError("setnonblock", err)
	}
	f := os.NewFile(uintptr(epfd), "idle-connections")
	raw, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &parker{epfd: epfd, file: f, raw: raw, parked: make(map[int]*conn)}, nil
}

// park takes c, whose goroutine must return at once without touching c
// when park reports true.
func (p *parker) park(c *conn) bool {
	if c.fd < 0 {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.parked[c.fd] = c
	c.state.Store(stateParked)
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT, Fd: int32(c.fd)}
	if err := syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_ADD, c.fd, &ev); err != nil {
		delete(p.parked, c.fd)
		c.state.Store(stateActive)
		return false
	}
	return true
}

// run resumes parked connections as they become readable, until close.
func (p *parker) run(resume func(*conn)) {
	for {
		err := p.raw.Read(p.collect)
		if err != nil {
			return
		}
		for _, ev := range p.ready {
			if c := p.take(int(ev.Fd)); c != nil {
				resume(c)
			}
		}
	}
}

// collect is run's RawConn callback: it reports false (wait) while the
// epoll set has nothing ready.
func (p *parker) collect(fd uintptr) bool {
	n, err := syscall.EpollWait(int(fd), p.events[:], 0)
	if err != nil || n <= 0 {
		return false
	}
	p.ready = p.events[:n]
	return true
}

// take removes the connection parked on fd, if any, from the epoll set.
func (p *parker) take(fd int) *conn {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.parked[fd]
	if c == nil {
		return nil
	}
	delete(p.parked, fd)
	syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_DEL, fd, nil)
	return c
}

// takeIf removes and returns every parked connection for which keep says
// true.
func (p *parker) takeIf(match func(*conn) bool) []*conn {
	p.mu.Lock()
	var out []*conn
	for fd, c := range p.parked {
		if match(c) {
			out = append(out, c)
			delete(p.parked, fd)
			syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_DEL, fd, nil)
		}
	}
	p.mu.Unlock()
	return out
}

// count is the number of parked connections.
func (p *parker) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.parked)
}

// close refuses further parking, returns every parked connection, and
// stops run.
func (p *parker) close() []*conn {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	out := p.takeIf(func(*conn) bool { return true })
	p.file.Close()
	return out
}
