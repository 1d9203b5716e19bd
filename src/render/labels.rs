//! Label placement: candidates in priority order, collision through a grid of placed
//! boxes and obstacles (markers, furniture), nothing outside the frame.

use super::canvas::Canvas;
use super::text::TextStyle;
use super::Frame;
use rstar::{RTree, AABB};

/// Places label boxes so that none overlaps another, an obstacle, or the frame's edge.
///
/// A label is a list of boxes (one per glyph for a name along a river); the box around
/// all of them must be clear of every obstacle and of the boxes around the other labels,
/// so that the label boxes reported to callers never overlap each other or a marker.
pub struct LabelPlacer {
    frame: [f32; 4],
    tree: Boxes,
    unions: Boxes,
    placed: Vec<[f32; 4]>,
    /// Centres of the symbols that labels name (towns, battles): a name must not stand
    /// nearer another symbol than its own, or a reader takes it for that one's.
    marks: Vec<[f32; 2]>,
    /// `marks` indexed, built when first asked (all symbols are drawn before any label).
    mark_tree: std::cell::OnceCell<RTree<[f32; 2]>>,
    /// The segments of the main rivers drawn, px: a town's name stands on its own bank
    /// where it can.
    banks: Vec<[(f32, f32); 2]>,
    /// `banks` by the [`BANK_CELL`] px grid cells their boxes cover, as (cell, segment)
    /// sorted, built when first asked.
    bank_cells: std::cell::OnceCell<std::sync::Arc<Vec<(u64, u32)>>>,
}

/// Boxes taken (left, top, right, bottom, px), by the [`BOX_CELL`] px grid cells they
/// cover: a box meets only boxes that share a cell with it, so a question looks at the
/// few in its own cells. A box over more than [`MANY_CELLS`] cells, or with a side that
/// is no number, is kept apart and looked at for every question. Built a box at a time
/// (an R-tree's insertions cost more than all the questions a placer asks), but for a
/// crowded map: every [`DENSE_BOXES`] boxes filed in the grid go into an R-tree loaded in
/// bulk, trees of like size are merged (so a few trees hold them all), and the grid starts
/// again empty. A million towns' markers would otherwise fill cells with tens of thousands
/// each, and a question in a cell's empty part would look at all of them.
#[derive(Default)]
struct Boxes {
    boxes: Vec<[f32; 4]>,
    cells: rustc_hash::FxHashMap<(i32, i32), Vec<u32>>,
    apart: Vec<u32>,
    /// How many boxes are filed in `cells`.
    in_grid: usize,
    /// The first box that may be filed in `cells` (those before are in `trees` or apart).
    grid_from: usize,
    /// Boxes filed before, in trees of decreasing size.
    trees: Vec<RTree<BoxEntry>>,
    /// Where a [`Cover`] may stand (the placer's frame); None once it cannot.
    frame: Option<[f32; 4]>,
    /// The pixels wholly inside a box, once there are [`DENSE_BOXES`] boxes.
    cover: Option<Cover>,
}

/// The pixels of a frame wholly inside one of the boxes kept, a bit each: a question that
/// meets such a pixel meets its box, with no search. On a crowded map most names find
/// their place taken, and the trees of [`Boxes`] answer that only after walking down to
/// a box (a cache miss at each level); the bits answer it from a row or two of words.
struct Cover {
    /// The frame's top left pixel.
    x0: i64,
    y0: i64,
    /// Its size, px.
    w: i64,
    h: i64,
    /// Words of bits a row.
    words: usize,
    bits: Vec<u64>,
}

/// The most pixels a [`Cover`] spans (8 MB of bits); a larger frame has none.
const MAX_COVER_PX: i64 = 1 << 26;

impl Cover {
    fn new(frame: &[f32; 4]) -> Option<Cover> {
        if !frame.iter().all(|v| v.is_finite() && v.abs() < 1e9) {
            return None;
        }
        let (x0, y0) = (frame[0].floor() as i64, frame[1].floor() as i64);
        let (w, h) = (frame[2].ceil() as i64 - x0, frame[3].ceil() as i64 - y0);
        if w <= 0 || h <= 0 || w * h > MAX_COVER_PX {
            return None;
        }
        let words = (w as usize).div_ceil(64);
        Some(Cover { x0, y0, w, h, words, bits: vec![0; words * h as usize] })
    }

    /// Columns `lo..hi` and rows of pixels (from the frame's corner), clipped to the frame.
    fn clip(&self, (c0, c1): (f32, f32), (r0, r1): (f32, f32)) -> (usize, usize, usize, usize) {
        // Saturating casts: a side far outside the frame is clipped to it.
        let col = |v: f32| (v as i64).clamp(self.x0, self.x0 + self.w) - self.x0;
        let row = |v: f32| (v as i64).clamp(self.y0, self.y0 + self.h) - self.y0;
        (col(c0) as usize, col(c1) as usize, row(r0) as usize, row(r1) as usize)
    }

    /// Mark the pixels wholly inside box `b` (corners in order): `[px, px + 1]` within
    /// `[b[0], b[2]]`, and so for rows.
    fn add(&mut self, b: &[f32; 4]) {
        if !b.iter().all(|v| v.is_finite()) {
            return;
        }
        let (c0, c1, r0, r1) = self.clip((b[0].ceil(), b[2].floor()), (b[1].ceil(), b[3].floor()));
        for r in r0..r1 {
            let row = &mut self.bits[r * self.words..(r + 1) * self.words];
            for_words(c0, c1, |w, mask| row[w] |= mask);
        }
    }

    /// Does `q` (corners in order, sides touching count) meet a marked pixel? A pixel
    /// `[px, px + 1]` meets `[q[0], q[2]]` when `px` lies in `floor(q[0])..=floor(q[2])`.
    fn meets(&self, q: &[f32; 4]) -> bool {
        if !q.iter().all(|v| v.is_finite()) || q[0] > q[2] || q[1] > q[3] {
            return false;
        }
        let (c0, c1, r0, r1) = self.clip((q[0].floor(), q[2].floor() + 1.0), (q[1].floor(), q[3].floor() + 1.0));
        (r0..r1).any(|r| {
            let row = &self.bits[r * self.words..(r + 1) * self.words];
            let mut any = false;
            for_words(c0, c1, |w, mask| any |= row[w] & mask != 0);
            any
        })
    }
}

/// Call `each(word, mask)` for the words of a row of bits that columns `c0..c1` fall in,
/// with the mask of those columns in each.
fn for_words(c0: usize, c1: usize, mut each: impl FnMut(usize, u64)) {
    if c0 >= c1 {
        return;
    }
    let (first, last) = (c0 / 64, (c1 - 1) / 64);
    for w in first..=last {
        let lo = if w == first { c0 % 64 } else { 0 };
        let hi = if w == last { (c1 - 1) % 64 + 1 } else { 64 };
        let upto = if hi == 64 { u64::MAX } else { (1u64 << hi) - 1 };
        each(w, upto & !((1u64 << lo) - 1));
    }
}

/// A box filed in a tree of [`Boxes`], with its number.
type BoxEntry = rstar::primitives::GeomWithData<rstar::primitives::Rectangle<[f32; 2]>, u32>;

/// Boxes filed in the grid of [`Boxes`] that go into a tree together.
const DENSE_BOXES: usize = 4096;

/// The side of the cells of [`Boxes`], px: a few labels' height.
const BOX_CELL: f32 = 64.0;

/// The most cells a box of [`Boxes`] is filed under.
const MANY_CELLS: i64 = 64;

impl Boxes {
    /// The cells a box covers (columns, rows), or None when they are too many to list
    /// or its sides are not all numbers.
    fn cells_of(b: &[f32; 4]) -> Option<(std::ops::RangeInclusive<i32>, std::ops::RangeInclusive<i32>)> {
        if !b.iter().all(|v| v.is_finite() && v.abs() < 1e9) {
            return None;
        }
        let c = |v: f32| (v / BOX_CELL).floor() as i32;
        let (x0, y0, x1, y1) = (c(b[0]), c(b[1]), c(b[2]), c(b[3]));
        let n = (i64::from(x1) - i64::from(x0) + 1) * (i64::from(y1) - i64::from(y0) + 1);
        (n <= MANY_CELLS).then_some((x0..=x1, y0..=y1))
    }

    /// Keep a box (its corners in any order).
    fn insert(&mut self, b: [f32; 4]) {
        let b = corners(b);
        let k = self.boxes.len() as u32;
        self.boxes.push(b);
        match Boxes::cells_of(&b) {
            Some((cols, rows)) => {
                for y in rows {
                    for x in cols.clone() {
                        self.cells.entry((x, y)).or_default().push(k);
                    }
                }
                self.in_grid += 1;
            }
            None => self.apart.push(k),
        }
        if self.in_grid >= DENSE_BOXES {
            self.file_in_trees();
        }
        match &mut self.cover {
            Some(cover) => cover.add(&b),
            None if self.boxes.len() >= DENSE_BOXES => {
                self.cover = self.frame.take().and_then(|f| Cover::new(&f));
                if let Some(cover) = &mut self.cover {
                    self.boxes.iter().for_each(|b| cover.add(b));
                }
            }
            None => {}
        }
    }

    /// Boxes within `frame`: past [`DENSE_BOXES`] of them, [`Boxes::hits`] reads the
    /// pixels they cover in it first.
    fn within(frame: [f32; 4]) -> Boxes {
        Boxes { frame: Some(frame), ..Boxes::default() }
    }

    /// Does a box kept meet `q` (left, top, right, bottom; sides touching count)? As
    /// [`Boxes::any`] with no test.
    fn hits(&self, q: [f32; 4]) -> bool {
        self.cover.as_ref().is_some_and(|c| c.meets(&q)) || self.any(q, |_| true)
    }

    /// Move the boxes of the grid into a tree of their own, merging it with the trees
    /// before it while they are no more than twice its size.
    fn file_in_trees(&mut self) {
        use rstar::primitives::{GeomWithData, Rectangle};
        let mut entries: Vec<BoxEntry> = (self.grid_from..self.boxes.len())
            .filter(|&k| Boxes::cells_of(&self.boxes[k]).is_some())
            .map(|k| {
                let b = self.boxes[k];
                GeomWithData::new(Rectangle::from_corners([b[0], b[1]], [b[2], b[3]]), k as u32)
            })
            .collect();
        while self.trees.last().is_some_and(|t| t.size() <= 2 * entries.len()) {
            let t = self.trees.pop().expect("a last tree");
            entries.extend(t.iter().cloned());
        }
        self.trees.push(RTree::bulk_load(entries));
        self.cells.clear();
        (self.in_grid, self.grid_from) = (0, self.boxes.len());
    }

    /// Does a box kept meet `q` (left, top, right, bottom; sides touching count) and
    /// satisfy `test`?
    fn any(&self, q: [f32; 4], mut test: impl FnMut(&[f32; 4]) -> bool) -> bool {
        let meets = |b: &[f32; 4]| b[0] <= q[2] && b[2] >= q[0] && b[1] <= q[3] && b[3] >= q[1];
        let mut check = |k: &u32| {
            let b = &self.boxes[*k as usize];
            meets(b) && test(b)
        };
        if self.apart.iter().any(&mut check) {
            return true;
        }
        match Boxes::cells_of(&q) {
            Some((cols, rows)) => {
                let env = AABB::from_corners([q[0], q[1]], [q[2], q[3]]);
                self.trees.iter().any(|t| t.locate_in_envelope_intersecting(&env).any(|e| check(&e.data)))
                    || rows.into_iter().any(|y| {
                        cols.clone().any(|x| self.cells.get(&(x, y)).is_some_and(|ks| ks.iter().any(&mut check)))
                    })
            }
            None => (0..self.boxes.len() as u32).any(|k| check(&k)),
        }
    }
}

/// A box from two corners: the smaller of each coordinate first.
fn corners(b: [f32; 4]) -> [f32; 4] {
    let lo_hi = |a: f32, c: f32| if a <= c { (a, c) } else { (c, a) };
    let ((x0, x1), (y0, y1)) = (lo_hi(b[0], b[2]), lo_hi(b[1], b[3]));
    [x0, y0, x1, y1]
}

/// The segments of a main river's course (px) that [`LabelPlacer::add_river`] notes:
/// the course thinned to points 2 px apart, its segments within `near`.
pub fn river_banks(pts: &[(f32, f32)], near: [f32; 4]) -> Vec<[(f32, f32); 2]> {
    let inside = |a: &(f32, f32), b: &(f32, f32)| {
        a.0.is_finite()
            && a.1.is_finite()
            && b.0.is_finite()
            && b.1.is_finite()
            && a.0.max(b.0) >= near[0]
            && a.0.min(b.0) <= near[2]
            && a.1.max(b.1) >= near[1]
            && a.1.min(b.1) <= near[3]
    };
    // Which bank a name stands on needs no finer line than a pixel or two: the course
    // thinned to points 2 px apart (at the overview zooms a river is a few pixels).
    let mut thinned: Vec<(f32, f32)> = Vec::new();
    for (k, p) in pts.iter().enumerate() {
        let far = thinned.last().is_none_or(|q| (p.0 - q.0).abs() + (p.1 - q.1).abs() >= 2.0);
        if far || k + 1 == pts.len() {
            thinned.push(*p);
        }
    }
    thinned.windows(2).filter(|w| inside(&w[0], &w[1])).map(|w| [w[0], w[1]]).collect()
}

/// The box around boxes.
fn union(boxes: &[[f32; 4]]) -> [f32; 4] {
    boxes.iter().fold([f32::INFINITY, f32::INFINITY, f32::NEG_INFINITY, f32::NEG_INFINITY], |u, b| {
        [u[0].min(b[0]), u[1].min(b[1]), u[2].max(b[2]), u[3].max(b[3])]
    })
}

/// The side of the grid cells that index river segments ([`LabelPlacer::across_river`]), px.
const BANK_CELL: f32 = 48.0;

/// Bank indexes of earlier placers, by a hash of their banks ([`LabelPlacer::across_river`]).
type BankIndexes = rustc_hash::FxHashMap<u128, std::sync::Arc<Vec<(u64, u32)>>>;

/// The most bank indexes kept at once (one per metatile of a run, or of a server's
/// recent requests).
const KEPT_BANK_INDEXES: usize = 256;

/// Do the segments p–q and a–b cross (each has an end strictly on either side of the
/// other's line)?
fn segments_cross(p: (f32, f32), q: (f32, f32), a: (f32, f32), b: (f32, f32)) -> bool {
    let side = |o: (f32, f32), d: (f32, f32), t: (f32, f32)| {
        let v = (d.0 - o.0) * (t.1 - o.1) - (d.1 - o.1) * (t.0 - o.0);
        if v > 0.0 {
            1
        } else if v < 0.0 {
            -1
        } else {
            0
        }
    };
    side(p, q, a) * side(p, q, b) < 0 && side(a, b, p) * side(a, b, q) < 0
}

fn segment_meets_box(a: (f32, f32), b: (f32, f32), r: [f32; 4]) -> bool {
    if r[0] > r[2] || r[1] > r[3] {
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
                t0 = t0.max(t);
            } else {
                t1 = t1.min(t);
            }
            if t0 > t1 {
                return false;
            }
        }
    }
    true
}

/// Does `tree` hold a box overlapping `b` (more than touching)?
fn hits(tree: &Boxes, b: &[f32; 4]) -> bool {
    tree.hits(corners([b[0] + 0.01, b[1] + 0.01, b[2] - 0.01, b[3] - 0.01]))
}

impl LabelPlacer {
    /// A placer for labels inside `frame` `[x0, y0, x1, y1]`.
    pub fn new(frame: [f32; 4]) -> LabelPlacer {
        LabelPlacer {
            frame,
            tree: Boxes::within(frame),
            unions: Boxes::within(frame),
            placed: Vec::new(),
            marks: Vec::new(),
            mark_tree: std::cell::OnceCell::new(),
            banks: Vec::new(),
            bank_cells: std::cell::OnceCell::new(),
        }
    }

    /// Note a main river's course (px): see [`LabelPlacer::across_river`]. Only its
    /// segments within `near` (a box around the image: a name stands near its symbol)
    /// are kept.
    pub fn add_river(&mut self, pts: &[(f32, f32)], near: [f32; 4]) {
        self.add_banks(&river_banks(pts, near));
    }

    /// Note segments of main rivers' courses, as [`river_banks`] gives them.
    pub fn add_banks(&mut self, banks: &[[(f32, f32); 2]]) {
        self.banks.extend_from_slice(banks);
        self.bank_cells.take();
    }

    /// Does the line from `from` to `to` cross a main river: would a name at `to` stand
    /// across the river from its symbol at `from`?
    pub fn across_river(&self, from: (f32, f32), to: (f32, f32)) -> bool {
        if self.banks.is_empty() {
            return false;
        }
        // Grid cells (a sorted list: cheaper to build than a tree, and a river's segment
        // meets one or two cells); a box far outside any image meets none.
        let cells = |lo: (f32, f32), hi: (f32, f32)| {
            let c = |v: f32| (v / BANK_CELL).floor().clamp(-1e6, 1e6) as i32;
            let (x0, y0, x1, y1) = (c(lo.0), c(lo.1), c(hi.0), c(hi.1));
            let many = (i64::from(x1) - i64::from(x0) + 1) * (i64::from(y1) - i64::from(y0) + 1) > 4096;
            let key = |x: i32, y: i32| (u64::from(x as u32) << 32) | u64::from(y as u32);
            (!many).then(move || (x0..=x1).flat_map(move |x| (y0..=y1).map(move |y| key(x, y))))
        };
        let index = self.bank_cells.get_or_init(|| {
            // The same banks come back in every map state of a metatile (rivers change
            // little): their index is kept, by a hash of them, for the next placer.
            static KEPT: std::sync::Mutex<Option<BankIndexes>> = std::sync::Mutex::new(None);
            let mut bytes = Vec::with_capacity(self.banks.len() * 16);
            for v in self.banks.iter().flatten() {
                bytes.extend_from_slice(&v.0.to_bits().to_le_bytes());
                bytes.extend_from_slice(&v.1.to_bits().to_le_bytes());
            }
            let key = twox_hash::XxHash3_128::oneshot(&bytes);
            let found = KEPT.lock().ok().and_then(|k| k.as_ref().and_then(|m| m.get(&key).cloned()));
            if let Some(index) = found {
                return index;
            }
            let mut v = Vec::with_capacity(self.banks.len() * 2);
            for (i, [a, b]) in self.banks.iter().enumerate() {
                let lo = (a.0.min(b.0), a.1.min(b.1));
                let hi = (a.0.max(b.0), a.1.max(b.1));
                v.extend(cells(lo, hi).into_iter().flatten().map(|k| (k, i as u32)));
            }
            v.sort_unstable();
            let index = std::sync::Arc::new(v);
            if let Ok(mut kept) = KEPT.lock() {
                let kept = kept.get_or_insert_with(Default::default);
                if kept.len() >= KEPT_BANK_INDEXES {
                    kept.clear();
                }
                kept.insert(key, index.clone());
            }
            index
        });
        let lo = (from.0.min(to.0), from.1.min(to.1));
        let hi = (from.0.max(to.0), from.1.max(to.1));
        let Some(wanted) = cells(lo, hi) else { return false };
        wanted.into_iter().any(|k| {
            let start = index.partition_point(|e| e.0 < k);
            index[start..].iter().take_while(|e| e.0 == k).any(|&(_, i)| {
                let [a, b] = self.banks[i as usize];
                segments_cross(from, to, a, b)
            })
        })
    }

    /// Reserve the box `b` of a named symbol centred at (x, y): labels must not cover it,
    /// and no other name may stand nearer to it than to its own symbol.
    pub fn add_mark(&mut self, x: f32, y: f32, b: [f32; 4]) {
        self.add_obstacle(b);
        self.marks.push([x, y]);
        self.mark_tree.take();
    }

    /// How far from box `b` the nearest other symbol stands, as a share of how far `own`
    /// stands, at most 1 (no other symbol nearer than its own).
    pub fn mark_ratio(&self, b: &[f32; 4], own: (f32, f32)) -> f32 {
        self.other_marks(b, own, |mine, others| {
            if mine <= 0.0 {
                return 1.0;
            }
            others.map(|d| d / mine).fold(1.0, f32::min)
        })
    }

    /// Does another symbol stand nearer the label box `b` than `own`, the centre of the
    /// symbol it names? With `strict`, any nearer; else clearly nearer: by more than
    /// `slack` px and at less than half the distance (a name on a leader line, which
    /// the line ties to its symbol).
    pub fn nearer_mark(&self, b: &[f32; 4], own: (f32, f32), strict: bool, slack: f32) -> bool {
        self.other_marks(b, own, |mine, mut others| {
            Iterator::any(&mut others, |d| if strict { d < mine } else { d + slack < mine && d < mine / 2.0 })
        })
    }

    /// `answer(mine, others)`: how far box `b` stands from `own`, and how far from each
    /// other symbol within that distance of it.
    fn other_marks<R>(
        &self,
        b: &[f32; 4],
        own: (f32, f32),
        answer: impl FnOnce(f32, &mut dyn Iterator<Item = f32>) -> R,
    ) -> R {
        let mine = box_gap(b, own);
        if self.marks.len() < 2 {
            return answer(mine, &mut std::iter::empty());
        }
        let tree = self.mark_tree.get_or_init(|| RTree::bulk_load(self.marks.clone()));
        let env = AABB::from_corners([b[0] - mine, b[1] - mine], [b[2] + mine, b[3] + mine]);
        let mut others = tree
            .locate_in_envelope(&env)
            .filter(|p| (p[0] - own.0).abs() + (p[1] - own.1).abs() > 0.5)
            .map(|p| box_gap(b, (p[0], p[1])));
        answer(mine, &mut others)
    }

    /// Reserve a box that labels must not cover (a marker, the legend).
    pub fn add_obstacle(&mut self, b: [f32; 4]) {
        self.tree.insert(b);
    }

    /// Whether a leader line from `from` to `to` crosses no label, marker or panel placed
    /// so far, but for those at its ends (its own marker).
    pub fn leader_clear(&self, from: (f32, f32), to: (f32, f32)) -> bool {
        let env = [from.0.min(to.0), from.1.min(to.1), from.0.max(to.0), from.1.max(to.1)];
        !self.tree.any(env, |r| {
            // A pixel's grace: a leader may graze a box.
            let b = [r[0] + 1.0, r[1] + 1.0, r[2] - 1.0, r[3] - 1.0];
            let at_end =
                |p: (f32, f32)| p.0 >= b[0] - 2.0 && p.0 <= b[2] + 2.0 && p.1 >= b[1] - 2.0 && p.1 <= b[3] + 2.0;
            !at_end(from) && !at_end(to) && segment_meets_box(from, to, b)
        })
    }

    /// Would all `boxes` (one label) fit: inside the frame and clear of everything placed
    /// so far, and the box around them clear of the boxes around other labels?
    pub fn fits(&self, boxes: &[[f32; 4]]) -> bool {
        let inside = |b: &[f32; 4]| {
            b[0] >= self.frame[0] && b[1] >= self.frame[1] && b[2] <= self.frame[2] && b[3] <= self.frame[3]
        };
        // Boxes that only touch do not collide.
        let u = union(boxes);
        boxes.iter().all(inside) && !hits(&self.tree, &u) && !hits(&self.unions, &u)
    }

    /// Place `boxes` (one label) if they fit; returns whether they were placed.
    pub fn try_place(&mut self, boxes: &[[f32; 4]]) -> bool {
        if boxes.is_empty() || !self.fits(boxes) {
            return false;
        }
        for b in boxes {
            self.tree.insert(*b);
        }
        // One label's glyph boxes count as one label box for callers.
        let u = union(boxes);
        self.unions.insert(u);
        self.placed.push(u);
        true
    }

    /// The union box of every placed label.
    pub fn placed(&self) -> &[[f32; 4]] {
        &self.placed
    }
}

/// How far the point `p` stands from box `b`, px (0 inside it).
fn box_gap(b: &[f32; 4], p: (f32, f32)) -> f32 {
    (b[0] - p.0).max(p.0 - b[2]).max(0.0).hypot((b[1] - p.1).max(p.1 - b[3]).max(0.0))
}

/// Do two boxes overlap (more than touching)?
pub fn overlaps(a: &[f32; 4], b: &[f32; 4]) -> bool {
    a[0] < b[2] - 0.01 && b[0] < a[2] - 0.01 && a[1] < b[3] - 0.01 && b[1] < a[3] - 0.01
}

/// Where a label goes.
pub(crate) enum Anchor {
    /// Beside a marker of radius `r` px at (x, y): right, upper-right, left, above, below.
    Point { x: f32, y: f32, r: f32 },
    /// Centred on (x, y) (areas, landforms, water).
    Centre { x: f32, y: f32 },
    /// Along a pixel polyline (rivers, routes); `repeat` on long lines.
    Path { pts: Vec<(f32, f32)>, repeat: bool },
}

/// A label waiting to be placed (borrowing the id of the feature it names).
pub(crate) struct LabelJob<'a> {
    /// Higher goes first.
    pub priority: i32,
    /// Borrowed from the feature where the name is drawn as it is.
    pub text: std::borrow::Cow<'a, str>,
    pub style: TextStyle,
    pub anchor: Anchor,
    /// The feature labelled (None for polity names).
    pub id: Option<&'a str>,
    /// For an area's name: the territory areas (indices) it must stay on.
    pub land: Box<[usize]>,
}

/// Priority added to labels the map promises (see [`super::promised`]): they are placed
/// before every other label, and may stand off their marker on a leader line.
pub(crate) const PROMISED: i32 = 1000;

/// Labels at or above this priority (a town that changed hands this year) may stand a
/// little off their marker, on a short leader that crosses nothing, when there is no room
/// beside it (on a page; tiles, read zoomed in, keep such names beside their marker).
pub(crate) const SHORT_LEADER: i32 = 90;

/// The area of a landform or a sea, lake or marsh (its name stands over it), if it has one.
pub(crate) fn own_area(feat: &crate::data::Feature) -> Option<&geo::MultiPolygon<f64>> {
    match &feat.geometry {
        crate::data::Geometry::Areas(mp)
            if matches!(feat.layer, crate::data::Layer::Landforms | crate::data::Layer::Water) =>
        {
            Some(mp)
        }
        _ => None,
    }
}

/// A label the placer kept: its text and the box around all of it, px.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct PlacedLabel {
    /// The feature labelled (None for polity names).
    pub id: Option<String>,
    /// The text drawn.
    pub text: String,
    /// `[x0, y0, x1, y1]` around the whole label, halo included.
    pub bbox: [f32; 4],
    /// Set off its marker and joined to it by a leader line.
    pub leader: bool,
}

/// A pixel position.
type Point = (f32, f32);

/// Rings of candidate places off a marker, in label heights (see [`displaced`]).
const RINGS: [f32; 5] = [1.2, 2.2, 3.4, 4.8, 6.5];

/// Candidate places for a label whose box is `w`×`h` px beside a marker of radius `r`
/// at (x, y), beyond the seven standard ones: rings of `dirs` directions at the
/// distances `steps` (in label heights). Returns the box's top-left corner and the leader's two ends.
fn displaced(x: f32, y: f32, r: f32, w: f32, h: f32, steps: &[f32], dirs: usize) -> Vec<(Point, Point, Point)> {
    let mut out = Vec::new();
    for &step in steps {
        let d = r + h * step;
        for k in 0..dirs {
            let a = std::f32::consts::TAU * k as f32 / dirs as f32;
            let (cos, sin) = (a.cos(), a.sin());
            // The box's centre, so that its side facing the marker stands d away.
            let cx = x + cos * (d + w / 2.0 * cos.abs());
            let cy = y + sin * (d + h / 2.0 * sin.abs());
            let (bx, by) = (cx - w / 2.0, cy - h / 2.0);
            // The leader runs from the marker's edge to the point of the box nearest it.
            let to = (x.clamp(bx, bx + w), y.clamp(by, by + h));
            let len = (to.0 - x).hypot(to.1 - y).max(1e-3);
            let from = (x + (to.0 - x) / len * r * 1.1, y + (to.1 - y) / len * r * 1.1);
            out.push(((bx, by), from, to));
        }
    }
    out
}

/// Place labels by priority and draw those that fit; returns what was placed.
pub(crate) fn place_and_draw(
    f: &Frame,
    canvas: &mut dyn Canvas,
    placer: &mut LabelPlacer,
    jobs: Vec<LabelJob<'_>>,
) -> Vec<PlacedLabel> {
    // Highest priority first, and in the order given among equals: an order of indices
    // (sorting the jobs themselves took a scratch buffer of half of them, 8 MB at 100 k towns).
    let mut order: Vec<(std::cmp::Reverse<i32>, usize)> =
        jobs.iter().enumerate().map(|(i, j)| (std::cmp::Reverse(j.priority), i)).collect();
    order.sort_unstable();
    let mut placed = Vec::new();
    for job in order.into_iter().map(|(_, i)| &jobs[i]) {
        if job.text.trim().is_empty() {
            continue;
        }
        let mut labeller = Labeller {
            f,
            canvas: &mut *canvas,
            placer: &mut *placer,
            placed: &mut placed,
            job,
            measured: std::cell::Cell::new(None),
        };
        match &job.anchor {
            Anchor::Point { x, y, r } => {
                labeller.beside(*x, *y, *r, true, 5);
            }
            Anchor::Centre { x, y } => {
                labeller.centred(*x, *y);
            }
            Anchor::Path { pts, repeat } => {
                // A name too long or its line too crowded to run along it stands beside
                // the line instead: promised names beside the middle, a route's (or a
                // fort line's) beside the first free point of its middle, thirds or ends.
                if !labeller.along(pts, *repeat) && (job.priority >= PROMISED || !*repeat) {
                    let len = super::paint::polyline_length(pts);
                    // Points of the line at fractions of its length.
                    let at = |ts: &mut dyn Iterator<Item = f32>| -> Vec<(f32, f32)> {
                        ts.filter(|_| len > 0.0)
                            .filter_map(|t| super::paint::polyline_prefix(pts, t).last().copied())
                            .collect()
                    };
                    let spots = at(&mut [0.5, 0.33, 0.67, 0.15, 0.85].into_iter());
                    // Beside the line first, then a step off it on a leader, at each spot in
                    // turn: a name farther off reads as another stream's. Only a promised
                    // name goes farther, from the middle, rather than not at all.
                    let r = f.px(1.0);
                    let _ = (0..2).any(|rings| spots.iter().any(|&(x, y)| labeller.beside(x, y, r, false, rings)))
                        || (job.priority >= PROMISED
                            && labeller.off_line(pts, &at(&mut (1..20).map(|k| k as f32 / 20.0)), r));
                }
            }
        }
    }
    placed
}

/// One label being placed: tries positions in order and draws the first that fits.
struct Labeller<'a, 'c> {
    f: &'a Frame<'a>,
    canvas: &'c mut dyn Canvas,
    placer: &'c mut LabelPlacer,
    placed: &'c mut Vec<PlacedLabel>,
    job: &'a LabelJob<'a>,
    /// The job's text measured once (every candidate position needs it).
    measured: std::cell::Cell<Option<super::text::TextMetrics>>,
}

impl Labeller<'_, '_> {
    /// The job's text measured, once.
    fn metrics(&self) -> super::text::TextMetrics {
        if let Some(m) = self.measured.get() {
            return m;
        }
        let m = self.f.fonts.measure(&self.job.text, &self.job.style);
        self.measured.set(Some(m));
        m
    }

    fn promised(&self) -> bool {
        self.job.priority >= PROMISED
    }

    fn keep(&mut self, boxes: &[[f32; 4]], leader: bool) {
        let mut b = [f32::INFINITY, f32::INFINITY, f32::NEG_INFINITY, f32::NEG_INFINITY];
        for r in boxes {
            b = [b[0].min(r[0]), b[1].min(r[1]), b[2].max(r[2]), b[3].max(r[3])];
        }
        self.placed.push(PlacedLabel {
            id: self.job.id.map(str::to_string),
            text: self.job.text.to_string(),
            bbox: b,
            leader,
        });
    }

    /// The box of the text with its left end at `x` and baseline at `base`, halo included.
    fn boxed(&self, x: f32, base: f32) -> [f32; 4] {
        let m = self.metrics();
        let halo = self.job.style.halo.map(|h| h.1).unwrap_or(0.0);
        [x - halo, base - m.ascent - halo, x + m.width + halo, base + m.descent + halo]
    }

    /// Place the text at one position if it fits.
    fn try_at(&mut self, x: f32, base: f32) -> bool {
        let b = self.boxed(x, base);
        if self.placer.try_place(&[b]) {
            self.canvas.text(&self.job.text, x, base, &self.job.style);
            self.keep(&[b], false);
            true
        } else {
            false
        }
    }

    /// Beside a marker of radius `r` at (x, y): right, upper-right, left, above, below,
    /// and for a promised label farther out on a leader line, up to `rings` rings out
    /// (see [`displaced`]). For a named symbol (`mark`), a place nearer another symbol
    /// than this one is passed over: beside it, when any other is nearer; on a leader,
    /// when another is clearly nearer. A promised name takes such a place only when
    /// there is no other.
    fn beside(&mut self, x: f32, y: f32, r: f32, mark: bool, rings: usize) -> bool {
        let m = self.metrics();
        let gap = r + self.job.style.size_px * 0.25;
        let mid = (m.ascent - m.descent) / 2.0;
        let candidates = [
            (x + gap, y + mid),
            (x + gap * 0.8, y - gap * 0.8 - m.descent),
            (x - gap - m.width, y + mid),
            (x - m.width / 2.0, y - gap - m.descent),
            (x - m.width / 2.0, y + gap + m.ascent),
            (x - gap * 0.8 - m.width, y - gap * 0.8 - m.descent),
            (x + gap * 0.8, y + gap * 0.8 + m.ascent),
        ];
        let halo = self.job.style.halo.map(|h| h.1).unwrap_or(0.0);
        let (w, h) = (m.width + 2.0 * halo, m.ascent + m.descent + 2.0 * halo);
        let rings = if self.promised() {
            rings
        } else if self.job.priority >= SHORT_LEADER && !self.f.opts.seamless_labels {
            rings.min(2)
        } else {
            0
        };
        let far = if rings > 0 { displaced(x, y, r, w, h, &RINGS[..rings], 16) } else { Vec::new() };
        let slack = self.f.px(2.0);
        // (careful, on its own bank): a careful place is not nearer another symbol, and
        // first also on the symbol's own bank of a main river.
        let passes: &[(bool, bool)] =
            if mark { &[(true, true), (true, false), (false, false)] } else { &[(false, false)] };
        for &(careful, bank) in passes {
            let clear = |me: &Self, b: &[f32; 4], strict: bool| {
                let middle = ((b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0);
                !careful
                    || !(me.placer.nearer_mark(b, (x, y), strict, slack)
                        || (bank && me.placer.across_river((x, y), middle)))
            };
            for &(cx, base) in &candidates {
                // Whether it fits first: the cheaper question, and most often no.
                let b = self.boxed(cx, base);
                if self.placer.fits(&[b]) && clear(self, &b, true) && self.try_at(cx, base) {
                    return true;
                }
            }
            // A careful place stands at most three rings out: farther, a leader is long
            // enough to be read as pointing anywhere. Failing that, a symbol's name takes
            // the nearest fitting place not clearly nearer another symbol, else the one
            // least taken for another's.
            let reach = if careful { far.len().min(48) } else { far.len() };
            let mut order: Vec<usize> = (0..reach).collect();
            if mark && !careful {
                let score_of = |k: usize| {
                    let ((bx, by), _, _) = far[k];
                    let b = self.boxed(bx + halo, by + halo + m.ascent);
                    // Not clearly nearer another (half the distance) is as good as any.
                    if self.placer.fits(&[b]) {
                        self.placer.mark_ratio(&b, (x, y)).min(0.5)
                    } else {
                        -1.0
                    }
                };
                let score: Vec<f32> = (0..reach).map(score_of).collect();
                order.sort_by(|&a, &b| score[b].total_cmp(&score[a]));
            }
            // A leader that crosses no other name or symbol first; a careful place takes
            // no other.
            for crossing in [false, true].into_iter().take(if careful { 1 } else { 2 }) {
                for &((bx, by), from, to) in order.iter().map(|&k| &far[k]) {
                    let (cx, base) = (bx + halo, by + halo + m.ascent);
                    let b = self.boxed(cx, base);
                    if self.placer.fits(&[b])
                        && clear(self, &b, false)
                        && (crossing || self.placer.leader_clear(from, to))
                        && self.on_leader(b, from, to)
                    {
                        return true;
                    }
                }
            }
            if !self.promised() {
                return false;
            }
        }
        false
    }

    /// A promised name that fits nowhere beside its line: on a leader from one of `spots`
    /// on the line, at the free place nearest the line, so that it reads as this line's.
    fn off_line(&mut self, pts: &[(f32, f32)], spots: &[(f32, f32)], r: f32) -> bool {
        let m = self.metrics();
        let halo = self.job.style.halo.map(|h| h.1).unwrap_or(0.0);
        let (w, h) = (m.width + 2.0 * halo, m.ascent + m.descent + 2.0 * halo);
        let mut far: Vec<(f32, [f32; 4], Point, Point)> = Vec::new();
        for &(x, y) in spots {
            // Finer rings than beside a marker: the nearest free place is wanted.
            for ((bx, by), from, to) in
                displaced(x, y, r, w, h, &[1.2, 1.4, 1.6, 1.8, 2.0, 2.2, 2.5, 2.8, 3.4, 4.8, 6.5], 32)
            {
                let b = self.boxed(bx + halo, by + halo + m.ascent);
                far.push((line_gap(&b, pts), b, from, to));
            }
        }
        far.sort_by(|a, b| a.0.total_cmp(&b.0));
        far.into_iter().any(|(_, b, from, to)| self.on_leader(b, from, to))
    }

    /// Place the text in box `b` (halo included) if it fits, tied to its place by a
    /// leader line from `from` to `to`.
    fn on_leader(&mut self, b: [f32; 4], from: Point, to: Point) -> bool {
        if !self.placer.try_place(&[b]) {
            return false;
        }
        let halo = self.job.style.halo.map(|h| h.1).unwrap_or(0.0);
        leader_line(self.f, self.canvas, from, to, &self.job.style);
        self.canvas.text(&self.job.text, b[0] + halo, b[1] + halo + self.metrics().ascent, &self.job.style);
        self.keep(&[b], true);
        true
    }

    /// Centred on (x, y), shifted a little if that is taken (farther for a promised label).
    fn centred(&mut self, x: f32, y: f32) -> bool {
        let m = self.metrics();
        let h = m.ascent + m.descent;
        let mut shifts = vec![(0.0, 0.0), (0.0, -h), (0.0, h), (-m.width / 4.0, 0.0), (m.width / 4.0, 0.0)];
        // A landform's or a sea's name moved far stays over its own area: a range's name
        // set beyond it names the wrong ground.
        let own_feat = self.job.id.and_then(|id| self.f.atlas.data.get(id));
        let own = own_feat.and_then(own_area);
        // A promised name may move farther; an area's name only as far as its land goes.
        if self.promised() && (self.job.id.is_some() || !self.job.land.is_empty()) {
            for k in 1..=4 {
                let d = k as f32;
                for (dx, dy) in [
                    (0.0, -1.5),
                    (0.0, 1.5),
                    (-0.5, 0.0),
                    (0.5, 0.0),
                    (-0.4, -1.2),
                    (0.4, -1.2),
                    (-0.4, 1.2),
                    (0.4, 1.2),
                ] {
                    shifts.push((dx * d * m.width, dy * d * h));
                }
            }
            // Then anywhere over its own area, nearest first (a long range's name can
            // stand at another part of the range).
            if let Some(b) = own.and(own_feat).and_then(|feat| feat.bbox()) {
                let [x0, y0, x1, y1] = self.f.px_box(b);
                // At most about 256 places (each is a point-in-area test).
                let step = h.max(1.0).max(((x1 - x0) * (y1 - y0) / 256.0).sqrt());
                let (nx, ny) = (((x1 - x0) / step) as usize, ((y1 - y0) / step) as usize);
                if step.is_finite() && nx * ny <= 1024 {
                    let mut grid: Vec<(f32, f32)> = (0..=nx)
                        .flat_map(|i| (0..=ny).map(move |j| (x0 + i as f32 * step - x, y0 + j as f32 * step - y)))
                        .collect();
                    grid.sort_by(|a, b| a.0.hypot(a.1).total_cmp(&b.0.hypot(b.1)));
                    shifts.extend(grid);
                }
            }
        }
        let tries = if self.f.opts.seamless_labels { 1 } else { shifts.len() };
        let areas = self.f.atlas.data.layer(crate::data::Layer::Territories);
        let on_land = |px: f32, py: f32| {
            use geo::Contains;
            let (lon, lat) = self.f.view.to_lonlat(f64::from(px), f64::from(py));
            let p = geo::Point::new(lon, lat);
            self.job
                .land
                .iter()
                .any(|&i| matches!(&areas[i].geometry, crate::data::Geometry::Areas(mp) if mp.contains(&p)))
        };
        let land_bound = !self.job.land.is_empty();
        let on_own = |px: f32, py: f32| {
            use geo::Contains;
            let (lon, lat) = self.f.view.to_lonlat(f64::from(px), f64::from(py));
            own.is_none_or(|mp| mp.contains(&geo::Point::new(lon, lat)))
        };
        let placed = shifts.into_iter().take(tries).enumerate().any(|(k, (dx, dy))| {
            // The first five positions are as before; farther ones keep the name on its
            // land, or over its own area.
            if k >= 5 && ((land_bound && !on_land(x + dx, y + dy)) || !on_own(x + dx, y + dy)) {
                return false;
            }
            let cx = x - m.width / 2.0 + dx;
            let base = y + (m.ascent - m.descent) / 2.0 + dy;
            self.try_at(cx, base)
        });
        // A promised range's or lake's name with no room level over it runs along its
        // length (between its two farthest points), as a range's name often does.
        placed || (self.promised() && tries > 1 && own.is_some_and(|mp| self.along(&self.axis(mp), false)))
    }

    /// The long axis of an area in px: the segment between its two farthest outline points,
    /// west to east, in ten steps.
    fn axis(&self, mp: &geo::MultiPolygon<f64>) -> Vec<(f32, f32)> {
        let all: Vec<&geo::Coord<f64>> = mp.0.iter().flat_map(|p| p.exterior().0.iter()).collect();
        // The farthest pair among at most about 500 of the outline's points (a quadratic search).
        let every = all.len().div_ceil(500).max(1);
        let pts: Vec<(f64, f64)> = all.iter().step_by(every).map(|c| self.f.view.to_px(c.x, c.y)).collect();
        let mut best = (0.0, (0.0, 0.0), (0.0, 0.0));
        for (i, a) in pts.iter().enumerate() {
            for b in &pts[i + 1..] {
                let d = (a.0 - b.0).hypot(a.1 - b.1);
                if d > best.0 {
                    best = (d, *a, *b);
                }
            }
        }
        let (a, b) = if best.1 .0 <= best.2 .0 { (best.1, best.2) } else { (best.2, best.1) };
        (0..=10)
            .map(|k| f64::from(k) / 10.0)
            .map(|t| ((a.0 + (b.0 - a.0) * t) as f32, (a.1 + (b.1 - a.1) * t) as f32))
            .collect()
    }

    /// Along a pixel polyline; a promised name also tries a smoothed line and positions
    /// just above and below it. Returns whether any copy was placed.
    fn along(&mut self, pts: &[(f32, f32)], repeat: bool) -> bool {
        let (f, job) = (self.f, self.job);
        let m = f.fonts.measure(&job.text, &job.style);
        let mut lines = vec![pts.to_vec()];
        let mut offsets = vec![0.0];
        let mut tries = vec![0.5, 0.3, 0.7, 0.15, 0.85, 0.05, 0.95];
        if self.promised() {
            lines.push(smoothed(pts, job.style.size_px * 0.6));
            offsets.extend([0.55, -0.55, 1.0, -1.0].map(|k| k * job.style.size_px));
            tries.extend((0..=20).map(|k| k as f32 / 20.0));
        }
        let mut placed_at: Vec<f32> = Vec::new();
        for line in &lines {
            let len = super::paint::polyline_length(line);
            let free = len - m.width;
            if free < m.width * 0.3 {
                continue;
            }
            let wanted = if repeat && len > m.width * 5.0 { 2 } else { 1 };
            let along = f.fonts.text_on_path(&job.text, line, &job.style);
            for &offset in &offsets {
                for &t in &tries {
                    if placed_at.len() >= wanted {
                        return true;
                    }
                    let start = free * t;
                    if placed_at.iter().any(|p| (p - start).abs() < m.width * 2.5) {
                        continue;
                    }
                    let boxed = |g: &[super::text::PlacedGlyph]| f.fonts.placed_boxes(g, &job.style);
                    let Some(placed) = along.as_ref().and_then(|a| a.place_boxed(start, offset, boxed)) else {
                        continue;
                    };
                    let (glyphs, boxes) = &*placed;
                    if self.placer.try_place(boxes) {
                        self.canvas.glyphs(&job.text, glyphs, &job.style);
                        self.keep(boxes, false);
                        placed_at.push(start);
                    }
                }
            }
            if !placed_at.is_empty() {
                return true;
            }
        }
        !placed_at.is_empty()
    }
}

/// A line simplified to `tol` px (Douglas–Peucker) and its corners rounded twice
/// (Chaikin), for laying a name along a river too wiggly to carry it as drawn.
fn smoothed(pts: &[(f32, f32)], tol: f32) -> Vec<(f32, f32)> {
    use geo::Simplify;
    let line: geo::LineString<f64> = pts.iter().map(|p| (f64::from(p.0), f64::from(p.1))).collect();
    let mut out: Vec<(f32, f32)> = line.simplify(f64::from(tol)).0.iter().map(|c| (c.x as f32, c.y as f32)).collect();
    for _ in 0..2 {
        if out.len() < 3 {
            break;
        }
        let mut next = vec![out[0]];
        for w in out.windows(2) {
            let (a, b) = (w[0], w[1]);
            next.push((0.75 * a.0 + 0.25 * b.0, 0.75 * a.1 + 0.25 * b.1));
            next.push((0.25 * a.0 + 0.75 * b.0, 0.25 * a.1 + 0.75 * b.1));
        }
        next.push(out[out.len() - 1]);
        out = next;
    }
    out
}

/// How far box `b` stands from the polyline `pts`, px (0 where the line crosses it).
fn line_gap(b: &[f32; 4], pts: &[(f32, f32)]) -> f32 {
    let gap = |p: Point| box_gap(b, p);
    let corners = [(b[0], b[1]), (b[2], b[1]), (b[0], b[3]), (b[2], b[3])];
    let mut best = f32::INFINITY;
    for s in pts.windows(2) {
        let (p, q) = (s[0], s[1]);
        let (dx, dy) = (q.0 - p.0, q.1 - p.1);
        let len2 = dx * dx + dy * dy;
        // The segment's points nearest each corner, and its ends.
        let mut d = gap(p).min(gap(q));
        if len2 > 0.0 {
            for c in corners {
                let t = (((c.0 - p.0) * dx + (c.1 - p.1) * dy) / len2).clamp(0.0, 1.0);
                d = d.min(gap((p.0 + t * dx, p.1 + t * dy)));
            }
        }
        best = best.min(d);
    }
    best
}

/// A thin line from a marker to its displaced label, in the label's colour over a halo.
fn leader_line(f: &Frame, canvas: &mut dyn Canvas, from: (f32, f32), to: (f32, f32), style: &TextStyle) {
    let mut pb = tiny_skia::PathBuilder::new();
    pb.move_to(from.0, from.1);
    pb.line_to(to.0, to.1);
    let Some(path) = pb.finish() else { return };
    let w = f.px(0.5);
    if let Some((halo, hw)) = style.halo {
        let c = halo.to_color_u8();
        let ink = super::canvas::Ink::new(crate::style::Rgba(c.red(), c.green(), c.blue(), c.alpha()), 1.0);
        canvas.stroke_path(&path, ink, &super::paint::stroke(w + hw, &[]));
    }
    let c = style.color.to_color_u8();
    let ink = super::canvas::Ink::new(crate::style::Rgba(c.red(), c.green(), c.blue(), c.alpha()), 0.9);
    canvas.stroke_path(&path, ink, &super::paint::stroke(w, &[]));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grid_of_boxes_answers_as_a_search_of_every_box() {
        check_boxes(400, 1);
    }

    #[test]
    fn boxes_filed_in_trees_answer_as_a_search_of_every_box() {
        // Past DENSE_BOXES the boxes go into R-trees, merged as they grow: 20,000 boxes
        // make several filings and merges, with questions asked between them.
        let boxes = check_boxes(20_000, 97);
        assert!(!boxes.trees.is_empty() && boxes.trees.len() < 6, "{} trees", boxes.trees.len());
        assert!(boxes.cover.is_some(), "a crowded frame has its pixels covered");
    }

    #[test]
    fn a_covered_pixel_answers_only_for_a_box_that_meets_the_question() {
        // Boxes on and off whole pixels; questions that touch a side, stop short of it by
        // a hair, or fall in a box's edge pixels that are not wholly inside it.
        let mut cover = Cover::new(&[0.0, 0.0, 100.0, 50.0]).expect("a cover");
        let boxes =
            [[10.0, 10.0, 20.0, 12.0], [30.4, 5.2, 32.6, 9.9], [63.0, 0.0, 129.0, 1.0], [-5.0, 40.0, 2.0, 80.0]];
        boxes.iter().for_each(|b| cover.add(b));
        let meets = |q: &[f32; 4]| boxes.iter().any(|b| b[0] <= q[2] && b[2] >= q[0] && b[1] <= q[3] && b[3] >= q[1]);
        let questions = [
            [12.0, 10.5, 14.0, 11.0],  // inside the first box
            [20.0, 11.0, 25.0, 11.5],  // touches its right side (left to the search)
            [20.01, 11.0, 25.0, 11.5], // just past it
            [0.0, 0.0, 9.99, 30.0],    // just short of its left side
            [30.0, 6.0, 30.5, 7.0],    // in the second box's edge pixel only
            [31.0, 6.0, 31.2, 9.0],    // in one of its whole pixels
            [64.5, 0.2, 64.6, 0.3],    // a box one pixel high across words of bits
            [120.0, 0.0, 130.0, 1.0],  // beyond the frame
            [0.0, 45.0, 1.5, 46.0],    // a box from outside the frame
            [f32::NAN, 0.0, 5.0, 5.0],
        ];
        for q in &questions {
            // Sure hits only: a pixel met is inside a box met.
            assert!(!cover.meets(q) || meets(q), "{q:?}");
        }
        let met: Vec<bool> = questions.iter().map(|q| cover.meets(q)).collect();
        assert_eq!(met, [true, false, false, false, false, true, true, false, true, false]);
        // A frame too large for its bits, or that is no number, has no cover.
        assert!(Cover::new(&[0.0, 0.0, 1e5, 1e5]).is_none() && Cover::new(&[f32::NAN, 0.0, 1.0, 1.0]).is_none());
    }

    /// Insert `n` boxes (small and large ones, some past the cells a box is filed under,
    /// some with a side that is no number, corners in either order), asking ten questions
    /// after every `every`-th: [`Boxes::any`] finds a box meeting the question exactly
    /// when one of all does.
    fn check_boxes(n: usize, every: usize) -> Boxes {
        let mut seed = 0x2545_f491_u32;
        let mut rnd = move || {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            f32::from(seed as u16) / f32::from(u16::MAX)
        };
        // Boxes fall inside, across and outside the frame of its cover.
        let mut boxes = Boxes::within([-50.0, -40.0, 1000.5, 700.0]);
        let mut all: Vec<[f32; 4]> = Vec::new();
        for k in 0..n {
            let (x, y) = (rnd() * 1200.0 - 100.0, rnd() * 900.0 - 100.0);
            let (w, h) = if k % 37 == 0 { (rnd() * 900.0, rnd() * 700.0) } else { (rnd() * 60.0, rnd() * 16.0) };
            let mut b = if k % 2 == 0 { [x, y, x + w, y + h] } else { [x + w, y + h, x, y] };
            if k % 101 == 0 {
                b[1] = f32::NAN;
            }
            boxes.insert(b);
            all.push(corners(b));
            if k % every != 0 {
                continue;
            }
            for _ in 0..10 {
                let (qx, qy) = (rnd() * 1300.0 - 150.0, rnd() * 1000.0 - 150.0);
                let q = corners([qx, qy, qx + rnd() * 90.0 - 20.0, qy + rnd() * 30.0 - 5.0]);
                let meets = |b: &[f32; 4]| b[0] <= q[2] && b[2] >= q[0] && b[1] <= q[3] && b[3] >= q[1];
                assert_eq!(boxes.any(q, |_| true), all.iter().any(meets), "box {k}, question {q:?}");
                assert_eq!(boxes.hits(q), all.iter().any(meets), "box {k}, question {q:?}");
                let wide = |b: &[f32; 4]| b[2] - b[0] > 30.0;
                assert_eq!(boxes.any(q, wide), all.iter().any(|b| meets(b) && wide(b)), "box {k}, question {q:?}");
            }
        }
        // A question over more cells than a box is filed under looks at every box.
        let huge = [-1e6, -1e6, 1e6, 1e6];
        assert_eq!(boxes.any(huge, |_| true), all.iter().any(|b| b.iter().all(|v| !v.is_nan())));
        boxes
    }

    #[test]
    fn placer_refuses_overlaps_and_frame_edges() {
        let mut p = LabelPlacer::new([0.0, 0.0, 100.0, 100.0]);
        assert!(p.try_place(&[[10.0, 10.0, 30.0, 20.0]]));
        assert!(!p.try_place(&[[25.0, 15.0, 40.0, 25.0]]), "overlaps the first");
        assert!(p.try_place(&[[30.0, 10.0, 40.0, 20.0]]), "touching is allowed");
        assert!(!p.try_place(&[[95.0, 10.0, 105.0, 20.0]]), "outside the frame");
        p.add_obstacle([50.0, 50.0, 60.0, 60.0]);
        assert!(!p.try_place(&[[55.0, 55.0, 70.0, 58.0]]), "covers an obstacle");
        assert_eq!(p.placed().len(), 2);
        for (i, a) in p.placed().iter().enumerate() {
            for b in &p.placed()[i + 1..] {
                assert!(!overlaps(a, b));
            }
        }
    }
}
