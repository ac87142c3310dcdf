#!/usr/bin/env bash
# Installs the ACME test CA that internal/acme's integration tests run:
# Pebble and pebble-challtestsrv, pinned to one version, into
# $(go env GOPATH)/bin when they are missing there or of another version. The tests call this
# script themselves, so `go test ./internal/acme/` works alone; the test
# command may call it first to keep installs out of the timed run.
set -euo pipefail

version=v2.10.3
bin="$(go env GOPATH)/bin"

for tool in pebble pebble-challtestsrv; do
  # go version -m names the module version a binary was built from.
  if [ -x "$bin/$tool" ] &&
     go version -m "$bin/$tool" | grep -q "github.com/letsencrypt/pebble/v2[[:space:]]*$version"; then
    continue
  fi
  echo "== installing $tool@$version" >&2
  go install "github.com/letsencrypt/pebble/v2/cmd/$tool@$version"
done
