package static

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"strings"
	"testing"
)

func TestParseRange(t *testing.T) {
	const size = 1000
	tests := []struct {
		name, v string
		want    []byteRange
		outcome int
	}{
		{"first_last", "bytes=0-499", []byteRange{{0, 500}}, rangeOK},
		{"open_ended", "bytes=900-", []byteRange{{900, 100}}, rangeOK},
		{"suffix", "bytes=-100", []byteRange{{900, 100}}, rangeOK},
		{"suffix_longer_than_file", "bytes=-5000", []byteRange{{0, 1000}}, rangeOK},
		{"last_past_end", "bytes=990-2000", []byteRange{{990, 10}}, rangeOK},
		{"last_byte", "bytes=999-999", []byteRange{{999, 1}}, rangeOK},
		{"two", "bytes=0-9, 20-29", []byteRange{{0, 10}, {20, 10}}, rangeOK},
		{"order_kept", "bytes=20-29,0-9", []byteRange{{20, 10}, {0, 10}}, rangeOK},
		{"unit_case", "Bytes=0-0", []byteRange{{0, 1}}, rangeOK},
		{"ows", "bytes= 0-0 ,\t1-1", []byteRange{{0, 1}, {1, 1}}, rangeOK},
		{"empty_elements", "bytes=,0-0,,", []byteRange{{0, 1}}, rangeOK},
		{"some_unsatisfiable", "bytes=0-0,5000-", []byteRange{{0, 1}}, rangeOK},
		{"start_past_end", "bytes=1000-", nil, rangeUnsatisfiable},
		{"suffix_zero", "bytes=-0", nil, rangeUnsatisfiable},
		{"last_before_first", "bytes=500-400", nil, rangeUnsatisfiable},
		{"all_unsatisfiable", "bytes=2000-3000,1000-", nil, rangeUnsatisfiable},
		{"other_unit", "items=0-1", nil, rangeIgnore},
		{"no_dash", "bytes=100", nil, rangeIgnore},
		{"not_number", "bytes=a-b", nil, rangeIgnore},
		{"negative_first", "bytes=--5", nil, rangeIgnore},
		{"empty_set", "bytes=", nil, rangeIgnore},
		{"overflow", "bytes=99999999999999999999-", nil, rangeIgnore},
		{"overlaps_exceed_size", "bytes=0-999,0-999", nil, rangeIgnore},
		{"too_many", "bytes=" + strings.Repeat("0-0,", maxRanges+1), nil, rangeIgnore},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, outcome := parseRange([]byte(tt.v), size, nil)
			if outcome != tt.outcome {
				t.Fatalf("parseRange(%q) outcome %d, want %d", tt.v, outcome, tt.outcome)
			}
			if outcome == rangeOK && !equalRanges(got, tt.want) {
				t.Errorf("parseRange(%q) = %v, want %v", tt.v, got, tt.want)
			}
		})
	}
}

// TestParseRangeHuge: offsets past 4 GiB parse and clamp in int64.
func TestParseRangeHuge(t *testing.T) {
	const size = 5 << 30
	got, outcome := parseRange([]byte("bytes=4294967296-4294967305,-10"), size, nil)
	want := []byteRange{{4 << 30, 10}, {size - 10, 10}}
	if outcome != rangeOK || !equalRanges(got, want) {
		t.Errorf("got %v (%d), want %v", got, outcome, want)
	}
}

func TestParseRangeEmptyFile(t *testing.T) {
	for _, v := range []string{"bytes=0-", "bytes=-1", "bytes=0-0"} {
		if _, outcome := parseRange([]byte(v), 0, nil); outcome != rangeUnsatisfiable {
			t.Errorf("%q on an empty file: outcome %d, want unsatisfiable", v, outcome)
		}
	}
}

func equalRanges(a, b []byteRange) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestMultipartLayout: the body built from appendPartHead and
// appendClosing parses with mime/multipart, and multipartLength is its
// exact length.
func TestMultipartLayout(t *testing.T) {
	content := []byte("0123456789abcdefghijklmnopqrstuvwxyz")
	ranges := []byteRange{{0, 3}, {10, 5}, {35, 1}}
	const boundary, ctype = "b0und4ry", "text/plain; charset=utf-8"
	var body []byte
	for i, r := range ranges {
		body = appendPartHead(body, i == 0, boundary, ctype, r, int64(len(content)))
		body = append(body, content[r.start:r.start+r.length]...)
	}
	body = appendClosing(body, boundary)
	if n := multipartLength(ranges, boundary, ctype, int64(len(content))); n != int64(len(body)) {
		t.Errorf("multipartLength = %d, body is %d bytes", n, len(body))
	}
	_, params, _ := mime.ParseMediaType("multipart/byteranges; boundary=" + boundary)
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	for i, r := range ranges {
		p, err := mr.NextPart()
		if err != nil {
			t.Fatalf("part %d: %v", i, err)
		}
		got, _ := io.ReadAll(p)
		if want := content[r.start : r.start+r.length]; !bytes.Equal(got, want) {
			t.Errorf("part %d = %q, want %q", i, got, want)
		}
		if cr := p.Header.Get("Content-Range"); cr != string(appendContentRange(nil, r, int64(len(content)))) {
			t.Errorf("part %d Content-Range %q", i, cr)
		}
		if ct := p.Header.Get("Content-Type"); ct != ctype {
			t.Errorf("part %d Content-Type %q", i, ct)
		}
	}
	if _, err := mr.NextPart(); err != io.EOF {
		t.Errorf("after the last part: %v, want EOF", err)
	}
}
