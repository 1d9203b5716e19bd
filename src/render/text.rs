//! Text rendering for map labels with the embedded DejaVu fonts.
//!
//! Glyph outlines come from `ab_glyph` (font units, y up), are converted once
//! per `(Face, GlyphId)` into a [`tiny_skia::Path`] and cached; every draw call
//! transforms the cached outlines into pixel space (scale, flip y, rotate,
//! translate), merges the glyphs of one label into a single path and paints it
//! with `tiny-skia`: the halo (a stroked outline with round joins) first, then
//! the fill, both anti-aliased.
//!
//! Sizes follow the `ab_glyph` convention: `size_px` is the [`PxScale`] of the
//! font, i.e. the distance from the font's ascent line to its descent line, so
//! `ascent + descent == size_px` and the em square is about `0.86 × size_px`
//! for DejaVu.
//!
//! Only simple left-to-right scripts (Latin, Cyrillic incl. Kazakh letters)
//! are supported: characters map one-to-one to glyphs, with pair kerning from
//! the fonts' `kern` table and optional letter spacing. Characters missing
//! from a face are drawn as its `.notdef` glyph.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

use ab_glyph::{Font, FontRef, GlyphId, OutlineCurve, PxScale, ScaleFont};
use tiny_skia::{Color, FillRule, LineJoin, Paint, Path, PathBuilder, Pixmap, Stroke, Transform};

/// Largest allowed change of direction between neighbouring glyphs placed
/// along a path (radians, 28°).
const MAX_BEND: f32 = 28.0 * std::f32::consts::PI / 180.0;

/// Largest allowed tilt of a single glyph placed along a path (radians, 110°);
/// beyond it the glyph would read upside down.
const MAX_TILT: f32 = 110.0 * std::f32::consts::PI / 180.0;

/// A glyph whose chord along the path is shorter than this fraction of its
/// advance sits on a hairpin bend and is rejected.
const MIN_CHORD_RATIO: f32 = 0.7;

/// A typeface from the embedded DejaVu family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Face {
    /// DejaVu Sans.
    Sans,
    /// DejaVu Sans Bold.
    SansBold,
    /// DejaVu Sans Oblique.
    SansItalic,
    /// DejaVu Sans Bold Oblique.
    SansBoldItalic,
    /// DejaVu Serif.
    Serif,
    /// DejaVu Serif Bold.
    SerifBold,
    /// DejaVu Serif Italic.
    SerifItalic,
    /// DejaVu Serif Bold Italic.
    SerifBoldItalic,
    /// DejaVu Sans Condensed.
    Condensed,
    /// DejaVu Sans Condensed Bold.
    CondensedBold,
}

impl Face {
    /// Every face, in declaration order.
    pub const ALL: [Face; 10] = [
        Face::Sans,
        Face::SansBold,
        Face::SansItalic,
        Face::SansBoldItalic,
        Face::Serif,
        Face::SerifBold,
        Face::SerifItalic,
        Face::SerifBoldItalic,
        Face::Condensed,
        Face::CondensedBold,
    ];

    /// Position of the face in [`Face::ALL`].
    fn index(self) -> usize {
        self as usize
    }

    /// The embedded TrueType data of the face.
    fn data(self) -> &'static [u8] {
        match self {
            Face::Sans => dejavu::sans::regular(),
            Face::SansBold => dejavu::sans::bold(),
            Face::SansItalic => dejavu::sans::oblique(),
            Face::SansBoldItalic => dejavu::sans::bold_oblique(),
            Face::Serif => dejavu::serif::regular(),
            Face::SerifBold => dejavu::serif::bold(),
            Face::SerifItalic => dejavu::serif::italic(),
            Face::SerifBoldItalic => dejavu::serif::bold_italic(),
            Face::Condensed => dejavu::sans_condensed::regular(),
            Face::CondensedBold => dejavu::sans_condensed::bold(),
        }
    }
}

/// How to draw a run of text (all sizes in pixels).
#[derive(Clone, Debug)]
pub struct TextStyle {
    /// Typeface.
    pub face: Face,
    /// Font size in px (`ab_glyph` [`PxScale`]: ascent line to descent line).
    pub size_px: f32,
    /// Fill colour of the glyphs.
    pub color: Color,
    /// Halo colour and width in px (drawn as a stroked outline under the fill, round joins).
    pub halo: Option<(Color, f32)>,
    /// Extra space after each character, px (for letter-spaced area names).
    pub letter_spacing_px: f32,
}

impl TextStyle {
    /// A style with the given face, size and colour, no halo and no letter spacing.
    pub fn new(face: Face, size_px: f32, color: Color) -> Self {
        TextStyle { face, size_px, color, halo: None, letter_spacing_px: 0.0 }
    }

    /// Whether the size is usable (finite and positive).
    fn is_drawable(&self) -> bool {
        self.size_px.is_finite() && self.size_px > 0.0
    }

    /// Halo width if a visible halo is requested.
    fn halo_width(&self) -> f32 {
        match self.halo {
            Some((_, w)) if w.is_finite() && w > 0.0 => w,
            _ => 0.0,
        }
    }
}

/// Size of a laid-out line: width, and ascent/descent above/below the baseline (both >= 0), px.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TextMetrics {
    /// Advance width of the whole line, kerning and letter spacing included.
    pub width: f32,
    /// Distance from the baseline up to the font's ascent line.
    pub ascent: f32,
    /// Distance from the baseline down to the font's descent line.
    pub descent: f32,
}

/// One glyph placed along a path: its origin on the baseline (px) and rotation (radians).
#[derive(Clone, Debug)]
pub struct PlacedGlyph {
    /// The character drawn.
    pub ch: char,
    /// X of the glyph origin (left end of its baseline), px.
    pub x: f32,
    /// Y of the glyph origin (left end of its baseline), px.
    pub y: f32,
    /// Rotation about the origin, radians, clockwise positive (screen coordinates, y down).
    pub angle: f32,
    /// Distance along the baseline to the next glyph's origin (advance, kerning and
    /// letter spacing), px.
    pub advance: f32,
}

/// One parsed face and its outline cache.
struct FaceSlot {
    /// The parsed font.
    font: FontRef<'static>,
    /// Height of the lower-case `x` in font units.
    x_height: f32,
    /// Glyph outlines in font units (y up); `None` for empty glyphs such as space.
    outlines: RwLock<HashMap<GlyphId, Option<Arc<Path>>>>,
}

/// The embedded fonts with a glyph-outline cache; Send + Sync, shared by all threads.
pub struct Fonts {
    /// One slot per face, indexed by [`Face::index`].
    faces: Vec<FaceSlot>,
}

/// A glyph of a laid-out line.
struct LineGlyph {
    /// Character.
    ch: char,
    /// Glyph id (`.notdef` for missing characters).
    id: GlyphId,
    /// Pen position from the start of the line, px.
    x: f32,
    /// Advance to the next glyph incl. kerning and letter spacing, px.
    advance: f32,
}

/// Pixel scale of a face at a size.
#[derive(Clone, Copy)]
struct Scale {
    /// Horizontal font units → px.
    sx: f32,
    /// Vertical font units → px.
    sy: f32,
    /// Ascent above the baseline, px (>= 0).
    ascent: f32,
    /// Descent below the baseline, px (>= 0).
    descent: f32,
}

impl Fonts {
    /// Parse every embedded face.
    fn new() -> Fonts {
        let faces = Face::ALL
            .iter()
            .map(|&face| {
                let font =
                    FontRef::try_from_slice(face.data()).expect("the embedded DejaVu fonts are valid TrueType files");
                let x_height = font
                    .outline(font.glyph_id('x'))
                    .map(|o| o.bounds.max.y)
                    .filter(|h| *h > 0.0)
                    .unwrap_or_else(|| 0.5 * font.ascent_unscaled());
                FaceSlot { font, x_height, outlines: RwLock::new(HashMap::new()) }
            })
            .collect();
        Fonts { faces }
    }

    /// The process-wide instance (OnceLock), parsed once.
    pub fn embedded() -> &'static Fonts {
        static FONTS: OnceLock<Fonts> = OnceLock::new();
        FONTS.get_or_init(Fonts::new)
    }

    /// Whether `face` has a real glyph (not `.notdef`) for `ch`.
    pub fn has_glyph(&self, face: Face, ch: char) -> bool {
        self.slot(face).font.glyph_id(ch).0 != 0
    }

    /// Measure one line of text (kerning and letter spacing included; cap-height-ish ascent from the font's ascent scaled, descent likewise).
    ///
    /// The width is the sum of the advances, so it includes the letter spacing
    /// after the last character. A style with a non-positive or non-finite size
    /// measures as all zeros.
    pub fn measure(&self, text: &str, style: &TextStyle) -> TextMetrics {
        if !style.is_drawable() {
            return TextMetrics { width: 0.0, ascent: 0.0, descent: 0.0 };
        }
        let scale = self.scale(style);
        let (_, width) = self.layout_line(text, style);
        TextMetrics { width, ascent: scale.ascent, descent: scale.descent }
    }

    /// Draw one line with its left end at x and its baseline at y: halo (if any) first, then fill. Anti-aliased.
    pub fn draw(&self, pixmap: &mut Pixmap, text: &str, x: f32, y: f32, style: &TextStyle) {
        if !style.is_drawable() {
            return;
        }
        self.draw_line(pixmap, text, Transform::from_translate(x, y), style);
    }

    /// Draw one line rotated by `angle` radians (clockwise positive in screen coordinates, y down) about its centre, centred on (cx, cy) (the centre of the box from -ascent to +descent).
    ///
    /// Horizontally the centre is that of the advance width without the letter
    /// spacing after the last character, so letter-spaced labels stay centred.
    pub fn draw_rotated(&self, pixmap: &mut Pixmap, text: &str, cx: f32, cy: f32, angle: f32, style: &TextStyle) {
        if !style.is_drawable() {
            return;
        }
        let m = self.measure(text, style);
        let spacing = if text.is_empty() { 0.0 } else { style.letter_spacing_px };
        let half_w = 0.5 * (m.width - spacing);
        let mid_y = 0.5 * (m.descent - m.ascent);
        let (sin, cos) = angle.sin_cos();
        let ts = Transform::from_row(cos, sin, -sin, cos, cx, cy).pre_translate(-half_w, -mid_y);
        self.draw_line(pixmap, text, ts, style);
    }

    /// Lay text along a polyline (pixel coordinates), starting `start` px along it, for river names. Reverses the direction so the text reads left to right (upright). Returns None when the path is too short or bends too sharply under the text (more than ~25–30 degrees between neighbouring glyphs). Glyphs sit centred on the line (baseline shifted down by about a third of the x-height so the text is centred on the river) — or offset above by `offset_px` if you add such a parameter; document it.
    ///
    /// Details:
    /// * The text covers the stretch `[start, start + width]` of the path *as
    ///   given* (`width` from [`Fonts::measure`]), whichever way it ends up
    ///   reading; if that stretch runs right to left, the glyphs are laid from
    ///   its other end.
    /// * The baseline is shifted half the x-height below the line, so lower-case
    ///   letters are centred on it. See [`Fonts::layout_on_path_offset`] to lift
    ///   the text off the line.
    /// * Each glyph is rotated to the chord of the path under it; the layout is
    ///   rejected (`None`) when neighbouring glyphs differ by more than 28°, a
    ///   glyph would be tilted by more than 110° (upside down), the path folds
    ///   back under a single glyph, `start` is negative, the path is shorter
    ///   than `start + width`, or the text is empty.
    pub fn layout_on_path(
        &self,
        text: &str,
        path: &[(f32, f32)],
        start: f32,
        style: &TextStyle,
    ) -> Option<Vec<PlacedGlyph>> {
        self.layout_on_path_offset(text, path, start, 0.0, style)
    }

    /// Like [`Fonts::layout_on_path`], with the text moved `offset_px` px
    /// perpendicular to the path towards the top of the glyphs (above the line
    /// for upright text; negative values move it below). With
    /// `offset_px = 0` the text is centred on the line; to make the text sit
    /// just above the line use about `x_height / 2 + gap`, e.g.
    /// `0.3 * size_px + gap`.
    pub fn layout_on_path_offset(
        &self,
        text: &str,
        path: &[(f32, f32)],
        start: f32,
        offset_px: f32,
        style: &TextStyle,
    ) -> Option<Vec<PlacedGlyph>> {
        if !style.is_drawable() || text.is_empty() || !start.is_finite() || start < 0.0 {
            return None;
        }
        let (glyphs, width) = self.layout_line(text, style);
        if !width.is_finite() || width <= 0.0 {
            return None;
        }
        let line = Polyline::new(path)?;
        let end = start + width;
        if end > line.length() {
            return None;
        }
        let a = line.point_at(start);
        let b = line.point_at(end);
        let reversed = b.0 < a.0;
        // Distance along the path as given for a distance along the text.
        let at = |d: f32| {
            if reversed {
                line.point_at(end - d)
            } else {
                line.point_at(start + d)
            }
        };
        let slot = self.slot(style.face);
        let scale = self.scale(style);
        let shift = 0.5 * slot.x_height * scale.sy - offset_px;

        let mut placed = Vec::with_capacity(glyphs.len());
        let mut prev_angle: Option<f32> = None;
        for g in &glyphs {
            let p0 = at(g.x);
            let p1 = at(g.x + g.advance);
            let (dx, dy) = (p1.0 - p0.0, p1.1 - p0.1);
            let chord = dx.hypot(dy);
            let angle = if chord > 1e-3 {
                if g.advance > 1.0 && chord < MIN_CHORD_RATIO * g.advance.abs() {
                    return None;
                }
                dy.atan2(dx)
            } else {
                // Zero-width glyph: use the direction of the path just after it.
                let q = at(g.x + 0.5);
                let q0 = at((g.x - 0.5).max(0.0));
                (q.1 - q0.1).atan2(q.0 - q0.0)
            };
            if angle.abs() > MAX_TILT {
                return None;
            }
            if let Some(prev) = prev_angle {
                if wrap_angle(angle - prev).abs() > MAX_BEND {
                    return None;
                }
            }
            prev_angle = Some(angle);
            let (sin, cos) = angle.sin_cos();
            // Move the origin along the glyph's "down" normal (-sin, cos).
            placed.push(PlacedGlyph {
                ch: g.ch,
                x: p0.0 - sin * shift,
                y: p0.1 + cos * shift,
                angle,
                advance: g.advance,
            });
        }
        Some(placed)
    }

    /// Axis-aligned pixel boxes [x0, y0, x1, y1] covering each placed glyph (for label collision).
    ///
    /// One box per glyph, in order. Each covers the glyph's cell (advance ×
    /// ascent..descent) and its ink, rotated; the halo is *not* included, so pad
    /// the boxes by the halo width if it must not touch other labels.
    pub fn placed_boxes(&self, glyphs: &[PlacedGlyph], style: &TextStyle) -> Vec<[f32; 4]> {
        if !style.is_drawable() {
            return glyphs.iter().map(|g| [g.x, g.y, g.x, g.y]).collect();
        }
        let slot = self.slot(style.face);
        let scale = self.scale(style);
        glyphs
            .iter()
            .map(|g| {
                // Local box: x right along the baseline, y down.
                let (mut x0, mut y0, mut x1, mut y1) = (0.0f32, -scale.ascent, g.advance.max(0.0), scale.descent);
                if let Some(outline) = self.outline(style.face, slot.font.glyph_id(g.ch)) {
                    let b = outline.bounds();
                    x0 = x0.min(b.left() * scale.sx);
                    x1 = x1.max(b.right() * scale.sx);
                    y0 = y0.min(-b.bottom() * scale.sy);
                    y1 = y1.max(-b.top() * scale.sy);
                }
                let (sin, cos) = g.angle.sin_cos();
                let mut out = [f32::INFINITY, f32::INFINITY, f32::NEG_INFINITY, f32::NEG_INFINITY];
                for (lx, ly) in [(x0, y0), (x1, y0), (x1, y1), (x0, y1)] {
                    let px = g.x + cos * lx - sin * ly;
                    let py = g.y + sin * lx + cos * ly;
                    out[0] = out[0].min(px);
                    out[1] = out[1].min(py);
                    out[2] = out[2].max(px);
                    out[3] = out[3].max(py);
                }
                out
            })
            .collect()
    }

    /// Draw glyphs placed by `layout_on_path` (all halos first, then all fills, so a halo never covers a neighbouring glyph).
    pub fn draw_placed(&self, pixmap: &mut Pixmap, glyphs: &[PlacedGlyph], style: &TextStyle) {
        if !style.is_drawable() {
            return;
        }
        let slot = self.slot(style.face);
        let scale = self.scale(style);
        let mut paths = Vec::with_capacity(glyphs.len());
        for g in glyphs {
            if let Some(outline) = self.outline(style.face, slot.font.glyph_id(g.ch)) {
                let (sin, cos) = g.angle.sin_cos();
                let ts = Transform::from_row(cos, sin, -sin, cos, g.x, g.y).pre_scale(scale.sx, -scale.sy);
                paths.extend(Path::clone(&outline).transform(ts));
            }
        }
        paint_text(pixmap, &paths, style);
    }

    /// The slot of a face.
    fn slot(&self, face: Face) -> &FaceSlot {
        &self.faces[face.index()]
    }

    /// Pixel scale and vertical metrics of a style.
    fn scale(&self, style: &TextStyle) -> Scale {
        let scaled = self.slot(style.face).font.as_scaled(PxScale::from(style.size_px));
        let factor = scaled.scale_factor();
        Scale {
            sx: factor.horizontal,
            sy: factor.vertical,
            ascent: scaled.ascent().max(0.0),
            descent: (-scaled.descent()).max(0.0),
        }
    }

    /// Glyphs of one line with pen positions; returns them and the total width.
    fn layout_line(&self, text: &str, style: &TextStyle) -> (Vec<LineGlyph>, f32) {
        let font = &self.slot(style.face).font;
        let scaled = font.as_scaled(PxScale::from(style.size_px));
        let spacing = if style.letter_spacing_px.is_finite() { style.letter_spacing_px } else { 0.0 };
        let mut glyphs: Vec<LineGlyph> = Vec::with_capacity(text.len());
        let mut pen = 0.0f32;
        for ch in text.chars() {
            let id = font.glyph_id(ch);
            if let Some(prev) = glyphs.last_mut() {
                let kern = scaled.kern(prev.id, id);
                prev.advance += kern;
                pen += kern;
            }
            let advance = scaled.h_advance(id) + spacing;
            glyphs.push(LineGlyph { ch, id, x: pen, advance });
            pen += advance;
        }
        (glyphs, pen)
    }

    /// Draw a line whose local coordinates (x right from its left end, y down
    /// from the baseline, px) are mapped to the pixmap by `line_ts`.
    fn draw_line(&self, pixmap: &mut Pixmap, text: &str, line_ts: Transform, style: &TextStyle) {
        let scale = self.scale(style);
        let (glyphs, _) = self.layout_line(text, style);
        let mut paths = Vec::with_capacity(glyphs.len());
        for g in &glyphs {
            if let Some(outline) = self.outline(style.face, g.id) {
                let ts = line_ts.pre_translate(g.x, 0.0).pre_scale(scale.sx, -scale.sy);
                paths.extend(Path::clone(&outline).transform(ts));
            }
        }
        paint_text(pixmap, &paths, style);
    }

    /// The cached outline of a glyph in font units (y up); `None` if the glyph
    /// draws nothing.
    fn outline(&self, face: Face, id: GlyphId) -> Option<Arc<Path>> {
        let slot = self.slot(face);
        if let Some(cached) = slot.outlines.read().unwrap_or_else(PoisonError::into_inner).get(&id) {
            return cached.clone();
        }
        let built = build_outline(&slot.font, id).map(Arc::new);
        slot.outlines.write().unwrap_or_else(PoisonError::into_inner).entry(id).or_insert(built).clone()
    }
}

/// Convert an `ab_glyph` outline (flat list of curves, font units) into a path.
fn build_outline(font: &FontRef<'static>, id: GlyphId) -> Option<Path> {
    let outline = font.outline(id)?;
    let mut pb = PathBuilder::with_capacity(outline.curves.len() + 8, outline.curves.len() * 3);
    let mut last: Option<ab_glyph::Point> = None;
    for curve in &outline.curves {
        let first = match curve {
            OutlineCurve::Line(p, _) | OutlineCurve::Quad(p, _, _) | OutlineCurve::Cubic(p, ..) => *p,
        };
        if last != Some(first) {
            if last.is_some() {
                pb.close();
            }
            pb.move_to(first.x, first.y);
        }
        let end = match curve {
            OutlineCurve::Line(_, p) => {
                pb.line_to(p.x, p.y);
                *p
            }
            OutlineCurve::Quad(_, c, p) => {
                pb.quad_to(c.x, c.y, p.x, p.y);
                *p
            }
            OutlineCurve::Cubic(_, c1, c2, p) => {
                pb.cubic_to(c1.x, c1.y, c2.x, c2.y, p.x, p.y);
                *p
            }
        };
        last = Some(end);
    }
    if last.is_some() {
        pb.close();
    }
    pb.finish()
}

/// Paint glyph outlines (pixel space, one path per glyph): every halo first,
/// then every fill, so no halo covers a neighbouring glyph.
///
/// Glyphs are painted one by one rather than merged into one path: the
/// scan converter's cost grows with the number of edges crossing a scanline,
/// which would be the whole label's.
fn paint_text(pixmap: &mut Pixmap, paths: &[Path], style: &TextStyle) {
    let mut paint = Paint { anti_alias: true, ..Default::default() };
    if let Some((halo_color, _)) = style.halo {
        let width = style.halo_width();
        if width > 0.0 {
            paint.set_color(halo_color);
            let stroke = Stroke { width: 2.0 * width, line_join: LineJoin::Round, ..Default::default() };
            for path in paths {
                pixmap.stroke_path(path, &paint, &stroke, Transform::identity(), None);
            }
        }
    }
    paint.set_color(style.color);
    for path in paths {
        pixmap.fill_path(path, &paint, FillRule::Winding, Transform::identity(), None);
    }
}

/// Wrap an angle difference into [-π, π].
fn wrap_angle(a: f32) -> f32 {
    use std::f32::consts::{PI, TAU};
    let r = a.rem_euclid(TAU);
    if r > PI {
        r - TAU
    } else {
        r
    }
}

/// A polyline with cumulative lengths, for sampling points by distance.
struct Polyline {
    /// Vertices without non-finite points or repeated vertices.
    points: Vec<(f32, f32)>,
    /// Distance from the first vertex to each vertex.
    cumulative: Vec<f32>,
}

impl Polyline {
    /// Build from raw vertices; `None` with fewer than two distinct vertices.
    fn new(raw: &[(f32, f32)]) -> Option<Polyline> {
        let mut points: Vec<(f32, f32)> = Vec::with_capacity(raw.len());
        let mut cumulative = Vec::with_capacity(raw.len());
        for &(x, y) in raw {
            if !x.is_finite() || !y.is_finite() {
                continue;
            }
            match points.last() {
                None => cumulative.push(0.0),
                Some(&(px, py)) => {
                    let d = (x - px).hypot(y - py);
                    if d <= 1e-6 {
                        continue;
                    }
                    let total = cumulative.last().copied().unwrap_or(0.0);
                    cumulative.push(total + d);
                }
            }
            points.push((x, y));
        }
        (points.len() >= 2).then_some(Polyline { points, cumulative })
    }

    /// Total length.
    fn length(&self) -> f32 {
        self.cumulative.last().copied().unwrap_or(0.0)
    }

    /// The point `d` along the line (clamped to its ends).
    fn point_at(&self, d: f32) -> (f32, f32) {
        let n = self.points.len();
        // Index of the segment containing d: first vertex with cumulative > d.
        let i = self.cumulative.partition_point(|&c| c <= d).clamp(1, n - 1);
        let (c0, c1) = (self.cumulative[i - 1], self.cumulative[i]);
        let t = ((d - c0) / (c1 - c0)).clamp(0.0, 1.0);
        let (p0, p1) = (self.points[i - 1], self.points[i]);
        (p0.0 + (p1.0 - p0.0) * t, p0.1 + (p1.1 - p0.1) * t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn style(face: Face, size: f32) -> TextStyle {
        TextStyle::new(face, size, Color::from_rgba8(20, 40, 200, 255))
    }

    fn pixmap(w: u32, h: u32) -> Pixmap {
        Pixmap::new(w, h).expect("test pixmap size is non-zero")
    }

    /// Inked box [x0, y0, x1, y1) of pixels with alpha above `min_alpha`.
    fn ink_box(pm: &Pixmap, min_alpha: u8) -> Option<[f32; 4]> {
        let w = pm.width() as usize;
        let mut b: Option<[f32; 4]> = None;
        for (i, px) in pm.pixels().iter().enumerate() {
            if px.alpha() > min_alpha {
                let (x, y) = ((i % w) as f32, (i / w) as f32);
                b = Some(match b {
                    None => [x, y, x + 1.0, y + 1.0],
                    Some(r) => [r[0].min(x), r[1].min(y), r[2].max(x + 1.0), r[3].max(y + 1.0)],
                });
            }
        }
        b
    }

    fn pixel(pm: &Pixmap, x: u32, y: u32) -> tiny_skia::PremultipliedColorU8 {
        pm.pixel(x, y).expect("pixel inside the pixmap")
    }

    #[test]
    fn fonts_are_send_sync_and_shared() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Fonts>();
        assert!(std::ptr::eq(Fonts::embedded(), Fonts::embedded()));
    }

    #[test]
    fn kazakh_and_russian_letters_have_real_glyphs() {
        let fonts = Fonts::embedded();
        let text = "ӘәҒғҚқҢңӨөҰұҮүҺһІіЁё";
        for face in [Face::Sans, Face::SansBold, Face::SansItalic, Face::Serif, Face::SerifItalic] {
            for ch in text.chars() {
                assert!(fonts.has_glyph(face, ch), "{face:?} lacks {ch}");
                let id = fonts.slot(face).font.glyph_id(ch);
                assert!(fonts.outline(face, id).is_some(), "{face:?} {ch} has no outline");
            }
        }
        // Sanity check of the check itself: an unassigned code point is missing.
        assert!(!fonts.has_glyph(Face::Sans, '\u{E000}'));
    }

    #[test]
    fn missing_glyph_falls_back_to_notdef() {
        let fonts = Fonts::embedded();
        let st = style(Face::Serif, 20.0);
        let m = fonts.measure("\u{E000}", &st);
        assert!(m.width > 0.0);
        let mut pm = pixmap(60, 40);
        fonts.draw(&mut pm, "\u{E000}\u{10FFFF}", 5.0, 30.0, &st);
        assert!(ink_box(&pm, 0).is_some(), "notdef box should be drawn");
    }

    #[test]
    fn every_face_parses_and_draws() {
        let fonts = Fonts::embedded();
        for face in Face::ALL {
            let st = style(face, 16.0);
            let mut pm = pixmap(120, 30);
            fonts.draw(&mut pm, "Жетісу", 2.0, 20.0, &st);
            assert!(ink_box(&pm, 0).is_some(), "{face:?} drew nothing");
        }
    }

    #[test]
    fn face_deserializes_from_snake_case() {
        use serde::de::{value::StrDeserializer, IntoDeserializer};
        let de: StrDeserializer<'_, serde::de::value::Error> = "serif_bold_italic".into_deserializer();
        assert_eq!(<Face as serde::Deserialize>::deserialize(de), Ok(Face::SerifBoldItalic));
        let de: StrDeserializer<'_, serde::de::value::Error> = "condensed_bold".into_deserializer();
        assert_eq!(<Face as serde::Deserialize>::deserialize(de), Ok(Face::CondensedBold));
    }

    #[test]
    fn measure_grows_with_length_and_spacing() {
        let fonts = Fonts::embedded();
        let st = style(Face::Sans, 14.0);
        let short = fonts.measure("Sairam", &st);
        let long = fonts.measure("Sairam Nur", &st);
        assert!(long.width > short.width + 10.0);
        assert_eq!(fonts.measure("", &st).width, 0.0);

        let text = "Ұлы жүз";
        let n = text.chars().count() as f32;
        let plain = fonts.measure(text, &st);
        let spaced = fonts.measure(text, &TextStyle { letter_spacing_px: 3.0, ..st.clone() });
        assert!((spaced.width - plain.width - n * 3.0).abs() < 0.5);

        let w12 = fonts.measure("Turkistan", &style(Face::Sans, 12.0)).width;
        let w24 = fonts.measure("Turkistan", &style(Face::Sans, 24.0)).width;
        assert!((w24 - 2.0 * w12).abs() <= 1.0, "{w12} {w24}");
        assert!(w12 > 30.0 && w12 < 90.0, "implausible width {w12}");

        assert!(plain.ascent > plain.descent && plain.descent > 0.0);
        assert!((plain.ascent + plain.descent - 14.0).abs() < 0.01);
    }

    #[test]
    fn kerning_is_applied() {
        let fonts = Fonts::embedded();
        let st = style(Face::Sans, 40.0);
        let pair = fonts.measure("AV", &st).width;
        let single = fonts.measure("A", &st).width + fonts.measure("V", &st).width;
        assert!(pair < single - 0.5, "AV {pair} vs A+V {single}");
    }

    #[test]
    fn drawn_box_matches_measure() {
        let fonts = Fonts::embedded();
        let st = style(Face::Sans, 20.0);
        let (x, y) = (10.0, 40.0);
        let m = fonts.measure("Turkistan", &st);
        let mut pm = pixmap(200, 60);
        fonts.draw(&mut pm, "Turkistan", x, y, &st);
        let b = ink_box(&pm, 0).expect("text inked");
        assert!((b[0] - x).abs() <= 2.0, "left {b:?}");
        assert!((b[2] - (x + m.width)).abs() <= 2.0, "right {b:?} width {}", m.width);
        assert!(b[1] >= y - m.ascent - 1.0, "top {b:?} {m:?}");
        assert!(b[3] <= y + m.descent + 1.0, "bottom {b:?} {m:?}");
        // Not upside down: capitals reach well above the baseline, nothing much below.
        assert!(b[1] < y - 0.6 * m.ascent, "top {b:?}");
        assert!(b[3] <= y + 1.0, "no descenders in Turkistan {b:?}");

        // Descenders and accents stay inside the ascent/descent box too.
        let mut pm = pixmap(200, 60);
        fonts.draw(&mut pm, "Ёжгу Щий", x, y, &st);
        let b = ink_box(&pm, 0).expect("text inked");
        assert!(b[1] >= y - m.ascent - 1.0 && b[3] <= y + m.descent + 1.0, "{b:?}");
        assert!(b[3] > y + 2.0, "descenders below the baseline {b:?}");
    }

    #[test]
    fn halo_enlarges_box_and_has_halo_colour() {
        let fonts = Fonts::embedded();
        let plain = style(Face::SansBold, 24.0);
        let halo = 3.0;
        let haloed = TextStyle { halo: Some((Color::from_rgba8(255, 255, 255, 255), halo)), ..plain.clone() };
        let mut a = pixmap(200, 60);
        let mut b = pixmap(200, 60);
        fonts.draw(&mut a, "Ili", 20.0, 40.0, &plain);
        fonts.draw(&mut b, "Ili", 20.0, 40.0, &haloed);
        let ba = ink_box(&a, 0).expect("plain inked");
        let bb = ink_box(&b, 0).expect("haloed inked");
        for (i, sign) in [(0, -1.0), (1, -1.0), (2, 1.0), (3, 1.0)] {
            let grow = (bb[i] - ba[i]) * sign;
            assert!((grow - halo).abs() <= 1.0, "side {i}: {ba:?} -> {bb:?}");
        }
        // White halo pixels just left of the "I" stem, blue fill inside it.
        let mid_y = (ba[1] + ba[3]) as u32 / 2;
        let left = ba[0] as u32;
        let h = pixel(&b, left - 2, mid_y);
        assert!(h.alpha() > 200 && h.red() > 200 && h.green() > 200, "{h:?}");
        let f = pixel(&b, left + 2, mid_y);
        assert!(f.blue() > 150 && f.red() < 60, "{f:?}");
    }

    #[test]
    fn fill_colour_in_thick_glyph() {
        let fonts = Fonts::embedded();
        let st = TextStyle { halo: Some((Color::from_rgba8(255, 255, 255, 255), 2.0)), ..style(Face::Sans, 40.0) };
        let mut pm = pixmap(60, 60);
        fonts.draw(&mut pm, "I", 10.0, 45.0, &st);
        let b = ink_box(&pm, 0).expect("I inked");
        let (cx, cy) = (((b[0] + b[2]) / 2.0) as u32, ((b[1] + b[3]) / 2.0) as u32);
        let c = pixel(&pm, cx, cy);
        assert_eq!((c.red(), c.green(), c.blue(), c.alpha()), (20, 40, 200, 255));
    }

    #[test]
    fn halo_is_under_fill_of_neighbours() {
        // Letters squeezed together by negative letter spacing: the second
        // glyph's halo must not paint over the first glyph's fill.
        let fonts = Fonts::embedded();
        let st = TextStyle {
            halo: Some((Color::from_rgba8(255, 0, 0, 255), 4.0)),
            letter_spacing_px: -8.0,
            ..style(Face::SansBold, 40.0)
        };
        let count_fill = |pm: &Pixmap| pm.pixels().iter().filter(|px| px.alpha() == 255 && px.blue() == 200).count();
        let mut merged = pixmap(160, 60);
        fonts.draw(&mut merged, "ll", 10.0, 45.0, &st);
        let mut separate = pixmap(160, 60);
        fonts.draw(&mut separate, "l", 10.0, 45.0, &st);
        let second_x = 10.0 + fonts.measure("l", &st).width;
        fonts.draw(&mut separate, "l", second_x, 45.0, &st);
        let (m, s) = (count_fill(&merged), count_fill(&separate));
        assert!(m > s + 20, "merged drawing keeps more fill: {m} vs {s}");
        // Same for glyphs placed on a path.
        let glyphs = fonts.layout_on_path("ll", &[(0.0, 30.0), (150.0, 30.0)], 10.0, &st).expect("fits");
        let mut placed = pixmap(160, 60);
        fonts.draw_placed(&mut placed, &glyphs, &st);
        assert!(count_fill(&placed) > s + 20);
    }

    #[test]
    fn rotated_by_90_degrees_is_tall_and_centred() {
        let fonts = Fonts::embedded();
        let st = style(Face::Sans, 16.0);
        let (cx, cy) = (60.0, 70.0);
        let mut pm = pixmap(120, 140);
        fonts.draw_rotated(&mut pm, "Karatau", cx, cy, std::f32::consts::FRAC_PI_2, &st);
        let b = ink_box(&pm, 0).expect("inked");
        assert!(b[3] - b[1] > 2.0 * (b[2] - b[0]), "{b:?}");
        assert!(((b[1] + b[3]) / 2.0 - cy).abs() <= 2.0, "{b:?}");
        assert!(((b[0] + b[2]) / 2.0 - cx).abs() <= 2.0, "{b:?}");

        // Clockwise: the first letter ("K", tall) ends up at the top; its ascent
        // side faces right, so the ink right of centre is larger than left.
        let top_half: u32 =
            (0..70).flat_map(|y| (0..120).map(move |x| (x, y))).map(|(x, y)| u32::from(pixel(&pm, x, y).alpha())).sum();
        let bottom_half: u32 = (70..140)
            .flat_map(|y| (0..120).map(move |x| (x, y)))
            .map(|(x, y)| u32::from(pixel(&pm, x, y).alpha()))
            .sum();
        assert!(top_half > 0 && bottom_half > 0);
        let m = fonts.measure("Karatau", &st);
        // Baseline is at cx - (ascent - descent)/2 after a clockwise quarter turn;
        // glyph bodies lie to the right of it.
        let baseline_x = cx - 0.5 * (m.ascent - m.descent);
        assert!(b[0] >= baseline_x - 1.0, "{b:?} baseline {baseline_x}");
    }

    #[test]
    fn drawing_outside_the_pixmap_does_not_panic() {
        let fonts = Fonts::embedded();
        let st = TextStyle { halo: Some((Color::WHITE, 2.0)), ..style(Face::Serif, 30.0) };
        let mut pm = pixmap(50, 50);
        fonts.draw(&mut pm, "Outside", -500.0, -500.0, &st);
        fonts.draw(&mut pm, "Outside", 1e9, 1e9, &st);
        fonts.draw(&mut pm, "Partly", -20.0, 10.0, &st);
        fonts.draw_rotated(&mut pm, "Partly", 0.0, 0.0, 1.0, &st);
        fonts.draw(&mut pm, "", 10.0, 10.0, &st);
        fonts.draw(&mut pm, "NaN", f32::NAN, 10.0, &st);
        fonts.draw(&mut pm, "zero", 10.0, 10.0, &style(Face::Sans, 0.0));
        let glyphs = [PlacedGlyph { ch: 'x', x: -1e6, y: 3e7, angle: 0.3, advance: 10.0 }];
        fonts.draw_placed(&mut pm, &glyphs, &st);
    }

    fn straight_left(len: f32) -> Vec<(f32, f32)> {
        vec![(20.0 + len, 50.0), (20.0 + len / 2.0, 50.0), (20.0, 50.0)]
    }

    #[test]
    fn path_layout_reads_left_to_right_on_reversed_path() {
        let fonts = Fonts::embedded();
        let st = style(Face::SerifItalic, 14.0);
        let text = "Syr Darya";
        let m = fonts.measure(text, &st);
        let path = straight_left(300.0);
        let glyphs = fonts.layout_on_path(text, &path, 10.0, &st).expect("fits on a straight path");
        assert_eq!(glyphs.len(), text.chars().count());
        assert_eq!(glyphs.iter().map(|g| g.ch).collect::<String>(), text.to_string());
        for w in glyphs.windows(2) {
            assert!(w[1].x > w[0].x, "x must increase: {glyphs:?}");
            assert!((w[1].x - w[0].x - w[0].advance).abs() < 0.01);
        }
        for g in &glyphs {
            assert!(g.angle.abs() < 1e-3, "upright on a horizontal path: {g:?}");
            // Centred: baseline half the x-height below the line.
            assert!(g.y > 50.0 + 0.15 * 14.0 && g.y < 50.0 + 0.4 * 14.0, "{g:?}");
        }
        // Text covers [10, 10 + width] of the path as given (which runs right to left).
        let last = glyphs.last().expect("non-empty");
        assert!((last.x + last.advance - (320.0 - 10.0)).abs() < 0.01);
        assert!((glyphs[0].x - (320.0 - 10.0 - m.width)).abs() < 0.01);

        // Left-to-right path: same stretch semantics.
        let fwd: Vec<(f32, f32)> = path.iter().rev().copied().collect();
        let glyphs = fonts.layout_on_path(text, &fwd, 10.0, &st).expect("fits on a straight path");
        assert!((glyphs[0].x - 30.0).abs() < 0.01);

        // Offset lifts the text: baseline above the line by offset - x_height/2.
        let lifted = fonts.layout_on_path_offset(text, &fwd, 10.0, 10.0, &st).expect("fits");
        assert!((glyphs[0].y - lifted[0].y - 10.0).abs() < 0.01);
    }

    #[test]
    fn path_layout_upright_on_steep_path() {
        let fonts = Fonts::embedded();
        let st = style(Face::Sans, 12.0);
        // Goes up and to the left: must be flipped to read down-right... i.e. up-right.
        let path = [(200.0, 200.0), (100.0, 100.0)];
        let glyphs = fonts.layout_on_path("Chu", &path, 5.0, &st).expect("fits");
        for g in &glyphs {
            assert!(g.angle.abs() < std::f32::consts::FRAC_PI_2, "{g:?}");
            assert!((g.angle - std::f32::consts::FRAC_PI_4).abs() < 1e-3, "{g:?}");
        }
        assert!(glyphs[1].x > glyphs[0].x);
    }

    #[test]
    fn path_boxes_do_not_overlap_on_straight_path() {
        let fonts = Fonts::embedded();
        let st = style(Face::Sans, 16.0);
        let glyphs = fonts.layout_on_path("Ertis River", &straight_left(400.0), 30.0, &st).expect("fits");
        let boxes = fonts.placed_boxes(&glyphs, &st);
        assert_eq!(boxes.len(), glyphs.len());
        let m = fonts.measure("E", &st);
        for (i, a) in boxes.iter().enumerate() {
            assert!(a[2] > a[0] && a[3] > a[1]);
            assert!((a[3] - a[1] - (m.ascent + m.descent)).abs() < 0.5, "{a:?}");
            for b in &boxes[i + 1..] {
                let overlap_x = a[2].min(b[2]) - a[0].max(b[0]);
                assert!(overlap_x <= 0.01, "boxes overlap: {a:?} {b:?}");
            }
        }
        // Boxes cover the drawn ink.
        let mut pm = pixmap(500, 100);
        fonts.draw_placed(&mut pm, &glyphs, &st);
        let ink = ink_box(&pm, 0).expect("inked");
        let hull = boxes.iter().fold([f32::INFINITY, f32::INFINITY, f32::NEG_INFINITY, f32::NEG_INFINITY], |h, b| {
            [h[0].min(b[0]), h[1].min(b[1]), h[2].max(b[2]), h[3].max(b[3])]
        });
        assert!(ink[0] >= hull[0] - 1.0 && ink[1] >= hull[1] - 1.0, "{ink:?} {hull:?}");
        assert!(ink[2] <= hull[2] + 1.0 && ink[3] <= hull[3] + 1.0, "{ink:?} {hull:?}");
    }

    #[test]
    fn rotated_boxes_cover_rotated_glyphs() {
        let fonts = Fonts::embedded();
        let st = style(Face::SansBold, 20.0);
        let glyphs = [PlacedGlyph { ch: 'W', x: 50.0, y: 50.0, angle: 0.6, advance: fonts.measure("W", &st).width }];
        let b = fonts.placed_boxes(&glyphs, &st)[0];
        let mut pm = pixmap(100, 100);
        fonts.draw_placed(&mut pm, &glyphs, &st);
        let ink = ink_box(&pm, 0).expect("inked");
        assert!(ink[0] >= b[0] - 1.0 && ink[1] >= b[1] - 1.0, "{ink:?} {b:?}");
        assert!(ink[2] <= b[2] + 1.0 && ink[3] <= b[3] + 1.0, "{ink:?} {b:?}");
        // Rotated clockwise: the baseline runs down to the right of the origin,
        // so the ink reaches well below y = 50 (unrotated it would end there).
        assert!(ink[3] > 55.0 && ink[2] > 65.0, "{ink:?}");
    }

    #[test]
    fn path_too_short_or_too_bent_is_rejected() {
        let fonts = Fonts::embedded();
        let st = style(Face::Sans, 14.0);
        let text = "Talas";
        let w = fonts.measure(text, &st).width;
        let short = [(0.0, 0.0), (w - 1.0, 0.0)];
        assert!(fonts.layout_on_path(text, &short, 0.0, &st).is_none());
        let exact = [(0.0, 0.0), (w + 0.5, 0.0)];
        assert!(fonts.layout_on_path(text, &exact, 0.0, &st).is_some());
        assert!(fonts.layout_on_path(text, &exact, 1.0, &st).is_none());
        assert!(fonts.layout_on_path(text, &exact, -1.0, &st).is_none());
        assert!(fonts.layout_on_path(text, &[(0.0, 0.0)], 0.0, &st).is_none());
        assert!(fonts.layout_on_path("", &exact, 0.0, &st).is_none());

        // Zig-zag with right-angle turns every 15 px.
        let zigzag: Vec<(f32, f32)> = (0..40)
            .map(|i| {
                let k = (i / 2) as f32 * 15.0;
                if i % 2 == 0 {
                    (k, k)
                } else {
                    (k + 15.0, k)
                }
            })
            .collect();
        for start in [0.0, 3.0, 7.5, 11.0, 20.0] {
            assert!(fonts.layout_on_path(text, &zigzag, start, &st).is_none(), "zig-zag accepted at {start}");
        }
        // Hairpin: straight out and straight back.
        let hairpin = [(0.0, 0.0), (100.0, 0.0), (100.0, 2.0), (0.0, 2.0)];
        assert!(fonts.layout_on_path(text, &hairpin, 80.0, &st).is_none());

        // Fine saw-tooth (a badly simplified wiggly river): chords run straight
        // but are much shorter than the glyphs, which would pile up.
        let saw: Vec<(f32, f32)> = (0..200).map(|i| (i as f32 * 1.0, if i % 2 == 0 { 0.0 } else { 2.0 })).collect();
        assert!(fonts.layout_on_path("MWM", &saw, 10.0, &st).is_none());

        // A gentle arc (5° per 10 px) is accepted and follows the bend.
        let arc: Vec<(f32, f32)> = (0..30)
            .map(|i| {
                let a = (i as f32) * 5f32.to_radians();
                (200.0 * a.sin(), 200.0 - 200.0 * a.cos())
            })
            .collect();
        let glyphs = fonts.layout_on_path(text, &arc, 5.0, &st).expect("gentle arc accepted");
        assert!(glyphs.last().expect("non-empty").angle > glyphs[0].angle);
    }

    #[test]
    fn placed_text_has_halo_and_fill() {
        let fonts = Fonts::embedded();
        let st = TextStyle { halo: Some((Color::from_rgba8(250, 240, 0, 255), 2.0)), ..style(Face::SansBold, 18.0) };
        let path = [(10.0, 40.0), (200.0, 60.0)];
        let glyphs = fonts.layout_on_path("Ili", &path, 10.0, &st).expect("fits");
        let mut pm = pixmap(220, 100);
        fonts.draw_placed(&mut pm, &glyphs, &st);
        let mut halo = 0;
        let mut fill = 0;
        for px in pm.pixels() {
            if px.alpha() == 255 && px.red() > 240 && px.green() > 230 && px.blue() < 10 {
                halo += 1;
            }
            if px.alpha() == 255 && px.blue() == 200 {
                fill += 1;
            }
        }
        assert!(halo > 20 && fill > 20, "halo {halo} fill {fill}");
    }

    #[test]
    fn coloured_halo_surrounds_glyph() {
        let fonts = Fonts::embedded();
        let st = TextStyle { halo: Some((Color::from_rgba8(0, 200, 0, 255), 2.0)), ..style(Face::Sans, 30.0) };
        let mut pm = pixmap(80, 60);
        fonts.draw(&mut pm, "O", 20.0, 45.0, &st);
        let fill = ink_box(&pm, 128).expect("inked");
        let is_green = |x: u32, y: u32| {
            let p = pixel(&pm, x, y);
            p.green() > 150 && p.red() < 30 && p.blue() < 80
        };
        let solid = |x: u32, y: u32| pixel(&pm, x, y).alpha() > 200;
        let (mx, my) = (((fill[0] + fill[2]) / 2.0) as u32, ((fill[1] + fill[3]) / 2.0) as u32);
        // Walking in from each side through the middle, the first solid pixel is halo.
        let (w, h) = (pm.width(), pm.height());
        let from_left = (0..w).find(|&x| solid(x, my)).expect("row inked");
        let from_right = (0..w).rev().find(|&x| solid(x, my)).expect("row inked");
        let from_top = (0..h).find(|&y| solid(mx, y)).expect("column inked");
        let from_bottom = (0..h).rev().find(|&y| solid(mx, y)).expect("column inked");
        assert!(is_green(from_left, my));
        assert!(is_green(from_right, my));
        assert!(is_green(mx, from_top));
        assert!(is_green(mx, from_bottom));
        // Two pixels further in is the blue fill of the ring (halo 2 px wide).
        let p = pixel(&pm, from_left + 3, my);
        assert!(p.blue() > 150 && p.green() < 100, "{p:?}");
        // The counter of the "O" is transparent in the very middle.
        assert_eq!(pixel(&pm, mx, my).alpha(), 0);
    }

    #[test]
    fn concurrent_use_is_consistent() {
        let fonts = Fonts::embedded();
        let st = style(Face::CondensedBold, 13.0);
        let expected = fonts.measure("Жоңғар Хандығы", &st);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    let mut pm = pixmap(200, 30);
                    fonts.draw(&mut pm, "Жоңғар Хандығы", 2.0, 20.0, &st);
                    assert_eq!(fonts.measure("Жоңғар Хандығы", &st), expected);
                });
            }
        });
    }
}
