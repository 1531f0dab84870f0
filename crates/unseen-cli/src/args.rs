//! Command-line arguments (clap) and their translation into library options. No clap type
//! reaches the library.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use unseen::regions::RegionMap;
use unseen::{Audio, Backend, Limits, Mode, Options, People, Preset, Shape};

/// Make photos and videos safe to publish: find every face, obscure it irreversibly, strip all metadata,
/// verify the result. Fully offline.
#[derive(Debug, Parser)]
#[command(name = "unseen", version, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Measure detection recall on an annotated WIDER FACE folder.
    Eval(crate::eval_cmd::EvalArgs),
    /// Review detections in a local web page, fix misses and false alarms, and publish. Decisions
    /// are saved after every change to a file in the --regions format (default:
    /// unseen-review.json beside the output folder, or --regions FILE), which
    /// `unseen --regions FILE INPUT...` reproduces without the page.
    Review(ReviewArgs),
}

#[derive(Debug, clap::Args)]
pub struct ReviewArgs {
    #[command(flatten)]
    pub run: RunArgs,

    /// Port on 127.0.0.1 (default: a free one). The server never listens on other interfaces.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub port: u16,

    /// Do not open a browser; only print the address.
    #[arg(long)]
    pub no_open: bool,
}

#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// Image or video files, or folders (searched recursively), to anonymise. Originals are never
    /// modified. Videos (mp4 mov m4v mkv webm avi) need ffmpeg and are written as .mp4.
    #[arg(value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,

    /// Output folder; folder inputs are mirrored below it, files keep their names.
    #[arg(short, long, value_name = "DIR", default_value = "unseen-out")]
    pub out: PathBuf,

    /// How faces are obscured. blur and mosaic keep at most a 4x4 grid of block means plus
    /// fresh noise (irreversible); solid paints black; none only outlines faces (preview, never publish).
    #[arg(long, value_enum, default_value_t = ModeArg::Blur)]
    pub mode: ModeArg,

    /// Shape of each obscured region.
    #[arg(long, value_enum, default_value_t = ShapeArg::Ellipse)]
    pub shape: ShapeArg,

    /// Cells per side of the block-mean grid of blur/mosaic. Above 4 needs --weak.
    #[arg(long, default_value_t = 4, value_name = "N")]
    pub grid: u32,

    /// Allow weaker, reversible obscuring (grid above 4). Faces may stay recognisable.
    #[arg(long)]
    pub weak: bool,

    /// Noise amplitude (0-255 levels) added to blur and mosaic.
    #[arg(long, default_value_t = 24, value_name = "LEVELS")]
    pub noise: u8,

    /// Detection score threshold, 0..1 (default: the preset's tuned value).
    #[arg(long, value_name = "SCORE")]
    pub threshold: Option<f32>,

    /// Enlarge each face box by this factor so the region covers the whole head.
    #[arg(long, default_value_t = 1.3, value_name = "FACTOR")]
    pub margin: f32,

    /// Detector preset: more passes find more (smaller) faces and take longer.
    #[arg(long, value_enum, default_value_t = PresetArg::Balanced)]
    pub preset: PresetArg,

    /// JSON file of manual regions to obscure or ignore per input (see README).
    #[arg(long, value_name = "FILE")]
    pub regions: Option<PathBuf>,

    /// Replace existing outputs (default: skip them, so a rerun resumes a batch).
    #[arg(long)]
    pub overwrite: bool,

    /// Write a JSON report (per input: output, status, error, face boxes; model hash, options).
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,

    /// Files processed in parallel (default: number of CPUs).
    #[arg(short, long, value_name = "N")]
    pub jobs: Option<usize>,

    /// Memory, in MiB, that the files processed at once may need together, by unseen's estimate
    /// (about 750 MiB for a 1080p video, 1.9 GiB for a 4K one, 420 MiB for a 12 MP photo): a
    /// file waits to start while it does not fit; one file always runs (default: three
    /// quarters of the memory available at start).
    #[arg(long, value_name = "MIB")]
    pub max_memory: Option<u64>,

    /// Threads for the detector's matrix products (default: number of CPUs); with tract, while
    /// several files are processed at once, each inference runs on one thread.
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,

    /// Inference engine: tract (built in), ort (onnxruntime, loaded at run time from
    /// ORT_DYLIB_PATH or an installed onnxruntime Python package; needs a build with the `ort`
    /// feature), or auto (ort when available, else tract).
    #[arg(long, value_enum, default_value_t = BackendArg::Auto)]
    pub backend: BackendArg,

    /// Refuse images larger than this many pixels (decompression-bomb guard).
    #[arg(long, default_value_t = Limits::default().max_pixels, value_name = "PIXELS")]
    pub max_pixels: u64,

    /// JPEG output quality, 1-100.
    #[arg(long, default_value_t = 92, value_name = "Q")]
    pub jpeg_quality: u8,

    /// Videos: keep the audio (re-encoded to AAC; voices stay) or drop it.
    #[arg(long, value_enum, default_value_t = AudioArg::Drop)]
    pub audio: AudioArg,

    /// Images, balanced preset: run the finest detection passes only around the faces the cheap
    /// YuNet model and the coarse pass propose, and over the whole image when that would not save
    /// three quarters (a crowd). On by default: 2× faster on photos with few faces, the same
    /// recall on WIDER FACE (see BENCHMARKS.md).
    #[arg(long, overrides_with = "no_cascade")]
    pub cascade: bool,

    /// Images, balanced preset: run the finest detection passes over the whole image, always
    /// (what the default did before the cascade).
    #[arg(long, overrides_with = "cascade")]
    pub no_cascade: bool,

    /// Also obscure text: licence plates, name badges, street signs, placards, in any script
    /// (PP-OCRv4 text detector). Off by default: it also hides the words of a protest sign.
    #[arg(long)]
    pub text: bool,

    /// Also obscure people (YOLOX-Nano person detector): each whole person, or only the head
    /// area of each person box with `--people-cover head`.
    #[arg(long)]
    pub people: bool,

    /// With --people: obscure the whole person (body) or only the head area of each person box
    /// (head: also covers heads turned away from the camera, leaves the scene readable).
    #[arg(long, value_enum, default_value_t = PeopleArg::Body, requires = "people", value_name = "WHAT")]
    pub people_cover: PeopleArg,

    /// Score threshold of the person detector (0-1).
    #[arg(long, default_value_t = unseen::detect::people::THRESHOLD, value_name = "T")]
    pub people_threshold: f32,

    /// Videos: frames before a face's first and after its last detection that stay covered
    /// (also the longest run of missed frames bridged between two detections).
    #[arg(long, default_value_t = 10, value_name = "FRAMES")]
    pub extend: u32,

    /// Videos: most frames from one full detection to the next (1 = every frame); in between
    /// only tracked faces are re-detected, and cuts, fast motion and lost faces force a full
    /// detection. Default: fast 8, balanced 4, thorough 1; at most --extend + 1.
    #[arg(long, value_name = "FRAMES")]
    pub keyframe_interval: Option<u32>,

    /// Do not restrict the process with Landlock and seccomp (by default, before decoding
    /// anything, unseen and its ffmpeg children may only read the inputs and system files, write
    /// only in the output folder, and create no socket).
    #[arg(long, conflicts_with = "require_sandbox")]
    pub no_sandbox: bool,

    /// Refuse to run when the kernel cannot enforce the whole sandbox (by default unseen warns
    /// once and goes on).
    #[arg(long)]
    pub require_sandbox: bool,

    /// No progress bar and no summary line; errors are still printed.
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ModeArg {
    Blur,
    Mosaic,
    Solid,
    None,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ShapeArg {
    Ellipse,
    Box,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PeopleArg {
    Body,
    Head,
}

impl From<PeopleArg> for People {
    fn from(p: PeopleArg) -> People {
        match p {
            PeopleArg::Body => People::Body,
            PeopleArg::Head => People::Head,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AudioArg {
    Keep,
    Drop,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum BackendArg {
    Auto,
    Tract,
    Ort,
}

impl From<BackendArg> for Backend {
    fn from(b: BackendArg) -> Backend {
        match b {
            BackendArg::Auto => Backend::Auto,
            BackendArg::Tract => Backend::Tract,
            BackendArg::Ort => Backend::Ort,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PresetArg {
    Fast,
    Balanced,
    Thorough,
}

impl From<PresetArg> for Preset {
    fn from(p: PresetArg) -> Preset {
        match p {
            PresetArg::Fast => Preset::Fast,
            PresetArg::Balanced => Preset::Balanced,
            PresetArg::Thorough => Preset::Thorough,
        }
    }
}

pub fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

impl RunArgs {
    /// The detection and obscuring flags that differ from their defaults, as command-line words
    /// (for the command that reproduces a review's outputs).
    pub fn option_flags(&self) -> Vec<String> {
        let d = Cli::parse_from(["unseen"]).run;
        let mut out = Vec::new();
        let mut flag = |name: &str, v: String, default: String| {
            if v != default {
                out.push(format!("--{name}"));
                out.push(v);
            }
        };
        let lower = |v: &dyn std::fmt::Debug| format!("{v:?}").to_lowercase();
        flag("mode", lower(&self.mode), lower(&d.mode));
        flag("shape", lower(&self.shape), lower(&d.shape));
        flag("grid", self.grid.to_string(), d.grid.to_string());
        flag("noise", self.noise.to_string(), d.noise.to_string());
        flag("margin", self.margin.to_string(), d.margin.to_string());
        flag("preset", lower(&self.preset), lower(&d.preset));
        flag("backend", lower(&self.backend), lower(&d.backend));
        flag("max-pixels", self.max_pixels.to_string(), d.max_pixels.to_string());
        flag("jpeg-quality", self.jpeg_quality.to_string(), d.jpeg_quality.to_string());
        flag("audio", lower(&self.audio), lower(&d.audio));
        flag("extend", self.extend.to_string(), d.extend.to_string());
        flag("people-threshold", self.people_threshold.to_string(), d.people_threshold.to_string());
        if let Some(t) = self.threshold {
            flag("threshold", t.to_string(), String::new());
        }
        if let Some(k) = self.keyframe_interval {
            flag("keyframe-interval", k.to_string(), String::new());
        }
        if self.no_cascade {
            out.push("--no-cascade".into());
        }
        if self.text {
            out.push("--text".into());
        }
        if self.people {
            out.push("--people".into());
            if self.people_cover != PeopleArg::Body {
                out.push("--people-cover".into());
                out.push(lower(&self.people_cover));
            }
        }
        if self.weak {
            out.push("--weak".into());
        }
        out
    }

    /// Builds the library options; reads the regions file.
    pub fn to_options(&self) -> anyhow::Result<Options> {
        let preset: Preset = self.preset.into();
        let regions = match &self.regions {
            Some(p) => RegionMap::load(p).with_context(|| format!("loading regions from {}", p.display()))?,
            None => RegionMap::default(),
        };
        let options = Options {
            mode: match self.mode {
                ModeArg::Blur => Mode::Blur,
                ModeArg::Mosaic => Mode::Mosaic,
                ModeArg::Solid => Mode::Solid,
                ModeArg::None => Mode::None,
            },
            shape: match self.shape {
                ShapeArg::Ellipse => Shape::Ellipse,
                ShapeArg::Box => Shape::Box,
            },
            grid: self.grid,
            allow_weak: self.weak,
            noise: self.noise,
            margin: self.margin,
            threshold: self.threshold.unwrap_or(preset.default_threshold()),
            preset,
            cascade: self.cascade || !self.no_cascade,
            jpeg_quality: self.jpeg_quality,
            overwrite: self.overwrite,
            detector_threads: self.threads.unwrap_or_else(cpus),
            backend: self.backend.into(),
            limits: Limits { max_pixels: self.max_pixels, ..Limits::default() },
            regions,
            audio: match self.audio {
                AudioArg::Keep => Audio::Keep,
                AudioArg::Drop => Audio::Drop,
            },
            text: self.text,
            people: self.people.then_some(self.people_cover.into()),
            people_threshold: self.people_threshold,
            video_extend_frames: self.extend,
            video_keyframe_interval: self.keyframe_interval,
            memory_budget: self.max_memory.map(|m| m.saturating_mul(1 << 20)),
            noise_seed: None,
        };
        options.validate()?;
        Ok(options)
    }
}
