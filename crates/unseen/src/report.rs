//! Per-file and per-batch reports (serialised as the CLI's `--report` JSON).

use serde::Serialize;

use crate::detect::{Detection, Kind};

/// Outcome of one input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// A verified output was written.
    Ok,
    /// The output already existed and was left alone.
    Skipped,
    /// No output was written; see `error`.
    Error,
}

/// What happened to one input.
#[derive(Debug, Clone, Serialize)]
pub struct FileReport {
    /// The input path (lossy UTF-8 for display).
    pub input: String,
    /// The output path, when one was planned.
    pub output: Option<String>,
    /// Outcome.
    pub status: Status,
    /// The error, one line naming the file and the stage, when `status` is `error`.
    pub error: Option<String>,
    /// The stage that failed, when `status` is `error`.
    pub stage: Option<&'static str>,
    /// What kind of error it was (see [`crate::Error::kind`]), when `status` is `error`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_kind: Option<&'static str>,
    /// Detected faces (source pixels, before the margin), after ignore regions.
    pub faces: Vec<Detection>,
    /// Images, with `--text`: text regions found and obscured (source pixels, before padding).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub text: Vec<Detection>,
    /// Images, with `--people`: people found (whole person boxes, before the region rule).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub people: Vec<Detection>,
    /// Number of manual regions obscured.
    pub manual_regions: usize,
    /// Seconds spent on this input.
    pub seconds: f64,
    /// Video details (absent for images).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video: Option<VideoReport>,
}

impl FileReport {
    /// A report for `input` with nothing done yet (status `skipped` until set).
    #[must_use]
    pub fn new(input: &std::path::Path, output: Option<&std::path::Path>) -> FileReport {
        FileReport {
            input: input.to_string_lossy().into_owned(),
            output: output.map(|o| o.to_string_lossy().into_owned()),
            status: Status::Skipped,
            error: None,
            stage: None,
            error_kind: None,
            faces: Vec::new(),
            text: Vec::new(),
            people: Vec::new(),
            manual_regions: 0,
            seconds: 0.0,
            video: None,
        }
    }

    /// Sorts what was found into `faces`, `text` and `people` by kind.
    pub fn set_found(&mut self, found: Vec<Detection>) {
        for d in found {
            match d.kind {
                Kind::Face => self.faces.push(d),
                Kind::Text => self.text.push(d),
                Kind::Person => self.people.push(d),
            }
        }
    }

    /// Records `e` as this input's failure: status `error`, the one-line message, stage and kind.
    pub fn fail(&mut self, e: &crate::Error) {
        self.status = Status::Error;
        self.stage = Some(e.stage());
        self.error_kind = Some(e.kind());
        self.error = Some(e.to_string());
    }
}

/// What happened to a video input.
#[derive(Debug, Clone, Default, Serialize)]
pub struct VideoReport {
    /// Frames decoded, obscured and encoded.
    pub frames: u64,
    /// Face tracks (one face followed across frames) obscured.
    pub face_tracks: usize,
    /// With `--text`: text tracks (one plate or sign followed across frames) obscured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text_tracks: Option<usize>,
    /// With `--people`: person tracks obscured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub person_tracks: Option<usize>,
    /// Frames that got a full detection (all passes over the whole frame); the others were
    /// detected only around tracked faces.
    pub full_detections: u64,
    /// The most frames from one full detection to the next that was used.
    pub keyframe_interval: u32,
    /// Face detections over all frames.
    pub detections: u64,
    /// Frames with at least one obscured region.
    pub covered_frames: u64,
    /// Output width and height.
    pub width: u32,
    /// Output height.
    pub height: u32,
    /// Display rotation of the input (degrees) that was applied to the pixels.
    pub rotation: i64,
    /// `kept` (re-encoded AAC), `dropped`, or `none` (the input had no audio).
    pub audio: &'static str,
    /// Input streams left out (subtitles, data/telemetry, attachments, cover art, extra audio/video).
    pub dropped_streams: usize,
}

/// A whole batch.
#[derive(Debug, Clone, Serialize)]
pub struct BatchReport {
    /// The tool version.
    pub version: &'static str,
    /// sha256 of the embedded face detector.
    pub model_sha256: &'static str,
    /// Every embedded model that ran (faces always; text and people when asked for).
    pub models: Vec<crate::pipeline::ModelUse>,
    /// The inference engine that ran the detector: "tract" or "onnxruntime" (`options.backend`
    /// says what was asked for).
    pub backend: &'static str,
    /// The options used.
    pub options: crate::Options,
    /// One entry per input, in input order.
    pub files: Vec<FileReport>,
    /// Files found in input folders that are neither images nor videos (by name and content):
    /// not processed, listed so that nothing is skipped silently.
    pub other_files: Vec<String>,
}

impl BatchReport {
    /// Counts of (ok, skipped, error).
    #[must_use]
    pub fn counts(&self) -> (usize, usize, usize) {
        let c = |s| self.files.iter().filter(|f| f.status == s).count();
        (c(Status::Ok), c(Status::Skipped), c(Status::Error))
    }
}
