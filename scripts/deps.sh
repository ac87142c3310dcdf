#!/usr/bin/env bash
# Installs the Debian packages nave's tests need, or, given arguments of
# the same "package:probe" form, those packages instead (bench/deps.sh
# does). As root it installs what is missing (running apt-get update once
# first); otherwise it names what is missing and fails.
set -euo pipefail

# Package, and a command or path that shows it is installed.
needs=(
  "gcc:gcc"  # the race detector needs cgo; nave asgi builds its native adapter with it
  "python3-dev:/usr/bin/python3-config"  # Python.h, for that build
  "chromium:chromium"  # the directory listing and HTTPS with the local CA, in a headless browser
  "libnss3-tools:certutil"  # tells that browser to trust the local CA
  "curl:curl"  # a real TLS client for the HTTPS tests
  "openssl:openssl"  # openssl s_client: TLS versions and suites offered and refused
  "nghttp2-client:h2load"  # nghttp and h2load: HTTP/2 clients for the interop tests
  "nginx:nginx"  # a real proxy in front of nave on a Unix socket (internal/cli)
  # nave wsgi's tests run real apps with Debian's Python (/usr/bin/python3).
  "python3-flask:/usr/lib/python3/dist-packages/flask"
  "python3-django:/usr/lib/python3/dist-packages/django"
  "python3-pyramid:/usr/lib/python3/dist-packages/pyramid"
  # nave's ASGI prototype (internal/asgi): uvloop for the worker, FastAPI
  # (with Starlette) for its app test; uvicorn and httptools are its peer
  # in bench/asgiproto
  "python3-uvloop:/usr/lib/python3/dist-packages/uvloop"
  "python3-fastapi:/usr/lib/python3/dist-packages/fastapi"
  "python3-starlette:/usr/lib/python3/dist-packages/starlette"
  "python3-uvicorn:/usr/lib/python3/dist-packages/uvicorn"
  "python3-httptools:/usr/lib/python3/dist-packages/httptools"
  # the ASGI real-app tests: FastAPI's forms and uploads need
  # python-multipart; Quart runs as a third framework
  "python3-multipart:/usr/lib/python3/dist-packages/multipart"
  "python3-quart:/usr/lib/python3/dist-packages/quart"
  # the WebSocket tests' real client (internal/websocket)
  "python3-websockets:/usr/lib/python3/dist-packages/websockets"
  # promtool checks the metrics exposition; the prometheus server scrapes
  # nave in the metrics tests (internal/metrics)
  "prometheus:promtool"
  # the offline Kubernetes manifest check (scripts/k8s-tools.sh) runs
  # under Node.js with npm packages
  "nodejs:node"
  "npm:npm"
)
[ $# -gt 0 ] && needs=("$@")

missing=()
for entry in "${needs[@]}"; do
  pkg=${entry%%:*} probe=${entry#*:}
  if [[ $probe == /* ]]; then [ -e "$probe" ] && continue
  else command -v "$probe" >/dev/null 2>&1 && continue
  fi
  missing+=("$pkg")
done

command -v go >/dev/null 2>&1 || { echo "deps: Go is not on PATH; install Go 1.26 or later" >&2; exit 1; }
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "deps: missing Debian packages: ${missing[*]}" >&2
  echo "deps: install them with: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "== installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
