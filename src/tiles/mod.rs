//! Slippy-map tiles per year: plan the pyramid over the data's extent, render metatiles
//! with a buffer (labels are placed once across a metatile, so none is cut at a tile
//! edge), cut them into 256 px tiles (512 px for `@2x`) and write them as an XYZ folder,
//! MBTiles or PMTiles, with TileJSON. Years whose maps are identical are rendered once.

pub mod grid;
pub mod key;
pub mod mapstyle;
pub mod merge;
pub mod mvt;
pub mod pmfile;
mod sink;

use crate::atlas::{map_state, Atlas};
use crate::error::{Error, Result};
use crate::imageformat::{encode_tile, ImageFormat};
use crate::project::{LonLatBox, Projection, View};
use crate::render::{draw_map, render_map, RenderOptions};
use crate::style::Style;
use crate::time::Year;
use grid::{tiles_in, MetaTile, TileId};
use key::{KeyCanvas, MetaKey};
use rayon::prelude::*;
use sink::{PyramidInfo, Tile};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Tile size in pixels at scale 1.
pub const TILE_PX: u32 = 256;

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
    /// Metatiles rendered.
    pub metatiles: usize,
    /// Metatiles whose content key had been seen before, so their tiles were reused.
    pub metatiles_reused: usize,
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

/// The content key of a metatile in a year: equal keys mean byte-identical tiles (see
/// [`key`]). Costs a drawing without rasterising or encoding.
pub fn metatile_key(atlas: &Atlas, style: &Style, mt: &MetaTile, year: i32, o: &TileLook) -> MetaKey {
    let (view, opts) = metatile_view(mt, year, o);
    let mut canvas = KeyCanvas::new((view.width.max(1), view.height.max(1)), style.land, mt, o);
    draw_map(atlas, style, &view, &opts, &mut canvas);
    canvas.finish()
}

/// PNGs already encoded, by a hash of their pixels: a tile whose pixels come out the same
/// as one encoded before (in another year or another metatile) is not encoded again.
#[derive(Default)]
pub struct EncodedTiles {
    by_pixels: Mutex<(PngsByPixels, usize)>,
}

/// PNGs by a 128-bit hash of their pixels.
type PngsByPixels = HashMap<u128, Arc<Vec<u8>>>;

impl EncodedTiles {
    fn encode(&self, tile: &tiny_skia::Pixmap, dpi: f32, image: ImageFormat) -> Result<Arc<Vec<u8>>> {
        let mut h = twox_hash::XxHash3_128::with_seed(u64::from(dpi.to_bits()) ^ ((image as u64) << 40));
        h.write(&tile.width().to_le_bytes());
        h.write(tile.data());
        let k = h.finish_128();
        if let Some(png) = self.by_pixels.lock().expect("cache lock").0.get(&k) {
            return Ok(png.clone());
        }
        let png = Arc::new(encode_tile(tile, dpi, image)?);
        let mut cache = self.by_pixels.lock().expect("cache lock");
        // Bounded like the store of rendered metatiles: emptied when full.
        if cache.1 > KEEP_BYTES / 2 {
            *cache = (HashMap::new(), 0);
        }
        cache.1 += png.len();
        cache.0.insert(k, png.clone());
        Ok(png)
    }
}

/// The rendered pixels (premultiplied RGBA) of a metatile with its buffer: tile (x, y)
/// starts at `buffer_px * scale + (x - mt.x) * 256 * scale` px.
pub fn metatile_pixmap(atlas: &Atlas, style: &Style, mt: &MetaTile, year: i32, o: &TileLook) -> tiny_skia::Pixmap {
    let (view, opts) = metatile_view(mt, year, o);
    render_map(atlas, style, &view, &opts).pixmap
}

/// Render one metatile and cut the wanted tiles out of it, as PNGs.
pub fn render_metatile(
    atlas: &Atlas,
    style: &Style,
    mt: &MetaTile,
    wanted: &[TileId],
    year: i32,
    o: &TileLook,
) -> Result<Vec<Tile>> {
    render_metatile_with(atlas, style, mt, wanted, year, o, None)
}

/// [`render_metatile`], reusing the PNG of any tile whose pixels `encoded` has seen.
fn render_metatile_with(
    atlas: &Atlas,
    style: &Style,
    mt: &MetaTile,
    wanted: &[TileId],
    year: i32,
    o: &TileLook,
    encoded: Option<&EncodedTiles>,
) -> Result<Vec<Tile>> {
    let tile_px = TILE_PX * o.scale;
    let buffer = o.buffer_px * o.scale;
    let t_raster = std::time::Instant::now();
    let image = metatile_pixmap(atlas, style, mt, year, o);
    phase_time(&RASTER_NS, t_raster);
    let dpi = 96.0 * o.scale as f32;
    wanted
        .iter()
        .map(|t| {
            let x0 = buffer + (t.x - mt.x) * tile_px;
            let y0 = buffer + (t.y - mt.y) * tile_px;
            let rect = tiny_skia::IntRect::from_xywh(x0 as i32, y0 as i32, tile_px, tile_px)
                .ok_or_else(|| Error::Encode("tile outside its metatile".into()))?;
            let tile = image.clone_rect(rect).ok_or_else(|| Error::Encode("tile outside its metatile".into()))?;
            let png = match encoded {
                Some(cache) => cache.encode(&tile, dpi, o.image)?,
                None => Arc::new(encode_tile(&tile, dpi, o.image)?),
            };
            Ok((*t, png))
        })
        .collect()
}

static RASTER_NS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
static KEY_NS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
static RENDER_NS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
static WRITE_NS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Add the wall time since `t0` to a phase's total (printed with `STEPPE_ATLAS_TIMING`).
fn phase_time(total: &std::sync::atomic::AtomicU64, t0: std::time::Instant) {
    total.fetch_add(t0.elapsed().as_nanos() as u64, std::sync::atomic::Ordering::Relaxed);
}

/// The most bytes of rendered tiles kept for reuse across years before the store is
/// emptied (a long run then renders some repeated states again, but never runs out of
/// memory).
const KEEP_BYTES: usize = 1 << 30;

/// Render and write the tiles of every year asked for.
pub fn generate(atlas: &Atlas, style: &Style, o: &TileOptions) -> Result<TileReport> {
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
    let zooms = (o.zooms.0, o.zooms.1);
    let bar = crate::output::progress_bar(o.progress, groups.len() * metatiles.len(), "metatiles");
    // The tiles of every metatile content seen so far, by key, and the PNGs by pixels.
    let mut seen: HashMap<MetaKey, Vec<Tile>> = HashMap::new();
    let mut seen_bytes = 0usize;
    let encoded = EncodedTiles::default();
    let encoded = (!o.full).then_some(&encoded);
    // Where each distinct PNG was first written in the XYZ folder, for hard links.
    let written = sink::Written::default();
    let written = (!o.full).then_some(&written);
    for (_, years) in &groups {
        let year = years[0];
        let t_keys = std::time::Instant::now();
        // Keys serve only to reuse a metatile in another map state: one state needs none.
        let keys: Vec<Option<MetaKey>> = if o.full || groups.len() == 1 {
            vec![None; metatiles.len()]
        } else {
            metatiles.par_iter().map(|(mt, _)| Some(metatile_key(atlas, style, mt, year, &o.look))).collect()
        };
        let todo: Vec<usize> =
            (0..metatiles.len()).filter(|&i| keys[i].is_none_or(|k| !seen.contains_key(&k))).collect();
        phase_time(&KEY_NS, t_keys);
        let t_render = std::time::Instant::now();
        let fresh: Vec<(usize, Vec<Tile>)> = todo
            .par_iter()
            .map(|&i| {
                let (mt, wanted) = &metatiles[i];
                let r = render_metatile_with(atlas, style, mt, wanted, year, &o.look, encoded);
                if let Some(b) = &bar {
                    b.inc(1);
                }
                r.map(|t| (i, t))
            })
            .collect::<Result<Vec<_>>>()?;
        phase_time(&RENDER_NS, t_render);
        let t_write = std::time::Instant::now();
        if let Some(b) = &bar {
            b.inc((metatiles.len() - fresh.len()) as u64);
        }
        report.metatiles += fresh.len();
        report.metatiles_reused += metatiles.len() - fresh.len();
        let mut fresh: HashMap<usize, Vec<Tile>> = fresh.into_iter().collect();
        let mut tiles: Vec<Tile> = Vec::new();
        for (i, key) in keys.iter().enumerate() {
            match (fresh.remove(&i), key) {
                (Some(t), Some(k)) => {
                    if seen_bytes > KEEP_BYTES {
                        seen.clear();
                        seen_bytes = 0;
                    }
                    seen_bytes += t.iter().map(|(_, png)| png.len()).sum::<usize>();
                    tiles.extend(t.iter().cloned());
                    seen.insert(*k, t);
                }
                (Some(t), None) => tiles.extend(t),
                (None, Some(k)) => tiles.extend(seen[k].iter().cloned()),
                (None, None) => unreachable!("a metatile without a key is always rendered"),
            }
        }
        for &year in years {
            let info = PyramidInfo {
                name: format!("{} {year}", atlas.data.title(&o.look.lang)).trim().to_string(),
                attribution: atlas.data.meta.credit.clone(),
                bounds: [bbox.west, bbox.south, bbox.east, bbox.north],
                zooms,
            };
            match o.format {
                TileFormat::Xyz => {
                    let dir = o.out.join(year.to_string());
                    sink::write_xyz(&dir, &tiles, suffix, written)?;
                    let base =
                        o.base_url.as_deref().map(|b| format!("{}/", b.trim_end_matches('/'))).unwrap_or_default();
                    let url = format!("{base}{year}/{{z}}/{{x}}/{{y}}{suffix}.{}", o.look.image.ext());
                    sink::write_tilejson(&o.out.join(format!("{year}{suffix}.json")), &url, &info)?;
                }
                TileFormat::Mbtiles => {
                    sink::write_mbtiles(&o.out.join(format!("{year}{suffix}{shard_tag}.mbtiles")), &tiles, &info)?
                }
                TileFormat::Pmtiles => {
                    sink::write_pmtiles(&o.out.join(format!("{year}{suffix}{shard_tag}.pmtiles")), &tiles, &info)?
                }
                TileFormat::Mvt => return Err(Error::Usage("--format mvt is written by tiles::mvt::generate".into())),
            }
            report.tiles += tiles.len();
            report.years += 1;
        }
        phase_time(&WRITE_NS, t_write);
    }
    if std::env::var_os("STEPPE_ATLAS_TIMING").is_some() {
        let ms = |a: &std::sync::atomic::AtomicU64| a.load(std::sync::atomic::Ordering::Relaxed) as f64 / 1e6;
        eprintln!(
            "tiles: keys {:.0} ms, render {:.0} ms (of which drawing {:.0} ms, thread time), write {:.0} ms",
            ms(&KEY_NS),
            ms(&RENDER_NS),
            ms(&RASTER_NS),
            ms(&WRITE_NS)
        );
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    Ok(report)
}
