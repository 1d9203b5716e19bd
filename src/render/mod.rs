//! From an atlas, a style and a view to pixels: territories, water, rivers, routes,
//! battles, cities, labels and map furniture, drawn with tiny-skia.
//!
//! Only what the index returns for the view's (buffered) bounds is drawn. The map layer
//! and the furniture (title, year, caption, legend, scale bar, credit) are separate steps,
//! so callers that cache a map state can draw the furniture per frame.

pub mod canvas;
mod furniture;
pub mod hairline;
pub mod labels;
mod layers;
pub(crate) use layers::{label_point, polity_anchor_lonlat};
pub mod paint;
pub mod raster;
pub mod record;
mod stamp;
pub mod text;
pub mod vector;

use crate::atlas::Atlas;
use crate::data::{CampaignKind, CityKind, Layer};
use crate::project::{LonLatBox, View};
use crate::style::{FontSpec, MapLayer, Style};
use crate::time::Year;
use canvas::{group, Canvas};
use labels::LabelPlacer;
use std::collections::{BTreeMap, BTreeSet};
use text::{Fonts, TextStyle};
use tiny_skia::Pixmap;

/// A 128-bit XXH3 of bytes written a few at a time: they are gathered and hashed in one
/// go (`XxHash3_128::oneshot_with_seed`), as a streaming hasher costs more per small
/// write than per byte (and allocates and derives its secret for every hash). The
/// buffers are kept per thread from hash to hash (growing a new one for each was a tenth
/// of a metatile's layout time in `realloc`). Digests of recorded operations and the
/// keys of layers, windows and laid-out texts are made with it.
pub(crate) struct Gathered {
    seed: u64,
    bytes: Vec<u8>,
}

thread_local! {
    /// Buffers of [`Gathered`] hashes finished on this thread, for the next ones.
    static GATHERED_BUFFERS: std::cell::RefCell<Vec<Vec<u8>>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl Gathered {
    pub(crate) fn with_seed(seed: u64) -> Gathered {
        Gathered { seed, bytes: GATHERED_BUFFERS.with(|b| b.borrow_mut().pop()).unwrap_or_default() }
    }

    pub(crate) fn write(&mut self, bytes: &[u8]) {
        self.bytes.extend_from_slice(bytes);
    }

    /// The bytes gathered so far, to write to in place.
    pub(crate) fn buffer(&mut self) -> &mut Vec<u8> {
        &mut self.bytes
    }

    pub(crate) fn finish_128(&self) -> u128 {
        twox_hash::XxHash3_128::oneshot_with_seed(self.seed, &self.bytes)
    }
}

impl Drop for Gathered {
    fn drop(&mut self) {
        let mut bytes = std::mem::take(&mut self.bytes);
        // A few buffers of a few hundred kB at most (a long river's points) are kept.
        if bytes.capacity() <= 1 << 19 {
            bytes.clear();
            GATHERED_BUFFERS.with(|b| {
                let mut b = b.borrow_mut();
                if b.len() < 4 {
                    b.push(bytes);
                }
            });
        }
    }
}

/// What to draw for one image.
#[derive(Clone, Debug)]
pub struct RenderOptions {
    /// The year shown.
    pub year: Year,
    /// Label language (`en`, `kk`, `ru`), falling back to English.
    pub lang: String,
    /// Dots per inch, for converting the style's points to pixels.
    pub dpi: f32,
    /// Highlight what changed hands between this year and `year`.
    pub compare: Option<Year>,
    /// Draw title, legend, scale bar, graticule and credit (off for slippy-map tiles).
    pub furniture: bool,
    /// Draw labels.
    pub labels: bool,
    /// How much of each campaign route to draw, 0–1 (animation grows the arrows).
    pub route_progress: f32,
    /// Tween from an earlier year: colours of land and towns that changed hands are
    /// blended from that year's holder to this year's by the factor (0 = old, 1 = new).
    pub blend_from: Option<(Year, f32)>,
    /// Draw a timeline strip along the bottom (animation frames).
    pub timeline: Option<Timeline>,
    /// Reserve a fixed-size title block, so that every frame of an animation places its
    /// labels the same way whatever the length of its caption.
    pub fixed_title: bool,
    /// Water, rivers and graticule already drawn (see [`render_base`]), composited instead
    /// of drawn again.
    pub base_layer: Option<std::sync::Arc<Pixmap>>,
    /// Metatile mode: labels may run past the image edge (the buffer hides it) and area
    /// names keep their one position, so neighbouring metatiles place them alike.
    pub seamless_labels: bool,
    /// Boxes (px) the labels keep clear of, for what is drawn over the map afterwards
    /// (an inset's scale bar).
    pub keep_clear: Vec<[f32; 4]>,
}

/// The timeline strip of an animation frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Timeline {
    /// First year on the strip.
    pub from: i32,
    /// Last year on the strip.
    pub to: i32,
    /// Where the cursor stands (fractional between years while tweening).
    pub cursor: f32,
}

impl RenderOptions {
    /// Options for a publication frame of `year` at `dpi`.
    pub fn frame(year: Year, dpi: f32) -> RenderOptions {
        RenderOptions {
            year,
            lang: "en".into(),
            dpi,
            compare: None,
            furniture: true,
            labels: true,
            route_progress: 1.0,
            blend_from: None,
            timeline: None,
            fixed_title: false,
            base_layer: None,
            seamless_labels: false,
            keep_clear: Vec::new(),
        }
    }
}

/// The symbols a map actually shows, for its legend.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Shown {
    /// Polity ids with land on the map, in first-drawn order.
    pub polities: Vec<String>,
    /// Polity ids seen only as sides of routes, victors of battles or holders of towns.
    pub sides: Vec<String>,
    /// City kinds drawn.
    pub city_kinds: BTreeSet<CityKind>,
    /// Campaign kinds drawn.
    pub campaign_kinds: BTreeSet<CampaignKind>,
    /// Any battle drawn.
    pub battles: bool,
    /// Any approximate border drawn.
    pub approximate: bool,
    /// Any tributary land drawn.
    pub tributary: bool,
    /// Any occupied land drawn.
    pub occupied: bool,
    /// Any contested land drawn.
    pub contested: bool,
    /// Any city captured this year.
    pub captured: bool,
    /// Any destroyed town.
    pub destroyed: bool,
    /// Any besieged town.
    pub besieged: bool,
    /// Areas or cities changed hands (compare mode).
    pub changed: bool,
    /// A town or battle whose place is not known exactly.
    pub approximate_place: bool,
    /// A route the sources do not trace.
    pub assumed_route: bool,
    /// A line of forts.
    pub fortified_line: bool,
    /// Any mountain area tinted.
    pub relief: bool,
    /// Polity ids that are the side of a drawn route or the victor of a drawn battle.
    pub fighters: Vec<String>,
    /// Which of the three lists above each polity id is in ([`Shown::HOLDS`], …): a map of
    /// a dataset with thousands of polities asks about each of them once a feature.
    listed: BTreeMap<String, u8>,
}

impl Shown {
    const HOLDS: u8 = 1;
    const SIDE: u8 = 2;
    const FIGHTS: u8 = 4;

    /// The lists `id` is in.
    fn lists(&self, id: &str) -> u8 {
        self.listed.get(id).copied().unwrap_or(0)
    }

    /// Record that `id` is in the lists `bits` (and no others).
    fn set_lists(&mut self, id: &str, bits: u8) {
        match self.listed.get_mut(id) {
            Some(b) => *b = bits,
            None => {
                self.listed.insert(id.to_string(), bits);
            }
        }
    }

    /// A polity holding land on the map.
    fn polity(&mut self, id: &str) {
        let lists = self.lists(id);
        if lists & Shown::HOLDS == 0 {
            self.polities.push(id.to_string());
        }
        if lists & Shown::SIDE != 0 {
            self.sides.retain(|s| s != id);
        }
        self.set_lists(id, (lists | Shown::HOLDS) & !Shown::SIDE);
    }

    /// A polity seen as a route's side, a battle's victor or a town's holder: listed
    /// apart unless it also holds land on the map.
    fn side(&mut self, id: &str) {
        let lists = self.lists(id);
        if lists & (Shown::HOLDS | Shown::SIDE) == 0 {
            self.sides.push(id.to_string());
            self.set_lists(id, lists | Shown::SIDE);
        }
    }

    /// A polity fighting on the map: a route's side or a battle's victor.
    fn fighter(&mut self, id: &str) {
        self.side(id);
        let lists = self.lists(id);
        if lists & Shown::FIGHTS == 0 {
            self.fighters.push(id.to_string());
            self.set_lists(id, lists | Shown::FIGHTS);
        }
    }
}

/// A rendered image with what it contains.
pub struct Rendered {
    /// The pixels (premultiplied RGBA).
    pub pixmap: Pixmap,
    /// Boxes `[x0, y0, x1, y1]` of every placed label, px.
    pub label_boxes: Vec<[f32; 4]>,
    /// Promised labels that found no room (see [`promised`]).
    pub missing: Vec<String>,
    /// Every placed label with its text.
    pub labels: Vec<labels::PlacedLabel>,
    /// Pixel positions of drawn city markers by id.
    pub markers: Vec<(String, f32, f32)>,
    /// What the legend lists.
    pub shown: Shown,
}

/// Everything a painter needs for one image.
pub(crate) struct Frame<'a> {
    pub atlas: &'a Atlas,
    pub style: &'a Style,
    pub view: &'a View,
    pub opts: &'a RenderOptions,
    /// Pixels per point.
    pub pt: f32,
    /// Furniture scale (1 at A4 and larger; smaller pages shrink the furniture).
    pub fs: f32,
    pub fonts: &'static Fonts,
    /// Draw water, rivers and graticule (false when a cached base layer supplies them).
    pub draw_base: bool,
    /// Territories are the first layer (on bare land), so their fills can be opaque.
    pub territories_first: bool,
    /// The lon/lat box to query, with a buffer for symbols and labels across the edge.
    pub visible: LonLatBox,
    /// Ids whose labels this map promises (see [`promised`]).
    pub promised: BTreeSet<String>,
}

impl Frame<'_> {
    /// Points to pixels.
    pub fn px(&self, pt: f32) -> f32 {
        pt * self.pt
    }

    /// A `[west, south, east, north]` box in degrees as `[x0, y0, x1, y1]` px (its corners
    /// projected).
    pub(crate) fn px_box(&self, b: [f64; 4]) -> [f32; 4] {
        let (x0, y0) = self.view.to_px(b[0], b[3]);
        let (x1, y1) = self.view.to_px(b[2], b[1]);
        [x0.min(x1) as f32, y0.min(y1) as f32, x0.max(x1) as f32, y0.max(y1) as f32]
    }

    /// A text style from a style-file font spec (sizes converted to px) with the map halo.
    pub fn text_style(&self, f: &FontSpec, scale: f32) -> TextStyle {
        TextStyle {
            face: f.face,
            // Style sizes are em sizes; the text module's size is ascent + descent, which is
            // 1.164 em in DejaVu.
            size_px: self.px(f.size_pt) * scale * 1.164,
            color: f.color.skia(1.0),
            halo: Some((self.style.halo.skia(1.0), self.px(self.style.halo_pt) * scale)),
            letter_spacing_px: self.px(f.letter_spacing_pt) * scale,
        }
    }

    /// A polity's name in the year shown ("Tsardom of Russia" before 1721), from the
    /// atlas's dated names, else the style's name.
    pub fn polity_name(&self, id: &str, ps: &crate::style::PolityStyle) -> String {
        let lang = &self.opts.lang;
        self.atlas.data.polity_name(id, self.opts.year, lang).unwrap_or_else(|| ps.name(lang)).to_string()
    }

    /// Is the pixel (x, y) within `margin` px of the image?
    pub fn near_image(&self, x: f32, y: f32, margin: f32) -> bool {
        x >= -margin && y >= -margin && x <= self.view.width as f32 + margin && y <= self.view.height as f32 + margin
    }

    /// Features of `layer` whose envelope meets the visible area.
    pub fn visible_in(&self, layer: Layer) -> Vec<usize> {
        self.atlas.index.in_bbox(layer, &self.visible)
    }
}

/// Phase timings of a render, printed when `STEPPE_ATLAS_TIMING` is set (for profiling).
struct Laps(Option<std::time::Instant>);

impl Laps {
    fn new() -> Laps {
        Laps(std::env::var_os("STEPPE_ATLAS_TIMING").map(|_| std::time::Instant::now()))
    }

    fn lap(&mut self, what: &str) {
        self.lap_with(|| what.to_string());
    }

    /// A lap whose label is only built when timings are printed.
    fn lap_with(&mut self, what: impl FnOnce() -> String) {
        if let Some(t) = self.0 {
            eprintln!("  {}: {:.2} ms", what(), t.elapsed().as_secs_f64() * 1000.0);
            self.0 = Some(std::time::Instant::now());
        }
    }
}

/// Apply a font spec's case rule.
pub(crate) fn cased<'s>(f: &FontSpec, s: &'s str) -> std::borrow::Cow<'s, str> {
    if f.uppercase {
        s.to_uppercase().into()
    } else {
        s.into()
    }
}

/// Render one complete image of `atlas` in `view`: the map and, with `opts.furniture`,
/// its furniture including the title block (and the timeline strip when asked for).
pub fn render(atlas: &Atlas, style: &Style, view: &View, opts: &RenderOptions) -> Rendered {
    let mut img = render_map(atlas, style, view, opts);
    if opts.furniture {
        overlay(atlas, style, view, opts, &img.shown, &mut img.pixmap);
    }
    img
}

/// Render one complete image as an SVG document: the same drawing as [`render`], with
/// text as text, patterns as patterns and one group per layer (see [`vector`]).
pub fn render_svg<'a>(
    atlas: &'a Atlas,
    style: &Style,
    view: &View,
    opts: &RenderOptions,
    svg: &vector::SvgOptions,
) -> (String, Drawn<'a>) {
    let mut canvas = vector::SvgCanvas::new(view.width.max(1), view.height.max(1), opts.dpi, style.land, svg.clone());
    let mut opts = opts.clone();
    opts.base_layer = None;
    let drawn = draw_map(atlas, style, view, &opts, &mut canvas);
    if opts.furniture {
        overlay(atlas, style, view, &opts, &drawn.shown, &mut canvas);
    }
    let title = format!("{} — {}", atlas.data.title(&opts.lang), opts.year.0);
    (canvas.finish(&title), drawn)
}

fn frame<'a>(atlas: &'a Atlas, style: &'a Style, view: &'a View, opts: &'a RenderOptions) -> Frame<'a> {
    let pt = opts.dpi / 72.0;
    let (w_in, h_in) = (view.width as f32 / opts.dpi, view.height as f32 / opts.dpi);
    Frame {
        atlas,
        style,
        view,
        opts,
        pt,
        fs: (w_in / 11.69).min(h_in / 8.27).clamp(0.55, 1.0),
        fonts: Fonts::embedded(),
        draw_base: opts.base_layer.is_none() || style.layers != crate::style::DEFAULT_LAYERS,
        territories_first: style.layers.first() == Some(&crate::style::MapLayer::Territories),
        visible: query_box(view, opts),
        // Publication frames and animation frames promise labels; metatiles of a slippy map
        // place labels alike across tiles, without promises or leader lines.
        promised: if opts.labels && !opts.seamless_labels { promised(atlas, view, opts.year) } else { BTreeSet::new() },
    }
}

/// The lon/lat box whose features a drawing of `view` reads: the view with a buffer for
/// symbols and labels across its edge. Nothing outside it changes the drawing, but for
/// what a feature draws across the whole map (a polity's name anchored on all its land,
/// a line of forts, the borders along a neighbour's edge).
pub fn query_box(view: &View, opts: &RenderOptions) -> LonLatBox {
    view.visible_bbox(f64::from(64.0 * (opts.dpi / 72.0).max(1.0)))
}

/// The promised ids: those named for the year (captions, battles, `"label": "always"`, the
/// towns a route of the year names: "from Tashkent"), and the principal towns (capitals
/// and towns of the highest rank, 5), promised when in view.
fn promised_parts(atlas: &Atlas, year: Year) -> std::sync::Arc<crate::atlas::Promised> {
    atlas.promised_in(year.0, || find_promised(atlas, year))
}

/// [`promised_parts`], found.
fn find_promised(atlas: &Atlas, year: Year) -> crate::atlas::Promised {
    let mut named = BTreeSet::new();
    // Positions in the towns' layer: a large dataset has thousands of principal towns, and
    // their ids would be copied, sorted and looked up again.
    let mut principal = Vec::new();
    for e in atlas.data.layer(Layer::Events).iter().filter(|e| e.alive(year)) {
        if let Some(places) = e.properties.get("places").and_then(|v| v.as_array()) {
            named.extend(places.iter().filter_map(|v| v.as_str()).map(str::to_string));
        }
    }
    let routes: Vec<&str> =
        atlas.data.layer(Layer::Campaigns).iter().filter(|c| c.alive(year)).map(|c| c.name("en")).collect();
    let names = RouteWords::new(&routes);
    for layer in Layer::ALL {
        for (i, feat) in atlas.data.layer(layer).iter().enumerate().filter(|(_, f)| f.alive(year)) {
            let always = feat.properties.get("label").and_then(|v| v.as_str()) == Some("always");
            if always || layer == Layer::Battles {
                named.insert(feat.id.clone());
            } else if layer == Layer::Cities {
                // A town by its English name without a parenthesis ("Taraz (Aulie-Ata)").
                let name = feat.name("en");
                let name = name.as_bytes().windows(2).position(|w| w == b" (").map_or(name, |at| &name[..at]).trim();
                if names.name(name) {
                    named.insert(feat.id.clone());
                } else if feat.kind_in(year) == CityKind::Capital || feat.rank >= 5 {
                    principal.push(i);
                }
            }
        }
    }
    (named, principal)
}

/// The names of a year's routes, to ask which town names stand in them as whole words
/// ([`crate::data::has_word`]) without searching every route for every town.
struct RouteWords<'a> {
    routes: &'a [&'a str],
    /// The whole words of the routes' names: their longest runs of letters and digits.
    words: rustc_hash::FxHashSet<&'a str>,
}

impl<'a> RouteWords<'a> {
    fn new(routes: &'a [&'a str]) -> RouteWords<'a> {
        RouteWords { routes, words: routes.iter().flat_map(|r| r.split(Self::not_word)).collect() }
    }

    fn not_word(c: char) -> bool {
        !c.is_alphanumeric()
    }

    /// Does some route's name hold `name` as whole words? A name of one word does exactly
    /// when it is one of the words; a name of several only if its first word is (the
    /// quick test before the search).
    fn name(&self, name: &str) -> bool {
        if name.is_empty() {
            return false;
        }
        if !name.contains(Self::not_word) {
            return self.words.contains(name);
        }
        (name.starts_with(Self::not_word) || self.words.contains(name.split(Self::not_word).next().unwrap_or("")))
            && self.routes.iter().any(|r| crate::data::has_word(r, name))
    }
}

/// The features whose labels a map of `year` in `view` promises to place: every place the
/// year's captions name (an event's `places`), the towns its routes name, the year's
/// battles, the principal towns in the image (capitals, and towns of rank 5), and
/// features marked `"label": "always"` in the data (the rivers the story follows). They are placed before every other label, on a leader line when their
/// marker's neighbourhood is full, and at the frame's edge with a pointer when a named
/// place lies off the map.
pub fn promised(atlas: &Atlas, view: &View, year: Year) -> BTreeSet<String> {
    let parts = promised_parts(atlas, year);
    let (mut named, principal) = (parts.0.clone(), &parts.1);
    let towns = atlas.data.layer(Layer::Cities);
    for &i in principal {
        if let crate::data::Geometry::Point(p) = &towns[i].geometry {
            let (x, y) = view.to_px(p.x(), p.y());
            if (0.0..=f64::from(view.width)).contains(&x) && (0.0..=f64::from(view.height)).contains(&y) {
                named.insert(towns[i].id.clone());
            }
        }
    }
    named
}

/// The layers that do not change with the year (water, rivers, graticule) on a transparent
/// image, to be passed as `RenderOptions::base_layer` to every frame of an animation.
/// Returns None when some water or river feature is dated within the span (the base then
/// changes over time and each frame draws its own).
pub fn render_base(
    atlas: &Atlas,
    style: &Style,
    view: &View,
    opts: &RenderOptions,
    span: (i32, i32),
) -> Option<Pixmap> {
    let dated = [crate::data::Layer::Water, crate::data::Layer::Rivers]
        .iter()
        .any(|&l| atlas.data.layer(l).iter().any(|f| (span.0..=span.1).any(|y| !f.alive(Year(y)))));
    if dated {
        return None;
    }
    let mut pixmap = Pixmap::new(view.width.max(1), view.height.max(1))?;
    let mut plain = opts.clone();
    plain.base_layer = None;
    let frame = frame(atlas, style, view, &plain);
    let mut jobs = Vec::new();
    layers::water(&frame, &mut pixmap, &mut jobs);
    layers::rivers(&frame, &mut pixmap, &mut LabelPlacer::new([0.0; 4]), &mut jobs);
    if opts.furniture {
        furniture::graticule(&frame, &mut pixmap);
    }
    Some(pixmap)
}

/// Render the map state of a year: every layer, labels, legend, scale bar, credit and
/// graticule, leaving room for (but not drawing) the title block and timeline strip,
/// which change every frame. Years with the same map state give identical images.
pub fn render_map(atlas: &Atlas, style: &Style, view: &View, opts: &RenderOptions) -> Rendered {
    let mut pixmap = crate::output::new_pixmap(view.width.max(1), view.height.max(1), style.land.skia(1.0))
        .expect("image size checked by the caller");
    let drawn = draw_map(atlas, style, view, opts, &mut pixmap);
    Rendered {
        pixmap,
        missing: drawn.missing,
        label_boxes: drawn.label_boxes,
        labels: drawn.labels,
        markers: drawn.markers.into_iter().map(|(id, x, y)| (id.to_string(), x, y)).collect(),
        shown: drawn.shown,
    }
}

/// What the labeller did on one map, for `render --labels-json`.
#[derive(Clone, Debug, serde::Serialize)]
pub struct LabelReport {
    /// The year shown.
    pub year: i32,
    /// Image size, px.
    pub width: u32,
    /// Image size, px.
    pub height: u32,
    /// Ids the map promised to label (see [`promised`]).
    pub promised: Vec<String>,
    /// Every placed label.
    pub labels: Vec<labels::PlacedLabel>,
    /// Promised labels of places on the map that found no room.
    pub missing: Vec<String>,
}

impl LabelReport {
    /// The report of a rendered map.
    pub fn new(
        atlas: &Atlas,
        view: &View,
        year: Year,
        labels: Vec<labels::PlacedLabel>,
        missing: Vec<String>,
    ) -> LabelReport {
        LabelReport {
            year: year.0,
            width: view.width,
            height: view.height,
            promised: promised(atlas, view, year).into_iter().collect(),
            labels,
            missing,
        }
    }
}

/// What a map drawing placed, whatever the surface (borrowing the ids of the atlas).
pub struct Drawn<'a> {
    /// Boxes `[x0, y0, x1, y1]` of every placed label, px.
    pub label_boxes: Vec<[f32; 4]>,
    /// Promised labels (see [`promised`]) of places on this map that found no room.
    pub missing: Vec<String>,
    /// Every placed label with its text.
    pub labels: Vec<labels::PlacedLabel>,
    /// Pixel positions of drawn city markers by id.
    pub markers: Vec<(&'a str, f32, f32)>,
    /// What the legend lists.
    pub shown: Shown,
}

/// Draw the map state of a year on any canvas whose background is already the land
/// colour (see [`render_map`]): the one drawing code behind PNG, tiles, SVG and PDF.
pub fn draw_map<'a>(
    atlas: &'a Atlas,
    style: &Style,
    view: &View,
    opts: &RenderOptions,
    canvas: &mut dyn Canvas,
) -> Drawn<'a> {
    let frame = frame(atlas, style, view, opts);
    let mut shown = Shown::default();
    let frame_box = if opts.seamless_labels {
        // Seamless labels run on into the next metatile, but not past the world's east or
        // west edge on a Mercator map (there is no tile beyond it: a name would be cut).
        let (west, east) = match view.projection {
            crate::project::Projection::Mercator => (view.to_px(-180.0, 0.0).0 as f32, view.to_px(180.0, 0.0).0 as f32),
            _ => (f32::MIN, f32::MAX),
        };
        [west, f32::MIN, east, f32::MAX]
    } else {
        [0.0, 0.0, view.width as f32, view.height as f32]
    };
    let mut placer = LabelPlacer::new(frame_box);
    for b in &opts.keep_clear {
        placer.add_obstacle(*b);
    }
    let mut jobs = Vec::new();
    let mut laps = Laps::new();

    // A cached base layer (water, rivers, graticule) stands in for them in the default
    // order, composited where the rivers are drawn.
    let base = opts.base_layer.as_ref().filter(|_| !frame.draw_base);
    let mut markers = Vec::new();
    for layer in &style.layers {
        match layer {
            MapLayer::Territories => layers::territories(&frame, canvas, &mut shown, &mut jobs),
            MapLayer::Water => {
                canvas.group(group::WATER);
                layers::water(&frame, canvas, &mut jobs)
            }
            MapLayer::Rivers => {
                canvas.group(group::RIVERS);
                layers::rivers(&frame, canvas, &mut placer, &mut jobs);
                if let Some(base) = base {
                    canvas.image(base);
                }
            }
            MapLayer::Graticule if base.is_none() && opts.furniture => furniture::graticule(&frame, canvas),
            MapLayer::Graticule => {}
            MapLayer::Landforms => {
                canvas.group(group::RELIEF);
                layers::landforms(&frame, canvas, &mut shown, &mut jobs)
            }
            MapLayer::Campaigns => {
                canvas.group(group::ROUTES);
                layers::campaigns(&frame, canvas, &mut shown, &mut jobs)
            }
            MapLayer::Battles => {
                canvas.group(group::BATTLES);
                layers::battles(&frame, canvas, &mut shown, &mut placer, &mut jobs)
            }
            MapLayer::Cities => {
                canvas.group(group::CITIES);
                markers = layers::cities(&frame, canvas, &mut shown, &mut placer, &mut jobs)
            }
        }
        laps.lap_with(|| format!("{layer:?}"));
    }
    if opts.compare.is_some() {
        canvas.group(group::COMPARE);
        layers::compare(&frame, canvas, &mut shown);
    }
    let layout = opts.furniture.then(|| furniture::layout(&frame, &shown));
    if let Some(l) = &layout {
        for b in l.obstacles() {
            placer.add_obstacle(b);
        }
    }
    // A cluster of places too dense for the map's scale gets an enlargement inset in a
    // free corner; its box is kept clear of the map's labels.
    let inset = layout.as_ref().and_then(|l| plan_inset(&frame, l, &markers));
    if let Some(i) = &inset {
        placer.add_obstacle(i.rect);
    }
    // A marker under a panel (title block, legend, scale bar, caption band or inset) is
    // hidden: its name is not set beside the panel, pointing at nothing, and a promised
    // one is reported missing.
    let panels: Vec<[f32; 4]> =
        layout.iter().flat_map(furniture::Layout::panels).chain(inset.as_ref().map(|i| i.rect)).collect();
    jobs.retain(|j| match j.anchor {
        labels::Anchor::Point { x, y, .. } => !panels.iter().any(|p| x >= p[0] && x <= p[2] && y >= p[1] && y <= p[3]),
        _ => true,
    });
    let mut placed = Vec::new();
    if opts.labels {
        canvas.group(group::CITIES);
        // Pointers to named places off the map, on a map with a frame (not in an inset).
        if let Some(l) = &layout {
            layers::edge_pointers(&frame, canvas, &l.obstacles(), &mut jobs);
        }
        canvas.group(group::LABELS);
        for job in &mut jobs {
            if job.id.is_some_and(|id| frame.promised.contains(id)) {
                job.priority += labels::PROMISED;
            }
        }
        placed = labels::place_and_draw(&frame, canvas, &mut placer, jobs);
    }
    laps.lap("labels");
    if let Some(l) = layout {
        canvas.group(group::FURNITURE);
        furniture::draw(&frame, canvas, &l);
    }
    if let Some(i) = inset {
        canvas.group(group::FURNITURE);
        draw_inset(&frame, canvas, &i);
    }
    laps.lap("furniture");
    let missing = missing_labels(&frame, &placed);
    let cities = atlas.data.layer(Layer::Cities);
    let markers = markers.into_iter().map(|(i, x, y)| (cities[i].id.as_str(), x, y)).collect();
    Drawn { label_boxes: placer.placed().to_vec(), missing, labels: placed, markers, shown }
}

/// An enlargement inset: the area it shows and where it goes.
struct Inset {
    /// The cluster's area.
    area: LonLatBox,
    /// The inset's box on the map, px.
    rect: [f32; 4],
    /// The inset's own view.
    view: View,
}

/// Find the densest cluster around a place the year's captions name (at least six town
/// markers within five label heights of it) and plan an inset that shows it at least twice as
/// large, in the free corner that hides the least. Publication frames only.
fn plan_inset(f: &Frame, layout: &furniture::Layout, markers: &[(usize, f32, f32)]) -> Option<Inset> {
    if !f.opts.furniture || f.opts.fixed_title || f.opts.timeline.is_some() || f.opts.seamless_labels {
        return None;
    }
    let label_h = f.px(f.style.cities.label.size_pt) * 1.164;
    let r = label_h * 5.0;
    let grid = MarkerGrid::new(markers, r / 4.0);
    // Centred on a place the year's story names (a caption's place), not on a capital
    // that is promised only for being one: an inset of a quiet cluster hides the story.
    let named = &promised_parts(f.atlas, f.opts.year).0;
    let (count, cx, cy) = markers
        .iter()
        .filter(|m| named.contains(&f.atlas.data.layer(Layer::Cities)[m.0].id))
        .map(|m| (grid.count_near(m.1, m.2, r), m.1, m.2))
        .max_by(|a, b| a.0.cmp(&b.0).then(b.1.total_cmp(&a.1)))?;
    if count < 6 {
        return None;
    }
    let mut b = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
    for m in grid.near(cx, cy, r * 1.6) {
        let (lon, lat) = f.view.to_lonlat(f64::from(m.1), f64::from(m.2));
        b = [b[0].min(lon), b[1].min(lat), b[2].max(lon), b[3].max(lat)];
    }
    let area = LonLatBox { west: b[0], south: b[1], east: b[2], north: b[3] }.buffered(0.3);
    let (w, h) = (f.view.width as f32, f.view.height as f32);
    let (mx, my) = f.view.to_px((area.west + area.east) / 2.0, (area.south + area.north) / 2.0);
    let main = f.view.km_per_px_at(mx, my);
    // The largest inset (from 30 % of the map's width down) whose place hides no promised
    // place; failing that, the full size where it hides the least.
    let mut fallback = None;
    for share in [0.3, 0.26, 0.22] {
        let iw = (w * share).round();
        let ih = (View::height_for_width(&f.view.projection, &area, iw as u32) as f32).clamp(h * 0.18, h * 0.4).round();
        let Some((cost, rect)) = layout.free_rect(f, iw, ih) else { continue };
        let view = View::fit(f.view.projection, &area, iw as u32, ih as u32);
        // Worth an inset only if it shows the cluster at least twice as large.
        let enlarged = view.km_per_px_at(f64::from(iw) / 2.0, f64::from(ih) / 2.0);
        if main / enlarged < 2.0 {
            break;
        }
        let inset = Inset { area, rect, view };
        if !furniture::Layout::hides_promised(cost) {
            return Some(inset);
        }
        fallback = fallback.or(Some(inset));
    }
    fallback
}

/// Town markers `(index, x, y)` (px) in square cells, to find those near a place without
/// a scan of all of them (a map of many towns has many named ones to test).
struct MarkerGrid<'a> {
    markers: &'a [(usize, f32, f32)],
    cell: f32,
    /// The markers of each cell, by index into `markers`, in their order.
    cells: std::collections::HashMap<(i32, i32), Vec<u32>>,
}

impl<'a> MarkerGrid<'a> {
    fn new(markers: &'a [(usize, f32, f32)], cell: f32) -> MarkerGrid<'a> {
        let cell = if cell.is_finite() && cell > 0.0 { cell } else { 1.0 };
        let mut cells: std::collections::HashMap<(i32, i32), Vec<u32>> = std::collections::HashMap::new();
        for (i, m) in markers.iter().enumerate() {
            // A marker off any finite place is near nothing.
            if m.1.is_finite() && m.2.is_finite() {
                cells.entry(Self::at(m.1, m.2, cell)).or_default().push(i as u32);
            }
        }
        MarkerGrid { markers, cell, cells }
    }

    fn at(x: f32, y: f32, cell: f32) -> (i32, i32) {
        ((x / cell).floor() as i32, (y / cell).floor() as i32)
    }

    /// The cells that can hold markers within `d` of (x, y), with whether all of a cell
    /// lies within `d` (with room for rounding).
    fn cells_near(&self, x: f32, y: f32, d: f32) -> impl Iterator<Item = (&Vec<u32>, bool)> + '_ {
        let ((x0, y0), (x1, y1)) = (Self::at(x - d, y - d, self.cell), Self::at(x + d, y + d, self.cell));
        let c = f64::from(self.cell);
        let (fx, fy, fd) = (f64::from(x), f64::from(y), f64::from(d) * (1.0 - 1e-4));
        (x0..=x1).flat_map(move |cx| (y0..=y1).map(move |cy| (cx, cy))).filter_map(move |(cx, cy)| {
            let cell = self.cells.get(&(cx, cy))?;
            // The cell's corner farthest from (x, y).
            let dx = (fx - f64::from(cx) * c).abs().max((fx - f64::from(cx + 1) * c).abs());
            let dy = (fy - f64::from(cy) * c).abs().max((fy - f64::from(cy + 1) * c).abs());
            Some((cell, dx.hypot(dy) <= fd))
        })
    }

    /// The markers of a cell within `d` of (x, y), by the test a scan would make.
    fn within<'c>(&'c self, cell: &'c [u32], x: f32, y: f32, d: f32) -> impl Iterator<Item = &'c (usize, f32, f32)> {
        cell.iter().map(|&i| &self.markers[i as usize]).filter(move |n| within_reach(n.1 - x, n.2 - y, d))
    }

    /// The markers within `d` of (x, y).
    fn near(&self, x: f32, y: f32, d: f32) -> impl Iterator<Item = &(usize, f32, f32)> + '_ {
        self.cells_near(x, y, d).flat_map(move |(cell, _)| self.within(cell, x, y, d))
    }

    /// How many markers lie within `d` of (x, y): [`MarkerGrid::near`]'s count, with the
    /// cells wholly within `d` counted whole.
    fn count_near(&self, x: f32, y: f32, d: f32) -> usize {
        self.cells_near(x, y, d)
            .map(|(cell, inside)| if inside { cell.len() } else { self.within(cell, x, y, d).count() })
            .sum()
    }
}

/// `dx.hypot(dy) <= d`, bit for bit, inline: the C library's `hypotf` is the float
/// nearest the root of `dx² + dy²` summed in f64 (where the squares of f32 are exact),
/// which this computes without a call per marker (a map of many towns asks it millions
/// of times). With a side that is no number or no finite number it asks `hypot` itself.
fn within_reach(dx: f32, dy: f32, d: f32) -> bool {
    if !(dx.is_finite() && dy.is_finite()) {
        return dx.hypot(dy) <= d;
    }
    let (x, y) = (f64::from(dx), f64::from(dy));
    ((x * x + y * y).sqrt() as f32) <= d
}

/// Draw an inset: the map of its area with labels and a scale bar, framed, and the area's
/// outline on the main map.
fn draw_inset(f: &Frame, canvas: &mut dyn Canvas, inset: &Inset) {
    let ink = f.style.furniture.frame;
    let pen = paint::stroke(f.px(0.8) * f.fs, &[]);
    // The area on the main map.
    let (a, b) = (inset.area, 12);
    let ring: Vec<(f32, f32)> = (0..b)
        .map(|k| (a.west + (a.east - a.west) * f64::from(k) / f64::from(b), a.south))
        .chain((0..b).map(|k| (a.east, a.south + (a.north - a.south) * f64::from(k) / f64::from(b))))
        .chain((0..b).map(|k| (a.east - (a.east - a.west) * f64::from(k) / f64::from(b), a.north)))
        .chain((0..b).map(|k| (a.west, a.north - (a.north - a.south) * f64::from(k) / f64::from(b))))
        .map(|(lon, lat)| {
            let (x, y) = f.view.to_px(lon, lat);
            (x as f32, y as f32)
        })
        .collect();
    if let Some(p) = paint::rings_path(&[ring]) {
        paint::stroke_path(canvas, &p, ink, 0.9, &paint::stroke(f.px(0.7) * f.fs, &[f.px(2.0), f.px(1.5)]));
    }
    let r = inset.rect;
    let size = (inset.view.width, inset.view.height);
    let mut opts = f.opts.clone();
    opts.furniture = false;
    opts.base_layer = None;
    let km_per_px = inset.view.km_per_px_at(f64::from(size.0) / 2.0, f64::from(size.1) / 2.0);
    let (sw, sh) = (size.0 as f32, size.1 as f32);
    opts.keep_clear.extend(furniture::inset_scale_box(&frame(f.atlas, f.style, &inset.view, &opts), sw, sh, km_per_px));
    canvas.inset(r[0], r[1], size, f.style.land, &mut |c| {
        draw_map(f.atlas, f.style, &inset.view, &opts, c);
        let inner = frame(f.atlas, f.style, &inset.view, &opts);
        furniture::inset_scale(&inner, c, sw, sh, km_per_px);
    });
    if let Some(rect) = tiny_skia::Rect::from_ltrb(r[0], r[1], r[0] + size.0 as f32, r[1] + size.1 as f32) {
        paint::stroke_path(canvas, &tiny_skia::PathBuilder::from_rect(rect), ink, 1.0, &pen);
    }
}

/// The promised labels of places on the map (towns, battles, rivers, water, landforms and
/// areas alive this year) that were not placed. An area named by another promised
/// place's label (a landform of the same name) counts as named when that label is placed.
fn missing_labels(f: &Frame, placed: &[labels::PlacedLabel]) -> Vec<String> {
    let labelled: BTreeSet<&str> = placed.iter().filter_map(|l| l.id.as_deref()).collect();
    f.promised
        .iter()
        .filter(|id| !labelled.contains(id.as_str()))
        .filter(|id| {
            f.atlas.data.get(id).is_some_and(|feat| {
                if named_over_its_area(f, feat, placed) {
                    return false;
                }
                if feat.layer == Layer::Territories {
                    let others = layers::namesakes(f, id, feat.name(&f.opts.lang));
                    if !others.is_empty() {
                        return !others.iter().any(|o| labelled.contains(o));
                    }
                }
                feat.alive(f.opts.year)
                    && f.style.layers.contains(&match feat.layer {
                        Layer::Cities => MapLayer::Cities,
                        Layer::Battles => MapLayer::Battles,
                        Layer::Rivers => MapLayer::Rivers,
                        Layer::Water => MapLayer::Water,
                        Layer::Landforms => MapLayer::Landforms,
                        Layer::Territories => MapLayer::Territories,
                        _ => return false,
                    })
            })
        })
        .cloned()
        .collect()
}

/// Whether another placed label over a landform's or a lake's area says its name (a range
/// too crowded for its own name: "Sack of the Karatau towns" set on the Karatau names it).
fn named_over_its_area(f: &Frame, feat: &crate::data::Feature, placed: &[labels::PlacedLabel]) -> bool {
    let Some(b) = labels::own_area(feat).and(feat.bbox()) else { return false };
    let area = f.px_box(b);
    let name = feat.name(&f.opts.lang).to_lowercase();
    let name = name.split_once(" (").map_or(name.as_str(), |(n, _)| n).trim();
    !name.is_empty()
        && placed.iter().any(|l| {
            let text = l.text.to_lowercase();
            let words: Vec<&str> = text.split(|c: char| !c.is_alphanumeric() && c != '-').collect();
            let said = if name.contains(' ') { text.contains(name) } else { words.contains(&name) };
            said && labels::overlaps(&l.bbox, &area)
        })
}

/// The height of an animation frame's bottom furniture (caption band and timeline strip),
/// px: the map should be fitted above it.
pub fn animation_bottom_px(atlas: &Atlas, style: &Style, view: &View, dpi: f32, lang: &str) -> f64 {
    let mut opts = RenderOptions::frame(Year(0), dpi);
    opts.lang = lang.to_string();
    opts.timeline = Some(Timeline { from: 0, to: 1, cursor: 0.0 });
    let frame = frame(atlas, style, view, &opts);
    let layout = furniture::layout(&frame, &Shown::default());
    f64::from(view.height as f32 - layout.top_of_bottom_furniture())
}

/// Draw what changes every frame over a rendered map state: the title block (title, year,
/// caption) and, when `opts.timeline` is set, the timeline strip with its cursor.
pub fn draw_overlay(atlas: &Atlas, style: &Style, view: &View, opts: &RenderOptions, canvas: &mut dyn Canvas) {
    overlay(atlas, style, view, opts, &Shown::default(), canvas)
}

/// The title block over a map that shows `shown`: laid out as the map's furniture was,
/// so that a title moved away from the story lands where the legend left room for it.
fn overlay(atlas: &Atlas, style: &Style, view: &View, opts: &RenderOptions, shown: &Shown, canvas: &mut dyn Canvas) {
    let frame = frame(atlas, style, view, opts);
    let layout = furniture::layout(&frame, shown);
    canvas.group(group::FURNITURE);
    furniture::draw_overlay(&frame, canvas, &layout);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_words_name_what_a_search_of_every_route_finds() {
        let routes = ["Tauke's campaign to Sayram", "Raid on Ust-Kamenogorsk and Khara Murut", "Ögödei – Kül"];
        let words = RouteWords::new(&routes);
        let names = [
            "Sayram",
            "Say",
            "Sayr",
            "campaign",
            "Tauke",
            "Tauke's",
            "Ust",
            "Kamenogorsk",
            "Ust-Kamenogorsk",
            "Khara Murut",
            "Khara",
            "Murut Khara",
            "Ögödei",
            "Kül",
            "Ögödei – Kül",
            "-Kamenogorsk",
            "",
            " ",
            "to",
            "Raid on",
            "on Ust",
            "s",
        ];
        for name in names {
            let search = !name.is_empty() && routes.iter().any(|r| crate::data::has_word(r, name));
            assert_eq!(words.name(name), search, "{name:?}");
        }
    }

    #[test]
    fn within_reach_is_hypot_bit_for_bit() {
        // At the distance itself and a float either side, for offsets small and large,
        // of either sign, subnormal, zero and not finite.
        let mut seed = 11u64;
        let mut next = || {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            f32::from_bits((seed >> 32) as u32)
        };
        let mut offsets: Vec<(f32, f32)> = (0..200_000).map(|_| (next(), next())).collect();
        offsets.extend((0..200_000).map(|k| ((k % 977) as f32 * 0.37 - 90.0, (k / 977) as f32 * 0.61 - 60.0)));
        let odd = [0.0, -0.0, 1e-45, 3.0, -4.0, f32::MAX, f32::INFINITY, f32::NEG_INFINITY, f32::NAN];
        offsets.extend(odd.iter().flat_map(|&a| odd.iter().map(move |&b| (a, b))));
        let mut tried = 0;
        for (dx, dy) in offsets {
            let h = dx.hypot(dy);
            for d in [h, h.next_down(), h.next_up(), 60.0, f32::INFINITY, f32::NAN] {
                assert_eq!(within_reach(dx, dy, d), h <= d, "({dx:e}, {dy:e}) within {d:e}");
                tried += 1;
            }
        }
        assert!(tried > 2_000_000);
    }

    #[test]
    fn a_marker_grid_counts_what_a_scan_counts() {
        // A dense cluster (whole cells inside a radius) and scattered markers.
        let mut seed = 7u64;
        let mut next = || {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (seed >> 40) as f32 / (1u64 << 24) as f32
        };
        let mut markers: Vec<(usize, f32, f32)> = Vec::new();
        for i in 0..3000 {
            let (x, y) = if i % 2 == 0 {
                (500.0 + 40.0 * next(), 300.0 + 40.0 * next())
            } else {
                (1000.0 * next(), 700.0 * next())
            };
            markers.push((i, x, y));
        }
        markers.push((3000, f32::NAN, 10.0));
        let r = 60.0;
        let grid = MarkerGrid::new(&markers, r / 4.0);
        let mut whole = 0;
        for k in 0..400 {
            let (x, y) = if k % 2 == 0 {
                (480.0 + 80.0 * next(), 280.0 + 80.0 * next())
            } else {
                (1000.0 * next(), 700.0 * next())
            };
            for d in [r, r * 1.6, 3.0] {
                let scan: Vec<usize> = markers.iter().filter(|n| (n.1 - x).hypot(n.2 - y) <= d).map(|n| n.0).collect();
                assert_eq!(grid.count_near(x, y, d), scan.len(), "({x}, {y}) within {d}");
                let mut near: Vec<usize> = grid.near(x, y, d).map(|n| n.0).collect();
                near.sort_unstable();
                assert_eq!(near, scan, "({x}, {y}) within {d}");
                whole += grid.cells_near(x, y, d).filter(|(_, inside)| *inside).count();
            }
        }
        assert!(whole > 1000, "whole cells counted: {whole}");
    }
}
