//! Style files (`styles/*.json`) → typed paint rules. Unknown keys are rejected.
//!
//! Sizes are in points (1/72 in) and converted with the render's dpi, so a 300 dpi
//! print and a 96 dpi screen render look alike.

use crate::error::{Error, Result};
use crate::render::text::Face;
use serde::de::{self, Deserializer};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// An sRGB colour with alpha, written `#rrggbb` or `#rrggbbaa` in style files.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Rgba(pub u8, pub u8, pub u8, pub u8);

impl Rgba {
    /// Parse `#rrggbb` or `#rrggbbaa`.
    pub fn parse(s: &str) -> Option<Rgba> {
        let h = s.strip_prefix('#')?;
        if !(h.len() == 6 || h.len() == 8) || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let byte = |i: usize| u8::from_str_radix(&h[i..i + 2], 16).ok();
        let a = if h.len() == 8 { byte(6)? } else { 255 };
        Some(Rgba(byte(0)?, byte(2)?, byte(4)?, a))
    }

    /// The tiny-skia colour, optionally with the alpha scaled by `opacity`.
    pub fn skia(self, opacity: f32) -> tiny_skia::Color {
        let a = (f32::from(self.3) / 255.0 * opacity).clamp(0.0, 1.0);
        tiny_skia::Color::from_rgba8(self.0, self.1, self.2, (a * 255.0).round() as u8)
    }

    /// Mix with another colour (t = 0 → self, 1 → other).
    pub fn mix(self, other: Rgba, t: f32) -> Rgba {
        let m = |a: u8, b: u8| (f32::from(a) + (f32::from(b) - f32::from(a)) * t).round() as u8;
        Rgba(m(self.0, other.0), m(self.1, other.1), m(self.2, other.2), m(self.3, other.3))
    }
}

impl<'de> Deserialize<'de> for Rgba {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Rgba::parse(&s).ok_or_else(|| de::Error::custom(format!("bad colour {s:?}: expected #rrggbb or #rrggbbaa")))
    }
}

/// A fill pattern, for telling polities apart without colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pattern {
    /// Flat fill only.
    #[default]
    None,
    /// Diagonal lines (/).
    Hatch,
    /// Diagonal lines (\).
    BackHatch,
    /// Crossed diagonal lines.
    Cross,
    /// Horizontal lines.
    Horizontal,
    /// Vertical lines.
    Vertical,
    /// A dot grid.
    Dots,
    /// Horizontal and vertical lines (a square grid).
    Grid,
}

/// How one polity is painted and named.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolityStyle {
    /// English name for the legend and area labels.
    pub name: String,
    /// Kazakh name.
    #[serde(default, rename = "name:kk")]
    pub name_kk: Option<String>,
    /// Russian name.
    #[serde(default, rename = "name:ru")]
    pub name_ru: Option<String>,
    /// Fill colour (drawn at the territories' `fill_opacity`).
    pub fill: Rgba,
    /// Border and label colour.
    pub border: Rgba,
    /// Fill pattern over the flat fill.
    #[serde(default)]
    pub pattern: Pattern,
    /// How the polity's routes and battle victories are marked besides their colour, so
    /// that sides stay apart in black and white.
    #[serde(default)]
    pub mark: SideMark,
}

/// A side's mark on its routes and battle stars, besides its colour.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SideMark {
    /// Lines and stars in the side's colour.
    #[default]
    Solid,
    /// A white core between edges of the side's colour; hollow arrowheads and stars.
    Cased,
    /// A white dashed core in the side's colour; arrowheads and stars with a white eye.
    Striped,
}

impl PolityStyle {
    /// The polity's name in `lang`, falling back to English.
    pub fn name(&self, lang: &str) -> &str {
        match lang {
            "kk" => self.name_kk.as_deref(),
            "ru" => self.name_ru.as_deref(),
            _ => None,
        }
        .unwrap_or(&self.name)
    }
}

/// A text style in a style file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FontSpec {
    /// Typeface.
    pub face: Face,
    /// Size, pt.
    pub size_pt: f32,
    /// Text colour.
    pub color: Rgba,
    /// Extra space between letters, pt.
    #[serde(default)]
    pub letter_spacing_pt: f32,
    /// Write in capitals.
    #[serde(default)]
    pub uppercase: bool,
}

/// Seas and lakes.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WaterStyle {
    /// Fill.
    pub fill: Rgba,
    /// Shore line.
    pub outline: Rgba,
    /// Shore line width, pt.
    pub outline_pt: f32,
    /// Labels.
    pub label: FontSpec,
}

/// Rivers.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RiverStyle {
    /// Line colour.
    pub color: Rgba,
    /// Widths for rank 1, 2, 3, pt.
    pub widths_pt: [f32; 3],
    /// Labels along the river.
    pub label: FontSpec,
    /// Label rivers of this rank or more important (1–3).
    pub label_max_rank: u8,
}

/// Territories: fills, borders, uncertainty.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TerritoryStyle {
    /// Opacity of polity fills over the land, 0–1.
    pub fill_opacity: f32,
    /// Border width, pt (each side of a border gets half, in its own colour).
    pub border_pt: f32,
    /// Dash pattern for approximate borders, pt (empty = solid).
    pub approximate_dash_pt: Vec<f32>,
    /// Spacing of hatch lines (tributary, occupied, contested, patterns), pt.
    pub hatch_spacing_pt: f32,
    /// Width of hatch lines, pt.
    pub hatch_pt: f32,
    /// Polity names inside their land.
    pub label: FontSpec,
}

/// City markers and labels.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CityStyle {
    /// Marker diameter for towns, pt (capitals, fortresses and sites are sized from it).
    pub marker_pt: f32,
    /// Marker outline colour.
    pub outline: Rgba,
    /// Marker fill when no polity holds the place.
    pub unheld: Rgba,
    /// Ring around a city that changed hands this year.
    pub captured: Rgba,
    /// Town labels.
    pub label: FontSpec,
    /// Capital labels.
    pub capital_label: FontSpec,
}

/// Battle symbols.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BattleStyle {
    /// Symbol size, pt.
    pub size_pt: f32,
    /// Outline colour.
    pub outline: Rgba,
    /// Fill when the victor is unknown.
    pub undecided: Rgba,
    /// Labels (name and year).
    pub label: FontSpec,
}

/// Campaign routes.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CampaignStyle {
    /// Line width of advances, retreats and raids, pt.
    pub width_pt: f32,
    /// Band width of flights, pt.
    pub flight_width_pt: f32,
    /// Opacity of flight bands.
    pub flight_opacity: f32,
    /// Arrowhead length, pt.
    pub arrow_pt: f32,
    /// Labels along the route (commander, strength, year).
    pub label: FontSpec,
}

/// Mountain areas: a tint over whatever holds the land.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReliefStyle {
    /// Tint colour.
    pub fill: Rgba,
    /// Its opacity, 0–1 (0 hides mountain areas).
    pub opacity: f32,
}

impl Default for ReliefStyle {
    fn default() -> ReliefStyle {
        ReliefStyle { fill: Rgba(122, 92, 58, 255), opacity: 0.14 }
    }
}

/// The graticule.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GraticuleStyle {
    /// Degrees between lines.
    pub step_deg: f64,
    /// Line colour.
    pub color: Rgba,
    /// Line width, pt.
    pub width_pt: f32,
    /// Degree labels at the frame.
    pub label: FontSpec,
}

/// Title, legend, scale bar, credit.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FurnitureStyle {
    /// Title.
    pub title: FontSpec,
    /// The year, large.
    pub year: FontSpec,
    /// The year's caption.
    pub caption: FontSpec,
    /// Legend entries.
    pub legend: FontSpec,
    /// Credit line.
    pub credit: FontSpec,
    /// Panels behind title and legend.
    pub panel: Rgba,
    /// Panel and frame outline.
    pub frame: Rgba,
    /// Graticule.
    pub graticule: GraticuleStyle,
    /// Show a second scale in versts.
    pub versts: bool,
    /// Highlight for `--compare` changes.
    pub compare: Rgba,
}

/// A layer of the map, for the drawing order of a style.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MapLayer {
    /// Areas coloured by holder, with their borders and names.
    Territories,
    /// Seas and lakes.
    Water,
    /// Rivers.
    Rivers,
    /// Meridians and parallels (frames only).
    Graticule,
    /// Names of mountains, deserts, regions.
    Landforms,
    /// Campaign routes.
    Campaigns,
    /// Battle symbols.
    Battles,
    /// Towns, fortresses, sites.
    Cities,
}

/// The drawing order when a style gives none, bottom to top.
pub const DEFAULT_LAYERS: [MapLayer; 8] = [
    MapLayer::Territories,
    MapLayer::Water,
    MapLayer::Rivers,
    MapLayer::Graticule,
    MapLayer::Landforms,
    MapLayer::Campaigns,
    MapLayer::Battles,
    MapLayer::Cities,
];

fn default_layers() -> Vec<MapLayer> {
    DEFAULT_LAYERS.to_vec()
}

/// A complete map style.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Style {
    /// Style name.
    pub name: String,
    /// Land (the map background).
    pub land: Rgba,
    /// Halo colour around labels.
    pub halo: Rgba,
    /// Halo width, pt.
    pub halo_pt: f32,
    /// Seas and lakes.
    pub water: WaterStyle,
    /// Rivers.
    pub rivers: RiverStyle,
    /// Territories.
    pub territories: TerritoryStyle,
    /// Polities by id.
    pub polities: BTreeMap<String, PolityStyle>,
    /// Cities.
    pub cities: CityStyle,
    /// Battles.
    pub battles: BattleStyle,
    /// Campaigns.
    pub campaigns: CampaignStyle,
    /// Landform labels.
    pub landforms: FontSpec,
    /// The tint of mountain areas (landforms of kind `mountains` drawn as areas).
    #[serde(default)]
    pub relief: ReliefStyle,
    /// Map furniture.
    pub furniture: FurnitureStyle,
    /// Layers to draw, bottom to top; a layer left out is not drawn, nor labelled.
    #[serde(default = "default_layers")]
    pub layers: Vec<MapLayer>,
}

/// A polity a dataset names, for [`Style::adopt_polities`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AutoPolity {
    /// Polity id.
    pub id: String,
    /// English name for the legend.
    pub name: String,
    /// Kazakh name.
    pub name_kk: Option<String>,
    /// Russian name.
    pub name_ru: Option<String>,
}

/// Fills for polities a style does not know, safe for colour-blind readers: the eight
/// colours of Okabe & Ito (2008) without black, then Paul Tol's muted scheme (2021).
/// Past sixteen, the colours repeat with a hatch pattern.
pub const AUTO_PALETTE: [Rgba; 16] = [
    Rgba(0xe6, 0x9f, 0x00, 255), // orange
    Rgba(0x56, 0xb4, 0xe9, 255), // sky blue
    Rgba(0x00, 0x9e, 0x73, 255), // bluish green
    Rgba(0xf0, 0xe4, 0x42, 255), // yellow
    Rgba(0x00, 0x72, 0xb2, 255), // blue
    Rgba(0xd5, 0x5e, 0x00, 255), // vermillion
    Rgba(0xcc, 0x79, 0xa7, 255), // reddish purple
    Rgba(0x88, 0x22, 0x55, 255), // wine (Tol)
    Rgba(0x33, 0x22, 0x88, 255), // indigo
    Rgba(0x11, 0x77, 0x33, 255), // green
    Rgba(0x88, 0xcc, 0xee, 255), // cyan
    Rgba(0x44, 0xaa, 0x99, 255), // teal
    Rgba(0x99, 0x99, 0x33, 255), // olive
    Rgba(0xdd, 0xcc, 0x77, 255), // sand
    Rgba(0xcc, 0x66, 0x77, 255), // rose
    Rgba(0xaa, 0x44, 0x99, 255), // purple
];

/// The `n`th automatic paint: a palette colour (a grey for grey styles) and a pattern once
/// the colours run out.
fn auto_paint(n: usize, grey: bool) -> (Rgba, Pattern) {
    const PATTERNS: [Pattern; 7] = [
        Pattern::None,
        Pattern::Hatch,
        Pattern::BackHatch,
        Pattern::Dots,
        Pattern::Horizontal,
        Pattern::Vertical,
        Pattern::Cross,
    ];
    if grey {
        const GREYS: [u8; 4] = [0x40, 0x70, 0xa0, 0xc8];
        let g = GREYS[n % GREYS.len()];
        return (Rgba(g, g, g, 255), PATTERNS[(n / GREYS.len() + 1) % PATTERNS.len()]);
    }
    (AUTO_PALETTE[n % AUTO_PALETTE.len()], PATTERNS[(n / AUTO_PALETTE.len()) % PATTERNS.len()])
}

/// The styles built into the binary: (name, JSON).
pub const EMBEDDED: [(&str, &str); 3] = [
    ("atlas", include_str!("../styles/atlas.json")),
    ("print", include_str!("../styles/print.json")),
    ("grayscale", include_str!("../styles/grayscale.json")),
];

impl Style {
    /// Parse a style from JSON; `label` names it in errors.
    pub fn from_json(text: &str, label: &str) -> Result<Style> {
        let style: Style =
            serde_json::from_str(text).map_err(|e| Error::Style { file: label.to_string(), message: e.to_string() })?;
        style.check().map_err(|message| Error::Style { file: label.to_string(), message })?;
        Ok(style)
    }

    /// Load an embedded style by name (`atlas`, `print`, `grayscale`) or a style file by path.
    pub fn load(name_or_path: &str) -> Result<Style> {
        let bare = name_or_path.trim_end_matches(".json");
        if let Some((name, text)) = EMBEDDED.iter().find(|(n, _)| *n == bare) {
            if !Path::new(name_or_path).exists() {
                return Style::from_json(text, &format!("{name}.json"));
            }
        }
        let path = Path::new(name_or_path);
        // A style is a few kB: refuse devices, FIFOs and anything past a megabyte unread.
        if let Ok(m) = std::fs::metadata(path) {
            if !m.is_file() || m.len() > MAX_STYLE_BYTES {
                return Err(Error::Style {
                    file: path.display().to_string(),
                    message: format!("not a style file (a regular file of at most {} kB)", MAX_STYLE_BYTES >> 10),
                });
            }
        }
        let text = std::fs::read_to_string(path).map_err(|e| Error::Style {
            file: path.display().to_string(),
            message: format!(
                "cannot read style ({e}); embedded styles are {}",
                EMBEDDED.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
            ),
        })?;
        Style::from_json(&text, &path.display().to_string())
    }

    /// The polity's paint, if the style knows it.
    pub fn polity(&self, id: &str) -> Option<&PolityStyle> {
        self.polities.get(id)
    }

    /// Paint every polity of `polities` (id, English name, Kazakh name, Russian name, in
    /// the order they should get colours) that the style does not know, with an automatic
    /// colour from [`AUTO_PALETTE`], so the map and its legend show it. A style whose
    /// polities are all grey (the journal style) gets greys with patterns instead. Returns
    /// the ids added with their fills.
    pub fn adopt_polities(&mut self, polities: &[AutoPolity]) -> Vec<(String, Rgba)> {
        let grey =
            !self.polities.is_empty() && self.polities.values().all(|p| p.fill.0 == p.fill.1 && p.fill.1 == p.fill.2);
        let mut added = Vec::new();
        for p in polities {
            if self.polities.contains_key(&p.id) {
                continue;
            }
            let n = added.len();
            let (fill, pattern) = auto_paint(n, grey);
            let border = fill.mix(Rgba(0, 0, 0, 255), 0.4);
            self.polities.insert(
                p.id.clone(),
                PolityStyle {
                    name: p.name.clone(),
                    name_kk: p.name_kk.clone(),
                    name_ru: p.name_ru.clone(),
                    fill,
                    border,
                    pattern,
                    // In black and white, sides also differ by their line's mark.
                    mark: if grey {
                        [SideMark::Solid, SideMark::Cased, SideMark::Striped][n % 3]
                    } else {
                        SideMark::Solid
                    },
                },
            );
            added.push((p.id.clone(), fill));
        }
        added
    }

    /// Check every number of the style against sane bounds, naming the key that is out.
    fn check(&self) -> std::result::Result<(), String> {
        let mut sizes: Vec<(String, f64, std::ops::RangeInclusive<f64>)> = Vec::new();
        // Through its shortest decimal form, so that 1e-9 reads 1e-9 and not 9.99999e-10.
        let mut add = |k: &str, v: f32, r: std::ops::RangeInclusive<f64>| {
            sizes.push((k.to_string(), v.to_string().parse().unwrap_or(f64::NAN), r))
        };
        add("halo_pt", self.halo_pt, 0.0..=MAX_HALO_PT);
        add("water.outline_pt", self.water.outline_pt, 0.0..=MAX_LINE_PT);
        for (i, w) in self.rivers.widths_pt.iter().enumerate() {
            add(&format!("rivers.widths_pt[{i}]"), *w, 0.0..=MAX_LINE_PT);
        }
        add("territories.fill_opacity", self.territories.fill_opacity, 0.0..=1.0);
        add("territories.border_pt", self.territories.border_pt, 0.0..=MAX_LINE_PT);
        add("territories.hatch_spacing_pt", self.territories.hatch_spacing_pt, MIN_SPACING_PT..=MAX_MARK_PT);
        add("territories.hatch_pt", self.territories.hatch_pt, 0.0..=MAX_LINE_PT);
        for (i, d) in self.territories.approximate_dash_pt.iter().enumerate() {
            add(&format!("territories.approximate_dash_pt[{i}]"), *d, MIN_SPACING_PT..=MAX_MARK_PT);
        }
        add("cities.marker_pt", self.cities.marker_pt, 0.0..=MAX_MARK_PT);
        add("battles.size_pt", self.battles.size_pt, 0.0..=MAX_MARK_PT);
        add("campaigns.width_pt", self.campaigns.width_pt, 0.0..=MAX_LINE_PT);
        add("campaigns.flight_width_pt", self.campaigns.flight_width_pt, 0.0..=MAX_MARK_PT);
        add("campaigns.flight_opacity", self.campaigns.flight_opacity, 0.0..=1.0);
        add("campaigns.arrow_pt", self.campaigns.arrow_pt, 0.0..=MAX_MARK_PT);
        add("furniture.graticule.width_pt", self.furniture.graticule.width_pt, 0.0..=MAX_LINE_PT);
        add("relief.opacity", self.relief.opacity, 0.0..=1.0);
        let fonts = [
            ("water.label", &self.water.label),
            ("rivers.label", &self.rivers.label),
            ("territories.label", &self.territories.label),
            ("cities.label", &self.cities.label),
            ("cities.capital_label", &self.cities.capital_label),
            ("battles.label", &self.battles.label),
            ("campaigns.label", &self.campaigns.label),
            ("landforms", &self.landforms),
            ("furniture.title", &self.furniture.title),
            ("furniture.year", &self.furniture.year),
            ("furniture.caption", &self.furniture.caption),
            ("furniture.legend", &self.furniture.legend),
            ("furniture.credit", &self.furniture.credit),
            ("furniture.graticule.label", &self.furniture.graticule.label),
        ];
        for (k, f) in fonts {
            add(&format!("{k}.size_pt"), f.size_pt, MIN_FONT_PT..=MAX_FONT_PT);
            add(&format!("{k}.letter_spacing_pt"), f.letter_spacing_pt, -MAX_LETTER_SPACING_PT..=MAX_LETTER_SPACING_PT);
        }
        for (k, v, range) in sizes {
            if !v.is_finite() || !range.contains(&v) {
                return Err(format!(
                    "{k} is {}; it must be a number within {}–{}",
                    number(v),
                    range.start(),
                    range.end()
                ));
            }
        }
        if self.territories.approximate_dash_pt.len() > MAX_DASHES {
            return Err(format!("territories.approximate_dash_pt has more than {MAX_DASHES} entries"));
        }
        if !(1..=3).contains(&self.rivers.label_max_rank) {
            return Err(format!("rivers.label_max_rank is {}; it must be 1, 2 or 3", self.rivers.label_max_rank));
        }
        let step = self.furniture.graticule.step_deg;
        if !step.is_finite() || !(MIN_GRATICULE_DEG..=MAX_GRATICULE_DEG).contains(&step) {
            return Err(format!(
                "furniture.graticule.step_deg is {}; it must be a number within {MIN_GRATICULE_DEG}–{MAX_GRATICULE_DEG}",
                number(step)
            ));
        }
        Ok(())
    }
}

/// A number for a message: plain when it is of ordinary size, else in e-notation.
fn number(v: f64) -> String {
    if v == 0.0 || !v.is_finite() || (1e-4..1e6).contains(&v.abs()) {
        format!("{v}")
    } else {
        format!("{v:e}")
    }
}

/// The largest style file read, bytes.
pub const MAX_STYLE_BYTES: u64 = 1 << 20;

/// Largest line width a style may ask for, pt (about 18 mm).
pub const MAX_LINE_PT: f64 = 50.0;
/// Largest halo around labels, pt.
pub const MAX_HALO_PT: f64 = 20.0;
/// Largest marker, symbol, arrowhead, band, dash or hatch spacing, pt.
pub const MAX_MARK_PT: f64 = 200.0;
/// Smallest hatch spacing or dash length, pt: finer patterns never end drawing.
pub const MIN_SPACING_PT: f64 = 0.25;
/// Smallest font size, pt.
pub const MIN_FONT_PT: f64 = 1.0;
/// Largest font size, pt.
pub const MAX_FONT_PT: f64 = 200.0;
/// Largest letter spacing either way, pt.
pub const MAX_LETTER_SPACING_PT: f64 = 50.0;
/// Most entries in a dash pattern.
pub const MAX_DASHES: usize = 16;
/// Finest graticule, degrees (6 minutes of arc).
pub const MIN_GRATICULE_DEG: f64 = 0.1;
/// Coarsest graticule, degrees.
pub const MAX_GRATICULE_DEG: f64 = 90.0;

/// A starting style for a dataset: the embedded style `base` as JSON, named `name`, whose
/// polities are the dataset's `polities` — the base's paint where it knows them, automatic
/// colours otherwise (`steppe-atlas style init`).
pub fn starting_style(base: &str, name: &str, polities: &[AutoPolity]) -> Result<String> {
    let mut style = Style::load(base)?;
    let text = EMBEDDED.iter().find(|(n, _)| *n == base.trim_end_matches(".json")).map(|(_, t)| t.to_string());
    let text = match text {
        Some(t) => t,
        None => {
            std::fs::read_to_string(base).map_err(|e| Error::Style { file: base.into(), message: e.to_string() })?
        }
    };
    let mut doc: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| Error::Style { file: base.into(), message: e.to_string() })?;
    style.adopt_polities(polities);
    let hex = |c: Rgba| {
        if c.3 == 255 {
            format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2)
        } else {
            format!("#{:02x}{:02x}{:02x}{:02x}", c.0, c.1, c.2, c.3)
        }
    };
    let mut out = serde_json::Map::new();
    for p in polities {
        let Some(ps) = style.polity(&p.id) else { continue };
        let mut entry = serde_json::json!({"name": ps.name, "fill": hex(ps.fill), "border": hex(ps.border)});
        if let Some(k) = &ps.name_kk {
            entry["name:kk"] = k.clone().into();
        }
        if let Some(r) = &ps.name_ru {
            entry["name:ru"] = r.clone().into();
        }
        if ps.pattern != Pattern::None {
            entry["pattern"] = snake(&format!("{:?}", ps.pattern)).into();
        }
        out.insert(p.id.clone(), entry);
    }
    doc["polities"] = serde_json::Value::Object(out);
    doc["name"] = name.into();
    serde_json::to_string_pretty(&doc).map_err(|e| Error::Style { file: base.into(), message: e.to_string() })
}

fn snake(s: &str) -> String {
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if ch.is_uppercase() && i > 0 {
            out.push('_');
        }
        out.extend(ch.to_lowercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_styles_parse() {
        for (name, _) in EMBEDDED {
            let s = Style::load(name).unwrap_or_else(|e| panic!("{name}: {e}"));
            for p in ["dzungar", "kazakh_senior", "kazakh_middle", "kazakh_junior", "qing", "russia"] {
                assert!(s.polity(p).is_some(), "{name} lacks {p}");
            }
        }
    }

    #[test]
    fn unknown_key_is_rejected_with_its_name() {
        let text = EMBEDDED[0].1.replacen("\"land\"", "\"lnd\"", 1);
        let err = Style::from_json(&text, "mine.json").unwrap_err().to_string();
        assert!(err.starts_with("mine.json: "), "{err}");
        assert!(err.contains("lnd"), "{err}");
    }

    /// sRGB byte to linear light.
    fn lin(c: f64) -> f64 {
        let c = c / 255.0;
        if c <= 0.04045 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    }

    /// CIE L*a*b* (D65) of a linear-light RGB triple.
    fn lab([r, g, b]: [f64; 3]) -> [f64; 3] {
        let x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047;
        let y = 0.2126 * r + 0.7152 * g + 0.0722 * b;
        let z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883;
        let f = |t: f64| if t > 0.008856 { t.cbrt() } else { 7.787 * t + 16.0 / 116.0 };
        [116.0 * f(y) - 16.0, 500.0 * (f(x) - f(y)), 200.0 * (f(y) - f(z))]
    }

    /// Simulate colour-vision deficiency (Machado et al. 2009, severity 1) on linear RGB.
    fn simulate(m: &[[f64; 3]; 3], c: [f64; 3]) -> [f64; 3] {
        let v = |i: usize| (m[i][0] * c[0] + m[i][1] * c[1] + m[i][2] * c[2]).clamp(0.0, 1.0);
        [v(0), v(1), v(2)]
    }

    #[test]
    fn protagonists_stay_apart_for_colour_blind_readers() {
        const NONE: [[f64; 3]; 3] = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];
        const DEUTAN: [[f64; 3]; 3] =
            [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.011820, 0.042940, 0.968881]];
        const PROTAN: [[f64; 3]; 3] =
            [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]];
        for name in ["atlas", "print"] {
            let s = Style::load(name).unwrap();
            let fill = |p: &str| {
                let c = s.land.mix(s.polity(p).unwrap().fill, s.territories.fill_opacity);
                [lin(f64::from(c.0)), lin(f64::from(c.1)), lin(f64::from(c.2))]
            };
            for (vision, m) in [("normal", NONE), ("deuteranopia", DEUTAN), ("protanopia", PROTAN)] {
                let de = |a: &str, b: &str| {
                    let (x, y) = (lab(simulate(&m, fill(a))), lab(simulate(&m, fill(b))));
                    ((x[0] - y[0]).powi(2) + (x[1] - y[1]).powi(2) + (x[2] - y[2]).powi(2)).sqrt()
                };
                let juz = ["kazakh_senior", "kazakh_middle", "kazakh_junior"];
                for j in juz {
                    // The two sides of the war must never be confused.
                    assert!(de("dzungar", j) > 20.0, "{name}, {vision}: dzungar vs {j}: ΔE {}", de("dzungar", j));
                }
                for (i, a) in juz.iter().enumerate() {
                    for b in &juz[i + 1..] {
                        // The jüzes are one family told apart by lightness.
                        assert!(de(a, b) > 6.0, "{name}, {vision}: {a} vs {b}: ΔE {}", de(a, b));
                    }
                }
            }
        }
    }

    #[test]
    fn every_size_is_bounded_and_named() {
        let base = EMBEDDED[1].1;
        for (from, to, key) in [
            ("\"border_pt\": 1.3", "\"border_pt\": 1e9", "territories.border_pt is 1e9"),
            ("\"halo_pt\": 1.2", "\"halo_pt\": 1e30", "halo_pt is"),
            ("\"hatch_spacing_pt\": 4.5", "\"hatch_spacing_pt\": 1e-9", "territories.hatch_spacing_pt"),
        ] {
            assert!(base.contains(from), "{from}");
            let err = Style::from_json(&base.replacen(from, to, 1), "s.json").unwrap_err().to_string();
            assert!(err.starts_with("s.json: ") && err.contains(key), "{err}");
        }
        let v: serde_json::Value = serde_json::from_str(base).unwrap();
        let mut arrow = v.clone();
        arrow["campaigns"]["arrow_pt"] = serde_json::json!(-1e9);
        let err = Style::from_json(&arrow.to_string(), "s.json").unwrap_err().to_string();
        assert!(err.contains("campaigns.arrow_pt is -1e9"), "{err}");
        let mut step = v.clone();
        step["furniture"]["graticule"]["step_deg"] = serde_json::json!(1e-9);
        let err = Style::from_json(&step.to_string(), "s.json").unwrap_err().to_string();
        assert!(err.contains("furniture.graticule.step_deg"), "{err}");
        let mut font = v;
        font["furniture"]["title"]["size_pt"] = serde_json::json!(1e6);
        let err = Style::from_json(&font.to_string(), "s.json").unwrap_err().to_string();
        assert!(err.contains("furniture.title.size_pt"), "{err}");
    }

    #[test]
    fn colours() {
        assert_eq!(Rgba::parse("#ff8000"), Some(Rgba(255, 128, 0, 255)));
        assert_eq!(Rgba::parse("#ff800080"), Some(Rgba(255, 128, 0, 128)));
        assert_eq!(Rgba::parse("ff8000"), None);
        assert_eq!(Rgba::parse("#ff80"), None);
        assert_eq!(Rgba::parse("#gg8000"), None);
    }
}
