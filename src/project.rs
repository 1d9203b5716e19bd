//! Map projections (Web Mercator, Lambert conformal conic, Albers equal-area) and views
//! that fit a lon/lat box into an image.
//!
//! All projections are spherical. Web Mercator uses the WGS84 semi-major axis as EPSG:3857
//! does; the conics use the mean Earth radius.

use std::f64::consts::{FRAC_PI_2, FRAC_PI_4, PI};

/// Earth radius used by Web Mercator (EPSG:3857), metres.
pub const MERCATOR_RADIUS: f64 = 6_378_137.0;
/// Mean Earth radius used by the conic projections and for distances, metres.
pub const EARTH_RADIUS: f64 = 6_371_008.8;
/// Latitude limit of Web Mercator.
pub const MERCATOR_MAX_LAT: f64 = 85.051_128_779_806_6;

/// Which projection to use; conic parameters are fitted to the view.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ProjectionKind {
    /// Lambert conformal conic, standard parallels at 1/6 and 5/6 of the view's latitudes.
    #[default]
    Lcc,
    /// Albers equal-area conic, same parallels.
    Albers,
    /// Web Mercator (EPSG:3857), as slippy-map tiles use.
    Mercator,
}

/// A box in lon/lat degrees.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LonLatBox {
    /// Western longitude.
    pub west: f64,
    /// Southern latitude.
    pub south: f64,
    /// Eastern longitude.
    pub east: f64,
    /// Northern latitude.
    pub north: f64,
}

impl LonLatBox {
    /// From `[west, south, east, north]`.
    pub fn from_array(a: [f64; 4]) -> LonLatBox {
        LonLatBox { west: a[0], south: a[1], east: a[2], north: a[3] }
    }

    /// As `[west, south, east, north]`.
    pub fn to_array(self) -> [f64; 4] {
        [self.west, self.south, self.east, self.north]
    }

    /// Parse `W,S,E,N`, checking order and ranges.
    pub fn parse(s: &str) -> Result<LonLatBox, String> {
        let nums: Vec<f64> = s
            .split(',')
            .map(|p| p.trim().parse::<f64>())
            .collect::<Result<_, _>>()
            .map_err(|_| format!("bad bbox {s:?}: expected four numbers W,S,E,N"))?;
        let [w, so, e, n] = nums[..] else {
            return Err(format!("bad bbox {s:?}: expected four numbers W,S,E,N"));
        };
        let b = LonLatBox { west: w, south: so, east: e, north: n };
        b.check().map(|_| b)
    }

    /// Check that the box is finite, ordered and on the globe.
    pub fn check(&self) -> Result<(), String> {
        let all = [self.west, self.south, self.east, self.north];
        if all.iter().any(|v| !v.is_finite()) {
            return Err("bbox has a non-finite number".into());
        }
        if !(-180.0..=180.0).contains(&self.west) || !(-180.0..=180.0).contains(&self.east) {
            return Err("bbox longitudes must be within −180…180".into());
        }
        if !(-90.0..=90.0).contains(&self.south) || !(-90.0..=90.0).contains(&self.north) {
            return Err("bbox latitudes must be within −90…90".into());
        }
        if self.west >= self.east || self.south >= self.north {
            return Err(format!(
                "bbox {},{},{},{} is empty or reversed (need W < E and S < N)",
                self.west, self.south, self.east, self.north
            ));
        }
        Ok(())
    }

    /// Does this box intersect `[w, s, e, n]`?
    pub fn intersects(&self, b: &[f64; 4]) -> bool {
        b[0] <= self.east && b[2] >= self.west && b[1] <= self.north && b[3] >= self.south
    }

    /// Grow by `deg` degrees on every side.
    pub fn buffered(&self, deg: f64) -> LonLatBox {
        LonLatBox {
            west: (self.west - deg).max(-180.0),
            south: (self.south - deg).max(-90.0),
            east: (self.east + deg).min(180.0),
            north: (self.north + deg).min(90.0),
        }
    }
}

/// A projection with its parameters fixed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Projection {
    /// EPSG:3857.
    Mercator,
    /// Spherical Lambert conformal conic.
    Lcc {
        /// Central meridian, radians.
        lon0: f64,
        /// Cone constant.
        n: f64,
        /// R·F.
        rf: f64,
        /// ρ at the latitude of origin.
        rho0: f64,
        /// Standard parallels, degrees (for the credit line).
        parallels: [f64; 2],
    },
    /// Spherical Albers equal-area conic.
    Albers {
        /// Central meridian, radians.
        lon0: f64,
        /// Cone constant.
        n: f64,
        /// C = cos²φ1 + 2n·sin φ1.
        c: f64,
        /// ρ at the latitude of origin.
        rho0: f64,
        /// Standard parallels, degrees.
        parallels: [f64; 2],
    },
}

impl Projection {
    /// A projection of `kind` fitted to `bbox`: central meridian and latitude of origin at its
    /// centre, standard parallels at 1/6 and 5/6 of its latitude span.
    pub fn fitted(kind: ProjectionKind, bbox: &LonLatBox) -> Projection {
        let lon0 = (bbox.west + bbox.east) / 2.0;
        let lat0 = (bbox.south + bbox.north) / 2.0;
        let span = bbox.north - bbox.south;
        let (p1, p2) = (bbox.south + span / 6.0, bbox.south + span * 5.0 / 6.0);
        match kind {
            ProjectionKind::Mercator => Projection::Mercator,
            ProjectionKind::Lcc => Projection::lcc(lon0, lat0, p1, p2),
            ProjectionKind::Albers => Projection::albers(lon0, lat0, p1, p2),
        }
    }

    /// Lambert conformal conic with the given central meridian, origin and standard parallels (degrees).
    pub fn lcc(lon0: f64, lat0: f64, lat1: f64, lat2: f64) -> Projection {
        let (f0, f1, f2) = (lat0.to_radians(), lat1.to_radians(), lat2.to_radians());
        let t = |f: f64| (FRAC_PI_4 + f / 2.0).tan();
        let n = if (lat1 - lat2).abs() < 1e-9 { f1.sin() } else { (f1.cos() / f2.cos()).ln() / (t(f2) / t(f1)).ln() };
        let rf = EARTH_RADIUS * f1.cos() * t(f1).powf(n) / n;
        let rho0 = rf / t(f0).powf(n);
        Projection::Lcc { lon0: lon0.to_radians(), n, rf, rho0, parallels: [lat1, lat2] }
    }

    /// Albers equal-area conic with the given central meridian, origin and standard parallels (degrees).
    pub fn albers(lon0: f64, lat0: f64, lat1: f64, lat2: f64) -> Projection {
        let (f0, f1, f2) = (lat0.to_radians(), lat1.to_radians(), lat2.to_radians());
        let n = (f1.sin() + f2.sin()) / 2.0;
        let c = f1.cos().powi(2) + 2.0 * n * f1.sin();
        let rho0 = EARTH_RADIUS * (c - 2.0 * n * f0.sin()).sqrt() / n;
        Projection::Albers { lon0: lon0.to_radians(), n, c, rho0, parallels: [lat1, lat2] }
    }

    /// Project lon/lat degrees to metres (x east, y north).
    pub fn forward(&self, lon: f64, lat: f64) -> (f64, f64) {
        match *self {
            Projection::Mercator => {
                let lat = lat.clamp(-MERCATOR_MAX_LAT, MERCATOR_MAX_LAT).to_radians();
                (MERCATOR_RADIUS * lon.to_radians(), MERCATOR_RADIUS * (FRAC_PI_4 + lat / 2.0).tan().ln())
            }
            Projection::Lcc { lon0, n, rf, rho0, .. } => {
                let f = lat.clamp(-89.9, 89.9).to_radians();
                let rho = rf / (FRAC_PI_4 + f / 2.0).tan().powf(n);
                let theta = n * wrap(lon.to_radians() - lon0);
                (rho * theta.sin(), rho0 - rho * theta.cos())
            }
            Projection::Albers { lon0, n, c, rho0, .. } => {
                let f = lat.to_radians();
                let rho = EARTH_RADIUS * (c - 2.0 * n * f.sin()).max(0.0).sqrt() / n;
                let theta = n * wrap(lon.to_radians() - lon0);
                (rho * theta.sin(), rho0 - rho * theta.cos())
            }
        }
    }

    /// Unproject metres to lon/lat degrees.
    pub fn inverse(&self, x: f64, y: f64) -> (f64, f64) {
        match *self {
            Projection::Mercator => {
                let lon = (x / MERCATOR_RADIUS).to_degrees();
                let lat = (2.0 * (y / MERCATOR_RADIUS).exp().atan() - FRAC_PI_2).to_degrees();
                (lon, lat)
            }
            Projection::Lcc { lon0, n, rf, rho0, .. } => {
                let dy = rho0 - y;
                let rho = n.signum() * (x * x + dy * dy).sqrt();
                let theta = if n > 0.0 { x.atan2(dy) } else { (-x).atan2(-dy) };
                let lat =
                    if rho == 0.0 { FRAC_PI_2 * n.signum() } else { 2.0 * (rf / rho).powf(1.0 / n).atan() - FRAC_PI_2 };
                ((lon0 + theta / n).to_degrees(), lat.to_degrees())
            }
            Projection::Albers { lon0, n, c, rho0, .. } => {
                let dy = rho0 - y;
                let rho = (x * x + dy * dy).sqrt();
                let theta = if n > 0.0 { x.atan2(dy) } else { (-x).atan2(-dy) };
                let s = ((c - (rho * n / EARTH_RADIUS).powi(2)) / (2.0 * n)).clamp(-1.0, 1.0);
                ((lon0 + theta / n).to_degrees(), s.asin().to_degrees())
            }
        }
    }

    /// A short description for credit lines.
    pub fn describe(&self) -> String {
        match self {
            Projection::Mercator => "Web Mercator".to_string(),
            Projection::Lcc { parallels, .. } => {
                format!("Lambert conformal conic, standard parallels {:.1}°N and {:.1}°N", parallels[0], parallels[1])
            }
            Projection::Albers { parallels, .. } => {
                format!("Albers equal-area conic, standard parallels {:.1}°N and {:.1}°N", parallels[0], parallels[1])
            }
        }
    }
}

/// An angle in radians brought into −π…π by arithmetic (a loop would never end on 1e308).
fn wrap(a: f64) -> f64 {
    if (-PI..=PI).contains(&a) || !a.is_finite() {
        return a;
    }
    let w = (a + PI).rem_euclid(2.0 * PI) - PI;
    // rem_euclid may round up to exactly 2π for values just below a multiple of it.
    if w > PI {
        w - 2.0 * PI
    } else {
        w
    }
}

/// The smallest view a map may show, degrees of latitude or longitude (about 100 m):
/// closer in, the data (drawn from sources accurate to a few km) has nothing to show and
/// the projected coordinates outgrow what the rasteriser handles.
pub const MIN_VIEW_DEG: f64 = 0.001;

/// The largest scale a view may have, pixels per projected metre (1 px = 1 cm).
pub const MAX_PX_PER_METRE: f64 = 100.0;

/// Can `kind` show `bbox`? A conic projection needs a view wholly north or wholly south
/// of the equator (its cone constant is zero for a view centred on it), and no view may
/// be smaller than [`MIN_VIEW_DEG`].
pub fn check_view_box(kind: ProjectionKind, bbox: &LonLatBox) -> Result<(), String> {
    bbox.check()?;
    if bbox.east - bbox.west < MIN_VIEW_DEG || bbox.north - bbox.south < MIN_VIEW_DEG {
        return Err(format!(
            "bbox {},{},{},{} is smaller than {MIN_VIEW_DEG}° on a side (about 100 m); give a larger one",
            bbox.west, bbox.south, bbox.east, bbox.north
        ));
    }
    if kind != ProjectionKind::Mercator && bbox.south < 0.0 && bbox.north > 0.0 {
        return Err(format!(
            "bbox {},{},{},{} straddles the equator, which a conic projection cannot show; use --projection mercator",
            bbox.west, bbox.south, bbox.east, bbox.north
        ));
    }
    if kind != ProjectionKind::Mercator && (bbox.south <= -89.0 || bbox.north >= 89.0) {
        return Err(format!(
            "bbox {},{},{},{} reaches a pole, which a conic projection cannot show; keep within ±89° latitude",
            bbox.west, bbox.south, bbox.east, bbox.north
        ));
    }
    Ok(())
}

/// A projection plus an affine map from projected metres to image pixels (y down).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct View {
    /// The projection.
    pub projection: Projection,
    /// Image width, px.
    pub width: u32,
    /// Image height, px.
    pub height: u32,
    /// Pixels per projected metre.
    pub scale: f64,
    /// Projected x at pixel column 0.
    pub x0: f64,
    /// Projected y at pixel row 0.
    pub y0: f64,
}

impl View {
    /// Fit `bbox` whole into a `width`×`height` image, keeping aspect (the other dimension is
    /// padded equally on both sides, never cropped).
    pub fn fit(projection: Projection, bbox: &LonLatBox, width: u32, height: u32) -> View {
        let [minx, miny, maxx, maxy] = projected_extent(&projection, bbox);
        View::fit_projected(projection, [minx, miny, maxx, maxy], width, height)
    }

    /// Fit `bbox` whole into the part of the image above a band of `bottom_px` (where an
    /// animation's caption and timeline sit), centred in that part.
    pub fn fit_above(projection: Projection, bbox: &LonLatBox, width: u32, height: u32, bottom_px: f64) -> View {
        let inner = (f64::from(height) - bottom_px).max(1.0);
        let e = projected_extent(&projection, bbox);
        let mut v = View::fit_projected(projection, e, width, inner.round() as u32);
        v.height = height;
        v
    }

    /// Fit a box in projected metres `[minx, miny, maxx, maxy]` into the image, centred.
    pub fn fit_projected(projection: Projection, ext: [f64; 4], width: u32, height: u32) -> View {
        let (w, h) = (f64::from(width.max(1)), f64::from(height.max(1)));
        let dx = (ext[2] - ext[0]).max(1e-9);
        let dy = (ext[3] - ext[1]).max(1e-9);
        let scale = (w / dx).min(h / dy);
        let cx = (ext[0] + ext[2]) / 2.0;
        let cy = (ext[1] + ext[3]) / 2.0;
        View { projection, width, height, scale, x0: cx - w / 2.0 / scale, y0: cy + h / 2.0 / scale }
    }

    /// Is this view drawable: a finite projection and scale no finer than
    /// [`MAX_PX_PER_METRE`]?
    pub fn check(&self) -> Result<(), String> {
        let finite = [self.scale, self.x0, self.y0].iter().all(|v| v.is_finite());
        let params_finite = match self.projection {
            Projection::Mercator => true,
            Projection::Lcc { n, rf, rho0, .. } => n.is_finite() && n != 0.0 && rf.is_finite() && rho0.is_finite(),
            Projection::Albers { n, c, rho0, .. } => n.is_finite() && n != 0.0 && c.is_finite() && rho0.is_finite(),
        };
        if !finite || !params_finite || self.scale <= 0.0 {
            return Err("the projection is undefined for this view; try --projection mercator".into());
        }
        if self.scale > MAX_PX_PER_METRE {
            return Err(format!(
                "the view is {:.0} px per metre, finer than {MAX_PX_PER_METRE}; give a larger --bbox or a smaller image",
                self.scale
            ));
        }
        Ok(())
    }

    /// The image height that keeps `bbox`'s aspect at `width` (for `--width` alone).
    pub fn height_for_width(projection: &Projection, bbox: &LonLatBox, width: u32) -> u32 {
        let e = projected_extent(projection, bbox);
        let h = f64::from(width) * (e[3] - e[1]) / (e[2] - e[0]).max(1e-9);
        (h.round() as u32).max(1)
    }

    /// Pixel position (x right, y down; pixel centres at +0.5) of a lon/lat point.
    pub fn to_px(&self, lon: f64, lat: f64) -> (f64, f64) {
        let (x, y) = self.projection.forward(lon, lat);
        ((x - self.x0) * self.scale, (self.y0 - y) * self.scale)
    }

    /// Lon/lat of a pixel position.
    pub fn to_lonlat(&self, px: f64, py: f64) -> (f64, f64) {
        self.projection.inverse(self.x0 + px / self.scale, self.y0 - py / self.scale)
    }

    /// The lon/lat box covering everything visible in the image (plus `margin_px`), for index queries.
    pub fn visible_bbox(&self, margin_px: f64) -> LonLatBox {
        let (w, h) = (f64::from(self.width), f64::from(self.height));
        let mut b = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
        let steps = 32;
        for i in 0..=steps {
            let t = f64::from(i) / f64::from(steps);
            for (px, py) in [
                (-margin_px + t * (w + 2.0 * margin_px), -margin_px),
                (-margin_px + t * (w + 2.0 * margin_px), h + margin_px),
                (-margin_px, -margin_px + t * (h + 2.0 * margin_px)),
                (w + margin_px, -margin_px + t * (h + 2.0 * margin_px)),
            ] {
                let (lon, lat) = self.to_lonlat(px, py);
                if lon.is_finite() && lat.is_finite() {
                    b = [b[0].min(lon), b[1].min(lat), b[2].max(lon), b[3].max(lat)];
                }
            }
        }
        LonLatBox { west: b[0].max(-180.0), south: b[1].max(-90.0), east: b[2].min(180.0), north: b[3].min(90.0) }
    }

    /// Kilometres per pixel along the parallel through pixel (px, py).
    pub fn km_per_px_at(&self, px: f64, py: f64) -> f64 {
        let (lon, lat) = self.to_lonlat(px, py);
        let d_km = 10.0;
        let dlon = (d_km * 1000.0 / (EARTH_RADIUS * lat.to_radians().cos())).to_degrees();
        let (x1, y1) = self.to_px(lon - dlon / 2.0, lat);
        let (x2, y2) = self.to_px(lon + dlon / 2.0, lat);
        d_km / (x2 - x1).hypot(y2 - y1)
    }
}

/// The projected extent of a lon/lat box, sampling its edges (conic edges curve).
pub fn projected_extent(projection: &Projection, bbox: &LonLatBox) -> [f64; 4] {
    let mut e = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
    let steps = 64;
    for i in 0..=steps {
        let t = f64::from(i) / f64::from(steps);
        let lon = bbox.west + t * (bbox.east - bbox.west);
        let lat = bbox.south + t * (bbox.north - bbox.south);
        for (lo, la) in [(lon, bbox.south), (lon, bbox.north), (bbox.west, lat), (bbox.east, lat)] {
            let (x, y) = projection.forward(lo, la);
            e = [e[0].min(x), e[1].min(y), e[2].max(x), e[3].max(y)];
        }
    }
    e
}

/// Great-circle distance between two lon/lat points, km.
///
/// ```
/// // Turkistan to Tashkent is about 240 km as the crow flies.
/// let d = steppe_atlas::project::haversine_km((68.27, 43.30), (69.24, 41.30));
/// assert!((d - 236.0).abs() < 5.0, "{d}");
/// ```
pub fn haversine_km(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (la1, la2) = (a.1.to_radians(), b.1.to_radians());
    let dla = la2 - la1;
    let dlo = (b.0 - a.0).to_radians();
    let h = (dla / 2.0).sin().powi(2) + la1.cos() * la2.cos() * (dlo / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS / 1000.0 * h.sqrt().asin()
}

/// Lines of one view projected to pixels, kept from drawing to drawing of the same view
/// (a metatile in each map state of a tile run draws the same rivers, coasts and areas):
/// by the address, length and ends of their coordinates, which stay put while the data
/// lives (only the data's own coordinates may be projected through it).
/// Used by the thread that [`with_line_cache`] sets it for; a line of another view, or
/// past [`LINE_CACHE_POINTS`], is projected afresh.
pub struct LineCache {
    view: View,
    lines: std::sync::Mutex<LineMap>,
}

/// Projected lines by (coordinates' address, length, decimated, first and last
/// coordinates' bits: a line must lie at the same address with the same ends).
type LineMap = rustc_hash::FxHashMap<(usize, usize, bool, [u64; 4]), std::sync::Arc<[(f32, f32)]>>;

/// The most points all line caches of a process keep (8 bytes each).
pub const LINE_CACHE_POINTS: usize = 4 << 20;

static LINE_CACHE_USED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

thread_local! {
    static LINE_CACHE: std::cell::RefCell<Option<std::sync::Arc<LineCache>>> = const { std::cell::RefCell::new(None) };
}

impl LineCache {
    /// An empty cache for drawings of `view`.
    pub fn new(view: View) -> LineCache {
        LineCache { view, lines: std::sync::Mutex::new(LineMap::default()) }
    }
}

impl Drop for LineCache {
    fn drop(&mut self) {
        let n: usize = self.lines.get_mut().map(|m| m.values().map(|l| l.len()).sum()).unwrap_or(0);
        LINE_CACHE_USED.fetch_sub(n, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Run `f` (a drawing on this thread) with `cache` serving [`cached_line`].
pub fn with_line_cache<R>(cache: &std::sync::Arc<LineCache>, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<std::sync::Arc<LineCache>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let before = self.0.take();
            LINE_CACHE.with(|c| *c.borrow_mut() = before);
        }
    }
    let _restore = Restore(LINE_CACHE.with(|c| c.borrow_mut().replace(cache.clone())));
    f()
}

/// The pixels of a line of `view` (`decimated` tells which of two projections `project`
/// makes): from this thread's line cache when it holds it, else `project`'s, kept.
pub fn cached_line(
    view: &View,
    coords: &[geo::Coord<f64>],
    decimated: bool,
    project: impl FnOnce() -> Vec<(f32, f32)>,
) -> Vec<(f32, f32)> {
    let Some(cache) = LINE_CACHE.with(|c| c.borrow().clone()) else { return project() };
    if cache.view != *view {
        return project();
    }
    let (Some(a), Some(b)) = (coords.first(), coords.last()) else { return project() };
    let ends = [a.x.to_bits(), a.y.to_bits(), b.x.to_bits(), b.y.to_bits()];
    let key = (coords.as_ptr() as usize, coords.len(), decimated, ends);
    if let Some(line) = cache.lines.lock().expect("line cache").get(&key) {
        return line.to_vec();
    }
    let line = project();
    use std::sync::atomic::Ordering::Relaxed;
    if LINE_CACHE_USED.fetch_add(line.len(), Relaxed) + line.len() <= LINE_CACHE_POINTS {
        cache.lines.lock().expect("line cache").insert(key, line.as_slice().into());
    } else {
        LINE_CACHE_USED.fetch_sub(line.len(), Relaxed);
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    const KZ: LonLatBox = LonLatBox { west: 47.0, south: 36.5, east: 93.0, north: 56.5 };

    #[test]
    fn mercator_matches_epsg3857() {
        let p = Projection::Mercator;
        let (x, y) = p.forward(180.0, 0.0);
        assert!((x - 20_037_508.342_789_244).abs() < 1e-6 && y.abs() < 1e-6);
        let (_, y) = p.forward(0.0, MERCATOR_MAX_LAT);
        assert!((y - 20_037_508.342_789_244).abs() < 1e-3, "{y}");
        // Turkistan: x = R·λ, y = R·ln tan(π/4 + φ/2).
        let (x, y) = p.forward(68.27, 43.30);
        assert!((x - 7_599_781.636).abs() < 0.01, "{x}");
        assert!((y - 5_357_746.958).abs() < 0.01, "{y}");
    }

    #[test]
    fn round_trips() {
        for kind in [ProjectionKind::Mercator, ProjectionKind::Lcc, ProjectionKind::Albers] {
            let p = Projection::fitted(kind, &KZ);
            for lon in [47.0, 55.5, 68.27, 80.0, 93.0] {
                for lat in [36.5, 43.3, 50.0, 56.5] {
                    let (x, y) = p.forward(lon, lat);
                    let (lo, la) = p.inverse(x, y);
                    assert!((lo - lon).abs() < 1e-9 && (la - lat).abs() < 1e-9, "{kind:?} {lon},{lat} → {lo},{la}");
                }
            }
        }
    }

    #[test]
    fn lcc_is_true_scale_on_standard_parallels() {
        let p = Projection::lcc(70.0, 45.0, 40.0, 52.0);
        for lat in [40.0, 52.0] {
            // 1° of longitude along a standard parallel keeps its true length.
            let (x1, y1) = p.forward(69.5, lat);
            let (x2, y2) = p.forward(70.5, lat);
            let chord = (x2 - x1).hypot(y2 - y1);
            let truth = EARTH_RADIUS * 1f64.to_radians() * lat.to_radians().cos();
            assert!((chord / truth - 1.0).abs() < 1e-4, "lat {lat}: {chord} vs {truth}");
        }
        let (x, _) = p.forward(70.0, 60.0);
        assert!(x.abs() < 1e-6, "central meridian is straight");
    }

    #[test]
    fn albers_preserves_area() {
        let p = Projection::albers(70.0, 45.0, 40.0, 52.0);
        let cell = |lat: f64| {
            let a = p.forward(69.5, lat - 0.5);
            let b = p.forward(70.5, lat - 0.5);
            let c = p.forward(70.5, lat + 0.5);
            let d = p.forward(69.5, lat + 0.5);
            0.5 * ((a.0 * b.1 - b.0 * a.1)
                + (b.0 * c.1 - c.0 * b.1)
                + (c.0 * d.1 - d.0 * c.1)
                + (d.0 * a.1 - a.0 * d.1))
                .abs()
        };
        let sphere = |lat: f64| {
            EARTH_RADIUS.powi(2) * 1f64.to_radians() * ((lat + 0.5).to_radians().sin() - (lat - 0.5).to_radians().sin())
        };
        for lat in [38.0, 45.0, 55.0] {
            assert!((cell(lat) / sphere(lat) - 1.0).abs() < 1e-3, "lat {lat}");
        }
    }

    #[test]
    fn fit_keeps_whole_bbox_and_pads_other_dimension() {
        for kind in [ProjectionKind::Mercator, ProjectionKind::Lcc, ProjectionKind::Albers] {
            let p = Projection::fitted(kind, &KZ);
            let v = View::fit(p, &KZ, 1200, 1200);
            let mut minx = f64::MAX;
            let mut maxx = f64::MIN;
            let mut miny = f64::MAX;
            let mut maxy = f64::MIN;
            for i in 0..=100 {
                let t = f64::from(i) / 100.0;
                for (lo, la) in
                    [(47.0 + 46.0 * t, 36.5), (47.0 + 46.0 * t, 56.5), (47.0, 36.5 + 20.0 * t), (93.0, 36.5 + 20.0 * t)]
                {
                    let (x, y) = v.to_px(lo, la);
                    minx = minx.min(x);
                    maxx = maxx.max(x);
                    miny = miny.min(y);
                    maxy = maxy.max(y);
                }
            }
            // Wide region in a square image: fills the width exactly, padded equally top and bottom.
            assert!(minx.abs() < 1e-6 && (maxx - 1200.0).abs() < 1e-6, "{kind:?} {minx} {maxx}");
            assert!(miny > 0.0 && maxy < 1200.0);
            assert!((miny - (1200.0 - maxy)).abs() < 1e-6, "{kind:?} centred");
        }
    }

    #[test]
    fn pixel_round_trip_and_scale() {
        let v = View::fit(Projection::fitted(ProjectionKind::Lcc, &KZ), &KZ, 2000, 1400);
        let (px, py) = v.to_px(68.27, 43.30);
        let (lon, lat) = v.to_lonlat(px, py);
        assert!((lon - 68.27).abs() < 1e-9 && (lat - 43.30).abs() < 1e-9);
        // The scale at the centre agrees with a haversine distance measured on the map.
        let (cx, cy) = (1000.0, 700.0);
        let kmpp = v.km_per_px_at(cx, cy);
        let a = v.to_lonlat(cx - 100.0, cy);
        let b = v.to_lonlat(cx + 100.0, cy);
        let d = haversine_km(a, b);
        assert!((d / (200.0 * kmpp) - 1.0).abs() < 0.01, "{d} vs {}", 200.0 * kmpp);
    }

    #[test]
    fn wrap_is_arithmetic_and_total() {
        assert!((wrap(3.0 * PI) - PI).abs() < 1e-9 || (wrap(3.0 * PI) + PI).abs() < 1e-9);
        assert!((wrap(-0.5 - 4.0 * PI) + 0.5).abs() < 1e-9);
        for a in [1e308, -1e308, 1e20, 7.0, -7.0] {
            let w = wrap(a);
            assert!((-PI..=PI).contains(&w), "{a} → {w}");
        }
        assert!(wrap(f64::NAN).is_nan());
        // A conic projection of a far-off longitude ends, whatever the number.
        let p = Projection::fitted(ProjectionKind::Lcc, &KZ);
        let _ = p.forward(1e308, 45.0);
    }

    #[test]
    fn views_that_cannot_be_drawn_are_refused() {
        let equator = LonLatBox { west: 60.0, south: -10.0, east: 80.0, north: 10.0 };
        let e = check_view_box(ProjectionKind::Lcc, &equator).unwrap_err();
        assert!(e.contains("straddles the equator") && e.contains("--projection mercator"), "{e}");
        assert!(check_view_box(ProjectionKind::Albers, &equator).is_err());
        assert!(check_view_box(ProjectionKind::Mercator, &equator).is_ok());
        let tiny = LonLatBox { west: 68.27, south: 43.3, east: 68.270_000_1, north: 43.300_000_1 };
        assert!(check_view_box(ProjectionKind::Mercator, &tiny).unwrap_err().contains("smaller than"));
        assert!(check_view_box(ProjectionKind::Lcc, &KZ).is_ok());
        // A fine view is refused by its scale.
        let small = LonLatBox { west: 68.27, south: 43.3, east: 68.271, north: 43.301 };
        let v = View::fit(Projection::fitted(ProjectionKind::Lcc, &small), &small, 20_000, 20_000);
        assert!(v.check().unwrap_err().contains("px per metre"));
        let v = View::fit(Projection::fitted(ProjectionKind::Lcc, &KZ), &KZ, 2000, 1400);
        assert!(v.check().is_ok());
    }

    #[test]
    fn bbox_parsing() {
        assert!(LonLatBox::parse("47,36.5,93,56.5").is_ok());
        assert!(LonLatBox::parse("93,36.5,47,56.5").is_err());
        assert!(LonLatBox::parse("47,36.5,93").is_err());
        assert!(LonLatBox::parse("47,36.5,93,x").is_err());
        assert!(LonLatBox::parse("47,-100,93,56").is_err());
    }

    #[test]
    fn the_line_cache_serves_its_own_view_and_the_same_line_only() {
        let view = View::fit(Projection::Mercator, &KZ, 800, 600);
        let other = View::fit(Projection::Mercator, &KZ, 400, 300);
        let project = |v: &View, cs: &[geo::Coord<f64>]| {
            cs.iter().map(|c| v.to_px(c.x, c.y)).map(|(x, y)| (x as f32, y as f32)).collect::<Vec<_>>()
        };
        let mut line: Vec<geo::Coord<f64>> = vec![(50.0, 40.0).into(), (60.0, 45.0).into(), (70.0, 50.0).into()];
        let cache = std::sync::Arc::new(LineCache::new(view));
        let calls = std::cell::Cell::new(0);
        let through = |v: &View, cs: &[geo::Coord<f64>]| {
            cached_line(v, cs, false, || {
                calls.set(calls.get() + 1);
                project(v, cs)
            })
        };
        with_line_cache(&cache, || {
            assert_eq!(through(&view, &line), project(&view, &line));
            assert_eq!(through(&view, &line), project(&view, &line));
            assert_eq!(calls.get(), 1, "the second drawing of a line is served from the cache");
            // Another view is projected afresh, never served another view's pixels.
            assert_eq!(through(&other, &line), project(&other, &line));
            assert_eq!(calls.get(), 2);
            // The same address and length with other ends is another line.
            line[2] = (80.0, 52.0).into();
            assert_eq!(through(&view, &line), project(&view, &line));
            assert_eq!(calls.get(), 3);
        });
        // Outside `with_line_cache` nothing is kept or served.
        assert_eq!(through(&view, &line), project(&view, &line));
        assert_eq!(calls.get(), 4);
    }
}
