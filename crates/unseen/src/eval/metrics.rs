//! The official WIDER FACE evaluation protocol, plus the figures that matter for anonymisation.
//!
//! Protocol (as in the official `evaluation.m` and its Python port): scores are normalised over
//! the whole prediction set; per image, predictions sorted by score are each matched to the
//! face they overlap most (IoU with areas `(w+1)(h+1)`); a match with IoU ≥ 0.5 on a face that
//! the setting ignores drops the prediction (neither hit nor false alarm); 1000 thresholds give
//! a precision/recall curve whose VOC-style area is the AP.

use super::widerface::GtImage;
use crate::geom::Rect;

/// IoU threshold of the protocol.
pub const IOU: f32 = 0.5;

/// IoU with the protocol's `+1` pixel convention on corners given as x, y, w, h.
#[must_use]
pub fn iou_plus1(a: &Rect, b: &Rect) -> f32 {
    let (ax2, ay2, bx2, by2) = (a.x + a.w, a.y + a.h, b.x + b.w, b.y + b.h);
    let iw = ax2.min(bx2) - a.x.max(b.x) + 1.0;
    let ih = ay2.min(by2) - a.y.max(b.y) + 1.0;
    if iw <= 0.0 || ih <= 0.0 {
        return 0.0;
    }
    let inter = iw * ih;
    let area_a = (a.w + 1.0) * (a.h + 1.0);
    let area_b = (b.w + 1.0) * (b.h + 1.0);
    inter / (area_a + area_b - inter)
}

/// Per-image matching of the protocol. `preds` must be sorted by descending score; `keep[i]`
/// says whether face `i` counts in the setting. Returns, per prediction, the number of counted
/// faces recalled so far and whether the prediction counts as a proposal.
#[must_use]
pub fn image_eval(preds: &[(Rect, f32)], faces: &[Rect], keep: &[bool]) -> (Vec<usize>, Vec<bool>) {
    let mut recalled = vec![0i8; faces.len()]; // 0 = not yet, 1 = recalled, -1 = ignore face hit
    let mut proposal = vec![true; preds.len()];
    let mut pred_recall = vec![0; preds.len()];
    let mut count = 0;
    for (h, (p, _)) in preds.iter().enumerate() {
        let mut best = (0.0f32, usize::MAX);
        for (i, f) in faces.iter().enumerate() {
            let o = iou_plus1(p, f);
            if o > best.0 {
                best = (o, i);
            }
        }
        if best.0 >= IOU {
            let i = best.1;
            if !keep[i] {
                if recalled[i] == 1 {
                    count -= 1;
                }
                recalled[i] = -1;
                proposal[h] = false;
            } else if recalled[i] == 0 {
                recalled[i] = 1;
                count += 1;
            }
        }
        pred_recall[h] = count;
    }
    (pred_recall, proposal)
}

/// VOC-style average precision from a recall/precision curve.
#[must_use]
pub fn voc_ap(rec: &[f64], prec: &[f64]) -> f64 {
    let mut mrec = vec![0.0];
    mrec.extend_from_slice(rec);
    mrec.push(1.0);
    let mut mpre = vec![0.0];
    mpre.extend_from_slice(prec);
    mpre.push(0.0);
    for i in (0..mpre.len() - 1).rev() {
        mpre[i] = mpre[i].max(mpre[i + 1]);
    }
    let mut ap = 0.0;
    for i in 0..mrec.len() - 1 {
        if mrec[i + 1] != mrec[i] {
            ap += (mrec[i + 1] - mrec[i]) * mpre[i + 1];
        }
    }
    ap
}

/// Number of thresholds of the protocol.
pub const THRESHOLDS: usize = 1000;

/// AP of one setting (0 = easy, 1 = medium, 2 = hard) for predictions given per image in the
/// same order as `images`, each list sorted by descending *normalised* score.
#[must_use]
pub fn average_precision(images: &[GtImage], preds: &[Vec<(Rect, f32)>], setting: usize) -> f64 {
    let mut pr = vec![(0usize, 0usize); THRESHOLDS];
    let mut faces_total = 0usize;
    for (img, p) in images.iter().zip(preds) {
        let mut keep = vec![false; img.faces.len()];
        for &k in &img.subsets[setting] {
            keep[k - 1] = true;
        }
        faces_total += img.subsets[setting].len();
        if img.faces.is_empty() || p.is_empty() {
            continue;
        }
        let rects: Vec<Rect> = img.faces.iter().map(|f| f.rect).collect();
        let (pred_recall, proposal) = image_eval(p, &rects, &keep);
        for (t, entry) in pr.iter_mut().enumerate() {
            let thresh = 1.0 - (t + 1) as f32 / THRESHOLDS as f32;
            // last prediction with score >= thresh (predictions are sorted)
            let n = p.partition_point(|(_, s)| *s >= thresh);
            if n == 0 {
                continue;
            }
            entry.0 += proposal[..n].iter().filter(|&&b| b).count();
            entry.1 += pred_recall[n - 1];
        }
    }
    if faces_total == 0 {
        return 0.0;
    }
    let prec: Vec<f64> = pr.iter().map(|&(p, r)| if p == 0 { 0.0 } else { r as f64 / p as f64 }).collect();
    let rec: Vec<f64> = pr.iter().map(|&(_, r)| r as f64 / faces_total as f64).collect();
    voc_ap(&rec, &prec)
}

/// Normalises scores over the whole prediction set to 0..1 and sorts each image's list by
/// descending score, as the protocol does.
#[must_use]
pub fn normalise(preds: &[Vec<(Rect, f32)>]) -> Vec<Vec<(Rect, f32)>> {
    let all = preds.iter().flatten().map(|(_, s)| *s);
    let (lo, hi) = all.fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), s| (lo.min(s), hi.max(s)));
    let span = if hi > lo { hi - lo } else { 1.0 };
    preds
        .iter()
        .map(|v| {
            let mut v: Vec<(Rect, f32)> = v.iter().map(|&(r, s)| (r, (s - lo) / span)).collect();
            v.sort_by(|a, b| b.1.total_cmp(&a.1));
            v
        })
        .collect()
}

/// Plain recall of one setting at a raw score threshold, with the protocol's matching.
#[must_use]
pub fn recall_at(images: &[GtImage], preds: &[Vec<(Rect, f32)>], setting: usize, threshold: f32) -> f64 {
    let (mut hit, mut total) = (0usize, 0usize);
    for (img, p) in images.iter().zip(preds) {
        let mut keep = vec![false; img.faces.len()];
        for &k in &img.subsets[setting] {
            keep[k - 1] = true;
        }
        total += img.subsets[setting].len();
        let mut p: Vec<(Rect, f32)> = p.iter().copied().filter(|(_, s)| *s >= threshold).collect();
        p.sort_by(|a, b| b.1.total_cmp(&a.1));
        let rects: Vec<Rect> = img.faces.iter().map(|f| f.rect).collect();
        let (pred_recall, _) = image_eval(&p, &rects, &keep);
        hit += pred_recall.last().copied().unwrap_or(0);
    }
    if total == 0 {
        0.0
    } else {
        hit as f64 / total as f64
    }
}

/// Detections at or above `threshold` whose IoU with every annotated face (ignore and invalid
/// faces included) is below 0.5, averaged over images.
#[must_use]
pub fn false_detections_per_image(images: &[GtImage], preds: &[Vec<(Rect, f32)>], threshold: f32) -> f64 {
    let mut fp = 0usize;
    for (img, p) in images.iter().zip(preds) {
        fp +=
            p.iter().filter(|(r, s)| *s >= threshold && img.faces.iter().all(|f| iou_plus1(r, &f.rect) < IOU)).count();
    }
    if images.is_empty() {
        0.0
    } else {
        fp as f64 / images.len() as f64
    }
}

/// Whether a face counts as valid for the anonymisation figures: not flagged invalid and of
/// positive size.
#[must_use]
pub fn is_valid(f: &super::widerface::GtFace) -> bool {
    !f.invalid && f.rect.w > 0.0 && f.rect.h > 0.0
}

/// Height buckets (px) for recall by face height: <10, 10–20, 20–40, ≥40.
pub const HEIGHT_BUCKETS: [(f32, f32); 4] = [(0.0, 10.0), (10.0, 20.0), (20.0, 40.0), (40.0, f32::INFINITY)];

/// Recall of valid faces per height bucket: a face is found when any detection at or above the
/// threshold overlaps it with IoU ≥ 0.5. Returns (found, total) per bucket.
#[must_use]
pub fn recall_by_height(images: &[GtImage], preds: &[Vec<(Rect, f32)>], threshold: f32) -> [(usize, usize); 4] {
    let mut out = [(0, 0); 4];
    for (img, p) in images.iter().zip(preds) {
        for f in img.faces.iter().filter(|f| is_valid(f)) {
            let Some(b) = HEIGHT_BUCKETS.iter().position(|&(lo, hi)| f.rect.h >= lo && f.rect.h < hi) else { continue };
            out[b].1 += 1;
            if p.iter().any(|(r, s)| *s >= threshold && iou_plus1(r, &f.rect) >= IOU) {
                out[b].0 += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::widerface::GtFace;
    use super::*;

    fn r(x: f32, y: f32, w: f32, h: f32) -> Rect {
        Rect { x, y, w, h }
    }

    fn img(faces: &[Rect], subset: &[usize]) -> GtImage {
        GtImage {
            path: "a.jpg".into(),
            faces: faces.iter().map(|&rect| GtFace { rect, invalid: false }).collect(),
            subsets: [subset.to_vec(), subset.to_vec(), subset.to_vec()],
        }
    }

    #[test]
    fn perfect_detections_give_ap_one() {
        let faces = [r(0.0, 0.0, 10.0, 10.0), r(50.0, 50.0, 10.0, 10.0)];
        let images = [img(&faces, &[1, 2])];
        let preds = vec![vec![(faces[0], 0.9), (faces[1], 0.8)]];
        let n = normalise(&preds);
        assert!((average_precision(&images, &n, 0) - 1.0).abs() < 1e-9);
        assert_eq!(recall_at(&images, &preds, 0, 0.5), 1.0);
    }

    #[test]
    fn hand_computed_ap_with_a_false_alarm_ranked_first() {
        // Two faces; predictions: a false alarm (score 1.0), face A (0.5), face B (0.0 after normalisation).
        // Curve: thresholds in (0.5, 1): 1 proposal, 0 recalled; (0, 0.5]: 2 proposals, 1 recalled (P=1/2, R=1/2);
        // the last threshold is exactly 0: 3 proposals, 2 recalled (P=2/3, R=1). The precision envelope is 2/3
        // everywhere, so VOC AP = 0.5 * 2/3 + 0.5 * 2/3 = 2/3.
        let faces = [r(0.0, 0.0, 10.0, 10.0), r(50.0, 50.0, 10.0, 10.0)];
        let images = [img(&faces, &[1, 2])];
        let preds = vec![vec![(r(100.0, 100.0, 10.0, 10.0), 1.0), (faces[0], 0.5), (faces[1], 0.0)]];
        let n = normalise(&preds);
        assert!((average_precision(&images, &n, 0) - 2.0 / 3.0).abs() < 1e-9);
        // plain recall at 0.0 counts all three: both faces found
        assert_eq!(recall_at(&images, &preds, 0, 0.0), 1.0);
        assert_eq!(recall_at(&images, &preds, 0, 0.4), 0.5);
        assert_eq!(false_detections_per_image(&images, &preds, 0.4), 1.0);
    }

    #[test]
    fn ignore_faces_drop_predictions_and_duplicates_count_as_proposals() {
        // Face 1 counts, face 2 is ignored in this setting.
        let faces = [r(0.0, 0.0, 10.0, 10.0), r(50.0, 50.0, 10.0, 10.0)];
        let images = [img(&faces, &[1])];
        // pred on the ignored face (dropped), a duplicate on face 1 (a proposal that recalls nothing new)
        let preds = vec![vec![(faces[1], 1.0), (faces[0], 0.9), (r(0.5, 0.0, 10.0, 10.0), 0.8)]];
        let n = normalise(&preds);
        let rects: Vec<Rect> = faces.to_vec();
        let (rec, prop) = image_eval(&n[0], &rects, &[true, false]);
        assert_eq!(prop, vec![false, true, true]);
        assert_eq!(rec, vec![0, 1, 1]);
        // AP: normalised scores 1.0, 0.5, 0.0 -> thresholds in (0.5,1): 0 proposals; (0,0.5]: 1 proposal, 1 recall
        // (P=1, R=1); at 0 the duplicate adds a proposal (P=1/2, R=1). Envelope at R=1 is 1, so AP = 1.
        assert!((average_precision(&images, &n, 0) - 1.0).abs() < 1e-9);
        // the ignored face is not a false detection, nor is the duplicate (IoU >= .5 with a face)
        assert_eq!(false_detections_per_image(&images, &preds, 0.0), 0.0);
    }

    #[test]
    fn iou_uses_plus_one_areas() {
        let a = r(0.0, 0.0, 9.0, 9.0); // 10x10 px
        let b = r(5.0, 0.0, 9.0, 9.0);
        assert!((iou_plus1(&a, &b) - 50.0 / 150.0).abs() < 1e-6);
    }

    #[test]
    fn height_buckets() {
        let faces = [r(0.0, 0.0, 5.0, 5.0), r(20.0, 20.0, 15.0, 15.0), r(60.0, 60.0, 50.0, 50.0)];
        let images = [img(&faces, &[])];
        let preds = vec![vec![(faces[1], 0.9), (faces[2], 0.1)]];
        let b = recall_by_height(&images, &preds, 0.5);
        assert_eq!(b, [(0, 1), (1, 1), (0, 0), (0, 1)]);
    }
}
