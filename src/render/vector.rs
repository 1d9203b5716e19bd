//! Vector surfaces: the map drawn as SVG, and that SVG converted to PDF.
//!
//! [`SvgCanvas`] receives the same drawing calls as the raster surface. Coordinates are
//! written in points (1/72 in): the drawing is laid out at the render's dpi, exactly as
//! the PNG of the same size and dpi, and scaled by 72/dpi when written, so the label
//! placement is the PNG's and the `viewBox` is the page in points. Every label is a
//! `<text>` element in a named DejaVu face with its halo as a stroke under the fill;
//! hatching is an SVG `<pattern>`; each map layer is a `<g id=…>` an editor can hide or
//! restyle. [`svg_to_pdf`] turns the document into a PDF page of the same size with the
//! fonts embedded and subset, and the text searchable.

use super::canvas::{Canvas, Ink, Marker, MarkerShape, Pen};
use super::text::{Face, Fonts, PlacedGlyph, TextStyle};
use crate::style::{Pattern, Rgba};
use std::collections::{BTreeSet, HashMap};
use std::fmt::Write;
use tiny_skia::{FillRule, LineCap, LineJoin, Path, PathSegment, Pixmap};

/// How an SVG document is written.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SvgOptions {
    /// Embed the faces used as `@font-face` data URLs, so the file shows the same type on
    /// a machine without DejaVu (larger files: about 0.8 MB per face).
    pub embed_fonts: bool,
    /// Convert every colour to its grey (luminance), for a black-and-white document.
    pub grayscale: bool,
    /// Draw letter-spaced and curved labels as glyph outlines under an invisible, unspaced
    /// copy of their text that spans the same stretch: PDF readers then find and copy
    /// whole words (they split text whose letters stand apart). Set for PDF output.
    pub text_layer: bool,
    /// The page size asked for, mm: the document's size exactly, whatever the rounding of
    /// the pixel grid the map was laid out on (default: the pixel size at the dpi).
    pub page_mm: Option<(f32, f32)>,
}

/// An SVG document being drawn; [`SvgCanvas::finish`] gives its text.
pub struct SvgCanvas {
    width: u32,
    height: u32,
    /// Points per pixel (72 / dpi).
    k: f32,
    opts: SvgOptions,
    /// Layer groups in order of first use, each with its content.
    groups: Vec<(&'static str, String)>,
    current: usize,
    /// Pattern definitions, by their key.
    patterns: HashMap<String, String>,
    defs: String,
    faces: BTreeSet<usize>,
    /// Prefix of every id this canvas defines (insets nest a canvas of their own).
    ids: String,
}

impl SvgCanvas {
    /// A page of `width`×`height` px at `dpi`, with a background colour.
    pub fn new(width: u32, height: u32, dpi: f32, background: Rgba, opts: SvgOptions) -> SvgCanvas {
        let mut c = SvgCanvas {
            width,
            height,
            k: 72.0 / dpi,
            opts,
            groups: Vec::new(),
            current: 0,
            patterns: HashMap::new(),
            defs: String::new(),
            faces: BTreeSet::new(),
            ids: String::new(),
        };
        c.group("background");
        let (w, h) = c.page_pt();
        let (w, h) = (num(w), num(h));
        let fill = c.color(background);
        let out = c.out();
        let _ = writeln!(out, r#"<rect width="{w}" height="{h}" fill="{fill}"/>"#);
        c
    }

    /// The finished document, titled `title`.
    pub fn finish(self, title: &str) -> String {
        let (w, h) = self.page_pt();
        let mut s = String::with_capacity(self.groups.iter().map(|g| g.1.len()).sum::<usize>() + 4096);
        let _ = writeln!(s, r#"<?xml version="1.0" encoding="UTF-8"?>"#);
        let _ = writeln!(
            s,
            r#"<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{}mm" height="{}mm" viewBox="0 0 {} {}">"#,
            num(w / 72.0 * 25.4),
            num(h / 72.0 * 25.4),
            num(w),
            num(h)
        );
        let _ = writeln!(s, "<title>{}</title>", escape(title));
        s.push_str("<defs>\n");
        let _ = writeln!(s, r#"<clipPath id="page"><rect width="{}" height="{}"/></clipPath>"#, num(w), num(h));
        if self.opts.embed_fonts {
            s.push_str("<style>\n");
            for &i in &self.faces {
                let face = Face::ALL[i];
                let (family, weight, style, stretch) = face_css(face);
                let _ = writeln!(
                    s,
                    "@font-face {{ font-family: '{family}'; font-weight: {weight}; font-style: {style}; \
                     font-stretch: {stretch}; src: url(data:font/ttf;base64,{}) format('truetype'); }}",
                    base64(face.data())
                );
            }
            s.push_str("</style>\n");
        }
        s.push_str(&self.defs);
        s.push_str("</defs>\n");
        for (id, body) in &self.groups {
            if body.is_empty() {
                continue;
            }
            let _ = writeln!(s, r#"<g id="{id}" clip-path="url(#page)">"#);
            s.push_str(body);
            s.push_str("</g>\n");
        }
        s.push_str("</svg>\n");
        s
    }

    /// The page size, points.
    fn page_pt(&self) -> (f32, f32) {
        match self.opts.page_mm {
            Some((w, h)) => (w / 25.4 * 72.0, h / 25.4 * 72.0),
            None => (self.width as f32 * self.k, self.height as f32 * self.k),
        }
    }

    fn out(&mut self) -> &mut String {
        &mut self.groups[self.current].1
    }

    /// A length in px as points.
    fn n(&self, px: f32) -> String {
        num(px * self.k)
    }

    fn color(&self, c: Rgba) -> String {
        let c = if self.opts.grayscale { gray(c) } else { c };
        format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2)
    }

    /// `d` of a path, in points.
    fn path_data(&self, path: &Path) -> String {
        let mut d = String::with_capacity(path.len() * 12);
        let p = |d: &mut String, c: char, pts: &[tiny_skia::Point]| {
            d.push(c);
            for (i, q) in pts.iter().enumerate() {
                if i > 0 {
                    d.push(' ');
                }
                d.push_str(&num(q.x * self.k));
                d.push(' ');
                d.push_str(&num(q.y * self.k));
            }
        };
        for seg in path.segments() {
            match seg {
                PathSegment::MoveTo(a) => p(&mut d, 'M', &[a]),
                PathSegment::LineTo(a) => p(&mut d, 'L', &[a]),
                PathSegment::QuadTo(a, b) => p(&mut d, 'Q', &[a, b]),
                PathSegment::CubicTo(a, b, c) => p(&mut d, 'C', &[a, b, c]),
                PathSegment::Close => d.push('Z'),
            }
        }
        d
    }

    /// `fill`/`stroke` colour and opacity attributes.
    fn paint_attrs(&self, what: &str, ink: Ink) -> String {
        let mut a = format!(r#" {what}="{}""#, self.color(ink.color));
        let alpha = ink.alpha();
        if alpha < 1.0 {
            let _ = write!(a, r#" {what}-opacity="{}""#, num(alpha));
        }
        a
    }

    fn pen_attrs(&self, pen: &Pen) -> String {
        let mut a = format!(r#" stroke-width="{}""#, self.n(pen.width));
        match pen.cap {
            LineCap::Butt => {}
            LineCap::Round => a.push_str(r#" stroke-linecap="round""#),
            LineCap::Square => a.push_str(r#" stroke-linecap="square""#),
        }
        match pen.join {
            LineJoin::Miter | LineJoin::MiterClip => {}
            LineJoin::Round => a.push_str(r#" stroke-linejoin="round""#),
            LineJoin::Bevel => a.push_str(r#" stroke-linejoin="bevel""#),
        }
        if !pen.dash.is_empty() {
            let dash: Vec<String> = pen.dash.iter().map(|d| self.n(*d)).collect();
            let _ = write!(a, r#" stroke-dasharray="{}""#, dash.join(" "));
        }
        a
    }

    /// Font, size, colour and halo attributes of a text style.
    fn text_attrs(&mut self, style: &TextStyle) -> String {
        self.faces.insert(Face::ALL.iter().position(|f| *f == style.face).unwrap_or(0));
        let (family, weight, fstyle, stretch) = face_css(style.face);
        let mut a = format!(r#" font-family="{family}" font-size="{}""#, self.n(Fonts::embedded().em_px(style)));
        if weight != "normal" {
            let _ = write!(a, r#" font-weight="{weight}""#);
        }
        if fstyle != "normal" {
            let _ = write!(a, r#" font-style="{fstyle}""#);
        }
        if stretch != "normal" {
            let _ = write!(a, r#" font-stretch="{stretch}""#);
        }
        a.push_str(&self.paint_attrs("fill", color_ink(style.color)));
        if let Some((c, w)) = style.halo.filter(|(_, w)| w.is_finite() && *w > 0.0) {
            a.push_str(&self.paint_attrs("stroke", color_ink(c)));
            let _ = write!(a, r#" stroke-width="{}" stroke-linejoin="round" paint-order="stroke""#, self.n(2.0 * w));
        }
        a
    }

    /// A label drawn as glyph outlines (with its halo as a stroke underneath), and its
    /// text unspaced, invisible, scaled along the baseline from `origin` by `chord` px.
    fn shapes_with_text_layer(
        &mut self,
        outlines: Option<Path>,
        text: &str,
        origin: (f32, f32),
        chord: (f32, f32),
        style: &TextStyle,
    ) {
        if let Some(path) = outlines {
            let d = self.path_data(&path);
            let mut attrs = self.paint_attrs("fill", color_ink(style.color));
            if let Some((c, w)) = style.halo.filter(|(_, w)| w.is_finite() && *w > 0.0) {
                attrs.push_str(&self.paint_attrs("stroke", color_ink(c)));
                let _ = write!(
                    attrs,
                    r#" stroke-width="{}" stroke-linejoin="round" paint-order="stroke""#,
                    self.n(2.0 * w)
                );
            }
            let _ = writeln!(self.out(), r#"<path d="{d}"{attrs}/>"#);
        }
        let mut plain = style.clone();
        plain.letter_spacing_px = 0.0;
        plain.halo = None;
        plain.color = tiny_skia::Color::BLACK;
        let natural = Fonts::embedded().measure(text, &plain).width;
        let span = chord.0.hypot(chord.1);
        if natural <= 0.0 || span <= 0.0 {
            return;
        }
        let mut attrs = self.text_attrs(&plain);
        attrs = attrs.replace(r#" fill="#, r#" fill-opacity="0" fill="#);
        let (x, y) = (self.n(origin.0), self.n(origin.1));
        let (angle, stretch) = (num(chord.1.atan2(chord.0).to_degrees()), (span / natural * 1000.0).round() / 1000.0);
        let _ = writeln!(
            self.out(),
            r#"<text transform="translate({x} {y}) rotate({angle}) scale({stretch} 1)"{attrs}>{}</text>"#,
            escape(text)
        );
    }

    /// The id of a pattern definition, written on first use.
    fn pattern_id(&mut self, kind: Pattern, color: Rgba, spacing: f32, width: f32) -> String {
        let s = spacing.max(2.0) * self.k;
        let w = width * self.k;
        let key = format!("{kind:?}{color:?}{s}{w}");
        if let Some(id) = self.patterns.get(&key) {
            return id.clone();
        }
        let id = format!("{}pattern{}", self.ids, self.patterns.len() + 1);
        let ink = Ink::new(color, 1.0);
        let stroke = format!(r#"{} stroke-width="{}""#, self.paint_attrs("stroke", ink), num(w));
        // Lines sit on the raster's grid: a family at (i + 0.5) × spacing across the lines.
        let (rotate, body, tile_h) = match kind {
            Pattern::Hatch => ("-45", format!(r#"<path d="M0 {h}H{s}"{stroke}/>"#, h = num(s / 2.0), s = num(s)), s),
            Pattern::BackHatch => ("45", format!(r#"<path d="M0 {h}H{s}"{stroke}/>"#, h = num(s / 2.0), s = num(s)), s),
            Pattern::Cross => {
                ("45", format!(r#"<path d="M0 {h}H{s}M{h} 0V{s}"{stroke}/>"#, h = num(s / 2.0), s = num(s)), s)
            }
            Pattern::Horizontal => ("0", format!(r#"<path d="M0 {h}H{s}"{stroke}/>"#, h = num(s / 2.0), s = num(s)), s),
            Pattern::Vertical => ("0", format!(r#"<path d="M{h} 0V{s}"{stroke}/>"#, h = num(s / 2.0), s = num(s)), s),
            Pattern::Grid => {
                ("0", format!(r#"<path d="M0 {h}H{s}M{h} 0V{s}"{stroke}/>"#, h = num(s / 2.0), s = num(s)), s)
            }
            Pattern::Dots => {
                let r = num(w.max(0.6 * self.k));
                let fill = self.paint_attrs("fill", ink);
                let dots = [(0.0, 0.5), (1.0, 0.5), (0.5, 1.5)]
                    .iter()
                    .map(|(x, y)| format!(r#"<circle cx="{}" cy="{}" r="{r}"{fill}/>"#, num(x * s), num(y * s)))
                    .collect::<String>();
                ("0", dots, 2.0 * s)
            }
            Pattern::None => ("0", String::new(), s),
        };
        let transform = if rotate == "0" { String::new() } else { format!(r#" patternTransform="rotate({rotate})""#) };
        let _ = writeln!(
            self.defs,
            r#"<pattern id="{id}" patternUnits="userSpaceOnUse" width="{}" height="{}"{transform}>{body}</pattern>"#,
            num(s),
            num(tile_h)
        );
        self.patterns.insert(key, id.clone());
        id
    }
}

impl Canvas for SvgCanvas {
    fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    fn group(&mut self, id: &'static str) {
        self.current = match self.groups.iter().position(|g| g.0 == id) {
            Some(i) => i,
            None => {
                self.groups.push((id, String::new()));
                self.groups.len() - 1
            }
        };
    }

    fn fill_path(&mut self, path: &Path, ink: Ink, rule: FillRule) {
        let d = self.path_data(path);
        let paint = self.paint_attrs("fill", ink);
        let rule = if rule == FillRule::EvenOdd { r#" fill-rule="evenodd""# } else { "" };
        let _ = writeln!(self.out(), r#"<path d="{d}"{paint}{rule}/>"#);
    }

    fn stroke_path(&mut self, path: &Path, ink: Ink, pen: &Pen) {
        let d = self.path_data(path);
        let paint = self.paint_attrs("stroke", ink);
        let pen = self.pen_attrs(pen);
        let _ = writeln!(self.out(), r#"<path d="{d}" fill="none"{paint}{pen}/>"#);
    }

    /// A round marker as one `<circle>`, filled and outlined (SVG paints the fill, then
    /// the outline, as the two paths of other markers do), and its dot as another: an
    /// element a fifth the size of its paths, and a circle to whoever edits the map.
    fn marker(&mut self, m: &Marker, pen: &Pen) {
        let round = m.shape == MarkerShape::Circle && [m.x, m.y, m.r].iter().all(|v| v.is_finite()) && m.r > 0.0;
        if !round || !pen.dash.is_empty() {
            return m.draw_on(self, pen);
        }
        let (cx, cy) = (self.n(m.x), self.n(m.y));
        let mut attrs = self.paint_attrs("fill", Ink::new(m.fill, 1.0));
        attrs.push_str(&self.paint_attrs("stroke", Ink::new(m.ink, 1.0)));
        attrs.push_str(&self.pen_attrs(pen));
        let r = self.n(m.r);
        let _ = writeln!(self.out(), r#"<circle cx="{cx}" cy="{cy}" r="{r}"{attrs}/>"#);
        if let Some(dot) = m.dot {
            let (r, fill) = (self.n(m.r * Marker::DOT), self.paint_attrs("fill", Ink::new(dot, 1.0)));
            let _ = writeln!(self.out(), r#"<circle cx="{cx}" cy="{cy}" r="{r}"{fill}/>"#);
        }
    }

    fn pattern(&mut self, rings: &[Vec<(f32, f32)>], kind: Pattern, color: Rgba, spacing: f32, width: f32) {
        if kind == Pattern::None || rings.is_empty() {
            return;
        }
        let Some(path) = super::paint::rings_path(rings) else { return };
        let id = self.pattern_id(kind, color, spacing, width);
        let d = self.path_data(&path);
        let _ = writeln!(self.out(), r#"<path d="{d}" fill="url(#{id})" fill-rule="evenodd"/>"#);
    }

    fn text(&mut self, text: &str, x: f32, y: f32, style: &TextStyle) {
        if text.trim().is_empty() || !(style.size_px.is_finite() && style.size_px > 0.0) {
            return;
        }
        let fonts = Fonts::embedded();
        let spaced = style.letter_spacing_px.is_finite() && style.letter_spacing_px.abs() > 0.04 * fonts.em_px(style);
        if self.opts.text_layer && spaced {
            let span = fonts.measure(text, style).width - style.letter_spacing_px;
            self.shapes_with_text_layer(fonts.line_path(text, x, y, style), text, (x, y), (span, 0.0), style);
            return;
        }
        let mut attrs = self.text_attrs(style);
        if style.letter_spacing_px.is_finite() && style.letter_spacing_px != 0.0 {
            let _ = write!(attrs, r#" letter-spacing="{}""#, self.n(style.letter_spacing_px));
        }
        let (x, y) = (self.n(x), self.n(y));
        let _ = writeln!(self.out(), r#"<text x="{x}" y="{y}"{attrs}>{}</text>"#, escape(text));
    }

    fn glyphs(&mut self, text: &str, glyphs: &[PlacedGlyph], style: &TextStyle) {
        if glyphs.is_empty() || !(style.size_px.is_finite() && style.size_px > 0.0) {
            return;
        }
        if self.opts.text_layer {
            // The text layer runs level across the label: readers split slanted text.
            let (first, last) = (&glyphs[0], &glyphs[glyphs.len() - 1]);
            let end = last.x + last.angle.cos() * last.advance;
            let (x0, x1) = (first.x.min(end), first.x.max(end));
            let y = glyphs.iter().map(|g| g.y).sum::<f32>() / glyphs.len() as f32;
            let path = Fonts::embedded().placed_path(glyphs, style);
            let chars: String = glyphs.iter().map(|g| g.ch).collect();
            self.shapes_with_text_layer(path, &chars, (x0, y), ((x1 - x0).max(1.0), 0.0), style);
            return;
        }
        let attrs = self.text_attrs(style);
        let list = |f: &dyn Fn(&PlacedGlyph) -> String| glyphs.iter().map(f).collect::<Vec<_>>().join(" ");
        let xs = list(&|g| self.n(g.x));
        let ys = list(&|g| self.n(g.y));
        let rs = list(&|g| num(g.angle.to_degrees()));
        // One character per glyph, so each takes its own position and rotation.
        let chars: String = glyphs.iter().map(|g| g.ch).collect();
        let chars = if chars.chars().count() == glyphs.len() { chars } else { text.to_string() };
        let _ = writeln!(self.out(), r#"<text x="{xs}" y="{ys}" rotate="{rs}"{attrs}>{}</text>"#, escape(&chars));
    }

    fn kept(&mut self, _: (&'static str, u64), _: u128, draw: &mut dyn FnMut(&mut dyn Canvas) -> Vec<u8>) -> Vec<u8> {
        draw(self)
    }

    fn inset(&mut self, x: f32, y: f32, size: (u32, u32), background: Rgba, draw: &mut dyn FnMut(&mut dyn Canvas)) {
        let mut child = SvgCanvas::new(
            size.0,
            size.1,
            72.0 / self.k,
            background,
            SvgOptions { page_mm: None, ..self.opts.clone() },
        );
        child.ids =
            format!("{}inset{}-", self.ids, self.defs.len() + self.groups.iter().map(|g| g.1.len()).sum::<usize>());
        draw(&mut child);
        self.faces.extend(child.faces.iter().copied());
        self.defs.push_str(&child.defs);
        let (w, h) = (num(size.0 as f32 * self.k), num(size.1 as f32 * self.k));
        let body: String = child
            .groups
            .iter()
            .filter(|g| !g.1.is_empty())
            .map(|(id, body)| format!("<g class=\"{id}\">\n{body}</g>\n"))
            .collect();
        let (x, y) = (self.n(x), self.n(y));
        let _ = writeln!(
            self.out(),
            r#"<svg x="{x}" y="{y}" width="{w}" height="{h}" viewBox="0 0 {w} {h}" overflow="hidden">"#
        );
        self.out().push_str(&body);
        self.out().push_str("</svg>\n");
    }

    fn image(&mut self, layer: &Pixmap) {
        let Ok(png) = crate::output::encode_png(layer, 72.0 / self.k) else { return };
        let (w, h) = (self.n(layer.width() as f32), self.n(layer.height() as f32));
        let data = base64(&png);
        let _ = writeln!(self.out(), r#"<image width="{w}" height="{h}" href="data:image/png;base64,{data}"/>"#);
    }
}

/// A number with at most two decimals, without trailing zeros.
fn num(v: f32) -> String {
    if !v.is_finite() {
        return "0".into();
    }
    let s = format!("{:.2}", v);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" || s.is_empty() {
        "0".into()
    } else {
        s.to_string()
    }
}

fn color_ink(c: tiny_skia::Color) -> Ink {
    let c = c.to_color_u8();
    Ink::new(Rgba(c.red(), c.green(), c.blue(), c.alpha()), 1.0)
}

/// The grey of the same luminance (Rec. 709 weights on the sRGB values).
fn gray(c: Rgba) -> Rgba {
    let l = (0.2126 * f32::from(c.0) + 0.7152 * f32::from(c.1) + 0.0722 * f32::from(c.2)).round() as u8;
    Rgba(l, l, l, c.3)
}

/// CSS family, weight, style and stretch of a face.
fn face_css(face: Face) -> (&'static str, &'static str, &'static str, &'static str) {
    match face {
        Face::Sans => ("DejaVu Sans", "normal", "normal", "normal"),
        Face::SansBold => ("DejaVu Sans", "bold", "normal", "normal"),
        Face::SansItalic => ("DejaVu Sans", "normal", "oblique", "normal"),
        Face::SansBoldItalic => ("DejaVu Sans", "bold", "oblique", "normal"),
        Face::Serif => ("DejaVu Serif", "normal", "normal", "normal"),
        Face::SerifBold => ("DejaVu Serif", "bold", "normal", "normal"),
        Face::SerifItalic => ("DejaVu Serif", "normal", "italic", "normal"),
        Face::SerifBoldItalic => ("DejaVu Serif", "bold", "italic", "normal"),
        Face::Condensed => ("'DejaVu Sans Condensed', 'DejaVu Sans'", "normal", "normal", "condensed"),
        Face::CondensedBold => ("'DejaVu Sans Condensed', 'DejaVu Sans'", "bold", "normal", "condensed"),
    }
}

/// Escape text for XML content and attributes; control characters, and the
/// non-characters U+FFFE and U+FFFF that XML 1.0 does not allow (its `Char` production),
/// are dropped.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c if c.is_control() || c == '\u{fffe}' || c == '\u{ffff}' => {}
            c => out.push(c),
        }
    }
    out
}

fn base64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Convert an SVG document written by [`SvgCanvas`] to a one-page PDF of the same size:
/// the DejaVu faces embedded and subset, text kept as text.
pub fn svg_to_pdf(svg: &str) -> Result<Vec<u8>, String> {
    let mut opt = usvg::Options { dpi: 72.0, font_family: "DejaVu Sans".into(), ..Default::default() };
    let db = opt.fontdb_mut();
    for face in Face::ALL {
        db.load_font_data(face.data().to_vec());
    }
    let tree = usvg::Tree::from_str(svg, &opt).map_err(|e| match e {
        // usvg's fixed bound: a million elements (a dataset of a million cities, say).
        usvg::Error::ElementsLimitReached | usvg::Error::ParsingFailed(usvg::roxmltree::Error::NodesLimitReached) => {
            "PDF: the map has more than a million shapes, more than the PDF writer takes; \
             narrow --bbox or write PNG or SVG"
                .to_string()
        }
        e => format!("PDF: the SVG does not parse: {e}"),
    })?;
    svg2pdf::to_pdf(&tree, svg2pdf::ConversionOptions::default(), svg2pdf::PageOptions { dpi: 72.0 })
        .map_err(|e| format!("PDF conversion failed: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A page with markers drawn by `draw`, rendered by resvg at 96 dpi: its SVG and
    /// premultiplied RGBA pixels.
    fn page(draw: impl Fn(&mut dyn Canvas)) -> (String, Vec<u8>) {
        let mut c = SvgCanvas::new(60, 40, 96.0, Rgba(246, 241, 227, 255), SvgOptions::default());
        c.group("cities");
        draw(&mut c);
        let svg = c.finish("markers");
        let tree =
            usvg::Tree::from_str(&svg, &usvg::Options { dpi: 72.0, ..Default::default() }).expect("usvg reads it");
        let mut pm = resvg::tiny_skia::Pixmap::new(60, 40).expect("pixmap");
        resvg::render(&tree, resvg::tiny_skia::Transform::from_scale(96.0 / 72.0, 96.0 / 72.0), &mut pm.as_mut());
        (svg, pm.data().to_vec())
    }

    #[test]
    fn a_round_marker_is_one_circle_drawn_as_its_paths_are() {
        let pen = crate::render::paint::stroke(1.2, &[]);
        let m = Marker {
            shape: MarkerShape::Circle,
            x: 20.3,
            y: 17.8,
            r: 7.5,
            fill: Rgba(255, 255, 255, 255),
            ink: Rgba(43, 38, 32, 255),
            dot: Some(Rgba(150, 30, 30, 255)),
        };
        let (svg, circles) = page(|c| c.marker(&m, &pen));
        // One element for the disc and its outline, one for the dot; no path.
        assert_eq!(svg.matches("<circle").count(), 2, "{svg}");
        assert!(!svg.contains("<path"), "{svg}");
        // x, y and r in points (0.75 per px at 96 dpi).
        assert!(svg.contains(r#"cx="15.22" cy="13.35" r="5.62""#), "{svg}");
        // The same pixels as the fills and stroke of the marker's paths, within
        // anti-aliasing (a circle against its four-curve approximation).
        let (_, paths) = page(|c| m.draw_on(c, &pen));
        let worst = circles.iter().zip(&paths).map(|(a, b)| a.abs_diff(*b)).max().unwrap_or(0);
        assert!(worst <= 40, "largest channel difference {worst}");
        let differ = circles.chunks(4).zip(paths.chunks(4)).filter(|(a, b)| a != b).count();
        assert!(differ < 60, "{differ} pixels differ");
        // A square keeps its paths: fill, outline and dot.
        let square = Marker { shape: MarkerShape::Square, ..m };
        let (svg, _) = page(|c| c.marker(&square, &pen));
        assert_eq!(svg.matches("<circle").count(), 0, "{svg}");
        assert_eq!(svg.matches("<path").count(), 3, "{svg}");
    }
}
