//! The wars in motion: a frame per year (plus in-between frames where land changes
//! hands), written as a PNG sequence, an animated GIF and an APNG.
//!
//! Each distinct map state is rendered once (quiet years share one render); the year,
//! caption and timeline cursor are drawn over it per frame. Frames go through the
//! encoders in small chunks, so memory stays bounded however long the run: a chunk is
//! rendered and composed in parallel, then streamed to the files in order.

pub use crate::atlas::map_state;
use crate::atlas::Atlas;
use crate::data::{Feature, Layer};
use crate::error::{Error, Result};
use crate::output::{encode_png, write_atomic, AtomicFile};
use crate::project::View;
use crate::render::{draw_map, draw_overlay, render_base, render_map, RenderOptions, Timeline};
use crate::style::Style;
use crate::time::Year;
use dirty::{Patch, Recorder};
use rayon::prelude::*;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::Arc;
use tiny_skia::Pixmap;

mod dirty;
mod framepng;
mod lzw;

/// What to animate and where to write it.
#[derive(Clone, Debug)]
pub struct AnimationOptions {
    /// First year.
    pub from: i32,
    /// Last year.
    pub to: i32,
    /// Folder for the key frames `{year}.png` (None: none written).
    pub frames_dir: Option<PathBuf>,
    /// Animated GIF to write.
    pub gif: Option<PathBuf>,
    /// APNG to write.
    pub apng: Option<PathBuf>,
    /// Folder for every frame numbered `000001.png…` (for video editors).
    pub sequence: Option<PathBuf>,
    /// Frames per second of ordinary frames.
    pub fps: f32,
    /// In-between frames before each year whose map changes.
    pub tween: u32,
    /// Seconds to hold a year that has a caption.
    pub hold: f32,
    /// Label language.
    pub lang: String,
    /// Dots per inch (style points to pixels).
    pub dpi: f32,
    /// Show a progress bar on a terminal.
    pub progress: bool,
}

/// One frame of the animation.
#[derive(Clone, Debug, PartialEq)]
pub struct FramePlan {
    /// The year whose map is shown (tween frames lead into it).
    pub year: i32,
    /// For tween frames: the previous year and the blend factor.
    pub blend_from: Option<(i32, f32)>,
    /// How far the year's campaign routes have grown (0–1).
    pub route_progress: f32,
    /// Is this the year's key frame (written as `{year}.png`)?
    pub key: bool,
    /// Display time in centiseconds (GIF delays are whole centiseconds; the APNG uses the same).
    pub delay_cs: u16,
    /// Where the timeline cursor stands.
    pub cursor: f32,
    /// Signature of the map state (frames with equal signatures share one render).
    pub state: u64,
}

/// What a run produced.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AnimationReport {
    /// Frames in the GIF/APNG.
    pub frames: usize,
    /// Key frames (one per year).
    pub key_frames: usize,
    /// Distinct map states among the frames.
    pub distinct_states: usize,
    /// Map renders done (a state that comes back after leaving the small cache of
    /// recent states is rendered again).
    pub renders: usize,
    /// Total display time, seconds.
    pub duration_s: f32,
}

/// Does anything change hands, or a campaign start, between `year - 1` and `year`?
fn changes(atlas: &Atlas, year: i32) -> bool {
    let (a, b) = (Year(year - 1), Year(year));
    let polity = |f: &Feature, y: Year| if f.alive(y) { f.holder(y).map(|c| c.polity.clone()) } else { None };
    let land_or_town = [Layer::Territories, Layer::Cities]
        .iter()
        .any(|&l| atlas.data.layer(l).iter().any(|f| polity(f, a) != polity(f, b)));
    land_or_town || atlas.data.layer(Layer::Campaigns).iter().any(|c| c.alive(b) && !c.alive(a))
}

/// The frames of an animation: a key frame per year, led in by `tween` blended frames
/// wherever the map changes.
pub fn plan(atlas: &Atlas, o: &AnimationOptions) -> Vec<FramePlan> {
    let base_cs = ((100.0 / o.fps.max(0.1)).round() as u16).max(2);
    let hold_cs = ((o.hold * 100.0).round() as u16).max(base_cs);
    let mut frames = Vec::new();
    for year in o.from..=o.to {
        let state = map_state(atlas, year);
        if year > o.from && o.tween > 0 && changes(atlas, year) {
            for k in 1..=o.tween {
                let t = k as f32 / (o.tween + 1) as f32;
                let mut h = DefaultHasher::new();
                (state, year, k, o.tween).hash(&mut h);
                frames.push(FramePlan {
                    year,
                    blend_from: Some((year - 1, t)),
                    route_progress: t,
                    key: false,
                    delay_cs: base_cs,
                    cursor: year as f32 - 1.0 + t,
                    state: h.finish(),
                });
            }
        }
        let captioned = !atlas.data.captions(Year(year), &o.lang).is_empty();
        frames.push(FramePlan {
            year,
            blend_from: None,
            route_progress: 1.0,
            key: true,
            delay_cs: if captioned { hold_cs } else { base_cs },
            cursor: year as f32,
            state,
        });
    }
    frames
}

fn render_options(o: &AnimationOptions, p: &FramePlan, base: &Option<Arc<Pixmap>>) -> RenderOptions {
    let mut r = RenderOptions::frame(Year(p.year), o.dpi);
    r.lang = o.lang.clone();
    r.route_progress = p.route_progress;
    r.blend_from = p.blend_from.map(|(y, t)| (Year(y), t));
    r.fixed_title = true;
    r.timeline = Some(Timeline { from: o.from, to: o.to, cursor: p.cursor });
    r.base_layer = base.clone();
    r
}

/// A small cache of rendered map states; quiet years are consecutive, so a few suffice.
struct StateCache {
    entries: Vec<(u64, Arc<Pixmap>)>,
    capacity: usize,
}

impl StateCache {
    fn get(&self, state: u64) -> Option<Arc<Pixmap>> {
        self.entries.iter().find(|e| e.0 == state).map(|e| e.1.clone())
    }

    fn put(&mut self, state: u64, p: Arc<Pixmap>) {
        self.entries.push((state, p));
        let excess = self.entries.len().saturating_sub(self.capacity);
        self.entries.drain(..excess);
    }
}

/// The GIF palette index that stands for "unchanged since the previous frame".
const TRANSPARENT: u8 = 255;
/// A lookup cell not yet computed (never a nearest entry: those are 0–254).
const UNSET: u8 = 255;

/// A global palette for the whole GIF, so that colours never flicker between frames, and
/// a 15-bit lookup table from colour to palette index.
struct Palette {
    rgb: Vec<u8>,
    /// Nearest entry per colour at 6 bits a channel, filled in as colours are met
    /// ([`UNSET`] until then): a map meets a few thousand of the 262,144 cells.
    lut: Vec<std::sync::atomic::AtomicU8>,
    /// The style's colours, which map to their own entries exactly.
    exact: std::collections::HashMap<u32, u8>,
}

impl Palette {
    /// Learn 256 colours from sample frames plus every colour of the style (so a polity
    /// that appears only later still has its exact colour).
    fn learn(samples: &[&Pixmap], style: &Style) -> Palette {
        let mut pixels: Vec<u8> = Vec::new();
        // Every 11th pixel is plenty for NeuQuant, and about 100,000 pixels in all (its
        // learning is one thread's work while the others wait).
        let total: usize = samples.iter().map(|p| p.data().len() / 4).sum();
        let step = total.div_ceil(100_000).max(11);
        for p in samples {
            pixels.extend(p.data().chunks_exact(4).step_by(step).flat_map(|c| [c[0], c[1], c[2], 255]));
        }
        // The style's own colours are palette entries as they are: every polity keeps its
        // exact colour in every frame, whether or not it is on the first frames.
        let fills =
            style.polities.values().flat_map(|p| [style.land.mix(p.fill, style.territories.fill_opacity), p.border]);
        let others = [style.land, style.water.fill, style.water.outline, style.rivers.color, style.furniture.panel];
        let mut rgb: Vec<u8> = Vec::with_capacity(256 * 3);
        for c in fills.chain(others) {
            let c = [c.0, c.1, c.2];
            if rgb.chunks_exact(3).all(|e| e != c) && rgb.len() < 96 * 3 {
                rgb.extend_from_slice(&c);
            }
        }
        // The rest is learned; index 255 is kept for "unchanged since the last frame".
        let learned = 255 - rgb.len() / 3;
        let exact: std::collections::HashMap<u32, u8> = rgb
            .chunks_exact(3)
            .enumerate()
            .map(|(i, c)| (u32::from_le_bytes([c[0], c[1], c[2], 255]), i as u8))
            .collect();
        let nq = color_quant::NeuQuant::new(20, learned, &pixels);
        rgb.extend_from_slice(&nq.color_map_rgb());
        rgb.resize(256 * 3, 0);
        let lut = (0..1u32 << 18).map(|_| std::sync::atomic::AtomicU8::new(UNSET)).collect();
        Palette { rgb, lut, exact }
    }

    /// The entry nearest to the centre of lookup cell `k` (6 bits a channel), computed once.
    fn nearest(&self, k: usize) -> u8 {
        use std::sync::atomic::Ordering::Relaxed;
        let known = self.lut[k].load(Relaxed);
        if known != UNSET {
            return known;
        }
        let (r, g, b) = ((k >> 12) & 63, (k >> 6) & 63, k & 63);
        let (r, g, b) = ((r << 2 | 2) as i32, (g << 2 | 2) as i32, (b << 2 | 2) as i32);
        let mut best = (i32::MAX, 0u8);
        for (i, c) in self.rgb.chunks_exact(3).take(255).enumerate() {
            let d =
                (r - i32::from(c[0])).pow(2) * 3 + (g - i32::from(c[1])).pow(2) * 4 + (b - i32::from(c[2])).pow(2) * 2;
            if d < best.0 {
                best = (d, i as u8);
            }
        }
        // Threads that meet the same cell at once compute the same entry.
        self.lut[k].store(best.1, Relaxed);
        best.1
    }

    /// The palette index of one opaque pixel: a style colour exactly, others through the
    /// lookup table.
    fn index_px(&self, c: &[u8]) -> u8 {
        let px = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        self.exact.get(&px).copied().unwrap_or_else(|| {
            self.nearest((usize::from(c[0] >> 2) << 12) | (usize::from(c[1] >> 2) << 6) | usize::from(c[2] >> 2))
        })
    }

    /// Palette indices of an opaque frame; runs of one colour (most of a map) cost one
    /// comparison a pixel.
    #[cfg(test)]
    fn index(&self, p: &Pixmap) -> Vec<u8> {
        let mut last = (u32::MAX, 0u8);
        p.data()
            .chunks_exact(4)
            .map(|c| {
                let px = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
                if px != last.0 {
                    last = (px, self.index_px(c));
                }
                last.1
            })
            .collect()
    }

    /// A GIF frame of `cur` drawn over `prev`: only the rectangle that changed is indexed,
    /// and in it the pixels that did not change are transparent (the whole frame, opaque,
    /// when there is no previous one). Every pixel shown is then the index of its colour
    /// in the frame, exactly as if whole frames were indexed and diffed.
    fn sub_frame(
        &self,
        prev: Option<&Pixmap>,
        cur: &Pixmap,
        delay_cs: u16,
        hint: Option<&[[usize; 4]]>,
    ) -> gif::Frame<'static> {
        let w = cur.width() as usize;
        let rect = changed_rect(prev.map(|p| p.data()), cur.data(), w, 4, hint);
        // Outside the hint's rectangles nothing changed: those pixels stay transparent
        // without being looked at.
        let areas: Vec<[usize; 4]> = match (prev, hint) {
            (Some(_), Some(h)) => h.iter().filter_map(|r| intersect(*r, rect)).collect(),
            _ => vec![rect],
        };
        let mut data = vec![TRANSPARENT; rect[2] * rect[3]];
        let mut last = (u32::MAX, 0u8);
        let word = |c: &[u8]| u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        for a in areas {
            for y in a[1]..a[1] + a[3] {
                let span = (y * w + a[0]) * 4..(y * w + a[0] + a[2]) * 4;
                let now = &cur.data()[span.clone()];
                let out = &mut data[(y - rect[1]) * rect[2] + a[0] - rect[0]..][..a[2]];
                let mut index = |px: u32, c: &[u8]| {
                    if px != last.0 {
                        last = (px, self.index_px(c));
                    }
                    last.1
                };
                match prev {
                    Some(p) => {
                        for ((o, c), b) in out.iter_mut().zip(now.chunks_exact(4)).zip(p.data()[span].chunks_exact(4)) {
                            let px = word(c);
                            if px != word(b) {
                                *o = index(px, c);
                            }
                        }
                    }
                    None => out.iter_mut().zip(now.chunks_exact(4)).for_each(|(o, c)| *o = index(word(c), c)),
                }
            }
        }
        gif::Frame {
            delay: delay_cs,
            transparent: prev.map(|_| TRANSPARENT),
            dispose: gif::DisposalMethod::Keep,
            left: rect[0] as u16,
            top: rect[1] as u16,
            width: rect[2] as u16,
            height: rect[3] as u16,
            buffer: std::borrow::Cow::Owned(lzw::encode(&data)),
            ..gif::Frame::default()
        }
    }
}

/// The bounding box `[x, y, w, h]` of the pixels that differ between two frames (the
/// whole frame when there is no previous one; one pixel when nothing changed). `hint`, if
/// given, holds rectangles outside which the frames are known to be equal (the dirty tiles).
fn changed_rect(prev: Option<&[u8]>, cur: &[u8], width: usize, bpp: usize, hint: Option<&[[usize; 4]]>) -> [usize; 4] {
    let height = cur.len() / (width * bpp);
    let Some(prev) = prev else { return [0, 0, width, height] };
    let whole = [[0, 0, width, height]];
    let row = width * bpp;
    // [x0, y0, x1, y1], inclusive.
    let mut found: Option<[usize; 4]> = None;
    for &[hx, hy, hw, hh] in hint.unwrap_or(&whole) {
        let span = |y: usize| y * row + hx * bpp..y * row + (hx + hw) * bpp;
        for y in hy..hy + hh {
            let (a, b) = (&prev[span(y)], &cur[span(y)]);
            // Byte positions of the first and last difference, as pixel columns.
            let Some(first) = first_difference(a, b) else { continue };
            let last = last_difference(a, b).unwrap_or(first);
            let (x0, x1) = (hx + first / bpp, hx + last / bpp);
            found = Some(match found {
                None => [x0, y, x1, y],
                Some(f) => [f[0].min(x0), f[1].min(y), f[2].max(x1), f[3].max(y)],
            });
        }
    }
    match found {
        None => [0, 0, 1, 1],
        Some([x0, y0, x1, y1]) => [x0, y0, x1 + 1 - x0, y1 + 1 - y0],
    }
}

/// The overlap of two rectangles `[x, y, w, h]`, if they overlap.
fn intersect(a: [usize; 4], b: [usize; 4]) -> Option<[usize; 4]> {
    let (x0, y0) = (a[0].max(b[0]), a[1].max(b[1]));
    let (x1, y1) = ((a[0] + a[2]).min(b[0] + b[2]), (a[1] + a[3]).min(b[1] + b[3]));
    (x0 < x1 && y0 < y1).then(|| [x0, y0, x1 - x0, y1 - y0])
}

/// Blocks compared whole before looking for the byte that differs.
const BLOCK: usize = 64;

/// The first position at which two slices of one length differ.
fn first_difference(a: &[u8], b: &[u8]) -> Option<usize> {
    let skip = a.chunks(BLOCK).zip(b.chunks(BLOCK)).position(|(p, q)| p != q)? * BLOCK;
    a[skip..].iter().zip(&b[skip..]).position(|(p, q)| p != q).map(|i| skip + i)
}

/// The last position at which two slices of one length differ.
fn last_difference(a: &[u8], b: &[u8]) -> Option<usize> {
    let keep = a.len() - a.rchunks(BLOCK).zip(b.rchunks(BLOCK)).position(|(p, q)| p != q)? * BLOCK;
    a[..keep].iter().zip(&b[..keep]).rposition(|(p, q)| p != q)
}

fn crop(data: &[u8], width: usize, bpp: usize, r: [usize; 4]) -> Vec<u8> {
    let mut out = Vec::with_capacity(r[2] * r[3] * bpp);
    for y in r[1]..r[1] + r[3] {
        let start = (y * width + r[0]) * bpp;
        out.extend_from_slice(&data[start..start + r[2] * bpp]);
    }
    out
}

// The APNG writer writes whole chunks, so it needs no buffer (and `finish` then leaves
// nothing unflushed).
type ApngWriter = png::Writer<std::fs::File>;

/// The years an animation may span (ISO 8601's four digits either side of year 0).
pub const YEARS: std::ops::RangeInclusive<i32> = crate::data::META_YEARS;
/// The most frames one animation may hold: over an hour at 5 frames a second, and the
/// most a GIF viewer will sensibly play.
pub const MAX_FRAMES: u64 = 20_000;
/// Share of the memory available that an animation may plan to use.
const MEMORY_SHARE: f64 = 0.8;

/// The memory an animation of `width`×`height` frames needs at its peak, bytes: the
/// frames of a chunk rendered, composed and indexed, the cached map states, and the
/// batch the encoder thread holds.
pub fn memory_estimate(width: u32, height: u32) -> u64 {
    let frame = u64::from(width) * u64::from(height) * 4;
    let chunk = (rayon::current_num_threads() * 2).max(4) as u64;
    // Per frame in a chunk: its map state, its composed frame, its GIF indices (a
    // quarter) and its APNG and GIF deltas (at most a frame and a quarter) — twice over,
    // as one chunk is encoded while the next renders; plus the state cache and base layer.
    frame * (chunk * 7 + chunk + 2)
}

/// The memory available to this process, bytes (Linux `MemAvailable`; None elsewhere).
pub fn available_memory() -> Option<u64> {
    crate::output::available_memory()
}

/// Size an animation before anything is planned or written: refuse a span outside
/// [`YEARS`], more than [`MAX_FRAMES`] frames, or frames that will not fit in memory.
pub fn check_job(o: &AnimationOptions, width: u32, height: u32, available: Option<u64>) -> Result<u64> {
    check_span(o.from, o.to, o.tween, width, height, available)
}

/// [`check_job`] for the years `from..=to` with `tween` in-between frames a year, for
/// callers that write frames without an [`AnimationOptions`] (vector key frames).
pub fn check_span(from: i32, to: i32, tween: u32, width: u32, height: u32, available: Option<u64>) -> Result<u64> {
    if !YEARS.contains(&from) || !YEARS.contains(&to) {
        return Err(Error::Usage(format!(
            "--from {from} --to {to} lies outside the years {}..{} that can be animated",
            YEARS.start(),
            YEARS.end()
        )));
    }
    let years = u64::try_from(i64::from(to) - i64::from(from) + 1).unwrap_or(0);
    let frames = years.saturating_mul(1 + u64::from(tween));
    if frames > MAX_FRAMES {
        return Err(Error::Usage(format!(
            "the animation would have up to {frames} frames ({years} years × {} frames each), more than {MAX_FRAMES}; \
             narrow --from/--to or lower --tween",
            1 + tween
        )));
    }
    let need = memory_estimate(width, height);
    if let Some(avail) = available {
        if need as f64 > avail as f64 * MEMORY_SHARE {
            return Err(Error::Usage(format!(
                "{width}×{height} px frames need about {} MB of memory and {} MB is available; use a smaller size",
                need / 1_000_000,
                avail / 1_000_000
            )));
        }
    }
    Ok(frames)
}

/// Render and write the animation. Returns what was produced.
pub fn animate(atlas: &Atlas, style: &Style, view: &View, o: &AnimationOptions) -> Result<AnimationReport> {
    if o.from > o.to {
        return Err(Error::Usage(format!("--from {} is after --to {}", o.from, o.to)));
    }
    if !(o.fps.is_finite() && o.fps > 0.0 && o.fps <= 100.0) {
        return Err(Error::Usage(format!("--fps {} must be within (0, 100]", o.fps)));
    }
    if !(o.hold.is_finite() && (0.0..=60.0).contains(&o.hold)) {
        return Err(Error::Usage(format!("--hold {} must be within 0–60 seconds", o.hold)));
    }
    if o.tween > 60 {
        return Err(Error::Usage(format!("--tween {} is more than 60 frames", o.tween)));
    }
    if let (Some(g), Some(a)) = (&o.gif, &o.apng) {
        if crate::output::same_file_name(g, a) {
            return Err(Error::Usage(format!("--gif and --apng name the same file {}", g.display())));
        }
    }
    check_job(o, view.width, view.height, available_memory())?;
    // Whole redraws of every frame instead of dirty tiles: for checking that both agree.
    let full_redraw = std::env::var_os("STEPPE_ATLAS_FULL_REDRAW").is_some_and(|v| v != "0");
    let plans = plan(atlas, o);
    let mut states: Vec<u64> = plans.iter().map(|p| p.state).collect();
    states.sort_unstable();
    states.dedup();
    let enc = |e: png::EncodingError| Error::Encode(e.to_string());

    let bar = crate::output::progress_bar(o.progress, plans.len(), "frames");
    let chunk_len = (rayon::current_num_threads() * 2).max(4);
    let mut cache = StateCache { entries: Vec::new(), capacity: chunk_len };
    let mut report = AnimationReport { distinct_states: states.len(), ..AnimationReport::default() };

    let mut apng: Option<(AtomicFile, ApngWriter)> = None;
    if let Some(path) = &o.apng {
        let mut pending = AtomicFile::create(path)?;
        let mut e = png::Encoder::new(pending.file()?, view.width, view.height);
        e.set_color(png::ColorType::Rgba);
        e.set_depth(png::BitDepth::Eight);
        e.set_compression(png::Compression::Fast);
        e.set_animated(plans.len() as u32, 0).map_err(enc)?;
        let ppm = (f64::from(o.dpi) / 0.0254).round() as u32;
        e.set_pixel_dims(Some(png::PixelDimensions { xppu: ppm, yppu: ppm, unit: png::Unit::Meter }));
        apng = Some((pending, e.write_header().map_err(enc)?));
    }
    let gif_file = match &o.gif {
        Some(path) => Some(AtomicFile::create(path)?),
        None => None,
    };
    let (w, h) = (view.width, view.height);
    // Water, rivers and graticule do not change with the year: draw them once.
    let base = plans
        .first()
        .and_then(|p| render_base(atlas, style, view, &render_options(o, p, &None), (o.from, o.to)).map(Arc::new));

    // The encoders run on their own thread, fed chunk by chunk through a channel of one
    // slot: rendering the next chunk overlaps writing this one, and memory stays bounded.
    std::thread::scope(|scope| -> Result<AnimationReport> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Batch>(1);
        let dpi = o.dpi;
        let writer = scope.spawn(move || write_batches(rx, gif_file, apng, (w, h), dpi));
        let mut palette: Option<Palette> = None;
        let mut last: Option<Pixmap> = None;
        let mut seq_no = 0usize;
        let mut last_digests: Option<Vec<u64>> = None;
        let mut recorded: Vec<(u64, Arc<Recorder>)> = Vec::new();
        let spares = Spares::default();
        // The PNG rows of the last frame, for the next frame to keep those that did not change.
        let wants_png = o.frames_dir.is_some() || o.sequence.is_some();
        let mut png_rows: Option<framepng::Rows> = None;
        for chunk in plans.chunks(chunk_len) {
            let (composed, hints) = if full_redraw {
                (compose_whole(atlas, style, view, o, chunk, &base, &mut cache, &mut report), vec![None; chunk.len()])
            } else {
                let (frames, hints, digests) = compose_dirty(
                    atlas,
                    style,
                    view,
                    o,
                    chunk,
                    &base,
                    &mut recorded,
                    chunk_len,
                    (last.as_ref(), last_digests.take()),
                    &spares,
                    &mut report,
                );
                last_digests = digests;
                (frames, hints)
            };
            let mut batch = Batch::default();
            // GIF: one palette learned from the first chunk.
            if o.gif.is_some() && palette.is_none() {
                let pal = Palette::learn(&composed.iter().collect::<Vec<_>>(), style);
                batch.palette = Some(pal.rgb.clone());
                palette = Some(pal);
            }
            // Every output of a frame in one parallel pass (one wait per chunk, not one per
            // output): the PNG rows that changed (or lie under a changed row) encoded; the
            // GIF frame indexed, diffed against the previous one and LZW-compressed; the
            // APNG's changed rectangle, unchanged pixels transparent, blended over.
            type Encoded = (
                Option<Vec<Option<Option<Arc<framepng::RowCode>>>>>,
                Option<gif::Frame<'static>>,
                Option<(u16, Delta)>,
            );
            let encoded: Vec<Encoded> = (0..chunk.len())
                .into_par_iter()
                .map(|i| {
                    let (p, pm) = (&chunk[i], &composed[i]);
                    let prev = if i == 0 { last.as_ref() } else { Some(&composed[i - 1]) };
                    let rows = wants_png.then(|| {
                        let cur = pm.data();
                        let before = prev.map(|p| p.data()).filter(|_| i > 0 || png_rows.is_some());
                        framepng::encode_rows(cur, w as usize, &framepng::rows_to_encode(before, cur, w as usize))
                    });
                    let hint = hints[i].as_deref();
                    let gif = palette.as_ref().map(|pal| pal.sub_frame(prev, pm, p.delay_cs, hint));
                    let apng = o.apng.is_some().then(|| {
                        (p.delay_cs, delta(prev.map(|p| p.data()), pm.data(), w as usize, &[0, 0, 0, 0], hint))
                    });
                    (rows, gif, apng)
                })
                .collect();
            // PNG files: a frame's rows are those it encoded and, for the others, the
            // previous frame's. The encoder thread puts them together and writes the files.
            for (i, (fresh, g, a)) in encoded.into_iter().enumerate() {
                batch.gif.extend(g);
                batch.apng.extend(a);
                let Some(fresh) = fresh else { continue };
                let rows: framepng::Rows = fresh
                    .into_iter()
                    .enumerate()
                    .map(|(y, r)| r.unwrap_or_else(|| png_rows.as_ref().and_then(|b| b[y].clone())))
                    .collect();
                let p = &chunk[i];
                let mut paths = Vec::new();
                if let (true, Some(dir)) = (p.key, &o.frames_dir) {
                    paths.push(dir.join(format!("{}.png", p.year)));
                }
                if let Some(dir) = &o.sequence {
                    paths.push(dir.join(format!("{:06}.png", seq_no + i + 1)));
                }
                if !paths.is_empty() {
                    // A frame with a translucent pixel (none in a map) is written as RGBA.
                    let file = if rows.iter().all(Option::is_some) {
                        PngFile::Rows(rows.clone())
                    } else {
                        PngFile::Bytes(encode_png(&composed[i], o.dpi)?)
                    };
                    batch.png.push((file, paths));
                }
                png_rows = Some(rows);
            }
            seq_no += chunk.len();
            report.frames += chunk.len();
            report.key_frames += chunk.iter().filter(|p| p.key).count();
            report.duration_s += chunk.iter().map(|p| f32::from(p.delay_cs) / 100.0).sum::<f32>();
            // The chunk's last frame is the next one's "before"; the others are reused.
            let mut done = composed.into_iter();
            let newest = done.next_back();
            done.chain(last.take()).for_each(|p| spares.give(p));
            last = newest;
            if tx.send(batch).is_err() {
                break; // the writer stopped on an error; join() reports it
            }
            if let Some(b) = &bar {
                b.inc(chunk.len() as u64);
            }
        }
        // Only now, with every frame sent, may the writer put the files in place: a run
        // that stops early (an error above returns before this) leaves no GIF or APNG.
        tx.send(Batch { finished: true, ..Batch::default() }).ok();
        drop(tx);
        writer.join().map_err(|_| Error::Encode("the encoder thread panicked".into()))??;
        if let Some(b) = &bar {
            b.finish_and_clear();
        }
        Ok(report)
    })
}

/// The frames of a chunk drawn whole: each map state rendered (or taken from the cache),
/// then the title block and timeline drawn over a copy of it.
#[allow(clippy::too_many_arguments)]
fn compose_whole(
    atlas: &Atlas,
    style: &Style,
    view: &View,
    o: &AnimationOptions,
    chunk: &[FramePlan],
    base: &Option<Arc<Pixmap>>,
    cache: &mut StateCache,
    report: &mut AnimationReport,
) -> Vec<Pixmap> {
    // Render the map states this chunk needs and the cache lacks, in parallel.
    let mut have: Vec<(u64, Arc<Pixmap>)> = Vec::new();
    let mut needed: Vec<&FramePlan> = Vec::new();
    for p in chunk {
        if have.iter().any(|h| h.0 == p.state) || needed.iter().any(|n| n.state == p.state) {
            continue;
        }
        match cache.get(p.state) {
            Some(pm) => have.push((p.state, pm)),
            None => needed.push(p),
        }
    }
    let rendered: Vec<(u64, Arc<Pixmap>)> = needed
        .par_iter()
        .map(|p| (p.state, Arc::new(render_map(atlas, style, view, &render_options(o, p, base)).pixmap)))
        .collect();
    report.renders += rendered.len();
    for (s, p) in &rendered {
        cache.put(*s, p.clone());
    }
    have.extend(rendered);
    let lookup = |state: u64| have.iter().find(|e| e.0 == state).map(|e| e.1.clone());
    // Compose the frames (map state + title block + timeline) in parallel.
    chunk
        .par_iter()
        .map(|p| {
            let mut pm = (*lookup(p.state).expect("rendered above")).clone();
            draw_overlay(atlas, style, view, &render_options(o, p, base), &mut pm);
            pm
        })
        .collect()
}

/// Spare frame-sized images, reused rather than allocated for every frame (an allocation
/// this large is a fresh memory mapping, and threads mapping at once wait on each other).
#[derive(Default)]
struct Spares(std::sync::Mutex<Vec<Pixmap>>);

impl Spares {
    /// A frame-sized image with any pixels.
    fn take(&self, (w, h): (u32, u32)) -> Option<Pixmap> {
        let spare = self.0.lock().ok().and_then(|mut v| v.pop());
        spare.filter(|p| (p.width(), p.height()) == (w, h)).or_else(|| Pixmap::new(w, h))
    }

    /// Keep an image for reuse (a few at most).
    fn give(&self, p: Pixmap) {
        if let Ok(mut v) = self.0.lock() {
            if v.len() < 2 * rayon::current_num_threads().max(4) {
                v.push(p);
            }
        }
    }
}

/// A frame of a chunk as redrawn: the dirty tiles over the previous frame (with the box
/// around them), or, when its drawing cannot be replayed, the whole frame.
enum Redrawn {
    Tiles(Patch, Vec<[usize; 4]>),
    Whole(Pixmap),
}

/// The frames of a chunk, each redrawn only where it differs from the one before (see
/// [`dirty`]). Map states are recorded once (and kept in `recorded`, the most recent
/// `keep` of them); the title block and timeline are recorded per frame. Returns the
/// frames, for each the rectangles outside which it equals the previous frame, and the tile
/// digests of the last frame, to diff the next chunk's first frame against.
#[allow(clippy::too_many_arguments, clippy::type_complexity)]
fn compose_dirty(
    atlas: &Atlas,
    style: &Style,
    view: &View,
    o: &AnimationOptions,
    chunk: &[FramePlan],
    base: &Option<Arc<Pixmap>>,
    recorded: &mut Vec<(u64, Arc<Recorder>)>,
    keep: usize,
    (last, last_digests): (Option<&Pixmap>, Option<Vec<u64>>),
    spares: &Spares,
    report: &mut AnimationReport,
) -> (Vec<Pixmap>, Vec<Option<Vec<[usize; 4]>>>, Option<Vec<u64>>) {
    let size = (view.width.max(1), view.height.max(1));
    // Record the map states this chunk needs and the recent ones lack, in parallel.
    let mut needed: Vec<&FramePlan> = Vec::new();
    for p in chunk {
        if !recorded.iter().any(|r| r.0 == p.state) && !needed.iter().any(|n| n.state == p.state) {
            needed.push(p);
        }
    }
    let fresh: Vec<(u64, Arc<Recorder>)> = needed
        .par_iter()
        .map(|p| {
            let mut r = Recorder::new(size, base.clone());
            draw_map(atlas, style, view, &render_options(o, p, base), &mut r);
            (p.state, Arc::new(r))
        })
        .collect();
    report.renders += fresh.len();
    recorded.extend(fresh);
    let states: Vec<Arc<Recorder>> = chunk
        .iter()
        .map(|p| recorded.iter().rev().find(|r| r.0 == p.state).expect("recorded above").1.clone())
        .collect();
    let excess = recorded.len().saturating_sub(keep);
    recorded.drain(..excess);
    // The title block and timeline of each frame, and the frame's tile digests.
    let overlays: Vec<(Recorder, Option<Vec<u64>>)> = chunk
        .par_iter()
        .zip(&states)
        .map(|(p, state)| {
            let mut r = Recorder::new(size, None);
            draw_overlay(atlas, style, view, &render_options(o, p, base), &mut r);
            let digests = (state.replayable() && r.replayable()).then(|| dirty::digests(&[state, &r], size));
            (r, digests)
        })
        .collect();
    // Which tiles changed since the frame before (all of them after a frame drawn whole).
    let mut prev = last_digests;
    let mut dirty_maps: Vec<Option<Vec<bool>>> = Vec::with_capacity(chunk.len());
    for (_, d) in &overlays {
        dirty_maps.push(d.as_ref().map(|d| dirty::dirty(prev.as_deref(), d)));
        prev = d.clone();
    }
    let background = {
        let one = crate::output::new_pixmap(1, 1, style.land.skia(1.0)).expect("a 1x1 image");
        let d = one.data();
        [d[0], d[1], d[2], d[3]]
    };
    let redrawn: Vec<Redrawn> = (0..chunk.len())
        .into_par_iter()
        .map(|i| match (&dirty_maps[i], spares.take(size)) {
            (Some(dirty), Some(mut scratch)) => {
                let patch =
                    dirty::redraw(&[&states[i], &overlays[i].0], dirty, background, base.as_deref(), &mut scratch);
                spares.give(scratch);
                let rects: Vec<[usize; 4]> = patch.rects.iter().map(|r| r.0).collect();
                Redrawn::Tiles(patch, rects)
            }
            _ => {
                let opts = render_options(o, &chunk[i], base);
                let mut pm = render_map(atlas, style, view, &opts).pixmap;
                draw_overlay(atlas, style, view, &opts, &mut pm);
                Redrawn::Whole(pm)
            }
        })
        .collect();
    // Each frame is the one before with its dirty tiles painted over: built in parallel,
    // each from the last frame drawn whole (or the previous chunk's last) with the patches
    // since then painted over in order.
    let built: Vec<Option<Pixmap>> = (0..redrawn.len())
        .into_par_iter()
        .map(|i| {
            let Redrawn::Tiles(..) = &redrawn[i] else { return None };
            let whole = (0..i).rev().find(|&j| matches!(redrawn[j], Redrawn::Whole(_)));
            let before = match whole.map(|j| &redrawn[j]) {
                Some(Redrawn::Whole(pm)) => Some(pm),
                _ => last,
            };
            let mut f = spares.take(size).expect("size checked by the caller");
            if let Some(b) = before {
                f.data_mut().copy_from_slice(b.data());
            }
            for r in &redrawn[whole.map_or(0, |j| j + 1)..=i] {
                if let Redrawn::Tiles(patch, _) = r {
                    patch.apply(&mut f);
                }
            }
            Some(f)
        })
        .collect();
    let mut frames: Vec<Pixmap> = Vec::with_capacity(chunk.len());
    let mut hints = Vec::with_capacity(chunk.len());
    for (r, b) in redrawn.into_iter().zip(built) {
        match r {
            Redrawn::Tiles(_, rects) => {
                frames.push(b.expect("built above for every patched frame"));
                hints.push(Some(rects));
            }
            Redrawn::Whole(pm) => {
                frames.push(pm);
                hints.push(None);
            }
        }
    }
    (frames, hints, prev)
}

/// One chunk's frames, ready for the encoders.
#[derive(Default)]
struct Batch {
    /// The GIF's global palette, sent with the first batch.
    palette: Option<Vec<u8>>,
    /// LZW-compressed GIF frames.
    gif: Vec<gif::Frame<'static>>,
    /// APNG frames: delay (cs) and the changed rectangle.
    apng: Vec<(u16, Delta)>,
    /// PNG files to write, each to its paths (a key frame and a sequence file may share one).
    png: Vec<(PngFile, Vec<PathBuf>)>,
    /// The last message: every frame was sent, the files may be completed.
    finished: bool,
}

/// A PNG file's content: rows for the encoder thread to put together, or the file itself.
enum PngFile {
    Rows(framepng::Rows),
    Bytes(Vec<u8>),
}

/// The part of a frame that differs from the previous one.
struct Delta {
    /// `[x, y, w, h]`.
    rect: [usize; 4],
    /// The rectangle's pixels, with unchanged ones replaced by the "clear" pixel.
    data: Vec<u8>,
    /// Whether there was a previous frame (else the rectangle is the whole opaque frame).
    over_previous: bool,
}

/// Diff a frame against the previous one: the changed rectangle, with pixels that did not
/// change set to `clear` (a transparent pixel), so they compress to almost nothing.
fn delta(prev: Option<&[u8]>, cur: &[u8], width: usize, clear: &[u8], hint: Option<&[[usize; 4]]>) -> Delta {
    let bpp = clear.len();
    let rect = changed_rect(prev, cur, width, bpp, hint);
    let mut data = crop(cur, width, bpp, rect);
    if let Some(prev) = prev {
        let before = crop(prev, width, bpp, rect);
        match *clear {
            [c] => data.iter_mut().zip(&before).filter(|(px, old)| **px == **old).for_each(|(px, _)| *px = c),
            [a, b, g, d] => {
                for (px, old) in data.chunks_exact_mut(4).zip(before.chunks_exact(4)) {
                    let (p4, o4): (&mut [u8; 4], &[u8; 4]) =
                        (px.try_into().expect("chunks of 4"), old.try_into().expect("chunks of 4"));
                    if *p4 == *o4 {
                        *p4 = [a, b, g, d];
                    }
                }
            }
            _ => {
                for (px, old) in data.chunks_exact_mut(bpp).zip(before.chunks_exact(bpp)) {
                    if px == old {
                        px.copy_from_slice(clear);
                    }
                }
            }
        }
    }
    Delta { rect, data, over_previous: prev.is_some() }
}

/// The encoder thread: writes each batch to the GIF and the APNG, then completes them.
fn write_batches(
    rx: std::sync::mpsc::Receiver<Batch>,
    gif_file: Option<AtomicFile>,
    mut apng: Option<(AtomicFile, ApngWriter)>,
    (w, h): (u32, u32),
    dpi: f32,
) -> Result<()> {
    let enc = |e: png::EncodingError| Error::Encode(e.to_string());
    let gif_err = |e: gif::EncodingError| Error::Encode(e.to_string());
    let mut gif_file = gif_file;
    let mut gif: Option<(AtomicFile, gif::Encoder<BufWriter<std::fs::File>>)> = None;
    let mut finished = false;
    for batch in rx {
        if batch.finished {
            finished = true;
            break;
        }
        if let Some(pal) = &batch.palette {
            if let Some(mut pending) = gif_file.take() {
                let out = BufWriter::with_capacity(1 << 20, pending.file()?);
                let mut e = gif::Encoder::new(out, w as u16, h as u16, pal).map_err(gif_err)?;
                e.set_repeat(gif::Repeat::Infinite).map_err(gif_err)?;
                gif = Some((pending, e));
            }
        }
        for (file, paths) in &batch.png {
            let assembled;
            let bytes = match file {
                PngFile::Rows(rows) => {
                    assembled = framepng::assemble(rows, w, dpi)
                        .ok_or_else(|| Error::Encode("a PNG frame lost a row".into()))?;
                    &assembled
                }
                PngFile::Bytes(b) => b,
            };
            for path in paths {
                write_atomic(path, bytes)?;
            }
        }
        if let Some((_, e)) = gif.as_mut() {
            for f in &batch.gif {
                e.write_lzw_pre_encoded_frame(f).map_err(gif_err)?;
            }
        }
        if let Some((_, writer)) = apng.as_mut() {
            for (delay, d) in &batch.apng {
                writer.set_frame_delay(*delay, 100).map_err(enc)?;
                writer.reset_frame_position().map_err(enc)?;
                writer.set_frame_dimension(d.rect[2] as u32, d.rect[3] as u32).map_err(enc)?;
                writer.set_frame_position(d.rect[0] as u32, d.rect[1] as u32).map_err(enc)?;
                writer
                    .set_blend_op(if d.over_previous { png::BlendOp::Over } else { png::BlendOp::Source })
                    .map_err(enc)?;
                writer.set_dispose_op(png::DisposeOp::None).map_err(enc)?;
                writer.write_image_data(&d.data).map_err(enc)?;
            }
        }
    }
    if !finished {
        // Dropped uncommitted, the temporary files go away with their partial frames.
        return Err(Error::Encode("the animation stopped before its last frame; no GIF or APNG written".into()));
    }
    if let Some((pending, writer)) = apng {
        writer.finish().map_err(enc)?;
        pending.commit()?;
    }
    if let Some((pending, e)) = gif {
        let mut out = e.into_inner().map_err(gif_err)?;
        out.flush().map_err(|e| Error::Io { path: pending.path().to_path_buf(), source: e })?;
        drop(out);
        pending.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changed_rect_finds_the_difference() {
        let w = 10;
        let a = vec![0u8; w * 6];
        let mut b = a.clone();
        b[3 * w + 4] = 9;
        b[4 * w + 7] = 9;
        assert_eq!(changed_rect(Some(&a), &b, w, 1, None), [4, 3, 4, 2]);
        assert_eq!(changed_rect(Some(&a), &b, w, 1, Some(&[[2, 2, 8, 4]])), [4, 3, 4, 2]);
        assert_eq!(changed_rect(None, &b, w, 1, None), [0, 0, 10, 6]);
        assert_eq!(changed_rect(Some(&a), &a, w, 1, None), [0, 0, 1, 1]);
        assert_eq!(changed_rect(Some(&a), &b, w, 1, Some(&[[0, 0, 0, 0]])), [0, 0, 1, 1]);
        // Several hint rectangles: the box around the differences found in them.
        assert_eq!(changed_rect(Some(&a), &b, w, 1, Some(&[[4, 3, 1, 1], [6, 4, 2, 2]])), [4, 3, 4, 2]);
        assert_eq!(intersect([0, 0, 4, 4], [2, 3, 5, 5]), Some([2, 3, 2, 1]));
        assert_eq!(intersect([0, 0, 4, 4], [4, 0, 5, 5]), None);
        assert_eq!(crop(&b, w, 1, [4, 3, 4, 2]), vec![9, 0, 0, 0, 0, 0, 0, 9]);
        // Differences found across block edges, from both ends.
        let a = vec![0u8; 300];
        for at in [0, 1, 63, 64, 65, 200, 236, 299] {
            let mut b = a.clone();
            b[at] = 1;
            assert_eq!((first_difference(&a, &b), last_difference(&a, &b)), (Some(at), Some(at)), "{at}");
        }
        let mut b = a.clone();
        b[10] = 1;
        b[250] = 1;
        assert_eq!((first_difference(&a, &b), last_difference(&a, &b)), (Some(10), Some(250)));
        assert_eq!((first_difference(&a, &a), last_difference(&a, &a)), (None, None));
    }

    /// Frames with changes of every kind: a polity colour, an off-palette gradient, a
    /// frame equal to the one before, a change at the far corner.
    fn frames() -> (Vec<Pixmap>, Style) {
        let style = Style::load("print").expect("the built-in style");
        let (w, h) = (64u32, 48u32);
        let land = style.land;
        let mut first = Pixmap::new(w, h).expect("size");
        first.fill(tiny_skia::Color::from_rgba8(land.0, land.1, land.2, 255));
        let put = |pm: &mut Pixmap, x: u32, y: u32, c: [u8; 3]| {
            let i = ((y * w + x) * 4) as usize;
            pm.data_mut()[i..i + 4].copy_from_slice(&[c[0], c[1], c[2], 255]);
        };
        let fill = style.polities.values().next().expect("a polity").fill;
        let mut out = vec![first.clone()];
        let mut f = first;
        for y in 5..20 {
            for x in 10..30 {
                put(&mut f, x, y, [fill.0, fill.1, fill.2]);
            }
        }
        out.push(f.clone());
        out.push(f.clone());
        for y in 20..40 {
            for x in 0..50 {
                put(&mut f, x, y, [(x * 5) as u8, (y * 6) as u8, 200 - x as u8]);
            }
        }
        out.push(f.clone());
        put(&mut f, w - 1, h - 1, [0, 0, 0]);
        out.push(f.clone());
        (out, style)
    }

    #[test]
    fn gif_sub_frames_decode_to_the_whole_frames_indexed() {
        let (frames, style) = frames();
        let pal = Palette::learn(&frames.iter().collect::<Vec<_>>(), &style);
        let (w, h) = (frames[0].width() as usize, frames[0].height() as usize);
        let mut bytes = Vec::new();
        {
            let mut e = gif::Encoder::new(&mut bytes, w as u16, h as u16, &pal.rgb).unwrap();
            for (i, f) in frames.iter().enumerate() {
                let sub = pal.sub_frame(if i == 0 { None } else { Some(&frames[i - 1]) }, f, 10, None);
                // Told which 16 px tiles may have changed, the same frame.
                if i > 0 {
                    let tiles: Vec<[usize; 4]> = (0..h)
                        .step_by(16)
                        .flat_map(|y| (0..w).step_by(16).map(move |x| [x, y, 16.min(w - x), 16.min(h - y)]))
                        .filter(|r| {
                            (r[1]..r[1] + r[3]).any(|y| {
                                let row = |p: &Pixmap| p.data()[(y * w + r[0]) * 4..(y * w + r[0] + r[2]) * 4].to_vec();
                                row(&frames[i - 1]) != row(f)
                            })
                        })
                        .collect();
                    let hinted = pal.sub_frame(Some(&frames[i - 1]), f, 10, Some(&tiles));
                    assert_eq!(
                        (hinted.left, hinted.top, hinted.width, hinted.height),
                        (sub.left, sub.top, sub.width, sub.height)
                    );
                    assert!(hinted.buffer == sub.buffer, "frame {i}: hinted sub-frame differs");
                }
                if i == 2 {
                    assert_eq!((sub.width, sub.height), (1, 1), "an unchanged frame is one pixel");
                }
                if i == 4 {
                    assert_eq!((sub.left, sub.top, sub.width, sub.height), (63, 47, 1, 1));
                }
                e.write_lzw_pre_encoded_frame(&sub).unwrap();
            }
        }
        // Decode with an independent reader and paint each frame over the last.
        let mut opts = gif::DecodeOptions::new();
        opts.set_color_output(gif::ColorOutput::Indexed);
        let mut d = opts.read_info(std::io::Cursor::new(bytes)).unwrap();
        let mut canvas = vec![0u8; w * h];
        let mut n = 0;
        while let Some(f) = d.read_next_frame().unwrap() {
            for (j, &idx) in f.buffer.iter().enumerate() {
                let (x, y) =
                    (usize::from(f.left) + j % usize::from(f.width), usize::from(f.top) + j / usize::from(f.width));
                if Some(idx) != f.transparent {
                    canvas[y * w + x] = idx;
                }
            }
            // The whole frame, indexed afresh: the same pixels, colour for colour.
            let full = pal.index(&frames[n]);
            let shown: Vec<&[u8]> = canvas.iter().map(|&i| &pal.rgb[usize::from(i) * 3..][..3]).collect();
            let want: Vec<&[u8]> = full.iter().map(|&i| &pal.rgb[usize::from(i) * 3..][..3]).collect();
            assert_eq!(shown, want, "frame {n}");
            n += 1;
        }
        assert_eq!(n, frames.len());
    }
}
