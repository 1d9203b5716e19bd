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

/// `tiles` writes each year's archive while it draws the next map state: a year whose
/// archive cannot be written fails the run with one line naming the file, no panic, and
/// no temporary file left, for MBTiles and PMTiles alike.
#[test]
fn a_failed_archive_fails_the_tile_run_cleanly() {
    for format in ["mbtiles", "pmtiles"] {
        let tmp = tempfile::tempdir().expect("temp dir");
        let out = tmp.path().join("t");
        // A folder where the archive of 1725 goes (the map changes in 1723 and 1730).
        std::fs::create_dir_all(out.join(format!("1725.{format}"))).expect("mkdir");
        let args: Vec<String> = [
            "tiles",
            "--years",
            "1720..1735",
            "--zoom",
            "0..2",
            "--format",
            format,
            "--out",
            &out.display().to_string(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let r = run(&args, 120);
        check_no_panic("failed archive", &r);
        assert_eq!(r.code, Some(1), "{format}: {}", r.stderr);
        let first = r.stderr.lines().next().unwrap_or("");
        assert!(first.contains(&format!("1725.{format}")), "{format}: {}", r.stderr);
        let leftovers: Vec<String> = std::fs::read_dir(&out)
            .expect("read")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "{format}: temporary files left: {leftovers:?}");
    }
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

/// Tens of thousands of polities, one to an area and one to a town, render and validate
/// in seconds (the legend, the automatic names and the towns' land were found by scanning
/// every polity, or every area, for each: minutes at this size), each polity noted once.
#[test]
fn eighty_thousand_polities_render_in_seconds() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("many");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let (cols, rows) = (200u32, 200u32);
    let mut areas = Vec::new();
    let mut towns = Vec::new();
    for i in 0..cols {
        for j in 0..rows {
            let (x, y) = (50.0 + f64::from(i) * 0.2, 35.0 + f64::from(j) * 0.1);
            let n = i * rows + j;
            areas.push(serde_json::json!({"type": "Feature",
                "properties": {"id": format!("area-{n}"), "name": format!("Area {n}"),
                    "control": [{"from": "1600", "to": "1800", "polity": format!("holder-{n}")}]},
                "geometry": {"type": "Polygon", "coordinates": [[[x, y], [x + 0.2, y], [x + 0.2, y + 0.1], [x, y + 0.1], [x, y]]]}}));
            towns.push(serde_json::json!({"type": "Feature",
                "properties": {"id": format!("town-{n}"), "name": format!("Town {n}"), "kind": "city",
                    "control": [{"from": "1600", "to": "1800", "polity": format!("side-{n}")}]},
                "geometry": {"type": "Point", "coordinates": [x + 0.1, y + 0.05]}}));
        }
    }
    for (file, features) in [("territories.geojson", areas), ("cities.geojson", towns)] {
        let doc = serde_json::json!({"type": "FeatureCollection", "features": features});
        std::fs::write(dir.join(file), doc.to_string()).expect("write");
    }
    // atlas.json describes every one of them (each name is looked up by id).
    let polities: Vec<serde_json::Value> = (0..cols * rows)
        .flat_map(|n| [format!("holder-{n}"), format!("side-{n}")])
        .map(|id| serde_json::json!({"id": id, "names": [{"name": format!("The {id}"), "from": 1600, "to": 1800}]}))
        .collect();
    let meta = serde_json::json!({"title": "Many", "polities": polities});
    std::fs::write(dir.join("atlas.json"), meta.to_string()).expect("write");
    let png = tmp.path().join("many.png");
    let data = dir.display().to_string();
    let args: Vec<String> = ["render", "--data", &data, "--year", "1700", "--width", "400", "--height", "300", "--out"]
        .iter()
        .map(|s| s.to_string())
        .chain([png.display().to_string()])
        .collect();
    // Well within the bound: a few seconds (over a minute when each polity was sought
    // among all the others).
    let r = run(&args, 30);
    check_no_panic("many polities", &r);
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    assert!(png.exists());
    // Every holder is told apart by an automatic colour (information, not an error).
    let r = run(&["validate".to_string(), "--data".into(), data.clone()], 30);
    check_no_panic("many polities", &r);
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    let auto = r.stdout.lines().filter(|l| l.contains("is not in style") && l.contains("automatic colour")).count();
    assert_eq!(auto, 2 * (cols * rows) as usize, "one note per polity");
    // Tiles lay out each metatile with every holder's land and name.
    let out = tmp.path().join("tiles").display().to_string();
    let args: Vec<String> = ["tiles", "--data", &data, "--zoom", "0..4", "--years", "1700", "--out", &out]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let r = run(&args, 30);
    check_no_panic("many polities", &r);
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
}

/// An area of 50,000 parts (an archipelago of islets) validates, renders and tiles, raster
/// and vector, in seconds: the search for T-junctions listed the area's rings again for
/// each of its 200,000 edges, the borders asked of each ring whether it is a hole by
/// walking the parts before it, and the vector tiles sought the interior point of every
/// part again for each year (each step 20 s to a minute at this size).
#[test]
fn an_area_of_fifty_thousand_parts_is_drawn_in_seconds() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("islets");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let mut parts = Vec::new();
    for i in 0..250u32 {
        for j in 0..200u32 {
            let (x, y) = (50.0 + f64::from(i) * 0.1, 35.0 + f64::from(j) * 0.05);
            parts.push(serde_json::json!([[[x, y], [x + 0.05, y], [x + 0.05, y + 0.025], [x, y + 0.025], [x, y]]]));
        }
    }
    let doc = serde_json::json!({"type": "FeatureCollection", "features": [{"type": "Feature",
        "properties": {"id": "islets", "name": "Islets",
            "control": [{"from": "1600", "to": "1800", "polity": "dzungar"}]},
        "geometry": {"type": "MultiPolygon", "coordinates": parts}}]});
    std::fs::write(dir.join("territories.geojson"), doc.to_string()).expect("write");
    let data = dir.display().to_string();
    let png = tmp.path().join("islets.png").display().to_string();
    let tiles = tmp.path().join("tiles").display().to_string();
    let vector = tmp.path().join("vector").display().to_string();
    let runs: [&[&str]; 4] = [
        &["validate", "--data", &data],
        &["render", "--data", &data, "--year", "1700", "--width", "800", "--height", "600", "--out", &png],
        &["tiles", "--data", &data, "--zoom", "0..5", "--years", "1700", "--out", &tiles],
        &["tiles", "--data", &data, "--format", "mvt", "--zoom", "0..4", "--out", &vector],
    ];
    for args in runs {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let r = run(&args, 15);
        check_no_panic("islets", &r);
        assert_eq!(r.code, Some(0), "{}: {}{}", args[0], r.stdout, r.stderr);
    }
    assert!(std::path::Path::new(&png).exists());
}

mod server {
    //! The server under hostile load, in process: a full render pool answers 503 with
    //! Retry-After, idle and half-sent connections neither pile up nor shut out
    //! `/health`, and the cache keeps to its bound in real bytes.

    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use std::io::{Read, Write};
    use std::net::{SocketAddr, TcpStream};
    use std::path::Path;
    use std::sync::Arc;
    use std::time::Duration;
    use steppe_atlas::data::Source;
    use steppe_atlas::serve::limits::ServeLimits;
    use steppe_atlas::serve::{router, ImageCache, ImageKey, ServerState};
    use steppe_atlas::style::Style;
    use steppe_atlas::time::EndDates;
    use steppe_atlas::Atlas;
    use tower::ServiceExt;

    fn state(limits: ServeLimits) -> Arc<ServerState> {
        let source = Source::Dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/mini"));
        let atlas = Atlas::load(&source, EndDates::Inclusive).expect("mini atlas");
        let (tiles, frames) = (Style::load("atlas").expect("style"), Style::load("print").expect("style"));
        Arc::new(ServerState::with_limits(atlas, tiles, frames, "en", 8 << 20, limits))
    }

    fn tight() -> ServeLimits {
        ServeLimits {
            render_threads: 1,
            max_renders: 1,
            max_connections: 64,
            header_timeout: Duration::from_millis(500),
            connection_lifetime: Duration::from_secs(5),
        }
    }

    async fn status(st: &Arc<ServerState>, uri: &str) -> (StatusCode, Option<String>) {
        let req = Request::builder().uri(uri).body(Body::empty()).expect("request");
        let res = router(st.clone()).oneshot(req).await.expect("response");
        let retry = res.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_string);
        (res.status(), retry)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_full_render_pool_answers_503_with_retry_after() {
        let st = state(tight());
        // Sixteen distinct metatiles at once against a pool that admits one render.
        let uris: Vec<String> =
            (0..16).map(|i| format!("/tiles/1723/8/{}/{}.png", 170 + 4 * (i % 4), 90 + 4 * (i / 4))).collect();
        let answers = futures_join(uris.iter().map(|u| status(&st, u))).await;
        let ok = answers.iter().filter(|a| a.0 == StatusCode::OK).count();
        let busy: Vec<_> = answers.iter().filter(|a| a.0 == StatusCode::SERVICE_UNAVAILABLE).collect();
        assert!(ok >= 1, "{answers:?}");
        assert!(!busy.is_empty(), "no request was refused: {answers:?}");
        assert!(busy.iter().all(|a| a.1.as_deref() == Some("1")), "503 without Retry-After: {answers:?}");
        assert_eq!(ok + busy.len(), 16, "{answers:?}");
        // The pool is free again and /health never needed it.
        assert_eq!(status(&st, "/health").await.0, StatusCode::OK);
        assert_eq!(status(&st, &uris[15]).await.0, StatusCode::OK);
    }

    /// Poll every future together (the order of answers is the order of `futs`).
    async fn futures_join<F: std::future::Future>(futs: impl Iterator<Item = F>) -> Vec<F::Output> {
        // join_all without the futures crate: every future is polled on each wake-up.
        let mut pending: Vec<_> = futs.map(|f| Some(Box::pin(f))).collect();
        let mut results: Vec<Option<F::Output>> = (0..pending.len()).map(|_| None).collect();
        std::future::poll_fn(|cx| {
            let mut all = true;
            for (i, slot) in pending.iter_mut().enumerate() {
                if let Some(f) = slot {
                    match f.as_mut().poll(cx) {
                        std::task::Poll::Ready(v) => {
                            results[i] = Some(v);
                            *slot = None;
                        }
                        std::task::Poll::Pending => all = false,
                    }
                }
            }
            if all {
                std::task::Poll::Ready(())
            } else {
                std::task::Poll::Pending
            }
        })
        .await;
        results.into_iter().flatten().collect()
    }

    /// `GET /health` over a fresh connection, on a blocking thread; the response text.
    async fn health(addr: SocketAddr) -> String {
        tokio::task::spawn_blocking(move || {
            let mut s = TcpStream::connect(addr).expect("connect");
            s.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
            s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").expect("write");
            let mut resp = String::new();
            s.read_to_string(&mut resp).ok();
            resp
        })
        .await
        .expect("join")
    }

    /// Does the server close `s` within `secs` (a read returns end of file or an error)?
    async fn closed_within(mut s: TcpStream, secs: u64) -> bool {
        tokio::task::spawn_blocking(move || {
            s.set_read_timeout(Some(Duration::from_secs(secs))).expect("timeout");
            let mut buf = [0u8; 64];
            match s.read(&mut buf) {
                Ok(0) => true,
                Ok(_) => false,
                Err(e) => !matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut),
            }
        })
        .await
        .expect("join")
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn idle_and_slow_connections_do_not_shut_out_health() {
        // A long lifetime: what closes connections here is the 0.5 s header timeout.
        let limits = ServeLimits { max_connections: 2000, connection_lifetime: Duration::from_secs(60), ..tight() };
        let st = state(limits);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(steppe_atlas::serve::serve_on(listener, st));
        // 1,100 connections that send nothing, and one that sends half a request.
        let mut idle = Vec::new();
        for _ in 0..1100 {
            idle.push(TcpStream::connect(addr).expect("connect"));
        }
        let mut slow = TcpStream::connect(addr).expect("connect");
        slow.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n").expect("write");
        let resp = tokio::time::timeout(Duration::from_secs(5), health(addr)).await.expect("/health answers in time");
        assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
        // Past the header timeout the half-sent and idle connections are closed.
        assert!(closed_within(slow, 5).await, "the slow connection is still open");
        assert!(closed_within(idle.remove(0), 5).await, "the idle connection is still open");
        // So is a keep-alive connection that goes quiet after a response.
        let kept = tokio::task::spawn_blocking(move || {
            let mut s = TcpStream::connect(addr).expect("connect");
            s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n").expect("write");
            let mut buf = [0u8; 256];
            let n = s.read(&mut buf).expect("response");
            assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
            s
        })
        .await
        .expect("join");
        assert!(closed_within(kept, 5).await, "the quiet keep-alive connection is still open");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn connections_beyond_the_cap_are_closed_and_health_comes_back() {
        let st = state(ServeLimits { max_connections: 8, ..tight() });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(steppe_atlas::serve::serve_on(listener, st));
        let mut held = Vec::new();
        for _ in 0..8 {
            held.push(TcpStream::connect(addr).expect("connect"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        // The ninth is closed at once, not queued.
        let extra = TcpStream::connect(addr).expect("connect");
        assert!(closed_within(extra, 2).await, "a connection past the cap was held");
        // Once the idle ones time out (the header timeout is 0.5 s), /health answers again.
        let t0 = std::time::Instant::now();
        loop {
            let resp = health(addr).await;
            if resp.starts_with("HTTP/1.1 200") {
                break;
            }
            assert!(t0.elapsed() < Duration::from_secs(5), "/health is still shut out: {resp:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        drop(held);
    }

    #[test]
    fn the_cache_holds_to_its_bound_in_real_bytes() {
        // 32,000 distinct tiles into a 1 MB cache: it never holds more than 1 MB counted
        // with keys and bookkeeping, and never more entries than fit.
        let limit = 1 << 20;
        let c = ImageCache::new(limit);
        let lang: std::sync::Arc<str> = "en".into();
        let key = |i: u32| ImageKey::Tile {
            state: u64::from(i),
            scale: 1,
            lang: lang.clone(),
            tile: steppe_atlas::tiles::grid::TileId { z: 8, x: i % 256, y: (i / 256) % 256 },
            image: Default::default(),
        };
        for i in 0..32_000u32 {
            c.put(key(i), vec![7u8; 300 + i as usize % 500].into());
            assert!(c.bytes() <= limit);
        }
        assert!(c.len() * ImageCache::cost(&key(0), &[0u8; 300]) <= limit, "{} entries", c.len());
        assert!(c.len() > 100, "the cache keeps what fits");
    }

    #[tokio::test]
    async fn the_timeline_answers_at_once() {
        let st = state(tight());
        let req = Request::builder().uri("/api/timeline").body(Body::empty()).expect("request");
        let t0 = std::time::Instant::now();
        let res = router(st.clone()).oneshot(req).await.expect("response");
        assert_eq!(res.status(), StatusCode::OK);
        assert!(t0.elapsed() < Duration::from_secs(1));
    }
}

/// The real server under 256 keep-alive connections asking for uncached tiles for a few
/// seconds: every connection is held, each request gets 200 or 503 (never an error or a
/// hang), `/health` answers throughout, and the process stays within its memory bound
/// (it took 2.8 GB with 441 threads before the render pool).
#[cfg(target_os = "linux")]
#[test]
fn the_server_under_256_connections_stays_within_bounds() {
    use std::io::{BufRead, Read, Write};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_steppe-atlas"))
        .args(["serve", "--addr", "127.0.0.1:0", "--cache-mb", "16"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut line = String::new();
    std::io::BufReader::new(child.stderr.take().expect("stderr")).read_line(&mut line).expect("address line");
    let addr = line.trim().rsplit("http://").next().expect("address").trim_end_matches('/').to_string();
    let stop = Instant::now() + Duration::from_secs(4);
    let (ok, busy, other) =
        (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let workers: Vec<_> = (0..256u32)
        .map(|i| {
            let (addr, ok, busy, other) = (addr.clone(), ok.clone(), busy.clone(), other.clone());
            std::thread::spawn(move || {
                let Ok(mut s) = std::net::TcpStream::connect(&addr) else {
                    other.fetch_add(1, Ordering::Relaxed);
                    return;
                };
                s.set_read_timeout(Some(Duration::from_secs(20))).ok();
                let mut k = 0u32;
                while Instant::now() < stop {
                    // Distinct years and tiles: nothing is cached.
                    let (year, x, y) = (1635 + (i * 7 + k) % 107, 161 + (i + k * 13) % 34, 78 + (i * 3 + k) % 25);
                    let req = format!("GET /tiles/{year}/8/{x}/{y}.png HTTP/1.1\r\nHost: {addr}\r\n\r\n");
                    if s.write_all(req.as_bytes()).is_err() {
                        other.fetch_add(1, Ordering::Relaxed);
                        return;
                    }
                    match read_response(&mut s) {
                        Some(200) => ok.fetch_add(1, Ordering::Relaxed),
                        Some(503) => {
                            std::thread::sleep(Duration::from_millis(200));
                            busy.fetch_add(1, Ordering::Relaxed)
                        }
                        _ => {
                            other.fetch_add(1, Ordering::Relaxed);
                            return;
                        }
                    };
                    k += 1;
                }
            })
        })
        .collect();
    // /health, probed alongside.
    let mut health_worst = Duration::ZERO;
    while Instant::now() < stop {
        let t0 = Instant::now();
        let mut s = std::net::TcpStream::connect(&addr).expect("connect for /health");
        s.set_read_timeout(Some(Duration::from_secs(5))).ok();
        write!(s, "GET /health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").expect("write");
        let mut resp = String::new();
        s.read_to_string(&mut resp).ok();
        assert!(resp.starts_with("HTTP/1.1 200"), "/health failed under load: {resp:?}");
        health_worst = health_worst.max(t0.elapsed());
        std::thread::sleep(Duration::from_millis(250));
    }
    for w in workers {
        w.join().expect("worker");
    }
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).expect("status");
    child.kill().ok();
    child.wait().ok();
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    let (peak_mb, threads) = (field("VmHWM:") / 1024, field("Threads:"));
    let (ok, busy, other) = (ok.load(Ordering::Relaxed), busy.load(Ordering::Relaxed), other.load(Ordering::Relaxed));
    assert_eq!(other, 0, "requests that failed or hung ({ok} ok, {busy} busy)");
    assert!(ok > 0, "nothing was served ({busy} busy)");
    assert!(health_worst < Duration::from_secs(2), "/health took {health_worst:?}");
    assert!(peak_mb < 300, "peak RSS {peak_mb} MB with --cache-mb 16");
    assert!(threads < 64, "{threads} threads");
}

/// Read one HTTP/1.1 response with a Content-Length body; its status.
fn read_response(s: &mut std::net::TcpStream) -> Option<u16> {
    use std::io::Read;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if s.read(&mut byte).ok()? == 0 {
            return None;
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).to_lowercase();
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    let len: usize =
        head.lines().find_map(|l| l.strip_prefix("content-length:")).and_then(|v| v.trim().parse().ok()).unwrap_or(0);
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).ok()?;
    Some(status)
}

/// `… 2>&1 | head -1`: stdout and stderr both go away; the run still ends with its own
/// exit code (a report to a closed stderr used to panic with 101).
#[test]
fn closed_stdout_and_stderr_end_quietly() {
    use std::process::Stdio;
    for (args, expected) in [
        (&["validate", "--data", "tests/hostile/data/bowtie"][..], 1),
        (&["query", "--year", "1723", "--lon", "68.27", "--lat", "43.30"][..], 0),
        (&["render", "--year", "1723", "--bbox", "60,-10,80,10", "--out", "/nonexistent/x.png"][..], 1),
    ] {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_steppe-atlas"))
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        drop(child.stdout.take());
        drop(child.stderr.take());
        let t0 = Instant::now();
        let status = loop {
            if let Some(s) = child.try_wait().expect("wait") {
                break s;
            }
            assert!(t0.elapsed() < Duration::from_secs(30), "{args:?} hangs on closed pipes");
            std::thread::sleep(Duration::from_millis(20));
        };
        assert_eq!(status.code(), Some(expected), "{args:?}");
    }
}

/// A layer file that is a device (read for ever) is not read, and one bigger than a
/// dataset may hold is refused unread, naming the file.
#[cfg(unix)]
#[test]
fn endless_and_huge_layer_files_are_refused_unread() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dev = tmp.path().join("dev");
    std::fs::create_dir_all(&dev).expect("mkdir");
    std::os::unix::fs::symlink("/dev/zero", dev.join("cities.geojson")).expect("symlink");
    // Not read: the loader takes regular files only (the run ends at once, whether it
    // skips the device or names it as an error).
    let r = run(&["validate".into(), "--data".into(), dev.display().to_string()], 30);
    check_no_panic("/dev/zero layer", &r);
    assert!(matches!(r.code, Some(0) | Some(1)), "{:?}: {}", r.code, r.stderr);
    assert!(r.elapsed < Duration::from_secs(30));

    let huge = tmp.path().join("huge");
    std::fs::create_dir_all(&huge).expect("mkdir");
    // Sparse: 600 MB long, no disk used.
    let f = std::fs::File::create(huge.join("rivers.geojson")).expect("create");
    f.set_len(600 << 20).expect("set_len");
    let out = tmp.path().join("x.png");
    let args: Vec<String> = ["render", "--year", "1723", "--data"]
        .iter()
        .map(|s| s.to_string())
        .chain([huge.display().to_string(), "--out".into(), out.display().to_string()])
        .collect();
    let r = run(&args, 30);
    check_no_panic("huge layer", &r);
    assert_eq!(r.code, Some(1));
    assert_eq!(
        r.stderr.lines().next(),
        Some("steppe-atlas: rivers.geojson: is 600 MB, more than the 512 MB a file may hold")
    );
    assert!(!out.exists());
}
