package asgi

import (
	"encoding/binary"
	"net/netip"
	"strings"
	"testing"

	"nave/internal/web"
)

func testRequest() *web.Request {
	r := &web.Request{
		Method: []byte("POST"), Scheme: "http", Target: []byte("/a%20b?x=1"), Path: []byte("/a%20b"), Query: []byte("x=1"),
		RemoteAddr: netip.MustParseAddrPort("[::ffff:127.0.0.1]:5000"), LocalAddr: netip.MustParseAddrPort("[::1]:8000"),
	}
	r.Header.Add("Host", "example")
	r.Header.Add("X-Two", "a")
	return r
}

func TestAppendRequest(t *testing.T) {
	r := testRequest()
	body := []byte("first chunk")
	path := web.AppendUnescaped(nil, r.Path)
	b := appendRequest(nil, 7, r, path, nil, body, true)
	f, n, err := parseFrameAny(b)
	if err != nil || f.typ != frameRequest || f.id != 7 || n != len(b) {
		t.Fatalf("frame: %+v %v, %d of %d bytes", f, err, n, len(b))
	}
	p := f.payload
	if p[0] != flagMoreBody {
		t.Errorf("flags: got %d, want more_body", p[0])
	}
	rl, cl, hl := binary.LittleEndian.Uint32(p[1:]), binary.LittleEndian.Uint32(p[5:]), binary.LittleEndian.Uint32(p[9:])
	segs := p[13:]
	want := []string{"POST\x00/a b\x00/a%20b\x00x=1", "http\x001.1\x00\x00127.0.0.1:5000\x00[::1]:8000", "host\x00example\x00x-two\x00a"}
	for i, l := range []uint32{rl, cl, hl} {
		if got := string(segs[:l]); got != want[i] {
			t.Errorf("segment %d: got %q, want %q", i, got, want[i])
		}
		segs = segs[l:]
	}
	if string(segs) != string(body) {
		t.Errorf("first chunk: got %q, want %q", segs, body)
	}
}

// TestAppendConnectionProxied: through a trusted proxy the scope's scheme
// and client are the ones it names (port 0: it names none); the server
// stays the connection's.
func TestAppendConnectionProxied(t *testing.T) {
	r := testRequest()
	r.Header.Add("X-Forwarded-For", "192.0.2.7")
	r.Header.Add("X-Forwarded-Proto", "https")
	r.TrustProxies([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")})
	if got, want := string(appendConnection(nil, r, nil)), "https\x001.1\x00\x00192.0.2.7:0\x00[::1]:8000"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestAppendHeadersH2: the ASGI spec puts :authority first, as host,
// in place of the host field HTTP/2 added at the end.
func TestAppendHeadersH2(t *testing.T) {
	r := testRequest()
	r.Proto, r.Authority = web.HTTP2, []byte("h2.example")
	r.Header.Reset()
	r.Header.Add("Cookie", "a=1")
	r.Header.Add("Cookie", "b=2")
	r.Header.Add("host", "h2.example")
	got := string(appendHeaders(nil, r))
	if want := "host\x00h2.example\x00cookie\x00a=1\x00cookie\x00b=2"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestAppendHeadersRequestID: the request's id goes last, its name
// lower-cased (reqid took the client's field out of the header).
func TestAppendHeadersRequestID(t *testing.T) {
	r := testRequest()
	r.SetID("X-Request-ID", []byte("id-42"))
	got := string(appendHeaders(nil, r))
	if want := "host\x00example\x00x-two\x00a\x00x-request-id\x00id-42"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestAppendBodyAndSent(t *testing.T) {
	b := appendBody(nil, 3, []byte("abc"), false)
	b = appendBody(b, 3, nil, true)
	b = appendSent(b, 3, 70000)
	for _, want := range []struct {
		typ     frameType
		payload string
	}{{frameBody, "abc"}, {frameBodyEnd, ""}, {frameSent, "\x70\x11\x01\x00"}} {
		f, n, _ := parseFrameAny(b)
		if f.typ != want.typ || f.id != 3 || string(f.payload) != want.payload {
			t.Errorf("got type %d id %d %q, want type %d id 3 %q", f.typ, f.id, f.payload, want.typ, want.payload)
		}
		b = b[n:]
	}
}

// parseFrameAny is parseFrame without the limits on what a worker sends.
func parseFrameAny(b []byte) (frame, int, error) {
	size := int(binary.LittleEndian.Uint32(b))
	return frame{typ: frameType(b[4]), id: binary.LittleEndian.Uint32(b[5:]), payload: b[9 : 9+size]}, 9 + size, nil
}

func TestAppendRequestNoAlloc(t *testing.T) {
	r := testRequest()
	var b, path []byte
	body := []byte("hello")
	run := func() {
		path = web.AppendUnescaped(path[:0], r.Path)
		b = appendRequest(b[:0], 1, r, path, nil, body, false)
	}
	run()
	if n := testing.AllocsPerRun(100, run); n != 0 {
		t.Errorf("allocations per request: got %v, want 0", n)
	}
}

func TestAddHead(t *testing.T) {
	for _, tc := range []struct {
		name    string
		status  int
		head    string
		wantErr string
	}{
		{"ok", 200, "content-type\x00text/plain\x00x-a\x00 v ", ""},
		{"empty", 204, "", ""},
		{"status_1xx", 101, "", "status"},
		{"status_big", 1000, "", "status"},
		{"name_without_value", 200, "content-type", "without a value"},
		{"crlf_in_value", 200, "x-a\x00a\r\nset-cookie: b", "control byte"},
		{"space_in_name", 200, "x a\x00v", "not a token"},
		{"empty_name", 200, "\x00v", "not a token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var h web.Header
			err := addHead(&h, tc.status, []byte(tc.head))
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("got %v, want %q", err, tc.wantErr)
			}
		})
	}
	var h web.Header
	addHead(&h, 200, []byte("content-type\x00text/plain\x00x-a\x00 v "))
	if got := string(h.Get("x-a")); got != "v" {
		t.Errorf("value: got %q, want it trimmed to %q", got, "v")
	}
	head := []byte("content-type\x00text/plain\x00content-length\x0013")
	if n := testing.AllocsPerRun(100, func() { h.Reset(); addHead(&h, 200, head) }); n != 0 {
		t.Errorf("allocations relaying common fields: got %v, want 0", n)
	}
}

func TestParseFrameLimits(t *testing.T) {
	for _, tc := range []struct {
		name string
		typ  frameType
		size int
	}{
		{"unknown_type", 99, 0},
		{"huge_data", frameData, maxDataBytes + 1},
		{"huge_error", frameError, maxErrorBytes + 1},
		{"request_from_worker", frameRequest, 10},
		{"sent_from_worker", frameSent, 4},
		{"receive_with_payload", frameReceive, 1},
		{"huge_path", framePathsend, maxPathBytes + 1},
		{"huge_trailers", frameTrailers, maxHeadBytes + 1},
		{"huge_fatal", frameFatal, maxErrorBytes + 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := appendFrameHeader(nil, tc.typ, 1, tc.size)
			if _, _, err := parseFrame(b); err == nil {
				t.Errorf("no error for a frame of type %d and %d bytes, announced", tc.typ, tc.size)
			}
		})
	}
	b := appendFrameHeader(nil, frameEnd, 3, 5)
	if _, n, err := parseFrame(append(b, "abc"...)); n != 0 || err != nil {
		t.Errorf("partial frame: got n %d, %v; want 0, nil", n, err)
	}
}

// TestReplyPathNoAlloc: a reply's trip through a call (head and body
// delivered by the reader, taken by the handler), and the frames a
// streamed request adds, allocate nothing in steady state.
func TestReplyPathNoAlloc(t *testing.T) {
	c := &call{notify: make(chan struct{}, 1)}
	head, body := []byte("content-type\x00text/plain"), []byte("Hello, World!")
	var b []byte
	run := func() {
		c.deliverHead(200, head)
		c.deliverData(body, false)
		c.deliverData(body, true)
		r, ev := c.take(nil)
		if ev != evReply || !r.ended || len(r.data) != 2*len(body) {
			t.Fatalf("take: got %+v %v", r, ev)
		}
		c.ended, c.status = false, 0
		b = appendBody(b[:0], 1, body, false)
		b = appendSent(b, 1, len(body))
	}
	run()
	if n := testing.AllocsPerRun(100, run); n != 0 {
		t.Errorf("allocations per reply: got %v, want 0", n)
	}
}
