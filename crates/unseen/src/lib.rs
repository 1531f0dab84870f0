//! # unseen
//!
//! Makes photos and videos safe to publish: finds every face, obscures it irreversibly, writes a fresh file
//! without any metadata, re-reads and verifies what it wrote, and only then renames it into place.
//!
//! The stages, one module each, run in this order:
//! [`decode`] → [`detect`] → [`obscure`] → [`encode`] → [`verify`] → [`commit`].
//! [`Pipeline`] strings them together; the CLI (`unseen`) is a thin layer over it. Between
//! detection and rendering sits the [`plan`]: what was detected, what a person decided, and
//! from those the exact regions to obscure.
//!
//! Videos take the same path frame by frame through ffmpeg pipes, with [`track`] linking
//! detections over time so that a face missed in a few frames is still covered: see [`video`].
//! In a batch, [`budget`] decides how many files are in flight at once by their estimated memory.
//!
//! ```no_run
//! use unseen::{inputs::collect_jobs, NoReporter, Options, Pipeline};
//! use std::path::{Path, PathBuf};
//!
//! let pipeline = Pipeline::new(Options::default())?;
//! let (jobs, _problems) = collect_jobs(&[PathBuf::from("photos")], Path::new("unseen-out"));
//! for report in pipeline.run_batch(&jobs, 2, &NoReporter) {
//!     println!("{} {:?} {} faces", report.input, report.status, report.faces.len());
//! }
//! # Ok::<(), unseen::Error>(())
//! ```
#![deny(missing_docs)]

pub mod budget;
pub mod commit;
pub mod decode;
pub mod detect;
pub mod encode;
mod error;
pub mod eval;
pub mod geom;
pub mod inputs;
pub mod obscure;
mod options;
mod pipeline;
pub mod plan;
pub mod regions;
pub mod report;
pub mod sandbox;
pub mod track;
pub mod verify;
pub mod video;

pub use error::{Error, Result};
pub use options::{Audio, Backend, Limits, Mode, Options, People, Preset, Shape, MAX_SAFE_GRID};
pub use pipeline::{Fault, ModelUse, NoReporter, Pipeline, Prepared, Reporter, WORKER_STACK};

/// sha256 of the embedded detector model.
pub const MODEL_SHA256: &str = detect::model::MODEL_SHA256;
