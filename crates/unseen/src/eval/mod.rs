//! Evaluation on WIDER FACE-style folders: the official AP protocol plus recall at the operating
//! threshold, false detections per image, recall by face height, and the protected fraction
//! (the share of faces that the obscured regions would actually cover).

pub mod metrics;
pub mod widerface;

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use self::metrics::{average_precision, false_detections_per_image, is_valid, normalise, recall_at, recall_by_height};
use self::widerface::{apply_subsets, parse_gt, GtImage, Predictions};
use crate::error::{Error, Result};
use crate::geom::Rect;
use crate::regions::ManualRegions;
use crate::Pipeline;

/// A WIDER FACE-style evaluation folder: `images/<path>`, `wider_face_gt.txt`, `subsets.tsv`.
pub struct Dataset {
    /// The folder.
    pub root: PathBuf,
    /// Annotated images in ground-truth order.
    pub images: Vec<GtImage>,
}

impl Dataset {
    /// Loads the ground truth and subsets of a folder.
    ///
    /// # Errors
    /// [`Error::Io`] or [`Error::Decode`] naming the file.
    pub fn load(root: &Path) -> Result<Dataset> {
        let gt_path = root.join("wider_face_gt.txt");
        let text = std::fs::read_to_string(&gt_path).map_err(|e| Error::io(&gt_path, "read ground truth", e))?;
        let mut images = parse_gt(&gt_path, &text)?;
        let sub_path = root.join("subsets.tsv");
        let text = std::fs::read_to_string(&sub_path).map_err(|e| Error::io(&sub_path, "read subsets", e))?;
        apply_subsets(&sub_path, &text, &mut images)?;
        Ok(Dataset { root: root.to_path_buf(), images })
    }

    /// Path of an image on disk.
    #[must_use]
    pub fn image_path(&self, img: &GtImage) -> PathBuf {
        self.root.join("images").join(&img.path)
    }

    /// Image paths in order.
    #[must_use]
    pub fn order(&self) -> Vec<String> {
        self.images.iter().map(|i| i.path.clone()).collect()
    }
}

/// The figures of one evaluation run.
#[derive(Debug, Clone, Serialize)]
pub struct EvalReport {
    /// Where the detections came from ("unseen" or the predictions file).
    pub source: String,
    /// Preset used (when unseen detected).
    pub preset: Option<crate::Preset>,
    /// Operating threshold.
    pub threshold: f32,
    /// Official-protocol AP, easy setting.
    pub ap_easy: f64,
    /// Official-protocol AP, medium setting.
    pub ap_medium: f64,
    /// Official-protocol AP, hard setting.
    pub ap_hard: f64,
    /// Recall at the operating threshold, easy.
    pub recall_easy: f64,
    /// Recall at the operating threshold, medium.
    pub recall_medium: f64,
    /// Recall at the operating threshold, hard.
    pub recall_hard: f64,
    /// Detections per image that overlap no annotated face (IoU < 0.5).
    pub fp_per_image: f64,
    /// Recall of valid faces by height: <10, 10–20, 20–40, ≥40 px.
    pub recall_by_height: [f64; 4],
    /// Valid faces per height bucket.
    pub faces_by_height: [usize; 4],
    /// Share of valid faces whose box lies at least 90% inside the obscured regions (with
    /// `--people`, the person regions count too).
    pub protected: f64,
    /// Mean share of each image's area that is obscured: the cost of the regions.
    pub obscured_area: f64,
    /// Recall of valid faces ≥ 20 px tall.
    pub recall_ge20: f64,
    /// Images evaluated.
    pub images: usize,
    /// Valid faces.
    pub faces: usize,
    /// Wall-clock seconds per image for decode + detection (0 when scoring a file).
    pub seconds_per_image: f64,
}

/// Runs unseen's detector (with the pipeline's preset and threshold) over the dataset. Returns
/// the face predictions, the person detections (when the pipeline detects people: they count
/// towards `protected` only) and seconds per image. With `frames`, each image is detected as a
/// video keyframe is ([`Pipeline::detect_frame`]: the preset's video passes), which measures
/// what a full detection in a video finds. `progress` is called after each image.
///
/// # Errors
/// The first image that cannot be read or decoded.
pub fn detect_dataset(
    pipeline: &Pipeline,
    ds: &Dataset,
    frames: bool,
    progress: &dyn Fn(usize),
) -> Result<(Predictions, Predictions, f64)> {
    let mut preds = Predictions::new();
    let mut people = Predictions::new();
    let start = Instant::now();
    for (i, img) in ds.images.iter().enumerate() {
        let path = ds.image_path(img);
        let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, "read image", e))?;
        let decoded = crate::decode::decode_image(&path, &bytes, &pipeline.options().limits)?;
        let dets = if frames {
            let mut dets = pipeline.detect_frame(&path, &decoded.rgb, &ManualRegions::default())?;
            dets.extend(pipeline.detect_extras(&path, &decoded.rgb)?);
            dets
        } else {
            pipeline.detect(&path, &decoded.rgb, &ManualRegions::default())?
        };
        let of = |kind| dets.iter().filter(|d| d.kind == kind).map(|d| (d.rect, d.score)).collect();
        preds.insert(img.path.clone(), of(crate::detect::Kind::Face));
        people.insert(img.path.clone(), of(crate::detect::Kind::Person));
        progress(i + 1);
    }
    let n = ds.images.len().max(1);
    Ok((preds, people, start.elapsed().as_secs_f64() / n as f64))
}

/// Scores predictions against the dataset. Operating-point figures (recall, false detections,
/// recall by height, protected) count the predictions scoring at least `min_score`: pass the
/// threshold for another tool's predictions, and 0 for unseen's own detections, which are
/// already exactly the boxes that would be obscured (the presets keep some well-sized boxes
/// below the nominal threshold). The protected fraction uses the pipeline's margin and shape;
/// `people` (person boxes, from [`detect_dataset`]) add their regions by the pipeline's rule.
///
/// # Errors
/// [`Error::Io`]/[`Error::Decode`] if an image's size cannot be read (needed for the mask).
pub fn score(
    pipeline: &Pipeline,
    ds: &Dataset,
    preds: &Predictions,
    people: &Predictions,
    source: &str,
    min_score: f32,
    seconds_per_image: f64,
) -> Result<EvalReport> {
    let threshold = min_score;
    let lists: Vec<Vec<(Rect, f32)>> =
        ds.images.iter().map(|i| preds.get(&i.path).cloned().unwrap_or_default()).collect();
    let norm = normalise(&lists);
    let ap = |s| average_precision(&ds.images, &norm, s);
    let rec = |s| recall_at(&ds.images, &lists, s, threshold);
    let buckets = recall_by_height(&ds.images, &lists, threshold);
    let frac = |(a, b): (usize, usize)| if b == 0 { 0.0 } else { a as f64 / b as f64 };

    let (mut protected, mut valid, mut area) = (0usize, 0usize, 0.0f64);
    for (img, list) in ds.images.iter().zip(&lists) {
        let path = ds.image_path(img);
        let (w, h) = image::image_dimensions(&path).map_err(|e| Error::decode(&path, e))?;
        let mut dets: Vec<crate::detect::Detection> = list
            .iter()
            .filter(|(_, s)| *s >= threshold)
            .map(|&(rect, score)| crate::detect::Detection::face(rect, score))
            .collect();
        let persons = people.get(&img.path).map(Vec::as_slice).unwrap_or_default();
        dets.extend(persons.iter().map(|&(rect, score)| crate::detect::Detection {
            rect,
            score,
            kind: crate::detect::Kind::Person,
        }));
        let regions = pipeline.regions_for(&dets, &ManualRegions::default());
        let mask = crate::obscure::covered_mask(&regions, w, h);
        area += mask.iter().filter(|&&m| m).count() as f64 / mask.len().max(1) as f64;
        for f in img.faces.iter().filter(|f| is_valid(f)) {
            valid += 1;
            let Some((x0, y0, x1, y1)) = crate::obscure::bounds(&f.rect, w, h) else { continue };
            let total = u64::from(x1 - x0) * u64::from(y1 - y0);
            let mut covered = 0u64;
            for y in y0..y1 {
                for x in x0..x1 {
                    covered += u64::from(mask[(y * w + x) as usize]);
                }
            }
            if covered as f64 >= 0.9 * total as f64 {
                protected += 1;
            }
        }
    }
    let ge20 = (buckets[2].0 + buckets[3].0, buckets[2].1 + buckets[3].1);
    Ok(EvalReport {
        source: source.to_string(),
        preset: (source == "unseen").then_some(pipeline.options().preset),
        threshold: pipeline.options().threshold,
        ap_easy: ap(0),
        ap_medium: ap(1),
        ap_hard: ap(2),
        recall_easy: rec(0),
        recall_medium: rec(1),
        recall_hard: rec(2),
        fp_per_image: false_detections_per_image(&ds.images, &lists, threshold),
        recall_by_height: buckets.map(frac),
        faces_by_height: buckets.map(|b| b.1),
        protected: frac((protected, valid)),
        obscured_area: area / ds.images.len().max(1) as f64,
        recall_ge20: frac(ge20),
        images: ds.images.len(),
        faces: valid,
        seconds_per_image,
    })
}
