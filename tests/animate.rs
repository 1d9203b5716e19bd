//! The animation end to end: frame counts, GIF and APNG read back by their decoders with
//! the delays asked for, identical map states rendered identically, and memory that does
//! not grow with the number of frames.

use assert_cmd::Command;
use std::path::{Path, PathBuf};
use steppe_atlas::animate::{map_state, plan, AnimationOptions};
use steppe_atlas::data::Source;
use steppe_atlas::output::encode_png;
use steppe_atlas::project::{LonLatBox, Projection, ProjectionKind, View};
use steppe_atlas::render::{render_map, RenderOptions};
use steppe_atlas::style::Style;
use steppe_atlas::time::{EndDates, Year};
use steppe_atlas::Atlas;

fn mini_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/mini")
}

fn frames(args: &[&str]) -> std::process::Output {
    let out = Command::cargo_bin("steppe-atlas")
        .unwrap()
        .arg("frames")
        .arg("--data")
        .arg(mini_dir())
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    out
}

fn gif_frames(path: &Path) -> Vec<(u16, u16, u16)> {
    let mut opts = gif::DecodeOptions::new();
    opts.set_color_output(gif::ColorOutput::Indexed);
    let mut dec = opts.read_info(std::fs::File::open(path).unwrap()).expect("a GIF");
    let mut out = Vec::new();
    while let Some(f) = dec.read_next_frame().expect("frame decodes") {
        out.push((f.delay, f.width, f.height));
    }
    out
}

/// (acTL frame count, per-frame delays as (num, den)) read back by the png crate.
fn apng_frames(path: &Path) -> (u32, Vec<(u16, u16)>) {
    let dec = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = dec.read_info().expect("a PNG");
    let actl = reader.info().animation_control().expect("acTL chunk").num_frames;
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let mut delays = Vec::new();
    for _ in 0..actl {
        reader.next_frame(&mut buf).expect("frame decodes");
        let fc = reader.info().frame_control().expect("fcTL chunk");
        delays.push((fc.delay_num, fc.delay_den));
    }
    (actl, delays)
}

#[test]
fn one_frame_per_year_gif_and_apng_with_the_delays_asked_for() {
    let tmp = tempfile::tempdir().unwrap();
    // With no --gif/--apng given, both go beside the frames folder.
    let dir = tmp.path().join("run");
    frames(&[
        "--from",
        "1715",
        "--to",
        "1730",
        "--width",
        "320",
        "--height",
        "180",
        "--fps",
        "4",
        "--hold",
        "2",
        "--out",
        dir.join("frames").to_str().unwrap(),
    ]);
    let mut names: Vec<String> =
        std::fs::read_dir(dir.join("frames")).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    let expected: Vec<String> = (1715..=1730).map(|y| format!("{y}.png")).collect();
    assert_eq!(names, expected, "one key frame per year, names in time order");

    let g = gif_frames(&dir.join("animation.gif"));
    assert_eq!(g.len(), 16);
    // 4 fps = 25 cs; the captioned years of the mini atlas (1723, 1724) hold 2 s.
    for (k, (delay, _, _)) in g.iter().enumerate() {
        let year = 1715 + k as i32;
        let want = if year == 1723 || year == 1724 { 200 } else { 25 };
        assert_eq!(*delay, want, "GIF delay of {year}");
    }
    assert_eq!((g[0].1, g[0].2), (320, 180), "first GIF frame is the whole image");

    let (n, delays) = apng_frames(&dir.join("animation.png"));
    assert_eq!(n, 16);
    for (k, (num, den)) in delays.iter().enumerate() {
        let year = 1715 + k as i32;
        let want = if year == 1723 || year == 1724 { 2.0 } else { 0.25 };
        assert!((f32::from(*num) / f32::from(*den) - want).abs() < 1e-6, "APNG delay of {year}: {num}/{den}");
    }
    // Frames outside the animation's folder are left alone (no stray temp files).
    let leftovers: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(leftovers.len(), 3, "{leftovers:?}");
}

#[test]
fn tween_frames_go_only_into_the_animations() {
    let tmp = tempfile::tempdir().unwrap();
    let (gif, apng, seq) = (tmp.path().join("t.gif"), tmp.path().join("t.png"), tmp.path().join("seq"));
    frames(&[
        "--from",
        "1716",
        "--to",
        "1726",
        "--width",
        "240",
        "--height",
        "160",
        "--tween",
        "2",
        "--out",
        tmp.path().join("frames").to_str().unwrap(),
        "--gif",
        gif.to_str().unwrap(),
        "--apng",
        apng.to_str().unwrap(),
        "--sequence",
        seq.to_str().unwrap(),
    ]);
    // 11 years; Semipalatinsk is founded in 1718 and land and towns change hands in 1723
    // and 1724: three transitions with 2 in-between frames each.
    assert_eq!(gif_frames(&gif).len(), 11 + 3 * 2);
    assert_eq!(apng_frames(&apng).0, 17);
    assert_eq!(std::fs::read_dir(tmp.path().join("frames")).unwrap().count(), 11);
    let mut seq_names: Vec<String> =
        std::fs::read_dir(&seq).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    seq_names.sort();
    assert_eq!(seq_names.first().map(String::as_str), Some("000001.png"));
    assert_eq!(seq_names.last().map(String::as_str), Some("000017.png"));
}

fn mini() -> Atlas {
    Atlas::load(&Source::Dir(mini_dir()), EndDates::Inclusive).unwrap()
}

#[test]
fn identical_map_states_render_identically_and_changes_show_at_turkistan() {
    let atlas = mini();
    let style = Style::load("atlas").unwrap();
    let bbox = LonLatBox::from_array(atlas.data.default_bbox().unwrap());
    let view = View::fit(Projection::fitted(ProjectionKind::Lcc, &bbox), &bbox, 400, 260);
    let map = |y: i32| {
        let mut o = RenderOptions::frame(Year(y), 96.0);
        o.fixed_title = true;
        encode_png(&render_map(&atlas, &style, &view, &o).pixmap, 96.0).unwrap()
    };
    // 1710 and 1711 are quiet years: same state, same bytes.
    assert_eq!(map_state(&atlas, 1710), map_state(&atlas, 1711));
    assert_eq!(map(1710), map(1711));
    assert_ne!(map_state(&atlas, 1722), map_state(&atlas, 1723));

    // The 1722 and 1723 maps differ around Turkistan (it changes hands).
    let px = |y: i32| {
        let mut o = RenderOptions::frame(Year(y), 96.0);
        o.fixed_title = true;
        render_map(&atlas, &style, &view, &o).pixmap
    };
    let (a, b) = (px(1722), px(1723));
    let (tx, ty) = view.to_px(68.27, 43.30);
    let mut differ = 0;
    for dy in -6..=6 {
        for dx in -6..=6 {
            let (x, y) = ((tx as i32 + dx) as u32, (ty as i32 + dy) as u32);
            if a.pixel(x, y) != b.pixel(x, y) {
                differ += 1;
            }
        }
    }
    assert!(differ > 20, "only {differ} pixels around Turkistan differ");
}

#[test]
fn the_plan_renders_each_distinct_state_once() {
    let atlas = mini();
    let o = AnimationOptions {
        from: 1700,
        to: 1750,
        frames_dir: None,
        gif: None,
        apng: None,
        sequence: None,
        fps: 5.0,
        tween: 0,
        hold: 1.5,
        lang: "en".into(),
        dpi: 96.0,
        progress: false,
    };
    let p = plan(&atlas, &o);
    assert_eq!(p.len(), 51);
    let mut states: Vec<u64> = p.iter().map(|f| f.state).collect();
    states.sort_unstable();
    states.dedup();
    // Before 1718; 1718–1722 (Semipalatinsk); 1723; 1724 (retaken, Sozak destroyed); 1725 on.
    assert_eq!(states.len(), 5, "distinct map states");
}

fn peak_kib(from: &str, to: &str) -> u64 {
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::cargo_bin("steppe-atlas")
        .unwrap()
        .env("STEPPE_ATLAS_TIMING", "1")
        .args(["frames", "--data"])
        .arg(mini_dir())
        .args(["--from", from, "--to", to, "--width", "480", "--height", "270", "--tween", "1", "--out"])
        .arg(tmp.path().join("f"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr.lines().find(|l| l.starts_with("peak_rss_kib: ")).expect("peak reported");
    line["peak_rss_kib: ".len()..].trim().parse().unwrap()
}

#[test]
fn peak_memory_does_not_grow_with_the_frame_count() {
    if !Path::new("/proc/self/status").exists() {
        return;
    }
    let short = peak_kib("1720", "1727");
    let long = peak_kib("1600", "1800");
    // 8 years against 201: a renderer that kept its frames would need 25x the memory.
    assert!(long < short + short / 2, "peak {long} KiB for 201 years vs {short} KiB for 8");
}

#[test]
fn a_cached_base_layer_draws_the_same_map() {
    let atlas = Atlas::load(&Source::Embedded, EndDates::Inclusive).unwrap();
    let style = Style::load("print").unwrap();
    let bbox = LonLatBox::from_array(atlas.data.default_bbox().unwrap());
    let view = View::fit(Projection::fitted(ProjectionKind::Lcc, &bbox), &bbox, 640, 360);
    let opts = RenderOptions::frame(Year(1723), 96.0);
    let base = steppe_atlas::render::render_base(&atlas, &style, &view, &opts, (1635, 1741)).expect("undated water");
    let direct = render_map(&atlas, &style, &view, &opts).pixmap;
    let mut cached_opts = opts.clone();
    cached_opts.base_layer = Some(std::sync::Arc::new(base));
    let cached = render_map(&atlas, &style, &view, &cached_opts).pixmap;
    let off =
        direct.data().iter().zip(cached.data()).filter(|(a, b)| (i32::from(**a) - i32::from(**b)).abs() > 4).count();
    assert!(off < direct.data().len() / 1000, "{off} channel values differ by more than 4");
}

#[test]
fn the_gif_keeps_polity_colours_exact() {
    let tmp = tempfile::tempdir().unwrap();
    let gif_path = tmp.path().join("c.gif");
    frames(&[
        "--from",
        "1720",
        "--to",
        "1726",
        "--width",
        "480",
        "--height",
        "270",
        "--style",
        "print",
        "--out",
        tmp.path().join("f").to_str().unwrap(),
        "--gif",
        gif_path.to_str().unwrap(),
    ]);
    let atlas = mini();
    let style = Style::load("print").unwrap();
    let bbox = LonLatBox::from_array(atlas.data.default_bbox().unwrap());
    let full = View::fit(Projection::fitted(ProjectionKind::Lcc, &bbox), &bbox, 480, 270);
    // Animation frames fit the map above their caption band and timeline.
    let bottom = steppe_atlas::render::animation_bottom_px(&atlas, &style, &full, 96.0, "en");
    assert!(bottom > 270.0 * 0.1 && bottom < 270.0 * 0.5, "bottom furniture {bottom} px");
    let view = View::fit_above(full.projection, &bbox, 480, 270, bottom);
    let (_, sy) = view.to_px(70.0, 39.0);
    assert!(sy < 270.0 - bottom + 0.5, "the map's south edge {sy} stays above the band");
    // A point inside Dzungar core land, clear of labels, lakes and routes.
    let (x, y) = view.to_px(77.5, 42.0);
    let (x, y) = (x as usize, y as usize);
    let mut opts = gif::DecodeOptions::new();
    opts.set_color_output(gif::ColorOutput::RGBA);
    let mut dec = opts.read_info(std::fs::File::open(&gif_path).unwrap()).unwrap();
    let first = dec.read_next_frame().unwrap().expect("a frame");
    let i = (y * 480 + x) * 4;
    let got = &first.buffer[i..i + 3];
    let ps = style.polity("dzungar").unwrap();
    let want = style.land.mix(ps.fill, style.territories.fill_opacity);
    assert_eq!(got, [want.0, want.1, want.2], "Dzungar land in the GIF at ({x}, {y})");
}

/// Decode a PNG file to RGB bytes.
fn png_rgb(path: &Path) -> (u32, u32, Vec<u8>) {
    let mut r = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap())).read_info().unwrap();
    let mut buf = vec![0; r.output_buffer_size().unwrap()];
    let info = r.next_frame(&mut buf).unwrap();
    let rgb = match info.color_type {
        png::ColorType::Rgb => buf[..info.buffer_size()].to_vec(),
        png::ColorType::Rgba => buf[..info.buffer_size()].chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).collect(),
        other => panic!("{other:?}"),
    };
    (info.width, info.height, rgb)
}

#[test]
fn apng_frames_composite_to_the_key_frames() {
    let tmp = tempfile::tempdir().unwrap();
    let apng = tmp.path().join("a.png");
    let frames_dir = tmp.path().join("f");
    frames(&[
        "--from",
        "1720",
        "--to",
        "1726",
        "--width",
        "360",
        "--height",
        "200",
        "--out",
        frames_dir.to_str().unwrap(),
        "--apng",
        apng.to_str().unwrap(),
    ]);
    // Composite every frame (offset, size, blend op) as a viewer does.
    let mut r = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&apng).unwrap())).read_info().unwrap();
    let (w, h) = (r.info().width as usize, r.info().height as usize);
    let n = r.info().animation_control().unwrap().num_frames;
    let mut canvas = vec![0u8; w * h * 4];
    let mut buf = vec![0; r.output_buffer_size().unwrap()];
    for k in 0..n {
        let info = r.next_frame(&mut buf).unwrap();
        let fc = *r.info().frame_control().unwrap();
        assert_eq!(info.color_type, png::ColorType::Rgba);
        let (fw, fh, fx, fy) = (fc.width as usize, fc.height as usize, fc.x_offset as usize, fc.y_offset as usize);
        for y in 0..fh {
            for x in 0..fw {
                let s = &buf[(y * fw + x) * 4..(y * fw + x) * 4 + 4];
                let d = ((fy + y) * w + fx + x) * 4;
                let over = fc.blend_op == png::BlendOp::Over;
                if !over || s[3] == 255 {
                    canvas[d..d + 4].copy_from_slice(s);
                } else {
                    assert_eq!(s[3], 0, "frames are opaque or fully transparent");
                }
            }
        }
        let year = 1720 + k;
        let (kw, kh, key) = png_rgb(&frames_dir.join(format!("{year}.png")));
        assert_eq!((kw as usize, kh as usize), (w, h));
        let rgb: Vec<u8> = canvas.chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).collect();
        assert!(rgb == key, "APNG frame {k} composited differs from {year}.png");
    }
}

/// Run `frames` on the mini atlas into `dir` (key frames, sequence, GIF, APNG), redrawing
/// either only the dirty tiles of each frame or every frame whole.
fn frames_into(dir: &Path, whole: bool, args: &[&str]) {
    let mut cmd = Command::cargo_bin("steppe-atlas").unwrap();
    cmd.arg("frames").arg("--data").arg(mini_dir()).args(args);
    for (flag, name) in [("--out", "keys"), ("--sequence", "seq"), ("--gif", "a.gif"), ("--apng", "a.png")] {
        cmd.arg(flag).arg(dir.join(name));
    }
    if whole {
        cmd.env("STEPPE_ATLAS_FULL_REDRAW", "1");
    } else {
        cmd.env_remove("STEPPE_ATLAS_FULL_REDRAW");
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// Frames through Pillow, composited as a viewer shows them: (width, height, RGB of every frame).
fn pillow_frames(path: &Path) -> Option<(usize, usize, Vec<Vec<u8>>)> {
    let script = "import sys\nfrom PIL import Image, ImageSequence\nim = Image.open(sys.argv[1])\n\
                  sys.stdout.write(f'{im.width} {im.height}\\n')\nsys.stdout.flush()\n\
                  for f in ImageSequence.Iterator(im):\n    sys.stdout.buffer.write(f.convert('RGB').tobytes())\n";
    let out = std::process::Command::new("python3").args(["-c", script]).arg(path).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let nl = out.stdout.iter().position(|&b| b == b'\n')?;
    let head = String::from_utf8_lossy(&out.stdout[..nl]).to_string();
    let mut wh = head.split(' ').map(|v| v.parse::<usize>().unwrap());
    let (w, h) = (wh.next()?, wh.next()?);
    Some((w, h, out.stdout[nl + 1..].chunks(w * h * 3).map(<[u8]>::to_vec).collect()))
}

#[test]
fn frames_redrawn_by_dirty_tiles_equal_whole_redraws() {
    let tmp = tempfile::tempdir().unwrap();
    let (dirty, whole) = (tmp.path().join("dirty"), tmp.path().join("whole"));
    // Quiet years, changes of hands (1718, 1723, 1724) with tweens, chunks of a few frames.
    let args = ["--from", "1712", "--to", "1727", "--width", "330", "--height", "210", "--tween", "3"];
    frames_into(&dirty, false, &args);
    frames_into(&whole, true, &args);
    let names = |d: &Path| {
        let mut v: Vec<String> =
            std::fs::read_dir(d).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        v.sort();
        v
    };
    let seq = names(&dirty.join("seq"));
    assert_eq!(seq.len(), 16 + 3 * 3);
    assert_eq!(seq, names(&whole.join("seq")));
    // Every frame has the same pixels, whichever way it was drawn.
    let mut sequence = Vec::new();
    for n in &seq {
        let (a, b) = (png_rgb(&dirty.join("seq").join(n)), png_rgb(&whole.join("seq").join(n)));
        assert!(a == b, "frame {n} redrawn by tiles differs from the whole redraw");
        sequence.push(a.2);
    }
    for n in names(&dirty.join("keys")) {
        assert!(png_rgb(&dirty.join("keys").join(&n)) == png_rgb(&whole.join("keys").join(&n)), "key frame {n}");
    }
    // And so do the animations, byte for byte (their encoders are deterministic).
    for f in ["a.gif", "a.png"] {
        assert!(std::fs::read(dirty.join(f)).unwrap() == std::fs::read(whole.join(f)).unwrap(), "{f} differs");
    }
    // An independent reader composites the APNG to exactly the sequence, and the GIF to it
    // within its palette's error.
    let Some((w, h, apng)) = pillow_frames(&dirty.join("a.png")) else {
        assert!(std::env::var_os("CI").is_none(), "CI must install python3 with Pillow");
        eprintln!("skipped the Pillow check: python3 with Pillow is not installed");
        return;
    };
    assert_eq!((w, h, apng.len()), (330, 210, sequence.len()));
    for (k, (got, want)) in apng.iter().zip(&sequence).enumerate() {
        assert!(got == want, "APNG frame {k} as Pillow shows it differs from {}", seq[k]);
    }
    let (_, _, gif) = pillow_frames(&dirty.join("a.gif")).expect("Pillow reads the GIF");
    assert_eq!(gif.len(), sequence.len());
    for (k, (got, want)) in gif.iter().zip(&sequence).enumerate() {
        let err: u64 = got.iter().zip(want).map(|(a, b)| u64::from(a.abs_diff(*b))).sum();
        let mean = err as f64 / got.len() as f64;
        assert!(mean < 2.0, "GIF frame {k}: mean error {mean:.2} per channel against {}", seq[k]);
    }
}
