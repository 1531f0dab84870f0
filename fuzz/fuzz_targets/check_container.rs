//! See `unseen_fuzz::check_container` (fuzz/targets.rs) for what this target checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| unseen_fuzz::check_container(data));
