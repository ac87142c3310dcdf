package certs

import (
	"fmt"
	"strings"
)

// TrustInstructions returns the text nave prints after creating the local
// CA: where its certificate is and how to make clients trust it. caFile is
// shell-quoted where needed so each command can be pasted as is.
func TrustInstructions(caFile string) string {
	f := shellQuote(caFile)
	return fmt.Sprintf(`nave's local CA certificate is %s
Certificates it issues are trusted by clients that trust it:

  one request with curl:
    curl --cacert %s https://localhost:8443/

  Debian, Ubuntu (system store: curl, wget, most programs):
    sudo cp %s /usr/local/share/ca-certificates/nave-local-ca.crt && sudo update-ca-certificates

  macOS (system keychain: Safari, Chrome, curl):
    sudo security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain %s

  Chromium and Firefox on Linux (NSS database; needs libnss3-tools):
    certutil -d sql:$HOME/.pki/nssdb -A -t C,, -n "nave local CA" -i %s

Anyone holding the CA's private key, next to that file, can impersonate any
site to a client that trusts it: keep it private, and remove the CA from
the trust stores when you no longer need it.
`, caFile, f, f, f, f)
}

// shellQuote quotes s for a POSIX shell unless it is made only of
// characters that need no quoting.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+=:@,%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
