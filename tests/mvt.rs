//! `tiles --format mvt` end to end on the built-in atlas: the archive reads back (MBTiles
//! through SQLite with TMS rows, PMTiles through an independent Python reader), tiles
//! decode with another crate than the one that wrote them (`mvt-reader`), a known town
//! lands where the standard XYZ formulas put it, and filtering `territories` and `cities`
//! by a year's decimal date at Turkistan gives the holder `query` reports. The generated
//! style passes MapLibre's own validator.

use assert_cmd::Command;
use geo::Contains;
use mvt_reader::feature::Value;
use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

const TURKISTAN: (f64, f64) = (68.27, 43.30);
const YEARS: [i32; 3] = [1700, 1723, 1741];
const MAX_ZOOM: u8 = 4;

fn bin() -> Command {
    Command::cargo_bin("steppe-atlas").unwrap()
}

/// One export of each archive kind, shared by the tests of this binary.
fn exports() -> &'static (PathBuf, PathBuf) {
    static DIRS: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    DIRS.get_or_init(|| {
        let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("mvt-tests");
        let _ = std::fs::remove_dir_all(&root);
        let (pm, mb) = (root.join("pmtiles"), root.join("mbtiles"));
        for (dir, archive) in [(&pm, "pmtiles"), (&mb, "mbtiles")] {
            let out = bin()
                .args(["tiles", "--format", "mvt", "--years", "1635..1771", "--zoom", &format!("0..{MAX_ZOOM}")])
                .args(["--archive", archive, "--out"])
                .arg(dir)
                .output()
                .unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        }
        (pm, mb)
    })
}

/// Every tile of the MBTiles export, keyed by XYZ (rows converted from TMS), gunzipped.
/// Tiles by (z, x, y) and the metadata table.
type Mbtiles = (BTreeMap<(u8, u32, u32), Vec<u8>>, HashMap<String, String>);

fn mbtiles() -> Mbtiles {
    let db = rusqlite::Connection::open(exports().1.join("atlas.mbtiles")).unwrap();
    let meta: HashMap<String, String> = db
        .prepare("SELECT name, value FROM metadata")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut tiles = BTreeMap::new();
    let mut q = db.prepare("SELECT zoom_level, tile_column, tile_row, tile_data FROM tiles").unwrap();
    let rows = q
        .query_map([], |r| Ok((r.get::<_, u8>(0)?, r.get::<_, u32>(1)?, r.get::<_, u32>(2)?, r.get::<_, Vec<u8>>(3)?)))
        .unwrap();
    for row in rows {
        let (z, x, row, gz) = row.unwrap();
        assert_eq!(&gz[..2], &[0x1f, 0x8b], "tile {z}/{x}/{row} is not gzip");
        let mut raw = Vec::new();
        flate2::read::GzDecoder::new(gz.as_slice()).read_to_end(&mut raw).unwrap();
        tiles.insert((z, x, (1u32 << z) - 1 - row), raw);
    }
    (tiles, meta)
}

/// The standard XYZ tile of a point and the point's position inside it (0..1).
fn xyz(lon: f64, lat: f64, z: u8) -> (u32, u32, f64, f64) {
    let n = f64::from(1u32 << z);
    let x = (lon + 180.0) / 360.0 * n;
    let lat = lat.to_radians();
    let y = (1.0 - (lat.tan() + 1.0 / lat.cos()).ln() / std::f64::consts::PI) / 2.0 * n;
    (x.floor() as u32, y.floor() as u32, x.fract(), y.fract())
}

fn layer(r: &mvt_reader::Reader, name: &str) -> Option<(usize, u32)> {
    r.get_layer_metadata().unwrap().into_iter().find(|l| l.name == name).map(|l| (l.layer_index, l.extent))
}

fn text(p: &HashMap<String, Value>, k: &str) -> Option<String> {
    match p.get(k) {
        Some(Value::String(s)) => Some(s.clone()),
        _ => None,
    }
}

fn num(p: &HashMap<String, Value>, k: &str) -> Option<f64> {
    match p.get(k) {
        Some(Value::Double(v)) => Some(*v),
        Some(Value::Float(v)) => Some(f64::from(*v)),
        Some(Value::Int(v)) | Some(Value::SInt(v)) => Some(*v as f64),
        Some(Value::UInt(v)) => Some(*v as f64),
        _ => None,
    }
}

/// OpenHistoricalMap's filter: start_decdate <= Y + 0.5 < end_decdate (missing = open).
fn alive(p: &HashMap<String, Value>, year: i32) -> bool {
    let mid = f64::from(year) + 0.5;
    num(p, "start_decdate").is_none_or(|s| s <= mid) && num(p, "end_decdate").is_none_or(|e| mid < e)
}

fn query(year: i32) -> serde_json::Value {
    let out = bin()
        .args([
            "query",
            "--year",
            &year.to_string(),
            "--lon",
            &TURKISTAN.0.to_string(),
            "--lat",
            &TURKISTAN.1.to_string(),
        ])
        .args(["--radius-km", "5"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn from_query(q: &serde_json::Value, layer: &str, key: &str) -> Option<String> {
    q["features"].as_array()?.iter().find(|f| f["layer"] == layer).and_then(|f| f[key].as_str()).map(str::to_string)
}

#[test]
fn mbtiles_reads_back_with_tms_rows_and_vector_layers() {
    let (tiles, meta) = mbtiles();
    assert_eq!(meta["format"], "pbf");
    let json: serde_json::Value = serde_json::from_str(&meta["json"]).unwrap();
    let ids: Vec<&str> = json["vector_layers"].as_array().unwrap().iter().map(|l| l["id"].as_str().unwrap()).collect();
    for want in ["territories", "borders", "cities", "battles", "campaigns", "rivers", "water", "landforms"] {
        assert!(ids.contains(&want), "vector_layers lacks {want}: {ids:?}");
    }
    let terr = json["vector_layers"].as_array().unwrap().iter().find(|l| l["id"] == "territories").unwrap();
    for field in ["polity", "status", "overlord", "start_decdate", "end_decdate", "start_date", "end_date"] {
        assert!(terr["fields"].get(field).is_some(), "territories lacks the field {field}");
    }
    assert_eq!(terr["minzoom"], 0);
    assert_eq!(terr["maxzoom"], MAX_ZOOM);
    // z0 is the one world tile; every zoom is there.
    assert!(tiles.contains_key(&(0, 0, 0)));
    for z in 0..=MAX_ZOOM {
        assert!(tiles.keys().any(|k| k.0 == z), "no tile at zoom {z}");
    }
    for ((z, x, y), raw) in &tiles {
        let r = mvt_reader::Reader::new(raw.clone()).unwrap_or_else(|e| panic!("{z}/{x}/{y}: {e:?}"));
        for l in r.get_layer_metadata().unwrap() {
            assert_eq!(l.extent, 4096, "{z}/{x}/{y} {}", l.name);
            assert_eq!(l.version, 2);
        }
    }
}

#[test]
fn a_town_lies_where_the_xyz_formulas_put_it() {
    let (tiles, _) = mbtiles();
    for z in 0..=MAX_ZOOM {
        let (x, y, fx, fy) = xyz(TURKISTAN.0, TURKISTAN.1, z);
        let raw = tiles.get(&(z, x, y)).unwrap_or_else(|| panic!("no tile {z}/{x}/{y} for Turkistan"));
        let r = mvt_reader::Reader::new(raw.clone()).unwrap();
        let (li, extent) = layer(&r, "cities").expect("a cities layer");
        let town = r
            .get_features(li)
            .unwrap()
            .into_iter()
            .find(|f| f.properties.as_ref().and_then(|p| text(p, "id")).as_deref() == Some("turkistan"))
            .expect("Turkistan in its tile");
        let p = match town.geometry {
            geo::Geometry::Point(p) => p,
            geo::Geometry::MultiPoint(mp) if mp.0.len() == 1 => mp.0[0],
            g => panic!("Turkistan is not a point: {g:?}"),
        };
        // The data's Turkistan is within ~0.05° of the query point; a unit is 1/4096 of a tile.
        let e = f64::from(extent);
        let tol = 0.06 / (360.0 / f64::from(1u32 << z)) * e + 1.0;
        assert!((f64::from(p.x()) - fx * e).abs() <= tol, "z{z}: x {} vs {}", p.x(), fx * e);
        assert!((f64::from(p.y()) - fy * e).abs() <= tol * 1.5, "z{z}: y {} vs {}", p.y(), fy * e);
    }
}

#[test]
fn filtering_by_decimal_year_gives_the_holder_query_gives() {
    let (tiles, _) = mbtiles();
    let (x, y, fx, fy) = xyz(TURKISTAN.0, TURKISTAN.1, MAX_ZOOM);
    let raw = tiles.get(&(MAX_ZOOM, x, y)).expect("the tile of Turkistan");
    let r = mvt_reader::Reader::new(raw.clone()).unwrap();
    let (ti, extent) = layer(&r, "territories").expect("territories");
    let (ci, _) = layer(&r, "cities").expect("cities");
    let pt = geo::Point::new((fx * f64::from(extent)) as f32, (fy * f64::from(extent)) as f32);
    let territories = r.get_features(ti).unwrap();
    let cities = r.get_features(ci).unwrap();
    let mut holders = Vec::new();
    for year in YEARS {
        let here: Vec<_> = territories
            .iter()
            .filter(|f| alive(f.properties.as_ref().unwrap(), year) && f.geometry.contains(&pt))
            .collect();
        assert_eq!(here.len(), 1, "{year}: {} territories hold Turkistan", here.len());
        let p = here[0].properties.as_ref().unwrap();
        let q = query(year);
        assert_eq!(text(p, "polity"), from_query(&q, "territories", "polity"), "{year}: territory holder");
        assert_eq!(text(p, "status"), from_query(&q, "territories", "status"), "{year}: territory status");
        let town = cities
            .iter()
            .filter(|f| {
                let p = f.properties.as_ref().unwrap();
                text(p, "id").as_deref() == Some("turkistan") && alive(p, year)
            })
            .collect::<Vec<_>>();
        assert_eq!(town.len(), 1, "{year}: one dated Turkistan");
        let held = text(town[0].properties.as_ref().unwrap(), "controlled_by");
        assert_eq!(held, from_query(&q, "cities", "controlled_by"), "{year}: Turkistan's holder");
        holders.push(text(p, "polity").unwrap());
    }
    // The Dzungars held the Syr Darya towns in 1723, not in 1700.
    assert_eq!(holders[1], "dzungar");
    assert_ne!(holders[0], "dzungar");
}

#[test]
fn dated_versions_of_a_feature_never_overlap_and_borders_part_two_holders() {
    let (tiles, _) = mbtiles();
    let raw = tiles.get(&(0, 0, 0)).unwrap();
    let r = mvt_reader::Reader::new(raw.clone()).unwrap();
    for name in ["territories", "cities"] {
        let (li, _) = layer(&r, name).unwrap();
        let mut spans: HashMap<String, Vec<(f64, f64)>> = HashMap::new();
        for f in r.get_features(li).unwrap() {
            let p = f.properties.unwrap();
            let (s, e) = (num(&p, "start_decdate").unwrap(), num(&p, "end_decdate").unwrap());
            assert!(s < e, "{name}: {p:?}");
            assert_eq!(text(&p, "start_date").unwrap(), format!("{s:04}"));
            assert_eq!(
                text(&p, "end_date").unwrap(),
                format!("{:04}", e - 1.0),
                "end_date is the last year, inclusive"
            );
            spans.entry(text(&p, "id").unwrap()).or_default().push((s, e));
        }
        for (id, mut list) in spans {
            list.sort_by(|a, b| a.0.total_cmp(&b.0));
            for w in list.windows(2) {
                assert!(w[0].1 <= w[1].0, "{name} {id}: versions overlap {w:?}");
            }
        }
    }
    let (bi, _) = layer(&r, "borders").unwrap();
    let borders = r.get_features(bi).unwrap();
    assert!(!borders.is_empty());
    let mut dzungar_kazakh_1723 = false;
    for f in &borders {
        let p = f.properties.as_ref().unwrap();
        assert_ne!(text(p, "left"), text(p, "right"), "a border between one holder: {p:?}");
        assert!(matches!(f.geometry, geo::Geometry::LineString(_) | geo::Geometry::MultiLineString(_)));
        let sides = [text(p, "left").unwrap_or_default(), text(p, "right").unwrap_or_default()];
        if alive(p, 1723) && sides.contains(&"dzungar".to_string()) && sides.iter().any(|s| s.starts_with("kazakh")) {
            dzungar_kazakh_1723 = true;
        }
    }
    assert!(dzungar_kazakh_1723, "no Dzungar–Kazakh border in 1723");
}

#[test]
fn the_export_has_a_valid_style_sprite_and_glyphs() {
    let dir = &exports().0;
    assert!(dir.join("atlas.pmtiles").is_file());
    let style: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("style.json")).unwrap()).unwrap();
    assert_eq!(style["version"], 8);
    assert_eq!(style["sources"]["atlas"]["url"], "pmtiles://atlas.pmtiles");
    assert!(style["state"]["year"]["default"].is_number());
    let layers = style["layers"].as_array().unwrap();
    let text = style.to_string();
    assert!(text.contains("[\"global-state\",\"year\"]"), "the layers filter on the global state `year`");
    // Every fill pattern a feature can ask for is in the sprite, at both ratios.
    let sprite: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("sprite.json")).unwrap()).unwrap();
    let sprite2: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("sprite@2x.json")).unwrap()).unwrap();
    let atlas = steppe_atlas::style::Style::load("atlas").unwrap();
    for id in atlas.polities.keys() {
        for kind in ["hatch", "backhatch", "cross"] {
            let name = format!("{kind}-{id}");
            assert!(sprite.get(&name).is_some() && sprite2.get(&name).is_some(), "sprite lacks {name}");
            assert_eq!(sprite2[&name]["pixelRatio"], 2);
        }
    }
    let png =
        png::Decoder::new(std::io::Cursor::new(std::fs::read(dir.join("sprite.png")).unwrap())).read_info().unwrap();
    let (w, h) = (png.info().width, png.info().height);
    for (_, img) in sprite.as_object().unwrap() {
        assert!(img["x"].as_u64().unwrap() + img["width"].as_u64().unwrap() <= u64::from(w));
        assert!(img["y"].as_u64().unwrap() + img["height"].as_u64().unwrap() <= u64::from(h));
    }
    // Glyphs for every font a layer names, in the Cyrillic range too.
    for l in layers {
        if let Some(fonts) = l["layout"]["text-font"].as_array() {
            for f in fonts {
                let p = dir.join("fonts").join(f.as_str().unwrap()).join("1024-1279.pbf");
                assert!(p.is_file(), "{} missing", p.display());
            }
        }
    }
    // MapLibre's own validator (npm @maplibre/maplibre-gl-style-spec).
    let validator = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/js/node_modules/.bin/gl-style-validate");
    if !validator.exists() {
        assert!(std::env::var_os("CI").is_none(), "CI must install tests/js (npm ci) for gl-style-validate");
        eprintln!("skipped gl-style-validate: run `npm ci` in tests/js");
        return;
    }
    let out = std::process::Command::new(&validator).arg(dir.join("style.json")).output().unwrap();
    assert!(
        out.status.success() && out.stdout.is_empty(),
        "gl-style-validate: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn an_independent_python_reader_agrees_with_query() {
    let has_python = std::process::Command::new("python3")
        .args(["-c", "import pmtiles, mapbox_vector_tile"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_python {
        assert!(std::env::var_os("CI").is_none(), "CI must install python3 with pmtiles and mapbox-vector-tile");
        eprintln!("skipped: python3 with the pmtiles and mapbox-vector-tile packages is not installed");
        return;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/check_mvt.py");
    let years: Vec<String> = YEARS.iter().map(i32::to_string).collect();
    let out = std::process::Command::new("python3")
        .arg(script)
        .arg(exports().0.join("atlas.pmtiles"))
        .args(["--point", &format!("{},{}", TURKISTAN.0, TURKISTAN.1), "--years", &years.join(",")])
        .output()
        .unwrap();
    assert!(out.status.success(), "check_mvt.py: {}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["max_zoom"], MAX_ZOOM);
    assert!(report["features"]["territories"].as_u64().unwrap() > 0);
    for year in YEARS {
        let q = query(year);
        let y = year.to_string();
        assert_eq!(
            report["holders"][&y].as_str().map(str::to_string),
            from_query(&q, "territories", "polity"),
            "{year}"
        );
        assert_eq!(
            report["nearest_city"][&y]["controlled_by"].as_str().map(str::to_string),
            from_query(&q, "cities", "controlled_by"),
            "{year}"
        );
    }
}

#[test]
fn mvt_refuses_shards_and_bad_zooms() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("mvt-refused");
    let out = bin().args(["tiles", "--format", "mvt", "--shard", "0/2", "--out"]).arg(&dir).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--format mvt"));
    let out = bin().args(["tiles", "--format", "mvt", "--zoom", "0..16", "--out"]).arg(&dir).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--force"));
    assert!(!dir.join("atlas.pmtiles").exists());
}

#[test]
fn each_side_of_a_border_is_the_holder_named_for_it() {
    // Step off the longest segment of each 1723 border to its left and right (on screen,
    // y down) and find the territory there: it is the holder the border names.
    let (tiles, _) = mbtiles();
    let (x, y, _, _) = xyz(TURKISTAN.0, TURKISTAN.1, MAX_ZOOM);
    let r = mvt_reader::Reader::new(tiles[&(MAX_ZOOM, x, y)].clone()).unwrap();
    let territories = r.get_features(layer(&r, "territories").unwrap().0).unwrap();
    let borders = r.get_features(layer(&r, "borders").unwrap().0).unwrap();
    let holder_at = |p: geo::Point<f32>| {
        territories
            .iter()
            .find(|f| alive(f.properties.as_ref().unwrap(), 1723) && f.geometry.contains(&p))
            .and_then(|f| text(f.properties.as_ref().unwrap(), "polity"))
    };
    let (mut checked, mut agree) = (0, 0);
    for b in &borders {
        let p = b.properties.as_ref().unwrap();
        if !alive(p, 1723) {
            continue;
        }
        let lines: Vec<geo::LineString<f32>> = match &b.geometry {
            geo::Geometry::LineString(l) => vec![l.clone()],
            geo::Geometry::MultiLineString(m) => m.0.clone(),
            _ => continue,
        };
        let Some(seg) = lines.iter().flat_map(|l| l.lines()).max_by(|a, b| {
            let len = |s: &geo::Line<f32>| s.dx().hypot(s.dy());
            len(a).total_cmp(&len(b))
        }) else {
            continue;
        };
        let len = seg.dx().hypot(seg.dy());
        if len < 40.0 {
            continue;
        }
        let (mx, my) = ((seg.start.x + seg.end.x) / 2.0, (seg.start.y + seg.end.y) / 2.0);
        let (nx, ny) = (seg.dy() / len * 12.0, -seg.dx() / len * 12.0);
        let left = holder_at(geo::Point::new(mx + nx, my + ny));
        let right = holder_at(geo::Point::new(mx - nx, my - ny));
        checked += 1;
        if left == text(p, "left") && right == text(p, "right") {
            agree += 1;
        }
    }
    assert!(checked >= 3, "only {checked} borders to check");
    assert!(agree * 10 >= checked * 8, "{agree} of {checked} borders name their sides right");
}

/// Polity names: one point per polity alive with land in a year, named as it was then,
/// and none for a polity after its end; a mountain area's name is one point, not one per
/// polygon.
#[test]
fn polity_labels_are_one_per_polity_named_for_their_year() {
    let (tiles, _) = mbtiles();
    let raw = tiles.get(&(0, 0, 0)).expect("the world tile");
    let r = mvt_reader::Reader::new(raw.clone()).unwrap();
    let (li, _) = layer(&r, "polity_labels").expect("a polity_labels layer");
    let labels = r.get_features(li).unwrap();
    let named = |year: i32| -> BTreeMap<String, Vec<(String, Option<String>)>> {
        let mut m: BTreeMap<String, Vec<(String, Option<String>)>> = BTreeMap::new();
        for f in &labels {
            let p = f.properties.as_ref().unwrap();
            if alive(p, year) {
                m.entry(text(p, "polity").unwrap()).or_default().push((text(p, "name").unwrap(), text(p, "name:kk")));
            }
        }
        m
    };
    for year in [1700, 1723, 1757] {
        for (polity, names) in named(year) {
            assert_eq!(names.len(), 1, "{year}: {polity} has {} labels", names.len());
        }
    }
    let (y1700, y1723, y1757) = (named(1700), named(1723), named(1757));
    assert_eq!(y1700["russia"][0].0, "Tsardom of Russia");
    assert_eq!(y1723["russia"][0].0, "Russian Empire");
    assert_eq!(y1723["dzungar"][0], ("Dzungar Khanate".to_string(), Some("Жоңғар хандығы".to_string())));
    assert!(!y1757.contains_key("dzungar"), "no Dzungar name after the khanate's end: {:?}", y1757.get("dzungar"));

    let (fi, _) = layer(&r, "landforms").expect("landforms");
    let tian_shan_points = r
        .get_features(fi)
        .unwrap()
        .iter()
        .filter(|f| {
            text(f.properties.as_ref().unwrap(), "id").as_deref() == Some("landform-tian-shan")
                && matches!(f.geometry, geo::Geometry::Point(_) | geo::Geometry::MultiPoint(_))
        })
        .count();
    assert_eq!(tian_shan_points, 1, "the Tian Shan is named once");
}

#[test]
fn a_second_export_is_the_same_bytes() {
    // A polity's names in other languages come out in one order (by code), whatever order
    // a process's hash maps hold them in: each run of the command hashes differently.
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("mvt-again");
    let _ = std::fs::remove_dir_all(&dir);
    let out = bin()
        .args(["tiles", "--format", "mvt", "--years", "1635..1771", "--zoom", &format!("0..{MAX_ZOOM}")])
        .args(["--archive", "pmtiles", "--out"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let first = std::fs::read(exports().0.join("atlas.pmtiles")).unwrap();
    let again = std::fs::read(dir.join("atlas.pmtiles")).unwrap();
    assert!(first == again, "{} and {} bytes differ", first.len(), again.len());
}

/// A dataset of the built-in atlas with its towns replaced by `n` towns scattered over
/// ten degrees (every 97th of rank 5 and standing until 1650, the rest of rank 2 and
/// undated), exported as MVT MBTiles at zooms 0..=1: the towns, and the tiles by (z, x, y)
/// with the run's notes.
/// Towns (id, lon, lat, rank), the gunzipped tiles by (z, x, y), and the run's notes.
type DenseExport = (Vec<(String, f64, f64, i64)>, BTreeMap<(u8, u32, u32), Vec<u8>>, String);

fn dense_export(n: usize, name: &str) -> DenseExport {
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&root);
    let data = root.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let geodata = Path::new(env!("CARGO_MANIFEST_DIR")).join("geodata");
    for e in std::fs::read_dir(&geodata).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), data.join(e.file_name())).unwrap();
    }
    let mut seed = 11u64;
    let mut next = || {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (seed >> 11) as f64 / (1u64 << 53) as f64
    };
    let towns: Vec<(String, f64, f64, i64)> = (0..n)
        .map(|i| (format!("t{i}"), 60.0 + 10.0 * next(), 42.0 + 6.0 * next(), if i % 97 == 0 { 5 } else { 2 }))
        .collect();
    let features: Vec<serde_json::Value> = towns
        .iter()
        .map(|(id, lon, lat, rank)| {
            let mut props = serde_json::json!({"id": id, "name": id, "kind": "town", "rank": rank});
            if *rank == 5 {
                props["end_date"] = "1650".into();
            }
            serde_json::json!({"type": "Feature", "properties": props, "geometry": {"type": "Point", "coordinates": [lon, lat]}})
        })
        .collect();
    let doc = serde_json::json!({"type": "FeatureCollection", "features": features});
    std::fs::write(data.join("cities.geojson"), doc.to_string()).unwrap();
    let out = bin()
        .args(["tiles", "--format", "mvt", "--archive", "mbtiles", "--zoom", "0..1", "--data"])
        .arg(&data)
        .arg("--out")
        .arg(root.join("out"))
        .output()
        .unwrap();
    let notes = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{notes}");
    let db = rusqlite::Connection::open(root.join("out/atlas.mbtiles")).unwrap();
    let mut q = db.prepare("SELECT zoom_level, tile_column, tile_row, tile_data FROM tiles").unwrap();
    let tiles = q
        .query_map([], |r| Ok((r.get::<_, u8>(0)?, r.get::<_, u32>(1)?, r.get::<_, u32>(2)?, r.get::<_, Vec<u8>>(3)?)))
        .unwrap()
        .map(|row| {
            let (z, x, row, gz) = row.unwrap();
            let mut raw = Vec::new();
            flate2::read::GzDecoder::new(gz.as_slice()).read_to_end(&mut raw).unwrap();
            ((z, x, (1u32 << z) - 1 - row), raw)
        })
        .collect();
    (towns, tiles, notes)
}

/// A tile feature's properties.
type Props = HashMap<String, Value>;

/// The towns of a tile's `cities` layer: id, position in tile units and properties.
fn tile_towns(raw: &[u8]) -> Vec<(String, f32, f32, Props)> {
    let r = mvt_reader::Reader::new(raw.to_vec()).unwrap();
    let Some((li, _)) = layer(&r, "cities") else { return Vec::new() };
    r.get_features(li)
        .unwrap()
        .into_iter()
        .map(|f| {
            let props = f.properties.unwrap_or_default();
            let id = text(&props, "id").unwrap();
            let p = match f.geometry {
                geo::Geometry::Point(p) => p,
                geo::Geometry::MultiPoint(mp) => mp.0[0],
                g => panic!("{id} is not a point: {g:?}"),
            };
            (id, p.x(), p.y(), props)
        })
        .collect()
}

#[test]
fn a_dense_point_layer_keeps_the_foremost_town_of_each_cell_in_every_year() {
    // Past 16,384 points a tile keeps, in each cell of a 128 × 128 grid over the tile and
    // its buffer of 64 units (4,224 units across), the foremost towns until every year
    // with a town in the cell has one: in any year, the highest rank kept in a cell is
    // the highest rank standing there.
    let (towns, tiles, notes) = dense_export(20_000, "mvt-dense");
    assert!(notes.contains("points in a layer: each keeps"), "{notes}");
    let cell =
        |x: f64, y: f64| (((x + 64.0) / 4224.0 * 128.0).floor() as i64, ((y + 64.0) / 4224.0 * 128.0).floor() as i64);
    let stands = |rank: i64, year: i32| rank != 5 || year <= 1650;
    for ((z, tx, ty), raw) in &tiles {
        let kept = tile_towns(raw);
        assert!(!kept.is_empty() && kept.len() <= 2 * 128 * 128, "z{z}: {} towns", kept.len());
        assert!(kept.len() < towns.len() / 4, "z{z}: {} towns kept of {}", kept.len(), towns.len());
        // Each input town of the tile by cell (from the XYZ formulas), and its rank.
        let home = |lon: f64, lat: f64| {
            let (_, _, fx, fy) = xyz(lon, lat, *z);
            cell(fx * 4096.0, fy * 4096.0)
        };
        let mut by_cell: HashMap<(i64, i64), Vec<i64>> = HashMap::new();
        for (_, lon, lat, rank) in &towns {
            let (x, y, _, _) = xyz(*lon, *lat, *z);
            if (x, y) == (*tx, *ty) {
                by_cell.entry(home(*lon, *lat)).or_default().push(*rank);
            }
        }
        // The kept towns by cell (a point near a cell's edge may round into the next one:
        // its input cell), with their rank and properties.
        let mut kept_by_cell: HashMap<(i64, i64), Vec<(i64, &Props)>> = HashMap::new();
        for (id, _, _, props) in &kept {
            let (_, lon, lat, rank) = towns.iter().find(|t| &t.0 == id).unwrap();
            kept_by_cell.entry(home(*lon, *lat)).or_default().push((*rank, props));
        }
        assert_eq!(kept_by_cell.len(), by_cell.len(), "z{z}: a town kept in every cell that has one");
        for year in [1640, 1700] {
            for (c, ranks) in &by_cell {
                let best = ranks.iter().filter(|r| stands(**r, year)).max();
                let kept_best = kept_by_cell[c].iter().filter(|(_, p)| alive(p, year)).map(|(r, _)| r).max();
                assert_eq!(kept_best, best, "z{z} {year}: cell {c:?}");
            }
        }
    }
    // Under the limit, every town is in every tile it falls in.
    let (towns, tiles, notes) = dense_export(5_000, "mvt-sparse");
    assert!(!notes.contains("points in a layer: each keeps"), "{notes}");
    let z0 = tile_towns(&tiles[&(0, 0, 0)]);
    assert_eq!(z0.len(), towns.len());
}
