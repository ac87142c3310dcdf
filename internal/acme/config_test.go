package acme

import (
	"errors"
	"slices"
	"testing"
)

func TestNormalizeNames(t *testing.T) {
	got, err := normalizeNames([]string{"Example.COM.", "www.example.com", "xn--bcher-kva.example", "a-b.c1"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"example.com", "www.example.com", "xn--bcher-kva.example", "a-b.c1"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestNormalizeNamesBad(t *testing.T) {
	long := ""
	for range 64 {
		long += "a"
	}
	tests := []struct {
		name    string
		names   []string
		wantErr error
	}{
		{"none", nil, ErrNoNames},
		{"empty", []string{""}, ErrBadName},
		{"dot_only", []string{"."}, ErrBadName},
		{"empty_label", []string{"a..example"}, ErrBadName},
		{"leading_dot", []string{".example.com"}, ErrBadName},
		{"wildcard", []string{"*.example.com"}, ErrBadName},
		{"ipv4", []string{"192.0.2.1"}, ErrBadName},
		{"ipv6", []string{"::1"}, ErrBadName},
		{"underscore", []string{"a_b.example"}, ErrBadName},
		{"space", []string{"a b.example"}, ErrBadName},
		{"slash_path", []string{"../etc/passwd"}, ErrBadName},
		{"unicode", []string{"bücher.example"}, ErrBadName},
		{"hyphen_start", []string{"-a.example"}, ErrBadName},
		{"hyphen_end", []string{"a-.example"}, ErrBadName},
		{"label_too_long", []string{long + ".example"}, ErrBadName},
		{"duplicate_case", []string{"a.example", "A.example."}, ErrDuplicateName},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := normalizeNames(tt.names)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("got %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestCheckNameTooLong(t *testing.T) {
	name := ""
	for len(name) < 254 {
		name += "abcdefghi."
	}
	name += "example"
	if err := checkName(name); err == nil {
		t.Fatalf("a %d-byte name passed", len(name))
	}
}

func TestConfigChallenges(t *testing.T) {
	tests := []struct {
		name    string
		in      []string
		want    []string
		wantErr error
	}{
		{"nil_both", nil, []string{ChallengeTLSALPN01, ChallengeHTTP01}, nil},
		{"empty_both", []string{}, []string{ChallengeTLSALPN01, ChallengeHTTP01}, nil},
		{"http_only", []string{"http-01"}, []string{"http-01"}, nil},
		{"order_kept", []string{"http-01", "tls-alpn-01"}, []string{"http-01", "tls-alpn-01"}, nil},
		{"dupes_dropped", []string{"http-01", "http-01"}, []string{"http-01"}, nil},
		{"dns01", []string{"dns-01"}, nil, ErrBadChallenge},
		{"case", []string{"HTTP-01"}, nil, ErrBadChallenge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Config{Challenges: tt.in}
			got, err := c.challenges()
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("got error %v, want %v", err, tt.wantErr)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCADirName(t *testing.T) {
	tests := []struct {
		url, want string
		wantErr   error
	}{
		{LetsEncrypt, "acme-v02.api.letsencrypt.org-directory", nil},
		{"https://acme-staging-v02.api.letsencrypt.org/directory", "acme-staging-v02.api.letsencrypt.org-directory", nil},
		{"https://127.0.0.1:14000/dir", "127.0.0.1-14000-dir", nil},
		{"https://ca.internal:9000/acme/prov_1/directory/", "ca.internal-9000-acme-prov-1-directory", nil},
		{"http://ca.example/dir", "", ErrBadCA},
		{"ca.example/dir", "", ErrBadCA},
		{"https:///dir", "", ErrBadCA},
		{"https://ca.example/%zz", "", ErrBadCA},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			got, err := caDirName(tt.url)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("got error %v, want %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCheckEmail(t *testing.T) {
	for _, ok := range []string{"", "ops@example.com", "a.b+tag@sub.example"} {
		if err := checkEmail(ok); err != nil {
			t.Errorf("checkEmail(%q) = %v, want nil", ok, err)
		}
	}
	for _, bad := range []string{"ops", "@example.com", "ops@", "a@b@c", "ops@example.com,evil@example.com", "ops@example.com?cc=x", "o ps@example.com"} {
		if err := checkEmail(bad); !errors.Is(err, ErrBadEmail) {
			t.Errorf("checkEmail(%q) = %v, want %v", bad, err, ErrBadEmail)
		}
	}
}
