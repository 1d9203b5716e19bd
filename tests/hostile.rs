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
    assert!(cases.len() >= 15, "the corpus holds every case of the issue");
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
