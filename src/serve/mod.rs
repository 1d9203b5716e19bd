//! The tile server: a web viewer with a year slider, tiles rendered on demand into a
//! bounded cache (with ETags and 304s), TileJSON, frames, feature queries and the
//! timeline. Bad requests get 400/404 with a short message; nothing reads the disk.

use crate::atlas::{map_state, Atlas};
use crate::data::Layer;
use crate::output::encode_png;
use crate::project::{LonLatBox, Projection, ProjectionKind, View};
use crate::render::{render, RenderOptions};
use crate::style::Style;
use crate::tiles::grid::{MetaTile, TileId};
use crate::tiles::{render_metatile, TileLook};
use crate::time::Year;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

const VIEWER: &str = include_str!("viewer.html");
const LEAFLET_JS: &str = include_str!("assets/leaflet.js");
const LEAFLET_CSS: &str = include_str!("assets/leaflet.css");

/// Tiles per side of the metatiles rendered on demand.
const METATILE: u32 = 4;
/// Years a request may ask for.
const YEARS: std::ops::RangeInclusive<i32> = -9999..=9999;

/// A bounded cache of encoded images keyed by what they show, evicting the oldest.
pub struct ImageCache {
    entries: HashMap<String, Arc<Vec<u8>>>,
    order: VecDeque<String>,
    bytes: usize,
    limit: usize,
}

impl ImageCache {
    /// A cache holding at most `limit` bytes of images.
    pub fn new(limit: usize) -> ImageCache {
        ImageCache { entries: HashMap::new(), order: VecDeque::new(), bytes: 0, limit }
    }

    /// The image stored under `key`.
    pub fn get(&self, key: &str) -> Option<Arc<Vec<u8>>> {
        self.entries.get(key).cloned()
    }

    /// Store an image, evicting the oldest until the cache is within its bound.
    pub fn put(&mut self, key: String, value: Arc<Vec<u8>>) {
        if self.entries.contains_key(&key) {
            return;
        }
        self.bytes += value.len();
        self.entries.insert(key.clone(), value);
        self.order.push_back(key);
        while self.bytes > self.limit {
            let Some(old) = self.order.pop_front() else { break };
            if let Some(v) = self.entries.remove(&old) {
                self.bytes -= v.len();
            }
        }
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

/// What the server needs: the atlas, its styles and the cache.
pub struct ServerState {
    atlas: Atlas,
    tile_style: Style,
    frame_style: Style,
    lang: String,
    cache: Mutex<ImageCache>,
    /// Striped locks so that concurrent requests for tiles of one metatile render it once.
    renders: Vec<Mutex<()>>,
}

impl ServerState {
    /// A server over an atlas, drawing tiles in `tile_style` and frames in `frame_style`.
    pub fn new(atlas: Atlas, tile_style: Style, frame_style: Style, lang: &str, cache_bytes: usize) -> ServerState {
        ServerState {
            atlas,
            tile_style,
            frame_style,
            lang: lang.to_string(),
            cache: Mutex::new(ImageCache::new(cache_bytes)),
            renders: (0..64).map(|_| Mutex::new(())).collect(),
        }
    }

    fn cached(&self, key: &str) -> Option<Arc<Vec<u8>>> {
        self.cache.lock().ok()?.get(key)
    }

    fn store(&self, key: String, v: Arc<Vec<u8>>) {
        if let Ok(mut c) = self.cache.lock() {
            c.put(key, v);
        }
    }
}

/// The router with every route of the server.
pub fn router(state: Arc<ServerState>) -> Router {
    Router::new()
        .route("/", get(viewer))
        .route("/assets/{name}", get(asset))
        .route("/health", get(|| async { "ok" }))
        .route("/tiles/{year_json}", get(tilejson))
        .route("/tiles/{year}/{z}/{x}/{y}", get(tile))
        .route("/frames/{year_png}", get(frame))
        .route("/api/features", get(features))
        .route("/api/timeline", get(timeline))
        .fallback(|| async { bad(StatusCode::NOT_FOUND, "no such page") })
        .with_state(state)
}

/// Serve until the process is stopped; prints the address it listens on.
pub async fn serve(addr: &str, state: Arc<ServerState>) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    eprintln!("steppe-atlas serving on http://{}/", listener.local_addr()?);
    axum::serve(listener, router(state)).await
}

fn bad(status: StatusCode, msg: &str) -> Response {
    (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], format!("{msg}\n")).into_response()
}

fn etag_of(bytes: &[u8]) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut h);
    format!("\"{:016x}\"", h.finish())
}

/// An image response with ETag and caching headers, or 304 when the client has it.
fn image(bytes: Arc<Vec<u8>>, req: &HeaderMap, content_type: &'static str) -> Response {
    let etag = etag_of(&bytes);
    let fresh = req
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut headers = HeaderMap::new();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=86400"));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, v);
    }
    if fresh {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    (StatusCode::OK, headers, bytes.as_ref().clone()).into_response()
}

async fn viewer() -> Response {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], VIEWER).into_response()
}

async fn asset(Path(name): Path<String>) -> Response {
    match name.as_str() {
        "leaflet.js" => ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], LEAFLET_JS).into_response(),
        "leaflet.css" => ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], LEAFLET_CSS).into_response(),
        _ => bad(StatusCode::NOT_FOUND, "no such asset"),
    }
}

fn parse_year(s: &str) -> Option<i32> {
    s.parse::<i32>().ok().filter(|y| YEARS.contains(y))
}

fn bad_year(s: &str) -> Response {
    bad(StatusCode::BAD_REQUEST, &format!("bad year {s:?}"))
}

fn extent(state: &ServerState) -> [f64; 4] {
    state.atlas.data.extent().unwrap_or([-180.0, -85.0, 180.0, 85.0])
}

async fn tilejson(State(st): State<Arc<ServerState>>, Path(year_json): Path<String>) -> Response {
    let Some(y) = year_json.strip_suffix(".json") else { return bad(StatusCode::NOT_FOUND, "no such page") };
    let Some(year) = parse_year(y) else { return bad_year(y) };
    let b = extent(&st);
    let doc = serde_json::json!({
        "tilejson": "3.0.0",
        "name": format!("{} {year}", st.atlas.data.title(&st.lang)).trim(),
        "attribution": st.atlas.data.meta.credit,
        "scheme": "xyz",
        "tiles": [format!("/tiles/{year}/{{z}}/{{x}}/{{y}}.png")],
        "minzoom": 0, "maxzoom": 12,
        "bounds": b,
        "center": [(b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0, 4],
    });
    axum::Json(doc).into_response()
}

async fn tile(
    State(st): State<Arc<ServerState>>,
    Path((year, z, x, y)): Path<(String, String, String, String)>,
    headers: HeaderMap,
) -> Response {
    let Some(year) = parse_year(&year) else { return bad_year(&year) };
    let (y_txt, scale) = match (y.strip_suffix("@2x.png"), y.strip_suffix(".png")) {
        (Some(v), _) => (v, 2),
        (None, Some(v)) => (v, 1),
        _ => return bad(StatusCode::NOT_FOUND, "tiles end in .png or @2x.png"),
    };
    let id = match (z.parse::<u8>(), x.parse::<u32>(), y_txt.parse::<u32>()) {
        (Ok(z), Ok(x), Ok(y)) if z <= 18 => TileId::new(z, x, y),
        _ => None,
    };
    let Some(id) = id else { return bad(StatusCode::NOT_FOUND, "no such tile") };
    let key = move |t: TileId, state: u64| format!("t/{state:x}/{scale}/{}/{}/{}", t.z, t.x, t.y);
    let st2 = st.clone();
    let result = tokio::task::spawn_blocking(move || {
        let state = map_state(&st2.atlas, year);
        if let Some(hit) = st2.cached(&key(id, state)) {
            return Ok(hit);
        }
        // Render the whole metatile around the tile (labels stay whole) and keep it all;
        // a request for a tile of a metatile being rendered waits for it.
        let mt = MetaTile::of(id, METATILE);
        let stripe = {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            (state, scale, mt).hash(&mut h);
            (h.finish() % st2.renders.len() as u64) as usize
        };
        let _guard = st2.renders[stripe].lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(hit) = st2.cached(&key(id, state)) {
            return Ok(hit);
        }
        let n = 1u32 << id.z;
        let wanted: Vec<TileId> = (mt.x..(mt.x + mt.size).min(n))
            .flat_map(|x| (mt.y..(mt.y + mt.size).min(n)).map(move |y| TileId { z: id.z, x, y }))
            .collect();
        let look = TileLook { scale, buffer_px: 128, lang: st2.lang.clone() };
        let tiles = render_metatile(&st2.atlas, &st2.tile_style, &mt, &wanted, year, &look)?;
        let mut mine = None;
        for (t, png) in tiles {
            if t == id {
                mine = Some(png.clone());
            }
            st2.store(key(t, state), png);
        }
        mine.ok_or_else(|| crate::error::Error::Encode("tile missing from its metatile".into()))
    })
    .await;
    match result {
        Ok(Ok(png)) => image(png, &headers, "image/png"),
        _ => bad(StatusCode::INTERNAL_SERVER_ERROR, "could not render the tile"),
    }
}

async fn frame(State(st): State<Arc<ServerState>>, Path(year_png): Path<String>, headers: HeaderMap) -> Response {
    let Some(y) = year_png.strip_suffix(".png") else { return bad(StatusCode::NOT_FOUND, "frames end in .png") };
    let Some(year) = parse_year(y) else { return bad_year(y) };
    let st2 = st.clone();
    let result = tokio::task::spawn_blocking(move || {
        let key = format!("f/{year}");
        if let Some(hit) = st2.cached(&key) {
            return Ok(hit);
        }
        let bbox = LonLatBox::from_array(st2.atlas.data.default_bbox().unwrap_or([-180.0, -80.0, 180.0, 80.0]));
        let view = View::fit(Projection::fitted(ProjectionKind::Lcc, &bbox), &bbox, 1280, 720);
        let mut opts = RenderOptions::frame(Year(year), 96.0);
        opts.lang = st2.lang.clone();
        let png = Arc::new(encode_png(&render(&st2.atlas, &st2.frame_style, &view, &opts).pixmap, 96.0)?);
        st2.store(key, png.clone());
        Ok::<_, crate::error::Error>(png)
    })
    .await;
    match result {
        Ok(Ok(png)) => image(png, &headers, "image/png"),
        _ => bad(StatusCode::INTERNAL_SERVER_ERROR, "could not render the frame"),
    }
}

async fn features(State(st): State<Arc<ServerState>>, Query(q): Query<HashMap<String, String>>) -> Response {
    let num = |k: &str| q.get(k).and_then(|v| v.parse::<f64>().ok()).filter(|v| v.is_finite());
    let (Some(year), Some(lon), Some(lat)) = (q.get("year").and_then(|v| parse_year(v)), num("lon"), num("lat")) else {
        return bad(StatusCode::BAD_REQUEST, "need year, lon and lat (numbers)");
    };
    let radius = match q.get("radius_km") {
        None => 25.0,
        Some(_) => match num("radius_km") {
            Some(r) if (0.0..=5000.0).contains(&r) => r,
            _ => return bad(StatusCode::BAD_REQUEST, "radius_km must be a number within 0–5000"),
        },
    };
    if !(-180.0..=180.0).contains(&lon) || !(-90.0..=90.0).contains(&lat) {
        return bad(StatusCode::BAD_REQUEST, "lon/lat off the globe");
    }
    let hits = crate::query::query(&st.atlas, Year(year), lon, lat, radius);
    axum::Json(crate::query::to_json(&hits, Year(year), lon, lat, &st.lang)).into_response()
}

async fn timeline(State(st): State<Arc<ServerState>>) -> Response {
    let data = &st.atlas.data;
    // The dataset's own period (atlas.json, else its dates), not the built-in war's.
    let (from, to) = data.years().unwrap_or((1635, 1741));
    let mut events: Vec<serde_json::Value> = Vec::new();
    for y in from..=to {
        let captions = data.captions(Year(y), &st.lang);
        if !captions.is_empty() {
            events.push(serde_json::json!({"year": y, "caption": captions.join(" · ")}));
        }
    }
    let battles: Vec<i32> = data.layer(Layer::Battles).iter().filter_map(|b| b.span.start_year()).collect();
    let phases: Vec<serde_json::Value> = data
        .meta
        .phases
        .iter()
        .map(|p| serde_json::json!({"from": p.from, "to": p.to, "name": p.name(&st.lang)}))
        .collect();
    // Only the polities this dataset names (the style may know many more).
    let named: std::collections::HashSet<&str> = data.polity_refs().into_iter().map(|(_, _, p)| p).collect();
    let polities: Vec<serde_json::Value> = st
        .tile_style
        .polities
        .iter()
        .filter(|(id, _)| named.contains(id.as_str()))
        .map(|(id, p)| {
            let c = st.tile_style.land.mix(p.fill, st.tile_style.territories.fill_opacity);
            serde_json::json!({"id": id, "name": p.name(&st.lang),
                "fill": format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2),
                "border": format!("#{:02x}{:02x}{:02x}", p.border.0, p.border.1, p.border.2)})
        })
        .collect();
    axum::Json(serde_json::json!({
        "title": data.title(&st.lang), "from": from, "to": to, "bbox": data.default_bbox(), "events": events,
        "battles": battles, "phases": phases, "polities": polities,
    }))
    .into_response()
}
