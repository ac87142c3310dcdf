package wiretest

// The HTTP/2 mode: a Conn whose test writes HTTP/1.1 bytes and reads
// Responses as ever, while the wire carries HTTP/2 (RFC 9113). Each
// request written is parsed and sent on a stream of its own; responses are
// read back in the order their requests were sent, as HTTP/1.1 pipelining
// would give them.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// H2Env is the environment variable that, set to 1, runs the handler tests
// over HTTP/2: h2 by ALPN over TLS when TLSEnv is set too, h2c with prior
// knowledge (RFC 9113 §3.3) in the clear.
const H2Env = "NAVE_TEST_H2"

// H2Mode reports whether this run serves the handler tests over HTTP/2.
func H2Mode() bool { return os.Getenv(H2Env) == "1" }

// SkipInH2 skips a test that asserts a fact of HTTP/1 alone (raw head
// bytes, chunked framing, Connection: close, ...) when the run is over
// HTTP/2; why says which fact.
func SkipInH2(t testing.TB, why string) {
	t.Helper()
	if H2Mode() {
		t.Skip("HTTP/1 only: " + why)
	}
}

// The client's windows: a stream's is granted back as the test consumes
// its body, so a test that stops reading stops the server, as a full TCP
// buffer would over HTTP/1.1; the connection's is granted back on receipt,
// so that bodies buffered for streams not yet read cannot stall the one
// being read.
const (
	modeStreamWindow = 1 << 20
	modeConnWindow   = 1 << 30
)

// modeConn is the HTTP/2 side of a Conn.
type modeConn struct {
	t      testing.TB
	nc     net.Conn
	scheme string

	wmu  sync.Mutex // guards fr's writing side, enc and hbuf
	fr   *http2.Framer
	enc  *hpack.Encoder
	hbuf bytes.Buffer

	// Touched by the test's goroutine only (Send, ReadHead, Reader).
	pending []byte      // request bytes written but not yet sent
	cur     *modeOutReq // the request whose body is being sent
	body    *bufio.Reader
	bodyOf  *modeStream

	mu         sync.Mutex
	changed    chan struct{}          // closed and replaced on every change; guarded by mu
	streams    map[uint32]*modeStream // guarded by mu
	queue      []*modeStream          // requests sent, responses not yet read; guarded by mu
	nextID     uint32                 // guarded by mu
	connWin    int64                  // the server's window for our DATA; guarded by mu
	initWin    int64                  // its SETTINGS_INITIAL_WINDOW_SIZE; guarded by mu
	maxFrame   uint32                 // its SETTINGS_MAX_FRAME_SIZE; guarded by mu
	recvUnack  int64                  // connection-level bytes not yet granted back; guarded by mu
	goaway     bool                   // guarded by mu
	lastStream uint32                 // from the GOAWAY; guarded by mu
	ended      error                  // why the connection ended, nil while up; guarded by mu
}

// modeStream is one request's stream; its fields are guarded by the
// modeConn's mu.
type modeStream struct {
	id     uint32
	method string
	heads  []*Response // header blocks received and not yet returned
	final  bool        // a final (non-1xx) head arrived
	data   []byte      // DATA received and not yet consumed
	unack  int64       // bytes consumed and not yet granted back
	trail  http.Header
	done   bool  // END_STREAM received
	reset  error // RST_STREAM received, or a malformed header block
	sendWn int64 // the server's window for our DATA on this stream
}

// modeOutReq is a request whose body is still being sent.
type modeOutReq struct {
	s       *modeStream
	left    int64 // body bytes to come with Content-Length
	chunked bool
	chunk   int64 // bytes left in the current chunk; -1 between chunks
}

// newModeConn starts HTTP/2 on nc: the client preface and SETTINGS go out
// at once, without waiting for the server's (RFC 9113 §3.4).
func newModeConn(t testing.TB, nc net.Conn, tls bool) *modeConn {
	m := &modeConn{t: t, nc: nc, scheme: "http", changed: make(chan struct{}),
		streams: map[uint32]*modeStream{}, nextID: 1, connWin: 65535, initWin: 65535, maxFrame: 16384}
	if tls {
		m.scheme = "https"
	}
	m.fr = http2.NewFramer(nc, nc)
	m.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	m.enc = hpack.NewEncoder(&m.hbuf)
	m.write(func() error {
		if _, err := io.WriteString(nc, http2.ClientPreface); err != nil {
			return err
		}
		err := m.fr.WriteSettings(http2.Setting{ID: http2.SettingEnablePush, Val: 0},
			http2.Setting{ID: http2.SettingInitialWindowSize, Val: modeStreamWindow})
		if err != nil {
			return err
		}
		return m.fr.WriteWindowUpdate(0, modeConnWindow-65535)
	})
	go m.readLoop()
	return m
}

// write runs f under the write lock with a write deadline, failing the
// test on an error; the reading goroutine uses tryWrite instead.
func (m *modeConn) write(f func() error) {
	m.t.Helper()
	if err := m.tryWrite(f); err != nil {
		m.t.Fatalf("h2 send: %v", err)
	}
}

func (m *modeConn) tryWrite(f func() error) error {
	m.wmu.Lock()
	defer m.wmu.Unlock()
	m.nc.SetWriteDeadline(time.Now().Add(Timeout))
	return f()
}

// notify wakes every waiter; mu must be held.
func (m *modeConn) notify() {
	close(m.changed)
	m.changed = make(chan struct{})
}

// wait waits, with mu held, until ready reports true or Timeout passes
// with no change on the connection.
func (m *modeConn) wait(ready func() bool) error {
	for !ready() {
		ch := m.changed
		m.mu.Unlock()
		select {
		case <-ch:
			m.mu.Lock()
		case <-time.After(Timeout):
			m.mu.Lock()
			if !ready() {
				return fmt.Errorf("wiretest: h2: nothing from the server in %v", Timeout)
			}
		}
	}
	return nil
}

// readLoop reads frames until the connection ends, keeping what each
// stream received for the test's goroutine.
func (m *modeConn) readLoop() {
	for {
		f, err := m.fr.ReadFrame()
		if se, ok := err.(http2.StreamError); ok {
			// A malformed header block (RFC 9113 §8.1.1): a finding.
			m.mu.Lock()
			if s := m.streams[se.StreamID]; s != nil {
				s.reset = fmt.Errorf("wiretest: h2: malformed response on stream %d: %v", se.StreamID, se)
			}
			m.notify()
			m.mu.Unlock()
			continue
		}
		if err != nil {
			m.mu.Lock()
			m.ended = err
			m.notify()
			m.mu.Unlock()
			return
		}
		reply, err := m.handle(f)
		if err == nil && reply != nil {
			err = m.tryWrite(reply)
		}
		if err != nil {
			m.mu.Lock()
			m.ended = err
			m.notify()
			m.mu.Unlock()
			m.nc.Close()
			return
		}
	}
}

// handle records a frame, returning what to write in reply, which the
// caller writes after letting go of mu: writing under it could deadlock
// with a server that stops reading until it has written.
func (m *modeConn) handle(f http2.Frame) (reply func() error, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	defer m.notify()
	s := m.streams[f.Header().StreamID]
	switch f := f.(type) {
	case *http2.SettingsFrame:
		if f.IsAck() {
			return nil, nil
		}
		err := f.ForeachSetting(func(st http2.Setting) error {
			switch st.ID {
			case http2.SettingInitialWindowSize:
				for _, s := range m.streams {
					s.sendWn += int64(st.Val) - m.initWin
				}
				m.initWin = int64(st.Val)
			case http2.SettingMaxFrameSize:
				m.maxFrame = st.Val
			}
			return nil
		})
		return m.fr.WriteSettingsAck, err
	case *http2.PingFrame:
		if f.IsAck() {
			return nil, nil
		}
		return func() error { return m.fr.WritePing(true, f.Data) }, nil
	case *http2.WindowUpdateFrame:
		if f.StreamID == 0 {
			m.connWin += int64(f.Increment)
		} else if s != nil {
			s.sendWn += int64(f.Increment)
		}
	case *http2.GoAwayFrame:
		m.goaway, m.lastStream = true, f.LastStreamID
	case *http2.RSTStreamFrame:
		if s != nil && s.reset == nil {
			s.reset = http2.StreamError{StreamID: f.StreamID, Code: f.ErrCode}
		}
	case *http2.MetaHeadersFrame:
		if s == nil {
			return nil, fmt.Errorf("wiretest: h2: HEADERS on stream %d, which the client never opened", f.StreamID)
		}
		m.headers(s, f)
	case *http2.DataFrame:
		if s == nil {
			return nil, fmt.Errorf("wiretest: h2: DATA on stream %d, which the client never opened", f.StreamID)
		}
		if !s.final || s.trail != nil {
			s.reset = fmt.Errorf("wiretest: h2: DATA on stream %d outside a response body", f.StreamID)
		}
		s.data = append(s.data, f.Data()...)
		s.unack += int64(f.Length) - int64(len(f.Data())) // padding is never consumed
		s.done = f.StreamEnded()
		m.recvUnack += int64(f.Length)
		if m.recvUnack >= modeConnWindow/4 {
			n := m.recvUnack
			m.recvUnack = 0
			return func() error { return m.fr.WriteWindowUpdate(0, uint32(n)) }, nil
		}
	case *http2.PushPromiseFrame:
		return nil, errors.New("wiretest: h2: PUSH_PROMISE with push disabled")
	}
	return nil, nil
}

// headers takes a response header block: an interim head, the final head,
// or the trailer section (RFC 9113 §8.1).
func (m *modeConn) headers(s *modeStream, f *http2.MetaHeadersFrame) {
	for _, hf := range f.Fields {
		// RFC 9113 §8.2.1: a field value must not start or end with
		// whitespace; x/net's framer leaves that check to its caller.
		if v := hf.Value; v != "" && (strings.ContainsRune(" \t", rune(v[0])) || strings.ContainsRune(" \t", rune(v[len(v)-1]))) {
			s.reset = fmt.Errorf("wiretest: h2: malformed response on stream %d: %s value %q has surrounding whitespace", s.id, hf.Name, v)
			return
		}
	}
	if s.final {
		if !f.StreamEnded() {
			s.reset = fmt.Errorf("wiretest: h2: trailers on stream %d without END_STREAM", s.id)
		}
		s.trail = http.Header{}
		for _, hf := range f.RegularFields() {
			s.trail.Add(hf.Name, hf.Value)
		}
		s.done = true
		return
	}
	r := &Response{Proto: "HTTP/2.0", Header: http.Header{}}
	var head strings.Builder
	for _, hf := range f.Fields {
		head.WriteString(hf.Name + ": " + hf.Value + "\r\n")
		if !hf.IsPseudo() {
			r.Header.Add(hf.Name, hf.Value)
		}
	}
	head.WriteString("\r\n")
	r.Head = head.String()
	status, err := strconv.Atoi(f.PseudoValue("status"))
	if err != nil || status < 100 || status > 999 {
		s.reset = fmt.Errorf("wiretest: h2: bad :status %q on stream %d", f.PseudoValue("status"), s.id)
		return
	}
	r.Status = status
	if status >= 200 {
		s.final = true
		s.done = f.StreamEnded()
	} else if f.StreamEnded() {
		s.reset = fmt.Errorf("wiretest: h2: interim response ends stream %d", s.id)
	}
	s.heads = append(s.heads, r)
}

// send takes bytes of HTTP/1.1 requests and sends each request as soon as
// its head is complete, its body as it comes.
func (m *modeConn) send(raw string) {
	m.t.Helper()
	m.pending = append(m.pending, raw...)
	for {
		if m.cur == nil {
			i := bytes.Index(m.pending, []byte("\r\n\r\n"))
			if i < 0 {
				return
			}
			head := m.pending[:i+4]
			m.pending = m.pending[i+4:]
			m.cur = m.open(string(head))
			continue
		}
		if !m.sendBody() {
			return
		}
	}
}

// open sends a request head as a HEADERS frame and returns the request's
// state while its body is to come, or nil.
func (m *modeConn) open(head string) *modeOutReq {
	m.t.Helper()
	req, err := parseModeRequest(head)
	if err != nil {
		m.t.Fatalf("wiretest: h2 mode cannot translate %q: %v", head, err)
	}
	fields := []hpack.HeaderField{{Name: ":method", Value: req.method}, {Name: ":scheme", Value: m.scheme}}
	if req.authority != "" {
		fields = append(fields, hpack.HeaderField{Name: ":authority", Value: req.authority})
	}
	fields = append(fields, hpack.HeaderField{Name: ":path", Value: req.path})
	fields = append(fields, req.fields...)
	end := !req.chunked && req.length <= 0

	m.mu.Lock()
	s := &modeStream{id: m.nextID, method: req.method, sendWn: m.initWin}
	m.nextID += 2
	m.streams[s.id] = s
	m.queue = append(m.queue, s)
	m.mu.Unlock()
	m.write(func() error {
		m.hbuf.Reset()
		for _, f := range fields {
			m.enc.WriteField(f)
		}
		return m.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: s.id, BlockFragment: m.hbuf.Bytes(),
			EndStream: end, EndHeaders: true})
	})
	if end {
		return nil
	}
	return &modeOutReq{s: s, left: req.length, chunked: req.chunked, chunk: -1}
}

// modeRequest is an HTTP/1.1 request head as HTTP/2 sends it.
type modeRequest struct {
	method, authority, path string
	fields                  []hpack.HeaderField // in the head's order, lower-case
	length                  int64               // Content-Length, -1 when none
	chunked                 bool
}

// parseModeRequest reads an HTTP/1.1 request head (RFC 9112 §3, §5, §6):
// the target goes as it was written, absolute form split into
// :authority and :path; Host becomes :authority; the connection-specific
// fields RFC 9113 §8.2.2 forbids are dropped, and TE but for "trailers".
// It checks only what it needs: what a server makes of the rest is what
// the test is for.
func parseModeRequest(head string) (*modeRequest, error) {
	lines := strings.Split(strings.TrimSuffix(head, "\r\n\r\n"), "\r\n")
	method, rest, ok1 := strings.Cut(lines[0], " ")
	target, version, ok2 := strings.Cut(rest, " ")
	if !ok1 || !ok2 || !strings.HasPrefix(version, "HTTP/1.") {
		return nil, fmt.Errorf("request line %q", lines[0])
	}
	r := &modeRequest{method: method, path: target, length: -1}
	for _, scheme := range []string{"http://", "https://"} {
		if after, ok := strings.CutPrefix(target, scheme); ok {
			i := strings.IndexAny(after, "/?")
			if i < 0 {
				i = len(after)
			}
			r.authority, r.path = after[:i], after[i:]
			if r.path == "" || r.path[0] == '?' {
				r.path = "/" + r.path
			}
		}
	}
	drop := map[string]bool{"host": true, "connection": true, "keep-alive": true,
		"proxy-connection": true, "transfer-encoding": true, "upgrade": true}
	type field struct{ name, value string }
	var all []field
	for _, line := range lines[1:] {
		name, value, ok := strings.Cut(line, ":")
		if !ok || name == "" || strings.ContainsAny(name, " \t") {
			return nil, fmt.Errorf("field line %q", line)
		}
		f := field{strings.ToLower(name), strings.Trim(value, " \t")}
		all = append(all, f)
		switch f.name {
		case "connection":
			for _, opt := range strings.Split(f.value, ",") {
				drop[strings.ToLower(strings.TrimSpace(opt))] = true
			}
		case "host":
			if r.authority == "" {
				r.authority = f.value
			}
		case "transfer-encoding":
			r.chunked = true
		case "content-length":
			n, err := strconv.ParseInt(f.value, 10, 64)
			if err != nil || n < 0 || r.length >= 0 && n != r.length {
				return nil, fmt.Errorf("Content-Length %q", f.value)
			}
			r.length = n
		}
	}
	for _, f := range all {
		if !drop[f.name] && (f.name != "te" || strings.EqualFold(f.value, "trailers")) {
			r.fields = append(r.fields, hpack.HeaderField{Name: f.name, Value: f.value})
		}
	}
	if r.chunked {
		r.length = -1
	}
	return r, nil
}

// sendBody sends what has arrived of the current request's body, reporting
// whether it is complete (and the next request's head may follow).
func (m *modeConn) sendBody() bool {
	m.t.Helper()
	r := m.cur
	if !r.chunked {
		n := min(int64(len(m.pending)), r.left)
		r.left -= n
		p := m.pending[:n]
		m.pending = m.pending[n:]
		if n > 0 || r.left == 0 {
			m.data(r.s, p, r.left == 0)
		}
		if r.left > 0 {
			return false
		}
		m.cur = nil
		return true
	}
	for {
		if r.chunk > 0 {
			n := min(int64(len(m.pending)), r.chunk)
			m.data(r.s, m.pending[:n], false)
			m.pending, r.chunk = m.pending[n:], r.chunk-n
			if r.chunk > 0 {
				return false
			}
			r.chunk = -2 // the CRLF after the chunk's data
		}
		if r.chunk == -2 {
			if len(m.pending) < 2 {
				return false
			}
			m.pending, r.chunk = m.pending[2:], -1
		}
		i := bytes.Index(m.pending, []byte("\r\n"))
		if i < 0 {
			return false
		}
		size, _, _ := strings.Cut(string(m.pending[:i]), ";")
		n, err := strconv.ParseInt(strings.TrimSpace(size), 16, 64)
		if err != nil || n < 0 {
			m.t.Fatalf("wiretest: h2 mode cannot translate chunk-size line %q", m.pending[:i])
		}
		if n > 0 {
			m.pending, r.chunk = m.pending[i+2:], n
			continue
		}
		// The last chunk: the trailer section ends at an empty line.
		j := bytes.Index(m.pending[i:], []byte("\r\n\r\n"))
		if j < 0 {
			return false
		}
		trailer := string(m.pending[i+2 : i+j+2])
		m.pending = m.pending[i+j+4:]
		m.trailers(r.s, trailer)
		m.cur = nil
		return true
	}
}

// trailers ends a stream with a trailer section, or an empty DATA frame
// when it has no fields.
func (m *modeConn) trailers(s *modeStream, section string) {
	m.t.Helper()
	if section == "" {
		m.data(s, nil, true)
		return
	}
	var fields []hpack.HeaderField
	for _, line := range strings.Split(strings.TrimSuffix(section, "\r\n"), "\r\n") {
		name, value, _ := strings.Cut(line, ":")
		fields = append(fields, hpack.HeaderField{Name: strings.ToLower(name), Value: strings.Trim(value, " \t")})
	}
	m.write(func() error {
		m.hbuf.Reset()
		for _, f := range fields {
			m.enc.WriteField(f)
		}
		return m.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: s.id, BlockFragment: m.hbuf.Bytes(),
			EndStream: true, EndHeaders: true})
	})
}

// data sends p on s within the server's windows, waiting for them to
// open. Once the server has reset the stream, or answered in full, the
// rest of the body is dropped, as a server that stops reading drops it.
func (m *modeConn) data(s *modeStream, p []byte, end bool) {
	m.t.Helper()
	for first := true; first || len(p) > 0; first = false {
		m.mu.Lock()
		err := m.wait(func() bool {
			return len(p) == 0 || m.connWin > 0 && s.sendWn > 0 || s.reset != nil || s.done || m.ended != nil
		})
		if err != nil {
			m.mu.Unlock()
			m.t.Fatalf("sending a body on stream %d: %v", s.id, err)
		}
		if s.reset != nil || s.done || m.ended != nil {
			m.mu.Unlock()
			return
		}
		n := min(int64(len(p)), m.connWin, s.sendWn, int64(m.maxFrame))
		m.connWin -= n
		s.sendWn -= n
		m.mu.Unlock()
		chunk := p[:n]
		p = p[n:]
		m.write(func() error { return m.fr.WriteData(s.id, end && len(p) == 0, chunk) })
	}
}

// front returns the stream whose response is next, or an error when no
// request awaits one; mu must be held.
func (m *modeConn) front() (*modeStream, error) {
	if len(m.queue) == 0 {
		return nil, errors.New("wiretest: h2: no request awaits a response")
	}
	return m.queue[0], nil
}

// gone reports why a stream can have no more frames: reset, refused by a
// GOAWAY, or the connection's end; nil while it may. mu must be held.
func (m *modeConn) gone(s *modeStream) error {
	switch {
	case s.reset != nil:
		return s.reset
	case m.goaway && s.id > m.lastStream:
		return fmt.Errorf("wiretest: h2: stream %d refused by GOAWAY: %w", s.id, io.EOF)
	case m.ended != nil:
		return m.ended
	}
	return nil
}

// readHead waits for the next head of the front stream: an interim one, or
// the final one, which takes the stream off the queue.
func (m *modeConn) readHead() (*Response, *modeStream, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, err := m.front()
	if err != nil {
		return &Response{}, nil, err
	}
	if err := m.wait(func() bool { return len(s.heads) > 0 || m.gone(s) != nil }); err != nil {
		return &Response{}, s, err
	}
	if len(s.heads) == 0 {
		err := m.gone(s)
		if isClose(err) || errors.As(err, new(http2.StreamError)) {
			err = fmt.Errorf("%w (%v)", io.EOF, err)
		}
		return &Response{}, s, err
	}
	r := s.heads[0]
	s.heads = s.heads[1:]
	if r.Status >= 200 {
		m.queue = m.queue[1:]
	}
	r.Close = m.goaway || m.ended != nil
	return r, s, nil
}

// read reads the next response whole: its head, then DATA to the stream's
// end. A stream reset or a connection ended inside the body sets Closed.
func (m *modeConn) read(method string) (*Response, error) {
	r, s, err := m.readHead()
	if err != nil || r.Status < 200 {
		return r, err
	}
	for {
		p, err := m.consume(s)
		r.Body = append(r.Body, p...)
		if err == io.EOF {
			break
		}
		if err != nil {
			if errors.Is(err, errModeCut) {
				r.Closed = true
				break
			}
			return r, err
		}
	}
	m.mu.Lock()
	r.Trailer = s.trail
	r.Close = m.goaway || m.ended != nil
	m.mu.Unlock()
	// RFC 9113 §8.1.1: DATA must add up to content-length; RFC 9110 §9.3.2,
	// §15.4.5: HEAD and 304 have no content, whatever content-length says.
	switch {
	case r.Closed:
	case (method == "HEAD" || r.Status == 304 || r.Status == 204) && len(r.Body) > 0:
		return r, fmt.Errorf("wiretest: h2: %d bytes of DATA answering %s with %d", len(r.Body), method, r.Status)
	case method != "HEAD" && r.Status != 304 && r.Has("Content-Length") && r.Get("Content-Length") != strconv.Itoa(len(r.Body)):
		return r, fmt.Errorf("wiretest: h2: %d bytes of DATA, content-length %s", len(r.Body), r.Get("Content-Length"))
	}
	return r, nil
}

// errModeCut is consume's answer for a body cut short.
var errModeCut = errors.New("wiretest: h2: body cut short")

// consume takes the DATA that arrived for s, waiting for some, granting
// the stream's window back. Its error is io.EOF at the stream's end, or
// wraps errModeCut when the stream or connection ended first.
func (m *modeConn) consume(s *modeStream) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	err := m.wait(func() bool { return len(s.data) > 0 || s.done || m.gone(s) != nil })
	if err != nil {
		return nil, err
	}
	p := s.data
	s.data = nil
	s.unack += int64(len(p))
	if s.unack >= modeStreamWindow/4 && !s.done {
		n := s.unack
		s.unack = 0
		if err := m.tryWrite(func() error { return m.fr.WriteWindowUpdate(s.id, uint32(n)) }); err != nil && len(p) == 0 {
			return nil, fmt.Errorf("%w: %v", errModeCut, err)
		}
	}
	switch {
	case len(p) > 0:
		return p, nil
	case s.done:
		return nil, io.EOF
	}
	return nil, fmt.Errorf("%w: %v", errModeCut, m.gone(s))
}

// modeBody reads the body of the stream ReadHead last returned; a body cut
// short ends as a close does over HTTP/1.1, in EOF.
type modeBody struct {
	m   *modeConn
	s   *modeStream
	buf []byte
}

func (b *modeBody) Read(p []byte) (int, error) {
	if len(b.buf) == 0 {
		data, err := b.m.consume(b.s)
		if errors.Is(err, errModeCut) {
			err = io.EOF
		}
		if len(data) == 0 {
			return 0, err
		}
		b.buf = data
	}
	n := copy(p, b.buf)
	b.buf = b.buf[n:]
	return n, nil
}

// untilEnd waits for the server to end the connection, returning the DATA
// that arrived for any stream on the way.
func (m *modeConn) untilEnd() ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var got []byte
	err := m.wait(func() bool {
		for _, s := range m.streams {
			got = append(got, s.data...)
			s.data = nil
		}
		return m.ended != nil
	})
	if err == nil && !isClose(m.ended) {
		err = m.ended
	}
	return got, err
}
