//! GeoJSON layers → typed features, with the schema checks that make a dataset loadable.
//!
//! A dataset is a folder of optional layer files (`cities.geojson`, `rivers.geojson`, …)
//! and an optional `atlas.json` with the atlas's title, view and credit. The built-in
//! atlas is embedded in the binary. Loading never panics: every problem is returned as
//! a [`Problem`] naming the file and feature.

mod feature;
mod polity;

pub use feature::{
    CampaignKind, CapitalSpan, Certainty, CityKind, ControlSpan, Feature, Geometry, Names, Status, Strength,
};
pub use polity::{DatedName, Polity};

use crate::error::{Error, Problem, Result, Severity};
use crate::time::{EndDates, Year};
use serde::Deserialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

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
    pub name_i18n: HashMap<String, String>,
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
    pub fn load(source: &Source, end_dates: EndDates) -> Loaded {
        let mut problems = Vec::new();
        let mut ds = Dataset::default();
        let texts: Vec<(Layer, Option<String>)> = match source {
            Source::Embedded => Layer::ALL
                .iter()
                .map(|l| {
                    let text = EMBEDDED.iter().find(|(n, _)| *n == l.name()).map(|(_, t)| t.to_string());
                    (*l, text)
                })
                .collect(),
            Source::Dir(dir) => {
                if !dir.is_dir() {
                    problems.push(Problem::error(&dir.display().to_string(), None, "not a folder"));
                    return Loaded { dataset: ds, problems };
                }
                Layer::ALL.iter().map(|l| (*l, read_optional(&dir.join(l.file_name()), &mut problems))).collect()
            }
        };
        for (layer, text) in texts {
            if let Some(text) = text {
                ds.layers[layer.index()] = feature::parse_layer(layer, &text, end_dates, &mut problems);
            }
        }
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
        check_unique_ids(&ds, &mut problems);
        Loaded { dataset: ds, problems }
    }

    /// The features of one layer.
    pub fn layer(&self, layer: Layer) -> &[Feature] {
        &self.layers[layer.index()]
    }

    /// Replace a layer's features (for building datasets in code).
    pub fn set_layer(&mut self, layer: Layer, features: Vec<Feature>) {
        self.layers[layer.index()] = features;
    }

    /// Every feature of every layer.
    pub fn all(&self) -> impl Iterator<Item = &Feature> {
        self.layers.iter().flatten()
    }

    /// Find a feature by id in any layer.
    pub fn get(&self, id: &str) -> Option<&Feature> {
        self.all().find(|f| f.id == id)
    }

    /// The extent of all geometries `[west, south, east, north]`, if any.
    pub fn extent(&self) -> Option<[f64; 4]> {
        let mut acc: Option<[f64; 4]> = None;
        for f in self.all() {
            if let Some(b) = f.bbox {
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
        self.meta.polities.iter().find(|p| p.id == id)
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

    /// Every polity id the dataset mentions, with the file and feature that mention it.
    pub fn polity_refs(&self) -> Vec<(Layer, &str, &str)> {
        let mut out = Vec::new();
        for layer in Layer::ALL {
            for f in self.layer(layer) {
                for p in f.polity_ids() {
                    out.push((layer, f.id.as_str(), p));
                }
            }
        }
        out
    }
}

/// The largest layer or `atlas.json` file read, bytes: a dataset is held in memory whole.
pub const MAX_FILE_BYTES: u64 = 512 << 20;

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

fn check_unique_ids(ds: &Dataset, problems: &mut Vec<Problem>) {
    let mut seen: HashMap<&str, Layer> = HashMap::new();
    for layer in Layer::ALL {
        for f in ds.layer(layer) {
            if let Some(first) = seen.insert(f.id.as_str(), layer) {
                problems.push(Problem::error(
                    &layer.file_name(),
                    Some(&f.id),
                    format!("duplicate id (also in {})", first.file_name()),
                ));
            }
        }
    }
}
