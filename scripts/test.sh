#!/usr/bin/env bash
# The one test command (README, CI): installs what the tests need, then runs
# the gofmt check, go vet, and every test (unit, integration, fuzz seeds)
# with the race detector.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/deps.sh
./scripts/acme-tools.sh  # Pebble, the ACME test CA (a Go program)
./scripts/h2-tools.sh    # h2spec, the HTTP/2 conformance suite (a Go program)
./scripts/k8s-tools.sh   # the offline Kubernetes schema check (npm packages)

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi

echo "== go vet"
go vet ./...

# go test -artifacts keeps what tests write to t.ArtifactDir(), as the
# status page's screenshot in headless Chromium, under test-artifacts/
# (gitignored, emptied first); their paths are printed as the script
# ends, passed or failed.
artifacts="$PWD/test-artifacts"
rm -rf "$artifacts" && mkdir -p "$artifacts"
show_artifacts() {
  find "$artifacts" -type f -name status.png | sort | while read -r f; do
    echo "status page screenshot: ${f#"$PWD"/}"
  done
}
trap show_artifacts EXIT

echo "== go test"
go test -race -count=1 -artifacts -outputdir "$artifacts" ./...

# Every allocation test, without -race: the race detector makes sync.Pool
# drop items, so under it they skip or count differently (the proxy's, a
# request's path through client, proxy and upstream, only run here).
echo "== allocation tests without -race"
go test -count=1 -run 'Alloc' ./...

# The ASGI suite again with the workers running adapter.py alone, as where
# nave cannot build the adapter's native part (no compiler or headers).
echo "== go test, ASGI without the native adapter"
NAVE_TEST_ASGI_NATIVE=off go test -count=1 ./internal/asgi

echo "== go test over TLS"
NAVE_TEST_TLS=1 go test -race -count=1 ./internal/static ./internal/wsgi ./internal/asgi

# The handler suites over HTTP/2: h2c with prior knowledge, and h2 by ALPN
# over TLS, the way browsers reach nave (about 25 s each with -race).
echo "== go test over HTTP/2 (h2c)"
NAVE_TEST_H2=1 go test -race -count=1 ./internal/static ./internal/wsgi ./internal/asgi

echo "== go test over HTTP/2 over TLS (h2)"
NAVE_TEST_H2=1 NAVE_TEST_TLS=1 go test -race -count=1 ./internal/static ./internal/wsgi ./internal/asgi
