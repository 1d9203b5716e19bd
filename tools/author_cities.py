#!/usr/bin/env python3
"""Author geodata/cities.geojson: towns, fortresses and sites with control timelines.

Reproduce (no dependencies beyond Python 3):

    python3 tools/author_cities.py

Positions are modern coordinates of the town (or its ruins); control spans
follow the seed (/work/shared/seed, Wikipedia "Kazakh-Dzungar Wars"), cited by
section.  Where the seed is silent the span is marked in the feature `note`
and `certainty`.
"""
from geocommon import feature, point, span, write_fc

BG = "seed: Background"
S1 = "seed: 1635–1658"
S2 = "seed: 1681–1684"
S3 = "seed: 1698–1703"
YK = "seed: 1681–1684; the end of the Yarkent Khanate (1705) is not in the seed"
S4 = "seed: 1708–1718"
S5 = "seed: 1723–1730"
S6 = "seed: 1731–1735"
S7 = "seed: 1739–1741"
S8 = "seed: Aftermath"


def senior_after_1723(first_span_end="1722", kazakh="kazakh_senior", own=None):
    """The common fate of the Senior Jüz towns from 1723 (seed 1723–1735)."""
    return [
        span("1723", "1727", "dzungar", "occupied", S5),
        span("1728", "1731", kazakh, "core", S6),
        span("1732", "1733", "dzungar", "occupied", S6),
        span("1734", "1734", kazakh, "core", S6),
        span("1735", "1755", kazakh, "tributary", S6, overlord="dzungar"),
        span("1756", "1771", kazakh, "core", S8),
    ]


NOTE_1728 = ("1728–1731: the seed does not say when the Kazakhs regained the towns; "
             "its 1732 recapture implies they held them after the Dzungar succession crisis (approximate)")

NOTE_LAND = ("the seed names no capture of {t}; it stands in the land of the Syr Darya towns, which the "
             "Dzungars overran in 1723 ('nomadic settlements and towns were attacked'), 1725 and 1732, and whose "
             "'cities of Prisyrind' Galdan Tseren took around 1735: shown with its land. ")

CITIES = [
    # id, name, kk, ru, kind, rank, lon, lat, extra props, control
    ("turkistan", "Turkistan", "Түркістан", "Туркестан", "capital", 5, 68.2700, 43.2970,
     {"note": "Seat of the Kazakh khans. 1724: retaken by Abul Khair and fought over until Lobsangsür "
              "'recaptured the city after a series of battles' in 1725 (contested). " + NOTE_1728,
      "certainty": "approximate"},
     [span("1635", "1722", "kazakh", "core", S2),
      span("1723", "1723", "dzungar", "occupied", S5),
      span("1724", "1724", "kazakh_junior", "contested", S5),
      span("1725", "1727", "dzungar", "occupied", S5),
      span("1728", "1731", "kazakh", "core", S6),
      span("1732", "1733", "dzungar", "occupied", S6),
      span("1734", "1734", "kazakh_senior", "core", S6),
      span("1735", "1755", "kazakh_senior", "tributary", S6, overlord="dzungar"),
      span("1756", "1771", "kazakh", "core", S8)]),
    ("sayram", "Sayram", "Сайрам", "Сайрам", "city", 4, 69.7670, 42.3000,
     {"note": "Besieged by Galdan 1681 and 1683, taken 1684 and later abandoned by the Dzungars "
              "(decline begins). " + NOTE_1728, "certainty": "approximate"},
     [span("1635", "1680", "kazakh_senior", "core", S2),
      span("1681", "1681", "kazakh_senior", "besieged", S2),
      span("1682", "1682", "kazakh_senior", "core", S2),
      span("1683", "1683", "kazakh_senior", "besieged", S2),
      span("1684", "1685", "dzungar", "occupied", S2),
      span("1686", "1722", "kazakh_senior", "core", S2)] + senior_after_1723()),
    ("tashkent", "Tashkent", "Ташкент", "Ташкент", "city", 5, 69.2401, 41.3111,
     {"note": "Recognised Galdan's authority and was taken 1684; taken again 1723 and 1732; "
              "held by the Senior Jüz khan 1734; Dzungar overlordship 1735. " + NOTE_1728,
      "certainty": "approximate"},
     [span("1635", "1683", "kazakh_senior", "core", S2),
      span("1684", "1685", "dzungar", "occupied", S2),
      span("1686", "1722", "kazakh_senior", "core", S2)] + senior_after_1723()),
    ("shymkent", "Shymkent", "Шымкент", "Чимкент", "city", 2, 69.5900, 42.3200,
     {"note": "Small town on the road Sayram–Turkistan; shares the fate of Sayram (approximate)",
      "certainty": "approximate"},
     [span("1635", "1683", "kazakh_senior", "core", S2),
      span("1684", "1685", "dzungar", "occupied", S2),
      span("1686", "1722", "kazakh_senior", "core", S2)] + senior_after_1723()),
    ("menkent", "Menkent", "Маңкент", "Манкент", "city", 2, 69.8300, 42.4800,
     {"note": "Taken by Galdan 1684 (seed); placed at modern Mankent near Sayram. From 1723 it shares the fate "
              "of Sayram, in the same land (the seed names Sayram and the Arys valley in 1723, Sayram in 1732). "
              + NOTE_1728,
      "certainty": "approximate"},
     [span("1635", "1683", "kazakh_senior", "core", S2),
      span("1684", "1685", "dzungar", "occupied", S2),
      span("1686", "1722", "kazakh_senior", "core", S2)] + senior_after_1723()),
    ("kharasman", "Kharasman", "Харасман", "Харасман", "city", 1, 69.5000, 42.1500,
     {"note": "Taken by Galdan 1684 (seed). Location unknown to modern scholarship; "
              "placed among the Sayram towns south-west of Sayram; from 1723 it shares Sayram's fate. " + NOTE_1728,
      "certainty": "approximate"},
     [span("1635", "1683", "kazakh_senior", "core", S2),
      span("1684", "1685", "dzungar", "occupied", S2),
      span("1686", "1722", "kazakh_senior", "core", S2)] + senior_after_1723()),
    ("khara-murut", "Khara-Murut", "Харамұрт", "Хара-Мурут", "site", 1, 69.6000, 41.8500,
     {"note": "Kazakhs defeated here 1723 (seed). Exact place unknown; placed between Sayram and "
              "Tashkent, the line of Lobsangsür's advance",
      "certainty": "approximate"},
     [span("1635", "1683", "kazakh_senior", "core", S2),
      span("1684", "1685", "dzungar", "occupied", S2),
      span("1686", "1722", "kazakh_senior", "core", S2)] + senior_after_1723()),
    ("otrar", "Otrar", "Отырар", "Отрар", "city", 3, 68.3000, 42.8500,
     {"note": "The " + NOTE_LAND.format(t="Otrar") + NOTE_1728, "certainty": "approximate"},
     [span("1635", "1722", "kazakh", "core", S2)] + senior_after_1723()),
    ("sauran", "Sauran", "Сауран", "Сауран", "city", 2, 67.7686, 43.5153,
     {"note": "Walled town north-west of Turkistan, declining in the 18th century; " + NOTE_LAND.format(t="Sauran") + NOTE_1728,
      "certainty": "approximate"},
     [span("1635", "1722", "kazakh", "core", S2)] + senior_after_1723()),
    ("sighnaq", "Sighnaq", "Сығанақ", "Сыгнак", "city", 2, 67.4000, 44.1000,
     {"note": "Former capital of the khanate, in ruin by the 18th century; position of the ruins "
              "north-west of Zhanakorgan approximate (±10 km); " + NOTE_LAND.format(t="Sighnaq") + NOTE_1728,
      "certainty": "approximate"},
     [span("1635", "1722", "kazakh", "core", BG)] + senior_after_1723()),
    ("sozak", "Sozak", "Созақ", "Созак", "city", 3, 68.4700, 44.1400,
     {"note": "Trading town on the northern Karatau, plundered and destroyed in the Dzungar attack "
              "of late winter 1724 (seed); later resettled (date not in the seed)",
      "certainty": "approximate"},
     [span("1635", "1723", "kazakh_senior", "core", S5),
      span("1724", "1727", "dzungar", "destroyed", S5),
      span("1728", "1734", "kazakh_senior", "core", S6),
      span("1735", "1755", "kazakh_senior", "tributary", S6, overlord="dzungar"),
      span("1756", "1771", "kazakh_senior", "core", S8)]),
    ("taraz", "Taraz (Aulie-Ata)", "Тараз (Әулиеата)", "Тараз (Аулие-Ата)", "site", 3, 71.3700, 42.9000,
     {"note": "Medieval Taraz lay in ruins from the Mongol conquest; in this period a site, the "
              "Aulie-Ata shrine and its settlement on the Talas, not a town (the town revived around "
              "Kokand's fort of 1856). Talas valley overrun 1723 (seed)", "certainty": "approximate"},
     [span("1635", "1722", "kazakh_senior", "core", S3),
      span("1723", "1733", "dzungar", "occupied", S5),
      span("1734", "1734", "kazakh_senior", "core", S6),
      span("1735", "1755", "kazakh_senior", "tributary", S6, overlord="dzungar"),
      span("1756", "1771", "kazakh_senior", "core", S8)]),
    ("ordabasy", "Ordabasy", "Ордабасы", "Ордабасы", "site", 3, 69.0400, 42.6000,
     {"start_date": "1726", "end_date": "1726", "certainty": "approximate",
      "note": "Hill near the Arys–Badam confluence where the jüzes met in 1726 (seed: 'in Ordabasy near Turkistan')",
      "source": S5}, None),
    ("kan-1738", "Kan (Dzungar camp)", "Қан (жоңғар қосы)", "Кан (джунгарский лагерь)", "site", 3, 84.7600, 50.9300,
     {"start_date": "1738", "end_date": "1738", "certainty": "approximate",
      "note": "1738: Buturlin reports an 8,000-strong Dzungar detachment in the Altai 'in the area of the Kan "
              "River' (seed: 1739–1741); shown at the Kan's mouth on the Charysh (Ust-Kan, 50.93 N 84.76 E), "
              "the camp's exact place not given",
      "source": S7}, None),
    ("karakum-kurultai", "Karakum kurultai", "Қарақұм құрылтайы", "Каракумский курултай", "site", 3, 62.8000, 46.5000,
     {"start_date": "1710", "end_date": "1710", "certainty": "approximate",
      "note": "First kurultai, summer 1710, 'in the Karakum' (seed); placed in the Aral Karakum north-east "
              "of the Aral Sea, the usual reading; exact place unknown", "source": S4}, None),
    ("khujand", "Khujand", "Қожент", "Ходжент", "city", 3, 69.6300, 40.2800,
     {"note": "Captured by the Dzungars 1723 (seed); length of the occupation not given (to 1725 approximate). "
              "The seed says nothing of Khujand's rulers before or after: it is shown with the Fergana land "
              "around it (Bukhara to 1708, Kokand from its founding in 1709); in the 18th century Kokand, "
              "Bukhara and Ura-Tyube disputed it (not in the seed)",
      "certainty": "approximate"},
     [span("1635", "1708", "bukhara", "core", S5),
      span("1709", "1722", "kokand", "core", S5),
      span("1723", "1725", "dzungar", "occupied", S5),
      span("1726", "1771", "kokand", "core", S5)]),
    ("samarkand", "Samarkand", "Самарқанд", "Самарканд", "city", 4, 66.9600, 39.6540,
     {"note": "Its emir Yalangtush Bahadur brought 20,000 to Orbulaq in 1643; captured by the Dzungars in 1723 "
              "(seed; a raid, length not given)", "certainty": "approximate"},
     [span("1635", "1722", "bukhara", "core", S1),
      span("1723", "1723", "dzungar", "occupied", S5),
      span("1724", "1771", "bukhara", "core", S5)]),
    ("bukhara", "Bukhara", "Бұқара", "Бухара", "capital", 5, 64.4200, 39.7750, {},
     [span("1635", "1771", "bukhara", "core", S1)]),
    ("khiva", "Khiva", "Хиуа", "Хива", "capital", 4, 60.3600, 41.3780, {},
     [span("1635", "1771", "khiva", "core", BG)]),
    ("urgench", "Urgench (Kunya-Urgench)", "Үргеніш (Көнеүргеніш)", "Ургенч (Кёнеургенч)", "site", 3, 59.1500, 42.3300,
     {"note": "Old Urgench, ravaged by Oirat raiders in the 1530s (seed: Background). In this period "
              "a site, not a town: it was abandoned when the Amu Darya left its channel in the late "
              "16th century (Khiva the capital from 1619, New Urgench founded 1646 to the south-east); "
              "Kunya-Urgench was resettled only in the 19th century"},
     [span("1635", "1771", "khiva", "core", BG)]),
    ("andijan", "Andijan", "Әндіжан", "Андижан", "city", 3, 72.3440, 40.7830,
     {"note": "Captured 1723 with the Fergana Valley (seed)", "certainty": "approximate"},
     [span("1635", "1708", "bukhara", "core", S5),
      span("1709", "1722", "kokand", "core", S5),
      span("1723", "1725", "dzungar", "occupied", S5),
      span("1726", "1771", "kokand", "core", S5)]),
    ("kokand", "Kokand", "Қоқан", "Коканд", "capital", 3, 70.9400, 40.5290,
     {"note": "Kokand Khanate from 1709 (Shahrukh Bey); its capital from 1740, when Abdul Karim Bey walled the "
              "town (not in the seed); a town before",
      "capital": [{"from": "1740", "polity": "kokand", "source": S5}]},
     [span("1635", "1708", "bukhara", "core", S5),
      span("1709", "1722", "kokand", "core", S5),
      span("1723", "1725", "dzungar", "occupied", S5),
      span("1726", "1771", "kokand", "core", S5)]),
    ("yarkent", "Yarkent", "Ярқант", "Яркенд", "capital", 4, 77.2400, 38.4200,
     {"note": "Capital of the Yarkent Khanate; invaded by Galdan (seed: 1681–1684), under Dzungar overlordship "
              "from 1680; the khanate ended in 1705 (a capital to then) and the khojas ruled as Dzungar vassals "
              "(drawn as Dzungar); held by the khojas against the Qing 1757–58 (contested); Qing from 1759",
      "capital": [{"to": "1705", "polity": "yarkent", "source": YK}]},
     [span("1635", "1679", "yarkent", "core", S2),
      span("1680", "1704", "yarkent", "tributary", S2, overlord="dzungar"),
      span("1705", "1756", "dzungar", "core", YK),
      span("1757", "1758", "qing", "contested", S8),
      span("1759", "1771", "qing", "core", S8)]),
    ("kashgar", "Kashgar", "Қашқар", "Кашгар", "city", 4, 75.9900, 39.4700,
     {"note": "Yarkent Khanate to 1705, then khoja rule as Dzungar vassals (drawn as Dzungar); held by the "
              "khojas against the Qing 1757–58 (contested); Qing from 1759"},
     [span("1635", "1679", "yarkent", "core", S2),
      span("1680", "1704", "yarkent", "tributary", S2, overlord="dzungar"),
      span("1705", "1756", "dzungar", "core", YK),
      span("1757", "1758", "qing", "contested", S8),
      span("1759", "1771", "qing", "core", S8)]),
    ("hami", "Hami (Kumul)", "Құмыл", "Хами (Кумул)", "city", 3, 93.5100, 42.8300,
     {"note": "Seed: 'after capturing Hami by 1715'; Qing sources record the 1715 Dzungar attack on Hami as "
              "repulsed. Its Chagatayid prince went over to the Qing in 1697 (not in the seed): a Qing enclave in "
              "Dzungar-ruled land until the Qing held Turfan (1720)", "certainty": "disputed"},
     [span("1635", "1679", "yarkent", "core", S2),
      span("1680", "1696", "yarkent", "tributary", S2, overlord="dzungar"),
      span("1697", "1714", "qing", "enclave", S4),
      span("1715", "1715", "dzungar", "occupied", S4),
      span("1716", "1719", "qing", "enclave", S4),
      span("1720", "1771", "qing", "core", S4)]),
    ("ghulja", "Ghulja (Kulja)", "Құлжа", "Кульджа", "capital", 5, 81.3200, 43.9100,
     {"note": "The Ili valley around Kulja: seat (ordu, 'Urga') of the Dzungar khuntaijis in the 18th century; "
              "the Qing town of Ningyuan (Yining) was built here in 1762. Drawn as the Dzungar capital from 1700 "
              "(Tsewang Rabtan's seat; the 17th-century khuntaijis ruled from the Emel and Tarbagatai) until the "
              "khanate's end",
      "capital": [{"from": "1700", "to": "1756", "polity": "dzungar", "source": S6}]},
     [span("1635", "1754", "dzungar", "core", S8),
      span("1755", "1756", "dzungar", "contested", S8),
      span("1757", "1771", "qing", "core", S8)]),
    ("omsk", "Omsk", "Омбы", "Омск", "fortress", 3, 73.3700, 54.9800,
     {"start_date": "1716", "line": "Irtysh line", "line_order": 1,
      "note": "Fortress founded 1716 by Buchholz at the Om mouth, after the Dzungars drove him from Yamysh; "
              "the first post of the Irtysh line (1716–20; 'the Irtysh defensive line', seed: 1739–1741)"},
     [span("1716", "1771", "russia", "core", S7)]),
    ("zhelezinsk", "Zhelezinsk", "Железин бекінісі", "Железинская крепость", "fortress", 1, 75.3100, 53.5400,
     {"start_date": "1717", "line": "Irtysh line", "line_order": 2, "certainty": "approximate",
      "note": "Post of the Irtysh line between Omsk and Yamyshevsk, founded 1717 (not in the seed; Russian "
              "records), at the modern village of Zhelezinka"},
     [span("1717", "1756", "russia", "enclave", S7),
      span("1757", "1771", "russia", "core", S8)]),
    ("yamyshevsk", "Yamyshevsk", "Ямышев бекінісі", "Ямышевская крепость", "fortress", 2, 77.3781, 51.8897,
     {"start_date": "1715", "certainty": "approximate", "line": "Irtysh line", "line_order": 3,
      "note": "Fortress on the right bank of the Irtysh by Lake Yamysh, at its remains 51°53′23″N "
              "77°22′41″E (the modern village of Yamyshevo lies ~6 km east). Buchholz built the first fort in "
              "1715; the Dzungars besieged it in 1716 and he withdrew to the Om; it was rebuilt later in 1716 "
              "(not in the seed). A Russian enclave in Dzungar-held land until 1757. Dzungar envoys came here "
              "in 1741 (seed)"},
     [span("1715", "1715", "russia", "enclave", S4),
      span("1716", "1716", "russia", "besieged", S4),
      span("1717", "1756", "russia", "enclave", S7),
      span("1757", "1771", "russia", "core", S8)]),
    ("semipalatinsk", "Semipalatinsk", "Семей", "Семипалатинск", "fortress", 3, 80.0800, 50.5030,
     {"start_date": "1718", "certainty": "approximate", "line": "Irtysh line", "line_order": 4,
      "note": "The fortress of 1718-1776, on the right bank of the Irtysh by the ruined 'seven chambers' "
              "monastery (Dorzhinkit), about 12 versts (13-18 km along the river) downstream of modern "
              "Semey (50.41 N 80.23 E), to which it was moved in 1776-1778 after floods; here ~15 km "
              "down the river, ~14 km from Semey's centre (site approximate). A Russian enclave in "
              "Dzungar-held land until 1757. Tsagan's embassy 1733 (seed)"},
     [span("1718", "1756", "russia", "enclave", S6),
      span("1757", "1771", "russia", "core", S8)]),
    ("ust-kamenogorsk", "Ust-Kamenogorsk", "Өскемен", "Усть-Каменогорск", "fortress", 2, 82.6100, 49.9500,
     {"start_date": "1720", "line": "Irtysh line", "line_order": 5,
      "note": "Fortress founded 1720 at the Ulba mouth, the last post of the Irtysh line; a Russian enclave at "
              "the foot of the Altai (Dzungar, then Qing)"},
     [span("1720", "1771", "russia", "enclave", S4)]),
    ("orsk", "First Orenburg (Orsk)", "Алғашқы Орынбор (Орск)", "Первый Оренбург (Орск)", "fortress", 2,
     58.5700, 51.2000,
     {"start_date": "1735", "line": "Orenburg line", "line_order": 1,
      "note": "Orenburg was founded in August 1735 at the mouth of the Or; when the town was moved "
              "(1741 Krasnogorsk, 1743 present site) this fortress became Orsk. Named by its name of the war "
              "years first (the Orenburg of 1735-1742 that the seed's 1740-1741 reports mean), the later "
              "name in parentheses"},
     [span("1735", "1771", "russia", "core", S7)]),
    ("orenburg", "Orenburg", "Орынбор", "Оренбург", "fortress", 4, 55.1000, 51.7700,
     {"start_date": "1743", "line": "Orenburg line", "line_order": 2,
      "note": "Present site from 1743; the Orenburg of 1735–1741 stood at the Or mouth (see Orsk). "
              "Seat of the Orenburg Commission that dealt with the Kazakhs (seed: 1739–1741)"},
     [span("1743", "1771", "russia", "core", S7)]),
    ("petropavlovsk", "St Peter's fortress (Petropavl)", "Петропавл (Әулие Петр бекінісі)",
     "крепость Святого Петра (Петропавловск)", "fortress", 2, 69.1400, 54.8700,
     {"start_date": "1752", "line": "Ishim line", "line_order": 1,
      "note": "Founded 1752 on the Ishim as the chief fortress of the Ishim (Presnogorkovka) line, which joined "
              "the Tobol to the Irtysh at Omsk (not in the seed; Russian records). It stands in the Ishim "
              "steppe, Middle Jüz land under Russian protection"},
     [span("1752", "1771", "russia", "core", S8)]),
    ("ufa", "Ufa", "Өфө", "Уфа", "city", 2, 55.9600, 54.7300, {},
     [span("1635", "1771", "russia", "core", S7)]),
    ("tobolsk", "Tobolsk", "Тобыл", "Тобольск", "capital", 4, 68.2500, 58.2000,
     {"note": "Seat of the Siberian governors (Gagarin, Buturlin)"},
     [span("1635", "1771", "russia", "core", S4)]),
    ("tara", "Tara", "Тара", "Тара", "fortress", 2, 74.3700, 56.9000, {},
     [span("1635", "1771", "russia", "core", S4)]),
    ("astrakhan", "Astrakhan", "Астрахан", "Астрахань", "city", 4, 48.0300, 46.3500,
     {"note": "Russian town amid the Kalmyk pastures of the lower Volga (an enclave) until the Kalmyk flight of 1771"},
     [span("1635", "1770", "russia", "enclave", S8),
      span("1771", "1771", "russia", "core", S8)]),
    ("lhasa", "Lhasa", "Лхаса", "Лхаса", "capital", 4, 91.1300, 29.6500,
     {"note": "Tauke's son was taken to Lhasa by Galdan (1684, seed); Dzungar occupation 1717–1720"},
     [span("1635", "1716", "tibet", "core", S2),
      span("1717", "1720", "dzungar", "occupied", S4),
      span("1721", "1771", "tibet", "tributary", S7, overlord="qing")]),
]


# Places whose position is not known (the seed names them; scholarship cannot place
# them): drawn hollow with a question mark.
LOCATION_APPROXIMATE = {"kharasman", "khara-murut", "karakum-kurultai", "ordabasy"}


def main():
    feats = []
    for cid, name, kk, ru, kind, rank, lon, lat, extra, control in CITIES:
        props = {"id": cid, "name": name, "name:kk": kk, "name:ru": ru, "kind": kind, "rank": rank}
        props.update(extra)
        if cid in LOCATION_APPROXIMATE:
            props["location"] = "approximate"
        if control:
            props["control"] = control
            props.setdefault("source", control[-1]["source"] if len(control) == 1 else "; ".join(
                sorted({c["source"] for c in control})))
        feats.append(feature(props, point(lon, lat)))
    write_fc("cities.geojson", feats)


if __name__ == "__main__":
    main()
