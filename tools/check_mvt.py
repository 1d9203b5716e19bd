#!/usr/bin/env python3
"""An independent reader of steppe-atlas's vector archive (PyPI `pmtiles` and
`mapbox-vector-tile`, no code shared with the Rust writer).

    python3 tools/check_mvt.py output/vt/atlas.pmtiles --point 68.27,43.30 --years 1700,1723

Checks the PMTiles header (MVT, gzip), the metadata's vector_layers, that every tile
decodes and that every dated feature has start/end decimal dates; then, for each year,
filters the `territories` and `cities` of the deepest tile holding the point by
`start_decdate <= year + 0.5 < end_decdate` and reports who held the point. Prints JSON;
exits 1 with a reason when a check fails.
"""
import argparse
import gzip
import json
import math
import sys

import mapbox_vector_tile
from pmtiles.reader import MmapSource, Reader, all_tiles
from pmtiles.tile import Compression, TileType

DATED = {"territories", "borders", "cities", "battles", "campaigns"}


def fail(msg):
    print(f"check_mvt: {msg}", file=sys.stderr)
    sys.exit(1)


def tile_of(lon, lat, z):
    """The XYZ tile holding a point, and the point in that tile's 0..1 coordinates."""
    n = 2 ** z
    x = (lon + 180.0) / 360.0 * n
    s = math.sin(math.radians(lat))
    y = (0.5 - math.log((1 + s) / (1 - s)) / (4 * math.pi)) * n
    return int(x), int(y), x - int(x), y - int(y)


def inside(pt, ring):
    """Even-odd ray casting."""
    x, y = pt
    hit = False
    for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1]):
        if (y0 > y) != (y1 > y) and x < x0 + (y - y0) * (x1 - x0) / (y1 - y0):
            hit = not hit
    return hit


def polygons(geom):
    if geom["type"] == "Polygon":
        return [geom["coordinates"]]
    if geom["type"] == "MultiPolygon":
        return geom["coordinates"]
    fail(f"a territory decoded as {geom['type']}")


def contains(geom, pt):
    for poly in polygons(geom):
        if inside(pt, poly[0]) and not any(inside(pt, hole) for hole in poly[1:]):
            return True
    return False


def alive(props, year):
    mid = year + 0.5
    return props.get("start_decdate", -1e6) <= mid < props.get("end_decdate", 1e6)


def decode(data, compression):
    if compression == Compression.GZIP:
        data = gzip.decompress(data)
    return mapbox_vector_tile.decode(data, default_options={"y_coord_down": True})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("archive")
    ap.add_argument("--point", required=True, help="LON,LAT")
    ap.add_argument("--years", required=True, help="Y1,Y2,...")
    a = ap.parse_args()
    lon, lat = (float(v) for v in a.point.split(","))
    years = [int(v) for v in a.years.split(",")]

    with open(a.archive, "rb") as f:
        get = MmapSource(f)
        reader = Reader(get)
        header = reader.header()
        if header["tile_type"] != TileType.MVT:
            fail(f"tile type {header['tile_type']}, expected MVT")
        compression = header["tile_compression"]
        meta = reader.metadata()
        layer_ids = [l["id"] for l in meta.get("vector_layers", [])]
        for want in ["territories", "borders", "cities", "battles", "campaigns", "rivers", "water", "landforms"]:
            if want not in layer_ids:
                fail(f"vector_layers lacks {want}")
        counts = {}
        tiles = 0
        for (z, x, y), data in all_tiles(get):
            tiles += 1
            for name, layer in decode(data, compression).items():
                if layer["extent"] != 4096:
                    fail(f"{z}/{x}/{y} {name}: extent {layer['extent']}")
                counts[name] = counts.get(name, 0) + len(layer["features"])
                if name in DATED:
                    for feat in layer["features"]:
                        p = feat["properties"]
                        if not isinstance(p.get("start_decdate"), (int, float)):
                            fail(f"{z}/{x}/{y} {name}: a feature without start_decdate: {p}")
        z = header["max_zoom"]
        tx, ty, fx, fy = tile_of(lon, lat, z)
        data = reader.get(z, tx, ty)
        if data is None:
            fail(f"no tile {z}/{tx}/{ty} holds {lon},{lat}")
        layers = decode(data, compression)
        extent = layers["territories"]["extent"]
        pt = (fx * extent, fy * extent)
        holders = {}
        cities = {}
        for year in years:
            found = [
                f["properties"]
                for f in layers["territories"]["features"]
                if alive(f["properties"], year) and contains(f["geometry"], pt)
            ]
            if len(found) > 1:
                fail(f"{year}: {len(found)} territories hold the point: {[p['id'] for p in found]}")
            holders[str(year)] = found[0]["polity"] if found else None
            near = []
            for f in layers.get("cities", {}).get("features", []):
                if not alive(f["properties"], year):
                    continue
                cx, cy = f["geometry"]["coordinates"]
                near.append((math.hypot(cx - pt[0], cy - pt[1]), f["properties"]))
            if near:
                near.sort(key=lambda t: t[0])
                p = near[0][1]
                cities[str(year)] = {"id": p["id"], "controlled_by": p.get("controlled_by")}
    print(json.dumps({
        "tiles": tiles,
        "min_zoom": header["min_zoom"],
        "max_zoom": header["max_zoom"],
        "compression": str(compression),
        "layers": layer_ids,
        "features": counts,
        "tile": [z, tx, ty],
        "holders": holders,
        "nearest_city": cities,
    }))


if __name__ == "__main__":
    main()
