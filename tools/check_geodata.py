#!/usr/bin/env python3
"""Check the steppe-atlas dataset in geodata/ (a stand-in for `steppe-atlas validate`).

Reproduce:

    python3 -m venv /tmp/geo-venv && /tmp/geo-venv/bin/pip install shapely pyproj
    /tmp/geo-venv/bin/python tools/check_geodata.py [--data geodata]

Checks: valid JSON FeatureCollections; ids present, lowercase and unique
across all files; geometry types per layer; coordinates in range and rounded
to 4 decimals; closed, valid rings (shapely is_valid); dates parse and end >=
start; control spans (polity ids from the allowed list, status values,
overlord for tributary, no overlapping spans); battles/campaigns polity ids;
territories pairwise overlap and gaps inside their union; names in kk/ru;
rivers: distance from known cities to their river (km), river mouths at
their sea.  Prints problems as `file:id: message`; exits 1 on errors.
"""
import argparse
import glob
import json
import os
import re
import sys

from pyproj import Geod
from shapely.geometry import Point, shape
from shapely.ops import nearest_points, unary_union

GEOD = Geod(ellps="WGS84")
POLITIES = {"dzungar", "kazakh", "kazakh_senior", "kazakh_middle", "kazakh_junior", "qing",
            "russia", "kalmyk", "bukhara", "khiva", "kyrgyz", "yarkent", "kokand", "khalkha",
            "tibet", "karakalpak", "bashkir"}
STATUS = {"core", "occupied", "tributary", "contested", "besieged", "destroyed", "holdout", "enclave"}
CITY_STATUS_ONLY = {"besieged", "destroyed"}
GEOM = {
    "territories": {"Polygon", "MultiPolygon"},
    "cities": {"Point"},
    "battles": {"Point"},
    "campaigns": {"LineString"},
    "rivers": {"LineString", "MultiLineString"},
    "water": {"Polygon", "MultiPolygon"},
    "landforms": {"Point", "Polygon", "MultiPolygon"},
    "events": {"Point", None},
}
NAMED = {"cities", "rivers", "water", "landforms", "territories"}
DATE_RE = re.compile(r"^-?\d{4}(-\d{2}(-\d{2})?)?$")

# (city, lon, lat, river id, max km)
RIVER_CITIES = [
    ("Kyzylorda", 65.51, 44.85, "river-syr-darya", 5),
    ("Khujand", 69.63, 40.28, "river-syr-darya", 5),
    ("Turkistan (30 km off)", 68.27, 43.30, "river-syr-darya", 40),
    ("Semey", 80.23, 50.41, "river-irtysh", 5),
    ("Omsk", 73.37, 54.98, "river-irtysh", 5),
    ("Ust-Kamenogorsk", 82.61, 49.95, "river-irtysh", 5),
    ("Pavlodar", 76.95, 52.28, "river-irtysh", 5),
    ("Tobolsk", 68.25, 58.20, "river-irtysh", 5),
    ("Astana", 71.43, 51.13, "river-ishim", 5),
    ("Petropavl", 69.15, 54.87, "river-ishim", 5),
    ("Taraz", 71.37, 42.90, "river-talas", 5),
    ("Tokmok", 75.29, 42.84, "river-chu", 5),
    ("Samarkand", 66.96, 39.65, "river-zeravshan", 8),
    ("Bukhara", 64.42, 39.77, "river-zeravshan", 15),
    ("Orenburg", 55.10, 51.77, "river-ural", 5),
    ("Uralsk (WDBII runs ~6 km off the centre)", 51.37, 51.23, "river-ural", 7),
    ("Orsk", 58.57, 51.22, "river-ural", 5),
    ("Atyrau", 51.92, 47.10, "river-ural", 5),
    ("Astrakhan", 48.03, 46.35, "river-volga", 5),
    ("Kostanay", 63.62, 53.21, "river-tobol", 5),
    ("Ghulja", 81.32, 43.91, "river-ili", 5),
    ("Kapchagay", 77.07, 43.87, "river-ili", 8),
    ("Nukus", 59.60, 42.46, "river-amu-darya", 8),
    ("Turkmenabat", 63.57, 39.08, "river-amu-darya", 8),
    ("Arys", 68.80, 42.43, "river-arys", 5),
    ("Turgai", 63.50, 49.63, "river-turgai", 5),
    ("Irgiz", 61.27, 48.62, "river-irgiz", 5),
    ("Ayagoz", 80.44, 47.97, "river-ayagoz", 5),
    ("Naryn", 76.00, 41.43, "river-naryn", 5),
    ("Temirtau", 72.96, 50.05, "river-nura", 8),
    ("Kulsary", 54.02, 46.95, "river-emba", 8),
    ("Taldykorgan", 78.38, 45.02, "river-karatal", 8),
]
MOUTHS = [("river-syr-darya", "aral-sea"), ("river-amu-darya", "aral-sea"), ("river-ili", "lake-balkhash"),
          ("river-ural", "caspian-sea"), ("river-volga", "caspian-sea"), ("river-emba", "caspian-sea"),
          ("river-karatal", "lake-balkhash"), ("river-lepsy", "lake-balkhash"), ("river-ayagoz", "lake-balkhash"),
          ("river-nura", "lake-tengiz")]


def km_to(geom, lon, lat):
    p = Point(lon, lat)
    q = nearest_points(geom, p)[0]
    return GEOD.inv(lon, lat, q.x, q.y)[2] / 1000.0


def date_key(s, end=False):
    m = DATE_RE.match(s or "")
    if not m:
        return None
    parts = s.lstrip("-").split("-")
    y = int(parts[0]) * (-1 if s.startswith("-") else 1)
    mo = int(parts[1]) if len(parts) > 1 else (12 if end else 1)
    d = int(parts[2]) if len(parts) > 2 else (31 if end else 1)
    if not (1 <= mo <= 12 and 1 <= d <= 31):
        return None
    return (y, mo, d)


class Checker:
    def __init__(self):
        self.errors = 0
        self.warnings = 0

    def err(self, f, i, msg):
        self.errors += 1
        print(f"ERROR {f}:{i}: {msg}")

    def warn(self, f, i, msg):
        self.warnings += 1
        print(f"warn  {f}:{i}: {msg}")


def check_coords(c, fname, fid, ck, depth=0):
    if isinstance(c[0], (int, float)):
        lon, lat = c[0], c[1]
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            ck.err(fname, fid, f"coordinate out of range {c}")
        if round(lon, 4) != lon or round(lat, 4) != lat:
            ck.warn(fname, fid, f"coordinate not rounded to 4 decimals {c}")
        return
    for x in c:
        check_coords(x, fname, fid, ck, depth + 1)


def check_interval(p, fname, fid, ck, a="start_date", b="end_date"):
    s, e = p.get(a), p.get(b)
    ks = date_key(s) if s is not None else None
    ke = date_key(e, True) if e is not None else None
    if s is not None and ks is None:
        ck.err(fname, fid, f"bad {a} {s!r}")
    if e is not None and ke is None:
        ck.err(fname, fid, f"bad {b} {e!r}")
    if ks and ke and ke < ks:
        ck.err(fname, fid, f"{b} {e} is before {a} {s}")
    return ks, ke


def check_control(spans, fname, fid, ck, is_city):
    if not isinstance(spans, list):
        ck.err(fname, fid, "control is not a list")
        return
    iv = []
    for sp in spans:
        ks, ke = check_interval(sp, fname, fid, ck, "from", "to")
        pol = sp.get("polity")
        if pol not in POLITIES:
            ck.err(fname, fid, f"unknown polity {pol!r}")
        st = sp.get("status", "core")
        if st not in STATUS or (not is_city and st in CITY_STATUS_ONLY):
            ck.err(fname, fid, f"bad status {st!r}")
        if st == "tributary" and sp.get("overlord") not in POLITIES:
            ck.err(fname, fid, f"tributary span without a known overlord ({sp.get('overlord')!r})")
        if "overlord" in sp and sp["overlord"] not in POLITIES:
            ck.err(fname, fid, f"unknown overlord {sp['overlord']!r}")
        if not sp.get("source"):
            ck.warn(fname, fid, f"span {sp.get('from')}-{sp.get('to')} has no source")
        iv.append((ks or (-9999, 1, 1), ke or (9999, 12, 31), sp))
    iv.sort(key=lambda t: t[0])
    for (s1, e1, a), (s2, e2, b) in zip(iv, iv[1:]):
        if s2 <= e1:
            ck.warn(fname, fid, f"control spans overlap: {a.get('from')}-{a.get('to')} and {b.get('from')}-{b.get('to')}")


# Mountain outlines against the valleys, plains and lakes around them: places
# that lie on a valley floor or a plain must be outside every range.
RANGE_VALLEYS = [
    ("Fergana Valley (Kokand)", 70.94, 40.53), ("Fergana Valley (Fergana)", 71.78, 40.38),
    ("Fergana Valley (Namangan)", 71.67, 41.0), ("Fergana Valley (Andijan)", 72.34, 40.78),
    ("Fergana Valley (Osh)", 72.8, 40.53), ("Khujand gate", 69.63, 40.28), ("Tashkent", 69.24, 41.31),
    ("Ili valley (Ghulja)", 81.32, 43.91), ("Ili valley (Zharkent)", 80.0, 44.17), ("Ili valley (Chunja)", 79.46, 43.53),
    ("Ili valley (Kapchagay)", 77.07, 43.87), ("Almaty", 76.9, 43.25), ("Chu valley (Bishkek)", 74.6, 42.87),
    ("Chu valley (Tokmok)", 75.29, 42.84), ("Talas valley (Talas)", 72.24, 42.52), ("Taraz", 71.37, 42.9),
    ("Issyk-Kul basin (Karakol)", 78.39, 42.49), ("Issyk-Kul basin (Balykchy)", 76.19, 42.46),
    ("Naryn depression (Naryn)", 76.0, 41.43), ("Kashgar", 75.99, 39.47), ("Aksu", 80.26, 41.17),
    ("Kuqa", 82.96, 41.72), ("Korla", 86.15, 41.76), ("Turpan", 89.19, 42.95), ("Urumqi", 87.6, 43.8),
    ("Hami", 93.5, 42.82), ("Hotan", 79.93, 37.11), ("Taldykorgan", 78.38, 45.02), ("Bole", 82.07, 44.9),
    ("Dzungarian Gate (Alashankou)", 82.57, 45.17), ("Tacheng", 82.98, 46.75), ("Ust-Kamenogorsk", 82.61, 49.95),
    ("Altay (city)", 88.13, 47.85), ("Khovd", 91.64, 48.0), ("Biysk", 85.2, 52.52), ("Turkistan", 68.27, 43.3),
    ("Shymkent", 69.6, 42.32), ("Ufa", 55.96, 54.74), ("Magnitogorsk", 59.0, 53.4), ("Orsk", 58.57, 51.22),
    ("Yekaterinburg", 60.6, 56.84), ("Samarkand", 66.96, 39.65), ("Zhezkazgan", 67.71, 47.8),
]
# Lakes that really lie among the mountains of a range (all others must be outside).
RANGE_LAKES = {"lake-son-kul", "lake-karakul", "lake-markakol"}
# Rivers that run in a valley across or along a range: how much of each may lie
# inside mountain outlines (km) -- where they rise in or cut through the range.
RANGE_RIVER_KM = {"river-ili": 0, "river-chu": 90, "river-talas": 5, "river-syr-darya": 0, "river-irtysh": 40,
                  "river-tarim": 0, "river-karatal": 70, "river-lepsy": 50, "river-ayagoz": 0, "river-ural": 60,
                  "river-arys": 0, "river-zeravshan": 5, "river-chirchiq": 20, "river-kara-darya": 5,
                  "river-naryn": 360, "river-emba": 60}


def check_ranges(landforms, rivers, water, ck):
    """Mountain outlines: valleys and plains outside, lakes outside unless listed,
    river length inside within bounds, label points inside their outline."""
    areas = {}
    for f in landforms:
        g = f.get("geometry") or {}
        if g.get("type") in ("Polygon", "MultiPolygon") and f["properties"].get("kind") == "mountains":
            areas[f["properties"]["id"]] = shape(g)
    if not areas:
        return
    print("\nMountain ranges:")
    for rid, a in areas.items():
        lp = next(f["properties"].get("label_point") for f in landforms if f["properties"]["id"] == rid)
        if not lp:
            ck.err("landforms.geojson", rid, "mountain outline without label_point")
        elif not a.contains(Point(lp)):
            ck.warn("landforms.geojson", rid, f"label_point {lp} outside its outline")
        km2 = abs(GEOD.geometry_area_perimeter(a)[0]) / 1e6
        print(f"  {rid:26s} {a.geom_type:12s} {km2:9.0f} km2")
    ids = list(areas)
    for i, a in enumerate(ids):
        for b in ids[i + 1:]:
            if areas[a].intersection(areas[b]).area > 1e-6:
                ck.warn("landforms.geojson", a, f"outline overlaps {b}")
    for name, lon, lat in RANGE_VALLEYS:
        for rid, a in areas.items():
            if a.contains(Point(lon, lat)):
                ck.err("landforms.geojson", rid, f"{name} ({lon}, {lat}) lies inside the mountain outline")
    for wid, w in water.items():
        for rid, a in areas.items():
            if wid not in RANGE_LAKES and a.intersection(w).area > 1e-6:
                ck.err("landforms.geojson", rid, f"{wid} lies (partly) inside the mountain outline")
    for rid_r, mx in RANGE_RIVER_KM.items():
        if rid_r not in rivers:
            continue
        inside = unary_union([a for a in areas.values()]).intersection(rivers[rid_r])
        km = 0.0
        for part in getattr(inside, "geoms", [inside]):
            if part.geom_type == "LineString" and not part.is_empty:
                km += GEOD.geometry_length(part) / 1000.0
        print(f"  {rid_r:18s} {km:6.1f} km inside mountains (max {mx})")
        if km > mx:
            ck.err("landforms.geojson", rid_r, f"{km:.0f} km of the river inside mountain outlines (max {mx})")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "geodata"))
    args = ap.parse_args()
    ck = Checker()
    ids = {}
    layers = {}
    total = 0
    for path in sorted(glob.glob(os.path.join(args.data, "*.geojson"))):
        fname = os.path.basename(path)
        layer = fname[:-8]
        total += os.path.getsize(path)
        try:
            fc = json.load(open(path, encoding="utf-8"))
        except Exception as e:  # noqa: BLE001
            ck.err(fname, "-", f"invalid JSON: {e}")
            continue
        if fc.get("type") != "FeatureCollection":
            ck.err(fname, "-", "not a FeatureCollection")
            continue
        feats = fc.get("features", [])
        layers[layer] = feats
        print(f"{fname:22s} {len(feats):4d} features {os.path.getsize(path) / 1024:8.1f} KiB")
        for ft in feats:
            p = ft.get("properties") or {}
            fid = p.get("id")
            if not fid:
                ck.err(fname, "?", "missing id")
                continue
            if fid != fid.lower() or " " in fid:
                ck.err(fname, fid, "id not lowercase/without spaces")
            if fid in ids:
                ck.err(fname, fid, f"duplicate id (also in {ids[fid]})")
            ids[fid] = fname
            g = ft.get("geometry")
            gt = g.get("type") if g else None
            if layer in GEOM and gt not in GEOM[layer]:
                ck.err(fname, fid, f"geometry {gt} not allowed in {layer}")
            if g:
                check_coords(g["coordinates"], fname, fid, ck)
                if gt in ("Polygon", "MultiPolygon"):
                    rings = [g["coordinates"]] if gt == "Polygon" else g["coordinates"]
                    for poly in rings:
                        for ring in poly:
                            if ring[0] != ring[-1] or len(ring) < 4:
                                ck.err(fname, fid, "open or short ring")
                    sh = shape(g)
                    if not sh.is_valid:
                        from shapely.validation import explain_validity
                        ck.err(fname, fid, f"invalid polygon: {explain_validity(sh)}")
                if gt == "LineString" and len(g["coordinates"]) < 2:
                    ck.err(fname, fid, "line with < 2 points")
            if not p.get("name") and layer != "events":
                ck.err(fname, fid, "missing name")
            if layer in NAMED:
                for k in ("name:kk", "name:ru"):
                    if not p.get(k):
                        ck.warn(fname, fid, f"missing {k}")
            if layer == "events":
                for k in ("caption", "caption:kk", "caption:ru"):
                    if not p.get(k):
                        ck.err(fname, fid, f"missing {k}")
                if len(p.get("caption", "")) > 90:
                    ck.warn(fname, fid, f"caption longer than 90 chars ({len(p['caption'])})")
            if "date" in p:
                if date_key(p["date"]) is None:
                    ck.err(fname, fid, f"bad date {p['date']!r}")
                if "start_date" in p or "end_date" in p:
                    ck.warn(fname, fid, "both date and start/end_date")
            check_interval(p, fname, fid, ck)
            if "certainty" in p and p["certainty"] not in ("approximate", "disputed"):
                ck.err(fname, fid, f"bad certainty {p['certainty']!r}")
            if "control" in p:
                check_control(p["control"], fname, fid, ck, layer == "cities")
            for k in ("victor", "side"):
                if k in p and p[k] not in POLITIES:
                    ck.err(fname, fid, f"unknown polity in {k}: {p[k]!r}")
            for b in p.get("belligerents", []):
                if b not in POLITIES:
                    ck.err(fname, fid, f"unknown belligerent {b!r}")
            if "strength" in p:
                s = p["strength"]
                ok = isinstance(s, (int, float)) or (isinstance(s, list) and len(s) == 2 and s[0] <= s[1])
                if not ok:
                    ck.err(fname, fid, f"bad strength {s!r}")
            if layer in ("battles", "events") and "date" not in p and "start_date" not in p:
                ck.err(fname, fid, "no date")
            if layer == "campaigns":
                if p.get("kind") not in ("advance", "retreat", "raid", "flight"):
                    ck.err(fname, fid, f"bad kind {p.get('kind')!r}")
                if "side" not in p:
                    ck.err(fname, fid, "campaign without side")
            if layer == "cities" and p.get("kind") not in ("city", "capital", "fortress", "site"):
                ck.err(fname, fid, f"bad kind {p.get('kind')!r}")
            if layer in ("territories", "cities", "battles", "campaigns", "events") and not p.get("source"):
                ck.warn(fname, fid, "no source")
    print(f"total size {total / 1024:.0f} KiB")

    # territories: overlap + gaps
    terr = [(f["properties"]["id"], shape(f["geometry"])) for f in layers.get("territories", [])]
    if terr:
        from shapely.strtree import STRtree
        geoms = [g for _, g in terr]
        tree = STRtree(geoms)
        # Shapely 2 answers a query with indices, shapely 1.8 (Debian's) with geometries.
        index_of = {id(g): k for k, g in enumerate(geoms)}
        for i, (a, ga) in enumerate(terr):
            for j in tree.query(ga):
                j = int(j) if hasattr(j, "__index__") else index_of[id(j)]
                if j <= i:
                    continue
                b, gb = terr[j]
                inter = ga.intersection(gb)
                if inter.area > 1e-9:
                    ck.warn("territories.geojson", a, f"overlaps {b} ({inter.area:.6f} deg2)")
        u = unary_union(geoms)
        polys = [u] if u.geom_type == "Polygon" else list(u.geoms)
        holes = sum(len(p.interiors) for p in polys)
        print(f"territories: union has {len(polys)} part(s), {holes} hole(s)")
        for p in polys:
            for r in p.interiors:
                from shapely.geometry import Polygon as P
                ck.warn("territories.geojson", "-", f"gap (hole) near {r.coords[0]} area {P(r).area:.6f} deg2")

    # rivers near cities
    rivers = {f["properties"]["id"]: shape(f["geometry"]) for f in layers.get("rivers", [])}
    water = {f["properties"]["id"]: shape(f["geometry"]) for f in layers.get("water", [])}
    if rivers:
        print("\nRiver distances from known towns:")
        for city, lon, lat, rid, mx in RIVER_CITIES:
            if rid not in rivers:
                continue
            d = km_to(rivers[rid], lon, lat)
            flag = "ok" if d <= mx else "TOO FAR"
            print(f"  {city:24s} {rid:18s} {d:6.1f} km  (max {mx}) {flag}")
            if d > mx:
                ck.err("rivers.geojson", rid, f"{d:.1f} km from {city} (max {mx})")
        for rid, wid in MOUTHS:
            if rid in rivers and wid in water:
                g = rivers[rid]
                line = g if g.geom_type == "LineString" else list(g.geoms)[-1]
                end = line.coords[-1]
                d = km_to(water[wid].boundary, *end) if not water[wid].contains(Point(end)) else 0.0
                print(f"  mouth {rid:18s} -> {wid:14s} {d:5.1f} km")
                if d > 3:
                    ck.warn("rivers.geojson", rid, f"mouth {d:.1f} km from {wid}")
        for rid, g in rivers.items():
            n = len(g.coords) if g.geom_type == "LineString" else sum(len(x.coords) for x in g.geoms)
            if n < 60 and rid in ("river-syr-darya", "river-amu-darya", "river-ili", "river-irtysh", "river-ishim", "river-ural", "river-volga"):
                ck.warn("rivers.geojson", rid, f"only {n} vertices")

    # points and route vertices must not lie in a sea or lake
    for layer in ("cities", "battles", "campaigns", "events", "landforms"):
        for f in layers.get(layer, []):
            g = f.get("geometry")
            if not g:
                continue
            if g["type"] in ("Polygon", "MultiPolygon"):
                # an area's name sits at its label_point (checked with the ranges below)
                lp = f["properties"].get("label_point")
                pts = [lp] if lp else []
            else:
                pts = [g["coordinates"]] if g["type"] == "Point" else g["coordinates"]
            for c in pts:
                for wid, w in water.items():
                    if w.contains(Point(c)):
                        ck.warn(f"{layer}.geojson", f["properties"]["id"], f"{c} lies in {wid}")

    check_ranges(layers.get("landforms", []), rivers, water, ck)

    print(f"\n{ck.errors} error(s), {ck.warnings} warning(s)")
    sys.exit(1 if ck.errors else 0)


if __name__ == "__main__":
    main()
