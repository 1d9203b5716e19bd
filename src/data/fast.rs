//! A fast reader for GeoJSON of the usual shape: a byte scanner over the text that reads
//! feature objects, their properties and their coordinates without serde's visitors.
//!
//! It gives exactly what the serde reader of [`super::raw`] gives, or nothing: anything it
//! does not read the usual way — a number with an exponent or more than 19 digits, a
//! control character in a string, coordinates that are not a plain nesting of number
//! lists, malformed JSON — makes it give up, and the caller reads the text again with
//! the serde reader (which also words the error of a malformed file). Values it does not
//! look into (a member it ignores, a nested property value, a feature's own `id`) are read
//! by serde_json itself. Numbers are computed as serde_json computes them (the significand
//! as an f64, divided by an exact power of ten), so every coordinate has the same bits.

use super::feature::{KeyTexts, Properties};
use super::raw::{self, Geom, Nested, Props, RawFeature, RawObject, Root};
use geo::Coord;
use serde::de::{DeserializeOwned, IgnoredAny};
use serde_json::Value;
use std::borrow::Cow;
use std::sync::Arc;

/// The fast reader gave up: read the text with the serde reader.
struct GiveUp;

type Res<T> = Result<T, GiveUp>;

/// Read a root value as [`raw::parse_root`] does, or `None` if the fast reader gives up.
pub(super) fn parse_root(text: &str, keys: &mut KeyTexts) -> Option<Root> {
    let mut s =
        Scan { text, b: text.as_bytes(), pos: 0, scratch: Vec::new(), members: Vec::new(), key_order: Vec::new() };
    let root = s.root(keys).ok()?;
    s.ws();
    (s.pos == s.b.len()).then_some(root)
}

/// A quoted string with escapes, decoded by serde_json.
#[cold]
#[inline(never)]
fn unescape(quoted: &str) -> Res<String> {
    serde_json::from_str::<String>(quoted).map_err(|_| GiveUp)
}

/// Exact powers of ten (as serde_json's table holds them: every one up to 1e22 is exact).
const POW10: [f64; 20] =
    [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19];

/// A JSON number as written: sign, decimal digits (at most 19, so no overflow) and how
/// many of them follow the decimal point (`None`: no point).
struct Number {
    negative: bool,
    significand: u64,
    fraction_digits: Option<u32>,
}

impl Number {
    /// The number as serde_json reads it into an f64.
    fn to_f64(&self) -> f64 {
        let mut f = self.significand as f64;
        if let Some(d) = self.fraction_digits {
            f /= POW10[d as usize];
        }
        if self.negative {
            -f
        } else {
            f
        }
    }

    /// The number as serde_json reads it into a `Value`.
    fn to_value(&self) -> Value {
        match (self.fraction_digits, self.negative) {
            (None, false) => Value::from(self.significand),
            (None, true) => {
                let n = (self.significand as i64).wrapping_neg();
                if n >= 0 {
                    // `-0` and integers below i64::MIN become floats, as in serde_json.
                    Value::from(-(self.significand as f64))
                } else {
                    Value::from(n)
                }
            }
            (Some(_), _) => Value::from(self.to_f64()),
        }
    }
}

struct Scan<'a> {
    text: &'a str,
    b: &'a [u8],
    pos: usize,
    /// Positions of the line being read.
    scratch: Vec<Coord<f64>>,
    /// Members of the properties being read.
    members: Vec<(Arc<str>, Value)>,
    /// The shared key texts of the last feature's properties, in sorted order.
    key_order: Vec<*const u8>,
}

impl<'a> Scan<'a> {
    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.b.get(self.pos) {
            self.pos += 1;
        }
    }

    /// The next byte after white space (not consumed).
    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.b.get(self.pos).copied()
    }

    fn eat(&mut self, c: u8) -> Res<()> {
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(GiveUp)
        }
    }

    /// After a member or element: `true` at a `,` (consumed), `false` at `close` (consumed).
    fn next_or_close(&mut self, close: u8) -> Res<bool> {
        match self.peek() {
            Some(b',') => {
                self.pos += 1;
                Ok(true)
            }
            Some(c) if c == close => {
                self.pos += 1;
                Ok(false)
            }
            _ => Err(GiveUp),
        }
    }

    /// A string; one with escapes is decoded by serde_json.
    fn string(&mut self) -> Res<Cow<'a, str>> {
        self.eat(b'"')?;
        let (b, start) = (self.b, self.pos);
        let mut i = start;
        let mut escaped = false;
        loop {
            let Some(&c) = b.get(i) else { return Err(GiveUp) };
            if c == b'"' {
                break;
            }
            if c == b'\\' {
                escaped = true;
                i += 2;
            } else if c < 0x20 {
                return Err(GiveUp);
            } else {
                i += 1;
            }
        }
        self.pos = i + 1;
        if escaped {
            unescape(&self.text[start - 1..=i]).map(Cow::Owned)
        } else {
            Ok(Cow::Borrowed(&self.text[start..i]))
        }
    }

    /// A string value, or `None` for any other value (read and ignored).
    fn maybe_str(&mut self) -> Res<Option<Cow<'a, str>>> {
        if self.peek() == Some(b'"') {
            Ok(Some(self.string()?))
        } else {
            self.skip().map(|_| None)
        }
    }

    /// Any value, read by serde_json.
    fn serde_value<T: DeserializeOwned>(&mut self) -> Res<T> {
        self.ws();
        let mut values = serde_json::Deserializer::from_str(&self.text[self.pos..]).into_iter::<T>();
        match values.next() {
            Some(Ok(v)) => {
                self.pos += values.byte_offset();
                Ok(v)
            }
            _ => Err(GiveUp),
        }
    }

    fn skip(&mut self) -> Res<()> {
        self.serde_value::<IgnoredAny>().map(|_| ())
    }

    fn literal(&mut self, word: &[u8]) -> Res<()> {
        if self.b[self.pos..].starts_with(word) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(GiveUp)
        }
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?` with at most 19 digits.
    fn number(&mut self) -> Res<Number> {
        self.ws();
        let b = self.b;
        let mut i = self.pos;
        let negative = b.get(i) == Some(&b'-');
        i += usize::from(negative);
        let int_start = i;
        let mut significand: u64 = 0;
        while let Some(&c) = b.get(i) {
            let d = c.wrapping_sub(b'0');
            if d > 9 {
                break;
            }
            significand = significand.wrapping_mul(10).wrapping_add(u64::from(d));
            i += 1;
        }
        let int_digits = i - int_start;
        if int_digits == 0 || (int_digits > 1 && b[int_start] == b'0') {
            return Err(GiveUp);
        }
        let mut fraction_digits = None;
        if b.get(i) == Some(&b'.') {
            i += 1;
            let frac_start = i;
            while let Some(&c) = b.get(i) {
                let d = c.wrapping_sub(b'0');
                if d > 9 {
                    break;
                }
                significand = significand.wrapping_mul(10).wrapping_add(u64::from(d));
                i += 1;
            }
            let n = i - frac_start;
            if n == 0 {
                return Err(GiveUp);
            }
            fraction_digits = Some(n as u32);
        }
        // Past 19 digits the significand could have wrapped; an exponent is read by serde.
        if int_digits + fraction_digits.unwrap_or(0) as usize > 19 || matches!(b.get(i), Some(b'e' | b'E')) {
            return Err(GiveUp);
        }
        self.pos = i;
        Ok(Number { negative, significand, fraction_digits })
    }

    /// A property's value, as serde_json would read it into a `Value`.
    fn value(&mut self) -> Res<Value> {
        match self.peek() {
            Some(b'"') => Ok(Value::String(self.string()?.into_owned())),
            Some(b'-' | b'0'..=b'9') => Ok(self.number()?.to_value()),
            Some(b't') => self.literal(b"true").map(|_| Value::Bool(true)),
            Some(b'f') => self.literal(b"false").map(|_| Value::Bool(false)),
            Some(b'n') => self.literal(b"null").map(|_| Value::Null),
            Some(b'[' | b'{') => self.serde_value::<Value>(),
            _ => Err(GiveUp),
        }
    }

    /// The members of an object, each handed to `member` with its key (which reads the value).
    fn object(&mut self, mut member: impl FnMut(&mut Self, Cow<'a, str>) -> Res<()>) -> Res<()> {
        self.eat(b'{')?;
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            let key = self.string()?;
            self.eat(b':')?;
            member(self, key)?;
            if !self.next_or_close(b'}')? {
                return Ok(());
            }
        }
    }

    fn root(&mut self, keys: &mut KeyTexts) -> Res<Root> {
        let mut obj = RawObject::default();
        let mut features = None;
        self.object(|s, key| {
            if key == "features" {
                features = s.features(keys)?;
                Ok(())
            } else {
                s.member(&key, &mut obj, keys)
            }
        })?;
        Ok(Root { type_name: obj.type_name.clone(), features, as_feature: RawFeature::Object(obj) })
    }

    fn features(&mut self, keys: &mut KeyTexts) -> Res<Option<Vec<RawFeature>>> {
        if self.peek() != Some(b'[') {
            return self.skip().map(|_| None);
        }
        self.pos += 1;
        let mut out = Vec::new();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(Some(out));
        }
        loop {
            out.push(self.feature(keys)?);
            if !self.next_or_close(b']')? {
                break;
            }
        }
        out.shrink_to_fit();
        Ok(Some(out))
    }

    fn feature(&mut self, keys: &mut KeyTexts) -> Res<RawFeature> {
        if self.peek() != Some(b'{') {
            return self.skip().map(|_| RawFeature::NotObject);
        }
        let mut obj = RawObject::default();
        self.object(|s, key| s.member(&key, &mut obj, keys))?;
        Ok(RawFeature::Object(obj))
    }

    /// A member of a feature object (as `raw`'s `object_member` reads it).
    fn member(&mut self, key: &str, obj: &mut RawObject, keys: &mut KeyTexts) -> Res<()> {
        match key {
            "type" => obj.type_name = self.maybe_str()?.map(|t| raw::type_name(&t)),
            "id" => {
                let v = self.value()?;
                obj.id = matches!(v, Value::String(_) | Value::Number(_)).then_some(v);
            }
            "properties" => {
                obj.properties = match self.peek() {
                    Some(b'{') => Props::Object(self.properties(keys)?),
                    Some(b'n') => self.literal(b"null").map(|_| Props::Null)?,
                    _ => self.skip().map(|_| Props::Other)?,
                }
            }
            "geometry" => {
                obj.geometry = match self.peek() {
                    Some(b'{') => self.geometry()?,
                    Some(b'n') => self.literal(b"null").map(|_| Geom::Null)?,
                    _ => self.skip().map(|_| raw::not_a_geometry())?,
                }
            }
            _ => self.skip()?,
        }
        Ok(())
    }

    fn properties(&mut self, keys: &mut KeyTexts) -> Res<Properties> {
        let mut members = std::mem::take(&mut self.members);
        members.clear();
        let read = self.object(|s, key| {
            let k = keys.share(&key);
            members.push((k, s.value()?));
            Ok(())
        });
        let props = read.map(|_| self.sorted_properties(&mut members));
        self.members = members;
        props
    }

    /// The members as [`Properties`]. Features of a file mostly give the same keys in the
    /// same order: when they are the last feature's keys (the same shared texts, each
    /// once), their order is known and they are sorted by it without comparing texts.
    fn sorted_properties(&mut self, members: &mut Vec<(Arc<str>, Value)>) -> Properties {
        let order = &self.key_order;
        if members.len() == order.len() && order.len() <= 64 {
            let rank = |k: &Arc<str>| order.iter().position(|o| std::ptr::eq(Arc::as_ptr(k) as *const u8, *o));
            let mut seen = 0u64;
            let mut ranks = [0u8; 64];
            let mut known = true;
            for ((k, _), slot) in members.iter().zip(&mut ranks) {
                match rank(k) {
                    Some(r) if seen & (1 << r) == 0 => {
                        seen |= 1 << r;
                        *slot = r as u8;
                    }
                    _ => {
                        known = false;
                        break;
                    }
                }
            }
            if known {
                // Put each member at its rank (a permutation: each swap places one).
                for i in 0..members.len() {
                    while ranks[i] as usize != i {
                        let r = ranks[i] as usize;
                        members.swap(i, r);
                        ranks.swap(i, r);
                    }
                }
                return Properties::from_sorted(members);
            }
        }
        let props = Properties::from_scratch(members);
        self.key_order.clear();
        self.key_order.extend(props.keys().map(|k| k.as_ptr()));
        props
    }

    fn geometry(&mut self) -> Res<Geom> {
        let mut type_name: Option<Option<Cow<'a, str>>> = None;
        let mut coords: Option<Nested> = None;
        self.object(|s, key| {
            match &*key {
                "type" => type_name = Some(s.maybe_str()?),
                "coordinates" => {
                    if s.peek() != Some(b'[') {
                        return Err(GiveUp);
                    }
                    coords = Some(s.coordinates(0)?);
                }
                _ => s.skip()?,
            }
            Ok(())
        })?;
        Ok(raw::geometry_of(type_name.as_ref().map(Option::as_deref), coords))
    }

    /// A coordinates array (at its `[`): a position, a line of positions, or a list of
    /// lines or lists; anything else (mixed, short or non-numeric positions) gives up.
    fn coordinates(&mut self, depth: u32) -> Res<Nested> {
        self.pos += 1; // '['
        match self.peek() {
            Some(b']') => {
                self.pos += 1;
                Ok(Nested::Empty)
            }
            Some(b'-' | b'0'..=b'9') => self.position_rest().map(Nested::Position),
            Some(b'[') if depth < 4 => match self.coordinates(depth + 1)? {
                Nested::Position(first) => {
                    let mark = self.scratch.len();
                    self.scratch.push(first);
                    while self.next_or_close(b']')? {
                        self.eat(b'[')?;
                        let c = self.position_rest()?;
                        self.scratch.push(c);
                    }
                    let line = self.scratch[mark..].to_vec();
                    self.scratch.truncate(mark);
                    Ok(Nested::Line(line))
                }
                first => {
                    let mut items = vec![first];
                    while self.next_or_close(b']')? {
                        if self.peek() != Some(b'[') {
                            return Err(GiveUp);
                        }
                        match self.coordinates(depth + 1)? {
                            Nested::Position(_) => return Err(GiveUp),
                            n => items.push(n),
                        }
                    }
                    Ok(Nested::List(items))
                }
            },
            _ => Err(GiveUp),
        }
    }

    /// The numbers of a position after its `[`, through its `]`: two or more (height and
    /// the rest are ignored).
    fn position_rest(&mut self) -> Res<Coord<f64>> {
        let x = self.number()?.to_f64();
        self.eat(b',')?;
        let y = self.number()?.to_f64();
        while self.next_or_close(b']')? {
            self.number()?;
        }
        Ok(Coord { x, y })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The serde reader's answer, or `None` if the text is not JSON.
    fn slow(text: &str) -> Option<Root> {
        raw::parse_root_serde(text, &mut KeyTexts::default()).ok()
    }

    fn same(a: &Root, b: &Root) -> bool {
        a.type_name == b.type_name && a.features == b.features && a.as_feature == b.as_feature
    }

    /// The fast reader agrees with the serde reader wherever it answers (bit for bit on
    /// numbers), and gives up on what it does not read.
    fn check(text: &str) -> bool {
        let fast = parse_root(text, &mut KeyTexts::default());
        if let Some(f) = &fast {
            let s = slow(text).unwrap_or_else(|| panic!("fast read what serde refuses: {text}"));
            assert!(same(f, &s), "{text}\nfast {:?}\nslow {:?}", f.features, s.features);
        }
        fast.is_some()
    }

    fn bits(n: &Nested) -> Vec<(u64, u64)> {
        match n {
            Nested::Position(c) => vec![(c.x.to_bits(), c.y.to_bits())],
            Nested::Line(l) => l.iter().map(|c| (c.x.to_bits(), c.y.to_bits())).collect(),
            Nested::List(v) => v.iter().flat_map(bits).collect(),
            _ => Vec::new(),
        }
    }

    fn coords_of(r: &Root) -> Vec<(u64, u64)> {
        r.features
            .iter()
            .flatten()
            .flat_map(|f| match f {
                RawFeature::Object(RawObject { geometry: Geom::Parsed(_, Some(n)), .. }) => bits(n),
                _ => Vec::new(),
            })
            .collect()
    }

    #[test]
    fn usual_geojson_is_read_as_serde_reads_it() {
        for text in [
            r#"{"type":"FeatureCollection","features":[]}"#,
            r#" { "type" : "FeatureCollection" , "features" : [ { "type" : "Feature" , "properties" : { "id" : "a" , "n" : -0 , "m" : 1.50 , "b" : true , "c" : [1, {"x": null}] , "d" : false , "e" : null } , "geometry" : { "type" : "Point" , "coordinates" : [ 70 , -45.125 , 300 ] } } ] } "#,
            r#"{"features":[{"geometry":{"coordinates":[[[1,2],[3,4],[5,6],[1,2]],[]],"type":"Polygon","bbox":[0,0,1,1]},"id":7,"type":"Feature","properties":null,"x":{"y":[1,2]}}],"type":"FeatureCollection","name":"x"}"#,
            r#"{"type":"FeatureCollection","features":[5,"x",{"type":"Feature","properties":[],"geometry":7},{"type":"Feature","geometry":{"type":"Bogus"}},{"type":3}]}"#,
            r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"id":"x","id":"y","name":"caf\u00e9 \"q\"","n":-9223372036854775808,"m":9999999999999999999,"z":0.1}}]}"#,
            r#"{"type":"Feature","id":"f","properties":{"a":1},"geometry":{"type":"MultiPolygon","coordinates":[[[[0,0],[1,0],[1,1],[0,0]]],[[[2,2],[3,2],[3,3],[2,2]],[[2.1,2.1],[2.2,2.1],[2.2,2.2],[2.1,2.1]]]]}}"#,
            r#"{"type":"Feature","geometry":{"type":"GeometryCollection","geometries":[]}}"#,
            r#"{"type":"FeatureCollection","features":[{"properties":{"b":1,"a":2,"c":3}},{"properties":{"c":1,"a":2,"b":3}},{"properties":{"a":1,"a":2,"b":3}},{"properties":{"b":1,"a":2}},{"properties":{"a":5,"c":6}},{"properties":{"c":1,"c":2}},{"properties":{"a":1,"b":2}}]}"#,
            r#"{"type":"Feature","geometry":{"type":"MultiLineString","coordinates":[[],[[1,2],[3,4]]]}}"#,
        ] {
            assert!(check(text), "the fast reader gave up on {text}");
        }
    }

    #[test]
    fn unusual_text_is_left_to_serde() {
        for text in [
            "",
            "[]",
            r#"{"type":"FeatureCollection","features":[],}"#,
            r#"{"type":"FeatureCollection","features":[{"geometry":{"type":"Point","coordinates":[1e5,2]}}]}"#,
            r#"{"type":"FeatureCollection","features":[{"geometry":{"type":"Point","coordinates":[1,"2"]}}]}"#,
            r#"{"type":"FeatureCollection","features":[{"geometry":{"type":"Point","coordinates":[1]}}]}"#,
            r#"{"type":"FeatureCollection","features":[{"geometry":{"type":"Point","coordinates":[01,2]}}]}"#,
            r#"{"type":"FeatureCollection","features":[{"geometry":{"type":"Point","coordinates":[1.,2]}}]}"#,
            r#"{"type":"FeatureCollection","features":[{"geometry":{"type":"LineString","coordinates":[[1,2],[[3,4]]]}}]}"#,
            r#"{"type":"FeatureCollection","features":[{"geometry":{"type":"LineString","coordinates":[[1,2],3]}}]}"#,
            r#"{"type":"FeatureCollection","features":[{"geometry":{"type":"Polygon","coordinates":[[[1,2]],[[3,4]],[5,6]]}}]}"#,
            r#"{"type":"FeatureCollection","features":[{"geometry":{"type":"Point","coordinates":[[[[[[1,2]]]]]]}}]}"#,
            r#"{"type":"FeatureCollection","features":[{"geometry":{"type":"Point","coordinates":[1.23456789012345678901,2]}}]}"#,
            r#"{"type":"FeatureCollection","features":[{"properties":{"a":"tab	here"}}]}"#,
            r#"{"type":"FeatureCollection","features":[]} x"#,
            r#"{"type":"FeatureCollection","features":[{"properties":{"a":tru}}]}"#,
        ] {
            assert!(!check(text), "the fast reader read {text}");
        }
    }

    #[test]
    fn every_cut_of_a_file_is_read_as_serde_reads_it_or_left_to_it() {
        let text = r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"id":"a-1","name":"A","rank":2,"control":[{"from":"1600","polity":"x"}]},"geometry":{"type":"Polygon","coordinates":[[[45.0,28.0],[45.06383,28.0],[45.1,28.1],[45.0,28.0]]]}},{"type":"Feature","properties":{"id":"b"},"geometry":{"type":"LineString","coordinates":[[-1.5,2],[3,-4.25]]}}]}"#;
        assert!(check(text));
        for cut in 0..text.len() {
            check(&text[..cut]);
            let mut t = text.to_string();
            t.replace_range(cut..cut + 1, "]");
            check(&t);
        }
    }

    /// Every file of the built-in atlas (and of `STEPPE_ATLAS_FAST_CHECK`, a folder, if
    /// set) is read by the fast reader, as serde reads it, coordinates bit for bit.
    #[test]
    fn the_built_in_atlas_is_read_fast_and_as_serde_reads_it() {
        let mut texts: Vec<(String, String)> =
            super::super::EMBEDDED.iter().map(|(n, t)| (n.to_string(), t.to_string())).collect();
        if let Some(dir) = std::env::var_os("STEPPE_ATLAS_FAST_CHECK") {
            for e in std::fs::read_dir(dir).unwrap() {
                let p = e.unwrap().path();
                if p.extension().is_some_and(|x| x == "geojson") {
                    texts.push((p.display().to_string(), std::fs::read_to_string(&p).unwrap()));
                }
            }
        }
        for (name, text) in texts {
            let fast = parse_root(&text, &mut KeyTexts::default()).unwrap_or_else(|| panic!("{name}: gave up"));
            let slow = slow(&text).unwrap();
            assert!(same(&fast, &slow), "{name}");
            assert_eq!(coords_of(&fast), coords_of(&slow), "{name}");
            assert!(!coords_of(&fast).is_empty() || name.contains("events"), "{name}");
        }
    }

    #[test]
    fn numbers_have_the_bits_serde_json_gives_them() {
        // Decimals of every length the fast reader takes, signs, zeros, 2^53 and beyond.
        let mut positions = Vec::new();
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        for i in 0..4000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let digits = 1 + (i % 18);
            let m = seed % 10u64.pow(digits as u32);
            let point = (seed >> 40) as usize % (digits + 1);
            let s = format!("{m:0digits$}");
            let (a, b) = s.split_at(digits - point);
            let a = a.trim_start_matches('0');
            let num = match (a.is_empty(), b.is_empty()) {
                (true, true) => "0".to_string(),
                (true, false) => format!("0.{b}"),
                (false, true) => a.to_string(),
                (false, false) => format!("{a}.{b}"),
            };
            let sign = if seed & 1 == 1 { "-" } else { "" };
            positions.push(format!("[{sign}{num},{num}]"));
        }
        positions.push("[9007199254740993,-9007199254740993.5]".into());
        positions.push("[-0,-0.0]".into());
        let text = format!(
            r#"{{"type":"FeatureCollection","features":[{{"type":"Feature","geometry":{{"type":"LineString","coordinates":[{}]}}}}]}}"#,
            positions.join(",")
        );
        let fast = parse_root(&text, &mut KeyTexts::default()).expect("the fast reader reads it");
        let slow = slow(&text).unwrap();
        assert_eq!(coords_of(&fast), coords_of(&slow));
        assert_eq!(coords_of(&fast).len(), positions.len());
    }
}
