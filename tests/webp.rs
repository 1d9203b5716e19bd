//! WebP tiles end to end: `tiles --image webp` writes `{z}/{x}/{y}.webp` whose pixels are
//! the PNG tiles' (exactly, where the PNG is lossless), read back by two decoders
//! (image-webp and Python's Pillow); MBTiles say `format=webp` (read with SQLite) and
//! PMTiles tile type WebP (read by the Python `pmtiles` package); the server answers
//! `.webp` with `image/webp` next to `.png`, points TileJSON at either, and serves a WebP
//! export as it was written.

use assert_cmd::Command;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use steppe_atlas::data::Source;
use steppe_atlas::imageformat::ImageFormat;
use steppe_atlas::output::QUANTISE_MAX_ERROR;
use steppe_atlas::serve::{archive::TileArchive, router, ServerState};
use steppe_atlas::style::Style;
use steppe_atlas::time::EndDates;
use steppe_atlas::Atlas;
use tower::ServiceExt;

fn mini() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/mini")
}

fn tiles(out: &Path, args: &[&str]) {
    let o = Command::cargo_bin("steppe-atlas")
        .unwrap()
        .arg("tiles")
        .arg("--data")
        .arg(mini())
        .arg("--out")
        .arg(out)
        .args(args)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// Every file under `dir` ending in `.{ext}`, by `z/x/y` (without the extension).
fn files(dir: &Path, ext: &str) -> BTreeMap<String, PathBuf> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == ext) {
                let rel = p.strip_prefix(dir).unwrap().with_extension("");
                out.insert(rel.to_string_lossy().replace('\\', "/"), p);
            }
        }
    }
    out
}

/// Decode a WebP with image-webp to (width, height, RGBA).
fn webp_rgba(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    let mut d = image_webp::WebPDecoder::new(std::io::Cursor::new(bytes)).expect("a WebP");
    assert!(!d.is_lossy(), "tiles are lossless WebP");
    let (w, h) = d.dimensions();
    let mut buf = vec![0u8; d.output_buffer_size().unwrap()];
    d.read_image(&mut buf).unwrap();
    let rgba = if d.has_alpha() { buf } else { buf.chunks_exact(3).flat_map(|p| [p[0], p[1], p[2], 255]).collect() };
    (w, h, rgba)
}

/// Decode a PNG (palette or truecolour) with the png crate to (width, height, RGBA).
fn png_rgba(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    let mut d = png::Decoder::new(std::io::Cursor::new(bytes));
    d.set_transformations(png::Transformations::EXPAND | png::Transformations::ALPHA);
    let mut r = d.read_info().unwrap();
    let mut buf = vec![0; r.output_buffer_size().unwrap()];
    let info = r.next_frame(&mut buf).unwrap();
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

fn colours(rgba: &[u8]) -> usize {
    rgba.chunks_exact(4).collect::<std::collections::HashSet<_>>().len()
}

/// Pillow's RGBA of each file, in order (None when python3 with Pillow and WebP support
/// is missing, which CI does not allow).
fn pillow_rgba(paths: &[&PathBuf]) -> Option<Vec<Vec<u8>>> {
    let script = "import sys\nfrom PIL import Image, features\nassert features.check('webp')\n\
                  for p in sys.argv[1:]:\n    sys.stdout.buffer.write(Image.open(p).convert('RGBA').tobytes())";
    let out = std::process::Command::new("python3").args(["-c", script]).args(paths).output().ok();
    match out {
        Some(o) if o.status.success() => {
            let mut chunks = Vec::new();
            let mut rest = &o.stdout[..];
            for _ in paths {
                let (a, b) = rest.split_at(256 * 256 * 4);
                chunks.push(a.to_vec());
                rest = b;
            }
            assert!(rest.is_empty());
            Some(chunks)
        }
        _ => {
            assert!(std::env::var_os("CI").is_none(), "CI must install python3-pil with WebP support");
            eprintln!("skipped the Pillow check: python3 with Pillow (WebP) is not installed");
            None
        }
    }
}

#[test]
fn webp_tiles_hold_the_png_tiles_pixels_and_two_decoders_agree() {
    let tmp = tempfile::tempdir().unwrap();
    let (png_dir, webp_dir) = (tmp.path().join("png"), tmp.path().join("webp"));
    tiles(&png_dir, &["--years", "1723", "--zoom", "0..7"]);
    tiles(&webp_dir, &["--years", "1723", "--zoom", "0..7", "--image", "webp"]);
    let pngs = files(&png_dir.join("1723"), "png");
    let webps = files(&webp_dir.join("1723"), "webp");
    assert!(files(&webp_dir.join("1723"), "png").is_empty(), "a WebP run writes no .png tiles");
    assert_eq!(pngs.keys().collect::<Vec<_>>(), webps.keys().collect::<Vec<_>>(), "the same pyramid");
    assert!(webps.len() > 50, "{} tiles", webps.len());
    let tj: serde_json::Value = serde_json::from_slice(&std::fs::read(webp_dir.join("1723.json")).unwrap()).unwrap();
    assert_eq!(tj["tiles"][0], "1723/{z}/{x}/{y}.webp");

    let (mut exact, mut quantised) = (0, 0);
    let mut decoded = Vec::new();
    for (k, wp) in &webps {
        let wb = std::fs::read(wp).unwrap();
        assert_eq!(ImageFormat::sniff(&wb), Some(ImageFormat::Webp), "{k}");
        let (w, h, webp) = webp_rgba(&wb);
        assert_eq!((w, h), (256, 256), "{k}");
        let (pw, ph, png) = png_rgba(&std::fs::read(&pngs[k]).unwrap());
        assert_eq!((pw, ph), (256, 256));
        if webp == png {
            exact += 1;
        } else {
            // Only a tile of more than 256 colours may differ: its PNG is quantised, within
            // the palette's stated bound at every pixel. The WebP is the rendered pixels.
            assert!(colours(&webp) > 256, "{k}: a tile of {} colours must match its PNG", colours(&webp));
            let worst = webp
                .chunks_exact(4)
                .zip(png.chunks_exact(4))
                .map(|(a, b)| a.iter().zip(b).map(|(x, y)| (i32::from(*x) - i32::from(*y)).pow(2) as u32).sum::<u32>())
                .max()
                .unwrap();
            assert!(worst <= QUANTISE_MAX_ERROR.pow(2), "{k}: error {}", f64::from(worst).sqrt());
            quantised += 1;
        }
        decoded.push(webp);
    }
    assert!(exact > webps.len() / 2, "{exact} exact, {quantised} quantised PNGs");

    // Pillow (libwebp) decodes every tile to the same pixels as image-webp.
    let paths: Vec<&PathBuf> = webps.values().collect();
    if let Some(pillow) = pillow_rgba(&paths) {
        for ((k, a), b) in webps.keys().zip(&decoded).zip(&pillow) {
            assert!(a == b, "{k}: Pillow and image-webp disagree");
        }
    }
}

#[test]
fn mbtiles_say_format_webp_and_pmtiles_tile_type_webp() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path();
    tiles(out, &["--years", "1723", "--zoom", "2..6", "--format", "mbtiles", "--image", "webp"]);
    tiles(out, &["--years", "1723", "--zoom", "2..6", "--format", "pmtiles", "--image", "webp"]);

    let db = rusqlite::Connection::open(out.join("1723.mbtiles")).unwrap();
    let format: String = db.query_row("SELECT value FROM metadata WHERE name = 'format'", [], |r| r.get(0)).unwrap();
    assert_eq!(format, "webp");
    let mut stmt = db.prepare("SELECT tile_data FROM tiles").unwrap();
    let blobs: Vec<Vec<u8>> = stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect();
    assert!(!blobs.is_empty());
    for b in &blobs {
        assert_eq!(webp_rgba(b).0, 256);
    }

    let pm = out.join("1723.pmtiles");
    let bytes = std::fs::read(&pm).unwrap();
    assert_eq!(&bytes[..7], b"PMTiles");
    assert_eq!(bytes[99], 4, "header tile type 4 = WebP");
    let has_python =
        std::process::Command::new("python3").args(["-c", "import pmtiles"]).output().is_ok_and(|o| o.status.success());
    if !has_python {
        assert!(std::env::var_os("CI").is_none(), "CI must install the python pmtiles package");
        eprintln!("skipped the pmtiles reader check: python3 with pmtiles is not installed");
        return;
    }
    // Turkistan (68.25E, 43.3N) at z6 is XYZ tile (44, 23).
    let script = r#"
import json, sys
from pmtiles.reader import Reader, MmapSource
from pmtiles.tile import TileType
with open(sys.argv[1], "rb") as f:
    r = Reader(MmapSource(f))
    h = r.header()
    t = r.get(6, 44, 23)
    print(json.dumps({"tile_type": TileType(h["tile_type"]).name, "format": r.metadata().get("format"),
                      "riff": t[:4].decode("latin-1"), "webp": t[8:12].decode("latin-1")}))
"#;
    let o = std::process::Command::new("python3").args(["-c", script]).arg(&pm).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v, serde_json::json!({"tile_type": "WEBP", "format": "webp", "riff": "RIFF", "webp": "WEBP"}));
}

#[test]
fn merged_webp_shards_stay_webp() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path();
    for s in ["0/2", "1/2"] {
        tiles(out, &["--years", "1723", "--zoom", "0..5", "--format", "pmtiles", "--image", "webp", "--shard", s]);
    }
    let merged = out.join("merged.pmtiles");
    let o = Command::cargo_bin("steppe-atlas")
        .unwrap()
        .args(["merge", "--out"])
        .arg(&merged)
        .arg(out.join("1723-0of2.pmtiles"))
        .arg(out.join("1723-1of2.pmtiles"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    tiles(&out.join("one"), &["--years", "1723", "--zoom", "0..5", "--format", "pmtiles", "--image", "webp"]);
    let bytes = std::fs::read(&merged).unwrap();
    assert_eq!(bytes[99], 4, "merged tile type WebP");
    assert_eq!(bytes, std::fs::read(out.join("one/1723.pmtiles")).unwrap(), "the merge equals one run");
}

#[test]
fn webp_with_vector_tiles_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let o = Command::cargo_bin("steppe-atlas")
        .unwrap()
        .args(["tiles", "--format", "mvt", "--image", "webp", "--out"])
        .arg(tmp.path())
        .arg("--data")
        .arg(mini())
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("--image webp") && err.lines().count() <= 2, "{err}");
}

fn state() -> ServerState {
    let atlas = Atlas::load(&Source::Dir(mini()), EndDates::Inclusive).unwrap();
    ServerState::new(atlas, Style::load("atlas").unwrap(), Style::load("print").unwrap(), "en", 64 << 20)
}

async fn get(st: &Arc<ServerState>, uri: &str, etag: Option<&str>) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let mut req = Request::builder().uri(uri);
    if let Some(e) = etag {
        req = req.header("if-none-match", e);
    }
    let res = router(st.clone()).oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
    let (parts, body) = res.into_parts();
    (parts.status, parts.headers, body.collect().await.unwrap().to_bytes().to_vec())
}

#[tokio::test]
async fn the_server_answers_webp_next_to_png() {
    let st = Arc::new(state());
    let (status, headers, webp) = get(&st, "/tiles/1723/6/44/23.webp", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "image/webp");
    let (w, h, pixels) = webp_rgba(&webp);
    assert_eq!((w, h), (256, 256));
    let etag = headers["etag"].to_str().unwrap().to_string();
    let (status, _, body) = get(&st, "/tiles/1723/6/44/23.webp", Some(&etag)).await;
    assert_eq!((status, body.len()), (StatusCode::NOT_MODIFIED, 0));
    // The PNG of the same tile is cached apart, with its own type and ETag, and the
    // same picture (exactly, when it has few colours).
    let (status, headers, png) = get(&st, "/tiles/1723/6/44/23.png", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "image/png");
    assert_ne!(headers["etag"].to_str().unwrap(), etag);
    let (_, _, png_pixels) = png_rgba(&png);
    if colours(&pixels) <= 256 {
        assert!(png_pixels == pixels, "the WebP and PNG tiles differ");
    }
    let (status, headers, body) = get(&st, "/tiles/1723/6/45/23@2x.webp", None).await;
    assert_eq!((status, &headers["content-type"]), (StatusCode::OK, &"image/webp".parse().unwrap()));
    assert_eq!(webp_rgba(&body).0, 512);
    for uri in [
        "/tiles/1723/6/44/23.gif",
        "/tiles/1723/6/44/23.jpg",
        "/tiles/1723/6/44/23webp",
        "/tiles/1723/6/44/23.webp.png.gif",
        "/tiles/1723/6/44/23@3x.webp",
        "/tiles/1723/6/44/.webp",
    ] {
        let (status, headers, _) = get(&st, uri, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
        assert_eq!(headers["content-type"], "text/plain; charset=utf-8", "{uri}");
    }

    // TileJSON: PNG by default, WebP when asked, 400 for another format.
    let tilejson = |uri: &'static str| {
        let st = st.clone();
        async move {
            let (status, _, body) = get(&st, uri, None).await;
            (status, serde_json::from_slice::<serde_json::Value>(&body).unwrap_or_default())
        }
    };
    let (_, tj) = tilejson("/tiles/1723.json").await;
    assert!(tj["tiles"][0].as_str().unwrap().ends_with("/tiles/1723/{z}/{x}/{y}.png"), "{tj}");
    let (_, tj) = tilejson("/tiles/1723@2x.json?image=webp&lang=kk").await;
    assert!(tj["tiles"][0].as_str().unwrap().ends_with("/tiles/1723/{z}/{x}/{y}@2x.webp?lang=kk"), "{tj}");
    assert_eq!(tilejson("/tiles/1723.json?image=gif").await.0, StatusCode::BAD_REQUEST);

    // `serve --image webp`: TileJSON, /api/meta and the viewer point at .webp.
    let st = Arc::new(state().with_image(ImageFormat::Webp));
    let (_, _, body) = get(&st, "/tiles/1723.json", None).await;
    let tj: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert!(tj["tiles"][0].as_str().unwrap().ends_with("{y}.webp"), "{tj}");
    let (_, _, body) = get(&st, "/api/meta", None).await;
    let meta: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(meta["tiles"]["format"], "webp");
    assert!(meta["tiles"]["url"].as_str().unwrap().ends_with("{y}.webp"));
    let (_, _, body) = get(&st, "/tiles/1723.json?image=png", None).await;
    let tj: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert!(tj["tiles"][0].as_str().unwrap().ends_with("{y}.png"), "{tj}");
}

#[tokio::test]
async fn a_webp_export_is_served_as_written() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path();
    tiles(&out.join("xyz"), &["--years", "1723", "--zoom", "0..6", "--image", "webp"]);
    tiles(&out.join("mb"), &["--years", "1723", "--zoom", "0..6", "--format", "mbtiles", "--image", "webp"]);
    tiles(&out.join("pm"), &["--years", "1723", "--zoom", "0..6", "--format", "pmtiles", "--image", "webp"]);
    let file = std::fs::read(out.join("xyz/1723/6/44/23.webp")).unwrap();
    for dir in ["xyz", "mb", "pm"] {
        let archive = TileArchive::open(&out.join(dir)).await.unwrap();
        let st = Arc::new(state().with_tiles(archive));
        let (status, headers, body) = get(&st, "/tiles/1723/6/44/23.webp", None).await;
        assert_eq!(status, StatusCode::OK, "{dir}");
        assert_eq!(headers["content-type"], "image/webp", "{dir}");
        assert!(body == file, "{dir}: the tile as written");
        let (status, _, body) = get(&st, "/tiles/1723/6/44/23.png", None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{dir}: no PNG in a WebP export");
        assert!(String::from_utf8_lossy(&body).contains(".webp"), "{dir}");
        let (_, _, body) = get(&st, "/tiles/1723.json", None).await;
        let tj: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert!(tj["tiles"][0].as_str().unwrap().ends_with("/tiles/1723/{z}/{x}/{y}.webp"), "{dir}: {tj}");
        let (_, _, body) = get(&st, "/api/meta", None).await;
        let meta: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(meta["tiles"]["format"], "webp", "{dir}");
    }
}
