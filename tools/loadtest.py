#!/usr/bin/env python3
"""Short load test of `steppe-atlas serve` on 127.0.0.1: N connections asking for
uncached z8 tiles for a few seconds, with /health probed alongside.

Prints connections held, status counts, p50/p99 latency, /health's worst latency,
and the server's peak resident memory and thread count.

    python3 tools/loadtest.py --bin target/release/steppe-atlas --conns 256 --seconds 10 --cache-mb 64
"""
import argparse, http.client, random, subprocess, threading, time, re

ap = argparse.ArgumentParser()
ap.add_argument("--bin", default="target/release/steppe-atlas")
ap.add_argument("--conns", type=int, default=256)
ap.add_argument("--seconds", type=float, default=10)
ap.add_argument("--cache-mb", type=int, default=64)
a = ap.parse_args()

srv = subprocess.Popen([a.bin, "serve", "--addr", "127.0.0.1:0", "--cache-mb", str(a.cache_mb)],
                       stderr=subprocess.PIPE, text=True)
line = srv.stderr.readline()
addr = re.search(r"http://([^/]+)/", line).group(1)
host, port = addr.split(":")
port = int(port)

lat, ok_lat, statuses, lock = [], [], {}, threading.Lock()
held = [0]
stop = time.time() + a.seconds

def worker(seed):
    rnd = random.Random(seed)
    c = None
    while time.time() < stop:
        try:
            if c is None:
                c = http.client.HTTPConnection(host, port, timeout=30)
                c.connect()
                with lock:
                    held[0] += 1
            year = rnd.randint(1635, 1741)
            x, y = rnd.randint(161, 194), rnd.randint(78, 102)
            t0 = time.time()
            c.request("GET", f"/tiles/{year}/8/{x}/{y}.png")
            r = c.getresponse()
            r.read()
            dt = time.time() - t0
            with lock:
                lat.append(dt)
                if r.status == 200:
                    ok_lat.append(dt)
                statuses[r.status] = statuses.get(r.status, 0) + 1
            if r.status == 503:
                time.sleep(float(r.getheader("Retry-After", "1")) * rnd.random())
        except Exception as e:
            with lock:
                statuses[type(e).__name__] = statuses.get(type(e).__name__, 0) + 1
            c = None

health = []
def prober():
    while time.time() < stop:
        t0 = time.time()
        try:
            c = http.client.HTTPConnection(host, port, timeout=10)
            c.request("GET", "/health")
            ok = c.getresponse().status == 200
            c.close()
        except Exception:
            ok = False
        health.append((time.time() - t0, ok))
        time.sleep(0.2)

peak = {"rss": 0, "threads": 0}
def sampler():
    while srv.poll() is None and time.time() < stop + 1:
        try:
            st = open(f"/proc/{srv.pid}/status").read()
            peak["rss"] = max(peak["rss"], int(re.search(r"VmHWM:\s+(\d+)", st).group(1)))
            peak["threads"] = max(peak["threads"], int(re.search(r"Threads:\s+(\d+)", st).group(1)))
        except Exception:
            pass
        time.sleep(0.1)

ts = [threading.Thread(target=worker, args=(i,)) for i in range(a.conns)]
ts += [threading.Thread(target=prober), threading.Thread(target=sampler)]
for t in ts: t.start()
for t in ts: t.join()
srv.kill(); srv.wait()

lat.sort()
ok_lat.sort()
q = lambda p, l=lat: l[min(len(l) - 1, int(p * len(l)))] if l else float("nan")
print(f"connections held: {held[0]} of {a.conns}")
print(f"responses: {sum(v for k, v in statuses.items() if isinstance(k, int))} {statuses}")
print(f"latency p50 {q(0.5)*1000:.0f} ms, p99 {q(0.99)*1000:.0f} ms, max {lat[-1]*1000 if lat else 0:.0f} ms")
print(f"200s only: p50 {q(0.5, ok_lat)*1000:.0f} ms, p99 {q(0.99, ok_lat)*1000:.0f} ms")
print(f"/health: {sum(ok for _, ok in health)}/{len(health)} ok, worst {max(d for d, _ in health)*1000:.0f} ms")
print(f"server peak RSS {peak['rss']/1024:.0f} MB, peak threads {peak['threads']}")
