//! Reading PMTiles files with the `pmtiles` crate's reader over positional reads of the
//! file (no memory map: a file truncated while it is read gives an error, not a crash).
//! `serve --tiles` reads tiles on demand through [`FileBackend`]; `merge` reads a whole
//! shard with [`read_all`].

use super::grid::TileId;
use super::sink::{PmHeader, Tile};
use crate::error::{Error, Result};
use bytes::Bytes;
use futures_util::TryStreamExt;
use pmtiles::{AsyncBackend, AsyncPmTilesReader, BackendResponse, PmtResult, TileCoord};
use std::path::Path;
use std::sync::Arc;

/// Reads a PMTiles file by offset (`pread`), with no memory map.
pub struct FileBackend {
    file: std::fs::File,
}

impl FileBackend {
    /// Open `path` for reading.
    pub fn open(path: &Path) -> Result<FileBackend> {
        let file = std::fs::File::open(path).map_err(|e| Error::Io { path: path.to_path_buf(), source: e })?;
        Ok(FileBackend { file })
    }
}

impl AsyncBackend for FileBackend {
    async fn read(&self, offset: u64, length: usize) -> PmtResult<BackendResponse> {
        use std::os::unix::fs::FileExt;
        let mut buf = vec![0u8; length];
        let mut got = 0;
        while got < length {
            match self.file.read_at(&mut buf[got..], offset + got as u64) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
        buf.truncate(got);
        Ok(BackendResponse::new(Bytes::from(buf)))
    }
}

/// The header values, metadata and every tile of a PMTiles archive of uncompressed tiles
/// (as PNG archives store them). A run of tiles with the same bytes shares one buffer.
pub fn read_all(path: &Path) -> Result<(PmHeader, Vec<Tile>)> {
    let bad = |what: String| Error::Usage(format!("{}: {what}", path.display()));
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(|e| Error::Io { path: path.to_path_buf(), source: e })?;
    rt.block_on(async {
        let reader = AsyncPmTilesReader::try_from_source(FileBackend::open(path)?)
            .await
            .map_err(|e| bad(format!("not a PMTiles v3 archive: {e}")))?;
        let broken = |e: pmtiles::PmtError| bad(format!("broken PMTiles archive: {e}"));
        let h = reader.get_header();
        if h.tile_compression != pmtiles::Compression::None {
            return Err(bad("compressed tiles are not supported (PNG archives store them as they are)".into()));
        }
        let head = PmHeader {
            zooms: (h.min_zoom, h.max_zoom),
            bounds: [h.min_longitude, h.min_latitude, h.max_longitude, h.max_latitude],
            center: (h.center_longitude, h.center_latitude),
            center_zoom: h.center_zoom,
            metadata: reader.get_metadata().await.map_err(broken)?,
        };
        let reader = Arc::new(reader);
        let entries: Vec<pmtiles::DirEntry> = reader.clone().entries().try_collect().await.map_err(broken)?;
        let mut tiles = Vec::new();
        for e in entries {
            let mut shared: Option<Arc<Vec<u8>>> = None;
            for id in e.iter_coords() {
                let png = match &shared {
                    Some(p) => p.clone(),
                    None => {
                        let b = reader
                            .get_tile(id)
                            .await
                            .map_err(broken)?
                            .ok_or_else(|| bad("a listed tile is missing".into()))?;
                        let p = Arc::new(b.to_vec());
                        shared = Some(p.clone());
                        p
                    }
                };
                let c = TileCoord::from(id);
                let t =
                    TileId::new(c.z(), c.x(), c.y()).ok_or_else(|| bad(format!("tile {c:?} is outside its zoom")))?;
                tiles.push((t, png));
            }
        }
        Ok((head, tiles))
    })
}
