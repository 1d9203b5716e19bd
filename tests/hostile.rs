//! Hostile input, end to end: every case of issue 12 (and the cases found since) is a
//! command line in `tests/hostile/cases.json` with the exit code and the error line it
//! must give, in bounded time, without a panic. Cases that need generated input (a
//! million-vertex ring, a device node) and the server's cases are tests of their own.

use assert_cmd::Command;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn bin() -> Command {
    Command::cargo_bin("steppe-atlas").expect("binary built")
}

fn hostile() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/hostile")
}

/// One case of the corpus.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    /// What the case is, for failure messages.
    name: String,
    /// Arguments; `{hostile}` is the corpus folder, `{tmp}` a fresh temporary folder.
    args: Vec<String>,
    /// Expected exit code.
    code: i32,
    /// The exact first line of stderr, if the case fails.
    #[serde(default)]
    stderr: Option<String>,
    /// The start of the first line of stderr, where the rest varies (memory available).
    #[serde(default)]
    stderr_prefix: Option<String>,
    /// A phrase stdout must hold.
    #[serde(default)]
    stdout_contains: Option<String>,
    /// Files (under `{tmp}`) that must not exist afterwards.
    #[serde(default)]
    absent: Vec<String>,
    /// Time bound, seconds: the child is killed past it.
    secs: u64,
}

/// What a finished child gave back.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    elapsed: Duration,
}

fn run(args: &[String], secs: u64) -> Run {
    let t0 = Instant::now();
    let out = bin().args(args).timeout(Duration::from_secs(secs)).output().expect("run the binary");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        elapsed: t0.elapsed(),
    }
}

fn check_no_panic(name: &str, r: &Run) {
    for bad in ["panicked", "RUST_BACKTRACE", "stack backtrace", "overflow"] {
        assert!(!r.stderr.contains(bad), "{name}: panic text in stderr:\n{}", r.stderr);
    }
}

#[test]
fn corpus_cases_fail_cleanly_and_in_time() {
    let text = std::fs::read_to_string(hostile().join("cases.json")).expect("cases.json");
    let cases: Vec<Case> = serde_json::from_str(&text).expect("cases.json parses");
    assert!(cases.len() >= 35, "the corpus holds every case of the issue");
    let mut failures = Vec::new();
    for case in &cases {
        let tmp = tempfile::tempdir().expect("temp dir");
        let args: Vec<String> = case
            .args
            .iter()
            .map(|a| {
                a.replace("{hostile}", &hostile().display().to_string())
                    .replace("{tmp}", &tmp.path().display().to_string())
            })
            .collect();
        let r = run(&args, case.secs);
        check_no_panic(&case.name, &r);
        let mut wrong = Vec::new();
        if r.code != Some(case.code) {
            wrong.push(format!("exit {:?}, expected {} (killed after {:?}?)", r.code, case.code, r.elapsed));
        }
        if let Some(want) = &case.stderr {
            let first = r.stderr.lines().next().unwrap_or("");
            let want = want
                .replace("{tmp}", &tmp.path().display().to_string())
                .replace("{hostile}", &hostile().display().to_string());
            if first != want {
                wrong.push(format!("stderr line\n   got: {first}\n  want: {want}"));
            }
        }
        if let Some(want) = &case.stderr_prefix {
            let first = r.stderr.lines().next().unwrap_or("");
            if !first.starts_with(want.as_str()) {
                wrong.push(format!("stderr line\n   got: {first}\n  want: {want}…"));
            }
        }
        if let Some(want) = &case.stdout_contains {
            if !r.stdout.contains(want.as_str()) {
                wrong.push(format!("stdout lacks {want:?}: {}", r.stdout));
            }
        }
        for f in &case.absent {
            if tmp.path().join(f).exists() {
                wrong.push(format!("{f} was written"));
            }
        }
        if !wrong.is_empty() {
            failures.push(format!("{} ({}):\n  {}", case.name, args.join(" "), wrong.join("\n  ")));
        }
    }
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

/// `query … | head -1`: the reader goes away; the writer ends quietly with exit 0.
#[test]
fn broken_pipe_ends_quietly() {
    use std::process::Stdio;
    for args in [
        &["query", "--year", "1723", "--lon", "68.27", "--lat", "43.30", "--radius-km", "500"][..],
        &["validate", "--data", "tests/hostile/data/bowtie"][..],
    ] {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_steppe-atlas"))
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        // Close the read end before the child has loaded its data and written a byte.
        drop(child.stdout.take());
        let t0 = Instant::now();
        let status = loop {
            if let Some(s) = child.try_wait().expect("wait") {
                break s;
            }
            assert!(t0.elapsed() < Duration::from_secs(30), "{args:?} hangs on a closed pipe");
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut stderr = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut stderr).expect("read");
        assert!(!stderr.contains("panicked") && !stderr.contains("Broken pipe"), "{args:?}: {stderr}");
        let expected = if args[0] == "validate" { 1 } else { 0 };
        assert_eq!(status.code(), Some(expected), "{args:?}: {stderr}");
    }
}

fn small_render(out: &Path) -> Run {
    let args: Vec<String> = ["render", "--year", "1723", "--width", "240", "--height", "160", "--out"]
        .iter()
        .map(|s| s.to_string())
        .chain([out.display().to_string()])
        .collect();
    run(&args, 60)
}

/// `frames` that fails part-way leaves neither the GIF nor the APNG, nor their temporary
/// files; before, both stayed under their final names holding the first frames.
#[test]
fn a_failed_animation_leaves_no_gif_or_apng() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let frames = tmp.path().join("f");
    // A folder where the key frame of 1730 goes: the run fails in its third chunk.
    std::fs::create_dir_all(frames.join("1730.png")).expect("mkdir");
    let p = |n: &str| tmp.path().join(n).display().to_string();
    let args: Vec<String> = [
        "frames",
        "--from",
        "1720",
        "--to",
        "1739",
        "--width",
        "160",
        "--height",
        "120",
        "--out",
        &p("f"),
        "--gif",
        &p("a.gif"),
        "--apng",
        &p("a.png"),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let r = run(&args, 120);
    check_no_panic("failed animation", &r);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(r.stderr.lines().next().unwrap_or("").contains("1730.png is a folder"), "{}", r.stderr);
    assert!(!tmp.path().join("a.gif").exists(), "a partial GIF was committed");
    assert!(!tmp.path().join("a.png").exists(), "a partial APNG was committed");
    let leftovers: Vec<String> = std::fs::read_dir(tmp.path())
        .expect("read")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

/// Temporary files of killed runs (`.NAME.tmpPID`, PID gone) are removed by the next run
/// that writes into their folder; those of live runs and other files stay.
#[test]
fn stale_temporary_files_are_cleaned_at_start() {
    let tmp = tempfile::tempdir().expect("temp dir");
    // PIDs above the kernel's limit (2^22) are never alive; this test's own PID is.
    let dead = tmp.path().join(".1723.png.tmp4294967");
    let live = tmp.path().join(format!(".1700.png.tmp{}", std::process::id()));
    let other = tmp.path().join("notes.tmp1");
    for f in [&dead, &live, &other] {
        std::fs::write(f, b"partial").expect("write");
    }
    let r = small_render(&tmp.path().join("x.png"));
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(!dead.exists(), "the stale temporary file stayed");
    assert!(live.exists() && other.exists(), "a file that is not stale was removed");
}

/// `--out` through a symlink writes the file it points to and keeps the link; a device
/// node, a FIFO, a dangling link are refused and left alone.
#[cfg(unix)]
#[test]
fn out_writes_through_symlinks_and_refuses_devices() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let target = tmp.path().join("real.png");
    std::fs::write(&target, b"old").expect("write");
    let link = tmp.path().join("latest.png");
    std::os::unix::fs::symlink(&target, &link).expect("symlink");
    let r = small_render(&link);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(std::fs::symlink_metadata(&link).expect("link").file_type().is_symlink(), "the link was replaced");
    let bytes = std::fs::read(&target).expect("target");
    assert!(bytes.starts_with(b"\x89PNG"), "the target was not written");

    let r = small_render(Path::new("/dev/null"));
    check_no_panic("/dev/null", &r);
    assert_eq!(r.code, Some(1));
    assert_eq!(
        r.stderr.lines().next(),
        Some("steppe-atlas: /dev/null is a device, FIFO or socket; steppe-atlas writes only regular files")
    );
    let to_dev = tmp.path().join("null.png");
    std::os::unix::fs::symlink("/dev/null", &to_dev).expect("symlink");
    let r = small_render(&to_dev);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(r.stderr.contains("is a device, FIFO or socket"), "{}", r.stderr);
    let dangling = tmp.path().join("gone.png");
    std::os::unix::fs::symlink(tmp.path().join("nowhere/x.png"), &dangling).expect("symlink");
    let r = small_render(&dangling);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(r.stderr.contains("is a symlink to nothing"), "{}", r.stderr);
}

/// A 1,000,000-vertex lake validates in seconds (the quadratic check never finished), and
/// a bowtie hidden in a long ring is still found.
#[test]
fn a_million_vertex_lake_validates_in_seconds() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let ring = |n: usize, bowtie: bool| {
        let mut pts: Vec<[f64; 2]> = (0..n)
            .map(|i| {
                let t = i as f64 / n as f64 * std::f64::consts::TAU;
                let r = 2.0 + 0.2 * (t * 41.0).sin();
                [60.0 + r * t.cos(), 46.0 + r * t.sin()]
            })
            .collect();
        if bowtie {
            pts.swap(n / 2, n / 2 + 1);
        }
        pts.push(pts[0]);
        pts
    };
    for (bowtie, code) in [(false, 0), (true, 1)] {
        let dir = tmp.path().join(if bowtie { "bad" } else { "good" });
        std::fs::create_dir_all(&dir).expect("mkdir");
        let doc = serde_json::json!({"type": "FeatureCollection", "features": [{"type": "Feature",
            "properties": {"id": "lake-aral", "name": "Aral"},
            "geometry": {"type": "Polygon", "coordinates": [ring(1_000_000, bowtie)]}}]});
        std::fs::write(dir.join("water.geojson"), doc.to_string()).expect("write");
        let args = vec!["validate".to_string(), "--data".into(), dir.display().to_string()];
        let r = run(&args, 60);
        check_no_panic("million", &r);
        assert_eq!(r.code, Some(code), "bowtie {bowtie}: {}{}", r.stdout, r.stderr);
        if bowtie {
            assert!(
                r.stdout.contains("water.geojson:lake-aral: invalid geometry: exterior ring has a self-intersection"),
                "{}",
                r.stdout
            );
        }
    }
}
