//! Shards that merge: N shard processes started the way the deploy scripts start them
//! (`deploy/shard.sh` with a Kubernetes or Slurm index in the environment), joined by
//! `deploy/merge.sh` / `steppe-atlas merge`, give the archive of one run, byte for byte;
//! bad shard sets fail with a clear message.

use assert_cmd::Command;
use std::path::{Path, PathBuf};
use steppe_atlas::tiles::merge::{read_mbtiles, read_pmtiles};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("steppe-atlas")
}

const JOB: [&str; 4] = ["--years", "1722..1723", "--zoom", "0..5"];

/// Run `n` shards at once as separate processes through deploy/shard.sh, the index in
/// the variable `index_var`.
fn run_shards(out: &Path, format: &str, n: u32, index_var: &str) {
    let children: Vec<_> = (0..n)
        .map(|i| {
            std::process::Command::new("sh")
                .arg(root().join("deploy/shard.sh"))
                .args(JOB)
                .args(["--format", format, "--out"])
                .arg(out)
                .env("STEPPE_ATLAS", bin())
                .env("SHARD_COUNT", n.to_string())
                .env(index_var, i.to_string())
                .env_remove(if index_var == "JOB_COMPLETION_INDEX" {
                    "SLURM_ARRAY_TASK_ID"
                } else {
                    "JOB_COMPLETION_INDEX"
                })
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let o = c.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
}

fn single_run(out: &Path, format: &str) {
    let o = Command::new(bin()).arg("tiles").args(JOB).args(["--format", format, "--out"]).arg(out).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

fn merge_all(shards: &Path, out: &Path, n: u32) {
    let o = std::process::Command::new("sh")
        .arg(root().join("deploy/merge.sh"))
        .arg(shards)
        .arg(out)
        .arg(n.to_string())
        .env("STEPPE_ATLAS", bin())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn three_indexed_job_shards_merge_into_the_mbtiles_of_one_run() {
    let tmp = tempfile::tempdir().unwrap();
    let (shards, merged, one) = (tmp.path().join("shards"), tmp.path().join("merged"), tmp.path().join("one"));
    run_shards(&shards, "mbtiles", 3, "JOB_COMPLETION_INDEX");
    merge_all(&shards, &merged, 3);
    single_run(&one, "mbtiles");
    for year in [1722, 1723] {
        let (a, b) = (merged.join(format!("{year}.mbtiles")), one.join(format!("{year}.mbtiles")));
        // The same tiles and metadata, read back through SQLite…
        let (ma, ta) = read_mbtiles(&a).unwrap();
        let (mb, tb) = read_mbtiles(&b).unwrap();
        assert_eq!(ma, mb, "metadata");
        assert!(
            ma.iter().any(|(k, v)| k == "minzoom" && v == "0") && ma.iter().any(|(k, v)| k == "maxzoom" && v == "5")
        );
        assert_eq!(ta.len(), tb.len());
        assert!(ta == tb, "{year}: tiles differ");
        // …and the same file.
        assert!(std::fs::read(&a).unwrap() == std::fs::read(&b).unwrap(), "{year}.mbtiles differs byte for byte");
    }
}

#[test]
fn three_slurm_array_shards_merge_into_the_pmtiles_of_one_run() {
    let tmp = tempfile::tempdir().unwrap();
    let (shards, merged, one) = (tmp.path().join("shards"), tmp.path().join("merged"), tmp.path().join("one"));
    run_shards(&shards, "pmtiles", 3, "SLURM_ARRAY_TASK_ID");
    merge_all(&shards, &merged, 3);
    single_run(&one, "pmtiles");
    for year in [1722, 1723] {
        let (a, b) = (merged.join(format!("{year}.pmtiles")), one.join(format!("{year}.pmtiles")));
        let (ha, mut ta) = read_pmtiles(&a).unwrap();
        let (hb, mut tb) = read_pmtiles(&b).unwrap();
        assert_eq!(ha, hb, "header and metadata");
        assert_eq!(ha.zooms, (0, 5));
        ta.sort_by_key(|t| t.0);
        tb.sort_by_key(|t| t.0);
        assert!(!ta.is_empty() && ta == tb, "{year}: decoded tiles differ");
        assert!(std::fs::read(&a).unwrap() == std::fs::read(&b).unwrap(), "{year}.pmtiles differs byte for byte");
    }
}

#[test]
fn an_incomplete_or_mixed_shard_set_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let shards = tmp.path().join("shards");
    run_shards(&shards, "mbtiles", 2, "JOB_COMPLETION_INDEX");
    let merge = |args: &[PathBuf]| {
        Command::new(bin()).arg("merge").arg("--out").arg(tmp.path().join("m.mbtiles")).args(args).output().unwrap()
    };
    let o = merge(&[shards.join("1722-0of2.mbtiles")]);
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("shard 1 of 2 is missing"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = merge(&[shards.join("1722-0of2.mbtiles"), shards.join("1723-1of2.mbtiles")]);
    assert!(!o.status.success(), "two years' shards are not one pyramid");
    assert!(String::from_utf8_lossy(&o.stderr).contains("metadata differs"), "{}", String::from_utf8_lossy(&o.stderr));
    let junk = tmp.path().join("junk.mbtiles");
    std::fs::write(&junk, b"not an archive").unwrap();
    let o = merge(&[junk]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("junk.mbtiles") && err.lines().count() == 1, "{err}");
    assert!(!tmp.path().join("m.mbtiles").exists(), "no partial output");
}
