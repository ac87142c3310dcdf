package tlsfiles

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"os"
	"strings"
	"testing"
	"time"
)

func TestMake(t *testing.T) {
	now := time.Now()
	f, err := Make(t.TempDir(), now)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.LoadX509KeyPair(f.Cert, f.Key)
	if err != nil {
		t.Fatalf("the key does not go with the certificate: %v", err)
	}
	key, ok := pair.PrivateKey.(*ecdsa.PrivateKey)
	if !ok || key.Curve != elliptic.P256() {
		t.Errorf("key: got %T, want an ECDSA P-256 key", pair.PrivateKey)
	}
	leaf := pair.Leaf
	for _, host := range []string{"localhost", "127.0.0.1", "::1"} {
		if err := leaf.VerifyHostname(host); err != nil {
			t.Errorf("certificate does not cover %s: %v", host, err)
		}
	}
	if !leaf.NotAfter.After(now.Add(24 * time.Hour)) {
		t.Errorf("certificate expires %v, before a long run could end", leaf.NotAfter)
	}
	if st, err := os.Stat(f.Key); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("key file: got %v (%v), want mode 0600", st.Mode().Perm(), err)
	}
	conf, err := os.ReadFile(f.WrkConf)
	if err != nil || !strings.Contains(string(conf), "\nCiphersuites = TLS_AES_128_GCM_SHA256\n") {
		t.Errorf("wrk's OpenSSL configuration: got %q (%v)", conf, err)
	}
}
