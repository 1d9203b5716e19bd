#!/usr/bin/env python3
"""The 107-frame animation (1635..1741, key frames + GIF, as compare_anim.py runs it)
against one frame of the same size (`render`), whole processes, median of N runs,
interleaved between binaries so that machine noise hits both (issue 11: aim <= 25x).

    python3 tools/bench_anim.py [--bins A B ...] [--runs 5] [--size 640x400] [--instructions]

`--instructions` also counts each binary's instructions once under valgrind's callgrind
(both cores' work summed; steady on a machine shared with other jobs, unlike wall time).
"""
import argparse, os, resource, shutil, statistics, subprocess, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(HERE, "..", "..", "shared", "bench", "anim_fixture")
ap = argparse.ArgumentParser()
ap.add_argument("--bins", nargs="+", default=[os.path.join(HERE, "..", "target", "release", "steppe-atlas")])
ap.add_argument("--runs", type=int, default=5)
ap.add_argument("--size", default="640x400")
ap.add_argument("--data", default=FIXTURE)
ap.add_argument("--instructions", action="store_true")
a = ap.parse_args()
w, h = a.size.split("x")
tmp = tempfile.mkdtemp(prefix="bench-anim-")


def run(cmd):
    """Wall and CPU (user + sys) seconds of one whole process."""
    r0, t0 = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    r1, t1 = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    return t1 - t0, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)


def instructions(cmd):
    """Instructions of one whole process (all threads), counted by callgrind."""
    out = os.path.join(tmp, "callgrind.out")
    r = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"] + cmd,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=True)
    refs = [l for l in r.stderr.splitlines() if "Collected" in l]
    return int(refs[-1].split(":")[-1].strip().replace(",", ""))


def anim_cmd(b):
    return [b, "frames", "--data", a.data, "--from", "1635", "--to", "1741", "--width", w, "--height", h,
            "--projection", "lcc", "--out", os.path.join(tmp, "frames"), "--gif", os.path.join(tmp, "a.gif")]


def one_cmd(b):
    return [b, "render", "--data", a.data, "--year", "1723", "--width", w, "--height", h, "--projection", "lcc",
            "--out", os.path.join(tmp, "one.png")]


times = {b: {"anim": [], "one": []} for b in a.bins}
try:
    for _ in range(a.runs):
        for b in a.bins:
            out = os.path.join(tmp, "frames")
            shutil.rmtree(out, ignore_errors=True)
            times[b]["anim"].append(run(anim_cmd(b)))
            times[b]["one"].append(run(one_cmd(b)))
    for b in a.bins:
        med = lambda k, i: statistics.median(t[i] for t in times[b][k])
        an, one, an_cpu, one_cpu = med("anim", 0), med("one", 0), med("anim", 1), med("one", 1)
        print(f"{b}: animation {an:.3f} s ({an_cpu:.3f} s CPU), one frame {one:.3f} s ({one_cpu:.3f} s CPU), "
              f"ratio {an / one:.1f}x wall, {an_cpu / one_cpu:.1f}x CPU")
    if a.instructions:
        for b in a.bins:
            shutil.rmtree(os.path.join(tmp, "frames"), ignore_errors=True)
            an, one = instructions(anim_cmd(b)), instructions(one_cmd(b))
            print(f"{b}: animation {an / 1e9:.2f} G instructions, one frame {one / 1e9:.3f} G, ratio {an / one:.1f}x")
finally:
    shutil.rmtree(tmp, ignore_errors=True)
