//! The tile server: a web viewer with a year slider, tiles rendered on demand into a
//! bounded cache (with ETags and 304s), TileJSON, frames, feature queries and the
//! timeline. Bad requests get 400/404 with a short message; nothing reads the disk.
//!
//! Renders run on a fixed pool behind a semaphore ([`limits`]): when it is full a request
//! gets `503` with `Retry-After` at once. Connections are capped and must send their
//! headers in time. The cache counts what it really holds. Nothing that loops over
//! the data runs on the async threads: the timeline is built once at start.

pub mod archive;
pub mod cache;
pub mod limits;
mod vector;

pub use cache::{CachedImage, ImageCache, ImageKey, YearStates};

use limits::{Refused, RenderPool, ServeLimits, RETRY_AFTER_S};

use crate::atlas::Atlas;
use crate::data::Layer;
use crate::imageformat::encode_tile;
use crate::imageformat::ImageFormat;
use crate::output::encode_png;
use crate::project::{LonLatBox, Projection, ProjectionKind, View};
use crate::render::record::Recording;
use crate::render::{render, RenderOptions};
use crate::style::Style;
use crate::tiles::grid::{MetaTile, TileId};
use crate::tiles::{record_metatile, render_tile, TileLook};
use crate::time::Year;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use bytes::Bytes;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

const VIEWER: &str = include_str!("viewer.html");
const LEAFLET_JS: &str = include_str!("assets/leaflet.js");
const LEAFLET_CSS: &str = include_str!("assets/leaflet.css");

/// Metatile layouts the server keeps for drawing their other tiles.
const RECORDINGS_KEPT: usize = 64;

/// Tiles per side of the metatiles laid out on demand: as for `tiles`, so that the
/// server draws the tiles an export holds.
const METATILE: u32 = crate::tiles::METATILE;
/// Years a request may ask for.
const YEARS: std::ops::RangeInclusive<i32> = -9999..=9999;

/// What the server needs: the atlas, its styles, the cache, the render pool and what is
/// computed once at start.
pub struct ServerState {
    atlas: Atlas,
    tile_style: Style,
    frame_style: Style,
    lang: String,
    cache: ImageCache,
    /// Striped locks so that concurrent requests for tiles of one metatile lay it out once.
    renders: Vec<Mutex<()>>,
    /// Metatiles laid out lately (by map state, scale, language and metatile), from which
    /// each tile asked for is drawn on its own.
    recordings: quick_cache::sync::Cache<(u64, u8, Arc<str>, MetaTile), Arc<Recording>>,
    /// The pool every render runs on.
    pool: RenderPool,
    /// The pool feature queries run on.
    queries: RenderPool,
    /// The bounds the server keeps.
    limits: ServeLimits,
    /// `/api/timeline`, built at start.
    timeline: Vec<u8>,
    /// The data's extent for TileJSON, computed at start.
    extent: [f64; 4],
    /// The map state of every year, computed at start.
    states: YearStates,
    /// The server's label language, shared by the cache keys of its tiles.
    lang_key: Arc<str>,
    /// How other web pages may use the server (CORS) and where it is reached from.
    web: WebOptions,
    /// `serve --tiles PATH`: tiles read from an export instead of rendered.
    archive: Option<Arc<archive::TileArchive>>,
    /// `/api/meta` (less the parts that depend on the request), built at start.
    meta: serde_json::Value,
    /// `/api/timeline` in other languages than the server's, built when first asked.
    timelines: Mutex<HashMap<String, Vec<u8>>>,
    /// The dated features the `/vector` routes cut tiles from, built on the first request.
    vector: std::sync::OnceLock<vector::Vector>,
    /// The tile format TileJSON, `/api/meta` and the viewer point at (`serve --image`);
    /// tiles are served in both.
    image: ImageFormat,
}

/// What a web map on another page needs from the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebOptions {
    /// `Access-Control-Allow-Origin` on every answer: `*`, one origin, or None for no CORS.
    pub cors: Option<String>,
    /// The server's public address for the absolute URLs in TileJSON (`https://maps.example`);
    /// None takes it from each request's `Host` header.
    pub public_url: Option<String>,
}

impl Default for WebOptions {
    fn default() -> WebOptions {
        WebOptions { cors: Some("*".into()), public_url: None }
    }
}

/// The highest zoom the server renders tiles for.
pub const MAX_ZOOM: u8 = 18;

impl ServerState {
    /// A server over an atlas, drawing tiles in `tile_style` and frames in `frame_style`,
    /// with the default [`ServeLimits`].
    pub fn new(atlas: Atlas, tile_style: Style, frame_style: Style, lang: &str, cache_bytes: usize) -> ServerState {
        ServerState::with_limits(atlas, tile_style, frame_style, lang, cache_bytes, ServeLimits::default())
    }

    /// A server with the given limits.
    pub fn with_limits(
        atlas: Atlas,
        tile_style: Style,
        frame_style: Style,
        lang: &str,
        cache_bytes: usize,
        limits: ServeLimits,
    ) -> ServerState {
        let timeline = timeline_json(&atlas, &tile_style, lang);
        let meta = meta_json(&atlas, &tile_style, lang);
        let extent = atlas.data.extent().unwrap_or([-180.0, -85.0, 180.0, 85.0]);
        ServerState {
            extent,
            pool: RenderPool::new(limits.render_threads, limits.max_renders),
            queries: RenderPool::new(limits.render_threads, limits.max_renders * 4),
            limits,
            timeline,
            states: YearStates::build(&atlas),
            lang_key: Arc::from(lang),
            atlas,
            tile_style,
            frame_style,
            lang: lang.to_string(),
            cache: ImageCache::new(cache_bytes),
            renders: (0..64).map(|_| Mutex::new(())).collect(),
            recordings: quick_cache::sync::Cache::new(RECORDINGS_KEPT),
            web: WebOptions::default(),
            archive: None,
            meta,
            timelines: Mutex::new(HashMap::new()),
            vector: std::sync::OnceLock::new(),
            image: ImageFormat::Png,
        }
    }

    /// The same server reading its tiles from an export (`serve --tiles PATH`) instead of
    /// rendering them; the atlas still answers `/api` and `/frames`.
    pub fn with_tiles(mut self, archive: archive::TileArchive) -> ServerState {
        self.archive = Some(Arc::new(archive));
        self
    }

    /// The same server pointing TileJSON, `/api/meta` and the viewer at tiles in `image`
    /// (`.png` and `.webp` tiles are served either way).
    pub fn with_image(mut self, image: ImageFormat) -> ServerState {
        self.image = image;
        self
    }

    /// The same server with other web options (CORS, public address).
    pub fn with_web(mut self, web: WebOptions) -> ServerState {
        self.web = web;
        self
    }

    /// The limits the server keeps.
    pub fn limits(&self) -> &ServeLimits {
        &self.limits
    }

    /// Bytes held by the image cache.
    pub fn cache_bytes(&self) -> usize {
        self.cache.bytes()
    }

    /// The map state of `year`, from the table built at start.
    pub fn state_of(&self, year: i32) -> u64 {
        self.states.get(year)
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
        .route("/api/meta", get(api_meta))
        .route("/pmtiles/{name}", get(raw_pmtiles))
        .merge(vector::router())
        .fallback(|| async { bad(StatusCode::NOT_FOUND, "no such page") })
        .layer(axum::middleware::from_fn_with_state(state.clone(), cors))
        .with_state(state)
}

/// CORS: every answer carries `Access-Control-Allow-Origin`, and a preflight `OPTIONS`
/// is answered at once, so a map on another origin can read TileJSON, tiles and the API.
async fn cors(
    State(st): State<Arc<ServerState>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let Some(origin) = st.web.cors.clone() else { return next.run(req).await };
    let allow = HeaderValue::from_str(&origin).unwrap_or(HeaderValue::from_static("*"));
    let mut res = if req.method() == axum::http::Method::OPTIONS {
        let mut r = StatusCode::NO_CONTENT.into_response();
        let h = r.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("GET, HEAD, OPTIONS"));
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            req.headers().get(header::ACCESS_CONTROL_REQUEST_HEADERS).cloned().unwrap_or(HeaderValue::from_static("*")),
        );
        h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("86400"));
        r
    } else {
        next.run(req).await
    };
    let h = res.headers_mut();
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allow);
    h.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("ETag, Content-Length, Content-Range, Accept-Ranges"),
    );
    if origin != "*" {
        h.append(header::VARY, HeaderValue::from_static("Origin"));
    }
    res
}

/// The server's public base URL for absolute links: `--public-url`, else the request's
/// `Host` (a host name and port only; anything else falls back to localhost).
fn base_url(st: &ServerState, headers: &HeaderMap) -> String {
    if let Some(u) = &st.web.public_url {
        return u.trim_end_matches('/').to_string();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_alphanumeric() || "-.:[]".contains(c)))
        .unwrap_or("localhost");
    format!("http://{host}")
}

/// Serve until the process is stopped; prints the address it listens on.
pub async fn serve(addr: &str, state: Arc<ServerState>) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    crate::note!("steppe-atlas serving on http://{}/", listener.local_addr()?);
    serve_on(listener, state).await
}

/// Serve on a bound listener until the process is stopped, within the state's limits.
pub async fn serve_on(listener: tokio::net::TcpListener, state: Arc<ServerState>) -> std::io::Result<()> {
    let limits = state.limits.clone();
    limits::serve_connections(listener, router(state), &limits).await
}

/// `503 Service Unavailable` with `Retry-After`: the render pool is full.
fn busy() -> Response {
    let mut r = bad(StatusCode::SERVICE_UNAVAILABLE, "busy rendering; retry shortly");
    r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_S));
    r
}

/// JSON with the control characters JSON lets through raw escaped.
fn json(value: &serde_json::Value) -> Response {
    let text = crate::output::json_safe(value.to_string());
    ([(header::CONTENT_TYPE, "application/json")], text).into_response()
}

fn bad(status: StatusCode, msg: &str) -> Response {
    (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], format!("{msg}\n")).into_response()
}

/// An image response with ETag and caching headers, or 304 when the client has it. The
/// ETag was computed when the image was stored; the body shares the cache's bytes.
fn image(img: CachedImage, req: &HeaderMap, content_type: &'static str) -> Response {
    // If-None-Match compares weakly (RFC 9110 §13.1.2): `W/"x"` matches `"x"`.
    let fresh = req.get_all(header::IF_NONE_MATCH).iter().any(|v| {
        let weak = |t: &[u8]| t.strip_prefix(b"W/").unwrap_or(t).to_vec();
        let etag = weak(img.etag.as_bytes());
        v.as_bytes().split(|c| *c == b',').any(|t| {
            let t = t.trim_ascii();
            weak(t) == etag || t == b"*"
        })
    });
    let mut headers = HeaderMap::with_capacity(4);
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=86400"));
    headers.insert(header::ETAG, img.etag);
    if fresh {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    (StatusCode::OK, headers, img.bytes).into_response()
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
    state.extent
}

async fn tilejson(
    State(st): State<Arc<ServerState>>,
    Path(year_json): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    // `?lang=kk` carries over to the tile URLs.
    let lang_query = match (q.contains_key("lang"), request_lang(&st, &q)) {
        (false, _) => String::new(),
        (true, Some(l)) => format!("?lang={l}"),
        (true, None) => return bad_lang(),
    };
    let Some(y) = year_json.strip_suffix(".json") else { return bad(StatusCode::NOT_FOUND, "no such page") };
    // `1723.json` for 256 px tiles, `1723@2x.json` for 512 px ones.
    let (y, suffix) = match y.strip_suffix("@2x") {
        Some(v) => (v, "@2x"),
        None => (y, ""),
    };
    let Some(year) = parse_year(y) else { return bad_year(y) };
    // `?image=webp` (or `png`) chooses the tiles' format; else the server's.
    let asked = match q.get("image") {
        None => None,
        Some(f) => match ImageFormat::from_name(f) {
            Some(f) => Some(f),
            None => return bad(StatusCode::BAD_REQUEST, "image must be png or webp"),
        },
    };
    let base = base_url(&st, &headers);
    if let Some(a) = &st.archive {
        return archive_tilejson(&st, a, year, suffix, &base, asked);
    }
    let ext = asked.unwrap_or(st.image).ext();
    let b = extent(&st);
    let doc = serde_json::json!({
        "tilejson": "3.0.0",
        "name": format!("{} {year}", st.atlas.data.title(&st.lang)).trim(),
        "attribution": st.atlas.data.meta.credit,
        "scheme": "xyz",
        "tiles": [format!("{base}/tiles/{year}/{{z}}/{{x}}/{{y}}{suffix}.{ext}{lang_query}")],
        "tileSize": if suffix.is_empty() { 256 } else { 512 },
        "minzoom": 0, "maxzoom": MAX_ZOOM,
        "bounds": b,
        "center": [(b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0, 4],
    });
    let mut r = json(&doc);
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    r
}

/// The label language of a request: `?lang=` (a language code such as `kk` or
/// `zh-Hant`), else the server's; None for a value that is not a language code.
fn request_lang(st: &ServerState, q: &HashMap<String, String>) -> Option<String> {
    let code = |l: &str| {
        (2..=16).contains(&l.len())
            && l.split('-').all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric()))
    };
    match q.get("lang") {
        None => Some(st.lang.clone()),
        Some(l) if code(l) => Some(l.to_ascii_lowercase()),
        Some(_) => None,
    }
}

fn bad_lang() -> Response {
    bad(StatusCode::BAD_REQUEST, "lang must be a language code such as en, kk or ru")
}

async fn tile(
    State(st): State<Arc<ServerState>>,
    Path((year, z, x, y)): Path<(String, String, String, String)>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let Some(year) = parse_year(&year) else { return bad_year(&year) };
    // Tiles of each language are cached apart; the server's own language is shared.
    let lang: Arc<str> = match q.contains_key("lang") {
        false => st.lang_key.clone(),
        true => match request_lang(&st, &q) {
            Some(l) if *l == *st.lang_key => st.lang_key.clone(),
            Some(l) => Arc::from(l),
            None => return bad_lang(),
        },
    };
    let Some((y_txt, format)) = y.rsplit_once('.').and_then(|(v, ext)| match ext {
        "png" => Some((v, ImageFormat::Png)),
        "webp" => Some((v, ImageFormat::Webp)),
        _ => None,
    }) else {
        return bad(StatusCode::NOT_FOUND, "tiles end in .png, @2x.png, .webp or @2x.webp");
    };
    let (y_txt, scale) = match y_txt.strip_suffix("@2x") {
        Some(v) => (v, 2u8),
        None => (y_txt, 1u8),
    };
    let id = match (z.parse::<u8>(), x.parse::<u32>(), y_txt.parse::<u32>()) {
        (Ok(z), Ok(x), Ok(y)) if z <= MAX_ZOOM => TileId::new(z, x, y),
        _ => None,
    };
    let Some(id) = id else { return bad(StatusCode::NOT_FOUND, "no such tile") };
    if let Some(a) = &st.archive {
        return archive_tile(a, year, scale, id, format, &headers).await;
    }
    let state = st.state_of(year);
    let look_lang = lang.clone();
    let key = move |tile: TileId| ImageKey::Tile { state, scale, lang: lang.clone(), tile, image: format };
    // The hot path: a cached tile is answered here, on the async thread, by lookups.
    if let Some(hit) = st.cache.get(&key(id)) {
        return image(hit, &headers, format.mime());
    }
    let st2 = st.clone();
    let result = st
        .pool
        .run(move || -> crate::error::Result<_> {
            if let Some(hit) = st2.cache.get(&key(id)) {
                return Ok(hit);
            }
            // Lay out the whole metatile around the tile (labels stay whole) once, keep
            // the layout, and draw just this tile from it; a request for a tile of a
            // metatile being laid out waits for it.
            let mt = MetaTile::of(id, METATILE);
            let look = TileLook { scale: u32::from(scale), buffer_px: 128, lang: look_lang.to_string(), image: format };
            let rec_key = (state, scale, look_lang.clone(), mt);
            let rec = match st2.recordings.get(&rec_key) {
                Some(rec) => rec,
                None => {
                    let stripe = {
                        use std::hash::{Hash, Hasher};
                        let mut h = std::collections::hash_map::DefaultHasher::new();
                        (state, scale, mt).hash(&mut h);
                        (h.finish() % st2.renders.len() as u64) as usize
                    };
                    let _guard = st2.renders[stripe].lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                    match st2.recordings.get(&rec_key) {
                        Some(rec) => rec,
                        None => {
                            let rec = Arc::new(record_metatile(&st2.atlas, &st2.tile_style, &mt, year, &look, false));
                            st2.recordings.insert(rec_key, rec.clone());
                            rec
                        }
                    }
                }
            };
            let pixels = render_tile(&rec, &mt, id, &look)?;
            let mut png = encode_tile(&pixels, 96.0 * f32::from(scale), format, None)?;
            // Hold no spare capacity: what the cache counts is what it holds.
            png.shrink_to_fit();
            Ok(st2.cache.put(key(id), Bytes::from(png)))
        })
        .await;
    match result {
        Ok(Ok(png)) => image(png, &headers, format.mime()),
        Err(Refused::Busy) => busy(),
        _ => bad(StatusCode::INTERNAL_SERVER_ERROR, "could not render the tile"),
    }
}

async fn frame(State(st): State<Arc<ServerState>>, Path(year_png): Path<String>, headers: HeaderMap) -> Response {
    let Some(y) = year_png.strip_suffix(".png") else { return bad(StatusCode::NOT_FOUND, "frames end in .png") };
    let Some(year) = parse_year(y) else { return bad_year(y) };
    let key = ImageKey::Frame { year };
    if let Some(hit) = st.cache.get(&key) {
        return image(hit, &headers, "image/png");
    }
    let st2 = st.clone();
    let result = st
        .pool
        .run(move || {
            let bbox = LonLatBox::from_array(st2.atlas.data.default_bbox().unwrap_or([-180.0, -80.0, 180.0, 80.0]));
            let kind =
                if bbox.south < 0.0 && bbox.north > 0.0 { ProjectionKind::Mercator } else { ProjectionKind::Lcc };
            let view = View::fit(Projection::fitted(kind, &bbox), &bbox, 1280, 720);
            let mut opts = RenderOptions::frame(Year(year), 96.0);
            opts.lang = st2.lang.clone();
            let mut png = encode_png(&render(&st2.atlas, &st2.frame_style, &view, &opts).pixmap, 96.0)?;
            png.shrink_to_fit();
            Ok::<_, crate::error::Error>(st2.cache.put(key, Bytes::from(png)))
        })
        .await;
    match result {
        Ok(Ok(png)) => image(png, &headers, "image/png"),
        Err(Refused::Busy) => busy(),
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
    // A query over a wide radius walks much of the data: off the async threads, on a
    // pool of its own so that clicks are answered while tiles render.
    let Some(lang) = request_lang(&st, &q) else { return bad_lang() };
    let st2 = st.clone();
    let doc = st
        .queries
        .run(move || {
            let hits = crate::query::query(&st2.atlas, Year(year), lon, lat, radius);
            crate::query::to_json(&hits, Year(year), lon, lat, &lang)
        })
        .await;
    match doc {
        Ok(doc) => json(&doc),
        Err(Refused::Busy) => busy(),
        Err(Refused::Failed) => bad(StatusCode::INTERNAL_SERVER_ERROR, "could not answer the query"),
    }
}

async fn timeline(State(st): State<Arc<ServerState>>, Query(q): Query<HashMap<String, String>>) -> Response {
    let Some(lang) = request_lang(&st, &q) else { return bad_lang() };
    let known = st.meta["languages"].as_array().is_some_and(|ls| ls.iter().any(|l| l == lang.as_str()));
    if lang == st.lang || !known {
        return ([(header::CONTENT_TYPE, "application/json")], st.timeline.clone()).into_response();
    }
    // Another language the data has: built once on the query pool, then kept.
    let hit = st.timelines.lock().ok().and_then(|m| m.get(&lang).cloned());
    let body = match hit {
        Some(b) => b,
        None => {
            let st2 = st.clone();
            let built = st.queries.run(move || timeline_json(&st2.atlas, &st2.tile_style, &lang)).await;
            match built {
                Ok(b) => {
                    if let Ok(mut m) = st.timelines.lock() {
                        m.insert(q.get("lang").cloned().unwrap_or_default().to_ascii_lowercase(), b.clone());
                    }
                    b
                }
                Err(Refused::Busy) => return busy(),
                Err(Refused::Failed) => return bad(StatusCode::INTERNAL_SERVER_ERROR, "could not build the timeline"),
            }
        }
    };
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// The polities a dataset names (the style may know many more).
fn polities_named_in(data: &crate::data::Dataset) -> std::collections::HashSet<&str> {
    data.polities_mentioned().into_iter().map(|(_, _, p)| p).collect()
}

/// `/api/timeline`: years, captions, battles, phases and polities, built once at start
/// (it walks every year of the period, kept within −9999…9999).
fn timeline_json(atlas: &Atlas, style: &Style, lang: &str) -> Vec<u8> {
    let data = &atlas.data;
    // The dataset's own period (atlas.json, else its dates), not the built-in war's.
    let years = crate::data::META_YEARS;
    let (from, to) = data
        .years()
        .map(|(a, b)| (a.max(*years.start()), b.min(*years.end())))
        .filter(|(a, b)| a <= b)
        .unwrap_or((1635, 1741));
    let mut events: Vec<serde_json::Value> = Vec::new();
    for y in from..=to {
        let captions = data.captions(Year(y), lang);
        if !captions.is_empty() {
            events.push(serde_json::json!({"year": y, "caption": captions.join(" · ")}));
        }
    }
    let battles: Vec<i32> = data.layer(Layer::Battles).iter().filter_map(|b| b.span.start_year()).collect();
    let phases: Vec<serde_json::Value> = data
        .meta
        .phases
        .iter()
        .map(|p| serde_json::json!({"from": p.from, "to": p.to, "name": p.name(lang)}))
        .collect();
    let named = polities_named_in(data);
    let polities: Vec<serde_json::Value> = style
        .polities
        .iter()
        .filter(|(id, _)| named.contains(id.as_str()))
        .map(|(id, p)| {
            let c = style.land.mix(p.fill, style.territories.fill_opacity);
            serde_json::json!({"id": id, "name": p.name(lang),
                "fill": format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2),
                "border": format!("#{:02x}{:02x}{:02x}", p.border.0, p.border.1, p.border.2)})
        })
        .collect();
    let doc = serde_json::json!({
        "title": data.title(lang), "from": from, "to": to, "bbox": data.default_bbox(), "events": events,
        "battles": battles, "phases": phases, "polities": polities,
    });
    crate::output::json_safe(doc.to_string()).into_bytes()
}

/// Every language the data names things in (`en` always): feature names, the title,
/// polity names and event captions.
fn languages(atlas: &Atlas, style: &Style) -> Vec<String> {
    let data = &atlas.data;
    let mut langs: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    langs.insert("en".into());
    for f in data.all() {
        if f.names.kk().as_deref().is_some_and(|n| !n.is_empty()) {
            langs.insert("kk".into());
        }
        if f.names.ru().as_deref().is_some_and(|n| !n.is_empty()) {
            langs.insert("ru".into());
        }
        langs.extend(f.names.other().iter().map(|(c, _)| c.clone()));
        langs.extend(f.properties.keys().filter_map(|k| k.strip_prefix("caption:")).map(str::to_string));
    }
    langs.extend(data.meta.title_i18n.keys().cloned());
    for p in &data.meta.polities {
        for n in &p.names {
            langs.extend(n.name_i18n.keys().cloned());
        }
    }
    let named = polities_named_in(data);
    for (id, p) in &style.polities {
        if named.contains(id.as_str()) {
            if p.name_kk.is_some() {
                langs.insert("kk".into());
            }
            if p.name_ru.is_some() {
                langs.insert("ru".into());
            }
        }
    }
    // Only codes that `?lang=` accepts.
    langs
        .into_iter()
        .filter(|l| (2..=16).contains(&l.len()) && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        .collect()
}

/// `/api/meta` less what depends on the request: what a viewer needs to follow the data
/// (title, period, view, languages, polities with names per language and colours, credit).
fn meta_json(atlas: &Atlas, style: &Style, lang: &str) -> serde_json::Value {
    let data = &atlas.data;
    let langs = languages(atlas, style);
    let years = crate::data::META_YEARS;
    let (from, to) = data
        .years()
        .map(|(a, b)| (a.max(*years.start()), b.min(*years.end())))
        .filter(|(a, b)| a <= b)
        .unwrap_or((1635, 1741));
    let per_lang = |f: &dyn Fn(&str) -> String| -> serde_json::Map<String, serde_json::Value> {
        langs.iter().map(|l| (l.clone(), serde_json::Value::String(f(l)))).collect()
    };
    let named = polities_named_in(data);
    let polities: Vec<serde_json::Value> = style
        .polities
        .iter()
        .filter(|(id, _)| named.contains(id.as_str()))
        .map(|(id, p)| {
            let c = style.land.mix(p.fill, style.territories.fill_opacity);
            let hex = |c: (u8, u8, u8)| format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2);
            // Names that change with the years (the Tsardom, then the Russian Empire).
            let dated: Vec<serde_json::Value> = data
                .polity(id)
                .map(|d| {
                    d.names
                        .iter()
                        .map(|n| {
                            let names =
                                per_lang(&|l: &str| n.name_i18n.get(l).cloned().unwrap_or_else(|| n.name.clone()));
                            serde_json::json!({"from": n.from, "to": n.to, "names": names})
                        })
                        .collect()
                })
                .unwrap_or_default();
            let life = data.polity(id);
            serde_json::json!({
                "id": id,
                "names": per_lang(&|l: &str| p.name(l).to_string()),
                "dated_names": dated,
                "from": life.and_then(|d| d.from), "to": life.and_then(|d| d.to),
                "fill": hex((c.0, c.1, c.2)),
                "border": hex((p.border.0, p.border.1, p.border.2)),
            })
        })
        .collect();
    serde_json::json!({
        "title": data.title(lang),
        "titles": per_lang(&|l: &str| data.title(l).to_string()),
        "from": from,
        "to": to,
        "bbox": data.default_bbox(),
        "extent": data.extent(),
        "lang": lang,
        "languages": langs,
        "credit": data.meta.credit,
        "attribution": data.meta.credit,
        "polities": polities,
    })
}

/// `GET /api/meta`: [`meta_json`] plus where the tiles are and, with `--tiles`, the years
/// and bounds of the export.
async fn api_meta(State(st): State<Arc<ServerState>>, headers: HeaderMap) -> Response {
    let mut doc = st.meta.clone();
    let base = base_url(&st, &headers);
    let mut tiles = serde_json::json!({
        "source": "rendered",
        "url": format!("{base}/tiles/{{year}}/{{z}}/{{x}}/{{y}}.{}", st.image.ext()),
        "tilejson": format!("{base}/tiles/{{year}}.json"),
        "format": st.image.ext(),
        "minzoom": 0, "maxzoom": MAX_ZOOM,
        "retina": true,
    });
    if let Some(a) = &st.archive {
        let sum = a.summary();
        let years = a.year_list();
        tiles["source"] = "archive".into();
        tiles["kind"] = a.kind().into();
        tiles["format"] = a.main_image().ext().into();
        tiles["url"] = format!("{base}/tiles/{{year}}/{{z}}/{{x}}/{{y}}.{}", a.main_image().ext()).into();
        tiles["minzoom"] = sum.minzoom.into();
        tiles["maxzoom"] = sum.maxzoom.into();
        tiles["retina"] = years.iter().any(|&y| a.meta(y, 2).is_some()).into();
        tiles["years"] = serde_json::json!(years);
        tiles["pmtiles"] = a.raw_files().map(|n| format!("{base}/pmtiles/{n}")).collect::<Vec<_>>().into();
        if let Some((from, to)) = a.years() {
            doc["from"] = from.into();
            doc["to"] = to.into();
        }
        // Open on the export's bounds when the data's view lies elsewhere.
        if let Some(b) = sum.bounds {
            let view = doc["bbox"].as_array().map(|v| v.iter().filter_map(|x| x.as_f64()).collect::<Vec<f64>>());
            let overlaps =
                view.is_some_and(|v| v.len() == 4 && v[0] < b[2] && b[0] < v[2] && v[1] < b[3] && b[1] < v[3]);
            if !overlaps {
                doc["bbox"] = serde_json::json!(b);
            }
        }
        if doc["credit"].as_str().is_none_or(str::is_empty) {
            if let Some(at) = sum.attribution {
                doc["credit"] = at.clone().into();
                doc["attribution"] = at.into();
            }
        }
    }
    doc["tiles"] = tiles;
    json(&doc)
}

/// TileJSON for a year of an export: its zooms, bounds and attribution.
fn archive_tilejson(
    st: &ServerState,
    a: &archive::TileArchive,
    year: i32,
    suffix: &str,
    base: &str,
    asked: Option<ImageFormat>,
) -> Response {
    let scale = if suffix.is_empty() { 1 } else { 2 };
    let (Some(m), Some(held)) = (a.meta(year, scale), a.image(year, scale)) else {
        return bad(StatusCode::NOT_FOUND, "no tiles for that year");
    };
    if asked.is_some_and(|f| f != held) {
        return bad(StatusCode::NOT_FOUND, &format!("the export holds {} tiles", held.ext()));
    }
    let ext = held.ext();
    let b = m.bounds.unwrap_or([-180.0, -85.051_128_78, 180.0, 85.051_128_78]);
    let doc = serde_json::json!({
        "tilejson": "3.0.0",
        "name": m.name.clone().unwrap_or_else(|| format!("{} {year}", st.atlas.data.title(&st.lang)).trim().to_string()),
        "attribution": m.attribution.clone().unwrap_or_else(|| st.atlas.data.meta.credit.clone()),
        "scheme": "xyz",
        "tiles": [format!("{base}/tiles/{year}/{{z}}/{{x}}/{{y}}{suffix}.{ext}")],
        "tileSize": 256 * scale as u32,
        "minzoom": m.minzoom, "maxzoom": m.maxzoom,
        "bounds": b,
        "center": [(b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0, m.minzoom.max(m.maxzoom.min(4))],
    });
    let mut r = json(&doc);
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    r
}

/// A tile read from the export: 404 when it does not hold it (or holds it in another
/// format than the one asked for: an export is served as it was written).
async fn archive_tile(
    a: &archive::TileArchive,
    year: i32,
    scale: u8,
    id: TileId,
    asked: ImageFormat,
    headers: &HeaderMap,
) -> Response {
    match a.image(year, scale) {
        Some(held) if held != asked => {
            return bad(StatusCode::NOT_FOUND, &format!("the export holds .{} tiles", held.ext()))
        }
        _ => {}
    }
    match a.tile(year, scale, id.z, id.x, id.y).await {
        Ok(Some(bytes)) => image(CachedImage::new(Bytes::copy_from_slice(&bytes)), headers, asked.mime()),
        Ok(None) => bad(StatusCode::NOT_FOUND, "no such tile in the archive"),
        Err(e) => {
            crate::note!("serve --tiles: {e}");
            bad(StatusCode::INTERNAL_SERVER_ERROR, "could not read the tile")
        }
    }
}

/// `GET /pmtiles/{name}`: a `.pmtiles` file of the export as it is, with HTTP ranges
/// (`206`, `Accept-Ranges`, `Content-Range`; `416` for a range outside the file and for
/// a request of several ranges), so the pmtiles JS protocol reads it directly. Only the
/// files found at start are served, looked up by name.
async fn raw_pmtiles(
    State(st): State<Arc<ServerState>>,
    Path(name): Path<String>,
    req: axum::extract::Request,
) -> Response {
    let Some(path) = st.archive.as_ref().and_then(|a| a.raw_file(&name)) else {
        return bad(StatusCode::NOT_FOUND, "no such .pmtiles file");
    };
    let mut svc = tower_http::services::ServeFile::new(path);
    match svc.try_call(req).await {
        Ok(r) => {
            let mut r = r.map(axum::body::Body::new);
            r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
            r
        }
        Err(_) => bad(StatusCode::INTERNAL_SERVER_ERROR, "could not read the file"),
    }
}
