//! Memory admission in batches (`unseen::budget`): a tight budget runs the files one at a time,
//! and every one is still written; image sizes for the estimate come from headers alone.

use unseen::decode::image_dimensions;
use unseen::report::Status;
use unseen::{NoReporter, Options, Pipeline};

use crate::common::{read, testdata, SEED};
use crate::video::job;

#[test]
fn a_memory_budget_smaller_than_one_file_runs_the_batch_one_file_at_a_time() {
    let out = tempfile::tempdir().unwrap();
    let inputs = ["astronaut.png", "camera.png", "good/no_faces.png"];
    let jobs: Vec<_> = inputs.iter().map(|n| job(&testdata(n), out.path())).collect();
    let p = Pipeline::new(Options { noise_seed: Some(SEED), memory_budget: Some(1), ..Options::default() }).unwrap();
    let reports = p.run_batch(&jobs, 3, &NoReporter);
    for r in &reports {
        assert_eq!(r.status, Status::Ok, "{}: {:?}", r.input, r.error);
    }
    assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 3, "every file written");
    assert_eq!(p.memory_budget().peak_leases(), 1, "never two files in flight under a 1-byte budget");
    assert_eq!(p.memory_budget().limit(), 1);
}

#[test]
fn with_room_for_all_the_files_run_at_once_under_the_budget() {
    let out = tempfile::tempdir().unwrap();
    let inputs = ["astronaut.png", "camera.png"];
    let jobs: Vec<_> = inputs.iter().map(|n| job(&testdata(n), out.path())).collect();
    let p =
        Pipeline::new(Options { noise_seed: Some(SEED), memory_budget: Some(u64::MAX), ..Options::default() }).unwrap();
    let reports = p.run_batch(&jobs, 2, &NoReporter);
    assert!(reports.iter().all(|r| r.status == Status::Ok));
    assert_eq!(p.memory_budget().waited(), 0, "nobody waits when everything fits");
    assert!(p.memory_budget().peak_leases() >= 1);
}

#[test]
fn a_zero_memory_budget_is_refused() {
    let e = Pipeline::new(Options { memory_budget: Some(0), ..Options::default() }).err().expect("refused");
    assert!(e.to_string().contains("max-memory"), "{e}");
}

#[test]
fn image_sizes_for_the_estimate_come_from_headers() {
    let dims = |rel: &str| image_dimensions(&testdata(rel), &read(rel));
    assert_eq!(dims("astronaut.png"), Some((512, 512)));
    // stored size, before the EXIF rotation: the same number of pixels as the upright image
    let upright = crate::common::decode("good/exif_orient_6.jpg").rgb;
    let (w, h) = dims("good/exif_orient_6.jpg").expect("JPEG header");
    assert_eq!((h, w), upright.dimensions(), "orientation 6 turns the stored image a quarter");
    if cfg!(feature = "heif") {
        let heic = crate::common::decode("good/astronaut_10bit.heic").rgb;
        assert_eq!(dims("good/astronaut_10bit.heic").map(|(w, h)| w * h), Some(heic.width() * heic.height()));
    }
    assert_eq!(image_dimensions(&testdata("x.png"), b"\x89PNG\r\n\x1a\n garbage"), None);
}
