//! The built-in atlas is true to its seed and to real geography.
//!
//! 1. A table of facts from `../shared/seed/kazakh-dzungar-wars.txt`, one row per fact, every
//!    phase from the background to the aftermath, each checked through `query` at the place
//!    and in the year (captions through `Dataset::captions`).
//! 2. Every dated event of `../shared/seed/timeline.md` that has a place is on the map in its
//!    year: a battle, a campaign, a town changing hands or a caption near that place.
//! 3. Towns on rivers lie on their river; towns, fortresses and lakes lie where they really are.
//!
//! Every test reports all failing rows at once, each by its label.

use geo::Point;
use std::sync::OnceLock;
use steppe_atlas::data::{CampaignKind, Certainty, Feature, Geometry, Layer, Source, Status, Strength};
use steppe_atlas::query::{distance_km, query};
use steppe_atlas::time::{EndDates, Year};
use steppe_atlas::Atlas;

fn atlas() -> &'static Atlas {
    static ATLAS: OnceLock<Atlas> = OnceLock::new();
    ATLAS.get_or_init(|| Atlas::load(&Source::Embedded, EndDates::Inclusive).expect("the built-in atlas loads"))
}

/// (lon, lat) in degrees.
type LonLat = (f64, f64);

// True positions (modern coordinates of the town, its ruins or the named feature).
const TURKISTAN: LonLat = (68.27, 43.30);
const TASHKENT: LonLat = (69.24, 41.30);
const SAYRAM: LonLat = (69.77, 42.30);
const MENKENT: LonLat = (69.83, 42.48);
const SOZAK: LonLat = (68.47, 44.14);
const SAMARKAND: LonLat = (66.96, 39.65);
const BUKHARA: LonLat = (64.42, 39.77);
const KHIVA: LonLat = (60.36, 41.38);
const KHUJAND: LonLat = (69.63, 40.28);
const ANDIJAN: LonLat = (72.34, 40.78);
const KOKAND: LonLat = (70.94, 40.53);
const KASHGAR: LonLat = (75.99, 39.47);
const YARKENT: LonLat = (77.24, 38.42);
const HAMI: LonLat = (93.51, 42.83);
const GHULJA: LonLat = (81.32, 43.91);
const OMSK: LonLat = (73.37, 54.98);
const SEMIPALATINSK: LonLat = (80.23, 50.41);
/// The fortress of 1718–1776, about 12 versts (13–18 km along the river) down the Irtysh from
/// modern Semey, where it was moved in 1776–1778 after floods (approximate site).
const SEMIPALATINSK_1718: LonLat = (80.08, 50.503);
const UST_KAMENOGORSK: LonLat = (82.61, 49.95);
/// The remains of Yamyshevsk fortress (ru.wikipedia: 51°53′23″N 77°22′41″E).
const YAMYSHEVSK: LonLat = (77.378, 51.890);
/// Orenburg of 1735–1741 at the mouth of the Or, later Orsk.
const OR_MOUTH: LonLat = (58.58, 51.21);
const ASTRAKHAN: LonLat = (48.03, 46.35);
const LHASA: LonLat = (91.11, 29.65);
const TARAZ: LonLat = (71.37, 42.90);
const TOKMOK: LonLat = (75.29, 42.84);
const ASTANA: LonLat = (71.43, 51.13);
const KOSTANAY: LonLat = (63.62, 53.21);
const IRGIZ: LonLat = (61.27, 48.62);
const TALDYKORGAN: LonLat = (78.38, 45.02);
// Regions, for facts about land and for vague places.
const DZUNGARIA: LonLat = (86.0, 45.5);
const ILI_VALLEY: LonLat = (81.3, 43.9);
const JETISU: LonLat = (77.5, 44.5);
const CHU_TALAS: LonLat = (72.5, 43.4);
const FERGANA: LonLat = (71.5, 40.7);
const ORBULAQ: LonLat = (78.5, 44.3);
const ISSYK_KUL_CHU: LonLat = (75.8, 42.7);
const ARYS_CHAYAN: LonLat = (69.1, 42.8);
const ANRAKAI: LonLat = (74.8, 44.1);
const ULYTAU: LonLat = (66.9, 48.6);
const ARAL_KARAKUM: LonLat = (62.0, 46.5);
const SARYSU: LonLat = (67.6, 46.6);
const BETPAK_DALA: LonLat = (72.0, 45.8);
const MIDDLE_JUZ: LonLat = (73.5, 49.5);
const LOWER_VOLGA: LonLat = (47.0, 47.5);
const BALKHASH: LonLat = (74.5, 46.3);
const ZAYSAN: LonLat = (84.0, 48.0);
const KHALKHA: LonLat = (97.0, 47.0);
const ALTAI: LonLat = (86.5, 49.5);
const MARKAKOL: LonLat = (85.74, 48.74);
const IRTYSH_STEPPE: LonLat = (77.0, 51.5);
const OTRAR: LonLat = (68.30, 42.85);
const SIGHNAQ: LonLat = (67.40, 44.10);

fn pt((lon, lat): LonLat) -> Point<f64> {
    Point::new(lon, lat)
}

fn km_between(a: LonLat, b: LonLat) -> f64 {
    distance_km(&Geometry::Point(pt(a)), pt(b))
}

fn feature(id: &str) -> &'static Feature {
    atlas().data.get(id).unwrap_or_else(|| panic!("no feature `{id}` in the atlas"))
}

/// The vertices of a route, in marching order.
fn vertices(f: &Feature) -> Vec<LonLat> {
    match &f.geometry {
        Geometry::Lines(ml) => ml.0.iter().flat_map(|l| l.0.iter().map(|c| (c.x, c.y))).collect(),
        _ => Vec::new(),
    }
}

fn name_has(f: &Feature, needle: &str) -> bool {
    f.names.en.to_lowercase().contains(&needle.to_lowercase())
}

/// How a route relates to the fact's place or to another feature.
#[derive(Clone, Copy)]
enum Route {
    /// It passes the place.
    Passes,
    /// Its first vertex is within `km` of the place.
    StartsHere(f64),
    /// Its last vertex is within `km` of the place.
    EndsHere(f64),
    /// Its first vertex is within `km` of feature `id` (a river).
    StartsNear(&'static str, f64),
    /// Its last vertex is within `km` of feature `id`.
    EndsNear(&'static str, f64),
    /// At least `n` of its vertices are within `km` of feature `id`: it follows that river.
    Follows(&'static str, f64, usize),
}

enum Check {
    /// The town `id` is on the map within 10 km, held by `polity` (with `status` and `overlord`
    /// when given).
    Held { id: &'static str, polity: &'static str, status: Option<Status>, overlord: Option<&'static str> },
    /// The town `id` is on the map within 10 km, not held by `polity`.
    NotHeld { id: &'static str, polity: &'static str },
    /// A town, fortress or site `id` is on the map within `km`.
    Present { id: &'static str, km: f64 },
    /// The place `id` is not on the map of that year.
    Absent { id: &'static str },
    /// The territory containing the place is held by `polity` (status, overlord when given).
    Land { polity: &'static str, status: Option<Status>, overlord: Option<&'static str> },
    /// The territory containing the place is not held by `polity`.
    NotLand { polity: &'static str },
    /// A battle whose name contains `name` within `km`, with the details given.
    Battle {
        name: &'static str,
        km: f64,
        victor: Option<&'static str>,
        certainty: Option<Certainty>,
        strength: Option<Strength>,
        /// (feature id, min km, max km): how far the battle lies from another feature.
        from: Option<(&'static str, f64, f64)>,
    },
    /// No battle whose name contains `name` within `km`.
    NoBattle { name: &'static str, km: f64 },
    /// A route of `side` and `kind` within `km`, related to the place as `how`.
    Campaign { side: &'static str, kind: CampaignKind, km: f64, how: Route, strength: Option<Strength> },
    /// A caption of the year contains this text.
    Caption(&'static str),
}

struct Fact {
    label: &'static str,
    year: i32,
    at: LonLat,
    check: Check,
}

fn held(label: &'static str, year: i32, at: LonLat, id: &'static str, polity: &'static str) -> Fact {
    Fact { label, year, at, check: Check::Held { id, polity, status: None, overlord: None } }
}

fn held_as(label: &'static str, year: i32, at: LonLat, id: &'static str, polity: &'static str, status: Status) -> Fact {
    Fact { label, year, at, check: Check::Held { id, polity, status: Some(status), overlord: None } }
}

fn held_under(
    label: &'static str,
    year: i32,
    at: LonLat,
    id: &'static str,
    polity: &'static str,
    overlord: &'static str,
) -> Fact {
    Fact {
        label,
        year,
        at,
        check: Check::Held { id, polity, status: Some(Status::Tributary), overlord: Some(overlord) },
    }
}

fn land(label: &'static str, year: i32, at: LonLat, polity: &'static str, status: Option<Status>) -> Fact {
    Fact { label, year, at, check: Check::Land { polity, status, overlord: None } }
}

fn land_under(label: &'static str, year: i32, at: LonLat, polity: &'static str, overlord: &'static str) -> Fact {
    Fact { label, year, at, check: Check::Land { polity, status: Some(Status::Tributary), overlord: Some(overlord) } }
}

fn present(label: &'static str, year: i32, at: LonLat, id: &'static str) -> Fact {
    Fact { label, year, at, check: Check::Present { id, km: 10.0 } }
}

fn absent(label: &'static str, year: i32, id: &'static str) -> Fact {
    Fact { label, year, at: (0.0, 0.0), check: Check::Absent { id } }
}

fn battle(label: &'static str, year: i32, at: LonLat, name: &'static str, km: f64, victor: &'static str) -> Fact {
    Fact {
        label,
        year,
        at,
        check: Check::Battle { name, km, victor: Some(victor), certainty: None, strength: None, from: None },
    }
}

fn route(
    label: &'static str,
    year: i32,
    at: LonLat,
    side: &'static str,
    kind: CampaignKind,
    km: f64,
    how: Route,
) -> Fact {
    Fact { label, year, at, check: Check::Campaign { side, kind, km, how, strength: None } }
}

fn caption(label: &'static str, year: i32, text: &'static str) -> Fact {
    Fact { label, year, at: (0.0, 0.0), check: Check::Caption(text) }
}

fn facts() -> Vec<Fact> {
    use CampaignKind::{Advance, Flight, Raid, Retreat};
    use Status::{Besieged, Contested, Core, Destroyed, Occupied};
    vec![
        // --- Background and 1635–1658 ---
        land("Dzungaria is Dzungar land in 1635", 1635, DZUNGARIA, "dzungar", Some(Core)),
        land("the Ili valley is the Dzungar heartland in 1635", 1635, ILI_VALLEY, "dzungar", Some(Core)),
        caption("1635: the Dzungar Khanate appears, Jangir captured", 1635, "Jangir"),
        battle("1635: Erdeni Batur captures Sultan Jangir in Kazakh lands", 1635, JETISU, "Jangir", 150.0, "dzungar"),
        route(
            "1640: second campaign between Issyk-Kul and the Chu",
            1640,
            ISSYK_KUL_CHU,
            "dzungar",
            Advance,
            40.0,
            Route::Passes,
        ),
        Fact {
            label: "1643: Orbulaq is a Kazakh victory over 25–50,000 Dzungars in the Ili region",
            year: 1643,
            at: ORBULAQ,
            check: Check::Battle {
                name: "Orbulaq",
                km: 50.0,
                victor: Some("kazakh"),
                certainty: None,
                strength: Some(Strength::Range(25_000.0, 50_000.0)),
                from: Some(("river-ili", 0.0, 120.0)),
            },
        },
        Fact {
            label: "Orbulaq is not on the map of 1642",
            year: 1642,
            at: ORBULAQ,
            check: Check::NoBattle { name: "Orbulaq", km: 100.0 },
        },
        Fact {
            label: "Orbulaq is not on the map of 1644",
            year: 1644,
            at: ORBULAQ,
            check: Check::NoBattle { name: "Orbulaq", km: 100.0 },
        },
        route(
            "1643: Yalangtush's 20,000 march from Samarkand",
            1643,
            SAMARKAND,
            "bukhara",
            Advance,
            20.0,
            Route::StartsHere(15.0),
        ),
        route(
            "1643: Erdeni Batur turns back to Dzungaria",
            1643,
            ORBULAQ,
            "dzungar",
            Retreat,
            50.0,
            Route::EndsHere(400.0),
        ),
        battle("1652: Jangir Khan killed in Jetisu", 1652, JETISU, "Jangir", 150.0, "dzungar"),
        battle("1658: Bukharan relief beaten on the Chu and Talas", 1658, CHU_TALAS, "Chu and Talas", 100.0, "dzungar"),
        land("1660: Jetisu behind the Dzungar border (Ayagöz to Talas)", 1660, TALDYKORGAN, "dzungar", None),
        land("1669: Jetisu still Dzungar before Sengge's murder", 1669, TALDYKORGAN, "dzungar", None),
        land(
            "1670: Tauke takes Jetisu in the year the caption says so",
            1670,
            TALDYKORGAN,
            "kazakh_senior",
            Some(Core),
        ),
        caption("1670: Tauke takes Jetisu", 1670, "takes Jetisu"),
        // --- 1681–1684 ---
        held_as("Sayram besieged in 1681", 1681, SAYRAM, "sayram", "kazakh_senior", Besieged),
        battle("1681: Galdan's siege of Sayram fails", 1681, SAYRAM, "Sayram", 10.0, "kazakh_senior"),
        held_as("Sayram holds between the sieges (1682)", 1682, SAYRAM, "sayram", "kazakh_senior", Core),
        held_as("Sayram besieged again in 1683", 1683, SAYRAM, "sayram", "kazakh_senior", Besieged),
        battle("1683: second siege of Sayram fails", 1683, SAYRAM, "Sayram", 10.0, "kazakh_senior"),
        held("Sayram taken in 1684", 1684, SAYRAM, "sayram", "dzungar"),
        held("Tashkent is Senior Jüz in 1683", 1683, TASHKENT, "tashkent", "kazakh_senior"),
        held("Tashkent taken in 1684", 1684, TASHKENT, "tashkent", "dzungar"),
        held("Menkent taken in 1684", 1684, MENKENT, "menkent", "dzungar"),
        held("Turkistan is Kazakh in 1683", 1683, TURKISTAN, "turkistan", "kazakh"),
        held("Turkistan stays with Tauke in 1684", 1684, TURKISTAN, "turkistan", "kazakh"),
        caption("1684: Tauke's son taken to Lhasa", 1684, "Lhasa"),
        held("the Dzungars abandon Tashkent later (1690)", 1690, TASHKENT, "tashkent", "kazakh_senior"),
        land("the Dzungars keep Jetisu (1690)", 1690, TALDYKORGAN, "dzungar", None),
        // --- 1698–1703 ---
        Fact {
            label: "1698: 40,000 Dzungars rout the Senior Jüz on the Chu and Talas",
            year: 1698,
            at: CHU_TALAS,
            check: Check::Battle {
                name: "Chu and Talas",
                km: 100.0,
                victor: Some("dzungar"),
                certainty: None,
                strength: Some(Strength::Exact(40_000.0)),
                from: Some(("river-chu", 0.0, 60.0)),
            },
        },
        route(
            "1702: the Kazakh retaliation marches on the Dzungar border",
            1702,
            JETISU,
            "kazakh",
            Advance,
            100.0,
            Route::Passes,
        ),
        held_under("Yarkent under Dzungar overlordship (1700)", 1700, YARKENT, "yarkent", "yarkent", "dzungar"),
        Fact {
            label: "the Yarkent Khanate has ended by 1705 (Yarkent)",
            year: 1705,
            at: YARKENT,
            check: Check::NotHeld { id: "yarkent", polity: "yarkent" },
        },
        Fact {
            label: "the Yarkent Khanate has ended by 1705 (Kashgar)",
            year: 1705,
            at: KASHGAR,
            check: Check::NotHeld { id: "kashgar", polity: "yarkent" },
        },
        Fact {
            label: "the Yarkent Khanate has ended by 1705 (Altishahr)",
            year: 1705,
            at: KASHGAR,
            check: Check::NotLand { polity: "yarkent" },
        },
        // --- 1708–1718 ---
        route(
            "1708: the Dzungar vanguard reaches the Sarysu",
            1708,
            SARYSU,
            "dzungar",
            Raid,
            30.0,
            Route::EndsNear("river-sarysu", 10.0),
        ),
        route(
            "1708: the Kazakhs fall back toward Tashkent",
            1708,
            TASHKENT,
            "kazakh_senior",
            Retreat,
            40.0,
            Route::EndsHere(30.0),
        ),
        land("Fergana is Bukharan before Kokand (1708)", 1708, FERGANA, "bukhara", None),
        land("Kokand holds Fergana from 1709", 1709, FERGANA, "kokand", None),
        held("Kokand is the Kokand Khanate's from 1709", 1709, KOKAND, "kokand", "kokand"),
        caption("1710: the first kurultai", 1710, "kurultai"),
        Fact {
            label: "1710: the kurultai is held in the Karakum",
            year: 1710,
            at: ARAL_KARAKUM,
            check: Check::Present { id: "karakum-kurultai", km: 150.0 },
        },
        route(
            "1714: Galdan Tseren sent to Lake Zaysan",
            1714,
            ZAYSAN,
            "dzungar",
            Advance,
            40.0,
            Route::EndsNear("lake-zaysan", 10.0),
        ),
        held("Hami taken by Tsewang Rabtan in 1715", 1715, HAMI, "hami", "dzungar"),
        absent("Omsk is not yet built in 1715", 1715, "omsk"),
        present("Omsk exists from 1716", 1716, OMSK, "omsk"),
        present("Yamyshevsk exists from 1716", 1716, YAMYSHEVSK, "yamyshevsk"),
        Fact {
            label: "1717: the Ayagoz battle is a Dzungar victory over 30,000 on the Ayagoz river",
            year: 1717,
            at: (79.6, 47.4),
            check: Check::Battle {
                name: "Ayagoz",
                km: 60.0,
                victor: Some("dzungar"),
                certainty: None,
                strength: Some(Strength::Exact(30_000.0)),
                from: Some(("river-ayagoz", 0.0, 5.0)),
            },
        },
        absent("Semipalatinsk is not yet built in 1717", 1717, "semipalatinsk"),
        present("Semipalatinsk exists from 1718", 1718, SEMIPALATINSK_1718, "semipalatinsk"),
        battle("1718: the swift march to the Arys and Chayan", 1718, ARYS_CHAYAN, "Arys", 50.0, "dzungar"),
        absent("Ust-Kamenogorsk is not yet built in 1719", 1719, "ust-kamenogorsk"),
        present("Ust-Kamenogorsk exists from 1720", 1720, UST_KAMENOGORSK, "ust-kamenogorsk"),
        // --- 1723–1730 ---
        held("Turkistan is Kazakh in 1722", 1722, TURKISTAN, "turkistan", "kazakh"),
        held_as("Turkistan taken by the Dzungars in 1723", 1723, TURKISTAN, "turkistan", "dzungar", Occupied),
        held("Abul Khair retakes Turkistan in 1724", 1724, TURKISTAN, "turkistan", "kazakh_junior"),
        held("Lobsangsür retakes Turkistan in 1725", 1725, TURKISTAN, "turkistan", "dzungar"),
        held("Sayram falls in 1723", 1723, SAYRAM, "sayram", "dzungar"),
        held("Tashkent falls in 1723", 1723, TASHKENT, "tashkent", "dzungar"),
        held("Khujand occupied in 1723", 1723, KHUJAND, "khujand", "dzungar"),
        held("Khujand goes with the Fergana land (Kokand) after the occupation", 1730, KHUJAND, "khujand", "kokand"),
        held("Otrar goes with its land, overrun in 1723", 1723, OTRAR, "otrar", "dzungar"),
        held("Sighnaq goes with its land, overrun in 1732", 1732, SIGHNAQ, "sighnaq", "dzungar"),
        held("Samarkand occupied in 1723", 1723, SAMARKAND, "samarkand", "dzungar"),
        held("Andijan occupied in 1723", 1723, ANDIJAN, "andijan", "dzungar"),
        land("the Fergana valley occupied in 1723", 1723, FERGANA, "dzungar", Some(Occupied)),
        route("1723: the Senior Jüz flees by Khujand", 1723, KHUJAND, "kazakh_senior", Flight, 10.0, Route::Passes),
        route(
            "1723: the Middle Jüz flees to Samarkand",
            1723,
            SAMARKAND,
            "kazakh_middle",
            Flight,
            25.0,
            Route::EndsHere(15.0),
        ),
        route("1723: the Junior Jüz flees to Khiva", 1723, KHIVA, "kazakh_junior", Flight, 25.0, Route::EndsHere(15.0)),
        route(
            "1723: the Junior Jüz flees to Bukhara",
            1723,
            BUKHARA,
            "kazakh_junior",
            Flight,
            25.0,
            Route::EndsHere(15.0),
        ),
        held_as("Sozak stands in 1723", 1723, SOZAK, "sozak", "kazakh_senior", Core),
        held_as("Sozak destroyed in 1724", 1724, SOZAK, "sozak", "dzungar", Destroyed),
        held_as("Sozak still in ruins in 1725", 1725, SOZAK, "sozak", "dzungar", Destroyed),
        route(
            "1724: the late-winter attack runs along the Chu",
            1724,
            TOKMOK,
            "dzungar",
            Advance,
            30.0,
            Route::Follows("river-chu", 20.0, 4),
        ),
        route("1724: flight to the Betpak-Dala", 1724, BETPAK_DALA, "kazakh_senior", Flight, 80.0, Route::Passes),
        caption("1726: the meeting at Ordabasy", 1726, "Ordabasy"),
        Fact {
            label: "1726: Ordabasy near Turkistan is on the map",
            year: 1726,
            at: TURKISTAN,
            check: Check::Present { id: "ordabasy", km: 150.0 },
        },
        Fact {
            label: "1726: Bulanty is a Kazakh victory near Ulytau",
            year: 1726,
            at: ULYTAU,
            check: Check::Battle {
                name: "Bulanty",
                km: 150.0,
                victor: Some("kazakh"),
                certainty: None,
                strength: None,
                from: Some(("landform-ulytau", 0.0, 120.0)),
            },
        },
        caption("1727: Tsewang Rabtan dies", 1727, "Tsewang Rabtan dies"),
        caption("1728: the second kurultai", 1728, "kurultai"),
        Fact {
            label: "1729: Anrakai is a Kazakh victory, date disputed, ~120 km from Balkhash",
            year: 1729,
            at: ANRAKAI,
            check: Check::Battle {
                name: "Anrakai",
                km: 60.0,
                victor: Some("kazakh"),
                certainty: Some(Certainty::Disputed),
                strength: None,
                from: Some(("lake-balkhash", 80.0, 160.0)),
            },
        },
        // --- 1731–1735 ---
        land("the Junior Jüz is independent in 1730", 1730, IRGIZ, "kazakh_junior", Some(Core)),
        land_under("the Junior Jüz under Russian overlordship from 1731", 1731, IRGIZ, "kazakh_junior", "russia"),
        // Seed: "some rulers" of the Middle Jüz in 1731; its land follows in 1740 (1739–1741).
        land("the Middle Jüz's land is its own in 1739", 1739, ULYTAU, "kazakh_middle", Some(Core)),
        land_under("the Middle Jüz's land under Russian protection from 1740", 1740, ULYTAU, "kazakh_middle", "russia"),
        caption("1740: Middle Jüz rulers accept Russian protectorate", 1740, "Middle Jüz rulers accept Russian"),
        route("1731: the deep Kazakh raid into Dzungaria", 1731, ZAYSAN, "kazakh", Raid, 150.0, Route::Passes),
        held("Tashkent taken again in 1732", 1732, TASHKENT, "tashkent", "dzungar"),
        held("Sayram taken again in 1732", 1732, SAYRAM, "sayram", "dzungar"),
        held("Turkistan taken again in 1732", 1732, TURKISTAN, "turkistan", "dzungar"),
        battle(
            "1732: 7,000 Dzungars repelled by the Middle Jüz",
            1732,
            MIDDLE_JUZ,
            "Middle Jüz",
            300.0,
            "kazakh_middle",
        ),
        caption("1733: Tsagan's request at Semipalatinsk", 1733, "Semipalatinsk"),
        held_as("the Senior Jüz khan holds Tashkent in 1734", 1734, TASHKENT, "tashkent", "kazakh_senior", Core),
        land("the Senior Jüz is free in 1734", 1734, CHU_TALAS, "kazakh_senior", Some(Core)),
        land_under(
            "the Senior Jüz is tributary to the Dzungars from 1735",
            1735,
            CHU_TALAS,
            "kazakh_senior",
            "dzungar",
        ),
        land_under(
            "the Syr Darya towns are tributary to the Dzungars in 1735",
            1735,
            TURKISTAN,
            "kazakh_senior",
            "dzungar",
        ),
        held_under(
            "Tashkent under Dzungar overlordship in 1735",
            1735,
            TASHKENT,
            "tashkent",
            "kazakh_senior",
            "dzungar",
        ),
        absent("Orenburg is not yet founded in 1734", 1734, "orsk"),
        present("Orenburg founded at the Or mouth in 1735", 1735, OR_MOUTH, "orsk"),
        // --- 1739–1741 ---
        Fact {
            label: "1739: 24,000 Oirat cavalry attack the Middle Jüz",
            year: 1739,
            at: MIDDLE_JUZ,
            check: Check::Battle {
                name: "Middle Jüz",
                km: 100.0,
                victor: Some("dzungar"),
                certainty: None,
                strength: Some(Strength::Exact(24_000.0)),
                from: None,
            },
        },
        route(
            "1741: the axis from Tashkent starts at Tashkent",
            1741,
            TASHKENT,
            "dzungar",
            Advance,
            20.0,
            Route::StartsHere(15.0),
        ),
        route(
            "1741: the axis from Turkestan starts at Turkistan",
            1741,
            TURKISTAN,
            "dzungar",
            Advance,
            20.0,
            Route::StartsHere(15.0),
        ),
        route(
            "1741: the Ishim axis runs along the Ishim",
            1741,
            ASTANA,
            "dzungar",
            Advance,
            30.0,
            Route::Follows("river-ishim", 20.0, 4),
        ),
        route(
            "1741: Abilmambet falls back to Orenburg",
            1741,
            OR_MOUTH,
            "kazakh_middle",
            Retreat,
            20.0,
            Route::EndsHere(15.0),
        ),
        route(
            "1741: the uluses migrate beyond the Tobol",
            1741,
            KOSTANAY,
            "kazakh_middle",
            Flight,
            80.0,
            Route::Follows("river-tobol", 5.0, 1),
        ),
        caption("1741: Ablai captured", 1741, "Ablai captured"),
        // --- Aftermath ---
        caption("1745: Galdan Tseren dies", 1745, "Galdan Tseren dies"),
        land("Dzungaria is still Dzungar in 1754", 1754, ILI_VALLEY, "dzungar", None),
        land("Dzungaria is Qing by 1758", 1758, ILI_VALLEY, "qing", None),
        land("eastern Dzungaria is Qing by 1758", 1758, DZUNGARIA, "qing", None),
        held("Ghulja is Qing by 1758", 1758, GHULJA, "ghulja", "qing"),
        held("Kashgar is Qing by 1759", 1759, KASHGAR, "kashgar", "qing"),
        // The khanate is gone from 1757: nothing is Dzungar after it.
        held_as("Kashgar held by the khojas against the Qing in 1757", 1757, KASHGAR, "kashgar", "qing", Contested),
        land("the Altai is Dzungar in 1756", 1756, ALTAI, "dzungar", None),
        land("the Altai goes with Dzungaria to the Qing in 1757, not to Russia", 1757, ALTAI, "qing", Some(Core)),
        land("Markakol is Qing in 1771 (Russian only in the 1860s)", 1771, MARKAKOL, "qing", Some(Core)),
        land_under(
            "Ablai's Middle Jüz takes the Irtysh steppe in 1757",
            1757,
            IRTYSH_STEPPE,
            "kazakh_middle",
            "russia",
        ),
        land("the Irtysh steppe is Dzungar-occupied in 1756", 1756, IRTYSH_STEPPE, "dzungar", Some(Occupied)),
        land(
            "Jetisu is Senior Jüz land contested with the Qing after the khanate",
            1765,
            TALDYKORGAN,
            "kazakh_senior",
            Some(Contested),
        ),
        Fact {
            label: "1771: the Kalmyk flight (140–170,000) sets out from the Volga",
            year: 1771,
            at: LOWER_VOLGA,
            check: Check::Campaign {
                side: "kalmyk",
                kind: Flight,
                km: 80.0,
                how: Route::StartsNear("river-volga", 25.0),
                strength: Some(Strength::Range(140_000.0, 170_000.0)),
            },
        },
        route(
            "1771: the Kalmyk flight passes the Balkhash region",
            1771,
            BALKHASH,
            "kalmyk",
            Flight,
            100.0,
            Route::Passes,
        ),
        route(
            "1771: the Kalmyk flight ends on the Ili",
            1771,
            GHULJA,
            "kalmyk",
            Flight,
            60.0,
            Route::EndsNear("river-ili", 30.0),
        ),
    ]
}

/// Check one fact; `Err` says what the map shows instead.
fn check(fact: &Fact) -> Result<(), String> {
    let a = atlas();
    let y = Year(fact.year);
    let (lon, lat) = fact.at;
    match &fact.check {
        Check::Held { id, polity, status, overlord } => {
            let hits = query(a, y, lon, lat, 10.0);
            let city = hits
                .iter()
                .find(|h| h.feature.layer == Layer::Cities && h.feature.id == *id)
                .ok_or_else(|| format!("`{id}` is not on the map within 10 km"))?;
            let c = city.feature.holder(y).ok_or_else(|| format!("`{id}` has no holder"))?;
            let got = format!("{} {} (overlord {:?})", c.polity, c.status.name(), c.overlord);
            if c.polity != *polity
                || status.is_some_and(|s| s != c.status)
                || overlord.is_some_and(|o| c.overlord.as_deref() != Some(o))
            {
                return Err(format!("`{id}` is held by {got}"));
            }
            Ok(())
        }
        Check::NotHeld { id, polity } => {
            let hits = query(a, y, lon, lat, 10.0);
            let city = hits
                .iter()
                .find(|h| h.feature.layer == Layer::Cities && h.feature.id == *id)
                .ok_or_else(|| format!("`{id}` is not on the map within 10 km"))?;
            match city.feature.holder(y) {
                Some(c) if c.polity == *polity => Err(format!("`{id}` is still held by {polity}")),
                _ => Ok(()),
            }
        }
        Check::Present { id, km } => {
            let hits = query(a, y, lon, lat, *km);
            if hits.iter().any(|h| h.feature.id == *id) {
                Ok(())
            } else {
                Err(format!("`{id}` is not on the map within {km} km"))
            }
        }
        Check::Absent { id } => {
            let f = feature(id);
            let (flon, flat) = match &f.geometry {
                Geometry::Point(p) => (p.x(), p.y()),
                _ => return Err(format!("`{id}` is not a point")),
            };
            if query(a, y, flon, flat, 1.0).iter().any(|h| h.feature.id == *id) {
                Err(format!("`{id}` is already on the map"))
            } else {
                Ok(())
            }
        }
        Check::Land { polity, status, overlord } => {
            let hits = query(a, y, lon, lat, 1.0);
            let t =
                hits.iter().find(|h| h.feature.layer == Layer::Territories).ok_or("no territory contains the place")?;
            let c = t.feature.holder(y).ok_or("the territory has no holder")?;
            if c.polity != *polity
                || status.is_some_and(|s| s != c.status)
                || overlord.is_some_and(|o| c.overlord.as_deref() != Some(o))
            {
                return Err(format!(
                    "`{}` is held by {} {} (overlord {:?})",
                    t.feature.id,
                    c.polity,
                    c.status.name(),
                    c.overlord
                ));
            }
            Ok(())
        }
        Check::NotLand { polity } => {
            let hits = query(a, y, lon, lat, 1.0);
            let t =
                hits.iter().find(|h| h.feature.layer == Layer::Territories).ok_or("no territory contains the place")?;
            match t.feature.holder(y) {
                Some(c) if c.polity == *polity => Err(format!("`{}` is still held by {polity}", t.feature.id)),
                _ => Ok(()),
            }
        }
        Check::Battle { name, km, victor, certainty, strength, from } => {
            let hits = query(a, y, lon, lat, *km);
            let battles: Vec<&Feature> =
                hits.iter().map(|h| h.feature).filter(|f| f.layer == Layer::Battles && name_has(f, name)).collect();
            if battles.is_empty() {
                return Err(format!("no battle named like {name:?} within {km} km"));
            }
            let mut why = Vec::new();
            for b in battles {
                let mut bad = Vec::new();
                if let Some(v) = victor {
                    if b.victor().as_deref() != Some(*v) {
                        bad.push(format!("victor {:?}", b.victor()));
                    }
                }
                if certainty.is_some() && b.certainty != *certainty {
                    bad.push(format!("certainty {:?}", b.certainty));
                }
                if strength.is_some() && *b.strength() != *strength {
                    bad.push(format!("strength {:?}", b.strength()));
                }
                if let Some((other, lo, hi)) = from {
                    let d = distance_km(&feature(other).geometry, battle_point(b));
                    if d < *lo || d > *hi {
                        bad.push(format!("{d:.1} km from `{other}` (want {lo}–{hi})"));
                    }
                }
                if bad.is_empty() {
                    return Ok(());
                }
                why.push(format!("`{}`: {}", b.id, bad.join(", ")));
            }
            Err(why.join("; "))
        }
        Check::NoBattle { name, km } => {
            let hits = query(a, y, lon, lat, *km);
            match hits.iter().find(|h| h.feature.layer == Layer::Battles && name_has(h.feature, name)) {
                Some(h) => Err(format!("`{}` is on the map", h.feature.id)),
                None => Ok(()),
            }
        }
        Check::Campaign { side, kind, km, how, strength } => {
            let hits = query(a, y, lon, lat, *km);
            let routes: Vec<&Feature> = hits
                .iter()
                .map(|h| h.feature)
                .filter(|f| {
                    f.layer == Layer::Campaigns && f.side().as_deref() == Some(*side) && f.campaign_kind == *kind
                })
                .collect();
            if routes.is_empty() {
                return Err(format!("no {kind:?} route of {side} within {km} km"));
            }
            let mut why = Vec::new();
            for r in routes {
                match route_fits(r, fact.at, *how) {
                    Ok(()) if strength.is_none() || *r.strength() == *strength => return Ok(()),
                    Ok(()) => why.push(format!("`{}`: strength {:?}", r.id, r.strength())),
                    Err(e) => why.push(format!("`{}`: {e}", r.id)),
                }
            }
            Err(why.join("; "))
        }
        Check::Caption(text) => {
            let caps = a.data.captions(y, "en");
            if caps.iter().any(|c| c.to_lowercase().contains(&text.to_lowercase())) {
                Ok(())
            } else {
                Err(format!("no caption mentions {text:?}: {caps:?}"))
            }
        }
    }
}

fn battle_point(b: &Feature) -> Point<f64> {
    match &b.geometry {
        Geometry::Point(p) => *p,
        _ => panic!("battle `{}` is not a point", b.id),
    }
}

fn route_fits(r: &Feature, at: LonLat, how: Route) -> Result<(), String> {
    let v = vertices(r);
    let (first, last) = match (v.first(), v.last()) {
        (Some(f), Some(l)) => (*f, *l),
        _ => return Err("the route has no vertices".into()),
    };
    let near = |p: LonLat, id: &str| distance_km(&feature(id).geometry, pt(p));
    match how {
        Route::Passes => Ok(()),
        Route::StartsHere(km) => {
            let d = km_between(first, at);
            if d <= km {
                Ok(())
            } else {
                Err(format!("starts {d:.0} km away"))
            }
        }
        Route::EndsHere(km) => {
            let d = km_between(last, at);
            if d <= km {
                Ok(())
            } else {
                Err(format!("ends {d:.0} km away"))
            }
        }
        Route::StartsNear(id, km) => {
            let d = near(first, id);
            if d <= km {
                Ok(())
            } else {
                Err(format!("starts {d:.0} km from `{id}`"))
            }
        }
        Route::EndsNear(id, km) => {
            let d = near(last, id);
            if d <= km {
                Ok(())
            } else {
                Err(format!("ends {d:.0} km from `{id}`"))
            }
        }
        Route::Follows(id, km, n) => {
            let close = v.iter().filter(|p| near(**p, id) <= km).count();
            if close >= n {
                Ok(())
            } else {
                Err(format!("only {close} vertices within {km} km of `{id}` (want {n})"))
            }
        }
    }
}

#[test]
fn the_atlas_tells_the_seed() {
    let facts = facts();
    assert!(facts.len() >= 30, "only {} facts", facts.len());
    let failures: Vec<String> =
        facts.iter().filter_map(|f| check(f).err().map(|e| format!("{} [{}]: {e}", f.label, f.year))).collect();
    assert!(failures.is_empty(), "{} of {} facts fail:\n  {}", failures.len(), facts.len(), failures.join("\n  "));
}

#[test]
fn facts_cover_every_phase_of_the_seed() {
    // (phase, first year, last year) as the seed's sections, the background folded into 1635–1658.
    let phases = [
        ("1635–1658", 1600, 1658),
        ("1681–1684", 1681, 1697),
        ("1698–1703", 1698, 1707),
        ("1708–1718", 1708, 1720),
        ("1723–1730", 1723, 1730),
        ("1731–1735", 1731, 1735),
        ("1739–1741", 1736, 1741),
        ("Aftermath", 1742, 1771),
    ];
    let facts = facts();
    for (phase, from, to) in phases {
        let n = facts.iter().filter(|f| (from..=to).contains(&f.year)).count();
        assert!(n >= 3, "phase {phase} has only {n} facts");
    }
}

/// What a timeline row expects on the map.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Battle,
    Campaign,
    /// A town that changes hands, is besieged or destroyed, or is founded that year.
    Capture,
    /// An event with a caption placed near the place.
    Caption,
}

/// Every dated row of `timeline.md` that has a place: (year, place, its position, radius km, kind).
/// Ranges use their first year; rows without a place (1697, 1703, 1713–14, 1720, 1730, after
/// Anrakai) are left out.
const TIMELINE: &[(i32, &str, LonLat, f64, Kind)] = &[
    (1457, "near Sighnaq", (67.5, 44.1), 30.0, Kind::Caption),
    (1465, "Moghulistan / Semirechye", JETISU, 200.0, Kind::Caption),
    (1530, "Ishim, Irghiz, Emba (north of the Aral)", IRGIZ, 250.0, Kind::Caption),
    (1634, "Dzungaria", DZUNGARIA, 300.0, Kind::Caption),
    (1635, "Dzungaria", DZUNGARIA, 300.0, Kind::Caption),
    (1635, "Kazakh lands (Jetisu)", JETISU, 150.0, Kind::Battle),
    (1635, "Kazakh lands (Jetisu)", JETISU, 150.0, Kind::Campaign),
    (1640, "between Issyk-Kul and the Chu", ISSYK_KUL_CHU, 40.0, Kind::Campaign),
    (1640, "between Issyk-Kul and the Chu", ISSYK_KUL_CHU, 60.0, Kind::Caption),
    (1643, "Orbulaq gorge, Ili region", ORBULAQ, 50.0, Kind::Battle),
    (1643, "Orbulaq gorge, Ili region", ORBULAQ, 50.0, Kind::Campaign),
    (1645, "Kazakh Khanate", CHU_TALAS, 250.0, Kind::Campaign),
    (1646, "Kazakh Khanate", CHU_TALAS, 250.0, Kind::Campaign),
    (1652, "Jetisu", JETISU, 150.0, Kind::Battle),
    (1658, "Chu, Talas", CHU_TALAS, 100.0, Kind::Battle),
    // The seed gives no year: "after Sengge was killed" (1670), during the succession war.
    (1670, "Jetisu (after Sengge's murder, 1670)", JETISU, 150.0, Kind::Caption),
    (1681, "Sayram", SAYRAM, 10.0, Kind::Battle),
    (1681, "Sayram", SAYRAM, 10.0, Kind::Capture),
    (1683, "Sayram", SAYRAM, 10.0, Kind::Battle),
    (1683, "Sayram", SAYRAM, 10.0, Kind::Capture),
    (1684, "Sayram", SAYRAM, 10.0, Kind::Capture),
    (1684, "Tashkent", TASHKENT, 10.0, Kind::Capture),
    (1684, "Tashkent", TASHKENT, 80.0, Kind::Campaign),
    (1684, "Lhasa", LHASA, 30.0, Kind::Caption),
    (1685, "Syr Darya towns, Jetisu (after 1684)", JETISU, 150.0, Kind::Caption),
    (1687, "Khalkha", KHALKHA, 300.0, Kind::Caption),
    (1698, "Chu and Talas", CHU_TALAS, 100.0, Kind::Battle),
    (1698, "Chu and Talas", CHU_TALAS, 100.0, Kind::Campaign),
    (1702, "Dzungar border", JETISU, 150.0, Kind::Campaign),
    (1708, "Senior Jüz, Sarysu", SARYSU, 30.0, Kind::Campaign),
    (1708, "Senior Jüz, Sarysu", SARYSU, 30.0, Kind::Caption),
    (1710, "Karakum", ARAL_KARAKUM, 150.0, Kind::Caption),
    (1711, "central/eastern steppe", (74.0, 48.0), 200.0, Kind::Battle),
    (1714, "Zaysan", ZAYSAN, 40.0, Kind::Campaign),
    (1715, "Hami", HAMI, 10.0, Kind::Capture),
    (1715, "Hami", HAMI, 10.0, Kind::Caption),
    (1716, "Ili", (79.0, 44.0), 40.0, Kind::Campaign),
    (1716, "Ili", (79.0, 44.0), 40.0, Kind::Caption),
    (1717, "Ayagoz River", (79.6, 47.4), 60.0, Kind::Battle),
    (1717, "Ayagoz River", (79.6, 47.4), 60.0, Kind::Caption),
    (1718, "Arys, Chayan", ARYS_CHAYAN, 50.0, Kind::Battle),
    (1718, "Arys, Chayan", ARYS_CHAYAN, 50.0, Kind::Campaign),
    (1723, "Sayram", SAYRAM, 10.0, Kind::Capture),
    (1723, "Tashkent", TASHKENT, 10.0, Kind::Capture),
    (1723, "Turkistan", TURKISTAN, 10.0, Kind::Capture),
    (1723, "Khujand", KHUJAND, 10.0, Kind::Capture),
    (1723, "Samarkand", SAMARKAND, 10.0, Kind::Capture),
    (1723, "Andijan", ANDIJAN, 10.0, Kind::Capture),
    (1723, "Fergana", KOKAND, 10.0, Kind::Capture),
    (1723, "Fergana", FERGANA, 100.0, Kind::Caption),
    (1723, "Tashkent (the flight)", TASHKENT, 40.0, Kind::Campaign),
    (1724, "Chu", TOKMOK, 30.0, Kind::Campaign),
    (1724, "Karatau, Sozak", SOZAK, 10.0, Kind::Capture),
    (1724, "Karatau, Sozak", SOZAK, 10.0, Kind::Battle),
    (1724, "Betpak-Dala", BETPAK_DALA, 80.0, Kind::Campaign),
    (1724, "Turkistan", TURKISTAN, 10.0, Kind::Capture),
    (1725, "Turkistan", TURKISTAN, 10.0, Kind::Capture),
    (1725, "Turkistan", TURKISTAN, 10.0, Kind::Caption),
    (1726, "Ordabasy", (69.0, 42.6), 30.0, Kind::Campaign),
    (1726, "Bulanty near Ulytau", ULYTAU, 150.0, Kind::Battle),
    (1726, "Bulanty near Ulytau", ULYTAU, 150.0, Kind::Caption),
    (1727, "Dzungaria", ILI_VALLEY, 300.0, Kind::Caption),
    (1728, "Volga", ASTRAKHAN, 60.0, Kind::Caption),
    (1729, "Anrakai", ANRAKAI, 60.0, Kind::Battle),
    (1729, "Anrakai", ANRAKAI, 60.0, Kind::Caption),
    (1731, "Dzungaria, Altai", ZAYSAN, 200.0, Kind::Campaign),
    (1731, "Dzungaria, Altai", ZAYSAN, 200.0, Kind::Caption),
    (1732, "Middle Jüz", MIDDLE_JUZ, 300.0, Kind::Battle),
    (1732, "Tashkent", TASHKENT, 10.0, Kind::Capture),
    (1732, "Sayram", SAYRAM, 10.0, Kind::Capture),
    (1732, "Turkistan", TURKISTAN, 10.0, Kind::Capture),
    (1733, "Semipalatinsk", SEMIPALATINSK, 20.0, Kind::Caption),
    (1734, "Tashkent", TASHKENT, 10.0, Kind::Capture),
    (1734, "Tashkent", TASHKENT, 10.0, Kind::Caption),
    (1735, "Senior Jüz", CHU_TALAS, 150.0, Kind::Campaign),
    (1735, "Senior Jüz", CHU_TALAS, 150.0, Kind::Caption),
    (1737, "Irtysh line, Altai", UST_KAMENOGORSK, 250.0, Kind::Caption),
    (1739, "Middle Jüz", MIDDLE_JUZ, 200.0, Kind::Campaign),
    (1739, "Middle Jüz", MIDDLE_JUZ, 200.0, Kind::Battle),
    (1740, "Middle Jüz (1739–1740)", MIDDLE_JUZ, 200.0, Kind::Battle),
    (1740, "Orenburg (at the Or mouth)", OR_MOUTH, 20.0, Kind::Caption),
    (1741, "Ishim", ASTANA, 30.0, Kind::Campaign),
    (1741, "Tashkent", TASHKENT, 20.0, Kind::Campaign),
    (1741, "Turkistan", TURKISTAN, 20.0, Kind::Campaign),
    (1741, "Tobol", KOSTANAY, 80.0, Kind::Campaign),
    (1741, "Orenburg (at the Or mouth)", OR_MOUTH, 20.0, Kind::Campaign),
    (1745, "Dzungaria", ILI_VALLEY, 300.0, Kind::Caption),
    (1755, "Dzungaria", DZUNGARIA, 300.0, Kind::Caption),
    (1771, "Volga", LOWER_VOLGA, 80.0, Kind::Campaign),
    (1771, "Balkhash", BALKHASH, 100.0, Kind::Campaign),
    (1771, "Balkhash", BALKHASH, 200.0, Kind::Caption),
    (1771, "Ili", GHULJA, 60.0, Kind::Campaign),
];

fn same_holder(f: &Feature, a: Year, b: Year) -> bool {
    match (f.holder(a), f.holder(b)) {
        (Some(x), Some(y)) => x.polity == y.polity && x.status == y.status && x.overlord == y.overlord,
        (None, None) => true,
        _ => false,
    }
}

fn on_map(year: i32, at: LonLat, km: f64, kind: Kind) -> bool {
    let a = atlas();
    let y = Year(year);
    let (lon, lat) = at;
    match kind {
        Kind::Battle => query(a, y, lon, lat, km).iter().any(|h| h.feature.layer == Layer::Battles),
        Kind::Campaign => query(a, y, lon, lat, km).iter().any(|h| h.feature.layer == Layer::Campaigns),
        Kind::Capture => query(a, y, lon, lat, km).iter().any(|h| {
            let f = h.feature;
            f.layer == Layer::Cities
                && (!same_holder(f, y, Year(year - 1))
                    || f.holder(y).is_some_and(|c| matches!(c.status, Status::Besieged | Status::Destroyed))
                    || f.span.start_year() == Some(year))
        }),
        Kind::Caption => a
            .data
            .layer(Layer::Events)
            .iter()
            .any(|e| e.alive(y) && e.properties.contains_key("caption") && distance_km(&e.geometry, pt(at)) <= km),
    }
}

#[test]
fn every_placed_event_of_the_timeline_is_on_the_map_in_its_year() {
    let missing: Vec<String> = TIMELINE
        .iter()
        .filter(|(year, _, at, km, kind)| !on_map(*year, *at, *km, *kind))
        .map(|(year, place, _, km, kind)| format!("{year} {place}: no {kind:?} within {km} km"))
        .collect();
    assert!(missing.is_empty(), "{} timeline rows are not on the map:\n  {}", missing.len(), missing.join("\n  "));
}

/// (town id, river id): towns that really stand on a river.
const ON_RIVERS: &[(&str, &str)] = &[
    ("semipalatinsk", "river-irtysh"),
    ("omsk", "river-irtysh"),
    ("ust-kamenogorsk", "river-irtysh"),
    ("yamyshevsk", "river-irtysh"),
    ("khujand", "river-syr-darya"),
    ("taraz", "river-talas"),
    ("ghulja", "river-ili"),
    ("orsk", "river-ural"),
    ("orenburg", "river-ural"),
    ("astrakhan", "river-volga"),
    ("zhelezinsk", "river-irtysh"),
    ("petropavlovsk", "river-ishim"),
];

fn city_point(id: &str) -> Point<f64> {
    match &feature(id).geometry {
        Geometry::Point(p) => *p,
        g => panic!("`{id}` is not a point: {g:?}"),
    }
}

#[test]
fn towns_on_rivers_lie_on_their_river() {
    let mut bad = Vec::new();
    for (town, river) in ON_RIVERS {
        let d = distance_km(&feature(river).geometry, city_point(town));
        if d > 5.0 {
            bad.push(format!("{town} is {d:.1} km from {river}"));
        }
    }
    // Turkistan stands off the Syr Darya, about 30 km from its channel.
    let d = distance_km(&feature("river-syr-darya").geometry, city_point("turkistan"));
    if !(20.0..=45.0).contains(&d) {
        bad.push(format!("turkistan is {d:.1} km from the Syr Darya (want 20–45)"));
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn towns_stand_where_they_really_are() {
    let truth: &[(&str, LonLat)] = &[
        ("turkistan", TURKISTAN),
        ("tashkent", TASHKENT),
        ("sayram", SAYRAM),
        ("samarkand", SAMARKAND),
        ("bukhara", BUKHARA),
        ("khiva", KHIVA),
        ("kashgar", KASHGAR),
        ("yarkent", YARKENT),
        ("hami", HAMI),
        ("omsk", OMSK),
        ("semipalatinsk", SEMIPALATINSK_1718),
        ("ust-kamenogorsk", UST_KAMENOGORSK),
        ("yamyshevsk", YAMYSHEVSK),
        ("astrakhan", ASTRAKHAN),
        ("lhasa", LHASA),
        ("taraz", TARAZ),
        ("khujand", KHUJAND),
        ("andijan", ANDIJAN),
        ("ghulja", GHULJA),
    ];
    let mut bad = Vec::new();
    for (id, (lon, lat)) in truth {
        // Every one of them stands in 1741: ask the map what is within 5 km of the true place.
        let hits = query(atlas(), Year(1741), *lon, *lat, 5.0);
        if !hits.iter().any(|h| h.feature.layer == Layer::Cities && h.feature.id == *id) {
            let p = city_point(id);
            bad.push(format!("{id} is {:.1} km from its true place", km_between((p.x(), p.y()), (*lon, *lat))));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn seas_and_lakes_contain_their_open_water() {
    let interior: &[(&str, LonLat)] = &[
        ("aral-sea", (60.0, 45.0)),
        // The full 18th-century Aral reached the Syr Darya mouth and the Amu Darya delta.
        ("aral-sea", (61.0, 46.0)),
        ("aral-sea", (59.0, 44.0)),
        // (74.0, 46.2) falls on a 3-km sand spit of GSHHG's west Balkhash; open water is east of it.
        ("lake-balkhash", (74.5, 46.3)),
        ("lake-balkhash", (75.5, 46.6)),
        ("lake-issyk-kul", (77.3, 42.4)),
        ("lake-zaysan", (84.0, 48.0)),
        ("caspian-sea", (51.0, 43.0)),
    ];
    let mut bad = Vec::new();
    for (id, at) in interior {
        let d = distance_km(&feature(id).geometry, pt(*at));
        if d != 0.0 {
            bad.push(format!("{id} does not contain {at:?} ({d:.1} km outside)"));
        }
        // The query answers with the water there too.
        let hits = query(atlas(), Year(1741), at.0, at.1, 1.0);
        if !hits.iter().any(|h| h.feature.id == *id && h.distance_km == 0.0) {
            bad.push(format!("query at {at:?} does not report {id}"));
        }
    }
    let spit = distance_km(&feature("lake-balkhash").geometry, pt((74.0, 46.2)));
    if spit > 2.0 {
        bad.push(format!("(74.0, 46.2) is {spit:.1} km from Lake Balkhash"));
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn territories_meet_vertex_to_vertex() {
    // Borders are drawn between areas whose shared segments match exactly; a vertex of one
    // area lying midway along another's edge (a T-junction) would draw a false border.
    let areas = atlas().data.layer(Layer::Territories);
    let rings = |f: &Feature| -> Vec<Vec<LonLat>> {
        match &f.geometry {
            Geometry::Areas(mp) => {
                mp.0.iter()
                    .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
                    .map(|r| r.0.iter().map(|c| (c.x, c.y)).collect())
                    .collect()
            }
            _ => Vec::new(),
        }
    };
    let mut verts: Vec<LonLat> = areas.iter().flat_map(|f| rings(f).into_iter().flatten()).collect();
    verts.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    verts.dedup();
    let tol = 2e-5;
    let mut bad = Vec::new();
    for f in areas {
        for ring in rings(f) {
            for w in ring.windows(2) {
                let ((ax, ay), (bx, by)) = (w[0], w[1]);
                let (dx, dy) = (bx - ax, by - ay);
                let len2 = dx * dx + dy * dy;
                if len2 == 0.0 {
                    continue;
                }
                let lo = verts.partition_point(|v| v.0 < ax.min(bx) - tol);
                for &(vx, vy) in verts[lo..].iter().take_while(|v| v.0 <= ax.max(bx) + tol) {
                    let t = ((vx - ax) * dx + (vy - ay) * dy) / len2;
                    let off = (ax + t * dx - vx).hypot(ay + t * dy - vy);
                    if t > 1e-9 && t < 1.0 - 1e-9 && off < tol {
                        bad.push(format!("{}: ({vx}, {vy}) lies on its edge {:?}–{:?}", f.id, w[0], w[1]));
                    }
                }
            }
        }
    }
    assert!(bad.is_empty(), "T-junctions between territory areas:\n{}", bad.join("\n"));
}

#[test]
fn polities_have_lifespans_and_names_of_their_time() {
    let ds = &atlas().data;
    assert_eq!(ds.polity_name("russia", Year(1720), "en"), Some("Tsardom of Russia"));
    assert_eq!(ds.polity_name("russia", Year(1721), "en"), Some("Russian Empire"));
    assert_eq!(ds.polity_name("russia", Year(1720), "ru"), Some("Русское царство"));
    assert_eq!(ds.polity_name("dzungar", Year(1700), "kk"), Some("Жоңғар хандығы"));
    for (id, first, last) in [
        ("dzungar", Some(1635), Some(1756)),
        ("kokand", Some(1709), None),
        ("yarkent", None, Some(1705)),
        ("kalmyk", None, Some(1771)),
    ] {
        if let Some(f) = first {
            assert!(!ds.polity_alive(id, Year(f - 1)) && ds.polity_alive(id, Year(f)), "{id} begins in {f}");
        }
        if let Some(l) = last {
            assert!(ds.polity_alive(id, Year(l)) && !ds.polity_alive(id, Year(l + 1)), "{id} ends in {l}");
        }
    }
    assert_eq!(ds.polity_name("dzungar", Year(1757), "en"), None, "no name after the khanate's end");
    // Every polity the data uses is described, so every use is checked against a lifespan.
    for (layer, id, polity) in ds.polities_mentioned() {
        assert!(ds.polity(polity).is_some(), "{}:{id}: {polity} has no entry in atlas.json", layer.file_name());
    }
    // The jüzes are parts of the Kazakh Khanate.
    assert!(ds.same_or_part("kazakh", "kazakh_senior") && !ds.same_or_part("kazakh_junior", "kazakh_senior"));
}

#[test]
fn capitals_carry_their_symbol_only_while_they_are_capitals() {
    use steppe_atlas::data::CityKind::{Capital, City};
    for (id, before, from, until, after) in [
        ("kokand", Some(1739), 1740, 1771, None),
        ("yarkent", None, 1635, 1705, Some(1706)),
        ("ghulja", Some(1699), 1700, 1756, Some(1757)),
    ] {
        let f = feature(id);
        assert_eq!(f.kind_in(Year(from)), Capital, "{id} a capital in {from}");
        assert_eq!(f.kind_in(Year(until)), Capital, "{id} a capital in {until}");
        for y in before.into_iter().chain(after) {
            assert_eq!(f.kind_in(Year(y)), City, "{id} a town in {y}");
        }
    }
    assert_eq!(feature("turkistan").kind_in(Year(1723)), Capital, "undated capitals stay capitals");
}

#[test]
fn the_forts_of_the_russian_lines_stand_in_their_years() {
    for (id, line, founded) in [
        ("yamyshevsk", "Irtysh line", 1715),
        ("omsk", "Irtysh line", 1716),
        ("zhelezinsk", "Irtysh line", 1717),
        ("semipalatinsk", "Irtysh line", 1718),
        ("ust-kamenogorsk", "Irtysh line", 1720),
        ("orsk", "Orenburg line", 1735),
        ("petropavlovsk", "Ishim line", 1752),
    ] {
        let f = feature(id);
        assert_eq!(f.properties.get("line").and_then(|v| v.as_str()), Some(line), "{id}");
        assert!(!f.alive(Year(founded - 1)) && f.alive(Year(founded)), "{id} founded {founded}");
        assert_eq!(f.holder(Year(founded)).map(|h| h.polity.as_str()), Some("russia"), "{id}");
    }
    // A fort in land Russia neither holds nor overlords is an enclave, as DESIGN asks.
    assert_eq!(feature("semipalatinsk").holder(Year(1733)).map(|h| h.status), Some(Status::Enclave));
}

#[test]
fn the_added_rivers_follow_their_real_courses() {
    // (river, place on its bank, true position, km): towns on the bank, the Chayan's
    // gazetteer source and mouth.
    let on_bank: &[(&str, &str, LonLat, f64)] = &[
        ("river-ob", "Biysk (Biya–Katun confluence)", (85.2, 52.52), 5.0),
        ("river-ob", "Barnaul", (83.77, 53.35), 5.0),
        ("river-ob", "Novosibirsk", (82.92, 55.03), 5.0),
        ("river-ob", "Kolpashevo", (82.90, 58.31), 5.0),
        ("river-tarim", "Alar (Yarkand–Aksu confluence)", (81.27, 40.55), 5.0),
        ("river-tarim", "Tikanlik", (87.70, 40.63), 10.0),
        ("river-chirchiq", "Gazalkent", (69.77, 41.56), 5.0),
        ("river-chirchiq", "Chirchiq", (69.58, 41.47), 5.0),
        ("river-chirchiq", "Chinaz (mouth)", (68.77, 40.94), 5.0),
        ("river-chayan", "source on the Karatau", (69.854, 43.221), 2.0),
        ("river-chayan", "mouth", (69.072, 42.859), 2.0),
    ];
    let mut bad = Vec::new();
    for (river, place, at, km) in on_bank {
        let d = distance_km(&feature(river).geometry, pt(*at));
        if d > *km {
            bad.push(format!("{river} is {d:.1} km from {place} (want ≤ {km})"));
        }
    }
    // Tashkent stands off the Chirchiq (about 10 km from its channel), not on it.
    let d = distance_km(&feature("river-chirchiq").geometry, pt(TASHKENT));
    if !(5.0..=20.0).contains(&d) {
        bad.push(format!("Tashkent is {d:.1} km from the Chirchiq (want 5–20)"));
    }
    // The seed's 1718 march "to the Arys and Chayan rivers": the battle lies by the Chayan.
    let b = feature("battle-arys-chayan-1718");
    let d = distance_km(&feature("river-chayan").geometry, battle_point(b));
    if d > 25.0 {
        bad.push(format!("the 1718 battle is {d:.1} km from the Chayan"));
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn places_are_drawn_as_they_were_in_the_period() {
    use steppe_atlas::data::CityKind;
    let mut bad = Vec::new();
    // The Semipalatinsk fortress of 1718–1776 stood 12 versts (13–18 km along the river) down
    // the Irtysh from modern Semey, on the river.
    let p = city_point("semipalatinsk");
    let from_semey = km_between((p.x(), p.y()), SEMIPALATINSK);
    if !(10.0..=20.0).contains(&from_semey) || p.x() > SEMIPALATINSK.0 {
        bad.push(format!("semipalatinsk is {from_semey:.1} km from modern Semey, not 10–20 km downstream"));
    }
    let on_river = distance_km(&feature("river-irtysh").geometry, p);
    if on_river > 2.0 {
        bad.push(format!("semipalatinsk is {on_river:.1} km from the Irtysh"));
    }
    // Ruins in this period, not towns: medieval Taraz (the Aulie-Ata shrine) and Old Urgench.
    for id in ["taraz", "urgench"] {
        for y in [1635, 1700, 1771] {
            if feature(id).kind_in(Year(y)) != CityKind::Site {
                bad.push(format!("{id} is drawn as a town in {y}"));
            }
        }
    }
    // The first Orenburg (1735) at the Or mouth; the city on its final site from 1743.
    if !feature("orsk").alive(Year(1735)) || feature("orenburg").alive(Year(1742)) {
        bad.push("Orenburg's sites are not in their years".into());
    }
    if !feature("orenburg").alive(Year(1743)) {
        bad.push("Orenburg stands on its final site from 1743".into());
    }
    // Bulanty: the seed tells it after the 1726 meeting, most works give 1728.
    if feature("battle-bulanty-1726").certainty != Some(Certainty::Disputed) {
        bad.push("Bulanty's date is not marked disputed".into());
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}
