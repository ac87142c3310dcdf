package certs

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"net"
	"slices"
	"testing"
)

func TestCertNames(t *testing.T) {
	tests := []struct {
		name string
		leaf x509.Certificate
		want []string
	}{
		{"dns_and_ip", x509.Certificate{DNSNames: []string{"A.test.", "*.b.test"},
			IPAddresses: []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")}},
			[]string{"a.test", "*.b.test", "127.0.0.1", "::1"}},
		{"cn_ignored_with_sans", x509.Certificate{Subject: pkix.Name{CommonName: "cn.test"},
			DNSNames: []string{"san.test"}}, []string{"san.test"}},
		{"cn_without_sans", x509.Certificate{Subject: pkix.Name{CommonName: "CN.test"}}, []string{"cn.test"}},
		{"ip_cn_without_sans", x509.Certificate{Subject: pkix.Name{CommonName: "10.0.0.1"}}, []string{"10.0.0.1"}},
		{"nothing", x509.Certificate{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := leafNames(&tt.leaf); !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestNamesOverlap(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"a.test", "a.test", true},
		{"a.test", "b.test", false},
		{"*.w.test", "www.w.test", true},
		{"www.w.test", "*.w.test", true},
		{"*.w.test", "*.w.test", true},
		{"*.w.test", "w.test", false},
		{"*.w.test", "a.b.w.test", false},
		{"*.w.test", "*.x.w.test", false},
		{"127.0.0.1", "127.0.0.1", true},
	}
	for _, tt := range tests {
		if got := namesOverlap(tt.a, tt.b); got != tt.want {
			t.Errorf("namesOverlap(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}
