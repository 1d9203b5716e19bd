//! The drawing surface between the painters and an output format.
//!
//! Layer painters, labels and furniture draw through [`Canvas`]: paths filled and stroked
//! (with dashes), area patterns, text runs, placed glyphs, raster layers and named layer
//! groups. A tiny-skia [`Pixmap`] is the fast raster surface (PNG, tiles, animation);
//! [`super::vector::SvgCanvas`] writes the same drawing as SVG (and through it PDF).
//! Coordinates are pixels of the view in both.

use super::paint::draw_pattern;
use super::text::{Fonts, PlacedGlyph, TextStyle};
use crate::style::{Pattern, Rgba};
use tiny_skia::{FillRule, LineCap, LineJoin, Path, PathBuilder, Pixmap, Rect, Stroke, StrokeDash, Transform};

/// A colour with an extra opacity (every ink is drawn anti-aliased).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Ink {
    /// The colour (its own alpha is multiplied by `opacity`).
    pub color: Rgba,
    /// Opacity, 0–1.
    pub opacity: f32,
}

impl Ink {
    /// An ink of `color` at `opacity`.
    pub fn new(color: Rgba, opacity: f32) -> Ink {
        Ink { color, opacity }
    }

    /// The effective alpha, 0–1.
    pub fn alpha(&self) -> f32 {
        (f32::from(self.color.3) / 255.0 * self.opacity).clamp(0.0, 1.0)
    }
}

/// How a line is stroked: width, dashes, caps and joins (px).
#[derive(Clone, Debug, PartialEq)]
pub struct Pen {
    /// Line width, px.
    pub width: f32,
    /// Dash pattern, px (on, off, …); empty for a solid line.
    pub dash: Vec<f32>,
    /// Line ends (and ends of every dash).
    pub cap: LineCap,
    /// Corners.
    pub join: LineJoin,
}

impl Pen {
    /// The tiny-skia stroke of this pen.
    pub fn skia(&self) -> Stroke {
        let dash = if self.dash.is_empty() { None } else { StrokeDash::new(self.dash.clone(), 0.0) };
        Stroke { width: self.width, line_cap: self.cap, line_join: self.join, dash, ..Default::default() }
    }
}

/// The named groups a map is drawn in, in SVG `<g id=…>` and for editors' layer panels.
pub mod group {
    /// Polity fills and their patterns.
    pub const TERRITORIES: &str = "territories";
    /// Borders between holders.
    pub const BORDERS: &str = "borders";
    /// Seas and lakes.
    pub const WATER: &str = "water";
    /// Rivers.
    pub const RIVERS: &str = "rivers";
    /// The graticule.
    pub const GRATICULE: &str = "graticule";
    /// Mountain areas.
    pub const RELIEF: &str = "relief";
    /// Campaign routes.
    pub const ROUTES: &str = "routes";
    /// Battle symbols.
    pub const BATTLES: &str = "battles";
    /// Town markers.
    pub const CITIES: &str = "cities";
    /// The `--compare` highlight.
    pub const COMPARE: &str = "compare";
    /// Every placed label.
    pub const LABELS: &str = "labels";
    /// Title, legend, scale bar, credit, neatline, timeline.
    pub const FURNITURE: &str = "furniture";
}

/// A surface the renderer draws on. Every coordinate and size is in pixels of the view.
pub trait Canvas {
    /// Width and height, px.
    fn size(&self) -> (u32, u32);
    /// Send what follows to the named layer group (see [`group`]). Raster surfaces ignore it.
    fn group(&mut self, id: &'static str);
    /// Fill a path.
    fn fill_path(&mut self, path: &Path, ink: Ink, rule: FillRule);
    /// Stroke a path with a pen.
    fn stroke_path(&mut self, path: &Path, ink: Ink, pen: &Pen);
    /// Fill an axis-aligned rectangle (the raster surface has a fast path for it).
    fn fill_rect(&mut self, rect: Rect, ink: Ink) {
        self.fill_path(&PathBuilder::from_rect(rect), ink, FillRule::Winding);
    }
    /// Fill closed pixel rings (even-odd) with a pattern of lines or dots `spacing` px
    /// apart and `width` px wide, on one grid across the whole image.
    fn pattern(&mut self, rings: &[Vec<(f32, f32)>], kind: Pattern, color: Rgba, spacing: f32, width: f32);
    /// One line of text with its left end at x and its baseline at y (halo under the fill).
    fn text(&mut self, text: &str, x: f32, y: f32, style: &TextStyle);
    /// Glyphs laid along a path by [`Fonts::layout_on_path`]; `text` is the whole string.
    fn glyphs(&mut self, text: &str, glyphs: &[PlacedGlyph], style: &TextStyle);
    /// A premultiplied raster layer of the canvas's size, composited over what is drawn.
    fn image(&mut self, layer: &Pixmap);
    /// A `width`×`height` px panel at (x, y) with a background colour, drawn by `draw` in
    /// its own coordinates and clipped to itself (an enlargement inset).
    fn inset(&mut self, x: f32, y: f32, size: (u32, u32), background: Rgba, draw: &mut dyn FnMut(&mut dyn Canvas));
    /// What `draw` draws, which is all that a layer (a name, and a number for its parts)
    /// draws under `key` (a digest of everything it reads that can change from one
    /// drawing of the same view and style to the next), and the bytes `draw` returns
    /// (what else the drawing found, such as which features it drew). A surface that
    /// keeps operations from one drawing of a place to the next may take both from its
    /// last drawing of this layer with this key instead of calling `draw`.
    fn kept(
        &mut self,
        layer: (&'static str, u64),
        key: u128,
        draw: &mut dyn FnMut(&mut dyn Canvas) -> Vec<u8>,
    ) -> Vec<u8>;
    /// A town's marker outlined with `pen`: its shape filled, then stroked, then its dot
    /// filled. A surface that keeps operations may keep it as one small record (a
    /// metatile can hold a hundred thousand towns); the pixels are those of these calls.
    fn marker(&mut self, m: &Marker, pen: &Pen) {
        m.draw_on(self, pen);
    }
}

/// The outline of a town's marker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MarkerShape {
    /// A disc (a town, a capital).
    Circle,
    /// A square (a fortress).
    Square,
    /// A diamond, 1.2 × the radius tall.
    Diamond,
}

/// A town's marker: a shape of radius `r` px centred at (x, y), filled with `fill` and
/// outlined in `ink`, with a dot of `dot` at its centre when there is one.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Marker {
    /// Its outline.
    pub shape: MarkerShape,
    /// Centre, px.
    pub x: f32,
    /// Centre, px.
    pub y: f32,
    /// Radius, px.
    pub r: f32,
    /// Fill colour.
    pub fill: Rgba,
    /// Outline colour.
    pub ink: Rgba,
    /// The colour of a dot at the centre (a capital's).
    pub dot: Option<Rgba>,
}

impl Marker {
    /// The radius of a capital's dot, as a share of its marker's.
    pub const DOT: f32 = 0.38;

    /// Everything that decides the marker's pixels besides its pen, as bytes to hash: its
    /// shape, whether it has a dot, its centre and radius, and its colours.
    pub fn bytes(&self) -> [u8; 25] {
        let mut b = [0u8; 25];
        b[0] = self.shape as u8 | u8::from(self.dot.is_some()) << 4;
        for (k, v) in [self.x, self.y, self.r].into_iter().enumerate() {
            b[1 + 4 * k..5 + 4 * k].copy_from_slice(&v.to_bits().to_le_bytes());
        }
        for (k, c) in [self.fill, self.ink, self.dot.unwrap_or(Rgba(0, 0, 0, 0))].into_iter().enumerate() {
            b[13 + 4 * k..17 + 4 * k].copy_from_slice(&[c.0, c.1, c.2, c.3]);
        }
        b
    }

    /// How far above and below its centre the marker's shape reaches, px (before its
    /// outline; across, it reaches `r`).
    pub fn reach(&self) -> f32 {
        match self.shape {
            MarkerShape::Diamond => self.r * 1.2,
            MarkerShape::Circle | MarkerShape::Square => self.r,
        }
    }

    /// Draw the marker on `canvas` as the fills and the stroke it stands for (what
    /// [`Canvas::marker`] does unless a surface keeps markers its own way).
    pub fn draw_on<C: Canvas + ?Sized>(&self, canvas: &mut C, pen: &Pen) {
        self.draw_with(pen, |path, ink, stroke| match stroke {
            Some(pen) => canvas.stroke_path(path, ink, pen),
            None => canvas.fill_path(path, ink, FillRule::EvenOdd),
        });
    }

    /// The marker as paths in drawing order, each with its ink and, for a stroke, the pen.
    pub fn draw_with(&self, pen: &Pen, mut draw: impl FnMut(&Path, Ink, Option<&Pen>)) {
        let (x, y, r) = (self.x, self.y, self.r);
        let path = match self.shape {
            MarkerShape::Circle => PathBuilder::from_circle(x, y, r),
            MarkerShape::Square => Rect::from_xywh(x - r, y - r, 2.0 * r, 2.0 * r).map(PathBuilder::from_rect),
            MarkerShape::Diamond => {
                let mut pb = PathBuilder::new();
                pb.move_to(x, y - r * 1.2);
                pb.line_to(x + r, y);
                pb.line_to(x, y + r * 1.2);
                pb.line_to(x - r, y);
                pb.close();
                pb.finish()
            }
        };
        if let Some(path) = path {
            draw(&path, Ink::new(self.fill, 1.0), None);
            draw(&path, Ink::new(self.ink, 1.0), Some(pen));
        }
        if let Some(dot) = self.dot {
            if let Some(p) = PathBuilder::from_circle(x, y, r * Marker::DOT) {
                draw(&p, Ink::new(dot, 1.0), None);
            }
        }
    }
}

impl Canvas for Pixmap {
    fn size(&self) -> (u32, u32) {
        (self.width(), self.height())
    }

    fn group(&mut self, _id: &'static str) {}

    fn fill_path(&mut self, path: &Path, ink: Ink, rule: FillRule) {
        super::raster::fill_path(self, path, ink, rule, Transform::identity());
    }

    fn stroke_path(&mut self, path: &Path, ink: Ink, pen: &Pen) {
        super::raster::stroke_path(self, path, ink, pen, Transform::identity());
    }

    fn fill_rect(&mut self, rect: Rect, ink: Ink) {
        super::paint::fill_rect_px(self, rect, ink);
    }

    fn pattern(&mut self, rings: &[Vec<(f32, f32)>], kind: Pattern, color: Rgba, spacing: f32, width: f32) {
        draw_pattern(self, rings, kind, color, spacing, width);
    }

    fn text(&mut self, text: &str, x: f32, y: f32, style: &TextStyle) {
        Fonts::embedded().draw(self, text, x, y, style);
    }

    fn glyphs(&mut self, _text: &str, glyphs: &[PlacedGlyph], style: &TextStyle) {
        Fonts::embedded().draw_placed(self, glyphs, style);
    }

    fn image(&mut self, layer: &Pixmap) {
        super::paint::composite_over(self, layer);
    }

    fn marker(&mut self, m: &Marker, pen: &Pen) {
        let (w, h) = (self.width(), self.height());
        if !super::stamp::marker(self, m, pen, (0, 0), 0..w, 0..h) {
            m.draw_on(self, pen);
        }
    }

    fn kept(&mut self, _: (&'static str, u64), _: u128, draw: &mut dyn FnMut(&mut dyn Canvas) -> Vec<u8>) -> Vec<u8> {
        draw(self)
    }

    fn inset(&mut self, x: f32, y: f32, size: (u32, u32), background: Rgba, draw: &mut dyn FnMut(&mut dyn Canvas)) {
        let Some(mut panel) = crate::output::new_pixmap(size.0.max(1), size.1.max(1), background.skia(1.0)) else {
            return;
        };
        draw(&mut panel);
        let paint = tiny_skia::PixmapPaint::default();
        self.draw_pixmap(x.round() as i32, y.round() as i32, panel.as_ref(), &paint, Transform::identity(), None);
    }
}
