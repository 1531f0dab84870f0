//! Exit codes: 0 when every input succeeded (or was skipped), 1 when any failed, 2 for usage
//! errors (nothing is processed then).

use crate::env::{error_lines, stderr, Env};

#[test]
fn zero_when_every_input_succeeds() {
    let mut env = Env::new();
    let a = env.input("good/no_faces.png", "no_faces.png");
    let b = env.input("good/1x1.png", "1x1.png");
    let out = env.unseen().arg(&a).arg(&b).assert().code(0).get_output().clone();
    assert!(error_lines(&out).is_empty(), "{}", stderr(&out));
    assert!(stderr(&out).contains("2 written, 0 skipped (output exists), 0 failed"), "{}", stderr(&out));
    assert_eq!(env.outputs(), ["1x1.png", "no_faces.png"]);
}

#[test]
fn one_when_an_input_does_not_exist_and_the_others_still_run() {
    let mut env = Env::new();
    let good = env.input("good/no_faces.png", "no_faces.png");
    let missing = env.path("in/does-not-exist.jpg");
    let out = env.unseen().arg(&missing).arg(&good).assert().code(1).get_output().clone();
    let errors = error_lines(&out);
    assert_eq!(errors.len(), 1, "{}", stderr(&out));
    assert!(errors[0].contains("does-not-exist.jpg"), "{}", errors[0]);
    assert_eq!(env.outputs(), ["no_faces.png"]);
}

/// Runs `unseen <args> <a good input>` (no input at all when `args` is empty) in `env` and expects
/// a usage error naming `mentions`, with no output written.
fn usage_error_in(mut env: Env, args: &[&str], mentions: &str) {
    let input = env.input("good/no_faces.png", "no_faces.png");
    let mut cmd = env.unseen();
    cmd.args(args);
    if !args.is_empty() {
        cmd.arg(&input);
    }
    let out = cmd.assert().code(2).get_output().clone();
    assert!(stderr(&out).contains(mentions), "{args:?}: stderr lacks {mentions:?}:\n{}", stderr(&out));
    assert!(!env.out().exists(), "{args:?}: a usage error must not create the output folder");
}

fn usage_error(args: &[&str], mentions: &str) {
    usage_error_in(Env::new(), args, mentions);
}

#[test]
fn two_when_no_input_is_given() {
    usage_error(&[], "no input");
}

#[test]
fn two_for_a_threshold_out_of_range() {
    usage_error(&["--threshold", "1.5"], "threshold");
}

#[test]
fn two_for_a_threshold_that_is_not_a_number() {
    usage_error(&["--threshold", "high"], "--threshold");
}

#[test]
fn two_for_an_unknown_flag() {
    usage_error(&["--blur-harder"], "--blur-harder");
}

#[test]
fn two_for_a_weak_grid_without_weak() {
    usage_error(&["--grid", "8"], "grid");
}

#[test]
fn two_for_a_malformed_regions_file() {
    let env = Env::new();
    std::fs::write(env.path("regions.json"), r#"{"no_faces.png": {"obscure": [{"x": 1}]}}"#).unwrap();
    usage_error_in(env, &["--regions", "regions.json"], "regions.json");
}
