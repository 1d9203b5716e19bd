//! Tile maps generalise with scale: at the overview zooms a town whose marker would
//! overlap a more important town's is left out (no blot of markers), at the close zooms
//! every town that has room is drawn, and the choice is the same wherever a metatile
//! falls (tiles meet without a seam). A tile map names no lake smaller than its lettering.

use steppe_atlas::data::{CityKind, Geometry, Layer, Source};
use steppe_atlas::project::{Projection, View};
use steppe_atlas::render::{render_map, RenderOptions};
use steppe_atlas::style::Style;
use steppe_atlas::time::{EndDates, Year};
use steppe_atlas::Atlas;

fn atlas() -> Atlas {
    Atlas::load(&Source::Embedded, EndDates::default()).expect("built-in atlas loads")
}

/// Web Mercator metres per pixel at zoom `z` (256 px tiles).
fn m_per_px(z: u8) -> f64 {
    2.0 * std::f64::consts::PI * 6_378_137.0 / (256.0 * f64::from(1u32 << z))
}

/// A tile map's view at zoom `z`: `w`×`h` px with its top left at the Mercator point
/// (`x0`, `y0`) metres, drawn as `tiles` draws a metatile.
fn tile_view(z: u8, (x0, y0): (f64, f64), (w, h): (u32, u32), year: i32) -> (View, RenderOptions) {
    let m = m_per_px(z);
    let ext = [x0, y0 - f64::from(h) * m, x0 + f64::from(w) * m, y0];
    let view = View::fit_projected(Projection::Mercator, ext, w, h);
    let mut opts = RenderOptions::frame(Year(year), 96.0);
    opts.furniture = false;
    opts.seamless_labels = true;
    (view, opts)
}

/// The Mercator top left of the atlas's towns with a margin, metres.
fn towns_corner(atlas: &Atlas) -> (f64, f64) {
    let (mut west, mut north) = (f64::MAX, f64::MIN);
    for c in atlas.data.layer(Layer::Cities) {
        if let Geometry::Point(p) = &c.geometry {
            let (x, y) = Projection::Mercator.forward(p.x(), p.y());
            (west, north) = (west.min(x), north.max(y));
        }
    }
    (west - 300_000.0, north + 300_000.0)
}

/// The drawn town markers of a view, by id.
fn markers(atlas: &Atlas, style: &Style, view: &View, opts: &RenderOptions) -> Vec<(String, f32, f32)> {
    render_map(atlas, style, view, opts).markers
}

#[test]
fn overview_zooms_leave_out_towns_whose_markers_would_overlap() {
    let atlas = atlas();
    let style = Style::load("atlas").expect("atlas style");
    // A city marker is 4.2 pt across at 96 dpi: 5.6 px.
    let diameter = 4.2 * 96.0 / 72.0;
    for year in [1723, 1741] {
        let alive = atlas.data.layer(Layer::Cities).iter().filter(|c| c.alive(Year(year))).count();
        for z in [0u8, 1, 2] {
            let (view, opts) = tile_view(z, towns_corner(&atlas), (512, 512), year);
            let drawn = markers(&atlas, &style, &view, &opts);
            assert!(drawn.len() < alive, "{year} z{z}: all {alive} towns drawn on an overview");
            assert!(drawn.len() >= 4, "{year} z{z}: only {} towns left", drawn.len());
            for (i, a) in drawn.iter().enumerate() {
                for b in &drawn[i + 1..] {
                    let d = (a.1 - b.1).hypot(a.2 - b.2);
                    assert!(d >= diameter, "{year} z{z}: {} and {} drawn {d:.1} px apart", a.0, b.0);
                }
            }
            // The capitals come before the towns: a capital is left out only for another
            // capital or a town taken that year.
            let capitals: Vec<&str> = atlas
                .data
                .layer(Layer::Cities)
                .iter()
                .filter(|c| c.alive(Year(year)) && c.kind_in(Year(year)) == CityKind::Capital)
                .map(|c| c.id.as_str())
                .collect();
            let kept_capitals = drawn.iter().filter(|m| capitals.contains(&m.0.as_str())).count();
            assert!(kept_capitals >= 3, "{year} z{z}: {kept_capitals} capitals drawn");
        }
    }
}

#[test]
fn close_zooms_draw_every_town_that_has_room() {
    let atlas = atlas();
    let style = Style::load("atlas").expect("atlas style");
    let year = 1723;
    let z = 6;
    // The Syr Darya and Jetisu, where the towns are densest: 2,048 px square at zoom 6.
    let (x, y) = Projection::Mercator.forward(66.0, 45.5);
    let (view, opts) = tile_view(z, (x, y), (2048, 2048), year);
    let drawn = markers(&atlas, &style, &view, &opts);
    let inside = |lon: f64, lat: f64| {
        let (px, py) = view.to_px(lon, lat);
        (20.0..2028.0).contains(&px) && (20.0..2028.0).contains(&py)
    };
    let mut checked = 0;
    for c in atlas.data.layer(Layer::Cities).iter().filter(|c| c.alive(Year(year))) {
        let Geometry::Point(p) = &c.geometry else { continue };
        if !inside(p.x(), p.y()) {
            continue;
        }
        // Room: no other town within two marker diameters (12 px) at this zoom.
        let (cx, cy) = view.to_px(p.x(), p.y());
        let crowded = atlas.data.layer(Layer::Cities).iter().any(|o| {
            o.id != c.id
                && o.alive(Year(year))
                && matches!(&o.geometry, Geometry::Point(q) if {
                    let (ox, oy) = view.to_px(q.x(), q.y());
                    (ox - cx).hypot(oy - cy) < 12.0
                })
        });
        if !crowded {
            checked += 1;
            assert!(drawn.iter().any(|m| m.0 == c.id), "{year} z{z}: {} has room but is not drawn", c.id);
        }
    }
    assert!(checked >= 10, "only {checked} towns checked");
}

#[test]
fn the_towns_left_out_are_the_same_wherever_the_metatile_falls() {
    let atlas = atlas();
    let style = Style::load("atlas").expect("atlas style");
    for (year, z) in [(1723, 4u8), (1741, 5)] {
        let (x0, y0) = towns_corner(&atlas);
        let m = m_per_px(z);
        // Two views of the same zoom, the second shifted by 7 px east and 5 px south.
        let (a, opts) = tile_view(z, (x0, y0), (1400, 1000), year);
        let (b, _) = tile_view(z, (x0 + 7.0 * m, y0 - 5.0 * m), (1400, 1000), year);
        let in_both = |x: f32, y: f32| (27.0..1380.0).contains(&x) && (25.0..980.0).contains(&y);
        let ma: Vec<String> =
            markers(&atlas, &style, &a, &opts).into_iter().filter(|m| in_both(m.1, m.2)).map(|m| m.0).collect();
        let mb: Vec<String> = markers(&atlas, &style, &b, &opts)
            .into_iter()
            .filter(|m| in_both(m.1 + 7.0, m.2 + 5.0))
            .map(|m| m.0)
            .collect();
        // Some towns in the overlap are left out at this zoom, so the views have choices to agree on.
        let alive_in_a = atlas
            .data
            .layer(Layer::Cities)
            .iter()
            .filter(|c| c.alive(Year(year)))
            .filter(|c| {
                matches!(&c.geometry, Geometry::Point(p) if {
                    let (x, y) = a.to_px(p.x(), p.y());
                    in_both(x as f32, y as f32)
                })
            })
            .count();
        assert!(ma.len() < alive_in_a, "{year} z{z}: no town left out ({alive_in_a} drawn)");
        let (mut ma, mut mb) = (ma, mb);
        ma.sort();
        mb.sort();
        assert!(ma.len() >= 5, "{year} z{z}: {} towns in the overlap", ma.len());
        assert_eq!(ma, mb, "{year} z{z}: the towns drawn differ between two placements of the view");
    }
}

#[test]
fn a_tile_map_names_no_lake_smaller_than_its_lettering() {
    let atlas = atlas();
    let style = Style::load("atlas").expect("atlas style");
    for year in [1700, 1723] {
        for z in [2u8, 3] {
            let (view, opts) = tile_view(z, towns_corner(&atlas), (1024, 1024), year);
            let drawn = render_map(&atlas, &style, &view, &opts);
            let size_px = style.water.label.size_pt * 96.0 / 72.0;
            let mut small = 0;
            for w in atlas.data.layer(Layer::Water) {
                let Some(b) = w.bbox() else { continue };
                let (x0, y0) = view.to_px(b[0], b[3]);
                let (x1, y1) = view.to_px(b[2], b[1]);
                let named = drawn.labels.iter().any(|l| l.text.contains(w.name("en")));
                if (x1 - x0).max(y1 - y0) < f64::from(size_px) * 0.75 {
                    small += 1;
                    assert!(!named, "{year} z{z}: {} is {:.1} px wide and named", w.id, x1 - x0);
                }
            }
            assert!(small >= 5, "{year} z{z}: only {small} lakes smaller than their lettering");
        }
    }
}
