//! Slippy-map tiles per year: plan the pyramid over the data's extent, render metatiles
//! with a buffer (labels are placed once across a metatile, so none is cut at a tile
//! edge), cut them into 256 px tiles (512 px for `@2x`) and write them as an XYZ folder,
//! MBTiles or PMTiles, with TileJSON. Years whose maps are identical are rendered once,
//! and a tile is drawn only when its content key ([`tile_key`]) is new.

mod change;
pub mod grid;
pub mod mapstyle;
pub mod merge;
pub mod mvt;
pub mod pmfile;
mod sink;

use crate::atlas::{map_state, Atlas, MapState};
use crate::error::{Error, Result};
use crate::imageformat::{encode_tile, ImageFormat};
use crate::output::TileColours;
use crate::project::{with_line_cache, LineCache, LonLatBox, Projection, View};
use crate::render::record::{NearDigests, Recording, WindowCache};
use crate::render::{draw_map, query_box, render_map, RenderOptions};
use crate::style::Style;
use crate::time::Year;
use grid::{tiles_in, MetaTile, TileId};
use rayon::prelude::*;
use sink::{PyramidInfo, Tile};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Tile size in pixels at scale 1.
pub const TILE_PX: u32 = 256;

/// Tiles per metatile side, for `tiles` and the server alike: a metatile is the unit of
/// label placement, so both must use the same to draw the same tiles.
pub const METATILE: u32 = 8;

/// How tiles are stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum TileFormat {
    /// `{out}/{year}/{z}/{x}/{y}.png` plus `{out}/{year}.json` (TileJSON).
    Xyz,
    /// `{out}/{year}.mbtiles`.
    Mbtiles,
    /// `{out}/{year}.pmtiles`.
    Pmtiles,
    /// `{out}/atlas.pmtiles` (or `.mbtiles` with `--archive`): MVT vector tiles for all
    /// years, filtered by date in the client, with a MapLibre `style.json` (see [`mvt`]).
    Mvt,
}

/// What to render.
#[derive(Clone, Debug)]
pub struct TileOptions {
    /// First and last year (inclusive).
    pub years: (i32, i32),
    /// First and last zoom (inclusive).
    pub zooms: (u8, u8),
    /// Output folder.
    pub out: PathBuf,
    /// Storage.
    pub format: TileFormat,
    /// How each metatile is drawn.
    pub look: TileLook,
    /// Render only shard `.0` of `.1` (metatiles are dealt round-robin).
    pub shard: (u32, u32),
    /// Tiles per metatile side.
    pub metatile: u32,
    /// Show a progress bar on a terminal.
    pub progress: bool,
    /// Go past the soft limits ([`DEFAULT_MAX_ZOOM`], [`DEFAULT_MAX_TILES`]).
    pub force: bool,
    /// Where the exported folder will be served from, for absolute tile URLs in its
    /// TileJSON (TileJSON 3.0.0 wants them absolute); None keeps them relative.
    pub base_url: Option<String>,
    /// Render every metatile of every year, sharing nothing (for checking the incremental
    /// path, which renders a metatile only when its content key is new).
    pub full: bool,
}

/// The deepest zoom a run renders without `--force`.
pub const DEFAULT_MAX_ZOOM: u8 = 14;
/// The most tiles (over all years) a run writes without `--force`.
pub const DEFAULT_MAX_TILES: u64 = 2_000_000;
/// The most tiles of one year a run can plan, even with `--force` (the plan is held in
/// memory): split bigger jobs with `--shard` over several bboxes or zoom ranges.
pub const MAX_PLANNED_TILES: u64 = 20_000_000;
/// The years a run may tile (ISO 8601's four digits either side of year 0).
pub const YEARS: std::ops::RangeInclusive<i32> = crate::data::META_YEARS;

/// Size a tile job before anything is planned or written: the tiles of one year and of the
/// whole run. Refuses, with the count and a hint, what lies beyond the documented limits.
pub fn check_job(bbox: &LonLatBox, o: &TileOptions) -> Result<(u64, u64)> {
    let (y0, y1) = o.years;
    if y0 > y1 {
        return Err(Error::Usage(format!("--years {y0}..{y1} ends before it starts")));
    }
    if !YEARS.contains(&y0) || !YEARS.contains(&y1) {
        return Err(Error::Usage(format!(
            "--years {y0}..{y1} lies outside the years {}..{} that can be tiled",
            YEARS.start(),
            YEARS.end()
        )));
    }
    if o.zooms.1 > DEFAULT_MAX_ZOOM && !o.force {
        return Err(Error::Usage(format!(
            "--zoom {}..{} goes deeper than zoom {DEFAULT_MAX_ZOOM}; add --force to render past it",
            o.zooms.0, o.zooms.1
        )));
    }
    let per_year: u64 = (o.zooms.0..=o.zooms.1).map(|z| grid::count_tiles(bbox, z)).sum();
    let shards = u64::from(o.shard.1.max(1));
    let per_year_shard = per_year.div_ceil(shards);
    let years = u64::try_from(i64::from(y1) - i64::from(y0) + 1).unwrap_or(u64::MAX);
    let total = per_year_shard.saturating_mul(years);
    if per_year > MAX_PLANNED_TILES {
        return Err(Error::Usage(format!(
            "--zoom {}..{} needs {per_year} tiles a year, more than the {MAX_PLANNED_TILES} one run can plan; \
             use fewer zoom levels",
            o.zooms.0, o.zooms.1
        )));
    }
    if total > DEFAULT_MAX_TILES && !o.force {
        return Err(Error::Usage(format!(
            "the job is {total} tiles ({per_year_shard} a year × {years} years), more than {DEFAULT_MAX_TILES}; \
             narrow --years or --zoom, split it with --shard, or add --force"
        )));
    }
    Ok((per_year, total))
}

/// How a metatile is drawn (shared by `tiles` and the server).
#[derive(Clone, Debug)]
pub struct TileLook {
    /// 1 for 256 px tiles, 2 for 512 px `@2x` tiles.
    pub scale: u32,
    /// Buffer around a metatile, px at scale 1 (labels and symbols across its edge).
    pub buffer_px: u32,
    /// Label language.
    pub lang: String,
    /// How tiles are encoded: PNG or lossless WebP.
    pub image: ImageFormat,
}

/// What a run produced.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TileReport {
    /// Years written.
    pub years: usize,
    /// Distinct map states rendered.
    pub distinct_states: usize,
    /// Tiles written over all years.
    pub tiles: usize,
    /// Metatiles laid out (at most one per metatile and map state: a metatile where
    /// nothing changed since the last state keeps its tiles, see [`change`]).
    pub metatiles: usize,
    /// Metatiles kept from the state before without being laid out.
    pub metatiles_kept: usize,
    /// Metatiles none of whose tiles had new content, so nothing in them was drawn.
    pub metatiles_reused: usize,
    /// Tiles drawn and encoded (the rest share the PNG of a tile with the same content key).
    pub tiles_drawn: usize,
}

/// Parse `I/N` (shard I of N, from 0).
pub fn parse_shard(s: &str) -> std::result::Result<(u32, u32), String> {
    let bad = || format!("bad shard {s:?} (expected I/N with 0 <= I < N, e.g. 0/3)");
    let (i, n) = s.split_once('/').ok_or_else(bad)?;
    let (i, n): (u32, u32) = (i.trim().parse().map_err(|_| bad())?, n.trim().parse().map_err(|_| bad())?);
    if n == 0 || i >= n {
        return Err(bad());
    }
    Ok((i, n))
}

/// The metatiles to render and the tiles wanted from each, in a fixed order (zoom, then
/// column, then row); a shard takes every N-th metatile.
pub fn plan(bbox: &LonLatBox, o: &TileOptions) -> Vec<(MetaTile, Vec<TileId>)> {
    let mut out: Vec<(MetaTile, Vec<TileId>)> = Vec::new();
    for z in o.zooms.0..=o.zooms.1 {
        let mut by_meta: std::collections::BTreeMap<MetaTile, Vec<TileId>> = std::collections::BTreeMap::new();
        for t in tiles_in(bbox, z) {
            by_meta.entry(MetaTile::of(t, o.metatile)).or_default().push(t);
        }
        out.extend(by_meta);
    }
    out.into_iter().enumerate().filter(|(i, _)| *i as u32 % o.shard.1 == o.shard.0).map(|(_, m)| m).collect()
}

/// The view and render options of a metatile in a year.
fn metatile_view(mt: &MetaTile, year: i32, o: &TileLook) -> (View, RenderOptions) {
    let tile_px = TILE_PX * o.scale;
    let buffer = o.buffer_px * o.scale;
    let side = mt.size * tile_px + 2 * buffer;
    let b = mt.bounds_mercator();
    let m_per_px = (b[2] - b[0]) / f64::from(mt.size * tile_px);
    let pad = f64::from(buffer) * m_per_px;
    let view = View::fit_projected(Projection::Mercator, [b[0] - pad, b[1] - pad, b[2] + pad, b[3] + pad], side, side);
    let mut opts = RenderOptions::frame(Year(year), 96.0 * o.scale as f32);
    opts.lang = o.lang.clone();
    opts.furniture = false;
    opts.seamless_labels = true;
    (view, opts)
}

/// The lon/lat box whose features a metatile's drawing reads (see [`query_box`]).
fn metatile_query(mt: &MetaTile, o: &TileLook) -> LonLatBox {
    let (view, opts) = metatile_view(mt, *YEARS.start(), o);
    query_box(&view, &opts)
}

/// A metatile's map in a year, laid out and drawn once as a [`Recording`] (labels are
/// placed across the whole metatile and its buffer), to be rasterised tile by tile. With
/// `digests`, each operation is hashed, so tiles have content keys ([`tile_key`]).
pub fn record_metatile(
    atlas: &Atlas,
    style: &Style,
    mt: &MetaTile,
    year: i32,
    o: &TileLook,
    digests: bool,
) -> Recording {
    record_metatile_kept(atlas, style, mt, year, o, digests, None)
}

/// [`record_metatile`] keeping what later recordings of the same metatile can reuse in
/// `kept` (and taking what earlier ones kept there; see [`NearDigests`]).
fn record_metatile_kept(
    atlas: &Atlas,
    style: &Style,
    mt: &MetaTile,
    year: i32,
    o: &TileLook,
    digests: bool,
    kept: Option<Arc<NearDigests>>,
) -> Recording {
    let (view, opts) = metatile_view(mt, year, o);
    let mut rec = Recording::new((view.width.max(1), view.height.max(1)), style.land, digests);
    if let Some(kept) = kept {
        rec.keep_near_digests(kept);
    }
    draw_map(atlas, style, &view, &opts, &mut rec);
    rec
}

/// Where tile `t` lies in its metatile's image: its top left, px.
fn tile_origin(mt: &MetaTile, t: TileId, o: &TileLook) -> (i32, i32) {
    let tile_px = TILE_PX * o.scale;
    let buffer = o.buffer_px * o.scale;
    ((buffer + (t.x - mt.x) * tile_px) as i32, (buffer + (t.y - mt.y) * tile_px) as i32)
}

/// The content key of tile `t` of a metatile recorded with digests: equal keys mean
/// byte-identical pixels (a run draws a tile only when its key is new; a server can use
/// it as a cache key or ETag).
pub fn tile_key(rec: &Recording, mt: &MetaTile, t: TileId, o: &TileLook) -> u128 {
    let (x, y) = tile_origin(mt, t, o);
    let side = TILE_PX * o.scale;
    let numbers = [t.x, t.y, mt.size, o.scale, o.buffer_px];
    let mut salt = Vec::with_capacity(1 + 4 * numbers.len() + o.lang.len() + 1);
    salt.push(t.z);
    for v in numbers {
        salt.extend_from_slice(&v.to_le_bytes());
    }
    salt.extend_from_slice(o.lang.as_bytes());
    salt.push(o.image as u8);
    rec.window_key(x, y, (side, side), &salt)
}

/// Rasterise tile `t` from its metatile's recording (premultiplied RGBA, 256 px × scale).
pub fn render_tile(rec: &Recording, mt: &MetaTile, t: TileId, o: &TileLook) -> Result<tiny_skia::Pixmap> {
    let (x, y) = tile_origin(mt, t, o);
    let side = TILE_PX * o.scale;
    rec.draw_window(x, y, (side, side))
        .ok_or_else(|| Error::Encode(format!("no memory for tile {}/{}/{}", t.z, t.x, t.y)))
}

/// The most bytes of tile pixels (and their counted colours, half as many again) a run
/// keeps for redrawing and encoding only the changed cells of a tile place in a later map
/// state (past it, tiles are drawn whole). Places keep pixels as they are first drawn,
/// and the plan runs from the lowest zoom, whose tiles change with most map states.
const KEEP_PIXELS: usize = 128 << 20;

/// Bytes of fills' and strokes' cells and of text made ready ([`WindowCache`]) a run
/// keeps across its tile places (past it, a place redrawn lets go of its own).
const KEEP_CELLS: usize = 96 << 20;

/// What a run keeps of its tile places, bytes: pixels (with their colours and rows'
/// hashes) and cells.
#[derive(Default)]
struct KeptBytes {
    pixels: std::sync::atomic::AtomicUsize,
    cells: std::sync::atomic::AtomicUsize,
}

/// The pixels last drawn at one tile place, with their cell keys
/// ([`Recording::cell_keys`]), their colours counted and the hashes of their rows
/// ([`row_hashes`]).
#[derive(Default)]
struct DrawnBefore(Mutex<Option<Kept>>);

/// What a tile place keeps of its last drawing ([`DrawnBefore`]).
struct Kept {
    keys: Vec<u64>,
    pixels: tiny_skia::Pixmap,
    colours: TileColours,
    rows: Vec<u128>,
    /// The cells of its fills and strokes and its text made ready, for its redraws.
    cells: WindowCache,
}

/// The hash of each row of an image's pixels, or, with `rows`, `rows` with only the
/// rows `changed` hashed again: a tile's [`pixel_key`] is built from them, so a place
/// redrawn in a few rows is not read whole again to find its key.
fn row_hashes(pixels: &tiny_skia::Pixmap, rows: Option<Vec<u128>>, changed: &[[usize; 4]]) -> Vec<u128> {
    let stride = pixels.width() as usize * 4;
    let hash = |y: usize| twox_hash::XxHash3_128::oneshot(&pixels.data()[y * stride..(y + 1) * stride]);
    match rows {
        Some(mut rows) if rows.len() == pixels.height() as usize => {
            for &[_, y0, _, y1] in changed {
                for y in y0..y1.min(rows.len()) {
                    rows[y] = hash(y);
                }
            }
            rows
        }
        _ => (0..pixels.height() as usize).map(hash).collect(),
    }
}

/// The key of a tile's pixels (of width `width`, with these [`row_hashes`]) encoded at
/// `dpi` as `image`: equal keys, equal PNGs.
fn pixel_key(width: u32, rows: &[u128], dpi: f32, image: ImageFormat) -> u128 {
    let mut h = crate::render::Gathered::with_seed(u64::from(dpi.to_bits()) ^ ((image as u64) << 40));
    h.write(&width.to_le_bytes());
    rows.iter().for_each(|r| h.write(&r.to_le_bytes()));
    h.finish_128()
}

impl DrawnBefore {
    /// Draw tile `t` of a metatile recorded with digests: only the cells whose keys
    /// changed since this place was last drawn, or all of it, and hand the pixels, with
    /// their colours counted and their rows' hashes, to `then` (the encoder) before
    /// keeping them. The pixels are those of [`render_tile`], byte for byte. `kept`
    /// counts the bytes the run keeps.
    fn redraw<T>(
        &self,
        rec: &Recording,
        (mt, t): (&MetaTile, TileId),
        o: &TileLook,
        kept: &KeptBytes,
        then: impl FnOnce(&tiny_skia::Pixmap, Option<&TileColours>, Option<&[u128]>) -> Result<T>,
    ) -> Result<T> {
        use std::sync::atomic::Ordering::Relaxed;
        let t0 = std::time::Instant::now();
        let mut slot = self.0.lock().expect("tile lock");
        if slot.is_none() && kept.pixels.load(Relaxed) >= KEEP_PIXELS {
            // No room to keep this place's pixels: no cell keys either.
            let pixels = render_tile(rec, mt, t, o)?;
            phase_time(&RASTER_NS, t0);
            return then(&pixels, None, None);
        }
        let (x, y) = tile_origin(mt, t, o);
        let side = TILE_PX * o.scale;
        let keys = rec.cell_keys(x, y, (side, side));
        let had = slot.is_some();
        // The pixels kept are redrawn in place (the slot is filled again below), however
        // many cells changed (a redraw of every cell costs what a whole drawing does), and
        // only the colours of the pixels that changed are counted again.
        let mut cells_had = 0;
        let (drawn, mut colours, changed, rows, mut cells) = match slot.take() {
            Some(Kept { keys: old, pixels, colours, rows, mut cells }) => {
                cells_had = cells.bytes();
                let dirty: Vec<bool> = old.iter().zip(&keys).map(|(a, b)| a != b).collect();
                match rec.redraw_window(x, y, (side, side), pixels, &dirty, &mut cells) {
                    Some(r) => (Some(r.pixels), colours, Some(r.changed), Some(rows), cells),
                    None => (None, colours, None, None, cells),
                }
            }
            None => {
                let mut cells = WindowCache::default();
                let drawn = rec.draw_window_keeping(x, y, (side, side), &mut cells);
                (drawn, TileColours::default(), None, None, cells)
            }
        };
        let pixels = drawn.ok_or_else(|| Error::Encode(format!("no memory for tile {}/{}/{}", t.z, t.x, t.y)))?;
        let rows = row_hashes(&pixels, rows, changed.as_deref().unwrap_or_default());
        phase_time(&RASTER_NS, t0);
        // A place drawn for the first time is encoded from a scan of its pixels, and keeps
        // no counts (many places are drawn only once); from its first redraw on, its
        // colours are counted and kept.
        let out = if had {
            let t1 = std::time::Instant::now();
            colours.update(&pixels, changed.as_deref());
            phase_time(&ENCODE_NS, t1);
            then(&pixels, Some(&colours), Some(&rows))?
        } else {
            then(&pixels, None, Some(&rows))?
        };
        let bytes = pixels.data().len() + colours.bytes() + rows.len() * 16;
        if had || kept.pixels.fetch_add(bytes, Relaxed) + bytes <= KEEP_PIXELS {
            // The place's cells, in the run's budget for them (let go of past it).
            let now = cells.bytes();
            kept.cells.fetch_sub(cells_had, Relaxed);
            if kept.cells.fetch_add(now, Relaxed) + now > KEEP_CELLS {
                kept.cells.fetch_sub(now, Relaxed);
                cells = WindowCache::default();
            }
            *slot = Some(Kept { keys, pixels, colours, rows, cells });
        } else {
            kept.pixels.fetch_sub(bytes, Relaxed);
        }
        Ok(out)
    }
}

/// An encoded tile as a run keeps it until its archive or folder is written: no spare
/// capacity (an encoder's buffer grows by doubling; a run can hold tens of MB of tiles).
fn without_spare(mut png: Vec<u8>) -> Arc<Vec<u8>> {
    png.shrink_to_fit();
    Arc::new(png)
}

/// PNGs already encoded, by a hash of their pixels: a tile whose pixels come out the same
/// as one encoded before (in another year or another metatile) is not encoded again.
#[derive(Default)]
pub struct EncodedTiles {
    by_pixels: Mutex<(PngsByPixels, usize)>,
}

/// The most tiles of a map state whose XYZ folder is written at once, when it is drawn
/// whole (past it, metatile by metatile as they are drawn).
const STREAM_TILES: usize = 2000;

/// The largest image kept for reuse by a run that keeps only plain tiles, bytes.
const PLAIN_TILE_BYTES: usize = 4096;

/// PNGs by a 128-bit hash (of their pixels, or a tile's content key).
type PngsByPixels = HashMap<u128, Arc<Vec<u8>>>;

impl EncodedTiles {
    /// The tile's image, encoded now or found. With `plain_only`, only small images (the
    /// plain tiles that repeat: sea, empty land) are kept for later tiles.
    /// `counted`: the tile's colours, when counted ([`encode_tile`]); `rows`: its rows'
    /// hashes, when known ([`row_hashes`]).
    fn encode(
        &self,
        tile: &tiny_skia::Pixmap,
        (dpi, image): (f32, ImageFormat),
        plain_only: bool,
        counted: Option<&TileColours>,
        rows: Option<&[u128]>,
    ) -> Result<Arc<Vec<u8>>> {
        let k = match rows {
            Some(rows) => pixel_key(tile.width(), rows, dpi, image),
            None => pixel_key(tile.width(), &row_hashes(tile, None, &[]), dpi, image),
        };
        if let Some(png) = self.get(k) {
            return Ok(png);
        }
        let png = without_spare(encode_tile(tile, dpi, image, counted)?);
        if !plain_only || png.len() <= PLAIN_TILE_BYTES {
            self.put(k, png.clone());
        }
        Ok(png)
    }

    fn get(&self, k: u128) -> Option<Arc<Vec<u8>>> {
        self.by_pixels.lock().expect("cache lock").0.get(&k).cloned()
    }

    fn put(&self, k: u128, png: Arc<Vec<u8>>) {
        let mut cache = self.by_pixels.lock().expect("cache lock");
        // Bounded: emptied when full (a long run then draws some repeated tiles again,
        // but never runs out of memory).
        if cache.1 > KEEP_BYTES / 2 {
            *cache = (HashMap::new(), 0);
        }
        cache.1 += png.len();
        cache.0.insert(k, png);
    }
}

/// The rendered pixels (premultiplied RGBA) of a metatile with its buffer, drawn whole:
/// tile (x, y) starts at `buffer_px * scale + (x - mt.x) * 256 * scale` px. (Tiles
/// themselves are drawn one by one from a [`Recording`], see [`render_tile`].)
pub fn metatile_pixmap(atlas: &Atlas, style: &Style, mt: &MetaTile, year: i32, o: &TileLook) -> tiny_skia::Pixmap {
    let (view, opts) = metatile_view(mt, year, o);
    render_map(atlas, style, &view, &opts).pixmap
}

/// Lay out one metatile and draw the wanted tiles of it, as PNGs.
pub fn render_metatile(
    atlas: &Atlas,
    style: &Style,
    mt: &MetaTile,
    wanted: &[TileId],
    year: i32,
    o: &TileLook,
) -> Result<Vec<Tile>> {
    let rec = record_metatile(atlas, style, mt, year, o, false);
    let dpi = 96.0 * o.scale as f32;
    wanted
        .par_iter()
        .map(|t| Ok((*t, without_spare(encode_tile(&render_tile(&rec, mt, *t, o)?, dpi, o.image, None)?))))
        .collect()
}

static RECORD_NS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
static RASTER_NS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
static ENCODE_NS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
static WRITE_NS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Add the time since `t0` to a phase's total (printed with `STEPPE_ATLAS_TIMING`).
fn phase_time(total: &std::sync::atomic::AtomicU64, t0: std::time::Instant) {
    total.fetch_add(t0.elapsed().as_nanos() as u64, std::sync::atomic::Ordering::Relaxed);
}

/// The most bytes of encoded tiles kept for reuse (by content key, and by pixels) before
/// a store is emptied.
const KEEP_BYTES: usize = 1 << 30;

/// About the most tiles a run holds for the archives of the map states it draws together
/// ([`generate`] draws its states a block at a time, each metatile through the block's
/// states in turn).
const BLOCK_TILES: usize = 40_000;

/// One metatile's run through the map states ([`generate`]): its tiles in the last state
/// and what it keeps to draw the next.
struct Chain<'m> {
    mt: &'m MetaTile,
    wanted: &'m [TileId],
    /// What its drawing reads of the map.
    query: LonLatBox,
    /// Its tiles in the last state drawn (kept runs only).
    last: Option<Vec<Tile>>,
    /// The pixels last drawn at each of its tile places.
    before: Vec<DrawnBefore>,
    /// Its projected lines, kept from state to state (keyed runs only).
    lines: Option<Arc<LineCache>>,
    /// Its digests of contours in its tiles, kept from state to state.
    near: Arc<NearDigests>,
}

impl<'m> Chain<'m> {
    /// The chain with nothing kept (for a metatile that no later state draws).
    fn emptied(&self) -> Chain<'m> {
        Chain {
            mt: self.mt,
            wanted: self.wanted,
            query: self.query,
            last: None,
            before: Vec::new(),
            lines: None,
            near: Arc::default(),
        }
    }
}

/// What a metatile gave in one map state: its tiles, and how many of them were drawn
/// afresh (None: the metatile was kept whole from the state before).
#[derive(Default)]
struct Outcome {
    tiles: Vec<Tile>,
    drawn: Option<usize>,
}

/// The most year archives written in the background at once ([`generate`]).
const MAX_PENDING_ARCHIVES: usize = 4;

/// Render and write the tiles of every year asked for.
pub fn generate(atlas: &Atlas, style: &Style, o: &TileOptions) -> Result<TileReport> {
    generate_in_blocks(atlas, style, o, BLOCK_TILES)
}

/// [`generate`], drawing the map states in blocks of about `block_tiles` tiles.
fn generate_in_blocks(atlas: &Atlas, style: &Style, o: &TileOptions, block_tiles: usize) -> Result<TileReport> {
    if !(o.look.scale == 1 || o.look.scale == 2) {
        return Err(Error::Usage(format!("--scale {} must be 1 or 2", o.look.scale)));
    }
    let extent = atlas.data.extent().ok_or_else(|| Error::Usage("the dataset has no features to tile".into()))?;
    let bbox = LonLatBox::from_array(extent);
    check_job(&bbox, o)?;
    let metatiles = plan(&bbox, o);
    let suffix = if o.look.scale == 2 { "@2x" } else { "" };
    let shard_tag = if o.shard.1 > 1 { format!("-{}of{}", o.shard.0, o.shard.1) } else { String::new() };
    // Years with the same map share one rendering; with `full`, every year is its own.
    let mut groups: Vec<(u64, Vec<i32>)> = Vec::new();
    for y in o.years.0..=o.years.1 {
        let s = if o.full { u64::MAX } else { map_state(atlas, y) };
        match groups.iter_mut().find(|g| g.0 == s && !o.full) {
            Some(g) => g.1.push(y),
            None => groups.push((s, vec![y])),
        }
    }
    let mut report = TileReport { distinct_states: groups.len(), ..TileReport::default() };
    let planned: usize = metatiles.iter().map(|(_, wanted)| wanted.len()).sum();
    let zooms = (o.zooms.0, o.zooms.1);
    let bar = crate::output::progress_bar(o.progress, groups.len() * metatiles.len(), "metatiles");
    // Keys serve only to reuse a tile in another map state: one state needs none.
    let keyed = !o.full && groups.len() > 1;
    // The PNG of every tile content drawn so far, by content key, and the PNGs by pixels.
    let by_key = EncodedTiles::default();
    let encoded = EncodedTiles::default();
    let encoded = (!o.full).then_some(&encoded);
    // Where each distinct PNG was first written in the XYZ folder, for hard links.
    let written = sink::Written::default();
    let written = (!o.full).then_some(&written);
    let dpi = 96.0 * o.look.scale as f32;
    // Where the map changed from each state to the next (None: anywhere, and for the first
    // state; with `full`, every metatile is laid out in every year).
    let dirties: Vec<Option<change::Changed>> = {
        let mut last_state: Option<MapState> = None;
        groups
            .iter()
            .map(|(_, years)| {
                let state = (!o.full).then(|| MapState::of(atlas, years[0]));
                let dirty = match (&last_state, &state) {
                    (Some(a), Some(b)) => change::changed(atlas, a, b),
                    _ => None,
                };
                last_state = state;
                dirty
            })
            .collect()
    };
    // Each metatile's run through the map states, with what it keeps from state to state.
    let mut chains: Vec<Chain> = metatiles
        .iter()
        .map(|(mt, wanted)| Chain {
            mt,
            wanted,
            query: metatile_query(mt, &o.look),
            last: None,
            before: wanted.iter().map(|_| DrawnBefore::default()).collect(),
            lines: keyed.then(|| Arc::new(LineCache::new(metatile_view(mt, o.years.0, &o.look).0))),
            near: Arc::default(),
        })
        .collect();
    let pixels_kept = KeptBytes::default();
    // The first error of an archive written in the background.
    let failed: Mutex<Option<Error>> = Mutex::new(None);
    // Archives waiting to be written or being written in the background.
    let pending = std::sync::atomic::AtomicUsize::new(0);
    use std::sync::atomic::Ordering::Relaxed;
    // The stand-in for a tile already written.
    let no_png: Arc<Vec<u8>> = Arc::default();
    let no_png = &no_png;
    // Metatiles written as they are drawn go into their folder one at a time (the first
    // builds it in a temporary folder that is then renamed into place).
    let one_writer = Mutex::new(());
    let stream_write = |dir: &std::path::Path, tiles: &[Tile]| -> Result<()> {
        let _one = one_writer.lock().expect("writer lock");
        let t_write = std::time::Instant::now();
        let done = sink::write_xyz(dir, tiles, suffix, written);
        phase_time(&WRITE_NS, t_write);
        done
    };
    let stream_write = &stream_write;
    // States are drawn a block at a time, metatile by metatile: each metatile goes through
    // the block's states in turn, with what it keeps from state to state still warm in the
    // cache and no wait for the other metatiles between states. A block's tiles are held
    // until its states' archives are written, so a block holds about BLOCK_TILES tiles.
    let per_block = (block_tiles / planned.max(1)).clamp(1, groups.len().max(1));
    // The last state of a run with one year, in a block of its own: nothing reuses its
    // tiles, so a large XYZ pyramid is written metatile by metatile as they are drawn, and
    // a run holds one metatile's tiles rather than the whole pyramid's (a small one is
    // written at once, faster: a new folder is filled and renamed into place).
    let streams = |g: usize, block_len: usize| {
        o.format == TileFormat::Xyz
            && g + 1 == groups.len()
            && block_len == 1
            && groups[g].1.len() == 1
            && planned > STREAM_TILES
    };
    // One metatile in map state `g` (of a block of `block_len` states).
    let step = |chain: &mut Chain, g: usize, block_len: usize| -> Result<Outcome> {
        let year = groups[g].1[0];
        let stream = streams(g, block_len);
        let stream_dir = o.out.join(year.to_string());
        let Chain { mt, wanted, query, last, before, lines, near } = chain;
        if let (Some(changed), Some(kept)) = (&dirties[g], &*last) {
            if !changed.touches(query, mt.z) {
                if let Some(b) = &bar {
                    b.inc(1);
                }
                if stream {
                    stream_write(&stream_dir, kept)?;
                }
                return Ok(Outcome { tiles: kept.clone(), drawn: None });
            }
        }
        let t0 = std::time::Instant::now();
        let kept = keyed.then(|| near.clone());
        let record = || record_metatile_kept(atlas, style, mt, year, &o.look, keyed, kept);
        let rec = match lines {
            Some(lines) => with_line_cache(lines, record),
            None => record(),
        };
        phase_time(&RECORD_NS, t0);
        let tiles = wanted
            .par_iter()
            .zip(&*before)
            .map(|(t, before)| {
                let key = keyed.then(|| tile_key(&rec, mt, *t, &o.look));
                if let Some(png) = key.and_then(|k| by_key.get(k)) {
                    return Ok(((*t, png), false));
                }
                let encode = |pixels: &tiny_skia::Pixmap, counted: Option<&TileColours>, rows: Option<&[u128]>| {
                    let t0 = std::time::Instant::now();
                    let png = match encoded {
                        Some(cache) => cache.encode(pixels, (dpi, o.look.image), stream, counted, rows),
                        None => encode_tile(pixels, dpi, o.look.image, counted).map(without_spare),
                    };
                    phase_time(&ENCODE_NS, t0);
                    png
                };
                let png = match keyed {
                    true => before.redraw(&rec, (mt, *t), &o.look, &pixels_kept, encode)?,
                    false => {
                        let t0 = std::time::Instant::now();
                        let pixels = render_tile(&rec, mt, *t, &o.look)?;
                        phase_time(&RASTER_NS, t0);
                        encode(&pixels, None, None)?
                    }
                };
                if let Some(k) = key {
                    by_key.put(k, png.clone());
                }
                Ok(((*t, png), true))
            })
            .collect::<Result<Vec<_>>>();
        if let Some(b) = &bar {
            b.inc(1);
        }
        let tiles = tiles?;
        let drawn = tiles.iter().filter(|(_, fresh)| *fresh).count();
        let mut tiles: Vec<Tile> = tiles.into_iter().map(|(t, _)| t).collect();
        if stream {
            stream_write(&stream_dir, &tiles)?;
            // Written: only where the tiles are counts from here on.
            tiles.iter_mut().for_each(|t| t.1 = no_png.clone());
        }
        if !o.full {
            *last = Some(tiles.clone());
        }
        Ok(Outcome { tiles, drawn: Some(drawn) })
    };
    let step = &step;
    rayon::scope(|scope| -> Result<()> {
        let mut first = 0;
        while first < groups.len() {
            if failed.lock().expect("write error lock").is_some() {
                break;
            }
            let block = first..(first + per_block).min(groups.len());
            let block_len = block.len();
            let final_block = block.end == groups.len();
            let mut outcomes: Vec<Vec<Outcome>> = chains
                .par_iter_mut()
                .map(|chain| {
                    let out = block.clone().map(|g| step(chain, g, block_len)).collect::<Result<Vec<_>>>()?;
                    if final_block {
                        // Nothing draws this metatile again: what it kept goes.
                        *chain = chain.emptied();
                    }
                    Ok(out)
                })
                .collect::<Result<Vec<_>>>()?;
            for (k, g) in block.clone().enumerate() {
                let years = &groups[g].1;
                let stream = streams(g, block_len);
                let mut tiles: Vec<Tile> = Vec::new();
                for chain_out in &mut outcomes {
                    let Outcome { tiles: meta, drawn } = std::mem::take(&mut chain_out[k]);
                    match drawn {
                        None => {
                            report.metatiles_kept += 1;
                            report.metatiles_reused += 1;
                        }
                        Some(drawn) => {
                            report.metatiles += 1;
                            report.tiles_drawn += drawn;
                            report.metatiles_reused += usize::from(drawn == 0);
                        }
                    }
                    tiles.extend(meta);
                }
                // The archives of the state's years, written together (one database built
                // for all of them where the format allows) while the next states are drawn
                // (each is its own file); XYZ folders are written in order (they link to the
                // files of earlier years).
                let tiles = Arc::new(tiles);
                let mut archives: Vec<(std::path::PathBuf, PyramidInfo)> = Vec::new();
                for &year in years {
                    let info = PyramidInfo {
                        name: format!("{} {year}", atlas.data.title(&o.look.lang)).trim().to_string(),
                        attribution: atlas.data.meta.credit.clone(),
                        bounds: [bbox.west, bbox.south, bbox.east, bbox.north],
                        zooms,
                    };
                    report.tiles += tiles.len();
                    report.years += 1;
                    let ext = match o.format {
                        TileFormat::Xyz => {
                            let t_write = std::time::Instant::now();
                            let dir = o.out.join(year.to_string());
                            if !stream {
                                sink::write_xyz(&dir, &tiles, suffix, written)?;
                            }
                            let base = o
                                .base_url
                                .as_deref()
                                .map(|b| format!("{}/", b.trim_end_matches('/')))
                                .unwrap_or_default();
                            let url = format!("{base}{year}/{{z}}/{{x}}/{{y}}{suffix}.{}", o.look.image.ext());
                            sink::write_tilejson(&o.out.join(format!("{year}{suffix}.json")), &url, &info)?;
                            phase_time(&WRITE_NS, t_write);
                            continue;
                        }
                        TileFormat::Mbtiles => "mbtiles",
                        TileFormat::Pmtiles => "pmtiles",
                        TileFormat::Mvt => {
                            return Err(Error::Usage("--format mvt is written by tiles::mvt::generate".into()))
                        }
                    };
                    archives.push((o.out.join(format!("{year}{suffix}{shard_tag}.{ext}")), info));
                }
                if archives.is_empty() {
                    continue;
                }
                let (tiles, failed, pending, format) = (tiles.clone(), &failed, &pending, o.format);
                let write = move || {
                    let t_write = std::time::Instant::now();
                    let done = match format {
                        TileFormat::Mbtiles => sink::write_mbtiles_years(&archives, &tiles),
                        _ => archives.iter().try_for_each(|(path, info)| sink::write_pmtiles(path, &tiles, info)),
                    };
                    if let Err(e) = done {
                        failed.lock().expect("write error lock").get_or_insert(e);
                    }
                    phase_time(&WRITE_NS, t_write);
                };
                // At most a few states' archives wait at once (with one thread none is
                // written until the drawing ends), so a long run holds few states' tiles.
                if pending.fetch_add(1, Relaxed) < MAX_PENDING_ARCHIVES {
                    scope.spawn(move |_| {
                        write();
                        pending.fetch_sub(1, Relaxed);
                    });
                } else {
                    pending.fetch_sub(1, Relaxed);
                    write();
                }
            }
            first = block.end;
        }
        Ok(())
    })?;
    if let Some(e) = failed.into_inner().expect("write error lock") {
        return Err(e);
    }
    if std::env::var_os("STEPPE_ATLAS_TIMING").is_some() {
        let ms = |a: &std::sync::atomic::AtomicU64| a.load(std::sync::atomic::Ordering::Relaxed) as f64 / 1e6;
        eprintln!(
            "tiles (thread time): record {:.0} ms, rasterise {:.0} ms, encode {:.0} ms; write {:.0} ms",
            ms(&RECORD_NS),
            ms(&RASTER_NS),
            ms(&ENCODE_NS),
            ms(&WRITE_NS)
        );
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Source;
    use crate::time::EndDates;

    #[test]
    fn a_run_drawn_in_blocks_of_map_states_writes_the_files_of_a_run_drawn_in_one() {
        // 1715-1730 at z0-5 holds several map states (52 tiles a state): drawn in blocks of
        // three states (each metatile through a block, the archives written after it, its
        // kept pixels carried to the next block) and in one block, every archive and every
        // XYZ file is the same bytes, and the reports agree.
        let atlas = Atlas::load(&Source::Embedded, EndDates::default()).expect("built-in atlas loads");
        let style = Style::load("print").expect("print style");
        let tmp = tempfile::tempdir().expect("temp dir");
        for format in [TileFormat::Mbtiles, TileFormat::Xyz] {
            let run = |name: &str, block_tiles: usize| {
                let o = TileOptions {
                    years: (1715, 1730),
                    zooms: (0, 5),
                    out: tmp.path().join(format!("{format:?}-{name}")),
                    format,
                    look: TileLook { scale: 1, buffer_px: 128, lang: "en".into(), image: ImageFormat::Png },
                    shard: (0, 1),
                    metatile: METATILE,
                    progress: false,
                    force: false,
                    base_url: None,
                    full: false,
                };
                let report = generate_in_blocks(&atlas, &style, &o, block_tiles).expect("tiles");
                (o.out, report)
            };
            let (one, whole) = run("one", BLOCK_TILES);
            let (blocks, in_blocks) = run("blocks", 3 * 52);
            assert!(whole.distinct_states >= 4, "{} map states", whole.distinct_states);
            assert!(whole.metatiles_kept > 0 && whole.tiles_drawn > 0);
            assert_eq!(
                (whole.tiles, whole.metatiles, whole.metatiles_kept, whole.metatiles_reused, whole.tiles_drawn),
                (
                    in_blocks.tiles,
                    in_blocks.metatiles,
                    in_blocks.metatiles_kept,
                    in_blocks.metatiles_reused,
                    in_blocks.tiles_drawn
                )
            );
            let files = |root: &std::path::Path| -> Vec<(PathBuf, Vec<u8>)> {
                let mut out = Vec::new();
                let mut dirs = vec![root.to_path_buf()];
                while let Some(d) = dirs.pop() {
                    for e in std::fs::read_dir(&d).expect("folder") {
                        let p = e.expect("entry").path();
                        if p.is_dir() {
                            dirs.push(p);
                        } else {
                            out.push((
                                p.strip_prefix(root).expect("inside").to_path_buf(),
                                std::fs::read(&p).expect("file"),
                            ));
                        }
                    }
                }
                out.sort();
                out
            };
            let (a, b) = (files(&one), files(&blocks));
            // A file per year (an archive, or a TileJSON beside the year's folder of tiles).
            let expected = if format == TileFormat::Xyz { whole.tiles + 16 } else { 16 };
            assert_eq!(a.len(), expected, "{format:?}: files");
            assert!(a == b, "{format:?}: the files differ");
        }
    }

    #[test]
    fn a_metatile_drawn_with_what_earlier_states_kept_is_the_drawing_made_afresh() {
        // Over the Syr Darya at zoom 5, state after state (and back): the water, rivers and
        // each polity's land taken from an earlier drawing of the metatile (and the lines of
        // text and which contours reach the window, found where it kept them) give the
        // pixels, keys, labels and legend of a drawing made afresh.
        let atlas = Atlas::load(&Source::Embedded, EndDates::default()).expect("built-in atlas loads");
        let style = Style::load("print").expect("print style");
        let look = TileLook { scale: 1, buffer_px: 128, lang: "en".into(), image: ImageFormat::Png };
        let mt = MetaTile::of(TileId { z: 5, x: 22, y: 11 }, METATILE);
        let kept = Arc::new(NearDigests::default());
        let mut taken = 0;
        for year in [1723, 1723, 1724, 1730, 1741, 1723] {
            let (view, opts) = metatile_view(&mt, year, &look);
            let size = (view.width, view.height);
            let mut fresh = Recording::new(size, style.land, true);
            let a = draw_map(&atlas, &style, &view, &opts, &mut fresh);
            let mut again = Recording::new(size, style.land, true);
            again.keep_near_digests(kept.clone());
            let b = draw_map(&atlas, &style, &view, &opts, &mut again);
            let labels = |d: &crate::render::Drawn| -> Vec<(String, [f32; 4])> {
                d.labels.iter().map(|l| (l.text.clone(), l.bbox)).collect()
            };
            assert!(!a.labels.is_empty(), "{year}: names are placed");
            assert_eq!(labels(&a), labels(&b), "{year}");
            assert_eq!((&a.label_boxes, &a.missing, &a.shown), (&b.label_boxes, &b.missing, &b.shown), "{year}");
            let (x, y) = (look.buffer_px as i32, look.buffer_px as i32);
            let side = (TILE_PX * 2, TILE_PX * 2);
            let (p, q) =
                (fresh.draw_window(x, y, side).expect("pixels"), again.draw_window(x, y, side).expect("pixels"));
            assert!(p.data() == q.data(), "{year}: pixels");
            assert_eq!(fresh.window_key(x, y, side, b""), again.window_key(x, y, side, b""), "{year}: key");
            assert!(fresh.cell_keys(x, y, side) == again.cell_keys(x, y, side), "{year}: cell keys");
            taken = kept.layers_taken();
        }
        // The repeated states took the layers kept (water, rivers, lands).
        assert!(taken >= 8, "{taken} layers taken");
    }

    #[test]
    fn a_tiles_rows_hashed_again_where_they_changed_give_its_key_afresh() {
        // A tile, changed box by box: its rows hashed again only in the changed boxes give
        // the hashes, and so the key, of its rows hashed afresh; another pixel, another key.
        let mut px = tiny_skia::Pixmap::new(256, 256).expect("pixmap");
        let mut rows = row_hashes(&px, None, &[]);
        let key = |rows: &[u128]| pixel_key(256, rows, 96.0, ImageFormat::Png);
        let mut keys = vec![key(&rows)];
        for (k, b) in
            [[3usize, 0, 40, 1], [0, 17, 256, 30], [250, 255, 256, 256], [100, 100, 101, 101]].iter().enumerate()
        {
            for y in b[1]..b[3] {
                for x in b[0]..b[2] {
                    px.pixels_mut()[y * 256 + x] =
                        tiny_skia::PremultipliedColorU8::from_rgba(k as u8 * 40, 7, 9, 255).expect("colour");
                }
            }
            // Row by row, as a redraw reports what it changed.
            let changed: Vec<[usize; 4]> = (b[1]..b[3]).map(|y| [b[0], y, b[2], y + 1]).collect();
            rows = row_hashes(&px, Some(rows), &changed);
            assert!(rows == row_hashes(&px, None, &[]), "box {k}");
            keys.push(key(&rows));
        }
        let distinct: std::collections::HashSet<u128> = keys.iter().copied().collect();
        assert_eq!(distinct.len(), keys.len(), "every change gives a new key");
        // The key covers the encoding: the same pixels at another resolution differ.
        assert_ne!(key(&rows), pixel_key(256, &rows, 192.0, ImageFormat::Png));
    }

    #[test]
    fn no_name_runs_past_the_worlds_edge_at_zoom_0() {
        // At zoom 0 the world is one tile and nothing lies east or west of it: a name that
        // ran past its edge (Hami, near the east of the built-in atlas's view) would be cut.
        let atlas = Atlas::load(&Source::Embedded, EndDates::default()).expect("built-in atlas loads");
        let style = Style::load("print").expect("print style");
        let look = TileLook { scale: 1, buffer_px: 128, lang: "en".into(), image: ImageFormat::Png };
        let mt = MetaTile::of(TileId { z: 0, x: 0, y: 0 }, METATILE);
        for year in [1640, 1700, 1723, 1741] {
            let (view, opts) = metatile_view(&mt, year, &look);
            let drawn = render_map(&atlas, &style, &view, &opts);
            assert!(!drawn.labels.is_empty(), "{year}: names are placed");
            let (west, east) = (look.buffer_px as f32, (look.buffer_px + TILE_PX) as f32);
            for l in &drawn.labels {
                assert!(l.bbox[0] >= west - 0.5 && l.bbox[2] <= east + 0.5, "{year}: {:?} at {:?}", l.text, l.bbox);
            }
        }
    }
}
