//! The whole flow for one input: decode → detect → obscure → encode → verify → commit.

use std::path::Path;
use std::time::Instant;

use image::{GrayImage, Luma, RgbImage};
use serde::Serialize;

use crate::budget::{estimate_image, estimate_video, Lease, MemoryBudget};
use crate::commit::{commit, Committed};
use crate::decode::{decode_image, sniff_format, ImageKind};
use crate::detect::people::PersonDetector;
use crate::detect::text::TextDetector;
use crate::detect::{DetectOptions, Detection, Detector};
use crate::error::{Error, Result};
use crate::inputs::Job;
use crate::obscure::{self, Region};
use crate::options::{Mode, Options};
use crate::plan::{ImagePlan, RegionRule};
use crate::regions::{ManualRegions, RegionMap};
use crate::report::{FileReport, Status};
use crate::verify::verify_output;

/// Stack of each batch worker thread: decoders and the detector run on it (the main thread's
/// size, 8 MiB; the default for new threads is 2 MiB). Give it to any thread that runs a job.
pub const WORKER_STACK: usize = 8 << 20;

/// A failure to inject, for tests of the fail-closed paths. Every fault must end in an error
/// and no output; none can make unseen write an unverified file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The detector fails.
    Detect,
    /// The encoder fails.
    Encode,
    /// The obscuring stage silently does nothing (the rule check must catch it).
    SkipObscure,
    /// The encoder appends a metadata trailer (the container check must catch it).
    Trailer,
    /// The encoded pixels are corrupted (the pixel check must catch it).
    Corrupt,
    /// Instead of decoding, do what a compromised decoder would: read the file named by
    /// `UNSEEN_TEST_PROBE_PATH`, connect to `UNSEEN_TEST_PROBE_ADDR` (TCP, then a UDP datagram),
    /// connect to the Unix socket `UNSEEN_TEST_PROBE_UNIX`, start a child that reads the file;
    /// the error says what was allowed (tests of the sandbox, see
    /// [`crate::sandbox::probe`]).
    SandboxProbe,
    /// One of the faults above (all but the sandbox probe) for about one input in four, chosen
    /// from a hash of the seed and the input's path, none for the others: the soak test's mix
    /// (`UNSEEN_TEST_FAULT=random:SEED`).
    Random(u64),
}

impl Fault {
    /// Parses the names used by the `UNSEEN_TEST_FAULT` environment variable.
    #[must_use]
    pub fn parse(s: &str) -> Option<Fault> {
        Some(match s {
            "detect" => Fault::Detect,
            "encode" => Fault::Encode,
            "skip-obscure" => Fault::SkipObscure,
            "trailer" => Fault::Trailer,
            "corrupt" => Fault::Corrupt,
            "sandbox-probe" => Fault::SandboxProbe,
            other => Fault::Random(other.strip_prefix("random:")?.parse().ok()?),
        })
    }
}

/// Receives progress events from a batch. The library never prints; the CLI implements this.
pub trait Reporter: Send + Sync {
    /// An input is about to be processed.
    fn on_start(&self, _job: &Job) {}
    /// An input is finished (ok, skipped or error).
    fn on_done(&self, _report: &FileReport) {}
    /// Video only: `done` frames of `job` are finished, of about `total` (when known).
    fn on_frames(&self, _job: &Job, _done: u64, _total: Option<u64>) {}
}

/// The job with an output name that says the image's format: an output named without an image
/// extension (`photo.mp4`, `scan`) gets the extension of the input's format by content
/// (`photo.jpg`, `scan.png`), like videos get `.mp4`; a misleading name would otherwise hide what
/// the file is.
fn image_job(job: &Job) -> Job {
    if ImageKind::from_extension(&job.output).is_some() {
        return job.clone();
    }
    let mut head = [0u8; 64];
    let n = std::fs::File::open(&job.input).and_then(|mut f| std::io::Read::read(&mut f, &mut head)).unwrap_or(0);
    // not an image unseen writes: decoding will say so
    let Ok(kind) = sniff_format(&job.input, &head[..n]) else { return job.clone() };
    Job { output: job.output.with_extension(kind.extension()), ..job.clone() }
}

/// A reporter that ignores everything.
pub struct NoReporter;
impl Reporter for NoReporter {}

/// An image prepared in memory: encoded bytes plus what is needed to verify them.
pub struct Prepared {
    /// The encoded output.
    pub bytes: Vec<u8>,
    /// Its format.
    pub kind: ImageKind,
    /// Everything found and obscured (after ignore regions), source pixels: faces, and text and
    /// people when asked for (see [`Detection::kind`]).
    pub faces: Vec<Detection>,
    /// Number of manual regions obscured.
    pub manual_regions: usize,
    /// Every obscured region (margin applied, manual regions included).
    pub regions: Vec<Region>,
    intended: RgbImage,
    alpha: Option<GrayImage>,
}

impl Prepared {
    /// Verifies bytes (normally the ones read back from disk) against this preparation.
    ///
    /// # Errors
    /// [`Error::Verify`].
    pub fn verify(&self, path: &Path, bytes: &[u8]) -> Result<()> {
        verify_output(path, bytes, self.kind, &self.intended, self.alpha.as_ref(), &self.regions)
    }
}

/// The image pipeline: options plus a loaded detector. Cloning is cheap (the detector is
/// shared).
#[derive(Clone)]
pub struct Pipeline {
    options: Options,
    detector: std::sync::Arc<Detector>,
    text: Option<std::sync::Arc<TextDetector>>,
    people: Option<std::sync::Arc<PersonDetector>>,
    fault: Option<Fault>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    budget: std::sync::Arc<MemoryBudget>,
}

/// One embedded model a pipeline runs, for reports.
#[derive(Debug, Clone, Serialize)]
pub struct ModelUse {
    /// What it detects: "faces", "face proposals" (the cascade's YuNet), "text" or "people".
    pub detects: &'static str,
    /// The model's file in `models/`.
    pub file: &'static str,
    /// sha256 of the embedded bytes.
    pub sha256: &'static str,
}

impl Pipeline {
    /// Validates the options and loads the embedded detector.
    ///
    /// # Errors
    /// [`Error::InvalidOptions`] or [`Error::Detect`] if the model cannot be loaded (or, with
    /// [`crate::Backend::Ort`], onnxruntime cannot be found or loaded).
    pub fn new(options: Options) -> Result<Pipeline> {
        options.validate()?;
        let detector = Detector::with_backend(options.backend, options.detector_threads)
            .map_err(|e| Error::detect(Path::new("models/centerface.onnx"), e))?;
        let text = if options.text {
            let t = TextDetector::new(options.detector_threads)
                .map_err(|e| Error::detect(Path::new("models/ppocrv4_det.onnx"), e))?;
            Some(std::sync::Arc::new(t))
        } else {
            None
        };
        let people = if options.people.is_some() {
            let p = PersonDetector::new(options.detector_threads)
                .map_err(|e| Error::detect(Path::new("models/yolox_nano.onnx"), e))?;
            Some(std::sync::Arc::new(p))
        } else {
            None
        };
        let budget = options.memory_budget.unwrap_or_else(crate::budget::default_budget);
        Ok(Pipeline {
            options,
            detector: std::sync::Arc::new(detector),
            text,
            people,
            fault: None,
            stop: std::sync::Arc::default(),
            budget: std::sync::Arc::new(MemoryBudget::new(budget)),
        })
    }

    /// The embedded models this pipeline runs (faces always; text and people when asked for).
    #[must_use]
    pub fn models(&self) -> Vec<ModelUse> {
        let mut out =
            vec![ModelUse { detects: "faces", file: "centerface.onnx", sha256: crate::detect::model::MODEL_SHA256 }];
        if self.options.cascade && self.options.preset == crate::Preset::Balanced {
            // proposes where the finest passes run, on images (see `Options::cascade`)
            out.push(ModelUse {
                detects: "face proposals",
                file: "yunet_n.onnx",
                sha256: crate::detect::yunet::MODEL_SHA256,
            });
        }
        if self.text.is_some() {
            out.push(ModelUse { detects: "text", file: "ppocrv4_det.onnx", sha256: crate::detect::text::MODEL_SHA256 });
        }
        if self.people.is_some() {
            out.push(ModelUse {
                detects: "people",
                file: "yolox_nano.onnx",
                sha256: crate::detect::people::MODEL_SHA256,
            });
        }
        out
    }

    /// The same pipeline (same detector) with other manual regions, e.g. decisions made since.
    #[must_use]
    pub fn with_regions(&self, regions: RegionMap) -> Pipeline {
        Pipeline { options: Options { regions, ..self.options.clone() }, ..self.clone() }
    }

    /// The same pipeline with [`Options::overwrite`] set.
    #[must_use]
    pub fn with_overwrite(&self, overwrite: bool) -> Pipeline {
        Pipeline { options: Options { overwrite, ..self.options.clone() }, ..self.clone() }
    }

    /// The flag that asks this pipeline (and its clones) to stop, for a signal handler: once
    /// it is set, a batch starts no new file (those left fail with [`Error::Interrupted`]), a
    /// video stops at its next frame and fails the same way, and images already being processed
    /// are finished and written. Nothing partial is ever committed; temp files are removed.
    #[must_use]
    pub fn stop_flag(&self) -> std::sync::Arc<std::sync::atomic::AtomicBool> {
        self.stop.clone()
    }

    /// Whether [`Pipeline::stop_flag`] is set.
    #[must_use]
    pub fn stop_requested(&self) -> bool {
        self.stop.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The memory budget shared by the files in flight (see [`crate::budget`]).
    #[must_use]
    pub fn memory_budget(&self) -> &MemoryBudget {
        &self.budget
    }

    /// Waits until an image of `pixels` pixels fits in the memory budget beside the files in
    /// flight ([`Error::Interrupted`] when a stop comes first).
    pub(crate) fn admit_image(&self, path: &Path, pixels: u64) -> Result<Lease<'_>> {
        self.budget
            .acquire(estimate_image(pixels, self.has_extras()), &self.stop)
            .ok_or_else(|| Error::interrupted(path))
    }

    /// [`Pipeline::admit_image`] for a video with frames of `frame_pixels` pixels.
    pub(crate) fn admit_video(&self, path: &Path, frame_pixels: u64) -> Result<Lease<'_>> {
        self.budget
            .acquire(estimate_video(frame_pixels, self.has_extras()), &self.stop)
            .ok_or_else(|| Error::interrupted(path))
    }

    /// The options in force.
    #[must_use]
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// The detector, for evaluation and benchmarks.
    #[must_use]
    pub fn detector(&self) -> &Detector {
        &self.detector
    }

    /// Injects a fault into every following call (tests of the fail-closed paths).
    pub fn inject_fault(&mut self, fault: Option<Fault>) {
        self.fault = fault;
    }

    /// Detects faces in upright pixels with the configured preset and threshold, and drops those
    /// whose centre lies in an ignore region.
    ///
    /// # Errors
    /// [`Error::Detect`].
    pub fn detect(&self, path: &Path, rgb: &RgbImage, manual: &ManualRegions) -> Result<Vec<Detection>> {
        Ok(ImagePlan::new(self.detect_all(path, rgb)?, manual.clone()).kept())
    }

    /// Every face in upright pixels (the configured preset and threshold), and the text and
    /// people when asked for, before any decision: what an [`ImagePlan`] starts from.
    ///
    /// # Errors
    /// [`Error::Detect`].
    pub fn detect_all(&self, path: &Path, rgb: &RgbImage) -> Result<Vec<Detection>> {
        let mut all = self.detect_with(path, rgb, &ManualRegions::default(), false)?;
        all.extend(self.detect_extras(path, rgb)?);
        Ok(all)
    }

    /// Text and people in upright pixels, as the options ask (nothing when neither is on),
    /// before any decision. Video runs this on its keyframes (see the `video` module).
    ///
    /// # Errors
    /// [`Error::Detect`].
    pub fn detect_extras(&self, path: &Path, rgb: &RgbImage) -> Result<Vec<Detection>> {
        let mut out = Vec::new();
        if let Some(t) = &self.text {
            out.extend(t.detect(rgb).map_err(|e| Error::detect(path, format!("text detector: {e}")))?);
        }
        if let Some(p) = &self.people {
            let found = p
                .detect(rgb, self.options.people_threshold)
                .map_err(|e| Error::detect(path, format!("person detector: {e}")))?;
            out.extend(found);
        }
        Ok(out)
    }

    /// Whether text or people are detected besides faces.
    #[must_use]
    pub fn has_extras(&self) -> bool {
        self.text.is_some() || self.people.is_some()
    }

    /// [`Pipeline::detect`] for one video frame (the preset's video pass plan).
    ///
    /// # Errors
    /// [`Error::Detect`].
    pub fn detect_frame(&self, path: &Path, rgb: &RgbImage, manual: &ManualRegions) -> Result<Vec<Detection>> {
        self.detect_with(path, rgb, manual, true)
    }

    fn detect_with(&self, path: &Path, rgb: &RgbImage, manual: &ManualRegions, video: bool) -> Result<Vec<Detection>> {
        if self.fault(path) == Some(Fault::Detect) {
            return Err(Error::detect(path, "injected detector failure"));
        }
        let opts = DetectOptions {
            preset: self.options.preset,
            threshold: self.options.threshold,
            video,
            cascade: self.options.cascade,
        };
        let faces = self.detector.detect(rgb, &opts).map_err(|e| Error::detect(path, e))?;
        Ok(faces.into_iter().filter(|d| !manual.ignores(d, None)).collect())
    }

    /// Detects faces in one video frame only inside `windows` (see
    /// [`Detector::detect_windows`]), dropping those in ignore regions.
    ///
    /// # Errors
    /// [`Error::Detect`].
    pub fn detect_windows(
        &self,
        path: &Path,
        rgb: &RgbImage,
        windows: &[crate::track::keyframe::Window],
        manual: &ManualRegions,
    ) -> Result<Vec<Detection>> {
        if self.fault(path) == Some(Fault::Detect) {
            return Err(Error::detect(path, "injected detector failure"));
        }
        let opts = DetectOptions {
            preset: self.options.preset,
            threshold: self.options.threshold,
            video: true,
            cascade: self.options.cascade,
        };
        let faces = self.detector.detect_windows(rgb, windows, &opts).map_err(|e| Error::detect(path, e))?;
        Ok(faces.into_iter().filter(|d| !manual.ignores(d, None)).collect())
    }

    /// The regions to obscure for these detections (see [`RegionRule`]), plus the manual
    /// regions as given.
    #[must_use]
    pub fn regions_for(&self, found: &[Detection], manual: &ManualRegions) -> Vec<Region> {
        RegionRule::of(&self.options).regions(found, manual.obscure_at(None))
    }

    /// Obscures `regions` of `img` with the configured mode and fresh noise (`frame` varies a
    /// test seed per video frame). The only place that renders a plan's regions.
    pub fn obscure(&self, img: &mut RgbImage, regions: &[Region], frame: u64) {
        let mut rng = obscure::noise_rng(self.options.noise_seed.map(|s| s.wrapping_add(frame)));
        obscure::obscure(img, regions, &self.params(), &mut rng);
    }

    /// The fault injected for the input at `path`, if any ([`Fault::Random`] resolved).
    pub(crate) fn fault(&self, path: &Path) -> Option<Fault> {
        use sha2::{Digest, Sha256};
        const MIX: [Fault; 5] = [Fault::Detect, Fault::Encode, Fault::SkipObscure, Fault::Trailer, Fault::Corrupt];
        match self.fault? {
            Fault::Random(seed) => {
                let mut h = Sha256::new();
                h.update(seed.to_le_bytes());
                h.update(path.as_os_str().as_encoded_bytes());
                MIX.get(usize::from(h.finalize()[0]) % (MIX.len() * 4)).copied()
            }
            fault => Some(fault),
        }
    }

    pub(crate) fn params(&self) -> obscure::Params {
        obscure::Params { mode: self.options.mode, grid: self.options.grid, noise: self.options.noise }
    }

    /// Decodes, detects, obscures and encodes an image held in memory. `out_kind` picks the
    /// output format (default: the input's). Nothing is verified yet: see [`Prepared::verify`]
    /// or [`Pipeline::process_bytes`].
    ///
    /// # Errors
    /// Any stage's error, naming `path`.
    pub fn prepare(
        &self,
        path: &Path,
        bytes: &[u8],
        out_kind: Option<ImageKind>,
        manual: &ManualRegions,
    ) -> Result<Prepared> {
        self.prepare_found_by(path, bytes, out_kind, manual, |rgb| self.detect_all(path, rgb))
    }

    /// [`Pipeline::prepare`] with what is found in the decoded pixels supplied by `find`
    /// instead of the detectors; every other stage (limits, decoding, manual regions, the
    /// obscuring rule, encoding) is the same. The `image_path` fuzz target drives the image path
    /// through this at hundreds of inputs per second, with boxes chosen by the fuzzer.
    ///
    /// # Errors
    /// Any stage's error, naming `path`, or `find`'s.
    pub fn prepare_found_by(
        &self,
        path: &Path,
        bytes: &[u8],
        out_kind: Option<ImageKind>,
        manual: &ManualRegions,
        find: impl FnOnce(&RgbImage) -> Result<Vec<Detection>>,
    ) -> Result<Prepared> {
        if bytes.len() as u64 > self.options.limits.max_file_bytes {
            return Err(Error::limits(
                path,
                format!("file is {} bytes, above the limit of {}", bytes.len(), self.options.limits.max_file_bytes),
            ));
        }
        if self.fault(path) == Some(Fault::SandboxProbe) {
            let secret = std::env::var_os("UNSEEN_TEST_PROBE_PATH").unwrap_or_default();
            let addr = std::env::var("UNSEEN_TEST_PROBE_ADDR").unwrap_or_default();
            let unix = std::env::var_os("UNSEEN_TEST_PROBE_UNIX").unwrap_or_default();
            return Err(Error::decode(path, crate::sandbox::probe(Path::new(&secret), &addr, Path::new(&unix))));
        }
        let decoded = decode_image(path, bytes, &self.options.limits)?;
        let kind = out_kind.unwrap_or(decoded.kind);
        let plan = ImagePlan::new(find(&decoded.rgb)?, manual.clone());
        let regions = plan.regions(RegionRule::of(&self.options));
        let faces = plan.kept();
        let mut intended = decoded.rgb.clone();
        if self.fault(path) != Some(Fault::SkipObscure) {
            self.obscure(&mut intended, &regions, 0);
        }
        obscure::check(&decoded.rgb, &intended, &regions, &self.params())
            .map_err(|e| Error::verify(path, format!("obscuring rule: {e}")))?;
        drop(decoded.rgb);
        let mut alpha = decoded.alpha;
        if let Some(a) = alpha.as_mut() {
            // obscured pixels are always opaque, so nothing is hidden under transparency
            let (w, h) = a.dimensions();
            let mask = obscure::covered_mask(&regions, w, h);
            for (i, covered) in mask.into_iter().enumerate() {
                if covered {
                    a.put_pixel(i as u32 % w, i as u32 / w, Luma([255]));
                }
            }
        }
        if self.fault(path) == Some(Fault::Encode) {
            return Err(Error::encode(path, "injected encoder failure"));
        }
        let mut out = crate::encode::encode_image(&intended, alpha.as_ref(), kind, self.options.jpeg_quality)
            .map_err(|e| Error::encode(path, e))?;
        match self.fault(path) {
            Some(Fault::Trailer) => out.extend_from_slice(b"GPS 51.5N 0.1W"),
            Some(Fault::Corrupt) => {
                let corrupted =
                    crate::encode::encode_image(&RgbImage::new(intended.width(), intended.height()), None, kind, 90)
                        .map_err(|e| Error::encode(path, e))?;
                out = corrupted;
            }
            _ => {}
        }
        let manual_regions = manual.obscure_at(None).count();
        Ok(Prepared { bytes: out, kind, faces, manual_regions, regions, intended, alpha })
    }

    /// The in-memory entry: bytes in, verified bytes out (or an error). Used by fuzzing and by
    /// library users who do their own I/O.
    ///
    /// # Errors
    /// Any stage's error, naming `path` (used only in messages).
    pub fn process_bytes(&self, path: &Path, bytes: &[u8], manual: &ManualRegions) -> Result<Prepared> {
        let _file = crate::detect::model::FileInFlight::enter();
        let prepared = self.prepare(path, bytes, None, manual)?;
        prepared.verify(path, &prepared.bytes)?;
        Ok(prepared)
    }

    /// Processes one image job end to end and commits a verified output. Returns the status, or
    /// the error; the input is only ever read. Videos are refused here: see
    /// [`Pipeline::run_job`].
    ///
    /// # Errors
    /// Any stage's error, naming the input and the stage.
    pub fn process_job(&self, job: &Job) -> Result<(Status, Prepared)> {
        let job = &image_job(job);
        if crate::video::is_video(&job.input) {
            return Err(Error::unsupported(&job.input, "a video: use Pipeline::run_job (process_job is for images)"));
        }
        let canon_in = std::fs::canonicalize(&job.input).map_err(|e| Error::io(&job.input, "read input", e))?;
        if let Some(parent) = job.output.parent().and_then(|p| std::fs::canonicalize(p).ok()) {
            if let Some(name) = job.output.file_name() {
                if parent.join(name) == canon_in {
                    return Err(Error::OutputIsInput { path: job.input.clone() });
                }
            }
        }
        let bytes = self.read_input(&job.input)?;
        // a photo of unknown size (its header unreadable: decoding will say why) counts as 12 MP
        let pixels = crate::decode::image_dimensions(&job.input, &bytes)
            .map_or(12_000_000, |(w, h)| u64::from(w) * u64::from(h));
        let _memory = self.admit_image(&job.input, pixels)?;
        let names: Vec<&str> = job.names.iter().map(String::as_str).collect();
        let manual = self.options.regions.lookup(&names);
        let out_kind = ImageKind::from_extension(&job.output);
        let prepared = self.prepare(&job.input, &bytes, out_kind, &manual)?;
        let committed = commit(&job.output, &prepared.bytes, self.options.overwrite, |written| {
            prepared.verify(&job.input, written)
        })?;
        let status = match committed {
            Committed::Written => Status::Ok,
            Committed::Skipped => Status::Skipped,
        };
        Ok((status, prepared))
    }

    /// Processes one job and turns every outcome into a report; never panics on bad input.
    #[must_use]
    pub fn run_job(&self, job: &Job) -> FileReport {
        self.run_job_with(job, &NoReporter)
    }

    /// [`Pipeline::run_job`] with progress for videos. Videos (recognised by content, else by
    /// extension) go through ffmpeg: see the `video` module.
    #[must_use]
    pub fn run_job_with(&self, job: &Job, reporter: &dyn Reporter) -> FileReport {
        let _file = crate::detect::model::FileInFlight::enter();
        let start = Instant::now();
        let mut report = FileReport::new(&job.input, Some(&job.output));
        if crate::video::is_video(&job.input) {
            crate::video::run(self, job, reporter, &mut report);
            report.seconds = start.elapsed().as_secs_f64();
            return report;
        }
        let job = &image_job(job);
        report.output = Some(job.output.to_string_lossy().into_owned());
        // before the skip check: an "existing output" that is the input itself must not pass as done
        let early = crate::video::refuse_output_is_input(&job.input, &job.output).err();
        if early.is_none() && !self.options.overwrite && std::fs::symlink_metadata(&job.output).is_ok() {
            report.seconds = start.elapsed().as_secs_f64();
            return report;
        }
        match early.map_or_else(|| self.process_job(job), Err) {
            Ok((status, prepared)) => {
                report.status = status;
                report.set_found(prepared.faces);
                report.manual_regions = prepared.manual_regions;
            }
            Err(e) => report.fail(&e),
        }
        report.seconds = start.elapsed().as_secs_f64();
        report
    }

    /// Runs a batch on `jobs` worker threads (at least 1), reporting progress, and returns the
    /// reports in job order. A failing file never stops the batch; [`Pipeline::stop_flag`] does
    /// (files not started then fail with [`Error::Interrupted`]). First removes the stale temp
    /// files of a killed earlier run from the output folders ([`crate::commit::sweep_stale`]).
    #[must_use]
    pub fn run_batch(&self, jobs: &[Job], workers: usize, reporter: &dyn Reporter) -> Vec<FileReport> {
        // temp files of an earlier, killed run in the output folders
        let dirs: std::collections::BTreeSet<&Path> = jobs.iter().filter_map(|j| j.output.parent()).collect();
        for dir in dirs {
            crate::commit::sweep_stale(dir);
        }
        let work = |job: &Job| {
            if self.stop_requested() {
                let mut r = FileReport::new(&job.input, Some(&job.output));
                r.fail(&Error::interrupted(&job.input));
                reporter.on_done(&r);
                return r;
            }
            reporter.on_start(job);
            let r = self.run_job_with(job, reporter);
            reporter.on_done(&r);
            r
        };
        if workers <= 1 {
            return jobs.iter().map(work).collect();
        }
        // Plain threads that take the next job in turn, not a rayon pool: the detector's own
        // parallel work (tract) runs on rayon, and a rayon worker that waits for it steals other
        // queued jobs onto the same stack, so a large batch nested whole files until the stack
        // overflowed (found by the soak run, bench/soak.py).
        let next = std::sync::atomic::AtomicUsize::new(0);
        let done: std::sync::Mutex<Vec<Option<FileReport>>> = std::sync::Mutex::new(vec![None; jobs.len()]);
        std::thread::scope(|scope| {
            for _ in 0..workers.min(jobs.len()) {
                let spawned = std::thread::Builder::new()
                    .name("unseen-worker".into())
                    .stack_size(WORKER_STACK)
                    .spawn_scoped(scope, || loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(job) = jobs.get(i) else { break };
                        let report = work(job);
                        done.lock().unwrap_or_else(std::sync::PoisonError::into_inner)[i] = Some(report);
                    });
                if spawned.is_err() {
                    break; // the threads already started (or this one, below) do the rest
                }
            }
        });
        let mut done = done.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
        // jobs no thread reached (no thread could be started): here, in order
        for (i, slot) in done.iter_mut().enumerate() {
            if slot.is_none() {
                *slot = Some(work(&jobs[i]));
            }
        }
        done.into_iter().flatten().collect()
    }

    /// Reads and decodes an image file as [`Pipeline::process_job`] does (size limit, EXIF
    /// orientation applied): the upright pixels that detections and regions refer to.
    ///
    /// # Errors
    /// [`Error::Io`], [`Error::Limits`] or a decoding error, naming `path`.
    pub fn read_image(&self, path: &Path) -> Result<RgbImage> {
        let bytes = self.read_input(path)?;
        Ok(decode_image(path, &bytes, &self.options.limits)?.rgb)
    }

    /// Reads an input file whole: refused above the size limit (checked before reading) and
    /// when it changed while being read ([`crate::decode::Snapshot`]).
    fn read_input(&self, path: &Path) -> Result<Vec<u8>> {
        let limit = self.options.limits.max_file_bytes;
        let snap = crate::decode::Snapshot::of(path)?;
        if snap.len() > limit {
            return Err(Error::limits(path, format!("file is {} bytes, above the limit of {limit}", snap.len())));
        }
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, "read input", e))?;
        snap.check(path, Some(bytes.len()))?;
        Ok(bytes)
    }

    /// Whether the configured mode draws outlines instead of obscuring.
    #[must_use]
    pub fn is_preview(&self) -> bool {
        self.options.mode == Mode::None
    }
}
