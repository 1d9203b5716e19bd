//! tiny-skia's anti-aliased hairlines (Skia's "antihair"), for a solid colour, byte for
//! byte, drawn only within a box of the image.
//!
//! A hatching is a few dozen straight lines a pixel thin, which tiny-skia draws as
//! hairlines: one run of its raster pipeline for every pixel or pair of pixels, across
//! the whole image even when only a small box of it is wanted (a partial redraw). Here the
//! same fixed-point steps give each pixel the same coverage, blended with the pipeline's
//! integer arithmetic, and a line is walked only where it crosses the box: Skia's clipping
//! of a hairline skips whole pixels along the line in exact integer steps, so the pixels
//! inside the box are those of the whole drawing.

use std::ops::Range;
use tiny_skia::{Color, Pixmap};

/// 26.6 fixed point.
type FDot6 = i32;
/// 16.16 fixed point.
type FDot16 = i32;

const FDOT16_ONE: FDot16 = 1 << 16;
const FDOT16_HALF: FDot16 = 1 << 15;

/// A rectangle of whole pixels: left, top, right, bottom (exclusive).
#[derive(Clone, Copy, Debug, PartialEq)]
struct IRect {
    l: i32,
    t: i32,
    r: i32,
    b: i32,
}

impl IRect {
    fn intersect(&self, o: &IRect) -> Option<IRect> {
        let r = IRect { l: self.l.max(o.l), t: self.t.max(o.t), r: self.r.min(o.r), b: self.b.min(o.b) };
        (r.l < r.r && r.t < r.b).then_some(r)
    }

    fn contains(&self, o: &IRect) -> bool {
        self.l <= o.l && self.t <= o.t && self.r >= o.r && self.b >= o.b
    }
}

/// The colour of a hairline as tiny-skia's pipeline holds it: premultiplied, in 0–255,
/// and whether it is opaque (then blended as "source" with coverage as a lerp, else as
/// "source over" with the colour scaled by coverage).
#[derive(Clone, Copy, Debug)]
pub struct HairInk {
    rgba: [u16; 4],
    opaque: bool,
}

impl HairInk {
    /// The ink tiny-skia's `stroke_path` draws a stroke of `color` and `width` (0–1 px,
    /// anti-aliased, no transform but a translation) with: the colour's alpha thinned in
    /// proportion to the width. None for a width it does not draw as a hairline.
    pub fn new(color: Color, width: f32) -> Option<HairInk> {
        if !(0.0..=1.0).contains(&width) {
            return None;
        }
        // The coverage is the mean of the lengths of the width along x and y (equal).
        let coverage = if width == 0.0 { 1.0 } else { (width + width) * 0.5 };
        let mut c = color;
        if coverage != 1.0 {
            let scale = (coverage * 256.0) as i32;
            let new_alpha = (255 * scale) >> 8;
            c.apply_opacity(new_alpha as f32 / 255.0);
        }
        let p = c.premultiply();
        let rgba = [p.red(), p.green(), p.blue(), p.alpha()].map(|v| (v * 255.0 + 0.5) as u16);
        Some(HairInk { rgba, opaque: c.is_opaque() })
    }
}

/// `v / 255` as tiny-skia's low-precision pipeline takes it.
#[inline(always)]
fn div255(v: u16) -> u16 {
    (v + 255) >> 8
}

/// The pixels a hairline is blended into: the image, the box of those it may change (the
/// wanted ones, within tiny-skia's clip of the line) and the ink.
struct Target<'a> {
    data: &'a mut [[u8; 4]],
    width: i32,
    clip: IRect,
    ink: HairInk,
}

impl Target<'_> {
    /// Blend the ink at coverage `m` into pixel (x, y), if it lies in the clip.
    #[inline(always)]
    fn put(&mut self, x: i32, y: i32, m: u8) {
        let c = self.clip;
        if x < c.l || x >= c.r || y < c.t || y >= c.b {
            return;
        }
        let px = &mut self.data[(y * self.width + x) as usize];
        let (s, m) = (self.ink.rgba, u16::from(m));
        if self.ink.opaque {
            for k in 0..4 {
                px[k] = div255(u16::from(px[k]) * (255 - m) + s[k] * m) as u8;
            }
        } else {
            let sa = div255(s[3] * m);
            for k in 0..4 {
                px[k] = (div255(s[k] * m) + div255(u16::from(px[k]) * (255 - sa))) as u8;
            }
        }
    }
}

/// Draw `segments` (pairs of points, px of `pixmap`) as tiny-skia's `stroke_path` draws one
/// path of them with `ink` (butt caps, anti-aliased), but only in the pixels of columns
/// `cols` and rows `rows`: those come out byte for byte as in the whole drawing, and no
/// other pixel is touched.
pub fn hairlines(pixmap: &mut Pixmap, segments: &[[(f32, f32); 2]], ink: HairInk, cols: Range<u32>, rows: Range<u32>) {
    let (w, h) = (pixmap.width() as i32, pixmap.height() as i32);
    let whole = IRect { l: 0, t: 0, r: w, b: h };
    let wanted = IRect {
        l: cols.start.min(w as u32) as i32,
        t: rows.start.min(h as u32) as i32,
        r: cols.end.min(w as u32) as i32,
        b: rows.end.min(h as u32) as i32,
    };
    let Some(wanted) = wanted.intersect(&whole) else { return };
    let (data, _) = pixmap.data_mut().as_chunks_mut::<4>();
    let mut target = Target { data, width: w, clip: wanted, ink };
    // tiny-skia first cuts each line to what fixed point holds, then to the image grown
    // by a pixel (a hairline reaches half a pixel past its ends).
    let fixed = [-32767.0, -32767.0, 32767.0, 32767.0];
    let grown = [-1.0, -1.0, w as f32 + 1.0, h as f32 + 1.0];
    for &[p0, p1] in segments {
        let Some(q) = intersect([p0, p1], fixed) else { continue };
        let Some(q) = intersect(q, grown) else { continue };
        let (x0, y0, x1, y1) = (fdot6(q[0].0), fdot6(q[0].1), fdot6(q[1].0), fdot6(q[1].1));
        let ir = IRect {
            l: (x0.min(x1) >> 6) - 1,
            t: (y0.min(y1) >> 6) - 1,
            r: ((x0.max(x1) + 63) >> 6) + 1,
            b: ((y0.max(y1) + 63) >> 6) + 1,
        };
        if whole.intersect(&ir).is_none() {
            continue;
        }
        // tiny-skia clips to the image where the line's box leaves it (and then only
        // pixels in that clip are blended); of those, only the wanted ones are.
        let clip = (!whole.contains(&ir)).then(|| ir.intersect(&whole)).flatten();
        let Some(keep) = clip.unwrap_or(ir).intersect(&wanted) else { continue };
        target.clip = if clip.is_some() { keep } else { wanted };
        anti_hairline(x0, y0, x1, y1, clip, &mut target);
    }
}

fn fdot6(v: f32) -> FDot6 {
    (v * 64.0) as i32
}

fn fast_div(a: FDot6, b: FDot6) -> FDot16 {
    ((a as u32) << 16) as i32 / b
}

/// Skia's `do_anti_hairline`: the line from (x0, y0) to (x1, y1), 26.6 fixed point, clipped
/// to `clip` (None: it lies inside the image).
fn anti_hairline(x0: FDot6, y0: FDot6, x1: FDot6, y1: FDot6, clip: Option<IRect>, t: &mut Target) {
    if [x0, y0, x1, y1].contains(&i32::MIN) {
        return;
    }
    if (x1 - x0).abs() > 511 << 6 || (y1 - y0).abs() > 511 << 6 {
        let (hx, hy) = ((x0 >> 1) + (x1 >> 1), (y0 >> 1) + (y1 >> 1));
        anti_hairline(x0, y0, hx, hy, clip, t);
        anti_hairline(hx, hy, x1, y1, clip, t);
        return;
    }
    // Along the line's major axis (left to right or top to bottom) and across it.
    let horizontal = (x1 - x0).abs() > (y1 - y0).abs();
    let (mut a0, mut b0, mut a1, mut b1) = if horizontal { (x0, y0, x1, y1) } else { (y0, x0, y1, x1) };
    let axes = |r: IRect| if horizontal { ((r.l, r.r), (r.t, r.b)) } else { ((r.t, r.b), (r.l, r.r)) };
    if a0 > a1 {
        std::mem::swap(&mut a0, &mut a1);
        std::mem::swap(&mut b0, &mut b1);
    }
    if a0 == a1 {
        return;
    }
    let mut istart = a0 >> 6;
    let mut istop = (a1 + 63) >> 6;
    let mut fstart: FDot16 = ((b0 as u32) << 10) as i32;
    // A straight line (flat or upright) keeps one ordinate.
    let straight = b0 == b1;
    let slope: FDot16 = if straight { 0 } else { fast_div(b1 - b0, a1 - a0) };
    if !straight {
        fstart += (slope * (32 - (a0 & 63)) + 32) >> 6;
    }
    let (mut scale_start, mut scale_stop) = if istop - istart == 1 { (a1 - a0, 0) } else { (64 - (a0 & 63), a1 & 63) };
    if let Some(c) = clip {
        let ((lo, hi), (across_lo, across_hi)) = axes(c);
        if istart >= hi || istop <= lo {
            return;
        }
        if istart < lo {
            fstart += slope * (lo - istart);
            istart = lo;
            scale_start = 64;
            if istop - istart == 1 {
                scale_start = contribution_64(a1);
                scale_stop = 0;
            }
        }
        if istop > hi {
            istop = hi;
            scale_stop = 0;
        }
        if istart == istop {
            return;
        }
        // The line's reach across: it misses the clip when a pixel past either end does.
        let (near, far) = if slope >= 0 {
            ((fstart - FDOT16_HALF) >> 16, (fstart + (istop - istart - 1) * slope + FDOT16_HALF + FDOT16_ONE - 1) >> 16)
        } else {
            ((fstart + (istop - istart - 1) * slope - FDOT16_HALF) >> 16, (fstart + FDOT16_HALF + FDOT16_ONE - 1) >> 16)
        };
        if near > across_hi || far < across_lo {
            return;
        }
    }
    // Past the clip tests, each pixel is checked against the target's clip (tiny-skia
    // checks only lines that leave the image, as the others lie in it whole).
    let put = |t: &mut Target, at: i32, across: i32, m: u8| match horizontal {
        true => t.put(at, across, m),
        false => t.put(across, at, m),
    };
    let pixel = |t: &mut Target, at: i32, f2: FDot16, mod64: Option<i32>| {
        let a = ((f2 >> 8) & 0xff) as u8;
        let whole = (f2 >> 16) as u32;
        let scaled = |v: u8| mod64.map_or(v, |m| ((i32::from(v) * m) >> 6) as u8);
        if straight {
            // The pixel the line is in, then the one before it across (tiny-skia skips
            // it at row 0 of a flat line, and takes column 0 again for an upright one).
            let (here, before) = (scaled(a), scaled(255 - a));
            if here != 0 {
                put(t, at, whole as i32, here);
            }
            if before != 0 && (whole >= 1 || !horizontal) {
                put(t, at, whole.max(1) as i32 - 1, before);
            }
        } else {
            let across = whole.max(1) as i32 - 1;
            put(t, at, across, scaled(255 - a));
            put(t, at, across + 1, scaled(a));
        }
    };
    // Pixel `at` of the line (the first a cap of `scale_start`, the last one of
    // `scale_stop` when that is partial) takes its coverage from the running ordinate `f`,
    // which moves by the slope from pixel to pixel and is held at -1/2 px or more (so it
    // is followed from the line's first pixel even where those are not drawn).
    let ((want_lo, want_hi), _) = axes(t.clip);
    let last = istop - 1;
    let mut f = fstart;
    let mut at = istart;
    // Skip to the wanted pixels: at once while the ordinate is not held (a straight run),
    // else pixel by pixel.
    if want_lo > at {
        let n = i64::from(want_lo.min(istop) - at);
        let (f0, fn1) =
            (i64::from(f) + i64::from(FDOT16_HALF), i64::from(f) + i64::from(FDOT16_HALF) + (n - 1) * i64::from(slope));
        if f0 >= 0 && fn1 >= 0 {
            f = (i64::from(f) + n * i64::from(slope)) as i32;
            at += n as i32;
        } else {
            while at < want_lo.min(istop) {
                f = (f + FDOT16_HALF).max(0) + slope - FDOT16_HALF;
                at += 1;
            }
        }
    }
    while at <= last && at < want_hi {
        let f2 = (f + FDOT16_HALF).max(0);
        let scale = if at == istart {
            Some(scale_start)
        } else if at == last && scale_stop > 0 {
            Some(scale_stop)
        } else {
            None
        };
        pixel(t, at, f2, scale);
        f = f2 + slope - FDOT16_HALF;
        at += 1;
    }
}

/// The fractional part of a 26.6 ordinate, with whole numbers as 64, not 0.
fn contribution_64(ordinate: FDot6) -> i32 {
    ((ordinate - 1) & 63) + 1
}

/// tiny-skia's `line_clipper::intersect`: the part of the segment inside `clip` (left,
/// top, right, bottom), or None.
fn intersect(src: [(f32, f32); 2], clip: [f32; 4]) -> Option<[(f32, f32); 2]> {
    let [cl, ct, cr, cb] = clip;
    let (bl, bt) = (src[0].0.min(src[1].0), src[0].1.min(src[1].1));
    let (br, bb) = (src[0].0.max(src[1].0), src[0].1.max(src[1].1));
    // tiny-skia's Rect::from_ltrb: finite, left <= right, top <= bottom, finite size.
    let bounds_ok = [bl, bt, br, bb].iter().all(|v| v.is_finite()) && (br - bl).is_finite() && (bb - bt).is_finite();
    if bounds_ok {
        if cl <= bl && ct <= bt && cr >= br && cb >= bb {
            return Some(src);
        }
        let lt = |a: f32, b: f32, dim: f32| a <= b && (a < b || dim > 0.0);
        if lt(br, cl, br - bl) || lt(cr, bl, br - bl) || lt(bb, ct, bb - bt) || lt(cb, bt, bb - bt) {
            return None;
        }
    }
    let (i0, i1) = if src[0].1 < src[1].1 { (0, 1) } else { (1, 0) };
    let mut tmp = src;
    if tmp[i0].1 < ct {
        tmp[i0] = (sect_with_horizontal(&src, ct), ct);
    }
    if tmp[i1].1 > cb {
        tmp[i1] = (sect_with_horizontal(&src, cb), cb);
    }
    let (i0, i1) = if tmp[0].0 < tmp[1].0 { (0, 1) } else { (1, 0) };
    if (tmp[i1].0 <= cl || tmp[i0].0 >= cr) && (tmp[0].0 != tmp[1].0 || tmp[0].0 < cl || tmp[0].0 > cr) {
        return None;
    }
    if tmp[i0].0 < cl {
        tmp[i0] = (cl, sect_with_vertical(&src, cl));
    }
    if tmp[i1].0 > cr {
        tmp[i1] = (cr, sect_with_vertical(&src, cr));
    }
    Some(tmp)
}

/// tiny-skia's test for a float too small to divide by.
fn nearly_zero(v: f32) -> bool {
    v.abs() <= 1.0 / (1 << 12) as f32
}

fn sect_with_horizontal(src: &[(f32, f32); 2], y: f32) -> f32 {
    let dy = src[1].1 - src[0].1;
    if nearly_zero(dy) {
        (src[0].0 + src[1].0) * 0.5
    } else {
        let (x0, y0, x1, y1) = (f64::from(src[0].0), f64::from(src[0].1), f64::from(src[1].0), f64::from(src[1].1));
        let result = x0 + (f64::from(y) - y0) * (x1 - x0) / (y1 - y0);
        let (lo, hi) = if x1 < x0 { (x1, x0) } else { (x0, x1) };
        (if result < lo {
            lo
        } else if result > hi {
            hi
        } else {
            result
        }) as f32
    }
}

fn sect_with_vertical(src: &[(f32, f32); 2], x: f32) -> f32 {
    let dx = src[1].0 - src[0].0;
    if nearly_zero(dx) {
        (src[0].1 + src[1].1) * 0.5
    } else {
        let (x0, y0, x1, y1) = (f64::from(src[0].0), f64::from(src[0].1), f64::from(src[1].0), f64::from(src[1].1));
        (y0 + (f64::from(x) - x0) * (y1 - y0) / (x1 - x0)) as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tiny_skia::{LineCap, Paint, PathBuilder, Stroke, Transform};

    /// A small deterministic generator (xorshift), so that a failure repeats.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn f(&mut self, lo: f32, hi: f32) -> f32 {
            lo + (hi - lo) * (self.next() % 1_000_000) as f32 / 1_000_000.0
        }
        fn u(&mut self, n: u32) -> u32 {
            (self.next() % u64::from(n)) as u32
        }
    }

    /// Lines of every kind (flat, upright, steep, shallow, a point, longer than 511 px,
    /// leaving the image on any side) with every kind of ink, drawn whole by tiny-skia and
    /// here within random boxes: the boxes' pixels are tiny-skia's, the rest untouched.
    #[test]
    fn the_pixels_of_a_box_are_tiny_skias() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for case in 0..400 {
            let (w, h) = (16 + rng.u(300), 16 + rng.u(300));
            let mut base = Pixmap::new(w, h).unwrap();
            for px in base.data_mut().chunks_exact_mut(4) {
                let a = rng.u(256) as u8;
                px.copy_from_slice(&[rng.u(u32::from(a) + 1) as u8, rng.u(u32::from(a) + 1) as u8, 0, a]);
            }
            let mut segments = Vec::new();
            for _ in 0..1 + rng.u(12) {
                let p = (rng.f(-80.0, w as f32 + 80.0), rng.f(-80.0, h as f32 + 80.0));
                let q = match rng.u(6) {
                    0 => (rng.f(-80.0, w as f32 + 80.0), p.1),
                    1 => (p.0, rng.f(-80.0, h as f32 + 80.0)),
                    2 => p,
                    3 => (p.0 + rng.f(-900.0, 900.0), p.1 + rng.f(-900.0, 900.0)),
                    _ => (rng.f(-80.0, w as f32 + 80.0), rng.f(-80.0, h as f32 + 80.0)),
                };
                segments.push([p, q]);
            }
            let alpha = if rng.u(3) == 0 { 255 } else { rng.u(256) as u8 };
            let color = Color::from_rgba8(rng.u(256) as u8, rng.u(256) as u8, rng.u(256) as u8, alpha);
            let width = match rng.u(4) {
                0 => 0.0,
                1 => 1.0,
                _ => rng.f(0.0, 1.0),
            };
            let (ox, oy) = (rng.f(-3.0, 3.0).round() * 7.5, rng.f(-3.0, 3.0).round() * 7.5);
            let mut pb = PathBuilder::new();
            for [p, q] in &segments {
                pb.move_to(p.0 - ox, p.1 - oy);
                pb.line_to(q.0 - ox, q.1 - oy);
            }
            let mut paint = Paint { anti_alias: true, ..Default::default() };
            paint.set_color(color);
            let mut whole = base.clone();
            let stroke = Stroke { width, line_cap: LineCap::Butt, ..Default::default() };
            whole.stroke_path(&pb.finish().unwrap(), &paint, &stroke, Transform::from_translate(ox, oy), None);
            let moved: Vec<[(f32, f32); 2]> = segments
                .iter()
                .map(|[p, q]| [(p.0 - ox + ox, p.1 - oy + oy), (q.0 - ox + ox, q.1 - oy + oy)])
                .collect();
            let ink = HairInk::new(color, width).unwrap();
            for _ in 0..4 {
                let (c0, r0) = (rng.u(w + 10), rng.u(h + 10));
                let (c1, r1) = (c0 + rng.u(w), r0 + rng.u(h));
                let mut boxed = base.clone();
                hairlines(&mut boxed, &moved, ink, c0..c1, r0..r1);
                for y in 0..h {
                    for x in 0..w {
                        let inside = (c0..c1).contains(&x) && (r0..r1).contains(&y);
                        let want = if inside { whole.pixel(x, y) } else { base.pixel(x, y) };
                        assert_eq!(
                            boxed.pixel(x, y),
                            want,
                            "case {case}: pixel ({x}, {y}) of {w}x{h}, box {c0}..{c1} x {r0}..{r1}, width {width}, {color:?}, {moved:?}"
                        );
                    }
                }
            }
        }
    }
}
