#!/usr/bin/env python3
"""Hostile-data sweep: mutate a copy of the built-in atlas in many malformed ways and
run every data-loading subcommand on each, flagging panics, hangs, multi-line or
nameless errors, and output files left behind by a failed run.

    python3 tools/hostile_sweep.py [--bin target/release/steppe-atlas] [--only NAME] [--keep DIR]

Prints one line per (case, command) that looks wrong and a summary; exit 1 if any.
Not run in CI (it takes minutes); the cases it found are pinned in tests/.
"""
import argparse
import copy
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GEO = os.path.join(ROOT, "geodata")
LAYERS = ["territories", "cities", "battles", "campaigns", "rivers", "water", "landforms", "events"]


def load(d, layer):
    with open(os.path.join(d, layer + ".geojson"), encoding="utf-8") as f:
        return json.load(f)


def save(d, layer, doc):
    with open(os.path.join(d, layer + ".geojson"), "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, allow_nan=True)


def write_raw(d, name, data):
    mode = "wb" if isinstance(data, bytes) else "w"
    with open(os.path.join(d, name), mode) as f:
        f.write(data)


def mutate_feature(layer, fn, idx=0):
    def m(d):
        doc = load(d, layer)
        fn(doc["features"][idx])
        save(d, layer, doc)
    return m


def set_geom(layer, geom, idx=0):
    def f(ft):
        ft["geometry"] = geom
    return mutate_feature(layer, f, idx)


def set_prop(layer, key, value, idx=0):
    def f(ft):
        if value is DELETE:
            ft["properties"].pop(key, None)
        else:
            ft["properties"][key] = value
    return mutate_feature(layer, f, idx)


DELETE = object()


def set_coord(layer, value, which=0, idx=0):
    """Set one coordinate number (lon if which=0, lat if 1) of the first position."""
    def f(ft):
        g = ft["geometry"]
        c = g["coordinates"]
        while isinstance(c[0], list):
            parent, c = c, c[0]
        c[which] = value
    return mutate_feature(layer, f, idx)


def raw_text(layer, text):
    return lambda d: write_raw(d, layer + ".geojson", text)


def atlas_edit(fn):
    def m(d):
        p = os.path.join(d, "atlas.json")
        with open(p, encoding="utf-8") as f:
            a = json.load(f)
        fn(a)
        with open(p, "w", encoding="utf-8") as f:
            json.dump(a, f, ensure_ascii=False, allow_nan=True)
    return m


def many_points(n):
    def m(d):
        feats = [{"type": "Feature", "properties": {"id": f"c{i}", "name": f"C{i}", "kind": "city"},
                  "geometry": {"type": "Point", "coordinates": [50 + (i % 4000) * 0.01, 40 + (i // 4000) * 0.05]}}
                 for i in range(n)]
        save(d, "cities", {"type": "FeatureCollection", "features": feats})
    return m


def sq(x, y, s):
    return [[x, y], [x + s, y], [x + s, y + s], [x, y + s], [x, y]]


def rm(layer):
    return lambda d: os.remove(os.path.join(d, layer + ".geojson"))


def dup_id(d):
    doc = load(d, "cities")
    doc["features"][1]["properties"]["id"] = doc["features"][0]["properties"]["id"]
    save(d, "cities", doc)


def dup_id_across(d):
    c = load(d, "cities")
    r = load(d, "rivers")
    r["features"][0]["properties"]["id"] = c["features"][0]["properties"]["id"]
    save(d, "rivers", r)


def only_atlas(d):
    for layer in LAYERS:
        os.remove(os.path.join(d, layer + ".geojson"))


CASES = {
    # JSON syntax and encoding
    "truncated-json": lambda d: write_raw(d, "cities.geojson", open(os.path.join(GEO, "cities.geojson")).read()[:5000]),
    "bom-utf8": lambda d: write_raw(d, "cities.geojson", b"\xef\xbb\xbf" + open(os.path.join(GEO, "cities.geojson"), "rb").read()),
    "utf16": lambda d: write_raw(d, "cities.geojson", open(os.path.join(GEO, "cities.geojson"), encoding="utf-8").read().encode("utf-16")),
    "deep-nesting": raw_text("cities", "[" * 100000),
    "deep-nesting-in-coords": raw_text("cities", '{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"id":"x"},"geometry":{"type":"Point","coordinates":' + "[" * 100000 + "]" * 100000 + "}}]}"),
    "huge-one-string": raw_text("cities", '"' + "a" * (50 * 1024 * 1024) + '"'),
    "empty-file": raw_text("cities", ""),
    "not-a-collection": raw_text("cities", '{"type":"Feature","properties":{"id":"x"},"geometry":null}'),
    "features-not-array": raw_text("cities", '{"type":"FeatureCollection","features":{}}'),
    "json-null": raw_text("cities", "null"),
    "invalid-utf8": lambda d: write_raw(d, "cities.geojson", open(os.path.join(GEO, "cities.geojson"), "rb").read().replace(b"Turkistan", b"Turk\xffstan", 1)),
    # numbers
    "nan-coord": set_coord("cities", float("nan")),
    "inf-coord": set_coord("cities", float("inf")),
    "1e400-coord": raw_text("cities", '{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"id":"x","name":"X","kind":"city"},"geometry":{"type":"Point","coordinates":[1e400,40]}}]}'),
    "neg-zero-coord": set_coord("cities", -0.0),
    "lat-91": set_coord("cities", 91.0, 1),
    "lat-86-mercator": set_coord("cities", 86.0, 1),
    "lat-86-territory": set_coord("territories", 86.0, 1),
    "lon-181": set_coord("cities", 181.0, 0),
    "lon-minus-181-water": set_coord("water", -181.0, 0),
    "antimeridian-route": set_geom("campaigns", {"type": "LineString", "coordinates": [[179, 50], [-179, 50]]}),
    "antimeridian-polygon": set_geom("water", {"type": "Polygon", "coordinates": [[[179, 50], [-179, 50], [-179, 51], [179, 51], [179, 50]]]}),
    "coord-string": set_geom("cities", {"type": "Point", "coordinates": ["68", "43"]}),
    "coord-3d": set_geom("cities", {"type": "Point", "coordinates": [68.27, 43.3, 200]}),
    "coord-1d": set_geom("cities", {"type": "Point", "coordinates": [68.27]}),
    "coord-empty": set_geom("cities", {"type": "Point", "coordinates": []}),
    # rings
    "empty-ring": set_geom("water", {"type": "Polygon", "coordinates": [[]]}),
    "no-rings": set_geom("water", {"type": "Polygon", "coordinates": []}),
    "one-point-ring": set_geom("water", {"type": "Polygon", "coordinates": [[[60, 45]]]}),
    "two-point-ring": set_geom("water", {"type": "Polygon", "coordinates": [[[60, 45], [61, 45]]]}),
    "three-point-closed-ring": set_geom("water", {"type": "Polygon", "coordinates": [[[60, 45], [61, 45], [60, 45]]]}),
    "unclosed-ring": set_geom("water", {"type": "Polygon", "coordinates": [[[60, 45], [61, 45], [61, 46], [60, 46]]]}),
    "self-touching-ring": set_geom("water", {"type": "Polygon", "coordinates": [[[60, 45], [62, 45], [61, 46], [62, 47], [60, 47], [61, 46], [60, 45]]]}),
    "hole-outside-shell": set_geom("water", {"type": "Polygon", "coordinates": [sq(60, 45, 1), sq(70, 45, 1)]}),
    "multipolygon-empty-member": set_geom("water", {"type": "MultiPolygon", "coordinates": [[], [sq(60, 45, 1)]]}),
    "multiline-empty-member": set_geom("rivers", {"type": "MultiLineString", "coordinates": [[], [[60, 45], [61, 46]]]}),
    "multipoint-city": set_geom("cities", {"type": "MultiPoint", "coordinates": [[60, 45], [61, 46]]}),
    "geometry-null-city": set_geom("cities", None),
    "geometry-null-territory": set_geom("territories", None),
    "geometry-missing": mutate_feature("cities", lambda ft: ft.pop("geometry")),
    "geometrycollection": set_geom("water", {"type": "GeometryCollection", "geometries": [{"type": "Polygon", "coordinates": [sq(60, 45, 1)]}]}),
    "geometry-unknown-type": set_geom("water", {"type": "Circle", "coordinates": [60, 45]}),
    "route-one-point": set_geom("campaigns", {"type": "LineString", "coordinates": [[60, 45]]}),
    "route-empty": set_geom("campaigns", {"type": "LineString", "coordinates": []}),
    "river-one-point": set_geom("rivers", {"type": "LineString", "coordinates": [[60, 45]]}),
    "million-points": many_points(1_000_000),
    "huge-polygon-world": set_geom("water", {"type": "Polygon", "coordinates": [[[-180, -85], [180, -85], [180, 85], [-180, 85], [-180, -85]]]}),
    # ids
    "duplicate-id": dup_id,
    "duplicate-id-across-layers": dup_id_across,
    "id-case-collision": lambda d: (set_prop("cities", "id", "TURKISTAN", 1)(d)),
    "id-missing": set_prop("cities", "id", DELETE),
    "id-number": set_prop("cities", "id", 42),
    "id-empty": set_prop("cities", "id", ""),
    "id-with-slash": set_prop("cities", "id", "../../etc/passwd"),
    "properties-null": mutate_feature("cities", lambda ft: ft.__setitem__("properties", None)),
    "properties-array": mutate_feature("cities", lambda ft: ft.__setitem__("properties", [])),
    # names
    "name-1mb": set_prop("cities", "name", "Ж" * 500_000),
    "name-rtl-emoji-ctl": set_prop("cities", "name", "\u202eTurk\u0301istan 🏰\u0007\u0000\u200b"),
    "name-nul": set_prop("cities", "name", "\u0000"),
    "name-number": set_prop("cities", "name", 5),
    "name-empty": set_prop("cities", "name", ""),
    "name-newline": set_prop("territories", "name", "line1\nline2\r\nline3"),
    "caption-1mb": set_prop("events", "caption", "x" * 1_000_000, 10),
    "kind-unknown": set_prop("cities", "kind", "metropolis"),
    "kind-number": set_prop("cities", "kind", 3),
    "rank-huge": set_prop("rivers", "rank", 1e300),
    "rank-negative": set_prop("rivers", "rank", -5),
    "rank-string": set_prop("rivers", "rank", "one"),
    "strength-reversed": set_prop("battles", "strength", [50000, 1000]),
    "strength-nan": set_prop("battles", "strength", float("nan")),
    "strength-three": set_prop("battles", "strength", [1, 2, 3]),
    "strength-negative": set_prop("battles", "strength", -100),
    "certainty-unknown": set_prop("territories", "certainty", "maybe"),
    # dates
    "date-month-13": set_prop("battles", "date", "1700-13-45"),
    "date-minus-0001": set_prop("battles", "date", "-0001"),
    "date-99999": set_prop("battles", "date", "99999"),
    "date-empty": set_prop("battles", "date", ""),
    "date-number": set_prop("battles", "date", 1723),
    "date-feb-30": set_prop("battles", "date", "1723-02-30"),
    "date-feb-29-nonleap": set_prop("battles", "date", "1723-02-29"),
    "date-with-time": set_prop("battles", "date", "1723-05-01T12:00:00Z"),
    "date-huge": set_prop("battles", "date", "9" * 40),
    "start-after-end": lambda d: (set_prop("campaigns", "start_date", "1750")(d), set_prop("campaigns", "end_date", "1700")(d)),
    "control-reversed": mutate_feature("territories", lambda ft: ft["properties"]["control"].__setitem__(0, {"from": "1700", "to": "1650", "polity": "dzungar"})),
    "control-unknown-polity": mutate_feature("territories", lambda ft: ft["properties"]["control"].__setitem__(0, {"from": "1635", "to": "1700", "polity": "atlantis"})),
    "control-not-list": set_prop("territories", "control", "dzungar"),
    "control-empty-list": set_prop("territories", "control", []),
    "control-span-missing-polity": mutate_feature("territories", lambda ft: ft["properties"]["control"].__setitem__(0, {"from": "1635", "to": "1700"})),
    "control-status-unknown": mutate_feature("territories", lambda ft: ft["properties"]["control"][0].__setitem__("status", "vassal")),
    "control-tributary-unknown-overlord": mutate_feature("territories", lambda ft: ft["properties"]["control"][0].update({"status": "tributary", "overlord": "atlantis"})),
    "city-control-unknown-polity": mutate_feature("cities", lambda ft: ft["properties"].__setitem__("control", [{"from": "1635", "polity": "atlantis"}])),
    "victor-unknown": set_prop("battles", "victor", "atlantis"),
    "side-unknown": set_prop("campaigns", "side", "atlantis"),
    "campaign-kind-unknown": set_prop("campaigns", "kind", "teleport"),
    # atlas.json
    "atlas-missing": lambda d: os.remove(os.path.join(d, "atlas.json")),
    "atlas-garbled": lambda d: write_raw(d, "atlas.json", "{\"title\": \"x\", "),
    "atlas-bbox-inverted": atlas_edit(lambda a: a.__setitem__("bbox", [93.0, 56.5, 47.0, 36.5])),
    "atlas-bbox-zero-area": atlas_edit(lambda a: a.__setitem__("bbox", [60, 45, 60, 45])),
    "atlas-bbox-nan": atlas_edit(lambda a: a.__setitem__("bbox", [float("nan"), 36.5, 93.0, 56.5])),
    "atlas-bbox-three": atlas_edit(lambda a: a.__setitem__("bbox", [47.0, 36.5, 93.0])),
    "atlas-bbox-lat-100": atlas_edit(lambda a: a.__setitem__("bbox", [47.0, -100, 93.0, 100])),
    "atlas-bbox-antimeridian": atlas_edit(lambda a: a.__setitem__("bbox", [170, 40, -170, 60])),
    "atlas-period-reversed": atlas_edit(lambda a: a.__setitem__("period", [1771, 1635])),
    "atlas-period-one-year": atlas_edit(lambda a: a.__setitem__("period", [1723, 1723])),
    "atlas-period-strings": atlas_edit(lambda a: a.__setitem__("period", ["1635", "1771"])),
    "atlas-polity-ends-before-start": atlas_edit(lambda a: a["polities"][4].update({"from": 1756, "to": 1635})),
    "atlas-polity-dup": atlas_edit(lambda a: a["polities"].append(copy.deepcopy(a["polities"][4]))),
    "atlas-title-1mb": atlas_edit(lambda a: a.__setitem__("title", "T" * 1_000_000)),
    "atlas-title-empty": atlas_edit(lambda a: a.__setitem__("title", "")),
    "atlas-unknown-key": atlas_edit(lambda a: a.__setitem__("bogus", 1)),
    "atlas-phase-reversed": atlas_edit(lambda a: a["phases"][0].update({"from": 1700, "to": 1600})),
    "atlas-polities-empty": atlas_edit(lambda a: a.__setitem__("polities", [])),
    # layers missing / only some
    "no-territories": rm("territories"),
    "only-atlas": only_atlas,
    "cities-is-dir": lambda d: (os.remove(os.path.join(d, "cities.geojson")), os.mkdir(os.path.join(d, "cities.geojson"))),
    "cities-unreadable-fifo": lambda d: (os.remove(os.path.join(d, "cities.geojson")), os.mkfifo(os.path.join(d, "cities.geojson"))),
    "empty-collections": lambda d: [save(d, l, {"type": "FeatureCollection", "features": []}) for l in LAYERS],
}


def commands(data, tmp):
    base = ["--data", data]
    y = ["--year", "1723"]
    return {
        "validate": ["validate"] + base,
        "render-png": ["render"] + base + y + ["--width", "200", "--out", f"{tmp}/r.png"],
        "render-svg": ["render"] + base + y + ["--width", "200", "--format", "svg", "--out", f"{tmp}/r.svg"],
        "render-pdf": ["render"] + base + y + ["--width", "200", "--format", "pdf", "--out", f"{tmp}/r.pdf"],
        "render-merc": ["render"] + base + y + ["--width", "200", "--projection", "mercator", "--out", f"{tmp}/m.png"],
        "frames": ["frames"] + base + ["--from", "1723", "--to", "1725", "--width", "160", "--out", f"{tmp}/f", "--gif", f"{tmp}/a.gif", "--apng", f"{tmp}/a.apng"],
        "tiles-xyz": ["tiles"] + base + ["--years", "1723", "--zoom", "0..2", "--out", f"{tmp}/x"],
        "tiles-mbtiles": ["tiles"] + base + ["--years", "1723", "--zoom", "0..2", "--format", "mbtiles", "--out", f"{tmp}/mb"],
        "tiles-pmtiles": ["tiles"] + base + ["--years", "1723", "--zoom", "0..2", "--format", "pmtiles", "--out", f"{tmp}/pm"],
        "tiles-mvt": ["tiles"] + base + ["--zoom", "0..2", "--format", "mvt", "--out", f"{tmp}/mvt"],
        "query": ["query"] + base + y + ["--lon", "68.27", "--lat", "43.3"],
    }


def files_under(p):
    out = []
    for r, _, fs in os.walk(p):
        out += [os.path.join(r, f) for f in fs]
    return out


def check_run(binary, name, cmd, args, tmp, timeout):
    problems = []
    t0 = time.time()
    try:
        p = subprocess.run([binary] + args, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return [f"HANG > {timeout}s"], None, ""
    dt = time.time() - t0
    err = p.stderr.decode("utf-8", "replace")
    lines = [l for l in err.splitlines() if l.strip()]
    if p.returncode == 101 or "panicked" in err:
        problems.append("PANIC: " + " | ".join(lines[:2])[:300])
    elif p.returncode < 0:
        problems.append(f"SIGNAL {-p.returncode}")
    if p.returncode not in (0,) and p.returncode != 101:
        errs = [l for l in lines if not l.startswith("warning") and "warning:" not in l[:40]]
        if len(lines) > 1 and cmd != "validate":
            problems.append(f"MULTILINE stderr ({len(lines)} lines): " + " | ".join(lines[:3])[:300])
        if not lines and cmd != "validate":
            problems.append("FAILED WITHOUT A MESSAGE")
        left = [f for f in files_under(tmp)]
        if left:
            problems.append("LEFT FILES: " + ", ".join(os.path.relpath(f, tmp) for f in left[:5]))
    if dt > 20:
        problems.append(f"SLOW {dt:.1f}s")
    first = lines[0] if lines else ""
    return problems, p.returncode, first


def serve_check(binary, data, timeout):
    p = subprocess.Popen([binary, "serve", "--addr", "127.0.0.1:0", "--data", data],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    t0 = time.time()
    line = b""
    try:
        import select
        while time.time() - t0 < timeout:
            if p.poll() is not None:
                err = p.stderr.read().decode("utf-8", "replace")
                probs = []
                if p.returncode == 101 or "panicked" in err:
                    probs.append("PANIC: " + err[:300])
                return probs, p.returncode, (err.splitlines() or [""])[0]
            r, _, _ = select.select([p.stderr], [], [], 0.2)
            if r:
                # Warnings about the data may come first: the address is on its own line.
                line = p.stderr.readline()
                if not line or b"serving on " in line:
                    break
        if not line:
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                return [f"SERVE NO START in {timeout}s"], None, ""
            err = p.stderr.read().decode("utf-8", "replace")
            probs = ["PANIC: " + err[:300]] if p.returncode == 101 or "panicked" in err else []
            return probs, p.returncode, (err.splitlines() or [""])[0]
        url = line.decode().split("serving on ")[-1].strip()
        probs = []
        for path in ["health", "tiles/1723/0/0/0.png", "api/features?year=1723&lon=68.27&lat=43.3", "api/timeline", "tiles/1723.json", "frames/1723.png", "vector/0/0/0.pbf"]:
            try:
                with urllib.request.urlopen(url + path, timeout=60) as r:
                    r.read()
            except urllib.error.HTTPError as e:
                if e.code >= 500:
                    probs.append(f"{path}: HTTP {e.code} {e.read()[:120]!r}")
            except Exception as e:  # noqa
                probs.append(f"{path}: {e}")
        if p.poll() is not None:
            probs.append("server died: " + p.stderr.read().decode("utf-8", "replace")[:300])
        return probs, 0, ""
    finally:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "target/release/steppe-atlas"))
    ap.add_argument("--only", action="append")
    ap.add_argument("--timeout", type=int, default=60)
    ap.add_argument("--report", default=None, help="write every (case, command) result as JSON lines")
    a = ap.parse_args()
    bad = 0
    total = 0
    rep = open(a.report, "w") if a.report else None
    for name, mut in CASES.items():
        if a.only and name not in a.only:
            continue
        with tempfile.TemporaryDirectory() as work:
            data = os.path.join(work, "data")
            shutil.copytree(GEO, data)
            mut(data)
            for cmd, args in commands(data, os.path.join(work, "out")).items():
                tmp = os.path.join(work, "out")
                shutil.rmtree(tmp, ignore_errors=True)
                os.makedirs(tmp)
                probs, code, first = check_run(a.bin, name, cmd, args, tmp, a.timeout)
                total += 1
                if rep:
                    rep.write(json.dumps({"case": name, "cmd": cmd, "code": code, "first": first[:300], "problems": probs}) + "\n")
                if probs:
                    bad += 1
                    print(f"{name:32} {cmd:14} exit={code} " + "; ".join(probs), flush=True)
            probs, code, first = serve_check(a.bin, data, a.timeout)
            total += 1
            if rep:
                rep.write(json.dumps({"case": name, "cmd": "serve", "code": code, "first": first[:300], "problems": probs}) + "\n")
            if probs:
                bad += 1
                print(f"{name:32} {'serve':14} " + "; ".join(probs), flush=True)
    print(f"{total} runs, {bad} with problems")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
