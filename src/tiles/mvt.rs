//! Time-filtered vector tiles: one MVT tileset for every year of a range, each feature
//! dated with OpenHistoricalMap's `start_date`/`end_date` and `start_decdate`/`end_decdate`
//! (decimal years, end exclusive), so a client shows year Y with one numeric filter.
//!
//! Territories become one feature per area and run of years with the same holder (the
//! holder of a year is [`Feature::holder`], the rule `render` and `query` use), and the
//! borders between areas become dated lines, one per shared edge and run of years with the
//! same pair of holders (the shared edges are the raster's [`Adjacency`]). Tiles are
//! encoded by the `mvt` crate, gzip-compressed, and stored in one PMTiles or MBTiles file.

use super::grid::{tiles_in, TileId, ORIGIN};
use crate::atlas::Atlas;
use crate::data::{CityKind, Feature, Geometry, Layer, Status};
use crate::error::{Error, Result};
use crate::index::{area_rings, hole_flags};
use crate::project::LonLatBox;
use crate::time::Year;
use geo::{BooleanOps, BoundingRect, Coord, LineString, MultiLineString, MultiPolygon, Polygon, Rect, Simplify};
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// Tile coordinate extent (the MVT default).
pub const EXTENT: u32 = 4096;
/// Buffer around each tile, in tile units: geometry is clipped this far outside it.
pub const BUFFER: u32 = 64;
/// A year for unbounded dates in a filter (`coalesce` default): before any year.
pub const FOREVER: f64 = 1.0e6;
/// The most point features (over their versions) one layer of a tile holds as they are.
/// A layer with more keeps, in each cell of a [`THIN_GRID`]² grid over the tile and its
/// buffer, the foremost point (highest `rank`, then first in the data) of every year that
/// has one ([`thinned_points`]), so that a tile of a dense layer stays small enough for
/// a browser (16,384 points are about 400 KB).
pub const MAX_TILE_POINTS: usize = 16_384;
/// Cells per side of the grid a dense point layer is thinned on: two pixels of a 256 px
/// tile, closer than two markers can be told apart.
pub const THIN_GRID: u32 = 128;

/// Where the tileset is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Archive {
    /// `{out}/atlas.pmtiles` (PMTiles v3, gzip tiles).
    Pmtiles,
    /// `{out}/atlas.mbtiles` (MBTiles 1.3, gzip tiles, TMS rows).
    Mbtiles,
}

/// What to write.
#[derive(Clone, Debug)]
pub struct VectorOptions {
    /// First and last year (inclusive).
    pub years: (i32, i32),
    /// First and last zoom (inclusive).
    pub zooms: (u8, u8),
    /// Output folder.
    pub out: PathBuf,
    /// Archive kind.
    pub archive: Archive,
    /// Show a progress bar on a terminal.
    pub progress: bool,
    /// Go past the soft limits (zoom 14, 2,000,000 tiles).
    pub force: bool,
    /// Where the folder will be served from (absolute URLs in `style.json`).
    pub base_url: Option<String>,
}

/// What a run produced.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VectorReport {
    /// Tiles written (empty tiles are skipped).
    pub tiles: usize,
    /// Bytes of the archive.
    pub bytes: u64,
    /// Dated features prepared (over all layers).
    pub features: usize,
    /// Tiles whose point layers were thinned to [`MAX_TILE_POINTS`] or fewer points.
    pub thinned: usize,
}

/// A property value of a tile feature.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// Text.
    Str(String),
    /// A number (decimal dates).
    Num(f64),
    /// A whole number (ranks).
    Int(i64),
}

/// A property's name: most are fixed words, kept without a copy per feature.
pub type Key = std::borrow::Cow<'static, str>;

/// One dated version of a feature: its properties for a run of years.
#[derive(Clone, Debug)]
pub struct Dated {
    /// Properties, in a fixed order.
    pub props: Vec<(Key, Value)>,
}

impl Dated {
    /// The value of property `key`, if the version has it.
    fn get(&self, key: &str) -> Option<&Value> {
        self.props.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
}

/// Geometry in Web Mercator metres.
#[derive(Clone, Debug)]
enum MercGeom {
    Point(Coord<f64>),
    Lines(MultiLineString<f64>),
    Areas(MultiPolygon<f64>),
}

/// A feature of one tile layer with its versions over time, ready to be cut into tiles.
#[derive(Clone, Debug)]
struct Prepared {
    geom: MercGeom,
    bbox: Rect<f64>,
    versions: Vec<Dated>,
}

/// The tile layers, in drawing order, with the fields their features carry.
pub const LAYERS: [(&str, &[(&str, &str)]); 9] = [
    ("water", &[("id", "String"), ("name", "String"), ("kind", "String")]),
    (
        "territories",
        &[
            ("id", "String"),
            ("name", "String"),
            ("polity", "String"),
            ("status", "String"),
            ("overlord", "String"),
            ("former", "String"),
            ("certainty", "String"),
            ("start_date", "String"),
            ("end_date", "String"),
            ("start_decdate", "Number"),
            ("end_decdate", "Number"),
        ],
    ),
    (
        "borders",
        &[
            ("left", "String"),
            ("right", "String"),
            ("areas", "String"),
            ("approximate", "Number"),
            ("start_date", "String"),
            ("end_date", "String"),
            ("start_decdate", "Number"),
            ("end_decdate", "Number"),
        ],
    ),
    ("rivers", &[("id", "String"), ("name", "String"), ("rank", "Number")]),
    ("landforms", &[("id", "String"), ("name", "String"), ("kind", "String")]),
    (
        "campaigns",
        &[
            ("id", "String"),
            ("name", "String"),
            ("side", "String"),
            ("kind", "String"),
            ("commander", "String"),
            ("strength", "String"),
            ("start_date", "String"),
            ("end_date", "String"),
            ("start_decdate", "Number"),
            ("end_decdate", "Number"),
        ],
    ),
    (
        "battles",
        &[
            ("id", "String"),
            ("name", "String"),
            ("victor", "String"),
            ("belligerents", "String"),
            ("commanders", "String"),
            ("strength", "String"),
            ("date", "String"),
            ("start_date", "String"),
            ("end_date", "String"),
            ("start_decdate", "Number"),
            ("end_decdate", "Number"),
        ],
    ),
    (
        "cities",
        &[
            ("id", "String"),
            ("name", "String"),
            ("kind", "String"),
            ("rank", "Number"),
            ("controlled_by", "String"),
            ("status", "String"),
            ("start_date", "String"),
            ("end_date", "String"),
            ("start_decdate", "Number"),
            ("end_decdate", "Number"),
        ],
    ),
    (
        "polity_labels",
        &[
            ("polity", "String"),
            ("name", "String"),
            ("area_km2", "Number"),
            ("start_date", "String"),
            ("end_date", "String"),
            ("start_decdate", "Number"),
            ("end_decdate", "Number"),
        ],
    ),
];

/// The dated features of a dataset for a range of years, in Web Mercator: built once, then
/// cut into any tile (by `tiles --format mvt` and by the server's `/vector` tiles).
pub struct VectorSource {
    layers: Vec<(&'static str, Vec<Prepared>)>,
    /// Tiles cut so far whose point layers were thinned ([`MAX_TILE_POINTS`]).
    thinned: std::sync::atomic::AtomicUsize,
    /// Years covered (inclusive).
    pub years: (i32, i32),
    /// `[west, south, east, north]` of the data.
    pub bounds: [f64; 4],
}

fn merc(c: Coord<f64>) -> Coord<f64> {
    let lat = c.y.clamp(-crate::project::MERCATOR_MAX_LAT, crate::project::MERCATOR_MAX_LAT);
    let r = crate::project::MERCATOR_RADIUS;
    Coord { x: r * c.x.to_radians(), y: r * (std::f64::consts::FRAC_PI_4 + lat.to_radians() / 2.0).tan().ln() }
}

fn merc_line(l: &LineString<f64>) -> LineString<f64> {
    l.0.iter().map(|c| merc(*c)).collect()
}

fn merc_geom(g: &Geometry) -> Option<MercGeom> {
    match g {
        Geometry::None => None,
        Geometry::Point(p) => Some(MercGeom::Point(merc(p.0))),
        Geometry::Lines(ml) => Some(MercGeom::Lines(ml.0.iter().map(merc_line).collect())),
        Geometry::Areas(mp) => Some(MercGeom::Areas(MultiPolygon(
            mp.0.iter()
                .map(|p| Polygon::new(merc_line(p.exterior()), p.interiors().iter().map(merc_line).collect()))
                .collect(),
        ))),
    }
}

fn bbox_of(g: &MercGeom) -> Option<Rect<f64>> {
    match g {
        MercGeom::Point(c) => Some(Rect::new(*c, *c)),
        MercGeom::Lines(ml) => ml.bounding_rect(),
        MercGeom::Areas(mp) => mp.bounding_rect(),
    }
}

/// The date properties of a run of years `a..=b` (OpenHistoricalMap's names; the decimal
/// end is exclusive). `None` ends are unbounded and left out.
pub fn date_props(a: Option<i32>, b: Option<i32>) -> Vec<(Key, Value)> {
    let mut out = Vec::new();
    if let Some(a) = a {
        out.push(("start_date".into(), Value::Str(format!("{a:04}"))));
        out.push(("start_decdate".into(), Value::Num(f64::from(a))));
    }
    if let Some(b) = b {
        out.push(("end_date".into(), Value::Str(format!("{b:04}"))));
        out.push(("end_decdate".into(), Value::Num(f64::from(b) + 1.0)));
    }
    out
}

/// Runs of consecutive years in `years` with the same key: `(first, last, key)` for every
/// run whose key is `Some`.
pub fn runs<K: PartialEq + Clone>(years: (i32, i32), key: impl Fn(Year) -> Option<K>) -> Vec<(i32, i32, K)> {
    let mut out: Vec<(i32, i32, K)> = Vec::new();
    let mut open: Option<(i32, K)> = None;
    for y in years.0..=years.1 {
        let k = key(Year(y));
        let same = matches!((&open, &k), (Some((_, a)), Some(b)) if a == b);
        if !same {
            if let Some((start, key)) = open.take() {
                out.push((start, y - 1, key));
            }
            open = k.map(|k| (y, k));
        }
    }
    if let Some((start, key)) = open {
        out.push((start, years.1, key));
    }
    out
}

fn s(v: &str) -> Value {
    Value::Str(v.to_string())
}

fn name_props(f: &Feature) -> Vec<(Key, Value)> {
    let mut out = vec![("id".into(), s(&f.id)), ("name".into(), s(&f.names.en))];
    if let Some(kk) = f.names.kk() {
        out.push(("name:kk".into(), s(kk)));
    }
    if let Some(ru) = f.names.ru() {
        out.push(("name:ru".into(), s(ru)));
    }
    for (code, n) in f.names.other() {
        out.push((format!("name:{code}").into(), s(n)));
    }
    out
}

/// The years of `years` in which a feature is alive, as `(first, last)` with `None` for an
/// end the feature does not have (an undated river is unbounded both ways).
fn alive_years(f: &Feature, years: (i32, i32)) -> Option<(Option<i32>, Option<i32>)> {
    let a = f.span.start_year();
    let b = f.span.end_year();
    let first = a.map_or(years.0, |a| a.max(years.0));
    let last = b.map_or(years.1, |b| b.min(years.1));
    (first <= last).then(|| (a.map(|_| first), b.map(|_| last)))
}

impl VectorSource {
    /// Prepare every layer of `atlas` for the years `years` (inclusive).
    pub fn new(atlas: &Atlas, years: (i32, i32)) -> VectorSource {
        let data = &atlas.data;
        let bounds = data.extent().unwrap_or([-180.0, -85.0, 180.0, 85.0]);
        let mut layers: Vec<(&'static str, Vec<Prepared>)> = LAYERS.iter().map(|(n, _)| (*n, Vec::new())).collect();
        let mut put = |name: &str, geom: Option<MercGeom>, versions: Vec<Dated>| {
            let Some(geom) = geom else { return };
            let Some(bbox) = bbox_of(&geom) else { return };
            if versions.is_empty() {
                return;
            }
            if let Some((_, list)) = layers.iter_mut().find(|(n, _)| *n == name) {
                list.push(Prepared { geom, bbox, versions });
            }
        };
        let plain = |f: &Feature, extra: Vec<(Key, Value)>| -> Vec<Dated> {
            match alive_years(f, years) {
                Some((a, b)) => {
                    let mut props = name_props(f);
                    props.extend(extra);
                    props.extend(date_props(a, b));
                    vec![Dated { props }]
                }
                None => Vec::new(),
            }
        };
        // Territories: one feature per area and run of years with one holder.
        let areas = data.layer(Layer::Territories);
        for f in areas {
            let versions = runs(years, |y| {
                if !f.alive(y) {
                    return None;
                }
                let h = f.holder(y)?;
                let former = match h.status {
                    Status::Occupied | Status::Contested => {
                        f.former_holder(h).filter(|p| data.polity_alive(p, y)).map(str::to_string)
                    }
                    _ => None,
                };
                Some((h.polity.clone(), h.status.name(), h.overlord.clone(), former))
            })
            .into_iter()
            .map(|(a, b, (polity, status, overlord, former))| {
                let mut props = name_props(f);
                props.push(("polity".into(), Value::Str(polity)));
                props.push(("status".into(), s(status)));
                if let Some(o) = overlord {
                    props.push(("overlord".into(), Value::Str(o)));
                }
                if let Some(p) = former {
                    props.push(("former".into(), Value::Str(p)));
                }
                if f.certainty.is_some() {
                    props.push(("certainty".into(), s("approximate")));
                }
                props.extend(date_props(Some(a), Some(b)));
                Dated { props }
            })
            .collect();
            put("territories", merc_geom(&f.geometry), versions);
        }
        for piece in borders(atlas, years) {
            put("borders", Some(piece.0), piece.1);
        }
        for f in data.layer(Layer::Water) {
            let extra = f.kind().iter().map(|k| ("kind".into(), s(k))).collect();
            put("water", merc_geom(&f.geometry), plain(f, extra));
        }
        for f in data.layer(Layer::Rivers) {
            put("rivers", merc_geom(&f.geometry), plain(f, vec![("rank".into(), Value::Int(i64::from(f.rank)))]));
        }
        for f in data.layer(Layer::Landforms) {
            let extra: Vec<(Key, Value)> = f.kind().iter().map(|k| ("kind".into(), s(k))).collect();
            put("landforms", merc_geom(&f.geometry), plain(f, extra.clone()));
            // An area's name goes once, at its label point (as in print), not once per
            // polygon and tile: a point feature beside the area carries it.
            if let Geometry::Areas(mp) = &f.geometry {
                let at = crate::render::label_point(f).or_else(|| geo::InteriorPoint::interior_point(mp));
                if let Some(at) = at {
                    put("landforms", Some(MercGeom::Point(merc(at.0))), plain(f, extra));
                }
            }
        }
        for f in data.layer(Layer::Campaigns) {
            let mut extra = vec![("kind".into(), s(campaign_kind(f)))];
            extra.extend(f.side().iter().map(|p| ("side".into(), s(p))));
            if !f.commanders().is_empty() {
                extra.push(("commander".into(), Value::Str(f.commanders().join(", "))));
            }
            extra.extend(f.strength().iter().map(|st| ("strength".into(), Value::Str(st.label()))));
            put("campaigns", merc_geom(&f.geometry), plain(f, extra));
        }
        for f in data.layer(Layer::Battles) {
            let mut extra: Vec<(Key, Value)> = f.victor().iter().map(|p| ("victor".into(), s(p))).collect();
            if !f.belligerents().is_empty() {
                extra.push(("belligerents".into(), Value::Str(f.belligerents().join(", "))));
            }
            if !f.commanders().is_empty() {
                extra.push(("commanders".into(), Value::Str(f.commanders().join(", "))));
            }
            extra.extend(f.strength().iter().map(|st| ("strength".into(), Value::Str(st.label()))));
            extra.extend(f.date_label().iter().map(|d| ("date".into(), s(d))));
            put("battles", merc_geom(&f.geometry), plain(f, extra));
        }
        // Cities: control spans flattened to runs of years with one holder and kind.
        for f in data.layer(Layer::Cities) {
            let versions = runs(years, |y| {
                if !f.alive(y) {
                    return None;
                }
                let h = f.holder(y).map(|h| (h.polity.clone(), h.status.name()));
                Some((h, city_kind(f.kind_in(y))))
            })
            .into_iter()
            .map(|(a, b, (holder, kind))| {
                let mut props = name_props(f);
                props.push(("kind".into(), s(kind)));
                props.push(("rank".into(), Value::Int(i64::from(f.rank))));
                if let Some((polity, status)) = holder {
                    props.push(("controlled_by".into(), Value::Str(polity)));
                    props.push(("status".into(), s(status)));
                }
                let (fa, fb) = (f.span.start_year(), f.span.end_year());
                // Keep a city's own open ends open when its holder does not change there.
                let a = if a == years.0 && fa.is_none_or(|s| s < a) && f.control.is_empty() { fa } else { Some(a) };
                let b = if b == years.1 && fb.is_none_or(|e| e > b) && f.control.is_empty() { fb } else { Some(b) };
                props.extend(date_props(a, b));
                Dated { props }
            })
            .collect();
            put("cities", merc_geom(&f.geometry), versions);
        }
        // Polity names: one point per polity and run of years where the raster would put
        // its name (the same anchor over all its land), named as it was called then.
        // Each polity (in order of first mention) with the areas it ever holds, in order.
        let mut polities: Vec<(&str, Vec<usize>)> = Vec::new();
        let mut polity_at: rustc_hash::FxHashMap<&str, usize> = rustc_hash::FxHashMap::default();
        for (i, f) in areas.iter().enumerate() {
            for c in &f.control {
                let k = *polity_at.entry(c.polity.as_str()).or_insert_with(|| {
                    polities.push((c.polity.as_str(), Vec::new()));
                    polities.len() - 1
                });
                if polities[k].1.last() != Some(&i) {
                    polities[k].1.push(i);
                }
            }
        }
        for (p, held) in polities {
            let versions = runs(years, |y| {
                let members: Vec<usize> = held
                    .iter()
                    .copied()
                    .filter(|&i| areas[i].alive(y) && areas[i].holder(y).is_some_and(|h| h.polity == p))
                    .collect();
                let (at, deg2) = crate::render::polity_anchor_lonlat(areas, &members, |i| {
                    atlas.interior_point(Layer::Territories, i)
                })?;
                let km2 = deg2 * 111.2 * 111.2 * at.y().to_radians().cos();
                // Its name in force that year, in English and every language it is given in.
                let mut names: Vec<(String, String)> = Vec::new();
                if let Some(q) = data.polity(p) {
                    let en = q.name(y, "en");
                    names.extend(en.map(|n| ("en".into(), n.to_string())));
                    for n in &q.names {
                        for l in n.name_i18n.keys() {
                            if let Some(v) = q.name(y, l).filter(|v| Some(*v) != en) {
                                if !names.iter().any(|(k, _)| k == l) {
                                    names.push((l.clone(), v.to_string()));
                                }
                            }
                        }
                    }
                }
                // Keys compare exactly: the anchor to about a metre, the area to 1 km².
                Some((((at.x() * 1e5).round() as i64, (at.y() * 1e5).round() as i64), km2.round() as i64, names))
            });
            for (a, b, ((x, y), km2, names)) in versions {
                let at = Coord { x: x as f64 / 1e5, y: y as f64 / 1e5 };
                let mut props: Vec<(Key, Value)> = vec![("polity".into(), s(p)), ("area_km2".into(), Value::Int(km2))];
                let en = names.iter().find(|(l, _)| l == "en").map_or(p, |(_, n)| n.as_str());
                props.push(("name".into(), s(en)));
                for (l, n) in names.iter().filter(|(l, _)| l != "en") {
                    props.push((format!("name:{l}").into(), s(n)));
                }
                props.extend(date_props(Some(a), Some(b)));
                put("polity_labels", Some(MercGeom::Point(merc(at))), vec![Dated { props }]);
            }
        }
        VectorSource { layers, thinned: Default::default(), years, bounds }
    }

    /// How many dated features were prepared.
    pub fn feature_count(&self) -> usize {
        self.layers.iter().map(|(_, l)| l.iter().map(|p| p.versions.len()).sum::<usize>()).sum()
    }

    /// Encode one tile as an uncompressed MVT; `None` when nothing falls in it. `max_zoom`
    /// is the deepest zoom of the tileset: there, geometry is kept finer for overzooming.
    pub fn tile(&self, t: TileId, max_zoom: u8) -> Result<Option<Vec<u8>>> {
        let b = t.bounds_mercator();
        let size = b[2] - b[0];
        let scale = f64::from(EXTENT) / size;
        let pad = f64::from(BUFFER) / scale;
        let clip = Rect::new(Coord { x: b[0] - pad, y: b[1] - pad }, Coord { x: b[2] + pad, y: b[3] + pad });
        // About a pixel of a 256 px tile; a quarter of one at the deepest zoom.
        let px = size / 256.0;
        let tolerance = if t.z >= max_zoom { px / 4.0 } else { px };
        let to_tile = |c: Coord<f64>| -> (i32, i32) {
            (((c.x - b[0]) * scale).round() as i32, ((b[3] - c.y) * scale).round() as i32)
        };
        let mut tile = mvt::Tile::new(EXTENT);
        let mut any = false;
        for (name, features) in &self.layers {
            let mut layer = tile.create_layer(name);
            let mut next_id = 1u64;
            let kept = thinned_points(features, &clip);
            if kept.is_some() {
                self.thinned.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            for (i, p) in features.iter().enumerate() {
                if !intersects(&p.bbox, &clip) || kept.as_ref().is_some_and(|k| !k[i]) {
                    continue;
                }
                let Some(geom) = encode_geom(&p.geom, &p.bbox, &clip, tolerance, &to_tile) else { continue };
                for v in &p.versions {
                    let Some(data) = geom.encode() else { continue };
                    let mut feature = layer.into_feature(data);
                    feature.set_id(next_id);
                    next_id += 1;
                    for (k, val) in &v.props {
                        match val {
                            Value::Str(x) => feature.add_tag_string(k, x),
                            Value::Num(x) => feature.add_tag_double(k, *x),
                            Value::Int(x) => feature.add_tag_sint(k, *x),
                        }
                    }
                    layer = feature.into_layer();
                }
            }
            if layer.num_features() > 0 {
                any = true;
                tile.add_layer(layer).map_err(|e| Error::Encode(format!("tile {}/{}/{}: {e}", t.z, t.x, t.y)))?;
            }
        }
        if !any {
            return Ok(None);
        }
        tile.to_bytes().map(Some).map_err(|e| Error::Encode(format!("tile {}/{}/{}: {e}", t.z, t.x, t.y)))
    }

    /// How many tiles cut so far had a point layer thinned ([`MAX_TILE_POINTS`]).
    pub fn thinned_tiles(&self) -> usize {
        self.thinned.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// `vector_layers` for TileJSON and PMTiles metadata.
    pub fn vector_layers(&self, zooms: (u8, u8)) -> serde_json::Value {
        serde_json::Value::Array(
            LAYERS
                .iter()
                .map(|(id, fields)| {
                    let mut f = serde_json::Map::new();
                    for (k, ty) in fields.iter() {
                        f.insert((*k).to_string(), serde_json::Value::String((*ty).to_string()));
                    }
                    if !matches!(*id, "borders") {
                        f.insert("name:kk".into(), "String".into());
                        f.insert("name:ru".into(), "String".into());
                    }
                    serde_json::json!({"id": id, "fields": f, "minzoom": zooms.0, "maxzoom": zooms.1})
                })
                .collect(),
        )
    }
}

fn campaign_kind(f: &Feature) -> &'static str {
    use crate::data::CampaignKind as K;
    match f.campaign_kind {
        K::Advance => "advance",
        K::Retreat => "retreat",
        K::Raid => "raid",
        K::Flight => "flight",
    }
}

/// Which points of a layer a tile with box `clip` keeps, by index into `features`, when
/// their versions in it pass [`MAX_TILE_POINTS`]: in each cell of a [`THIN_GRID`]² grid
/// over `clip`, the foremost points (the highest `rank`, then the first in the data) until
/// every year in which a point of the cell stands has one, so that a map of any year
/// shows the foremost town of each cell that has a town that year. None when the tile
/// keeps every feature (few points, or a layer of lines and areas).
fn thinned_points(features: &[Prepared], clip: &Rect<f64>) -> Option<Vec<bool>> {
    let point = |p: &Prepared| match p.geom {
        MercGeom::Point(c) => Some(c),
        _ => None,
    };
    let inside = || features.iter().enumerate().filter(|(_, p)| intersects(&p.bbox, clip));
    let mut count = 0usize;
    for (_, p) in inside() {
        point(p)?;
        count += p.versions.len();
    }
    if count <= MAX_TILE_POINTS {
        return None;
    }
    let n = f64::from(THIN_GRID);
    let cell = |c: Coord<f64>| -> usize {
        let at = |v: f64, lo: f64, hi: f64| (((v - lo) / (hi - lo) * n).floor().clamp(0.0, n - 1.0)) as usize;
        at(c.y, clip.min().y, clip.max().y) * THIN_GRID as usize + at(c.x, clip.min().x, clip.max().x)
    };
    // Each point's cell, rank, index and the span of decimal years it stands (its
    // versions' first start and last end; open ends are infinite).
    let mut points: Vec<(usize, i64, usize, f64, f64)> = inside()
        .filter_map(|(i, p)| {
            let year = |key: &'static str, open: f64| {
                p.versions.iter().map(move |v| if let Some(Value::Num(x)) = v.get(key) { *x } else { open })
            };
            let rank = match p.versions.iter().find_map(|v| v.get("rank")) {
                Some(Value::Int(r)) => *r,
                _ => 0,
            };
            let from = year("start_decdate", f64::NEG_INFINITY).fold(f64::INFINITY, f64::min);
            let to = year("end_decdate", f64::INFINITY).fold(f64::NEG_INFINITY, f64::max);
            Some((cell(point(p)?), rank, i, from, to))
        })
        .collect();
    // By cell, then the foremost first.
    points.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2)));
    let mut kept = vec![false; features.len()];
    for group in points.chunk_by(|a, b| a.0 == b.0) {
        // The spans of years the cell's kept points stand, apart and in order.
        let mut covered: Vec<(f64, f64)> = Vec::new();
        for &(_, _, i, from, to) in group {
            let mut gap = from;
            for &(a, b) in &covered {
                if a > gap {
                    break;
                }
                gap = gap.max(b);
            }
            if gap >= to {
                continue;
            }
            kept[i] = true;
            covered.push((from, to));
            covered.sort_by(|a, b| a.0.total_cmp(&b.0));
            // Join the spans that meet.
            let mut joined: Vec<(f64, f64)> = Vec::with_capacity(covered.len());
            for (a, b) in covered.drain(..) {
                match joined.last_mut() {
                    Some(last) if a <= last.1 => last.1 = last.1.max(b),
                    _ => joined.push((a, b)),
                }
            }
            covered = joined;
        }
    }
    Some(kept)
}

fn city_kind(k: CityKind) -> &'static str {
    match k {
        CityKind::Capital => "capital",
        CityKind::City => "city",
        CityKind::Fortress => "fortress",
        CityKind::Site => "site",
    }
}

fn intersects(a: &Rect<f64>, b: &Rect<f64>) -> bool {
    a.min().x <= b.max().x && a.max().x >= b.min().x && a.min().y <= b.max().y && a.max().y >= b.min().y
}

fn contains(outer: &Rect<f64>, inner: &Rect<f64>) -> bool {
    outer.min().x <= inner.min().x
        && outer.min().y <= inner.min().y
        && outer.max().x >= inner.max().x
        && outer.max().y >= inner.max().y
}

/// A geometry clipped to a tile and quantised to its grid: parts in tile units (rings
/// without their closing point, wound for MVT).
struct TileGeom {
    kind: mvt::GeomType,
    parts: Vec<Vec<(i32, i32)>>,
}

impl TileGeom {
    /// MVT geometry commands.
    fn encode(&self) -> Option<mvt::GeomData> {
        let mut enc = mvt::GeomEncoder::new(self.kind);
        for part in &self.parts {
            for (x, y) in part {
                enc.add_point(*x, *y).ok()?;
            }
            if self.kind != mvt::GeomType::Point {
                enc.complete_geom().ok()?;
            }
        }
        enc.encode().ok()
    }
}

/// Clip, simplify and quantise a geometry for one tile; `None` if nothing is left.
fn encode_geom(
    g: &MercGeom,
    bbox: &Rect<f64>,
    clip: &Rect<f64>,
    tolerance: f64,
    to_tile: &dyn Fn(Coord<f64>) -> (i32, i32),
) -> Option<TileGeom> {
    use mvt::GeomType;
    let mut parts: Vec<Vec<(i32, i32)>> = Vec::new();
    let kind = match g {
        MercGeom::Point(c) => {
            let inside = c.x >= clip.min().x && c.x <= clip.max().x && c.y >= clip.min().y && c.y <= clip.max().y;
            if inside {
                parts.push(vec![to_tile(*c)]);
            }
            GeomType::Point
        }
        MercGeom::Lines(ml) => {
            for line in ml.iter() {
                for piece in clip_line(&line.0, clip) {
                    let simple = LineString(piece).simplify(tolerance);
                    let pts = dedup(simple.0.iter().map(|c| to_tile(*c)).collect());
                    if pts.len() >= 2 {
                        parts.push(pts);
                    }
                }
            }
            GeomType::Linestring
        }
        MercGeom::Areas(mp) => {
            let clipped;
            let shape = if contains(clip, bbox) {
                mp
            } else {
                clipped = mp.intersection(&MultiPolygon(vec![clip.to_polygon()]));
                &clipped
            };
            for poly in shape.simplify(tolerance).iter() {
                let Some(ext) = ring(poly.exterior(), to_tile, true) else { continue };
                parts.push(ext);
                parts.extend(poly.interiors().iter().filter_map(|h| ring(h, to_tile, false)));
            }
            GeomType::Polygon
        }
    };
    (!parts.is_empty()).then_some(TileGeom { kind, parts })
}

fn dedup(mut pts: Vec<(i32, i32)>) -> Vec<(i32, i32)> {
    pts.dedup();
    pts
}

/// A ring in tile units without its closing point, wound as MVT wants it (exterior rings
/// with positive area in tile coordinates, y down; holes negative); `None` if degenerate.
fn ring(r: &LineString<f64>, to_tile: &dyn Fn(Coord<f64>) -> (i32, i32), exterior: bool) -> Option<Vec<(i32, i32)>> {
    let mut pts = dedup(r.0.iter().map(|c| to_tile(*c)).collect());
    if pts.len() > 1 && pts.first() == pts.last() {
        pts.pop();
    }
    if pts.len() < 3 {
        return None;
    }
    let area = shoelace(&pts);
    if area == 0 {
        return None;
    }
    if (area > 0) != exterior {
        pts.reverse();
    }
    Some(pts)
}

/// Twice the signed area of a ring of tile points (positive: clockwise on screen).
pub fn shoelace(pts: &[(i32, i32)]) -> i64 {
    let n = pts.len();
    (0..n)
        .map(|i| {
            let (a, b) = (pts[i], pts[(i + 1) % n]);
            i64::from(a.0) * i64::from(b.1) - i64::from(b.0) * i64::from(a.1)
        })
        .sum()
}

/// Clip a polyline to a rectangle, keeping its direction: the pieces inside, in order
/// (Liang–Barsky per segment).
pub fn clip_line(pts: &[Coord<f64>], r: &Rect<f64>) -> Vec<Vec<Coord<f64>>> {
    let mut out: Vec<Vec<Coord<f64>>> = Vec::new();
    let mut cur: Vec<Coord<f64>> = Vec::new();
    for w in pts.windows(2) {
        let (p, q) = (w[0], w[1]);
        let d = q - p;
        let (mut t0, mut t1) = (0.0f64, 1.0f64);
        let mut keep = true;
        for (num, den) in
            [(p.x - r.min().x, -d.x), (r.max().x - p.x, d.x), (p.y - r.min().y, -d.y), (r.max().y - p.y, d.y)]
        {
            if den == 0.0 {
                if num < 0.0 {
                    keep = false;
                    break;
                }
            } else {
                let t = num / den;
                if den < 0.0 {
                    t0 = t0.max(t);
                } else {
                    t1 = t1.min(t);
                }
            }
        }
        if !keep || t0 > t1 {
            if cur.len() >= 2 {
                out.push(std::mem::take(&mut cur));
            }
            cur.clear();
            continue;
        }
        let a = p + d * t0;
        let b = p + d * t1;
        if cur.last() != Some(&a) {
            if cur.len() >= 2 {
                out.push(std::mem::take(&mut cur));
            }
            cur.clear();
            cur.push(a);
        }
        cur.push(b);
        if t1 < 1.0 {
            if cur.len() >= 2 {
                out.push(std::mem::take(&mut cur));
            }
            cur.clear();
        }
    }
    if cur.len() >= 2 {
        out.push(cur);
    }
    out
}

/// Borders between territory areas: for each pair of neighbouring areas, their shared edges
/// as lines, one version per run of years in which the two sides have different holders.
/// `left` and `right` are the holders on each side of the line as drawn on screen.
fn borders(atlas: &Atlas, years: (i32, i32)) -> Vec<(MercGeom, Vec<Dated>)> {
    use std::collections::BTreeMap;
    let areas = atlas.data.layer(Layer::Territories);
    // (a, b) with a < b → lines along a's rings, and whether a lies left of them on screen.
    let mut shared: BTreeMap<(usize, usize), SharedEdges> = BTreeMap::new();
    for (a, f) in areas.iter().enumerate() {
        let holes = hole_flags(f);
        for ((ring, neigh), is_hole) in area_rings(f).iter().zip(atlas.adjacency.of(a)).zip(holes) {
            // Walking a counter-clockwise ring, the inside is on the left; a map keeps north
            // up, so it is on the left on screen too. Holes have the area outside them.
            let ccw = signed_area(&ring.0) > 0.0;
            let a_left_on_screen = ccw != is_hole;
            let mut run: Vec<Coord<f64>> = Vec::new();
            let mut run_b: Option<usize> = None;
            let mut flush = |run: &mut Vec<Coord<f64>>, b: Option<usize>| {
                if let Some(b) = b.filter(|b| *b > a) {
                    if run.len() >= 2 {
                        let line: LineString<f64> = run.iter().map(|c| merc(*c)).collect();
                        shared.entry((a, b)).or_insert_with(|| (Vec::new(), a_left_on_screen)).0.push(line);
                    }
                }
                run.clear();
            };
            for (k, n) in neigh.iter().enumerate() {
                if *n != run_b {
                    flush(&mut run, run_b);
                    run_b = *n;
                }
                if n.is_some() {
                    if run.is_empty() {
                        run.push(ring.0[k]);
                    }
                    run.push(ring.0[k + 1]);
                }
            }
            flush(&mut run, run_b);
        }
    }
    let held = |i: usize, y: Year| if areas[i].alive(y) { areas[i].holder(y).map(|h| h.polity.clone()) } else { None };
    let mut out = Vec::new();
    for ((a, b), (lines, a_left)) in shared {
        let versions: Vec<Dated> = runs(years, |y| {
            let (ha, hb) = (held(a, y), held(b, y));
            if ha == hb || (ha.is_none() && hb.is_none()) {
                return None;
            }
            let approximate =
                (areas[a].certainty.is_some() && ha.is_some()) || (areas[b].certainty.is_some() && hb.is_some());
            Some((ha, hb, approximate))
        })
        .into_iter()
        .map(|(y0, y1, (ha, hb, approximate))| {
            let (left, right) = if a_left { (ha, hb) } else { (hb, ha) };
            let mut props = Vec::new();
            if let Some(l) = left {
                props.push(("left".into(), Value::Str(l)));
            }
            if let Some(r) = right {
                props.push(("right".into(), Value::Str(r)));
            }
            props.push(("areas".into(), Value::Str(format!("{} {}", areas[a].id, areas[b].id))));
            props.push(("approximate".into(), Value::Int(i64::from(approximate))));
            props.extend(date_props(Some(y0), Some(y1)));
            Dated { props }
        })
        .collect();
        if !versions.is_empty() {
            out.push((MercGeom::Lines(MultiLineString(lines)), versions));
        }
    }
    out
}

/// The lines two areas share, and whether the first lies left of them on screen.
type SharedEdges = (Vec<LineString<f64>>, bool);

fn signed_area(pts: &[Coord<f64>]) -> f64 {
    pts.windows(2).map(|w| w[0].x * w[1].y - w[1].x * w[0].y).sum::<f64>() / 2.0
}

/// The tiles of a tileset over the data's bounds at the zooms asked for.
pub fn plan(bounds: [f64; 4], zooms: (u8, u8)) -> Vec<TileId> {
    let bbox = LonLatBox::from_array(bounds);
    (zooms.0..=zooms.1).flat_map(|z| tiles_in(&bbox, z)).collect()
}

/// Gzip a tile.
pub fn gzip(bytes: &[u8]) -> Result<Vec<u8>> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::with_capacity(bytes.len() / 2), flate2::Compression::default());
    enc.write_all(bytes).map_err(|e| Error::Encode(format!("gzip: {e}")))?;
    enc.finish().map_err(|e| Error::Encode(format!("gzip: {e}")))
}

/// Metadata shared by both archives and TileJSON.
pub fn metadata(atlas: &Atlas, src: &VectorSource, zooms: (u8, u8)) -> serde_json::Value {
    let b = src.bounds;
    serde_json::json!({
        "name": atlas.data.title("en"),
        "description": format!("{} {}–{}: vector tiles filtered by date", atlas.data.title("en"), src.years.0, src.years.1),
        "attribution": atlas.data.meta.credit,
        "format": "pbf",
        "type": "overlay",
        "version": "1.0.0",
        "minzoom": zooms.0,
        "maxzoom": zooms.1,
        "bounds": b,
        "center": [(b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0, zooms.0.max(zooms.1.min(4))],
        "vector_layers": src.vector_layers(zooms),
        "years": [src.years.0, src.years.1],
    })
}

/// Write the tileset and its `style.json` (with sprite and glyphs) into `o.out`.
pub fn generate(atlas: &Atlas, style: &crate::style::Style, o: &VectorOptions) -> Result<VectorReport> {
    let (y0, y1) = o.years;
    if y0 > y1 {
        return Err(Error::Usage(format!("--years {y0}..{y1} ends before it starts")));
    }
    if o.zooms.1 > super::DEFAULT_MAX_ZOOM && !o.force {
        return Err(Error::Usage(format!(
            "--zoom {}..{} goes deeper than zoom {}; add --force to go past it",
            o.zooms.0,
            o.zooms.1,
            super::DEFAULT_MAX_ZOOM
        )));
    }
    let src = VectorSource::new(atlas, o.years);
    let planned = plan(src.bounds, o.zooms);
    if planned.len() as u64 > super::DEFAULT_MAX_TILES && !o.force {
        return Err(Error::Usage(format!(
            "the tileset is {} tiles, more than {}; narrow --zoom or add --force",
            planned.len(),
            super::DEFAULT_MAX_TILES
        )));
    }
    std::fs::create_dir_all(&o.out).map_err(|e| Error::Io { path: o.out.clone(), source: e })?;
    crate::output::clean_stale_temps(&o.out);
    let bar = crate::output::progress_bar(o.progress, planned.len(), "tiles");
    let tiles: Vec<(TileId, Vec<u8>)> = planned
        .par_iter()
        .map(|t| {
            let r = src.tile(*t, o.zooms.1).and_then(|mvt| mvt.map(|b| gzip(&b)).transpose());
            if let Some(b) = &bar {
                b.inc(1);
            }
            r.map(|b| b.map(|b| (*t, b)))
        })
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .flatten()
        .collect();
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let meta = metadata(atlas, &src, o.zooms);
    let path = match o.archive {
        Archive::Pmtiles => {
            let p = o.out.join("atlas.pmtiles");
            write_pmtiles(&p, &tiles, &meta, src.bounds, o.zooms)?;
            p
        }
        Archive::Mbtiles => {
            let p = o.out.join("atlas.mbtiles");
            write_mbtiles(&p, &tiles, &meta)?;
            p
        }
    };
    let base = o.base_url.as_deref().map(|b| format!("{}/", b.trim_end_matches('/'))).unwrap_or_default();
    // A browser reads a PMTiles archive itself (the pmtiles JS protocol); an MBTiles file
    // needs a tile server, whose XYZ URLs the style then names.
    let source = match o.archive {
        Archive::Pmtiles => super::mapstyle::SourceRef::Url(format!("pmtiles://{base}atlas.pmtiles")),
        Archive::Mbtiles => super::mapstyle::SourceRef::Tiles(vec![format!("{base}{{z}}/{{x}}/{{y}}.pbf")]),
    };
    let web = super::mapstyle::StyleUrls {
        source,
        sprite: format!("{base}sprite"),
        glyphs: format!("{base}fonts/{{fontstack}}/{{range}}.pbf"),
    };
    let style_doc = super::mapstyle::style_json(atlas, style, &src, o.zooms, &web);
    let text = serde_json::to_string_pretty(&style_doc).map_err(|e| Error::Encode(e.to_string()))?;
    crate::output::write_atomic(&o.out.join("style.json"), crate::output::json_safe(text).as_bytes())?;
    super::mapstyle::write_sprites(style, &o.out)?;
    super::mapstyle::write_glyphs(style, &o.out.join("fonts"))?;
    let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    Ok(VectorReport { tiles: tiles.len(), bytes, features: src.feature_count(), thinned: src.thinned_tiles() })
}

/// Write a PMTiles v3 archive of gzip MVT tiles.
fn write_pmtiles(
    path: &Path,
    tiles: &[(TileId, Vec<u8>)],
    meta: &serde_json::Value,
    b: [f64; 4],
    zooms: (u8, u8),
) -> Result<()> {
    use pmtiles::{Compression, PmTilesWriter, TileCoord, TileId as PmId, TileType};
    let pm = |e: pmtiles::PmtError| Error::Encode(format!("{}: {e}", path.display()));
    let mut ordered: Vec<(u64, &(TileId, Vec<u8>))> = tiles
        .iter()
        .map(|t| TileCoord::new(t.0.z, t.0.x, t.0.y).map(|c| (PmId::from(c).value(), t)))
        .collect::<std::result::Result<_, _>>()
        .map_err(pm)?;
    ordered.sort_by_key(|(id, _)| *id);
    let mut out = crate::output::AtomicFile::create(path)?;
    {
        let file = out.file()?;
        let mut w = PmTilesWriter::new(TileType::Mvt)
            .precompressed(Compression::Gzip)
            .min_zoom(zooms.0)
            .max_zoom(zooms.1)
            .bounds(b[0], b[1], b[2], b[3])
            .center((b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0)
            .center_zoom(zooms.0.max(zooms.1.min(4)))
            .metadata(meta.to_string())
            .create(std::io::BufWriter::new(file))
            .map_err(pm)?;
        for (_, (t, data)) in ordered {
            w.add_tile(TileCoord::new(t.z, t.x, t.y).map_err(pm)?, data).map_err(pm)?;
        }
        w.finalize().map_err(pm)?;
    }
    out.commit()
}

/// Write an MBTiles 1.3 file of gzip MVT tiles (`format` pbf, `json` with `vector_layers`).
fn write_mbtiles(path: &Path, tiles: &[(TileId, Vec<u8>)], meta: &serde_json::Value) -> Result<()> {
    let mut out = crate::output::AtomicFile::create(path)?;
    drop(out.file()?);
    {
        let e = |err: rusqlite::Error| Error::Encode(format!("{}: {err}", path.display()));
        let mut db = rusqlite::Connection::open(out.temp_path()).map_err(e)?;
        db.execute_batch(
            "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;
             CREATE TABLE metadata (name TEXT, value TEXT);
             CREATE UNIQUE INDEX name ON metadata (name);
             CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB);
             CREATE UNIQUE INDEX tile_index ON tiles (zoom_level, tile_column, tile_row);",
        )
        .map_err(e)?;
        let tx = db.transaction().map_err(e)?;
        {
            let text = |k: &str| meta.get(k).map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string));
            let b = meta["bounds"].as_array().cloned().unwrap_or_default();
            let c = meta["center"].as_array().cloned().unwrap_or_default();
            let join = |v: &[serde_json::Value]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(",");
            let json = serde_json::json!({"vector_layers": meta["vector_layers"], "years": meta["years"]});
            let rows = [
                ("name", text("name").unwrap_or_default()),
                ("description", text("description").unwrap_or_default()),
                ("attribution", text("attribution").unwrap_or_default()),
                ("format", "pbf".to_string()),
                ("type", "overlay".to_string()),
                ("version", "1.3".to_string()),
                ("minzoom", text("minzoom").unwrap_or_default()),
                ("maxzoom", text("maxzoom").unwrap_or_default()),
                ("bounds", join(&b)),
                ("center", join(&c)),
                ("json", json.to_string()),
            ];
            let mut put = tx.prepare("INSERT INTO metadata (name, value) VALUES (?1, ?2)").map_err(e)?;
            for (k, v) in rows {
                put.execute((k, v)).map_err(e)?;
            }
            let mut ins = tx
                .prepare("INSERT INTO tiles (zoom_level, tile_column, tile_row, tile_data) VALUES (?1, ?2, ?3, ?4)")
                .map_err(e)?;
            for (t, data) in tiles {
                ins.execute((t.z, t.x, t.tms_row(), data.as_slice())).map_err(e)?;
            }
        }
        tx.commit().map_err(e)?;
        db.close().map_err(|(_, err)| e(err))?;
    }
    out.commit()
}

/// The Web Mercator half-width, for tests.
pub const WORLD_HALF: f64 = ORIGIN;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_group_equal_years() {
        let r = runs((1700, 1709), |y| match y.0 {
            1700..=1702 => Some("a"),
            1703 => None,
            1704..=1709 => Some("b"),
            _ => None,
        });
        assert_eq!(r, vec![(1700, 1702, "a"), (1704, 1709, "b")]);
    }

    #[test]
    fn date_props_end_is_exclusive() {
        let p = date_props(Some(1723), Some(1729));
        assert!(p.contains(&("end_decdate".into(), Value::Num(1730.0))));
        assert!(p.contains(&("end_date".into(), Value::Str("1729".into()))));
        assert!(p.contains(&("start_decdate".into(), Value::Num(1723.0))));
    }

    #[test]
    fn clip_line_keeps_direction_and_splits() {
        let r = Rect::new(Coord { x: 0.0, y: 0.0 }, Coord { x: 10.0, y: 10.0 });
        let pts = [
            Coord { x: -5.0, y: 5.0 },
            Coord { x: 5.0, y: 5.0 },
            Coord { x: 15.0, y: 5.0 },
            Coord { x: 15.0, y: 8.0 },
            Coord { x: 5.0, y: 8.0 },
        ];
        let pieces = clip_line(&pts, &r);
        assert_eq!(pieces.len(), 2);
        assert_eq!(pieces[0], vec![Coord { x: 0.0, y: 5.0 }, Coord { x: 5.0, y: 5.0 }, Coord { x: 10.0, y: 5.0 }]);
        assert_eq!(pieces[1], vec![Coord { x: 10.0, y: 8.0 }, Coord { x: 5.0, y: 8.0 }]);
    }

    #[test]
    fn exterior_rings_are_clockwise_on_screen() {
        // A square counter-clockwise on screen (y down) is reversed for an exterior ring.
        let sq: LineString<f64> = vec![(0.0, 0.0), (0.0, 10.0), (10.0, 10.0), (10.0, 0.0), (0.0, 0.0)].into();
        let id = |c: Coord<f64>| (c.x as i32, c.y as i32);
        let ext = ring(&sq, &id, true).expect("a square");
        assert!(shoelace(&ext) > 0);
        let hole = ring(&sq, &id, false).expect("a square");
        assert!(shoelace(&hole) < 0);
    }
}
