//! The vector side of the server: a MapLibre GL JS viewer at `/vector`, its generated
//! style, TileJSON, MVT tiles cut on demand from the atlas (every year in one tileset,
//! filtered by date in the browser), the hatch sprite and SDF glyphs from the embedded
//! DejaVu faces. Nothing is fetched from elsewhere: the viewer works offline.

use super::{bad, base_url, CachedImage, ImageKey, ServerState};
use crate::tiles::grid::TileId;
use crate::tiles::mapstyle::{self, SourceRef, StyleUrls};
use crate::tiles::mvt::{gzip, metadata, VectorSource};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use bytes::Bytes;
use std::sync::Arc;

const VIEWER: &str = include_str!("vector.html");
const MAPLIBRE_JS: &str = include_str!("assets/maplibre/maplibre-gl.js");
const MAPLIBRE_CSS: &str = include_str!("assets/maplibre/maplibre-gl.css");
const MAPLIBRE_LICENSE: &str = include_str!("assets/maplibre/LICENSE.txt");

/// The deepest zoom the TileJSON announces (clients overzoom past it).
pub const VECTOR_MAX_ZOOM: u8 = 12;
/// The deepest zoom tiles are cut for on request.
pub const VECTOR_SERVE_MAX_ZOOM: u8 = 14;
/// What the vector routes compute once per server: the dated features.
pub(crate) struct Vector {
    source: VectorSource,
}

/// The server's [`Vector`], built on the first vector request (not at start, and not for
/// every router the tests build).
fn vector_of(st: &ServerState) -> &Vector {
    st.vector.get_or_init(|| {
        let years = st.atlas.data.years().unwrap_or((1635, 1771));
        Vector { source: VectorSource::new(&st.atlas, years) }
    })
}

/// A file of the vector routes from the server's image cache, made and stored on a miss.
fn cached(
    st: &ServerState,
    what: &str,
    make: impl FnOnce() -> crate::error::Result<Vec<u8>>,
) -> crate::error::Result<CachedImage> {
    let key = ImageKey::Vector(Arc::from(what));
    if let Some(hit) = st.cache.get(&key) {
        return Ok(hit);
    }
    Ok(st.cache.put(key, Bytes::from(make()?)))
}

/// The `/vector` routes, to merge into the server's router.
pub fn router() -> Router<Arc<ServerState>> {
    Router::new()
        .route("/vector", get(viewer))
        .route("/vector/", get(viewer))
        .route("/vector/style.json", get(style))
        .route("/vector/tiles.json", get(tilejson))
        .route("/vector/maplibre-gl.js", get(|| async { text(MAPLIBRE_JS, "text/javascript; charset=utf-8") }))
        .route("/vector/maplibre-gl.css", get(|| async { text(MAPLIBRE_CSS, "text/css; charset=utf-8") }))
        .route("/vector/LICENSE-maplibre.txt", get(|| async { text(MAPLIBRE_LICENSE, "text/plain; charset=utf-8") }))
        .route("/vector/{sprite}", get(sprite))
        .route("/vector/fonts/{stack}/{range}", get(glyphs))
        .route("/vector/{z}/{x}/{y}", get(tile))
}

fn text(body: &'static str, ty: &'static str) -> Response {
    ([(header::CONTENT_TYPE, ty), (header::CACHE_CONTROL, "public, max-age=3600")], body).into_response()
}

/// A vector-route file as a response: ETag and 304 as for images, and the encoding it was
/// sent in.
fn bytes(file: CachedImage, ty: &'static str, gzipped: bool, req: &HeaderMap) -> Response {
    let mut r = super::image(file, req, ty);
    r.headers_mut().insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    if gzipped && r.status() == StatusCode::OK {
        r.headers_mut().insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    r
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    tokio::task::spawn_blocking(f).await.ok()
}

async fn viewer() -> Response {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], VIEWER).into_response()
}

async fn style(State(st): State<Arc<ServerState>>, headers: HeaderMap) -> Response {
    let base = base_url(&st, &headers);
    let st2 = st.clone();
    let doc = blocking(move || {
        let v = vector_of(&st2);
        let urls = StyleUrls {
            source: SourceRef::Url(format!("{base}/vector/tiles.json")),
            sprite: format!("{base}/vector/sprite"),
            glyphs: format!("{base}/vector/fonts/{{fontstack}}/{{range}}.pbf"),
        };
        mapstyle::style_json(&st2.atlas, &st2.tile_style, &v.source, (0, VECTOR_MAX_ZOOM), &urls)
    })
    .await;
    match doc {
        Some(d) => ([(header::CONTENT_TYPE, "application/json")], d.to_string()).into_response(),
        None => bad(StatusCode::INTERNAL_SERVER_ERROR, "the style could not be made"),
    }
}

async fn tilejson(State(st): State<Arc<ServerState>>, headers: HeaderMap) -> Response {
    let base = base_url(&st, &headers);
    let st2 = st.clone();
    let doc = blocking(move || {
        let v = vector_of(&st2);
        let mut m = metadata(&st2.atlas, &v.source, (0, VECTOR_MAX_ZOOM));
        m["tilejson"] = "3.0.0".into();
        m["scheme"] = "xyz".into();
        m["tiles"] = serde_json::json!([format!("{base}/vector/{{z}}/{{x}}/{{y}}.pbf")]);
        m
    })
    .await;
    match doc {
        Some(d) => ([(header::CONTENT_TYPE, "application/json")], d.to_string()).into_response(),
        None => bad(StatusCode::INTERNAL_SERVER_ERROR, "the TileJSON could not be made"),
    }
}

fn accepts_gzip(h: &HeaderMap) -> bool {
    h.get(header::ACCEPT_ENCODING).and_then(|v| v.to_str().ok()).is_some_and(|v| {
        v.split(',').any(|e| {
            let mut parts = e.split(';');
            let name = parts.next().unwrap_or("").trim();
            let q0 = parts.any(|p| p.trim().replace(' ', "") == "q=0");
            (name == "gzip" || name == "*") && !q0
        })
    })
}

async fn tile(
    State(st): State<Arc<ServerState>>,
    Path((z, x, y)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    let Some(y) = y.strip_suffix(".pbf").or_else(|| y.strip_suffix(".mvt")) else {
        return bad(StatusCode::NOT_FOUND, "vector tiles end in .pbf");
    };
    let id = match (z.parse::<u8>(), x.parse::<u32>(), y.parse::<u32>()) {
        (Ok(z), Ok(x), Ok(y)) if z <= VECTOR_SERVE_MAX_ZOOM => TileId::new(z, x, y),
        _ => None,
    };
    let Some(id) = id else { return bad(StatusCode::NOT_FOUND, "no such tile") };
    let gz = accepts_gzip(&headers);
    let st2 = st.clone();
    let made = blocking(move || {
        let v = vector_of(&st2);
        let key = format!("t/{}/{}/{}", id.z, id.x, id.y);
        let raw = cached(&st2, &key, || Ok(v.source.tile(id, VECTOR_MAX_ZOOM)?.unwrap_or_default()))?;
        if raw.bytes.is_empty() || !gz {
            return Ok(raw);
        }
        cached(&st2, &format!("{key}.gz"), || gzip(&raw.bytes))
    })
    .await;
    match made {
        Some(Ok(b)) if b.bytes.is_empty() => {
            (StatusCode::NO_CONTENT, [(header::CACHE_CONTROL, "public, max-age=3600")]).into_response()
        }
        Some(Ok(b)) => bytes(b, "application/vnd.mapbox-vector-tile", gz, &headers),
        _ => bad(StatusCode::INTERNAL_SERVER_ERROR, "the tile could not be made"),
    }
}

async fn sprite(State(st): State<Arc<ServerState>>, Path(name): Path<String>, headers: HeaderMap) -> Response {
    let (ratio, ext) = match name.as_str() {
        "sprite.json" => (1, "json"),
        "sprite.png" => (1, "png"),
        "sprite@2x.json" => (2, "json"),
        "sprite@2x.png" => (2, "png"),
        _ => return bad(StatusCode::NOT_FOUND, "no such file"),
    };
    let st2 = st.clone();
    let made = blocking(move || {
        cached(&st2, &format!("s/{ratio}/{ext}"), || {
            let (png, index) = mapstyle::sprite(&st2.tile_style, ratio)?;
            Ok(if ext == "png" { png } else { index.to_string().into_bytes() })
        })
    })
    .await;
    match made {
        Some(Ok(b)) => bytes(b, if ext == "png" { "image/png" } else { "application/json" }, false, &headers),
        _ => bad(StatusCode::INTERNAL_SERVER_ERROR, "the sprite could not be made"),
    }
}

async fn glyphs(
    State(st): State<Arc<ServerState>>,
    Path((stack, range)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    // A font stack may list several faces ("A,B"): the first one we have answers.
    let Some(face) = stack.split(',').find_map(|s| mapstyle::face_of(s.trim())) else {
        return bad(StatusCode::NOT_FOUND, "no such font");
    };
    let start = range
        .strip_suffix(".pbf")
        .and_then(|r| r.split_once('-'))
        .and_then(|(a, b)| Some((a.parse::<u32>().ok()?, b.parse::<u32>().ok()?)))
        .filter(|(a, b)| a.is_multiple_of(256) && *b == a + 255 && *a <= 65280)
        .map(|(a, _)| a);
    let Some(start) = start else {
        return bad(StatusCode::NOT_FOUND, "glyph ranges are N-(N+255).pbf with N a multiple of 256");
    };
    let st2 = st.clone();
    let made = blocking(move || {
        cached(&st2, &format!("g/{}/{start}", mapstyle::fontstack(face)), || mapstyle::glyph_range(face, start))
    })
    .await;
    match made {
        Some(Ok(b)) => bytes(b, "application/x-protobuf", false, &headers),
        _ => bad(StatusCode::INTERNAL_SERVER_ERROR, "the glyphs could not be made"),
    }
}
