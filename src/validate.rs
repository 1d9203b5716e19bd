//! Dataset + style → problems. Sits above both because it needs both: polity ids must be
//! known to the style; geometry must be valid; territory areas should neither overlap
//! nor leave slivers; and the world must hold together: towns agree with their land, no
//! polity acts outside its lifespan, captions name what the map shows.

use crate::data::{has_word, ControlSpan, Dataset, Feature, Geometry, Layer, Loaded, Status};
use crate::error::{Problem, Severity};
use crate::style::{AutoPolity, Style};
use crate::time::{Span, Year};
use geo::{Area, BooleanOps, BoundingRect, Intersects};

/// Polity ids the style does not know. They are drawn in automatic colours
/// ([`Style::adopt_polities`]), so this is information; an error when `atlas.json` lists
/// the atlas's polities but not this one (a typo, refused as DESIGN.md asks).
pub fn polity_problems(ds: &Dataset, style: &Style) -> Vec<Problem> {
    problems_of_polities(ds, style, &ds.polities_mentioned())
}

/// [`polity_problems`] and [`polities_named`], from one reading of the polities mentioned.
pub fn polity_problems_and_names(ds: &Dataset, style: &Style) -> (Vec<Problem>, Vec<AutoPolity>) {
    let mentioned = ds.polities_mentioned();
    (problems_of_polities(ds, style, &mentioned), names_of_polities(ds, &mentioned))
}

/// [`polity_problems`] of the polities `mentioned` ([`Dataset::polities_mentioned`]).
fn problems_of_polities(ds: &Dataset, style: &Style, mentioned: &[(Layer, &str, &str)]) -> Vec<Problem> {
    let mut out: Vec<Problem> = Vec::new();
    let declared = !ds.meta.polities.is_empty();
    for &(layer, id, polity) in mentioned {
        if style.polity(polity).is_some() {
            continue;
        }
        let file = ds.get(id).map_or_else(|| layer.file_name(), |f| f.file.to_string());
        let p = if declared && ds.polity(polity).is_none() {
            Problem::error(
                &file,
                Some(id),
                format!(
                    "unknown polity id {polity:?}: not in style {:?} nor in atlas.json's polities (a typo?)",
                    style.name
                ),
            )
        } else {
            Problem::info(
                &file,
                Some(id),
                format!(
                    "polity id {polity:?} is not in style {:?}: drawn in an automatic colour \
                     (`steppe-atlas style init` writes a style to edit)",
                    style.name
                ),
            )
        };
        out.push(p);
    }
    out
}

/// The polities a dataset names, in the order they should get automatic colours (land
/// holders first, then the others), each with its name: from `atlas.json`, else from the
/// territory it holds by itself (OpenHistoricalMap boundaries), else from its id.
pub fn polities_named(ds: &Dataset) -> Vec<AutoPolity> {
    names_of_polities(ds, &ds.polities_mentioned())
}

/// [`polities_named`] of the polities `mentioned` ([`Dataset::polities_mentioned`]).
fn names_of_polities(ds: &Dataset, mentioned: &[(Layer, &str, &str)]) -> Vec<AutoPolity> {
    // In order of first mention, territories being the first layer: land holders first.
    let ids = mentioned.iter().map(|&(_, _, p)| p);
    // The first territory that holds each polity by itself: a named area whose holder is
    // not given by a `control` property (an OpenHistoricalMap boundary). Whether an area
    // has that property is asked only of named areas with holders (it may read the
    // properties' text).
    let territories = ds.layer(Layer::Territories);
    let mut own: rustc_hash::FxHashMap<&str, &crate::data::Feature> = rustc_hash::FxHashMap::default();
    for f in territories.iter().filter(|f| !f.names.en.is_empty() && !f.control.is_empty()) {
        if f.properties.contains_key("control") {
            continue;
        }
        for c in &f.control {
            own.entry(c.polity.as_str()).or_insert(f);
        }
    }
    ids.map(|id| {
        if let Some(p) = ds.polity(id) {
            let name = |lang: &str| p.names.first().map(|n| n.name_i18n.get(lang).cloned().unwrap_or_default());
            if let Some(first) = p.names.first() {
                return AutoPolity {
                    id: id.to_string(),
                    name: first.name.clone(),
                    name_kk: name("kk").filter(|n| !n.is_empty()),
                    name_ru: name("ru").filter(|n| !n.is_empty()),
                };
            }
        }
        match own.get(id) {
            Some(f) => AutoPolity {
                id: id.to_string(),
                name: f.names.en.clone(),
                name_kk: f.names.kk().clone(),
                name_ru: f.names.ru().clone(),
            },
            None => AutoPolity { id: id.to_string(), name: title_case(id), name_kk: None, name_ru: None },
        }
    })
    .collect()
}

/// `kazakh_senior` → `Kazakh senior`.
fn title_case(id: &str) -> String {
    let words = id.replace(['_', '-'], " ");
    let mut c = words.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Invalid polygons and lines: self-intersections, degenerate rings (errors).
pub fn geometry_problems(ds: &Dataset) -> Vec<Problem> {
    use rayon::prelude::*;
    let mut out = Vec::new();
    for layer in Layer::ALL {
        // Each feature apart, on every core; the problems in layer order.
        let found: Vec<Problem> = ds
            .layer(layer)
            .par_iter()
            .filter_map(|f| {
                let problem = match &f.geometry {
                    Geometry::Areas(mp) => mp.0.iter().find_map(crate::index::polygon_problem),
                    Geometry::Lines(ml) => {
                        ml.0.iter()
                            .find(|l| l.0.windows(2).all(|w| w[0] == w[1]))
                            .map(|_| "line has no length (all positions equal)".to_string())
                    }
                    _ => None,
                };
                problem.map(|msg| Problem::error(&f.file, Some(&f.id), format!("invalid geometry: {msg}")))
            })
            .collect();
        out.extend(found);
    }
    out
}

/// Every pair `(i, j)`, `i < j`, of boxes that meet, in that order: a sweep over the boxes
/// by their west edge (a box can meet only those that start before its east edge), not
/// every pair, as a dataset may have thousands of areas.
fn meeting_boxes(boxes: &[Option<geo::Rect<f64>>]) -> Vec<(usize, usize)> {
    let mut by_west: Vec<(usize, geo::Rect<f64>)> =
        boxes.iter().enumerate().filter_map(|(i, b)| b.map(|b| (i, b))).collect();
    by_west.sort_by(|a, b| a.1.min().x.total_cmp(&b.1.min().x).then(a.0.cmp(&b.0)));
    let mut pairs = Vec::new();
    for (k, (i, a)) in by_west.iter().enumerate() {
        for (j, b) in by_west[k + 1..].iter().take_while(|(_, b)| b.min().x <= a.max().x) {
            if a.intersects(b) {
                pairs.push(((*i).min(*j), (*i).max(*j)));
            }
        }
    }
    pairs.sort_unstable();
    pairs
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
    let boxes: Vec<Option<geo::Rect<f64>>> = polys.iter().map(|p| p.and_then(|p| p.bounding_rect())).collect();
    for (i, j) in meeting_boxes(&boxes) {
        let (Some(a), Some(b)) = (polys[i], polys[j]) else { continue };
        // Successive versions of a boundary (OpenHistoricalMap) share land, not years.
        if !areas[i].span.overlaps(&areas[j].span) {
            continue;
        }
        let overlap = guarded(&|| a.intersection(b).unsigned_area());
        // ~1 km² at these latitudes.
        if overlap > 1e-4 {
            out.push(Problem::warning(
                &areas[i].file,
                Some(&areas[i].id),
                format!("overlaps area {} by about {:.0} km²", areas[j].id, overlap * 111.2 * 111.2 * 0.7),
            ));
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
                &a.file,
                Some(&a.id),
                format!("{n} vertices of neighbouring areas lie inside its edges (T-junctions); borders need shared vertices"),
            )
        })
        .collect()
}

/// What the schema asks that is only questionable when missed (warnings): ids in
/// lowercase, and lines and rings that step across the antimeridian (a step of more than
/// 180° in longitude, which a map draws the long way round the world).
pub fn convention_problems(ds: &Dataset) -> Vec<Problem> {
    let mut out = Vec::new();
    for f in ds.all() {
        if f.id.chars().any(char::is_uppercase) {
            let lower = f.id.to_lowercase();
            out.push(Problem::warning(&f.file, Some(&f.id), format!("id is not lowercase (ids are, e.g. `{lower}`)")));
        }
        let lines: Vec<&geo::LineString<f64>> = match &f.geometry {
            Geometry::Lines(ml) => ml.0.iter().collect(),
            Geometry::Areas(mp) => {
                mp.0.iter().flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors())).collect()
            }
            _ => Vec::new(),
        };
        let jump = lines.iter().find_map(|l| l.0.windows(2).find(|w| (w[1].x - w[0].x).abs() > 180.0));
        if let Some(w) = jump {
            out.push(Problem::warning(
                &f.file,
                Some(&f.id),
                format!(
                    "steps across the antimeridian from longitude {} to {}, which is drawn the long way round: \
                     split it at 180°",
                    w[0].x, w[1].x
                ),
            ));
        }
    }
    out
}

/// Every problem of a loaded dataset against a style, errors first.
pub fn validate(loaded: &Loaded, style: &Style) -> Vec<Problem> {
    let mut all = loaded.problems.clone();
    all.extend(polity_problems(&loaded.dataset, style));
    all.extend(geometry_problems(&loaded.dataset));
    all.extend(coverage_problems(&loaded.dataset));
    all.extend(t_junction_problems(&loaded.dataset));
    all.extend(town_land_problems(&loaded.dataset));
    all.extend(lifespan_problems(&loaded.dataset));
    all.extend(caption_problems(&loaded.dataset));
    all.extend(convention_problems(&loaded.dataset));
    all.sort_by_key(|p| std::cmp::Reverse(p.severity));
    all
}

/// Count (errors, warnings); notes for information are neither.
pub fn counts(problems: &[Problem]) -> (usize, usize) {
    let count = |s: Severity| problems.iter().filter(|p| p.severity == s).count();
    (count(Severity::Error), count(Severity::Warning))
}

/// Consecutive years grouped into runs: `[1723, 1724, 1725, 1732]` → `1723–1725, 1732`.
fn year_runs(years: &[i32]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < years.len() {
        let mut j = i;
        while j + 1 < years.len() && years[j + 1] == years[j] + 1 {
            j += 1;
        }
        out.push(if i == j { years[i].to_string() } else { format!("{}–{}", years[i], years[j]) });
        i = j + 1;
    }
    out.join(", ")
}

/// Group `(year, message)` pairs (in year order) into one line per message with its years.
fn grouped(items: Vec<(i32, String)>) -> Vec<(String, String)> {
    let mut order: Vec<String> = Vec::new();
    let mut years: std::collections::HashMap<String, Vec<i32>> = std::collections::HashMap::new();
    for (y, m) in items {
        if !years.contains_key(&m) {
            order.push(m.clone());
        }
        years.entry(m).or_default().push(y);
    }
    order
        .into_iter()
        .map(|m| {
            let runs = years.get(&m).map(|ys| year_runs(ys)).unwrap_or_default();
            (runs, m)
        })
        .collect()
}

/// The years of `span` within the atlas's years (bounded: an open span takes the atlas's ends).
fn span_years(span: &Span, (first, last): (i32, i32)) -> std::ops::RangeInclusive<i32> {
    let a = span.start_year().unwrap_or(first).max(first);
    let b = span.end_year().unwrap_or(last).min(last);
    a..=b
}

/// How far the consistency rules look: the atlas's years, capped so a stray date cannot
/// make validation scan millennia.
fn scan_years(ds: &Dataset) -> Option<(i32, i32)> {
    ds.years().map(|(a, b)| (a, b.min(a.saturating_add(3000))))
}

/// Statuses under which a town may be held by someone other than the holder of its land.
fn town_may_differ(status: Status) -> bool {
    matches!(status, Status::Holdout | Status::Enclave | Status::Besieged | Status::Contested | Status::Destroyed)
}

/// Towns that contradict their land (warnings): in every year, a town's holder must be the
/// holder or the overlord of the territory area it stands in (or, for contested land, its
/// other claimant: the overlord or the former holder), unless the town's span says
/// `holdout`, `enclave`, `besieged`, `contested` or `destroyed`. A polity and the whole it is
/// `part_of` (a jüz and the Kazakh Khanate) count as one.
pub fn town_land_problems(ds: &Dataset) -> Vec<Problem> {
    let Some(range) = scan_years(ds) else { return Vec::new() };
    let areas = ds.layer(Layer::Territories);
    let file = Layer::Cities.file_name();
    let mut out = Vec::new();
    // The areas' envelopes in a tree: a town asks for those around it, not every area.
    use rstar::primitives::{GeomWithData, Rectangle};
    let boxes: Vec<GeomWithData<Rectangle<[f64; 2]>, usize>> = areas
        .iter()
        .enumerate()
        .filter_map(|(i, a)| {
            a.bbox().map(|b| GeomWithData::new(Rectangle::from_corners([b[0], b[1]], [b[2], b[3]]), i))
        })
        .collect();
    let tree = rstar::RTree::bulk_load(boxes);
    for town in ds.layer(Layer::Cities) {
        let Geometry::Point(p) = &town.geometry else { continue };
        if town.control.is_empty() {
            continue;
        }
        // In the areas' order (the first area under a town names the land it stands in).
        let mut around: Vec<usize> = tree.locate_all_at_point(&[p.x(), p.y()]).map(|e| e.data).collect();
        around.sort_unstable();
        let under: Vec<&Feature> = around
            .into_iter()
            .map(|i| &areas[i])
            .filter(|a| match &a.geometry {
                Geometry::Areas(mp) => mp.intersects(p),
                _ => false,
            })
            .collect();
        if under.is_empty() {
            continue;
        }
        let mut wrong: Vec<(i32, String)> = Vec::new();
        for y in range.0..=range.1 {
            let year = Year(y);
            if !town.alive(year) {
                continue;
            }
            let Some(h) = town.holder(year) else { continue };
            if town_may_differ(h.status) {
                continue;
            }
            let lands: Vec<(&Feature, &ControlSpan)> =
                under.iter().filter(|a| a.alive(year)).filter_map(|a| a.holder(year).map(|l| (*a, l))).collect();
            let Some((area, land)) = lands.first() else { continue };
            let fits = |a: &Feature, l: &ControlSpan| {
                let other = match l.status {
                    Status::Contested => l.overlord.as_deref().or_else(|| a.former_holder(l)),
                    _ => l.overlord.as_deref(),
                };
                ds.same_or_part(&h.polity, &l.polity) || other.is_some_and(|o| ds.same_or_part(&h.polity, o))
            };
            if lands.iter().any(|(a, l)| fits(a, l)) {
                continue;
            }
            let overlord = land.overlord.as_deref().map(|o| format!(" under {o}")).unwrap_or_default();
            wrong.push((
                y,
                format!(
                    "held by {} ({}) but stands in {} held by {} ({}{})",
                    h.polity,
                    h.status.name(),
                    area.id,
                    land.polity,
                    land.status.name(),
                    overlord
                ),
            ));
        }
        for (years, msg) in grouped(wrong) {
            out.push(Problem::warning(
                &file,
                Some(&town.id),
                format!(
                    "in {years}: {msg}; a town's holder must be its land's holder or overlord unless its span is \
                     holdout, enclave, besieged, contested or destroyed"
                ),
            ));
        }
    }
    out
}

/// Polities outside their lifespans (warnings): nothing is held by, under the overlordship
/// of, won by, fought by or marched for a polity in a year it did not exist (`atlas.json`
/// `polities`; polities it does not describe are not checked).
pub fn lifespan_problems(ds: &Dataset) -> Vec<Problem> {
    let Some(range) = scan_years(ds) else { return Vec::new() };
    let mut out = Vec::new();
    for layer in Layer::ALL {
        let file = layer.file_name();
        for f in ds.layer(layer) {
            let life = span_years(&f.span, range);
            let mut dead: Vec<(i32, String)> = Vec::new();
            let mut check = |role: &str, polity: &str, years: std::ops::RangeInclusive<i32>| {
                let Some(p) = ds.polity(polity) else { return };
                for y in years.filter(|y| life.contains(y)) {
                    if !p.alive(Year(y)) {
                        dead.push((y, format!("{role} {polity}, whose lifespan is {}", p.lifespan())));
                    }
                }
            };
            for c in &f.control {
                let years = span_years(&c.span, range);
                check("held by", &c.polity, years.clone());
                if let Some(o) = &c.overlord {
                    check("under the overlordship of", o, years);
                }
            }
            for c in f.capital() {
                if let Some(p) = &c.polity {
                    check("capital of", p, span_years(&c.span, range));
                }
            }
            if let Some(v) = f.victor() {
                check("won by", v, life.clone());
            }
            if let Some(s) = f.side() {
                check("marched for", s, life.clone());
            }
            for b in f.belligerents() {
                check("fought by", b, life.clone());
            }
            for (years, msg) in grouped(dead) {
                out.push(Problem::warning(&file, Some(&f.id), format!("in {years}: {msg}")));
            }
        }
    }
    out
}

/// Towns, forts and sites that a caption names by their English name (the part before
/// any parenthesis: "Taraz" of "Taraz (Aulie-Ata)") but that are not on the map in a year
/// the caption is shown. A name also borne by one of the event's `places` that is on the
/// map (Orsk, "the first Orenburg", in 1735) is not reported.
fn named_towns_off_the_map(ds: &Dataset, event: &Feature, caption: &str, shown: &[i32], file: &str) -> Vec<Problem> {
    let listed: Vec<&Feature> = match event.properties.get("places").and_then(|v| v.as_array()) {
        Some(ids) => ids.iter().filter_map(|v| v.as_str()).filter_map(|id| ds.get(id)).collect(),
        None => Vec::new(),
    };
    let mut out = Vec::new();
    for town in ds.layer(Layer::Cities) {
        let name = town.names.en.split(" (").next().unwrap_or("").trim();
        if !has_word(caption, name) || listed.iter().any(|p| p.id == town.id) {
            continue;
        }
        let missing: Vec<i32> = shown.iter().copied().filter(|y| !town.alive(Year(*y))).collect();
        if missing.is_empty() {
            continue;
        }
        let covered = listed
            .iter()
            .any(|p| p.id != town.id && has_word(&p.names.en, name) && missing.iter().all(|y| p.alive(Year(*y))));
        if !covered {
            out.push(Problem::warning(
                file,
                Some(&event.id),
                format!("caption names {name} ({}), which is not on the map in {}", town.id, year_runs(&missing)),
            ));
        }
    }
    out
}

/// One change of hands an event's caption announces (`changes` of an event).
struct Claim<'a> {
    id: &'a str,
    polity: &'a str,
    status: Option<&'a str>,
    overlord: Option<&'a str>,
    year: Option<i32>,
}

fn claims<'a>(event: &'a Feature, file: &str, out: &mut Vec<Problem>) -> Vec<Claim<'a>> {
    let Some(raw) = event.properties.get("changes") else { return Vec::new() };
    let Some(items) = raw.as_array() else {
        out.push(Problem::warning(file, Some(&event.id), "`changes` must be a list of {id, polity, …}"));
        return Vec::new();
    };
    let mut claims = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let s = |k: &str| item.get(k).and_then(|v| v.as_str());
        let year = match item.get("year") {
            None => None,
            Some(v) => match v.as_str().and_then(|t| t.get(..4)).and_then(|t| t.parse::<i32>().ok()) {
                Some(y) => Some(y),
                None => {
                    out.push(Problem::warning(
                        file,
                        Some(&event.id),
                        format!("changes[{i}].year must be like \"1740\""),
                    ));
                    continue;
                }
            },
        };
        match (s("id"), s("polity")) {
            (Some(id), Some(polity)) => {
                claims.push(Claim { id, polity, status: s("status"), overlord: s("overlord"), year })
            }
            _ => out.push(Problem::warning(
                file,
                Some(&event.id),
                format!("changes[{i}] needs `id` (a feature) and `polity` (its new holder)"),
            )),
        }
    }
    claims
}

/// Captions against the map (warnings). An event may list the features its caption names
/// (`places`: ids of towns, battles, routes, areas, rivers, landforms) and the changes of
/// hands it announces (`changes`: `[{"id": "area-jetisu", "polity": "kazakh_senior",
/// "status"?, "overlord"?, "year"?}]`, the year defaulting to the event's first). Every
/// place must exist and be on the map in every year the caption is shown; every change
/// must be what the map shows in that year and not the year before, by a polity alive then.
pub fn caption_problems(ds: &Dataset) -> Vec<Problem> {
    let Some(range) = scan_years(ds) else { return Vec::new() };
    let file = Layer::Events.file_name();
    let mut out = Vec::new();
    for event in ds.layer(Layer::Events) {
        let shown: Vec<i32> = span_years(&event.span, range).collect();
        let places = match event.properties.get("places") {
            None | Some(serde_json::Value::Null) => Vec::new(),
            Some(serde_json::Value::Array(a)) if a.iter().all(|v| v.is_string()) => {
                a.iter().filter_map(|v| v.as_str()).collect()
            }
            Some(_) => {
                out.push(Problem::warning(&file, Some(&event.id), "`places` must be a list of feature ids"));
                Vec::new()
            }
        };
        for id in places {
            let Some(place) = ds.get(id) else {
                out.push(Problem::warning(
                    &file,
                    Some(&event.id),
                    format!("caption names {id:?}, which is not in the dataset"),
                ));
                continue;
            };
            let missing: Vec<i32> = shown.iter().copied().filter(|y| !place.alive(Year(*y))).collect();
            if !missing.is_empty() {
                out.push(Problem::warning(
                    &file,
                    Some(&event.id),
                    format!(
                        "caption names {id}, which is not on the map in {} ({} is dated {}–{})",
                        year_runs(&missing),
                        place.layer.file_name(),
                        place.span.start_year().map(|y| y.to_string()).unwrap_or_else(|| "…".into()),
                        place.span.end_year().map(|y| y.to_string()).unwrap_or_else(|| "…".into()),
                    ),
                ));
            }
        }
        if let Some(caption) = event.properties.get("caption").and_then(|v| v.as_str()) {
            out.extend(named_towns_off_the_map(ds, event, caption, &shown, &file));
        }
        for c in claims(event, &file, &mut out) {
            let Some(&first) = shown.first() else { continue };
            let y = c.year.unwrap_or(first);
            let say = |msg: String| Problem::warning(&file, Some(&event.id), msg);
            if !shown.contains(&y) {
                out.push(say(format!("change of {} dated {y}, outside the years the caption is shown", c.id)));
                continue;
            }
            let Some(f) = ds.get(c.id) else {
                out.push(say(format!("caption says {:?} changes hands, but it is not in the dataset", c.id)));
                continue;
            };
            if !ds.polity_alive(c.polity, Year(y)) {
                out.push(say(format!("caption gives {} to {} in {y}, outside that polity's lifespan", c.id, c.polity)));
            }
            let holder = |y: i32| if f.alive(Year(y)) { f.holder(Year(y)) } else { None };
            let describe = |h: Option<&ControlSpan>| match h {
                Some(h) => format!(
                    "{} ({}{})",
                    h.polity,
                    h.status.name(),
                    h.overlord.as_deref().map(|o| format!(" under {o}")).unwrap_or_default()
                ),
                None => "nobody".to_string(),
            };
            let now = holder(y);
            let matches = now.is_some_and(|h| {
                h.polity == c.polity
                    && c.status.is_none_or(|s| s == h.status.name())
                    && c.overlord.is_none_or(|o| h.overlord.as_deref() == Some(o))
            });
            let claimed = format!(
                "{}{}{}",
                c.polity,
                c.status.map(|s| format!(" ({s})")).unwrap_or_default(),
                c.overlord.map(|o| format!(" under {o}")).unwrap_or_default()
            );
            if !matches {
                out.push(say(format!(
                    "caption says {} passes to {claimed} in {y}, but the map shows it held by {}",
                    c.id,
                    describe(now)
                )));
                continue;
            }
            let before = holder(y - 1);
            let same = |a: Option<&ControlSpan>, b: Option<&ControlSpan>| match (a, b) {
                (Some(a), Some(b)) => a.polity == b.polity && a.status == b.status && a.overlord == b.overlord,
                (None, None) => true,
                _ => false,
            };
            if same(before, now) {
                out.push(say(format!(
                    "caption says {} passes to {claimed} in {y}, but it was already held so in {}: the map shows no change",
                    c.id,
                    y - 1
                )));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn years_are_reported_as_runs() {
        assert_eq!(year_runs(&[1723, 1724, 1725, 1732, 1733, 1740]), "1723–1725, 1732–1733, 1740");
        assert_eq!(year_runs(&[]), "");
        let g = grouped(vec![(1700, "a".into()), (1701, "b".into()), (1702, "a".into()), (1703, "a".into())]);
        assert_eq!(g, vec![("1700, 1702–1703".to_string(), "a".to_string()), ("1701".to_string(), "b".to_string())]);
    }

    #[test]
    fn names_match_whole_words_only() {
        assert!(has_word("Abul Khair retakes Turkistan", "Turkistan"));
        assert!(has_word("Orenburg founded", "Orenburg"));
        assert!(!has_word("the Orenburg Commission", "Orsk"));
        assert!(!has_word("Tarazi", "Taraz") && !has_word("Omsky", "Omsk") && !has_word("x", ""));
    }

    #[test]
    fn the_sweep_finds_exactly_the_boxes_that_meet() {
        // Boxes of every size, some touching at an edge, some missing, against every pair.
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = |m: f64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % 1000) as f64 / 1000.0 * m
        };
        let boxes: Vec<Option<geo::Rect<f64>>> = (0..300)
            .map(|k| {
                let (x, y, w, h) = (next(100.0).round(), next(100.0).round(), next(30.0).round(), next(8.0).round());
                (k % 17 != 0).then(|| geo::Rect::new((x, y), (x + w, y + h)))
            })
            .collect();
        let mut every = Vec::new();
        for i in 0..boxes.len() {
            for j in i + 1..boxes.len() {
                if let (Some(a), Some(b)) = (boxes[i], boxes[j]) {
                    if geo::Intersects::intersects(&a, &b) {
                        every.push((i, j));
                    }
                }
            }
        }
        assert!(every.len() > 100);
        assert_eq!(meeting_boxes(&boxes), every);
    }

    #[test]
    fn open_spans_take_the_atlas_ends() {
        let s = Span::parse(Some("1700"), None, crate::time::EndDates::Inclusive).expect("valid span");
        assert_eq!(span_years(&s, (1635, 1771)), 1700..=1771);
        assert_eq!(span_years(&Span::ALWAYS, (1635, 1771)), 1635..=1771);
    }
}
