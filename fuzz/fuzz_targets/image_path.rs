//! See `unseen_fuzz::image_path` (fuzz/targets.rs) for what this target checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| unseen_fuzz::image_path(data));
