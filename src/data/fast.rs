//! A fast reader for GeoJSON as writers put it out: the features of a FeatureCollection
//! (or of a run of its `features` array) read byte by byte into the same raw features as
//! [`super::raw`]'s serde visitors give, without a visitor call per number.
//!
//! It reads a plain form only: strings without escapes, coordinates as decimals of at most
//! 18 digits without an exponent, coordinates arrays of a right shape. On anything else,
//! valid or not, it gives up (`None`) and the text is read by serde_json, which reads every
//! form and words every error. Where it does not give up, it gives exactly what serde_json's
//! reading gives: every value is checked to be valid JSON, members are taken in the same
//! order (the last of a key given twice wins), and a number converts with the same
//! arithmetic (serde_json's: the digits as an integer, divided by a power of ten).

use super::feature::Properties;
use super::raw::{self, Geom, GeomType, Nested, PVal, Props, RawFeature, RawObject, Root};
use geo::Coord;
use serde_json::Value;
use std::borrow::Cow;

/// The deepest nesting of arrays and objects read within one value (serde_json refuses
/// past 128 in a whole document).
const MAX_DEPTH: u32 = 64;

/// Most digits of a number converted here: below 10^18 the digits fit a u64 exactly.
const MAX_DIGITS: usize = 18;

/// Powers of ten as serde_json's table holds them (each exact in f64).
const POW10: [f64; MAX_DIGITS + 1] =
    [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18];

/// A root value (see [`raw::parse_root`]): an object whose members are a feature's,
/// `features` and any others, with nothing but whitespace around it.
pub(super) fn root(text: &str) -> Option<Root> {
    let mut r = Reader::new(text);
    r.ws();
    let root = r.root()?;
    r.end()?;
    Some(root)
}

/// The features of a run of a `features` array: one feature object or more, separated
/// by commas, and nothing else but whitespace.
pub(super) fn features(text: &str) -> Option<Vec<RawFeature>> {
    let mut r = Reader::new(text);
    let mut out = Vec::new();
    loop {
        r.ws();
        out.push(r.feature()?);
        if out.len() == 16 {
            // Room for as many features as the text likely holds, at the bytes per feature
            // of the first 16 (and a sixteenth more), faulted in ahead: a run's features
            // are fresh pages (each run's are held until all are typed), and faulted in as
            // they were written they took 3.8 ms more of the 100x data's load (medians of
            // 21). A run is about `read::RUN_BYTES` long, which bounds what a wrong guess
            // costs; what is not used is given back below.
            let likely = text.len() * 17 / r.i.max(1);
            out.reserve(likely.saturating_sub(out.len()));
            super::populate(out.spare_capacity_mut());
        }
        r.ws();
        match r.next() {
            None => break,
            Some(b',') => {}
            Some(_) => return None,
        }
    }
    out.shrink_to_fit();
    Some(out)
}

/// The members of the JSON object `text` (see [`raw::read_members`]): keys and strings
/// borrowed from the text, other values read as JSON values.
pub(super) fn members<'t>(text: &'t str, out: &mut Vec<(Cow<'t, str>, PVal<'t>)>) -> Option<()> {
    let mut r = Reader::new(text);
    r.ws();
    r.object(|r, key| {
        let value = if r.peek()? == b'"' { PVal::Str(Cow::Borrowed(r.string()?)) } else { PVal::Other(r.json(0)?) };
        out.push((Cow::Borrowed(key), value));
        Some(())
    })?;
    r.end()
}

/// Does the JSON object `text` have a member `key` (as [`raw::has_key`] answers)? `None`
/// if the text is not in the plain form read here.
pub(super) fn has_key(text: &str, key: &str) -> Option<bool> {
    let mut r = Reader::new(text);
    r.ws();
    let mut found = false;
    r.object(|r, k| {
        found |= k == key;
        r.value(0)
    })?;
    r.end()?;
    Some(found)
}

/// A non-negative integer written plainly (no sign, no leading zero, no fraction), as
/// serde_json reads it into a u64.
fn plain_u64(raw: &str) -> Option<u64> {
    let plain =
        raw.len() <= MAX_DIGITS && raw.bytes().all(|c| c.is_ascii_digit()) && (raw.len() == 1 || !raw.starts_with('0'));
    plain.then(|| raw.parse().ok()).flatten()
}

/// The length of a string's text up to its closing quote, or `None` if an escape or a
/// control character comes first (or no quote): eight bytes at a time, each tested for
/// `"`, `\\` and a value below 0x20 with word arithmetic.
#[inline(always)]
fn string_len(b: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut k = 0;
    while let Some(chunk) = b.get(k..k + 8) {
        let w = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
        let zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
        // The high bit of each byte that is a quote, a backslash or below 0x20 (exact for
        // the lowest such byte, which is the one wanted).
        let hits = zero(w ^ (ONES * u64::from(b'"')))
            | zero(w ^ (ONES * u64::from(b'\\')))
            | (w.wrapping_sub(ONES * 0x20) & !w & HIGH);
        if hits != 0 {
            let at = k + (hits.trailing_zeros() / 8) as usize;
            return (b[at] == b'"').then_some(at);
        }
        k += 8;
    }
    let at = k + b[k..].iter().position(|&c| c == b'"' || c == b'\\' || c < 0x20)?;
    (b[at] == b'"').then_some(at)
}

struct Reader<'t> {
    text: &'t str,
    b: &'t [u8],
    i: usize,
    /// The members of the `properties` being read: each key, and where its value lies in
    /// the text (the room kept from one feature to the next).
    spans: Vec<(&'t str, std::ops::Range<usize>)>,
    /// The positions of the lines being read.
    scratch: Vec<Coord<f64>>,
}

impl<'t> Reader<'t> {
    fn new(text: &'t str) -> Reader<'t> {
        Reader { text, b: text.as_bytes(), i: 0, spans: Vec::new(), scratch: Vec::new() }
    }

    #[inline(always)]
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    #[inline(always)]
    fn next(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.i += 1;
        Some(c)
    }

    #[inline(always)]
    fn eat(&mut self, c: u8) -> Option<()> {
        (self.next()? == c).then_some(())
    }

    /// Pass over whitespace. (Most calls meet none: one test for a byte above a space.)
    #[inline(always)]
    fn ws(&mut self) {
        if matches!(self.peek(), Some(c) if c <= b' ') {
            self.spaces();
        }
    }

    #[inline(never)]
    fn spaces(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\n' | b'\t' | b'\r')) {
            self.i += 1;
        }
    }

    /// Only whitespace is left.
    fn end(&mut self) -> Option<()> {
        self.ws();
        (self.i == self.b.len()).then_some(())
    }

    /// The digits from here; how many.
    #[inline(always)]
    fn digits(&mut self) -> usize {
        let start = self.i;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.i += 1;
        }
        self.i - start
    }

    /// A string without escapes (and, as JSON requires, without control characters): its
    /// text between the quotes.
    #[inline(always)]
    fn string(&mut self) -> Option<&'t str> {
        self.eat(b'"')?;
        let start = self.i;
        let len = string_len(&self.b[start..])?;
        self.i = start + len + 1;
        // Cut at two ASCII quotes: at char boundaries.
        self.text.get(start..start + len)
    }

    /// `word` (`true`, `false`, `null`).
    fn word(&mut self, word: &[u8]) -> Option<()> {
        self.b[self.i..].starts_with(word).then(|| self.i += word.len())
    }

    /// An object: each member's key is given to `member`, which reads its value.
    #[inline(always)]
    fn object(&mut self, mut member: impl FnMut(&mut Self, &'t str) -> Option<()>) -> Option<()> {
        self.eat(b'{')?;
        self.ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Some(());
        }
        loop {
            let key = self.string()?;
            self.ws();
            self.eat(b':')?;
            self.ws();
            member(self, key)?;
            self.ws();
            match self.next()? {
                b',' => self.ws(),
                b'}' => return Some(()),
                _ => return None,
            }
        }
    }

    /// An array: `element` reads each element.
    #[inline(always)]
    fn array(&mut self, mut element: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.eat(b'[')?;
        self.ws();
        if self.peek() == Some(b']') {
            self.i += 1;
            return Some(());
        }
        loop {
            element(self)?;
            self.ws();
            match self.next()? {
                b',' => self.ws(),
                b']' => return Some(()),
                _ => return None,
            }
        }
    }

    /// Any JSON value, checked and passed over, nested at most `MAX_DEPTH - depth` deep.
    fn value(&mut self, depth: u32) -> Option<()> {
        match self.peek()? {
            b'"' => self.string().map(drop),
            b'{' if depth < MAX_DEPTH => self.object(|r, _| r.value(depth + 1)),
            b'[' if depth < MAX_DEPTH => self.array(|r| r.value(depth + 1)),
            b't' => self.word(b"true"),
            b'f' => self.word(b"false"),
            b'n' => self.word(b"null"),
            b'-' | b'0'..=b'9' => self.number(),
            _ => None,
        }
    }

    /// Any JSON value as serde_json's `Value` reads it (an object's members in a map, the
    /// last of a key given twice kept), nested at most `MAX_DEPTH - depth` deep. A number
    /// other than a plain non-negative integer is read by serde_json from its text.
    fn json(&mut self, depth: u32) -> Option<Value> {
        Some(match self.peek()? {
            b'"' => Value::String(self.string()?.to_owned()),
            b'{' if depth < MAX_DEPTH => {
                let mut map = serde_json::Map::new();
                self.object(|r, key| {
                    let value = r.json(depth + 1)?;
                    map.insert(key.to_owned(), value);
                    Some(())
                })?;
                Value::Object(map)
            }
            b'[' if depth < MAX_DEPTH => {
                let mut items = Vec::new();
                self.array(|r| {
                    items.push(r.json(depth + 1)?);
                    Some(())
                })?;
                Value::Array(items)
            }
            b't' => self.word(b"true").map(|_| Value::Bool(true))?,
            b'f' => self.word(b"false").map(|_| Value::Bool(false))?,
            b'n' => self.word(b"null").map(|_| Value::Null)?,
            b'-' | b'0'..=b'9' => {
                let start = self.i;
                self.number()?;
                let raw = &self.text[start..self.i];
                match plain_u64(raw) {
                    Some(n) => Value::from(n),
                    None => serde_json::from_str(raw).ok()?,
                }
            }
            _ => return None,
        })
    }

    /// A number as JSON writes it, passed over.
    fn number(&mut self) -> Option<()> {
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.next()? {
            b'0' => {}
            b'1'..=b'9' => {
                self.digits();
            }
            _ => return None,
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            if self.digits() == 0 {
                return None;
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if self.digits() == 0 {
                return None;
            }
        }
        Some(())
    }

    /// A coordinate: a decimal of at most [`MAX_DIGITS`] digits, without an exponent.
    #[inline(always)]
    fn coordinate(&mut self) -> Option<f64> {
        let b = self.b;
        let mut k = self.i;
        let negative = b.get(k) == Some(&b'-');
        k += usize::from(negative);
        // The digits from `k` on, added to `significand`; how many.
        #[inline(always)]
        fn digits(b: &[u8], k: &mut usize, significand: &mut u64) -> usize {
            let from = *k;
            while *k < b.len() && b[*k].is_ascii_digit() {
                *significand = significand.wrapping_mul(10).wrapping_add(u64::from(b[*k] - b'0'));
                *k += 1;
            }
            *k - from
        }
        let mut significand: u64 = 0;
        let start = k;
        let whole = digits(b, &mut k, &mut significand);
        // One digit or more, and no leading zero.
        if whole == 0 || (whole > 1 && b[start] == b'0') {
            return None;
        }
        let mut fraction = 0;
        if k < b.len() && b[k] == b'.' {
            k += 1;
            fraction = digits(b, &mut k, &mut significand);
            if fraction == 0 {
                return None;
            }
        }
        if whole + fraction > MAX_DIGITS || matches!(b.get(k), Some(b'e' | b'E')) {
            return None;
        }
        self.i = k;
        let mut f = significand as f64;
        if fraction > 0 {
            f /= POW10[fraction];
        }
        Some(if negative { -f } else { f })
    }

    /// A position: `[x, y]`, or more numbers (height and the rest are ignored).
    #[inline(always)]
    fn position(&mut self) -> Option<Coord<f64>> {
        self.eat(b'[')?;
        self.ws();
        let x = self.coordinate()?;
        self.ws();
        self.eat(b',')?;
        self.ws();
        let y = self.coordinate()?;
        self.more_elements(|r| r.coordinate().map(drop))?;
        Some(Coord { x, y })
    }

    /// A coordinates array as [`raw`] reads it, when it is a position, a list of
    /// positions or a list of such lists (or of empty lists).
    fn nested(&mut self, depth: u32) -> Option<Nested> {
        if depth > 8 {
            return None;
        }
        let open = self.i;
        self.eat(b'[')?;
        self.ws();
        match self.peek()? {
            b']' => {
                self.i += 1;
                Some(Nested::Empty)
            }
            b'[' => match self.nested(depth + 1)? {
                // A list of positions: a line or ring.
                Nested::Position(c) => {
                    let mark = self.scratch.len();
                    self.scratch.push(c);
                    let done = self.more_elements(|r| {
                        let c = r.position()?;
                        r.scratch.push(c);
                        Some(())
                    });
                    let line = self.scratch[mark..].to_vec();
                    self.scratch.truncate(mark);
                    done.map(|_| Nested::Line(line))
                }
                // A list of lists.
                first => {
                    let mut items = vec![first];
                    self.more_elements(|r| match r.nested(depth + 1)? {
                        Nested::Position(_) => None,
                        n => {
                            items.push(n);
                            Some(())
                        }
                    })?;
                    Some(Nested::List(items))
                }
            },
            _ => {
                self.i = open;
                self.position().map(Nested::Position)
            }
        }
    }

    /// The rest of an array whose first element was read: `element` reads each other.
    #[inline(always)]
    fn more_elements(&mut self, mut element: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        loop {
            self.ws();
            match self.next()? {
                b',' => {
                    self.ws();
                    element(self)?;
                }
                b']' => return Some(()),
                _ => return None,
            }
        }
    }

    /// A feature object.
    fn feature(&mut self) -> Option<RawFeature> {
        let mut obj = RawObject::default();
        self.object(|r, key| r.member(key, &mut obj))?;
        Some(RawFeature::Object(obj))
    }

    /// The value of a feature object's member `key`, into `obj` (as `raw::object_member`).
    fn member(&mut self, key: &str, obj: &mut RawObject) -> Option<()> {
        match key {
            "type" => obj.type_name = Some(raw::type_name(self.string()?)),
            "id" => obj.id = Some(self.id()?),
            "properties" => (obj.properties, obj.shortened) = self.properties()?,
            "geometry" => obj.geometry = self.geometry()?,
            _ => self.value(0)?,
        }
        Some(())
    }

    /// A feature's `id`: a string, or a non-negative integer written plainly.
    fn id(&mut self) -> Option<Value> {
        if self.peek()? == b'"' {
            return Some(Value::String(self.string()?.to_owned()));
        }
        let start = self.i;
        self.number()?;
        plain_u64(&self.text[start..self.i]).map(Value::from)
    }

    /// A feature's `properties`: an object is kept as its members' text (as
    /// `raw::PropsText` keeps it), with the mask of its keys and whether one looks shortened.
    fn properties(&mut self) -> Option<(Props, bool)> {
        match self.peek()? {
            b'{' => {}
            b'n' => return self.word(b"null").map(|_| (Props::Null, false)),
            _ => return self.value(0).map(|_| (Props::Other, false)),
        }
        let open = self.i;
        let mut spans = std::mem::take(&mut self.spans);
        spans.clear();
        let (mut mask, mut shortened) = (0, false);
        let read = self.object(|r, key| {
            let (bit, short) = raw::key_facts(key);
            mask |= bit;
            shortened |= short;
            let start = r.i;
            r.value(0)?;
            spans.push((key, start..r.i));
            Some(())
        });
        let raw = &self.text[open..self.i];
        // `{"key":value,…}`: the members without the spaces between them.
        let length =
            2 + spans.iter().map(|(k, v)| k.len() + 4 + v.len()).sum::<usize>() - usize::from(!spans.is_empty());
        let text: Box<str> = if length == raw.len() {
            // Written without spaces: the text as it is.
            Box::from(raw)
        } else {
            let mut text = String::with_capacity(length);
            text.push('{');
            for (i, (key, value)) in spans.iter().enumerate() {
                if i > 0 {
                    text.push(',');
                }
                text.push('"');
                text.push_str(key);
                text.push_str("\":");
                text.push_str(&self.text[value.clone()]);
            }
            text.push('}');
            text.into_boxed_str()
        };
        self.spans = spans;
        read.map(|_| (Props::Object(Properties::from_text(text, mask)), shortened))
    }

    /// A feature's `geometry`: `null`, or an object with a `type` string.
    fn geometry(&mut self) -> Option<Geom> {
        if self.peek()? == b'n' {
            return self.word(b"null").map(|_| Geom::Null);
        }
        let (mut type_name, mut coords) = (None, None);
        self.object(|r, key| {
            match key {
                "type" => {
                    let t = r.string()?;
                    type_name = Some(Some(GeomType::from_name(t).ok_or_else(|| t.to_string())));
                }
                "coordinates" => coords = Some(r.nested(0)?),
                _ => r.value(0)?,
            }
            Some(())
        })?;
        Some(raw::geometry_of(type_name, coords))
    }

    /// A root object (as `raw::RootVisitor` reads it).
    fn root(&mut self) -> Option<Root> {
        let mut obj = RawObject::default();
        let (mut features, mut features_members, mut members) = (None, 0, 0);
        self.object(|r, key| {
            members += 1;
            if key != "features" {
                return r.member(key, &mut obj);
            }
            features_members += 1;
            let mut list = Vec::new();
            r.array(|r| {
                list.push(r.feature()?);
                Some(())
            })?;
            list.shrink_to_fit();
            features = Some(list);
            Some(())
        })?;
        Some(Root {
            type_name: obj.type_name.clone(),
            features,
            features_members,
            members,
            as_feature: RawFeature::Object(obj),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A feature as read, with its properties' text and key mask (which `PartialEq` on
    /// properties does not compare).
    fn detail(f: &RawFeature) -> String {
        match f {
            RawFeature::Object(RawObject { properties: Props::Object(p), .. }) => {
                format!("{f:?} {:?}", p.text_and_mask())
            }
            _ => format!("{f:?}"),
        }
    }

    fn root_detail(r: &Root) -> String {
        let features = r.features.as_ref().map(|fs| fs.iter().map(detail).collect::<Vec<_>>());
        format!("{:?} {features:?} {} {} {}", r.type_name, r.features_members, r.members, detail(&r.as_feature))
    }

    /// The fast reading of `text` is serde_json's, or none; returns whether it was read.
    fn fast_is_serde(text: &str) -> bool {
        let serde = raw::parse_root_serde(text);
        let Some(fast) = root(text) else { return false };
        let serde = serde.unwrap_or_else(|e| panic!("serde_json refuses what was read fast ({e}): {text}"));
        assert_eq!(root_detail(&fast), root_detail(&serde), "{text}");
        // The same features as a run of the array.
        if let Some(fs) = serde.features.filter(|fs| !fs.is_empty()) {
            let (open, close) = (text.find('[').unwrap(), text.rfind(']').unwrap());
            if let Some(run) = features(&text[open + 1..close]) {
                let want: Vec<String> = fs.iter().map(detail).collect();
                assert_eq!(run.iter().map(detail).collect::<Vec<_>>(), want, "{text}");
            }
        }
        true
    }

    /// The properties' members as read fast, or none; they must be serde_json's.
    fn members_are_serde(text: &str) -> bool {
        let mut fast = Vec::new();
        if members(text, &mut fast).is_none() {
            return false;
        }
        let mut serde = Vec::new();
        raw::read_members_serde(text, &mut serde).unwrap_or_else(|e| panic!("{e}: {text}"));
        assert_eq!(fast, serde, "{text}");
        true
    }

    #[test]
    fn the_built_in_atlas_is_read_fast_as_serde_json_reads_it() {
        for (name, text) in super::super::EMBEDDED {
            assert!(fast_is_serde(text), "{name} was not read fast");
            let root = root(text).unwrap();
            for f in root.features.unwrap() {
                let RawFeature::Object(RawObject { properties: Props::Object(p), .. }) = f else { continue };
                let text = p.text_and_mask().0.unwrap();
                assert!(members_are_serde(text), "{name}: {text}");
            }
        }
    }

    fn collection(feature: &str) -> String {
        format!(r#"{{"type": "FeatureCollection", "features": [{feature}, {feature}]}}"#)
    }

    #[test]
    fn a_key_is_found_as_serde_json_finds_it() {
        let texts = [
            r#"{"a":1,"control":[{"from":"1600","polity":"x"}],"b":"c"}"#,
            r#"{ "a" : { "control" : 1 } , "b" : [ "control" ] }"#,
            r#"{"a":1,"a":2}"#,
            "{}",
            r#"{"contr\u006fl":1}"#,
            r#"{"control":1,}"#,
            r#"{"control":1} x"#,
            r#"[{"control":1}]"#,
        ];
        for text in texts {
            for key in ["control", "a", "b", "x"] {
                let serde = raw::has_key_serde(text, key);
                if let Some(fast) = has_key(text, key) {
                    assert_eq!(fast, serde, "{key} in {text}");
                }
            }
        }
        assert_eq!(has_key(texts[0], "control"), Some(true));
        assert_eq!(has_key(texts[1], "control"), Some(false));
        assert_eq!(has_key(texts[4], "control"), None, "escapes are left to serde_json");
        assert!(raw::has_key(texts[4], "control"));
    }

    #[test]
    fn plain_forms_read_as_serde_json_reads_them_and_other_forms_are_left_to_it() {
        let plain = [
            r#"{"type":"Feature","properties":{"id":"a","rank":3},"geometry":{"type":"Point","coordinates":[70.5,-45]}}"#,
            "{ \"type\" : \"Feature\" ,\n\t\"properties\" : { \"id\" : \"a\" , \"n\" : [ 1 , { \"x\" : null } ] } ,\r\n \"geometry\" : null }",
            r#"{"type":"Feature","id":7,"properties":null,"geometry":{"type":"LineString","coordinates":[[0,0],[1.25,-0.0],[-0,3,99]]}}"#,
            r#"{"type":"Feature","properties":{},"geometry":{"type":"MultiPolygon","coordinates":[[[[0,0],[1,0],[1,1],[0,0]]],[]]}}"#,
            r#"{"type":"Feature","properties":{"a":1,"a":"two","b":true,"c":false,"d":-1.5e3,"e":"Ә"},"geometry":{"type":"Polygon","coordinates":[]},"bbox":[0,0,1,1]}"#,
            r#"{"type":"Feature","type":"Other","properties":[],"geometry":{"type":"Bogus","coordinates":[1,2]}}"#,
            r#"{"type":"Feature","properties":{"name_ru":"x"},"geometry":{"type":"GeometryCollection","geometries":[]}}"#,
            r#"{"geometry":{"coordinates":[123456789012.345678,0.00000000000000001],"type":"Point"},"properties":{"id":"z"},"type":"Feature"}"#,
        ];
        for f in plain {
            assert!(fast_is_serde(&collection(f)), "not read fast: {f}");
        }
        // Valid JSON in forms left to serde_json, and invalid JSON (serde_json words the error).
        let left = [
            r#"{"type":"Feature","properties":{"id":"a\"b"},"geometry":null}"#,
            r#"{"type":"Feature","properties":{"i\u0064":"a"},"geometry":null}"#,
            r#"{"type":"Feature","properties":{},"geometry":{"type":"Point","coordinates":[1e2,0]}}"#,
            r#"{"type":"Feature","properties":{},"geometry":{"type":"Point","coordinates":[1.2345678901234567891,0]}}"#,
            r#"{"type":"Feature","properties":{},"geometry":{"type":"Point","coordinates":[1]}}"#,
            r#"{"type":"Feature","properties":{},"geometry":{"type":"Point","coordinates":[1,"2"]}}"#,
            r#"{"type":"Feature","properties":{},"geometry":{"type":"LineString","coordinates":[[1,2],[[3,4]]]}}"#,
            r#"{"type":"Feature","properties":{},"geometry":{"type":"LineString","coordinates":[[1,2],[]]}}"#,
            r#"{"type":"Feature","properties":{},"geometry":{"type":"Point","coordinates":[01,2]}}"#,
            r#"{"type":"Feature","properties":{},"geometry":{"type":"Point","coordinates":[1.,2]}}"#,
            r#"{"type":"Feature","properties":{"a":[1,2,]},"geometry":null}"#,
            r#"{"type":"Feature","properties":{"a":tru},"geometry":null}"#,
            "{\"type\":\"Feature\",\"properties\":{\"a\":\"tab\there\"},\"geometry\":null}",
            r#"{"type":"Feature","id":1.5,"properties":{},"geometry":null}"#,
            r#"{"type":"Feature","id":-1,"properties":{},"geometry":null}"#,
            r#"{"type":7,"properties":{},"geometry":null}"#,
            r#"{"type":"Feature","properties":{},"geometry":"here"}"#,
            r#"{"type":"Feature","properties":{},"geometry":null,}"#,
            r#"{"type":"Feature","properties":{} "geometry":null}"#,
        ];
        for f in left {
            assert!(!fast_is_serde(&collection(f)), "read fast: {f}");
        }
        assert!(
            !fast_is_serde(r#"[{"type":"Feature"}]"#) && !fast_is_serde("5") && !fast_is_serde(r#"{"features":[5]}"#)
        );
        assert!(!fast_is_serde(r#"{"type":"FeatureCollection","features":[]} x"#));
        assert!(fast_is_serde(" {\"type\":\"FeatureCollection\",\"features\":[],\"name\":\"x\",\"features\":[]}\n"));
        // A run must be features only: one that closes the array is left to serde_json.
        assert!(features(r#"{"type":"Feature"}], "x": [{"type":"Feature"}"#).is_none());
        assert!(features(" ").is_none() && features(r#"{"type":"Feature"},"#).is_none());
        for text in [r#"{"k":1,"k":[true,{"a":null}],"s":"Ә","f":-0.5,"big":123456789012345678901234}"#, "{}"] {
            assert!(members_are_serde(text), "{text}");
        }
        assert!(!members_are_serde(r#"{"k\u0031":1}"#) && !members_are_serde(r#"{"k":1e999}"#));
    }

    /// A JSON number in any of the forms a writer (or a hostile file) might use.
    fn number() -> impl Strategy<Value = String> {
        ("-?", "(0|[1-9][0-9]{0,21}|0[0-9]{1,3})", "(\\.[0-9]{0,19})?", "([eE][+-]?[0-9]{1,3})?")
            .prop_map(|(s, i, f, e)| format!("{s}{i}{f}{e}"))
    }

    fn space() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec!["", "", " ", "\n  ", "\t", "\r\n"])
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        #[test]
        fn a_string_ends_where_a_byte_by_byte_scan_ends_it(text in "[a-z\"\\\\\u{1}\u{1f} Әé\u{7f}]{0,40}") {
            let b = text.as_bytes();
            let naive = b.iter().position(|&c| c == b'"' || c == b'\\' || c < 0x20).filter(|&i| b[i] == b'"');
            prop_assert_eq!(string_len(b), naive, "{:?}", text);
        }

        #[test]
        fn any_feature_read_fast_is_read_as_serde_json_reads_it(
            nums in prop::collection::vec(number(), 1..7),
            nest in 0usize..4,
            ws in space(),
            key in prop::sample::select(vec!["id", "name", "name_ru", "rank", "a\\u0062", "type", ""]),
            value in prop::sample::select(vec![
                "\"x\"", "1", "null", "[1,{\"a\":[]}]", "\"q\\\"\"", "01", "[1,]", "true",
                "{\"a\":1,\"a\":-2.5e3,\"b\":[false]}", "[-0,0.5,1e2,{\"b\":null},\"Ә\"]", "{ \"k\" : [ ] }", "18446744073709551616",
            ]),
        ) {
            let position = format!("[{}]", nums.join(&format!("{ws},{ws}")));
            let coords = (0..nest).fold(position, |c, _| format!("[{ws}{c}{ws},{ws}{c}{ws}]"));
            let feature = format!(
                "{{{ws}\"type\":{ws}\"Feature\",\"properties\":{{\"{key}\":{ws}{value}{ws}}},\"geometry\":{{\"type\":\"Point\",\"coordinates\":{coords}}}{ws}}}"
            );
            fast_is_serde(&collection(&feature));
            members_are_serde(&format!("{{\"{key}\":{ws}{value}}}"));
        }
    }
}
