#!/usr/bin/env python3
"""Import seas, lakes and rivers for steppe-atlas from GMT's GSHHG / WDBII.

Writes geodata/water.geojson and geodata/rivers.geojson.

Source: GSHHG 2.3.7 shorelines and WDBII rivers (Wessel & Smith, LGPL-3),
as packaged by Debian (gmt 6.4.0, gmt-gshhg-high 2.3.7).

Reproduce (Debian bookworm, from the repository root):

    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends gmt gmt-gshhg-high
    python3 -m venv /tmp/geo-venv
    /tmp/geo-venv/bin/pip install shapely pyproj networkx
    /tmp/geo-venv/bin/python tools/import_gmt.py

The script itself runs these GMT commands (outputs cached in $GMT_CACHE,
default /tmp/steppe-gmt):

    gmt coast -R44/100/28/60 -W -M -Dh -A50+l   > shore.txt   # all shoreline levels
    gmt coast -R44/100/28/60 -Ia -M -Dh          > rivers.txt  # all WDBII river classes

Lakes are picked by a point known to lie in them (GSHHG has no names);
modern reservoirs (Kapchagay, Shardara, Kayrakkum, Bukhtarma, the Volga and
Kama cascades, ...) are left out, and Lake Zaysan is cut back to its natural
extent (the Bukhtarma reservoir arm removed).  Rivers are traced through the
WDBII network (classes 1-7, canals excluded) between known points (source
area, towns on the bank, mouth) by a weighted shortest path; where a modern
reservoir interrupts the network, a hand-placed centre line through the
reservoir (the drowned valley) is used.  Everything is simplified with
Douglas-Peucker and rounded to 4 decimals.
"""
import json
import math
import os
import subprocess
import sys

import networkx as nx
from pyproj import Geod
from shapely.geometry import LineString, MultiLineString, Point, Polygon, box, mapping
from shapely.ops import linemerge, polygonize, unary_union
from shapely.strtree import STRtree

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GEODATA = os.path.join(ROOT, "geodata")
CACHE = os.environ.get("GMT_CACHE", "/tmp/steppe-gmt")
REGION = "-R44/100/28/60"
GEOD = Geod(ellps="WGS84")
SRC = "GSHHG 2.3.7 (LGPL-3) via GMT"
SRC_R = "WDBII via GSHHG 2.3.7 (LGPL-3), GMT"
SRC_HAND = "drawn by hand from the places in its note"


def gmt(args, out):
    os.makedirs(CACHE, exist_ok=True)
    path = os.path.join(CACHE, out)
    if not os.path.exists(path):
        with open(path, "w") as f:
            subprocess.run(["gmt"] + args, stdout=f, check=True, cwd=CACHE)
    return path


def read_segments(path):
    """Multisegment GMT text -> list of (level, [(lon, lat), ...])."""
    segs, cur, level = [], [], None
    for line in open(path):
        if line.startswith(">"):
            if len(cur) > 1:
                segs.append((level, cur))
            cur = []
            level = int(line.split("Level")[1]) if "Level" in line else None
        else:
            x, y = map(float, line.split()[:2])
            cur.append((x, y))
    if len(cur) > 1:
        segs.append((level, cur))
    return segs


def km(a, b):
    return GEOD.inv(a[0], a[1], b[0], b[1])[2] / 1000.0


def rnd(geom):
    """Round coordinates to 4 decimals (GeoJSON mapping)."""
    def r(c):
        if isinstance(c, (list, tuple)) and c and isinstance(c[0], (int, float)):
            return [round(c[0], 4), round(c[1], 4)]
        return [r(x) for x in c]
    m = mapping(geom)
    return {"type": m["type"], "coordinates": r(m["coordinates"])}


def write_fc(path, feats):
    with open(path, "w") as f:
        f.write('{"type":"FeatureCollection","features":[\n')
        f.write(",\n".join(json.dumps(ft, ensure_ascii=False, separators=(",", ":")) for ft in feats))
        f.write("\n]}\n")


# --------------------------------------------------------------------------
# Water
# --------------------------------------------------------------------------
# id, name, kk, ru, kind, point inside, optional clip box (w, s, e, n)
LAKES = [
    ("caspian-sea", "Caspian Sea", "Каспий теңізі", "Каспийское море", "sea", (51.0, 42.0), None),
    ("aral-sea", "Aral Sea", "Арал теңізі", "Аральское море", "sea", (60.0, 45.0), None),
    ("lake-balkhash", "Lake Balkhash", "Балқаш көлі", "озеро Балхаш", "lake", (74.5, 46.0), None),
    ("lake-issyk-kul", "Issyk-Kul", "Ыстықкөл", "Иссык-Куль", "lake", (77.3, 42.4), None),
    ("lake-zaysan", "Lake Zaysan", "Зайсан көлі", "озеро Зайсан", "lake", (84.0, 48.0), (82.5, 47.5, 85.0, 48.305)),
    ("lake-alakol", "Lake Alakol", "Алакөл", "озеро Алаколь", "lake", (81.7, 46.1), None),
    ("lake-sasykkol", "Lake Sasykkol", "Сасықкөл", "озеро Сасыкколь", "lake", (80.99, 46.59), None),
    ("lake-tengiz", "Lake Tengiz", "Теңіз көлі", "озеро Тенгиз", "lake", (68.89, 50.44), None),
    ("lake-seletytengiz", "Lake Seletytengiz", "Сілетітеңіз", "озеро Силетитениз", "lake", (73.28, 53.23), None),
    ("lake-chany", "Lake Chany", "Шаны көлі", "озеро Чаны", "lake", (76.98, 54.83), None),
    ("lake-kulunda", "Lake Kulunda", "Құлынды көлі", "Кулундинское озеро", "lake", (79.6, 52.98), None),
    ("lake-kushmurun", "Lake Kushmurun", "Қосмұрын көлі", "озеро Кушмурун", "lake", (64.86, 52.73), None),
    ("lake-markakol", "Lake Markakol", "Марқакөл", "озеро Маркаколь", "lake", (85.74, 48.74), None),
    ("lake-ebinur", "Lake Ebinur", "Эби-Нұр көлі", "озеро Эби-Нур", "lake", (82.93, 44.87), None),
    ("lake-sayram", "Sayram Lake", "Сайрам көлі", "озеро Сайрам-Нур", "lake", (81.16, 44.61), None),
    ("lake-ulungur", "Lake Ulungur", "Ұлыңғыр көлі", "озеро Улюнгур", "lake", (87.23, 47.22), None),
    ("lake-bosten", "Bosten Lake", "Бағраш көлі", "озеро Баграшкёль", "lake", (87.06, 41.97), None),
    ("lake-lop-nur", "Lop Nur", "Лобнор", "Лобнор", "lake", (90.29, 40.49), None),
    ("lake-son-kul", "Song-Kul", "Соңкөл", "Сонкёль", "lake", (75.16, 41.84), None),
    ("lake-karakul", "Karakul (Pamir)", "Қаракөл", "Каракуль", "lake", (73.48, 39.01), None),
    ("lake-uvs", "Uvs Nuur", "Увс көлі", "Убсу-Нур", "lake", (92.77, 50.33), None),
    ("lake-khyargas", "Khyargas Nuur", "Қырғыс көлі", "Хяргас-Нуур", "lake", (93.37, 49.14), None),
    ("lake-khar-us", "Khar-Us Nuur", "Хар-Ус көлі", "Хар-Ус-Нуур", "lake", (92.35, 48.06), None),
    ("lake-elton", "Lake Elton", "Эльтон көлі", "озеро Эльтон", "lake", (50.01, 48.82), None),
    ("lake-urmia", "Lake Urmia", "Урмия көлі", "озеро Урмия", "lake", (45.51, 37.7), None),
    ("lake-nam-co", "Nam Co", "Намцо көлі", "Намцо", "lake", (90.58, 30.73), None),
    ("lake-siling-co", "Siling Co", "Силинг көлі", "Силинг-Цо", "lake", (88.94, 31.75), None),
]

WATER_TOL = 0.012  # degrees, ~1 km


def build_water():
    shore = gmt(["coast", REGION, "-W", "-M", "-Dh", "-A50+l"], "shore.txt")
    segs = read_segments(shore)
    lines2 = [LineString(c) for lv, c in segs if lv == 2]
    lines3 = [LineString(c) for lv, c in segs if lv == 3]
    lakes = list(polygonize(linemerge(lines2)))
    islands = list(polygonize(linemerge(lines3))) if lines3 else []
    feats = []
    geoms = {}
    for lid, name, kk, ru, kind, pt, clip in LAKES:
        p = Point(pt)
        hits = [l for l in lakes if l.contains(p)]
        if not hits:
            print("WARNING: no lake polygon at", lid, pt, file=sys.stderr)
            continue
        poly = Polygon(max(hits, key=lambda g: g.area).exterior)
        isl = [i for i in islands if poly.contains(i.representative_point())]
        if isl:
            poly = poly.difference(unary_union(isl))
        if clip:
            poly = poly.intersection(box(*clip))
            if poly.geom_type == "MultiPolygon":
                poly = max(poly.geoms, key=lambda g: g.area)
        poly = poly.simplify(WATER_TOL, preserve_topology=True).buffer(0)
        area = abs(GEOD.geometry_area_perimeter(poly)[0]) / 1e6
        print(f"{lid:22s} area {area:9.0f} km2  bounds {[round(v, 2) for v in poly.bounds]}")
        geoms[lid] = poly
        props = {"id": lid, "name": name, "name:kk": kk, "name:ru": ru, "kind": kind, "source": SRC}
        if lid == "lake-zaysan":
            props["note"] = ("GSHHG shows the Bukhtarma reservoir (1960) joined to the lake; "
                             "cut back to the natural lake south of 48.3N")
        if lid == "aral-sea":
            props["note"] = ("GSHHG outline is the full mid-20th-century sea (area ~%d km2 without islands), "
                             "close to its 18th-century extent" % round(area, -2))
        if lid == "lake-lop-nur":
            props["certainty"] = "approximate"
            props["note"] = "Lop Nur wandered and dried in the 20th century; GSHHG outline"
        feats.append({"type": "Feature", "properties": props, "geometry": rnd(poly)})
    write_fc(os.path.join(GEODATA, "water.geojson"), feats)
    return geoms


# --------------------------------------------------------------------------
# Rivers
# --------------------------------------------------------------------------
# WDBII classes: 1-4 permanent rivers (major .. minor), 5-7 intermittent,
# 8 ?, 10-12 canals.  Cost factor per class steers the path to big rivers.
CLASS_COST = {1: 1.0, 2: 1.15, 3: 1.35, 4: 1.6, 5: 1.4, 6: 1.7, 7: 2.0, 8: 2.5}

# Waypoints: (lon, lat) snapped to the network; ("raw", lon, lat) used as is
# (a drowned valley under a modern reservoir).  A None splits the river into
# separate parts (a lake in between).
ZAYSAN_TO_DAM = [("raw", 83.46, 48.30), ("raw", 83.46, 48.45), ("raw", 83.38, 48.60),
                 ("raw", 83.40, 48.78), ("raw", 83.55, 48.92), ("raw", 83.80, 49.03),
                 ("raw", 84.05, 49.10), ("raw", 84.12, 49.20), ("raw", 84.00, 49.32),
                 ("raw", 83.80, 49.43), ("raw", 83.60, 49.55), ("raw", 83.40, 49.62)]

RIVERS = [
    # id, name, kk, ru, rank, waypoints
    ("river-syr-darya", "Syr Darya", "Сырдария", "Сырдарья", 1,
     [(71.75, 40.93), (70.9, 40.62), (69.63, 40.26), (69.27, 40.21), (68.95, 40.9),
      (68.45, 41.12), (67.95, 41.26), (68.1, 42.2), (68.0, 43.4), (66.7, 44.3), (65.51, 44.83),
      (64.0, 44.9), (62.1, 45.76), (61.3, 46.05), (60.93, 46.1)]),
    ("river-amu-darya", "Amu Darya", "Әмудария", "Амударья", 1,
     [(68.3, 37.08), (67.28, 37.22), (65.2, 37.83), (63.57, 39.08), (61.6, 41.0),
      (60.9, 41.6), (59.6, 42.46), (59.1, 43.5), (59.2, 43.85)]),
    ("river-ili", "Ili", "Іле", "Или", 1,
     [(82.05, 43.55), (81.32, 43.89), (80.3, 43.98), (79.0, 43.85), (77.9, 43.85),
      ("raw", 77.6, 43.84), ("raw", 77.2, 43.86), (77.0, 43.95), (76.27, 44.8), (75.0, 45.2), (74.6, 45.3), (74.12, 45.36)]),
    ("river-irtysh", "Irtysh", "Ертіс", "Иртыш", 1,
     [(88.6, 47.45), (87.2, 47.6), (86.4, 47.95), (85.2, 47.95), (84.6, 47.85), None] + ZAYSAN_TO_DAM +
     [(83.3, 49.66), (82.61, 49.97), (81.3, 50.4), (80.23, 50.42), (78.0, 51.4), (76.95, 52.3), (75.0, 53.6),
      (73.37, 54.98), (74.0, 56.0), (74.37, 56.9), (71.3, 57.6), (69.0, 58.0), (68.25, 58.19)]),
    ("river-ishim", "Ishim", "Есіл", "Ишим", 1,
     [(73.3, 50.65), (72.3, 51.1), (71.43, 51.15), (69.8, 51.6), (68.36, 51.82), (67.1, 52.6),
      (68.6, 53.9), (69.15, 54.87), (69.49, 56.1), (70.6, 57.0), (71.17, 57.68)]),
    ("river-ural", "Ural (Yaik)", "Жайық", "Урал (Яик)", 1,
     [(59.4, 54.2), (59.0, 53.4), (59.0, 52.2), ("raw", 58.85, 51.95), ("raw", 58.75, 51.75), (58.57, 51.22),
      (57.0, 51.5), (55.10, 51.75), (53.0, 51.5), (51.37, 51.23), (51.6, 50.0), (51.5, 48.5),
      (51.92, 47.1), (51.8, 46.9)]),
    ("river-volga", "Volga", "Еділ", "Волга", 1,
     [("raw", 47.25, 56.13), ("raw", 47.9, 55.95), ("raw", 48.52, 55.85), ("raw", 49.10, 55.76), ("raw", 49.28, 55.45),
      ("raw", 49.30, 55.20), ("raw", 48.83, 54.94), ("raw", 48.55, 54.60), ("raw", 48.42, 54.32), ("raw", 48.80, 53.96),
      ("raw", 49.15, 53.65), ("raw", 49.42, 53.47), ("raw", 49.70, 53.36), ("raw", 50.08, 53.20), ("raw", 49.98, 53.07),
      ("raw", 49.55, 53.05), ("raw", 49.05, 53.10), ("raw", 48.68, 53.16), ("raw", 48.40, 52.85), ("raw", 48.10, 52.49),
      ("raw", 47.78, 52.18), ("raw", 47.50, 52.03), ("raw", 46.80, 51.72), ("raw", 46.05, 51.53), ("raw", 45.92, 51.28),
      ("raw", 45.70, 51.02), ("raw", 45.52, 50.55), ("raw", 45.40, 50.08), ("raw", 45.05, 49.58), ("raw", 44.83, 49.05),
      (44.58, 48.72), (45.5, 47.9), (46.5, 47.0), (47.8, 46.5), (48.03, 46.35), (48.4, 46.0), (48.7, 45.8)]),
    ("river-tobol", "Tobol", "Тобыл", "Тобол", 2,
     [(61.3, 51.9), (62.5, 52.55), (63.62, 53.22), (64.5, 54.2), (65.34, 55.45), (66.35, 56.65),
      (67.4, 57.6), (68.25, 58.19)]),
    ("river-chu", "Chu", "Шу", "Чу", 2,
     [(75.75, 42.15), (76.0, 42.4), (75.8, 42.6), (75.29, 42.82), (74.6, 42.95), (73.75, 43.6),
      (72.5, 44.3), (71.7, 44.8), (70.0, 45.4), (68.8, 45.4)]),
    ("river-talas", "Talas", "Талас", "Талас", 2,
     [(72.9, 42.4), (72.24, 42.5), (71.37, 42.88), (70.9, 43.6), (70.6, 44.2)]),
    ("river-arys", "Arys", "Арыс", "Арысь", 3,
     [(70.5, 42.3), (69.6, 42.4), (68.8, 42.45), (68.3, 42.6)]),
    ("river-sarysu", "Sarysu", "Сарысу", "Сарысу", 2,
     [(70.0, 48.5), (68.8, 47.9), (68.0, 47.4), (67.6, 46.5), (67.1, 45.3)]),
    ("river-emba", "Emba", "Жем", "Эмба", 2,
     [("raw", 58.75, 49.25), ("raw", 58.45, 49.0), ("raw", 58.15, 48.83), ("raw", 57.8, 48.65),
      ("raw", 57.4, 48.45), ("raw", 57.0, 48.25), ("raw", 56.75, 48.1), ("raw", 56.48, 47.98),
      ("raw", 56.1, 47.85), ("raw", 55.7, 47.68), ("raw", 55.3, 47.5), ("raw", 54.9, 47.35),
      ("raw", 54.5, 47.15), ("raw", 54.2, 47.02), ("raw", 54.0, 46.95), ("raw", 53.75, 46.85),
      ("raw", 53.5, 46.75), ("raw", 53.25, 46.68)]),
    ("river-irgiz", "Irgiz", "Ырғыз", "Иргиз", 3,
     [(60.0, 49.5), (61.27, 48.62), (62.1, 48.2)]),
    ("river-turgai", "Turgai", "Торғай", "Тургай", 2,
     [(67.6, 49.36), (66.1, 49.55), (65.0, 50.1), (63.5, 49.63), (62.3, 48.2)]),
    ("river-nura", "Nura", "Нұра", "Нура", 2,
     [(74.2, 49.6), (73.2, 50.0), (72.2, 50.3), (71.0, 50.5), (69.6, 50.45)]),
    ("river-ayagoz", "Ayagoz", "Аягөз", "Аягуз", 3,
     [(80.6, 48.5), (80.44, 47.97), (79.6, 47.2), (78.9, 46.6)]),
    ("river-karatal", "Karatal", "Қаратал", "Каратал", 3,
     [(79.0, 44.9), (78.4, 45.02), (77.97, 45.25), (77.4, 45.9), (77.2, 46.35)]),
    ("river-lepsy", "Lepsy", "Лепсі", "Лепсы", 3,
     [(80.6, 45.4), (79.9, 45.7), (78.9, 46.2), (78.7, 46.5)]),
    ("river-zeravshan", "Zeravshan", "Зеравшан", "Зеравшан", 2,
     [(70.2, 39.45), (68.8, 39.3), (67.6, 39.5), ("raw", 67.3, 39.6), ("raw", 66.96, 39.70),
      ("raw", 66.6, 39.78), ("raw", 66.27, 39.91), ("raw", 65.9, 40.0), ("raw", 65.6, 40.08),
      (65.35, 40.16), (64.42, 39.82), (63.9, 39.55)]),
    ("river-naryn", "Naryn", "Нарын", "Нарын", 2,
     [(77.8, 41.85), (76.0, 41.43), (74.3, 41.5), ("raw", 73.3, 41.8), ("raw", 72.9, 41.72), (72.6, 41.55),
      (72.2, 41.35), (71.75, 40.93)]),
    ("river-kara-darya", "Kara Darya", "Қарадария", "Карадарья", 3,
     [(73.5, 40.6), (73.3, 40.77), (72.34, 40.8), (71.75, 40.93)]),
    # Ob: Biysk (Biya-Katun confluence), Barnaul, Kamen-na-Obi, the Novosibirsk
    # reservoir (hand-drawn along the drowned valley by Ordynskoye to the dam),
    # Novosibirsk, Kolpashevo, Kargasok.
    ("river-ob", "Ob", "Обь", "Обь", 1,
     [(85.2, 52.53), (83.77, 53.35), (81.35, 53.79), ("raw", 81.62, 53.98), ("raw", 81.9, 54.33),
      ("raw", 82.35, 54.6), ("raw", 82.75, 54.8), (82.97, 54.88), (82.92, 55.03), (82.90, 58.31), (80.86, 59.06)]),
    # Tarim: from the Yarkand-Aksu confluence at Alar east along the Taklamakan's
    # northern edge past Tikanlik to where WDBII ends (the modern terminal reach).
    ("river-tarim", "Tarim", "Тарим", "Тарим", 1,
     [(81.27, 40.55), (84.0, 41.1), (86.2, 41.0), (88.0, 40.3), (88.3, 39.9)]),
    # Chirchiq: from the Chatkal-Pskem confluence past Gazalkent and Chirchiq,
    # east of Tashkent, to the Syr Darya at Chinaz.
    ("river-chirchiq", "Chirchiq", "Шыршық", "Чирчик", 3,
     [(70.0, 41.62), (69.58, 41.47), (68.77, 40.94)]),
    # Chayan (Shayan): not in WDBII; source and mouth from its gazetteer entry.
    ("river-chayan", "Chayan (Shayan)", "Шаян", "Шаян (Чаян)", 3,
     [("raw", 69.854, 43.221), ("raw", 69.45, 43.02), ("raw", 69.072, 42.859)]),
]

HAND_DRAWN = {
    "river-volga": "Below Volgograd from WDBII; above it, where the modern reservoirs interrupt WDBII, drawn by hand "
                   "through Cheboksary, Kazan, the Kama mouth, Ulyanovsk, the Samara bend, Syzran, Khvalynsk, Volsk, "
                   "Saratov, Kamyshin and Dubovka",
    "river-emba": "not in WDBII at this resolution: drawn by hand through Emba town, Zharkamys and Kulsary",
    "river-zeravshan": "WDBII lacks the middle course: Samarkand-Navoi stretch drawn by hand (Kattakurgan)",
    "river-chayan": "not in WDBII: drawn straight from its source on the Karatau (43°13′15″N 69°51′14″E) "
                    "south-west to its mouth (42°51′33″N 69°04′19″E), coordinates of the gazetteer entry "
                    "'Шаян (река)' (1:100,000 sheet K-42-10); 138 km long, so the real course bends within "
                    "about 15 km of this line. Today it ends in the Arys-Turkestan canal; the seed names it "
                    "in 1718 ('the Arys and Chayan rivers')",
}

NOTES = {
    "river-tarim": "WDBII's modern course; its lower reach and terminal lakes shifted over the centuries "
                   "(Kara-Koshun / Lop Nur in the 18th century), so the end is approximate",
}

# The rivers the seed's story follows: their names are promised on every overview map.
SEED_RIVERS = {"river-syr-darya", "river-irtysh", "river-ishim", "river-tobol", "river-ural", "river-arys",
               "river-ayagoz", "river-sarysu", "river-chayan", "river-ili", "river-chu", "river-talas"}
RIVER_TOL = {1: 0.004, 2: 0.006, 3: 0.006}  # degrees (~0.3-0.5 km) by rank

# Rivers whose last point should touch a sea or lake (WDBII ends short of
# some shores): the end is joined to the nearest shore point if within 30 km.
MOUTH = {"river-syr-darya": "aral-sea", "river-amu-darya": "aral-sea", "river-ili": "lake-balkhash",
         "river-ural": "caspian-sea", "river-volga": "caspian-sea", "river-emba": "caspian-sea",
         "river-karatal": "lake-balkhash", "river-lepsy": "lake-balkhash", "river-ayagoz": "lake-balkhash",
         "river-nura": "lake-tengiz"}


def build_graph():
    path = gmt(["coast", REGION, "-Ia", "-M", "-Dh"], "rivers.txt")
    segs = [(lv, c) for lv, c in read_segments(path) if lv is not None and lv < 10]
    G = nx.Graph()

    def key(p):
        return (round(p[0], 5), round(p[1], 5))

    for lv, coords in segs:
        f = CLASS_COST.get(lv, 3.0)
        for a, b in zip(coords, coords[1:]):
            ka, kb = key(a), key(b)
            if ka == kb:
                continue
            d = km(a, b)
            w = d * f
            if G.has_edge(ka, kb) and G[ka][kb]["w"] <= w:
                continue
            G.add_edge(ka, kb, w=w, lv=lv)
    # join dangling ends to any node within 1.5 km (tributary junctions,
    # bin-border cuts), and to other dangling ends within 60 km at a high
    # cost (gaps at modern reservoirs).
    nodes = list(G.nodes)
    pts = [Point(n) for n in nodes]
    tree = STRtree(pts)
    ends = [n for n in nodes if G.degree(n) == 1]
    endset = set(ends)
    for e in ends:
        for i in tree.query(Point(e).buffer(0.6)):
            n = nodes[i]
            if n == e or G.has_edge(e, n):
                continue
            d = km(e, n)
            if d < 1.5:
                G.add_edge(e, n, w=d * 1.5 + 0.1, lv=99)
            elif n in endset and d < 60:
                G.add_edge(e, n, w=d * 4.0, lv=99)
    return G, nodes, tree


def snap(G, nodes, tree, p, maxlv=8):
    best, bd = None, 1e9
    for r in (0.05, 0.15, 0.4, 1.0):
        for i in tree.query(Point(p).buffer(r)):
            n = nodes[i]
            lv = min(G[n][m]["lv"] for m in G[n])
            if lv > maxlv:
                continue
            d = km(p, n)
            if d < bd:
                best, bd = n, d
        if best is not None:
            break
    return best, bd


def trace(G, nodes, tree, wps):
    parts, cur = [], []
    prev = None
    for wp in wps + [None]:
        if wp is None:
            if len(cur) > 1:
                parts.append(cur)
            cur, prev = [], None
            continue
        if wp[0] == "raw":
            p = (wp[1], wp[2])
            cur.append(p)
            prev = ("raw", p)
            continue
        n, d = snap(G, nodes, tree, wp)
        if n is None:
            print(f"  waypoint {wp} not near any river; skipped", file=sys.stderr)
            continue
        if d > 15:
            print(f"  waypoint {wp} snapped {d:.1f} km away", file=sys.stderr)
        if prev is None or prev[0] == "raw":
            cur.append(n)
        else:
            try:
                path = nx.shortest_path(G, prev[1], n, weight="w")
            except nx.NetworkXNoPath:
                print(f"  no path {prev[1]} -> {n}; straight", file=sys.stderr)
                path = [prev[1], n]
            cur.extend(path[1:])
        prev = ("node", n)
    return parts


def build_rivers(water):
    from shapely.ops import nearest_points
    G, nodes, tree = build_graph()
    feats, geoms = [], {}
    for rid, name, kk, ru, rank, wps in RIVERS:
        parts = trace(G, nodes, tree, wps)
        if rid in MOUTH and MOUTH[rid] in water:
            w = water[MOUTH[rid]]
            end = Point(parts[-1][-1])
            if not w.contains(end):
                q = nearest_points(w.boundary, end)[0]
                d = km((end.x, end.y), (q.x, q.y))
                if 0.2 < d < 30:
                    parts[-1].append((q.x, q.y))
                    print(f"  {rid}: joined to {MOUTH[rid]} shore ({d:.1f} km)")
        lines = [LineString(p).simplify(RIVER_TOL[rank], preserve_topology=False) for p in parts]
        geom = lines[0] if len(lines) == 1 else MultiLineString(lines)
        nv = sum(len(l.coords) for l in lines)
        length = sum(GEOD.geometry_length(l) for l in lines) / 1000
        print(f"{rid:20s} rank {rank} parts {len(lines)} vertices {nv:5d} length {length:6.0f} km")
        geoms[rid] = geom
        # A river drawn wholly by hand (every waypoint "raw") owes nothing to WDBII.
        by_hand = all(w is not None and w[0] == "raw" for w in wps)
        props = {"id": rid, "name": name, "name:kk": kk, "name:ru": ru, "rank": rank,
                 "source": SRC_HAND if by_hand else SRC_R}
        if rid in SEED_RIVERS:
            props["label"] = "always"
        if rid in HAND_DRAWN:
            props["certainty"] = "approximate"
            props["note"] = HAND_DRAWN[rid]
        elif any(w is not None and w[0] == "raw" for w in wps):
            props["note"] = "course under a modern reservoir drawn by hand along the drowned valley"
        if rid in NOTES:
            props["certainty"] = "approximate"
            props["note"] = NOTES[rid]
        feats.append({"type": "Feature", "properties": props, "geometry": rnd(geom)})
    write_fc(os.path.join(GEODATA, "rivers.geojson"), feats)
    return geoms


if __name__ == "__main__":
    what = sys.argv[1:] or ["water", "rivers"]
    water = build_water()
    if "rivers" in what:
        build_rivers(water)
