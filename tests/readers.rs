//! Every raster file we write, read back by an independent reader: `pngcheck` (PNG, APNG
//! and palette tiles, chunk by chunk with CRCs), the `sqlite3` shell (MBTiles 1.3 schema,
//! metadata and TMS rows against the XYZ file of the same tile), Python's `pmtiles`
//! reader (header and every tile against the XYZ run's bytes), Pillow (GIF frames,
//! delays and loop) and `xmllint` (SVG). A missing tool skips its check with a message
//! (CI installs them all and fails instead).

use assert_cmd::Command;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn bin() -> Command {
    Command::cargo_bin("steppe-atlas").expect("binary built")
}

fn tool(name: &str, probe: &[&str]) -> bool {
    let ok = std::process::Command::new(name).args(probe).output().is_ok_and(|o| o.status.success());
    if !ok {
        assert!(std::env::var_os("CI").is_none(), "CI must install {name}");
        eprintln!("skipped the {name} check: {name} is not installed");
    }
    ok
}

fn run(args: &[&str], out: &Path) {
    bin().args(args).arg("--out").arg(out).assert().success();
}

/// Every `{z}/{x}/{y}.png` of an XYZ year folder, by (z, x, y).
fn xyz_tiles(year_dir: &Path) -> BTreeMap<(u32, u32, u32), Vec<u8>> {
    let mut tiles = BTreeMap::new();
    for z in std::fs::read_dir(year_dir).expect("year folder").flatten() {
        let Ok(zi) = z.file_name().to_string_lossy().parse::<u32>() else { continue };
        for x in std::fs::read_dir(z.path()).expect("z folder").flatten() {
            let xi: u32 = x.file_name().to_string_lossy().parse().expect("x folder");
            for y in std::fs::read_dir(x.path()).expect("x folder").flatten() {
                let name = y.file_name().to_string_lossy().into_owned();
                let yi: u32 = name.strip_suffix(".png").expect("a .png tile").parse().expect("y");
                tiles.insert((zi, xi, yi), std::fs::read(y.path()).expect("tile"));
            }
        }
    }
    tiles
}

/// One run of each kind, zoom 0..3, for year 1723.
struct Runs {
    _tmp: tempfile::TempDir,
    xyz: PathBuf,
    mbtiles: PathBuf,
    pmtiles: PathBuf,
}

fn tile_runs() -> Runs {
    let tmp = tempfile::tempdir().expect("temp dir");
    let job = ["tiles", "--years", "1723", "--zoom", "0..3"];
    run(&job, &tmp.path().join("x"));
    run(&[&job[..], &["--format", "mbtiles"]].concat(), &tmp.path().join("m"));
    run(&[&job[..], &["--format", "pmtiles"]].concat(), &tmp.path().join("p"));
    Runs {
        xyz: tmp.path().join("x/1723"),
        mbtiles: tmp.path().join("m/1723.mbtiles"),
        pmtiles: tmp.path().join("p/1723.pmtiles"),
        _tmp: tmp,
    }
}

#[test]
fn pngcheck_accepts_frames_apng_and_every_tile() {
    if !tool("pngcheck", &["-h"]) && !tool_exists("pngcheck") {
        return;
    }
    let tmp = tempfile::tempdir().expect("temp dir");
    let f = tmp.path().join("f");
    bin()
        .args(["frames", "--from", "1723", "--to", "1725", "--width", "200", "--out"])
        .arg(&f)
        .arg("--gif")
        .arg(tmp.path().join("a.gif"))
        .arg("--apng")
        .arg(tmp.path().join("a.png"))
        .assert()
        .success();
    let print = tmp.path().join("print.png");
    run(&["render", "--year", "1723", "--size-mm", "100,70", "--dpi", "150"], &print);
    let runs = tile_runs();
    let mut files = vec![tmp.path().join("a.png"), f.join("1723.png"), f.join("1725.png"), print.clone()];
    for (z, x, y) in xyz_tiles(&runs.xyz).keys() {
        files.push(runs.xyz.join(format!("{z}/{x}/{y}.png")));
    }
    let out = std::process::Command::new("pngcheck").arg("-q").args(&files).output().expect("pngcheck");
    assert!(
        out.status.success(),
        "pngcheck: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // The APNG's animation chunks, and the print's 300 dpi… here 150 dpi, in pHYs.
    let v = std::process::Command::new("pngcheck").arg("-v").arg(tmp.path().join("a.png")).output().expect("pngcheck");
    let text = String::from_utf8_lossy(&v.stdout);
    assert!(text.contains("acTL") && text.contains("fcTL") && text.contains("fdAT"), "APNG chunks:\n{text}");
    assert!(
        text.contains("3 frames") || text.contains("num_frames = 3") || text.matches("fcTL").count() == 3,
        "{text}"
    );
    let v = std::process::Command::new("pngcheck").arg("-v").arg(&print).output().expect("pngcheck");
    let text = String::from_utf8_lossy(&v.stdout);
    assert!(text.contains("5906 pixels/meter") || text.contains("150 dpi"), "pHYs of a 150 dpi print:\n{text}");
}

fn tool_exists(name: &str) -> bool {
    std::process::Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn sqlite(db: &Path, sql: &str) -> String {
    let out = std::process::Command::new("sqlite3")
        .arg("-readonly")
        .arg("-separator")
        .arg("|")
        .arg(db)
        .arg(sql)
        .output()
        .expect("sqlite3");
    assert!(out.status.success(), "sqlite3 {sql}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8")
}

#[test]
fn the_sqlite3_shell_reads_mbtiles_1_3_with_tms_rows() {
    if !tool("sqlite3", &["-version"]) {
        return;
    }
    let runs = tile_runs();
    let db = &runs.mbtiles;
    assert_eq!(sqlite(db, "PRAGMA integrity_check"), "ok\n");
    // The spec's two tables (tiles may be a view), with its column names.
    let cols = |t: &str| sqlite(db, &format!("SELECT name FROM pragma_table_info('{t}') ORDER BY cid"));
    assert_eq!(cols("metadata"), "name\nvalue\n");
    assert_eq!(cols("tiles"), "zoom_level\ntile_column\ntile_row\ntile_data\n");
    let meta: BTreeMap<String, String> = sqlite(db, "SELECT name, value FROM metadata")
        .lines()
        .filter_map(|l| l.split_once('|'))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    for key in ["name", "format", "bounds", "minzoom", "maxzoom"] {
        assert!(meta.contains_key(key), "metadata lacks {key}: {meta:?}");
    }
    assert_eq!(meta["format"], "png");
    assert_eq!((meta["minzoom"].as_str(), meta["maxzoom"].as_str()), ("0", "3"));
    let b: Vec<f64> = meta["bounds"].split(',').map(|v| v.trim().parse().expect("bounds number")).collect();
    assert!(b.len() == 4 && b[0] < b[2] && b[1] < b[3] && b[0] >= -180.0 && b[2] <= 180.0, "bounds {b:?}");
    // Every XYZ tile is in the archive at the TMS row (2^z − 1 − y), byte for byte.
    let xyz = xyz_tiles(&runs.xyz);
    let rows: BTreeMap<(u32, u32, u32), String> =
        sqlite(db, "SELECT zoom_level, tile_column, tile_row, hex(tile_data) FROM tiles")
            .lines()
            .map(|l| {
                let p: Vec<&str> = l.split('|').collect();
                ((p[0].parse().unwrap(), p[1].parse().unwrap(), p[2].parse().unwrap()), p[3].to_string())
            })
            .collect();
    assert_eq!(rows.len(), xyz.len(), "one row per tile");
    for ((z, x, y), bytes) in &xyz {
        let row = (1u32 << z) - 1 - y;
        let hex: String = bytes.iter().map(|b| format!("{b:02X}")).collect();
        assert_eq!(rows.get(&(*z, *x, row)), Some(&hex), "tile {z}/{x}/{y} at TMS row {row}");
    }
}

#[test]
fn the_python_pmtiles_reader_gets_every_xyz_tile() {
    let has = std::process::Command::new("python3")
        .args(["-c", "import pmtiles.reader"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has {
        assert!(std::env::var_os("CI").is_none(), "CI must install python3 with pmtiles");
        eprintln!("skipped the pmtiles check: python3 with pmtiles is not installed");
        return;
    }
    let runs = tile_runs();
    let script = r#"
import sys, json, hashlib
from pmtiles.reader import Reader, MmapSource, all_tiles
with open(sys.argv[1], "rb") as f:
    src = MmapSource(f)
    h = Reader(src).header()
    tiles = {f"{z}/{x}/{y}": hashlib.sha256(d).hexdigest() for (z, x, y), d in all_tiles(src)}
    out = {k: (v.name if hasattr(v, "name") else v) for k, v in h.items()}
    print(json.dumps({"header": out, "tiles": tiles}, default=str))
"#;
    let out = std::process::Command::new("python3").args(["-c", script]).arg(&runs.pmtiles).output().expect("python3");
    assert!(out.status.success(), "pmtiles reader: {}", String::from_utf8_lossy(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let h = &doc["header"];
    assert_eq!(h["min_zoom"], 0, "{h}");
    assert_eq!(h["max_zoom"], 3, "{h}");
    let tile_type = h["tile_type"].to_string().to_lowercase();
    assert!(tile_type.contains("png") || tile_type == "2", "tile_type {tile_type}");
    let (w, e) = (h["min_lon_e7"].as_i64().unwrap(), h["max_lon_e7"].as_i64().unwrap());
    let (s, n) = (h["min_lat_e7"].as_i64().unwrap(), h["max_lat_e7"].as_i64().unwrap());
    assert!(w < e && s < n && w >= -1_800_000_000 && e <= 1_800_000_000, "bounds {h}");
    let tiles = doc["tiles"].as_object().expect("tiles");
    let xyz = xyz_tiles(&runs.xyz);
    assert_eq!(tiles.len(), xyz.len(), "one entry per tile");
    for ((z, x, y), bytes) in &xyz {
        let got = tiles.get(&format!("{z}/{x}/{y}")).and_then(|v| v.as_str());
        assert_eq!(got, Some(sha256_hex(bytes).as_str()), "tile {z}/{x}/{y}");
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    let out = std::process::Command::new("python3")
        .args(["-c", "import sys, hashlib; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().expect("stdin").write_all(bytes)?;
            c.wait_with_output()
        })
        .expect("python3");
    String::from_utf8(out.stdout).expect("hex").trim().to_string()
}

#[test]
fn xmllint_accepts_the_svg_even_with_hostile_names() {
    if !tool_exists("xmllint") {
        assert!(std::env::var_os("CI").is_none(), "CI must install xmllint (libxml2-utils)");
        eprintln!("skipped the xmllint check: xmllint is not installed");
        return;
    }
    // A name with markup, quotes, controls, a NUL, bidi and non-characters.
    let tmp = tempfile::tempdir().expect("temp dir");
    let data = tmp.path().join("d");
    std::fs::create_dir(&data).expect("dir");
    let mini = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/mini");
    for e in std::fs::read_dir(&mini).expect("mini").flatten() {
        std::fs::copy(e.path(), data.join(e.file_name())).expect("copy");
    }
    let cities = data.join("cities.geojson");
    let mut doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&cities).expect("cities")).expect("json");
    let hostile = "<b>&amp;\"'\u{7}\u{0}\u{202e}Tur\u{301}k\u{fffe}\u{ffff}]]>";
    for f in doc["features"].as_array_mut().expect("features") {
        f["properties"]["name"] = serde_json::Value::from(hostile);
    }
    std::fs::write(&cities, serde_json::to_vec(&doc).expect("json")).expect("write");
    for args in [
        vec!["render", "--year", "1723", "--width", "300", "--format", "svg"],
        vec!["render", "--year", "1723", "--width", "300", "--format", "svg", "--embed-fonts"],
    ] {
        let svg = tmp.path().join("m.svg");
        bin().args(&args).arg("--data").arg(&data).arg("--out").arg(&svg).assert().success();
        let out = std::process::Command::new("xmllint").arg("--noout").arg(&svg).output().expect("xmllint");
        assert!(out.status.success(), "xmllint {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
}

#[test]
fn pillow_reads_the_gif_frames_delays_and_loop() {
    let has =
        std::process::Command::new("python3").args(["-c", "import PIL"]).output().is_ok_and(|o| o.status.success());
    if !has {
        assert!(std::env::var_os("CI").is_none(), "CI must install python3-pil");
        eprintln!("skipped the Pillow check: python3 with Pillow is not installed");
        return;
    }
    let tmp = tempfile::tempdir().expect("temp dir");
    bin()
        .args(["frames", "--from", "1723", "--to", "1726", "--width", "160", "--fps", "4", "--hold", "0", "--out"])
        .arg(tmp.path().join("f"))
        .arg("--gif")
        .arg(tmp.path().join("a.gif"))
        .arg("--apng")
        .arg(tmp.path().join("a.png"))
        .assert()
        .success();
    let script = r#"
import sys, json
from PIL import Image, ImageSequence
out = {}
for p in sys.argv[1:]:
    im = Image.open(p)
    ds = [f.info.get("duration") for f in ImageSequence.Iterator(im)]
    out[p] = {"format": im.format, "n": getattr(im, "n_frames", 1), "size": im.size, "loop": im.info.get("loop"), "durations": ds}
print(json.dumps(out))
"#;
    let gif = tmp.path().join("a.gif");
    let apng = tmp.path().join("a.png");
    let out =
        std::process::Command::new("python3").args(["-c", script]).arg(&gif).arg(&apng).output().expect("python3");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let g = &doc[gif.to_str().unwrap()];
    let a = &doc[apng.to_str().unwrap()];
    assert_eq!(g["format"], "GIF");
    assert_eq!(a["format"], "PNG");
    assert_eq!(g["n"], 4, "{g}");
    assert_eq!(a["n"], 4, "{a}");
    assert_eq!(g["size"], a["size"]);
    assert_eq!(g["loop"], 0, "the GIF loops forever: {g}");
    // 4 fps: 250 ms a frame, in whole centiseconds in the GIF.
    for d in g["durations"].as_array().unwrap().iter().chain(a["durations"].as_array().unwrap()) {
        let ms = d.as_f64().unwrap();
        assert!((ms - 250.0).abs() < 1.0, "frame delay {ms} ms at 4 fps: {g} {a}");
    }
}
