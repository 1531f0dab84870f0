//! Issue 11: a folder copied off a phone goes through `unseen folder --out out` with every media
//! file written and verified or named as failed, nothing silently dropped, and the summary
//! accounting for every file. Issue 15: special files and control characters in names.

use serde_json::Value;

use crate::env::{error_lines, read, stderr, Env};

fn ffmpeg_clip(path: &std::path::Path) {
    let ok = std::process::Command::new("ffmpeg")
        .args(["-hide_banner", "-v", "error", "-y", "-nostdin", "-f", "lavfi", "-i", "testsrc2=s=160x120:r=10:d=1"])
        .args(["-c:v", "libx264", "-pix_fmt", "yuv420p", "-f", "mov"])
        .arg(path)
        .status()
        .expect("ffmpeg");
    assert!(ok.success());
}

#[test]
fn issue11_a_phone_folder_is_processed_and_every_file_accounted_for() {
    let mut env = Env::new();
    env.input("good/canary.heic", "DCIM/IMG_0001.HEIC");
    // a Live Photo pair: the same name for the still and the clip, both processed, kept apart
    let scratch = tempfile::tempdir().unwrap();
    let mov = scratch.path().join("clip.mov");
    ffmpeg_clip(&mov);
    env.input_bytes("DCIM/IMG_0001.MOV", &read(&mov));
    env.input("good/astronaut.jpg", "DCIM/IMG_0002.JPG");
    env.input("good/astronaut.avif", "DCIM/IMG_0003.avif");
    env.input("good/astronaut_still.gif", "Telegram/sticker.gif");
    env.input("good/astronaut_animated.gif", "Telegram/animation.gif");
    env.input("good/astronaut.jpg", "Telegram/photo_2026.dat"); // a JPEG by content
    env.input_bytes("notes.txt", b"meeting at 5");
    env.input_bytes("DCIM/IMG_0004.DNG", b"II*\0\x08\0\0\0"); // camera RAW: named as failed
    env.input("bad/animated.webp", "Telegram/sticker2.webp"); // animated WebP: named as failed

    let out = env.unseen().args(["--preset", "fast", "--report", "report.json", "in"]).output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "a file could not be processed: exit 1\n{err}");
    let mut want = vec![
        "DCIM/IMG_0001.jpg",
        "DCIM/IMG_0001.mp4",
        "DCIM/IMG_0002.JPG",
        "DCIM/IMG_0003.jpg",
        "Telegram/animation.mp4",
        "Telegram/photo_2026.jpg",
        "Telegram/sticker.png",
    ];
    want.sort_unstable();
    assert_eq!(env.outputs(), want, "{err}");
    let errors = error_lines(&out);
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors.iter().any(|l| l.contains("IMG_0004.DNG") && l.contains("camera RAW")), "{errors:?}");
    assert!(errors.iter().any(|l| l.contains("sticker2.webp") && l.contains("animated WebP")), "{errors:?}");
    assert!(err.contains("7 written, 0 skipped (output exists), 2 failed, 1 other file not processed"), "{err}");

    let report: Value = serde_json::from_slice(&read(&env.path("report.json"))).unwrap();
    assert_eq!(report["files"].as_array().unwrap().len(), 9);
    assert_eq!(report["other_files"], serde_json::json!(["in/notes.txt"]));
}

#[cfg(unix)]
#[test]
fn issue15_a_fifo_is_refused_at_once_and_names_are_escaped_on_the_terminal() {
    let mut env = Env::new();
    env.input("good/no_faces.png", "ok.png");
    let evil = "x\u{1b}[2J\u{1b}]0;pwned\u{7}.jpg";
    env.input_bytes(evil, b"not an image");
    let fifo = env.path("in/pipe.jpg");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status().is_ok_and(|s| s.success());
    assert!(made, "mkfifo");
    // named on the command line and found in the folder: refused, nothing blocks (timeout)
    let out = env.unseen().timeout(std::time::Duration::from_secs(60)).arg(&fifo).arg("in").output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(!err.contains('\u{1b}') && !err.contains('\u{7}'), "raw control characters printed: {err:?}");
    assert!(err.contains("x\\u{1b}[2J\\u{1b}]0;pwned\\u{7}.jpg"), "the name is shown escaped: {err}");
    let fifo_lines = error_lines(&out).into_iter().filter(|l| l.contains("pipe.jpg")).count();
    assert_eq!(fifo_lines, 2, "{err}");
    assert!(err.contains("named pipe (FIFO), not a regular file"), "{err}");
    assert_eq!(env.outputs(), ["ok.png"]);
}
