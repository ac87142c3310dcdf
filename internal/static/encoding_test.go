package static

import "testing"

func TestParseAcceptEncoding(t *testing.T) {
	tests := []struct {
		name, v string
		want    accepted
	}{
		{"chrome", "gzip, deflate, br, zstd", accepted{0, 1000, 1000, 1000}},
		{"weights", "br;q=0.5, gzip;q=0.8", accepted{0, 500, 0, 800}},
		{"x_gzip", "x-gzip", accepted{0, 0, 0, 1000}},
		{"case", "GZIP, Br", accepted{0, 1000, 0, 1000}},
		{"refused", "br;q=0, gzip", accepted{0, 0, 0, 1000}},
		{"star", "*", accepted{0, 1000, 1000, 1000}},
		{"star_except", "*;q=0.5, br;q=0", accepted{0, 0, 500, 500}},
		{"identity_only", "identity", accepted{}},
		{"bad_q_skipped", "br;q=2, gzip;q=abc, zstd;q=0.25", accepted{0, 0, 250, 0}},
		{"params_and_ows", " gzip ; q=1.0 ;foo=bar ", accepted{0, 0, 0, 1000}},
		{"empty", "", accepted{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parseAcceptEncoding([]byte(tt.v)); got != tt.want {
				t.Errorf("parseAcceptEncoding(%q) = %v, want %v", tt.v, got, tt.want)
			}
		})
	}
}

func TestChoose(t *testing.T) {
	e := &entry{}
	e.enc[br] = &rep{coding: br}
	e.enc[gz] = &rep{coding: gz, generated: true}
	tests := []struct {
		name   string
		acc    accepted
		ranged bool
		want   coding
	}{
		{"nothing_accepted", accepted{}, false, identity},
		{"all_equal_prefers_br", accepted{0, 1000, 1000, 1000}, false, br},
		{"weights_win", accepted{0, 500, 0, 900}, false, gz},
		{"missing_coding", accepted{0, 0, 1000, 0}, false, identity},
		{"generated_not_for_ranges", accepted{0, 0, 0, 1000}, true, identity},
		{"sidecar_for_ranges", accepted{0, 1000, 0, 1000}, true, br},
	}
	for _, tt := range tests {
		if got := e.choose(&tt.acc, tt.ranged); got.coding != tt.want {
			t.Errorf("%s: chose %s, want %s", tt.name, codingNames[got.coding], codingNames[tt.want])
		}
	}
}
