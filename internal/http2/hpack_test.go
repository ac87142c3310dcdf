package http2

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/net/http2/hpack"

	"nave/internal/web"
)

// hf is a decoded field, comparable with reflect.DeepEqual.
type hf struct {
	name, value string
	sensitive   bool
}

func (f hf) String() string {
	if f.sensitive {
		return fmt.Sprintf("%s: %s (sensitive)", f.name, f.value)
	}
	return f.name + ": " + f.value
}

// collector is a FieldSink keeping copies of the fields.
type collector struct{ fields []hf }

func (c *collector) Field(name, value []byte, sensitive bool) error {
	c.fields = append(c.fields, hf{string(name), string(value), sensitive})
	return nil
}

// decode decodes block with d and returns the fields.
func decode(d *Decoder, block []byte) ([]hf, error) {
	var c collector
	err := d.Decode(block, &c)
	return c.fields, err
}

// refDecode decodes block with x/net's decoder.
func refDecode(d *hpack.Decoder, block []byte) ([]hf, error) {
	fs, err := d.DecodeFull(block)
	var out []hf
	for _, f := range fs {
		out = append(out, hf{f.Name, f.Value, f.Sensitive})
	}
	return out, err
}

// contents lists t's entries, newest first.
func contents(t *dynamicTable) []hf {
	var out []hf
	for i := 1; i <= t.len(); i++ {
		n, v := t.at(i)
		out = append(out, hf{name: string(n), value: string(v)})
	}
	return out
}

// dehex decodes hex written with spaces and newlines, as the RFC prints it.
func dehex(s string) []byte {
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		panic(err)
	}
	return b
}

func pairs(kv ...string) []hf {
	var out []hf
	for i := 0; i < len(kv); i += 2 {
		out = append(out, hf{name: kv[i], value: kv[i+1]})
	}
	return out
}

func TestStaticTable(t *testing.T) {
	if len(staticTable) != staticLen {
		t.Fatalf("len(staticTable) = %d, want %d", len(staticTable), staticLen)
	}
	for i := len(staticTable); i >= 1; i-- {
		f := staticTable[i-1]
		first := i
		for first > 1 && staticTable[first-2].name == f.name {
			first--
		}
		if got := staticIndex([]byte(f.name)); got != first {
			t.Errorf("staticIndex(%q) = %d, want %d", f.name, got, first)
		}
		if got := staticFull(staticIndex([]byte(f.name)), []byte(f.name), []byte(f.value)); f.value != "" && got != i {
			t.Errorf("staticFull(%q, %q) = %d, want %d", f.name, f.value, got, i)
		}
	}
	if got := staticIndex([]byte("x-unknown")); got != 0 {
		t.Errorf("staticIndex(x-unknown) = %d, want 0", got)
	}
}

// RFC 7541 Appendix C.2: one block each, on a fresh decoder.
func TestDecodeAppendixC2(t *testing.T) {
	tests := []struct {
		name      string
		block     string
		want      []hf
		wantTable []hf
	}{
		{"C.2.1_literal_indexed", "400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572",
			pairs("custom-key", "custom-header"), pairs("custom-key", "custom-header")},
		{"C.2.2_literal_not_indexed", "040c 2f73 616d 706c 652f 7061 7468",
			pairs(":path", "/sample/path"), nil},
		{"C.2.3_literal_never_indexed", "1008 7061 7373 776f 7264 0673 6563 7265 74",
			[]hf{{"password", "secret", true}}, nil},
		{"C.2.4_indexed", "82", pairs(":method", "GET"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d Decoder
			d.Init(4096)
			got, err := decode(&d, dehex(tt.block))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
			if tab := contents(&d.table); !reflect.DeepEqual(tab, tt.wantTable) {
				t.Errorf("table %v, want %v", tab, tt.wantTable)
			}
		})
	}
}

type step struct {
	block     string
	want      []hf
	wantTable []hf // newest first
	wantSize  uint32
}

var (
	c3Fields = [][]hf{
		pairs(":method", "GET", ":scheme", "http", ":path", "/", ":authority", "www.example.com"),
		pairs(":method", "GET", ":scheme", "http", ":path", "/", ":authority", "www.example.com", "cache-control", "no-cache"),
		pairs(":method", "GET", ":scheme", "https", ":path", "/index.html", ":authority", "www.example.com", "custom-key", "custom-value"),
	}
	c3Tables = [][]hf{
		pairs(":authority", "www.example.com"),
		pairs("cache-control", "no-cache", ":authority", "www.example.com"),
		pairs("custom-key", "custom-value", "cache-control", "no-cache", ":authority", "www.example.com"),
	}
	c5Fields = [][]hf{
		pairs(":status", "302", "cache-control", "private", "date", "Mon, 21 Oct 2013 20:13:21 GMT", "location", "https://www.example.com"),
		pairs(":status", "307", "cache-control", "private", "date", "Mon, 21 Oct 2013 20:13:21 GMT", "location", "https://www.example.com"),
		pairs(":status", "200", "cache-control", "private", "date", "Mon, 21 Oct 2013 20:13:22 GMT", "location", "https://www.example.com",
			"content-encoding", "gzip", "set-cookie", "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1"),
	}
	c5Tables = [][]hf{
		pairs("location", "https://www.example.com", "date", "Mon, 21 Oct 2013 20:13:21 GMT", "cache-control", "private", ":status", "302"),
		pairs(":status", "307", "location", "https://www.example.com", "date", "Mon, 21 Oct 2013 20:13:21 GMT", "cache-control", "private"),
		pairs("set-cookie", "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1", "content-encoding", "gzip", "date", "Mon, 21 Oct 2013 20:13:22 GMT"),
	}
)

// appendixC holds the series of RFC 7541 Appendix C.3 to C.6; each series
// shares one decoder. C.5 and C.6 run with a table of 256 bytes.
var appendixC = []struct {
	name      string
	tableSize uint32
	steps     []step
}{
	{"C.3_requests", 4096, []step{
		{"8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d", c3Fields[0], c3Tables[0], 57},
		{"8286 84be 5808 6e6f 2d63 6163 6865", c3Fields[1], c3Tables[1], 110},
		{"8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65", c3Fields[2], c3Tables[2], 164},
	}},
	{"C.4_requests_huffman", 4096, []step{
		{"8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff", c3Fields[0], c3Tables[0], 57},
		{"8286 84be 5886 a8eb 1064 9cbf", c3Fields[1], c3Tables[1], 110},
		{"8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf", c3Fields[2], c3Tables[2], 164},
	}},
	{"C.5_responses", 256, []step{
		{`4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133
		  2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70
		  6c65 2e63 6f6d`, c5Fields[0], c5Tables[0], 222},
		{"4803 3330 37c1 c0bf", c5Fields[1], c5Tables[1], 222},
		{`88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d
		  54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049
		  5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e
		  3d31`, c5Fields[2], c5Tables[2], 215},
	}},
	{"C.6_responses_huffman", 256, []step{
		{`4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6
		  2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3`, c5Fields[0], c5Tables[0], 222},
		{"4883 640e ffc1 c0bf", c5Fields[1], c5Tables[1], 222},
		{`88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab
		  77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f
		  9587 3160 65c0 03ed 4ee5 b106 3d50 07`, c5Fields[2], c5Tables[2], 215},
	}},
}

// sizeUpdate is a block holding only a dynamic table size update.
func sizeUpdate(n uint32) []byte { return appendInt(nil, 0x20, 5, uint64(n)) }

func TestDecodeAppendixC(t *testing.T) {
	for _, tt := range appendixC {
		t.Run(tt.name, func(t *testing.T) {
			var d Decoder
			d.Init(tt.tableSize)
			// The peer starts at 4096 and signals the advertised size
			// (RFC 7541 §4.2); the RFC's examples begin after that.
			if err := d.Decode(sizeUpdate(tt.tableSize), &collector{}); err != nil {
				t.Fatal(err)
			}
			for i, s := range tt.steps {
				got, err := decode(&d, dehex(s.block))
				if err != nil {
					t.Fatalf("block %d: %v", i, err)
				}
				if !reflect.DeepEqual(got, s.want) {
					t.Errorf("block %d: got %v, want %v", i, got, s.want)
				}
				if tab := contents(&d.table); !reflect.DeepEqual(tab, s.wantTable) {
					t.Errorf("block %d: table %v, want %v", i, tab, s.wantTable)
				}
				if d.table.size != s.wantSize {
					t.Errorf("block %d: table size %d, want %d", i, d.table.size, s.wantSize)
				}
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name  string
		block string
		want  error
	}{
		{"index_zero", "80", errIndexZero},
		{"index_past_table", "be", errIndexRange},
		{"index_past_static_and_dynamic", "4001 6101 62 bf", errIndexRange},
		{"name_index_past_table", "7e 0161", errIndexRange},
		{"name_index_past_table_never_indexed", "1f2f 0161", errIndexRange},
		{"size_update_after_field", "82 3fe1 01", errSizeUpdateLate},
		{"size_update_after_field_empty_table", "82 20", errSizeUpdateLate},
		{"size_update_above_max", "3fe2 1f", errSizeUpdateTooHigh},
		{"integer_overflow", "ff ffff ffff ff01", errIntegerTooLong},
		{"integer_five_continuations", "ff 8080 8080 8000", errIntegerTooLong},
		{"truncated_integer", "ff", errTruncated},
		{"truncated_integer_continuation", "ff 80", errTruncated},
		{"truncated_name", "40", errTruncated},
		{"truncated_value", "40 0161", errTruncated},
		{"string_past_end", "40 0561 62", errStringPastEnd},
		{"value_past_end", "40 0161 0362", errStringPastEnd},
		{"huge_string_length", "40 7f ffff ff7f", errStringPastEnd},
		{"huffman_eos", "40 85ff ffff fffc 00", errHuffmanEOS},
		{"huffman_bad_padding", "40 8100 00", errHuffman},
		{"huffman_padding_over_7_bits", "40 821f ff 00", errHuffman},
		{"huffman_padding_only", "40 81ff 00", errHuffman},
		{"huffman_eos_in_padding", "40 8752 bc30 ffff ffff 00", errHuffmanEOS},
		{"huffman_bad_value", "40 0161 8100", errHuffman},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d Decoder
			d.Init(4096)
			_, err := decode(&d, dehex(tt.block))
			if !errors.Is(err, ErrCompression) || !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}

// Corner cases that are valid: they guard against rejecting too much.
func TestDecodeValidCorners(t *testing.T) {
	long := strings.Repeat("v", 20)
	tests := []struct {
		name      string
		blocks    []string
		want      []hf // of the last block
		wantTable []hf
	}{
		{"empty_block", []string{""}, nil, nil},
		{"two_size_updates", []string{"20 3fe1 1f 82"}, pairs(":method", "GET"), nil},
		{"size_update_to_max", []string{"3fe1 1f"}, nil, nil},
		{"four_continuation_bytes", []string{"3f 8080 8000"}, nil, nil},
		{"empty_huffman_strings", []string{"00 80 80"}, pairs("", ""), nil},
		{"huffman_seven_bits_padding", []string{"00 811f 00"}, pairs("a", ""), nil},
		{"literal_not_indexed_dynamic_name", []string{"4001 6101 78", "0f2f 0179"}, pairs("a", "y"), pairs("a", "x")},
		// RFC 7541 §4.4: the new entry's name is that of the entry its
		// insertion evicts.
		{"name_of_evicted_entry", []string{"3f21 4004 6161 6161 0178", "7e14" + hex.EncodeToString([]byte(long))},
			pairs("aaaa", long), pairs("aaaa", long)},
		{"entry_larger_than_table_empties_it", []string{"3f21 4001 6101 78", "4001 62 3f" + hex.EncodeToString([]byte(strings.Repeat("w", 63)))},
			pairs("b", strings.Repeat("w", 63)), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d Decoder
			d.Init(4096)
			var got []hf
			for i, b := range tt.blocks {
				var err error
				if got, err = decode(&d, dehex(b)); err != nil {
					t.Fatalf("block %d: %v", i, err)
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
			if tab := contents(&d.table); !reflect.DeepEqual(tab, tt.wantTable) {
				t.Errorf("table %v, want %v", tab, tt.wantTable)
			}
		})
	}
}

func TestHuffmanMatchesReference(t *testing.T) {
	for c := 0; c < 256; c++ {
		s := []byte{byte(c)}
		if got, want := appendHuffman(nil, s), hpack.AppendHuffmanString(nil, string(s)); !bytes.Equal(got, want) {
			t.Errorf("byte %#x: got %x, want %x", c, got, want)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 2000; i++ {
		s := randomBytes(r, r.IntN(64))
		enc := appendHuffman(nil, s)
		if want := hpack.AppendHuffmanString(nil, string(s)); !bytes.Equal(enc, want) {
			t.Fatalf("%q: got %x, want %x", s, enc, want)
		}
		if got, want := huffmanLen(s), int(hpack.HuffmanEncodeLength(string(s))); got != want {
			t.Fatalf("%q: huffmanLen %d, want %d", s, got, want)
		}
		dec, err := huffmanDecode(nil, enc)
		if err != nil || !bytes.Equal(dec, s) {
			t.Fatalf("%q: decoded %q, %v", s, dec, err)
		}
	}
}

// randomBytes mixes text with arbitrary bytes, which take the long codes.
func randomBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		if r.IntN(4) == 0 {
			b[i] = byte(r.IntN(256))
		} else {
			b[i] = byte(' ' + r.IntN(95))
		}
	}
	return b
}

// failingSink fails on the field numbered failAt (from 0) and records the
// fields it is given.
type failingSink struct {
	collector
	failAt int
	err    error
}

func (s *failingSink) Field(name, value []byte, sensitive bool) error {
	if len(s.fields) == s.failAt {
		s.fields = append(s.fields, hf{}) // count the call
		return s.err
	}
	return s.collector.Field(name, value, sensitive)
}

func TestDecodeSinkErrorKeepsTableInSync(t *testing.T) {
	var d Decoder
	d.Init(4096)
	sink := &failingSink{failAt: 1, err: errors.New("too many headers")}
	// :method GET, then a: 1 and b: 2 with incremental indexing.
	err := d.Decode(dehex("82 4001 6101 31 4001 6201 32"), sink)
	if err != sink.err {
		t.Fatalf("got %v, want the sink's error", err)
	}
	if len(sink.fields) != 2 {
		t.Errorf("sink called %d times, want 2 (none after its error)", len(sink.fields))
	}
	got, err := decode(&d, dehex("be bf"))
	if want := pairs("b", "2", "a", "1"); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("next block: got %v, %v, want %v", got, err, want)
	}
}

func TestDecodeCompressionErrorBeatsSinkError(t *testing.T) {
	var d Decoder
	d.Init(4096)
	err := d.Decode(dehex("82 80"), &failingSink{failAt: 0, err: errors.New("sink")})
	if !errors.Is(err, ErrCompression) {
		t.Errorf("got %v, want ErrCompression", err)
	}
}

// responseFields are realistic response fields, names in a handler's case.
var responseFields = []struct{ name, value string }{
	{"Content-Type", "text/html; charset=utf-8"},
	{"Content-Type", "application/json"},
	{"Content-Length", "1234"},
	{"Date", "Mon, 21 Oct 2013 20:13:21 GMT"},
	{"Server", "nave"},
	{"Cache-Control", "no-cache"},
	{"Cache-Control", "public, max-age=3600"},
	{"Set-Cookie", "session=7f3a9b2c; Path=/; HttpOnly; Secure"},
	{"Etag", `"5f2b-1a2b3c"`},
	{"Last-Modified", "Sun, 20 Oct 2013 10:00:00 GMT"},
	{"Location", "/login?next=%2F"},
	{"Vary", "Accept-Encoding"},
	{"Content-Encoding", "gzip"},
	{"Strict-Transport-Security", "max-age=63072000; includeSubDomains"},
	{"X-Request-Id", "b7e4a1d2-9c3f-4e5a-8b6d-1f2e3a4b5c6d"},
	{"Access-Control-Allow-Origin", "*"},
	{"accept-ranges", "bytes"},
	{"Authorization", "Bearer abc"},
}

var tableSizes = []uint32{0, 100, 256, 4096, 65536}

// TestEncoderDifferential encodes random response blocks on one encoder,
// changing the peer's table size between some of them, and decodes each
// with our Decoder and with x/net's.
func TestEncoderDifferential(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	var e Encoder
	e.Init()
	var d Decoder
	d.Init(4096)
	ref := hpack.NewDecoder(4096, nil)
	var block []byte
	statuses := []int{200, 204, 301, 302, 304, 404, 418, 500, 503, 999, 100}
	for i := 0; i < 3000; i++ {
		if r.IntN(8) == 0 {
			// Once between blocks: x/net's decoder rejects a second
			// update while its table holds entries.
			e.SetMaxTableSize(tableSizes[r.IntN(len(tableSizes))])
		}
		var want []hf
		if r.IntN(10) == 0 {
			block = e.BeginBlock(block[:0])
		} else {
			code := statuses[r.IntN(len(statuses))]
			block = e.AppendStatus(block[:0], code)
			want = append(want, hf{name: ":status", value: fmt.Sprint(code)})
		}
		for range r.IntN(10) {
			name, value := randomField(r)
			block = e.AppendField(block, name, value)
			lower := strings.ToLower(string(name))
			want = append(want, hf{lower, string(value), isSensitive(lower)})
		}
		got, err := decode(&d, block)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("block %d (%x): got %v, %v, want %v", i, block, got, err, want)
		}
		if got, err := refDecode(ref, block); err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("block %d (%x): x/net got %v, %v, want %v", i, block, got, err, want)
		}
	}
}

func isSensitive(name string) bool {
	switch name {
	case "set-cookie", "cookie", "authorization", "proxy-authorization":
		return true
	}
	return false
}

func randomField(r *rand.Rand) (name, value []byte) {
	f := responseFields[r.IntN(len(responseFields))]
	name, value = []byte(f.name), []byte(f.value)
	switch r.IntN(6) {
	case 0:
		value = randomBytes(r, r.IntN(40))
	case 1:
		value = randomBytes(r, 200+r.IntN(200)) // around maxIndexedValue
	case 2:
		name = []byte(fmt.Sprintf("X-Custom-%d", r.IntN(20)))
	}
	return name, value
}

func TestEncoderSizeUpdates(t *testing.T) {
	tests := []struct {
		name  string
		sizes []uint32
		want  string // the block's start
	}{
		{"none", nil, "88"},
		{"unchanged", []uint32{4096}, "88"},
		{"above_default_is_capped", []uint32{65536}, "88"},
		{"lower", []uint32{100}, "3f45 88"},
		{"to_zero", []uint32{0}, "20 88"},
		{"down_and_back", []uint32{0, 4096}, "20 3fe1 1f 88"},
		{"down_twice", []uint32{256, 100}, "3f45 88"},
		{"down_up_down", []uint32{100, 200, 150}, "3f45 3f77 88"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e Encoder
			e.Init()
			for _, n := range tt.sizes {
				e.SetMaxTableSize(n)
			}
			if got := e.AppendStatus(nil, 200); !bytes.Equal(got, dehex(tt.want)) {
				t.Errorf("got %x, want %x", got, dehex(tt.want))
			}
			if got := e.AppendStatus(nil, 200); !bytes.Equal(got, []byte{0x88}) {
				t.Errorf("second block: got %x, want 88", got)
			}
		})
	}
}

func TestEncoderForms(t *testing.T) {
	var e Encoder
	e.Init()
	tests := []struct {
		name, field, value string
		want               string
	}{
		{"static_name_indexed_literal", "Content-Type", "text/html", "5f87 497c a589 d34d 1f"},
		{"then_dynamic_indexed", "content-type", "text/html", "be"},
		{"never_indexed", "Set-Cookie", "a=b", "1f28 0361 3d62"},
		{"not_indexed", "Content-Length", "12", "0f0d 0231 32"},
		{"new_name", "X-A", "1", "4003 782d 6101 31"},
		{"dynamic_name_reused", "x-a", "2", "7e 0132"},
		{"long_value_not_indexed", "x-b", strings.Repeat("~", 257), "00 0378 2d62 7f82 01" + strings.Repeat("7e", 257)},
		{"long_value_was_not_added", "x-b", strings.Repeat("~", 257), "00 0378 2d62 7f82 01" + strings.Repeat("7e", 257)},
		{"empty_never_indexed_value_not_from_static_table", "Set-Cookie", "", "1f28 00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := e.AppendField(nil, []byte(tt.field), []byte(tt.value)); !bytes.Equal(got, dehex(tt.want)) {
				t.Errorf("got %x, want %x", got, dehex(tt.want))
			}
		})
	}
}

func TestEncoderStatus(t *testing.T) {
	var e Encoder
	e.Init()
	var d Decoder
	d.Init(4096)
	for _, code := range []int{200, 204, 206, 304, 400, 404, 500} {
		if got := e.AppendStatus(nil, code); len(got) != 1 {
			t.Errorf("%d: got %x, want one byte", code, got)
		}
	}
	for _, code := range []int{100, 302, 302, 999} {
		got, err := decode(&d, e.AppendStatus(nil, code))
		if want := pairs(":status", fmt.Sprint(code)); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%d: got %v, %v, want %v", code, got, err, want)
		}
	}
}

// requestBlocks are the blocks x/net's encoder makes for a browser's first
// requests on one connection: Huffman coded, the later ones mostly indexed.
func requestBlocks(t testing.TB) [][]byte {
	var buf bytes.Buffer
	enc := hpack.NewEncoder(&buf)
	paths := []string{"/", "/static/app.css", "/static/app.js", "/api/v1/items?page=2", "/favicon.ico", "/img/logo.png"}
	var blocks [][]byte
	for _, p := range paths {
		buf.Reset()
		for _, f := range []hpack.HeaderField{
			{Name: ":method", Value: "GET"},
			{Name: ":scheme", Value: "https"},
			{Name: ":authority", Value: "www.example.com"},
			{Name: ":path", Value: p},
			{Name: "user-agent", Value: "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"},
			{Name: "accept", Value: "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"},
			{Name: "accept-language", Value: "en-US,en;q=0.5"},
			{Name: "accept-encoding", Value: "gzip, deflate, br, zstd"},
			{Name: "cookie", Value: "session=7f3a9b2c4d5e6f70; theme=dark", Sensitive: true},
			{Name: "referer", Value: "https://www.example.com/"},
		} {
			if err := enc.WriteField(f); err != nil {
				t.Fatal(err)
			}
		}
		blocks = append(blocks, bytes.Clone(buf.Bytes()))
	}
	return blocks
}

// headerSink adds each field to a web.Header, as the connection does.
type headerSink struct{ h web.Header }

func (s *headerSink) Field(name, value []byte, _ bool) error {
	s.h.AddTrusted(name, value)
	return nil
}

func TestDecodeAllocs(t *testing.T) {
	blocks := requestBlocks(t)
	var d Decoder
	var s headerSink
	run := func() {
		d.Init(4096)
		for _, b := range blocks {
			s.h.Reset()
			if err := d.Decode(b, &s); err != nil {
				t.Fatal(err)
			}
		}
	}
	run()
	if s.h.Len() != 10 || string(s.h.Get(":path")) != "/img/logo.png" {
		t.Fatalf("decoded %d fields, :path %q", s.h.Len(), s.h.Get(":path"))
	}
	if n := testing.AllocsPerRun(100, run); n != 0 {
		t.Errorf("%v allocations per connection of %d blocks, want 0", n, len(blocks))
	}
}

func TestEncodeAllocs(t *testing.T) {
	var e Encoder
	e.Init()
	var dst []byte
	fields := responseFields[:6]
	run := func() {
		dst = e.AppendStatus(dst[:0], 200)
		for _, f := range fields {
			dst = e.AppendField(dst, []byte(f.name), []byte(f.value))
		}
	}
	run()
	if n := testing.AllocsPerRun(100, run); n != 0 {
		t.Errorf("%v allocations per block, want 0", n)
	}
}

// TestDecodeReferenceEncoder feeds our Decoder the blocks of x/net's
// Encoder, with its indexing, Huffman coding and table size updates, and
// compares with x/net's Decoder.
func TestDecodeReferenceEncoder(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 5))
	var buf bytes.Buffer
	enc := hpack.NewEncoder(&buf)
	enc.SetMaxDynamicTableSizeLimit(8192)
	var d Decoder
	d.Init(8192)
	ref := hpack.NewDecoder(4096, nil)
	ref.SetAllowedMaxDynamicTableSize(8192)
	for i := 0; i < 3000; i++ {
		if r.IntN(8) == 0 {
			enc.SetMaxDynamicTableSize([]uint32{0, 100, 4096, 8192}[r.IntN(4)])
		}
		buf.Reset()
		// At least one field, so that x/net's encoder sends its size
		// update in this block: two in a row trip x/net's decoder.
		for range 1 + r.IntN(12) {
			name, value := randomField(r)
			f := hpack.HeaderField{Name: strings.ToLower(string(name)), Value: string(value), Sensitive: r.IntN(10) == 0}
			if err := enc.WriteField(f); err != nil {
				t.Fatal(err)
			}
		}
		want, err := refDecode(ref, buf.Bytes())
		if err != nil {
			t.Fatalf("block %d: x/net: %v", i, err)
		}
		if got, err := decode(&d, buf.Bytes()); err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("block %d (%x): got %v, %v, want %v", i, buf.Bytes(), got, err, want)
		}
	}
}

func BenchmarkDecodeRequest(b *testing.B) {
	blocks := requestBlocks(b)
	b.Run("nave", func(b *testing.B) {
		var d Decoder
		var s headerSink
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			k := i % len(blocks)
			if k == 0 {
				d.Init(4096)
			}
			s.h.Reset()
			if err := d.Decode(blocks[k], &s); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("xnet", func(b *testing.B) {
		var d *hpack.Decoder
		var n int
		emit := func(f hpack.HeaderField) { n++ }
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			k := i % len(blocks)
			if k == 0 {
				d = hpack.NewDecoder(4096, emit)
			}
			if _, err := d.Write(blocks[k]); err != nil {
				b.Fatal(err)
			}
			if err := d.Close(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkEncodeResponse(b *testing.B) {
	fields := responseFields[:6]
	b.Run("nave", func(b *testing.B) {
		var e Encoder
		e.Init()
		var dst []byte
		b.ReportAllocs()
		for b.Loop() {
			dst = e.AppendStatus(dst[:0], 200)
			for _, f := range fields {
				dst = e.AppendField(dst, []byte(f.name), []byte(f.value))
			}
		}
	})
	// A table filled with other fields (about 60 entries) first, for
	// the cost of scanning it.
	b.Run("nave_full_table", func(b *testing.B) {
		var e Encoder
		e.Init()
		var dst []byte
		for i := range 60 {
			dst = e.AppendField(dst[:0], fmt.Appendf(nil, "x-filler-%d", i), []byte("v"))
		}
		dst = e.AppendStatus(dst[:0], 200)
		for _, f := range fields {
			dst = e.AppendField(dst, []byte(f.name), []byte(f.value))
		}
		b.ReportAllocs()
		for b.Loop() {
			dst = e.AppendStatus(dst[:0], 200)
			for _, f := range fields {
				dst = e.AppendField(dst, []byte(f.name), []byte(f.value))
			}
		}
	})
	b.Run("xnet", func(b *testing.B) {
		var buf bytes.Buffer
		e := hpack.NewEncoder(&buf)
		hfs := []hpack.HeaderField{{Name: ":status", Value: "200"}}
		for _, f := range fields {
			hfs = append(hfs, hpack.HeaderField{Name: strings.ToLower(f.name), Value: f.value})
		}
		b.ReportAllocs()
		for b.Loop() {
			buf.Reset()
			for _, f := range hfs {
				if err := e.WriteField(f); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}

// TestRequestIDNotIndexed: an X-Request-ID, new on every response, is sent
// without indexing, so that it leaves the dynamic table (and the
// connection's response-head memo, which relies on it) as they were.
func TestRequestIDNotIndexed(t *testing.T) {
	var e Encoder
	e.Init()
	b := e.AppendField(nil, []byte("content-type"), []byte("text/plain"))
	gen := e.gen
	for _, id := range []string{"0123456789abcdef0123456789abcdef", "0123456789abcdef0123456789abcdf0"} {
		b = e.AppendField(b[:0], []byte("x-request-id"), []byte(id))
		if e.gen != gen {
			t.Fatalf("x-request-id %s changed the table (gen %d → %d)", id, gen, e.gen)
		}
		if len(b) == 0 || b[0]&0xf0 != 0 {
			t.Fatalf("x-request-id encoded as %#x..., want a literal without indexing (0000xxxx)", b[:1])
		}
	}
}
