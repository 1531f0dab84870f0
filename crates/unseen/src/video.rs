//! The video pipeline: probe → decode (ffmpeg, pipe) → detect (in full on keyframes, around
//! tracked faces in between: [`crate::track::keyframe`]) → track → obscure with fresh noise
//! each frame → encode (ffmpeg, pipe) → verify → commit.
//!
//! Three threads and two ffmpeg processes run at once: a reader thread splits the decoder's
//! output into frames, this thread detects and obscures, a writer thread feeds the encoder.
//! Memory stays bounded: two small channels plus a lookahead of `video_extend_frames` frames
//! (a frame is final once the detections of the frames after it that can still affect it are
//! known, see [`crate::track`]). Raw frames only ever travel through pipes; the temp output
//! (named with [`TEMP_PREFIX`] in the output folder) holds only obscured, encoded data, and is
//! renamed into place only after [`verify_video`] accepted it. On any failure it is removed.

use std::collections::VecDeque;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

use image::RgbImage;

use crate::commit::TEMP_PREFIX;
use crate::decode::video::{missing_tool, parent_dir, probe, Decoder, NutFrame, Tools, VideoInfo};
use crate::decode::Format;
use crate::detect::{finest_pass, Detection, Kind};
use crate::encode::video::{scrub_mp4, AudioSource, Encoder};
use crate::error::{Error, Result};
use crate::geom::Rect;
use crate::inputs::Job;
use crate::obscure;
use crate::options::Audio;
use crate::pipeline::{Fault, Pipeline, Reporter};
use crate::plan::VideoPlanner;
use crate::regions::ManualRegions;
use crate::report::{FileReport, Status, VideoReport};
use crate::track::keyframe::{Plan, Scheduler, Thumb};
use crate::track::{association, Predicted, Tracker};
use crate::verify::video::{verify_video, Expected, ExpectedAudio, Signature};

/// File extensions of the videos unseen picks up when walking folders.
pub const VIDEO_EXTENSIONS: &[&str] = &["mp4", "mov", "m4v", "mkv", "webm", "avi"];

/// Whether the name has a video extension.
#[must_use]
pub fn has_video_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| VIDEO_EXTENSIONS.iter().any(|v| v.eq_ignore_ascii_case(e)))
}

/// Whether the first bytes of a file look like a video container (MP4/MOV, Matroska/WebM, AVI,
/// MPEG-TS). HEIF/AVIF stills, which share MP4's `ftyp`, do not count.
#[must_use]
pub fn sniff_video(head: &[u8]) -> bool {
    if head.len() >= 12 && &head[4..8] == b"ftyp" {
        return !matches!(&head[8..12], b"heic" | b"heix" | b"heim" | b"heis" | b"mif1" | b"msf1" | b"avif" | b"avis");
    }
    if head.len() >= 8 && matches!(&head[4..8], b"moov" | b"mdat" | b"wide" | b"free" | b"skip") {
        return true; // QuickTime without ftyp
    }
    if head.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) {
        return true; // EBML: Matroska, WebM
    }
    if head.len() >= 12 && &head[0..4] == b"RIFF" && &head[8..12] == b"AVI " {
        return true;
    }
    head.len() > 376 && head[0] == 0x47 && head[188] == 0x47 && head[376] == 0x47
    // MPEG-TS
}

/// Whether an input goes to the video pipeline: a video by content, an animated GIF or PNG
/// (every frame is detected and tracked like a video's; the output is an MP4), or (content
/// unknown, e.g. unreadable or not an image) a video by extension, so that a broken video fails
/// as a video.
pub fn is_video(path: &Path) -> bool {
    routes_to_video(path, &media_head(path))
}

/// [`is_video`] on the first bytes of a file (see [`media_head`]).
#[must_use]
pub fn routes_to_video(path: &Path, head: &[u8]) -> bool {
    if sniff_video(head) {
        return true;
    }
    match crate::decode::sniff_source(path, head) {
        Ok(f @ (Format::Gif | Format::Png)) => crate::decode::is_animated(f, head),
        Ok(_) => false,
        Err(_) => has_video_extension(path) && image::guess_format(head).is_err(),
    }
}

/// The first bytes of a file, enough to tell its format and route it: 4 KiB, or the whole file
/// (up to 64 MiB) for a GIF, whose frame count is only known by walking its blocks. Empty when
/// the file cannot be read (processing it then says why).
#[must_use]
pub fn media_head(path: &Path) -> Vec<u8> {
    use std::io::Read;
    let Ok(f) = std::fs::File::open(path) else { return Vec::new() };
    let mut head = Vec::new();
    let mut f = f.take(4096);
    if f.read_to_end(&mut head).is_err() {
        return Vec::new();
    }
    if head.starts_with(b"GIF8") {
        let mut f = f.into_inner().take(64 << 20);
        let _ = f.read_to_end(&mut head);
    }
    head
}

/// Where a video's output goes: the planned output with the extension `.mp4`.
#[must_use]
pub fn video_output(planned: &Path) -> PathBuf {
    let is_mp4 = planned.extension().and_then(|e| e.to_str()).is_some_and(|e| e.eq_ignore_ascii_case("mp4"));
    if is_mp4 {
        planned.to_path_buf()
    } else {
        planned.with_extension("mp4")
    }
}

/// Processes one video job into `report`.
pub(crate) fn run(p: &Pipeline, job: &Job, reporter: &dyn Reporter, report: &mut FileReport) {
    let output = video_output(&job.output);
    report.output = Some(output.to_string_lossy().into_owned());
    // before the skip check: an "existing output" that is the input itself must not pass as done
    if let Err(e) = refuse_output_is_input(&job.input, &output) {
        report.fail(&e);
        return;
    }
    if !p.options().overwrite && std::fs::symlink_metadata(&output).is_ok() {
        report.status = Status::Skipped;
        return;
    }
    match process(p, job, &output, reporter) {
        Ok((status, video)) => {
            report.status = status;
            report.manual_regions = p.options().regions.lookup(&names(job)).obscure.len();
            report.video = Some(video);
        }
        // a stop (Ctrl-C) also reaches ffmpeg, which then fails in its own words
        Err(_) if p.stop_requested() => report.fail(&Error::interrupted(&job.input)),
        Err(e) => report.fail(&e),
    }
}

fn names(job: &Job) -> Vec<&str> {
    job.names.iter().map(String::as_str).collect()
}

enum Msg {
    Frame(NutFrame),
    End(Vec<u8>),
    Failed(String),
}

/// What the frame loop produced.
struct Stats {
    frames: u64,
    detections: u64,
    covered: u64,
    tracks: usize,
    text_tracks: usize,
    person_tracks: usize,
    full_detections: u64,
    signatures: Vec<Signature>,
}

/// Why the frame loop stopped early.
enum Stop {
    Error(Error),
    /// The encoder stopped reading (it failed; its exit status says why).
    EncoderGone,
}

impl From<Error> for Stop {
    fn from(e: Error) -> Stop {
        Stop::Error(e)
    }
}

/// Decodes, obscures, encodes, verifies and commits one video.
///
/// # Errors
/// Any stage's error, naming the input.
pub(crate) fn process(
    p: &Pipeline,
    job: &Job,
    output: &Path,
    reporter: &dyn Reporter,
) -> Result<(Status, VideoReport)> {
    let path = job.input.as_path();
    refuse_output_is_input(path, output)?;
    let opts = p.options();
    let tools = Tools::from_env();
    // the file ffmpeg reads must be the one it finished reading (checked before commit)
    let snapshot = crate::decode::Snapshot::of(path)?;
    let info = probe(path, &tools)?;
    let (uw, uh) = info.upright_size();
    if u64::from(uw) * u64::from(uh) > opts.limits.max_pixels {
        return Err(Error::limits(
            path,
            format!("frames are {uw}x{uh} pixels, above the limit of {}", opts.limits.max_pixels),
        ));
    }
    // held until the output is verified and committed: the ffmpeg processes count too
    let _memory = p.admit_video(path, u64::from(uw) * u64::from(uh))?;
    let manual = opts.regions.lookup(&names(job));
    let audio = match (opts.audio, info.audio) {
        (Audio::Keep, Some(stream)) => {
            Some(AudioSource { path: path.to_path_buf(), stream, start_time: info.start_time })
        }
        _ => None,
    };
    let dir = parent_dir(output);
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, "create output folder", e))?;
    let tmp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .suffix(".tmp")
        .tempfile_in(&dir)
        .map_err(|e| Error::io(&dir, "create temp file", e))?;

    let decoder = Decoder::start(path, &info, &tools)?;
    let (mut reader, dec_proc) = decoder.into_parts();
    let first = match reader.next_frame() {
        Ok(Some(f)) => f,
        Ok(None) | Err(_) => {
            let why = dec_proc.wait().err().unwrap_or_else(|| "no video frame could be decoded".into());
            return Err(Error::decode(path, why));
        }
    };
    let (w, h) = reader.size().ok_or_else(|| Error::decode(path, "decoder gave no frame size"))?;
    if p.fault(path) == Some(Fault::Encode) {
        return Err(Error::encode(path, "injected encoder failure"));
    }
    let enc =
        Encoder::start(&tools, tmp.path(), audio.as_ref(), w, h).map_err(|e| missing_tool(path, &tools.ffmpeg, &e))?;

    let (ftx, frx) = sync_channel::<Msg>(2);
    let reader_thread = std::thread::spawn(move || {
        if ftx.send(Msg::Frame(first)).is_err() {
            return;
        }
        loop {
            let msg = match reader.next_frame() {
                Ok(Some(f)) => Msg::Frame(f),
                Ok(None) => Msg::End(reader.tail()),
                Err(e) => Msg::Failed(e),
            };
            let last = !matches!(msg, Msg::Frame(_));
            if ftx.send(msg).is_err() || last {
                return;
            }
        }
    });
    let (wtx, wrx) = sync_channel::<Vec<u8>>(4);
    let writer_thread = std::thread::spawn(move || {
        let mut enc = enc;
        for chunk in wrx {
            if enc.write(&chunk).is_err() {
                return (enc, false);
            }
        }
        (enc, true)
    });

    let total = info.frames_estimate();
    let looped = frame_loop(p, job, &manual, (w, h), frx, &wtx, reporter, total);
    drop(wtx);
    let (enc, wrote_all) = writer_thread.join().map_err(|_| Error::encode(path, "writer thread panicked"))?;
    let stats = match looped {
        Ok(s) if wrote_all => s,
        Ok(_) | Err(Stop::EncoderGone) => {
            drop(dec_proc);
            let _ = reader_thread.join();
            return Err(Error::encode(path, enc.finish().err().unwrap_or_else(|| "encoder stopped early".into())));
        }
        Err(Stop::Error(e)) => {
            drop(dec_proc); // kills the decoder, so the reader thread ends
            drop(enc);
            let _ = reader_thread.join();
            return Err(e);
        }
    };
    let _ = reader_thread.join();
    dec_proc.wait().map_err(|e| Error::decode(path, e))?;
    enc.finish().map_err(|e| Error::encode(path, e))?;
    scrub_mp4(tmp.path()).map_err(|e| Error::encode(path, format!("scrubbing the mp4: {e}")))?;
    if p.fault(path) == Some(Fault::Trailer) {
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(tmp.path())
            .map_err(|e| Error::io(tmp.path(), "append", e))?;
        f.write_all(b"GPS 51.5N 0.1W").map_err(|e| Error::io(tmp.path(), "append", e))?;
    }

    let expected = Expected {
        width: w + w % 2,
        height: h + h % 2,
        frames: stats.frames,
        duration: info.video_duration(),
        max_duration: info.container_duration,
        fps: info.fps,
        picture: (w, h),
        audio: audio.as_ref().map(|_| ExpectedAudio {
            offset: info.video_start - info.audio_start.unwrap_or(0.0),
            duration: info.audio_duration,
        }),
        forbidden: info.metadata_values.clone(),
    };
    verify_video(path, tmp.path(), &tools, &expected, &stats.signatures)?;
    snapshot.check(path, None)?;
    if p.stop_requested() {
        return Err(Error::interrupted(path));
    }
    let status = commit_temp(tmp, output, opts.overwrite)?;
    let report = VideoReport {
        frames: stats.frames,
        face_tracks: stats.tracks,
        text_tracks: opts.text.then_some(stats.text_tracks),
        person_tracks: opts.people.map(|_| stats.person_tracks),
        full_detections: stats.full_detections,
        keyframe_interval: opts.keyframe_interval(),
        detections: stats.detections,
        covered_frames: stats.covered,
        width: expected.width,
        height: expected.height,
        rotation: info.rotation,
        audio: match (&audio, info.audio) {
            (Some(_), _) => "kept",
            (None, Some(_)) => "dropped",
            (None, None) => "none",
        },
        dropped_streams: dropped_streams(&info, audio.is_some()),
    };
    Ok((status, report))
}

fn dropped_streams(info: &VideoInfo, audio_kept: bool) -> usize {
    info.dropped_streams + info.audio_streams - usize::from(audio_kept)
}

pub(crate) fn refuse_output_is_input(input: &Path, output: &Path) -> Result<()> {
    let canon_in = std::fs::canonicalize(input).map_err(|e| Error::io(input, "read input", e))?;
    if let (Ok(dir), Some(name)) = (std::fs::canonicalize(parent_dir(output)), output.file_name()) {
        if dir.join(name) == canon_in {
            return Err(Error::OutputIsInput { path: input.to_path_buf() });
        }
    }
    Ok(())
}

/// Makes the verified temp file the output: fsync, ordinary permissions, rename (never over an
/// existing file unless `overwrite`).
fn commit_temp(tmp: tempfile::NamedTempFile, output: &Path, overwrite: bool) -> Result<Status> {
    let tpath = tmp.path().to_path_buf();
    tmp.as_file().sync_all().map_err(|e| Error::io(&tpath, "sync temp file", e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = tmp.as_file().set_permissions(std::fs::Permissions::from_mode(0o644));
    }
    let persisted = if overwrite { tmp.persist(output) } else { tmp.persist_noclobber(output) };
    match persisted {
        Ok(_) => {}
        Err(e) if !overwrite && e.error.kind() == std::io::ErrorKind::AlreadyExists => return Ok(Status::Skipped),
        Err(e) => return Err(Error::io(output, "rename into place", e.error)),
    }
    if let Ok(d) = std::fs::File::open(parent_dir(output)) {
        let _ = d.sync_all();
    }
    Ok(Status::Ok)
}

/// Detects on every frame, plans, obscures each frame once its plan is final, and sends it on.
#[allow(clippy::too_many_arguments)]
fn frame_loop(
    p: &Pipeline,
    job: &Job,
    manual: &ManualRegions,
    (w, h): (u32, u32),
    frames: Receiver<Msg>,
    out: &SyncSender<Vec<u8>>,
    reporter: &dyn Reporter,
    total: Option<u64>,
) -> std::result::Result<Stats, Stop> {
    let path = job.input.as_path();
    let mut detector = FrameDetector::new(p);
    let mut planner = VideoPlanner::new(manual.clone(), p.options());
    let mut pending: VecDeque<(Vec<u8>, RgbImage)> = VecDeque::new();
    let mut stats = Stats {
        frames: 0,
        detections: 0,
        covered: 0,
        tracks: 0,
        text_tracks: 0,
        person_tracks: 0,
        full_detections: 0,
        signatures: Vec::new(),
    };
    let mut tail = None;
    for msg in frames {
        match msg {
            Msg::Frame(_) if p.stop_requested() => return Err(Error::interrupted(path).into()),
            Msg::Frame(f) => {
                let img = RgbImage::from_raw(w, h, f.data)
                    .ok_or_else(|| Error::decode(path, "decoded frame has the wrong size"))?;
                let faces = detector.detect(p, path, &img)?;
                let frame = stats.frames + pending.len() as u64;
                stats.detections +=
                    faces.iter().filter(|d| d.kind == Kind::Face && !manual.ignores(d, Some(frame))).count() as u64;
                planner.push(&faces);
                pending.push_back((f.head, img));
            }
            Msg::End(t) => {
                tail = Some(t);
                break;
            }
            Msg::Failed(e) => return Err(Error::decode(path, e).into()),
        }
        while planner.ready(stats.frames) {
            let (head, img) = pending.pop_front().expect("a ready frame is pending");
            finish_frame(p, path, &mut planner, &mut stats, head, img, out)?;
            reporter.on_frames(job, stats.frames, total);
        }
    }
    // the decoder died without a clean end: its exit status says why (checked by the caller)
    let tail = tail.unwrap_or_default();
    planner.finish();
    while let Some((head, img)) = pending.pop_front() {
        finish_frame(p, path, &mut planner, &mut stats, head, img, out)?;
        reporter.on_frames(job, stats.frames, total);
    }
    out.send(tail).map_err(|_| Stop::EncoderGone)?;
    stats.tracks = planner.tracks();
    stats.text_tracks = planner.tracks_of(Kind::Text);
    stats.person_tracks = planner.tracks_of(Kind::Person);
    stats.full_detections = detector.scheduler.full_detections();
    Ok(stats)
}

/// Detection over the frames of one video, in order: in full on keyframes, around tracked faces
/// in between ([`crate::track::keyframe`]). It sees every detection, before any decision, so what
/// it detects does not depend on the decisions: the review page and the pipeline detect the same.
///
/// Text and people (when asked for) are detected over the whole frame on every
/// [`Options::keyframe_interval`]-th frame (0, k, 2k, ...). The planner tracks them like faces:
/// interpolation bridges the frames in between, and the extension (at least k − 1 frames)
/// covers the frames before an object's first and after its last detection.
///
/// [`Options::keyframe_interval`]: crate::Options::keyframe_interval
struct FrameDetector {
    tracker: Tracker,
    scheduler: Scheduler,
    extend: u64,
    frame: u64,
    extras_every: u64,
}

impl FrameDetector {
    fn new(p: &Pipeline) -> FrameDetector {
        FrameDetector {
            tracker: Tracker::new(p.options().video_extend_frames),
            scheduler: Scheduler::new(p.options().keyframe_interval()),
            extend: u64::from(p.options().video_extend_frames),
            frame: 0,
            extras_every: u64::from(p.options().keyframe_interval()),
        }
    }

    /// All detections of the next frame.
    fn detect(&mut self, p: &Pipeline, path: &Path, img: &RgbImage) -> Result<Vec<Detection>> {
        let mut faces = detect_scheduled(p, path, img, &self.tracker, &mut self.scheduler)?;
        let _ = self.tracker.push_scored(&faces.iter().map(|d| (d.rect, d.score)).collect::<Vec<_>>());
        // what the tracker keeps bounds memory and must not depend on the caller
        let n = self.tracker.frames();
        if n > self.extend {
            self.tracker.forget_before(n - self.extend);
        }
        if p.has_extras() && self.frame.is_multiple_of(self.extras_every) {
            faces.extend(p.detect_extras(path, img)?);
        }
        self.frame += 1;
        Ok(faces)
    }
}

/// Every detection of every frame of a video (before decisions), detected exactly as
/// [`Pipeline::run_job`] detects them; `progress` gets the frames done and the estimated total.
/// What the review page builds its [`crate::plan::VideoPlan`] from.
///
/// # Errors
/// Decoding, limits or detection errors, naming the input.
pub fn detect_video(
    p: &Pipeline,
    path: &Path,
    progress: &mut dyn FnMut(u64, Option<u64>),
) -> Result<(u32, u32, Vec<Vec<Detection>>)> {
    let tools = Tools::from_env();
    let info = probe(path, &tools)?;
    let (uw, uh) = info.upright_size();
    if u64::from(uw) * u64::from(uh) > p.options().limits.max_pixels {
        return Err(Error::limits(
            path,
            format!("frames are {uw}x{uh} pixels, above the limit of {}", p.options().limits.max_pixels),
        ));
    }
    let (mut reader, proc) = Decoder::start(path, &info, &tools)?.into_parts();
    let mut detector = FrameDetector::new(p);
    let mut all = Vec::new();
    let total = info.frames_estimate();
    while let Some(f) = reader.next_frame().map_err(|e| Error::decode(path, e))? {
        let (w, h) = reader.size().ok_or_else(|| Error::decode(path, "decoder gave no frame size"))?;
        let img =
            RgbImage::from_raw(w, h, f.data).ok_or_else(|| Error::decode(path, "decoded frame has the wrong size"))?;
        all.push(detector.detect(p, path, &img)?);
        progress(all.len() as u64, total);
    }
    let (w, h) = reader.size().unwrap_or((uw, uh));
    drop(reader);
    proc.wait().map_err(|e| Error::decode(path, e))?;
    if all.is_empty() {
        return Err(Error::decode(path, "no video frame could be decoded"));
    }
    Ok((w, h, all))
}

/// Frame `index` (from 0, presentation order) of a video, upright, as the pipeline decodes it.
///
/// # Errors
/// Decoding errors, or [`Error::Decode`] when the video has fewer frames.
pub fn decode_frame(path: &Path, index: u64) -> Result<RgbImage> {
    let tools = Tools::from_env();
    let info = probe(path, &tools)?;
    let (mut reader, _proc) = Decoder::start(path, &info, &tools)?.into_parts();
    let mut n = 0;
    while let Some(f) = reader.next_frame().map_err(|e| Error::decode(path, e))? {
        if n == index {
            let (w, h) = reader.size().ok_or_else(|| Error::decode(path, "decoder gave no frame size"))?;
            return RgbImage::from_raw(w, h, f.data)
                .ok_or_else(|| Error::decode(path, "decoded frame has the wrong size"));
        }
        n += 1;
    }
    Err(Error::decode(path, format!("no frame {index} (the video has {n})")))
}

/// Detects the faces of the next frame as the keyframe [`Scheduler`] plans: every pass over the
/// whole frame, or only windows around the tracked faces. An established face (see
/// [`ESTABLISHED`]) tracked into the previous frame and not found in its window makes it a full
/// detection after all.
fn detect_scheduled(
    p: &Pipeline,
    path: &Path,
    img: &RgbImage,
    tracker: &Tracker,
    scheduler: &mut Scheduler,
) -> Result<Vec<Detection>> {
    let manual = &ManualRegions::default();
    let (w, h) = img.dimensions();
    let within = u64::from(p.options().keyframe_interval());
    // established faces are followed between keyframes; a new or doubtful track only while it
    // keeps being found (the keyframes and interpolation still cover it if it is a face)
    let sure = p.options().threshold.max(ESTABLISHED_SCORE);
    let established = |t: &Predicted| t.detections >= ESTABLISHED && t.best >= sure;
    let predicted: Vec<Predicted> =
        tracker.predicted(within).into_iter().filter(|t| established(t) || t.ago == 1).collect();
    let boxes: Vec<Rect> = predicted.iter().map(|t| t.rect).collect();
    let scale = finest_pass(w, h, p.options().preset, true).pass.scale;
    match scheduler.plan(Thumb::of(img), &boxes, (w, h), scale) {
        Plan::Full(_) => p.detect_frame(path, img, manual),
        Plan::Windows(windows) if windows.is_empty() => Ok(Vec::new()),
        Plan::Windows(windows) => {
            let found = p.detect_windows(path, img, &windows, manual)?;
            let lost = predicted.iter().any(|t| {
                t.ago == 1 && established(t) && !found.iter().any(|d| association(&t.rect, &d.rect).is_some())
            });
            if lost {
                scheduler.lost();
                p.detect_frame(path, img, manual)
            } else {
                Ok(found)
            }
        }
    }
}

/// Detections after which a track (with one scoring at least [`ESTABLISHED_SCORE`]) counts as
/// a face whose loss forces a full detection. Short or only low-score tracks are mostly texture:
/// still covered, followed while they keep being found, and re-detected at keyframes, but not
/// chased with full detections (on the benchmark clips they caused most of them).
const ESTABLISHED: usize = 3;
/// See [`ESTABLISHED`] (or the threshold, when higher).
const ESTABLISHED_SCORE: f32 = 0.5;

/// Obscures one final frame as planned with fresh noise, checks the obscuring rule, and sends it.
fn finish_frame(
    p: &Pipeline,
    path: &Path,
    planner: &mut VideoPlanner,
    stats: &mut Stats,
    head: Vec<u8>,
    mut img: RgbImage,
    out: &SyncSender<Vec<u8>>,
) -> std::result::Result<(), Stop> {
    let idx = stats.frames;
    let regions = planner.regions(idx);
    planner.forget_before(idx + 1);
    let params = p.params();
    let original = img.clone();
    if p.fault(path) != Some(Fault::SkipObscure) {
        // a new generator per frame: fresh OS noise, so averaging frames recovers nothing
        p.obscure(&mut img, &regions, idx);
    }
    obscure::check(&original, &img, &regions, &params)
        .map_err(|e| Error::verify(path, format!("frame {idx}: obscuring rule: {e}")))?;
    drop(original);
    let (w, h) = img.dimensions();
    stats.signatures.push(Signature::of(img.as_raw(), w, w, h));
    stats.covered += u64::from(!regions.is_empty());
    stats.frames += 1;
    let mut data = img.into_raw();
    if p.fault(path) == Some(Fault::Corrupt) {
        data.fill(0);
    }
    out.send(head).map_err(|_| Stop::EncoderGone)?;
    out.send(data).map_err(|_| Stop::EncoderGone)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_containers_not_heif() {
        let ftyp = |brand: &[u8; 4]| {
            let mut v = vec![0, 0, 0, 24];
            v.extend_from_slice(b"ftyp");
            v.extend_from_slice(brand);
            v
        };
        assert!(sniff_video(&ftyp(b"isom")));
        assert!(sniff_video(&ftyp(b"qt  ")));
        assert!(!sniff_video(&ftyp(b"heic")));
        assert!(!sniff_video(&ftyp(b"avif")));
        assert!(sniff_video(&[0x1A, 0x45, 0xDF, 0xA3, 0x01]));
        assert!(sniff_video(b"RIFF\0\0\0\0AVI LIST"));
        assert!(!sniff_video(b"RIFF\0\0\0\0WEBPVP8 "));
        assert!(!sniff_video(&[0xFF, 0xD8, 0xFF, 0xE0]));
    }

    #[test]
    fn outputs_are_mp4() {
        assert_eq!(video_output(Path::new("o/clip.MOV")), PathBuf::from("o/clip.mp4"));
        assert_eq!(video_output(Path::new("o/clip.MP4")), PathBuf::from("o/clip.MP4"));
        assert!(has_video_extension(Path::new("a.WebM")));
        assert!(!has_video_extension(Path::new("a.jpg")));
    }
}
