#!/usr/bin/env python3
"""Bytes and time of the bench fixture's 304 tiles as palette PNG and as lossless WebP.

Usage (from the project's root, after `cargo build --release`):
    python3 tools/bench_webp.py [--bin target/release/steppe-atlas] [--repeat 5] [--mapnik]

Renders ../shared/bench/fixture (year 1700, z0..7, every tile touching the data: the
tiles of `compare.py --only tiles`) once per format on one core (RAYON_NUM_THREADS=1),
and prints `key: value` lines: tile count, bytes, median wall time and CPU time of the
whole process, and, with Pillow, how many WebP tiles decode to exactly their PNG's
pixels (the rest are the PNGs quantised to 256 colours: the WebP keeps every rendered
colour) and the largest difference. `--mapnik` also runs Mapnik's side of compare.py
(needs python3-mapnik) for its bytes of the same tiles.
"""
import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "..", "shared", "bench")
FIXTURE = os.path.join(BENCH, "fixture")


def run(cmd, env):
    """Wall and CPU seconds of one run of `cmd`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, env=env)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{r.stderr.decode()[-2000:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def tiles_of(root, ext):
    out = {}
    for d, _, fs in os.walk(root):
        for f in fs:
            if f.endswith("." + ext):
                p = os.path.join(d, f)
                out[os.path.relpath(p, root)[: -len(ext) - 1]] = p
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "target/release/steppe-atlas"))
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--mapnik", action="store_true", help="also run Mapnik for its bytes")
    a = ap.parse_args()
    env = dict(os.environ, RAYON_NUM_THREADS="1")
    tmp = tempfile.mkdtemp(prefix="steppe-webp-")
    try:
        found = {}
        for image in ["png", "webp"]:
            out = os.path.join(tmp, image)
            cmd = [a.bin, "tiles", "--data", FIXTURE, "--years", "1700", "--zoom", "0..7",
                   "--format", "xyz", "--out", out, "--image", image]
            run(cmd, env)  # warm-up
            runs = [run(cmd, env) for _ in range(a.repeat)]
            tiles = tiles_of(out, image)
            found[image] = tiles
            size = sum(os.path.getsize(p) for p in tiles.values())
            print(f"{image}_tiles_count: {len(tiles)}")
            print(f"{image}_tiles_bytes: {size}")
            print(f"{image}_tiles_s: {statistics.median(r[0] for r in runs):.3f}")
            print(f"{image}_tiles_cpu_s: {statistics.median(r[1] for r in runs):.3f}")
        png, webp = found["png"], found["webp"]
        if sorted(png) != sorted(webp):
            sys.exit("the PNG and WebP runs wrote different tiles")
        try:
            from PIL import Image
        except ImportError:
            Image = None
        if Image is not None:
            exact, worst = 0, 0
            for k in png:
                p = Image.open(png[k]).convert("RGBA").tobytes()
                w = Image.open(webp[k]).convert("RGBA").tobytes()
                if p == w:
                    exact += 1
                else:
                    worst = max(worst, max(abs(x - y) for x, y in zip(p, w)))
            print(f"webp_equal_to_png_tiles: {exact} of {len(png)}")
            print(f"png_quantised_max_channel_diff: {worst}")
        png_b = sum(os.path.getsize(p) for p in png.values())
        webp_b = sum(os.path.getsize(p) for p in webp.values())
        print(f"webp_over_png_bytes: {webp_b / png_b:.3f}")
        if a.mapnik:
            r = subprocess.run(["/usr/bin/python3", os.path.join(BENCH, "bench_mapnik.py"), "--repeat", "1"],
                               capture_output=True, text=True, cwd=BENCH)
            m = re.search(r"tiles_bytes: ([0-9]+)", r.stdout)
            if r.returncode != 0 or not m:
                sys.exit("mapnik benchmark failed (is python3-mapnik installed?):\n" + r.stderr[-2000:])
            print(f"mapnik_tiles_bytes: {m.group(1)}")
            print(f"webp_over_mapnik_bytes: {webp_b / int(m.group(1)):.3f}")
            print(f"png_over_mapnik_bytes: {png_b / int(m.group(1)):.3f}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
