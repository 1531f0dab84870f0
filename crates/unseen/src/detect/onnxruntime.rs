//! The onnxruntime backend (cargo feature `ort`): the same embedded model run by onnxruntime,
//! loaded at run time (nothing is downloaded or linked at build time).
//!
//! The library is looked for, in order:
//! 1. `ORT_DYLIB_PATH`, when set and not empty (the path of `libonnxruntime.so*`; nothing else is
//!    tried when it is set);
//! 2. an installed `onnxruntime` Python package (the PyPI wheel ships
//!    `onnxruntime/capi/libonnxruntime.so.<version>`), searched without running Python in the
//!    `site-packages`/`dist-packages` folders of: `$VIRTUAL_ENV`, the prefix of every `python3`
//!    on `PATH` (`<dir>/../lib/python3*/`, so an activated or listed virtualenv is found), and
//!    `~/.local` (`pip install --user`).

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use ort::session::builder::GraphOptimizationLevel;
use ort::session::Session;
use ort::value::TensorRef;
use prost::Message;
use tract_onnx::pb;

use super::model::{RawOutput, MODEL_BYTES};

/// The outputs used (heatmap, scale, offset); "540" (landmarks) is removed from the graph.
const OUTPUTS: [&str; 3] = ["537", "538", "539"];

/// A loaded onnxruntime session of the embedded model.
pub struct OrtNetwork {
    sessions: Sessions,
    library: PathBuf,
}

/// The onnxruntime sessions of one model. `Session::run` takes `&mut self`, so a session serves
/// one caller at a time. A file processed alone runs on the session with `threads` intra-op
/// threads; while several files are in flight (see [`super::model::FileInFlight`], the rule
/// tract follows too), each caller takes a single-threaded session of its own from a pool, made
/// on first need: the files keep the cores busy, and two callers waiting on one session (or two
/// multi-threaded runs on two cores) left them idle or oversubscribed.
struct Sessions {
    bytes: Vec<u8>,
    threads: usize,
    wide: Mutex<Session>,
    narrow: Mutex<Vec<Session>>,
}

impl Sessions {
    fn new(bytes: Vec<u8>, threads: usize) -> Result<Sessions, String> {
        let wide = session(&bytes, threads)?;
        Ok(Sessions { bytes, threads, wide: Mutex::new(wide), narrow: Mutex::new(Vec::new()) })
    }

    /// Runs `f` on a session chosen as described on [`Sessions`].
    fn with<R>(&self, f: impl FnOnce(&mut Session) -> Result<R, String>) -> Result<R, String> {
        if self.threads > 1 && super::model::one_thread_each() {
            let idle = self.narrow.lock().map_err(|_| "onnxruntime session poisoned")?.pop();
            let mut s = match idle {
                Some(s) => s,
                None => session(&self.bytes, 1)?,
            };
            let out = f(&mut s);
            self.narrow.lock().map_err(|_| "onnxruntime session poisoned")?.push(s);
            out
        } else {
            let mut s = self.wide.lock().map_err(|_| "onnxruntime session poisoned")?;
            f(&mut s)
        }
    }
}

/// A session of the model `bytes` with `threads` intra-op threads.
fn session(bytes: &[u8], threads: usize) -> Result<Session, String> {
    Session::builder()
        .and_then(|b| Ok(b.with_optimization_level(GraphOptimizationLevel::Level3)?))
        .and_then(|b| Ok(b.with_intra_threads(threads.max(1))?))
        .and_then(|b| Ok(b.with_inter_threads(1)?))
        // no busy-waiting between runs: on a 2-core laptop the decoder, the encoder and the
        // other image workers need those cycles (measured: spinning cost ~40% of the CPU)
        .and_then(|b| Ok(b.with_intra_op_spinning(false)?))
        // input sizes vary (scales, tiles, video windows): no memory pattern planned and kept
        // per size (the arena stays: without it, every run maps and zeroes its buffers anew)
        .and_then(|b| Ok(b.with_memory_pattern(false)?))
        .and_then(|mut b| b.commit_from_memory(bytes))
        .map_err(|e| format!("onnxruntime session: {e}"))
}

/// Any other embedded model on onnxruntime (YuNet, the cascade's proposer): its named outputs
/// as flat planes.
pub struct OrtModel {
    sessions: Sessions,
    input: String,
    outputs: Vec<String>,
}

impl OrtModel {
    /// Loads onnxruntime (once per process) and builds sessions of the ONNX model `bytes`, whose
    /// input is one free-sized 1×3×h×w tensor, keeping the outputs named `outputs`.
    ///
    /// # Errors
    /// One line: library not found or not loadable, or the session error.
    pub fn load(bytes: &[u8], outputs: &[String], threads: usize) -> Result<OrtModel, String> {
        load()?;
        let sessions = Sessions::new(bytes.to_vec(), threads)?;
        let input = {
            let wide = sessions.wide.lock().map_err(|_| "onnxruntime session poisoned")?;
            if let Some(o) = outputs.iter().find(|o| !wide.outputs().iter().any(|x| x.name() == o.as_str())) {
                return Err(format!("onnxruntime: the model has no output {o}"));
            }
            wide.inputs().first().map(|i| i.name().to_string()).ok_or("onnxruntime: the model has no input")?
        };
        Ok(OrtModel { sessions, input, outputs: outputs.to_vec() })
    }

    /// Runs the model on a planar 1×3×h×w tensor and returns its outputs, in the order named
    /// at load, as flat row-major planes.
    ///
    /// # Errors
    /// The onnxruntime error text.
    pub fn run(&self, h: usize, w: usize, chw: &[f32]) -> Result<Vec<Vec<f32>>, String> {
        let input = TensorRef::from_array_view(([1usize, 3, h, w], chw)).map_err(|e| format!("{e}"))?;
        self.sessions.with(|session| {
            let out =
                session.run(ort::inputs![self.input.as_str() => input]).map_err(|e| format!("onnxruntime: {e}"))?;
            self.outputs
                .iter()
                .map(|o| {
                    let value = out.get(o.as_str()).ok_or_else(|| format!("the model has no output {o}"))?;
                    let (_, data) = value.try_extract_tensor::<f32>().map_err(|e| format!("output {o}: {e}"))?;
                    Ok(data.to_vec())
                })
                .collect()
        })
    }
}

static LOADED: OnceLock<Result<PathBuf, String>> = OnceLock::new();

/// Where [`find_library`] found the library (or why not), searched once per process.
static FOUND: OnceLock<Result<PathBuf, String>> = OnceLock::new();

/// Finds the onnxruntime library (see the module documentation) without loading it. The search
/// runs once per process and its answer is kept: the CLI searches before it enters the sandbox,
/// which leaves only the library's own folder readable, so a search repeated inside it (listing
/// `lib/` of a virtualenv) would find nothing.
///
/// # Errors
/// One line saying where it was looked for.
pub fn find_library() -> Result<PathBuf, String> {
    FOUND.get_or_init(search_library).clone()
}

fn search_library() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("ORT_DYLIB_PATH").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        return if p.is_file() { Ok(p) } else { Err(format!("ORT_DYLIB_PATH={} is not a file", p.display())) };
    }
    for dir in site_dirs() {
        let capi = dir.join("onnxruntime").join("capi");
        let Ok(entries) = std::fs::read_dir(&capi) else { continue };
        let mut libs: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                    n == "libonnxruntime.so"
                        || n.starts_with("libonnxruntime.so.")
                        || n.ends_with(".dylib") && n.starts_with("libonnxruntime.")
                })
            })
            .collect();
        libs.sort();
        if let Some(lib) = libs.pop() {
            return Ok(lib);
        }
    }
    Err("onnxruntime library not found (set ORT_DYLIB_PATH, or `pip install onnxruntime`)".into())
}

/// Candidate Python package folders, most specific first, without duplicates.
fn site_dirs() -> Vec<PathBuf> {
    let mut prefixes: Vec<PathBuf> = Vec::new();
    if let Some(v) = std::env::var_os("VIRTUAL_ENV").filter(|v| !v.is_empty()) {
        prefixes.push(PathBuf::from(v));
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if dir.join("python3").exists() {
                if let Some(prefix) = dir.parent() {
                    prefixes.push(prefix.to_path_buf());
                }
            }
        }
    }
    if let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        prefixes.push(Path::new(&home).join(".local"));
    }
    let mut out: Vec<PathBuf> = Vec::new();
    for prefix in prefixes {
        let lib = prefix.join("lib");
        let Ok(entries) = std::fs::read_dir(&lib) else { continue };
        let mut pythons: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("python3")))
            .collect();
        pythons.sort();
        pythons.reverse();
        for py in pythons {
            for sub in ["site-packages", "dist-packages"] {
                let d = py.join(sub);
                if d.is_dir() && !out.contains(&d) {
                    out.push(d);
                }
            }
        }
    }
    out
}

/// Loads the library once per process (onnxruntime cannot be unloaded or swapped).
fn load() -> Result<&'static Path, String> {
    let loaded = LOADED.get_or_init(|| {
        let path = find_library()?;
        let builder = ort::init_from(&path).map_err(|e| format!("loading onnxruntime: {e}"))?;
        builder.with_name("unseen").with_telemetry(false).commit();
        Ok(path)
    });
    loaded.as_deref().map_err(Clone::clone)
}

/// The embedded model with free batch/height/width dimensions (its declared shapes are fixed
/// dummies, 10×3×32×32, which onnxruntime enforces) and without the landmark output.
fn dynamic_model() -> Result<Vec<u8>, String> {
    use pb::tensor_shape_proto::{dimension, Dimension};
    use pb::type_proto;
    let mut model = pb::ModelProto::decode(MODEL_BYTES).map_err(|e| format!("parsing the model: {e}"))?;
    let graph = model.graph.as_mut().ok_or("the model has no graph")?;
    graph.output.retain(|o| OUTPUTS.contains(&o.name.as_str()));
    let free = |v: &mut pb::ValueInfoProto, names: [&str; 4], keep_channels: bool| -> Result<(), String> {
        let Some(type_proto::Value::TensorType(t)) = v.r#type.as_mut().and_then(|t| t.value.as_mut()) else {
            return Err(format!("{}: not a tensor", v.name));
        };
        let shape = t.shape.get_or_insert_with(Default::default);
        let old = shape.dim.clone();
        shape.dim = names
            .iter()
            .enumerate()
            .map(|(i, n)| {
                if i == 1 && keep_channels {
                    old.get(1).cloned().unwrap_or_default()
                } else {
                    Dimension { value: Some(dimension::Value::DimParam((*n).into())), ..Default::default() }
                }
            })
            .collect();
        Ok(())
    };
    let input = graph.input.iter_mut().find(|i| i.name == "input.1").ok_or("the model has no input.1")?;
    free(input, ["n", "c", "h", "w"], true)?;
    for out in &mut graph.output {
        free(out, ["n", "c", "h4", "w4"], true)?;
    }
    Ok(model.encode_to_vec())
}

impl OrtNetwork {
    /// Loads onnxruntime (once per process) and builds a session of the embedded model with
    /// `threads` intra-op threads.
    ///
    /// # Errors
    /// One line: library not found or not loadable, or the session error.
    pub fn load(threads: usize) -> Result<OrtNetwork, String> {
        let library = load()?.to_path_buf();
        Ok(OrtNetwork { sessions: Sessions::new(dynamic_model()?, threads)?, library })
    }

    /// The library file in use.
    #[must_use]
    pub fn library(&self) -> &Path {
        &self.library
    }

    /// Runs the network on a planar RGB tensor (values 0..255) of shape 1×3×h×w.
    ///
    /// # Errors
    /// The onnxruntime error text.
    pub fn run(&self, h: usize, w: usize, chw: &[f32]) -> Result<RawOutput, String> {
        let input = TensorRef::from_array_view(([1usize, 3, h, w], chw)).map_err(|e| format!("{e}"))?;
        self.sessions.with(|session| {
            let out = session.run(ort::inputs!["input.1" => input]).map_err(|e| format!("onnxruntime: {e}"))?;
            let take = |name: &str, ch: usize| -> Result<Vec<f32>, String> {
                let (shape, data) = out[name].try_extract_tensor::<f32>().map_err(|e| format!("output {name}: {e}"))?;
                let dims: Vec<i64> = shape.iter().copied().collect();
                if dims != [1, ch as i64, (h / 4) as i64, (w / 4) as i64] {
                    return Err(format!("unexpected output shape {dims:?}"));
                }
                Ok(data.to_vec())
            };
            Ok(RawOutput {
                rows: h / 4,
                cols: w / 4,
                heat: take(OUTPUTS[0], 1)?,
                scale: take(OUTPUTS[1], 2)?,
                offset: take(OUTPUTS[2], 2)?,
            })
        })
    }
}
