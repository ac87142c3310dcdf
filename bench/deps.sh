#!/usr/bin/env bash
# Installs the Debian packages the benchmarks need (not the tests: those are
# scripts/deps.sh's defaults), through the same installer.
set -euo pipefail
exec "$(dirname "$0")/../scripts/deps.sh" \
  "nginx:nginx" \
  "caddy:caddy" \
  "haproxy:haproxy" \
  "h2o:h2o" \
  "wrk:wrk" \
  "nghttp2-client:h2load" \
  "gunicorn:gunicorn" \
  "uwsgi:uwsgi" \
  "uwsgi-plugin-python3:/usr/lib/uwsgi/plugins/python3_plugin.so" \
  "python3-flask:/usr/lib/python3/dist-packages/flask/__init__.py" \
  "python3-daphne:/usr/lib/python3/dist-packages/daphne/__init__.py" \
  "python3-hypercorn:/usr/lib/python3/dist-packages/hypercorn/__init__.py" \
  "gnuplot-nox:gnuplot" \
  "util-linux:taskset"
