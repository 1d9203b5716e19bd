#!/usr/bin/env python3
"""Author geodata/territories.geojson: a partition of the region into areas
with control timelines (who held each area, year by year).

Reproduce:

    python3 -m venv /tmp/geo-venv && /tmp/geo-venv/bin/pip install shapely pyproj
    /tmp/geo-venv/bin/python tools/import_gmt.py      # water.geojson (the Caspian cuts the region)
    /tmp/geo-venv/bin/python tools/author_territories.py

How the partition is built: every area is drawn by hand as a rough polygon
(following rivers, ranges and deserts as period maps show them); the areas
are taken in priority order, each one = its rough polygon ∩ region − the
areas before it, all on a 1e-4° grid (shapely grid_size), so neighbours
share their edges exactly.  Whatever is left of the region (gaps between
rough polygons) and small detached fragments go to the neighbouring area
with the longest common border.  The region is the hand outline 44–98E,
34–61N minus the Caspian Sea (Lhasa lies outside; Tobolsk, at 58.2N, inside).  Nomadic borders are
approximate by nature: every area carries certainty "approximate".
"""
import bisect
import json
import math
import os
import sys

from shapely import set_precision
from shapely.geometry import MultiPolygon, Polygon, shape, mapping
from shapely import union_all

from geocommon import GEODATA, feature, span, write_fc

G = 1e-4
S1 = "seed: 1635–1658"
S2 = "seed: 1681–1684"
S3 = "seed: 1698–1703"
YK = "seed: 1681–1684; the end of the Yarkent Khanate (1705) is not in the seed"
S4 = "seed: 1708–1718"
S5 = "seed: 1723–1730"
S6 = "seed: 1731–1735"
S7 = "seed: 1739–1741"
S8 = "seed: Aftermath"

OUTLINE = [(44.0, 61.0), (98.0, 61.0), (98.0, 34.0), (77.5, 34.0), (74.5, 36.5), (71.5, 37.0),
           (68.0, 37.1), (65.5, 37.3), (62.0, 37.2), (58.5, 37.7), (56.0, 38.0), (54.0, 37.3),
           (53.2, 37.5), (50.5, 41.0), (48.8, 44.2), (44.0, 44.2)]

# --- control timelines -----------------------------------------------------
SENIOR_TAIL = [span("1734", "1734", "kazakh_senior", "core", S6),
               span("1735", "1755", "kazakh_senior", "tributary", S6, overlord="dzungar"),
               span("1756", "1771", "kazakh_senior", "core", S8)]
# 1684-85: Galdan held Sayram, Menkent, Kharasman "and others", Turkistan held out; the
# Dzungars "later abandoned" the towns: the land is fought over (contested, Dzungar the other party).
SYR_TOWNS = [span("1635", "1683", "kazakh_senior", "core", S2),
             span("1684", "1685", "kazakh_senior", "contested", S2, overlord="dzungar"),
             span("1686", "1722", "kazakh_senior", "core", S2),
             span("1723", "1723", "dzungar", "occupied", S5),
             span("1724", "1724", "kazakh_senior", "contested", S5),
             span("1725", "1727", "dzungar", "occupied", S5),
             span("1728", "1731", "kazakh_senior", "core", S6),
             span("1732", "1733", "dzungar", "occupied", S6)] + SENIOR_TAIL
TASHKENT = [span("1635", "1683", "kazakh_senior", "core", S2),
            span("1684", "1685", "dzungar", "occupied", S2),
            span("1686", "1722", "kazakh_senior", "core", S2),
            span("1723", "1727", "dzungar", "occupied", S5),
            span("1728", "1731", "kazakh_senior", "core", S6),
            span("1732", "1733", "dzungar", "occupied", S6)] + SENIOR_TAIL
KARATAU = [span("1635", "1723", "kazakh_senior", "core", S5),
           span("1724", "1727", "dzungar", "occupied", S5),
           span("1728", "1733", "kazakh_senior", "core", S6)] + SENIOR_TAIL
CHU_TALAS = [span("1635", "1657", "kazakh_senior", "core", S1),
             span("1658", "1669", "kazakh_senior", "contested", S1, overlord="dzungar"),
             span("1670", "1697", "kazakh_senior", "core", S2),
             span("1698", "1702", "kazakh_senior", "contested", S3),
             span("1703", "1722", "kazakh_senior", "core", S3),
             span("1723", "1733", "dzungar", "occupied", S5)] + SENIOR_TAIL
# Tauke took Jetisu "after Sengge was killed ... taking advantage of the succession war"
# (seed: 1681-1684): Sengge was killed in 1670, so the map changes in 1670 (year approximate).
# After the Dzungar Khanate (1755-58, seed: Aftermath) Ablai "seized herds and territory from
# the Dzungars"; the Qing claimed the land to the Balkhash (the Kalmyks of 1771 "entered Qing
# territory" beyond it): Senior Juz land contested with the Qing.
JETISU = [span("1635", "1657", "kazakh_senior", "core", S1),
          span("1658", "1669", "dzungar", "core", S1),
          span("1670", "1683", "kazakh_senior", "core", S2),
          span("1684", "1754", "dzungar", "core", S2),
          span("1755", "1756", "dzungar", "contested", S8, overlord="qing"),
          span("1757", "1771", "kazakh_senior", "contested", S8, overlord="qing")]
# The Qing conquest (1755-58) ends the khanate; the map gives the land to the Qing from 1757.
DZUNGAR_CORE = [span("1635", "1754", "dzungar", "core", S1),
                span("1755", "1756", "dzungar", "contested", S8, overlord="qing"),
                span("1757", "1771", "qing", "core", S8)]
# The Altai went with Dzungaria to the Qing; Russia took it only in the 1860s (not in the seed).
ALTAI = [span("1635", "1754", "dzungar", "core", S1),
         span("1755", "1756", "dzungar", "contested", S8, overlord="qing"),
         span("1757", "1771", "qing", "core", S8)]
# The Yarkent (Chagatai) khans reigned under Dzungar overlordship until 1705, when the
# khanate was abolished; the khojas then ruled Kashgaria as Dzungar vassals. The style has
# no polity for the khojas, so 1705-1758 is drawn as Dzungar land.
# After the khanate's end the khojas (Burhan al-Din, Khoja Jahan) held Kashgaria against the
# Qing until 1759 (not in the seed; the styles have no polity for them): Qing-claimed, contested.
ALTISHAHR = [span("1635", "1679", "yarkent", "core", S2),
             span("1680", "1704", "yarkent", "tributary", S2, overlord="dzungar"),
             span("1705", "1756", "dzungar", "core", YK),
             span("1757", "1758", "qing", "contested", S8),
             span("1759", "1771", "qing", "core", S8)]
# Turfan and Hami: Chagatayid princes under Dzungar overlordship from 1680, like Yarkent;
# Hami went over to the Qing in 1697 (a Qing enclave, see the city); Turfan contested from 1720.
TURFAN = [span("1635", "1679", "yarkent", "core", S2),
          span("1680", "1704", "yarkent", "tributary", S2, overlord="dzungar"),
          span("1705", "1719", "dzungar", "core", YK),
          span("1720", "1756", "qing", "contested", S4, overlord="dzungar"),
          span("1757", "1771", "qing", "core", S8)]
KYRGYZ = [span("1635", "1683", "kyrgyz", "core", S1),
          span("1684", "1756", "kyrgyz", "tributary", S4, overlord="dzungar"),
          span("1757", "1771", "kyrgyz", "core", S8)]
FERGANA = [span("1635", "1708", "bukhara", "core", S5),
           span("1709", "1722", "kokand", "core", S5),
           span("1723", "1725", "dzungar", "occupied", S5),
           span("1726", "1771", "kokand", "core", S5)]
BUKHARA = [span("1635", "1771", "bukhara", "core", S1)]
# 1723: the Dzungars "also captured Khujand, Samarkand, and Andijan": Samarkand's land fought over.
ZERAVSHAN = [span("1635", "1722", "bukhara", "core", S1),
             span("1723", "1723", "bukhara", "contested", S5, overlord="dzungar"),
             span("1724", "1771", "bukhara", "core", S5)]
KHIVA = [span("1635", "1771", "khiva", "core", S7)]
JUNIOR = [span("1635", "1730", "kazakh_junior", "core", S6),
          span("1731", "1771", "kazakh_junior", "tributary", S6, overlord="russia")]
LOWER_SYR = [span("1635", "1722", "karakalpak", "tributary", S5, overlord="kazakh"),
             span("1723", "1730", "kazakh_junior", "core", S5),
             span("1731", "1771", "kazakh_junior", "tributary", S6, overlord="russia")]
MIDDLE = [span("1635", "1739", "kazakh_middle", "core", S6),
          span("1740", "1771", "kazakh_middle", "tributary", S7, overlord="russia")]
MIDDLE_1723 = [span("1635", "1722", "kazakh_middle", "core", S5),
               span("1723", "1726", "kazakh_middle", "contested", S5),
               span("1727", "1739", "kazakh_middle", "core", S5),
               span("1740", "1771", "kazakh_middle", "tributary", S7, overlord="russia")]
BETPAK = [span("1635", "1722", "kazakh_middle", "core", S5),
          span("1723", "1729", "kazakh_middle", "contested", S5),
          span("1730", "1739", "kazakh_middle", "core", S5),
          span("1740", "1771", "kazakh_middle", "tributary", S7, overlord="russia")]
ISHIM = [span("1635", "1738", "kazakh_middle", "core", S6),
         span("1739", "1741", "kazakh_middle", "contested", S7),
         span("1742", "1771", "kazakh_middle", "tributary", S7, overlord="russia")]
# Ablai took land from the collapsing khanate (seed: Aftermath): Middle Juz again from 1757,
# under the Russian protectorate it accepted in 1740.
IRTYSH = [span("1635", "1722", "kazakh_middle", "core", S5),
          span("1723", "1756", "dzungar", "occupied", S7),
          span("1757", "1771", "kazakh_middle", "tributary", S8, overlord="russia")]
BALKHASH_N = [span("1635", "1722", "kazakh_middle", "core", S5),
              span("1723", "1756", "kazakh_middle", "contested", S7, overlord="dzungar"),
              span("1757", "1771", "kazakh_middle", "tributary", S8, overlord="russia")]
RUSSIA = [span("1635", "1771", "russia", "core", S4)]
BARABA = [span("1635", "1719", "russia", "contested", S4),
          span("1720", "1771", "russia", "core", S4)]
BASHKIR = [span("1635", "1771", "bashkir", "tributary", S7, overlord="russia")]
KALMYK = [span("1635", "1770", "kalmyk", "core", S8),
          span("1771", "1771", "russia", "core", S8)]
KHALKHA = [span("1635", "1687", "khalkha", "core", S2),
           span("1688", "1690", "dzungar", "occupied", S2),
           span("1691", "1771", "khalkha", "tributary", S2, overlord="qing")]
GANSU = [span("1644", "1771", "qing", "core", S2)]
KUKUNOR = [span("1635", "1723", "tibet", "core", S7),
           span("1724", "1771", "qing", "core", S7)]
TIBET = [span("1635", "1719", "tibet", "core", S4),
         span("1720", "1771", "tibet", "tributary", S7, overlord="qing")]

# --- areas: id, name, kk, ru, control, note, rough polygon (priority order) --
AREAS = [
    ("area-tashkent-oasis", "Tashkent oasis", "Ташкент оазисі", "Ташкентский оазис", TASHKENT,
     "Taken by Galdan 1684 and by Lobsangsür 1723; again by the Dzungars 1732; Senior Jüz 1734; Dzungar overlordship 1735",
     [(68.55, 40.75), (69.0, 40.55), (69.4, 40.55), (70.0, 40.75), (70.6, 41.2), (70.9, 41.6), (70.3, 42.05),
      (69.3, 42.05), (68.7, 41.6), (68.3, 41.2)]),
    ("area-fergana", "Fergana", "Ферғана", "Фергана", FERGANA,
     "Bukharan until the Kokand Khanate (1709); occupied by the Dzungars with Khujand and Andijan in 1723 (length approximate)",
     [(69.4, 40.55), (69.6, 40.05), (70.3, 40.0), (71.5, 39.9), (73.0, 40.0), (73.9, 40.4), (73.6, 41.1),
      (72.5, 41.5), (71.5, 41.5), (70.9, 41.6), (70.6, 41.2), (70.0, 40.75)]),
    ("area-syr-darya-towns", "Syr Darya towns (Turkistan–Sayram)", "Сыр бойындағы қалалар (Түркістан–Сайрам)",
     "Города Сырдарьи (Туркестан–Сайрам)", SYR_TOWNS,
     "Turkistan, Sayram, Otrar, Sauran, Sighnaq: held by Tauke in 1684 (Turkistan), occupied 1723 and 1725–27, "
     "retaken by Abul Khair 1724, lost 1732, Senior Jüz 1734, tributary to the Dzungars 1735",
     [(66.6, 44.3), (67.3, 44.55), (68.3, 43.9), (69.7, 42.85), (70.3, 42.45), (70.3, 42.05), (69.3, 42.05),
      (68.7, 41.6), (68.0, 41.3), (67.6, 41.8), (67.3, 42.6), (66.6, 43.5)]),
    ("area-karatau", "Karatau", "Қаратау", "Каратау", KARATAU,
     "Northern Karatau towns (Sozak) plundered and destroyed in late winter 1724; Kazakhs held out in the gorges",
     [(67.3, 44.55), (67.9, 44.9), (69.0, 44.65), (70.3, 43.7), (71.0, 43.1), (70.9, 42.6), (70.3, 42.45),
      (69.7, 42.85), (68.3, 43.9)]),
    ("area-chu-talas", "Chu–Talas", "Шу–Талас", "Чу–Талас", CHU_TALAS,
     "Senior Jüz pastures; border on the Talas 1658; rout of 1698; Talas valley and Chu overrun 1723–24",
     [(70.3, 42.2), (71.5, 42.2), (72.8, 42.3), (73.5, 42.6), (74.8, 42.75), (75.8, 42.75), (75.9, 43.1),
      (74.5, 43.5), (74.0, 44.6), (73.0, 45.0), (71.0, 45.3), (69.0, 45.3), (69.0, 44.65), (70.3, 43.7),
      (71.0, 43.1), (70.9, 42.6)]),
    ("area-kyrgyz-tian-shan", "Kyrgyz Tian Shan and Issyk-Kul", "Қырғыз Алатауы мен Ыстықкөл",
     "Киргизский Тянь-Шань и Иссык-Куль", KYRGYZ,
     "Kyrgyz lands; under Dzungar overlordship from the 1680s (approximate); Tsewang Rabtan's 1714 operations ran through them",
     [(70.9, 41.6), (71.5, 41.5), (72.5, 41.5), (73.6, 41.1), (73.9, 40.4), (74.5, 40.0), (75.5, 40.3),
      (77.0, 40.8), (78.5, 41.2), (80.2, 42.0), (80.3, 42.7), (79.5, 42.9), (78.5, 43.05), (77.0, 43.0),
      (75.9, 43.1), (75.8, 42.75), (74.8, 42.75), (73.5, 42.6), (72.8, 42.3), (71.5, 42.2), (70.3, 42.2),
      (70.3, 42.05)]),
    ("area-jetisu", "Jetisu (Semirechye)", "Жетісу", "Семиречье", JETISU,
     "Senior Jüz land; Dzungar after the 1658 border (Ayagöz–Talas); taken by Tauke during the Dzungar "
     "succession war after Sengge's murder (1670; the seed gives no year); Dzungar again after 1684 and kept; "
     "after the khanate's fall Ablai took land from the Dzungars (seed: Aftermath) while the Qing claimed it: "
     "Senior Jüz land contested with the Qing from 1757 (approximate)",
     [(73.0, 45.0), (74.0, 44.6), (74.5, 43.5), (75.9, 43.1), (77.0, 43.0), (78.5, 43.05), (80.2, 43.1),
      (80.2, 44.5), (80.6, 45.2), (81.0, 45.6), (80.8, 46.4), (79.8, 46.6), (79.2, 46.9), (78.0, 46.5),
      (77.0, 46.4), (75.5, 46.3), (74.5, 45.6), (73.5, 45.0)]),
    ("area-ili-valley", "Ili valley (Dzungar heartland)", "Іле алқабы", "Илийская долина", DZUNGAR_CORE,
     "Seat of the Dzungar khuntaijis on the Ili; Qing conquest 1755–58 (seed: Aftermath), Qing from 1757",
     [(80.2, 43.1), (80.2, 44.5), (80.6, 45.2), (82.0, 45.3), (83.5, 45.0), (84.5, 44.2), (84.5, 43.0),
      (83.0, 42.6), (81.5, 42.5), (80.3, 42.7)]),
    ("area-zaysan-tarbagatai", "Zaysan and Tarbagatai", "Зайсан мен Тарбағатай", "Зайсан и Тарбагатай",
     DZUNGAR_CORE, "Dzungar pastures from Lake Zaysan to the Tarbagatai and Alakol; Galdan Tseren sent to Zaysan in 1714",
     [(80.6, 45.2), (82.0, 45.3), (83.5, 45.0), (85.5, 45.8), (86.5, 46.5), (86.5, 47.8), (85.5, 48.8),
      (84.0, 49.6), (82.5, 49.0), (81.0, 48.5), (80.0, 47.9), (79.2, 46.9), (79.8, 46.6), (80.8, 46.4),
      (81.0, 45.6)]),
    ("area-altai", "Altai", "Алтай", "Алтай", ALTAI,
     "Dzungar-held Altai; 8,000 Dzungars by the Kan River in 1738; with Dzungaria to the Qing from 1757. "
     "Russia annexed the Altai and Markakol only in the 1860s (not in the seed)",
     [(82.5, 49.0), (84.0, 49.6), (85.5, 48.8), (86.5, 47.8), (88.5, 47.5), (90.5, 48.0), (91.0, 49.5),
      (90.0, 50.5), (89.0, 51.5), (87.0, 52.5), (85.0, 52.5), (83.5, 51.5), (82.5, 50.5), (81.5, 50.3),
      (81.5, 49.5)]),
    ("area-dzungaria-east", "Eastern Dzungaria (Urumchi side)", "Шығыс Жоңғария", "Восточная Джунгария",
     DZUNGAR_CORE, "Dzungar core lands north of the Tian Shan",
     [(83.5, 45.0), (84.5, 44.2), (84.5, 43.0), (86.0, 42.8), (88.0, 43.2), (90.0, 43.6), (91.5, 44.5),
      (91.5, 46.0), (90.5, 48.0), (88.5, 47.5), (86.5, 47.8), (86.5, 46.5), (85.5, 45.8)]),
    ("area-turfan-hami", "Turfan and Hami", "Турфан мен Құмыл", "Турфан и Хами", TURFAN,
     "Chagatayid Turfan and Hami under Dzungar overlordship from 1680 (like Yarkent), Dzungar from 1705; "
     "Hami went over to the Qing in 1697 (a Qing enclave); Turfan contested from 1720, Qing from 1757; "
     "seed: Dzungars took Hami by 1715",
     [(86.0, 42.8), (86.0, 41.8), (88.0, 41.5), (90.0, 41.5), (92.0, 41.5), (95.0, 41.5), (98.0, 41.0),
      (98.0, 43.5), (95.0, 43.8), (93.0, 44.0), (91.5, 44.5), (90.0, 43.6), (88.0, 43.2)]),
    ("area-altishahr", "Altishahr (Kashgaria)", "Алтышаһар (Қашқария)", "Алтышахр (Кашгария)", ALTISHAHR,
     "Yarkent Khanate; invaded by Galdan, under Dzungar overlordship from 1680; the khanate ended in 1705 and "
     "the khojas ruled as Dzungar vassals (drawn as Dzungar land); after the Dzungar Khanate's end the khojas "
     "held it against the Qing (1757–58, contested); Qing from 1759",
     [(73.0, 39.5), (74.5, 40.0), (75.5, 40.3), (77.0, 40.8), (78.5, 41.2), (80.2, 42.0), (81.5, 42.5),
      (83.0, 42.6), (84.5, 43.0), (86.0, 42.8), (86.0, 41.8), (88.0, 41.5), (90.0, 41.5), (90.5, 39.5),
      (88.0, 38.0), (84.0, 37.0), (80.0, 36.5), (78.0, 36.2), (76.0, 36.8), (75.0, 37.5), (74.5, 38.5),
      (73.5, 39.0)]),
    ("area-gansu", "Gansu corridor", "Ганьсу дәлізі", "Ганьсуйский коридор", GANSU,
     "Ming until 1644, then Qing",
     [(93.5, 40.8), (94.0, 39.8), (96.0, 39.3), (98.0, 38.8), (98.0, 41.0), (95.0, 41.5)]),
    ("area-kukunor", "Kukunor and Tsaidam", "Көкенор мен Цайдам", "Кукунор и Цайдам", KUKUNOR,
     "Khoshut lands (Gushi Khan's line, rulers of Tibet) shown as Tibet; annexed by the Qing 1724",
     [(90.0, 41.5), (93.5, 40.8), (94.0, 39.8), (96.0, 39.3), (98.0, 38.8), (98.0, 34.0), (90.0, 34.0),
      (88.0, 36.0), (88.0, 38.0), (90.5, 39.5)]),
    ("area-tibet-north", "Northern Tibet (Changtang)", "Солтүстік Тибет", "Северный Тибет", TIBET,
     "Dzungar invasion of Tibet 1717–20; Qing protectorate from 1720",
     [(77.5, 34.0), (90.0, 34.0), (88.0, 36.0), (88.0, 38.0), (84.0, 37.0), (80.0, 36.5), (78.0, 36.2),
      (76.0, 36.8), (75.0, 37.5), (74.5, 36.5)]),
    ("area-pamirs", "Pamirs and Alai", "Памир мен Алай", "Памир и Алай", [span("1635", "1771", "kyrgyz", "core", S5)],
     "Kyrgyz nomads of the Alai and eastern Pamirs; refuge of the Senior Jüz in 1723 (seed)",
     [(70.5, 39.3), (71.5, 39.5), (73.0, 39.5), (73.5, 39.0), (74.5, 38.5), (75.0, 37.5), (74.5, 36.5),
      (71.5, 37.0), (71.0, 38.0), (70.3, 38.5)]),
    ("area-hissar-karategin", "Hissar and Karategin", "Хисар мен Қаратегін", "Гиссар и Каратегин", BUKHARA,
     "Nominally Bukharan hill principalities; Karategin was a refuge in 1723 (seed)",
     [(67.5, 37.2), (71.5, 37.0), (71.0, 38.0), (70.3, 38.5), (70.5, 39.3), (70.0, 39.6), (68.5, 39.6),
      (67.5, 39.0), (66.8, 38.5), (66.5, 37.5)]),
    ("area-zeravshan", "Zeravshan (Samarkand)", "Зеравшан (Самарқанд)", "Зеравшан (Самарканд)", ZERAVSHAN,
     "Samarkand, under Bukhara; captured by the Dzungars in 1723 per the seed (see the city): the land contested "
     "that year",
     [(65.5, 39.3), (66.8, 38.5), (67.5, 39.0), (68.5, 39.6), (70.0, 39.6), (70.5, 39.3), (71.5, 39.5),
      (70.3, 40.0), (69.6, 40.05), (69.4, 40.55), (69.0, 40.55), (68.55, 40.75), (68.0, 40.9), (66.5, 40.6),
      (65.3, 40.5)]),
    ("area-bukhara", "Bukhara", "Бұқара", "Бухара", BUKHARA, "Bukhara Khanate (Ashtarkhanids)",
     [(62.0, 37.2), (65.5, 37.3), (66.5, 37.5), (66.8, 38.5), (65.5, 39.3), (65.3, 40.5), (66.5, 40.6),
      (68.0, 40.9), (68.3, 41.2), (68.0, 41.3), (67.6, 41.8), (66.0, 42.0), (64.0, 41.8), (62.5, 41.0),
      (61.8, 40.0), (62.0, 38.5)]),
    ("area-khwarazm", "Khwarazm (Khiva)", "Хорезм (Хиуа)", "Хорезм (Хива)", KHIVA, "Khiva Khanate on the lower Amu Darya",
     [(59.0, 40.5), (61.8, 40.0), (62.5, 41.0), (62.0, 42.2), (61.0, 43.0), (60.0, 43.8), (59.2, 43.9),
      (58.2, 43.5), (57.5, 42.5), (58.0, 41.5)]),
    ("area-turkmen-karakum", "Karakum (Turkmen)", "Қарақұм (түрікмен)", "Каракумы (туркменские)", KHIVA,
     "Turkmen tribes, loosely under Khiva",
     [(53.0, 37.4), (56.0, 38.0), (58.5, 37.7), (62.0, 37.2), (62.0, 38.5), (61.8, 40.0), (59.0, 40.5),
      (58.0, 41.5), (55.0, 41.5), (53.0, 41.0), (52.5, 39.0)]),
    ("area-mangyshlak-ustyurt", "Mangyshlak and Ustyurt", "Маңғыстау мен Үстірт", "Мангышлак и Устюрт", JUNIOR,
     "Junior Jüz pastures (Turkmen and Kalmyk presence in the 17th century); Russian protectorate from 1731",
     [(50.5, 44.5), (52.0, 45.5), (53.5, 46.3), (56.0, 46.4), (58.3, 46.2), (58.2, 43.5), (57.5, 42.5),
      (58.0, 41.5), (55.0, 41.5), (53.0, 41.0), (51.5, 41.5), (50.5, 43.0)]),
    ("area-lower-syr-darya", "Lower Syr Darya", "Төменгі Сырдария", "Нижняя Сырдарья", LOWER_SYR,
     "Karakalpaks, subjects of the Kazakh khans, until the 1723 flight; then Junior Jüz (approximate)",
     [(62.0, 42.2), (64.0, 41.8), (66.0, 42.0), (67.6, 41.8), (67.3, 42.6), (66.6, 43.5), (66.6, 44.3),
      (67.3, 44.55), (66.0, 45.3), (64.5, 45.7), (62.8, 46.1), (61.3, 46.3), (60.5, 45.8), (60.0, 43.8),
      (61.0, 43.0)]),
    ("area-aral-north", "Northern Aral (Aral Karakum)", "Солтүстік Арал өңірі", "Северное Приаралье", JUNIOR,
     "Junior Jüz; Russian protectorate from 1731 (Abul Khair)",
     [(56.0, 46.4), (58.3, 46.2), (60.5, 45.8), (61.3, 46.3), (62.8, 46.1), (64.5, 45.7), (66.0, 45.3),
      (66.5, 46.5), (65.0, 47.6), (62.5, 47.8), (60.5, 47.6), (58.5, 47.3), (56.5, 47.0)]),
    ("area-ural-emba", "Ural–Emba", "Жайық–Жем", "Урал–Эмба", JUNIOR,
     "Junior Jüz between the Yaik and the Emba; Russian protectorate from 1731",
     [(51.9, 47.0), (53.0, 46.6), (53.5, 46.3), (56.0, 46.4), (56.5, 47.0), (58.5, 47.3), (60.5, 47.6),
      (60.3, 48.5), (59.5, 50.0), (59.5, 50.9), (58.5, 51.0), (57.5, 51.2), (55.5, 51.3), (53.5, 51.3),
      (51.7, 51.3), (51.3, 50.5), (51.4, 49.0), (51.8, 48.0)]),
    ("area-irgiz", "Irgiz", "Ырғыз", "Иргиз", JUNIOR, "Junior Jüz on the Irgiz; Russian protectorate from 1731",
     [(60.5, 47.6), (62.5, 47.8), (63.5, 48.5), (63.2, 49.5), (62.0, 50.3), (60.8, 50.8), (59.5, 50.9),
      (59.5, 50.0), (60.3, 48.5)]),
    ("area-tobol-turgai", "Tobol–Turgai", "Тобыл–Торғай", "Тобол–Тургай", MIDDLE,
     "Middle Jüz; Kazakhs retreated beyond the Tobol in 1741; Russian protectorate 1740 (approximate)",
     [(62.0, 50.3), (63.2, 49.5), (63.5, 48.5), (65.0, 47.6), (66.5, 47.5), (67.0, 48.5), (66.5, 50.5),
      (66.8, 52.0), (66.5, 54.5), (65.0, 55.3), (63.0, 55.0), (61.5, 54.3), (61.0, 53.0), (60.5, 51.5),
      (60.8, 50.8)]),
    ("area-ulytau", "Ulytau", "Ұлытау", "Улытау", MIDDLE_1723,
     "Middle Jüz; Dzungar advance and the victory of Bulanty (1726) near Ulytau",
     [(64.5, 46.7), (66.5, 46.5), (68.5, 46.8), (69.5, 47.8), (69.5, 49.5), (68.0, 50.5), (66.5, 50.5),
      (67.0, 48.5), (66.5, 47.5), (65.0, 47.6)]),
    ("area-sarysu", "Sarysu", "Сарысу", "Сарысу", MIDDLE_1723,
     "Middle Jüz; Dzungar vanguard reached the Sarysu in 1708; contested 1723–26",
     [(66.0, 45.3), (67.3, 44.55), (67.9, 44.9), (69.0, 44.65), (69.0, 45.3), (70.0, 45.6), (70.5, 46.5),
      (70.5, 47.8), (69.5, 47.8), (68.5, 46.8), (66.5, 46.5)]),
    ("area-betpak-dala", "Betpak-Dala", "Бетпақдала", "Бетпак-Дала", BETPAK,
     "Desert steppe where Kazakhs fled in 1724; Anrakai (1729) at its south-eastern edge",
     [(69.0, 45.3), (71.0, 45.3), (73.0, 45.0), (73.5, 45.0), (74.5, 45.6), (74.3, 46.5), (73.5, 46.9),
      (72.0, 47.0), (70.5, 47.0), (70.5, 46.5), (70.0, 45.6)]),
    ("area-balkhash-north", "North Balkhash steppe (Karkaraly)", "Балқаштың солтүстігі (Қарқаралы)",
     "Северное Прибалхашье (Каркаралы)", BALKHASH_N,
     "Middle Jüz pastures contested with the Dzungars after 1723",
     [(70.5, 47.0), (72.0, 47.0), (73.5, 46.9), (74.3, 46.5), (75.5, 46.3), (77.0, 46.4), (78.0, 46.5),
      (79.2, 46.9), (80.0, 47.9), (81.0, 48.5), (82.5, 49.0), (81.5, 49.5), (80.0, 49.6), (78.0, 49.8),
      (76.0, 49.8), (74.0, 49.5), (72.0, 49.0), (70.5, 48.5), (69.5, 47.8), (70.5, 47.8)]),
    ("area-ishim-steppe", "Ishim steppe", "Есіл даласы", "Ишимская степь", ISHIM,
     "Middle Jüz heartland; Dzungar invasions of 1739 and 1741 (along the Ishim)",
     [(66.5, 50.5), (68.0, 50.5), (69.5, 49.5), (72.0, 49.0), (74.0, 49.5), (74.5, 51.0), (74.0, 53.0),
      (73.5, 54.3), (71.0, 55.0), (69.0, 55.3), (67.5, 55.0), (66.5, 54.5), (66.8, 52.0)]),
    ("area-irtysh-steppe", "Irtysh steppe", "Ертіс даласы", "Прииртышская степь", IRTYSH,
     "Middle Jüz lands lost to the Dzungars after 1723 (no Kazakh strongholds left near the Irtysh, 1735); "
     "Russian forts on the river from 1715/16 (enclaves); Middle Jüz again from 1757, when Ablai took land "
     "from the fallen khanate (seed: Aftermath)",
     [(74.0, 49.5), (76.0, 49.8), (78.0, 49.8), (80.0, 49.6), (81.5, 49.5), (81.5, 50.3), (82.5, 50.5),
      (81.5, 51.5), (80.0, 52.5), (78.5, 53.5), (77.0, 54.0), (75.5, 54.2), (73.5, 54.3), (74.0, 53.0),
      (74.5, 51.0)]),
    ("area-baraba-kulunda", "Baraba and Kulunda", "Барабы мен Құлынды", "Бараба и Кулунда", BARABA,
     "Baraba Tatars paid tribute to both Russia and the Dzungars until the forts of 1716–20",
     [(78.5, 53.5), (80.0, 52.5), (81.5, 51.5), (82.5, 50.5), (83.5, 51.5), (85.0, 52.5), (85.5, 55.0),
      (82.0, 56.5), (79.0, 56.0), (77.0, 54.0)]),
    ("area-siberia-east", "Tomsk–Kuznetsk (Siberia)", "Томск–Кузнецк", "Томск–Кузнецк", RUSSIA,
     "Russian Siberia east of the Ob",
     [(85.0, 52.5), (87.0, 52.5), (89.0, 51.5), (90.0, 50.5), (92.0, 50.8), (95.0, 50.8), (98.0, 51.5),
      (98.0, 61.0), (82.0, 61.0), (82.0, 56.5), (85.5, 55.0)]),
    ("area-siberia-west", "Tobolsk–Tara (Siberia)", "Тобыл–Тара", "Тобольск–Тара", RUSSIA,
     "Siberian governorate; Omsk fortress 1716",
     [(59.5, 56.5), (60.0, 55.0), (61.5, 54.3), (63.0, 55.0), (65.0, 55.3), (66.5, 54.5), (67.5, 55.0),
      (69.0, 55.3), (71.0, 55.0), (73.5, 54.3), (75.5, 54.2), (77.0, 54.0), (79.0, 56.0), (82.0, 56.5),
      (82.0, 61.0), (60.0, 61.0), (60.0, 58.0)]),
    ("area-bashkiria", "Bashkiria", "Башқұртстан", "Башкирия", BASHKIR, "Bashkirs under Russian rule; Orenburg line from 1735",
     [(51.7, 51.3), (53.5, 51.3), (55.5, 51.3), (57.5, 51.2), (58.5, 51.0), (59.5, 50.9), (60.8, 50.8),
      (60.5, 51.5), (61.0, 53.0), (61.5, 54.3), (60.0, 55.0), (59.5, 56.5), (60.0, 58.0), (55.0, 58.0),
      (53.0, 56.5), (52.5, 54.5), (51.5, 53.0)]),
    ("area-middle-volga", "Middle Volga", "Орта Еділ", "Среднее Поволжье", RUSSIA, "Russian Volga towns",
     [(44.0, 51.2), (47.0, 51.5), (49.5, 51.8), (51.5, 53.0), (52.5, 54.5), (53.0, 56.5), (55.0, 58.0),
      (60.0, 58.0), (60.0, 61.0), (44.0, 61.0)]),
    ("area-volga-ural", "Volga–Ural steppe (Kalmyk)", "Еділ–Жайық даласы (қалмақ)", "Волго-Уральская степь (калмыцкая)",
     KALMYK, "Kalmyk Khanate on the Volga until the flight of January 1771",
     [(44.0, 44.2), (48.8, 44.2), (50.0, 46.5), (51.9, 47.0), (51.8, 48.0), (51.4, 49.0), (51.3, 50.5),
      (51.7, 51.3), (51.5, 53.0), (49.5, 51.8), (47.0, 51.5), (44.0, 51.2)]),
    ("area-khovd", "Western Mongolia (Khovd)", "Батыс Моңғолия (Ховд)", "Западная Монголия (Кобдо)", DZUNGAR_CORE,
     "Oirat lands of the Great Lakes basin",
     [(90.5, 48.0), (91.5, 46.0), (91.5, 44.5), (93.0, 44.0), (95.0, 43.8), (95.5, 45.5), (95.0, 47.5),
      (94.5, 49.5), (95.0, 50.8), (92.0, 50.8), (90.0, 50.5), (91.0, 49.5)]),
    ("area-khalkha", "Khalkha (western edge)", "Халха", "Халха", KHALKHA,
     "Khalkha Mongols; Galdan's invasion 1687–88; Qing suzerainty from 1691 (Dolon Nor)",
     [(95.0, 43.8), (98.0, 43.5), (98.0, 51.5), (95.0, 50.8), (94.5, 49.5), (95.0, 47.5), (95.5, 45.5)]),
]


def load_caspian():
    fc = json.load(open(os.path.join(GEODATA, "water.geojson"), encoding="utf-8"))
    for f in fc["features"]:
        if f["properties"]["id"] == "caspian-sea":
            return shape(f["geometry"])
    sys.exit("run tools/import_gmt.py first (caspian-sea missing)")


def parts(g):
    if g.is_empty:
        return []
    if g.geom_type == "Polygon":
        return [g]
    return [p for p in getattr(g, "geoms", []) if p.geom_type == "Polygon" and not p.is_empty]


def node_rings(feats, tol=2e-5):
    """Insert into every ring the vertices of other areas that lie on its segments (T-junctions).

    Areas must share their edges vertex for vertex: the renderer finds neighbours by
    identical segments, so an edge that meets a neighbour's vertex midway would be drawn
    as a border between two areas of the same holder."""
    def rings(g):
        polys = g["coordinates"] if g["type"] == "MultiPolygon" else [g["coordinates"]]
        return [r for p in polys for r in p]
    verts = sorted({tuple(c) for f in feats for r in rings(f["geometry"]) for c in r})
    xs = [v[0] for v in verts]
    for f in feats:
        for r in rings(f["geometry"]):
            out = [r[0]]
            for a, b in zip(r, r[1:]):
                (ax, ay), (bx, by) = a, b
                dx, dy = bx - ax, by - ay
                ln = dx * dx + dy * dy
                lo = bisect.bisect_left(xs, min(ax, bx) - tol)
                hi = bisect.bisect_right(xs, max(ax, bx) + tol)
                mids = []
                for vx, vy in verts[lo:hi]:
                    if (vx, vy) in ((ax, ay), (bx, by)) or ln == 0:
                        continue
                    t = ((vx - ax) * dx + (vy - ay) * dy) / ln
                    if 0 < t < 1 and math.hypot(ax + t * dx - vx, ay + t * dy - vy) < tol:
                        mids.append((t, [vx, vy]))
                out += [m for _, m in sorted(mids)] + [b]
            r[:] = out


def main():
    region = set_precision(Polygon(OUTLINE), G).difference(set_precision(load_caspian(), G), grid_size=G)
    region = max(parts(region), key=lambda p: p.area)
    geoms = {}
    acc = None
    for aid, *_rest, rough in [(a[0], a[-1]) for a in AREAS]:
        g = set_precision(Polygon(rough), G).intersection(region, grid_size=G)
        if acc is not None:
            g = g.difference(acc, grid_size=G)
        geoms[aid] = g
        acc = g if acc is None else acc.union(g, grid_size=G)
    # detached fragments (< 8 % of the area's main part) and gaps go to the neighbour
    pool = parts(region.difference(acc, grid_size=G))
    for aid, g in list(geoms.items()):
        ps = sorted(parts(g), key=lambda p: -p.area)
        if not ps:
            print("WARNING: empty area", aid)
            continue
        keep = [ps[0]] + [p for p in ps[1:] if p.area > 0.08 * ps[0].area]
        pool += [p for p in ps if p not in keep]
        geoms[aid] = union_all(keep, grid_size=G)
    for _ in range(3):
        rest = []
        for piece in pool:
            if piece.area < 1e-10:
                continue
            best, blen = None, 0.0
            for aid, g in geoms.items():
                l = piece.boundary.intersection(g.boundary).length
                if l > blen:
                    best, blen = aid, l
            if best is None:
                rest.append(piece)
            else:
                geoms[best] = geoms[best].union(piece, grid_size=G)
        pool = rest
    if pool:
        print("WARNING: unassigned pieces", len(pool))
    feats = []
    for aid, name, kk, ru, control, note, _rough in AREAS:
        g = geoms[aid]
        ps = parts(g)
        g = ps[0] if len(ps) == 1 else MultiPolygon(ps)
        m = mapping(g)
        geom = json.loads(json.dumps(m))  # tuples -> lists

        def r(c):
            if isinstance(c[0], (int, float)):
                return [round(c[0], 4), round(c[1], 4)]
            return [r(x) for x in c]
        geom["coordinates"] = r(geom["coordinates"])
        props = {"id": aid, "name": name, "name:kk": kk, "name:ru": ru, "certainty": "approximate",
                 "note": note, "control": control,
                 "source": "; ".join(sorted({c["source"] for c in control}))}
        feats.append(feature(props, geom))
    node_rings(feats)
    write_fc("territories.geojson", feats)


if __name__ == "__main__":
    main()
