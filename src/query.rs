//! "What is here in year Y?": every layer's features near a point, nearest first, with
//! who held a city or an area that year. Backs the `query` command and `/api/features`.

use crate::atlas::Atlas;
use crate::data::{Feature, Geometry, Layer};
use crate::project::haversine_km;
use crate::time::Year;
use geo::{Contains, Coord, Point};
use serde_json::{json, Value};

/// Layers that answer a query (events have no lasting place).
const QUERIED: [Layer; 7] = [
    Layer::Cities,
    Layer::Battles,
    Layer::Campaigns,
    Layer::Territories,
    Layer::Rivers,
    Layer::Water,
    Layer::Landforms,
];

/// One hit of a query.
#[derive(Clone, Debug)]
pub struct Hit<'a> {
    /// The feature.
    pub feature: &'a Feature,
    /// Distance from the query point, km (0 inside an area).
    pub distance_km: f64,
}

/// Features active in `year` within `radius_km` of (lon, lat); territories only where they
/// contain the point. Nearest first; ties keep layer order.
pub fn query(atlas: &Atlas, year: Year, lon: f64, lat: f64, radius_km: f64) -> Vec<Hit<'_>> {
    let mut hits = Vec::new();
    let here = Point::new(lon, lat);
    for layer in QUERIED {
        let feats = atlas.data.layer(layer);
        let candidates = if layer == Layer::Territories {
            atlas.index.near(layer, lon, lat, 0.001)
        } else {
            atlas.index.near(layer, lon, lat, radius_km)
        };
        for i in candidates {
            let f = &feats[i];
            if !f.alive(year) {
                continue;
            }
            if layer == Layer::Territories && f.holder(year).is_none() {
                continue;
            }
            let d = distance_km(&f.geometry, here);
            let keep = if layer == Layer::Territories { d == 0.0 } else { d <= radius_km };
            if keep {
                hits.push(Hit { feature: f, distance_km: d });
            }
        }
    }
    hits.sort_by(|a, b| a.distance_km.total_cmp(&b.distance_km));
    hits
}

/// Distance in km from a point to a geometry (0 inside areas).
pub fn distance_km(g: &Geometry, p: Point<f64>) -> f64 {
    match g {
        Geometry::None => f64::INFINITY,
        Geometry::Point(q) => haversine_km((p.x(), p.y()), (q.x(), q.y())),
        Geometry::Lines(ml) => ml.0.iter().map(|l| polyline_km(&l.0, p)).fold(f64::INFINITY, f64::min),
        Geometry::Areas(mp) => {
            if mp.contains(&p) {
                0.0
            } else {
                mp.0.iter()
                    .flat_map(|poly| std::iter::once(poly.exterior()).chain(poly.interiors()))
                    .map(|r| polyline_km(&r.0, p))
                    .fold(f64::INFINITY, f64::min)
            }
        }
    }
}

/// Distance from a point to a polyline, km, in a local equirectangular frame around the
/// point (accurate to well under 1 % within a few hundred km).
fn polyline_km(coords: &[Coord<f64>], p: Point<f64>) -> f64 {
    let k = 6371.0088_f64.to_radians();
    let cos = p.y().to_radians().cos();
    let local = |c: &Coord<f64>| ((c.x - p.x()) * k * cos, (c.y - p.y()) * k);
    let mut best = f64::INFINITY;
    let pts: Vec<(f64, f64)> = coords.iter().map(local).collect();
    if pts.len() == 1 {
        return pts[0].0.hypot(pts[0].1);
    }
    for w in pts.windows(2) {
        let (a, b) = (w[0], w[1]);
        let (dx, dy) = (b.0 - a.0, b.1 - a.1);
        let len2 = dx * dx + dy * dy;
        let t = if len2 > 0.0 { (-(a.0 * dx + a.1 * dy) / len2).clamp(0.0, 1.0) } else { 0.0 };
        let (x, y) = (a.0 + dx * t, a.1 + dy * t);
        best = best.min(x.hypot(y));
    }
    best
}

/// The JSON document of DESIGN's `query` output.
pub fn to_json(hits: &[Hit], year: Year, lon: f64, lat: f64, lang: &str) -> Value {
    let features: Vec<Value> = hits
        .iter()
        .map(|h| {
            let f = h.feature;
            let mut o = serde_json::Map::new();
            o.insert("layer".into(), json!(f.layer.name()));
            o.insert("id".into(), json!(f.id));
            o.insert("name".into(), json!(f.name(lang)));
            o.insert("distance_km".into(), json!((h.distance_km * 100.0).round() / 100.0));
            match f.layer {
                Layer::Cities => {
                    let holder = f.holder(year);
                    o.insert("controlled_by".into(), json!(holder.map(|c| c.polity.as_str())));
                    o.insert("status".into(), json!(holder.map(|c| c.status.name())));
                }
                Layer::Territories => {
                    let holder = f.holder(year);
                    o.insert("polity".into(), json!(holder.map(|c| c.polity.as_str())));
                    o.insert("status".into(), json!(holder.map(|c| c.status.name())));
                    o.insert("overlord".into(), json!(holder.and_then(|c| c.overlord.as_deref())));
                }
                Layer::Campaigns => {
                    o.insert("side".into(), json!(f.side()));
                }
                Layer::Battles => {
                    o.insert("victor".into(), json!(f.victor()));
                }
                _ => {}
            }
            o.insert("properties".into(), Value::Object(f.properties.to_map()));
            Value::Object(o)
        })
        .collect();
    json!({"year": year.0, "lon": lon, "lat": lat, "features": features})
}
