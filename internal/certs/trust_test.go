package certs

import (
	"strings"
	"testing"
)

func TestTrustInstructions(t *testing.T) {
	tests := []struct {
		name, file, quoted string
	}{
		{"plain", "/home/u/.local/state/nave/ca/ca.crt", "/home/u/.local/state/nave/ca/ca.crt"},
		{"space", "/home/u/My Files/ca.crt", "'/home/u/My Files/ca.crt'"},
		{"quote", "/tmp/it's/ca.crt", `'/tmp/it'\''s/ca.crt'`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := TrustInstructions(tt.file)
			for _, want := range []string{
				tt.file,
				"curl --cacert " + tt.quoted + " https://localhost:8443/",
				"sudo cp " + tt.quoted + " /usr/local/share/ca-certificates/nave-local-ca.crt && sudo update-ca-certificates",
				"sudo security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain " + tt.quoted,
				`certutil -d sql:$HOME/.pki/nssdb -A -t C,, -n "nave local CA" -i ` + tt.quoted,
			} {
				if !strings.Contains(got, want) {
					t.Errorf("instructions lack %q:\n%s", want, got)
				}
			}
		})
	}
}
