//! Ctrl-C (SIGINT) or SIGTERM in the middle of a batch: the video in progress is dropped at its
//! next frame (its temp file removed, its ffmpeg processes stopped), the files not started are
//! reported as interrupted, nothing partial is written, the report is still written, and the
//! exit status is 130.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::env::{stderr, Env};

/// 60 s of 320×240 at 10 fps: far more work than the test waits, so the signal lands mid-video.
fn long_video(env: &mut Env) -> PathBuf {
    let tmp = env.path("long-src.mp4");
    let ok = Command::new("ffmpeg")
        .args(["-hide_banner", "-v", "error", "-nostdin", "-y", "-f", "lavfi", "-i", "testsrc2=s=320x240:r=10:d=60"])
        .args(["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"])
        .arg(&tmp)
        .status()
        .expect("ffmpeg runs");
    assert!(ok.success());
    let bytes = std::fs::read(&tmp).unwrap();
    env.input_bytes("long.mp4", &bytes)
}

/// Processes (other than this test's) whose command line names `dir`: an ffmpeg left running.
fn processes_naming(dir: &Path) -> Vec<String> {
    let needle = dir.to_string_lossy().into_owned();
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(cmd) = std::fs::read(e.path().join("cmdline")) else { continue };
        let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
        if cmd.contains(&needle) {
            found.push(cmd);
        }
    }
    found
}

fn interrupt_with(signal: &str) {
    let mut env = Env::new();
    let video = long_video(&mut env);
    let photo = env.input("good/astronaut.jpg", "astronaut.jpg");
    let plain = env.input("good/no_faces.png", "no_faces.png");
    let report = env.path("report.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_unseen"))
        .env("UNSEEN_NO_PROGRESS", "1")
        .env_remove("UNSEEN_TEST_FAULT")
        .args(["-j", "1", "--report"])
        .arg(&report)
        .arg("--out")
        .arg(env.out())
        .args([&video, &photo, &plain])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("unseen starts");
    // the video's encoder has started writing its temp file: frames are flowing
    let start = Instant::now();
    while !env.outputs().iter().any(|f| f.starts_with(".unseen-tmp")) {
        assert!(child.try_wait().unwrap().is_none(), "unseen ended before the signal");
        assert!(start.elapsed() < Duration::from_secs(300), "no temp file after 300 s");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(500));
    let sent = Command::new("kill").args(["-s", signal, &child.id().to_string()]).status().unwrap();
    assert!(sent.success());
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            panic!("unseen did not stop within 120 s of SIG{signal}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert_eq!(env.outputs(), Vec::<String>::new(), "nothing partial, no temp file: {err}");
    assert_eq!(processes_naming(&env.out()), Vec::<String>::new(), "an ffmpeg is still running");
    assert_eq!(err.matches("stopping (interrupted)").count(), 1, "{err}");
    assert!(err.contains("interrupted: 3 file(s) not finished"), "{err}");
    assert!(err.contains("0 written, 0 skipped (output exists), 0 failed, 3 interrupted;"), "{err}");
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    let files = json["files"].as_array().unwrap();
    assert_eq!(files.len(), 3);
    for f in files {
        assert_eq!(f["error_kind"], "interrupted", "{f}");
    }
}

#[test]
fn ctrl_c_drops_the_video_in_progress_and_starts_nothing_new() {
    interrupt_with("INT");
}

#[test]
fn sigterm_stops_the_batch_the_same_way() {
    interrupt_with("TERM");
}
