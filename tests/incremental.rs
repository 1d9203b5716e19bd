//! Incremental tiles are exactly the full tiles: a span of years rendered with content keys
//! (a tile is drawn only when its key is new) and with `--full` (every tile of every year
//! drawn, nothing shared) gives byte-identical files, and repeated content is stored once
//! (hard links in the XYZ folder).

use assert_cmd::Command;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn tiles(out: &Path, args: &[&str]) -> String {
    let o = Command::cargo_bin("steppe-atlas").unwrap().arg("tiles").arg("--out").arg(out).args(args).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Every file under `dir` by relative path, with its bytes.
fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.insert(p.strip_prefix(root).unwrap().to_path_buf(), std::fs::read(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

#[test]
fn incremental_tiles_equal_full_tiles_byte_for_byte() {
    let tmp = tempfile::tempdir().unwrap();
    let (inc, full) = (tmp.path().join("inc"), tmp.path().join("full"));
    // 1721–1726 holds the Barefooted Flight: areas and towns change hands, labels move.
    let args = ["--years", "1721..1726", "--zoom", "0..5"];
    let said = tiles(&inc, &args);
    tiles(&full, &[&args[..], &["--full"]].concat());
    let (a, b) = (files(&inc), files(&full));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>(), "the same files");
    assert!(a.len() > 6 * 40, "{} files", a.len());
    for (path, bytes) in &a {
        assert!(bytes == &b[path], "{} differs between incremental and full", path.display());
    }
    // Years and places with the same content share one file.
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let linked = a.keys().filter(|p| std::fs::metadata(inc.join(p)).unwrap().nlink() > 1).count();
        assert!(linked > a.len() / 4, "only {linked} of {} tiles share a file", a.len());
    }
    // Most tiles of the span were not drawn again: their content keys had been seen.
    let count = |word: &str| -> usize {
        let at = said.find(word).unwrap_or_else(|| panic!("no {word:?} in {said}"));
        said[..at].trim_end().rsplit([' ', '(']).next().unwrap().parse().unwrap()
    };
    let (total, drawn) = (count("tiles for"), count("tiles drawn"));
    assert!(drawn * 4 < total * 3, "{drawn} of {total} tiles drawn: {said}");
}

#[test]
fn incremental_archives_equal_full_archives() {
    let tmp = tempfile::tempdir().unwrap();
    let (inc, full) = (tmp.path().join("inc"), tmp.path().join("full"));
    let args = ["--years", "1722..1724", "--zoom", "0..4", "--format", "mbtiles"];
    tiles(&inc, &args);
    tiles(&full, &[&args[..], &["--full"]].concat());
    for year in 1722..=1724 {
        let read = |dir: &Path| {
            let db = rusqlite::Connection::open(dir.join(format!("{year}.mbtiles"))).unwrap();
            let mut q =
                db.prepare("SELECT zoom_level, tile_column, tile_row, tile_data FROM tiles ORDER BY 1, 2, 3").unwrap();
            let rows: Vec<(u8, u32, u32, Vec<u8>)> = q
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
                .unwrap()
                .map(|r| r.unwrap())
                .collect();
            rows
        };
        let (a, b) = (read(&inc), read(&full));
        assert!(!a.is_empty());
        assert!(a == b, "{year}.mbtiles differs between incremental and full");
    }
}

/// Copy the mini dataset to `dir`, with `atlas.json` replaced by `meta`.
fn mini_with_meta(dir: &Path, meta: &str) {
    std::fs::create_dir_all(dir).unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/mini");
    for e in std::fs::read_dir(&src).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, dir.join(p.file_name().unwrap())).unwrap();
    }
    std::fs::write(dir.join("atlas.json"), meta).unwrap();
}

#[test]
fn a_renamed_polity_is_a_new_map_state() {
    // Nothing changes hands in the mini atlas between 1710 and 1711; only the name of the
    // polity holding the east does. The two years must not share their tiles.
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    mini_with_meta(
        &data,
        r#"{"title": "Test atlas", "bbox": [60.0, 39.0, 82.0, 51.0], "period": [1700, 1750],
            "polities": [{"id": "dzungar", "names": [{"to": 1710, "name": "Dzungar Khanate"},
                                                     {"from": 1711, "name": "Zunghar Realm"}]}]}"#,
    );
    let (inc, full) = (tmp.path().join("inc"), tmp.path().join("full"));
    let args = ["--data", data.to_str().unwrap(), "--years", "1710..1711", "--zoom", "3..5"];
    let said = tiles(&inc, &args);
    assert!(said.contains("2 distinct map states"), "{said}");
    tiles(&full, &[&args[..], &["--full"]].concat());
    let (a, b) = (files(&inc), files(&full));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>(), "the same files");
    let differ = |root: &BTreeMap<PathBuf, Vec<u8>>| {
        root.keys()
            .filter(|p| p.starts_with("1710") && p.extension().is_some_and(|e| e == "png"))
            .filter(|p| root[*p] != root[&Path::new("1711").join(p.strip_prefix("1710").unwrap())])
            .count()
    };
    assert!(differ(&b) > 0, "the rename shows on no tile");
    assert_eq!(differ(&a), differ(&b), "incremental tiles miss the rename");
    for (path, bytes) in &a {
        assert!(bytes == &b[path], "{} differs between incremental and full", path.display());
    }
}

#[test]
fn metatiles_kept_without_layout_equal_full_tiles() {
    // At zoom 7 the Barefooted Flight changes some metatiles and leaves others alone: those
    // keep their tiles from the year before without being laid out again.
    let tmp = tempfile::tempdir().unwrap();
    let (inc, full) = (tmp.path().join("inc"), tmp.path().join("full"));
    let args = ["--years", "1721..1723", "--zoom", "7..7"];
    let said = tiles(&inc, &args);
    tiles(&full, &[&args[..], &["--full"]].concat());
    let count = |word: &str| -> usize {
        let at = said.find(word).unwrap_or_else(|| panic!("no {word:?} in {said}"));
        said[..at].trim_end().rsplit([' ', '(']).next().unwrap().parse().unwrap()
    };
    let (laid, kept) = (count("metatiles laid out"), count("kept"));
    assert!(kept >= 4 && laid >= 12, "{laid} laid out, {kept} kept: {said}");
    let (a, b) = (files(&inc), files(&full));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>(), "the same files");
    assert!(a.len() > 3 * 300, "{} files", a.len());
    for (path, bytes) in &a {
        assert!(bytes == &b[path], "{} differs between incremental and full", path.display());
    }
}
