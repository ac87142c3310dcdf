package static

import (
	"testing"
	"time"
)

func TestParseHTTPDate(t *testing.T) {
	want := time.Date(1994, 11, 6, 8, 49, 37, 0, time.UTC).Unix()
	tests := []struct {
		name, in string
		ok       bool
	}{
		{"imf_fixdate", "Sun, 06 Nov 1994 08:49:37 GMT", true},
		{"rfc850", "Sunday, 06-Nov-94 08:49:37 GMT", true},
		{"asctime", "Sun Nov  6 08:49:37 1994", true},
		{"ows", "  Sun, 06 Nov 1994 08:49:37 GMT ", true},
		{"not_gmt", "Sun, 06 Nov 1994 08:49:37 UTC", false},
		{"bad_month", "Sun, 06 Nox 1994 08:49:37 GMT", false},
		{"bad_hour", "Sun, 06 Nov 1994 28:49:37 GMT", false},
		{"garbage", "yesterday", false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseHTTPDate([]byte(tt.in))
			if ok != tt.ok || ok && got != want {
				t.Errorf("parseHTTPDate(%q) = %d, %v; want %d, %v", tt.in, got, ok, want, tt.ok)
			}
		})
	}
}

func TestEtagMatch(t *testing.T) {
	tests := []struct {
		name, list, etag string
		weak, want       bool
	}{
		{"strong_equal", `"a"`, `"a"`, false, true},
		{"strong_in_list", `"x", "a" ,"y"`, `"a"`, false, true},
		{"strong_differs", `"b"`, `"a"`, false, false},
		{"strong_vs_weak_theirs", `W/"a"`, `"a"`, false, false},
		{"strong_vs_weak_ours", `"a"`, `W/"a"`, false, false},
		{"weak_theirs", `W/"a"`, `"a"`, true, true},
		{"weak_ours", `"a"`, `W/"a"`, true, true},
		{"star", `*`, `"a"`, false, true},
		{"star_no_etag", `*`, ``, false, true},
		{"no_etag", `"a"`, ``, true, false},
		{"unquoted", `a`, `"a"`, true, false},
		{"unterminated", `"a`, `"a"`, true, false},
		{"comma_inside", `"a,b"`, `"a,b"`, false, true},
		{"empty_items", `, ,"a"`, `"a"`, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := etagMatch([]byte(tt.list), tt.etag, tt.weak); got != tt.want {
				t.Errorf("etagMatch(%q, %q, weak %v) = %v, want %v", tt.list, tt.etag, tt.weak, got, tt.want)
			}
		})
	}
}

func TestPreconditions(t *testing.T) {
	const lastMod = "Sun, 06 Nov 1994 08:49:37 GMT"
	rp := &rep{etag: `"v1"`, lastMod: lastMod, modSec: time.Date(1994, 11, 6, 8, 49, 37, 0, time.UTC).Unix()}
	later, earlier := "Mon, 07 Nov 1994 08:49:37 GMT", "Sat, 05 Nov 1994 08:49:37 GMT"
	tests := []struct {
		name string
		rq   reqInfo
		want int
	}{
		{"none", reqInfo{}, 0},
		{"if_match_ok", reqInfo{ifMatch: []byte(`"v1"`)}, 0},
		{"if_match_fails", reqInfo{ifMatch: []byte(`"v0"`)}, 412},
		{"if_match_weak_fails", reqInfo{ifMatch: []byte(`W/"v1"`)}, 412},
		{"if_unmodified_since_ok", reqInfo{ifUnmodSince: []byte(lastMod)}, 0},
		{"if_unmodified_since_fails", reqInfo{ifUnmodSince: []byte(earlier)}, 412},
		{"if_unmodified_since_bad_date", reqInfo{ifUnmodSince: []byte("soon")}, 0},
		{"if_match_overrides_ius", reqInfo{ifMatch: []byte(`"v1"`), ifUnmodSince: []byte(earlier)}, 0},
		{"if_none_match_hit", reqInfo{ifNoneMatch: []byte(`"v0", "v1"`)}, 304},
		{"if_none_match_weak_hit", reqInfo{ifNoneMatch: []byte(`W/"v1"`)}, 304},
		{"if_none_match_miss", reqInfo{ifNoneMatch: []byte(`"v0"`)}, 0},
		{"if_modified_since_same", reqInfo{ifModSince: []byte(lastMod)}, 304},
		{"if_modified_since_later", reqInfo{ifModSince: []byte(later)}, 304},
		{"if_modified_since_earlier", reqInfo{ifModSince: []byte(earlier)}, 0},
		{"if_modified_since_rfc850", reqInfo{ifModSince: []byte("Sunday, 06-Nov-94 08:49:37 GMT")}, 304},
		{"inm_overrides_ims", reqInfo{ifNoneMatch: []byte(`"v0"`), ifModSince: []byte(later)}, 0},
		{"if_match_before_inm", reqInfo{ifMatch: []byte(`"v0"`), ifNoneMatch: []byte(`"v1"`)}, 412},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := preconditions(&tt.rq, rp); got != tt.want {
				t.Errorf("got %d, want %d", got, tt.want)
			}
		})
	}
}

func TestIfRange(t *testing.T) {
	const lastMod = "Sun, 06 Nov 1994 08:49:37 GMT"
	rp := &rep{etag: `"v1"`, lastMod: lastMod, modSec: time.Date(1994, 11, 6, 8, 49, 37, 0, time.UTC).Unix()}
	weak := &rep{etag: `W/"v1"`}
	tests := []struct {
		name, v string
		rp      *rep
		want    bool
	}{
		{"etag_match", `"v1"`, rp, true},
		{"etag_differs", `"v0"`, rp, false},
		{"weak_given", `W/"v1"`, rp, false},
		{"weak_ours", `"v1"`, weak, false},
		{"date_exact", lastMod, rp, true},
		{"date_later", "Mon, 07 Nov 1994 08:49:37 GMT", rp, false},
		{"garbage", "whenever", rp, false},
	}
	for _, tt := range tests {
		if got := ifRangeHolds([]byte(tt.v), tt.rp); got != tt.want {
			t.Errorf("%s: ifRangeHolds(%q) = %v, want %v", tt.name, tt.v, got, tt.want)
		}
	}
}
