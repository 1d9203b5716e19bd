//! Tiles end to end: the pyramid follows the standard XYZ grid, a known town lands on its
//! pixel, MBTiles reads back through SQLite with TMS rows, the PMTiles header is right,
//! shards partition the work and identical years share their tiles.

use assert_cmd::Command;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use steppe_atlas::project::LonLatBox;
use steppe_atlas::style::Style;
use steppe_atlas::tiles::grid::{tiles_in, TileId};

fn mini() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/mini")
}

fn tiles_output(args: &[&str]) -> std::process::Output {
    Command::cargo_bin("steppe-atlas").unwrap().arg("tiles").arg("--data").arg(mini()).args(args).output().unwrap()
}

fn tiles(args: &[&str]) {
    let out = tiles_output(args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// The mini atlas's extent (all geometries): 60–80.23E, 40–50.41N.
fn extent() -> LonLatBox {
    LonLatBox { west: 60.0, south: 40.0, east: 80.23, north: 50.41 }
}

fn listed(dir: &Path, suffix: &str) -> BTreeSet<(u8, u32, u32)> {
    let mut out = BTreeSet::new();
    for z in std::fs::read_dir(dir).unwrap() {
        let z = z.unwrap();
        for x in std::fs::read_dir(z.path()).unwrap() {
            let x = x.unwrap();
            for y in std::fs::read_dir(x.path()).unwrap() {
                let name = y.unwrap().file_name().into_string().unwrap();
                let y: u32 = name.strip_suffix(&format!("{suffix}.png")).unwrap().parse().unwrap();
                out.insert((
                    z.file_name().to_str().unwrap().parse().unwrap(),
                    x.file_name().to_str().unwrap().parse().unwrap(),
                    y,
                ));
            }
        }
    }
    out
}

/// Decode a tile (palette or truecolour; tiles are opaque) to RGB.
fn decode(path: &Path) -> (u32, u32, Vec<u8>) {
    let mut d = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    d.set_transformations(png::Transformations::EXPAND);
    let mut r = d.read_info().unwrap();
    let mut buf = vec![0; r.output_buffer_size().unwrap()];
    let info = r.next_frame(&mut buf).unwrap();
    let buf = &buf[..info.buffer_size()];
    let rgb = match info.color_type {
        png::ColorType::Rgb => buf.to_vec(),
        png::ColorType::Rgba => {
            assert!(buf.chunks_exact(4).all(|p| p[3] == 255), "tiles are opaque");
            buf.chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).collect()
        }
        other => panic!("unexpected colour type {other:?}"),
    };
    (info.width, info.height, rgb)
}

#[test]
fn xyz_pyramid_follows_the_grid_and_places_turkistan_on_its_pixel() {
    let tmp = tempfile::tempdir().unwrap();
    tiles(&["--years", "1722", "--zoom", "0..6", "--out", tmp.path().to_str().unwrap()]);
    let want: BTreeSet<(u8, u32, u32)> =
        (0..=6).flat_map(|z| tiles_in(&extent(), z)).map(|t| (t.z, t.x, t.y)).collect();
    assert_eq!(listed(&tmp.path().join("1722"), ""), want);

    // Turkistan (68.27E, 43.30N) at zoom 6: its global pixel from the standard formulas.
    let z = 6;
    let world = 256.0 * f64::from(1u32 << z);
    let gx = (68.27 + 180.0) / 360.0 * world;
    let s = 43.30f64.to_radians().sin();
    let gy = (0.5 - 0.25 * ((1.0 + s) / (1.0 - s)).ln() / std::f64::consts::PI) * world;
    let (tx, ty) = ((gx / 256.0) as u32, (gy / 256.0) as u32);
    let (w, h, rgb) = decode(&tmp.path().join(format!("1722/{z}/{tx}/{ty}.png")));
    assert_eq!((w, h), (256, 256));
    // The capital's marker is a disc in the holder's colour with a white dot: the pixel
    // 2 px right of the centre lies on the disc, the centre on the dot.
    let style = Style::load("atlas").unwrap();
    let senior = style.polity("kazakh_senior").unwrap().border;
    let at = |dx: f64| {
        let (px, py) = ((gx - f64::from(tx) * 256.0 + dx) as usize, (gy - f64::from(ty) * 256.0) as usize);
        let i = (py * 256 + px) * 3;
        [rgb[i], rgb[i + 1], rgb[i + 2]]
    };
    let c = at(2.4);
    let close = |a: u8, b: u8| (i32::from(a) - i32::from(b)).abs() <= 16;
    assert!(close(c[0], senior.0) && close(c[1], senior.1) && close(c[2], senior.2), "marker colour {c:?}");
    assert_eq!(at(0.0), [255, 255, 255], "the capital's dot");

    // TileJSON 3.0.0 beside the pyramid.
    let tj: serde_json::Value = serde_json::from_slice(&std::fs::read(tmp.path().join("1722.json")).unwrap()).unwrap();
    assert_eq!(tj["tilejson"], "3.0.0");
    assert_eq!(tj["tiles"][0], "1722/{z}/{x}/{y}.png");
    assert_eq!((tj["minzoom"].as_u64(), tj["maxzoom"].as_u64()), (Some(0), Some(6)));
}

#[test]
fn mbtiles_reads_back_with_tms_rows_and_stores_identical_tiles_once() {
    let tmp = tempfile::tempdir().unwrap();
    tiles(&["--years", "1723", "--zoom", "0..7", "--format", "mbtiles", "--out", tmp.path().to_str().unwrap()]);
    let db = rusqlite::Connection::open(tmp.path().join("1723.mbtiles")).unwrap();
    let meta =
        |k: &str| -> String { db.query_row("SELECT value FROM metadata WHERE name = ?1", [k], |r| r.get(0)).unwrap() };
    assert_eq!(meta("format"), "png");
    assert_eq!((meta("minzoom"), meta("maxzoom")), ("0".to_string(), "7".to_string()));
    let n: i64 = db.query_row("SELECT COUNT(*) FROM tiles", [], |r| r.get(0)).unwrap();
    let expected: usize = (0..=7).map(|z| tiles_in(&extent(), z).len()).sum();
    assert_eq!(n as usize, expected);
    let images: i64 = db.query_row("SELECT COUNT(*) FROM images", [], |r| r.get(0)).unwrap();
    assert!(images < n, "identical tiles (plain land) stored once: {images} images for {n} tiles");
    // Turkistan's tile at z7 is XYZ (88, 46): TMS row 127 - 46 = 81.
    let t = TileId::new(7, 88, 46).unwrap();
    let blob: Vec<u8> = db
        .query_row(
            "SELECT tile_data FROM tiles WHERE zoom_level = 7 AND tile_column = 88 AND tile_row = ?1",
            [t.tms_row()],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(&blob[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(t.tms_row(), 81);
}

#[test]
fn pmtiles_header_describes_the_archive() {
    let tmp = tempfile::tempdir().unwrap();
    tiles(&["--years", "1723", "--zoom", "2..6", "--format", "pmtiles", "--out", tmp.path().to_str().unwrap()]);
    let bytes = std::fs::read(tmp.path().join("1723.pmtiles")).unwrap();
    assert_eq!(&bytes[..7], b"PMTiles");
    assert_eq!(bytes[7], 3, "version 3");
    let u64_at = |o: usize| u64::from_le_bytes(bytes[o..o + 8].try_into().unwrap());
    let i32_at = |o: usize| i32::from_le_bytes(bytes[o..o + 4].try_into().unwrap());
    let expected: usize = (2..=6).map(|z| tiles_in(&extent(), z).len()).sum();
    assert_eq!(u64_at(72) as usize, expected, "addressed tiles");
    assert!(u64_at(88) < u64_at(72), "tile contents deduplicated");
    assert_eq!(bytes[99], 2, "tile type PNG");
    assert_eq!((bytes[100], bytes[101]), (2, 6), "zooms");
    assert_eq!(i32_at(102), 600_000_000, "min lon E7");
    let tile_data = (u64_at(56), u64_at(64));
    assert!(tile_data.0 + tile_data.1 <= bytes.len() as u64);
}

#[test]
fn shards_partition_the_pyramid_and_2x_tiles_are_512px() {
    let tmp = tempfile::tempdir().unwrap();
    let mut union = BTreeSet::new();
    let mut total = 0;
    for i in 0..3 {
        let out = tmp.path().join(format!("s{i}"));
        tiles(&["--years", "1700", "--zoom", "0..7", "--shard", &format!("{i}/3"), "--out", out.to_str().unwrap()]);
        let got = listed(&out.join("1700"), "");
        total += got.len();
        union.extend(got);
    }
    let want: BTreeSet<(u8, u32, u32)> =
        (0..=7).flat_map(|z| tiles_in(&extent(), z)).map(|t| (t.z, t.x, t.y)).collect();
    assert_eq!(union, want);
    assert_eq!(total, want.len(), "no tile in two shards");

    let out = tmp.path().join("hi");
    tiles(&["--years", "1700", "--zoom", "3", "--scale", "2", "--out", out.to_str().unwrap()]);
    let got = listed(&out.join("1700"), "@2x");
    assert!(!got.is_empty());
    let (z, x, y) = *got.iter().next().unwrap();
    let (w, h, _) = decode(&out.join(format!("1700/{z}/{x}/{y}@2x.png")));
    assert_eq!((w, h), (512, 512));
}

#[cfg(unix)]
#[test]
fn years_with_the_same_map_share_their_tile_files() {
    use std::os::unix::fs::MetadataExt;
    let tmp = tempfile::tempdir().unwrap();
    tiles(&["--years", "1710..1712", "--zoom", "0..3", "--out", tmp.path().to_str().unwrap()]);
    let ino = |y: i32| std::fs::metadata(tmp.path().join(format!("{y}/3/5/2.png"))).unwrap().ino();
    assert_eq!(ino(1710), ino(1712), "quiet years are hard links of one file");
}

#[test]
fn bad_tile_arguments_fail_cleanly() {
    for args in [["--zoom", "0..25"], ["--shard", "3/3"], ["--scale", "3"], ["--years", "1741..1635"]] {
        let out = Command::cargo_bin("steppe-atlas")
            .unwrap()
            .arg("tiles")
            .arg("--data")
            .arg(mini())
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
    }
}

#[test]
fn base_url_makes_exported_tilejson_urls_absolute() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tiles_output(&[
        "--years",
        "1722",
        "--zoom",
        "0..0",
        "--base-url",
        "https://maps.example/atlas/",
        "--out",
        tmp.path().to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let tj: serde_json::Value = serde_json::from_slice(&std::fs::read(tmp.path().join("1722.json")).unwrap()).unwrap();
    assert_eq!(tj["tiles"][0], "https://maps.example/atlas/1722/{z}/{x}/{y}.png");
    // Not a URL: refused, nothing written.
    let bad = tempfile::tempdir().unwrap();
    let out = tiles_output(&[
        "--years",
        "1722",
        "--zoom",
        "0..0",
        "--base-url",
        "ftp://x y",
        "--out",
        bad.path().to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("expected an http:// or https:// URL"));
    assert!(std::fs::read_dir(bad.path()).unwrap().next().is_none());
}
