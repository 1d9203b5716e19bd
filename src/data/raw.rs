//! Streaming GeoJSON reading: serde visitors that read a FeatureCollection feature by
//! feature, typing each geometry's coordinates straight into `geo` coordinates and moving
//! each feature's properties into the map the feature keeps. No JSON tree is built for a
//! feature or its coordinates, so a coordinate is held once, in its final place.
//!
//! Only malformed JSON fails a file; anything well-formed but wrong (a feature that is not
//! an object, a geometry of no known type, a position of strings) is kept as a finding for
//! the typed layer to report with the file and feature's id.

use super::feature::{KeyTexts, Properties};
use geo::Coord;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

/// One feature as read, before it is typed.
#[derive(Debug, PartialEq)]
pub(super) enum RawFeature {
    /// A JSON value that is not an object.
    NotObject,
    /// An object (its members that a feature uses).
    Object(RawObject),
}

/// The members of a feature object that steppe-atlas reads.
#[derive(Debug, Default, PartialEq)]
pub(super) struct RawObject {
    /// `type`, if a string.
    pub type_name: Option<TypeName>,
    /// The feature's own `id` (outside `properties`), if a string or number.
    pub id: Option<Value>,
    /// `properties` (an object is kept as its JSON text, see [`Properties::from_text`]).
    pub properties: Props,
    /// Does a key of `properties` look like a Shapefile-shortened name
    /// ([`super::read::proper_key`])?
    pub shortened: bool,
    /// `geometry`.
    pub geometry: Geom,
}

/// A `type` member's text: the usual names are not allocated.
pub(super) type TypeName = std::borrow::Cow<'static, str>;

/// The text of a `type` member.
pub(super) fn type_name(s: &str) -> TypeName {
    match s {
        "Feature" => TypeName::Borrowed("Feature"),
        "FeatureCollection" => TypeName::Borrowed("FeatureCollection"),
        other => TypeName::Owned(other.to_string()),
    }
}

/// The `properties` member.
#[derive(Debug, Default, PartialEq)]
pub(super) enum Props {
    /// Absent.
    #[default]
    Missing,
    /// `null`.
    Null,
    /// An object.
    Object(Properties),
    /// Anything else.
    Other,
}

/// The `geometry` member.
#[derive(Debug, Default, PartialEq)]
pub(super) enum Geom {
    /// Absent.
    #[default]
    Missing,
    /// `null`.
    Null,
    /// Not a geometry object (the reason).
    Invalid(String),
    /// A geometry object: its type and coordinates (if given).
    Parsed(GeomType, Option<Nested>),
}

/// The GeoJSON geometry types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum GeomType {
    /// `Point`.
    Point,
    /// `MultiPoint`.
    MultiPoint,
    /// `LineString`.
    LineString,
    /// `MultiLineString`.
    MultiLineString,
    /// `Polygon`.
    Polygon,
    /// `MultiPolygon`.
    MultiPolygon,
    /// `GeometryCollection`.
    GeometryCollection,
}

impl GeomType {
    /// The type's GeoJSON name.
    pub fn name(self) -> &'static str {
        match self {
            GeomType::Point => "Point",
            GeomType::MultiPoint => "MultiPoint",
            GeomType::LineString => "LineString",
            GeomType::MultiLineString => "MultiLineString",
            GeomType::Polygon => "Polygon",
            GeomType::MultiPolygon => "MultiPolygon",
            GeomType::GeometryCollection => "GeometryCollection",
        }
    }

    pub(super) fn from_name(s: &str) -> Option<GeomType> {
        Some(match s {
            "Point" => GeomType::Point,
            "MultiPoint" => GeomType::MultiPoint,
            "LineString" => GeomType::LineString,
            "MultiLineString" => GeomType::MultiLineString,
            "Polygon" => GeomType::Polygon,
            "MultiPolygon" => GeomType::MultiPolygon,
            "GeometryCollection" => GeomType::GeometryCollection,
            _ => return None,
        })
    }
}

/// A `coordinates` array as read: a position, a list of positions (a line or ring, kept as
/// the `Vec` it will live in), or a list of such lists.
#[derive(Debug, PartialEq)]
pub(super) enum Nested {
    /// `[]`: an empty list at any depth.
    Empty,
    /// A position (longitude, latitude; more numbers are ignored).
    Position(Coord<f64>),
    /// A list of positions.
    Line(Vec<Coord<f64>>),
    /// A list of lists.
    List(Vec<Nested>),
    /// Something that is not a nesting of number lists (the reason).
    Bad(&'static str),
}

/// What a root JSON value of a `.geojson` file or of a `.geojsonseq` record held.
pub(super) struct Root {
    /// `type`, if a string.
    pub type_name: Option<TypeName>,
    /// The `features` member: `Some` if it was an array (the last, if given twice).
    pub features: Option<Vec<RawFeature>>,
    /// How many `features` members the root has.
    pub features_members: usize,
    /// How many members the root has.
    pub members: usize,
    /// The root as a feature (when it is one, or a record that is not a collection).
    pub as_feature: RawFeature,
}

/// Read a root value (a FeatureCollection, a Feature or anything else) from JSON text.
pub(super) fn parse_root(text: &str) -> serde_json::Result<Root> {
    match super::fast::root(text) {
        Some(root) => Ok(root),
        None => parse_root_serde(text),
    }
}

/// [`parse_root`] by serde_json alone (any form, and its error messages).
pub(super) fn parse_root_serde(text: &str) -> serde_json::Result<Root> {
    let mut de = serde_json::Deserializer::from_str(text);
    let root = RootSeed.deserialize(&mut de)?;
    de.end()?;
    Ok(root)
}

// ---------------------------------------------------------------- keys

#[derive(Clone, Copy, PartialEq, Eq)]
enum Key {
    Type,
    Id,
    Properties,
    Geometry,
    Features,
    Coordinates,
    Other,
}

impl<'de> serde::Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Key, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_str<E>(self, s: &str) -> Result<Key, E> {
                Ok(match s {
                    "type" => Key::Type,
                    "id" => Key::Id,
                    "properties" => Key::Properties,
                    "geometry" => Key::Geometry,
                    "features" => Key::Features,
                    "coordinates" => Key::Coordinates,
                    _ => Key::Other,
                })
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

/// Visitor methods for every JSON value other than an object and an array, each giving
/// `$v` (the value is consumed and its content ignored).
macro_rules! scalars_give {
    ($t:ty, $v:expr) => {
        fn visit_bool<E>(self, _: bool) -> Result<$t, E> {
            Ok($v)
        }
        fn visit_i64<E>(self, _: i64) -> Result<$t, E> {
            Ok($v)
        }
        fn visit_u64<E>(self, _: u64) -> Result<$t, E> {
            Ok($v)
        }
        fn visit_f64<E>(self, _: f64) -> Result<$t, E> {
            Ok($v)
        }
        fn visit_str<E>(self, _: &str) -> Result<$t, E> {
            Ok($v)
        }
        fn visit_unit<E>(self) -> Result<$t, E> {
            Ok($v)
        }
    };
}

fn skip_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok(())
}

fn skip_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
    Ok(())
}

/// A string value given to a function (no copy of the text is made), or `None` for any
/// other value (consumed).
struct MaybeStrWith<F>(F);

impl<'de, T, F: FnOnce(&str) -> T> DeserializeSeed<'de> for MaybeStrWith<F> {
    type Value = Option<T>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<T>, D::Error> {
        struct V<F>(F);
        impl<'de, T, F: FnOnce(&str) -> T> Visitor<'de> for V<F> {
            type Value = Option<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any value")
            }
            fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
                Ok(Some((self.0)(s)))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                skip_seq(seq).map(|_| None)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                skip_map(map).map(|_| None)
            }
        }
        d.deserialize_any(V(self.0))
    }
}

// ---------------------------------------------------------------- root and features

struct RootSeed;

impl<'de> DeserializeSeed<'de> for RootSeed {
    type Value = Root;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Root, D::Error> {
        d.deserialize_any(RootVisitor)
    }
}

struct RootVisitor;

fn not_object() -> Root {
    Root { type_name: None, features: None, features_members: 0, members: 0, as_feature: RawFeature::NotObject }
}

impl<'de> Visitor<'de> for RootVisitor {
    type Value = Root;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a GeoJSON object")
    }
    scalars_give!(Root, not_object());
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Root, A::Error> {
        skip_seq(seq).map(|_| not_object())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Root, A::Error> {
        let mut obj = RawObject::default();
        let (mut features, mut features_members, mut members) = (None, 0, 0);
        while let Some(key) = map.next_key::<Key>()? {
            members += 1;
            match key {
                Key::Features => {
                    features = map.next_value_seed(FeaturesSeed)?;
                    features_members += 1;
                }
                other => object_member(other, &mut map, &mut obj)?,
            }
        }
        Ok(Root {
            type_name: obj.type_name.clone(),
            features,
            features_members,
            members,
            as_feature: RawFeature::Object(obj),
        })
    }
}

/// Read the value of a feature object's member `key` into `obj`.
fn object_member<'de, A: MapAccess<'de>>(key: Key, map: &mut A, obj: &mut RawObject) -> Result<(), A::Error> {
    match key {
        Key::Type => obj.type_name = map.next_value_seed(MaybeStrWith(type_name))?,
        Key::Id => {
            let v: Value = map.next_value()?;
            obj.id = matches!(v, Value::String(_) | Value::Number(_)).then_some(v);
        }
        Key::Properties => (obj.properties, obj.shortened) = map.next_value_seed(PropsSeed)?,
        Key::Geometry => obj.geometry = map.next_value_seed(GeomSeed)?,
        _ => {
            map.next_value::<IgnoredAny>()?;
        }
    }
    Ok(())
}

/// The `features` member: `Some(features)` if an array, else `None` (consumed).
struct FeaturesSeed;

impl<'de> DeserializeSeed<'de> for FeaturesSeed {
    type Value = Option<Vec<RawFeature>>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Option<Vec<RawFeature>>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of features")
            }
            scalars_give!(Option<Vec<RawFeature>>, None);
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                skip_map(map).map(|_| None)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(f) = seq.next_element_seed(FeatureSeed)? {
                    out.push(f);
                }
                out.shrink_to_fit();
                Ok(Some(out))
            }
        }
        d.deserialize_any(V)
    }
}

struct FeatureSeed;

impl<'de> DeserializeSeed<'de> for FeatureSeed {
    type Value = RawFeature;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<RawFeature, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawFeature;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a feature")
            }
            scalars_give!(RawFeature, RawFeature::NotObject);
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<RawFeature, A::Error> {
                skip_seq(seq).map(|_| RawFeature::NotObject)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawFeature, A::Error> {
                let mut obj = RawObject::default();
                while let Some(key) = map.next_key::<Key>()? {
                    object_member(key, &mut map, &mut obj)?;
                }
                Ok(RawFeature::Object(obj))
            }
        }
        d.deserialize_any(V)
    }
}

/// A feature's `properties`: an object is kept as JSON text (its members as given, without
/// the spaces between them) and the mask of its keys, with whether a key looks shortened.
/// Its values are not read, only skipped and copied: a feature is typed from the text
/// later, one at a time, and the values it needs are not kept.
struct PropsSeed;

impl<'de> DeserializeSeed<'de> for PropsSeed {
    type Value = (Props, bool);
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(PropsText)
    }
}

struct PropsText;

thread_local! {
    /// The text of the `properties` being read (its room kept from one to the next).
    static PROPS_TEXT: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

impl<'de> Visitor<'de> for PropsText {
    type Value = (Props, bool);
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok((Props::Other, false))
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok((Props::Other, false))
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok((Props::Other, false))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok((Props::Other, false))
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok((Props::Other, false))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok((Props::Null, false))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        skip_seq(seq).map(|_| (Props::Other, false))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        PROPS_TEXT.with_borrow_mut(|text| {
            text.clear();
            text.push('{');
            let (mut mask, mut shortened) = (0, false);
            while let Some((bit, short)) = map.next_key_seed(KeyText(&mut *text))? {
                mask |= bit;
                shortened |= short;
                text.push(':');
                let value: &'de serde_json::value::RawValue = map.next_value()?;
                text.push_str(value.get());
                text.push(',');
            }
            if text.ends_with(',') {
                text.pop();
            }
            text.push('}');
            Ok((Props::Object(Properties::from_text(Box::from(text.as_str()), mask)), shortened))
        })
    }
}

/// A property key: its JSON text is appended to the text being built; gives the key's bit
/// in [`Properties`]'s mask, and whether it looks shortened.
struct KeyText<'t>(&'t mut String);

impl<'de> DeserializeSeed<'de> for KeyText<'_> {
    type Value = (u64, bool);
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(u64, bool), D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeyText<'_> {
    type Value = (u64, bool);
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }
    /// A key read straight from the text holds no escapes: it is written as it was.
    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<(u64, bool), E> {
        self.0.push('"');
        self.0.push_str(s);
        self.0.push('"');
        Ok(key_facts(s))
    }
    fn visit_str<E>(self, s: &str) -> Result<(u64, bool), E> {
        self.0.push_str(&Value::from(s).to_string());
        Ok(key_facts(s))
    }
}

/// A property key, its text shared.
struct SharedKey<'k>(&'k mut KeyTexts);

impl<'de> DeserializeSeed<'de> for SharedKey<'_> {
    type Value = Arc<str>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Arc<str>, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for SharedKey<'_> {
    type Value = Arc<str>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }
    fn visit_str<E>(self, s: &str) -> Result<Arc<str>, E> {
        Ok(self.0.share(s))
    }
}

pub(super) fn key_facts(key: &str) -> (u64, bool) {
    // Every shortened name holds a `_`: most keys are answered by that.
    (super::feature::key_bit(key), key.contains('_') && super::read::proper_key(key).is_some())
}

/// A property's value as typing reads it: a string borrowed from the text where it holds no
/// escapes (a town's id, name and kind cost no allocation), anything else as a JSON value.
#[derive(Debug, PartialEq)]
pub(super) enum PVal<'t> {
    /// A string.
    Str(Cow<'t, str>),
    /// Any other value.
    Other(Value),
}

/// Reads one [`PVal`].
struct PValSeed;

impl<'t> DeserializeSeed<'t> for PValSeed {
    type Value = PVal<'t>;
    fn deserialize<D: Deserializer<'t>>(self, d: D) -> Result<PVal<'t>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'t> Visitor<'t> for PValSeed {
    type Value = PVal<'t>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any value")
    }
    fn visit_borrowed_str<E>(self, s: &'t str) -> Result<PVal<'t>, E> {
        Ok(PVal::Str(Cow::Borrowed(s)))
    }
    fn visit_str<E>(self, s: &str) -> Result<PVal<'t>, E> {
        Ok(PVal::Str(Cow::Owned(s.to_string())))
    }
    fn visit_string<E>(self, s: String) -> Result<PVal<'t>, E> {
        Ok(PVal::Str(Cow::Owned(s)))
    }
    fn visit_bool<E>(self, v: bool) -> Result<PVal<'t>, E> {
        Ok(PVal::Other(Value::Bool(v)))
    }
    fn visit_i64<E>(self, v: i64) -> Result<PVal<'t>, E> {
        Ok(PVal::Other(Value::Number(v.into())))
    }
    fn visit_u64<E>(self, v: u64) -> Result<PVal<'t>, E> {
        Ok(PVal::Other(Value::Number(v.into())))
    }
    fn visit_f64<E>(self, v: f64) -> Result<PVal<'t>, E> {
        // As serde_json's own `Value` reads a float.
        Ok(PVal::Other(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)))
    }
    fn visit_unit<E>(self) -> Result<PVal<'t>, E> {
        Ok(PVal::Other(Value::Null))
    }
    fn visit_seq<A: SeqAccess<'t>>(self, seq: A) -> Result<PVal<'t>, A::Error> {
        serde::Deserialize::deserialize(serde::de::value::SeqAccessDeserializer::new(seq)).map(PVal::Other)
    }
    fn visit_map<A: MapAccess<'t>>(self, map: A) -> Result<PVal<'t>, A::Error> {
        serde::Deserialize::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(PVal::Other)
    }
}

/// The members of the JSON object `text` into `out`, as given; keys and string values are
/// borrowed from the text where they hold no escapes.
pub(super) fn read_members<'t>(text: &'t str, out: &mut Vec<(Cow<'t, str>, PVal<'t>)>) -> serde_json::Result<()> {
    if super::fast::members(text, out).is_some() {
        return Ok(());
    }
    out.clear();
    read_members_serde(text, out)
}

/// [`read_members`] by serde_json alone.
pub(super) fn read_members_serde<'t>(text: &'t str, out: &mut Vec<(Cow<'t, str>, PVal<'t>)>) -> serde_json::Result<()> {
    struct Members<'o, 't>(&'o mut Vec<(Cow<'t, str>, PVal<'t>)>);
    impl<'t> Visitor<'t> for Members<'_, 't> {
        type Value = ();
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: MapAccess<'t>>(self, mut map: A) -> Result<(), A::Error> {
            while let Some(k) = map.next_key_seed(BorrowedKey)? {
                self.0.push((k, map.next_value_seed(PValSeed)?));
            }
            Ok(())
        }
    }
    struct BorrowedKey;
    impl<'t> DeserializeSeed<'t> for BorrowedKey {
        type Value = Cow<'t, str>;
        fn deserialize<D: Deserializer<'t>>(self, d: D) -> Result<Cow<'t, str>, D::Error> {
            d.deserialize_str(self)
        }
    }
    impl<'t> Visitor<'t> for BorrowedKey {
        type Value = Cow<'t, str>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a key")
        }
        fn visit_borrowed_str<E>(self, s: &'t str) -> Result<Cow<'t, str>, E> {
            Ok(Cow::Borrowed(s))
        }
        fn visit_str<E>(self, s: &str) -> Result<Cow<'t, str>, E> {
            Ok(Cow::Owned(s.to_string()))
        }
    }
    let mut de = serde_json::Deserializer::from_str(text);
    serde::Deserializer::deserialize_map(&mut de, Members(out))?;
    de.end()
}

/// Read a `properties` value from its JSON text.
pub(super) fn parse_props(text: &str, keys: &mut KeyTexts) -> serde_json::Result<Props> {
    let mut de = serde_json::Deserializer::from_str(text);
    let props = PropsValue(keys).deserialize(&mut de)?;
    de.end()?;
    Ok(props)
}

/// A `properties` value.
struct PropsValue<'k>(&'k mut KeyTexts);

impl<'de> DeserializeSeed<'de> for PropsValue<'_> {
    type Value = Props;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Props, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for PropsValue<'_> {
    type Value = Props;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Props, E> {
        Ok(Props::Other)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Props, E> {
        Ok(Props::Other)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Props, E> {
        Ok(Props::Other)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Props, E> {
        Ok(Props::Other)
    }
    fn visit_str<E>(self, _: &str) -> Result<Props, E> {
        Ok(Props::Other)
    }
    fn visit_unit<E>(self) -> Result<Props, E> {
        Ok(Props::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Props, A::Error> {
        skip_seq(seq).map(|_| Props::Other)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Props, A::Error> {
        let mut members: Vec<(Arc<str>, Value)> = Vec::with_capacity(8);
        while let Some(k) = map.next_key_seed(SharedKey(&mut *self.0))? {
            members.push((k, map.next_value()?));
        }
        Ok(Props::Object(Properties::from_members(members)))
    }
}

/// Does the JSON object `text` have the member `key`? (Its values are skipped, not read.)
pub(super) fn has_key(text: &str, key: &str) -> bool {
    super::fast::has_key(text, key).unwrap_or_else(|| has_key_serde(text, key))
}

/// [`has_key`] through serde_json, which reads every form (`false` for a text that is not
/// an object).
pub(super) fn has_key_serde(text: &str, key: &str) -> bool {
    struct IsKey<'k>(&'k str);
    impl<'de> DeserializeSeed<'de> for IsKey<'_> {
        type Value = bool;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
            d.deserialize_str(self)
        }
    }
    impl Visitor<'_> for IsKey<'_> {
        type Value = bool;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a key")
        }
        fn visit_str<E>(self, s: &str) -> Result<bool, E> {
            Ok(s == self.0)
        }
    }
    struct Keys<'k>(&'k str);
    impl<'de> Visitor<'de> for Keys<'_> {
        type Value = bool;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
            let mut found = false;
            while let Some(is) = map.next_key_seed(IsKey(self.0))? {
                found |= is;
                map.next_value::<IgnoredAny>()?;
            }
            Ok(found)
        }
    }
    let mut de = serde_json::Deserializer::from_str(text);
    serde::Deserializer::deserialize_map(&mut de, Keys(key)).unwrap_or(false)
}

// ---------------------------------------------------------------- geometry

struct GeomSeed;

impl<'de> DeserializeSeed<'de> for GeomSeed {
    type Value = Geom;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Geom, D::Error> {
        d.deserialize_any(GeomVisitor)
    }
}

struct GeomVisitor;

fn not_a_geometry() -> Geom {
    Geom::Invalid("not a geometry object".into())
}

impl<'de> Visitor<'de> for GeomVisitor {
    type Value = Geom;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a geometry")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Geom, E> {
        Ok(not_a_geometry())
    }
    fn visit_i64<E>(self, _: i64) -> Result<Geom, E> {
        Ok(not_a_geometry())
    }
    fn visit_u64<E>(self, _: u64) -> Result<Geom, E> {
        Ok(not_a_geometry())
    }
    fn visit_f64<E>(self, _: f64) -> Result<Geom, E> {
        Ok(not_a_geometry())
    }
    fn visit_str<E>(self, _: &str) -> Result<Geom, E> {
        Ok(not_a_geometry())
    }
    fn visit_unit<E>(self) -> Result<Geom, E> {
        Ok(Geom::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Geom, A::Error> {
        skip_seq(seq).map(|_| not_a_geometry())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Geom, A::Error> {
        // The type: a known one, or the text of another (an error to report).
        let mut type_name: Option<Option<Result<GeomType, String>>> = None;
        let known = |t: &str| GeomType::from_name(t).ok_or_else(|| t.to_string());
        let mut coords: Option<Nested> = None;
        while let Some(key) = map.next_key::<Key>()? {
            match key {
                Key::Type => type_name = Some(map.next_value_seed(MaybeStrWith(known))?),
                Key::Coordinates => coords = Some(map.next_value_seed(CoordSeed { scratch: &mut Vec::new() })?),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(geometry_of(type_name, coords))
    }
}

/// A geometry object from its `type` (absent, not a string, a known type or the name of
/// another) and `coordinates`.
pub(super) fn geometry_of(type_name: Option<Option<Result<GeomType, String>>>, coords: Option<Nested>) -> Geom {
    match type_name {
        None => Geom::Invalid("the geometry has no `type`".into()),
        Some(None) => Geom::Invalid("the geometry's `type` is not a string".into()),
        Some(Some(t)) => match t {
            Err(t) => Geom::Invalid(format!("unknown geometry type {t:?}")),
            Ok(GeomType::GeometryCollection) => Geom::Parsed(GeomType::GeometryCollection, None),
            Ok(gt) if coords.is_none() => Geom::Invalid(format!("the {} has no `coordinates`", gt.name())),
            Ok(gt) => Geom::Parsed(gt, coords),
        },
    }
}

/// One element of a coordinates array.
enum Elem {
    Num(f64),
    /// A nested array.
    Array(Nested),
    /// Not a number nor an array.
    Other,
}

/// Reads a coordinates array. Positions of a line are gathered in `scratch` and copied
/// once into a `Vec` of exactly their number.
struct CoordSeed<'a> {
    scratch: &'a mut Vec<Coord<f64>>,
}

impl<'de> DeserializeSeed<'de> for CoordSeed<'_> {
    type Value = Nested;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Nested, D::Error> {
        match (ElemSeed { scratch: self.scratch }).deserialize(d)? {
            Elem::Array(n) => Ok(n),
            _ => Ok(Nested::Bad("`coordinates` is not an array")),
        }
    }
}

struct ElemSeed<'a> {
    scratch: &'a mut Vec<Coord<f64>>,
}

impl<'de> DeserializeSeed<'de> for ElemSeed<'_> {
    type Value = Elem;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Elem, D::Error> {
        d.deserialize_any(self)
    }
}

const NOT_NUMBERS: &str = "a position holds something other than numbers";
const MIXED: &str = "an array mixes positions and lists of positions";
const SHORT: &str = "a position has fewer than 2 numbers";

impl<'de> Visitor<'de> for ElemSeed<'_> {
    type Value = Elem;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("coordinates")
    }
    fn visit_i64<E>(self, v: i64) -> Result<Elem, E> {
        Ok(Elem::Num(v as f64))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Elem, E> {
        Ok(Elem::Num(v as f64))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Elem, E> {
        Ok(Elem::Num(v))
    }
    fn visit_bool<E>(self, _: bool) -> Result<Elem, E> {
        Ok(Elem::Other)
    }
    fn visit_str<E>(self, _: &str) -> Result<Elem, E> {
        Ok(Elem::Other)
    }
    fn visit_unit<E>(self) -> Result<Elem, E> {
        Ok(Elem::Other)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Elem, A::Error> {
        skip_map(map).map(|_| Elem::Other)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Elem, A::Error> {
        let scratch = self.scratch;
        let Some(first) = seq.next_element_seed(ElemSeed { scratch: &mut *scratch })? else {
            return Ok(Elem::Array(Nested::Empty));
        };
        let nested = match first {
            // A position: two numbers or more (height and the rest are ignored).
            Elem::Num(x) => {
                let mut n = 1;
                let mut y = 0.0;
                let mut bad = None;
                while let Some(e) = seq.next_element_seed(ElemSeed { scratch: &mut *scratch })? {
                    match e {
                        Elem::Num(v) if n == 1 => y = v,
                        Elem::Num(_) => {}
                        Elem::Array(_) => bad = bad.or(Some(MIXED)),
                        Elem::Other => bad = bad.or(Some(NOT_NUMBERS)),
                    }
                    n += 1;
                }
                match bad {
                    Some(b) => Nested::Bad(b),
                    None if n < 2 => Nested::Bad(SHORT),
                    None => Nested::Position(Coord { x, y }),
                }
            }
            Elem::Other => {
                skip_seq(seq)?;
                Nested::Bad(NOT_NUMBERS)
            }
            // A list of positions: a line or ring.
            Elem::Array(Nested::Position(c)) => {
                let mark = scratch.len();
                scratch.push(c);
                let mut bad = None;
                while let Some(e) = seq.next_element_seed(ElemSeed { scratch: &mut *scratch })? {
                    match e {
                        Elem::Array(Nested::Position(c)) => scratch.push(c),
                        Elem::Array(Nested::Empty) => bad = bad.or(Some(SHORT)),
                        Elem::Array(Nested::Bad(b)) => bad = bad.or(Some(b)),
                        Elem::Array(_) | Elem::Num(_) => bad = bad.or(Some(MIXED)),
                        Elem::Other => bad = bad.or(Some(NOT_NUMBERS)),
                    }
                }
                let line = scratch[mark..].to_vec();
                scratch.truncate(mark);
                match bad {
                    Some(b) => Nested::Bad(b),
                    None => Nested::Line(line),
                }
            }
            Elem::Array(Nested::Bad(b)) => {
                skip_seq(seq)?;
                Nested::Bad(b)
            }
            // A list of lists (or of empty lists).
            Elem::Array(first) => {
                let mut items = vec![first];
                let mut bad = None;
                while let Some(e) = seq.next_element_seed(ElemSeed { scratch: &mut *scratch })? {
                    match e {
                        Elem::Array(Nested::Bad(b)) => bad = bad.or(Some(b)),
                        Elem::Array(Nested::Position(_)) | Elem::Num(_) => bad = bad.or(Some(MIXED)),
                        Elem::Array(n) => items.push(n),
                        Elem::Other => bad = bad.or(Some(NOT_NUMBERS)),
                    }
                }
                match bad {
                    Some(b) => Nested::Bad(b),
                    None => Nested::List(items),
                }
            }
        };
        Ok(Elem::Array(nested))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn coords(json: &str) -> Nested {
        let mut de = serde_json::Deserializer::from_str(json);
        CoordSeed { scratch: &mut Vec::new() }.deserialize(&mut de).unwrap()
    }

    fn c(x: f64, y: f64) -> Coord<f64> {
        Coord { x, y }
    }

    #[test]
    fn coordinates_nest_as_written() {
        assert_eq!(coords("[1, 2]"), Nested::Position(c(1.0, 2.0)));
        assert_eq!(coords("[1.5, -2, 300]"), Nested::Position(c(1.5, -2.0)));
        assert_eq!(coords("[[1, 2], [3, 4]]"), Nested::Line(vec![c(1.0, 2.0), c(3.0, 4.0)]));
        assert_eq!(
            coords("[[[1, 2], [3, 4]], [], [[5, 6]]]"),
            Nested::List(vec![
                Nested::Line(vec![c(1.0, 2.0), c(3.0, 4.0)]),
                Nested::Empty,
                Nested::Line(vec![c(5.0, 6.0)])
            ])
        );
        assert_eq!(coords("[]"), Nested::Empty);
        assert_eq!(coords("[1]"), Nested::Bad(SHORT));
        assert_eq!(coords("[[1, 2], []]"), Nested::Bad(SHORT));
        assert_eq!(coords("[1, \"2\"]"), Nested::Bad(NOT_NUMBERS));
        assert_eq!(coords("[[1, 2], [[3, 4]]]"), Nested::Bad(MIXED));
        assert_eq!(coords("[[1, 2], 3]"), Nested::Bad(MIXED));
        assert_eq!(coords("[[[1, 2]], [null]]"), Nested::Bad(NOT_NUMBERS));
        assert_eq!(coords("{\"a\": 1}"), Nested::Bad("`coordinates` is not an array"));
    }

    #[test]
    fn properties_are_kept_as_text_that_reads_back_as_the_object() {
        let props = r#"{ "a" : 1 , "b\"q\u00e9": {"x": [1, 2.50, -0.0, 12345678901234567890123]}, "name_ru": "Ә\n", "a": "two", "c": null }"#;
        let text = format!(r#"{{"type": "Feature", "properties": {props}, "geometry": null}}"#);
        let RawFeature::Object(o) = parse_root(&text).unwrap().as_feature else { panic!("not an object") };
        assert!(o.shortened, "name_ru is a Shapefile name");
        let Props::Object(p) = o.properties else { panic!("{:?}", o.properties) };
        // An independent reading of both texts: the same object (the last `a` wins).
        let want: Value = serde_json::from_str(props).unwrap();
        assert_eq!(Value::from(&p), want);
        assert_eq!(p.get("a"), Some(&Value::from("two")));
        assert_eq!(p.get("b\"qé"), want.get("b\"qé"));
        assert!(p.contains_key("c") && !p.contains_key("d") && p.get("name_ru").is_some());
        let mut members = Vec::new();
        read_members(r#"{"k": 1, "k\u0031": [true]}"#, &mut members).unwrap();
        assert!(matches!(members[0].0, Cow::Borrowed("k")) && matches!(&members[1].0, Cow::Owned(k) if k == "k1"));
        for (props, keys) in [("{}", 0), ("{\"id\": \"x\"}", 1)] {
            let text = format!(r#"{{"type": "Feature", "properties": {props}}}"#);
            let RawFeature::Object(o) = parse_root(&text).unwrap().as_feature else { panic!() };
            assert!(!o.shortened);
            assert!(matches!(&o.properties, Props::Object(p) if p.len() == keys), "{props}");
        }
    }

    #[test]
    fn features_stream_out_of_a_collection_in_any_member_order() {
        let text = r#"{"features": [
            {"geometry": {"coordinates": [70, 45], "type": "Point"}, "properties": {"id": "a"}, "type": "Feature"},
            5,
            {"type": "Feature", "id": 7, "properties": null, "geometry": null, "bbox": [0, 0, 1, 1]},
            {"type": "Feature", "properties": [], "geometry": {"type": "Bogus", "coordinates": []}}
          ], "type": "FeatureCollection", "name": "x"}"#;
        let root = parse_root(text).unwrap();
        assert_eq!(root.type_name.as_deref(), Some("FeatureCollection"));
        let fs = root.features.unwrap();
        assert_eq!(fs.len(), 4);
        match &fs[0] {
            RawFeature::Object(o) => {
                assert_eq!(o.type_name.as_deref(), Some("Feature"));
                assert!(matches!(&o.properties, Props::Object(p) if p.get("id") == Some(&serde_json::json!("a"))));
                assert!(matches!(o.geometry, Geom::Parsed(GeomType::Point, Some(Nested::Position(_)))));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(fs[1], RawFeature::NotObject));
        assert!(
            matches!(&fs[2], RawFeature::Object(o) if o.id == Some(serde_json::json!(7)) && matches!(o.properties, Props::Null) && matches!(o.geometry, Geom::Null))
        );
        assert!(
            matches!(&fs[3], RawFeature::Object(o) if matches!(o.properties, Props::Other) && matches!(&o.geometry, Geom::Invalid(m) if m.contains("Bogus")))
        );
        assert!(parse_root("{\"type\": \"FeatureCollection\", \"features\": [").is_err());
        assert!(parse_root("{} x").is_err(), "trailing text is an error");
    }
}
