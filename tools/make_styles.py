#!/usr/bin/env python3
"""Write styles/atlas.json, styles/print.json and styles/grayscale.json from one palette.

The three styles share their structure; only faces, colours and patterns differ.
Run from the project's root: python3 tools/make_styles.py
"""
import copy
import json

POLITIES = {
    # id: (English, Kazakh, Russian, fill, border)
    "kazakh": ("Kazakh Khanate", "Қазақ хандығы", "Казахское ханство", "#3d86a6", "#1f5870"),
    "kazakh_senior": ("Senior Jüz", "Ұлы жүз", "Старший жуз", "#2a7392", "#174a60"),
    "kazakh_middle": ("Middle Jüz", "Орта жүз", "Средний жуз", "#5aa5c6", "#2b6c89"),
    "kazakh_junior": ("Junior Jüz", "Кіші жүз", "Младший жуз", "#9fcde0", "#4a8aa6"),
    "dzungar": ("Dzungar Khanate", "Жоңғар хандығы", "Джунгарское ханство", "#d4703a", "#973c12"),
    "qing": ("Qing Empire", "Цин империясы", "Империя Цин", "#d6cb8e", "#8f8444"),
    "russia": ("Russian Empire", "Ресей империясы", "Российская империя", "#bcaed0", "#6f5f8a"),
    "kalmyk": ("Kalmyk Khanate", "Қалмақ хандығы", "Калмыцкое ханство", "#d8b0a8", "#8f5f57"),
    "bukhara": ("Khanate of Bukhara", "Бұхар хандығы", "Бухарское ханство", "#c2cba3", "#6e7a4c"),
    "khiva": ("Khanate of Khiva", "Хиуа хандығы", "Хивинское ханство", "#cfc0a2", "#7f6f50"),
    "kyrgyz": ("Kyrgyz", "Қырғыздар", "Киргизы", "#b0c9aa", "#5f7d58"),
    "yarkent": ("Yarkent Khanate", "Жаркент хандығы", "Яркендское ханство", "#dcc6a6", "#8e7352"),
    "kokand": ("Khanate of Kokand", "Қоқан хандығы", "Кокандское ханство", "#c7b592", "#7a6843"),
    "khalkha": ("Khalkha", "Халха", "Халха", "#c9bcae", "#7c6d60"),
    "tibet": ("Tibet", "Тибет", "Тибет", "#dccfbf", "#8d7d6b"),
    "karakalpak": ("Karakalpaks", "Қарақалпақтар", "Каракалпаки", "#bcc0a6", "#6c7058"),
    "bashkir": ("Bashkirs", "Башқұрттар", "Башкиры", "#b6bfcb", "#67717f"),
}

# Black and white: polities take a texture from the orthogonal family (none, dots,
# horizontal, vertical, grid) and one of four greys, each pair used once, and polities
# that share a border take different textures (but for the Bashkirs, whose dark grey
# hatched would read alike in a grid); the diagonal
# family (/, \\, x) is left to the statuses (tributary, occupied, contested), drawn over
# any polity. The Dzungar Khanate is the one dark fill; the Kazakh polities are dark-bordered.
L1, L2, L3, L4 = "#6e6e6e", "#9e9e9e", "#c4c4c4", "#e6e6e6"
GRAY = {
    # id: (fill, border, pattern)
    "dzungar": ("#3c3c3c", "#000000", "none"),
    "kazakh": (L2, "#646464", "grid"),
    "kazakh_senior": (L1, "#646464", "dots"),
    "kazakh_middle": (L2, "#646464", "horizontal"),
    "kazakh_junior": (L3, "#646464", "vertical"),
    "qing": (L4, "#505050", "grid"),
    "russia": (L4, "#505050", "dots"),
    "kalmyk": (L4, "#505050", "none"),
    "bukhara": (L3, "#505050", "grid"),
    "khiva": (L3, "#606060", "dots"),
    "kyrgyz": (L2, "#606060", "vertical"),
    "yarkent": (L2, "#606060", "dots"),
    "kokand": (L3, "#606060", "horizontal"),
    "khalkha": (L4, "#606060", "vertical"),
    "tibet": (L4, "#707070", "horizontal"),
    "karakalpak": (L2, "#606060", "none"),
    "bashkir": (L1, "#606060", "horizontal"),
}


def font(face, size, color, spacing=0.0, upper=False):
    f = {"face": face, "size_pt": size, "color": color}
    if spacing:
        f["letter_spacing_pt"] = spacing
    if upper:
        f["uppercase"] = True
    return f


def atlas():
    ink = "#2b2620"
    water_ink = "#2f6690"
    return {
        "name": "atlas",
        "land": "#f4eedc",
        "halo": "#f4eedcd9",
        "halo_pt": 1.2,
        "water": {"fill": "#b7d3e6", "outline": "#5b8db3", "outline_pt": 0.4,
                  "label": font("serif_italic", 8.0, water_ink, 0.8)},
        "rivers": {"color": "#5b8db3", "widths_pt": [1.2, 0.8, 0.5],
                   "label": font("serif_italic", 6.8, water_ink, 0.2), "label_max_rank": 2},
        "territories": {"fill_opacity": 0.42, "border_pt": 1.3, "approximate_dash_pt": [4.0, 2.0],
                        "hatch_spacing_pt": 4.5, "hatch_pt": 0.7,
                        "label": font("sans_bold", 11.0, "#000000", 2.2, True)},
        "polities": {k: {"name": v[0], "name:kk": v[1], "name:ru": v[2], "fill": v[3], "border": v[4]}
                     for k, v in POLITIES.items()},
        "cities": {"marker_pt": 4.2, "outline": "#2b2620", "unheld": "#ffffff", "captured": "#c0182a",
                   "label": font("sans", 7.5, ink), "capital_label": font("sans_bold", 8.0, ink)},
        "battles": {"size_pt": 8.0, "outline": "#2b2620", "undecided": "#9a9a9a",
                    "label": font("sans_bold_italic", 7.2, "#5a1a10")},
        "campaigns": {"width_pt": 1.6, "flight_width_pt": 7.0, "flight_opacity": 0.28, "arrow_pt": 7.0,
                      "label": font("sans_italic", 6.5, ink)},
        "landforms": font("serif_italic", 8.0, "#7a6a52", 1.8, True),
        "relief": {"fill": "#7a5c3a", "opacity": 0.14},
        "layers": ["territories", "water", "rivers", "graticule", "landforms", "campaigns", "battles", "cities"],
        "furniture": {
            "title": font("serif_bold", 17.0, ink),
            "year": font("serif_bold", 32.0, ink),
            "caption": font("serif_italic", 9.0, ink),
            "legend": font("sans", 7.0, ink),
            "credit": font("sans", 5.5, "#4a4238"),
            "panel": "#fbf7eee6",
            "frame": "#3b342b",
            "graticule": {"step_deg": 5.0, "color": "#8a7f6c80", "width_pt": 0.35,
                          "label": font("sans", 6.0, "#5a5040")},
            "versts": True,
            "compare": "#e0117f",
        },
    }

# Sides in black and white: besides its grey, a fighting side's routes and battle stars
# carry a mark: the Dzungars solid black, the Kazakhs cased (a white core between dark
# edges), their other neighbours striped (a white dashed core).
MARKS = {
    "dzungar": "solid",
    "kazakh": "cased", "kazakh_senior": "cased", "kazakh_middle": "cased", "kazakh_junior": "cased",
    "qing": "striped", "russia": "striped", "kalmyk": "striped", "bukhara": "striped",
    "khiva": "striped", "kyrgyz": "striped", "yarkent": "striped", "kokand": "striped",
    "khalkha": "striped", "tibet": "striped", "karakalpak": "striped", "bashkir": "striped",
}


def main():
    base = atlas()
    with open("styles/atlas.json", "w") as fh:
        json.dump(base, fh, ensure_ascii=False, indent=2)
        fh.write("\n")

    pr = copy.deepcopy(base)
    pr["name"] = "print"
    pr["land"] = "#f6f1e3"
    pr["halo"] = "#f6f1e3e0"
    pr["territories"]["fill_opacity"] = 0.38
    pr["cities"]["label"]["face"] = "serif"
    pr["cities"]["capital_label"]["face"] = "serif_bold"
    pr["furniture"]["legend"]["face"] = "serif"
    with open("styles/print.json", "w") as fh:
        json.dump(pr, fh, ensure_ascii=False, indent=2)
        fh.write("\n")

    gr = copy.deepcopy(pr)
    gr["name"] = "grayscale"
    gr["land"] = "#ffffff"
    gr["halo"] = "#ffffffe6"
    gr["water"].update({"fill": "#dcdcdc", "outline": "#606060"})
    gr["water"]["label"]["color"] = "#303030"
    gr["rivers"]["color"] = "#606060"
    gr["rivers"]["label"]["color"] = "#303030"
    gr["territories"]["fill_opacity"] = 0.55
    gr["cities"]["captured"] = "#000000"
    gr["battles"]["label"]["color"] = "#000000"
    gr["landforms"]["color"] = "#505050"
    gr["relief"] = {"fill": "#000000", "opacity": 0.07}
    gr["furniture"]["panel"] = "#ffffffee"
    gr["furniture"]["frame"] = "#000000"
    gr["furniture"]["graticule"]["color"] = "#80808080"
    gr["furniture"]["compare"] = "#000000"
    for k, (fill, border, pattern) in GRAY.items():
        gr["polities"][k].update({"fill": fill, "border": border, "pattern": pattern, "mark": MARKS[k]})
    with open("styles/grayscale.json", "w") as fh:
        json.dump(gr, fh, ensure_ascii=False, indent=2)
        fh.write("\n")


if __name__ == "__main__":
    main()
