//! A dataset prepared for drawing and querying: loaded once per process, indexed once.

use crate::data::{Dataset, Feature, Layer, Loaded, Source};
use crate::error::Result;
use crate::index::{Adjacency, Index, OpenAdjacency};
use crate::time::{EndDates, Year};
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, OnceLock};

/// Dataset + spatial index + territory adjacency.
pub struct Atlas {
    /// The features.
    pub data: Dataset,
    /// R-trees per layer.
    pub index: Index,
    /// Shared edges between territory areas.
    pub adjacency: Adjacency,
    /// What is computed from the geometry alone, once, on first use.
    derived: Derived,
}

/// What [`Atlas::prepare`] finds in a dataset before [`Atlas::with_prepared`] changes it.
pub(crate) struct Prepared {
    index: Index,
    adjacency: OpenAdjacency,
}

/// Results that depend only on the (static) geometry, kept so that the many drawings of
/// one process (metatiles, years, frames) compute each once.
#[derive(Default)]
struct Derived {
    /// A point inside each area, per layer and feature.
    interior: Vec<Vec<OnceLock<Option<geo::Point<f64>>>>>,
    /// Where a polity's name goes on a set of territory areas (see
    /// [`crate::render::polity_anchor_lonlat`]), by the set.
    anchors: Mutex<rustc_hash::FxHashMap<Vec<usize>, Option<Anchor>>>,
    /// The labels promised in the last few years drawn, before a view picks the principal
    /// towns in it (see [`crate::render::promised`]): a frame asks for them three times.
    promised: Mutex<Vec<(i32, Arc<Promised>)>>,
}

/// The ids a year's labels are promised to, and the positions of its principal towns in
/// the towns' layer.
pub(crate) type Promised = (std::collections::BTreeSet<String>, Vec<usize>);

/// A polity's name anchor (lon/lat) and its land's area in square degrees.
type Anchor = (geo::Point<f64>, f64);

impl Atlas {
    /// Prepare a dataset that has already been checked. Territory areas that meet at
    /// T-junctions get the missing vertices, so shared borders match segment for segment.
    pub fn new(data: Dataset) -> Atlas {
        let prepared = Atlas::prepare(&data);
        Atlas::with_prepared(data, prepared)
    }

    /// What preparing `data` reads from it without changing it: the index and the
    /// territories' adjacency as they stand (found on both cores, and alongside other
    /// readers of the dataset, such as its checks).
    pub(crate) fn prepare(data: &Dataset) -> Prepared {
        // The index reads the envelopes found when the features were read, which closing
        // T-junctions does not change.
        let (index, adjacency) = rayon::join(|| Index::build(data), || Adjacency::find(data.layer(Layer::Territories)));
        Prepared { index, adjacency }
    }

    /// [`Atlas::new`] from what [`Atlas::prepare`] found on this same dataset.
    pub(crate) fn with_prepared(mut data: Dataset, prepared: Prepared) -> Atlas {
        let Prepared { index, adjacency } = prepared;
        let adjacency = adjacency.close(data.layer_mut(Layer::Territories));
        // Cells only for the layers that have areas (others have no interior point).
        let interior = Layer::ALL
            .iter()
            .map(|&l| {
                let fs = data.layer(l);
                let areas = fs.iter().any(|f| matches!(f.geometry, crate::data::Geometry::Areas(_)));
                (0..if areas { fs.len() } else { 0 }).map(|_| OnceLock::new()).collect()
            })
            .collect();
        let derived = Derived { interior, anchors: Mutex::default(), promised: Mutex::default() };
        Atlas { data, index, adjacency, derived }
    }

    /// A point inside feature `i` of `layer` if it is an area (geo's interior point),
    /// computed once per process.
    pub fn interior_point(&self, layer: Layer, i: usize) -> Option<geo::Point<f64>> {
        let cell = self.derived.interior.get(layer as usize)?.get(i)?;
        *cell.get_or_init(|| match &self.data.layer(layer)[i].geometry {
            crate::data::Geometry::Areas(mp) => geo::InteriorPoint::interior_point(mp),
            _ => None,
        })
    }

    /// Where a polity's name goes on the territory areas `members` (indices into the
    /// territories layer), with the land's area in square degrees; computed once per set.
    pub fn polity_anchor(&self, members: &[usize]) -> Option<(geo::Point<f64>, f64)> {
        if let Some(hit) = self.derived.anchors.lock().expect("anchor cache").get(members) {
            return *hit;
        }
        let areas = self.data.layer(Layer::Territories);
        let anchor =
            crate::render::polity_anchor_lonlat(areas, members, |i| self.interior_point(Layer::Territories, i));
        self.derived.anchors.lock().expect("anchor cache").insert(members.to_vec(), anchor);
        anchor
    }

    /// The labels promised in `year` ([`Promised`]): found by `find` unless one of the last
    /// few years asked.
    pub(crate) fn promised_in(&self, year: i32, find: impl FnOnce() -> Promised) -> Arc<Promised> {
        /// Years kept (two frames drawn at once, and a margin).
        const KEPT: usize = 4;
        if let Some((_, hit)) = self.derived.promised.lock().expect("promise cache").iter().find(|(y, _)| *y == year) {
            return Arc::clone(hit);
        }
        let found = Arc::new(find());
        let mut kept = self.derived.promised.lock().expect("promise cache");
        if kept.len() == KEPT {
            kept.remove(0);
        }
        kept.push((year, Arc::clone(&found)));
        found
    }

    /// Load and prepare a dataset, refusing it if it has errors.
    pub fn load(source: &Source, end_dates: EndDates) -> Result<Atlas> {
        let loaded: Loaded = Dataset::load(source, end_dates);
        Ok(Atlas::new(loaded.into_result()?))
    }
}

/// A signature of everything the map layer of `year` depends on: which features are
/// alive, who holds each area and town (and how), which towns changed hands, and which
/// polities exist under which names.
pub fn map_state(atlas: &Atlas, year: i32) -> u64 {
    MapState::of(atlas, year).whole
}

/// The map state of a year in detail: the signature of the whole map, and what it is made
/// of, feature by feature, so that two states can say which features differ (see
/// [`MapState::changed`]).
#[derive(Clone, Debug)]
pub struct MapState {
    /// The year.
    pub year: i32,
    /// The signature of the whole map ([`map_state`]).
    pub whole: u64,
    /// Which polities exist and which of their dated names is in force, by polity.
    polities: Vec<(bool, Option<usize>)>,
    /// Per layer, per feature: the signature of its state, 0 when it is not drawn.
    features: Vec<Vec<u64>>,
}

impl MapState {
    /// The state of `year`.
    pub fn of(atlas: &Atlas, year: i32) -> MapState {
        let y = Year(year);
        // Polities: whether each exists and which of its dated names is in force (a
        // renamed polity relabels its land although nobody's land changed hands).
        let polities: Vec<(bool, Option<usize>)> =
            atlas.data.meta.polities.iter().map(|p| (p.alive(y), p.names.iter().position(|n| n.covers(y)))).collect();
        let features: Vec<Vec<u64>> = Layer::ALL
            .iter()
            .map(|&layer| {
                if layer == Layer::Events {
                    return Vec::new();
                }
                atlas.data.layer(layer).iter().enumerate().map(|(i, f)| feature_state(layer, i, f, y)).collect()
            })
            .collect();
        let mut h = DefaultHasher::new();
        polities.hash(&mut h);
        features.hash(&mut h);
        MapState { year, whole: h.finish(), polities, features }
    }

    /// The polities that began, ended or changed their name between `self` and `other`
    /// (positions in the atlas's list of polities), each with whether it was only renamed.
    pub fn changed_polities(&self, other: &MapState) -> Vec<(usize, bool)> {
        (0..self.polities.len().max(other.polities.len()))
            .filter_map(|i| match (self.polities.get(i), other.polities.get(i)) {
                (a, b) if a == b => None,
                (Some(a), Some(b)) => Some((i, a.0 == b.0)),
                _ => Some((i, false)),
            })
            .collect()
    }

    /// The features whose state differs between `self` and `other` (layer, position in the
    /// layer).
    pub fn changed(&self, other: &MapState) -> Vec<(Layer, usize)> {
        let mut out = Vec::new();
        for (&layer, (a, b)) in Layer::ALL.iter().zip(self.features.iter().zip(&other.features)) {
            out.extend(a.iter().zip(b).enumerate().filter(|(_, (x, y))| x != y).map(|(i, _)| (layer, i)));
        }
        out
    }
}

/// The years within `span` (first and last, inclusive) in which the map state
/// ([`MapState`]) can change, in order, the first year of `span` first: a feature or
/// polity begins or ends, a holder or a capital's span begins or ends (a town that changed
/// hands is marked the year after too), a polity's name changes. Between two of them
/// every year has the state of the one before.
pub fn state_change_years(atlas: &Atlas, span: (i32, i32)) -> Vec<i32> {
    let (lo, hi) = span;
    let mut years = vec![lo];
    let mut add = |y: Option<i32>| {
        if let Some(y) = y.filter(|y| (lo + 1..=hi).contains(y)) {
            years.push(y);
        }
    };
    // Polities begin, end and change names.
    for p in &atlas.data.meta.polities {
        let spans = std::iter::once((p.from, p.to)).chain(p.names.iter().map(|n| (n.from, n.to)));
        for (from, to) in spans {
            add(from);
            add(to.map(|y| y.saturating_add(1)));
        }
    }
    for layer in Layer::ALL {
        if layer == Layer::Events {
            continue;
        }
        for f in atlas.data.layer(layer) {
            // Alive from its first year, gone the year after its last.
            add(f.span.start_year());
            add(f.span.end_year().map(|y| y.saturating_add(1)));
            for c in f.capital() {
                add(c.span.start_year());
                add(c.span.end_year().map(|y| y.saturating_add(1)));
            }
            for c in &f.control {
                let (s, e) = (c.span.start_year(), c.span.end_year().map(|y| y.saturating_add(1)));
                add(s);
                add(e);
                if layer == Layer::Cities {
                    // A town that changed hands is marked in the year after, too.
                    add(s.map(|y| y.saturating_add(1)));
                    add(e.map(|y| y.saturating_add(1)));
                }
            }
        }
    }
    years.sort_unstable();
    years.dedup();
    years
}

/// The signature of one feature's state in `y` (0 when it is not alive): who holds it and
/// how (and who held it before), whether a town changed hands that year, and a capital's
/// dated symbol.
fn feature_state(layer: Layer, i: usize, f: &Feature, y: Year) -> u64 {
    fn holder_key(f: &Feature, y: Year) -> Option<(&str, &'static str, Option<&str>)> {
        if f.alive(y) {
            f.holder(y).map(|c| (c.polity.as_str(), c.status.name(), c.overlord.as_deref()))
        } else {
            None
        }
    }
    if !f.alive(y) {
        return 0;
    }
    let mut h = DefaultHasher::new();
    (layer as u8, i).hash(&mut h);
    if layer == Layer::Cities && !f.capital().is_empty() {
        // A capital's symbol is dated: the year it became one changes the map.
        f.kind_in(y).hash(&mut h);
    }
    if !f.control.is_empty() {
        let now = holder_key(f, y);
        now.hash(&mut h);
        // Occupied and contested land shows its former holder too.
        f.holder(y).and_then(|c| f.former_holder(c)).hash(&mut h);
        if layer == Layer::Cities {
            let before = holder_key(f, Year(y.0 - 1));
            (before.map(|b| b.0) != now.map(|n| n.0) && before.is_some() && now.is_some()).hash(&mut h);
        }
    }
    h.finish().max(1)
}
