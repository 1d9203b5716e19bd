//! Redrawing only what changed between two frames.
//!
//! A frame is drawn first onto a [`Recorder`], a [`Canvas`] that keeps every drawing
//! operation with a hash of its content and a conservative pixel box (anti-aliasing,
//! stroke joins and text halos included). The image is cut into [`TILE`]-pixel tiles, and
//! each tile gets a digest of the operations whose boxes touch it, in drawing order. A
//! pixel's colour depends only on the operations that touch it, in order, so a tile whose
//! digest equals the previous frame's holds the same pixels: only tiles whose digest
//! changed are redrawn, by replaying the operations that touch them onto a scratch image
//! at full-image coordinates (the very same tiny-skia calls as a whole render, so the
//! pixels are identical) and copying those tiles over the previous frame.

use crate::render::canvas::{Canvas, Ink, Marker, Pen};
use crate::render::record::{marker_bounds, path_bounds, rings_bounds, stroke_margin, text_margin};
use crate::render::text::{PlacedGlyph, TextStyle};
use crate::style::{Pattern, Rgba};
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use tiny_skia::{FillRule, Path, Pixmap, Rect};

/// Tile edge, px: the unit of redrawing.
pub const TILE: u32 = 16;

/// One recorded drawing operation.
enum Op {
    Fill(Path, Ink, FillRule),
    Stroke(Path, Ink, Pen),
    Rect(Rect, Ink),
    Pattern(Vec<Vec<(f32, f32)>>, Pattern, Rgba, f32, f32),
    Text(String, f32, f32, TextStyle),
    Glyphs(String, Vec<PlacedGlyph>, TextStyle),
    Marker(Marker, Pen),
    /// The animation's cached base layer (water, rivers, graticule), composited whole.
    Base,
}

/// An operation with its content hash and the tiles `[tx0, ty0, tx1, ty1]` (inclusive)
/// its pixel box touches (None: it touches no pixel of the image).
struct Recorded {
    op: Op,
    hash: u64,
    tiles: Option<[u32; 4]>,
}

/// A [`Canvas`] that records what is drawn on it, for [`Frame`]s to diff and replay.
pub struct Recorder {
    size: (u32, u32),
    base: Option<Arc<Pixmap>>,
    ops: Vec<Recorded>,
    /// Something was drawn that cannot be replayed (an inset, a foreign raster layer).
    unsupported: bool,
}

impl Recorder {
    /// A recorder for a `width`×`height` image whose `image` layer may be `base`.
    pub fn new(size: (u32, u32), base: Option<Arc<Pixmap>>) -> Recorder {
        Recorder { size, base, ops: Vec::new(), unsupported: false }
    }

    /// Can every operation be replayed?
    pub fn replayable(&self) -> bool {
        !self.unsupported
    }

    fn push(&mut self, op: Op, bbox: [f32; 4], hash: u64) {
        let tiles = tiles_of(bbox, self.size);
        self.ops.push(Recorded { op, hash, tiles });
    }
}

/// The tiles a pixel box touches, or None if it lies off the image. A box with a
/// non-finite edge touches every tile.
fn tiles_of(b: [f32; 4], (w, h): (u32, u32)) -> Option<[u32; 4]> {
    let (tw, th) = (w.div_ceil(TILE), h.div_ceil(TILE));
    if tw == 0 || th == 0 {
        return None;
    }
    if b.iter().any(|v| !v.is_finite()) {
        return Some([0, 0, tw - 1, th - 1]);
    }
    let (x0, y0, x1, y1) = (b[0].floor() - 1.0, b[1].floor() - 1.0, b[2].ceil() + 1.0, b[3].ceil() + 1.0);
    if x1 < 0.0 || y1 < 0.0 || x0 >= w as f32 || y0 >= h as f32 {
        return None;
    }
    let clamp = |v: f32, n: u32| ((v.max(0.0) as u32).min(n - 1)) / TILE;
    Some([clamp(x0, w), clamp(y0, h), clamp(x1, w), clamp(y1, h)])
}

fn hasher(tag: u8) -> DefaultHasher {
    let mut h = DefaultHasher::new();
    tag.hash(&mut h);
    h
}

fn hash_f32s(h: &mut DefaultHasher, v: impl IntoIterator<Item = f32>) {
    for x in v {
        x.to_bits().hash(h);
    }
}

fn hash_ink(h: &mut DefaultHasher, ink: &Ink) {
    ink.color.hash(h);
    ink.opacity.to_bits().hash(h);
}

fn hash_pen(h: &mut DefaultHasher, pen: &Pen) {
    hash_f32s(h, std::iter::once(pen.width).chain(pen.dash.iter().copied()));
    (pen.cap as u8, pen.join as u8).hash(h);
}

fn hash_path(h: &mut DefaultHasher, p: &Path) {
    for v in p.verbs() {
        (*v as u8).hash(h);
    }
    hash_f32s(h, p.points().iter().flat_map(|q| [q.x, q.y]));
}

fn hash_style(h: &mut DefaultHasher, s: &TextStyle) {
    s.face.hash(h);
    let c = s.color;
    hash_f32s(h, [s.size_px, c.red(), c.green(), c.blue(), c.alpha(), s.letter_spacing_px]);
    if let Some((c, w)) = s.halo {
        hash_f32s(h, [w, c.red(), c.green(), c.blue(), c.alpha()]);
    }
}

impl Canvas for Recorder {
    fn size(&self) -> (u32, u32) {
        self.size
    }

    fn group(&mut self, _id: &'static str) {}

    fn fill_path(&mut self, path: &Path, ink: Ink, rule: FillRule) {
        let mut h = hasher(1);
        hash_path(&mut h, path);
        hash_ink(&mut h, &ink);
        (rule as u8).hash(&mut h);
        self.push(Op::Fill(path.clone(), ink, rule), path_bounds(path, 2.0), h.finish());
    }

    fn stroke_path(&mut self, path: &Path, ink: Ink, pen: &Pen) {
        let mut h = hasher(2);
        hash_path(&mut h, path);
        hash_ink(&mut h, &ink);
        hash_pen(&mut h, pen);
        self.push(Op::Stroke(path.clone(), ink, pen.clone()), path_bounds(path, stroke_margin(pen)), h.finish());
    }

    fn fill_rect(&mut self, rect: Rect, ink: Ink) {
        let mut h = hasher(3);
        hash_f32s(&mut h, [rect.left(), rect.top(), rect.right(), rect.bottom()]);
        hash_ink(&mut h, &ink);
        let b = [rect.left() - 2.0, rect.top() - 2.0, rect.right() + 2.0, rect.bottom() + 2.0];
        self.push(Op::Rect(rect, ink), b, h.finish());
    }

    fn pattern(&mut self, rings: &[Vec<(f32, f32)>], kind: Pattern, color: Rgba, spacing: f32, width: f32) {
        let mut h = hasher(4);
        format!("{kind:?}").hash(&mut h);
        color.hash(&mut h);
        hash_f32s(&mut h, [spacing, width]);
        for r in rings {
            r.len().hash(&mut h);
            hash_f32s(&mut h, r.iter().flat_map(|&(x, y)| [x, y]));
        }
        // No points: a box off every tile.
        let b = rings_bounds(rings, width).unwrap_or([f32::MAX, f32::MAX, f32::MIN, f32::MIN]);
        self.push(Op::Pattern(rings.to_vec(), kind, color, spacing, width), b, h.finish());
    }

    fn text(&mut self, text: &str, x: f32, y: f32, style: &TextStyle) {
        let mut h = hasher(5);
        text.hash(&mut h);
        hash_f32s(&mut h, [x, y]);
        hash_style(&mut h, style);
        // No glyph of the embedded faces advances more than its size (ascent to descent
        // line, about 1.16 em); the margin covers overhangs and the halo.
        let n = text.chars().count() as f32;
        let m = text_margin(style);
        let run = n * (style.size_px.abs() + style.letter_spacing_px.max(0.0));
        let b = [x - m, y - style.size_px.abs() - m, x + run + m, y + style.size_px.abs() + m];
        self.push(Op::Text(text.to_string(), x, y, style.clone()), b, h.finish());
    }

    fn glyphs(&mut self, text: &str, glyphs: &[PlacedGlyph], style: &TextStyle) {
        let mut h = hasher(6);
        text.hash(&mut h);
        hash_style(&mut h, style);
        let mut b = [f32::MAX, f32::MAX, f32::MIN, f32::MIN];
        let m = text_margin(style) + style.size_px.abs();
        for g in glyphs {
            (g.ch as u32).hash(&mut h);
            hash_f32s(&mut h, [g.x, g.y, g.angle, g.advance]);
            let r = m + g.advance.abs();
            b = [b[0].min(g.x - r), b[1].min(g.y - r), b[2].max(g.x + r), b[3].max(g.y + r)];
        }
        self.push(Op::Glyphs(text.to_string(), glyphs.to_vec(), style.clone()), b, h.finish());
    }

    fn marker(&mut self, m: &Marker, pen: &Pen) {
        let mut h = hasher(8);
        m.bytes().hash(&mut h);
        hash_pen(&mut h, pen);
        self.push(Op::Marker(*m, pen.clone()), marker_bounds(m, pen), h.finish());
    }

    fn image(&mut self, layer: &Pixmap) {
        if self.base.as_deref().is_some_and(|b| std::ptr::eq(b, layer)) && layer.width() == self.size.0 {
            let (w, h) = (self.size.0 as f32, self.size.1 as f32);
            self.push(Op::Base, [0.0, 0.0, w, h], hasher(7).finish());
        } else {
            self.unsupported = true;
        }
    }

    fn kept(&mut self, _: (&'static str, u64), _: u128, draw: &mut dyn FnMut(&mut dyn Canvas) -> Vec<u8>) -> Vec<u8> {
        draw(self)
    }

    fn inset(&mut self, _x: f32, _y: f32, _size: (u32, u32), _bg: Rgba, _draw: &mut dyn FnMut(&mut dyn Canvas)) {
        self.unsupported = true;
    }
}

/// The tile digests of a frame drawn as the concatenation of `layers` (a map state, then
/// the frame's title block and timeline): per tile, a hash of the operations that touch
/// it, in order.
pub fn digests(layers: &[&Recorder], (w, h): (u32, u32)) -> Vec<u64> {
    let tw = w.div_ceil(TILE) as usize;
    let mut d = vec![0x5eed_u64; tw * h.div_ceil(TILE) as usize];
    for op in layers.iter().flat_map(|r| &r.ops) {
        let Some([x0, y0, x1, y1]) = op.tiles else { continue };
        for ty in y0..=y1 {
            for t in &mut d[ty as usize * tw + x0 as usize..=ty as usize * tw + x1 as usize] {
                // An order-dependent mix (a multiply-rotate step of FxHash's kind).
                *t = (t.rotate_left(5) ^ op.hash).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
            }
        }
    }
    d
}

/// The tiles whose digests differ (all of them when there is no previous frame).
pub fn dirty(prev: Option<&[u64]>, cur: &[u64]) -> Vec<bool> {
    match prev {
        Some(p) if p.len() == cur.len() => p.iter().zip(cur).map(|(a, b)| a != b).collect(),
        _ => vec![true; cur.len()],
    }
}

/// Pixel rectangles `[x, y, w, h]` covering the dirty tiles: runs of dirty tiles in a
/// tile row, clipped to the image.
pub fn dirty_rects(dirty: &[bool], (w, h): (u32, u32)) -> Vec<[usize; 4]> {
    let tw = w.div_ceil(TILE) as usize;
    let mut out = Vec::new();
    for (ty, row) in dirty.chunks(tw.max(1)).enumerate() {
        let mut tx = 0;
        while tx < row.len() {
            if !row[tx] {
                tx += 1;
                continue;
            }
            let start = tx;
            while tx < row.len() && row[tx] {
                tx += 1;
            }
            let (x0, y0) = (start * TILE as usize, ty * TILE as usize);
            let x1 = (tx * TILE as usize).min(w as usize);
            let y1 = ((ty + 1) * TILE as usize).min(h as usize);
            out.push([x0, y0, x1 - x0, y1 - y0]);
        }
    }
    out
}

/// The bounding box `[x, y, w, h]` of some rectangles (None if there are none).
#[cfg(test)]
pub fn union(rects: &[[usize; 4]]) -> Option<[usize; 4]> {
    let first = rects.first()?;
    let mut b = [first[0], first[1], first[0] + first[2], first[1] + first[3]];
    for r in rects {
        b = [b[0].min(r[0]), b[1].min(r[1]), b[2].max(r[0] + r[2]), b[3].max(r[1] + r[3])];
    }
    Some([b[0], b[1], b[2] - b[0], b[3] - b[1]])
}

/// The new pixels of the dirty tiles of a frame: each rectangle of [`dirty_rects`] with
/// its premultiplied RGBA pixels.
pub struct Patch {
    /// The rectangles and their pixels.
    pub rects: Vec<([usize; 4], Vec<u8>)>,
}

impl Patch {
    /// Paint the patch over the previous frame.
    pub fn apply(&self, frame: &mut Pixmap) {
        let w = frame.width() as usize;
        let data = frame.data_mut();
        for (r, px) in &self.rects {
            for (k, row) in px.chunks_exact(r[2] * 4).enumerate() {
                let start = ((r[1] + k) * w + r[0]) * 4;
                data[start..start + row.len()].copy_from_slice(row);
            }
        }
    }
}

/// Redraw the dirty tiles of a frame drawn as `layers` over a `background` (premultiplied
/// RGBA) on `scratch` (an image of the frame's size whose pixels do not matter), and
/// return their pixels.
pub fn redraw(
    layers: &[&Recorder],
    dirty: &[bool],
    background: [u8; 4],
    base: Option<&Pixmap>,
    scratch: &mut Pixmap,
) -> Patch {
    let size = (scratch.width(), scratch.height());
    let w = size.0 as usize;
    let tw = size.0.div_ceil(TILE) as usize;
    let rects = dirty_rects(dirty, size);
    for r in &rects {
        fill(scratch, *r, background);
    }
    let touches = |t: &[u32; 4]| (t[1]..=t[3]).any(|ty| (t[0]..=t[2]).any(|tx| dirty[ty as usize * tw + tx as usize]));
    for rec in layers.iter().flat_map(|l| &l.ops) {
        if !rec.tiles.as_ref().is_some_and(touches) {
            continue;
        }
        match &rec.op {
            Op::Fill(p, ink, rule) => Canvas::fill_path(scratch, p, *ink, *rule),
            Op::Stroke(p, ink, pen) => Canvas::stroke_path(scratch, p, *ink, pen),
            Op::Rect(r, ink) => Canvas::fill_rect(scratch, *r, *ink),
            Op::Pattern(rings, kind, color, spacing, width) => {
                Canvas::pattern(scratch, rings, *kind, *color, *spacing, *width)
            }
            Op::Text(t, x, y, s) => Canvas::text(scratch, t, *x, *y, s),
            Op::Glyphs(t, g, s) => Canvas::glyphs(scratch, t, g, s),
            Op::Marker(m, pen) => Canvas::marker(scratch, m, pen),
            Op::Base => {
                if let Some(base) = base {
                    for r in &rects {
                        composite_over_rect(scratch, base, *r);
                    }
                }
            }
        }
    }
    let data = scratch.data();
    let rects = rects
        .into_iter()
        .map(|r| {
            let mut px = Vec::with_capacity(r[2] * r[3] * 4);
            for y in r[1]..r[1] + r[3] {
                px.extend_from_slice(&data[(y * w + r[0]) * 4..(y * w + r[0] + r[2]) * 4]);
            }
            (r, px)
        })
        .collect();
    Patch { rects }
}

fn fill(p: &mut Pixmap, r: [usize; 4], px: [u8; 4]) {
    let w = p.width() as usize;
    let data = p.data_mut();
    for y in r[1]..r[1] + r[3] {
        for d in data[(y * w + r[0]) * 4..(y * w + r[0] + r[2]) * 4].chunks_exact_mut(4) {
            d.copy_from_slice(&px);
        }
    }
}

/// [`crate::render::paint::composite_over`] (premultiplied source-over, rounded the same
/// way) over one rectangle only.
fn composite_over_rect(dst: &mut Pixmap, src: &Pixmap, r: [usize; 4]) {
    if dst.width() != src.width() || dst.height() != src.height() {
        return;
    }
    let w = dst.width() as usize;
    let s_all = src.data();
    let d_all = dst.data_mut();
    for y in r[1]..r[1] + r[3] {
        let span = (y * w + r[0]) * 4..(y * w + r[0] + r[2]) * 4;
        for (d, s) in d_all[span.clone()].chunks_exact_mut(4).zip(s_all[span].chunks_exact(4)) {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_of_a_box() {
        assert_eq!(tiles_of([3.0, 3.0, 5.0, 5.0], (64, 40)), Some([0, 0, 0, 0]));
        assert_eq!(tiles_of([14.5, 0.0, 17.0, 30.0], (64, 40)), Some([0, 0, 1, 1]));
        assert_eq!(tiles_of([-50.0, -50.0, -10.0, -10.0], (64, 40)), None);
        assert_eq!(tiles_of([0.0, 0.0, 1e9, 1e9], (64, 40)), Some([0, 0, 3, 2]));
        assert_eq!(tiles_of([f32::NAN, 0.0, 1.0, 1.0], (64, 40)), Some([0, 0, 3, 2]));
    }

    #[test]
    fn dirty_rects_merge_runs_and_clip() {
        // 40x20 image: tiles 3x2, the last column and row clipped.
        let d = [true, true, false, false, true, true];
        assert_eq!(dirty_rects(&d, (40, 20)), vec![[0, 0, 32, 16], [16, 16, 24, 4]]);
        assert_eq!(union(&dirty_rects(&d, (40, 20))), Some([0, 0, 40, 20]));
        assert_eq!(union(&[]), None);
    }

    #[test]
    fn a_change_dirties_only_the_tiles_it_touches() {
        let ink = Ink::new(Rgba(200, 10, 10, 255), 1.0);
        let draw = |x: f32| {
            let mut r = Recorder::new((64, 64), None);
            r.fill_rect(Rect::from_xywh(2.0, 2.0, 4.0, 4.0).unwrap(), ink);
            r.fill_rect(Rect::from_xywh(x, 40.0, 4.0, 4.0).unwrap(), ink);
            r
        };
        let (a, b) = (draw(40.0), draw(44.0));
        let d = dirty(Some(&digests(&[&a], (64, 64))), &digests(&[&b], (64, 64)));
        let which: Vec<usize> = d.iter().enumerate().filter(|e| *e.1).map(|e| e.0).collect();
        assert_eq!(which, vec![10, 11], "tiles (2,2) and (3,2)");
        // Replayed over the old frame, the patch gives the new frame exactly.
        let bg = [250, 240, 230, 255];
        let full = |r: &Recorder| {
            let mut s = Pixmap::new(64, 64).unwrap();
            redraw(&[r], &[true; 16], bg, None, &mut s);
            s
        };
        let (old, new) = (full(&a), full(&b));
        let mut scratch = Pixmap::new(64, 64).unwrap();
        let mut patched = old.clone();
        redraw(&[&b], &d, bg, None, &mut scratch).apply(&mut patched);
        assert_eq!(patched.data(), new.data());
        assert_ne!(old.data(), new.data());
    }
}
