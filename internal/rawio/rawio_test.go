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
