//! See `unseen_fuzz::decode_image` (fuzz/targets.rs) for what this target checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| unseen_fuzz::decode_image(data));
