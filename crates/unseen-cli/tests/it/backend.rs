//! `--backend`: the engine used is named in the summary and the report; `--backend ort` without
//! onnxruntime (not compiled in, or not found) is a one-line usage error.

use crate::env::{stderr, Env};

#[test]
fn tract_is_named_in_the_summary_and_the_report() {
    let mut env = Env::new();
    let input = env.input("good/no_faces.png", "no_faces.png");
    let report = env.path("report.json");
    let out = env.unseen().args(["--backend", "tract", "--report"]).arg(&report).arg(&input).assert().code(0);
    let err = stderr(out.get_output());
    assert!(err.contains("detector: tract"), "{err}");
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(json["backend"], "tract");
    assert_eq!(json["options"]["backend"], "tract");
}

#[test]
fn auto_names_the_engine_it_picked() {
    let mut env = Env::new();
    let input = env.input("good/no_faces.png", "no_faces.png");
    let report = env.path("report.json");
    let out = env.unseen().arg("--report").arg(&report).arg(&input).assert().code(0);
    let err = stderr(out.get_output());
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(json["options"]["backend"], "auto");
    let used = json["backend"].as_str().expect("backend is a string");
    assert!(["tract", "onnxruntime"].contains(&used), "{used}");
    assert!(err.contains(&format!("detector: {used}")), "{err}");
}

#[test]
fn ort_that_cannot_be_loaded_is_a_usage_error() {
    let mut env = Env::new();
    let input = env.input("good/no_faces.png", "no_faces.png");
    let out = env
        .unseen()
        .env("ORT_DYLIB_PATH", "/nonexistent/libonnxruntime.so")
        .args(["--backend", "ort"])
        .arg(&input)
        .assert()
        .code(2);
    let err = stderr(out.get_output());
    assert_eq!(err.lines().count(), 1, "{err}");
    // without the feature: "rebuild with `--features ort`"; with it: the missing library
    assert!(err.contains("--features ort") || err.contains("ORT_DYLIB_PATH"), "{err}");
    assert!(!env.out().exists(), "nothing written");
}
