//! Layer painters: territories, water, rivers, landforms, campaigns, battles, cities and
//! the `--compare` highlight. Each draws only what the index returns for the view and
//! queues its labels for the placer.

use super::canvas::{group, Canvas, Ink};
use super::labels::{river_banks, Anchor, LabelJob, LabelPlacer};
use super::paint::{
    area_path, area_rings_px, decimate, fill, polyline_length, polyline_path, polyline_prefix, project_drawn,
    project_line, rings_path, runs_inside, stroke, stroke_path, trim_end,
};
use super::{cased, Frame, Shown};
use crate::data::{CampaignKind, Certainty, CityKind, ControlSpan, Feature, Geometry, Layer, Status};
use crate::index::{area_rings, hole_flags};
use crate::style::{Pattern, Rgba, SideMark};
use crate::time::Year;
use geo::{Area, Centroid, Contains};
use tiny_skia::{FillRule, PathBuilder};

/// Label priorities: higher is placed first.
mod priority {
    pub const BATTLE: i32 = 100;
    pub const CAPTURED: i32 = super::super::labels::SHORT_LEADER;
    pub const CAPITAL: i32 = 80;
    pub const POLITY: i32 = 70;
    pub const CITY: i32 = 40;
    pub const CAMPAIGN: i32 = 35;
    pub const WATER: i32 = 30;
    pub const RIVER: i32 = 20;
    pub const LANDFORM: i32 = 10;
}

/// The holder of each territory area in `year` (None where nobody holds it or it does not exist).
fn area_holders(areas: &[Feature], year: Year) -> Vec<Option<&ControlSpan>> {
    areas.iter().map(|a| if a.alive(year) { a.holder(year) } else { None }).collect()
}

/// The second polity shown by hatching on an area: the overlord of tributary land, the
/// former holder of occupied or contested land.
fn hatch_polity<'a>(f: &Frame, area: &'a Feature, h: &'a ControlSpan) -> Option<&'a str> {
    match h.status {
        Status::Tributary => h.overlord.as_deref(),
        Status::Contested => h.overlord.as_deref().or_else(|| previous_holder(f, area, h)),
        _ => None,
    }
}

/// The last other holder of an area before the span `h`, if that polity still exists in
/// the year shown (a destroyed khanate claims nothing).
fn previous_holder<'a>(f: &Frame, area: &'a Feature, h: &ControlSpan) -> Option<&'a str> {
    area.former_holder(h).filter(|p| f.atlas.data.polity_alive(p, f.opts.year))
}

/// The key of what [`territories`] draws of one polity's land (`members`, by index),
/// for [`Canvas::kept`]: with the view and scale ([`layer_key`]), the polity, and for each
/// area how it is held (status, the second polity its hatching shows, the former holder
/// its inset border shows, whether it changes hands while tweening) and who holds each
/// area across its borders (and whether that one's border is approximate).
fn group_key(
    f: &Frame,
    polity: &str,
    members: &[usize],
    held: &[Option<&ControlSpan>],
    changing: &dyn Fn(usize) -> bool,
) -> u128 {
    let areas = f.atlas.data.layer(Layer::Territories);
    // A polity writes a few bytes for each edge of its land: gathered, hashed at once.
    let mut h = super::Gathered::with_seed(0x7465_7272);
    h.write(&layer_key(f, members).to_le_bytes());
    h.write(&[u8::from(f.territories_first)]);
    let text = |h: &mut super::Gathered, t: Option<&str>| {
        h.write(&[u8::from(t.is_some())]);
        h.write(&(t.map_or(0, str::len) as u64).to_le_bytes());
        h.write(t.unwrap_or("").as_bytes());
    };
    text(&mut h, Some(polity));
    for &i in members {
        let Some(span) = held[i] else { continue };
        h.write(&[span.status as u8, u8::from(changing(i))]);
        text(&mut h, hatch_polity(f, &areas[i], span));
        text(&mut h, previous_holder(f, &areas[i], span));
        for neigh in f.atlas.adjacency.of(i) {
            for n in neigh {
                match n {
                    Some(j) => {
                        text(&mut h, held[*j].map(|o| o.polity.as_str()));
                        h.write(&[u8::from(areas[*j].certainty.is_some())]);
                    }
                    None => h.write(&[2]),
                }
            }
        }
    }
    h.finish_128()
}

/// Draw one polity's land (`members`, by index, held as `held` says): each area's fill,
/// its pattern and its status's hatching (and an occupied area's former border), then its
/// borders, each side just inside its own land. Returns what it drew for the legend, as
/// bits: tributary (1), occupied (2) and contested (4) land, approximate borders (8).
fn polity_land(
    f: &Frame,
    canvas: &mut dyn Canvas,
    polity: &str,
    ps: &crate::style::PolityStyle,
    members: &[usize],
    held: &[Option<&ControlSpan>],
    changing: &dyn Fn(usize) -> bool,
) -> u8 {
    let areas = f.atlas.data.layer(Layer::Territories);
    let ts = &f.style.territories;
    let (spacing, hatch_w) = (f.px(ts.hatch_spacing_pt), f.px(ts.hatch_pt));
    let mut told = 0u8;
    canvas.group(group::TERRITORIES);
    for &i in members {
        let Geometry::Areas(mp) = &areas[i].geometry else { continue };
        let rings = area_rings_px(f.view, mp);
        let Some(path) = rings_path(&rings) else { continue };
        // Areas partition the land and lie on nothing but land: paint the fill already
        // blended with the land colour, as an opaque fill (several times faster).
        if !f.territories_first {
            fill(canvas, &path, ps.fill, ts.fill_opacity);
        } else if !changing(i) {
            fill(canvas, &path, f.style.land.mix(ps.fill, ts.fill_opacity), 1.0);
        }
        canvas.pattern(&rings, ps.pattern, ps.border, spacing, hatch_w);
        let span = held[i].expect("grouped areas are held");
        let overlay = match span.status {
            Status::Tributary => {
                told |= 1;
                hatch_polity(f, &areas[i], span)
                    .and_then(|o| f.style.polity(o))
                    .map(|o| (Pattern::Hatch, o.border, 0.75))
            }
            Status::Occupied => {
                told |= 2;
                // The former holder's border still faintly shown inside the land.
                if let Some(former) = previous_holder(f, &areas[i], span).and_then(|p| f.style.polity(p)) {
                    let w = f.px(ts.border_pt) * 0.8;
                    let inset: Vec<Vec<(f32, f32)>> = rings
                        .iter()
                        .map(|r| {
                            let inward = if signed_area(r) > 0.0 { 1.0 } else { -1.0 };
                            let mut closed = r.clone();
                            closed.extend(r.first().copied());
                            offset_polyline(&closed, w * 2.0 * inward)
                        })
                        .collect();
                    if let Some(p) = rings_path(&inset) {
                        canvas.group(group::BORDERS);
                        stroke_path(canvas, &p, former.border, 0.45, &stroke(w, &[w * 1.5, w * 2.0]));
                        canvas.group(group::TERRITORIES);
                    }
                }
                Some((Pattern::BackHatch, ps.border, 0.55))
            }
            Status::Contested => {
                told |= 4;
                let other = hatch_polity(f, &areas[i], span).and_then(|o| f.style.polity(o));
                Some((Pattern::Cross, other.map(|o| o.border).unwrap_or(ps.border), 0.7))
            }
            _ => None,
        };
        if let Some((kind, color, alpha)) = overlay {
            let c = Rgba(color.0, color.1, color.2, (alpha * 255.0) as u8);
            canvas.pattern(&rings, kind, c, spacing * 1.2, hatch_w);
        }
    }
    // Borders: runs of edges whose neighbour is held by someone else (or nobody), each
    // side drawn just inside its own land in its own colour, so a border between two
    // polities shows both colours and is never stroked twice.
    canvas.group(group::BORDERS);
    let half = f.px(ts.border_pt);
    let mut solid_pb = PathBuilder::new();
    let mut dashed_pb = PathBuilder::new();
    let mut band_pb = PathBuilder::new();
    for &i in members {
        let approx_self = areas[i].certainty.is_some();
        let holes = hole_flags(&areas[i]);
        for ((ring, neigh), &is_hole) in area_rings(&areas[i]).iter().zip(f.atlas.adjacency.of(i)).zip(&holes) {
            let pts = project_line(f.view, &ring.0);
            // Which side is inside: by the ring's orientation, flipped for holes.
            let inward = if (signed_area(&pts) > 0.0) != is_hole { 1.0 } else { -1.0 };
            let mut run: Vec<(f32, f32)> = Vec::new();
            let mut run_dashed = false;
            let flush = |run: &mut Vec<(f32, f32)>,
                         dashed: bool,
                         solid_pb: &mut PathBuilder,
                         dashed_pb: &mut PathBuilder,
                         band_pb: &mut PathBuilder| {
                if run.len() >= 2 {
                    let run = decimate(run, 0.6);
                    if dashed {
                        push_polyline(dashed_pb, &offset_polyline(&run, half / 2.0 * inward));
                        push_polyline(band_pb, &offset_polyline(&run, half * 1.25 * inward));
                    } else {
                        push_polyline(solid_pb, &offset_polyline(&run, half / 2.0 * inward));
                    }
                }
                run.clear();
            };
            for (k, n) in neigh.iter().enumerate() {
                // No border along the data's outer edge (or a coast): only where this
                // holder meets another area held by someone else, or by nobody.
                let other = n.and_then(|j| held[j]);
                let border = n.is_some() && other.is_none_or(|o| o.polity != *polity);
                let dashed = approx_self || n.is_some_and(|j| areas[j].certainty.is_some() && held[j].is_some());
                if !border || dashed != run_dashed {
                    flush(&mut run, run_dashed, &mut solid_pb, &mut dashed_pb, &mut band_pb);
                }
                if border {
                    if run.is_empty() {
                        run.push(pts[k]);
                    }
                    run.push(pts[k + 1]);
                    run_dashed = dashed;
                }
            }
            flush(&mut run, run_dashed, &mut solid_pb, &mut dashed_pb, &mut band_pb);
        }
    }
    if let Some(p) = solid_pb.finish() {
        stroke_path(canvas, &p, ps.border, 1.0, &stroke(half, &[]));
    }
    if let Some(p) = band_pb.finish() {
        // A soft band inside a dashed line: the border was a zone, not a line.
        canvas.stroke_path(&p, Ink::new(ps.border, 0.16), &stroke(half * 2.5, &[]));
    }
    if let Some(p) = dashed_pb.finish() {
        told |= 8;
        let dash: Vec<f32> = ts.approximate_dash_pt.iter().map(|d| f.px(*d)).collect();
        stroke_path(canvas, &p, ps.border, 0.9, &stroke(half, &dash));
    }
    told
}

/// Territories: areas coloured by holder, patterns for status, borders only between
/// different holders (each side stroked in its own colour, clipped to its own land).
pub(crate) fn territories<'a>(f: &Frame<'a>, canvas: &mut dyn Canvas, shown: &mut Shown, jobs: &mut Vec<LabelJob<'a>>) {
    let areas = f.atlas.data.layer(Layer::Territories);
    if areas.is_empty() {
        return;
    }
    let year = f.opts.year;
    let held = area_holders(areas, year);
    let ts = &f.style.territories;
    // Each holder's visible areas, holders in the order of their first area.
    let mut groups: Vec<(&str, Vec<usize>)> = Vec::new();
    let mut group_of: rustc_hash::FxHashMap<&str, usize> = rustc_hash::FxHashMap::default();
    for i in f.visible_in(Layer::Territories) {
        if let Some(h) = held[i] {
            match group_of.get(h.polity.as_str()) {
                Some(&g) => groups[g].1.push(i),
                None => {
                    group_of.insert(h.polity.as_str(), groups.len());
                    groups.push((h.polity.as_str(), vec![i]));
                }
            }
        }
    }
    // For metatiles, each holder's areas anywhere (see below), read in one pass.
    let mut everywhere_of: rustc_hash::FxHashMap<&str, Vec<usize>> = rustc_hash::FxHashMap::default();
    if f.opts.seamless_labels {
        for (i, h) in held.iter().enumerate() {
            if let Some(h) = h.filter(|h| group_of.contains_key(h.polity.as_str())) {
                everywhere_of.entry(h.polity.as_str()).or_default().push(i);
            }
        }
    }
    // While tweening, areas that change hands fade from the old holder's colour to the
    // new one (or from and to bare land).
    let area_fill = |span: Option<&ControlSpan>| {
        span.and_then(|h| f.style.polity(&h.polity)).map(|ps| f.style.land.mix(ps.fill, ts.fill_opacity))
    };
    canvas.group(group::TERRITORIES);
    if let Some((from, t)) = f.opts.blend_from {
        let before = area_holders(areas, from);
        for i in f.visible_in(Layer::Territories) {
            let (old, new) = (before[i], held[i]);
            if old.map(|h| &h.polity) == new.map(|h| &h.polity) || (old.is_none() && new.is_none()) {
                continue;
            }
            let land = f.style.land;
            let c = area_fill(old).unwrap_or(land).mix(area_fill(new).unwrap_or(land), t);
            if let Geometry::Areas(mp) = &areas[i].geometry {
                if let Some(path) = area_path(f.view, mp) {
                    fill(canvas, &path, c, 1.0);
                }
            }
        }
    }
    let changing = |i: usize| {
        f.opts.blend_from.is_some_and(|(from, _)| {
            let old = if areas[i].alive(from) { areas[i].holder(from) } else { None };
            old.map(|h| &h.polity) != held[i].map(|h| &h.polity)
        })
    };
    for (polity, members) in &groups {
        let Some(ps) = f.style.polity(polity) else { continue };
        shown.polity(polity);
        // Most map states draw a polity's land as the last did: a surface that keeps
        // operations takes them from its last drawing of the place when nothing its land
        // and borders depend on changed (who holds each area and how, and who holds
        // the areas across its borders).
        let key = group_key(f, polity, members, &held, &changing);
        let slot = twox_hash::XxHash3_64::oneshot(polity.as_bytes());
        let told = canvas.kept(("territories", slot), key, &mut |canvas| {
            vec![polity_land(f, canvas, polity, ps, members, &held, &changing)]
        });
        let bits = told.first().copied().unwrap_or(0);
        shown.tributary |= bits & 1 != 0;
        shown.occupied |= bits & 2 != 0;
        shown.contested |= bits & 4 != 0;
        shown.approximate |= bits & 8 != 0;
        // The polity's name inside its land.
        // For metatiles the anchor comes from all the polity's land, not only what this
        // view shows, so neighbouring metatiles put the name in the same place.
        let everywhere: Vec<usize> = match everywhere_of.remove(polity) {
            Some(all) => all,
            None => members.clone(),
        };
        if let Some((x, y, px_area)) = polity_anchor(f, &everywhere) {
            let mut style = f.text_style(&f.style.territories.label, 1.0);
            style.color = ps.border.skia(1.0);
            let text = cased(&f.style.territories.label, &f.polity_name(polity, ps)).into_owned();
            let m = f.fonts.measure(&text, &style);
            if px_area > m.width * (m.ascent + m.descent) * 3.0 {
                // Who held the land is the map's first message: the name ranks with the
                // promised labels, after the year's towns and battles, before the rivers.
                jobs.push(LabelJob {
                    priority: super::labels::PROMISED + priority::POLITY - 40,
                    text: text.into(),
                    style,
                    anchor: Anchor::Centre { x, y },
                    id: None,
                    land: everywhere.clone().into_boxed_slice(),
                });
            }
        }
    }
    named_areas(f, jobs);
}

/// The names of the areas a caption names (its `places`), in the landforms' lettering,
/// inside each area: "occupying Fergana" must show where Fergana is, although the map
/// otherwise names the polities that hold land, not the areas. An area is left to any
/// other place the map promises to name with the same words (a region's landform).
fn named_areas<'a>(f: &Frame<'a>, jobs: &mut Vec<LabelJob<'a>>) {
    if f.promised.is_empty() {
        return;
    }
    let areas = f.atlas.data.layer(Layer::Territories);
    let spec = &f.style.landforms;
    for i in f.visible_in(Layer::Territories) {
        let area = &areas[i];
        if !area.alive(f.opts.year) || !f.promised.contains(&area.id) {
            continue;
        }
        let name = area.name(&f.opts.lang);
        if name.trim().is_empty() || !namesakes(f, &area.id, name).is_empty() {
            continue;
        }
        let Some(p) = label_point(area).or_else(|| f.atlas.interior_point(Layer::Territories, i)) else { continue };
        let (x, y) = f.view.to_px(p.x(), p.y());
        let style = f.text_style(spec, 1.0);
        // A gloss in brackets ("Ili valley (Dzungar heartland)") is left out where the
        // whole name would run far beyond the area.
        let wide = area.bbox().map_or(f32::INFINITY, |b| {
            let [x0, y0, x1, y1] = f.px_box(b);
            (x1 - x0).max(y1 - y0)
        });
        let whole = cased(spec, name);
        let text = match name.split_once(" (") {
            Some((short, _)) if !short.trim().is_empty() && f.fonts.measure(&whole, &style).width > wide => {
                cased(spec, short)
            }
            _ => whole,
        };
        jobs.push(LabelJob {
            priority: priority::LANDFORM + 1,
            text,
            style,
            anchor: Anchor::Centre { x: x as f32, y: y as f32 },
            id: Some(area.id.as_str()),
            land: Box::new([i]),
        });
    }
}

/// The other places (not `id`) the map promises to name with `name` (a landform with an
/// area's name): their labels name the area too.
pub(crate) fn namesakes<'s>(f: &'s Frame, id: &str, name: &str) -> Vec<&'s str> {
    f.promised
        .iter()
        .filter(|other| {
            other.as_str() != id
                && f.atlas.data.get(other).is_some_and(|o| {
                    o.layer != Layer::Territories && o.alive(f.opts.year) && o.name(&f.opts.lang) == name
                })
        })
        .map(String::as_str)
        .collect()
}

/// Twice the signed area of a closed pixel ring (positive: interior to the left of travel
/// in these coordinates, i.e. on the side of the normal (-dy, dx)).
fn signed_area(pts: &[(f32, f32)]) -> f32 {
    pts.windows(2).map(|w| w[0].0 * w[1].1 - w[1].0 * w[0].1).sum()
}

/// A polyline moved sideways by `d` px along its left normal (-dy, dx); joins are mitred
/// with the offset capped at twice `d`.
fn offset_polyline(pts: &[(f32, f32)], d: f32) -> Vec<(f32, f32)> {
    let n = pts.len();
    let normal = |a: (f32, f32), b: (f32, f32)| {
        let (dx, dy) = (b.0 - a.0, b.1 - a.1);
        let len = dx.hypot(dy);
        if len < 1e-6 {
            None
        } else {
            Some((-dy / len, dx / len))
        }
    };
    (0..n)
        .map(|i| {
            let before = if i > 0 { normal(pts[i - 1], pts[i]) } else { None };
            let after = if i + 1 < n { normal(pts[i], pts[i + 1]) } else { None };
            let (nx, ny) = match (before, after) {
                (Some(a), Some(b)) => {
                    let (sx, sy) = (a.0 + b.0, a.1 + b.1);
                    let len = sx.hypot(sy);
                    if len < 1e-3 {
                        a
                    } else {
                        // Mitre: scale so the offset lines stay d away from both segments.
                        let cos_half = (len / 2.0).max(0.5);
                        (sx / len / cos_half, sy / len / cos_half)
                    }
                }
                (Some(a), None) | (None, Some(a)) => a,
                (None, None) => (0.0, 0.0),
            };
            (pts[i].0 + nx * d, pts[i].1 + ny * d)
        })
        .collect()
}

fn push_polyline(pb: &mut PathBuilder, pts: &[(f32, f32)]) {
    if let Some(first) = pts.first() {
        pb.move_to(first.0, first.1);
        for p in &pts[1..] {
            pb.line_to(p.0, p.1);
        }
    }
}

/// Where to write a polity's name: the area-weighted centroid of its areas if it falls
/// inside one of them, else the interior point of the largest. Returns (x, y, pixel area).
fn polity_anchor(f: &Frame, members: &[usize]) -> Option<(f32, f32, f32)> {
    let (p, deg2) = f.atlas.polity_anchor(members)?;
    let (x, y) = f.view.to_px(p.x(), p.y());
    // Pixel area from the degree area and the local scale.
    let kmpp = f.view.km_per_px_at(x, y);
    let km2_per_deg2 = 111.2 * 111.2 * p.y().to_radians().cos();
    let px_area = deg2 * km2_per_deg2 / (kmpp * kmpp);
    Some((x as f32, y as f32, px_area as f32))
}

/// Where a polity's name goes on land made of `members` (indices into `areas`): the
/// area-weighted centre of its land if that lies on its land, else a point inside its
/// largest area; with the land's area in square degrees. The raster and the vector tiles'
/// `polity_labels` share it, so print and web name a polity in the same place.
/// `interior` gives a point inside area `i` (a cache of geo's interior point).
pub(crate) fn polity_anchor_lonlat(
    areas: &[Feature],
    members: &[usize],
    interior: impl Fn(usize) -> Option<geo::Point<f64>>,
) -> Option<(geo::Point<f64>, f64)> {
    let mut sum = (0.0, 0.0, 0.0);
    let mut largest: Option<(f64, usize)> = None;
    for &i in members {
        let Geometry::Areas(mp) = &areas[i].geometry else { continue };
        let a = mp.unsigned_area();
        if let Some(c) = mp.centroid() {
            sum = (sum.0 + c.x() * a, sum.1 + c.y() * a, sum.2 + a);
        }
        if largest.is_none_or(|(la, _)| a > la) {
            largest = Some((a, i));
        }
    }
    if sum.2 <= 0.0 {
        return None;
    }
    let centre = geo::Point::new(sum.0 / sum.2, sum.1 / sum.2);
    let inside = members.iter().any(|&i| matches!(&areas[i].geometry, Geometry::Areas(mp) if mp.contains(&centre)));
    let p = if inside { centre } else { interior(largest?.1)? };
    Some((p, sum.2))
}

/// The key of what a layer draws of the features `drawn` (by index, in drawing order)
/// on a frame, for [`Canvas::kept`]: besides the features, only the view, the scale and
/// whether the base is drawn can change between drawings with one style.
fn layer_key(f: &Frame, drawn: &[usize]) -> u128 {
    let v = f.view;
    let mut h = twox_hash::XxHash3_128::with_seed(0x6c61_7972);
    h.write(format!("{:?}", v.projection).as_bytes());
    for n in [v.scale, v.x0, v.y0, f64::from(f.pt)] {
        h.write(&n.to_bits().to_le_bytes());
    }
    h.write(&[v.width.to_le_bytes(), v.height.to_le_bytes()].concat());
    h.write(&[u8::from(f.draw_base)]);
    for &i in drawn {
        h.write(&(i as u64).to_le_bytes());
    }
    h.finish_128()
}

/// Seas and lakes: fill, shore line, italic name.
pub(crate) fn water<'a>(f: &Frame<'a>, canvas: &mut dyn Canvas, jobs: &mut Vec<LabelJob<'a>>) {
    let ws = &f.style.water;
    let feats = f.atlas.data.layer(Layer::Water);
    let drawn: Vec<usize> = f
        .visible_in(Layer::Water)
        .into_iter()
        .filter(|&i| feats[i].alive(f.opts.year) && matches!(feats[i].geometry, Geometry::Areas(_)))
        .collect();
    // Most map states draw the same water: a surface that keeps operations takes it from
    // its last drawing of the place, with which water bodies had a path (1) or not (0).
    let pathed = canvas.kept(("water", 0), layer_key(f, &drawn), &mut |canvas| {
        let mut has = vec![0u8; drawn.len()];
        for (k, &i) in drawn.iter().enumerate().filter(|_| f.draw_base) {
            let Geometry::Areas(mp) = &feats[i].geometry else { continue };
            let Some(path) = area_path(f.view, mp) else { continue };
            has[k] = 1;
            fill(canvas, &path, ws.fill, 1.0);
            stroke_path(canvas, &path, ws.outline, 1.0, &stroke(f.px(ws.outline_pt), &[]));
        }
        has
    });
    for (&i, &pathed) in drawn.iter().zip(&pathed) {
        let feat = &feats[i];
        // A water body drawn without a path (no ring of three points) is not named.
        if f.draw_base && pathed == 0 {
            continue;
        }
        // The larger a water body on the map, the sooner its name is placed (a sea before
        // a lake); a tile map names none smaller than its lettering.
        let size = feat.bbox().map(|b| f.px_box(b)).map(|b| (b[2] - b[0], b[3] - b[1]));
        let Some((w, h)) = size.filter(|s| s.0.is_finite() && s.1.is_finite()) else { continue };
        if f.opts.seamless_labels && w.max(h) < f.px(ws.label.size_pt) {
            continue;
        }
        if let Some(p) = f.atlas.interior_point(Layer::Water, i) {
            let (x, y) = f.view.to_px(p.x(), p.y());
            jobs.push(LabelJob {
                priority: priority::WATER + ((w * h).max(1.0).log10() as i32).clamp(0, 4),
                text: cased(&ws.label, feat.name(&f.opts.lang)),
                style: f.text_style(&ws.label, 1.0),
                anchor: Anchor::Centre { x: x as f32, y: y as f32 },
                id: Some(feat.id.as_str()),
                land: Box::default(),
            });
        }
    }
}

/// Rivers by rank (minor ones only when zoomed in), names along their course.
pub(crate) fn rivers<'a>(
    f: &Frame<'a>,
    canvas: &mut dyn Canvas,
    placer: &mut LabelPlacer,
    jobs: &mut Vec<LabelJob<'a>>,
) {
    let rs = &f.style.rivers;
    let kmpp = f.view.km_per_px_at(f64::from(f.view.width) / 2.0, f64::from(f.view.height) / 2.0);
    let max_rank = if kmpp > 8.0 { 2 } else { 3 };
    let frame_rect = [0.0, 0.0, f.view.width as f32, f.view.height as f32];
    // Where a name can stand across a river from its symbol: the image and a margin.
    let m = f.px(72.0);
    let near = [-m, -m, frame_rect[2] + m, frame_rect[3] + m];
    let feats = f.atlas.data.layer(Layer::Rivers);
    let mut visible = f.visible_in(Layer::Rivers);
    // Minor rivers first, so major ones draw on top at confluences.
    visible.sort_by_key(|&i| std::cmp::Reverse(feats[i].rank));
    // A river the map promises to name is drawn at any scale.
    let drawn: Vec<usize> = visible
        .into_iter()
        .filter(|&i| {
            let feat = &feats[i];
            let promised = f.promised.contains(&feat.id);
            feat.alive(f.opts.year)
                && (feat.rank <= max_rank || promised)
                && matches!(feat.geometry, Geometry::Lines(_))
        })
        .collect();
    // Most map states draw the same rivers: a surface that keeps operations takes them
    // from its last drawing of the place, with what the drawing found for the labels:
    // each river's banks (main rivers) and its longest run inside the image.
    let told = canvas.kept(("rivers", 0), layer_key(f, &drawn), &mut |canvas| {
        let mut told = Vec::new();
        for &i in &drawn {
            let feat = &feats[i];
            let Geometry::Lines(ml) = &feat.geometry else { continue };
            let width = f.px(rs.widths_pt[usize::from(feat.rank.clamp(1, 3) - 1)]);
            let (mut banks, mut longest) = (Vec::new(), Vec::new());
            for line in &ml.0 {
                let pts = project_drawn(f.view, &line.0);
                if let (true, Some(path)) = (f.draw_base, polyline_path(&pts)) {
                    stroke_path(canvas, &path, rs.color, 1.0, &stroke(width, &[]));
                }
                // A main river's banks: a town's name stays on its own side where it can.
                if feat.rank <= 2 {
                    banks.extend(river_banks(&pts, near).into_iter().flatten());
                }
                for run in runs_inside(&pts, frame_rect) {
                    if polyline_length(&run) > polyline_length(&longest) {
                        longest = run;
                    }
                }
            }
            put_points(&mut told, &banks);
            put_points(&mut told, &longest);
        }
        told
    });
    let mut told = told.as_slice();
    for &i in &drawn {
        let feat = &feats[i];
        let banks = take_points(&mut told);
        placer.add_banks(banks.as_chunks::<2>().0);
        let longest = take_points(&mut told);
        let promised = f.promised.contains(&feat.id);
        if (feat.rank <= rs.label_max_rank || promised) && longest.len() >= 2 {
            jobs.push(LabelJob {
                priority: priority::RIVER + 3 - i32::from(feat.rank),
                text: cased(&rs.label, feat.name(&f.opts.lang)),
                style: f.text_style(&rs.label, 1.0),
                anchor: Anchor::Path { pts: longest, repeat: true },
                id: Some(feat.id.as_str()),
                land: Box::default(),
            });
        }
    }
}

/// Append points to bytes: their count, then each x and y (little-endian f32 bits).
fn put_points(out: &mut Vec<u8>, pts: &[(f32, f32)]) {
    out.extend_from_slice(&(pts.len() as u32).to_le_bytes());
    for p in pts {
        out.extend_from_slice(&p.0.to_bits().to_le_bytes());
        out.extend_from_slice(&p.1.to_bits().to_le_bytes());
    }
}

/// The points [`put_points`] wrote at the start of `bytes`, which move past them (none
/// when the bytes run out).
fn take_points(bytes: &mut &[u8]) -> Vec<(f32, f32)> {
    let Some((n, rest)) = bytes.split_first_chunk::<4>() else { return Vec::new() };
    let n = (u32::from_le_bytes(*n) as usize).min(rest.len() / 8);
    let (points, rest) = rest.split_at(8 * n);
    // Read whole: a layout takes the points of every river it draws, state after state.
    let pts = points
        .as_chunks::<8>()
        .0
        .iter()
        .map(|p| (f32::from_le_bytes([p[0], p[1], p[2], p[3]]), f32::from_le_bytes([p[4], p[5], p[6], p[7]])))
        .collect();
    *bytes = rest;
    pts
}

/// Landforms: mountain areas get a tint (the style's `relief`); every landform gets its
/// name, at its `label_point` when it gives one, else at its point or inside its area.
pub(crate) fn landforms<'a>(f: &Frame<'a>, canvas: &mut dyn Canvas, shown: &mut Shown, jobs: &mut Vec<LabelJob<'a>>) {
    let spec = &f.style.landforms;
    let relief = &f.style.relief;
    for i in f.visible_in(Layer::Landforms) {
        let feat = &f.atlas.data.layer(Layer::Landforms)[i];
        if !feat.alive(f.opts.year) {
            continue;
        }
        if let (Geometry::Areas(mp), Some("mountains"), true) = (&feat.geometry, feat.kind(), relief.opacity > 0.0) {
            if let Some(path) = area_path(f.view, mp) {
                canvas.fill_path(&path, Ink::new(relief.fill, relief.opacity), FillRule::EvenOdd);
                shown.relief = true;
            }
        }
        let p = label_point(feat).or(match &feat.geometry {
            Geometry::Point(p) => Some(*p),
            _ => f.atlas.interior_point(Layer::Landforms, i),
        });
        if let Some(p) = p {
            let (x, y) = f.view.to_px(p.x(), p.y());
            let big = matches!(feat.kind(), Some("region") | Some("steppe"));
            jobs.push(LabelJob {
                priority: priority::LANDFORM + i32::from(big),
                text: cased(spec, feat.name(&f.opts.lang)),
                style: f.text_style(spec, 1.0),
                anchor: Anchor::Centre { x: x as f32, y: y as f32 },
                id: Some(feat.id.as_str()),
                land: Box::default(),
            });
        }
    }
}

/// A feature's `label_point` property (`[lon, lat]`): where its name goes.
pub(crate) fn label_point(feat: &Feature) -> Option<geo::Point<f64>> {
    let v = feat.properties.get("label_point")?.as_array()?;
    match (v.first()?.as_f64(), v.get(1)?.as_f64()) {
        (Some(x), Some(y)) if x.is_finite() && y.is_finite() && x.abs() <= 180.0 && y.abs() <= 90.0 => {
            Some(geo::Point::new(x, y))
        }
        _ => None,
    }
}

/// Campaign routes: arrows in the side's colour, tapered advances, dashed retreats,
/// dotted raids, broad pale bands for flights.
pub(crate) fn campaigns<'a>(f: &Frame<'a>, canvas: &mut dyn Canvas, shown: &mut Shown, jobs: &mut Vec<LabelJob<'a>>) {
    let cs = &f.style.campaigns;
    let feats = f.atlas.data.layer(Layer::Campaigns);
    let mut visible = f.visible_in(Layer::Campaigns);
    // Flights underneath armies.
    visible.sort_by_key(|&i| feats[i].campaign_kind != CampaignKind::Flight);
    for i in visible {
        let feat = &feats[i];
        if !feat.alive(f.opts.year) {
            continue;
        }
        let Geometry::Lines(ml) = &feat.geometry else { continue };
        let Some(line) = ml.0.first() else { continue };
        let side = feat.side().as_deref().and_then(|s| f.style.polity(s));
        let color = side.map(|p| p.border).unwrap_or(Rgba(80, 80, 80, 255));
        let ink = RouteInk { color, core: f.style.halo, mark: side.map(|p| p.mark).unwrap_or_default() };
        if let Some(s) = feat.side() {
            if side.is_some() {
                shown.fighter(s);
            }
        }
        let full = project_line(f.view, &line.0);
        let pts = polyline_prefix(&full, f.opts.route_progress);
        if pts.len() < 2 || polyline_length(&pts) < 1.0 {
            continue;
        }
        shown.campaign_kinds.insert(feat.campaign_kind);
        let w = f.px(cs.width_pt);
        let arrow = f.px(cs.arrow_pt);
        let body = trim_end(&pts, arrow * 0.8);
        // A route the sources do not trace: a dash-dot line, whatever its kind.
        let assumed = feat.properties.get("route").and_then(|v| v.as_str()) == Some("assumed")
            && feat.campaign_kind != CampaignKind::Flight;
        if assumed {
            shown.assumed_route = true;
        }
        let band = (f.px(cs.flight_width_pt), cs.flight_opacity);
        route(canvas, &ink, feat.campaign_kind, assumed, &pts, &body, w, arrow, band);
        if f.opts.route_progress >= 1.0 {
            let mut parts: Vec<String> = Vec::new();
            let short = short_route_name(feat.name(&f.opts.lang));
            // In another language a commander's name (given in Latin letters) gives way to
            // the route's translated name.
            let translated = f.opts.lang != "en" && feat.name(&f.opts.lang) != feat.name("en");
            match feat.commanders().first() {
                Some(c) if !translated => parts.push(c.clone()),
                _ if short.chars().count() < 44 && !short.is_empty() => parts.push(short.to_string()),
                _ => {}
            }
            if let Some(s) = feat.strength() {
                parts.push(s.label_in(&f.opts.lang));
            }
            if let Some(d) = feat.date_label() {
                parts.push(d.clone());
            }
            let mut style = f.text_style(&cs.label, 1.0);
            style.color = color.skia(1.0);
            jobs.push(LabelJob {
                priority: priority::CAMPAIGN,
                text: cased(&cs.label, &parts.join(" · ")).into_owned().into(),
                style,
                anchor: Anchor::Path { pts: body, repeat: false },
                id: Some(feat.id.as_str()),
                land: Box::default(),
            });
        }
    }
}

/// A route's name for its label: what follows a heading ("Barefooted Flight: Senior Jüz
/// to the Pamirs (1723)" → "Senior Jüz to the Pamirs"), without a year in brackets that
/// the label shows anyway.
fn short_route_name(name: &str) -> &str {
    let name = name.rsplit_once(": ").map_or(name, |(_, rest)| rest);
    match name.rsplit_once(" (") {
        Some((head, tail))
            if tail.trim_end_matches(')').chars().all(|c| c.is_ascii_digit() || c == '–' || c == '-') =>
        {
            head
        }
        _ => name,
    }
}

/// Dash-dot of an assumed route, in line widths.
pub(crate) const ASSUMED_DASH: [f32; 4] = [4.0, 1.8, 0.01, 1.8];

/// Is the place of this town or battle unknown (`"location": "approximate"`)?
fn place_approximate(feat: &Feature) -> bool {
    feat.properties.get("location").and_then(|v| v.as_str()) == Some("approximate")
}

/// A filled polygon along a polyline whose width goes from `w0` to `w1`.
fn tapered(pts: &[(f32, f32)], w0: f32, w1: f32) -> Option<tiny_skia::Path> {
    let n = pts.len();
    if n < 2 {
        return None;
    }
    let total = polyline_length(pts).max(1e-3);
    let mut acc = 0.0;
    let mut left = Vec::with_capacity(n);
    let mut right = Vec::with_capacity(n);
    for i in 0..n {
        if i > 0 {
            acc += (pts[i].0 - pts[i - 1].0).hypot(pts[i].1 - pts[i - 1].1);
        }
        let a = pts[i.saturating_sub(1)];
        let b = pts[(i + 1).min(n - 1)];
        let (dx, dy) = (b.0 - a.0, b.1 - a.1);
        let len = dx.hypot(dy).max(1e-6);
        let (nx, ny) = (-dy / len, dx / len);
        let half = (w0 + (w1 - w0) * acc / total) / 2.0;
        left.push((pts[i].0 + nx * half, pts[i].1 + ny * half));
        right.push((pts[i].0 - nx * half, pts[i].1 - ny * half));
    }
    let mut pb = PathBuilder::new();
    pb.move_to(left[0].0, left[0].1);
    for p in &left[1..] {
        pb.line_to(p.0, p.1);
    }
    for p in right.iter().rev() {
        pb.line_to(p.0, p.1);
    }
    pb.close();
    pb.finish()
}

/// How a side's routes are inked: its colour, the core colour of cased and striped
/// lines, and its mark.
pub(crate) struct RouteInk {
    pub color: Rgba,
    pub core: Rgba,
    pub mark: SideMark,
}

impl RouteInk {
    /// Stroke a route line `w` px wide with `dash`, marked as the side is.
    fn stroke(&self, canvas: &mut dyn Canvas, path: &tiny_skia::Path, opacity: f32, w: f32, dash: &[f32]) {
        match self.mark {
            SideMark::Solid => stroke_path(canvas, path, self.color, opacity, &stroke(w, dash)),
            SideMark::Cased => {
                stroke_path(canvas, path, self.color, opacity, &stroke(w * 2.0, dash));
                stroke_path(canvas, path, self.core, 1.0, &stroke(w * 0.8, dash));
            }
            SideMark::Striped => {
                stroke_path(canvas, path, self.color, opacity, &stroke(w * 1.7, dash));
                let core = if dash.is_empty() { vec![w * 1.6, w * 1.6] } else { dash.to_vec() };
                stroke_path(canvas, path, self.core, 1.0, &stroke(w * 0.55, &core));
            }
        }
    }

    /// Fill a tapered advance from `w0` to `w1` px wide along `body`, marked.
    fn tapered(&self, canvas: &mut dyn Canvas, body: &[(f32, f32)], w0: f32, w1: f32, opacity: f32) {
        let grow = if self.mark == SideMark::Solid { 1.0 } else { 1.6 };
        if let Some(p) = tapered(body, w0 * grow, w1 * grow) {
            canvas.fill_path(&p, Ink::new(self.color, opacity), FillRule::Winding);
        }
        match self.mark {
            SideMark::Solid => {}
            SideMark::Cased => {
                if let Some(p) = tapered(body, w0 * 0.5, w1 * 0.5) {
                    canvas.fill_path(&p, Ink::new(self.core, 1.0), FillRule::Winding);
                }
            }
            SideMark::Striped => {
                if let Some(p) = polyline_path(body) {
                    stroke_path(canvas, &p, self.core, 1.0, &stroke(w1 * 0.5, &[w1 * 1.6, w1 * 1.6]));
                }
            }
        }
    }

    /// An arrowhead `len` px long at the end of `pts`, marked.
    fn arrowhead(&self, canvas: &mut dyn Canvas, pts: &[(f32, f32)], len: f32, opacity: f32) {
        let Some((p, tip, (ux, uy))) = arrow_path(pts, len) else { return };
        match self.mark {
            SideMark::Solid => canvas.fill_path(&p, Ink::new(self.color, opacity), FillRule::Winding),
            SideMark::Cased => {
                canvas.fill_path(&p, Ink::new(self.core, 1.0), FillRule::Winding);
                stroke_path(canvas, &p, self.color, opacity, &stroke(len * 0.14, &[]));
            }
            SideMark::Striped => {
                canvas.fill_path(&p, Ink::new(self.color, opacity), FillRule::Winding);
                // A white eye in the head.
                let c = (tip.0 - ux * len * 0.55, tip.1 - uy * len * 0.55);
                if let Some(r) = tiny_skia::PathBuilder::from_circle(c.0, c.1, len * 0.13) {
                    canvas.fill_path(&r, Ink::new(self.core, 1.0), FillRule::Winding);
                }
            }
        }
    }
}

/// Draw one route: its body by kind (or dash-dot when assumed) and its arrowhead.
#[allow(clippy::too_many_arguments)]
pub(crate) fn route(
    canvas: &mut dyn Canvas,
    ink: &RouteInk,
    kind: CampaignKind,
    assumed: bool,
    pts: &[(f32, f32)],
    body: &[(f32, f32)],
    w: f32,
    arrow: f32,
    (band, band_opacity): (f32, f32),
) {
    if assumed {
        if let Some(p) = polyline_path(body) {
            ink.stroke(canvas, &p, 0.9, w * 1.2, &ASSUMED_DASH.map(|d| d * w));
        }
        ink.arrowhead(canvas, pts, arrow * 0.85, 0.9);
        return;
    }
    match kind {
        CampaignKind::Advance => {
            ink.tapered(canvas, body, w * 1.6, w * 0.9, 0.9);
            ink.arrowhead(canvas, pts, arrow, 0.9);
        }
        CampaignKind::Retreat => {
            if let Some(p) = polyline_path(body) {
                ink.stroke(canvas, &p, 0.9, w, &[w * 3.0, w * 2.0]);
            }
            ink.arrowhead(canvas, pts, arrow * 0.85, 0.9);
        }
        CampaignKind::Raid => {
            if let Some(p) = polyline_path(body) {
                ink.stroke(canvas, &p, 0.9, w * 1.1, &[0.01, w * 2.2]);
            }
            ink.arrowhead(canvas, pts, arrow * 0.85, 0.9);
        }
        CampaignKind::Flight => {
            if let Some(p) = polyline_path(&trim_end(pts, arrow * 1.4)) {
                stroke_path(canvas, &p, ink.color, band_opacity, &stroke(band, &[]));
            }
            if let Some(p) = polyline_path(body) {
                ink.stroke(canvas, &p, 0.7, w * 0.6, &[w * 2.0, w * 1.5]);
            }
            ink.arrowhead(canvas, pts, (band * 1.1).max(arrow), band_opacity + 0.2);
        }
    }
}

/// A point or a direction in pixels.
type Px = (f32, f32);

/// A triangular arrowhead `len` px long at the end of a polyline, pointing along its last
/// stretch: the path, the tip and the unit direction.
fn arrow_path(pts: &[(f32, f32)], len: f32) -> Option<(tiny_skia::Path, Px, Px)> {
    let &tip = pts.last()?;
    // Direction from a point about one arrow length back.
    let mut back = pts[0];
    let mut acc = 0.0;
    for w in pts.windows(2).rev() {
        acc += (w[1].0 - w[0].0).hypot(w[1].1 - w[0].1);
        back = w[0];
        if acc >= len {
            break;
        }
    }
    let (dx, dy) = (tip.0 - back.0, tip.1 - back.1);
    let d = dx.hypot(dy);
    if d < 1e-3 {
        return None;
    }
    let (ux, uy) = (dx / d, dy / d);
    let base = (tip.0 - ux * len, tip.1 - uy * len);
    let half = len * 0.5;
    let mut pb = PathBuilder::new();
    pb.move_to(tip.0, tip.1);
    pb.line_to(base.0 - uy * half, base.1 + ux * half);
    pb.line_to(base.0 + ux * len * 0.2, base.1 + uy * len * 0.2);
    pb.line_to(base.0 + uy * half, base.1 - ux * half);
    pb.close();
    Some((pb.finish()?, tip, (ux, uy)))
}

/// A battle star of radius `r` at (x, y) for a victory of `victor` (the legend's sample).
pub(crate) fn victory_mark(
    f: &Frame,
    canvas: &mut dyn Canvas,
    (x, y, r): (f32, f32, f32),
    victor: &crate::style::PolityStyle,
) {
    if let Some(path) = star(x, y, r, r * 0.45, 8) {
        victory_star(canvas, &path, (x, y, r), victor.border, victor.mark, f);
    }
}

/// A battle star in the victor's colour, marked as the victor's side is: filled (solid),
/// hollow with a heavy edge and a dot (cased), or filled with a white eye (striped).
fn victory_star(
    canvas: &mut dyn Canvas,
    path: &tiny_skia::Path,
    (x, y, r): (f32, f32, f32),
    color: Rgba,
    mark: SideMark,
    f: &Frame,
) {
    let outline = f.style.battles.outline;
    match mark {
        SideMark::Solid => {
            canvas.fill_path(path, Ink::new(color, 1.0), FillRule::Winding);
            stroke_path(canvas, path, outline, 1.0, &stroke(f.px(0.4), &[]));
        }
        SideMark::Cased => {
            canvas.fill_path(path, Ink::new(f.style.halo, 1.0), FillRule::Winding);
            stroke_path(canvas, path, color, 1.0, &stroke(f.px(1.1), &[]));
            if let Some(dot) = PathBuilder::from_circle(x, y, r * 0.2) {
                canvas.fill_path(&dot, Ink::new(color, 1.0), FillRule::Winding);
            }
        }
        SideMark::Striped => {
            canvas.fill_path(path, Ink::new(color, 1.0), FillRule::Winding);
            stroke_path(canvas, path, outline, 1.0, &stroke(f.px(0.4), &[]));
            if let Some(eye) = PathBuilder::from_circle(x, y, r * 0.3) {
                canvas.fill_path(&eye, Ink::new(f.style.halo, 1.0), FillRule::Winding);
            }
        }
    }
}

fn star(cx: f32, cy: f32, r_out: f32, r_in: f32, points: usize) -> Option<tiny_skia::Path> {
    let mut pb = PathBuilder::new();
    for k in 0..points * 2 {
        let r = if k % 2 == 0 { r_out } else { r_in };
        let a = std::f32::consts::PI * k as f32 / points as f32 - std::f32::consts::FRAC_PI_2;
        let (x, y) = (cx + r * a.cos(), cy + r * a.sin());
        if k == 0 {
            pb.move_to(x, y);
        } else {
            pb.line_to(x, y);
        }
    }
    pb.close();
    pb.finish()
}

/// Battles of the year: a starburst in the victor's colour, with name and year.
pub(crate) fn battles<'a>(
    f: &Frame<'a>,
    canvas: &mut dyn Canvas,
    shown: &mut Shown,
    placer: &mut LabelPlacer,
    jobs: &mut Vec<LabelJob<'a>>,
) {
    let bs = &f.style.battles;
    for i in f.visible_in(Layer::Battles) {
        let feat = &f.atlas.data.layer(Layer::Battles)[i];
        if !feat.alive(f.opts.year) {
            continue;
        }
        let Geometry::Point(p) = &feat.geometry else { continue };
        let (x, y) = f.view.to_px(p.x(), p.y());
        let (x, y) = (x as f32, y as f32);
        // Symbols wholly off the image are not drawn (the lon/lat box queried is wider
        // than the image under a conic projection).
        if !f.near_image(x, y, f.px(f.style.battles.size_pt.max(f.style.cities.marker_pt)) * 2.5) {
            continue;
        }
        let r = f.px(bs.size_pt) / 2.0;
        let victor = feat.victor().as_deref().and_then(|v| f.style.polity(v));
        if let Some(v) = feat.victor() {
            if victor.is_some() {
                shown.fighter(v);
            }
        }
        let color = victor.map(|v| v.border).unwrap_or(bs.undecided);
        let approx = place_approximate(feat);
        if let Some(path) = star(x, y, r, r * 0.45, 8) {
            if approx {
                // Dated by the sources but not placed: a hollow star.
                shown.approximate_place = true;
                canvas.fill_path(&path, Ink::new(Rgba(255, 255, 255, 255), 0.85), FillRule::Winding);
                stroke_path(canvas, &path, color, 1.0, &stroke(f.px(0.7), &[]));
            } else {
                victory_star(canvas, &path, (x, y, r), color, victor.map(|v| v.mark).unwrap_or_default(), f);
            }
        }
        shown.battles = true;
        placer.add_mark(x, y, [x - r, y - r, x + r, y + r]);
        let date = match (feat.date_label(), feat.certainty) {
            (Some(d), Some(Certainty::Disputed)) => format!("{d}?"),
            (Some(d), _) => d.clone(),
            (None, _) => String::new(),
        };
        let name = feat.name(&f.opts.lang);
        let name = if approx { format!("{name} (?)") } else { name.to_string() };
        let text =
            if date.is_empty() || name.contains(date.trim_end_matches('?')) { name } else { format!("{name} {date}") };
        jobs.push(LabelJob {
            priority: priority::BATTLE,
            text: cased(&bs.label, &text).into_owned().into(),
            style: f.text_style(&bs.label, 1.0),
            anchor: Anchor::Point { x, y, r },
            id: Some(feat.id.as_str()),
            land: Box::default(),
        });
    }
}

/// Cities by kind, coloured by their holder this year; captures, sieges and ruins marked.
/// Returns the marker positions by index in the cities layer.
pub(crate) fn cities<'a>(
    f: &Frame<'a>,
    canvas: &mut dyn Canvas,
    shown: &mut Shown,
    placer: &mut LabelPlacer,
    jobs: &mut Vec<LabelJob<'a>>,
) -> Vec<(usize, f32, f32)> {
    let cs = &f.style.cities;
    let year = f.opts.year;
    let visible = f.visible_in(Layer::Cities);
    // Room for a label job per town at once (grown by doubling, the buffer was up to twice that).
    let mut markers = Vec::with_capacity(visible.len());
    fortified_lines(f, canvas, shown, jobs);
    if jobs.capacity() - jobs.len() < visible.len() {
        jobs.reserve_exact(visible.len() + 64);
    }
    let crowded = if f.opts.seamless_labels { crowded_towns(f) } else { Vec::new() };
    for i in visible {
        let feat = &f.atlas.data.layer(Layer::Cities)[i];
        if !feat.alive(year) || crowded.binary_search(&i).is_ok() {
            continue;
        }
        let Geometry::Point(p) = &feat.geometry else { continue };
        let (x, y) = f.view.to_px(p.x(), p.y());
        let (x, y) = (x as f32, y as f32);
        // Symbols wholly off the image are not drawn (the lon/lat box queried is wider
        // than the image under a conic projection).
        if !f.near_image(x, y, f.px(f.style.battles.size_pt.max(f.style.cities.marker_pt)) * 2.5) {
            continue;
        }
        let holder = feat.holder(year);
        let ps = holder.and_then(|h| f.style.polity(&h.polity));
        if let (Some(h), Some(_)) = (holder, ps) {
            shown.side(&h.polity);
        }
        let mut color = ps.map(|p| p.border).unwrap_or(cs.unheld);
        if let Some((from, t)) = f.opts.blend_from {
            let old = if feat.alive(from) { feat.holder(from) } else { None };
            let old_color = old.and_then(|h| f.style.polity(&h.polity)).map(|p| p.border).unwrap_or(cs.unheld);
            color = old_color.mix(color, t);
        }
        let captured = changed_hands(feat, year);
        let status = holder.map(|h| h.status).unwrap_or(Status::Core);
        let d = f.px(cs.marker_pt);
        let outline = stroke(f.px(0.45), &[]);
        // A capital carries its symbol only while it is one.
        let kind = feat.kind_in(year);
        shown.city_kinds.insert(kind);
        let r = marker_radius(kind, d);
        let approx = place_approximate(feat);
        if status == Status::Destroyed {
            shown.destroyed = true;
            ruins(canvas, x, y, r, color, cs.outline, f.px(0.6));
        } else if approx {
            // A place the sources name but cannot locate: a hollow marker, dashed.
            shown.approximate_place = true;
            let pen = stroke(f.px(0.8), &[f.px(1.1), f.px(0.8)]);
            city_marker(canvas, kind, (x, y), r * 1.1, Rgba(255, 255, 255, 230), (color, &pen), color);
        } else {
            city_marker(canvas, kind, (x, y), r, color, (cs.outline, &outline), Rgba(255, 255, 255, 255));
        }
        if status == Status::Besieged {
            shown.besieged = true;
            let mut pb = PathBuilder::new();
            for k in 0..8 {
                let a = std::f32::consts::PI * k as f32 / 4.0;
                pb.move_to(x + a.cos() * r * 1.6, y + a.sin() * r * 1.6);
                pb.line_to(x + a.cos() * r * 2.3, y + a.sin() * r * 2.3);
            }
            if let Some(p) = pb.finish() {
                stroke_path(canvas, &p, cs.captured, 1.0, &stroke(f.px(0.6), &[]));
            }
        }
        if captured {
            shown.captured = true;
            if let Some(ring) = PathBuilder::from_circle(x, y, r * TAKEN_RING) {
                stroke_path(canvas, &ring, cs.captured, 1.0, &stroke(f.px(0.8), &[]));
            }
        }
        let extent = if captured || status == Status::Besieged { r * 2.3 } else { r * 1.2 };
        placer.add_mark(x, y, [x - extent, y - extent, x + extent, y + extent]);
        markers.push((i, x, y));
        let (spec, prio) = match (kind, captured) {
            (_, true) => (&cs.capital_label, priority::CAPTURED),
            (CityKind::Capital, _) => (&cs.capital_label, priority::CAPITAL),
            (CityKind::City, _) => (&cs.label, priority::CITY + i32::from(feat.rank) * 2),
            (CityKind::Fortress, _) => (&cs.label, priority::CITY + i32::from(feat.rank) * 2 - 1),
            (CityKind::Site, _) => (&cs.label, priority::CITY + i32::from(feat.rank) * 2 - 2),
        };
        let name = feat.name(&f.opts.lang);
        let text = match approx {
            true => cased(spec, &format!("{name} (?)")).into_owned().into(),
            false => cased(spec, name),
        };
        jobs.push(LabelJob {
            priority: prio,
            text,
            style: f.text_style(spec, 1.0),
            anchor: Anchor::Point { x, y, r: extent },
            id: Some(feat.id.as_str()),
            land: Box::default(),
        });
    }
    markers
}

/// The ring around a town taken that year, in marker radii.
const TAKEN_RING: f32 = 1.9;

/// Did this town change hands in `year` (held by another polity the year before)?
fn changed_hands(t: &Feature, year: Year) -> bool {
    let prev = Year(year.0 - 1);
    let before = if t.alive(prev) { t.holder(prev) } else { None };
    matches!((before, t.holder(year)), (Some(a), Some(b)) if a.polity != b.polity)
}

/// A town's marker on a tile map, for [`crowded_towns`]: its importance, index, centre
/// and radius, px.
struct Disc {
    rank: (bool, bool, u8),
    index: usize,
    x: f64,
    y: f64,
    r: f64,
}

/// The towns a tile map leaves out at its scale (sorted): a town whose marker would
/// overlap the marker of a more important one (a town taken that year, then a capital,
/// then the higher rank) is not drawn, so that the overview zooms show the main towns
/// rather than a blot. Decided over every town alive in the year, in pixels of the map's
/// scale, so that every metatile of a zoom decides alike and the tiles meet seamlessly.
fn crowded_towns(f: &Frame) -> Vec<usize> {
    let year = f.opts.year;
    let d = f.px(f.style.cities.marker_pt);
    let mut all: Vec<Disc> = f
        .atlas
        .data
        .layer(Layer::Cities)
        .iter()
        .enumerate()
        .filter(|(_, t)| t.alive(year))
        .filter_map(|(index, t)| {
            let Geometry::Point(p) = &t.geometry else { return None };
            let (x, y) = f.view.to_px(p.x(), p.y());
            let taken = changed_hands(t, year);
            let kind = t.kind_in(year);
            // A town taken that year is ringed: the ring is its extent.
            let r = f64::from(marker_radius(kind, d) * if taken { TAKEN_RING } else { 1.0 });
            Some(Disc { rank: (taken, kind == CityKind::Capital, t.rank), index, x, y, r })
        })
        .filter(|t| t.x.is_finite() && t.y.is_finite())
        .collect();
    // Most important first; among equals, the order of the data.
    all.sort_by(|a, b| b.rank.cmp(&a.rank).then(a.index.cmp(&b.index)));
    // Kept towns by grid cell, a cell as wide as the farthest two markers can clash.
    let reach = 2.4 * f64::from(marker_radius(CityKind::Capital, d) * TAKEN_RING).max(1e-3);
    let cell = |v: f64| (v / reach).floor() as i64;
    let mut kept: rustc_hash::FxHashMap<(i64, i64), Vec<Disc>> = rustc_hash::FxHashMap::default();
    let mut left_out = Vec::new();
    for t in all {
        let (cx, cy) = (cell(t.x), cell(t.y));
        let clash = (cx - 1..=cx + 1).any(|gx| {
            (cy - 1..=cy + 1).any(|gy| {
                kept.get(&(gx, gy))
                    .is_some_and(|ks| ks.iter().any(|k| (k.x - t.x).hypot(k.y - t.y) < 1.2 * (k.r + t.r)))
            })
        });
        if clash {
            left_out.push(t.index);
        } else {
            kept.entry((cx, cy)).or_default().push(t);
        }
    }
    left_out.sort_unstable();
    left_out
}

/// Named places of the year (see [`super::promised`]) that lie off the image: a small
/// arrow at the frame's edge, on the line from the map's centre towards the place and
/// clear of the furniture, with the place's name beside it.
pub(crate) fn edge_pointers<'a>(
    f: &Frame<'a>,
    canvas: &mut dyn Canvas,
    furniture: &[[f32; 4]],
    jobs: &mut Vec<LabelJob<'a>>,
) {
    let (w, h) = (f.view.width as f32, f.view.height as f32);
    let margin = 0.03 * w.min(h);
    let (cx, cy) = (w / 2.0, h / 2.0);
    for id in &f.promised {
        let Some(feat) = f.atlas.data.get(id) else { continue };
        if !matches!(feat.layer, Layer::Cities | Layer::Battles) || !feat.alive(f.opts.year) {
            continue;
        }
        let Geometry::Point(p) = &feat.geometry else { continue };
        let (px, py) = f.view.to_px(p.x(), p.y());
        let (px, py) = (px as f32, py as f32);
        if (0.0..=w).contains(&px) && (0.0..=h).contains(&py) {
            continue;
        }
        let (dx, dy) = (px - cx, py - cy);
        let len = dx.hypot(dy);
        if !len.is_finite() || len < 1.0 {
            continue;
        }
        let (ux, uy) = (dx / len, dy / len);
        // Where the ray leaves the frame less its margin, then inward past any furniture.
        let tx = if ux.abs() > 1e-6 { ((if ux > 0.0 { w - margin } else { margin }) - cx) / ux } else { f32::INFINITY };
        let ty = if uy.abs() > 1e-6 { ((if uy > 0.0 { h - margin } else { margin }) - cy) / uy } else { f32::INFINITY };
        let size = f.px(f.style.cities.marker_pt) * 1.6;
        let mut t = tx.min(ty);
        let clear = |x: f32, y: f32| {
            furniture.iter().all(|b| x + size < b[0] || x - size > b[2] || y + size < b[1] || y - size > b[3])
        };
        while t > 0.0 && !clear(cx + ux * t, cy + uy * t) {
            t -= size * 0.5;
        }
        if t <= 0.0 {
            continue;
        }
        let (x, y) = (cx + ux * t, cy + uy * t);
        let ink = f.style.cities.outline;
        let mut pb = PathBuilder::new();
        // A slim arrowhead with a short shaft, pointing at the place.
        let (bx, by) = (x - ux * size * 0.6, y - uy * size * 0.6);
        pb.move_to(x + ux * size * 1.2, y + uy * size * 1.2);
        pb.line_to(bx - uy * size * 0.45, by + ux * size * 0.45);
        pb.line_to(x - ux * size * 0.2, y - uy * size * 0.2);
        pb.line_to(bx + uy * size * 0.45, by - ux * size * 0.45);
        pb.close();
        if let Some(path) = pb.finish() {
            canvas.fill_path(&path, Ink::new(ink, 0.9), FillRule::Winding);
        }
        let spec = &f.style.cities.label;
        jobs.push(LabelJob {
            priority: priority::CITY,
            text: cased(
                spec,
                &format!(
                    "{} ({:.0} {})",
                    feat.name(&f.opts.lang),
                    distance_km(f, (x, y), (p.x(), p.y())),
                    super::furniture::tr(&f.opts.lang, "km")
                ),
            )
            .into_owned()
            .into(),
            style: f.text_style(spec, 1.0),
            anchor: Anchor::Point { x, y, r: size },
            id: Some(feat.id.as_str()),
            land: Box::default(),
        });
    }
}

/// Great-circle distance from a pixel of the view to a lon/lat point, km.
fn distance_km(f: &Frame, px: (f32, f32), lonlat: (f64, f64)) -> f64 {
    let here = f.view.to_lonlat(f64::from(px.0), f64::from(px.1));
    crate::project::haversine_km(here, lonlat)
}

/// Fortified lines: the forts of each `line` standing this year, joined in their
/// `line_order` by a dashed line in their holder's colour, named along it.
fn fortified_lines<'a>(f: &Frame<'a>, canvas: &mut dyn Canvas, shown: &mut Shown, jobs: &mut Vec<LabelJob<'a>>) {
    let year = f.opts.year;
    let mut lines: std::collections::BTreeMap<&str, Vec<(i64, &Feature)>> = std::collections::BTreeMap::new();
    for feat in f.atlas.data.layer(Layer::Cities).iter().filter(|c| c.alive(year)) {
        let Some(name) = feat.fort_line() else { continue };
        let order = feat.properties.get("line_order").and_then(|v| v.as_i64()).unwrap_or(0);
        lines.entry(name).or_default().push((order, feat));
    }
    for (name, mut forts) in lines {
        if forts.len() < 2 {
            continue;
        }
        forts.sort_by_key(|(o, _)| *o);
        let pts: Vec<(f32, f32)> = forts
            .iter()
            .filter_map(|(_, c)| match &c.geometry {
                Geometry::Point(p) => {
                    let (x, y) = f.view.to_px(p.x(), p.y());
                    Some((x as f32, y as f32))
                }
                _ => None,
            })
            .collect();
        let holder = forts[0].1.holder(year).and_then(|h| f.style.polity(&h.polity));
        let color = holder.map(|p| p.border).unwrap_or(f.style.cities.outline);
        let w = f.px(1.5);
        if let Some(path) = polyline_path(&pts) {
            shown.fortified_line = true;
            stroke_path(canvas, &path, color, 1.0, &stroke(w, &[w * 3.0, w * 1.5]));
        }
        let mut style = f.text_style(&f.style.campaigns.label, 1.0);
        style.color = color.skia(1.0);
        let name = forts[0].1.fort_line_name(&f.opts.lang).unwrap_or(name);
        jobs.push(LabelJob {
            priority: priority::LANDFORM - 1,
            text: cased(&f.style.campaigns.label, name),
            style,
            anchor: Anchor::Path { pts, repeat: false },
            id: None,
            land: Box::default(),
        });
    }
}

/// Marker radius of a kind of place, from the style's marker diameter (px).
pub(crate) fn marker_radius(kind: CityKind, d: f32) -> f32 {
    match kind {
        CityKind::Capital => d * 0.7,
        CityKind::Fortress => d * 0.55,
        CityKind::City => d * 0.5,
        CityKind::Site => d * 0.45,
    }
}

/// Draw the marker of a kind of place: a disc for a town, a disc with a dot for a capital,
/// a square for a fortress, a diamond for a site.
pub(crate) fn city_marker(
    canvas: &mut dyn Canvas,
    kind: CityKind,
    (x, y): (f32, f32),
    r: f32,
    color: Rgba,
    (ink, outline): (Rgba, &super::canvas::Pen),
    dot: Rgba,
) {
    use super::canvas::{Marker, MarkerShape};
    let shape = match kind {
        CityKind::Capital | CityKind::City => MarkerShape::Circle,
        CityKind::Fortress => MarkerShape::Square,
        CityKind::Site => MarkerShape::Diamond,
    };
    let dot = (kind == CityKind::Capital).then_some(dot);
    canvas.marker(&Marker { shape, x, y, r, fill: color, ink, dot }, outline);
}

/// A destroyed town: a hollow marker struck through.
fn ruins(canvas: &mut dyn Canvas, x: f32, y: f32, r: f32, color: Rgba, outline: Rgba, w: f32) {
    if let Some(c) = PathBuilder::from_circle(x, y, r) {
        stroke_path(canvas, &c, color, 1.0, &stroke(w * 1.4, &[w * 2.0, w * 1.5]));
    }
    let mut pb = PathBuilder::new();
    pb.move_to(x - r * 1.2, y - r * 1.2);
    pb.line_to(x + r * 1.2, y + r * 1.2);
    pb.move_to(x + r * 1.2, y - r * 1.2);
    pb.line_to(x - r * 1.2, y + r * 1.2);
    if let Some(p) = pb.finish() {
        stroke_path(canvas, &p, outline, 1.0, &stroke(w, &[]));
    }
}

/// `--compare`: outline the areas and ring the cities whose holder differs between the
/// compared year and the shown year.
pub(crate) fn compare(f: &Frame, canvas: &mut dyn Canvas, shown: &mut Shown) {
    let Some(other) = f.opts.compare else { return };
    let year = f.opts.year;
    let color = f.style.furniture.compare;
    let polity_at = |feat: &Feature, y: Year| {
        if feat.alive(y) {
            feat.holder(y).map(|h| (h.polity.clone(), h.status))
        } else {
            None
        }
    };
    let areas = f.atlas.data.layer(Layer::Territories);
    for i in f.visible_in(Layer::Territories) {
        let a = &areas[i];
        if polity_at(a, year).map(|p| p.0) != polity_at(a, other).map(|p| p.0) {
            let Geometry::Areas(mp) = &a.geometry else { continue };
            let rings = area_rings_px(f.view, mp);
            if let Some(path) = rings_path(&rings) {
                shown.changed = true;
                canvas.pattern(&rings, Pattern::Hatch, Rgba(color.0, color.1, color.2, 150), f.px(3.0), f.px(0.8));
                stroke_path(canvas, &path, color, 0.9, &stroke(f.px(1.6), &[]));
            }
        }
    }
    let cities = f.atlas.data.layer(Layer::Cities);
    for i in f.visible_in(Layer::Cities) {
        let c = &cities[i];
        if !c.alive(year) && !c.alive(other) {
            continue;
        }
        if polity_at(c, year) != polity_at(c, other) {
            let Geometry::Point(p) = &c.geometry else { continue };
            let (x, y) = f.view.to_px(p.x(), p.y());
            if let Some(ring) = PathBuilder::from_circle(x as f32, y as f32, f.px(f.style.cities.marker_pt) * 1.5) {
                shown.changed = true;
                stroke_path(canvas, &ring, color, 1.0, &stroke(f.px(1.4), &[]));
            }
        }
    }
}
