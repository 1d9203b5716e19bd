//! The renderer as a library: markers land on their projected pixels, labels never
//! overlap, and each style matches its golden image within a tolerance.

use std::path::{Path, PathBuf};
use steppe_atlas::data::{Dataset, Source};
use steppe_atlas::project::{LonLatBox, Projection, ProjectionKind, View, MERCATOR_RADIUS};
use steppe_atlas::render::{render, RenderOptions, Rendered};
use steppe_atlas::style::{Pattern, Style};
use steppe_atlas::time::{EndDates, Year};
use steppe_atlas::Atlas;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn mini() -> Atlas {
    Atlas::load(&Source::Dir(root().join("tests/data/mini")), EndDates::Inclusive).expect("mini dataset loads")
}

fn pixel(img: &Rendered, x: f32, y: f32) -> [u8; 4] {
    let p = img.pixmap.pixel(x as u32, y as u32).expect("inside the image").demultiply();
    [p.red(), p.green(), p.blue(), p.alpha()]
}

fn close(a: [u8; 4], b: steppe_atlas::style::Rgba, tol: i32) -> bool {
    (i32::from(a[0]) - i32::from(b.0)).abs() <= tol
        && (i32::from(a[1]) - i32::from(b.1)).abs() <= tol
        && (i32::from(a[2]) - i32::from(b.2)).abs() <= tol
}

#[test]
fn city_markers_land_on_their_projected_pixels_in_mercator() {
    let atlas = mini();
    let style = Style::load("print").unwrap();
    let bbox = LonLatBox { west: 60.0, south: 39.0, east: 82.0, north: 51.0 };
    let (w, h) = (800u32, 600u32);
    let view = View::fit(Projection::Mercator, &bbox, w, h);
    let img = render(&atlas, &style, &view, &RenderOptions::frame(Year(1723), 96.0));

    // Independent Web Mercator fit: scale to the limiting side, centre the other.
    let merc = |lon: f64, lat: f64| {
        (
            MERCATOR_RADIUS * lon.to_radians(),
            MERCATOR_RADIUS * (std::f64::consts::FRAC_PI_4 + lat.to_radians() / 2.0).tan().ln(),
        )
    };
    let (x0, y0) = merc(60.0, 39.0);
    let (x1, y1) = merc(82.0, 51.0);
    let s = (f64::from(w) / (x1 - x0)).min(f64::from(h) / (y1 - y0));
    let pad_x = (f64::from(w) - (x1 - x0) * s) / 2.0;
    let pad_y = (f64::from(h) - (y1 - y0) * s) / 2.0;
    for (id, lon, lat) in [("tashkent", 69.24, 41.30), ("turkistan", 68.27, 43.30), ("semipalatinsk", 80.23, 50.41)] {
        let (mx, my) = merc(lon, lat);
        let ex = pad_x + (mx - x0) * s;
        let ey = pad_y + (y1 - my) * s;
        let (_, px, py) = img.markers.iter().find(|m| m.0 == id).cloned().unwrap_or_else(|| panic!("{id} drawn"));
        assert!(
            (f64::from(px) - ex).abs() <= 1.0 && (f64::from(py) - ey).abs() <= 1.0,
            "{id}: ({px},{py}) vs ({ex:.1},{ey:.1})"
        );
    }
    // The marker is really painted there, in its holder's colour.
    let (_, tx, ty) = img.markers.iter().find(|m| m.0 == "tashkent").cloned().unwrap();
    let senior = style.polity("kazakh_senior").unwrap().border;
    assert!(close(pixel(&img, tx, ty), senior, 12), "Tashkent marker in Senior Jüz colour: {:?}", pixel(&img, tx, ty));
    let (_, sx, sy) = img.markers.iter().find(|m| m.0 == "semipalatinsk").cloned().unwrap();
    let russia = style.polity("russia").unwrap().border;
    assert!(close(pixel(&img, sx, sy), russia, 12), "Semipalatinsk in Russian colour: {:?}", pixel(&img, sx, sy));
}

#[test]
fn city_markers_land_on_their_projected_pixels_in_lcc() {
    let atlas = mini();
    let style = Style::load("atlas").unwrap();
    let bbox = LonLatBox { west: 60.0, south: 39.0, east: 82.0, north: 51.0 };
    let view = View::fit(Projection::fitted(ProjectionKind::Lcc, &bbox), &bbox, 900, 600);

    // Independent spherical LCC: standard parallels at 1/6 and 5/6 of 39–51 = 41 and 49.
    let r = steppe_atlas::project::EARTH_RADIUS;
    let (f1, f2, f0, l0) = (41f64.to_radians(), 49f64.to_radians(), 45f64.to_radians(), 71f64.to_radians());
    let t = |f: f64| (std::f64::consts::FRAC_PI_4 + f / 2.0).tan();
    let n = (f1.cos() / f2.cos()).ln() / (t(f2) / t(f1)).ln();
    let big_f = f1.cos() * t(f1).powf(n) / n;
    let rho0 = r * big_f / t(f0).powf(n);
    let lcc = |lon: f64, lat: f64| {
        let rho = r * big_f / t(lat.to_radians()).powf(n);
        let th = n * (lon.to_radians() - l0);
        (rho * th.sin(), rho0 - rho * th.cos())
    };
    let img = render(&atlas, &style, &view, &RenderOptions::frame(Year(1723), 96.0));
    for (id, lon, lat) in [("tashkent", 69.24, 41.30), ("semipalatinsk", 80.23, 50.41)] {
        let (x, y) = lcc(lon, lat);
        let ex = (x - view.x0) * view.scale;
        let ey = (view.y0 - y) * view.scale;
        let (_, px, py) = img.markers.iter().find(|m| m.0 == id).cloned().unwrap();
        assert!(
            (f64::from(px) - ex).abs() <= 1.0 && (f64::from(py) - ey).abs() <= 1.0,
            "{id}: ({px},{py}) vs ({ex:.1},{ey:.1})"
        );
    }
    // The fitted view keeps the whole bbox: its corners are inside the image.
    for (lon, lat) in [(60.0, 39.0), (82.0, 39.0), (60.0, 51.0), (82.0, 51.0), (71.0, 51.0)] {
        let (x, y) = view.to_px(lon, lat);
        assert!((-0.5..=900.5).contains(&x) && (-0.5..=600.5).contains(&y), "{lon},{lat} → {x},{y}");
    }
}

#[test]
fn placed_labels_never_overlap() {
    let style = Style::load("print").unwrap();
    let builtin = Atlas::load(&Source::Embedded, EndDates::Inclusive).expect("built-in atlas loads");
    let mini = mini();
    for (atlas, year, w, h) in [(&builtin, 1723, 1200, 850), (&builtin, 1741, 900, 640), (&mini, 1723, 600, 400)] {
        let bbox = LonLatBox::from_array(atlas.data.default_bbox().unwrap());
        let view = View::fit(Projection::fitted(ProjectionKind::Lcc, &bbox), &bbox, w, h);
        let img = render(atlas, &style, &view, &RenderOptions::frame(Year(year), 96.0));
        let boxes = &img.label_boxes;
        assert!(boxes.len() >= 5, "{year}: only {} labels placed", boxes.len());
        for (i, a) in boxes.iter().enumerate() {
            assert!(
                a[0] >= 0.0 && a[1] >= 0.0 && a[2] <= w as f32 && a[3] <= h as f32,
                "label inside the frame: {a:?}"
            );
            for b in &boxes[i + 1..] {
                assert!(!steppe_atlas::render::labels::overlaps(a, b), "{year}: {a:?} overlaps {b:?}");
            }
            // No label covers a city marker.
            for (id, x, y) in &img.markers {
                assert!(!(a[0] < *x && *x < a[2] && a[1] < *y && *y < a[3]), "{year}: label {a:?} covers marker {id}");
            }
        }
    }
}

#[test]
fn the_legend_lists_only_what_is_shown() {
    let atlas = mini();
    let style = Style::load("print").unwrap();
    let bbox = LonLatBox::from_array(atlas.data.default_bbox().unwrap());
    let view = View::fit(Projection::fitted(ProjectionKind::Lcc, &bbox), &bbox, 600, 400);
    let img = render(&atlas, &style, &view, &RenderOptions::frame(Year(1723), 96.0));
    assert!(img.shown.battles && img.shown.captured && img.shown.occupied);
    assert!(!img.shown.destroyed, "Sozak is destroyed only from 1724");
    let later = render(&atlas, &style, &view, &RenderOptions::frame(Year(1730), 96.0));
    assert!(!later.shown.battles && later.shown.destroyed && later.shown.tributary);
    assert!(later.shown.polities.iter().all(|p| p != "qing"));
}

fn decode(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    let mut reader = png::Decoder::new(std::io::Cursor::new(bytes)).read_info().expect("PNG");
    let mut buf = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut buf).expect("frame");
    buf.truncate(info.buffer_size());
    let rgb: Vec<u8> = match info.color_type {
        png::ColorType::Rgb => buf,
        png::ColorType::Rgba => buf.chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).collect(),
        other => panic!("unexpected colour type {other:?}"),
    };
    (info.width, info.height, rgb)
}

/// Compare with `tests/golden/NAME.png`: fail when more than 1 % of pixels differ by more
/// than 48 in a channel. On failure the actual image and a diff are written beside the
/// test output; `UPDATE_GOLDEN=1` rewrites the golden on purpose.
fn check_golden(name: &str, img: &Rendered) {
    let actual = steppe_atlas::output::encode_png(&img.pixmap, 96.0).unwrap();
    let golden = root().join("tests/golden").join(format!("{name}.png"));
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&golden, &actual).unwrap();
        return;
    }
    let expected =
        std::fs::read(&golden).unwrap_or_else(|_| panic!("missing {} (UPDATE_GOLDEN=1 writes it)", golden.display()));
    let (w, h, a) = decode(&actual);
    let (gw, gh, e) = decode(&expected);
    assert_eq!((w, h), (gw, gh), "{name}: size");
    let mut diff = Vec::with_capacity(a.len());
    let mut bad = 0usize;
    for (pa, pe) in a.chunks_exact(3).zip(e.chunks_exact(3)) {
        let d = pa.iter().zip(pe).map(|(x, y)| (i32::from(*x) - i32::from(*y)).abs()).max().unwrap_or(0);
        if d > 48 {
            bad += 1;
        }
        let v = (255 - d.min(255) * 4).max(0) as u8;
        diff.extend_from_slice(&[255, v, v]);
    }
    let frac = bad as f64 / f64::from(w * h);
    if frac > 0.01 {
        let out_dir: PathBuf = root().join("target/golden-out");
        std::fs::create_dir_all(&out_dir).unwrap();
        std::fs::write(out_dir.join(format!("{name}.actual.png")), &actual).unwrap();
        let mut pm = tiny_skia::Pixmap::new(w, h).unwrap();
        for (dst, src) in pm.data_mut().chunks_exact_mut(4).zip(diff.chunks_exact(3)) {
            dst.copy_from_slice(&[src[0], src[1], src[2], 255]);
        }
        std::fs::write(out_dir.join(format!("{name}.diff.png")), steppe_atlas::output::encode_png(&pm, 96.0).unwrap())
            .unwrap();
        panic!("{name}: {:.2} % of pixels differ; see {}", frac * 100.0, out_dir.display());
    }
}

#[test]
fn golden_images_per_style() {
    let atlas = mini();
    let bbox = LonLatBox::from_array(atlas.data.default_bbox().unwrap());
    for style_name in ["print", "atlas", "grayscale"] {
        let style = Style::load(style_name).unwrap();
        let view = View::fit(Projection::fitted(ProjectionKind::Lcc, &bbox), &bbox, 600, 400);
        let img = render(&atlas, &style, &view, &RenderOptions::frame(Year(1723), 96.0));
        check_golden(&format!("mini-1723-{style_name}"), &img);
    }
    // Mercator and a later year with ruins and tributary hatching.
    let style = Style::load("print").unwrap();
    let view = View::fit(Projection::Mercator, &bbox, 600, 400);
    let img = render(&atlas, &style, &view, &RenderOptions::frame(Year(1730), 96.0));
    check_golden("mini-1730-mercator", &img);
}

/// The built-in atlas in three years a reader checks first: Galdan's 1684, the Great
/// Disaster of 1723 and the aftermath of 1757 (A4 landscape at 72 dpi).
#[test]
fn golden_years_of_the_atlas() {
    let atlas = Atlas::load(&Source::Embedded, EndDates::Inclusive).expect("built-in atlas loads");
    let style = Style::load("print").unwrap();
    let bbox = LonLatBox::from_array(atlas.data.default_bbox().unwrap());
    let view = View::fit(Projection::fitted(ProjectionKind::Lcc, &bbox), &bbox, 842, 595);
    for year in [1684, 1723, 1757] {
        let img = render(&atlas, &style, &view, &RenderOptions::frame(Year(year), 72.0));
        check_golden(&format!("atlas-{year}"), &img);
    }
}

#[test]
fn embedded_dataset_loads_without_problems() {
    let loaded = Dataset::load(&Source::Embedded, EndDates::Inclusive);
    assert!(loaded.problems.is_empty(), "{:?}", loaded.problems);
    assert!(loaded.dataset.all().count() > 100);
}

#[test]
fn a_style_sets_the_layers_and_their_order() {
    let atlas = mini();
    let base = Style::load("atlas").unwrap();
    let bbox = LonLatBox::from_array(atlas.data.default_bbox().unwrap());
    let view = View::fit(Projection::fitted(ProjectionKind::Lcc, &bbox), &bbox, 600, 400);
    // Inside Lake Balkhash, clear of its label.
    let (lx, ly) = view.to_px(78.8, 46.58);
    let opts = RenderOptions::frame(Year(1723), 96.0);
    let default = render(&atlas, &base, &view, &opts);
    assert!(close(pixel(&default, lx as f32, ly as f32), base.water.fill, 6), "the lake is drawn");

    let mut no_water = base.clone();
    no_water.layers.retain(|l| *l != steppe_atlas::style::MapLayer::Water);
    let img = render(&atlas, &no_water, &view, &opts);
    assert!(!close(pixel(&img, lx as f32, ly as f32), base.water.fill, 6), "a layer left out is not drawn");

    // Water under the territories: the lake shows through the translucent fill, tinted.
    let mut water_first = base.clone();
    water_first.layers = vec![
        steppe_atlas::style::MapLayer::Water,
        steppe_atlas::style::MapLayer::Territories,
        steppe_atlas::style::MapLayer::Cities,
    ];
    let img = render(&atlas, &water_first, &view, &opts);
    let p = pixel(&img, lx as f32, ly as f32);
    let land = pixel(&img, view.to_px(78.5, 45.3).0 as f32, view.to_px(78.5, 45.3).1 as f32);
    assert!(!close(p, base.water.fill, 6) && p != land, "tinted lake {p:?}, land {land:?}");
    assert!(img.markers.iter().any(|m| m.0 == "tashkent"));
}

/// A legend swatch of the grayscale style: the polity's fill over white, its texture, and
/// optionally a status overlay, as grey levels.
fn gray_swatch(
    style: &Style,
    fill: steppe_atlas::style::Rgba,
    pattern: Pattern,
    border: steppe_atlas::style::Rgba,
    overlay: Option<Pattern>,
) -> Vec<f32> {
    use steppe_atlas::render::canvas::{Canvas, Ink};
    let (w, h) = (48u32, 48u32);
    let mut pm = tiny_skia::Pixmap::new(w, h).unwrap();
    pm.fill(style.land.skia(1.0));
    let rings = vec![vec![(0.0, 0.0), (w as f32, 0.0), (w as f32, h as f32), (0.0, h as f32)]];
    let rect = tiny_skia::Rect::from_xywh(0.0, 0.0, w as f32, h as f32).unwrap();
    let ts = &style.territories;
    // 96 dpi: the style's points as pixels.
    let px = |pt: f32| pt * 96.0 / 72.0;
    Canvas::fill_rect(&mut pm, rect, Ink::new(fill, ts.fill_opacity));
    Canvas::pattern(&mut pm, &rings, pattern, border, px(ts.hatch_spacing_pt), px(ts.hatch_pt));
    if let Some(o) = overlay {
        Canvas::pattern(&mut pm, &rings, o, border, px(ts.hatch_spacing_pt) * 1.2, px(ts.hatch_pt));
    }
    pm.pixels()
        .iter()
        .map(|p| {
            let c = p.demultiply();
            0.2126 * f32::from(c.red()) + 0.7152 * f32::from(c.green()) + 0.0722 * f32::from(c.blue())
        })
        .collect()
}

/// How far apart two swatches read: the difference of their mean grey, or of their
/// texture (the mean difference of each from its own mean, pixel by pixel), whichever is
/// larger.
fn swatch_distance(a: &[f32], b: &[f32]) -> f32 {
    let mean = |v: &[f32]| v.iter().sum::<f32>() / v.len() as f32;
    let (ma, mb) = (mean(a), mean(b));
    let texture = a.iter().zip(b).map(|(x, y)| ((x - ma) - (y - mb)).abs()).sum::<f32>() / a.len() as f32;
    (ma - mb).abs().max(texture)
}

#[test]
fn grayscale_swatches_of_polities_and_statuses_are_pairwise_distinct() {
    let style = Style::load("grayscale").unwrap();
    let polities: Vec<(&String, Vec<f32>)> =
        style.polities.iter().map(|(id, p)| (id, gray_swatch(&style, p.fill, p.pattern, p.border, None))).collect();
    assert!(polities.len() >= 15, "{} polities", polities.len());
    for (i, (a, sa)) in polities.iter().enumerate() {
        for (b, sb) in &polities[i + 1..] {
            let d = swatch_distance(sa, sb);
            assert!(d >= 8.0, "grayscale: {a} and {b} read alike (distance {d:.1})");
        }
    }
    // Status overlays come from another family than the polities' textures, so a
    // tributary, occupied or contested area never reads as another polity.
    for (id, p) in &style.polities {
        assert!(
            !matches!(p.pattern, Pattern::Hatch | Pattern::BackHatch | Pattern::Cross),
            "grayscale: {id} uses a status pattern ({:?})",
            p.pattern
        );
        let plain = gray_swatch(&style, p.fill, p.pattern, p.border, None);
        let statuses: Vec<Vec<f32>> = [Pattern::Hatch, Pattern::BackHatch, Pattern::Cross]
            .iter()
            .map(|o| gray_swatch(&style, p.fill, p.pattern, p.border, Some(*o)))
            .collect();
        for (k, s) in statuses.iter().enumerate() {
            assert!(swatch_distance(&plain, s) >= 8.0, "{id}: status {k} invisible");
            for t in &statuses[k + 1..] {
                assert!(swatch_distance(s, t) >= 8.0, "{id}: two statuses read alike");
            }
        }
    }
}

/// Grey levels of column `x` of a PNG, rows `y0..y1`.
fn column(png: &std::path::Path, x: u32, (y0, y1): (u32, u32)) -> Vec<f32> {
    let (w, n, bytes) = image_bytes(png);
    (y0..y1)
        .map(|y| {
            let p = bytes[((y * w + x) * n) as usize..][..3].to_vec();
            0.2126 * f32::from(p[0]) + 0.7152 * f32::from(p[1]) + 0.0722 * f32::from(p[2])
        })
        .collect()
}

/// Width, bytes per pixel and the pixel bytes of an RGB or RGBA PNG file.
fn image_bytes(png: &std::path::Path) -> (u32, u32, Vec<u8>) {
    let dec = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(png).unwrap()));
    let mut reader = dec.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let n = match info.color_type {
        png::ColorType::Rgba => 4,
        png::ColorType::Rgb => 3,
        other => panic!("unexpected colour type {other:?}"),
    };
    (info.width, n, buf[..info.buffer_size()].to_vec())
}

#[test]
fn black_and_white_sides_differ_by_the_mark_of_their_routes() {
    // Two advances along parallels, one per side, drawn in black and white: the Dzungar
    // line is solid dark, the Kazakh line is cased (a white core between dark edges).
    let tmp = tempfile::tempdir().unwrap();
    let route = |id: &str, side: &str, lat: f64| {
        format!(
            r#"{{"type": "Feature", "properties": {{"id": "{id}", "name": "{id}", "kind": "advance", "side": "{side}", "start_date": "1700", "end_date": "1700"}}, "geometry": {{"type": "LineString", "coordinates": [[60.0, {lat}], [80.0, {lat}]]}}}}"#
        )
    };
    std::fs::write(
        tmp.path().join("campaigns.geojson"),
        format!(
            r#"{{"type": "FeatureCollection", "features": [{}, {}]}}"#,
            route("dz", "dzungar", 46.0),
            route("kz", "kazakh_middle", 42.0)
        ),
    )
    .unwrap();
    let png = tmp.path().join("bw.png");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_steppe-atlas"))
        .args(["render", "--year", "1700", "--grayscale", "--projection", "mercator", "--bbox", "58,38,82,50"])
        .args(["--width", "480", "--height", "300", "--data"])
        .arg(tmp.path())
        .arg("--out")
        .arg(&png)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // Mercator rows of the two parallels over 38..50°N in 300 px.
    let merc = |lat: f64| (std::f64::consts::FRAC_PI_4 + lat.to_radians() / 2.0).tan().ln();
    let row = |lat: f64| ((merc(50.0) - merc(lat)) / (merc(50.0) - merc(38.0)) * 300.0).round() as u32;
    // Two thirds along, clear of the legend and the arrowheads.
    let x = 280;
    let profile = |lat: f64| {
        let r = row(lat);
        (column(&png, x, (r - 8, r + 9)), 8usize)
    };
    // Across a line: is there a light pixel between two dark ones?
    let cased = |v: &[f32]| {
        let dark: Vec<usize> = (0..v.len()).filter(|&i| v[i] < 170.0).collect();
        let (Some(&first), Some(&last)) = (dark.first(), dark.last()) else { return None };
        Some(v[first..=last].iter().any(|&g| g > 200.0))
    };
    let (dz, _) = profile(46.0);
    assert!(dz.iter().any(|&g| g < 90.0), "the Dzungar route is dark: {dz:?}");
    assert_eq!(cased(&dz), Some(false), "the Dzungar route is solid: {dz:?}");
    let (kz, _) = profile(42.0);
    assert_eq!(cased(&kz), Some(true), "the Kazakh route has a white core between dark edges: {kz:?}");
}

#[test]
fn mountain_areas_are_tinted_and_basins_are_not() {
    let atlas = Atlas::load(&Source::Embedded, EndDates::Inclusive).expect("built-in atlas loads");
    let style = Style::load("print").unwrap();
    let bbox = LonLatBox::from_array([70.0, 37.0, 90.0, 47.0]);
    let view = View::fit(Projection::fitted(ProjectionKind::Lcc, &bbox), &bbox, 800, 400);
    let mut opts = RenderOptions::frame(Year(1723), 96.0);
    opts.furniture = false;
    opts.labels = false;
    let tinted = render(&atlas, &style, &view, &opts);
    let mut flat = style.clone();
    flat.relief.opacity = 0.0;
    let plain = render(&atlas, &flat, &view, &opts);
    let lum = |p: [u8; 4]| u32::from(p[0]) + u32::from(p[1]) + u32::from(p[2]);
    let at = |img: &Rendered, lon: f64, lat: f64| {
        let (x, y) = view.to_px(lon, lat);
        pixel(img, x as f32, y as f32)
    };
    // Inside the ranges: darker than the same land without relief.
    for (name, lon, lat) in [("Khan Tengri", 80.17, 42.21), ("Jungar Alatau", 80.0, 45.2), ("Alay", 72.5, 39.6)] {
        let (t, p) = (at(&tinted, lon, lat), at(&plain, lon, lat));
        assert!(lum(t) + 12 < lum(p), "{name}: {t:?} is not darker than {p:?}");
    }
    // The basins and valleys between them are not mountains.
    for (name, lon, lat) in [("Tarim basin", 83.0, 39.5), ("Fergana Valley", 71.5, 40.7), ("Ili valley", 79.0, 43.85)] {
        assert_eq!(at(&tinted, lon, lat), at(&plain, lon, lat), "{name} is tinted");
    }
}
