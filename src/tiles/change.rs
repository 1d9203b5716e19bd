//! Where the map changed between two map states, so that a run lays out again only the
//! metatiles whose drawing can differ and keeps the tiles of the others.
//!
//! A metatile's drawing reads the features whose envelope meets its query box
//! ([`crate::render::query_box`]), and, across the whole map, three things more: a
//! polity's name is anchored on all the land it holds, a line of forts runs through all its
//! forts, and a border is drawn along the edges a territory shares with its neighbours
//! (its runs and dashes go on along the neighbour's ring). So a changed feature dirties its
//! own envelope, the envelopes of its neighbours, all the land of the polities that held it
//! in either state, and the whole of its line of forts. A polity that begins, ends or is
//! renamed dirties every feature that names it ([`crate::data::Feature::mentions_polity`])
//! and its land. A metatile whose query box meets none of these boxes draws the same in
//! both states.

use crate::atlas::{Atlas, MapState};
use crate::data::Layer;
use crate::project::LonLatBox;
use crate::time::Year;
use std::collections::BTreeSet;

/// The lon/lat boxes where the map of `b` may draw differently from the map of `a`; None
/// when anything may differ.
pub fn changed_boxes(atlas: &Atlas, a: &MapState, b: &MapState) -> Option<Vec<[f64; 4]>> {
    let changed = a.changed(b);
    let years = [Year(a.year), Year(b.year)];
    let areas = atlas.data.layer(Layer::Territories);
    let mut boxes = Vec::new();
    let mut polities: BTreeSet<&str> = BTreeSet::new();
    let mut lines: BTreeSet<&str> = BTreeSet::new();
    // A polity that began, ended or was renamed changes what names it: its land (and
    // its name on it), the land it once held or overlords, its capitals, its battles and
    // routes.
    for p in a.changed_polities(b) {
        let id = atlas.data.meta.polities.get(p)?.id.as_str();
        polities.insert(id);
        for layer in Layer::ALL {
            boxes.extend(atlas.data.layer(layer).iter().filter(|f| f.mentions_polity(id)).filter_map(|f| f.bbox()));
        }
    }
    for (layer, i) in changed {
        let f = &atlas.data.layer(layer)[i];
        boxes.extend(f.bbox());
        match layer {
            Layer::Territories => {
                for y in years {
                    polities.extend(f.holder(y).filter(|_| f.alive(y)).map(|h| h.polity.as_str()));
                }
                for ring in atlas.adjacency.of(i) {
                    boxes.extend(ring.iter().flatten().filter_map(|&j| areas[j].bbox()));
                }
            }
            Layer::Cities => lines.extend(f.fort_line()),
            _ => {}
        }
    }
    if !polities.is_empty() {
        for area in areas {
            let held = |y: Year| area.alive(y) && area.holder(y).is_some_and(|h| polities.contains(h.polity.as_str()));
            if years.into_iter().any(held) {
                boxes.extend(area.bbox());
            }
        }
    }
    if !lines.is_empty() {
        for city in atlas.data.layer(Layer::Cities) {
            if city.fort_line().is_some_and(|l| lines.contains(l)) {
                boxes.extend(city.bbox());
            }
        }
    }
    Some(boxes)
}

/// Does a metatile with query box `query` meet any of `boxes`?
pub fn touches(query: &LonLatBox, boxes: &[[f64; 4]]) -> bool {
    boxes.iter().any(|b| query.intersects(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Source;
    use crate::time::EndDates;

    fn mini() -> Atlas {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/mini");
        Atlas::load(&Source::Dir(dir), EndDates::default()).expect("mini atlas loads")
    }

    fn query(w: f64, s: f64, e: f64, n: f64) -> LonLatBox {
        LonLatBox { west: w, south: s, east: e, north: n }
    }

    #[test]
    fn quiet_years_change_nothing() {
        let atlas = mini();
        let (a, b) = (MapState::of(&atlas, 1710), MapState::of(&atlas, 1711));
        assert_eq!(changed_boxes(&atlas, &a, &b), Some(Vec::new()));
    }

    #[test]
    fn a_change_of_hands_dirties_the_land_its_neighbours_and_its_holders() {
        // 1723: the Dzungars occupy the western area (and Turkistan in it).
        let atlas = mini();
        let (a, b) = (MapState::of(&atlas, 1722), MapState::of(&atlas, 1723));
        let boxes = changed_boxes(&atlas, &a, &b).expect("no polity changed");
        // The area itself and the town in it.
        assert!(touches(&query(61.0, 41.0, 62.0, 42.0), &boxes));
        assert!(touches(&query(68.2, 43.2, 68.3, 43.4), &boxes));
        // The eastern area did not change, but its border with the west runs on along its
        // ring, and its holder (the Dzungars) gained land, so its name may move.
        assert!(touches(&query(75.0, 45.0, 76.0, 46.0), &boxes));
        // Far from both areas nothing changed.
        assert!(!touches(&query(90.0, 55.0, 91.0, 56.0), &boxes));
        assert!(!touches(&query(62.0, 49.0, 63.0, 50.0), &boxes));
    }

    #[test]
    fn a_renamed_polity_dirties_what_names_it_and_nothing_else() {
        // 1721: the Tsardom of Russia becomes the Russian Empire; its land (Tobolsk) is
        // relabelled, the Tarim basin (Yarkand) is not touched.
        let atlas = Atlas::load(&Source::Embedded, EndDates::default()).expect("built-in atlas loads");
        let (a, b) = (MapState::of(&atlas, 1720), MapState::of(&atlas, 1721));
        let renamed: Vec<&str> =
            a.changed_polities(&b).into_iter().map(|p| atlas.data.meta.polities[p].id.as_str()).collect();
        assert_eq!(renamed, ["russia"]);
        let boxes = changed_boxes(&atlas, &a, &b).expect("a rename is located");
        assert!(touches(&query(68.0, 58.0, 68.5, 58.4), &boxes), "Tobolsk");
        assert!(!touches(&query(77.0, 38.2, 77.5, 38.6), &boxes), "Yarkand");
    }
}
