//! Where rendered tiles go: a folder of `{z}/{x}/{y}.png`, an MBTiles file (SQLite, TMS
//! rows, identical tiles stored once) or a PMTiles v3 archive, plus TileJSON.
//!
//! The image format (PNG or WebP) is read from the tiles' own bytes ([`image_format`]):
//! it gives the XYZ file extension, MBTiles `format` and the PMTiles tile type.

use super::grid::TileId;
use crate::error::{Error, Result};
use crate::imageformat::ImageFormat;
use std::collections::HashSet;
use std::path::Path;

/// A rendered tile: its id and PNG bytes (shared when identical).
pub type Tile = (TileId, std::sync::Arc<Vec<u8>>);

/// The image format of a pyramid's tiles, from the first tile's signature (PNG when there
/// is none or it is not WebP): every tile of a run is encoded alike.
pub fn image_format(tiles: &[Tile]) -> ImageFormat {
    tiles.first().and_then(|(_, b)| ImageFormat::sniff(b)).unwrap_or_default()
}

/// What a pyramid covers, for metadata.
#[derive(Clone, Debug)]
pub struct PyramidInfo {
    /// Name (e.g. the atlas title and year).
    pub name: String,
    /// Attribution line.
    pub attribution: String,
    /// `[west, south, east, north]`.
    pub bounds: [f64; 4],
    /// Zoom range.
    pub zooms: (u8, u8),
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| Error::Io { path: path.to_path_buf(), source: e }
}

fn sql(path: &Path) -> impl Fn(rusqlite::Error) -> Error + '_ {
    move |e| Error::Encode(format!("{}: {e}", path.display()))
}

/// Where each distinct PNG of a run was first written, by a hash of its bytes.
#[derive(Default)]
pub struct Written(std::sync::Mutex<std::collections::HashMap<u128, std::path::PathBuf>>);

/// The content hashes of tiles already hashed in this process, by the address of their
/// shared buffer. A run hands the same tiles (the same `Arc`s) to the archive of every
/// year, and each distinct tile is hashed once instead of once a year. Each entry holds a
/// `Weak` of its tile, which keeps the address from being reused while the entry exists;
/// entries whose tile is gone are dropped as the memo grows. A tile's bytes are never
/// changed in place (nothing takes `Arc::get_mut` of a tile), so an address keeps its hash.
struct HashMemo {
    hash: fn(&[u8]) -> u128,
    memo: std::sync::Mutex<Option<(Memo, usize)>>,
}

/// Hashes by tile address, and how many entries were live when it was last pruned.
type Memo = std::collections::HashMap<usize, (std::sync::Weak<Vec<u8>>, u128)>;

impl HashMemo {
    const fn new(hash: fn(&[u8]) -> u128) -> HashMemo {
        HashMemo { hash, memo: std::sync::Mutex::new(None) }
    }

    /// The hash of every tile's bytes, in order (each distinct buffer hashed once a process).
    fn of(&self, tiles: &[&Tile]) -> Vec<u128> {
        use std::sync::Arc;
        let Ok(mut guard) = self.memo.lock() else {
            return tiles.iter().map(|(_, png)| (self.hash)(png)).collect();
        };
        let (memo, live) = guard.get_or_insert_with(Default::default);
        // Drop the entries of tiles no longer held, once the memo has doubled since the last time.
        if memo.len() > 4096 && memo.len() > 2 * *live {
            memo.retain(|_, (tile, _)| tile.strong_count() > 0);
            *live = memo.len();
        }
        tiles
            .iter()
            .map(|(_, png)| {
                let at = Arc::as_ptr(png) as usize;
                match memo.get(&at) {
                    // The address is this tile's while the entry's `Weak` lives.
                    Some((_, h)) => *h,
                    None => {
                        let h = (self.hash)(png);
                        memo.insert(at, (Arc::downgrade(png), h));
                        h
                    }
                }
            })
            .collect()
    }
}

/// PMTiles content keys (the 128-bit XXH3 the `pmtiles` writer itself uses), the XYZ
/// folder's, and MBTiles image ids, of tiles hashed before.
static XXH3_KEYS: HashMemo = HashMemo::new(twox_hash::XxHash3_128::oneshot);

/// Write tiles as `{dir}/{z}/{x}/{y}{suffix}.png` (`.webp` for WebP tiles). With `written`, a tile whose bytes were
/// written before in this run (another year, another place) is hard-linked to that file
/// instead of written again (or written, where the file system cannot link).
///
/// A `dir` that does not exist yet is built whole in a hidden temporary folder beside it
/// (`.{name}.tmp{pid}`, files under their own names) and renamed into place at the end:
/// no half-written tile is ever visible, and each tile costs one file creation instead of
/// a temporary file, a check and a rename. A `dir` that exists is updated file by file,
/// each through a temporary file and a rename, and a file that already holds a tile's
/// bytes is left as it is.
pub fn write_xyz(dir: &Path, tiles: &[Tile], suffix: &str, written: Option<&Written>) -> Result<()> {
    let fresh = matches!(std::fs::symlink_metadata(dir), Err(e) if e.kind() == std::io::ErrorKind::NotFound);
    if fresh && !tiles.is_empty() && write_xyz_fresh(dir, tiles, suffix, written)? {
        return Ok(());
    }
    write_xyz_in_place(dir, tiles, suffix, written)
}

/// A temporary folder removed with everything in it when dropped, unless kept.
struct TempFolder(Option<std::path::PathBuf>);

impl Drop for TempFolder {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            std::fs::remove_dir_all(path).ok();
        }
    }
}

/// [`write_xyz`] into a folder that does not exist yet: built in a temporary folder and
/// renamed into place. Returns false (having written nothing) when the folder appeared
/// meanwhile (another run), so that the caller updates it file by file.
fn write_xyz_fresh(dir: &Path, tiles: &[Tile], suffix: &str, written: Option<&Written>) -> Result<bool> {
    use rayon::prelude::*;
    let ext = image_format(tiles).ext();
    let parent = dir.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let Some(name) = dir.file_name().map(|n| n.to_string_lossy().into_owned()) else { return Ok(false) };
    // Creates the parent and removes temporary files and folders that killed runs left.
    crate::output::prepare_dir_once(parent).map_err(io(parent))?;
    let tmp = parent.join(format!(".{name}.tmp{}", std::process::id()));
    // One of ours from an earlier call that failed; nothing else uses this name.
    std::fs::remove_dir_all(&tmp).ok();
    std::fs::create_dir(&tmp).map_err(io(&tmp))?;
    let mut guard = TempFolder(Some(tmp.clone()));
    let columns: std::collections::BTreeSet<(u8, u32)> = tiles.iter().map(|(t, _)| (t.z, t.x)).collect();
    let mut zooms: HashSet<u8> = HashSet::new();
    for &(z, x) in &columns {
        if zooms.insert(z) {
            let zdir = tmp.join(z.to_string());
            std::fs::create_dir(&zdir).map_err(io(&zdir))?;
        }
        let xdir = tmp.join(format!("{z}/{x}"));
        std::fs::create_dir(&xdir).map_err(io(&xdir))?;
    }
    let rel = |t: &TileId| format!("{}/{}/{}{suffix}.{ext}", t.z, t.x, t.y);
    let write = |path: &Path, bytes: &[u8]| std::fs::write(path, bytes).map_err(io(path));
    // Without `written`, every tile is its own file.
    let Some(written) = written else {
        tiles.par_iter().try_for_each(|(t, png)| write(&tmp.join(rel(t)), png))?;
        return finish_fresh(dir, &mut guard);
    };
    // Each distinct image is written once (or linked to its file from an earlier call);
    // the other tiles with the same bytes are linked to it.
    let hashes: Vec<u128> = XXH3_KEYS.of(&tiles.iter().collect::<Vec<_>>());
    let mut first_of: std::collections::HashMap<u128, usize> = std::collections::HashMap::new();
    let same_as: Vec<Option<usize>> = hashes
        .iter()
        .enumerate()
        .map(|(i, h)| match first_of.entry(*h) {
            std::collections::hash_map::Entry::Occupied(e) => Some(*e.get()),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(i);
                None
            }
        })
        .collect();
    let earlier: std::collections::HashMap<u128, std::path::PathBuf> = {
        let known = written.0.lock().expect("lock");
        first_of.keys().filter_map(|h| known.get(h).map(|p| (*h, p.clone()))).collect()
    };
    // Whether each first tile was written here (rather than linked to an earlier file).
    let own: Vec<bool> = (0..tiles.len())
        .into_par_iter()
        .map(|i| {
            if same_as[i].is_some() {
                return Ok(false);
            }
            let path = tmp.join(rel(&tiles[i].0));
            if earlier.get(&hashes[i]).is_some_and(|from| std::fs::hard_link(from, &path).is_ok()) {
                return Ok(false);
            }
            write(&path, &tiles[i].1).map(|_| true)
        })
        .collect::<Result<_>>()?;
    (0..tiles.len()).into_par_iter().try_for_each(|i| {
        let Some(j) = same_as[i] else { return Ok(()) };
        let path = tmp.join(rel(&tiles[i].0));
        if std::fs::hard_link(tmp.join(rel(&tiles[j].0)), &path).is_ok() {
            return Ok(());
        }
        write(&path, &tiles[i].1)
    })?;
    if !finish_fresh(dir, &mut guard)? {
        return Ok(false);
    }
    let mut known = written.0.lock().expect("lock");
    for (i, (t, _)) in tiles.iter().enumerate() {
        if own[i] {
            known.entry(hashes[i]).or_insert_with(|| dir.join(rel(t)));
        }
    }
    Ok(true)
}

/// Rename a finished temporary folder into place; false when `dir` appeared meanwhile
/// (the temporary folder is then removed).
fn finish_fresh(dir: &Path, guard: &mut TempFolder) -> Result<bool> {
    let Some(tmp) = guard.0.as_ref() else { return Ok(false) };
    match std::fs::rename(tmp, dir) {
        Ok(()) => {
            guard.0 = None;
            Ok(true)
        }
        Err(_) if std::fs::symlink_metadata(dir).is_ok() => Ok(false),
        Err(e) => Err(io(dir)(e)),
    }
}

/// Does the regular file at `path` (or the one a symlink there points to) hold exactly
/// `bytes`? A file with the right size is read and compared.
fn holds(path: &Path, bytes: &[u8]) -> bool {
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() && m.len() == bytes.len() as u64 => std::fs::read(path).is_ok_and(|b| b == bytes),
        _ => false,
    }
}

/// [`write_xyz`] into a folder that exists: a tile whose file already holds its bytes (an
/// earlier run of the same map) is left as it is, untouched (its time stamp too, which
/// spares syncing tools and caches); any other through a temporary file and a rename,
/// or a hard link. Files are only ever replaced, never written into, so a file that
/// another path shares through a hard link is never changed under it.
fn write_xyz_in_place(dir: &Path, tiles: &[Tile], suffix: &str, written: Option<&Written>) -> Result<()> {
    use rayon::prelude::*;
    let ext = image_format(tiles).ext();
    tiles.par_iter().try_for_each(|(t, png)| {
        let rel = format!("{}/{}/{}{suffix}.{ext}", t.z, t.x, t.y);
        let path = dir.join(&rel);
        let unchanged = holds(&path, png);
        let Some(written) = written else {
            return if unchanged { Ok(()) } else { crate::output::write_atomic(&path, png) };
        };
        let hash = twox_hash::XxHash3_128::oneshot(png);
        if unchanged {
            written.0.lock().expect("lock").entry(hash).or_insert(path);
            return Ok(());
        }
        let from = written.0.lock().expect("lock").get(&hash).cloned();
        if let Some(from) = from {
            if from == path {
                return Ok(());
            }
            if let Some(parent) = path.parent() {
                crate::output::prepare_dir_once(parent).map_err(io(parent))?;
            }
            // A file already there (an earlier run) is replaced by the link.
            let linked = std::fs::hard_link(&from, &path).is_ok()
                || (std::fs::remove_file(&path).is_ok() && std::fs::hard_link(&from, &path).is_ok());
            if linked {
                return Ok(());
            }
        }
        crate::output::write_atomic(&path, png)?;
        written.0.lock().expect("lock").entry(hash).or_insert(path);
        Ok(())
    })
}

/// The metadata rows of an MBTiles 1.3 file for a pyramid, in the order written.
pub fn mbtiles_metadata(info: &PyramidInfo) -> Vec<(String, String)> {
    let b = info.bounds;
    let centre = ((b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0);
    [
        ("name", info.name.clone()),
        ("format", "png".to_string()),
        ("type", "baselayer".to_string()),
        ("version", "1.3".to_string()),
        ("description", info.name.clone()),
        ("attribution", info.attribution.clone()),
        ("bounds", format!("{:.6},{:.6},{:.6},{:.6}", b[0], b[1], b[2], b[3])),
        ("center", format!("{:.6},{:.6},{}", centre.0, centre.1, info.zooms.0.max(info.zooms.1.min(4)))),
        ("minzoom", info.zooms.0.to_string()),
        ("maxzoom", info.zooms.1.to_string()),
        ("scheme", "tms".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// The metadata rows of an MBTiles file of these tiles.
fn mbtiles_metadata_of(tiles: &[Tile], info: &PyramidInfo) -> Vec<(String, String)> {
    let mut meta = mbtiles_metadata(info);
    let ext = image_format(tiles).ext();
    for (k, v) in &mut meta {
        if k == "format" {
            *v = ext.to_string();
        }
    }
    meta
}

/// Write the MBTiles 1.3 files of several years with the same tiles (a map state's
/// years): rows in TMS order, each distinct image stored once, each file the bytes
/// [`write_mbtiles_rows`] writes for its year. The database is built once; a later
/// year whose metadata differs only in values of the same length (its name, `… 1701`
/// for `… 1700`) takes the first year's bytes with those values replaced, which are the
/// bytes SQLite would write for it (a value's length, not its text, decides where
/// everything lies).
pub fn write_mbtiles_years(years: &[(std::path::PathBuf, PyramidInfo)], tiles: &[Tile]) -> Result<()> {
    let Some(((first_path, first_info), rest)) = years.split_first() else { return Ok(()) };
    let first_meta = mbtiles_metadata_of(tiles, first_info);
    with_mbtiles_bytes(first_path, tiles, &first_meta, |first| {
        write_bytes(first_path, first)?;
        for (path, info) in rest {
            let meta = mbtiles_metadata_of(tiles, info);
            match renamed(first, &first_meta, &meta) {
                // The first year's bytes with its metadata page replaced (not copied whole).
                Some((page, rows)) => write_parts(path, &[&first[..page], &rows, &first[page + rows.len()..]])?,
                None => write_mbtiles_rows(path, tiles, &meta)?,
            }
        }
        Ok(())
    })
}

/// What of the bytes of an MBTiles database built with metadata `was` changes to make
/// them those of the same database built with `now`: the metadata rows' page (the table's
/// root page, the file's second), as its offset and new bytes. None unless the two differ
/// only in values of the same length, each found exactly in that page and nowhere else
/// in the metadata.
fn renamed(bytes: &[u8], was: &[(String, String)], now: &[(String, String)]) -> Option<(usize, Vec<u8>)> {
    if was.len() != now.len() || was.iter().zip(now).any(|(a, b)| a.0 != b.0 || a.1.len() != b.1.len()) {
        return None;
    }
    let page = match u16::from_be_bytes([*bytes.get(16)?, *bytes.get(17)?]) {
        1 => 65536,
        n => usize::from(n),
    };
    let mut rows = bytes.get(page..2 * page)?.to_vec();
    let changed: Vec<(&str, &str)> =
        was.iter().zip(now).filter(|(a, b)| a.1 != b.1).map(|(a, b)| (a.1.as_str(), b.1.as_str())).collect();
    let mut done: Vec<&str> = Vec::new();
    for (old, new) in &changed {
        if done.contains(old) {
            continue;
        }
        done.push(old);
        // One old text, one new one (the name and the description are both the name).
        if old.is_empty() || changed.iter().any(|(o, n)| o == old && n != new) {
            return None;
        }
        let values = changed.iter().filter(|(o, _)| o == old).count();
        // Nothing else in the metadata may hold the old text.
        let elsewhere = was.iter().any(|(k, v)| k.contains(old) || (v != old && v.contains(old)));
        let at: Vec<usize> =
            (0..rows.len().saturating_sub(old.len()) + 1).filter(|&i| rows[i..].starts_with(old.as_bytes())).collect();
        if elsewhere || at.len() != values || at.windows(2).any(|w| w[1] - w[0] < old.len()) {
            return None;
        }
        for i in at {
            rows[i..i + new.len()].copy_from_slice(new.as_bytes());
        }
    }
    Some((page, rows))
}

/// Write a file's bytes whole, through a temporary file.
fn write_bytes(path: &Path, bytes: &[u8]) -> Result<()> {
    write_parts(path, &[bytes])
}

/// Write a file made of `parts` one after another, through a temporary file.
fn write_parts(path: &Path, parts: &[&[u8]]) -> Result<()> {
    let mut out = crate::output::AtomicFile::create(path)?;
    let mut file = out.file()?;
    for part in parts {
        std::io::Write::write_all(&mut file, part).map_err(io(path))?;
    }
    drop(file);
    out.commit()
}

/// Write an MBTiles file with these metadata rows. Tiles are stored in (z, x, y) order
/// whatever their order in `tiles`, so the same tiles always give the same bytes (a merge
/// of shards equals a single run).
pub fn write_mbtiles_rows(path: &Path, tiles: &[Tile], meta: &[(String, String)]) -> Result<()> {
    with_mbtiles_bytes(path, tiles, meta, |bytes| write_bytes(path, bytes))
}

/// The bytes of an empty MBTiles database (its tables, indexes and view), built once a
/// process: each archive starts from a copy of them rather than from its schema's text.
static MBTILES_SCHEMA: std::sync::OnceLock<std::result::Result<Vec<u8>, String>> = std::sync::OnceLock::new();

fn empty_mbtiles() -> rusqlite::Result<Vec<u8>> {
    let mut db = rusqlite::Connection::open_in_memory()?;
    db.execute_batch(
        "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;
         CREATE TABLE metadata (name TEXT, value TEXT);
         CREATE TABLE map (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_id TEXT);
         CREATE TABLE images (tile_data BLOB, tile_id TEXT);
         CREATE UNIQUE INDEX name ON metadata (name);
         CREATE UNIQUE INDEX map_index ON map (zoom_level, tile_column, tile_row);
         CREATE UNIQUE INDEX images_id ON images (tile_id);
         CREATE VIEW tiles AS SELECT map.zoom_level AS zoom_level, map.tile_column AS tile_column,
             map.tile_row AS tile_row, images.tile_data AS tile_data
             FROM map JOIN images ON images.tile_id = map.tile_id;",
    )?;
    let bytes = db.serialize(rusqlite::MAIN_DB)?.to_vec();
    Ok(bytes)
}

/// Open the database of bytes `schema` as `db`'s main database, in memory, with `room`
/// bytes for it to grow into: SQLite grows a database in memory by reallocating it at
/// twice its size, and a year's archive was copied whole six times as it grew (136 M
/// instructions for the 60 archives of a century at z0-6). It grows past `room` the same
/// way.
fn open_with_room(db: &mut rusqlite::Connection, schema: &[u8], room: usize) -> rusqlite::Result<()> {
    use rusqlite::ffi;
    let room = room.max(schema.len());
    let failed = |rc| rusqlite::Error::SqliteFailure(ffi::Error::new(rc), None);
    // SAFETY: the buffer is SQLite's own (sqlite3_malloc64), `room` bytes long, and the
    // schema's bytes are copied to its start; SQLite frees it when the connection closes or
    // when deserializing fails (FREEONCLOSE), and may grow it (RESIZEABLE).
    unsafe {
        let buf = ffi::sqlite3_malloc64(room as u64).cast::<u8>();
        if buf.is_null() {
            return Err(failed(ffi::SQLITE_NOMEM));
        }
        std::ptr::copy_nonoverlapping(schema.as_ptr(), buf, schema.len());
        let flags = ffi::SQLITE_DESERIALIZE_FREEONCLOSE | ffi::SQLITE_DESERIALIZE_RESIZEABLE;
        let rc = ffi::sqlite3_deserialize(db.handle(), c"main".as_ptr(), buf, schema.len() as i64, room as i64, flags);
        if rc != ffi::SQLITE_OK {
            return Err(failed(rc));
        }
    }
    Ok(())
}

/// Build an MBTiles database of these tiles and metadata rows in memory and hand its
/// bytes to `then` (`path` names it in errors).
fn with_mbtiles_bytes<T>(
    path: &Path,
    tiles: &[Tile],
    meta: &[(String, String)],
    then: impl FnOnce(&[u8]) -> Result<T>,
) -> Result<T> {
    let mut tiles: Vec<&Tile> = tiles.iter().collect();
    tiles.sort_by_key(|t| t.0);
    let e = sql(path);
    // The database is built in memory and written to the file in one call: SQLite would
    // otherwise write it a 4 KiB page at a time (hundreds of system calls for a year's
    // archive), and reading nothing back, it gains nothing from the file.
    let mut db = rusqlite::Connection::open_in_memory().map_err(&e)?;
    let schema = MBTILES_SCHEMA.get_or_init(|| empty_mbtiles().map_err(|err| err.to_string()));
    let schema = schema.as_ref().map_err(|err| Error::Encode(format!("{}: {err}", path.display())))?;
    // Room for the images, their rows and the indexes' pages.
    let images: usize = tiles.iter().map(|t| t.1.len()).sum();
    open_with_room(&mut db, schema, schema.len() + images + images / 8 + 256 * tiles.len()).map_err(&e)?;
    db.execute_batch("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;").map_err(&e)?;
    let tx = db.transaction().map_err(&e)?;
    {
        let mut put = tx.prepare("INSERT INTO metadata (name, value) VALUES (?1, ?2)").map_err(&e)?;
        for (k, v) in meta {
            put.execute((k, v)).map_err(&e)?;
        }
        let mut map = tx
            .prepare("INSERT INTO map (zoom_level, tile_column, tile_row, tile_id) VALUES (?1, ?2, ?3, ?4)")
            .map_err(&e)?;
        let mut img = tx.prepare("INSERT INTO images (tile_data, tile_id) VALUES (?1, ?2)").map_err(&e)?;
        let mut stored: HashSet<u128> = HashSet::new();
        let hashes = XXH3_KEYS.of(&tiles);
        for ((t, png), hash) in tiles.into_iter().zip(hashes) {
            let id = format!("{hash:032x}");
            if stored.insert(hash) {
                img.execute((png.as_slice(), &id)).map_err(&e)?;
            }
            map.execute((t.z, t.x, t.tms_row(), &id)).map_err(&e)?;
        }
    }
    tx.commit().map_err(&e)?;
    let bytes = db.serialize(rusqlite::MAIN_DB).map_err(&e)?;
    let out = then(&bytes)?;
    drop(bytes);
    db.close().map_err(|(_, err)| e(err))?;
    Ok(out)
}

/// The header values and metadata of a PMTiles archive (what a merge copies from shards).
#[derive(Clone, Debug, PartialEq)]
pub struct PmHeader {
    /// Zoom range.
    pub zooms: (u8, u8),
    /// `[west, south, east, north]`, degrees.
    pub bounds: [f64; 4],
    /// Centre, degrees.
    pub center: (f64, f64),
    /// Centre zoom.
    pub center_zoom: u8,
    /// The JSON metadata, verbatim.
    pub metadata: String,
}

impl PmHeader {
    /// The header of a pyramid written by `tiles`.
    pub fn of(info: &PyramidInfo) -> PmHeader {
        let b = info.bounds;
        let meta = serde_json::json!({
            "name": info.name, "attribution": info.attribution, "format": "png",
            "type": "baselayer", "description": info.name,
        });
        PmHeader {
            zooms: info.zooms,
            bounds: b,
            center: ((b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0),
            center_zoom: info.zooms.0.max(info.zooms.1.min(4)),
            metadata: meta.to_string(),
        }
    }
}

/// Write a PMTiles v3 archive (tiles added in increasing Hilbert tile-id order; the
/// writer stores identical tiles once).
pub fn write_pmtiles(path: &Path, tiles: &[Tile], info: &PyramidInfo) -> Result<()> {
    let mut head = PmHeader::of(info);
    let format = image_format(tiles);
    if format != ImageFormat::Png {
        let mut meta: serde_json::Value = serde_json::from_str(&head.metadata).unwrap_or_default();
        meta["format"] = format.ext().into();
        head.metadata = meta.to_string();
    }
    write_pmtiles_with(path, tiles, &head)
}

/// Write a PMTiles v3 archive with the given header values and metadata; the tile type
/// (PNG or WebP) is that of the tiles.
pub fn write_pmtiles_with(path: &Path, tiles: &[Tile], head: &PmHeader) -> Result<()> {
    use pmtiles::{PmTilesWriter, TileCoord, TileId as PmId, TileType};
    let pm = |e: pmtiles::PmtError| Error::Encode(format!("{}: {e}", path.display()));
    let mut out = crate::output::AtomicFile::create(path)?;
    {
        let mut ordered: Vec<(u64, &Tile)> = tiles
            .iter()
            .map(|t| TileCoord::new(t.0.z, t.0.x, t.0.y).map(|c| (PmId::from(c).value(), t)))
            .collect::<std::result::Result<_, _>>()
            .map_err(pm)?;
        ordered.sort_by_key(|(id, _)| *id);
        let b = head.bounds;
        let file = out.file()?;
        let tile_type: TileType = image_format(tiles).pmtiles_type();
        let mut w = PmTilesWriter::new(tile_type)
            .min_zoom(head.zooms.0)
            .max_zoom(head.zooms.1)
            .bounds(b[0], b[1], b[2], b[3])
            .center(head.center.0, head.center.1)
            .center_zoom(head.center_zoom)
            .metadata(head.metadata.clone())
            // The keys the writer would compute itself, hashed once a process per tile.
            .dedup_by_key::<u128>()
            .create(std::io::BufWriter::with_capacity(1 << 20, file))
            .map_err(pm)?;
        let keys = XXH3_KEYS.of(&ordered.iter().map(|(_, t)| *t).collect::<Vec<_>>());
        for ((_, (t, png)), key) in ordered.into_iter().zip(keys) {
            w.add_tile(TileCoord::new(t.z, t.x, t.y).map_err(pm)?, png, Some(key)).map_err(pm)?;
        }
        w.finalize().map_err(pm)?;
    }
    out.commit()
}

/// Write a TileJSON 3.0.0 document for a pyramid served at `tiles_url`.
pub fn write_tilejson(path: &Path, tiles_url: &str, info: &PyramidInfo) -> Result<()> {
    let b = info.bounds;
    let doc = serde_json::json!({
        "tilejson": "3.0.0",
        "name": info.name,
        "description": info.name,
        "version": "1.0.0",
        "attribution": info.attribution,
        "scheme": "xyz",
        "tiles": [tiles_url],
        "minzoom": info.zooms.0,
        "maxzoom": info.zooms.1,
        "bounds": b,
        "center": [(b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0, info.zooms.0.max(info.zooms.1.min(4))],
    });
    let text = serde_json::to_string_pretty(&doc).map_err(|e| Error::Encode(e.to_string()))?;
    crate::output::write_atomic(path, crate::output::json_safe(text).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn tile(z: u8, x: u32, y: u32, bytes: &[u8]) -> Tile {
        (TileId { z, x, y }, Arc::new(bytes.to_vec()))
    }

    /// Names in a folder (hidden ones too).
    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .expect("dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn the_years_of_a_state_are_the_bytes_each_would_have_alone() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let tiles = [tile(1, 0, 0, b"\x89PNG A"), tile(1, 1, 0, b"\x89PNG B 1700"), tile(0, 0, 0, b"\x89PNG A")];
        let info = |name: &str| PyramidInfo {
            name: name.to_string(),
            attribution: "Atlas 1700 credits".to_string(),
            bounds: [45.0, 35.0, 95.0, 56.0],
            zooms: (0, 1),
        };
        // Same length (patched), another length and a name the credits hold (built).
        let names = ["Steppe 1700", "Steppe 1701", "Steppe 999", "Atlas 1700"];
        let years: Vec<(std::path::PathBuf, PyramidInfo)> =
            names.iter().enumerate().map(|(k, n)| (tmp.path().join(format!("{k}.mbtiles")), info(n))).collect();
        write_mbtiles_years(&years, &tiles).expect("write");
        for (k, (path, info)) in years.iter().enumerate() {
            let alone = tmp.path().join(format!("alone{k}.mbtiles"));
            write_mbtiles_rows(&alone, &tiles, &mbtiles_metadata_of(&tiles, info)).expect("write");
            assert_eq!(std::fs::read(path).expect("year"), std::fs::read(&alone).expect("alone"), "{}", info.name);
            let db = rusqlite::Connection::open(path).expect("open");
            let name: String =
                db.query_row("SELECT value FROM metadata WHERE name = 'name'", [], |r| r.get(0)).unwrap();
            assert_eq!(name, info.name);
        }
        let was = mbtiles_metadata_of(&tiles, &info("Steppe 1700"));
        let bytes = std::fs::read(&years[0].0).expect("first");
        assert!(renamed(&bytes, &was, &mbtiles_metadata_of(&tiles, &info("Steppe 1701"))).is_some());
        assert!(renamed(&bytes, &was, &mbtiles_metadata_of(&tiles, &info("Steppe 999"))).is_none());
    }

    #[cfg(unix)]
    #[test]
    fn a_new_folder_is_built_whole_and_a_rerun_replaces_only_what_changed() {
        use std::os::unix::fs::MetadataExt;
        let tmp = tempfile::tempdir().expect("temp dir");
        let dir = tmp.path().join("1700");
        let ino = |rel: &str| std::fs::metadata(dir.join(rel)).expect("tile").ino();
        let first = [tile(1, 0, 0, b"A"), tile(1, 1, 0, b"B"), tile(1, 0, 1, b"A"), tile(0, 0, 0, b"Z")];
        let written = Written::default();
        write_xyz(&dir, &first, "", Some(&written)).expect("write");
        assert_eq!(names(tmp.path()), ["1700"], "no temporary folder is left");
        assert_eq!(std::fs::read(dir.join("1/0/0.png")).expect("tile"), b"A");
        assert_eq!(std::fs::read(dir.join("1/1/0.png")).expect("tile"), b"B");
        assert_eq!(std::fs::read(dir.join("0/0/0.png")).expect("tile"), b"Z");
        // The same bytes twice are one file.
        assert_eq!(ino("1/0/0.png"), ino("1/0/1.png"));
        // The next year links to this one's files by their final paths.
        let next = tmp.path().join("1701");
        write_xyz(&next, &[tile(1, 0, 0, b"B")], "", Some(&written)).expect("write");
        assert_eq!(std::fs::metadata(next.join("1/0/0.png")).expect("tile").ino(), ino("1/1/0.png"));

        // A second run: unchanged tiles keep their files; a changed one gets a new file,
        // and the file it shared with 1701 is not touched.
        let (a, b) = (ino("1/0/0.png"), ino("1/1/0.png"));
        let second = [tile(1, 0, 0, b"A"), tile(1, 1, 0, b"C"), tile(1, 0, 1, b"A"), tile(0, 0, 0, b"Z")];
        write_xyz(&dir, &second, "", Some(&Written::default())).expect("rewrite");
        assert_eq!(ino("1/0/0.png"), a);
        assert_ne!(ino("1/1/0.png"), b);
        assert_eq!(std::fs::read(dir.join("1/1/0.png")).expect("tile"), b"C");
        assert_eq!(std::fs::read(next.join("1/0/0.png")).expect("tile"), b"B");
        assert!(names(&dir.join("1/1")).iter().all(|n| !n.starts_with('.')), "no temporary file is left");
    }

    #[test]
    fn hashes_are_kept_per_tile_and_never_taken_for_a_new_tile_at_a_freed_address() {
        let xxh3 = |b: &[u8]| twox_hash::XxHash3_128::oneshot(b);
        let memo = HashMemo::new(xxh3);
        let kept = tile(0, 0, 0, b"kept");
        for i in 0..20_000u32 {
            // A new tile each time, dropped after: the allocator hands its address out again.
            let fresh = tile(1, 0, 0, &i.to_le_bytes());
            let got = memo.of(&[&fresh, &kept]);
            assert_eq!(got, [xxh3(&fresh.1), xxh3(b"kept")], "tile {i}");
        }
        // Pruned as it grows: only tiles still held (and those of the last few) remain.
        assert!(memo.memo.lock().expect("lock").as_ref().expect("memo").0.len() < 10_000);
    }

    #[test]
    fn a_killed_runs_folder_does_not_block_the_next() {
        let tmp = tempfile::tempdir().expect("temp dir");
        // What a killed run left: its temporary folder (a PID that is never alive).
        let stale = tmp.path().join(".1700.tmp4294969");
        std::fs::create_dir_all(stale.join("0/0")).expect("mkdir");
        std::fs::write(stale.join("0/0/0.png"), b"half").expect("write");
        let dir = tmp.path().join("1700");
        write_xyz(&dir, &[tile(0, 0, 0, b"Z")], "", None).expect("write");
        assert_eq!(names(tmp.path()), ["1700"]);
        assert_eq!(std::fs::read(dir.join("0/0/0.png")).expect("tile"), b"Z");
    }
}
