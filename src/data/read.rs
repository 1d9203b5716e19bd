//! Reading files of any name: GeoJSON and GeoJSON text sequences into raw features, and the
//! rules that place each feature in a layer (its `layer` property, its file's name, its
//! OpenHistoricalMap tags). Shapefile-shortened property names are mapped back.

use super::feature::{KeyTexts, Properties};
use super::raw::{self, Geom, Props, RawFeature};
use super::Layer;
use crate::error::Problem;
use serde_json::Value;

/// The raw features of a `.geojson` (a FeatureCollection or one Feature) or `.geojsonseq`
/// (RFC 8142: one Feature per line, optionally after a record separator) file, with
/// Shapefile-shortened property names mapped back. `None` (and an error) if unreadable.
pub(super) fn features_of(name: &str, text: &str, problems: &mut Vec<Problem>) -> Option<Vec<RawFeature>> {
    let mut out = Vec::new();
    if name.to_ascii_lowercase().ends_with(".geojsonseq") {
        for (n, line) in text.split(['\n', '\x1e']).enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            match raw::parse_root(line) {
                Ok(root) => match root.features {
                    Some(fs) if root.type_name.as_deref() == Some("FeatureCollection") => out.extend(fs),
                    _ if root.type_name.as_deref() == Some("FeatureCollection") => {}
                    _ => out.push(root.as_feature),
                },
                Err(e) => {
                    problems.push(Problem::error(name, None, format!("invalid JSON in record {}: {e}", n + 1)));
                    return None;
                }
            }
        }
    } else {
        let root = match raw::parse_root(text) {
            Ok(v) => v,
            Err(e) => {
                problems.push(Problem::error(name, None, format!("invalid JSON: {e}")));
                return None;
            }
        };
        match (root.type_name.as_deref(), root.features) {
            (Some("FeatureCollection"), Some(fs)) => out = fs,
            (Some("Feature"), _) => out.push(root.as_feature),
            _ => {
                problems.push(Problem::error(name, None, "not a GeoJSON FeatureCollection with a `features` array"));
                return None;
            }
        }
    }
    let keys = &mut KeyTexts::default();
    for f in &mut out {
        if let RawFeature::Object(o) = f {
            if let (true, Props::Object(props)) = (o.shortened, &mut o.properties) {
                // Renamed properties are kept as members (the text no longer reads as them).
                unshorten(props, keys);
            }
        }
    }
    Some(out)
}

/// Map names that Shapefile's 10-character, colon-free field names made (`name_ru`,
/// `caption_kk`, `admin_leve`, `start_dat`) back to OpenHistoricalMap's, unless the
/// proper key is also there. Returns whether any was renamed.
pub(super) fn unshorten(props: &mut Properties, keys: &mut KeyTexts) -> bool {
    let mut renames: Vec<(String, String)> = Vec::new();
    for key in props.keys() {
        if let Some(p) = proper_key(key) {
            if !props.contains_key(&p) {
                renames.push((key.to_string(), p));
            }
        }
    }
    let renamed = !renames.is_empty();
    for (from, to) in renames {
        props.rename(&from, keys.share(&to));
    }
    renamed
}

/// The OpenHistoricalMap name of a Shapefile-shortened property name (`name_ru` →
/// `name:ru`), if `key` is one.
pub(super) fn proper_key(key: &str) -> Option<String> {
    match key {
        "admin_leve" => Some("admin_level".to_string()),
        "start_dat" | "start_dt" => Some("start_date".to_string()),
        "end_dat" => Some("end_date".to_string()),
        k => ["name_", "caption_", "alt_name_", "old_name_"].iter().find_map(|prefix| {
            let code = k.strip_prefix(prefix)?;
            let is_code = (2..=3).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_lowercase());
            is_code.then(|| format!("{}:{code}", prefix.trim_end_matches('_')))
        }),
    }
}

/// The properties of a raw feature, if they are an object.
pub(super) fn props_of(f: &RawFeature) -> Option<&Properties> {
    match f {
        RawFeature::Object(raw::RawObject { properties: Props::Object(p), .. }) => Some(p),
        _ => None,
    }
}

/// Does a feature carry OpenHistoricalMap (or OpenStreetMap) tags?
pub(super) fn has_ohm_tags(f: &RawFeature) -> bool {
    const TAGS: [&str; 8] =
        ["boundary", "admin_level", "place", "wikidata", "start_date:edtf", "end_date:edtf", "@id", "osm_id"];
    // The mask of the keys answers for most features without reading their members.
    const BITS: [u64; 8] = {
        let mut bits = [0; 8];
        let mut i = 0;
        while i < 8 {
            bits[i] = super::feature::key_bit(TAGS[i]);
            i += 1;
        }
        bits
    };
    props_of(f).is_some_and(|p| TAGS.iter().zip(BITS).any(|(t, b)| p.may_hold_bits(b) && p.contains_key(t)))
}

/// The layer a file's name says (`cities.geojson`, `towns.geojsonseq`, `boundaries.geojson`).
pub(super) fn layer_of_file(name: &str) -> Option<Layer> {
    let stem = name.rsplit_once('.').map_or(name, |(s, _)| s).to_ascii_lowercase();
    let stem = stem.as_str();
    Layer::from_name(stem).or(match stem {
        "territory" | "boundaries" | "boundary" | "borders" | "admin" | "polities" | "states" | "countries" => {
            Some(Layer::Territories)
        }
        "city" | "towns" | "town" | "places" | "place" | "settlements" | "forts" | "fortresses" => Some(Layer::Cities),
        "battle" | "sieges" => Some(Layer::Battles),
        "campaign" | "routes" | "marches" => Some(Layer::Campaigns),
        "river" | "waterways" => Some(Layer::Rivers),
        "lakes" | "seas" => Some(Layer::Water),
        "landform" | "regions" | "natural" => Some(Layer::Landforms),
        "event" | "timeline" => Some(Layer::Events),
        _ => None,
    })
}

fn geometry_type(f: &RawFeature) -> Option<&'static str> {
    match f {
        RawFeature::Object(raw::RawObject { geometry: Geom::Parsed(t, _), .. }) => Some(t.name()),
        _ => None,
    }
}

/// The layer of one feature: its `layer` property (an error if it names no layer), else
/// the file's layer, else its tags; `None` if nothing says.
pub(super) fn layer_of_feature(f: &RawFeature, file_layer: Option<Layer>) -> Result<Option<Layer>, String> {
    let props = props_of(f);
    // `contains_key` answers from the text (a `get` would read and keep the members).
    let layer = props.filter(|p| p.contains_key("layer")).and_then(|p| p.get("layer"));
    if let Some(l) = layer.and_then(Value::as_str) {
        return match Layer::from_name(l) {
            Some(layer) => Ok(Some(layer)),
            None => Err(format!(
                "`layer` {l:?} is not one of {}",
                Layer::ALL.iter().map(|l| l.name()).collect::<Vec<_>>().join(", ")
            )),
        };
    }
    if file_layer.is_some() {
        return Ok(file_layer);
    }
    let Some(p) = props else { return Ok(None) };
    let tag = |k: &str| p.get(k).and_then(Value::as_str);
    let geom = geometry_type(f);
    let area = matches!(geom, Some("Polygon" | "MultiPolygon"));
    let point = geom == Some("Point");
    let line = matches!(geom, Some("LineString" | "MultiLineString"));
    Ok(if (tag("boundary").is_some() || p.contains_key("admin_level") || p.contains_key("control")) && area {
        Some(Layer::Territories)
    } else if point
        && (matches!(tag("place"), Some("city" | "town" | "village" | "hamlet" | "isolated_dwelling" | "locality"))
            || p.contains_key("control"))
    {
        Some(Layer::Cities)
    } else if tag("historic") == Some("battlefield") || p.contains_key("victor") && point {
        Some(Layer::Battles)
    } else if tag("waterway").is_some() && line {
        Some(Layer::Rivers)
    } else if (tag("natural") == Some("water") || tag("water").is_some() || tag("place") == Some("sea")) && area {
        Some(Layer::Water)
    } else if p.contains_key("side") && line {
        Some(Layer::Campaigns)
    } else if p.contains_key("caption") && (point || geom.is_none()) {
        Some(Layer::Events)
    } else if (tag("natural").is_some() || tag("place").is_some()) && (point || area) {
        Some(Layer::Landforms)
    } else {
        None
    })
}

/// How a feature is named in a report: its id, else `#index`.
pub(super) fn feature_label(f: &RawFeature, i: usize) -> String {
    let own_id = match f {
        RawFeature::Object(o) => o.id.as_ref(),
        RawFeature::NotObject => None,
    };
    match props_of(f).and_then(|p| p.get("id")).or(own_id) {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => format!("#{i}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn shapefile_names_are_mapped_back() {
        let mut p: Properties = json!({"name_ru": "Москва", "name": "Moscow", "admin_leve": "2", "caption_kk": "x",
                           "name_de": "Moskau", "name:de": "Moskau (kept)"})
        .as_object()
        .cloned()
        .unwrap()
        .into();
        unshorten(&mut p, &mut KeyTexts::default());
        assert!(p.keys().is_sorted(), "{:?}", p.keys().collect::<Vec<_>>());
        assert_eq!(p.get("name:ru"), Some(&json!("Москва")));
        assert_eq!(p.get("admin_level"), Some(&json!("2")));
        assert_eq!(p.get("caption:kk"), Some(&json!("x")));
        assert_eq!(p.get("name:de"), Some(&json!("Moskau (kept)")), "a proper key is never overwritten");
        assert!(p.contains_key("name"));
    }

    fn raw(v: Value) -> RawFeature {
        raw::parse_root(&v.to_string()).unwrap().as_feature
    }

    #[test]
    fn features_are_placed_by_property_file_name_and_tags() {
        let boundary = json!({"type": "Feature", "properties": {"boundary": "administrative", "admin_level": "2"},
                              "geometry": {"type": "Polygon", "coordinates": []}});
        let town = json!({"type": "Feature", "properties": {"place": "village"},
                          "geometry": {"type": "Point", "coordinates": [0, 0]}});
        let loose = json!({"type": "Feature", "properties": {"name": "?"},
                           "geometry": {"type": "Point", "coordinates": [0, 0]}});
        let tagged = json!({"type": "Feature", "properties": {"layer": "battles"}, "geometry": null});
        let bad = json!({"type": "Feature", "properties": {"layer": "roads"}, "geometry": null});
        assert_eq!(layer_of_feature(&raw(boundary), None), Ok(Some(Layer::Territories)));
        assert_eq!(layer_of_feature(&raw(town), None), Ok(Some(Layer::Cities)));
        assert_eq!(layer_of_feature(&raw(loose.clone()), None), Ok(None));
        assert_eq!(layer_of_feature(&raw(loose), layer_of_file("towns.geojsonseq")), Ok(Some(Layer::Cities)));
        assert_eq!(layer_of_feature(&raw(tagged), Some(Layer::Cities)), Ok(Some(Layer::Battles)));
        assert!(layer_of_feature(&raw(bad), None).unwrap_err().contains("roads"));
        assert_eq!(layer_of_file("export.geojson"), None);
        assert_eq!(layer_of_file("Territories.geojson"), Some(Layer::Territories));
    }

    #[test]
    fn renamed_properties_are_not_kept_as_their_text() {
        let text = r#"{"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {"id": "a", "name_ru": "А"}, "geometry": null},
            {"type": "Feature", "properties": {"id": "b", "name:ru": "Б"}, "geometry": null}]}"#;
        let fs = features_of("x.geojson", text, &mut Vec::new()).unwrap();
        let texts: Vec<bool> = fs.iter().map(|f| props_of(f).is_some_and(Properties::is_text)).collect();
        assert_eq!(texts, [false, true], "the text of renamed keys no longer reads as the members");
        assert_eq!(props_of(&fs[0]).and_then(|p| p.get("name:ru")), Some(&Value::from("А")));
    }

    #[test]
    fn geojson_text_sequences_are_read() {
        let mut problems = Vec::new();
        let text = "\u{1e}{\"type\":\"Feature\",\"properties\":{\"id\":\"a\"},\"geometry\":null}\n\n\
                    \u{1e}{\"type\":\"Feature\",\"properties\":{\"id\":\"b\"},\"geometry\":null}\n";
        let fs = features_of("x.geojsonseq", text, &mut problems).unwrap();
        assert_eq!(fs.len(), 2);
        assert!(problems.is_empty());
        assert!(features_of("y.geojson", "{\"type\": \"Topology\"}", &mut problems).is_none());
        assert!(problems[0].to_string().starts_with("y.geojson: "), "{}", problems[0]);
    }
}
