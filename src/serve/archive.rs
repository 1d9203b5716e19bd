//! Tiles read from an export instead of rendered: `serve --tiles PATH`.
//!
//! PATH is what `tiles` writes: a folder with `{year}/{z}/{x}/{y}.png` or `.webp` (and `{year}.json`),
//! `{year}.mbtiles` or `{year}.pmtiles` files (`@2x` variants beside them), or one such
//! file. A file whose name is not a year (`atlas.pmtiles`) serves every year. MBTiles are
//! read with SQLite, read-only, rows flipped from TMS; PMTiles with the `pmtiles` crate's
//! reader over positional reads of the file (no memory map: a file truncated under the
//! server gives an error, not a crash).
//!
//! Nothing a request sends becomes a path: tile paths are built from parsed numbers and
//! checked to resolve inside PATH, and raw `.pmtiles` files are looked up by name in the
//! list made at start.

use crate::error::{Error, Result};
use crate::imageformat::ImageFormat;
use crate::tiles::pmfile::FileBackend;
use axum::body::Bytes;
use pmtiles::{AsyncPmTilesReader, TileCoord};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// What one pyramid says about itself (TileJSON of an XYZ export, MBTiles metadata,
/// PMTiles header and metadata).
#[derive(Clone, Debug, PartialEq)]
pub struct PyramidMeta {
    /// `name`, if given.
    pub name: Option<String>,
    /// `attribution`, if given.
    pub attribution: Option<String>,
    /// `[west, south, east, north]`, if given.
    pub bounds: Option<[f64; 4]>,
    /// Lowest zoom held.
    pub minzoom: u8,
    /// Highest zoom held.
    pub maxzoom: u8,
}

/// Where the tiles of one pyramid are.
enum Source {
    /// `{dir}/{z}/{x}/{y}{suffix}.png` (or `.webp`).
    Dir { dir: PathBuf, suffix: &'static str },
    /// An MBTiles file (SQLite connections are not `Sync`: one behind a lock).
    Mbtiles(Mutex<rusqlite::Connection>),
    /// A PMTiles file.
    Pmtiles(Box<AsyncPmTilesReader<FileBackend>>),
}

/// One pyramid: a year (None: any year) at a scale.
struct Pyramid {
    year: Option<i32>,
    scale: u8,
    source: Source,
    meta: PyramidMeta,
    /// The image format of its tiles.
    image: ImageFormat,
}

/// The tiles of an export, by year and scale.
pub struct TileArchive {
    root: PathBuf,
    pyramids: Vec<Pyramid>,
    /// Raw `.pmtiles` files by file name, for `/pmtiles/{name}`.
    raw: BTreeMap<String, PathBuf>,
    /// What kind of export it is, for messages.
    kind: &'static str,
}

/// `1723` → (Some(1723), 1); `1723@2x` → (Some(1723), 2); anything else → (None, scale).
fn year_of_stem(stem: &str) -> (Option<i32>, u8) {
    let (stem, scale) = match stem.strip_suffix("@2x") {
        Some(s) => (s, 2),
        None => (stem, 1),
    };
    let year = stem.parse::<i32>().ok().filter(|y| crate::data::META_YEARS.contains(y));
    (year, scale)
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| Error::Io { path: path.to_path_buf(), source: e }
}

fn bad(path: &Path, what: impl std::fmt::Display) -> Error {
    Error::Usage(format!("--tiles {}: {what}", path.display()))
}

impl TileArchive {
    /// Open an export: a folder (XYZ years, `.mbtiles`, `.pmtiles`) or one archive file.
    pub async fn open(path: &Path) -> Result<TileArchive> {
        let meta = std::fs::metadata(path).map_err(|e| bad(path, e))?;
        let root = path.canonicalize().map_err(io(path))?;
        let mut archive = TileArchive { root: root.clone(), pyramids: Vec::new(), raw: BTreeMap::new(), kind: "" };
        if meta.is_file() {
            archive.add_file(&root, true).await?;
            if archive.pyramids.is_empty() {
                return Err(bad(path, "not a .mbtiles or .pmtiles file"));
            }
            archive.root = root.parent().map(Path::to_path_buf).unwrap_or(root);
            return Ok(archive);
        }
        let mut names: Vec<PathBuf> =
            std::fs::read_dir(&root).map_err(io(path))?.filter_map(|e| e.ok().map(|e| e.path())).collect();
        names.sort();
        for p in names {
            if p.is_dir() {
                archive.add_xyz(&p)?;
            } else if p.is_file() {
                archive.add_file(&p, false).await?;
            }
        }
        if archive.pyramids.is_empty() {
            return Err(bad(
                path,
                "no tiles found (expected {year}/{z}/{x}/{y}.png folders, {year}.mbtiles or {year}.pmtiles)",
            ));
        }
        Ok(archive)
    }

    /// A year folder of an XYZ export, with its `{year}.json` / `{year}@2x.json` if present.
    fn add_xyz(&mut self, dir: &Path) -> Result<()> {
        let Some((Some(year), 1)) = dir.file_name().and_then(|n| n.to_str()).map(year_of_stem) else { return Ok(()) };
        let parent = dir.parent().unwrap_or(dir);
        let mut found = false;
        for (scale, suffix) in [(1u8, ""), (2u8, "@2x")] {
            let tj = parent.join(format!("{year}{suffix}.json"));
            let (meta, image) = match std::fs::read(&tj) {
                Ok(bytes) => {
                    let v: serde_json::Value =
                        serde_json::from_slice(&bytes).map_err(|e| bad(&tj, format!("not TileJSON: {e}")))?;
                    // The tiles' format from the extension of the TileJSON's tile URL.
                    let url = v.get("tiles").and_then(|t| t.get(0)).and_then(|u| u.as_str()).unwrap_or("");
                    let ext = url.split(['?', '#']).next().unwrap_or("").rsplit_once('.').map(|(_, e)| e);
                    (meta_from_tilejson(&v), ext.and_then(ImageFormat::from_name).unwrap_or_default())
                }
                Err(_) => {
                    // No TileJSON: take the zooms from the folders, if tiles of this scale exist.
                    let Some((lo, hi)) = xyz_zooms(dir) else { continue };
                    if scale == 2 {
                        continue;
                    }
                    let Some(image) = [ImageFormat::Png, ImageFormat::Webp]
                        .into_iter()
                        .find(|f| has_suffix_tiles(dir, lo, "", f.ext()))
                    else {
                        continue;
                    };
                    (PyramidMeta { name: None, attribution: None, bounds: None, minzoom: lo, maxzoom: hi }, image)
                }
            };
            found = true;
            self.pyramids.push(Pyramid {
                year: Some(year),
                scale,
                source: Source::Dir { dir: dir.to_path_buf(), suffix },
                meta,
                image,
            });
        }
        if found {
            self.note_kind("XYZ folder");
        }
        Ok(())
    }

    /// A `.mbtiles` or `.pmtiles` file; other files are passed over. In a folder (`single`
    /// false) only files named by year are pyramids (`1723-1of2.mbtiles`, a shard, is
    /// not), and a `.pmtiles` of another tile type is only served raw.
    async fn add_file(&mut self, path: &Path, single: bool) -> Result<()> {
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        let (year, scale) = year_of_stem(stem);
        if ext == "pmtiles" {
            if let Some(name) = path.file_name().and_then(|n| n.to_str()) {
                self.raw.insert(name.to_string(), path.to_path_buf());
            }
        }
        if !single && year.is_none() {
            return Ok(());
        }
        match ext {
            "mbtiles" => {
                let (conn, meta, image) = open_mbtiles(path)?;
                self.pyramids.push(Pyramid { year, scale, source: Source::Mbtiles(Mutex::new(conn)), meta, image });
                self.note_kind("MBTiles");
            }
            "pmtiles" => {
                let reader = AsyncPmTilesReader::try_from_source(FileBackend::open(path)?)
                    .await
                    .map_err(|e| bad(path, format!("not a PMTiles v3 archive: {e}")))?;
                let h = reader.get_header();
                let image = match h.tile_type {
                    pmtiles::TileType::Png => ImageFormat::Png,
                    pmtiles::TileType::Webp => ImageFormat::Webp,
                    _ if !single => return Ok(()),
                    other => {
                        return Err(bad(path, format!("holds {other:?} tiles; only PNG and WebP tiles are served")))
                    }
                };
                let extra: serde_json::Value = match reader.get_metadata().await {
                    Ok(s) => serde_json::from_str(&s).unwrap_or_default(),
                    Err(_) => serde_json::Value::Null,
                };
                let meta = PyramidMeta {
                    name: extra.get("name").and_then(|v| v.as_str()).map(str::to_string),
                    attribution: extra.get("attribution").and_then(|v| v.as_str()).map(str::to_string),
                    bounds: Some([h.min_longitude, h.min_latitude, h.max_longitude, h.max_latitude]),
                    minzoom: h.min_zoom,
                    maxzoom: h.max_zoom,
                };
                self.pyramids.push(Pyramid { year, scale, source: Source::Pmtiles(Box::new(reader)), meta, image });
                self.note_kind("PMTiles");
            }
            _ => {}
        }
        Ok(())
    }

    fn note_kind(&mut self, kind: &'static str) {
        self.kind = if self.kind.is_empty() || self.kind == kind { kind } else { "mixed" };
    }

    /// What kind of export this is: "XYZ folder", "MBTiles", "PMTiles" or "mixed".
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// The folder the export is in.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn pyramid(&self, year: i32, scale: u8) -> Option<&Pyramid> {
        let exact = self.pyramids.iter().find(|p| p.year == Some(year) && p.scale == scale);
        exact.or_else(|| self.pyramids.iter().find(|p| p.year.is_none() && p.scale == scale))
    }

    /// What the pyramid of `year` at `scale` says about itself, if there is one.
    pub fn meta(&self, year: i32, scale: u8) -> Option<&PyramidMeta> {
        self.pyramid(year, scale).map(|p| &p.meta)
    }

    /// The image format of the tiles of `year` at `scale`, if the export holds them.
    pub fn image(&self, year: i32, scale: u8) -> Option<ImageFormat> {
        self.pyramid(year, scale).map(|p| p.image)
    }

    /// The image format most of the export's pyramids hold (PNG when as many are PNG).
    pub fn main_image(&self) -> ImageFormat {
        let webp = self.pyramids.iter().filter(|p| p.image == ImageFormat::Webp).count();
        if webp * 2 > self.pyramids.len() {
            ImageFormat::Webp
        } else {
            ImageFormat::Png
        }
    }

    /// The years the export holds (first, last); None when a yearless file serves all.
    pub fn years(&self) -> Option<(i32, i32)> {
        if self.pyramids.iter().any(|p| p.year.is_none()) {
            return None;
        }
        let ys = self.pyramids.iter().filter_map(|p| p.year);
        Some((ys.clone().min()?, ys.max()?))
    }

    /// Every year a pyramid is held for (sorted, once each).
    pub fn year_list(&self) -> Vec<i32> {
        let mut ys: Vec<i32> = self.pyramids.iter().filter_map(|p| p.year).collect();
        ys.sort_unstable();
        ys.dedup();
        ys
    }

    /// The widest zoom range and the union of the bounds of every pyramid.
    pub fn summary(&self) -> PyramidMeta {
        let mut out = PyramidMeta { name: None, attribution: None, bounds: None, minzoom: u8::MAX, maxzoom: 0 };
        for p in &self.pyramids {
            out.minzoom = out.minzoom.min(p.meta.minzoom);
            out.maxzoom = out.maxzoom.max(p.meta.maxzoom);
            out.name = out.name.take().or_else(|| p.meta.name.clone());
            out.attribution = out.attribution.take().or_else(|| p.meta.attribution.clone());
            if let Some(b) = p.meta.bounds {
                out.bounds = Some(match out.bounds {
                    None => b,
                    Some(a) => [a[0].min(b[0]), a[1].min(b[1]), a[2].max(b[2]), a[3].max(b[3])],
                });
            }
        }
        if out.minzoom > out.maxzoom {
            out.minzoom = 0;
        }
        out
    }

    /// The raw `.pmtiles` files served at `/pmtiles/{name}`, by name.
    pub fn raw_files(&self) -> impl Iterator<Item = &str> {
        self.raw.keys().map(String::as_str)
    }

    /// The path of the raw `.pmtiles` file called `name`, if the export has one.
    pub fn raw_file(&self, name: &str) -> Option<&Path> {
        self.raw.get(name).map(PathBuf::as_path)
    }

    /// The image (PNG or WebP, see [`TileArchive::image`]) of tile z/x/y of `year` at
    /// `scale`; None when the export does not hold it.
    pub async fn tile(&self, year: i32, scale: u8, z: u8, x: u32, y: u32) -> Result<Option<Bytes>> {
        let Some(p) = self.pyramid(year, scale) else { return Ok(None) };
        if z < p.meta.minzoom || z > p.meta.maxzoom || x >= (1u32 << z.min(31)) || y >= (1u32 << z.min(31)) {
            return Ok(None);
        }
        match &p.source {
            Source::Dir { dir, suffix } => {
                let path = dir.join(z.to_string()).join(x.to_string()).join(format!("{y}{suffix}.{}", p.image.ext()));
                // A link out of the export is not followed.
                match tokio::fs::canonicalize(&path).await {
                    Ok(real) if real.starts_with(&self.root) => {}
                    _ => return Ok(None),
                }
                match tokio::fs::read(&path).await {
                    Ok(bytes) => Ok(Some(Bytes::from(bytes))),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(Error::Io { path, source: e }),
                }
            }
            Source::Pmtiles(reader) => {
                let Ok(coord) = TileCoord::new(z, x, y) else { return Ok(None) };
                reader
                    .get_tile_decompressed(coord)
                    .await
                    .map_err(|e| Error::Encode(format!("{}: {e}", self.root.display())))
            }
            Source::Mbtiles(conn) => {
                let row = (1u32 << z) - 1 - y;
                // A local SQLite lookup takes microseconds; the lock keeps the
                // connection to one thread at a time.
                let conn = conn.lock().unwrap_or_else(|p| p.into_inner());
                let mut stmt = conn
                    .prepare_cached(
                        "SELECT tile_data FROM tiles WHERE zoom_level = ?1 AND tile_column = ?2 AND tile_row = ?3",
                    )
                    .map_err(|e| Error::Encode(format!("{}: {e}", self.root.display())))?;
                let mut rows =
                    stmt.query((z, x, row)).map_err(|e| Error::Encode(format!("{}: {e}", self.root.display())))?;
                match rows.next() {
                    Ok(Some(r)) => Ok(r.get::<_, Vec<u8>>(0).ok().map(Bytes::from)),
                    Ok(None) => Ok(None),
                    Err(e) => Err(Error::Encode(format!("{}: {e}", self.root.display()))),
                }
            }
        }
    }
}

/// The zoom levels of an XYZ year folder (its numeric subfolders), if any.
fn xyz_zooms(dir: &Path) -> Option<(u8, u8)> {
    let zs: Vec<u8> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u8>().ok())
        .filter(|z| *z <= 30)
        .collect();
    Some((*zs.iter().min()?, *zs.iter().max()?))
}

/// Does zoom `z` of an XYZ folder hold tiles ending in `{suffix}.{ext}` (not only `@2x`)?
fn has_suffix_tiles(dir: &Path, z: u8, suffix: &str, ext: &str) -> bool {
    let Ok(cols) = std::fs::read_dir(dir.join(z.to_string())) else { return false };
    cols.filter_map(|c| c.ok()).any(|c| {
        std::fs::read_dir(c.path()).is_ok_and(|mut files| {
            files.any(|f| {
                f.ok().and_then(|f| f.file_name().to_str().map(str::to_string)).is_some_and(|n| {
                    n.strip_suffix(ext)
                        .and_then(|s| s.strip_suffix('.'))
                        .and_then(|s| s.strip_suffix(suffix))
                        .is_some_and(|s| s.parse::<u32>().is_ok())
                })
            })
        })
    })
}

fn meta_from_tilejson(v: &serde_json::Value) -> PyramidMeta {
    let zoom = |k: &str, d: u8| v.get(k).and_then(|z| z.as_u64()).map(|z| z.min(30) as u8).unwrap_or(d);
    let bounds = v.get("bounds").and_then(|b| b.as_array()).and_then(|b| {
        let n: Vec<f64> = b.iter().filter_map(|x| x.as_f64()).collect();
        (n.len() == 4).then(|| [n[0], n[1], n[2], n[3]])
    });
    PyramidMeta {
        name: v.get("name").and_then(|s| s.as_str()).map(str::to_string),
        attribution: v.get("attribution").and_then(|s| s.as_str()).map(str::to_string),
        bounds,
        minzoom: zoom("minzoom", 0),
        maxzoom: zoom("maxzoom", 22),
    }
}

/// Open an MBTiles file read-only and read its metadata.
fn open_mbtiles(path: &Path) -> Result<(rusqlite::Connection, PyramidMeta, ImageFormat)> {
    use rusqlite::OpenFlags;
    let e = |e: rusqlite::Error| bad(path, format!("not an MBTiles file: {e}"));
    let conn = rusqlite::Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI,
    )
    .map_err(e)?;
    let mut kv: BTreeMap<String, String> = BTreeMap::new();
    {
        let mut stmt = conn.prepare("SELECT name, value FROM metadata").map_err(e)?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))).map_err(e)?;
        for row in rows {
            let (k, v) = row.map_err(e)?;
            kv.insert(k, v);
        }
    }
    let image = match kv.get("format") {
        None => ImageFormat::Png,
        Some(f) => ImageFormat::from_name(f)
            .ok_or_else(|| bad(path, format!("holds {f} tiles; only PNG and WebP tiles are served")))?,
    };
    let zoom = |k: &str| kv.get(k).and_then(|z| z.trim().parse::<u8>().ok()).map(|z| z.min(30));
    let (minzoom, maxzoom) = match (zoom("minzoom"), zoom("maxzoom")) {
        (Some(a), Some(b)) => (a, b),
        _ => {
            let r: (Option<u8>, Option<u8>) = conn
                .query_row("SELECT MIN(zoom_level), MAX(zoom_level) FROM tiles", [], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(e)?;
            (r.0.unwrap_or(0), r.1.unwrap_or(0))
        }
    };
    let bounds = kv.get("bounds").and_then(|b| {
        let n: Vec<f64> = b.split(',').filter_map(|x| x.trim().parse().ok()).collect();
        (n.len() == 4).then(|| [n[0], n[1], n[2], n[3]])
    });
    let meta = PyramidMeta {
        name: kv.get("name").cloned(),
        attribution: kv.get("attribution").cloned(),
        bounds,
        minzoom,
        maxzoom,
    };
    Ok((conn, meta, image))
}

#[cfg(test)]
mod tests {
    use super::year_of_stem;

    #[test]
    fn years_from_file_names() {
        assert_eq!(year_of_stem("1723"), (Some(1723), 1));
        assert_eq!(year_of_stem("1723@2x"), (Some(1723), 2));
        assert_eq!(year_of_stem("atlas"), (None, 1));
        assert_eq!(year_of_stem("1723-1of2"), (None, 1));
        assert_eq!(year_of_stem("99999"), (None, 1));
    }
}
