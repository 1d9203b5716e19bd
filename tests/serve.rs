//! The tile server through its router (no network) and once over a real socket: tiles
//! with ETag/304, TileJSON, frames, queries, the timeline, and 4xx for bad requests.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use std::io::{BufRead, Read, Write};
use std::path::Path;
use std::sync::Arc;
use steppe_atlas::data::Source;
use steppe_atlas::serve::{router, ImageCache, ImageKey, ServerState};
use steppe_atlas::style::Style;
use steppe_atlas::time::EndDates;
use steppe_atlas::Atlas;
use tower::ServiceExt;

fn state(source: Source) -> Arc<ServerState> {
    let atlas = Atlas::load(&source, EndDates::Inclusive).unwrap();
    Arc::new(ServerState::new(atlas, Style::load("atlas").unwrap(), Style::load("print").unwrap(), "en", 64 << 20))
}

fn mini() -> Arc<ServerState> {
    state(Source::Dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/mini")))
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

fn png_size(bytes: &[u8]) -> (u32, u32) {
    let r = png::Decoder::new(std::io::Cursor::new(bytes)).read_info().expect("a PNG");
    (r.info().width, r.info().height)
}

#[tokio::test]
async fn tiles_with_etag_and_304() {
    let st = mini();
    let (status, headers, body) = get(&st, "/tiles/1723/6/44/23.png", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "image/png");
    assert!(headers["cache-control"].to_str().unwrap().contains("max-age"));
    assert_eq!(png_size(&body), (256, 256));
    let etag = headers["etag"].to_str().unwrap().to_string();
    let (status, _, body) = get(&st, "/tiles/1723/6/44/23.png", Some(&etag)).await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    assert!(body.is_empty());
    // The neighbour came from the same metatile render and is cached; @2x is 512 px.
    let (status, _, body) = get(&st, "/tiles/1723/6/45/23@2x.png", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(png_size(&body), (512, 512));
}

#[tokio::test]
async fn bad_requests_get_4xx_and_the_server_keeps_serving() {
    let st = mini();
    for (uri, want) in [
        ("/tiles/abc/1/1/1.png", StatusCode::BAD_REQUEST),
        ("/tiles/1723/30/1/1.png", StatusCode::NOT_FOUND),
        ("/tiles/1723/3/8/1.png", StatusCode::NOT_FOUND),
        ("/tiles/1723/3/1/1.jpg", StatusCode::NOT_FOUND),
        ("/tiles/1723/3/-1/1.png", StatusCode::NOT_FOUND),
        ("/tiles/99999/1/1/1.png", StatusCode::BAD_REQUEST),
        ("/frames/17x3.png", StatusCode::BAD_REQUEST),
        ("/api/features?year=1723&lon=abc&lat=43", StatusCode::BAD_REQUEST),
        ("/api/features?year=1723&lon=68", StatusCode::BAD_REQUEST),
        ("/api/features?year=1723&lon=200&lat=43", StatusCode::BAD_REQUEST),
        ("/api/features?year=1723&lon=68&lat=43&radius_km=-1", StatusCode::BAD_REQUEST),
        ("/assets/../../Cargo.toml", StatusCode::NOT_FOUND),
        ("/assets/secret.txt", StatusCode::NOT_FOUND),
        ("/nothing", StatusCode::NOT_FOUND),
    ] {
        let (status, _, _) = get(&st, uri, None).await;
        assert_eq!(status, want, "{uri}");
    }
    let (status, _, body) = get(&st, "/health", None).await;
    assert_eq!((status, body), (StatusCode::OK, b"ok".to_vec()));
}

#[tokio::test]
async fn viewer_tilejson_timeline_features_and_frames() {
    let st = mini();
    let (status, headers, body) = get(&st, "/", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers["content-type"].to_str().unwrap().starts_with("text/html"));
    let html = String::from_utf8(body).unwrap();
    assert!(html.contains("/assets/leaflet.js") && html.contains("type=\"range\"") && html.contains("/api/features"));
    let (status, _, js) = get(&st, "/assets/leaflet.js", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(String::from_utf8_lossy(&js).contains("1.9.4"));

    let (_, _, body) = get(&st, "/tiles/1723.json", None).await;
    let tj: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(tj["tilejson"], "3.0.0");
    // Absolute (TileJSON 3.0.0); without a Host header the base is localhost.
    assert_eq!(tj["tiles"][0], "http://localhost/tiles/1723/{z}/{x}/{y}.png");

    let (_, _, body) = get(&st, "/api/timeline", None).await;
    let tl: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let ev = tl["events"].as_array().unwrap();
    assert!(ev.iter().any(|e| e["year"] == 1723 && e["caption"].as_str().unwrap().contains("Lobsangsür")));

    let (_, _, body) = get(&st, "/api/features?year=1723&lon=68.27&lat=43.30&radius_km=5", None).await;
    let q: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let t = q["features"].as_array().unwrap().iter().find(|f| f["id"] == "turkistan").unwrap();
    assert_eq!(t["controlled_by"], "dzungar");

    let (status, headers, body) = get(&st, "/frames/1723.png", None).await;
    assert_eq!((status, headers["content-type"].to_str().unwrap()), (StatusCode::OK, "image/png"));
    assert_eq!(png_size(&body), (1280, 720));
}

#[test]
fn the_image_cache_stays_within_its_bound() {
    let key = |i: i32| ImageKey::Frame { year: i };
    let cost = ImageCache::cost(&key(10), &[0u8; 100]);
    let c = ImageCache::new(10 * cost);
    for i in 10..60 {
        c.put(key(i), vec![0u8; 100].into());
        assert!(c.bytes() <= 10 * cost);
    }
    assert!(c.bytes() == c.len() * cost && (5..=10).contains(&c.len()), "{} entries", c.len());
    assert!(c.get(&key(59)).is_some(), "the newest is kept");
}

#[test]
fn serves_over_a_real_socket() {
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("steppe-atlas"))
        .args(["serve", "--addr", "127.0.0.1:0", "--data"])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/mini"))
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stderr.take().unwrap()).read_line(&mut line).unwrap();
    let addr = line.trim().rsplit("http://").next().unwrap().trim_end_matches('/').to_string();
    let mut s = std::net::TcpStream::connect(&addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(20))).unwrap();
    write!(s, "GET /tiles/1723/4/11/5.png HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").unwrap();
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).unwrap();
    child.kill().ok();
    child.wait().ok();
    let head = String::from_utf8_lossy(&resp[..resp.len().min(200)]).to_string();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(resp.windows(8).any(|w| w == b"\x89PNG\r\n\x1a\n"));
}

/// A request with the given method and headers through the router.
async fn request(st: &Arc<ServerState>, method: &str, uri: &str, headers: &[(&str, &str)]) -> axum::response::Response {
    let mut req = Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    router(st.clone()).oneshot(req.body(Body::empty()).unwrap()).await.unwrap()
}

#[tokio::test]
async fn cors_lets_a_map_on_another_origin_read_tilejson_and_tiles() {
    let st = mini();
    // A preflight from another origin is answered at once.
    let pre = request(
        &st,
        "OPTIONS",
        "/tiles/1723/3/5/2.png",
        &[
            ("origin", "https://maps.example"),
            ("access-control-request-method", "GET"),
            ("access-control-request-headers", "x-requested-with"),
        ],
    )
    .await;
    assert_eq!(pre.status(), StatusCode::NO_CONTENT);
    let h = pre.headers();
    assert_eq!(h["access-control-allow-origin"], "*");
    assert!(h["access-control-allow-methods"].to_str().unwrap().contains("GET"));
    assert_eq!(h["access-control-allow-headers"], "x-requested-with");
    // Every answer carries the header: TileJSON, tiles, the API, and errors too.
    for uri in ["/tiles/1723.json", "/tiles/1723/3/5/2.png", "/api/timeline", "/tiles/17x23.json"] {
        let res = request(&st, "GET", uri, &[("origin", "https://maps.example")]).await;
        assert_eq!(res.headers()["access-control-allow-origin"], "*", "{uri}");
    }
    // One origin only, or off.
    let one = Arc::new(
        Arc::try_unwrap(mini())
            .ok()
            .unwrap()
            .with_web(steppe_atlas::serve::WebOptions { cors: Some("https://maps.example".into()), public_url: None }),
    );
    let res = request(&one, "GET", "/tiles/1723.json", &[]).await;
    assert_eq!(res.headers()["access-control-allow-origin"], "https://maps.example");
    assert!(res.headers().get_all("vary").iter().any(|v| v == "Origin"));
    let off = Arc::new(
        Arc::try_unwrap(mini())
            .ok()
            .unwrap()
            .with_web(steppe_atlas::serve::WebOptions { cors: None, public_url: None }),
    );
    let res = request(&off, "GET", "/tiles/1723.json", &[]).await;
    assert!(res.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn tilejson_urls_are_absolute_behind_a_host_or_a_public_url() {
    let st = mini();
    let res = request(&st, "GET", "/tiles/1723.json", &[("host", "tiles.example:8080")]).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["cache-control"].to_str().unwrap().contains("max-age"));
    let body = res.into_body().collect().await.unwrap().to_bytes();
    let doc: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(doc["tiles"][0], "http://tiles.example:8080/tiles/1723/{z}/{x}/{y}.png");
    assert_eq!(doc["maxzoom"], steppe_atlas::serve::MAX_ZOOM);
    // The TileJSON's maxzoom is served, one more is not.
    let z = steppe_atlas::serve::MAX_ZOOM;
    let (ok, _, _) = get(&st, &format!("/tiles/1723/{z}/0/0.png"), None).await;
    let (no, _, _) = get(&st, &format!("/tiles/1723/{}/0/0.png", z + 1), None).await;
    assert_eq!((ok, no), (StatusCode::OK, StatusCode::NOT_FOUND));
    // @2x TileJSON for 512 px tiles.
    let res = request(&st, "GET", "/tiles/1723@2x.json", &[("host", "tiles.example")]).await;
    let body = res.into_body().collect().await.unwrap().to_bytes();
    let doc: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(doc["tiles"][0], "http://tiles.example/tiles/1723/{z}/{x}/{y}@2x.png");
    assert_eq!(doc["tileSize"], 512);
    // A public URL wins over the Host; a Host that is not a host name is not echoed.
    let public = Arc::new(Arc::try_unwrap(mini()).ok().unwrap().with_web(steppe_atlas::serve::WebOptions {
        cors: Some("*".into()),
        public_url: Some("https://maps.example/atlas".into()),
    }));
    let res = request(&public, "GET", "/tiles/1741.json", &[("host", "evil.example")]).await;
    let body = res.into_body().collect().await.unwrap().to_bytes();
    let doc: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(doc["tiles"][0], "https://maps.example/atlas/tiles/1741/{z}/{x}/{y}.png");
    let res = request(&st, "GET", "/tiles/1723.json", &[("host", "a\"b<script>")]).await;
    let body = res.into_body().collect().await.unwrap().to_bytes();
    assert!(!String::from_utf8_lossy(&body).contains("script"));
}

#[tokio::test]
async fn lang_on_tile_urls_draws_other_labels_and_is_cached_apart() {
    let st = mini();
    // A tile with labels: the mini atlas's towns at z5.
    let uri = "/tiles/1723/5/22/11.png";
    let (s_en, h_en, en) = get(&st, uri, None).await;
    let (s_kk, h_kk, kk) = get(&st, &format!("{uri}?lang=kk"), None).await;
    let (s_ru, _, ru) = get(&st, &format!("{uri}?lang=ru"), None).await;
    assert_eq!((s_en, s_kk, s_ru), (StatusCode::OK, StatusCode::OK, StatusCode::OK));
    assert_ne!(en, kk, "Kazakh labels differ from English ones");
    assert_ne!(kk, ru);
    assert_ne!(h_en["etag"], h_kk["etag"]);
    // Asked again, each language answers from its own cache entry.
    let (_, _, kk2) = get(&st, &format!("{uri}?lang=kk"), None).await;
    let (_, _, en2) = get(&st, uri, None).await;
    assert_eq!((kk2, en2), (kk, en));
    // TileJSON carries the language to the tile URLs; a bad code is a 400.
    let (_, _, body) = get(&st, "/tiles/1723.json?lang=kk", None).await;
    let doc: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert!(doc["tiles"][0].as_str().unwrap().ends_with(".png?lang=kk"));
    let (bad, _, _) = get(&st, &format!("{uri}?lang=%3Cscript%3E"), None).await;
    assert_eq!(bad, StatusCode::BAD_REQUEST);
}

#[test]
fn the_year_table_gives_every_years_map_state() {
    // The table built at start holds states only where the data changes; every year
    // must still get exactly the state a pass over the data gives.
    for source in [Source::Embedded, Source::Dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/mini"))] {
        let atlas = Atlas::load(&source, EndDates::Inclusive).unwrap();
        let table = steppe_atlas::serve::YearStates::build(&atlas);
        assert!(table.len() > 1);
        let far = [-9999, -5000, 0, 1000, 5000, 9998, 9999];
        let mut distinct = std::collections::HashSet::new();
        for y in (1400..=1900).chain(far) {
            let want = steppe_atlas::atlas::map_state(&atlas, y);
            assert_eq!(table.get(y), want, "year {y}");
            distinct.insert(want);
        }
        assert!(distinct.len() > 3, "the states differ between years");
    }
}

// ---------------------------------------------------------------------------------------
// `serve --tiles PATH` (XYZ, MBTiles, PMTiles exports), raw `.pmtiles` with HTTP ranges,
// and `/api/meta`. Archives are made with the binary's own `tiles` command.
// ---------------------------------------------------------------------------------------

mod archives {
    use super::*;
    use steppe_atlas::serve::archive::TileArchive;

    fn mini_dir() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/mini")
    }

    /// `tiles --years 1723..1724 --zoom 0..1 --format FORMAT` of the mini atlas into `out`.
    fn export(format: &str, out: &Path) {
        let st = std::process::Command::new(env!("CARGO_BIN_EXE_steppe-atlas"))
            .args(["tiles", "--years", "1723..1724", "--zoom", "0..1", "--format", format, "--out"])
            .arg(out)
            .arg("--data")
            .arg(mini_dir())
            .output()
            .unwrap();
        assert!(st.status.success(), "{}", String::from_utf8_lossy(&st.stderr));
    }

    async fn served(path: &Path) -> Arc<ServerState> {
        let atlas = Atlas::load(&Source::Dir(mini_dir()), EndDates::Inclusive).unwrap();
        let archive = TileArchive::open(path).await.unwrap();
        Arc::new(
            ServerState::new(atlas, Style::load("atlas").unwrap(), Style::load("print").unwrap(), "en", 1 << 20)
                .with_tiles(archive),
        )
    }

    async fn get_range(st: &Arc<ServerState>, uri: &str, range: &str) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
        let res = request(st, "GET", uri, &[("range", range)]).await;
        let (parts, body) = res.into_parts();
        (parts.status, parts.headers, body.collect().await.unwrap().to_bytes().to_vec())
    }

    /// Every kind of export serves the tiles `tiles` wrote, byte for byte (checked against
    /// the XYZ files and, for MBTiles, a SQL read with the TMS row flipped by hand), with
    /// 404 outside the archive, ETag/304, and TileJSON giving the archive's zooms.
    #[tokio::test]
    async fn each_archive_kind_serves_what_tiles_wrote() {
        let tmp = tempfile::tempdir().unwrap();
        for f in ["xyz", "mbtiles", "pmtiles"] {
            export(f, &tmp.path().join(f));
        }
        let xyz = tmp.path().join("xyz");
        let want = |z: u32, x: u32, y: u32| std::fs::read(xyz.join(format!("1724/{z}/{x}/{y}.png"))).unwrap();
        let db = rusqlite::Connection::open(tmp.path().join("mbtiles/1724.mbtiles")).unwrap();
        let sql_tile = |z: u32, x: u32, y: u32| -> Vec<u8> {
            db.query_row(
                "SELECT tile_data FROM tiles WHERE zoom_level = ?1 AND tile_column = ?2 AND tile_row = ?3",
                (z, x, (1 << z) - 1 - y),
                |r| r.get(0),
            )
            .unwrap()
        };
        let (z, x, y) = (1, 1, 0);
        assert_eq!(sql_tile(z, x, y), want(z, x, y), "the MBTiles holds the XYZ tile under its TMS row");
        for path in [
            xyz.clone(),
            tmp.path().join("mbtiles"),
            tmp.path().join("pmtiles"),
            tmp.path().join("mbtiles/1724.mbtiles"),
            tmp.path().join("pmtiles/1724.pmtiles"),
        ] {
            let st = served(&path).await;
            let what = path.display().to_string();
            let (status, headers, body) = get(&st, &format!("/tiles/1724/{z}/{x}/{y}.png"), None).await;
            assert_eq!(status, StatusCode::OK, "{what}");
            assert_eq!(headers["content-type"], "image/png");
            assert_eq!(body, want(z, x, y), "{what}: the tile as written");
            assert_eq!(png_size(&body), (256, 256));
            let etag = headers["etag"].to_str().unwrap().to_string();
            let (status, _, _) = get(&st, &format!("/tiles/1724/{z}/{x}/{y}.png"), Some(&etag)).await;
            assert_eq!(status, StatusCode::NOT_MODIFIED, "{what}");
            // Not in the archive: a zoom beyond it, @2x never exported.
            for uri in ["/tiles/1724/2/1/1.png", "/tiles/1724/1/1/0@2x.png"] {
                assert_eq!(get(&st, uri, None).await.0, StatusCode::NOT_FOUND, "{what} {uri}");
            }
            let (status, _, body) = get(&st, "/tiles/1724.json", None).await;
            assert_eq!(status, StatusCode::OK, "{what}");
            let tj: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!((tj["minzoom"].as_u64(), tj["maxzoom"].as_u64()), (Some(0), Some(1)), "{what}");
            assert!(tj["tiles"][0].as_str().unwrap().starts_with("http://"), "{what}");
        }
        // A folder of years: a year it does not hold is a 404, tile and TileJSON alike.
        let st = served(&tmp.path().join("pmtiles")).await;
        assert_eq!(get(&st, "/tiles/1700/0/0/0.png", None).await.0, StatusCode::NOT_FOUND);
        assert_eq!(get(&st, "/tiles/1700.json", None).await.0, StatusCode::NOT_FOUND);
        // 1723 and 1724 differ in the mini atlas (different map states).
        let (_, _, a) = get(&st, "/tiles/1723/0/0/0.png", None).await;
        assert_eq!(a, std::fs::read(xyz.join("1723/0/0/0.png")).unwrap());
        // /api/meta gives the export's years.
        let (_, _, body) = get(&st, "/api/meta", None).await;
        let meta: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!((meta["from"].as_i64(), meta["to"].as_i64()), (Some(1723), Some(1724)));
        assert_eq!(meta["tiles"]["source"], "archive");
        assert_eq!(meta["tiles"]["maxzoom"], 1);
        assert_eq!(meta["tiles"]["pmtiles"][0], "http://localhost/pmtiles/1723.pmtiles");
        // Not an export at all: a clear error, no panic.
        let err = TileArchive::open(&mini_dir()).await.err().expect("not an export").to_string();
        assert!(err.contains("--tiles") && err.contains("no tiles found"), "{err}");
        let err = TileArchive::open(&mini_dir().join("atlas.json")).await.err().expect("not an archive").to_string();
        assert!(err.contains("atlas.json"), "{err}");
    }

    /// Raw `.pmtiles` with ranges: 206 with the right bytes and `Content-Range`, suffix
    /// ranges, 416 for a range past the end and for several ranges, 200 without a range.
    #[tokio::test]
    async fn raw_pmtiles_answer_range_requests() {
        let tmp = tempfile::tempdir().unwrap();
        export("pmtiles", &tmp.path().join("p"));
        let file = std::fs::read(tmp.path().join("p/1723.pmtiles")).unwrap();
        let len = file.len();
        let st = served(&tmp.path().join("p")).await;
        let uri = "/pmtiles/1723.pmtiles";
        // The header's first bytes: the magic and version 3.
        let (status, headers, body) = get_range(&st, uri, "bytes=0-7").await;
        assert_eq!(status, StatusCode::PARTIAL_CONTENT);
        assert_eq!(&body[..7], b"PMTiles");
        assert_eq!(body[7], 3);
        assert_eq!(headers["content-range"], format!("bytes 0-7/{len}").as_str());
        assert_eq!(headers["accept-ranges"], "bytes");
        assert_eq!(headers["access-control-allow-origin"], "*");
        // The root directory's place, read from the header as a client does.
        let u64_at = |i: usize| u64::from_le_bytes(file[i..i + 8].try_into().unwrap()) as usize;
        let (root_off, root_len) = (u64_at(8), u64_at(16));
        let (status, _, body) = get_range(&st, uri, &format!("bytes={root_off}-{}", root_off + root_len - 1)).await;
        assert_eq!(status, StatusCode::PARTIAL_CONTENT);
        assert_eq!(body, file[root_off..root_off + root_len]);
        let (status, _, body) = get_range(&st, uri, "bytes=-10").await;
        assert_eq!((status, body.as_slice()), (StatusCode::PARTIAL_CONTENT, &file[len - 10..]));
        for bad in [format!("bytes={len}-"), format!("bytes={}-{}", len + 5, len + 9), "bytes=0-1,4-5".into()] {
            let (status, headers, _) = get_range(&st, uri, &bad).await;
            assert_eq!(status, StatusCode::RANGE_NOT_SATISFIABLE, "{bad}");
            assert_eq!(headers["content-range"], format!("bytes */{len}").as_str(), "{bad}");
        }
        let (status, headers, body) = get(&st, uri, None).await;
        assert_eq!((status, body.len()), (StatusCode::OK, len));
        assert_eq!(headers["accept-ranges"], "bytes");
        // Only files of the export: rendered servers and other names are 404s.
        assert_eq!(get(&st, "/pmtiles/1799.pmtiles", None).await.0, StatusCode::NOT_FOUND);
        assert_eq!(get(&mini(), uri, None).await.0, StatusCode::NOT_FOUND);
    }

    /// Nothing outside PATH is read: encoded `..`, odd names, and a link out of an XYZ
    /// folder get 400/404.
    #[tokio::test]
    async fn no_request_reads_outside_the_export() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("xyz");
        export("xyz", &root);
        export("pmtiles", &root);
        std::fs::write(tmp.path().join("secret.png"), b"\x89PNG\r\n\x1a\nsecret").unwrap();
        std::fs::remove_file(root.join("1723/0/0/0.png")).unwrap();
        std::os::unix::fs::symlink(tmp.path().join("secret.png"), root.join("1723/0/0/0.png")).unwrap();
        let st = served(&root).await;
        for uri in [
            "/tiles/1723/0/0/0.png",
            "/pmtiles/..%2Fsecret.png",
            "/pmtiles/..%2F..%2F..%2Fetc%2Fpasswd",
            "/pmtiles/1723.json",
            "/pmtiles/%2Fetc%2Fpasswd",
            "/tiles/1723/0/0/..%2F..%2F..%2Fsecret.png",
            "/tiles/1723/0/..%2F0/0.png",
            "/tiles/..%2Fsecret/0/0/0.png",
            "/../secret.png",
            "/assets/..%2F..%2FCargo.toml",
        ] {
            let (status, _, body) = get(&st, uri, None).await;
            assert!(status == StatusCode::NOT_FOUND || status == StatusCode::BAD_REQUEST, "{uri}: {status}");
            assert!(!body.windows(14).any(|w| w == b"PNG\r\n\x1a\nsecret"), "{uri}");
        }
        // The files of the export are still there.
        assert_eq!(get(&st, "/tiles/1724/0/0/0.png", None).await.0, StatusCode::OK);
        assert_eq!(get(&st, "/pmtiles/1724.pmtiles", None).await.0, StatusCode::OK);
    }

    /// `/api/meta` follows the data: period, view, languages, polity names and colours,
    /// credit — for the built-in atlas, the test atlas and the Italian example.
    #[tokio::test]
    async fn api_meta_follows_the_data() {
        let (status, headers, body) = get(&mini(), "/api/meta", None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers["content-type"], "application/json");
        let m: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!((m["from"].as_i64(), m["to"].as_i64()), (Some(1700), Some(1750)));
        assert_eq!(m["bbox"], serde_json::json!([60.0, 39.0, 82.0, 51.0]));
        assert_eq!(m["credit"], "steppe-atlas test data");
        assert_eq!(m["tiles"]["source"], "rendered");
        // As `serve --data` loads it: the style adopts the polities the data names.
        let atlas = Atlas::load(
            &Source::Dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/italy-1859-1871")),
            EndDates::Inclusive,
        )
        .unwrap();
        let mut style = Style::load("atlas").unwrap();
        style.adopt_polities(&steppe_atlas::validate::polities_named(&atlas.data));
        let italy = Arc::new(ServerState::new(atlas, style, Style::load("print").unwrap(), "en", 1 << 20));
        let (_, _, body) = get(&italy, "/api/meta", None).await;
        let m: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!((m["from"].as_i64(), m["to"].as_i64()), (Some(1858), Some(1871)));
        assert!(m["languages"].as_array().unwrap().contains(&"it".into()));
        assert_eq!(m["titles"]["it"], "L'Unità d'Italia");
        let sardinia = m["polities"].as_array().unwrap().iter().find(|p| p["id"] == "sardinia").expect("sardinia");
        assert_eq!(sardinia["dated_names"][0]["names"]["it"], "Regno di Sardegna");
        assert_eq!(sardinia["to"], 1861);
        let colour = sardinia["fill"].as_str().unwrap();
        assert!(colour.len() == 7 && colour.starts_with('#'), "{colour}");
        // The built-in atlas: Kazakh and Russian names, the Dzungars among the polities.
        let built_in = state(Source::Embedded);
        let (_, _, body) = get(&built_in, "/api/meta", None).await;
        let m: serde_json::Value = serde_json::from_slice(&body).unwrap();
        for l in ["en", "kk", "ru"] {
            assert!(m["languages"].as_array().unwrap().contains(&l.into()), "{l}");
        }
        let dz = m["polities"].as_array().unwrap().iter().find(|p| p["id"] == "dzungar").expect("dzungar");
        assert_eq!(dz["names"]["en"], "Dzungar Khanate");
        assert_eq!(dz["names"]["kk"], "Жоңғар хандығы");
        // Popups and the timeline speak the asked language.
        let (_, _, body) =
            get(&built_in, "/api/features?year=1723&lon=68.27&lat=43.297&radius_km=3&lang=kk", None).await;
        let q: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert!(q["features"].as_array().unwrap().iter().any(|f| f["name"] == "Түркістан"));
        let (_, _, en) = get(&built_in, "/api/timeline", None).await;
        let (_, _, kk) = get(&built_in, "/api/timeline?lang=kk", None).await;
        assert_ne!(en, kk);
        let kk: serde_json::Value = serde_json::from_slice(&kk).unwrap();
        assert_eq!(kk["title"], m["titles"]["kk"]);
    }
}

/// What the server draws on demand is what `tiles` exports: the same tiles, byte for byte
/// (one layout per metatile, each tile drawn on its own from it, in both).
#[tokio::test]
async fn served_tiles_equal_exported_tiles_byte_for_byte() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/mini");
    let tmp = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_steppe-atlas"))
        .args(["tiles", "--years", "1723", "--zoom", "4..6", "--data"])
        .arg(&data)
        .arg("--out")
        .arg(tmp.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let st = mini();
    let mut compared = 0;
    for z in 4..=6 {
        let zdir = tmp.path().join("1723").join(z.to_string());
        for x in std::fs::read_dir(&zdir).unwrap() {
            let x = x.unwrap().path();
            for y in std::fs::read_dir(&x).unwrap() {
                let y = y.unwrap().path();
                let uri = format!(
                    "/tiles/1723/{z}/{}/{}",
                    x.file_name().unwrap().to_str().unwrap(),
                    y.file_name().unwrap().to_str().unwrap()
                );
                let (status, _, body) = get(&st, &uri, None).await;
                assert_eq!(status, StatusCode::OK, "{uri}");
                assert!(body == std::fs::read(&y).unwrap(), "{uri} differs between serve and tiles");
                compared += 1;
            }
        }
    }
    assert!(compared >= 4, "only {compared} tiles compared");
}
