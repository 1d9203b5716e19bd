//! R-trees over each layer's feature envelopes: a frame or tile draws only what its
//! bounds touch, and `query` finds what lies near a point.

use crate::data::{Dataset, Layer};
use crate::project::{LonLatBox, EARTH_RADIUS};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{RTree, AABB};

type Entry = GeomWithData<Rectangle<[f64; 2]>, usize>;

/// One R-tree per layer, holding each feature's envelope and its position in the layer.
pub struct Index {
    trees: Vec<RTree<Entry>>,
}

impl Index {
    /// Index every layer of a dataset (features without geometry are left out).
    pub fn build(ds: &Dataset) -> Index {
        let trees = Layer::ALL
            .iter()
            .map(|&layer| {
                let entries = ds
                    .layer(layer)
                    .iter()
                    .enumerate()
                    .filter_map(|(i, f)| {
                        f.bbox.map(|b| GeomWithData::new(Rectangle::from_corners([b[0], b[1]], [b[2], b[3]]), i))
                    })
                    .collect();
                RTree::bulk_load(entries)
            })
            .collect();
        Index { trees }
    }

    /// Positions (in the layer) of features whose envelope intersects `bbox`, in data order.
    pub fn in_bbox(&self, layer: Layer, bbox: &LonLatBox) -> Vec<usize> {
        let env = AABB::from_corners([bbox.west, bbox.south], [bbox.east, bbox.north]);
        let mut hits: Vec<usize> =
            self.trees[layer as usize].locate_in_envelope_intersecting(&env).map(|e| e.data).collect();
        hits.sort_unstable();
        hits
    }

    /// Positions of features whose envelope lies within `radius_km` of a point (a superset of
    /// the features within that distance; the caller measures exactly).
    pub fn near(&self, layer: Layer, lon: f64, lat: f64, radius_km: f64) -> Vec<usize> {
        let dlat = (radius_km * 1000.0 / EARTH_RADIUS).to_degrees();
        let coslat = lat.to_radians().cos().max(0.01);
        let dlon = (dlat / coslat).min(180.0);
        let bbox = LonLatBox { west: lon - dlon, south: lat - dlat, east: lon + dlon, north: lat + dlat };
        self.in_bbox(layer, &bbox)
    }
}

/// Which territory area lies across each edge of each area's rings: the shared-edge
/// topology that lets borders be drawn only between areas of different holders.
pub struct Adjacency {
    /// For each area (territories layer position), for each ring in [`area_rings`] order, the
    /// neighbour across each segment (`None` at the edge of the partition).
    neighbours: Vec<Vec<Vec<Option<usize>>>>,
}

/// The rings of an area feature in a fixed order: each polygon's exterior then its holes.
pub fn area_rings(f: &crate::data::Feature) -> Vec<&geo::LineString<f64>> {
    match &f.geometry {
        crate::data::Geometry::Areas(mp) => {
            mp.0.iter().flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors().iter())).collect()
        }
        _ => Vec::new(),
    }
}

impl Adjacency {
    /// Match segments shared by two areas (same endpoints within ~0.1 m, either direction).
    pub fn build(ds: &Dataset) -> Adjacency {
        use std::collections::HashMap;
        let key = |c: geo::Coord<f64>| ((c.x * 1e6).round() as i64, (c.y * 1e6).round() as i64);
        let areas = ds.layer(Layer::Territories);
        type Segment = ((i64, i64), (i64, i64));
        let mut owners: HashMap<Segment, Vec<usize>> = HashMap::new();
        for (a, f) in areas.iter().enumerate() {
            for ring in area_rings(f) {
                for seg in ring.0.windows(2) {
                    let (p, q) = (key(seg[0]), key(seg[1]));
                    let k = if p <= q { (p, q) } else { (q, p) };
                    let list = owners.entry(k).or_default();
                    if !list.contains(&a) {
                        list.push(a);
                    }
                }
            }
        }
        let neighbours = areas
            .iter()
            .enumerate()
            .map(|(a, f)| {
                area_rings(f)
                    .iter()
                    .map(|ring| {
                        ring.0
                            .windows(2)
                            .map(|seg| {
                                let (p, q) = (key(seg[0]), key(seg[1]));
                                let k = if p <= q { (p, q) } else { (q, p) };
                                owners.get(&k).and_then(|o| o.iter().copied().find(|&b| b != a))
                            })
                            .collect()
                    })
                    .collect()
            })
            .collect();
        Adjacency { neighbours }
    }

    /// Neighbours of area `a`, per ring, per segment.
    pub fn of(&self, a: usize) -> &[Vec<Option<usize>>] {
        self.neighbours.get(a).map(Vec::as_slice).unwrap_or(&[])
    }
}
