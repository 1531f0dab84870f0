//! Reading WIDER FACE ground truth (official val text format), the per-image subset lists, and
//! prediction files in the same shape (`path`, `N`, then N lines `x y w h score`).

use std::collections::HashMap;
use std::path::Path;

use crate::error::{Error, Result};
use crate::geom::Rect;

/// One annotated face.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GtFace {
    /// The box (x, y, w, h).
    pub rect: Rect,
    /// WIDER's `invalid` flag.
    pub invalid: bool,
}

/// One image of the ground truth.
#[derive(Debug, Clone, PartialEq)]
pub struct GtImage {
    /// Relative path, e.g. `0--Parade/0_Parade_marchingband_1_465.jpg`.
    pub path: String,
    /// Faces in the official order.
    pub faces: Vec<GtFace>,
    /// 1-based indices of faces counted in the easy, medium and hard settings.
    pub subsets: [Vec<usize>; 3],
}

/// Predictions per image path: (box, score).
pub type Predictions = HashMap<String, Vec<(Rect, f32)>>;

fn bad(path: &Path, line: usize, what: impl std::fmt::Display) -> Error {
    Error::Decode { path: path.to_path_buf(), cause: format!("line {line}: {what}") }
}

/// Parses the official ground-truth text: for each image a path line, a count line, then that
/// many face lines `x y w h blur expression illumination invalid occlusion pose` (one dummy line
/// of zeros when the count is 0).
///
/// # Errors
/// [`Error::Decode`] naming the line.
pub fn parse_gt(path: &Path, text: &str) -> Result<Vec<GtImage>> {
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
    let mut out = Vec::new();
    while let Some((_, name)) = lines.next() {
        let (ln, count) = lines.next().ok_or_else(|| bad(path, 0, "missing face count at end of file"))?;
        let n: usize = count.trim().parse().map_err(|_| bad(path, ln + 1, format!("bad face count {count:?}")))?;
        let mut faces = Vec::with_capacity(n.min(10_000));
        for _ in 0..n.max(1) {
            let (ln, l) = lines.next().ok_or_else(|| bad(path, 0, "file ends inside a face list"))?;
            if n == 0 {
                continue;
            }
            let v: Vec<f32> = l
                .split_whitespace()
                .map(str::parse)
                .collect::<std::result::Result<_, _>>()
                .map_err(|_| bad(path, ln + 1, format!("bad face line {l:?}")))?;
            if v.len() < 8 {
                return Err(bad(path, ln + 1, format!("expected 10 numbers, got {}", v.len())));
            }
            faces.push(GtFace { rect: Rect { x: v[0], y: v[1], w: v[2], h: v[3] }, invalid: v[7] != 0.0 });
        }
        out.push(GtImage { path: name.trim().to_string(), faces, subsets: Default::default() });
    }
    Ok(out)
}

/// Parses `subsets.tsv` (header `path easy medium hard`, comma-separated 1-based indices) into
/// the images' `subsets`.
///
/// # Errors
/// [`Error::Decode`] naming the line.
pub fn apply_subsets(path: &Path, text: &str, images: &mut [GtImage]) -> Result<()> {
    let index: HashMap<String, usize> = images.iter().enumerate().map(|(i, g)| (g.path.clone(), i)).collect();
    for (ln, line) in text.lines().enumerate() {
        if line.starts_with('#') || line.starts_with("path\t") || line.trim().is_empty() {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() != 4 {
            return Err(bad(path, ln + 1, "expected 4 tab-separated columns"));
        }
        let Some(&i) = index.get(cols[0]) else { return Err(bad(path, ln + 1, format!("unknown image {}", cols[0]))) };
        for s in 0..3 {
            let list: Vec<usize> = cols[s + 1]
                .split(',')
                .filter(|t| !t.is_empty())
                .map(str::parse)
                .collect::<std::result::Result<_, _>>()
                .map_err(|_| bad(path, ln + 1, "bad index list"))?;
            if list.iter().any(|&k| k == 0 || k > images[i].faces.len()) {
                return Err(bad(path, ln + 1, "face index out of range"));
            }
            images[i].subsets[s] = list;
        }
    }
    Ok(())
}

/// Parses a prediction file (same layout as the ground truth, lines `x y w h score`).
///
/// # Errors
/// [`Error::Decode`] naming the line.
pub fn parse_predictions(path: &Path, text: &str) -> Result<Predictions> {
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
    let mut out = Predictions::new();
    while let Some((_, name)) = lines.next() {
        let (ln, count) = lines.next().ok_or_else(|| bad(path, 0, "missing count at end of file"))?;
        let n: usize = count.trim().parse().map_err(|_| bad(path, ln + 1, format!("bad count {count:?}")))?;
        let mut v = Vec::with_capacity(n.min(100_000));
        for _ in 0..n {
            let (ln, l) = lines.next().ok_or_else(|| bad(path, 0, "file ends inside a list"))?;
            let f: Vec<f32> = l
                .split_whitespace()
                .map(str::parse)
                .collect::<std::result::Result<_, _>>()
                .map_err(|_| bad(path, ln + 1, format!("bad line {l:?}")))?;
            if f.len() != 5 {
                return Err(bad(path, ln + 1, "expected x y w h score"));
            }
            v.push((Rect { x: f[0], y: f[1], w: f[2], h: f[3] }, f[4]));
        }
        out.insert(name.trim().to_string(), v);
    }
    Ok(out)
}

/// Writes predictions in the format [`parse_predictions`] reads, images in `order`.
#[must_use]
pub fn format_predictions(order: &[String], preds: &Predictions) -> String {
    let mut s = String::new();
    for name in order {
        let v = preds.get(name).map_or(&[][..], Vec::as_slice);
        s.push_str(&format!("{name}\n{}\n", v.len()));
        for (r, score) in v {
            s.push_str(&format!("{} {} {} {} {}\n", r.x, r.y, r.w, r.h, score));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_gt_with_empty_images_and_subsets() {
        let gt = "a/1.jpg\n2\n1 2 3 4 0 0 0 0 0 0\n5 6 7 8 0 0 0 1 0 0\nb/2.jpg\n0\n0 0 0 0 0 0 0 0 0 0\n";
        let mut imgs = parse_gt(Path::new("gt"), gt).unwrap();
        assert_eq!(imgs.len(), 2);
        assert_eq!(imgs[0].faces.len(), 2);
        assert!(imgs[0].faces[1].invalid);
        assert!(imgs[1].faces.is_empty());
        apply_subsets(Path::new("s"), "path\teasy\tmedium\thard\na/1.jpg\t\t1\t1,2\n", &mut imgs).unwrap();
        assert_eq!(imgs[0].subsets, [vec![], vec![1], vec![1, 2]]);
        assert!(apply_subsets(Path::new("s"), "a/1.jpg\t3\t\t\n", &mut imgs).is_err());
    }

    #[test]
    fn parses_the_full_official_val_ground_truth_when_present() {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/eval/wider_face_val_bbx_gt.txt");
        let Ok(text) = std::fs::read_to_string(&p) else { return };
        let imgs = parse_gt(&p, &text).unwrap();
        assert_eq!(imgs.len(), 3226);
        assert_eq!(imgs.iter().map(|i| i.faces.len()).sum::<usize>(), 39708);
    }

    #[test]
    fn predictions_round_trip() {
        let mut p = Predictions::new();
        p.insert("a.jpg".into(), vec![(Rect { x: 1.5, y: 2.0, w: 3.0, h: 4.0 }, 0.75)]);
        p.insert("b.jpg".into(), vec![]);
        let order = vec!["a.jpg".to_string(), "b.jpg".to_string()];
        let text = format_predictions(&order, &p);
        assert_eq!(parse_predictions(Path::new("p"), &text).unwrap(), p);
    }
}
