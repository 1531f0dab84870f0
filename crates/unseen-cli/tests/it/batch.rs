//! Batches: reruns skip existing outputs (or replace them with --overwrite), a broken file does
//! not stop the batch, and folder inputs are mirrored under --out.

use serde_json::Value;

use crate::env::{error_lines, read, stderr, testdata, Env};

fn report(env: &Env) -> Value {
    serde_json::from_slice(&read(&env.path("report.json"))).expect("report JSON")
}

#[test]
fn rerun_skips_existing_outputs_and_overwrite_replaces_them() {
    let mut env = Env::new();
    let input = env.input("astronaut.png", "astronaut.png");
    let output = env.out().join("astronaut.png");
    let run = |extra: &[&str]| {
        env.unseen().args(["--preset", "fast", "--report", "report.json"]).args(extra).arg(&input).assert().code(0);
        report(&env)["files"][0].clone()
    };

    let first = run(&[]);
    assert_eq!(first["status"], "ok");
    let written = read(&output);

    let second = run(&[]);
    assert_eq!(second["status"], "skipped", "{second}");
    assert_eq!(read(&output), written, "a skipped output must be left byte for byte");

    // a planted file under the output name is not touched either
    std::fs::write(&output, b"not mine").unwrap();
    assert_eq!(run(&[])["status"], "skipped");
    assert_eq!(read(&output), b"not mine");

    let third = run(&["--overwrite"]);
    assert_eq!(third["status"], "ok", "{third}");
    let rewritten = read(&output);
    assert_ne!(rewritten, b"not mine");
    assert_ne!(rewritten, written, "fresh noise: a rewritten face differs from the first run");
    image::load_from_memory(&rewritten).expect("the replacement is a valid image");
    assert_eq!(env.outputs(), ["astronaut.png"], "no temp files left");
}

#[test]
fn skipped_rerun_is_reported_on_stderr() {
    let mut env = Env::new();
    let input = env.input("good/no_faces.png", "no_faces.png");
    env.unseen().arg(&input).assert().code(0);
    let out = env.unseen().arg(&input).assert().code(0).get_output().clone();
    assert!(stderr(&out).contains("0 written, 1 skipped (output exists), 0 failed"), "{}", stderr(&out));
}

#[test]
fn broken_files_fail_alone_and_the_batch_goes_on() {
    let mut env = Env::new();
    let good1 = env.input("good/no_faces.png", "a_good.png");
    let garbage = env.input_bytes("b_garbage.jpg", b"this is not a JPEG at all, just text");
    let truncated = env.input("bad/truncated.jpg", "c_truncated.jpg");
    let good2 = env.input("good/1x1.png", "d_good.png");
    let out = env
        .unseen()
        .args(["-j", "1", "--report", "report.json"])
        .args([&good1, &garbage, &truncated, &good2])
        .assert()
        .code(1)
        .get_output()
        .clone();
    let errors = error_lines(&out);
    assert_eq!(errors.len(), 2, "one error line per broken file:\n{}", stderr(&out));
    assert!(errors[0].contains(&*garbage.to_string_lossy()) && errors[0].contains("decode"), "{}", errors[0]);
    assert!(errors[1].contains(&*truncated.to_string_lossy()) && errors[1].contains("truncated"), "{}", errors[1]);
    assert!(stderr(&out).contains("2 written, 0 skipped (output exists), 2 failed"), "{}", stderr(&out));
    assert_eq!(env.outputs(), ["a_good.png", "d_good.png"]);
    let statuses: Vec<Value> = report(&env)["files"].as_array().unwrap().iter().map(|f| f["status"].clone()).collect();
    assert_eq!(statuses, ["ok", "error", "error", "ok"]);
}

#[test]
fn folder_input_is_mirrored_under_out() {
    let mut env = Env::new();
    env.input("good/no_faces.png", "top.png");
    env.input("good/1x1.png", "sub/one.png");
    env.input("good/no_faces.png", "sub/deeper/two.PNG");
    env.input_bytes("sub/notes.txt", b"not an image");
    env.unseen().arg(env.path("in")).assert().code(0);
    assert_eq!(env.outputs(), ["sub/deeper/two.PNG", "sub/one.png", "top.png"]);
    let a = image::load_from_memory(&read(&env.out().join("sub/deeper/two.PNG"))).unwrap().to_rgb8();
    let b = image::load_from_memory(&read(&testdata("good/no_faces.png"))).unwrap().to_rgb8();
    assert!(a == b, "a faceless picture keeps its pixels");
}

#[test]
fn a_small_max_memory_runs_files_one_after_another_and_writes_them_all() {
    let mut env = Env::new();
    let a = env.input("astronaut.png", "a.png");
    let b = env.input("camera.png", "b.png");
    let c = env.input("astronaut.png", "c.png");
    let out =
        env.unseen().args(["--preset", "fast", "-j", "3", "--max-memory", "1"]).args([&a, &b, &c]).assert().code(0);
    let err = stderr(out.get_output());
    assert!(err.contains("3 written, 0 skipped (output exists), 0 failed"), "{err}");
    // three workers, one file in flight at a time: the two others waited (and the user is told)
    assert!(err.contains("2 file(s) waited for memory before starting (budget 1 MiB"), "{err}");
    assert_eq!(env.outputs(), ["a.png", "b.png", "c.png"]);

    let zero = env.unseen().args(["--max-memory", "0"]).arg(&a).assert().code(2);
    let err = stderr(zero.get_output());
    assert!(err.contains("max-memory"), "{err}");
}
