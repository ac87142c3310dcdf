package server

import (
	"net"
	"sync"
)

// recordBatch sits between crypto/tls and the socket. crypto/tls writes
// each record (16 KiB of payload at most) with a write of its own; while a
// batch is held, records gather here and leave in one write when it is
// sent, or whenever batchMax has gathered. On loopback and on real links a
// write is not just a system call: each one runs the TCP send path and
// wakes the receiver, and sending 1 MiB as 64 writes instead of four cost
// nave a third of its throughput against h2o, which writes records with
// writev in batches.
type recordBatch struct {
	net.Conn
	mu   sync.Mutex
	hold bool
	buf  *[]byte // from batchBuffers while holding
}

// batchMax bounds what a batch holds before it is written anyway.
const batchMax = 256 << 10

var batchBuffers = sync.Pool{New: func() any { b := make([]byte, 0, batchMax+16<<10+64); return &b }}

func (b *recordBatch) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.hold {
		return b.Conn.Write(p)
	}
	if b.buf == nil {
		b.buf = batchBuffers.Get().(*[]byte)
	}
	if len(*b.buf)+len(p) > batchMax {
		if err := b.sendLocked(); err != nil {
			return 0, err
		}
	}
	*b.buf = append(*b.buf, p...)
	return len(p), nil
}

// Hold starts gathering writes.
func (b *recordBatch) Hold() {
	b.mu.Lock()
	b.hold = true
	b.mu.Unlock()
}

// Send writes what was gathered and stops gathering.
func (b *recordBatch) Send() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.hold = false
	err := b.sendLocked()
	if b.buf != nil {
		batchBuffers.Put(b.buf)
		b.buf = nil
	}
	return err
}

func (b *recordBatch) sendLocked() error {
	if b.buf == nil || len(*b.buf) == 0 {
		return nil
	}
	_, err := b.Conn.Write(*b.buf)
	*b.buf = (*b.buf)[:0]
	return err
}
