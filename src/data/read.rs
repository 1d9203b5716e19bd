//! Reading files of any name: GeoJSON and GeoJSON text sequences into raw features, and the
//! rules that place each feature in a layer (its `layer` property, its file's name, its
//! OpenHistoricalMap tags). Shapefile-shortened property names are mapped back.

use super::feature::{KeyTexts, Properties};
use super::raw::{self, Geom, Props, RawFeature};
use super::Layer;
use crate::error::Problem;
use rayon::prelude::*;
use serde_json::Value;

/// The raw features of a `.geojson` (a FeatureCollection or one Feature) or `.geojsonseq`
/// (RFC 8142: one Feature per line, optionally after a record separator) file, with
/// Shapefile-shortened property names mapped back. `None` (and an error) if unreadable.
#[cfg(test)]
pub(super) fn features_of(name: &str, text: &str, problems: &mut Vec<Problem>) -> Option<Vec<RawFeature>> {
    feature_runs(name, text, problems).map(|runs| runs.into_iter().flatten().collect())
}

/// A text longer than this is read in runs of about this many bytes, in parallel (a
/// town of a large dataset is ~150 bytes, so a run holds thousands of features).
pub(super) const RUN_BYTES: usize = 1 << 20;

/// [`features_of`] in runs of consecutive features, in file order: a large text is cut
/// between two features (of a collection) or two lines (of a sequence) into runs that are
/// read in parallel. What is read, and every error, is as for the text read whole.
pub(super) fn feature_runs(name: &str, text: &str, problems: &mut Vec<Problem>) -> Option<Vec<Vec<RawFeature>>> {
    let mut runs = if name.to_ascii_lowercase().ends_with(".geojsonseq") {
        match sequence_runs(text, RUN_BYTES) {
            Ok(runs) => runs,
            Err((record, e)) => {
                problems.push(Problem::error(name, None, format!("invalid JSON in record {record}: {e}")));
                return None;
            }
        }
    } else {
        match collection_runs(text, RUN_BYTES) {
            Some(runs) => runs,
            None => vec![whole_collection(name, text, problems)?],
        }
    };
    runs.par_iter_mut().for_each(|run| {
        let keys = &mut KeyTexts::default();
        for f in run {
            if let RawFeature::Object(o) = f {
                if let (true, Props::Object(props)) = (o.shortened, &mut o.properties) {
                    // Renamed properties are kept as members (the text no longer reads as them).
                    unshorten(props, keys);
                }
            }
        }
    });
    Some(runs)
}

/// The features of a `.geojson` text read whole: a FeatureCollection's, or a Feature.
fn whole_collection(name: &str, text: &str, problems: &mut Vec<Problem>) -> Option<Vec<RawFeature>> {
    let root = match raw::parse_root(text) {
        Ok(v) => v,
        Err(e) => {
            problems.push(Problem::error(name, None, format!("invalid JSON: {e}")));
            return None;
        }
    };
    match (root.type_name.as_deref(), root.features) {
        (Some("FeatureCollection"), Some(fs)) => Some(fs),
        (Some("Feature"), _) => Some(vec![root.as_feature]),
        _ => {
            problems.push(Problem::error(name, None, "not a GeoJSON FeatureCollection with a `features` array"));
            None
        }
    }
}

/// The features of a large FeatureCollection's text in runs read in parallel, or `None`
/// if the text is small or anything about it is not plain (an error, a second `features`
/// member, a key written with escapes): it is then read whole, which gives the error.
///
/// The array is first cut where its elements seem to meet ([`guess_split`], which reads
/// almost none of the text); if those runs do not check out, where a pass that follows
/// strings and brackets finds they meet ([`scan_split`]).
fn collection_runs(text: &str, run_bytes: usize) -> Option<Vec<Vec<RawFeature>>> {
    if text.len() <= run_bytes {
        return None;
    }
    let open = features_array(text.as_bytes())?;
    if let Some(runs) = guess_split(text.as_bytes(), open, run_bytes).and_then(|split| read_split(text, &split)) {
        return Some(runs);
    }
    read_split(text, &scan_split(text.as_bytes(), open, run_bytes)?)
}

/// The features of the runs of `split` read in parallel, if they check out as making up
/// the text: each run must read as `{"features":[RUN]}` with that one member and one
/// feature or more (so the run is a list of whole values, read at the depth the features
/// have in the text), and the text with the array emptied must read as a FeatureCollection
/// with one `features` member. Then reading the whole text reads the same values in the
/// same order.
fn read_split(text: &str, split: &Split) -> Option<Vec<Vec<RawFeature>>> {
    let root_is_plain = || {
        let mut rest = String::with_capacity(text.len() - split.array.len() + 2);
        rest.push_str(&text[..split.array.start]);
        rest.push_str("[]");
        rest.push_str(&text[split.array.end..]);
        raw::parse_root(&rest).is_ok_and(|root| {
            root.type_name.as_deref() == Some("FeatureCollection")
                && root.features_members == 1
                && root.features.is_some_and(|fs| fs.is_empty())
        })
    };
    let read_run = |run: &std::ops::Range<usize>| {
        if let Some(features) = super::fast::features(&text[run.clone()]) {
            return Some(features);
        }
        let mut wrapped = String::with_capacity(run.len() + 16);
        wrapped.push_str("{\"features\":[");
        wrapped.push_str(&text[run.clone()]);
        wrapped.push_str("]}");
        let root = raw::parse_root(&wrapped).ok()?;
        // A run that closes the array (`…], "x": [ …`) reads as more members.
        (root.members == 1).then_some(root.features?).filter(|fs| !fs.is_empty())
    };
    let (plain, runs) = rayon::join(root_is_plain, || split.runs.par_iter().map(read_run).collect::<Option<Vec<_>>>());
    runs.filter(|_| plain)
}

/// Where a FeatureCollection's `features` array lies in its text, and the runs of its
/// elements: each run but the last ends before a comma between two elements.
#[derive(Debug, PartialEq)]
struct Split {
    /// From the array's `[` to just past its `]`.
    array: std::ops::Range<usize>,
    /// Two runs or more, in order.
    runs: Vec<std::ops::Range<usize>>,
}

/// Cut the `features` array whose `[` is at `open` where its elements seem to meet,
/// reading only the text near each cut: the array is taken to end where the text ends
/// in `] }` (`features` is the last member, as GeoJSON writers put it), and a run ends at
/// the first comma past `run_bytes` that has a `}` before it and, after it, the text the
/// first element starts with (its first key, and its value if that key is `type`:
/// `{"type":"Feature"`). A wrong guess fails [`read_split`]'s checks.
fn guess_split(text: &[u8], open: usize, run_bytes: usize) -> Option<Split> {
    let close = last_non_space(text, text.len()).filter(|&i| text[i] == b'}')?;
    let end = last_non_space(text, close).filter(|&i| text[i] == b']' && i > open)?;
    let lead = element_lead(text, skip_space(text, open + 1))?;
    let mut runs = Vec::new();
    let mut start = open + 1;
    while end - start > run_bytes {
        // A cut is looked for within `run_bytes` past the least run's end.
        let (from, to) = (start + run_bytes, (start + 2 * run_bytes).min(end));
        let comma = (from..to).find(|&i| {
            text[i] == b'{'
                && text[i..].starts_with(lead)
                && last_non_space(text, i)
                    .is_some_and(|c| text[c] == b',' && last_non_space(text, c).is_some_and(|b| text[b] == b'}'))
        });
        let Some(comma) = comma.and_then(|i| last_non_space(text, i)) else { break };
        runs.push(start..comma);
        start = comma + 1;
    }
    runs.push(start..end);
    (runs.len() > 1).then_some(Split { array: open..end + 1, runs })
}

/// The text an array's element at `at` starts with: `{`, its first key and, if that key
/// is `type` and its value a string, the value (`{"type": "Feature"`).
fn element_lead(text: &[u8], at: usize) -> Option<&[u8]> {
    if text.get(at) != Some(&b'{') {
        return None;
    }
    let key = skip_space(text, at + 1);
    if text.get(key) != Some(&b'"') {
        return None;
    }
    let key_end = string_end(text, key + 1)?;
    let colon = skip_space(text, key_end);
    let value = skip_space(text, colon + 1);
    let typed = &text[key..key_end] == b"\"type\"" && text.get(colon) == Some(&b':') && text.get(value) == Some(&b'"');
    let lead_end = if typed { string_end(text, value + 1)? } else { key_end };
    Some(&text[at..lead_end])
}

/// The position of the last byte before `i` that is not JSON whitespace.
fn last_non_space(text: &[u8], i: usize) -> Option<usize> {
    text[..i].iter().rposition(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
}

/// Cut the `features` array whose `[` is at `open` into runs of at least `run_bytes`
/// (the last may be shorter), in one pass that follows strings and brackets; `None` if the
/// array is not closed or makes only one run. The text need not be valid JSON:
/// [`read_split`] checks what is cut.
fn scan_split(text: &[u8], open: usize, run_bytes: usize) -> Option<Split> {
    let mut runs = Vec::new();
    let (mut start, mut depth, mut i) = (open + 1, 0usize, open + 1);
    while i < text.len() {
        match text[i] {
            b'"' => {
                i = string_end(text, i + 1)?;
                continue;
            }
            b'[' | b'{' => depth += 1,
            b']' | b'}' if depth > 0 => depth -= 1,
            b']' => {
                runs.push(start..i);
                return (runs.len() > 1).then_some(Split { array: open..i + 1, runs });
            }
            b'}' => return None,
            b',' if depth == 0 && i - start >= run_bytes => {
                runs.push(start..i);
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// Where the value of the root object's first `features` member (its key written without
/// escapes) starts, if that value is an array.
fn features_array(text: &[u8]) -> Option<usize> {
    let (mut depth, mut key_next, mut i) = (0usize, false, 0);
    while i < text.len() {
        match text[i] {
            b'"' => {
                let end = string_end(text, i + 1)?;
                if depth == 1 && key_next && &text[i + 1..end - 1] == b"features" {
                    let colon = skip_space(text, end);
                    let open = skip_space(text, colon + 1);
                    return (text.get(colon) == Some(&b':') && text.get(open) == Some(&b'[')).then_some(open);
                }
                key_next = false;
                i = end;
                continue;
            }
            b'{' | b'[' => {
                depth += 1;
                key_next = depth == 1 && text[i] == b'{';
            }
            b'}' | b']' => {
                depth = depth.checked_sub(1)?;
                key_next = false;
            }
            b',' => key_next = depth == 1,
            _ => {}
        }
        i += 1;
    }
    None
}

/// Just past the closing quote of the JSON string whose text starts at `i`.
fn string_end(text: &[u8], mut i: usize) -> Option<usize> {
    while i < text.len() {
        match text[i] {
            b'"' => return Some(i + 1),
            b'\\' => i += 2,
            _ => i += 1,
        }
    }
    None
}

/// The first position at or after `i` that is not JSON whitespace.
fn skip_space(text: &[u8], mut i: usize) -> usize {
    while matches!(text.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

/// The features of a GeoJSON text sequence in runs of whole lines, read in parallel; else
/// the first bad record's number (from 1, counting every line and record separator) and
/// its error.
fn sequence_runs(text: &str, run_bytes: usize) -> Result<Vec<Vec<RawFeature>>, (usize, serde_json::Error)> {
    // Runs of lines: each but the last ends before a line feed.
    let mut cuts = Vec::new();
    let mut start = 0;
    while text.len() - start > run_bytes {
        let Some(at) = text.as_bytes()[start + run_bytes..].iter().position(|&b| b == b'\n') else { break };
        cuts.push(start..start + run_bytes + at);
        start += run_bytes + at + 1;
    }
    cuts.push(start..text.len());
    // Each run's features and how many records it has, or its first bad record.
    let read = |run: &std::ops::Range<usize>| {
        let mut out = Vec::new();
        let mut records = 0;
        for (n, line) in text[run.clone()].split(['\n', '\x1e']).enumerate() {
            records = n + 1;
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
                Err(e) => return Err((n, e)),
            }
        }
        Ok((out, records))
    };
    let read: Vec<_> = cuts.par_iter().map(read).collect();
    let mut runs = Vec::with_capacity(read.len());
    let mut before = 0;
    for r in read {
        match r {
            Ok((fs, records)) => {
                runs.push(fs);
                before += records;
            }
            Err((n, e)) => return Err((before + n + 1, e)),
        }
    }
    Ok(runs)
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

    /// `n` towns whose properties hold brackets, commas, quotes and escapes in strings, a
    /// `features` member, and (with `traps`) a list of objects that start as a town does.
    fn awkward_towns(n: usize, traps: bool) -> Vec<Value> {
        (0..n)
            .map(|i| {
                let mut town = json!({"type": "Feature", "properties": {"id": format!("t{i}"),
                       "name": format!("a \"}}, {{\" [ ] \\ , {i}"), "features": [{"x": [1, {"y": "]"}]}], "name_ru": "Ә"},
                       "geometry": {"type": "Point", "coordinates": [i as f64 / 7.0, 45]}});
                if traps {
                    town["properties"]["parts"] = json!([{"geometry": 1}, {"geometry": [2]}]);
                }
                town
            })
            .collect()
    }

    /// The towns as a FeatureCollection: compact with `features` between other members,
    /// compact with `features` last, and written out with `features` last.
    fn collections(towns: Vec<Value>) -> [String; 3] {
        let written: Vec<String> = towns.iter().map(|t| serde_json::to_string_pretty(t).unwrap()).collect();
        let towns = Value::from(towns);
        [
            format!(
                "{{\"name\": \"x [\", \"bbox\": [1, 2, 3, 4], \"features\": {towns}, \"type\": \"FeatureCollection\"}}"
            ),
            format!("{{\"type\":\"FeatureCollection\",\"features\":{towns}}}"),
            format!("{{\n\"type\": \"FeatureCollection\",\n\"features\": [\n{}\n]\n}}\n", written.join(",\n")),
        ]
    }

    #[test]
    fn a_collection_is_cut_between_its_features_only() {
        let [mid, last, written] = collections(awkward_towns(40, false));
        let open = |text: &str| features_array(text.as_bytes()).unwrap();
        assert_eq!(&mid[open(&mid) - 12..=open(&mid)], "\"features\": [");
        assert_eq!(guess_split(mid.as_bytes(), open(&mid), 300), None, "the array is not the last member");
        for (text, split) in [
            (&mid, scan_split(mid.as_bytes(), open(&mid), 300)),
            (&last, scan_split(last.as_bytes(), open(&last), 300)),
            (&last, guess_split(last.as_bytes(), open(&last), 300)),
            (&written, scan_split(written.as_bytes(), open(&written), 300)),
            (&written, guess_split(written.as_bytes(), open(&written), 300)),
        ] {
            let split = split.expect("runs");
            assert!(split.runs.len() > 5, "{}", split.runs.len());
            assert_eq!(&text[split.array.start..split.array.start + 1], "[");
            assert_eq!(&text[split.array.end - 1..split.array.end], "]");
            // The runs and the commas between them make up the array's inside.
            let joined: Vec<&str> = split.runs.iter().map(|r| &text[r.clone()]).collect();
            assert_eq!(joined.join(","), text[split.array.start + 1..split.array.end - 1]);
            for run in &split.runs {
                let wrapped = format!("[{}]", &text[run.clone()]);
                assert!(serde_json::from_str::<Value>(&wrapped).is_ok(), "{wrapped}");
            }
        }
        assert_eq!(scan_split(mid.as_bytes(), open(&mid), 1 << 20), None, "one run is not cut");
    }

    #[test]
    fn a_collection_read_in_runs_is_the_collection_read_whole() {
        for traps in [false, true] {
            for text in collections(awkward_towns(40, traps)) {
                let whole = whole_collection("x.geojson", &text, &mut Vec::new()).unwrap();
                let runs = collection_runs(&text, 300).expect("runs");
                assert!(runs.len() > 5);
                assert_eq!(runs.into_iter().flatten().collect::<Vec<_>>(), whole);
            }
        }
        // A guess that cuts inside a feature (between two objects that start as a town
        // does) does not check out.
        let [_, last, _] = collections(awkward_towns(40, true));
        let split = guess_split(last.as_bytes(), features_array(last.as_bytes()).unwrap(), 300).unwrap();
        assert!(read_split(&last, &split).is_none());
        let [text, ..] = collections(awkward_towns(40, false));
        // Whatever is not plain is read whole (the error is the whole text's); a guess that
        // does not hold is followed by a scan.
        let body = text.split_once("\"features\": ").unwrap().1.rsplit_once(", \"type\"").unwrap().0;
        let odd = [
            text.replacen("\"Feature\"},{", "\"Feature\"},,{", 1),
            text.replacen("\"features\": [", "\"features\": [,", 1),
            text.replacen("\"Feature\"}], \"type\"", "\"Feature\"},], \"type\"", 1),
            text.replacen("\"type\": \"FeatureCollection\"", "\"type\": \"FeatureCollection\", \"features\": []", 1),
            text.replacen("\"type\": \"FeatureCollection\"", "\"type\": \"Topology\"", 1),
            format!("{{\"type\": \"FeatureCollection\", \"feat\\u0075res\": [], \"features\": {body}}}"),
            format!("{{\"type\": \"FeatureCollection\", \"features\": {body}, \"feat\\u0075res\": []}}"),
            format!("{{\"type\": \"FeatureCollection\", \"features\": {body}, \"features\": [{{\"id\": 1}}]}}"),
            format!("{{\"type\": \"FeatureCollection\", \"features\": {body}, \"x\": [{{\"id\": 1}}]}}"),
            format!(
                "{{\"type\": \"FeatureCollection\", \"features\": {body}, \"x\": [{{\"id\": 1}}], \"features\": []}}"
            ),
            format!("{{\"type\": \"FeatureCollection\", \"features\": {body}, \"x\": [[{{\"id\": 1}}]]}}"),
            format!("{text} x"),
        ];
        for odd in &odd {
            assert_ne!(odd, &text);
            let whole = whole_collection("x.geojson", odd, &mut Vec::new());
            let runs = collection_runs(odd, 300).map(|runs| runs.into_iter().flatten().collect::<Vec<_>>());
            assert!(runs.is_none() || runs == whole, "{}", &odd[odd.len() - 100..]);
        }
        // A feature nested as deep as the parser allows in the text, and deeper.
        let deep = |n: usize| {
            let nest = format!("{}1{}", "[".repeat(n), "]".repeat(n));
            text.replacen("\"coordinates\": [", &format!("\"coordinates\": [{nest}, "), 1)
        };
        for n in [120, 123, 124, 125, 126] {
            let text = deep(n);
            let whole = whole_collection("x.geojson", &text, &mut Vec::new());
            let runs = collection_runs(&text, 300).map(|runs| runs.into_iter().flatten().collect::<Vec<_>>());
            assert!(runs.is_none() || runs == whole, "{n}");
        }
    }

    #[test]
    fn a_text_sequence_read_in_runs_is_the_sequence_read_whole() {
        let mut lines: Vec<String> = (0..50)
            .map(|i| format!("\u{1e}{{\"type\":\"Feature\",\"properties\":{{\"id\":\"t{i}\"}},\"geometry\":null}}"))
            .collect();
        lines.insert(20, "   ".into());
        let text = lines.join("\n");
        let whole = sequence_runs(&text, usize::MAX).unwrap();
        let runs = sequence_runs(&text, 200).unwrap();
        assert_eq!(whole.len(), 1);
        assert!(runs.len() > 5);
        assert_eq!(runs.into_iter().flatten().collect::<Vec<_>>(), whole.into_iter().flatten().collect::<Vec<_>>());
        lines[40] = "{\"type\": ".into();
        let text = lines.join("\n");
        let (whole, runs) = (sequence_runs(&text, usize::MAX).unwrap_err(), sequence_runs(&text, 200).unwrap_err());
        assert_eq!((whole.0, whole.1.to_string()), (runs.0, runs.1.to_string()));
        assert_eq!(whole.0, 80, "a record is counted at each line feed and record separator");
    }
}
