//! The session: inputs (by opaque id), what the detector found in each, the decisions (the
//! sidecar's [`RegionMap`]), and the state of Publish. Detection and Publish run on their own
//! threads; handlers only read and change this under one lock.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use serde::Serialize;
use unseen::detect::Detection;
use unseen::inputs::{collect_jobs, Job};
use unseen::plan::{ImagePlan, RegionRule, VideoPlan};
use unseen::regions::{ManualRegions, RegionMap};
use unseen::report::{FileReport, Status};
use unseen::{Pipeline, Reporter};

use crate::Config;

/// One input of the session.
#[derive(Debug, Clone)]
pub struct Item {
    /// The job (input and planned output); `None` when the input could not even be listed.
    pub job: Option<Job>,
    /// The key of this input's entry in the decisions file (the path as found).
    pub key: String,
    /// Shown in the page.
    pub name: String,
    /// An image or a video.
    pub video: bool,
}

/// What detection found, per input.
#[derive(Debug, Clone)]
pub enum Detected {
    /// Not started yet.
    Queued,
    /// Running; frames done and estimated total for videos.
    Running(u64, Option<u64>),
    /// An image's detections.
    Image {
        /// Width of the upright picture.
        width: u32,
        /// Height.
        height: u32,
        /// Every detection.
        faces: Vec<Detection>,
    },
    /// A video's detections per frame.
    Video {
        /// Frame width.
        width: u32,
        /// Frame height.
        height: u32,
        /// Every detection of every frame.
        frames: Vec<Vec<Detection>>,
    },
    /// The one-line error.
    Failed(String),
}

/// Progress and outcome of Publish.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Publish {
    /// Running now.
    pub running: bool,
    /// Files finished in the current (or last) run.
    pub done: usize,
    /// Files in the current (or last) run.
    pub total: usize,
    /// The reports of the last finished run, in order.
    pub files: Vec<FileReport>,
    /// The command that writes the same outputs without the page.
    pub command: Option<String>,
    /// Counts of the last run: written, skipped, failed.
    pub counts: Option<(usize, usize, usize)>,
}

/// Mutable state, behind one lock.
pub struct Shared {
    /// The decisions (the sidecar's content).
    pub regions: RegionMap,
    /// Per item.
    pub detected: Vec<Detected>,
    /// Publish.
    pub publish: Publish,
    /// Thumbnails (PNG) per item, once detected.
    pub thumbs: Vec<Option<Vec<u8>>>,
}

/// The whole session.
pub struct App {
    /// The secret token.
    pub token: String,
    /// The port listened on.
    pub port: u16,
    /// The configuration.
    pub config: Config,
    /// The pipeline (options and detector); its manual regions are unused: decisions come
    /// from [`Shared::regions`].
    pub pipeline: Pipeline,
    /// The inputs, in order; the id of an input is its index.
    pub items: Vec<Item>,
    shared: Mutex<Shared>,
}

impl App {
    /// Lists the inputs and starts detection in the background.
    pub(crate) fn start(config: Config, pipeline: Pipeline, regions: RegionMap, token: String, port: u16) -> Arc<App> {
        let (jobs, problems) = collect_jobs(&config.inputs, &config.out);
        let mut items = Vec::new();
        let mut detected = Vec::new();
        for job in jobs {
            let video = unseen::video::is_video(&job.input);
            let key = job.names[0].clone();
            let name = job.names.get(1).cloned().unwrap_or_else(|| key.clone());
            items.push(Item { job: Some(job), key, name, video });
            detected.push(Detected::Queued);
        }
        for (path, e) in problems {
            let key = path.to_string_lossy().into_owned();
            items.push(Item { job: None, name: key.clone(), key, video: false });
            detected.push(Detected::Failed(e.to_string()));
        }
        let thumbs = vec![None; items.len()];
        let shared = Shared { regions, detected, publish: Publish::default(), thumbs };
        let app = Arc::new(App { token, port, config, pipeline, items, shared: Mutex::new(shared) });
        let bg = app.clone();
        std::thread::spawn(move || bg.detect_all());
        app
    }

    /// The lock (a panicked holder leaves consistent data: every change is one assignment).
    pub fn lock(&self) -> MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether detection has finished for every input.
    pub fn detection_done(&self) -> bool {
        self.lock().detected.iter().all(|d| !matches!(d, Detected::Queued | Detected::Running(..)))
    }

    /// Whether Publish is idle and has run at least once.
    pub fn publish_done(&self) -> bool {
        let s = self.lock();
        !s.publish.running && s.publish.counts.is_some()
    }

    fn detect_all(&self) {
        for (i, item) in self.items.iter().enumerate() {
            let Some(job) = &item.job else { continue };
            self.lock().detected[i] = Detected::Running(0, None);
            let (result, thumb) = if item.video { self.detect_video(i, job) } else { self.detect_image(job) };
            let mut s = self.lock();
            s.detected[i] = result;
            s.thumbs[i] = thumb;
        }
    }

    fn detect_image(&self, job: &Job) -> (Detected, Option<Vec<u8>>) {
        let rgb = match decode_upright(&self.pipeline, &job.input) {
            Ok(rgb) => rgb,
            Err(e) => return (Detected::Failed(e), None),
        };
        match self.pipeline.detect_all(&job.input, &rgb) {
            Ok(faces) => {
                let thumb = thumbnail(&rgb);
                (Detected::Image { width: rgb.width(), height: rgb.height(), faces }, thumb)
            }
            Err(e) => (Detected::Failed(e.to_string()), None),
        }
    }

    fn detect_video(&self, i: usize, job: &Job) -> (Detected, Option<Vec<u8>>) {
        let mut progress = |done: u64, total: Option<u64>| self.lock().detected[i] = Detected::Running(done, total);
        match unseen::video::detect_video(&self.pipeline, &job.input, &mut progress) {
            Ok((width, height, frames)) => {
                let thumb = unseen::video::decode_frame(&job.input, 0).ok().and_then(|f| thumbnail(&f));
                (Detected::Video { width, height, frames }, thumb)
            }
            Err(e) => (Detected::Failed(e.to_string()), None),
        }
    }

    /// The decisions that apply to item `i`: its own entry (editable) and the combination of
    /// all entries that match it (what the CLI would use).
    pub fn decisions(&self, s: &Shared, i: usize) -> (ManualRegions, ManualRegions) {
        let item = &self.items[i];
        let own = s.regions.entry(&item.key).cloned().unwrap_or_default();
        let names: Vec<&str> =
            item.job.as_ref().map(|j| j.names.iter().map(String::as_str).collect()).unwrap_or_default();
        let all = s.regions.lookup(&names);
        (own, all)
    }

    /// Replaces item `i`'s own entry and writes the decisions file atomically.
    ///
    /// # Errors
    /// The message of an invalid entry or of a failed write; nothing changes then.
    pub fn set_decisions(&self, i: usize, entry: ManualRegions) -> Result<(), String> {
        let mut s = self.lock();
        let mut next = s.regions.clone();
        next.set_entry(&self.items[i].key, entry)?;
        next.save(&self.config.sidecar).map_err(|e| e.to_string())?;
        s.regions = next;
        Ok(())
    }

    /// The image plan of item `i`, when it is a detected image.
    pub fn image_plan(&self, s: &Shared, i: usize) -> Option<ImagePlan> {
        match &s.detected[i] {
            Detected::Image { faces, .. } => Some(ImagePlan::new(faces.clone(), self.decisions(s, i).1)),
            _ => None,
        }
    }

    /// The video plan of item `i`, when it is a detected video.
    pub fn video_plan(&self, s: &Shared, i: usize) -> Option<VideoPlan> {
        match &s.detected[i] {
            Detected::Video { frames, .. } => {
                Some(VideoPlan { detected: frames.clone(), manual: self.decisions(s, i).1 })
            }
            _ => None,
        }
    }

    /// The region rule of the options in force.
    pub fn rule(&self) -> RegionRule {
        RegionRule::of(self.pipeline.options())
    }

    /// Starts Publish of the reviewed inputs (or all) on a thread. Returns how many.
    ///
    /// # Errors
    /// A message when Publish already runs or there is nothing to publish.
    pub fn start_publish(self: &Arc<Self>, all: bool) -> Result<usize, String> {
        let jobs: Vec<Job> = {
            let mut s = self.lock();
            if s.publish.running {
                return Err("publish is already running".into());
            }
            let jobs: Vec<Job> = self
                .items
                .iter()
                .enumerate()
                .filter(|(i, _)| all || self.decisions(&s, *i).1.reviewed)
                .filter_map(|(_, it)| it.job.clone())
                .collect();
            if jobs.is_empty() {
                return Err("no file is marked reviewed: mark files reviewed, or publish all".into());
            }
            s.publish = Publish { running: true, total: jobs.len(), ..Publish::default() };
            jobs
        };
        let n = jobs.len();
        let app = self.clone();
        std::thread::spawn(move || app.publish(&jobs, all));
        Ok(n)
    }

    fn publish(self: &Arc<Self>, jobs: &[Job], all: bool) {
        let regions = self.lock().regions.clone();
        // the CLI's own path: the same batch, with the decisions as manual regions; a second
        // Publish after a change must replace what the first one wrote
        let pipeline = self.pipeline.with_regions(regions).with_overwrite(true);
        let reporter = Progress(self.clone());
        let files = pipeline.run_batch(jobs, 1, &reporter);
        let ok = files.iter().filter(|f| f.status == Status::Ok).count();
        let skipped = files.iter().filter(|f| f.status == Status::Skipped).count();
        let failed = files.len() - ok - skipped;
        let command = self.command(jobs, all);
        let mut s = self.lock();
        s.publish = Publish {
            running: false,
            done: files.len(),
            total: files.len(),
            files,
            command: Some(command),
            counts: Some((ok, skipped, failed)),
        };
    }

    /// `unseen --regions SIDECAR --out OUT --overwrite [flags] INPUT...`: the same outputs
    /// without the page (all inputs as given, or the published files one by one).
    fn command(&self, jobs: &[Job], all: bool) -> String {
        let everything = all || jobs.len() == self.items.iter().filter(|i| i.job.is_some()).count();
        let mut words: Vec<String> = vec!["unseen".into(), "--regions".into(), quote(&self.config.sidecar)];
        words.extend(["--out".into(), quote(&self.config.out), "--overwrite".into()]);
        words.extend(self.config.cli_flags.iter().cloned());
        if everything {
            words.extend(self.config.inputs.iter().map(|p| quote(p)));
        } else {
            words.extend(jobs.iter().map(|j| quote(&j.input)));
        }
        words.join(" ")
    }
}

/// A shell word for a path (single-quoted when it has anything but safe characters).
fn quote(p: &Path) -> String {
    let s = p.to_string_lossy();
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "/._-+=:,@".contains(c)) {
        s.into_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

struct Progress(Arc<App>);
impl Reporter for Progress {
    fn on_done(&self, _report: &FileReport) {
        self.0.lock().publish.done += 1;
    }
}

/// Reads and decodes an image as the pipeline does (upright RGB).
///
/// # Errors
/// The one-line error.
pub fn decode_upright(p: &Pipeline, path: &Path) -> Result<image::RgbImage, String> {
    p.read_image(path).map_err(|e| e.to_string())
}

/// PNG bytes of an image (fast compression: it only travels over loopback).
pub fn png(img: &image::RgbImage) -> Option<Vec<u8>> {
    use image::codecs::png::{CompressionType, FilterType, PngEncoder};
    let mut out = Vec::new();
    let enc = PngEncoder::new_with_quality(&mut out, CompressionType::Fast, FilterType::Sub);
    img.write_with_encoder(enc).ok()?;
    Some(out)
}

fn thumbnail(img: &image::RgbImage) -> Option<Vec<u8>> {
    let (w, h) = img.dimensions();
    let s = 320.0 / w.max(h).max(1) as f32;
    let t = if s < 1.0 {
        image::imageops::thumbnail(img, ((w as f32 * s) as u32).max(1), ((h as f32 * s) as u32).max(1))
    } else {
        img.clone()
    };
    png(&t)
}
