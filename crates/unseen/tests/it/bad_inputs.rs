//! Issue 5: every file in testdata/bad/ (made by testdata/make_bad.sh: empty, garbage, truncated
//! at several offsets, decompression-bomb headers, animations, unsupported JPEG processes, a
//! two-page TIFF, broken and frameless videos) must be refused with a one-line error naming the
//! file: no panic, nothing under the output folder (not even a temp file), the input unchanged.
//! Fuzzing reproducers (testdata/regression/) are replayed by fuzz_corpus.rs. In the style of
//! image-rs tests/bad_images.rs and tests/regression.rs.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use unseen::inputs::Job;
use unseen::regions::ManualRegions;
use unseen::report::Status;
use unseen::{Options, Pipeline, Preset};

use crate::common::{options, testdata};

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.flatten().map(|e| e.path()).filter(|p| p.is_file()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

fn all_files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(all_files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// What a few families of bad files must be refused as (the rest: any clean error).
fn expected_words(name: &str) -> Option<&'static str> {
    if name.starts_with("dims_") {
        Some("refused by limits")
    } else if name.starts_with("animated") || name == "two_pages.tif" || name == "heif_sequence.heic" {
        Some("unsupported input")
    } else if name.starts_with("empty") && !name.ends_with(".mp4") {
        Some("empty")
    } else {
        None
    }
}

#[test]
fn issue5_every_bad_file_is_refused_cleanly() {
    let p = Pipeline::new(Options { preset: Preset::Fast, ..options() }).unwrap();
    let bad = files_in(&testdata("bad"));
    assert!(bad.len() >= 25, "testdata/bad has {} files (run testdata/make_bad.sh)", bad.len());
    let dir = tempfile::tempdir().unwrap();
    let mut table = Vec::new();
    for (i, src) in bad.iter().enumerate() {
        let name = src.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(src).unwrap();
        let input = dir.path().join(format!("in-{i}")).join(&name);
        std::fs::create_dir_all(input.parent().unwrap()).unwrap();
        std::fs::write(&input, &bytes).unwrap();
        let out_dir = dir.path().join(format!("out-{i}"));
        let job = Job { input: input.clone(), output: out_dir.join(&name), names: vec![name.clone()] };

        let report =
            catch_unwind(AssertUnwindSafe(|| p.run_job(&job))).unwrap_or_else(|_| panic!("{name}: unseen panicked"));
        assert_eq!(report.status, Status::Error, "{name}: must be refused, got {report:?}");
        let msg = report.error.unwrap_or_default();
        assert!(msg.contains(&*input.to_string_lossy()), "{name}: error names the file: {msg}");
        assert!(!msg.contains('\n') && !msg.is_empty(), "{name}: one line: {msg:?}");
        if let Some(words) = expected_words(&name) {
            assert!(msg.contains(words), "{name}: expected {words:?} in {msg}");
        }
        assert_eq!(all_files_under(&out_dir), Vec::<PathBuf>::new(), "{name}: nothing may be written");
        assert_eq!(Sha256::digest(std::fs::read(&input).unwrap()), Sha256::digest(&bytes), "{name}: input modified");
        // the in-memory entry refuses the image cases too (videos are file-only)
        if !unseen::video::has_video_extension(&input) {
            let r = catch_unwind(AssertUnwindSafe(|| p.process_bytes(&input, &bytes, &ManualRegions::default())))
                .unwrap_or_else(|_| panic!("{name}: process_bytes panicked"));
            assert!(r.is_err(), "{name}: process_bytes accepted it");
        }
        table.push(format!("{name}: {}", msg.replace(&*input.to_string_lossy(), "")));
    }
    println!("{} bad inputs refused:\n{}", table.len(), table.join("\n"));
}
