//! A recorded drawing: every operation a map draws, with its pixel bounds and a digest,
//! replayed onto any window of the image.
//!
//! Tiles are drawn this way. A metatile's map is laid out and drawn once onto a
//! [`Recording`] (labels are placed across the whole metatile, so none is cut at a tile
//! edge), and each 256 px tile is then rasterised on its own from the operations that
//! touch it. A tile's content key ([`Recording::window_key`]) hashes the digests of those
//! operations in drawing order: equal keys mean byte-identical pixels, because a window's
//! pixels are a function of exactly those operations (tiny-skia is deterministic and
//! nothing reads the surface back). So the work of a year follows what changed in it: a
//! tile whose key was seen in another year is not drawn again.
//!
//! Every window is drawn the same way whether or not its key was seen, so the tiles of an
//! incremental run are those of a full run, byte for byte.

use super::canvas::{Canvas, Ink, Marker, Pen};
use super::paint::draw_pattern_rect;
use super::raster::{Coverages, Keep};
use super::text::{Fonts, PlacedGlyph, PreparedText, TextStyle};
use crate::style::{Pattern, Rgba};
use tiny_skia::{Color, FillRule, Path, Pixmap, PixmapPaint, Rect, Transform};
use twox_hash::XxHash3_128;

/// One drawing operation, in the recording's pixel coordinates.
#[derive(Clone)]
enum Op {
    /// A filled path, with its contours as pieces.
    Fill { path: Path, ink: Ink, rule: FillRule, pieces: Vec<Piece> },
    /// A stroked path, with its contours as pieces.
    Stroke { path: Path, ink: Ink, pen: Pen, pieces: Vec<Piece> },
    /// An axis-aligned rectangle.
    Rect { rect: Rect, ink: Ink },
    /// A line or dot pattern inside rings.
    Pattern { rings: Vec<Vec<(f32, f32)>>, kind: Pattern, color: Rgba, spacing: f32, width: f32 },
    /// A line of text, with the boxes its glyphs can ink (recorded with digests only).
    Text { text: String, x: f32, y: f32, style: TextStyle, ink: Box<[[f32; 4]]> },
    /// Glyphs placed along a path, with the boxes they can ink (likewise).
    Glyphs { glyphs: Vec<PlacedGlyph>, style: TextStyle, ink: Box<[[f32; 4]]> },
    /// A premultiplied raster with its top left at (x, y).
    Image { layer: Pixmap, x: i32, y: i32 },
    /// Town markers drawn one after another with one pen, each as small as its numbers
    /// (a metatile may hold a hundred thousand); each one reaches windows and cells on its
    /// own, as if it were its own operations.
    Markers { pen: Pen, marks: Vec<Marker> },
}

/// Where a marker drawn with `pen` can change pixels: its shape grown by its outline and
/// anti-aliasing (the bounds its fill and stroke would have on their own).
pub fn marker_bounds(m: &Marker, pen: &Pen) -> [f32; 4] {
    let e = stroke_margin(pen).max(1.0);
    let (rx, ry) = (m.r + e, m.reach() + e);
    [m.x - rx, m.y - ry, m.x + rx, m.y + ry]
}

/// Everything that decides a marker's pixels besides its pen.
fn hash_marker(m: &Marker, h: &mut super::Gathered) {
    h.write(&m.bytes());
}

/// One contour of a path with many: where it can change pixels and its digest. A contour
/// that does not reach a window changes nothing in it (its winding is zero outside its
/// bounds, and each contour of a stroke is dashed and stroked on its own), so a window's key and
/// drawing take only the contours that reach it, and a border or an area changed far away
/// leaves the window's key alone.
#[derive(Clone)]
struct Piece {
    bounds: [f32; 4],
    digest: u128,
    /// Where the contour's points lie among its path's points, when it is made of
    /// straight lines (else only its bounds count): a window it neither crosses nor lies
    /// inside of is not reached. (A range, not a copy: a metatile records hundreds of
    /// thousands of contours.)
    line: Option<(u32, u32)>,
    /// A stroked contour that is closed (it also draws its closing segment).
    closed: bool,
    /// Filled (an area, closed) rather than stroked.
    area: bool,
    /// How far from its line it can change pixels, px.
    margin: f32,
}

impl Piece {
    /// Can this contour change pixels of the window at (x, y) of `size`?
    /// `points`: its path's.
    fn reaches(&self, points: &[tiny_skia::Point], x: f32, y: f32, size: (u32, u32)) -> bool {
        if !Recording::touches(&self.bounds, x, y, size) {
            return false;
        }
        match self.points(points) {
            Some(pts) => {
                line_reaches(pts.len(), |i| (pts[i].x, pts[i].y), self.area, self.closed, self.margin, x, y, size)
            }
            None => true,
        }
    }

    /// The contour's points among its path's `points`, when it is made of lines.
    fn points<'p>(&self, points: &'p [tiny_skia::Point]) -> Option<&'p [tiny_skia::Point]> {
        self.line.and_then(|(s, e)| points.get(s as usize..e as usize))
    }

    /// Does the contour lie wholly inside `window` (left, top, right, bottom, px)?
    fn within(&self, window: [f32; 4]) -> bool {
        let b = self.bounds;
        b[0] >= window[0] && b[1] >= window[1] && b[2] <= window[2] && b[3] <= window[3]
    }

    /// Hash what of this contour of lines (its points `pts`) decides the pixels of
    /// `window` (left, top, right, bottom, px), so that a contour changed only far away
    /// keeps its key there:
    /// - filled, the segments that come within its margin of the window, and its winding
    ///   number at the window's centre: the rasteriser's cells in the window come from
    ///   those segments alone, and what lies left of the window adds to each row only the
    ///   height it crosses, which is the winding along the window's left edge, known from
    ///   the winding at one point and the segments crossing the window;
    /// - stroked (without dashes), the runs of points of the segments that come within
    ///   its margin of the window, and whether the runs hold the contour's ends (caps):
    ///   the outline in the window comes from those segments, their joins and caps
    ///   alone, and away from its outline a stroke covers nothing.
    /// - stroked with dashes (an open contour), its points up to the end of its last
    ///   segment that comes within its margin of the window, and whether that is the
    ///   contour's end: a dash in the window depends on the length before it, and
    ///   nothing after that segment reaches the window.
    fn hash_near(&self, pts: &[tiny_skia::Point], window: [f32; 4], dashed: bool) -> u128 {
        // (tiny-skia's paths hold only numbers; a point that is not one would drop its
        // edges and leave the contour open, its winding no longer known from one point.)
        if !pts.iter().all(|p| p.x.is_finite() && p.y.is_finite()) {
            return self.digest;
        }
        let m = self.margin;
        let r = [window[0] - m, window[1] - m, window[2] + m, window[3] + m];
        let n = pts.len();
        let closed = self.area || self.closed;
        let at = |i: usize| (pts[i].x, pts[i].y);
        NEAR_BYTES.with(|buf| {
            let mut bytes = buf.borrow_mut();
            bytes.clear();
            let bytes = &mut *bytes;
            let put = |bytes: &mut Vec<u8>, p: tiny_skia::Point| {
                bytes.extend_from_slice(&p.x.to_bits().to_le_bytes());
                bytes.extend_from_slice(&p.y.to_bits().to_le_bytes());
            };
            if n < 2 {
                pts.iter().for_each(|&p| put(bytes, p));
            } else if dashed {
                let last = (0..n - 1).rev().find(|&i| segment_hits(at(i), at(i + 1), r)).map_or(n - 1, |i| i + 1);
                pts[..=last].iter().for_each(|&p| put(bytes, p));
                bytes.push(0xd0 | u8::from(last == n - 1));
            } else if self.area {
                let c = ((window[0] + window[2]) / 2.0, (window[1] + window[3]) / 2.0);
                let mut winding = 0i32;
                for (i, j) in segment_ends(n, true) {
                    let (a, b) = (at(i), at(j));
                    if segment_hits(a, b, r) {
                        put(bytes, pts[i]);
                        put(bytes, pts[j]);
                    }
                    winding += crossing(a, b, c);
                }
                bytes.extend_from_slice(&winding.to_le_bytes());
            } else {
                // Points kept, by index: the ends of every segment near the window. (A
                // corner's join reaches the window only from a point within the margin,
                // and then both its segments are near; a point repeated in place, which
                // the stroker passes over, is near with it.)
                let mut keep = vec![false; n];
                for (i, j) in segment_ends(n, closed) {
                    if segment_hits(at(i), at(j), r) {
                        keep[i] = true;
                        keep[j] = true;
                    }
                }
                for (i, _) in keep.iter().enumerate().filter(|(_, k)| **k) {
                    // Each run starts with a mark (no point has these bits).
                    if i == 0 || !keep[i - 1] {
                        bytes.extend_from_slice(&[0xff; 8]);
                    }
                    put(bytes, pts[i]);
                }
                bytes.push(u8::from(keep[0]) | u8::from(keep[n - 1]) << 1 | u8::from(closed) << 2);
            }
            twox_hash::XxHash3_128::oneshot_with_seed(0x6e72, bytes)
        })
    }
}

thread_local! {
    /// The bytes of [`Piece::hash_near`], kept per thread from contour to contour.
    static NEAR_BYTES: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// How the segment a–b changes the winding number at `c` (a ray cast to the right):
/// +1 or -1 when it crosses the ray upwards or downwards, else 0.
fn crossing(a: (f32, f32), b: (f32, f32), c: (f32, f32)) -> i32 {
    let side = (b.0 - a.0) * (c.1 - a.1) - (c.0 - a.0) * (b.1 - a.1);
    if a.1 <= c.1 {
        i32::from(b.1 > c.1 && side > 0.0)
    } else {
        -i32::from(b.1 <= c.1 && side < 0.0)
    }
}

/// Does a line of `n` points (point `i` is `pt(i)`; closed when it bounds an `area` or is
/// `closed`) come within `margin` px of the window at (x, y) of `size`, or (an area)
/// enclose it? With no edge near the window, an area's winding is the same all over it,
/// so the centre tells.
#[allow(clippy::too_many_arguments)]
fn line_reaches(
    n: usize,
    pt: impl Fn(usize) -> (f32, f32),
    area: bool,
    closed: bool,
    margin: f32,
    x: f32,
    y: f32,
    size: (u32, u32),
) -> bool {
    let r = [x - margin, y - margin, x + size.0 as f32 + margin, y + size.1 as f32 + margin];
    if n == 0 {
        return false;
    }
    if n == 1 || segment_ends(n, area || closed).any(|(i, j)| segment_hits(pt(i), pt(j), r)) {
        let p = pt(0);
        return n > 1 || (r[0]..=r[2]).contains(&p.0) && (r[1]..=r[3]).contains(&p.1);
    }
    if !area {
        return false;
    }
    let c = (x + size.0 as f32 / 2.0, y + size.1 as f32 / 2.0);
    let winding: i32 = segment_ends(n, true).map(|(i, j)| crossing(pt(i), pt(j), c)).sum();
    winding != 0
}

/// The (start, end) point indices of the segments of a line of `n > 0` points, with the
/// closing segment back to the first point when `closed`.
fn segment_ends(n: usize, closed: bool) -> impl Iterator<Item = (usize, usize)> {
    let segments = if closed { n } else { n - 1 };
    (0..segments).map(move |i| (i, (i + 1) % n))
}

/// Does the segment a–b meet the rectangle (left, top, right, bottom)? (Liang–Barsky.)
fn segment_hits(a: (f32, f32), b: (f32, f32), r: [f32; 4]) -> bool {
    if (a.0 < r[0] && b.0 < r[0])
        || (a.0 > r[2] && b.0 > r[2])
        || (a.1 < r[1] && b.1 < r[1])
        || (a.1 > r[3] && b.1 > r[3])
    {
        return false;
    }
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let (mut t0, mut t1) = (0.0f32, 1.0f32);
    for (p, q) in [(-dx, a.0 - r[0]), (dx, r[2] - a.0), (-dy, a.1 - r[1]), (dy, r[3] - a.1)] {
        if p == 0.0 {
            if q < 0.0 {
                return false;
            }
        } else {
            let t = q / p;
            if p < 0.0 {
                if t > t1 {
                    return false;
                }
                t0 = t0.max(t);
            } else {
                if t < t0 {
                    return false;
                }
                t1 = t1.min(t);
            }
        }
    }
    t0 <= t1
}

/// The margin, px, drawn around a window and cut off (see [`Recording::draw_window`]).
pub const WINDOW_MARGIN: u32 = 4;

/// An operation with where it can change pixels (left, top, right, bottom; conservative)
/// and a digest of everything that decides its pixels.
#[derive(Clone)]
struct Recorded {
    /// Shared, so that operations a later recording takes from a kept layer are not copied.
    op: std::sync::Arc<Op>,
    bounds: [f32; 4],
    digest: u128,
}

impl Recorded {
    /// Does this operation reach the window at (x, y) of `size`, and which of its
    /// contours do (`near`, filled afresh: empty, all)?
    fn reach(&self, x: f32, y: f32, size: (u32, u32), near: &mut Vec<bool>) -> bool {
        self.reach_kept(x, y, size, None, near)
    }

    /// [`Recorded::reach`], with the answers for contours whose bounds touch the window
    /// found in (or kept in) `kept`, by the contour's digest and the window. `near` is the
    /// caller's, reused from operation to operation.
    ///
    /// Most operations of a recording lie outside any one window: their bounds are tested
    /// where the caller loops over them (inlined), the rest of the test is a call.
    #[inline(always)]
    fn reach_kept(&self, x: f32, y: f32, size: (u32, u32), kept: Option<&NearDigests>, near: &mut Vec<bool>) -> bool {
        near.clear();
        Recording::touches(&self.bounds, x, y, size) && self.reach_kept_within(x, y, size, kept, near)
    }

    /// [`Recorded::reach_kept`] of an operation whose bounds touch the window.
    fn reach_kept_within(
        &self,
        x: f32,
        y: f32,
        size: (u32, u32),
        kept: Option<&NearDigests>,
        near: &mut Vec<bool>,
    ) -> bool {
        match &*self.op {
            Op::Fill { pieces, path, .. } | Op::Stroke { pieces, path, .. } if !pieces.is_empty() => {
                let reaches = |p: &Piece| match kept {
                    // A short contour is looked at again rather than looked up (a lookup in
                    // a large table costs more than a few segments).
                    Some(kept)
                        if p.line.is_some_and(|(s, e)| e - s > KEPT_REACH_POINTS)
                            && Recording::touches(&p.bounds, x, y, size) =>
                    {
                        kept.reaches(p, [x as i32, y as i32, size.0 as i32, size.1 as i32], || {
                            p.reaches(path.points(), x, y, size)
                        })
                    }
                    _ => p.reaches(path.points(), x, y, size),
                };
                near.extend(pieces.iter().map(reaches));
                near.contains(&true)
            }
            Op::Pattern { rings, width, .. } => {
                rings.iter().any(|r| line_reaches(r.len(), |i| r[i], true, false, width + 2.0, x, y, size))
            }
            Op::Markers { pen, marks } => {
                near.extend(marks.iter().map(|m| Recording::touches(&marker_bounds(m, pen), x, y, size)));
                near.contains(&true)
            }
            Op::Text { ink, .. } | Op::Glyphs { ink, .. } if !ink.is_empty() => {
                ink.iter().any(|b| Recording::touches(b, x, y, size))
            }
            _ => true,
        }
    }
}

impl Recorded {
    /// Draw this operation (its contours `near`) onto a window whose top left is `at`.
    fn draw(&self, px: &mut Pixmap, near: &[bool], at: (i32, i32), kept: Option<&mut WindowCache>) {
        let (cols, rows) = (0..px.width(), 0..px.height());
        let kept = kept.map(|k| (k, self.kept_key(near, at, (px.width(), px.height()))));
        self.draw_rect(px, near, at, cols, rows, kept)
    }

    /// The key of what a window keeps of this operation ([`WindowCache`]) drawn with its
    /// contours `near` on a window of `size` whose top left is `at`: its digest (a fill's
    /// or stroke's ink, rule or pen, and its path when it has no pieces; a text's
    /// lettering, place and style) and its contours' digests.
    fn kept_key(&self, near: &[bool], at: (i32, i32), size: (u32, u32)) -> u64 {
        let pieces: &[Piece] = match &*self.op {
            Op::Fill { pieces, .. } | Op::Stroke { pieces, .. } => pieces,
            _ => &[],
        };
        let mut h = super::Gathered::with_seed(0x636f_7665);
        h.write(&self.digest.to_le_bytes());
        for v in [at.0 as u32, at.1 as u32, size.0, size.1, near.len() as u32] {
            h.write(&v.to_le_bytes());
        }
        for (k, piece) in pieces.iter().enumerate() {
            if near.is_empty() || near.get(k) == Some(&true) {
                h.write(&piece.digest.to_le_bytes());
            } else {
                h.write(&[0]);
            }
        }
        h.finish_128() as u64
    }

    /// Does `kept` hold this fill's or stroke's cells (under `key`: [`Recorded::kept_key`])
    /// over the whole window of `size`?
    fn cells_kept(&self, key: u64, size: (u32, u32), kept: &WindowCache) -> bool {
        matches!(&*self.op, Op::Fill { .. } | Op::Stroke { .. }) && kept.cells.holds(key, (0..size.0, 0..size.1))
    }

    /// [`Recorded::draw`] whose pixels need be right only in the columns `cols` of the
    /// pixel rows `rows`; a fill's or stroke's cells and a text made ready are kept in
    /// `kept` under this operation's key ([`Recorded::kept_key`]), or taken from there
    /// when kept before.
    fn draw_rect(
        &self,
        px: &mut Pixmap,
        near: &[bool],
        at: (i32, i32),
        cols: std::ops::Range<u32>,
        rows: std::ops::Range<u32>,
        kept: Option<(&mut WindowCache, u64)>,
    ) {
        let (fx, fy) = (at.0 as f32, at.1 as f32);
        let ts = Transform::from_translate(-fx, -fy);
        match &*self.op {
            Op::Fill { path, ink, rule, .. } => {
                let keep = kept.map(|(k, key)| Keep { cache: &mut k.cells, key });
                super::raster::fill_path_rect_kept(px, || reaching(path, near), *ink, *rule, ts, (cols, rows), keep)
            }
            Op::Stroke { path, ink, pen, .. } => {
                let keep = kept.map(|(k, key)| Keep { cache: &mut k.cells, key });
                super::raster::stroke_path_rect_kept(px, || reaching(path, near), *ink, pen, ts, (cols, rows), keep)
            }
            Op::Rect { rect, ink } => {
                // Moved, not transformed, to keep tiny-skia's rectangle fast path.
                if let Some(moved) =
                    Rect::from_ltrb(rect.left() - fx, rect.top() - fy, rect.right() - fx, rect.bottom() - fy)
                {
                    super::paint::fill_rect_px(px, moved, *ink);
                }
            }
            Op::Pattern { rings, kind, color, spacing, width } => {
                draw_pattern_rect(px, rings, *kind, *color, *spacing, *width, (fx, fy), cols, rows)
            }
            Op::Text { text, x: tx, y: ty, style, .. } => {
                let clip = [cols.start, rows.start, cols.end, rows.end];
                let fonts = Fonts::embedded();
                match kept {
                    Some((kept, key)) => {
                        let made = kept.text(key, || fonts.prepare_line(px, text, tx - fx, ty - fy, style));
                        if let Some(made) = made {
                            fonts.composite_prepared(px, &made, style, clip);
                        }
                    }
                    None => fonts.draw_clipped(px, text, tx - fx, ty - fy, style, clip),
                }
            }
            Op::Glyphs { glyphs, style, .. } => {
                let moved = || -> Vec<PlacedGlyph> {
                    glyphs.iter().map(|g| PlacedGlyph { x: g.x - fx, y: g.y - fy, ..g.clone() }).collect()
                };
                let clip = [cols.start, rows.start, cols.end, rows.end];
                let fonts = Fonts::embedded();
                match kept {
                    Some((kept, key)) => {
                        if let Some(made) = kept.text(key, || fonts.prepare_placed(px, &moved(), style)) {
                            fonts.composite_prepared(px, &made, style, clip);
                        }
                    }
                    None => fonts.draw_placed_clipped(px, &moved(), style, clip),
                }
            }
            Op::Image { layer, x: lx, y: ly } => px.draw_pixmap(
                lx - at.0,
                ly - at.1,
                layer.as_ref(),
                &PixmapPaint::default(),
                Transform::identity(),
                None,
            ),
            Op::Markers { pen, marks } => {
                let (c0, r0, c1, r1) = (cols.start as f32, rows.start as f32, cols.end as f32, rows.end as f32);
                for (k, m) in marks.iter().enumerate() {
                    let b = marker_bounds(m, pen);
                    let outside = b[2] - fx < c0 || b[0] - fx > c1 || b[3] - fy < r0 || b[1] - fy > r1;
                    if outside || !(near.is_empty() || near.get(k) == Some(&true)) {
                        continue;
                    }
                    if super::stamp::marker(px, m, pen, at, cols.clone(), rows.clone()) {
                        continue;
                    }
                    m.draw_with(pen, |path, ink, stroke| match stroke {
                        Some(pen) => {
                            super::raster::stroke_path_rect(px, path, ink, pen, ts, cols.clone(), rows.clone())
                        }
                        None => super::raster::fill_path_rect(
                            px,
                            path,
                            ink,
                            FillRule::EvenOdd,
                            ts,
                            cols.clone(),
                            rows.clone(),
                        ),
                    });
                }
            }
        }
    }

    /// Call `each` with every marker of a markers operation that reaches a window with
    /// `near` (none for other operations).
    fn markers_near(&self, near: &[bool], mut each: impl FnMut(&Marker, &Pen)) {
        if let Op::Markers { pen, marks } = &*self.op {
            for (m, _) in marks.iter().zip(near).filter(|(_, n)| **n) {
                each(m, pen);
            }
        }
    }

    /// Hash what this operation draws in the window `window` (left, top, right, bottom,
    /// px) that it reaches with contours `near`: its digest and, for each contour drawn,
    /// what of it decides the window's pixels ([`Piece::hash_near`]), or its digest.
    fn hash_in_window(&self, near: &[bool], window: [f32; 4], kept: Option<&NearDigests>, h: &mut super::Gathered) {
        if let Op::Markers { .. } = *self.op {
            // Each marker as if it were its own operation: how markers fall into runs
            // (split by whatever is drawn between them) changes no key.
            self.markers_near(near, |m, _| {
                h.write(&self.digest.to_le_bytes());
                hash_marker(m, h);
            });
            return;
        }
        h.write(&self.digest.to_le_bytes());
        let (pieces, path, dashed) = match &*self.op {
            Op::Fill { pieces, path, .. } => (pieces, path, false),
            Op::Stroke { pieces, path, pen, .. } => (pieces, path, !pen.dash.is_empty()),
            _ => return,
        };
        for (piece, _) in pieces.iter().zip(near).filter(|(_, n)| **n) {
            // A dash depends on the length of the contour before it: a dashed contour
            // counts up to its last segment near the window (whole when it is closed, as
            // its last dash joins its first).
            let digest = match piece.points(path.points()).filter(|_| !piece.within(window)) {
                Some(_) if dashed && piece.closed => piece.digest,
                Some(pts) => match kept {
                    Some(kept) => kept.get_or(piece, dashed, window, || piece.hash_near(pts, window, dashed)),
                    None => piece.hash_near(pts, window, dashed),
                },
                None => piece.digest,
            };
            h.write(&digest.to_le_bytes());
        }
    }

    /// The key under which this operation's cell keys ([`Recorded::local_cell_keys`]) in
    /// the window at (x, y) of `size` are kept: its digest, its contours `near` and their
    /// digests, and the window (None for other operations, whose keys are not kept).
    fn cells_memo_key(&self, near: &[bool], (x, y, size): (i32, i32, (u32, u32))) -> Option<u128> {
        let pieces = match &*self.op {
            Op::Stroke { pieces, .. } | Op::Fill { pieces, .. } if !pieces.is_empty() => pieces,
            _ => return None,
        };
        let mut h = XxHash3_128::with_seed(0x6d65);
        h.write(&self.digest.to_le_bytes());
        for v in [x as u32, y as u32, size.0, size.1] {
            h.write(&v.to_le_bytes());
        }
        for (k, p) in pieces.iter().enumerate() {
            if near.is_empty() || near.get(k) == Some(&true) {
                h.write(&(k as u32).to_le_bytes());
                h.write(&p.digest.to_le_bytes());
            }
        }
        Some(h.finish_128())
    }

    /// Key the cells of `grid` by what of this operation (its contours `near`) decides
    /// each cell's pixels, calling `hit` with each cell and key, when the operation is a
    /// stroke or fill of contours of lines (else false, and nothing is keyed: the caller
    /// keys it whole). A change far from a cell then leaves its key alone:
    /// - stroked without dashes, each segment keys the cells within the margin of it
    ///   with its two points and whether it starts or ends an open contour (a cap): near a
    ///   point the outline comes from the segments near it, their joins and caps alone,
    ///   and a stroke's winding is zero away from its outline;
    /// - stroked with dashes (open contours), each segment likewise with every point of
    ///   its contour before it too: a dash depends on the length before it;
    /// - filled, each row of cells with every edge of its contours that crosses the row
    ///   (with the margin), those wholly left of the window by their heights alone and
    ///   those wholly right of it not at all: a pixel row's coverage comes only from the
    ///   edges that cross it, an edge left of the window adds only the height it crosses
    ///   (the cells of [`super::raster`]), and one right of it adds nothing. The row's
    ///   cells from its leftmost edge to its rightmost are keyed.
    fn local_cell_keys(&self, near: &[bool], grid: &CellGrid, hit: &mut impl FnMut(usize, u64)) -> bool {
        let (pieces, path, dashed) = match &*self.op {
            Op::Stroke { pieces, path, pen, .. } => (pieces, path, !pen.dash.is_empty()),
            Op::Fill { pieces, path, .. } => (pieces, path, false),
            _ => return false,
        };
        if pieces.is_empty() {
            return false;
        }
        let area = matches!(*self.op, Op::Fill { .. });
        let mut chosen: Vec<(&Piece, &[tiny_skia::Point])> = Vec::with_capacity(pieces.len());
        for (k, piece) in pieces.iter().enumerate() {
            if !(near.is_empty() || near.get(k) == Some(&true)) {
                continue;
            }
            match piece.points(path.points()) {
                Some(pts)
                    if pts.len() >= 2
                        && !(dashed && piece.closed)
                        && pts.iter().all(|p| p.x.is_finite() && p.y.is_finite()) =>
                {
                    chosen.push((piece, pts))
                }
                _ => return false,
            }
        }
        let seed = (self.digest as u64) ^ ((self.digest >> 64) as u64);
        // Words folded two at a time by multiplication and finished by a full-avalanche
        // mix (MurmurHash3's): a key per segment, cheap beside the hash of whole contours.
        let key = |seed: u64, words: &[u32]| -> u64 {
            let mut h = seed ^ (words.len() as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            for pair in words.chunks(2) {
                let v = u64::from(pair[0]) | pair.get(1).map_or(0, |w| u64::from(*w) << 32);
                h = (h ^ v).wrapping_mul(0xbf58_476d_1ce4_e5b9).rotate_left(31);
            }
            h ^= h >> 33;
            h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
            h ^= h >> 33;
            h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
            h ^ (h >> 33)
        };
        if !area {
            for (piece, pts) in chosen {
                let (n, m) = (pts.len(), piece.margin);
                // Dashed: a hash of the contour's points so far.
                let mut run = seed;
                for (i, j) in segment_ends(n, piece.closed) {
                    let (a, b) = (pts[i], pts[j]);
                    if dashed {
                        run = key(run, &[a.x.to_bits(), a.y.to_bits()]);
                    }
                    let seg = [a.x.min(b.x) - m, a.y.min(b.y) - m, a.x.max(b.x) + m, a.y.max(b.y) + m];
                    if grid.span(&seg).is_none() {
                        continue;
                    }
                    let ends = u32::from(!piece.closed && i == 0)
                        | u32::from(!piece.closed && j == n - 1) << 1
                        | u32::from(piece.closed) << 2;
                    let k = match dashed {
                        true => key(run, &[b.x.to_bits(), b.y.to_bits(), ends]),
                        false => key(seed, &[a.x.to_bits(), a.y.to_bits(), b.x.to_bits(), b.y.to_bits(), ends]),
                    };
                    grid.each_near_segment((a.x, a.y), (b.x, b.y), m, &mut |c| hit(c, k));
                }
            }
            return true;
        }
        let rows = grid.rows;
        let (left, right) = (grid.x, grid.x + grid.size.0 as f32);
        let e = CELL as f32;
        // Per row of cells: the hash of its edges, and the leftmost and rightmost of them.
        let mut row_keys = vec![seed; rows];
        let mut reach = vec![(f32::INFINITY, f32::NEG_INFINITY); rows];
        for (piece, pts) in chosen {
            let m = piece.margin;
            for (i, j) in segment_ends(pts.len(), true) {
                let (a, b) = (pts[i], pts[j]);
                if a.y == b.y {
                    // Crosses no row: no cover and no area.
                    continue;
                }
                let (y0, y1) = (a.y.min(b.y), a.y.max(b.y));
                let Some((first, last)) = grid.rows_crossed(y0, y1, m) else { continue };
                let (x0, x1) = (a.x.min(b.x), a.x.max(b.x));
                if x0 > right + m {
                    for r in &mut reach[first..=last] {
                        r.1 = right;
                    }
                    continue;
                }
                let wholly_left = x1 < left - m;
                // The edge's key in a row: its points; left of the window, its heights, or
                // only its direction where it crosses the whole row.
                let own = match wholly_left {
                    false => key(seed, &[1, a.x.to_bits(), a.y.to_bits(), b.x.to_bits(), b.y.to_bits()]),
                    true => key(seed, &[3, a.y.to_bits(), b.y.to_bits()]),
                };
                let across = key(seed, &[2, u32::from(a.y < b.y)]);
                for r in first..=last {
                    let (top, bottom) = (grid.y + (r as f32) * e - m, grid.y + (r as f32 + 1.0) * e + m);
                    let k = if wholly_left && y0 < top && y1 > bottom { across } else { own };
                    row_keys[r] = chain_key(row_keys[r], k);
                    let (lo, hi) = &mut reach[r];
                    *lo = lo.min(if wholly_left { left } else { x0 - m });
                    *hi = hi.max(if wholly_left { f32::NEG_INFINITY } else { x1 + m });
                }
            }
        }
        for (r, (&k, &(lo, hi))) in row_keys.iter().zip(&reach).enumerate() {
            if hi >= left {
                grid.each_in_row(r, lo.max(left), hi, &mut |c| hit(c, k));
            }
        }
        true
    }

    /// Call `hit` with every cell of `grid` whose pixels this operation (its contours
    /// `near`) can change: a fill or a pattern within its rings' reach in each row of
    /// cells ([`row_reach`]), a stroke near its segments, text near its glyphs, anything
    /// else in its bounds.
    fn cells(&self, near: &[bool], grid: &CellGrid, mut hit: impl FnMut(usize)) {
        match &*self.op {
            Op::Fill { pieces, path, .. } | Op::Stroke { pieces, path, .. } if !pieces.is_empty() => {
                let stroke = matches!(*self.op, Op::Stroke { .. });
                for (k, piece) in pieces.iter().enumerate() {
                    if !(near.is_empty() || near.get(k) == Some(&true)) {
                        continue;
                    }
                    match (piece.points(path.points()), stroke) {
                        (Some(pts), true) if pts.len() >= 2 || (piece.closed && !pts.is_empty()) => {
                            let m = piece.margin;
                            let n = pts.len();
                            for (i, j) in segment_ends(n, piece.closed) {
                                let (a, b) = (pts[i], pts[j]);
                                let seg = [a.x.min(b.x) - m, a.y.min(b.y) - m, a.x.max(b.x) + m, a.y.max(b.y) + m];
                                grid.each(&seg, &mut hit);
                            }
                        }
                        (Some(pts), false) if pts.len() >= 3 => row_reach(grid, piece.margin, &mut hit, |edge| {
                            for (i, j) in segment_ends(pts.len(), true) {
                                edge((pts[i].x, pts[i].y), (pts[j].x, pts[j].y));
                            }
                        }),
                        _ => grid.each(&piece.bounds, &mut hit),
                    }
                }
            }
            Op::Pattern { rings, width, .. } => row_reach(grid, width.abs() + 2.0, &mut hit, |edge| {
                for r in rings.iter().filter(|r| !r.is_empty()) {
                    for (i, j) in segment_ends(r.len(), true) {
                        edge(r[i], r[j]);
                    }
                }
            }),
            Op::Markers { .. } => self.markers_near(near, |m, pen| grid.each(&marker_bounds(m, pen), &mut hit)),
            // Text keys the cells its glyphs can ink, not the whole box of its lettering.
            Op::Text { ink, .. } | Op::Glyphs { ink, .. } if !ink.is_empty() => {
                ink.iter().for_each(|b| grid.each(b, &mut hit))
            }
            _ => grid.each(&self.bounds, &mut hit),
        }
    }
}

thread_local! {
    /// The image a thread's partial redraws draw on ([`Recording::redraw_window`]).
    static REDRAW_SCRATCH: std::cell::RefCell<Option<Pixmap>> = const { std::cell::RefCell::new(None) };
}

/// The runs of dirty cells side by side in each row of cells of `grid`, as the pixels
/// they cover in the window: rows `y0..y1`, columns `x0..x1`.
fn dirty_runs<'a>(dirty: &'a [bool], grid: &'a CellGrid) -> impl Iterator<Item = (usize, usize, usize, usize)> + 'a {
    dirty.chunks(grid.cols).enumerate().flat_map(move |(r, cells)| {
        let mut c = 0;
        std::iter::from_fn(move || {
            while c < cells.len() && !cells[c] {
                c += 1;
            }
            if c == cells.len() {
                return None;
            }
            let first = c;
            while c < cells.len() && cells[c] {
                c += 1;
            }
            let [x0, y0, _, y1] = grid.cell_px(r * grid.cols + first);
            Some((y0, y1, x0, grid.cell_px(r * grid.cols + c - 1)[2]))
        })
    })
}

/// Call `hit` with the cells of `grid` that closed rings (their edges, given to
/// `edges`) can reach, grown by `margin` px: in each row of cells, those from the
/// leftmost to the rightmost edge that crosses the row. A point inside the rings lies
/// between two edges crossing its row. Rings with a point that is no number reach every
/// cell.
fn row_reach(
    grid: &CellGrid,
    margin: f32,
    hit: &mut impl FnMut(usize),
    edges: impl FnOnce(&mut dyn FnMut((f32, f32), (f32, f32))),
) {
    let mut reach = vec![(f32::INFINITY, f32::NEG_INFINITY); grid.rows];
    let mut finite = true;
    edges(&mut |a, b| {
        if !(a.0.is_finite() && a.1.is_finite() && b.0.is_finite() && b.1.is_finite()) {
            finite = false;
            return;
        }
        let Some((first, last)) = grid.rows_crossed(a.1.min(b.1), a.1.max(b.1), margin) else { return };
        for r in &mut reach[first..=last] {
            *r = (r.0.min(a.0.min(b.0) - margin), r.1.max(a.0.max(b.0) + margin));
        }
    });
    if !finite {
        let all = [f32::NEG_INFINITY, f32::NEG_INFINITY, f32::INFINITY, f32::INFINITY];
        return grid.each(&all, hit);
    }
    for (r, &(lo, hi)) in reach.iter().enumerate() {
        grid.each_in_row(r, lo, hi, hit);
    }
}

/// Fold `v` into the running key `h` (a step of the keys of [`Recording::cell_keys`]).
fn chain_key(h: u64, v: u64) -> u64 {
    (h.rotate_left(23) ^ v).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// The window drawn for the `size` window at (x, y): grown by [`WINDOW_MARGIN`] px on
/// every side (its top left and size).
fn widened(x: i32, y: i32, size: (u32, u32)) -> (i32, i32, (u32, u32)) {
    grown(x, y, size, WINDOW_MARGIN)
}

/// The `size` window at (x, y) grown by `m` px on every side (its top left and size).
fn grown(x: i32, y: i32, size: (u32, u32), m: u32) -> (i32, i32, (u32, u32)) {
    (x - m as i32, y - m as i32, (size.0 + 2 * m, size.1 + 2 * m))
}

/// The margin, px, of the window whose operations make a window's keys
/// ([`Recording::window_key`], [`Recording::cell_keys`]): what is drawn only in the rest
/// of the drawn margin ([`WINDOW_MARGIN`]) is cut off with it, so it changes no pixel of
/// the window (operations' bounds hold all they draw, anti-aliasing included; a pixel is
/// kept for rounding).
const KEY_MARGIN: u32 = 1;

/// The window of a window's keys: grown by [`KEY_MARGIN`], as a rectangle (left, top,
/// right, bottom, px) and as its top left and size.
fn key_window(x: i32, y: i32, size: (u32, u32)) -> ([f32; 4], (i32, i32, (u32, u32))) {
    let (kx, ky, ks) = grown(x, y, size, KEY_MARGIN);
    ([kx as f32, ky as f32, (kx + ks.0 as i32) as f32, (ky + ks.1 as i32) as f32], (kx, ky, ks))
}

/// Bytes of kept cells and text ([`WindowCache`]) a redrawn window holds per pixel of it
/// before it lets go of those its last drawing did not use.
const KEPT_CELLS_PER_PX: usize = 48;

/// What a window drawn again and again (a tile place, state after state) keeps from one
/// drawing to the next: the cells of its fills and strokes, and its lines of text made
/// ready to composite, each under a key that names it and the window exactly. A drawing
/// takes what it finds and gives the same pixels.
#[derive(Default)]
pub struct WindowCache {
    cells: Coverages,
    texts: rustc_hash::FxHashMap<u64, (std::sync::Arc<PreparedText>, u32)>,
    text_bytes: usize,
    round: u32,
    text_hits: u64,
}

impl WindowCache {
    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.cells.bytes() + self.text_bytes
    }

    /// How many fills, strokes and lines of text were drawn from what was kept.
    pub fn hits(&self) -> u64 {
        self.cells.hits() + self.text_hits
    }

    /// Is nothing kept?
    pub fn is_empty(&self) -> bool {
        self.cells.is_empty() && self.texts.is_empty()
    }

    /// Begin another drawing (see [`Coverages::next_round`]): past `most` bytes, what the
    /// last drawing did not use is let go.
    fn next_round(&mut self, most: usize) {
        self.cells.next_round(most.saturating_sub(self.text_bytes));
        if self.text_bytes > most / 4 {
            let round = self.round;
            self.texts.retain(|_, (_, used)| *used == round);
            self.text_bytes = self.texts.values().map(|(t, _)| t.bytes()).sum();
        }
        self.round = self.round.wrapping_add(1);
    }

    /// The text kept under `key`, or made by `make` and kept.
    fn text(&mut self, key: u64, make: impl FnOnce() -> Option<PreparedText>) -> Option<std::sync::Arc<PreparedText>> {
        let round = self.round;
        if let Some((t, used)) = self.texts.get_mut(&key) {
            *used = round;
            self.text_hits += 1;
            return Some(t.clone());
        }
        let t = std::sync::Arc::new(make()?);
        self.text_bytes += t.bytes();
        self.texts.insert(key, (t.clone(), round));
        Some(t)
    }
}

/// A window redrawn ([`Recording::redraw_window`]): its pixels, and the boxes of those
/// that changed (left, top, right, bottom, exclusive; one row each, in order).
pub struct Redrawn {
    /// The whole window's pixels.
    pub pixels: Pixmap,
    /// The changed pixels' boxes.
    pub changed: Vec<[usize; 4]>,
}

/// Cell edge, px, of the partial redraws of a window ([`Recording::redraw_window`]).
pub const CELL: u32 = 16;

/// The [`CELL`] px cells of a window of the recording, row by row (the last row and
/// column may be narrower).
struct CellGrid {
    x: f32,
    y: f32,
    size: (u32, u32),
    cols: usize,
    rows: usize,
}

impl CellGrid {
    fn new(x: i32, y: i32, size: (u32, u32)) -> CellGrid {
        let (cols, rows) = (size.0.div_ceil(CELL) as usize, size.1.div_ceil(CELL) as usize);
        CellGrid { x: x as f32, y: y as f32, size, cols, rows }
    }

    fn len(&self) -> usize {
        self.cols * self.rows
    }

    /// Cell `c`'s pixels in the window: left, top, right, bottom (exclusive).
    fn cell_px(&self, c: usize) -> [usize; 4] {
        let (cx, cy) = (c % self.cols, c / self.cols);
        let e = CELL as usize;
        [cx * e, cy * e, ((cx + 1) * e).min(self.size.0 as usize), ((cy + 1) * e).min(self.size.1 as usize)]
    }

    /// Call `hit` with the cells a box (recording px, inclusive) meets; a box that is not
    /// a number meets them all.
    fn each(&self, b: &[f32; 4], hit: &mut impl FnMut(usize)) {
        let Some([c0, r0, c1, r1]) = self.span(b) else { return };
        for r in r0..=r1 {
            for c in c0..=c1 {
                hit(r * self.cols + c);
            }
        }
    }

    /// The rows of cells that a span of heights `y0..=y1` (recording px) grown by
    /// `margin` crosses: first and last (None: none).
    fn rows_crossed(&self, y0: f32, y1: f32, margin: f32) -> Option<(usize, usize)> {
        let e = CELL as f32;
        let first = ((y0 - margin - self.y) / e).floor().max(0.0);
        let last = ((y1 + margin - self.y) / e).floor().min(self.rows as f32 - 1.0);
        (first <= last).then_some((first as usize, last as usize))
    }

    /// Call `hit` with the cells of row `r` from column px `lo` to `hi` (recording px,
    /// inclusive; none when `lo > hi`).
    fn each_in_row(&self, r: usize, lo: f32, hi: f32, hit: &mut impl FnMut(usize)) {
        if lo <= hi {
            // A height inside the row, even the last and narrower one.
            let y = self.y + (r * CELL as usize) as f32 + 0.5;
            self.each(&[lo, y, hi, y], hit);
        }
    }

    /// Call `hit` with the cells within `m` px of the segment from `a` to `b` (recording
    /// px), row by row: in each row of cells, those between the ends of the part of the
    /// segment within `m` of the row's heights, grown by `m` and half a pixel more (a
    /// diagonal segment meets far fewer cells than its box does).
    fn each_near_segment(&self, a: (f32, f32), b: (f32, f32), m: f32, hit: &mut impl FnMut(usize)) {
        let Some((r0, r1)) = self.rows_crossed(a.1.min(b.1), a.1.max(b.1), m) else { return };
        let e = CELL as f32;
        let grow = m + 0.5;
        for r in r0..=r1 {
            let (top, bottom) = (self.y + r as f32 * e - m, self.y + (r + 1) as f32 * e + m);
            let (lo, hi) = if a.1 == b.1 {
                (a.0.min(b.0), a.0.max(b.0))
            } else {
                let x_at = |y: f32| a.0 + (b.0 - a.0) * ((y - a.1) / (b.1 - a.1)).clamp(0.0, 1.0);
                let (xa, xb) = (x_at(top), x_at(bottom));
                (xa.min(xb), xa.max(xb))
            };
            self.each_in_row(r, lo - grow, hi + grow, hit);
        }
    }

    /// The cells a box meets, as [`CellGrid::each`] calls them: first and last column
    /// and row (None: none).
    fn span(&self, b: &[f32; 4]) -> Option<[usize; 4]> {
        let e = CELL as f32;
        let (w, h) = (self.size.0 as f32, self.size.1 as f32);
        let (x0, y0, x1, y1) = (b[0] - self.x, b[1] - self.y, b[2] - self.x, b[3] - self.y);
        if x1 < 0.0 || y1 < 0.0 || x0 > w || y0 > h {
            return None;
        }
        let all = !(x0.is_finite() && y0.is_finite() && x1.is_finite() && y1.is_finite());
        // The cell of a coordinate: its floor, clamped to the cells (clamped first, to
        // -1..=n, which gives the same cells and keeps the cast in range: the floor by a
        // cast needs no call into libm on the x86-64 baseline).
        let cell = |v: f32, n: usize| {
            let v = (v / e).clamp(-1.0, n as f32);
            let t = v as i32;
            (if t as f32 > v { t - 1 } else { t }).max(0) as usize
        };
        let span = |lo: f32, hi: f32, n: usize| if all { (0, n - 1) } else { (cell(lo, n), cell(hi, n).min(n - 1)) };
        let (c0, c1) = span(x0, x1, self.cols);
        let (r0, r1) = span(y0, y1, self.rows);
        (c0 <= c1 && r0 <= r1).then_some([c0, r0, c1, r1])
    }
}

/// How many cells are flagged in any box of cells of a grid, in constant time (sums of
/// the flags above and left of every corner).
struct FlagSums {
    cols: usize,
    sums: Vec<u32>,
}

impl FlagSums {
    fn new(flags: &[bool], cols: usize) -> FlagSums {
        let rows = flags.len() / cols.max(1);
        let w = cols + 1;
        let mut sums = vec![0u32; w * (rows + 1)];
        for r in 0..rows {
            for c in 0..cols {
                sums[(r + 1) * w + c + 1] =
                    u32::from(flags[r * cols + c]) + sums[r * w + c + 1] + sums[(r + 1) * w + c] - sums[r * w + c];
            }
        }
        FlagSums { cols, sums }
    }

    /// Flags in the cells of columns c0..=c1 and rows r0..=r1.
    fn count(&self, [c0, r0, c1, r1]: [usize; 4]) -> u32 {
        let w = self.cols + 1;
        self.sums[(r1 + 1) * w + c1 + 1] + self.sums[r0 * w + c0]
            - self.sums[r0 * w + c1 + 1]
            - self.sums[(r1 + 1) * w + c0]
    }
}

/// A drawing kept as operations (see the module docs).
pub struct Recording {
    size: (u32, u32),
    background: Rgba,
    ops: Vec<Recorded>,
    digests: bool,
    /// Where the digests of contours in windows (and layers' operations) are kept for
    /// later recordings of the same place, if anywhere.
    near: Option<std::sync::Arc<NearDigests>>,
    /// Operations before this one are never changed by a later call (a town's marker
    /// joins the markers of the operation before it only from here on).
    sealed: usize,
}

/// The digests of contours in windows ([`Piece::hash_near`]), kept from one recording of
/// a place (a metatile in one map state) to the next: a contour that did not change has
/// the same digest in the same window, found rather than computed (which walks all its
/// segments). Likewise the cell keys of a stroke or fill in a window
/// ([`Recorded::local_cell_keys`]), by its digest and its contours'. Bounded: emptied
/// when full.
///
/// It also keeps the operations of layers drawn through [`Canvas::kept`] (water, rivers
/// and each polity's land, which most map states draw alike), by layer and key: a later
/// recording with the same key takes them rather than drawing them again; and the bounds
/// and ink boxes of lines of text by their digest (a town's name stands where it stood).
#[derive(Default)]
pub struct NearDigests {
    near: std::sync::Mutex<rustc_hash::FxHashMap<NearKey, u128>>,
    cells: std::sync::Mutex<rustc_hash::FxHashMap<u128, CellKeys>>,
    layers: std::sync::Mutex<rustc_hash::FxHashMap<(&'static str, u64), KeptOps>>,
    /// Layers taken rather than drawn.
    taken: std::sync::atomic::AtomicUsize,
    /// Lines of text laid out (their bounds and ink boxes), by digest.
    texts: std::sync::Mutex<rustc_hash::FxHashMap<u128, LaidOut>>,
}

/// A line of text laid out: its bounds and the boxes its glyphs can ink.
type LaidOut = ([f32; 4], std::sync::Arc<[[f32; 4]]>);

/// Points of a contour above which whether it reaches a window is kept
/// ([`NearDigests::reaches`]) rather than found again.
const KEPT_REACH_POINTS: u32 = 48;

/// The most lines of text a [`NearDigests`] keeps laid out.
const KEPT_TEXTS: usize = 1 << 14;

/// A layer's operations, with the key they were drawn under, what its drawing told
/// besides, and the path points they hold.
struct KeptOps {
    key: u128,
    ops: std::sync::Arc<[Recorded]>,
    told: Box<[u8]>,
    points: usize,
}

/// A kept layer's operations and what their drawing told.
type TakenLayer = (std::sync::Arc<[Recorded]>, Box<[u8]>);

/// The most path points the kept layers of all places of a process hold (8 bytes each,
/// with as much again in contours and digests).
const KEPT_OPS_POINTS: usize = 4 << 20;

static KEPT_OPS_USED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

impl Drop for NearDigests {
    fn drop(&mut self) {
        let n: usize = self.layers.get_mut().map(|m| m.values().map(|k| k.points).sum()).unwrap_or(0);
        KEPT_OPS_USED.fetch_sub(n, std::sync::atomic::Ordering::Relaxed);
    }
}

/// The path points an operation holds (what keeping it costs).
fn op_points(r: &Recorded) -> usize {
    match &*r.op {
        Op::Fill { path, .. } | Op::Stroke { path, .. } => path.points().len(),
        Op::Pattern { rings, .. } => rings.iter().map(Vec::len).sum(),
        Op::Glyphs { glyphs, .. } => glyphs.len(),
        Op::Markers { marks, .. } => marks.len(),
        Op::Image { layer, .. } => layer.data().len() / 8,
        Op::Rect { .. } | Op::Text { .. } => 1,
    }
}

/// The keys an operation gives cells of a window: (cell, key), in the order given.
type CellKeys = std::sync::Arc<[(u32, u64)]>;

/// The most operations' cell keys a [`NearDigests`] keeps.
const KEPT_CELL_KEYS: usize = 1 << 16;

/// A contour (its digest, how far it reaches, filled or stroked, closed) in a window.
type NearKey = (u128, u32, u8, [i32; 4]);

/// The most digests a [`NearDigests`] keeps.
const NEAR_DIGESTS: usize = 1 << 18;

impl NearDigests {
    /// The digest of `piece` in `window`, found, or made by `make` and kept.
    fn get_or(&self, piece: &Piece, dashed: bool, window: [f32; 4], make: impl FnOnce() -> u128) -> u128 {
        let key: NearKey = (
            piece.digest,
            piece.margin.to_bits(),
            u8::from(piece.area) | u8::from(piece.closed) << 1 | u8::from(dashed) << 2,
            window.map(|v| v as i32),
        );
        found_or_kept(&self.near, key, NEAR_DIGESTS, make)
    }

    /// The cell keys kept under `key`.
    fn cells(&self, key: u128) -> Option<CellKeys> {
        self.cells.lock().expect("digest lock").get(&key).cloned()
    }

    /// The operations of `layer` kept under `key`, and what their drawing told.
    fn layer(&self, layer: (&'static str, u64), key: u128) -> Option<TakenLayer> {
        let kept = self.layers.lock().expect("digest lock");
        let found = kept.get(&layer).filter(|k| k.key == key).map(|k| (k.ops.clone(), k.told.clone()));
        if found.is_some() {
            self.taken.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        found
    }

    /// Whether `piece` reaches `window` (left, top, width, height, px), found, or told by
    /// `make` and kept.
    fn reaches(&self, piece: &Piece, window: [i32; 4], make: impl FnOnce() -> bool) -> bool {
        let key: NearKey =
            (piece.digest, piece.margin.to_bits(), 0x80 | u8::from(piece.area) | u8::from(piece.closed) << 1, window);
        found_or_kept(&self.near, key, NEAR_DIGESTS, || u128::from(make())) != 0
    }

    /// The bounds and ink boxes of a line of text with this digest, found, or laid out by
    /// `make` and kept.
    fn text_ink(&self, digest: u128, make: impl FnOnce() -> LaidOut) -> LaidOut {
        found_or_kept(&self.texts, digest, KEPT_TEXTS, make)
    }

    /// How many layers recordings took from here rather than drew.
    pub fn layers_taken(&self) -> usize {
        self.taken.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Keep `ops` as `layer`'s under `key` (in place of what it kept), with what their
    /// drawing told, while the process's budget allows.
    fn keep_layer(&self, layer: (&'static str, u64), key: u128, ops: &[Recorded], told: &[u8]) {
        use std::sync::atomic::Ordering::Relaxed;
        let points: usize = ops.iter().map(op_points).sum();
        let mut kept = self.layers.lock().expect("digest lock");
        if let Some(old) = kept.remove(&layer) {
            KEPT_OPS_USED.fetch_sub(old.points, Relaxed);
        }
        if KEPT_OPS_USED.fetch_add(points, Relaxed) + points > KEPT_OPS_POINTS {
            KEPT_OPS_USED.fetch_sub(points, Relaxed);
            return;
        }
        kept.insert(layer, KeptOps { key, ops: ops.into(), told: told.into(), points });
    }

    /// Keep cell keys under `key`.
    fn keep_cells(&self, key: u128, keys: CellKeys) {
        keep_bounded(&mut self.cells.lock().expect("digest lock"), key, keys, KEPT_CELL_KEYS);
    }
}

/// The value `map` holds under `key`, or the one `make` gives, kept (the map is emptied
/// when it holds `most`). The lock is not held while `make` runs.
fn found_or_kept<K: std::hash::Hash + Eq, V: Clone>(
    map: &std::sync::Mutex<rustc_hash::FxHashMap<K, V>>,
    key: K,
    most: usize,
    make: impl FnOnce() -> V,
) -> V {
    if let Some(found) = map.lock().expect("digest lock").get(&key) {
        return found.clone();
    }
    let made = make();
    keep_bounded(&mut map.lock().expect("digest lock"), key, made.clone(), most);
    made
}

/// Keep `value` under `key` in `map`, emptied first when it holds `most`.
fn keep_bounded<K: std::hash::Hash + Eq, V>(map: &mut rustc_hash::FxHashMap<K, V>, key: K, value: V, most: usize) {
    if map.len() >= most {
        map.clear();
    }
    map.insert(key, value);
}

impl Recording {
    /// An empty recording of a `size` px image on `background`. Without `digests` no
    /// operation is hashed (a run with one map state needs no keys) and
    /// [`Recording::window_key`] must not be used.
    pub fn new(size: (u32, u32), background: Rgba, digests: bool) -> Recording {
        Recording { size, background, ops: Vec::new(), digests, near: None, sealed: 0 }
    }

    /// Keep the digests of contours in windows in `kept`, and find them there: for
    /// recordings of one place, one after another (see [`NearDigests`]).
    pub fn keep_near_digests(&mut self, kept: std::sync::Arc<NearDigests>) {
        self.near = Some(kept);
    }

    /// The operations recorded.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Nothing recorded.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Does an operation with these bounds touch the window at (x, y) of `size`?
    #[inline(always)]
    fn touches(bounds: &[f32; 4], x: f32, y: f32, size: (u32, u32)) -> bool {
        !(bounds[2] < x || bounds[3] < y || bounds[0] > x + size.0 as f32 || bounds[1] > y + size.1 as f32)
    }

    /// The content key of the `size` window with its top left at (x, y) px: equal keys
    /// mean equal pixels from [`Recording::draw_window`]. `salt` separates windows that
    /// must never share (e.g. a tile's address and scale).
    pub fn window_key(&self, x: i32, y: i32, size: (u32, u32), salt: &[u8]) -> u128 {
        debug_assert!(self.digests, "a recording made without digests has no keys");
        let mut h = super::Gathered::with_seed(0x7769_6e64);
        h.write(salt);
        for v in [x as u32, y as u32, size.0, size.1] {
            h.write(&v.to_le_bytes());
        }
        let b = self.background;
        h.write(&[b.0, b.1, b.2, b.3]);
        let (window, (kx, ky, ks)) = key_window(x, y, size);
        let mut near = Vec::new();
        for r in &self.ops {
            if !r.reach_kept(kx as f32, ky as f32, ks, self.near.as_deref(), &mut near) {
                continue;
            }
            r.hash_in_window(&near, window, self.near.as_deref(), &mut h);
        }
        h.finish_128()
    }

    /// Rasterise the `size` window with its top left at (x, y) px of the recording: the
    /// background, then every operation that touches it, in order. The window is drawn
    /// with a margin of [`WINDOW_MARGIN`] px that is then cut off, so that no line ends or
    /// clipped edge falls on its border (windows side by side meet without a seam).
    pub fn draw_window(&self, x: i32, y: i32, size: (u32, u32)) -> Option<Pixmap> {
        let (wx, wy, wide) = widened(x, y, size);
        let m = WINDOW_MARGIN;
        crate::output::crop_pixmap(&self.draw_window_exact(wx, wy, wide, None)?, m, m, size.0, size.1)
    }

    /// [`Recording::draw_window`], keeping the cells of its fills and strokes in `cells`
    /// for later redraws of the same window ([`Recording::redraw_window`]).
    pub fn draw_window_keeping(&self, x: i32, y: i32, size: (u32, u32), cells: &mut WindowCache) -> Option<Pixmap> {
        let (wx, wy, wide) = widened(x, y, size);
        let m = WINDOW_MARGIN;
        cells.next_round(usize::MAX);
        crate::output::crop_pixmap(&self.draw_window_exact(wx, wy, wide, Some(cells))?, m, m, size.0, size.1)
    }

    fn draw_window_exact(
        &self,
        x: i32,
        y: i32,
        size: (u32, u32),
        mut cells: Option<&mut WindowCache>,
    ) -> Option<Pixmap> {
        let mut px = crate::output::new_pixmap(size.0, size.1, self.background.skia(1.0))?;
        let (fx, fy) = (x as f32, y as f32);
        let mut near = Vec::new();
        for r in &self.ops {
            if !r.reach(fx, fy, size, &mut near) {
                continue;
            }
            r.draw(&mut px, &near, (x, y), cells.as_deref_mut());
        }
        Some(px)
    }

    /// The keys of the [`CELL`] px cells of the `size` window at (x, y), row by row: a
    /// cell's key hashes, in drawing order, every operation (whole: all its contours that
    /// reach the window) that can change a pixel of the cell. Equal keys in two
    /// recordings mean equal pixels in the cell from [`Recording::draw_window`], so a
    /// window drawn before can be brought up to date by redrawing only the cells whose
    /// keys changed ([`Recording::redraw_window`]).
    pub fn cell_keys(&self, x: i32, y: i32, size: (u32, u32)) -> Vec<u64> {
        debug_assert!(self.digests, "a recording made without digests has no keys");
        let grid = CellGrid::new(x, y, size);
        let b = self.background;
        let seed = u64::from_le_bytes([b.0, b.1, b.2, b.3, 0x63, 0x65, 0x6c, 0x6c]);
        let mut keys = vec![seed; grid.len()];
        let (window, (kx, ky, ks)) = key_window(x, y, size);
        let mut near = Vec::new();
        // One operation's keys in the window, reused from operation to operation.
        let mut local = Vec::new();
        for r in &self.ops {
            if !r.reach_kept(kx as f32, ky as f32, ks, self.near.as_deref(), &mut near) {
                continue;
            }
            let mix = |keys: &mut [u64], c: usize, key: u64| keys[c] = chain_key(keys[c], key);
            if let Op::Markers { .. } = *r.op {
                // Each marker keys only its own cells, as its own operations would.
                r.markers_near(&near, |m, pen| {
                    let mut h = super::Gathered::with_seed(0x6365);
                    h.write(&r.digest.to_le_bytes());
                    hash_marker(m, &mut h);
                    let key = h.finish_128() as u64;
                    grid.each(&marker_bounds(m, pen), &mut |c| mix(&mut keys, c, key));
                });
                continue;
            }
            // A stroke or fill keyed cell by cell: its keys in this window are kept by its
            // digest and its contours' for the next recording of the place.
            let memo = self.near.as_ref().and_then(|_| r.cells_memo_key(&near, (x, y, size)));
            if let Some(kept) = memo.and_then(|k| self.near.as_ref()?.cells(k)) {
                kept.iter().for_each(|&(c, key)| mix(&mut keys, c as usize, key));
                continue;
            }
            local.clear();
            if r.local_cell_keys(&near, &grid, &mut |c, key| local.push((c as u32, key))) {
                local.iter().for_each(|&(c, key)| mix(&mut keys, c as usize, key));
                if let (Some(k), Some(kept)) = (memo, &self.near) {
                    kept.keep_cells(k, local.as_slice().into());
                }
                continue;
            }
            let mut h = super::Gathered::with_seed(0x6365);
            r.hash_in_window(&near, window, self.near.as_deref(), &mut h);
            let key = h.finish_128() as u64;
            r.cells(&near, &grid, |c| mix(&mut keys, c, key));
        }
        keys
    }

    /// [`Recording::draw_window`] for a window whose earlier pixels `before` are right
    /// but in the cells flagged `dirty` (row by row, as [`Recording::cell_keys`]): only
    /// the operations that reach a dirty cell are drawn, and only those cells are taken
    /// from the drawing into `before` (taken, not copied). The pixels are those of
    /// `draw_window`, byte for byte; with them come the pixels that changed. The cells
    /// of fills and strokes drawn are kept in `cells` (or taken from there, when kept by
    /// an earlier drawing of the window: a border or a river that did not change is
    /// neither stroked nor walked again).
    pub fn redraw_window(
        &self,
        x: i32,
        y: i32,
        size: (u32, u32),
        before: Pixmap,
        dirty: &[bool],
        cells: &mut WindowCache,
    ) -> Option<Redrawn> {
        let grid = CellGrid::new(x, y, size);
        if before.width() != size.0 || before.height() != size.1 || dirty.len() != grid.len() {
            let pixels = self.draw_window_keeping(x, y, size, cells)?;
            return Some(Redrawn { changed: vec![[0, 0, size.0 as usize, size.1 as usize]], pixels });
        }
        // The cells kept for the window: about what its first drawing keeps, and room for
        // as much again of changed paths before those unused are let go.
        cells.next_round(KEPT_CELLS_PER_PX * size.0 as usize * size.1 as usize);
        let m = WINDOW_MARGIN as usize;
        let (wx, wy, wide) = widened(x, y, size);
        // The drawing is made on the thread's scratch image, of which only the dirty cells
        // are taken: they start as the background, and the rest holds whatever the last
        // redraw left (every operation blends pixel by pixel, so none of it reaches them).
        let mut px = match REDRAW_SCRATCH.with(|s| s.borrow_mut().take()) {
            Some(px) if px.width() == wide.0 && px.height() == wide.1 => px,
            _ => crate::output::new_pixmap(wide.0, wide.1, self.background.skia(1.0))?,
        };
        let bg = self.background.skia(1.0).premultiply().to_color_u8();
        let bg = [bg.red(), bg.green(), bg.blue(), bg.alpha()];
        let row = wide.0 as usize;
        for (y0, y1, x0, x1) in dirty_runs(dirty, &grid) {
            let (pixels, _) = px.data_mut().as_chunks_mut::<4>();
            for yy in y0..y1 {
                pixels[(yy + m) * row + x0 + m..(yy + m) * row + x1 + m].fill(bg);
            }
        }
        let flagged = FlagSums::new(dirty, grid.cols);
        let mut near = Vec::new();
        for r in &self.ops {
            // An operation whose bounds meet no dirty cell draws nothing that is kept.
            if grid.span(&r.bounds).is_none_or(|s| flagged.count(s) == 0) {
                continue;
            }
            if !r.reach(wx as f32, wy as f32, wide, &mut near) {
                continue;
            }
            let shift = |v: usize| (v + m) as u32;
            // A fill or stroke whose cells over the whole window are kept is swept again in
            // each run of dirty cells within its bounds (where it reaches nothing, a sweep
            // blends nothing, and costs less than finding the cells it reaches).
            let key = r.kept_key(&near, (wx, wy), wide);
            if let Some([c0, r0, c1, r1]) = grid.span(&r.bounds).filter(|_| r.cells_kept(key, wide, cells)) {
                let e = CELL as usize;
                for (y0, y1, x0, x1) in dirty_runs(dirty, &grid) {
                    let (x0, x1) = (x0.max(c0 * e), x1.min((c1 + 1) * e));
                    if y0 / e >= r0 && y0 / e <= r1 && x0 < x1 {
                        let run = (shift(x0)..shift(x1), shift(y0)..shift(y1));
                        r.draw_rect(&mut px, &near, (wx, wy), run.0, run.1, Some((&mut *cells, key)));
                    }
                }
                continue;
            }
            // Else only the dirty cells this operation reaches need its pixels: the box of them.
            let [mut left, mut lo, mut right, mut hi] = [usize::MAX, usize::MAX, 0, 0];
            r.cells(&near, &grid, |c| {
                if dirty[c] {
                    let [x0, y0, x1, y1] = grid.cell_px(c);
                    [left, lo, right, hi] = [left.min(x0), lo.min(y0), right.max(x1), hi.max(y1)];
                }
            });
            if lo < hi {
                r.draw_rect(
                    &mut px,
                    &near,
                    (wx, wy),
                    shift(left)..shift(right),
                    shift(lo)..shift(hi),
                    Some((cells, key)),
                );
            }
        }
        let mut out = before;
        let mut changed = Vec::new();
        let w = size.0 as usize;
        for (y0, y1, x0, x1) in dirty_runs(dirty, &grid) {
            for yy in y0..y1 {
                let src = ((yy + m) * row + x0 + m) * 4;
                let dst = (yy * w + x0) * 4;
                let (new, old) = (&px.data()[src..src + (x1 - x0) * 4], &mut out.data_mut()[dst..dst + (x1 - x0) * 4]);
                if new == old {
                    continue;
                }
                // The pixels from the first to the last that differ.
                let (new_px, _) = new.as_chunks::<4>();
                let (old_px, _) = old.as_chunks::<4>();
                let first = new_px.iter().zip(old_px).position(|(a, b)| a != b).unwrap_or(0);
                let last = new_px.iter().zip(old_px).rposition(|(a, b)| a != b).unwrap_or(0);
                changed.push([x0 + first, yy, x0 + last + 1, yy + 1]);
                old.copy_from_slice(new);
            }
        }
        REDRAW_SCRATCH.with(|s| *s.borrow_mut() = Some(px));
        Some(Redrawn { pixels: out, changed })
    }

    /// A fill, with its contours as pieces: the op's own digest covers its ink and rule,
    /// and its points when it has one contour.
    fn push_fill(&mut self, path: Path, ink: Ink, rule: FillRule) {
        let pieces = pieces(&path, 1.0, true, self.digests);
        let bounds = path_bounds(&path, 1.0);
        let whole = pieces.is_empty();
        let mut d = Digest::default();
        if self.digests {
            d.bytes(b"F");
            d.ink(ink);
            d.bytes(&[rule as u8]);
            if whole {
                d.path(&path);
            }
        }
        let digest = d.finish();
        self.push(Op::Fill { path, ink, rule, pieces }, bounds, |d| d.bytes(&digest.to_le_bytes()));
    }

    fn push(&mut self, op: Op, bounds: [f32; 4], digest: impl FnOnce(&mut Digest)) {
        let digest = if self.digests {
            let mut d = Digest::default();
            digest(&mut d);
            d.finish()
        } else {
            0
        };
        // Bounds that are not numbers touch every window.
        let bounds = if bounds.iter().all(|v| v.is_finite()) {
            bounds
        } else {
            [f32::NEG_INFINITY, f32::NEG_INFINITY, f32::INFINITY, f32::INFINITY]
        };
        self.ops.push(Recorded { op: std::sync::Arc::new(op), bounds, digest });
    }
}

/// The part of a path whose contours reach a window (`near`, by contour; empty for all):
/// the whole path when all do, else a path of those that do.
fn reaching<'a>(whole: &'a Path, near: &[bool]) -> Option<std::borrow::Cow<'a, Path>> {
    use tiny_skia::PathSegment as S;
    if near.iter().all(|n| *n) {
        return Some(std::borrow::Cow::Borrowed(whole));
    }
    let mut pb = tiny_skia::PathBuilder::new();
    let mut contour = usize::MAX;
    for seg in whole.segments() {
        if let S::MoveTo(_) = seg {
            contour = contour.wrapping_add(1);
        }
        if !near.get(contour).copied().unwrap_or(false) {
            continue;
        }
        match seg {
            S::MoveTo(p) => pb.move_to(p.x, p.y),
            S::LineTo(p) => pb.line_to(p.x, p.y),
            S::QuadTo(a, p) => pb.quad_to(a.x, a.y, p.x, p.y),
            S::CubicTo(a, b, p) => pb.cubic_to(a.x, a.y, b.x, b.y, p.x, p.y),
            S::Close => pb.close(),
        }
    }
    pb.finish().map(std::borrow::Cow::Owned)
}

/// A path's contours as pieces, each with its bounds grown by `margin` px, its points
/// when it is made of lines, and, with `digests`, a digest of its points. `area`: the
/// path is filled (else stroked).
fn pieces(path: &Path, margin: f32, area: bool, digests: bool) -> Vec<Piece> {
    use tiny_skia_path::PathVerb as V;
    let (verbs, points) = (path.verbs(), path.points());
    // Sized exactly: most paths have one contour, and a metatile records many thousands.
    let mut out = Vec::with_capacity(verbs.iter().filter(|v| **v == V::Move).count());
    // One buffer of the contour's verbs and points, hashed at its end.
    let mut bytes: Vec<u8> = Vec::with_capacity(if digests { verbs.len() + 8 * points.len() } else { 0 });
    let (mut v, mut p) = (0, 0);
    while v < verbs.len() {
        // One contour: its verbs from a move to the next, and its points.
        let (v0, p0) = (v, p);
        let (mut lines_only, mut closes) = (true, 0);
        loop {
            match verbs[v] {
                V::Move | V::Line => p += 1,
                V::Quad => (p, lines_only) = (p + 2, false),
                V::Cubic => (p, lines_only) = (p + 3, false),
                V::Close => closes += 1,
            }
            v += 1;
            if v == verbs.len() || verbs[v] == V::Move {
                break;
            }
        }
        let pts = &points[p0..p.min(points.len())];
        let mut b = [f32::INFINITY, f32::INFINITY, f32::NEG_INFINITY, f32::NEG_INFINITY];
        for q in pts {
            b = [b[0].min(q.x), b[1].min(q.y), b[2].max(q.x), b[3].max(q.y)];
        }
        if b[0] > b[2] || b[0].is_nan() {
            continue;
        }
        let line = lines_only.then_some((p0 as u32, (p0 + pts.len()) as u32));
        let digest = if digests {
            bytes.clear();
            bytes.extend(verbs[v0..v].iter().map(|&verb| verb as u8));
            points_bytes(&mut bytes, pts);
            twox_hash::XxHash3_128::oneshot_with_seed(0x7063, &bytes)
        } else {
            0
        };
        // A closed stroked contour also draws its closing segment.
        let closed = closes > 0 && !area;
        out.push(Piece {
            bounds: [b[0] - margin, b[1] - margin, b[2] + margin, b[3] + margin],
            digest,
            line,
            closed,
            area,
            margin,
        });
    }
    out
}

/// Append points' coordinates (x then y, little-endian f32 bits) to `out`.
fn points_bytes(out: &mut Vec<u8>, pts: &[tiny_skia::Point]) {
    let start = out.len();
    out.resize(start + 8 * pts.len(), 0);
    for (b, q) in out[start..].chunks_exact_mut(8).zip(pts) {
        b[..4].copy_from_slice(&q.x.to_bits().to_le_bytes());
        b[4..].copy_from_slice(&q.y.to_bits().to_le_bytes());
    }
}

/// Bounds of a path grown by `margin` px.
pub(crate) fn path_bounds(path: &Path, margin: f32) -> [f32; 4] {
    let b = path.bounds();
    [b.left() - margin, b.top() - margin, b.right() + margin, b.bottom() + margin]
}

/// A digest of one operation ([`super::Gathered`]).
struct Digest(super::Gathered);

impl Default for Digest {
    fn default() -> Digest {
        Digest(super::Gathered::with_seed(0x6f70))
    }
}

impl Digest {
    fn finish(&self) -> u128 {
        self.0.finish_128()
    }
    fn bytes(&mut self, b: &[u8]) {
        self.0.write(b);
    }
    fn u32(&mut self, v: u32) {
        self.bytes(&v.to_le_bytes());
    }
    fn f32s(&mut self, vs: &[f32]) {
        for v in vs {
            self.bytes(&v.to_bits().to_le_bytes());
        }
    }
    fn str(&mut self, s: &str) {
        self.u32(s.len() as u32);
        self.bytes(s.as_bytes());
    }
    fn rgba(&mut self, c: Rgba) {
        self.bytes(&[c.0, c.1, c.2, c.3]);
    }
    fn color(&mut self, c: Color) {
        self.f32s(&[c.red(), c.green(), c.blue(), c.alpha()]);
    }
    fn ink(&mut self, ink: Ink) {
        self.rgba(ink.color);
        self.f32s(&[ink.opacity]);
    }
    fn pen(&mut self, pen: &Pen) {
        self.f32s(&[pen.width]);
        self.u32(pen.dash.len() as u32);
        self.f32s(&pen.dash);
        self.bytes(&[pen.cap as u8, pen.join as u8]);
    }
    fn path(&mut self, p: &Path) {
        self.u32(p.len() as u32);
        let buffer = self.0.buffer();
        buffer.extend(p.verbs().iter().map(|v| *v as u8));
        points_bytes(buffer, p.points());
    }
    fn text_style(&mut self, s: &TextStyle) {
        self.bytes(&[s.face as u8]);
        self.f32s(&[s.size_px, s.letter_spacing_px]);
        self.color(s.color);
        match s.halo {
            Some((c, w)) => {
                self.bytes(&[1]);
                self.color(c);
                self.f32s(&[w]);
            }
            None => self.bytes(&[0]),
        }
    }
}

/// How far a text style can reach beyond its glyphs' advance boxes: the halo, plus a
/// size's worth for overhanging and italic glyphs.
pub(crate) fn text_margin(style: &TextStyle) -> f32 {
    style.size_px.abs() + style.halo.map_or(0.0, |(_, w)| w.abs()) + 2.0
}

/// How far a stroke can reach from its line, plus anti-aliasing: mitre joins out to the
/// mitre limit (tiny-skia's default, 4) times half the width; round and bevel joins half
/// the width, square caps √2 times that.
pub(crate) fn stroke_margin(pen: &Pen) -> f32 {
    let factor = match pen.join {
        tiny_skia::LineJoin::Miter | tiny_skia::LineJoin::MiterClip => {
            tiny_skia::Stroke::default().miter_limit.max(1.5)
        }
        tiny_skia::LineJoin::Round | tiny_skia::LineJoin::Bevel => 1.5,
    };
    pen.width.abs() / 2.0 * factor + 2.0
}

/// Bounds of pattern rings grown by the pattern's line `width` and anti-aliasing (None
/// for no points).
pub(crate) fn rings_bounds(rings: &[Vec<(f32, f32)>], width: f32) -> Option<[f32; 4]> {
    let mut b = [f32::INFINITY, f32::INFINITY, f32::NEG_INFINITY, f32::NEG_INFINITY];
    for &(x, y) in rings.iter().flatten() {
        b = [b[0].min(x), b[1].min(y), b[2].max(x), b[3].max(y)];
    }
    let m = width.abs() + 2.0;
    (b[0] <= b[2]).then(|| [b[0] - m, b[1] - m, b[2] + m, b[3] + m])
}

impl Canvas for Recording {
    fn size(&self) -> (u32, u32) {
        self.size
    }

    fn group(&mut self, _id: &'static str) {}

    fn fill_path(&mut self, path: &Path, ink: Ink, rule: FillRule) {
        self.push_fill(path.clone(), ink, rule);
    }

    fn stroke_path(&mut self, path: &Path, ink: Ink, pen: &Pen) {
        if pen.width.is_nan() || pen.width < 0.0 {
            return;
        }
        // Each contour is dashed and stroked on its own (tiny-skia restarts the dash at
        // every contour), so its contours are exact pieces.
        let margin = stroke_margin(pen);
        let pieces = pieces(path, margin, false, self.digests);
        let bounds = path_bounds(path, margin);
        let mut d = Digest::default();
        if self.digests {
            d.bytes(b"S");
            d.ink(ink);
            d.pen(pen);
        }
        let digest = d.finish();
        self.push(Op::Stroke { path: path.clone(), ink, pen: pen.clone(), pieces }, bounds, |d| {
            d.bytes(&digest.to_le_bytes())
        });
    }

    fn marker(&mut self, m: &Marker, pen: &Pen) {
        if !(m.x.is_finite() && m.y.is_finite() && m.r.is_finite() && pen.width >= 0.0) {
            // Kept as the operations it stands for (which decide what such numbers draw).
            m.draw_on(self, pen);
            return;
        }
        let b = marker_bounds(m, pen);
        let open = self.ops.len() > self.sealed;
        if let Some(last) = self.ops.last_mut().filter(|_| open) {
            if let Op::Markers { pen: p, marks } = std::sync::Arc::make_mut(&mut last.op) {
                if p == pen {
                    marks.push(*m);
                    let u = &mut last.bounds;
                    *u = [u[0].min(b[0]), u[1].min(b[1]), u[2].max(b[2]), u[3].max(b[3])];
                    return;
                }
            }
        }
        self.push(Op::Markers { pen: pen.clone(), marks: vec![*m] }, b, |d| {
            d.bytes(b"M");
            d.pen(pen);
        });
    }

    fn fill_rect(&mut self, rect: Rect, ink: Ink) {
        let bounds = [rect.left() - 1.0, rect.top() - 1.0, rect.right() + 1.0, rect.bottom() + 1.0];
        self.push(Op::Rect { rect, ink }, bounds, |d| {
            d.bytes(b"R");
            d.ink(ink);
            d.f32s(&[rect.left(), rect.top(), rect.right(), rect.bottom()]);
        });
    }

    fn pattern(&mut self, rings: &[Vec<(f32, f32)>], kind: Pattern, color: Rgba, spacing: f32, width: f32) {
        // No pattern draws nothing: kept out of every window's keys.
        if kind == Pattern::None {
            return;
        }
        let Some(bounds) = rings_bounds(rings, width) else { return };
        self.push(Op::Pattern { rings: rings.to_vec(), kind, color, spacing, width }, bounds, |d| {
            d.bytes(b"P");
            d.bytes(&[kind as u8]);
            d.rgba(color);
            d.f32s(&[spacing, width]);
            d.u32(rings.len() as u32);
            for r in rings {
                d.u32(r.len() as u32);
                for &(x, y) in r {
                    d.f32s(&[x, y]);
                }
            }
        });
    }

    fn text(&mut self, text: &str, x: f32, y: f32, style: &TextStyle) {
        let digest = |d: &mut Digest| {
            d.bytes(b"T");
            d.str(text);
            d.f32s(&[x, y]);
            d.text_style(style);
        };
        // Its bounds and the boxes its glyphs can ink: the same line at the same place was
        // most likely laid out by the last recording of this place (a town's name).
        let lay_out = || {
            let m = Fonts::embedded().measure(text, style);
            let pad = text_margin(style);
            let bounds = [x - pad, y - m.ascent - pad, x + m.width + pad, y + m.descent + pad];
            let ink: std::sync::Arc<[[f32; 4]]> = match self.digests {
                true => Fonts::embedded().ink_boxes(text, x, y, style).into(),
                false => std::sync::Arc::new([]),
            };
            (bounds, ink)
        };
        let (bounds, ink) = match self.near.as_ref().filter(|_| self.digests) {
            Some(near) => {
                let mut d = Digest::default();
                digest(&mut d);
                near.text_ink(d.finish(), lay_out)
            }
            None => lay_out(),
        };
        let ink: Box<[[f32; 4]]> = ink.iter().copied().collect();
        self.push(Op::Text { text: text.to_string(), x, y, style: style.clone(), ink }, bounds, digest);
    }

    fn glyphs(&mut self, text: &str, glyphs: &[PlacedGlyph], style: &TextStyle) {
        let mut b = [f32::INFINITY, f32::INFINITY, f32::NEG_INFINITY, f32::NEG_INFINITY];
        let pad = text_margin(style);
        for g in glyphs {
            let r = g.advance.abs() + pad;
            b = [b[0].min(g.x - r), b[1].min(g.y - r), b[2].max(g.x + r), b[3].max(g.y + r)];
        }
        if b[0] > b[2] {
            return;
        }
        let ink = match self.digests {
            true => Fonts::embedded().placed_ink_boxes(glyphs, style).into_boxed_slice(),
            false => Box::default(),
        };
        self.push(Op::Glyphs { glyphs: glyphs.to_vec(), style: style.clone(), ink }, b, |d| {
            d.bytes(b"G");
            d.str(text);
            d.u32(glyphs.len() as u32);
            for g in glyphs {
                d.u32(g.ch as u32);
                d.f32s(&[g.x, g.y, g.angle, g.advance]);
            }
            d.text_style(style);
        });
    }

    fn image(&mut self, layer: &Pixmap) {
        let bounds = [0.0, 0.0, layer.width() as f32, layer.height() as f32];
        self.push(Op::Image { layer: layer.clone(), x: 0, y: 0 }, bounds, |d| {
            d.bytes(b"I");
            d.u32(layer.width());
            d.u32(layer.height());
            d.bytes(layer.data());
        });
    }

    fn kept(
        &mut self,
        layer: (&'static str, u64),
        key: u128,
        draw: &mut dyn FnMut(&mut dyn Canvas) -> Vec<u8>,
    ) -> Vec<u8> {
        self.sealed = self.ops.len();
        let Some(near) = self.near.clone().filter(|_| self.digests) else {
            let told = draw(self);
            self.sealed = self.ops.len();
            return told;
        };
        let told = match near.layer(layer, key) {
            Some((ops, told)) => {
                self.ops.extend(ops.iter().cloned());
                told.into_vec()
            }
            None => {
                let from = self.ops.len();
                let told = draw(self);
                near.keep_layer(layer, key, &self.ops[from..], &told);
                told
            }
        };
        self.sealed = self.ops.len();
        told
    }

    fn inset(&mut self, x: f32, y: f32, size: (u32, u32), background: Rgba, draw: &mut dyn FnMut(&mut dyn Canvas)) {
        // An inset is drawn once, as a raster placed like the raster surface places it.
        let Some(mut panel) = crate::output::new_pixmap(size.0.max(1), size.1.max(1), background.skia(1.0)) else {
            return;
        };
        draw(&mut panel);
        let (px, py) = (x.round() as i32, y.round() as i32);
        let bounds = [px as f32, py as f32, (px + panel.width() as i32) as f32, (py + panel.height() as i32) as f32];
        let digest = |d: &mut Digest| {
            d.bytes(b"N");
            d.u32(px as u32);
            d.u32(py as u32);
            d.u32(panel.width());
            d.u32(panel.height());
            d.bytes(panel.data());
        };
        let mut d = Digest::default();
        digest(&mut d);
        let digest = d.finish();
        self.push(Op::Image { layer: panel, x: px, y: py }, bounds, |d| d.bytes(&digest.to_le_bytes()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tiny_skia::PathBuilder;

    fn line(x: f32) -> Path {
        let mut pb = PathBuilder::new();
        pb.move_to(10.0, 10.0);
        pb.line_to(x, 100.0);
        pb.finish().unwrap()
    }

    fn key_of(draw: impl Fn(&mut Recording)) -> u128 {
        let mut r = Recording::new((512, 512), Rgba(1, 2, 3, 255), true);
        draw(&mut r);
        r.window_key(0, 0, (256, 256), b"t")
    }

    #[test]
    fn any_change_to_an_operation_in_a_window_changes_its_key() {
        let pen = Pen { width: 3.0, dash: vec![], cap: tiny_skia::LineCap::Butt, join: tiny_skia::LineJoin::Miter };
        let ink = Ink::new(Rgba(9, 9, 9, 255), 1.0);
        let base = key_of(|c| c.stroke_path(&line(100.0), ink, &pen));
        assert_eq!(base, key_of(|c| c.stroke_path(&line(100.0), ink, &pen)));
        assert_ne!(base, key_of(|c| c.stroke_path(&line(100.5), ink, &pen)));
        assert_ne!(base, key_of(|c| c.stroke_path(&line(100.0), Ink::new(Rgba(9, 9, 8, 255), 1.0), &pen)));
        assert_ne!(base, key_of(|c| c.fill_path(&line(100.0), ink, FillRule::Winding)));
        assert_ne!(base, key_of(|_| {}));
        let style = TextStyle::new(crate::render::text::Face::Sans, 12.0, Color::BLACK);
        let a = key_of(|c| c.text("Turkistan", 5.0, 60.0, &style));
        assert_ne!(a, key_of(|c| c.text("Turkistan", 5.0, 61.0, &style)));
        assert_ne!(a, key_of(|c| c.text("Tashkent", 5.0, 60.0, &style)));
        // What lies in another window does not change this one's key.
        let far = key_of(|c| {
            c.stroke_path(&line(100.0), ink, &pen);
            c.fill_rect(Rect::from_xywh(400.0, 400.0, 50.0, 50.0).unwrap(), ink);
        });
        assert_eq!(base, far);
        // A label just outside the window whose halo and glyphs reach into it does.
        let near = key_of(|c| {
            c.stroke_path(&line(100.0), ink, &pen);
            c.text("Sighnaq", 258.0, 100.0, &style);
        });
        assert_ne!(base, near);
    }

    #[test]
    fn a_layer_kept_under_its_key_is_taken_again_and_a_new_key_draws_it_anew() {
        let kept = std::sync::Arc::new(NearDigests::default());
        let pen = Pen { width: 3.0, dash: vec![], cap: tiny_skia::LineCap::Round, join: tiny_skia::LineJoin::Round };
        let ink = Ink::new(Rgba(20, 60, 200, 255), 1.0);
        let town = Marker {
            x: 60.0,
            y: 60.0,
            r: 4.0,
            shape: crate::render::canvas::MarkerShape::Circle,
            fill: Rgba(255, 255, 255, 255),
            ink: Rgba(0, 0, 0, 255),
            dot: None,
        };
        // A river at `x` drawn as a kept layer under `key`, then a town.
        let record = |kept: Option<&std::sync::Arc<NearDigests>>, key: u128, x: f32| {
            let mut r = Recording::new((120, 120), Rgba(240, 230, 210, 255), true);
            if let Some(k) = kept {
                r.keep_near_digests(k.clone());
            }
            r.marker(&town, &pen);
            let told = r.kept(("rivers", 0), key, &mut |c| {
                c.marker(&Marker { x, ..town }, &pen);
                c.stroke_path(&line(x), ink, &pen);
                vec![x as u8]
            });
            r.marker(&Marker { x: 90.0, ..town }, &pen);
            (r, told)
        };
        let pixels = |r: &(Recording, Vec<u8>)| r.0.draw_window(0, 0, (120, 120)).unwrap().data().to_vec();
        let first = record(Some(&kept), 1, 40.0);
        assert_eq!(pixels(&first), pixels(&record(None, 1, 40.0)));
        // The same key: the kept river (at 40) and what its drawing told, not the river
        // the drawing would make.
        let again = record(Some(&kept), 1, 100.0);
        assert_eq!(pixels(&again), pixels(&first));
        assert_eq!((again.0.ops.len(), &again.1), (first.0.ops.len(), &vec![40]));
        // A new key: drawn anew, and kept in place of the old.
        let moved = record(Some(&kept), 2, 100.0);
        assert_eq!(pixels(&moved), pixels(&record(None, 2, 100.0)));
        assert_ne!(pixels(&moved), pixels(&first));
        let taken = record(Some(&kept), 2, 10.0);
        assert_eq!((pixels(&taken), taken.1), (pixels(&moved), vec![100]));
        // Towns before and after the layer stay operations of their own (none joins the
        // layer's, nor the layer's town theirs).
        assert_eq!(first.0.ops.len(), 4);
    }

    #[test]
    fn windows_side_by_side_make_the_whole_image() {
        // Every operation kind drawn across the four 64 px windows of a 128 px image:
        // the windows agree with each other where they meet (no seam), and a window
        // drawn twice is the same bytes.
        let mut r = Recording::new((128, 128), Rgba(240, 230, 210, 255), true);
        let ink = Ink::new(Rgba(200, 40, 40, 200), 1.0);
        let ring = vec![(10.0, 10.0), (118.0, 20.0), (100.0, 118.0), (15.0, 90.0)];
        let mut pb = PathBuilder::new();
        pb.move_to(ring[0].0, ring[0].1);
        for p in &ring[1..] {
            pb.line_to(p.0, p.1);
        }
        pb.close();
        let area = pb.finish().unwrap();
        r.fill_path(&area, ink, FillRule::EvenOdd);
        r.pattern(std::slice::from_ref(&ring), Pattern::Hatch, Rgba(0, 0, 0, 255), 5.0, 1.0);
        let pen =
            Pen { width: 2.5, dash: vec![6.0, 3.0], cap: tiny_skia::LineCap::Round, join: tiny_skia::LineJoin::Round };
        r.stroke_path(&line(120.0), Ink::new(Rgba(0, 0, 200, 255), 1.0), &pen);
        let style = TextStyle::new(crate::render::text::Face::Sans, 14.0, Color::BLACK);
        r.text("Otrar", 40.0, 70.0, &style);
        let whole = r.draw_window(0, 0, (128, 128)).unwrap();
        for (x, y) in [(0, 0), (64, 0), (0, 64), (64, 64)] {
            let w = r.draw_window(x, y, (64, 64)).unwrap();
            assert_eq!(w.data(), r.draw_window(x, y, (64, 64)).unwrap().data());
            // The same drawing as the whole image: lines clipped at another place are
            // anti-aliased a little differently along their length, but nothing is
            // missing, moved or cut off at the window's edge.
            let (mut worst, mut sum) = (0u8, 0u64);
            for yy in 0..64 {
                for xx in 0..64 {
                    let a = w.pixel(xx, yy).unwrap();
                    let b = whole.pixel(xx + x as u32, yy + y as u32).unwrap();
                    for (p, q) in [(a.red(), b.red()), (a.green(), b.green()), (a.blue(), b.blue())] {
                        worst = worst.max(p.abs_diff(q));
                        sum += u64::from(p.abs_diff(q));
                    }
                }
            }
            let mean = sum as f64 / (64.0 * 64.0 * 3.0);
            assert!(worst <= 64 && mean < 0.5, "window ({x}, {y}) differs from the whole image: {worst}, mean {mean}");
        }
    }

    /// A map-like drawing: two areas (one with a hole) in one fill, their dashed border
    /// in one stroke, a hatched area, a town marker and two labels; `shift` moves the
    /// second area's far corner, `color` recolours the marker.
    fn scene(shift: f32, color: u8) -> Recording {
        let mut r = Recording::new((300, 300), Rgba(240, 230, 210, 255), true);
        let ring = |pts: &[(f32, f32)], pb: &mut PathBuilder| {
            pb.move_to(pts[0].0, pts[0].1);
            for p in &pts[1..] {
                pb.line_to(p.0, p.1);
            }
            pb.close();
        };
        let a = [(10.0, 10.0), (140.0, 14.0), (150.0, 150.0), (12.0, 140.0)];
        let b = [(150.0, 150.0), (290.0, 160.0), (280.0 + shift, 290.0), (160.0, 285.0)];
        let hole = [(40.0, 40.0), (80.0, 40.0), (80.0, 80.0), (40.0, 80.0)];
        let mut pb = PathBuilder::new();
        for c in [&a[..], &b[..], &hole[..]] {
            ring(c, &mut pb);
        }
        let areas = pb.finish().unwrap();
        r.fill_path(&areas, Ink::new(Rgba(200, 120, 90, 255), 0.8), FillRule::EvenOdd);
        let pen =
            Pen { width: 2.5, dash: vec![6.0, 3.0], cap: tiny_skia::LineCap::Butt, join: tiny_skia::LineJoin::Miter };
        r.stroke_path(&areas, Ink::new(Rgba(90, 20, 20, 255), 1.0), &pen);
        r.pattern(&[b.to_vec()], Pattern::Hatch, Rgba(0, 0, 0, 160), 6.0, 1.0);
        r.fill_path(
            &PathBuilder::from_circle(60.0, 200.0, 5.0).unwrap(),
            Ink::new(Rgba(color, 0, 0, 255), 1.0),
            FillRule::Winding,
        );
        let style = TextStyle::new(crate::render::text::Face::Sans, 13.0, Color::BLACK);
        r.text("Turkistan", 70.0, 205.0, &style);
        r.text("Tashkent", 200.0, 60.0, &style);
        r
    }

    #[test]
    fn a_window_redrawn_state_after_state_with_its_kept_cells_is_the_whole_drawing() {
        // One window drawn once, keeping its fills' and strokes' cells, then brought from
        // state to state (and back) by redraws that take what they can from those cells:
        // every redraw gives the drawing made afresh, and unchanged paths are taken.
        let states = [(0.0, 200), (7.5, 200), (7.5, 10), (0.0, 10), (3.25, 200), (0.0, 200), (7.5, 10)];
        for (x, y, size) in [(0, 0, (300, 300)), (20, 140, (200, 150)), (133, 61, (97, 130))] {
            let mut cells = WindowCache::default();
            let first = scene(states[0].0, states[0].1);
            let mut pixels = first.draw_window_keeping(x, y, size, &mut cells).unwrap();
            assert!(pixels.data() == first.draw_window(x, y, size).unwrap().data());
            assert!(!cells.is_empty(), "the first drawing keeps cells");
            let mut keys = first.cell_keys(x, y, size);
            for &(shift, color) in &states[1..] {
                let now = scene(shift, color);
                let new_keys = now.cell_keys(x, y, size);
                let dirty: Vec<bool> = keys.iter().zip(&new_keys).map(|(a, b)| a != b).collect();
                pixels = now.redraw_window(x, y, size, pixels, &dirty, &mut cells).unwrap().pixels;
                let whole = now.draw_window(x, y, size).unwrap();
                assert!(pixels.data() == whole.data(), "window ({x}, {y}) in state {shift}, {color}");
                keys = new_keys;
            }
            assert!(cells.hits() > 0, "window ({x}, {y}): no kept cells were taken");
        }
    }

    #[test]
    fn a_window_redrawn_state_after_state_takes_its_kept_text_and_is_the_whole_drawing() {
        // The map-like scene with more lettering: a haloed name over the marker (redrawn
        // when the marker is recoloured, its lettering kept), a river name whose glyphs
        // are turned along a line crossing the moved corner, and a name whose words change
        // from state to state (a new key: never the kept lettering of another).
        let scene_text = |shift: f32, color: u8, name: &str| {
            let mut r = scene(shift, color);
            let mut halo = TextStyle::new(crate::render::text::Face::Serif, 15.0, Color::BLACK);
            halo.halo = Some((Color::WHITE, 2.0));
            r.text("Otrar", 48.0, 206.0, &halo);
            let style = TextStyle::new(crate::render::text::Face::Sans, 12.0, Color::from_rgba8(20, 60, 160, 255));
            let line = [(150.0, 300.0), (220.0, 250.0), (300.0, 262.0)];
            let glyphs = Fonts::embedded().layout_on_path("Syr Darya", &line, 4.0, &style).expect("the name fits");
            r.glyphs("Syr Darya", &glyphs, &style);
            r.text(name, 230.0, 230.0, &halo);
            r
        };
        let states = [
            (0.0, 200, "Sayram"),
            (7.5, 200, "Sayram"),
            (7.5, 10, "Sauran"),
            (0.0, 10, "Sayram"),
            (7.5, 200, "Sauran"),
        ];
        for (x, y, size) in [(0, 0, (300, 300)), (30, 150, (240, 150)), (141, 199, (97, 93))] {
            let mut kept = WindowCache::default();
            let first = scene_text(states[0].0, states[0].1, states[0].2);
            let mut pixels = first.draw_window_keeping(x, y, size, &mut kept).unwrap();
            let mut keys = first.cell_keys(x, y, size);
            let mut hits = 0;
            for &(shift, color, name) in &states[1..] {
                let now = scene_text(shift, color, name);
                let new_keys = now.cell_keys(x, y, size);
                let dirty: Vec<bool> = keys.iter().zip(&new_keys).map(|(a, b)| a != b).collect();
                pixels = now.redraw_window(x, y, size, pixels, &dirty, &mut kept).unwrap().pixels;
                let whole = now.draw_window(x, y, size).unwrap();
                assert!(pixels.data() == whole.data(), "window ({x}, {y}) in state {shift}, {color}, {name}");
                keys = new_keys;
                hits = kept.text_hits;
            }
            if x == 0 {
                assert!(hits > 0, "no kept lettering was taken");
            }
        }
    }

    #[test]
    fn redrawing_the_changed_cells_gives_the_whole_drawing() {
        let before = scene(0.0, 200);
        for (shift, color) in [(0.0, 200), (0.0, 10), (7.5, 200), (7.5, 10)] {
            let after = scene(shift, color);
            for (x, y, size) in [(0, 0, (300, 300)), (20, 140, (200, 150)), (150, 150, (120, 120))] {
                let old = before.draw_window(x, y, size).unwrap();
                let (k0, k1) = (before.cell_keys(x, y, size), after.cell_keys(x, y, size));
                let dirty: Vec<bool> = k0.iter().zip(&k1).map(|(a, b)| a != b).collect();
                let whole = after.draw_window(x, y, size).unwrap();
                let part = after.redraw_window(x, y, size, old, &dirty, &mut WindowCache::default()).unwrap().pixels;
                assert!(part.data() == whole.data(), "window ({x}, {y}) after {shift}, {color}");
                // Nothing changed, nothing dirty; a recoloured marker dirties the cells
                // around it; a moved corner of one area dirties the rows of cells its
                // edges cross (the fill) and the cells near them (the border).
                let n = dirty.iter().filter(|d| **d).count();
                match (shift, color, x) {
                    (0.0, 200, _) => assert_eq!(n, 0),
                    (0.0, _, 150) => assert_eq!(n, 0, "the marker lies outside this window"),
                    (0.0, _, _) => assert!(n > 0 && n <= 9, "{n} cells dirty"),
                    _ => assert!(n > 0, "{n} cells dirty"),
                }
            }
        }
    }

    /// A fill of a star-shaped polygon of `n` points (radii from `seed`), with a square
    /// hole, over a 400 px recording; `moved` shifts point `moved.0` by `moved.1`.
    fn star(seed: u64, n: usize, rule: FillRule, moved: Option<(usize, (f32, f32))>) -> Recording {
        let mut r = Recording::new((400, 400), Rgba(240, 230, 210, 255), true);
        let mut state = seed;
        let mut next = || {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) as f32 / (1u64 << 31) as f32
        };
        let mut pb = PathBuilder::new();
        for k in 0..n {
            let t = k as f32 / n as f32 * std::f32::consts::TAU;
            let rad = 60.0 + 130.0 * next();
            let (mut x, mut y) = (200.0 + rad * t.cos(), 200.0 + rad * t.sin());
            if let Some((at, (dx, dy))) = moved {
                if at == k {
                    (x, y) = (x + dx, y + dy);
                }
            }
            if k == 0 {
                pb.move_to(x, y);
            } else {
                pb.line_to(x, y);
            }
        }
        pb.close();
        for (x, y) in [(170.5, 170.25), (230.0, 170.25), (230.0, 229.75), (170.5, 229.75)] {
            if x == 170.5 && y == 170.25 {
                pb.move_to(x, y);
            } else {
                pb.line_to(x, y);
            }
        }
        pb.close();
        r.fill_path(&pb.finish().unwrap(), Ink::new(Rgba(200, 120, 90, 255), 0.8), rule);
        r
    }

    /// [`star`] hatched and bordered, with three dots far apart, one in the hatching (`recolour`: in another
    /// colour) and a label.
    fn star_with_dots(seed: u64, recolour: bool) -> Recording {
        let mut r = star(seed, 40, FillRule::EvenOdd, None);
        let ring: Vec<(f32, f32)> = (0..24)
            .map(|k| (k as f32 / 24.0 * std::f32::consts::TAU).sin_cos())
            .map(|(s, c)| (200.0 + 150.0 * c, 200.0 + 120.0 * s))
            .collect();
        r.pattern(std::slice::from_ref(&ring), Pattern::Cross, Rgba(90, 20, 20, 200), 6.0, 0.9);
        let pen =
            Pen { width: 2.0, dash: vec![5.0, 3.0], cap: tiny_skia::LineCap::Butt, join: tiny_skia::LineJoin::Miter };
        r.stroke_path(&line(190.0), Ink::new(Rgba(20, 20, 90, 255), 0.9), &pen);
        let c = if recolour { Rgba(10, 120, 10, 255) } else { Rgba(200, 30, 30, 255) };
        for (x, y) in [(40.0, 45.0), (350.0, 330.0), (300.0, 250.0)] {
            r.fill_path(&PathBuilder::from_circle(x, y, 6.0).unwrap(), Ink::new(c, 1.0), FillRule::Winding);
        }
        let style = TextStyle::new(crate::render::text::Face::Sans, 13.0, Color::BLACK);
        r.text("Turkistan", 150.0, 205.0, &style);
        r
    }

    #[test]
    fn changed_cells_far_apart_of_a_hatched_map_are_redrawn_as_the_whole_drawing() {
        for seed in 1..=4u64 {
            let (before, after) = (star_with_dots(seed, false), star_with_dots(seed, true));
            for (x, y, size) in [(0, 0, (400u32, 400u32)), (20, 30, (380, 330)), (200, 0, (200, 400))] {
                let old = before.draw_window(x, y, size).unwrap();
                let (k0, k1) = (before.cell_keys(x, y, size), after.cell_keys(x, y, size));
                let dirty: Vec<bool> = k0.iter().zip(&k1).map(|(a, b)| a != b).collect();
                let n = dirty.iter().filter(|d| **d).count();
                assert!(n > 0 && n * 4 < dirty.len(), "{n} of {} cells dirty", dirty.len());
                let whole = after.draw_window(x, y, size).unwrap();
                let part = after.redraw_window(x, y, size, old, &dirty, &mut WindowCache::default()).unwrap().pixels;
                assert!(part.data() == whole.data(), "seed {seed}, window ({x}, {y})");
            }
        }
    }

    #[test]
    fn redrawing_the_changed_cells_of_a_fill_gives_the_whole_drawing() {
        let windows = [(0, 0, (400u32, 400u32)), (150, 150, (100, 100)), (300, 40, (96, 128)), (37, 261, (130, 77))];
        for seed in 1..=6u64 {
            for rule in [FillRule::EvenOdd, FillRule::Winding] {
                let before = star(seed, 40, rule, None);
                for (k, shift) in [(0, (3.3, -2.1)), (7, (-40.0, 25.0)), (21, (0.4, 0.0)), (33, (150.0, 150.0))] {
                    let after = star(seed, 40, rule, Some((k, shift)));
                    for &(x, y, size) in &windows {
                        let old = before.draw_window(x, y, size).unwrap();
                        let (k0, k1) = (before.cell_keys(x, y, size), after.cell_keys(x, y, size));
                        let dirty: Vec<bool> = k0.iter().zip(&k1).map(|(a, b)| a != b).collect();
                        let whole = after.draw_window(x, y, size).unwrap();
                        let part =
                            after.redraw_window(x, y, size, old, &dirty, &mut WindowCache::default()).unwrap().pixels;
                        assert!(
                            part.data() == whole.data(),
                            "seed {seed} {rule:?}: point {k} moved, window ({x}, {y})"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn a_diagonal_segment_keys_the_cells_along_it_not_its_box() {
        let grid = CellGrid::new(0, 0, (256, 256));
        let (a, b, m) = ((3.0f32, 5.0f32), (250.0f32, 240.0f32), 2.5f32);
        let mut hit = vec![false; grid.len()];
        grid.each_near_segment(a, b, m, &mut |c| hit[c] = true);
        // Every point within `m` of the segment lies in a cell it marks.
        for i in 0..=2000 {
            let t = i as f32 / 2000.0;
            let (x, y) = (a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t);
            for k in 0..16 {
                let angle = k as f32 * std::f32::consts::PI / 8.0;
                let (px, py) = (x + m * angle.cos(), y + m * angle.sin());
                if !(0.0..256.0).contains(&px) || !(0.0..256.0).contains(&py) {
                    continue;
                }
                let c = (py as usize / 16) * grid.cols + px as usize / 16;
                assert!(hit[c], "({px}, {py}) is {m} px from the segment, in an unmarked cell");
            }
        }
        let marked = hit.iter().filter(|h| **h).count();
        assert!(marked < 256 / 3, "{marked} of 256 cells marked: the segment's box, not its band");
    }

    #[test]
    fn a_moved_corner_dirties_only_the_cells_near_its_edges_or_in_their_rows() {
        let grid = CellGrid::new(0, 0, (400, 400));
        let dirty_of = |before: &Recording, after: &Recording| -> Vec<bool> {
            let (k0, k1) = (before.cell_keys(0, 0, (400, 400)), after.cell_keys(0, 0, (400, 400)));
            let dirty: Vec<bool> = k0.iter().zip(&k1).map(|(a, b)| a != b).collect();
            let old = before.draw_window(0, 0, (400, 400)).unwrap();
            let part = after.redraw_window(0, 0, (400, 400), old, &dirty, &mut WindowCache::default()).unwrap().pixels;
            assert!(part.data() == after.draw_window(0, 0, (400, 400)).unwrap().data());
            dirty
        };
        // A fill: point 10 of 40 (at the bottom) moved; its two edges span the rows
        // below the middle, so no row of cells above the star's centre is dirty.
        let dirty =
            dirty_of(&star(3, 40, FillRule::EvenOdd, None), &star(3, 40, FillRule::EvenOdd, Some((10, (6.0, -4.0)))));
        let rows: std::collections::BTreeSet<usize> =
            dirty.iter().enumerate().filter(|(_, d)| **d).map(|(c, _)| c / grid.cols).collect();
        assert!(!rows.is_empty() && *rows.first().unwrap() * CELL as usize >= 200, "dirty rows {rows:?}");
        // A solid and a dashed line of 30 points across the image, point 20 moved: the
        // solid line dirties only cells near the point's two segments; the dashed one also
        // every cell after them (its dashes shift) but none before.
        for dash in [vec![], vec![6.0, 4.0]] {
            let pen = Pen {
                width: 2.0,
                dash: dash.clone(),
                cap: tiny_skia::LineCap::Round,
                join: tiny_skia::LineJoin::Miter,
            };
            let polyline = |moved: f32| {
                let mut r = Recording::new((400, 400), Rgba(240, 230, 210, 255), true);
                let mut pb = PathBuilder::new();
                pb.move_to(5.0, 200.0);
                for k in 1..30 {
                    let dy = if k == 20 { moved } else { 0.0 };
                    pb.line_to(5.0 + 13.0 * k as f32, 200.0 + 40.0 * (k as f32 * 0.7).sin() + dy);
                }
                r.stroke_path(&pb.finish().unwrap(), Ink::new(Rgba(20, 20, 90, 255), 1.0), &pen);
                r
            };
            let dirty = dirty_of(&polyline(0.0), &polyline(9.0));
            let columns: Vec<usize> =
                dirty.iter().enumerate().filter(|(_, d)| **d).map(|(c, _)| c % grid.cols).collect();
            let (first, last) = (*columns.iter().min().unwrap(), *columns.iter().max().unwrap());
            // Point 20 lies at x = 265, its segments from 252 to 278.
            assert!(first * CELL as usize >= 240, "{dash:?}: dirty from column {first}");
            match dash.is_empty() {
                true => assert!((last + 1) * CELL as usize <= 300, "solid: dirty to column {last}"),
                false => assert!(last * CELL as usize >= 368, "dashed: dirty only to column {last}"),
            }
        }
    }

    /// Fifty town markers of every shape on a 200 px recording, as kept runs of markers
    /// (split in two by a line drawn far off at `split`) or as the fills and strokes they
    /// stand for; `recolour` changes one marker's fill.
    fn towns(runs: bool, split: Option<usize>, recolour: bool) -> Recording {
        use crate::render::canvas::{Marker, MarkerShape};
        let mut r = Recording::new((200, 200), Rgba(240, 230, 210, 255), true);
        let pen = Pen { width: 0.8, dash: vec![], cap: tiny_skia::LineCap::Butt, join: tiny_skia::LineJoin::Miter };
        for k in 0..50 {
            if split == Some(k) {
                r.stroke_path(&line(12.0), Ink::new(Rgba(0, 0, 0, 255), 1.0), &pen);
            }
            let shape = [MarkerShape::Circle, MarkerShape::Square, MarkerShape::Diamond][k % 3];
            // Centres on the sixteenths of a pixel that stamped markers are put on.
            let (x, y) = (20.0 + (k % 7) as f32 * 26.3125, 30.0 + (k / 7) as f32 * 24.0625);
            let fill = if recolour && k == 24 { Rgba(10, 120, 10, 255) } else { Rgba(200, 30, 30, 255) };
            let dot = (k % 5 == 0).then_some(Rgba(255, 255, 255, 255));
            let m = Marker { shape, x, y, r: 3.5 + (k % 4) as f32, fill, ink: Rgba(20, 20, 20, 255), dot };
            if runs {
                r.marker(&m, &pen);
            } else {
                m.draw_on(&mut r, &pen);
            }
        }
        r
    }

    #[test]
    fn town_markers_kept_as_runs_draw_and_key_as_their_own_operations() {
        let (runs, ops) = (towns(true, None, false), towns(false, None, false));
        assert_eq!(runs.len(), 1, "fifty markers with one pen are one operation");
        assert!(ops.len() > 100);
        for (x, y, size) in [(0, 0, (200, 200)), (37, 61, (90, 70)), (150, 150, (50, 50))] {
            assert!(runs.draw_window(x, y, size).unwrap().data() == ops.draw_window(x, y, size).unwrap().data());
        }
        // How the markers fall into runs changes no key of a window the split misses.
        let split = towns(true, Some(20), false);
        assert_eq!(split.len(), 3);
        assert_eq!(runs.window_key(40, 40, (150, 150), b"t"), split.window_key(40, 40, (150, 150), b"t"));
        assert_eq!(runs.cell_keys(40, 40, (150, 150)), split.cell_keys(40, 40, (150, 150)));
        // A recoloured marker dirties only the cells around it, and redrawing them gives
        // the whole drawing.
        let after = towns(true, None, true);
        let (x, y, size) = (0, 0, (200, 200));
        let dirty: Vec<bool> =
            runs.cell_keys(x, y, size).iter().zip(after.cell_keys(x, y, size)).map(|(a, b)| *a != b).collect();
        let n = dirty.iter().filter(|d| **d).count();
        assert!((1..=4).contains(&n), "{n} cells dirty");
        let part = after
            .redraw_window(x, y, size, runs.draw_window(x, y, size).unwrap(), &dirty, &mut WindowCache::default())
            .unwrap()
            .pixels;
        assert!(part.data() == after.draw_window(x, y, size).unwrap().data());
        assert!(part.data() != runs.draw_window(x, y, size).unwrap().data());
    }

    /// A path of one contour through `pts`, closed or not.
    fn polyline(pts: &[(f32, f32)], close: bool) -> Path {
        let mut pb = PathBuilder::new();
        pb.move_to(pts[0].0, pts[0].1);
        for p in &pts[1..] {
            pb.line_to(p.0, p.1);
        }
        if close {
            pb.close();
        }
        pb.finish().unwrap()
    }

    #[test]
    fn a_contour_changed_only_far_from_a_window_keeps_its_key_and_pixels_there() {
        // A border and a land area running through the window (0, 0, 256, 256) and far
        // beyond it; then the same with a bend moved 300 px away from the window.
        let pen = Pen { width: 2.0, dash: vec![], cap: tiny_skia::LineCap::Round, join: tiny_skia::LineJoin::Miter };
        let ink = Ink::new(Rgba(90, 40, 20, 255), 1.0);
        let land = Ink::new(Rgba(200, 180, 120, 255), 1.0);
        let draw = |bend: f32, close: bool| {
            let pts = [(-40.0, 60.0), (120.0, 140.0), (300.0, 200.0), (700.0, bend), (900.0, 900.0), (-40.0, 900.0)];
            let mut r = Recording::new((1024, 1024), Rgba(1, 2, 3, 255), true);
            r.fill_path(&polyline(&pts, true), land, FillRule::Winding);
            r.stroke_path(&polyline(&pts, close), ink, &pen);
            r
        };
        for close in [false, true] {
            let (a, b) = (draw(500.0, close), draw(520.0, close));
            let key = |r: &Recording, x: i32, y: i32| r.window_key(x, y, (256, 256), b"t");
            assert_eq!(key(&a, 0, 0), key(&b, 0, 0), "closed {close}");
            assert_eq!(
                a.draw_window(0, 0, (256, 256)).unwrap().data(),
                b.draw_window(0, 0, (256, 256)).unwrap().data()
            );
            assert_eq!(a.cell_keys(0, 0, (256, 256)), b.cell_keys(0, 0, (256, 256)));
            // Where the bend is, the key changes.
            assert_ne!(key(&a, 512, 384), key(&b, 512, 384));
            // A window inside the land, with no edge in reach: keyed by its winding.
            assert_eq!(key(&a, 100, 600), key(&b, 100, 600));
            let inside = a.draw_window(100, 600, (256, 256)).unwrap();
            assert_eq!(inside.pixel(128, 128).unwrap().red(), 200);
        }
        // A corner just outside the window changes a stroke's join inside it: the key
        // changes with it.
        let corner = |y: f32| {
            let mut r = Recording::new((1024, 1024), Rgba(1, 2, 3, 255), true);
            let wide = Pen { width: 12.0, ..pen.clone() };
            r.stroke_path(&polyline(&[(10.0, 10.0), (250.0, 250.0), (262.0, y), (900.0, 900.0)], false), ink, &wide);
            r
        };
        let (a, b) = (corner(20.0), corner(30.0));
        let (ka, kb) = (a.window_key(0, 0, (256, 256), b"t"), b.window_key(0, 0, (256, 256), b"t"));
        let same = a.draw_window(0, 0, (256, 256)).unwrap().data() == b.draw_window(0, 0, (256, 256)).unwrap().data();
        assert!(ka != kb || same);
        assert_ne!(ka, kb);
    }

    #[test]
    fn a_dashed_line_changed_after_a_window_keeps_its_key_there_and_before_it_does_not() {
        // A dashed border through the window (0, 0, 256, 256), then far beyond it.
        let pen =
            Pen { width: 2.0, dash: vec![6.0, 4.0], cap: tiny_skia::LineCap::Butt, join: tiny_skia::LineJoin::Miter };
        let ink = Ink::new(Rgba(90, 40, 20, 255), 1.0);
        let draw = |start: f32, bend: f32, close: bool| {
            let pts = [(-300.0, start), (-40.0, 60.0), (120.0, 140.0), (300.0, 200.0), (700.0, bend), (900.0, 900.0)];
            let mut r = Recording::new((1024, 1024), Rgba(1, 2, 3, 255), true);
            r.stroke_path(&polyline(&pts, close), ink, &pen);
            r
        };
        let key = |r: &Recording| r.window_key(0, 0, (256, 256), b"t");
        let pixels = |r: &Recording| r.draw_window(0, 0, (256, 256)).unwrap().data().to_vec();
        // A bend moved after the window: the same dashes in it, the same key and cells.
        let (a, b) = (draw(60.0, 500.0, false), draw(60.0, 520.0, false));
        assert_eq!(key(&a), key(&b));
        assert_eq!(pixels(&a), pixels(&b));
        assert_eq!(a.cell_keys(0, 0, (256, 256)), b.cell_keys(0, 0, (256, 256)));
        // The start moved before the window: the length before it changes, and so do the
        // dashes in it and the key.
        let c = draw(30.0, 500.0, false);
        assert_ne!(pixels(&a), pixels(&c));
        assert_ne!(key(&a), key(&c));
        // A closed contour's last dash joins its first: a bend anywhere changes the key.
        assert_ne!(key(&draw(60.0, 500.0, true)), key(&draw(60.0, 520.0, true)));
    }
}
