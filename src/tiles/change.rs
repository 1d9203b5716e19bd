//! Where the map changed between two map states, so that a run lays out again only the
//! metatiles whose drawing can differ and keeps the tiles of the others.
//!
//! A metatile's drawing reads the features whose envelope meets its query box
//! ([`crate::render::query_box`]), and, across the whole map, three things more: a
//! polity's name is anchored on all the land it holds, a line of forts runs through all its
//! forts, and a border is drawn along the edges a territory shares with its neighbours
//! (its runs and dashes go on along the neighbour's ring). So a changed feature dirties its
//! own envelope, the envelopes of its neighbours, all the land of the polities that held it
//! in either state, and the whole of its line of forts. A metatile whose query box meets
//! none of these boxes draws the same in both states.

use crate::atlas::{Atlas, MapState};
use crate::data::Layer;
use crate::project::LonLatBox;
use crate::time::Year;
use std::collections::BTreeSet;

/// The lon/lat boxes where the map of `b` may draw differently from the map of `a`; None
/// when anything may differ (a polity was renamed, was born or ended).
pub fn changed_boxes(atlas: &Atlas, a: &MapState, b: &MapState) -> Option<Vec<[f64; 4]>> {
    let changed = a.changed(b)?;
    let years = [Year(a.year), Year(b.year)];
    let areas = atlas.data.layer(Layer::Territories);
    let mut boxes = Vec::new();
    let mut polities: BTreeSet<&str> = BTreeSet::new();
    let mut lines: BTreeSet<&str> = BTreeSet::new();
    for (layer, i) in changed {
        let f = &atlas.data.layer(layer)[i];
        boxes.extend(f.bbox);
        match layer {
            Layer::Territories => {
                for y in years {
                    polities.extend(f.holder(y).filter(|_| f.alive(y)).map(|h| h.polity.as_str()));
                }
                for ring in atlas.adjacency.of(i) {
                    boxes.extend(ring.iter().flatten().filter_map(|&j| areas[j].bbox));
                }
            }
            Layer::Cities => lines.extend(f.properties.get("line").and_then(|v| v.as_str())),
            _ => {}
        }
    }
    if !polities.is_empty() {
        for area in areas {
            let held = |y: Year| area.alive(y) && area.holder(y).is_some_and(|h| polities.contains(h.polity.as_str()));
            if years.into_iter().any(held) {
                boxes.extend(area.bbox);
            }
        }
    }
    if !lines.is_empty() {
        for city in atlas.data.layer(Layer::Cities) {
            if city.properties.get("line").and_then(|v| v.as_str()).is_some_and(|l| lines.contains(l)) {
                boxes.extend(city.bbox);
            }
        }
    }
    Some(boxes)
}

/// Does a metatile with query box `query` meet any of `boxes`?
pub fn touches(query: &LonLatBox, boxes: &[[f64; 4]]) -> bool {
    boxes.iter().any(|b| query.intersects(b))
}
