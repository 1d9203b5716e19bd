//! One feature of a layer: geometry, names, time span and layer-specific attributes,
//! parsed from GeoJSON with per-feature error messages.

use super::raw::{Geom, GeomType, Nested, PVal, Props, RawFeature};
use super::Layer;
use crate::error::Problem;
use crate::time::{DateError, DateValue, EndDates, Span, Year};
use geo::{Coord, LineString, MultiLineString, MultiPolygon, Point, Polygon};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::sync::Arc;

/// Names of a feature in several languages; `en` is the `name` property.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Names {
    /// `name` (English).
    pub en: String,
    /// The names in other languages, boxed: most features of a large dataset have none,
    /// and a feature without them stays small.
    more: Option<Box<MoreNames>>,
}

/// The names of a feature besides the English one.
#[derive(Clone, Debug, Default, PartialEq)]
struct MoreNames {
    kk: Option<String>,
    ru: Option<String>,
    other: Vec<(String, String)>,
}

impl Names {
    /// Names from the English one, `name:kk`, `name:ru` and any other `name:*` (code, name).
    pub fn new(en: String, kk: Option<String>, ru: Option<String>, other: Vec<(String, String)>) -> Names {
        let more = (kk.is_some() || ru.is_some() || !other.is_empty()).then(|| Box::new(MoreNames { kk, ru, other }));
        Names { en, more }
    }

    /// `name:kk` (Kazakh).
    pub fn kk(&self) -> &Option<String> {
        self.more.as_ref().map_or(&None, |m| &m.kk)
    }

    /// `name:ru` (Russian).
    pub fn ru(&self) -> &Option<String> {
        self.more.as_ref().map_or(&None, |m| &m.ru)
    }

    /// `name:*` in any other language, keyed by its code (`name:de` → `de`).
    pub fn other(&self) -> &[(String, String)] {
        self.more.as_ref().map_or(&[], |m| &m.other)
    }

    /// The name in `lang` (`en`, `kk`, `ru` or any `name:*` code), falling back to English.
    pub fn get(&self, lang: &str) -> &str {
        let other = match lang {
            "kk" => self.kk().as_deref(),
            "ru" => self.ru().as_deref(),
            code => self.other().iter().find(|(c, _)| c == code).map(|(_, n)| n.as_str()),
        };
        other.filter(|n| !n.is_empty()).unwrap_or(&self.en)
    }
}

/// How sure the sources are about a feature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Certainty {
    /// Roughly right (nomadic borders, uncertain sites).
    Approximate,
    /// The sources disagree.
    Disputed,
}

/// What a place is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CityKind {
    /// A capital or khan's seat.
    Capital,
    /// A town.
    City,
    /// A fortress or fortified line post.
    Fortress,
    /// A site: kurultai place, camp, ruin.
    Site,
}

/// What a campaign route was.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CampaignKind {
    /// An army's advance.
    Advance,
    /// A retreat.
    Retreat,
    /// A raid.
    Raid,
    /// A flight or migration of people.
    Flight,
}

/// The status of a holder in a control span.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    /// Held as its own land.
    Core,
    /// Held by force, recently taken.
    Occupied,
    /// Ruled by its own polity under an overlord.
    Tributary,
    /// Claimed and fought over.
    Contested,
    /// A city under siege.
    Besieged,
    /// A city destroyed.
    Destroyed,
    /// A town that holds out inside land another polity holds.
    Holdout,
    /// A fort or town of one polity inside another's land (a fortified line's posts).
    Enclave,
}

impl Status {
    /// The status's name in the data.
    pub fn name(self) -> &'static str {
        match self {
            Status::Core => "core",
            Status::Occupied => "occupied",
            Status::Tributary => "tributary",
            Status::Contested => "contested",
            Status::Besieged => "besieged",
            Status::Destroyed => "destroyed",
            Status::Holdout => "holdout",
            Status::Enclave => "enclave",
        }
    }
}

/// One span of `control`: who held a place, how, and when.
#[derive(Clone, Debug, PartialEq)]
pub struct ControlSpan {
    /// When.
    pub span: Span,
    /// The holder's polity id.
    pub polity: String,
    /// How it was held.
    pub status: Status,
    /// The overlord's polity id for tributary land.
    pub overlord: Option<String>,
    /// Citation.
    pub source: Option<String>,
}

/// A span of years in which a place of `kind` `capital` was a capital (the `capital`
/// property of a city: `[{"from": "1740", "polity": "kokand"}]`). A capital without such
/// spans is a capital for all its life; with them, it is a town outside them.
#[derive(Clone, Debug, PartialEq)]
pub struct CapitalSpan {
    /// When it was a capital.
    pub span: Span,
    /// Whose capital it was (a polity id), if given.
    pub polity: Option<String>,
    /// Citation.
    pub source: Option<String>,
}

/// Army size: a number or a range.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Strength {
    /// A single figure.
    Exact(f64),
    /// `[min, max]`.
    Range(f64, f64),
}

impl Strength {
    /// Short text: `30,000` or `25,000–50,000`.
    pub fn label(&self) -> String {
        self.label_in("en")
    }

    /// Short text as written in language `lang`: thousands set off by a comma in English,
    /// by a (no-break) space in Kazakh, Russian and the rest: `30 000`.
    pub fn label_in(&self, lang: &str) -> String {
        let sep = if lang == "en" { ',' } else { '\u{a0}' };
        match self {
            Strength::Exact(n) => thousands(*n, sep),
            Strength::Range(a, b) => format!("{}–{}", thousands(*a, sep), thousands(*b, sep)),
        }
    }
}

fn thousands(n: f64, sep: char) -> String {
    let s = format!("{}", n.round() as i64);
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 && ch != '-' {
            out.push(sep);
        }
        out.push(ch);
    }
    out
}

/// The members of a properties object: sorted by key, each key's text shared.
type Members = Box<[(Arc<str>, Value)]>;

/// A feature's GeoJSON properties as given: a compact map, in key order, with the lookups
/// of `serde_json::Map`.
///
/// Most properties are typed when a feature is read (id, names, dates, control, …) and
/// are looked up again only for `query` output and a few rare keys. So a feature read from
/// a file keeps the properties object's JSON text (one allocation, the size of the text)
/// and a 64-bit mask of its keys' hashes; the members are read from the text the first
/// time a key the mask may hold is asked for, and kept. A lookup of a key that is not
/// there costs a hash. (At 100,000 towns, members held as JSON values were ~300 bytes a
/// town in five allocations.)
#[derive(Clone, Debug, Default)]
pub struct Properties {
    /// The object's JSON text, when the members are read from it on demand.
    text: Option<Box<str>>,
    /// A bit per key of the text ([`key_bit`]): a key whose bit is clear is not there.
    mask: u64,
    /// The members, once read (boxed: a pointer's room in every feature).
    members: std::sync::OnceLock<Box<Members>>,
}

/// The bits of `key` in [`Properties`]'s mask: two of 64, from its FNV-1a hash (with one,
/// a town's four keys let a twelfth of look-ups for absent keys through).
pub(super) const fn key_bit(key: &str) -> u64 {
    let bytes = key.as_bytes();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        h = (h ^ bytes[i] as u64).wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    1 << (h >> 58) | 1 << ((h >> 52) & 63)
}

impl PartialEq for Properties {
    fn eq(&self, other: &Properties) -> bool {
        self.members() == other.members()
    }
}

impl Properties {
    fn with_members(members: Members) -> Properties {
        Properties { text: None, mask: 0, members: std::sync::OnceLock::from(Box::new(members)) }
    }

    /// The members, read from the text the first time.
    fn members(&self) -> &[(Arc<str>, Value)] {
        self.members.get_or_init(|| {
            // The text was read once already, as these members: it cannot fail now.
            let text = self.text.as_deref().unwrap_or("{}");
            Box::new(members_of(text).unwrap_or_default())
        })
    }

    /// Keep the members as their JSON `text` (which must read back as these members) and
    /// read them again when asked for.
    #[cfg(test)]
    pub(super) fn into_text(self, text: Box<str>) -> Properties {
        let mask = self.members().iter().fold(0, |m, (k, _)| m | key_bit(k));
        Properties { text: Some(text), mask, members: std::sync::OnceLock::new() }
    }

    /// Properties kept as the JSON text of an object whose keys have the mask `mask`
    /// (each key's [`key_bit`]); the members are read from the text when asked for.
    pub(super) fn from_text(text: Box<str>, mask: u64) -> Properties {
        Properties { text: Some(text), mask, members: std::sync::OnceLock::new() }
    }

    /// The JSON text the members are kept as, and the mask of its keys.
    #[cfg(test)]
    pub(super) fn text_and_mask(&self) -> (Option<&str>, u64) {
        (self.text.as_deref(), self.mask)
    }

    /// Are the members kept as their JSON text?
    #[cfg(test)]
    pub(super) fn is_text(&self) -> bool {
        self.text.is_some()
    }

    /// The same properties without the members read from the text so far (they are read
    /// again when asked for).
    fn unread(self) -> Properties {
        match self.text {
            Some(_) => Properties { members: std::sync::OnceLock::new(), ..self },
            None => self,
        }
    }

    /// Might the key of `bits` (its [`key_bit`]) be there? (`false`: it is not.)
    #[inline]
    pub(super) fn may_hold_bits(&self, bits: u64) -> bool {
        self.text.is_none() || self.mask & bits == bits
    }

    /// The members into `out` (empty), in the order given (a key given twice is there
    /// twice): read from the text (not kept), else copied.
    fn members_into<'a>(&'a self, out: &mut Vec<(Cow<'a, str>, PVal<'a>)>) {
        match &self.text {
            // The text was read once already, as an object: it cannot fail now.
            Some(text) => {
                if super::raw::read_members(text, out).is_err() {
                    out.clear();
                }
            }
            None => out.extend(self.members().iter().map(|(k, v)| {
                let v = match v {
                    Value::String(s) => PVal::Str(Cow::Borrowed(s.as_str())),
                    v => PVal::Other(v.clone()),
                };
                (Cow::Borrowed(&**k), v)
            })),
        }
    }

    /// Might `key` be there? (`false`: it is not.)
    #[inline]
    fn may_hold(&self, key: &str) -> bool {
        self.may_hold_bits(key_bit(key))
    }

    fn find(&self, key: &str) -> Option<usize> {
        let members = self.members();
        if members.len() <= 16 {
            // A feature's few properties: a scan that compares lengths first beats a
            // binary search that compares text at every step.
            return members.iter().position(|(k, _)| k.len() == key.len() && **k == *key);
        }
        members.binary_search_by(|(k, _)| (**k).cmp(key)).ok()
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        if !self.may_hold(key) {
            return None;
        }
        self.find(key).map(|i| &self.members()[i].1)
    }

    /// Is `key` there? (Answered from the text, without reading the members, when they
    /// have not been read.)
    pub fn contains_key(&self, key: &str) -> bool {
        if !self.may_hold(key) {
            return false;
        }
        match (&self.text, self.members.get()) {
            (Some(text), None) => super::raw::has_key(text, key),
            _ => self.find(key).is_some(),
        }
    }

    /// The keys, in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.members().iter().map(|(k, _)| &**k)
    }

    /// The keys and values, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.members().iter().map(|(k, v)| (&**k, v))
    }

    /// How many properties.
    pub fn len(&self) -> usize {
        self.members().len()
    }

    /// No properties?
    pub fn is_empty(&self) -> bool {
        self.members().is_empty()
    }

    /// The properties as a JSON object (for output).
    pub fn to_map(&self) -> Map<String, Value> {
        self.members().iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
    }

    /// Members as read, in any order: sorted by key, and of a key given twice the last
    /// is kept (as a JSON object read into a map keeps it).
    pub(super) fn from_members(mut members: Vec<(Arc<str>, Value)>) -> Properties {
        Properties::from_scratch(&mut members)
    }

    /// [`Properties::from_members`] from a buffer that is left empty (its capacity kept for
    /// the next feature): one allocation of the exact size per feature.
    pub(super) fn from_scratch(members: &mut Vec<(Arc<str>, Value)>) -> Properties {
        Properties::with_members(sorted_members(members))
    }

    /// Rename `from` to `to` (unless `to` is there already). Members kept as text are
    /// read first, and kept as members.
    pub(super) fn rename(&mut self, from: &str, to: Arc<str>) {
        if self.contains_key(&to) {
            return;
        }
        let mut members = self.members().to_vec();
        for m in &mut members {
            if &*m.0 == from {
                m.0 = to.clone();
            }
        }
        *self = Properties::from_members(members);
    }
}

/// The members of a JSON object's text.
fn members_of(text: &str) -> Option<Members> {
    match super::raw::parse_props(text, &mut KeyTexts::default()) {
        Ok(Props::Object(p)) => p.members.into_inner().map(|m| *m),
        _ => None,
    }
}

/// Members sorted by key, the last of a key given twice kept; `members` is left empty.
fn sorted_members(members: &mut Vec<(Arc<str>, Value)>) -> Members {
    members.reverse();
    members.sort_by(|a, b| a.0.cmp(&b.0)); // stable: the last given comes first
    members.dedup_by(|later, first| later.0 == first.0);
    members.drain(..).collect()
}

impl From<Map<String, Value>> for Properties {
    fn from(map: Map<String, Value>) -> Properties {
        let mut keys = KeyTexts::default();
        Properties::from_members(map.into_iter().map(|(k, v)| (keys.share(&k), v)).collect())
    }
}

impl From<&Properties> for Value {
    fn from(p: &Properties) -> Value {
        Value::Object(p.to_map())
    }
}

/// Key texts shared by the features read together. A file has a few distinct keys: they
/// are found by a scan that compares lengths first (hashing each key cost more than the
/// scan); past [`KeyTexts::FEW`] keys a hash set takes the rest.
#[derive(Default)]
pub(super) struct KeyTexts {
    few: Vec<Arc<str>>,
    many: std::collections::HashSet<Arc<str>>,
}

impl KeyTexts {
    const FEW: usize = 48;

    /// The shared text of `key`.
    pub(super) fn share(&mut self, key: &str) -> Arc<str> {
        if let Some(k) = self.few.iter().find(|k| k.len() == key.len() && ***k == *key) {
            return k.clone();
        }
        if let Some(k) = self.many.get(key) {
            return k.clone();
        }
        let k: Arc<str> = Arc::from(key);
        if self.few.len() < Self::FEW {
            self.few.push(k.clone());
        } else {
            self.many.insert(k.clone());
        }
        k
    }
}

/// A feature's geometry in lon/lat degrees.
#[derive(Clone, Debug, PartialEq)]
pub enum Geometry {
    /// Events without a place.
    None,
    /// Cities, battles, events, landform anchors.
    Point(Point<f64>),
    /// Rivers and routes (a route is one line in marching order).
    Lines(MultiLineString<f64>),
    /// Territories, water, landform areas.
    Areas(MultiPolygon<f64>),
}

/// A feature of any layer. Layer-specific attributes are `None`/empty where they do not apply.
///
/// Attributes that few features have (a battle's victor, a route's side, dates written
/// for display, capital spans, …) are boxed together and read through methods, so that a
/// town of a large dataset costs a few hundred bytes, not twice that.
#[derive(Clone, Debug)]
pub struct Feature {
    /// The layer it belongs to.
    pub layer: Layer,
    /// The file it was read from (`territories.geojson`, `export.geojson`).
    pub file: Arc<str>,
    /// Unique id.
    pub id: String,
    /// Names by language.
    pub names: Names,
    /// When it existed (`start_date`/`end_date`, or `date`).
    pub span: Span,
    /// Uncertainty flag.
    pub certainty: Option<Certainty>,
    /// Geometry.
    pub geometry: Geometry,
    /// The envelope of a line or area (a point's is the point: see [`Feature::bbox`]).
    extent: Option<Box<[f64; 4]>>,
    /// Control timeline (cities, territories).
    pub control: Vec<ControlSpan>,
    /// `kind` for cities: the kind the place has at any time of its life; a capital's
    /// years as capital are in [`Feature::capital`] (see [`Feature::kind_in`]).
    pub city_kind: CityKind,
    /// `kind` for campaigns.
    pub campaign_kind: CampaignKind,
    /// River rank 1 (major) … 3 (minor); city rank 1 … 5 (5 most important).
    pub rank: u8,
    /// The attributes few features have (`None`: none of them).
    rare: Option<Box<Rare>>,
    /// All GeoJSON properties as given (for `query` output).
    pub properties: Properties,
}

/// The attributes of a feature that few features have.
#[derive(Clone, Debug, Default, PartialEq)]
struct Rare {
    date_label: Option<String>,
    capital: Vec<CapitalSpan>,
    victor: Option<String>,
    side: Option<String>,
    belligerents: Vec<String>,
    commanders: Vec<String>,
    strength: Option<Strength>,
}

impl Rare {
    /// `None` when it holds nothing: the feature then carries no box.
    fn boxed(self) -> Option<Box<Rare>> {
        let Rare { date_label, capital, victor, side, belligerents, commanders, strength } = &self;
        let empty = date_label.is_none()
            && capital.is_empty()
            && victor.is_none()
            && side.is_none()
            && belligerents.is_empty()
            && commanders.is_empty()
            && strength.is_none();
        (!empty).then(|| Box::new(self))
    }
}

impl Feature {
    /// Envelope `[west, south, east, north]` (`None` for an event without a place).
    pub fn bbox(&self) -> Option<[f64; 4]> {
        match &self.geometry {
            Geometry::Point(p) => Some([p.x(), p.y(), p.x(), p.y()]),
            _ => self.extent.as_deref().copied(),
        }
    }

    /// The original date string(s) for display (`"1729"`, `"1681–1683"`).
    pub fn date_label(&self) -> &Option<String> {
        self.rare.as_ref().map_or(&None, |r| &r.date_label)
    }

    /// Does the feature name polity `id` anywhere its drawing reads polities: as a holder
    /// or overlord, whose capital it was, a battle's victor or side, a route's side?
    pub fn mentions_polity(&self, id: &str) -> bool {
        let is = |p: &Option<String>| p.as_deref() == Some(id);
        self.control.iter().any(|c| c.polity == id || is(&c.overlord))
            || self.capital().iter().any(|c| is(&c.polity))
            || is(self.victor())
            || is(self.side())
            || self.belligerents().iter().any(|b| b == id)
    }

    /// When a capital was a capital (empty: all its life).
    pub fn capital(&self) -> &[CapitalSpan] {
        self.rare.as_ref().map_or(&[], |r| &r.capital)
    }

    /// `kind` free text (water, landforms; a city's as given).
    pub fn kind(&self) -> Option<&str> {
        self.properties.get("kind").and_then(Value::as_str)
    }

    /// Battle victor (a polity id).
    pub fn victor(&self) -> &Option<String> {
        self.rare.as_ref().map_or(&None, |r| &r.victor)
    }

    /// Campaign side (a polity id).
    pub fn side(&self) -> &Option<String> {
        self.rare.as_ref().map_or(&None, |r| &r.side)
    }

    /// Battle belligerents (polity ids).
    pub fn belligerents(&self) -> &[String] {
        self.rare.as_ref().map_or(&[], |r| &r.belligerents)
    }

    /// Commander(s).
    pub fn commanders(&self) -> &[String] {
        self.rare.as_ref().map_or(&[], |r| &r.commanders)
    }

    /// Army size.
    pub fn strength(&self) -> &Option<Strength> {
        self.rare.as_ref().map_or(&None, |r| &r.strength)
    }

    /// Is the feature alive in year `y`?
    pub fn alive(&self, y: Year) -> bool {
        self.span.overlaps_year(y)
    }

    /// The control span in force in year `y` (latest start wins).
    pub fn holder(&self, y: Year) -> Option<&ControlSpan> {
        crate::time::in_force(&self.control, y, |c| c.span)
    }

    /// The last other holder before the span `now` (the former holder of occupied land,
    /// the other party of contested land).
    pub fn former_holder(&self, now: &ControlSpan) -> Option<&str> {
        self.control
            .iter()
            .filter(|c| c.span.start < now.span.start && c.polity != now.polity)
            .max_by_key(|c| c.span.start)
            .map(|c| c.polity.as_str())
    }

    /// The line of forts a town belongs to (its `line` property), drawn through all the
    /// line's towns.
    pub fn fort_line(&self) -> Option<&str> {
        self.properties.get("line").and_then(|v| v.as_str())
    }

    /// The name of the town's line of forts in language `lang` (`line:kk`, `line:ru`),
    /// else as given.
    pub fn fort_line_name(&self, lang: &str) -> Option<&str> {
        let own = (lang != "en").then(|| self.properties.get(&format!("line:{lang}"))).flatten();
        own.and_then(|v| v.as_str()).filter(|s| !s.trim().is_empty()).or_else(|| self.fort_line())
    }

    /// What the place is in year `y`: a capital only in the years of its `capital` spans
    /// (if it has any); a town before and after. Other kinds do not change.
    pub fn kind_in(&self, y: Year) -> CityKind {
        if self.city_kind == CityKind::Capital
            && !self.capital().is_empty()
            && !self.capital().iter().any(|c| c.span.overlaps_year(y))
        {
            CityKind::City
        } else {
            self.city_kind
        }
    }

    /// The name in `lang` with fallback to English.
    pub fn name(&self, lang: &str) -> &str {
        self.names.get(lang)
    }

    /// Every polity id this feature refers to (a polity may come more than once).
    pub fn polity_ids(&self) -> impl Iterator<Item = &str> {
        let control = self.control.iter().flat_map(|c| std::iter::once(c.polity.as_str()).chain(c.overlord.as_deref()));
        control
            .chain(self.capital().iter().filter_map(|c| c.polity.as_deref()))
            .chain(self.victor().as_deref())
            .chain(self.side().as_deref())
            .chain(self.belligerents().iter().map(String::as_str))
    }
}

/// Parse the features of one layer read from `file` (each with its index in that file)
/// into the first slots of `out` (a slot per feature given), in order, pushing a problem
/// for every malformed feature, which is left out; returns how many slots were written.
/// Each feature's properties and coordinates move into the typed feature: held once.
pub(super) fn parse_features(
    layer: Layer,
    file: &Arc<str>,
    items: impl Iterator<Item = (usize, RawFeature)>,
    mode: EndDates,
    problems: &mut Vec<Problem>,
    out: &mut [std::mem::MaybeUninit<Feature>],
) -> usize {
    // The room for a feature's members, kept from one feature to the next.
    let mut room: Vec<Member<'static>> = Vec::with_capacity(8);
    let mut written = 0;
    for (i, raw) in items {
        let mut ctx = Ctx { file, index: i, id: String::new(), problems: &mut *problems, ok: true };
        if let Some(f) = parse_feature(layer, raw, mode, &mut ctx, &mut room) {
            if ctx.ok {
                out[written].write(f);
                written += 1;
            }
        }
    }
    written
}

struct Ctx<'a> {
    file: &'a Arc<str>,
    /// The feature's position in its file (how it is named until its id is known).
    index: usize,
    /// The feature's id, once read.
    id: String,
    problems: &'a mut Vec<Problem>,
    ok: bool,
}

impl Ctx<'_> {
    fn name(&self) -> std::borrow::Cow<'_, str> {
        if self.id.is_empty() {
            format!("#{}", self.index).into()
        } else {
            self.id.as_str().into()
        }
    }

    fn err(&mut self, msg: impl Into<String>) {
        self.ok = false;
        let p = Problem::error(self.file, Some(&self.name()), msg);
        self.problems.push(p);
    }

    fn warn(&mut self, msg: impl Into<String>) {
        let p = Problem::warning(self.file, Some(&self.name()), msg);
        self.problems.push(p);
    }
}

/// The properties that typing a feature reads, found in one pass over its properties: each
/// of the ~30 lookups of [`parse_feature`] is then one load (a scan of the properties per
/// lookup was a tenth of a large dataset's load). Other keys fall back to a scan.
struct Known<'p> {
    /// The members, in the order given.
    members: &'p [(Cow<'p, str>, PVal<'p>)],
    slots: [Option<&'p PVal<'p>>; Known::KEYS.len()],
}

/// A property value as typing looks at it: a string (read from the text, or a JSON
/// string), or any other JSON value (never a string).
#[derive(Clone, Copy, Debug)]
enum R<'a> {
    Str(&'a str),
    Val(&'a Value),
}

impl<'a> R<'a> {
    fn of(v: &'a Value) -> R<'a> {
        match v {
            Value::String(s) => R::Str(s),
            v => R::Val(v),
        }
    }

    fn of_p(v: &'a PVal<'a>) -> R<'a> {
        match v {
            PVal::Str(s) => R::Str(s),
            PVal::Other(v) => R::of(v),
        }
    }

    fn as_str(self) -> Option<&'a str> {
        match self {
            R::Str(s) => Some(s),
            R::Val(_) => None,
        }
    }

    fn is_null(self) -> bool {
        matches!(self, R::Val(Value::Null))
    }
}

impl<'p> Known<'p> {
    const KEYS: [&'static str; 29] = [
        "id",
        "@id",
        "osm_id",
        "name",
        "name:kk",
        "name:ru",
        "name:en",
        "date",
        "start_date",
        "end_date",
        "start_date:edtf",
        "end_date:edtf",
        "certainty",
        "control",
        "polity",
        "source",
        "kind",
        "place",
        "capital",
        "historic",
        "rank",
        "strength",
        "victor",
        "side",
        "belligerents",
        "commanders",
        "commander",
        "caption",
        "boundary",
    ];

    /// The slot of a key (a match that folds away for a literal key).
    #[inline(always)]
    fn slot(key: &str) -> Option<usize> {
        Some(match key {
            "id" => 0,
            "@id" => 1,
            "osm_id" => 2,
            "name" => 3,
            "name:kk" => 4,
            "name:ru" => 5,
            "name:en" => 6,
            "date" => 7,
            "start_date" => 8,
            "end_date" => 9,
            "start_date:edtf" => 10,
            "end_date:edtf" => 11,
            "certainty" => 12,
            "control" => 13,
            "polity" => 14,
            "source" => 15,
            "kind" => 16,
            "place" => 17,
            "capital" => 18,
            "historic" => 19,
            "rank" => 20,
            "strength" => 21,
            "victor" => 22,
            "side" => 23,
            "belligerents" => 24,
            "commanders" => 25,
            "commander" => 26,
            "caption" => 27,
            "boundary" => 28,
            _ => return None,
        })
    }

    fn new(members: &'p [(Cow<'p, str>, PVal<'p>)]) -> Known<'p> {
        let mut slots = [None; Known::KEYS.len()];
        // In the order given: of a key given twice, the last is kept (as a JSON object
        // read into a map keeps it).
        for (k, v) in members {
            if let Some(i) = Known::slot(k) {
                slots[i] = Some(v);
            }
        }
        Known { members, slots }
    }

    /// The value of `key`.
    #[inline(always)]
    fn get(&self, key: &str) -> Option<R<'p>> {
        match Known::slot(key) {
            Some(i) => self.slots[i].map(R::of_p),
            None => self.members.iter().rev().find(|(k, _)| k.len() == key.len() && *k == key).map(|(_, v)| R::of_p(v)),
        }
    }

    /// Is `key` there?
    #[inline(always)]
    fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// The keys and values whose key passes `want`, in key order (of a key given twice,
    /// the last).
    fn iter_where(&self, want: impl Fn(&str) -> bool) -> Vec<(&'p str, R<'p>)> {
        let mut out: Vec<(&'p str, R<'p>)> =
            self.members.iter().rev().filter(|(k, _)| want(k)).map(|(k, v)| (&**k, R::of_p(v))).collect();
        out.sort_by(|a, b| a.0.cmp(b.0)); // stable: the last given comes first
        out.dedup_by(|later, first| later.0 == first.0);
        out
    }
}

/// The string value of `key` (inlined, so that a literal key's slot is found as the
/// program is compiled rather than by comparing it with every known key).
#[inline(always)]
fn str_prop<'a>(props: &Known<'a>, key: &str, ctx: &mut Ctx) -> Option<&'a str> {
    match props.get(key) {
        None | Some(R::Val(Value::Null)) => None,
        Some(R::Str(s)) => Some(s),
        Some(R::Val(v)) => not_a_string(key, v, ctx),
    }
}

/// The error for a property `key` that should be a string but holds `v`.
#[cold]
fn not_a_string<'a>(key: &str, v: &Value, ctx: &mut Ctx) -> Option<&'a str> {
    if v.is_number() && (key.ends_with("date") || key == "from" || key == "to") {
        ctx.err(format!("`{key}` must be a string like \"1723\", not a number"));
    } else {
        ctx.err(format!("`{key}` must be a string"));
    }
    None
}

/// A property as typing reads it.
type Member<'t> = (Cow<'t, str>, PVal<'t>);

/// An empty `Vec` of members of any lifetime in the room of `room` (its allocation, reused:
/// collecting a `Vec`'s `into_iter` into items of the same size keeps its buffer).
fn reuse<'a, 'b>(room: Vec<Member<'a>>) -> Vec<Member<'b>> {
    let mut room = room;
    room.clear();
    room.into_iter().map(|_| unreachable!("the room is empty")).collect()
}

fn parse_feature(
    layer: Layer,
    raw: RawFeature,
    mode: EndDates,
    ctx: &mut Ctx,
    room: &mut Vec<Member<'static>>,
) -> Option<Feature> {
    let RawFeature::Object(obj) = raw else {
        ctx.err("feature is not a JSON object");
        return None;
    };
    if obj.type_name.as_deref() != Some("Feature") {
        ctx.err("`type` is not \"Feature\"");
        return None;
    }
    let owned_props = match obj.properties {
        Props::Object(p) => p,
        Props::Null | Props::Missing => Properties::default(),
        Props::Other => {
            ctx.err("`properties` is not an object");
            return None;
        }
    };
    // The members are read (from the text, once) for typing, and not kept.
    let mut members = reuse(std::mem::take(room));
    owned_props.members_into(&mut members);
    let feature = type_feature(layer, obj.id, obj.geometry, &Known::new(&members), mode, ctx);
    *room = reuse(members);
    feature.map(|f| Feature { properties: owned_props.unread(), ..f })
}

/// Type a feature from its `id` member (outside `properties`), geometry and properties.
fn type_feature(
    layer: Layer,
    obj_id: Option<Value>,
    geometry: Geom,
    props: &Known,
    mode: EndDates,
    ctx: &mut Ctx,
) -> Option<Feature> {
    let id = match props
        .get("id")
        .or(obj_id.as_ref().map(R::of))
        .or_else(|| props.get("@id"))
        .or_else(|| props.get("osm_id"))
    {
        Some(R::Str(s)) if !s.trim().is_empty() => s.to_string(),
        Some(R::Val(Value::Number(n))) => n.to_string(),
        _ => {
            ctx.err("missing `id` in properties");
            return None;
        }
    };
    // The id is kept where messages name the feature, and moved into it at the end.
    ctx.id = id;

    let geometry = parse_geometry(layer, geometry, ctx)?;
    let mut en = str_prop(props, "name", ctx).unwrap_or("");
    let kk = str_prop(props, "name:kk", ctx).map(str::to_string);
    let ru = str_prop(props, "name:ru", ctx).map(str::to_string);
    let mut other = Vec::new();
    for (key, value) in props.iter_where(|k| k.starts_with("name:")) {
        if let (Some(code), Some(v)) = (key.strip_prefix("name:"), value.as_str()) {
            if !code.is_empty() && code != "kk" && code != "ru" && code != "en" {
                other.push((code.to_string(), v.to_string()));
            }
        }
    }
    if en.is_empty() {
        // OpenHistoricalMap puts the English name in `name:en` when `name` is local.
        if let Some(name_en) = props.get("name:en").and_then(R::as_str) {
            en = name_en;
        }
    }
    let names = Names::new(en.to_string(), kk, ru, other);

    // Time: `date` is a point event (or an interval such as `1718/1720`); otherwise
    // start_date/end_date.
    let date = date_prop(props.get("date"), "date", ctx);
    let (span, date_label) = match date {
        Some(d) => (Span::of_date(&d), Some(d.label())),
        None => {
            let start = edtf_or_plain(props, "start_date", ctx);
            let end = edtf_or_plain(props, "end_date", ctx);
            let span = match Span::from_values(start.as_ref(), end.as_ref(), mode) {
                Ok(s) => s,
                Err(e) => {
                    ctx.err(e);
                    Span::ALWAYS
                }
            };
            let years = |d: &DateValue| (d.earliest.map(|x| x.year), d.latest.map(|x| x.year));
            let label = match (&start, &end) {
                // One year (a siege of some months): one label, with whichever is qualified.
                (Some(a), Some(b)) if years(a) == years(b) => {
                    Some(if a.qualifier == Default::default() { b.label() } else { a.label() })
                }
                (Some(a), Some(b)) => Some(format!("{}–{}", a.label(), b.label())),
                (Some(a), None) => Some(a.label()),
                _ => None,
            };
            (span, label)
        }
    };

    let certainty = match str_prop(props, "certainty", ctx) {
        None => None,
        Some("approximate") => Some(Certainty::Approximate),
        Some("disputed") => Some(Certainty::Disputed),
        Some(other) => {
            ctx.err(format!("certainty {other:?} is not one of approximate, disputed"));
            None
        }
    };

    let mut control = match props.get("control") {
        None | Some(R::Val(Value::Null)) => Vec::new(),
        Some(R::Val(Value::Array(items))) => {
            items.iter().enumerate().filter_map(|(i, c)| parse_control(i, c, mode, ctx)).collect()
        }
        Some(_) => {
            ctx.err("`control` must be a list of spans");
            Vec::new()
        }
    };
    if layer == Layer::Territories && control.is_empty() && self_held(props, &span) {
        // OpenHistoricalMap's boundaries: a dated area without `control` is held by itself.
        let polity = match props.get("polity").and_then(R::as_str).filter(|p| !p.trim().is_empty()) {
            Some(p) => p.trim().to_string(),
            None => polity_id_for(if names.en.is_empty() { &ctx.id } else { &names.en }),
        };
        control.push(ControlSpan {
            span,
            polity,
            status: Status::Core,
            overlord: None,
            source: props.get("source").and_then(R::as_str).map(str::to_string),
        });
    }
    for (i, a) in control.iter().enumerate() {
        for b in &control[i + 1..] {
            if a.span.overlaps(&b.span) {
                ctx.warn(format!(
                    "control spans for {} and {} overlap ({}–{} and {}–{})",
                    a.polity,
                    b.polity,
                    fmt_year(a.span.start_year()),
                    fmt_year(a.span.end_year()),
                    fmt_year(b.span.start_year()),
                    fmt_year(b.span.end_year())
                ));
            }
        }
    }

    let kind = str_prop(props, "kind", ctx);
    let place = props.get("place").and_then(R::as_str);
    // OSM/OHM `capital=yes` (or an admin level) marks a capital.
    let capital_tag = match props.get("capital") {
        Some(R::Str(c)) => !matches!(c, "" | "no"),
        _ => false,
    };
    let city_kind = if layer == Layer::Cities {
        // OpenHistoricalMap tags when `kind` is not given: a fort or castle is a fortress,
        // a hamlet or locality a site, any other `place` a town.
        let ohm_kind = match (props.get("historic").and_then(R::as_str), place) {
            (Some("fort" | "castle"), _) => Some("fortress"),
            (_, Some("hamlet" | "isolated_dwelling" | "locality")) => Some("site"),
            (_, Some(_)) => Some("city"),
            _ => None,
        };
        match kind.or(ohm_kind) {
            _ if capital_tag => CityKind::Capital,
            None | Some("city") | Some("town") => CityKind::City,
            Some("capital") => CityKind::Capital,
            Some("fortress") => CityKind::Fortress,
            Some("site") => CityKind::Site,
            Some(other) => {
                ctx.err(format!("kind {other:?} is not one of city, capital, fortress, site"));
                CityKind::City
            }
        }
    } else {
        CityKind::City
    };
    let capital = match props.get("capital") {
        None | Some(R::Val(Value::Null)) => Vec::new(),
        Some(R::Str(_)) if layer == Layer::Cities => Vec::new(),
        Some(R::Val(Value::Array(items))) if layer == Layer::Cities && city_kind == CityKind::Capital => {
            items.iter().enumerate().filter_map(|(i, c)| parse_capital(i, c, mode, ctx)).collect()
        }
        Some(R::Val(Value::Array(_))) => {
            ctx.err("`capital` spans are only for cities of kind \"capital\"");
            Vec::new()
        }
        Some(_) => {
            ctx.err("`capital` must be a list of spans like {\"from\": \"1740\", \"polity\": \"kokand\"}");
            Vec::new()
        }
    };
    for c in &capital {
        if !c.span.overlaps(&span) {
            ctx.warn(format!(
                "capital span {}–{} lies outside the place's own dates",
                fmt_year(c.span.start_year()),
                fmt_year(c.span.end_year())
            ));
        }
    }
    let campaign_kind = if layer == Layer::Campaigns {
        match kind {
            None | Some("advance") => CampaignKind::Advance,
            Some("retreat") => CampaignKind::Retreat,
            Some("raid") => CampaignKind::Raid,
            Some("flight") | Some("migration") => CampaignKind::Flight,
            Some(other) => {
                ctx.err(format!("kind {other:?} is not one of advance, retreat, raid, flight"));
                CampaignKind::Advance
            }
        }
    } else {
        CampaignKind::Advance
    };
    let (mut default_rank, max_rank) = if layer == Layer::Rivers { (2, 3) } else { (3, 5) };
    if layer == Layer::Cities {
        // OpenHistoricalMap's `place` sets how important a town is (5 most).
        default_rank = match place {
            Some("city") => 4,
            Some("town") => 3,
            Some("village") => 2,
            Some("hamlet") | Some("isolated_dwelling") | Some("locality") => 1,
            _ => default_rank,
        };
        if capital_tag {
            default_rank = 5;
        }
    }
    let rank = match props.get("rank") {
        None | Some(R::Val(Value::Null)) => default_rank,
        Some(R::Val(Value::Number(n))) => match n.as_u64() {
            Some(r) if (1..=max_rank).contains(&r) => r as u8,
            _ => {
                ctx.err(format!("rank {n} is not a whole number 1–{max_rank}"));
                default_rank
            }
        },
        Some(_) => {
            ctx.err("rank must be a number");
            default_rank
        }
    };
    let strength = match props.get("strength") {
        None | Some(R::Val(Value::Null)) => None,
        Some(R::Str(_)) => parse_strength(&Value::String(String::new()), ctx),
        Some(R::Val(v)) => parse_strength(v, ctx),
    };
    let victor = str_prop(props, "victor", ctx).map(str::to_string);
    let side = str_prop(props, "side", ctx).map(str::to_string);
    let belligerents = string_list(props, "belligerents", ctx);
    let mut commanders = string_list(props, "commanders", ctx);
    if let Some(c) = str_prop(props, "commander", ctx) {
        commanders.push(c.to_string());
    }
    if layer == Layer::Campaigns && side.is_none() {
        ctx.err("campaign has no `side` (a polity id)");
    }
    for (key, value) in props.iter_where(|k| k == "caption" || k.starts_with("caption:")) {
        if value.as_str().is_none() && !value.is_null() {
            ctx.err(format!("`{key}` must be a string"));
        }
    }
    if layer == Layer::Events && !props.contains_key("caption") {
        ctx.warn("event has no `caption`");
    }
    // A point's envelope is the point: only lines and areas keep one.
    let extent = match geometry {
        Geometry::Point(_) => None,
        _ => envelope(&geometry).map(Box::new),
    };
    let rare = Rare { date_label, capital, victor, side, belligerents, commanders, strength }.boxed();
    Some(Feature {
        layer,
        file: ctx.file.clone(),
        id: std::mem::take(&mut ctx.id),
        names,
        span,
        certainty,
        geometry,
        extent,
        control,
        city_kind,
        campaign_kind,
        rank,
        rare,
        // Set by the caller: members a look-up read before typing (placing a feature by
        // its tags) are let go.
        properties: Properties::default(),
    })
}

/// Read a date property: a string in any form [`DateValue`] reads, an integer year, or
/// empty/null (missing). A malformed date is an error; a form we do not read is a
/// warning naming the feature, and the date counts as missing.
fn date_prop(raw: Option<R>, key: impl std::fmt::Display, ctx: &mut Ctx) -> Option<DateValue> {
    match raw {
        None | Some(R::Val(Value::Null)) => None,
        // A plain year (`"1723"`), the usual date, read without the general parser.
        Some(R::Str(s)) if plain_year(s).is_some() => plain_year(s).map(DateValue::year),
        Some(R::Str(s)) => match DateValue::parse(s) {
            Ok(v) => v,
            Err(DateError::Malformed(m)) => {
                ctx.err(m);
                None
            }
            Err(DateError::Unrecognised(m)) => {
                ctx.warn(format!("`{key}`: {m}"));
                None
            }
        },
        Some(R::Val(Value::Number(n))) => match n.as_f64() {
            Some(y) if y.fract() == 0.0 && y.abs() < 1e6 => Some(DateValue::year(y as i32)),
            _ => {
                ctx.err(format!("`{key}` {n} is not a whole year"));
                None
            }
        },
        Some(_) => {
            ctx.err(format!("`{key}` must be a date string like \"1723\" or a year"));
            None
        }
    }
}

/// The year of a date written as one to four digits and nothing else (`"1723"`, `"0800"`),
/// which [`DateValue::parse`] reads as [`DateValue::year`].
fn plain_year(s: &str) -> Option<i32> {
    ((1..=4).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.bytes().fold(0, |y, b| y * 10 + i32::from(b - b'0')))
}

/// OpenHistoricalMap keeps a date's full EDTF form in `start_date:edtf` / `end_date:edtf`
/// when `start_date` / `end_date` are simplified to plain dates: read the EDTF form when it
/// is one we read (so its uncertainty is kept), else the plain date.
#[inline(always)]
fn edtf_or_plain(props: &Known, key: &str, ctx: &mut Ctx) -> Option<DateValue> {
    let edtf_key = match key {
        "start_date" => "start_date:edtf",
        "end_date" => "end_date:edtf",
        other => return date_prop(props.get(other), other, ctx),
    };
    let edtf = props.get(edtf_key).and_then(R::as_str).and_then(|s| DateValue::parse(s).ok().flatten());
    match edtf {
        Some(v) => Some(v),
        None => date_prop(props.get(key), key, ctx),
    }
}

/// Is a territory without `control` held by itself? Dated areas are (OpenHistoricalMap's
/// boundaries), and so are areas that name their `polity` or are tagged `boundary`.
fn self_held(props: &Known, span: &Span) -> bool {
    span.start.is_some() || span.end.is_some() || props.contains_key("polity") || props.contains_key("boundary")
}

/// A polity id made from a name: lowercase, words joined by `_` (`"Kingdom of Poland"` →
/// `kingdom_of_poland`).
pub fn polity_id_for(name: &str) -> String {
    let mut out = String::new();
    for ch in name.trim().chars().flat_map(char::to_lowercase) {
        if ch.is_alphanumeric() {
            out.push(ch);
        } else if !out.ends_with('_') && !out.is_empty() {
            out.push('_');
        }
    }
    out.trim_end_matches('_').to_string()
}

fn fmt_year(y: Option<i32>) -> String {
    y.map(|y| y.to_string()).unwrap_or_else(|| "…".into())
}

#[inline(always)]
fn string_list(props: &Known, key: &str, ctx: &mut Ctx) -> Vec<String> {
    match props.get(key) {
        None | Some(R::Val(Value::Null)) => Vec::new(),
        Some(R::Str(s)) => vec![s.to_string()],
        Some(R::Val(Value::Array(a))) => {
            let out: Vec<String> = a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect();
            if out.len() != a.len() {
                ctx.err(format!("`{key}` must be a list of strings"));
            }
            out
        }
        Some(_) => {
            ctx.err(format!("`{key}` must be a list of strings"));
            Vec::new()
        }
    }
}

fn parse_strength(v: &Value, ctx: &mut Ctx) -> Option<Strength> {
    let num = |v: &Value| v.as_f64().filter(|n| n.is_finite() && *n >= 0.0);
    match v {
        Value::Number(_) => match num(v) {
            Some(n) => Some(Strength::Exact(n)),
            None => {
                ctx.err("strength must be a non-negative number");
                None
            }
        },
        Value::Array(a) if a.len() == 2 => match (num(&a[0]), num(&a[1])) {
            (Some(lo), Some(hi)) if lo <= hi => Some(Strength::Range(lo, hi)),
            _ => {
                ctx.err("strength range must be [min, max] with min <= max");
                None
            }
        },
        _ => {
            ctx.err("strength must be a number or [min, max]");
            None
        }
    }
}

fn parse_control(i: usize, raw: &Value, mode: EndDates, ctx: &mut Ctx) -> Option<ControlSpan> {
    let Some(obj) = raw.as_object() else {
        ctx.err(format!("control[{i}] is not an object"));
        return None;
    };
    let polity = match obj.get("polity").and_then(Value::as_str) {
        Some(p) if !p.is_empty() => p.to_string(),
        _ => {
            ctx.err(format!("control[{i}] has no `polity`"));
            return None;
        }
    };
    let get = |k: &str| obj.get(k).and_then(Value::as_str);
    let from = date_prop(obj.get("from").map(R::of), format_args!("control[{i}].from"), ctx);
    let to = date_prop(obj.get("to").map(R::of), format_args!("control[{i}].to"), ctx);
    let span = match Span::from_values(from.as_ref(), to.as_ref(), mode) {
        Ok(s) => s,
        Err(e) => {
            ctx.err(format!("control[{i}] ({polity}): {e}"));
            return None;
        }
    };
    let status = match get("status") {
        None | Some("core") => Status::Core,
        Some("occupied") => Status::Occupied,
        Some("tributary") => Status::Tributary,
        Some("contested") => Status::Contested,
        Some("besieged") => Status::Besieged,
        Some("destroyed") => Status::Destroyed,
        Some("holdout") => Status::Holdout,
        Some("enclave") => Status::Enclave,
        Some(other) => {
            ctx.err(format!(
                "control[{i}] status {other:?} is not one of core, occupied, tributary, contested, besieged, \
                 destroyed, holdout, enclave"
            ));
            return None;
        }
    };
    Some(ControlSpan {
        span,
        polity,
        status,
        overlord: get("overlord").map(str::to_string),
        source: get("source").map(str::to_string),
    })
}

fn parse_capital(i: usize, raw: &Value, mode: EndDates, ctx: &mut Ctx) -> Option<CapitalSpan> {
    let Some(obj) = raw.as_object() else {
        ctx.err(format!("capital[{i}] is not an object"));
        return None;
    };
    for k in obj.keys() {
        if !["from", "to", "polity", "source", "note"].contains(&k.as_str()) {
            ctx.err(format!("capital[{i}] has an unknown key {k:?} (from, to, polity, source, note)"));
            return None;
        }
    }
    let mut text = |k: &str| match obj.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => {
            ctx.err(format!("capital[{i}].{k} must be a string"));
            Err(())
        }
    };
    let (polity, source) = (text("polity").ok()?, text("source").ok()?);
    let from = date_prop(obj.get("from").map(R::of), format_args!("capital[{i}].from"), ctx);
    let to = date_prop(obj.get("to").map(R::of), format_args!("capital[{i}].to"), ctx);
    match Span::from_values(from.as_ref(), to.as_ref(), mode) {
        Ok(span) => Some(CapitalSpan { span, polity: polity.map(str::to_string), source: source.map(str::to_string) }),
        Err(e) => {
            ctx.err(format!("capital[{i}]: {e}"));
            None
        }
    }
}

fn parse_geometry(layer: Layer, raw: Geom, ctx: &mut Ctx) -> Option<Geometry> {
    let (gtype, coords) = match raw {
        Geom::Missing | Geom::Null => {
            if layer == Layer::Events {
                return Some(Geometry::None);
            }
            ctx.err("missing geometry");
            return None;
        }
        Geom::Invalid(why) => {
            ctx.err(format!("invalid geometry: {why}"));
            return None;
        }
        Geom::Parsed(t, c) => (t, c),
    };
    let type_name = gtype.name();
    let allowed: &[&str] = match layer {
        Layer::Territories | Layer::Water => &["Polygon", "MultiPolygon"],
        Layer::Cities | Layer::Battles => &["Point"],
        Layer::Campaigns => &["LineString"],
        Layer::Rivers => &["LineString", "MultiLineString"],
        Layer::Landforms => &["Point", "Polygon", "MultiPolygon"],
        Layer::Events => &["Point"],
    };
    if !allowed.contains(&type_name) {
        ctx.err(format!("geometry is a {type_name}; {} takes {}", layer.file_name(), allowed.join(" or ")));
        return None;
    }
    let coords = coords.unwrap_or(Nested::Empty);
    if let Nested::Bad(why) = coords {
        ctx.err(format!("invalid geometry: {why}"));
        return None;
    }
    let depth_error = || format!("invalid geometry: the {type_name}'s `coordinates` are not nested as a {type_name}'s");
    // The lists of one level: an empty list is a list of nothing.
    fn lists(n: Nested) -> Option<Vec<Nested>> {
        match n {
            Nested::Empty => Some(Vec::new()),
            Nested::List(v) => Some(v),
            Nested::Line(v) => Some(v.into_iter().map(Nested::Position).collect()),
            _ => None,
        }
    }
    fn line(n: Nested) -> Option<Vec<Coord<f64>>> {
        match n {
            Nested::Empty => Some(Vec::new()),
            Nested::Line(v) => Some(v),
            _ => None,
        }
    }
    let ring_problem = |r: &[Coord<f64>]| -> Option<String> {
        if r.len() < 4 {
            Some(format!("polygon ring has {} positions; a closed ring needs at least 4", r.len()))
        } else if r.first() != r.last() {
            Some("open ring: the first and last positions differ".to_string())
        } else {
            None
        }
    };
    // A ring's problem is reported after a coordinate's, as geojson's own checks ordered them.
    let mut ring_issue: Option<String> = None;
    let mut polygon = |rings: Vec<Nested>| -> Result<Polygon<f64>, String> {
        let mut rings = rings.into_iter().map(|r| line(r).ok_or_else(depth_error)).collect::<Result<Vec<_>, _>>()?;
        if ring_issue.is_none() {
            ring_issue = rings.iter().find_map(|r| ring_problem(r));
        }
        let exterior = if rings.is_empty() { Vec::new() } else { rings.remove(0) };
        Ok(Polygon::new(LineString::new(exterior), rings.into_iter().map(LineString::new).collect()))
    };
    let built: Result<Geometry, String> = match gtype {
        GeomType::Point => match coords {
            Nested::Position(c) => Ok(Geometry::Point(Point::from(c))),
            Nested::Empty => Err("a position has fewer than 2 numbers".into()),
            _ => Err(depth_error()),
        },
        GeomType::LineString => match line(coords) {
            Some(l) if l.len() < 2 => Err("line has fewer than 2 positions".into()),
            Some(l) => Ok(Geometry::Lines(MultiLineString::new(vec![LineString::new(l)]))),
            None => Err(depth_error()),
        },
        GeomType::MultiLineString => match lists(coords) {
            Some(ls) => {
                let ls: Option<Vec<Vec<Coord<f64>>>> = ls.into_iter().map(line).collect();
                match ls {
                    None => Err(depth_error()),
                    Some(ls) if ls.is_empty() || ls.iter().any(|l| l.len() < 2) => {
                        Err("a line has fewer than 2 positions".into())
                    }
                    Some(ls) => {
                        Ok(Geometry::Lines(MultiLineString::new(ls.into_iter().map(LineString::new).collect())))
                    }
                }
            }
            None => Err(depth_error()),
        },
        GeomType::Polygon => match lists(coords) {
            Some(rings) if rings.is_empty() => Err("polygon has no rings".into()),
            Some(rings) => polygon(rings).map(|p| Geometry::Areas(MultiPolygon::new(vec![p]))),
            None => Err(depth_error()),
        },
        GeomType::MultiPolygon => match lists(coords) {
            Some(polys) => {
                let polys: Option<Vec<Vec<Nested>>> = polys.into_iter().map(lists).collect();
                match polys {
                    None => Err(depth_error()),
                    Some(ps) if ps.is_empty() || ps.iter().any(|p| p.is_empty()) => {
                        Err("multipolygon has an empty polygon".into())
                    }
                    Some(ps) => ps
                        .into_iter()
                        .map(&mut polygon)
                        .collect::<Result<Vec<_>, _>>()
                        .map(|ps| Geometry::Areas(MultiPolygon::new(ps))),
                }
            }
            None => Err(depth_error()),
        },
        GeomType::MultiPoint | GeomType::GeometryCollection => unreachable!("filtered by the allowed list"),
    };
    let out = match built {
        Ok(g) => g,
        Err(msg) => {
            ctx.err(msg);
            return None;
        }
    };
    let mut bad = None;
    let mut check = |c: &Coord<f64>| {
        let (x, y) = (c.x, c.y);
        if bad.is_none()
            && (!x.is_finite() || !y.is_finite() || !(-180.0..=180.0).contains(&x) || !(-90.0..=90.0).contains(&y))
        {
            bad = Some(format!("coordinate [{x}, {y}] is out of range (lon −180…180, lat −90…90)"));
        }
    };
    match &out {
        Geometry::None => {}
        Geometry::Point(p) => check(&p.0),
        Geometry::Lines(ml) => ml.0.iter().flat_map(|l| &l.0).for_each(&mut check),
        Geometry::Areas(mp) => mp
            .iter()
            .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
            .flat_map(|r| &r.0)
            .for_each(&mut check),
    }
    if let Some(msg) = bad.or(ring_issue) {
        ctx.err(msg);
        return None;
    }
    Some(out)
}

fn envelope(g: &Geometry) -> Option<[f64; 4]> {
    use geo::BoundingRect;
    let r = match g {
        Geometry::None => return None,
        Geometry::Point(p) => return Some([p.x(), p.y(), p.x(), p.y()]),
        Geometry::Lines(l) => l.bounding_rect(),
        Geometry::Areas(a) => a.bounding_rect(),
    }?;
    Some([r.min().x, r.min().y, r.max().x, r.max().y])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_plain_year_reads_as_the_general_parser_reads_it() {
        for s in ["0", "7", "0800", "1600", "1723", "9999", "12"] {
            assert_eq!(plain_year(s).map(DateValue::year), DateValue::parse(s).unwrap(), "{s}");
        }
        for s in ["", "17230", "-1723", " 1723", "1723 ", "172a", "1723-05", "1720s", "+172"] {
            assert_eq!(plain_year(s), None, "{s:?}");
        }
    }

    /// Properties read from a feature's text, and the same read into members at once.
    fn both(text: &str) -> (Properties, Properties) {
        let parsed = match super::super::raw::parse_props(text, &mut KeyTexts::default()) {
            Ok(Props::Object(p)) => p,
            _ => panic!("not an object: {text}"),
        };
        (parsed.clone().into_text(text.into()), parsed)
    }

    #[test]
    fn properties_kept_as_text_answer_as_members() {
        let text = r#"{"id": "a", "name": "Ak", "rank": 3, "l\u0061bel": "always", "control": [{"from": "1700"}],
                       "x": 1.0000000000000002, "x": 2.5, "name:kk": null}"#;
        let (lazy, parsed) = both(text);
        for key in ["id", "name", "rank", "label", "control", "x", "name:kk", "kind", "line", "", "l\\u0061bel"] {
            assert_eq!(lazy.contains_key(key), parsed.contains_key(key), "{key}");
        }
        assert!(lazy.members.get().is_none(), "contains_key reads keys only");
        for key in ["id", "name", "rank", "label", "control", "x", "name:kk", "kind", "line", ""] {
            assert_eq!(lazy.get(key), parsed.get(key), "{key}");
        }
        assert_eq!(lazy.get("x"), Some(&json!(2.5)), "the last of a key given twice");
        assert_eq!(lazy.to_map(), parsed.to_map());
        assert_eq!(lazy.keys().collect::<Vec<_>>(), parsed.keys().collect::<Vec<_>>());
        assert_eq!((lazy.len(), lazy.is_empty()), (parsed.len(), false));
        assert_eq!(lazy, parsed);
        let (empty, _) = both("{}");
        assert!(empty.is_empty() && empty.get("id").is_none() && !empty.contains_key("id"));
    }

    #[test]
    fn a_town_is_a_few_hundred_bytes() {
        // Rare attributes and other languages' names are boxed; properties are text.
        assert!(std::mem::size_of::<Feature>() <= 240, "{}", std::mem::size_of::<Feature>());
        assert!(std::mem::size_of::<Names>() <= 32);
    }
}
