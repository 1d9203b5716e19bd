"""Outlines of the mountain ranges in geodata/landforms.geojson.

Imported by author_history.py, which writes each range as the geometry of its
landform (a Polygon, or a MultiPolygon when a range has several parts) and keeps
the old point as the `label_point` property.

RANGES maps a landform id to a list of polygons; each polygon is a list of
rings (exterior first, then holes); each ring a list of (lon, lat) WGS84
vertices, not closed (the writer closes it and orients it: exterior
counter-clockwise, holes clockwise).

The outlines are GENERALISED by hand, not surveyed: each traces roughly the
foot of the range (the area above the foothills) between the anchors named in
its comment -- peaks, passes, towns known to lie at the foot, and the rivers
and lakes of geodata/ (which must stay in their valleys, outside the outline
or in a hole).  15-45 vertices per part; expect errors of 10-30 km.
"""

# Every outline is kept off the rivers and lakes of geodata/ except where a
# river really rises in, or cuts through, the range (tools/check_geodata.py
# checks the valleys and lakes listed in RANGE_VALLEYS / RANGE_LAKES there).

# Where the Tian Shan meets the Pamir-Alay: from the Fergana range's S end
# (the Kara-Darya's head) to the Alay range's E end near Irkeshtam (73.95E
# 39.7N), then E down the Kyzylsu valley past Ulugqat (75.26E 39.72N) to the
# Kashgar plain.  Both outlines share this line.
ALAY_KYZYLSU = [(73.65, 40.35), (73.85, 39.98), (74.4, 39.78), (75.0, 39.73), (75.45, 39.63)]

RANGES = {
    # Tian Shan.  Part 1, the main mass west of the Urumqi gap, taking in the
    # Talas Ala-Too, Chatkal and Kurama ranges (W), the Kyrgyz Ala-Too (N of the
    # Talas valley, S of the Chu valley: Bishkek 74.6E 42.87N at its foot), the
    # Zailiysky (Trans-Ili) Alatau (Almaty 76.9E 43.25N at its foot, Talgar
    # peak 77.3E 43.1N), Kungey and Terskey Ala-Too around Issyk-Kul (a hole,
    # with the Kochkor basin where the Chu rises), Ketmen (S of the Ili, Chunja
    # 79.46E 43.53N at its foot), the Borohoro N of the Ili valley, the Fergana
    # range (NE rim of the Fergana Valley: Jalal-Abad 73.0E 40.93N and the
    # Kara-Darya's exit 73.5E 40.6N at its foot), the Kokshaal-Too above the
    # Tarim plain (Kashgar, Aksu 80.26E 41.17N, Kuqa 82.96E 41.72N, Korla
    # 86.15E 41.76N lie on the plain) and the Iren Habirga S of Urumqi.
    # Khan Tengri 80.17E 42.21N and Pobeda 80.13E 42.03N lie well inside.
    # The Ili valley is a notch from the west up to the Kunes head (~84E);
    # the Talas valley a notch from Taraz up to ~73.3E; the Naryn depression
    # (Naryn 76.0E 41.43N) a hole; the Fergana Valley and the Yanqi basin
    # (Lake Bosten) stay outside.
    # Part 2, E of the Urumqi gap: Bogda Shan (Bogda Feng 88.3E 43.8N) with
    # Turpan (89.19E 42.95N) in its depression to the S, narrowing at the
    # Otunkoza gap (~91.5E), then the Barkol and Karlik Tagh (Hami 93.5E
    # 42.82N at the foot) to the range's E end (~95E).
    "landform-tian-shan": [
        [
            [  # exterior, from the Kurama range's SW tip N of Khujand, E along the Fergana rim
                (69.35, 40.75), (70.3, 40.8), (70.9, 40.98), (71.3, 41.1), (71.7, 41.17), (72.15, 41.24),
                (72.6, 41.1), (73.0, 41.0), (73.3, 40.87), (73.55, 40.66),
                # the Alay junction and the Kyzylsu valley, shared with the Pamir-Alay
                *ALAY_KYZYLSU,
                # S foot above the Kashgar and Tarim plains
                (76.2, 39.85), (77.0, 40.15), (77.8, 40.45),
                (78.6, 40.75), (79.3, 41.0), (80.2, 41.3), (81.2, 41.6), (82.2, 41.72), (83.0, 41.85),
                (84.0, 41.92), (84.8, 41.95), (85.6, 41.95),
                # round the Yanqi basin (Bosten) and the Turpan depression to the Urumqi gap
                (86.1, 42.2), (86.4, 42.42), (87.0, 42.48), (87.6, 42.4), (88.2, 42.58), (88.5, 42.88),
                (88.2, 43.22), (87.9, 43.47),
                # N foot above Dzungaria (Shihezi, Kuytun, Jinghe on the plain)
                (87.3, 43.65), (86.5, 43.85), (85.5, 43.95), (84.6, 44.1), (83.8, 44.3), (83.1, 44.5),
                (82.5, 44.55), (81.9, 44.47), (81.4, 44.42),
                # Borohoro's W tip S of Lake Sayram, then the Ili valley notch
                (81.0, 44.38), (80.65, 44.28), (81.2, 44.12), (81.8, 44.04), (82.5, 43.94), (83.2, 43.8),
                (84.0, 43.6), (83.3, 43.48), (82.6, 43.44), (82.0, 43.5), (81.4, 43.56), (80.8, 43.6),
                (80.3, 43.55), (79.8, 43.46), (79.3, 43.4),
                # Zailiysky Alatau's N foot, the Boom gorge, the Kyrgyz Ala-Too's N foot
                (78.6, 43.42), (78.0, 43.36), (77.4, 43.28), (76.9, 43.18), (76.4, 43.13), (75.9, 43.03),
                (75.75, 42.88), (75.2, 42.78), (74.6, 42.75), (74.0, 42.7), (73.4, 42.68), (72.8, 42.72),
                (72.2, 42.78), (71.75, 42.78),
                # the Talas valley notch (Talas 72.24E 42.52N inside it)
                (72.1, 42.64), (72.8, 42.61), (73.3, 42.5), (72.9, 42.42), (72.3, 42.42), (71.8, 42.48),
                # Talas Ala-Too / Karzhantau N foot (Zhabagly, the Arys' source), W edge above Tashkent
                (71.2, 42.46), (70.6, 42.37), (70.2, 42.3), (69.95, 42.12), (69.88, 41.88), (69.83, 41.65),
                (69.9, 41.35), (69.75, 41.12), (69.5, 40.95),
            ],
            [  # hole: Issyk-Kul basin (Balykchy, Karakol) with the Kochkor basin
                (75.62, 42.24), (75.78, 42.12), (76.1, 42.2), (76.45, 42.26), (77.1, 42.08), (77.75, 42.14),
                (78.05, 42.3), (78.48, 42.44), (78.42, 42.62), (78.36, 42.8), (77.8, 42.79), (77.3, 42.75),
                (76.6, 42.6), (76.1, 42.54), (75.9, 42.36),
            ],
            [  # hole: Naryn depression along the river, 74.5E-77.4E
                (74.5, 41.34), (75.0, 41.33), (75.5, 41.3), (76.0, 41.35), (76.6, 41.4), (77.35, 41.44),
                (77.4, 41.56), (76.6, 41.54), (76.0, 41.52), (75.5, 41.48), (75.0, 41.49), (74.5, 41.47),
            ],
        ],
        [
            [  # Bogda, Barkol and Karlik Tagh, W to E along the S foot, back along the N foot
                (88.1, 43.66), (88.6, 43.38), (89.5, 43.2), (90.5, 43.14), (91.5, 43.3), (92.3, 43.2),
                (93.0, 43.02), (93.5, 42.97), (94.3, 43.0), (94.9, 43.25), (94.4, 43.55), (93.8, 43.55),
                (93.0, 43.45), (92.3, 43.52), (91.5, 43.58), (90.5, 43.85), (89.5, 44.0), (88.7, 44.05),
                (88.2, 43.92),
            ],
        ],
    ],
    # Altai: Rudny Altai NE of the Irtysh from Ust-Kamenogorsk (82.61E 49.95N
    # at the foot; Ridder 83.5E 50.35N inside), the Narym, Kurchum and
    # Sarymsakty ranges N of the Zaysan basin (Kurchum village 83.65E 48.57N at
    # the foot; Lake Markakol, a mountain lake, inside), the Chinese Altai above
    # the Black Irtysh (Habahe 86.4E 48.06N, Altay 88.13E 47.85N at the foot),
    # the Mongolian Altai SE to ~94E with Khovd (91.64E 48.0N) and the Great
    # Lakes basin outside to the NE, the Chikhachev range and Chulyshman
    # plateau on the NE, and the N foot above Biysk (Gorno-Altaysk 85.96E
    # 51.96N at the foot).  Belukha 86.59E 49.81N and Khuiten 87.81E 49.15N
    # inside.  The Irtysh's Bukhtarma reach is a notch (the Kalba range to its
    # W is left out).
    "landform-altai": [
        [
            [
                (82.55, 50.1), (83.0, 49.84), (83.35, 49.76), (84.0, 49.42), (84.25, 49.23),
                (84.02, 49.04), (83.6, 48.86), (83.52, 48.62), (83.9, 48.52), (84.5, 48.52), (85.0, 48.42),
                (85.6, 48.34), (86.1, 48.3), (86.5, 48.16), (87.2, 48.04), (88.0, 47.98), (88.6, 47.72),
                (89.2, 47.58), (89.6, 47.25), (90.3, 46.85), (91.0, 46.3), (92.0, 45.8), (93.0, 45.4),
                (94.0, 45.05),
                # NE foot of the Mongolian Altai (Khovd, Khar-Us and Uvs basins outside)
                (94.3, 45.5), (93.5, 46.4), (92.5, 47.25), (91.7, 47.7), (91.0, 48.4), (90.4, 49.1),
                (90.2, 49.8), (89.9, 50.3),
                # Chikhachev range, Chulyshman plateau, Lake Teletskoye, N foot
                (89.2, 50.8), (88.8, 51.4), (88.0, 51.95), (87.0, 52.2), (86.0, 51.9), (85.0, 51.72),
                (84.2, 51.48), (83.3, 51.28), (82.4, 51.05), (82.1, 50.7), (82.3, 50.35),
            ],
        ],
    ],
    # Tarbagatai: E-W between the Zaysan basin (N; Aksuat 83.6E 47.75N on the
    # plain) and the Alakol-Tacheng basin (S; Urzhar 81.63E 47.09N at the foot,
    # Tacheng 82.98E 46.75N on the plain); crest ~47.2-47.4N (Tastau), from
    # ~80.7E (where the Chingiz-Tau hills begin, the Ayagoz's source outside)
    # to the saddle before the Saur at ~84.6E.
    "landform-tarbagatai": [
        [
            [
                (80.7, 47.35), (80.9, 47.2), (81.2, 47.12), (81.7, 47.12), (82.3, 46.98), (83.0, 46.9),
                (83.8, 46.86), (84.4, 46.86), (84.65, 47.0), (84.55, 47.14), (84.3, 47.25), (83.7, 47.45),
                (83.0, 47.58), (82.3, 47.65), (81.6, 47.66), (81.0, 47.56), (80.78, 47.48),
            ],
        ],
    ],
    # Saur: ~140 km x 50 km along the S side of the Black Irtysh (which stays
    # outside, ~47.9N) E of the Tarbagatai; Muztau (Sauyr Zhotasy) 85.57E
    # 47.05N; Jeminay 85.87E 47.43N on the N slope, Hoboksar ~85.7E 46.8N S.
    "landform-saur": [
        [
            [
                (84.8, 47.12), (84.95, 46.98), (85.2, 46.88), (85.5, 46.83), (85.8, 46.82), (86.1, 46.85),
                (86.4, 46.9), (86.65, 46.96), (86.75, 47.05), (86.65, 47.17), (86.5, 47.25), (86.2, 47.34),
                (85.95, 47.4), (85.6, 47.45), (85.3, 47.45), (84.95, 47.35),
            ],
        ],
    ],
    # Jungar (Dzungarian) Alatau: ~450 km from the Ili's N bank near
    # Kapchagay (Altyn-Emel and Chulak spurs, W tip ~77.85E) ENE to the
    # Dzungarian Gate (Alashankou 82.57E 45.17N just outside).  S foot above
    # the Ili plain (Zharkent 80.0E 44.17N outside), N of Lake Sayram and of
    # the Bortala valley (Bole 82.07E 44.9N outside); N foot above the Balkhash-
    # Alakol plain (Taldykorgan 78.38E 45.02N, Sarkand 79.9E 45.41N at the
    # foot; the Karatal and Lepsy leave the range at ~78.5E and ~80.5E).
    # Semenov-Tianshansky peak 80.3E 45.13N inside.
    "landform-jungar-alatau": [
        [
            [
                (77.85, 44.42), (78.2, 44.12), (78.7, 44.1), (79.2, 44.24), (79.7, 44.36), (80.2, 44.44),
                (80.6, 44.52), (80.88, 44.66), (81.1, 44.8), (81.35, 44.8), (81.8, 44.97), (82.3, 45.06),
                (82.38, 45.22), (82.0, 45.34), (81.6, 45.5), (81.2, 45.6), (80.7, 45.64), (80.3, 45.6),
                (79.9, 45.46), (79.4, 45.3), (79.0, 45.18), (78.6, 45.02), (78.2, 44.86), (77.95, 44.66),
            ],
        ],
    ],
    # Karatau: ~420 km NW-SE N of the Syr Darya, the Tian Shan's last spur.
    # SW foot: Kentau 68.5E 43.52N; Turkistan on the plain; the Chayan rises in
    # it.  NE foot: Sozak 68.46E 44.15N, Sholakkorgan 69.17E 43.77N, Zhanatas
    # 69.75E 43.57N, Karatau town 70.47E 43.18N.  Bessaz 69.98E 42.89N (highest) in the SE
    # part, which ends with the Boroldai hills N of the Arys (~70.7E 42.7N).
    # The NW end is a low tail to ~67.9E 44.6N.
    "landform-karatau": [
        [
            [
                (67.9, 44.62), (68.2, 44.2), (68.38, 43.75), (68.55, 43.58), (68.95, 43.36), (69.4, 43.06),
                (69.7, 42.82), (70.05, 42.65), (70.4, 42.62), (70.72, 42.66), (70.65, 42.86), (70.45, 43.12),
                (70.1, 43.35), (69.75, 43.52), (69.2, 43.72), (68.8, 43.96), (68.45, 44.08), (68.15, 44.5),
            ],
        ],
    ],
    # Ulytau: a low massif (~200 km N-S with its hills; Akmeshit 1,133 m) W of
    # the Sarysu; Ulytau village 67.0E 48.65N in its E foothills; the
    # Karakengir runs SE from it towards Zhezkazgan (67.71E 47.8N, outside).
    "landform-ulytau": [
        [
            [
                (66.75, 47.95), (66.95, 47.92), (67.15, 47.98), (67.3, 48.12), (67.4, 48.3), (67.45, 48.55),
                (67.45, 48.8), (67.42, 49.05), (67.35, 49.25), (67.2, 49.4), (67.05, 49.45), (66.9, 49.4),
                (66.75, 49.3), (66.62, 49.1), (66.55, 48.85), (66.5, 48.6), (66.5, 48.35), (66.58, 48.12),
            ],
        ],
    ],
    # Mugodzhar Hills: the Urals' S end, N-S ~250 km from the Kazakh-Russian
    # border (Khromtau 58.44E 50.25N in the N spurs) to the Shoshkakol ridge
    # near Shalkar (59.6E 47.83N, outside); the Emba rises in them (~58.75E
    # 49.25N) and the Irgiz on their E side; Zhem (Emba) 58.15E 48.83N W.
    "landform-mugodzhar": [
        [
            [
                (58.4, 50.45), (58.75, 50.48), (59.1, 50.3), (59.25, 49.85), (59.3, 49.3), (59.25, 48.7),
                (59.3, 48.15), (59.45, 47.75), (59.15, 47.62), (58.8, 47.95), (58.48, 48.5), (58.38, 49.1),
                (58.32, 49.7), (58.3, 50.15),
            ],
        ],
    ],
    # Pamirs, with the Alay and Turkestan ranges (the Pamir-Alay): the plateau
    # between the Wakhan/Panj (S, ~37N; Khorog 71.55E 37.49N on the W edge)
    # and the Trans-Alay (Lenin Peak 72.88E 39.34N); Ismoil Somoni 72.02E
    # 38.94N, Kongur 75.32E 38.59N and Muztagh Ata 75.12E 38.28N inside, Lake
    # Karakul (a mountain lake) inside; the Tarim plain (Kashgar 75.99E 39.47N)
    # E.  The Alay and Turkestan ranges form the S rim of the Fergana Valley
    # (Osh 72.8E 40.53N, Isfara, Istaravshan 69.0E 39.91N at their foot) W to
    # the Sanzar gap near Jizzakh (~67.5E); the upper Zeravshan runs along
    # their S foot, outside.
    "landform-pamirs": [
        [
            [
                (67.45, 39.72), (67.6, 39.6), (68.5, 39.54), (69.0, 39.5), (69.8, 39.53), (70.15, 39.52),
                (70.35, 39.35), (70.1, 38.95), (70.6, 38.55), (71.0, 38.3), (71.4, 37.9), (71.45, 37.3),
                (71.6, 36.85), (72.0, 36.9), (73.0, 37.05), (74.0, 37.1), (74.8, 37.0), (75.4, 36.92),
                (75.9, 37.2), (75.9, 37.6), (75.8, 38.1), (75.75, 38.6), (75.65, 39.1),
                *reversed(ALAY_KYZYLSU),
                (73.25, 40.38), (72.8, 40.42), (72.4, 40.3),
                (71.8, 40.2), (71.2, 40.12), (70.6, 40.05), (70.0, 39.97), (69.4, 39.86), (69.0, 39.83),
                (68.4, 39.88), (67.9, 39.86),
            ],
        ],
    ],
    # Kunlun: from the Yarkand river (~76.2E) ESE along the S edge of the
    # Tarim (Kargilik 77.4E 37.88N, Hotan 79.93E 37.11N, Keriya 81.67E 36.86N
    # on the plain at its foot), then E along ~36-37N (Ulugh Muztagh 87.4E
    # 36.4N) past the Kumkol basin towards Golmud (94.9E 36.4N); the Altyn Tagh
    # to the NE is left out; Aksai Chin and Tibet's lakes stay outside to the S.
    "landform-kunlun": [
        [
            [
                (76.2, 37.6), (76.6, 37.12), (77.3, 36.7), (78.3, 36.2), (79.3, 35.9), (80.5, 35.7),
                (82.0, 35.4), (84.0, 35.3), (86.0, 35.2), (88.0, 35.3), (90.0, 35.4), (92.0, 35.4),
                (94.0, 35.5), (94.2, 36.2), (93.5, 36.32), (92.5, 36.4), (91.0, 36.45), (89.5, 36.6),
                (88.0, 36.7), (86.5, 37.1), (85.5, 37.3), (84.6, 37.2), (83.7, 36.85), (82.7, 36.65),
                (81.7, 36.6), (81.0, 36.65), (80.0, 36.88), (79.3, 37.0), (78.3, 37.35), (77.3, 37.7),
                (76.6, 37.95),
            ],
        ],
    ],
    # Ural Mountains, 51.4N-60.5N: the Guberlin hills N of the Ural river at
    # Orsk; the S Urals (Yamantau 58.14E 54.25N, Iremel 58.84E 54.52N,
    # Beloretsk inside) with the upper Ural river along their E foot past
    # Magnitogorsk (59.0E 53.4N, outside); Ufa and Sterlitamak on the W plain;
    # Zlatoust inside, Miass (60.1E 55.05N) and Yekaterinburg (60.6E 56.84N)
    # at the E foot; the low Middle Urals (Nizhny Tagil on the E slope) and the
    # N Urals to Konzhakovsky Kamen 59.63E 59.63N.  The range runs on N of
    # the atlas's extent.
    "landform-ural-mountains": [
        [
            [
                (57.8, 51.45), (58.3, 51.5), (58.6, 52.0), (58.8, 52.6), (58.95, 53.2), (59.02, 53.8),
                (59.5, 54.5), (59.95, 55.0), (60.25, 55.5), (60.3, 56.2), (60.45, 56.9), (60.3, 57.5),
                (60.2, 58.2), (60.1, 59.0), (60.3, 59.8), (59.8, 60.5), (59.0, 60.5), (58.8, 59.8),
                (58.8, 59.0), (58.6, 58.2), (58.4, 57.3), (58.0, 56.4), (57.5, 55.8), (56.9, 55.0),
                (56.45, 54.3), (56.25, 53.5), (56.4, 52.8), (56.9, 52.1), (57.3, 51.65),
            ],
        ],
    ],
}

# Named ranges an outline takes in besides its own name (written as `includes`).
INCLUDES = {
    "landform-tian-shan": ["Talas Ala-Too", "Chatkal Range", "Kurama Range", "Kyrgyz Ala-Too",
                           "Zailiysky (Trans-Ili) Alatau", "Kungey Ala-Too", "Terskey Ala-Too", "Ketmen",
                           "Borohoro", "Fergana Range", "Kokshaal-Too", "Iren Habirga", "Bogda Shan",
                           "Barkol Tagh", "Karlik Tagh"],
    "landform-altai": ["Rudny Altai", "Narym Range", "Kurchum Range", "Sarymsakty", "Mongolian Altai"],
    "landform-pamirs": ["Trans-Alay Range", "Alay Range", "Turkestan Range"],
}
