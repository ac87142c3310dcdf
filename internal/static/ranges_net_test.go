package static_test

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"nave/internal/static"
	"nave/internal/wiretest"
)

// TestRangeRequests runs each case against a small file (served from
// memory) and a large one (sent from the file with sendfile).
func TestRangeRequests(t *testing.T) {
	dir := t.TempDir()
	small, large := bigContent(1000), bigContent(300<<10)
	os.WriteFile(filepath.Join(dir, "small.bin"), small, 0o644)
	os.WriteFile(filepath.Join(dir, "large.bin"), large, 0o644)
	srv, _ := serve(t, static.Config{Dir: dir}, true)

	for _, f := range []struct {
		name    string
		content []byte
	}{{"small.bin", small}, {"large.bin", large}} {
		size := int64(len(f.content))
		sz := strconv.FormatInt(size, 10)
		t.Run(f.name, func(t *testing.T) {
			single := []struct {
				name, rng  string
				start, end int64 // inclusive
			}{
				{"first_bytes", "bytes=0-99", 0, 99},
				{"middle", "bytes=500-599", 500, 599},
				{"open_ended", "bytes=900-", 900, size - 1},
				{"suffix", "bytes=-100", size - 100, size - 1},
				{"last_past_end", "bytes=950-99999999", 950, size - 1},
				{"whole_by_suffix", "bytes=-99999999", 0, size - 1},
				{"one_byte", "bytes=0-0", 0, 0},
			}
			for _, tt := range single {
				t.Run(tt.name, func(t *testing.T) {
					r := get(t, srv, "/"+f.name, "Range: "+tt.rng)
					expect(t, r, 206, string(f.content[tt.start:tt.end+1]))
					want := "bytes " + strconv.FormatInt(tt.start, 10) + "-" + strconv.FormatInt(tt.end, 10) + "/" + sz
					if got := r.Get("Content-Range"); got != want {
						t.Errorf("Content-Range %q, want %q", got, want)
					}
				})
			}
			t.Run("unsatisfiable", func(t *testing.T) {
				r := get(t, srv, "/"+f.name, "Range: bytes="+sz+"-")
				expect(t, r, 416, "")
				if got := r.Get("Content-Range"); got != "bytes */"+sz {
					t.Errorf("Content-Range %q", got)
				}
			})
			t.Run("ignored", func(t *testing.T) {
				for _, rng := range []string{"bytes=abc", "lines=0-1", "bytes=0-999999,0-999999"} {
					expect(t, get(t, srv, "/"+f.name, "Range: "+rng), 200, string(f.content))
				}
			})
			t.Run("multipart", func(t *testing.T) {
				ranges := [][2]int64{{0, 9}, {100, 199}, {size - 5, size - 1}}
				r := get(t, srv, "/"+f.name, "Range: bytes=0-9, 100-199, -5")
				expect(t, r, 206, "")
				checkMultipart(t, r, f.content, ranges)
			})
			t.Run("if_range", func(t *testing.T) {
				etag := get(t, srv, "/"+f.name).Get("ETag")
				expect(t, get(t, srv, "/"+f.name, "Range: bytes=0-1", "If-Range: "+etag), 206, string(f.content[:2]))
				expect(t, get(t, srv, "/"+f.name, "Range: bytes=0-1", `If-Range: "stale"`), 200, string(f.content))
			})
			t.Run("head", func(t *testing.T) {
				r := request(t, srv, "HEAD", "/"+f.name, "Range: bytes=0-9")
				if r.Status != 206 || r.Get("Content-Length") != "10" {
					t.Errorf("HEAD with Range:\n%s", r.Head)
				}
			})
		})
	}
}

func checkMultipart(t *testing.T, r *wiretest.Response, content []byte, ranges [][2]int64) {
	t.Helper()
	mt, params, err := mime.ParseMediaType(r.Get("Content-Type"))
	if err != nil || mt != "multipart/byteranges" {
		t.Fatalf("Content-Type %q: %v", r.Get("Content-Type"), err)
	}
	if n, _ := strconv.Atoi(r.Get("Content-Length")); n != len(r.Body) {
		t.Fatalf("Content-Length %s, body %d bytes", r.Get("Content-Length"), len(r.Body))
	}
	mr := multipart.NewReader(bytes.NewReader(r.Body), params["boundary"])
	size := strconv.Itoa(len(content))
	for i, rg := range ranges {
		p, err := mr.NextPart()
		if err != nil {
			t.Fatalf("part %d: %v", i, err)
		}
		got, _ := io.ReadAll(p)
		if !bytes.Equal(got, content[rg[0]:rg[1]+1]) {
			t.Errorf("part %d: %d bytes differ", i, len(got))
		}
		want := "bytes " + strconv.FormatInt(rg[0], 10) + "-" + strconv.FormatInt(rg[1], 10) + "/" + size
		if cr := p.Header.Get("Content-Range"); cr != want {
			t.Errorf("part %d Content-Range %q, want %q", i, cr, want)
		}
	}
	if _, err := mr.NextPart(); err != io.EOF {
		t.Errorf("after the last part: %v", err)
	}
}

// TestFileOver4GiB serves a sparse 5 GiB file: its length, a range past
// 4 GiB (through sendfile), and a suffix range.
func TestFileOver4GiB(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "huge.bin")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	const size = 5 << 30
	const at = 4<<30 + 100
	marker := []byte("past four gibibytes")
	if err := f.Truncate(size); err != nil {
		f.Close()
		t.Skipf("cannot make a sparse 5 GiB file here: %v", err)
	}
	f.WriteAt(marker, at)
	f.WriteAt([]byte("THE END"), size-7)
	f.Close()
	srv, _ := serve(t, static.Config{Dir: dir}, true)

	r := request(t, srv, "HEAD", "/huge.bin")
	if r.Status != 200 || r.Get("Content-Length") != "5368709120" {
		t.Fatalf("HEAD:\n%s", r.Head)
	}
	rng := "bytes=" + strconv.Itoa(at) + "-" + strconv.Itoa(at+len(marker)-1)
	r = get(t, srv, "/huge.bin", "Range: "+rng)
	expect(t, r, 206, string(marker))
	if want := "bytes 4294967396-4294967414/5368709120"; r.Get("Content-Range") != want {
		t.Errorf("Content-Range %q, want %q", r.Get("Content-Range"), want)
	}
	expect(t, get(t, srv, "/huge.bin", "Range: bytes=-7"), 206, "THE END")
	r = get(t, srv, "/huge.bin", "Range: bytes=0-1, 5368709113-")
	expect(t, r, 206, "")
	checkMultipartPrefix(t, r, [][]byte{{0, 0}, []byte("THE END")})
}

func checkMultipartPrefix(t *testing.T, r *wiretest.Response, parts [][]byte) {
	t.Helper()
	_, params, _ := mime.ParseMediaType(r.Get("Content-Type"))
	mr := multipart.NewReader(bytes.NewReader(r.Body), params["boundary"])
	for i, want := range parts {
		p, err := mr.NextPart()
		if err != nil {
			t.Fatalf("part %d: %v", i, err)
		}
		if got, _ := io.ReadAll(p); !bytes.Equal(got, want) {
			t.Errorf("part %d = %q, want %q", i, got, want)
		}
	}
}
