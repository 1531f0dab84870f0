//! The cheap face proposer of the cascade: YuNet-n (libfacedetection, Apache-2.0, ~74k
//! parameters), about a fifth of CenterFace's cost per pixel. It runs over the whole upscaled
//! image at a low threshold; CenterFace's expensive upscaled passes then run only in windows
//! around what it proposed (see [`super::Detector::detect`]). Its boxes are never obscured by
//! themselves: they only say where to look.

use image::RgbImage;
use tract_onnx::prelude::*;

use super::letterbox::{bgr_tensor, pad32};
use super::model::{set_threads, Plans};
use super::Detection;
use crate::geom::Rect;

/// YuNet-n with a dynamic input size (Apache-2.0, see models/README.md), embedded at build time.
pub static MODEL_BYTES: &[u8] = include_bytes!("../../../../models/yunet_n.onnx");
/// sha256 of [`MODEL_BYTES`].
pub const MODEL_SHA256: &str = "104ee26c71d5c270ce79a6b3dced91c91013260d29a6bf18f9296c5b8c4c2b12";

const STRIDES: [usize; 3] = [8, 16, 32];

/// The proposer. `&YuNet` is `Sync`.
pub struct YuNet {
    runner: Runner,
}

/// The engine that runs YuNet: the same as CenterFace's (tract, or onnxruntime when it runs
/// CenterFace).
enum Runner {
    Tract(Plans),
    #[cfg(feature = "ort")]
    Ort(super::onnxruntime::OrtModel),
}

/// The outputs used, in the order [`YuNet::detect`] reads them: cls, obj and bbox per stride.
fn output_names() -> Vec<String> {
    ["cls", "obj", "bbox"].iter().flat_map(|k| STRIDES.iter().map(move |s| format!("{k}_{s}"))).collect()
}

impl YuNet {
    /// Parses the embedded model. The file declares intermediate shapes with a symbolic batch
    /// that tract cannot unify with a batch of 1: every fact but the input's is reset, and tract
    /// infers them again per input size.
    ///
    /// # Errors
    /// The tract error text.
    pub fn new(threads: usize) -> Result<YuNet, String> {
        set_threads(threads);
        let mut model = tract_onnx::onnx().model_for_read(&mut &MODEL_BYTES[..]).map_err(|e| format!("{e:#}"))?;
        let inputs: Vec<usize> = model.input_outlets().map_err(|e| format!("{e:#}"))?.iter().map(|o| o.node).collect();
        for node in &mut model.nodes {
            if !inputs.contains(&node.id) {
                for o in &mut node.outputs {
                    o.fact = InferenceFact::default();
                }
            }
        }
        model.select_outputs_by_name(output_names().iter()).map_err(|e| format!("{e:#}"))?;
        Ok(YuNet { runner: Runner::Tract(Plans::from_model(model)) })
    }

    /// The same model on onnxruntime, with `threads` threads for one inference (see
    /// [`super::onnxruntime::OrtModel`]): what the detector uses when onnxruntime runs
    /// CenterFace, so that the proposals do not cost tract's time per pixel.
    ///
    /// # Errors
    /// onnxruntime's load or session error.
    #[cfg(feature = "ort")]
    pub fn on_onnxruntime(threads: usize) -> Result<YuNet, String> {
        let model = super::onnxruntime::OrtModel::load(MODEL_BYTES, &output_names(), threads)?;
        Ok(YuNet { runner: Runner::Ort(model) })
    }

    /// The engine that runs the proposer: "tract" or "onnxruntime".
    #[must_use]
    pub fn backend(&self) -> &'static str {
        match self.runner {
            Runner::Tract(_) => "tract",
            #[cfg(feature = "ort")]
            Runner::Ort(_) => "onnxruntime",
        }
    }

    /// Faces in `img` seen at `scale`, scored at least `threshold` (sqrt(cls · obj), as OpenCV
    /// scores YuNet), in source pixels.
    ///
    /// # Errors
    /// The tract error text.
    pub fn detect(&self, img: &RgbImage, scale: f32, threshold: f32) -> Result<Vec<Detection>, String> {
        let (w, h) = img.dimensions();
        let scaled = super::scaled(img, scale);
        let (sw, sh) = scaled.dimensions();
        let (pw, ph) = (pad32(sw) as usize, pad32(sh) as usize);
        let input = bgr_tensor(&scaled, pw, ph, 0.0);
        let planes: Vec<Vec<f32>> = match &self.runner {
            Runner::Tract(plans) => plans
                .run(ph, pw, input)?
                .iter()
                .map(|t| t.to_plain_array_view::<f32>().map(|v| v.iter().copied().collect()))
                .collect::<TractResult<_>>()
                .map_err(|e| format!("{e:#}"))?,
            #[cfg(feature = "ort")]
            Runner::Ort(model) => model.run(ph, pw, &input)?,
        };
        if planes.len() != 9 {
            return Err(format!("YuNet gave {} outputs, not 9", planes.len()));
        }
        let (fx, fy) = (sw as f32 / w as f32, sh as f32 / h as f32);
        let mut found = Vec::new();
        for (k, &s) in STRIDES.iter().enumerate() {
            let (cols, rows) = (pw / s, ph / s);
            let (cls, obj, bbox) = (&planes[k], &planes[3 + k], &planes[6 + k]);
            if cls.len() < rows * cols || obj.len() < rows * cols || bbox.len() < 4 * rows * cols {
                return Err(format!("unexpected YuNet output sizes at stride {s}"));
            }
            found.extend(decode(cls, obj, bbox, rows, cols, s, threshold).into_iter().filter_map(|d| {
                let r = d.rect;
                let rect = Rect::from_corners(
                    (r.x / fx).max(0.0),
                    (r.y / fy).max(0.0),
                    (r.x2() / fx).min(w as f32),
                    (r.y2() / fy).min(h as f32),
                );
                rect.is_valid().then_some(Detection { rect, ..d })
            }));
        }
        Ok(found)
    }
}

/// Boxes (network-input pixels) of one stride's outputs: per cell, score sqrt(cls · obj),
/// centre (cell + dx, cell + dy) · stride, size exp(log w, log h) · stride.
#[must_use]
pub fn decode(
    cls: &[f32],
    obj: &[f32],
    bbox: &[f32],
    rows: usize,
    cols: usize,
    stride: usize,
    threshold: f32,
) -> Vec<Detection> {
    let mut out = Vec::new();
    let s = stride as f32;
    for r in 0..rows {
        for c in 0..cols {
            let i = r * cols + c;
            let score = (cls[i].clamp(0.0, 1.0) * obj[i].clamp(0.0, 1.0)).sqrt();
            if score < threshold {
                continue;
            }
            let b = &bbox[4 * i..4 * i + 4];
            let (cx, cy) = ((c as f32 + b[0]) * s, (r as f32 + b[1]) * s);
            let (bw, bh) = (b[2].min(10.0).exp() * s, b[3].min(10.0).exp() * s);
            out.push(Detection::face(
                Rect::from_corners(cx - bw / 2.0, cy - bh / 2.0, cx + bw / 2.0, cy + bh / 2.0),
                score,
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_one_cell() {
        let (rows, cols) = (2, 3);
        let mut cls = vec![0.0; 6];
        let mut obj = vec![0.0; 6];
        let mut bbox = vec![0.0; 24];
        cls[4] = 0.81;
        obj[4] = 1.0; // row 1, col 1
        bbox[16..20].copy_from_slice(&[0.5, 0.5, 1f32.ln(), 2f32.ln()]);
        let d = decode(&cls, &obj, &bbox, rows, cols, 8, 0.5);
        assert_eq!(d.len(), 1);
        assert!((d[0].score - 0.9).abs() < 1e-6);
        assert_eq!(d[0].rect, Rect { x: 8.0, y: 4.0, w: 8.0, h: 16.0 });
        assert!(decode(&cls, &obj, &bbox, rows, cols, 8, 0.95).is_empty());
    }
}
