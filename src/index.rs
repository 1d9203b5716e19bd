//! R-trees over each layer's feature envelopes: a frame or tile draws only what its
//! bounds touch, and `query` finds what lies near a point.

use crate::data::{Dataset, Geometry, Layer};
use crate::project::{LonLatBox, EARTH_RADIUS};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{RTree, AABB};
use std::collections::HashMap;
use std::hash::BuildHasherDefault;

type Entry = GeomWithData<Rectangle<[f64; 2]>, usize>;

/// Node sizes of the layer trees: wider than rstar's default (6), so a bulk load partitions
/// fewer levels and a query visits fewer nodes in a layer of 100,000 towns.
struct LayerParams;

impl rstar::RTreeParams for LayerParams {
    const MIN_SIZE: usize = 6;
    const MAX_SIZE: usize = 16;
    const REINSERTION_COUNT: usize = 4;
    type DefaultInsertionStrategy = rstar::RStarInsertionStrategy;
}

/// The point layers' entries: a point and its position in the layer.
type PointEntry = GeomWithData<[f64; 2], usize>;

/// One R-tree per layer, holding each feature's envelope and its position in the layer.
///
/// A layer's tree is built the first time a query needs it: a query whose box holds the
/// whole layer (a map of everything, a low-zoom tile) is answered from the layer's extent
/// without one, so a command that draws the whole map never sorts 100,000 towns.
pub struct Index {
    layers: Vec<LayerIndex>,
}

/// A layer's entries, their extent, and its tree once built.
struct LayerIndex {
    /// `[west, south, east, north]` over every entry (`None`: no entries).
    extent: Option<[f64; 4]>,
    /// The positions of the features that have an envelope, when some have none (`None`:
    /// every feature of the layer has one).
    with_envelope: Option<Vec<usize>>,
    /// The entries, until the tree is built from them.
    entries: std::sync::Mutex<Option<LayerEntries>>,
    tree: std::sync::OnceLock<LayerTree>,
    /// How many features the layer has.
    len: usize,
}

/// A layer's entries: points where every feature of the layer is a point (towns, battles:
/// a point is its own envelope, half the bytes of a box and quicker to sort), else
/// envelopes.
enum LayerEntries {
    Points(Vec<PointEntry>),
    Boxes(Vec<Entry>),
}

/// A layer's tree.
enum LayerTree {
    Points(RTree<PointEntry, LayerParams>),
    Boxes(RTree<Entry, LayerParams>),
}

impl LayerIndex {
    fn new(fs: &[crate::data::Feature]) -> LayerIndex {
        let mut extent: Option<[f64; 4]> = None;
        let mut grow = |b: [f64; 4]| {
            let e = extent.get_or_insert(b);
            *e = [e[0].min(b[0]), e[1].min(b[1]), e[2].max(b[2]), e[3].max(b[3])];
        };
        let entries = if fs.iter().all(|f| matches!(f.geometry, Geometry::Point(_) | Geometry::None)) {
            LayerEntries::Points(
                fs.iter()
                    .enumerate()
                    .filter_map(|(i, f)| match &f.geometry {
                        Geometry::Point(p) => {
                            grow([p.x(), p.y(), p.x(), p.y()]);
                            Some(GeomWithData::new([p.x(), p.y()], i))
                        }
                        _ => None,
                    })
                    .collect(),
            )
        } else {
            LayerEntries::Boxes(
                fs.iter()
                    .enumerate()
                    .filter_map(|(i, f)| {
                        let b = f.bbox()?;
                        grow(b);
                        Some(GeomWithData::new(Rectangle::from_corners([b[0], b[1]], [b[2], b[3]]), i))
                    })
                    .collect(),
            )
        };
        let count = match &entries {
            LayerEntries::Points(e) => e.len(),
            LayerEntries::Boxes(e) => e.len(),
        };
        let with_envelope = (count != fs.len()).then(|| match &entries {
            LayerEntries::Points(e) => e.iter().map(|e| e.data).collect(),
            LayerEntries::Boxes(e) => e.iter().map(|e| e.data).collect(),
        });
        LayerIndex {
            extent,
            with_envelope,
            entries: std::sync::Mutex::new(Some(entries)),
            tree: std::sync::OnceLock::new(),
            len: fs.len(),
        }
    }

    /// The tree, built on first use.
    fn tree(&self) -> &LayerTree {
        self.tree.get_or_init(|| {
            let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner()).take();
            match entries {
                Some(LayerEntries::Points(e)) => LayerTree::Points(RTree::bulk_load_with_params(e)),
                Some(LayerEntries::Boxes(e)) => LayerTree::Boxes(RTree::bulk_load_with_params(e)),
                // Taken only here, inside the once-only initialiser.
                None => LayerTree::Boxes(RTree::new_with_params()),
            }
        })
    }
}

impl Index {
    /// Index every layer of a dataset (features without geometry are left out).
    pub fn build(ds: &Dataset) -> Index {
        Index { layers: Layer::ALL.iter().map(|&layer| LayerIndex::new(ds.layer(layer))).collect() }
    }

    /// Positions (in the layer) of features whose envelope intersects `bbox`, in data order.
    pub fn in_bbox(&self, layer: Layer, bbox: &LonLatBox) -> Vec<usize> {
        let li = &self.layers[layer as usize];
        let Some(ext) = li.extent else { return Vec::new() };
        if bbox.west <= ext[0] && bbox.south <= ext[1] && bbox.east >= ext[2] && bbox.north >= ext[3] {
            // The box holds every envelope: each one meets it.
            return match &li.with_envelope {
                Some(ids) => ids.clone(),
                None => (0..li.len).collect(),
            };
        }
        let env = AABB::from_corners([bbox.west, bbox.south], [bbox.east, bbox.north]);
        let mut hits: Vec<usize> = match li.tree() {
            LayerTree::Points(t) => t.locate_in_envelope_intersecting(&env).map(|e| e.data).collect(),
            LayerTree::Boxes(t) => t.locate_in_envelope_intersecting(&env).map(|e| e.data).collect(),
        };
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
    for (i, ring) in std::iter::once(p.exterior()).chain(p.interiors()).enumerate() {
        if ring.0.is_empty() {
            continue;
        }
        let role = if i == 0 { "exterior ring".to_string() } else { format!("interior ring at index {}", i - 1) };
        if distinct_run_count(&ring.0) < 4 {
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
    // indexes its edges. A hole whose ring meets no edge of the exterior and whose first
    // vertex lies inside it lies wholly inside, touching nothing: relate could find neither
    // problem there, so it is asked only about the other holes.
    use geo::coordinate_position::{CoordPos, CoordinatePosition};
    use geo::dimensions::Dimensions;
    use geo::{PreparedGeometry, Relate};
    let exterior = geo::Polygon::new(p.exterior().clone(), vec![]);
    let mut prepared_exterior = None;
    // Only an edge that meets the box of some hole can meet that hole: a coastline of
    // thousands of edges around a few islands indexes the few edges near them.
    let hole_boxes: Vec<[f64; 4]> = p
        .interiors()
        .iter()
        .filter_map(|r| {
            use geo::BoundingRect;
            r.bounding_rect().map(|b| [b.min().x, b.min().y, b.max().x, b.max().y])
        })
        .collect();
    let near_a_hole = |l: &geo::Line<f64>| {
        let (w, e) = (l.start.x.min(l.end.x), l.start.x.max(l.end.x));
        let (s, n) = (l.start.y.min(l.end.y), l.start.y.max(l.end.y));
        hole_boxes.iter().any(|b| w <= b[2] && b[0] <= e && s <= b[3] && b[1] <= n)
    };
    let edges: Vec<Entry> = p
        .exterior()
        .lines()
        .enumerate()
        .filter(|(_, l)| near_a_hole(l))
        .map(|(i, l)| GeomWithData::new(Rectangle::from_corners([l.start.x, l.start.y], [l.end.x, l.end.y]), i))
        .collect();
    let edges = RTree::bulk_load(edges);
    let exterior_lines: Vec<geo::Line<f64>> = p.exterior().lines().collect();
    let clear_inside = |ring: &geo::LineString<f64>| {
        use geo::Intersects;
        let meets = ring.lines().any(|l| {
            let env = AABB::from_corners([l.start.x, l.start.y], [l.end.x, l.end.y]);
            edges.locate_in_envelope_intersecting(&env).any(|e| exterior_lines[e.data].intersects(&l))
        });
        !meets && exterior.coordinate_position(&ring.0[0]) == CoordPos::Inside
    };
    let holes: Vec<(usize, geo::Polygon<f64>)> = p
        .interiors()
        .iter()
        .enumerate()
        .filter(|(_, r)| !r.0.is_empty())
        .map(|(i, r)| (i, geo::Polygon::new(r.clone(), vec![])))
        .collect();
    for (k, (i, hole)) in holes.iter().enumerate() {
        let mut prepared_hole = None;
        if !clear_inside(hole.exterior()) {
            let prepared_hole = prepared_hole.insert(PreparedGeometry::from(hole));
            let m = prepared_exterior.get_or_insert_with(|| PreparedGeometry::from(&exterior)).relate(&*prepared_hole);
            if !m.is_contains() {
                return Some(format!("interior ring at index {i} is not contained within the polygon's exterior"));
            }
            if m.get(CoordPos::OnBoundary, CoordPos::OnBoundary) == Dimensions::OneDimensional {
                return Some(format!("exterior ring and interior ring at index {i} intersect on a line"));
            }
        }
        for (j, other) in &holes[k + 1..] {
            // Holes whose boxes are apart share no point: neither finding can hold.
            if apart(hole, other) {
                continue;
            }
            let m = prepared_hole.get_or_insert_with(|| PreparedGeometry::from(hole)).relate(other);
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

/// Are the bounding boxes of two polygons apart (no point in common)?
fn apart(a: &geo::Polygon<f64>, b: &geo::Polygon<f64>) -> bool {
    use geo::BoundingRect;
    match (a.bounding_rect(), b.bounding_rect()) {
        (Some(p), Some(q)) => {
            p.max().x < q.min().x || q.max().x < p.min().x || p.max().y < q.min().y || q.max().y < p.min().y
        }
        _ => false,
    }
}

/// The number of points left when consecutive repeated points are dropped (as geo's
/// `remove_repeated_points` counts them), without copying the ring.
fn distinct_run_count(pts: &[geo::Coord<f64>]) -> usize {
    let mut n = 0;
    let mut last: Option<geo::Coord<f64>> = None;
    for &c in pts {
        if last != Some(c) {
            n += 1;
            last = Some(c);
        }
    }
    n
}

/// Does a line string cross or touch itself? Two segments that meet count unless they
/// follow each other (one's end is the other's start) — geo's rule, so a ring pinched to
/// a figure-eight at a vertex, a bowtie and a ring doubling back on itself all count.
///
/// Segments are swept in order of their west end: each is compared with those that start
/// before it ends (and overlap it north–south). A ring whose segments all overlap in
/// longitude (a zigzag) would make that quadratic, so past a budget of comparisons an
/// R-tree of the segments answers instead.
pub fn ring_self_intersects(ring: &geo::LineString<f64>) -> bool {
    use geo::Intersects;
    let segs: Vec<geo::Line<f64>> = ring.lines().collect();
    if segs.len() < 2 {
        return false;
    }
    let meets = |a: &geo::Line<f64>, b: &geo::Line<f64>| a.start != b.end && a.end != b.start && a.intersects(b);
    let west = |l: &geo::Line<f64>| l.start.x.min(l.end.x);
    // (west end, segment), sorted by the west end: the key sits beside the index, so the
    // sort reads no segment.
    let mut order: Vec<(f64, u32)> = segs.iter().enumerate().map(|(i, l)| (west(l), i as u32)).collect();
    order.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
    let mut budget = 64 * segs.len() + 4096;
    for (k, &(_, i)) in order.iter().enumerate() {
        let a = &segs[i as usize];
        let east = a.start.x.max(a.end.x);
        let (south, north) = (a.start.y.min(a.end.y), a.start.y.max(a.end.y));
        for &(b_west, j) in &order[k + 1..] {
            let b = &segs[j as usize];
            if b_west > east {
                break;
            }
            if budget == 0 {
                return ring_self_intersects_indexed(&segs, meets);
            }
            budget -= 1;
            if b.start.y.max(b.end.y) < south || b.start.y.min(b.end.y) > north {
                continue;
            }
            if meets(a, b) {
                return true;
            }
        }
    }
    false
}

fn ring_self_intersects_indexed(
    segs: &[geo::Line<f64>],
    meets: impl Fn(&geo::Line<f64>, &geo::Line<f64>) -> bool,
) -> bool {
    let entries: Vec<Entry> = segs
        .iter()
        .enumerate()
        .map(|(i, l)| GeomWithData::new(Rectangle::from_corners([l.start.x, l.start.y], [l.end.x, l.end.y]), i))
        .collect();
    let tree = RTree::bulk_load(entries);
    segs.iter().enumerate().any(|(i, a)| {
        let env = AABB::from_corners([a.start.x, a.start.y], [a.end.x, a.end.y]);
        tree.locate_in_envelope_intersecting(&env).any(|e| e.data > i && meets(a, &segs[e.data]))
    })
}

/// A coordinate on a grid of 1e-6 degrees (~0.1 m): where shared vertices are the same.
/// `(v * 1e6).round()` without a call into libm, exact for every longitude and latitude.
fn grid(v: f64) -> i64 {
    let s = v * 1e6;
    if s.is_nan() || s.abs() >= 4.0e15 {
        return s.round() as i64;
    }
    let t = s as i64; // toward zero
    let frac = s - t as f64; // exact: |s| < 2^52
    if frac >= 0.5 {
        t + 1
    } else if frac <= -0.5 {
        t - 1
    } else {
        t
    }
}

type GridPoint = (i64, i64);
/// A segment by its grid endpoints, each in one word ([`packed_grid_point`]), the smaller
/// first (either direction matches): a table entry of 24 bytes rather than 40, which the
/// matching of a large dataset's 200,000 segments reads at random.
type SegmentKey = (u64, u64);

fn grid_point(c: geo::Coord<f64>) -> GridPoint {
    (grid(c.x), grid(c.y))
}

/// A grid point in one word: each coordinate in 32 bits, which hold every longitude and
/// latitude on the grid (at most 1.8e8); a coordinate past them (never in checked data) is
/// clamped.
fn packed_grid_point(c: geo::Coord<f64>) -> u64 {
    let half = |v: i64| u64::from(v.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32 as u32);
    half(grid(c.x)) << 32 | half(grid(c.y))
}

fn segment_key(p: geo::Coord<f64>, q: geo::Coord<f64>) -> SegmentKey {
    let (p, q) = (packed_grid_point(p), packed_grid_point(q));
    (p.min(q), p.max(q))
}

/// A hasher for grid keys (FxHash's multiply-rotate): the keys are not chosen by an
/// adversary who could gain from collisions, and SipHash cost more than the matching.
#[derive(Default)]
struct GridHasher(u64);

impl std::hash::Hasher for GridHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(u64::from(*b));
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_i64(&mut self, v: i64) {
        self.write_u64(v as u64);
    }
}

/// No area.
const NOBODY: u32 = u32::MAX;

/// The segments of the areas' rings matched by their grid endpoints (either direction):
/// for each distinct segment the first two areas (in layer order) whose rings have it,
/// and for each segment of each ring, in the order the areas, their rings
/// ([`area_rings`]) and the rings' segments come, which of those it is. Readers walk the
/// rings in that order and look no segment up again.
struct SegmentOwners {
    /// The first two areas of each distinct segment ([`NOBODY`] for none).
    owners: Vec<[u32; 2]>,
    /// Each ring segment's entry in `owners`, in ring order.
    entry: Vec<u32>,
    /// Where each area's segments start in `entry` (one more: the end).
    starts: Vec<usize>,
}

impl SegmentOwners {
    /// The owners of the segments of area `a`'s rings, in ring order.
    fn of_area(&self, a: usize) -> impl Iterator<Item = [u32; 2]> + '_ {
        self.entry[self.starts[a]..self.starts[a + 1]].iter().map(|&e| self.owners[e as usize])
    }
}

/// [`SegmentOwners`] of the areas' rings.
fn segment_owners(areas: &[crate::data::Feature]) -> SegmentOwners {
    let n: usize = areas.iter().flat_map(area_rings).map(|r| r.0.len()).sum();
    let mut index: HashMap<SegmentKey, u32, BuildHasherDefault<GridHasher>> =
        HashMap::with_capacity_and_hasher(n / 2 + 16, Default::default());
    let mut owners: Vec<[u32; 2]> = Vec::with_capacity(n / 2 + 16);
    let mut entry: Vec<u32> = Vec::with_capacity(n);
    let mut starts = Vec::with_capacity(areas.len() + 1);
    for (a, f) in areas.iter().enumerate() {
        starts.push(entry.len());
        let a = a as u32;
        for ring in area_rings(f) {
            for w in ring.0.windows(2) {
                let e = *index.entry(segment_key(w[0], w[1])).or_insert_with(|| {
                    owners.push([a, NOBODY]);
                    (owners.len() - 1) as u32
                });
                let o = &mut owners[e as usize];
                if o[0] != a && o[1] == NOBODY {
                    o[1] = a;
                }
                entry.push(e);
            }
        }
    }
    starts.push(entry.len());
    SegmentOwners { owners, entry, starts }
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

/// For each ring of [`area_rings`], whether it is a hole.
pub fn hole_flags(f: &crate::data::Feature) -> Vec<bool> {
    match &f.geometry {
        crate::data::Geometry::Areas(mp) => {
            mp.0.iter().flat_map(|p| std::iter::once(false).chain(p.interiors().iter().map(|_| true))).collect()
        }
        _ => Vec::new(),
    }
}

impl Adjacency {
    /// Match segments shared by two areas (same endpoints within ~0.1 m, either direction).
    /// Each segment is looked up once, by its endpoints on the grid ([`SegmentOwners`]),
    /// and the neighbours are then read in ring order. Across a segment lies the first
    /// other area (in layer order) that has it.
    pub fn build(ds: &Dataset) -> Adjacency {
        let areas = ds.layer(Layer::Territories);
        Adjacency::of_owners(areas, &segment_owners(areas))
    }

    fn of_owners(areas: &[crate::data::Feature], owners: &SegmentOwners) -> Adjacency {
        use rayon::prelude::*;
        let neighbours = areas
            .par_iter()
            .enumerate()
            .map(|(a, f)| {
                let mut of_area = owners.of_area(a);
                let a = a as u32;
                area_rings(f)
                    .iter()
                    .map(|ring| {
                        (&mut of_area)
                            .take(ring.0.len().saturating_sub(1))
                            .map(|o| {
                                let b = if o[0] != a { o[0] } else { o[1] };
                                (b != NOBODY).then_some(b as usize)
                            })
                            .collect()
                    })
                    .collect()
            })
            .collect();
        Adjacency { neighbours }
    }

    /// [`close_t_junctions`] on `areas` (the territories), then [`Adjacency::build`] of the
    /// result, matching the segments once: the unshared segments that T-junctions are
    /// sought on are those with no neighbour, and unless a vertex is inserted the
    /// neighbours found first stand.
    pub fn close_and_build(areas: &mut [crate::data::Feature]) -> Adjacency {
        Adjacency::find(areas).close(areas)
    }

    /// What [`Adjacency::close_and_build`] reads from `areas` before it changes them: the
    /// neighbours as the areas stand, and the vertices that close their T-junctions.
    /// Found without changing the areas, so alongside other readers of the dataset.
    pub fn find(areas: &[crate::data::Feature]) -> OpenAdjacency {
        let found = Adjacency::of_owners(areas, &segment_owners(areas));
        let mut lonely: Vec<(u32, u32, u32)> = Vec::new();
        for (a, rings) in found.neighbours.iter().enumerate() {
            for (r, ring) in rings.iter().enumerate() {
                lonely.extend(
                    ring.iter().enumerate().filter(|(_, n)| n.is_none()).map(|(s, _)| (a as u32, r as u32, s as u32)),
                );
            }
        }
        let inserts = t_junction_inserts(areas, lonely);
        OpenAdjacency { found, inserts }
    }

    /// Neighbours of area `a`, per ring, per segment.
    pub fn of(&self, a: usize) -> &[Vec<Option<usize>>] {
        self.neighbours.get(a).map(Vec::as_slice).unwrap_or(&[])
    }
}

/// The territories' adjacency before their T-junctions are closed ([`Adjacency::find`]).
pub struct OpenAdjacency {
    /// The neighbours as the areas stand.
    found: Adjacency,
    /// The vertices to insert in unshared segments (see [`t_junction_inserts`]).
    inserts: Inserts,
}

impl OpenAdjacency {
    /// Insert the vertices found into `areas` (the areas this was found on), and the
    /// adjacency of the result.
    pub fn close(self, areas: &mut [crate::data::Feature]) -> Adjacency {
        if insert_vertices(areas, self.inserts).iter().all(|&n| n == 0) {
            return self.found;
        }
        drop(self.found);
        Adjacency::of_owners(areas, &segment_owners(areas))
    }
}

/// Find T-junctions between territory areas — a vertex of one area lying inside an edge
/// of another that has no vertex there — and insert the missing vertices, so that shared
/// borders consist of identical segments and [`Adjacency`] matches them. Returns, per
/// area, how many vertices were inserted.
///
/// Only a segment that no other area shares can hold such a vertex, and the vertex is an
/// end of another unshared segment (the part of the neighbour's border that runs along
/// it): so only those segments are searched, in an R-tree of those ends. In a partition
/// whose neighbours already share their vertices that is the partition's outer edge.
pub fn close_t_junctions(areas: &mut [crate::data::Feature]) -> Vec<usize> {
    let inserts = Adjacency::find(areas).inserts;
    insert_vertices(areas, inserts)
}

/// Vertices to insert: per unshared segment (area, ring, segment), in order along it.
type Inserts = std::collections::BTreeMap<(u32, u32, u32), Vec<geo::Coord<f64>>>;

/// The ends of unshared segments that lie inside the unshared segments `lonely` (area,
/// ring, segment) of `areas`: the vertices that close T-junctions.
fn t_junction_inserts(areas: &[crate::data::Feature], lonely: Vec<(u32, u32, u32)>) -> Inserts {
    use geo::Coord;
    const EPS: f64 = 1e-7;
    let mut inserts = Inserts::new();
    if lonely.is_empty() {
        return inserts;
    }
    // The rings of each area with unshared segments, listed once (an area of many parts
    // has as many rings, and as many segments to look up in them).
    let mut rings_of: rustc_hash::FxHashMap<u32, Vec<&geo::LineString<f64>>> = rustc_hash::FxHashMap::default();
    for &(a, _, _) in &lonely {
        rings_of.entry(a).or_insert_with(|| area_rings(&areas[a as usize]));
    }
    let seg_at = |(a, r, s): (u32, u32, u32)| -> (Coord<f64>, Coord<f64>) {
        let ring = rings_of[&a][r as usize];
        (ring.0[s as usize], ring.0[s as usize + 1])
    };
    let mut ends: Vec<GeomWithData<[f64; 2], GridPoint>> = Vec::with_capacity(lonely.len() * 2);
    for &l in &lonely {
        let (p, q) = seg_at(l);
        ends.push(GeomWithData::new([p.x, p.y], grid_point(p)));
        ends.push(GeomWithData::new([q.x, q.y], grid_point(q)));
    }
    ends.sort_unstable_by_key(|e| e.data);
    ends.dedup_by(|a, b| a.data == b.data);
    let tree = RTree::bulk_load(ends);
    for &l in &lonely {
        let (p, q) = seg_at(l);
        let (dx, dy) = (q.x - p.x, q.y - p.y);
        let len2 = dx * dx + dy * dy;
        if len2 == 0.0 {
            continue;
        }
        let env =
            AABB::from_corners([p.x.min(q.x) - EPS, p.y.min(q.y) - EPS], [p.x.max(q.x) + EPS, p.y.max(q.y) + EPS]);
        let (kp, kq) = (grid_point(p), grid_point(q));
        let mut inner: Vec<(f64, Coord<f64>)> = tree
            .locate_in_envelope_intersecting(&env)
            .filter_map(|g| {
                let c = Coord { x: g.geom()[0], y: g.geom()[1] };
                if g.data == kp || g.data == kq {
                    return None;
                }
                let t = ((c.x - p.x) * dx + (c.y - p.y) * dy) / len2;
                let off = ((c.x - p.x) * dy - (c.y - p.y) * dx).abs() / len2.sqrt();
                (t > 0.0 && t < 1.0 && off < EPS).then_some((t, c))
            })
            .collect();
        if inner.is_empty() {
            continue;
        }
        inner.sort_by(|a, b| a.0.total_cmp(&b.0));
        inner.dedup_by(|a, b| grid_point(a.1) == grid_point(b.1));
        inserts.insert(l, inner.into_iter().map(|(_, c)| c).collect());
    }
    inserts
}

/// Insert `inserts` into `areas`. Returns, per area, how many vertices were inserted.
fn insert_vertices(areas: &mut [crate::data::Feature], inserts: Inserts) -> Vec<usize> {
    use geo::Coord;
    use std::collections::BTreeMap;
    let mut added = vec![0; areas.len()];
    // Rebuild only the polygons whose rings gain vertices.
    // area → ring → (segment, vertices to insert after its start)
    type RingInserts = BTreeMap<u32, Vec<(u32, Vec<Coord<f64>>)>>;
    let mut by_area: BTreeMap<u32, RingInserts> = BTreeMap::new();
    for ((a, r, s), pts) in inserts {
        by_area.entry(a).or_default().entry(r).or_default().push((s, pts));
    }
    for (a, mut rings) in by_area {
        let crate::data::Geometry::Areas(mp) = &mut areas[a as usize].geometry else { continue };
        let mut base = 0u32;
        for poly in mp.0.iter_mut() {
            let n = 1 + poly.interiors().len() as u32;
            if rings.range(base..base + n).next().is_some() {
                let (exterior, holes) =
                    std::mem::replace(poly, geo::Polygon::new(geo::LineString::new(vec![]), vec![])).into_inner();
                let mut fix = |i: u32, ring: geo::LineString<f64>| match rings.remove(&(base + i)) {
                    Some(at) => {
                        added[a as usize] += at.iter().map(|e| e.1.len()).sum::<usize>();
                        with_vertices(ring, at)
                    }
                    None => ring,
                };
                let exterior = fix(0, exterior);
                let holes = holes.into_iter().enumerate().map(|(i, h)| fix(i as u32 + 1, h)).collect();
                *poly = geo::Polygon::new(exterior, holes);
            }
            base += n;
        }
    }
    added
}

/// A ring with vertices inserted after segment starts: `at` holds (segment, vertices).
fn with_vertices(ring: geo::LineString<f64>, mut at: Vec<(u32, Vec<geo::Coord<f64>>)>) -> geo::LineString<f64> {
    at.sort_by_key(|e| e.0);
    let extra: usize = at.iter().map(|e| e.1.len()).sum();
    let mut out = Vec::with_capacity(ring.0.len() + extra);
    let mut next = at.into_iter().peekable();
    for (s, c) in ring.0.into_iter().enumerate() {
        out.push(c);
        if let Some((_, pts)) = next.next_if(|e| e.0 as usize == s) {
            out.extend(pts);
        }
    }
    geo::LineString::new(out)
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
        // Holes inside, touching, crossing, outside, and meeting each other.
        let square = |x0: f64, y0: f64, x1: f64, y1: f64| ring(&[(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]);
        let outer = square(0.0, 0.0, 10.0, 10.0);
        let hole_sets = [
            vec![square(2.0, 2.0, 4.0, 4.0)],                              // clear inside
            vec![square(2.0, 2.0, 4.0, 4.0), square(6.0, 6.0, 8.0, 8.0)],  // two apart
            vec![ring(&[(0.0, 5.0), (2.0, 4.0), (2.0, 6.0), (0.0, 5.0)])], // touches at a point
            vec![square(0.0, 2.0, 2.0, 4.0)],                              // shares an edge
            vec![square(8.0, 2.0, 12.0, 4.0)],                             // crosses the exterior
            vec![square(20.0, 20.0, 22.0, 22.0)],                          // outside
            vec![square(2.0, 2.0, 5.0, 5.0), square(4.0, 4.0, 6.0, 6.0)],  // holes overlap
            vec![square(2.0, 2.0, 4.0, 4.0), square(4.0, 2.0, 6.0, 4.0)],  // holes share an edge
            vec![square(2.0, 2.0, 4.0, 4.0), square(4.0, 4.0, 6.0, 6.0)],  // holes meet at a point
        ];
        for holes in hole_sets {
            let poly = geo::Polygon::new(outer.clone(), holes.clone());
            let geo_says = poly.validation_errors().into_iter().next().map(|e| e.to_string());
            assert_eq!(polygon_problem(&poly), geo_says, "{holes:?}");
        }
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

    /// The first implementation, kept as the reference: every vertex of every area in one
    /// R-tree, every segment searched; neighbours by a hash map of segments.
    fn reference_close(areas: &mut [crate::data::Feature]) -> Vec<usize> {
        use geo::{Coord, LineString, MultiPolygon, Polygon};
        const EPS: f64 = 1e-7;
        let key = |c: Coord<f64>| ((c.x * 1e6).round() as i64, (c.y * 1e6).round() as i64);
        let mut points = Vec::new();
        for f in areas.iter() {
            for ring in area_rings(f) {
                points.extend(ring.0.iter().map(|c| GeomWithData::new([c.x, c.y], key(*c))));
            }
        }
        let tree = RTree::bulk_load(points);
        let fix_ring = |ring: &LineString<f64>, added: &mut usize| -> LineString<f64> {
            let mut out = Vec::new();
            for seg in ring.0.windows(2) {
                let (p, q) = (seg[0], seg[1]);
                out.push(p);
                let (dx, dy) = (q.x - p.x, q.y - p.y);
                let len2 = dx * dx + dy * dy;
                if len2 == 0.0 {
                    continue;
                }
                let env = AABB::from_corners(
                    [p.x.min(q.x) - EPS, p.y.min(q.y) - EPS],
                    [p.x.max(q.x) + EPS, p.y.max(q.y) + EPS],
                );
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
            out.extend(ring.0.last());
            LineString::new(out)
        };
        areas
            .iter_mut()
            .map(|f| {
                let mut added = 0;
                if let crate::data::Geometry::Areas(mp) = &f.geometry {
                    let fixed = MultiPolygon::new(
                        mp.0.iter()
                            .map(|p| {
                                Polygon::new(
                                    fix_ring(p.exterior(), &mut added),
                                    p.interiors().iter().map(|r| fix_ring(r, &mut added)).collect(),
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

    fn reference_neighbours(areas: &[crate::data::Feature]) -> Vec<Vec<Vec<Option<usize>>>> {
        let key = |c: geo::Coord<f64>| ((c.x * 1e6).round() as i64, (c.y * 1e6).round() as i64);
        let seg = |w: &[geo::Coord<f64>]| {
            let (p, q) = (key(w[0]), key(w[1]));
            if p <= q {
                (p, q)
            } else {
                (q, p)
            }
        };
        let mut owners: std::collections::HashMap<_, Vec<usize>> = std::collections::HashMap::new();
        for (a, f) in areas.iter().enumerate() {
            for ring in area_rings(f) {
                for w in ring.0.windows(2) {
                    let list = owners.entry(seg(w)).or_default();
                    if !list.contains(&a) {
                        list.push(a);
                    }
                }
            }
        }
        areas
            .iter()
            .enumerate()
            .map(|(a, f)| {
                area_rings(f)
                    .iter()
                    .map(|r| {
                        r.0.windows(2)
                            .map(|w| owners.get(&seg(w)).and_then(|o| o.iter().copied().find(|&b| b != a)))
                            .collect()
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn in_bbox_finds_what_a_scan_finds() {
        let ds = Dataset::load(&Source::Embedded, EndDates::Inclusive).into_result().expect("the built-in atlas");
        let index = Index::build(&ds);
        let boxes = [
            (60.0, 40.0, 70.0, 45.0),
            (68.0, 43.0, 68.5, 43.5),
            (40.0, 30.0, 100.0, 60.0),
            (0.0, 0.0, 1.0, 1.0),
            (-180.0, -90.0, 180.0, 90.0),
        ];
        for (west, south, east, north) in boxes {
            let bbox = LonLatBox { west, south, east, north };
            for layer in Layer::ALL {
                let scan: Vec<usize> = (0..ds.layer(layer).len())
                    .filter(|&i| {
                        ds.layer(layer)[i]
                            .bbox()
                            .is_some_and(|b| b[0] <= east && west <= b[2] && b[1] <= north && south <= b[3])
                    })
                    .collect();
                assert_eq!(index.in_bbox(layer, &bbox), scan, "{layer:?} in {bbox:?}");
            }
        }
    }

    #[test]
    fn the_built_in_partition_closes_and_matches_as_the_reference_does() {
        let ds = Dataset::load(&Source::Embedded, EndDates::Inclusive).into_result().expect("the built-in atlas");
        // A copy in which every third area gains the midpoint of each edge of its outer
        // ring: its neighbours then meet it at T-junctions.
        let mut areas = ds.layer(Layer::Territories).to_vec();
        for f in areas.iter_mut().step_by(3) {
            if let crate::data::Geometry::Areas(mp) = &mut f.geometry {
                for p in mp.0.iter_mut() {
                    let (ext, holes) =
                        std::mem::replace(p, geo::Polygon::new(geo::LineString::new(vec![]), vec![])).into_inner();
                    let mut pts = Vec::new();
                    for w in ext.0.windows(2) {
                        pts.push(w[0]);
                        pts.push(geo::Coord { x: (w[0].x + w[1].x) / 2.0, y: (w[0].y + w[1].y) / 2.0 });
                    }
                    pts.extend(ext.0.last());
                    *p = geo::Polygon::new(geo::LineString::new(pts), holes);
                }
            }
        }
        let mut inserted = Vec::new();
        for start in [ds.layer(Layer::Territories).to_vec(), areas] {
            let (mut ours, mut theirs, start_copy) = (start.clone(), start.clone(), start);
            let added = close_t_junctions(&mut ours);
            let expected = reference_close(&mut theirs);
            assert_eq!(added, expected);
            inserted.push(added.iter().sum::<usize>());
            let neighbours = reference_neighbours(&theirs);
            // Closing and matching in one go gives the same geometry and neighbours.
            let mut both = start_copy;
            let joint = Adjacency::close_and_build(&mut both);
            for (a, rings) in neighbours.iter().enumerate() {
                assert_eq!(joint.of(a), rings.as_slice(), "area {a}, closed and matched together");
            }
            for (f, g) in both.iter().zip(&theirs) {
                assert_eq!(f.geometry, g.geometry, "{}", f.id);
            }
            let mut ds = ds.clone();
            ds.set_layer(Layer::Territories, ours);
            let adjacency = Adjacency::build(&ds);
            for (a, rings) in neighbours.iter().enumerate() {
                assert_eq!(adjacency.of(a), rings.as_slice(), "area {a}");
            }
            for (f, g) in ds.layer(Layer::Territories).iter().zip(&theirs) {
                assert_eq!(f.geometry, g.geometry, "{}", f.id);
            }
        }
        assert!(inserted[1] > inserted[0] + 100, "the midpoints make T-junctions: {inserted:?}");
    }
}
