//! Helpers shared by the library's integration tests: fixture paths, decoding, hand-checked
//! face boxes and pixel statistics.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use image::RgbImage;
use unseen::decode::{decode_image, DecodedImage};
use unseen::geom::Rect;
use unseen::{Limits, Options, Pipeline};

/// Seed for the obscuring noise in tests (never used for real output).
pub const SEED: u64 = 0x5eed_7f3a;

/// Hand-checked face box (x1, y1, x2, y2) of testdata/astronaut.png.
pub const ASTRONAUT_FACE: [f32; 4] = [181.0, 58.0, 270.0, 178.0];
/// Hand-checked face box (x1, y1, x2, y2) of testdata/camera.png.
pub const CAMERA_FACE: [f32; 4] = [202.0, 119.0, 258.0, 197.0];

/// The repository's testdata folder.
pub fn testdata(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata").join(rel)
}

/// The bytes of a fixture.
pub fn read(rel: &str) -> Vec<u8> {
    let p = testdata(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("reading {}: {e}", p.display()))
}

/// A fixture decoded the way the pipeline decodes it (upright 8-bit RGB + alpha).
pub fn decode(rel: &str) -> DecodedImage {
    decode_image(&testdata(rel), &read(rel), &Limits::default()).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// A box from corners.
pub fn rect([x1, y1, x2, y2]: [f32; 4]) -> Rect {
    Rect::from_corners(x1, y1, x2, y2)
}

/// `b` moved by (-dx, -dy): the box in a crop whose top-left corner is (dx, dy).
pub fn shifted([x1, y1, x2, y2]: [f32; 4], dx: f32, dy: f32) -> [f32; 4] {
    [x1 - dx, y1 - dy, x2 - dx, y2 - dy]
}

/// Default options with a fixed noise seed.
pub fn options() -> Options {
    Options { noise_seed: Some(SEED), ..Options::default() }
}

/// One pipeline with [`options`], shared by the tests that do not inject faults (loading the
/// model once saves seconds per test).
pub fn pipeline() -> &'static Pipeline {
    static P: OnceLock<Pipeline> = OnceLock::new();
    P.get_or_init(|| Pipeline::new(options()).expect("pipeline with default options"))
}

/// Mean absolute difference per channel over the pixels where `select(i)` is true (i = y·w + x).
pub fn mean_abs_diff(a: &RgbImage, b: &RgbImage, select: impl Fn(usize) -> bool) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions());
    let (mut sum, mut n) = (0u64, 0u64);
    for (i, (p, q)) in a.pixels().zip(b.pixels()).enumerate() {
        if select(i) {
            sum += (0..3).map(|k| u64::from(p[k].abs_diff(q[k]))).sum::<u64>();
            n += 3;
        }
    }
    assert!(n > 0, "no pixel selected");
    sum as f64 / n as f64
}

/// The `w`×`h` crop of `img` at (x, y).
pub fn crop(img: &RgbImage, x: u32, y: u32, w: u32, h: u32) -> RgbImage {
    image::imageops::crop_imm(img, x, y, w, h).to_image()
}
