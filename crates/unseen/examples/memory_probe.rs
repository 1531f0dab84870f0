//! Runs the library's pipeline on the inputs given, with the system allocator, for a heap
//! profiler (`bench/memory_breakdown.py` runs it under heaptrack). The `unseen` binary uses
//! mimalloc, whose memory heaptrack cannot see; this program makes the same calls with the
//! options the speed benchmark uses (tract, solid boxes), one file at a time.
//!
//! usage: `memory_probe INPUT OUT_DIR [fast|balanced|thorough]` (the preset; default balanced)

use std::path::{Path, PathBuf};

use unseen::{inputs::collect_jobs, Backend, Mode, NoReporter, Options, Pipeline, Preset, Shape};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (input, out, preset) = match args.as_slice() {
        [_, input, out] => (input, out, Preset::Balanced),
        [_, input, out, p] if p == "fast" => (input, out, Preset::Fast),
        [_, input, out, p] if p == "balanced" => (input, out, Preset::Balanced),
        [_, input, out, p] if p == "thorough" => (input, out, Preset::Thorough),
        _ => {
            eprintln!("usage: memory_probe INPUT OUT_DIR [fast|balanced|thorough]");
            std::process::exit(2);
        }
    };
    let options =
        Options { mode: Mode::Solid, shape: Shape::Box, backend: Backend::Tract, preset, ..Options::default() };
    let pipeline = match Pipeline::new(options) {
        Ok(p) => p.with_overwrite(true),
        Err(e) => {
            eprintln!("memory_probe: {e}");
            std::process::exit(1);
        }
    };
    let (jobs, problems) = collect_jobs(&[PathBuf::from(input)], Path::new(out));
    let mut failed = !problems.is_empty();
    for report in pipeline.run_batch(&jobs, 1, &NoReporter) {
        println!("{}: {:?}", report.input, report.status);
        failed |= report.error.is_some();
    }
    std::process::exit(i32::from(failed));
}
