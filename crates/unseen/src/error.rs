//! The library's one error type. Every variant that concerns a file names it, and the
//! message says which stage of the pipeline failed.

use std::path::{Path, PathBuf};

/// Result alias used throughout the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while processing one input. Variants are grouped by who is at
/// fault: the file system, the input file, the limits, the model, the options, or unseen itself
/// (encode/verify failures mean the output could not be proven clean and was not written).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading, writing or renaming a file failed.
    #[error("{}: {op}: {cause}", path.display())]
    Io {
        /// The path the operation was applied to.
        path: PathBuf,
        /// What was being done (e.g. "read input", "create temp file").
        op: &'static str,
        /// The underlying error.
        cause: std::io::Error,
    },
    /// The input could not be decoded (corrupt, truncated, empty).
    #[error("{}: decode: {cause}", path.display())]
    Decode {
        /// The input.
        path: PathBuf,
        /// Why decoding failed.
        cause: String,
    },
    /// The input is of a kind unseen does not handle (format, animation, pages).
    #[error("{}: unsupported input: {what}", path.display())]
    Unsupported {
        /// The input.
        path: PathBuf,
        /// What is unsupported.
        what: String,
    },
    /// The input exceeds a configured resource limit (decompression-bomb guard).
    #[error("{}: refused by limits: {what}", path.display())]
    Limits {
        /// The input.
        path: PathBuf,
        /// Which limit and by how much.
        what: String,
    },
    /// The embedded detector could not be loaded or run.
    #[error("{}: detect: {cause}", path.display())]
    Detect {
        /// The input being processed (or the model for load errors).
        path: PathBuf,
        /// The underlying error (tract errors are flattened to text).
        cause: String,
    },
    /// Encoding the obscured pixels failed.
    #[error("{}: encode: {cause}", path.display())]
    Encode {
        /// The input.
        path: PathBuf,
        /// Why encoding failed.
        cause: String,
    },
    /// The written output could not be proven clean; nothing was committed.
    #[error("{}: verify: {cause}", path.display())]
    Verify {
        /// The input.
        path: PathBuf,
        /// What the verifier found.
        cause: String,
    },
    /// The run was asked to stop ([`crate::Pipeline::stop_flag`], e.g. Ctrl-C) before this file
    /// was finished; nothing was written for it.
    #[error("{}: interrupted before it was finished: nothing written", path.display())]
    Interrupted {
        /// The input.
        path: PathBuf,
    },
    /// The manual-regions file is malformed.
    #[error("{}: regions file: {cause}", path.display())]
    Regions {
        /// The regions file.
        path: PathBuf,
        /// What is wrong with it.
        cause: String,
    },
    /// An option has a value outside its valid range.
    #[error("invalid option {name}: {value} (expected {expected})")]
    InvalidOptions {
        /// Option name.
        name: &'static str,
        /// The value given.
        value: String,
        /// What was expected.
        expected: &'static str,
    },
    /// Input and output would be the same file: refused so that originals are never touched.
    #[error("{}: output would overwrite an input", path.display())]
    OutputIsInput {
        /// The input.
        path: PathBuf,
    },
}

impl Error {
    pub(crate) fn io(path: &Path, op: &'static str, cause: std::io::Error) -> Self {
        Error::Io { path: path.to_path_buf(), op, cause }
    }
    pub(crate) fn decode(path: &Path, cause: impl std::fmt::Display) -> Self {
        Error::Decode { path: path.to_path_buf(), cause: cause.to_string() }
    }
    pub(crate) fn unsupported(path: &Path, what: impl Into<String>) -> Self {
        Error::Unsupported { path: path.to_path_buf(), what: what.into() }
    }
    pub(crate) fn limits(path: &Path, what: impl Into<String>) -> Self {
        Error::Limits { path: path.to_path_buf(), what: what.into() }
    }
    pub(crate) fn detect(path: &Path, cause: impl std::fmt::Display) -> Self {
        Error::Detect { path: path.to_path_buf(), cause: format!("{cause:#}") }
    }
    pub(crate) fn encode(path: &Path, cause: impl std::fmt::Display) -> Self {
        Error::Encode { path: path.to_path_buf(), cause: cause.to_string() }
    }
    pub(crate) fn verify(path: &Path, cause: impl Into<String>) -> Self {
        Error::Verify { path: path.to_path_buf(), cause: cause.into() }
    }
    pub(crate) fn interrupted(path: &Path) -> Self {
        Error::Interrupted { path: path.to_path_buf() }
    }

    /// What kind of error this is, as a stable word for reports and bindings (the Python
    /// package maps it to an exception class): `io`, `output-is-input`, `decode`,
    /// `unsupported`, `limits`, `detect`, `encode`, `verify`, `interrupted`, `regions` or
    /// `options`.
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Io { .. } => "io",
            Error::OutputIsInput { .. } => "output-is-input",
            Error::Decode { .. } => "decode",
            Error::Unsupported { .. } => "unsupported",
            Error::Limits { .. } => "limits",
            Error::Detect { .. } => "detect",
            Error::Encode { .. } => "encode",
            Error::Verify { .. } => "verify",
            Error::Interrupted { .. } => "interrupted",
            Error::Regions { .. } => "regions",
            Error::InvalidOptions { .. } => "options",
        }
    }

    /// The pipeline stage the error belongs to, as a short word for reports.
    #[must_use]
    pub fn stage(&self) -> &'static str {
        match self {
            Error::Io { .. } | Error::OutputIsInput { .. } => "io",
            Error::Decode { .. } | Error::Unsupported { .. } | Error::Limits { .. } => "decode",
            Error::Detect { .. } => "detect",
            Error::Encode { .. } => "encode",
            Error::Verify { .. } => "verify",
            Error::Interrupted { .. } => "interrupted",
            Error::Regions { .. } | Error::InvalidOptions { .. } => "options",
        }
    }
}
