//! Web Mercator XYZ tile math (the same results as mercantile): tile ids, their bounds,
//! the tiles covering a box, and metatiles.

use crate::project::{LonLatBox, MERCATOR_MAX_LAT, MERCATOR_RADIUS};
use std::f64::consts::PI;

/// Half the width of the Web Mercator world, metres.
pub const ORIGIN: f64 = PI * MERCATOR_RADIUS;
/// The deepest zoom level accepted.
pub const MAX_ZOOM: u8 = 20;

/// One XYZ tile (y = 0 at the north edge).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TileId {
    /// Zoom level.
    pub z: u8,
    /// Column, west to east.
    pub x: u32,
    /// Row, north to south.
    pub y: u32,
}

impl TileId {
    /// A tile, if it exists at its zoom.
    pub fn new(z: u8, x: u32, y: u32) -> Option<TileId> {
        (z <= MAX_ZOOM && x < (1 << z) && y < (1 << z)).then_some(TileId { z, x, y })
    }

    /// Bounds in EPSG:3857 metres `[minx, miny, maxx, maxy]` (mercantile.xy_bounds).
    pub fn bounds_mercator(&self) -> [f64; 4] {
        let size = 2.0 * ORIGIN / f64::from(1u32 << self.z);
        let minx = -ORIGIN + f64::from(self.x) * size;
        let maxy = ORIGIN - f64::from(self.y) * size;
        [minx, maxy - size, minx + size, maxy]
    }

    /// Bounds in degrees `[west, south, east, north]` (mercantile.bounds).
    pub fn bounds_lonlat(&self) -> [f64; 4] {
        let n = f64::from(1u32 << self.z);
        let lon = |x: f64| x / n * 360.0 - 180.0;
        let lat = |y: f64| (PI * (1.0 - 2.0 * y / n)).sinh().atan().to_degrees();
        [lon(f64::from(self.x)), lat(f64::from(self.y + 1)), lon(f64::from(self.x + 1)), lat(f64::from(self.y))]
    }

    /// The MBTiles (TMS) row of this tile.
    pub fn tms_row(&self) -> u32 {
        (1u32 << self.z) - 1 - self.y
    }
}

/// The tile containing a point at zoom `z` (mercantile.tile).
pub fn tile_of(lon: f64, lat: f64, z: u8) -> (u32, u32) {
    let x = lon / 360.0 + 0.5;
    let s = lat.to_radians().sin();
    let y = 0.5 - 0.25 * ((1.0 + s) / (1.0 - s)).ln() / PI;
    let n = 1u32 << z;
    let cell = |v: f64| {
        if v.is_nan() || v <= 0.0 {
            0
        } else if v >= 1.0 {
            n - 1
        } else {
            (((v + 1e-14) * f64::from(n)).floor() as u32).min(n - 1)
        }
    };
    (cell(x), cell(y))
}

/// How many tiles at zoom `z` intersect `bbox` (the length of [`tiles_in`], by arithmetic,
/// so a job can be sized before anything is planned).
pub fn count_tiles(bbox: &LonLatBox, z: u8) -> u64 {
    const EPS: f64 = 1e-11;
    let (x0, y0) = tile_of(bbox.west.max(-180.0), bbox.north.min(MERCATOR_MAX_LAT), z);
    let (x1, y1) = tile_of(bbox.east.min(180.0) - EPS, bbox.south.max(-MERCATOR_MAX_LAT) + EPS, z);
    (u64::from(x1.saturating_sub(x0)) + 1) * (u64::from(y1.saturating_sub(y0)) + 1)
}

/// The tiles at zoom `z` that intersect `bbox` (mercantile.tiles: an edge lying exactly
/// on a tile boundary does not pull in the neighbour), row by row within each column.
pub fn tiles_in(bbox: &LonLatBox, z: u8) -> Vec<TileId> {
    const EPS: f64 = 1e-11;
    let w = bbox.west.max(-180.0);
    let s = bbox.south.max(-MERCATOR_MAX_LAT);
    let e = bbox.east.min(180.0);
    let n = bbox.north.min(MERCATOR_MAX_LAT);
    let (x0, y0) = tile_of(w, n, z);
    let (x1, y1) = tile_of(e - EPS, s + EPS, z);
    (x0..=x1).flat_map(|x| (y0..=y1).map(move |y| TileId { z, x, y })).collect()
}

/// Parse a zoom range `A..B` (inclusive) or a single level.
pub fn parse_zoom_range(s: &str) -> Result<(u8, u8), String> {
    let (a, b) =
        crate::time::parse_year_range(s).map_err(|_| format!("bad zoom range {s:?} (expected A..B, e.g. 0..8)"))?;
    if a < 0 || b > i32::from(MAX_ZOOM) {
        return Err(format!("zoom range {s:?} must lie within 0..{MAX_ZOOM}"));
    }
    Ok((a as u8, b as u8))
}

/// A square block of `size`×`size` tiles rendered as one image, so that labels are placed
/// once across it rather than cut at tile edges.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MetaTile {
    /// Zoom level.
    pub z: u8,
    /// Column of the top-left tile.
    pub x: u32,
    /// Row of the top-left tile.
    pub y: u32,
    /// Tiles per side (smaller at low zooms where the world is smaller).
    pub size: u32,
}

impl MetaTile {
    /// The metatile of `size` containing a tile.
    pub fn of(t: TileId, size: u32) -> MetaTile {
        let size = size.min(1 << t.z).max(1);
        MetaTile { z: t.z, x: t.x / size * size, y: t.y / size * size, size }
    }

    /// Bounds in EPSG:3857 metres.
    pub fn bounds_mercator(&self) -> [f64; 4] {
        let a = TileId { z: self.z, x: self.x, y: self.y }.bounds_mercator();
        let span = (a[2] - a[0]) * f64::from(self.size);
        [a[0], a[3] - span, a[0] + span, a[3]]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_match_the_standard_formulas() {
        let t = TileId::new(0, 0, 0).unwrap();
        assert_eq!(t.bounds_mercator(), [-ORIGIN, -ORIGIN, ORIGIN, ORIGIN]);
        let b = t.bounds_lonlat();
        assert!((b[0] + 180.0).abs() < 1e-9 && (b[3] - MERCATOR_MAX_LAT).abs() < 1e-9);
        // mercantile.xy_bounds(6, 43, 24) and mercantile.bounds(6, 43, 24).
        let t = TileId::new(6, 43, 24).unwrap();
        let m = t.bounds_mercator();
        let want = [6887893.492833804, 4383204.949985148, 7514065.628545968, 5009377.085697312];
        for (a, b) in m.iter().zip(want) {
            assert!((a - b).abs() < 1e-6, "{m:?}");
        }
        let ll = t.bounds_lonlat();
        let want = [61.875, 36.59788913307021, 67.5, 40.97989806962013];
        for (a, b) in ll.iter().zip(want) {
            assert!((a - b).abs() < 1e-9, "{ll:?}");
        }
        assert_eq!(t.tms_row(), 39);
    }

    #[test]
    fn tile_of_and_tiles_in_match_mercantile() {
        assert_eq!(tile_of(68.27, 43.30, 7), (88, 46));
        assert_eq!(tile_of(-180.0, 85.1, 3), (0, 0));
        assert_eq!(tile_of(180.0, -85.1, 3), (7, 7));
        // The bench fixture's bbox: 304 tiles over z0..7 (tilelist.py).
        let b = LonLatBox { west: 47.95, south: 35.30, east: 94.45, north: 55.84 };
        let per_zoom: Vec<usize> = (0..=7).map(|z| tiles_in(&b, z).len()).collect();
        assert_eq!(per_zoom, vec![1, 1, 2, 4, 9, 20, 63, 204]);
        // An edge exactly on a tile boundary does not pull in the neighbour.
        let edge = LonLatBox { west: 0.0, south: 0.0, east: 90.0, north: 40.0 };
        assert_eq!(tiles_in(&edge, 2).len(), 1);
    }

    #[test]
    fn metatiles_group_tiles() {
        let t = TileId::new(7, 88, 46).unwrap();
        let m = MetaTile::of(t, 8);
        assert_eq!((m.x, m.y, m.size), (88, 40, 8));
        assert_eq!(MetaTile::of(TileId::new(1, 1, 0).unwrap(), 8).size, 2);
        let mb = m.bounds_mercator();
        let first = TileId::new(7, 88, 40).unwrap().bounds_mercator();
        let last = TileId::new(7, 95, 47).unwrap().bounds_mercator();
        assert_eq!([mb[0], mb[3]], [first[0], first[3]]);
        assert!((mb[2] - last[2]).abs() < 1e-6 && (mb[1] - last[1]).abs() < 1e-6);
    }

    #[test]
    fn zoom_ranges() {
        assert_eq!(parse_zoom_range("0..7").unwrap(), (0, 7));
        assert_eq!(parse_zoom_range("5").unwrap(), (5, 5));
        assert!(parse_zoom_range("0..25").is_err());
        assert!(parse_zoom_range("7..0").is_err());
        assert!(parse_zoom_range("-2147483648..2147483647").is_err());
    }

    #[test]
    fn count_tiles_matches_the_list() {
        let kz = LonLatBox { west: 47.0, south: 36.5, east: 93.0, north: 56.5 };
        for z in 0..=9 {
            assert_eq!(count_tiles(&kz, z), tiles_in(&kz, z).len() as u64, "z{z}");
        }
        let world = LonLatBox { west: -180.0, south: -90.0, east: 180.0, north: 90.0 };
        assert_eq!(count_tiles(&world, 20), 1u64 << 40);
    }
}
