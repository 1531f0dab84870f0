//! See `unseen_fuzz::video_probe` (fuzz/targets.rs) for what this target checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| unseen_fuzz::video_probe(data));
