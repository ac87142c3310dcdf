package acme

import (
	"crypto/tls"
	"testing"
)

func TestHTTPChallenge(t *testing.T) {
	m := &Manager{chal: newChallenges()}
	m.chal.putHTTP("tok-1", "tok-1.thumb")
	tests := []struct {
		path, want string
		ok         bool
	}{
		{"/.well-known/acme-challenge/tok-1", "tok-1.thumb", true},
		{"/.well-known/acme-challenge/tok-2", "", false},
		{"/.well-known/acme-challenge/", "", false},
		{"/.well-known/acme-challenge/tok-1/x", "", false},
		{"/.well-known/acme-challenge", "", false},
		{"/tok-1", "", false},
		{"/x/.well-known/acme-challenge/tok-1", "", false},
	}
	for _, tt := range tests {
		got, ok := m.HTTPChallenge(tt.path)
		if got != tt.want || ok != tt.ok {
			t.Errorf("HTTPChallenge(%q) = %q, %v; want %q, %v", tt.path, got, ok, tt.want, tt.ok)
		}
	}
	m.chal.deleteHTTP("tok-1")
	if _, ok := m.HTTPChallenge("/.well-known/acme-challenge/tok-1"); ok {
		t.Error("a deleted token still answers")
	}
}

func TestTLSALPNCertificate(t *testing.T) {
	m := &Manager{chal: newChallenges()}
	want := &tls.Certificate{}
	m.chal.putALPN("a.example", want)
	tests := []struct {
		name   string
		server string
		protos []string
		ok     bool
	}{
		{"challenge", "a.example", []string{ALPNProto}, true},
		{"challenge_case_dot", "A.Example.", []string{ALPNProto}, true},
		{"other_name", "b.example", []string{ALPNProto}, false},
		{"browser", "a.example", []string{"h2", "http/1.1"}, false},
		{"acme_among_others", "a.example", []string{"h2", ALPNProto}, false},
		{"no_alpn", "a.example", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := m.TLSALPNCertificate(&tls.ClientHelloInfo{ServerName: tt.server, SupportedProtos: tt.protos})
			if ok != tt.ok || (ok && got != want) || (!ok && got != nil) {
				t.Fatalf("got %p, %v; want ok=%v", got, ok, tt.ok)
			}
		})
	}
}
