//! Property-based fuzzing (proptest; `cargo fuzz` needs a nightly toolchain): the GeoJSON
//! loader, the date parser, the style loader and the tile-path parser take arbitrary
//! input without panicking, and what they accept can be drawn or served. Each target
//! runs a fixed number of cases (raise them with `PROPTEST_CASES`), a few seconds each.

use proptest::prelude::*;
use serde_json::{json, Value};
use std::path::Path;
use std::sync::{Arc, OnceLock};
use steppe_atlas::data::{Dataset, Layer, Source};
use steppe_atlas::project::{check_view_box, LonLatBox, Projection, ProjectionKind, View};
use steppe_atlas::render::{render, RenderOptions};
use steppe_atlas::style::Style;
use steppe_atlas::time::{parse_year_range, Date, EndDates, Span, Year};
use steppe_atlas::Atlas;

// ---------- dates ----------

fn date_like() -> impl Strategy<Value = String> {
    prop_oneof![
        "[-+]?[0-9]{1,8}(-[0-9]{1,3}(-[0-9]{1,3})?)?",
        "[-+0-9 T:Z.]{0,14}",
        any::<String>(),
        any::<i64>().prop_map(|y| y.to_string()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn dates_parse_or_fail_without_panicking(s in date_like(), t in date_like()) {
        if let Ok(d) = Date::parse(&s) {
            prop_assert!((1..=12).contains(&d.month) && (1..=31).contains(&d.day));
            prop_assert!(d.first_day() <= d.last_day());
        }
        for mode in [EndDates::Inclusive, EndDates::Exclusive] {
            if let Ok(span) = Span::parse(Some(&s), Some(&t), mode) {
                if let (Some(a), Some(b)) = (span.start, span.end) {
                    prop_assert!(a <= b, "accepted a reversed span {s:?}..{t:?}");
                }
            }
        }
        if let Ok((a, b)) = parse_year_range(&s) {
            prop_assert!(a <= b);
        }
    }

    #[test]
    fn valid_dates_round_trip(y in -9999i32..=9999, m in 1u32..=12, d in 1u32..=28) {
        let text = if y < 0 { format!("-{:04}-{m:02}-{d:02}", -y) } else { format!("{y:04}-{m:02}-{d:02}") };
        let date = Date::parse(&text).map_err(TestCaseError::fail)?;
        prop_assert_eq!((date.year, date.month, date.day), (y, m, d));
    }
}

// ---------- GeoJSON loader ----------

fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => (-180.0..180.0f64).prop_map(|v| json!(v)),
        1 => any::<f64>().prop_map(|v| json!(v)),
        1 => prop_oneof![Just(json!(1e308)), Just(json!(-1e308)), Just(json!(0)), Just(json!("7")), Just(Value::Null)],
    ]
}

fn position() -> impl Strategy<Value = Value> {
    prop_oneof![
        8 => (60.0..80.0f64, 38.0..50.0f64).prop_map(|(x, y)| json!([x, y])),
        1 => prop::collection::vec(number(), 0..4).prop_map(Value::Array),
        1 => Just(json!([0.0, 90.0])),
    ]
}

fn line(min: usize) -> impl Strategy<Value = Value> {
    prop::collection::vec(position(), min..9).prop_map(Value::Array)
}

fn ring() -> impl Strategy<Value = Value> {
    (prop::collection::vec(position(), 0..9), any::<bool>()).prop_map(|(mut pts, close)| {
        if close && !pts.is_empty() {
            pts.push(pts[0].clone());
        }
        Value::Array(pts)
    })
}

fn geometry() -> impl Strategy<Value = Value> {
    prop_oneof![
        position().prop_map(|c| json!({"type": "Point", "coordinates": c})),
        line(0).prop_map(|c| json!({"type": "LineString", "coordinates": c})),
        prop::collection::vec(line(0), 0..3).prop_map(|c| json!({"type": "MultiLineString", "coordinates": c})),
        prop::collection::vec(ring(), 0..3).prop_map(|c| json!({"type": "Polygon", "coordinates": c})),
        prop::collection::vec(prop::collection::vec(ring(), 0..3), 0..3)
            .prop_map(|c| json!({"type": "MultiPolygon", "coordinates": c})),
        Just(json!({"type": "GeometryCollection", "geometries": []})),
        Just(json!({"type": "Bogus"})),
        Just(Value::Null),
        Just(json!("not a geometry")),
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof!["[a-z][a-z0-9-]{0,10}", any::<String>(), Just("evil\u{1b}[31m\nid".to_string()), Just(String::new()),]
}

fn control() -> impl Strategy<Value = Value> {
    let polity =
        prop_oneof![Just("dzungar".to_string()), Just("kazakh_senior".to_string()), Just("qing".to_string()), text(),];
    let status = prop_oneof![Just("core"), Just("occupied"), Just("tributary"), Just("besieged"), Just("nonsense")];
    prop::collection::vec((date_like(), date_like(), polity, status), 0..3).prop_map(|spans| {
        Value::Array(
            spans.into_iter().map(|(f, t, p, s)| json!({"from": f, "to": t, "polity": p, "status": s})).collect(),
        )
    })
}

fn feature() -> impl Strategy<Value = Value> {
    (
        prop::option::of(text()),
        text(),
        prop::option::of(date_like()),
        prop::option::of(date_like()),
        prop::option::of(control()),
        prop_oneof![Just("city"), Just("capital"), Just("fortress"), Just("advance"), Just("flight"), Just("?")],
        number(),
        geometry(),
    )
        .prop_map(|(id, name, start, end, control, kind, rank, geometry)| {
            let mut props = json!({"name": name, "kind": kind, "rank": rank, "side": "dzungar",
                "caption": "a caption", "strength": [rank.clone(), 5]});
            if let Some(id) = id {
                props["id"] = json!(id);
            }
            if let Some(s) = start {
                props["start_date"] = json!(s);
            }
            if let Some(e) = end {
                props["end_date"] = json!(e);
            }
            if let Some(c) = control {
                props["control"] = c;
            }
            json!({"type": "Feature", "properties": props, "geometry": geometry})
        })
}

fn layer_text() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => prop::collection::vec(feature(), 0..5)
            .prop_map(|f| json!({"type": "FeatureCollection", "features": f}).to_string()),
        1 => any::<String>(),
        1 => Just("{\"type\": \"FeatureCollection\", \"features\": [".repeat(3)),
    ]
}

/// A well-formed feature of `layer` (so that half the datasets load and get drawn):
/// the right geometry, dates in order, known polities; its shape is still random.
fn sane_feature(layer: Layer, id: String) -> impl Strategy<Value = Value> {
    let centre = (61.0..79.0f64, 39.0..49.0f64);
    let shape = prop::collection::vec(0.05..1.5f64, 3..9);
    let years = (1600i32..1800, 0i32..80);
    let polity =
        prop_oneof![Just("dzungar"), Just("kazakh_senior"), Just("kazakh_middle"), Just("qing"), Just("russia")];
    (centre, shape, years, polity, any::<bool>()).prop_map(move |((cx, cy), radii, (start, len), polity, flag)| {
        let n = radii.len();
        let pts: Vec<Value> = radii
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let t = i as f64 / n as f64 * std::f64::consts::TAU;
                json!([cx + r * t.cos(), cy + r * t.sin()])
            })
            .collect();
        let mut ring = pts.clone();
        ring.push(pts[0].clone());
        let point = json!({"type": "Point", "coordinates": [cx, cy]});
        let geometry = match layer {
            Layer::Territories | Layer::Water => json!({"type": "Polygon", "coordinates": [ring]}),
            Layer::Campaigns | Layer::Rivers => json!({"type": "LineString", "coordinates": pts}),
            Layer::Landforms if flag => json!({"type": "Polygon", "coordinates": [ring]}),
            Layer::Events if flag => Value::Null,
            _ => point,
        };
        let (from, to) = (start.to_string(), (start + len).to_string());
        json!({"type": "Feature", "geometry": geometry, "properties": {
            "id": id, "name": format!("Place {id}"), "name:kk": "Қала", "start_date": from, "end_date": to,
            "kind": if layer == Layer::Campaigns { "advance" } else { "city" }, "side": polity, "victor": polity,
            "rank": 1 + (len % 3), "caption": "Something happened", "strength": [1000, 5000],
            "control": [{"from": from, "to": to, "polity": polity, "status": if flag { "core" } else { "occupied" }}]}})
    })
}

/// A well-formed layer of up to four features, with ids unique across the dataset.
fn sane_layer(i: usize) -> impl Strategy<Value = String> {
    let layer = Layer::ALL[i];
    (0usize..5)
        .prop_flat_map(move |n| (0..n).map(|k| sane_feature(layer, format!("f{i}-{k}"))).collect::<Vec<_>>())
        .prop_map(|f| json!({"type": "FeatureCollection", "features": f}).to_string())
}

fn atlas_json() -> impl Strategy<Value = String> {
    (prop::collection::vec(number(), 4), prop::option::of((any::<i32>(), any::<i32>()))).prop_map(|(b, period)| {
        let mut doc = json!({"title": "t", "bbox": b});
        if let Some((a, z)) = period {
            doc["period"] = json!([a, z]);
        }
        doc.to_string()
    })
}

fn print_style() -> &'static Style {
    static STYLE: OnceLock<Style> = OnceLock::new();
    STYLE.get_or_init(|| Style::load("print").expect("embedded style"))
}

/// Draw a loaded atlas small, as PNG and SVG, through the same view checks as `render`.
fn draw_small(atlas: &Atlas, style: &Style, year: i32) {
    let Some(b) = atlas.data.default_bbox() else { return };
    let bbox = LonLatBox::from_array(b);
    if check_view_box(ProjectionKind::Lcc, &bbox).is_err() {
        return;
    }
    let view = View::fit(Projection::fitted(ProjectionKind::Lcc, &bbox), &bbox, 96, 64);
    if view.check().is_ok() {
        let opts = RenderOptions::frame(Year(year), 96.0);
        render(atlas, style, &view, &opts);
        // The vector surface too: what it writes stays XML, whatever the names hold.
        let (svg, _) = steppe_atlas::render::render_svg(atlas, style, &view, &opts, &Default::default());
        if let Err(e) = roxmltree::Document::parse(&svg) {
            panic!("the SVG is not XML: {e}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn the_loader_takes_any_geojson(
        layers in prop_oneof![
            prop::collection::vec((0usize..8, layer_text()), 1..4),
            prop::collection::vec(0usize..8, 1..5)
                .prop_flat_map(|ix| ix.into_iter().map(|i| (Just(i), sane_layer(i))).collect::<Vec<_>>()),
        ],
        meta in prop_oneof![3 => Just(None), 1 => atlas_json().prop_map(Some)],
        year in 1690i32..1760,
    ) {
        let dir = tempfile::tempdir().map_err(|e| TestCaseError::fail(e.to_string()))?;
        for (i, text) in &layers {
            std::fs::write(dir.path().join(Layer::ALL[*i].file_name()), text).map_err(|e| TestCaseError::fail(e.to_string()))?;
        }
        if let Some(m) = &meta {
            std::fs::write(dir.path().join("atlas.json"), m).map_err(|e| TestCaseError::fail(e.to_string()))?;
        }
        let loaded = Dataset::load(&Source::Dir(dir.path().to_path_buf()), EndDates::Inclusive);
        let problems = steppe_atlas::validate::validate(&loaded, print_style());
        for p in &problems {
            let line = p.to_string();
            prop_assert!(!line.contains('\n') && !line.contains('\u{1b}'), "a problem spans lines: {line:?}");
        }
        if problems.iter().all(|p| p.severity != steppe_atlas::Severity::Error) {
            let atlas = Atlas::new(loaded.dataset);
            let hits = steppe_atlas::query::query(&atlas, Year(year), 70.0, 44.0, 500.0);
            let doc = steppe_atlas::query::to_json(&hits, Year(year), 70.0, 44.0, "en");
            let text = steppe_atlas::output::json_safe(doc.to_string());
            prop_assert!(serde_json::from_str::<Value>(&text).is_ok());
            draw_small(&atlas, print_style(), year);
        }
    }
}

// ---------- style loader ----------

/// Every number in a style document, by its path.
fn numeric_paths(v: &Value, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    match v {
        Value::Number(_) => out.push(path.clone()),
        Value::Object(m) => {
            for (k, x) in m {
                path.push(k.clone());
                numeric_paths(x, path, out);
                path.pop();
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                path.push(i.to_string());
                numeric_paths(x, path, out);
                path.pop();
            }
        }
        _ => {}
    }
}

fn set_path(v: &mut Value, path: &[String], new: Value) {
    let mut cur = v;
    for k in path {
        cur = match cur {
            Value::Object(m) => m.get_mut(k).expect("path from the document"),
            Value::Array(a) => &mut a[k.parse::<usize>().expect("index")],
            _ => unreachable!("numbers are leaves"),
        };
    }
    *cur = new;
}

fn built_in() -> &'static Atlas {
    static ATLAS: OnceLock<Atlas> = OnceLock::new();
    ATLAS.get_or_init(|| Atlas::load(&Source::Embedded, EndDates::Inclusive).expect("built-in atlas"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn the_style_loader_bounds_every_number(
        picks in prop::collection::vec((any::<prop::sample::Index>(), prop_oneof![
            12 => (0.3..30.0f64).prop_map(|v| json!(v)),
            2 => (-1e3..1e3f64).prop_map(|v| json!(v)),
            1 => any::<f64>().prop_map(|v| json!(v)),
            1 => prop_oneof![Just(json!(1e30)), Just(json!(-1e9)), Just(json!(1e-9)), Just(json!(0)),
                             Just(json!(-0.0)), Just(json!("12")), Just(Value::Null), Just(json!(300))],
        ]), 1..3),
    ) {
        let base: Value = serde_json::from_str(steppe_atlas::style::EMBEDDED[1].1).expect("print.json");
        let mut paths = Vec::new();
        numeric_paths(&base, &mut Vec::new(), &mut paths);
        let mut doc = base.clone();
        for (ix, val) in &picks {
            set_path(&mut doc, &paths[ix.index(paths.len())], val.clone());
        }
        match Style::from_json(&doc.to_string(), "fuzz.json") {
            Err(e) => {
                let msg = e.to_string();
                prop_assert!(msg.starts_with("fuzz.json: ") && !msg.contains('\n'), "{msg}");
            }
            // Whatever the loader accepts renders.
            Ok(style) => draw_small(built_in(), &style, 1723),
        }
    }
}

// ---------- tile paths ----------

fn server() -> &'static (tokio::runtime::Runtime, Arc<steppe_atlas::serve::ServerState>) {
    static SERVER: OnceLock<(tokio::runtime::Runtime, Arc<steppe_atlas::serve::ServerState>)> = OnceLock::new();
    SERVER.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
        let source = Source::Dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/mini"));
        let atlas = Atlas::load(&source, EndDates::Inclusive).expect("mini atlas");
        let st = steppe_atlas::serve::ServerState::new(
            atlas,
            Style::load("atlas").expect("style"),
            Style::load("print").expect("style"),
            "en",
            16 << 20,
        );
        (rt, Arc::new(st))
    })
}

fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        (0u32..20).prop_map(|v| v.to_string()),
        "-?[0-9]{1,12}",
        "[0-9a-z@.%]{0,10}",
        Just("..".to_string()),
        Just("%2e%2e".to_string()),
        Just("1723.json".to_string()),
    ]
}

fn suffix() -> impl Strategy<Value = String> {
    prop_oneof![Just(".png"), Just("@2x.png"), Just(""), Just(".jpg"), Just("@3x.png")].prop_map(str::to_string)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn tile_paths_never_fail_the_server(
        year in prop_oneof![(1600i32..1800).prop_map(|y| y.to_string()), segment()],
        z in segment(), x in segment(), y in segment(), sfx in suffix(),
        extra in prop_oneof![Just(String::new()), segment().prop_map(|s| format!("/{s}"))],
    ) {
        use tower::ServiceExt;
        let uri = format!("/tiles/{year}/{z}/{x}/{y}{sfx}{extra}");
        let Ok(req) = axum::http::Request::builder().uri(&uri).body(axum::body::Body::empty()) else {
            return Ok(());
        };
        let (rt, st) = server();
        let res = rt.block_on(steppe_atlas::serve::router(st.clone()).oneshot(req)).expect("infallible");
        let status = res.status().as_u16();
        prop_assert!([200, 304, 400, 404, 503].contains(&status), "{uri} → {status}");
    }

    #[test]
    fn feature_queries_never_fail_the_server(
        year in segment(), lon in prop_oneof![number().prop_map(|v| v.to_string()), segment()],
        lat in prop_oneof![number().prop_map(|v| v.to_string()), segment()], r in segment(),
    ) {
        use tower::ServiceExt;
        let uri = format!("/api/features?year={year}&lon={lon}&lat={lat}&radius_km={r}");
        let Ok(req) = axum::http::Request::builder().uri(&uri).body(axum::body::Body::empty()) else {
            return Ok(());
        };
        let (rt, st) = server();
        let res = rt.block_on(steppe_atlas::serve::router(st.clone()).oneshot(req)).expect("infallible");
        prop_assert!([200, 400, 503].contains(&res.status().as_u16()), "{uri} → {}", res.status());
    }
}
