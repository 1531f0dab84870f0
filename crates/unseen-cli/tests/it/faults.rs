//! UNSEEN_TEST_FAULT makes the pipeline fail at one stage; the CLI must fail closed: exit 1, an
//! error line naming the file, and nothing under --out (no output, no temp file).

use crate::env::{error_lines, stderr, Env};

fn fails_closed(fault: &str, stage: &str) {
    let mut env = Env::new();
    let input = env.input("good/astronaut.jpg", "astronaut.jpg");
    let out = env
        .unseen()
        .env("UNSEEN_TEST_FAULT", fault)
        .args(["--preset", "fast"])
        .arg(&input)
        .assert()
        .code(1)
        .get_output()
        .clone();
    let errors = error_lines(&out);
    assert_eq!(errors.len(), 1, "{fault}: {}", stderr(&out));
    assert!(errors[0].contains(&*input.to_string_lossy()), "{fault}: error names the file: {}", errors[0]);
    assert!(errors[0].contains(&format!(": {stage}: ")), "{fault}: error names the stage {stage}: {}", errors[0]);
    assert_eq!(env.outputs(), Vec::<String>::new(), "{fault}: files left under --out");
}

#[test]
fn fault_detect() {
    fails_closed("detect", "detect");
}

#[test]
fn fault_encode() {
    fails_closed("encode", "encode");
}

#[test]
fn fault_skip_obscure() {
    fails_closed("skip-obscure", "verify");
}

#[test]
fn fault_trailer() {
    fails_closed("trailer", "verify");
}

#[test]
fn fault_corrupt() {
    fails_closed("corrupt", "verify");
}

#[test]
fn without_a_fault_the_same_run_succeeds() {
    let mut env = Env::new();
    let input = env.input("good/astronaut.jpg", "astronaut.jpg");
    env.unseen().args(["--preset", "fast"]).arg(&input).assert().code(0);
    assert_eq!(env.outputs(), ["astronaut.jpg"]);
}
