//! `unseen._unseen`: the native half of the Python package. A thin layer over the `unseen`
//! library: it builds the library's own [`Options`] (same names, same defaults as the CLI),
//! runs the library's pipeline with the GIL released, and turns the library's [`Error`] into
//! one Python exception class per kind. The public API, with its docstrings and types, is the
//! Python package `unseen` (python/unseen/__init__.py) that wraps this module.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};
use unseen::inputs::{output_name, Job};
use unseen::regions::RegionMap;
use unseen::report::{FileReport, Status};
use unseen::{Audio, Backend, Error, Mode, Options, People, Pipeline, Preset, Shape};

/// The same allocator as the CLI (see its main.rs): tract's large per-inference buffers are
/// reused instead of going back to the kernel after every run.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

create_exception!(
    _unseen,
    UnseenError,
    PyException,
    "Base class of unseen's errors: one line naming the file and the cause."
);
create_exception!(_unseen, IoError, UnseenError, "Reading, writing or renaming a file failed.");
create_exception!(_unseen, OutputIsInputError, IoError, "The output would overwrite an input (refused).");
create_exception!(_unseen, DecodeError, UnseenError, "The input could not be decoded (corrupt, truncated, empty).");
create_exception!(_unseen, UnsupportedError, DecodeError, "The input is of a kind unseen does not handle.");
create_exception!(_unseen, LimitError, DecodeError, "The input exceeds a resource limit (decompression-bomb guard).");
create_exception!(_unseen, DetectError, UnseenError, "The detector could not be loaded or run.");
create_exception!(_unseen, EncodeError, UnseenError, "Encoding the obscured output failed.");
create_exception!(_unseen, VerifyError, UnseenError, "The output could not be proven clean; nothing was written.");
create_exception!(_unseen, OptionsError, UnseenError, "An option (or the regions file) is invalid.");
create_exception!(
    _unseen,
    StoppedError,
    UnseenError,
    "The engine was asked to stop (Ctrl-C in another call) before this file was finished; nothing was written."
);

/// The exception for an error of `kind` ([`Error::kind`]) with its one-line message.
fn exception(kind: &str, message: String) -> PyErr {
    match kind {
        "io" => IoError::new_err(message),
        "output-is-input" => OutputIsInputError::new_err(message),
        "decode" => DecodeError::new_err(message),
        "unsupported" => UnsupportedError::new_err(message),
        "limits" => LimitError::new_err(message),
        "detect" => DetectError::new_err(message),
        "encode" => EncodeError::new_err(message),
        "verify" => VerifyError::new_err(message),
        "regions" | "options" => OptionsError::new_err(message),
        "interrupted" => StoppedError::new_err(message),
        _ => UnseenError::new_err(message),
    }
}

fn to_py(e: &Error) -> PyErr {
    exception(e.kind(), e.to_string())
}

fn json(value: &impl serde::Serialize) -> PyResult<String> {
    serde_json::to_string(value).map_err(|e| UnseenError::new_err(format!("report: {e}")))
}

/// How often a long call wakes to let Python run its signal handlers (Ctrl-C).
const SIGNAL_POLL: Duration = Duration::from_millis(50);

/// Runs `work` with the GIL released on a helper thread while this thread wakes every
/// [`SIGNAL_POLL`] to let Python run its signal handlers: PyO3 only checks for signals when a
/// call returns, so otherwise Ctrl-C would wait for the end of a whole video. When a handler
/// raises (`KeyboardInterrupt`), the pipeline is asked to stop ([`Pipeline::stop_flag`]: a
/// video stops at its next frame, its temp file removed and its ffmpeg processes ended; an
/// image in progress finishes but is not returned); this waits for `work` to return, clears
/// the flag so that the engine stays usable, and raises the handler's exception. Other calls on
/// the same engine that were running meanwhile fail with `StoppedError`.
fn interruptible<T: Send>(py: Python<'_>, pipeline: &Pipeline, work: impl FnOnce() -> T + Send) -> PyResult<T> {
    let (tx, mut rx) = mpsc::channel();
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("unseen-call".into())
            .stack_size(unseen::WORKER_STACK)
            .spawn_scoped(scope, move || {
                // the receiver is gone only once the caller has given up
                let _ = tx.send(work());
            })
            .map_err(|e| UnseenError::new_err(format!("cannot start a thread: {e}")))?;
        loop {
            // the receiver goes into the GIL-free closure and comes back (it is Send, not Sync)
            let (got, back) = py.detach(move || (rx.recv_timeout(SIGNAL_POLL), rx));
            rx = back;
            match got {
                Ok(value) => return Ok(value),
                Err(RecvTimeoutError::Timeout) => {}
                // `work` panicked: leaving the scope raises it again, as a PanicException
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(UnseenError::new_err("internal error: the call's thread panicked"))
                }
            }
            if let Err(raised) = py.check_signals() {
                let stop = pipeline.stop_flag();
                stop.store(true, Ordering::SeqCst);
                let _ = py.detach(move || rx.recv());
                stop.store(false, Ordering::SeqCst);
                return Err(raised);
            }
        }
    })
}

/// Builds the library's options from keyword arguments: defaults are [`Options::default`], the
/// same the CLI starts from; unknown names are a `TypeError`, bad values an `OptionsError`.
fn options_from(kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<Options> {
    let mut o = Options::default();
    let mut threshold = None;
    let parse = |v: &Bound<'_, PyAny>, name: &str| -> PyResult<String> {
        v.extract::<String>().map_err(|_| OptionsError::new_err(format!("invalid option {name}: expected a string")))
    };
    let named = |e: Error| to_py(&e);
    if let Some(kwargs) = kwargs {
        for (key, value) in kwargs.iter() {
            if value.is_none() {
                continue; // None: the default
            }
            let key: String = key.extract()?;
            let num = |name: &str| OptionsError::new_err(format!("invalid option {name}: {value}"));
            match key.as_str() {
                "preset" => o.preset = parse(&value, "preset")?.parse::<Preset>().map_err(named)?,
                "mode" => o.mode = parse(&value, "mode")?.parse::<Mode>().map_err(named)?,
                "shape" => o.shape = parse(&value, "shape")?.parse::<Shape>().map_err(named)?,
                "backend" => o.backend = parse(&value, "backend")?.parse::<Backend>().map_err(named)?,
                "audio" => o.audio = parse(&value, "audio")?.parse::<Audio>().map_err(named)?,
                "text" => o.text = value.extract().map_err(|_| num("text"))?,
                "cascade" => o.cascade = value.extract().map_err(|_| num("cascade"))?,
                "people" => o.people = Some(parse(&value, "people")?.parse::<People>().map_err(named)?),
                "people_threshold" => o.people_threshold = value.extract().map_err(|_| num("people_threshold"))?,
                "threshold" => threshold = Some(value.extract::<f32>().map_err(|_| num("threshold"))?),
                "margin" => o.margin = value.extract().map_err(|_| num("margin"))?,
                "grid" => o.grid = value.extract().map_err(|_| num("grid"))?,
                "allow_weak" => o.allow_weak = value.extract().map_err(|_| num("allow_weak"))?,
                "noise" => o.noise = value.extract().map_err(|_| num("noise"))?,
                "jpeg_quality" => o.jpeg_quality = value.extract().map_err(|_| num("jpeg_quality"))?,
                "threads" => o.detector_threads = value.extract().map_err(|_| num("threads"))?,
                "extend_frames" => o.video_extend_frames = value.extract().map_err(|_| num("extend_frames"))?,
                "keyframe_interval" => {
                    o.video_keyframe_interval = Some(value.extract().map_err(|_| num("keyframe_interval"))?);
                }
                "max_pixels" => o.limits.max_pixels = value.extract().map_err(|_| num("max_pixels"))?,
                "max_file_bytes" => o.limits.max_file_bytes = value.extract().map_err(|_| num("max_file_bytes"))?,
                "overwrite" => o.overwrite = value.extract().map_err(|_| num("overwrite"))?,
                "regions" => {
                    let path: PathBuf = value.extract().map_err(|_| num("regions"))?;
                    o.regions = RegionMap::load(&path).map_err(|e| to_py(&e))?;
                }
                other => return Err(PyTypeError::new_err(format!("unexpected option {other:?}"))),
            }
        }
    }
    o.threshold = threshold.unwrap_or(o.preset.default_threshold());
    o.validate().map_err(|e| to_py(&e))?;
    Ok(o)
}

/// The options a default `Engine` runs with (the CLI's defaults), as JSON.
#[pyfunction]
fn default_options() -> PyResult<String> {
    json(&Options::default())
}

/// Removes unseen's own temporary files left in `folder` by a killed run (older than an hour);
/// returns how many went.
#[pyfunction]
fn sweep_stale(folder: PathBuf) -> usize {
    unseen::commit::sweep_stale(&folder)
}

/// The output name unseen plans for an input called `name` whose first bytes are `head`
/// (`IMG_1.HEIC` → `IMG_1.jpg`, videos → `.mp4`).
#[pyfunction]
fn plan_output_name(name: PathBuf, head: &[u8]) -> PathBuf {
    output_name(&name, head)
}

/// Whether a file is a video (or an animated image) by content, else by extension: what
/// `Engine.process_file` sends through ffmpeg.
#[pyfunction]
fn is_video(name: PathBuf, head: &[u8]) -> bool {
    unseen::video::routes_to_video(&name, head)
}

/// Plans a run like the CLI does for `inputs` (files and folders) into `out_dir`: returns
/// `(jobs, problems, others)` with jobs as `(input, output, names)`, problems as
/// `(path, kind, message)` and others (files that are not media) as paths. Output names,
/// collisions, special files and unreadable folders are decided here, by the library.
#[pyfunction]
#[allow(clippy::type_complexity)]
fn collect(
    py: Python<'_>,
    inputs: Vec<PathBuf>,
    out_dir: PathBuf,
) -> (Vec<(PathBuf, PathBuf, Vec<String>)>, Vec<(PathBuf, &'static str, String)>, Vec<PathBuf>) {
    let c = py.detach(|| unseen::inputs::collect(&inputs, &out_dir));
    (
        c.jobs.into_iter().map(|j| (j.input, j.output, j.names)).collect(),
        c.problems.into_iter().map(|(p, e)| (p, e.kind(), e.to_string())).collect(),
        c.others,
    )
}

/// Checks a finished output file without its input: an image must be in a format unseen
/// writes, carry nothing but what unseen's encoder writes (no metadata) and decode; a video must
/// have only the MP4 boxes unseen writes. Raises `VerifyError` naming the file otherwise. (Full
/// verification needs the input; this is what a rerun can check of an output it skips.)
#[pyfunction]
fn check_output(py: Python<'_>, path: PathBuf) -> PyResult<()> {
    py.detach(|| -> Result<(), Error> {
        let bytes = std::fs::read(&path).map_err(|e| Error::Io { path: path.clone(), op: "read output", cause: e })?;
        let fail = |cause: String| Error::Verify { path: path.clone(), cause };
        if unseen::video::is_video(&path) {
            return unseen::verify::video::check_boxes(&path, bytes.len() as u64).map_err(fail);
        }
        let Some(kind) = unseen::decode::ImageKind::from_extension(&path) else {
            return Err(fail("not an output name unseen writes".into()));
        };
        unseen::verify::check_container(kind, &bytes).map_err(fail)?;
        unseen::decode::decode_image(&path, &bytes, &unseen::Limits::default()).map(drop)
    })
    .map_err(|e| to_py(&e))
}

/// One loaded detector with its options; thread-safe, every method releases the GIL.
#[pyclass(frozen, module = "unseen._unseen")]
struct Engine {
    pipeline: Pipeline,
}

#[pymethods]
impl Engine {
    #[new]
    #[pyo3(signature = (**kwargs))]
    fn new(py: Python<'_>, kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<Engine> {
        let options = options_from(kwargs)?;
        let pipeline = py.detach(|| Pipeline::new(options)).map_err(|e| to_py(&e))?;
        Ok(Engine { pipeline })
    }

    /// The options in force, as JSON.
    fn options(&self) -> PyResult<String> {
        json(self.pipeline.options())
    }

    /// The inference engine that runs the detector: "tract" or "onnxruntime".
    fn backend(&self) -> &'static str {
        self.pipeline.detector().backend()
    }

    /// Anonymises an image held in memory: returns `(data, format, output_name, report_json)`.
    /// The bytes are verified (re-decoded and checked against the obscuring rule and for
    /// metadata) before they are returned; on any failure the exception names `name`.
    fn process_bytes<'py>(
        &self,
        py: Python<'py>,
        data: &[u8],
        name: PathBuf,
    ) -> PyResult<(Bound<'py, PyBytes>, &'static str, PathBuf, String)> {
        let head = &data[..data.len().min(64)];
        if unseen::video::routes_to_video(&name, head) {
            return Err(UnsupportedError::new_err(format!(
                "{}: unsupported input: a video or animated image: use process_file (videos are streamed through ffmpeg from a file)",
                name.display()
            )));
        }
        let out_name = output_name(&name, head);
        let started = std::time::Instant::now();
        let prepared = interruptible(py, &self.pipeline, || {
            let names = names_of(&name);
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            let manual = self.pipeline.options().regions.lookup(&names);
            self.pipeline.process_bytes(&name, data, &manual)
        })?
        .map_err(|e| to_py(&e))?;
        let mut report = FileReport::new(&name, Some(&out_name));
        report.status = Status::Ok;
        report.set_found(prepared.faces.clone());
        report.manual_regions = prepared.manual_regions;
        report.seconds = started.elapsed().as_secs_f64();
        Ok((PyBytes::new(py, &prepared.bytes), prepared.kind.name(), out_name, json(&report)?))
    }

    /// Anonymises the file `src` into `dst` (images and videos) with the CLI's
    /// verify-then-commit: a temp file in `dst`'s folder, verified, renamed into place. An
    /// existing `dst` is left alone (status "skipped") unless the engine overwrites. Returns the
    /// report as JSON; failures raise.
    #[pyo3(signature = (src, dst))]
    fn process_file(&self, py: Python<'_>, src: PathBuf, dst: PathBuf) -> PyResult<String> {
        let job = Job { names: names_of(&src), input: src, output: dst };
        let report = interruptible(py, &self.pipeline, || self.pipeline.run_job(&job))?;
        if report.status == Status::Error {
            let message = report.error.clone().unwrap_or_default();
            return Err(exception(report.error_kind.unwrap_or("error"), message));
        }
        json(&report)
    }
}

/// The names an input may have in a regions file: as given and its file name (the CLI's rule).
fn names_of(path: &Path) -> Vec<String> {
    let mut names = vec![path.to_string_lossy().into_owned()];
    if let Some(f) = path.file_name() {
        let f = f.to_string_lossy().into_owned();
        if f != names[0] {
            names.push(f);
        }
    }
    names
}

#[pymodule]
fn _unseen(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("MODEL_SHA256", unseen::MODEL_SHA256)?;
    m.add_class::<Engine>()?;
    m.add_function(wrap_pyfunction!(default_options, m)?)?;
    m.add_function(wrap_pyfunction!(sweep_stale, m)?)?;
    m.add_function(wrap_pyfunction!(plan_output_name, m)?)?;
    m.add_function(wrap_pyfunction!(is_video, m)?)?;
    m.add_function(wrap_pyfunction!(collect, m)?)?;
    m.add_function(wrap_pyfunction!(check_output, m)?)?;
    m.add("UnseenError", py.get_type::<UnseenError>())?;
    m.add("IoError", py.get_type::<IoError>())?;
    m.add("OutputIsInputError", py.get_type::<OutputIsInputError>())?;
    m.add("DecodeError", py.get_type::<DecodeError>())?;
    m.add("UnsupportedError", py.get_type::<UnsupportedError>())?;
    m.add("LimitError", py.get_type::<LimitError>())?;
    m.add("DetectError", py.get_type::<DetectError>())?;
    m.add("EncodeError", py.get_type::<EncodeError>())?;
    m.add("VerifyError", py.get_type::<VerifyError>())?;
    m.add("OptionsError", py.get_type::<OptionsError>())?;
    m.add("StoppedError", py.get_type::<StoppedError>())?;
    Ok(())
}
