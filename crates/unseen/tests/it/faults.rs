//! Fail closed: every injected fault ends in an error, and through `process_job` no file appears
//! under the final name and no temporary file is left behind.

use std::path::{Path, PathBuf};

use unseen::inputs::Job;
use unseen::regions::ManualRegions;
use unseen::report::Status;
use unseen::{Fault, Options, Pipeline, Preset};

use crate::common::{options, read};

/// Every fault, by the names `UNSEEN_TEST_FAULT` accepts, with the stage that must report it.
/// `expected_stage` matches exhaustively, so a new variant does not compile until it is added.
const FAULTS: [&str; 6] = ["detect", "encode", "skip-obscure", "trailer", "corrupt", "sandbox-probe"];

fn expected_stage(f: Fault) -> &'static str {
    match f {
        Fault::Detect => "detect",
        Fault::Encode => "encode",
        Fault::SkipObscure | Fault::Trailer | Fault::Corrupt => "verify",
        // the probe replaces decoding (its result is the error message)
        Fault::SandboxProbe => "decode",
        Fault::Random(_) => unreachable!("a mix of the faults above, resolved per input"),
    }
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files_under(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// A job for a copy of `fixture` in a fresh temp dir: (dir guard, job).
fn job_for(fixture: &str) -> (tempfile::TempDir, Job) {
    let dir = tempfile::tempdir().unwrap();
    let name = Path::new(fixture).file_name().unwrap();
    let input = dir.path().join("in").join(name);
    std::fs::create_dir_all(input.parent().unwrap()).unwrap();
    std::fs::write(&input, read(fixture)).unwrap();
    let output = dir.path().join("out").join(name);
    let names = vec![input.to_string_lossy().into_owned(), name.to_string_lossy().into_owned()];
    (dir, Job { input, output, names })
}

#[test]
fn every_fault_fails_closed() {
    let faults: Vec<Fault> = FAULTS.iter().map(|n| Fault::parse(n).unwrap_or_else(|| panic!("{n}"))).collect();
    assert_eq!(Fault::parse("nonsense"), None);
    // fast preset: one pass is enough to find the astronaut's face
    let mut p = Pipeline::new(Options { preset: Preset::Fast, ..options() }).unwrap();
    for fixture in ["astronaut.png", "good/astronaut.jpg"] {
        // control: without a fault the same job writes its output
        p.inject_fault(None);
        let (dir, job) = job_for(fixture);
        let report = p.run_job(&job);
        assert_eq!(report.status, Status::Ok, "{fixture}: {:?}", report.error);
        assert!(!report.faces.is_empty(), "{fixture}: the fault tests need a face");
        assert_eq!(files_under(&dir.path().join("out")), vec![job.output.clone()]);

        for &fault in &faults {
            p.inject_fault(Some(fault));
            let what = format!("{fixture} with {fault:?}");
            let Err(e) = p.process_bytes(Path::new(fixture), &read(fixture), &ManualRegions::default()) else {
                panic!("{what}: process_bytes succeeded");
            };
            assert_eq!(e.stage(), expected_stage(fault), "{what}: {e}");

            let (dir, job) = job_for(fixture);
            let Err(e) = p.process_job(&job) else { panic!("{what}: process_job succeeded") };
            assert_eq!(e.stage(), expected_stage(fault), "{what}: {e}");
            assert!(e.to_string().contains(&*job.input.to_string_lossy()), "{what}: error names the input: {e}");
            assert!(!job.output.exists(), "{what}: output written");
            assert_eq!(files_under(&dir.path().join("out")), Vec::<PathBuf>::new(), "{what}: files left behind");
            assert_eq!(std::fs::read(&job.input).unwrap(), read(fixture), "{what}: input modified");
        }
    }
}

/// `random:SEED` (the soak run's mix): about one input in four gets one of the faults, chosen
/// from a hash of the seed and the path; exactly those fail, the others are written.
#[test]
fn a_random_fault_mix_fails_exactly_the_chosen_inputs() {
    use sha2::{Digest, Sha256};
    assert_eq!(Fault::parse("random:7"), Some(Fault::Random(7)));
    assert_eq!(Fault::parse("random:x"), None);
    let mut p = Pipeline::new(Options { preset: Preset::Fast, ..options() }).unwrap();
    p.inject_fault(Some(Fault::Random(3)));
    let bytes = read("astronaut.png");
    let mut chosen = 0;
    for i in 0..16 {
        let name = format!("in/photo-{i}.png");
        let h = Sha256::new().chain_update(3u64.to_le_bytes()).chain_update(name.as_bytes()).finalize();
        let faulted = usize::from(h[0]) % 20 < 5;
        chosen += usize::from(faulted);
        let r = p.process_bytes(Path::new(&name), &bytes, &ManualRegions::default());
        assert_eq!(r.is_err(), faulted, "{name}: {:?}", r.err());
    }
    assert!((1..16).contains(&chosen), "{chosen} of 16 chosen: the mix should hit some, not all");
}
