//! Drawing primitives over tiny-skia: projected paths, paints, strokes and fill patterns.

use crate::project::View;
use crate::style::{Pattern, Rgba};
use geo::{Coord, MultiPolygon};
use tiny_skia::{
    FillRule, FilterQuality, LineCap, LineJoin, Mask, Paint, Path, PathBuilder, Pixmap, SpreadMode, Stroke, StrokeDash,
    Transform,
};

/// A solid, anti-aliased paint.
pub fn solid(c: Rgba, opacity: f32) -> Paint<'static> {
    let mut p = Paint { anti_alias: true, ..Default::default() };
    p.set_color(c.skia(opacity));
    p
}

/// A stroke of `width` px with round caps and joins and an optional dash pattern (px).
pub fn stroke(width: f32, dash: &[f32]) -> Stroke {
    let dash = if dash.len() >= 2 && dash.len().is_multiple_of(2) && dash.iter().all(|d| *d > 0.0) {
        StrokeDash::new(dash.to_vec(), 0.0)
    } else {
        None
    };
    // Round joins on thin lines cost stroking time and look the same as mitres.
    let line_join = if width < 3.0 { LineJoin::Miter } else { LineJoin::Round };
    Stroke { width: width.max(0.01), line_cap: LineCap::Round, line_join, dash, ..Default::default() }
}

/// Project a polyline to pixels.
pub fn project_line(view: &View, coords: &[Coord<f64>]) -> Vec<(f32, f32)> {
    coords
        .iter()
        .map(|c| {
            let (x, y) = view.to_px(c.x, c.y);
            (x as f32, y as f32)
        })
        .collect()
}

/// Drop points closer than `tol` px to the last kept one (keeping both ends): geometry
/// finer than a pixel costs stroking time and changes nothing visible.
pub fn decimate(pts: &[(f32, f32)], tol: f32) -> Vec<(f32, f32)> {
    let mut out: Vec<(f32, f32)> = Vec::with_capacity(pts.len());
    for (i, p) in pts.iter().enumerate() {
        let keep = match out.last() {
            None => true,
            Some(q) => i + 1 == pts.len() || (p.0 - q.0).abs() + (p.1 - q.1).abs() >= tol,
        };
        if keep {
            out.push(*p);
        }
    }
    out
}

/// Project a polyline to pixels and drop sub-pixel detail.
pub fn project_drawn(view: &View, coords: &[Coord<f64>]) -> Vec<(f32, f32)> {
    decimate(&project_line(view, coords), 0.6)
}

/// A pixel polyline as an open path.
pub fn polyline_path(pts: &[(f32, f32)]) -> Option<Path> {
    let mut pb = PathBuilder::new();
    let mut it = pts.iter();
    let first = it.next()?;
    pb.move_to(first.0, first.1);
    for p in it {
        pb.line_to(p.0, p.1);
    }
    pb.finish()
}

/// A multipolygon projected to a closed pixel path (fill with even-odd for holes).
pub fn area_path(view: &View, mp: &MultiPolygon<f64>) -> Option<Path> {
    let mut pb = PathBuilder::new();
    for poly in &mp.0 {
        for ring in std::iter::once(poly.exterior()).chain(poly.interiors()) {
            let pts = project_drawn(view, &ring.0);
            let mut it = pts.iter();
            if let Some(first) = it.next() {
                pb.move_to(first.0, first.1);
                for p in it {
                    pb.line_to(p.0, p.1);
                }
                pb.close();
            }
        }
    }
    pb.finish()
}

/// Fill `path` with a colour.
pub fn fill(pixmap: &mut Pixmap, path: &Path, c: Rgba, opacity: f32, mask: Option<&Mask>) {
    pixmap.fill_path(path, &solid(c, opacity), FillRule::EvenOdd, Transform::identity(), mask);
}

/// Stroke `path` with a colour.
pub fn stroke_path(pixmap: &mut Pixmap, path: &Path, c: Rgba, opacity: f32, s: &Stroke, mask: Option<&Mask>) {
    pixmap.stroke_path(path, &solid(c, opacity), s, Transform::identity(), mask);
}

/// A repeating tile for a fill pattern: lines or dots of `color`, `spacing` px apart.
pub fn pattern_tile(kind: Pattern, color: Rgba, spacing: f32, width: f32) -> Option<Pixmap> {
    if kind == Pattern::None {
        return None;
    }
    let s = spacing.round().max(3.0);
    let mut tile = Pixmap::new(s as u32, s as u32)?;
    let st = Stroke { width, line_cap: LineCap::Square, ..Default::default() };
    let paint = solid(color, 1.0);
    let mut pb = PathBuilder::new();
    let diag = |pb: &mut PathBuilder, forward: bool| {
        for k in -1..=1 {
            let o = k as f32 * s;
            if forward {
                pb.move_to(o, s);
                pb.line_to(o + s, 0.0);
            } else {
                pb.move_to(o, 0.0);
                pb.line_to(o + s, s);
            }
        }
    };
    match kind {
        Pattern::Hatch => diag(&mut pb, true),
        Pattern::BackHatch => diag(&mut pb, false),
        Pattern::Cross => {
            diag(&mut pb, true);
            diag(&mut pb, false);
        }
        Pattern::Horizontal => {
            pb.move_to(0.0, s / 2.0);
            pb.line_to(s, s / 2.0);
        }
        Pattern::Vertical => {
            pb.move_to(s / 2.0, 0.0);
            pb.line_to(s / 2.0, s);
        }
        Pattern::Dots => {
            let dot = PathBuilder::from_circle(s / 2.0, s / 2.0, width.max(0.6))?;
            tile.fill_path(&dot, &paint, FillRule::Winding, Transform::identity(), None);
            return Some(tile);
        }
        Pattern::None => return None,
    }
    let path = pb.finish()?;
    tile.stroke_path(&path, &paint, &st, Transform::identity(), None);
    Some(tile)
}

/// Fill `path` with a repeating pattern tile.
pub fn fill_pattern(pixmap: &mut Pixmap, path: &Path, tile: &Pixmap, mask: Option<&Mask>) {
    let paint = Paint {
        shader: tiny_skia::Pattern::new(
            tile.as_ref(),
            SpreadMode::Repeat,
            FilterQuality::Nearest,
            1.0,
            Transform::identity(),
        ),
        anti_alias: true,
        ..Default::default()
    };
    pixmap.fill_path(path, &paint, FillRule::EvenOdd, Transform::identity(), mask);
}

/// A clip mask covering a filled path.
pub fn mask_of(width: u32, height: u32, path: &Path) -> Option<Mask> {
    let mut m = Mask::new(width, height)?;
    m.fill_path(path, FillRule::EvenOdd, true, Transform::identity());
    Some(m)
}

/// Length of a pixel polyline.
pub fn polyline_length(pts: &[(f32, f32)]) -> f32 {
    pts.windows(2).map(|w| (w[1].0 - w[0].0).hypot(w[1].1 - w[0].1)).sum()
}

/// The first `fraction` (0–1) of a polyline, by length.
pub fn polyline_prefix(pts: &[(f32, f32)], fraction: f32) -> Vec<(f32, f32)> {
    let total = polyline_length(pts);
    let want = total * fraction.clamp(0.0, 1.0);
    let mut out = vec![];
    let mut acc = 0.0;
    for w in pts.windows(2) {
        if out.is_empty() {
            out.push(w[0]);
        }
        let len = (w[1].0 - w[0].0).hypot(w[1].1 - w[0].1);
        if acc + len >= want {
            let t = if len > 0.0 { (want - acc) / len } else { 0.0 };
            out.push((w[0].0 + (w[1].0 - w[0].0) * t, w[0].1 + (w[1].1 - w[0].1) * t));
            return out;
        }
        acc += len;
        out.push(w[1]);
    }
    out
}

/// Cut `len` px off the end of a polyline (to make room for an arrowhead).
pub fn trim_end(pts: &[(f32, f32)], len: f32) -> Vec<(f32, f32)> {
    let total = polyline_length(pts);
    if total <= len * 1.5 {
        return pts.to_vec();
    }
    polyline_prefix(pts, (total - len) / total)
}

/// Clip a polyline to a rectangle loosely: keep the runs of points inside it (plus one
/// point either side), as separate pieces.
pub fn runs_inside(pts: &[(f32, f32)], rect: [f32; 4]) -> Vec<Vec<(f32, f32)>> {
    let inside = |p: &(f32, f32)| p.0 >= rect[0] && p.0 <= rect[2] && p.1 >= rect[1] && p.1 <= rect[3];
    let mut runs = vec![];
    let mut cur: Vec<(f32, f32)> = vec![];
    for (i, p) in pts.iter().enumerate() {
        if inside(p) {
            if cur.is_empty() && i > 0 {
                cur.push(pts[i - 1]);
            }
            cur.push(*p);
        } else if !cur.is_empty() {
            cur.push(*p);
            runs.push(std::mem::take(&mut cur));
        }
    }
    if cur.len() >= 2 {
        runs.push(cur);
    }
    runs
}
