//! `Pipeline::process_bytes`: any bytes in, verified bytes out or an error; never a panic.
//! Outputs are checked once more: they must pass the container allow-list of their format.
#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use unseen::regions::ManualRegions;
use unseen::{Limits, Options, Pipeline, Preset};

fn pipeline() -> &'static Pipeline {
    static P: OnceLock<Pipeline> = OnceLock::new();
    P.get_or_init(|| {
        // small limits keep each execution fast; the limit checks themselves are exercised too
        let limits = Limits { max_pixels: 1 << 18, max_file_bytes: 1 << 20, max_alloc: 64 << 20 };
        let options =
            Options { preset: Preset::Fast, detector_threads: 1, noise_seed: Some(1), limits, ..Options::default() };
        Pipeline::new(options).expect("pipeline")
    })
}

fuzz_target!(|data: &[u8]| {
    if let Ok(prepared) = pipeline().process_bytes(Path::new("fuzz"), data, &ManualRegions::default()) {
        assert!(unseen::verify::check_container(prepared.kind, &prepared.bytes).is_ok());
    }
});
