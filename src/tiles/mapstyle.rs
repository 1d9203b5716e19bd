//! A MapLibre style (version 8) generated from a steppe-atlas style file, so the web map
//! and the printed one look alike: polity colours, hatching for tributary, occupied and
//! contested land (as `fill-pattern`s from a sprite drawn by the raster's own pattern
//! code), line widths and label faces. Every dated layer is filtered by one value, the
//! global state `year` (MapLibre GL JS ≥ 5.6); [`plain_filter`] is the same filter for a
//! client without global state. The glyphs for the labels are SDF PBFs rendered from the
//! embedded DejaVu faces, so the map works without any server but ours.

use super::mvt::VectorSource;
use crate::atlas::Atlas;
use crate::error::{Error, Result};
use crate::render::text::Face;
use crate::style::{Pattern, Rgba, Style};
use serde_json::{json, Value};
use std::path::Path;

/// Where the style's resources live.
#[derive(Clone, Debug)]
pub enum SourceRef {
    /// A TileJSON URL, or `pmtiles://…` for a PMTiles archive.
    Url(String),
    /// Tile URL templates given inline.
    Tiles(Vec<String>),
}

/// URLs written into the style.
#[derive(Clone, Debug)]
pub struct StyleUrls {
    /// The vector source.
    pub source: SourceRef,
    /// Sprite base URL (without `.json`/`.png`).
    pub sprite: String,
    /// Glyphs template with `{fontstack}` and `{range}`.
    pub glyphs: String,
}

/// The name of the source in the style.
pub const SOURCE: &str = "atlas";

fn css(c: Rgba) -> String {
    if c.3 == 255 {
        format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2)
    } else {
        format!("rgba({}, {}, {}, {:.3})", c.0, c.1, c.2, f32::from(c.3) / 255.0)
    }
}

/// Points to CSS pixels (96 dpi).
fn px(pt: f32) -> f64 {
    f64::from(pt) * 96.0 / 72.0
}

/// The font stack name of a face, as MapLibre asks for it in glyph URLs.
pub fn fontstack(face: Face) -> &'static str {
    match face {
        Face::Sans => "DejaVu Sans Book",
        Face::SansBold => "DejaVu Sans Bold",
        Face::SansItalic => "DejaVu Sans Oblique",
        Face::SansBoldItalic => "DejaVu Sans Bold Oblique",
        Face::Serif => "DejaVu Serif Book",
        Face::SerifBold => "DejaVu Serif Bold",
        Face::SerifItalic => "DejaVu Serif Italic",
        Face::SerifBoldItalic => "DejaVu Serif Bold Italic",
        Face::Condensed => "DejaVu Sans Condensed",
        Face::CondensedBold => "DejaVu Sans Condensed Bold",
    }
}

/// The face of a font stack name.
pub fn face_of(stack: &str) -> Option<Face> {
    Face::ALL.iter().copied().find(|f| fontstack(*f) == stack)
}

/// The date filter for year `year_expr` (an expression or a number): features whose
/// `start_decdate <= year + 0.5 < end_decdate`; a missing end is unbounded.
pub fn date_filter(year: Value) -> Value {
    let mid = json!(["+", year, 0.5]);
    json!([
        "all",
        ["<=", ["coalesce", ["get", "start_decdate"], -super::mvt::FOREVER], mid],
        [">", ["coalesce", ["get", "end_decdate"], super::mvt::FOREVER], mid]
    ])
}

/// The filter for one year as a plain expression, for clients without global state.
pub fn plain_filter(year: i32) -> Value {
    date_filter(json!(year))
}

fn year_filter() -> Value {
    date_filter(json!(["global-state", "year"]))
}

fn with_date(extra: Value) -> Value {
    json!(["all", year_filter(), extra])
}

/// A `match` on a polity property giving each known polity's value, `fallback` otherwise.
fn by_polity(
    style: &Style,
    prop: Value,
    value: impl Fn(&crate::style::PolityStyle) -> Value,
    fallback: Value,
) -> Value {
    let mut m = vec![json!("match"), prop];
    for (id, ps) in &style.polities {
        m.push(json!(id));
        m.push(value(ps));
    }
    m.push(fallback);
    Value::Array(m)
}

fn name_field(lang_expr: Value) -> Value {
    json!(["coalesce", ["get", ["concat", "name:", lang_expr]], ["get", "name"]])
}

fn label_paint(style: &Style, color: Rgba) -> Value {
    json!({"text-color": css(color), "text-halo-color": css(style.halo), "text-halo-width": px(style.halo_pt)})
}

fn text_layout(spec: &crate::style::FontSpec, size_scale: f64) -> serde_json::Map<String, Value> {
    let mut m = serde_json::Map::new();
    let name = name_field(json!(["global-state", "lang"]));
    let field = if spec.uppercase { json!(["upcase", name]) } else { name };
    m.insert("text-field".into(), field);
    m.insert("text-font".into(), json!([fontstack(spec.face)]));
    m.insert("text-size".into(), json!((px(spec.size_pt) * size_scale * 10.0).round() / 10.0));
    // MapLibre's letter spacing is in ems.
    m.insert(
        "text-letter-spacing".into(),
        json!(((spec.letter_spacing_pt / spec.size_pt) as f64 * 100.0).round() / 100.0),
    );
    m
}

/// The MapLibre style document (version 8).
pub fn style_json(atlas: &Atlas, style: &Style, src: &VectorSource, zooms: (u8, u8), urls: &StyleUrls) -> Value {
    let ts = &style.territories;
    let land = style.land;
    let unknown = Rgba(150, 150, 150, 255);
    let fill = by_polity(
        style,
        json!(["get", "polity"]),
        |ps| json!(css(land.mix(ps.fill, ts.fill_opacity))),
        json!(css(land.mix(unknown, ts.fill_opacity))),
    );
    let border_of =
        |prop: &str| by_polity(style, json!(["get", prop]), |ps| json!(css(ps.border)), json!(css(unknown)));
    let half = px(ts.border_pt);
    let dash: Vec<f64> = ts.approximate_dash_pt.iter().map(|d| f64::from(*d) / f64::from(ts.border_pt)).collect();
    let mut layers = vec![
        json!({"id": "background", "type": "background", "paint": {"background-color": css(land)}}),
        json!({"id": "territories", "type": "fill", "source": SOURCE, "source-layer": "territories",
               "filter": year_filter(), "paint": {"fill-color": fill, "fill-antialias": false}}),
    ];
    // A polity's own pattern (styles for black-and-white print give every polity one).
    let patterned: Vec<&String> =
        style.polities.iter().filter(|(_, p)| p.pattern != Pattern::None).map(|(id, _)| id).collect();
    if !patterned.is_empty() {
        layers.push(
            json!({"id": "territories-pattern", "type": "fill", "source": SOURCE, "source-layer": "territories",
            "filter": with_date(json!(["in", ["get", "polity"], ["literal", patterned]])),
            "paint": {"fill-pattern": ["concat", "pattern-", ["get", "polity"]]}}),
        );
    }
    layers.push(json!({"id": "territories-tributary", "type": "fill", "source": SOURCE, "source-layer": "territories",
        "filter": with_date(json!(["all", ["==", ["get", "status"], "tributary"], ["has", "overlord"]])),
        "paint": {"fill-pattern": ["concat", "hatch-", ["get", "overlord"]]}}));
    layers.push(json!({"id": "territories-occupied", "type": "fill", "source": SOURCE, "source-layer": "territories",
        "filter": with_date(json!(["==", ["get", "status"], "occupied"])),
        "paint": {"fill-pattern": ["concat", "backhatch-", ["get", "polity"]]}}));
    layers.push(json!({"id": "territories-contested", "type": "fill", "source": SOURCE, "source-layer": "territories",
        "filter": with_date(json!(["==", ["get", "status"], "contested"])),
        "paint": {"fill-pattern": ["concat", "cross-", ["coalesce", ["get", "overlord"], ["get", "former"], ["get", "polity"]]]}}));
    // Mountain areas: the raster's relief tint (points of the layer are not filled).
    if style.relief.opacity > 0.0 {
        layers.push(json!({"id": "relief", "type": "fill", "source": SOURCE, "source-layer": "landforms",
            "filter": with_date(json!(["==", ["get", "kind"], "mountains"])),
            "paint": {"fill-color": css(style.relief.fill), "fill-opacity": style.relief.opacity, "fill-antialias": false}}));
    }
    let w = &style.water;
    layers.push(
        json!({"id": "water", "type": "fill", "source": SOURCE, "source-layer": "water", "filter": year_filter(),
        "paint": {"fill-color": css(w.fill), "fill-outline-color": css(w.outline)}}),
    );
    let r = &style.rivers;
    layers.push(json!({"id": "rivers", "type": "line", "source": SOURCE, "source-layer": "rivers", "filter": year_filter(),
        "layout": {"line-cap": "round", "line-join": "round"},
        "paint": {"line-color": css(r.color),
                  "line-width": ["match", ["get", "rank"], 1, px(r.widths_pt[0]), 2, px(r.widths_pt[1]), px(r.widths_pt[2])]}}));
    // Borders: each side drawn just inside its own land in its own colour, as the raster
    // draws them; approximate (nomadic) borders dashed.
    for (side, sign) in [("left", -1.0), ("right", 1.0)] {
        for approx in [false, true] {
            let mut paint = serde_json::Map::new();
            paint.insert("line-color".into(), border_of(side));
            paint.insert("line-width".into(), json!(half));
            paint.insert("line-offset".into(), json!(sign * half / 2.0));
            if approx {
                paint.insert("line-dasharray".into(), json!(dash));
                paint.insert("line-opacity".into(), json!(0.9));
            }
            layers.push(json!({"id": format!("borders-{side}{}", if approx { "-approximate" } else { "" }),
                "type": "line", "source": SOURCE, "source-layer": "borders",
                "filter": with_date(json!(["all", ["has", side], ["==", ["get", "approximate"], i32::from(approx)]])),
                "layout": {"line-join": "round"}, "paint": paint}));
        }
    }
    let cs = &style.campaigns;
    let side_colour = by_polity(style, json!(["get", "side"]), |ps| json!(css(ps.border)), json!("#505050"));
    layers.push(json!({"id": "campaigns-flight", "type": "line", "source": SOURCE, "source-layer": "campaigns",
        "filter": with_date(json!(["==", ["get", "kind"], "flight"])),
        "layout": {"line-cap": "round", "line-join": "round"},
        "paint": {"line-color": side_colour, "line-width": px(cs.flight_width_pt), "line-opacity": cs.flight_opacity}}));
    for (kind, dash) in [("advance", None), ("retreat", Some(json!([3, 2]))), ("raid", Some(json!([1, 1.5])))] {
        let mut paint = serde_json::Map::new();
        paint.insert("line-color".into(), side_colour.clone());
        paint.insert("line-width".into(), json!(px(cs.width_pt)));
        if let Some(d) = dash {
            paint.insert("line-dasharray".into(), d);
        }
        layers.push(
            json!({"id": format!("campaigns-{kind}"), "type": "line", "source": SOURCE, "source-layer": "campaigns",
            "filter": with_date(json!(["==", ["get", "kind"], kind])),
            "layout": {"line-cap": "round", "line-join": "round"}, "paint": paint}),
        );
    }
    // Which way a route went: arrowheads in the side's colour along it (the tiles cut a
    // route, so its end is not known in every tile; a repeated head reads the same).
    layers.push(json!({"id": "campaigns-arrows", "type": "symbol", "source": SOURCE, "source-layer": "campaigns",
        "filter": year_filter(),
        "layout": {"symbol-placement": "line", "symbol-spacing": 90,
                   "icon-image": ["concat", "arrow-", ["coalesce", ["get", "side"], ""]],
                   "icon-size": 0.8,
                   "icon-rotation-alignment": "map", "icon-allow-overlap": true, "icon-ignore-placement": true}}));
    let bs = &style.battles;
    layers.push(json!({"id": "battles", "type": "circle", "source": SOURCE, "source-layer": "battles", "filter": year_filter(),
        "paint": {"circle-radius": px(bs.size_pt) / 2.0,
                  "circle-color": by_polity(style, json!(["get", "victor"]), |ps| json!(css(ps.border)), json!(css(bs.undecided))),
                  "circle-stroke-color": css(bs.outline), "circle-stroke-width": 1}}));
    let cst = &style.cities;
    layers.push(json!({"id": "cities", "type": "circle", "source": SOURCE, "source-layer": "cities", "filter": year_filter(),
        "paint": {"circle-radius": ["match", ["get", "kind"], "capital", px(cst.marker_pt) * 0.75, "site", px(cst.marker_pt) * 0.4, px(cst.marker_pt) / 2.0],
                  "circle-color": by_polity(style, json!(["get", "controlled_by"]), |ps| json!(css(ps.border)), json!(css(cst.unheld))),
                  "circle-stroke-color": css(cst.outline), "circle-stroke-width": 1,
                  "circle-opacity": ["match", ["get", "status"], "destroyed", 0.35, 1]}}));
    // Labels. Polity names first (the map's first message), where the raster puts them,
    // biggest land first; a dataset without names for a polity falls back to the style's.
    let tl = &style.territories.label;
    let mut pl = text_layout(tl, 1.0);
    let given = name_field(json!(["global-state", "lang"]));
    let styled = by_polity(style, json!(["get", "polity"]), |ps| json!(ps.name.clone()), json!(["get", "polity"]));
    let name = json!(["case", ["==", ["get", "name"], ["get", "polity"]], styled, given]);
    pl.insert("text-field".into(), if tl.uppercase { json!(["upcase", name]) } else { name });
    pl.insert("text-max-width".into(), json!(12));
    pl.insert("symbol-sort-key".into(), json!(["-", 0, ["get", "area_km2"]]));
    let mut pp = label_paint(style, tl.color);
    pp["text-color"] = by_polity(style, json!(["get", "polity"]), |ps| json!(css(ps.border)), json!(css(tl.color)));
    layers.push(json!({"id": "polity-labels", "type": "symbol", "source": SOURCE, "source-layer": "polity_labels",
        "filter": year_filter(), "layout": pl, "paint": pp}));
    let mut lf = text_layout(&style.landforms, 1.0);
    lf.insert("text-max-width".into(), json!(8));
    layers.push(json!({"id": "landforms-label", "type": "symbol", "source": SOURCE, "source-layer": "landforms",
        "minzoom": 4, "filter": with_date(json!(["==", ["geometry-type"], "Point"])), "layout": lf, "paint": label_paint(style, style.landforms.color)}));
    let mut wl = text_layout(&w.label, 1.0);
    wl.insert("symbol-placement".into(), json!("point"));
    layers.push(json!({"id": "water-label", "type": "symbol", "source": SOURCE, "source-layer": "water",
        "filter": year_filter(), "layout": wl, "paint": label_paint(style, w.label.color)}));
    let mut rl = text_layout(&r.label, 1.0);
    rl.insert("symbol-placement".into(), json!("line"));
    layers.push(json!({"id": "rivers-label", "type": "symbol", "source": SOURCE, "source-layer": "rivers",
        "minzoom": 5, "filter": with_date(json!(["<=", ["get", "rank"], r.label_max_rank])), "layout": rl,
        "paint": label_paint(style, r.label.color)}));
    let mut bl = text_layout(&bs.label, 1.0);
    bl.insert("text-offset".into(), json!([0, 1.0]));
    bl.insert("text-anchor".into(), json!("top"));
    bl.insert("text-optional".into(), json!(true));
    layers.push(json!({"id": "battles-label", "type": "symbol", "source": SOURCE, "source-layer": "battles",
        "minzoom": 5, "filter": year_filter(), "layout": bl, "paint": label_paint(style, bs.label.color)}));
    let mut cl = text_layout(&cst.label, 1.0);
    cl.insert("text-offset".into(), json!([0.6, 0]));
    cl.insert("text-anchor".into(), json!("left"));
    cl.insert("symbol-sort-key".into(), json!(["-", 0, ["get", "rank"]]));
    layers.push(json!({"id": "cities-label", "type": "symbol", "source": SOURCE, "source-layer": "cities",
        "minzoom": 4, "filter": with_date(json!(["!=", ["get", "kind"], "capital"])), "layout": cl,
        "paint": label_paint(style, cst.label.color)}));
    let mut capl = text_layout(&cst.capital_label, 1.0);
    capl.insert("text-offset".into(), json!([0.6, 0]));
    capl.insert("text-anchor".into(), json!("left"));
    layers.push(json!({"id": "capitals-label", "type": "symbol", "source": SOURCE, "source-layer": "cities",
        "minzoom": 3, "filter": with_date(json!(["==", ["get", "kind"], "capital"])), "layout": capl,
        "paint": label_paint(style, cst.capital_label.color)}));
    let source = match &urls.source {
        SourceRef::Url(u) => json!({"type": "vector", "url": u, "attribution": atlas.data.meta.credit}),
        SourceRef::Tiles(t) => json!({"type": "vector", "tiles": t, "minzoom": zooms.0, "maxzoom": zooms.1,
            "bounds": src.bounds, "attribution": atlas.data.meta.credit}),
    };
    let b = src.bounds;
    let polities: serde_json::Map<String, Value> = style
        .polities
        .iter()
        .map(|(id, ps)| {
            let mut names = json!({"name": ps.name, "fill": css(ps.fill), "border": css(ps.border)});
            if let Some(kk) = &ps.name_kk {
                names["name:kk"] = json!(kk);
            }
            if let Some(ru) = &ps.name_ru {
                names["name:ru"] = json!(ru);
            }
            (id.clone(), names)
        })
        .collect();
    json!({
        "version": 8,
        "name": format!("{} ({})", atlas.data.title("en"), style.name),
        "metadata": {
            "steppe-atlas:years": [src.years.0, src.years.1],
            "steppe-atlas:polities": polities,
            "steppe-atlas:plain-filter": "replace [\"global-state\", \"year\"] with the year, e.g. 1723",
        },
        "state": {
            "year": {"default": src.years.0},
            "lang": {"default": "en"},
        },
        "center": [(b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0],
        "zoom": 4,
        "sprite": urls.sprite,
        "glyphs": urls.glyphs,
        "sources": {SOURCE: source},
        "layers": layers,
    })
}

/// The hatch images of the sprite: for every polity, `hatch-` (tributary land, in the
/// overlord's colour), `backhatch-` (occupied), `cross-` (contested), and `pattern-` for a
/// polity's own pattern. Each is `(name, pattern, colour, alpha)`.
fn sprite_entries(style: &Style) -> Vec<(String, Pattern, Rgba, f32)> {
    let mut out = Vec::new();
    for (id, ps) in &style.polities {
        out.push((format!("hatch-{id}"), Pattern::Hatch, ps.border, 0.75));
        out.push((format!("backhatch-{id}"), Pattern::BackHatch, ps.border, 0.55));
        out.push((format!("cross-{id}"), Pattern::Cross, ps.border, 0.7));
        if ps.pattern != Pattern::None {
            out.push((format!("pattern-{id}"), ps.pattern, ps.border, 1.0));
        }
    }
    out
}

/// The sprite at `ratio` (1 or 2): its PNG and its JSON index. Patterns are drawn by the
/// raster's own pattern code on a tile whose side is a whole number of line periods, so
/// the repeated tile shows no seam.
pub fn sprite(style: &Style, ratio: u32) -> Result<(Vec<u8>, Value)> {
    let ts = &style.territories;
    let entries = sprite_entries(style);
    // Arrowheads for routes, one per side's colour, pointing along the line (+x).
    let arrows: Vec<(String, Rgba)> =
        style.polities.iter().map(|(id, ps)| (format!("arrow-{id}"), ps.border)).collect();
    // Diagonal lines repeat every spacing·√2 along x and y; horizontal ones every spacing.
    let spacing = px(ts.hatch_spacing_pt * 1.2) as f32;
    let period = (spacing * std::f32::consts::SQRT_2).round().max(3.0);
    let side_css = (period * 2.0) as u32;
    let side = side_css * ratio;
    let cells = (entries.len() + arrows.len()) as u32;
    let cols = f64::from(cells).sqrt().ceil().max(1.0) as u32;
    let rows = cells.div_ceil(cols).max(1);
    let mut sheet =
        tiny_skia::Pixmap::new(cols * side, rows * side).ok_or_else(|| Error::Encode("sprite: empty sheet".into()))?;
    let mut index = serde_json::Map::new();
    for (i, (name, kind, color, alpha)) in entries.iter().enumerate() {
        let (cx, cy) = ((i as u32 % cols) * side, (i as u32 / cols) * side);
        let mut cell = tiny_skia::Pixmap::new(side, side).ok_or_else(|| Error::Encode("sprite cell".into()))?;
        let s = side as f32;
        let ring = vec![(0.0, 0.0), (s, 0.0), (s, s), (0.0, s)];
        let c = Rgba(color.0, color.1, color.2, (alpha * 255.0) as u8);
        let step = match kind {
            Pattern::Hatch | Pattern::BackHatch | Pattern::Cross => period / std::f32::consts::SQRT_2,
            _ => period / 2.0,
        } * ratio as f32;
        crate::render::paint::draw_pattern(&mut cell, &[ring], *kind, c, step, px(ts.hatch_pt) as f32 * ratio as f32);
        sheet.draw_pixmap(
            cx as i32,
            cy as i32,
            cell.as_ref(),
            &tiny_skia::PixmapPaint::default(),
            tiny_skia::Transform::identity(),
            None,
        );
        index.insert(name.clone(), json!({"x": cx, "y": cy, "width": side, "height": side, "pixelRatio": ratio}));
    }
    for (k, (name, color)) in arrows.iter().enumerate() {
        let i = (entries.len() + k) as u32;
        let (cx, cy) = ((i % cols) * side, (i / cols) * side);
        let s = side as f32;
        let mut pb = tiny_skia::PathBuilder::new();
        pb.move_to(cx as f32 + s * 0.85, cy as f32 + s * 0.5);
        pb.line_to(cx as f32 + s * 0.2, cy as f32 + s * 0.18);
        pb.line_to(cx as f32 + s * 0.35, cy as f32 + s * 0.5);
        pb.line_to(cx as f32 + s * 0.2, cy as f32 + s * 0.82);
        pb.close();
        if let Some(path) = pb.finish() {
            let paint = crate::render::paint::solid(*color, 0.95);
            sheet.fill_path(&path, &paint, tiny_skia::FillRule::Winding, tiny_skia::Transform::identity(), None);
        }
        index.insert(name.clone(), json!({"x": cx, "y": cy, "width": side, "height": side, "pixelRatio": ratio}));
    }
    let png = crate::output::encode_png(&sheet, 96.0 * ratio as f32)?;
    Ok((png, Value::Object(index)))
}

/// Write `sprite.json`/`sprite.png` and `sprite@2x.json`/`sprite@2x.png` into `dir`.
pub fn write_sprites(style: &Style, dir: &Path) -> Result<()> {
    for (ratio, suffix) in [(1, ""), (2, "@2x")] {
        let (png, index) = sprite(style, ratio)?;
        crate::output::write_atomic(&dir.join(format!("sprite{suffix}.png")), &png)?;
        let text = serde_json::to_string(&index).map_err(|e| Error::Encode(e.to_string()))?;
        crate::output::write_atomic(&dir.join(format!("sprite{suffix}.json")), text.as_bytes())?;
    }
    Ok(())
}

/// The glyph ranges written with an export: Latin, Latin Extended, Cyrillic (with the
/// Kazakh letters), Cyrillic Supplement and general punctuation (dashes, quotes).
pub const EXPORT_RANGES: [u32; 5] = [0, 256, 1024, 1280, 8192];

/// One 256-glyph range of a face as a MapLibre glyph PBF (SDF at 24 px, buffer 3, radius
/// 8, cutoff 0.25: the values fontnik and MapLibre's own fonts use).
pub fn glyph_range(face: Face, start: u32) -> Result<Vec<u8>> {
    use ab_glyph::{Font, FontRef, ScaleFont};
    use pbf_font_tools::prost::Message;
    if !start.is_multiple_of(256) || start > 65280 {
        return Err(Error::Usage(format!("glyph range {start} must be a multiple of 256 below 65536")));
    }
    let end = start + 255;
    let font = FontRef::try_from_slice(face.data()).map_err(|e| Error::Encode(format!("font: {e}")))?;
    // FreeType's char size is the em; ab_glyph's scale is ascent − descent.
    let em = 24.0;
    let scale = ab_glyph::PxScale::from(em * font.height_unscaled() / font.units_per_em().unwrap_or(2048.0));
    let scaled = font.as_scaled(scale);
    let ascender = scaled.ascent().round() as i32;
    let (buffer, radius, cutoff) = (3usize, 8usize, 0.25);
    let mut stack = pbf_font_tools::Fontstack {
        name: fontstack(face).to_string(),
        range: format!("{start}-{end}"),
        glyphs: Vec::new(),
    };
    for code in start..=end {
        let Some(ch) = char::from_u32(code) else { continue };
        let id = font.glyph_id(ch);
        if id.0 == 0 {
            continue;
        }
        let advance = scaled.h_advance(id).round().max(0.0) as u32;
        let glyph = id.with_scale_and_position(scale, ab_glyph::point(0.0, 0.0));
        let Some(outlined) = font.outline_glyph(glyph) else {
            stack.glyphs.push(pbf_font_tools::Glyph {
                id: code,
                bitmap: None,
                width: 0,
                height: 0,
                left: 0,
                top: -ascender,
                advance,
            });
            continue;
        };
        let bounds = outlined.px_bounds();
        let (w, h) = (bounds.width().round() as usize, bounds.height().round() as usize);
        let mut alpha = vec![0u8; w * h];
        outlined.draw(|x, y, c| {
            if let Some(p) = alpha.get_mut(y as usize * w + x as usize) {
                *p = (c.clamp(0.0, 1.0) * 255.0).round() as u8;
            }
        });
        let bitmap = sdf_glyph_renderer::BitmapGlyph::from_unbuffered(&alpha, w, h, buffer)
            .map_err(|e| Error::Encode(format!("glyph {code}: {e}")))?;
        let sdf = sdf_glyph_renderer::clamp_to_u8(&bitmap.render_sdf(radius), cutoff)
            .map_err(|e| Error::Encode(format!("glyph {code}: {e}")))?;
        stack.glyphs.push(pbf_font_tools::Glyph {
            id: code,
            bitmap: Some(sdf),
            width: w as u32,
            height: h as u32,
            left: bounds.min.x.round() as i32,
            top: (-bounds.min.y).round() as i32 - ascender,
            advance,
        });
    }
    Ok(pbf_font_tools::Glyphs { stacks: vec![stack] }.encode_to_vec())
}

/// The faces the style's labels use.
pub fn label_faces(style: &Style) -> Vec<Face> {
    let c = &style.cities;
    let mut faces: Vec<Face> =
        [&style.landforms, &style.water.label, &style.rivers.label, &style.battles.label, &c.label, &c.capital_label]
            .iter()
            .map(|f| f.face)
            .collect();
    faces.sort_by_key(|f| fontstack(*f));
    faces.dedup();
    faces
}

/// Write the glyph ranges of [`EXPORT_RANGES`] for the faces the style's labels use, as
/// `{dir}/{stack}/{a}-{b}.pbf`.
pub fn write_glyphs(style: &Style, dir: &Path) -> Result<()> {
    use rayon::prelude::*;
    let faces = label_faces(style);
    let jobs: Vec<(Face, u32)> = faces.iter().flat_map(|f| EXPORT_RANGES.iter().map(move |r| (*f, *r))).collect();
    jobs.par_iter().try_for_each(|(face, start)| {
        let bytes = glyph_range(*face, *start)?;
        let path = dir.join(fontstack(*face)).join(format!("{start}-{}.pbf", start + 255));
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::Io { path: parent.to_path_buf(), source: e })?;
        }
        crate::output::write_atomic(&path, &bytes)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_filter_selects_by_decimal_year() {
        let f = plain_filter(1723);
        let text = f.to_string();
        assert!(text.contains("1723"), "{text}");
        assert!(text.contains("start_decdate") && text.contains("end_decdate"));
    }

    #[test]
    fn every_face_has_a_stack_name() {
        for f in Face::ALL {
            assert_eq!(face_of(fontstack(f)), Some(f));
        }
    }

    #[test]
    fn glyphs_cover_kazakh_letters() {
        use pbf_font_tools::prost::Message;
        let bytes = glyph_range(Face::Sans, 1024).expect("a range");
        let g = pbf_font_tools::Glyphs::decode(bytes.as_slice()).expect("decodes");
        let ids: Vec<u32> = g.stacks[0].glyphs.iter().map(|g| g.id).collect();
        for ch in ['Ә', 'Ғ', 'Қ', 'Ң', 'Ө', 'Ұ', 'Ү', 'Һ', 'І'] {
            assert!(ids.contains(&(ch as u32)), "{ch} missing");
        }
        let a = g.stacks[0].glyphs.iter().find(|g| g.id == 'Ә' as u32).expect("Ә");
        assert_eq!(a.bitmap.as_ref().map(Vec::len), Some(((a.width + 6) * (a.height + 6)) as usize));
    }
}
