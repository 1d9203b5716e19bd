//! Vector output: the SVG is real XML with text as `<text>`, hatching as `<pattern>` and a
//! group per layer; rasterised by independent renderers (resvg in-process, librsvg's
//! `rsvg-convert`) it matches the PNG of the same size; the PDF (read back by poppler's
//! `pdfinfo`, `pdffonts` and `pdftotext`) has the page size asked for, embedded fonts and
//! searchable labels and caption.

use assert_cmd::Command;
use std::path::Path;
use steppe_atlas::data::Source;
use steppe_atlas::project::{LonLatBox, Projection, ProjectionKind, View};
use steppe_atlas::render::vector::SvgOptions;
use steppe_atlas::render::{render, render_svg, RenderOptions};
use steppe_atlas::style::Style;
use steppe_atlas::time::{EndDates, Year};
use steppe_atlas::Atlas;

fn bin() -> Command {
    Command::cargo_bin("steppe-atlas").expect("binary built")
}

fn builtin() -> Atlas {
    Atlas::load(&Source::Embedded, EndDates::Inclusive).expect("built-in atlas loads")
}

/// A5 landscape at 150 dpi: the print frame of the built-in atlas, small enough for CI.
fn a5_view(atlas: &Atlas) -> (View, f32) {
    let dpi = 150.0;
    let (w, h) = ((148.0f32 / 25.4 * dpi).round() as u32, (105.0f32 / 25.4 * dpi).round() as u32);
    let b = atlas.data.default_bbox().expect("the atlas has an extent");
    let bbox = LonLatBox::from_array(b);
    let projection = Projection::fitted(ProjectionKind::Lcc, &bbox);
    (View::fit(projection, &bbox, w, h), dpi)
}

fn a5_svg(year: i32) -> (String, View, f32, Vec<String>) {
    let atlas = builtin();
    let style = Style::load("print").unwrap();
    let (view, dpi) = a5_view(&atlas);
    let opts = RenderOptions::frame(Year(year), dpi);
    let svg_opts = SvgOptions { page_mm: Some((148.0, 105.0)), ..Default::default() };
    let (svg, drawn) = render_svg(&atlas, &style, &view, &opts, &svg_opts);
    (svg, view, dpi, drawn.labels.into_iter().map(|l| l.text).collect())
}

/// A tool from Debian's packages: on CI it must be there; elsewhere a missing tool skips.
fn tool(name: &str) -> bool {
    let found = std::process::Command::new(name).arg("--version").output().is_ok_and(|o| o.status.success())
        || std::process::Command::new(name).arg("-v").output().is_ok();
    if !found {
        assert!(std::env::var_os("CI").is_none(), "{name} is missing on CI (.ci/run installs it)");
        eprintln!("skipping: {name} is not installed");
    }
    found
}

/// Mean absolute difference per channel (0–255) and the share of pixels whose largest
/// channel difference exceeds 48, over two straight-alpha RGBA buffers of one size.
fn difference(a: &[u8], b: &[u8]) -> (f64, f64) {
    assert_eq!(a.len(), b.len(), "same size");
    let mut sum = 0u64;
    let mut far = 0usize;
    for (p, q) in a.chunks_exact(4).zip(b.chunks_exact(4)) {
        let d: Vec<u32> = (0..3).map(|k| u32::from(p[k].abs_diff(q[k]))).collect();
        sum += u64::from(d.iter().sum::<u32>());
        if d.iter().any(|&x| x > 48) {
            far += 1;
        }
    }
    let px = a.len() / 4;
    (sum as f64 / (px * 3) as f64, far as f64 / px as f64)
}

/// Write both images and their difference under target/ for a person to look at.
fn save_diff(name: &str, w: u32, h: u32, ours: &[u8], theirs: &[u8]) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/vector-diff");
    let _ = std::fs::create_dir_all(&dir);
    let diff: Vec<u8> = ours
        .chunks_exact(4)
        .zip(theirs.chunks_exact(4))
        .flat_map(|(p, q)| {
            let d = (0..3).map(|k| p[k].abs_diff(q[k])).max().unwrap_or(0);
            [255 - d, 255 - d, 255 - d, 255]
        })
        .collect();
    for (suffix, data) in [("ours", ours), ("theirs", theirs), ("diff", &diff[..])] {
        let path = dir.join(format!("{name}-{suffix}.png"));
        let file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        let mut enc = png::Encoder::new(file, w, h);
        enc.set_color(png::ColorType::Rgba);
        enc.write_header().unwrap().write_image_data(data).unwrap();
        eprintln!("wrote {}", path.display());
    }
}

fn demultiplied(pm: &tiny_skia::Pixmap) -> Vec<u8> {
    pm.pixels()
        .iter()
        .flat_map(|p| {
            let c = p.demultiply();
            [c.red(), c.green(), c.blue(), c.alpha()]
        })
        .collect()
}

#[test]
fn svg_is_xml_with_layer_groups_text_and_patterns() {
    let (svg, view, dpi, placed) = a5_svg(1723);
    let doc = roxmltree::Document::parse(&svg).expect("the SVG parses as XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    assert_eq!(root.attribute("width"), Some("148mm"));
    assert_eq!(root.attribute("height"), Some("105mm"));
    // The viewBox is the page in points.
    let vb: Vec<f64> = root.attribute("viewBox").unwrap().split(' ').map(|v| v.parse().unwrap()).collect();
    assert_eq!(vb[..2], [0.0, 0.0]);
    assert!((vb[2] - 148.0 / 25.4 * 72.0).abs() < 0.01 && (vb[3] - 105.0 / 25.4 * 72.0).abs() < 0.01, "{vb:?}");
    let k = 72.0 / f64::from(dpi);
    assert!((f64::from(view.width) * k - vb[2]).abs() < 0.5, "the drawing fills the page");

    let groups: Vec<&str> = root.children().filter(|n| n.has_tag_name("g")).filter_map(|g| g.attribute("id")).collect();
    for id in ["territories", "borders", "water", "rivers", "routes", "battles", "cities", "labels", "furniture"] {
        assert!(groups.contains(&id), "no <g id=\"{id}\"> in {groups:?}");
    }
    // The layers are drawn in the style's order: land under water under labels.
    let at = |id: &str| groups.iter().position(|g| *g == id).unwrap();
    assert!(at("territories") < at("water") && at("water") < at("rivers") && at("cities") < at("labels"));

    assert_eq!(doc.descendants().filter(|n| n.has_tag_name("image")).count(), 0, "no raster image of the map");

    let texts = |group: &str| -> Vec<String> {
        let g = root.children().find(|n| n.attribute("id") == Some(group)).unwrap();
        g.descendants().filter(|n| n.has_tag_name("text")).map(|t| t.text().unwrap_or("").to_string()).collect()
    };
    // Every label the placer kept is one <text> of the labels group, and nothing else is.
    let mut labels = texts("labels");
    let mut placed = placed;
    labels.sort();
    placed.sort();
    assert_eq!(labels, placed);
    for name in ["Tashkent", "Samarkand", "DZUNGAR KHANATE", "Syr Darya"] {
        assert!(labels.iter().any(|t| t == name), "label {name} is not a <text>: {labels:?}");
    }
    let furniture = texts("furniture").join(" ");
    for phrase in ["The Kazakh–Dzungar Wars", "1723", "Barefooted", "km"] {
        assert!(furniture.contains(phrase), "furniture lacks {phrase:?}");
    }
    // Every text names a DejaVu face; halos are strokes painted under the fill.
    let all_text: Vec<_> = doc.descendants().filter(|n| n.has_tag_name("text")).collect();
    assert!(all_text.len() > 60, "{} texts", all_text.len());
    for t in &all_text {
        assert!(t.attribute("font-family").is_some_and(|f| f.contains("DejaVu")), "{t:?}");
    }
    let haloed = all_text.iter().filter(|t| t.attribute("paint-order") == Some("stroke")).count();
    assert!(haloed * 2 > all_text.len(), "most labels have a halo: {haloed}");

    // Hatching is an SVG pattern referenced by the territories.
    let patterns = doc.descendants().filter(|n| n.has_tag_name("pattern")).count();
    let hatched =
        doc.descendants().filter(|n| n.attribute("fill").is_some_and(|f| f.starts_with("url(#pattern"))).count();
    assert!(patterns >= 2 && hatched >= 3, "{patterns} patterns, {hatched} hatched paths");
}

#[test]
fn svg_rasterised_by_resvg_matches_the_png() {
    let (svg, view, dpi, _) = a5_svg(1723);
    let atlas = builtin();
    let style = Style::load("print").unwrap();
    let png = render(&atlas, &style, &view, &RenderOptions::frame(Year(1723), dpi));

    let mut opt = usvg::Options { dpi: 72.0, ..Default::default() };
    for data in [
        dejavu::sans::regular(),
        dejavu::sans::bold(),
        dejavu::sans::oblique(),
        dejavu::sans::bold_oblique(),
        dejavu::serif::regular(),
        dejavu::serif::bold(),
        dejavu::serif::italic(),
        dejavu::serif::bold_italic(),
    ] {
        opt.fontdb_mut().load_font_data(data.to_vec());
    }
    let tree = usvg::Tree::from_str(&svg, &opt).expect("usvg reads the SVG");
    let mut pm = resvg::tiny_skia::Pixmap::new(view.width, view.height).unwrap();
    let scale = f64::from(dpi) / 72.0;
    resvg::render(&tree, resvg::tiny_skia::Transform::from_scale(scale as f32, scale as f32), &mut pm.as_mut());
    let theirs: Vec<u8> = pm
        .pixels()
        .iter()
        .flat_map(|p| {
            let c = p.demultiply();
            [c.red(), c.green(), c.blue(), c.alpha()]
        })
        .collect();
    let ours = demultiplied(&png.pixmap);
    let (mean, far) = difference(&ours, &theirs);
    eprintln!("resvg vs png: mean {mean:.2}/255, {:.2}% of pixels differ by more than 48", far * 100.0);
    if mean >= 4.5 || far >= 0.045 {
        save_diff("resvg", view.width, view.height, &ours, &theirs);
    }
    // resvg shifts the phase of rotated pattern tiles across the page, and halos differ
    // at the edges of glyphs: a wider margin than librsvg's below.
    assert!(mean < 4.5 && far < 0.045, "mean {mean:.2}, far {far:.4}");
}

#[test]
fn svg_rasterised_by_rsvg_convert_matches_the_png() {
    if !tool("rsvg-convert") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (svg, png) = (dir.path().join("m.svg"), dir.path().join("m.png"));
    let args = ["render", "--year", "1723", "--size-mm", "148,105", "--dpi", "150"];
    bin().args(args).arg("--out").arg(&svg).assert().success();
    bin().args(args).arg("--out").arg(&png).assert().success();
    let raster = dir.path().join("rsvg.png");
    let st = std::process::Command::new("rsvg-convert")
        .args(["--dpi-x", "150", "--dpi-y", "150", "--background-color", "white", "-o"])
        .arg(&raster)
        .arg(&svg)
        .status()
        .unwrap();
    assert!(st.success());
    let read = |p: &Path| {
        let mut dec = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(p).unwrap()));
        dec.set_transformations(png::Transformations::EXPAND | png::Transformations::ALPHA);
        let mut r = dec.read_info().unwrap();
        let mut buf = vec![0; r.output_buffer_size().unwrap()];
        let info = r.next_frame(&mut buf).unwrap();
        buf.truncate(info.buffer_size());
        (info.width, info.height, info.color_type, buf)
    };
    let (w0, h0, ct0, ours) = read(&png);
    let (w1, h1, ct1, theirs) = read(&raster);
    // librsvg rounds the page (874.02 px) up, the PNG to the nearest pixel: compare the
    // common area.
    assert!(w0.abs_diff(w1) <= 1 && h0.abs_diff(h1) <= 1, "{w0}×{h0} vs {w1}×{h1}");
    let (w, h) = (w0.min(w1), h0.min(h1));
    let crop = |ct: png::ColorType, b: Vec<u8>, bw: u32| -> Vec<u8> {
        let n = ct.samples();
        (0..h as usize)
            .flat_map(|y| (0..w as usize).map(move |x| (y * bw as usize + x) * n))
            .flat_map(|i| if n == 4 { [b[i], b[i + 1], b[i + 2], b[i + 3]] } else { [b[i], b[i + 1], b[i + 2], 255] })
            .collect()
    };
    let (ours, theirs) = (crop(ct0, ours, w0), crop(ct1, theirs, w1));
    let (mean, far) = difference(&ours, &theirs);
    if mean >= 3.0 || far >= 0.02 {
        save_diff("rsvg", w, h, &ours, &theirs);
    }
    eprintln!("rsvg-convert vs png: mean {mean:.2}/255, {:.2}% of pixels differ by more than 48", far * 100.0);
    // librsvg ignores per-glyph `rotate`, so curved river names differ: a wider margin.
    assert!(mean < 3.0 && far < 0.02, "mean {mean:.2}, far {far:.4}");
}

#[test]
fn pdf_has_the_page_size_embedded_fonts_and_searchable_text() {
    if !(tool("pdfinfo") && tool("pdffonts") && tool("pdftotext")) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pdf = dir.path().join("map.pdf");
    bin()
        .args(["render", "--year", "1723", "--size-mm", "297,210", "--dpi", "150", "--out"])
        .arg(&pdf)
        .assert()
        .success();
    let run = |cmd: &str, args: &[&str]| {
        let out = std::process::Command::new(cmd)
            .args(args)
            .arg(&pdf)
            .args(if cmd == "pdftotext" { &["-"][..] } else { &[][..] })
            .output()
            .unwrap();
        assert!(out.status.success(), "{cmd} failed");
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let info = run("pdfinfo", &[]);
    let size = info.lines().find(|l| l.starts_with("Page size:")).expect("a page size");
    let nums: Vec<f64> = size.split_whitespace().filter_map(|w| w.parse().ok()).collect();
    assert!((nums[0] - 841.89).abs() < 0.1 && (nums[1] - 595.28).abs() < 0.1, "{size}");
    assert!(info.contains("Pages:           1"), "{info}");

    let fonts = run("pdffonts", &[]);
    let rows: Vec<&str> = fonts.lines().skip(2).collect();
    assert!(rows.len() >= 3, "{fonts}");
    for row in &rows {
        assert!(row.contains("DejaVu"), "{row}");
        let cols: Vec<&str> = row.split_whitespace().collect();
        // name, type…, encoding, then emb sub uni object ID
        let n = cols.len();
        assert_eq!(cols[n - 5], "yes", "not embedded: {row}");
    }

    let text = run("pdftotext", &[]);
    for phrase in ["The Kazakh–Dzungar Wars", "1723", "Barefooted", "Tashkent", "Khujand", "Samarkand", "KHANATE"] {
        assert!(text.contains(phrase), "pdftotext lacks {phrase:?}");
    }
}

#[test]
fn grayscale_option_leaves_only_greys_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let (svg, png) = (dir.path().join("g.svg"), dir.path().join("g.png"));
    let args = ["render", "--year", "1741", "--width", "600", "--grayscale"];
    bin().args(args).arg("--out").arg(&svg).assert().success();
    bin().args(args).arg("--out").arg(&png).assert().success();
    let text = std::fs::read_to_string(&svg).unwrap();
    let mut colours = 0;
    for (i, _) in text.match_indices("=\"#") {
        let hex = &text[i + 3..i + 9];
        colours += 1;
        assert!(hex[0..2] == hex[2..4] && hex[2..4] == hex[4..6], "colour #{hex} is not grey");
    }
    assert!(colours > 100);
    let mut dec = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&png).unwrap()));
    dec.set_transformations(png::Transformations::EXPAND);
    let mut r = dec.read_info().unwrap();
    let mut buf = vec![0; r.output_buffer_size().unwrap()];
    let info = r.next_frame(&mut buf).unwrap();
    let step = info.color_type.samples();
    assert!(buf[..info.buffer_size()].chunks_exact(step).all(|p| p[0] == p[1] && p[1] == p[2]));
}

#[test]
fn format_follows_the_extension_or_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("map.svg");
    let o = bin()
        .args(["render", "--year", "1723", "--width", "400", "--format", "pdf", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("--format pdf does not match --out") && err.lines().count() == 1, "{err}");
    assert!(!out.exists(), "nothing written");

    // A file name without a known extension takes the flag.
    let plain = dir.path().join("map");
    bin()
        .args(["render", "--year", "1723", "--width", "400", "--format", "svg", "--out"])
        .arg(&plain)
        .assert()
        .success();
    assert!(std::fs::read_to_string(&plain).unwrap().contains("<svg"));
    // Fonts embedded on request: one @font-face per face the map uses, as a data URL.
    let embedded = dir.path().join("embedded.svg");
    bin()
        .args(["render", "--year", "1723", "--width", "400", "--embed-fonts", "--out"])
        .arg(&embedded)
        .assert()
        .success();
    let text = std::fs::read_to_string(&embedded).unwrap();
    let faces = text.matches("@font-face").count();
    assert!(faces >= 3 && faces == text.matches("src: url(data:font/ttf;base64,").count(), "{faces} faces");
    assert!(roxmltree::Document::parse(&text).is_ok());
    let pdf = dir.path().join("MAP.PDF");
    bin().args(["render", "--year", "1723", "--width", "400", "--out"]).arg(&pdf).assert().success();
    assert!(std::fs::read(&pdf).unwrap().starts_with(b"%PDF-"));
}

#[test]
fn frames_writes_vector_key_frames_without_an_animation() {
    let dir = tempfile::tempdir().unwrap();
    let frames = dir.path().join("frames");
    bin()
        .args([
            "frames", "--from", "1723", "--to", "1725", "--width", "480", "--height", "270", "--format", "svg", "--out",
        ])
        .arg(&frames)
        .assert()
        .success();
    let mut names: Vec<String> =
        std::fs::read_dir(&frames).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    assert_eq!(names, ["1723.svg", "1724.svg", "1725.svg"]);
    assert!(!dir.path().join("animation.gif").exists() && !dir.path().join("animation.png").exists());
    let svg = std::fs::read_to_string(frames.join("1724.svg")).unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let year = doc.descendants().filter(|n| n.has_tag_name("text")).any(|t| t.text() == Some("1724"));
    assert!(year, "the key frame shows its year as text");
}
