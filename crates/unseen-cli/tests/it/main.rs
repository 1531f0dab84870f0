//! End-to-end tests of the `unseen` binary: one integration-test binary (see STYLE.md section 5).
//! Each test works in a fresh temporary folder on copies of testdata/ fixtures and checks at the
//! end that no input was modified.

mod backend;
mod batch;
mod dirty;
mod env;
mod exit_codes;
mod faults;
mod hostile;
mod interrupt;
mod metadata;
mod phone_folder;
mod regions;
mod report;
mod sandbox;
mod traces;
mod video;
