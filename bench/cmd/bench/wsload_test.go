package main

import (
	"bufio"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// echoServer is a minimal WebSocket server for the load's tests: it
// answers each client frame with the same payload unmasked, upper-cased
// when corrupt is set.
func echoServer(t *testing.T, corrupt bool) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			go serveEcho(nc, corrupt)
		}
	}()
	return ln.Addr().String()
}

func serveEcho(nc net.Conn, corrupt bool) {
	defer nc.Close()
	br := bufio.NewReader(nc)
	req, err := http.ReadRequest(br)
	if err != nil {
		return
	}
	sum := sha1.Sum([]byte(req.Header.Get("Sec-WebSocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	io.WriteString(nc, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Accept: "+base64.StdEncoding.EncodeToString(sum[:])+"\r\n\r\n")
	for {
		var h [2]byte
		if _, err := io.ReadFull(br, h[:]); err != nil {
			return
		}
		n := int(h[1] & 0x7F)
		if n == 126 {
			var b [2]byte
			io.ReadFull(br, b[:])
			n = int(binary.BigEndian.Uint16(b[:]))
		}
		var key [4]byte
		io.ReadFull(br, key[:])
		p := make([]byte, n)
		if _, err := io.ReadFull(br, p); err != nil {
			return
		}
		for i := range p {
			p[i] ^= key[i%4]
		}
		if h[0]&0x0F == 0x8 {
			return
		}
		if corrupt {
			p = []byte(strings.ToUpper(string(p)))
		}
		out := []byte{0x81, byte(n)}
		if n >= 126 {
			out = []byte{0x81, 126, byte(n >> 8), byte(n)}
		}
		nc.Write(append(out, p...))
	}
}

func TestWSEchoCounts(t *testing.T) {
	addr := echoServer(t, false)
	if err := wsCheck(addr, "/", 300); err != nil {
		t.Fatalf("check: %v", err)
	}
	r := wsEchoRun{Addr: addr, Path: "/", Conns: 4, Size: 128, Duration: 300 * time.Millisecond}
	res, err := r.run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests == 0 || res.Errors != 0 || res.RPS <= 0 || res.P99US < res.P50US {
		t.Fatalf("result %+v", res)
	}
}

func TestWSEchoRefusesAWrongEcho(t *testing.T) {
	addr := echoServer(t, true)
	if err := wsCheck(addr, "/", 16); err == nil || !strings.Contains(err.Error(), "came back") {
		t.Fatalf("check of a corrupting server: %v, want a mismatch", err)
	}
	r := wsEchoRun{Addr: addr, Path: "/", Conns: 2, Size: 16, Duration: 200 * time.Millisecond}
	if _, err := r.run(context.Background()); err == nil {
		t.Fatal("a load whose every echo is wrong reported success")
	}
}
