//! Content keys for metatiles: a 128-bit hash of everything a metatile draws in a year.
//!
//! The key is taken from the drawing itself, not from a list of what might matter: the
//! metatile's map is drawn onto a [`KeyCanvas`], which rasterises nothing and hashes every
//! operation instead (each path's points, inks, pens, patterns, and every label's text,
//! style and position after placement). The holders and statuses of the areas the
//! metatile touches, the towns, routes, battles and fortified lines drawn in it, a polity
//! name whose anchor (placed over all the polity's land) moves in or out, a label pushed
//! aside by another — each changes some operation, so each changes the key. Pixels are a
//! function of the operations (tiny-skia is deterministic and nothing reads the surface
//! back), so equal keys mean byte-identical tiles, and a year whose metatile has a key
//! seen before is not rendered again.
//!
//! Drawing to a `KeyCanvas` costs a fraction of a render (no rasterising, no PNG
//! encoding); the key also serves as a cache key or ETag for a server ([`tile_key`]).

use super::grid::{MetaTile, TileId};
use crate::render::canvas::{Canvas, Ink, Pen};
use crate::render::text::{PlacedGlyph, TextStyle};
use crate::style::{Pattern, Rgba};
use tiny_skia::{Color, FillRule, Path, Pixmap, Rect};
use twox_hash::XxHash3_128;

/// The content key of a metatile in a year (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MetaKey(pub u128);

impl std::fmt::Display for MetaKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

/// The content key of one tile cut from a metatile with key `meta`: equal keys mean
/// identical PNG bytes (a server can use it as a cache key or ETag).
pub fn tile_key(meta: MetaKey, t: TileId) -> u128 {
    let mut h = XxHash3_128::with_seed(0x7469_6c65);
    h.write(&meta.0.to_le_bytes());
    h.write(&[t.z]);
    h.write(&t.x.to_le_bytes());
    h.write(&t.y.to_le_bytes());
    h.finish_128()
}

/// A surface that records nothing but a hash of every drawing operation.
pub struct KeyCanvas {
    size: (u32, u32),
    hash: XxHash3_128,
}

impl KeyCanvas {
    /// A key canvas for a metatile image of `size` px on a `background`, drawn for `look`
    /// (the metatile's position and the tile scale, buffer and language are hashed too).
    pub fn new(size: (u32, u32), background: Rgba, mt: &MetaTile, look: &super::TileLook) -> KeyCanvas {
        let mut c = KeyCanvas { size, hash: XxHash3_128::with_seed(0x6d65_7461) };
        c.u32(size.0);
        c.u32(size.1);
        c.rgba(background);
        c.bytes(&[mt.z]);
        c.u32(mt.x);
        c.u32(mt.y);
        c.u32(mt.size);
        c.u32(look.scale);
        c.u32(look.buffer_px);
        c.str(&look.lang);
        c
    }

    /// The key of everything drawn so far.
    pub fn finish(&self) -> MetaKey {
        MetaKey(self.hash.finish_128())
    }

    fn bytes(&mut self, b: &[u8]) {
        self.hash.write(b);
    }

    fn u32(&mut self, v: u32) {
        self.hash.write(&v.to_le_bytes());
    }

    fn f32(&mut self, v: f32) {
        self.hash.write(&v.to_bits().to_le_bytes());
    }

    fn str(&mut self, s: &str) {
        self.u32(s.len() as u32);
        self.bytes(s.as_bytes());
    }

    fn rgba(&mut self, c: Rgba) {
        self.bytes(&[c.0, c.1, c.2, c.3]);
    }

    fn color(&mut self, c: Color) {
        for v in [c.red(), c.green(), c.blue(), c.alpha()] {
            self.f32(v);
        }
    }

    fn ink(&mut self, ink: Ink) {
        self.rgba(ink.color);
        self.f32(ink.opacity);
        self.bytes(&[u8::from(ink.anti_alias)]);
    }

    fn path(&mut self, p: &Path) {
        self.u32(p.len() as u32);
        let verbs: Vec<u8> = p.verbs().iter().map(|v| *v as u8).collect();
        self.bytes(&verbs);
        let mut pts = Vec::with_capacity(p.points().len() * 8);
        for q in p.points() {
            pts.extend_from_slice(&q.x.to_bits().to_le_bytes());
            pts.extend_from_slice(&q.y.to_bits().to_le_bytes());
        }
        self.bytes(&pts);
    }

    fn text_style(&mut self, s: &TextStyle) {
        self.bytes(&[s.face as u8]);
        self.f32(s.size_px);
        self.color(s.color);
        match s.halo {
            Some((c, w)) => {
                self.bytes(&[1]);
                self.color(c);
                self.f32(w);
            }
            None => self.bytes(&[0]),
        }
        self.f32(s.letter_spacing_px);
    }
}

impl Canvas for KeyCanvas {
    fn size(&self) -> (u32, u32) {
        self.size
    }

    fn group(&mut self, _id: &'static str) {}

    fn fill_path(&mut self, path: &Path, ink: Ink, rule: FillRule) {
        self.bytes(b"F");
        self.ink(ink);
        self.bytes(&[rule as u8]);
        self.path(path);
    }

    fn stroke_path(&mut self, path: &Path, ink: Ink, pen: &Pen) {
        self.bytes(b"S");
        self.ink(ink);
        self.f32(pen.width);
        self.u32(pen.dash.len() as u32);
        for d in &pen.dash {
            self.f32(*d);
        }
        self.bytes(&[pen.cap as u8, pen.join as u8]);
        self.path(path);
    }

    fn fill_rect(&mut self, rect: Rect, ink: Ink) {
        self.bytes(b"R");
        self.ink(ink);
        for v in [rect.left(), rect.top(), rect.right(), rect.bottom()] {
            self.f32(v);
        }
    }

    fn pattern(&mut self, rings: &[Vec<(f32, f32)>], kind: Pattern, color: Rgba, spacing: f32, width: f32) {
        self.bytes(b"P");
        self.bytes(&[kind as u8]);
        self.rgba(color);
        self.f32(spacing);
        self.f32(width);
        self.u32(rings.len() as u32);
        for r in rings {
            self.u32(r.len() as u32);
            for &(x, y) in r {
                self.f32(x);
                self.f32(y);
            }
        }
    }

    fn text(&mut self, text: &str, x: f32, y: f32, style: &TextStyle) {
        self.bytes(b"T");
        self.str(text);
        self.f32(x);
        self.f32(y);
        self.text_style(style);
    }

    fn glyphs(&mut self, text: &str, glyphs: &[PlacedGlyph], style: &TextStyle) {
        self.bytes(b"G");
        self.str(text);
        self.u32(glyphs.len() as u32);
        for g in glyphs {
            self.u32(g.ch as u32);
            for v in [g.x, g.y, g.angle, g.advance] {
                self.f32(v);
            }
        }
        self.text_style(style);
    }

    fn image(&mut self, layer: &Pixmap) {
        self.bytes(b"I");
        self.u32(layer.width());
        self.u32(layer.height());
        self.bytes(layer.data());
    }

    fn inset(&mut self, x: f32, y: f32, size: (u32, u32), background: Rgba, draw: &mut dyn FnMut(&mut dyn Canvas)) {
        self.bytes(b"N");
        self.f32(x);
        self.f32(y);
        self.u32(size.0);
        self.u32(size.1);
        self.rgba(background);
        draw(self);
        self.bytes(b"n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tiny_skia::PathBuilder;

    fn look() -> crate::tiles::TileLook {
        crate::tiles::TileLook { scale: 1, buffer_px: 128, lang: "en".into(), image: Default::default() }
    }

    fn key_of(draw: impl Fn(&mut KeyCanvas)) -> MetaKey {
        let mt = MetaTile { z: 3, x: 0, y: 0, size: 8 };
        let mut c = KeyCanvas::new((512, 512), Rgba(1, 2, 3, 255), &mt, &look());
        draw(&mut c);
        c.finish()
    }

    #[test]
    fn any_change_to_an_operation_changes_the_key() {
        let line = |x: f32| {
            let mut pb = PathBuilder::new();
            pb.move_to(0.0, 0.0);
            pb.line_to(x, 10.0);
            pb.finish().unwrap()
        };
        let pen = Pen { width: 1.0, dash: vec![], cap: tiny_skia::LineCap::Butt, join: tiny_skia::LineJoin::Miter };
        let base = key_of(|c| c.stroke_path(&line(10.0), Ink::new(Rgba(9, 9, 9, 255), 1.0), &pen));
        assert_eq!(base, key_of(|c| c.stroke_path(&line(10.0), Ink::new(Rgba(9, 9, 9, 255), 1.0), &pen)));
        assert_ne!(base, key_of(|c| c.stroke_path(&line(10.5), Ink::new(Rgba(9, 9, 9, 255), 1.0), &pen)));
        assert_ne!(base, key_of(|c| c.stroke_path(&line(10.0), Ink::new(Rgba(9, 9, 8, 255), 1.0), &pen)));
        assert_ne!(base, key_of(|c| c.fill_path(&line(10.0), Ink::new(Rgba(9, 9, 9, 255), 1.0), FillRule::Winding)));
        assert_ne!(base, key_of(|_| {}));
        let style = TextStyle::new(crate::render::text::Face::Sans, 12.0, Color::BLACK);
        let a = key_of(|c| c.text("Turkistan", 5.0, 6.0, &style));
        assert_ne!(a, key_of(|c| c.text("Turkistan", 5.0, 7.0, &style)));
        assert_ne!(a, key_of(|c| c.text("Tashkent", 5.0, 6.0, &style)));
    }

    #[test]
    fn tile_keys_differ_by_tile() {
        let k = MetaKey(42);
        let a = tile_key(k, TileId { z: 3, x: 1, y: 2 });
        assert_eq!(a, tile_key(k, TileId { z: 3, x: 1, y: 2 }));
        assert_ne!(a, tile_key(k, TileId { z: 3, x: 2, y: 1 }));
        assert_ne!(a, tile_key(MetaKey(43), TileId { z: 3, x: 1, y: 2 }));
    }
}
