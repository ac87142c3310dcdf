#!/usr/bin/env bash
# Where an ASGI request's CPU goes: nave's Go front against its Python
# worker. Runs `nave asgi` with one worker pinned to CPU 0 (GOMAXPROCS=1),
# loads it with wrk on CPU 1 for 5 s after a 2 s warm-up, and prints
# req/s, wrk's latency, and the CPU time of each process per request,
# from /proc/PID/stat.
#
# Usage: bench/asgi_split.sh [NAVE] [APP] [CONNS] [PATH]
#   defaults: bin/bench/nave, asgi_hello:app (bench/apps), 64, /
# e.g. bench/asgi_split.sh bin/bench/nave asgi_io:app 256
#      bench/asgi_split.sh bin/bench/nave fastapi_hello:app 64 /file
# Environment: GOMAXPROCS (default 1) for the Go front, NAVE_FLAGS for more
# `nave asgi` flags (e.g. NAVE_FLAGS="--request-id off").
set -euo pipefail
cd "$(dirname "$0")/.."
nave=${1:-bin/bench/nave} app=${2:-asgi_hello:app} conns=${3:-64} path=${4:-/}
port=18099
GOMAXPROCS=${GOMAXPROCS:-1} taskset -c 0 "$nave" asgi --listen 127.0.0.1:$port --workers 1 --python /usr/bin/python3 \
  --chdir bench/apps --access-log off ${NAVE_FLAGS:-} "$app" >/dev/null 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait 2>/dev/null' EXIT
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$port$path" && break; sleep 0.1; done
taskset -c 1 wrk -t1 -c"$conns" -d2s "http://127.0.0.1:$port$path" >/dev/null
worker=$(pgrep -P $pid python3 | head -1)
ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
g0=$(ticks $pid); p0=$(ticks "$worker")
out=$(taskset -c 1 wrk -t1 -c"$conns" -d5s "http://127.0.0.1:$port$path")
g1=$(ticks $pid); p1=$(ticks "$worker")
rps=$(awk '/Requests\/sec/{print $2}' <<<"$out")
echo "$app, $conns connections: $rps req/s; $(awk '/Latency/{print "latency mean "$2", p-max "$4}' <<<"$out")"
awk -v g=$((g1-g0)) -v p=$((p1-p0)) -v hz="$hz" -v r="$rps" 'BEGIN {
  n = r * 5
  printf "CPU per request: Go %.1f µs, Python %.1f µs; both processes used %.0f%% of CPU 0\n",
    g / hz / n * 1e6, p / hz / n * 1e6, (g + p) / hz / 5 * 100 }'
