#!/usr/bin/env python3
"""Writes the example atlas's GeoJSON files (run from this folder).

The boundaries are coarse, hand-placed polygons that share their vertices exactly: each
area is drawn once and given one OpenHistoricalMap-style feature per holder, dated with
`start_date`/`end_date` (a day-precision end is the first day under the next holder).
"""
import json

P = {
    1: (7.5, 43.8), 2: (7.0, 44.2), 3: (6.9, 45.1), 4: (7.0, 45.9), 5: (8.4, 46.45), 6: (8.7, 46.1),
    7: (8.9, 45.05), 8: (9.3, 44.6), 9: (9.8, 44.1), 10: (9.5, 46.5), 11: (10.45, 46.55), 12: (10.6, 45.9),
    13: (10.7, 45.4), 14: (10.9, 45.0), 15: (12.0, 46.4), 16: (12.7, 46.65), 17: (13.4, 46.3), 18: (13.5, 45.75),
    19: (12.35, 45.45), 20: (12.4, 44.9), 21: (10.5, 44.95), 22: (10.5, 44.25), 23: (11.4, 44.9), 24: (11.4, 44.2),
    25: (12.3, 44.4), 26: (12.55, 44.05), 27: (12.2, 43.75), 28: (11.7, 44.0), 29: (12.0, 43.0), 30: (11.8, 42.8),
    31: (11.5, 42.4), 32: (10.5, 42.95), 33: (10.3, 43.5), 34: (13.62, 43.66), 35: (13.9, 42.9), 36: (13.2, 42.6),
    37: (12.4, 42.45), 38: (13.8, 41.7), 39: (13.2, 41.3), 40: (12.3, 41.7), 41: (11.8, 42.1), 42: (14.2, 42.45),
    43: (8.9, 44.4),
}
SOUTH = [(15.0, 42.0), (16.1, 41.9), (16.9, 41.1), (17.95, 40.65), (18.5, 40.15), (18.35, 39.8), (17.2, 40.45),
         (17.1, 39.1), (15.65, 38.1), (16.0, 39.2), (15.5, 40.0), (14.8, 40.6), (14.25, 40.85), (13.6, 41.2)]


def ring(*ids):
    pts = [P[i] if isinstance(i, int) else i for i in ids]
    return [list(p) for p in pts + [pts[0]]]


AREAS = {
    "piedmont": ("Piedmont and Liguria", [ring(1, 2, 3, 4, 5, 6, 7, 8, 9, 43)]),
    "sardinia-island": ("Sardinia", [ring((8.4, 41.0), (8.4, 40.0), (8.5, 38.9), (9.6, 39.1), (9.8, 40.5), (9.6, 41.2))]),
    "savoy": ("Savoy", [ring((5.8, 45.1), 3, 4, (5.8, 46.4))]),
    "nice": ("County of Nice", [ring(1, (7.2, 43.65), (6.9, 44.1), 2)]),
    "lombardy": ("Lombardy", [ring(6, 10, 11, 12, 13, 14, 21, 7)]),
    "venetia": ("Venetia", [ring(12, 15, 16, 17, 18, 19, 20, 23, 14, 13)]),
    "parma": ("Parma", [ring(7, 21, 22, 8)]),
    "modena": ("Modena", [ring(21, 14, 23, 24, 22)]),
    "romagna": ("Romagna (the Legations)", [ring(23, 20, 25, 26, 27, 28, 24)]),
    "tuscany": ("Tuscany", [ring(9, 8, 22, 24, 28, 27, 29, 30, 31, 32, 33)]),
    "marche-umbria": ("Marche and Umbria", [ring(26, 34, 35, 36, 37, 30, 29, 27)]),
    "lazio": ("Lazio", [ring(30, 37, 36, 38, 39, 40, 41, 31)]),
    "naples": ("Naples (mainland)", [ring(35, 42, *SOUTH, 39, 38, 36)]),
    "sicily": ("Sicily", [ring((12.4, 37.8), (14.3, 37.0), (15.1, 36.7), (15.1, 37.5), (15.6, 38.3), (13.35, 38.2))]),
}
ITALY = "1861-03-17"  # the Kingdom of Italy is proclaimed at Turin
# area -> [(polity, start, end, source)]
HOLDERS = {
    "piedmont": [("sardinia", "1815", ITALY, "Italian unification"), ("italy", ITALY, None, "Italian unification")],
    "sardinia-island": [("sardinia", "1815", ITALY, "Italian unification"), ("italy", ITALY, None, "Italian unification")],
    "savoy": [("sardinia", "1815", "1860-06-14", "Treaty of Turin (1860)"), ("france", "1860-06-14", None, "Treaty of Turin (1860)")],
    "nice": [("sardinia", "1815", "1860-06-14", "Treaty of Turin (1860)"), ("france", "1860-06-14", None, "Treaty of Turin (1860)")],
    "lombardy": [("austria", "1815", "1859-07-12", "Armistice of Villafranca"), ("sardinia", "1859-07-12", ITALY, "Treaty of Zürich"),
                 ("italy", ITALY, None, "Italian unification")],
    "venetia": [("austria", "1815", "1866-10-19", "Third Italian War of Independence"),
                ("italy", "1866-10-19", None, "Third Italian War of Independence")],
    "parma": [("parma", "1847", "1860-03-18", "Duchy of Parma"), ("sardinia", "1860-03-18", ITALY, "Italian unification"),
              ("italy", ITALY, None, "Italian unification")],
    "modena": [("modena", "1814", "1860-03-18", "Duchy of Modena and Reggio"), ("sardinia", "1860-03-18", ITALY, "Italian unification"),
               ("italy", ITALY, None, "Italian unification")],
    "romagna": [("papal_states", "1815", "1860-03-18", "Papal States"), ("sardinia", "1860-03-18", ITALY, "Italian unification"),
                ("italy", ITALY, None, "Italian unification")],
    "tuscany": [("tuscany", "1815", "1860-03-22", "Grand Duchy of Tuscany"), ("sardinia", "1860-03-22", ITALY, "Italian unification"),
                ("italy", ITALY, None, "Italian unification")],
    "marche-umbria": [("papal_states", "1815", "1860-12-17", "Papal States"), ("sardinia", "1860-12-17", ITALY, "Italian unification"),
                      ("italy", ITALY, None, "Italian unification")],
    "lazio": [("papal_states", "1815", "1870-10-09", "Capture of Rome"), ("italy", "1870-10-09", None, "Capture of Rome")],
    "naples": [("two_sicilies", "1816", "1860-12-17", "Expedition of the Thousand"), ("sardinia", "1860-12-17", ITALY, "Italian unification"),
               ("italy", ITALY, None, "Italian unification")],
    "sicily": [("two_sicilies", "1816", "1860-12-17", "Expedition of the Thousand"), ("sardinia", "1860-12-17", ITALY, "Italian unification"),
               ("italy", ITALY, None, "Italian unification")],
}

features = []
for area, (name, rings) in AREAS.items():
    for polity, start, end, source in HOLDERS[area]:
        props = {"id": f"{area}-{polity}", "boundary": "administrative", "admin_level": "4", "name": name,
                 "polity": polity, "start_date": start, "end_date": end or "", "certainty": "approximate",
                 "source": f"Wikipedia: {source}", "note": "boundary approximate: coarse hand-placed polygon"}
        features.append({"type": "Feature", "properties": props, "geometry": {"type": "Polygon", "coordinates": rings}})

TOWNS = [
    ("turin", "Turin", "Torino", (7.69, 45.07), "yes"), ("milan", "Milan", "Milano", (9.19, 45.46), None),
    ("venice", "Venice", "Venezia", (12.33, 45.44), None), ("florence", "Florence", "Firenze", (11.25, 43.77), None),
    ("rome", "Rome", "Roma", (12.48, 41.89), "yes"), ("naples-city", "Naples", "Napoli", (14.27, 40.85), "yes"),
    ("palermo", "Palermo", "Palermo", (13.36, 38.12), None), ("genoa", "Genoa", "Genova", (8.93, 44.41), None),
    ("bologna", "Bologna", "Bologna", (11.34, 44.49), None), ("parma-city", "Parma", "Parma", (10.33, 44.80), None),
    ("modena-city", "Modena", "Modena", (10.93, 44.65), None), ("ancona", "Ancona", "Ancona", (13.52, 43.62), None),
    ("nice-city", "Nice", "Nizza", (7.27, 43.70), None), ("cagliari", "Cagliari", "Cagliari", (9.11, 39.22), None),
    ("marsala", "Marsala", "Marsala", (12.44, 37.80), None), ("gaeta", "Gaeta", "Gaeta", (13.57, 41.21), None),
]
for tid, name, it, (lon, lat), capital in TOWNS:
    props = {"id": tid, "name": name, "name:it": it, "place": "city" if capital or tid in ("milan", "venice", "florence", "palermo", "genoa") else "town"}
    if capital:
        props["capital"] = capital
    features.append({"type": "Feature", "properties": props, "geometry": {"type": "Point", "coordinates": [lon, lat]}})

with open("italy-ohm.geojson", "w") as f:
    f.write('{"type": "FeatureCollection", "features": [\n')
    f.write(",\n".join(json.dumps(x, ensure_ascii=False) for x in features))
    f.write("\n]}\n")
