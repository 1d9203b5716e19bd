//! Anyone's atlas: OpenHistoricalMap-style data read as it comes. Self-held boundaries,
//! OHM's end-date rule and the other `--end-dates` modes, start equal to end, dates as
//! historians write them, files of any name, unknown polities in automatic colours, and
//! `frames`/`tiles` defaulting to the dataset's own period.

use assert_cmd::Command;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use steppe_atlas::data::{Dataset, Layer, Source};
use steppe_atlas::style::{AutoPolity, Style, AUTO_PALETTE};
use steppe_atlas::time::{EndDates, Year};

fn bin() -> Command {
    Command::cargo_bin("steppe-atlas").expect("binary built")
}

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name)
}

fn ohm() -> PathBuf {
    data("ohm-boundaries")
}

/// The polity holding the point in `year`, as `query` reports it (territories only).
fn holder(year: i32, lon: f64, lat: f64, end_dates: &str) -> Option<String> {
    let out = bin()
        .args(["query", "--year", &year.to_string(), "--lon", &lon.to_string(), "--lat", &lat.to_string()])
        .args(["--end-dates", end_dates, "--data"])
        .arg(ohm())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let holders: Vec<String> = doc["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["layer"] == "territories")
        .filter_map(|f| f["polity"].as_str().map(str::to_string))
        .collect();
    assert!(holders.len() <= 1, "one holder at a point: {holders:?}");
    holders.into_iter().next()
}

#[test]
fn boundaries_without_control_are_held_by_themselves() {
    // Alpha: 1900–1903 (year precision), Beta from 1904 (empty end_date), same land.
    assert_eq!(holder(1899, 11.0, 51.0, "auto"), None);
    assert_eq!(holder(1900, 11.0, 51.0, "auto").as_deref(), Some("duchy_of_alpha"));
    // OHM's rule: a year-precision end date covers that year.
    assert_eq!(holder(1903, 11.0, 51.0, "auto").as_deref(), Some("duchy_of_alpha"));
    assert_eq!(holder(1904, 11.0, 51.0, "auto").as_deref(), Some("kingdom_of_beta"));
    assert_eq!(holder(1950, 11.0, 51.0, "auto").as_deref(), Some("kingdom_of_beta"), "open end");
    // Inside the admin_level 4 province only the country (level 2) holds.
    assert_eq!(holder(1902, 10.5, 50.5, "auto").as_deref(), Some("duchy_of_alpha"));
    // An explicit `polity` property names the holder.
    assert_eq!(holder(1902, 13.5, 51.0, "auto").as_deref(), Some("beta"));
}

#[test]
fn end_date_modes() {
    // Gamma ends "1903-01-01": OHM reads a day as the first day gone.
    assert_eq!(holder(1902, 12.5, 50.5, "auto").as_deref(), Some("gamma_free_city"));
    assert_eq!(holder(1903, 12.5, 50.5, "auto"), None, "auto picks ohm for data with OHM tags");
    assert_eq!(holder(1903, 12.5, 50.5, "ohm"), None);
    assert_eq!(holder(1903, 12.5, 50.5, "inclusive").as_deref(), Some("gamma_free_city"));
    // Exclusive: every end date is the first moment gone, so Alpha ends with 1902.
    assert_eq!(holder(1903, 11.0, 51.0, "exclusive"), None);
    assert_eq!(holder(1902, 11.0, 51.0, "exclusive").as_deref(), Some("duchy_of_alpha"));
}

#[test]
fn start_equal_to_end_covers_that_year_in_every_mode() {
    for mode in ["auto", "inclusive", "ohm", "exclusive"] {
        assert_eq!(holder(1905, 12.5, 51.5, mode).as_deref(), Some("delta_mark"), "{mode}");
        assert_eq!(holder(1904, 12.5, 51.5, mode), None, "{mode}");
        assert_eq!(holder(1906, 12.5, 51.5, mode), None, "{mode}");
    }
}

#[test]
fn dates_as_historians_write_them_are_kept_with_their_uncertainty() {
    let loaded = Dataset::load(&Source::Dir(ohm()), EndDates::Auto);
    assert!(!loaded.has_errors(), "{:?}", loaded.problems);
    let ds = &loaded.dataset;
    let gamma = ds.get("relation/12").expect("gamma read");
    assert!(gamma.span.approximate() && !gamma.span.uncertain(), "~1901");
    assert_eq!(gamma.span.start_year(), Some(1901));
    // OHM's `start_date:edtf` keeps the uncertainty a plain `start_date` drops.
    let delta = ds.get("relation/13").expect("delta read");
    assert!(delta.span.uncertain() && delta.date_label().as_deref() == Some("1905?"), "{:?}", delta.date_label());
    let epsilon = ds.get("relation/14").expect("epsilon read");
    assert_eq!((epsilon.span.start_year(), epsilon.span.end_year()), (Some(1890), Some(1902)), "1890s … [1901..1902]");
    assert!(epsilon.span.uncertain() && epsilon.span.approximate());
    let event = ds.get("event-1").expect("event placed by its caption");
    assert_eq!(event.date_label().as_deref(), Some("1900?"));
    assert!(event.span.uncertain() && event.alive(Year(1900)) && !event.alive(Year(1901)));
    // Integer and empty dates.
    let town = ds.get("node/30").expect("town from a .geojsonseq");
    assert_eq!((town.span.start_year(), town.span.end_year()), (Some(1900), None));
    let village = ds.get("node/31").expect("village");
    assert_eq!(village.span.start_year(), Some(1901), "1901/1902 starts in 1901");
    // Towns from place=*, name_ru mapped back to name:ru.
    assert_eq!(town.layer, Layer::Cities);
    assert!(town.rank > village.rank, "a city outranks a village");
    assert_eq!(town.city_kind, steppe_atlas::data::CityKind::City);
    assert_eq!(ds.get("node/32").unwrap().city_kind, steppe_atlas::data::CityKind::Fortress, "historic=fort");
    assert_eq!(ds.get("node/33").unwrap().city_kind, steppe_atlas::data::CityKind::Site, "place=hamlet");
    assert_eq!(town.name("ru"), "Альфабург");
    // A place=* town follows the land it stands in.
    assert_eq!(town.holder(Year(1903)).map(|c| c.polity.as_str()), Some("duchy_of_alpha"));
    assert_eq!(town.holder(Year(1904)).map(|c| c.polity.as_str()), Some("kingdom_of_beta"));
    assert_eq!(ds.get("relation/10").unwrap().name("ru"), "Герцогство Альфа");
}

#[test]
fn an_unread_date_is_a_warning_naming_the_feature_and_fatal_only_when_strict() {
    let out = bin().args(["validate", "--data"]).arg(data("odd-dates")).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let line = stdout.lines().find(|l| l.starts_with("cities.geojson:sozak: warning:")).expect("sozak named");
    assert!(line.contains("spring 1730"), "{line}");
    assert!(!stdout.contains("sayram"), "c. 1500 and an integer end are read: {stdout}");
    let strict = bin().args(["validate", "--strict", "--data"]).arg(data("odd-dates")).output().unwrap();
    assert_eq!(strict.status.code(), Some(1));
    // A malformed date (a month 13) stays an error.
    let bad = bin().args(["validate", "--data"]).arg(data("bad-date")).output().unwrap();
    assert_eq!(bad.status.code(), Some(1));
}

#[test]
fn files_are_read_by_any_name_and_what_cannot_be_placed_is_reported() {
    let out = bin().args(["validate", "--data"]).arg(ohm()).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("legacy.shp: warning: not read"), "{stdout}");
    assert!(stdout.contains("ogr2ogr"), "the fix is named: {stdout}");
    let unplaced =
        stdout.lines().find(|l| l.starts_with("export.geojson: warning: 1 of 8 features")).expect("unplaced");
    assert!(unplaced.contains("way/20"), "{unplaced}");
    assert!(stdout.contains("export.geojson: info: read 6 as territories, 1 as events"), "{stdout}");
    // Provinces under countries are left out, and said so.
    assert!(stdout.contains("export.geojson: info: 1 boundaries of admin_level 4 not drawn"), "{stdout}");
    // Unknown polities are information, not errors, and name their file.
    assert!(stdout.contains("export.geojson:relation/10: info: polity id \"duchy_of_alpha\""), "{stdout}");
    // An empty folder, and one of nothing readable, say so rather than "0 features: 0 errors".
    let empty = tempfile::tempdir().unwrap();
    let out = bin().args(["validate", "--data"]).arg(empty.path()).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("warning: no *.geojson or *.geojsonseq files"));
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("export.geojson"), r#"{"type": "Topology", "objects": {}}"#).unwrap();
    let out = bin().args(["validate", "--data"]).arg(tmp.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("export.geojson: not a GeoJSON FeatureCollection"));
}

#[test]
fn unknown_polities_get_distinct_colour_blind_safe_colours() {
    let polities: Vec<AutoPolity> =
        (0..24).map(|i| AutoPolity { id: format!("p{i}"), name: format!("P {i}"), ..AutoPolity::default() }).collect();
    let mut style = Style::load("print").unwrap();
    let known = style.polity("dzungar").map(|p| p.fill);
    let added = style.adopt_polities(&polities);
    assert_eq!(added.len(), 24);
    assert_eq!(added[0].1, AUTO_PALETTE[0], "Okabe–Ito first");
    let looks: BTreeSet<String> = polities
        .iter()
        .map(|p| {
            let ps = style.polity(&p.id).expect("painted");
            format!("{:?}{:?}", ps.fill, ps.pattern)
        })
        .collect();
    assert_eq!(looks.len(), 24, "every polity looks different (colour, then pattern)");
    assert_eq!(style.polity("dzungar").map(|p| p.fill), known, "known polities keep their paint");
    assert_eq!(style.polity("p3").unwrap().name, "P 3", "the legend has its name");
    // A grey style stays grey.
    let mut grey = Style::load("grayscale").unwrap();
    grey.adopt_polities(&polities[..3]);
    let f = grey.polity("p1").unwrap().fill;
    assert!(f.0 == f.1 && f.1 == f.2, "{f:?}");

    // End to end: a town held by a polity no style knows renders instead of failing.
    let tmp = tempfile::tempdir().unwrap();
    let png = tmp.path().join("x.png");
    let out = bin()
        .args(["render", "--year", "1723", "--width", "120", "--height", "90", "--data"])
        .arg(data("unknown-polity"))
        .arg("--out")
        .arg(&png)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(png.exists());
}

#[test]
fn style_init_writes_a_style_that_knows_every_polity() {
    let out = bin().args(["style", "init", "--data"]).arg(ohm()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let style = Style::from_json(&text, "init").expect("a valid style");
    let alpha = style.polity("duchy_of_alpha").expect("alpha");
    assert_eq!(alpha.name, "Duchy of Alpha");
    assert_eq!(alpha.name_ru.as_deref(), Some("Герцогство Альфа"));
    assert_eq!(alpha.fill, AUTO_PALETTE[0]);
    assert_eq!(style.polities.len(), 5, "only the dataset's polities");
    // Validating against it leaves nothing unknown.
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("my-style.json");
    std::fs::write(&path, &text).unwrap();
    let v = bin().args(["validate", "--style"]).arg(&path).arg("--data").arg(ohm()).output().unwrap();
    assert!(!String::from_utf8_lossy(&v.stdout).contains("automatic colour"));
}

#[test]
fn frames_and_tiles_default_to_the_datasets_period() {
    let tmp = tempfile::tempdir().unwrap();
    let frames = tmp.path().join("frames");
    let out = bin()
        .args(["frames", "--width", "64", "--height", "48", "--data"])
        .arg(ohm())
        .arg("--out")
        .arg(&frames)
        .arg("--gif")
        .arg(tmp.path().join("a.gif"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let names: BTreeSet<String> =
        std::fs::read_dir(&frames).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    // The data's own range: from Epsilon's start (the 1890s) to Delta's end (1905).
    let first = names.iter().next().cloned().unwrap();
    let last = names.iter().next_back().cloned().unwrap();
    assert_eq!((first.as_str(), last.as_str()), ("1890.png", "1905.png"));
    assert_eq!(names.len(), 1905 - 1890 + 1);

    let tiles = tmp.path().join("tiles");
    let out = bin().args(["tiles", "--zoom", "0..0", "--data"]).arg(ohm()).arg("--out").arg(&tiles).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let years: BTreeSet<i32> = std::fs::read_dir(&tiles)
        .unwrap()
        .filter_map(|e| e.unwrap().file_name().into_string().unwrap().parse().ok())
        .collect();
    assert_eq!(years.len(), 1905 - 1890 + 1, "every year of the period, not only the first");
    assert_eq!((years.first(), years.last()), (Some(&1890), Some(&1905)));
}

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/italy-1859-1871")
}

/// The polity holding a point in the example atlas, by `query`.
fn example_holder(year: i32, lon: f64, lat: f64) -> Option<String> {
    let out = bin()
        .args(["query", "--year", &year.to_string(), "--lon", &lon.to_string(), "--lat", &lat.to_string(), "--data"])
        .arg(example())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let holders: Vec<&str> = doc["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["layer"] == "territories")
        .filter_map(|f| f["polity"].as_str())
        .collect();
    assert!(holders.len() <= 1, "{year}: one holder, not two versions drawn over each other: {holders:?}");
    holders.first().map(|s| s.to_string())
}

#[test]
fn the_example_atlas_validates_and_tells_its_history() {
    let out = bin().args(["validate", "--strict", "--data"]).arg(example()).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    let (rome, venice, milan, naples) = ((12.48, 41.89), (12.0, 45.6), (9.6, 45.6), (15.5, 41.0));
    assert_eq!(example_holder(1869, rome.0, rome.1).as_deref(), Some("papal_states"));
    assert_eq!(example_holder(1870, rome.0, rome.1).as_deref(), Some("italy"), "taken 20 September 1870");
    assert_eq!(example_holder(1865, venice.0, venice.1).as_deref(), Some("austria"));
    assert_eq!(example_holder(1866, venice.0, venice.1).as_deref(), Some("italy"));
    assert_eq!(example_holder(1858, milan.0, milan.1).as_deref(), Some("austria"));
    assert_eq!(example_holder(1859, milan.0, milan.1).as_deref(), Some("sardinia"));
    assert_eq!(example_holder(1861, milan.0, milan.1).as_deref(), Some("italy"));
    assert_eq!(example_holder(1859, naples.0, naples.1).as_deref(), Some("two_sicilies"));
    assert_eq!(example_holder(1860, naples.0, naples.1).as_deref(), Some("sardinia"), "annexed December 1860");
}

#[test]
fn the_example_atlas_renders_animates_and_tiles() {
    let tmp = tempfile::tempdir().unwrap();
    let png = tmp.path().join("1861.png");
    let out = bin()
        .args(["render", "--year", "1861", "--width", "240", "--data"])
        .arg(example())
        .arg("--out")
        .arg(&png)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(std::fs::metadata(&png).unwrap().len() > 1000);

    let frames = tmp.path().join("frames");
    let gif = tmp.path().join("italy.gif");
    let out = bin()
        .args(["frames", "--width", "96", "--height", "72", "--data"])
        .arg(example())
        .arg("--out")
        .arg(&frames)
        .arg("--gif")
        .arg(&gif)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let count = std::fs::read_dir(&frames).unwrap().count();
    assert_eq!(count, 1871 - 1858 + 1, "atlas.json's period, 1858–1871");
    assert!(frames.join("1858.png").exists() && frames.join("1871.png").exists());
    assert!(gif.exists());

    let tiles = tmp.path().join("tiles");
    let out = bin()
        .args(["tiles", "--zoom", "0..1", "--years", "1860..1861", "--data"])
        .arg(example())
        .arg("--out")
        .arg(&tiles)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for year in [1860, 1861] {
        assert!(tiles.join(format!("{year}/0/0/0.png")).exists(), "{year} z0");
        // Italy lies in the north-east quadrant at zoom 1: x = 1, y = 0.
        assert!(tiles.join(format!("{year}/1/1/0.png")).exists(), "{year} z1");
    }
}

#[test]
fn any_language_the_data_names_is_a_label_language() {
    let tmp = tempfile::tempdir().unwrap();
    let run = |lang: &str| {
        let png = tmp.path().join(format!("{lang}.png"));
        let out = bin()
            .args(["render", "--year", "1866", "--width", "300", "--lang", lang, "--data"])
            .arg(example())
            .arg("--out")
            .arg(&png)
            .output()
            .unwrap();
        assert!(out.status.success(), "{lang}: {}", String::from_utf8_lossy(&out.stderr));
        std::fs::read(png).unwrap()
    };
    assert_ne!(run("it"), run("en"), "Italian names and captions change the image");
    let bad = bin().args(["render", "--year", "1866", "--lang", "Italian!"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not a language code"));
}

#[tokio::test]
async fn the_server_timeline_uses_the_datasets_period_view_and_polities() {
    use axum::body::Body;
    use axum::http::Request;
    use http_body_util::BodyExt;
    use steppe_atlas::serve::{router, ServerState};
    use tower::ServiceExt;

    let atlas = steppe_atlas::Atlas::load(&Source::Dir(example()), EndDates::Auto).unwrap();
    let named = steppe_atlas::validate::polities_named(&atlas.data);
    let mut style = Style::load("atlas").unwrap();
    style.adopt_polities(&named);
    let st = std::sync::Arc::new(ServerState::new(atlas, style, Style::load("print").unwrap(), "en", 16 << 20));
    let req = Request::builder().uri("/api/timeline").body(Body::empty()).unwrap();
    let res = router(st).oneshot(req).await.unwrap();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    let tl: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!((tl["from"].as_i64(), tl["to"].as_i64()), (Some(1858), Some(1871)), "not the war's 1635–1741");
    assert_eq!(tl["bbox"], serde_json::json!([5.5, 36.5, 19.0, 47.0]));
    let ids: BTreeSet<&str> = tl["polities"].as_array().unwrap().iter().filter_map(|p| p["id"].as_str()).collect();
    let expected: BTreeSet<&str> = named.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, expected, "the legend lists this dataset's polities only");
    assert!(ids.contains("papal_states") && !ids.contains("dzungar"));
    let events = tl["events"].as_array().unwrap();
    assert!(events.iter().any(|e| e["year"] == 1870 && e["caption"].as_str().unwrap().contains("Porta Pia")));
}
