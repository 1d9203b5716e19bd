//! Where the map changed between two map states, so that a run lays out again only the
//! metatiles whose drawing can differ and keeps the tiles of the others.
//!
//! A metatile's drawing reads the features whose envelope meets its query box
//! ([`crate::render::query_box`]), and, across the whole map, three things more: a
//! polity's name is anchored on all the land it holds, a line of forts runs through all its
//! forts, and a border is drawn along the edges a territory shares with its neighbours
//! (its runs and dashes go on along the neighbour's ring). So a changed feature dirties its
//! own envelope, the envelopes of its neighbours, the places where the names of the
//! polities that held it in either state stood and stand ([`NAME_REACH_PX`] around each,
//! at each zoom), and the whole of its line of forts. A polity that begins or ends dirties
//! every feature that names it ([`crate::data::Feature::mentions_polity`]); one that is
//! renamed, where its name stands. A metatile whose query box meets none of these draws
//! the same in both states.

use crate::atlas::{Atlas, MapState};
use crate::data::Layer;
use crate::project::LonLatBox;
use crate::time::Year;
use std::collections::BTreeSet;

/// Where the map of one state may draw differently from the map of another
/// ([`changed`]): lon/lat boxes, and the anchors of polity names that moved, each of
/// which reaches [`NAME_REACH_PX`] px around it at a tile's zoom.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Changed {
    /// `[west, south, east, north]` boxes.
    pub boxes: Vec<[f64; 4]>,
    /// (lon, lat) of polity names, where they stood and where they stand.
    pub names: Vec<(f64, f64)>,
}

/// How far around its anchor a polity's name can change a tile, px at 96 dpi (times a
/// tile's scale): half the widest name, and room for the names it pushes aside (a
/// metatile's query box reaches another 64 pt beyond its image).
pub const NAME_REACH_PX: f64 = 512.0;

impl Changed {
    /// Does a metatile of zoom `z` with query box `query` meet any of the changes?
    pub fn touches(&self, query: &LonLatBox, z: u8) -> bool {
        // Degrees of longitude per px at 256 px tiles; a degree of latitude is longer on
        // the map, so the same number bounds it too.
        let reach = NAME_REACH_PX * 360.0 / (256.0 * 2f64.powi(i32::from(z)));
        self.boxes.iter().any(|b| query.intersects(b))
            || self.names.iter().any(|&(x, y)| query.intersects(&[x - reach, y - reach, x + reach, y + reach]))
    }
}

/// Where the map of `b` may draw differently from the map of `a`; None when anything may
/// differ.
pub fn changed(atlas: &Atlas, a: &MapState, b: &MapState) -> Option<Changed> {
    let years = [Year(a.year), Year(b.year)];
    let areas = atlas.data.layer(Layer::Territories);
    let mut out = Changed::default();
    let boxes = &mut out.boxes;
    let mut polities: BTreeSet<&str> = BTreeSet::new();
    let mut lines: BTreeSet<&str> = BTreeSet::new();
    // A polity that began or ended changes what names it: its land (and its name on it),
    // the land it once held or overlords, its capitals, its battles and routes. One that
    // was only renamed changes its name, where it stands (below).
    let mut renamed: BTreeSet<&str> = BTreeSet::new();
    for (p, only_renamed) in a.changed_polities(b) {
        let id = atlas.data.meta.polities.get(p)?.id.as_str();
        if only_renamed {
            renamed.insert(id);
            continue;
        }
        for layer in Layer::ALL {
            boxes.extend(atlas.data.layer(layer).iter().filter(|f| f.mentions_polity(id)).filter_map(|f| f.bbox()));
        }
    }
    for (layer, i) in a.changed(b) {
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
    // The name of a polity whose land changed is anchored on all its land: where it stood
    // and where it stands, unless its land and its name are the same.
    for &polity in polities.union(&renamed) {
        let land = |y: Year| -> Vec<usize> {
            (0..areas.len())
                .filter(|&i| areas[i].alive(y) && areas[i].holder(y).is_some_and(|h| h.polity == polity))
                .collect()
        };
        let (before, after) = (land(years[0]), land(years[1]));
        if before != after || renamed.contains(polity) {
            for members in [before, after] {
                out.names.extend(atlas.polity_anchor(&members).map(|(p, _)| (p.x(), p.y())));
            }
        }
    }
    if !lines.is_empty() {
        for city in atlas.data.layer(Layer::Cities) {
            if city.fort_line().is_some_and(|l| lines.contains(l)) {
                out.boxes.extend(city.bbox());
            }
        }
    }
    Some(out)
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
        assert_eq!(changed(&atlas, &a, &b), Some(Changed::default()));
    }

    #[test]
    fn a_change_of_hands_dirties_the_land_its_neighbours_and_its_holders_names() {
        // 1723: the Dzungars occupy the western area (and Turkistan in it).
        let atlas = mini();
        let (a, b) = (MapState::of(&atlas, 1722), MapState::of(&atlas, 1723));
        let changed = changed(&atlas, &a, &b).expect("no polity changed");
        for z in [0, 4, 8] {
            // The area itself and the town in it.
            assert!(changed.touches(&query(61.0, 41.0, 62.0, 42.0), z));
            assert!(changed.touches(&query(68.2, 43.2, 68.3, 43.4), z));
        }
        // Far from both areas nothing changed (but at the overview zooms, where the
        // Dzungars' name reaches).
        assert!(!changed.touches(&query(90.0, 55.0, 91.0, 56.0), 8));
        // The Dzungars gained land and the Kazakhs lost it, so their names moved: where
        // they stood and stand is dirty at any zoom; ten degrees east of the Dzungars'
        // old anchor only at the overview zooms, where a name's reach is that wide.
        assert!(changed.names.len() >= 2, "{changed:?}");
        for &(x, y) in &changed.names {
            assert!(changed.touches(&query(x - 0.01, y - 0.01, x + 0.01, y + 0.01), 12));
        }
        let beyond = query(85.0, 44.0, 85.5, 44.5);
        assert!(changed.touches(&beyond, 2));
        assert!(!changed.touches(&beyond, 10));
    }

    #[test]
    fn a_renamed_polity_dirties_where_its_name_stands_and_nothing_else() {
        // 1721: the Tsardom of Russia becomes the Russian Empire; its name is relabelled
        // where it stands, the Tarim basin (Yarkand) is not touched.
        let atlas = Atlas::load(&Source::Embedded, EndDates::default()).expect("built-in atlas loads");
        let (a, b) = (MapState::of(&atlas, 1720), MapState::of(&atlas, 1721));
        let renamed: Vec<(&str, bool)> = a
            .changed_polities(&b)
            .into_iter()
            .map(|(p, only_renamed)| (atlas.data.meta.polities[p].id.as_str(), only_renamed))
            .collect();
        assert_eq!(renamed, [("russia", true)]);
        let changed = changed(&atlas, &a, &b).expect("a rename is located");
        // The name is anchored where Russia's land lies; at z8 it reaches a few degrees.
        let &(x, y) = changed.names.first().expect("the renamed polity's name");
        assert!(changed.touches(&query(x - 0.1, y - 0.1, x + 0.1, y + 0.1), 8));
        assert!(!changed.touches(&query(77.0, 38.2, 77.5, 38.6), 6), "Yarkand");
    }
}
