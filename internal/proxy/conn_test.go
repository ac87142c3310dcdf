package proxy

import (
	"net"
	"testing"
	"time"
)

// TestAlive: a pooled connection is fit for reuse only while the server
// keeps it open and quiet.
func TestAlive(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 3)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	dial := func() (*conn, net.Conn) {
		nc, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { nc.Close() })
		return newConn(nc, &server{}, time.Second), <-accepted
	}
	quiet, _ := dial()
	closed, peer := dial()
	peer.Close()
	chatty, peer2 := dial()
	peer2.Write([]byte("x"))
	defer peer2.Close()
	time.Sleep(50 * time.Millisecond)
	for _, tt := range []struct {
		name string
		c    *conn
		want bool
	}{{"quiet", quiet, true}, {"closed by the server", closed, false}, {"unasked bytes", chatty, false}} {
		if got := tt.c.alive(); got != tt.want {
			t.Errorf("%s: alive() = %v, want %v", tt.name, got, tt.want)
		}
	}
	// Looking twice changes nothing: the peek consumed nothing.
	if !quiet.alive() || chatty.alive() {
		t.Error("a second look disagrees with the first")
	}
}
