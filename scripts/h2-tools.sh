#!/usr/bin/env bash
# Installs h2spec, the HTTP/2 conformance suite that internal/cli's
# interop tests run against the real binary, pinned to one version, into
# GOBIN (or $(go env GOPATH)/bin) when it is missing there or of another
# version. (h2load and nghttp, the other HTTP/2 clients, are Debian's:
# deps.sh installs them.)
set -euo pipefail

# h2spec has no go.mod: "+incompatible" is how Go names its v2 tags. Its
# --version says 2.0.0 whatever the tag; the module version is the truth.
version=v2.2.1+incompatible
bin="$(go env GOBIN)"
[ -n "$bin" ] || bin="$(go env GOPATH)/bin"

# go version -m names the module version a binary was built from.
if [ -x "$bin/h2spec" ] &&
   [ "$(go version -m "$bin/h2spec" | awk '$1 == "mod" { print $3 }')" = "$version" ]; then
  exit 0
fi
echo "== installing h2spec@$version" >&2
go install "github.com/summerwind/h2spec/cmd/h2spec@$version"
