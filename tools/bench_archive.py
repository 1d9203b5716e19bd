#!/usr/bin/env python3
"""How fast `serve --tiles` answers from each kind of export, against rendering on demand.

Exports the built-in atlas (two years, --zoom 0..Z) as XYZ, MBTiles and PMTiles into a
temporary folder with the binary's `tiles` command, then for each export, and for the
rendering server (cold, then warm from its cache), asks for every tile of the export
over keep-alive connections (several threads) and prints requests/s and p50/p99 latency.

    python3 tools/bench_archive.py --bin target/release/steppe-atlas --zoom 6 --threads 4
"""
import argparse, http.client, os, re, statistics, subprocess, tempfile, threading, time

ap = argparse.ArgumentParser()
ap.add_argument("--bin", default="target/release/steppe-atlas")
ap.add_argument("--zoom", type=int, default=6)
ap.add_argument("--threads", type=int, default=4)
ap.add_argument("--rounds", type=int, default=3, help="passes over the tiles per export")
a = ap.parse_args()
years = (1723, 1724)


def start(args):
    srv = subprocess.Popen([a.bin, "serve", "--addr", "127.0.0.1:0", *args], stderr=subprocess.PIPE, text=True)
    while True:
        line = srv.stderr.readline()
        if not line:
            raise SystemExit("serve stopped: " + " ".join(args))
        m = re.search(r"serving on http://([^/]+)/", line)
        if m:
            host, port = m.group(1).split(":")
            return srv, host, int(port)


def run(host, port, uris):
    lat, bad, lock = [], [0], threading.Lock()
    chunks = [uris[i::a.threads] for i in range(a.threads)]

    def worker(mine):
        c = http.client.HTTPConnection(host, port, timeout=60)
        local = []
        for u in mine:
            t = time.perf_counter()
            c.request("GET", u)
            r = c.getresponse()
            r.read()
            local.append(time.perf_counter() - t)
            if r.status != 200:
                with lock:
                    bad[0] += 1
        with lock:
            lat.extend(local)

    t0 = time.perf_counter()
    ts = [threading.Thread(target=worker, args=(ch,)) for ch in chunks]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    wall = time.perf_counter() - t0
    lat.sort()
    return len(uris) / wall, statistics.median(lat) * 1e3, lat[int(len(lat) * 0.99) - 1] * 1e3, bad[0]


with tempfile.TemporaryDirectory() as tmp:
    for f in ("xyz", "mbtiles", "pmtiles"):
        subprocess.run([a.bin, "tiles", "--years", f"{years[0]}..{years[1]}", "--zoom", f"0..{a.zoom}",
                        "--format", f, "--out", os.path.join(tmp, f)], check=True, capture_output=True)
    uris = []
    for y in years:
        base = os.path.join(tmp, "xyz", str(y))
        for root, _, files in os.walk(base):
            for name in files:
                z, x = os.path.relpath(root, base).split(os.sep)
                uris.append(f"/tiles/{y}/{z}/{x}/{name}")
    uris.sort()
    size = {f: sum(os.path.getsize(os.path.join(dp, n)) for dp, _, ns in os.walk(os.path.join(tmp, f)) for n in ns)
            for f in ("xyz", "mbtiles", "pmtiles")}
    print(f"{len(uris)} tiles ({len(years)} years, z0..{a.zoom}), {a.threads} keep-alive connections, "
          f"{a.rounds} passes each")
    print(f"{'source':<22} {'tiles/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'non-200':>8}")
    for f in ("xyz", "mbtiles", "pmtiles"):
        srv, host, port = start(["--tiles", os.path.join(tmp, f)])
        try:
            res = [run(host, port, uris) for _ in range(a.rounds)]
            best = max(res, key=lambda r: r[0])
            print(f"{f + ' (' + str(size[f] // 1024) + ' KiB)':<22} {best[0]:>9.0f} {best[1]:>8.2f} {best[2]:>8.2f} {best[3]:>8}")
        finally:
            srv.kill()
            srv.wait()
    srv, host, port = start([])
    try:
        cold = run(host, port, uris)
        warm = max((run(host, port, uris) for _ in range(a.rounds)), key=lambda r: r[0])
        print(f"{'rendered, cold':<22} {cold[0]:>9.0f} {cold[1]:>8.2f} {cold[2]:>8.2f} {cold[3]:>8}")
        print(f"{'rendered, cached':<22} {warm[0]:>9.0f} {warm[1]:>8.2f} {warm[2]:>8.2f} {warm[3]:>8}")
    finally:
        srv.kill()
        srv.wait()
