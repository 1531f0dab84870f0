//! Least privilege (issue 15): with the sandbox on (the default), code in the pipeline that
//! tries to read a file outside the inputs, open a TCP connection, or start a child that reads
//! such a file is refused by the kernel (Landlock); with --no-sandbox the same probe succeeds,
//! which shows the probe can tell the difference. The probe is the `sandbox-probe` test fault.

use std::net::TcpListener;

use crate::env::{error_lines, stderr, Env};

/// Runs the probe on one image; returns its error line.
fn probe(env: &mut Env, extra: &[&str]) -> (String, bool) {
    let input = env.input("good/astronaut.jpg", "astronaut.jpg");
    // a file of the user's outside the inputs and the output folder
    let secret = env.path("private/diary.txt");
    std::fs::create_dir_all(secret.parent().unwrap()).unwrap();
    std::fs::write(&secret, "the names of my sources").unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let out = env
        .unseen()
        .env("UNSEEN_TEST_FAULT", "sandbox-probe")
        .env("UNSEEN_TEST_PROBE_PATH", &secret)
        .env("UNSEEN_TEST_PROBE_ADDR", listener.local_addr().unwrap().to_string())
        .args(extra)
        .arg(&input)
        .assert()
        .code(1)
        .get_output()
        .clone();
    let errors = error_lines(&out);
    assert_eq!(errors.len(), 1, "{}", stderr(&out));
    let connected = listener.accept().is_ok();
    (errors[0].clone(), connected)
}

#[test]
fn issue15_a_compromised_decoder_can_read_no_other_file_and_open_no_connection() {
    let mut env = Env::new();
    let (line, connected) = probe(&mut env, &["--require-sandbox"]);
    assert!(line.contains("sandbox probe: read denied"), "{line}");
    assert!(line.contains("connect denied"), "{line}");
    assert!(line.contains("child read denied"), "ffmpeg-like children inherit the sandbox: {line}");
    assert!(!connected, "the listener got a connection");
    assert_eq!(env.outputs(), Vec::<String>::new());
}

#[test]
fn issue15_without_the_sandbox_the_same_probe_succeeds() {
    let mut env = Env::new();
    let (line, connected) = probe(&mut env, &["--no-sandbox"]);
    assert!(line.contains("sandbox probe: read allowed; connect allowed; child read allowed"), "{line}");
    assert!(connected, "the probe's connection did not arrive");
}

#[test]
fn issue15_the_sandbox_lets_images_and_the_report_through() {
    let mut env = Env::new();
    let photo = env.input("good/metadata_canary.jpg", "photos/a.jpg");
    let report = env.path("report.json");
    let out = env
        .unseen()
        .arg("--require-sandbox")
        .arg("--report")
        .arg(&report)
        .arg(photo.parent().unwrap())
        .assert()
        .code(0)
        .get_output()
        .clone();
    assert!(!stderr(&out).contains("sandbox"), "{}", stderr(&out));
    let outputs = env.outputs();
    assert!(outputs.len() == 1 && outputs[0].ends_with("a.jpg"), "{outputs:?}");
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(json["files"][0]["status"], "ok");
}
