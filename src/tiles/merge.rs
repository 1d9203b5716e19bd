//! `merge`: join the shard archives of one pyramid (`tiles --shard I/N`, MBTiles or
//! PMTiles) into one archive, byte-identical to what a single run writes: the same tiles,
//! the same metadata, written by the same writer in the same order.

use super::grid::TileId;
use super::sink::{self, PmHeader, Tile};
use crate::error::{Error, Result};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The `metadata` table of an MBTiles file: (name, value) rows in file order.
pub type MetadataRows = Vec<(String, String)>;

/// The archive kinds `merge` joins.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArchiveKind {
    /// MBTiles (SQLite).
    MbTiles,
    /// PMTiles v3.
    PmTiles,
}

/// What a merge wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MergeReport {
    /// Shards read.
    pub shards: usize,
    /// Tiles in the merged archive.
    pub tiles: usize,
    /// The archive kind.
    pub kind: ArchiveKind,
}

/// The kind of an archive, by its first bytes.
pub fn archive_kind(path: &Path) -> Result<ArchiveKind> {
    let mut head = [0u8; 16];
    let mut f = std::fs::File::open(path).map_err(|e| Error::Io { path: path.to_path_buf(), source: e })?;
    let n = f.read(&mut head).map_err(|e| Error::Io { path: path.to_path_buf(), source: e })?;
    if n >= 16 && &head == b"SQLite format 3\0" {
        Ok(ArchiveKind::MbTiles)
    } else if n >= 8 && &head[..7] == b"PMTiles" && head[7] == 3 {
        Ok(ArchiveKind::PmTiles)
    } else {
        Err(bad(path, "neither an MBTiles (SQLite) file nor a PMTiles v3 archive"))
    }
}

fn bad(path: &Path, what: &str) -> Error {
    Error::Usage(format!("merge: {}: {what}", path.display()))
}

/// `I` and `N` of a shard file named like `1723-1of3.mbtiles`.
fn shard_tag(path: &Path) -> Option<(u32, u32)> {
    let stem = path.file_stem()?.to_str()?;
    let tag = stem.rsplit('-').next()?;
    let (i, n) = tag.split_once("of")?;
    Some((i.parse().ok()?, n.parse().ok()?))
}

/// Join `shards` into `out`. Every shard must be of the same kind and pyramid (the same
/// metadata); a tile found in two shards must have the same bytes; shard files named
/// `…-IofN.…` must be the whole set 0..N.
pub fn merge(out: &Path, shards: &[PathBuf]) -> Result<MergeReport> {
    let Some(first) = shards.first() else {
        return Err(Error::Usage("merge: name the shard files to join".into()));
    };
    let kind = archive_kind(first)?;
    for s in &shards[1..] {
        if archive_kind(s)? != kind {
            return Err(bad(s, &format!("not of the same kind as {}", first.display())));
        }
    }
    let want_ext = match kind {
        ArchiveKind::MbTiles => "mbtiles",
        ArchiveKind::PmTiles => "pmtiles",
    };
    if out.extension().and_then(|e| e.to_str()) != Some(want_ext) {
        return Err(Error::Usage(format!("merge: --out {} should end in .{want_ext}, like the shards", out.display())));
    }
    check_shard_set(shards)?;
    let mut tiles: BTreeMap<TileId, Arc<Vec<u8>>> = BTreeMap::new();
    let mut add = |path: &Path, found: Vec<Tile>| -> Result<()> {
        for (t, png) in found {
            if let Some(prev) = tiles.insert(t, png.clone()) {
                if prev != png {
                    return Err(bad(path, &format!("tile {}/{}/{} differs from another shard's", t.z, t.x, t.y)));
                }
            }
        }
        Ok(())
    };
    match kind {
        ArchiveKind::MbTiles => {
            let mut meta0: Option<MetadataRows> = None;
            for s in shards {
                let (meta, found) = read_mbtiles(s)?;
                match &meta0 {
                    None => meta0 = Some(meta),
                    Some(m) if *m != meta => {
                        return Err(bad(s, &format!("metadata differs from {}'s", first.display())))
                    }
                    Some(_) => {}
                }
                add(s, found)?;
            }
            let all: Vec<Tile> = tiles.into_iter().collect();
            sink::write_mbtiles_rows(out, &all, &meta0.unwrap_or_default())?;
            Ok(MergeReport { shards: shards.len(), tiles: all.len(), kind })
        }
        ArchiveKind::PmTiles => {
            let mut head0: Option<PmHeader> = None;
            for s in shards {
                let (head, found) = read_pmtiles(s)?;
                match &head0 {
                    None => head0 = Some(head),
                    Some(h) if *h != head => {
                        return Err(bad(s, &format!("header or metadata differs from {}'s", first.display())))
                    }
                    Some(_) => {}
                }
                add(s, found)?;
            }
            let all: Vec<Tile> = tiles.into_iter().collect();
            sink::write_pmtiles_with(out, &all, &head0.expect("one shard at least"))?;
            Ok(MergeReport { shards: shards.len(), tiles: all.len(), kind })
        }
    }
}

/// Shards named `…-IofN.…` must all agree on N and cover 0..N once each.
fn check_shard_set(shards: &[PathBuf]) -> Result<()> {
    let tags: Vec<Option<(u32, u32)>> = shards.iter().map(|s| shard_tag(s)).collect();
    if tags.iter().any(Option::is_none) {
        return Ok(());
    }
    let n = tags[0].expect("checked").1;
    let mut seen = vec![false; n as usize];
    for (s, t) in shards.iter().zip(&tags) {
        let (i, m) = t.expect("checked");
        if m != n || i >= n {
            return Err(bad(s, &format!("is shard {i} of {m}, not of {n} like the first")));
        }
        if std::mem::replace(&mut seen[i as usize], true) {
            return Err(bad(s, &format!("shard {i} of {n} is named twice")));
        }
    }
    if let Some(missing) = seen.iter().position(|s| !s) {
        return Err(Error::Usage(format!("merge: shard {missing} of {n} is missing")));
    }
    Ok(())
}

/// The metadata rows (in file order) and tiles of an MBTiles file.
pub fn read_mbtiles(path: &Path) -> Result<(MetadataRows, Vec<Tile>)> {
    let e = |err: rusqlite::Error| bad(path, &format!("cannot read as MBTiles ({err})"));
    let db = rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(e)?;
    let mut q = db.prepare("SELECT name, value FROM metadata ORDER BY rowid").map_err(e)?;
    let meta =
        q.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).map_err(e)?.collect::<rusqlite::Result<Vec<_>>>().map_err(e)?;
    let mut q = db.prepare("SELECT zoom_level, tile_column, tile_row, tile_data FROM tiles").map_err(e)?;
    let rows = q
        .query_map([], |r| Ok((r.get::<_, u8>(0)?, r.get::<_, u32>(1)?, r.get::<_, u32>(2)?, r.get::<_, Vec<u8>>(3)?)))
        .map_err(e)?;
    // Identical images share one allocation, as in a run.
    let mut by_bytes: std::collections::HashMap<Vec<u8>, Arc<Vec<u8>>> = std::collections::HashMap::new();
    let mut tiles = Vec::new();
    for row in rows {
        let (z, x, row, data) = row.map_err(e)?;
        let y = (1u32 << z.min(31)).checked_sub(1).and_then(|m| m.checked_sub(row));
        let t = y
            .and_then(|y| TileId::new(z, x, y))
            .ok_or_else(|| bad(path, &format!("tile {z}/{x}/{row} (TMS) is off the grid")))?;
        let png = by_bytes.entry(data.clone()).or_insert_with(|| Arc::new(data)).clone();
        tiles.push((t, png));
    }
    Ok((meta, tiles))
}

/// The header values, metadata and tiles of a PMTiles archive (see [`super::pmfile`]).
pub fn read_pmtiles(path: &Path) -> Result<(PmHeader, Vec<Tile>)> {
    super::pmfile::read_all(path)
}
