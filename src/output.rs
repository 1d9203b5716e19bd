//! Writing output files safely: a temporary file in the same folder, then a rename, so an
//! interrupted run never leaves a half-written PNG behind.

use crate::error::{Error, Result};
use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::io::Write;
use std::path::{Path, PathBuf};

/// A file written under a temporary name in its final folder and renamed into place by
/// [`AtomicFile::commit`]; dropped uncommitted, the temporary file is removed. An
/// interrupted run therefore never leaves a half-written output behind.
pub struct AtomicFile {
    tmp: PathBuf,
    path: PathBuf,
    file: Option<std::fs::File>,
}

impl AtomicFile {
    /// Create the temporary file for `path`, creating parent folders.
    ///
    /// `path` may be a symlink: the file is written through it (the link stays, its target
    /// is replaced). A device node, FIFO, socket or folder is refused, as is a symlink
    /// to one or to nothing. Stale temporary files that an earlier, killed run left in
    /// the folder are removed first (see [`clean_stale_temps`]).
    pub fn create(path: &Path) -> Result<AtomicFile> {
        let io = |e| Error::Io { path: path.to_path_buf(), source: e };
        let target = output_target(path)?;
        let dir = target.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        prepare_dir_once(dir).map_err(io)?;
        let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
        let file = std::fs::File::create(&tmp).map_err(io)?;
        Ok(AtomicFile { tmp, path: target, file: Some(file) })
    }

    /// The open temporary file, handed over once.
    pub fn file(&mut self) -> Result<std::fs::File> {
        self.file.take().ok_or_else(|| Error::Encode(format!("{} opened twice", self.path.display())))
    }

    /// The temporary path (for writers that open files by name, such as SQLite).
    pub fn temp_path(&self) -> &Path {
        &self.tmp
    }

    /// The final path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Move the finished file into place.
    pub fn commit(mut self) -> Result<()> {
        self.file.take();
        std::fs::rename(&self.tmp, &self.path).map_err(|e| Error::Io { path: self.path.clone(), source: e })?;
        // Nothing is left at the temporary name for `drop` to remove.
        self.tmp = PathBuf::new();
        Ok(())
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        // Only a file that was not committed is still at its temporary name.
        if !self.tmp.as_os_str().is_empty() {
            std::fs::remove_file(&self.tmp).ok();
        }
    }
}

/// Where writing `path` lands: `path` itself, or the file a symlink points to. Anything
/// that is not a regular file (or nothing yet) is refused, so that an output never
/// replaces a device node, a FIFO or a folder.
fn output_target(path: &Path) -> Result<PathBuf> {
    let refuse = |what: &str| {
        Error::Usage(format!(
            "{} is {what}; steppe-atlas writes only regular files",
            printable(&path.display().to_string())
        ))
    };
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(path.to_path_buf()),
        Err(e) => return Err(Error::Io { path: path.to_path_buf(), source: e }),
    };
    let (target, meta) = if meta.file_type().is_symlink() {
        let target = std::fs::canonicalize(path).map_err(|_| refuse("a symlink to nothing"))?;
        let meta = std::fs::metadata(&target).map_err(|e| Error::Io { path: target.clone(), source: e })?;
        (target, meta)
    } else {
        (path.to_path_buf(), meta)
    };
    if meta.is_dir() {
        return Err(refuse("a folder"));
    }
    if !meta.is_file() {
        return Err(refuse("a device, FIFO or socket"));
    }
    if is_protected_input(&meta) {
        return Err(refuse("an input of this run (a --data file)"));
    }
    Ok(target)
}

/// The files this run reads its data from, as (device, inode): an output path that is one
/// of them (by any name: a link, `./`, `..`) is refused instead of replacing the input.
static INPUTS: std::sync::Mutex<Vec<(u64, u64)>> = std::sync::Mutex::new(Vec::new());

/// Mark the regular files in `dir` (a `--data` folder) as inputs that no output may
/// replace; see [`check_output`].
pub fn protect_inputs_in(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut inputs = INPUTS.lock().unwrap_or_else(|e| e.into_inner());
    for entry in entries.flatten() {
        if let Ok(meta) = std::fs::metadata(entry.path()) {
            if meta.is_file() {
                inputs.push(file_key(&meta));
            }
        }
    }
}

#[cfg(unix)]
fn file_key(meta: &std::fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (meta.dev(), meta.ino())
}

#[cfg(not(unix))]
fn file_key(_meta: &std::fs::Metadata) -> (u64, u64) {
    (u64::MAX, u64::MAX)
}

fn is_protected_input(meta: &std::fs::Metadata) -> bool {
    let key = file_key(meta);
    key != (u64::MAX, u64::MAX) && INPUTS.lock().unwrap_or_else(|e| e.into_inner()).contains(&key)
}

/// Do two output paths name the same file (`a.gif` and `./a.gif`, or a link to it)?
/// Two outputs of one run at one path would share a temporary file and overwrite each other.
pub fn same_file_name(a: &Path, b: &Path) -> bool {
    let resolve = |p: &Path| -> Option<PathBuf> {
        let dir = p.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        Some(std::fs::canonicalize(dir).ok()?.join(p.file_name()?))
    };
    if a == b {
        return true;
    }
    match (resolve(a), resolve(b)) {
        (Some(x), Some(y)) => x == y || output_target(&x).ok() == output_target(&y).ok() && x.exists(),
        _ => false,
    }
}

/// Does the process with this id still run? (Linux `/proc`; elsewhere every process is
/// taken to be alive, so nothing is removed.)
fn pid_alive(pid: u32) -> bool {
    if !Path::new("/proc/self").exists() {
        return true;
    }
    Path::new("/proc").join(pid.to_string()).exists()
}

/// The process id in one of our temporary names, `.NAME.tmpPID`.
fn temp_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix('.')?;
    let (stem, pid) = rest.rsplit_once(".tmp")?;
    if stem.is_empty() || pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    pid.parse().ok()
}

/// Remove the temporary files and folders (`.NAME.tmpPID`) that runs which are no longer
/// alive left in `dir` when they were killed; returns how many were removed. Files of live runs, and
/// anything not named like ours, are left alone.
pub fn clean_stale_temps(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    let me = std::process::id();
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(temp_pid) else { continue };
        if pid == me || pid_alive(pid) {
            continue;
        }
        // A folder is a tile folder that was being built whole (see `tiles::sink`); a
        // symlink is never followed.
        let gone = match entry.file_type() {
            Ok(t) if t.is_file() => std::fs::remove_file(entry.path()).is_ok(),
            Ok(t) if t.is_dir() => std::fs::remove_dir_all(entry.path()).is_ok(),
            _ => false,
        };
        removed += usize::from(gone);
    }
    removed
}

/// Create a folder (and its parents) and [`clean_stale_temps`] in it, once per folder and
/// process: a tile pyramid writes thousands of files into a few hundred folders.
pub(crate) fn prepare_dir_once(dir: &Path) -> std::io::Result<()> {
    static SEEN: std::sync::Mutex<Option<std::collections::HashSet<PathBuf>>> = std::sync::Mutex::new(None);
    let known = SEEN.lock().map(|mut seen| seen.get_or_insert_with(Default::default).contains(dir)).unwrap_or(false);
    if known {
        return Ok(());
    }
    std::fs::create_dir_all(dir)?;
    let first = match SEEN.lock() {
        Ok(mut seen) => seen.get_or_insert_with(Default::default).insert(dir.to_path_buf()),
        Err(_) => false,
    };
    if first {
        clean_stale_temps(dir);
    }
    Ok(())
}

/// Text made safe for one line of a message or a terminal: control characters (escape
/// codes, newlines, tabs, DEL, C1 controls) and bidirectional overrides are written as
/// `\u{..}` escapes, everything else as it is.
pub fn printable(s: &str) -> std::borrow::Cow<'_, str> {
    let unsafe_char = |c: char| c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
    if !s.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if unsafe_char(c) {
            out.push_str(&c.escape_unicode().to_string());
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// JSON text made safe for a terminal: the control characters JSON lets through raw (DEL,
/// the C1 controls) and bidirectional overrides are written as `\uXXXX` escapes. They
/// can only stand inside strings, so the JSON means the same.
pub fn json_safe(text: String) -> String {
    let unsafe_char = |c: char| {
        (c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if !text.chars().any(unsafe_char) {
        return text;
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if unsafe_char(c) {
            out.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

/// Check, before any work, that `path` can take an output: a new file, a regular file,
/// or a symlink to one (written through); not a folder, device, FIFO or socket.
pub fn check_output(path: &Path) -> Result<()> {
    output_target(path).map(|_| ())
}

/// Write `bytes` to `path` atomically (temp file + rename), creating parent folders.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = AtomicFile::create(path)?;
    // No fsync: the rename is what makes the write atomic for readers and for an
    // interrupted run; flushing to the disk would only guard against power loss.
    f.file()?.write_all(bytes).map_err(|e| Error::Io { path: path.to_path_buf(), source: e })?;
    f.commit()
}

/// Write `text` to stdout. A reader that went away (`| head -1`) is not an error: the
/// output is simply no longer wanted, so a broken pipe ends the write quietly.
pub fn print_stdout(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    let res = out.write_all(text.as_bytes()).and_then(|_| out.flush());
    match res {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Error::Io { path: PathBuf::from("<stdout>"), source: e })
        }
        _ => Ok(()),
    }
}

/// The memory available to this process, bytes: Linux `MemAvailable`, or less when a
/// cgroup (v2) limit leaves less room (a container); None elsewhere.
pub fn available_memory() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    let host = kib * 1024;
    let read = |f: &str| std::fs::read_to_string(Path::new("/sys/fs/cgroup").join(f)).ok();
    let cgroup = match (read("memory.max"), read("memory.current")) {
        (Some(max), Some(cur)) => match (max.trim().parse::<u64>(), cur.trim().parse::<u64>()) {
            (Ok(max), Ok(cur)) => Some(max.saturating_sub(cur)),
            _ => None, // "max": no limit
        },
        _ => None,
    };
    Some(cgroup.map_or(host, |c| c.min(host)))
}

/// Refuse an image of `width`×`height` px when `copies` full-size RGBA buffers of it (the
/// canvas, masks, the encoder's rows) would take more than 80 % of the memory available.
pub fn check_image_memory(width: u32, height: u32, copies: u64) -> Result<()> {
    let need = u64::from(width) * u64::from(height) * 4 * copies;
    match available_memory() {
        Some(avail) if need as f64 > avail as f64 * 0.8 => Err(Error::Usage(format!(
            "a {width}×{height} px image needs about {} MB of memory and {} MB is available; use a smaller size",
            need / 1_000_000,
            avail / 1_000_000
        ))),
        _ => Ok(()),
    }
}

/// Write a line to stderr, ignoring a closed stream: a report nobody reads (stderr piped
/// into `head`, or closed) must not turn a finished run into a panic.
pub fn note(line: std::fmt::Arguments<'_>) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{line}");
}

/// `eprintln!` that never panics: see [`note`].
#[macro_export]
macro_rules! note {
    ($($arg:tt)*) => {
        $crate::output::note(format_args!($($arg)*))
    };
}

/// A pixmap filled with one colour in a single pass over the memory.
pub fn new_pixmap(width: u32, height: u32, fill: tiny_skia::Color) -> Option<tiny_skia::Pixmap> {
    let size = tiny_skia::IntSize::from_wh(width, height)?;
    let n = width as usize * height as usize * 4;
    let mut buf: Vec<u8> = Vec::with_capacity(n);
    let c = fill.premultiply().to_color_u8();
    buf.extend_from_slice(&[c.red(), c.green(), c.blue(), c.alpha()]);
    // Fill by doubling: one pass of memcpy over the buffer.
    while buf.len() < n {
        let take = buf.len().min(n - buf.len());
        buf.extend_from_within(..take);
    }
    tiny_skia::Pixmap::from_vec(buf, size)
}

/// The `width`×`height` px part of `pixmap` with its top left at (x, y), copied a row at a
/// time into memory that is not zeroed first (tiny-skia's `clone_rect` zeroes a new
/// pixmap, then copies pixel by pixel). None when the part does not lie wholly inside.
pub fn crop_pixmap(pixmap: &tiny_skia::Pixmap, x: u32, y: u32, width: u32, height: u32) -> Option<tiny_skia::Pixmap> {
    let size = tiny_skia::IntSize::from_wh(width, height)?;
    if x.checked_add(width)? > pixmap.width() || y.checked_add(height)? > pixmap.height() {
        return None;
    }
    let stride = pixmap.width() as usize * 4;
    let (from, len) = (x as usize * 4, width as usize * 4);
    let mut buf: Vec<u8> = Vec::with_capacity(len * height as usize);
    for row in pixmap.data().chunks_exact(stride).skip(y as usize).take(height as usize) {
        buf.extend_from_slice(&row[from..from + len]);
    }
    tiny_skia::Pixmap::from_vec(buf, size)
}

/// Encode a tiny-skia pixmap (premultiplied RGBA) as a PNG carrying its dpi in pHYs.
/// Opaque images are written as RGB (a third smaller and faster to encode). Rows are
/// converted and streamed one at a time, so no second full-size buffer is needed.
pub fn encode_png(pixmap: &tiny_skia::Pixmap, dpi: f32) -> Result<Vec<u8>> {
    // A map is opaque: write RGB and check each row's alpha as it is converted (while the
    // row is in the cache), and start again as RGBA at the first pixel that is not.
    match encode_png_as(pixmap, dpi, true)? {
        Some(png) => Ok(png),
        None => encode_png_as(pixmap, dpi, false).map(|png| png.unwrap_or_default()),
    }
}

/// [`encode_png`] as RGB (`opaque`; None when a pixel is not opaque) or RGBA.
fn encode_png_as(pixmap: &tiny_skia::Pixmap, dpi: f32, opaque: bool) -> Result<Option<Vec<u8>>> {
    let (w, h) = (pixmap.width(), pixmap.height());
    let src = pixmap.data();
    let (words, _) = src.as_chunks::<4>();
    let enc_err = |e: png::EncodingError| Error::Encode(e.to_string());
    let mut out = Vec::with_capacity(src.len() / 6);
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(if opaque { png::ColorType::Rgb } else { png::ColorType::Rgba });
        enc.set_depth(png::BitDepth::Eight);
        enc.set_compression(png::Compression::Fast);
        // Paeth alone compresses maps as well as trying every filter per row, in 13 % fewer
        // instructions for the whole render of a 2000x1400 map.
        enc.set_filter(png::Filter::Paeth);
        let ppm = (f64::from(dpi) / 0.0254).round() as u32;
        enc.set_pixel_dims(Some(png::PixelDimensions { xppu: ppm, yppu: ppm, unit: png::Unit::Meter }));
        let mut writer = enc.write_header().map_err(enc_err)?;
        let mut stream = writer.stream_writer().map_err(enc_err)?;
        let channels = if opaque { 3 } else { 4 };
        // Room for one 16-byte store past the row's end ([`rgb_of`]).
        let mut row = vec![0u8; w as usize * channels + 16];
        let row_len = w as usize * channels;
        for src_row in words.chunks_exact(w as usize) {
            if opaque {
                // Alpha is the top byte of each little-endian pixel word: AND the row's
                // words together (a reduction the compiler vectorises).
                let alpha = src_row.iter().fold(u32::MAX, |acc, p| acc & u32::from_le_bytes(*p)) >> 24;
                if alpha != 0xFF {
                    return Ok(None);
                }
                rgb_of(&mut row, src_row);
            } else {
                // Un-premultiply: PNG stores straight alpha.
                for (d, p) in row.chunks_exact_mut(4).zip(src_row) {
                    let a = p[3];
                    let un = |c: u8| {
                        if a == 0 || a == 255 {
                            c
                        } else {
                            ((u16::from(c) * 255 + u16::from(a) / 2) / u16::from(a)).min(255) as u8
                        }
                    };
                    d.copy_from_slice(&[un(p[0]), un(p[1]), un(p[2]), a]);
                }
            }
            std::io::Write::write_all(&mut stream, &row[..row_len]).map_err(|e| Error::Encode(e.to_string()))?;
        }
        stream.finish().map_err(enc_err)?;
    }
    Ok(Some(out))
}

/// The red, green and blue bytes of opaque pixels (premultiplied is straight at full
/// alpha), packed: `rgb` holds 3 bytes per pixel of `pixels` and 16 more.
fn rgb_of(rgb: &mut [u8], pixels: &[[u8; 4]]) {
    assert!(rgb.len() >= pixels.len() * 3 + 16, "room for the last 16-byte store");
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("ssse3") {
        // SAFETY: the CPU has SSSE3, checked just above; `rgb` has the room asserted.
        unsafe { rgb_of_ssse3(rgb, pixels) };
        return;
    }
    for (d, p) in rgb.chunks_exact_mut(3).zip(pixels) {
        d.copy_from_slice(&p[..3]);
    }
}

/// [`rgb_of`] four pixels at a time: one byte shuffle of 16 bytes to 12, stored as 16
/// (the next store writes over the 4 extra bytes).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "ssse3")]
unsafe fn rgb_of_ssse3(rgb: &mut [u8], pixels: &[[u8; 4]]) {
    use std::arch::x86_64::*;
    let pick = _mm_setr_epi8(0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, -1, -1, -1, -1);
    let (fours, left) = pixels.as_chunks::<4>();
    for (k, four) in fours.iter().enumerate() {
        // SAFETY: a group of 4 pixels is 16 bytes to load; the store at 12·k writes 16
        // bytes, within `rgb` as 12·k + 16 ≤ 3·len + 16 (asserted by `rgb_of`).
        unsafe {
            let v = _mm_loadu_si128(four.as_ptr().cast());
            _mm_storeu_si128(rgb.as_mut_ptr().add(12 * k).cast(), _mm_shuffle_epi8(v, pick));
        }
    }
    let done = fours.len() * 12;
    for (d, p) in rgb[done..].chunks_exact_mut(3).zip(left) {
        d.copy_from_slice(&p[..3]);
    }
}

/// How [`encode_tile_png`] stored a tile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TileEncoding {
    /// Every colour kept exactly in a palette (at most 256 colours).
    Indexed,
    /// Quantised to a 256-colour palette within [`QUANTISE_MIN_PSNR`] of the pixels.
    Quantised,
    /// Truecolour (RGB, or RGBA where a pixel is not opaque).
    Truecolour,
}

/// The lowest PSNR (dB, over the RGBA channels, against the rendered tile) at which a tile
/// with more than 256 colours is stored quantised; below it the tile stays truecolour.
pub const QUANTISE_MIN_PSNR: f64 = 40.0;

/// The largest error a quantised tile may have at any pixel: the Euclidean distance in
/// 8-bit RGBA units between the rendered colour and its palette colour.
pub const QUANTISE_MAX_ERROR: u32 = 24;

/// Encode a map tile as small as it goes: an 8-bit (or 1/2/4-bit) palette PNG, with tRNS
/// where pixels are translucent, when the tile has at most 256 colours (lossless); else
/// a 256-colour palette (the 192 most used colours kept exact, the rest chosen farthest
/// first) with every other colour mapped to its nearest (a map tile is flat fills plus
/// anti-aliased edges), when that stays within [`QUANTISE_MIN_PSNR`] overall and
/// [`QUANTISE_MAX_ERROR`] at every pixel; else truecolour as [`encode_png`]. Carries the dpi (pHYs).
pub fn encode_tile_png(pixmap: &tiny_skia::Pixmap, dpi: f32) -> Result<(Vec<u8>, TileEncoding)> {
    let (w, h) = (pixmap.width() as usize, pixmap.height() as usize);
    let n = w * h;
    // The runs buffer is kept per thread from tile to tile.
    thread_local! {
        static RUNS: std::cell::RefCell<Vec<(u32, u32)>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    let mut runs = RUNS.with(|s| std::mem::take(&mut *s.borrow_mut()));
    runs.clear();
    let (mut colours, mut uses) = (Vec::new(), Vec::new());
    scan_runs(pixmap, &mut runs, &mut SlotMap::default(), &mut colours, &mut uses);
    let Some(choice) = choose_palette(&colours, &uses, n) else {
        RUNS.with(|s| *s.borrow_mut() = runs);
        return Ok((encode_png(pixmap, dpi)?, TileEncoding::Truecolour));
    };
    let indices = expand_runs(&runs, &choice.lut, n);
    RUNS.with(|s| *s.borrow_mut() = runs);
    Ok((write_indexed(w, h, &choice.palette, &indices, dpi)?, choice.kind))
}

/// A tile's palette: its colours, the palette index of every colour slot, and how exact.
struct PaletteChoice {
    palette: Vec<[u8; 4]>,
    lut: Vec<u8>,
    kind: TileEncoding,
}

/// Colour slots by colour (a premultiplied pixel word).
type SlotMap = HashMap<u32, u32, BuildHasherDefault<PixelHasher>>;

/// A small direct-mapped cache in front of a [`SlotMap`]: (colour, slot + 1), 0 marking
/// an empty entry (every colour is a valid key). It catches the colours that alternate
/// (hatching, anti-aliased edges).
struct SlotCache([(u32, u32); 256]);

impl SlotCache {
    fn new() -> SlotCache {
        SlotCache([(0, 0); 256])
    }

    /// The slot of colour `c`, a new one (numbered as met, with no use) if it has none.
    #[inline(always)]
    fn slot(&mut self, c: u32, map: &mut SlotMap, colours: &mut Vec<u32>, uses: &mut Vec<u32>) -> u32 {
        let h = (c.wrapping_mul(0x9E37_79B1) >> 24) as usize;
        if self.0[h].1 != 0 && self.0[h].0 == c {
            return self.0[h].1 - 1;
        }
        let s = *map.entry(c).or_insert_with(|| {
            colours.push(c);
            uses.push(0);
            (colours.len() - 1) as u32
        });
        self.0[h] = (c, s + 1);
        s
    }
}

/// The runs of one colour of a tile (a map tile is mostly flat fills), each with its
/// colour slot (colours numbered as first met, after those `map` holds), pushed to `runs`;
/// each colour's slot goes to `map`, the colours by slot (premultiplied pixel words) to
/// `colours` and each slot's use is added to `uses`.
#[inline(never)]
fn scan_runs(
    pixmap: &tiny_skia::Pixmap,
    runs: &mut Vec<(u32, u32)>,
    map: &mut SlotMap,
    colours: &mut Vec<u32>,
    uses: &mut Vec<u32>,
) {
    // Sized for a typical tile (a few hundred colours), so that it rarely grows.
    map.reserve(1024);
    let mut cache = SlotCache::new();
    let (words, _) = pixmap.data().as_chunks::<4>();
    let mut k = 0;
    while k < words.len() {
        let w4 = words[k];
        // The run's end: four pixels at a time (one 16-byte compare), then one at a time.
        let mut end = k + 1;
        while words[end..].first_chunk::<4>() == Some(&[w4; 4]) {
            end += 4;
        }
        end += words[end..].iter().take_while(|&&x| x == w4).count();
        let run = end - k;
        let slot = cache.slot(u32::from_le_bytes(w4), map, colours, uses);
        uses[slot as usize] += run as u32;
        runs.push((slot, run as u32));
        k += run;
    }
}

/// What a tile place keeps of the colours of its last tile, so that its next tile is
/// encoded from the pixels that changed ([`TileColours::update`]) with no scan of the
/// whole tile: each pixel's colour slot, each slot's colour (a premultiplied pixel word)
/// and use. [`encode_counted_tile_png`] gives the bytes of [`encode_tile_png`].
#[derive(Default)]
pub struct TileColours {
    size: (u32, u32),
    /// The slot of each pixel, row by row (empty: nothing counted).
    slots: Vec<u16>,
    colours: Vec<u32>,
    uses: Vec<u32>,
    map: SlotMap,
}

impl TileColours {
    /// Bring the counts up to the tile `pixmap`, which differs from the tile last counted
    /// only within `changed` (pixel boxes: left, top, right, bottom, exclusive); None:
    /// anywhere (every pixel is counted).
    pub fn update(&mut self, pixmap: &tiny_skia::Pixmap, changed: Option<&[[usize; 4]]>) {
        let size = (pixmap.width(), pixmap.height());
        let counted = size == self.size && !self.slots.is_empty();
        if let Some(boxes) = changed.filter(|_| counted) {
            if self.recount(pixmap, boxes) {
                return;
            }
        }
        self.count_all(pixmap);
    }

    /// Bytes held (for a run's memory budget).
    pub fn bytes(&self) -> usize {
        self.slots.capacity() * 2 + (self.colours.capacity() + self.uses.capacity() + self.map.capacity() * 2) * 4
    }

    /// Count every pixel of `pixmap` afresh (nothing is counted when it has more colours
    /// than slots can number).
    fn count_all(&mut self, pixmap: &tiny_skia::Pixmap) {
        self.size = (pixmap.width(), pixmap.height());
        let (colours, uses, map) = (&mut self.colours, &mut self.uses, &mut self.map);
        colours.clear();
        uses.clear();
        map.clear();
        let mut runs = Vec::new();
        scan_runs(pixmap, &mut runs, map, colours, uses);
        self.slots.clear();
        if colours.len() > usize::from(u16::MAX) + 1 {
            return;
        }
        self.slots.reserve_exact(self.size.0 as usize * self.size.1 as usize);
        for (slot, run) in runs {
            self.slots.resize(self.slots.len() + run as usize, slot as u16);
        }
    }

    /// Count again the pixels of `boxes`; false when slots ran out (nothing is then
    /// counted right).
    fn recount(&mut self, pixmap: &tiny_skia::Pixmap, boxes: &[[usize; 4]]) -> bool {
        let w = self.size.0 as usize;
        let (words, _) = pixmap.data().as_chunks::<4>();
        let mut cache = SlotCache::new();
        for &[x0, y0, x1, y1] in boxes {
            for y in y0..y1.min(self.size.1 as usize) {
                let span = y * w + x0.min(w)..y * w + x1.min(w);
                for (word, slot) in words[span.clone()].iter().zip(&mut self.slots[span]) {
                    let c = u32::from_le_bytes(*word);
                    let old = usize::from(*slot);
                    if self.colours[old] == c {
                        continue;
                    }
                    self.uses[old] -= 1;
                    let s = cache.slot(c, &mut self.map, &mut self.colours, &mut self.uses);
                    if s > u32::from(u16::MAX) {
                        self.slots.clear();
                        return false;
                    }
                    self.uses[s as usize] += 1;
                    *slot = s as u16;
                }
            }
        }
        true
    }
}

/// [`encode_tile_png`] of a tile whose colours are counted in `counted` (brought up to it
/// by [`TileColours::update`]): the same bytes, from the counts.
pub fn encode_counted_tile_png(
    pixmap: &tiny_skia::Pixmap,
    dpi: f32,
    counted: &TileColours,
) -> Result<(Vec<u8>, TileEncoding)> {
    let (w, h) = (pixmap.width() as usize, pixmap.height() as usize);
    if counted.size != (pixmap.width(), pixmap.height()) || counted.slots.len() != w * h {
        return encode_tile_png(pixmap, dpi);
    }
    // The colours in use, in slot order (the palette does not depend on their order).
    let n_slots = counted.colours.len();
    let mut live: Vec<u32> = Vec::with_capacity(n_slots);
    let (mut colours, mut uses) = (Vec::with_capacity(n_slots), Vec::with_capacity(n_slots));
    for (&c, &u) in counted.colours.iter().zip(&counted.uses) {
        live.push(colours.len() as u32);
        if u > 0 {
            colours.push(c);
            uses.push(u);
        }
    }
    let Some(choice) = choose_palette(&colours, &uses, w * h) else {
        return Ok((encode_png(pixmap, dpi)?, TileEncoding::Truecolour));
    };
    // Each slot's palette index, in a table for every slot a u16 can number (no bounds to
    // check; a slot out of use is no pixel's, so its entry is never read), and the
    // pixels' indices: both kept per thread from tile to tile, every entry read written.
    thread_local! {
        static LUT: std::cell::RefCell<Box<[u8; 1 << 16]>> = std::cell::RefCell::new(Box::new([0; 1 << 16]));
        static INDICES: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    let mut indices = INDICES.with(|v| std::mem::take(&mut *v.borrow_mut()));
    indices.resize(w * h, 0);
    LUT.with(|lut| {
        let mut guard = lut.borrow_mut();
        let lut: &mut [u8; 1 << 16] = &mut guard;
        for (v, &l) in lut.iter_mut().zip(&live) {
            *v = choice.lut.get(l as usize).copied().unwrap_or(0);
        }
        // Sixteen pixels at a time, one store when they share a slot (flat fills).
        let lut: &[u8; 1 << 16] = lut;
        let (slots, slots_left) = counted.slots.as_chunks::<16>();
        let (out, out_left) = indices.as_chunks_mut::<16>();
        for (o, s) in out.iter_mut().zip(slots) {
            let first = s[0];
            if s.iter().fold(true, |same, &v| same & (v == first)) {
                *o = [lut[usize::from(first)]; 16];
            } else {
                *o = s.map(|v| lut[usize::from(v)]);
            }
        }
        for (o, &s) in out_left.iter_mut().zip(slots_left) {
            *o = lut[usize::from(s)];
        }
    });
    let png = write_indexed(w, h, &choice.palette, &indices, dpi);
    INDICES.with(|v| *v.borrow_mut() = indices);
    Ok((png?, choice.kind))
}

/// The palette of a tile with these colours (by slot) and uses, or None when quantising
/// it would cost more than [`QUANTISE_MIN_PSNR`] / [`QUANTISE_MAX_ERROR`] allow.
#[inline(never)]
fn choose_palette(colours: &[u32], uses: &[u32], n: usize) -> Option<PaletteChoice> {
    // Slots by use, most used first (ties by colour, so the palette is deterministic).
    // One integer key per colour (use descending, then colour), unique as colours are.
    // Each slot with its key above it, so that slots order by key in plain compares.
    let mut keyed: Vec<u128> = (0..colours.len())
        .map(|s| {
            let key = (u64::from(u32::MAX - uses[s]) << 32) | u64::from(colours[s]);
            (u128::from(key) << 32) | s as u128
        })
        .collect();
    // Only the kept colours need their order (the palette's): the rest are searched in
    // any order, with ties broken by key (`quantise::complete`).
    let popular = if keyed.len() <= 256 { keyed.len() } else { 192 };
    if popular < keyed.len() {
        keyed.select_nth_unstable(popular);
    }
    keyed[..popular].sort_unstable();
    let key = |k: u128| (k >> 32) as u64;
    let slots: Vec<u32> = keyed.iter().map(|&k| k as u32).collect();
    let straight = |c: u32| {
        let [r, g, b, a] = c.to_le_bytes();
        let un = |v: u8| {
            if a == 0 || a == 255 {
                v
            } else {
                ((u16::from(v) * 255 + u16::from(a) / 2) / u16::from(a)).min(255) as u8
            }
        };
        [un(r), un(g), un(b), a]
    };
    // The most used colours first (the flat fills, kept exact), then, while room is left,
    // the colour farthest from every kept one (a small white dot must not vanish), then
    // every other colour to its nearest kept colour.
    let mut palette: Vec<[u8; 4]> = slots[..popular].iter().map(|&s| straight(colours[s as usize])).collect();
    // Palette index per slot.
    let mut lut: Vec<u8> = vec![0; colours.len()];
    for (i, &s) in slots[..popular].iter().enumerate() {
        lut[s as usize] = i as u8;
    }
    let rest = &slots[popular..];
    let colours_left: Vec<[u8; 4]> = rest.iter().map(|&s| straight(colours[s as usize])).collect();
    let ranks: Vec<u64> = keyed[popular..].iter().map(|&k| key(k)).collect();
    // Every other colour's nearest entry, the farthest-first entries added while room is
    // left, and every colour's nearest entry once they are in.
    let (dist, idx) = quantise::complete(&mut palette, &colours_left, &ranks);
    let mut squared_error = 0u64;
    let mut worst = 0u32;
    for (j, &s) in rest.iter().enumerate() {
        let dj = dist[j];
        squared_error += u64::from(dj) * u64::from(uses[s as usize]);
        worst = worst.max(dj);
        // Below 256: the palette never grows past it.
        lut[s as usize] = idx[j] as u8;
    }
    let kind = if rest.is_empty() {
        TileEncoding::Indexed
    } else if psnr(squared_error, n * 4) >= QUANTISE_MIN_PSNR && worst <= QUANTISE_MAX_ERROR.pow(2) {
        TileEncoding::Quantised
    } else {
        return None;
    };
    Some(PaletteChoice { palette, lut, kind })
}

/// The searches of [`choose_palette`], compiled for the baseline and, on x86-64, for AVX2
/// (chosen at run time): the same exact arithmetic either way.
///
/// The colours are put in order of their channel sum (a counting sort). A colour's squared
/// distance to an entry is at least a quarter of the squared difference of their sums
/// (Cauchy–Schwarz over 4 channels), so:
/// - the nearest kept entry of a block of 8 colours (neighbours in sum) is searched among
///   the kept entries in order of sum, outwards from the block's sums, until the bound
///   passes the largest best distance of the block's colours;
/// - a farthest-first entry can only take colours whose sum lies within twice the root of
///   the largest distance of its own, a contiguous range of the sorted colours.
///
/// Distances are f32 and indices 32-bit words so that the lanes vectorise with x86-64's
/// baseline (SSE2 has 4-lane f32 multiply, min and max, but no 32-bit integer multiply);
/// squared distances are integers below 2^18 and sums below 2^10, exact in f32, so every
/// comparison is the integer one. The AVX2 nearest search works in integers (16-bit
/// multiply-adds, and one word per best: distance above index).
mod quantise {
    /// Colours per block of the nearest search (one AVX2 register of f32).
    const LANES: usize = 8;
    /// Colours per chunk whose largest distance is kept (a multiple of `LANES`).
    const CHUNK: usize = 64;

    /// Complete `palette` (the kept entries) with the colours of `rest` farthest from every
    /// entry, while room is left, each of those at the largest distance the one of largest
    /// rank (`ranks`, one per colour of `rest`, all different); returns each colour's squared distance to its nearest entry and that
    /// entry (the first of equals).
    pub(super) fn complete(palette: &mut Vec<[u8; 4]>, rest: &[[u8; 4]], ranks: &[u64]) -> (Vec<u32>, Vec<u32>) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2, checked just above.
            return unsafe { complete_avx2(palette, rest, ranks) };
        }
        complete_in::<false>(palette, rest, ranks)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn complete_avx2(palette: &mut Vec<[u8; 4]>, rest: &[[u8; 4]], ranks: &[u64]) -> (Vec<u32>, Vec<u32>) {
        complete_in::<true>(palette, rest, ranks)
    }

    /// A kept entry: its channel sum, index and channels.
    type Kept = (f32, u32, [f32; 4]);

    /// The next run of up to `step` kept entries to try for a block of colours with sums
    /// `lo_s..=hi_s`, searching outwards (`down` and `up` bracket the entries tried so
    /// far): the side whose nearest entry has the smaller bound of its squared distance
    /// times 4 to every colour of the block (0 for entries with sums inside the block's);
    /// None when both sides are done or their bounds pass `limit`.
    #[inline(always)]
    fn next_run(
        kept: &[Kept],
        (lo_s, hi_s): (f32, f32),
        (down, up): (&mut usize, &mut usize),
        step: usize,
        limit: f32,
    ) -> Option<std::ops::Range<usize>> {
        let below = if *down > 0 { (lo_s - kept[*down - 1].0).powi(2) } else { f32::INFINITY };
        let above = if *up < kept.len() { (kept[*up].0 - hi_s).max(0.0).powi(2) } else { f32::INFINITY };
        if below.min(above) > limit || (below == f32::INFINITY && above == f32::INFINITY) {
            None
        } else if below <= above {
            let from = down.saturating_sub(step);
            let run = from..*down;
            *down = from;
            Some(run)
        } else {
            let to = (*up + step).min(kept.len());
            let run = *up..to;
            *up = to;
            Some(run)
        }
    }

    /// The nearest kept entry (first of equals) of each of a block of colours (channels
    /// apart) with sums `lo_s..=hi_s`, and its squared distance; `from` is the first kept
    /// entry whose sum is not below `lo_s`. Entries are tried outwards in sum until the
    /// bound passes the largest best of the block (4 · best, as the bound is 4 · a lower
    /// bound): no entry left can then be nearer, nor as near, for any colour of the block.
    #[inline(always)]
    pub(super) fn search_block(
        c: [&[f32; LANES]; 4],
        (lo_s, hi_s, from): (f32, f32, usize),
        kept: &[Kept],
    ) -> ([f32; LANES], [u32; LANES]) {
        let mut best = [f32::INFINITY; LANES];
        let mut at = [0u32; LANES];
        let mut up = from;
        let mut down = up;
        while let Some(run) = next_run(kept, (lo_s, hi_s), (&mut down, &mut up), 1, 4.0 * largest(&best)) {
            let (_, i, f) = kept[run.start];
            for l in 0..LANES {
                let (dr, dg, db, da) = (c[0][l] - f[0], c[1][l] - f[1], c[2][l] - f[2], c[3][l] - f[3]);
                let e = dr * dr + dg * dg + db * db + da * da;
                // The first of equals: entries come out of index order here.
                if e < best[l] || (e == best[l] && i < at[l]) {
                    at[l] = i;
                    best[l] = e;
                }
            }
        }
        (best, at)
    }

    /// [`search_block`] in AVX2 registers (one colour per lane), in integers: a colour's
    /// channels as two pairs of 16-bit words, whose squared differences one multiply-add
    /// sums, and each lane's best as one word, squared distance above index, so that the
    /// unsigned minimum keeps the nearest entry and, among equals, the first. The entries
    /// are taken eight at a time on either side: a run of eight is tried whole when the
    /// nearest of them (its first, outwards) is within the bound, and the largest best is
    /// found once per run. Entries past the bound can be tried without harm: each is
    /// farther than every lane's best, so none is taken. `pairs`: each kept entry's
    /// channels as [`pairs`] gives them.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    pub(super) fn search_block_avx2(
        c: [&[f32; LANES]; 4],
        (lo_s, hi_s, from): (f32, f32, usize),
        kept: &[Kept],
        pairs: &[[i32; 2]],
    ) -> ([f32; LANES], [u32; LANES]) {
        use std::arch::x86_64::*;
        // SAFETY: each `c[k]` holds 8 f32, what one unaligned load reads.
        let [r, g, b, a] = c.map(|ch| unsafe { _mm256_cvttps_epi32(_mm256_loadu_ps(ch.as_ptr())) });
        let rg = _mm256_or_si256(r, _mm256_slli_epi32::<16>(g));
        let ba = _mm256_or_si256(b, _mm256_slli_epi32::<16>(a));
        let mut best = _mm256_set1_epi32(-1);
        let mut worst = f32::INFINITY;
        let mut up = from;
        let mut down = up;
        while let Some(run) = next_run(kept, (lo_s, hi_s), (&mut down, &mut up), LANES, 4.0 * worst) {
            for (&(_, i, _), &[erg, eba]) in kept[run.clone()].iter().zip(&pairs[run]) {
                let d_rg = _mm256_sub_epi16(rg, _mm256_set1_epi32(erg));
                let d_ba = _mm256_sub_epi16(ba, _mm256_set1_epi32(eba));
                let e = _mm256_add_epi32(_mm256_madd_epi16(d_rg, d_rg), _mm256_madd_epi16(d_ba, d_ba));
                let key = _mm256_or_si256(_mm256_slli_epi32::<8>(e), _mm256_set1_epi32(i as i32));
                best = _mm256_min_epu32(best, key);
            }
            // The largest best: the halves, then pairs, then neighbours.
            let m = _mm256_max_epu32(best, _mm256_permute2x128_si256::<1>(best, best));
            let m = _mm256_max_epu32(m, _mm256_shuffle_epi32::<0b0100_1110>(m));
            let m = _mm256_max_epu32(m, _mm256_shuffle_epi32::<0b1011_0001>(m));
            worst = ((_mm256_cvtsi256_si32(m) as u32) >> 8) as f32;
        }
        let mut keys = [0u32; LANES];
        // SAFETY: 8 u32, what one unaligned store writes.
        unsafe { _mm256_storeu_si256(keys.as_mut_ptr().cast(), best) };
        (keys.map(|k| (k >> 8) as f32), keys.map(|k| k & 0xff))
    }

    /// A colour's channels as the two words [`search_block_avx2`] reads: red and green,
    /// blue and alpha, each pair as two 16-bit halves.
    #[cfg(target_arch = "x86_64")]
    fn pairs(c: &[f32; 4]) -> [i32; 2] {
        let v = c.map(|v| v as i32);
        [v[0] | (v[1] << 16), v[2] | (v[3] << 16)]
    }

    fn sum(c: &[u8; 4]) -> usize {
        c.iter().map(|&v| usize::from(v)).sum()
    }

    /// The largest of some distances, over their bits as i32 (they order as the
    /// non-negative floats do, and an integer max reduction vectorises where a float one
    /// does not); 0 for none.
    #[inline(always)]
    fn largest(dist: &[f32]) -> f32 {
        f32::from_bits(dist.iter().map(|d| d.to_bits() as i32).max().unwrap_or(0) as u32)
    }

    /// Move each colour (channels apart) whose squared distance to the new entry `i` (of
    /// channels `f`) is below its distance `d` to that entry: a colour moves only to a
    /// strictly nearer entry.
    #[inline(always)]
    fn move_nearer(c: [&[f32]; 4], (d, x): (&mut [f32], &mut [u32]), f: [f32; 4], i: u32) {
        let [r, g, b, a] = c;
        let len = d.len().min(x.len()).min(r.len()).min(g.len()).min(b.len()).min(a.len());
        for j in 0..len {
            let (dr, dg, db, da) = (r[j] - f[0], g[j] - f[1], b[j] - f[2], a[j] - f[3]);
            let e = dr * dr + dg * dg + db * db + da * da;
            // Selects, not branches.
            let closer = e < d[j];
            x[j] = if closer { i } else { x[j] };
            d[j] = if closer { e } else { d[j] };
        }
    }

    /// [`move_nearer`] in AVX2 registers, 8 colours at a time, with plain stores of blended
    /// lanes: compiled from the loop above, the indices' store was a masked one
    /// (`vpmaskmovd`), which AMD's cores run microcoded, slowly (a fifth of the century's
    /// palette search). The slices' lengths are whole blocks of [`LANES`] (the channels are
    /// padded to whole chunks); the distances are exact integers, so the arithmetic is the
    /// same.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn move_nearer_avx2(c: [&[f32]; 4], (d, x): (&mut [f32], &mut [u32]), f: [f32; 4], i: u32) {
        use std::arch::x86_64::*;
        let [r, g, b, a] = c;
        let len = d.len().min(x.len()).min(r.len()).min(g.len()).min(b.len()).min(a.len());
        let f = f.map(|v| _mm256_set1_ps(v));
        let iv = _mm256_set1_epi32(i as i32);
        let (ds, xs) = (d[..len].as_chunks_mut::<LANES>().0, x[..len].as_chunks_mut::<LANES>().0);
        let (rs, gs, bs, as_) =
            (r.as_chunks::<LANES>().0, g.as_chunks::<LANES>().0, b.as_chunks::<LANES>().0, a.as_chunks::<LANES>().0);
        for (((((dj, xj), rj), gj), bj), aj) in ds.iter_mut().zip(xs.iter_mut()).zip(rs).zip(gs).zip(bs).zip(as_) {
            // SAFETY: each pointer is to a whole array of LANES (8) f32 or u32: 32 bytes,
            // read and written unaligned.
            unsafe {
                let dr = _mm256_sub_ps(_mm256_loadu_ps(rj.as_ptr()), f[0]);
                let dg = _mm256_sub_ps(_mm256_loadu_ps(gj.as_ptr()), f[1]);
                let db = _mm256_sub_ps(_mm256_loadu_ps(bj.as_ptr()), f[2]);
                let da = _mm256_sub_ps(_mm256_loadu_ps(aj.as_ptr()), f[3]);
                let e = _mm256_add_ps(
                    _mm256_add_ps(_mm256_add_ps(_mm256_mul_ps(dr, dr), _mm256_mul_ps(dg, dg)), _mm256_mul_ps(db, db)),
                    _mm256_mul_ps(da, da),
                );
                let old = _mm256_loadu_ps(dj.as_ptr());
                let closer = _mm256_cmp_ps::<_CMP_LT_OQ>(e, old);
                let at = _mm256_loadu_si256(xj.as_ptr().cast());
                _mm256_storeu_si256(xj.as_mut_ptr().cast(), _mm256_blendv_epi8(at, iv, _mm256_castps_si256(closer)));
                _mm256_storeu_ps(dj.as_mut_ptr(), _mm256_blendv_ps(old, e, closer));
            }
        }
    }

    #[inline(always)]
    pub(super) fn complete_in<const WIDE: bool>(
        palette: &mut Vec<[u8; 4]>,
        rest: &[[u8; 4]],
        ranks: &[u64],
    ) -> (Vec<u32>, Vec<u32>) {
        let m = rest.len();
        if m == 0 {
            return (Vec::new(), Vec::new());
        }
        // The colours in order of sum (stable: equal sums stay in `rest` order), padded to
        // whole chunks with copies of the last.
        let mut start = vec![0u32; 4 * 255 + 2];
        for c in rest {
            start[sum(c) + 1] += 1;
        }
        for k in 1..start.len() {
            start[k] += start[k - 1];
        }
        let padded = m.div_ceil(CHUNK) * CHUNK;
        let mut order = vec![0u32; padded];
        for (j, c) in rest.iter().enumerate() {
            let s = sum(c);
            order[start[s] as usize] = j as u32;
            start[s] += 1;
        }
        let last = order[m - 1];
        order[m..].fill(last);
        // The channels apart and the sums, in that order (one pass over it).
        let mut ch: [Vec<f32>; 4] = std::array::from_fn(|_| vec![0.0; padded]);
        let mut sums = vec![0.0; padded];
        {
            let [r, g, b, a] = &mut ch;
            let lanes = r.iter_mut().zip(g.iter_mut()).zip(b.iter_mut()).zip(a.iter_mut()).zip(sums.iter_mut());
            for (((((r, g), b), a), s), &j) in lanes.zip(&order) {
                let c = rest[j as usize].map(f32::from);
                (*r, *g, *b, *a) = (c[0], c[1], c[2], c[3]);
                // Exact: integers below 2^10.
                *s = c[0] + c[1] + c[2] + c[3];
            }
        }
        let mut dist = vec![f32::INFINITY; padded];
        let mut idx = vec![0u32; padded];

        // The kept entries by sum (then index).
        let mut kept: Vec<(f32, u32, [f32; 4])> =
            palette.iter().enumerate().map(|(i, p)| (sum(p) as f32, i as u32, p.map(f32::from))).collect();
        kept.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        #[cfg(target_arch = "x86_64")]
        let pairs: Vec<[i32; 2]> = if WIDE { kept.iter().map(|k| pairs(&k.2)).collect() } else { Vec::new() };
        // The first kept entry whose sum is not below a block's: the blocks come in order
        // of sum, so it only moves on.
        let mut from = 0;
        for j0 in (0..padded).step_by(LANES) {
            let block: [&[f32; LANES]; 4] =
                std::array::from_fn(|k| ch[k][j0..j0 + LANES].try_into().expect("a whole block"));
            let (lo_s, hi_s) = (sums[j0], sums[j0 + LANES - 1]);
            while from < kept.len() && kept[from].0 < lo_s {
                from += 1;
            }
            #[cfg(target_arch = "x86_64")]
            // SAFETY: WIDE only from `complete_avx2`, called when the CPU has AVX2.
            let (best, at) = if WIDE {
                unsafe { search_block_avx2(block, (lo_s, hi_s, from), &kept, &pairs) }
            } else {
                search_block(block, (lo_s, hi_s, from), &kept)
            };
            #[cfg(not(target_arch = "x86_64"))]
            let (best, at) = search_block(block, (lo_s, hi_s, from), &kept);
            dist[j0..j0 + LANES].copy_from_slice(&best);
            idx[j0..j0 + LANES].copy_from_slice(&at);
        }

        // Farthest first: the largest distance of each chunk of colours, and overall.
        let mut tops: Vec<f32> = dist.chunks_exact(CHUNK).map(largest).collect();
        let mut most = largest(&tops);
        while palette.len() < 256 && most > 0.0 {
            // The colour at the largest distance with the largest rank.
            let mut f_at = usize::MAX;
            for (t, &top) in tops.iter().enumerate() {
                if top == most {
                    for j in t * CHUNK..(t + 1) * CHUNK {
                        let o = order[j] as usize;
                        if dist[j] == most && (f_at == usize::MAX || ranks[o] > ranks[f_at]) {
                            f_at = o;
                        }
                    }
                }
            }
            let i = palette.len() as u32;
            let fc = rest[f_at];
            palette.push(fc);
            let f = fc.map(f32::from);
            let sf = sum(&fc) as f32;
            // Only colours nearer to it than `most` can move, and their sums lie within
            // 2·√most of its own: (s − sf)² ≤ 4·most.
            let reach = 4.0 * most;
            let lo = sums.partition_point(|&s| s < sf && (sf - s) * (sf - s) > reach);
            let hi = sums.partition_point(|&s| s <= sf || (s - sf) * (s - sf) <= reach);
            let (t0, t1) = (lo / CHUNK, hi.div_ceil(CHUNK));
            let range = t0 * CHUNK..t1 * CHUNK;
            let (d, x) = (&mut dist[range.clone()], &mut idx[range.clone()]);
            let (r, g, b, a) = (&ch[0][range.clone()], &ch[1][range.clone()], &ch[2][range.clone()], &ch[3][range]);
            #[cfg(target_arch = "x86_64")]
            if WIDE {
                // SAFETY: WIDE only from `complete_avx2`, called when the CPU has AVX2.
                unsafe { move_nearer_avx2([r, g, b, a], (d, x), f, i) };
            } else {
                move_nearer([r, g, b, a], (d, x), f, i);
            }
            #[cfg(not(target_arch = "x86_64"))]
            move_nearer([r, g, b, a], (d, x), f, i);
            for (top, chunk) in tops[t0..t1].iter_mut().zip(d.chunks_exact(CHUNK)) {
                *top = largest(chunk);
            }
            most = largest(&tops);
        }

        // Back to the order of `rest`.
        let (mut d, mut x) = (vec![0u32; m], vec![0u32; m]);
        for (j, &o) in order[..m].iter().enumerate() {
            // Exact: an integer below 2^18.
            d[o as usize] = dist[j] as u32;
            x[o as usize] = idx[j];
        }
        (d, x)
    }
}

/// The palette index of every pixel, from the runs of colour slots.
#[inline(never)]
fn expand_runs(runs: &[(u32, u32)], lut: &[u8], n: usize) -> Vec<u8> {
    // A run of up to 8 pixels (most, on anti-aliased edges) is one unaligned 8-byte store
    // that may write past it (the next run writes over the excess, and 8 bytes of room
    // are kept at the end); a longer one is a fill.
    let mut indices: Vec<u8> = vec![0; n + 8];
    let mut k = 0;
    for &(slot, run) in runs {
        let (v, run) = (lut[slot as usize], run as usize);
        if run <= 8 && k + 8 <= indices.len() {
            indices[k..k + 8].copy_from_slice(&[v; 8]);
        } else if let Some(dst) = indices.get_mut(k..k + run) {
            dst.fill(v);
        }
        k += run;
    }
    indices.truncate(n.min(k));
    indices
}

/// A fast hasher for premultiplied pixel words (Fibonacci hashing).
#[derive(Default)]
struct PixelHasher(u64);

impl std::hash::Hasher for PixelHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(*b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u32(&mut self, v: u32) {
        self.0 = u64::from(v).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// PSNR in dB of a summed squared error over `n` 8-bit samples (infinite when equal).
pub fn psnr(squared_error: u64, n: usize) -> f64 {
    if squared_error == 0 {
        return f64::INFINITY;
    }
    let mse = squared_error as f64 / n as f64;
    10.0 * (255.0f64 * 255.0 / mse).log10()
}

/// Write a palette PNG: the smallest bit depth that holds the palette, tRNS when a colour
/// is not opaque (trailing opaque entries left out).
fn write_indexed(w: usize, h: usize, palette: &[[u8; 4]], indices: &[u8], dpi: f32) -> Result<Vec<u8>> {
    let enc_err = |e: png::EncodingError| Error::Encode(e.to_string());
    let bits: usize = match palette.len() {
        0..=2 => 1,
        3..=4 => 2,
        5..=16 => 4,
        _ => 8,
    };
    let mut out = Vec::with_capacity(w * h / 8);
    {
        let mut enc = png::Encoder::new(&mut out, w as u32, h as u32);
        enc.set_color(png::ColorType::Indexed);
        enc.set_depth(match bits {
            1 => png::BitDepth::One,
            2 => png::BitDepth::Two,
            4 => png::BitDepth::Four,
            _ => png::BitDepth::Eight,
        });
        enc.set_palette(palette.iter().flat_map(|c| [c[0], c[1], c[2]]).collect::<Vec<u8>>());
        if let Some(last) = palette.iter().rposition(|c| c[3] != 255) {
            enc.set_trns(palette[..=last].iter().map(|c| c[3]).collect::<Vec<u8>>());
        }
        // Measured on the 304 fixture tiles: Fast + Sub 1.05 MB; Balanced + none 0.76 MB
        // at 1.4x the encoding time; Fast + none 1.70 MB.
        enc.set_compression(png::Compression::Fast);
        enc.set_filter(png::Filter::Sub);
        let ppm = (f64::from(dpi) / 0.0254).round() as u32;
        enc.set_pixel_dims(Some(png::PixelDimensions { xppu: ppm, yppu: ppm, unit: png::Unit::Meter }));
        let mut writer = enc.write_header().map_err(enc_err)?;
        let per_byte = 8 / bits;
        let stride = w.div_ceil(per_byte);
        // Pack the indices: as they are at 8 bits, else `per_byte` to a byte, leftmost
        // highest (the packing loop per depth, so that its divisions are by constants).
        fn pack<const BITS: usize>(data: &mut [u8], indices: &[u8], w: usize, stride: usize) {
            let per_byte = 8 / BITS;
            for (row, src) in data.chunks_exact_mut(stride).zip(indices.chunks_exact(w)) {
                for (byte, group) in row.iter_mut().zip(src.chunks(per_byte)) {
                    let mut b = 0u8;
                    for (k, &i) in group.iter().enumerate() {
                        b |= i << (8 - BITS * (k + 1));
                    }
                    *byte = b;
                }
            }
        }
        // At 8 bits the indices are the rows as they are (no copy).
        let packed;
        let data: &[u8] = match bits {
            8 => indices,
            _ => {
                let mut data = vec![0u8; stride * h];
                match bits {
                    1 => pack::<1>(&mut data, indices, w, stride),
                    2 => pack::<2>(&mut data, indices, w, stride),
                    _ => pack::<4>(&mut data, indices, w, stride),
                }
                packed = data;
                &packed
            }
        };
        writer.write_image_data(data).map_err(enc_err)?;
        writer.finish().map_err(enc_err)?;
    }
    Ok(out)
}

/// A progress bar on stderr for long work (items per second and time left), or None when
/// stderr is not a terminal (piped output stays quiet).
pub fn progress_bar(enabled: bool, len: usize, unit: &str) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if !enabled || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(len as u64);
    let template = format!("{{bar:40}} {{pos}}/{{len}} {unit} · {{per_sec}} · ETA {{eta}}");
    let style =
        indicatif::ProgressStyle::with_template(&template).unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    bar.set_style(style);
    Some(bar)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Colour type and pixels (straight RGBA) of a PNG, decoded by the png crate.
    fn decode_rgba(bytes: &[u8]) -> (png::ColorType, Vec<u8>) {
        let mut r = png::Decoder::new(std::io::Cursor::new(bytes)).read_info().expect("png");
        let mut buf = vec![0; r.output_buffer_size().expect("size")];
        let info = r.next_frame(&mut buf).expect("frame");
        let buf = &buf[..info.buffer_size()];
        let rgba = match info.color_type {
            png::ColorType::Rgb => buf.chunks_exact(3).flat_map(|p| [p[0], p[1], p[2], 255]).collect(),
            _ => buf.to_vec(),
        };
        (info.color_type, rgba)
    }

    /// [`choose_palette`] as it was first written (a search of the kept entries by their
    /// channel sums, one pass over the colours per added entry): the reference the
    /// vectorised passes must match exactly.
    /// The palette of a tile with these colours (by slot) and uses, or None when quantising
    /// it would cost more than [`QUANTISE_MIN_PSNR`] / [`QUANTISE_MAX_ERROR`] allow.
    fn choose_palette_reference(colours: &[u32], uses: &[u32], n: usize) -> Option<PaletteChoice> {
        // Slots by use, most used first (ties by colour, so the palette is deterministic).
        // One integer key per colour (use descending, then colour), unique as colours are.
        let mut by_use: Vec<(u64, u32)> = (0..colours.len())
            .map(|s| ((u64::from(u32::MAX - uses[s]) << 32) | u64::from(colours[s]), s as u32))
            .collect();
        by_use.sort_unstable_by_key(|e| e.0);
        let by_use: Vec<(u32, u32, u32)> =
            by_use.into_iter().map(|(_, s)| (colours[s as usize], uses[s as usize], s)).collect();
        let straight = |c: u32| {
            let [r, g, b, a] = c.to_le_bytes();
            let un = |v: u8| {
                if a == 0 || a == 255 {
                    v
                } else {
                    ((u16::from(v) * 255 + u16::from(a) / 2) / u16::from(a)).min(255) as u8
                }
            };
            [un(r), un(g), un(b), a]
        };
        // The most used colours first (the flat fills, kept exact), then, while room is left,
        // the colour farthest from every kept one (a small white dot must not vanish), then
        // every other colour to its nearest kept colour.
        let popular = if by_use.len() <= 256 { by_use.len() } else { 192 };
        let mut palette: Vec<[u8; 4]> = by_use[..popular].iter().map(|&(c, _, _)| straight(c)).collect();
        // Palette index per slot.
        let mut lut: Vec<u8> = vec![0; colours.len()];
        for (i, &(_, _, s)) in by_use[..popular].iter().enumerate() {
            lut[s as usize] = i as u8;
        }
        let rest: Vec<(u32, u32, [u8; 4])> = by_use[popular..].iter().map(|&(c, u, s)| (s, u, straight(c))).collect();
        let sq =
            |p: &[u8; 4], c: &[u8; 4]| -> u32 { p.iter().zip(c).map(|(&x, &y)| u32::from(x.abs_diff(y)).pow(2)).sum() };
        // The nearest palette entry of every other colour (the first of equals). The entries
        // are searched in order of their channel sum outwards from the colour's own: the
        // squared distance is at least a quarter of the squared difference of the sums
        // (Cauchy–Schwarz), so the search stops once that bound passes the best found.
        let sum = |c: &[u8; 4]| c.iter().map(|&v| i32::from(v)).sum::<i32>();
        let mut by_sum: Vec<(i32, u8)> = palette.iter().enumerate().map(|(i, p)| (sum(p), i as u8)).collect();
        by_sum.sort_unstable();
        let nearest_of = |c: &[u8; 4]| {
            let s = sum(c);
            let mid = by_sum.partition_point(|&(ps, _)| ps < s);
            let (mut best, mut at) = (u32::MAX, 0u8);
            let (mut lo, mut hi) = (mid, mid);
            loop {
                // The next candidate on each side and its bound; the nearer bound goes first.
                let below = lo.checked_sub(1).map(|j| ((s - by_sum[j].0).pow(2) as u32, j));
                let above = by_sum.get(hi).map(|&(ps, _)| ((ps - s).pow(2) as u32, hi));
                let next = match (below, above) {
                    (Some(b), Some(a)) => Some(if b.0 <= a.0 { (b, true) } else { (a, false) }),
                    (Some(b), None) => Some((b, true)),
                    (None, Some(a)) => Some((a, false)),
                    (None, None) => None,
                };
                let Some(((bound, j), down)) = next else { break };
                // Every entry left is at least `bound / 4` away: none can be nearer than the best.
                if bound > best.saturating_mul(4) {
                    break;
                }
                let i = by_sum[j].1;
                let d = sq(&palette[i as usize], c);
                if d < best || (d == best && i < at) {
                    best = d;
                    at = i;
                }
                if down {
                    lo -= 1;
                } else {
                    hi += 1;
                }
            }
            (best, at)
        };
        // Distances as f32 and indices as 32-bit words, so that the passes below vectorise
        // with x86-64's baseline (SSE2 has 4-lane f32 multiply, min and max, but no 32-bit
        // integer multiply, min or max). Squared distances are integers below 2^18, exact in
        // f32, so every comparison is the integer one.
        let (mut dist, mut idx): (Vec<f32>, Vec<u32>) =
            rest.iter().map(|r| nearest_of(&r.2)).map(|(d, i)| (d as f32, u32::from(i))).unzip();
        // The other colours' channels apart (structure of arrays).
        let rc: [Vec<f32>; 4] = std::array::from_fn(|k| rest.iter().map(|r| f32::from(r.2[k])).collect());
        // The farthest colour from every kept one is the last of the colours at the largest
        // distance. The largest is taken over the distances' bits as i32 (they order as the
        // non-negative floats do, and an integer max reduction vectorises where a float one
        // does not).
        let largest = |dist: &[f32]| f32::from_bits(dist.iter().map(|d| d.to_bits() as i32).max().unwrap_or(0) as u32);
        let mut most = largest(&dist);
        while palette.len() < 256 && most > 0.0 {
            let Some(f_at) = dist.iter().rposition(|&d| d == most) else { break };
            let i = palette.len() as u32;
            let f = rest[f_at].2.map(f32::from);
            palette.push(rest[f_at].2);
            let len = dist.len();
            let (d, x) = (&mut dist[..len], &mut idx[..len]);
            let (r, g, b, a) = (&rc[0][..len], &rc[1][..len], &rc[2][..len], &rc[3][..len]);
            for j in 0..len {
                let (dr, dg, db, da) = (r[j] - f[0], g[j] - f[1], b[j] - f[2], a[j] - f[3]);
                let e = dr * dr + dg * dg + db * db + da * da;
                // Selects, not branches, so that the loop vectorises.
                let closer = e < d[j];
                x[j] = if closer { i } else { x[j] };
                d[j] = if closer { e } else { d[j] };
            }
            most = largest(&dist);
        }
        let mut squared_error = 0u64;
        let mut worst = 0u32;
        for (j, r) in rest.iter().enumerate() {
            // Exact: an integer below 2^18.
            let dj = dist[j] as u32;
            squared_error += u64::from(dj) * u64::from(r.1);
            worst = worst.max(dj);
            // Below 256: the palette never grows past it.
            lut[r.0 as usize] = idx[j] as u8;
        }
        let kind = if rest.is_empty() {
            TileEncoding::Indexed
        } else if psnr(squared_error, n * 4) >= QUANTISE_MIN_PSNR && worst <= QUANTISE_MAX_ERROR.pow(2) {
            TileEncoding::Quantised
        } else {
            return None;
        };
        Some(PaletteChoice { palette, lut, kind })
    }

    /// Random colours (premultiplied, unique) and uses; `levels` channel values make
    /// ties in distance common.
    fn random_colours(seed: u64, count: usize, levels: u32, translucent: bool) -> (Vec<u32>, Vec<u32>) {
        assert!(translucent || (levels as usize).pow(3) >= count, "{count} opaque colours of {levels} levels");
        let mut s = seed | 1;
        let mut next = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        let mut seen = std::collections::HashSet::new();
        let (mut colours, mut uses) = (Vec::new(), Vec::new());
        while colours.len() < count {
            let a = if translucent && next() % 3 == 0 { (next() % 256) as u32 } else { 255 };
            let ch = |v: u64| ((v % u64::from(levels)) as u32 * 255 / (levels - 1).max(1)) * a / 255;
            let c = ch(next()) | (ch(next()) << 8) | (ch(next()) << 16) | (a << 24);
            if seen.insert(c) {
                colours.push(c);
                // Few distinct uses: ties in the order by use too.
                uses.push(1 + (next() % 7) as u32 * (1 + (next() % 40) as u32));
            }
        }
        (colours, uses)
    }

    /// Opaque colours (unique): `centres` random colours, the most used, and colours around
    /// them, each channel within `spread` of its centre, as anti-aliased edges between flat
    /// fills are: tiles that quantise within the limits.
    fn clustered_colours(seed: u64, count: usize, centres: usize, spread: u32) -> (Vec<u32>, Vec<u32>) {
        let (base, _) = random_colours(seed, centres, 256, false);
        let (jitter, uses) = random_colours(seed + 1, count, 2 * spread + 1, false);
        let mut seen = std::collections::HashSet::new();
        let (mut colours, mut kept_uses) = (Vec::new(), Vec::new());
        for (k, (j, u)) in jitter.iter().zip(uses).enumerate() {
            let b = base[k % centres].to_le_bytes();
            let d = j.to_le_bytes();
            // The jitter's channels are 0..=255 scaled from 0..=2·spread: back to ±spread.
            let ch = |i: usize| {
                // The first of each centre's colours is the centre itself.
                let off = if k < centres { 0 } else { i32::from(d[i]) * (2 * spread as i32) / 255 - spread as i32 };
                (i32::from(b[i]) + off).clamp(0, 255) as u32
            };
            let c = ch(0) | (ch(1) << 8) | (ch(2) << 16) | (255 << 24);
            if seen.insert(c) {
                colours.push(c);
                // The centres themselves are the most used (the flat fills).
                kept_uses.push(if k < centres { 10_000 } else { u });
            }
        }
        (colours, kept_uses)
    }

    #[test]
    fn the_vectorised_palette_search_equals_the_reference_exactly() {
        let mut quantised = 0;
        // (seed, (colours, uses)) of each case.
        let mut cases = Vec::new();
        for seed in 0..4u64 {
            for (count, centres, spread) in [(1000, 150, 6), (3000, 180, 10), (600, 100, 4), (2500, 192, 12)] {
                cases.push((seed, clustered_colours(seed * 31 + count as u64, count, centres, spread)));
            }
        }
        for (case, (seed, (colours, uses))) in cases.into_iter().enumerate() {
            let n: usize = uses.iter().map(|&u| u as usize).sum();
            let new = choose_palette(&colours, &uses, n).expect("a clustered tile quantises");
            let old = choose_palette_reference(&colours, &uses, n).expect("a clustered tile quantises");
            assert_eq!(new.palette, old.palette, "clustered case {case} seed {seed}");
            assert_eq!(new.lut, old.lut, "clustered case {case} seed {seed}");
            assert_eq!(new.kind, old.kind, "clustered case {case} seed {seed}");
            quantised += usize::from(new.kind == TileEncoding::Quantised);
        }
        assert!(quantised >= 12, "the quantised path was taken {quantised} times");
        for (case, &(count, levels, translucent)) in [
            (300, 256, false),
            (257, 7, false),
            (1200, 16, false),
            (3000, 256, false),
            (2000, 9, true),
            (700, 256, true),
            (5000, 32, false),
            (400, 4, true),
            (256, 256, false),
            (100, 256, true),
        ]
        .iter()
        .enumerate()
        {
            for seed in 0..4u64 {
                let (colours, uses) = random_colours(seed * 1000 + case as u64 + 7, count, levels, translucent);
                let n: usize = uses.iter().map(|&u| u as usize).sum();
                // The PSNR and error limits turn most random tiles down: also compare with a
                // pixel count that lets them through (their search is what is checked).
                for n in [n, n * 1_000_000] {
                    let new = choose_palette(&colours, &uses, n);
                    let old = choose_palette_reference(&colours, &uses, n);
                    match (new, old) {
                        (None, None) => {}
                        (Some(a), Some(b)) => {
                            assert_eq!(a.palette, b.palette, "case {case} seed {seed}");
                            assert_eq!(a.lut, b.lut, "case {case} seed {seed}");
                            assert_eq!(a.kind, b.kind, "case {case} seed {seed}");
                        }
                        (a, b) => panic!("case {case} seed {seed}: {:?} vs {:?}", a.is_some(), b.is_some()),
                    }
                }
            }
        }
    }

    #[test]
    fn a_tile_encoded_from_its_counted_colours_equals_the_whole_encoder() {
        // Tiles of clustered colours (quantised), of few colours (indexed) and of random
        // ones (truecolour), changed box by box over several steps; the changed boxes
        // hold new colours, colours already there, and pixels left as they were.
        let mut kinds = std::collections::HashSet::new();
        for (seed, (palette, _)) in [
            (1u64, clustered_colours(11, 3000, 180, 10)),
            (2, random_colours(12, 40, 256, true)),
            (3, random_colours(13, 9000, 256, false)),
            (4, clustered_colours(14, 800, 120, 5)),
        ] {
            let mut s = seed;
            let mut next = move || {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                s
            };
            let mut px = tiny_skia::Pixmap::new(256, 256).expect("pixmap");
            let paint = |px: &mut tiny_skia::Pixmap, b: [usize; 4], next: &mut dyn FnMut() -> u64| {
                let run = 1 + (next() % 9) as usize;
                let mut c = palette[(next() % palette.len() as u64) as usize];
                for y in b[1]..b[3] {
                    for x in b[0]..b[2] {
                        if (x + y) % run == 0 {
                            c = palette[(next() % palette.len() as u64) as usize];
                        }
                        let k = (y * 256 + x) * 4;
                        px.data_mut()[k..k + 4].copy_from_slice(&c.to_le_bytes());
                    }
                }
            };
            paint(&mut px, [0, 0, 256, 256], &mut next);
            let mut counted = TileColours::default();
            counted.update(&px, None);
            for step in 0..6 {
                let mut boxes = Vec::new();
                for _ in 0..step * 3 {
                    let (x0, y0) = ((next() % 250) as usize, (next() % 250) as usize);
                    let b = [
                        x0,
                        y0,
                        (x0 + 1 + (next() % 60) as usize).min(256),
                        (y0 + 1 + (next() % 40) as usize).min(256),
                    ];
                    paint(&mut px, b, &mut next);
                    boxes.push(b);
                }
                counted.update(&px, Some(&boxes));
                let (whole, kind) = encode_tile_png(&px, 96.0).expect("encodes");
                let (from_counts, kind_counted) = encode_counted_tile_png(&px, 96.0, &counted).expect("encodes");
                assert_eq!(kind, kind_counted, "seed {seed} step {step}");
                assert!(whole == from_counts, "seed {seed} step {step}: the bytes differ");
                kinds.insert(format!("{kind:?}"));
            }
        }
        assert_eq!(kinds.len(), 3, "every encoding was met: {kinds:?}");
    }

    #[test]
    fn the_baseline_and_avx2_searches_agree() {
        // Translucent random colours, clustered opaque ones, and counts that leave partial
        // blocks and chunks.
        let mut cases: Vec<Vec<u32>> = Vec::new();
        for (seed, count, levels) in [(99u64, 1500, 12), (5, 193, 256), (6, 260, 3), (7, 4000, 40)] {
            cases.push(random_colours(seed, count, levels, true).0);
        }
        for seed in 0..3u64 {
            cases.push(clustered_colours(seed + 40, 2000 + seed as usize * 333, 170, 9).0);
        }
        for colours in cases {
            let px = |c: u32| c.to_le_bytes();
            let (kept, rest) = colours.split_at(192);
            let kept: Vec<[u8; 4]> = kept.iter().map(|&c| px(c)).collect();
            let rest: Vec<[u8; 4]> = rest.iter().map(|&c| px(c)).collect();
            let (mut p1, mut p2) = (kept.clone(), kept.clone());
            let ranks: Vec<u64> = (0..rest.len() as u64).collect();
            let baseline = quantise::complete_in::<false>(&mut p1, &rest, &ranks);
            assert_eq!(baseline, quantise::complete(&mut p2, &rest, &ranks));
            assert_eq!(p1, p2);
            // Against a plain search of every entry (the first of equals) once the palette
            // is complete.
            for (j, c) in rest.iter().enumerate() {
                let d = |p: &[u8; 4]| -> u32 { p.iter().zip(c).map(|(&x, &y)| u32::from(x.abs_diff(y)).pow(2)).sum() };
                let (i, best) = p1.iter().enumerate().map(|(i, p)| (i, d(p))).min_by_key(|&(i, d)| (d, i)).unwrap();
                assert_eq!((baseline.0[j], baseline.1[j]), (best, i as u32), "colour {j}");
            }
        }
    }
    #[test]
    fn the_rgb_bytes_of_a_row_are_its_pixels_without_alpha_at_every_length() {
        for n in [0usize, 1, 2, 3, 4, 5, 7, 8, 9, 31, 2001] {
            let pixels: Vec<[u8; 4]> = (0..n).map(|i| [i as u8, (i * 7) as u8, (i * 13 + 5) as u8, 255]).collect();
            let mut rgb = vec![0xAB; n * 3 + 16];
            rgb_of(&mut rgb, &pixels);
            let want: Vec<u8> = pixels.iter().flat_map(|p| [p[0], p[1], p[2]]).collect();
            assert_eq!(&rgb[..n * 3], &want[..], "{n} pixels");
        }
    }

    #[test]
    fn opaque_images_are_rgb_and_a_late_translucent_pixel_makes_rgba() {
        let mut pm = new_pixmap(37, 23, tiny_skia::Color::from_rgba8(10, 120, 230, 255)).expect("pixmap");
        let (kind, px) = decode_rgba(&encode_png(&pm, 96.0).expect("png"));
        assert_eq!(kind, png::ColorType::Rgb);
        assert!(px.chunks_exact(4).all(|p| p == [10, 120, 230, 255]));
        // The last row's last pixel: half-transparent red, premultiplied.
        let n = pm.data().len();
        pm.data_mut()[n - 4..].copy_from_slice(&[100, 0, 0, 128]);
        let (kind, px) = decode_rgba(&encode_png(&pm, 96.0).expect("png"));
        assert_eq!(kind, png::ColorType::Rgba);
        assert_eq!(&px[n - 4..], &[199, 0, 0, 128]);
        assert_eq!(&px[..4], &[10, 120, 230, 255]);
    }

    #[test]
    fn crop_equals_tiny_skias_clone_rect() {
        let mut pm = tiny_skia::Pixmap::new(13, 9).expect("pixmap");
        for (i, b) in pm.data_mut().iter_mut().enumerate() {
            *b = (i * 7 % 251) as u8;
        }
        let ours = crop_pixmap(&pm, 3, 2, 8, 6).expect("inside");
        let theirs = pm.clone_rect(tiny_skia::IntRect::from_xywh(3, 2, 8, 6).expect("rect")).expect("inside");
        assert_eq!((ours.width(), ours.height()), (8, 6));
        assert_eq!(ours.data(), theirs.data());
        assert!(crop_pixmap(&pm, 6, 0, 8, 6).is_none());
        assert!(crop_pixmap(&pm, 0, 4, 8, 6).is_none());
        assert!(crop_pixmap(&pm, 0, 0, 0, 6).is_none());
    }

    #[test]
    fn temp_names_are_ours_only_in_our_pattern() {
        assert_eq!(temp_pid(".1723.png.tmp4242"), Some(4242));
        assert_eq!(temp_pid(".animation.gif.tmp7"), Some(7));
        assert_eq!(temp_pid("1723.png.tmp4242"), None);
        assert_eq!(temp_pid(".1723.png.tmp"), None);
        assert_eq!(temp_pid(".tmp12"), None);
        assert_eq!(temp_pid(".notes.tmpx12"), None);
    }

    #[test]
    fn stale_temps_of_dead_runs_go_and_live_ones_stay() {
        let dir = tempfile::tempdir().expect("temp dir");
        // PIDs above the kernel's limit (2^22) are never alive.
        let dead = dir.path().join(".1723.png.tmp4294967");
        let mine = dir.path().join(format!(".1724.png.tmp{}", std::process::id()));
        let other = dir.path().join("notes.tmp12");
        for p in [&dead, &mine, &other] {
            std::fs::write(p, b"x").expect("write");
        }
        // A tile folder a killed run was building, and one of a live run.
        let dead_dir = dir.path().join(".1700.tmp4294968");
        let live_dir = dir.path().join(format!(".1701.tmp{}", std::process::id()));
        for d in [&dead_dir, &live_dir] {
            std::fs::create_dir_all(d.join("3/5")).expect("mkdir");
            std::fs::write(d.join("3/5/2.png"), b"x").expect("write");
        }
        assert_eq!(clean_stale_temps(dir.path()), 2);
        assert!(!dead.exists() && mine.exists() && other.exists());
        assert!(!dead_dir.exists() && live_dir.join("3/5/2.png").exists());
    }

    #[test]
    fn printable_escapes_controls() {
        assert_eq!(printable("turkistan"), "turkistan");
        assert_eq!(printable("evil\u{1b}[31mred\nx"), "evil\\u{1b}[31mred\\u{a}x");
        assert_eq!(printable("a\u{202e}b"), "a\\u{202e}b");
        assert_eq!(printable("Қазақ"), "Қазақ");
    }

    #[test]
    fn json_stays_json_and_loses_raw_controls() {
        let v = serde_json::json!({"id": "a\u{1b}b\u{7f}c\u{85}d\u{202e}e\nf"});
        let text = json_safe(serde_json::to_string_pretty(&v).expect("json"));
        assert!(!text.chars().any(|c| c.is_control() && c != '\n'), "{text:?}");
        let back: serde_json::Value = serde_json::from_str(&text).expect("still JSON");
        assert_eq!(back, v);
    }
}
