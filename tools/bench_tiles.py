#!/usr/bin/env python3
"""107 years of tiles against one year (issue 11: aim <= 10x): `tiles --zoom 0..6` for
1635..1741 and for 1700 alone, whole processes, median of N runs, interleaved so that
machine noise hits both; wall and CPU (user + system) seconds, and the run's own report
(tiles written, tiles drawn).

    python3 tools/bench_tiles.py [--bin target/release/steppe-atlas] [--runs 3] [--zoom 0..6] [--phases]

With --phases, one more run of each on one thread (RAYON_NUM_THREADS=1) with
STEPPE_ATLAS_TIMING=1 prints the thread time of each phase (record, rasterise, encode,
write) and the century's ratio to one year for each.

With --instructions, one more run of each under callgrind on one thread counts the
instructions executed (the same count on every run, where CPU time on a shared machine
moves by a tenth or more between runs); it needs valgrind and takes a few minutes.
"""
import argparse, os, re, resource, shutil, statistics, subprocess, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
ap = argparse.ArgumentParser()
ap.add_argument("--bin", default=os.path.join(HERE, "..", "target", "release", "steppe-atlas"))
ap.add_argument("--runs", type=int, default=3)
ap.add_argument("--zoom", default="0..6")
ap.add_argument("--format", default="mbtiles")
ap.add_argument("--phases", action="store_true", help="also print each phase's thread time on one thread")
ap.add_argument("--instructions", action="store_true", help="also count instructions under callgrind (one thread)")
a = ap.parse_args()
tmp = tempfile.mkdtemp(prefix="bench-tiles-")


def run(years):
    out = os.path.join(tmp, "out")
    shutil.rmtree(out, ignore_errors=True)
    cmd = [a.bin, "tiles", "--zoom", a.zoom, "--format", a.format, "--out", out]
    if years:
        cmd += ["--years", years]
    r0, t0 = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    p = subprocess.run(cmd, check=True, capture_output=True, text=True)
    r1, t1 = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    said = re.search(r"\d+ tiles for .*", p.stderr)
    return t1 - t0, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime), said.group(0) if said else ""


times = {"one": [], "century": []}
said = {}
for _ in range(a.runs):
    for name, years in (("one", "1700"), ("century", None)):
        wall, cpu, line = run(years)
        times[name].append((wall, cpu))
        said[name] = line
med = {k: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v)) for k, v in times.items()}
for k in ("one", "century"):
    print(f"{k:8} wall {med[k][0]:.3f} s  cpu {med[k][1]:.3f} s  ({said[k]})")
print(f"ratio    wall {med['century'][0] / med['one'][0]:.1f}x  cpu {med['century'][1] / med['one'][1]:.1f}x")
# The least CPU time of the runs: the one least disturbed by the rest of the machine.
low = {k: min(c for _, c in v) for k, v in times.items()}
print(f"least    cpu one {low['one']:.3f} s  century {low['century']:.3f} s  ({low['century'] / low['one']:.1f}x)")


def phases(years):
    out = os.path.join(tmp, "out")
    shutil.rmtree(out, ignore_errors=True)
    cmd = [a.bin, "tiles", "--zoom", a.zoom, "--format", a.format, "--out", out]
    if years:
        cmd += ["--years", years]
    env = dict(os.environ, STEPPE_ATLAS_TIMING="1", RAYON_NUM_THREADS="1")
    p = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
    return {k: float(v) for k, v in re.findall(r"(record|rasterise|encode|write) (\d+) ms", p.stderr)}


if a.phases:
    one, century = phases("1700"), phases(None)
    for k in ("record", "rasterise", "encode", "write"):
        if k in one and k in century:
            ratio = century[k] / one[k] if one[k] else float("inf")
            print(f"{k:9} one {one[k]:6.0f} ms  century {century[k]:6.0f} ms  ({ratio:.1f}x, one thread)")


def instructions(years):
    out = os.path.join(tmp, "out")
    shutil.rmtree(out, ignore_errors=True)
    log = os.path.join(tmp, "callgrind.out")
    cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={log}", a.bin, "tiles", "--zoom", a.zoom,
           "--format", a.format, "--out", out]
    if years:
        cmd += ["--years", years]
    env = dict(os.environ, RAYON_NUM_THREADS="1")
    p = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
    return int(re.search(r"Collected : (\d+)", p.stderr).group(1))


if a.instructions:
    if shutil.which("valgrind") is None:
        print("instructions: valgrind is not installed")
    else:
        one, century = instructions("1700"), instructions(None)
        print(f"instr    one {one / 1e9:.3f} G  century {century / 1e9:.3f} G  ({century / one:.2f}x, one thread)")
shutil.rmtree(tmp, ignore_errors=True)
