//! The server's hot path: a concurrent, byte-bounded cache of encoded images whose
//! entries carry their ETag (computed once, when stored), and a table from year to
//! map state built once at start, so that a cached tile is found by lookups alone —
//! no lock held across requests, no pass over the data, no render thread.

use crate::atlas::{map_state, state_change_years, Atlas};
use crate::data::META_YEARS;
use crate::tiles::grid::TileId;
use axum::http::HeaderValue;
use bytes::Bytes;
use rayon::prelude::*;
use std::sync::Arc;

/// What a cached image shows: a tile of a map state (at a pixel scale, in a label
/// language), or a whole frame of a year.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ImageKey {
    /// A tile: the map state it draws, `1` or `2` (for `@2x`), the label language, the
    /// image format.
    Tile {
        /// The map state ([`map_state`]) of the tile's year.
        state: u64,
        /// Pixel scale.
        scale: u8,
        /// Label language.
        lang: Arc<str>,
        /// Which tile.
        tile: TileId,
        /// Its encoding (PNG or WebP).
        image: crate::imageformat::ImageFormat,
    },
    /// A 1280×720 frame of a year.
    Frame {
        /// The year.
        year: i32,
    },
    /// A file of the `/vector` routes: a tile (plain or gzipped), a sprite, a glyph range.
    Vector(Arc<str>),
}

impl ImageKey {
    /// Heap bytes the key holds besides itself (the language, when the key owns it).
    fn heap(&self) -> usize {
        match self {
            ImageKey::Tile { lang, .. } => lang.len(),
            ImageKey::Frame { .. } => 0,
            ImageKey::Vector(what) => what.len(),
        }
    }
}

/// An encoded image as the cache holds it: shared bytes and its ETag.
#[derive(Clone, Debug)]
pub struct CachedImage {
    /// The encoded image; cloning shares it.
    pub bytes: Bytes,
    /// `"…"`: a hash of the bytes, quoted as an entity tag.
    pub etag: HeaderValue,
}

impl CachedImage {
    /// Wrap encoded bytes, computing their ETag.
    pub fn new(bytes: Bytes) -> CachedImage {
        let etag = HeaderValue::from_str(&etag_of(&bytes)).expect("a quoted hex number is a valid header value");
        CachedImage { bytes, etag }
    }
}

/// The ETag of an image: a 64-bit hash of its bytes, quoted.
pub fn etag_of(bytes: &[u8]) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut h);
    format!("\"{:016x}\"", h.finish())
}

/// Bookkeeping per entry besides the image's bytes and the key's heap: the key and value
/// in the cache's slab, the `Bytes` and `HeaderValue` headers, the ETag's 18 bytes and
/// its shared counter, the cache's hash-table slot, rounded up.
const ENTRY_OVERHEAD: usize = 192;

/// What an entry costs, for the cache's bound.
#[derive(Clone, Copy, Debug, Default)]
struct ByteWeight;

impl quick_cache::Weighter<ImageKey, CachedImage> for ByteWeight {
    fn weight(&self, key: &ImageKey, val: &CachedImage) -> u64 {
        ImageCache::cost(key, &val.bytes) as u64
    }
}

/// A bounded, concurrent cache of encoded images (sharded, lock per shard, reads do not
/// block one another), weighted by the bytes an entry really holds. Eviction is
/// quick_cache's CLOCK-Pro: entries asked for again outlive those seen once.
pub struct ImageCache {
    inner: quick_cache::sync::Cache<ImageKey, CachedImage, ByteWeight>,
}

/// Shards below this size are not worth it: a small cache is one shard, so its bound
/// is used whole.
const MIN_SHARD_BYTES: usize = 4 << 20;

impl ImageCache {
    /// A cache holding at most `limit` bytes of images, keys and bookkeeping.
    pub fn new(limit: usize) -> ImageCache {
        let threads = std::thread::available_parallelism().map(usize::from).unwrap_or(2);
        let shards = (limit / MIN_SHARD_BYTES).clamp(1, 4 * threads).next_power_of_two();
        // A guess at the entries held, for the table's first size: tiles of ~8 KB.
        let items = (limit / 8192).clamp(16, 1 << 20);
        let options = quick_cache::OptionsBuilder::new()
            .shards(shards)
            .estimated_items_capacity(items)
            .weight_capacity(limit as u64)
            .build()
            .expect("shards, capacity and weight are all set");
        ImageCache {
            inner: quick_cache::sync::Cache::with_options(options, ByteWeight, Default::default(), Default::default()),
        }
    }

    /// The memory an entry takes, bytes.
    pub fn cost(key: &ImageKey, value: &[u8]) -> usize {
        value.len() + key.heap() + ENTRY_OVERHEAD
    }

    /// The image stored under `key`.
    pub fn get(&self, key: &ImageKey) -> Option<CachedImage> {
        self.inner.get(key)
    }

    /// Store an image (its ETag computed here, once) and hand it back. An image bigger
    /// than a shard of the cache is handed back but not kept.
    pub fn put(&self, key: ImageKey, bytes: Bytes) -> CachedImage {
        let image = CachedImage::new(bytes);
        self.inner.insert(key, image.clone());
        image
    }

    /// Bytes held, as counted by [`ImageCache::cost`].
    pub fn bytes(&self) -> usize {
        self.inner.weight() as usize
    }

    /// Images held.
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// Does the cache hold nothing?
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }
}

/// The map state of every year, computed once: the data changes only in the years where
/// some span starts or ends, so the states of those years (and of the first year asked
/// for) stand for every year. A lookup is a binary search over them.
pub struct YearStates {
    /// `(first year, state)`, increasing years; the first is [`META_YEARS`]'s start.
    runs: Vec<(i32, u64)>,
}

impl YearStates {
    /// Compute the state of every year in which the map may change (in parallel).
    pub fn build(atlas: &Atlas) -> YearStates {
        let years = state_change_years(atlas, (*META_YEARS.start(), *META_YEARS.end()));
        let runs = years.par_iter().map(|&y| (y, map_state(atlas, y))).collect();
        YearStates { runs }
    }

    /// The map state of `year` (any year within [`META_YEARS`]).
    pub fn get(&self, year: i32) -> u64 {
        let i = self.runs.partition_point(|(from, _)| *from <= year);
        self.runs[i.saturating_sub(1)].1
    }

    /// Years at which a state was computed.
    pub fn len(&self) -> usize {
        self.runs.len()
    }

    /// Is the table empty? (Never: the first year always has a state.)
    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(i: i32) -> ImageKey {
        ImageKey::Frame { year: i }
    }

    #[test]
    fn the_cache_keeps_to_its_bound_and_hands_back_etags() {
        let cost = ImageCache::cost(&key(0), &[0u8; 100]);
        let c = ImageCache::new(10 * cost);
        for i in 10..60 {
            let img = c.put(key(i), Bytes::from(vec![i as u8; 100]));
            assert_eq!(img.etag.to_str().unwrap(), etag_of(&[i as u8; 100]));
            assert!(c.bytes() <= 10 * cost);
        }
        assert!(c.len() <= 10 && c.len() >= 5, "{} entries", c.len());
        assert!(c.get(&key(59)).is_some(), "the newest is kept");
        assert_eq!(c.bytes(), c.len() * cost, "the weight is what the entries cost");
    }

    #[test]
    fn a_tile_asked_for_again_outlives_a_scan_of_tiles_seen_once() {
        let cost = ImageCache::cost(&key(0), &[0u8; 100]);
        let c = ImageCache::new(10 * cost);
        for i in 0..10 {
            c.put(key(i), Bytes::from(vec![0u8; 100]));
        }
        for _ in 0..3 {
            assert!(c.get(&key(3)).is_some());
        }
        for i in 100..1000 {
            c.put(key(i), Bytes::from(vec![0u8; 100]));
        }
        assert!(c.get(&key(3)).is_some(), "the popular tile stays");
        assert!(c.get(&key(999)).is_some(), "the newest is kept");
        assert!(c.len() <= 10);
    }

    #[test]
    fn an_image_bigger_than_the_cache_is_not_kept() {
        let c = ImageCache::new(1000);
        let img = c.put(key(1), Bytes::from(vec![1u8; 5000]));
        assert_eq!(img.bytes.len(), 5000);
        assert!(c.is_empty() && c.bytes() == 0);
    }
}
