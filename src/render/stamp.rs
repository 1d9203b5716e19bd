//! Town markers stamped from coverage masks drawn once per look and sub-pixel position.
//!
//! A marker is three small paths (its fill, its outline and a capital's dot), and drawing
//! one through the path filler costs a stroke outline and three sweeps: about 9 µs. A map
//! draws the same few looks of marker many times (every town of a rank in every window of
//! a tile run, a million points in a large dataset), so the masks of a look are drawn once
//! for each of [`PHASES`] × [`PHASES`] positions within a pixel, kept per thread, and
//! blended at each marker's whole-pixel place with the arithmetic of the path filler.
//!
//! A marker's centre is rounded to 1/[`PHASES`] px: every surface that stamps it (a whole
//! map, a metatile, a tile window, a partial redraw) puts its pixels in the same place,
//! since windows lie at whole pixels.

use super::canvas::{Marker, MarkerShape, Pen};
use super::raster;
use crate::style::Rgba;
use std::ops::Range;
use tiny_skia::{FillRule, Pixmap, Transform};

/// Positions per pixel a stamped marker's centre is rounded to, on each axis.
pub const PHASES: i64 = 16;

/// The largest marker radius, px, that is stamped (larger ones are drawn as paths).
const MAX_RADIUS: f32 = 48.0;

/// Looks of marker whose stamps are kept per thread before the cache is emptied.
const MAX_LOOKS: usize = 64;

/// What decides a stamp's pixels besides its centre's phase: the marker's look and pen.
#[derive(Clone, PartialEq)]
struct Look {
    shape: MarkerShape,
    r: f32,
    colours: [Rgba; 3],
    dot: bool,
    pen: Pen,
}

/// The stamps of one look, by phase (x + y × [`PHASES`]).
struct Stamps {
    look: Look,
    by_phase: Vec<Option<std::rc::Rc<Stamp>>>,
}

/// The layers of a marker, in drawing order, in a box whose top left lies `origin` px
/// left of and above the marker's whole-pixel centre.
struct Stamp {
    origin: i64,
    layers: Vec<Layer>,
}

/// One path of a marker: its premultiplied colour and its coverage of each pixel of the
/// part of the stamp's box it covers, rows of `w` px from `(x, y)`.
struct Layer {
    color: [u8; 4],
    x: i64,
    y: i64,
    w: usize,
    coverage: Vec<u8>,
}

thread_local! {
    /// The stamps drawn so far on this thread, by look (a map has a few looks of marker).
    static STAMPS: std::cell::RefCell<Vec<Stamps>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Draw `m` with `pen` on `px`, whose top left is at `at` in the marker's coordinates, in
/// the columns `cols` of the rows `rows` only. False when the marker is not stamped (a
/// centre or radius out of range, a pen of non-finite numbers): draw it as paths.
pub fn marker(px: &mut Pixmap, m: &Marker, pen: &Pen, at: (i32, i32), cols: Range<u32>, rows: Range<u32>) -> bool {
    let ok = |v: f32| v.is_finite() && v.abs() < (1 << 24) as f32;
    if !(ok(m.x) && ok(m.y) && m.r.is_finite() && m.r > 0.0 && m.r <= MAX_RADIUS)
        || !(pen.width.is_finite() && pen.width >= 0.0 && pen.width <= MAX_RADIUS)
        || pen.dash.iter().any(|d| !d.is_finite())
    {
        return false;
    }
    let (qx, qy) = ((f64::from(m.x) * PHASES as f64).round() as i64, (f64::from(m.y) * PHASES as f64).round() as i64);
    let phase = (qx.rem_euclid(PHASES) as u8, qy.rem_euclid(PHASES) as u8);
    let colours = [m.fill, m.ink, m.dot.unwrap_or(Rgba(0, 0, 0, 0))];
    let same = |l: &Look| {
        l.shape == m.shape
            && l.r.to_bits() == m.r.to_bits()
            && l.colours == colours
            && l.dot == m.dot.is_some()
            && l.pen == *pen
    };
    let stamp = STAMPS.with(|s| {
        let mut s = s.borrow_mut();
        let at = match s.iter().position(|k| same(&k.look)) {
            Some(i) => i,
            None => {
                if s.len() >= MAX_LOOKS {
                    s.clear();
                }
                let look = Look { shape: m.shape, r: m.r, colours, dot: m.dot.is_some(), pen: pen.clone() };
                s.push(Stamps { look, by_phase: vec![None; (PHASES * PHASES) as usize] });
                s.len() - 1
            }
        };
        let slot = &mut s[at].by_phase[usize::from(phase.0) + usize::from(phase.1) * PHASES as usize];
        slot.get_or_insert_with(|| std::rc::Rc::new(draw_stamp(m, pen, phase))).clone()
    });
    // The whole-pixel centre, in the window.
    let cx = qx.div_euclid(PHASES) - i64::from(at.0);
    let cy = qy.div_euclid(PHASES) - i64::from(at.1);
    blend(px, &stamp, (cx - stamp.origin, cy - stamp.origin), cols, rows);
    true
}

/// The masks of `m` with its centre at `phase` sixteenths of a pixel right of and below a
/// whole pixel, as the path filler draws its fill, outline and dot.
fn draw_stamp(m: &Marker, pen: &Pen, phase: (u8, u8)) -> Stamp {
    // The marker's bounds as a recording takes them (its outline's joins and
    // anti-aliasing included), and a pixel for the rounding of its centre.
    let origin = (m.reach().max(m.r) + super::record::stroke_margin(pen).max(1.0)).ceil() as i64 + 1;
    let side = 2 * origin as usize + 2;
    let centre = |p: u8| origin as f32 + f32::from(p) / PHASES as f32;
    let local = Marker { x: centre(phase.0), y: centre(phase.1), ..*m };
    let mut layers = Vec::new();
    local.draw_with(pen, |path, ink, stroke| {
        let Some(mut mask) = Pixmap::new(side as u32, side as u32) else { return };
        // Opaque white over nothing leaves each pixel's coverage in its alpha.
        let white = super::canvas::Ink::new(Rgba(255, 255, 255, 255), 1.0);
        let ink = match stroke {
            Some(pen) => {
                let (ink, pen) = raster::thin_pen(ink, pen, 1.0);
                raster::stroke_path(&mut mask, path, white, &pen, Transform::identity());
                ink
            }
            None => {
                raster::fill_path(&mut mask, path, white, FillRule::EvenOdd, Transform::identity());
                ink
            }
        };
        let color = ink.color.skia(ink.opacity).premultiply().to_color_u8();
        let color = [color.red(), color.green(), color.blue(), color.alpha()];
        let alpha: Vec<u8> = mask.data().chunks_exact(4).map(|p| p[3]).collect();
        // The box of the pixels it covers.
        let covered = |i: usize| alpha[i] > 0;
        let rows: Vec<usize> = (0..side).filter(|&r| (0..side).any(|c| covered(r * side + c))).collect();
        let cols: Vec<usize> = (0..side).filter(|&c| (0..side).any(|r| covered(r * side + c))).collect();
        let (Some(&r0), Some(&r1), Some(&c0), Some(&c1)) = (rows.first(), rows.last(), cols.first(), cols.last())
        else {
            return;
        };
        if color[3] > 0 {
            let coverage = (r0..=r1).flat_map(|r| alpha[r * side + c0..=r * side + c1].iter().copied()).collect();
            layers.push(Layer { color, x: c0 as i64, y: r0 as i64, w: c1 + 1 - c0, coverage });
        }
    });
    Stamp { origin, layers }
}

/// Blend the layers of `s` with its box's top left at `at` on `px`, within `cols` × `rows`.
fn blend(px: &mut Pixmap, s: &Stamp, at: (i64, i64), cols: Range<u32>, rows: Range<u32>) {
    let (w, h) = (i64::from(px.width()), i64::from(px.height()));
    let stride = w as usize;
    let (pixels, _) = px.data_mut().as_chunks_mut::<4>();
    for l in &s.layers {
        let (x, y) = (at.0 + l.x, at.1 + l.y);
        let lh = (l.coverage.len() / l.w) as i64;
        let (c0, c1) = (i64::from(cols.start).max(x).max(0), i64::from(cols.end).min(x + l.w as i64).min(w));
        let (r0, r1) = (i64::from(rows.start).max(y).max(0), i64::from(rows.end).min(y + lh).min(h));
        for row in r0..r1.max(r0) {
            let line = &mut pixels[row as usize * stride..];
            let m_row = &l.coverage[(row - y) as usize * l.w..][..l.w];
            // Runs of equal coverage, as the filler's sweep blends them.
            let mut col = c0;
            while col < c1 {
                let m = m_row[(col - x) as usize];
                let mut end = col + 1;
                while end < c1 && m_row[(end - x) as usize] == m {
                    end += 1;
                }
                if m > 0 {
                    raster::blend_run(&mut line[col as usize..end as usize], l.color, m);
                }
                col = end;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn town(x: f32, y: f32, shape: MarkerShape, dot: bool) -> Marker {
        Marker {
            shape,
            x,
            y,
            r: 3.4,
            fill: Rgba(200, 40, 30, 255),
            ink: Rgba(20, 20, 20, 255),
            dot: dot.then_some(Rgba(255, 255, 255, 255)),
        }
    }

    /// The marker drawn as paths, its centre rounded as a stamp rounds it.
    fn as_paths(m: &Marker, pen: &Pen, size: u32) -> Pixmap {
        let mut px = Pixmap::new(size, size).expect("pixmap");
        px.fill(tiny_skia::Color::from_rgba8(240, 230, 200, 255));
        let snap = |v: f32| ((f64::from(v) * PHASES as f64).round() / PHASES as f64) as f32;
        let m = Marker { x: snap(m.x), y: snap(m.y), ..*m };
        m.draw_with(pen, |path, ink, stroke| match stroke {
            Some(pen) => raster::stroke_path(&mut px, path, ink, pen, Transform::identity()),
            None => raster::fill_path(&mut px, path, ink, FillRule::EvenOdd, Transform::identity()),
        });
        px
    }

    #[test]
    fn a_stamped_marker_is_the_marker_drawn_as_paths() {
        let pens = [
            Pen { width: 0.9, dash: vec![], cap: tiny_skia::LineCap::Butt, join: tiny_skia::LineJoin::Miter },
            Pen { width: 1.6, dash: vec![1.5, 1.0], cap: tiny_skia::LineCap::Round, join: tiny_skia::LineJoin::Round },
            // Wide mitred corners reach past the pen's width.
            Pen { width: 3.0, dash: vec![], cap: tiny_skia::LineCap::Square, join: tiny_skia::LineJoin::Miter },
        ];
        let mut compared = 0;
        for (k, shape) in [MarkerShape::Circle, MarkerShape::Square, MarkerShape::Diamond].into_iter().enumerate() {
            for pen in &pens {
                for i in 0..40 {
                    // Centres all over a pixel, and far from the origin.
                    let (x, y) = (20.0 + i as f32 * 0.377, 21.0 + i as f32 * 0.611);
                    let m = town(x, y, shape, k == 0 && i % 2 == 0);
                    let want = as_paths(&m, pen, 64);
                    let mut got = Pixmap::new(64, 64).expect("pixmap");
                    got.fill(tiny_skia::Color::from_rgba8(240, 230, 200, 255));
                    assert!(marker(&mut got, &m, pen, (0, 0), 0..64, 0..64));
                    let worst = want.data().iter().zip(got.data()).map(|(a, b)| a.abs_diff(*b)).max();
                    // Float rounding at another place can move an edge by a 256th of a pixel.
                    assert!(worst <= Some(16), "{shape:?} at ({x}, {y}): {worst:?}");
                    compared += 1;
                }
            }
        }
        assert_eq!(compared, 360);
    }

    #[test]
    fn a_window_gets_the_pixels_of_the_whole_drawing() {
        let pen = Pen { width: 1.0, dash: vec![], cap: tiny_skia::LineCap::Butt, join: tiny_skia::LineJoin::Miter };
        let m = town(30.3, 33.8, MarkerShape::Circle, true);
        let mut whole = Pixmap::new(64, 64).expect("pixmap");
        assert!(marker(&mut whole, &m, &pen, (0, 0), 0..64, 0..64));
        // A window whose top left is (27, 29), redrawn only in its columns 2..5 of rows 1..9.
        let mut part = Pixmap::new(16, 16).expect("pixmap");
        assert!(marker(&mut part, &m, &pen, (27, 29), 2..5, 1..9));
        let mut inked = 0;
        for y in 0..16u32 {
            for x in 0..16u32 {
                let got = part.pixel(x, y).expect("pixel");
                if (2..5).contains(&x) && (1..9).contains(&y) {
                    assert_eq!(got, whole.pixel(x + 27, y + 29).expect("pixel"), "({x}, {y})");
                    inked += usize::from(got.alpha() > 0);
                } else {
                    assert_eq!(got.alpha(), 0, "({x}, {y}) is outside the box asked for");
                }
            }
        }
        assert!(inked > 10, "{inked}");
    }

    #[test]
    fn markers_out_of_range_are_left_to_the_path_filler() {
        let pen = Pen { width: 1.0, dash: vec![], cap: tiny_skia::LineCap::Butt, join: tiny_skia::LineJoin::Miter };
        let mut px = Pixmap::new(8, 8).expect("pixmap");
        for m in [
            town(f32::NAN, 1.0, MarkerShape::Circle, false),
            Marker { r: 500.0, ..town(1.0, 1.0, MarkerShape::Circle, false) },
            Marker { r: -1.0, ..town(1.0, 1.0, MarkerShape::Square, false) },
            town(1e30, 1.0, MarkerShape::Diamond, false),
        ] {
            assert!(!marker(&mut px, &m, &pen, (0, 0), 0..8, 0..8), "{m:?}");
        }
        let thick = Pen { width: f32::INFINITY, ..pen };
        assert!(!marker(&mut px, &town(1.0, 1.0, MarkerShape::Circle, false), &thick, (0, 0), 0..8, 0..8));
        assert!(px.data().iter().all(|&b| b == 0));
    }
}
