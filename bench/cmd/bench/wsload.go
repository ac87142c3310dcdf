package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// wsEchoRun is the WebSocket echo load: Conns connections, each sending
// a text message of Size bytes and waiting for it to come back before it
// sends the next, for Duration. It runs in the harness's own process,
// which is pinned to the load CPU as wrk is. A message counts once its
// echo arrived whole and equal to what was sent.
type wsEchoRun struct {
	Addr     string
	Path     string
	Conns    int
	Size     int
	Duration time.Duration
}

// run opens the connections, then loads them all for Duration. Any
// connection that fails counts as one error and stops; the others go on.
func (r wsEchoRun) run(ctx context.Context) (loadResult, error) {
	conns := make([]*wsConn, 0, r.Conns)
	defer func() {
		for _, c := range conns {
			c.close()
		}
	}()
	for range r.Conns {
		c, err := dialWS(r.Addr, r.Path, 5*time.Second)
		if err != nil {
			return loadResult{}, err
		}
		conns = append(conns, c)
	}
	ctx, cancel := context.WithTimeout(ctx, r.Duration)
	defer cancel()
	var (
		mu     sync.Mutex
		lat    []time.Duration
		errs   int64
		wg     sync.WaitGroup
		msg    = strings.Repeat("x", r.Size)
		start  = time.Now()
		firstE error
	)
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			own := make([]time.Duration, 0, 1<<14)
			var err error
			for ctx.Err() == nil {
				t := time.Now()
				if err = c.echo(msg); err != nil {
					break
				}
				own = append(own, time.Since(t))
			}
			mu.Lock()
			lat = append(lat, own...)
			if err != nil && ctx.Err() == nil {
				errs++
				if firstE == nil {
					firstE = err
				}
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if len(lat) == 0 {
		return loadResult{}, fmt.Errorf("websocket echo: no message came back: %v", firstE)
	}
	slices.Sort(lat)
	pct := func(p float64) int64 { return lat[int(p*float64(len(lat)-1))].Microseconds() }
	return loadResult{RPS: float64(len(lat)) / elapsed.Seconds(), Requests: int64(len(lat)),
		Errors: errs, P50US: pct(0.50), P99US: pct(0.99)}, nil
}

// wsCheck opens one connection and echoes one message of size bytes: the
// check before and after each run, and the probe of a server starting.
func wsCheck(addr, path string, size int) error {
	c, err := dialWS(addr, path, 2*time.Second)
	if err != nil {
		return err
	}
	defer c.close()
	c.nc.SetDeadline(time.Now().Add(2 * time.Second))
	return c.echo(strings.Repeat("x", size))
}

// wsConn is a client WebSocket (RFC 6455) that sends masked text frames
// and reads unmasked ones, enough for an echo.
type wsConn struct {
	nc  net.Conn
	br  *bufio.Reader
	out []byte
	in  []byte
	buf []byte // the last frame's payload
}

func dialWS(addr, path string, timeout time.Duration) (*wsConn, error) {
	nc, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	var nonce [16]byte
	rand.Read(nonce[:])
	key := base64.StdEncoding.EncodeToString(nonce[:])
	fmt.Fprintf(nc, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n", path, addr, key)
	nc.SetReadDeadline(time.Now().Add(timeout))
	br := bufio.NewReaderSize(nc, 64<<10)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("websocket handshake: %w", err)
	}
	resp.Body.Close()
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	if resp.StatusCode != http.StatusSwitchingProtocols ||
		resp.Header.Get("Sec-WebSocket-Accept") != base64.StdEncoding.EncodeToString(sum[:]) {
		nc.Close()
		return nil, fmt.Errorf("websocket handshake: status %d, accept %q", resp.StatusCode,
			resp.Header.Get("Sec-WebSocket-Accept"))
	}
	nc.SetReadDeadline(time.Time{})
	return &wsConn{nc: nc, br: br}, nil
}

// echo sends msg as one text frame and reads frames until a whole text
// message comes back, which must equal msg. Pings are answered.
func (c *wsConn) echo(msg string) error {
	c.out = appendClientFrame(c.out[:0], 0x1, msg)
	if _, err := c.nc.Write(c.out); err != nil {
		return err
	}
	c.in = c.in[:0]
	for {
		fin, op, payload, err := c.readFrame()
		if err != nil {
			return err
		}
		switch op {
		case 0x9: // ping
			c.out = appendClientFrame(c.out[:0], 0xA, string(payload))
			if _, err := c.nc.Write(c.out); err != nil {
				return err
			}
			continue
		case 0xA:
			continue
		case 0x8:
			return errors.New("websocket closed by the server")
		}
		c.in = append(c.in, payload...)
		if fin {
			break
		}
	}
	if string(c.in) != msg {
		return fmt.Errorf("websocket echo: %d bytes came back, want the %d sent", len(c.in), len(msg))
	}
	return nil
}

func (c *wsConn) readFrame() (fin bool, op byte, payload []byte, err error) {
	var h [2]byte
	if _, err = io.ReadFull(c.br, h[:]); err != nil {
		return
	}
	fin, op = h[0]&0x80 != 0, h[0]&0x0F
	n := uint64(h[1] & 0x7F)
	switch n {
	case 126:
		var b [2]byte
		if _, err = io.ReadFull(c.br, b[:]); err != nil {
			return
		}
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err = io.ReadFull(c.br, b[:]); err != nil {
			return
		}
		n = binary.BigEndian.Uint64(b[:])
	}
	if h[1]&0x80 != 0 || n > 1<<24 {
		return false, 0, nil, fmt.Errorf("websocket: bad frame from the server (masked or %d bytes)", n)
	}
	if uint64(cap(c.buf)) < n {
		c.buf = make([]byte, n)
	}
	payload = c.buf[:n]
	_, err = io.ReadFull(c.br, payload)
	return
}

// appendClientFrame appends one final frame of opcode op carrying p,
// masked as a client's must be (with a zero key: the masking is the
// protocol's, not a secret, and a zero key keeps the payload as it is).
func appendClientFrame(b []byte, op byte, p string) []byte {
	b = append(b, 0x80|op)
	switch n := len(p); {
	case n < 126:
		b = append(b, 0x80|byte(n))
	case n < 1<<16:
		b = append(b, 0x80|126, byte(n>>8), byte(n))
	default:
		b = append(b, 0x80|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	b = append(b, 0, 0, 0, 0)
	return append(b, p...)
}

func (c *wsConn) close() {
	c.nc.Write([]byte{0x88, 0x82, 0, 0, 0, 0, 0x03, 0xE8}) // close 1000
	c.nc.Close()
}
