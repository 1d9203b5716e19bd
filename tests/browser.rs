//! The viewer in a real browser: `steppe-atlas serve` on a free loopback port, driven by
//! `node tests/js/viewer.mjs` (playwright-core with Debian's chromium). It checks the URL
//! state (`/?year=1723&lang=kk#map=5/45.00/70.00`), the keyboard, tile loading, a popup
//! with names, and CORS from a page on another origin.
//!
//! Skipped with a message when node, chromium or `tests/js/node_modules` are missing;
//! `.ci/run` installs them and sets `STEPPE_BROWSER_REQUIRED=1`, which turns a skip
//! into a failure.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

fn found(cmd: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {cmd}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn chromium() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

/// Why the browser test cannot run here, if it cannot.
fn missing(js: &Path) -> Option<String> {
    if !found("node") {
        return Some("node is not installed".into());
    }
    if chromium().is_none() {
        return Some("chromium is not installed (apt-get install chromium)".into());
    }
    if !js.join("node_modules/playwright-core").exists() {
        return Some(format!("playwright-core is not installed (npm ci in {})", js.display()));
    }
    None
}

/// A server child that is killed when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        self.0.kill().ok();
        self.0.wait().ok();
    }
}

/// Start `steppe-atlas serve ARGS` on a free port; returns it and its base URL.
fn start(args: &[&str]) -> (Server, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_steppe-atlas"))
        .args(["serve", "--addr", "127.0.0.1:0"])
        .args(args)
        .stderr(Stdio::piped())
        .spawn()
        .expect("steppe-atlas runs");
    let mut err = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    let server = Server(child);
    loop {
        line.clear();
        assert!(err.read_line(&mut line).unwrap() > 0, "serve stopped before listening");
        if let Some(addr) = line.trim().split("serving on ").nth(1) {
            // Keep draining stderr so the server never blocks on a full pipe.
            std::thread::spawn(move || for _ in err.lines() {});
            return (server, addr.trim_end_matches('/').to_string());
        }
    }
}

#[test]
fn the_viewer_follows_the_url_keyboard_and_data_in_chromium() {
    let js = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/js");
    if let Some(why) = missing(&js) {
        assert!(std::env::var_os("STEPPE_BROWSER_REQUIRED").is_none(), "browser test required but {why}");
        eprintln!("SKIPPED the browser test: {why}");
        return;
    }
    let (_server, base) = start(&[]);
    let shot = std::env::temp_dir().join(format!("steppe-atlas-viewer-{}.png", std::process::id()));
    let out = Command::new("node").arg(js.join("viewer.mjs")).arg(&base).arg(&shot).output().expect("node runs");
    let text = format!("{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "viewer checks failed:\n{text}");
    assert!(text.contains("all viewer checks passed"), "{text}");
    let png = std::fs::read(&shot).expect("a screenshot");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
    std::fs::remove_file(&shot).ok();
}

/// With other data (the Italian example) and with `--tiles` (a PMTiles export of the test
/// atlas), the viewer opened bare takes its period, start year, view and zooms from
/// `/api/meta` and loads every tile it asks for.
#[test]
fn the_viewer_follows_other_data_and_an_export_in_chromium() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let js = root.join("tests/js");
    if let Some(why) = missing(&js) {
        assert!(std::env::var_os("STEPPE_BROWSER_REQUIRED").is_none(), "browser test required but {why}");
        eprintln!("SKIPPED the browser test: {why}");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let mini = root.join("tests/data/mini");
    let made = Command::new(env!("CARGO_BIN_EXE_steppe-atlas"))
        .args(["tiles", "--years", "1723..1725", "--zoom", "0..3", "--format", "pmtiles", "--out"])
        .arg(tmp.path())
        .arg("--data")
        .arg(&mini)
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let italy = root.join("examples/italy-1859-1871");
    let runs: [Vec<&std::ffi::OsStr>; 3] = [
        vec!["--data".as_ref(), italy.as_os_str()],
        vec!["--data".as_ref(), mini.as_os_str(), "--tiles".as_ref(), tmp.path().as_os_str()],
        // `serve --image webp`: chromium decodes every WebP tile the viewer asks for.
        vec!["--data".as_ref(), mini.as_os_str(), "--image".as_ref(), "webp".as_ref()],
    ];
    for args in runs {
        let args: Vec<&str> = args.iter().map(|a| a.to_str().unwrap()).collect();
        let (_server, base) = start(&args);
        let out =
            Command::new("node").arg(js.join("viewer.mjs")).arg(&base).arg("--follow").output().expect("node runs");
        let text = format!("{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success() && text.contains("all viewer checks passed"), "serve {args:?}:\n{text}");
    }
}

/// A web developer's own MapLibre page on another origin: it loads the server's raster
/// TileJSON and the generated vector style, and both maps draw (CORS on every resource
/// MapLibre fetches: TileJSON, tiles, style, sprite, glyphs).
#[test]
fn a_maplibre_page_on_another_origin_loads_raster_and_vector_in_chromium() {
    let js = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/js");
    if let Some(why) = missing(&js) {
        assert!(std::env::var_os("STEPPE_BROWSER_REQUIRED").is_none(), "browser test required but {why}");
        eprintln!("SKIPPED the browser test: {why}");
        return;
    }
    let (_server, base) = start(&[]);
    let out = Command::new("node").arg(js.join("maplibre-cross-origin.mjs")).arg(&base).output().expect("node runs");
    let text = format!("{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && text.contains("all cross-origin checks passed"), "{text}");
}
