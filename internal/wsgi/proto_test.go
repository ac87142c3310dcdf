package wsgi

import (
	"bytes"
	"encoding/binary"
	"errors"
	"nave/internal/web"
	"strings"
	"testing"
)

// wireFrame encodes one frame as a worker would.
func wireFrame(t frameType, id uint32, payload string) string {
	return string(appendFrameHeader(nil, t, id, len(payload))) + payload
}

func responsePayload(head, body string) string {
	var n [4]byte
	binary.LittleEndian.PutUint32(n[:], uint32(len(head)))
	return string(n[:]) + head + body
}

func filePayload(off, count int64) string {
	b := binary.LittleEndian.AppendUint64(nil, uint64(off))
	return string(binary.LittleEndian.AppendUint64(b, uint64(count)))
}

var frameCases = []struct {
	name    string
	raw     string
	want    []frame
	wantErr string // substring of the error after the frames, "" for none
}{
	{
		name: "ready",
		raw:  wireFrame(frameReady, 0, "123\x003.11.2"),
		want: []frame{{frameReady, 0, []byte("123\x003.11.2")}},
	},
	{
		name: "response",
		raw:  wireFrame(frameResponse, 7, responsePayload("200 OK\x00Content-Type\x00text/plain", "hello")),
		want: []frame{{frameResponse, 7, []byte(responsePayload("200 OK\x00Content-Type\x00text/plain", "hello"))}},
	},
	{
		name: "streamed",
		raw: wireFrame(frameStart, 1, "200 OK") + wireFrame(frameData, 1, "a") +
			wireFrame(frameData, 1, "bc") + wireFrame(frameEnd, 1, ""),
		want: []frame{
			{frameStart, 1, []byte("200 OK")}, {frameData, 1, []byte("a")},
			{frameData, 1, []byte("bc")}, {frameEnd, 1, []byte{}},
		},
	},
	{
		name: "file",
		raw:  wireFrame(frameFile, 2, filePayload(10, -1)),
		want: []frame{{frameFile, 2, []byte(filePayload(10, -1))}},
	},
	{
		name: "error",
		raw:  wireFrame(frameError, 3, "RuntimeError: boom"),
		want: []frame{{frameError, 3, []byte("RuntimeError: boom")}},
	},
	{
		name:    "unknown_type",
		raw:     wireFrame(99, 1, "x"),
		wantErr: "unknown frame type 99",
	},
	{
		name:    "request_type_from_worker",
		raw:     wireFrame(frameRequest, 1, "x"),
		wantErr: "unknown frame type 1",
	},
	{
		name:    "data_too_large",
		raw:     string(appendFrameHeader(nil, frameData, 1, maxDataBytes+1)),
		wantErr: "limit",
	},
	{
		name:    "head_too_large",
		raw:     string(appendFrameHeader(nil, frameStart, 1, maxHeadBytes+1)),
		wantErr: "limit",
	},
	{
		name:    "end_with_payload",
		raw:     wireFrame(frameEnd, 1, "x"),
		wantErr: "limit 0",
	},
	{
		name:    "file_short",
		raw:     wireFrame(frameFile, 1, "12345678"),
		wantErr: "FILE frame of 8 bytes",
	},
	{
		name:    "length_4g",
		raw:     "\xff\xff\xff\xff\x12\x01\x00\x00\x00",
		wantErr: "limit",
	},
}

// decodeAll decodes frames from raw, fed in pieces of step bytes (0: all
// at once), as a reader filling a buffer would.
func decodeAll(raw []byte, step int) ([]frame, error) {
	var out []frame
	var buf []byte
	for len(raw) > 0 || len(buf) > 0 {
		n := len(raw)
		if step > 0 && step < n {
			n = step
		}
		buf = append(buf, raw[:n]...)
		raw = raw[n:]
		for {
			f, used, err := parseFrame(buf)
			if err != nil {
				return out, err
			}
			if used == 0 {
				break
			}
			f.payload = append([]byte{}, f.payload...)
			out = append(out, f)
			buf = buf[used:]
		}
		if len(raw) == 0 {
			if len(buf) > 0 {
				return out, errors.New("truncated")
			}
			break
		}
	}
	return out, nil
}

func TestParseFrame(t *testing.T) {
	for _, tc := range frameCases {
		for _, step := range []int{0, 1, 5} {
			got, err := decodeAll([]byte(tc.raw), step)
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("%s step %d: got error %v, want %q", tc.name, step, err, tc.wantErr)
				continue
			}
			if len(got) != len(tc.want) {
				t.Errorf("%s step %d: got %d frames, want %d", tc.name, step, len(got), len(tc.want))
				continue
			}
			for i := range got {
				if got[i].typ != tc.want[i].typ || got[i].id != tc.want[i].id || !bytes.Equal(got[i].payload, tc.want[i].payload) {
					t.Errorf("%s step %d frame %d: got %+v, want %+v", tc.name, step, i, got[i], tc.want[i])
				}
			}
		}
	}
}

func TestSplitResponse(t *testing.T) {
	head, body, err := splitResponse([]byte(responsePayload("200 OK", "body")))
	if err != nil || string(head) != "200 OK" || string(body) != "body" {
		t.Errorf("got %q %q %v", head, body, err)
	}
	for _, bad := range []string{"", "\x01\x00", "\x10\x00\x00\x00short"} {
		if _, _, err := splitResponse([]byte(bad)); err == nil {
			t.Errorf("splitResponse(%q): no error", bad)
		}
	}
}

var headCases = []struct {
	name    string
	raw     string
	status  int
	fields  []string
	wantErr string
}{
	{"ok", "200 OK\x00Content-Type\x00text/plain", 200, []string{"Content-Type", "text/plain"}, ""},
	{"no_reason", "204", 204, nil, ""},
	{"empty_reason", "200 ", 200, nil, ""},
	{"custom_reason", "299 Fine By Me", 299, nil, ""},
	{"repeated", "200 OK\x00Set-Cookie\x00a=1\x00Set-Cookie\x00b=2", 200, []string{"Set-Cookie", "a=1", "Set-Cookie", "b=2"}, ""},
	{"empty_value", "200 OK\x00X-Empty\x00", 200, []string{"X-Empty", ""}, ""},
	{"value_ows", "200 OK\x00Set-Cookie\x00 a=1; Path=/\t\x00X\x00 \t", 200, []string{"Set-Cookie", "a=1; Path=/", "X", ""}, ""},
	{"latin1_value", "200 OK\x00X-Name\x00caf\xe9", 200, []string{"X-Name", "caf\xe9"}, ""},
	{"status_1xx", "100 Continue", 0, nil, "below 200"},
	{"status_letters", "2x0 OK", 0, nil, "three digits"},
	{"status_four_digits", "2000 OK", 0, nil, "NNN reason"},
	{"status_short", "20", 0, nil, "NNN reason"},
	{"status_crlf", "200 OK\r\nX: y", 0, nil, "control byte"},
	{"name_space", "200 OK\x00Bad Name\x00v", 0, nil, "not a token"},
	{"name_empty", "200 OK\x00\x00v", 0, nil, "not a token"},
	{"value_crlf", "200 OK\x00X\x00a\r\nSet-Cookie: evil=1", 0, nil, "CR, LF"},
	{"value_lf", "200 OK\x00X\x00a\nb", 0, nil, "CR, LF"},
	{"odd_fields", "200 OK\x00X-Only-Name", 0, nil, "without a value"},
}

func TestParseHead(t *testing.T) {
	for _, tc := range headCases {
		var h responseHead
		err := parseHead([]byte(tc.raw), &h)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: got %v, want error %q", tc.name, err, tc.wantErr)
			}
			continue
		}
		if err != nil || h.status != tc.status {
			t.Errorf("%s: got status %d, err %v; want %d", tc.name, h.status, err, tc.status)
			continue
		}
		var got []string
		for _, f := range h.fields {
			got = append(got, string(f))
		}
		if strings.Join(got, "|") != strings.Join(tc.fields, "|") {
			t.Errorf("%s: got fields %q, want %q", tc.name, got, tc.fields)
		}
	}
}

func TestParseHeadTooManyFields(t *testing.T) {
	raw := "200 OK" + strings.Repeat("\x00X\x00v", maxHeaderFields+1)
	var h responseHead
	if err := parseHead([]byte(raw), &h); err == nil || !strings.Contains(err.Error(), "too many") {
		t.Errorf("got %v, want too many header fields", err)
	}
}

func TestEncodeBatch(t *testing.T) {
	// The ids passed in are the ones encoded (taken under the pool's
	// lock), not what the calls hold now.
	small := &call{env: []byte("REQUEST_METHOD\x00GET"), id: 77}
	large := &call{env: []byte("REQUEST_METHOD\x00POST"), id: 78, body: bytes.Repeat([]byte("b"), inlineCopy+1)}
	buf, bufs, fds := encodeBatch(nil, nil, nil, []*call{small, large}, []uint32{1, 2}, []uint32{9})
	if len(fds) != 0 {
		t.Errorf("fds %v", fds)
	}
	var wire []byte
	for _, b := range bufs {
		wire = append(wire, b...)
	}
	if len(bufs) != 3 || !bytes.Equal(bufs[1], large.body) {
		t.Errorf("large body not written in place: %d buffers", len(bufs))
	}
	_ = buf
	// Decode as the adapter does.
	type req struct {
		typ       frameType
		id        uint32
		env, body string
	}
	var got []req
	for len(wire) > 0 {
		n := binary.LittleEndian.Uint32(wire)
		typ, id := frameType(wire[4]), binary.LittleEndian.Uint32(wire[5:])
		p := wire[9 : 9+n]
		wire = wire[9+n:]
		if typ == frameCancel {
			got = append(got, req{typ: typ, id: id})
			continue
		}
		en := binary.LittleEndian.Uint32(p)
		got = append(got, req{typ, id, string(p[4 : 4+en]), string(p[4+en:])})
	}
	want := []req{
		{frameRequest, 1, "REQUEST_METHOD\x00GET", ""},
		{frameRequest, 2, "REQUEST_METHOD\x00POST", string(large.body)},
		{frameCancel, 9, "", ""},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d frames, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("frame %d: got %.60v, want %.60v", i, got[i], want[i])
		}
	}
}

// FuzzFrames feeds arbitrary worker output to the decoder: it must never
// panic, never return a frame past its limit or beyond its input, and
// decode the same whole or byte by byte.
func FuzzFrames(f *testing.F) {
	for _, tc := range frameCases {
		f.Add([]byte(tc.raw))
	}
	for _, tc := range headCases {
		f.Add([]byte(wireFrame(frameStart, 1, tc.raw)))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		whole, errWhole := decodeAll(raw, 0)
		bytewise, errByte := decodeAll(raw, 1)
		if (errWhole == nil) != (errByte == nil) || len(whole) != len(bytewise) {
			t.Fatalf("whole: %d frames, %v; byte by byte: %d frames, %v", len(whole), errWhole, len(bytewise), errByte)
		}
		for i, fr := range whole {
			if limit := payloadLimit(fr.typ); limit < 0 || len(fr.payload) > limit {
				t.Fatalf("frame %d type %d: %d bytes past limit %d", i, fr.typ, len(fr.payload), limit)
			}
			if !bytes.Equal(fr.payload, bytewise[i].payload) {
				t.Fatalf("frame %d differs", i)
			}
			var h responseHead
			switch fr.typ {
			case frameStart:
				parseHead(fr.payload, &h)
			case frameResponse:
				if head, body, err := splitResponse(fr.payload); err == nil {
					if len(head) > maxHeadBytes || len(body) > maxDataBytes {
						t.Fatalf("response split past limits: %d, %d", len(head), len(body))
					}
					parseHead(head, &h)
				}
			}
			for j := 0; j < len(h.fields); j += 2 {
				if !web.IsToken(h.fields[j]) || bytes.ContainsAny(h.fields[j+1], "\r\n\x00") {
					t.Fatalf("invalid field accepted: %q: %q", h.fields[j], h.fields[j+1])
				}
			}
		}
	})
}
