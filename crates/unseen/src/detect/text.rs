//! Text regions (licence plates, name badges, signs, placards) with the embedded PP-OCRv4 text
//! detector (a DBNet: a per-pixel text probability map; it finds text of any script because it
//! does not read). Used by `--text`.
//!
//! The map is turned into boxes as PaddleOCR's DB post-processing does, simplified to axis-aligned
//! boxes: binarise at [`BIN_THRESHOLD`], dilate 2×2, take connected components, keep those whose
//! mean probability reaches [`BOX_THRESHOLD`], and grow each box by the DB "unclip" distance
//! (area × [`UNCLIP_RATIO`] / perimeter). An axis-aligned box contains the rotated box of slanted
//! text, so nothing of it is left out; it covers more around it.

use image::imageops::FilterType;
use image::RgbImage;

use super::letterbox::pad32;
use super::model::{set_threads, Plans};
use super::{Detection, Kind};
use crate::geom::Rect;

/// The PP-OCRv4 detection model (Apache-2.0, see models/README.md), embedded at build time.
pub static MODEL_BYTES: &[u8] = include_bytes!("../../../../models/ppocrv4_det.onnx");
/// sha256 of [`MODEL_BYTES`].
pub const MODEL_SHA256: &str = "d2a7720d45a54257208b1e13e36a8479894cb74155a5efe29462512d42f49da9";

/// Pixels with a text probability above this are text (PaddleOCR's `thresh`).
pub const BIN_THRESHOLD: f32 = 0.3;
/// A component is kept when its mean probability reaches this (PaddleOCR uses 0.5 (`box_thresh`);
/// lower here for recall, see BENCHMARKS.md).
pub const BOX_THRESHOLD: f32 = 0.4;
/// How far a component is grown (PaddleOCR's `unclip_ratio`).
pub const UNCLIP_RATIO: f32 = 1.6;
/// The image is scaled so that its short side is at least this (PaddleOCR's `limit_side_len`)...
pub const MIN_SHORT_SIDE: u32 = 736;
/// ... and its long side at most this (memory and time on large photos).
pub const MAX_LONG_SIDE: u32 = 2048;

/// The text detector. `&TextDetector` is `Sync`.
pub struct TextDetector {
    plans: Plans,
}

impl TextDetector {
    /// Parses the embedded model (tract, `threads` threads: see [`set_threads`]).
    ///
    /// # Errors
    /// The tract error text.
    pub fn new(threads: usize) -> Result<TextDetector, String> {
        set_threads(threads);
        Ok(TextDetector { plans: Plans::parse(MODEL_BYTES, &[])? })
    }

    /// The scale applied to a `w`×`h` image before inference.
    #[must_use]
    pub fn scale(w: u32, h: u32) -> f32 {
        let (short, long) = (w.min(h).max(1) as f32, w.max(h).max(1) as f32);
        (MIN_SHORT_SIDE as f32 / short).max(1.0).min(MAX_LONG_SIDE as f32 / long)
    }

    /// Text regions of `img`, in source pixels.
    ///
    /// # Errors
    /// The tract error text.
    pub fn detect(&self, img: &RgbImage) -> Result<Vec<Detection>, String> {
        let (w, h) = img.dimensions();
        let s = Self::scale(w, h);
        let (sw, sh) = (((w as f32 * s).round() as u32).max(1), ((h as f32 * s).round() as u32).max(1));
        let resized;
        let scaled = if (sw, sh) == (w, h) {
            img
        } else {
            resized = image::imageops::resize(img, sw, sh, FilterType::Triangle);
            &resized
        };
        let (pw, ph) = (pad32(sw) as usize, pad32(sh) as usize);
        let out = self.plans.run(ph, pw, tensor(scaled, pw, ph))?;
        let map = out[0].to_plain_array_view::<f32>().map_err(|e| format!("{e:#}"))?;
        if map.shape() != [1, 1, ph, pw] {
            return Err(format!("unexpected text map shape {:?}", map.shape()));
        }
        let prob: Vec<f32> = map.iter().copied().collect();
        let (fx, fy) = (sw as f32 / w as f32, sh as f32 / h as f32);
        Ok(boxes(&prob, pw, ph, sw as usize, sh as usize)
            .into_iter()
            .filter_map(|(r, score)| {
                let r = Rect::from_corners(
                    (r.x / fx).max(0.0),
                    (r.y / fy).max(0.0),
                    (r.x2() / fx).min(w as f32),
                    (r.y2() / fy).min(h as f32),
                );
                r.is_valid().then_some(Detection { rect: r, score, kind: Kind::Text })
            })
            .collect())
    }
}

/// The planar 1×3×ph×pw input: RGB, `(v / 255 − 0.5) / 0.5`, zero padding (as rapidocr feeds it).
fn tensor(img: &RgbImage, pw: usize, ph: usize) -> Vec<f32> {
    let plane = pw * ph;
    let mut t = vec![0.0f32; 3 * plane];
    for (x, y, p) in img.enumerate_pixels() {
        let o = y as usize * pw + x as usize;
        for c in 0..3 {
            t[c * plane + o] = f32::from(p[c]) / 127.5 - 1.0;
        }
    }
    t
}

/// Boxes (tensor pixels, unclipped and cut to the `w`×`h` image part) and mean probabilities of
/// the text components of a `pw`×`ph` probability map.
#[must_use]
pub fn boxes(prob: &[f32], pw: usize, ph: usize, w: usize, h: usize) -> Vec<(Rect, f32)> {
    // binarise the image part, then dilate 2×2 (towards right and down, as cv2.dilate does)
    let mut bin = vec![false; pw * ph];
    for y in 0..h.min(ph) {
        for x in 0..w.min(pw) {
            if prob[y * pw + x] > BIN_THRESHOLD {
                for (dy, dx) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                    let (yy, xx) = (y + dy, x + dx);
                    if yy < h && xx < w {
                        bin[yy * pw + xx] = true;
                    }
                }
            }
        }
    }
    let mut seen = vec![false; pw * ph];
    let mut out = Vec::new();
    let mut stack = Vec::new();
    for start in 0..pw * ph {
        if !bin[start] || seen[start] {
            continue;
        }
        seen[start] = true;
        stack.push(start);
        let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0, 0);
        let (mut sum, mut n) = (0.0f64, 0usize);
        while let Some(i) = stack.pop() {
            let (x, y) = (i % pw, i / pw);
            (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
            sum += f64::from(prob[i]);
            n += 1;
            for dy in -1i64..=1 {
                for dx in -1i64..=1 {
                    let (xx, yy) = (x as i64 + dx, y as i64 + dy);
                    if xx < 0 || yy < 0 || xx >= w as i64 || yy >= h as i64 {
                        continue;
                    }
                    let j = yy as usize * pw + xx as usize;
                    if bin[j] && !seen[j] {
                        seen[j] = true;
                        stack.push(j);
                    }
                }
            }
        }
        let (bw, bh) = ((x1 - x0 + 1) as f32, (y1 - y0 + 1) as f32);
        let mean = (sum / n as f64) as f32;
        if bw.min(bh) < 3.0 || mean < BOX_THRESHOLD {
            continue;
        }
        let d = bw * bh * UNCLIP_RATIO / (2.0 * (bw + bh));
        let r = Rect::from_corners(
            (x0 as f32 - d).max(0.0),
            (y0 as f32 - d).max(0.0),
            (x1 as f32 + 1.0 + d).min(w as f32),
            (y1 as f32 + 1.0 + d).min(h as f32),
        );
        out.push((r, mean));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_become_unclipped_boxes() {
        let (pw, ph) = (64, 32);
        let mut prob = vec![0.0f32; pw * ph];
        // a 20×6 bar of probability 0.9 at (10, 10), and a 1-px speck that is too small
        for y in 10..16 {
            for x in 10..30 {
                prob[y * pw + x] = 0.9;
            }
        }
        prob[2 * pw + 50] = 0.9;
        let b = boxes(&prob, pw, ph, 60, 30);
        assert_eq!(b.len(), 1, "{b:?}");
        let (r, score) = b[0];
        // dilated to 21×7, unclip distance 21·7·1.6 / 56 = 4.2
        assert!((r.x - 5.8).abs() < 1e-3 && (r.y - 5.8).abs() < 1e-3, "{r:?}");
        assert!((r.x2() - 35.2).abs() < 1e-3 && (r.y2() - 21.2).abs() < 1e-3, "{r:?}");
        assert!(score > 0.4 && score <= 0.9);
    }

    #[test]
    fn weak_components_and_the_padding_are_ignored() {
        let (pw, ph) = (64, 32);
        let prob = vec![0.35f32; pw * ph]; // above the binarisation threshold, mean too low
        assert!(boxes(&prob, pw, ph, 60, 30).is_empty());
        // text only in the padding (x ≥ 60) is not looked at
        let mut prob = vec![0.0f32; pw * ph];
        for y in 0..32 {
            for x in 60..64 {
                prob[y * pw + x] = 1.0;
            }
        }
        assert!(boxes(&prob, pw, ph, 60, 30).is_empty());
    }

    #[test]
    fn scale_reaches_the_short_side_and_caps_the_long_side() {
        assert!((TextDetector::scale(512, 512) - 736.0 / 512.0).abs() < 1e-6);
        assert!((TextDetector::scale(1280, 720) - 736.0 / 720.0).abs() < 1e-6);
        assert!((TextDetector::scale(4000, 3000) - 2048.0 / 4000.0).abs() < 1e-6);
        assert!((TextDetector::scale(1920, 1080) - 1.0).abs() < 1e-6);
    }
}
