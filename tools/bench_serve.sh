#!/usr/bin/env bash
# Cached tiles per second from `steppe-atlas serve` against nginx serving the same tiles
# exported by `tiles --format xyz` (issue 11: aim >= 0.7x nginx). Loopback only, bounded.
#
#   tools/bench_serve.sh [BIN] [SECONDS] [CONNECTIONS]      (YEARS=1718..1729 by default)
#
# Needs wrk and nginx (apt-get install wrk nginx). Prints requests/s of both and the ratio.
set -euo pipefail
BIN=${1:-target/release/steppe-atlas}
SECS=${2:-10}
CONNS=${3:-64}
BIN=$(realpath "$BIN")
W=$(mktemp -d /tmp/bench_serve.XXXXXX)
NGINX_PORT=${NGINX_PORT:-18911}
ATLAS_PORT=${ATLAS_PORT:-18912}
cleanup() {
  [ -f "$W/nginx.pid" ] && kill "$(cat "$W/nginx.pid")" 2>/dev/null || true
  [ -n "${SRV:-}" ] && kill "$SRV" 2>/dev/null || true
  rm -rf "$W"
}
trap cleanup EXIT
YEARS=${YEARS:-1718..1729}
"$BIN" tiles --years "$YEARS" --zoom 0..6 --format xyz --out "$W/tiles" >/dev/null 2>&1
(cd "$W/tiles" && find . -name '*.png' | sed 's|^\./|/tiles/|' | shuf --random-source=<(yes)) > "$W/paths.txt"
cat > "$W/paths.lua" <<LUA
local paths = {}
for line in io.lines("$W/paths.txt") do paths[#paths + 1] = line end
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i % #paths) + 1])
end
LUA
cat > "$W/nginx.conf" <<NGX
worker_processes 2;
pid $W/nginx.pid;
error_log $W/nginx-error.log;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  types { image/png png; }
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location /tiles/ { alias $W/tiles/; add_header Cache-Control "public, max-age=86400"; }
  }
}
NGX
nginx -c "$W/nginx.conf"
"$BIN" serve --addr 127.0.0.1:$ATLAS_PORT --cache-mb 256 2>"$W/serve.log" &
SRV=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$ATLAS_PORT/health" >/dev/null && break; sleep 0.1; done
# Warm the server's cache with every tile once (one keep-alive connection).
python3 - "$ATLAS_PORT" "$W/paths.txt" <<'PY'
import http.client, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=60)
for p in open(sys.argv[2]).read().split():
    c.request("GET", p)
    r = c.getresponse(); r.read()
    assert r.status == 200, (p, r.status)
PY
# CPU ticks (user + sys) of the given processes, to report CPU time per request: less
# noisy than requests/s on a machine shared with other work.
ticks() { local t=0; for p in "$@"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done; echo $t; }
# Prints "requests/s requests"; the server's CPU ticks go to $W/ticks.
rate() {
  local url=$1; shift
  local t0; t0=$(ticks "$@")
  wrk -t2 -c"$CONNS" -d"${SECS}s" -s "$W/paths.lua" "$url" > "$W/wrk.txt"
  echo $(( $(ticks "$@") - t0 )) > "$W/ticks"
  awk '/Requests\/sec/ {r=$2} /requests in/ {n=$1} END {print r, n}' "$W/wrk.txt"
}
HZ=$(getconf CLK_TCK)
NGINX_PIDS=$(pgrep -P "$(cat "$W/nginx.pid")" | tr '\n' ' ')
read -r N NN < <(rate "http://127.0.0.1:$NGINX_PORT" $NGINX_PIDS); NT=$(cat "$W/ticks")
read -r A AN < <(rate "http://127.0.0.1:$ATLAS_PORT" "$SRV"); AT=$(cat "$W/ticks")
echo "tiles: $(wc -l < "$W/paths.txt"), connections: $CONNS, ${SECS}s each"
python3 - "$N" "$NN" "$NT" "$A" "$AN" "$AT" "$HZ" <<'PY'
import sys
n, nn, nt, a, an, at, hz = (float(v) for v in sys.argv[1:])
print(f"nginx        {n:9.0f} req/s  {nt / hz / nn * 1e6:6.1f} us CPU a request")
print(f"steppe-atlas {a:9.0f} req/s  {at / hz / an * 1e6:6.1f} us CPU a request")
print(f"ratio        {a / n:.2f}x nginx's requests/s, {(nt / nn) / (at / an):.2f}x its CPU efficiency")
PY
