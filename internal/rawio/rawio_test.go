package rawio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"
)

// tcpPair is a connected pair of loopback TCP connections.
func tcpPair(t *testing.T) (*net.TCPConn, *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			c = nil
		}
		accepted <- c
	}()
	a, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b := <-accepted
	if b == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a.(*net.TCPConn), b.(*net.TCPConn)
}

func wrap(t *testing.T, nc net.Conn) *Conn {
	t.Helper()
	c, err := New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestReadWriteAndEOF(t *testing.T) {
	a, b := tcpPair(t)
	ra, rb := wrap(t, a), wrap(t, b)
	if n, err := ra.Write([]byte("hello")); n != 5 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	buf := make([]byte, 16)
	n, err := io.ReadAtLeast(rb, buf, 5)
	if err != nil || string(buf[:n]) != "hello" {
		t.Fatalf("read %q, %v", buf[:n], err)
	}
	a.CloseWrite()
	if n, err := rb.Read(buf); n != 0 || err != io.EOF {
		t.Fatalf("after the peer's FIN Read = %d, %v; want 0, io.EOF", n, err)
	}
}

// A write far larger than the sockets' buffers waits for room, in the
// poller, as often as it needs, and the bytes arrive whole and in order.
func TestWriteWaitsForRoom(t *testing.T) {
	a, b := tcpPair(t)
	a.SetWriteBuffer(16 << 10)
	b.SetReadBuffer(16 << 10)
	ra, rb := wrap(t, a), wrap(t, b)
	want := make([]byte, 8<<20)
	for i := range want {
		want[i] = byte(i * 7 / 5)
	}
	got := make(chan []byte, 1)
	go func() {
		var out bytes.Buffer
		buf := make([]byte, 3000) // small reads: the writer fills the buffers often
		for {
			n, err := rb.Read(buf)
			out.Write(buf[:n])
			if err != nil {
				break
			}
		}
		got <- out.Bytes()
	}()
	n, err := ra.Write(want)
	if n != len(want) || err != nil {
		t.Fatalf("Write = %d, %v; want %d, nil", n, err, len(want))
	}
	a.CloseWrite()
	if g := <-got; !bytes.Equal(g, want) {
		t.Fatalf("received %d bytes, not the %d written", len(g), len(want))
	}
}

// The wrapped connection's deadlines bound the waits of Read and Write.
func TestDeadlines(t *testing.T) {
	a, _ := tcpPair(t)
	ra := wrap(t, a)
	ra.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if _, err := ra.Read(make([]byte, 10)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read with nothing coming: %v, want a deadline error", err)
	}
	// The peer never reads: the buffers fill, and the write waits until
	// its deadline.
	ra.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	n, err := ra.Write(make([]byte, 64<<20))
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Write to a peer that does not read: %v, want a deadline error", err)
	}
	if n <= 0 || n >= 64<<20 {
		t.Fatalf("Write wrote %d bytes before its deadline; want some, not all", n)
	}
}

// Writes from goroutines at once each go whole, never interleaved.
func TestConcurrentWritesStayWhole(t *testing.T) {
	a, b := tcpPair(t)
	a.SetWriteBuffer(8 << 10)
	ra, rb := wrap(t, a), wrap(t, b)
	const writers, records, size = 4, 200, 20 << 10
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec := make([]byte, size)
			for r := range records {
				// Each record is filled with one value, its writer's and number's.
				for i := range rec {
					rec[i] = byte(w*records + r)
				}
				binary.LittleEndian.PutUint32(rec, uint32(w*records+r))
				if _, err := ra.Write(rec); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	go func() { wg.Wait(); a.CloseWrite() }()
	rec := make([]byte, size)
	seen := map[uint32]bool{}
	for {
		if _, err := io.ReadFull(rb, rec); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		id := binary.LittleEndian.Uint32(rec)
		for i := 4; i < size; i++ {
			if rec[i] != byte(id) {
				t.Fatalf("record %d holds byte %d at %d: writes interleaved", id, rec[i], i)
			}
		}
		seen[id] = true
	}
	if len(seen) != writers*records {
		t.Fatalf("%d records arrived, want %d", len(seen), writers*records)
	}
}

// A write to a peer that reset the connection fails, and says how.
func TestWriteAfterReset(t *testing.T) {
	a, b := tcpPair(t)
	b.SetLinger(0)
	b.Close() // an RST
	ra := wrap(t, a)
	var err error
	for range 100 {
		if _, err = ra.Write(make([]byte, 1024)); err != nil {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, syscall.EPIPE) {
		t.Fatalf("writing to a reset connection: %v, want ECONNRESET or EPIPE", err)
	}
}

func TestUnixSocketsAndNoDescriptor(t *testing.T) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	conns := make([]net.Conn, 2)
	for i, fd := range fds {
		f := os.NewFile(uintptr(fd), "pair")
		conns[i], err = net.FileConn(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		defer conns[i].Close()
	}
	ra, rb := wrap(t, conns[0]), wrap(t, conns[1])
	if _, err := ra.WriteFlags([]byte("frame"), syscall.MSG_MORE); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 5)
	if _, err := io.ReadFull(rb, buf); err != nil || string(buf) != "frame" {
		t.Fatalf("read %q, %v", buf, err)
	}
	p, q := net.Pipe()
	defer p.Close()
	defer q.Close()
	if _, err := New(p); err != ErrNoDescriptor {
		t.Fatalf("New(net.Pipe) = %v, want ErrNoDescriptor", err)
	}
}

// unixPair is a connected pair of Unix stream sockets, as nave's worker
// sockets are.
func unixPair(t *testing.T) (*Conn, *Conn) {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	conns := make([]*Conn, 2)
	for i, fd := range fds {
		f := os.NewFile(uintptr(fd), "pair")
		nc, err := net.FileConn(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { nc.Close() })
		conns[i] = wrap(t, nc)
	}
	return conns[0], conns[1]
}

// A descriptor passed with WriteMsg arrives with ReadMsg, close-on-exec,
// and refers to the same file.
func TestPassDescriptor(t *testing.T) {
	a, b := unixPair(t)
	f, err := os.CreateTemp(t.TempDir(), "passed")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.WriteString("the file's bytes")
	if n, err := a.WriteMsg([]byte("frame"), syscall.UnixRights(int(f.Fd()))); n != 5 || err != nil {
		t.Fatalf("WriteMsg = %d, %v", n, err)
	}
	p := make([]byte, 64)
	oob := make([]byte, syscall.CmsgSpace(4))
	n, oobn, flags, err := b.ReadMsg(p, oob)
	if err != nil || string(p[:n]) != "frame" || flags&syscall.MSG_CTRUNC != 0 {
		t.Fatalf("ReadMsg = %q, %d, %#x, %v", p[:n], oobn, flags, err)
	}
	msgs, err := syscall.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		t.Fatalf("control messages %v, %v", msgs, err)
	}
	fds, err := syscall.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		t.Fatalf("rights %v, %v", fds, err)
	}
	got := os.NewFile(uintptr(fds[0]), "received")
	defer got.Close()
	flagsFD, err := unixFcntl(fds[0], syscall.F_GETFD)
	if err != nil || flagsFD&syscall.FD_CLOEXEC == 0 {
		t.Fatalf("received descriptor's flags %#x, %v: want close-on-exec", flagsFD, err)
	}
	b1 := make([]byte, 64)
	m, _ := got.ReadAt(b1, 0)
	if string(b1[:m]) != "the file's bytes" {
		t.Fatalf("the received descriptor reads %q", b1[:m])
	}
	// Too little room for the control message: the kernel says so (room
	// for one descriptor is room for two, with the alignment).
	fd := int(f.Fd())
	a.WriteMsg([]byte("x"), syscall.UnixRights(fd, fd, fd))
	small := make([]byte, syscall.CmsgSpace(4))
	_, oobn, flags, err = b.ReadMsg(p, small)
	if err != nil || flags&syscall.MSG_CTRUNC == 0 {
		t.Fatalf("three descriptors into room for two: flags %#x, %v; want MSG_CTRUNC", flags, err)
	}
	closeRights(small[:oobn])
	a.Close()
	if n, _, _, err := b.ReadMsg(p, oob); n != 0 || err != io.EOF {
		t.Fatalf("ReadMsg at the end = %d, %v; want 0, io.EOF", n, err)
	}
}

// closeRights closes the descriptors a control message brought.
func closeRights(oob []byte) {
	msgs, _ := syscall.ParseSocketControlMessage(oob)
	for _, m := range msgs {
		fds, _ := syscall.ParseUnixRights(&m)
		for _, fd := range fds {
			syscall.Close(fd)
		}
	}
}

func unixFcntl(fd, cmd int) (int, error) {
	r, _, e := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), uintptr(cmd), 0)
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

// WriteBuffers sends more buffers than one writev takes, through a small
// socket buffer that cuts writes short mid-buffer, all in order.
func TestWriteBuffers(t *testing.T) {
	a, b := unixPair(t)
	var bufs [][]byte
	var want []byte
	for i := range 3000 {
		buf := bytes.Repeat([]byte{byte(i)}, 1+i%700)
		if i%100 == 0 {
			buf = nil // empty buffers are skipped
		}
		bufs = append(bufs, buf)
		want = append(want, buf...)
	}
	got := make(chan []byte, 1)
	go func() {
		var out bytes.Buffer
		p := make([]byte, 1000)
		for {
			n, err := b.Read(p)
			out.Write(p[:n])
			if err != nil {
				break
			}
		}
		got <- out.Bytes()
	}()
	n, err := a.WriteBuffers(bufs)
	if n != int64(len(want)) || err != nil {
		t.Fatalf("WriteBuffers = %d, %v; want %d, nil", n, err, len(want))
	}
	a.CloseWrite()
	if g := <-got; !bytes.Equal(g, want) {
		t.Fatalf("received %d bytes, not the %d written in order", len(g), len(want))
	}
}

// The calls nave makes per request allocate nothing: Read, Write,
// ReadMsg, WriteMsg and WriteBuffers over a socketpair.
func TestCallsAllocateNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's annotations allocate")
	}
	a, b := unixPair(t)
	frame := []byte("a frame of some bytes")
	p := make([]byte, 256)
	oob := make([]byte, syscall.CmsgSpace(4))
	bufs := [][]byte{frame, frame}
	allocs := testing.AllocsPerRun(200, func() {
		a.Write(frame)
		b.Read(p)
		a.WriteMsg(frame, nil)
		b.ReadMsg(p, oob)
		a.WriteBuffers(bufs)
		io.ReadFull(b, p[:2*len(frame)])
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per round, want 0", allocs)
	}
}
