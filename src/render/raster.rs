//! An anti-aliased path filler for solid colours: exact area coverage from sparse cells,
//! the method of FreeType's smooth rasteriser.
//!
//! tiny-skia runs its raster pipeline once for every run of equal coverage on every pixel
//! row, so a thin stroke (a river, a route, a border) costs a few hundred instructions
//! per pixel it touches. Here every edge leaves a cell (cover and area) in each pixel it
//! crosses; the cells are sorted by row and column and swept once, and the spans between
//! cells are blended with one constant coverage. The cost follows the length of the
//! edges and the pixels covered, not the number of runs.
//!
//! Coverage is the exact area inside the path; the fill rule is applied to the summed
//! signed area, as FreeType does (overlapping contours are exact away from the pixels
//! where their edges cross).

use super::canvas::{Ink, Pen};
use std::ops::Range;
use tiny_skia::{FillRule, Path, Pixmap, Point, Transform};

/// Largest distance, px, between a curve and the lines that stand for it.
const FLATNESS: f32 = 0.1;

/// Bits of subpixel precision: edges are cut into cells with their ends at whole
/// multiples of 1/256 px, as FreeType's smooth rasteriser does.
const BITS: u32 = 8;
/// One pixel, in subpixel units.
const ONE: i32 = 1 << BITS;
/// A whole pixel's coverage in the units of [`Cell::area`]: twice the square of [`ONE`].
const FULL: i64 = 2 * (ONE as i64) * (ONE as i64);
/// Coordinates, px, kept as they are: beyond, an edge is cut (its part left of the
/// image becomes a vertical line at -FAR, which has the same cover; parts above or below
/// every row are dropped), so that subpixel products fit in 64 bits.
const FAR: f32 = (1 << 20) as f32;

/// One pixel's share of the edges, in whole subpixel units: the signed height they cross
/// in it (`cover`) and twice the part of that inside the pixel, times [`ONE`] (`area`).
/// Integers: the sums of a pixel come out the same in any order and however the edges
/// were gathered, so a box drawn alone is the box of the whole drawing.
#[derive(Clone, Copy, Default)]
struct Cell {
    /// Row, from the box's top.
    y: u32,
    /// Column, from the box's left side.
    x: u32,
    cover: i32,
    area: i32,
}

/// The cells of one path within a box of pixels: columns `c0..c1`, rows `r0..r1`.
///
/// Only the rows of the box are visited, and only its columns leave cells: everything
/// left of the box adds only its cover to the row's `left` sum (the covers of an edge's
/// pieces telescope, so a piece wholly left of the box adds the height it crosses), and
/// nothing right of it counts.
struct Cells {
    c0: i32,
    c1: i32,
    r0: i32,
    r1: i32,
    cells: Vec<Cell>,
    /// The cover of everything left of column `c0`, by row of the box.
    left: Vec<i32>,
}

impl Cells {
    /// Add a piece to the cell of column `x` and row `y` (both within the box).
    #[inline(always)]
    fn push(&mut self, x: i32, y: i32, cover: i32, area: i32) {
        if cover == 0 && area == 0 {
            return;
        }
        let (x, y) = ((x - self.c0) as u32, (y - self.r0) as u32);
        // Pieces of one edge in one pixel come one after another: one cell for them.
        if let Some(last) = self.cells.last_mut() {
            if last.x == x && last.y == y {
                last.cover = last.cover.wrapping_add(cover);
                last.area = last.area.wrapping_add(area);
                return;
            }
        }
        self.cells.push(Cell { y, x, cover, area });
    }

    /// An edge from `a` to `b`.
    #[inline(always)]
    fn line(&mut self, a: Vertex, b: Vertex) {
        if a.near && b.near {
            self.line_sub(a.x, a.y, b.x, b.y);
        } else {
            self.far_line(a.p, b.p);
        }
    }

    /// An edge with an end beyond [`FAR`] (or none at all): cut at ±FAR in x and y, in f64.
    #[cold]
    fn far_line(&mut self, a: Point, b: Point) {
        if a.y == b.y || !(a.x.is_finite() && a.y.is_finite() && b.x.is_finite() && b.y.is_finite()) {
            return;
        }
        // Wholly above or below the rows, or right of the columns: nothing.
        if a.y.max(b.y) <= self.r0 as f32 || a.y.min(b.y) >= self.r1 as f32 || a.x.min(b.x) >= self.c1 as f32 {
            return;
        }
        let far = f64::from(FAR);
        let (mut ax, mut ay, mut bx, mut by) = (f64::from(a.x), f64::from(a.y), f64::from(b.x), f64::from(b.y));
        // Above and below ±FAR lie no rows.
        if ay.min(by) >= far || ay.max(by) <= -far {
            return;
        }
        for lim in [-far, far] {
            let at = |ax: f64, ay: f64, bx: f64, by: f64| ax + (lim - ay) * (bx - ax) / (by - ay);
            if (ay - lim) * (by - lim) < 0.0 {
                let x = at(ax, ay, bx, by);
                if (ay - lim) * lim > 0.0 {
                    (ax, ay) = (x, lim);
                } else {
                    (bx, by) = (x, lim);
                }
            }
        }
        // Cut at x = ±FAR: the parts beyond become vertical lines at ±FAR.
        let (mut ts, mut n) = ([0.0f64; 4], 1);
        for lim in [-far, far] {
            let t = (lim - ax) / (bx - ax);
            if t > 0.0 && t < 1.0 {
                ts[n] = t;
                n += 1;
            }
        }
        ts[n] = 1.0;
        n += 1;
        ts[..n].sort_by(f64::total_cmp);
        let point = |t: f64| {
            let (x, y) = if t == 0.0 {
                (ax, ay)
            } else if t == 1.0 {
                (bx, by)
            } else {
                (ax + t * (bx - ax), ay + t * (by - ay))
            };
            (sub(x.clamp(-far, far) as f32), sub(y.clamp(-far, far) as f32))
        };
        for k in 0..n - 1 {
            let (p, q) = (point(ts[k]), point(ts[k + 1]));
            self.line_sub(p.0, p.1, q.0, q.1);
        }
    }

    /// An edge between two points in subpixel units.
    fn line_sub(&mut self, x0: i32, y0: i32, x1: i32, y1: i32) {
        if y0 == y1 {
            return;
        }
        let (dir, xa, ya, xb, yb) = if y0 < y1 { (1, x0, y0, x1, y1) } else { (-1, x1, y1, x0, y0) };
        if yb <= self.r0 * ONE || ya >= self.r1 * ONE || xa.min(xb) >= self.c1 * ONE {
            return;
        }
        // The rows it crosses within the box.
        let first = (ya >> BITS).max(self.r0);
        let last = ((yb - 1) >> BITS).min(self.r1 - 1);
        if xa.max(xb) <= self.c0 * ONE {
            // Wholly left of the box: only its cover, row by row.
            for r in first..=last {
                let (lo, hi) = (ya.max(r * ONE), yb.min((r + 1) * ONE));
                let left = &mut self.left[(r - self.r0) as usize];
                *left = left.wrapping_add(dir * (hi - lo));
            }
            return;
        }
        if xa == xb {
            for r in first..=last {
                let (lo, hi) = (ya.max(r * ONE), yb.min((r + 1) * ONE));
                self.row_piece(r, xa, lo, xb, hi, dir);
            }
            return;
        }
        // x where the edge crosses y: its own subpixel, rounded down, the same whichever
        // rows are drawn.
        let (dx, dy) = (i64::from(xb - xa), i64::from(yb - ya));
        let x_at = |y: i32| xa + (i64::from(y - ya) * dx).div_euclid(dy) as i32;
        let mut lo = ya.max(first * ONE);
        let mut x_lo = if lo == ya { xa } else { x_at(lo) };
        for r in first..=last {
            let hi = yb.min((r + 1) * ONE);
            let x_hi = if hi == yb { xb } else { x_at(hi) };
            self.row_piece(r, x_lo, lo, x_hi, hi, dir);
            (lo, x_lo) = (hi, x_hi);
        }
    }

    /// The part of an edge within pixel row `r`, from (xa, ya) to (xb, yb), ya < yb, in
    /// subpixel units; `dir` is +1 for an edge going down, -1 going up.
    #[inline(always)]
    fn row_piece(&mut self, r: i32, xa: i32, ya: i32, xb: i32, yb: i32, dir: i32) {
        let (c0, c1) = (self.c0 * ONE, self.c1 * ONE);
        let dy = yb - ya;
        let rr = (r - self.r0) as usize;
        if xa.max(xb) <= c0 {
            self.left[rr] = self.left[rr].wrapping_add(dir * dy);
            return;
        }
        if xa.min(xb) >= c1 {
            return;
        }
        let (ca, cb) = (xa >> BITS, xb >> BITS);
        if ca == cb {
            let d = dir * dy;
            self.push(ca, r, d, d * (2 * ONE * (ca + 1) - xa - xb));
            return;
        }
        self.walk(r, xa, ya, xb, yb, dir);
    }

    /// [`Cells::row_piece`] over more than one column: cut at every column side.
    #[inline(never)]
    fn walk(&mut self, r: i32, xa: i32, ya: i32, xb: i32, yb: i32, dir: i32) {
        let (c0, c1) = (self.c0 * ONE, self.c1 * ONE);
        let dy = yb - ya;
        let rr = (r - self.r0) as usize;
        let ca = xa >> BITS;
        // y where the piece crosses x (between xa and xb): rounded down, from the piece's
        // own ends, so the same whichever columns are drawn.
        let (span, dy64) = (i64::from((xb - xa).abs()), i64::from(dy));
        let y_at = |x: i32| ya + (i64::from((x - xa).abs()) * dy64 / span) as i32;
        let (mut x, mut y) = (xa, ya);
        if xb > xa {
            let mut col = ca;
            if col < self.c0 {
                let ny = y_at(c0);
                self.left[rr] = self.left[rr].wrapping_add(dir * (ny - y));
                (x, y, col) = (c0, ny, self.c0);
            }
            while col < self.c1 {
                let bound = (col + 1) * ONE;
                let (nx, ny) = if bound >= xb { (xb, yb) } else { (bound, y_at(bound)) };
                let d = dir * (ny - y);
                self.push(col, r, d, d * (2 * bound - x - nx));
                if nx == xb {
                    return;
                }
                (x, y, col) = (nx, ny, col + 1);
            }
        } else {
            // Going left, the first piece lies in the column left of xa when xa is on a
            // column's side.
            let mut col = (xa - 1) >> BITS;
            if col >= self.c1 {
                let ny = y_at(c1);
                (x, y, col) = (c1, ny, self.c1 - 1);
            }
            loop {
                if col < self.c0 {
                    self.left[rr] = self.left[rr].wrapping_add(dir * (yb - y));
                    return;
                }
                let bound = col * ONE;
                let (nx, ny) = if bound <= xb { (xb, yb) } else { (bound, y_at(bound)) };
                let d = dir * (ny - y);
                self.push(col, r, d, d * (2 * (bound + ONE) - x - nx));
                if nx == xb {
                    return;
                }
                (x, y, col) = (nx, ny, col - 1);
            }
        }
    }
}

/// A coordinate, px, in subpixel units, rounded to the nearest (|v| <= [`FAR`]): in f64
/// moved to positive numbers, where truncation is rounding down.
#[inline(always)]
fn sub(v: f32) -> i32 {
    const SHIFT: i64 = 1 << 30;
    ((f64::from(v) * f64::from(ONE) + (0.5 + SHIFT as f64)) as i64 - SHIFT) as i32
}

/// A point of a path, px, with its subpixel coordinates when it is `near` (finite and
/// within [`FAR`]).
#[derive(Clone, Copy)]
struct Vertex {
    p: Point,
    x: i32,
    y: i32,
    near: bool,
}

#[inline(always)]
fn vertex(p: Point) -> Vertex {
    // False for NaN and infinities.
    let near = p.x.abs() <= FAR && p.y.abs() <= FAR;
    if near {
        Vertex { p, x: sub(p.x), y: sub(p.y), near }
    } else {
        Vertex { p, x: 0, y: 0, near }
    }
}

/// A point of a path mapped by `ts`.
fn map(ts: &Transform, p: Point) -> Point {
    Point::from_xy(ts.sx * p.x + ts.kx * p.y + ts.tx, ts.ky * p.x + ts.sy * p.y + ts.ty)
}

/// How many lines stand for a curve whose control polygon bends by `dd` px.
fn pieces(dd: f32) -> usize {
    if dd.is_finite() {
        let n = (dd / (8.0 * FLATNESS)).sqrt().min(64.0);
        // ceil, without a call into libm (as [`floor`]).
        let t = n as usize;
        (t + usize::from((t as f32) < n)).clamp(1, 64)
    } else {
        1
    }
}

/// The length of (x, y), without a call into libm.
#[inline(always)]
fn norm(x: f32, y: f32) -> f32 {
    (x * x + y * y).sqrt()
}

/// The box drawn: columns `c0..c1`, rows `r0..r1` (within the image).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Window {
    c0: u32,
    c1: u32,
    r0: u32,
    r1: u32,
}

impl Window {
    /// Does this box hold `other`?
    fn holds(&self, other: &Window) -> bool {
        self.c0 <= other.c0 && self.c1 >= other.c1 && self.r0 <= other.r0 && self.r1 >= other.r1
    }
}

/// The cells of a path mapped by `ts`, every contour closed, within the box `win` of an
/// image `width` × `height`; the left covers are in `c.left`.
fn cells_of(path: &Path, ts: &Transform, win: Window, width: u32, height: u32, scratch: &mut Scratch) -> Cells {
    let (mut cells, mut left) = (std::mem::take(&mut scratch.cells), std::mem::take(&mut scratch.left));
    cells.clear();
    left.clear();
    left.resize((win.r1 - win.r0) as usize, 0);
    let mut c = Cells { c0: win.c0 as i32, c1: win.c1 as i32, r0: win.r0 as i32, r1: win.r1 as i32, cells, left };
    use tiny_skia_path::PathVerb as V;
    let (verbs, points) = (path.verbs(), path.points());
    // Whole contours whose points all lie a pixel or more above, below or right of the
    // box are passed over (curves are flattened within their control points, give or take
    // rounding, hence the pixel), and so are those wholly left of it: a closed contour
    // crosses every row as often down as up, and its covers, whole subpixels, sum to
    // nothing exactly. Curves are culled likewise, one by one.
    let (top, bottom, left_side, right_side) = (win.r0 as f32, win.r1 as f32, win.c0 as f32, win.c1 as f32);
    let whole = win.r0 == 0 && win.r1 >= height && win.c0 == 0 && win.c1 >= width;
    let reach = (!whole).then_some([top, bottom, left_side, right_side]);
    let mut mapped = std::mem::take(&mut scratch.mapped);
    // Only moved, not scaled or turned: a box in the path's own coordinates is the box
    // moved back.
    let shifted = ts.sx == 1.0 && ts.sy == 1.0 && ts.kx == 0.0 && ts.ky == 0.0;
    let (mut v, mut p) = (0, 0);
    while v < verbs.len() {
        // One contour: its verbs v..v_end and points p..p_end.
        let (mut v_end, mut p_end) = (v, p);
        while v_end < verbs.len() && (v_end == v || verbs[v_end] != V::Move) {
            p_end += match verbs[v_end] {
                V::Move | V::Line => 1,
                V::Quad => 2,
                V::Cubic => 3,
                V::Close => 0,
            };
            v_end += 1;
        }
        let p_end = p_end.min(points.len());
        // A long contour drawn in part (a box of a replayed drawing): its stretches of
        // lines and curves that lie wholly above, below or right of the box are passed
        // over without mapping their points (their edges would add nothing).
        if let Some(reach) = reach.filter(|_| p_end - p > 2 * STRETCH && shifted && closed_run(&verbs[v..v_end])) {
            let lim = [top - ts.ty - 1.0, bottom - ts.ty + 1.0, right_side - ts.tx + 1.0];
            stretches((&verbs[v..v_end], &points[p..p_end]), ts, lim, reach, &mut c);
            (v, p) = (v_end, p_end);
            continue;
        }
        mapped.clear();
        mapped.extend(points[p..p_end].iter().map(|q| map(ts, *q)));
        if !whole {
            let (mut lo, mut hi) =
                (Point::from_xy(f32::INFINITY, f32::INFINITY), Point::from_xy(f32::NEG_INFINITY, f32::NEG_INFINITY));
            let mut finite = true;
            for q in &mapped {
                finite &= q.x.is_finite() && q.y.is_finite();
                lo = Point::from_xy(if q.x < lo.x { q.x } else { lo.x }, if q.y < lo.y { q.y } else { lo.y });
                hi = Point::from_xy(if q.x > hi.x { q.x } else { hi.x }, if q.y > hi.y { q.y } else { hi.y });
            }
            // A contour with a point that is no number is drawn as it comes (its edges
            // there are dropped, so it may not close).
            if finite && (hi.y + 1.0 < top || lo.y - 1.0 > bottom || lo.x - 1.0 > right_side || hi.x + 1.0 < left_side)
            {
                (v, p) = (v_end, p_end);
                continue;
            }
        }
        let p_start = p;
        let zero = vertex(Point::zero());
        let mut start = zero;
        let mut last = zero;
        let mut open = false;
        while v < v_end {
            let at = |k: usize| mapped.get(p + k - p_start).copied().unwrap_or(Point::zero());
            match verbs[v] {
                V::Move => {
                    if open {
                        c.line(last, start);
                    }
                    start = vertex(at(0));
                    last = start;
                    open = true;
                    p += 1;
                }
                V::Line => {
                    let q = vertex(at(0));
                    c.line(last, q);
                    last = q;
                    p += 1;
                }
                V::Quad => {
                    last = quad(&mut c, last, (at(0), at(1)), reach);
                    p += 2;
                }
                V::Cubic => {
                    last = cubic(&mut c, last, (at(0), at(1), at(2)), reach);
                    p += 3;
                }
                V::Close => {
                    if open {
                        c.line(last, start);
                    }
                    last = start;
                }
            }
            v += 1;
        }
        if open {
            c.line(last, start);
        }
        p = p_end;
    }
    scratch.mapped = mapped;
    c
}

/// Points per stretch of a long contour that [`stretches`] passes over as one.
const STRETCH: usize = 16;

/// Where the control points of a curve lie against the box `reach` (top, bottom, left
/// and right sides; None: the whole image is drawn): 0 in reach of it, 1 left of it, 2
/// beyond it elsewhere (drawing nothing). A pixel of margin: curves are flattened within
/// their control points, give or take rounding.
#[inline(always)]
fn place(pts: &[Point], reach: Option<[f32; 4]>) -> u8 {
    let Some([top, bottom, left_side, right_side]) = reach else { return 0 };
    let (mut lo, mut hi) =
        (Point::from_xy(f32::INFINITY, f32::INFINITY), Point::from_xy(f32::NEG_INFINITY, f32::NEG_INFINITY));
    for q in pts {
        lo = Point::from_xy(lo.x.min(q.x), lo.y.min(q.y));
        hi = Point::from_xy(hi.x.max(q.x), hi.y.max(q.y));
    }
    if hi.y + 1.0 < top || lo.y - 1.0 > bottom || lo.x - 1.0 > right_side {
        2
    } else if hi.x + 1.0 < left_side {
        1
    } else {
        0
    }
}

/// The edges of a quadratic curve from `last` by the control point `p1` to `p2` (both
/// mapped) into `c`, flattened; its end. Left of the box `reach` a curve adds its
/// covers, which its chord's equal; beyond it elsewhere, nothing.
#[inline(always)]
fn quad(c: &mut Cells, last: Vertex, (p1, p2): (Point, Point), reach: Option<[f32; 4]>) -> Vertex {
    let p0 = last.p;
    let end = vertex(p2);
    match place(&[p0, p1, p2], reach) {
        1 => c.line(last, end),
        2 => {}
        _ => {
            let dd = norm(p0.x - 2.0 * p1.x + p2.x, p0.y - 2.0 * p1.y + p2.y);
            let n = pieces(dd);
            let mut prev = last;
            for k in 1..n {
                let t = k as f32 / n as f32;
                let u = 1.0 - t;
                let q = vertex(Point::from_xy(
                    u * u * p0.x + 2.0 * u * t * p1.x + t * t * p2.x,
                    u * u * p0.y + 2.0 * u * t * p1.y + t * t * p2.y,
                ));
                c.line(prev, q);
                prev = q;
            }
            c.line(prev, end);
        }
    }
    end
}

/// [`quad`] for a cubic curve.
#[inline(always)]
fn cubic(c: &mut Cells, last: Vertex, (p1, p2, p3): (Point, Point, Point), reach: Option<[f32; 4]>) -> Vertex {
    let p0 = last.p;
    let end = vertex(p3);
    match place(&[p0, p1, p2, p3], reach) {
        1 => c.line(last, end),
        2 => {}
        _ => {
            let d1 = norm(p0.x - 2.0 * p1.x + p2.x, p0.y - 2.0 * p1.y + p2.y);
            let d2 = norm(p1.x - 2.0 * p2.x + p3.x, p1.y - 2.0 * p2.y + p3.y);
            let n = pieces(1.5 * d1.max(d2));
            let mut prev = last;
            for k in 1..n {
                let t = k as f32 / n as f32;
                let u = 1.0 - t;
                let (a, b, cc, d) = (u * u * u, 3.0 * u * u * t, 3.0 * u * t * t, t * t * t);
                let q = vertex(Point::from_xy(
                    a * p0.x + b * p1.x + cc * p2.x + d * p3.x,
                    a * p0.y + b * p1.y + cc * p2.y + d * p3.y,
                ));
                c.line(prev, q);
                prev = q;
            }
            c.line(prev, end);
        }
    }
    end
}

/// A contour's verbs: a move, then lines and curves, and perhaps a close at the end?
fn closed_run(verbs: &[tiny_skia_path::PathVerb]) -> bool {
    use tiny_skia_path::PathVerb as V;
    let n = verbs.len();
    n >= 2
        && verbs[0] == V::Move
        && verbs[1..]
            .iter()
            .enumerate()
            .all(|(k, v)| matches!(v, V::Line | V::Quad | V::Cubic) || (*v == V::Close && k + 2 == n))
}

/// The edges of a closed contour (`verbs` and the points `pts`, mapped by `ts`, which only
/// moves them) into `c`, but for its stretches of [`STRETCH`] points or so whose numbers
/// all lie above `lim[0]`, below `lim[1]` or right of `lim[2]` (the box's rows and right
/// side, moved back by `ts` and grown by a pixel): their edges, wholly above, below or
/// right of the box (a curve lies within its control points), add nothing. Every other
/// edge and curve is added as [`cells_of`] adds it (`reach`: the box, for its curves).
fn stretches(
    (verbs, pts): (&[tiny_skia_path::PathVerb], &[Point]),
    ts: &Transform,
    lim: [f32; 3],
    reach: [f32; 4],
    c: &mut Cells,
) {
    use tiny_skia_path::PathVerb as V;
    let n = pts.len();
    let first = vertex(map(ts, pts[0]));
    let mut last = first;
    // The points each verb takes, after the move.
    let takes = |v: V| match v {
        V::Line => 1,
        V::Quad => 2,
        V::Cubic => 3,
        V::Move | V::Close => 0,
    };
    let (mut v, mut k) = (1, 0);
    while v < verbs.len() && k + 1 < n {
        // A stretch: whole segments, from point k to point `end`.
        let (mut v_end, mut end) = (v, k);
        while v_end < verbs.len() && end - k < STRETCH && end + 1 < n {
            end = (end + takes(verbs[v_end])).min(n - 1);
            v_end += 1;
        }
        let (mut lo_y, mut hi_y, mut lo_x) = (f32::INFINITY, f32::NEG_INFINITY, f32::INFINITY);
        let mut finite = true;
        for q in &pts[k..=end] {
            finite &= q.x.is_finite() && q.y.is_finite();
            lo_y = lo_y.min(q.y);
            hi_y = hi_y.max(q.y);
            lo_x = lo_x.min(q.x);
        }
        if finite && (hi_y < lim[0] || lo_y > lim[1] || lo_x > lim[2]) {
            last = vertex(map(ts, pts[end]));
        } else {
            let mut at = k + 1;
            let point = |i: usize| map(ts, pts[i.min(n - 1)]);
            for &verb in &verbs[v..v_end] {
                match verb {
                    V::Line => {
                        let q = vertex(point(at));
                        c.line(last, q);
                        last = q;
                    }
                    V::Quad => last = quad(c, last, (point(at), point(at + 1)), Some(reach)),
                    V::Cubic => last = cubic(c, last, (point(at), point(at + 1), point(at + 2)), Some(reach)),
                    V::Move | V::Close => {}
                }
                at += takes(verb);
            }
        }
        (v, k) = (v_end, end);
    }
    c.line(last, first);
}

/// Buffers of [`fill_path`], kept per thread from path to path (a tile draws thousands
/// of paths; allocating them anew was a tenth of its time in `malloc` and `free`).
#[derive(Default)]
struct Scratch {
    cells: Vec<Cell>,
    left: Vec<i32>,
    sorted: Vec<Cell>,
    start: Vec<u32>,
    next: Vec<u32>,
    /// The points of one contour, mapped.
    mapped: Vec<Point>,
}

impl Scratch {
    /// Keep buffers for the next path unless they grew past a few megabytes (a whole
    /// map at print size), so that a thread does not hold them for good.
    fn keep(mut self, cells: Vec<Cell>, left: Vec<i32>, sorted: Vec<Cell>) -> Scratch {
        const MAX_CELLS: usize = 1 << 18;
        if cells.capacity() <= MAX_CELLS && sorted.capacity() <= MAX_CELLS && left.capacity() <= MAX_CELLS {
            self.cells = cells;
            self.sorted = sorted;
            self.left = left;
        }
        if self.start.capacity() > MAX_CELLS || self.mapped.capacity() > MAX_CELLS {
            return Scratch::default();
        }
        self
    }
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
}

/// `x / 255` rounded, for `x <= 255 * 255`, in 16 bits.
#[inline(always)]
fn div255(x: u16) -> u16 {
    let x = x + 128;
    (x + (x >> 8)) >> 8
}

/// Blend a premultiplied colour at coverage `m` (1–255) over a run of pixels.
#[inline(always)]
pub(super) fn blend_run(run: &mut [[u8; 4]], color: [u8; 4], m: u8) {
    if m == 255 && color[3] == 255 {
        run.fill(color);
        return;
    }
    let src = color.map(|c| div255(u16::from(c) * u16::from(m)));
    let inv = 255 - src[3];
    let (quads, rest) = run.as_chunks_mut::<4>();
    if !quads.is_empty() {
        // Four pixels at a time as sixteen lanes of one multiplier, which the compiler
        // turns into vector arithmetic; the same integer steps per channel as one at a time.
        let src16: [u16; 16] = std::array::from_fn(|i| src[i % 4]);
        for quad in quads {
            let bytes = quad.as_flattened_mut();
            for (d, s) in bytes.iter_mut().zip(src16) {
                // Premultiplied source-over; at most 255.
                *d = (s + div255(u16::from(*d) * inv)).min(255) as u8;
            }
        }
    }
    for px in rest {
        for (d, s) in px.iter_mut().zip(src) {
            *d = (s + div255(u16::from(*d) * inv)).min(255) as u8;
        }
    }
}

/// The cells, ordered by row, then column: counted into the box's `rows` (a pass over the
/// cells), then each row's few cells sorted; with the start of each row's cells.
fn sort_cells(cells: &[Cell], rows: usize, scratch: &mut Scratch) -> Vec<Cell> {
    let start = &mut scratch.start;
    start.clear();
    start.resize(rows + 1, 0);
    for c in cells {
        start[c.y as usize + 1] += 1;
    }
    for r in 0..rows {
        start[r + 1] += start[r];
    }
    let next = &mut scratch.next;
    next.clear();
    next.extend_from_slice(start);
    let mut sorted = std::mem::take(&mut scratch.sorted);
    sorted.clear();
    sorted.resize(cells.len(), Cell::default());
    for c in cells {
        let at = &mut next[c.y as usize];
        sorted[*at as usize] = *c;
        *at += 1;
    }
    for r in 0..rows {
        let row = &mut sorted[start[r] as usize..start[r + 1] as usize];
        if row.len() > 1 {
            row.sort_unstable_by_key(|c| c.x);
        }
    }
    sorted
}

/// Fill `path`, mapped by `ts`, on `pixmap` with a solid ink, anti-aliased by exact area
/// coverage under `rule`.
pub fn fill_path(pixmap: &mut Pixmap, path: &Path, ink: Ink, rule: FillRule, ts: Transform) {
    let area = (0..pixmap.width(), 0..pixmap.height());
    fill_rows(pixmap, path, ink, rule, ts, area, None);
}

/// [`fill_path`] for the pixels of the columns `cols` in the rows `rows` only: those
/// pixels are the ones [`fill_path`] gives, byte for byte; others are left as they were.
/// Its cost follows the box: only the box's rows are visited, only its columns leave
/// cells, and edges and contours out of its reach are passed over.
pub fn fill_path_rect(
    pixmap: &mut Pixmap,
    path: &Path,
    ink: Ink,
    rule: FillRule,
    ts: Transform,
    cols: Range<u32>,
    rows: Range<u32>,
) {
    fill_rows(pixmap, path, ink, rule, ts, (cols, rows), None);
}

/// [`fill_path_rect`] with the path's cells kept in `keep` under its key, or taken from
/// there when kept before over a box that holds this one: the same pixels. The path is
/// asked for only when its cells are not kept (without `keep`, always).
pub fn fill_path_rect_kept<'p>(
    pixmap: &mut Pixmap,
    path: impl FnOnce() -> Option<std::borrow::Cow<'p, Path>>,
    ink: Ink,
    rule: FillRule,
    ts: Transform,
    area: Area,
    mut keep: Option<Keep<'_>>,
) {
    let Some((win, color)) = fill_box(pixmap, ink, &ts, &area) else { return };
    if let Some(found) = keep.as_mut().and_then(|k| k.cache.get(k.key, win)) {
        return sweep(pixmap, found.as_ref(), color, rule, win);
    }
    if let Some(path) = path() {
        fill_rows(pixmap, &path, ink, rule, ts, area, keep);
    }
}

/// The pixels that must come out right: columns and rows (the rest may be drawn or not).
pub type Area = (Range<u32>, Range<u32>);

/// The box of `area` on `pixmap` and the premultiplied colour of `ink`, when a fill
/// mapped by `ts` can draw anything there.
fn fill_box(pixmap: &Pixmap, ink: Ink, ts: &Transform, area: &Area) -> Option<(Window, [u8; 4])> {
    let (cols, rows) = area;
    let (w, h) = (pixmap.width(), pixmap.height());
    let rows = (rows.start.min(h), rows.end.min(h));
    let cols = (cols.start.min(w), cols.end.min(w));
    if rows.0 >= rows.1 || cols.0 >= cols.1 {
        return None;
    }
    let color = ink.color.skia(ink.opacity).premultiply().to_color_u8();
    if color.alpha() == 0 || !ts.is_finite() {
        return None;
    }
    let win = Window { c0: cols.0, c1: cols.1, r0: rows.0, r1: rows.1 };
    Some((win, [color.red(), color.green(), color.blue(), color.alpha()]))
}

/// [`fill_path_rect`], with the path's cells kept in `keep` (the caller looked there
/// first: [`fill_path_rect_kept`]).
fn fill_rows(
    pixmap: &mut Pixmap,
    path: &Path,
    ink: Ink,
    rule: FillRule,
    ts: Transform,
    area: Area,
    keep: Option<Keep<'_>>,
) {
    let Some((win, color)) = fill_box(pixmap, ink, &ts, &area) else { return };
    let (w, h) = (pixmap.width(), pixmap.height());
    let mut scratch = SCRATCH.with(|s| std::mem::take(&mut *s.borrow_mut()));
    let c = cells_of(path, &ts, win, w, h, &mut scratch);
    let sorted = sort_cells(&c.cells, (win.r1 - win.r0) as usize, &mut scratch);
    let cover = CoverageRef { win, start: &scratch.start, cells: &sorted, left: &c.left };
    sweep(pixmap, cover, color, rule, win);
    if let Some(k) = keep {
        k.cache.put(k.key, cover.to_owned());
    }
    SCRATCH.with(|s| *s.borrow_mut() = scratch.keep(c.cells, c.left, sorted));
}

/// The cells of a path over a box of pixels, sorted by row and column (each row's from
/// `start`), with the cover left of the box in each row: what a fill sweeps. A fill of
/// the same path, mapped by the same transform, over a box inside this one sweeps them
/// again and draws the pixels its own cells would give (an edge's cells and covers come
/// out the same whatever box is drawn, and the covers of the cells left of the smaller
/// box sum to what its rows' left covers would be), without walking or stroking the path.
pub struct Coverage {
    win: Window,
    start: Vec<u32>,
    cells: Vec<Cell>,
    left: Vec<i32>,
}

/// A [`Coverage`] borrowed (as a fill makes it, or as kept).
#[derive(Clone, Copy)]
struct CoverageRef<'a> {
    win: Window,
    start: &'a [u32],
    cells: &'a [Cell],
    left: &'a [i32],
}

impl CoverageRef<'_> {
    fn to_owned(self) -> Coverage {
        Coverage { win: self.win, start: self.start.to_vec(), cells: self.cells.to_vec(), left: self.left.to_vec() }
    }
}

impl Coverage {
    fn as_ref(&self) -> CoverageRef<'_> {
        CoverageRef { win: self.win, start: &self.start, cells: &self.cells, left: &self.left }
    }

    fn bytes(&self) -> usize {
        std::mem::size_of::<Coverage>()
            + self.start.len() * 4
            + self.cells.len() * std::mem::size_of::<Cell>()
            + self.left.len() * 4
    }
}

/// Coverages kept from drawing to drawing of one place (a tile's), each under a key
/// that names its path, pen and transform exactly (the caller's: equal keys, equal
/// cells), with the round of the drawing that last used it.
#[derive(Default)]
pub struct Coverages {
    map: std::collections::HashMap<u64, (Coverage, u32), rustc_hash::FxBuildHasher>,
    bytes: usize,
    round: u32,
    hits: u64,
}

impl Coverages {
    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// How many fills were drawn from kept cells.
    pub fn hits(&self) -> u64 {
        self.hits
    }

    /// Is nothing kept?
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Begin another drawing of the place: past `most` bytes, what the last drawing did
    /// not use is let go (paths that changed since), and past it still, everything.
    pub fn next_round(&mut self, most: usize) {
        if self.bytes > most {
            let round = self.round;
            self.map.retain(|_, (_, used)| *used == round);
            self.bytes = self.map.values().map(|(c, _)| c.bytes()).sum();
            if self.bytes > most {
                *self = Coverages { round, hits: self.hits, ..Coverages::default() };
            }
        }
        self.round = self.round.wrapping_add(1);
    }

    /// Is a coverage kept under `key` that holds the box `area`?
    pub fn holds(&self, key: u64, area: Area) -> bool {
        let win = Window { c0: area.0.start, c1: area.0.end, r0: area.1.start, r1: area.1.end };
        self.map.get(&key).is_some_and(|(c, _)| c.win.holds(&win))
    }

    /// The coverage kept under `key`, if it holds the box `win`.
    fn get(&mut self, key: u64, win: Window) -> Option<&Coverage> {
        let round = self.round;
        let (c, used) = self.map.get_mut(&key)?;
        let holds = c.win.holds(&win);
        self.hits += u64::from(holds);
        holds.then(|| {
            *used = round;
            &*c
        })
    }

    fn put(&mut self, key: u64, c: Coverage) {
        self.bytes += c.bytes();
        if let Some((old, _)) = self.map.insert(key, (c, self.round)) {
            self.bytes -= old.bytes();
        }
    }
}

/// Where a fill keeps its cells: the place's coverages and the key of this path, pen
/// and transform.
pub struct Keep<'a> {
    /// The place's coverages.
    pub cache: &'a mut Coverages,
    /// The key of the path, pen and transform.
    pub key: u64,
}

/// Blend the sorted cells of a path (`cover`) over the box `win`, which lies within the
/// cells' box: each row from its left cover and the covers of its cells left of `win`,
/// its cells and the spans between them.
fn sweep(pixmap: &mut Pixmap, cover: CoverageRef<'_>, color: [u8; 4], rule: FillRule, win: Window) {
    let (c0, c1) = (win.c0 as usize, win.c1 as usize);
    let at = cover.win.c0 as usize;
    let stride = pixmap.width() as usize;
    let (pixels, _) = pixmap.data_mut().as_chunks_mut::<4>();
    // Coverage (in units of FULL) to alpha.
    let to_alpha = |v: i64| -> u8 {
        let v = v.unsigned_abs();
        let full = FULL as u64;
        let c = match rule {
            FillRule::Winding => v.min(full),
            FillRule::EvenOdd => {
                let t = v % (2 * full);
                if t > full {
                    2 * full - t
                } else {
                    t
                }
            }
        };
        // Sixteen steps of coverage, as tiny-skia's supersampling gives: finer steps look
        // the same and only add colours to a tile's palette. In 0..=16.
        let steps = (c * 16 + full / 2) / full;
        ((steps * 255 + 8) / 16) as u8
    };
    let one2 = 2 * i64::from(ONE);
    for row in win.r0 as usize..win.r1 as usize {
        let rr = row - cover.win.r0 as usize;
        let (row_cells, l) = (&cover.cells[cover.start[rr] as usize..cover.start[rr + 1] as usize], cover.left[rr]);
        if row_cells.is_empty() && l == 0 {
            continue;
        }
        let line = &mut pixels[row * stride..(row + 1) * stride];
        let mut acc = i64::from(l);
        // The next column not yet blended.
        let mut x = c0;
        let mut i = 0;
        // Cells left of the box add their covers.
        while i < row_cells.len() && at + (row_cells[i].x as usize) < c0 {
            acc += i64::from(row_cells[i].cover);
            i += 1;
        }
        while i < row_cells.len() {
            // Sum the cells of one pixel.
            let cx = row_cells[i].x;
            let col = at + cx as usize;
            if col >= c1 {
                break;
            }
            let (mut cover, mut area) = (0i64, 0i64);
            while i < row_cells.len() && row_cells[i].x == cx {
                cover += i64::from(row_cells[i].cover);
                area += i64::from(row_cells[i].area);
                i += 1;
            }
            if col > x && acc != 0 {
                let m = to_alpha(acc * one2);
                if m > 0 {
                    blend_run(&mut line[x..col], color, m);
                }
            }
            let m = to_alpha(acc * one2 + area);
            if m > 0 {
                blend_run(&mut line[col..col + 1], color, m);
            }
            acc += cover;
            x = col + 1;
        }
        if x < c1 && acc != 0 {
            let m = to_alpha(acc * one2);
            if m > 0 {
                blend_run(&mut line[x..c1], color, m);
            }
        }
    }
}

/// Stroke `path`, mapped by `ts`, with a pen: tiny-skia outlines the stroke (and its
/// dashes) and [`fill_path`] fills the outline. A pen thinner than a pixel draws a
/// one-pixel line with its ink thinned in proportion, as tiny-skia's hairlines do.
pub fn stroke_path(pixmap: &mut Pixmap, path: &Path, ink: Ink, pen: &Pen, ts: Transform) {
    let area = (0..pixmap.width(), 0..pixmap.height());
    stroke_rows(pixmap, path, ink, pen, ts, area, false, None);
}

/// [`stroke_path`] for the pixels of the columns `cols` in the rows `rows` only (as
/// [`fill_path_rect`]), for a drawing replayed many times (a recording, window by
/// window): the outline is kept in the thread's cache. (A drawing made once, as
/// [`stroke_path`] makes it, keeps nothing.)
pub fn stroke_path_rect(
    pixmap: &mut Pixmap,
    path: &Path,
    ink: Ink,
    pen: &Pen,
    ts: Transform,
    cols: Range<u32>,
    rows: Range<u32>,
) {
    stroke_rows(pixmap, path, ink, pen, ts, (cols, rows), true, None);
}

/// [`stroke_path_rect`] with the outline's cells kept in `keep` under its key, or taken
/// from there (the stroke then neither stroked nor walked) when kept before over a box
/// that holds this one: the same pixels. The path is asked for only when its cells are
/// not kept (without `keep`, always).
pub fn stroke_path_rect_kept<'p>(
    pixmap: &mut Pixmap,
    path: impl FnOnce() -> Option<std::borrow::Cow<'p, Path>>,
    ink: Ink,
    pen: &Pen,
    ts: Transform,
    area: Area,
    mut keep: Option<Keep<'_>>,
) {
    let Some(scale) = stroke_scale(&ts) else { return };
    let (thin, _) = thin_pen(ink, pen, scale);
    let Some((win, color)) = fill_box(pixmap, thin, &ts, &area) else { return };
    if let Some(found) = keep.as_mut().and_then(|k| k.cache.get(k.key, win)) {
        return sweep(pixmap, found.as_ref(), color, FillRule::Winding, win);
    }
    if let Some(path) = path() {
        stroke_rows(pixmap, &path, ink, pen, ts, area, true, keep);
    }
}

/// The resolution a stroke mapped by `ts` is drawn at; None when the transform
/// collapses or is not a number (no area to fill).
fn stroke_scale(ts: &Transform) -> Option<f32> {
    let scale = (ts.sx * ts.sy - ts.kx * ts.ky).abs().sqrt();
    (scale.is_finite() && scale > 0.0).then_some(scale)
}

/// [`stroke_path_rect`]; `keep`: keep the outline for the next stroke of the same path;
/// `cells`: where the outline's cells are kept (see [`stroke_path_rect_kept`]).
#[allow(clippy::too_many_arguments)]
fn stroke_rows(
    pixmap: &mut Pixmap,
    path: &Path,
    ink: Ink,
    pen: &Pen,
    ts: Transform,
    area: Area,
    keep: bool,
    cells: Option<Keep<'_>>,
) {
    let Some(scale) = stroke_scale(&ts) else { return };
    let (ink, pen) = thin_pen(ink, pen, scale);
    let Some(outline) = stroke_outline(path, &pen, scale, keep) else { return };
    fill_rows(pixmap, &outline, ink, FillRule::Winding, ts, area, cells);
}

/// The ink and pen a stroke is drawn with at resolution `scale`: a pen thinner than a
/// pixel becomes one pixel wide, its ink thinned in proportion.
pub(super) fn thin_pen(ink: Ink, pen: &Pen, scale: f32) -> (Ink, std::borrow::Cow<'_, Pen>) {
    let px = pen.width * scale;
    if px < 1.0 {
        let thin = Pen { width: 1.0 / scale, ..pen.clone() };
        (Ink { opacity: ink.opacity * px.max(0.0), ..ink }, std::borrow::Cow::Owned(thin))
    } else {
        (ink, std::borrow::Cow::Borrowed(pen))
    }
}

/// The outline of `path` stroked (and dashed) by `pen` at resolution `scale`, as
/// tiny-skia makes it: from a per-thread cache when the same path was stroked with the
/// same pen before. A recorded map replays each stroke in every window and cell it
/// touches, and a border stays the same through many years, so most strokes are drawn
/// many times; stroking was a fifth of the time of drawing them. Without `keep` the
/// cache is neither read nor filled.
fn stroke_outline(path: &Path, pen: &Pen, scale: f32, keep: bool) -> Option<std::rc::Rc<Path>> {
    let make = || {
        let stroke = pen.skia();
        match &stroke.dash {
            Some(dash) => path.dash(dash, scale).and_then(|p| p.stroke(&stroke, scale)),
            None => path.stroke(&stroke, scale),
        }
        .map(std::rc::Rc::new)
    };
    if !keep {
        return make();
    }
    let key = outline_key(path, pen, scale);
    let found = OUTLINES.with(|c| {
        let c = c.borrow();
        c.map.get(&key).and_then(|e| e.same(path, pen, scale).then(|| e.outline.clone()))
    });
    if let Some(outline) = found {
        return outline;
    }
    let outline = make();
    OUTLINES.with(|c| {
        let mut c = c.borrow_mut();
        let cost = path.points().len() + outline.as_ref().map_or(0, |o| o.points().len()) + 8;
        if cost > OUTLINE_POINTS / 4 {
            return;
        }
        if c.points + cost > OUTLINE_POINTS {
            c.map.clear();
            c.points = 0;
        }
        c.points += cost;
        let entry = Outline {
            path: path.clone(),
            width: pen.width.to_bits(),
            dash: pen.dash.iter().map(|d| d.to_bits()).collect(),
            cap: pen.cap,
            join: pen.join,
            scale: scale.to_bits(),
            outline: outline.clone(),
        };
        c.map.insert(key, entry);
    });
    outline
}

/// Points (of paths and outlines) a thread's outline cache holds before it starts
/// afresh: about 4 MB (8 bytes a point, paths and their outlines together), so that
/// the many blocking threads of `serve` hold little.
const OUTLINE_POINTS: usize = 1 << 19;

/// A stroked outline and exactly what it was made from.
struct Outline {
    path: Path,
    width: u32,
    dash: Vec<u32>,
    cap: tiny_skia::LineCap,
    join: tiny_skia::LineJoin,
    scale: u32,
    outline: Option<std::rc::Rc<Path>>,
}

impl Outline {
    /// Was this outline made from these, bit for bit?
    fn same(&self, path: &Path, pen: &Pen, scale: f32) -> bool {
        self.width == pen.width.to_bits()
            && self.scale == scale.to_bits()
            && self.cap == pen.cap
            && self.join == pen.join
            && self.dash.len() == pen.dash.len()
            && self.dash.iter().zip(&pen.dash).all(|(a, b)| *a == b.to_bits())
            && self.path.verbs() == path.verbs()
            && self.path.points().len() == path.points().len()
            && self
                .path
                .points()
                .iter()
                .zip(path.points())
                .all(|(a, b)| a.x.to_bits() == b.x.to_bits() && a.y.to_bits() == b.y.to_bits())
    }
}

/// The per-thread cache of stroked outlines, by [`outline_key`].
#[derive(Default)]
struct Outlines {
    map: std::collections::HashMap<u64, Outline>,
    points: usize,
}

thread_local! {
    static OUTLINES: std::cell::RefCell<Outlines> = std::cell::RefCell::new(Outlines::default());
}

/// A hash of a path's verbs and point bits and a pen (entries are checked bit for bit
/// on a hit, so this only has to spread).
fn outline_key(path: &Path, pen: &Pen, scale: f32) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let mix = |h: u64, v: u64| (h.rotate_left(26) ^ v).wrapping_mul(K);
    let mut h = mix(u64::from(pen.width.to_bits()), u64::from(scale.to_bits()));
    h = mix(h, pen.cap as u64 | (pen.join as u64) << 8 | (pen.dash.len() as u64) << 16);
    for d in &pen.dash {
        h = mix(h, u64::from(d.to_bits()));
    }
    for v in path.verbs() {
        h = mix(h, *v as u64);
    }
    for p in path.points() {
        h = mix(h, u64::from(p.x.to_bits()) | u64::from(p.y.to_bits()) << 32);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::style::Rgba;
    use tiny_skia::{LineCap, LineJoin, PathBuilder};

    fn canvas(w: u32, h: u32) -> Pixmap {
        let mut pm = Pixmap::new(w, h).expect("pixmap");
        for (i, px) in pm.data_mut().chunks_exact_mut(4).enumerate() {
            px.copy_from_slice(&[(i * 7 % 256) as u8, 120, (i * 3 % 256) as u8, 255]);
        }
        pm
    }

    /// Channel differences between our fill and tiny-skia's: (how many are above 40, mean).
    fn against_skia(path: &Path, ink: Ink, rule: FillRule, w: u32, h: u32) -> (usize, f64) {
        let mut ours = canvas(w, h);
        fill_path(&mut ours, path, ink, rule, Transform::identity());
        let mut theirs = canvas(w, h);
        theirs.fill_path(path, &super::super::paint::solid(ink.color, ink.opacity), rule, Transform::identity(), None);
        let diffs: Vec<u8> = ours.data().iter().zip(theirs.data()).map(|(a, b)| a.abs_diff(*b)).collect();
        let big = diffs.iter().filter(|&&d| d > 40).count();
        let mean = diffs.iter().map(|&d| f64::from(d)).sum::<f64>() / diffs.len() as f64;
        (big, mean)
    }

    #[test]
    fn polygons_match_tiny_skia_within_antialiasing() {
        let ink = Ink::new(Rgba(30, 60, 200, 255), 0.8);
        // A star (self-overlapping: the two rules differ in its middle), partly outside.
        let mut pb = PathBuilder::new();
        for k in 0..5 {
            let a = std::f32::consts::TAU * (k * 2 % 5) as f32 / 5.0;
            let (x, y) = (40.0 + 45.0 * a.sin(), 35.0 - 45.0 * a.cos());
            if k == 0 {
                pb.move_to(x, y);
            } else {
                pb.line_to(x, y);
            }
        }
        pb.close();
        // A circle with a square hole.
        pb.push_circle(60.0, 50.0, 12.3);
        pb.push_rect(tiny_skia::Rect::from_xywh(55.5, 45.25, 6.0, 7.5).expect("rect"));
        let path = pb.finish().expect("path");
        for rule in [FillRule::Winding, FillRule::EvenOdd] {
            let (big, mean) = against_skia(&path, ink, rule, 90, 70);
            // Edges differ by tiny-skia's 1/16-pixel supersampling, and pixels where edges
            // cross by the summed-area rule; interiors agree.
            assert!(big <= 12 && mean < 1.0, "{rule:?}: {big} channels off by more than 40, mean {mean}");
        }
    }

    #[test]
    fn interiors_are_exact_and_outside_is_untouched() {
        let rect = PathBuilder::from_rect(tiny_skia::Rect::from_ltrb(10.0, 5.0, 30.0, 25.0).expect("rect"));
        let mut pm = canvas(40, 30);
        let before = pm.clone();
        fill_path(&mut pm, &rect, Ink::new(Rgba(1, 2, 3, 255), 1.0), FillRule::Winding, Transform::identity());
        for y in 0..30u32 {
            for x in 0..40u32 {
                let i = ((y * 40 + x) * 4) as usize;
                let inside = (10..30).contains(&x) && (5..25).contains(&y);
                let want = if inside { &[1u8, 2, 3, 255][..] } else { &before.data()[i..i + 4] };
                assert_eq!(&pm.data()[i..i + 4], want, "pixel {x},{y}");
            }
        }
    }

    #[test]
    fn half_covered_pixels_are_half_inked() {
        // A square from x 10.5: column 10 is half inside.
        let rect = PathBuilder::from_rect(tiny_skia::Rect::from_ltrb(10.5, 0.0, 20.0, 10.0).expect("rect"));
        let mut pm = Pixmap::new(30, 10).expect("pixmap");
        fill_path(&mut pm, &rect, Ink::new(Rgba(0, 0, 0, 255), 1.0), FillRule::Winding, Transform::identity());
        let alpha = |x: usize| pm.data()[(5 * 30 + x) * 4 + 3];
        assert_eq!((alpha(9), alpha(10), alpha(11), alpha(20)), (0, 128, 255, 0));
    }

    #[test]
    fn strokes_match_tiny_skia_and_survive_far_coordinates() {
        let mut pb = PathBuilder::new();
        pb.move_to(-500.0, 20.0);
        pb.line_to(15.3, 22.7);
        pb.quad_to(60.0, 80.0, 95.0, 10.0);
        pb.line_to(4000.0, -3000.0);
        let path = pb.finish().expect("path");
        let ink = Ink::new(Rgba(200, 20, 20, 255), 1.0);
        for (width, dash) in [(2.5, vec![]), (1.4, vec![6.0, 3.0]), (7.0, vec![])] {
            let pen = Pen { width, dash, cap: LineCap::Round, join: LineJoin::Round };
            let mut ours = canvas(100, 90);
            stroke_path(&mut ours, &path, ink, &pen, Transform::identity());
            let mut theirs = canvas(100, 90);
            let paint = super::super::paint::solid(ink.color, ink.opacity);
            theirs.stroke_path(&path, &paint, &pen.skia(), Transform::identity(), None);
            let diffs: Vec<u8> = ours.data().iter().zip(theirs.data()).map(|(a, b)| a.abs_diff(*b)).collect();
            let mean = diffs.iter().map(|&d| f64::from(d)).sum::<f64>() / diffs.len() as f64;
            let big = diffs.iter().filter(|&&d| d > 64).count();
            assert!(mean < 1.5 && big < 20, "width {width}: mean {mean}, {big} channels off by more than 64");
        }
    }

    /// A wobbly closed path and an open one, partly outside a 90 × 70 canvas.
    fn test_paths() -> Vec<Path> {
        let mut out = Vec::new();
        let mut pb = PathBuilder::new();
        for k in 0..40 {
            let a = std::f32::consts::TAU * k as f32 / 40.0;
            let r = 30.0 + 9.0 * (3.0 * a).sin();
            let (x, y) = (45.3 + r * a.cos(), 33.7 + r * 1.3 * a.sin());
            if k == 0 {
                pb.move_to(x, y);
            } else {
                pb.line_to(x, y);
            }
        }
        pb.close();
        pb.push_circle(20.0, 20.0, 7.3);
        out.push(pb.finish().expect("path"));
        let mut pb = PathBuilder::new();
        pb.move_to(-30.0, 12.5);
        pb.line_to(40.2, 60.7);
        pb.quad_to(70.0, 5.0, 120.0, 40.0);
        pb.move_to(10.0, 65.0);
        pb.line_to(85.5, 66.0);
        out.push(pb.finish().expect("path"));
        out
    }

    #[test]
    fn rows_drawn_alone_are_the_rows_of_the_whole_drawing() {
        let paths = test_paths();
        let (w, h) = (90u32, 70u32);
        for ink in [Ink::new(Rgba(200, 30, 60, 255), 0.7), Ink::new(Rgba(20, 30, 160, 255), 0.16)] {
            for ts in [Transform::identity(), Transform::from_translate(-7.5, 11.25)] {
                for rows in [0..h, 0..16, 16..32, 33..34, 48..70, 60..200] {
                    let pen = super::super::paint::stroke(3.5, &[5.0, 2.0]);
                    let mut whole = canvas(w, h);
                    let mut part = canvas(w, h);
                    fill_path(&mut whole, &paths[0], ink, FillRule::EvenOdd, ts);
                    fill_path_rect(&mut part, &paths[0], ink, FillRule::EvenOdd, ts, 0..w, rows.clone());
                    stroke_path(&mut whole, &paths[1], ink, &pen, ts);
                    stroke_path_rect(&mut part, &paths[1], ink, &pen, ts, 0..w, rows.clone());
                    let row_bytes = 4 * w as usize;
                    for y in rows.start.min(h)..rows.end.min(h) {
                        let r = y as usize * row_bytes..(y as usize + 1) * row_bytes;
                        assert!(whole.data()[r.clone()] == part.data()[r], "{ink:?} {ts:?} rows {rows:?}: row {y}");
                    }
                }
            }
        }
    }

    #[test]
    fn boxes_drawn_alone_are_the_boxes_of_the_whole_drawing() {
        let paths = test_paths();
        let (w, h) = (90u32, 70u32);
        for ink in [Ink::new(Rgba(200, 30, 60, 255), 0.7), Ink::new(Rgba(20, 30, 160, 255), 0.16)] {
            for ts in [Transform::identity(), Transform::from_translate(-7.5, 11.25)] {
                for (cols, rows) in [(0..w, 0..h), (16..32, 0..16), (0..7, 33..34), (40..200, 48..70), (89..90, 5..60)]
                {
                    let pen = super::super::paint::stroke(3.5, &[5.0, 2.0]);
                    let mut whole = canvas(w, h);
                    let mut part = canvas(w, h);
                    for rule in [FillRule::EvenOdd, FillRule::Winding] {
                        fill_path(&mut whole, &paths[0], ink, rule, ts);
                        fill_path_rect(&mut part, &paths[0], ink, rule, ts, cols.clone(), rows.clone());
                    }
                    stroke_path(&mut whole, &paths[1], ink, &pen, ts);
                    stroke_path_rect(&mut part, &paths[1], ink, &pen, ts, cols.clone(), rows.clone());
                    let at = |y: u32, x: u32| (y * w + x) as usize * 4;
                    for y in rows.start.min(h)..rows.end.min(h) {
                        let (a, b) = (at(y, cols.start.min(w)), at(y, cols.end.min(w)));
                        assert!(
                            whole.data()[a..b] == part.data()[a..b],
                            "{ink:?} {ts:?} box {cols:?} x {rows:?}: row {y}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn random_boxes_drawn_alone_are_the_boxes_of_the_whole_drawing() {
        // Dense wiggly paths (many edges meet in one pixel: the sums of those pixels must
        // come out the same however the cells were gathered) filled and stroked, seen
        // through random boxes of a window at random offsets.
        let mut seed = 0x1234_5678_u32;
        let mut rnd = move || {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (seed >> 8) as f32 / (1 << 24) as f32
        };
        let (w, h) = (120u32, 100u32);
        let mut hits = 0;
        for round in 0..40 {
            let mut pb = PathBuilder::new();
            let (cx, cy) = (rnd() * 160.0 - 20.0, rnd() * 140.0 - 20.0);
            pb.move_to(cx, cy);
            for k in 0..(20 + (rnd() * 200.0) as usize) {
                let (x, y) = (cx + (rnd() - 0.5) * 150.0, cy + (rnd() - 0.5) * 120.0);
                match k % 9 {
                    4 => pb.quad_to(x + 3.0, y - 7.0, x, y),
                    7 => pb.move_to(x, y),
                    _ => pb.line_to(x, y),
                }
                if k % 3 == 0 {
                    // Short hops: several edges in one pixel.
                    pb.line_to(x + rnd() * 0.8, y + rnd() * 0.8);
                    pb.line_to(x + rnd() * 0.8, y - rnd() * 0.8);
                }
            }
            pb.close();
            let path = pb.finish().expect("path");
            let ink = Ink::new(Rgba(120, (round * 6) as u8, 40, 255), 0.35 + 0.6 * rnd());
            let dash: &[f32] = if round % 2 == 0 { &[] } else { &[7.0, 3.0] };
            let pen = super::super::paint::stroke(0.5 + 6.0 * rnd(), dash);
            let ts = Transform::from_translate(rnd() * 9.0 - 4.5, rnd() * 9.0 - 4.5);
            let rule = if round % 3 == 0 { FillRule::Winding } else { FillRule::EvenOdd };
            let mut whole = canvas(w, h);
            fill_path(&mut whole, &path, ink, rule, ts);
            stroke_path(&mut whole, &path, ink, &pen, ts);
            let mut cells = Coverages::default();
            if round % 2 == 0 {
                // Kept first over the whole window, as a first drawing of a tile keeps it.
                draw_kept(&mut canvas(w, h), (&path, ink, rule, &pen, ts), (0..w, 0..h), &mut cells);
            }
            for _ in 0..6 {
                let (x0, y0) = ((rnd() * w as f32) as u32, (rnd() * h as f32) as u32);
                let (x1, y1) = (x0 + 1 + (rnd() * 60.0) as u32, y0 + 1 + (rnd() * 40.0) as u32);
                let mut part = canvas(w, h);
                fill_path_rect(&mut part, &path, ink, rule, ts, x0..x1, y0..y1);
                stroke_path_rect(&mut part, &path, ink, &pen, ts, x0..x1, y0..y1);
                // Through kept cells (of the whole window, or of an earlier box when it
                // holds this one; else made now and kept in its place).
                let mut kept = canvas(w, h);
                draw_kept(&mut kept, (&path, ink, rule, &pen, ts), (x0..x1, y0..y1), &mut cells);
                for y in y0..y1.min(h) {
                    let (a, b) = (((y * w + x0) * 4) as usize, ((y * w + x1.min(w)) * 4) as usize);
                    assert!(
                        whole.data()[a..b] == part.data()[a..b],
                        "round {round}: box {x0}..{x1} x {y0}..{y1}, row {y}"
                    );
                    assert!(
                        whole.data()[a..b] == kept.data()[a..b],
                        "round {round}: box {x0}..{x1} x {y0}..{y1}, row {y}, from kept cells"
                    );
                }
            }
            hits += cells.hits();
        }
        assert!(hits >= 40 * 6, "{hits} fills and strokes drawn from kept cells");
    }

    /// Fill and stroke `path` over the box `area` through the kept cells of `cells`
    /// (keys 1 and 2).
    fn draw_kept(
        px: &mut Pixmap,
        (path, ink, rule, pen, ts): (&Path, Ink, FillRule, &Pen, Transform),
        area: Area,
        cells: &mut Coverages,
    ) {
        let path = || Some(std::borrow::Cow::Borrowed(path));
        fill_path_rect_kept(px, path, ink, rule, ts, area.clone(), Some(Keep { cache: &mut *cells, key: 1 }));
        stroke_path_rect_kept(px, path, ink, pen, ts, area, Some(Keep { cache: cells, key: 2 }));
    }

    #[test]
    fn boxes_of_curves_and_far_edges_are_the_boxes_of_the_whole_drawing() {
        // Cubics and quads (culled or replaced by their chords when out of a box's reach),
        // contours wholly left of a box (passed over: their covers sum to nothing), and
        // edges from far beyond the image (cut at FAR), filled under both rules. Moved
        // only (every other round), a long contour's stretches out of a box's reach are
        // passed over whole, curves and all.
        let mut seed = 0x9e37_79b9_u32;
        let mut rnd = move || {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (seed >> 8) as f32 / (1 << 24) as f32
        };
        let (w, h) = (110u32, 90u32);
        for round in 0..30 {
            let mut pb = PathBuilder::new();
            for _ in 0..(2 + (rnd() * 5.0) as usize) {
                let (cx, cy, r) = (rnd() * 130.0 - 10.0, rnd() * 110.0 - 10.0, 3.0 + rnd() * 30.0);
                pb.move_to(cx + r, cy);
                for k in 1..(3 + (rnd() * 24.0) as usize) {
                    let a = k as f32 * 1.3;
                    let (x, y) = (cx + r * a.cos(), cy + r * a.sin());
                    if k % 2 == 0 {
                        pb.cubic_to(x + rnd() * 20.0, y - 9.0, x - 7.0, y + rnd() * 15.0, x, y);
                    } else {
                        pb.quad_to(x + 11.0 * rnd(), y - 4.0, x, y);
                    }
                }
                pb.close();
            }
            if round % 3 == 0 {
                // A far point: a long edge to the left and one from above.
                pb.move_to(-3.0e6 * rnd() - 2.0e6, 40.0 + rnd() * 20.0);
                pb.line_to(60.0 + rnd() * 10.0, 70.0 + rnd() * 10.0);
                pb.line_to(50.0 + rnd() * 20.0, -5.0e6);
                pb.close();
            }
            let path = pb.finish().expect("path");
            let ink = Ink::new(Rgba(30, 90, (round * 8) as u8, 255), 0.4 + 0.6 * rnd());
            let ts = Transform::from_row(1.0 + rnd() * 0.3, rnd() * 0.2, -rnd() * 0.2, 1.0, rnd() * 6.0, -rnd() * 6.0);
            let ts = if round % 2 == 1 { Transform::from_translate(ts.tx, ts.ty) } else { ts };
            let rule = if round % 2 == 0 { FillRule::Winding } else { FillRule::EvenOdd };
            let pen = super::super::paint::stroke(0.8 + 4.0 * rnd(), &[]);
            let mut whole = canvas(w, h);
            fill_path(&mut whole, &path, ink, rule, ts);
            stroke_path(&mut whole, &path, ink, &pen, ts);
            let mut cells = Coverages::default();
            if round % 3 != 1 {
                draw_kept(&mut canvas(w, h), (&path, ink, rule, &pen, ts), (0..w, 0..h), &mut cells);
            }
            for _ in 0..8 {
                let (x0, y0) = ((rnd() * w as f32) as u32, (rnd() * h as f32) as u32);
                let (x1, y1) = (x0 + 1 + (rnd() * 40.0) as u32, y0 + 1 + (rnd() * 20.0) as u32);
                let mut part = canvas(w, h);
                fill_path_rect(&mut part, &path, ink, rule, ts, x0..x1, y0..y1);
                stroke_path_rect(&mut part, &path, ink, &pen, ts, x0..x1, y0..y1);
                let mut kept = canvas(w, h);
                draw_kept(&mut kept, (&path, ink, rule, &pen, ts), (x0..x1, y0..y1), &mut cells);
                for y in y0..y1.min(h) {
                    let (a, b) = (((y * w + x0) * 4) as usize, ((y * w + x1.min(w)) * 4) as usize);
                    assert!(
                        whole.data()[a..b] == part.data()[a..b],
                        "round {round}: box {x0}..{x1} x {y0}..{y1}, row {y}"
                    );
                    assert!(
                        whole.data()[a..b] == kept.data()[a..b],
                        "round {round}: box {x0}..{x1} x {y0}..{y1}, row {y}, from kept cells"
                    );
                }
            }
        }
    }

    #[test]
    fn far_edges_cover_what_near_ones_do() {
        // A band from far left (beyond FAR) is the band from just left of the image.
        let band = |x0: f32| {
            let mut pb = PathBuilder::new();
            pb.move_to(x0, 10.0);
            pb.line_to(30.25, 10.0);
            pb.line_to(30.25, 20.5);
            pb.line_to(x0, 20.5);
            pb.close();
            let mut pm = canvas(40, 30);
            fill_path(
                &mut pm,
                &pb.finish().expect("path"),
                Ink::new(Rgba(9, 9, 9, 255), 0.8),
                FillRule::Winding,
                Transform::identity(),
            );
            pm
        };
        assert!(band(-5.0).data() == band(-4.0e7).data());
    }

    #[test]
    fn cached_outlines_draw_what_fresh_ones_do_and_tell_paths_apart() {
        let paths = test_paths();
        let ink = Ink::new(Rgba(10, 120, 60, 255), 0.8);
        let pen = super::super::paint::stroke(2.5, &[6.0, 3.0]);
        let fresh = |path: &Path| {
            let stroke = pen.skia();
            let dashed = path.dash(stroke.dash.as_ref().expect("dash"), 1.0).expect("dashed");
            let outline = dashed.stroke(&stroke, 1.0).expect("outline");
            let mut pm = canvas(90, 70);
            fill_path(&mut pm, &outline, ink, FillRule::Winding, Transform::from_translate(-3.0, 2.0));
            pm
        };
        for round in 0..3 {
            for path in &paths {
                let mut pm = canvas(90, 70);
                stroke_path(&mut pm, path, ink, &pen, Transform::from_translate(-3.0, 2.0));
                assert!(pm.data() == fresh(path).data(), "round {round}");
            }
        }
        // A path that differs in one point's last bit gets its own outline.
        let (a, b) = (&paths[1], {
            let mut pb = PathBuilder::new();
            pb.move_to(-30.0, 12.5);
            pb.line_to(40.2, f32::from_bits(60.7f32.to_bits() + 1));
            pb.quad_to(70.0, 5.0, 120.0, 40.0);
            pb.move_to(10.0, 65.0);
            pb.line_to(85.5, 66.0);
            pb.finish().expect("path")
        });
        let one = stroke_outline(a, &pen, 1.0, true).expect("outline");
        let two = stroke_outline(&b, &pen, 1.0, true).expect("outline");
        assert!(one.points() != two.points());
        assert!(*stroke_outline(a, &pen, 1.0, true).expect("outline") == *one);
    }

    #[test]
    fn translated_fill_lands_where_the_transform_puts_it() {
        let rect = PathBuilder::from_rect(tiny_skia::Rect::from_ltrb(100.0, 100.0, 110.0, 110.0).expect("rect"));
        let mut pm = Pixmap::new(20, 20).expect("pixmap");
        let ts = Transform::from_translate(-95.0, -95.0);
        fill_path(&mut pm, &rect, Ink::new(Rgba(0, 0, 0, 255), 1.0), FillRule::Winding, ts);
        let alpha = |x: usize, y: usize| pm.data()[(y * 20 + x) * 4 + 3];
        assert_eq!((alpha(4, 4), alpha(5, 5), alpha(14, 14), alpha(15, 15)), (0, 255, 255, 0));
    }
}
