package http2

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/net/http2/hpack"
)

// FuzzDecode decodes a block twice on one Decoder (the second time against
// the table the first left), checking that it does not panic, that the
// table stays within its maximum, and that when x/net's decoder accepts the
// block ours yields the same fields. Ours is stricter in two documented
// ways, which are not failures: integers of more than maxIntContinuation
// bytes, and a size update after a field when the table is empty.
func FuzzDecode(f *testing.F) {
	for _, s := range appendixC {
		for _, st := range s.steps {
			f.Add(dehex(st.block))
		}
	}
	f.Fuzz(func(t *testing.T, block []byte) {
		var d Decoder
		d.Init(DefaultTableSize)
		ref := hpack.NewDecoder(DefaultTableSize, nil)
		for pass := range 2 {
			got, err := decode(&d, block)
			if d.table.size > d.table.max || d.table.max > DefaultTableSize {
				t.Fatalf("pass %d: table size %d, max %d", pass, d.table.size, d.table.max)
			}
			if err != nil && !errors.Is(err, ErrCompression) {
				t.Fatalf("pass %d: error %v is not ErrCompression", pass, err)
			}
			want, refErr := refDecode(ref, block)
			if refErr != nil {
				return // x/net's decoder is unusable after an error
			}
			if errors.Is(err, errIntegerTooLong) || errors.Is(err, errSizeUpdateLate) {
				return
			}
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Fatalf("pass %d: got %v, %v; x/net got %v", pass, got, err, want)
			}
		}
	})
}

// FuzzEncode encodes the fields in data (name and value alternating,
// separated by NUL; a leading byte picks the peer's table size) in two
// blocks on one Encoder and checks that our Decoder and x/net's both decode
// them to the fields, names lowercased.
func FuzzEncode(f *testing.F) {
	f.Add([]byte("\x03Content-Type\x00text/html\x00Set-Cookie\x00a=b\x00X-Long\x00" + strings.Repeat("~", 300)))
	f.Add([]byte("\x00date\x00Mon, 21 Oct 2013 20:13:21 GMT\x00etag\x00\"x\""))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		parts := bytes.Split(data[1:], []byte{0})
		var e Encoder
		e.Init()
		e.SetMaxTableSize(tableSizes[int(data[0])%len(tableSizes)])
		var d Decoder
		d.Init(DefaultTableSize)
		ref := hpack.NewDecoder(DefaultTableSize, nil)
		for pass := range 2 {
			block := e.AppendStatus(nil, 200)
			want := []hf{{name: ":status", value: "200"}}
			for i := 0; i+1 < len(parts); i += 2 {
				block = e.AppendField(block, parts[i], parts[i+1])
				name := asciiLower(parts[i])
				want = append(want, hf{name, string(parts[i+1]), isSensitive(name)})
			}
			if got, err := decode(&d, block); err != nil || !reflect.DeepEqual(got, want) {
				t.Fatalf("pass %d (%x): got %v, %v, want %v", pass, block, got, err, want)
			}
			if got, err := refDecode(ref, block); err != nil || !reflect.DeepEqual(got, want) {
				t.Fatalf("pass %d (%x): x/net got %v, %v, want %v", pass, block, got, err, want)
			}
		}
	})
}

// asciiLower lowercases ASCII letters only, as HTTP/2 field names are
// (strings.ToLower would rewrite invalid UTF-8).
func asciiLower(b []byte) string {
	out := []byte(string(b))
	for i, c := range out {
		if 'A' <= c && c <= 'Z' {
			out[i] = c + 'a' - 'A'
		}
	}
	return string(out)
}
