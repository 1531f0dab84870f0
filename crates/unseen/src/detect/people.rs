//! Whole people with the embedded YOLOX-Nano (COCO class 0, "person"). Used by `--people`.
//!
//! The network takes a fixed 416×416 input (BGR, 0..255, the image letterboxed top-left with
//! padding value 114). One pass sees the whole image; images larger than [`TILE_ABOVE`] also get
//! a 2×2 grid of overlapping tiles, so that the people of a crowd photo are not a few pixels tall
//! in the network's input. Boxes of all passes are merged by NMS.

use image::imageops::FilterType;
use image::RgbImage;

use super::letterbox::bgr_tensor;
use super::model::{set_threads, Plans};
use super::postprocess::nms;
use super::{Detection, Kind};
use crate::geom::Rect;

/// The YOLOX-Nano model (Apache-2.0, Megvii; see models/README.md), embedded at build time.
pub static MODEL_BYTES: &[u8] = include_bytes!("../../../../models/yolox_nano.onnx");
/// sha256 of [`MODEL_BYTES`].
pub const MODEL_SHA256: &str = "695e750a5d5754bb5a8d5325643b59282191a7e7a564e435a415fd3c578eab14";

/// Network input side.
pub const SIDE: u32 = 416;
/// Default score threshold (objectness × class probability), low for recall.
pub const THRESHOLD: f32 = 0.25;
/// NMS IoU (the publisher's value).
pub const NMS_IOU: f32 = 0.45;
/// Images whose long side exceeds this are also run as 2×2 overlapping tiles.
pub const TILE_ABOVE: u32 = 1024;
/// Each tile spans this share of the image's width and height (so neighbours overlap by a fifth).
pub const TILE_SHARE: f32 = 0.6;

/// The person detector. `&PersonDetector` is `Sync`.
pub struct PersonDetector {
    plans: Plans,
}

impl PersonDetector {
    /// Parses the embedded model (tract, `threads` threads: see [`set_threads`]).
    ///
    /// # Errors
    /// The tract error text.
    pub fn new(threads: usize) -> Result<PersonDetector, String> {
        set_threads(threads);
        Ok(PersonDetector { plans: Plans::parse(MODEL_BYTES, &[])? })
    }

    /// The (x, y, w, h) source areas a `w`×`h` image is run on: the whole image, plus tiles
    /// when it is large.
    #[must_use]
    pub fn areas(w: u32, h: u32) -> Vec<(u32, u32, u32, u32)> {
        let mut out = vec![(0, 0, w, h)];
        if w.max(h) > TILE_ABOVE {
            let (tw, th) = ((w as f32 * TILE_SHARE).round() as u32, (h as f32 * TILE_SHARE).round() as u32);
            for (x, y) in [(0, 0), (w - tw, 0), (0, h - th), (w - tw, h - th)] {
                out.push((x, y, tw, th));
            }
        }
        out
    }

    /// People in `img`, in source pixels, scored at least `threshold`.
    ///
    /// # Errors
    /// The tract error text.
    pub fn detect(&self, img: &RgbImage, threshold: f32) -> Result<Vec<Detection>, String> {
        let (w, h) = img.dimensions();
        let mut all = Vec::new();
        for (x, y, aw, ah) in Self::areas(w, h) {
            let r = (SIDE as f32 / aw as f32).min(SIDE as f32 / ah as f32);
            let (sw, sh) = (((aw as f32 * r) as u32).clamp(1, SIDE), ((ah as f32 * r) as u32).clamp(1, SIDE));
            let area = image::imageops::crop_imm(img, x, y, aw, ah).to_image();
            let scaled = image::imageops::resize(&area, sw, sh, FilterType::Triangle);
            let side = SIDE as usize;
            // BGR, the image at the top left, padding 114 (YOLOX's letterbox)
            let out = self.plans.run(side, side, bgr_tensor(&scaled, side, side, 114.0))?;
            let v = out[0].to_plain_array_view::<f32>().map_err(|e| format!("{e:#}"))?;
            if v.shape().len() != 3 || v.shape()[2] < 6 {
                return Err(format!("unexpected YOLOX output shape {:?}", v.shape()));
            }
            let rows: Vec<f32> = v.iter().copied().collect();
            let (fx, fy) = (sw as f32 / aw as f32, sh as f32 / ah as f32);
            for d in decode(&rows, v.shape()[2], threshold) {
                let b = d.rect;
                let rect = Rect::from_corners(
                    (x as f32 + b.x / fx).max(0.0),
                    (y as f32 + b.y / fy).max(0.0),
                    (x as f32 + b.x2() / fx).min(w as f32),
                    (y as f32 + b.y2() / fy).min(h as f32),
                );
                if rect.is_valid() {
                    all.push(Detection { rect, ..d });
                }
            }
        }
        Ok(nms(all, NMS_IOU))
    }
}

/// Person boxes (network-input pixels) from YOLOX's raw rows of `stride` values
/// (cx, cy, log w, log h relative to the grid cell; objectness; class scores), strides 8, 16, 32.
#[must_use]
pub fn decode(rows: &[f32], stride: usize, threshold: f32) -> Vec<Detection> {
    let mut out = Vec::new();
    let mut i = 0;
    for s in [8usize, 16, 32] {
        let g = SIDE as usize / s;
        for gy in 0..g {
            for gx in 0..g {
                let Some(row) = rows.get(i * stride..(i + 1) * stride) else { return out };
                i += 1;
                let score = row[4] * row[5];
                if score < threshold {
                    continue;
                }
                let sf = s as f32;
                let (cx, cy) = ((row[0] + gx as f32) * sf, (row[1] + gy as f32) * sf);
                let (bw, bh) = (row[2].min(10.0).exp() * sf, row[3].min(10.0).exp() * sf);
                let rect = Rect::from_corners(cx - bw / 2.0, cy - bh / 2.0, cx + bw / 2.0, cy + bh / 2.0);
                out.push(Detection { rect, score, kind: Kind::Person });
            }
        }
    }
    out
}

/// The head area of a person box: the full width (raised arms, a head turned away) and the top
/// quarter of the height, or more for a box cut at the waist (wide boxes): at least half the
/// width, never more than the box.
#[must_use]
pub fn head_of(person: &Rect) -> Rect {
    let h = (person.h * 0.25).max(person.w * 0.5).min(person.h);
    Rect { x: person.x, y: person.y, w: person.w, h }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_grid_cells_and_skips_low_scores() {
        let stride = 85;
        let n = 52 * 52 + 26 * 26 + 13 * 13;
        let mut rows = vec![0.0f32; n * stride];
        // stride-16 cell (gx 3, gy 2): the first such row follows the 52×52 stride-8 rows
        let i = 52 * 52 + 2 * 26 + 3;
        let r = &mut rows[i * stride..(i + 1) * stride];
        r[0] = 0.5;
        r[1] = 0.5;
        r[2] = 2f32.ln(); // 32 px wide
        r[3] = 4f32.ln(); // 64 px tall
        r[4] = 0.9;
        r[5] = 0.8;
        r[6] = 0.99; // another class: ignored
        let d = decode(&rows, stride, 0.25);
        assert_eq!(d.len(), 1, "{d:?}");
        let b = d[0].rect;
        assert!((b.x - (3.5 * 16.0 - 16.0)).abs() < 1e-3 && (b.y - (2.5 * 16.0 - 32.0)).abs() < 1e-3, "{b:?}");
        assert!((b.w - 32.0).abs() < 1e-3 && (b.h - 64.0).abs() < 1e-3);
        assert!((d[0].score - 0.72).abs() < 1e-6 && d[0].kind == Kind::Person);
        assert!(decode(&rows, stride, 0.8).is_empty());
    }

    #[test]
    fn large_images_are_tiled_and_heads_sit_on_top() {
        assert_eq!(PersonDetector::areas(640, 480).len(), 1);
        let a = PersonDetector::areas(4000, 3000);
        assert_eq!(a.len(), 5);
        assert_eq!(a[4], (1600, 1200, 2400, 1800));
        let standing = head_of(&Rect { x: 10.0, y: 20.0, w: 40.0, h: 160.0 });
        assert_eq!(standing, Rect { x: 10.0, y: 20.0, w: 40.0, h: 40.0 });
        let bust = head_of(&Rect { x: 0.0, y: 0.0, w: 100.0, h: 120.0 });
        assert_eq!(bust.h, 50.0);
    }
}
