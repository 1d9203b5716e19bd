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
rate() { wrk -t2 -c"$CONNS" -d"${SECS}s" -s "$W/paths.lua" "$1" | awk '/Requests\/sec/ {print $2}'; }
N=$(rate "http://127.0.0.1:$NGINX_PORT")
A=$(rate "http://127.0.0.1:$ATLAS_PORT")
echo "tiles: $(wc -l < "$W/paths.txt"), connections: $CONNS, ${SECS}s each"
echo "nginx        $N req/s"
echo "steppe-atlas $A req/s"
python3 -c "print(f'ratio        {float($A)/float($N):.2f}x nginx')"
