//! Hostile use found by an outside sweep (`tools/hostile_sweep.py` and by hand): an output
//! path that is one of the run's inputs, two outputs at one path, weak ETags.

use assert_cmd::Command;
use std::path::Path;

fn bin() -> Command {
    Command::cargo_bin("steppe-atlas").expect("binary built")
}

/// A copy of the small test dataset in a temporary folder.
fn data_copy() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("temp dir");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/mini");
    for e in std::fs::read_dir(&src).expect("mini dataset") {
        let e = e.expect("entry");
        if e.path().is_file() {
            std::fs::copy(e.path(), tmp.path().join(e.file_name())).expect("copy");
        }
    }
    tmp
}

fn first_line(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).lines().next().unwrap_or("").to_string()
}

fn assert_clean_failure(out: &std::process::Output, what: &str) {
    let code = out.status.code();
    assert!(code.is_some_and(|c| c != 0 && c != 101), "{what}: exit {code:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{what}: {err}");
    assert_eq!(err.lines().filter(|l| !l.trim().is_empty()).count(), 1, "{what}: one line, got\n{err}");
}

/// `render --out` onto a file of its own `--data` folder replaced the data with a PNG.
#[test]
fn an_output_never_replaces_an_input_of_the_run() {
    let data = data_copy();
    let layer = std::fs::read_dir(data.path())
        .expect("dir")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "geojson"))
        .expect("a layer file");
    let before = std::fs::read(&layer).expect("layer");
    // By its own name, and through `..` and a symlink.
    let sub = data.path().join("sub");
    std::fs::create_dir(&sub).expect("sub");
    let link = data.path().join("link");
    std::os::unix::fs::symlink(&layer, &link).expect("symlink");
    let name = layer.file_name().expect("name").to_owned();
    for out in [layer.clone(), sub.join("..").join(&name), link.clone()] {
        for format in ["png", "svg"] {
            let o = bin()
                .args(["render", "--year", "1723", "--width", "120", "--format", format, "--data"])
                .arg(data.path())
                .arg("--out")
                .arg(&out)
                .output()
                .expect("run");
            assert_clean_failure(&o, &format!("render --out {}", out.display()));
            let line = first_line(&o);
            assert!(line.contains("input"), "the error says why: {line}");
            assert_eq!(std::fs::read(&layer).expect("layer"), before, "the input is untouched ({})", out.display());
        }
    }
    // A frame beside the data is still written.
    let ok = data.path().join("map.png");
    bin()
        .args(["render", "--year", "1723", "--width", "120", "--data"])
        .arg(data.path())
        .arg("--out")
        .arg(&ok)
        .assert()
        .success();
    assert!(ok.is_file());
}

/// `frames --gif a.gif --apng a.gif` wrote both through one temporary file and failed with
/// "a.gif: No such file or directory".
#[test]
fn gif_and_apng_at_one_path_are_refused_up_front() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let gif = tmp.path().join("a.gif");
    for apng in [gif.clone(), tmp.path().join(".").join("a.gif")] {
        let o = bin()
            .args(["frames", "--from", "1723", "--to", "1724", "--width", "80", "--out"])
            .arg(tmp.path().join("f"))
            .arg("--gif")
            .arg(&gif)
            .arg("--apng")
            .arg(&apng)
            .output()
            .expect("run");
        assert_clean_failure(&o, "frames --gif X --apng X");
        assert!(first_line(&o).contains("--gif and --apng name the same file"), "{}", first_line(&o));
        assert!(!gif.exists(), "nothing written");
    }
}

/// If-None-Match is compared weakly (RFC 9110 §13.1.2): a cache that keeps the tag as
/// `W/"…"` (as some proxies rewrite it) still gets a 304.
#[tokio::test]
async fn a_weak_etag_still_revalidates_a_tile() {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use steppe_atlas::data::Source;
    use steppe_atlas::style::Style;
    use steppe_atlas::time::EndDates;
    use tower::ServiceExt;
    let atlas = steppe_atlas::Atlas::load(
        &Source::Dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/mini")),
        EndDates::Inclusive,
    )
    .expect("mini");
    let st = std::sync::Arc::new(steppe_atlas::serve::ServerState::new(
        atlas,
        Style::load("atlas").expect("style"),
        Style::load("print").expect("style"),
        "en",
        16 << 20,
    ));
    let get = |inm: Option<String>| {
        let mut req = Request::builder().uri("/tiles/1723/3/5/2.png");
        if let Some(v) = inm {
            req = req.header("if-none-match", v);
        }
        steppe_atlas::serve::router(st.clone()).oneshot(req.body(Body::empty()).expect("request"))
    };
    let res = get(None).await.expect("response");
    assert_eq!(res.status(), StatusCode::OK);
    let etag = res.headers()["etag"].to_str().expect("ascii").to_string();
    for (inm, want) in [
        (etag.clone(), StatusCode::NOT_MODIFIED),
        (format!("W/{etag}"), StatusCode::NOT_MODIFIED),
        (format!("\"other\", W/{etag}"), StatusCode::NOT_MODIFIED),
        ("W/\"other\"".to_string(), StatusCode::OK),
        ("\"other\"".to_string(), StatusCode::OK),
    ] {
        assert_eq!(get(Some(inm.clone())).await.expect("response").status(), want, "If-None-Match: {inm}");
    }
}

/// A PDF of more than a million shapes (a dataset of a million cities) fails in usvg's
/// fixed bound; the one-line error says so and what to do, not "nodes limit reached".
#[test]
fn a_pdf_past_the_writers_bound_says_why() {
    let mut svg = String::from(r#"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">"#);
    for _ in 0..1_000_001 {
        svg.push_str(r#"<rect width="1" height="1"/>"#);
    }
    svg.push_str("</svg>");
    let err = steppe_atlas::render::vector::svg_to_pdf(&svg).expect_err("past the bound");
    assert!(err.starts_with("PDF: the map has more than a million shapes"), "{err}");
    assert!(!err.contains('\n'), "one line: {err}");
}

/// A 1 MB title (atlas.json) was drawn whole: off the frame, and the PDF writer laid out
/// a million glyphs for over a minute. It is cut to the frame with "…".
#[test]
fn a_megabyte_title_is_cut_to_the_frame() {
    let data = data_copy();
    let path = data.path().join("atlas.json");
    let mut atlas: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).expect("atlas.json")).expect("json");
    atlas["title"] = serde_json::Value::from("Ж".repeat(1_000_000));
    std::fs::write(&path, serde_json::to_vec(&atlas).expect("json")).expect("write");
    for format in ["svg", "pdf", "png"] {
        let out = data.path().join(format!("t.{format}"));
        let o = bin()
            .args(["render", "--year", "1723", "--width", "400", "--data"])
            .arg(data.path())
            .arg("--out")
            .arg(&out)
            .timeout(std::time::Duration::from_secs(30))
            .output()
            .expect("run");
        assert!(o.status.success(), "{format}: {:?} {}", o.status.code(), String::from_utf8_lossy(&o.stderr));
        if format == "svg" {
            let svg = std::fs::read_to_string(&out).expect("svg");
            let doc = roxmltree::Document::parse(&svg).expect("svg parses");
            let longest = doc
                .descendants()
                .filter(|n| n.has_tag_name("text"))
                .map(|n| n.text().unwrap_or("").chars().count())
                .max()
                .unwrap_or(0);
            assert!(longest < 200, "the drawn title is cut: {longest} characters");
            assert!(doc
                .descendants()
                .any(|n| n.has_tag_name("text") && n.text().is_some_and(|t| t.starts_with("ЖЖ") && t.ends_with('…'))));
        }
    }
}

/// `render --year 1500` on an atlas of 1635–1771 drew an empty map and said nothing.
#[test]
fn years_outside_the_data_are_warned_about() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let warned = |args: &[&str]| {
        let o = bin().args(args).output().expect("run");
        assert!(o.status.success(), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        err.lines().any(|l| l.contains("warning:") && l.contains("outside the data's years 1635..1771"))
    };
    let png = tmp.path().join("a.png");
    let png = png.to_str().expect("utf-8 path");
    let tiles = tmp.path().join("t");
    let tiles = tiles.to_str().expect("utf-8 path");
    assert!(warned(&["render", "--year", "1500", "--width", "100", "--out", png]));
    assert!(warned(&["tiles", "--years", "1500..1501", "--zoom", "0", "--out", tiles]));
    assert!(!warned(&["render", "--year", "1723", "--width", "100", "--out", png]));
    assert!(!warned(&["tiles", "--years", "1600..1700", "--zoom", "0", "--out", tiles]));
}

/// A copy of the built-in atlas (which lists its polities in `atlas.json`).
fn atlas_copy() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("temp dir");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("geodata");
    for e in std::fs::read_dir(&src).expect("geodata").flatten() {
        if e.path().is_file() {
            std::fs::copy(e.path(), tmp.path().join(e.file_name())).expect("copy");
        }
    }
    tmp
}

/// A bad flag is one line naming it, as a bad file is (clap's own report took four).
#[test]
fn a_bad_flag_is_one_line() {
    for args in [&["render", "--width", "abc"][..], &["render", "--bogus"], &["nosuch"], &["tiles", "--format", "tga"]]
    {
        let out = bin().args(args).output().expect("run");
        assert_clean_failure(&out, &args.join(" "));
        let line = first_line(&out);
        assert!(line.contains(args[args.len() - 1]) || line.contains("nosuch"), "{args:?}: {line}");
    }
    // A negative number is the flag's bad value, not an unknown flag; a missing flag is
    // named, not left off the line below.
    for (args, says) in [
        (&["render", "--year", "1700", "--width", "-5", "--out", "x.png"][..], "--width"),
        (&["tiles", "--scale", "-1", "--out", "t"], "--scale"),
        (&["render", "--width", "100", "--out", "x.png"], "--year"),
    ] {
        let out = bin().args(args).output().expect("run");
        assert_clean_failure(&out, &args.join(" "));
        let line = first_line(&out);
        assert!(line.contains(says) && !line.contains("unexpected argument"), "{args:?}: {line}");
    }
    // --help still prints in full.
    let help = bin().arg("--help").output().expect("run");
    assert!(help.status.success() && String::from_utf8_lossy(&help.stdout).lines().count() > 5);
}

/// A polity id that neither the style nor atlas.json's list of polities knows is a typo:
/// refused by validate and by render (before: a warning, and drawn in an automatic colour).
#[test]
fn a_polity_missing_from_the_atlas_list_is_refused() {
    let data = atlas_copy();
    let path = data.path().join("territories.geojson");
    let text = std::fs::read_to_string(&path).expect("territories");
    std::fs::write(&path, text.replacen("\"kazakh_senior\"", "\"atlantis\"", 1)).expect("write");
    let v = bin().arg("validate").arg("--data").arg(data.path()).output().expect("run");
    assert!(!v.status.success(), "validate accepted an unknown polity");
    let report = String::from_utf8_lossy(&v.stdout).to_string() + &String::from_utf8_lossy(&v.stderr);
    assert!(report.contains("territories.geojson:") && report.contains("\"atlantis\""), "{report}");
    let png = data.path().join("out.png");
    let r = bin()
        .args(["render", "--year", "1700", "--width", "200", "--data"])
        .arg(data.path())
        .arg("--out")
        .arg(&png)
        .output()
        .expect("run");
    assert_clean_failure(&r, "render with an unknown polity");
    assert!(first_line(&r).contains("atlantis"), "{}", first_line(&r));
    assert!(!png.exists(), "a refused render wrote its output");
}

/// ISO 8601 writes a year of five or more digits only with its sign: `"99999"` is refused
/// (before: accepted, and the battle never shown), `"+99999"` read.
#[test]
fn a_five_digit_year_needs_its_sign() {
    let data = atlas_copy();
    let path = data.path().join("battles.geojson");
    let text = std::fs::read_to_string(&path).expect("battles");
    std::fs::write(&path, text.replacen("\"date\":\"1643\"", "\"date\":\"99999\"", 1)).expect("write");
    assert_ne!(std::fs::read_to_string(&path).expect("battles"), text, "the fixture holds a 1643 battle");
    let v = bin().arg("validate").arg("--data").arg(data.path()).output().expect("run");
    assert!(!v.status.success());
    let report = String::from_utf8_lossy(&v.stdout).to_string() + &String::from_utf8_lossy(&v.stderr);
    assert!(report.contains("battles.geojson:") && report.contains("99999"), "{report}");
}

/// Query refuses the geometry render refuses (before: it answered from a self-crossing sea).
#[test]
fn query_refuses_what_render_refuses() {
    let data = atlas_copy();
    let path = data.path().join("water.geojson");
    let mut doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("water")).expect("json");
    let ring = doc["features"]
        .as_array_mut()
        .expect("features")
        .iter_mut()
        .find(|f| {
            f["geometry"]["type"] == "Polygon"
                && f["geometry"]["coordinates"][0].as_array().is_some_and(|r| r.len() > 6)
        })
        .expect("a polygon")["geometry"]["coordinates"][0]
        .as_array_mut()
        .expect("ring");
    ring.swap(1, 3); // a bow-tie
    std::fs::write(&path, doc.to_string()).expect("write");
    let q = bin()
        .args(["query", "--year", "1700", "--lon", "70", "--lat", "45", "--data"])
        .arg(data.path())
        .output()
        .expect("run");
    let png = data.path().join("out.png");
    let r = bin()
        .args(["render", "--year", "1700", "--width", "100", "--data"])
        .arg(data.path())
        .arg("--out")
        .arg(&png)
        .output()
        .expect("run");
    assert_clean_failure(&q, "query of a self-crossing ring");
    assert_clean_failure(&r, "render of a self-crossing ring");
    assert_eq!(first_line(&q), first_line(&r), "query and render give the same reason");
    assert!(
        first_line(&q).contains("water.geojson:") && first_line(&q).contains("self-intersection"),
        "{}",
        first_line(&q)
    );
}

/// An id in capitals and a route that steps across the antimeridian are warned about by
/// `validate` (the schema asks for lowercase ids; the step is drawn the long way round).
#[test]
fn capital_ids_and_antimeridian_steps_are_warned_about() {
    let tmp = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        tmp.path().join("campaigns.geojson"),
        r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"id":"Route-East",
        "name":"East","side":"qing","start_date":"1700","end_date":"1700"},"geometry":{"type":"LineString",
        "coordinates":[[178,50],[179.5,50.5],[-179.5,51],[-178,52]]}}]}"#,
    )
    .expect("write");
    let out = bin().args(["validate", "--data"]).arg(tmp.path()).output().expect("run");
    assert!(out.status.success(), "warnings only");
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("Route-East: warning: id is not lowercase"), "{text}");
    assert!(text.contains("antimeridian from longitude 179.5 to -179.5"), "{text}");
    let strict = bin().args(["validate", "--strict", "--data"]).arg(tmp.path()).output().expect("run");
    assert!(!strict.status.success());
}
