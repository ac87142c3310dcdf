package cli

import "testing"

func TestParseSize(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{"1", 1, false},
		{"512b", 512, false},
		{"64k", 64 << 10, false},
		{"64K", 64 << 10, false},
		{"64KiB", 64 << 10, false},
		{"100m", 100 << 20, false},
		{"100MB", 100 << 20, false},
		{"2g", 2 << 30, false},
		{"", 0, true},
		{"0", 0, true},
		{"-5k", 0, true},
		{"1.5m", 0, true},
		{"10x", 0, true},
		{"k", 0, true},
		{"99999999999g", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseSize(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseSize(%q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("parseSize(%q) = %d, want %d", tt.in, got, tt.want)
			}
		})
	}
}

func TestFormatSizeRoundTrips(t *testing.T) {
	for _, n := range []int64{1, 1000, 1 << 10, 3 << 20, 100 << 20, 1 << 30, 5<<30 + 1} {
		got, err := parseSize(formatSize(n))
		if err != nil || got != n {
			t.Errorf("parseSize(formatSize(%d)) = %d, %v", n, got, err)
		}
	}
}

func TestParseServeFlagsAfterDir(t *testing.T) {
	o, err := parseServe([]string{"site", "--listen", "127.0.0.1:9", "--max-body", "1m", "--idle-timeout=5s"})
	if err != nil {
		t.Fatal(err)
	}
	if o.dir != "site" || o.server.listen != "127.0.0.1:9" || o.server.limits().MaxBodyBytes != 1<<20 || o.server.timeouts.IdleTimeout.String() != "5s" {
		t.Errorf("got dir %q listen %q max-body %d idle %v", o.dir, o.server.listen, o.server.limits().MaxBodyBytes, o.server.timeouts.IdleTimeout)
	}
}
