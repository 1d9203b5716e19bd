//! Text rendering for map labels with the embedded DejaVu fonts.
//!
//! Glyph outlines come from `ab_glyph` (font units, y up) and are cached per
//! `(Face, GlyphId)`. Drawing maps them into pixel space (scale, flip y,
//! rotate, translate), rasterises each glyph into an anti-aliased coverage
//! mask with `ab_glyph`'s exact-area rasteriser, derives the halo mask from it
//! and composites the masks onto the premultiplied [`Pixmap`]: every halo of a
//! label first, then every fill.
//!
//! The halo equals a stroke of the outline of width `2 × halo` with round
//! joins, unioned with the glyph (the Minkowski sum with a disc), computed on
//! the coverage mask. Masks of unrotated glyphs are cached per size, halo
//! width and quarter-pixel position, so horizontal labels cost little more
//! than a few small blits. Very large glyphs (over ~1000 px) are painted
//! through `tiny-skia` paths instead.
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

use rustc_hash::FxHashMap;
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

use ab_glyph::{
    point, Font, FontRef, Glyph, GlyphId, Outline, OutlineCurve, OutlinedGlyph, PxScale, PxScaleFactor, Rect, ScaleFont,
};
use tiny_skia::{Color, FillRule, LineJoin, Paint, Path, PathBuilder, Pixmap, PremultipliedColorU8, Stroke, Transform};

/// Largest allowed change of direction between neighbouring glyphs placed
/// along a path (radians, 28°).
const MAX_BEND: f32 = 28.0 * std::f32::consts::PI / 180.0;

/// Largest allowed turn of a whole name placed along a path, summed over its glyphs
/// (radians, 50°): on a tighter bend, or a zigzag, the letters spread apart on the
/// outside of the curve and the name no longer reads as one word ("C h u").
const MAX_TURN: f32 = 50.0 * std::f32::consts::PI / 180.0;

/// Largest allowed tilt of a single glyph placed along a path (radians, 110°);
/// beyond it the glyph would read upside down.
const MAX_TILT: f32 = 110.0 * std::f32::consts::PI / 180.0;

/// A glyph whose chord along the path is shorter than this fraction of its
/// advance sits on a squiggle or hairpin and is rejected.
const MIN_CHORD_RATIO: f32 = 0.7;

/// Glyph masks larger than this many pixels are painted as paths instead.
const MAX_MASK_PIXELS: usize = 1 << 20;

/// Cached masks per face before the cache is flushed.
const MAX_CACHED_MASKS: usize = 16_384;

/// Texts laid out along paths kept per face ([`Fonts::text_on_path`]).
const MAX_CACHED_PATH_TEXTS: usize = 4096;

/// Subpixel positions per pixel for cached masks.
const SUBPIXEL_STEPS: f32 = 4.0;

/// Coordinates beyond this magnitude are never visible and are skipped.
const MAX_COORD: f32 = 1.0e7;

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
    pub(crate) fn data(self) -> &'static [u8] {
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
#[derive(Clone, Debug, PartialEq)]
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

    /// Halo colour and width if a visible halo is requested.
    fn visible_halo(&self) -> Option<(Color, f32)> {
        match self.halo {
            Some((c, w)) if w.is_finite() && w > 0.0 => Some((c, w)),
            _ => None,
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
#[derive(Clone, Debug, PartialEq)]
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

/// Key of a cached mask of an unrotated glyph.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct MaskKey {
    /// Glyph.
    glyph: GlyphId,
    /// `size_px` bits.
    size: u32,
    /// Halo width bits (0 without halo).
    halo: u32,
    /// Subpixel x offset in [`SUBPIXEL_STEPS`] steps.
    sub_x: u8,
    /// Subpixel y offset in [`SUBPIXEL_STEPS`] steps.
    sub_y: u8,
}

impl GlyphMask {
    /// Does the mask, anchored at pixel (ax, ay), cover a pixel of `clip`?
    fn meets(&self, ax: i64, ay: i64, clip: Clip) -> bool {
        let (left, top) = (ax + self.left, ay + self.top);
        left < clip[2] && top < clip[3] && left + self.width as i64 > clip[0] && top + self.height as i64 > clip[1]
    }
}

/// Coverage masks of one glyph: fill and (optionally) halo over the same box.
struct GlyphMask {
    /// Column of the mask's left edge relative to its anchor pixel.
    left: i64,
    /// Row of the mask's top edge relative to its anchor pixel.
    top: i64,
    /// Mask width, px.
    width: usize,
    /// Mask height, px.
    height: usize,
    /// Fill coverage, row-major, 0–255.
    fill: Vec<u8>,
    /// Halo coverage (empty without halo).
    halo: Vec<u8>,
}

/// One parsed face and its caches.
struct FaceSlot {
    /// The parsed font.
    font: FontRef<'static>,
    /// Height of the lower-case `x` in font units.
    x_height: f32,
    /// Glyph outlines in font units (y up); `None` for empty glyphs such as space.
    outlines: RwLock<FxHashMap<GlyphId, Option<Arc<Outline>>>>,
    /// Masks of unrotated glyphs.
    masks: RwLock<FxHashMap<MaskKey, Arc<GlyphMask>>>,
    /// Texts laid out along paths ([`Fonts::text_on_path`]), by a hash of the text, its
    /// size and spacing and the path: a river's name in a metatile is laid out once for
    /// all the map states that draw it.
    path_texts: RwLock<FxHashMap<u128, Option<Arc<PathText>>>>,
    /// Glyph ids of the characters below [`GLYPH_TABLE`] (Latin, Greek, Cyrillic), each
    /// looked up once, when first met (`u32::MAX`: not yet): a cmap search per character
    /// was a tenth of a tile run's layout time.
    ids: Box<[std::sync::atomic::AtomicU32]>,
}

/// The characters whose glyph ids each face keeps in a table.
const GLYPH_TABLE: u32 = 0x530;

impl FaceSlot {
    /// The glyph of a character (`.notdef` when the face lacks it).
    fn glyph(&self, ch: char) -> GlyphId {
        use std::sync::atomic::Ordering::Relaxed;
        let Some(slot) = self.ids.get(ch as usize) else { return self.font.glyph_id(ch) };
        match slot.load(Relaxed) {
            u32::MAX => {
                let id = self.font.glyph_id(ch);
                slot.store(u32::from(id.0), Relaxed);
                id
            }
            id => GlyphId(id as u16),
        }
    }
}

/// The embedded fonts with a glyph-outline cache; Send + Sync, shared by all threads.
pub struct Fonts {
    /// One slot per face, indexed by [`Face::index`].
    faces: Vec<FaceSlot>,
}

impl std::fmt::Debug for Fonts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fonts").field("faces", &self.faces.len()).finish_non_exhaustive()
    }
}

/// A glyph of a laid-out line.
#[derive(Clone, Copy)]
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

/// Text made ready to composite ([`Fonts::prepare_line`]).
pub struct PreparedText(Vec<Prepared>);

impl PreparedText {
    /// Bytes held (masks shared with the glyph cache counted too).
    pub fn bytes(&self) -> usize {
        self.0
            .iter()
            .map(|p| match p {
                Prepared::Mask { mask, .. } => 64 + mask.fill.len() + mask.halo.len(),
                Prepared::Path(path) => 64 + path.points().len() * 8,
            })
            .sum::<usize>()
            + std::mem::size_of::<PreparedText>()
    }
}

/// A glyph ready to be composited.
enum Prepared {
    /// Coverage masks anchored at a pixel.
    Mask {
        /// The masks.
        mask: Arc<GlyphMask>,
        /// Anchor column.
        x: i64,
        /// Anchor row.
        y: i64,
    },
    /// A pixel-space outline for glyphs too large for masks.
    Path(Path),
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
                    .map(|o| o.bounds.min.y.max(o.bounds.max.y))
                    .filter(|h| *h > 0.0)
                    .unwrap_or_else(|| 0.5 * font.ascent_unscaled());
                let ids = (0..GLYPH_TABLE).map(|_| std::sync::atomic::AtomicU32::new(u32::MAX)).collect();
                FaceSlot {
                    font,
                    x_height,
                    outlines: RwLock::default(),
                    masks: RwLock::default(),
                    path_texts: RwLock::default(),
                    ids,
                }
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
        self.slot(face).glyph(ch).0 != 0
    }

    /// The em size of a style, px: what CSS and SVG call the font size (`size_px` is the
    /// height from the descent line to the ascent line, about 1.16 em in DejaVu).
    pub fn em_px(&self, style: &TextStyle) -> f32 {
        if !style.is_drawable() {
            return 0.0;
        }
        let font = &self.slot(style.face).font;
        let upem = font.units_per_em().unwrap_or(2048.0);
        upem * self.scale(style).sy
    }

    /// Measure one line of text (kerning and letter spacing included).
    ///
    /// The width is the sum of the advances, so it includes the letter spacing
    /// after the last character. Ascent and descent are the font's ascent and
    /// descent lines scaled to the size (they include accents such as on `Ё`,
    /// and `ascent + descent == size_px`), the same for any text. A style with
    /// a non-positive or non-finite size measures as all zeros.
    pub fn measure(&self, text: &str, style: &TextStyle) -> TextMetrics {
        if !style.is_drawable() {
            return TextMetrics { width: 0.0, ascent: 0.0, descent: 0.0 };
        }
        let scale = self.scale(style);
        let (_, width) = self.layout_line(text, style);
        TextMetrics { width, ascent: scale.ascent, descent: scale.descent }
    }

    /// Draw one line with its left end at x and its baseline at y: halo (if any) first, then fill. Anti-aliased.
    ///
    /// Glyph positions are rounded to a quarter pixel (their masks are cached).
    pub fn draw(&self, pixmap: &mut Pixmap, text: &str, x: f32, y: f32, style: &TextStyle) {
        let clip = [0, 0, pixmap.width(), pixmap.height()];
        self.draw_clipped(pixmap, text, x, y, style, clip);
    }

    /// [`Fonts::draw`] whose pixels need be right only inside `clip` (left, top, right,
    /// bottom px; right and bottom exclusive): those pixels are the ones [`Fonts::draw`]
    /// gives, byte for byte; glyphs that cannot reach them are left out, and the others
    /// are blended only there (a partial redraw of a few cells of a tile).
    pub fn draw_clipped(&self, pixmap: &mut Pixmap, text: &str, x: f32, y: f32, style: &TextStyle, clip: [u32; 4]) {
        if !style.is_drawable() {
            return;
        }
        self.draw_line(pixmap, text, Transform::from_translate(x, y), style, clip.map(i64::from));
    }

    /// Draw one line rotated by `angle` radians (clockwise positive in screen coordinates, y down) about its centre, centred on (cx, cy) (the centre of the box from -ascent to +descent).
    ///
    /// Horizontally the centre is that of the advance width without the letter
    /// spacing after the last character, so letter-spaced labels stay centred.
    pub fn draw_rotated(&self, pixmap: &mut Pixmap, text: &str, cx: f32, cy: f32, angle: f32, style: &TextStyle) {
        if !style.is_drawable() || !angle.is_finite() {
            return;
        }
        let m = self.measure(text, style);
        let spacing = if text.is_empty() { 0.0 } else { style.letter_spacing_px };
        let half_w = 0.5 * (m.width - spacing);
        let mid_y = 0.5 * (m.descent - m.ascent);
        let ts = rotation(angle, cx, cy).pre_translate(-half_w, -mid_y);
        self.draw_line(pixmap, text, ts, style, whole(pixmap));
    }

    /// Lay text along a polyline (pixel coordinates), starting `start` px along it, for river names.
    ///
    /// Reverses the direction so the text reads left to right (upright).
    /// Returns `None` when the path is too short or bends too sharply under
    /// the text. Glyphs sit centred on the line. Draw the result with
    /// [`Fonts::draw_placed`]; [`Fonts::placed_boxes`] gives collision boxes.
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
    ///   glyph would be tilted by more than 110° (upside down), the path
    ///   squiggles or folds back under a glyph (chord < 70 % of its advance),
    ///   `start` is negative, the path is shorter than `start + width`, or the
    ///   text is empty.
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
    /// `offset_px = 0` the text is centred on the line (baseline half the
    /// x-height below it); to make the text sit just above the line use
    /// `x_height / 2 + gap`, about `0.24 * size_px + gap` for DejaVu.
    pub fn layout_on_path_offset(
        &self,
        text: &str,
        path: &[(f32, f32)],
        start: f32,
        offset_px: f32,
        style: &TextStyle,
    ) -> Option<Vec<PlacedGlyph>> {
        self.text_on_path(text, path, style)?.place(start, offset_px)
    }

    /// `text` laid out once for [`PathText::place`] at many starts and offsets along
    /// `path` (a label tried at several places along a river). `None` when nothing can
    /// be placed.
    pub fn text_on_path(&self, text: &str, path: &[(f32, f32)], style: &TextStyle) -> Option<Arc<PathText>> {
        if !style.is_drawable() || text.is_empty() {
            return None;
        }
        // What the layout reads: the text, its size and spacing, and the path.
        let mut h = super::Gathered::with_seed(0);
        for v in [style.size_px, style.letter_spacing_px] {
            h.write(&v.to_bits().to_le_bytes());
        }
        h.write(&(text.len() as u64).to_le_bytes());
        h.write(text.as_bytes());
        for p in path {
            h.write(&p.0.to_bits().to_le_bytes());
            h.write(&p.1.to_bits().to_le_bytes());
        }
        let key = h.finish_128();
        let slot = self.slot(style.face);
        if let Some(found) = slot.path_texts.read().unwrap_or_else(PoisonError::into_inner).get(&key) {
            return found.clone();
        }
        let laid = (|| {
            let (glyphs, width) = self.layout_line(text, style);
            if !width.is_finite() || width <= 0.0 {
                return None;
            }
            let line = Polyline::new(path)?;
            let shift = 0.5 * slot.x_height * self.scale(style).sy;
            Some(Arc::new(PathText { glyphs, width, line, shift, placed: Default::default() }))
        })();
        let mut kept = slot.path_texts.write().unwrap_or_else(PoisonError::into_inner);
        if kept.len() >= MAX_CACHED_PATH_TEXTS {
            kept.clear();
        }
        kept.entry(key).or_insert(laid).clone()
    }

    /// The glyph outlines of one line of text (left end at x, baseline at y) as one
    /// path, px: for surfaces that draw a label as shapes.
    pub fn line_path(&self, text: &str, x: f32, y: f32, style: &TextStyle) -> Option<Path> {
        if !style.is_drawable() {
            return None;
        }
        let scale = self.scale(style);
        let (glyphs, _) = self.layout_line(text, style);
        let mut pb = PathBuilder::new();
        for g in &glyphs {
            let ts = Transform::from_translate(x + g.x, y).pre_scale(scale.sx, -scale.sy);
            if let Some(p) = self.outline(style.face, g.id).and_then(|o| outline_path(&o, &ts)) {
                pb.push_path(&p);
            }
        }
        pb.finish()
    }

    /// The outlines of glyphs placed by [`Fonts::layout_on_path`] as one path, px.
    pub fn placed_path(&self, glyphs: &[PlacedGlyph], style: &TextStyle) -> Option<Path> {
        if !style.is_drawable() {
            return None;
        }
        let slot = self.slot(style.face);
        let scale = self.scale(style);
        let mut pb = PathBuilder::new();
        for g in glyphs.iter().filter(|g| g.angle.is_finite()) {
            let ts = rotation(g.angle, g.x, g.y).pre_scale(scale.sx, -scale.sy);
            if let Some(p) = self.outline(style.face, slot.glyph(g.ch)).and_then(|o| outline_path(&o, &ts)) {
                pb.push_path(&p);
            }
        }
        pb.finish()
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
                if let Some(outline) = self.outline(style.face, slot.glyph(g.ch)) {
                    let b = outline.bounds;
                    x0 = x0.min(b.min.x.min(b.max.x) * scale.sx);
                    x1 = x1.max(b.min.x.max(b.max.x) * scale.sx);
                    y0 = y0.min(-b.min.y.max(b.max.y) * scale.sy);
                    y1 = y1.max(-b.min.y.min(b.max.y) * scale.sy);
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

    /// The boxes (left, top, right, bottom, px) that [`Fonts::draw`] can ink drawing
    /// `text` at (x, y), glyph by glyph (none for an undrawable style): each glyph's
    /// outline bounds where the drawing puts them, grown by its halo and the mask's
    /// padding, with a pixel to spare for subpixel rounding.
    pub fn ink_boxes(&self, text: &str, x: f32, y: f32, style: &TextStyle) -> Vec<[f32; 4]> {
        if !style.is_drawable() {
            return Vec::new();
        }
        self.glyph_ink(style, self.line_transforms(text, Transform::from_translate(x, y), style).into_iter())
    }

    /// [`Fonts::ink_boxes`] of glyphs placed by `layout_on_path`, as
    /// [`Fonts::draw_placed`] draws them.
    pub fn placed_ink_boxes(&self, glyphs: &[PlacedGlyph], style: &TextStyle) -> Vec<[f32; 4]> {
        if !style.is_drawable() {
            return Vec::new();
        }
        self.glyph_ink(style, self.placed_transforms(glyphs, style))
    }

    /// The ink box of each glyph mapped by its transform (see [`Fonts::ink_boxes`]): a
    /// mask ([`rasterize`]) lies within the bounds of the outline's points (which its
    /// bounds hold) and a pad of at most the halo and 3 px; a glyph too large for a mask
    /// is filled and haloed as a path, within its bounds, the halo and a pixel.
    fn glyph_ink(&self, style: &TextStyle, glyphs: impl Iterator<Item = (GlyphId, Transform)>) -> Vec<[f32; 4]> {
        let halo = style.visible_halo().map_or(0.0, |(_, w)| w);
        let pad = halo + 4.0;
        glyphs
            .filter(|(_, ts)| ts.is_finite() && ts.tx.abs() <= MAX_COORD && ts.ty.abs() <= MAX_COORD)
            .filter_map(|(id, ts)| {
                let outline = self.outline(style.face, id)?;
                let (x0, y0, x1, y1) = transformed_bounds(&outline.bounds, &ts);
                Some([x0 - pad, y0 - pad, x1 + pad, y1 + pad])
            })
            .collect()
    }

    /// A line drawn by [`Fonts::draw_clipped`] at (x, y) made ready to composite anywhere
    /// on `pixmap` (None when its style draws nothing): kept by a window drawn again and
    /// again, a later drawing only blends it ([`Fonts::composite_prepared`]).
    pub fn prepare_line(&self, pixmap: &Pixmap, text: &str, x: f32, y: f32, style: &TextStyle) -> Option<PreparedText> {
        if !style.is_drawable() {
            return None;
        }
        let clip = whole(pixmap);
        let glyphs = self.line_transforms(text, Transform::from_translate(x, y), style);
        let mut prepared = Vec::with_capacity(glyphs.len());
        for (id, ts) in glyphs {
            self.prepare(pixmap, style, id, ts, clip, &mut prepared);
        }
        Some(PreparedText(prepared))
    }

    /// Glyphs drawn by [`Fonts::draw_placed_clipped`] made ready to composite (as
    /// [`Fonts::prepare_line`]).
    pub fn prepare_placed(&self, pixmap: &Pixmap, glyphs: &[PlacedGlyph], style: &TextStyle) -> Option<PreparedText> {
        if !style.is_drawable() {
            return None;
        }
        let clip = whole(pixmap);
        let mut prepared = Vec::with_capacity(glyphs.len());
        for (id, ts) in self.placed_transforms(glyphs, style) {
            self.prepare(pixmap, style, id, ts, clip, &mut prepared);
        }
        Some(PreparedText(prepared))
    }

    /// Composite text made ready ([`Fonts::prepare_line`], [`Fonts::prepare_placed`])
    /// with `style` inside `clip`: the pixels there are those of drawing it clipped there
    /// (a glyph that cannot reach the clip blends nothing in it).
    pub fn composite_prepared(&self, pixmap: &mut Pixmap, text: &PreparedText, style: &TextStyle, clip: [u32; 4]) {
        composite(pixmap, &text.0, style, clip.map(i64::from));
    }

    /// Draw glyphs placed by `layout_on_path` (all halos first, then all fills, so a halo never covers a neighbouring glyph).
    pub fn draw_placed(&self, pixmap: &mut Pixmap, glyphs: &[PlacedGlyph], style: &TextStyle) {
        let clip = [0, 0, pixmap.width(), pixmap.height()];
        self.draw_placed_clipped(pixmap, glyphs, style, clip);
    }

    /// [`Fonts::draw_placed`] whose pixels need be right only inside `clip` (as
    /// [`Fonts::draw_clipped`]).
    pub fn draw_placed_clipped(&self, pixmap: &mut Pixmap, glyphs: &[PlacedGlyph], style: &TextStyle, clip: [u32; 4]) {
        let clip = clip.map(i64::from);
        if !style.is_drawable() {
            return;
        }
        let mut prepared = Vec::with_capacity(glyphs.len());
        for (id, ts) in self.placed_transforms(glyphs, style) {
            self.prepare(pixmap, style, id, ts, clip, &mut prepared);
        }
        composite(pixmap, &prepared, style, clip);
    }

    /// Each placed glyph's id and its transform from font units to px (glyphs whose angle
    /// is no number are left out): what [`Fonts::draw_placed`] draws.
    fn placed_transforms<'g>(
        &self,
        glyphs: &'g [PlacedGlyph],
        style: &TextStyle,
    ) -> impl Iterator<Item = (GlyphId, Transform)> + use<'g, '_> {
        let slot = self.slot(style.face);
        let scale = self.scale(style);
        glyphs
            .iter()
            .filter(|g| g.angle.is_finite())
            .map(move |g| (slot.glyph(g.ch), rotation(g.angle, g.x, g.y).pre_scale(scale.sx, -scale.sy)))
    }

    /// Each glyph of a line's id and its transform from font units to px, the line's own
    /// coordinates (x along the baseline from its left end) mapped by `line_ts`: what
    /// [`Fonts::draw`] draws.
    fn line_transforms(&self, text: &str, line_ts: Transform, style: &TextStyle) -> Vec<(GlyphId, Transform)> {
        let scale = self.scale(style);
        let (glyphs, _) = self.layout_line(text, style);
        glyphs.iter().map(|g| (g.id, line_ts.pre_translate(g.x, 0.0).pre_scale(scale.sx, -scale.sy))).collect()
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

    /// Glyphs of one line with pen positions; returns them and the total width. The
    /// lines laid out last on this thread are kept: a tile run lays out the same names
    /// in every metatile and map state, and a label measures its text at every try.
    fn layout_line(&self, text: &str, style: &TextStyle) -> (Vec<LineGlyph>, f32) {
        type Key = (String, Face, u32, u32);
        thread_local! {
            static LINES: std::cell::RefCell<FxHashMap<Key, (Vec<LineGlyph>, f32)>> =
                std::cell::RefCell::default();
        }
        // Only the process-wide fonts: another `Fonts` could hold other faces.
        if !std::ptr::eq(self, Fonts::embedded()) || text.len() > 256 {
            return self.layout_line_now(text, style);
        }
        let key = (text.to_string(), style.face, style.size_px.to_bits(), style.letter_spacing_px.to_bits());
        if let Some((glyphs, width)) = LINES.with(|l| l.borrow().get(&key).cloned()) {
            return (glyphs, width);
        }
        let (glyphs, width) = self.layout_line_now(text, style);
        LINES.with(|l| {
            let mut l = l.borrow_mut();
            if l.len() >= 4096 {
                l.clear();
            }
            l.insert(key, (glyphs.clone(), width));
        });
        (glyphs, width)
    }

    /// [`Fonts::layout_line`] without the cache.
    fn layout_line_now(&self, text: &str, style: &TextStyle) -> (Vec<LineGlyph>, f32) {
        let slot = self.slot(style.face);
        let scaled = slot.font.as_scaled(PxScale::from(style.size_px));
        let spacing = if style.letter_spacing_px.is_finite() { style.letter_spacing_px } else { 0.0 };
        let mut glyphs: Vec<LineGlyph> = Vec::with_capacity(text.len());
        let mut pen = 0.0f32;
        for ch in text.chars() {
            let id = slot.glyph(ch);
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
    fn draw_line(&self, pixmap: &mut Pixmap, text: &str, line_ts: Transform, style: &TextStyle, clip: Clip) {
        let glyphs = self.line_transforms(text, line_ts, style);
        let mut prepared = Vec::with_capacity(glyphs.len());
        for (id, ts) in glyphs {
            self.prepare(pixmap, style, id, ts, clip, &mut prepared);
        }
        composite(pixmap, &prepared, style, clip);
    }

    /// Rasterise (or fetch from the cache) one glyph mapped by `ts` (font
    /// units → pixmap px) and push it to `out` unless it is invisible or its mask
    /// cannot reach the pixels `clip`.
    fn prepare(
        &self,
        pixmap: &Pixmap,
        style: &TextStyle,
        id: GlyphId,
        ts: Transform,
        clip: Clip,
        out: &mut Vec<Prepared>,
    ) {
        if !ts.is_finite() || ts.tx.abs() > MAX_COORD || ts.ty.abs() > MAX_COORD {
            return;
        }
        let Some(outline) = self.outline(style.face, id) else {
            return;
        };
        let halo = style.visible_halo().map_or(0.0, |(_, w)| w);
        // Pixel bounds of the glyph with its halo, for culling and sizing.
        let (x0, y0, x1, y1) = transformed_bounds(&outline.bounds, &ts);
        let pad = halo + 2.0;
        let (pw, ph) = (pixmap.width() as f32, pixmap.height() as f32);
        if x1 + pad < 0.0 || y1 + pad < 0.0 || x0 - pad > pw || y0 - pad > ph {
            return;
        }
        if ((x1 - x0 + 2.0 * pad) * (y1 - y0 + 2.0 * pad)) as usize > MAX_MASK_PIXELS {
            if let Some(path) = outline_path(&outline, &ts) {
                out.push(Prepared::Path(path));
            }
            return;
        }
        // Unrotated glyphs (scale from the style, y flipped) are cached.
        let axis_aligned = ts.kx == 0.0 && ts.ky == 0.0 && ts.sx > 0.0 && ts.sy < 0.0;
        if axis_aligned {
            // Cache by quarter-pixel position.
            let (ix, sub_x) = split_subpixel(ts.tx);
            let (iy, sub_y) = split_subpixel(ts.ty);
            let key = MaskKey { glyph: id, size: style.size_px.to_bits(), halo: halo.to_bits(), sub_x, sub_y };
            let local = Transform::from_row(
                ts.sx,
                0.0,
                0.0,
                ts.sy,
                f32::from(sub_x) / SUBPIXEL_STEPS,
                f32::from(sub_y) / SUBPIXEL_STEPS,
            );
            let mask = self.cached_mask(style.face, key, || rasterize(&outline, &local, halo).map(Arc::new));
            if let Some(mask) = mask.filter(|m| m.meets(ix, iy, clip)) {
                out.push(Prepared::Mask { mask, x: ix, y: iy });
            }
        } else if let Some(mask) =
            (!beyond(clip, (x0, y0, x1, y1), pad)).then(|| rasterize(&outline, &ts, halo)).flatten()
        {
            out.push(Prepared::Mask { mask: Arc::new(mask), x: 0, y: 0 });
        }
    }

    /// Mask from the cache, built with `build` on a miss.
    fn cached_mask(
        &self,
        face: Face,
        key: MaskKey,
        build: impl FnOnce() -> Option<Arc<GlyphMask>>,
    ) -> Option<Arc<GlyphMask>> {
        let slot = self.slot(face);
        if let Some(mask) = slot.masks.read().unwrap_or_else(PoisonError::into_inner).get(&key) {
            return Some(Arc::clone(mask));
        }
        let mask = build()?;
        let mut masks = slot.masks.write().unwrap_or_else(PoisonError::into_inner);
        if masks.len() >= MAX_CACHED_MASKS {
            masks.clear();
        }
        Some(Arc::clone(masks.entry(key).or_insert(mask)))
    }

    /// The cached outline of a glyph in font units (y up); `None` if the glyph
    /// draws nothing.
    fn outline(&self, face: Face, id: GlyphId) -> Option<Arc<Outline>> {
        let slot = self.slot(face);
        if let Some(cached) = slot.outlines.read().unwrap_or_else(PoisonError::into_inner).get(&id) {
            return cached.clone();
        }
        let built = slot.font.outline(id).filter(|o| !o.curves.is_empty()).map(Arc::new);
        slot.outlines.write().unwrap_or_else(PoisonError::into_inner).entry(id).or_insert(built).clone()
    }
}

/// Rotation by `angle` radians (clockwise on screen) followed by a translation.
fn rotation(angle: f32, tx: f32, ty: f32) -> Transform {
    let (sin, cos) = angle.sin_cos();
    Transform::from_row(cos, sin, -sin, cos, tx, ty)
}

/// Apply `ts` to a point.
fn map_point(ts: &Transform, p: ab_glyph::Point) -> ab_glyph::Point {
    point(ts.sx * p.x + ts.kx * p.y + ts.tx, ts.ky * p.x + ts.sy * p.y + ts.ty)
}

/// Pixel bounds `(x0, y0, x1, y1)` of an outline's bounding box mapped by `ts`.
fn transformed_bounds(bounds: &Rect, ts: &Transform) -> (f32, f32, f32, f32) {
    let (a, b) = (bounds.min, bounds.max);
    let corners = [point(a.x, a.y), point(b.x, a.y), point(b.x, b.y), point(a.x, b.y)];
    corners.iter().fold((f32::INFINITY, f32::INFINITY, f32::NEG_INFINITY, f32::NEG_INFINITY), |(x0, y0, x1, y1), &c| {
        let p = map_point(ts, c);
        (x0.min(p.x), y0.min(p.y), x1.max(p.x), y1.max(p.y))
    })
}

/// Split a coordinate into its pixel and its subpixel step.
fn split_subpixel(v: f32) -> (i64, u8) {
    let steps = (v * SUBPIXEL_STEPS).round();
    let pixel = (steps / SUBPIXEL_STEPS).floor();
    let sub = steps - pixel * SUBPIXEL_STEPS;
    // Both casts are in range: |v| <= MAX_COORD and 0 <= sub < SUBPIXEL_STEPS.
    (pixel as i64, sub as u8)
}

/// Rasterise an outline mapped by `ts` (font units → px, y down) into fill and
/// halo coverage masks anchored at pixel (0, 0).
fn rasterize(outline: &Outline, ts: &Transform, halo: f32) -> Option<GlyphMask> {
    let map_curve = |c: &OutlineCurve, f: &dyn Fn(ab_glyph::Point) -> ab_glyph::Point| match *c {
        OutlineCurve::Line(a, b) => OutlineCurve::Line(f(a), f(b)),
        OutlineCurve::Quad(a, b, c) => OutlineCurve::Quad(f(a), f(b), f(c)),
        OutlineCurve::Cubic(a, b, c, d) => OutlineCurve::Cubic(f(a), f(b), f(c), f(d)),
    };
    let mut curves: Vec<OutlineCurve> = outline.curves.iter().map(|c| map_curve(c, &|p| map_point(ts, p))).collect();
    // Bounds of every point, control points included (they bound the curves).
    let (mut x0, mut y0, mut x1, mut y1) = (f32::INFINITY, f32::INFINITY, f32::NEG_INFINITY, f32::NEG_INFINITY);
    for c in &curves {
        let points: &[ab_glyph::Point] = match c {
            OutlineCurve::Line(a, b) => &[*a, *b],
            OutlineCurve::Quad(a, b, c) => &[*a, *b, *c],
            OutlineCurve::Cubic(a, b, c, d) => &[*a, *b, *c, *d],
        };
        for p in points {
            x0 = x0.min(p.x);
            y0 = y0.min(p.y);
            x1 = x1.max(p.x);
            y1 = y1.max(p.y);
        }
    }
    if !(x0.is_finite() && y0.is_finite() && x1.is_finite() && y1.is_finite()) {
        return None;
    }
    let pad = if halo > 0.0 { (halo + 1.0).ceil() + 1.0 } else { 1.0 };
    let left = x0.floor() - pad;
    let top = y0.floor() - pad;
    let width = ((x1.ceil() + pad) - left) as usize;
    let height = ((y1.ceil() + pad) - top) as usize;
    // Callers check the size from the outline's bounding box; this is a backstop.
    if width == 0 || height == 0 || width * height > 4 * MAX_MASK_PIXELS {
        return None;
    }
    // Mask-local pixels, y negated for ab_glyph's y-up outlines.
    for c in &mut curves {
        *c = map_curve(c, &|q| point(q.x - left, top - q.y));
    }
    let glyph = Glyph { id: GlyphId(0), scale: PxScale::from(1.0), position: point(0.0, 0.0) };
    let bounds = Rect { min: point(0.0, 0.0), max: point(width as f32, -(height as f32)) };
    let unit = PxScaleFactor { horizontal: 1.0, vertical: 1.0 };
    let outlined = OutlinedGlyph::new(glyph, Outline { bounds, curves }, unit);
    let mut fill = vec![0u8; width * height];
    outlined.draw(|x, y, c| {
        let (x, y) = (x as usize, y as usize);
        if x < width && y < height {
            // In 0.5..=255.5 before truncation.
            fill[y * width + x] = (c.clamp(0.0, 1.0) * 255.0 + 0.5) as u8;
        }
    });
    let halo = if halo > 0.0 { dilate(&fill, width, height, halo) } else { Vec::new() };
    Some(GlyphMask {
        // Finite and within MAX_COORD + glyph size, so in i64 range.
        left: left as i64,
        top: top as i64,
        width,
        height,
        fill,
        halo,
    })
}

/// Halo coverage: the fill dilated by a disc of `radius` px, i.e. the area a
/// round-joined stroke of width `2 × radius` adds around the outline.
///
/// A pixel with coverage `c` is taken to have the glyph edge `c - 0.5` px
/// beyond its centre, so a pixel `d` px away is covered `radius + c - d`
/// (clamped to 0..1); the halo is the maximum over all inked pixels (the inside
/// of a glyph, inked pixels whose eight neighbours are all fully inked, is left to
/// those neighbours).
///
/// The halo is spread one of two ways, the same halo either way: by shifted copies of the
/// whole mask ([`spread_by_shifts`], the faster for the halos of a few pixels that styles
/// use), or pixel by pixel ([`spread_by_pixel`], for a wide halo around a small glyph,
/// where the copies would be mostly border).
fn dilate(fill: &[u8], width: usize, height: usize, radius: f32) -> Vec<u8> {
    let reach = halo_reach(radius);
    let padded = (width + 2 * reach) * (height + 2 * reach);
    // Pixels that spread, at most: every inked one.
    let inked = fill.iter().filter(|&&c| c != 0).count();
    if inked * 16 < padded {
        spread_by_pixel(fill, width, height, radius)
    } else {
        spread_by_shifts(fill, width, height, radius)
    }
}

/// How far a halo of `radius` px reaches from a pixel's centre, whole px.
fn halo_reach(radius: f32) -> usize {
    (radius + 1.0).ceil().max(0.0) as usize
}

/// The offsets of a halo's disc, each with what it adds to a pixel's coverage: (radius -
/// distance) in 1/255 units, above -255.
fn halo_disc(radius: f32) -> Vec<(isize, isize, i32)> {
    let r = halo_reach(radius) as isize;
    let mut disc = Vec::new();
    for dy in -r..=r {
        for dx in -r..=r {
            let d = ((dx * dx + dy * dy) as f32).sqrt();
            if d < radius + 1.0 {
                disc.push((dx, dy, ((radius - d) * 255.0).round() as i32));
            }
        }
    }
    disc
}

/// Does pixel (x, y) of a `w`-wide, `h`-high coverage mask spread a halo? An inked pixel
/// does, unless it lies inside the glyph (it and its eight neighbours fully inked: its
/// neighbours reach farther).
fn spreads(fill: &[u8], (w, h): (usize, usize), x: usize, y: usize) -> bool {
    let i = y * w + x;
    match fill[i] {
        0 => false,
        255 if x > 0 && y > 0 && x + 1 < w && y + 1 < h => {
            let (up, row, down) = (&fill[i - w - 1..i - w + 2], &fill[i - 1..i + 2], &fill[i + w - 1..i + w + 2]);
            !(up == [255; 3] && row == [255; 3] && down == [255; 3])
        }
        _ => true,
    }
}

/// [`dilate`] by shifted copies: each offset of the disc is taken in turn over the whole
/// mask (a maximum of shifted copies, which the compiler runs 8 or 16 pixels at a time),
/// in 16-bit integers and with a border of pixels that spread nothing, so that a shift
/// never wraps from one row into the next.
fn spread_by_shifts(fill: &[u8], width: usize, height: usize, radius: f32) -> Vec<u8> {
    // Far below any reach: a pixel that spreads nothing.
    const NONE: i16 = -1024;
    let (w, h) = (width, height);
    let reach = halo_reach(radius);
    // The mask with `reach` pixels of border all round.
    let (pw, ph) = (w + 2 * reach, h + 2 * reach);
    let mut src = vec![NONE; pw * ph];
    for y in 0..h {
        let out = &mut src[(y + reach) * pw + reach..(y + reach) * pw + reach + w];
        for (x, o) in out.iter_mut().enumerate() {
            if spreads(fill, (w, h), x, y) {
                *o = i16::from(fill[y * w + x]);
            }
        }
    }
    let mut most = vec![NONE; pw * ph];
    for (dx, dy, base) in halo_disc(radius) {
        // Past 255 a pixel's spread is full whatever its coverage, as at 255.
        let base = base.min(255) as i16;
        // Pixel i takes from pixel i - shift; within the border a shift of at most `reach`
        // either way reads only border for pixels of another row.
        let shift = dy * pw as isize + dx;
        let (lo, hi) = (shift.max(0) as usize, (pw * ph) as isize + shift.min(0));
        let (dst, from) = (&mut most[lo..hi as usize], &src[(lo as isize - shift) as usize..(hi - shift) as usize]);
        for (m, &s) in dst.iter_mut().zip(from) {
            *m = (*m).max(s + base);
        }
    }
    let mut halo = Vec::with_capacity(w * h);
    for y in 0..h {
        let row = &most[(y + reach) * pw + reach..(y + reach) * pw + reach + w];
        halo.extend(row.iter().map(|&m| m.clamp(0, 255) as u8));
    }
    halo
}

/// [`dilate`] pixel by pixel: each inked pixel spreads over the disc in turn.
fn spread_by_pixel(fill: &[u8], width: usize, height: usize, radius: f32) -> Vec<u8> {
    let kernel = halo_disc(radius);
    let mut halo = vec![0u8; fill.len()];
    let (w, h) = (width as isize, height as isize);
    for y in 0..h {
        for x in 0..w {
            if !spreads(fill, (width, height), x as usize, y as usize) {
                continue;
            }
            let cov = i32::from(fill[(y * w + x) as usize]);
            for &(dx, dy, base) in &kernel {
                let (nx, ny) = (x + dx, y + dy);
                if nx < 0 || ny < 0 || nx >= w || ny >= h {
                    continue;
                }
                // In 0..=255 after the clamp.
                let v = (base + cov).clamp(0, 255) as u8;
                let slot = &mut halo[(ny * w + nx) as usize];
                if v > *slot {
                    *slot = v;
                }
            }
        }
    }
    halo
}

/// Build a pixel-space path from an outline mapped by `ts`.
fn outline_path(outline: &Outline, ts: &Transform) -> Option<Path> {
    let mut pb = PathBuilder::with_capacity(outline.curves.len() + 8, outline.curves.len() * 3);
    let mut last: Option<ab_glyph::Point> = None;
    for curve in &outline.curves {
        let first = match curve {
            OutlineCurve::Line(p, _) | OutlineCurve::Quad(p, _, _) | OutlineCurve::Cubic(p, ..) => *p,
        };
        // A curve not starting where the previous ended begins a new contour.
        if last != Some(first) {
            if last.is_some() {
                pb.close();
            }
            let p = map_point(ts, first);
            pb.move_to(p.x, p.y);
        }
        let end = match *curve {
            OutlineCurve::Line(_, p) => {
                let q = map_point(ts, p);
                pb.line_to(q.x, q.y);
                p
            }
            OutlineCurve::Quad(_, c, p) => {
                let (c1, q) = (map_point(ts, c), map_point(ts, p));
                pb.quad_to(c1.x, c1.y, q.x, q.y);
                p
            }
            OutlineCurve::Cubic(_, c1, c2, p) => {
                let (d1, d2, q) = (map_point(ts, c1), map_point(ts, c2), map_point(ts, p));
                pb.cubic_to(d1.x, d1.y, d2.x, d2.y, q.x, q.y);
                p
            }
        };
        last = Some(end);
    }
    if last.is_some() {
        pb.close();
    }
    pb.finish()
}

/// Pixels that must come out right: left, top, right, bottom (right and bottom exclusive).
type Clip = [i64; 4];

/// Can a glyph whose outline has the pixel bounds `b` (x0, y0, x1, y1), drawn with a
/// mask padded by `pad`, not reach `clip`? The mask lies within its points' bounds and
/// its pad; the outline's bounds hold its points, and half the glyph's size more is room
/// to spare.
fn beyond(clip: Clip, b: (f32, f32, f32, f32), pad: f32) -> bool {
    let (x0, y0, x1, y1) = b;
    let spare = pad + 2.0 + 0.5 * (x1 - x0).max(y1 - y0);
    let [l, t, r, bottom] = clip.map(|v| v as f32);
    x1 + spare < l || y1 + spare < t || x0 - spare > r || y0 - spare > bottom
}

/// The clip of a whole pixmap.
fn whole(pixmap: &Pixmap) -> Clip {
    [0, 0, i64::from(pixmap.width()), i64::from(pixmap.height())]
}

/// Composite prepared glyphs: every halo first, then every fill, so no halo
/// covers a neighbouring glyph.
fn composite(pixmap: &mut Pixmap, glyphs: &[Prepared], style: &TextStyle, clip: Clip) {
    if let Some((halo_color, halo_width)) = style.visible_halo() {
        let premul = halo_color.premultiply().to_color_u8();
        for g in glyphs {
            match g {
                Prepared::Mask { mask, x, y } => {
                    blend_mask(pixmap, mask, &mask.halo, *x, *y, premul, clip);
                }
                Prepared::Path(path) => {
                    let paint = solid_paint(halo_color);
                    let stroke = Stroke { width: 2.0 * halo_width, line_join: LineJoin::Round, ..Default::default() };
                    pixmap.stroke_path(path, &paint, &stroke, Transform::identity(), None);
                }
            }
        }
    }
    let premul = style.color.premultiply().to_color_u8();
    for g in glyphs {
        match g {
            Prepared::Mask { mask, x, y } => blend_mask(pixmap, mask, &mask.fill, *x, *y, premul, clip),
            Prepared::Path(path) => {
                let paint = solid_paint(style.color);
                pixmap.fill_path(path, &paint, FillRule::Winding, Transform::identity(), None);
            }
        }
    }
}

/// An anti-aliased solid paint.
fn solid_paint(color: Color) -> Paint<'static> {
    let mut paint = Paint { anti_alias: true, ..Default::default() };
    paint.set_color(color);
    paint
}

/// `x / 255` rounded, for `x <= 255 * 255`.
fn div255(x: u32) -> u32 {
    ((x + 128) * 257) >> 16
}

/// Source-over a colour through a coverage mask placed at the mask's offset
/// from anchor pixel (ax, ay); clipped to the pixmap and to `clip`.
fn blend_mask(
    pixmap: &mut Pixmap,
    mask: &GlyphMask,
    coverage: &[u8],
    ax: i64,
    ay: i64,
    color: PremultipliedColorU8,
    clip: Clip,
) {
    if coverage.len() != mask.width * mask.height || color.alpha() == 0 {
        return;
    }
    let (pw, ph) = (i64::from(pixmap.width()), i64::from(pixmap.height()));
    let left = ax + mask.left;
    let top = ay + mask.top;
    let x0 = left.max(0).max(clip[0]);
    let y0 = top.max(0).max(clip[1]);
    let x1 = (left + mask.width as i64).min(pw).min(clip[2]);
    let y1 = (top + mask.height as i64).min(ph).min(clip[3]);
    if x0 >= x1 || y0 >= y1 {
        return;
    }
    let src = [u32::from(color.red()), u32::from(color.green()), u32::from(color.blue()), u32::from(color.alpha())];
    let opaque = color.alpha() == 255;
    let stride = pw as usize;
    let (pixels, _) = pixmap.data_mut().as_chunks_mut::<4>();
    let solid = src.map(|s| s as u8);
    let n = (x1 - x0) as usize;
    for y in y0..y1 {
        // All in range: clipped to the mask and the pixmap above.
        let mask_at = (y - top) as usize * mask.width + (x0 - left) as usize;
        let pix_at = y as usize * stride + x0 as usize;
        let row = coverage[mask_at..mask_at + n].iter().zip(&mut pixels[pix_at..pix_at + n]);
        for (&m, px) in row {
            if m == 0 {
                continue;
            }
            if m == 255 && opaque {
                *px = solid;
                continue;
            }
            let m = u32::from(m);
            let sa = div255(src[3] * m);
            let inv = 255 - sa;
            for (d, s) in px.iter_mut().zip(src) {
                // Premultiplied source-over; never exceeds 255.
                *d = (div255(s * m) + div255(u32::from(*d) * inv)).min(255) as u8;
            }
        }
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

/// A text laid out for one path ([`Fonts::text_on_path`]).
pub struct PathText {
    glyphs: Vec<LineGlyph>,
    width: f32,
    line: Polyline,
    /// Half the x-height, px: the baseline's drop below the path when centred on it.
    shift: f32,
    /// What [`PathText::place_boxed`] found, by start and offset (their bits).
    placed: std::sync::Mutex<PlacedByStart>,
}

/// Glyphs placed along a path and their boxes ([`PathText::place_boxed`]).
pub type PlacedText = (Vec<PlacedGlyph>, Vec<[f32; 4]>);

/// [`PlacedText`]s by the bits of their start and offset.
type PlacedByStart = FxHashMap<(u32, u32), Option<Arc<PlacedText>>>;

impl PathText {
    /// [`PathText::place`] with the boxes of the glyphs placed (`boxes`, as
    /// [`Fonts::placed_boxes`] gives them for the text's style), found once for each
    /// start and offset: a name tried at the same places in many map states.
    pub fn place_boxed(
        &self,
        start: f32,
        offset_px: f32,
        boxes: impl FnOnce(&[PlacedGlyph]) -> Vec<[f32; 4]>,
    ) -> Option<Arc<PlacedText>> {
        let key = (start.to_bits(), offset_px.to_bits());
        if let Some(found) = self.placed.lock().unwrap_or_else(PoisonError::into_inner).get(&key) {
            return found.clone();
        }
        let placed = self.place(start, offset_px).map(|glyphs| {
            let b = boxes(&glyphs);
            Arc::new((glyphs, b))
        });
        self.placed.lock().unwrap_or_else(PoisonError::into_inner).entry(key).or_insert(placed).clone()
    }

    /// The glyphs placed from `start` px along the path, lifted `offset_px` ([`Fonts::layout_on_path_offset`]).
    pub fn place(&self, start: f32, offset_px: f32) -> Option<Vec<PlacedGlyph>> {
        if !start.is_finite() || start < 0.0 {
            return None;
        }
        let (glyphs, width, line) = (&self.glyphs, self.width, &self.line);
        let end = start + width;
        if end > line.length() {
            return None;
        }
        let a = line.point_at(start);
        let b = line.point_at(end);
        let reversed = b.0 < a.0;
        // Point of the path `d` px along the text.
        let at = |d: f32| {
            if reversed {
                line.point_at(end - d)
            } else {
                line.point_at(start + d)
            }
        };
        let shift = self.shift - offset_px;

        let mut placed: Vec<PlacedGlyph> = Vec::with_capacity(glyphs.len());
        let mut prev_angle: Option<f32> = None;
        let mut turned = 0.0;
        for g in glyphs {
            let p0 = at(g.x);
            let p1 = at(g.x + g.advance);
            let (dx, dy) = (p1.0 - p0.0, p1.1 - p0.1);
            let chord = dx.hypot(dy);
            let angle = if chord > 1e-3 {
                if g.advance > 1.0 && chord < MIN_CHORD_RATIO * g.advance {
                    return None;
                }
                dy.atan2(dx)
            } else {
                // Zero-width glyph: use the direction of the path around it.
                let q1 = at(g.x + 0.5);
                let q0 = at((g.x - 0.5).max(0.0));
                (q1.1 - q0.1).atan2(q1.0 - q0.0)
            };
            if angle.abs() > MAX_TILT {
                return None;
            }
            if let Some(prev) = prev_angle {
                let bend = wrap_angle(angle - prev).abs();
                turned += bend;
                if bend > MAX_BEND || turned > MAX_TURN {
                    return None;
                }
            }
            prev_angle = Some(angle);
            let (sin, cos) = angle.sin_cos();
            // Move the origin along the glyph's "down" normal (-sin, cos).
            let (x, y) = (p0.0 - sin * shift, p0.1 + cos * shift);
            // Lifted off a bend, the letters spread apart on its outside and crowd on its
            // inside: each must follow the last at about its advance.
            if let Some(last) = placed.last() {
                let gap = (x - last.x).hypot(y - last.y);
                if last.advance > 1.0 && !(MIN_CHORD_RATIO..=1.0 / MIN_CHORD_RATIO).contains(&(gap / last.advance)) {
                    return None;
                }
            }
            placed.push(PlacedGlyph { ch: g.ch, x, y, angle, advance: g.advance });
        }
        Some(placed)
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
        // Segment containing d: ends at the first vertex further than d.
        let i = self.cumulative.partition_point(|&c| c <= d).clamp(1, n - 1);
        let (c0, c1) = (self.cumulative[i - 1], self.cumulative[i]);
        let t = ((d - c0) / (c1 - c0)).clamp(0.0, 1.0);
        let (p0, p1) = (self.points[i - 1], self.points[i]);
        (p0.0 + (p1.0 - p0.0) * t, p0.1 + (p1.1 - p0.1) * t)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_halo_spread_by_shifted_copies_is_the_halo_spread_pixel_by_pixel() {
        // Random masks (flat insides, anti-aliased edges, empty and full ones, one pixel
        // wide or high) and the halos of the radii styles use and beyond.
        let mut seed = 0x5eed_u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for case in 0..400 {
            let (w, h) = (1 + (next() % 24) as usize, 1 + (next() % 24) as usize);
            let fill: Vec<u8> = (0..w * h)
                .map(|_| match next() % 4 {
                    0 | 1 => 255,
                    2 => 0,
                    _ => (next() % 256) as u8,
                })
                .collect();
            let fill = if case % 7 == 0 {
                vec![255; w * h]
            } else if case % 11 == 0 {
                vec![0; w * h]
            } else {
                fill
            };
            for radius in [0.5f32, 1.0, 1.4, 2.0, 2.6, 3.5, 6.0] {
                let one = spread_by_shifts(&fill, w, h, radius);
                assert_eq!(one, spread_by_pixel(&fill, w, h, radius), "{w}x{h} r {radius}");
                assert_eq!(one, dilate(&fill, w, h, radius), "{w}x{h} r {radius}");
            }
        }
    }
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
    fn every_inked_pixel_lies_in_an_ink_box() {
        // Tile runs key cells by these boxes: a pixel inked outside them would be left
        // stale by a partial redraw.
        let fonts = Fonts::embedded();
        let inside = |boxes: &[[f32; 4]], x: usize, y: usize| {
            let (x, y) = (x as f32 + 0.5, y as f32 + 0.5);
            boxes.iter().any(|b| x >= b[0] && x <= b[2] && y >= b[1] && y <= b[3])
        };
        let check = |pm: &Pixmap, boxes: &[[f32; 4]], what: &str| {
            let w = pm.width() as usize;
            let stray = pm.pixels().iter().enumerate().filter(|(i, p)| p.alpha() > 0 && !inside(boxes, i % w, i / w));
            assert_eq!(stray.count(), 0, "{what}: pixels inked outside the ink boxes");
        };
        for face in [Face::Sans, Face::SansBold, Face::Serif, Face::SerifItalic] {
            for (size, halo) in [(9.0, None), (13.0, Some(2.0)), (31.0, Some(3.5))] {
                let mut st = style(face, size);
                st.halo = halo.map(|w| (Color::WHITE, w));
                st.letter_spacing_px = 1.5;
                for (text, (x, y)) in
                    [("Turkistan (Yasy) Qazaq", (10.0, 60.0)), ("Түркістан, Жоңғар қонтайшысы", (11.37, 60.81))]
                {
                    let mut pm = pixmap(520, 120);
                    fonts.draw(&mut pm, text, x, y, &st);
                    check(&pm, &fonts.ink_boxes(text, x, y, &st), &format!("{face:?} {size} {text}"));
                }
                let path: Vec<(f32, f32)> =
                    (0..40).map(|k| (10.0 + k as f32 * 10.0, 150.0 + 25.0 * (k as f32 * 0.08).sin())).collect();
                let placed = fonts.layout_on_path("Syr Darya", &path, 30.0, &st).expect("the name fits its line");
                let mut pm = pixmap(420, 260);
                fonts.draw_placed(&mut pm, &placed, &st);
                check(&pm, &fonts.placed_ink_boxes(&placed, &st), &format!("{face:?} {size} on a line"));
            }
        }
    }

    #[test]
    fn a_text_laid_on_a_path_is_kept_for_the_same_text_size_and_path_only() {
        let fonts = Fonts::embedded();
        let st = style(Face::SerifItalic, 13.0);
        let path: Vec<(f32, f32)> = (0..30).map(|k| (k as f32 * 12.0, 40.0 + 9.0 * (k as f32 * 0.3).sin())).collect();
        let a = fonts.text_on_path("Ili", &path, &st).expect("fits");
        let again = fonts.text_on_path("Ili", &path, &st).expect("fits");
        assert!(Arc::ptr_eq(&a, &again), "the same text, size and path: the same layout");
        let mut moved = path.clone();
        moved[7].1 += 0.25;
        for other in [
            fonts.text_on_path("Ili", &moved, &st),
            fonts.text_on_path("Ilek", &path, &st),
            fonts.text_on_path("Ili", &path, &style(Face::SerifItalic, 14.0)),
            fonts.text_on_path("Ili", &path, &TextStyle { letter_spacing_px: 2.0, ..st.clone() }),
        ] {
            assert!(!Arc::ptr_eq(&a, &other.expect("fits")), "another input: another layout");
        }
        // Placed with boxes: what placing and measuring afresh give, found once.
        for (start, offset) in [(10.0, 0.0), (55.5, 7.15), (10.0, -7.15), (400.0, 0.0)] {
            let fresh = fonts.layout_on_path_offset("Ili", &path, start, offset, &st);
            let boxed = a.place_boxed(start, offset, |g| fonts.placed_boxes(g, &st));
            match (fresh, &boxed) {
                (Some(g), Some(p)) => assert_eq!((&g, &fonts.placed_boxes(&g, &st)), (&p.0, &p.1)),
                (None, None) => {}
                (f, b) => panic!("at {start}: {:?} against {:?}", f.is_some(), b.is_some()),
            }
            let kept = a.place_boxed(start, offset, |_| panic!("found again, not measured"));
            assert_eq!(boxed.is_some(), kept.is_some());
            if let (Some(b), Some(k)) = (&boxed, &kept) {
                assert!(Arc::ptr_eq(b, k));
            }
        }
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
                let id = fonts.slot(face).glyph(ch);
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
    fn clipped_text_is_the_whole_text_inside_the_clip() {
        let fonts = Fonts::embedded();
        let st = TextStyle { halo: Some((Color::from_rgba8(250, 240, 220, 200), 2.0)), ..style(Face::Serif, 19.0) };
        let placed: Vec<PlacedGlyph> = "Сарысу"
            .chars()
            .enumerate()
            .map(|(i, ch)| PlacedGlyph {
                ch,
                x: 12.0 + 13.5 * i as f32,
                y: 70.0 - 4.0 * i as f32,
                angle: -0.3,
                advance: 13.0,
            })
            .collect();
        let draw = |pm: &mut Pixmap, clip: Option<[u32; 4]>| {
            let whole = [0, 0, pm.width(), pm.height()];
            fonts.draw_clipped(pm, "Туркестан", 3.25, 30.5, &st, clip.unwrap_or(whole));
            fonts.draw_placed_clipped(pm, &placed, &st, clip.unwrap_or(whole));
        };
        let mut whole = pixmap(120, 90);
        fonts.draw(&mut whole, "Туркестан", 3.25, 30.5, &st);
        fonts.draw_placed(&mut whole, &placed, &st);
        let mut unclipped = pixmap(120, 90);
        draw(&mut unclipped, None);
        assert!(whole.data() == unclipped.data());
        for clip in [[0, 0, 16, 16], [16, 16, 48, 48], [100, 10, 120, 90], [30, 60, 31, 61], [0, 0, 5, 90]] {
            let mut part = pixmap(120, 90);
            draw(&mut part, Some(clip));
            for y in clip[1]..clip[3] {
                for x in clip[0]..clip[2] {
                    assert_eq!(pixel(&part, x, y), pixel(&whole, x, y), "{clip:?} at {x},{y}");
                }
            }
        }
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

        let m = fonts.measure("Karatau", &st);
        // Clockwise quarter turn: the text reads downwards with the glyph tops
        // facing right, so the baseline is at cx - (ascent - descent) / 2 and
        // the (descender-free) glyphs lie to the right of it.
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

    #[test]
    fn huge_glyphs_are_painted_as_paths() {
        let fonts = Fonts::embedded();
        let st = TextStyle { halo: Some((Color::from_rgba8(255, 255, 255, 255), 4.0)), ..style(Face::Sans, 5000.0) };
        // The stem of a 5000 px "I" (too big for a mask) covers the whole small pixmap.
        let mut pm = pixmap(40, 40);
        fonts.draw(&mut pm, "I", -440.0, 2000.0, &st);
        let c = pixel(&pm, 20, 20);
        assert_eq!((c.red(), c.green(), c.blue(), c.alpha()), (20, 40, 200, 255));
        let mut prepared = Vec::new();
        let id = fonts.slot(Face::Sans).font.glyph_id('I');
        let scale = fonts.scale(&st);
        let ts = Transform::from_translate(-440.0, 2000.0).pre_scale(scale.sx, -scale.sy);
        fonts.prepare(&pm, &st, id, ts, whole(&pm), &mut prepared);
        assert!(matches!(prepared.as_slice(), [Prepared::Path(_)]));
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
        // Runs up and to the left: flipped, the text reads down to the right at +45°.
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

    /// Render `text` both through the mask pipeline and as tiny-skia paths
    /// (fill + round-joined stroke, the reference) and compare: returns the
    /// mean alpha difference over inked pixels, the centroid shift (px) and
    /// the ratio of total ink.
    fn mask_vs_path(text: &str, angle: f32, st: &TextStyle) -> (f32, f32, f32) {
        let fonts = Fonts::embedded();
        let scale = fonts.scale(st);
        let (glyphs, _) = fonts.layout_line(text, st);
        let line = rotation(angle, 30.25, 60.5);
        let mut masks = Vec::new();
        let mut paths = Vec::new();
        let mut pm_mask = pixmap(200, 120);
        for g in &glyphs {
            let ts = line.pre_translate(g.x, 0.0).pre_scale(scale.sx, -scale.sy);
            fonts.prepare(&pm_mask, st, g.id, ts, whole(&pm_mask), &mut masks);
            if let Some(outline) = fonts.outline(st.face, g.id) {
                paths.extend(outline_path(&outline, &ts).map(Prepared::Path));
            }
        }
        assert!(masks.iter().all(|m| matches!(m, Prepared::Mask { .. })));
        let clip = whole(&pm_mask);
        composite(&mut pm_mask, &masks, st, clip);
        let mut pm_path = pixmap(200, 120);
        let clip = whole(&pm_path);
        composite(&mut pm_path, &paths, st, clip);
        let (mut diff, mut inked) = (0.0f64, 0.0f64);
        for (a, b) in pm_mask.pixels().iter().zip(pm_path.pixels()) {
            if a.alpha() > 0 || b.alpha() > 0 {
                inked += 1.0;
                diff += f64::from(a.alpha().abs_diff(b.alpha()));
            }
        }
        assert!(inked > 100.0, "nothing drawn");
        let centroid = |pm: &Pixmap| {
            let (mut sx, mut sy, mut sa) = (0.0f64, 0.0f64, 0.0f64);
            for (i, p) in pm.pixels().iter().enumerate() {
                let a = f64::from(p.alpha());
                sx += a * (i % 200) as f64;
                sy += a * (i / 200) as f64;
                sa += a;
            }
            (sx / sa, sy / sa, sa)
        };
        let (ax, ay, aa) = centroid(&pm_mask);
        let (bx, by, ba) = centroid(&pm_path);
        ((diff / inked) as f32, (ax - bx).hypot(ay - by) as f32, (aa / ba) as f32)
    }

    #[test]
    fn masks_match_tiny_skia_paths() {
        let white = Color::from_rgba8(255, 255, 255, 255);
        let halo = TextStyle { halo: Some((white, 1.5)), ..style(Face::Serif, 16.0) };
        let wide = TextStyle { halo: Some((white, 3.0)), ..style(Face::SansBold, 20.0) };
        for (st, angle) in [
            (style(Face::Sans, 14.0), 0.0),
            (style(Face::Sans, 14.0), 0.4),
            (halo.clone(), 0.0),
            (halo, -0.9),
            (wide, 0.25),
        ] {
            let (mean, shift, ink) = mask_vs_path("Ақтөбе Wg", angle, &st);
            // tiny-skia quantises coverage to 1/4 px horizontally; the masks use
            // exact areas and quarter-pixel glyph positions, so only small
            // differences along edges are expected.
            let what = format!("{:?} halo {:?} angle {angle}", st.face, st.halo);
            assert!(mean < 16.0, "{what}: mean alpha difference {mean}");
            assert!(shift < 0.35, "{what}: centroid shift {shift}");
            assert!((ink - 1.0).abs() < 0.06, "{what}: ink ratio {ink}");
        }
    }

    /// Alpha-weighted centroid of a pixmap.
    fn centroid(pm: &Pixmap) -> (f64, f64) {
        let w = pm.width() as usize;
        let (mut sx, mut sy, mut sa) = (0.0f64, 0.0f64, 0.0f64);
        for (i, p) in pm.pixels().iter().enumerate() {
            let a = f64::from(p.alpha());
            sx += a * (i % w) as f64;
            sy += a * (i / w) as f64;
            sa += a;
        }
        (sx / sa, sy / sa)
    }

    #[test]
    fn subpixel_positions_are_honoured() {
        let fonts = Fonts::embedded();
        let st = TextStyle { halo: Some((Color::from_rgba8(255, 255, 255, 255), 1.0)), ..style(Face::Sans, 13.0) };
        let mut base = pixmap(80, 40);
        fonts.draw(&mut base, "Il", 10.0, 25.0, &st);
        let (bx, by) = centroid(&base);
        // Positions are honoured to a quarter pixel; the halo's corners are
        // approximated on the pixel grid, hence the tolerance.
        for (dx, dy) in [(0.25, 0.0), (0.5, 0.0), (0.75, 0.5), (1.0, 0.25), (3.5, -2.75)] {
            let mut pm = pixmap(80, 40);
            fonts.draw(&mut pm, "Il", 10.0 + dx, 25.0 + dy, &st);
            let (x, y) = centroid(&pm);
            assert!((x - bx - f64::from(dx)).abs() < 0.1, "dx {dx}: {x} vs {bx}");
            assert!((y - by - f64::from(dy)).abs() < 0.1, "dy {dy}: {y} vs {by}");
        }
    }

    #[test]
    fn translucent_text_blends_like_tiny_skia() {
        let fonts = Fonts::embedded();
        let color = Color::from_rgba8(200, 30, 30, 128);
        let st = TextStyle {
            halo: Some((Color::from_rgba8(20, 200, 20, 100), 2.0)),
            ..TextStyle::new(Face::SansBold, 40.0, color)
        };
        let background = Color::from_rgba8(40, 60, 220, 255);
        let mut pm = pixmap(60, 60);
        pm.fill(background);
        fonts.draw(&mut pm, "I", 10.0, 45.0, &st);
        // Reference: halo colour then fill colour over the background.
        let mut reference = pixmap(1, 1);
        reference.fill(background);
        let rect = tiny_skia::Rect::from_xywh(0.0, 0.0, 1.0, 1.0).expect("valid rect");
        reference.fill_rect(rect, &solid_paint(Color::from_rgba8(20, 200, 20, 100)), Transform::identity(), None);
        reference.fill_rect(rect, &solid_paint(color), Transform::identity(), None);
        let want = pixel(&reference, 0, 0);
        // Middle of the stem (fully covered by halo and fill).
        let row = 30;
        let inked: Vec<u32> = (0..60).filter(|&x| pixel(&pm, x, row) != pixel(&pm, 0, row)).collect();
        let mid = (inked[0] + inked[inked.len() - 1]) / 2;
        let got = pixel(&pm, mid, row);
        for (g, w) in [
            (got.red(), want.red()),
            (got.green(), want.green()),
            (got.blue(), want.blue()),
            (got.alpha(), want.alpha()),
        ] {
            assert!(g.abs_diff(w) <= 2, "{got:?} vs {want:?}");
        }
        // The background far away is untouched.
        let untouched = pixel(&pm, 0, 0);
        assert_eq!((untouched.red(), untouched.blue(), untouched.alpha()), (40, 220, 255));
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
