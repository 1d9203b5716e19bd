//! Mountain ranges are areas that sit where the real ranges are: their peaks inside,
//! the valleys, basins and plains around them outside, lakes and valley rivers kept off
//! the mountains. Rings are read back from the GeoJSON with serde_json alone (not the
//! loader) for their winding and closure; the places are checked against the loaded
//! geometry.

use geo::{Contains, Intersects, MultiPolygon, Point};
use steppe_atlas::data::{Geometry, Layer, Source};
use steppe_atlas::time::EndDates;
use steppe_atlas::Atlas;

/// Every mountain landform of the built-in atlas, with its outline.
fn ranges(atlas: &Atlas) -> Vec<(String, MultiPolygon<f64>)> {
    atlas
        .data
        .layer(Layer::Landforms)
        .iter()
        .filter(|f| f.kind() == Some("mountains"))
        .map(|f| match &f.geometry {
            Geometry::Areas(mp) => (f.id.clone(), mp.clone()),
            other => panic!("{}: a mountain range must be an area, not {other:?}", f.id),
        })
        .collect()
}

fn atlas() -> Atlas {
    Atlas::load(&Source::Embedded, EndDates::Inclusive).expect("built-in atlas loads")
}

fn outline<'a>(all: &'a [(String, MultiPolygon<f64>)], id: &str) -> &'a MultiPolygon<f64> {
    &all.iter().find(|(i, _)| i == id).unwrap_or_else(|| panic!("no range {id}")).1
}

/// Twice the signed shoelace area of a closed ring; positive when counter-clockwise.
fn signed_area2(ring: &[serde_json::Value]) -> f64 {
    let xy: Vec<(f64, f64)> = ring.iter().map(|c| (c[0].as_f64().expect("lon"), c[1].as_f64().expect("lat"))).collect();
    xy.windows(2).map(|w| w[0].0 * w[1].1 - w[1].0 * w[0].1).sum()
}

#[test]
fn mountain_outlines_are_closed_wound_and_labelled_in_the_file() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/geodata/landforms.geojson");
    let fc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut n = 0;
    for f in fc["features"].as_array().unwrap() {
        let p = &f["properties"];
        if p["kind"] != "mountains" {
            continue;
        }
        n += 1;
        let id = p["id"].as_str().unwrap();
        let g = &f["geometry"];
        let polys: Vec<&serde_json::Value> = match g["type"].as_str().unwrap() {
            "Polygon" => vec![&g["coordinates"]],
            "MultiPolygon" => g["coordinates"].as_array().unwrap().iter().collect(),
            t => panic!("{id}: mountains as {t}"),
        };
        for poly in polys {
            for (k, ring) in poly.as_array().unwrap().iter().enumerate() {
                let ring = ring.as_array().unwrap();
                assert!(ring.len() >= 15 || k > 0, "{id}: an exterior of only {} vertices", ring.len());
                assert_eq!(ring.first(), ring.last(), "{id}: ring {k} is not closed");
                let a = signed_area2(ring);
                assert!(if k == 0 { a > 0.0 } else { a < 0.0 }, "{id}: ring {k} wound the wrong way ({a})");
            }
        }
        let lp = p["label_point"].as_array().unwrap_or_else(|| panic!("{id}: no label_point"));
        assert_eq!(lp.len(), 2, "{id}: label_point is [lon, lat]");
        assert!(p["note"].as_str().is_some_and(|s| s.contains("not surveyed")), "{id}: note on the outline");
    }
    assert!(n >= 11, "only {n} mountain ranges");
}

#[test]
fn peaks_lie_in_their_range_and_label_points_in_their_outline() {
    let atlas = atlas();
    let all = ranges(&atlas);
    let peaks = [
        ("Khan Tengri", 80.17, 42.21, "landform-tian-shan"),
        ("Pobeda", 80.13, 42.03, "landform-tian-shan"),
        ("Talgar (Trans-Ili Alatau)", 77.33, 43.1, "landform-tian-shan"),
        ("Bogda Feng", 88.3, 43.8, "landform-tian-shan"),
        ("Manas (Talas Ala-Too)", 72.0, 42.28, "landform-tian-shan"),
        ("Belukha", 86.59, 49.81, "landform-altai"),
        ("Khuiten", 87.81, 49.15, "landform-altai"),
        ("Semenov-Tianshansky", 80.3, 45.13, "landform-jungar-alatau"),
        ("Muztau", 85.57, 47.05, "landform-saur"),
        ("Tarbagatai crest", 83.0, 47.2, "landform-tarbagatai"),
        ("Bessaz", 69.98, 42.89, "landform-karatau"),
        ("Lenin Peak", 72.88, 39.34, "landform-pamirs"),
        ("Ismoil Somoni", 72.02, 38.94, "landform-pamirs"),
        ("Muztagh Ata", 75.12, 38.28, "landform-pamirs"),
        ("Ulugh Muztagh", 87.4, 36.4, "landform-kunlun"),
        ("Iremel", 58.84, 54.52, "landform-ural-mountains"),
        ("Yamantau", 58.14, 54.25, "landform-ural-mountains"),
        ("Konzhakovsky Kamen", 59.63, 59.63, "landform-ural-mountains"),
    ];
    for (name, lon, lat, id) in peaks {
        assert!(outline(&all, id).contains(&Point::new(lon, lat)), "{name} ({lon}, {lat}) is not in {id}");
        for (other, mp) in &all {
            assert!(other == id || !mp.contains(&Point::new(lon, lat)), "{name} is also in {other}");
        }
    }
    for f in atlas.data.layer(Layer::Landforms).iter().filter(|f| f.kind() == Some("mountains")) {
        let lp = f.properties.get("label_point").and_then(|v| v.as_array()).expect("label_point");
        let (x, y) = (lp[0].as_f64().unwrap(), lp[1].as_f64().unwrap());
        assert!(outline(&all, &f.id).contains(&Point::new(x, y)), "{}: label_point off its outline", f.id);
    }
}

#[test]
fn valleys_basins_and_plains_stay_off_the_mountains() {
    let all = ranges(&atlas());
    let lowland = [
        ("Ghulja, Ili valley", 81.32, 43.91),
        ("Zharkent, Ili valley", 80.0, 44.17),
        ("Kapchagay, Ili", 77.07, 43.87),
        ("Almaty, foot of the Trans-Ili Alatau", 76.9, 43.25),
        ("Bishkek, Chu valley", 74.6, 42.87),
        ("Tokmok, Chu valley", 75.29, 42.84),
        ("Talas, Talas valley", 72.24, 42.52),
        ("Taraz", 71.37, 42.9),
        ("Karakol, Issyk-Kul basin", 78.39, 42.49),
        ("Naryn, Naryn depression", 76.0, 41.43),
        ("Kokand, Fergana Valley", 70.94, 40.53),
        ("Namangan, Fergana Valley", 71.67, 41.0),
        ("Fergana, Fergana Valley", 71.78, 40.38),
        ("Osh, Fergana Valley", 72.8, 40.53),
        ("Khujand", 69.63, 40.28),
        ("Tashkent", 69.24, 41.31),
        ("Turkistan", 68.27, 43.3),
        ("Kashgar, Tarim basin", 75.99, 39.47),
        ("Aksu, Tarim basin", 80.26, 41.17),
        ("Korla, Tarim basin", 86.15, 41.76),
        ("Hotan, Tarim basin", 79.93, 37.11),
        ("Turpan depression", 89.19, 42.95),
        ("Urumqi gap", 87.6, 43.8),
        ("Taldykorgan", 78.38, 45.02),
        ("Alashankou, Dzungarian Gate", 82.57, 45.17),
        ("Tacheng", 82.98, 46.75),
        ("Ust-Kamenogorsk", 82.61, 49.95),
        ("Khovd", 91.64, 48.0),
        ("Magnitogorsk", 59.0, 53.4),
        ("Ufa", 55.96, 54.74),
        ("Orsk", 58.57, 51.22),
        ("Samarkand", 66.96, 39.65),
    ];
    for (name, lon, lat) in lowland {
        for (id, mp) in &all {
            assert!(!mp.contains(&Point::new(lon, lat)), "{name} ({lon}, {lat}) lies in {id}");
        }
    }
}

#[test]
fn lakes_and_valley_rivers_keep_their_place_among_the_ranges() {
    let atlas = atlas();
    let all = ranges(&atlas);
    let geom = |id: &str| atlas.data.get(id).unwrap_or_else(|| panic!("no {id}")).geometry.clone();
    // Lakes of the basins touch no range; Son-Kul, Karakul and Markakol are mountain lakes.
    for lake in [
        "lake-issyk-kul",
        "lake-zaysan",
        "lake-alakol",
        "lake-balkhash",
        "lake-sayram",
        "lake-ebinur",
        "lake-bosten",
        "lake-ulungur",
        "lake-khar-us",
        "lake-uvs",
        "aral-sea",
        "caspian-sea",
    ] {
        let Geometry::Areas(water) = geom(lake) else { panic!("{lake} is not an area") };
        for (id, mp) in &all {
            assert!(!mp.intersects(&water), "{lake} touches {id}");
        }
    }
    for (lake, id) in [
        ("lake-son-kul", "landform-tian-shan"),
        ("lake-karakul", "landform-pamirs"),
        ("lake-markakol", "landform-altai"),
    ] {
        let Geometry::Areas(water) = geom(lake) else { panic!("{lake} is not an area") };
        assert!(outline(&all, id).contains(&water), "{lake} should lie among the {id} mountains");
    }
    // Issyk-Kul lies between the Kungey and Terskey Ala-Too; Zaysan between the Altai
    // and the Saur–Tarbagatai; Alakol north of the Jungar Alatau.
    let inside = |id: &str, lon: f64, lat: f64| outline(&all, id).contains(&Point::new(lon, lat));
    assert!(inside("landform-tian-shan", 77.3, 42.95) && inside("landform-tian-shan", 77.3, 41.95));
    assert!(inside("landform-altai", 84.0, 49.0) && inside("landform-tarbagatai", 83.8, 47.2));
    assert!(inside("landform-saur", 85.6, 47.2));
    assert!(inside("landform-jungar-alatau", 81.5, 45.3) && !inside("landform-jungar-alatau", 81.5, 45.8));
    // Rivers of the valleys and plains never enter a range.
    for river in ["river-ili", "river-syr-darya", "river-tarim", "river-talas", "river-ayagoz", "river-arys"] {
        let Geometry::Lines(lines) = geom(river) else { panic!("{river} is not a line") };
        for (id, mp) in &all {
            assert!(!mp.intersects(&lines), "{river} runs into {id}");
        }
    }
}
