#!/usr/bin/env bash
# nave asgi against uvicorn, interleaved: both serve the same app, each
# pinned to CPU 0 (nave with its worker, GOMAXPROCS=1; uvicorn with
# httptools and uvloop), and wrk on CPU 1 loads one then the other for 4 s,
# ROUNDS times. On a machine whose speed drifts within minutes, the ratio
# of each adjacent pair says more than medians taken apart. Prints each
# pair and the median ratio.
#
# Usage: bench/asgi_ab.sh [NAVE] [ROUNDS] [APP] [PATH]
#   defaults: bin/bench/nave, 8, asgi_hello:app (bench/apps), /
# Environment: CONNS (default 64), e.g. CONNS=256 bench/asgi_ab.sh bin/bench/nave 6 asgi_io:app
set -euo pipefail
cd "$(dirname "$0")/.."
nave=${1:-bin/bench/nave} rounds=${2:-8} app=${3:-asgi_hello:app} path=${4:-/} conns=${CONNS:-64}
GOMAXPROCS=1 taskset -c 0 "$nave" asgi --listen 127.0.0.1:18091 --workers 1 --python /usr/bin/python3 \
  --chdir bench/apps --access-log off "$app" >/dev/null 2>&1 &
np=$!
taskset -c 0 /usr/bin/python3 -m uvicorn --host 127.0.0.1 --port 18092 --http httptools --loop uvloop \
  --no-access-log --log-level warning --backlog 1024 --app-dir bench/apps "$app" >/dev/null 2>&1 &
up=$!
trap 'kill $np $up 2>/dev/null; wait 2>/dev/null' EXIT
for port in 18091 18092; do
  for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$port$path" && break; sleep 0.1; done
  taskset -c 1 wrk -t1 -c"$conns" -d2s "http://127.0.0.1:$port$path" >/dev/null
done
rps() { taskset -c 1 wrk -t1 -c"$conns" -d4s "http://127.0.0.1:$1$path" | awk '/Requests\/sec/{print $2}'; }
for _ in $(seq "$rounds"); do
  a=$(rps 18091) b=$(rps 18092)
  awk -v a="$a" -v b="$b" 'BEGIN { printf "nave %.0f uvicorn %.0f ratio %.3f\n", a, b, a / b }'
done | tee /dev/stderr | awk '{print $6}' | sort -n | awk '{r[NR] = $1}
  END { m = NR % 2 ? r[(NR + 1) / 2] : (r[NR / 2] + r[NR / 2 + 1]) / 2
        printf "%s, %d connections: median ratio %.3f (%.3f to %.3f)\n", "'"$app"'", '"$conns"', m, r[1], r[NR] }'
