//! The printed map read back by OCR (Tesseract, Debian's `tesseract-ocr`): an A4 page at
//! 300 dpi must give its title, year, caption, legend, scale bar and the big labels to a
//! machine reader, as it gives them to a person. Skipped with a message where Tesseract
//! is not installed (CI installs it).

use assert_cmd::Command;

fn has_tesseract() -> bool {
    std::process::Command::new("tesseract").arg("--version").output().is_ok_and(|o| o.status.success())
}

/// Whitespace folded to single spaces, lowercase.
fn flat(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

#[test]
fn an_a4_print_of_1723_reads_back_by_ocr() {
    if !has_tesseract() {
        assert!(std::env::var_os("CI").is_none(), "CI must install tesseract-ocr");
        eprintln!("skipped the OCR check: tesseract is not installed");
        return;
    }
    let tmp = tempfile::tempdir().expect("temp dir");
    let png = tmp.path().join("1723.png");
    Command::cargo_bin("steppe-atlas")
        .expect("binary")
        .args(["render", "--year", "1723", "--size-mm", "297,210", "--dpi", "300", "--out"])
        .arg(&png)
        .assert()
        .success();
    // Sparse text (page segmentation mode 11): a map is words scattered over a picture.
    let out = std::process::Command::new("tesseract")
        .arg(&png)
        .args(["-", "--psm", "11"])
        .env("OMP_THREAD_LIMIT", "1")
        .output()
        .expect("run tesseract");
    assert!(out.status.success(), "tesseract failed: {}", String::from_utf8_lossy(&out.stderr));
    let text = flat(&String::from_utf8_lossy(&out.stdout));
    let want: &[(&str, &[&str])] = &[
        ("title", &["The Kazakh", "Dzungar Wars"]),
        ("year", &["1723"]),
        ("caption", &["the Barefooted", "take Sayram"]),
        (
            "legend",
            &[
                "Dzungar Khanate",
                "Qing Empire",
                "Khanate of Bukhara",
                "Kalmyk Khanate",
                "Occupied",
                "Contested",
                "Capital",
                "Fortress",
                "Changed hands this year",
                "Approximate border",
            ],
        ),
        ("scale bar", &["250", "500 km", "500 versts"]),
        ("polity labels", &["RUSSIAN EMPIRE", "DZUNGAR KHANATE", "KALMYK KHANATE", "KHANATE OF KHIVA", "KYRGYZ"]),
        ("cities the caption names", &["Turkistan", "Tashkent", "Sayram", "Samarkand", "Khujand"]),
        ("other cities", &["Tobolsk", "Bukhara", "Khiva"]),
        ("water", &["Caspian Sea"]),
    ];
    let mut missing = Vec::new();
    for (what, words) in want {
        for w in *words {
            if !text.contains(&flat(w)) {
                missing.push(format!("{what}: {w:?}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "OCR did not read {} printed words:\n  {}\nOCR text:\n{text}",
        missing.len(),
        missing.join("\n  ")
    );
}
