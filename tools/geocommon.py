"""Shared helpers for the steppe-atlas authoring scripts in tools/."""
import json
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GEODATA = os.path.join(ROOT, "geodata")


def r4(x):
    return round(float(x), 4)


def point(lon, lat):
    return {"type": "Point", "coordinates": [r4(lon), r4(lat)]}


def line(coords):
    return {"type": "LineString", "coordinates": [[r4(x), r4(y)] for x, y in coords]}


def span(frm, to, polity, status="core", source=None, overlord=None):
    """One control span; `None` ends are left out (unbounded)."""
    s = {}
    if frm is not None:
        s["from"] = str(frm)
    if to is not None:
        s["to"] = str(to)
    s["polity"] = polity
    s["status"] = status
    if overlord:
        s["overlord"] = overlord
    if source:
        s["source"] = source
    return s


def feature(props, geometry):
    return {"type": "Feature", "properties": {k: v for k, v in props.items() if v is not None},
            "geometry": geometry}


def write_fc(name, feats):
    """Write a FeatureCollection, one feature per line (diff-friendly)."""
    path = os.path.join(GEODATA, name)
    ids = [f["properties"]["id"] for f in feats]
    assert len(ids) == len(set(ids)), "duplicate ids in " + name
    with open(path, "w", encoding="utf-8") as f:
        f.write('{"type":"FeatureCollection","features":[\n')
        f.write(",\n".join(json.dumps(ft, ensure_ascii=False, separators=(",", ":")) for ft in feats))
        f.write("\n]}\n")
    print(f"wrote {path}: {len(feats)} features")
