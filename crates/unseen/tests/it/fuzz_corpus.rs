//! Issue 15: the fuzz targets' code (`fuzz/targets.rs`, included here) is compiled with the
//! tests, so it stays buildable, and every committed corpus input (`fuzz/corpus/<target>/`) and
//! crash reproducer (`testdata/regression/<target>/`) is replayed through its target: a panic or
//! a broken property fails the test and names the file. Reproducers at the top of
//! `testdata/regression/` go through `process_bytes`, `image_path` and `check_container`.

use std::panic::catch_unwind;
use std::path::{Path, PathBuf};

#[path = "../../../../fuzz/targets.rs"]
mod targets;

/// Targets whose seeds are the fixtures in testdata/good and testdata/bad.
const IMAGE_TARGETS: [&str; 4] = ["process_bytes", "image_path", "check_container", "decode_image"];

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(rel)
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.flatten().map(|e| e.path()).filter(|p| p.is_file()).collect())
        .unwrap_or_default();
    v.retain(|p| p.extension().is_none_or(|e| e != "md"));
    v.sort();
    v
}

#[test]
fn issue15_fuzz_corpora_and_reproducers_replay_without_panic() {
    let mut failures = Vec::new();
    let mut counts = Vec::new();
    for (name, target) in targets::TARGETS {
        let mut files = files_in(&repo(&format!("fuzz/corpus/{name}")));
        if IMAGE_TARGETS.contains(name) {
            // their seeds are the image fixtures themselves (not copied into fuzz/corpus)
            files.extend(files_in(&repo("testdata/good")));
            files.extend(files_in(&repo("testdata/bad")));
        }
        assert!(!files.is_empty(), "no inputs for {name}: the target would be replayed on nothing");
        files.extend(files_in(&repo(&format!("testdata/regression/{name}"))));
        if ["process_bytes", "image_path", "check_container"].contains(name) {
            files.extend(files_in(&repo("testdata/regression")));
        }
        for f in &files {
            let bytes = std::fs::read(f).unwrap();
            if catch_unwind(|| target(&bytes)).is_err() {
                failures.push(format!("{name}: {}", f.display()));
            }
        }
        counts.push(format!("{name} {}", files.len()));
    }
    assert!(failures.is_empty(), "fuzz targets failed on:\n{}", failures.join("\n"));
    println!("replayed: {}", counts.join(", "));
}

/// CI builds the fuzz targets' code (`targets.rs`, above) but not the libFuzzer binaries (an
/// instrumented build of tract takes 20–35 min on 2 cores). Each binary is one line that hands
/// libFuzzer's bytes to a function of `targets.rs`, so what can break it is checked here: every
/// binary in `fuzz/fuzz_targets/` is declared in `fuzz/Cargo.toml` and calls a `pub fn` of that
/// name in `targets.rs`, with the signature libFuzzer's macro expects, that is replayed above.
#[test]
fn issue15_every_fuzz_binary_calls_a_target_that_is_compiled_and_replayed() {
    let manifest = std::fs::read_to_string(repo("fuzz/Cargo.toml")).unwrap();
    let lib = std::fs::read_to_string(repo("fuzz/targets.rs")).unwrap();
    let squash = |s: &str| s.split_whitespace().collect::<String>();
    let (manifest, lib) = (squash(&manifest), squash(&lib));
    let mut binaries: Vec<String> = Vec::new();
    for f in files_in(&repo("fuzz/fuzz_targets")) {
        let name = f.file_stem().unwrap().to_str().unwrap().to_string();
        let text = squash(&std::fs::read_to_string(&f).unwrap());
        let call = format!("libfuzzer_sys::fuzz_target!(|data:&[u8]|unseen_fuzz::{name}(data));");
        assert!(text.contains(&call), "{}: does not call unseen_fuzz::{name}(data)", f.display());
        assert!(
            manifest.contains(&format!("[[bin]]name=\"{name}\"path=\"fuzz_targets/{name}.rs\"")),
            "fuzz/Cargo.toml does not declare the binary {name}"
        );
        assert!(lib.contains(&format!("pubfn{name}(data:&[u8])")), "targets.rs has no pub fn {name}(data: &[u8])");
        assert!(lib.contains(&format!("(\"{name}\",{name}),")), "targets.rs's TARGETS does not replay {name}");
        binaries.push(name);
    }
    binaries.sort();
    let mut listed: Vec<String> = targets::TARGETS.iter().map(|(n, _)| (*n).to_string()).collect();
    listed.sort();
    assert_eq!(binaries, listed, "fuzz/fuzz_targets/ and TARGETS differ");
}
