//! Dataset + style → problems. Sits above both because it needs both: polity ids must be
//! known to the style; geometry must be valid; territory areas should neither overlap
//! nor leave slivers.

use crate::data::{Dataset, Geometry, Layer, Loaded};
use crate::error::{Problem, Severity};
use crate::style::Style;
use geo::{Area, BooleanOps, BoundingRect, Intersects};

/// Unknown polity ids (errors: the style cannot colour them).
pub fn polity_problems(ds: &Dataset, style: &Style) -> Vec<Problem> {
    let mut out: Vec<Problem> = Vec::new();
    for (layer, id, polity) in ds.polity_refs() {
        if style.polity(polity).is_none() {
            let p = Problem::error(
                &layer.file_name(),
                Some(id),
                format!("unknown polity id {polity:?} (not in style {:?})", style.name),
            );
            if !out.contains(&p) {
                out.push(p);
            }
        }
    }
    out
}

/// Invalid polygons and lines: self-intersections, degenerate rings (errors).
pub fn geometry_problems(ds: &Dataset) -> Vec<Problem> {
    let mut out = Vec::new();
    for layer in Layer::ALL {
        for f in ds.layer(layer) {
            let problem = match &f.geometry {
                Geometry::Areas(mp) => mp.0.iter().find_map(crate::index::polygon_problem),
                Geometry::Lines(ml) => {
                    ml.0.iter()
                        .find(|l| l.0.windows(2).all(|w| w[0] == w[1]))
                        .map(|_| "line has no length (all positions equal)".to_string())
                }
                _ => None,
            };
            if let Some(msg) = problem {
                out.push(Problem::error(&layer.file_name(), Some(&f.id), format!("invalid geometry: {msg}")));
            }
        }
    }
    out
}

/// Territory areas that overlap each other, and slivers between neighbouring areas (warnings).
pub fn coverage_problems(ds: &Dataset) -> Vec<Problem> {
    let areas = ds.layer(Layer::Territories);
    let file = Layer::Territories.file_name();
    let mut out = Vec::new();
    // Rings oriented as RFC 7946 asks (exteriors counter-clockwise, holes clockwise):
    // boolean operations read a hole wound like its exterior as more land.
    let oriented: Vec<Option<geo::MultiPolygon<f64>>> = areas
        .iter()
        .map(|a| match &a.geometry {
            Geometry::Areas(mp) if mp.0.iter().all(|p| crate::index::polygon_problem(p).is_none()) => {
                Some(geo::orient::Orient::orient(mp, geo::orient::Direction::Default))
            }
            _ => None,
        })
        .collect();
    let polys: Vec<Option<&geo::MultiPolygon<f64>>> = oriented.iter().map(Option::as_ref).collect();
    // Boolean operations on odd input must not take the validator down.
    let guarded = |f: &dyn Fn() -> f64| std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or(0.0);
    for i in 0..areas.len() {
        let Some(a) = polys[i] else { continue };
        let Some(ra) = a.bounding_rect() else { continue };
        for j in i + 1..areas.len() {
            let Some(b) = polys[j] else { continue };
            let Some(rb) = b.bounding_rect() else { continue };
            if !ra.intersects(&rb) {
                continue;
            }
            let overlap = guarded(&|| a.intersection(b).unsigned_area());
            // ~1 km² at these latitudes.
            if overlap > 1e-4 {
                out.push(Problem::warning(
                    &file,
                    Some(&areas[i].id),
                    format!("overlaps area {} by about {:.0} km²", areas[j].id, overlap * 111.2 * 111.2 * 0.7),
                ));
            }
        }
    }
    let valid: Vec<&geo::MultiPolygon<f64>> = polys.iter().flatten().copied().collect();
    if valid.len() > 1 {
        let union =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| geo::unary_union(valid.iter().copied()))).ok();
        for poly in union.iter().flat_map(|u| u.0.iter()) {
            for hole in poly.interiors() {
                let hp = geo::Polygon::new(hole.clone(), vec![]);
                // What of the hole no area covers (an area may sit inside it as an island).
                let uncovered = match &union {
                    Some(u) => std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| hp.difference(u))).ok(),
                    None => None,
                };
                for gap in uncovered.map(|m| m.0).unwrap_or_else(|| vec![hp.clone()]) {
                    let area = gap.unsigned_area();
                    let perimeter: f64 = std::iter::once(gap.exterior())
                        .chain(gap.interiors())
                        .flat_map(|r| r.0.windows(2).map(|w| (w[1].x - w[0].x).hypot(w[1].y - w[0].y)))
                        .sum();
                    // A sliver is thin (low area for its perimeter) or small; a lake left out
                    // of the partition is neither.
                    let thinness = 4.0 * std::f64::consts::PI * area / perimeter.powi(2).max(1e-12);
                    if area > 1e-9 && (area < 0.05 || thinness < 0.05) {
                        let c = gap.exterior().0.first().map(|c| (c.x, c.y)).unwrap_or((0.0, 0.0));
                        let near = areas
                            .iter()
                            .zip(&polys)
                            .filter(|(_, p)| p.is_some_and(|p| p.bounding_rect().is_some_and(|r| r.intersects(&gap))))
                            .map(|(a, _)| a.id.as_str())
                            .collect::<Vec<_>>()
                            .join(", ");
                        out.push(Problem::warning(
                            &file,
                            Some(near.split(", ").next().unwrap_or("?")),
                            format!(
                                "gap of about {:.0} km² between areas ({near}) near {:.3},{:.3}",
                                area * 111.2 * 111.2 * c.1.to_radians().cos(),
                                c.0,
                                c.1
                            ),
                        ));
                    }
                }
            }
        }
    }
    out
}

/// Territory areas meeting at T-junctions (warnings): the renderer inserts the missing
/// vertices, but the data should share them.
pub fn t_junction_problems(ds: &Dataset) -> Vec<Problem> {
    let mut areas = ds.layer(Layer::Territories).to_vec();
    let added = crate::index::close_t_junctions(&mut areas);
    areas
        .iter()
        .zip(added)
        .filter(|(_, n)| *n > 0)
        .map(|(a, n)| {
            Problem::warning(
                &Layer::Territories.file_name(),
                Some(&a.id),
                format!("{n} vertices of neighbouring areas lie inside its edges (T-junctions); borders need shared vertices"),
            )
        })
        .collect()
}

/// Every problem of a loaded dataset against a style, errors first.
pub fn validate(loaded: &Loaded, style: &Style) -> Vec<Problem> {
    let mut all = loaded.problems.clone();
    all.extend(polity_problems(&loaded.dataset, style));
    all.extend(geometry_problems(&loaded.dataset));
    all.extend(coverage_problems(&loaded.dataset));
    all.extend(t_junction_problems(&loaded.dataset));
    all.sort_by_key(|p| std::cmp::Reverse(p.severity));
    all
}

/// Count (errors, warnings).
pub fn counts(problems: &[Problem]) -> (usize, usize) {
    let errors = problems.iter().filter(|p| p.severity == Severity::Error).count();
    (errors, problems.len() - errors)
}
