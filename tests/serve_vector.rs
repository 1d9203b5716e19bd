//! The `/vector` routes through the router (no network): the MapLibre viewer and its
//! vendored library, a style and TileJSON with absolute URLs behind a `Host` header, MVT
//! tiles gzip-encoded only for clients that accept it, ETag/304, sprite and SDF glyphs,
//! CORS, and 404 for bad paths.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use std::io::Read;
use std::path::Path;
use std::sync::{Arc, OnceLock};
use steppe_atlas::data::Source;
use steppe_atlas::serve::{router, ServerState};
use steppe_atlas::style::Style;
use steppe_atlas::time::EndDates;
use steppe_atlas::Atlas;
use tower::ServiceExt;

/// One server for every test: the vector source is built once per server.
fn mini() -> Arc<ServerState> {
    static ST: OnceLock<Arc<ServerState>> = OnceLock::new();
    ST.get_or_init(|| {
        let source = Source::Dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/mini"));
        let atlas = Atlas::load(&source, EndDates::Inclusive).unwrap();
        Arc::new(ServerState::new(atlas, Style::load("atlas").unwrap(), Style::load("print").unwrap(), "en", 16 << 20))
    })
    .clone()
}

async fn get(uri: &str, headers: &[(&str, &str)]) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let mut req = Request::builder().uri(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = router(mini()).oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
    let (parts, body) = res.into_parts();
    (parts.status, parts.headers, body.collect().await.unwrap().to_bytes().to_vec())
}

fn json(body: &[u8]) -> serde_json::Value {
    serde_json::from_slice(body).unwrap()
}

#[tokio::test]
async fn viewer_and_vendored_maplibre() {
    let (status, headers, body) = get("/vector", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers["content-type"].to_str().unwrap().starts_with("text/html"));
    let html = String::from_utf8(body).unwrap();
    assert!(html.contains("/vector/maplibre-gl.js") && html.contains("setGlobalStateProperty"));
    assert!(html.contains("#map="), "the view lives in the URL");
    let (status, _, js) = get("/vector/maplibre-gl.js", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(js.len() > 500_000, "the whole library is served");
    let (status, _, licence) = get("/vector/LICENSE-maplibre.txt", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(String::from_utf8(licence).unwrap().contains("MapLibre contributors"));
    let (status, _, _) = get("/vector/maplibre-gl.css", &[]).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn style_and_tilejson_use_absolute_urls_behind_a_host() {
    let host = [("host", "maps.example:8080")];
    let (status, headers, body) = get("/vector/style.json", &host).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["access-control-allow-origin"], "*");
    let style = json(&body);
    assert_eq!(style["version"], 8);
    assert_eq!(style["sources"]["atlas"]["url"], "http://maps.example:8080/vector/tiles.json");
    assert_eq!(style["sprite"], "http://maps.example:8080/vector/sprite");
    assert_eq!(style["glyphs"], "http://maps.example:8080/vector/fonts/{fontstack}/{range}.pbf");
    let (status, _, body) = get("/vector/tiles.json", &host).await;
    assert_eq!(status, StatusCode::OK);
    let tj = json(&body);
    assert_eq!(tj["tilejson"], "3.0.0");
    assert_eq!(tj["tiles"][0], "http://maps.example:8080/vector/{z}/{x}/{y}.pbf");
    let ids: Vec<&str> = tj["vector_layers"].as_array().unwrap().iter().map(|l| l["id"].as_str().unwrap()).collect();
    assert!(ids.contains(&"territories") && ids.contains(&"borders") && ids.contains(&"cities"));
    assert_eq!(tj["maxzoom"], 12);
}

#[tokio::test]
async fn tiles_are_gzip_only_when_accepted_and_decode() {
    // The mini atlas lies in 60–80E, 40–50N: tile 4/11/5 holds part of it.
    let (status, headers, gz) = get("/vector/4/11/5.pbf", &[("accept-encoding", "gzip, br")]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-encoding"], "gzip");
    assert_eq!(headers["content-type"], "application/vnd.mapbox-vector-tile");
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(gz.as_slice()).read_to_end(&mut raw).unwrap();
    let (status, headers, plain) = get("/vector/4/11/5.pbf", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers.get("content-encoding").is_none());
    assert_eq!(plain, raw, "the same tile either way");
    let r = mvt_reader::Reader::new(plain).unwrap();
    let names = r.get_layer_names().unwrap();
    assert!(names.contains(&"territories".to_string()), "{names:?}");
    // ETag and 304.
    let etag = headers["etag"].to_str().unwrap().to_string();
    let (status, _, body) = get("/vector/4/11/5.pbf", &[("if-none-match", &etag)]).await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    assert!(body.is_empty());
    // A tile far from the data is empty: 204.
    let (status, _, body) = get("/vector/4/0/0.pbf", &[]).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(body.is_empty());
}

#[tokio::test]
async fn sprite_and_glyphs() {
    let (status, _, body) = get("/vector/sprite@2x.json", &[]).await;
    assert_eq!(status, StatusCode::OK);
    let index = json(&body);
    let first = index.as_object().unwrap().values().next().unwrap();
    assert_eq!(first["pixelRatio"], 2);
    let (status, headers, png) = get("/vector/sprite.png", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "image/png");
    assert_eq!(&png[1..4], b"PNG");
    let (status, _, pbf) = get("/vector/fonts/DejaVu%20Sans%20Bold/1024-1279.pbf", &[]).await;
    assert_eq!(status, StatusCode::OK);
    use pbf_font_tools::prost::Message;
    let glyphs = pbf_font_tools::Glyphs::decode(pbf.as_slice()).unwrap();
    assert_eq!(glyphs.stacks[0].name, "DejaVu Sans Bold");
    assert!(glyphs.stacks[0].glyphs.iter().any(|g| g.id == 'Қ' as u32));
    // A font stack of several faces is answered by the first one known.
    let (status, _, _) = get("/vector/fonts/Unknown%20Face,DejaVu%20Sans%20Book/0-255.pbf", &[]).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn bad_vector_paths_get_404() {
    for uri in [
        "/vector/4/11/5.png",
        "/vector/15/1/1.pbf",
        "/vector/4/16/1.pbf",
        "/vector/x/1/1.pbf",
        "/vector/sprite.svg",
        "/vector/fonts/Comic%20Sans/0-255.pbf",
        "/vector/fonts/DejaVu%20Sans%20Book/1-256.pbf",
        "/vector/fonts/DejaVu%20Sans%20Book/65536-65791.pbf",
        "/vector/fonts/DejaVu%20Sans%20Book/../../etc/passwd",
    ] {
        let (status, _, _) = get(uri, &[]).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
    }
}

/// The `/vector` viewer in headless Chromium (`tools/check_viewer.py`): opened at
/// `?year=1723` it draws at Turkistan the holder `query` gives for 1723; moving the slider
/// to 1741 changes the pixels, the holder drawn and the URL.
#[test]
fn the_viewer_draws_the_years_holders_in_chromium() {
    use std::io::BufRead;
    let chromium = ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .any(|c| std::process::Command::new(c).arg("--version").output().is_ok_and(|o| o.status.success()));
    let python = std::process::Command::new("python3")
        .args(["-c", "import websocket"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !(chromium && python) {
        assert!(std::env::var_os("CI").is_none(), "CI must install chromium and PyPI websocket-client");
        eprintln!("skipped: needs chromium and python3 with websocket-client");
        return;
    }
    let bin = assert_cmd::cargo::cargo_bin("steppe-atlas");
    let mut server = std::process::Command::new(&bin)
        .args(["serve", "--addr", "127.0.0.1:0"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(server.stderr.take().unwrap()).read_line(&mut line).unwrap();
    let base = line.trim().rsplit(' ').next().unwrap().trim_end_matches('/').to_string();
    let out = std::process::Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/check_viewer.py"))
        .arg(&base)
        .args(["--lon", "68.27", "--lat", "43.30", "--year", "1723", "--to", "1741"])
        .output()
        .unwrap();
    server.kill().ok();
    server.wait().ok();
    assert!(out.status.success(), "check_viewer.py: {}", String::from_utf8_lossy(&out.stderr));
    let report = json(&out.stdout);
    for year in ["1723", "1741"] {
        let q = std::process::Command::new(&bin)
            .args(["query", "--year", year, "--lon", "68.27", "--lat", "43.30"])
            .output()
            .unwrap();
        let q = json(&q.stdout);
        let held =
            q["features"].as_array().unwrap().iter().find(|f| f["layer"] == "territories").unwrap()["polity"].clone();
        assert_eq!(report["holder"][year], held, "{year}: {report}");
    }
    assert_eq!(report["pixels_changed"], true);
    assert!(report["url_after"].as_str().unwrap().contains("/vector?year=1741&lang=kk#map="), "{report}");
}
