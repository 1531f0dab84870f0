//! Issue 15: an input that changes while it is read (a download still arriving, a sync client,
//! a writer racing unseen) is refused: its pixels belong to no single version of the file.

use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use image::{Rgb, RgbImage};
use unseen::inputs::Job;
use unseen::report::Status;
use unseen::Reporter;

use crate::video::{default_pipeline, encode, files_in, job};

/// Appends to the input the first time frames are reported: the file grows mid-read.
struct Grow<'a> {
    path: &'a Path,
    done: AtomicBool,
}

impl Reporter for Grow<'_> {
    fn on_frames(&self, _job: &Job, _done: u64, _total: Option<u64>) {
        if !self.done.swap(true, Ordering::SeqCst) {
            let mut f = std::fs::OpenOptions::new().append(true).open(self.path).unwrap();
            f.write_all(&[0u8; 4096]).unwrap();
        }
    }
}

#[test]
fn issue15_a_video_that_grows_while_it_is_read_is_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("clip.mp4");
    let frames: Vec<RgbImage> = (0..12u8).map(|i| RgbImage::from_pixel(64, 48, Rgb([i * 20, 90, 160]))).collect();
    encode(&frames, 10, &input, &[]);
    let out = dir.path().join("out");
    let grow = Grow { path: &input, done: AtomicBool::new(false) };
    let report = default_pipeline().run_job_with(&job(&input, &out), &grow);
    assert!(grow.done.load(Ordering::SeqCst), "the reporter never ran: the test proves nothing");
    assert_eq!(report.status, Status::Error, "{report:?}");
    let e = report.error.unwrap();
    assert!(e.contains("clip.mp4: read input: input changed while being read"), "{e}");
    assert!(files_in(&out).is_empty(), "{:?}", files_in(&out));

    // control: the same clip, left alone, is written
    let report = default_pipeline().run_job(&job(&input, &out));
    assert_eq!(report.status, Status::Ok, "{:?}", report.error);
}
