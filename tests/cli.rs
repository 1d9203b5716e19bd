//! The binary end to end: broken datasets fail with file and feature named and write
//! nothing; sizes, dpi and defaults of `render`; `query` facts on test and built-in data.

use assert_cmd::Command;
use std::path::{Path, PathBuf};

fn bin() -> Command {
    Command::cargo_bin("steppe-atlas").expect("binary built")
}

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name)
}

/// (dataset, the `file:feature` the message must name, a phrase it must contain)
const BROKEN: &[(&str, &str, &str)] = &[
    ("bad-json", "cities.geojson", "invalid JSON"),
    ("missing-id", "cities.geojson:#1", "missing `id`"),
    ("end-before-start", "battles.geojson:siege-sayram", "before"),
    ("open-ring", "territories.geojson:area-jetisu", "open ring"),
    ("bad-date", "events.geojson:event-kurultai", "month 13"),
    ("wrong-geometry", "rivers.geojson:river-ili", "Point"),
    ("out-of-range", "cities.geojson:hami", "out of range"),
];

fn png_size(bytes: &[u8]) -> (u32, u32) {
    let dec = png::Decoder::new(std::io::Cursor::new(bytes));
    let reader = dec.read_info().expect("a PNG");
    let info = reader.info();
    (info.width, info.height)
}

#[test]
fn validate_names_file_and_feature_of_each_problem() {
    for (dir, place, phrase) in BROKEN {
        let out = bin().args(["validate", "--data"]).arg(data(dir)).output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{dir}: {stdout}");
        let line = stdout
            .lines()
            .find(|l| l.starts_with(place))
            .unwrap_or_else(|| panic!("{dir}: no line for {place}: {stdout}"));
        assert!(line.contains(phrase), "{dir}: {line}");
    }
}

#[test]
fn render_refuses_broken_data_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    for (dir, place, phrase) in BROKEN {
        let out_png = tmp.path().join(format!("{dir}.png"));
        let out = bin()
            .args(["render", "--year", "1723", "--width", "200", "--height", "150", "--data"])
            .arg(data(dir))
            .arg("--out")
            .arg(&out_png)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{dir}");
        assert_eq!(stderr.trim().lines().count(), 1, "{dir}: one line: {stderr}");
        assert!(stderr.contains(place) && stderr.contains(phrase), "{dir}: {stderr}");
        assert!(!out_png.exists(), "{dir}: wrote an output file");
    }
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0, "no temp files left behind");
}

#[test]
fn a_style_with_an_unknown_key_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let out_png = tmp.path().join("x.png");
    let style = data("bad-style.json");
    for args in [vec!["validate"], vec!["render", "--year", "1700", "--width", "100", "--height", "100"]] {
        let out = bin().args(&args).arg("--style").arg(&style).arg("--out").arg(&out_png).output();
        // `validate` has no --out: run it without.
        let out = if args[0] == "validate" {
            bin().args(&args).arg("--style").arg(&style).output().unwrap()
        } else {
            out.unwrap()
        };
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_ne!(out.status.code(), Some(0), "{args:?}");
        assert!(stderr.contains("bad-style.json") && stderr.contains("colour"), "{stderr}");
    }
    assert!(!out_png.exists());
}

#[test]
fn invalid_geometry_is_an_error_and_overlaps_are_warnings() {
    let out = bin().args(["validate", "--data"]).arg(data("self-intersection")).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("territories.geojson:area-bowtie: invalid geometry"));

    let out = bin().args(["validate", "--data"]).arg(data("overlap")).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("area-a: warning: overlaps area area-b"), "{stdout}");
    assert!(stdout.contains("control spans for dzungar and kazakh_senior overlap"), "{stdout}");
    let out = bin().args(["validate", "--data"]).arg(data("gap")).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("territories.geojson:area-ring: warning: gap of about"), "{stdout}");
    let out = bin().args(["validate", "--data"]).arg(data("t-junction")).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("territories.geojson:area-west: warning: 1 vertices of neighbouring areas"), "{stdout}");
    let strict = bin().args(["validate", "--strict", "--data"]).arg(data("overlap")).output().unwrap();
    assert_eq!(strict.status.code(), Some(1));

    // Questionable data still renders.
    let tmp = tempfile::tempdir().unwrap();
    let out_png = tmp.path().join("o.png");
    bin()
        .args(["render", "--year", "1695", "--width", "300", "--data"])
        .arg(data("overlap"))
        .arg("--out")
        .arg(&out_png)
        .assert()
        .success();
    assert!(out_png.exists());
}

#[test]
fn the_built_in_atlas_validates_clean() {
    let out = bin().args(["validate", "--strict"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(out.stdout.is_empty(), "no problems: {}", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn render_sizes_dpi_and_default_path() {
    let tmp = tempfile::tempdir().unwrap();
    // Default output path is output/frames/{year}.png under the working folder.
    bin()
        .current_dir(tmp.path())
        .args(["render", "--year", "1723", "--width", "400", "--data"])
        .arg(data("mini"))
        .assert()
        .success();
    let bytes = std::fs::read(tmp.path().join("output/frames/1723.png")).unwrap();
    let (w, h) = png_size(&bytes);
    assert_eq!(w, 400);
    // --width alone keeps the bbox's aspect (60–82E, 39–51N in LCC is wider than tall).
    assert!(h > 200 && h < 330, "height {h}");

    // A4 landscape at 300 dpi, with the dpi recorded in pHYs (300 / 0.0254 = 11811 px/m).
    let a4 = tmp.path().join("a4.png");
    bin()
        .args(["render", "--year", "1723", "--size-mm", "297,210", "--dpi", "300", "--data"])
        .arg(data("mini"))
        .arg("--out")
        .arg(&a4)
        .assert()
        .success();
    let bytes = std::fs::read(&a4).unwrap();
    assert_eq!(png_size(&bytes), (3508, 2480));
    let reader = png::Decoder::new(std::io::Cursor::new(&bytes[..])).read_info().unwrap();
    let dims = reader.info().pixel_dims.expect("pHYs chunk");
    assert_eq!((dims.xppu, dims.yppu, dims.unit), (11811, 11811, png::Unit::Meter));
}

#[test]
fn rendering_is_deterministic_and_compare_changes_the_image() {
    let tmp = tempfile::tempdir().unwrap();
    let run = |name: &str, extra: &[&str]| {
        let p = tmp.path().join(name);
        bin()
            .args(["render", "--year", "1723", "--width", "500", "--height", "350", "--data"])
            .arg(data("mini"))
            .args(extra)
            .arg("--out")
            .arg(&p)
            .assert()
            .success();
        std::fs::read(p).unwrap()
    };
    let a = run("a.png", &[]);
    let b = run("b.png", &[]);
    assert_eq!(a, b, "same input, same bytes");
    let c = run("c.png", &["--compare", "1722"]);
    assert_ne!(a, c);
    let kk = run("kk.png", &["--lang", "kk"]);
    assert_ne!(a, kk, "Kazakh labels differ from English ones");
}

#[test]
fn bad_flags_fail_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    let out_png = tmp.path().join("x.png");
    for args in [
        vec!["render", "--year", "1723", "--bbox", "90,40,80,50"],
        vec!["render", "--year", "1723", "--bbox", "1,2,3"],
        vec!["render", "--year", "1723", "--width", "0", "--height", "10"],
        vec!["render", "--year", "1723", "--width", "100000", "--height", "10"],
        vec!["render", "--year", "1723", "--size-mm", "297"],
        vec!["render", "--year", "1723", "--projection", "robinson"],
    ] {
        let out = bin().args(&args).arg("--data").arg(data("mini")).arg("--out").arg(&out_png).output().unwrap();
        assert_ne!(out.status.code(), Some(0), "{args:?}");
        assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"), "{args:?}");
        assert!(!out_png.exists());
    }
    let out = bin().args(["query", "--year", "1723", "--lon", "200", "--lat", "43"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
}

fn query(dir: Option<&str>, year: i32, lon: f64, lat: f64, radius: f64) -> serde_json::Value {
    let mut cmd = bin();
    cmd.args(["query", "--year", &year.to_string(), "--lon", &lon.to_string(), "--lat", &lat.to_string()]);
    cmd.args(["--radius-km", &radius.to_string()]);
    if let Some(d) = dir {
        cmd.arg("--data").arg(data(d));
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

fn feature<'a>(doc: &'a serde_json::Value, id: &str) -> Option<&'a serde_json::Value> {
    doc["features"].as_array()?.iter().find(|f| f["id"] == id)
}

#[test]
fn query_reports_holders_before_and_after_a_capture() {
    let holder = |y| query(Some("mini"), y, 68.27, 43.30, 10.0);
    assert_eq!(feature(&holder(1722), "turkistan").unwrap()["controlled_by"], "kazakh_senior");
    assert_eq!(feature(&holder(1723), "turkistan").unwrap()["controlled_by"], "dzungar");
    assert_eq!(feature(&holder(1724), "turkistan").unwrap()["controlled_by"], "kazakh_junior");

    let q = holder(1723);
    assert_eq!(q["year"], 1723);
    let t = feature(&q, "area-west").expect("territory containing the point");
    assert_eq!(
        (t["layer"].as_str(), t["polity"].as_str(), t["status"].as_str()),
        (Some("territories"), Some("dzungar"), Some("occupied"))
    );
    let q1724 = holder(1724);
    let t = feature(&q1724, "area-west").unwrap();
    assert_eq!((t["status"].as_str(), t["overlord"].as_str()), (Some("tributary"), Some("dzungar")));
    assert!(feature(&holder(1750), "area-east").is_none(), "does not contain the point");

    // Nearest first, distances in km.
    let q = query(Some("mini"), 1723, 68.30, 43.30, 250.0);
    let d: Vec<f64> = q["features"].as_array().unwrap().iter().map(|f| f["distance_km"].as_f64().unwrap()).collect();
    assert!(d.windows(2).all(|w| w[0] <= w[1]), "{d:?}");
    let turk = feature(&q, "turkistan").unwrap()["distance_km"].as_f64().unwrap();
    assert!((turk - 2.43).abs() < 0.05, "0.03° of longitude at 43.3°N is 2.43 km, got {turk}");
    assert_eq!(feature(&q, "campaign-1723").unwrap()["side"], "dzungar");
    assert!(feature(&q, "battle-sayram-1723").is_some());
    assert!(feature(&q, "river-syr-darya").is_some());
    assert!(
        feature(&query(Some("mini"), 1724, 68.30, 43.30, 250.0), "battle-sayram-1723").is_none(),
        "battles show only in their year"
    );
    assert!(feature(&query(Some("mini"), 1717, 80.23, 50.41, 5.0), "semipalatinsk").is_none(), "founded 1718");
    assert!(feature(&query(Some("mini"), 1718, 80.23, 50.41, 5.0), "semipalatinsk").is_some());
}

#[test]
fn query_on_the_built_in_atlas_follows_turkistan() {
    let holder = |y| {
        let q = query(None, y, 68.27, 43.30, 5.0);
        feature(&q, "turkistan").map(|f| f["controlled_by"].as_str().unwrap_or("").to_string())
    };
    assert!(holder(1684).is_some_and(|h| h.starts_with("kazakh")), "Turkistan stays with Tauke in 1684");
    assert_eq!(holder(1723).as_deref(), Some("dzungar"));
    assert!(holder(1724).is_some_and(|h| h.starts_with("kazakh")), "Abul Khair retakes it in 1724");
    assert_eq!(holder(1725).as_deref(), Some("dzungar"));
}

/// Run `validate` (and `validate --strict`) on a test dataset: warnings only, so exit 0,
/// and 1 under `--strict`. Returns stdout.
fn validate_warnings(dir: &str) -> String {
    let out = bin().args(["validate", "--data"]).arg(data(dir)).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "{dir}: warnings only: {stdout}");
    let strict = bin().args(["validate", "--strict", "--data"]).arg(data(dir)).output().unwrap();
    assert_eq!(strict.status.code(), Some(1), "{dir}: --strict fails on the warnings");
    stdout
}

fn line_for<'a>(stdout: &'a str, prefix: &str) -> Vec<&'a str> {
    stdout.lines().filter(|l| l.starts_with(prefix)).collect()
}

#[test]
fn a_town_that_contradicts_its_land_is_reported_with_its_years() {
    let stdout = validate_warnings("town-off-land");
    let otrar = line_for(&stdout, "cities.geojson:otrar: warning:");
    assert_eq!(otrar.len(), 1, "{stdout}");
    assert!(
        otrar[0].contains("in 1723–1727: held by kazakh (core) but stands in area-syr held by dzungar (occupied)"),
        "{stdout}"
    );
    // Kazakh land of the Senior Jüz is Kazakh land (part_of), before and after the occupation.
    assert!(!otrar[0].contains("1700") && !otrar[0].contains("1728"), "{stdout}");
    // A holdout, an enclave, a town of its land's overlord and a town of its land's holder pass.
    for ok in ["turkistan", "fort", "taraz"] {
        assert!(line_for(&stdout, &format!("cities.geojson:{ok}:")).is_empty(), "{ok}: {stdout}");
    }
}

#[test]
fn nothing_is_held_or_fought_by_a_polity_outside_its_lifespan() {
    let stdout = validate_warnings("polity-lifespan");
    for (place, years, what) in [
        ("territories.geojson:area-kashgaria", "in 1757–1758", "held by dzungar, whose lifespan is 1635–1756"),
        ("territories.geojson:area-fergana", "in 1700–1708", "held by kokand, whose lifespan is 1709–…"),
        ("territories.geojson:area-kyrgyz", "in 1757–1771", "under the overlordship of dzungar"),
        ("battles.geojson:battle-late", "in 1760", "won by dzungar"),
        ("campaigns.geojson:campaign-late", "in 1757–1758", "marched for dzungar"),
    ] {
        let lines = line_for(&stdout, place);
        assert!(lines.iter().any(|l| l.contains(years) && l.contains(what)), "{place} {years} {what}: {stdout}");
    }
    // Qing has no described lifespan: never reported.
    assert!(!stdout.contains("held by qing"), "{stdout}");
}

#[test]
fn captions_that_the_map_does_not_show_are_reported() {
    let stdout = validate_warnings("caption-mismatch");
    let e1731 = line_for(&stdout, "events.geojson:event-1731:");
    assert_eq!(e1731.len(), 1, "only the Middle Jüz claim is false: {stdout}");
    assert!(e1731[0].contains("area-middle passes to kazakh_middle (tributary) under russia in 1731"), "{stdout}");
    assert!(e1731[0].contains("held by kazakh_middle (core)"), "{stdout}");
    let e1725 = line_for(&stdout, "events.geojson:event-1725:");
    assert!(e1725.iter().any(|l| l.contains("ordabasy, which is not on the map in 1725")), "{stdout}");
    assert!(e1725.iter().any(|l| l.contains("\"bulanty\", which is not in the dataset")), "{stdout}");
    assert!(line_for(&stdout, "events.geojson:event-1740:").is_empty(), "a true change passes: {stdout}");
    // A town the caption names by name, not yet founded, is caught without `places`...
    let e1715 = line_for(&stdout, "events.geojson:event-1715:");
    assert!(e1715.iter().any(|l| l.contains("caption names Omsk (omsk), which is not on the map in 1715")), "{stdout}");
    // ...unless a listed place on the map bears the name (Orsk, the first Orenburg).
    assert!(line_for(&stdout, "events.geojson:event-1735:").is_empty(), "{stdout}");
    let e1741 = line_for(&stdout, "events.geojson:event-1741:");
    assert!(e1741.iter().any(|l| l.contains("already held so in 1740: the map shows no change")), "{stdout}");
}
