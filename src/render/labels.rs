//! Label placement: candidates in priority order, collision through an R-tree of placed
//! boxes and obstacles (markers, furniture), nothing outside the frame.

use super::canvas::Canvas;
use super::text::TextStyle;
use super::Frame;
use rstar::primitives::Rectangle;
use rstar::{RTree, AABB};

/// Places label boxes so that none overlaps another, an obstacle, or the frame's edge.
pub struct LabelPlacer {
    frame: [f32; 4],
    tree: RTree<Rectangle<[f32; 2]>>,
    placed: Vec<[f32; 4]>,
}

impl LabelPlacer {
    /// A placer for labels inside `frame` `[x0, y0, x1, y1]`.
    pub fn new(frame: [f32; 4]) -> LabelPlacer {
        LabelPlacer { frame, tree: RTree::new(), placed: Vec::new() }
    }

    /// Reserve a box that labels must not cover (a marker, the legend).
    pub fn add_obstacle(&mut self, b: [f32; 4]) {
        self.tree.insert(Rectangle::from_corners([b[0], b[1]], [b[2], b[3]]));
    }

    /// Would all `boxes` fit: inside the frame and clear of everything placed so far?
    pub fn fits(&self, boxes: &[[f32; 4]]) -> bool {
        boxes.iter().all(|b| {
            let inside =
                b[0] >= self.frame[0] && b[1] >= self.frame[1] && b[2] <= self.frame[2] && b[3] <= self.frame[3];
            // Boxes that only touch do not collide.
            let env = AABB::from_corners([b[0] + 0.01, b[1] + 0.01], [b[2] - 0.01, b[3] - 0.01]);
            inside && self.tree.locate_in_envelope_intersecting(&env).next().is_none()
        })
    }

    /// Place `boxes` (one label) if they fit; returns whether they were placed.
    pub fn try_place(&mut self, boxes: &[[f32; 4]]) -> bool {
        if boxes.is_empty() || !self.fits(boxes) {
            return false;
        }
        for b in boxes {
            self.tree.insert(Rectangle::from_corners([b[0], b[1]], [b[2], b[3]]));
        }
        // One label's glyph boxes count as one label box for callers.
        let mut u = boxes[0];
        for b in &boxes[1..] {
            u = [u[0].min(b[0]), u[1].min(b[1]), u[2].max(b[2]), u[3].max(b[3])];
        }
        self.placed.push(u);
        true
    }

    /// The union box of every placed label.
    pub fn placed(&self) -> &[[f32; 4]] {
        &self.placed
    }
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

/// A label waiting to be placed.
pub(crate) struct LabelJob {
    /// Higher goes first.
    pub priority: i32,
    pub text: String,
    pub style: TextStyle,
    pub anchor: Anchor,
}

/// A label the placer kept: its text and the box around all of it, px.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct PlacedLabel {
    /// The text drawn.
    pub text: String,
    /// `[x0, y0, x1, y1]` around the whole label, halo included.
    pub bbox: [f32; 4],
}

/// Place labels by priority and draw those that fit; returns what was placed.
pub(crate) fn place_and_draw(
    f: &Frame,
    canvas: &mut dyn Canvas,
    placer: &mut LabelPlacer,
    mut jobs: Vec<LabelJob>,
) -> Vec<PlacedLabel> {
    jobs.sort_by_key(|j| std::cmp::Reverse(j.priority));
    let mut placed = Vec::new();
    let mut keep = |text: &str, boxes: &[[f32; 4]]| {
        let mut b = [f32::INFINITY, f32::INFINITY, f32::NEG_INFINITY, f32::NEG_INFINITY];
        for r in boxes {
            b = [b[0].min(r[0]), b[1].min(r[1]), b[2].max(r[2]), b[3].max(r[3])];
        }
        placed.push(PlacedLabel { text: text.to_string(), bbox: b });
    };
    for job in jobs {
        if job.text.trim().is_empty() {
            continue;
        }
        let m = f.fonts.measure(&job.text, &job.style);
        let halo = job.style.halo.map(|h| h.1).unwrap_or(0.0);
        let boxed = |x: f32, base: f32| [x - halo, base - m.ascent - halo, x + m.width + halo, base + m.descent + halo];
        match &job.anchor {
            Anchor::Point { x, y, r } => {
                let gap = r + job.style.size_px * 0.25;
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
                for (cx, base) in candidates {
                    if placer.try_place(&[boxed(cx, base)]) {
                        canvas.text(&job.text, cx, base, &job.style);
                        keep(&job.text, &[boxed(cx, base)]);
                        break;
                    }
                }
            }
            Anchor::Centre { x, y } => {
                let h = m.ascent + m.descent;
                let shifts = [(0.0, 0.0), (0.0, -h), (0.0, h), (-m.width / 4.0, 0.0), (m.width / 4.0, 0.0)];
                let tries = if f.opts.seamless_labels { 1 } else { shifts.len() };
                for (dx, dy) in shifts.into_iter().take(tries) {
                    let cx = x - m.width / 2.0 + dx;
                    let base = y + (m.ascent - m.descent) / 2.0 + dy;
                    if placer.try_place(&[boxed(cx, base)]) {
                        canvas.text(&job.text, cx, base, &job.style);
                        keep(&job.text, &[boxed(cx, base)]);
                        break;
                    }
                }
            }
            Anchor::Path { pts, repeat } => {
                let len = super::paint::polyline_length(pts);
                let free = len - m.width;
                if free < m.width * 0.3 {
                    continue;
                }
                let mut placed_at: Vec<f32> = Vec::new();
                let wanted = if *repeat && len > m.width * 5.0 { 2 } else { 1 };
                for t in [0.5, 0.3, 0.7, 0.15, 0.85, 0.05, 0.95] {
                    if placed_at.len() >= wanted {
                        break;
                    }
                    let start = free * t;
                    if placed_at.iter().any(|p| (p - start).abs() < m.width * 2.5) {
                        continue;
                    }
                    let Some(glyphs) = f.fonts.layout_on_path(&job.text, pts, start, &job.style) else {
                        continue;
                    };
                    let boxes = f.fonts.placed_boxes(&glyphs, &job.style);
                    if placer.try_place(&boxes) {
                        canvas.glyphs(&job.text, &glyphs, &job.style);
                        keep(&job.text, &boxes);
                        placed_at.push(start);
                    }
                }
            }
        }
    }
    placed
}

#[cfg(test)]
mod tests {
    use super::*;

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
