//! Issue 4 through the binary: videos are found in folders and written as .mp4, `--audio`
//! keeps or drops the sound (and says so), the summary counts face tracks, and without ffmpeg
//! a video fails on one line while images still work. (The library's tests check the pixels,
//! streams and metadata in depth.)

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::env::{error_lines, read, stderr, Env};

/// A small clip made by ffmpeg (lavfi sources) with the given extra arguments.
fn clip(dir: &Path, name: &str, args: &[&str]) -> Vec<u8> {
    let p = dir.join(name);
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-v", "error", "-y"])
        .args(args)
        .arg(&p)
        .stdin(Stdio::null())
        .output()
        .expect("ffmpeg runs");
    assert!(out.status.success(), "making {name}: {}", String::from_utf8_lossy(&out.stderr));
    read(&p)
}

fn streams(path: &Path) -> Vec<String> {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", "stream=codec_type", "-of", "csv=p=0"])
        .arg(path)
        .output()
        .expect("ffprobe runs");
    String::from_utf8_lossy(&out.stdout).lines().map(str::to_owned).collect()
}

#[test]
fn issue4_videos_in_folders_become_mp4_and_audio_is_dropped_unless_kept() {
    let mut env = Env::new();
    let scratch = tempfile::tempdir().unwrap();
    let mov = clip(
        scratch.path(),
        "a.mov",
        &["-f", "lavfi", "-i", "testsrc2=s=160x90:r=10:d=1", "-f", "lavfi", "-i", "sine=d=1", "-c:v", "libx264"],
    );
    let webm = clip(scratch.path(), "b.webm", &["-f", "lavfi", "-i", "testsrc2=s=160x90:r=10:d=1", "-c:v", "libvpx"]);
    env.input_bytes("clips/a.mov", &mov);
    env.input_bytes("clips/b.webm", &webm);
    env.input("astronaut.png", "astronaut.png");

    let out = env.unseen().args(["--preset", "fast", "--report", "report.json", "in"]).assert().code(0);
    let err = stderr(out.get_output());
    assert_eq!(env.outputs(), vec!["astronaut.png", "clips/a.mp4", "clips/b.mp4"]);
    assert!(err.contains("face tracks in 2 videos"), "{err}");
    assert!(err.contains("audio removed from 1 video"), "{err}");
    assert!(!err.contains("voices"), "{err}");
    assert_eq!(streams(&env.out().join("clips/a.mp4")), vec!["video"]);
    let report: Value = serde_json::from_slice(&read(&env.path("report.json"))).unwrap();
    let files = report["files"].as_array().unwrap();
    let by_name = |n: &str| files.iter().find(|f| f["input"].as_str().unwrap().ends_with(n)).unwrap().clone();
    assert_eq!(by_name("a.mov")["video"]["audio"], "dropped");
    assert_eq!(by_name("b.webm")["video"]["audio"], "none");
    assert_eq!(by_name("b.webm")["video"]["frames"], 10);
    // fast: a full detection at most every 8 frames (more when the picture changes a lot)
    assert_eq!(by_name("b.webm")["video"]["keyframe_interval"], 8);
    let fulls = by_name("b.webm")["video"]["full_detections"].as_u64().unwrap();
    assert!((2..=10).contains(&fulls), "{fulls}");
    assert!(by_name("b.webm")["output"].as_str().unwrap().ends_with("clips/b.mp4"));
    assert!(by_name("astronaut.png").get("video").is_none(), "images have no video entry");

    let out =
        env.unseen().args(["--preset", "fast", "--overwrite", "--audio", "keep", "in/clips/a.mov"]).assert().code(0);
    let err = stderr(out.get_output());
    assert!(err.contains("audio kept in 1 video") && err.contains("voices"), "{err}");
    assert_eq!(streams(&env.out().join("a.mp4")), vec!["video", "audio"]);
}

#[test]
fn issue4_without_ffmpeg_videos_fail_on_one_line_and_images_still_work() {
    let mut env = Env::new();
    let scratch = tempfile::tempdir().unwrap();
    let mp4 = clip(scratch.path(), "a.mp4", &["-f", "lavfi", "-i", "testsrc2=s=160x90:r=10:d=1", "-c:v", "libx264"]);
    let video = env.input_bytes("a.mp4", &mp4);
    let image = env.input("astronaut.png", "astronaut.png");
    let out = env
        .unseen()
        .env("UNSEEN_FFMPEG", "/nonexistent/ffmpeg")
        .env("UNSEEN_FFPROBE", "/nonexistent/ffprobe")
        .args(["--preset", "fast"])
        .arg(&video)
        .arg(&image)
        .assert()
        .code(1);
    let errors = error_lines(out.get_output());
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("a.mp4") && errors[0].contains("ffmpeg"), "{errors:?}");
    assert_eq!(env.outputs(), vec!["astronaut.png"]);
}

#[test]
fn issue6_keyframe_interval_is_checked_against_the_extension() {
    let mut env = Env::new();
    env.input("astronaut.png", "astronaut.png");
    let out = env.unseen().args(["--keyframe-interval", "12", "in"]).assert().code(2);
    let err = stderr(out.get_output());
    assert!(err.contains("keyframe-interval") && err.contains("extend + 1"), "{err}");
    assert!(env.outputs().is_empty());
    env.unseen().args(["--keyframe-interval", "3", "--extend", "2", "in"]).assert().code(0);
    assert_eq!(env.outputs(), vec!["astronaut.png"]);
}
