#!/usr/bin/env python3
"""Quick matplotlib preview of geodata/ for one year (for eyeballing the data,
not the real renderer).

    /tmp/geo-venv/bin/pip install shapely matplotlib
    /tmp/geo-venv/bin/python tools/preview.py 1723 /tmp/preview-1723.png [W S E N]
"""
import json
import os
import sys

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Polygon as MplPolygon  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
D = os.path.join(ROOT, "geodata")
COL = {"dzungar": "#d9823b", "kazakh": "#3b7dd8", "kazakh_senior": "#2a5fb0", "kazakh_middle": "#4f8fe0",
       "kazakh_junior": "#8db8f0", "qing": "#c9b458", "russia": "#9a9a9a", "kalmyk": "#b58cc7",
       "bukhara": "#7fae6e", "khiva": "#a6c79a", "kyrgyz": "#c98f8f", "yarkent": "#b0a080", "kokand": "#6fa39a",
       "khalkha": "#c7b3a0", "tibet": "#d6c2d6", "karakalpak": "#90c0b0", "bashkir": "#b8b8a0"}


def yr(s, end=False):
    return int(s.split("-")[0]) if s else (9999 if end else -9999)


def holder(control, y):
    best = None
    for sp in control:
        if yr(sp.get("from")) <= y <= yr(sp.get("to"), True):
            if best is None or yr(sp.get("from")) >= yr(best.get("from")):
                best = sp
    return best


def alive(p, y):
    if "date" in p:
        return yr(p["date"]) == y
    return yr(p.get("start_date")) <= y <= yr(p.get("end_date"), True)


def polys(g):
    if g["type"] == "Polygon":
        return [g["coordinates"]]
    if g["type"] == "MultiPolygon":
        return g["coordinates"]
    return []


def lines(g):
    if g["type"] == "LineString":
        return [g["coordinates"]]
    if g["type"] == "MultiLineString":
        return g["coordinates"]
    return []


def load(n):
    p = os.path.join(D, n + ".geojson")
    return json.load(open(p, encoding="utf-8"))["features"] if os.path.exists(p) else []


def main():
    y = int(sys.argv[1])
    out = sys.argv[2]
    bbox = list(map(float, sys.argv[3:7])) if len(sys.argv) >= 7 else [44, 34, 98, 58]
    fig, ax = plt.subplots(figsize=(16, 10))
    ax.set_facecolor("#f3ecd9")
    for f in load("territories"):
        sp = holder(f["properties"].get("control", []), y)
        if not sp:
            continue
        c = COL.get(sp["polity"], "#fff")
        hatch = {"occupied": "//", "tributary": "..", "contested": "xx"}.get(sp.get("status"))
        for pc in polys(f["geometry"]):
            ax.add_patch(MplPolygon(pc[0], closed=True, fc=c, ec="#555", lw=0.4, alpha=0.55, hatch=hatch))
        lx, ly = f["geometry"]["coordinates"][0][0][0] if f["geometry"]["type"] == "MultiPolygon" else f["geometry"]["coordinates"][0][0]
    for f in load("water"):
        for pc in polys(f["geometry"]):
            ax.add_patch(MplPolygon(pc[0], closed=True, fc="#a9cbe8", ec="#3b6fa0", lw=0.5))
            for h in pc[1:]:
                ax.add_patch(MplPolygon(h, closed=True, fc="#f3ecd9", ec="#3b6fa0", lw=0.3))
    for f in load("rivers"):
        w = {1: 1.2, 2: 0.8, 3: 0.5}[f["properties"]["rank"]]
        for l in lines(f["geometry"]):
            xs, ys = zip(*l)
            ax.plot(xs, ys, color="#3b6fa0", lw=w)
    for f in load("landforms"):
        p = f["properties"]
        if f["geometry"]["type"] == "Point":
            x, yy = f["geometry"]["coordinates"]
            ax.text(x, yy, p["name"], fontsize=7, style="italic", color="#6b5b3e", ha="center", clip_on=True)
    for f in load("campaigns"):
        p = f["properties"]
        if not alive(p, y):
            continue
        xs, ys = zip(*f["geometry"]["coordinates"])
        ls = {"advance": "-", "retreat": "--", "raid": ":", "flight": "-"}[p["kind"]]
        lw = 4 if p["kind"] == "flight" else 1.5
        ax.plot(xs, ys, ls, color=COL.get(p["side"], "k"), lw=lw, alpha=0.8)
        ax.annotate("", xy=(xs[-1], ys[-1]), xytext=(xs[-2], ys[-2]),
                    arrowprops=dict(arrowstyle="->", color=COL.get(p["side"], "k"), lw=1.5))
    for f in load("cities"):
        p = f["properties"]
        if not alive(p, y):
            continue
        sp = holder(p.get("control", []), y) if p.get("control") else None
        if p.get("control") and not sp:
            continue
        c = COL.get(sp["polity"], "k") if sp else "k"
        m = {"capital": "s", "fortress": "^", "site": "D", "city": "o"}[p["kind"]]
        if sp and sp.get("status") == "destroyed":
            m = "x"
        x, yy = f["geometry"]["coordinates"]
        ax.plot(x, yy, m, color=c, mec="k", ms=5)
        ax.text(x + 0.15, yy + 0.1, p["name"], fontsize=6.5, clip_on=True)
    for f in load("battles"):
        p = f["properties"]
        if not alive(p, y):
            continue
        x, yy = f["geometry"]["coordinates"]
        ax.plot(x, yy, "*", color=COL.get(p.get("victor"), "r"), mec="k", ms=13)
        ax.text(x + 0.15, yy - 0.3, p["name"], fontsize=7, color="darkred", clip_on=True)
    caps = [f["properties"]["caption"] for f in load("events") if alive(f["properties"], y)]
    ax.set_title(f"{y}: " + " · ".join(caps)[:250], fontsize=9, wrap=True)
    ax.set_xlim(bbox[0], bbox[2])
    ax.set_ylim(bbox[1], bbox[3])
    ax.set_aspect(1.35)
    ax.grid(True, lw=0.3)
    plt.tight_layout()
    plt.savefig(out, dpi=70)


if __name__ == "__main__":
    main()
