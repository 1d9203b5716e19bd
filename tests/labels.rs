//! Label guarantees, year by year: every place a caption names, every battle of the
//! year, every town a route of the year names, and every capital or principal town (rank
//! 5) in view gets a placed label near its place, at A4 150 dpi, A4 300 dpi and 1280×720,
//! over the whole atlas (1635–1771).

use rayon::prelude::*;
use steppe_atlas::data::{CityKind, Geometry, Layer, Source};
use steppe_atlas::project::{LonLatBox, Projection, ProjectionKind, View};
use steppe_atlas::render::vector::SvgOptions;
use steppe_atlas::render::{render_svg, RenderOptions};
use steppe_atlas::style::Style;
use steppe_atlas::time::{EndDates, Year};
use steppe_atlas::Atlas;

/// (name, width px, height px, dpi)
const SIZES: [(&str, u32, u32, f32); 3] =
    [("A4 150 dpi", 1754, 1240, 150.0), ("A4 300 dpi", 3508, 2480, 300.0), ("1280×720", 1280, 720, 96.0)];

/// The ids a year's map must label: the places its captions name (towns, battles, rivers,
/// lakes, landforms, and areas unless a named landform bears the area's name), its
/// battles, the towns its routes name, and the capitals and principal towns in view.
/// Read from the events' `places` lists and the data, not from the renderer.
fn expected(atlas: &Atlas, view: &View, year: Year) -> Vec<(String, &'static str)> {
    let mut out = Vec::new();
    let named: Vec<&str> = atlas
        .data
        .layer(Layer::Events)
        .iter()
        .filter(|e| e.alive(year))
        .flat_map(|e| e.properties.get("places").and_then(|v| v.as_array()).into_iter().flatten())
        .map(|id| id.as_str().expect("place ids are strings"))
        .collect();
    for &id in &named {
        let f = atlas.data.get(id).unwrap_or_else(|| panic!("unknown place {id}"));
        let labelled =
            matches!(f.layer, Layer::Cities | Layer::Battles | Layer::Rivers | Layer::Water | Layer::Landforms);
        // An area is named by its own label, or by a named landform of the same name.
        let area = f.layer == Layer::Territories
            && !named.iter().any(|&o| {
                o != id
                    && atlas.data.get(o).is_some_and(|o| o.layer != Layer::Territories && o.name("en") == f.name("en"))
            });
        if (labelled || area) && f.alive(year) && !out.iter().any(|(o, _)| o == id) {
            out.push((id.to_string(), if area { "an area named by the caption" } else { "named by the caption" }));
        }
    }
    for b in atlas.data.layer(Layer::Battles).iter().filter(|b| b.alive(year)) {
        out.push((b.id.clone(), "a battle of the year"));
    }
    // A town a route of the year names by its English name ("1741 invasion: from Tashkent").
    let routes: Vec<String> = atlas
        .data
        .layer(Layer::Campaigns)
        .iter()
        .filter(|c| c.alive(year))
        .map(|c| format!(" {} ", c.name("en")))
        .collect();
    for c in atlas.data.layer(Layer::Cities).iter().filter(|c| c.alive(year)) {
        let name = c.name("en").split(" (").next().unwrap_or("").trim();
        let named = routes.iter().any(|r| {
            r.match_indices(name).any(|(i, _)| {
                !r[..i].ends_with(char::is_alphanumeric) && !r[i + name.len()..].starts_with(char::is_alphanumeric)
            })
        });
        if named && !out.iter().any(|(o, _)| o == &c.id) {
            out.push((c.id.clone(), "named by a route of the year"));
        }
    }
    for c in atlas
        .data
        .layer(Layer::Cities)
        .iter()
        .filter(|c| c.alive(year) && (c.kind_in(year) == CityKind::Capital || c.rank >= 5))
    {
        if let Geometry::Point(p) = &c.geometry {
            let (x, y) = view.to_px(p.x(), p.y());
            let inside = (0.0..=f64::from(view.width)).contains(&x) && (0.0..=f64::from(view.height)).contains(&y);
            if inside && !out.iter().any(|(o, _)| o == &c.id) {
                out.push((c.id.clone(), "a capital or principal town in view"));
            }
        }
    }
    out
}

#[test]
fn every_promised_label_is_placed_near_its_place_in_every_year_and_size() {
    let atlas = Atlas::load(&Source::Embedded, EndDates::Inclusive).expect("built-in atlas loads");
    let style = Style::load("print").unwrap();
    let bbox = LonLatBox::from_array(atlas.data.default_bbox().unwrap());
    let projection = Projection::fitted(ProjectionKind::Lcc, &bbox);
    let failures: Vec<String> = (1635..=1771)
        .into_par_iter()
        .flat_map_iter(|year| {
            let mut fails = Vec::new();
            for (size, w, h, dpi) in SIZES {
                let view = View::fit(projection, &bbox, w, h);
                let (_, drawn) =
                    render_svg(&atlas, &style, &view, &RenderOptions::frame(Year(year), dpi), &SvgOptions::default());
                for (id, why) in expected(&atlas, &view, Year(year)) {
                    let feat = atlas.data.get(&id).unwrap();
                    // A range's or a lake's area in px (its name stands over it).
                    let area_px = match &feat.geometry {
                        Geometry::Areas(mp) if matches!(feat.layer, Layer::Landforms | Layer::Water) => {
                            use geo::BoundingRect;
                            mp.bounding_rect().map(|b| {
                                let (x0, y0) = view.to_px(b.min().x, b.max().y);
                                let (x1, y1) = view.to_px(b.max().x, b.min().y);
                                [x0.min(x1) as f32, y0.min(y1) as f32, x0.max(x1) as f32, y0.max(y1) as f32]
                            })
                        }
                        _ => None,
                    };
                    let over = |b: [f32; 4], a: [f32; 4]| b[0] < a[2] && b[2] > a[0] && b[1] < a[3] && b[3] > a[1];
                    let Some(label) = drawn.labels.iter().find(|l| l.id.as_deref() == Some(id.as_str())) else {
                        // A range too crowded for its own name may be named by another label
                        // set over it ("Sack of the Karatau towns" on the Karatau).
                        let word = feat.name("en").to_lowercase();
                        let said = area_px.is_some_and(|a| {
                            drawn.labels.iter().any(|l| {
                                let text = l.text.to_lowercase();
                                text.split(|c: char| !c.is_alphanumeric()).any(|w| w == word) && over(l.bbox, a)
                            })
                        });
                        if !said {
                            fails.push(format!("{year} {size}: {id} ({why}) has no label"));
                        }
                        continue;
                    };
                    // A range's or a lake's own name stands over its area (or just beside a
                    // small lake), not beyond it.
                    if let Some(a) = area_px {
                        let (cx, cy) = ((label.bbox[0] + label.bbox[2]) / 2.0, (label.bbox[1] + label.bbox[3]) / 2.0);
                        let off = (a[0] - cx).max(cx - a[2]).max(0.0).hypot((a[1] - cy).max(cy - a[3]).max(0.0));
                        if off > 0.75 * (label.bbox[3] - label.bbox[1]) {
                            fails.push(format!("{year} {size}: {id} labelled at {:?}, off its area {a:?}", label.bbox));
                        }
                    }
                    let b = label.bbox;
                    let inside = b[0] >= 0.0 && b[1] >= 0.0 && b[2] <= w as f32 && b[3] <= h as f32;
                    if !inside {
                        fails.push(format!("{year} {size}: {id} label {b:?} leaves the frame"));
                    }
                    // A town's or battle's label stands near its marker (leader lines included).
                    if let Geometry::Point(p) = &feat.geometry {
                        let (x, y) = view.to_px(p.x(), p.y());
                        let on_map = (0.0..=f64::from(w)).contains(&x) && (0.0..=f64::from(h)).contains(&y);
                        let (x, y) = (x as f32, y as f32);
                        let dx = (b[0] - x).max(x - b[2]).max(0.0);
                        let dy = (b[1] - y).max(y - b[3]).max(0.0);
                        let reach = (b[3] - b[1]) * 9.0;
                        if on_map && dx.hypot(dy) > reach {
                            fails.push(format!("{year} {size}: {id} label is {:.0} px from its place", dx.hypot(dy)));
                        }
                    }
                    // An area's name, or its name without a gloss in brackets.
                    let name = feat.name("en").to_lowercase();
                    let short = name.split_once(" (").map_or(name.as_str(), |(s, _)| s);
                    let text = label.text.to_lowercase();
                    if feat.layer == Layer::Territories && text != name && text != short {
                        fails.push(format!("{year} {size}: area {id} labelled {:?}", label.text));
                    }
                    if feat.layer == Layer::Cities && !label.text.contains(feat.name("en")) {
                        fails.push(format!("{year} {size}: {id} labelled {:?}", label.text));
                    }
                }
                if !drawn.missing.is_empty() {
                    fails.push(format!("{year} {size}: the renderer reports {:?} missing", drawn.missing));
                }
            }
            fails
        })
        .collect();
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn a_named_place_off_the_map_gets_a_pointer_at_the_edge() {
    // 1684: Tauke's son is taken to Lhasa, far south of the map.
    let atlas = Atlas::load(&Source::Embedded, EndDates::Inclusive).unwrap();
    let style = Style::load("print").unwrap();
    let bbox = LonLatBox::from_array(atlas.data.default_bbox().unwrap());
    let view = View::fit(Projection::fitted(ProjectionKind::Lcc, &bbox), &bbox, 1754, 1240);
    let (svg, drawn) =
        render_svg(&atlas, &style, &view, &RenderOptions::frame(Year(1684), 150.0), &SvgOptions::default());
    let lhasa = drawn.labels.iter().find(|l| l.id.as_deref() == Some("lhasa")).expect("Lhasa is labelled");
    assert!(lhasa.text.starts_with("Lhasa (") && lhasa.text.ends_with(" km)"), "{}", lhasa.text);
    // At the bottom edge, towards the place (south-east of the map's centre).
    assert!(lhasa.bbox[3] > 1240.0 * 0.8 && lhasa.bbox[0] > 1754.0 * 0.5, "{:?}", lhasa.bbox);
    // No town marker is drawn for it.
    assert!(!drawn.markers.iter().any(|m| m.0 == "lhasa"));
    assert!(svg.contains("Lhasa ("));
    // Not promised in a year whose captions do not name it.
    let (_, later) =
        render_svg(&atlas, &style, &view, &RenderOptions::frame(Year(1690), 150.0), &SvgOptions::default());
    assert!(!later.labels.iter().any(|l| l.id.as_deref() == Some("lhasa")));
}
