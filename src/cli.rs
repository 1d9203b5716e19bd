//! The command line: argument types and one function per subcommand, each taking a plain
//! options struct. `main.rs` only parses and reports errors.

use crate::atlas::Atlas;
use crate::data::{Dataset, Source};
use crate::error::{Error, Result};
use crate::output::{encode_png, write_atomic};
use crate::project::{LonLatBox, Projection, ProjectionKind, View};
use crate::render::{render, RenderOptions};
use crate::style::Style;
use crate::time::{EndDates, Year};
use crate::validate;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::{Path, PathBuf};

/// steppe-atlas: time-aware historical maps of the Kazakh–Dzungar Wars (1635–1741).
#[derive(Parser, Debug)]
#[command(name = "steppe-atlas", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Render one year as a print-quality PNG.
    Render(RenderArgs),
    /// Print the features near a point in a year as JSON.
    Query(QueryArgs),
    /// Check a dataset against a style; one line per problem.
    Validate(ValidateArgs),
    /// Animate a span of years: a PNG per year, an animated GIF and an APNG.
    Frames(FramesArgs),
    /// Render slippy-map tiles per year: an XYZ folder, MBTiles or PMTiles.
    Tiles(TilesArgs),
    /// Serve tiles on demand with a web viewer that has a year slider.
    Serve(ServeArgs),
    /// The main job: the animation's frames, GIF and APNG, and tiles, into output/.
    All(AllArgs),
    /// Styles: `style init --data DIR > my-style.json` writes a starting style for a dataset.
    #[command(subcommand)]
    Style(StyleCommand),
    /// Join shard archives (`tiles --shard I/N`, MBTiles or PMTiles) into one, as one run.
    Merge(MergeArgs),
}

/// `merge` options.
#[derive(Args, Debug)]
pub struct MergeArgs {
    /// The merged archive (.mbtiles or .pmtiles, like the shards).
    #[arg(long)]
    pub out: PathBuf,
    /// The shard archives of one pyramid.
    #[arg(required = true)]
    pub shards: Vec<PathBuf>,
}

/// Join shard archives into one.
pub fn merge_cmd(a: &MergeArgs) -> Result<crate::tiles::merge::MergeReport> {
    let r = crate::tiles::merge::merge(&a.out, &a.shards)?;
    crate::note!("merged {} shards: {} tiles into {}", r.shards, r.tiles, a.out.display());
    Ok(r)
}

/// `style` subcommands.
#[derive(Subcommand, Debug)]
pub enum StyleCommand {
    /// Print a starting style for a dataset: every polity it names, in the base style's
    /// paint where the base knows it, else in automatic colour-blind-safe colours.
    Init(StyleInitArgs),
}

/// `style init` options.
#[derive(Args, Debug)]
pub struct StyleInitArgs {
    /// The style to start from: an embedded name (print, atlas, grayscale) or a file.
    #[arg(long, default_value = "print")]
    pub base: String,
    /// The new style's name.
    #[arg(long, default_value = "my-style")]
    pub name: String,
    /// Data source.
    #[command(flatten)]
    pub data: DataArgs,
}

/// Label language: a code such as `en`, `kk`, `ru`, or any language the data has
/// `name:*` (and `caption:*`) for, such as `it`; missing names fall back to English.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lang(String);

impl std::str::FromStr for Lang {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Lang, String> {
        let mut parts = s.split('-');
        let base = parts.next().unwrap_or_default();
        let ok = (2..=3).contains(&base.len())
            && base.bytes().all(|b| b.is_ascii_lowercase())
            && parts.all(|p| !p.is_empty() && p.len() <= 8 && p.bytes().all(|b| b.is_ascii_alphanumeric()));
        if ok {
            Ok(Lang(s.to_string()))
        } else {
            Err(format!("{s:?} is not a language code like en, kk, ru or it"))
        }
    }
}

impl Lang {
    fn code(&self) -> &str {
        &self.0
    }
}

/// How `end_date` values are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum EndDatesArg {
    /// `ohm` for data with OpenHistoricalMap tags (boundary, place, admin_level, wikidata), else `inclusive`.
    Auto,
    /// `"1697"` lasts through 31 Dec 1697, `"1697-05-01"` through that day (steppe-atlas data).
    Inclusive,
    /// OpenHistoricalMap's rule: a year or month covers its whole period, a day is the first day gone.
    Ohm,
    /// Every end date is the first moment gone: `"1697"` ends on 31 Dec 1696.
    Exclusive,
}

/// Where the data comes from (shared by every subcommand that reads data).
#[derive(Args, Debug, Clone)]
pub struct DataArgs {
    /// A folder of GeoJSON layers (default: the built-in atlas).
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// How to read end_date values.
    #[arg(long, value_enum, default_value = "auto")]
    pub end_dates: EndDatesArg,
}

impl DataArgs {
    fn source(&self) -> Source {
        match &self.data {
            Some(d) => Source::Dir(d.clone()),
            None => Source::Embedded,
        }
    }

    fn end_dates(&self) -> EndDates {
        match self.end_dates {
            EndDatesArg::Inclusive => EndDates::Inclusive,
            EndDatesArg::Exclusive => EndDates::Exclusive,
            EndDatesArg::Ohm => EndDates::Ohm,
            EndDatesArg::Auto => EndDates::Auto,
        }
    }

    /// Load, check against the style and index the dataset; refuse it on any error.
    /// Polities the style does not know are added to it in automatic colours.
    pub fn load_checked(&self, style: &mut Style) -> Result<Atlas> {
        let t0 = std::time::Instant::now();
        if let Some(dir) = &self.data {
            crate::output::protect_inputs_in(dir);
        }
        grow_heap_in_large_steps(true);
        let loaded = Dataset::load(&self.source(), self.end_dates());
        timing("load.read", t0);
        let t0 = std::time::Instant::now();
        // The checks, and what indexing reads from the dataset, side by side (indexing
        // changes the dataset only once it has passed). Polities are checked before the
        // style adopts the data's: an id that atlas.json's list of polities leaves out is
        // a typo, refused; others get automatic colours.
        let ds = &loaded.dataset;
        let ((unknown, named), (geometry, prepared)) = rayon::join(
            || validate::polity_problems_and_names(ds, style),
            || rayon::join(|| validate::geometry_problems(ds), || Atlas::prepare(ds)),
        );
        style.adopt_polities(&named);
        let mut problems = loaded.problems.clone();
        problems.extend(unknown.into_iter().filter(|p| p.severity == crate::error::Severity::Error));
        problems.extend(geometry);
        if problems.iter().any(|p| p.severity == crate::error::Severity::Error) {
            problems.sort_by_key(|p| std::cmp::Reverse(p.severity));
            return Err(Error::Data(problems));
        }
        timing("load.check", t0);
        let t0 = std::time::Instant::now();
        let atlas = Atlas::with_prepared(loaded.dataset, prepared);
        release_freed_memory();
        grow_heap_in_large_steps(false);
        timing("load.index", t0);
        Ok(atlas)
    }
}

/// Give the pages that loading used and freed (the files' text, parse buffers) back to
/// the system: the holes they leave in the heap are too small or too scattered for much
/// of what the drawing asks for next, so they would only add to the peak.
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free memory of the allocator's heaps to the system.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// While a dataset loads, grow the allocator's heaps 64 MB at a time and keep what is
/// freed at their tops (`true`); then go back to glibc's steps of 128 KiB (`false`).
/// Loading allocates and frees tens of MB in many small steps (a file's text, its parsed
/// features, their typed copies): in small steps the heap shrank and grew again, and each
/// regrowth faulted its pages in afresh (22,900 page faults to load a dataset of 109,000
/// features in 28 MB, 18,200 in large steps). Pages of a step never written cost nothing;
/// what the load freed is given back once it is done ([`release_freed_memory`]).
fn grow_heap_in_large_steps(large: bool) {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets one of the allocator's thresholds.
    unsafe {
        libc::mallopt(libc::M_TOP_PAD, if large { 64 << 20 } else { 128 << 10 });
    }
}

/// Keep memory that a tile run frees for its next use instead of giving it back to the
/// system. A run allocates and frees the same sizes again and again (a year's archive
/// image, about 1.3 MB; a tile's pixels): by default glibc maps the large blocks afresh
/// each time and trims its heaps as they empty, so every reuse faulted its pages in again
/// (39,000 page faults for a century at z0-6, 27,500 with this). The peak is unchanged.
fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets two of the allocator's thresholds.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 256 << 20);
    }
}

/// With one worker thread, one heap: call before any thread starts. The threads then
/// take turns (the main thread waits while the worker runs what it was handed), and in a
/// heap of its own each kept for itself what it freed, where the other then took fresh
/// pages: loading 109,000 features on one worker faulted in 550 pages fewer (22,850 →
/// 22,300) and took 3 ms less (medians of 21). With more workers each keeps its own heap,
/// so that they do not wait on one another's allocations.
pub fn one_heap_if_one_worker() {
    // How rayon counts its workers: RAYON_NUM_THREADS if a positive number, else the cores.
    let workers = std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if workers == 1 {
        // SAFETY: mallopt only sets one of the allocator's limits.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 1);
        }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    let _ = workers;
}

/// The image geometry and look (shared by `render` and `all`).
#[derive(Args, Debug, Clone)]
pub struct ViewArgs {
    /// Image width, px.
    #[arg(long, allow_negative_numbers = true)]
    pub width: Option<u32>,
    /// Image height, px.
    #[arg(long, allow_negative_numbers = true)]
    pub height: Option<u32>,
    /// Image size in millimetres `W,H` (with --dpi), e.g. 297,210 for A4 landscape.
    #[arg(long, value_name = "W,H", conflicts_with_all = ["width", "height"])]
    pub size_mm: Option<String>,
    /// Dots per inch: converts --size-mm and the style's points to pixels (96 for --width/--height alone).
    #[arg(long, allow_negative_numbers = true)]
    pub dpi: Option<f32>,
    /// The area to show `W,S,E,N` in degrees (default: the atlas's extent).
    #[arg(long, value_name = "W,S,E,N", allow_hyphen_values = true)]
    pub bbox: Option<String>,
    /// Map projection.
    #[arg(long, value_enum, default_value = "lcc")]
    pub projection: ProjectionKind,
    /// Style: a file, or an embedded name (print, atlas, grayscale). Default: print, or
    /// grayscale (textures for polities, line marks for sides) with --grayscale.
    #[arg(long)]
    pub style: Option<String>,
    /// Label language, falling back to English names.
    #[arg(long, default_value = "en")]
    pub lang: Lang,
}

/// Default frame: A4 landscape at 150 dpi.
const DEFAULT_MM: (f32, f32) = (297.0, 210.0);
const DEFAULT_DPI: f32 = 150.0;
const MAX_SIDE: u32 = 20_000;

impl ViewArgs {
    /// The style asked for: `--style`, else the black-and-white style when the output is
    /// grayscale (a grey copy of a colour style would tell polities and sides apart only
    /// by lightness), else `print`.
    pub fn style_name(&self, grayscale: bool) -> &str {
        match &self.style {
            Some(s) => s,
            None if grayscale => "grayscale",
            None => "print",
        }
    }

    /// Pixel size and dpi from the flags.
    pub fn size(&self, projection: &Projection, bbox: &LonLatBox) -> Result<(u32, u32, f32)> {
        let usage = |m: String| Error::Usage(m);
        let (w, h, dpi) = if let Some((wmm, hmm)) = self.page_mm()? {
            let dpi = self.dpi.unwrap_or(if self.size_mm.is_some() { 300.0 } else { DEFAULT_DPI });
            ((wmm / 25.4 * dpi).round() as u32, (hmm / 25.4 * dpi).round() as u32, dpi)
        } else {
            match (self.width, self.height) {
                (Some(w), Some(h)) => (w, h, self.dpi.unwrap_or(96.0)),
                (Some(w), None) => (w, View::height_for_width(projection, bbox, w), self.dpi.unwrap_or(96.0)),
                (None, Some(h)) => {
                    let per_w = View::height_for_width(projection, bbox, 10_000);
                    ((f64::from(h) * 10_000.0 / f64::from(per_w)).round() as u32, h, self.dpi.unwrap_or(96.0))
                }
                (None, None) => unreachable!("page_mm gives the default page"),
            }
        };
        if !(dpi.is_finite() && (10.0..=2400.0).contains(&dpi)) {
            return Err(usage(format!("--dpi {dpi} is outside 10–2400")));
        }
        if w == 0 || h == 0 || w > MAX_SIDE || h > MAX_SIDE {
            return Err(usage(format!("image size {w}×{h} px is outside 1–{MAX_SIDE} px per side")));
        }
        Ok((w, h, dpi))
    }

    /// The page size in millimetres: `--size-mm`, or A4 landscape when no size is given
    /// (None for a size in pixels).
    pub fn page_mm(&self) -> Result<Option<(f32, f32)>> {
        let Some(mm) = &self.size_mm else {
            return Ok((self.width.is_none() && self.height.is_none()).then_some(DEFAULT_MM));
        };
        let bad = |why: &str| Error::Usage(format!("bad --size-mm {mm:?}: {why}"));
        let nums: Vec<f32> = mm
            .split(',')
            .map(|s| s.trim().parse::<f32>())
            .collect::<std::result::Result<_, _>>()
            .map_err(|_| bad("expected W,H in millimetres"))?;
        let [wmm, hmm] = nums[..] else { return Err(bad("expected W,H in millimetres")) };
        if !(wmm > 0.0 && hmm > 0.0 && wmm.is_finite() && hmm.is_finite()) {
            return Err(bad("sizes must be positive"));
        }
        Ok(Some((wmm, hmm)))
    }

    /// The view for a dataset: bbox, fitted projection and pixel size.
    pub fn view(&self, ds: &Dataset) -> Result<(View, f32)> {
        let bbox = self.bbox(ds)?;
        crate::project::check_view_box(self.projection, &bbox).map_err(|e| Error::Usage(format!("--bbox: {e}")))?;
        let projection = Projection::fitted(self.projection, &bbox);
        let (w, h, dpi) = self.size(&projection, &bbox)?;
        let view = View::fit(projection, &bbox, w, h);
        view.check().map_err(|e| Error::Usage(format!("--bbox: {e}")))?;
        Ok((view, dpi))
    }

    /// The area to show: `--bbox`, else the dataset's default view.
    pub fn bbox(&self, ds: &Dataset) -> Result<LonLatBox> {
        Ok(match &self.bbox {
            Some(s) => LonLatBox::parse(s).map_err(|e| Error::Usage(format!("--bbox: {e}")))?,
            None => {
                let b = ds
                    .default_bbox()
                    .ok_or_else(|| Error::Usage("the dataset has no features to show; give --bbox".into()))?;
                let b = LonLatBox::from_array(b);
                // A single point or a line along a parallel has no area: give it some.
                if b.west >= b.east || b.south >= b.north {
                    b.buffered(1.0)
                } else {
                    b
                }
            }
        })
    }
}

/// An image file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ImageFormat {
    /// Raster PNG with its dpi.
    Png,
    /// SVG: text as `<text>`, hatching as `<pattern>`, one group per layer, in points.
    Svg,
    /// PDF: one page of the asked size, fonts embedded, text searchable.
    Pdf,
}

impl ImageFormat {
    /// The file extension.
    pub fn extension(self) -> &'static str {
        match self {
            ImageFormat::Png => "png",
            ImageFormat::Svg => "svg",
            ImageFormat::Pdf => "pdf",
        }
    }

    /// The format a file name asks for by its extension, if it names one.
    pub fn from_path(path: &Path) -> Option<ImageFormat> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        [ImageFormat::Png, ImageFormat::Svg, ImageFormat::Pdf].into_iter().find(|f| f.extension() == ext)
    }
}

/// How vector files are written (`render` and `frames` with `--format svg|pdf`).
#[derive(Args, Debug, Clone, Default)]
pub struct VectorArgs {
    /// SVG: embed the DejaVu faces used as `@font-face` data URLs (about 0.8 MB a face), so
    /// the file looks the same where DejaVu is not installed. PDFs always embed subsets.
    #[arg(long)]
    pub embed_fonts: bool,
    /// Write every colour as its grey, for a black-and-white document (all formats).
    #[arg(long)]
    pub grayscale: bool,
}

impl VectorArgs {
    fn svg_options(&self, page_mm: Option<(f32, f32)>) -> crate::render::vector::SvgOptions {
        crate::render::vector::SvgOptions {
            embed_fonts: self.embed_fonts,
            grayscale: self.grayscale,
            page_mm,
            text_layer: false,
        }
    }
}

/// `render` options.
#[derive(Args, Debug)]
pub struct RenderArgs {
    /// The year to show.
    #[arg(long, allow_hyphen_values = true)]
    pub year: i32,
    /// Output file: .png, .svg or .pdf (default: output/frames/{year}.{format}).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// File format (default: from the --out extension, else png).
    #[arg(long, value_enum)]
    pub format: Option<ImageFormat>,
    /// Also write what the labeller placed as JSON: every label with its feature id,
    /// text and box (px), the ids the map promised to label, and any it could not.
    #[arg(long, value_name = "FILE")]
    pub labels_json: Option<PathBuf>,
    /// Vector output.
    #[command(flatten)]
    pub vector: VectorArgs,
    /// Highlight the areas and cities that changed hands between this year and --year.
    #[arg(long, value_name = "YEAR2", allow_hyphen_values = true)]
    pub compare: Option<i32>,
    /// Data source.
    #[command(flatten)]
    pub data: DataArgs,
    /// Image geometry and look.
    #[command(flatten)]
    pub view: ViewArgs,
}

/// `query` options.
#[derive(Args, Debug)]
pub struct QueryArgs {
    /// The year.
    #[arg(long, allow_hyphen_values = true)]
    pub year: i32,
    /// Longitude, degrees east.
    #[arg(long, allow_hyphen_values = true)]
    pub lon: f64,
    /// Latitude, degrees north.
    #[arg(long, allow_hyphen_values = true)]
    pub lat: f64,
    /// Search radius, km (territories: those containing the point).
    #[arg(long, allow_negative_numbers = true, default_value_t = 25.0)]
    pub radius_km: f64,
    /// Name language.
    #[arg(long, default_value = "en")]
    pub lang: Lang,
    /// Data source.
    #[command(flatten)]
    pub data: DataArgs,
}

/// `validate` options.
#[derive(Args, Debug)]
pub struct ValidateArgs {
    /// Data source.
    #[command(flatten)]
    pub data: DataArgs,
    /// Style whose polities the data must use.
    #[arg(long, default_value = "print")]
    pub style: String,
    /// Treat warnings as errors.
    #[arg(long)]
    pub strict: bool,
}

/// Animation options (shared by `frames` and `all`).
#[derive(Args, Debug, Clone)]
pub struct MotionArgs {
    /// Frames per second of ordinary frames.
    #[arg(long, allow_negative_numbers = true, default_value_t = 5.0)]
    pub fps: f32,
    /// In-between frames where land or towns change hands (colours blend, arrows grow).
    #[arg(long, allow_negative_numbers = true, default_value_t = 0)]
    pub tween: u32,
    /// Seconds to hold a year that has an event caption.
    #[arg(long, allow_negative_numbers = true, default_value_t = 1.5)]
    pub hold: f32,
}

/// `frames` options.
#[derive(Args, Debug)]
pub struct FramesArgs {
    /// First year (default: the atlas's first year).
    #[arg(long, allow_hyphen_values = true)]
    pub from: Option<i32>,
    /// Last year (default: 1741 for the built-in atlas, else the dataset's last year).
    #[arg(long, allow_hyphen_values = true)]
    pub to: Option<i32>,
    /// Folder for the key frames `{year}.png`.
    #[arg(long, default_value = "output/frames")]
    pub out: PathBuf,
    /// Animated GIF to write (default output/animation.gif when neither --gif nor --apng is given).
    #[arg(long)]
    pub gif: Option<PathBuf>,
    /// APNG to write (default output/animation.png when neither --gif nor --apng is given).
    #[arg(long)]
    pub apng: Option<PathBuf>,
    /// Also write every frame, numbered 000001.png…, into this folder (for video editors).
    #[arg(long)]
    pub sequence: Option<PathBuf>,
    /// Format of the key frames: png, or svg/pdf vector key frames `{year}.svg|.pdf` for
    /// editors who build their own animation (the GIF and APNG are then written only when
    /// --gif or --apng asks for them).
    #[arg(long, value_enum, default_value = "png")]
    pub format: ImageFormat,
    /// Vector output.
    #[command(flatten)]
    pub vector: VectorArgs,
    /// Motion.
    #[command(flatten)]
    pub motion: MotionArgs,
    /// Data source.
    #[command(flatten)]
    pub data: DataArgs,
    /// Image geometry and look.
    #[command(flatten)]
    pub view: ViewArgs,
}

/// `tiles` options.
#[derive(Args, Debug)]
pub struct TilesArgs {
    /// Years `A..B` (inclusive) or one year (default: the war, 1635..1741).
    #[arg(long, allow_hyphen_values = true)]
    pub years: Option<String>,
    /// Zoom levels `A..B` (inclusive).
    #[arg(long, default_value = "0..6")]
    pub zoom: String,
    /// Output folder.
    #[arg(long, default_value = "output/tiles")]
    pub out: PathBuf,
    /// Storage format.
    #[arg(long, value_enum, default_value = "xyz")]
    pub format: crate::tiles::TileFormat,
    /// 1 for 256 px tiles, 2 for 512 px @2x tiles.
    #[arg(long, allow_negative_numbers = true, default_value_t = 1)]
    pub scale: u32,
    /// Render shard I of N (from 0), for N workers sharing the job.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    /// Style: a file, or an embedded name (atlas, print, grayscale).
    #[arg(long, default_value = "atlas")]
    pub style: String,
    /// Label language.
    #[arg(long, default_value = "en")]
    pub lang: Lang,
    /// Render past the soft limits: zoom 14, and 2,000,000 tiles a run.
    #[arg(long)]
    pub force: bool,
    /// The URL the exported folder will be served from: TileJSON tile URLs become
    /// absolute (`https://maps.example/tiles/1723/{z}/{x}/{y}.png`).
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
    /// With `--format mvt`: the archive to write (`atlas.pmtiles` or `atlas.mbtiles`).
    #[arg(long, value_enum, default_value = "pmtiles")]
    pub archive: crate::tiles::mvt::Archive,
    /// Render every metatile of every year, sharing nothing (by default a metatile is
    /// rendered only when its content in a year is new).
    #[arg(long)]
    pub full: bool,
    /// Tile image format: png (palette where it fits) or webp (lossless WebP, the exact
    /// pixels): `{z}/{x}/{y}.webp`, MBTiles `format=webp`, PMTiles tile type WebP.
    #[arg(long, value_enum, default_value = "png")]
    pub image: crate::imageformat::ImageFormat,
    /// Data source.
    #[command(flatten)]
    pub data: DataArgs,
}

/// `serve` options.
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: String,
    /// Style of the tiles: a file, or an embedded name.
    #[arg(long, default_value = "atlas")]
    pub style: String,
    /// Label language.
    #[arg(long, default_value = "en")]
    pub lang: Lang,
    /// Memory for rendered tiles and frames, MB.
    #[arg(long, allow_negative_numbers = true, default_value_t = 256)]
    pub cache_mb: usize,
    /// CORS: the origin allowed to use the server from its own pages (`*` for any, the
    /// default), or `off`.
    #[arg(long, default_value = "*", value_name = "ORIGIN|off")]
    pub cors: String,
    /// The server's public address, for the absolute URLs in TileJSON (default: the
    /// request's Host).
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
    /// Serve tiles from an export instead of rendering them: a folder that `tiles` wrote
    /// (XYZ, `{year}.mbtiles` or `{year}.pmtiles`) or one `.mbtiles`/`.pmtiles` file.
    #[arg(long, value_name = "PATH")]
    pub tiles: Option<PathBuf>,
    /// The tile format TileJSON, `/api/meta` and the viewer point at: png or webp (both
    /// `.png` and `.webp` tiles are always served; `/tiles/{year}.json?image=webp` asks
    /// for the other).
    #[arg(long, value_enum, default_value = "png")]
    pub image: crate::imageformat::ImageFormat,
    /// Data source.
    #[command(flatten)]
    pub data: DataArgs,
}

/// `all` options.
#[derive(Args, Debug)]
pub struct AllArgs {
    /// Output folder.
    #[arg(long, default_value = "output")]
    pub out: PathBuf,
    /// Frames per second of ordinary frames.
    #[arg(long, allow_negative_numbers = true, default_value_t = 5.0)]
    pub fps: f32,
    /// In-between frames where land or towns change hands (the main job shows motion).
    #[arg(long, allow_negative_numbers = true, default_value_t = 2)]
    pub tween: u32,
    /// Seconds to hold a year that has an event caption.
    #[arg(long, allow_negative_numbers = true, default_value_t = 1.5)]
    pub hold: f32,
    /// Data source.
    #[command(flatten)]
    pub data: DataArgs,
    /// Image geometry and look.
    #[command(flatten)]
    pub view: ViewArgs,
}

/// Does the process end when its command returns (the binary's `main` says so)? What the
/// command loaded is then left to the system instead of freed piece by piece: freeing the
/// 109,000 features of a large dataset took 99 M instructions, a twentieth of a small map
/// of them.
static EXITS_AFTER_COMMAND: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Say that the process ends when the command [`run`] runs returns.
pub fn exit_after_command() {
    EXITS_AFTER_COMMAND.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// Let go of what a command loaded: freed, unless the process is about to end.
fn release<T>(loaded: T) {
    if EXITS_AFTER_COMMAND.load(std::sync::atomic::Ordering::Relaxed) {
        std::mem::forget(loaded);
    }
}

/// Run a parsed command line; returns the process exit code.
pub fn run(cli: Cli) -> Result<i32> {
    match cli.command {
        Command::Render(a) => render_cmd(&a).map(|_| 0),
        Command::Query(a) => query_cmd(&a).map(|_| 0),
        Command::Validate(a) => validate_cmd(&a),
        Command::Frames(a) => frames_cmd(&a).map(|_| 0),
        Command::Tiles(a) => tiles_cmd(&a).map(|_| 0),
        Command::Serve(a) => serve_cmd(&a).map(|_| 0),
        Command::All(a) => all_cmd(&a).map(|_| 0),
        Command::Style(StyleCommand::Init(a)) => style_init_cmd(&a).map(|_| 0),
        Command::Merge(a) => merge_cmd(&a).map(|_| 0),
    }
}

/// Print a starting style for a dataset on stdout.
pub fn style_init_cmd(a: &StyleInitArgs) -> Result<()> {
    let loaded = Dataset::load(&a.data.source(), a.data.end_dates());
    let dataset = loaded.into_result()?;
    let json = crate::style::starting_style(&a.base, &a.name, &validate::polities_named(&dataset))?;
    print_out(&json)
}

/// Render one year to a PNG, SVG or PDF file; returns the path written.
pub fn render_cmd(a: &RenderArgs) -> Result<PathBuf> {
    let t0 = std::time::Instant::now();
    let mut style = Style::load(a.view.style_name(a.vector.grayscale))?;
    let atlas = a.data.load_checked(&mut style)?;
    timing("load", t0);
    let (view, dpi) = a.view.view(&atlas.data)?;
    let from_ext = a.out.as_deref().and_then(ImageFormat::from_path);
    let format = match (a.format, from_ext) {
        (Some(f), Some(e)) if f != e => {
            return Err(Error::Usage(format!(
                "--format {} does not match --out {}",
                f.extension(),
                a.out.as_deref().unwrap_or(Path::new("")).display()
            )))
        }
        (Some(f), _) | (None, Some(f)) => f,
        (None, None) => ImageFormat::Png,
    };
    let out =
        a.out.clone().unwrap_or_else(|| PathBuf::from(format!("output/frames/{}.{}", a.year, format.extension())));
    check_out_path(&out, format)?;
    check_year("--year", a.year)?;
    if let Some(y) = a.compare {
        check_year("--compare", y)?;
    }
    warn_outside_data("--year", (a.year, a.year), &atlas.data);
    // The canvas, the label and pattern masks and the base layers: about four copies.
    crate::output::check_image_memory(view.width, view.height, 4)?;
    let mut opts = RenderOptions::frame(Year(a.year), dpi);
    opts.lang = a.view.lang.code().into();
    opts.compare = a.compare.map(Year);
    let page = a.view.page_mm()?;
    let (bytes, labels) = render_bytes(&atlas, &style, &view, &opts, format, &a.vector.svg_options(page))?;
    write_atomic(&out, &bytes)?;
    if let Some(path) = &a.labels_json {
        let json = serde_json::to_vec_pretty(&labels).map_err(|e| Error::Encode(e.to_string()))?;
        write_atomic(path, &json)?;
    }
    timing("total", t0);
    release(atlas);
    Ok(out)
}

/// Warn (on stderr; the run goes on) when the years asked for lie wholly outside the
/// dataset's years: such a map shows only the undated features, which looks like a bug.
fn warn_outside_data(flag: &str, (from, to): (i32, i32), ds: &Dataset) {
    if let Some((a, b)) = ds.years() {
        if to < a || from > b {
            let asked = if from == to { from.to_string() } else { format!("{from}..{to}") };
            crate::note!(
                "steppe-atlas: warning: {flag} {asked} is outside the data's years {a}..{b}; the map shows only undated features"
            );
        }
    }
}

/// Refuse a year outside the years every command handles (−9999…9999).
fn check_year(flag: &str, year: i32) -> Result<()> {
    let years = crate::data::META_YEARS;
    if years.contains(&year) {
        Ok(())
    } else {
        Err(Error::Usage(format!("{flag} {year} is outside the years {}..{}", years.start(), years.end())))
    }
}

/// One complete image of a year as the bytes of a file of `format`.
pub fn render_bytes(
    atlas: &Atlas,
    style: &Style,
    view: &View,
    opts: &RenderOptions,
    format: ImageFormat,
    vector: &crate::render::vector::SvgOptions,
) -> Result<(Vec<u8>, crate::render::LabelReport)> {
    let t1 = std::time::Instant::now();
    let report = |labels, missing| crate::render::LabelReport::new(atlas, view, opts.year, labels, missing);
    let out = match format {
        ImageFormat::Png => {
            let mut img = render(atlas, style, view, opts);
            if vector.grayscale {
                crate::render::paint::to_grayscale(&mut img.pixmap);
            }
            timing("render", t1);
            let t2 = std::time::Instant::now();
            let bytes = encode_png(&img.pixmap, opts.dpi)?;
            timing("encode", t2);
            (bytes, report(img.labels, img.missing))
        }
        ImageFormat::Svg | ImageFormat::Pdf => {
            let vector = crate::render::vector::SvgOptions { text_layer: format == ImageFormat::Pdf, ..vector.clone() };
            let (svg, drawn) = crate::render::render_svg(atlas, style, view, opts, &vector);
            timing("render", t1);
            let bytes = if format == ImageFormat::Svg {
                svg.into_bytes()
            } else {
                let t2 = std::time::Instant::now();
                let pdf = crate::render::vector::svg_to_pdf(&svg).map_err(Error::Encode)?;
                timing("encode", t2);
                pdf
            };
            (bytes, report(drawn.labels, drawn.missing))
        }
    };
    Ok(out)
}

fn check_out_path(out: &Path, format: ImageFormat) -> Result<()> {
    if out.is_dir() {
        return Err(Error::Usage(format!(
            "--out {} is a folder; give a file name ending in .{}",
            out.display(),
            format.extension()
        )));
    }
    crate::output::check_output(out)
}

/// Print the query JSON for a point and year.
pub fn query_cmd(a: &QueryArgs) -> Result<()> {
    if !(-180.0..=180.0).contains(&a.lon) || !(-90.0..=90.0).contains(&a.lat) {
        return Err(Error::Usage(format!("--lon {} --lat {} is off the globe", a.lon, a.lat)));
    }
    check_year("--year", a.year)?;
    if !(a.radius_km.is_finite() && a.radius_km >= 0.0 && a.radius_km <= 5000.0) {
        return Err(Error::Usage(format!("--radius-km {} must be within 0–5000", a.radius_km)));
    }
    let loaded = Dataset::load(&a.data.source(), a.data.end_dates());
    // The geometry render refuses, query refuses too: one answer for one dataset.
    let geometry = validate::geometry_problems(&loaded.dataset);
    let dataset = loaded.into_result()?;
    if !geometry.is_empty() {
        return Err(Error::Data(geometry));
    }
    let atlas = Atlas::new(dataset);
    let hits = crate::query::query(&atlas, Year(a.year), a.lon, a.lat, a.radius_km);
    let doc = crate::query::to_json(&hits, Year(a.year), a.lon, a.lat, a.lang.code());
    let text = serde_json::to_string_pretty(&doc).map_err(|e| Error::Encode(e.to_string()))?;
    print_out(&crate::output::json_safe(text))
}

/// Validate a dataset: print one line per problem; exit 1 on errors (or warnings with --strict).
pub fn validate_cmd(a: &ValidateArgs) -> Result<i32> {
    let style = Style::load(&a.style)?;
    let loaded = Dataset::load(&a.data.source(), a.data.end_dates());
    let problems = validate::validate(&loaded, &style);
    let lines: String = problems.iter().map(|p| format!("{p}\n")).collect();
    crate::output::print_stdout(&lines)?;
    let (errors, warnings) = validate::counts(&problems);
    let features = loaded.dataset.all().count();
    crate::note!("{features} features: {errors} errors, {warnings} warnings");
    Ok(if errors > 0 || (a.strict && warnings > 0) { 1 } else { 0 })
}

/// Animation frames default to 1280×720 (HD video) unless a size is given.
fn animation_view(view: &ViewArgs) -> ViewArgs {
    let mut v = view.clone();
    if v.width.is_none() && v.height.is_none() && v.size_mm.is_none() {
        v.width = Some(1280);
        v.height = Some(720);
    }
    v
}

/// The default years of `frames` and `tiles`: for the built-in atlas the war,
/// 1635–1741; for any other dataset its `atlas.json` period, else the range of its own
/// dates.
fn default_span(data: &DataArgs, ds: &Dataset) -> Result<(i32, i32)> {
    if data.data.is_none() {
        if let Some([from, to]) = ds.meta.period {
            return Ok((from, to.min(from.max(1741))));
        }
    }
    ds.years().ok_or_else(|| {
        Error::Usage(
            "the dataset has no dates and atlas.json no `period`: give the years (--from/--to or --years)".into(),
        )
    })
}

/// Animate a span of years; returns what was written.
pub fn frames_cmd(a: &FramesArgs) -> Result<crate::animate::AnimationReport> {
    let mut style = Style::load(a.view.style_name(a.vector.grayscale))?;
    let atlas = a.data.load_checked(&mut style)?;
    let view_args = animation_view(&a.view);
    let (view, dpi) = view_args.view(&atlas.data)?;
    let (from, to) = match (a.from, a.to) {
        (Some(f), Some(t)) => (f, t),
        _ => default_span(&a.data, &atlas.data)?,
    };
    // Keep the whole map clear of the caption band and timeline at the bottom.
    let bottom = crate::render::animation_bottom_px(&atlas, &style, &view, dpi, a.view.lang.code());
    let view = View::fit_above(view.projection, &view_args.bbox(&atlas.data)?, view.width, view.height, bottom);
    let (from, to) = (a.from.unwrap_or(from), a.to.unwrap_or(to));
    warn_outside_data("--from/--to", (from, to), &atlas.data);
    // Sized before anything is written, whichever way the frames go.
    crate::animate::check_span(from, to, a.motion.tween, view.width, view.height, crate::output::available_memory())?;
    let vector = a.format != ImageFormat::Png;
    if vector {
        write_vector_frames(&atlas, &style, &view, dpi, (from, to), a)?;
        if a.gif.is_none() && a.apng.is_none() && a.sequence.is_none() {
            return Ok(crate::animate::AnimationReport::default());
        }
    }
    let (gif, apng) = match (&a.gif, &a.apng) {
        (None, None) if vector => (None, None),
        (None, None) => {
            let base = a.out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
            (Some(base.join("animation.gif")), Some(base.join("animation.png")))
        }
        (g, p) => (g.clone(), p.clone()),
    };
    let opts = crate::animate::AnimationOptions {
        from,
        to,
        frames_dir: (!vector).then(|| a.out.clone()),
        gif,
        apng,
        sequence: a.sequence.clone(),
        fps: a.motion.fps,
        tween: a.motion.tween,
        hold: a.motion.hold,
        lang: a.view.lang.code().into(),
        dpi,
        progress: true,
    };
    let t0 = std::time::Instant::now();
    let report = crate::animate::animate(&atlas, &style, &view, &opts)?;
    if std::env::var_os("STEPPE_ATLAS_TIMING").is_some() {
        crate::note!("peak_rss_kib: {}", peak_rss_kib().unwrap_or(0));
    }
    crate::note!(
        "{} frames ({} years, {} distinct map states, {} renders), {:.1} s of animation, in {:.1} s",
        report.frames,
        report.key_frames,
        report.distinct_states,
        report.renders,
        report.duration_s,
        t0.elapsed().as_secs_f64()
    );
    release(atlas);
    Ok(report)
}

/// Write the key frames of an animation as SVG or PDF files `{year}.svg|.pdf`: the same
/// frame as the PNG key frame (map, title block, caption band and timeline strip).
fn write_vector_frames(
    atlas: &Atlas,
    style: &Style,
    view: &View,
    dpi: f32,
    (from, to): (i32, i32),
    a: &FramesArgs,
) -> Result<()> {
    use rayon::prelude::*;
    let svg = a.vector.svg_options(animation_view(&a.view).page_mm()?);
    std::fs::create_dir_all(&a.out).map_err(|source| Error::Io { path: a.out.clone(), source })?;
    (from..=to).into_par_iter().try_for_each(|year| {
        let mut opts = RenderOptions::frame(Year(year), dpi);
        opts.lang = a.view.lang.code().into();
        opts.fixed_title = true;
        opts.timeline = Some(crate::render::Timeline { from, to, cursor: year as f32 });
        let (bytes, _) = render_bytes(atlas, style, view, &opts, a.format, &svg)?;
        write_atomic(&a.out.join(format!("{year}.{}", a.format.extension())), &bytes)
    })
}

/// Render the tiles asked for; returns what was written.
pub fn tiles_cmd(a: &TilesArgs) -> Result<crate::tiles::TileReport> {
    let mut style = Style::load(&a.style)?;
    let atlas = a.data.load_checked(&mut style)?;
    let years = match &a.years {
        Some(s) => crate::time::parse_year_range(s).map_err(|e| Error::Usage(format!("--years: {e}")))?,
        None => default_span(&a.data, &atlas.data)?,
    };
    warn_outside_data("--years", years, &atlas.data);
    let zooms = crate::tiles::grid::parse_zoom_range(&a.zoom).map_err(|e| Error::Usage(format!("--zoom: {e}")))?;
    let shard = match &a.shard {
        Some(s) => crate::tiles::parse_shard(s).map_err(|e| Error::Usage(format!("--shard: {e}")))?,
        None => (0, 1),
    };
    let opts = crate::tiles::TileOptions {
        years,
        zooms,
        out: a.out.clone(),
        format: a.format,
        look: crate::tiles::TileLook { scale: a.scale, buffer_px: 128, lang: a.lang.code().into(), image: a.image },
        shard,
        metatile: crate::tiles::METATILE,
        progress: true,
        force: a.force,
        base_url: a.base_url.as_deref().map(web_url).transpose()?,
        full: a.full,
    };
    let t0 = std::time::Instant::now();
    if a.format == crate::tiles::TileFormat::Mvt {
        if a.image != crate::imageformat::ImageFormat::Png {
            return Err(Error::Usage("--image webp applies to raster tiles, not --format mvt".into()));
        }
        return vector_tiles_cmd(a, &atlas, &style, &opts);
    }
    keep_freed_memory();
    let report = crate::tiles::generate(&atlas, &style, &opts)?;
    crate::note!(
        "{} tiles for {} years ({} distinct map states, {} metatiles laid out ({} with nothing new), {} kept, {} tiles drawn, {} shared) in {:.1} s",
        report.tiles,
        report.years,
        report.distinct_states,
        report.metatiles,
        report.metatiles_reused - report.metatiles_kept,
        report.metatiles_kept,
        report.tiles_drawn,
        report.tiles - report.tiles_drawn,
        t0.elapsed().as_secs_f64()
    );
    release(atlas);
    Ok(report)
}

/// Run the tile server until the process is stopped.
/// A public base URL from a flag: http or https, no spaces or control characters.
fn web_url(u: &str) -> Result<String> {
    let ok = (u.starts_with("http://") || u.starts_with("https://"))
        && u.len() > "https://".len()
        && !u.chars().any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '<' || c == '>');
    if ok {
        Ok(u.trim_end_matches('/').to_string())
    } else {
        Err(Error::Usage(format!("{}: expected an http:// or https:// URL", crate::output::printable(u))))
    }
}

/// Serve tiles, frames and the viewer until stopped.
pub fn serve_cmd(a: &ServeArgs) -> Result<()> {
    let origin_ok = a.cors == "*" || a.cors == "off" || web_url(&a.cors).is_ok_and(|u| !u[8..].contains('/'));
    if !origin_ok {
        return Err(Error::Usage(format!(
            "--cors {}: expected *, off or an origin such as https://example.org",
            crate::output::printable(&a.cors)
        )));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Usage(format!("cannot start the server: {e}")))?;
    // `--tiles PATH`: tiles from an export; the atlas still answers /api and /frames.
    let archive =
        a.tiles.as_deref().map(|p| runtime.block_on(crate::serve::archive::TileArchive::open(p))).transpose()?;
    let mut style = Style::load(&a.style)?;
    let mut frame_style = Style::load("print")?;
    let atlas = a.data.load_checked(&mut style)?;
    frame_style.adopt_polities(&validate::polities_named(&atlas.data));
    let extent = atlas.data.extent();
    let mut state = crate::serve::ServerState::new(
        atlas,
        style,
        frame_style,
        a.lang.code(),
        a.cache_mb.clamp(1, 1 << 20) * 1024 * 1024,
    )
    .with_web(crate::serve::WebOptions {
        cors: (a.cors != "off").then(|| a.cors.clone()),
        public_url: a.public_url.as_deref().map(web_url).transpose()?,
    });
    if let (Some(archive), Some(path)) = (archive, &a.tiles) {
        crate::note!("serving tiles from {} ({})", path.display(), archive.kind());
        if let (Some(t), Some(d)) = (archive.summary().bounds, extent) {
            if !(t[0] < d[2] && d[0] < t[2] && t[1] < d[3] && d[1] < t[3]) {
                crate::note!("note: the export lies outside the data's extent; pass the --data it was made from");
            }
        }
        state = state.with_tiles(archive);
    }
    let state = state.with_image(a.image);
    let state = std::sync::Arc::new(state);
    runtime
        .block_on(crate::serve::serve(&a.addr, state))
        .map_err(|e| Error::Usage(format!("cannot serve on {}: {e}", a.addr)))
}

/// The main job: every year's frame, the GIF and the APNG of the wars, and the year
/// pyramids of slippy-map tiles (zooms 0–6, screen style) into `{out}/`.
pub fn all_cmd(a: &AllArgs) -> Result<()> {
    let frames = FramesArgs {
        from: None,
        to: None,
        out: a.out.join("frames"),
        gif: Some(a.out.join("animation.gif")),
        apng: Some(a.out.join("animation.png")),
        sequence: None,
        format: ImageFormat::Png,
        vector: VectorArgs::default(),
        motion: MotionArgs { fps: a.fps, tween: a.tween, hold: a.hold },
        data: a.data.clone(),
        view: a.view.clone(),
    };
    frames_cmd(&frames)?;
    let tiles = TilesArgs {
        years: None,
        zoom: "0..6".into(),
        out: a.out.join("tiles"),
        format: crate::tiles::TileFormat::Xyz,
        scale: 1,
        shard: None,
        style: "atlas".into(),
        lang: a.view.lang.clone(),
        force: false,
        base_url: None,
        archive: crate::tiles::mvt::Archive::Pmtiles,
        full: false,
        image: Default::default(),
        data: a.data.clone(),
    };
    tiles_cmd(&tiles).map(|_| ())
}

/// `tiles --format mvt`: one vector archive for all the years, with its MapLibre style.
fn vector_tiles_cmd(
    a: &TilesArgs,
    atlas: &crate::atlas::Atlas,
    style: &Style,
    o: &crate::tiles::TileOptions,
) -> Result<crate::tiles::TileReport> {
    if o.shard.1 > 1 || a.scale != 1 {
        return Err(Error::Usage("--format mvt takes neither --shard nor --scale: it writes one archive".into()));
    }
    let t0 = std::time::Instant::now();
    let opts = crate::tiles::mvt::VectorOptions {
        years: o.years,
        zooms: o.zooms,
        out: o.out.clone(),
        archive: a.archive,
        progress: o.progress,
        force: o.force,
        base_url: o.base_url.clone(),
    };
    let r = crate::tiles::mvt::generate(atlas, style, &opts)?;
    crate::note!(
        "{} vector tiles for {}..{} ({} dated features), {} bytes, in {:.1} s",
        r.tiles,
        o.years.0,
        o.years.1,
        r.features,
        r.bytes,
        t0.elapsed().as_secs_f64()
    );
    if r.thinned > 0 {
        crate::note!(
            "{} of them hold more than {} points in a layer: each keeps, in every {}-px cell, the foremost point (highest rank) of each year that has one",
            r.thinned,
            crate::tiles::mvt::MAX_TILE_POINTS,
            256 / crate::tiles::mvt::THIN_GRID
        );
    }
    let years = usize::try_from(o.years.1 - o.years.0 + 1).unwrap_or(0);
    Ok(crate::tiles::TileReport { years, distinct_states: 0, tiles: r.tiles, ..Default::default() })
}

/// Write a document to stdout; a reader that closed the pipe early (`| head`) is not an
/// error, and never a panic.
fn print_out(text: &str) -> Result<()> {
    crate::output::print_stdout(&format!("{text}\n"))
}

/// Print phase timings to stderr when `STEPPE_ATLAS_TIMING` is set (for profiling).
pub fn timing(label: &str, t0: std::time::Instant) {
    if std::env::var_os("STEPPE_ATLAS_TIMING").is_some() {
        crate::note!("{label}: {:.2} ms", t0.elapsed().as_secs_f64() * 1000.0);
    }
}

/// The process's peak resident memory in KiB (Linux; None elsewhere).
pub fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
