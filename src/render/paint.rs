//! Drawing primitives over tiny-skia: projected paths, paints, strokes and fill patterns.

use super::canvas::{Canvas, Ink, Pen};
use crate::project::View;
use crate::style::{Pattern, Rgba};
use geo::{Coord, MultiPolygon};
use tiny_skia::{FillRule, LineCap, LineJoin, Paint, Path, PathBuilder, Pixmap, Stroke, Transform};

/// A solid, anti-aliased paint.
pub fn solid(c: Rgba, opacity: f32) -> Paint<'static> {
    let mut p = Paint { anti_alias: true, ..Default::default() };
    p.set_color(c.skia(opacity));
    p
}

/// A pen `width` px wide with round caps and joins and an optional dash pattern (px).
pub fn stroke(width: f32, dash: &[f32]) -> Pen {
    // A dash shorter than the line is wide is a dot: it needs its round caps.
    let dotted = dash.first().is_some_and(|d| *d < width);
    let valid = dash.len() >= 2 && dash.len().is_multiple_of(2) && dash.iter().all(|d| d.is_finite() && *d > 0.0);
    let dash = if valid { dash.to_vec() } else { Vec::new() };
    // Round joins on thin lines cost stroking time and look the same as mitres; so do
    // round caps on every dash of a thin dashed line.
    let join = if width < 6.0 { LineJoin::Miter } else { LineJoin::Round };
    let cap = if !dash.is_empty() && width < 3.0 && !dotted { LineCap::Butt } else { LineCap::Round };
    Pen { width: width.max(0.01), dash, cap, join }
}

/// Project a polyline to pixels.
pub fn project_line(view: &View, coords: &[Coord<f64>]) -> Vec<(f32, f32)> {
    crate::project::cached_line(view, coords, false, || project_line_now(view, coords))
}

/// [`project_line`] without the line cache.
fn project_line_now(view: &View, coords: &[Coord<f64>]) -> Vec<(f32, f32)> {
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
    crate::project::cached_line(view, coords, true, || decimate(&project_line_now(view, coords), 0.6))
}

/// A pixel polyline as an open path.
pub fn polyline_path(pts: &[(f32, f32)]) -> Option<Path> {
    let mut pb = PathBuilder::with_capacity(pts.len(), pts.len());
    let mut it = pts.iter();
    let first = it.next()?;
    pb.move_to(first.0, first.1);
    for p in it {
        pb.line_to(p.0, p.1);
    }
    pb.finish()
}

/// The rings of a multipolygon in pixels (sub-pixel detail dropped).
pub fn area_rings_px(view: &View, mp: &MultiPolygon<f64>) -> Vec<Vec<(f32, f32)>> {
    mp.0.iter()
        .flat_map(|poly| std::iter::once(poly.exterior()).chain(poly.interiors()))
        .map(|ring| project_drawn(view, &ring.0))
        .filter(|r| r.len() >= 3)
        .collect()
}

/// Closed pixel rings as one path (fill with even-odd for holes).
pub fn rings_path(rings: &[Vec<(f32, f32)>]) -> Option<Path> {
    let points: usize = rings.iter().map(Vec::len).sum();
    let mut pb = PathBuilder::with_capacity(points + rings.len(), points);
    for ring in rings {
        let Some(first) = ring.first() else { continue };
        pb.move_to(first.0, first.1);
        for p in &ring[1..] {
            pb.line_to(p.0, p.1);
        }
        pb.close();
    }
    pb.finish()
}

/// A multipolygon projected to a closed pixel path (fill with even-odd for holes).
pub fn area_path(view: &View, mp: &MultiPolygon<f64>) -> Option<Path> {
    rings_path(&area_rings_px(view, mp))
}

/// Fill `path` with a colour (even-odd, so holes stay open).
pub fn fill(canvas: &mut dyn Canvas, path: &Path, c: Rgba, opacity: f32) {
    canvas.fill_path(path, Ink::new(c, opacity), FillRule::EvenOdd);
}

/// Stroke `path` with a colour.
pub fn stroke_path(canvas: &mut dyn Canvas, path: &Path, c: Rgba, opacity: f32, s: &Pen) {
    canvas.stroke_path(path, Ink::new(c, opacity), s);
}

/// A family of parallel pattern lines: which line a point is on, where along it, and the
/// factor from line spacing to the step of the first function.
type LineFamily = (fn((f32, f32)) -> f32, fn((f32, f32)) -> f32, f32);

/// Draw a pattern (hatching, dots) inside pixel rings (even-odd), in `color`, with lines
/// `spacing` px apart and `width` px wide. Lines are cut to the area exactly by
/// intersecting them with its edges (no clip mask or pattern shader), and lie on one grid
/// across the whole image, so the hatching of neighbouring areas lines up.
pub fn draw_pattern(
    pixmap: &mut Pixmap,
    rings: &[Vec<(f32, f32)>],
    kind: Pattern,
    color: Rgba,
    spacing: f32,
    width: f32,
) {
    draw_pattern_at(pixmap, rings, kind, color, spacing, width, (0.0, 0.0));
}

/// [`draw_pattern`] onto a window of a larger image whose top left is at `origin` in the
/// rings' coordinates: the lines lie on the larger image's grid, so windows side by side
/// (tiles) join without a seam.
pub fn draw_pattern_at(
    pixmap: &mut Pixmap,
    rings: &[Vec<(f32, f32)>],
    kind: Pattern,
    color: Rgba,
    spacing: f32,
    width: f32,
    origin: (f32, f32),
) {
    let (cols, rows) = (0..pixmap.width(), 0..pixmap.height());
    draw_pattern_rect(pixmap, rings, kind, color, spacing, width, origin, cols, rows);
}

/// [`draw_pattern_at`] whose pixels need be right only in the columns `cols` of the
/// pixel rows `rows` (a partial redraw): lines that pass wholly above or below them are
/// left out. Each line is stroked as a contour of its own, and a row's coverage comes
/// only from the edges that cross it, so the pixels asked for are those of the whole
/// drawing, byte for byte. Lines of a hairline pattern (as thin as a pixel, which tiny-skia
/// draws segment by segment) that pass wholly left or right of the columns are left out
/// too; thicker ones are filled as one outline and keep them.
#[allow(clippy::too_many_arguments)]
pub fn draw_pattern_rect(
    pixmap: &mut Pixmap,
    rings: &[Vec<(f32, f32)>],
    kind: Pattern,
    color: Rgba,
    spacing: f32,
    width: f32,
    origin: (f32, f32),
    cols: std::ops::Range<u32>,
    rows: std::ops::Range<u32>,
) {
    // How far a line's ink (half its width, a dot's radius, anti-aliasing) reaches.
    let reach = width.abs().max(0.6) + 2.0;
    let (top, bottom) = (origin.1 + rows.start as f32 - reach, origin.1 + rows.end as f32 + reach);
    let hairline = kind != Pattern::Dots && (0.0..=1.0).contains(&width);
    let (left, right) = match hairline {
        true => (origin.0 + cols.start as f32 - reach, origin.0 + cols.end as f32 + reach),
        false => (f32::NEG_INFINITY, f32::INFINITY),
    };
    let s = spacing.max(2.0);
    let mut pb = PathBuilder::new();
    // Hairlines are drawn as tiny-skia draws them, but only within the columns and rows
    // asked for ([`hairline`]); the same pixels there. (An image past tiny-skia's tiling
    // size, 8191 px, takes tiny-skia's own way.)
    let small = pixmap.width() < 8192 && pixmap.height() < 8192;
    let hair = (hairline && small).then(|| super::hairline::HairInk::new(color.skia(1.0), width)).flatten();
    let mut segments: Vec<[(f32, f32); 2]> = Vec::new();
    // Each family of parallel lines: f(p) = const picks a line, g(p) orders points on it.
    let families: &[LineFamily] = match kind {
        Pattern::None => return,
        Pattern::Hatch => &[(|p| p.0 + p.1, |p| p.0, std::f32::consts::SQRT_2)],
        Pattern::BackHatch => &[(|p| p.0 - p.1, |p| p.0, std::f32::consts::SQRT_2)],
        Pattern::Cross => {
            &[(|p| p.0 + p.1, |p| p.0, std::f32::consts::SQRT_2), (|p| p.0 - p.1, |p| p.0, std::f32::consts::SQRT_2)]
        }
        Pattern::Horizontal | Pattern::Dots => &[(|p| p.1, |p| p.0, 1.0)],
        Pattern::Vertical => &[(|p| p.0, |p| p.1, 1.0)],
        Pattern::Grid => &[(|p| p.1, |p| p.0, 1.0), (|p| p.0, |p| p.1, 1.0)],
    };
    let (ox, oy) = origin;
    let (w, h) = (ox + pixmap.width() as f32, oy + pixmap.height() as f32);
    for &(f, g, scale) in families {
        // Line spacing measured across the lines.
        let step = s * scale;
        let mut hits: Vec<(i64, f32, (f32, f32))> = Vec::new();
        for ring in rings {
            for k in 0..ring.len() {
                let a = ring[k];
                let b = ring[(k + 1) % ring.len()];
                let (fa, fb) = (f(a), f(b));
                if fa == fb {
                    continue;
                }
                let lo = ((fa.min(fb) / step) - 0.5).ceil() as i64;
                let hi = ((fa.max(fb) / step) - 0.5).floor() as i64;
                for i in lo..=hi {
                    let c = (i as f32 + 0.5) * step;
                    let t = (c - fa) / (fb - fa);
                    // Half-open on the edge so a line through a vertex counts once.
                    if !(0.0..1.0).contains(&t) {
                        continue;
                    }
                    let p = (a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t);
                    hits.push((i, g(p), p));
                }
            }
        }
        hits.sort_by(|x, y| x.0.cmp(&y.0).then(x.1.total_cmp(&y.1)));
        for pair in hits.chunk_by(|x, y| x.0 == y.0).flat_map(|line| line.chunks_exact(2)) {
            let (p, q) = (pair[0].2, pair[1].2);
            let outside =
                (p.0 < ox && q.0 < ox) || (p.1 < oy && q.1 < oy) || (p.0 > w && q.0 > w) || (p.1 > h && q.1 > h);
            let off_rows = (p.1 < top && q.1 < top) || (p.1 > bottom && q.1 > bottom);
            let off_cols = (p.0 < left && q.0 < left) || (p.0 > right && q.0 > right);
            if outside || off_rows || off_cols {
                continue;
            }
            if kind == Pattern::Dots {
                // Dots on a square grid along the line's inside stretch.
                let row = (pair[0].0).rem_euclid(2) as f32;
                let (x0, x1) = (p.0.min(q.0), p.0.max(q.0));
                let mut x = ((x0 / s - 0.5 * row).ceil() + 0.5 * row) * s;
                while x <= x1 {
                    pb.push_circle(x, p.1, width.max(0.6));
                    x += s;
                }
            } else if hair.is_some() {
                // Moved as tiny-skia moves a path's points (a translation adds).
                segments.push([(p.0 + -ox, p.1 + -oy), (q.0 + -ox, q.1 + -oy)]);
            } else {
                pb.move_to(p.0, p.1);
                pb.line_to(q.0, q.1);
            }
        }
    }
    if let Some(ink) = hair {
        super::hairline::hairlines(pixmap, &segments, ink, cols, rows);
        return;
    }
    let Some(path) = pb.finish() else { return };
    let at = Transform::from_translate(-ox, -oy);
    if kind == Pattern::Dots {
        pixmap.fill_path(&path, &solid(color, 1.0), FillRule::Winding, at, None);
    } else {
        let st = Stroke { width, line_cap: LineCap::Butt, ..Default::default() };
        pixmap.stroke_path(&path, &solid(color, 1.0), &st, at, None);
    }
}

/// Composite a premultiplied layer of the same size over `dst` (source-over). A plain
/// loop that skips transparent pixels: several times faster than a general pixmap draw
/// for a mostly empty layer such as water and rivers.
pub fn composite_over(dst: &mut Pixmap, src: &Pixmap) {
    if dst.width() != src.width() || dst.height() != src.height() {
        return;
    }
    for (d, s) in dst.data_mut().chunks_exact_mut(4).zip(src.data().chunks_exact(4)) {
        let a = u32::from(s[3]);
        if a == 0 {
            continue;
        }
        if a == 255 {
            d.copy_from_slice(s);
            continue;
        }
        let inv = 255 - a;
        for k in 0..4 {
            d[k] = (u32::from(s[k]) + (u32::from(d[k]) * inv + 127) / 255).min(255) as u8;
        }
    }
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

/// Turn every pixel into its grey of the same luminance (Rec. 709 weights), for a
/// black-and-white document: the raster twin of the vector surfaces' grayscale option.
pub fn to_grayscale(pixmap: &mut Pixmap) {
    for px in pixmap.data_mut().chunks_exact_mut(4) {
        let l = (0.2126 * f32::from(px[0]) + 0.7152 * f32::from(px[1]) + 0.0722 * f32::from(px[2])).round() as u8;
        px[0] = l;
        px[1] = l;
        px[2] = l;
    }
}

/// The part of pixel `i` (the span `i..i + 1`) that `lo..hi` covers, 0–1.
fn span_cover(i: i64, lo: f32, hi: f32) -> f32 {
    (hi.min(i as f32 + 1.0) - lo.max(i as f32)).clamp(0.0, 1.0)
}

/// Fill an axis-aligned rectangle on a pixmap with a solid ink, anti-aliased by the exact
/// area each pixel has inside it. tiny-skia's own anti-aliased rectangle fill runs its
/// raster pipeline once per pixel row of each partly covered column, which makes a long
/// thin line (a graticule line) cost a hundred times its area; this is one pass over the
/// covered pixels.
pub fn fill_rect_px(pixmap: &mut Pixmap, rect: tiny_skia::Rect, ink: Ink) {
    let color = ink.color.skia(ink.opacity).premultiply().to_color_u8();
    if color.alpha() == 0 {
        return;
    }
    let (pw, ph) = (i64::from(pixmap.width()), i64::from(pixmap.height()));
    let (l, t, r, b) = (rect.left(), rect.top(), rect.right(), rect.bottom());
    if !(l.is_finite() && t.is_finite() && r.is_finite() && b.is_finite()) {
        return;
    }
    // Pixel columns and rows touched, clipped to the pixmap (the clamp keeps the casts in range).
    let clip = |v: f32, max: i64| v.clamp(0.0, max as f32) as i64;
    let (x0, x1) = (clip(l.floor(), pw), clip(r.ceil(), pw));
    let (y0, y1) = (clip(t.floor(), ph), clip(b.ceil(), ph));
    if x0 >= x1 || y0 >= y1 {
        return;
    }
    let cols: Vec<f32> = (x0..x1).map(|x| span_cover(x, l, r)).collect();
    let src = [color.red(), color.green(), color.blue(), color.alpha()].map(u32::from);
    let word = [color.red(), color.green(), color.blue(), color.alpha()];
    let opaque = color.alpha() == 255;
    let stride = pw as usize;
    let (pixels, _) = pixmap.data_mut().as_chunks_mut::<4>();
    // The coverage of each column in this row, 0–255, and the pixels blended by it.
    let mut cover = vec![0u8; cols.len()];
    for y in y0..y1 {
        let cy = span_cover(y, t, b);
        for (m, cx) in cover.iter_mut().zip(&cols) {
            // In 0..=255.5 before truncation.
            *m = (cx * cy * 255.0 + 0.5) as u8;
        }
        let row = &mut pixels[y as usize * stride + x0 as usize..y as usize * stride + x1 as usize];
        for (px, &m) in row.iter_mut().zip(&cover) {
            if m == 0 {
                continue;
            }
            if m == 255 && opaque {
                *px = word;
                continue;
            }
            let m = u32::from(m);
            let inv = 255 - div255(src[3] * m);
            for (d, s) in px.iter_mut().zip(src) {
                // Premultiplied source-over; never exceeds 255.
                *d = (div255(s * m) + div255(u32::from(*d) * inv)).min(255) as u8;
            }
        }
    }
}

/// `x / 255` rounded, for `x <= 255 * 255`.
fn div255(x: u32) -> u32 {
    ((x + 128) * 257) >> 16
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canvas() -> Pixmap {
        let mut pm = Pixmap::new(64, 48).expect("pixmap");
        // A background with some variety, so that blending is exercised.
        for (i, px) in pm.data_mut().chunks_exact_mut(4).enumerate() {
            px.copy_from_slice(&[(i * 7 % 256) as u8, (i * 13 % 256) as u8, 200, 255]);
        }
        pm
    }

    #[test]
    fn rect_fill_matches_tiny_skia() {
        let rects = [
            (10.3, 5.6, 11.1, 40.2),
            (0.0, 0.0, 64.0, 48.0),
            (-5.5, 20.25, 30.75, 20.9),
            (40.5, 30.5, 80.0, 60.0),
            (12.0, 12.0, 13.0, 13.0),
            (3.1, 7.9, 3.6, 8.4),
        ];
        for (l, t, r, b) in rects {
            for (color, opacity) in
                [(Rgba(20, 30, 40, 255), 1.0), (Rgba(200, 10, 90, 255), 0.35), (Rgba(9, 250, 9, 128), 1.0)]
            {
                let rect = tiny_skia::Rect::from_ltrb(l, t, r, b).expect("rect");
                let ink = Ink::new(color, opacity);
                let mut ours = canvas();
                fill_rect_px(&mut ours, rect, ink);
                let mut theirs = canvas();
                theirs.fill_rect(rect, &solid(color, opacity), Transform::identity(), None);
                let worst = ours.data().iter().zip(theirs.data()).map(|(a, b)| a.abs_diff(*b)).max().unwrap_or(0);
                assert!(worst <= 3, "{:?} {color:?} {opacity}: off by {worst}", (l, t, r, b));
            }
        }
    }

    #[test]
    fn rect_fill_outside_or_degenerate_draws_nothing() {
        let before = canvas();
        let mut pm = canvas();
        for (l, t, r, b) in [(-20.0, -20.0, -1.0, -1.0), (70.0, 0.0, 90.0, 10.0), (5.0, 60.0, 9.0, 70.0)] {
            fill_rect_px(
                &mut pm,
                tiny_skia::Rect::from_ltrb(l, t, r, b).expect("rect"),
                Ink::new(Rgba(0, 0, 0, 255), 1.0),
            );
        }
        assert_eq!(pm.data(), before.data());
    }
}
