package certs

import (
	"bytes"
	"context"
	"crypto/tls"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

func policyServer(t *testing.T, o Options) (*tlsServer, *testCA) {
	t.Helper()
	root := newTestRoot(t)
	s := NewStore(nil)
	if err := s.LoadFiles([]Pair{writePair(t, t.TempDir(), "ec",
		root.leaf(t, leafSpec{names: []string{"localhost", "127.0.0.1"}}))}); err != nil {
		t.Fatal(err)
	}
	cfg, err := ServerConfig(s, o)
	if err != nil {
		t.Fatal(err)
	}
	return startTLS(t, cfg), root
}

func TestPolicyGoClient(t *testing.T) {
	srv, _ := policyServer(t, Options{NextProtos: []string{"http/1.1"}})
	tests := []struct {
		name        string
		min, max    uint16
		suites      []uint16
		wantVersion uint16 // 0: the handshake must fail
	}{
		{"tls1.0_refused", tls.VersionTLS10, tls.VersionTLS10, nil, 0},
		{"tls1.1_refused", tls.VersionTLS10, tls.VersionTLS11, nil, 0},
		{"tls1.2_cbc_refused", tls.VersionTLS12, tls.VersionTLS12,
			[]uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256}, 0},
		{"tls1.2_rsa_key_exchange_refused", tls.VersionTLS12, tls.VersionTLS12,
			[]uint16{tls.TLS_RSA_WITH_AES_128_GCM_SHA256}, 0},
		{"tls1.2_ecdhe_ecdsa_aes128_gcm", tls.VersionTLS12, tls.VersionTLS12,
			[]uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}, tls.VersionTLS12},
		{"tls1.2_ecdhe_ecdsa_chacha20", tls.VersionTLS12, tls.VersionTLS12,
			[]uint16{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256}, tls.VersionTLS12},
		{"tls1.3", tls.VersionTLS13, tls.VersionTLS13, nil, tls.VersionTLS13},
		{"any_gets_tls1.3", 0, 0, nil, tls.VersionTLS13},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := &tls.Config{ServerName: "localhost", InsecureSkipVerify: true,
				MinVersion: tt.min, MaxVersion: tt.max, CipherSuites: tt.suites,
				NextProtos: []string{"h2", "http/1.1"}}
			c, cerr, serr := srv.dial(t, client)
			if tt.wantVersion == 0 {
				if cerr == nil || serr == nil {
					t.Fatalf("got client %v, server %v; want the handshake refused", cerr, serr)
				}
				if want := refusalFor(tt.suites != nil); !strings.Contains(serr.Error(), want) {
					t.Errorf("got server error %q, want it to contain %q", serr, want)
				}
				return
			}
			if cerr != nil || serr != nil {
				t.Fatalf("handshake failed: client %v, server %v", cerr, serr)
			}
			st := c.ConnectionState()
			if st.Version != tt.wantVersion {
				t.Errorf("got version %x, want %x", st.Version, tt.wantVersion)
			}
			if st.NegotiatedProtocol != "http/1.1" {
				t.Errorf("got ALPN %q, want %q", st.NegotiatedProtocol, "http/1.1")
			}
		})
	}
}

// The config a security review reads: every TLS 1.2 suite is ECDHE with an
// AEAD cipher, and the curves are the ones documented.
func TestServerConfigPolicy(t *testing.T) {
	cfg, err := ServerConfig(NewStore(nil), Options{NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MinVersion != tls.VersionTLS12 || cfg.MaxVersion != tls.VersionTLS13 {
		t.Errorf("got versions %x..%x, want TLS 1.2..1.3", cfg.MinVersion, cfg.MaxVersion)
	}
	insecure := tls.InsecureCipherSuites()
	for _, id := range cfg.CipherSuites {
		name := tls.CipherSuiteName(id)
		if !strings.HasPrefix(name, "TLS_ECDHE_") || !(strings.Contains(name, "_GCM_") || strings.Contains(name, "CHACHA20")) {
			t.Errorf("suite %s is not ECDHE with AEAD", name)
		}
		if slices.ContainsFunc(insecure, func(s *tls.CipherSuite) bool { return s.ID == id }) {
			t.Errorf("suite %s is in crypto/tls's insecure list", name)
		}
	}
	if want := []tls.CurveID{tls.X25519MLKEM768, tls.X25519, tls.CurveP256}; !slices.Equal(cfg.CurvePreferences, want) {
		t.Errorf("got curves %v, want %v", cfg.CurvePreferences, want)
	}
	if cfg.SessionTicketsDisabled {
		t.Error("session tickets are off")
	}
	if cfg.GetCertificate == nil {
		t.Error("no GetCertificate")
	}
}

// The same policy as seen by another implementation, OpenSSL's s_client.
func TestPolicyOpenSSL(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed")
	}
	srv, _ := policyServer(t, Options{NextProtos: []string{"http/1.1"}})
	tests := []struct {
		name    string
		args    []string
		refused string // what the server says when it refuses; "": it accepts
	}{
		// SECLEVEL=0 makes OpenSSL 3 offer TLS 1.1 at all, so the refusal
		// below is the server's.
		{"tls1.1_refused", []string{"-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"}, "unsupported versions"},
		{"tls1.2_cbc_refused", []string{"-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA"}, "no cipher suite supported"},
		{"tls1.2_gcm", []string{"-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256"}, ""},
		{"tls1.3", []string{"-tls1_3"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), safety)
			defer cancel()
			args := append([]string{"s_client", "-connect", srv.addr, "-servername", "localhost",
				"-alpn", "http/1.1"}, tt.args...)
			cmd := exec.CommandContext(ctx, "openssl", args...)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			cmd.Stdin = strings.NewReader("")
			cerr := cmd.Run()
			r := srv.result(t)
			if tt.refused == "" {
				if cerr != nil || r.err != nil {
					t.Fatalf("handshake failed: openssl %v, server %v\n%s", cerr, r.err, out.Bytes())
				}
				if !strings.Contains(out.String(), "ALPN protocol: http/1.1") {
					t.Errorf("openssl did not negotiate http/1.1:\n%s", out.Bytes())
				}
				return
			}
			if cerr == nil || r.err == nil {
				t.Fatalf("got openssl %v, server %v; want the server to refuse\n%s", cerr, r.err, out.Bytes())
			}
			if !strings.Contains(r.err.Error(), tt.refused) {
				t.Errorf("got server error %q, want it to contain %q", r.err, tt.refused)
			}
		})
	}
}

// refusalFor is what crypto/tls says when it refuses a client for its
// cipher suites or else for its versions.
func refusalFor(suites bool) string {
	if suites {
		return "no cipher suite supported"
	}
	return "unsupported versions"
}
