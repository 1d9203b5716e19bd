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

/// The first reason a polygon is invalid, in the words of `geo`'s validation (so that
/// messages do not change), or None. Each ring's self-intersection check queries an
/// R-tree of the ring's segments: O(n log n) for ordinary rings, where geo compares
/// every pair of segments (a 1,000,000-vertex coastline never finished).
pub fn polygon_problem(p: &geo::Polygon<f64>) -> Option<String> {
    use geo::RemoveRepeatedPoints;
    for (i, ring) in std::iter::once(p.exterior()).chain(p.interiors()).enumerate() {
        if ring.0.is_empty() {
            continue;
        }
        let role = if i == 0 { "exterior ring".to_string() } else { format!("interior ring at index {}", i - 1) };
        if ring.remove_repeated_points().0.len() < 4 {
            return Some(format!("{role} must have at least 3 distinct points"));
        }
        if let Some(k) = ring.0.iter().position(|c| !(c.x.is_finite() && c.y.is_finite())) {
            return Some(format!("{role} has a non-finite coordinate at index {k}"));
        }
        if ring_self_intersects(ring) {
            return Some(format!("{role} has a self-intersection"));
        }
    }
    if p.interiors().iter().all(|r| r.0.is_empty()) {
        return None;
    }
    // Holes against the exterior and each other, as geo does it: with relate, which
    // indexes its edges.
    use geo::coordinate_position::CoordPos;
    use geo::dimensions::Dimensions;
    use geo::{PreparedGeometry, Relate};
    let exterior = geo::Polygon::new(p.exterior().clone(), vec![]);
    let prepared_exterior = PreparedGeometry::from(&exterior);
    let holes: Vec<(usize, geo::Polygon<f64>)> = p
        .interiors()
        .iter()
        .enumerate()
        .filter(|(_, r)| !r.0.is_empty())
        .map(|(i, r)| (i, geo::Polygon::new(r.clone(), vec![])))
        .collect();
    for (k, (i, hole)) in holes.iter().enumerate() {
        let prepared_hole = PreparedGeometry::from(hole);
        let m = prepared_exterior.relate(&prepared_hole);
        if !m.is_contains() {
            return Some(format!("interior ring at index {i} is not contained within the polygon's exterior"));
        }
        if m.get(CoordPos::OnBoundary, CoordPos::OnBoundary) == Dimensions::OneDimensional {
            return Some(format!("exterior ring and interior ring at index {i} intersect on a line"));
        }
        for (j, other) in &holes[k + 1..] {
            let m = prepared_hole.relate(other);
            if m.get(CoordPos::Inside, CoordPos::Inside) == Dimensions::TwoDimensional {
                return Some(format!("interior ring at index {i} and interior ring at index {j} intersect on an area"));
            }
            if m.get(CoordPos::OnBoundary, CoordPos::OnBoundary) == Dimensions::OneDimensional {
                return Some(format!("interior ring at index {i} and interior ring at index {j} intersect on a line"));
            }
        }
    }
    None
}

/// Does a line string cross or touch itself? Two segments that meet count unless they
/// follow each other (one's end is the other's start) — geo's rule, so a ring pinched to
/// a figure-eight at a vertex, a bowtie and a ring doubling back on itself all count.
pub fn ring_self_intersects(ring: &geo::LineString<f64>) -> bool {
    use geo::Intersects;
    let segs: Vec<geo::Line<f64>> = ring.lines().collect();
    if segs.len() < 2 {
        return false;
    }
    let entries: Vec<Entry> = segs
        .iter()
        .enumerate()
        .map(|(i, l)| GeomWithData::new(Rectangle::from_corners([l.start.x, l.start.y], [l.end.x, l.end.y]), i))
        .collect();
    let tree = RTree::bulk_load(entries);
    segs.iter().enumerate().any(|(i, a)| {
        let env = AABB::from_corners([a.start.x, a.start.y], [a.end.x, a.end.y]);
        tree.locate_in_envelope_intersecting(&env).any(|e| {
            let j = e.data;
            let b = &segs[j];
            j > i && a.start != b.end && a.end != b.start && a.intersects(b)
        })
    })
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

/// Find T-junctions between territory areas — a vertex of one area lying inside an edge
/// of another that has no vertex there — and insert the missing vertices, so that shared
/// borders consist of identical segments and [`Adjacency`] matches them. Returns, per
/// area, how many vertices were inserted.
pub fn close_t_junctions(areas: &mut [crate::data::Feature]) -> Vec<usize> {
    use geo::{Coord, LineString, MultiPolygon, Polygon};
    use rstar::primitives::GeomWithData;
    const EPS: f64 = 1e-7;
    let key = |c: Coord<f64>| ((c.x * 1e6).round() as i64, (c.y * 1e6).round() as i64);
    let mut points: Vec<GeomWithData<[f64; 2], (i64, i64)>> = Vec::new();
    for f in areas.iter() {
        for ring in area_rings(f) {
            for c in &ring.0 {
                points.push(GeomWithData::new([c.x, c.y], key(*c)));
            }
        }
    }
    let tree = RTree::bulk_load(points);
    let fix_ring = |ring: &LineString<f64>, added: &mut usize| -> LineString<f64> {
        let mut out: Vec<Coord<f64>> = Vec::with_capacity(ring.0.len());
        for seg in ring.0.windows(2) {
            let (p, q) = (seg[0], seg[1]);
            out.push(p);
            let env =
                AABB::from_corners([p.x.min(q.x) - EPS, p.y.min(q.y) - EPS], [p.x.max(q.x) + EPS, p.y.max(q.y) + EPS]);
            let (dx, dy) = (q.x - p.x, q.y - p.y);
            let len2 = dx * dx + dy * dy;
            if len2 == 0.0 {
                continue;
            }
            let mut inner: Vec<(f64, Coord<f64>)> = tree
                .locate_in_envelope_intersecting(&env)
                .filter_map(|g| {
                    let c = Coord { x: g.geom()[0], y: g.geom()[1] };
                    if g.data == key(p) || g.data == key(q) {
                        return None;
                    }
                    let t = ((c.x - p.x) * dx + (c.y - p.y) * dy) / len2;
                    let off = ((c.x - p.x) * dy - (c.y - p.y) * dx).abs() / len2.sqrt();
                    (t > 0.0 && t < 1.0 && off < EPS).then_some((t, c))
                })
                .collect();
            inner.sort_by(|a, b| a.0.total_cmp(&b.0));
            inner.dedup_by(|a, b| key(a.1) == key(b.1));
            *added += inner.len();
            out.extend(inner.into_iter().map(|(_, c)| c));
        }
        if let Some(last) = ring.0.last() {
            out.push(*last);
        }
        LineString::new(out)
    };
    areas
        .iter_mut()
        .map(|f| {
            let mut added = 0;
            if let crate::data::Geometry::Areas(mp) = &f.geometry {
                let fixed = MultiPolygon::new(
                    mp.0.iter()
                        .map(|poly| {
                            Polygon::new(
                                fix_ring(poly.exterior(), &mut added),
                                poly.interiors().iter().map(|r| fix_ring(r, &mut added)).collect(),
                            )
                        })
                        .collect(),
                );
                if added > 0 {
                    f.geometry = crate::data::Geometry::Areas(fixed);
                }
            }
            added
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(pts: &[(f64, f64)]) -> geo::LineString<f64> {
        geo::LineString::from(pts.to_vec())
    }

    #[test]
    fn self_intersection_agrees_with_geo() {
        use geo::Validation;
        let cases = [
            vec![(70.0, 40.0), (80.0, 48.0), (80.0, 40.0), (70.0, 48.0), (70.0, 40.0)], // bowtie
            vec![(0.0, 80.0), (90.0, 80.0), (180.0, 80.0), (-90.0, 80.0), (0.0, 80.0)], // around the pole
            vec![(0.0, 0.0), (2.0, 0.0), (2.0, 2.0), (0.0, 2.0), (0.0, 0.0)],           // square
            vec![(0.0, 0.0), (2.0, 0.0), (1.0, 1.0), (2.0, 2.0), (0.0, 2.0), (1.0, 1.0), (0.0, 0.0)], // pinched
            vec![(0.0, 0.0), (2.0, 0.0), (2.0, 0.0), (2.0, 2.0), (0.0, 0.0)],           // repeated point
            vec![(0.0, 0.0), (4.0, 0.0), (4.0, 4.0), (2.0, 0.0), (0.0, 4.0), (0.0, 0.0)], // touches an edge
        ];
        for pts in cases {
            let r = ring(&pts);
            let poly = geo::Polygon::new(r.clone(), vec![]);
            let geo_says = poly.validation_errors().into_iter().next().map(|e| e.to_string());
            assert_eq!(polygon_problem(&poly), geo_says, "{pts:?}");
        }
        let with_hole = geo::Polygon::new(
            ring(&[(0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (0.0, 10.0), (0.0, 0.0)]),
            vec![ring(&[(20.0, 20.0), (21.0, 20.0), (21.0, 21.0), (20.0, 20.0)])],
        );
        let geo_says = with_hole.validation_errors().into_iter().next().map(|e| e.to_string());
        assert!(geo_says.is_some());
        assert_eq!(polygon_problem(&with_hole), geo_says);
    }

    #[test]
    fn a_million_vertex_ring_validates_fast() {
        // A star-shaped ring whose radius wobbles: valid, and 1,000,000 vertices long.
        let n = 1_000_000;
        let mut pts: Vec<(f64, f64)> = (0..n)
            .map(|i| {
                let t = i as f64 / n as f64 * std::f64::consts::TAU;
                let r = 5.0 + 0.5 * (t * 37.0).sin();
                (70.0 + r * t.cos(), 45.0 + r * t.sin())
            })
            .collect();
        pts.push(pts[0]);
        let t0 = std::time::Instant::now();
        assert_eq!(polygon_problem(&geo::Polygon::new(ring(&pts), vec![])), None);
        assert!(t0.elapsed().as_secs() < 20, "{:?}", t0.elapsed());
    }
    use crate::data::{Dataset, Source};
    use crate::time::EndDates;

    fn areas(json: &str) -> Dataset {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("territories.geojson"), json).unwrap();
        let loaded = Dataset::load(&Source::Dir(dir.path().to_path_buf()), EndDates::Inclusive);
        assert!(loaded.problems.is_empty(), "{:?}", loaded.problems);
        loaded.dataset
    }

    const T_JUNCTION: &str = r#"{"type": "FeatureCollection", "features": [
      {"type": "Feature", "properties": {"id": "west"}, "geometry": {"type": "Polygon",
        "coordinates": [[[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]]]}},
      {"type": "Feature", "properties": {"id": "east-low"}, "geometry": {"type": "Polygon",
        "coordinates": [[[10, 0], [20, 0], [20, 5], [10, 5], [10, 0]]]}},
      {"type": "Feature", "properties": {"id": "east-high"}, "geometry": {"type": "Polygon",
        "coordinates": [[[10, 5], [20, 5], [20, 10], [10, 10], [10, 5]]]}}]}"#;

    #[test]
    fn t_junctions_are_closed_so_shared_edges_match() {
        let mut ds = areas(T_JUNCTION);
        // Before: west's edge (10,0)–(10,10) matches neither eastern half.
        let before = Adjacency::build(&ds);
        assert!(before.of(0)[0].iter().all(|n| n.is_none() || *n == Some(0)));
        let mut layer = ds.layer(Layer::Territories).to_vec();
        let added = close_t_junctions(&mut layer);
        assert_eq!(added, vec![1, 0, 0], "west gets the vertex (10, 5)");
        ds.set_layer(Layer::Territories, layer);
        let after = Adjacency::build(&ds);
        let west = &after.of(0)[0];
        assert!(west.contains(&Some(1)) && west.contains(&Some(2)), "{west:?}");
    }
}
