//! The library's integration tests: one binary (see STYLE.md section 5). They read fixtures from
//! testdata/ (see testdata/README.md) and never write there.

mod backends;
mod bad_inputs;
mod budget;
mod changing;
mod common;
mod decoding;
mod detection;
mod extras;
mod faults;
mod fuzz_corpus;
mod model;
mod phone_formats;
mod phone_video;
mod pixels;
mod temp_files;
mod video;
