//! GeoJSON layers → typed features, with the schema checks that make a dataset loadable.
//!
//! A dataset is a folder of optional layer files (`cities.geojson`, `rivers.geojson`, …)
//! and an optional `atlas.json` with the atlas's title, view and credit. The built-in
//! atlas is embedded in the binary. Loading never panics: every problem is returned as
//! a [`Problem`] naming the file and feature.

mod fast;
mod feature;
mod polity;
mod raw;
mod read;

pub use feature::polity_id_for;
pub use feature::{
    CampaignKind, CapitalSpan, Certainty, CityKind, ControlSpan, Feature, Geometry, Names, Properties, Status, Strength,
};
pub use polity::{DatedName, Polity};

use crate::error::{Error, Problem, Result, Severity};
use crate::time::{EndDates, Year};
use rayon::prelude::*;
use serde::Deserialize;
use serde_json::Value;
use std::borrow::Cow;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The layers of a dataset, in drawing order from bottom to top.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Layer {
    /// Who held the land (areas with `control`).
    Territories,
    /// Seas and lakes.
    Water,
    /// Rivers with `rank`.
    Rivers,
    /// Mountains, deserts, steppes, regions (labels only).
    Landforms,
    /// Campaign routes in marching order.
    Campaigns,
    /// Battles and sieges.
    Battles,
    /// Cities, fortresses, sites.
    Cities,
    /// Dated events with captions.
    Events,
}

impl Layer {
    /// Every layer, bottom to top.
    pub const ALL: [Layer; 8] = [
        Layer::Territories,
        Layer::Water,
        Layer::Rivers,
        Layer::Landforms,
        Layer::Campaigns,
        Layer::Battles,
        Layer::Cities,
        Layer::Events,
    ];

    /// The layer's name as used in file names and `query` output.
    pub fn name(self) -> &'static str {
        match self {
            Layer::Territories => "territories",
            Layer::Water => "water",
            Layer::Rivers => "rivers",
            Layer::Landforms => "landforms",
            Layer::Campaigns => "campaigns",
            Layer::Battles => "battles",
            Layer::Cities => "cities",
            Layer::Events => "events",
        }
    }

    /// The layer's file name in a dataset folder.
    pub fn file_name(self) -> String {
        format!("{}.geojson", self.name())
    }

    fn index(self) -> usize {
        self as usize
    }

    /// The layer of this name (`territories`, `cities`, …).
    pub fn from_name(name: &str) -> Option<Layer> {
        Layer::ALL.into_iter().find(|l| l.name() == name)
    }
}

/// Atlas-wide settings from `atlas.json`: title, default view, period and credit.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AtlasMeta {
    /// Map title (English).
    pub title: String,
    /// Titles in other languages, keyed by language code.
    #[serde(default)]
    pub title_i18n: HashMap<String, String>,
    /// Default view `[west, south, east, north]` in degrees.
    pub bbox: Option<[f64; 4]>,
    /// First and last year of the atlas.
    pub period: Option<[i32; 2]>,
    /// Source credit shown on every map.
    #[serde(default)]
    pub credit: String,
    /// Named phases of the period, marked on an animation's timeline strip.
    #[serde(default)]
    pub phases: Vec<Phase>,
    /// Polities with lifespans and dated names (optional; see [`Polity`]).
    #[serde(default)]
    pub polities: Vec<Polity>,
    /// Each polity id's place in `polities` (the first with that id), made at the first
    /// look-up ([`Dataset::polity`]): an atlas may describe thousands of polities, asked
    /// after once a feature. `polities` is not changed once read.
    #[serde(skip)]
    polity_index: std::sync::OnceLock<HashMap<String, usize>>,
}

/// The years `atlas.json` may name in `period` and `phases` (ISO 8601's four digits,
/// either side of year 0): a period is a span of years an animation or a tile job walks.
pub const META_YEARS: std::ops::RangeInclusive<i32> = -9999..=9999;

impl AtlasMeta {
    /// Out-of-range numbers in `atlas.json` (errors): a bbox off the globe, empty or
    /// reversed; a period or phase outside [`META_YEARS`] or reversed.
    pub fn problems(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        let mut err = |m: String| out.push(Problem::error("atlas.json", None, m));
        if let Some([w, s, e, n]) = self.bbox {
            let lon = |v: f64| (-180.0..=180.0).contains(&v);
            let lat = |v: f64| (-90.0..=90.0).contains(&v);
            if !(lon(w) && lon(e) && lat(s) && lat(n)) {
                err(format!("bbox [{w:?}, {s:?}, {e:?}, {n:?}] is off the globe (lon −180…180, lat −90…90)"));
            } else if w >= e || s >= n {
                err(format!(
                    "bbox [{w:?}, {s:?}, {e:?}, {n:?}] is empty or reversed (need west < east, south < north)"
                ));
            }
        }
        let years = |what: &str, from: i32, to: i32| -> Option<String> {
            if !META_YEARS.contains(&from) || !META_YEARS.contains(&to) {
                Some(format!("{what} [{from}, {to}] is outside the years {}…{}", META_YEARS.start(), META_YEARS.end()))
            } else if from > to {
                Some(format!("{what} [{from}, {to}] ends before it starts"))
            } else {
                None
            }
        };
        if let Some([from, to]) = self.period {
            if let Some(m) = years("period", from, to) {
                err(m);
            }
        }
        for (i, p) in self.phases.iter().enumerate() {
            if let Some(m) = years(&format!("phases[{i}]"), p.from, p.to) {
                err(m);
            }
        }
        out
    }
}

/// A named span of years (a phase of a war) for the timeline strip.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Phase {
    /// First year.
    pub from: i32,
    /// Last year.
    pub to: i32,
    /// English name.
    pub name: String,
    /// Names in other languages, keyed by language code.
    #[serde(default)]
    pub name_i18n: std::collections::BTreeMap<String, String>,
}

impl Phase {
    /// The name in `lang`, falling back to English.
    pub fn name(&self, lang: &str) -> &str {
        self.name_i18n.get(lang).map(String::as_str).unwrap_or(&self.name)
    }
}

/// Where a dataset comes from.
#[derive(Clone, Debug)]
pub enum Source {
    /// The atlas built into the binary.
    Embedded,
    /// A folder of layer files.
    Dir(PathBuf),
}

/// A loaded dataset: features per layer and the atlas settings.
#[derive(Clone, Debug, Default)]
pub struct Dataset {
    layers: [Vec<Feature>; 8],
    /// Every feature as `(layer, position)`, sorted by id (stably, so the first of equal
    /// ids is the first in layer order): [`Dataset::get`] is a binary search.
    by_id: Vec<(u8, u32)>,
    /// Atlas settings (title, default view, credit).
    pub meta: AtlasMeta,
}

macro_rules! embedded_layer {
    ($name:literal) => {
        ($name, include_str!(concat!("../../geodata/", $name, ".geojson")))
    };
}

/// The built-in atlas's files: (layer name, GeoJSON text).
const EMBEDDED: [(&str, &str); 8] = [
    embedded_layer!("territories"),
    embedded_layer!("water"),
    embedded_layer!("rivers"),
    embedded_layer!("landforms"),
    embedded_layer!("campaigns"),
    embedded_layer!("battles"),
    embedded_layer!("cities"),
    embedded_layer!("events"),
];
const EMBEDDED_META: &str = include_str!("../../geodata/atlas.json");

/// A dataset and every problem met while loading it (errors and warnings).
#[derive(Debug)]
pub struct Loaded {
    /// The features that could be read.
    pub dataset: Dataset,
    /// Problems found (the dataset is unusable if any is an error).
    pub problems: Vec<Problem>,
}

impl Loaded {
    /// Does any problem make the dataset unusable?
    pub fn has_errors(&self) -> bool {
        self.problems.iter().any(|p| p.severity == Severity::Error)
    }

    /// The dataset, or an error listing its problems.
    pub fn into_result(self) -> Result<Dataset> {
        if self.has_errors() {
            Err(Error::Data(self.problems))
        } else {
            Ok(self.dataset)
        }
    }
}

impl Dataset {
    /// Load a dataset, collecting every problem rather than stopping at the first.
    ///
    /// A folder is read whole: every `*.geojson` and `*.geojsonseq` file, each feature
    /// placed in a layer by its `layer` property, else by its file's name (`cities`,
    /// `towns`, `boundaries`, …), else by its OpenHistoricalMap tags (`boundary`, `place`,
    /// `waterway`, …). How each file was read is reported as information; features no rule
    /// places, and files of other formats (`.shp`, `.gpkg`, …), are reported as warnings.
    pub fn load(source: &Source, end_dates: EndDates) -> Loaded {
        let mut problems = Vec::new();
        let mut ds = Dataset::default();
        let listed: Vec<Listed> = match source {
            Source::Embedded => {
                EMBEDDED.iter().map(|(n, t)| Listed::Layer(format!("{n}.geojson"), LayerText::Embedded(t))).collect()
            }
            Source::Dir(dir) => {
                if !dir.is_dir() {
                    problems.push(Problem::error(&dir.display().to_string(), None, "not a folder"));
                    return Loaded { dataset: ds, problems };
                }
                match list_dir(dir) {
                    Ok(listed) => listed,
                    Err(p) => {
                        problems.push(p);
                        Vec::new()
                    }
                }
            }
        };
        // Each file is read and parsed on a task of its own (a large one on several, in
        // runs), its text held only until it is parsed. The problems are reported in the
        // order of a reading file by file: the folder's (in name order), then parsing's,
        // then typing's.
        let listed: Vec<(Listed, Option<FileParse>)> = listed
            .into_par_iter()
            .map(|l| {
                let parsed = match &l {
                    Listed::Layer(name, text) => Some(parse_file(name, text)),
                    Listed::Note(_) => None,
                };
                (l, parsed)
            })
            .collect();
        let mut files: Vec<(Arc<str>, FileParse)> = Vec::new();
        for (l, parsed) in listed {
            match (l, parsed) {
                (Listed::Note(p), _) => problems.push(p),
                (Listed::Layer(name, _), Some(mut parsed)) => {
                    problems.append(&mut parsed.read_problems);
                    if parsed.read {
                        files.push((Arc::from(name), parsed));
                    }
                }
                (Listed::Layer(..), None) => {}
            }
        }
        if let (Source::Dir(dir), true) = (source, files.is_empty()) {
            problems.push(Problem::warning(
                &dir.display().to_string(),
                None,
                "no *.geojson or *.geojsonseq files in this folder: nothing to draw",
            ));
        }
        for (_, parsed) in &mut files {
            problems.append(&mut parsed.parse_problems);
        }
        // `Auto` reads a dataset with OpenHistoricalMap tags in any file as `Ohm`.
        let mode = match end_dates {
            EndDates::Auto if files.iter().any(|(_, f)| f.ohm) => EndDates::Ohm,
            EndDates::Auto => EndDates::Inclusive,
            m => m,
        };
        // Each run of features is typed on a task of its own, into its place in its
        // layer's room (room for every feature placed in the layer, in file order): a
        // layer is then its typed features, without a copy of them.
        let mut runs: Vec<(usize, PlacedRun)> = Vec::new();
        for (f, (_, parsed)) in files.iter_mut().enumerate() {
            runs.extend(parsed.runs.take().unwrap_or_default().into_iter().map(|run| (f, run)));
        }
        for (l, layer) in ds.layers.iter_mut().enumerate() {
            *layer = Vec::with_capacity(runs.iter().map(|(_, run)| run.counts[l]).sum());
            populate(layer.spare_capacity_mut());
        }
        let mut rest: [&mut [std::mem::MaybeUninit<Feature>]; 8] =
            ds.layers.each_mut().map(|layer| layer.spare_capacity_mut());
        let mut units = Vec::with_capacity(runs.len());
        for (f, run) in runs {
            let mine: [&mut [std::mem::MaybeUninit<Feature>]; 8] = Layer::ALL.map(|l| {
                let (mine, later) = std::mem::take(&mut rest[l.index()]).split_at_mut(run.counts[l.index()]);
                rest[l.index()] = later;
                mine
            });
            units.push((f, run, mine));
        }
        let typed: Vec<(usize, RunRead)> =
            units.into_par_iter().map(|(f, run, mine)| (f, type_run(&files[f].0, run, mine, mode))).collect();
        // Each run typed its features into the first of its slots; those of a feature that
        // could not be typed are closed up, run by run (where every feature was typed,
        // nothing moves).
        for (l, layer) in ds.layers.iter_mut().enumerate() {
            let (mut at, mut len) = (0, 0);
            for (_, run) in &typed {
                let (given, written) = (run.counts[l], run.written[l]);
                if at != len && written > 0 {
                    let base = layer.as_mut_ptr();
                    // SAFETY: slots `at..at + written` were written by the run and are
                    // within the capacity; `len <= at`, and `copy` allows overlap.
                    unsafe { std::ptr::copy(base.add(at), base.add(len), written) };
                }
                at += given;
                len += written;
            }
            // SAFETY: the first `len` slots hold the typed features, each once.
            unsafe { layer.set_len(len) };
        }
        let mut typed = typed.into_iter().peekable();
        for (f, (name, _)) in files.iter().enumerate() {
            let mut of_file = Vec::new();
            while let Some((_, run)) = typed.next_if(|(g, _)| *g == f) {
                of_file.push(run);
            }
            problems.append(&mut file_problems(name, read::layer_of_file(name), of_file));
        }
        drop(files);
        let territories = std::mem::take(&mut ds.layers[Layer::Territories.index()]);
        let territories = top_admin_level(territories, &mut problems);
        ds.layers[Layer::Territories.index()] = supersede_versions(territories, &mut problems);
        towns_follow_their_land(&mut ds);
        let meta_text = match source {
            Source::Embedded => Some(EMBEDDED_META.to_string()),
            Source::Dir(dir) => read_optional(&dir.join("atlas.json"), &mut problems),
        };
        if let Some(text) = meta_text {
            match serde_json::from_str::<AtlasMeta>(&text) {
                Ok(m) => {
                    problems.extend(m.problems());
                    ds.meta = m;
                }
                Err(e) => problems.push(Problem::error("atlas.json", None, format!("invalid: {e}"))),
            }
        }
        polity::check(&ds.meta.polities, &mut problems);
        let duplicates = ds.index_ids();
        report_duplicate_ids(&ds, duplicates, &mut problems);
        Loaded { dataset: ds, problems }
    }

    /// The features of one layer.
    pub fn layer(&self, layer: Layer) -> &[Feature] {
        &self.layers[layer.index()]
    }

    /// The features of one layer, to change in place: their geometry (closing T-junctions),
    /// not their ids or order, which the id index keeps.
    pub(crate) fn layer_mut(&mut self, layer: Layer) -> &mut [Feature] {
        &mut self.layers[layer.index()]
    }

    /// Replace a layer's features (for building datasets in code).
    pub fn set_layer(&mut self, layer: Layer, features: Vec<Feature>) {
        self.layers[layer.index()] = features;
        // Duplicates are reported when a dataset is loaded.
        self.index_ids();
    }

    /// Every feature of every layer.
    pub fn all(&self) -> impl Iterator<Item = &Feature> {
        self.layers.iter().flatten()
    }

    /// Find a feature by id in any layer (the first in layer order if several share it).
    pub fn get(&self, id: &str) -> Option<&Feature> {
        let at = |&(l, i): &(u8, u32)| &self.layers[l as usize][i as usize];
        let first = self.by_id.partition_point(|e| at(e).id.as_str() < id);
        self.by_id.get(first).map(at).filter(|f| f.id == id)
    }

    /// Rebuild the id index after the layers changed.
    fn index_ids(&mut self) -> Vec<Duplicate> {
        // Each id's first 16 bytes as a number beside its place: most comparisons end
        // there, without reading the ids' text (scattered through memory: the index of
        // 109,000 ids took 14 ms comparing their text, 9 ms comparing the numbers first,
        // 6.5 ms so, in entries of 24 bytes rather than 48). A merge sort: the first of
        // equal ids stays first, and the runs of ids a file gives in order are merged, not
        // sorted again.
        let layers = &self.layers;
        let id = |e: &IdEntry| layers[e.layer as usize][e.at as usize].id.as_str();
        let mut ids: Vec<IdEntry> = Vec::with_capacity(layers.iter().map(Vec::len).sum());
        for (l, layer) in layers.iter().enumerate() {
            ids.extend(layer.iter().enumerate().map(|(i, f)| {
                let prefix = id_prefix(&f.id);
                IdEntry { prefix: [(prefix >> 64) as u64, prefix as u64], at: i as u32, layer: l as u8 }
            }));
        }
        ids.par_sort_by(|a, b| a.prefix.cmp(&b.prefix).then_with(|| id(a).cmp(id(b))));
        // Equal ids sit together, in layer order: each after the first is a duplicate.
        let duplicates = ids
            .windows(2)
            .filter(|w| w[0].prefix == w[1].prefix && id(&w[0]) == id(&w[1]))
            .map(|w| Duplicate { at: (w[1].layer, w[1].at), first: Layer::ALL[w[0].layer as usize] })
            .collect();
        self.by_id = ids.into_iter().map(|e| (e.layer, e.at)).collect();
        duplicates
    }

    /// The extent of all geometries `[west, south, east, north]`, if any.
    pub fn extent(&self) -> Option<[f64; 4]> {
        let mut acc: Option<[f64; 4]> = None;
        for f in self.all() {
            if let Some(b) = f.bbox() {
                acc = Some(match acc {
                    None => b,
                    Some(a) => [a[0].min(b[0]), a[1].min(b[1]), a[2].max(b[2]), a[3].max(b[3])],
                });
            }
        }
        acc
    }

    /// The default view: `atlas.json`'s bbox, else the data's extent.
    pub fn default_bbox(&self) -> Option<[f64; 4]> {
        self.meta.bbox.or_else(|| self.extent())
    }

    /// The captions of the events of year `y`, in `lang` with fallback to English.
    pub fn captions(&self, y: Year, lang: &str) -> Vec<String> {
        let mut events: Vec<&Feature> = self.layer(Layer::Events).iter().filter(|e| e.span.overlaps_year(y)).collect();
        events.sort_by_key(|e| e.span.start);
        events
            .iter()
            .filter_map(|e| {
                let key = format!("caption:{lang}");
                e.properties
                    .get(&key)
                    .and_then(|v| v.as_str())
                    .or_else(|| e.properties.get("caption").and_then(|v| v.as_str()))
                    .map(str::to_string)
            })
            .collect()
    }

    /// The atlas title in `lang`, falling back to English.
    pub fn title(&self, lang: &str) -> &str {
        self.meta.title_i18n.get(lang).map(String::as_str).unwrap_or(&self.meta.title)
    }

    /// The polity `id` as `atlas.json` describes it, if it does.
    pub fn polity(&self, id: &str) -> Option<&Polity> {
        let polities = &self.meta.polities;
        let index = self.meta.polity_index.get_or_init(|| {
            let mut index = HashMap::with_capacity(polities.len());
            for (i, p) in polities.iter().enumerate() {
                index.entry(p.id.clone()).or_insert(i);
            }
            index
        });
        index.get(id).and_then(|&i| polities.get(i)).filter(|p| p.id == id)
    }

    /// Did polity `id` exist in year `y`? A polity without a described lifespan is taken
    /// as alive in every year.
    pub fn polity_alive(&self, id: &str, y: Year) -> bool {
        self.polity(id).is_none_or(|p| p.alive(y))
    }

    /// The name of polity `id` in year `y` (the Tsardom of Russia in 1720, the Russian
    /// Empire in 1721), in `lang` with fallback to English; `None` if `atlas.json` gives
    /// no name for that year.
    pub fn polity_name(&self, id: &str, y: Year, lang: &str) -> Option<&str> {
        self.polity(id).and_then(|p| p.name(y, lang))
    }

    /// Are the holders `a` and `b` the same, or is one part of the other (a jüz and the
    /// Kazakh Khanate as a whole)?
    pub fn same_or_part(&self, a: &str, b: &str) -> bool {
        let whole = |x: &str| self.polity(x).and_then(|p| p.part_of.as_deref());
        a == b || whole(a) == Some(b) || whole(b) == Some(a)
    }

    /// The years the atlas covers: `atlas.json`'s `period`, else the bounded years of every
    /// feature's span and control, else `None`.
    pub fn years(&self) -> Option<(i32, i32)> {
        if let Some([a, b]) = self.meta.period {
            return Some((a.min(b), a.max(b)));
        }
        let mut acc: Option<(i32, i32)> = None;
        let mut add = |y: Option<i32>| {
            if let Some(y) = y {
                acc = Some(acc.map_or((y, y), |(a, b)| (a.min(y), b.max(y))));
            }
        };
        for f in self.all() {
            add(f.span.start_year());
            add(f.span.end_year());
            for c in &f.control {
                add(c.span.start_year());
                add(c.span.end_year());
            }
        }
        acc
    }

    /// Every polity id the dataset mentions, once, in the order of its first mention (layer
    /// by layer, so the holders of territories first), with the layer and the feature of
    /// that first mention.
    pub fn polities_mentioned(&self) -> Vec<(Layer, &str, &str)> {
        let mut seen: rustc_hash::FxHashSet<&str> = rustc_hash::FxHashSet::default();
        let mut out = Vec::new();
        for layer in Layer::ALL {
            for f in self.layer(layer) {
                for p in f.polity_ids() {
                    if seen.insert(p) {
                        out.push((layer, f.id.as_str(), p));
                    }
                }
            }
        }
        out
    }
}

/// The largest layer or `atlas.json` file read, bytes: a dataset is held in memory whole.
pub const MAX_FILE_BYTES: u64 = 512 << 20;

/// The `admin_level` of an OpenHistoricalMap administrative boundary, if it has one.
fn admin_level(f: &Feature) -> Option<u32> {
    if f.properties.get("boundary").and_then(Value::as_str) != Some("administrative") {
        return None;
    }
    match f.properties.get("admin_level")? {
        Value::String(s) => s.trim().parse().ok(),
        Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        _ => None,
    }
}

/// Territories are one level of land: where administrative boundaries of several
/// `admin_level`s are given (countries at 2, provinces at 4), the top level present is
/// drawn and the others are left out, with a note per file and level.
fn top_admin_level(areas: Vec<Feature>, problems: &mut Vec<Problem>) -> Vec<Feature> {
    let Some(top) = areas.iter().filter_map(admin_level).min() else { return areas };
    let mut left_out: std::collections::BTreeMap<(String, u32), usize> = std::collections::BTreeMap::new();
    let kept = areas
        .into_iter()
        .filter(|f| match admin_level(f) {
            Some(l) if l > top => {
                *left_out.entry((f.file.to_string(), l)).or_default() += 1;
                false
            }
            _ => true,
        })
        .collect();
    for ((file, level), n) in left_out {
        problems.push(Problem::info(
            &file,
            None,
            format!(
                "{n} boundaries of admin_level {level} not drawn: territories are drawn at the top level present \
                 ({top}); put other levels in a separate dataset"
            ),
        ));
    }
    kept
}

/// Is a territory held by itself (a dated boundary without `control`)?
fn self_held(f: &Feature) -> bool {
    f.layer == Layer::Territories && f.control.len() == 1 && !f.properties.contains_key("control")
}

/// OpenHistoricalMap towns (`place=*`) carry no `control`: give each the control spans of
/// the areas it stands in, so its marker, `query`'s `controlled_by` and a change of hands
/// follow the land, as the contract's rule for towns says.
fn towns_follow_their_land(ds: &mut Dataset) {
    use geo::Intersects;
    let areas = &ds.layers[Layer::Territories.index()];
    let mut updates: Vec<(usize, Vec<ControlSpan>)> = Vec::new();
    for (i, town) in ds.layers[Layer::Cities.index()].iter().enumerate() {
        if !town.control.is_empty() || !town.properties.contains_key("place") {
            continue;
        }
        let Geometry::Point(pt) = &town.geometry else { continue };
        let mut spans: Vec<ControlSpan> = areas
            .iter()
            .filter(|a| a.bbox().is_some_and(|b| b[0] <= pt.x() && pt.x() <= b[2] && b[1] <= pt.y() && pt.y() <= b[3]))
            .filter(|a| matches!(&a.geometry, Geometry::Areas(mp) if mp.intersects(pt)))
            .flat_map(|a| a.control.iter().filter(|c| c.span.overlaps(&town.span)).cloned())
            .collect();
        if spans.is_empty() {
            continue;
        }
        spans.sort_by_key(|c| c.span.start);
        for c in &mut spans {
            c.source = Some("the land it stands in".into());
        }
        updates.push((i, spans));
    }
    for (i, spans) in updates {
        ds.layers[Layer::Cities.index()][i].control = spans;
    }
}

/// Do two areas share land (not only a border)?
fn overlap(a: &Feature, b: &Feature) -> bool {
    use geo::Relate;
    let boxes = match (a.bbox(), b.bbox()) {
        (Some(p), Some(q)) => p[0] < q[2] && q[0] < p[2] && p[1] < q[3] && q[1] < p[3],
        _ => false,
    };
    match (&a.geometry, &b.geometry) {
        (Geometry::Areas(p), Geometry::Areas(q)) if boxes => {
            let m = p.relate(q);
            m.is_intersects() && !m.is_touches()
        }
        _ => false,
    }
}

/// Apply "the latest start wins in a year" across the versions of a boundary, as it applies
/// within one `control` list: where a self-held territory with the same geometry or the same
/// holder and shared land starts in year Y, an earlier version that would still be alive in Y ends with
/// Y − 1 (so a map of Y shows one of them, not both on top of each other). A version
/// superseded within its own first year is never shown, and is left out with a note.
fn supersede_versions(mut areas: Vec<Feature>, problems: &mut Vec<Problem>) -> Vec<Feature> {
    let versions: Vec<usize> = (0..areas.len()).filter(|&i| self_held(&areas[i])).collect();
    let mut cut: Vec<Option<i32>> = vec![None; areas.len()];
    for &a in &versions {
        for &b in &versions {
            let (fa, fb) = (&areas[a], &areas[b]);
            let later = match (fa.span.start, fb.span.start) {
                (None, Some(_)) => true,
                (Some(x), Some(y)) => x < y,
                _ => false,
            };
            if a == b
                || !later
                || !(fa.geometry == fb.geometry || fa.control[0].polity == fb.control[0].polity && overlap(fa, fb))
            {
                continue;
            }
            let Some(y) = fb.span.start_year() else { continue };
            if fa.span.overlaps_year(Year(y)) {
                cut[a] = Some(cut[a].map_or(y, |c: i32| c.min(y)));
            }
        }
    }
    let mut kept = Vec::with_capacity(areas.len());
    for (i, mut f) in areas.drain(..).enumerate() {
        if let Some(y) = cut[i] {
            let end = crate::time::Day::from_ymd(y - 1, 12, 31);
            if f.span.start.is_some_and(|s| s > end) {
                problems.push(Problem::info(
                    &f.file,
                    Some(&f.id),
                    format!("not shown: a later version of this boundary starts in its first year ({y})"),
                ));
                continue;
            }
            f.span.end = Some(f.span.end.map_or(end, |e| e.min(end)));
            f.control[0].span = f.span;
        }
        kept.push(f);
    }
    kept
}

/// A layer file of a dataset: its text, or where to read it.
enum LayerText {
    /// Built into the binary.
    Embedded(&'static str),
    /// A file of a folder.
    File(PathBuf),
}

/// An entry of a dataset folder: a layer file to read (its name and text), or a note
/// about a file that is not read.
enum Listed {
    Layer(String, LayerText),
    Note(Problem),
}

/// What reading and parsing one file gave.
#[derive(Default)]
struct FileParse {
    /// Problems met reading the file (not a regular file, too large, not UTF-8, …).
    read_problems: Vec<Problem>,
    /// Was its text read?
    read: bool,
    /// Problems met parsing its text (invalid JSON, not a FeatureCollection).
    parse_problems: Vec<Problem>,
    /// Its raw features in runs, in file order (`None` if the text could not be parsed).
    runs: Option<Vec<PlacedRun>>,
    /// Does any of its features carry OpenHistoricalMap tags?
    ohm: bool,
}

/// Read and parse one layer file, and place each of its features in a layer.
fn parse_file(name: &str, text: &LayerText) -> FileParse {
    let mut parsed = FileParse::default();
    let text: Cow<'static, str> = match text {
        LayerText::Embedded(t) => Cow::Borrowed(t),
        LayerText::File(path) => match read_optional(path, &mut parsed.read_problems) {
            Some(t) => Cow::Owned(t),
            None => return parsed,
        },
    };
    parsed.read = true;
    let Some(runs) = read::feature_runs(name, &text, &mut parsed.parse_problems) else { return parsed };
    drop(text);
    let file_layer = read::layer_of_file(name);
    let mut first = 0;
    let runs: Vec<(usize, Vec<raw::RawFeature>)> = runs
        .into_iter()
        .map(|run| {
            first += run.len();
            (first - run.len(), run)
        })
        .collect();
    let runs: Vec<PlacedRun> =
        runs.into_par_iter().map(|(first, run)| place_run(name, file_layer, run, first)).collect();
    parsed.ohm = runs.iter().any(|run| run.ohm);
    parsed.runs = Some(runs);
    parsed
}

/// Fault in the pages of `room` (memory about to be written) ahead, in one call per few
/// MB on each core, where the system can (Linux 5.14 on): a large layer's room is fresh
/// pages, and faulting each as typing first writes to it cost more (the kernel's zeroing
/// of a page between two features evicts what typing was working on). Typing the 100x
/// data's 100,000 towns into room faulted in ahead took 5 ms less than into room faulted
/// in as written, and 7 ms less than into slots first filled with `None` (medians of 21).
/// Only whole pages inside `room` are touched, and their content is not changed.
pub(super) fn populate<T>(room: &mut [std::mem::MaybeUninit<T>]) {
    #[cfg(target_os = "linux")]
    {
        const PAGE: usize = 4096;
        let (start, bytes) = (room.as_mut_ptr() as usize, std::mem::size_of_val(room));
        // Small rooms are left to fault as written.
        if bytes < 1 << 20 {
            return;
        }
        let (from, to) = (start.next_multiple_of(PAGE), (start + bytes) / PAGE * PAGE);
        let chunk = 4 << 20;
        (from..to).into_par_iter().step_by(chunk).for_each(|at| {
            // SAFETY: `at..` up to `to` lies in `room`, which this function borrows
            // mutably; MADV_POPULATE_WRITE maps its pages writable without changing what
            // they hold (a system without it refuses the call, which changes nothing).
            unsafe { libc::madvise(at as *mut libc::c_void, chunk.min(to - at), libc::MADV_POPULATE_WRITE) };
        });
    }
    #[cfg(not(target_os = "linux"))]
    let _ = room;
}

/// A run of a file's raw features, each placed in a layer.
struct PlacedRun {
    features: Vec<raw::RawFeature>,
    /// Each feature's layer (`None`: it is not read).
    placed: Vec<Option<Layer>>,
    /// The position of its first feature in its file.
    first: usize,
    /// How many features are placed in each layer.
    counts: [usize; 8],
    /// Errors for features whose `layer` names no layer, in feature order.
    misplaced: Vec<Problem>,
    /// How each feature that no rule places is named in a report.
    unplaced: Vec<String>,
    /// Does any of its features carry OpenHistoricalMap tags?
    ohm: bool,
}

/// Place each feature of a run of file `name` in its layer (the run's first feature is
/// feature `first` of the file).
fn place_run(name: &str, file_layer: Option<Layer>, features: Vec<raw::RawFeature>, first: usize) -> PlacedRun {
    let (mut counts, mut misplaced, mut unplaced) = ([0; 8], Vec::new(), Vec::new());
    let placed = features
        .iter()
        .enumerate()
        .map(|(i, f)| match read::layer_of_feature(f, file_layer) {
            Ok(Some(layer)) => {
                counts[layer.index()] += 1;
                Some(layer)
            }
            Ok(None) => {
                unplaced.push(read::feature_label(f, first + i));
                None
            }
            Err(msg) => {
                misplaced.push(Problem::error(name, Some(&read::feature_label(f, first + i)), msg));
                None
            }
        })
        .collect();
    let ohm = features.iter().any(read::has_ohm_tags);
    PlacedRun { features, placed, first, counts, misplaced, unplaced, ohm }
}

/// What typing a run of a file's features gave, besides the features.
struct RunRead {
    /// Errors for features whose `layer` names no layer, in feature order.
    misplaced: Vec<Problem>,
    /// The problems met typing the features of each layer, in feature order.
    typing: [Vec<Problem>; 8],
    /// How each feature that no rule places is named in a report.
    unplaced: Vec<String>,
    /// How many features were placed in each layer.
    counts: [usize; 8],
    /// How many features the run has.
    len: usize,
    /// How many of its features of each layer were typed (into the first of its slots).
    written: [usize; 8],
}

/// Type the features of a run of file `file` into `slots`, the slots of its features
/// in each layer (as many as it places there), each layer's from its first slot on.
fn type_run(
    file: &Arc<str>,
    run: PlacedRun,
    slots: [&mut [std::mem::MaybeUninit<Feature>]; 8],
    mode: EndDates,
) -> RunRead {
    let PlacedRun { features, placed, first, counts, misplaced, unplaced, .. } = run;
    let len = features.len();
    let mut typing: [Vec<Problem>; 8] = Default::default();
    let mut written = [0; 8];
    let items = features.into_iter().enumerate().map(|(i, f)| (first + i, f));
    if let Some(layer) = Layer::ALL.into_iter().find(|l| counts[l.index()] == len && len > 0) {
        // A run of one layer (the usual case): its features are typed as they come.
        let l = layer.index();
        written[l] = feature::parse_features(layer, file, items, mode, &mut typing[l], slots[l]);
    } else {
        let mut by_layer: Vec<Vec<(usize, raw::RawFeature)>> = counts.iter().map(|&n| Vec::with_capacity(n)).collect();
        for ((i, f), l) in items.zip(placed) {
            if let Some(l) = l {
                by_layer[l.index()].push((i, f));
            }
        }
        for ((layer, items), slots) in Layer::ALL.into_iter().zip(by_layer).zip(slots) {
            let l = layer.index();
            written[l] = feature::parse_features(layer, file, items.into_iter(), mode, &mut typing[l], slots);
        }
    }
    RunRead { misplaced, typing, unplaced, counts, len, written }
}

/// The problems of typing a file, from its runs, in the order of the file typed whole
/// (features whose `layer` names no layer, then each layer's in layer order), with a note
/// of the layers read where its name does not say its layer.
fn file_problems(name: &str, file_layer: Option<Layer>, runs: Vec<RunRead>) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut typing: [Vec<Problem>; 8] = Default::default();
    let mut counts = [0usize; 8];
    let mut total = 0;
    let mut unplaced: Vec<String> = Vec::new();
    for mut run in runs {
        problems.append(&mut run.misplaced);
        for l in 0..Layer::ALL.len() {
            typing[l].append(&mut run.typing[l]);
            counts[l] += run.counts[l];
        }
        unplaced.append(&mut run.unplaced);
        total += run.len;
    }
    problems.extend(typing.into_iter().flatten());
    if file_layer.is_none() || counts.iter().enumerate().any(|(l, n)| *n > 0 && Some(l) != file_layer.map(Layer::index))
    {
        let parts: Vec<String> = Layer::ALL
            .iter()
            .filter(|l| counts[l.index()] > 0)
            .map(|l| format!("{} as {}", counts[l.index()], l.name()))
            .collect();
        if !parts.is_empty() {
            problems.push(Problem::info(name, None, format!("read {}", parts.join(", "))));
        }
    }
    if !unplaced.is_empty() {
        let shown: Vec<&str> = unplaced.iter().take(5).map(String::as_str).collect();
        problems.push(Problem::warning(
            name,
            None,
            format!(
                "{} of {} features not read: no `layer` property, and neither the file name nor their tags \
                 (boundary, place, waterway, natural=water, historic=battlefield, caption) say which layer \
                 ({}{})",
                unplaced.len(),
                total,
                shown.join(", "),
                if unplaced.len() > shown.len() { ", …" } else { "" }
            ),
        ));
    }
    problems
}

/// The files of a folder in name order: the GeoJSON files to read, and notes on files of
/// formats that are not read.
fn list_dir(dir: &Path) -> std::result::Result<Vec<Listed>, Problem> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| Problem::error(&dir.display().to_string(), None, format!("cannot read folder: {e}")))?;
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_file()).collect();
    paths.sort();
    let mut out = Vec::new();
    for path in paths {
        let name = file_label(&path);
        let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).unwrap_or_default();
        match ext.as_str() {
            "geojson" | "geojsonseq" => out.push(Listed::Layer(name, LayerText::File(path))),
            "shp" | "gpkg" | "kml" | "gml" | "csv" | "fgb" | "sqlite" | "topojson" | "osm" | "pbf" => {
                out.push(Listed::Note(Problem::warning(
                    &name,
                    None,
                    "not read: steppe-atlas reads *.geojson and *.geojsonseq files; convert it with \
                     `ogr2ogr -f GeoJSON -t_srs EPSG:4326 OUT.geojson FILE` (see the README)",
                )));
            }
            "json" if name != "atlas.json" => {
                out.push(Listed::Note(Problem::warning(
                    &name,
                    None,
                    "not read: only atlas.json is read among *.json files; rename a GeoJSON layer to *.geojson",
                )));
            }
            _ => {}
        }
    }
    Ok(out)
}

fn read_optional(path: &Path, problems: &mut Vec<Problem>) -> Option<String> {
    // Only regular files of a bounded size: /dev/zero or a FIFO would be read for ever.
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Ok(m) if !m.is_file() => {
            problems.push(Problem::error(&file_label(path), None, "is not a regular file"));
            return None;
        }
        Ok(m) if m.len() > MAX_FILE_BYTES => {
            let mb = m.len() >> 20;
            problems.push(Problem::error(
                &file_label(path),
                None,
                format!("is {mb} MB, more than the {} MB a file may hold", MAX_FILE_BYTES >> 20),
            ));
            return None;
        }
        _ => {}
    }
    match std::fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(s) => Some(s),
            Err(_) => {
                problems.push(Problem::error(&file_label(path), None, "not valid UTF-8"));
                None
            }
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            problems.push(Problem::error(&file_label(path), None, format!("cannot read: {e}")));
            None
        }
    }
}

fn file_label(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| path.display().to_string())
}

/// A feature's place in the id index while it is built.
struct IdEntry {
    /// The id's first 16 bytes as a number ([`id_prefix`]), in two words: 8-byte aligned,
    /// so an entry is 24 bytes where a `u128` made it 32 or more.
    prefix: [u64; 2],
    /// Its position in its layer.
    at: u32,
    /// Its layer.
    layer: u8,
}

/// A feature whose id an earlier feature (in layer order) has.
struct Duplicate {
    /// Its layer and position in the layer.
    at: (u8, u32),
    /// The layer of the feature before it (in layer order) with the id.
    first: Layer,
}

/// The first 16 bytes of `id` as a number that orders as the text does (a shorter id is
/// padded with zeros: ids with equal numbers are told apart by their text).
fn id_prefix(id: &str) -> u128 {
    let mut bytes = [0u8; 16];
    let n = id.len().min(16);
    bytes[..n].copy_from_slice(&id.as_bytes()[..n]);
    u128::from_be_bytes(bytes)
}

/// An error for each duplicate id, naming the layer of the feature before it with the id,
/// in layer order.
fn report_duplicate_ids(ds: &Dataset, mut duplicates: Vec<Duplicate>, problems: &mut Vec<Problem>) {
    duplicates.sort_unstable_by_key(|d| d.at);
    for Duplicate { at: (l, i), first } in duplicates {
        let layer = Layer::ALL[l as usize];
        problems.push(Problem::error(
            &layer.file_name(),
            Some(&ds.layers[l as usize][i as usize].id),
            format!("duplicate id (also in {})", first.file_name()),
        ));
    }
}

/// Does `text` contain `word` as a whole word (not inside a longer word)?
pub(crate) fn has_word(text: &str, word: &str) -> bool {
    if word.is_empty() {
        return false;
    }
    text.match_indices(word).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + word.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_polity_is_mentioned_once_where_it_is_first_named() {
        // Against a scan of every mention, in layer and file order.
        let ds = Dataset::load(&Source::Embedded, EndDates::Inclusive).into_result().expect("the built-in atlas");
        let mut firsts: Vec<(Layer, &str, &str)> = Vec::new();
        for layer in Layer::ALL {
            for f in ds.layer(layer) {
                for p in f.polity_ids() {
                    if !firsts.iter().any(|&(_, _, q)| q == p) {
                        firsts.push((layer, f.id.as_str(), p));
                    }
                }
            }
        }
        assert!(firsts.len() > 8, "{firsts:?}");
        assert_eq!(ds.polities_mentioned(), firsts);
        // The holders of land come first, then the polities only towns, battles or routes name.
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/mini");
        let mini = Dataset::load(&Source::Dir(dir), EndDates::Inclusive).into_result().expect("the mini atlas");
        let mentioned: Vec<(Layer, &str)> = mini.polities_mentioned().into_iter().map(|(l, _, p)| (l, p)).collect();
        assert_eq!(
            mentioned,
            [
                (Layer::Territories, "kazakh_senior"),
                (Layer::Territories, "dzungar"),
                (Layer::Cities, "kazakh_junior"),
                (Layer::Cities, "russia")
            ]
        );
    }

    #[test]
    fn a_large_file_read_in_runs_keeps_every_good_feature_once_in_file_order() {
        // 3 MB of towns (several runs read apart), every 97th placed among the battles by
        // its `layer` property, and some in each run malformed: the features that type are
        // in their layers in file order, each once, and each malformed one is an error.
        let dir = tempfile::tempdir().unwrap();
        let (mut towns, mut battles, mut bad) = (Vec::new(), Vec::new(), Vec::new());
        let mut text = String::from(r#"{"type":"FeatureCollection","features":["#);
        for i in 0..20_000 {
            let id = format!("t-{i}");
            let (layer, kind) = match i {
                _ if i % 1_009 == 5 => {
                    bad.push(id.clone());
                    ("", "castle") // not a kind of town
                }
                _ if i % 97 == 3 => {
                    battles.push(id.clone());
                    (r#","layer":"battles","date":"1723""#, "city")
                }
                _ => {
                    towns.push(id.clone());
                    ("", "city")
                }
            };
            if i > 0 {
                text.push(',');
            }
            text.push_str(&format!(
                r#"{{"type":"Feature","properties":{{"id":"{id}","name":"Town {i} of the steppe","rank":2,"kind":"{kind}"{layer}}},"geometry":{{"type":"Point","coordinates":[{}.5,45.25]}}}}"#,
                50 + i % 40
            ));
        }
        text.push_str("]}");
        assert!(text.len() > 3 * read::RUN_BYTES, "{} bytes", text.len());
        std::fs::write(dir.path().join("cities.geojson"), &text).unwrap();
        let loaded = Dataset::load(&Source::Dir(dir.path().to_path_buf()), EndDates::Inclusive);
        let ids = |l: Layer| loaded.dataset.layer(l).iter().map(|f| f.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(Layer::Cities), towns);
        assert_eq!(ids(Layer::Battles), battles);
        let errors: Vec<&str> = loaded
            .problems
            .iter()
            .filter(|p| p.severity == crate::error::Severity::Error)
            .map(|p| p.feature.as_deref().unwrap_or(""))
            .collect();
        assert_eq!(errors, bad.iter().map(String::as_str).collect::<Vec<_>>());
        assert!(bad.len() >= 19, "{}", bad.len());
        for id in towns.iter().chain(&battles) {
            assert_eq!(loaded.dataset.get(id).map(|f| f.id.as_str()), Some(id.as_str()));
        }
    }

    #[test]
    fn every_id_given_before_is_reported_once_with_the_layer_before_it() {
        let dir = std::env::temp_dir().join(format!("steppe-atlas-dup-ids-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let town = |id: &str, lon: f64| {
            format!(
                r#"{{"type":"Feature","properties":{{"id":"{id}","name":"T"}},"geometry":{{"type":"Point","coordinates":[{lon},45]}}}}"#
            )
        };
        let collection = |ids: &[&str]| {
            let fs: Vec<String> = ids.iter().enumerate().map(|(i, id)| town(id, 60.0 + i as f64)).collect();
            format!(r#"{{"type":"FeatureCollection","features":[{}]}}"#, fs.join(","))
        };
        // Ids alike in their first 16 bytes or more, and ids one of which begins another.
        let long = "sixteen-bytes-ab";
        let (a, b) = (format!("{long}-1"), format!("{long}-2"));
        let cities = [a.as_str(), "x", b.as_str(), long, "x", a.as_str(), r"x\u0000", "x0", "x"];
        std::fs::write(dir.join("cities.geojson"), collection(&cities)).unwrap();
        std::fs::write(dir.join("landforms.geojson"), collection(&[long, "y", b.as_str()])).unwrap();
        let loaded = Dataset::load(&Source::Dir(dir.clone()), EndDates::Inclusive);
        std::fs::remove_dir_all(&dir).unwrap();
        let got: Vec<(String, String)> = loaded
            .problems
            .iter()
            .filter(|p| p.message.starts_with("duplicate id"))
            .map(|p| (p.feature.clone().unwrap_or_default(), p.message.clone()))
            .collect();
        let also = |layer: &str| format!("duplicate id (also in {layer}.geojson)");
        // Landforms come before cities, in layer order.
        let want = [
            (b.as_str(), also("landforms")),
            (long, also("landforms")),
            ("x", also("cities")),
            (a.as_str(), also("cities")),
            ("x", also("cities")),
        ];
        let want: Vec<(String, String)> = want.iter().map(|(id, m)| (id.to_string(), m.clone())).collect();
        assert_eq!(got, want);
        // Each id finds the first feature that has it.
        let ds = &loaded.dataset;
        let firsts = [
            (long, Layer::Landforms, 60.0),
            (&b, Layer::Landforms, 62.0),
            ("x", Layer::Cities, 61.0),
            ("x\0", Layer::Cities, 66.0),
        ];
        for (id, layer, lon) in firsts {
            let f = ds.get(id).unwrap_or_else(|| panic!("{id}"));
            assert_eq!((f.layer, f.bbox().map(|b| b[0])), (layer, Some(lon)), "{id}");
        }
    }

    #[test]
    fn get_finds_every_feature_by_id_as_a_scan_would() {
        let ds = Dataset::load(&Source::Embedded, EndDates::Inclusive).into_result().expect("the built-in atlas");
        let mut n = 0;
        for f in ds.all() {
            let scan = ds.all().find(|g| g.id == f.id).map(|g| (g.layer, g.id.clone()));
            assert_eq!(ds.get(&f.id).map(|g| (g.layer, g.id.clone())), scan);
            n += 1;
        }
        assert!(n > 100);
        assert!(ds.get("no-such-feature").is_none() && ds.get("").is_none());
        // After a layer is replaced, its features are found and the old ones are not.
        let mut ds = ds;
        let mut cities = ds.layer(Layer::Cities).to_vec();
        let old = cities[0].id.clone();
        cities[0].id = "zz-renamed".into();
        ds.set_layer(Layer::Cities, cities);
        assert_eq!(ds.get("zz-renamed").map(|f| f.layer), Some(Layer::Cities));
        assert!(ds.get(&old).is_none_or(|f| f.layer != Layer::Cities), "the old id is gone from the cities");
    }
}
